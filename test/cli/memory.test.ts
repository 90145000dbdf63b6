// When serve gives memory back after a load (src/cli/memory.ts): the collection schedule alone,
// on times the test chooses (the collection itself is exercised by serve.test's load test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReliefSchedule } from '../../src/cli/memory.js';

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
