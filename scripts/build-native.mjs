// Builds the optional TUN addon in native/ with node-gyp; never fails the install: when the platform,
// node-gyp, headers or a compiler are missing, or the build fails, it prints one line and exits 0.
// Usage: node scripts/build-native.mjs   (SYNACK_SKIP_NATIVE=1 skips; SYNACK_NATIVE_VERBOSE=1 shows the build log)
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const say = (msg) => console.log(`synack: ${msg}`);
const skip = (why) => {
  say(`native TUN addon not built (${why}); TUN commands will be unavailable, everything else works.`);
  process.exit(0);
};

if (process.env.SYNACK_SKIP_NATIVE === '1') skip('SYNACK_SKIP_NATIVE=1');
if (process.platform !== 'linux') skip(`TUN support is Linux-only, this is ${process.platform}`);
if (!existsSync(join(nativeDir, 'binding.gyp'))) skip('native/binding.gyp is missing');

/** Finds node-gyp: the one npm hands to install scripts, a local install, or the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  candidates.push('/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  candidates.push('/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Node headers: npm's configured nodedir, or the headers installed next to this node binary. */
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(join(configured, 'include/node/node_api.h'))) return configured;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include/node/node_api.h'))) return prefix;
  return configured ?? null; // let node-gyp try its own cache
}

const gyp = findNodeGyp();
if (!gyp) skip('node-gyp not found');
for (const tool of ['make', 'cc']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) skip(`${tool} not found`);
}
const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0);
if (!python) skip('python3 not found (node-gyp needs it)');

const args = [gyp, 'rebuild', '--directory', nativeDir];
const nodedir = findNodeDir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
const verbose = process.env.SYNACK_NATIVE_VERBOSE === '1';
const r = spawnSync(process.execPath, args, {
  cwd: nativeDir,
  stdio: verbose ? 'inherit' : 'pipe',
  encoding: 'utf8',
  timeout: 300_000,
  env: { ...process.env, PYTHON: process.env.PYTHON ?? python },
});
const addon = join(nativeDir, 'build/Release/synack_tun.node');
if (r.status !== 0 || !existsSync(addon)) {
  const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const firstError = log.split('\n').find((l) => /error/i.test(l) && !/^gyp info/.test(l))?.trim();
  skip(`node-gyp build failed${firstError ? `: ${firstError.slice(0, 160)}` : r.error ? `: ${r.error.message}` : ''}; rerun with SYNACK_NATIVE_VERBOSE=1 for the log`);
}
say(`native TUN addon built: ${addon}`);
