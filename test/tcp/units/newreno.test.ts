// NewReno (RFC 5681): initial window, slow start with byte counting, congestion avoidance,
// loss, recovery end, timeout, idle restart; plus the controller registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNewReno, initialWindow } from '../../../src/tcp/congestion/newreno.js';
import { createCongestion } from '../../../src/tcp/congestion/index.js';

const MSS = 1460;

test('initial window per RFC 6928: min(10*MSS, max(2*MSS, 14600)); ssthresh starts infinite', () => {
  assert.equal(initialWindow(1460), 14600);
  assert.equal(initialWindow(536), 5360);
  assert.equal(initialWindow(9000), 18000);
  const cc = createNewReno(MSS);
  assert.equal(cc.name, 'newreno');
  assert.equal(cc.cwnd, 14600);
  assert.equal(cc.ssthresh, Number.POSITIVE_INFINITY);
});

test('slow start grows by min(acked, 2*SMSS) per ACK and doubles per round trip', () => {
  const cc = createNewReno(MSS);
  cc.onAck(MSS, 0, 0);
  assert.equal(cc.cwnd, 14600 + 1460);
  cc.onAck(5000, 0, 0); // a stretch ACK is capped at L = 2*SMSS
  assert.equal(cc.cwnd, 14600 + 1460 + 2920);
  cc.onAck(0, 0, 0);
  cc.onAck(-5, 0, 0);
  assert.equal(cc.cwnd, 14600 + 1460 + 2920);
  const c2 = createNewReno(MSS);
  const start = c2.cwnd;
  for (let i = 0; i < start / MSS; i++) c2.onAck(MSS, 0, 0); // one window of per-segment ACKs
  assert.equal(c2.cwnd, 2 * start);
});

test('slow start stops at ssthresh and carries the remainder into congestion avoidance', () => {
  const cc = createNewReno(MSS);
  cc.onTimeout(0, 20000); // ssthresh 10000, cwnd 1460
  assert.equal(cc.ssthresh, 10000);
  assert.equal(cc.cwnd, MSS);
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) {
    cc.onAck(MSS, 0, 0);
    seen.push(cc.cwnd);
  }
  assert.deepEqual(seen, [2920, 4380, 5840, 7300, 8760, 10000]);
  // 220 bytes of that last ACK count toward avoidance: 9780 more bytes reach one cwnd.
  cc.onAck(9779, 0, 0);
  assert.equal(cc.cwnd, 10000);
  cc.onAck(1, 0, 0);
  assert.equal(cc.cwnd, 10000 + MSS);
});

test('congestion avoidance adds one SMSS per window of acknowledged bytes (~1 SMSS per RTT)', () => {
  const cc = createNewReno(MSS);
  cc.onLoss(0, 2 * 14600); // ssthresh = cwnd = 14600
  assert.equal(cc.cwnd, 14600);
  for (let rtt = 1; rtt <= 5; rtt++) {
    const before: number = cc.cwnd;
    for (let i = 0; i < Math.floor(before / MSS); i++) cc.onAck(MSS, 0, 0);
    assert.equal(cc.cwnd, before + MSS, `after RTT ${rtt}`);
  }
});

test('onLoss: ssthresh = max(FlightSize/2, 2*SMSS), cwnd = ssthresh; onRecoveryEnd deflates to ssthresh', () => {
  const cc = createNewReno(MSS);
  cc.onLoss(0, 30001);
  assert.equal(cc.ssthresh, 15000);
  assert.equal(cc.cwnd, 15000);
  cc.onLoss(0, 1000);
  assert.equal(cc.ssthresh, 2 * MSS);
  cc.onAck(5 * MSS, 0, 0); // avoidance
  cc.onRecoveryEnd(0);
  assert.equal(cc.cwnd, 2 * MSS);
});

test('onTimeout: ssthresh from FlightSize, cwnd = 1 SMSS (loss window), then slow start again', () => {
  const cc = createNewReno(MSS);
  cc.onTimeout(0, 50000);
  assert.equal(cc.ssthresh, 25000);
  assert.equal(cc.cwnd, MSS);
  cc.onAck(MSS, 0, 0);
  assert.equal(cc.cwnd, 2 * MSS);
});

test('onIdleRestart: cwnd = min(cwnd, IW) (RFC 5681 section 4.1)', () => {
  const cc = createNewReno(MSS);
  for (let i = 0; i < 30; i++) cc.onAck(MSS, 0, 0);
  assert.ok(cc.cwnd > 14600);
  cc.onIdleRestart(0);
  assert.equal(cc.cwnd, 14600);
  cc.onTimeout(0, 8000);
  cc.onIdleRestart(0);
  assert.equal(cc.cwnd, MSS);
});

test('setMss keeps the window at least one new segment', () => {
  const cc = createNewReno(MSS);
  cc.onTimeout(0, 1000);
  cc.setMss(9000);
  assert.equal(cc.cwnd, 9000);
  cc.onAck(9000, 0, 0);
  assert.equal(cc.cwnd, 18000);
});

test('createCongestion builds each controller by name', () => {
  assert.equal(createCongestion('newreno', MSS).name, 'newreno');
  assert.equal(createCongestion('cubic', MSS).name, 'cubic');
  assert.equal(createCongestion('cubic', MSS).cwnd, 14600);
  assert.throws(() => createCongestion('bbr' as never, MSS), TypeError);
});
