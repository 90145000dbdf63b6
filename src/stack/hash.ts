// A keyed 32-bit hash (HalfSipHash-2-4 construction) for RFC 6056 ephemeral port selection, where
// the port offset must be unpredictable to off-path attackers but stable for one 4-tuple.

const rotl = (x: number, b: number): number => (x << b) | (x >>> (32 - b));

/** Keyed hash of `data` (any length) under a 64-bit key given as two 32-bit words. */
export function keyedHash32(k0: number, k1: number, data: Uint8Array, length = data.length): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  };
  const full = length & ~3;
  for (let i = 0; i < full; i += 4) {
    const m = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let last = (length & 0xff) << 24;
  for (let i = full, s = 0; i < length; i++, s += 8) last |= data[i]! << s;
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return (v1 ^ v3) >>> 0;
}
