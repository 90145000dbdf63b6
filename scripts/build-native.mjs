// The optional TUN addon (native/tun.c) at install time. Never fails the install: when it cannot
// be had, it prints what to install and exits 0 (everything but serve/get/nc works without it).
//
//   node scripts/build-native.mjs             install: keep an up-to-date build, else use the
//                                             package's prebuilt binary if it loads here, else
//                                             build from the shipped sources with node-gyp
//   node scripts/build-native.mjs --prebuilt  prepack: build if the sources changed, then copy the
//                                             binary (a fresh file, not node-gyp's hard link) to
//                                             native/prebuilt/PLATFORM-ARCH/ for the tarball
//
// SYNACK_SKIP_NATIVE=1 skips all of it; SYNACK_PREBUILT=0 ignores the prebuilt binary (build from
// source); SYNACK_NATIVE_VERBOSE=1 shows node-gyp's log.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const built = join(nativeDir, 'build/Release/synack_tun.node');
const platformDir = `${process.platform}-${process.arch}`;
const prebuilt = join(nativeDir, 'prebuilt', platformDir, 'synack_tun.node');
/** The addon's sources, in the order their hash reads them (src/link/tun.ts hashes the same two). */
const SOURCE_FILES = ['tun.c', 'binding.gyp'];
const sources = SOURCE_FILES.map((f) => join(nativeDir, f));
const forPack = process.argv.includes('--prebuilt');

const say = (msg) => console.log(`synack: ${msg}`);
/** What to install for a source build, per distribution family (the common ones). */
const TOOLS_HINT =
  'install a C compiler, make and python3 (Debian/Ubuntu: sudo apt-get install g++ make python3; ' +
  'Fedora: sudo dnf install gcc-c++ make python3; Alpine: apk add build-base python3), then run `npm rebuild synack`';
const done = (msg) => {
  say(msg);
  process.exit(0);
};
const skip = (why) => done(`TUN addon not available (${why}); serve, get and nc need it, everything else works.`);


/** True when `path` loads in a fresh node (the right ABI, libc and architecture). */
function loads(path) {
  if (!existsSync(path)) return false;
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)})`], { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}
/**
 * A binary is current when the stamp beside it names the sources it was built from by their hash.
 * (File times were used before, and failed in git worktrees: a merge that changed tun.c could leave
 * an older binary looking current, and tests then ran the old addon.) src/link/tun.ts refuses a
 * binary whose stamp does not match the same hash; test/link/addon-stamp.test.ts keeps the two equal.
 */
export const sourcesHashOf = (dir) => {
  const h = createHash('sha256');
  for (const f of SOURCE_FILES) h.update(readFileSync(join(dir, f)));
  return h.digest('hex');
};
const sourcesHash = () => sourcesHashOf(nativeDir);
const stampOf = (binary) => `${binary}.sources-sha256`;
const current = (path) => existsSync(path) && existsSync(stampOf(path)) && readFileSync(stampOf(path), 'utf8').trim() === sourcesHash();
const upToDate = () => current(built) && loads(built);

// Imported (by a test, for sourcesHashOf), it does nothing.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.env.SYNACK_SKIP_NATIVE === '1') skip('SYNACK_SKIP_NATIVE=1');
  if (process.platform !== 'linux') skip(`TUN support is Linux-only, this is ${process.platform}`);
  if (!sources.every((s) => existsSync(s))) skip('native/tun.c or native/binding.gyp is missing');
  if (!forPack) {
    if (upToDate()) done(`TUN addon up to date (${built})`);
    if (process.env.SYNACK_PREBUILT !== '0' && current(prebuilt) && loads(prebuilt)) done(`TUN addon: using the prebuilt ${platformDir} binary`);
  }
  if (!(forPack && upToDate())) build();
  if (forPack) {
    rmSync(join(nativeDir, 'prebuilt'), { recursive: true, force: true });
    mkdirSync(dirname(prebuilt), { recursive: true });
    copyFileSync(built, prebuilt);
    copyFileSync(stampOf(built), stampOf(prebuilt));
    say(`TUN addon prebuilt for ${platformDir}: ${prebuilt}`);
  }
}

/** Builds native/build/Release/synack_tun.node with node-gyp, or exits 0 saying what is missing. */
function build() {
  const fail = (why) => {
    if (forPack) rmSync(join(nativeDir, 'prebuilt'), { recursive: true, force: true });
    skip(`${why}; to build it, ${TOOLS_HINT}`);
  };
  const gyp = findNodeGyp();
  if (!gyp) fail('node-gyp not found');
  for (const [tool, what] of [['cc', 'no C compiler (cc)'], ['make', 'no make']]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) fail(`${what} found`);
  }
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0);
  if (!python) fail('no python3 found (node-gyp needs it)');

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
  if (r.status !== 0 || !existsSync(built)) {
    const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
    const firstError = log.split('\n').find((l) => /error/i.test(l) && !/^gyp info/.test(l))?.trim();
    fail(`node-gyp build failed${firstError ? `: ${firstError.slice(0, 160)}` : r.error ? `: ${r.error.message}` : ''} (SYNACK_NATIVE_VERBOSE=1 shows the log)`);
  }
  writeFileSync(stampOf(built), `${sourcesHash()}\n`);
  say(`TUN addon built: ${built}`);
}

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
