// The virtual clock jumps between deadlines in order; the heap keeps equal times stable; the
// real-time clock runs callbacks through one host timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { readFile } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RealtimeClock } from '../../src/util/realtime-clock.js';
import { MinHeap } from '../../src/util/heap.js';
import { seededRandom } from '../../src/util/random.js';
import { TimerQueue } from '../../src/util/timer-queue.js';

test('MinHeap pops in sorted order for random input', () => {
  const r = seededRandom(5);
  const h = new MinHeap<number>((a, b) => a < b);
  const xs: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const v = r.u32() % 500;
    xs.push(v);
    h.push(v);
  }
  h.filter((v) => v % 3 !== 0);
  const out: number[] = [];
  while (h.size > 0) out.push(h.pop()!);
  assert.deepEqual(out, xs.filter((v) => v % 3 !== 0).sort((a, b) => a - b));
  assert.equal(h.pop(), undefined);
});

test('VirtualClock runs callbacks in time order, equal times in scheduling order', () => {
  const c = new VirtualClock();
  const log: string[] = [];
  c.schedule(30, () => log.push(`c@${c.now()}`));
  c.schedule(10, () => log.push(`a@${c.now()}`));
  c.schedule(10, () => log.push(`b@${c.now()}`));
  c.schedule(20, () => {
    log.push(`x@${c.now()}`);
    c.schedule(20, () => log.push(`y@${c.now()}`)); // scheduled "now" runs after already-due ones
  });
  assert.equal(c.pending(), 4);
  assert.equal(c.runUntilIdle(), 5);
  assert.deepEqual(log, ['a@10', 'b@10', 'x@20', 'y@20', 'c@30']);
  assert.equal(c.now(), 30);
  assert.equal(c.pending(), 0);
});

test('VirtualClock: a 60 s deadline is reached instantly; cancel removes callbacks', () => {
  const c = new VirtualClock();
  let fired = 0;
  const h = c.schedule(5, () => fired++);
  c.schedule(60_000, () => fired += 10);
  c.cancel(h);
  c.cancel(h); // twice is harmless
  assert.equal(c.pending(), 1);
  const t0 = performance.now();
  c.runUntilIdle();
  assert.ok(performance.now() - t0 < 50);
  assert.equal(fired, 10);
  assert.equal(c.now(), 60_000);
});

test('VirtualClock: runUntil stops at the given time and sets it; runNext steps one callback', () => {
  const c = new VirtualClock();
  const log: number[] = [];
  for (const t of [5, 15, 25]) c.schedule(t, () => log.push(t));
  assert.equal(c.runUntil(16), 2);
  assert.equal(c.now(), 16);
  assert.deepEqual(log, [5, 15]);
  c.schedule(1, () => log.push(-1)); // in the past: runs at the current time
  assert.equal(c.nextAt(), 16);
  assert.ok(c.runNext());
  assert.deepEqual(log, [5, 15, -1]);
  assert.equal(c.advance(100), 1);
  assert.equal(c.now(), 116);
  assert.equal(c.runNext(), false);
});

test('VirtualClock: runUntilIdle honours maxTime and maxEvents (a self-rescheduling timer)', () => {
  const c = new VirtualClock();
  let ticks = 0;
  const tick = (): void => {
    ticks++;
    c.schedule(c.now() + 100, tick);
  };
  c.schedule(0, tick);
  assert.equal(c.runUntilIdle({ maxTime: 1000 }), 11);
  assert.equal(c.now(), 1000);
  assert.equal(c.runUntilIdle({ maxEvents: 5 }), 5);
  assert.equal(ticks, 16);
  assert.equal(c.pending(), 1);
});

test('VirtualClock: many cancellations are compacted away', () => {
  const c = new VirtualClock();
  const hs = Array.from({ length: 10_000 }, (_, i) => c.schedule(i, () => assert.fail('cancelled ran')));
  let ran = 0;
  c.schedule(5, () => ran++);
  for (const h of hs) c.cancel(h);
  assert.equal(c.pending(), 1);
  c.runUntilIdle();
  assert.equal(ran, 1);
});

test('RealtimeClock runs due callbacks in order through one host timer', async () => {
  const c = new RealtimeClock({ unref: false });
  const log: string[] = [];
  const t = c.now();
  const done = new Promise<void>((resolve) => {
    c.schedule(t + 15, () => {
      log.push('b');
      resolve();
    });
  });
  c.schedule(t + 5, () => log.push('a'));
  const h = c.schedule(t + 10, () => log.push('never'));
  c.cancel(h);
  assert.equal(c.pending(), 2);
  await done;
  assert.deepEqual(log, ['a', 'b']);
  assert.ok(c.now() - t >= 14);
  assert.equal(c.pending(), 0);
  c.dispose();
});

test('RealtimeClock runs work due now in the same event-loop turn, not after a host timer (>= 1 ms)', async () => {
  const c = new RealtimeClock({ unref: false });
  const log: string[] = [];
  // From an I/O callback, as a packet read from a device: work scheduled "now" (a write's output)
  // runs before a setImmediate queued after it, in this turn's check phase; a 0 ms setTimeout would
  // run it in the next turn's timers phase, after that setImmediate, a millisecond or more later.
  await new Promise<void>((resolve) => {
    readFile(new URL(import.meta.url), () => {
      c.schedule(c.now(), () => log.push('due now'));
      setImmediate(() => {
        log.push('immediate queued after');
        resolve();
      });
    });
  });
  assert.deepEqual(log, ['due now', 'immediate queued after']);
  // Cancelled before its turn, it does not run; a later deadline still goes through a host timer.
  const h = c.schedule(c.now(), () => log.push('cancelled'));
  c.cancel(h);
  await new Promise<void>((resolve) => c.schedule(c.now() + 3, resolve));
  assert.deepEqual(log, ['due now', 'immediate queued after']);
  c.dispose();
});

test('RealtimeClock (unref, the default) still runs work due now while the event loop waits on a far timer', () => {
  // An unref'd setImmediate does not stop Node's poll phase from blocking until the next timer: work
  // due now waited for whatever timer came next (a delayed ACK, a retransmission timeout). In a
  // process of its own, so that nothing else (the test runner) wakes the loop.
  const mod = fileURLToPath(new URL('../../src/util/realtime-clock.ts', import.meta.url));
  const script = `
    import { RealtimeClock } from ${JSON.stringify(mod)};
    const c = new RealtimeClock();
    setTimeout(() => process.exit(3), 3000);
    setTimeout(() => {
      const t0 = performance.now();
      c.schedule(c.now(), () => {
        console.log(performance.now() - t0);
        process.exit(0);
      });
    }, 1);
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  // Within a turn: well under the 3 s the loop would otherwise sleep (a margin for a loaded machine).
  const ms = Number(r.stdout.trim());
  assert.ok(ms < 1000, `work due now ran after ${ms.toFixed(0)} ms`);
});

test('VirtualClock: work due now (its FIFO) and deadlines (its heap) interleave in (time, scheduling) order, cancels included', () => {
  // A model: every callback scheduled gets (time, sequence); they must run sorted by that pair.
  const r = seededRandom(9);
  const c = new VirtualClock();
  const ran: [number, number][] = [];
  const handles: { h: ReturnType<VirtualClock['schedule']>; key: [number, number] }[] = [];
  const cancelled = new Set<string>();
  let seq = 0;
  const add = (t: number, depth: number): void => {
    const key: [number, number] = [Math.max(t, c.now()), seq++];
    const h = c.schedule(t, () => {
      ran.push(key);
      // Callbacks schedule more work: often for now (zero-latency), sometimes later.
      if (depth < 3) for (let k = r.u32() % 3; k > 0; k--) add(r.u32() % 4 === 0 ? c.now() + (r.u32() % 5) : c.now(), depth + 1);
    });
    handles.push({ h, key });
  };
  for (let i = 0; i < 3000; i++) add(r.u32() % 3 === 0 ? 0 : r.u32() % 50, 0);
  for (let i = 0; i < 400; i++) {
    const x = handles[r.u32() % handles.length]!;
    c.cancel(x.h);
    cancelled.add(x.key.join());
  }
  c.runUntilIdle();
  assert.equal(c.pending(), 0);
  const sorted = [...ran].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  assert.deepEqual(ran, sorted, 'callbacks ran in (time, scheduling order)');
  assert.ok(ran.length > 3000, 'nested work ran too');
  for (const k of ran) assert.ok(!cancelled.has(k.join()), `cancelled ${k.join()} did not run`);
});

test('TimerQueue: pooled entries are reused once run or cancelled, in (time, order) as plain ones', () => {
  const q = new TimerQueue();
  const log: string[] = [];
  // Mixed plain and pooled, heap and FIFO: the order is (time, scheduling order) either way.
  q.add(5, () => log.push('plain@5'), false);
  const p = q.addPooled(5, () => log.push('pooled@5'), false, 'x');
  q.addPooled(1, () => log.push('pooled@1'), false);
  q.add(1, () => log.push('plain@1'), false);
  assert.equal(p.arg, 'x');
  for (let e = q.peek(); e !== undefined; e = q.peek()) q.take(e)();
  assert.deepEqual(log, ['pooled@1', 'plain@1', 'plain@5', 'pooled@5']);
  assert.equal(q.created, 4);
  // Two pooled entries went back: the next two pooled adds create nothing; a third does.
  const a = q.addPooled(9, () => log.push('a'), false);
  q.addPooled(9, () => log.push('b'), true);
  assert.equal(q.created, 4);
  q.addPooled(9, () => log.push('c'), false);
  assert.equal(q.created, 5);
  // A cancelled pooled entry comes back when the queue drops it, and is handed out again.
  q.cancel(a);
  assert.equal(q.live, 2);
  for (let e = q.peek(); e !== undefined; e = q.peek()) q.take(e)();
  assert.deepEqual(log.slice(4), ['b', 'c']);
  for (let i = 0; i < 10_000; i++) {
    const e = q.addPooled(i, () => {}, false, i);
    if (i % 3 === 0) q.cancel(e);
    else {
      const x = q.peek()!;
      assert.equal(x.arg, i);
      q.take(x);
    }
  }
  assert.equal(q.created, 5, 'a steady add/take/cancel cycle creates no entries');
  assert.equal(q.live, 0);
  assert.equal(q.peek(), undefined);
});

test('VirtualClock.schedulePooled runs in the same order as schedule and stops creating entries', () => {
  const c = new VirtualClock();
  const log: number[] = [];
  for (let i = 0; i < 8; i++) {
    if (i % 2 === 0) c.schedule(3 - (i % 3), () => log.push(i));
    else c.schedulePooled(3 - (i % 3), () => log.push(i));
  }
  c.runUntilIdle();
  assert.deepEqual(log, [2, 5, 1, 4, 7, 0, 3, 6]);
  const before = c.entriesCreated;
  let n = 0;
  const tick = (): void => {
    if (++n < 10_000) c.schedulePooled(c.now() + (n % 2), tick);
  };
  c.schedulePooled(c.now(), tick);
  c.runUntilIdle();
  assert.equal(n, 10_000);
  assert.ok(c.entriesCreated - before <= 1, `${c.entriesCreated - before} entries for 10,000 pooled callbacks`);
});
