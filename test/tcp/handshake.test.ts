// Opening and closing as packet traces: option negotiation on SYN / SYN,ACK (RFC 9293 3.7.1,
// RFC 7323, RFC 2018), SYN retransmission with backoff to ETIMEDOUT (RFC 6298 5.5), the 2^32 wrap,
// TIME-WAIT expiry, restart and reopening (RFC 9293 3.10.7.4), and two cores back to back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpConnection } from '../../src/tcp/connection.js';
import {
  Harness, Pair, seg, expectSeg, expectNothing, matchSeg, testConfig, synReceived, timeWait,
  SYN, ACK, FIN, PSH, RST, LOCAL_ISS, REMOTE_ISS, LOCAL_PORT, REMOTE_PORT,
} from '../helpers/tcp.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';
import type { TcpRepr } from '../../src/wire/tcp.js';

const ALL_ON: TcpConfigInput = { sack: true, timestamps: true, windowScale: true, windowScaleShift: 7, recvBufferSize: 1 << 20 };

function opener(over: TcpConfigInput = {}, iss = LOCAL_ISS, now = 0): Harness {
  const h = new Harness();
  h.now = now;
  h.conn = TcpConnection.connect({ localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss, now, config: testConfig(over), hooks: h.hooks() });
  return h;
}

test('SYN with every option: MSS, SACK-permitted, timestamps (ecr 0), window scale; window unscaled', () => {
  const h = opener(ALL_ON, LOCAL_ISS, 5);
  expectSeg(h.poll(), {
    flags: SYN, seq: LOCAL_ISS, ack: 0, window: 65535,
    options: { mss: 1000, sackPermitted: true, timestamp: { val: 5, ecr: 0 }, wscale: 7 },
  });
});

test('SYN,ACK with every option: all four negotiated, ACK echoes TSval, MSS leaves room for timestamps', () => {
  const h = opener(ALL_ON);
  h.poll();
  h.advance(30);
  const out = h.send({
    seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: SYN | ACK, window: 29200,
    options: { mss: 1460, sackPermitted: true, timestamp: { val: 777, ecr: 0 }, wscale: 2 },
  });
  expectSeg(out, { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, window: 8192, options: { timestamp: { val: 30, ecr: 777 } } });
  const c = h.conn;
  assert.deepEqual([c.info().sackOk, c.info().tsOk, c.info().sndWscale, c.info().rcvWscale, c.info().sndMss, c.info().sndWnd], [true, true, 2, 7, 988, 29200]);
  // The next window update from the peer is scaled by its shift.
  h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1, flags: ACK, window: 1000, options: { timestamp: { val: 800, ecr: 30 } } });
  assert.equal(c.info().sndWnd, 4000);
});

test('SYN,ACK with no options: no SACK, no timestamps, no scaling either way, MSS 536', () => {
  const h = opener(ALL_ON);
  h.poll();
  const out = h.send({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: SYN | ACK, window: 4000 });
  expectSeg(out, { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, window: 65535, options: {} });
  const c = h.conn;
  assert.deepEqual([c.info().sackOk, c.info().tsOk, c.info().sndWscale, c.info().rcvWscale, c.info().sndMss], [false, false, 0, 0, 536]);
});

test('passive side answers only what the SYN offered', () => {
  const none = synReceived(ALL_ON);
  // synReceived already took the SYN,ACK off; rebuild it by retransmission to look at it.
  const again = none.send({ seq: REMOTE_ISS, flags: SYN });
  expectSeg(again, { flags: SYN | ACK, seq: LOCAL_ISS, ack: REMOTE_ISS + 1, window: 65535, options: { mss: 1000 } });

  const h = new Harness();
  h.now = 40;
  h.conn = TcpConnection.accept(
    seg({ seq: REMOTE_ISS, flags: SYN, options: { mss: 9000, sackPermitted: true, timestamp: { val: 123, ecr: 0 }, wscale: 20 } }),
    { localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss: LOCAL_ISS, now: 40, config: testConfig(ALL_ON), hooks: h.hooks() },
  );
  expectSeg(h.poll(), {
    flags: SYN | ACK, seq: LOCAL_ISS, ack: REMOTE_ISS + 1, window: 65535,
    options: { mss: 1000, sackPermitted: true, timestamp: { val: 40, ecr: 123 }, wscale: 7 },
  });
  assert.equal(h.conn.info().sndWscale, 14, 'RFC 7323 2.3: a shift above 14 is used as 14');
  assert.equal(h.conn.info().sndMss, 988);
});

test('each option alone: SACK only, timestamps only, window scale only', () => {
  const cases: Array<[string, TcpConfigInput, Record<string, unknown>]> = [
    ['sack', { sack: true }, { sackPermitted: true }],
    ['ts', { timestamps: true }, { timestamp: { val: 0, ecr: 0 } }],
    ['wscale', { windowScale: true, windowScaleShift: 3 }, { wscale: 3 }],
  ];
  for (const [name, over, extra] of cases) {
    const h = opener(over);
    expectSeg(h.poll(), { flags: SYN, options: { mss: 1000, ...extra } }, name);
    h.send({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: SYN | ACK, options: { mss: 1000, sackPermitted: true, timestamp: { val: 1, ecr: 0 }, wscale: 1 } });
    assert.equal(h.conn.info().sackOk, name === 'sack', name);
    assert.equal(h.conn.info().tsOk, name === 'ts', name);
    assert.equal(h.conn.info().sndWscale, name === 'wscale' ? 1 : 0, name);
  }
});

test('SYN retransmission: 1 s, then doubling (1, 3, 7, 15, 31, 63 s), then ETIMEDOUT at 127 s', () => {
  const h = opener();
  expectSeg(h.poll(), { flags: SYN, seq: LOCAL_ISS });
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const at = h.conn.pollAt();
    const out = h.advanceTo(at);
    expectSeg(out, { flags: SYN, seq: LOCAL_ISS, ack: 0, options: { mss: 1000 } });
    times.push(at);
  }
  assert.deepEqual(times, [1000, 3000, 7000, 15000, 31000, 63000]);
  assert.equal(h.conn.pollAt(), 127000);
  expectNothing(h.advanceTo(126_999));
  assert.equal(h.state, 'SYN-SENT');
  expectNothing(h.advanceTo(127_000));
  assert.equal(h.state, 'CLOSED');
  assert.deepEqual(h.errors, ['ETIMEDOUT']);
  assert.equal(h.conn.pollAt(), Infinity);
});

test('a SYN,ACK after a retransmitted SYN still establishes (no RTT sample from the ambiguous SYN)', () => {
  const h = opener();
  h.poll();
  h.advanceTo(1000);
  h.advance(5);
  expectSeg(h.send({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: SYN | ACK }), { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 });
  assert.equal(h.conn.stats().rtt, 0, "Karn's rule");
});

test('sequence numbers wrap: ISN 0xFFFFFFF0, data across 2^32, FIN after the wrap', () => {
  const h = opener({}, 0xfffffff0);
  expectSeg(h.poll(), { flags: SYN, seq: 0xfffffff0 });
  h.send({ seq: 0xfffffffe, ack: 0xfffffff1, flags: SYN | ACK, options: { mss: 1000 } });
  h.flush();
  h.conn.send(new Uint8Array(40).fill(7));
  expectSeg(h.poll(), { flags: PSH | ACK, seq: 0xfffffff1, ack: 0xffffffff, len: 40 });
  expectNothing(h.send({ seq: 0xffffffff, ack: 0x19, flags: ACK, payload: 'ab' }).filter((s) => s.payload.length > 0));
  assert.equal(h.conn.info().sndUna, 0x19);
  assert.equal(h.conn.info().rcvNxt, 1);
  assert.equal(h.conn.sendQueued, 0);
  h.conn.close();
  expectSeg(h.poll(), { flags: FIN | ACK, seq: 0x19, ack: 1 });
  expectNothing(h.send({ seq: 1, ack: 0x1a, flags: FIN | ACK }).filter((s) => s.flags !== ACK));
  assert.equal(h.state, 'TIME-WAIT');
  assert.equal(h.conn.info().rcvNxt, 2);
});

test('TIME-WAIT: a retransmitted FIN is ACKed again and restarts 2*MSL', () => {
  const h = timeWait({ msl: 1000 });
  const t0 = h.now;
  h.advanceTo(t0 + 1500);
  const out = h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 2, flags: FIN | ACK });
  expectSeg(out, { flags: ACK, seq: LOCAL_ISS + 2, ack: REMOTE_ISS + 2 });
  assert.equal(h.conn.pollAt(), t0 + 1500 + 2000);
  expectNothing(h.advanceTo(t0 + 3499));
  assert.equal(h.state, 'TIME-WAIT');
  h.advanceTo(t0 + 3500);
  assert.equal(h.state, 'CLOSED');
});

test('TIME-WAIT: canReopen for a SYN beyond RCV.NXT, or with a newer timestamp', () => {
  const h = timeWait();
  assert.equal(h.conn.canReopen(seg({ seq: REMOTE_ISS + 100, flags: SYN })), true);
  assert.equal(h.conn.canReopen(seg({ seq: REMOTE_ISS + 2, flags: SYN })), false, 'at RCV.NXT: not beyond');
  assert.equal(h.conn.canReopen(seg({ seq: REMOTE_ISS, flags: SYN })), false);
  const ts = timeWait({ timestamps: true }, { timestamp: { val: 500, ecr: 0 } });
  assert.equal(ts.conn.info().tsOk, true);
  assert.equal(ts.conn.canReopen(seg({ seq: REMOTE_ISS - 10, flags: SYN, options: { timestamp: { val: 501, ecr: 0 } } })), true);
  assert.equal(ts.conn.canReopen(seg({ seq: REMOTE_ISS - 10, flags: SYN, options: { timestamp: { val: 499, ecr: 0 } } })), false);
  const est = synReceived();
  assert.equal(est.conn.canReopen(seg({ seq: REMOTE_ISS + 100, flags: SYN })), false, 'only in TIME-WAIT');
});

// --- two cores back to back -----------------------------------------------------------------------

function flagsOf(p: Pair): string[] {
  const n = (f: number) => [f & SYN && 'S', f & FIN && 'F', f & RST && 'R', f & ACK && '.'].filter(Boolean).join('');
  return p.log.map((l) => `${l.from}:${n(l.seg.flags)}`);
}

function settled(p: Pair): void {
  assert.equal(p.a.state, 'CLOSED');
  assert.equal(p.b.state, 'CLOSED');
  assert.equal(p.a.pollAt(), Infinity, 'a has no timer left');
  assert.equal(p.b.pollAt(), Infinity, 'b has no timer left');
}

test('pair: three-way handshake, then a closes first; b in CLOSE-WAIT, a in TIME-WAIT for 2*MSL', () => {
  const p = new Pair({ configA: { msl: 1000 }, configB: { msl: 1000 } });
  p.run();
  assert.deepEqual(flagsOf(p), ['a:S', 'b:S.', 'a:.']);
  assert.equal(p.a.state, 'ESTABLISHED');
  assert.equal(p.b.state, 'ESTABLISHED');
  p.a.close();
  p.run(p.now + 100);
  assert.equal(p.a.state, 'FIN-WAIT-2');
  assert.equal(p.b.state, 'CLOSE-WAIT', 'the passive closer waits in CLOSE-WAIT, not TIME-WAIT');
  p.b.close();
  p.run(p.now + 100);
  assert.equal(p.b.state, 'CLOSED');
  assert.equal(p.a.state, 'TIME-WAIT');
  const enteredTw = p.log.at(-1)!.t; // a's last ACK leaves as it enters TIME-WAIT
  p.run();
  assert.equal(p.now, enteredTw + 2000);
  assert.deepEqual(p.statesA, ['CLOSED->SYN-SENT', 'SYN-SENT->ESTABLISHED', 'ESTABLISHED->FIN-WAIT-1', 'FIN-WAIT-1->FIN-WAIT-2', 'FIN-WAIT-2->TIME-WAIT', 'TIME-WAIT->CLOSED']);
  assert.deepEqual(p.statesB, ['LISTEN->SYN-RECEIVED', 'SYN-RECEIVED->ESTABLISHED', 'ESTABLISHED->CLOSE-WAIT', 'CLOSE-WAIT->LAST-ACK', 'LAST-ACK->CLOSED']);
  settled(p);
});

test('pair: b (the server) closes first and waits out TIME-WAIT', () => {
  const p = new Pair();
  p.run();
  p.b.close();
  p.run(p.now + 100);
  assert.equal(p.a.state, 'CLOSE-WAIT');
  p.a.close();
  p.run();
  assert.ok(p.statesB.includes('FIN-WAIT-2->TIME-WAIT'));
  assert.equal(p.statesA.at(-1), 'LAST-ACK->CLOSED');
  assert.ok(p.now >= 60_000, 'default MSL 30 s: 60 s of TIME-WAIT');
  settled(p);
});

test('pair: simultaneous open (both active) and simultaneous close through CLOSING', () => {
  const p = new Pair({ passiveB: false, configA: { msl: 500 }, configB: { msl: 500 } });
  p.run();
  // RFC 9293 Figure 7: SYNs cross, SYN,ACKs cross, and no third segment is needed.
  assert.deepEqual(flagsOf(p).sort(), ['a:S', 'a:S.', 'b:S', 'b:S.']);
  for (const s of [p.statesA, p.statesB]) assert.deepEqual(s, ['CLOSED->SYN-SENT', 'SYN-SENT->SYN-RECEIVED', 'SYN-RECEIVED->ESTABLISHED']);
  p.a.close();
  p.b.close();
  p.run();
  for (const s of [p.statesA, p.statesB]) {
    assert.deepEqual(s.slice(3), ['ESTABLISHED->FIN-WAIT-1', 'FIN-WAIT-1->CLOSING', 'CLOSING->TIME-WAIT', 'TIME-WAIT->CLOSED']);
  }
  settled(p);
});

test('pair: abort sends RST; the peer fails with ECONNRESET; both CLOSED with no timer', () => {
  const p = new Pair();
  p.run();
  p.a.send(new Uint8Array(100));
  p.run(p.now + 5);
  p.a.abort();
  p.run();
  assert.ok(flagsOf(p).includes('a:R.'));
  assert.deepEqual(p.errors, [{ side: 'b', code: 'ECONNRESET' }]);
  settled(p);
});

test('pair: handshake and transfer across the 2^32 wrap on both sides', () => {
  const p = new Pair({ issA: 0xfffffff0, issB: 0xffffff00, configA: { msl: 100 }, configB: { msl: 100 } });
  p.run();
  const data = new Uint8Array(300_000).map((_, i) => (i * 13) & 255);
  let off = 0;
  const back = new Uint8Array(70_000).map((_, i) => (i * 5) & 255);
  let offB = 0;
  while (off < data.length || offB < back.length) {
    off += p.a.send(data.subarray(off));
    offB += p.b.send(back.subarray(offB));
    p.run(p.now + 20);
  }
  p.a.close();
  p.b.close();
  p.run();
  assert.deepEqual(p.concat('b'), data);
  assert.deepEqual(p.concat('a'), back);
  settled(p);
});

test('segments carry our window unscaled when the peer did not offer scaling', () => {
  const h = opener({ windowScale: true, windowScaleShift: 7, recvBufferSize: 1 << 20 });
  h.poll();
  const out: TcpRepr[] = h.send({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: SYN | ACK });
  matchSeg(out[0]!, { window: 65535 });
  assert.equal(h.conn.info().rcvWscale, 0);
});
