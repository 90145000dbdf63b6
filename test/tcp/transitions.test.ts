// Every edge of the TCP state table (src/tcp/state.ts TRANSITIONS) driven with exact segments, and a
// final check that each edge in the table was both named by a test and actually taken (RFC 9293 3.3.2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRANSITIONS } from '../../src/tcp/state.js';
import { TcpConnection } from '../../src/tcp/connection.js';
import {
  Harness, Pair, expectSeg, expectNothing, testConfig, synSent, synReceived, establishedWith, finWait1,
  finWait2, closeWait, closing, lastAck, timeWait, noteEdges, observedEdges, matchSeg,
  SYN, ACK, FIN, RST, PSH, LOCAL_ISS, REMOTE_ISS, LOCAL_PORT, REMOTE_PORT,
} from '../helpers/tcp.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';

const named = new Set<string>();

/** A test for one edge: `fn` returns the harnesses it drove; the edge must appear in their logs. */
function edge(from: string, to: string, title: string, fn: () => Array<Harness | Pair>): void {
  named.add(`${from}->${to}`);
  test(`${from} -> ${to}: ${title}`, () => {
    const hs = fn();
    const seen = new Set<string>();
    for (const h of hs) {
      noteEdges(h);
      for (const s of h instanceof Pair ? [...h.statesA, ...h.statesB] : h.states) seen.add(s);
    }
    assert.ok(seen.has(`${from}->${to}`), `edge ${from}->${to} not taken; saw ${[...seen].join(', ')}`);
  });
}

function listener(over: TcpConfigInput = {}): Harness {
  const h = new Harness();
  h.conn = TcpConnection.listen({
    localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss: LOCAL_ISS, now: 0, config: testConfig(over), hooks: h.hooks(),
  });
  return h;
}

function active(): Harness {
  const h = new Harness();
  h.conn = TcpConnection.connect({
    localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss: LOCAL_ISS, now: 0, config: testConfig(), hooks: h.hooks(),
  });
  return h;
}

// --- CLOSED, LISTEN ------------------------------------------------------------------------------

edge('CLOSED', 'LISTEN', 'passive OPEN sends nothing and arms no timer', () => {
  const h = listener();
  assert.equal(h.state, 'LISTEN');
  expectNothing(h.poll());
  assert.equal(h.conn.pollAt(), Infinity);
  return [h];
});

edge('CLOSED', 'SYN-SENT', 'active OPEN sends <SEQ=ISS><CTL=SYN> with no ACK number', () => {
  const h = active();
  assert.equal(h.state, 'SYN-SENT'); // not CLOSED: the client waits in SYN-SENT
  expectSeg(h.poll(), { flags: SYN, seq: LOCAL_ISS, ack: 0, window: 64000, options: { mss: 1000 } });
  assert.equal(h.conn.pollAt(), 1000, 'SYN retransmission armed at the initial RTO');
  return [h];
});

edge('LISTEN', 'SYN-RECEIVED', 'rcv SYN -> snd <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>', () => {
  const h = listener();
  const out = h.send({ seq: REMOTE_ISS, flags: SYN, window: 8192, options: { mss: 1460 } });
  expectSeg(out, { flags: SYN | ACK, seq: LOCAL_ISS, ack: REMOTE_ISS + 1, window: 64000, options: { mss: 1000 } });
  assert.equal(h.state, 'SYN-RECEIVED');
  expectNothing(h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1, flags: ACK }));
  assert.equal(h.state, 'ESTABLISHED');
  assert.equal(h.conn.info().sndMss, 1000);
  return [h];
});

test('LISTEN: an ACK draws <SEQ=SEG.ACK><CTL=RST>, a RST is ignored, nothing else changes (RFC 9293 3.10.7.2)', () => {
  const h = listener();
  expectNothing(h.send({ seq: 5, ack: 777, flags: RST }));
  expectSeg(h.send({ seq: 5, ack: 777, flags: ACK }), { flags: RST, seq: 777, ack: 0, window: 0 });
  expectNothing(h.send({ seq: 5, flags: 0, payload: 'x' }));
  assert.equal(h.state, 'LISTEN');
  assert.deepEqual(h.states, ['CLOSED->LISTEN']);
});

edge('LISTEN', 'SYN-SENT', 'SEND on a listening TCB opens actively; the data follows the handshake', () => {
  const h = listener();
  assert.equal(h.conn.send(new TextEncoder().encode('hello')), 5);
  assert.equal(h.state, 'SYN-SENT');
  expectSeg(h.poll(), { flags: SYN, seq: LOCAL_ISS, ack: 0, options: { mss: 1000 } });
  const out = h.send({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: SYN | ACK });
  expectSeg(out, { flags: PSH | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, payload: 'hello' });
  assert.equal(h.state, 'ESTABLISHED');
  return [h];
});

edge('LISTEN', 'CLOSED', 'CLOSE deletes the TCB without a segment', () => {
  const h = listener();
  h.conn.close();
  assert.equal(h.state, 'CLOSED');
  assert.equal(h.closed, true);
  expectNothing(h.poll());
  assert.equal(h.conn.pollAt(), Infinity);
  return [h];
});

// --- SYN-SENT ------------------------------------------------------------------------------------

edge('SYN-SENT', 'SYN-RECEIVED', 'simultaneous open: rcv SYN -> snd SYN,ACK; rcv ACK -> ESTABLISHED', () => {
  const h = synSent();
  const out = h.send({ seq: REMOTE_ISS, flags: SYN, window: 5000 });
  expectSeg(out, { flags: SYN | ACK, seq: LOCAL_ISS, ack: REMOTE_ISS + 1, window: 64000, options: { mss: 1000 } });
  assert.equal(h.state, 'SYN-RECEIVED');
  expectNothing(h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1, flags: ACK, window: 5000 }));
  assert.equal(h.state, 'ESTABLISHED');
  assert.equal(h.conn.info().sndWnd, 5000);
  return [h];
});

edge('SYN-SENT', 'ESTABLISHED', 'rcv SYN,ACK -> snd <SEQ=ISS+1><ACK=IRS+1><CTL=ACK>', () => {
  const h = synSent();
  const out = h.send({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: SYN | ACK, window: 3000 });
  expectSeg(out, { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, window: 64000, options: {}, len: 0 });
  assert.equal(h.state, 'ESTABLISHED');
  assert.equal(h.conn.info().sndWnd, 3000);
  assert.equal(h.conn.pollAt(), Infinity, 'no retransmission timer once the SYN is acknowledged');
  return [h];
});

edge('SYN-SENT', 'CLOSED', 'CLOSE, rcv RST,ACK (ECONNREFUSED) and timeout (ETIMEDOUT)', () => {
  const a = synSent();
  a.conn.close();
  expectNothing(a.poll());
  assert.equal(a.state, 'CLOSED');
  const b = synSent();
  expectNothing(b.send({ seq: 0, ack: LOCAL_ISS + 1, flags: RST | ACK, window: 0 }));
  assert.equal(b.state, 'CLOSED');
  assert.deepEqual(b.errors, ['ECONNREFUSED']);
  const c = synSent({ synRetries: 1 });
  c.advance(10_000);
  assert.equal(c.state, 'CLOSED');
  assert.deepEqual(c.errors, ['ETIMEDOUT']);
  return [a, b, c];
});

// --- SYN-RECEIVED ----------------------------------------------------------------------------------

edge('SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK of SYN, nothing sent', () => {
  const h = synReceived();
  expectNothing(h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1, flags: ACK }));
  assert.equal(h.state, 'ESTABLISHED');
  assert.equal(h.conn.pollAt(), Infinity);
  return [h];
});

edge('SYN-RECEIVED', 'FIN-WAIT-1', 'CLOSE with nothing queued: FIN now, SYN,ACK and FIN again on timeout', () => {
  const h = synReceived();
  h.conn.close();
  assert.equal(h.state, 'FIN-WAIT-1');
  expectSeg(h.poll(), { flags: FIN | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 });
  const rtx = h.advanceTo(1000);
  assert.equal(rtx.length, 2, 'SYN,ACK then FIN');
  matchSeg(rtx[0]!, { flags: SYN | ACK, seq: LOCAL_ISS, ack: REMOTE_ISS + 1 });
  matchSeg(rtx[1]!, { flags: FIN | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 });
  expectNothing(h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 2, flags: ACK }));
  assert.equal(h.state, 'FIN-WAIT-2');
  return [h];
});

edge('SYN-RECEIVED', 'LISTEN', 'rcv RST at RCV.NXT after a passive open; no error, TCB released', () => {
  const h = synReceived();
  expectNothing(h.send({ seq: REMOTE_ISS + 1, flags: RST }));
  assert.deepEqual(h.errors, []);
  assert.equal(h.closed, true);
  assert.equal(h.conn.pollAt(), Infinity);
  return [h];
});

edge('SYN-RECEIVED', 'CLOSED', 'rcv RST after an active (simultaneous) open, ABORT, and SYN,ACK timeout', () => {
  const a = synSent();
  a.send({ seq: REMOTE_ISS, flags: SYN });
  assert.equal(a.state, 'SYN-RECEIVED');
  expectNothing(a.send({ seq: REMOTE_ISS + 1, flags: RST }));
  assert.equal(a.state, 'CLOSED');
  assert.deepEqual(a.errors, ['ECONNREFUSED']);
  const b = synReceived();
  b.conn.abort();
  expectSeg(b.poll(), { flags: RST | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 });
  assert.equal(b.state, 'CLOSED');
  const c = synReceived({ synAckRetries: 2 });
  const rtx = c.advance(60_000);
  assert.deepEqual(rtx.map((s) => s.flags), [SYN | ACK, SYN | ACK]);
  assert.equal(c.state, 'CLOSED');
  return [a, b, c];
});

// --- ESTABLISHED ------------------------------------------------------------------------------------

edge('ESTABLISHED', 'FIN-WAIT-1', 'CLOSE -> snd <SEQ=SND.NXT><CTL=FIN,ACK>', () => [finWait1()]);

edge('ESTABLISHED', 'CLOSE-WAIT', 'rcv FIN -> snd ACK of the FIN; the application still sends', () => {
  const h = closeWait();
  assert.equal(h.conn.send(new TextEncoder().encode('late')), 4);
  expectSeg(h.poll(), { flags: PSH | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 2, payload: 'late' });
  assert.equal(h.conn.peerFinished, true);
  return [h];
});

edge('ESTABLISHED', 'CLOSED', 'rcv RST (ECONNRESET), ABORT (snd RST), retransmission timeout (ETIMEDOUT)', () => {
  const a = establishedWith();
  expectNothing(a.send({ seq: REMOTE_ISS + 1, flags: RST }));
  assert.deepEqual(a.errors, ['ECONNRESET']);
  const b = establishedWith();
  b.conn.abort();
  expectSeg(b.poll(), { flags: RST | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, window: 0 });
  assert.equal(b.state, 'CLOSED');
  const c = establishedWith({ retries: 2 });
  c.conn.send(new Uint8Array(10));
  c.poll();
  c.advance(100_000);
  assert.equal(c.state, 'CLOSED');
  assert.deepEqual(c.errors, ['ETIMEDOUT']);
  return [a, b, c];
});

// --- closing states -----------------------------------------------------------------------------------

edge('FIN-WAIT-1', 'FIN-WAIT-2', 'rcv ACK of FIN, nothing sent, no timer', () => {
  const h = finWait2();
  assert.equal(h.conn.pollAt(), Infinity, 'FIN-WAIT-2 waits for the peer as long as it takes');
  return [h];
});

edge('FIN-WAIT-1', 'CLOSING', 'rcv FIN (ours unacknowledged) -> snd ACK', () => [closing()]);

edge('FIN-WAIT-1', 'TIME-WAIT', 'rcv FIN,ACK that acknowledges our FIN -> snd ACK', () => {
  const h = finWait1();
  const out = h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 2, flags: FIN | ACK });
  expectSeg(out, { flags: ACK, seq: LOCAL_ISS + 2, ack: REMOTE_ISS + 2 });
  assert.equal(h.state, 'TIME-WAIT');
  assert.deepEqual(h.states.slice(-1), ['FIN-WAIT-1->TIME-WAIT']);
  assert.equal(h.conn.pollAt(), 60_000);
  return [h];
});

edge('FIN-WAIT-1', 'CLOSED', 'rcv RST (ECONNRESET) and ABORT', () => {
  const a = finWait1();
  expectNothing(a.send({ seq: REMOTE_ISS + 1, flags: RST }));
  assert.deepEqual(a.errors, ['ECONNRESET']);
  const b = finWait1();
  b.conn.abort();
  expectSeg(b.poll(), { flags: RST | ACK, seq: LOCAL_ISS + 2, ack: REMOTE_ISS + 1 });
  return [a, b];
});

edge('FIN-WAIT-2', 'TIME-WAIT', 'rcv FIN -> snd ACK, 2*MSL starts', () => {
  const h = timeWait({ msl: 1000 });
  assert.equal(h.conn.pollAt(), 2000);
  return [h];
});

edge('FIN-WAIT-2', 'CLOSED', 'rcv RST, and the orphan timeout after release()', () => {
  const a = finWait2();
  expectNothing(a.send({ seq: REMOTE_ISS + 1, flags: RST }));
  assert.deepEqual(a.errors, ['ECONNRESET']);
  const b = finWait2({ finWait2Timeout: 5000 });
  b.conn.release(b.now);
  expectNothing(b.advance(4999));
  assert.equal(b.state, 'FIN-WAIT-2');
  expectNothing(b.advance(1));
  assert.equal(b.state, 'CLOSED');
  return [a, b];
});

edge('CLOSE-WAIT', 'LAST-ACK', 'CLOSE -> snd FIN', () => [lastAck()]);

edge('CLOSE-WAIT', 'CLOSED', 'rcv RST and ABORT', () => {
  const a = closeWait();
  expectNothing(a.send({ seq: REMOTE_ISS + 2, flags: RST }));
  assert.deepEqual(a.errors, ['ECONNRESET']);
  const b = closeWait();
  b.conn.abort();
  expectSeg(b.poll(), { flags: RST | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 2 });
  return [a, b];
});

edge('CLOSING', 'TIME-WAIT', 'rcv ACK of FIN, nothing sent', () => {
  const h = closing();
  expectNothing(h.send({ seq: REMOTE_ISS + 2, ack: LOCAL_ISS + 2, flags: ACK }));
  assert.equal(h.state, 'TIME-WAIT');
  return [h];
});

edge('CLOSING', 'CLOSED', 'rcv RST at RCV.NXT', () => {
  const h = closing();
  expectNothing(h.send({ seq: REMOTE_ISS + 2, flags: RST }));
  assert.equal(h.state, 'CLOSED');
  return [h];
});

edge('LAST-ACK', 'CLOSED', 'rcv ACK of FIN: CLOSED at once, no TIME-WAIT for the passive closer', () => {
  const h = lastAck();
  expectNothing(h.send({ seq: REMOTE_ISS + 2, ack: LOCAL_ISS + 2, flags: ACK }));
  assert.equal(h.state, 'CLOSED');
  assert.equal(h.conn.pollAt(), Infinity);
  assert.deepEqual(h.errors, []);
  return [h];
});

edge('TIME-WAIT', 'CLOSED', 'timeout 2*MSL: nothing sent, no timer left', () => {
  const h = timeWait();
  const start = h.now;
  expectNothing(h.advanceTo(start + 59_999));
  assert.equal(h.state, 'TIME-WAIT');
  expectNothing(h.advanceTo(start + 60_000));
  assert.equal(h.state, 'CLOSED');
  assert.equal(h.conn.pollAt(), Infinity);
  return [h];
});

test('every edge in TRANSITIONS has a test above and was taken', () => {
  const table = TRANSITIONS.map((t) => `${t.from}->${t.to}`);
  assert.deepEqual(table.filter((e) => !named.has(e)), [], 'edges without a test');
  assert.deepEqual(table.filter((e) => !observedEdges.has(e)), [], 'edges never taken');
  assert.deepEqual([...observedEdges].filter((e) => !table.includes(e)), [], 'transitions outside the table');
  assert.equal(named.size, table.length);
});
