// CUBIC (RFC 9438): K and W(t), the cubic curve under an ACK clock, the Reno-friendly region,
// fast convergence, multiplicative decrease and timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cubic, CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, createCubic } from '../../../src/tcp/congestion/cubic.js';

const MSS = 1000;

/** Grow a fresh CUBIC in slow start to `segs` segments, then take one loss with FlightSize = cwnd. */
function afterLossAt(segs: number, now = 0, opts = {}): Cubic {
  const cc = new Cubic(MSS, opts);
  while (cc.cwnd < segs * MSS) cc.onAck(MSS, now, 0);
  assert.equal(cc.cwnd, segs * MSS);
  cc.onLoss(now, cc.cwnd);
  cc.onRecoveryEnd(now);
  return cc;
}

/** Run an ACK clock: every RTT, one ACK per MSS of the window, spread over the RTT. Returns the end time. */
function ackClock(cc: Cubic, from: number, until: number, rtt: number): number {
  let now = from;
  while (now < until) {
    const n = Math.max(1, Math.floor(cc.cwnd / MSS));
    for (let i = 0; i < n; i++) cc.onAck(MSS, now + (i * rtt) / n, rtt);
    now += rtt;
  }
  return now;
}

test('constants: C = 0.4, beta = 0.7, alpha = 3(1-beta)/(1+beta)', () => {
  assert.equal(CUBIC_C, 0.4);
  assert.equal(CUBIC_BETA, 0.7);
  assert.ok(Math.abs(CUBIC_ALPHA - 0.9 / 1.7) < 1e-15);
  const cc = createCubic(1460);
  assert.equal(cc.name, 'cubic');
  assert.equal(cc.cwnd, 14600);
  assert.equal(cc.ssthresh, Number.POSITIVE_INFINITY);
});

test('slow start below ssthresh grows like Reno (min(acked, 2*SMSS) per ACK)', () => {
  const cc = new Cubic(MSS);
  cc.onAck(MSS, 0, 0);
  assert.equal(cc.cwnd, 11000);
  cc.onAck(10 * MSS, 0, 0);
  assert.equal(cc.cwnd, 13000);
  assert.equal(cc.epochStart, undefined);
});

test('loss: W_max = cwnd, ssthresh = cwnd = 0.7 * FlightSize (at least 2 SMSS)', () => {
  const cc = afterLossAt(100);
  assert.equal(cc.wMax, 100 * MSS);
  assert.equal(cc.ssthresh, 70 * MSS);
  assert.equal(cc.cwnd, 70 * MSS);
  cc.onLoss(0, 1000);
  assert.equal(cc.ssthresh, 2 * MSS);
});

test('K = cbrt((W_max - cwnd_epoch) / C) and W(t) = C (t - K)^3 + W_max', () => {
  const cc = afterLossAt(100, 0);
  cc.onAck(MSS, 5000, 100); // first ACK in avoidance starts the epoch at cwnd_epoch = 70
  assert.equal(cc.epochStart, 5000);
  const K = Math.cbrt(30 / 0.4);
  assert.ok(Math.abs(cc.k - K) < 1e-12, `K = ${cc.k}`);
  assert.ok(Math.abs(cc.k - 4.2171633265) < 1e-9);
  assert.ok(Math.abs(cc.wCubic(0) - 70 * MSS) < 1e-6);
  assert.ok(Math.abs(cc.wCubic(K) - 100 * MSS) < 1e-9);
  assert.ok(Math.abs(cc.wCubic(K + 2) - (100 + 0.4 * 8) * MSS) < 1e-6);
  assert.ok(Math.abs(cc.wCubic(1) - (100 + 0.4 * (1 - K) ** 3) * MSS) < 1e-6);
});

test('under an ACK clock cwnd follows the cubic curve: concave up to W_max, plateau at K, convex beyond', () => {
  // A 200 ms RTT keeps Reno's estimate (about alpha segments per RTT) below the curve throughout.
  const rtt = 200;
  const cc = afterLossAt(100, 0);
  cc.onAck(MSS, 0, rtt);
  const K = cc.k;
  const checkpoints = [1, 2, 3, K, 5, 6, 7];
  let now = 0;
  for (const t of checkpoints) {
    now = ackClock(cc, now, t * 1000, rtt);
    const expected = cc.wCubic(now / 1000);
    const err = Math.abs(cc.cwnd - expected) / expected;
    assert.ok(err < 0.02, `t=${(now / 1000).toFixed(2)}s cwnd ${cc.cwnd} vs W(t) ${expected.toFixed(0)}`);
    assert.ok(cc.cwnd >= cc.wEst, 'cubic region, not Reno-friendly');
  }
  // Near K the window sits at W_max; growth there is much slower than one RTT's worth of Reno.
  const c2 = afterLossAt(100, 0);
  c2.onAck(MSS, 0, rtt);
  const atK = ackClock(c2, 0, K * 1000, rtt);
  const w1 = c2.cwnd;
  ackClock(c2, atK, atK + 500, rtt);
  assert.ok(Math.abs(w1 - 100 * MSS) < 2 * MSS, `cwnd at K ${w1}`);
  assert.ok(c2.cwnd - w1 < 0.5 * MSS, 'plateau around W_max');
});

test('Reno-friendly region: W_est grows by alpha per window and cwnd follows it when above W(t)', () => {
  const cc = afterLossAt(100, 0);
  cc.onAck(MSS, 0, 1);
  // At t = 0, W_cubic = 70 segments = cwnd_epoch, and W_est = 70 + alpha/70 is above it.
  const wEst = 70 + CUBIC_ALPHA / 70;
  assert.ok(Math.abs(cc.wEst - wEst * MSS) < 1e-6);
  assert.equal(cc.cwnd, Math.floor(wEst * MSS));
  // With a 1 ms RTT, Reno's per-RTT growth outpaces the cubic curve: W_est climbs alpha segments
  // per RTT up to W_max = 100 (30 / alpha RTTs), then one segment per RTT (alpha = 1), while
  // W(0.2 s) is barely above 70.
  const end = ackClock(cc, 1, 200, 1);
  assert.equal(cc.cwnd, Math.floor(cc.wEst));
  assert.ok(cc.wEst > cc.wCubic(end / 1000));
  const expected = (100 + (200 - 30 / CUBIC_ALPHA)) * MSS;
  assert.ok(Math.abs(cc.cwnd - expected) / expected < 0.02, `cwnd ${cc.cwnd} vs ${expected}`);
});

test('fast convergence: a loss below the previous W_max remembers cwnd * (1 + beta) / 2', () => {
  const cc = afterLossAt(100); // W_max 100, cwnd 70
  cc.onLoss(0, 70 * MSS);
  assert.equal(cc.wMax, 70 * (1 + CUBIC_BETA) / 2 * MSS);
  assert.equal(cc.ssthresh, 49 * MSS);
  const slow = afterLossAt(100, 0, { fastConvergence: false });
  slow.onLoss(0, 70 * MSS);
  assert.equal(slow.wMax, 70 * MSS);
  // A loss above the old W_max records the window as is.
  const up = afterLossAt(20);
  ackClock(up, 0, 20000, 100);
  const w = up.cwnd;
  assert.ok(w > 20 * MSS);
  up.onLoss(20000, w);
  assert.ok(Math.abs(up.wMax! - w) < MSS);
});

test('timeout: ssthresh = 0.7 * FlightSize, cwnd = 1 SMSS, slow start, then a new epoch with K from W_max', () => {
  const cc = afterLossAt(100); // W_max 100, cwnd 70
  cc.onTimeout(1000, 70 * MSS); // fast convergence: W_max = 59.5
  assert.equal(cc.cwnd, MSS);
  assert.equal(cc.ssthresh, 49 * MSS);
  assert.equal(cc.epochStart, undefined);
  while (cc.cwnd < 49 * MSS) cc.onAck(MSS, 2000, 100);
  assert.equal(cc.cwnd, 49 * MSS);
  assert.equal(cc.epochStart, undefined);
  cc.onAck(MSS, 3000, 100);
  assert.equal(cc.epochStart, 3000);
  assert.ok(Math.abs(cc.k - Math.cbrt((59.5 - 49) / 0.4)) < 1e-12);
});

test('idle restart: cwnd = min(cwnd, IW) and the epoch restarts', () => {
  const cc = afterLossAt(100);
  cc.onAck(MSS, 0, 100);
  cc.onIdleRestart(60000);
  assert.equal(cc.cwnd, 10 * MSS);
  assert.equal(cc.epochStart, undefined);
  assert.equal(cc.inSlowStart, true);
});

test('a window that never saw loss still gets a sane epoch (W_max = cwnd, K = 0)', () => {
  const cc = new Cubic(MSS);
  cc.onTimeout(0, 40 * MSS); // W_max 10 (the initial window), ssthresh 28
  while (cc.cwnd < 28 * MSS) cc.onAck(MSS, 0, 100);
  cc.onAck(MSS, 100, 100);
  assert.equal(cc.k, 0); // cwnd_epoch 28 > W_max 10
  const before = cc.cwnd;
  ackClock(cc, 100, 3000, 100);
  assert.ok(cc.cwnd > before);
});
