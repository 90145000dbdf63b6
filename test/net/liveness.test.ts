// Event-loop liveness like Node's handles: a program whose only work is on createNet(new Stack())
// runs to completion and exits by itself, a listening server keeps it alive, unref() lets it go.
// Each script runs in a child process twice, with Node's own net (the oracle) and with synack's,
// and must end the same way.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The script's prologue: `net` is Node's or synack's depending on IMPL. */
const prologue = `
const net = process.env.IMPL === 'node'
  ? await import('node:net')
  : (await import(${JSON.stringify(`${root}src/net/index.ts`)})).createNet(new (await import(${JSON.stringify(`${root}src/stack/index.ts`)})).Stack());
`;

/** Run `body` under `impl`; resolves 'exited <code> <stdout>' or 'alive' if still running after `aliveMs`. */
function run(impl: 'node' | 'synack', body: string, aliveMs: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', prologue + body], {
      cwd: root,
      env: { ...process.env, IMPL: impl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('alive');
    }, aliveMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(`exited ${code} ${out.trim()}${code === 0 ? '' : ` ${err}`}`);
    });
  });
}

const scripts: Array<{ name: string; body: string; expected: string; aliveMs: number }> = [
  {
    name: 'an echo exchange on 127.0.0.1 runs to completion and the process exits',
    body: `
const server = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1', () => c.end('ping'));
  let got = '';
  c.setEncoding('utf8').on('data', (d) => (got += d)).on('close', () => { console.log(got); server.close(); });
});`,
    expected: 'exited 0 ping',
    aliveMs: 15_000,
  },
  {
    name: 'a listening server keeps the process alive',
    body: `net.createServer().listen(0, '127.0.0.1', () => console.log('listening'));`,
    expected: 'alive',
    aliveMs: 3_000,
  },
  {
    name: 'an unref()ed listening server lets the process exit',
    body: `net.createServer().listen(0, '127.0.0.1', () => console.log('listening')).unref();`,
    expected: 'exited 0 listening',
    aliveMs: 15_000,
  },
  {
    name: 'an open connection keeps the process alive; unref() on both ends and the server lets it exit',
    body: `
const server = net.createServer((s) => { s.unref(); console.log('accepted'); }).listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1', () => { c.unref(); server.unref(); });
});`,
    expected: 'exited 0 accepted',
    aliveMs: 15_000,
  },
  {
    name: 'an open, idle connection (ref()ed) keeps the process alive',
    body: `
const server = net.createServer(() => console.log('accepted')).listen(0, '127.0.0.1', () => {
  net.connect(server.address().port, '127.0.0.1', () => server.unref());
});`,
    expected: 'alive',
    aliveMs: 3_000,
  },
];

describe('liveness: scripts end as they do on Node net', () => {
  for (const s of scripts) {
    test(s.name, async () => {
      const [node, synack] = await Promise.all([run('node', s.body, s.aliveMs), run('synack', s.body, s.aliveMs)]);
      assert.equal(node, s.expected, 'Node itself behaves as expected');
      assert.equal(synack, node, 'synack ends the same way');
    });
  }
});
