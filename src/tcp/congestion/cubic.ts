// CUBIC window sizing (RFC 9438, which obsoletes RFC 8312): the cubic growth function W(t) around
// W_max with K from section 4.2, the Reno-friendly region (4.3), concave/convex growth (4.4, 4.5),
// multiplicative decrease with beta = 0.7 (4.6), fast convergence (4.7), timeouts (4.8) and
// RFC 5681-style slow start below ssthresh. Windows are bytes outside, segments inside the formulas.

import type { CongestionControl, CongestionName } from './cc.js';
import { ABC_LIMIT, initialWindow } from './newreno.js';

/** RFC 9438 section 5: C = 0.4 (segments / s^3). */
export const CUBIC_C = 0.4;
/** RFC 9438 section 4.6: beta_cubic = 0.7. */
export const CUBIC_BETA = 0.7;
/** RFC 9438 section 4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

export interface CubicOptions {
  /** Fast convergence (RFC 9438 section 4.7), on by default. */
  fastConvergence?: boolean;
  /** Slow-start growth per ACK in segments (RFC 3465's L, default 2); 0: every acknowledged byte, as Linux. */
  abcLimit?: number;
}

export class Cubic implements CongestionControl {
  readonly name: CongestionName = 'cubic';
  readonly #fastConvergence: boolean;
  #mss: number;
  /** Congestion window in bytes (fractional internally; `cwnd` reports whole bytes). */
  #cwnd: number;
  #ssthresh = Number.POSITIVE_INFINITY;
  /** W_max in segments: the window just before the last reduction (undefined before any). */
  #wMax: number | undefined;
  readonly #abcLimit: number;
  /** Start of the current congestion-avoidance epoch (ms), or undefined outside one. */
  #epochStart: number | undefined;
  /** cwnd_epoch in segments. */
  #cwndEpoch = 0;
  /** K in seconds for the current epoch. */
  #k = 0;
  /** W_est in segments: the Reno-friendly estimate (section 4.3). */
  #wEst = 0;

  constructor(mss: number, opts: CubicOptions = {}) {
    this.#mss = mss;
    this.#cwnd = initialWindow(mss);
    this.#fastConvergence = opts.fastConvergence ?? true;
    this.#abcLimit = opts.abcLimit ?? ABC_LIMIT;
  }

  get cwnd(): number {
    return Math.floor(this.#cwnd);
  }
  get ssthresh(): number {
    return this.#ssthresh;
  }
  /** W_max in bytes (undefined before the first congestion event). */
  get wMax(): number | undefined {
    return this.#wMax === undefined ? undefined : this.#wMax * this.#mss;
  }
  /** K of the current epoch in seconds (0 outside an epoch). */
  get k(): number {
    return this.#epochStart === undefined ? 0 : this.#k;
  }
  /** W_est of the current epoch in bytes (0 outside an epoch). */
  get wEst(): number {
    return this.#epochStart === undefined ? 0 : this.#wEst * this.#mss;
  }
  /** Start time (ms) of the current congestion-avoidance epoch. */
  get epochStart(): number | undefined {
    return this.#epochStart;
  }
  get inSlowStart(): boolean {
    return this.#cwnd < this.#ssthresh;
  }

  /** RFC 9438 eq. (1): W_cubic(t) = C*(t - K)^3 + W_max, in bytes, t in seconds since the epoch. */
  wCubic(t: number): number {
    const wMax = this.#wMax ?? this.#cwndEpoch;
    const d = t - this.#k;
    return (CUBIC_C * d * d * d + wMax) * this.#mss;
  }

  onAck(ackedBytes: number, now: number, rtt: number): void {
    if (!(ackedBytes > 0)) return;
    let acked = ackedBytes;
    const mss = this.#mss;
    if (this.#cwnd < this.#ssthresh) {
      // Slow start as in RFC 5681 / RFC 3465 (RFC 9438 section 4.10 allows HyStart++; not used).
      const inc = Math.min(acked, this.#abcLimit > 0 ? this.#abcLimit * mss : acked, this.#ssthresh - this.#cwnd);
      this.#cwnd += inc;
      acked = this.#cwnd >= this.#ssthresh ? acked - inc : 0;
      if (acked <= 0) return;
    }
    const cwndSeg = this.#cwnd / mss;
    if (this.#epochStart === undefined) this.#startEpoch(now, cwndSeg);
    const segsAcked = acked / mss;
    const wMax = this.#wMax ?? cwndSeg;
    // Section 4.3: W_est grows like Reno with alpha_cubic, and with 1 once it reaches W_max.
    const alpha = this.#wEst >= wMax ? 1 : CUBIC_ALPHA;
    this.#wEst += (alpha * segsAcked) / cwndSeg;
    const t = (now - this.#epochStart!) / 1000;
    const wCubicNow = this.wCubic(t) / mss;
    if (wCubicNow < this.#wEst) {
      // Reno-friendly region: follow W_est.
      this.#cwnd = Math.max(this.#cwnd, this.#wEst * mss);
      return;
    }
    // Sections 4.4 and 4.5: move toward W_cubic(t + RTT), at most 1.5x per RTT.
    const rttSec = rtt > 0 ? rtt / 1000 : 0;
    const target = Math.min(Math.max(this.wCubic(t + rttSec) / mss, cwndSeg), 1.5 * cwndSeg);
    this.#cwnd += ((target - cwndSeg) / cwndSeg) * segsAcked * mss;
  }

  onLoss(_now: number, flightSize: number): void {
    this.#reduce(flightSize);
    this.#cwnd = this.#ssthresh;
  }

  onRecoveryEnd(_now: number): void {
    this.#cwnd = this.#ssthresh;
    this.#epochStart = undefined;
  }

  onTimeout(_now: number, flightSize: number): void {
    // Section 4.8: ssthresh as for any congestion event, then Reno's loss window of one segment;
    // the next congestion-avoidance epoch starts when slow start reaches ssthresh.
    this.#reduce(flightSize);
    this.#cwnd = this.#mss;
  }

  onIdleRestart(_now: number): void {
    // RFC 5681 section 4.1 restart window; a new epoch starts with the next ACK, so idle time does
    // not count as time spent growing along the curve (RFC 9438 section 5.8).
    this.#cwnd = Math.min(this.#cwnd, initialWindow(this.#mss));
    this.#epochStart = undefined;
  }

  setMss(mss: number): void {
    if (!(mss > 0) || mss === this.#mss) return;
    // Windows kept in segments rescale with the segment size; bytes stay bytes.
    if (this.#wMax !== undefined) this.#wMax = (this.#wMax * this.#mss) / mss;
    this.#mss = mss;
    this.#epochStart = undefined;
    if (this.#cwnd < mss) this.#cwnd = mss;
  }

  /** Sections 4.6 and 4.7: remember W_max (with fast convergence), set ssthresh, end the epoch. */
  #reduce(flightSize: number): void {
    const mss = this.#mss;
    const cwndSeg = this.#cwnd / mss;
    if (this.#fastConvergence && this.#wMax !== undefined && cwndSeg < this.#wMax) {
      this.#wMax = (cwndSeg * (1 + CUBIC_BETA)) / 2;
    } else {
      this.#wMax = cwndSeg;
    }
    this.#ssthresh = Math.max(Math.floor(flightSize * CUBIC_BETA), 2 * mss);
    this.#epochStart = undefined;
  }

  /** Section 4.2: K = cbrt((W_max - cwnd_epoch) / C), 0 if cwnd_epoch is already above W_max. */
  #startEpoch(now: number, cwndSeg: number): void {
    this.#epochStart = now;
    this.#cwndEpoch = cwndSeg;
    this.#wEst = cwndSeg;
    if (this.#wMax === undefined) this.#wMax = cwndSeg;
    this.#k = this.#wMax > cwndSeg ? Math.cbrt((this.#wMax - cwndSeg) / CUBIC_C) : 0;
  }
}

/** A CUBIC controller for a sender with maximum segment size `mss`. */
export function createCubic(mss: number, opts: CubicOptions = {}): CongestionControl {
  return new Cubic(mss, opts);
}
