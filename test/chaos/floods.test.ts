// Floods against a running transfer (issue 10): out-of-order data, ACK and RST floods from an
// off-path and from an in-window attacker keep the reassembly queue within maxOutOfOrderRanges
// and the receive buffer (which autotuning may grow, up to recvBufferMax), keep challenge ACKs within challengeAckLimit per second (RFC 5961
// section 7), reset nothing without an exact sequence number (RFC 5961 section 3) and let the
// transfer finish intact; an attacker who knows both sequence spaces gets bytes in, and only its own.
// Behaviour only: CPU figures come from `npm run floods`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFlood, type Attacker, type FloodKind, type FloodResult } from '../../scripts/lib/floods.js';

const BYTES = 512 * 1024;
const RATE = 20_000;
const DURATION = 300; // ms of flood: over before the 512 KiB transfer on the 2 MB/s link ends

function run(kind: FloodKind, attacker: Attacker, extra: { exactRst?: boolean } = {}): FloodResult {
  return runFlood({ kind, attacker, seed: 11, bytes: BYTES, rate: RATE, duration: DURATION, ...extra });
}

/** The bounds every flood must respect, and proof that the injected segments reached the connection. */
function assertBounded(r: FloodResult, extra = 0): void {
  const what = `${r.kind} flood from ${r.attacker}`;
  assert.equal(r.injected, (RATE * DURATION) / 1000 + extra, `${what}: every planned segment was injected`);
  assert.equal(r.reachedConnection, r.injected, `${what}: injected segments reached the victim's TCP input`);
  assert.ok(r.maxRanges <= r.rangeLimit, `${what}: ${r.maxRanges} out-of-order ranges held, limit ${r.rangeLimit}`);
  // The receive buffer may grow (receive-buffer autotuning counts the out-of-order span too), up to
  // recvBufferMax: what is held out of order stays within it.
  assert.ok(r.maxRecvCapacity <= r.recvBufferMax, `${what}: receive buffer grew to ${r.maxRecvCapacity} > recvBufferMax ${r.recvBufferMax}`);
  assert.ok(r.maxOooBytes <= r.maxRecvCapacity, `${what}: ${r.maxOooBytes} out-of-order bytes held > receive buffer ${r.maxRecvCapacity}`);
  assert.ok(r.maxUncommitted <= r.maxRecvCapacity, `${what}: ${r.maxUncommitted} bytes placed past RCV.NXT > receive buffer ${r.maxRecvCapacity}`);
  assert.ok(
    r.maxChallengePerSecond <= r.challengeAckLimit,
    `${what}: ${r.maxChallengePerSecond} challenge ACKs in one second of virtual time, limit ${r.challengeAckLimit}`,
  );
}

function assertIntact(r: FloodResult): void {
  const what = `${r.kind} flood from ${r.attacker}`;
  assert.deepEqual(r.victimErrors, [], `${what}: the connection was reset or failed`);
  assert.equal(r.bytesReceived, BYTES, `${what}: bytes delivered`);
  assert.equal(r.receivedHash, r.sentHash, `${what}: sha256 of the delivered stream differs (${r.differingBytes} bytes)`);
  assert.ok(r.clean, `${what}: both connections reached CLOSED and no timer was left`);
}

test('baseline: the transfer alone completes with a matching sha256', () => {
  const r = run('none', 'off-path');
  assertIntact(r);
});

for (const attacker of ['off-path', 'in-window-old-ack'] as const) {
  test(`out-of-order data flood from ${attacker}: nothing gets in, the queue stays bounded, the transfer is intact`, () => {
    const r = run('ooo', attacker);
    assertBounded(r);
    assertIntact(r);
    assert.equal(r.attackerKept, 0, 'no attacker segment was queued or delivered (wrong sequence or unacceptable ACK, RFC 5961 5.2)');
    if (attacker === 'in-window-old-ack') {
      assert.equal(r.maxChallengePerSecond, r.challengeAckLimit, 'in-window data with an old ACK draws challenge ACKs up to the limit');
    }
  });
}

test('out-of-order data flood from an in-window attacker with valid ACKs: bounded queue, only its own bytes get in', () => {
  const r = run('ooo', 'in-window');
  assertBounded(r);
  // The flood did fill the reassembly queue: the bound was exercised, not merely unreached.
  assert.equal(r.maxRanges, r.rangeLimit, 'the flood filled the out-of-order queue to its limit');
  assert.ok(r.maxOooBytes > 0);
  // Whoever knows both sequence spaces can write into the stream (TCP has no integrity of its
  // own); the stack must not mangle anything else.
  assert.ok(r.differingBytes > 0, 'an attacker with exact sequence and ACK numbers gets data in (RFC 5961 section 1)');
  assert.equal(r.foreignBytes, 0, 'every differing byte is the attacker\'s byte for that offset');
  // Its bytes past what the client sent desynchronise the connection: the client must be told,
  // after retransmitting in vain, and the two ends must not ACK each other forever.
  assert.ok(r.attackerKept > 0, 'its segments were queued');
  assert.ok(
    r.victimErrors.some((e) => e.startsWith('client: ETIMEDOUT')) || r.bytesReceived === BYTES,
    `the client either completes or, desynchronised, gives up with an error: ${r.victimErrors.join('; ')}`,
  );
  assert.ok(r.clean, 'both ends reached CLOSED: they did not ACK each other forever');
  assert.ok(r.victimSegmentsOut <= r.injected * 1.1, `the victim answered ${r.victimSegmentsOut} segments to ${r.injected} injected`);
});

for (const attacker of ['off-path', 'in-window', 'in-window-old-ack'] as const) {
  test(`ACK flood (old, duplicate, future ACKs) from ${attacker}: challenge ACKs within the limit, transfer intact`, () => {
    const r = run('ack', attacker);
    assertBounded(r);
    assertIntact(r);
    if (attacker !== 'off-path') {
      assert.equal(r.maxChallengePerSecond, r.challengeAckLimit, 'old and future ACKs draw challenge ACKs up to the limit, no more');
    } else {
      // Forged pure ACKs with random sequence numbers are out of window: at most one ACK per 500 ms answers them.
      assert.ok(r.victimSegmentsOut < r.injected / 5, `${r.victimSegmentsOut} segments sent in reply to ${r.injected} forged ACKs`);
    }
  });
}

for (const attacker of ['off-path', 'in-window'] as const) {
  test(`RST flood with random sequence numbers from ${attacker}: no reset without the exact RCV.NXT, transfer intact`, () => {
    const r = run('rst', attacker);
    assertBounded(r);
    assertIntact(r);
    if (attacker === 'in-window') {
      assert.equal(r.maxChallengePerSecond, r.challengeAckLimit, 'in-window RSTs draw challenge ACKs up to the limit (RFC 5961 3.2)');
    }
  });
}

test('control: after the RST flood, one RST at exactly RCV.NXT through the same path resets the connection', () => {
  const r = run('rst', 'in-window', { exactRst: true });
  assertBounded(r, 1);
  assert.ok(r.victimErrors.some((e) => e.startsWith('server: ECONNRESET')), `server errors: ${r.victimErrors.join('; ')}`);
  assert.ok(r.bytesReceived < BYTES, 'the transfer stopped at the reset');
});
