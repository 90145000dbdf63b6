// One TCP connection as a sans-IO state machine, as its owner sees it: the user calls (RFC 9293
// 3.10.1-3.10.6), segment arrival and poll() for what to send, the earliest deadline, hooks, and
// read-only snapshots (info(), stats()). The state itself is the TCB in tcb.ts, private to src/tcp:
// input.ts handles arriving segments, output.ts what leaves, timers.ts the deadlines. It owns the
// Tcb, so its constructor takes the whole Tcb.

import { TcpFlag, textLength, type SackBlock, type TcpOptions, type TcpRepr } from '../wire/tcp.js';
import { addInt, seqInt, sub, gt, le } from '../wire/seq.js';
import type { TcpStateName } from './state.js';
import { copyConfig, type TcpConfig } from './config.js';
import { Tcb, Timer, OFF, type OpenParams, type TcpErrorCode, type TcpHooks } from './tcb.js';
import { segmentArrives } from './input.js';
import { recvDataArrived, recvSpaceAdjust } from './recv-buffer.js';
import { dispatch, sendRst, synAckSent, type Emit } from './output.js';
import { onTimers } from './timers.js';
import { tcpInfo, tcbInfo, type TcpInfo, type TcbInfo } from './info.js';
import type { CookieSyn } from './syncookie.js';

export type { TcpErrorCode, TcpHooks, OpenParams } from './tcb.js';
export type { CookieSyn } from './syncookie.js';


/** An Error carrying a Node-style `code`. */
export function tcpError(code: TcpErrorCode, message: string): Error & { code: TcpErrorCode } {
  const e = new Error(message) as Error & { code: TcpErrorCode };
  e.code = code;
  return e;
}

export class TcpConnection {
  readonly #t: Tcb;

  private constructor(t: Tcb) {
    this.#t = t;
  }

  /** Active OPEN (RFC 9293 3.10.1): CLOSED -> SYN-SENT; the SYN leaves at the next poll(). */
  static connect(p: OpenParams): TcpConnection {
    const t = new Tcb(p, false, 'CLOSED');
    t.setState('SYN-SENT', 'active OPEN');
    return new TcpConnection(t);
  }

  /**
   * A SYN arrived at a listener (RFC 9293 3.10.7.2): a new connection in SYN-RECEIVED that
   * answers with SYN,ACK at the next poll(). The caller has checked the SYN (no RST, no ACK).
   */
  static accept(syn: TcpRepr, p: OpenParams): TcpConnection {
    // Born in LISTEN: the stack's listener is the LISTEN TCB, this one is made from it.
    const t = new Tcb(p, true, 'LISTEN');
    t.acceptSyn(syn, p.now);
    return new TcpConnection(t);
  }

  /**
   * Passive OPEN of a single TCB (RFC 9293 3.10.1): CLOSED -> LISTEN; the first SYN from the
   * remote port moves it to SYN-RECEIVED, SEND makes it active (3.10.2), CLOSE ends it (3.10.4).
   * Stacks with many peers per port use a listener and accept() instead.
   */
  static listen(p: OpenParams): TcpConnection {
    const t = new Tcb(p, true, 'CLOSED');
    t.setState('LISTEN', 'passive OPEN');
    return new TcpConnection(t);
  }

  /**
   * A listener's SYN cookie came back valid (RFC 4987 section 3.6): rebuild the TCB as it stood
   * after our SYN,ACK (SYN-RECEIVED, SND.NXT = ISS + 1, the options the cookie carried, the window
   * the SYN,ACK advertised). The caller then hands `ack` to handleSegment(), which completes the
   * handshake as RFC 9293 3.10.7.4 says (ESTABLISHED, SND.WND from the ACK) and takes any data on it.
   * `p.iss` is the cookie (ACK - 1), `p.tsOffset` the one the SYN,ACK's TSval used.
   */
  static fromCookie(ack: TcpRepr, cookie: CookieSyn, p: OpenParams): TcpConnection {
    const t = new Tcb(p, true, 'LISTEN');
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
    t.acceptSyn(syn, p.now, 'rcv ACK with valid SYN cookie');
    // The SYN,ACK the cookie stood for left already: its bookkeeping, minus a retransmission timer.
    synAckSent(t);
    return new TcpConnection(t);
  }

  // --- what the owner reads -------------------------------------------------------------------

  /** RFC 9293 state name. */
  get state(): TcpStateName {
    return this.#t.state;
  }

  /** Callbacks: set them one by one (`conn.hooks.onReadable = ...`). */
  get hooks(): TcpHooks {
    return this.#t.hooks;
  }

  /** Settings in force (read-only: change them through ownConfig()). */
  get config(): Readonly<TcpConfig> {
    return this.#t.config;
  }

  get tuple(): { readonly localPort: number; readonly remotePort: number } {
    return { localPort: this.#t.localPort, remotePort: this.#t.remotePort };
  }

  /** Bytes the application may read now. */
  get recvAvailable(): number {
    return this.#t.recvBuf.length;
  }

  /** Free space in the send buffer. */
  get sendFree(): number {
    return this.#t.sendBuf.free;
  }

  /**
   * Resize the send buffer (never below what is queued): a socket's SO_SNDBUF set while
   * connected. Data already queued stays. Autotuning stops, as SOCK_SNDBUF_LOCK stops Linux's:
   * the connection's own config gets `sendBufferMax` equal to the new size.
   */
  setSendBufferSize(bytes: number): void {
    const b = this.#t.sendBuf;
    b.resize(Math.max(bytes, b.length));
    if (this.#t.config.sendBufferMax !== b.capacity) this.ownConfig().sendBufferMax = b.capacity;
  }

  /**
   * Resize the receive buffer: a socket's SO_RCVBUF set while connected. It never drops below what
   * is buffered plus the window already offered (that right edge stays: RFC 9293 3.8.6.2.2).
   * Autotuning stops, as SOCK_RCVBUF_LOCK stops Linux's: the connection's own config gets
   * `recvBufferMax` equal to the new size. The window scale, agreed at SYN time, stays.
   */
  setRecvBufferSize(bytes: number): void {
    const t = this.#t;
    const b = t.recvBuf;
    b.resize(Math.max(bytes, b.length + t.rcvWnd, b.length + b.uncommitted));
    if (t.config.recvBufferMax !== b.capacity) this.ownConfig().recvBufferMax = b.capacity;
  }

  /** Bytes queued but not yet acknowledged. */
  get sendQueued(): number {
    return this.#t.sendBuf.length;
  }

  /** The peer's FIN arrived (in order): no more data will come. */
  get finReceived(): boolean {
    return this.#t.rcv.finReceived;
  }

  /** CLOSE was called (or SHUTDOWN for writing): no more data will be sent. */
  get finQueued(): boolean {
    return this.#t.snd.finQueued;
  }

  /** The peer sent FIN and every byte before it has been read. */
  get peerFinished(): boolean {
    return this.#t.rcv.finReceived && this.#t.recvBuf.length === 0;
  }

  /** The effective send MSS (TCP_MAXSEG's answer once connected). */
  get sendMss(): number {
    return this.#t.snd.mss;
  }

  /** STATUS (RFC 9293 3.10.6), in the spirit of Linux's tcp_info. */
  stats(now?: number): TcpInfo {
    return tcpInfo(this.#t, now);
  }

  /** A read-only copy of the TCB's variables (sequence spaces, windows, recovery, deadlines), for tools and tests. */
  info(): TcbInfo {
    return tcbInfo(this.#t);
  }

  // --- user calls (RFC 9293 3.10) -------------------------------------------------------------

  /** SEND: queue bytes; returns how many fit in the send buffer (0 when full). */
  send(data: Uint8Array): number {
    const t = this.#t;
    switch (t.state) {
      case 'CLOSED':
        throw tcpError('ENOTCONN', 'connection does not exist');
      case 'LISTEN':
        // RFC 9293 3.10.2: the foreign socket is known, so turn active: SYN-SENT, SYN at next poll().
        t.passive = false;
        t.setState('SYN-SENT', 'SEND');
        break;
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        if (t.snd.finQueued) throw tcpError('EPIPE', 'connection closing: this side already sent FIN');
        break;
      default:
        throw tcpError('EPIPE', 'connection closing: this side already sent FIN');
    }
    if (data.length === 0) return 0;
    const n = t.sendBuf.write(data);
    if (n > 0) t.hooks.onPollNeeded?.();
    return n;
  }

  /** RECEIVE: up to `max` in-order bytes, or null when none are buffered now. */
  recv(max = Infinity): Uint8Array | null {
    const t = this.#t;
    const before = t.recvBuf.length;
    if (before === 0) return null;
    const out = t.recvBuf.read(Math.min(max, before));
    if (out !== null) this.#afterRead();
    return out;
  }

  /** Copy in-order bytes into `dst` without an intermediate allocation; returns the count. */
  recvInto(dst: Uint8Array): number {
    const n = this.#t.recvBuf.readInto(dst);
    if (n > 0) this.#afterRead();
    return n;
  }

  /**
   * CLOSE (RFC 9293 3.10.4): no more sends; a FIN follows the queued data. Receiving goes on.
   * `_now` is accepted for symmetry with the other calls; closing needs no time.
   */
  close(_now?: number): void {
    const t = this.#t;
    switch (t.state) {
      case 'CLOSED':
        return;
      case 'LISTEN':
        t.toClosed('CLOSE'); // RFC 9293 3.10.4: LISTEN -> CLOSED
        return;
      case 'SYN-SENT':
        // Nothing was said to the peer that needs a FIN.
        t.snd.finQueued = true;
        t.toClosed('CLOSE');
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        if (t.snd.finQueued) return;
        t.snd.finQueued = true;
        t.snd.finSeq = addInt(t.snd.bufSeq, t.sendBuf.length);
        if (t.state === 'ESTABLISHED') t.setState('FIN-WAIT-1', 'CLOSE');
        else if (t.state === 'CLOSE-WAIT') t.setState('LAST-ACK', 'CLOSE');
        // SYN-RECEIVED (RFC 9293 3.10.4): with nothing queued, FIN now and FIN-WAIT-1 (the SYN,ACK
        // is resent with it until acknowledged); with data queued, the FIN waits for ESTABLISHED.
        else if (t.sendBuf.length === 0) t.setState('FIN-WAIT-1', 'CLOSE');
        t.hooks.onPollNeeded?.();
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
    const t = this.#t;
    t.released = true;
    if (t.state === 'FIN-WAIT-2' && t.config.finWait2Timeout > 0) t.arm(Timer.FinWait2, now + t.config.finWait2Timeout);
    t.recvBuf.clear();
  }

  /** ABORT (RFC 9293 3.10.5): send RST if synchronized, drop everything, go to CLOSED. */
  abort(): void {
    const t = this.#t;
    switch (t.state) {
      case 'CLOSED':
        return;
      case 'LISTEN':
      case 'SYN-SENT':
      case 'TIME-WAIT':
        t.toClosed('ABORT');
        return;
      default:
        t.out.rst = true;
        t.hooks.onPollNeeded?.();
        return;
    }
  }

  /**
   * Whether `ack` acknowledges our SYN (SND.UNA < ack =< SND.NXT), the test an ACK must pass in
   * SYN-RECEIVED (RFC 9293 3.10.7.4 fifth). The stack asks before a failing ACK would be answered
   * with a RST: it may be the ACK of a SYN cookie the listener sent for the same 4-tuple.
   */
  acksOurSyn(ack: number): boolean {
    const t = this.#t;
    return gt(ack, t.snd.una) && le(ack, t.snd.nxt);
  }

  /**
   * Go to CLOSED without a word to the peer: a passive connection in SYN-RECEIVED whose 4-tuple
   * the listener has just rebuilt from a valid SYN cookie (the peer answered the cookie SYN-ACK,
   * never this TCB's, so a RST from it would reset the connection the peer now has).
   */
  supersede(): void {
    const t = this.#t;
    if (t.state === 'SYN-RECEIVED') t.toClosed('ABORT (superseded by a valid SYN cookie)');
  }

  /**
   * Forget the connection without a word: CLOSED, nothing sent (a half-open connection whose
   * listener closed, as Linux drops it; the peer's next segment then meets no socket).
   */
  drop(): void {
    const t = this.#t;
    if (t.state !== 'CLOSED') t.toClosed('ABORT');
  }

  /** This connection's settings, ready to change: a shared (frozen) config is copied first. */
  ownConfig(): TcpConfig {
    const t = this.#t;
    if (Object.isFrozen(t.config)) t.config = copyConfig(t.config);
    return t.config;
  }

  /**
   * Keep-alive switched on or off, or its idle time changed (SO_KEEPALIVE, TCP_KEEPIDLE; RFC 1122
   * 4.2.3.6): the first probe is due `idle` after `from` (now, or the last segment received), if
   * keep-alive is enabled in the settings.
   */
  restartKeepalive(from: number): void {
    const t = this.#t;
    const ka = t.config.keepAlive;
    if (t.state === 'CLOSED') return;
    if (ka.enabled) t.arm(Timer.Keepalive, from + ka.idle);
    else t.disarm(Timer.Keepalive);
    t.hooks.onPollNeeded?.();
  }

  /** When the last segment arrived from the peer. */
  get lastRecvAt(): number {
    return this.#t.lastRecvAt;
  }

  // --- sans-IO driving --------------------------------------------------------------------------

  /** SEGMENT ARRIVES (RFC 9293 3.10.7). Never throws on hostile input. */
  handleSegment(seg: TcpRepr, now: number): void {
    const t = this.#t;
    if (t.state === 'CLOSED') return;
    t.segsIn++;
    t.lastRecvAt = now;
    // Receive-buffer autotuning (recv-buffer.ts): what the application read since the last event,
    // then the receiver's RTT sample once in-order data moved RCV.NXT.
    if (t.drs !== null) recvSpaceAdjust(t, now);
    const nxt = t.rcv.nxt;
    const core = coreSegment(seg);
    segmentArrives(t, core, now);
    const len = textLength(core); // a GRO train's text comes in pieces
    if (len > 0 && t.rcv.nxt !== nxt && (t.state as TcpStateName) !== 'CLOSED') {
      recvDataArrived(t, len, core.options.timestamp?.ecr, now);
    }
  }

  /**
   * Fire due timers and emit every segment that should leave now: each as a TcpRepr, or, when
   * `emit.packets` is lent, plain established segments written straight into packets (output.ts).
   */
  poll(now: number, emit: Emit): void {
    const t = this.#t;
    if (t.state === 'CLOSED') return;
    if (t.out.rst) {
      t.out.rst = false;
      sendRst(t, now, emit);
      t.toClosed('ABORT');
      return;
    }
    if (now >= t.nextTimer()) onTimers(t, now, emit);
    if ((t.state as TcpStateName) === 'CLOSED') return;
    // A buffer grown after the application read opens the window: say so (as #afterRead does).
    if (t.drs !== null && recvSpaceAdjust(t, now) && t.windowUpdateDue) t.out.ack = true;
    dispatch(t, now, emit);
  }

  /** Earliest deadline (ms), Infinity when nothing is scheduled. */
  pollAt(): number {
    const t = this.#t;
    return t.state === 'CLOSED' ? OFF : t.nextTimer();
  }

  /** An ICMP error about this connection (RFC 1122 4.2.3.9, RFC 5461). */
  handleIcmpError(kind: 'hard' | 'soft', code: TcpErrorCode, now: number): void {
    void now;
    const t = this.#t;
    if (kind === 'hard' && (t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED')) {
      t.fail(code, `connect failed: ${code}`);
      return;
    }
    t.softError = code;
  }

  /** Path MTU lowered (packet too big, RFC 1191/8201): shrink our segments, never below a 64-byte path MSS. */
  setMss(mss: number): void {
    const t = this.#t;
    const m = t.effectiveMss(Math.max(64, mss));
    if (m < t.snd.mss) {
      t.snd.mss = m;
      t.rec.cc?.setMss(m);
    }
  }

  /** In TIME-WAIT, may a new SYN reuse this 4-tuple (RFC 9293 3.10.7.4, RFC 6191 idea)? */
  canReopen(syn: TcpRepr): boolean {
    const t = this.#t;
    if (t.state !== 'TIME-WAIT') return false;
    if (gt(syn.seq, t.rcv.nxt)) return true;
    const ts = syn.options.timestamp;
    return t.tsOk && ts !== undefined && gt(ts.val, t.rcv.tsRecent);
  }

  /** The application read: maybe reopen the window (receiver SWS avoidance, RFC 9293 3.8.6.2.2). */
  #afterRead(): void {
    const t = this.#t;
    const d = t.out.delack;
    // Linux's tcp_cleanup_rbuf (ackRule 'linux'): an owed ACK goes now when more than one full
    // frame waits for it, or when this read emptied the queue after a pushed short segment (two,
    // or one outside interactive mode).
    if (d !== null && d.scheduled && (sub(t.rcv.nxt, t.rcv.lastAckSent) > d.rcvMss || ((d.pushed2 || (d.pushed && !d.interactive)) && t.recvBuf.length === 0))) {
      t.out.ack = true;
      t.hooks.onPollNeeded?.();
    }
    if (t.windowUpdateDue) {
      t.out.ack = true;
      t.hooks.onPollNeeded?.();
    }
    if (t.recvBuf.length === 0 && !t.hasOutOfOrder) t.recvBuf.release();
  }
}

/**
 * The segment with its sequence numbers, acknowledgment number, timestamps and SACK blocks in the
 * TCP core's form (int32, wire/seq.ts), so that the core compares them with its own by `===`:
 * the segment itself when they already are (the Stack's fast parser reads them so:
 * wire/tcp.ts TcpSegmentBuf), else a copy (reprs from the general parser, tests and tools carry
 * them unsigned; the caller's object is left as it was).
 */
function coreSegment(seg: TcpRepr): TcpRepr {
  const o = seg.options;
  const ts = o.timestamp;
  const sack = o.sack;
  if (
    (seg.seq | 0) === seg.seq &&
    (seg.ack | 0) === seg.ack &&
    (ts === undefined || ((ts.val | 0) === ts.val && (ts.ecr | 0) === ts.ecr)) &&
    (sack === undefined || sackInt(sack))
  ) {
    return seg;
  }
  const options: TcpOptions = { ...o };
  if (ts !== undefined) options.timestamp = { val: seqInt(ts.val), ecr: seqInt(ts.ecr) };
  if (sack !== undefined) options.sack = sack.map((b) => ({ left: seqInt(b.left), right: seqInt(b.right) }));
  return { ...seg, seq: seqInt(seg.seq), ack: seqInt(seg.ack), options };
}

function sackInt(blocks: readonly SackBlock[]): boolean {
  for (const b of blocks) if ((b.left | 0) !== b.left || (b.right | 0) !== b.right) return false;
  return true;
}
