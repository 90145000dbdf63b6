// Blind SYNs at a synchronized connection (RFC 5961 section 4): an off-path attacker who knows the
// 4-tuple sends SYNs with random sequence numbers, inside and outside the receive window. Each may
// draw a challenge ACK, but never more than challengeAckLimit per second, in every synchronized
// state, and the connection is left as it was.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Harness, expectSeg, establishedWith, finWait1, finWait2, closeWait, closing, lastAck, timeWait, synReceived,
  SYN, ACK, RST, FIN, LOCAL_ISS, REMOTE_ISS,
} from '../helpers/tcp.js';
import { seededRandom } from '../../src/util/random.js';
import { add } from '../../src/wire/seq.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';

const fixtures: Record<string, (over?: TcpConfigInput) => Harness> = {
  'SYN-RECEIVED': synReceived,
  ESTABLISHED: establishedWith,
  'FIN-WAIT-1': finWait1,
  'FIN-WAIT-2': finWait2,
  'CLOSE-WAIT': closeWait,
  CLOSING: closing,
  'LAST-ACK': lastAck,
  'TIME-WAIT': timeWait,
};

const LIMIT = 100;
const SECONDS = 3;
const PER_SECOND = 2000;

for (const [state, make] of Object.entries(fixtures)) {
  test(`${state}: ${SECONDS * PER_SECOND} blind SYNs draw at most ${LIMIT} ACKs per second, in and out of the window`, () => {
    const h = make({ challengeAckLimit: LIMIT, msl: 60_000 });
    h.flush();
    const rnd = seededRandom(0x5e1f + state.length);
    const rcvNxt = h.conn.info().rcvNxt;
    const wnd = h.conn.info().rcvAdv - rcvNxt;
    let inWindowSent = 0;
    let outWindowSent = 0;
    const start = h.now;
    for (let s = 0; s < SECONDS; s++) {
      let acks = 0;
      for (let i = 0; i < PER_SECOND; i++) {
        // Half land inside [RCV.NXT, RCV.NXT + RCV.WND), half anywhere in the sequence space.
        const inside = i % 2 === 0;
        const seq = inside ? add(rcvNxt, rnd.u32() % Math.max(1, wnd)) : rnd.u32();
        if (inside) inWindowSent++;
        else outWindowSent++;
        h.now = start + s * 1000 + Math.floor((i * 1000) / PER_SECOND);
        const out = h.send({ seq, flags: SYN, window: 1000 });
        for (const o of out) {
          assert.equal(o.flags & RST, 0, `${state}: a blind SYN never draws a RST`);
          // Our own timers still run while the SYNs arrive: SYN,ACK and FIN retransmissions.
          if (o.flags & (SYN | FIN)) {
            assert.equal(o.seq, o.flags & SYN ? LOCAL_ISS : LOCAL_ISS + 1, `${state}: only retransmissions carry SYN or FIN`);
            continue;
          }
          assert.equal(o.flags, ACK, `${state}: a blind SYN is answered by a pure ACK`);
          assert.equal(o.payload.length, 0);
          assert.equal(o.ack, rcvNxt, 'the challenge ACK carries RCV.NXT');
          acks++;
        }
      }
      assert.ok(acks <= LIMIT, `${state}: ${acks} ACKs in second ${s}, limit ${LIMIT}`);
      assert.ok(acks > 0, `${state}: challenge ACKs are still sent (RFC 5961 4.2)`);
    }
    assert.ok(inWindowSent > 0 && outWindowSent > 0);
    assert.equal(h.state, state, 'no blind SYN changes the state');
    assert.deepEqual(h.errors, []);
    assert.equal(h.conn.info().rcvNxt, rcvNxt);
  });
}

test('an out-of-window SYN gets the same challenge ACK as an in-window one: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
  const h = establishedWith();
  expectSeg(h.send({ seq: REMOTE_ISS - 100_000, flags: SYN }), { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, len: 0 });
  expectSeg(h.send({ seq: REMOTE_ISS + 1_000_000, flags: SYN }), { flags: ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, len: 0 });
  assert.equal(h.conn.stats().challengeAcks, 2);
  assert.equal(h.state, 'ESTABLISHED');
});
