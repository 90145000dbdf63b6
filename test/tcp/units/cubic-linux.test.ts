// Linux's CUBIC (cubicRule 'linux', src/tcp/congestion/cubic-linux.ts): the fixed-point cube root,
// ssthresh from cwnd on a timeout, HyStart's delay and ACK-train exits, growth in whole segments.
// The upstream cubic scripts and test/conformance/cubic-*-linux.pkt check it against Linux 6.18.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinuxCubic, cubicRoot } from '../../../src/tcp/congestion/cubic-linux.js';

const MSS = 1000;

test('cubic_root: within 1% of the cube root over the range bictcp_update uses', () => {
  assert.equal(cubicRoot(0n), 0);
  for (const a of [1n, 8n, 27n, 64n, 1000n, 2681735677n, 2681735677n * 3n, 1n << 50n, 10n ** 17n]) {
    const exact = Math.cbrt(Number(a));
    assert.ok(Math.abs(cubicRoot(a) - exact) <= Math.max(1, exact * 0.01), `cbrt(${a}) = ${cubicRoot(a)}, exact ${exact}`);
  }
});

test('a timeout takes ssthresh from cwnd (717/1024), not from the flight, once until an ACK advances', () => {
  const c = new LinuxCubic(MSS);
  assert.equal(c.cwnd, 10 * MSS);
  c.onTimeout(1000, 1 * MSS); // one segment in flight; RFC 9438 would give 2 segments
  assert.deepEqual([c.cwnd, c.ssthresh], [MSS, 7 * MSS]);
  c.onTimeout(2000, 1 * MSS); // backed-off timeout, no ACK between: ssthresh stays
  assert.equal(c.ssthresh, 7 * MSS);
  // Slow start in whole segments up to ssthresh, then congestion avoidance (cnt at least 2).
  c.onAck(3 * MSS, 2100, 100);
  assert.equal(c.cwnd, 4 * MSS);
  c.onAck(5 * MSS, 2200, 100);
  assert.equal(c.cwnd, 7 * MSS);
  c.onTimeout(3000, 7 * MSS);
  assert.deepEqual([c.cwnd, c.ssthresh], [MSS, 4 * MSS]);
});

test('fast recovery: ssthresh = max(cwnd * 717 / 1024, 2) segments; cwnd back to it at the end', () => {
  const c = new LinuxCubic(MSS);
  c.onLoss(0, 10 * MSS);
  assert.deepEqual([c.cwnd, c.ssthresh], [7 * MSS, 7 * MSS]);
  c.onRecoveryEnd(100);
  assert.equal(c.cwnd, 7 * MSS);
  const small = new LinuxCubic(MSS);
  small.onTimeout(0, MSS);
  small.onAck(MSS, 10, 100);
  small.onLoss(20, 2 * MSS);
  assert.equal(small.ssthresh, 2 * MSS);
});

test('HyStart delay: from cwnd 16, the ninth sample of a round over min RTT + 1/8 ends slow start', () => {
  const c = new LinuxCubic(MSS);
  let una = 1;
  c.onRttSample(100, 0, una, 10_001); // minimum 100 ms
  c.onAck(10 * MSS, 0, 100);
  assert.equal(c.cwnd, 20 * MSS);
  let now = 215;
  for (let i = 1; i <= 9; i++, now += 3) {
    una += 2000;
    c.onRttSample(115, now, una, 30_001); // 3 ms apart: no ACK train
    if (i < 9) assert.equal(c.ssthresh, Infinity, `sample ${i}`);
    c.onAck(2 * MSS, now, 100);
  }
  assert.equal(c.ssthresh, 36 * MSS);
  assert.equal(c.cwnd, 36 * MSS); // the ACK that found it grew nothing: slow start was over
  // Samples within the eighth (110 ms < 112.5 ms) do not end it.
  const d = new LinuxCubic(MSS);
  d.onRttSample(100, 0, 1, 10_001);
  d.onAck(10 * MSS, 0, 100);
  for (let i = 1, t = 215; i <= 12; i++, t += 3) {
    d.onRttSample(110, t, 1 + 2000 * i, 30_001);
    d.onAck(2 * MSS, t, 100);
  }
  assert.equal(d.ssthresh, Infinity);
});

test('HyStart ACK train: ACKs closer than 2 ms for over half the minimum RTT end slow start', () => {
  const c = new LinuxCubic(MSS);
  c.onRttSample(20, 0, 1, 10_001);
  c.onAck(10 * MSS, 0, 20);
  let found = -1;
  for (let i = 1, t = 30; i <= 20; i++, t += 1.5) {
    c.onRttSample(20, t, 1 + 1000 * i, 40_001);
    if (found < 0 && c.ssthresh !== Infinity) found = i;
    c.onAck(MSS, t, 20);
  }
  // Round start at the first sample; the train passes (20 + 1) / 2 = 10.5 ms at the eighth ACK (10.5 ms is not over).
  assert.equal(found, 9);
});
