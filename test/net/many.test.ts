// 10,000 concurrent net sockets between two stacks in one process: every connection opens,
// exchanges a message, sits idle (when the heap per connection is measured and printed), closes,
// and every TCP connection on both sides reaches CLOSED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { netPair, drive, settle, B } from './drive.js';
import type { Socket } from '../../src/net/index.js';
import type { TcpConnection } from '../../src/tcp/connection.js';

const N = 10_000;

/** A gc() even without --expose-gc (the test runner does not pass it). */
function gc(): void {
  v8.setFlagsFromString('--expose-gc');
  const fn = vm.runInNewContext('gc') as () => void;
  fn();
  fn();
}

test(`${N} concurrent connections open, exchange a message, idle, close, and all reach CLOSED`, async () => {
  const p = netPair({ latency: 1 });
  const serverConns: TcpConnection[] = [];
  const server = p.nb.createServer((s) => {
    serverConns.push(s.tcp!);
    s.setEncoding('utf8');
    s.on('data', (d: string) => s.write(`ok ${d}`));
    s.on('end', () => s.end());
  });
  server.listen({ port: 80, backlog: N });
  await settle(p.clock);
  gc();
  const before = process.memoryUsage();

  const clients: Socket[] = [];
  const replies: Promise<string>[] = [];
  for (let i = 0; i < N; i++) {
    const c = p.na.connect(80, B);
    c.setEncoding('utf8');
    clients.push(c);
    replies.push(new Promise<string>((resolve, reject) => {
      c.once('data', resolve);
      c.once('error', reject);
    }));
    c.once('connect', () => c.write(`#${i}`));
  }
  const got = await drive(p.clock, Promise.all(replies));
  for (let i = 0; i < N; i++) assert.equal(got[i], `ok #${i}`);
  await settle(p.clock, { maxTime: p.clock.now() + 1000 }); // delayed ACKs out: idle
  assert.equal(p.a.stats().tcpConnections, N);
  assert.equal(p.b.stats().tcpConnections, N);
  assert.equal(serverConns.length, N);
  gc();
  const idle = process.memoryUsage();
  const heapPer = (idle.heapUsed - before.heapUsed) / N;
  const bufPer = (idle.arrayBuffers - before.arrayBuffers) / N;
  console.log(
    `[net x${N}] per idle connection (client socket + server socket + 2 TCP connections): ` +
      `JS heap ${(heapPer / 1024).toFixed(1)} KiB, ArrayBuffers ${(bufPer / 1024).toFixed(1)} KiB`,
  );
  assert.ok(heapPer < 64 * 1024, `heap per connection ${heapPer} B`);

  const clientConns = clients.map((c) => c.tcp!);
  const closed = clients.map((c) => new Promise<boolean>((resolve) => c.once('close', resolve)));
  for (const c of clients) c.end();
  const hadError = await drive(p.clock, Promise.all(closed));
  assert.ok(hadError.every((h) => h === false));
  server.close();
  await settle(p.clock);
  assert.ok(clientConns.every((c) => c.state === 'CLOSED'));
  assert.ok(serverConns.every((c) => c.state === 'CLOSED'));
  assert.equal(p.a.stats().tcpConnections, 0);
  assert.equal(p.b.stats().tcpConnections, 0);
  assert.equal(p.clock.pending(), 0);
});
