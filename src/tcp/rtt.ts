// Round-trip time estimation and the retransmission timeout (RFC 6298 sections 2 and 5):
// SRTT/RTTVAR smoothing, the RTO formula with its clamps, and exponential backoff.
// Karn's algorithm (which samples to take) is the caller's job; this only digests samples.
// With `linux`, Linux's estimator instead (tcp_rtt_estimator, __tcp_set_rto): RTO = SRTT + RTTVAR
// where RTTVAR is at least the minimum RTO and decays only once per round trip.

import { gt } from '../wire/seq.js';

export interface RttParams {
  /** RTO before any sample (RFC 6298 (2.1): 1 s). ms. */
  initialRto: number;
  /** Lower clamp (RFC 6298 (2.4)). ms. */
  minRto: number;
  /** Upper clamp (RFC 6298 (2.5)); also caps backoff. ms. */
  maxRto: number;
  /** Clock granularity G (RFC 6298 section 2). ms, default 1. */
  granularity?: number;
  /** Linux's estimator and RTO rule instead of RFC 6298's (the `linux` profile). */
  linux?: boolean;
}

/** RFC 6298 alpha = 1/8, beta = 1/4, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export class RttEstimator {
  readonly #minRto: number;
  readonly #maxRto: number;
  readonly #g: number;
  #srtt = 0;
  #rttvar = 0;
  /** RTO from the latest computation, before backoff. */
  #baseRto: number;
  #rto: number;
  #samples = 0;
  #backoffs = 0;
  readonly #linux: boolean;
  /** Linux: mean deviation (scaled as 4*RTTVAR), its maximum in this round, and the round's end. */
  #mdev = 0;
  #mdevMax = 0;
  #rttSeq = 0;

  constructor(p: RttParams) {
    this.#minRto = p.minRto;
    this.#maxRto = Math.max(p.minRto, p.maxRto);
    this.#g = p.granularity ?? 1;
    this.#linux = p.linux === true;
    this.#baseRto = this.#clamp(p.initialRto);
    this.#rto = this.#baseRto;
  }

  /** Smoothed RTT in ms; 0 before the first sample. */
  get srtt(): number {
    return this.#srtt;
  }
  /** RTT variation in ms; 0 before the first sample. */
  get rttvar(): number {
    return this.#rttvar;
  }
  /** The current retransmission timeout in ms, backoff included. */
  get rto(): number {
    return this.#rto;
  }
  /** Samples digested so far. */
  get samples(): number {
    return this.#samples;
  }
  /** Consecutive backoffs since the last sample (RFC 6298 (5.5)). */
  get backoffs(): number {
    return this.#backoffs;
  }

  /**
   * Digest one RTT measurement R in ms (RFC 6298 (2.2) for the first, (2.3) after).
   * Negative or non-finite values are ignored. Recomputing RTO ends any backoff.
   */
  sample(rttMs: number, sndUna?: number, sndNxt?: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return;
    if (this.#linux) {
      this.#sampleLinux(rttMs, sndUna, sndNxt);
      return;
    }
    if (this.#samples === 0) {
      // (2.2) SRTT <- R, RTTVAR <- R/2.
      this.#srtt = rttMs;
      this.#rttvar = rttMs / 2;
    } else {
      // (2.3) RTTVAR first, using the old SRTT, then SRTT.
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - rttMs);
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * rttMs;
    }
    this.#samples++;
    this.#baseRto = this.#clamp(this.#srtt + Math.max(this.#g, K * this.#rttvar));
    this.#rto = this.#baseRto;
    this.#backoffs = 0;
  }

  /**
   * Linux's tcp_rtt_estimator: SRTT as RFC 6298; the deviation gains 1/4 of a rise but only 1/32
   * of a fall below SRTT; RTTVAR follows the round's largest deviation up at once and decays a
   * quarter of the way down once per round trip (when SND.UNA passes the SND.NXT of the round's
   * start), never below the minimum RTO. RTO = SRTT + RTTVAR (__tcp_set_rto), only capped above.
   */
  #sampleLinux(m: number, una: number | undefined, nxt: number | undefined): void {
    if (this.#samples === 0) {
      this.#srtt = m;
      this.#mdev = 2 * m;
      this.#rttvar = Math.max(this.#mdev, this.#minRto);
      this.#mdevMax = this.#rttvar;
      this.#rttSeq = nxt ?? 0;
    } else {
      let err = m - this.#srtt;
      this.#srtt += err / 8;
      if (err < 0) {
        err = -err - this.#mdev / 4;
        if (err > 0) err /= 8;
      } else {
        err -= this.#mdev / 4;
      }
      this.#mdev += err;
      if (this.#mdev > this.#mdevMax) {
        this.#mdevMax = this.#mdev;
        if (this.#mdevMax > this.#rttvar) this.#rttvar = this.#mdevMax;
      }
      if (una !== undefined && nxt !== undefined && gt(una, this.#rttSeq)) {
        if (this.#mdevMax < this.#rttvar) this.#rttvar -= (this.#rttvar - this.#mdevMax) / 4;
        this.#rttSeq = nxt;
        this.#mdevMax = this.#minRto;
      }
    }
    this.#samples++;
    this.#baseRto = Math.min(this.#maxRto, this.#srtt + this.#rttvar);
    this.#rto = this.#baseRto;
    this.#backoffs = 0;
  }

  /** The retransmission timer expired: RTO <- RTO * 2, capped at maxRto (RFC 6298 (5.5)). */
  backoff(): void {
    this.#rto = Math.min(this.#rto * 2, this.#maxRto);
    this.#backoffs++;
  }

  /**
   * RFC 6298 (5.7): after the SYN or SYN-ACK was retransmitted and data transmission begins,
   * an RTO of less than 3 s may be reset to 3 s if no sample has yet been taken.
   */
  resetAfterSynLoss(rtoMs = 3000): void {
    if (this.#samples === 0) {
      this.#baseRto = this.#clamp(Math.max(this.#baseRto, rtoMs));
      this.#rto = this.#baseRto;
      this.#backoffs = 0;
    }
  }

  #clamp(rto: number): number {
    return Math.min(this.#maxRto, Math.max(this.#minRto, rto));
  }
}
