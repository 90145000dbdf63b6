// Linux's delayed-ACK engine (config ackRule 'linux'): quick-ACK mode, the interactive
// ("pingpong") mode, the ACK timeout (ATO) estimator and the receiver's MSS estimate, as Linux 6.x
// keeps them in icsk_ack (net/ipv4/tcp_input.c, tcp_output.c, tcp_timer.c). RFC 9293 3.8.6.3 and
// RFC 5681 4.2 only bound a delayed ACK (under 0.5 s, at least every second full segment); this is
// the one state machine the Linux scripts see. The decisions that need the TCB (whether to ACK now,
// when the timer fires) are in input.ts (linuxAckSndCheck), output.ts and timers.ts; this file
// holds the state and the formulas.

/**
 * Whether this engine decides the ACKs: ackRule 'linux' with delayed ACKs on. With delayedAck 0
 * every segment is ACKed at once and the engine's state would be kept for nothing.
 */
export function linuxAcks(config: { ackRule: 'rfc5681' | 'linux'; delayedAck: number }): boolean {
  return config.ackRule === 'linux' && config.delayedAck > 0;
}

/** TCP_MAX_QUICKACKS: quick ACKs granted at once (tcp_incr_quickack). */
const MAX_QUICKACKS = 16;
/** TCP_DELACK_MAX (HZ/5): the longest delay once the peer pushes or the connection is interactive. */
const DELACK_MAX = 200;
/** HZ/2: the longest delay otherwise (tcp_send_delayed_ack's max_ato). */
const ATO_CEILING = 500;
/** TCP_MSS_DEFAULT and TCP_MIN_MSS: the bounds of the initial estimate (tcp_initialize_rcv_mss). */
const MSS_DEFAULT = 536;
const MIN_MSS = 88;
/** TCP header without options (sizeof(struct tcphdr)). */
const TCP_HEADER = 20;

// icsk_ack.pending bits (include/net/inet_connection_sock.h).
/** An ACK is owed (ICSK_ACK_SCHED). */
const SCHED = 1;
/** A segment of at most one MSS with PSH, or a short one, arrived (ICSK_ACK_PUSHED). */
const PUSHED = 4;
/** Two such in a row (ICSK_ACK_PUSHED2). */
const PUSHED2 = 8;
/** The next ACK goes out at once (ICSK_ACK_NOW): a hole was filled. */
const NOW = 16;

/** Flags that make a short segment a "remnant" (TCP_REMNANT: FIN, URG, SYN, PSH). */
const REMNANT = 0x01 | 0x20 | 0x02 | 0x08;

export class LinuxDelack {
  /** Quick ACKs left (icsk_ack.quick): each ACK of new data while > 0 and not interactive goes out at once. */
  quick = 0;
  /** Interactive mode (icsk_ack.pingpong, threshold tcp_pingpong_thresh = 1): replies carry the ACKs. */
  pingpong = 0;
  /** The ACK timeout estimate, ms (icsk_ack.ato); 0 until the first data arrives. */
  ato = 0;
  /** When data last arrived (icsk_ack.lrcvtime). */
  lrcvtime = 0;
  /** The peer's MSS as we estimate it from what arrives (icsk_ack.rcv_mss). */
  rcvMss: number;
  /** Payload of the last short segment without PSH (icsk_ack.last_seg_size). */
  lastSegSize = 0;
  #pending = 0;

  /**
   * tcp_initialize_rcv_mss: min(our MSS, the send MSS, half the receive window, 536), at least 88.
   */
  constructor(advMss: number, sendMss: number, rcvWnd: number) {
    this.rcvMss = Math.max(MIN_MSS, Math.min(advMss, sendMss, Math.floor(rcvWnd / 2), MSS_DEFAULT));
  }

  /** An ACK is owed (inet_csk_ack_scheduled). */
  get scheduled(): boolean {
    return (this.#pending & SCHED) !== 0;
  }
  schedule(): void {
    this.#pending |= SCHED;
  }
  /** The next ACK goes out at once (a hole in the sequence space was filled: RFC 5681 4.2). */
  ackNow(): void {
    this.#pending |= SCHED | NOW;
  }
  get now(): boolean {
    return (this.#pending & NOW) !== 0;
  }
  get pushed(): boolean {
    return (this.#pending & PUSHED) !== 0;
  }
  get pushed2(): boolean {
    return (this.#pending & PUSHED2) !== 0;
  }
  get interactive(): boolean {
    return this.pingpong >= 1;
  }

  /** tcp_in_quickack_mode: quick ACKs left and not interactive. */
  get inQuickack(): boolean {
    return this.quick > 0 && !this.interactive;
  }

  /**
   * In-order data arrived (tcp_event_data_recv with tcp_measure_rcv_mss): schedule an ACK, learn the
   * peer's MSS, and update the ATO from the gap since the last data: quick ACKs for the first data
   * and after a gap longer than the RTO. `headerLen` is the segment's TCP header with options;
   * `tsHeader` the header every segment carries (20, or 32 with timestamps: tcp_header_len).
   */
  dataReceived(len: number, headerLen: number, tsHeader: number, flags: number, advMss: number, rcvWnd: number, rto: number, atoMin: number, now: number): void {
    this.schedule();
    this.#measureRcvMss(len, headerLen, tsHeader, flags, advMss);
    if (this.ato === 0) {
      // The first data: start the engine with quick ACKs.
      this.#incrQuickack(rcvWnd);
      this.ato = atoMin;
    } else {
      const m = now - this.lrcvtime;
      if (m <= atoMin / 2) {
        this.ato = this.ato / 2 + atoMin / 2;
      } else if (m < this.ato) {
        this.ato = Math.min(this.ato / 2 + m, rto);
      } else if (m > rto) {
        // A long gap: the sender did not restart its window, so ACK quickly again.
        this.#incrQuickack(rcvWnd);
      }
    }
    this.lrcvtime = now;
  }

  /** tcp_measure_rcv_mss. */
  #measureRcvMss(len: number, headerLen: number, tsHeader: number, flags: number, advMss: number): void {
    const lss = this.lastSegSize;
    this.lastSegSize = 0;
    if (len >= this.rcvMss) {
      this.rcvMss = Math.min(len, advMss);
      // Exactly one MSS with PSH: probably the end of a write; a read that empties the queue ACKs.
      if (flags & 0x08) this.#pending |= PUSHED;
      return;
    }
    // Shorter: a full-sized segment whose options vary (SACK blocks), or a remnant.
    const whole = len + headerLen;
    if (whole >= MSS_DEFAULT + TCP_HEADER || (whole >= MIN_MSS + TCP_HEADER && !(flags & REMNANT))) {
      const l = whole - tsHeader;
      this.lastSegSize = l;
      if (l === lss) {
        this.rcvMss = l;
        return;
      }
    }
    if (this.#pending & PUSHED) this.#pending |= PUSHED2;
    this.#pending |= PUSHED;
  }

  /** tcp_incr_quickack: up to half the window in MSS-sized segments, at least 2, at most 16. */
  #incrQuickack(rcvWnd: number): void {
    let q = Math.floor(rcvWnd / (2 * this.rcvMss));
    if (q === 0) q = 2;
    q = Math.min(q, MAX_QUICKACKS);
    if (q > this.quick) this.quick = q;
  }

  /**
   * tcp_enter_quickack_mode: a duplicate, a segment beyond the window or into a zero window
   * arrived; ACK quickly, leave interactive mode.
   */
  enterQuickack(rcvWnd: number, atoMin: number): void {
    this.#incrQuickack(rcvWnd);
    this.pingpong = 0;
    this.ato = atoMin;
  }

  /** The peer's FIN moved us to CLOSE-WAIT (tcp_fin: inet_csk_enter_pingpong_mode). */
  enterInteractive(): void {
    this.pingpong = 1;
  }

  /**
   * A segment carrying our ACK left (tcp_event_ack_sent with tcp_dec_quickack_mode): an ACK of new
   * data uses up one quick ACK (the last one deflates the ATO); nothing is owed any more.
   */
  ackSent(atoMin: number): void {
    if (this.quick > 0 && this.scheduled) {
      if (this.quick <= 1) {
        this.quick = 0;
        this.ato = atoMin;
      } else {
        this.quick--;
      }
    }
    this.#pending = 0;
  }

  /** Data left (tcp_event_data_sent): a reply within the ATO of the last data makes us interactive. */
  dataSent(now: number): void {
    if (now - this.lrcvtime < this.ato && this.pingpong < 255) this.pingpong++;
  }

  /**
   * The delayed-ACK timer fired with an ACK owed (tcp_delack_timer_handler): the delay was too
   * short, so double the ATO (up to the RTO), or, interactive, leave that mode and deflate it.
   */
  timerFired(rto: number, atoMin: number): void {
    if (!this.interactive) {
      this.ato = Math.min(this.ato * 2, rto);
    } else {
      this.pingpong = 0;
      this.ato = atoMin;
    }
  }

  /**
   * How long the ACK may wait (tcp_send_delayed_ack): the ATO, and above the minimum at most the
   * smoothed RTT (not under the minimum) and 200 ms when pushed or interactive, else 500 ms; never
   * more than 200 ms (icsk_delack_max).
   */
  delay(srtt: number, atoMin: number): number {
    let ato = this.ato;
    if (ato > atoMin) {
      let maxAto = this.interactive || this.pushed ? DELACK_MAX : ATO_CEILING;
      if (srtt > 0) maxAto = Math.min(maxAto, Math.max(srtt, atoMin));
      ato = Math.min(ato, maxAto);
    }
    return Math.min(ato, DELACK_MAX);
  }
}
