// SYN cookies on the Stack (RFC 4987 section 3.6): a listener with a full SYN queue answers with a
// stateless cookie SYN-ACK; the returning ACK rebuilds the connection with the options the cookie
// recalls; forged, replayed and expired ACKs get the LISTEN answer (RST, RFC 9293 3.10.7.2) and
// are counted; 'never' keeps dropping SYNs beyond the backlog.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { twoStacks, rawPeer as raw, A4, B4, A6, B6, text, str } from './fixture.js';
import { parseIp } from '../../src/wire/address.js';
import { parseIpPacket, buildTcpPacket } from '../../src/wire/packet.js';
import { parseTcp, TcpFlag, type TcpOptions, type TcpRepr } from '../../src/wire/tcp.js';
import { seededRandom } from '../../src/util/random.js';
import { decodeTsOptions } from '../../src/tcp/syncookie.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { SynCookieEvent } from '../../src/trace/events.js';
import type { Pair } from './fixture.js';

const { SYN, ACK, RST, PSH } = TcpFlag;
const ip = (s: string): Uint8Array => parseIp(s)!;
const LINUX_SYN: TcpOptions = { mss: 1460, sackPermitted: true, timestamp: { val: 1000, ecr: 0 }, wscale: 7 };

/** Two half-open connections from spoofed sources fill a backlog of 2. */
function fillBacklog(p: Pair): void {
  const link = p.links[0];
  for (const [i, from] of ['198.18.0.50', '198.18.0.51'].entries()) {
    const syn: TcpRepr = { srcPort: 1000 + i, dstPort: 80, seq: 7 + i, ack: 0, flags: SYN, window: 65535, urgent: 0, options: { mss: 1460 }, payload: new Uint8Array(0) };
    link.send(buildTcpPacket(ip(from), ip(B4), syn));
  }
}

function pattern(seed: number, n: number): Uint8Array {
  return seededRandom(seed).fill(new Uint8Array(n));
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Both ends send `n` bytes; each checks the other's by hash, then both close. */
function exchange(c: TcpConnection, s: TcpConnection, n: number): { done: () => boolean } {
  const out = { c: pattern(1, n), s: pattern(2, n) };
  const got = { c: [] as Uint8Array[], s: [] as Uint8Array[] };
  const ok = { c: false, s: false };
  const wire = (conn: TcpConnection, side: 'c' | 's', peer: 'c' | 's'): void => {
    let off = 0;
    const pump = (): void => {
      while (off < n) {
        const k = conn.send(out[side].subarray(off));
        if (k === 0) return;
        off += k;
      }
      conn.close();
    };
    conn.hooks.onWritable = pump;
    conn.hooks.onReadable = () => {
      for (let d = conn.recv(); d !== null; d = conn.recv()) got[side].push(d);
      if (conn.peerFinished) {
        const all = new Uint8Array(got[side].reduce((k, b) => k + b.length, 0));
        let o = 0;
        for (const b of got[side]) (all.set(b, o), (o += b.length));
        ok[side] = sha(all) === sha(out[peer]);
      }
    };
    pump();
  };
  wire(c, 'c', 's');
  wire(s, 's', 'c');
  return { done: () => ok.c && ok.s };
}

test('full backlog: the client gets a cookie SYN-ACK, connects at once, moves 300 KB each way intact and closes cleanly', () => {
  const p = twoStacks({ latency: 5 });
  const { clock, a, b } = p;
  let server: TcpConnection | null = null;
  const l = b.tcpListen({ port: 80, backlog: 2 }, (conn) => {
    server = conn;
  });
  fillBacklog(p);
  clock.runUntil(5);
  assert.equal(l.pending, 2);
  const c = a.tcpConnect({ address: B4, port: 80 });
  let connectedAt = -1;
  c.hooks.onConnected = () => (connectedAt = clock.now());
  clock.runUntil(20);
  assert.equal(connectedAt, 15, 'one round trip, no retry');
  const srv = server as TcpConnection | null;
  assert.ok(srv !== null, 'the server side is ESTABLISHED when the ACK arrives');
  const ex = exchange(c, srv, 300_000);
  assert.equal(l.pending, 2, 'the cookie connection takes no backlog slot');
  assert.deepEqual([b.stats().tcpSynCookiesSent, b.stats().tcpSynCookiesValid, b.stats().tcpSynCookiesFailed], [1, 1, 0]);
  clock.runUntilIdle();
  assert.ok(ex.done(), 'both directions arrived with matching hashes');
  assert.equal(c.state, 'CLOSED');
  assert.equal(srv.state, 'CLOSED');
  assert.equal(l.pending, 0, 'the half-open entries timed out');
  assert.equal(a.stats().tcpConnections + b.stats().tcpConnections, 0);
  assert.equal(clock.pending(), 0);
  assert.equal(b.stats().tcpBacklogDrops, 0);
});

test('with timestamps the cookie recalls wscale and SACK; the peer MSS comes back rounded down to the table', () => {
  const p = twoStacks({ latency: 5, a: { tcp: { mss: 1459, recvBufferSize: 1 << 20 } } });
  const { clock, a, b } = p;
  let server: TcpConnection | null = null;
  b.tcpListen({ port: 80, synCookies: 'always' }, (conn) => (server = conn));
  const c = a.tcpConnect({ address: B4, port: 80 });
  clock.runUntil(20);
  assert.equal(c.state, 'ESTABLISHED');
  const s = server!.stats();
  const k = c.stats();
  assert.equal(b.stats().tcpSynCookiesValid, 1);
  assert.equal(s.sack, true);
  assert.equal(s.timestamps, true);
  assert.equal(s.sndWscale, k.rcvWscale, "the server scales the client's windows by the client's shift");
  assert.equal(k.rcvWscale, 5, '1 MiB receive buffer');
  assert.equal(k.sndWscale, s.rcvWscale);
  assert.equal(s.sndMss, 1440 - 12, 'MSS 1459 rounds down to 1440, minus the timestamp option');
  c.abort();
  clock.runUntilIdle();
  assert.equal(b.stats().tcpConnections, 0);
});

test('without timestamps the cookie SYN-ACK offers only MSS: no window scaling, no SACK, yet data flows', () => {
  const p = twoStacks({ latency: 5, batch: false, a: { tcp: { timestamps: false } } });
  const { clock, a, b } = p;
  const synAcks: TcpRepr[] = [];
  const inner = p.links[0].onReceive!;
  p.links[0].onReceive = (pkt) => {
    const r = parseIpPacket(pkt);
    const t = r.ok ? parseTcp(r.value.payload) : null;
    if (t?.ok && t.value.flags === (SYN | ACK)) synAcks.push(t.value);
    inner(pkt);
  };
  let server: TcpConnection | null = null;
  b.tcpListen({ port: 80, synCookies: 'always' }, (conn) => (server = conn));
  const c = a.tcpConnect({ address: B4, port: 80 });
  clock.runUntil(20);
  const ex = exchange(c, server!, 200_000);
  assert.equal(synAcks.length, 1);
  assert.deepEqual(synAcks[0]!.options, { mss: 1460 });
  const s = server!.stats();
  const k = c.stats();
  assert.deepEqual([s.sndWscale, s.rcvWscale, s.sack, s.timestamps], [0, 0, false, false]);
  assert.deepEqual([k.sndWscale, k.rcvWscale, k.sack], [0, 0, false]);
  clock.runUntilIdle();
  assert.ok(ex.done());
  assert.equal(a.stats().tcpConnections + b.stats().tcpConnections, 0);
});

test('a raw peer: the cookie SYN-ACK carries our options and the cookie in TSval; data on the returning ACK is delivered', () => {
  const p = twoStacks({ latency: 1 });
  const { clock, b } = p;
  const { send, got } = raw(p);
  const delivered: string[] = [];
  let server: TcpConnection | null = null;
  b.tcpListen({ port: 80, synCookies: 'always' }, (conn, info) => {
    server = conn;
    delivered.push(`accept ${info.remoteAddress}:${info.remotePort} ${conn.state}`);
    conn.hooks.onReadable = () => delivered.push(str(conn.recv()));
  });
  send(A4, { seq: 5000, flags: SYN, options: LINUX_SYN });
  clock.runUntil(5);
  assert.equal(got.length, 1);
  const sa = got[0]!;
  assert.equal(sa.flags, SYN | ACK);
  assert.equal(sa.ack, 5001);
  assert.equal(sa.options.mss, 1460);
  assert.equal(sa.options.sackPermitted, true);
  assert.equal(sa.options.wscale, 7, "the listener's own shift, for the 6 MiB the 256 KiB buffer may grow to");
  assert.equal(sa.options.timestamp?.ecr, 1000);
  assert.deepEqual(decodeTsOptions(sa.options.timestamp!.val), { wscale: 7, sackOk: true });
  assert.equal(b.stats().tcpConnections, 0, 'nothing stored for the SYN');
  send(A4, {
    seq: 5001, ack: (sa.seq + 1) >>> 0, flags: ACK | PSH, window: 1000,
    options: { timestamp: { val: 1001, ecr: sa.options.timestamp!.val } }, payload: text('hello'),
  });
  clock.runUntil(10);
  assert.deepEqual(delivered, [`accept ${A4}:40000 ESTABLISHED`, 'hello']);
  const s = server!.stats();
  assert.equal(s.sndWnd, 1000 << 7, 'SND.WND from the ACK, scaled by the shift the cookie recalled');
  const ackOfData = got.find((g) => g.ack === 5006);
  assert.ok(ackOfData !== undefined, 'the data was acknowledged');
  assert.equal(ackOfData.seq, (sa.seq + 1) >>> 0);
  send(A4, { seq: 5006, flags: RST });
  clock.runUntilIdle();
  assert.equal(b.stats().tcpConnections, 0);
});

test('forged ACKs: 100,000 random acknowledgment numbers create nothing; each gets RST <SEQ=SEG.ACK> and is counted', () => {
  const p = twoStacks({ latency: 0 });
  const { clock, b } = p;
  const { send, got } = raw(p);
  let accepted = 0;
  b.tcpListen({ port: 80, synCookies: 'always' }, () => accepted++);
  const r = seededRandom(2024);
  const N = 100_000;
  const acks: number[] = [];
  for (let i = 0; i < N; i++) {
    if (i % 1000 === 0) clock.runUntilIdle(); // keep the link's queue short
    const ack = r.u32();
    acks.push(ack);
    // The attacker even knows the client's tuple and ISN: it only lacks the key.
    send(A4, { srcPort: 40000, seq: 5001, ack, flags: ACK, options: { timestamp: { val: 1, ecr: r.u32() } } });
  }
  clock.runUntilIdle();
  assert.equal(accepted, 0);
  assert.equal(b.stats().tcpSynCookiesValid, 0);
  assert.equal(b.stats().tcpSynCookiesFailed, N);
  assert.equal(b.stats().tcpConnections, 0);
  assert.equal(got.length, N);
  assert.ok(got.every((g, i) => g.flags === RST && g.seq === acks[i]), 'RST with SEQ = SEG.ACK (RFC 9293 3.10.7.2)');
});

test('a valid cookie fails for another 4-tuple, another ISN, a tampered TSecr, and once its counter has expired', () => {
  const p = twoStacks({ latency: 0 });
  const { clock, b } = p;
  const { send, got } = raw(p);
  const events: SynCookieEvent[] = [];
  b.on('trace', (e) => e.type === 'syncookie' && events.push(e));
  let accepted = 0;
  b.tcpListen({ port: 80, synCookies: 'always' }, (conn) => {
    accepted++;
    conn.abort();
  });
  send(A4, { seq: 5000, flags: SYN, options: LINUX_SYN });
  clock.runUntilIdle();
  const sa = got.pop()!;
  const cookieAck = (o: Partial<TcpRepr> = {}): Partial<TcpRepr> => ({
    seq: 5001, ack: (sa.seq + 1) >>> 0, options: { timestamp: { val: 1001, ecr: sa.options.timestamp!.val } }, ...o,
  });
  send(A4, cookieAck({ srcPort: 40001 }));
  send('198.18.0.9', cookieAck());
  send(A4, cookieAck({ seq: 5002 }));
  send(A4, cookieAck({ options: { timestamp: { val: 1001, ecr: (sa.options.timestamp!.val | 0x20) >>> 0 } } }));
  clock.runUntilIdle();
  assert.equal(got.filter((g) => g.flags === RST).length, 4);
  assert.equal(b.stats().tcpSynCookiesFailed, 4);
  assert.deepEqual(events.filter((e) => e.action === 'failed').map((e) => e.detail), ['bad-mac', 'bad-mac', 'bad-mac', 'bad-ts']);
  clock.advance(2 * 64_000 + 1); // past the cookie's slot and the next
  send(A4, cookieAck());
  clock.runUntilIdle();
  assert.equal(accepted, 0);
  assert.equal(b.stats().tcpSynCookiesFailed, 5);
  assert.equal(events.at(-1)?.detail, 'expired');
  // The same ACK in time is accepted: the failures above were the cookie's doing.
  send(A4, { seq: 6000, flags: SYN, srcPort: 40002, options: LINUX_SYN });
  clock.runUntilIdle();
  const sa2 = got.pop()!;
  send(A4, { srcPort: 40002, seq: 6001, ack: (sa2.seq + 1) >>> 0, options: { timestamp: { val: 1001, ecr: sa2.options.timestamp!.val } } });
  clock.runUntilIdle();
  assert.equal(accepted, 1);
  assert.deepEqual(events.map((e) => e.action).slice(-3), ['failed', 'sent', 'valid']);
});

test("'auto' checks ACKs as cookies only while cookies are being sent; below the backlog the normal handshake runs", () => {
  const p = twoStacks({ latency: 0, batch: false });
  const { clock, a, b } = p;
  let accepted = 0;
  b.tcpListen({ port: 80 }, (conn) => {
    accepted++;
    conn.abort();
  });
  const c = a.tcpConnect({ address: B4, port: 80 });
  clock.runUntilIdle();
  assert.equal(accepted, 1);
  assert.equal(c.state, 'CLOSED');
  assert.equal(b.stats().tcpSynCookiesSent, 0, 'the backlog had room');
  // A stray ACK to the listener: RST as ever, not a cookie check.
  p.links[0].onReceive = null;
  p.links[0].send(buildTcpPacket(ip(A4), ip(B4), { srcPort: 40000, dstPort: 80, seq: 1, ack: 2, flags: ACK, window: 100, urgent: 0, options: {}, payload: new Uint8Array(0) }));
  clock.runUntilIdle();
  assert.equal(b.stats().tcpSynCookiesFailed, 0);
  assert.equal(b.stats().tcpResetsSent, 1);
});

test("synCookies 'never' keeps the old behaviour: SYNs beyond the backlog are dropped and counted, clients get in by retrying", () => {
  const { clock, a, b } = twoStacks({ latency: 50 });
  let accepted = 0;
  b.tcpListen({ port: 80, backlog: 2, synCookies: 'never' }, (conn) => {
    accepted++;
    conn.close();
  });
  const conns = Array.from({ length: 5 }, () => a.tcpConnect({ address: B4, port: 80 }));
  for (const c of conns) c.hooks.onReadable = () => c.peerFinished && c.close();
  clock.runUntil(150);
  assert.equal(b.stats().tcpBacklogDrops, 3);
  assert.equal(b.stats().tcpSynCookiesSent, 0);
  assert.equal(accepted, 2, 'only the two in the backlog got through in the first round trip');
  clock.runUntilIdle();
  assert.equal(accepted, 5);
  assert.ok(conns.every((c) => c.state === 'CLOSED'));
  assert.equal(a.stats().tcpConnections + b.stats().tcpConnections, 0);
});

test("the same five clients with 'auto': two take the backlog, three get cookies, all in one round trip", () => {
  const { clock, a, b } = twoStacks({ latency: 50 });
  let accepted = 0;
  const events: string[] = [];
  b.on('trace', (e) => e.type === 'syncookie' && events.push(`${e.action} ${e.detail ?? ''}`.trim()));
  b.tcpListen({ port: 80, backlog: 2 }, (conn) => {
    accepted++;
    conn.close();
  });
  const conns = Array.from({ length: 5 }, () => a.tcpConnect({ address: B4, port: 80 }));
  for (const c of conns) c.hooks.onReadable = () => c.peerFinished && c.close();
  clock.runUntil(150);
  assert.equal(accepted, 5);
  assert.equal(b.stats().tcpBacklogDrops, 0);
  assert.deepEqual(events, ['sent backlog 2/2, mode auto', 'sent backlog 2/2, mode auto', 'sent backlog 2/2, mode auto', 'valid', 'valid', 'valid']);
  clock.runUntilIdle();
  assert.equal(a.stats().tcpConnections + b.stats().tcpConnections, 0);
});

test('IPv6: a cookie connection over 2001:db8::/32 carries data both ways', () => {
  const { clock, a, b } = twoStacks({ latency: 2 });
  let server: TcpConnection | null = null;
  b.tcpListen({ port: 443, synCookies: 'always' }, (conn) => {
    server = conn;
  });
  const c = a.tcpConnect({ address: B6, port: 443 });
  clock.runUntil(10);
  const srv = server as TcpConnection | null;
  assert.ok(srv !== null && c.state === 'ESTABLISHED');
  assert.equal(b.connectionInfo(srv)?.remoteAddress, A6);
  assert.equal(srv.stats().sndMss, 1440 - 12, 'IPv6 MSS 1440 is in the table; minus timestamps');
  const ex = exchange(c, srv, 50_000);
  clock.runUntilIdle();
  assert.ok(ex.done());
  assert.equal(b.stats().tcpSynCookiesValid, 1);
  assert.equal(a.stats().tcpConnections + b.stats().tcpConnections, 0);
});

test('synCookies takes only auto, always or never', () => {
  const { a } = twoStacks();
  assert.throws(() => a.tcpListen({ port: 1, synCookies: 'sometimes' as never }, () => undefined), { code: 'ERR_INVALID_ARG_VALUE' });
});
