// The listener side of SYN cookies (RFC 4987 section 3.6): when a listener's SYN queue is full (or
// always, by choice) a SYN is answered by a stateless SYN-ACK whose ISS and TSval are a cookie, and
// an ACK to a listener with no connection is checked as a returning cookie; the TCP layer's
// src/tcp/syncookie.ts does the encoding, this file builds the segments around it.
import type { RandomSource } from '../util/random.js';
import { scaleFor, type TcpConfig } from '../tcp/config.js';
import type { CookieSyn } from '../tcp/connection.js';
import { TcpFlag, type TcpOptions, type TcpRepr } from '../wire/tcp.js';
import { add, sub } from '../wire/seq.js';
import { SynCookies, decodeTsOptions, type CookieTuple } from '../tcp/syncookie.js';

/**
 * When a listener answers with cookies: 'auto' only once its SYN queue (backlog) is full, as
 * Linux's net.ipv4.tcp_syncookies=1; 'always' for every SYN (no SYN-RECEIVED state at all);
 * 'never' drops SYNs beyond the backlog.
 */
export type SynCookieMode = 'auto' | 'always' | 'never';

export const SYN_COOKIE_MODES: readonly SynCookieMode[] = Object.freeze(['auto', 'always', 'never'] as const);

/** A validated cookie: what the connection is rebuilt from. */
export interface CookieAccept {
  iss: number;
  tsOffset: number;
  syn: CookieSyn;
}

export type CookieVerdict = { ok: true; value: CookieAccept } | { ok: false; reason: 'expired' | 'bad-mac' | 'bad-ts' };

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
   * The SYN-ACK answering `syn` with a cookie, carrying the options the normal path would send
   * (output.ts sendSyn) within what a cookie can recall: window scale and SACK-permitted only when
   * timestamps are in use; `cfg` is the listener's resolved config for this interface.
   */
  synAck(syn: TcpRepr, local: Uint8Array, remote: Uint8Array, cfg: TcpConfig, now: number): TcpRepr {
    const t = this.tuple(local, syn.dstPort, remote, syn.srcPort);
    const o = syn.options;
    const peerMss = o.mss !== undefined && o.mss > 0 ? o.mss : 536;
    const iss = this.cookies.encode(now, t, syn.seq, peerMss);
    const options: TcpOptions = { mss: cfg.mss };
    if (cfg.timestamps && o.timestamp !== undefined) {
      const wscale = cfg.windowScale && o.wscale !== undefined ? Math.min(o.wscale, 14) : undefined;
      const sackOk = cfg.sack && o.sackPermitted === true;
      if (sackOk) options.sackPermitted = true;
      const clock = (Math.floor(now) + this.cookies.tsOffset(t)) >>> 0;
      options.timestamp = { val: this.cookies.tsVal(clock, { wscale, sackOk }), ecr: o.timestamp.val };
      if (wscale !== undefined) options.wscale = rcvWscaleOf(cfg);
    }
    return {
      srcPort: syn.dstPort,
      dstPort: syn.srcPort,
      seq: iss,
      ack: add(syn.seq, 1),
      flags: TcpFlag.SYN | TcpFlag.ACK,
      window: Math.min(cfg.recvBufferSize, 0xffff),
      urgent: 0,
      options,
      payload: NO_PAYLOAD,
    };
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

/** The window scale shift the connection will use (as TcpConnection derives it). */
function rcvWscaleOf(cfg: TcpConfig): number {
  return cfg.windowScaleShift >= 0 ? cfg.windowScaleShift : scaleFor(cfg.recvBufferSize);
}
