// Allocation on the established path, pinned structurally (counts of objects made, not sampled
// bytes): through two Stacks, a steady bulk transfer creates no timer entries and no views per
// segment. In a file of its own, so it runs in a fresh process: packets and rings share the
// checksum kernel's WebAssembly memory while its arenas last (wire/simd-sum.ts), and a process that
// has used them up (many Stacks over a long test file) copies through a view per copy again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, B4 } from '../stack/fixture.js';

/**
 * Two Stacks (test/stack/fixture.ts) moving bulk data from a to b: the reader drains into one
 * reused array, the writer offers its whole 256 KiB array each time (send takes what fits). Four
 * 4 MiB moves warm it up (each starts with a burst of a congestion window, which grows for a few
 * moves, and the pools grow to the most entries ever queued at once); `move` makes more.
 */
function steadyBulk(latency: number) {
  const { clock, a, b } = twoStacks({ latency });
  let got = 0;
  b.tcpListen({ port: 80 }, (conn) => {
    const buf = new Uint8Array(65536);
    conn.hooks.onReadable = () => {
      for (let k = conn.recvInto(buf); k > 0; k = conn.recvInto(buf)) got += k;
    };
  });
  const c = a.tcpConnect({ address: B4, port: 80 });
  const data = new Uint8Array(1 << 18).fill(7);
  let target = 0;
  let sent = 0;
  const pump = (): void => {
    while (sent < target) {
      const n = c.send(data);
      if (n === 0) return;
      sent += n;
    }
  };
  c.hooks.onWritable = pump;
  const move = (bytes: number): void => {
    target += bytes;
    pump();
    while (got < target) assert.ok(clock.runNext(), 'stalled');
  };
  for (let i = 0; i < 4; i++) move(4 << 20);
  return { clock, a, b, move, packets: (): number => a.stats().tcpOut + b.stats().tcpOut };
}

test('through the Stack, a steady bulk transfer creates no timer entries per packet (link, driver and connection deadlines reuse theirs)', () => {
  type WithHost = { tcpHost: { timerEntriesCreated: number } };
  for (const latency of [0, 1]) {
    const { clock, a, b, move, packets } = steadyBulk(latency);
    const created = (): number => clock.entriesCreated + (a as unknown as WithHost).tcpHost.timerEntriesCreated + (b as unknown as WithHost).tcpHost.timerEntriesCreated;
    const before = created();
    const out0 = packets();
    for (let i = 0; i < 2; i++) move(4 << 20);
    const n = packets() - out0;
    assert.ok(n > 5000, `${n} packets`);
    const delta = created() - before;
    assert.ok(delta <= 8, `latency ${latency}: ${delta} timer entries created for ${n} packets`);
  }
});

test('through the Stack, a steady bulk transfer makes no view per segment (send ring, packets, receive ring, reader)', () => {
  // TypedArray.prototype.set copies whole arrays only, so each of a segment's copies (the
  // writer's array into the send ring, the ring into a packet, the packet into the receive ring,
  // the ring into the reader's array) once made a subarray: a 96-byte object per copy. Count every
  // subarray made anywhere while the transfer is steady: views of recurring ranges are reused.
  const proto = Uint8Array.prototype as unknown as { subarray(this: Uint8Array, a?: number, b?: number): Uint8Array };
  const original = proto.subarray;
  for (const latency of [0, 1]) {
    const { move, packets } = steadyBulk(latency);
    const out0 = packets();
    let views = 0;
    proto.subarray = function (this: Uint8Array, s?: number, e?: number): Uint8Array {
      views++;
      return original.call(this, s, e);
    };
    try {
      for (let i = 0; i < 2; i++) move(4 << 20);
    } finally {
      proto.subarray = original;
    }
    const n = packets() - out0;
    assert.ok(n > 5000, `${n} packets`);
    // A copy that wraps around the end of a ring takes two pieces at new places: a few per lap
    // of the 256 KiB send ring (8 MiB here is 32 laps), never one per segment.
    // (99 of 8,688 packets at either latency; 8,560 when every copy made its view.)
    assert.ok(views <= n / 32, `latency ${latency}: ${views} views made for ${n} packets`);
  }
});
