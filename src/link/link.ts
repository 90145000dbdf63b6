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
   * Optional: work the link's far side does for the stack (a TUN device with IFF_VNET_HDR: the
   * kernel). Absent or null: none, and every packet is complete and at most `mtu` bytes.
   */
  readonly offload?: LinkOffload | null;
  /**
   * Optional, present with `offload`: send a TCP packet built for the offloads: its TCP checksum
   * field holds only the pseudo-header sum (the far side finishes it), and when `gsoSize` > 0 it
   * may be up to `offload.tsoMax` bytes, to be cut into segments of `gsoSize` payload bytes each
   * (TSO). The same ownership rule as send(); `owned` true gives the buffer away as sendOwned()
   * does (the link may recycle it once written), so a wrapper that lets others see the packet
   * passes false.
   */
  sendTcpOffload?(packet: Uint8Array, gsoSize: number, owned?: boolean): void;
  /**
   * Set by the stack: called once per received IP packet. `rx` carries RX_* flags about it (the
   * link's far side vouches for its checksum); absent means none. A link may reuse the packet's
   * memory once this returns (a TUN link does), so a receiver that keeps it copies it (the stack
   * copies what it keeps: TCP data, UDP datagrams). Returning RELEASED declares that nothing
   * holds on to the packet or any view of it any more (the stack says so only for TCP segments
   * whose bytes it has copied); any other return value promises nothing.
   */
  onReceive: ((packet: Uint8Array, rx?: number) => unknown) | null;
  /**
   * Optional, for links that receive packets in batches (a TUN read, one instant of a batching
   * memory pair): a link that declares this property delivers each batch here, when the stack has
   * set it, instead of calling onReceive per packet. Packet i is `batch[ends[i-1] ?? 0 .. ends[i]]`
   * and `rx[i]`, when `rx` is given, its RX_* flags (as onReceive's `rx`; absent: none). The
   * views are valid only during the call (a TUN link reads the next batch into the same memory):
   * whoever keeps a packet, or anything from it, copies it. The stack joins the batch's TCP data
   * segments (GRO, stack/gro.ts).
   */
  onReceiveBatch?: ((batch: Uint8Array, ends: Uint32Array, count: number, rx?: Uint8Array | null) => void) | null;
  /**
   * Optional, for links whose batches are separate packets (one instant of a batching memory
   * pair, as Linux's netif_receive_skb_list hands a NAPI poll's skbs on together): a link that
   * declares this property delivers each batch here, when the stack has set it, instead of calling
   * onReceive per packet. Packet i is `packets[i]` (for i < count) with RX_* flags `rx[i]`, as
   * onReceiveBatch's; the receiver sets `released[i]` to 1 for each packet nothing holds once the
   * call returns (as onReceive's RELEASED; 0 as the link passes it promises nothing), so the link
   * may recycle those. The array and its packets are valid only during the call. No copy is made:
   * the stack joins the batch's TCP data segments (GRO) straight from the packets.
   */
  onReceiveList?: ((packets: readonly Uint8Array[], count: number, rx: Uint8Array, released: Uint8Array) => void) | null;
  /** Detach; no further onReceive calls. */
  close(): void;
}

/** What an onReceive handler returns to say it kept no reference to the packet (see Link.onReceive). */
export const RELEASED: unique symbol = Symbol('synack.packet-released');

/** What a link's far side does for the stack (see Link.offload). */
export interface LinkOffload {
  /**
   * Largest IP packet (headers included) the link takes through sendTcpOffload with a gsoSize,
   * to be segmented by the far side; 0 when it does not segment (checksum offload only).
   */
  readonly tsoMax: number;
}

/**
 * Link.onReceive flag: the transport checksum need not be verified, because whoever handed the
 * packet over already did or built it (a TUN device's VIRTIO_NET_HDR_F_DATA_VALID or NEEDS_CSUM;
 * see src/link/tun.ts for why the kernel's word is taken).
 */
export const RX_CSUM_VERIFIED = 1;
