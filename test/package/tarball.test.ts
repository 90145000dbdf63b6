// The package as users get it: `npm pack` this checkout, install the tarball in an empty directory,
// then use it only through its package names and its `synack` bin: every `exports` entry imports
// (with types), the CLI runs, the tarball holds no hard links or build leftovers, an install
// without a compiler still succeeds and the TUN commands say what to install, and (as root) serve,
// get and nc from the installed package talk to the kernel through a TUN device in a namespace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsHarness, netnsUnavailableReason } from '../helpers/netns.js';
import { V4, spawnIn, tunHost, waitListening, within } from '../interop/helpers.js';
import { tunUnavailableReason } from '../../src/link/tun.js';

const repo = new URL('../..', import.meta.url).pathname;
const npmMissing = spawnSync('npm', ['--version'], { stdio: 'ignore' }).status === 0 ? null : 'npm is not on PATH';
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };

let work = '';
let tarball = '';
let app = '';

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd ?? app, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
}
const ok = (r: SpawnSyncReturns<string>, what: string): string => {
  assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}${r.error?.message ?? ''}`);
  return r.stdout;
};
/** npm install of the tarball into a fresh directory: offline, since synack has no runtime dependencies. */
function installApp(dir: string): SpawnSyncReturns<string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return sh('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball], { cwd: dir, timeoutMs: 300_000 });
}
const synackBin = (dir: string): string => join(dir, 'node_modules/synack/bin/synack.js');

describe('the packed tarball', { skip: npmMissing ?? false }, () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'synack-pack-'));
    // The same lifecycle a publish runs: prepack (dist/ and the prebuilt addon when sources changed), pack.
    const out = ok(sh('npm', ['pack', '--pack-destination', work, '--foreground-scripts'], { cwd: repo, timeoutMs: 300_000 }), 'npm pack');
    tarball = join(work, out.trim().split('\n').pop() ?? '');
    app = join(work, 'app');
    ok(installApp(app), 'npm install of the tarball');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('holds the built library, the bin, the addon sources and build script; no hard links, no build leftovers', () => {
    const listing = ok(sh('tar', ['-tvzf', tarball], { cwd: work }), 'tar -t').trim().split('\n');
    const files = listing.map((l) => l.split(/\s+/).slice(5).join(' '));
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'bin/synack.js', 'native/tun.c', 'native/binding.gyp', 'scripts/build-native.mjs', 'README.md', 'docs/cli.md', 'dist/lab/index.html']) {
      assert.ok(files.includes(`package/${f}`), `tarball has ${f}`);
    }
    assert.deepEqual(listing.filter((l) => !l.startsWith('-')), [], 'only regular files (a hard-linked addon is dropped by npm\'s extractor)');
    assert.deepEqual(files.filter((f) => /native\/build\/|\.o$|\.d$|Makefile|\.mk$|config\.gypi|\.tsbuildinfo$|\.stamp$/.test(f)), [], 'no build leftovers');
    assert.deepEqual(files.filter((f) => /^package\/(src|test|bench|fuzz|node_modules)\//.test(f)), [], 'no sources or tests beyond the addon');
    if (existsSync(join(repo, 'native/build/Release/synack_tun.node')) && `${process.platform}-${process.arch}` === 'linux-x64') {
      assert.ok(files.includes('package/native/prebuilt/linux-x64/synack_tun.node'), 'the linux-x64 prebuilt addon ships');
    }
  });

  test('every exports entry imports by package name and has the public parts', () => {
    // name -> exports that must be there (functions or classes).
    const expected: Record<string, string[]> = {
      '.': ['Stack', 'VirtualClock', 'createMemoryPair', 'createSimPair', 'PcapWriter', 'readPcap', 'TcpConnection'],
      './wire': ['parseIpv4', 'parseTcp', 'formatPacket'],
      './net': ['createNet', 'Socket', 'Server'],
      './web': ['connect', 'listen', 'TcpStream'],
      './trace': ['renderLadder', 'renderSvg', 'renderMermaid', 'inferConnections', 'tcpPacketsFromPcap'],
      './pdrill': ['parseScript', 'runScript', 'formatFailure'],
      './tun': ['openTun', 'configureKernelSide', 'tunUnavailableReason', 'TunError'],
      './demo': ['runDemo', 'scenarioNames', 'SCENARIOS'],
      './cli': ['main', 'version'],
    };
    assert.deepEqual(Object.keys(pkg.exports).filter((k) => k !== './package.json').sort(), Object.keys(expected).sort(), 'this test covers every export');
    const script = `
      const expected = ${JSON.stringify(expected)};
      const missing = [];
      for (const [sub, names] of Object.entries(expected)) {
        const m = await import(sub === '.' ? 'synack' : 'synack/' + sub.slice(2));
        for (const n of names) if (typeof m[n] !== 'function' && typeof m[n] !== 'object') missing.push(sub + ' ' + n);
      }
      const { runDemo } = await import('synack/demo');
      const { renderLadder } = await import('synack/trace');
      const r = runDemo({ scenario: 'basic', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 1000 });
      console.log(JSON.stringify({ missing, ladder: renderLadder(r.events, { left: 'client', right: 'server', ascii: true }).includes('SYN-SENT') }));
    `;
    const got = JSON.parse(ok(sh(process.execPath, ['--input-type=module', '-e', script]), 'importing the exports')) as { missing: string[]; ladder: boolean };
    assert.deepEqual(got.missing, []);
    assert.equal(got.ladder, true, 'the demo drawn through synack/demo and synack/trace');
    const deep = sh(process.execPath, ['--input-type=module', '-e', "await import('synack/dist/link/tun.js')"]);
    assert.match(deep.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/, 'deep imports stay closed: the exports are the API');
  });

  test('each export has types: a strict TypeScript file type-checks against the installed package', () => {
    writeFileSync(
      join(app, 'check.ts'),
      `import { Stack, VirtualClock } from 'synack';
import { parseTcp } from 'synack/wire';
import { createNet } from 'synack/net';
import { connect } from 'synack/web';
import { renderLadder } from 'synack/trace';
import { parseScript } from 'synack/pdrill';
import { tunUnavailableReason, type TunLink } from 'synack/tun';
import { runDemo, type DemoResult } from 'synack/demo';
import { main } from 'synack/cli';
const clock = new VirtualClock();
const stack: Stack = new Stack({ name: 'a', clock });
const r: DemoResult = runDemo({ scenario: 'basic', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 1000 });
const ladder: string = renderLadder(r.events, { left: 'client', right: 'server' });
const why: string | null = tunUnavailableReason();
const code: Promise<number> = main(['version']);
// Each of these is a type error only when the declarations are really there (not 'any'):
// @ts-expect-error a DemoResult's events are not a number
const wrong: number = r.events;
// @ts-expect-error main wants an argv array
void main('demo');
// @ts-expect-error createNet wants a Stack
createNet(42);
// @ts-expect-error connect wants a Stack first
void connect('x');
// @ts-expect-error parseTcp wants bytes
parseTcp('x');
// @ts-expect-error parseScript wants the script text
parseScript(1);
// @ts-expect-error TunLink has no such member
const t: TunLink['nope'] = 1;
export { stack, ladder, why, code, wrong, t };
`,
    );
    const tsc = join(repo, 'node_modules/typescript/bin/tsc');
    const r = sh(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(repo, 'node_modules/@types'), '--skipLibCheck', 'check.ts']);
    assert.equal(r.status, 0, `tsc on check.ts:\n${r.stdout}${r.stderr}`);
  });

  test('a second build compiles nothing: dist/ and the addon are up to date after the pack above', () => {
    // What a second `npm install` in the checkout runs (install, then prepare).
    const native = ok(sh(process.execPath, [join(repo, 'scripts/build-native.mjs')], { cwd: repo }), 'build-native');
    const dist = ok(sh(process.execPath, [join(repo, 'scripts/build-dist.mjs')], { cwd: repo }), 'build-dist');
    assert.equal(dist, 'synack: dist/ is up to date\n');
    const built = existsSync(join(repo, 'native/build/Release/synack_tun.node'));
    assert.match(native, built ? /^synack: TUN addon up to date/ : /^synack: TUN addon not available/);
  });

  test('npx synack runs from the install: version, demo, help, and one-line usage errors', () => {
    const env = { ...process.env, NO_COLOR: '1' };
    assert.equal(ok(sh('npx', ['--no-install', 'synack', 'version'], { env }), 'synack version'), `synack ${pkg.version}\n`);
    assert.match(ok(sh('npx', ['--no-install', 'synack', 'demo'], { env }), 'synack demo'), /SYN-SENT[^]*TIME-WAIT/);
    assert.match(ok(sh('npx', ['--no-install', 'synack', 'help'], { env }), 'synack help'), /Commands:/);
    const bad = sh('npx', ['--no-install', 'synack', 'demo', 'extra'], { env });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, "synack: demo takes no arguments, got 'extra'; run 'synack help demo' for usage\n");
  });

  test('without a compiler the install succeeds and serve/get/nc say exactly what to install', () => {
    // A platform with no prebuilt binary and no build tools: only node and a shell on PATH.
    const bare = join(work, 'bare');
    const bin = join(work, 'bare-bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    ok(installApp(bare), 'npm install of the tarball (bare)');
    const buildScript = join(bare, 'node_modules/synack/scripts/build-native.mjs');
    // A prebuilt binary built from other sources than those beside it (an edited tun.c) is not used.
    if (existsSync(join(bare, 'node_modules/synack/native/prebuilt'))) {
      appendFileSync(join(bare, 'node_modules/synack/native/tun.c'), '\n// edited after packing\n');
      const stale = sh(process.execPath, [buildScript], { cwd: bare, env: { ...process.env, PATH: bin } });
      assert.match(stale.stdout, /^synack: TUN addon not available \(no C compiler/, 'the stale prebuilt is not taken');
    }
    rmSync(join(bare, 'node_modules/synack/native/prebuilt'), { recursive: true, force: true });
    rmSync(join(bare, 'node_modules/synack/native/build'), { recursive: true, force: true });
    const env = { ...process.env, PATH: bin, SYNACK_PREBUILT: '0', SYNACK_TUN_ADDON: '' };
    // What npm's install script (or `npm rebuild synack`) runs.
    const build = sh(process.execPath, [buildScript], { cwd: bare, env });
    assert.equal(build.status, 0, 'the install does not fail');
    assert.match(build.stdout, /^synack: TUN addon not available \(no C compiler \(cc\) found; to build it, install a C compiler, make and python3 \(Debian\/Ubuntu: sudo apt-get install g\+\+ make python3;.*\), then run `npm rebuild synack`\)/);
    for (const cmd of [['get', 'http://198.18.0.1/'], ['serve', '.'], ['nc', '198.18.0.1', '7']]) {
      const r = sh(process.execPath, [synackBin(bare), ...cmd, '--tun', 'syn0', '--addr', '198.18.0.2/24'], { cwd: bare, env });
      assert.equal(r.status, 1, `${cmd[0]}: ${r.stderr}`);
      assert.match(r.stderr, /the native TUN addon is not built for linux-\w+ .*to build it, install a C compiler, make and python3 \(Debian\/Ubuntu: sudo apt-get install g\+\+ make python3;.*npm rebuild synack/);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  const tunSkip = netnsUnavailableReason() ?? (existsSync('/dev/net/tun') ? null : '/dev/net/tun is missing');
  test('as root: the installed serve, get and nc reach the kernel through a TUN device in a namespace', { skip: tunSkip ?? false }, async () => {
    const reason = spawnSync(process.execPath, ['--input-type=module', '-e', "import('synack/tun').then((m) => console.log(m.tunUnavailableReason() ?? 'ok'))"], { cwd: app, encoding: 'utf8' }).stdout.trim();
    assert.equal(reason, 'ok', `the installed package's TUN addon loads (prebuilt or built at install); repo: ${tunUnavailableReason() ?? 'ok'}`);
    const h = new NetnsHarness();
    try {
      const host = await tunHost(h);
      const env = { ...process.env };
      delete env['SYNACK_TUN_ADDON'];
      const site = join(work, 'site');
      mkdirSync(site, { recursive: true });
      writeFileSync(join(site, 'hello.txt'), 'hello from the installed package\n');
      // Kernel-side servers that answer with the address they saw: synack's, not the kernel's own.
      const peers = spawnIn(host.ns, process.execPath, [
        '-e',
        `const http = require('node:http'), net = require('node:net');
         http.createServer((q, s) => s.end('you are ' + q.socket.remoteAddress + '\\n')).listen(8081, '${V4.kernel}');
         net.createServer((c) => c.end('nc peer ' + c.remoteAddress + '\\n')).listen(7001, '${V4.kernel}');`,
      ]);
      await waitListening(host.ns, 8081);
      await waitListening(host.ns, 7001);
      const run = (args: string[], stdout: string): ReturnType<typeof spawnIn> =>
        spawnIn(host.ns, 'env', ['-u', 'SYNACK_TUN_ADDON', process.execPath, synackBin(app), ...args, ...host.flags], { stdout });

      const getOut = join(work, 'get.out');
      const get = run(['get', `http://${V4.kernel}:8081/`], getOut);
      assert.equal(await within(get.exited, 30_000, 'synack get'), 0, get.stderr());
      assert.equal(readFileSync(getOut, 'utf8'), `you are ${V4.stack}\n`, 'the kernel saw synack\'s address');

      const ncOut = join(work, 'nc.out');
      const nc = run(['nc', V4.kernel, '7001'], ncOut);
      assert.equal(await within(nc.exited, 30_000, 'synack nc'), 0, nc.stderr());
      assert.equal(readFileSync(ncOut, 'utf8'), `nc peer ${V4.stack}\n`);
      peers.proc.kill();

      const serve = run(['serve', site, '--port', '8080'], '/dev/null');
      await serve.waitFor('listening on port 8080');
      const curl = await host.ns.exec(process.execPath, ['-e', `require('node:http').get('http://${V4.stack}:8080/hello.txt', (r) => { const peer = r.socket.remoteAddress; let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(peer + ' ' + r.statusCode + ' ' + b.trim())); })`]);
      assert.equal(curl.stdout.trim(), `${V4.stack} 200 hello from the installed package`, curl.stderr);
      await serve.waitFor(new RegExp(`${V4.kernel.replace(/\./g, '\\.')}\\b.*GET /hello\\.txt\\b.*\\b200\\b`), 5000);
      serve.proc.kill('SIGINT');
      await within(serve.exited, 10_000, 'serve stops on SIGINT');
    } finally {
      await h.cleanup();
    }
  });
});
