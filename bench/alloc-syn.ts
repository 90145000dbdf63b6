// Bytes allocated per SYN on the SYN-cookie path (spoofed SYN in, cookie SYN-ACK out) and on the
// drop path (backlog full, cookies off), by allocating function, from V8's sampling heap profiler
// (collected objects included): what a SYN flood costs the garbage collector.
// Run: node --import tsx bench/alloc-syn.ts [--syns 200000] [--top 12]
import { Session } from 'node:inspector/promises';
import { discardingListener, spoofedSyns } from './syn-flood.js';
import type { SynCookieMode } from '../src/tcp/listener.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1] ?? fallback) : fallback;
}
const N = arg('syns', 200_000);
const TOP = arg('top', 12);

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

const pkts = spoofedSyns(N);
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');

async function measure(mode: SynCookieMode): Promise<void> {
  // Warm up (JIT, the stack's first allocations) on a separate stack, then sample a fresh one.
  const warm = discardingListener(mode);
  for (let i = 0; i < Math.min(N, 50_000); i++) warm.rx(pkts[i]!);
  warm.stack.close();
  const { stack, rx } = discardingListener(mode);
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  for (const p of pkts) rx(p);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SamplingNode } };
  const s = stack.stats();
  if (s.tcpSynCookiesSent + s.tcpBacklogDrops !== N) throw new Error('not every SYN was handled');
  stack.close();
  const by = new Map<string, number>();
  const walk = (n: SamplingNode, callers: string[]): void => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anon)'} ${f.url.replace(/.*\/(src|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    if (n.selfSize > 0) {
      const k = `${name}  <- ${callers.slice(-2).join(' <- ')}`;
      by.set(k, (by.get(k) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, [...callers, name.split(' ')[0]!]);
  };
  walk(profile.head, []);
  // Only what the SYNs cost: the loop above and what it called (the profiler's own and the runtime's outside it excluded).
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  console.log(`${mode === 'always' ? 'cookie SYN-ACK' : 'drop (backlog full)'}: ${(total / N).toFixed(1)} B allocated per SYN (sampled, ${N} SYNs)`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${(v / N).toFixed(1).padStart(8)} B  ${k}`);
}

await measure('always');
await measure('never');
session.disconnect();
