// Proportional Rate Reduction (RFC 6937) for SACK-based fast recovery: how much may be sent in
// answer to each ACK while in recovery, so the flight shrinks smoothly towards ssthresh (one
// segment per ACK, in proportion to what the peer delivered) instead of the whole reduction, or a
// burst of every lost segment, leaving at once. Counted in segments, as Linux's tcp_cwnd_reduction.

/** PRR's state for one recovery episode (RFC 6937 section 3). */
export class Prr {
  /** Segments the peer delivered (cumulatively ACKed or SACKed) since recovery began. */
  delivered = 0;
  /** Segments sent (new or retransmitted) since recovery began. */
  out = 0;
  /** Segments that may still leave in answer to the latest ACK. */
  sndcnt = 0;

  /** @param recoverFs FlightSize when recovery began, in segments (RFC 6937: RecoverFS). */
  constructor(readonly recoverFs: number) {}

  /**
   * On an ACK in recovery (RFC 6937 section 3): `delivered` segments newly ACKed or SACKed,
   * `pipe` and `ssthresh` in segments. `safeAck`: SND.UNA advanced and no new loss was detected.
   *
   * - pipe > ssthresh: proportional reduction, sndcnt = CEIL(prr_delivered * ssthresh /
   *   RecoverFS) - prr_out.
   * - otherwise the slow-start reduction bound: catch up towards ssthresh by at most what was
   *   delivered (or the backlog of delivered-minus-sent), plus one segment on a safe ACK. RFC 6937's
   *   PRR-SSRB adds the segment on every ACK; Linux (and RFC 9937, which replaces RFC 6937) only on
   *   a safe ACK, so a run of duplicate ACKs releases one segment each.
   * - the first ACK of recovery sends at least one segment: the fast retransmit.
   */
  onAck(delivered: number, pipe: number, ssthresh: number, safeAck: boolean): void {
    if (delivered <= 0) return;
    this.delivered += delivered;
    let sndcnt: number;
    if (pipe > ssthresh) {
      sndcnt = Math.ceil((this.delivered * ssthresh) / Math.max(1, this.recoverFs)) - this.out;
    } else {
      sndcnt = Math.max(this.delivered - this.out, delivered) + (safeAck ? 1 : 0);
      sndcnt = Math.min(ssthresh - pipe, sndcnt);
    }
    this.sndcnt = Math.max(sndcnt, this.out === 0 ? 1 : 0, 0);
  }

  /** A segment left during recovery. */
  onSend(): void {
    this.out++;
    if (this.sndcnt > 0) this.sndcnt--;
  }
}
