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
  /**
   * Optional: send a packet built by the packet allocator (wire/packet.ts) of which the sender
   * keeps no reference. A link that implements it may hand the buffer back with recyclePacket once
   * the receiving onReceive has returned true. Wrappers (taps) that do not implement it get send().
   */
  sendOwned?(packet: Uint8Array): void;
  /**
   * Set by the stack: called once per received IP packet. Returning RELEASED declares that nothing
   * holds on to the packet or any view of it any more (the stack says so only for TCP segments
   * whose bytes it has copied); any other return value promises nothing.
   */
  onReceive: ((packet: Uint8Array) => unknown) | null;
  /**
   * Optional, for links that receive packets in batches (a TUN read, one instant of a batching
   * memory pair): a link that declares this property delivers each batch here, when the stack has
   * set it, instead of calling onReceive per packet. Packet i is `batch[ends[i-1] ?? 0 .. ends[i]]`;
   * the receiver keeps no reference to the buffer after the call. The stack joins the batch's TCP
   * data segments (GRO, stack/gro.ts).
   */
  onReceiveBatch?: ((batch: Uint8Array, ends: Uint32Array, count: number) => void) | null;
  /** Detach; no further onReceive calls. */
  close(): void;
}

/** What an onReceive handler returns to say it kept no reference to the packet (see Link.onReceive). */
export const RELEASED: unique symbol = Symbol('synack.packet-released');
