// The micro-benchmarks' one timing loop (bench/wire.ts, bench/copy.ts): not a test.

/** Median over `runs` of the time per iteration of `body`, in nanoseconds, after two warm-up runs. */
export function timeNs(iters: number, body: (i: number) => void, runs = 7): number {
  const once = (): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) body(i);
    return Number(process.hrtime.bigint() - t0) / iters;
  };
  once();
  once();
  const xs = Array.from({ length: runs }, once).sort((a, b) => a - b);
  return xs[runs >> 1]!;
}
