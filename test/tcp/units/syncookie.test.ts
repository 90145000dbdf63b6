// SYN cookies as a pure module (RFC 4987 section 3.6): exact encode/check round trips for every MSS
// table entry, the counter window (current and previous 64 s slot), MAC binding to the 4-tuple and
// the peer's ISN, wscale/SACK in the TSval's low bits, and blind guessing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SynCookies, COOKIE_MSS_TABLE, COOKIE_SLOT_MS, mssIndexFor, encodeTsOptions, decodeTsOptions, type CookieTuple,
} from '../../../src/tcp/syncookie.js';
import { seededRandom } from '../../../src/util/random.js';

const T: CookieTuple = { local: new Uint8Array([198, 18, 0, 2]), localPort: 80, remote: new Uint8Array([198, 18, 0, 1]), remotePort: 40000 };
const T6: CookieTuple = {
  local: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
  localPort: 443,
  remote: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  remotePort: 50000,
};
const jar = (seed = 1): SynCookies => new SynCookies(seededRandom(seed).fill(new Uint8Array(16)));

test('cookie round trip: every MSS table entry comes back exactly, IPv4 and IPv6', () => {
  const c = jar();
  for (const t of [T, T6]) {
    COOKIE_MSS_TABLE.forEach((mss, i) => {
      const isn = (0x9e3779b9 * (i + 1)) >>> 0;
      const now = 5_000 + i * 7_777;
      const iss = c.encode(now, t, isn, mss);
      const r = c.check(now + 1_000, t, isn, iss);
      assert.deepEqual(r, { ok: true, mss, mssIndex: i, counter: c.counterAt(now) }, `mss ${mss}`);
    });
  }
});

test('the peer MSS rounds down to the table: 1459 -> 1440, 9000 -> 8940, 100 -> 536, no option -> 536', () => {
  assert.equal(COOKIE_MSS_TABLE[mssIndexFor(1459)], 1440);
  assert.equal(COOKIE_MSS_TABLE[mssIndexFor(1460)], 1460);
  assert.equal(COOKIE_MSS_TABLE[mssIndexFor(9000)], 8940);
  assert.equal(COOKIE_MSS_TABLE[mssIndexFor(65535)], 65475);
  assert.equal(COOKIE_MSS_TABLE[mssIndexFor(100)], 536);
  const c = jar();
  const r = c.check(0, T, 7, c.encode(0, T, 7, 1459));
  assert.ok(r.ok && r.mss === 1440);
});

test('counter: accepted in its own 64 s slot and the next one, expired after', () => {
  const c = jar();
  const sentAt = 3 * COOKIE_SLOT_MS + 63_999; // the last ms of slot 3
  const iss = c.encode(sentAt, T, 1234, 1460);
  assert.ok(c.check(sentAt, T, 1234, iss).ok);
  assert.ok(c.check(4 * COOKIE_SLOT_MS, T, 1234, iss).ok, 'next slot');
  assert.ok(c.check(5 * COOKIE_SLOT_MS - 1, T, 1234, iss).ok, 'end of next slot');
  assert.deepEqual(c.check(5 * COOKIE_SLOT_MS, T, 1234, iss), { ok: false, reason: 'expired' });
  // Four slots later the 2-bit counter matches again, but the MAC covers the full counter.
  assert.deepEqual(c.check(7 * COOKIE_SLOT_MS, T, 1234, iss), { ok: false, reason: 'bad-mac' });
  // A cookie "from the future" (clock went back) is refused too.
  assert.equal(c.check(2 * COOKIE_SLOT_MS, T, 1234, iss).ok, false);
  // At time 0 there is no previous slot to accept.
  const early = c.encode(0, T, 1, 1460);
  assert.ok(c.check(COOKIE_SLOT_MS + 5, T, 1, early).ok);
});

test('the MAC binds the 4-tuple, the peer ISN, the MSS index and the key', () => {
  const c = jar();
  const iss = c.encode(1000, T, 555, 1460);
  const bad = (r: ReturnType<SynCookies['check']>): boolean => !r.ok && r.reason === 'bad-mac';
  assert.ok(bad(c.check(1000, { ...T, remotePort: 40001 }, 555, iss)), 'remote port');
  assert.ok(bad(c.check(1000, { ...T, localPort: 81 }, 555, iss)), 'local port');
  assert.ok(bad(c.check(1000, { ...T, remote: new Uint8Array([198, 18, 0, 3]) }, 555, iss)), 'remote address');
  assert.ok(bad(c.check(1000, { ...T, local: new Uint8Array([198, 18, 0, 9]) }, 555, iss)), 'local address');
  assert.ok(bad(c.check(1000, T, 556, iss)), 'peer ISN');
  assert.ok(bad(c.check(1000, T, 555, (iss ^ 1) >>> 0)), 'MSS index tampered');
  assert.ok(bad(c.check(1000, T, 555, (iss ^ 0x80000000) >>> 0)), 'MAC bit flipped');
  assert.ok(bad(jar(2).check(1000, T, 555, iss)), 'another key');
});

test('blind guessing: 100,000 random cookies for a known tuple and ISN, 0 accepted', () => {
  const c = jar();
  const r = seededRandom(77);
  let accepted = 0;
  let expired = 0;
  for (let i = 0; i < 100_000; i++) {
    const v = c.check(200_000, T, 0xdeadbeef, r.u32());
    if (v.ok) accepted++;
    else if (v.reason === 'expired') expired++;
  }
  assert.equal(accepted, 0);
  // Half the guesses have a counter outside the two live slots and need no MAC computation.
  assert.ok(expired > 45_000 && expired < 55_000, `expired ${expired}`);
});

test('cookies of one tuple are unrelated from SYN to SYN (a new ISN gives a new MAC)', () => {
  const c = jar();
  const seen = new Set<number>();
  for (let isn = 0; isn < 1000; isn++) seen.add(c.encode(1000, T, isn, 1460) >>> 5);
  assert.ok(seen.size > 990, `distinct MACs ${seen.size}`);
});

test('TSval option bits: wscale 0..14 or none and SACK survive the round trip', () => {
  for (const sackOk of [false, true]) {
    for (const wscale of [undefined, 0, 1, 7, 14]) {
      const bits = encodeTsOptions({ wscale, sackOk });
      assert.deepEqual(decodeTsOptions(0x12345600 | bits), { wscale, sackOk });
    }
  }
  assert.equal(decodeTsOptions(0x20), null, 'reserved bit set');
  assert.deepEqual(encodeTsOptions({ wscale: 20, sackOk: false }), encodeTsOptions({ wscale: 14, sackOk: false }), 'RFC 7323: >14 is 14');
});

test('cookie TSval never exceeds our timestamp clock, so later TSvals do not go backwards', () => {
  const c = jar();
  const r = seededRandom(3);
  for (let i = 0; i < 10_000; i++) {
    const clock = r.u32();
    const o = { wscale: i % 16 === 15 ? undefined : i % 15, sackOk: (i & 1) === 1 };
    const ts = c.tsVal(clock, o);
    const behind = (clock - ts) >>> 0;
    assert.ok(behind < 64, `TSval ${ts} is ${behind} behind clock ${clock}`);
    assert.deepEqual(decodeTsOptions(ts), o);
  }
});

test('the timestamp offset is per tuple and stable under one key', () => {
  const c = jar();
  assert.equal(c.tsOffset(T), c.tsOffset({ ...T }));
  assert.notEqual(c.tsOffset(T), c.tsOffset({ ...T, remotePort: 40001 }));
  assert.notEqual(c.tsOffset(T), jar(9).tsOffset(T));
});
