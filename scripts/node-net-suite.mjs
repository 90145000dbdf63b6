// Runs Node's own test/parallel/test-net-*.js (from a checkout of Node's test/ folder kept OUTSIDE
// this repository, e.g. denoland/node_test at its v20.11.1 commit) twice: with Node's net, then
// with require('net') replaced by synack's createNet(new Stack()) (scripts/node-net-shim.mjs).
// Only tests whose requires are net, events, stream, timers, util, buffer, assert and ../common
// are taken (no tls, dgram, dns, cluster, child_process, fs, Unix sockets, --expose-internals).
// Usage: node scripts/node-net-suite.mjs /work/ext/node_test/test/parallel [--jobs 2]
//          [--timeout 20000] [--json out.json] [name-filter ...]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const jobs = Number(opt('--jobs', '2'));
const timeout = Number(opt('--timeout', '20000'));
const jsonOut = opt('--json', undefined);
const onlySynack = args.includes('--synack-only');
if (onlySynack) args.splice(args.indexOf('--synack-only'), 1);
const dir = args.shift();
if (dir === undefined) {
  console.error('usage: node scripts/node-net-suite.mjs <node test/parallel dir> [--jobs N] [--timeout ms] [--json file] [--synack-only] [filter ...]');
  process.exit(2);
}
const filters = args;

const ALLOWED = new Set(['../common', '../common/countdown', 'assert', 'net', 'events', 'stream', 'timers', 'timers/promises', 'util', 'buffer', 'process']);
const ALLOWED_FLAGS = new Set(['--expose-gc', '--no-warnings']);

/** Whether a test uses only the modules and flags this comparison is about. */
function select(file) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    if (!ALLOWED.has(m[1].replace(/^node:/, ''))) return null;
  }
  if (/common\.PIPE|tmpdir|internalBinding|process\.binding/.test(text)) return null;
  const flags = [];
  for (const m of text.matchAll(/^\/\/ Flags:(.*)$/gm)) flags.push(...m[1].trim().split(/\s+/));
  if (flags.some((f) => !ALLOWED_FLAGS.has(f))) return null;
  return flags;
}

const tests = readdirSync(dir)
  .filter((n) => /^test-net-.*\.js$/.test(n))
  .sort()
  .filter((n) => filters.length === 0 || filters.some((f) => n.includes(f)))
  .map((n) => ({ name: n, file: resolve(dir, n), flags: select(join(dir, n)) }))
  .filter((t) => t.flags !== null);

function run(argv, cwd) {
  return new Promise((res) => {
    const started = Date.now();
    const child = spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeout);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      res({ ok: code === 0 && !timedOut, code, signal, timedOut, ms: Date.now() - started, out: out.slice(-4000) });
    });
  });
}

const shim = join(here, 'node-net-shim.mjs');
const tsx = import.meta.resolve('tsx'); // the tests run from outside this repository
const results = [];
let next = 0;
async function worker() {
  while (next < tests.length) {
    const t = tests[next++];
    const real = onlySynack ? null : await run([...t.flags, t.file], dirname(t.file));
    const syn = await run(['--import', tsx, '--import', shim, ...t.flags, t.file], dirname(t.file));
    results.push({ name: t.name, real, synack: syn });
    const tag = (r) => (r === null ? '-' : r.ok ? 'pass' : r.timedOut ? 'HANG' : 'FAIL');
    console.log(`${t.name.padEnd(60)} node:${tag(real).padEnd(5)} synack:${tag(syn).padEnd(5)} ${syn.ms} ms`);
  }
}
await Promise.all(Array.from({ length: jobs }, worker));
results.sort((a, b) => a.name.localeCompare(b.name));
const realPass = results.filter((r) => r.real === null || r.real.ok);
const both = realPass.filter((r) => r.synack.ok);
console.log(`\nselected ${results.length}; node's net passes ${realPass.length}; synack passes ${both.length} of those (${((100 * both.length) / Math.max(1, realPass.length)).toFixed(1)}%)`);
for (const r of realPass.filter((x) => !x.synack.ok)) console.log(`  differs: ${r.name}${r.synack.timedOut ? ' (hang)' : ''}`);
if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify(results, null, 1));
