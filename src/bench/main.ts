// The bench's entry: parses flags, runs each benchmark group in turn and prints the table (or JSON
// lines). Shared by `npm run bench` (bench/main.ts, through tsx) and `synack bench` (compiled dist/).

import { parseArgs, reporter, table, USAGE, enableGc, type BenchOptions, type BenchIo, type Reporter } from './harness.js';
import { GROUPS, useDriver } from './groups.js';

export type { BenchOptions, BenchIo, Reporter };
export { GROUPS };

const processIo: BenchIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

/**
 * Run the bench with these arguments (without node and script); returns the exit status (0, or 2
 * for a usage mistake). Figures go to `io.out`, progress to `io.err`.
 */
export async function runBench(argv: readonly string[], io: BenchIo = processIo, usage = USAGE): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(argv, usage);
  } catch (e) {
    io.err(`synack: ${(e as Error).message.split('\n')[0]}\n`);
    return 2;
  }
  if (opts.help) {
    io.out(usage + '\n');
    return 0;
  }
  if (opts.list) {
    for (const g of GROUPS) io.out(`${g.name.padEnd(14)} ${g.about}\n`);
    return 0;
  }
  const unknown = opts.only.filter((n) => !GROUPS.some((g) => g.name === n));
  if (unknown.length > 0) {
    io.err(`synack: unknown group(s): ${unknown.join(', ')} (see --list)\n`);
    return 2;
  }
  // The heap figures need forced collections; without --expose-gc, turn the flag on now.
  enableGc();
  useDriver(opts.driver);
  const rep = reporter(opts, io);
  rep.progress(
    `synack bench ${new Date().toISOString()} node ${process.version} ${opts.quick ? 'quick' : 'full'} runs=${opts.runs} warmup=${opts.warmup} driver=${opts.driver}`,
  );
  let failed = 0;
  for (const g of GROUPS) {
    if (opts.only.length > 0 ? !opts.only.includes(g.name) : g.optIn === true) continue;
    rep.progress(`group ${g.name}: ${g.about}`);
    try {
      await g.run(opts, rep);
    } catch (e) {
      // One line for the user; the stack only when asked for (the other groups still run).
      failed++;
      rep.progress(`synack: bench group ${g.name} failed: ${e instanceof Error ? e.message : String(e)}`);
      if (process.env['SYNACK_DEBUG']) rep.progress((e as Error).stack ?? '');
    }
  }
  if (!opts.json) io.out('\n' + table(rep.all()) + '\n');
  return failed > 0 ? 1 : 0;
}
