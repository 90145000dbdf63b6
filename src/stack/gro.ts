// Generic receive offload for a batch of packets (the receive half of issue 20): consecutive
// in-order data segments of one flow with the same header are joined into one segment before TCP
// input, as Linux's tcp_gro_receive does, so a TUN read of 64 segments costs a few passes through
// SEGMENT ARRIVES (RFC 9293 3.10.7.4) and their ACKs rather than 64. Only what crosses the wire is
// traced or captured (links and taps see every packet); joining changes no byte the application
// reads. The rules, each a reason to deliver a segment alone or to end a train:
//   - only ACK segments carrying data are held; PSH may end a train (its flag is kept, as Linux
//     ORs it in), SYN, FIN, RST, URG, ECE and CWR never join and are delivered alone;
//   - a segment joins only the same 4-tuple on the same interface, starting exactly at the end of
//     the held data (SEG.SEQ = held SEQ + held LEN), with the same ACK, window and option bytes
//     (so timestamps join only with equal TSval and TSecr, and SACK blocks only when equal);
//   - a segment longer than the train's first ends nothing but never joins, and one shorter ends
//     the train (Linux: `len < mss` flushes), so the joined segment is k full segments and a tail;
//   - the joined segment stays within GRO_MAX_BYTES of TCP header and data (64 KiB, an IP packet's
//     bound).
import { TcpFlag, type TcpRepr } from '../wire/tcp.js';
import { eq, sub } from '../wire/seq.js';
import type { Interface } from './route.js';

/** Largest TCP header plus data of one joined segment: an IPv4 packet of 65,535 bytes less its header. */
export const GRO_MAX_BYTES = 65535 - 20;

/** Where a joined segment (or a segment that joins nothing) goes: TCP input; `segs` is how many wire segments it holds. */
export type GroDeliver = (iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, segs: number) => void;

/** Counters of what GRO did, for tests and stats. */
export interface GroCounters {
  /** Segments that went into a joined segment (the first of each train included). */
  groSegments: number;
  /** Joined segments delivered (trains of two or more). */
  groMerged: number;
}

export class Gro {
  readonly counters: GroCounters = { groSegments: 0, groMerged: 0 };
  #iface: Interface | null = null;
  #src: Uint8Array | null = null;
  #dst: Uint8Array | null = null;
  #first: TcpRepr | null = null;
  /** Where the first segment's TCP header (20 bytes and its options) is, to compare each candidate's with. */
  #hbuf: Uint8Array | null = null;
  #hstart = 0;
  #hlen = 0;
  #parts: Uint8Array[] = [];
  #bytes = 0;
  #psh = false;
  /**
   * Where a train's payloads are joined, reused from flush to flush: TCP input copies what it
   * keeps (a joined segment is as short-lived as a packet of the batch). Null while a joined
   * segment is out being delivered, so a flush reached re-entrantly joins into a fresh array.
   */
  #joined: Uint8Array | null = null;

  constructor(private readonly deliver: GroDeliver) {}

  /**
   * A verified segment for us, in batch order, whose TCP header as received (options included)
   * starts at `buf[at]`; `buf` and the payload stay valid until flush(), but `seg` itself may be
   * reused by the caller (a train's first segment is copied). It joins the held train, starts one,
   * or (flushing what is held first) goes on alone.
   */
  offer(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, buf: Uint8Array, at: number): void {
    const first = this.#first;
    if (first !== null && this.#joins(iface, src, dst, seg, buf, at)) {
      this.#parts.push(seg.payload);
      this.#bytes += seg.payload.length;
      // A shorter segment or a PSH ends the train (Linux: `len < mss`, and PSH flushes).
      if ((seg.flags & TcpFlag.PSH) !== 0) this.#psh = true;
      if (this.#psh || seg.payload.length < first.payload.length) this.flush();
      return;
    }
    this.flush();
    const kind = seg.flags & ~TcpFlag.PSH;
    if (kind !== TcpFlag.ACK || seg.payload.length === 0 || (seg.flags & TcpFlag.PSH) !== 0) {
      this.deliver(iface, src, dst, seg, 1);
      return;
    }
    this.#iface = iface;
    this.#src = src;
    this.#dst = dst;
    this.#first = copySegment(seg);
    this.#hbuf = buf;
    this.#hstart = at;
    this.#hlen = (buf[at + 12]! >>> 4) * 4;
    this.#parts.push(seg.payload);
    this.#bytes = seg.payload.length;
    this.#psh = false;
  }

  /** Deliver what is held: the segment as it came if alone, else one segment joining the train. */
  flush(): void {
    const first = this.#first;
    if (first === null) return;
    const iface = this.#iface!;
    const src = this.#src!;
    const dst = this.#dst!;
    const parts = this.#parts;
    let seg = first;
    let joined: Uint8Array | null = null;
    if (parts.length > 1) {
      joined = this.#joined ?? new Uint8Array(GRO_MAX_BYTES);
      this.#joined = null;
      const payload = joined.subarray(0, this.#bytes);
      let at = 0;
      for (const p of parts) {
        payload.set(p, at);
        at += p.length;
      }
      seg = { ...first, flags: first.flags | (this.#psh ? TcpFlag.PSH : 0), payload };
      this.counters.groSegments += parts.length;
      this.counters.groMerged++;
    }
    const segs = parts.length;
    this.#first = this.#hbuf = this.#iface = this.#src = this.#dst = null;
    this.#parts.length = 0;
    this.#bytes = 0;
    this.#psh = false;
    this.deliver(iface, src, dst, seg, segs);
    if (joined !== null) this.#joined = joined;
  }

  #joins(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, buf: Uint8Array, at: number): boolean {
    const first = this.#first!;
    const hlen = this.#hlen;
    const n = seg.payload.length;
    return (
      iface === this.#iface &&
      (seg.flags & ~TcpFlag.PSH) === TcpFlag.ACK &&
      n > 0 &&
      n <= first.payload.length &&
      hlen + this.#bytes + n <= GRO_MAX_BYTES &&
      seg.srcPort === first.srcPort &&
      seg.dstPort === first.dstPort &&
      // Either form of sequence number (wire/seq.ts): the fast parser's int32, the general one's uint32.
      sub(seg.seq, first.seq) === this.#bytes &&
      eq(seg.ack, first.ack) &&
      seg.window === first.window &&
      sameBytes(src, this.#src!, 0) &&
      sameBytes(dst, this.#dst!, 0) &&
      (buf[at + 12]! >>> 4) * 4 === hlen &&
      sameRange(buf, at + 20, this.#hbuf!, this.#hstart + 20, hlen - 20)
    );
  }
}

/** A copy of `s` that owns its fields (the caller's segment object may be parsed into again). */
function copySegment(s: TcpRepr): TcpRepr {
  const o = s.options;
  const ts = o.timestamp;
  return {
    srcPort: s.srcPort, dstPort: s.dstPort, seq: s.seq, ack: s.ack, flags: s.flags, window: s.window, urgent: s.urgent,
    options: {
      mss: o.mss, wscale: o.wscale, sackPermitted: o.sackPermitted,
      sack: o.sack === undefined ? undefined : o.sack.map((b) => ({ left: b.left, right: b.right })),
      timestamp: ts === undefined ? undefined : { val: ts.val, ecr: ts.ecr },
    },
    payload: s.payload,
  };
}

/** Whether `n` bytes of `a` from `ai` equal those of `b` from `bi`. */
function sameRange(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}

/** Whether `a` and `b` (equal lengths but for addresses of two families) agree from byte `from`. */
function sameBytes(a: Uint8Array, b: Uint8Array, from: number): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = from; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
