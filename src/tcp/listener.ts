// LISTEN (RFC 9293 3.10.7.2) for one listening endpoint, sans-IO: what a segment that found no
// connection gets (a new connection, a stateless cookie SYN-ACK, a connection rebuilt from a valid
// cookie, a drop, or the closed-port reset), the SYN queue counted against the backlog, and SYN
// cookies once the backlog is full (RFC 4987 section 3.6; encoding in syncookie.ts). The stack only
// demultiplexes to it and carries out the decision.

import type { RandomSource } from '../util/random.js';
import { TcpFlag, type TcpRepr } from '../wire/tcp.js';
import { add, sub } from '../wire/seq.js';
import { scaleFor, type TcpConfig } from './config.js';
import { synSegment, type SynOptions } from './output.js';
import { synWindow, announcedMss, peerWindowShift } from './tcb.js';
import { SynCookies, decodeTsOptions, type CookieTuple, type CookieSyn } from './syncookie.js';

const { SYN, ACK, RST, FIN } = TcpFlag;

/**
 * When a listener answers with cookies: 'auto' only once its SYN queue (backlog) is full, as
 * Linux's net.ipv4.tcp_syncookies=1; 'always' for every SYN (no SYN-RECEIVED state at all);
 * 'never' drops SYNs beyond the backlog.
 */
export type SynCookieMode = 'auto' | 'always' | 'never';

export const SYN_COOKIE_MODES: readonly SynCookieMode[] = Object.freeze(['auto', 'always', 'never'] as const);

/** Throws a TypeError (code ERR_INVALID_ARG_VALUE) unless `mode` is absent or one of SYN_COOKIE_MODES. */
export function checkSynCookieMode(mode: SynCookieMode | undefined): void {
  if (mode !== undefined && !SYN_COOKIE_MODES.includes(mode)) {
    const e = new TypeError(`synCookies must be one of ${SYN_COOKIE_MODES.join(', ')}; got ${String(mode)}`) as TypeError & { code: string };
    e.code = 'ERR_INVALID_ARG_VALUE';
    throw e;
  }
}

/** A validated cookie: what the connection is rebuilt from (TcpConnection.fromCookie). */
export interface CookieAccept {
  iss: number;
  tsOffset: number;
  syn: CookieSyn;
}

export type CookieVerdict = { ok: true; value: CookieAccept } | { ok: false; reason: 'expired' | 'bad-mac' | 'bad-ts' };

/** What the listener decided for one segment. */
export type ListenDecision =
  /** A SYN with room in the SYN queue: open a connection in SYN-RECEIVED (TcpConnection.accept). */
  | { kind: 'accept' }
  /** Answer statelessly with this SYN-ACK (its ISS and TSval are the cookie); nothing is stored. */
  | { kind: 'cookie'; synAck: TcpRepr }
  /** A valid returning cookie: rebuild the connection from it (TcpConnection.fromCookie), then give it the ACK. */
  | { kind: 'from-cookie'; cookie: CookieAccept }
  /** Drop silently: a RST (3.10.7.2 first), neither SYN nor ACK, SYN+FIN, a SYN beyond a full backlog. */
  | { kind: 'drop'; reason: 'rst' | 'no-ack' | 'syn-fin' | 'backlog-full' }
  /** Answer as a closed port does (3.10.7.1): an ACK, or a SYN,ACK; `cookie` tells why a cookie check failed. */
  | { kind: 'reset'; cookie?: CookieVerdict & { ok: false } };

const NO_PAYLOAD = new Uint8Array(0);

/** Cookie SYN-ACKs out, cookie ACKs in, under one secret drawn lazily from the stack's randomness. */
export class CookieJar {
  #cookies: SynCookies | null = null;
  readonly #tuple: CookieTuple = { local: NO_PAYLOAD, localPort: 0, remote: NO_PAYLOAD, remotePort: 0 };

  constructor(private readonly random: RandomSource) {}

  /** The key is drawn at first use, so stacks that never send a cookie draw no extra randomness. */
  private get cookies(): SynCookies {
    return (this.#cookies ??= new SynCookies(this.random.fill(new Uint8Array(16))));
  }

  get slotMs(): number {
    return this.cookies.slotMs;
  }

  private tuple(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): CookieTuple {
    const t = this.#tuple;
    t.local = local;
    t.localPort = localPort;
    t.remote = remote;
    t.remotePort = remotePort;
    return t;
  }

  /**
   * The SYN-ACK answering `syn` with a cookie, carrying the options a connection's own SYN-ACK
   * would within what a cookie can recall: window scale and SACK-permitted only when timestamps
   * are in use; `cfg` is the listener's resolved config for this interface.
   */
  synAck(syn: TcpRepr, local: Uint8Array, remote: Uint8Array, cfg: TcpConfig, now: number): TcpRepr {
    const t = this.tuple(local, syn.dstPort, remote, syn.srcPort);
    const o = syn.options;
    const peerMss = announcedMss(o);
    const iss = this.cookies.encode(now, t, syn.seq, peerMss);
    const opts: SynOptions = { mss: cfg.mss, sackOk: false };
    if (cfg.timestamps && o.timestamp !== undefined) {
      const wscale = cfg.windowScale && o.wscale !== undefined ? peerWindowShift(o.wscale) : undefined;
      opts.sackOk = cfg.sack && o.sackPermitted === true;
      const clock = (Math.floor(now) + this.cookies.tsOffset(t)) >>> 0;
      opts.timestamp = { val: this.cookies.tsVal(clock, { wscale, sackOk: opts.sackOk }), ecr: o.timestamp.val };
      if (wscale !== undefined) opts.wscale = rcvWscaleOf(cfg);
    }
    return synSegment(syn.dstPort, syn.srcPort, iss, add(syn.seq, 1), synWindow(cfg.recvBufferSize), opts);
  }

  /**
   * Check an ACK (no SYN, no RST) that found no connection: `ack - 1` must be a fresh cookie for
   * this tuple and `seq - 1`, and a TSecr must carry option bits we could have sent.
   */
  check(seg: TcpRepr, local: Uint8Array, remote: Uint8Array, timestamps: boolean, now: number): CookieVerdict {
    const t = this.tuple(local, seg.dstPort, remote, seg.srcPort);
    const iss = sub(seg.ack, 1) >>> 0;
    const r = this.cookies.check(now, t, sub(seg.seq, 1) >>> 0, iss);
    if (!r.ok) return r;
    const syn: CookieSyn = { mss: r.mss, sackOk: false };
    const ts = seg.options.timestamp;
    if (timestamps && ts !== undefined) {
      const bits = decodeTsOptions(ts.ecr);
      if (bits === null) return { ok: false, reason: 'bad-ts' };
      syn.wscale = bits.wscale;
      syn.sackOk = bits.sackOk;
      syn.tsVal = ts.val;
    }
    return { ok: true, value: { iss, tsOffset: this.cookies.tsOffset(t), syn } };
  }
}

/** The window scale shift a connection with `cfg` offers (as the TCB derives it). */
function rcvWscaleOf(cfg: TcpConfig): number {
  return cfg.windowScaleShift >= 0 ? cfg.windowScaleShift : scaleFor(cfg.recvBufferMax);
}

/**
 * RFC 9293 3.10.7.2, the checks in LISTEN by the control bits alone: first a RST (ignored), second
 * an ACK (answered <SEQ=SEG.ACK><CTL=RST>), third a SYN (a new connection), else drop. Shared by
 * the stack's listeners and a single TCB opened with TcpConnection.listen() (input.ts).
 */
export function listenStep(flags: number): 'rst' | 'ack' | 'syn' | 'other' {
  if (flags & RST) return 'rst';
  if (flags & ACK) return 'ack';
  if (flags & SYN) return 'syn';
  return 'other';
}

/** One listening endpoint's LISTEN state: its SYN queue, accept count and cookie bookkeeping. */
export class Listener {
  closed = false;
  /** Connections in SYN-RECEIVED that count against the backlog (the SYN queue). */
  pending = 0;
  /** SYNs dropped because the backlog was full (synCookies 'never'). */
  dropped = 0;
  /** Connections handed to the application (ESTABLISHED). */
  accepted = 0;
  /** SYN-ACKs sent with a cookie, and ACKs checked as cookies that passed or failed. */
  cookiesSent = 0;
  cookiesValid = 0;
  cookiesFailed = 0;
  /** When the last cookie was sent (ms); in 'auto' mode ACKs are checked as cookies only for two slots after. */
  lastCookieAt = -Infinity;

  constructor(
    public backlog: number,
    public synCookies: SynCookieMode,
    private readonly jar: CookieJar,
  ) {}

  /**
   * RFC 9293 3.10.7.2 for a segment from `remote` to `local` that found no connection. `cfg`
   * gives the listener's resolved settings for this path (asked for only when a cookie needs them).
   */
  segment(seg: TcpRepr, local: Uint8Array, remote: Uint8Array, cfg: () => TcpConfig, now: number): ListenDecision {
    const step = listenStep(seg.flags);
    if (step === 'syn') {
      // SYN+FIN (with or without PSH/URG) is a scanner's probe, not an opening: Linux's
      // tcp_rcv_state_process discards it in LISTEN, and so do we (nmap fingerprints by it).
      if (seg.flags & FIN) return { kind: 'drop', reason: 'syn-fin' };
      // third, check for a SYN: a new connection, a cookie once the SYN queue is full, or a drop.
      if (this.synCookies === 'always' || (this.pending >= this.backlog && this.synCookies === 'auto')) {
        this.cookiesSent++;
        this.lastCookieAt = now;
        return { kind: 'cookie', synAck: this.jar.synAck(seg, local, remote, cfg(), now) };
      }
      if (this.pending >= this.backlog) {
        this.dropped++;
        return { kind: 'drop', reason: 'backlog-full' };
      }
      return { kind: 'accept' };
    }
    if (step === 'rst') return { kind: 'drop', reason: 'rst' };
    if (step === 'other') return { kind: 'drop', reason: 'no-ack' }; // neither SYN nor ACK
    if (!(seg.flags & SYN) && this.#cookieExpected(now)) {
      // An ACK that may be the third step of a cookie handshake (RFC 4987 3.6).
      const v = this.jar.check(seg, local, remote, cfg().timestamps, now);
      if (v.ok) {
        this.cookiesValid++;
        return { kind: 'from-cookie', cookie: v.value };
      }
      this.cookiesFailed++;
      return { kind: 'reset', cookie: v };
    }
    // An ACK (a SYN,ACK too): <SEQ=SEG.ACK><CTL=RST>, as a closed port answers.
    return { kind: 'reset' };
  }

  /** 'always' checks every stray ACK; 'auto' only within two counter slots of the last cookie sent. */
  #cookieExpected(now: number): boolean {
    if (this.synCookies === 'always') return true;
    return this.synCookies === 'auto' && now - this.lastCookieAt < 2 * this.jar.slotMs;
  }
}
