// The RACK state on its own (RFC 8985 sections 6.1-6.3): transmit records split by retransmissions,
// RACK.segment with transmission-order ties, time-based loss marking, pipe, and marking on an RTO.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rack } from '../../../src/tcp/rack.js';

/** A SACK scoreboard stand-in: which ranges count as wholly selectively acknowledged. */
const sacked = (covers: (start: number, end: number) => boolean) => ({ covers });

test('a retransmission inside a sent range splits it and stamps only the part sent again', () => {
  const r = new Rack(1000);
  r.onTransmit(1000, 1000, 0);
  r.onTransmit(2000, 1000, 0);
  assert.equal(r.size, 2);
  r.onTransmit(1200, 300, 50); // [1200, 1500) again
  assert.equal(r.size, 4, '[1000,1200) [1200,1500) [1500,2000) [2000,3000)');
  assert.equal(r.pipe(), 2000, 'a retransmitted range is in flight once');
  // The cumulative ACK to 1200 delivers [1000,1200) (sent at 0, never retransmitted): RTT 60.
  r.onAck(1200, null, 60, -1);
  assert.equal(r.rtt, 60);
  assert.equal(r.xmitTs, 0);
  assert.equal(r.size, 3);
});

test('SACKed ranges are delivered; earlier-sent ones are lost after RACK.rtt + reo_wnd, not before', () => {
  const r = new Rack(0);
  for (let i = 0; i < 4; i++) r.onTransmit(i * 100, 100, 10);
  r.noteRtt(20, 0);
  // [200,300) SACKed at 30: RACK.rtt 20, RACK.segment sent at 10 after [0,100) and [100,200).
  r.onAck(0, sacked((s, e) => s >= 200 && e <= 300), 30, -1);
  assert.equal(r.segsSacked, 1);
  assert.equal(r.detectLoss(30, 5), 0);
  assert.equal(r.lossTimeout, 5, '10 + 20 + 5 - 30 = 5 ms to wait');
  assert.equal(r.detectLoss(35, 5), 2, 'both earlier ranges are lost at 35');
  assert.equal(r.lossTimeout, 0);
  assert.deepEqual(r.firstLost(), { start: 0, end: 100, xmitTs: 10, order: 1, retrans: false, lost: true, sacked: false });
  assert.equal(r.pipe(), 100, 'only [300,400) is in flight');
  r.onTransmit(0, 100, 36);
  assert.equal(r.pipe(), 200, 'the retransmission is in flight again');
});

test('equal send times: the range sent later in order is the later one (a retransmission after new data)', () => {
  const r = new Rack(0);
  r.onTransmit(0, 100, 10);
  r.onTransmit(100, 100, 10);
  r.onTransmit(0, 100, 20); // retransmission of [0,100)
  r.onTransmit(200, 100, 20); // new data in the same millisecond, after it
  r.noteRtt(1, 0);
  // [200,300) delivered at 25: the retransmission went before it, so it may be lost...
  r.onAck(0, sacked((s) => s === 200), 25, -1);
  assert.equal(r.detectLoss(100, 0), 2, '[0,100) retransmitted earlier and [100,200)');
  const q = new Rack(0);
  q.onTransmit(0, 100, 10);
  q.onTransmit(100, 100, 10);
  q.onTransmit(200, 100, 20);
  q.onTransmit(0, 100, 20); // the retransmission goes after the new data this time
  q.noteRtt(1, 0);
  q.onAck(0, sacked((s) => s === 200), 25, -1);
  assert.equal(q.detectLoss(100, 0), 1, 'only [100,200): the later retransmission is not judged by an earlier send');
});

test('an ACK for a retransmitted range sooner than min_RTT gives no sample (6.2 step 2)', () => {
  const r = new Rack(0);
  r.onTransmit(0, 100, 0);
  r.noteRtt(50, 0);
  r.onTransmit(0, 100, 100);
  r.onAck(100, null, 110, -1);
  assert.equal(r.xmitTs, -1, 'RACK.segment unchanged: 10 ms is less than min_RTT');
  const t = new Rack(0);
  t.onTransmit(0, 100, 0);
  t.noteRtt(5, 0);
  t.onTransmit(0, 100, 100);
  t.onAck(100, null, 110, 50);
  assert.equal(t.xmitTs, -1, 'TSecr older than the retransmission: the ACK is for the original');
  t.onTransmit(100, 100, 120);
  t.onAck(200, null, 130, 120);
  assert.equal(t.xmitTs, 120);
  assert.equal(t.rtt, 10);
});

test('reordering is seen when a never-retransmitted range is delivered below RACK.fack (6.2 step 3)', () => {
  const r = new Rack(0);
  for (let i = 0; i < 3; i++) r.onTransmit(i * 100, 100, 0);
  r.onAck(0, sacked((s) => s === 100), 5, -1);
  assert.equal(r.reorderingSeen, false);
  r.onAck(300, null, 6, -1);
  assert.equal(r.reorderingSeen, true);
  assert.equal(r.isEmpty, true);
});

test('on an RTO every range not SACKed is lost and out of the pipe', () => {
  const r = new Rack(0);
  for (let i = 0; i < 3; i++) r.onTransmit(i * 100, 100, 0);
  r.onAck(0, sacked((s) => s === 100), 5, -1);
  r.markLossesOnRto();
  assert.equal(r.pipe(), 0);
  assert.equal(r.firstLost()?.start, 0);
  r.onTransmit(0, 100, 300);
  assert.equal(r.pipe(), 100);
  assert.equal(r.firstLost()?.start, 200);
});

test('the record ring keeps sequence order across growth, wrap-around and a split retransmission', () => {
  const r = new Rack(0);
  for (let i = 0; i < 40; i++) r.onTransmit(i * 100, 100, i); // grows past its first 16 slots twice
  assert.equal(r.size, 40);
  r.onAck(3000, null, 50, -1); // the front 30 go: the oldest left is [3000,3100)
  for (let i = 40; i < 60; i++) r.onTransmit(i * 100, 100, i); // new ranges wrap around the ring
  assert.equal(r.size, 30);
  assert.equal(r.headXmitTs, 30);
  r.onTransmit(5850, 300, 70); // [5850,6000) of [5800,5900) and [5900,6000), then new [6000,6150)
  assert.equal(r.size, 32);
  const all = Array.from({ length: r.size }, (_, i) => r.range(i));
  for (let i = 1; i < all.length; i++) assert.equal(all[i]!.start, all[i - 1]!.end, `contiguous at ${i}`);
  assert.deepEqual(
    all.slice(-5).map((s) => [s.start, s.end, s.xmitTs, s.retrans]),
    [
      [5700, 5800, 57, false],
      [5800, 5850, 58, false],
      [5850, 5900, 70, true],
      [5900, 6000, 70, true],
      [6000, 6150, 70, false],
    ],
  );
  assert.equal(r.pipe(), 6150 - 3000);
  r.markLossesOnRto();
  assert.deepEqual(r.firstLost(), { start: 3000, end: 3100, xmitTs: 30, order: 31, retrans: false, lost: true, sacked: false });
  r.onAck(6150, null, 80, -1);
  assert.equal(r.isEmpty, true);
});
