// Builds dist/ (npm's `prepare`, so `npm install` in a checkout and `npm pack` both run it): src/
// compiled by tsc, then the lab's browser bundle (scripts/build-lab.mjs, into dist/lab). Only when
// a source or tsconfig changed since the last good build: a second `npm install` costs no
// compile. A fresh build starts from an empty directory so nothing stale ships.
// Usage: node scripts/build-dist.mjs [--force]
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Outside dist/ so it never ships; node_modules/ exists wherever tsc can run.
const stamp = join(root, 'node_modules/.cache/synack/dist.stamp');

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs; // a deleted file shows as a newer directory
  for (const name of readdirSync(path)) t = Math.max(t, newest(join(path, name)));
  return t;
}

const inputs = ['src', 'web', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build-lab.mjs'].map((p) => join(root, p)).filter((p) => existsSync(p));
if (!process.argv.includes('--force') && existsSync(stamp) && existsSync(join(root, 'dist/index.js'))) {
  const stampTime = statSync(stamp).mtimeMs;
  if (inputs.every((p) => newest(p) <= stampTime)) {
    console.log('synack: dist/ is up to date');
    process.exit(0);
  }
}
const started = new Date();
// Build beside dist/ and swap it in at the end, so a program (or a test) reading dist/ while this
// runs sees the old build or the new one, never an empty or half-written directory.
const dist = join(root, 'dist');
const next = join(root, `dist.next-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);
const fail = (what, status) => {
  rmSync(next, { recursive: true, force: true });
  console.error(`synack: ${what} failed (see above)`);
  process.exit(status ?? 1);
};
rmSync(next, { recursive: true, force: true });
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', next], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail('compiling src/ to dist/', r.status);
const lab = join(root, 'scripts/build-lab.mjs');
if (existsSync(lab)) {
  const l = spawnSync(process.execPath, [lab, join(next, 'lab')], { cwd: root, stdio: 'inherit' });
  if (l.status !== 0) fail('building the lab into dist/lab', l.status);
}
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
mkdirSync(dirname(stamp), { recursive: true });
writeFileSync(stamp, `${started.toISOString()}\n`);
// Dated when the compile started: a source saved during the compile still counts as newer.
utimesSync(stamp, started, started);
console.log('synack: dist/ built');
