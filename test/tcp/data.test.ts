// The data path as packet traces: delayed ACK (RFC 5681 4.2), Nagle (RFC 9293 3.7.4), fast
// retransmit and NewReno partial ACKs (RFC 5681 3.2, RFC 6582), RTO backoff and go-back (RFC 6298),
// persist probes (RFC 9293 3.8.6.1), window scaling (RFC 7323 2), SACK blocks (RFC 2018 4),
// timestamps and PAWS (RFC 7323 3-5), window updates and the out-of-order bound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Harness, Pair, expectSeg, expectNothing, matchSeg, establishedWith, describe,
  ACK, PSH, FIN, RST, LOCAL_ISS, REMOTE_ISS,
} from '../helpers/tcp.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';
import type { TcpOptions } from '../../src/wire/tcp.js';

const L = LOCAL_ISS + 1; // our first data byte
const R = REMOTE_ISS + 1; // the peer's first data byte

/** ESTABLISHED with a peer MSS of 1000 (plus `opts` on its SYN). */
function est(over: TcpConfigInput = {}, opts: TcpOptions = {}, ackOpts: TcpOptions = {}): Harness {
  return establishedWith(over, { mss: 1000, ...opts }, ackOpts);
}

const bytes = (n: number, v = 1) => new Uint8Array(n).fill(v);

/** The peer sends `len` bytes at R + off. */
function data(h: Harness, off: number, len: number, extra: { options?: TcpOptions; flags?: number } = {}) {
  return h.send({ seq: R + off, ack: h.conn.info().sndNxt, flags: extra.flags ?? ACK, payload: bytes(len), ...(extra.options ? { options: extra.options } : {}) });
}

/** The peer acknowledges up to L + off with window `win`. */
function ack(h: Harness, off: number, win = 65535, options?: TcpOptions) {
  return h.send({ seq: h.conn.info().rcvNxt, ack: L + off, flags: ACK, window: win, ...(options ? { options } : {}) });
}

// --- receiving ---------------------------------------------------------------------------------

test('delayed ACK: every second full segment at once, a lone one after the delay', () => {
  const h = est({ delayedAck: 40 });
  expectNothing(data(h, 0, 1000));
  assert.equal(h.conn.pollAt(), 40);
  h.advance(10);
  expectSeg(data(h, 1000, 1000), { flags: ACK, seq: L, ack: R + 2000, len: 0 });
  assert.equal(h.conn.pollAt(), Infinity);
  h.advance(10);
  expectNothing(data(h, 2000, 1000));
  expectNothing(h.advanceTo(59));
  expectSeg(h.advanceTo(60), { flags: ACK, seq: L, ack: R + 3000 });
  assert.equal(h.conn.pollAt(), Infinity);
});

test('delayed ACK: out-of-order data and the segment filling the hole are ACKed at once', () => {
  const h = est({ delayedAck: 40 });
  expectSeg(data(h, 1000, 1000), { flags: ACK, ack: R });
  expectSeg(data(h, 0, 1000), { flags: ACK, ack: R + 2000 });
});

test('Nagle: a small write goes at once, later small writes wait for the ACK and then go together', () => {
  const h = est();
  h.conn.send(new TextEncoder().encode('a'));
  expectSeg(h.poll(), { flags: PSH | ACK, seq: L, payload: 'a' });
  h.conn.send(new TextEncoder().encode('b'));
  expectNothing(h.poll());
  h.conn.send(new TextEncoder().encode('c'));
  expectNothing(h.poll());
  expectSeg(ack(h, 1), { flags: PSH | ACK, seq: L + 1, payload: 'bc' });
});

test('noDelay: every small write leaves at once', () => {
  const h = est({ noDelay: true });
  for (const [i, ch] of ['a', 'b', 'c'].entries()) {
    h.conn.send(new TextEncoder().encode(ch));
    expectSeg(h.poll(), { flags: PSH | ACK, seq: L + i, payload: ch });
  }
});

test('Nagle still sends full segments while data is outstanding', () => {
  const h = est();
  h.conn.send(bytes(1));
  h.poll();
  h.conn.send(bytes(2500));
  const out = h.poll();
  assert.deepEqual(out.map((s) => [s.seq - L, s.payload.length]), [[1, 1000], [1001, 1000]]);
});

// --- loss recovery -------------------------------------------------------------------------------

test('fast retransmit on the third duplicate ACK, NewReno partial ACK, full ACK ends recovery', () => {
  const h = est();
  h.conn.send(bytes(5000));
  const first = h.poll();
  assert.deepEqual(first.map((s) => s.seq - L), [0, 1000, 2000, 3000, 4000]);
  h.advance(50);
  expectNothing(ack(h, 1000));
  expectNothing(ack(h, 1000), 'dup 1');
  expectNothing(ack(h, 1000), 'dup 2');
  expectSeg(ack(h, 1000), { flags: ACK, seq: L + 1000, len: 1000 }, 'dup 3: fast retransmit');
  assert.equal(h.conn.info().inRecovery, true);
  assert.equal(h.conn.stats().ssthresh, 2000, 'ssthresh = FlightSize/2 = 4000/2');
  expectSeg(ack(h, 3000), { flags: ACK, seq: L + 3000, len: 1000 }, 'partial ACK retransmits the next hole');
  assert.equal(h.conn.info().inRecovery, true);
  expectNothing(ack(h, 5000));
  assert.equal(h.conn.info().inRecovery, false);
  assert.equal(h.conn.stats().cwnd, 2000, 'deflated to ssthresh');
  assert.equal(h.conn.stats().fastRetransmits, 1);
  assert.equal(h.conn.stats().retransSegs, 2);
});

test('RTO: min RTO 200 ms, then 400, 800 apart, one segment each; an ACK then goes back and resends the rest', () => {
  const h = est(); // the handshake measured an RTT of 0: RTO = minRto = 200 ms
  assert.equal(h.conn.stats().rto, 200);
  h.conn.send(bytes(3000));
  assert.equal(h.poll().length, 3);
  assert.equal(h.conn.pollAt(), 200);
  expectSeg(h.advanceTo(200), { flags: ACK, seq: L, len: 1000 });
  assert.equal(h.conn.pollAt(), 600);
  expectSeg(h.advanceTo(600), { flags: ACK, seq: L, len: 1000 });
  assert.equal(h.conn.pollAt(), 1400);
  assert.equal(h.conn.stats().cwnd, 1000, 'loss window: one segment');
  h.advanceTo(700);
  const out = ack(h, 1000);
  assert.deepEqual(out.map((s) => [s.seq - L, s.payload.length]), [[1000, 1000], [2000, 1000]]);
  assert.equal(h.conn.pollAt(), 700 + 800, 'no new RTT sample (Karn): the backed-off RTO stays');
  expectNothing(ack(h, 3000));
  assert.equal(h.conn.pollAt(), Infinity);
  assert.equal(h.conn.stats().timeouts, 2);
});

// --- flow control ---------------------------------------------------------------------------------

test('persist: zero window, probes after 200, 400, 800 ms (RTO backoff), then the data when the window opens', () => {
  const h = est();
  expectNothing(ack(h, 0, 0));
  assert.equal(h.conn.info().sndWnd, 0);
  h.conn.send(bytes(100));
  expectNothing(h.poll());
  const probes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const at = h.conn.pollAt();
    expectSeg(h.advanceTo(at), { flags: ACK, seq: L - 1, ack: R, len: 0 }, `probe ${i}`);
    expectNothing(ack(h, 0, 0));
    probes.push(at);
  }
  assert.deepEqual(probes, [200, 600, 1400]);
  assert.equal(h.conn.stats().persistProbes, 3);
  expectSeg(ack(h, 0, 1000), { flags: PSH | ACK, seq: L, len: 100 });
  expectNothing(ack(h, 100, 1000));
  assert.equal(h.conn.sendQueued, 0);
  assert.equal(h.conn.pollAt(), Infinity);
});

test('zero window end to end: the receiver stops reading, the sender probes, nothing is lost', () => {
  const cfg = { recvBufferSize: 20_000, sendBufferSize: 50_000, congestion: 'newreno' as const };
  const p = new Pair({ configA: cfg, configB: cfg });
  p.run();
  p.autoRead = false;
  const sent = new Uint8Array(200_000).map((_, i) => (i * 31) & 255);
  let off = 0;
  const got: Uint8Array[] = [];
  for (let round = 0; round < 40 && off < sent.length; round++) {
    off += p.a.send(sent.subarray(off));
    p.run(p.now + 5_000);
    if (round % 4 === 3) for (let d = p.b.recv(); d !== null; d = p.b.recv()) got.push(d);
  }
  while (off < sent.length || p.b.recvAvailable > 0 || p.a.sendQueued > 0) {
    off += p.a.send(sent.subarray(off));
    for (let d = p.b.recv(); d !== null; d = p.b.recv()) got.push(d);
    p.run(p.now + 100);
  }
  const all = new Uint8Array(got.reduce((n, d) => n + d.length, 0));
  let o = 0;
  for (const d of got) { all.set(d, o); o += d.length; }
  assert.deepEqual(all, sent);
  assert.ok(p.a.stats().persistProbes >= 2, `persist probes ${p.a.stats().persistProbes}`);
  assert.equal(p.a.stats().retransSegs, 0, 'a closed window is not loss');
});

test('window scaling both ways: our field is free >> our shift, theirs is multiplied by their shift', () => {
  const h = est({ windowScale: true, windowScaleShift: 4, recvBufferSize: 512_000 }, { wscale: 3 });
  assert.equal(h.conn.info().rcvWscale, 4);
  assert.equal(h.conn.info().sndWscale, 3);
  expectSeg(data(h, 0, 1000), { flags: ACK, ack: R + 1000, window: Math.floor((512_000 - 1000) / 16) });
  expectNothing(ack(h, 0, 1000));
  assert.equal(h.conn.info().sndWnd, 8000);
  h.conn.send(bytes(10_000));
  const out = h.poll();
  assert.equal(out.length, 8, out.map(describe).join(' | '));
  assert.equal(out.at(-1)!.seq, L + 7000);
});

test('window updates after the application reads (receiver SWS avoidance)', () => {
  const h = est({ recvBufferSize: 4000 });
  const wins = [0, 1000, 2000, 3000].map((off) => data(h, off, 1000)[0]!.window);
  assert.deepEqual(wins, [3000, 2000, 1000, 0]);
  h.conn.recv(500);
  expectNothing(h.poll(), 'half a segment freed: no update yet');
  h.conn.recv(500);
  expectSeg(h.poll(), { flags: ACK, seq: L, ack: R + 4000, window: 1000 });
  h.conn.recv();
  expectSeg(h.poll(), { flags: ACK, ack: R + 4000, window: 4000 });
});

test('no window shrinking: the right edge we advertise never moves left', () => {
  const h = est({ recvBufferSize: 8000 });
  let edge = R + 8000;
  for (let i = 0; i < 12; i++) {
    const s = data(h, i * 700, 700)[0]!;
    assert.ok(s.ack + s.window >= edge, `edge moved left at ${i}: ${describe(s)}`);
    edge = s.ack + s.window;
    if (i % 3 === 2) h.conn.recv(900);
    h.flush();
  }
});

test('out-of-order queue is bounded: ranges beyond the limit are dropped, not stored', () => {
  const h = est({ maxOutOfOrderRanges: 2, sack: true }, { sackPermitted: true });
  data(h, 1000, 100);
  data(h, 3000, 100);
  const out = data(h, 5000, 100);
  expectSeg(out, { flags: ACK, ack: R, options: { sack: [{ left: R + 3000, right: R + 3100 }, { left: R + 1000, right: R + 1100 }] } });
  assert.equal(h.conn.stats().dropped, 1);
  data(h, 0, 1000);
  expectSeg(data(h, 1100, 1900), { ack: R + 3100 }, 'holes filled; the dropped range is simply missing');
});

// --- SACK and timestamps -------------------------------------------------------------------------

test('SACK blocks: most recent first, merged as holes fill (RFC 2018 section 4)', () => {
  const h = est({ sack: true }, { sackPermitted: true });
  const b = (l: number, r: number) => ({ left: R + l, right: R + r });
  expectSeg(data(h, 1000, 1000), { ack: R, options: { sack: [b(1000, 2000)] } });
  expectSeg(data(h, 3000, 1000), { ack: R, options: { sack: [b(3000, 4000), b(1000, 2000)] } });
  expectSeg(data(h, 5000, 1000), { ack: R, options: { sack: [b(5000, 6000), b(3000, 4000), b(1000, 2000)] } });
  expectSeg(data(h, 2000, 1000), { ack: R, options: { sack: [b(1000, 4000), b(5000, 6000)] } });
  expectSeg(data(h, 0, 1000), { ack: R + 4000, options: { sack: [b(5000, 6000)] } });
  expectSeg(data(h, 4000, 1000), { ack: R + 6000, options: {} });
});

test('timestamps: ACKs echo the TSval of the segment that advanced RCV.NXT', () => {
  const h = est({ timestamps: true }, { timestamp: { val: 100, ecr: 0 } }, { timestamp: { val: 101, ecr: 0 } });
  h.advanceTo(20);
  expectSeg(data(h, 0, 1000, { options: { timestamp: { val: 150, ecr: 0 } } }), {
    ack: R + 1000, options: { timestamp: { val: 20, ecr: 150 } },
  });
  assert.equal(h.conn.info().sndMss, 988);
});

test('PAWS: a segment with an older TSval is dropped and answered with an ACK (RFC 7323 5.3)', () => {
  const h = est({ timestamps: true }, { timestamp: { val: 100, ecr: 0 } }, { timestamp: { val: 101, ecr: 0 } });
  data(h, 0, 500, { options: { timestamp: { val: 150, ecr: 0 } } });
  h.flush();
  h.advanceTo(30);
  const out = data(h, 500, 500, { options: { timestamp: { val: 149, ecr: 0 } } });
  expectSeg(out, { flags: ACK, ack: R + 500, options: { timestamp: { val: 30, ecr: 150 } } });
  assert.equal(h.conn.recvAvailable, 500);
  assert.equal(h.conn.stats().dropped, 1);
});

test('RTT from timestamps: SRTT follows the echoed TSval (RFC 7323 section 4)', () => {
  const h = est({ timestamps: true }, { timestamp: { val: 100, ecr: 0 } }, { timestamp: { val: 101, ecr: 0 } });
  h.advanceTo(1000);
  h.conn.send(bytes(500));
  matchSeg(h.poll()[0]!, { options: { timestamp: { val: 1000, ecr: 101 } } });
  h.advanceTo(1080);
  ack(h, 500, 65535, { timestamp: { val: 200, ecr: 1000 } });
  // The handshake gave a first sample of 0 ms; 80 ms follows RFC 6298 (2.3) smoothing.
  assert.equal(h.conn.stats().rtt, 10);
  assert.equal(h.conn.stats().rttvar, 20);
});

test('FIN carried on the last data segment when CLOSE follows the write', () => {
  const h = est();
  h.conn.send(bytes(300));
  h.conn.close();
  expectSeg(h.poll(), { flags: FIN | PSH | ACK, seq: L, len: 300 });
  assert.equal(h.state, 'FIN-WAIT-1');
});

test('zero receive window: a probe carrying data is not taken but is answered with ACK and window 0', () => {
  const h = est({ recvBufferSize: 2000 });
  data(h, 0, 1000);
  expectSeg(data(h, 1000, 1000), { ack: R + 2000, window: 0 });
  expectSeg(data(h, 2000, 1), { flags: ACK, seq: L, ack: R + 2000, window: 0, len: 0 });
  assert.equal(h.conn.recvAvailable, 2000);
  h.conn.recv();
  expectSeg(h.poll(), { flags: ACK, ack: R + 2000, window: 2000 });
});

test('FIN retransmission backs off and ends in ETIMEDOUT after `retries`', () => {
  const h = establishedWith({ retries: 3 });
  h.conn.close();
  expectSeg(h.poll(), { flags: FIN | ACK, seq: L });
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const at = h.conn.pollAt();
    expectSeg(h.advanceTo(at), { flags: FIN | ACK, seq: L, ack: R });
    times.push(at);
  }
  assert.deepEqual(times, [200, 600, 1400]);
  expectNothing(h.advanceTo(h.conn.pollAt()));
  assert.equal(h.state, 'CLOSED');
  assert.deepEqual(h.errors, ['ETIMEDOUT']);
});

test('SACK recovery: the hole is retransmitted once more than (DupThresh-1)*SMSS is SACKed above it', () => {
  // Classic RFC 6675 loss detection; with RACK (test/tcp/rack.test.ts) time decides instead.
  const h = est({ sack: true, rack: false }, { sackPermitted: true });
  h.conn.send(bytes(6000));
  assert.equal(h.poll().length, 6);
  const sackAck = (hi: number) => h.send({ seq: R, ack: L + 1000, flags: ACK, options: { sack: [{ left: L + 2000, right: L + hi }] } });
  expectNothing(ack(h, 1000));
  expectNothing(sackAck(3000));
  expectNothing(sackAck(4000));
  expectSeg(sackAck(5000), { flags: ACK, seq: L + 1000, len: 1000 });
  assert.equal(h.conn.info().inRecovery, true);
  expectNothing(ack(h, 6000));
  assert.equal(h.conn.info().inRecovery, false);
  assert.equal(h.conn.stats().retransSegs, 1);
  assert.equal(h.conn.stats().sackedBytes, 3000);
});

test('user timeout: ETIMEDOUT when data stays unacknowledged that long, not at the next RTO', () => {
  const h = est({ userTimeout: 1500 });
  h.conn.send(bytes(10));
  h.poll();
  const rtx = h.advanceTo(1499);
  assert.deepEqual(rtx.map((s) => s.seq), [L, L, L], 'retransmissions at 200, 600 and 1400 ms');
  assert.equal(h.state, 'ESTABLISHED');
  assert.equal(h.conn.pollAt(), 1500, 'the user timeout comes before the next RTO (3000)');
  expectNothing(h.advanceTo(1500));
  assert.equal(h.state, 'CLOSED');
  assert.deepEqual(h.errors, ['ETIMEDOUT']);
});

test('user timeout restarts with every ACK of new data', () => {
  const h = est({ userTimeout: 1500 });
  h.conn.send(bytes(10));
  h.poll();
  h.advanceTo(100);
  ack(h, 5);
  assert.equal(h.conn.info().timers.userTimeout, 1600);
  ack(h, 10);
  assert.equal(h.conn.pollAt(), Infinity);
});

test('keep-alive: probe <SEQ=SND.UNA-1> after idle, answered probes re-arm, unanswered ones fail', () => {
  const h = est({ keepAlive: { enabled: true, idle: 10_000, interval: 1000, count: 2 } });
  assert.equal(h.conn.pollAt(), 10_000);
  expectSeg(h.advanceTo(10_000), { flags: ACK, seq: L - 1, ack: R, len: 0 });
  expectNothing(ack(h, 0));
  expectNothing(h.advanceTo(19_999), 'the answer restarted the idle period');
  const sent = h.advanceTo(30_000);
  assert.deepEqual(sent.map((s) => s.seq), [L - 1, L - 1, L]);
  // Giving up resets the connection (as Linux's tcp_keepalive_timer and BSD's tcp_drop).
  expectSeg([sent[2]!], { flags: RST | ACK, seq: L, ack: R, window: 0 });
  assert.equal(h.state, 'CLOSED');
  assert.deepEqual(h.errors, ['ETIMEDOUT']);
});

test('keep-alive: a timer that fires while our FIN is in flight still watches FIN-WAIT-2 afterwards', () => {
  const h = est({ keepAlive: { enabled: true, idle: 10_000, interval: 1000, count: 2 } });
  h.conn.close();
  expectSeg(h.poll(), { flags: FIN | ACK, seq: L, ack: R });
  h.advanceTo(10_500); // the FIN is retransmitted; the keepalive deadline passes in FIN-WAIT-1
  assert.equal(h.state, 'FIN-WAIT-1');
  ack(h, 1);
  assert.equal(h.state, 'FIN-WAIT-2');
  // The peer now vanishes: FIN-WAIT-2 (not released: the application may still read) has no timer
  // but the keepalive, which must probe after `idle` and give up after `count` probes.
  const probes = h.advanceTo(40_000).filter((s) => s.payload.length === 0 && !(s.flags & (FIN | RST)));
  assert.deepEqual(probes.map((s) => s.seq), [L, L], 'two keepalive probes <SEQ=SND.UNA-1> after the FIN');
  assert.equal(h.state, 'CLOSED');
  assert.deepEqual(h.errors, ['ETIMEDOUT']);
});

test('receiver SWS avoidance: a closed window stays closed until it can open by a useful amount', () => {
  const h = est({ recvBufferSize: 4000 });
  for (const off of [0, 1000, 2000, 3000]) data(h, off, 1000);
  h.flush();
  h.conn.recv(10);
  expectNothing(h.poll());
  expectSeg(data(h, 4000, 1), { flags: ACK, ack: R + 4000, window: 0 }, 'probe answered: still 0, not 10');
  h.conn.recv(990);
  expectSeg(h.poll(), { flags: ACK, ack: R + 4000, window: 1000 });
});
