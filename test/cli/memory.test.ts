// When serve gives memory back after a load (src/cli/memory.ts): the collection schedule alone,
// on times the test chooses (the collection itself is exercised by serve.test's load test), and the
// pieces that give the WebAssembly arena's pooled TCP buffers back (discardPages, discardPooledArena).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReliefSchedule, wellAbove } from '../../src/cli/memory.js';
import { discardPages, tunUnavailableReason } from '../../src/link/tun.js';
import { RingBuffer, discardPooledArena } from '../../src/tcp/ring-buffer.js';
import { kernelMemory } from '../../src/wire/simd-sum.js';

/** The times, among looks every `step` ms from 0 to `until`, at which the schedule collects. */
function collections(s: ReliefSchedule, step: number, until: number, look: (t: number) => { busy: boolean; large: boolean }): number[] {
  const at: number[] = [];
  for (let t = 0; t <= until; t += step) {
    const { busy, large } = look(t);
    if (s.due(t, busy, large)) at.push(t);
  }
  return at;
}

test('quiet and large: collect at once, then after gaps that double up to the longest', () => {
  const s = new ReliefSchedule(5000, 30_000);
  assert.deepEqual(collections(s, 5000, 130_000, () => ({ busy: false, large: true })), [0, 5000, 15_000, 35_000, 65_000, 95_000, 125_000]);
});

test('busy or small: no collection, and the next quiet look after a load collects at once with short gaps again', () => {
  const s = new ReliefSchedule(5000, 30_000);
  // Quiet and large for a minute (backed off to 30 s), then a load, then quiet again.
  const look = (t: number): { busy: boolean; large: boolean } => ({ busy: t >= 60_000 && t < 80_000, large: true });
  assert.deepEqual(collections(s, 5000, 100_000, look), [0, 5000, 15_000, 35_000, 80_000, 85_000, 95_000]);
  const small = new ReliefSchedule(5000, 30_000);
  assert.deepEqual(collections(small, 5000, 60_000, () => ({ busy: false, large: false })), []);
  // Memory given back (small) then large again: at once, no leftover wait.
  const back = new ReliefSchedule(5000, 30_000);
  assert.deepEqual(collections(back, 5000, 40_000, (t) => ({ busy: false, large: t < 10_000 || t >= 30_000 })), [0, 5000, 30_000, 35_000]);
});

test('drained (most connections gone since the last collection, as TIME-WAIT ends): collect at that look, then the gaps start over', () => {
  const s = new ReliefSchedule(5000, 30_000);
  // Backed off to 30 s gaps (0, 5, 15, 35, 65 s), then the table drains at 70 s: no wait for 95 s.
  const at = collections(s, 5000, 110_000, () => ({ busy: false, large: true }));
  assert.deepEqual(at, [0, 5000, 15_000, 35_000, 65_000, 95_000]);
  const d = new ReliefSchedule(5000, 30_000);
  const got: number[] = [];
  for (let t = 0; t <= 110_000; t += 5000) if (d.due(t, false, true, t === 70_000)) got.push(t);
  assert.deepEqual(got, [0, 5000, 15_000, 35_000, 65_000, 70_000, 75_000, 85_000, 105_000]);
  // Drained but small (already given back) or busy: nothing.
  const small = new ReliefSchedule(5000, 30_000);
  assert.equal(small.due(0, false, false, true), false);
  assert.equal(small.due(5000, true, true, true), false);
});

test('wellAbove: 1.25x the start and 8 MiB more, whatever the size (a 58 MiB serve at 89 MiB after a load still collects)', () => {
  const MiB = 1048576;
  assert.equal(wellAbove(89 * MiB, 58 * MiB), true, 'the session-5 bound (32 MiB above) stopped here, at 1.53x');
  assert.equal(wellAbove(72 * MiB, 58 * MiB), false, 'under 1.25x');
  assert.equal(wellAbove(73 * MiB, 58 * MiB), true);
  assert.equal(wellAbove(20 * MiB, 14 * MiB), false, 'a small process: 1.43x but only 6 MiB more');
  assert.equal(wellAbove(600 * MiB, 400 * MiB), true);
});

test('discardPages gives whole pages of a WebAssembly memory back: they read as zeros, bytes around them are kept', (t) => {
  const why = tunUnavailableReason();
  if (why !== null) return t.skip(`needs the TUN addon: ${why}`);
  const PAGE = 4096;
  const mem = new Uint8Array(new WebAssembly.Memory({ initial: 256 }).buffer); // 16 MiB
  mem.fill(0xab);
  const rssFull = process.memoryUsage.rss();
  // A view from mid-page 0 to mid-page 4000: pages 1..3999 go, the partial pages at its ends stay.
  const view = mem.subarray(100, 4000 * PAGE + 100);
  assert.equal(discardPages(view), 3999 * PAGE);
  const rssAfter = process.memoryUsage.rss();
  assert.equal(mem[99], 0xab, 'before the view');
  assert.equal(mem[PAGE - 1], 0xab, 'the partial page at its start');
  assert.equal(mem[PAGE], 0, 'its first whole page');
  assert.equal(mem[4000 * PAGE - 1], 0, 'its last whole page');
  assert.equal(mem[4000 * PAGE], 0xab, 'the partial page at its end');
  assert.ok(rssFull - rssAfter >= 8 * 1048576, `RSS fell by ${((rssFull - rssAfter) / 1048576).toFixed(1)} MiB for 15.6 MiB discarded`);
  // Written again, the pages are ordinary memory.
  mem.fill(7, PAGE, 2 * PAGE);
  assert.equal(mem[PAGE + 5], 7);
  assert.equal(discardPages(mem.subarray(10, 20)), 0, 'no whole page inside');
  assert.throws(() => discardPages(new Uint16Array(4096) as unknown as Uint8Array), TypeError);
});

test('discardPooledArena hands over only pooled storage in the kernel memory, and a ring reusing it after a discard reads what it wrote', () => {
  if (kernelMemory() === null) return;
  const kernelBuffer = kernelMemory()!.buffer;
  // A ring of 64 KiB takes arena storage on its first large write; released, it is pooled.
  const r = new RingBuffer(65536);
  r.write(new Uint8Array(65536).fill(1));
  r.read(65536);
  assert.equal(r.release(), true);
  const handed: Uint8Array[] = [];
  // Zero-filling stands in for the pages the system gives back as zeros.
  const n = discardPooledArena((b) => (handed.push(b), b.fill(0), b.length));
  assert.ok(handed.length >= 1 && n >= 65536, `handed ${handed.length} storages, ${n} bytes`);
  for (const b of handed) assert.equal(b.buffer, kernelBuffer, 'only storage in the kernel memory');
  const again = new RingBuffer(65536);
  const data = Uint8Array.from({ length: 65536 }, (_, i) => (i * 7) & 0xff);
  again.write(data);
  assert.deepEqual(again.read(65536), data);
});
