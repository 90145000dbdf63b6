// synack figures for the bench: what the groups need from a driver, and loading the Stack-based one (or the core-only pair).

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
  /**
   * `batch`: whether the link hands over what arrives at one instant as one batch (GRO); absent,
   * the memory pair's default (batches, with a clock). Drivers without batches ignore it.
   */
  bulk(mtu: number, bytes: number, batch?: boolean): Promise<BulkResult>;
  churn?: (cycles: number, concurrency: number) => Promise<number>;
  /** Heap and RSS growth per established endpoint with `n` idle connections (2n endpoints, both synack). */
  memory(n: number): Promise<{ heapPerConn: number; rssPerConn: number }>;
  scaling(n: number): Promise<ScalingRun>;
}

/** The Stack driver (two Stacks on the in-memory link), or the core-only pair with `core`. */
export async function loadSynack(prefer: 'stack' | 'core' | 'auto' = 'auto'): Promise<SynackBench | string> {
  try {
    if (prefer === 'core') return (await import('./core-pair.js')).coreBench;
    return (await import('./stack-pair.js')).stackBench;
  } catch (e) {
    return `synack driver unavailable (${(e as Error).message.split('\n')[0]})`;
  }
}
