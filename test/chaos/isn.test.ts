// ISN unpredictability (RFC 6528 section 3): with a secret key, ISNs of different 4-tuples differ by
// uniformly distributed amounts, and ISNs an attacker sees on its own tuples do not predict a target's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IsnGenerator, ISN_TICKS_PER_MS } from '../../src/tcp/isn.js';
import { seededRandom } from '../../src/util/random.js';
import { sub } from '../../src/wire/seq.js';

const SERVER = new Uint8Array([198, 18, 0, 2]);
const CLIENT = new Uint8Array([198, 18, 0, 1]);
const BINS = 16;

/** Chi-square statistic of the top 4 bits of 32-bit values against a uniform distribution. */
function chiSquareHighBits(values: readonly number[]): number {
  const counts = new Array<number>(BINS).fill(0);
  for (const v of values) counts[(v >>> 28) & 0xf]!++;
  const e = values.length / BINS;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

// Chi-square with 15 degrees of freedom: 37.7 at p = 0.001; 70 is beyond p = 1e-9.
const CHI_P001 = 37.7;
const CHI_P1E9 = 70;

test('ISN: the same 4-tuple advances with the 4 us clock only (RFC 6528: M + F)', () => {
  const g = new IsnGenerator(seededRandom(1));
  const a = g.next(0, SERVER, 80, CLIENT, 40000);
  for (const t of [1, 10, 1000, 123_456]) {
    assert.equal(sub(g.next(t, SERVER, 80, CLIENT, 40000), a), (t * ISN_TICKS_PER_MS) >>> 0, `after ${t} ms`);
  }
  // Another generator (another secret) gives the same tuple an unrelated ISN.
  const other = new IsnGenerator(seededRandom(2));
  assert.notEqual(other.next(0, SERVER, 80, CLIENT, 40000), a);
});

for (const seed of [11, 12, 13]) {
  test(`ISN: successive ISNs of different 4-tuples differ uniformly (chi-square over high bits, key seed ${seed})`, () => {
    const g = new IsnGenerator(seededRandom(seed));
    const diffs: number[] = [];
    let prev = g.next(0, SERVER, 80, CLIENT, 1024);
    for (let i = 1; i < 40_000; i++) {
      const now = i * 0.01; // one connection every 10 us, as a busy server would see
      const isn = g.next(now, SERVER, 80, CLIENT, 1024 + (i % 60_000));
      diffs.push(sub(isn, prev));
      prev = isn;
    }
    const chi = chiSquareHighBits(diffs);
    console.log(`# isn: ${diffs.length} successive differences, chi-square (15 df) ${chi.toFixed(1)}`);
    assert.ok(chi < CHI_P001, `differences not uniform: chi-square ${chi.toFixed(1)}`);
  });
}

test('ISN: an attacker who sees ISNs of its own tuples misses the target by a uniform amount (seeded 128-bit key, as a crypto one would be)', () => {
  const g = new IsnGenerator(seededRandom(6528));
  const missesLinear: number[] = [];
  const missesMean: number[] = [];
  let near = 0;
  for (let i = 0; i < 20_000; i++) {
    const port = 2000 + 3 * i;
    const t0 = i * 2; // ms
    // The attacker connects from ports port-2 and port-1 just before the victim uses `port`, then
    // from port+1 just after; it extrapolates linearly and interpolates between neighbours.
    const a1 = g.next(t0, SERVER, 80, CLIENT, port - 2);
    const a2 = g.next(t0 + 0.004, SERVER, 80, CLIENT, port - 1);
    const target = g.next(t0 + 0.008, SERVER, 80, CLIENT, port);
    const a3 = g.next(t0 + 0.012, SERVER, 80, CLIENT, port + 1);
    const linear = (a2 + sub(a2, a1)) >>> 0;
    const mean = (a2 + Math.floor(sub(a3, a2) / 2)) >>> 0;
    const m1 = sub(target, linear) >>> 0;
    const m2 = sub(target, mean) >>> 0;
    missesLinear.push(m1);
    missesMean.push(m2);
    // A guess within 2^16 of the truth would already put a blind segment in a typical window.
    if (Math.min(m1, 2 ** 32 - m1) < 65536) near++;
  }
  const chi1 = chiSquareHighBits(missesLinear);
  const chi2 = chiSquareHighBits(missesMean);
  console.log(`# isn: 20000 targets; miss chi-square linear ${chi1.toFixed(1)}, interpolated ${chi2.toFixed(1)}; guesses within 2^16: ${near} (expected ${(20000 * 2 ** 17 / 2 ** 32).toFixed(2)})`);
  assert.ok(chi1 < CHI_P1E9 && chi2 < CHI_P1E9, `misses not uniform: ${chi1}, ${chi2}`);
  assert.ok(near <= 5, `${near} extrapolations landed within 2^16 of the target ISN`);
});

test('ISN: without the secret the F part is a keyed function: two keys decorrelate every tuple', () => {
  const g1 = new IsnGenerator(seededRandom(101));
  const g2 = new IsnGenerator(seededRandom(202));
  const d: number[] = [];
  for (let p = 1024; p < 1024 + 20_000; p++) d.push(sub(g1.next(0, SERVER, 80, CLIENT, p), g2.next(0, SERVER, 80, CLIENT, p)));
  const chi = chiSquareHighBits(d);
  assert.ok(chi < CHI_P001, `key difference not uniform: ${chi}`);
  assert.equal(new Set(d).size > 19_990, true, 'differences repeat');
});
