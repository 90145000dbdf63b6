// RACK-TLP (RFC 8985) as packet traces: the Tail Loss Probe at the PTO sending new data or the last
// segment (7.2, 7.3), the RTO as last resort when probes are lost, RACK marking a segment lost once
// the reordering window passed without three duplicate ACKs (6.2 step 5), and reordering inside the
// window causing no retransmission (6.2 steps 3-4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, synReceived, expectSeg, expectNothing, describe, ACK, PSH, LOCAL_ISS } from '../helpers/tcp.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';
import type { TcpOptions, TcpRepr } from '../../src/wire/tcp.js';

const L = LOCAL_ISS + 1;

/** ESTABLISHED with SACK, peer MSS 1000, and a handshake RTT of 20 ms: SRTT 20, RTO 200 (min). */
function est(over: TcpConfigInput = {}): Harness {
  const h = synReceived({ sack: true, rack: true, ...over }, { mss: 1000, sackPermitted: true });
  h.advanceTo(20);
  h.send({ seq: h.rseq, ack: L, flags: ACK });
  h.flush();
  assert.equal(h.state, 'ESTABLISHED');
  assert.equal(h.conn.stats().rtt, 20);
  assert.equal(h.conn.stats().rto, 200);
  return h;
}

/** The peer acknowledges up to L + off, with SACK blocks [left, right) given as offsets. */
function ack(h: Harness, off: number, sacks: [number, number][] = []): TcpRepr[] {
  const options: TcpOptions = sacks.length ? { sack: sacks.map(([l, r]) => ({ left: L + l, right: L + r })) } : {};
  return h.send({ seq: h.rseq, ack: L + off, flags: ACK, options });
}

const offsets = (segs: TcpRepr[]) => segs.map((s) => [s.seq - L, s.payload.length]);
const bytes = (n: number) => new Uint8Array(n).fill(7);

test('TLP: at PTO = 2*SRTT (+2 ms) a probe sends new data beyond cwnd; lost probes leave the RTO to fire', () => {
  const h = est();
  h.conn.send(bytes(12000));
  assert.equal(h.poll().length, 10, 'IW10 fills the congestion window');
  assert.equal(h.conn.pollAt(), 20 + 42, 'PTO = 2*20 + 2 ms, before the RTO at 220');
  expectNothing(h.advanceTo(61));
  expectSeg(h.advanceTo(62), { flags: ACK, seq: L + 10000, len: 1000 }, 'probe: the next unsent segment');
  assert.equal(h.conn.stats().tlpProbes, 1);
  assert.equal(h.conn.stats().retransSegs, 0, 'a new-data probe is no retransmission');
  // The probe is lost as well: no second probe; the RTO, restarted by the probe, fires.
  assert.equal(h.conn.pollAt(), 62 + 200);
  expectSeg(h.advanceTo(262), { flags: ACK, seq: L, len: 1000 }, 'RTO retransmits the first segment');
  assert.equal(h.conn.stats().timeouts, 1);
  assert.equal(h.conn.stats().cwnd, 1000);
  assert.equal(h.conn.pollAt(), 662, 'backed off to 400 ms; no probe during RTO recovery');
  assert.deepEqual(offsets(ack(h, 11000)), [[11000, 1000]], 'everything arrived after all: the rest goes');
  expectNothing(ack(h, 12000));
  assert.equal(h.conn.pollAt(), Infinity);
});

test('TLP: with nothing new to send the probe retransmits the last segment, and its SACK repairs the head at once', () => {
  const h = est();
  h.conn.send(bytes(3000));
  assert.deepEqual(offsets(h.poll()), [[0, 1000], [1000, 1000], [2000, 1000]]);
  expectSeg(h.advanceTo(62), { flags: PSH | ACK, seq: L + 2000, len: 1000 }, 'probe retransmits the tail');
  assert.equal(h.conn.stats().retransSegs, 1);
  // The first segment was lost; the SACK for the rest (and the probe) arrives one RTT later.
  h.advanceTo(82);
  expectSeg(ack(h, 0, [[1000, 3000]]), { flags: ACK, seq: L, len: 1000 }, 'RACK: sent before the SACKed probe, an RTT + reo_wnd ago: lost');
  assert.equal(h.conn.info().inRecovery, true);
  assert.equal(h.conn.stats().fastRetransmits, 1);
  assert.equal(h.conn.stats().dupAcks, 1, 'one duplicate ACK was enough');
  expectNothing(ack(h, 3000));
  assert.equal(h.conn.info().inRecovery, false);
  assert.equal(h.conn.stats().timeouts, 0, 'no RTO');
  assert.equal(h.conn.pollAt(), Infinity);
});

test('TLP: one segment in flight waits 2*SRTT + 200 ms (delayed-ACK allowance), capped at the RTO', () => {
  const h = est();
  h.conn.send(bytes(500));
  expectSeg(h.poll(), { seq: L, len: 500 });
  assert.equal(h.conn.pollAt(), 220, 'min(20 + 40 + 200, RTO at 220)');
  expectSeg(h.advanceTo(220), { seq: L, len: 500 }, 'the probe goes at the RTO time, retransmitting the segment');
  assert.equal(h.conn.stats().tlpProbes, 1);
  assert.equal(h.conn.stats().timeouts, 0, 'the probe came first');
  assert.equal(h.conn.pollAt(), 420, 'RTO restarted from the probe');
  expectSeg(h.advanceTo(420), { seq: L, len: 500 });
  assert.equal(h.conn.stats().timeouts, 1);
  expectNothing(ack(h, 500));
});

test('RACK: a segment is lost once the reordering window passed, after a single SACK (no three duplicate ACKs)', () => {
  const h = est();
  h.conn.send(bytes(5000));
  assert.equal(h.poll().length, 5);
  h.advanceTo(40);
  // Segment 2 arrived, segment 1 did not: reo_wnd = min_RTT/4 = 5 ms, so 1 is lost at 20+20+5.
  expectNothing(ack(h, 0, [[1000, 2000]]), 'within the reordering window');
  assert.equal(h.conn.pollAt(), 45, 'the RACK reordering timer');
  assert.equal(h.conn.info().inRecovery, false);
  expectSeg(h.advanceTo(45), { flags: ACK, seq: L, len: 1000 }, 'reordering timer: lost, retransmitted');
  assert.equal(h.conn.info().inRecovery, true);
  assert.equal(h.conn.stats().dupAcks, 1);
  assert.equal(h.conn.stats().ssthresh, 2500, 'ssthresh = FlightSize/2 (NewReno): a congestion event');
  expectNothing(ack(h, 5000));
  assert.equal(h.conn.info().inRecovery, false);
  assert.equal(h.conn.stats().retransSegs, 1);
  assert.equal(h.conn.stats().timeouts, 0);
});

test('RACK: reordering within the window causes no retransmission, and widens later windows', () => {
  const h = est();
  h.conn.send(bytes(5000));
  assert.equal(h.poll().length, 5);
  h.advanceTo(40);
  expectNothing(ack(h, 0, [[1000, 2000]]));
  h.advanceTo(43);
  expectNothing(ack(h, 2000), 'the late segment 1 arrives before the window ends');
  assert.equal(h.conn.info().rackReorderingSeen, true);
  assert.equal(h.conn.info().inRecovery, false);
  expectNothing(h.advanceTo(45), 'no timer fires: nothing is lost');
  // Reordering was seen: three SACKed segments no longer mean loss at once (RFC 8985 6.2 step 4).
  h.advanceTo(50);
  expectNothing(ack(h, 2000, [[3000, 5000]]), 'two segments SACKed above a hole: wait reo_wnd');
  expectNothing(ack(h, 2000, [[3000, 5000]]));
  expectNothing(ack(h, 2000, [[3000, 5000]]), 'three duplicate ACKs do not trigger fast retransmit');
  assert.equal(h.conn.pollAt(), 55, 'lost at xmit 20 + RACK.rtt 30 + reo_wnd 5');
  expectNothing(h.advanceTo(54));
  expectSeg(h.advanceTo(55), { seq: L + 2000, len: 1000 });
  expectNothing(ack(h, 5000));
  assert.equal(h.conn.stats().retransSegs, 1, 'only the segment that was really missing');
});

test('rack: false keeps classic RFC 6675 recovery: a single SACK retransmits nothing until DupThresh', () => {
  const h = est({ rack: false });
  h.conn.send(bytes(5000));
  h.poll();
  h.advanceTo(40);
  expectNothing(ack(h, 0, [[1000, 2000]]));
  assert.equal(h.conn.pollAt(), 220, 'only the RTO is armed: no RACK timer, no probe');
  expectNothing(ack(h, 0, [[1000, 3000]]));
  expectSeg(ack(h, 0, [[1000, 4000]]), { seq: L, len: 1000 }, 'DupThresh duplicate ACKs');
  expectNothing(ack(h, 5000));
  assert.equal(h.conn.pollAt(), Infinity);
  void describe;
});

test('the rack option is checked', () => {
  assert.throws(() => synReceived({ rack: 'yes' as unknown as boolean }), { code: 'ERR_OUT_OF_RANGE' });
});

test('D-SACK: a duplicate of delivered data is reported first in the SACK option of the ACK (RFC 2883 4)', () => {
  const h = est();
  const R = h.rseq;
  expectSeg(h.send({ seq: R, ack: L, flags: ACK, payload: bytes(1000) }), { flags: ACK, ack: R + 1000 });
  const dup = h.send({ seq: R, ack: L, flags: ACK, payload: bytes(1000) });
  expectSeg(dup, { flags: ACK, ack: R + 1000, options: { sack: [{ left: R, right: R + 1000 }] } });
  // Reported once: the next ACK carries no SACK option.
  expectSeg(h.send({ seq: R + 1000, ack: L, flags: ACK, payload: bytes(500) }), { flags: ACK, ack: R + 1500, options: {} });
});

test('D-SACK at the sender: not taken as SACKed data; each round trip with one widens reo_wnd by min_RTT/4 (RFC 8985 6.2 step 4)', async () => {
  const { Rack } = await import('../../src/tcp/rack.js');
  const r = new Rack(0);
  r.noteRtt(20, 0);
  assert.equal(r.reoWnd(false, 3, 100), 5, 'min_RTT/4');
  r.updateReoWndMult(true, 0, 10_000, false);
  assert.equal(r.reoWnd(false, 3, 100), 10);
  r.updateReoWndMult(true, 5_000, 12_000, false);
  assert.equal(r.reoWnd(false, 3, 100), 10, 'one step per round trip: SND.UNA has not passed the D-SACK round');
  r.updateReoWndMult(true, 10_000, 20_000, false);
  assert.equal(r.reoWnd(false, 3, 100), 15);
  assert.equal(r.reoWnd(false, 3, 12), 12, 'never above SRTT');
  for (let i = 0; i < 15; i++) r.updateReoWndMult(false, 30_000, 30_000, true);
  assert.equal(r.reoWnd(false, 3, 100), 15, 'kept for 16 recoveries');
  r.updateReoWndMult(false, 30_000, 30_000, true);
  assert.equal(r.reoWnd(false, 3, 100), 5, 'then back to min_RTT/4');

  const h = est();
  h.conn.send(bytes(3000));
  h.poll();
  h.advanceTo(40);
  expectNothing(ack(h, 1000, [[0, 1000]]), 'a D-SACK below the cumulative ACK');
  assert.equal(h.conn.info().hasSacks, false, 'the D-SACK block is not recorded in the scoreboard');
  assert.equal(h.conn.info().rackReoWndMult, 2);
  expectNothing(ack(h, 3000));
});
