// lossyLink (src/cli/tun-common.ts, `--drop/--delay/--reorder` on the TUN commands): a packet held
// back by --delay is a copy, since the TUN link reads its next batch into the same memory
// (Link.onReceive: views are valid only during the call).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { lossyLink } from '../../src/cli/tun-common.js';
import { seededRandom } from '../../src/util/random.js';
import type { Link } from '../../src/link/link.js';

test('--delay holds a copy: the packet arrives as it was, with its RX flags, after the link reused the buffer', async () => {
  const inner: Link = { mtu: 1500, send() {}, onReceive: null, close() {} };
  const outer = lossyLink(inner, { drop: 0, delay: 5 }, seededRandom(1));
  const got: [number[], number | undefined][] = [];
  outer.onReceive = (p, rx) => void got.push([Array.from(p), rx]);
  const shared = new Uint8Array([1, 2, 3, 4, 5, 6]); // the link's one receive buffer
  inner.onReceive!(shared.subarray(0, 3), 1);
  shared.fill(0xee); // the next read
  inner.onReceive!(shared.subarray(3, 6), 0);
  assert.deepEqual(got, [], 'held for the delay');
  for (let i = 0; i < 50 && got.length < 2; i++) await sleep(5);
  assert.deepEqual(got, [
    [[1, 2, 3], 1],
    [[0xee, 0xee, 0xee], 0],
  ]);
  assert.deepEqual(outer.lossStats(), { sent: 0, sendDropped: 0, received: 2, receiveDropped: 0 });
});
