// The transmission control block (RFC 9293 3.3.1) as typed records, each with one job: the send
// sequence space, the receive sequence space, congestion and loss recovery, the deadlines (one
// array indexed by timer kind, RFC 9293 3.10.8) and what the next poll owes the peer. Also the one
// home of the formulas every tcp/ file shares: the receive window, the effective send MSS, the
// receiver's small-window threshold, the SYN's window, the reordering degree, and the one path for
// state changes.
// Private to src/tcp: the application sees a TcpConnection (connection.ts) and its snapshots.

import type { TcpOptions, TcpRepr } from '../wire/tcp.js';
import { addInt, sub, lt, le, gt, ge } from '../wire/seq.js';
import type { TraceEvent } from '../trace/events.js';
import type { TcpStateName } from './state.js';
import { isTransition } from './state.js';
import type { RecvSpace } from './recv-buffer.js';
import { resolveConfig, isResolvedConfig, scaleFor, type TcpConfig, type TcpConfigInput } from './config.js';
import { RingBuffer } from './ring-buffer.js';
import { Assembler } from './assembler.js';
import { SackScoreboard } from './scoreboard.js';
import type { Rack } from './rack.js';
import type { LinuxDelack } from './delack.js';
import type { Prr } from './prr.js';
import { RttEstimator } from './rtt.js';
import type { CongestionControl } from './congestion/cc.js';
import { createCongestion } from './congestion/index.js';
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
  /** Only set when someone listens: drops, timers, retransmissions, congestion changes (a getter may answer undefined). */
  onTrace?: ((e: TraceEvent) => void) | undefined;
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

/** Deadlines that are off. */
export const OFF = Infinity;

/**
 * "No sequence number" in a field that may hold one (the go-back pointer, the segment timed for
 * RTT, a pending FIN, a reset or retransmission owed). Not a number: every int32 is some sequence
 * number in the core's form (-1 is 2^32 - 1), and a number outside the int32 range would make the
 * field a double, a 16-byte box per connection; null beside small integers costs nothing.
 */
export const NO_SEQ = null;
/** A sequence number in the core's form, or NO_SEQ. */
export type MaybeSeq = number | typeof NO_SEQ;

/**
 * The connection's timers (RFC 9293 3.10.8, RFC 6298, RFC 1122 4.2.3.6, RFC 8985 6.2 and 7.2), as
 * indices into the TCB's deadline array. The user timeout is not here: it is derived from when the oldest
 * unacknowledged data was sent (Tcb.userTimeoutAt).
 */
export const Timer = {
  Rto: 0,
  DelayedAck: 1,
  Persist: 2,
  Keepalive: 3,
  TimeWait: 4,
  FinWait2: 5,
  /** RACK reordering timer (RFC 8985 6.2 step 5); the RTO stays armed beside it. */
  Rack: 6,
  /** TLP probe timeout (RFC 8985 7.2); the RTO stays armed beside it. */
  Tlp: 7,
} as const;
export type TimerKind = (typeof Timer)[keyof typeof Timer];
export const TIMER_NAMES = ['rto', 'delayedAck', 'persist', 'keepalive', 'timeWait', 'finWait2', 'rack', 'tlp'] as const;

/** The deadlines as data (the Tcb holds them): what a function that only arms timers takes. */
export interface Deadlines {
  deadline(k: TimerKind): number;
  arm(k: TimerKind, at: number): void;
  disarm(k: TimerKind): void;
}

/** The send sequence space (RFC 9293 3.3.1 Figure 4) and what the peer allows us to send. */
export class SendSeq {
  // Sequence numbers are int32 (wire/seq.ts: the TCP core's form), stored and read back as such:
  // an int32 is a small integer to V8, held in the field itself, where a uint32 above 2^31 would
  // make every connection's field a separate 16-byte box, and one more each time it is returned
  // from or passed to a function V8 does not inline (docs/performance.md). The setters take
  // either form. info.ts's snapshot gives them back unsigned.
  #iss: number;
  #una: number;
  #nxt: number;
  #wl1 = 0;
  #wl2 = 0;
  #bufSeq: number;
  #finSeq = 0;
  /** ISS. */
  get iss(): number {
    return this.#iss;
  }
  set iss(v: number) {
    this.#iss = v | 0;
  }
  /** SND.UNA. */
  get una(): number {
    return this.#una;
  }
  set una(v: number) {
    this.#una = v | 0;
  }
  /**
   * SND.NXT: the next new sequence number to send, one past the highest sent. It never moves
   * backwards; going back after a timeout uses rtxNxt instead.
   */
  get nxt(): number {
    return this.#nxt;
  }
  set nxt(v: number) {
    this.#nxt = v | 0;
  }
  /**
   * Go-back retransmission pointer, NO_SEQ unless going back: after a retransmission timeout
   * (RFC 6298 5.4, retransmit from SND.UNA) or a SYN to resend, the next sequence number
   * dispatch() sends again; always in [SND.UNA, SND.NXT) while set, cleared on reaching SND.NXT.
   */
  rtxNxt: MaybeSeq = NO_SEQ;
  /** SND.WND in bytes (already scaled). */
  wnd = 0;
  /** SND.WL1, SND.WL2. */
  get wl1(): number {
    return this.#wl1;
  }
  set wl1(v: number) {
    this.#wl1 = v | 0;
  }
  get wl2(): number {
    return this.#wl2;
  }
  set wl2(v: number) {
    this.#wl2 = v | 0;
  }
  /** Largest window the peer ever offered (RFC 5961 MAX.SND.WND; SWS avoidance). */
  maxWnd = 0;
  /** Shift applied to the peer's window field (RFC 7323). */
  wscale = 0;

  /**
   * The send window update of RFC 9293 3.10.7.4 (fifth, ESTABLISHED): take SND.WND from a segment
   * newer than the last update (SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK),
   * scaled by the peer's shift, and remember it in SND.WL1/SND.WL2 and MAX.SND.WND. True when taken.
   */
  takeWindow(seq: number, ack: number, field: number): boolean {
    const wl1 = this.wl1;
    if (!(lt(wl1, seq) || (wl1 === seq && le(this.wl2, ack)))) return false;
    const wnd = field << this.wscale;
    this.wnd = wnd;
    this.wl1 = seq;
    this.wl2 = ack;
    if (wnd > this.maxWnd) this.maxWnd = wnd;
    return true;
  }
  /** The effective send MSS (Tcb.effectiveMss is its one formula). */
  mss: number;
  /** MSS the peer announced (536 when absent, RFC 9293 3.7.1). */
  peerMss = 536;
  /** The peer's SYN carried a window scale option (our SYN,ACK answers with ours only then). */
  peerOfferedWscale = false;
  /** Sequence number of the send buffer's first byte. */
  get bufSeq(): number {
    return this.#bufSeq;
  }
  set bufSeq(v: number) {
    this.#bufSeq = v | 0;
  }
  /** CLOSE was called: a FIN follows the queued data, at finSeq. */
  finQueued = false;
  get finSeq(): number {
    return this.#finSeq;
  }
  set finSeq(v: number) {
    this.#finSeq = v | 0;
  }

  constructor(iss: number, mss: number) {
    this.#iss = iss | 0;
    this.#una = iss | 0;
    this.#nxt = iss | 0;
    this.mss = mss;
    this.#bufSeq = addInt(iss, 1);
  }
}

/** The receive sequence space (RFC 9293 3.3.1 Figure 5) and what we learned from the peer's segments. */
export class RecvSeq {
  // Sequence numbers and TS.Recent as int32: see SendSeq.
  #irs = 0;
  #nxt = 0;
  #adv = 0;
  #up = 0;
  #lastAckSent = 0;
  #tsRecent = 0;
  /** IRS. */
  get irs(): number {
    return this.#irs;
  }
  set irs(v: number) {
    this.#irs = v | 0;
  }
  /** RCV.NXT. */
  get nxt(): number {
    return this.#nxt;
  }
  set nxt(v: number) {
    this.#nxt = v | 0;
  }
  /** Right edge of the window we last advertised (never moves left: RFC 9293 3.8.6). */
  get adv(): number {
    return this.#adv;
  }
  set adv(v: number) {
    this.#adv = v | 0;
  }
  /** Urgent pointer received (RFC 6093: urgent data stays inline). */
  get up(): number {
    return this.#up;
  }
  set up(v: number) {
    this.#up = v | 0;
  }
  /** Shift we apply to our window field (RFC 7323). */
  wscale: number;
  /** Sequence number of a FIN that arrived ahead of missing data, or NO_SEQ. */
  pendingFin: MaybeSeq = NO_SEQ;
  /** The peer's FIN was received (in order). */
  finReceived = false;
  /** Last.ACK.sent and TS.Recent (RFC 7323 4.3), and when TS.Recent was taken (5.5). */
  get lastAckSent(): number {
    return this.#lastAckSent;
  }
  set lastAckSent(v: number) {
    this.#lastAckSent = v | 0;
  }
  get tsRecent(): number {
    return this.#tsRecent;
  }
  set tsRecent(v: number) {
    this.#tsRecent = v | 0;
  }
  tsRecentAt = 0;

  constructor(wscale: number) {
    this.wscale = wscale;
  }
}

/** Retransmission, congestion control and loss recovery (RFC 6298, RFC 5681, RFC 6582, RFC 6675, RFC 8985). */
export class Recovery {
  /** Retransmission timeouts in a row (RFC 9293 3.8.3 R2), persist and keepalive probes. */
  retransmits = 0;
  persistBackoff = 0;
  keepaliveProbes = 0;
  dupAcks = 0;
  inRecovery = false;
  /** Proportional Rate Reduction (RFC 6937) in SACK-based fast recovery; null outside it. */
  prr: Prr | null = null;
  // recover and rxtEnd as int32: see SendSeq.
  #recover: number;
  #rxtEnd: number;
  /** RFC 6582 "recover": the highest sequence number sent when recovery began. */
  get recover(): number {
    return this.#recover;
  }
  set recover(v: number) {
    this.#recover = v | 0;
  }
  /** NewReno fast-recovery inflation (bytes added to cwnd by duplicate ACKs). */
  inflation = 0;
  /** RFC 6675 HighRxt + 1: the end of what we retransmitted in this recovery. */
  get rxtEnd(): number {
    return this.#rxtEnd;
  }
  set rxtEnd(v: number) {
    this.#rxtEnd = v | 0;
  }
  /**
   * Linux's cwnd validation (config cwndValidation, tcp_cwnd_validate): whether sending in the
   * current window was cwnd-limited, else the most bytes outstanding in it, and where the window
   * ends (SND.NXT when it began).
   */
  cwndLimited = false;
  maxOutstanding = 0;
  cwndUsageSeq = 0;
  /** Sequence number being timed for an RTT sample (no timestamps; Karn's rule), or NO_SEQ, and when it left. */
  rttSeq: MaybeSeq = NO_SEQ;
  rttStart = 0;
  /** Congestion controller, created once the MSS is known (Tcb.ensureCc). */
  cc: CongestionControl | null = null;
  /** RACK-TLP state (RFC 8985), created when first needed on a SACK connection with `rack` (loss.ts). */
  rack: Rack | null = null;

  constructor(iss: number) {
    this.#recover = iss | 0;
    this.#rxtEnd = iss | 0;
  }
}

/** What the next poll() owes the peer beyond new data: one record instead of loose flags. */
export class PendingOutput {
  // The five booleans share one small-integer field behind accessors: 8 bytes per connection
  // instead of 40 (docs/performance.md, heap per idle connection).
  #bits = 0;
  #get(bit: number): boolean {
    return (this.#bits & bit) !== 0;
  }
  #set(bit: number, on: boolean): void {
    this.#bits = on ? this.#bits | bit : this.#bits & ~bit;
  }
  /** Send an ACK now (not delayed). */
  get ack(): boolean {
    return this.#get(ACK_NOW);
  }
  set ack(on: boolean) {
    this.#set(ACK_NOW, on);
  }
  /** Full-sized segments received since our last ACK (RFC 5681 4.2: ACK at least every second). */
  unackedSegs = 0;
  /** Linux's delayed-ACK state (ackRule 'linux'), created with the first segment it decides on. */
  delack: LinuxDelack | null = null;
  /** ABORT: send <SEQ=SND.NXT><CTL=RST> and go to CLOSED (RFC 9293 3.10.5). */
  get rst(): boolean {
    return this.#get(RST_NOW);
  }
  set rst(on: boolean) {
    this.#set(RST_NOW, on);
  }
  /** A reset <SEQ=n><CTL=RST> owed for an unacceptable ACK (RFC 9293 3.10.7.3/4), or NO_SEQ. */
  resetSeq: MaybeSeq = NO_SEQ;
  /** Go to CLOSED as soon as that reset has been sent (data for a released connection). */
  get closeAfterReset(): boolean {
    return this.#get(CLOSE_AFTER_RESET);
  }
  set closeAfterReset(on: boolean) {
    this.#set(CLOSE_AFTER_RESET, on);
  }
  /** One segment to retransmit at this sequence number (fast retransmit), or NO_SEQ. */
  retransmit: MaybeSeq = NO_SEQ;
  /** The persist timer fired with an open but small window: send despite Nagle/SWS once. */
  get force(): boolean {
    return this.#get(FORCE);
  }
  set force(on: boolean) {
    this.#set(FORCE, on);
  }
  /** The probe timeout fired: send a Tail Loss Probe (RFC 8985 7.3). */
  get tlp(): boolean {
    return this.#get(TLP);
  }
  set tlp(on: boolean) {
    this.#set(TLP, on);
  }
  /** A duplicate segment to report first in the next ACK's SACK option (D-SACK, RFC 2883), or null. */
  dsack: { left: number; right: number } | null = null;
}

/** PendingOutput's flag bits. */
const ACK_NOW = 1;
const RST_NOW = 2;
const CLOSE_AFTER_RESET = 4;
const FORCE = 8;
const TLP = 16;

/** The TCP options' share of a segment when timestamps are on (RFC 7323: 10 bytes, padded to 12). */
const TS_OPTION_BYTES = 12;

/**
 * Deadline arrays given back by connections with nothing armed, for the next connection that arms
 * a timer (all entries OFF): shared, bounded, so a busy connection does not allocate one per
 * delayed ACK and an idle one still holds none.
 */
const spareTimers: number[][] = [];
const MAX_SPARE_TIMERS = 256;

/** The MSS a peer's SYN announced: 536 when absent (RFC 9293 3.7.1), or zero. */
export function announcedMss(o: TcpOptions): number {
  return o.mss !== undefined && o.mss > 0 ? o.mss : 536;
}

/** The shift a peer's SYN asked for: larger values than 14 are used as 14 (RFC 7323 2.3). */
export function peerWindowShift(wscale: number): number {
  return Math.min(wscale, 14);
}

/** A SYN's window field: never scaled (RFC 7323 2.2), so at most 65535 of the receive buffer. */
export function synWindow(recvBufferSize: number): number {
  return Math.min(recvBufferSize, 0xffff);
}

export class Tcb implements Deadlines {
  hooks: TcpHooks;
  /** Settings; may be shared with other connections (frozen): TcpConnection.ownConfig copies first. */
  config: TcpConfig;
  readonly localPort: number;
  readonly remotePort: number;
  /** Passive opens go back to LISTEN on a RST in SYN-RECEIVED (RFC 9293 3.10.7.4). */
  passive: boolean;
  /** Written only by setState and retire. */
  state: TcpStateName;
  readonly snd: SendSeq;
  readonly rcv: RecvSeq;
  readonly rec: Recovery;
  readonly out = new PendingOutput();
  /**
   * Deadlines in ms (OFF = not armed), indexed by Timer; null while none is armed, which is how an
   * idle connection spends most of its life (the array costs about 110 bytes).
   */
  #timers: number[] | null = null;
  readonly rtt: RttEstimator;

  sackOk = false;
  tsOk = false;
  /** Offset added to our timestamp clock, as int32 (see SendSeq). */
  #tsOffset: number;
  get tsOffset(): number {
    return this.#tsOffset;
  }

  readonly sendBuf: RingBuffer;
  readonly recvBuf: RingBuffer;
  /** Receive-buffer autotuning's measurements (recv-buffer.ts), made at the first in-order data. */
  drs: RecvSpace | null = null;
  #assembler: Assembler | null = null;
  #scoreboard: SackScoreboard | null = null;

  /** The application will not read any more (destroy): FIN-WAIT-2 may time out, data gets RST. */
  released = false;
  /** When the oldest unacknowledged data was first sent (user timeout, RFC 9293 3.10.8). */
  firstUnackedAt = OFF;
  /** Last time anything arrived from the peer (keepalive), and the last time we sent (restart after idle). */
  lastRecvAt: number;
  lastSendAt: number;
  /** Rate limits for challenge ACKs and out-of-window ACKs, created the first time one is asked for. */
  #limits: ReplyLimits | null = null;
  /** A soft ICMP error, reported if the connection later times out (RFC 1122 4.2.3.9). */
  softError: TcpErrorCode | null = null;

  /** Segments sent and received (every connection has some: kept in the TCB). */
  segsOut = 0;
  segsIn = 0;
  #counters: TcpCounters | null = null;
  readonly openedAt: number;

  constructor(p: OpenParams, passive: boolean, state: 'CLOSED' | 'LISTEN') {
    this.config = isResolvedConfig(p.config) ? p.config : resolveConfig(p.config);
    this.hooks = p.hooks ?? {};
    this.localPort = p.localPort;
    this.remotePort = p.remotePort;
    this.passive = passive;
    this.state = state;
    const iss = p.iss >>> 0;
    this.snd = new SendSeq(iss, 0);
    this.rcv = new RecvSeq(
      this.config.windowScale ? (this.config.windowScaleShift >= 0 ? this.config.windowScaleShift : scaleFor(this.config.recvBufferMax)) : 0,
    );
    this.rec = new Recovery(iss);
    this.snd.mss = this.effectiveMss(Infinity);
    this.sendBuf = new RingBuffer(this.config.sendBufferSize);
    this.recvBuf = new RingBuffer(this.config.recvBufferSize);
    this.rtt = new RttEstimator({
      initialRto: this.config.initialRto,
      minRto: this.config.minRto,
      maxRto: this.config.maxRto,
      linux: this.config.rtoRule === 'linux',
    });
    this.#tsOffset = (p.tsOffset ?? 0) | 0;
    this.openedAt = p.now;
    this.lastRecvAt = p.now;
    this.lastSendAt = p.now;
  }

  // --- the shared formulas --------------------------------------------------------------------

  /** RCV.WND: what is left of the window we advertised (RFC 9293 3.3.1), never below zero. */
  get rcvWnd(): number {
    return Math.max(0, sub(this.rcv.adv, this.rcv.nxt));
  }

  /**
   * The effective send MSS (RFC 9293 3.7.1, RFC 1122 4.2.2.6): the smallest of our MSS, the peer's
   * and the path's (`pathMss`), less the timestamp option that rides on every segment once agreed.
   */
  effectiveMss(pathMss: number): number {
    return Math.max(1, Math.min(pathMss, this.config.mss, this.snd.peerMss) - (this.tsOk ? TS_OPTION_BYTES : 0));
  }

  /**
   * The reordering degree in segments, as Linux's tp->reordering: dupThresh, raised to the farthest
   * reordering RACK has seen (tcpi_reordering; send-buffer autotuning's reordering + 1).
   */
  get reordering(): number {
    const rack = this.rec.rack;
    return rack === null ? this.config.dupThresh : Math.max(this.config.dupThresh, Math.ceil(rack.reorderDistance / Math.max(1, this.snd.mss)));
  }

  /** Receiver SWS avoidance (RFC 9293 3.8.6.2.2): open the window only by min(RCV.BUFF / 2, Eff.snd.MSS) or more. */
  get swsThreshold(): number {
    return Math.min(this.recvBuf.capacity >>> 1, this.snd.mss);
  }

  /**
   * Whether the window we could offer now is worth an update (receiver SWS avoidance, RFC 9293
   * 3.8.6.2.2): it opens by at least swsThreshold and to at least twice what is left of the last.
   */
  get windowUpdateDue(): boolean {
    const cur = this.rcvWnd;
    const free = Math.min(this.recvBuf.free, 0xffff << this.rcv.wscale); // what the window field can say
    return free - cur >= this.swsThreshold && free >= 2 * cur;
  }

  /** The window field of our SYN or SYN,ACK. */
  get synWindow(): number {
    return synWindow(this.recvBuf.capacity);
  }

  // --- timers ---------------------------------------------------------------------------------

  deadline(k: TimerKind): number {
    const t = this.#timers;
    return t === null ? OFF : t[k]!;
  }
  arm(k: TimerKind, at: number): void {
    if (this.#timers === null) {
      if (at === OFF) return;
      this.#timers = spareTimers.pop() ?? [OFF, OFF, OFF, OFF, OFF, OFF, OFF, OFF];
    }
    this.#timers[k] = at;
  }
  disarm(k: TimerKind): void {
    if (this.#timers !== null) this.#timers[k] = OFF;
  }
  /** Every deadline off. */
  disarmAll(): void {
    this.#giveBackTimers();
  }

  /** The deadline array goes to the shared spares, all off: a receiver arms and clears its delayed ACK every other segment. */
  #giveBackTimers(): void {
    const t = this.#timers;
    if (t === null) return;
    this.#timers = null;
    if (spareTimers.length < MAX_SPARE_TIMERS) {
      t.fill(OFF);
      spareTimers.push(t);
    }
  }

  /** Earliest deadline (ms), the user timeout included; OFF when nothing is scheduled. */
  nextTimer(): number {
    const t = this.#timers;
    if (t === null) return this.userTimeoutAt;
    let first = OFF;
    for (let i = 0; i < t.length; i++) if (t[i]! < first) first = t[i]!;
    if (first === OFF) this.#giveBackTimers(); // all off: give the array back
    const ut = this.userTimeoutAt;
    return ut < first ? ut : first;
  }

  /** When unacknowledged data exceeds the user timeout (RFC 9293 3.10.8), or OFF. */
  get userTimeoutAt(): number {
    const ut = this.config.userTimeout;
    return ut > 0 && this.firstUnackedAt !== OFF && this.snd.una !== this.snd.nxt ? this.firstUnackedAt + ut : OFF;
  }

  // --- lazily created parts -------------------------------------------------------------------

  /** The tcp_info counters, created on first use: a connection that has only done its handshake has none. */
  get counters(): TcpCounters {
    return (this.#counters ??= newCounters());
  }
  /** The counters if any were created, else null (reading them without creating them). */
  get countersIfAny(): Readonly<TcpCounters> | null {
    return this.#counters;
  }
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

  /** Congestion controller, created once the MSS is known. */
  ensureCc(): CongestionControl {
    return (this.rec.cc ??= createCongestion(this.config.congestion, this.snd.mss, this.config.slowStartAckLimit, this.config.cubicRule));
  }

  /** May we ACK an out-of-window segment without text now? (input.ts answers data and zero-window probes always.) */
  allowOutOfWindowAck(now: number): boolean {
    if ((this.#limits ??= new ReplyLimits()).allowOutOfWindowAck(now)) return true;
    this.counters.oowAcksSkipped++;
    return false;
  }

  /**
   * May a challenge ACK go out now, within challengeAckLimit per second (RFC 5961 section 7), and
   * with challengeAckOowLimited past the out-of-window ACK limit first (Linux)?
   */
  allowChallengeAck(now: number): boolean {
    const limits = (this.#limits ??= new ReplyLimits());
    if (this.config.challengeAckOowLimited && !this.allowOutOfWindowAck(now)) return false;
    if (!limits.allowChallengeAck(now, this.config.challengeAckLimit)) return false;
    this.counters.challengeAcks++;
    return true;
  }

  // --- opening --------------------------------------------------------------------------------

  /** LISTEN, third check (RFC 9293 3.10.7.2): take the peer's SYN and answer SYN,ACK at the next poll(). */
  acceptSyn(syn: TcpRepr, now: number, cause = 'rcv SYN'): void {
    this.rcv.irs = syn.seq;
    this.rcv.nxt = addInt(syn.seq, 1);
    this.rcv.adv = this.rcv.nxt;
    this.negotiate(syn, now);
    this.snd.wnd = syn.window; // never scaled in a SYN (RFC 7323 2.2)
    this.snd.maxWnd = this.snd.wnd;
    this.snd.wl1 = syn.seq;
    this.snd.wl2 = this.snd.iss;
    this.setState('SYN-RECEIVED', cause);
  }

  /** Record the peer's SYN options and settle MSS, window scale, SACK and timestamps (RFC 9293 3.7.1, RFC 7323, RFC 2018). */
  negotiate(syn: TcpRepr, now: number): void {
    const o = syn.options;
    this.snd.peerMss = announcedMss(o);
    this.snd.peerOfferedWscale = o.wscale !== undefined;
    if (this.config.windowScale && o.wscale !== undefined) {
      this.snd.wscale = peerWindowShift(o.wscale);
    } else {
      this.snd.wscale = 0;
      this.rcv.wscale = 0;
    }
    this.sackOk = this.config.sack && o.sackPermitted === true;
    if (this.config.timestamps && o.timestamp !== undefined) {
      this.tsOk = true;
      this.rcv.tsRecent = o.timestamp.val;
      this.rcv.tsRecentAt = now;
    } else {
      this.tsOk = false;
    }
    this.snd.mss = this.effectiveMss(Infinity);
  }

  /** Our timestamp clock (1 ms granularity, RFC 7323 section 5.4). */
  tsNow(now: number): number {
    return (Math.floor(now) + this.#tsOffset) | 0;
  }

  // --- state ----------------------------------------------------------------------------------

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
      // Back to LISTEN (RFC 9293 3.10.7.4): that is the listener's state, which it keeps; this
      // TCB born from it is retired without a transition of its own.
      this.state = 'CLOSED';
    } else {
      this.setState('CLOSED', cause);
    }
    this.disarmAll();
    this.rec.rack = null;
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
    const delayedAck = this.deadline(Timer.DelayedAck);
    this.disarmAll();
    this.arm(Timer.DelayedAck, delayedAck);
    this.rec.rack = null;
    this.arm(Timer.TimeWait, now + 2 * this.config.msl);
    this.sendBuf.release();
  }

  // --- the send side --------------------------------------------------------------------------

  /** Bytes in flight for window purposes (RFC 5681 FlightSize; RFC 6675 pipe in SACK recovery). */
  flightSize(): number {
    // RACK's pipe in fast and in RTO recovery (RFC 8985 9.3): lost and SACKed ranges are not in flight.
    if (this.rec.rack !== null && this.config.rack && this.sackOk && (this.rec.inRecovery || lt(this.snd.una, this.rec.recover))) {
      return this.rec.rack.pipe();
    }
    if (this.rec.inRecovery && this.sackOk) {
      return this.scoreboard.pipe(this.snd.una, this.snd.nxt, this.rec.rxtEnd, this.snd.mss, this.config.dupThresh);
    }
    // After a timeout only what went out again since counts (up to the go-back pointer).
    let f = sub(this.sendPtr, this.snd.una);
    if (this.hasSacks) f -= Math.min(f, this.scoreboard.sackedBytes);
    return f;
  }

  /** Where the next segment dispatch() sends starts: rtxNxt while going back, else SND.NXT. */
  get sendPtr(): number {
    return this.snd.rtxNxt === NO_SEQ ? this.snd.nxt : this.snd.rtxNxt;
  }

  /** Go back to resend from `seq` (a timeout, a SYN again): dispatch() sends from there. */
  goBack(seq: number): void {
    this.snd.rtxNxt = seq === this.snd.nxt ? NO_SEQ : seq;
  }

  /** The send pointer moves to `seq` (sent up to there); SND.NXT only ever moves forward. */
  advanceSendPtr(seq: number): void {
    if (this.snd.rtxNxt !== NO_SEQ && lt(seq, this.snd.nxt)) this.snd.rtxNxt = seq;
    else {
      if (gt(seq, this.snd.nxt)) this.snd.nxt = seq;
      this.snd.rtxNxt = NO_SEQ;
    }
  }

  /** Sequence number one past the last byte the application queued (before any FIN). */
  get sndBufEnd(): number {
    return addInt(this.snd.bufSeq, this.sendBuf.length);
  }

  /** Whether our FIN has been acknowledged. */
  get finAcked(): boolean {
    return this.snd.finQueued && ge(this.snd.una, addInt(this.snd.finSeq, 1)) && this.snd.nxt !== this.snd.iss;
  }

  trace(e: TraceEvent): void {
    this.hooks.onTrace?.(e);
  }
}
