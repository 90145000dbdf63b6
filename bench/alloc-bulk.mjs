// Sampled allocations per data segment during 16 MiB bulk transfers at MTU 1500, collected objects included, by allocating function and its two callers (compiled tree).
//
// npm run build && node bench/alloc-bulk.mjs dist [batch|packets]   ("batch": over a batching memory link, GRO; else packet by packet)
import { Session } from "node:inspector/promises";
const distArg = process.argv[2] ?? "dist";
const batch = process.argv[3] === "batch";
const dist = new URL(distArg.endsWith("/") ? distArg : `${distArg}/`, `file://${process.cwd()}/`).href.replace(/\/$/, "");
const { stackBench } = await import(`${dist}/bench/stack-pair.js`);
for (let i = 0; i < 4; i++) await stackBench.bulk(1500, 16 << 20, batch);
const s = new Session(); s.connect();
await s.post('HeapProfiler.enable');
await s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const N = 8;
for (let i = 0; i < N; i++) await stackBench.bulk(1500, 16 << 20, batch);
const { profile } = await s.post('HeapProfiler.stopSampling');
const by = new Map();
const walk = (n, stack) => {
  const f = n.callFrame; const name = `${f.functionName || '(anon)'} ${f.url.replace(/.*dist\//, '')}:${f.lineNumber + 1}`;
  const self = n.selfSize; if (self) { const k = name + '  <- ' + stack.slice(-2).join(' <- '); by.set(k, (by.get(k) ?? 0) + self); }
  for (const c of n.children) walk(c, [...stack, name.split(' ')[0]]);
};
walk(profile.head, []);
const segs = N * Math.round((16 << 20) / 1448);
const rows = [...by].sort((a, b) => b[1] - a[1]).slice(0, 25);
for (const [k, v] of rows) console.log((v / segs).toFixed(1).padStart(8), 'B/seg', k);
console.log('total', ([...by.values()].reduce((a, b) => a + b, 0) / segs).toFixed(0), 'B/seg sampled');
