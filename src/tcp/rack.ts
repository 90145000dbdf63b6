// RACK-TLP loss detection (RFC 8985): per-segment transmit times (section 5.2, 6.1), the most
// recently sent delivered segment (6.2 step 2), reordering detection and the reordering window
// (steps 3-4), time-based loss marking with a reordering timer (step 5, 6.3), and the Tail Loss
// Probe's bookkeeping (section 7). Pure state: the sender (ack.ts, output.ts, timers.ts) decides
// what to send; sequence numbers are compared only through seq.ts.

import { add, sub, lt, le, gt, ge } from '../wire/seq.js';

/** One transmitted range [start, end) of the sequence space (data, or a FIN's one number). */
interface Sent {
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

/** Linux's minimum-RTT filter window (tcp_min_rtt_wlen, 300 s). */
const MIN_RTT_WINDOW = 300_000;

/** What one ACK told RACK (RFC 8985 6.2 steps 2-3). */
export interface RackAckResult {
  /** Segments newly delivered (cumulatively or selectively) by this ACK. */
  delivered: number;
}

export class Rack {
  /** Transmitted, not yet cumulatively acknowledged ranges, in sequence order, contiguous. */
  readonly #q: Sent[] = [];
  /**
   * Ranges in #q with `retrans` set. While there are none, #q is in transmission order as well as
   * in sequence order (new data is appended with a rising counter), which lets detectLoss stop at
   * the first range sent after RACK.segment instead of walking every range in flight per ACK.
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

  constructor(sndUna: number) {
    this.fack = sndUna;
  }

  get isEmpty(): boolean {
    return this.#q.length === 0;
  }

  /**
   * RFC 8985 6.1: record the transmission of [seq, seq+len) at `now`. New data is appended;
   * a retransmission splits ranges at its edges and stamps the covered ones.
   */
  onTransmit(seq: number, len: number, now: number): void {
    if (len <= 0) return;
    const end = add(seq, len);
    const q = this.#q;
    const last = q[q.length - 1];
    if (last === undefined || ge(seq, last.end)) {
      // New data (RACK_transmit_new_data). A gap would mean a go-back resend beyond our records.
      const start = last === undefined || gt(seq, last.end) ? seq : last.end;
      q.push({ start, end, xmitTs: now, order: ++this.#sends, retrans: false, lost: false, sacked: false });
      return;
    }
    // RACK_retransmit_data: stamp every range inside [seq, end), splitting at the edges.
    const order = ++this.#sends;
    let i = this.#find(seq);
    if (i < 0) i = 0;
    for (; i < q.length; i++) {
      let s = q[i]!;
      if (le(end, s.start)) break;
      if (lt(s.start, seq)) {
        q.splice(i + 1, 0, { ...s, start: seq });
        if (s.retrans) this.#retransInQ++;
        s.end = seq;
        continue;
      }
      if (lt(end, s.end)) {
        q.splice(i + 1, 0, { ...s, start: end });
        if (s.retrans) this.#retransInQ++;
        s = q[i]!;
        s.end = end;
      }
      s.xmitTs = now;
      s.order = order;
      if (!s.retrans) this.#retransInQ++;
      s.retrans = true;
      s.lost = false;
    }
    if (gt(end, q[q.length - 1]!.end)) {
      q.push({ start: q[q.length - 1]!.end, end, xmitTs: now, order, retrans: false, lost: false, sacked: false });
    }
  }

  /**
   * RFC 8985 6.2 steps 1-3 for one ACK: forget what `ack` covers, mark ranges that `isSacked`
   * now covers as delivered, update RACK.segment, RACK.rtt, RACK.min_RTT, RACK.fack and
   * RACK.reordering_seen. `ecrTs` is the send time the ACK's TSecr stands for (or -1 without
   * timestamps), used to ignore ambiguous samples from retransmissions.
   */
  onAck(ack: number, isSacked: (start: number, end: number) => boolean, checkSacks: boolean, now: number, ecrTs: number): RackAckResult {
    const q = this.#q;
    const delivered: Sent[] = [];
    let drop = 0;
    while (drop < q.length && le(q[drop]!.end, ack)) {
      const s = q[drop]!;
      if (s.retrans) this.#retransInQ--;
      if (s.sacked) this.segsSacked--;
      else delivered.push(s);
      drop++;
    }
    // shift() trims the front in place; splice(0, n) copies the whole array (about 1 us with a
    // window of segments in flight, per ACK).
    if (drop > 32) q.splice(0, drop);
    else for (let k = 0; k < drop; k++) q.shift();
    const head = q[0];
    if (head !== undefined && lt(head.start, ack)) head.start = ack;
    if (checkSacks) {
      for (const s of q) {
        if (!s.sacked && isSacked(s.start, s.end)) {
          s.sacked = true;
          s.lost = false;
          this.segsSacked++;
          delivered.push(s);
        }
      }
    }
    for (const s of delivered) this.#update(s, now, ecrTs);
    // Step 3, in ascending end_seq order. `delivered` already is: the cumulatively acknowledged
    // ranges were taken from the front of #q in sequence order, then the newly SACKed ones from the
    // rest of #q, also in order and all above `ack` (the ranges are disjoint), so no sort is needed.
    for (const s of delivered) {
      if (gt(s.end, this.fack)) this.fack = s.end;
      else if (lt(s.end, this.fack) && !s.retrans) this.reorderingSeen = true;
    }
    return { delivered: delivered.length };
  }

  /** Step 2 for one delivered segment (RACK_update). */
  #update(s: Sent, now: number, ecrTs: number): void {
    const rtt = now - s.xmitTs;
    if (s.retrans) {
      // The ACK may be for an earlier transmission: no sample (RFC 8985 6.2 step 2 checks 1-2).
      if (ecrTs >= 0 && ecrTs < Math.floor(s.xmitTs)) return;
      if (rtt < this.minRtt) return;
    } else {
      this.noteRtt(rtt, now);
    }
    this.rtt = rtt;
    if (sentAfter(s.xmitTs, s.order, this.xmitTs, this.order)) {
      this.xmitTs = s.xmitTs;
      this.endSeq = s.end;
      this.order = s.order;
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
   * RACK.rtt + reoWnd ago. Returns [newly lost ranges, ms until the next one would be (0: none)].
   */
  detectLoss(now: number, reoWnd: number): [number, number] {
    if (this.xmitTs < 0) return [0, 0];
    let lost = 0;
    let timeout = 0;
    const inOrder = this.#retransInQ === 0;
    for (const s of this.#q) {
      if (!sentAfter(this.xmitTs, this.order, s.xmitTs, s.order)) {
        if (inOrder) break; // every later range was sent later still
        continue;
      }
      if (s.sacked || s.lost) continue;
      const remaining = s.xmitTs + this.rtt + reoWnd - now;
      if (remaining <= 0) {
        s.lost = true;
        lost++;
      } else if (remaining > timeout) {
        timeout = remaining;
      }
    }
    return [lost, timeout];
  }

  /**
   * On an RTO every range not SACKed counts as lost, as Linux's loss state has it: RFC 8985 6.3
   * marks the first and those older than RACK.rtt + reoWnd, and the go-back of RFC 5681 / RFC 6298
   * resends the rest anyway; nothing sent before the timeout is taken to be in flight after it.
   */
  markLossesOnRto(): void {
    for (const s of this.#q) if (!s.sacked) s.lost = true;
  }

  /** The lowest range marked lost (to retransmit), or null. */
  firstLost(): { start: number; end: number } | null {
    for (const s of this.#q) if (s.lost && !s.sacked) return s;
    return null;
  }

  /** A lost range turned out to need no retransmission (all of it SACKed meanwhile). */
  clearLost(start: number): void {
    const i = this.#find(start);
    const s = this.#q[i];
    if (s !== undefined && s.start === start) s.lost = false;
  }

  /** Whether any range is marked lost. */
  get anyLost(): boolean {
    return this.firstLost() !== null;
  }

  /**
   * Bytes in flight (RFC 8985 9.3 with RFC 6675's idea of pipe): every range neither SACKed nor
   * marked lost counts once; a lost range counts again once retransmitted (which clears `lost`).
   */
  pipe(): number {
    let n = 0;
    for (const s of this.#q) if (!s.sacked && !s.lost) n += sub(s.end, s.start);
    return n;
  }

  /** The last transmitted range (TLP retransmits it: RFC 8985 7.3). */
  last(): { start: number; end: number } | null {
    return this.#q[this.#q.length - 1] ?? null;
  }

  /** Send time of the oldest outstanding range, or -1. */
  get headXmitTs(): number {
    return this.#q[0]?.xmitTs ?? -1;
  }

  /** Forget everything (RTO with SACK reneging suspicion is not modelled; used on close). */
  clear(): void {
    this.#q.length = 0;
    this.#retransInQ = 0;
    this.segsSacked = 0;
  }

  /** Number of ranges recorded (tests, memory bounds). */
  get size(): number {
    return this.#q.length;
  }

  /** Index of the range containing `seq`, or of the last range starting at or before it (-1: none). */
  #find(seq: number): number {
    const q = this.#q;
    let lo = 0;
    let hi = q.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (le(q[mid]!.start, seq)) {
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
