// Blind in-window attacks (RFC 5961): an off-path attacker who knows the 4-tuple but not RCV.NXT
// sends a million RSTs, SYNs and data segments with uniformly random sequence (and ack) numbers at
// an established connection with random ISNs; nothing gets in, and the real transfer still completes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from '../helpers/tcp.js';
import { TcpFlag, type TcpRepr } from '../../src/wire/tcp.js';
import { sub } from '../../src/wire/seq.js';
import { seededRandom } from '../../src/util/random.js';

const ATTEMPTS = Number(process.env['BLIND_ATTEMPTS'] ?? 1_000_000);
const SEED = Number(process.env['BLIND_SEED'] ?? 5961);
const noop = (): void => {};

function payloadOf(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + salt + (i >>> 8)) & 0xff;
  return b;
}

test(`blind attack: ${ATTEMPTS} random-seq RST/SYN/data segments from off path, 0 successes, transfer intact`, () => {
  const r = seededRandom(SEED);
  const p = new Pair({ latency: 20, issA: r.u32(), issB: r.u32() });
  p.run(1000);
  assert.equal(p.a.state, 'ESTABLISHED');
  assert.equal(p.b.state, 'ESTABLISHED');
  const data = payloadOf(300_000, SEED);
  // First half of the legitimate transfer, then the attack on an idle connection, then the rest.
  p.a.send(data.subarray(0, 150_000));
  p.run(p.now + 10_000);
  const b = p.b;
  const rcvWnd = sub(b.info().rcvAdv, b.info().rcvNxt);
  const ackRange = b.info().maxSndWnd + sub(b.info().sndNxt, b.info().sndUna) + 1;
  const statesBefore = p.statesB.length;
  const errorsBefore = p.errors.length;
  const receivedBefore = p.concat('b').length;
  const rcvNxtBefore = b.info().rcvNxt;
  const junk = payloadOf(100, 0xee);
  let resets = 0;
  let dataIn = 0;
  let stateChanges = 0;
  const kinds = { rst: 0, syn: 0, data: 0 };
  const t0 = performance.now();
  for (let i = 0; i < ATTEMPTS; i++) {
    const k = i % 3;
    const seg: TcpRepr = {
      srcPort: 1000,
      dstPort: 2000,
      seq: r.u32(),
      ack: k === 2 ? r.u32() : 0,
      flags: k === 0 ? TcpFlag.RST : k === 1 ? TcpFlag.SYN : TcpFlag.ACK | TcpFlag.PSH,
      window: 65535,
      urgent: 0,
      options: {},
      payload: k === 2 ? junk : junk.subarray(0, 0),
    };
    kinds[k === 0 ? 'rst' : k === 1 ? 'syn' : 'data']++;
    if (i % 1000 === 0) p.now += 1; // a millisecond per thousand guesses: the attacker is fast
    b.handleSegment(seg, p.now);
    b.poll(p.now, noop); // challenge ACKs go to the real peer; here they are discarded
    if (b.state !== 'ESTABLISHED') {
      stateChanges++;
      if (b.state === 'CLOSED') resets++;
      break;
    }
    if (b.info().rcvNxt !== rcvNxtBefore || b.info().hasOutOfOrder) {
      dataIn++;
      break;
    }
  }
  const ms = performance.now() - t0;
  const successes = resets + dataIn + stateChanges + (p.errors.length - errorsBefore) + (p.statesB.length - statesBefore);
  // Expected successes: RST needs SEG.SEQ == RCV.NXT exactly (RFC 5961 3.2), 1/2^32 per guess; data needs
  // an in-window seq and an acceptable ack (RFC 5961 5.2); a SYN never succeeds (4.2).
  const expected = kinds.rst / 2 ** 32 + kinds.data * (rcvWnd / 2 ** 32) * (ackRange / 2 ** 32);
  console.log(
    `# blind: ${ATTEMPTS} guesses (${kinds.rst} RST, ${kinds.syn} SYN, ${kinds.data} data) in ${ms.toFixed(0)} ms; ` +
      `RCV.WND ${rcvWnd}, ack range ${ackRange}; expected successes ${expected.toExponential(2)}, observed ${successes}; ` +
      `challenge ACKs sent ${b.stats().challengeAcks}`,
  );
  assert.equal(successes, 0, `attack succeeded (seed ${SEED}): resets ${resets}, data ${dataIn}, state ${b.state}`);
  assert.equal(p.concat('b').length, receivedBefore, 'attacker bytes reached the application');
  // The legitimate transfer completes with identical bytes.
  p.a.send(data.subarray(150_000));
  p.run(p.now + 60_000);
  assert.deepEqual(Buffer.from(p.concat('b')).equals(Buffer.from(data)), true, 'stream differs after the attack');
  assert.equal(p.a.state, 'ESTABLISHED');
  assert.equal(p.b.state, 'ESTABLISHED');
});
