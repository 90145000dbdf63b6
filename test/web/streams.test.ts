// The web-streams API (src/web) in Node on a virtual clock: connect/listen, data both ways with
// sha256 intact, pull-based backpressure that closes the TCP window, FIN after close(), refused
// and reset connections surfacing as errors with Node's codes, and listener close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, listen, type TcpStream } from '../../src/web/index.js';
import { netPair, drive, settle, pattern, B } from '../net/drive.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function readAll(r: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of r as unknown as AsyncIterable<Uint8Array>) {
    parts.push(c);
    n += c.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

test('connect + listen: an echo exchange of 2 MiB keeps its sha256; closed resolves on both sides', async () => {
  const p = netPair();
  const l = listen(p.b, { port: 7 });
  assert.equal(l.port, 7);
  const serverDone = (async () => {
    for await (const conn of l) {
      await conn.readable.pipeTo(conn.writable); // echo, then FIN when the client's FIN arrives
      await conn.closed;
      return conn.remoteAddress;
    }
    return null;
  })();
  const c = await drive(p.clock, connect(p.a, { address: B, port: 7 }));
  assert.equal(c.remoteAddress, B);
  assert.equal(c.remotePort, 7);
  assert.equal(c.family, 'IPv4');
  const data = pattern(2 * 1024 * 1024, 21);
  const writing = (async () => {
    const w = c.writable.getWriter();
    for (let off = 0; off < data.length; off += 100_000) await w.write(data.subarray(off, off + 100_000));
    await w.close();
  })();
  const echoed = await drive(p.clock, readAll(c.readable));
  await drive(p.clock, writing);
  assert.equal(sha(echoed), sha(data));
  await drive(p.clock, c.closed);
  assert.equal(await drive(p.clock, serverDone), '198.18.0.1');
  l.close();
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections, 0);
  assert.equal(p.b.stats().tcpConnections, 0);
  assert.equal(p.clock.pending(), 0);
});

test('a reader that does not pull lets the TCP window close; the writer waits; reading resumes the flow', async () => {
  const p = netPair({ tcp: { recvBufferSize: 32 * 1024, sendBufferSize: 32 * 1024 } });
  const l = listen(p.b, { port: 9, readableHighWaterMark: 16 * 1024 });
  const accepted = l.accept();
  const c = await drive(p.clock, connect(p.a, { address: B, port: 9, writableHighWaterMark: 16 * 1024 }));
  const s = (await drive(p.clock, accepted))!;
  const data = pattern(400 * 1024, 5);
  const w = c.writable.getWriter();
  let written = 0;
  const writing = (async () => {
    for (let off = 0; off < data.length; off += 8192) {
      await w.ready;
      await w.write(data.subarray(off, off + 8192));
      written = off + 8192;
    }
    await w.close();
  })();
  await settle(p.clock, { maxTime: p.clock.now() + 3000 });
  assert.ok(written < data.length, 'the writer should be held back');
  assert.equal(c.tcp.stats().sndWnd, 0, 'the receiver should advertise a zero window');
  assert.ok(s.tcp.recvAvailable >= 32 * 1024 - 2, `TCP receive buffer should be full: ${s.tcp.recvAvailable}`);
  const got = await drive(p.clock, readAll(s.readable));
  await drive(p.clock, writing);
  assert.equal(sha(got), sha(data));
  await s.close();
  l.close();
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections + p.b.stats().tcpConnections, 0);
  assert.equal(p.clock.pending(), 0);
});

test('errors: ECONNREFUSED from connect, ECONNRESET on the reader when the peer aborts', async () => {
  const p = netPair();
  await assert.rejects(drive(p.clock, connect(p.a, { address: B, port: 1 })), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ECONNREFUSED');
    assert.equal(e.message, `connect ECONNREFUSED ${B}:1`);
    return true;
  });
  const l = listen(p.b, { port: 5 });
  const accepted = l.accept();
  const c = await drive(p.clock, connect(p.a, { address: B, port: 5 }));
  const s: TcpStream = (await drive(p.clock, accepted))!;
  s.abort(); // RST
  const reader = c.readable.getReader();
  await assert.rejects(drive(p.clock, reader.read()), (e: Error & { code?: string }) => e.code === 'ECONNRESET');
  await assert.rejects(c.closed, (e: Error & { code?: string }) => e.code === 'ECONNRESET');
  l.close();
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections + p.b.stats().tcpConnections, 0);
});

test('closing the listener ends the async iteration and refuses new connections', async () => {
  const p = netPair();
  const l = listen(p.b, { port: 0 });
  assert.ok(l.port >= 49152);
  const seen: string[] = [];
  const loop = (async () => {
    for await (const conn of l) {
      seen.push(conn.remoteAddress);
      await conn.close();
    }
    return 'ended';
  })();
  const c = await drive(p.clock, connect(p.a, { address: B, port: l.port }));
  await drive(p.clock, readAll(c.readable)); // the server closed: EOF
  await c.close();
  l.close();
  assert.equal(await drive(p.clock, loop), 'ended');
  assert.deepEqual(seen, ['198.18.0.1']);
  await assert.rejects(drive(p.clock, connect(p.a, { address: B, port: l.port })), /ECONNREFUSED/);
  await settle(p.clock);
  assert.equal(p.a.stats().tcpConnections + p.b.stats().tcpConnections, 0);
  assert.equal(p.clock.pending(), 0);
});
