// The link abstraction: something that carries raw IP packets (no link-layer header) to and from a stack.
// CONTRACT shared by link/, stack/ and every link implementation (memory, sim, tun, pcap tap).

/** One endpoint of a link, as seen by the stack attached to it. */
export interface Link {
  /** Largest IP packet this link carries, in bytes. */
  readonly mtu: number;
  /**
   * Transmit one IP packet. The link may keep a reference to `packet` (zero copy), so the caller
   * must not modify it afterwards.
   */
  send(packet: Uint8Array): void;
  /** Set by the stack: called once per received IP packet. */
  onReceive: ((packet: Uint8Array) => void) | null;
  /** Detach; no further onReceive calls. */
  close(): void;
}
