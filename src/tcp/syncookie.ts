// SYN cookies (RFC 4987 section 3.6): a listener whose SYN queue is full answers a SYN with a
// SYN-ACK whose ISS encodes, instead of storing, what the handshake needs (a time counter, the
// peer's MSS rounded down to a table, and a keyed MAC over the 4-tuple, the peer's ISN and the
// counter); the peer's window scale and SACK-permitted ride in the low bits of our TSval (RFC 7323)
// and come back in the TSecr of its ACK. Pure and sans-IO: time is passed in, the key is injected.
//
// ISS layout (32 bits):  [ MAC: 27 bits ][ counter mod 4: 2 bits ][ MSS index: 3 bits ]
// TSval low 6 bits:      [ reserved 0 (Linux: ECN) ][ SACK-permitted ][ peer wscale, 15 = none ]
//
// What a cookie cannot carry: without timestamps there is nowhere to put window scale or SACK,
// so the SYN-ACK offers neither (both ends then use unscaled windows and no SACK), and the peer's
// MSS is always rounded down to the table below.

import { siphash24 } from './isn.js';

/** The MSS values a cookie can express (3 bits); the peer's MSS is rounded down to one of them. */
export const COOKIE_MSS_TABLE: readonly number[] = Object.freeze([536, 1220, 1300, 1400, 1440, 1460, 8940, 65475]);

/** Length of one counter slot, ms. A cookie is accepted in its own slot and the next one. */
export const COOKIE_SLOT_MS = 64_000;

/** Low TSval bits that carry the peer's options. */
export const COOKIE_TS_BITS = 6;
const TS_MASK = (1 << COOKIE_TS_BITS) - 1;
const WSCALE_NONE = 0xf;
const SACK_BIT = 0x10;
const RESERVED_BIT = 0x20;

const MSS_BITS = 3;
const COUNTER_BITS = 2;
const MAC_SHIFT = MSS_BITS + COUNTER_BITS;
const MAC_MASK = (1 << (32 - MAC_SHIFT)) - 1;

/** The peer's SYN as a validated SYN cookie recalls it (what TcpConnection.fromCookie rebuilds from). */
export interface CookieSyn {
  /** The peer's MSS, rounded down to the cookie table. */
  mss: number;
  /** The peer's window scale shift, when it offered one and timestamps carried it back. */
  wscale?: number | undefined;
  sackOk: boolean;
  /** The peer's TSval (from the ACK) when timestamps are in use, else undefined. */
  tsVal?: number | undefined;
}

/** Both ends of the connection the cookie is for, from the listener's side. */
export interface CookieTuple {
  local: Uint8Array;
  localPort: number;
  remote: Uint8Array;
  remotePort: number;
}

/** The peer's SYN options that the TSval carries. */
export interface CookieTsOptions {
  /** The peer's window scale shift (0..14), or undefined when it offered none. */
  wscale: number | undefined;
  sackOk: boolean;
}

/** What a returning ACK's cookie decodes to. */
export type CookieCheck =
  | { ok: true; mss: number; mssIndex: number; counter: number }
  | { ok: false; reason: 'expired' | 'bad-mac' };

/** Index of the largest table MSS not above `mss` (0 for anything below 536). */
export function mssIndexFor(mss: number): number {
  let i = COOKIE_MSS_TABLE.length - 1;
  while (i > 0 && COOKIE_MSS_TABLE[i]! > mss) i--;
  return i;
}

/** The 6 option bits for a TSval. */
export function encodeTsOptions(o: CookieTsOptions): number {
  const ws = o.wscale === undefined ? WSCALE_NONE : Math.min(o.wscale, 14);
  return ws | (o.sackOk ? SACK_BIT : 0);
}

/** The options back from a TSecr; null when the bits cannot have come from us. */
export function decodeTsOptions(tsecr: number): CookieTsOptions | null {
  const bits = tsecr & TS_MASK;
  if (bits & RESERVED_BIT) return null;
  const ws = bits & 0xf;
  if (ws !== WSCALE_NONE && ws > 14) return null;
  return { wscale: ws === WSCALE_NONE ? undefined : ws, sackOk: (bits & SACK_BIT) !== 0 };
}

/** Makes and checks cookies under one 128-bit secret. */
export class SynCookies {
  readonly #key: Uint8Array;
  /** Scratch for the MAC input: two 16-byte addresses, two ports, ISN, counter, MSS index, domain. */
  readonly #msg = new Uint8Array(46);

  constructor(key: Uint8Array, readonly slotMs = COOKIE_SLOT_MS) {
    if (key.length !== 16) throw new RangeError('SynCookies needs a 16-byte key');
    this.#key = key.slice();
  }

  /** The time counter at `now` (ms). */
  counterAt(now: number): number {
    return Math.floor(now / this.slotMs) >>> 0;
  }

  /** The ISS of a cookie SYN-ACK answering a SYN with sequence number `peerIsn` and MSS `peerMss`. */
  encode(now: number, t: CookieTuple, peerIsn: number, peerMss: number): number {
    const counter = this.counterAt(now);
    const mssIndex = mssIndexFor(peerMss);
    const mac = this.#mac(t, peerIsn, counter, mssIndex);
    return ((mac << MAC_SHIFT) | ((counter & 3) << MSS_BITS) | mssIndex) >>> 0;
  }

  /**
   * Check the cookie `ack - 1` of an ACK whose sequence number is `peerIsn + 1`: its counter must be
   * the current or the previous slot, and its MAC must match the tuple, ISN, counter and MSS index.
   */
  check(now: number, t: CookieTuple, peerIsn: number, cookie: number): CookieCheck {
    const cookieU = cookie >>> 0;
    const mssIndex = cookieU & ((1 << MSS_BITS) - 1);
    const low = (cookieU >>> MSS_BITS) & 3;
    const cur = this.counterAt(now);
    const age = (cur - low) & 3;
    if (age > 1 || cur - age < 0) return { ok: false, reason: 'expired' };
    const counter = cur - age;
    if (this.#mac(t, peerIsn, counter, mssIndex) !== cookieU >>> MAC_SHIFT) return { ok: false, reason: 'bad-mac' };
    return { ok: true, mss: COOKIE_MSS_TABLE[mssIndex]!, mssIndex, counter };
  }

  /**
   * Our timestamp offset for this tuple (RFC 7323 section 5.4: per connection, unpredictable), so
   * the connection rebuilt from the ACK keeps the TSval clock its SYN-ACK used.
   */
  tsOffset(t: CookieTuple): number {
    return siphash24(this.#key, this.#fill(t, 0, 0, 0, 1)).hi;
  }

  /**
   * The TSval of a cookie SYN-ACK: `clock` (our timestamp clock now) with the low bits replaced by
   * the options, never above `clock`, so the connection's later TSvals do not go backwards.
   */
  tsVal(clock: number, o: CookieTsOptions): number {
    const clk = clock >>> 0;
    let ts = ((clk & ~TS_MASK) | encodeTsOptions(o)) >>> 0;
    if (((ts - clk) | 0) > 0) ts = (ts - (TS_MASK + 1)) >>> 0;
    return ts;
  }

  #mac(t: CookieTuple, peerIsn: number, counter: number, mssIndex: number): number {
    return siphash24(this.#key, this.#fill(t, peerIsn, counter, mssIndex, 0)).lo & MAC_MASK;
  }

  #fill(t: CookieTuple, isn: number, counter: number, mssIndex: number, domain: number): Uint8Array {
    const m = this.#msg;
    let o = 0;
    const l = t.local;
    for (let i = 0, n = Math.min(l.length, 16); i < n; i++) m[o++] = l[i]!;
    m[o++] = (t.localPort >>> 8) & 0xff;
    m[o++] = t.localPort & 0xff;
    const r = t.remote;
    for (let i = 0, n = Math.min(r.length, 16); i < n; i++) m[o++] = r[i]!;
    m[o++] = (t.remotePort >>> 8) & 0xff;
    m[o++] = t.remotePort & 0xff;
    m[o++] = domain;
    if (domain === 0) {
      o = putU32(m, o, isn);
      o = putU32(m, o, counter);
      m[o++] = mssIndex;
    }
    return m.subarray(0, o);
  }
}

function putU32(m: Uint8Array, o: number, v: number): number {
  m[o] = (v >>> 24) & 0xff;
  m[o + 1] = (v >>> 16) & 0xff;
  m[o + 2] = (v >>> 8) & 0xff;
  m[o + 3] = v & 0xff;
  return o + 4;
}
