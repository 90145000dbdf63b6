// Behaviour of the net-compatible Socket and Server between two stacks on a virtual clock, written
// fresh after what Node's own net tests check: connect/data/end/close, half-open, backpressure and
// 'drain', destroy while connecting, refused/reset/timeout errors with Node's codes and messages,
// EADDRINUSE, server.close() draining, idle 'timeout', and FIN only after every written byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { netPair, drive, settle, until, event, collect, pattern, A, B, B6 } from './drive.js';
import type { Socket } from '../../src/net/index.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every connection closed, every timer gone. */
async function assertClean(p: ReturnType<typeof netPair>): Promise<void> {
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections, 0, 'stack a has connections left');
  assert.equal(p.b.stats().tcpConnections, 0, 'stack b has connections left');
  assert.equal(p.clock.pending(), 0, 'timers left behind');
}

test('connect, exchange, end: events in Node order, addresses, counters, readyState', async () => {
  const p = netPair({ latency: 5 });
  const events: string[] = [];
  let serverSide: Socket | null = null;
  const server = p.nb.createServer((s) => {
    serverSide = s;
    s.on('data', (d: Buffer) => s.write(`echo:${d.toString()}`));
    s.on('end', () => s.end());
  });
  server.on('listening', () => events.push('listening'));
  server.listen(8080, B);
  assert.deepEqual(server.address(), { address: B, family: 'IPv4', port: 8080 });
  const c = p.na.connect({ port: 8080, host: B });
  assert.equal(c.readyState, 'opening');
  assert.equal(c.connecting, true);
  assert.equal(c.pending, true);
  c.on('connect', () => events.push(`connect@${p.clock.now()}`));
  c.on('ready', () => events.push('ready'));
  c.on('end', () => events.push('end'));
  c.on('close', (hadError: boolean) => events.push(`close:${hadError}`));
  await until(p.clock, c, 'connect');
  assert.equal(c.readyState, 'open');
  assert.equal(c.pending, false);
  assert.equal(c.remoteAddress, B);
  assert.equal(c.remotePort, 8080);
  assert.equal(c.remoteFamily, 'IPv4');
  assert.equal(c.localAddress, A);
  assert.ok(c.localPort! >= 49152, `ephemeral port ${c.localPort}`);
  assert.deepEqual(c.address(), { address: A, family: 'IPv4', port: c.localPort });
  c.setEncoding('utf8');
  const reply = drive(p.clock, new Promise<string>((resolve) => c.once('data', resolve)));
  c.write('ping');
  assert.equal(await reply, 'echo:ping');
  assert.equal(c.bytesWritten, 4);
  assert.equal(c.bytesRead, 9);
  assert.equal(serverSide!.remoteAddress, A);
  assert.equal(serverSide!.remotePort, c.localPort);
  c.end();
  await until(p.clock, c, 'close');
  assert.deepEqual(events, ['listening', 'connect@10', 'ready', 'end', 'close:false']);
  assert.equal(c.readyState, 'closed');
  assert.equal(c.destroyed, true);
  server.close();
  await assertClean(p);
});

test('allowHalfOpen: the server keeps writing after the client\'s FIN, then ends', async () => {
  const p = netPair();
  const server = p.nb.createServer({ allowHalfOpen: true }, (s) => {
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => {
      // Our read side is finished, the write side still open: answer late, in pieces.
      assert.equal(s.readyState, 'writeOnly');
      s.write(`you said ${Buffer.concat(got).toString()}`);
      s.end('; bye');
    });
  });
  server.listen(80);
  const c = p.na.connect(80, B);
  c.end('hi');
  const reply = await drive(p.clock, collect(c));
  assert.equal(reply.toString(), 'you said hi; bye');
  server.close();
  await assertClean(p);
});

test('without allowHalfOpen the server ends on the peer\'s FIN, and a later write fails with EPIPE', async () => {
  const p = netPair();
  const serverSock = new Promise<Socket>((resolve) => p.nb.createServer(resolve).listen(80));
  const c = p.na.connect(80, B);
  const s = await drive(p.clock, serverSock);
  s.resume();
  c.resume();
  const clientClosed = once(c, 'close');
  c.end();
  await until(p.clock, s, 'end');
  let errorEvents = 0;
  s.on('error', () => errorEvents++);
  const err = await drive(p.clock, new Promise<NodeJS.ErrnoException>((resolve) => s.write('too late', resolve)));
  assert.equal(err.code, 'EPIPE');
  assert.equal(err.message, 'This socket has been ended by the other party');
  // The server answered the FIN with its own: the client saw an orderly end, not an error.
  const [hadError] = await drive(p.clock, clientClosed);
  assert.equal(hadError, false);
  assert.equal(errorEvents, 0);
  await assertClean(p);
});

test('write() returns false when the peer stops reading, and \'drain\' follows once it reads again', async () => {
  const p = netPair({ tcp: { sendBufferSize: 64 * 1024, recvBufferSize: 64 * 1024 } });
  const serverSock = new Promise<Socket>((resolve) => p.nb.createServer({ pauseOnConnect: true }, resolve).listen(80));
  const c = p.na.connect(80, B);
  await until(p.clock, c, 'connect');
  const s = await drive(p.clock, serverSock);
  const chunk = pattern(16 * 1024, 3);
  let writes = 0;
  let accepted = true;
  while (accepted && writes < 1000) {
    accepted = c.write(chunk);
    writes++;
    if (writes % 4 === 0) await settle(p.clock, { maxTime: p.clock.now() + 50 }); // let TCP move what it can
  }
  await settle(p.clock, { maxTime: p.clock.now() + 200 });
  assert.equal(accepted, false, 'write() never returned false');
  // The peer's receive buffer (64 KiB) and our send buffer (64 KiB) are full; the rest waits in the stream.
  const srv = s.tcp!;
  // (window scaling rounds the last byte or two of window away)
  assert.ok(srv.recvAvailable >= 64 * 1024 - 2, `receiver buffer should be full, holds ${srv.recvAvailable}`);
  assert.equal(c.tcp!.stats().sndWnd, 0, 'the peer should advertise a zero window');
  assert.equal(c.tcp!.sendFree, 0, 'sender buffer should be full');
  assert.ok(c.writableLength > 0, 'bytes should wait in the writable stream');
  assert.ok(c.writableNeedDrain);
  const total = writes * chunk.length;
  const drained = once(c, 'drain');
  const all = collect(s);
  s.resume();
  await drive(p.clock, drained);
  c.end();
  const got = await drive(p.clock, all);
  assert.equal(got.length, total);
  assert.equal(sha(got), sha(Buffer.concat(Array(writes).fill(chunk))));
  await assertClean(p);
});

test('reading stops pulling from TCP while the stream is full: the receive window closes and reopens', async () => {
  const p = netPair({ tcp: { recvBufferSize: 32 * 1024 } });
  const serverSock = new Promise<Socket>((resolve) => p.nb.createServer(resolve).listen(80));
  const c = p.na.connect(80, B);
  const s = await drive(p.clock, serverSock);
  // No 'data' listener on the server: the stream fills to its highWaterMark, TCP fills behind it.
  const data = pattern(300 * 1024, 9);
  c.end(data);
  await settle(p.clock, { maxTime: p.clock.now() + 5_000 });
  assert.ok(s.readableLength >= s.readableHighWaterMark, `stream holds ${s.readableLength}`);
  assert.equal(s.tcp!.recvAvailable, 32 * 1024, 'TCP buffer full behind the stream');
  assert.equal(c.tcp!.stats().sndWnd, 0, 'the sender should see a zero window');
  assert.ok(s.bytesRead < data.length);
  const got = await drive(p.clock, collect(s));
  assert.equal(sha(got), sha(data));
  await assertClean(p);
});

test('end() after many writes delivers every byte before the FIN', async () => {
  const p = netPair({ latency: 3 });
  const received = new Promise<{ data: Buffer; endAt: number }>((resolve) => {
    p.nb.createServer((s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => resolve({ data: Buffer.concat(parts), endAt: s.bytesRead }));
    }).listen(80);
  });
  const c = p.na.connect(80, B);
  const data = pattern(1024 * 1024 + 17, 5);
  for (let off = 0; off < data.length; off += 10_000) c.write(data.subarray(off, off + 10_000));
  c.end(); // before the handshake is even done
  const { data: got, endAt } = await drive(p.clock, received);
  assert.equal(got.length, data.length);
  assert.equal(endAt, data.length);
  assert.equal(sha(got), sha(data));
  await assertClean(p);
});

test('corked writes (one _writev) larger than the send buffer arrive whole and in order; the callbacks wait for the last byte', async () => {
  // Node's http corks a response's head and body into one _writev; each chunk goes to TCP as it
  // is, and a chunk that does not fit waits for the window wherever it stopped.
  const p = netPair({ latency: 3, tcp: { sendBufferSize: 64 * 1024 } });
  const received = new Promise<Buffer>((resolve) => {
    p.nb.createServer((s) => void collect(s).then(resolve)).listen(80);
  });
  const c = p.na.connect(80, B);
  await until(p.clock, c, 'connect');
  const parts = [pattern(100, 1), pattern(150_000, 2), pattern(7, 3), pattern(90_000, 4)];
  const done: number[] = [];
  c.cork();
  parts.forEach((part, i) => c.write(part, () => done.push(i)));
  c.uncork();
  assert.ok(c.bytesWritten === 240_107, `bytesWritten counts queued bytes: ${c.bytesWritten}`);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); // no virtual time passes: nothing is acknowledged
  assert.deepEqual(done, [], 'no callback while most of the write waits for the send buffer');
  c.end();
  const got = await drive(p.clock, received);
  assert.equal(sha(got), sha(Buffer.concat(parts)));
  assert.deepEqual(done, [0, 1, 2, 3]);
  assert.equal(c.bytesWritten, 240_107);
  await assertClean(p);
});

test('destroy() while connecting: no connect, no error, close(false), and the server never sees it', async () => {
  const p = netPair({ latency: 5 });
  let connections = 0;
  const server = p.nb.createServer(() => connections++).listen(80);
  // Before the SYN leaves.
  const c1 = p.na.connect(80, B);
  c1.on('connect', () => assert.fail('c1 connected'));
  c1.on('error', (e) => assert.fail(`c1 error ${String(e)}`));
  c1.destroy();
  const [had1] = await until<[boolean]>(p.clock, c1, 'close');
  assert.equal(had1, false);
  // After the SYN left, before the SYN,ACK came back.
  const c2 = p.na.connect(80, B);
  c2.on('connect', () => assert.fail('c2 connected'));
  await drive(p.clock, new Promise<void>((resolve) => setImmediate(resolve)));
  p.clock.advance(2);
  assert.equal(c2.tcp?.state, 'SYN-SENT');
  assert.equal(c2.connecting, true);
  c2.destroy();
  assert.equal(c2.connecting, false);
  const [had2] = await until<[boolean]>(p.clock, c2, 'close');
  assert.equal(had2, false);
  await settle(p.clock);
  assert.equal(connections, 0);
  server.close();
  await assertClean(p);
});

test('ECONNREFUSED from a closed port, as Node reports it', async () => {
  const p = netPair();
  const c = p.na.connect(81, B);
  const closed = event<[boolean]>(c, 'close');
  const [err] = await until<[NodeJS.ErrnoException]>(p.clock, c, 'error');
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.errno, -111);
  assert.equal(err.syscall, 'connect');
  assert.equal(err.message, `connect ECONNREFUSED ${B}:81`);
  assert.equal((err as { address?: string }).address, B);
  assert.equal((err as { port?: number }).port, 81);
  const [hadError] = await drive(p.clock, closed);
  assert.equal(hadError, true);
  await assertClean(p);
});

test('ETIMEDOUT when nobody answers the SYN; ENOTFOUND for an unknown name', async () => {
  const p = netPair({ tcp: { synRetries: 2 } });
  const c = p.na.connect(80, '198.18.0.99');
  const [err] = await until<[NodeJS.ErrnoException]>(p.clock, c, 'error');
  assert.equal(err.code, 'ETIMEDOUT');
  assert.equal(err.message, 'connect ETIMEDOUT 198.18.0.99:80');
  assert.ok(p.clock.now() >= 7000, `gave up at ${p.clock.now()} ms (1 s + 2 s + 4 s of SYN backoff)`);
  const d = p.na.connect(80, 'nowhere.test');
  const [e2] = await until<[NodeJS.ErrnoException]>(p.clock, d, 'error');
  assert.equal(e2.code, 'ENOTFOUND');
  assert.equal(e2.message, 'getaddrinfo ENOTFOUND nowhere.test');
  await assertClean(p);
});

test('EADDRINUSE: a second server on the same port gets an error event, the first keeps working', async () => {
  const p = netPair();
  const first = p.nb.createServer((s) => s.end('first')).listen(80);
  await until(p.clock, first, 'listening');
  const second = p.nb.createServer();
  second.listen(80);
  const [err] = await until<[NodeJS.ErrnoException]>(p.clock, second, 'error');
  assert.equal(err.code, 'EADDRINUSE');
  assert.equal(err.errno, -98);
  assert.equal(err.syscall, 'listen');
  assert.equal(err.message, 'listen EADDRINUSE: address already in use :::80');
  assert.equal(second.listening, false);
  assert.equal(second.address(), null);
  // A specific address under the wildcard conflicts too; another port does not.
  const third = p.nb.createServer().listen(80, B);
  const [e3] = await until<[NodeJS.ErrnoException]>(p.clock, third, 'error');
  assert.equal(e3.message, `listen EADDRINUSE: address already in use ${B}:80`);
  const c = p.na.connect(80, B);
  assert.equal((await drive(p.clock, collect(c))).toString(), 'first');
  first.close();
  await assertClean(p);
});

test('server.close() stops accepting at once but waits for open connections before \'close\'', async () => {
  const p = netPair();
  const accepted: Socket[] = [];
  const server = p.nb.createServer((s) => {
    accepted.push(s);
    s.resume();
  }).listen(80);
  const c1 = p.na.connect(80, B).resume();
  const c2 = p.na.connect(80, B).resume();
  await drive(p.clock, Promise.all([once(c1, 'connect'), once(c2, 'connect')]));
  await settle(p.clock, { maxTime: p.clock.now() + 100 });
  const count = await drive(p.clock, new Promise<number>((r) => server.getConnections((_e, n) => r(n))));
  assert.equal(count, 2);
  let closedAt = -1;
  server.close(() => (closedAt = p.clock.now()));
  assert.equal(server.listening, false);
  // New connections are refused right away.
  const late = p.na.connect(80, B);
  const [err] = await until<[NodeJS.ErrnoException]>(p.clock, late, 'error');
  assert.equal(err.code, 'ECONNREFUSED');
  c1.end();
  await until(p.clock, c1, 'close');
  await settle(p.clock, { maxTime: p.clock.now() + 100 });
  assert.equal(closedAt, -1, 'closed with a connection still open');
  const t = p.clock.now();
  c2.end();
  await drive(p.clock, once(server, 'close'));
  assert.ok(closedAt >= t);
  // close() on a server that is not running reports ERR_SERVER_NOT_RUNNING.
  const e2 = await drive(p.clock, new Promise<Error | undefined>((r) => server.close(r)));
  assert.equal((e2 as { code?: string }).code, 'ERR_SERVER_NOT_RUNNING');
  await assertClean(p);
});

test('setTimeout: \'timeout\' fires after idle time, activity postpones it, the socket stays open', async () => {
  const p = netPair();
  const server = p.nb.createServer((s) => s.resume()).listen(80);
  const c = p.na.connect(80, B);
  await until(p.clock, c, 'connect');
  const t0 = p.clock.now();
  const fired: number[] = [];
  c.setTimeout(1000, () => fired.push(p.clock.now() - t0));
  assert.equal(c.timeout, 1000);
  p.clock.advance(600);
  c.write('x'); // activity at +600
  await drive(p.clock, once(c, 'timeout'));
  assert.deepEqual(fired, [1600]);
  assert.equal(c.destroyed, false);
  assert.equal(c.readyState, 'open');
  // Node does not repeat 'timeout' without new activity.
  await settle(p.clock, { maxTime: p.clock.now() + 5000 });
  assert.deepEqual(fired, [1600]);
  c.setTimeout(0);
  c.resume();
  c.end();
  await until(p.clock, c, 'close');
  server.close();
  await assertClean(p);
});

test('a peer reset surfaces as "read ECONNRESET"; destroy() with unread data sends that reset', async () => {
  const p = netPair();
  const serverSock = new Promise<Socket>((resolve) => p.nb.createServer({ pauseOnConnect: true }, resolve).listen(80));
  const c = p.na.connect(80, B);
  const s = await drive(p.clock, serverSock);
  c.write('data the server will never read');
  await settle(p.clock, { maxTime: p.clock.now() + 100 });
  assert.ok(s.tcp!.recvAvailable > 0);
  s.destroy(); // Linux close() with unread data: RST
  const [err] = await until<[NodeJS.ErrnoException]>(p.clock, c, 'error');
  assert.equal(err.code, 'ECONNRESET');
  assert.equal(err.message, 'read ECONNRESET');
  assert.equal(err.errno, -104);
  await assertClean(p);
});

test('EPIPE: writing to a half-open connection whose peer has gone away', async () => {
  const p = netPair();
  const server = p.nb.createServer((s) => {
    s.end('bye'); // FIN, then close the socket: later data from the client gets a RST
    s.on('finish', () => s.destroy());
  }).listen(80);
  const c = p.na.connect({ port: 80, host: B, allowHalfOpen: true });
  c.resume();
  await until(p.clock, c, 'end');
  await settle(p.clock, { maxTime: p.clock.now() + 100 });
  assert.equal(c.tcp!.state, 'CLOSE-WAIT');
  const err = await drive(p.clock, new Promise<NodeJS.ErrnoException>((resolve) => {
    c.on('error', resolve);
    c.write('are you there?'); // the peer released its socket: RST comes back
  }));
  assert.equal(err.code, 'EPIPE');
  assert.equal(err.message, 'write EPIPE');
  server.close();
  await assertClean(p);
});

test('connect options: localAddress/localPort, IPv6, host names, noDelay, keepAlive, timeout', async () => {
  const p = netPair();
  const server = p.nb.createServer((s) => s.resume()).listen(80);
  const c = p.na.connect({ port: 80, host: B, localAddress: A, localPort: 40000, noDelay: true, keepAlive: true, keepAliveInitialDelay: 5000, timeout: 2500 });
  await until(p.clock, c, 'connect');
  assert.equal(c.localPort, 40000);
  assert.equal(c.timeout, 2500);
  assert.equal(c.tcp!.config.noDelay, true);
  assert.equal(c.tcp!.config.keepAlive.enabled, true);
  assert.equal(c.tcp!.config.keepAlive.idle, 5000);
  c.setNoDelay(false);
  c.setKeepAlive(false);
  assert.equal(c.tcp!.config.noDelay, false);
  assert.equal(c.tcp!.config.keepAlive.enabled, false);
  const v6 = p.na.connect(80, B6);
  await until(p.clock, v6, 'connect');
  assert.equal(v6.remoteFamily, 'IPv6');
  assert.equal(v6.remoteAddress, B6);
  const { createNet } = await import('../../src/net/index.js');
  const named = createNet(p.a, { hosts: { 'server.test': B } }).connect(80, 'server.test');
  const [lookupErr, address] = await until<[Error | null, string]>(p.clock, named, 'lookup');
  assert.equal(lookupErr, null);
  assert.equal(address, B);
  await until(p.clock, named, 'connect');
  assert.equal(named.remoteAddress, B);
  for (const s of [c, v6, named]) s.destroy();
  server.close();
  await assertClean(p);
});

test('keep-alive probes find a vanished peer: the socket fails with ETIMEDOUT', async () => {
  const p = netPair();
  const serverSock = new Promise<Socket>((resolve) => p.nb.createServer(resolve).listen(80));
  const c = p.na.connect(80, B);
  await until(p.clock, c, 'connect');
  const s = await drive(p.clock, serverSock);
  c.setKeepAlive(true, 10_000);
  await settle(p.clock, { maxTime: p.clock.now() + 100 });
  p.links[1].close(); // the peer disappears without a word
  // When its stack shuts down later, the server's socket reports the abort.
  const serverErr = event<[NodeJS.ErrnoException]>(s, 'error');
  const t0 = p.clock.now();
  const [err] = await until<[NodeJS.ErrnoException]>(p.clock, c, 'error', { maxTime: 10_000_000 });
  assert.equal(err.code, 'ETIMEDOUT');
  assert.ok(p.clock.now() - t0 >= 10_000, 'failed before the idle time');
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections, 0);
  p.b.close();
  const [e2] = await drive(p.clock, serverErr);
  assert.equal(e2.message, 'read ECONNABORTED');
  await settle(p.clock);
  assert.equal(p.clock.pending(), 0);
});

test('maxConnections: extra connections are closed and reported with \'drop\'', async () => {
  const p = netPair();
  const server = p.nb.createServer((s) => s.resume());
  server.maxConnections = 1;
  server.listen(80);
  const drops: Array<{ remotePort: number }> = [];
  server.on('drop', (d: { remotePort: number }) => drops.push(d));
  const c1 = p.na.connect(80, B);
  await until(p.clock, c1, 'connect');
  const c2 = p.na.connect(80, B);
  c2.resume();
  await until(p.clock, c2, 'close');
  assert.equal(drops.length, 1);
  assert.equal(drops[0]!.remotePort, c2.localPort);
  c1.end();
  server.close();
  await assertClean(p);
});
