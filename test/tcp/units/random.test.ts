// Injected randomness: seeded streams are reproducible, crypto streams are usable, floats stay in [0, 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cryptoRandom, seededRandom, randomFloat } from '../../../src/util/random.js';

test('seededRandom: same seed gives the same stream, different seeds differ', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const sa = Array.from({ length: 16 }, () => a.u32());
  const sb = Array.from({ length: 16 }, () => b.u32());
  const sc = Array.from({ length: 16 }, () => c.u32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  for (const v of sa) assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  assert.equal(new Set(sa).size, 16);
});

test('seededRandom: fill is reproducible, covers odd lengths and matches u32 little-endian', () => {
  const x = seededRandom(7).fill(new Uint8Array(11));
  const y = seededRandom(7).fill(new Uint8Array(11));
  assert.deepEqual(x, y);
  const r = seededRandom(7);
  const w0 = r.u32();
  assert.equal(x[0], w0 & 0xff);
  assert.equal(x[3], w0 >>> 24);
});

test('seededRandom: output is roughly uniform (bit balance over 64k words)', () => {
  const r = seededRandom(1);
  const ones = new Array<number>(32).fill(0);
  const n = 65536;
  for (let i = 0; i < n; i++) {
    const w = r.u32();
    for (let bit = 0; bit < 32; bit++) ones[bit]! += (w >>> bit) & 1;
  }
  for (const c of ones) assert.ok(Math.abs(c / n - 0.5) < 0.01, `bit frequency ${c / n}`);
});

test('cryptoRandom: yields distinct words past its buffer and fills large arrays', () => {
  const r = cryptoRandom();
  const words = new Set<number>();
  for (let i = 0; i < 300; i++) words.add(r.u32());
  assert.ok(words.size > 295);
  const big = r.fill(new Uint8Array(70000));
  // A 70000-byte crypto fill that left the tail zeroed would mean the chunking is wrong.
  assert.ok(big.subarray(66000).some((b) => b !== 0));
});

test('randomFloat stays in [0, 1) and averages near 0.5', () => {
  const r = seededRandom(99);
  let sum = 0;
  for (let i = 0; i < 10000; i++) {
    const f = randomFloat(r);
    assert.ok(f >= 0 && f < 1);
    sum += f;
  }
  assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02);
  assert.equal(randomFloat({ u32: () => 0xffffffff, fill: (o) => o }) < 1, true);
  assert.equal(randomFloat({ u32: () => 0, fill: (o) => o }), 0);
});
