// Proportional Rate Reduction (RFC 6937) in SACK-based fast recovery, as exact segment traces:
// entering recovery sends one segment (the fast retransmit), and every further ACK releases what
// PRR allows (one segment per delivered segment while the pipe is below ssthresh, in proportion
// above it), not the burst the congestion window would allow at once. Checked for RACK and for
// RFC 6675 (DupThresh) loss detection, with NewReno and CUBIC.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, synReceived, ACK, LOCAL_ISS } from '../helpers/tcp.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';
import type { TcpOptions, TcpRepr } from '../../src/wire/tcp.js';
import { Prr } from '../../src/tcp/prr.js';

const L = LOCAL_ISS + 1;

function est(over: TcpConfigInput = {}): Harness {
  const h = synReceived({ sack: true, rack: true, ...over }, { mss: 1000, sackPermitted: true });
  h.advanceTo(20);
  h.send({ seq: h.rseq, ack: L, flags: ACK });
  h.flush();
  assert.equal(h.state, 'ESTABLISHED');
  return h;
}

function ack(h: Harness, off: number, sacks: [number, number][] = []): TcpRepr[] {
  const options: TcpOptions = sacks.length ? { sack: sacks.map(([l, r]) => ({ left: L + l, right: L + r })) } : {};
  return h.send({ seq: h.rseq, ack: L + off, flags: ACK, options });
}

const offsets = (segs: TcpRepr[]) => segs.map((s) => [s.seq - L, s.payload.length]);

for (const rack of [true, false]) {
  for (const congestion of ['newreno', 'cubic'] as const) {
    test(`PRR (${rack ? 'RACK' : 'RFC 6675'} loss detection, ${congestion}): the first four of ten segments lost, one retransmission per SACK`, () => {
      const h = est({ rack, congestion });
      h.conn.send(new Uint8Array(10000));
      assert.equal(h.poll().length, 10, 'IW10');
      // Segments 1-4 are lost; the peer SACKs 5, 6, 7, ... one ACK each.
      h.advance(10);
      assert.deepEqual(offsets(ack(h, 0, [[4000, 5000]])), [], 'one SACKed segment is no loss yet');
      assert.deepEqual(offsets(ack(h, 0, [[4000, 6000]])), []);
      const ssthresh = congestion === 'cubic' ? 7000 : 5000; // 0.7 and 0.5 of the 10-segment flight
      assert.deepEqual(offsets(ack(h, 0, [[4000, 7000]])), [[0, 1000]], 'entering recovery: the fast retransmit alone');
      assert.equal(h.conn.info().inRecovery, true);
      assert.equal(h.conn.stats().ssthresh, ssthresh);
      // pipe = 10 - 3 SACKed - 4 lost + 1 retransmitted = 4 segments, below ssthresh: each SACKed
      // segment releases one more (PRR's reduction bound), never the 3 or 4 cwnd - pipe would allow.
      assert.deepEqual(offsets(ack(h, 0, [[4000, 8000]])), [[1000, 1000]]);
      assert.deepEqual(offsets(ack(h, 0, [[4000, 9000]])), [[2000, 1000]]);
      assert.deepEqual(offsets(ack(h, 0, [[4000, 10000]])), [[3000, 1000]]);
      assert.deepEqual(offsets(ack(h, 0, [[4000, 10000]])), [], 'a duplicate that delivers nothing releases nothing');
      // The retransmissions arrive: recovery ends, cwnd = ssthresh.
      h.advance(10);
      ack(h, 1000, [[4000, 10000]]);
      ack(h, 2000, [[4000, 10000]]);
      ack(h, 10000);
      assert.equal(h.conn.info().inRecovery, false);
      assert.equal(h.conn.info().prr, null);
      assert.equal(h.conn.stats().cwnd, ssthresh);
    });
  }
}

test('PRR above ssthresh: sends in proportion, ceil(delivered * ssthresh / RecoverFS) - out', () => {
  // Twenty segments in flight, one lost: the pipe stays above ssthresh (half the flight with
  // NewReno), so each pair of delivered segments releases one (ssthresh / RecoverFS = 1/2).
  const h = est({ rack: false, congestion: 'newreno', recvBufferSize: 64000 });
  h.conn.send(new Uint8Array(40000));
  h.poll();
  // Grow cwnd to 20 segments: ten ACKs of one segment each in slow start.
  for (let i = 1; i <= 10; i++) h.poll().length, ack(h, i * 1000);
  h.flush();
  h.advance(10);
  const segsInFlight = (h.conn.info().sndNxt - h.conn.info().sndUna) / 1000;
  assert.equal(segsInFlight, 20);
  const base = h.conn.info().sndUna - L;
  const out: number[][][] = [];
  for (let k = 1; k <= 8; k++) out.push(offsets(ack(h, base, [[base + 1000, base + 1000 + k * 1000]])));
  // The first two duplicate ACKs each send a new segment (limited transmit, RFC 3042): 22 in flight.
  assert.deepEqual(out.slice(0, 2), [[[base + 20000, 1000]], [[base + 21000, 1000]]]);
  // The third declares the loss (DupThresh): the retransmission goes at once.
  assert.deepEqual(out[2], [[base, 1000]]);
  assert.equal(h.conn.info().prr!.recoverFs, 22);
  assert.equal(h.conn.stats().ssthresh, 11000, 'NewReno halves the flight');
  // Then pipe > ssthresh: ceil(delivered * 11 / 22) - out releases one segment per two delivered.
  assert.deepEqual(out.slice(3).map((o) => o.length), [0, 1, 0, 1, 0]);
  assert.deepEqual([out[4], out[6]], [[[base + 22000, 1000]], [[base + 23000, 1000]]], 'new data, not a second retransmission');
  assert.deepEqual([h.conn.info().prr!.delivered, h.conn.info().prr!.out], [6, 3]);
});

test('the PRR formula on its own (RFC 6937 section 3, Linux tcp_cwnd_reduction)', () => {
  const p = new Prr(10);
  p.onAck(1, 4, 7, false);
  assert.equal(p.sndcnt, 1, 'the first ACK of recovery: at least the fast retransmit');
  p.onSend();
  p.onAck(1, 4, 7, false);
  assert.equal(p.sndcnt, 1, 'reduction bound: max(delivered - out, DeliveredData)');
  p.onSend();
  p.onAck(2, 3, 7, true);
  assert.equal(p.sndcnt, 2 + 1, 'a safe ACK (SND.UNA advanced, no new loss) adds one segment');
  p.onAck(3, 6, 7, true);
  assert.equal(p.sndcnt, 1, 'never beyond ssthresh - pipe');
  const q = new Prr(20);
  q.onAck(4, 16, 10, false);
  assert.equal(q.sndcnt, 2, 'ceil(4 * 10 / 20) - 0');
  q.onSend();
  q.onSend();
  q.onAck(1, 16, 10, false);
  assert.equal(q.sndcnt, 1, 'ceil(5 * 10 / 20) - 2');
  q.onAck(0, 16, 10, false);
  assert.equal(q.sndcnt, 1, 'an ACK that delivers nothing changes nothing');
});
