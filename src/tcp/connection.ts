// One TCP connection as a sans-IO state machine: the transmission control block (RFC 9293 3.3.1),
// the user calls (3.10.1-3.10.6), timeouts as deadlines (3.10.8), and poll() for what to send.
// Segment arrival lives in input.ts and segment output in output.ts; both operate on this class.

import { TcpFlag, type TcpOptions, type TcpRepr } from '../wire/tcp.js';
import { add, sub, lt, gt, ge } from '../wire/seq.js';
import type { TraceEvent } from '../trace/events.js';
import type { TcpStateName } from './state.js';
import { isTransition } from './state.js';
import { resolveConfig, isResolvedConfig, copyConfig, scaleFor, type TcpConfig, type TcpConfigInput } from './config.js';
import { RingBuffer } from './ring-buffer.js';
import { Assembler } from './assembler.js';
import { SackScoreboard } from './scoreboard.js';
import type { Rack } from './rack.js';
import type { Prr } from './prr.js';
import { RttEstimator } from './rtt.js';
import type { CongestionControl } from './congestion/cc.js';
import { createCongestion } from './congestion/index.js';
import { segmentArrives } from './input.js';
import { dispatch, sendRst } from './output.js';
import { onTimers } from './timers.js';
import { tcpInfo, type TcpInfo } from './info.js';
import { newCounters, type TcpCounters } from './counters.js';
import { ReplyLimits } from './reply-limits.js';

export type TcpErrorCode =
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'EPIPE'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'ENOTCONN';

export interface TcpHooks {
  onState?(from: TcpStateName, to: TcpStateName, cause: string): void;
  /** New in-order data, or the peer's FIN, can be read. */
  onReadable?(): void;
  /** Send-buffer space was freed. */
  onWritable?(): void;
  onConnected?(): void;
  onError?(code: TcpErrorCode, message: string): void;
  /** The connection reached CLOSED (or a passive one went back to LISTEN): the owner forgets it. */
  onClosed?(): void;
  /** A user call created output: the owner should call poll() soon. */
  onPollNeeded?(): void;
  /** Only set when someone listens: drops, timers, retransmissions, congestion changes. */
  onTrace?(e: TraceEvent): void;
}

export interface OpenParams {
  localPort: number;
  remotePort: number;
  /** Initial send sequence number (RFC 9293 3.4.1); the stack derives it from isn.ts. */
  iss: number;
  now: number;
  config?: TcpConfig | TcpConfigInput;
  hooks?: TcpHooks;
  /** Offset added to our timestamp clock (RFC 7323 section 5.4 recommends a random one). */
  tsOffset?: number;
}

/** The peer's SYN as a validated SYN cookie recalls it (src/tcp/syncookie.ts). */
export interface CookieSyn {
  /** The peer's MSS, rounded down to the cookie table. */
  mss: number;
  /** The peer's window scale shift, when it offered one and timestamps carried it back. */
  wscale?: number | undefined;
  sackOk: boolean;
  /** The peer's TSval (from the ACK) when timestamps are in use, else undefined. */
  tsVal?: number | undefined;
}

/** An Error carrying a Node-style `code`. */
export function tcpError(code: TcpErrorCode, message: string): Error & { code: TcpErrorCode } {
  const e = new Error(message) as Error & { code: TcpErrorCode };
  e.code = code;
  return e;
}

/** Thirty-two bit "infinity" for deadlines that are off. */
const OFF = Infinity;
/** Deadlines (ms, Infinity = off) kept out of the TCB until one is first armed (see TcpConnection). */
interface LaterDeadlines {
  persistAt: number;
  keepaliveAt: number;
  timeWaitAt: number;
  finWait2At: number;
  rackAt: number;
  tlpAt: number;
}

export class TcpConnection {
  hooks: TcpHooks;
  /** Settings; may be shared with other connections (frozen): change them through ownConfig(). */
  config: TcpConfig;
  readonly tuple: { readonly localPort: number; readonly remotePort: number };
  /** Passive opens go back to LISTEN on a RST in SYN-RECEIVED (RFC 9293 3.10.7.4). */
  passive: boolean;

  // --- RFC 9293 3.3.1 transmission control block -------------------------------------------
  state: TcpStateName = 'CLOSED';
  iss: number;
  irs = 0;
  sndUna: number;
  /**
   * SND.NXT (RFC 9293 3.3.1): the next new sequence number to send, one past the highest sent.
   * It never moves backwards; going back after a timeout uses rtxNxt instead.
   */
  sndNxt: number;
  /**
   * Go-back retransmission pointer, -1 unless going back: after a retransmission timeout
   * (RFC 6298 5.4, retransmit from SND.UNA) or a SYN to resend, the next sequence number
   * dispatch() sends again; always in [SND.UNA, SND.NXT) while set, cleared on reaching SND.NXT.
   */
  rtxNxt = -1;
  /** Send window in bytes (already scaled). */
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Largest window the peer ever offered (RFC 5961 MAX.SND.WND; SWS avoidance). */
  maxSndWnd = 0;
  rcvNxt = 0;
  /** Right edge of the window we last advertised (never moves left: RFC 9293 3.8.6). */
  rcvAdv = 0;
  /** Urgent pointer received (RFC 6093: urgent data stays inline). */
  rcvUp = 0;
  sndWscale = 0;
  rcvWscale = 0;
  /** Largest payload we put in one segment (peer MSS, our MSS, minus timestamp option). */
  sndMss: number;
  /** MSS the peer announced (536 when absent, RFC 9293 3.7.1). */
  peerMss = 536;
  sackOk = false;
  tsOk = false;
  tsRecent = 0;
  tsRecentAt = 0;
  tsOffset: number;
  lastAckSent = 0;

  // --- buffers --------------------------------------------------------------------------------
  readonly sendBuf: RingBuffer;
  /** Sequence number of sendBuf's first byte. */
  sndBufSeq: number;
  readonly recvBuf: RingBuffer;
  #assembler: Assembler | null = null;
  #scoreboard: SackScoreboard | null = null;
  /** Sequence number of a FIN that arrived ahead of missing data, or -1. */
  pendingFin = -1;

  // --- close bookkeeping ----------------------------------------------------------------------
  /** CLOSE was called: a FIN follows the queued data. */
  finQueued = false;
  /** Sequence number our FIN occupies (valid once finQueued). */
  finSeq = 0;
  /** The peer's FIN was received (in order). */
  finReceived = false;
  /** The application will not read any more (destroy): FIN-WAIT-2 may time out, data gets RST. */
  released = false;

  // --- output requests ------------------------------------------------------------------------
  ackNow = false;
  /** Full-sized segments received since our last ACK (RFC 5681 4.2: ACK at least every second). */
  unackedSegs = 0;
  rstPending = false;
  /** A reset <SEQ=n><CTL=RST> owed for an unacceptable ACK (RFC 9293 3.10.7.3/4), or -1. */
  pendingResetSeq = -1;
  /** Go to CLOSED as soon as the pending reset has been sent (data for a released connection). */
  closeAfterReset = false;
  /** One segment to retransmit at this sequence number at the next poll (fast retransmit), or -1. */
  pendingRetransmit = -1;
  /** The persist timer fired with an open but small window: send despite Nagle/SWS once. */
  forceSend = false;
  /** The probe timeout fired: send a Tail Loss Probe at the next poll (RFC 8985 7.3). */
  tlpProbe = false;
  /** A duplicate segment to report first in the next ACK's SACK option (D-SACK, RFC 2883), or null. */
  dsack: { left: number; right: number } | null = null;
  /** The peer's SYN carried a window scale option. */
  peerOfferedWscale = false;

  // --- deadlines (ms; Infinity = off) ------------------------------------------------------
  rtoAt = OFF;
  delackAt = OFF;
  /** When the oldest unacknowledged data was first sent (user timeout, RFC 9293 3.10.8). */
  firstUnackedAt = OFF;
  /**
   * The deadlines an idle established connection never has armed (persist, keepalive, TIME-WAIT,
   * FIN-WAIT-2, RACK reordering, TLP), created when one is first set to a time: each deadline
   * field costs a boxed double per connection in V8, set or not. Read and written through the
   * accessors below, Infinity while absent.
   */
  #later: LaterDeadlines | null = null;
  get persistAt(): number {
    return this.#later === null ? OFF : this.#later.persistAt;
  }
  set persistAt(t: number) {
    if (this.#later !== null) this.#later.persistAt = t;
    else if (t !== OFF) this.#laterDeadlines().persistAt = t;
  }
  get keepaliveAt(): number {
    return this.#later === null ? OFF : this.#later.keepaliveAt;
  }
  set keepaliveAt(t: number) {
    if (this.#later !== null) this.#later.keepaliveAt = t;
    else if (t !== OFF) this.#laterDeadlines().keepaliveAt = t;
  }
  get timeWaitAt(): number {
    return this.#later === null ? OFF : this.#later.timeWaitAt;
  }
  set timeWaitAt(t: number) {
    if (this.#later !== null) this.#later.timeWaitAt = t;
    else if (t !== OFF) this.#laterDeadlines().timeWaitAt = t;
  }
  get finWait2At(): number {
    return this.#later === null ? OFF : this.#later.finWait2At;
  }
  set finWait2At(t: number) {
    if (this.#later !== null) this.#later.finWait2At = t;
    else if (t !== OFF) this.#laterDeadlines().finWait2At = t;
  }
  /** RACK reordering timer (RFC 8985 6.2 step 5); the RTO stays armed beside it. */
  get rackAt(): number {
    return this.#later === null ? OFF : this.#later.rackAt;
  }
  set rackAt(t: number) {
    if (this.#later !== null) this.#later.rackAt = t;
    else if (t !== OFF) this.#laterDeadlines().rackAt = t;
  }
  /** TLP probe timeout (RFC 8985 7.2); the RTO stays armed beside it. */
  get tlpAt(): number {
    return this.#later === null ? OFF : this.#later.tlpAt;
  }
  set tlpAt(t: number) {
    if (this.#later !== null) this.#later.tlpAt = t;
    else if (t !== OFF) this.#laterDeadlines().tlpAt = t;
  }
  #laterDeadlines(): LaterDeadlines {
    return (this.#later = { persistAt: OFF, keepaliveAt: OFF, timeWaitAt: OFF, finWait2At: OFF, rackAt: OFF, tlpAt: OFF });
  }

  // --- retransmission and recovery -----------------------------------------------------------
  readonly rtt: RttEstimator;
  cc: CongestionControl | null = null;
  retransmits = 0;
  persistBackoff = 0;
  keepaliveProbes = 0;
  dupAcks = 0;
  inRecovery = false;
  /** Proportional Rate Reduction (RFC 6937) in SACK-based fast recovery; null outside it. */
  prr: Prr | null = null;
  /** RFC 6582 "recover": the highest sequence number sent when recovery began. */
  recover: number;
  /** NewReno fast-recovery inflation (bytes added to cwnd by duplicate ACKs). */
  inflation = 0;
  /** RFC 6675 HighRxt + 1: the end of what we retransmitted in this recovery. */
  rxtEnd: number;
  /** RACK-TLP state (RFC 8985), created when first needed on a SACK connection with `rack`. */
  rack: Rack | null = null;
  /** Sequence number being timed for an RTT sample (no timestamps; Karn's rule), or -1. */
  rttSeq = -1;
  rttStart = 0;
  /** Last time anything arrived from the peer (keepalive). */
  lastRecvAt: number;
  lastSendAt: number;
  /** Rate limits for challenge ACKs and out-of-window ACKs, created the first time one is asked for. */
  #limits: ReplyLimits | null = null;
  /** A soft ICMP error, reported if the connection later times out (RFC 1122 4.2.3.9). */
  softError: TcpErrorCode | null = null;

  // --- statistics (tcp_info) -------------------------------------------------------------------
  /** Segments sent and received (every connection has some: kept in the TCB). */
  segsOut = 0;
  segsIn = 0;
  #counters: TcpCounters | null = null;
  /** The other tcp_info counters, created on first use: a connection that has only done its handshake has none. */
  get counters(): TcpCounters {
    return (this.#counters ??= newCounters());
  }
  /** The counters if any were created, else null (reading them without creating them). */
  get countersIfAny(): Readonly<TcpCounters> | null {
    return this.#counters;
  }
  readonly openedAt: number;

  private constructor(p: OpenParams, passive: boolean) {
    this.config = isResolvedConfig(p.config) ? p.config : resolveConfig(p.config);
    this.hooks = p.hooks ?? {};
    this.tuple = { localPort: p.localPort, remotePort: p.remotePort };
    this.passive = passive;
    this.iss = p.iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.recover = this.iss;
    this.rxtEnd = this.iss;
    this.sndBufSeq = add(this.iss, 1);
    this.sndMss = Math.min(this.config.mss, this.peerMss);
    this.sendBuf = new RingBuffer(this.config.sendBufferSize);
    this.recvBuf = new RingBuffer(this.config.recvBufferSize);
    this.rtt = new RttEstimator({
      initialRto: this.config.initialRto,
      minRto: this.config.minRto,
      maxRto: this.config.maxRto,
      linux: this.config.rtoRule === 'linux',
    });
    this.tsOffset = (p.tsOffset ?? 0) >>> 0;
    this.rcvWscale = this.config.windowScale
      ? this.config.windowScaleShift >= 0
        ? this.config.windowScaleShift
        : scaleFor(this.config.recvBufferSize)
      : 0;
    this.openedAt = p.now;
    this.lastRecvAt = p.now;
    this.lastSendAt = p.now;
  }

  /** Active OPEN (RFC 9293 3.10.1): CLOSED -> SYN-SENT; the SYN leaves at the next poll(). */
  static connect(p: OpenParams): TcpConnection {
    const c = new TcpConnection(p, false);
    c.setState('SYN-SENT', 'active OPEN');
    return c;
  }

  /**
   * A SYN arrived at a listener (RFC 9293 3.10.7.2): a new connection in SYN-RECEIVED that
   * answers with SYN,ACK at the next poll(). The caller has checked the SYN (no RST, no ACK).
   */
  static accept(syn: TcpRepr, p: OpenParams): TcpConnection {
    const c = new TcpConnection(p, true);
    c.state = 'LISTEN'; // the stack's listener is the LISTEN TCB; this one is born from it
    c.acceptSyn(syn, p.now);
    return c;
  }

  /**
   * Passive OPEN of a single TCB (RFC 9293 3.10.1): CLOSED -> LISTEN; the first SYN from the
   * remote port moves it to SYN-RECEIVED, SEND makes it active (3.10.2), CLOSE ends it (3.10.4).
   * Stacks with many peers per port use a listener and accept() instead.
   */
  static listen(p: OpenParams): TcpConnection {
    const c = new TcpConnection(p, true);
    c.setState('LISTEN', 'passive OPEN');
    return c;
  }

  /**
   * A listener's SYN cookie came back valid (RFC 4987 section 3.6): rebuild the TCB as it stood
   * after our SYN,ACK (SYN-RECEIVED, SND.NXT = ISS + 1, the options the cookie carried, the window
   * the SYN,ACK advertised). The caller then hands `ack` to handleSegment(), which completes the
   * handshake as RFC 9293 3.10.7.4 says (ESTABLISHED, SND.WND from the ACK) and takes any data on it.
   * `p.iss` is the cookie (ACK - 1), `p.tsOffset` the one the SYN,ACK's TSval used.
   */
  static fromCookie(ack: TcpRepr, cookie: CookieSyn, p: OpenParams): TcpConnection {
    const c = new TcpConnection(p, true);
    c.state = 'LISTEN';
    const options: TcpOptions = { mss: cookie.mss };
    if (cookie.wscale !== undefined) options.wscale = cookie.wscale;
    if (cookie.sackOk) options.sackPermitted = true;
    if (cookie.tsVal !== undefined) options.timestamp = { val: cookie.tsVal, ecr: 0 };
    const syn: TcpRepr = {
      srcPort: ack.srcPort,
      dstPort: ack.dstPort,
      seq: sub(ack.seq, 1),
      ack: 0,
      flags: TcpFlag.SYN,
      window: ack.window,
      urgent: 0,
      options,
      payload: new Uint8Array(0),
    };
    c.acceptSyn(syn, p.now, 'rcv ACK with valid SYN cookie');
    // What sending the SYN,ACK did (output.ts sendSyn), minus its retransmission timer.
    const window = Math.min(c.recvBuf.capacity, 0xffff);
    c.rcvAdv = add(c.rcvNxt, window);
    c.lastAckSent = c.rcvNxt;
    c.sndNxt = add(c.iss, 1);
    c.segsOut++;
    return c;
  }

  /** LISTEN, third check (RFC 9293 3.10.7.2): take the peer's SYN and answer SYN,ACK at the next poll(). */
  acceptSyn(syn: TcpRepr, now: number, cause = 'rcv SYN'): void {
    this.irs = syn.seq;
    this.rcvNxt = add(syn.seq, 1);
    this.rcvAdv = this.rcvNxt;
    this.negotiate(syn, now);
    this.sndWnd = syn.window; // never scaled in a SYN (RFC 7323 2.2)
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = syn.seq;
    this.sndWl2 = this.iss;
    this.setState('SYN-RECEIVED', cause);
  }

  // --- user calls (RFC 9293 3.10) -------------------------------------------------------------

  /** SEND: queue bytes; returns how many fit in the send buffer (0 when full). */
  send(data: Uint8Array): number {
    switch (this.state) {
      case 'CLOSED':
        throw tcpError('ENOTCONN', 'connection does not exist');
      case 'LISTEN':
        // RFC 9293 3.10.2: the foreign socket is known, so turn active: SYN-SENT, SYN at next poll().
        this.passive = false;
        this.setState('SYN-SENT', 'SEND');
        break;
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        if (this.finQueued) throw tcpError('EPIPE', 'connection closing: this side already sent FIN');
        break;
      default:
        throw tcpError('EPIPE', 'connection closing: this side already sent FIN');
    }
    if (data.length === 0) return 0;
    const n = this.sendBuf.write(data);
    if (n > 0) this.hooks.onPollNeeded?.();
    return n;
  }

  /** RECEIVE: up to `max` in-order bytes, or null when none are buffered now. */
  recv(max = Infinity): Uint8Array | null {
    const before = this.recvBuf.length;
    if (before === 0) return null;
    const out = this.recvBuf.read(Math.min(max, before));
    if (out !== null) this.afterRead();
    return out;
  }

  /** Copy in-order bytes into `dst` without an intermediate allocation; returns the count. */
  recvInto(dst: Uint8Array): number {
    const n = this.recvBuf.readInto(dst);
    if (n > 0) this.afterRead();
    return n;
  }

  /** Bytes the application may read now. */
  get recvAvailable(): number {
    return this.recvBuf.length;
  }

  /** Free space in the send buffer. */
  get sendFree(): number {
    return this.sendBuf.free;
  }

  /** Bytes queued but not yet acknowledged. */
  get sendQueued(): number {
    return this.sendBuf.length;
  }

  /** The peer sent FIN and every byte before it has been read. */
  get peerFinished(): boolean {
    return this.finReceived && this.recvBuf.length === 0;
  }

  /**
   * CLOSE (RFC 9293 3.10.4): no more sends; a FIN follows the queued data. Receiving goes on.
   * `_now` is accepted for symmetry with the other calls; closing needs no time.
   */
  close(_now?: number): void {
    switch (this.state) {
      case 'CLOSED':
        return;
      case 'LISTEN':
        this.toClosed('CLOSE'); // RFC 9293 3.10.4: LISTEN -> CLOSED
        return;
      case 'SYN-SENT':
        // Nothing was said to the peer that needs a FIN.
        this.finQueued = true;
        this.toClosed('CLOSE');
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        if (this.finQueued) return;
        this.finQueued = true;
        this.finSeq = add(this.sndBufSeq, this.sendBuf.length);
        if (this.state === 'ESTABLISHED') this.setState('FIN-WAIT-1', 'CLOSE');
        else if (this.state === 'CLOSE-WAIT') this.setState('LAST-ACK', 'CLOSE');
        // SYN-RECEIVED (RFC 9293 3.10.4): with nothing queued, FIN now and FIN-WAIT-1 (the SYN,ACK
        // is resent with it until acknowledged); with data queued, the FIN waits for ESTABLISHED.
        else if (this.sendBuf.length === 0) this.setState('FIN-WAIT-1', 'CLOSE');
        this.hooks.onPollNeeded?.();
        return;
      default:
        return; // already closing
    }
  }

  /**
   * The application is gone (closed and will not read): data that still arrives is answered with
   * RST, and FIN-WAIT-2 ends after finWait2Timeout (Linux's orphan handling).
   */
  release(now: number): void {
    this.released = true;
    if (this.state === 'FIN-WAIT-2' && this.config.finWait2Timeout > 0) {
      this.finWait2At = now + this.config.finWait2Timeout;
    }
    this.recvBuf.clear();
  }

  /** ABORT (RFC 9293 3.10.5): send RST if synchronized, drop everything, go to CLOSED. */
  abort(): void {
    switch (this.state) {
      case 'CLOSED':
        return;
      case 'LISTEN':
      case 'SYN-SENT':
      case 'TIME-WAIT':
        this.toClosed('ABORT');
        return;
      default:
        this.rstPending = true;
        this.hooks.onPollNeeded?.();
        return;
    }
  }

  /** This connection's settings, ready to change: a shared (frozen) config is copied first. */
  ownConfig(): TcpConfig {
    if (Object.isFrozen(this.config)) this.config = copyConfig(this.config);
    return this.config;
  }

  /** STATUS (RFC 9293 3.10.6), in the spirit of Linux's tcp_info. */
  stats(now?: number): TcpInfo {
    return tcpInfo(this, now);
  }

  // --- sans-IO driving --------------------------------------------------------------------------

  /** SEGMENT ARRIVES (RFC 9293 3.10.7). Never throws on hostile input. */
  handleSegment(seg: TcpRepr, now: number): void {
    if (this.state === 'CLOSED') return;
    this.segsIn++;
    this.lastRecvAt = now;
    segmentArrives(this, seg, now);
  }

  /** Fire due timers and emit every segment that should leave now. */
  poll(now: number, emit: (seg: TcpRepr) => void): void {
    if (this.state === 'CLOSED') return;
    if (this.rstPending) {
      this.rstPending = false;
      sendRst(this, now, emit);
      this.toClosed('ABORT');
      return;
    }
    if (now >= this.nextTimer()) onTimers(this, now, emit);
    if ((this.state as TcpStateName) === 'CLOSED') return;
    dispatch(this, now, emit);
  }

  /** Earliest deadline (ms), Infinity when nothing is scheduled; now-ish when output is pending. */
  pollAt(): number {
    if (this.state === 'CLOSED') return OFF;
    return this.nextTimer();
  }

  nextTimer(): number {
    const t = Math.min(this.rtoAt, this.delackAt, this.userTimeoutAt);
    const l = this.#later;
    if (l === null) return t;
    return Math.min(t, l.rackAt, l.tlpAt, l.persistAt, l.keepaliveAt, l.timeWaitAt, l.finWait2At);
  }

  /** When unacknowledged data exceeds the user timeout (RFC 9293 3.10.8), or Infinity. */
  get userTimeoutAt(): number {
    const ut = this.config.userTimeout;
    return ut > 0 && this.firstUnackedAt !== OFF && this.sndUna !== this.sndNxt ? this.firstUnackedAt + ut : OFF;
  }

  /** An ICMP error about this connection (RFC 1122 4.2.3.9, RFC 5461). */
  handleIcmpError(kind: 'hard' | 'soft', code: TcpErrorCode, now: number): void {
    void now;
    if (kind === 'hard' && (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED')) {
      this.fail(code, `connect failed: ${code}`);
      return;
    }
    this.softError = code;
  }

  /** Path MTU lowered (packet too big): shrink our segments. */
  setMss(mss: number): void {
    const m = Math.max(64, Math.min(mss, this.config.mss, this.peerMss)) - (this.tsOk ? 12 : 0);
    if (m < this.sndMss) {
      this.sndMss = m;
      this.cc?.setMss(m);
    }
  }

  /** In TIME-WAIT, may a new SYN reuse this 4-tuple (RFC 9293 3.10.7.4, RFC 6191 idea)? */
  canReopen(syn: TcpRepr): boolean {
    if (this.state !== 'TIME-WAIT') return false;
    if (gt(syn.seq, this.rcvNxt)) return true;
    const ts = syn.options.timestamp;
    return this.tsOk && ts !== undefined && gt(ts.val, this.tsRecent);
  }

  // --- internals shared with input.ts / output.ts / timers.ts -------------------------------

  get assembler(): Assembler {
    return (this.#assembler ??= new Assembler(this.config.maxOutOfOrderRanges + 1));
  }
  get hasOutOfOrder(): boolean {
    return this.#assembler !== null && !this.#assembler.isEmpty;
  }
  get scoreboard(): SackScoreboard {
    return (this.#scoreboard ??= new SackScoreboard());
  }
  get hasSacks(): boolean {
    return this.#scoreboard !== null && !this.#scoreboard.isEmpty;
  }

  /** Record the peer's SYN options and settle MSS, window scale, SACK and timestamps (RFC 9293 3.7.1, RFC 7323, RFC 2018). */
  negotiate(syn: TcpRepr, now: number): void {
    const o = syn.options;
    this.peerMss = o.mss !== undefined && o.mss > 0 ? o.mss : 536;
    this.peerOfferedWscale = o.wscale !== undefined;
    if (this.config.windowScale && o.wscale !== undefined) {
      this.sndWscale = Math.min(o.wscale, 14); // RFC 7323 2.3: larger values are used as 14
    } else {
      this.sndWscale = 0;
      this.rcvWscale = 0;
    }
    this.sackOk = this.config.sack && o.sackPermitted === true;
    if (this.config.timestamps && o.timestamp !== undefined) {
      this.tsOk = true;
      this.tsRecent = o.timestamp.val;
      this.tsRecentAt = now;
    } else {
      this.tsOk = false;
    }
    this.sndMss = Math.max(1, Math.min(this.config.mss, this.peerMss) - (this.tsOk ? 12 : 0));
  }

  /** Our timestamp clock (1 ms granularity, RFC 7323 section 5.4). */
  tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  /** The single path for every state change: checks the table and tells the hooks. */
  setState(to: TcpStateName, cause: string): void {
    const from = this.state;
    if (from === to) return;
    if (!isTransition(from, to)) {
      throw new Error(`synack bug: ${from} -> ${to} (${cause}) is not in the transition table`);
    }
    this.state = to;
    this.hooks.onState?.(from, to, cause);
    if (to === 'ESTABLISHED') this.hooks.onConnected?.();
  }

  /** Enter CLOSED: stop every timer and free buffers. */
  toClosed(cause: string): void {
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN-RECEIVED' && this.passive && cause.startsWith('rcv RST')) {
      this.setState('LISTEN', cause);
    } else {
      this.setState('CLOSED', cause);
    }
    // A passive connection that went back to LISTEN is finished too: its listener lives in the stack.
    this.state = 'CLOSED';
    this.rtoAt = this.delackAt = this.persistAt = this.keepaliveAt = this.timeWaitAt = this.finWait2At = OFF;
    this.rackAt = this.tlpAt = OFF;
    this.rack = null;
    this.sendBuf.clear();
    this.sendBuf.release();
    this.recvBuf.discardUncommitted();
    this.recvBuf.release(); // keeps storage only while unread in-order data remains
    this.#assembler = null;
    this.#scoreboard = null;
    this.hooks.onClosed?.();
  }

  /** Fail with an error the application sees, then CLOSED. */
  fail(code: TcpErrorCode, message: string): void {
    const cause = code === 'ETIMEDOUT' ? 'timeout' : code === 'ECONNREFUSED' || code === 'ECONNRESET' ? 'rcv RST' : 'error';
    this.hooks.onError?.(code, message);
    this.toClosed(cause);
  }

  /** Enter TIME-WAIT (or restart its 2*MSL clock: RFC 9293 3.10.7.4 eighth). */
  enterTimeWait(now: number, cause: string): void {
    this.setState('TIME-WAIT', cause);
    this.rtoAt = this.persistAt = this.keepaliveAt = this.finWait2At = OFF;
    this.rackAt = this.tlpAt = OFF;
    this.rack = null;
    this.timeWaitAt = now + 2 * this.config.msl;
    this.sendBuf.release();
  }

  /** Bytes in flight for window purposes (RFC 5681 FlightSize; RFC 6675 pipe in SACK recovery). */
  flightSize(): number {
    // RACK's pipe in fast and in RTO recovery (RFC 8985 9.3): lost and SACKed ranges are not in flight.
    if (this.rack !== null && this.config.rack && this.sackOk && (this.inRecovery || lt(this.sndUna, this.recover))) {
      return this.rack.pipe();
    }
    if (this.inRecovery && this.sackOk) {
      return this.scoreboard.pipe(this.sndUna, this.sndNxt, this.rxtEnd, this.sndMss, this.config.dupThresh);
    }
    // After a timeout only what went out again since counts (up to the go-back pointer).
    let f = sub(this.sendPtr, this.sndUna);
    if (this.hasSacks) f -= Math.min(f, this.scoreboard.sackedBytes);
    return f;
  }

  /** Where the next segment dispatch() sends starts: rtxNxt while going back, else SND.NXT. */
  get sendPtr(): number {
    return this.rtxNxt === -1 ? this.sndNxt : this.rtxNxt;
  }

  /** @deprecated The same as sndNxt (highest sent plus one); an alias for fuzz/ and scripts that name it. */
  get sndMax(): number {
    return this.sndNxt;
  }

  /** Go back to resend from `seq` (a timeout, a SYN again): dispatch() sends from there. */
  goBack(seq: number): void {
    this.rtxNxt = seq === this.sndNxt ? -1 : seq;
  }

  /** The send pointer moves to `seq` (sent up to there); SND.NXT only ever moves forward. */
  advanceSendPtr(seq: number): void {
    if (this.rtxNxt !== -1 && lt(seq, this.sndNxt)) this.rtxNxt = seq;
    else {
      if (gt(seq, this.sndNxt)) this.sndNxt = seq;
      this.rtxNxt = -1;
    }
  }

  /** Sequence number one past the last byte the application queued (before any FIN). */
  get sndBufEnd(): number {
    return add(this.sndBufSeq, this.sendBuf.length);
  }

  /** Whether our FIN has been acknowledged. */
  get finAcked(): boolean {
    return this.finQueued && ge(this.sndUna, add(this.finSeq, 1)) && this.sndNxt !== this.iss;
  }

  /** The application read: maybe reopen the window (receiver SWS avoidance, RFC 9293 3.8.6.2.2). */
  private afterRead(): void {
    const cur = sub(this.rcvAdv, this.rcvNxt);
    const free = Math.min(this.recvBuf.free, 0xffff << this.rcvWscale); // what the window field can say
    const thresh = Math.min(this.recvBuf.capacity >>> 1, this.config.mss);
    if (free - cur >= thresh && free >= 2 * cur) {
      this.ackNow = true;
      this.hooks.onPollNeeded?.();
    }
    if (this.recvBuf.length === 0 && !this.hasOutOfOrder) this.recvBuf.release();
  }

  /** May we ACK an out-of-window segment without text now? (input.ts answers data and zero-window probes always.) */
  allowOutOfWindowAck(now: number): boolean {
    if ((this.#limits ??= new ReplyLimits()).allowOutOfWindowAck(now)) return true;
    this.counters.oowAcksSkipped++;
    return false;
  }

  /** May a challenge ACK go out now, within challengeAckLimit per second (RFC 5961 section 7)? */
  allowChallengeAck(now: number): boolean {
    if (!(this.#limits ??= new ReplyLimits()).allowChallengeAck(now, this.config.challengeAckLimit)) return false;
    this.counters.challengeAcks++;
    return true;
  }

  /** Congestion controller, created once the MSS is known. */
  ensureCc(): CongestionControl {
    return (this.cc ??= createCongestion(this.config.congestion, this.sndMss));
  }

  trace(e: TraceEvent): void {
    this.hooks.onTrace?.(e);
  }
}

