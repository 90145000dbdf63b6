// synack figures for the bench: picks the Stack-based driver when src/stack has landed, else the core-only pair, else explains why not.

export interface BulkResult {
  mbps: number;
  segmentsPerSec: number;
}

export interface ScalingRun {
  /** Transfer `bytes` on the active connection; returns wall nanoseconds per data segment. */
  transfer(bytes: number): number;
  dispose(): void;
}

/** What the groups need from synack; a string from loadSynack says why it is unavailable. */
export interface SynackBench {
  /** Appended to figure names: '' with the full Stack, ' (core only)' for the two-connection loop. */
  flavour: string;
  bulk(mtu: number, bytes: number): Promise<BulkResult>;
  churn?: (cycles: number, concurrency: number) => Promise<number>;
  /** Heap and RSS growth per established endpoint with `n` idle connections (2n endpoints, both synack). */
  memory(n: number): Promise<{ heapPerConn: number; rssPerConn: number }>;
  scaling(n: number): Promise<ScalingRun>;
}

/** Specifiers held in variables so the type-check does not require modules that have not landed yet. */
const DRIVERS = [
  { spec: './stack-pair.js', exportName: 'stackBench' },
  { spec: './core-pair.js', exportName: 'coreBench' },
] as const;

export async function loadSynack(prefer: 'stack' | 'core' | 'auto' = 'auto'): Promise<SynackBench | string> {
  const why: string[] = [];
  for (const d of DRIVERS) {
    if (prefer === 'stack' && d.exportName !== 'stackBench') continue;
    if (prefer === 'core' && d.exportName !== 'coreBench') continue;
    const spec: string = d.spec;
    try {
      const m = (await import(spec)) as Record<string, unknown>;
      const b = m[d.exportName] as SynackBench | undefined;
      if (b !== undefined) return b;
      why.push(`${d.spec} has no ${d.exportName}`);
    } catch (e) {
      why.push(`${d.spec}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return `synack driver unavailable (${why.join('; ')})`;
}
