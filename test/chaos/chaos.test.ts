// Chaos runs, CI size: 1,000 seeds of two Stacks over a faulty sim link with random applications
// (fuzz/chaos.ts); every byte once, in order, unchanged or an error told; all CLOSED in bounded time.
// Then 300 seeds with each instant's packets delivered as one batch, so GRO joins segments under
// loss, reordering, duplication and corruption (`npm run chaos -- --batch` for more).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos, replayCommand, KEEPALIVE_FP_LIVELOCK } from '../../fuzz/chaos.js';

const RUNS = Number(process.env['CHAOS_RUNS'] ?? 1000);
const START = Number(process.env['CHAOS_SEED'] ?? 1);

/**
 * Known core bugs, reported to the core owner with their seeds; failures matching one of these
 * names are listed, not failed on. Remove a name once the bug is fixed.
 */
const KNOWN_BUGS = new Set<string>([]);
void KEEPALIVE_FP_LIVELOCK; // fixed in src/tcp/timers.ts; kept so a regression is named

test(`chaos: ${RUNS} seeds from ${START}, all invariants hold (known bugs listed by name)`, () => {
  const t0 = performance.now();
  const unexpected: string[] = [];
  const known = new Map<string, number[]>();
  let bytes = 0;
  let completed = 0;
  let errored = 0;
  for (let seed = START; seed < START + RUNS; seed++) {
    const res = runChaos(seed);
    bytes += res.bytesDelivered;
    completed += res.completed;
    errored += res.failedWithError;
    if (res.ok) continue;
    if (res.knownBug !== undefined && KNOWN_BUGS.has(res.knownBug)) {
      known.set(res.knownBug, [...(known.get(res.knownBug) ?? []), seed]);
      continue;
    }
    unexpected.push(`seed ${seed}: ${res.problems.slice(0, 3).join('; ')}\n  replay: ${replayCommand(seed)}`);
  }
  const ms = performance.now() - t0;
  console.log(`# chaos: ${RUNS} seeds in ${(ms / 1000).toFixed(1)} s, ${bytes} bytes verified, ${completed} endpoints completed, ${errored} told of an error`);
  for (const [name, seeds] of known) {
    console.log(`# KNOWN FAILURE ${name}: ${seeds.length} seeds (${seeds.slice(0, 10).join(' ')}${seeds.length > 10 ? ' ...' : ''}); replay: ${replayCommand(seeds[0]!)}`);
  }
  assert.ok(bytes > RUNS * 10_000, 'runs moved almost no data');
  assert.ok(completed > RUNS, 'few transfers completed');
  assert.deepEqual(unexpected, []);
});

const BATCH_RUNS = Number(process.env['CHAOS_BATCH_RUNS'] ?? 300);

test(`chaos in batches (GRO): ${BATCH_RUNS} seeds from ${START}, all invariants hold`, () => {
  const unexpected: string[] = [];
  let bytes = 0;
  let joined = 0;
  for (let seed = START; seed < START + BATCH_RUNS; seed++) {
    const res = runChaos(seed, { batch: true });
    bytes += res.bytesDelivered;
    joined += res.groMerged;
    if (!res.ok) unexpected.push(`seed ${seed}: ${res.problems.slice(0, 3).join('; ')}\n  replay: ${replayCommand(seed, true)}`);
  }
  console.log(`# chaos in batches: ${BATCH_RUNS} seeds, ${bytes} bytes verified, ${joined} segments joined by GRO`);
  assert.ok(bytes > BATCH_RUNS * 10_000, 'runs moved almost no data');
  // GRO did join (about 39 segments per seed on seeds 1001-11000): the runs test joined segments.
  assert.ok(joined > BATCH_RUNS * 5, `${joined} segments joined by GRO`);
  assert.deepEqual(unexpected, []);
});
