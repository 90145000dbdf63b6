// NewReno window sizing (RFC 5681 sections 3.1 and 4.1, RFC 3465 byte counting, RFC 6928 initial
// window): slow start, congestion avoidance, and the reductions on loss, timeout and idle restart.
// The sender does fast-recovery inflation and partial-ACK handling (RFC 6582) itself.

import type { CongestionControl, CongestionName } from './cc.js';

/** RFC 6928 section 2: IW = min(10*MSS, max(2*MSS, 14600)). */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}

/** RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS). */
export function renoSsthresh(flightSize: number, mss: number): number {
  return Math.max(Math.floor(flightSize / 2), 2 * mss);
}

/** Slow-start growth per ACK is min(acked, L*SMSS) with L = 2 (RFC 3465 section 2.2). */
export const ABC_LIMIT = 2;

export class NewReno implements CongestionControl {
  readonly name: CongestionName = 'newreno';
  #mss: number;
  #cwnd: number;
  #ssthresh = Number.POSITIVE_INFINITY;
  /** Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 section 3.1). */
  #bytesAcked = 0;

  /** Slow-start growth per ACK in segments (RFC 3465's L); 0: every acknowledged byte, as Linux. */
  readonly #abcLimit: number;

  constructor(mss: number, abcLimit = ABC_LIMIT) {
    this.#mss = mss;
    this.#cwnd = initialWindow(mss);
    this.#abcLimit = abcLimit;
  }

  get cwnd(): number {
    return this.#cwnd;
  }
  get ssthresh(): number {
    return this.#ssthresh;
  }
  get mss(): number {
    return this.#mss;
  }
  /** Whether the next ACK grows the window by slow start (cwnd < ssthresh, RFC 5681 section 3.1). */
  get inSlowStart(): boolean {
    return this.#cwnd < this.#ssthresh;
  }

  onAck(ackedBytes: number, _now: number, _rtt: number): void {
    if (!(ackedBytes > 0)) return;
    let acked = ackedBytes;
    if (this.#cwnd < this.#ssthresh) {
      // Slow start, RFC 5681 eq. (2) with RFC 3465's L = 2; stop at ssthresh and let the
      // remainder of this ACK count toward congestion avoidance.
      const room = this.#ssthresh - this.#cwnd;
      const inc = Math.min(acked, this.#abcLimit > 0 ? this.#abcLimit * this.#mss : acked, room);
      this.#cwnd += inc;
      acked = this.#cwnd >= this.#ssthresh ? acked - inc : 0;
      if (acked <= 0) return;
    }
    // Congestion avoidance by byte counting (RFC 5681 section 3.1, after eq. (3)):
    // one SMSS per cwnd of acknowledged bytes, i.e. about one SMSS per RTT.
    this.#bytesAcked += acked;
    if (this.#bytesAcked >= this.#cwnd) {
      this.#bytesAcked -= this.#cwnd;
      this.#cwnd += this.#mss;
    }
  }

  onLoss(_now: number, flightSize: number): void {
    // RFC 5681 section 3.2 step 2 (eq. 4); the sender adds the 3*SMSS inflation itself.
    this.#ssthresh = renoSsthresh(flightSize, this.#mss);
    this.#cwnd = this.#ssthresh;
    this.#bytesAcked = 0;
  }

  onRecoveryEnd(_now: number): void {
    // RFC 5681 section 3.2 step 6 / RFC 6582 section 3.2 step 3: deflate to ssthresh.
    this.#cwnd = this.#ssthresh;
    this.#bytesAcked = 0;
  }

  onTimeout(_now: number, flightSize: number): void {
    // RFC 5681 section 3.1 eq. (4) and the loss window LW = 1 SMSS.
    this.#ssthresh = renoSsthresh(flightSize, this.#mss);
    this.#cwnd = this.#mss;
    this.#bytesAcked = 0;
  }

  onIdleRestart(_now: number): void {
    // RFC 5681 section 4.1: RW = min(IW, cwnd).
    this.#cwnd = Math.min(this.#cwnd, initialWindow(this.#mss));
    this.#bytesAcked = 0;
  }

  setMss(mss: number): void {
    if (!(mss > 0)) return;
    this.#mss = mss;
    // Never let the window fall below one segment of the new size.
    if (this.#cwnd < mss) this.#cwnd = mss;
  }
}

/** A NewReno controller for a sender with maximum segment size `mss`. */
export function createNewReno(mss: number, abcLimit?: number): CongestionControl {
  return new NewReno(mss, abcLimit);
}
