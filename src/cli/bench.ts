// `synack bench`: the benchmarks of docs/performance.md from the installed package (the compiled
// src/bench drivers): synack beside the kernel's TCP through Node `net`, as a table or JSON lines.
import type { CliIo } from './io.js';

export const BENCH_USAGE = `Usage: synack bench [--json] [--quick] [--only GROUP,...] [--runs N] [--warmup N] [--list]

Measure synack beside the kernel (Node net over 127.0.0.1) in this process, side by side:
  bulk      one connection between two synack stacks on the in-memory link, MTU 1500/9000/65535
  churn     connect, 32-byte request, 64-byte response, close; 4 in flight
  memory    heap and RSS per idle established connection
  scaling   cost per segment while up to 100,000 other connections sit idle
  veth      kernel to kernel over veth between two network namespaces (root only)

Options:
  --json       one JSON object per figure on stdout: {name, unit, median, min, max, runs, target?, met?, note?}
  --quick      smaller sizes and 3 runs: a smoke run, not for publishing
  --only G,..  run only these groups (--list names them)
  --runs N     measured runs per figure (default 5, quick 3)
  --warmup N   unmeasured runs first (default 1)
  --counts N,.. connection counts for memory and scaling (default 10000,100000 / 1,1000,10000,100000)
  --driver D   stack (default) or core: synack through the Stack, or the TCP core alone

Progress goes to standard error. A full run takes several minutes; see docs/performance.md.
`;

export async function benchCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { runBench } = await import('../bench/main.js');
  return runBench(argv, io, BENCH_USAGE.trimEnd());
}
