// Command line for the chaos runs (fuzz/chaos.ts): `npm run chaos -- --runs N --seed S` runs seeds
// S..S+N-1 and prints each failure with its replay command; `--replay SEED` reruns one seed with
// its scenario log, the problems found and the ladder diagram of the connections (`--tail K` rows).
// `--batch` (with either) delivers each instant's packets as one batch, so the stacks apply GRO.

import { runChaos, replayCommand, chaosLadder } from '../fuzz/chaos.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const replay = arg('--replay');
const batch = process.argv.includes('--batch');
if (replay !== undefined) {
  const seed = Number(replay);
  const res = runChaos(seed, { trace: true, log: (l) => console.log(l), batch });
  const tail = Number(arg('--tail') ?? 400);
  const ladder = chaosLadder(res.events ?? []).split('\n');
  console.log(ladder.length > tail ? `... (${ladder.length - tail} earlier rows; --tail N to show more)\n${ladder.slice(-tail).join('\n')}` : ladder.join('\n'));
  const { events: _e, problems, ...summary } = res;
  console.log(JSON.stringify(summary));
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  console.log(res.ok ? `seed ${seed}: ok` : `seed ${seed}: FAILED`);
  process.exitCode = res.ok ? 0 : 1;
} else {
  const runs = Number(arg('--runs') ?? 100);
  const start = Number(arg('--seed') ?? 1);
  const t0 = performance.now();
  const failed: number[] = [];
  let bytes = 0;
  let completed = 0;
  let errors = 0;
  let aborted = 0;
  let joined = 0;
  for (let i = 0; i < runs; i++) {
    const seed = start + i;
    const res = runChaos(seed, { batch });
    bytes += res.bytesDelivered;
    completed += res.completed;
    errors += res.failedWithError;
    aborted += res.aborted;
    joined += res.groMerged;
    if (!res.ok) {
      failed.push(seed);
      console.log(`seed ${seed} FAILED${res.knownBug ? ` (known bug ${res.knownBug})` : ''}: ${res.problems.slice(0, 3).join('; ')}\n  replay: ${replayCommand(seed, batch)}`);
    }
  }
  const ms = performance.now() - t0;
  console.log(
    `chaos${batch ? ' (batches, GRO)' : ''}: ${runs} seeds from ${start} in ${(ms / 1000).toFixed(1)} s (${(ms / runs).toFixed(1)} ms/seed); ` +
      `${bytes} bytes verified; endpoints completed ${completed}, told of an error ${errors}, aborted by the app ${aborted}; ` +
      (batch ? `${joined} segments joined by GRO; ` : '') +
      `failed ${failed.length}${failed.length ? `: ${failed.join(' ')}` : ''}`,
  );
  process.exitCode = failed.length === 0 ? 0 : 1;
}
