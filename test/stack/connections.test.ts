// Stack.connections() and tcpListeners(): the public listing that `synack serve/get/nc --ss`
// prints; and the per-connection footprint rules behind it (shared settings copied on change,
// no clock entries held by idle or closed connections).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, A4, B4, A6, B6, text } from './fixture.js';
import { connectionTable } from '../../src/cli/tun-common.js';
import type { TcpConnection } from '../../src/tcp/connection.js';

test('connections() lists each connection with its 4-tuple, state and statistics, TIME-WAIT included', () => {
  const { clock, a, b } = twoStacks({ latency: 5 });
  const accepted: TcpConnection[] = [];
  const l = b.tcpListen({ port: 80 }, (c) => {
    accepted.push(c);
    c.hooks.onReadable = () => void c.recv();
  });
  const c4 = a.tcpConnect({ address: B4, port: 80, localPort: 40000 });
  const c6 = a.tcpConnect({ address: B6, port: 80 });
  assert.deepEqual(a.connections().map((x) => x.state), ['SYN-SENT', 'SYN-SENT']);
  clock.runUntil(100);
  c4.send(text('x'.repeat(1000)));
  clock.runUntil(200);

  const list = a.connections();
  assert.equal(list.length, 2);
  const [v4, v6] = list;
  assert.deepEqual(
    { localAddress: v4!.localAddress, localPort: v4!.localPort, remoteAddress: v4!.remoteAddress, remotePort: v4!.remotePort, family: v4!.family, state: v4!.state },
    { localAddress: A4, localPort: 40000, remoteAddress: B4, remotePort: 80, family: 'IPv4', state: 'ESTABLISHED' },
  );
  assert.equal(v4!.conn, c4);
  assert.equal(v4!.stats.bytesAcked, 1000);
  assert.ok(v4!.stats.rtt > 0);
  assert.equal(v6!.family, 'IPv6');
  assert.equal(v6!.localAddress, A6);
  assert.equal(v6!.conn, c6);
  assert.equal(v6!.stats.bytesSent, 0);
  assert.deepEqual(b.connections().map((x) => [x.remoteAddress, x.localPort, x.state]), [
    [A4, 80, 'ESTABLISHED'],
    [A6, 80, 'ESTABLISHED'],
  ]);
  assert.equal(b.connections()[0]!.stats.bytesReceived, 1000);
  assert.deepEqual(b.tcpListeners(), [l]);

  // The client closes first and waits in TIME-WAIT; the listing shows it until 2*MSL has passed.
  c4.close();
  accepted[0]!.hooks.onReadable = () => {
    accepted[0]!.recv();
    if (accepted[0]!.peerFinished) accepted[0]!.close();
  };
  clock.runUntil(1000);
  assert.deepEqual(a.connections().map((x) => x.state), ['TIME-WAIT', 'ESTABLISHED']);
  assert.deepEqual(b.connections().map((x) => x.state), ['ESTABLISHED']);
  clock.runUntil(62_000);
  assert.deepEqual(a.connections().map((x) => x.conn), [c6]);
  l.close();
  assert.deepEqual(b.tcpListeners(), []);
  a.close();
  b.close();
});

test('the --ss table is built from the public listing: listeners first, then connections', () => {
  const { clock, a, b } = twoStacks({ latency: 1 });
  b.tcpListen({ port: 8080 }, () => {});
  a.tcpConnect({ address: B4, port: 8080, localPort: 41000 });
  clock.runUntil(50);
  const rows = connectionTable(b).trimEnd().split('\n');
  assert.match(rows[0]!, /^State\s+Recv-Q\s+Send-Q\s+Local Address:Port\s+Peer Address:Port/);
  assert.match(rows[1]!, /^LISTEN\s+0\s+511\s+\*:8080\s/);
  assert.match(rows[2]!, new RegExp(`^ESTAB\\s+0\\s+0\\s+${B4.replace(/\./g, '\\.')}:8080\\s+${A4.replace(/\./g, '\\.')}:41000\\s`));
  assert.equal(rows.length, 3);
  a.close();
  b.close();
});

test('connections with the same settings share them; changing one copies it first', () => {
  const { clock, a, b } = twoStacks({ latency: 1 });
  b.tcpListen({ port: 80 }, () => {});
  const x = a.tcpConnect({ address: B4, port: 80 });
  const y = a.tcpConnect({ address: B4, port: 80 });
  const z = a.tcpConnect({ address: B4, port: 80, config: { noDelay: true } });
  clock.runUntil(50);
  assert.equal(x.config, y.config, 'one object for equal settings');
  assert.equal(z.config.noDelay, true);
  assert.equal(x.config.noDelay, false);
  assert.throws(() => {
    (x.config as { noDelay: boolean }).noDelay = true;
  }, TypeError, 'a shared config cannot be changed in place');
  x.ownConfig().noDelay = true;
  x.ownConfig().keepAlive.enabled = true;
  assert.equal(x.config.noDelay, true);
  assert.equal(y.config.noDelay, false, 'the other connection keeps its settings');
  assert.equal(y.config.keepAlive.enabled, false);
  a.close();
  b.close();
});

test('idle established connections hold no timers, and closed ones leave none behind', () => {
  const { clock, a, b } = twoStacks({ latency: 1 });
  b.tcpListen({ port: 80 }, (c) => (c.hooks.onReadable = () => void c.recv()));
  const conns = Array.from({ length: 50 }, () => a.tcpConnect({ address: B4, port: 80 }));
  for (const c of conns) c.send(text('hi'));
  // Deadlines that moved later stay queued until their old time (lazy rescheduling), then go.
  clock.runUntil(10_000);
  assert.equal(a.connections().length, 50);
  assert.deepEqual(new Set(a.connections().map((c) => c.state)), new Set(['ESTABLISHED']));
  assert.equal(clock.pending(), 0, 'nothing queued on the clock for idle connections');
  for (const c of conns) c.abort();
  clock.runUntil(10_100);
  assert.equal(a.connections().length, 0);
  assert.equal(b.connections().length, 0);
  assert.equal(clock.pending(), 0);
  a.close();
  b.close();
});
