// RFC 6298 estimator: exact SRTT/RTTVAR/RTO for a known sample sequence, clamps and backoff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RttEstimator } from '../../../src/tcp/rtt.js';

const params = { initialRto: 1000, minRto: 200, maxRto: 60000 };

test('before any sample the RTO is the initial RTO and SRTT is 0', () => {
  const e = new RttEstimator(params);
  assert.equal(e.rto, 1000);
  assert.equal(e.srtt, 0);
  assert.equal(e.rttvar, 0);
  assert.equal(e.samples, 0);
});

test('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR (RFC 6298 (2.2))', () => {
  const e = new RttEstimator(params);
  e.sample(100);
  assert.equal(e.srtt, 100);
  assert.equal(e.rttvar, 50);
  assert.equal(e.rto, 300);
  assert.equal(e.samples, 1);
});

test('later samples follow (2.3) with alpha 1/8, beta 1/4 exactly', () => {
  const e = new RttEstimator(params);
  e.sample(100); // srtt 100, rttvar 50
  e.sample(200); // rttvar = 0.75*50 + 0.25*100 = 62.5; srtt = 87.5 + 25 = 112.5
  assert.equal(e.rttvar, 62.5);
  assert.equal(e.srtt, 112.5);
  assert.equal(e.rto, 112.5 + 250);
  e.sample(80); // rttvar = 0.75*62.5 + 0.25*32.5 = 46.875 + 8.125 = 55; srtt = 98.4375 + 10 = 108.4375
  assert.equal(e.rttvar, 55);
  assert.equal(e.srtt, 108.4375);
  assert.equal(e.rto, 108.4375 + 220);
  assert.equal(e.samples, 3);
});

test('a steady RTT converges: RTTVAR decays, RTO is clamped at minRto', () => {
  const e = new RttEstimator(params);
  for (let i = 0; i < 100; i++) e.sample(10);
  assert.equal(e.srtt, 10);
  assert.ok(e.rttvar < 1e-9);
  assert.equal(e.rto, 200);
});

test('granularity G bounds the variance term from below', () => {
  const e = new RttEstimator({ initialRto: 1000, minRto: 0, maxRto: 60000, granularity: 50 });
  for (let i = 0; i < 60; i++) e.sample(100);
  assert.equal(e.rto, 150);
});

test('RTO is clamped to maxRto for huge samples', () => {
  const e = new RttEstimator({ initialRto: 1000, minRto: 200, maxRto: 5000 });
  e.sample(4000); // 4000 + 8000
  assert.equal(e.rto, 5000);
});

test('backoff doubles up to maxRto; the next sample recomputes RTO and ends the backoff', () => {
  const e = new RttEstimator({ initialRto: 1000, minRto: 200, maxRto: 10000 });
  e.backoff();
  assert.equal(e.rto, 2000);
  e.backoff();
  e.backoff();
  assert.equal(e.rto, 8000);
  e.backoff();
  assert.equal(e.rto, 10000);
  e.backoff();
  assert.equal(e.rto, 10000);
  assert.equal(e.backoffs, 5);
  e.sample(100);
  assert.equal(e.rto, 300);
  assert.equal(e.backoffs, 0);
});

test('invalid samples (negative, NaN, Infinity) are ignored', () => {
  const e = new RttEstimator(params);
  e.sample(-1);
  e.sample(Number.NaN);
  e.sample(Number.POSITIVE_INFINITY);
  assert.equal(e.samples, 0);
  assert.equal(e.rto, 1000);
  e.sample(0);
  assert.equal(e.samples, 1);
  assert.equal(e.rto, 200); // 0 + max(G=1, 0) -> clamped to minRto
});

test('RFC 6298 (5.7): RTO raised to 3 s after SYN loss only while no sample exists', () => {
  const e = new RttEstimator(params);
  e.backoff();
  e.resetAfterSynLoss();
  assert.equal(e.rto, 3000);
  assert.equal(e.backoffs, 0);
  e.sample(100);
  e.resetAfterSynLoss();
  assert.equal(e.rto, 300);
});

test('Linux rule: RTO = SRTT + RTTVAR, RTTVAR at least minRto, decaying once per round trip', () => {
  const linux = new RttEstimator({ initialRto: 1000, minRto: 200, maxRto: 120_000, linux: true });
  const rfc = new RttEstimator({ initialRto: 1000, minRto: 200, maxRto: 120_000 });
  linux.sample(20, 1, 1001);
  rfc.sample(20);
  assert.equal(linux.rto, 220, '20 + max(2*20, 200)');
  assert.equal(rfc.rto, 200, 'max(200, 20 + 4*10)');
  // A steady 20 ms: the deviation shrinks, but RTTVAR stays at the 200 ms floor.
  // (A round ends when SND.UNA passes the SND.NXT recorded at its start.)
  for (let i = 0; i < 20; i++) linux.sample(20, 1002 + i * 1000, 2001 + i * 1000);
  assert.equal(linux.rto, 220);
  // A jump to 300 ms raises RTTVAR at once (the round's largest deviation)...
  linux.sample(300, 21_002, 22_001);
  const srtt = 20 + 280 / 8;
  assert.ok(Math.abs(linux.srtt - srtt) < 1e-9);
  assert.ok(linux.rto > srtt + 200, `RTTVAR rose above the floor: rto ${linux.rto}`);
  const high = linux.rto;
  // ...and only decays a quarter of the way per round trip.
  linux.sample(55, 21_500, 22_500); // same round (SND.UNA not past 22_001): no decay
  const sameRound = linux.rto;
  assert.ok(Math.abs(sameRound - high) < 0.01, 'RTTVAR kept within the round');
  linux.sample(55, 22_002, 23_001); // next round
  assert.ok(linux.rto < sameRound && linux.rto > 255, `decays gradually: ${high} -> ${sameRound} -> ${linux.rto}`);
  linux.backoff();
  assert.equal(linux.backoffs, 1);
});
