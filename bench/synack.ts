// synack figures for the bench: bulk, churn, memory and scaling, loaded lazily so the kernel baselines run before the stack exists.

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
  memory(n: number): Promise<{ heapPerConn: number; rssPerConn: number }>;
  scaling(n: number): Promise<ScalingRun>;
}

export async function loadSynack(): Promise<SynackBench | string> {
  return 'synack TCP core (src/tcp/connection.ts) has not landed yet';
}
