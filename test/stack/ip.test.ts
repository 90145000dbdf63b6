// The IP layer of the stack: ping in both families, UDP in both families, port unreachable for a
// closed UDP port, routes, bad packets counted and dropped, packets for others ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, A4, B4, A6, B6, text, str } from './fixture.js';
import { Stack } from '../../src/stack/stack.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { tapLink } from '../../src/link/tap.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { parseIp } from '../../src/wire/address.js';
import { buildUdpPacket, buildIcmpPacket, buildTcpPacket, parseIpPacket } from '../../src/wire/packet.js';
import { parseIcmpv4, parseIcmpv6 } from '../../src/wire/icmp.js';
import type { TraceEvent } from '../../src/trace/events.js';
import type { RemoteInfo } from '../../src/stack/udp.js';

const ip = (s: string): Uint8Array => parseIp(s)!;

test('ping: echo requests are answered over IPv4 and IPv6, with the round-trip time', async () => {
  const { clock, a, b } = twoStacks({ latency: 7 });
  const p4 = a.ping(B4, { data: text('hello') });
  const p6 = a.ping(B6);
  clock.runUntilIdle();
  const r4 = await p4;
  const r6 = await p6;
  assert.equal(r4.rtt, 14);
  assert.equal(r4.bytes, 5);
  assert.equal(r4.ttl, 64);
  assert.equal(r6.rtt, 14);
  assert.equal(b.stats().icmpEchoRequests, 2);
  assert.equal(a.stats().icmpEchoReplies, 2);
  assert.equal(clock.pending(), 0);
});

test('ping: no reply in time rejects with ETIMEDOUT; no route rejects with ENETUNREACH', async () => {
  const { clock, a } = twoStacks();
  const lost = a.ping('198.18.0.99', { timeout: 500 }); // on-link but nobody answers
  clock.runUntilIdle();
  await assert.rejects(lost, { code: 'ETIMEDOUT' });
  assert.equal(clock.now(), 500);
  await assert.rejects(a.ping('203.0.113.1'), { code: 'ENETUNREACH' });
});

test('UDP: datagrams flow both ways over IPv4 and IPv6 with dgram-style rinfo', () => {
  const { clock, a, b } = twoStacks();
  const server = b.udpBind({ port: 53 });
  const got: [string, RemoteInfo][] = [];
  server.on('message', (msg, rinfo) => {
    got.push([str(msg), rinfo]);
    server.send(msg, rinfo.port, rinfo.address); // echo
  });
  const client = a.udpBind();
  const replies: string[] = [];
  client.on('message', (msg) => replies.push(str(msg)));
  client.send(text('v4 query'), 53, B4);
  client.send('v6 query', 53, B6);
  clock.runUntilIdle();
  assert.deepEqual(got.map((g) => g[0]), ['v4 query', 'v6 query']);
  assert.deepEqual(got[0]![1], { address: A4, family: 'IPv4', port: client.address().port, size: 8 });
  assert.equal(got[1]![1].address, A6);
  assert.equal(got[1]![1].family, 'IPv6');
  assert.deepEqual(replies, ['v4 query', 'v6 query']);
  const port = client.address().port;
  assert.ok(port >= 49152 && port <= 65535, `ephemeral port ${port}`);
  assert.deepEqual(server.address(), { address: '::', family: 'IPv6', port: 53 });
  client.close();
  server.close();
  assert.equal(b.stats().udpSockets, 0);
});

test('UDP: a datagram to a closed port is answered with ICMP port unreachable (v4 and v6)', () => {
  const { clock, a, b, links } = twoStacks({ batch: false });
  const seen: Uint8Array[] = [];
  const rx = links[0].onReceive!;
  links[0].onReceive = (p) => {
    seen.push(p);
    rx(p);
  };
  const s = a.udpBind();
  s.send('x', 9999, B4);
  s.send('y', 9999, B6);
  clock.runUntilIdle();
  assert.equal(b.stats().udpNoPort, 2);
  assert.equal(b.stats().icmpUnreachSent, 2);
  assert.equal(a.stats().icmpErrorsIn, 2);
  const p4 = parseIpPacket(seen[0]!);
  assert.ok(p4.ok);
  const m4 = parseIcmpv4(p4.value.payload);
  assert.ok(m4.ok && m4.value.kind === 'dst-unreachable' && m4.value.code === 3);
  const p6 = parseIpPacket(seen[1]!);
  assert.ok(p6.ok);
  const m6 = parseIcmpv6(p6.value.payload, { src: p6.value.src, dst: p6.value.dst });
  assert.ok(m6.ok && m6.value.kind === 'dst-unreachable' && m6.value.code === 4);
});

test('UDP: binding a taken port fails with EADDRINUSE; specific and wildcard binds pick the best match', () => {
  const { clock, a, b } = twoStacks();
  b.udpBind({ address: B4, port: 7 });
  assert.throws(() => b.udpBind({ address: B4, port: 7 }), { code: 'EADDRINUSE' });
  assert.throws(() => b.udpBind({ port: 7 }), { code: 'EADDRINUSE' });
  assert.throws(() => b.udpBind({ address: '198.18.0.77', port: 8 }), { code: 'EADDRNOTAVAIL' });
  const v6 = b.udpBind({ address: B6, port: 7 }); // other address, same port: fine
  const hits: string[] = [];
  v6.on('message', (m) => hits.push(`v6:${str(m)}`));
  const c = a.udpBind();
  c.send('to-v6', 7, B6);
  clock.runUntilIdle();
  assert.deepEqual(hits, ['v6:to-v6']);
});

test('UDP: sending without a route or above the MTU reports an error through the callback', async () => {
  const { clock, a } = twoStacks({ mtu: 576 });
  const s = a.udpBind();
  const errs: string[] = [];
  s.send('x', 1, '203.0.113.9', (err) => errs.push(String((err as { code?: string } | null)?.code)));
  s.send(new Uint8Array(1000), 1, B4, (err) => errs.push(String((err as { code?: string } | null)?.code)));
  s.send(new Uint8Array(10), 1, B4, (err, n) => errs.push(`${err}:${n}`));
  await Promise.resolve();
  await Promise.resolve();
  clock.runUntilIdle();
  assert.deepEqual(errs, ['ENETUNREACH', 'EMSGSIZE', 'null:10']);
});

test('bad packets are counted and dropped with trace events; packets for other hosts are ignored', () => {
  const { clock, b, links } = twoStacks();
  const drops: TraceEvent[] = [];
  b.on('trace', (e) => drops.push(e));
  const good = buildUdpPacket(ip(A4), ip(B4), { srcPort: 1, dstPort: 2, payload: text('x') });
  const badIp = good.slice();
  badIp[8] = 1; // TTL changed without fixing the header checksum
  const badUdp = good.slice();
  badUdp[good.length - 1] = badUdp[good.length - 1]! ^ 0xff;
  const frag = buildUdpPacket(ip(A4), ip(B4), { srcPort: 1, dstPort: 2, payload: text('x') }, { dontFragment: false });
  frag[6] = 0x20; // More Fragments
  frag[10] = 0;
  frag[11] = 0;
  // fix the IPv4 header checksum
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (frag[i]! << 8) | frag[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  frag[10] = (~sum >> 8) & 0xff;
  frag[11] = ~sum & 0xff;
  const other = buildUdpPacket(ip(A4), ip('198.18.0.3'), { srcPort: 1, dstPort: 2, payload: text('x') });
  const badTcp = buildTcpPacket(ip(A4), ip(B4), { srcPort: 1, dstPort: 80, seq: 1, ack: 0, flags: 2, window: 100, urgent: 0, options: {}, payload: new Uint8Array(0) });
  badTcp[badTcp.length - 3] = badTcp[badTcp.length - 3]! ^ 1;
  for (const p of [new Uint8Array([0x45, 0]), badIp, badUdp, frag, other, badTcp]) links[0].send(p);
  clock.runUntilIdle();
  const s = b.stats();
  assert.equal(s.ipMalformed, 1);
  assert.equal(s.ipBadChecksum, 1);
  assert.equal(s.udpBad, 1);
  assert.equal(s.ipFragmentsDropped, 1);
  assert.equal(s.ipNotForUs, 1);
  assert.equal(s.tcpBad, 1);
  assert.equal(s.tcpResetsSent, 0);
  assert.deepEqual(
    drops.map((d) => (d.type === 'drop' ? d.reason : d.type)),
    ['malformed', 'checksum', 'checksum', 'other', 'checksum'],
  );
  assert.ok(drops.every((d) => d.type === 'drop' && d.host === 'b'));
});

test('routes: longest prefix wins, default routes reach other networks, no route is ENETUNREACH', () => {
  const clock = new VirtualClock();
  const [l1, r1] = createMemoryPair({ clock });
  const [l2, r2] = createMemoryPair({ clock });
  const host = new Stack({ name: 'h', clock, random: seededRandom(1) });
  host.addInterface(l1, { addresses: ['198.18.0.1/24'], name: 'lan' });
  host.addInterface(l2, { addresses: ['198.18.1.1/24'], name: 'wan' });
  host.addRoute('0.0.0.0/0', { via: '198.18.1.254' });
  host.addRoute('198.19.0.0/16', { iface: 'lan' });
  const out: string[] = [];
  r1.onReceive = () => out.push('lan');
  r2.onReceive = () => out.push('wan');
  const s = host.udpBind();
  s.send('a', 1, '198.18.0.9');
  s.send('b', 1, '203.0.113.1');
  s.send('c', 1, '198.19.5.5');
  clock.runUntilIdle();
  assert.deepEqual(out, ['lan', 'wan', 'lan']);
  assert.throws(() => host.tcpConnect({ address: '2001:db8::9', port: 80 }), { code: 'ENETUNREACH' });
  assert.throws(() => host.addRoute('10.0.0.0/8', { via: '192.0.2.1' }), { code: 'ENETUNREACH' });
  assert.match(host.routes.format(), /0\.0\.0\.0\/0 via 198\.18\.1\.254 dev wan/);
  host.close();
});

test('an echo request with a bad checksum is counted and not answered', () => {
  const { clock, a, b, links } = twoStacks();
  const req = buildIcmpPacket(ip(A4), ip(B4), { kind: 'echo-request', id: 1, seq: 1, data: new Uint8Array(4) });
  req[req.length - 1] = req[req.length - 1]! ^ 0x55;
  const seenByA: Uint8Array[] = [];
  const tapped = tapLink(links[0], (dir, d) => dir === 'in' && seenByA.push(d));
  tapped.onReceive = () => {};
  tapped.send(req);
  clock.runUntilIdle();
  assert.equal(b.stats().icmpBad, 1);
  assert.equal(seenByA.length, 0);
  void a;
});

test('TCP packets that miss the fast IPv4 path are still judged and counted like any other', () => {
  const { clock, b, links } = twoStacks();
  const drops: string[] = [];
  b.on('trace', (e) => drops.push(e.type === 'drop' ? e.reason : e.type));
  const syn = { srcPort: 1, dstPort: 9, seq: 1, ack: 0, flags: 2, window: 100, urgent: 0, options: {}, payload: new Uint8Array(0) };
  const refix = (p: Uint8Array): Uint8Array => {
    p[10] = 0;
    p[11] = 0;
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    p[10] = (~sum >> 8) & 0xff;
    p[11] = ~sum & 0xff;
    return p;
  };
  const badIpSum = buildTcpPacket(ip(A4), ip(B4), syn);
  badIpSum[8] = 7; // TTL changed, header checksum left stale
  const frag = buildTcpPacket(ip(A4), ip(B4), syn);
  frag[6] = 0x20; // More Fragments
  refix(frag);
  const elsewhere = buildTcpPacket(ip(A4), ip('198.18.0.3'), syn);
  const shortTcp = buildTcpPacket(ip(A4), ip(B4), syn).slice(0, 30);
  shortTcp[3] = 30; // total length 30: a truncated TCP header
  refix(shortTcp);
  const broadcast = buildTcpPacket(ip('255.255.255.255'), ip(B4), syn);
  const good = buildTcpPacket(ip(A4), ip(B4), syn); // no listener on port 9: answered with RST
  for (const p of [badIpSum, frag, elsewhere, shortTcp, broadcast, good]) links[0].send(p);
  clock.runUntilIdle();
  const s = b.stats();
  assert.equal(s.ipBadChecksum, 1);
  assert.equal(s.ipFragmentsDropped, 1);
  assert.equal(s.ipNotForUs, 1);
  assert.equal(s.tcpBad, 2); // truncated header, broadcast source
  assert.equal(s.tcpNoListener, 1);
  assert.equal(s.tcpResetsSent, 1);
  assert.deepEqual(drops, ['checksum', 'other', 'malformed', 'other', 'no-listener']);
});
