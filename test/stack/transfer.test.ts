// Issue 4 acceptance: two stacks on the seeded simulated link move 16 MiB each way at once under
// loss, reordering and duplication; the bytes hash equal and both connections close cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTransfer } from '../../scripts/lib/transfer.js';

const MiB = 1 << 20;

for (const loss of [0, 0.01, 0.05, 0.2]) {
  for (const sack of [true, false]) {
    test(`16 MiB each way at ${loss * 100}% loss, 2% reordering, 1% duplication, SACK ${sack ? 'on' : 'off'}`, () => {
      const r = runTransfer({
        seed: 7,
        up: 16 * MiB,
        down: 16 * MiB,
        rtt: 20,
        loss,
        reorder: 0.02,
        duplicate: 0.01,
        tcp: { sack },
        // Without SACK, 20% loss each way costs NewReno hours of virtual time (repeated timeouts);
        // it still has to finish.
        limit: 48 * 3600_000,
      });
      assert.deepEqual(r.errors, []);
      assert.equal(r.upReceived, 16 * MiB);
      assert.equal(r.downReceived, 16 * MiB);
      assert.equal(r.upHashReceived, r.upHashSent, 'client-to-server bytes differ');
      assert.equal(r.downHashReceived, r.downHashSent, 'server-to-client bytes differ');
      assert.equal(r.openConnections, 0, 'both connections reached CLOSED');
      assert.equal(r.pendingTimers, 0, 'no timer left behind');
      if (loss > 0) assert.ok((r.clientStats?.bytesRetrans ?? 0) > 0, 'losses were repaired by retransmission');
    });
  }
}

test('64 MiB one way at 1% loss arrives intact', () => {
  const r = runTransfer({ seed: 3, up: 64 * MiB, down: 0, rtt: 10, loss: 0.01 });
  assert.equal(r.upHashReceived, r.upHashSent);
  assert.equal(r.openConnections, 0);
});
