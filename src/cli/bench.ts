// `synack bench`: the benchmarks of docs/performance.md from the installed package (the compiled
// src/bench drivers): synack beside the kernel's TCP through Node `net`, as a table or JSON lines.
// The command line is checked here with the CLI's parser (one-line errors, suggestions) before the
// bench's own parser sees it.
import { parseArgs, formatFlags, flagBool, flagNumber, flagString, expectPositionals, didYouMean, type FlagsSpec } from './args.js';
import { UsageError, type CliIo } from './io.js';

const DRIVERS = ['stack', 'core', 'auto'];

export const BENCH_FLAGS: FlagsSpec = {
  json: { type: 'boolean', help: 'one JSON object per figure on stdout: {name, unit, median, min, max, runs, target?, met?, note?}' },
  quick: { type: 'boolean', help: 'smaller sizes and 3 runs: a smoke run, not for publishing' },
  only: { type: 'string', value: 'G,...', help: 'run only these groups (--list names them)' },
  runs: { type: 'number', value: 'N', integer: true, min: 1, help: 'measured runs per figure (default 5, quick 3)' },
  warmup: { type: 'number', value: 'N', integer: true, min: 0, help: 'unmeasured runs first (default 1)' },
  counts: { type: 'string', value: 'N,...', help: 'connection counts for memory and scaling (default 10000,100000 / 1,1000,10000,100000)' },
  driver: { type: 'string', value: 'D', help: 'stack, core or auto (default): synack through the Stack, or the TCP core alone' },
  list: { type: 'boolean', help: 'list the groups and exit' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const BENCH_USAGE = `Usage: synack bench [--json] [--quick] [--only GROUP,...] [--runs N] [--warmup N] [--list]

Measure synack beside the kernel (Node net over 127.0.0.1) in this process, side by side:
  bulk      one connection between two synack stacks on the in-memory link, MTU 1500/9000/65535
  churn     connect, 32-byte request, 64-byte response, close; 4 in flight
  memory    heap and RSS per idle established connection
  scaling   cost per segment while up to 100,000 other connections sit idle
  veth      kernel to kernel over veth between two network namespaces (root only)

Options:
${formatFlags(BENCH_FLAGS)}

Progress goes to standard error. A full run takes several minutes; see docs/performance.md.
`;

export async function benchCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, BENCH_FLAGS, 'bench');
  if (flagBool(args, 'help') === true) {
    io.out(BENCH_USAGE);
    return 0;
  }
  expectPositionals(args, 'bench', []);
  const { runBench, GROUPS } = await import('../bench/main.js');
  const forward: string[] = [];
  for (const name of ['json', 'quick', 'list']) if (flagBool(args, name) === true) forward.push(`--${name}`);
  for (const name of ['runs', 'warmup']) {
    const n = flagNumber(args, name);
    if (n !== undefined) forward.push(`--${name}`, String(n));
  }
  const only = flagString(args, 'only');
  if (only !== undefined) {
    const names = GROUPS.map((g) => g.name);
    for (const g of only.split(',').map((s) => s.trim())) {
      if (!names.includes(g)) throw new UsageError(`unknown group '${g}'${didYouMean(g, names)}; groups: ${names.join(', ')}`, 'bench');
    }
    forward.push('--only', only);
  }
  const counts = flagString(args, 'counts');
  if (counts !== undefined) {
    for (const c of counts.split(',')) {
      if (!/^\s*[1-9]\d*\s*$/.test(c)) throw new UsageError(`--counts wants positive integers separated by commas, got '${counts}'`, 'bench');
    }
    forward.push('--counts', counts);
  }
  const driver = flagString(args, 'driver');
  if (driver !== undefined) {
    if (!DRIVERS.includes(driver)) throw new UsageError(`--driver wants ${DRIVERS.join(', ')}, got '${driver}'${didYouMean(driver, DRIVERS)}`, 'bench');
    forward.push('--driver', driver);
  }
  return runBench(forward, io, BENCH_USAGE.trimEnd());
}
