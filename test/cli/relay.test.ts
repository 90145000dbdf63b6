// The relay's policy and its WebSocket server without a TUN device: clients (Node's `ws`, an
// independent RFC 6455 implementation) get pool addresses, packets with their own source reach the
// device and answers come back, spoofed sources, loopback/multicast destinations, bursts over the
// rate and oversized messages are refused, fragmented messages are reassembled, a full pool says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { acceptWebSocket } from '../../src/cli/websocket.js';
import { RelayHub, admission, CLOSE_FORBIDDEN_ORIGIN, CLOSE_UNAUTHORIZED } from '../../src/cli/relay-hub.js';
import { buildNdp, NdpType, solicitedNode } from '../../src/ethernet/ndp.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { buildIcmpPacket } from '../../src/wire/packet.js';
import { parseIp, formatIp } from '../../src/wire/address.js';

const echo = (src: string, dst: string, size = 8): Uint8Array =>
  buildIcmpPacket(parseIp(src)!, parseIp(dst)!, { kind: 'echo-request', id: 1, seq: 1, data: new Uint8Array(size) });

async function setup(opts: { rate?: number; burst?: number; last?: string; mode?: 'ip' | 'ethernet'; peer6?: string } = {}) {
  const [dev, kernel] = createMemoryPair({ mtu: 1500 });
  const hub = new RelayHub(dev, {
    mode: opts.mode ?? 'ip', first: '198.18.0.10', last: opts.last ?? '198.18.0.11', prefix: 24, gateway: '198.18.0.1', mtu: 1500,
    rate: opts.rate ?? 1000, burst: opts.burst ?? 100, maxBuffered: 1 << 20, ...(opts.peer6 !== undefined ? { peer6: opts.peer6 } : {}),
  });
  const atKernel: Uint8Array[] = [];
  kernel.onReceive = (p) => void atKernel.push(p.slice());
  const server = http.createServer();
  server.on('upgrade', (req, socket) => {
    const peer = acceptWebSocket(req, socket, { maxMessage: 1500, maxBuffered: 1 << 20 });
    if (peer !== null) hub.attach(peer);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const client = () =>
    new Promise<{ ws: WebSocket; hello: { address: string; prefix: number; gateway: string; mtu: number }; got: Uint8Array[]; closed: Promise<number> }>((resolve, reject) => {
      const ws = new WebSocket(url);
      const got: Uint8Array[] = [];
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.once('error', reject);
      ws.on('message', (d, bin) => {
        if (bin) got.push(new Uint8Array(d as Buffer));
        else resolve({ ws, hello: JSON.parse(String(d)), got, closed });
      });
      ws.once('close', (code) => reject(new Error(`closed ${code}`)));
    });
  const settle = () => new Promise((r) => setTimeout(r, 50));
  return { hub, kernel, atKernel, server, client, settle, url };
}

test('relay: addresses from the pool, own-source packets through, answers routed back, spoofing and martians refused', async () => {
  const s = await setup();
  try {
    const a = await s.client();
    const b = await s.client();
    assert.deepEqual(a.hello, { relay: 'synack', mode: 'ip', address: '198.18.0.10', prefix: 24, gateway: '198.18.0.1', mtu: 1500 });
    assert.equal(b.hello.address, '198.18.0.11');
    a.ws.send(echo('198.18.0.10', '198.18.0.1'));
    b.ws.send(echo('198.18.0.10', '198.18.0.1')); // B pretends to be A
    b.ws.send(echo('198.18.0.11', '127.0.0.1')); // the relay host's loopback
    b.ws.send(echo('198.18.0.11', '224.0.0.1'));
    b.ws.send(new Uint8Array([0x60, 0, 0, 0])); // not IPv4
    await s.settle();
    assert.equal(s.atKernel.length, 1);
    assert.equal(formatIp(s.atKernel[0]!.subarray(12, 16)), '198.18.0.10');
    assert.equal(s.hub.stats.spoofed, 1);
    assert.equal(s.hub.stats.refused, 3);
    // The kernel answers each client: the answer goes only to the client with that address.
    s.kernel.send(echo('198.18.0.1', '198.18.0.11'));
    s.kernel.send(echo('198.18.0.1', '198.18.0.99'));
    await s.settle();
    assert.equal(b.got.length, 1);
    assert.equal(a.got.length, 0);
    assert.equal(s.hub.stats.undeliverable, 1);
    // The pool has two addresses: a third client is told so.
    await assert.rejects(s.client(), /closed 1013/);
    // Fragmented message: reassembled into one packet.
    const pkt = echo('198.18.0.10', '198.18.0.1', 100);
    a.ws.send(pkt.subarray(0, 50), { fin: false, binary: true });
    a.ws.send(pkt.subarray(50), { fin: true, binary: true });
    await s.settle();
    assert.equal(s.atKernel.length, 2);
    assert.deepEqual(s.atKernel[1], pkt);
    // A message over the MTU closes the connection with 1009, and frees the address.
    a.ws.send(new Uint8Array(2000));
    assert.equal(await a.closed, 1009);
    await s.settle();
    assert.equal(s.hub.stats.clients, 1);
    const c = await s.client();
    assert.equal(c.hello.address, '198.18.0.10');
    b.ws.close();
    c.ws.close();
  } finally {
    s.hub.close();
    s.server.close();
  }
});

test('relay: a client over its packet rate has the excess dropped', async () => {
  const s = await setup({ rate: 10, burst: 5 });
  try {
    const a = await s.client();
    for (let i = 0; i < 20; i++) a.ws.send(echo('198.18.0.10', '198.18.0.1'));
    await s.settle();
    assert.ok(s.atKernel.length >= 5 && s.atKernel.length <= 7, `${s.atKernel.length} through`);
    assert.equal(s.hub.stats.rateLimited, 20 - s.atKernel.length);
    a.ws.close();
  } finally {
    s.hub.close();
    s.server.close();
  }
});

test('the WebSocket server answers a plain HTTP request with 400 and no upgrade', async () => {
  const s = await setup();
  try {
    const port = (s.server.address() as AddressInfo).port;
    const res = await new Promise<number>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, headers: { connection: 'upgrade', upgrade: 'websocket' } });
      req.on('upgrade', () => resolve(101));
      req.on('response', (r) => resolve(r.statusCode ?? 0));
      req.on('error', () => resolve(-1));
      req.end();
    });
    assert.equal(res, 400);
  } finally {
    s.hub.close();
    s.server.close();
  }
});

test('relay on a TAP device: each client has its MAC; frames with another source MAC or ARP sender are dropped; unicast and broadcast delivery', async () => {
  const s = await setup({ mode: 'ethernet' });
  try {
    const a = await s.client();
    const b = await s.client();
    assert.equal((a.hello as unknown as { mac: string }).mac, '02:53:c6:12:00:0a');
    const mac = (t: string): Uint8Array => new Uint8Array(t.split(':').map((x) => parseInt(x, 16)));
    const A = mac('02:53:c6:12:00:0a');
    const B = mac('02:53:c6:12:00:0b');
    const K = mac('02:00:00:00:00:01');
    const BC = mac('ff:ff:ff:ff:ff:ff');
    const frame = (dst: Uint8Array, src: Uint8Array, type: number, body: Uint8Array): Uint8Array => {
      const f = new Uint8Array(14 + body.length);
      f.set(dst, 0);
      f.set(src, 6);
      f[12] = type >> 8;
      f[13] = type & 255;
      f.set(body, 14);
      return f;
    };
    const arp = (senderMac: Uint8Array, senderIp: string, targetIp: string): Uint8Array => {
      const p = new Uint8Array(28);
      p.set([0, 1, 8, 0, 6, 4, 0, 1]);
      p.set(senderMac, 8);
      p.set(parseIp(senderIp)!, 14);
      p.set(parseIp(targetIp)!, 24);
      return p;
    };
    a.ws.send(frame(BC, A, 0x0806, arp(A, '198.18.0.10', '198.18.0.1'))); // honest: to the device and to B
    b.ws.send(frame(BC, A, 0x0806, arp(A, '198.18.0.10', '198.18.0.1'))); // B with A's source MAC
    b.ws.send(frame(BC, B, 0x0806, arp(B, '198.18.0.10', '198.18.0.1'))); // B claiming A's address
    b.ws.send(frame(K, B, 0x0800, echo('198.18.0.11', '127.0.0.1'))); // loopback
    b.ws.send(frame(K, B, 0x0800, echo('198.18.0.11', '198.18.0.1'))); // honest unicast to the device
    await s.settle();
    assert.equal(s.atKernel.length, 2);
    assert.equal(s.hub.stats.spoofed, 2);
    assert.equal(s.hub.stats.refused, 1);
    assert.equal(b.got.length, 1, "B saw A's broadcast ARP");
    s.kernel.send(frame(A, K, 0x0800, echo('198.18.0.1', '198.18.0.10')));
    s.kernel.send(frame(BC, K, 0x0806, arp(K, '198.18.0.1', '198.18.0.11')));
    await s.settle();
    assert.equal(a.got.length, 2, 'A: its unicast frame and the broadcast');
    assert.equal(b.got.length, 2, 'B: the broadcast only (plus A\'s ARP before)');
    a.ws.close();
    b.ws.close();
  } finally {
    s.hub.close();
    s.server.close();
  }
});

test('relay with --peer6: each client also gets an IPv6 address; own-source IPv6 through, spoofed and martian IPv6 refused, answers routed back', async () => {
  const s = await setup({ peer6: '2001:db8:5::1/64' });
  try {
    const a = await s.client();
    const b = await s.client();
    assert.deepEqual(a.hello, {
      relay: 'synack', mode: 'ip', address: '198.18.0.10', prefix: 24, gateway: '198.18.0.1', mtu: 1500,
      address6: '2001:db8:5::c612:a', prefix6: 64, gateway6: '2001:db8:5::1',
    });
    assert.equal((b.hello as unknown as { address6: string }).address6, '2001:db8:5::c612:b');
    a.ws.send(echo('2001:db8:5::c612:a', '2001:db8:5::1'));
    b.ws.send(echo('2001:db8:5::c612:a', '2001:db8:5::1')); // B with A's IPv6 address
    b.ws.send(echo('2001:db8:5::99', '2001:db8:5::1')); // an address nobody was given
    for (const dst of ['::1', '::', 'ff02::1', 'fe80::1', '::ffff:127.0.0.1']) b.ws.send(echo('2001:db8:5::c612:b', dst));
    b.ws.send(new Uint8Array([0x60, 0, 0, 0, 0, 200, 58, 64, ...new Uint8Array(32)])); // payload length beyond the packet
    await s.settle();
    assert.equal(s.atKernel.length, 1);
    assert.equal(formatIp(s.atKernel[0]!.subarray(8, 24)), '2001:db8:5::c612:a');
    assert.equal(s.hub.stats.spoofed, 2);
    assert.equal(s.hub.stats.refused, 6);
    s.kernel.send(echo('2001:db8:5::1', '2001:db8:5::c612:b'));
    s.kernel.send(echo('2001:db8:5::1', '2001:db8:5::c612:77'));
    await s.settle();
    assert.equal(b.got.length, 1, 'the answer reached B');
    assert.equal(a.got.length, 0);
    assert.equal(s.hub.stats.undeliverable, 1);
    a.ws.close();
    b.ws.close();
  } finally {
    s.hub.close();
    s.server.close();
  }
});

test('relay --peer6 on TAP: neighbour discovery about its own address passes; an NA or DAD probe for another address is spoofing', async () => {
  const s = await setup({ mode: 'ethernet', peer6: '2001:db8:5::1/64' });
  try {
    const a = await s.client();
    const A = new Uint8Array([0x02, 0x53, 0xc6, 0x12, 0x00, 0x0a]);
    const own = parseIp('2001:db8:5::c612:a')!;
    const other = parseIp('2001:db8:5::c612:b')!;
    const kernel6 = parseIp('2001:db8:5::1')!;
    const frame = (dst: Uint8Array, body: Uint8Array): Uint8Array => {
      const f = new Uint8Array(14 + body.length);
      f.set(dst, 0);
      f.set(A, 6);
      f.set([0x86, 0xdd], 12);
      f.set(body, 14);
      return f;
    };
    const mc = (ip: Uint8Array): Uint8Array => new Uint8Array([0x33, 0x33, ip[12]!, ip[13]!, ip[14]!, ip[15]!]);
    const unspecified = new Uint8Array(16);
    // DAD for its own address (from ::), resolving the kernel (from its address), its unsolicited NA: through.
    a.ws.send(frame(mc(solicitedNode(own)), buildNdp(unspecified, solicitedNode(own), { type: NdpType.NEIGHBOR_SOLICIT, flags: 0, target: own, lla: null })));
    a.ws.send(frame(mc(solicitedNode(kernel6)), buildNdp(own, solicitedNode(kernel6), { type: NdpType.NEIGHBOR_SOLICIT, flags: 0, target: kernel6, lla: A })));
    a.ws.send(frame(mc(parseIp('ff02::1')!), buildNdp(own, parseIp('ff02::1')!, { type: NdpType.NEIGHBOR_ADVERT, flags: 0x20, target: own, lla: A })));
    await s.settle();
    assert.equal(s.atKernel.length, 3);
    // A DAD probe for B's address, and an NA claiming the kernel's: dropped.
    a.ws.send(frame(mc(solicitedNode(other)), buildNdp(unspecified, solicitedNode(other), { type: NdpType.NEIGHBOR_SOLICIT, flags: 0, target: other, lla: null })));
    a.ws.send(frame(mc(parseIp('ff02::1')!), buildNdp(own, parseIp('ff02::1')!, { type: NdpType.NEIGHBOR_ADVERT, flags: 0x20, target: kernel6, lla: A })));
    // Multicast beyond neighbour discovery: refused.
    a.ws.send(frame(mc(parseIp('ff02::1')!), echo('2001:db8:5::c612:a', 'ff02::1')));
    await s.settle();
    assert.equal(s.atKernel.length, 3);
    assert.equal(s.hub.stats.spoofed, 2);
    assert.equal(s.hub.stats.refused, 1);
    a.ws.close();
  } finally {
    s.hub.close();
    s.server.close();
  }
});

test('relay admission: a token (constant-time compare) and allowed origins, refused with 4401 and 4403', () => {
  assert.equal(admission('/', undefined, {}), null, 'no policy: everyone');
  const token = { token: 's3cret-token' };
  assert.deepEqual(admission('/', undefined, token), { code: CLOSE_UNAUTHORIZED, reason: 'token required' });
  assert.deepEqual(admission('/?token=s3cret-tokeX', undefined, token), { code: CLOSE_UNAUTHORIZED, reason: 'wrong token' });
  assert.deepEqual(admission('/?token=short', undefined, token), { code: CLOSE_UNAUTHORIZED, reason: 'wrong token' });
  assert.equal(admission('/?a=1&token=s3cret-token', undefined, token), null);
  const origins = { origins: ['http://127.0.0.1:8080', 'https://lab.example'] };
  assert.equal(admission('/', 'https://lab.example', origins), null);
  assert.deepEqual(admission('/', 'https://evil.example', origins), { code: CLOSE_FORBIDDEN_ORIGIN, reason: 'origin https://evil.example is not allowed' });
  assert.deepEqual(admission('/', undefined, origins), { code: CLOSE_FORBIDDEN_ORIGIN, reason: 'origin (none) is not allowed' });
  // Both: the origin is checked first, then the token.
  assert.equal(admission('/?token=s3cret-token', 'https://lab.example', { ...token, ...origins }), null);
  assert.equal(admission('/?token=nope', 'https://lab.example', { ...token, ...origins })?.code, CLOSE_UNAUTHORIZED);
});
