// The SYN-flood acceptance test (issue 10, RFC 4987): 100,000 spoofed SYNs per second of virtual
// time from random 198.18.0.0/15 sources over the seeded sim link, while legitimate clients keep
// connecting and transferring. With cookies every client gets in and the listener's memory stays
// bounded; with cookies off the same flood locks them out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSynFlood } from '../../bench/syn-flood.js';

test('under 100,000 spoofed SYNs/s for 3 virtual seconds every legitimate client connects at once and transfers intact', () => {
  const r = runSynFlood({ seed: 1, rate: 100_000, seconds: 3, backlog: 128, clientEvery: 50 });
  assert.equal(r.synsSent, 300_000);
  assert.ok(r.serverTcpIn >= r.synsSent, 'every spoofed SYN reached the server');
  // The backlog filled with half-open entries at once; every SYN after that got a cookie.
  assert.equal(r.cookiesSent, r.synsSent - 128 + r.legit.attempted);
  assert.equal(r.backlogDrops, 0);
  assert.equal(r.cookiesValid, r.legit.attempted, 'each legitimate client came back with a valid cookie');
  assert.equal(r.cookiesFailed, 0);
  assert.equal(r.legit.attempted, 60);
  assert.deepEqual(r.legit.errors, []);
  assert.equal(r.legit.completed, 60, '20,000 bytes each way, hashes match, clean close');
  assert.ok(r.legit.latencies.every((t) => t === 10), `connect latency is one RTT: ${[...new Set(r.legit.latencies)].join(',')}`);
  // Bounded memory: the SYN queue never exceeds the backlog and the connection table holds only
  // the backlog's half-open entries plus the legitimate connections alive at the time.
  assert.equal(r.maxPending, 128);
  assert.ok(r.maxConnections <= 128 + 4, `connection table peaked at ${r.maxConnections}`);
  assert.equal(r.leftConnections, 0);
  assert.equal(r.leftTimers, 0);
});

test("the same flood with synCookies 'never' locks the legitimate clients out", () => {
  const r = runSynFlood({ seed: 1, rate: 100_000, seconds: 1, backlog: 128, clientEvery: 50, synCookies: 'never' });
  assert.equal(r.cookiesSent, 0);
  assert.ok(r.backlogDrops > 99_000, `dropped ${r.backlogDrops}`);
  assert.equal(r.legit.attempted, 20);
  assert.equal(r.legit.connected, 0, 'no SYN (or SYN retry) found room in the backlog');
  assert.ok(r.legit.errors.every((e) => e.endsWith('ETIMEDOUT')) && r.legit.errors.length === 20);
  assert.equal(r.maxPending, 128);
  assert.equal(r.leftConnections, 0);
});
