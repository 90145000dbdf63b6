// `synack trace` on a real kernel-to-kernel connection: two network namespaces joined by a veth
// pair (198.18.7.0/24), a python3 client and server, captured by tshark; the states inferred for
// both Linux sides must be the ones RFC 9293 prescribes when the client closes first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpPacketsFromPcap, inferConnections, type InferredConnection } from '../../src/trace/infer.js';
import { main } from '../../src/cli/main.js';
import { nodeIo } from '../../src/cli/io.js';

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

/** Resolves when `child`'s stderr contains `text`; rejects after `ms`. */
function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}" (got: ${seen.slice(-300)})`)), ms);
    child[stream]?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!seen.includes(text)) reject(new Error(`exited (${code}) before "${text}": ${seen.slice(-300)}`));
    });
  });
}

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

const SERVER = `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('198.18.7.2', 8080))
s.listen(1)
print('ready', flush=True)
c, _ = s.accept()
c.recv(100)
c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\nhello')
while c.recv(100):
    pass
c.close()
s.close()
`;
const CLIENT = `
import socket
c = socket.create_connection(('198.18.7.2', 8080), timeout=5)
c.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')
got = b''
while len(got) < 24:
    got += c.recv(100)
c.close()
`;

const SERVER_CLOSES = `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('198.18.7.2', 8080))
s.listen(1)
print('ready', flush=True)
c, _ = s.accept()
c.recv(100)
c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\nhello')
c.close()
s.close()
`;
const CLIENT_WAITS = `
import socket
c = socket.create_connection(('198.18.7.2', 8080), timeout=5)
c.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')
while c.recv(100):
    pass
c.close()
`;

const ACTIVE = ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT'];
const PASSIVE = ['ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'];

test('trace infers both Linux sides\' states from a tshark capture across two namespaces (client closes first)', async (t) => {
  await kernelCapture(t, SERVER, CLIENT, ['CLOSED', 'SYN-SENT', ...ACTIVE], ['LISTEN', 'SYN-RECEIVED', ...PASSIVE], async (file) => {
    // And the command prints it.
    let out = '';
    const code = await main(['trace', file, '--ascii'], { ...nodeIo(), out: (s) => void (out += s), err: () => {}, isTTY: false });
    assert.equal(code, 0);
    // Lines fit 80 columns: the state lists wrap (continuations are indented by 4).
    for (const l of out.split('\n')) assert.ok(l.length <= 80, `fits 80 columns: ${l}`);
    const flat = out.replace(/\n {4}/g, ' ');
    assert.match(flat, /CLOSED -> SYN-SENT -> ESTABLISHED -> FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT/);
    assert.match(flat, /LISTEN -> SYN-RECEIVED -> ESTABLISHED -> CLOSE-WAIT -> LAST-ACK -> CLOSED/);
    t.diagnostic(`\n${out}`);
  });
});

test('trace on a real capture where the server closes first: the server waits in TIME-WAIT', async (t) => {
  await kernelCapture(t, SERVER_CLOSES, CLIENT_WAITS, ['CLOSED', 'SYN-SENT', ...PASSIVE], ['LISTEN', 'SYN-RECEIVED', ...ACTIVE]);
});

/**
 * Runs `serverScript` and `clientScript` (python3) in two fresh namespaces while tshark captures,
 * checks the inferred states and tshark's flags, then hands the capture file to `inspect`.
 */
async function kernelCapture(
  t: import('node:test').TestContext,
  serverScript: string,
  clientScript: string,
  clientStates: string[],
  serverStates: string[],
  inspect?: (file: string) => Promise<void>,
): Promise<void> {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to create network namespaces');
    return;
  }
  for (const tool of ['ip', 'tshark', 'python3']) {
    if (!have(tool)) {
      t.skip(`${tool} is not installed`);
      return;
    }
  }

  const nsC = `synack-trc-${process.pid}`;
  const nsS = `synack-trs-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'synack-trace-'));
  const file = join(dir, 'kernel.pcap');
  let tshark: ChildProcess | undefined;
  let server: ChildProcess | undefined;
  try {
    sh(['ip', 'netns', 'add', nsC]);
    sh(['ip', 'netns', 'add', nsS]);
    // Created inside the client namespace with its peer moved straight into the server's: the root
    // namespace never sees either end.
    sh(['ip', '-n', nsC, 'link', 'add', 'veth-c', 'type', 'veth', 'peer', 'name', 'veth-s', 'netns', nsS]);
    sh(['ip', '-n', nsC, 'addr', 'add', '198.18.7.1/24', 'dev', 'veth-c']);
    sh(['ip', '-n', nsS, 'addr', 'add', '198.18.7.2/24', 'dev', 'veth-s']);
    for (const [ns, dev] of [[nsC, 'veth-c'], [nsS, 'veth-s']] as const) {
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }

    tshark = spawn('ip', ['netns', 'exec', nsC, 'tshark', '-i', 'veth-c', '-F', 'pcap', '-w', file, '-f', 'tcp port 8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitFor(tshark, 'stderr', 'Capturing on', 15_000);
    server = spawn('ip', ['netns', 'exec', nsS, 'python3', '-c', serverScript], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitFor(server, 'stdout', 'ready', 10_000);
    const client = spawnSync('ip', ['netns', 'exec', nsC, 'python3', '-c', clientScript], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(client.status, 0, `client failed: ${client.stderr}`);
    await exited(server);

    // Wait (bounded) until tshark has written the whole exchange, then stop it.
    let conns: InferredConnection[] = [];
    for (let i = 0; i < 100; i++) {
      if (existsSync(file)) {
        const r = tcpPacketsFromPcap(readFileSync(file));
        if (r.ok) {
          conns = inferConnections(r.value.packets);
          if (conns[0]?.serverStates.length === serverStates.length && conns[0]?.clientStates.length === clientStates.length) break;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    tshark.kill('SIGINT');
    await exited(tshark);
    const r = tcpPacketsFromPcap(readFileSync(file));
    assert.ok(r.ok, 'tshark wrote a pcap synack can read');
    conns = inferConnections(r.value.packets);

    assert.equal(conns.length, 1);
    const c = conns[0]!;
    assert.match(c.client, /^198\.18\.7\.1:\d+$/);
    assert.equal(c.server, '198.18.7.2:8080');
    assert.deepEqual(c.clientStates, clientStates);
    assert.deepEqual(c.serverStates, serverStates);
    assert.equal(c.clientBytes, 18);
    assert.equal(c.serverBytes, 24);

    // tshark's own reading of the flags, in order, matches the segments synack drew.
    const fields = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'tcp.flags'], { encoding: 'utf8' });
    const tsharkFlags = fields.stdout.trim().split('\n').map((h) => Number.parseInt(h, 16) & 0x1f);
    const ours = c.events.filter((e) => e.type === 'segment').map((e) => (e.type === 'segment' ? e.flags : ''));
    const bits: Record<string, number> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 };
    assert.deepEqual(ours.map((f) => f.split(',').reduce((s, n) => s + (bits[n] ?? 0), 0)), tsharkFlags);

    if (inspect) await inspect(file);
  } finally {
    if (tshark && tshark.exitCode === null && tshark.signalCode === null) {
      tshark.kill('SIGINT');
      await exited(tshark);
    }
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await exited(server);
    }
    spawnSync('ip', ['netns', 'del', nsC]);
    spawnSync('ip', ['netns', 'del', nsS]);
    rmSync(dir, { recursive: true, force: true });
  }
}
