// Injected randomness (ARCHITECTURE rule 6): crypto-strong by default, seeded and reproducible in tests.
// CONTRACT: the interface is fixed; implementations follow.

export interface RandomSource {
  /** A uniformly random unsigned 32-bit integer. */
  u32(): number;
  /** Fill `out` with random bytes and return it. */
  fill(out: Uint8Array): Uint8Array;
}

const CRYPTO_WORDS = 64;
/** Web Crypto's getRandomValues refuses requests above 65536 bytes. */
const CRYPTO_MAX_BYTES = 65536;

interface CryptoLike {
  getRandomValues<T extends ArrayBufferView>(array: T): T;
}

function webCrypto(): CryptoLike {
  const c = (globalThis as { crypto?: CryptoLike }).crypto;
  if (c === undefined || typeof c.getRandomValues !== 'function') {
    throw new Error('cryptoRandom: globalThis.crypto.getRandomValues is not available');
  }
  return c;
}

/** Crypto-strong randomness from globalThis.crypto.getRandomValues, fetched 256 bytes at a time. */
export function cryptoRandom(): RandomSource {
  const c = webCrypto();
  const pool = new Uint32Array(CRYPTO_WORDS);
  let next = CRYPTO_WORDS;
  return {
    u32(): number {
      if (next === CRYPTO_WORDS) {
        c.getRandomValues(pool);
        next = 0;
      }
      return pool[next++]! >>> 0;
    },
    fill(out: Uint8Array): Uint8Array {
      for (let off = 0; off < out.length; off += CRYPTO_MAX_BYTES) {
        c.getRandomValues(out.subarray(off, Math.min(out.length, off + CRYPTO_MAX_BYTES)));
      }
      return out;
    },
  };
}

/**
 * A reproducible stream from a 32-bit seed: sfc32 (Chris Doty-Humphrey's small fast counting
 * generator) with its 128-bit state expanded from the seed by splitmix32. Not for secrets.
 */
export function seededRandom(seed: number): RandomSource {
  let z = seed >>> 0;
  const splitmix = (): number => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
    t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = 1;
  const u32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs so nearby seeds diverge fully.
  for (let i = 0; i < 12; i++) u32();
  return {
    u32,
    fill(out: Uint8Array): Uint8Array {
      const n = out.length;
      let i = 0;
      for (; i + 4 <= n; i += 4) {
        const w = u32();
        out[i] = w & 0xff;
        out[i + 1] = (w >>> 8) & 0xff;
        out[i + 2] = (w >>> 16) & 0xff;
        out[i + 3] = w >>> 24;
      }
      if (i < n) {
        let w = u32();
        for (; i < n; i++) {
          out[i] = w & 0xff;
          w >>>= 8;
        }
      }
      return out;
    },
  };
}

/** A uniformly distributed float in [0, 1) with 53 bits of precision. */
export function randomFloat(r: RandomSource): number {
  const hi = r.u32() >>> 5; // 27 bits
  const lo = r.u32() >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992;
}
