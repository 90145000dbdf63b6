// TCP through two stacks on a virtual clock: handshake, data both ways, orderly close through
// TIME-WAIT, RST and ICMP errors for refused connections, path MTU, backlog, listener rules,
// tracing, and 1,000 concurrent connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, A4, B4, A6, B6, text, str } from './fixture.js';
import { Stack } from '../../src/stack/stack.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { createSimPair } from '../../src/link/sim.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { parseIp } from '../../src/wire/address.js';
import { parseIpPacket, buildIcmpPacket } from '../../src/wire/packet.js';
import { parseTcp, TcpFlag } from '../../src/wire/tcp.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { TraceEvent } from '../../src/trace/events.js';

const ip = (s: string): Uint8Array => parseIp(s)!;

/** Read everything available now. */
function drain(c: TcpConnection): string {
  let s = '';
  for (let d = c.recv(); d !== null; d = c.recv()) s += str(d);
  return s;
}

test('handshake, data both ways and an orderly close; the active closer waits 2*MSL in TIME-WAIT', () => {
  const { clock, a, b } = twoStacks({ latency: 5 });
  const log: string[] = [];
  let server: TcpConnection | null = null;
  b.tcpListen({ port: 80 }, (conn, info) => {
    server = conn;
    log.push(`accept ${info.remoteAddress}:${info.remotePort > 49151}`);
    conn.hooks.onReadable = () => {
      const got = drain(conn);
      if (got) {
        log.push(`b got ${got}`);
        conn.send(text(`re: ${got}`));
      }
      if (conn.peerFinished) conn.close();
    };
  });
  const c = a.tcpConnect({ address: B4, port: 80 });
  c.hooks.onConnected = () => {
    log.push(`connected at ${clock.now()}`);
    c.send(text('hello'));
  };
  c.hooks.onReadable = () => {
    const got = drain(c);
    if (got) log.push(`a got ${got}`);
    c.close();
  };
  let closedAt = -1;
  c.hooks.onClosed = () => (closedAt = clock.now());
  clock.runUntilIdle();
  assert.deepEqual(log, ['connected at 10', `accept ${A4}:true`, 'b got hello', 'a got re: hello']);
  assert.equal(c.state, 'CLOSED');
  assert.equal(server!.state, 'CLOSED');
  assert.ok(closedAt >= 60_000, `closed at ${closedAt}`); // TIME-WAIT = 2 * 30 s
  assert.equal(a.stats().tcpConnections, 0);
  assert.equal(b.stats().tcpConnections, 0);
  assert.equal(a.stats().tcpActiveOpens, 1);
  assert.equal(b.stats().tcpPassiveOpens, 1);
  assert.equal(clock.pending(), 0);
});

test('IPv6 connections work; a listener on one address does not take another', () => {
  const { clock, a, b } = twoStacks();
  const accepted: string[] = [];
  b.tcpListen({ address: B6, port: 443 }, (conn, info) => {
    accepted.push(`${info.family} ${info.localAddress} ${info.remoteAddress}`);
    conn.close();
  });
  const ok6 = a.tcpConnect({ address: B6, port: 443 });
  const refused4 = a.tcpConnect({ address: B4, port: 443 });
  const errors: string[] = [];
  refused4.hooks.onError = (code) => errors.push(code);
  ok6.hooks.onReadable = () => {
    if (ok6.peerFinished) ok6.close();
  };
  clock.runUntilIdle();
  assert.deepEqual(accepted, [`IPv6 ${B6} ${A6}`]);
  assert.deepEqual(errors, ['ECONNREFUSED']);
  assert.equal(a.stats().tcpConnections, 0);
  assert.equal(a.connectionInfo(ok6)?.remoteAddress, B6); // still describable after it closed
  assert.equal(b.stats().tcpResetsSent, 1);
  assert.throws(() => b.tcpListen({ address: B6, port: 443 }, () => {}), { code: 'EADDRINUSE' });
  assert.throws(() => b.tcpListen({ port: 443 }, () => {}), { code: 'EADDRINUSE' });
});

test('a SYN to a closed port is answered with RST and the connect fails with ECONNREFUSED', () => {
  const { clock, a, b } = twoStacks({ latency: 3 });
  const drops: TraceEvent[] = [];
  b.on('trace', (e) => drops.push(e));
  const c = a.tcpConnect({ address: B4, port: 81 });
  const errors: [string, number][] = [];
  c.hooks.onError = (code) => errors.push([code, clock.now()]);
  clock.runUntilIdle();
  assert.deepEqual(errors, [['ECONNREFUSED', 6]]);
  assert.equal(c.state, 'CLOSED');
  assert.equal(b.stats().tcpNoListener, 1);
  assert.equal(b.stats().tcpResetsSent, 1);
  assert.ok(drops.some((d) => d.type === 'drop' && d.reason === 'no-listener' && d.host === 'b'));
  assert.equal(clock.pending(), 0);
});

/** Stack `a` alone, with a scripted peer on the other end of the link. */
function scriptedPeer(respond: (pkt: Uint8Array, send: (p: Uint8Array) => void) => void) {
  const clock = new VirtualClock();
  const [l, r] = createMemoryPair({ clock, latency: 1 });
  const a = new Stack({ name: 'a', clock, random: seededRandom(9) });
  a.addInterface(l, { addresses: [`${A4}/24`, `${A6}/64`] });
  const sent: Uint8Array[] = [];
  r.onReceive = (p) => {
    sent.push(p);
    respond(p, (x) => r.send(x));
  };
  return { clock, a, sent };
}

test('ICMP port unreachable (a hard error) fails a connecting socket; time exceeded (soft) does not', () => {
  for (const [code, kind, expect] of [[3, 'dst-unreachable', 'ECONNREFUSED'], [0, 'time-exceeded', null]] as const) {
    const { clock, a } = scriptedPeer((pkt, send) => {
      const p = parseIpPacket(pkt);
      if (!p.ok || p.value.protocol !== 6) return;
      send(buildIcmpPacket(ip(B4), ip(A4), { kind, code, quoted: pkt.subarray(0, 28) }));
    });
    const c = a.tcpConnect({ address: B4, port: 80, config: { synRetries: 1 } });
    const errors: string[] = [];
    c.hooks.onError = (e) => errors.push(e);
    clock.runUntil(100);
    assert.deepEqual(errors, expect === null ? [] : [expect], kind);
    assert.equal(c.state, expect === null ? 'SYN-SENT' : 'CLOSED');
    assert.equal(a.stats().icmpErrorsToTcp, 1);
    clock.runUntilIdle();
    assert.equal(c.state, 'CLOSED'); // the soft error case times out eventually
  }
});

test('ICMP packet too big lowers the MSS of the connection it quotes', () => {
  const pkts: number[] = [];
  let mtuReported = false;
  const { clock, a, b } = twoStacks({
    wrap: (l, side) =>
      side === 'a'
        ? {
            get mtu() {
              return l.mtu;
            },
            send(p: Uint8Array) {
              pkts.push(p.length);
              l.send(p);
            },
            get onReceive() {
              return l.onReceive;
            },
            set onReceive(fn) {
              l.onReceive = fn;
            },
            close: () => l.close(),
          }
        : l,
  });
  let server: TcpConnection | null = null;
  b.tcpListen({ port: 80 }, (conn) => {
    server = conn;
    conn.hooks.onReadable = () => drain(conn);
  });
  const c = a.tcpConnect({ address: B4, port: 80 });
  clock.runUntilIdle({ maxTime: 100 });
  assert.equal(c.state, 'ESTABLISHED');
  assert.equal(c.stats().sndMss, 1460 - 12);
  // A router says the path only carries 1000 bytes; quote a segment of this connection.
  const info = a.connectionInfo(c)!;
  const quote = new Uint8Array(28);
  quote.set([0x45, 0, 0x05, 0xdc, 0, 0, 0x40, 0, 64, 6, 0, 0], 0);
  quote.set(ip(A4), 12);
  quote.set(ip(B4), 16);
  quote.set([info.localPort >> 8, info.localPort & 0xff, 0, 80], 20);
  b.counters; // (b stays passive; the ICMP comes "from a router")
  const [, rb] = [null, null];
  void rb;
  mtuReported = true;
  // Inject on a's receive path as if from 198.18.0.254.
  const icmp = buildIcmpPacket(ip('198.18.0.254'), ip(A4), { kind: 'packet-too-big', mtu: 1000, quoted: quote });
  (a.interfaces.find((i) => i !== a.loopback)!.link.onReceive as (p: Uint8Array) => void)(icmp);
  assert.equal(c.stats().sndMss, 1000 - 40 - 12);
  assert.equal(a.pathMtu(B4), 1000);
  pkts.length = 0;
  c.send(new Uint8Array(10_000));
  clock.runUntilIdle({ maxTime: 1000 });
  assert.ok(mtuReported && pkts.length > 0 && Math.max(...pkts) <= 1000, `largest packet ${Math.max(...pkts)}`);
  assert.equal(server!.recvAvailable, 0);
  // New connections to that destination start with the learned path MTU.
  const c2 = a.tcpConnect({ address: B4, port: 80 });
  clock.runUntilIdle({ maxTime: 2000 });
  assert.ok(c2.stats().sndMss <= 1000 - 40, `new connection MSS ${c2.stats().sndMss}`);
});

test('closing a listener resets half-open connections and refuses new ones; established ones live on', () => {
  const { clock, a, b } = twoStacks({ latency: 10 });
  const got: string[] = [];
  const l = b.tcpListen({ port: 80 }, (conn) => {
    conn.hooks.onReadable = () => got.push(drain(conn));
  });
  const first = a.tcpConnect({ address: B4, port: 80 });
  clock.runUntil(30);
  assert.equal(first.state, 'ESTABLISHED');
  const second = a.tcpConnect({ address: B4, port: 80 });
  clock.runUntil(41); // SYN arrived at b (SYN-RECEIVED), SYN-ACK on its way
  l.close();
  first.send(text('still here'));
  const errors: string[] = [];
  second.hooks.onError = (e) => errors.push(e);
  clock.runUntil(200);
  assert.deepEqual(got, ['still here']);
  assert.equal(second.state, 'CLOSED');
  assert.deepEqual(errors, ['ECONNRESET']);
  const third = a.tcpConnect({ address: B4, port: 80 });
  third.hooks.onError = (e) => errors.push(e);
  clock.runUntil(400);
  assert.deepEqual(errors, ['ECONNRESET', 'ECONNREFUSED']);
  first.abort();
  clock.runUntilIdle();
});

test('trace events are off until someone listens, then tagged with the host and connection', () => {
  const { clock, a, b } = twoStacks();
  b.tcpListen({ port: 80 }, (conn) => conn.close());
  const quiet = a.tcpConnect({ address: B4, port: 80 });
  assert.equal(quiet.hooks.onTrace, undefined);
  const events: TraceEvent[] = [];
  const fn = (e: TraceEvent): void => {
    events.push(e);
  };
  a.on('trace', fn);
  assert.equal(typeof quiet.hooks.onTrace, 'function');
  quiet.hooks.onReadable = () => quiet.peerFinished && quiet.close();
  clock.runUntilIdle();
  a.off('trace', fn);
  assert.equal(quiet.hooks.onTrace, undefined);
  const states = events.filter((e) => e.type === 'state');
  assert.ok(states.length >= 4);
  assert.ok(events.every((e) => e.type === 'segment' || e.host === 'a'));
  assert.match(String(states[0]!.conn), /^198\.18\.0\.1:\d+>198\.18\.0\.2:80$/);
  assert.deepEqual(states.at(-1)!.type === 'state' && states.at(-1)!.to, 'CLOSED');
});

test('1,000 concurrent connections between two stacks open, exchange a message and close', () => {
  const { clock, a, b } = twoStacks({ latency: 2 });
  const N = 1000;
  let served = 0;
  b.tcpListen({ port: 7, backlog: N }, (conn) => {
    conn.hooks.onReadable = () => {
      const m = drain(conn);
      if (m) {
        served++;
        conn.send(text(m.toUpperCase()));
        conn.close();
      }
    };
  });
  const replies = new Map<number, string>();
  const conns: TcpConnection[] = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const c = a.tcpConnect({ address: i % 2 ? B6 : B4, port: 7 });
    c.hooks.onConnected = () => c.send(text(`msg ${i}`));
    c.hooks.onReadable = () => {
      const m = drain(c);
      if (m) replies.set(i, (replies.get(i) ?? '') + m);
      if (c.peerFinished) c.close();
    };
    conns.push(c);
  }
  clock.runUntil(8);
  assert.equal(a.stats().tcpConnections, N); // all of them open at once
  assert.equal(b.stats().tcpConnections, N);
  clock.runUntil(100);
  assert.equal(a.stats().tcpConnections, 0); // a closed second (LAST-ACK -> CLOSED)
  assert.equal(b.stats().tcpConnections, N); // b closed first and waits in TIME-WAIT
  const ports = new Set(conns.map((c) => c.tuple.localPort));
  assert.equal(ports.size, N, 'distinct ephemeral ports');
  clock.runUntilIdle();
  const ms = performance.now() - t0;
  assert.equal(served, N);
  assert.equal(replies.size, N);
  for (let i = 0; i < N; i++) assert.equal(replies.get(i), `MSG ${i}`);
  assert.ok(conns.every((c) => c.state === 'CLOSED'));
  assert.equal(a.stats().tcpConnections, 0);
  assert.equal(b.stats().tcpConnections, 0);
  assert.equal(clock.pending(), 0);
  console.log(`# 1000 connections: ${ms.toFixed(0)} ms wall, ${clock.now()} ms virtual`);
});

test('the link MTU drops mid-transfer: segments are cut to the new MTU and the transfer completes', () => {
  const clock = new VirtualClock();
  const sim = createSimPair(clock, { seed: 5, latency: 5, mtu: 1500 });
  const a = new Stack({ name: 'a', clock, random: seededRandom(1) });
  const b = new Stack({ name: 'b', clock, random: seededRandom(2) });
  a.addInterface(sim[0], { addresses: [`${A4}/24`], name: 'eth0' });
  b.addInterface(sim[1], { addresses: [`${B4}/24`], name: 'eth0' });
  let got = 0;
  b.tcpListen({ port: 80 }, (conn) => {
    conn.hooks.onReadable = () => {
      for (let d = conn.recv(); d !== null; d = conn.recv()) got += d.length;
    };
  });
  const c = a.tcpConnect({ address: B4, port: 80 });
  clock.runUntil(100);
  const total = 200_000;
  const data = new Uint8Array(total);
  let off = c.send(data);
  c.hooks.onWritable = () => {
    off += c.send(data.subarray(off));
  };
  clock.runUntil(110); // a window of full-size segments is in flight
  sim.configure({ mtu: 900 }, 0); // a's side of the link now carries packets of 900 bytes at most
  clock.runUntil(60_000);
  assert.equal(got, total, 'every byte arrived after the MTU drop');
  assert.ok(a.stats().ipTooBig > 0, 'some full-size segments were too big for the lowered MTU');
  assert.ok(c.stats().sndMss <= 900 - 40, `send MSS lowered to fit the link (now ${c.stats().sndMss})`);
  assert.equal(c.state, 'ESTABLISHED');
});
