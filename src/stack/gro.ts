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
// Nothing is allocated per train or per segment: the train (a copy of its first segment's header
// and the payload views of its segments) is reused from train to train, and a joined segment
// reaches TCP input with its text in pieces (SegmentText) that the receive ring copies one after
// the other, not joined into one array first.
import { TcpFlag, TcpSegmentBuf, type SegmentText, type TcpRepr } from '../wire/tcp.js';
import { eq, sub } from '../wire/seq.js';
import { ipEquals } from '../wire/address.js';
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

const NO_BYTES = new Uint8Array(0);

/**
 * A train being held: its first segment (header and options copied, as the caller parses the next
 * packet into the same object) and the payloads of its segments in order, which are the text of
 * the segment it is delivered as. Reused for the next train once delivered.
 */
class Train implements SegmentText {
  readonly seg = new TcpSegmentBuf();
  readonly parts: Uint8Array[] = [];
  count = 0;
  length = 0;
  iface: Interface | null = null;
  src: Uint8Array = NO_BYTES;
  dst: Uint8Array = NO_BYTES;
  /** Where the first segment's TCP header (20 bytes and its options) is, to compare each candidate's with. */
  hbuf: Uint8Array = NO_BYTES;
  hstart = 0;
  hlen = 0;
  /** The first segment's payload length: longer segments never join, shorter ones end the train. */
  mss = 0;
  psh = false;

  /** Drop the references to the train's packets (they are the link's again once delivered). */
  clear(): void {
    const parts = this.parts;
    for (let i = 0; i < this.count; i++) parts[i] = NO_BYTES;
    this.count = this.length = 0;
    this.iface = null;
    this.src = this.dst = this.hbuf = NO_BYTES;
    this.seg.payload = NO_BYTES;
    this.seg.text = null;
  }
}

export class Gro {
  readonly counters: GroCounters = { groSegments: 0, groMerged: 0 };
  /** The train held, if any. */
  #held: Train | null = null;
  /**
   * The train to hold next. Taken while a train is out being delivered, so a segment offered
   * re-entrantly meanwhile starts a fresh one rather than touching the pieces TCP is reading.
   */
  #spare: Train | null = new Train();

  constructor(private readonly deliver: GroDeliver) {}

  /**
   * A verified segment for us, in batch order, whose TCP header as received (options included)
   * starts at `buf[at]`; `buf` and the payload stay valid until flush(), but `seg` itself may be
   * reused by the caller (a train's first segment is copied). It joins the held train, starts one,
   * or (flushing what is held first) goes on alone.
   */
  offer(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, buf: Uint8Array, at: number): void {
    const held = this.#held;
    if (held !== null && joins(held, iface, src, dst, seg, buf, at)) {
      const n = seg.payload.length;
      held.parts[held.count++] = seg.payload;
      held.length += n;
      // A shorter segment or a PSH ends the train (Linux: `len < mss`, and PSH flushes).
      if ((seg.flags & TcpFlag.PSH) !== 0) held.psh = true;
      if (held.psh || n < held.mss) this.flush();
      return;
    }
    this.flush();
    const kind = seg.flags & ~TcpFlag.PSH;
    if (kind !== TcpFlag.ACK || seg.payload.length === 0 || (seg.flags & TcpFlag.PSH) !== 0) {
      this.deliver(iface, src, dst, seg, 1);
      return;
    }
    const t = this.#spare ?? new Train();
    this.#spare = null;
    t.seg.assign(seg);
    t.iface = iface;
    t.src = src;
    t.dst = dst;
    t.hbuf = buf;
    t.hstart = at;
    t.hlen = (buf[at + 12]! >>> 4) * 4;
    t.parts[0] = seg.payload;
    t.count = 1;
    t.length = t.mss = seg.payload.length;
    t.psh = false;
    this.#held = t;
  }

  /**
   * Deliver what is held: the segment as it came if alone, else one segment whose text is the
   * train's pieces. Until nothing is held: a segment offered re-entrantly while one was out may
   * have started another train.
   */
  flush(): void {
    let t: Train | null;
    while ((t = this.#held) !== null) {
      this.#held = null;
      const seg = t.seg;
      if (t.count > 1) {
        if (t.psh) seg.flags |= TcpFlag.PSH;
        seg.payload = NO_BYTES;
        seg.text = t;
        this.counters.groSegments += t.count;
        this.counters.groMerged++;
      }
      try {
        this.deliver(t.iface!, t.src, t.dst, seg, t.count);
      } finally {
        t.clear();
        this.#spare = t;
      }
    }
  }
}

/** Whether `seg` (its TCP header at `buf[at]`) continues the train `t`. */
function joins(t: Train, iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, buf: Uint8Array, at: number): boolean {
  const first = t.seg;
  const hlen = t.hlen;
  const n = seg.payload.length;
  return (
    iface === t.iface &&
    (seg.flags & ~TcpFlag.PSH) === TcpFlag.ACK &&
    n > 0 &&
    n <= t.mss &&
    hlen + t.length + n <= GRO_MAX_BYTES &&
    seg.srcPort === first.srcPort &&
    seg.dstPort === first.dstPort &&
    // Either form of sequence number (wire/seq.ts): the fast parser's int32, the general one's uint32.
    sub(seg.seq, first.seq) === t.length &&
    eq(seg.ack, first.ack) &&
    seg.window === first.window &&
    ipEquals(src, t.src) &&
    ipEquals(dst, t.dst) &&
    (buf[at + 12]! >>> 4) * 4 === hlen &&
    sameRange(buf, at + 20, t.hbuf, t.hstart + 20, hlen - 20)
  );
}

/** Whether `n` bytes of `a` from `ai` equal those of `b` from `bi`. */
function sameRange(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}
