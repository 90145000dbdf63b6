// Node's own `http` client and server, and the `ws` WebSocket library, running over two synack
// stacks on the in-memory link: the client gets its sockets from createConnection, the server is
// fed accepted sockets with emit('connection'); a 10 MiB upload and download keep their sha256.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { netPair, drive, settle, pattern, B } from './drive.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

test('http: a 10 MiB POST and a 10 MiB response cross synack with identical sha256', async () => {
  const p = netPair({ latency: 1 });
  const upload = pattern(10 * MiB, 11);
  const download = pattern(10 * MiB, 12);
  const httpServer = http.createServer((req, res) => {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upload-sha256': h.digest('hex'), 'x-upload-bytes': String(n) });
      res.end(download);
    });
  });
  const server = p.nb.createServer((socket) => httpServer.emit('connection', socket)).listen(80);

  const result = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request(
      {
        method: 'POST',
        host: B,
        port: 80,
        path: '/upload',
        headers: { 'content-length': String(upload.length) },
        createConnection: () => p.na.createConnection({ host: B, port: 80 }),
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(upload);
  });
  const { status, headers, body } = await drive(p.clock, result);
  assert.equal(status, 200);
  assert.equal(headers['x-upload-bytes'], String(upload.length));
  assert.equal(headers['x-upload-sha256'], sha(upload));
  assert.equal(body.length, download.length);
  assert.equal(sha(body), sha(download));
  server.close();
  httpServer.close();
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections, 0);
  assert.equal(p.b.stats().tcpConnections, 0);
  assert.equal(p.clock.pending(), 0);
});

test('http: keep-alive agent reuses one synack connection for several requests', async () => {
  const p = netPair();
  const httpServer = http.createServer((req, res) => res.end(`you asked for ${req.url}`));
  let connections = 0;
  const server = p.nb.createServer((socket) => {
    connections++;
    httpServer.emit('connection', socket);
  }).listen(80);
  class SynackAgent extends http.Agent {
    override createConnection(): ReturnType<typeof p.na.createConnection> {
      return p.na.createConnection({ host: B, port: 80 });
    }
  }
  const agent = new SynackAgent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string): Promise<string> =>
    new Promise((resolve, reject) => {
      http.get({ host: B, port: 80, path, agent }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (s += d));
        res.on('end', () => resolve(s));
      }).on('error', reject);
    });
  const replies = await drive(p.clock, Promise.all([get('/a'), get('/b'), get('/c')]));
  assert.deepEqual(replies, ['you asked for /a', 'you asked for /b', 'you asked for /c']);
  assert.equal(connections, 1);
  agent.destroy();
  server.close();
  httpServer.close();
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections, 0);
  assert.equal(p.b.stats().tcpConnections, 0);
  assert.equal(p.clock.pending(), 0);
});

test('ws: a WebSocket client and server exchange text and binary messages over synack', async () => {
  const p = netPair();
  const httpServer = http.createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ noServer: true });
  httpServer.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary) ws.send(Buffer.from(sha(data as Buffer)), { binary: false });
        else ws.send(`echo ${String(data)}`);
      });
    });
  });
  const server = p.nb.createServer((socket) => httpServer.emit('connection', socket)).listen(80);

  const ws = new WebSocket(`ws://${B}/chat`, { createConnection: () => p.na.createConnection({ host: B, port: 80 }) });
  const got: string[] = [];
  const blob = pattern(300_000, 4);
  const done = new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      ws.send('hello');
      ws.send(blob);
      ws.send('bye');
    });
    ws.on('message', (data) => {
      got.push(String(data));
      if (got.length === 3) ws.close(1000, 'done');
    });
    ws.on('close', (code) => (code === 1000 ? resolve() : reject(new Error(`closed with ${code}`))));
    ws.on('error', reject);
  });
  await drive(p.clock, done);
  assert.deepEqual(got, ['echo hello', sha(blob), 'echo bye']);
  server.close();
  httpServer.close();
  wss.close();
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections, 0);
  assert.equal(p.b.stats().tcpConnections, 0);
  assert.equal(p.clock.pending(), 0);
});
