// Entry point of `npm run bench`: parses flags, runs each benchmark group in turn and prints the table (or JSON lines).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, reporter, table, USAGE, type BenchOptions, type Reporter } from './harness.js';
import { GROUPS, useDriver } from './groups.js';

export type { BenchOptions, Reporter };

/** Run the bench with these CLI arguments; returns the process exit code. Usable from `synack bench`. */
export async function runBench(argv: readonly string[]): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (opts.list) {
    for (const g of GROUPS) process.stdout.write(`${g.name.padEnd(14)} ${g.about}\n`);
    return 0;
  }
  const unknown = opts.only.filter((n) => !GROUPS.some((g) => g.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown group(s): ${unknown.join(', ')} (see --list)\n`);
    return 2;
  }
  useDriver(opts.driver);
  const rep = reporter(opts);
  rep.progress(
    `synack bench ${new Date().toISOString()} node ${process.version} ${opts.quick ? 'quick' : 'full'} runs=${opts.runs} warmup=${opts.warmup} driver=${opts.driver}`,
  );
  for (const g of GROUPS) {
    if (opts.only.length > 0 ? !opts.only.includes(g.name) : g.optIn === true) continue;
    rep.progress(`group ${g.name}: ${g.about}`);
    try {
      await g.run(opts, rep);
    } catch (e) {
      rep.progress(`group ${g.name} failed: ${(e as Error).stack ?? String(e)}`);
    }
  }
  if (!opts.json) process.stdout.write('\n' + table(rep.all()) + '\n');
  return 0;
}

/** Heap figures need global.gc: re-run ourselves once with --expose-gc when it is missing. */
function reexecWithGc(): number | null {
  if (typeof (globalThis as { gc?: unknown }).gc === 'function' || process.env.SYNACK_BENCH_CHILD === '1') return null;
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, SYNACK_BENCH_CHILD: '1' },
  });
  return r.status ?? 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const code = reexecWithGc();
  if (code !== null) process.exit(code);
  process.exitCode = await runBench(process.argv.slice(2));
}
