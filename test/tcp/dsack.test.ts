// D-SACK (RFC 2883) at the receiver, as exact segments: a duplicate of data below RCV.NXT (section
// 4.1) and a duplicate of data already queued out of order (section 4.2) are reported by a first
// SACK block covering the duplicated range, followed by the SACK blocks of the queue.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { synReceived, expectSeg, ACK, LOCAL_ISS, REMOTE_ISS } from '../helpers/tcp.js';

const L = LOCAL_ISS + 1;
const R = REMOTE_ISS + 1;

function est() {
  const h = synReceived({ sack: true }, { mss: 1000, sackPermitted: true });
  h.send({ seq: R, ack: L, flags: ACK });
  h.flush();
  assert.equal(h.state, 'ESTABLISHED');
  return h;
}

const data = (h: ReturnType<typeof est>, off: number, len: number) =>
  h.send({ seq: R + off, ack: L, flags: ACK, payload: new Uint8Array(len).fill(1) });
const blocks = (pairs: [number, number][]) => ({ sack: pairs.map(([l, r]) => ({ left: R + l, right: R + r })) });

test('a repeat of out-of-order data: D-SACK of the repeat, then the block holding it (RFC 2883 4.2)', () => {
  const h = est();
  expectSeg(data(h, 1000, 1000), { flags: ACK, ack: R, options: blocks([[1000, 2000]]) });
  expectSeg(data(h, 1000, 1000), { flags: ACK, ack: R, options: blocks([[1000, 2000], [1000, 2000]]) }, 'whole repeat');
  expectSeg(data(h, 1500, 1000), { flags: ACK, ack: R, options: blocks([[1500, 2000], [1000, 2500]]) }, 'partial repeat: only the part received twice');
  expectSeg(data(h, 3000, 500), { flags: ACK, ack: R, options: blocks([[3000, 3500], [1000, 2500]]) }, 'new out-of-order data: no D-SACK');
  expectSeg(data(h, 0, 1000), { flags: ACK, ack: R + 2500, options: blocks([[3000, 3500]]) }, 'the hole filled');
  assert.equal(h.conn.recvAvailable, 2500);
});

test('a repeat of data already delivered: D-SACK below the cumulative ACK (RFC 2883 4.1)', () => {
  const h = est();
  expectSeg(data(h, 0, 1000), { flags: ACK, ack: R + 1000 });
  expectSeg(data(h, 0, 1000), { flags: ACK, ack: R + 1000, options: blocks([[0, 1000]]) });
});

test('without SACK negotiated no D-SACK block is sent', () => {
  const h = synReceived({ sack: true }, { mss: 1000 });
  h.send({ seq: R, ack: L, flags: ACK });
  h.flush();
  expectSeg(h.send({ seq: R + 1000, ack: L, flags: ACK, payload: new Uint8Array(1000) }), { flags: ACK, ack: R, options: {} });
  expectSeg(h.send({ seq: R + 1000, ack: L, flags: ACK, payload: new Uint8Array(1000) }), { flags: ACK, ack: R, options: {} });
});
