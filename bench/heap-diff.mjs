// Heap per idle endpoint by object type: snapshots before and after n idle established pairs (compiled tree).
//
// npm run build && node --expose-gc bench/heap-diff.mjs dist 10000
// Prints self bytes and object counts per endpoint (2n endpoints) for every type adding 2 B or more.
import v8 from 'node:v8';
import fs from 'node:fs';
const [distArg = "dist", nStr = "10000"] = process.argv.slice(2);
const dist = new URL(distArg.endsWith("/") ? distArg : `${distArg}/`, `file://${process.cwd()}/`).href.replace(/\/$/, "");
const n = Number(nStr);
const { stackBench } = await import(`${dist}/bench/stack-pair.js`);
function snap() {
  gc(); gc();
  const f = v8.writeHeapSnapshot('h.heapsnapshot');
  const s = JSON.parse(fs.readFileSync(f, 'utf8'));
  fs.unlinkSync(f);
  const m = s.snapshot.meta; const F = m.node_fields.length; const types = m.node_types[0];
  const iType = m.node_fields.indexOf('type'), iName = m.node_fields.indexOf('name'), iSize = m.node_fields.indexOf('self_size');
  const by = new Map();
  for (let i = 0; i < s.nodes.length; i += F) {
    const t = types[s.nodes[i + iType]];
    let name = s.strings[s.nodes[i + iName]];
    if (t === 'string' || t === 'concatenated string' || t === 'sliced string') name = '';
    if (t === 'number') name = '';
    if (t === 'code') name = '';
    const k = `${t}:${name.slice(0, 60)}`;
    const e = by.get(k) ?? [0, 0]; e[0] += s.nodes[i + iSize]; e[1]++; by.set(k, e);
  }
  return by;
}
const warm = await stackBench.scaling(2); warm.dispose();
const a = snap();
const run = await stackBench.scaling(n + 1);
const b = snap();
const rows = [];
let total = 0;
for (const [k, [sz, c]] of b) { const [sa, ca] = a.get(k) ?? [0, 0]; const d = sz - sa; total += d; if (Math.abs(d) / (2 * n) >= 2) rows.push([k, d / (2 * n), (c - ca) / (2 * n)]); }
rows.sort((x, y) => y[1] - x[1]);
for (const [k, per, cnt] of rows) console.log(per.toFixed(1).padStart(8), cnt.toFixed(2).padStart(6), k);
console.log('total per endpoint', (total / (2 * n)).toFixed(0));
run.dispose();
