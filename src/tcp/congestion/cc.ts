// The congestion-control interface (RFC 5681 section 3): the sender asks it for cwnd and ssthresh
// and tells it about ACKs, loss and timeouts. Loss *detection* and recovery bookkeeping (fast
// retransmit, NewReno partial ACKs, SACK pipe) live in the sender; this only sizes the window.
// CONTRACT shared by tcp/ and congestion/*.

export type CongestionName = 'newreno' | 'cubic';

export interface CongestionControl {
  readonly name: CongestionName;
  /** Congestion window, bytes. */
  readonly cwnd: number;
  /** Slow-start threshold, bytes (Infinity initially, RFC 5681 section 3.1). */
  readonly ssthresh: number;
  /** New data acknowledged outside loss recovery: grow the window. `rtt` is the latest smoothed RTT in ms (0 if unknown). */
  onAck(ackedBytes: number, now: number, rtt: number): void;
  /** Loss detected by duplicate ACKs or SACK (entering fast recovery). `flightSize` in bytes. */
  onLoss(now: number, flightSize: number): void;
  /** Fast recovery ended (the recovery point was acknowledged): deflate to ssthresh. */
  onRecoveryEnd(now: number): void;
  /** Retransmission timeout (RFC 5681 eq. 4): ssthresh from flightSize, cwnd to one segment. */
  onTimeout(now: number, flightSize: number): void;
  /** Restart after an idle period longer than RTO (RFC 5681 section 4.1). */
  onIdleRestart(now: number): void;
  /**
   * An RTT sample (ms) from an ACK that newly acknowledged data, before onAck sees it; `una` is
   * SND.UNA after the ACK, `nxt` SND.NXT (Linux's pkts_acked: HyStart, cubic-linux.ts). Optional.
   */
  onRttSample?(rttMs: number, now: number, una: number, nxt: number): void;
  /** Sender MSS changed (e.g. path MTU lowered). */
  setMss(mss: number): void;
}

/** Create a controller by name; `mss` is the sender's maximum segment size. */
export type CongestionFactory = (mss: number) => CongestionControl;
