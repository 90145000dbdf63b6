// fetch() (undici, through an Agent whose connect() returns a synack socket) and http.request
// (through an http.Agent whose createConnection does the same) against a Node http server whose
// connections are synack sockets on the same stack's loopback interface. The server must see a
// synack socket from 127.0.0.1, the packets must cross synack's lo link, and a port nobody listens
// on in the stack must be refused by the stack (no fallback to the kernel).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { Socket as NodeSocket } from 'node:net';
import { Agent } from 'undici';
import { Stack } from '../../src/index.js';
import { createNet, Socket } from '../../src/net/index.js';
import type { LoopbackLink } from '../../src/link/loopback.js';

const stack = new Stack({ name: 'fetch' });
const net = createNet(stack);
const body = Buffer.alloc(300_000, 'synack ');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const seen: Array<{ synack: boolean; from: string | undefined; url: string | undefined; port?: number | undefined }> = [];
const app = http.createServer((req, res) => {
  seen.push({ synack: req.socket instanceof Socket, from: req.socket.remoteAddress, url: req.url, port: req.socket.remotePort });
  res.setHeader('content-type', 'application/octet-stream');
  res.end(body);
});
const server = net.createServer((s) => app.emit('connection', s));
const ready = new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (): number => (server.address() as { port: number }).port;

const dispatcher = new Agent({
  connect(opts, cb) {
    const s = net.connect({ host: opts.hostname, port: Number(opts.port) });
    s.once('connect', () => cb(null, s as unknown as NodeSocket));
    s.once('error', (e) => cb(e, null));
  },
});

class SynackAgent extends http.Agent {
  override createConnection(o: http.ClientRequestArgs): ReturnType<http.Agent['createConnection']> {
    return net.createConnection({ host: o.host ?? 'localhost', port: Number(o.port) }) as unknown as ReturnType<http.Agent['createConnection']>;
  }
}
const agent = new SynackAgent({ keepAlive: true });

after(async () => {
  await dispatcher.close();
  agent.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  app.close();
  stack.close();
});

const lo = (): LoopbackLink => stack.loopback!.link as LoopbackLink;

test("fetch() through undici's Agent with a synack connect(): bytes, status and the server's view", async () => {
  await ready;
  const before = lo().counters.received;
  const res = await fetch(`http://127.0.0.1:${port()}/fetch`, { dispatcher } as RequestInit);
  assert.equal(res.status, 200);
  const got = new Uint8Array(await res.arrayBuffer());
  assert.equal(sha(got), sha(body));
  assert.deepEqual({ ...seen.at(-1), port: undefined }, { synack: true, from: '127.0.0.1', url: '/fetch', port: undefined });
  assert.ok(lo().counters.received - before >= 8, 'the request and the 300 kB answer crossed synack\'s lo link');
});

test('http.request through an http.Agent whose createConnection returns a synack socket (keep-alive reuse)', async () => {
  await ready;
  const get = (path: string): Promise<{ status: number | undefined; sha: string; local: string | undefined }> =>
    new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: port(), path, agent }, (res) => {
        const parts: Buffer[] = [];
        const local = res.socket.localAddress;
        res.on('data', (d: Buffer) => parts.push(d)).on('end', () =>
          resolve({ status: res.statusCode, sha: sha(Buffer.concat(parts)), local }));
      }).on('error', reject);
    });
  const a = await get('/one');
  const b = await get('/two');
  assert.deepEqual([a.status, b.status], [200, 200]);
  assert.equal(a.sha, sha(body));
  assert.equal(b.sha, sha(body));
  assert.equal(a.local, '127.0.0.1');
  assert.deepEqual(seen.slice(-2).map((s) => [s.synack, s.url]), [[true, '/one'], [true, '/two']]);
  assert.equal(seen.at(-1)?.port, seen.at(-2)?.port, 'the second request reused the first connection');
});

test('fetch() to a port no synack server listens on is refused by the stack (ECONNREFUSED)', async () => {
  await ready;
  const refused = stack.stats().tcpResetsSent;
  const err = await fetch('http://127.0.0.1:8099/', { dispatcher } as RequestInit).then(
    () => null,
    (e: Error & { cause?: { code?: string } }) => e,
  );
  assert.equal(err?.cause?.code, 'ECONNREFUSED');
  assert.ok(stack.stats().tcpResetsSent > refused, 'the RST came from synack');
});
