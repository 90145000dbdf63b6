// RST and SYN handling in every state, RFC 5961 blind-attack defences (exact RST, challenge ACKs and
// their rate limit, ACK acceptability), RFC 1337 in TIME-WAIT, and what a CLOSED port answers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replyToClosed } from '../../src/tcp/output.js';
import {
  Harness, seg, expectSeg, expectNothing, synSent, synReceived, establishedWith, finWait1, finWait2,
  closeWait, closing, lastAck, timeWait, SYN, ACK, FIN, RST, LOCAL_ISS, REMOTE_ISS, LOCAL_PORT, REMOTE_PORT,
} from '../helpers/tcp.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';

const fixtures: Record<string, (over?: TcpConfigInput) => Harness> = {
  'SYN-RECEIVED': synReceived,
  ESTABLISHED: establishedWith,
  'FIN-WAIT-1': finWait1,
  'FIN-WAIT-2': finWait2,
  'CLOSE-WAIT': closeWait,
  CLOSING: closing,
  'LAST-ACK': lastAck,
};
const errorOnRst: Record<string, string[]> = {
  'SYN-RECEIVED': [], // passive open: back to LISTEN silently
  ESTABLISHED: ['ECONNRESET'],
  'FIN-WAIT-1': ['ECONNRESET'],
  'FIN-WAIT-2': ['ECONNRESET'],
  'CLOSE-WAIT': ['ECONNRESET'],
  CLOSING: [],
  'LAST-ACK': [],
};

for (const [state, make] of Object.entries(fixtures)) {
  test(`${state}: RST at exactly RCV.NXT resets silently`, () => {
    const h = make();
    assert.equal(h.state, state);
    expectNothing(h.send({ seq: h.conn.info().rcvNxt, flags: RST }));
    assert.equal(h.conn.state, 'CLOSED');
    assert.equal(h.closed, true);
    assert.deepEqual(h.errors, errorOnRst[state]);
    assert.equal(h.conn.pollAt(), Infinity);
  });

  test(`${state}: in-window RST off RCV.NXT draws a challenge ACK and changes nothing (RFC 5961 3.2)`, () => {
    const h = make();
    const out = h.send({ seq: h.conn.info().rcvNxt + 1, flags: RST });
    expectSeg(out, { flags: ACK, seq: h.conn.info().sndNxt, ack: h.conn.info().rcvNxt, len: 0 });
    assert.equal(h.state, state);
    assert.equal(h.conn.stats().challengeAcks, 1);
  });

  test(`${state}: out-of-window RST is dropped without a reply`, () => {
    const h = make();
    expectNothing(h.send({ seq: h.conn.info().rcvNxt + 100_000, flags: RST }));
    expectNothing(h.send({ seq: h.conn.info().rcvNxt - 1, flags: RST | ACK, ack: h.conn.info().sndNxt }));
    assert.equal(h.state, state);
  });

  if (state !== 'SYN-RECEIVED') {
    test(`${state}: a SYN (in window or not) draws a challenge ACK and changes nothing (RFC 5961 4.2)`, () => {
      const h = make();
      const { sndNxt, rcvNxt } = h.conn.info();
      expectSeg(h.send({ seq: rcvNxt, flags: SYN }), { flags: ACK, seq: sndNxt, ack: rcvNxt });
      expectSeg(h.send({ seq: rcvNxt + 5, flags: SYN }), { flags: ACK, seq: sndNxt, ack: rcvNxt });
      expectSeg(h.send({ seq: rcvNxt - 1000, flags: SYN | ACK, ack: sndNxt }), { flags: ACK, seq: sndNxt, ack: rcvNxt });
      assert.equal(h.state, state);
    });
  }
}

test('SYN-RECEIVED: a retransmitted SYN gets the same SYN,ACK again', () => {
  const h = synReceived();
  expectSeg(h.send({ seq: REMOTE_ISS, flags: SYN }), { flags: SYN | ACK, seq: LOCAL_ISS, ack: REMOTE_ISS + 1 });
  assert.equal(h.state, 'SYN-RECEIVED');
});

test('SYN-RECEIVED: an ACK that does not acknowledge our SYN draws <SEQ=SEG.ACK><CTL=RST>', () => {
  const h = synReceived();
  expectSeg(h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 50, flags: ACK }), { flags: RST, seq: LOCAL_ISS + 50, ack: 0 });
  assert.equal(h.state, 'SYN-RECEIVED');
});

test('TIME-WAIT: RST at RCV.NXT is ignored (RFC 1337), the 2*MSL deadline stands', () => {
  const h = timeWait();
  const deadline = h.conn.pollAt();
  expectNothing(h.send({ seq: h.conn.info().rcvNxt, flags: RST }));
  expectNothing(h.send({ seq: h.conn.info().rcvNxt, ack: h.conn.info().sndNxt, flags: RST | ACK }));
  assert.equal(h.state, 'TIME-WAIT');
  assert.equal(h.conn.pollAt(), deadline);
  assert.deepEqual(h.errors, []);
});

test('TIME-WAIT: a SYN that may not reopen draws a challenge ACK', () => {
  const h = timeWait();
  const syn = seg({ seq: REMOTE_ISS - 5, flags: SYN });
  assert.equal(h.conn.canReopen(syn), false);
  expectSeg(h.send({ seq: REMOTE_ISS - 5, flags: SYN }), { flags: ACK, seq: LOCAL_ISS + 2, ack: REMOTE_ISS + 2 });
  assert.equal(h.state, 'TIME-WAIT');
});

test('SYN-SENT: RST without ACK ignored, RST,ACK with a wrong ACK ignored, bad ACK draws <SEQ=SEG.ACK><CTL=RST>', () => {
  const h = synSent();
  expectNothing(h.send({ seq: 0, flags: RST }));
  expectNothing(h.send({ seq: 0, ack: LOCAL_ISS + 7, flags: RST | ACK }));
  assert.equal(h.state, 'SYN-SENT');
  expectSeg(h.send({ seq: 300, ack: LOCAL_ISS + 7, flags: SYN | ACK }), { flags: RST, seq: LOCAL_ISS + 7, ack: 0, window: 0 });
  expectSeg(h.send({ seq: 300, ack: LOCAL_ISS, flags: ACK }), { flags: RST, seq: LOCAL_ISS, ack: 0 });
  assert.equal(h.state, 'SYN-SENT');
  assert.deepEqual(h.errors, []);
});

test('challenge ACKs are rate limited per second (RFC 5961 section 7)', () => {
  const h = establishedWith({ challengeAckLimit: 2 });
  const bad = { seq: REMOTE_ISS + 10, flags: RST };
  expectSeg(h.send(bad), { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 });
  h.advance(10);
  expectSeg(h.send(bad), { flags: ACK });
  h.advance(10);
  expectNothing(h.send(bad), 'third within the second');
  expectNothing(h.send({ seq: REMOTE_ISS + 1, flags: SYN }), 'a SYN shares the budget');
  h.advance(1000);
  expectSeg(h.send(bad), { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 }, 'budget refilled');
  assert.equal(h.conn.stats().challengeAcks, 3);
  assert.equal(h.state, 'ESTABLISHED');
});

test('ACK of data never sent: ACK with our numbers, the segment (and its text) dropped', () => {
  const h = establishedWith();
  const out = h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 500, flags: ACK, payload: 'abc' });
  expectSeg(out, { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, len: 0 });
  assert.equal(h.conn.recvAvailable, 0);
  assert.equal(h.conn.info().sndUna, LOCAL_ISS + 1);
});

test('ACKs of data never sent share the challenge-ACK budget (RFC 5961 5.2 and 7)', () => {
  const h = establishedWith({ challengeAckLimit: 2 });
  const future = { seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 500, flags: ACK };
  expectSeg(h.send(future), { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 });
  expectSeg(h.send(future), { flags: ACK });
  expectNothing(h.send(future), 'third within the second: the flood is not reflected');
  h.advance(1000);
  expectSeg(h.send(future), { flags: ACK }, 'budget refilled');
  assert.equal(h.conn.stats().challengeAcks, 3);
  assert.equal(h.conn.info().sndUna, LOCAL_ISS + 1);
});

test('out-of-window segments: data is always ACKed, pure ACKs at most once per 500 ms (ACK-loop breaker)', () => {
  const h = establishedWith();
  const old = { seq: REMOTE_ISS - 1000, ack: LOCAL_ISS + 1, flags: ACK };
  expectSeg(h.send(old), { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 }, 'the first is answered (RFC 9293 3.10.7.4)');
  expectNothing(h.send(old), 'a second pure ACK within 500 ms');
  expectSeg(h.send({ ...old, payload: 'xy' }), { flags: ACK, ack: REMOTE_ISS + 1 }, 'old data is always answered');
  expectSeg(h.send({ ...old, payload: 'xy' }), { flags: ACK, ack: REMOTE_ISS + 1 }, 'and again');
  h.advance(499);
  expectNothing(h.send(old), 'still within 500 ms');
  h.advance(1);
  expectSeg(h.send(old), { flags: ACK, ack: REMOTE_ISS + 1 }, 'answered again after 500 ms');
  assert.equal(h.conn.stats().oowAcksSkipped, 2);
  assert.equal(h.state, 'ESTABLISHED');
});

test('an ACK older than SND.UNA - MAX.SND.WND draws a challenge ACK; one within it is just ignored', () => {
  const h = establishedWith({}, { mss: 1000 });
  h.conn.send(new Uint8Array(4000));
  assert.equal(h.poll().length, 4);
  h.send({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 4001, flags: ACK, window: 2000 });
  assert.equal(h.conn.info().maxSndWnd, 65535);
  h.flush();
  const una = LOCAL_ISS + 4001;
  expectSeg(h.send({ seq: REMOTE_ISS + 1, ack: una - 65536, flags: ACK, payload: 'zz' }), {
    flags: ACK, seq: una, ack: REMOTE_ISS + 1,
  });
  assert.equal(h.conn.recvAvailable, 0, 'text of a challenged segment is not taken');
  expectNothing(h.send({ seq: REMOTE_ISS + 1, ack: una - 65535, flags: ACK }));
  assert.equal(h.conn.stats().challengeAcks, 1);
});

test('CLOSED port replies (RFC 9293 3.10.7.1): RST for everything but a RST', () => {
  const base = { srcPort: REMOTE_PORT, dstPort: LOCAL_PORT };
  assert.equal(replyToClosed(seg({ seq: 9, flags: RST })), null);
  assert.equal(replyToClosed(seg({ seq: 9, ack: 4, flags: RST | ACK })), null);
  const synReply = replyToClosed(seg({ seq: 0xffffffff, flags: SYN }));
  assert.deepEqual(synReply && { ...synReply, payload: [...synReply.payload] }, {
    srcPort: base.dstPort, dstPort: base.srcPort, seq: 0, ack: 0, flags: RST | ACK, window: 0, urgent: 0, options: {}, payload: [],
  });
  const ackReply = replyToClosed(seg({ seq: 100, ack: 777, flags: ACK, payload: 'data' }));
  assert.equal(ackReply?.flags, RST);
  assert.equal(ackReply?.seq, 777);
  assert.equal(ackReply?.ack, 0);
  const finReply = replyToClosed(seg({ seq: 100, flags: FIN, payload: 'abc' }));
  assert.equal(finReply?.flags, RST | ACK);
  assert.equal(finReply?.ack, 104, 'SEG.SEQ + SEG.LEN counts the FIN');
});
