// Initial sequence numbers (RFC 9293 section 3.4.1, RFC 6528 section 3): ISN = M + F(4-tuple,
// secret) with M a 4-microsecond clock and F = SipHash-2-4 (Aumasson and Bernstein, 2012) keyed
// by a 128-bit secret drawn once from the injected RandomSource. SipHash is done on u32 halves.

import type { RandomSource } from '../util/random.js';

/** A 64-bit value as unsigned 32-bit halves. */
export interface U64 {
  lo: number;
  hi: number;
}

// SipHash state v0..v3, each as (hi, lo): [v0h, v0l, v1h, v1l, v2h, v2l, v3h, v3l].
const V = new Uint32Array(8);

/** One SipRound over V (all arithmetic modulo 2^64 on 32-bit halves). */
function sipRound(): void {
  let v0h = V[0]!, v0l = V[1]!, v1h = V[2]!, v1l = V[3]!;
  let v2h = V[4]!, v2l = V[5]!, v3h = V[6]!, v3l = V[7]!;
  let l: number, h: number;
  // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
  l = (v0l + v1l) >>> 0;
  v0h = (v0h + v1h + (l < v0l ? 1 : 0)) >>> 0;
  v0l = l;
  h = (v1h << 13) | (v1l >>> 19);
  l = (v1l << 13) | (v1h >>> 19);
  v1h = (h ^ v0h) >>> 0;
  v1l = (l ^ v0l) >>> 0;
  h = v0h;
  v0h = v0l;
  v0l = h;
  // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
  l = (v2l + v3l) >>> 0;
  v2h = (v2h + v3h + (l < v2l ? 1 : 0)) >>> 0;
  v2l = l;
  h = (v3h << 16) | (v3l >>> 16);
  l = (v3l << 16) | (v3h >>> 16);
  v3h = (h ^ v2h) >>> 0;
  v3l = (l ^ v2l) >>> 0;
  // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
  l = (v0l + v3l) >>> 0;
  v0h = (v0h + v3h + (l < v0l ? 1 : 0)) >>> 0;
  v0l = l;
  h = (v3h << 21) | (v3l >>> 11);
  l = (v3l << 21) | (v3h >>> 11);
  v3h = (h ^ v0h) >>> 0;
  v3l = (l ^ v0l) >>> 0;
  // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
  l = (v2l + v1l) >>> 0;
  v2h = (v2h + v1h + (l < v2l ? 1 : 0)) >>> 0;
  v2l = l;
  h = (v1h << 17) | (v1l >>> 15);
  l = (v1l << 17) | (v1h >>> 15);
  v1h = (h ^ v2h) >>> 0;
  v1l = (l ^ v2l) >>> 0;
  h = v2h;
  v2h = v2l;
  v2l = h;
  V[0] = v0h; V[1] = v0l; V[2] = v1h; V[3] = v1l;
  V[4] = v2h; V[5] = v2l; V[6] = v3h; V[7] = v3l;
}

function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** Absorb one message word m = (mh, ml): v3 ^= m; two SipRounds; v0 ^= m. */
function compress(mh: number, ml: number): void {
  V[6] = V[6]! ^ mh;
  V[7] = V[7]! ^ ml;
  sipRound();
  sipRound();
  V[0] = V[0]! ^ mh;
  V[1] = V[1]! ^ ml;
}

/** SipHash-2-4 of `data` under the 16-byte `key`, as the 64-bit result's u32 halves. */
export function siphash24(key: Uint8Array, data: Uint8Array): U64 {
  const lo = siphashInto(key, data, data.length);
  return { lo, hi: (V[0]! ^ V[2]! ^ V[4]! ^ V[6]!) >>> 0 };
}

/**
 * SipHash-2-4 of data[0, n) under `key`: returns the low 32 bits of the result and leaves the
 * state in V (the high half is V[0] ^ V[2] ^ V[4] ^ V[6]). Allocates nothing.
 */
function siphashInto(key: Uint8Array, data: Uint8Array, n: number): number {
  if (key.length !== 16) throw new RangeError('siphash24 needs a 16-byte key');
  const k0l = le32(key, 0), k0h = le32(key, 4), k1l = le32(key, 8), k1h = le32(key, 12);
  // The constants spell "somepseudorandomlygeneratedbytes".
  V[0] = k0h ^ 0x736f6d65; V[1] = k0l ^ 0x70736575;
  V[2] = k1h ^ 0x646f7261; V[3] = k1l ^ 0x6e646f6d;
  V[4] = k0h ^ 0x6c796765; V[5] = k0l ^ 0x6e657261;
  V[6] = k1h ^ 0x74656462; V[7] = k1l ^ 0x79746573;
  const full = n - (n & 7);
  for (let i = 0; i < full; i += 8) compress(le32(data, i + 4), le32(data, i));
  // Last word: the remaining 0..7 bytes little-endian, length mod 256 in the top byte.
  let ml = 0;
  let mh = (n & 0xff) << 24;
  for (let i = n - 1; i >= full; i--) {
    const j = i - full;
    if (j >= 4) mh |= data[i]! << ((j - 4) * 8);
    else ml |= data[i]! << (j * 8);
  }
  compress(mh >>> 0, ml >>> 0);
  V[5] = V[5]! ^ 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  return (V[1]! ^ V[3]! ^ V[5]! ^ V[7]!) >>> 0;
}

/** RFC 6528 section 3: M ticks every 4 microseconds, i.e. 250 per millisecond. */
export const ISN_TICKS_PER_MS = 250;

/** Generates ISNs that are unpredictable per 4-tuple yet advance with time within one 4-tuple. */
export class IsnGenerator {
  readonly #key: Uint8Array;
  /** Scratch for the 4-tuple: up to two 16-byte addresses and two ports. */
  readonly #msg = new Uint8Array(36);

  constructor(random: RandomSource) {
    this.#key = random.fill(new Uint8Array(16));
  }

  /**
   * ISN = M + F(localip, localport, remoteip, remoteport, secretkey) (RFC 6528 section 3), with
   * `now` in ms and addresses as 4- or 16-byte arrays.
   */
  next(now: number, local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): number {
    // Byte loops rather than subarray()/set(): an ISN per connection, so no allocation here.
    const msg = this.#msg;
    let o = 0;
    for (let i = 0, n = Math.min(local.length, 16); i < n; i++) msg[o++] = local[i]!;
    msg[o++] = (localPort >>> 8) & 0xff;
    msg[o++] = localPort & 0xff;
    for (let i = 0, n = Math.min(remote.length, 16); i < n; i++) msg[o++] = remote[i]!;
    msg[o++] = (remotePort >>> 8) & 0xff;
    msg[o++] = remotePort & 0xff;
    const f = siphashInto(this.#key, msg, o);
    const m = Math.floor(now * ISN_TICKS_PER_MS) >>> 0;
    return (m + f) >>> 0;
  }
}
