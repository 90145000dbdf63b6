// RACK-TLP loss detection (RFC 8985): per-segment transmit times (section 5.2, 6.1), the most
// recently sent delivered segment (6.2 step 2), reordering detection and the reordering window
// (steps 3-4), time-based loss marking with a reordering timer (step 5, 6.3), and the Tail Loss
// Probe's bookkeeping (section 7). Pure state: the sender (ack.ts, output.ts, timers.ts) decides
// what to send; sequence numbers are compared only through seq.ts.

import { addInt, sub, lt, le, gt, ge } from '../wire/seq.js';

/** Flags of a transmitted range (RFC 8985 Segment.retransmitted, Segment.lost) and its SACK state. */
const RETRANS = 1;
const LOST = 2;
const SACKED = 4;

/** A range's record in the ring: start, end, xmit_ts, transmission counter, flags. */
const START = 0;
const END = 1;
const TS = 2;
const ORDER = 3;
const FLAGS = 4;
const STRIDE = 5;

/** Ranges a record ring holds before it first grows (it doubles when full). */
const INITIAL_RANGES = 16;
/** Empty rings kept for the next connection that sends (bounded: 1 MiB of records). */
const POOL_DOUBLES = (1 << 20) / 8;
const pool: Float64Array[] = [];
let pooled = 0;

function takeRing(): Float64Array {
  const r = pool.pop();
  if (r === undefined) return new Float64Array(INITIAL_RANGES * STRIDE);
  pooled -= r.length;
  return r;
}

function giveRing(r: Float64Array): void {
  if (pooled + r.length > POOL_DOUBLES) return;
  pooled += r.length;
  pool.push(r);
}

/** Linux's minimum-RTT filter window (tcp_min_rtt_wlen, 300 s). */
const MIN_RTT_WINDOW = 300_000;

/** What RACK asks of the SACK scoreboard: whether [start, end) is wholly selectively acknowledged. */
export interface SackCoverage {
  covers(start: number, end: number): boolean;
}

/** One transmitted range as a plain object (tests, the loss probe, recovery). */
export interface SentRange {
  start: number;
  end: number;
  /** RFC 8985 Segment.xmit_ts: the time of the most recent (re)transmission, ms. */
  xmitTs: number;
  /** Transmission counter at that (re)transmission: breaks xmit_ts ties (see sentAfter). */
  order: number;
  /** Segment.retransmitted: ever sent again. */
  retrans: boolean;
  /** Segment.lost: the most recent transmission is deemed lost and awaits retransmission. */
  lost: boolean;
  /** Wholly selectively acknowledged (delivered). */
  sacked: boolean;
}

export class Rack {
  /*
   * Transmitted, not yet cumulatively acknowledged ranges [start, end), in sequence order and
   * contiguous, as a ring of records of STRIDE doubles (no object per segment sent, nothing
   * allocated per ACK). Logical index i lives in slot (#head + i) & #mask. The ring is taken from
   * a shared pool on the first transmission and given back whenever it empties, so an idle
   * connection holds none.
   */
  #rec: Float64Array | null = null;
  #mask = -1;
  #head = 0;
  #n = 0;
  /**
   * Ranges held with RETRANS set. While there are none, the ranges are in transmission order as
   * well as in sequence order (new data is appended with a rising counter), which lets detectLoss
   * stop at the first range sent after RACK.segment instead of walking every range in flight per ACK.
   */
  #retransInQ = 0;
  /** RACK.xmit_ts / RACK.end_seq of RACK.segment (-1: nothing delivered yet). */
  xmitTs = -1;
  endSeq = 0;
  /** Transmission counter of RACK.segment, and the running counter. */
  order = 0;
  #sends = 0;
  /** RACK.rtt, ms. */
  rtt = 0;
  /** RACK.min_RTT (windowed), ms; Infinity before the first sample. */
  minRtt = Infinity;
  #minRttAt = 0;
  /** RACK.fack: highest sequence number selectively or cumulatively acknowledged. */
  fack: number;
  /** RACK.reordering_seen. */
  reorderingSeen = false;
  /**
   * The farthest reordering seen, bytes: RACK.fack minus the start of a never-retransmitted range
   * delivered below it (Linux's tcp_check_sack_reordering metric, from which tcpi_reordering comes).
   */
  reorderDistance = 0;
  /** Segments wholly SACKed (RACK.segs_sacked). */
  segsSacked = 0;
  /** TLP.end_seq (section 7), or null. */
  tlpEndSeq: number | null = null;
  /** TLP.is_retrans. */
  tlpIsRetrans = false;
  /** RTT samples the estimator had when the last probe left (7.3 condition 2). */
  samplesAtProbe = 0;
  /** RACK.reo_wnd_mult, RACK.reo_wnd_persist and RACK.dsack_round (null: None). */
  reoWndMult = 1;
  reoWndPersist = 0;
  dsackRound: number | null = null;
  /** In fast or RTO recovery at the previous ACK (to see recoveries end). */
  wasInRecovery = false;
  /** Set by detectLoss: ms until the next range would be deemed lost (0: none waiting). */
  lossTimeout = 0;

  constructor(sndUna: number) {
    this.fack = sndUna;
  }

  get isEmpty(): boolean {
    return this.#n === 0;
  }

  /** Offset in #rec of the record at logical index i. */
  #at(i: number): number {
    return ((this.#head + i) & this.#mask) * STRIDE;
  }

  /**
   * Open a record at logical index `at` (0..#n), moving the ranges from there on up by one, and
   * return its offset; the ring doubles when full (rare: the window grew, or a retransmission split
   * a range).
   */
  #insertAt(at: number): number {
    if (this.#rec === null) {
      this.#rec = takeRing();
      this.#mask = this.#rec.length / STRIDE - 1;
      this.#head = 0;
    } else if (this.#n > this.#mask) this.#grow();
    const rec = this.#rec;
    for (let i = this.#n; i > at; i--) rec.copyWithin(this.#at(i), this.#at(i - 1), this.#at(i - 1) + STRIDE);
    this.#n++;
    return this.#at(at);
  }

  #grow(): void {
    const old = this.#rec!;
    const rec = new Float64Array(old.length * 2);
    for (let i = 0; i < this.#n; i++) {
      const from = this.#at(i);
      for (let f = 0; f < STRIDE; f++) rec[i * STRIDE + f] = old[from + f]!;
    }
    this.#rec = rec;
    this.#mask = rec.length / STRIDE - 1;
    this.#head = 0;
  }

  /** Give the ring back once nothing is outstanding. */
  #releaseIfEmpty(): void {
    if (this.#n !== 0 || this.#rec === null) return;
    giveRing(this.#rec);
    this.#rec = null;
    this.#mask = -1;
    this.#head = 0;
  }

  /** Write a range at offset o. */
  #set(o: number, start: number, end: number, xmitTs: number, order: number, flags: number): void {
    const rec = this.#rec!;
    rec[o + START] = start;
    rec[o + END] = end;
    rec[o + TS] = xmitTs;
    rec[o + ORDER] = order;
    rec[o + FLAGS] = flags;
  }

  /**
   * RFC 8985 6.1: record the transmission of [seq, seq+len) at `now`. New data is appended;
   * a retransmission splits ranges at its edges and stamps the covered ones.
   */
  onTransmit(seq: number, len: number, now: number): void {
    if (len <= 0) return;
    const end = addInt(seq, len);
    const n = this.#n;
    const lastEnd = n === 0 ? 0 : this.#rec![this.#at(n - 1) + END]!;
    if (n === 0 || ge(seq, lastEnd)) {
      // New data (RACK_transmit_new_data). A gap would mean a go-back resend beyond our records.
      const start = n === 0 || gt(seq, lastEnd) ? seq : lastEnd;
      this.#set(this.#insertAt(n), start, end, now, ++this.#sends, 0);
      return;
    }
    // RACK_retransmit_data: stamp every range inside [seq, end), splitting at the edges.
    const order = ++this.#sends;
    let i = this.#find(seq);
    if (i < 0) i = 0;
    for (; i < this.#n; i++) {
      let o = this.#at(i);
      let rec = this.#rec!;
      if (le(end, rec[o + START]!)) break;
      if (lt(rec[o + START]!, seq)) {
        // [start, seq) keeps its stamps; [seq, end) follows as a copy and is stamped next round.
        const o2 = this.#insertAt(i + 1);
        rec = this.#rec!;
        o = this.#at(i);
        const f = rec[o + FLAGS]!;
        this.#set(o2, seq, rec[o + END]!, rec[o + TS]!, rec[o + ORDER]!, f);
        if (f & RETRANS) this.#retransInQ++;
        rec[o + END] = seq;
        continue;
      }
      if (lt(end, rec[o + END]!)) {
        // [start, end) is stamped here; [end, old end) follows as a copy with the old stamps.
        const o2 = this.#insertAt(i + 1);
        rec = this.#rec!;
        o = this.#at(i);
        const f = rec[o + FLAGS]!;
        this.#set(o2, end, rec[o + END]!, rec[o + TS]!, rec[o + ORDER]!, f);
        if (f & RETRANS) this.#retransInQ++;
        rec[o + END] = end;
      }
      rec[o + TS] = now;
      rec[o + ORDER] = order;
      const f = rec[o + FLAGS]!;
      if (!(f & RETRANS)) this.#retransInQ++;
      rec[o + FLAGS] = (f | RETRANS) & ~LOST;
    }
    const tail = this.#rec![this.#at(this.#n - 1) + END]!;
    if (gt(end, tail)) this.#set(this.#insertAt(this.#n), tail, end, now, order, 0);
  }

  /**
   * RFC 8985 6.2 steps 1-3 for one ACK: forget what `ack` covers, mark ranges that `sacks` now
   * covers as delivered (null: the ACK brought no new SACK information), update RACK.segment,
   * RACK.rtt, RACK.min_RTT, RACK.fack and RACK.reordering_seen. `ecrTs` is the send time the ACK's
   * TSecr stands for (or -1 without timestamps), used to ignore ambiguous samples from
   * retransmissions. Returns the number of segments newly delivered.
   *
   * Delivered ranges are taken in ascending end_seq order, as step 3 wants: first the cumulatively
   * acknowledged ones from the front, then the newly SACKed ones above `ack` (the ranges are
   * disjoint and in sequence order). Step 2 (#update) and step 3 touch disjoint state, so each
   * range goes through both before the next one.
   */
  onAck(ack: number, sacks: SackCoverage | null, now: number, ecrTs: number): number {
    const rec = this.#rec;
    if (rec === null) return 0;
    let delivered = 0;
    while (this.#n > 0) {
      const o = this.#head * STRIDE;
      if (!le(rec[o + END]!, ack)) break;
      const f = rec[o + FLAGS]!;
      if (f & RETRANS) this.#retransInQ--;
      // Step out of the ring first: nothing below writes to it, so the record stays readable.
      this.#head = (this.#head + 1) & this.#mask;
      this.#n--;
      if (f & SACKED) this.segsSacked--;
      else {
        this.#deliver(rec, o, now, ecrTs);
        delivered++;
      }
    }
    if (this.#n > 0 && lt(rec[this.#head * STRIDE + START]!, ack)) rec[this.#head * STRIDE + START] = ack;
    if (sacks !== null) {
      for (let i = 0; i < this.#n; i++) {
        const o = this.#at(i);
        const f = rec[o + FLAGS]!;
        if (!(f & SACKED) && sacks.covers(rec[o + START]!, rec[o + END]!)) {
          rec[o + FLAGS] = (f | SACKED) & ~LOST;
          this.segsSacked++;
          this.#deliver(rec, o, now, ecrTs);
          delivered++;
        }
      }
    }
    this.#releaseIfEmpty();
    return delivered;
  }

  /**
   * The RTT sample a congestion controller gets for a cumulative ACK up to `ack`, before onAck takes
   * it (Linux's ca_rtt_us in tcp_clean_rtx_queue): the time since the most recently sent of the
   * newly acknowledged ranges left, none (-1) when a retransmission is among them (Karn) or all were
   * SACKed before.
   */
  ackRttSample(ack: number, now: number): number {
    const rec = this.#rec;
    let last = -1;
    for (let i = 0; rec !== null && i < this.#n; i++) {
      const o = this.#at(i);
      if (!le(rec[o + END]!, ack)) break;
      const f = rec[o + FLAGS]!;
      if (f & RETRANS) return -1;
      if (!(f & SACKED)) last = rec[o + TS]!;
    }
    return last < 0 ? -1 : now - last;
  }

  /** Steps 2 (RACK_update) and 3 (RACK.fack, reordering) for the delivered range at offset o. */
  #deliver(rec: Float64Array, o: number, now: number, ecrTs: number): void {
    const end = rec[o + END]!;
    const retrans = (rec[o + FLAGS]! & RETRANS) !== 0;
    this.#update(rec[o + TS]!, end, rec[o + ORDER]!, retrans, now, ecrTs);
    if (gt(end, this.fack)) this.fack = end;
    else if (lt(end, this.fack) && !retrans) {
      this.reorderingSeen = true;
      this.reorderDistance = Math.max(this.reorderDistance, sub(this.fack, rec[o + START]!));
    }
  }

  /** Step 2 for one delivered segment (RACK_update). */
  #update(xmitTs: number, end: number, order: number, retrans: boolean, now: number, ecrTs: number): void {
    const rtt = now - xmitTs;
    if (retrans) {
      // The ACK may be for an earlier transmission: no sample (RFC 8985 6.2 step 2 checks 1-2).
      if (ecrTs >= 0 && ecrTs < Math.floor(xmitTs)) return;
      if (rtt < this.minRtt) return;
    } else {
      this.noteRtt(rtt, now);
    }
    this.rtt = rtt;
    if (sentAfter(xmitTs, order, this.xmitTs, this.order)) {
      this.xmitTs = xmitTs;
      this.endSeq = end;
      this.order = order;
    }
  }

  /** Step 1: a windowed minimum of RTT samples (RFC 6298 / RFC 7323 ones and RACK's own). */
  noteRtt(rtt: number, now: number): void {
    if (!(rtt >= 0)) return;
    if (rtt <= this.minRtt || now - this.#minRttAt > MIN_RTT_WINDOW) {
      this.minRtt = rtt;
      this.#minRttAt = now;
    }
  }

  /**
   * Step 4's DSACK-based adaptation (RACK_update_reo_wnd, first half): a round trip that brings a
   * D-SACK (RFC 2883) widens the window by one min_RTT/4 step; 16 recoveries without one reset it.
   */
  updateReoWndMult(dsack: boolean, sndUna: number, sndNxt: number, recoveryEnded: boolean): void {
    if (this.dsackRound !== null && ge(sndUna, this.dsackRound)) this.dsackRound = null;
    if (this.dsackRound === null && dsack) {
      this.dsackRound = sndNxt;
      this.reoWndMult++;
      this.reoWndPersist = 16;
    } else if (recoveryEnded) {
      this.reoWndPersist--;
      if (this.reoWndPersist <= 0) this.reoWndMult = 1;
    }
  }

  /**
   * Step 4 (RACK_update_reo_wnd, second half): 0 while no reordering was seen and we are in
   * recovery or DupThresh segments are SACKed; else min(reo_wnd_mult * min_RTT/4, SRTT).
   */
  reoWnd(inRecovery: boolean, dupThresh: number, srtt: number): number {
    if (!this.reorderingSeen && (inRecovery || this.segsSacked >= dupThresh)) return 0;
    const base = this.minRtt === Infinity ? 0 : (this.reoWndMult * this.minRtt) / 4;
    return srtt > 0 ? Math.min(base, srtt) : base;
  }

  /**
   * Step 5 (RACK_detect_loss): mark ranges lost that were sent before RACK.segment more than
   * RACK.rtt + reoWnd ago. Returns the number newly lost, and leaves in `lossTimeout` the ms until
   * the next one would be (0: none).
   */
  detectLoss(now: number, reoWnd: number): number {
    this.lossTimeout = 0;
    const rec = this.#rec;
    if (this.xmitTs < 0 || rec === null) return 0;
    let lost = 0;
    let timeout = 0;
    const inOrder = this.#retransInQ === 0;
    for (let i = 0; i < this.#n; i++) {
      const o = this.#at(i);
      const ts = rec[o + TS]!;
      if (!sentAfter(this.xmitTs, this.order, ts, rec[o + ORDER]!)) {
        if (inOrder) break; // every later range was sent later still
        continue;
      }
      const f = rec[o + FLAGS]!;
      if (f & (SACKED | LOST)) continue;
      const remaining = ts + this.rtt + reoWnd - now;
      if (remaining <= 0) {
        rec[o + FLAGS] = f | LOST;
        lost++;
      } else if (remaining > timeout) {
        timeout = remaining;
      }
    }
    this.lossTimeout = timeout;
    return lost;
  }

  /**
   * On an RTO every range not SACKed counts as lost, as Linux's loss state has it: RFC 8985 6.3
   * marks the first and those older than RACK.rtt + reoWnd, and the go-back of RFC 5681 / RFC 6298
   * resends the rest anyway; nothing sent before the timeout is taken to be in flight after it.
   */
  markLossesOnRto(): void {
    const rec = this.#rec;
    for (let i = 0; i < this.#n; i++) {
      const o = this.#at(i);
      if (!(rec![o + FLAGS]! & SACKED)) rec![o + FLAGS] = rec![o + FLAGS]! | LOST;
    }
  }

  /** Logical index of the lowest range marked lost and not SACKed, or -1. */
  #firstLostIndex(): number {
    for (let i = 0; i < this.#n; i++) if ((this.#rec![this.#at(i) + FLAGS]! & (LOST | SACKED)) === LOST) return i;
    return -1;
  }

  /** The lowest range marked lost (to retransmit), or null: a copy, allocated (recovery only). */
  firstLost(): SentRange | null {
    const i = this.#firstLostIndex();
    return i < 0 ? null : this.range(i);
  }

  /** A lost range turned out to need no retransmission (all of it SACKed meanwhile). */
  clearLost(start: number): void {
    const i = this.#find(start);
    if (i < 0) return;
    const o = this.#at(i);
    const rec = this.#rec!;
    if (rec[o + START] === start) rec[o + FLAGS] = rec[o + FLAGS]! & ~LOST;
  }

  /** Whether any range is marked lost. */
  get anyLost(): boolean {
    return this.#firstLostIndex() >= 0;
  }

  /**
   * Bytes in flight (RFC 8985 9.3 with RFC 6675's idea of pipe): every range neither SACKed nor
   * marked lost counts once; a lost range counts again once retransmitted (which clears `lost`).
   */
  pipe(): number {
    let n = 0;
    for (let i = 0; i < this.#n; i++) {
      const o = this.#at(i);
      const rec = this.#rec!;
      if (!(rec[o + FLAGS]! & (SACKED | LOST))) n += sub(rec[o + END]!, rec[o + START]!);
    }
    return n;
  }

  /** The last transmitted range (TLP retransmits it: RFC 8985 7.3), or null. */
  last(): SentRange | null {
    return this.#n === 0 ? null : this.range(this.#n - 1);
  }

  /** The range at logical index i (0: the oldest outstanding, below `size`), as a fresh object. */
  range(i: number): SentRange {
    const o = this.#at(i);
    const rec = this.#rec!;
    const f = rec[o + FLAGS]!;
    return {
      start: rec[o + START]!,
      end: rec[o + END]!,
      xmitTs: rec[o + TS]!,
      order: rec[o + ORDER]!,
      retrans: (f & RETRANS) !== 0,
      lost: (f & LOST) !== 0,
      sacked: (f & SACKED) !== 0,
    };
  }

  /**
   * Outstanding segments by state, as Linux's tcp_sock counts them (tcp_info's tcpi_sacked,
   * tcpi_lost, tcpi_retrans): SACKed; lost (marked lost, or retransmitted after being lost: Linux
   * keeps TCPCB_LOST on a retransmitted segment until it is delivered); retransmitted and not yet
   * delivered. A range counts as its size in `mss` units, rounded up.
   */
  segmentCounts(mss: number): { sacked: number; lost: number; retrans: number } {
    let sacked = 0;
    let lost = 0;
    let retrans = 0;
    for (let i = 0; i < this.#n; i++) {
      const o = this.#at(i);
      const rec = this.#rec!;
      const f = rec[o + FLAGS]!;
      const segs = Math.max(1, Math.ceil(sub(rec[o + END]!, rec[o + START]!) / mss));
      if (f & SACKED) sacked += segs;
      else {
        if (f & (LOST | RETRANS)) lost += segs;
        if (f & RETRANS) retrans += segs;
      }
    }
    return { sacked, lost, retrans };
  }

  /** Send time of the oldest outstanding range, or -1. */
  get headXmitTs(): number {
    return this.#n === 0 ? -1 : this.#rec![this.#head * STRIDE + TS]!;
  }

  /** Forget everything (RTO with SACK reneging suspicion is not modelled; used on close). */
  clear(): void {
    this.#n = 0;
    this.#retransInQ = 0;
    this.segsSacked = 0;
    this.#releaseIfEmpty();
  }

  /** Number of ranges recorded (tests, memory bounds). */
  get size(): number {
    return this.#n;
  }

  /** Index of the range containing `seq`, or of the last range starting at or before it (-1: none). */
  #find(seq: number): number {
    let lo = 0;
    let hi = this.#n - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (le(this.#rec![this.#at(mid) + START]!, seq)) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }
}

/**
 * RFC 8985 6.2 RACK_sent_after(t1, seq1, t2, seq2), with ties in xmit_ts broken by the order of
 * transmission instead of by sequence number: on a virtual clock many segments share a timestamp,
 * and a retransmission sent after new data in the same millisecond is the later one (comparing
 * end_seq would call the original data later and mark the retransmission lost at once).
 */
export function sentAfter(t1: number, order1: number, t2: number, order2: number): boolean {
  return t1 > t2 || (t1 === t2 && order1 > order2);
}
