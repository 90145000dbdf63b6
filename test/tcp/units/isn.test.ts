// SipHash-2-4 against the reference test vectors, and RFC 6528 ISNs: per-4-tuple, advancing with
// the 4-microsecond clock, reproducible from a seeded RandomSource.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siphash24, IsnGenerator } from '../../../src/tcp/isn.js';
import { seededRandom, cryptoRandom } from '../../../src/util/random.js';
import { sub } from '../../../src/wire/seq.js';

// Reference outputs (vectors.h of the SipHash reference code) for key 00..0f and message
// 00..n-1, n = 0..63, as the 8 output bytes in little-endian order.
const VECTORS = [
  '310e0edd47db6f72', 'fd67dc93c539f874', '5a4fa9d909806c0d', '2d7efbd796666785',
  'b7877127e09427cf', '8da699cd64557618', 'cee3fe586e46c9cb', '37d1018bf50002ab',
  '6224939a79f5f593', 'b0e4a90bdf82009e', 'f3b9dd94c5bb5d7a', 'a7ad6b22462fb3f4',
  'fbe50e86bc8f1e75', '903d84c02756ea14', 'eef27a8e90ca23f7', 'e545be4961ca29a1',
  'db9bc2577fcc2a3f', '9447be2cf5e99a69', '9cd38d96f0b3c14b', 'bd6179a71dc96dbb',
  '98eea21af25cd6be', 'c7673b2eb0cbf2d0', '883ea3e395675393', 'c8ce5ccd8c030ca8',
  '94af49f6c650adb8', 'eab8858ade92e1bc', 'f315bb5bb835d817', 'adcf6b0763612e2f',
  'a5c91da7acaa4dde', '716595876650a2a6', '28ef495c53a387ad', '42c341d8fa92d832',
  'ce7cf2722f512771', 'e37859f94623f3a7', '381205bb1ab0e012', 'ae97a10fd434e015',
  'b4a31508beff4d31', '81396229f0907902', '4d0cf49ee5d4dcca', '5c73336a76d8bf9a',
  'd0a704536ba93e0e', '925958fcd6420cad', 'a915c29bc8067318', '952b79f3bc0aa6d4',
  'f21df2e41d4535f9', '87577519048f53a9', '10a56cf5dfcd9adb', 'eb75095ccd986cd0',
  '51a9cb9ecba312e6', '96afadfc2ce666c7', '72fe52975a4364ee', '5a1645b276d592a1',
  'b274cb8ebf87870a', '6f9bb4203de7b381', 'eaecb2a30b22a87f', '9924a43cc1315724',
  'bd838d3aafbf8db7', '0b1a2a3265d51aea', '135079a3231ce660', '932b2846e4d70666',
  'e1915f5cb1eca46c', 'f325965ca16d629f', '575ff28e60381be5', '724506eb4c328a95',
];

const key = Uint8Array.from({ length: 16 }, (_, i) => i);
const hex = (v: { lo: number; hi: number }): string => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, v.lo, true);
  new DataView(b.buffer).setUint32(4, v.hi, true);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
};

test('SipHash-2-4 matches all 64 reference vectors (key 00..0f, message 00..n-1)', () => {
  assert.equal(VECTORS.length, 64);
  for (let n = 0; n < 64; n++) {
    const msg = Uint8Array.from({ length: n }, (_, i) => i);
    assert.equal(hex(siphash24(key, msg)), VECTORS[n], `message length ${n}`);
  }
});

test('SipHash-2-4: the paper\'s 15-byte example is a129ca6149be45e5', () => {
  const r = siphash24(key, Uint8Array.from({ length: 15 }, (_, i) => i));
  assert.equal(r.hi, 0xa129ca61);
  assert.equal(r.lo, 0x49be45e5);
});

test('SipHash-2-4 reads subarray views correctly and rejects bad keys', () => {
  const backing = Uint8Array.from({ length: 40 }, (_, i) => (i + 256 - 5) & 0xff);
  const view = backing.subarray(5, 5 + 20); // holds 00..13
  assert.equal(hex(siphash24(key, view)), VECTORS[20]);
  assert.throws(() => siphash24(new Uint8Array(15), view), RangeError);
});

const L4 = Uint8Array.of(198, 18, 0, 1);
const R4 = Uint8Array.of(198, 18, 0, 2);

test('ISNs are reproducible from a seeded RandomSource and differ between secrets', () => {
  const a = new IsnGenerator(seededRandom(1));
  const b = new IsnGenerator(seededRandom(1));
  const c = new IsnGenerator(seededRandom(2));
  const x = a.next(1000, L4, 40000, R4, 80);
  assert.equal(b.next(1000, L4, 40000, R4, 80), x);
  assert.notEqual(c.next(1000, L4, 40000, R4, 80), x);
  assert.ok(Number.isInteger(x) && x >= 0 && x <= 0xffffffff);
});

test('ISNs differ per 4-tuple (ports, addresses, direction, IPv6)', () => {
  const g = new IsnGenerator(seededRandom(7));
  const L6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
  const R6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
  const isns = [
    g.next(0, L4, 40000, R4, 80),
    g.next(0, L4, 40001, R4, 80),
    g.next(0, L4, 40000, R4, 81),
    g.next(0, R4, 80, L4, 40000),
    g.next(0, Uint8Array.of(198, 18, 0, 3), 40000, R4, 80),
    g.next(0, L6, 40000, R6, 80),
    g.next(0, L6, 40000, R6, 443),
  ];
  assert.equal(new Set(isns).size, isns.length);
  // The same 4-tuple at the same time gives the same ISN (F is a function of the tuple).
  assert.equal(g.next(0, L4, 40000, R4, 80), isns[0]);
});

test('ISNs advance with the 4-microsecond clock: 250 per ms, wrapping mod 2^32', () => {
  const g = new IsnGenerator(seededRandom(3));
  const t0 = g.next(0, L4, 40000, R4, 80);
  assert.equal(sub(g.next(1, L4, 40000, R4, 80), t0), 250);
  assert.equal(sub(g.next(1000, L4, 40000, R4, 80), t0), 250000);
  assert.equal(sub(g.next(0.004, L4, 40000, R4, 80), t0), 1);
  // 2^32 ticks (about 4.77 hours) later the clock has wrapped back to the same ISN.
  const wrapMs = 2 ** 32 / 250;
  assert.equal(g.next(wrapMs, L4, 40000, R4, 80), t0);
  // Successive connections on one 4-tuple move forward in sequence space.
  let prev = t0;
  for (let t = 60000; t < 10 * 3600000; t += 60000) {
    const cur = g.next(t, L4, 40000, R4, 80);
    assert.equal(sub(cur, prev), 15000000);
    prev = cur;
  }
});

test('ISNs from the default crypto source look unrelated across secrets', () => {
  const a = new IsnGenerator(cryptoRandom()).next(0, L4, 1, R4, 2);
  const b = new IsnGenerator(cryptoRandom()).next(0, L4, 1, R4, 2);
  // Equal only with probability 2^-32.
  assert.notEqual(a, b);
});
