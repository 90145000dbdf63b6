// The DHCPv4 server (RFC 2131): DISCOVER/OFFER/REQUEST/ACK with the subnet, router and lease
// options, one address per client, NAK for addresses it cannot give, RELEASE and DECLINE, expired
// leases reused, an exhausted pool answered with silence, and bad input ignored. Also end to end
// through an EthernetInterface: the OFFER leaves as a frame to the client's MAC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DhcpServer, DhcpType, parseDhcp } from '../../src/ethernet/dhcp.js';
import { EthernetInterface } from '../../src/ethernet/interface.js';
import { EtherType, buildFrame, formatMac, parseEthernet, parseMac, BROADCAST_MAC } from '../../src/ethernet/frame.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { parseIp, formatIp } from '../../src/wire/address.js';
import { buildUdpPacket } from '../../src/wire/packet.js';
import { parseIpPacket } from '../../src/wire/packet.js';
import { parseUdp } from '../../src/wire/udp.js';

/** A client message as busybox udhcpc would send it. */
function msg(type: number, mac: string, opts: { xid?: number; requested?: string; server?: string; ciaddr?: string; broadcast?: boolean } = {}): Uint8Array {
  const b = new Uint8Array(300);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  new DataView(b.buffer).setUint32(4, opts.xid ?? 0x1234);
  if (opts.broadcast) b[10] = 0x80;
  if (opts.ciaddr) b.set(parseIp(opts.ciaddr)!, 12);
  b.set(parseMac(mac)!, 28);
  new DataView(b.buffer).setUint32(236, 0x63825363);
  let at = 240;
  b.set([53, 1, type], at);
  at += 3;
  if (opts.requested) {
    b.set([50, 4, ...parseIp(opts.requested)!], at);
    at += 6;
  }
  if (opts.server) {
    b.set([54, 4, ...parseIp(opts.server)!], at);
    at += 6;
  }
  b[at] = 255;
  return b;
}

const server = (): DhcpServer => new DhcpServer({ serverIp: '198.18.0.1', prefix: 24, first: '198.18.0.100', last: '198.18.0.101', leaseSeconds: 60 });
const M1 = '52:54:00:00:00:01';
const M2 = '52:54:00:00:00:02';
const M3 = '52:54:00:00:00:03';

/** The reply's type, address and options as text. */
function read(r: ReturnType<DhcpServer['handle']>): { type: number; yiaddr: string; mask: string; router: string; lease: number; to: string } {
  assert.ok(r !== null);
  const p = parseDhcp(r.payload);
  assert.ok(p.ok);
  const b = r.payload;
  let mask = '';
  let router = '';
  let lease = 0;
  for (let at = 240; b[at] !== 255; at += 2 + b[at + 1]!) {
    const v = b.subarray(at + 2, at + 2 + b[at + 1]!);
    if (b[at] === 1) mask = formatIp(v);
    if (b[at] === 3) router = formatIp(v);
    if (b[at] === 51) lease = new DataView(v.buffer, v.byteOffset).getUint32(0);
  }
  return { type: b[242]!, yiaddr: formatIp(p.value.yiaddr), mask, router, lease, to: `${r.mac === null ? 'broadcast' : formatMac(r.mac)} ${formatIp(r.ip)}` };
}

test('DISCOVER -> OFFER, REQUEST -> ACK with mask, router and lease; the same client keeps its address', () => {
  const s = server();
  const offer = read(s.handle(msg(DhcpType.DISCOVER, M1), 0));
  assert.deepEqual(offer, { type: DhcpType.OFFER, yiaddr: '198.18.0.100', mask: '255.255.255.0', router: '198.18.0.1', lease: 60, to: `${M1} 198.18.0.100` });
  const ack = read(s.handle(msg(DhcpType.REQUEST, M1, { requested: '198.18.0.100', server: '198.18.0.1' }), 10));
  assert.equal(ack.type, DhcpType.ACK);
  assert.equal(ack.yiaddr, '198.18.0.100');
  assert.deepEqual(s.leases(10).map((l) => `${l.ip} ${l.mac} ${l.state}`), [`198.18.0.100 ${M1} bound`]);
  // A second DISCOVER from the same client is offered the same address; another client the next.
  assert.equal(read(s.handle(msg(DhcpType.DISCOVER, M1), 20)).yiaddr, '198.18.0.100');
  assert.equal(read(s.handle(msg(DhcpType.DISCOVER, M2, { broadcast: true }), 20)).to, 'broadcast 255.255.255.255');
  // Renewal from ciaddr.
  assert.equal(read(s.handle(msg(DhcpType.REQUEST, M1, { ciaddr: '198.18.0.100' }), 30_000)).type, DhcpType.ACK);
});

test('NAK for an address not ours to give, silence when the pool is exhausted, reuse after expiry', () => {
  const s = server();
  const nak = read(s.handle(msg(DhcpType.REQUEST, M1, { requested: '198.18.0.200' }), 0));
  assert.equal(nak.type, DhcpType.NAK);
  assert.equal(nak.to, 'broadcast 255.255.255.255');
  s.handle(msg(DhcpType.DISCOVER, M1), 0);
  s.handle(msg(DhcpType.REQUEST, M1, { requested: '198.18.0.100', server: '198.18.0.1' }), 0);
  s.handle(msg(DhcpType.DISCOVER, M2), 0);
  s.handle(msg(DhcpType.REQUEST, M2, { requested: '198.18.0.101', server: '198.18.0.1' }), 0);
  assert.equal(s.handle(msg(DhcpType.DISCOVER, M3), 1000), null, 'pool of two exhausted');
  // M1's 60 s lease runs out: M3 gets its address.
  assert.equal(read(s.handle(msg(DhcpType.DISCOVER, M3), 61_000)).yiaddr, '198.18.0.100');
});

test('RELEASE frees, DECLINE takes an address out of the pool, a REQUEST for another server drops the offer', () => {
  const s = server();
  s.handle(msg(DhcpType.DISCOVER, M1), 0);
  s.handle(msg(DhcpType.REQUEST, M1, { requested: '198.18.0.100', server: '198.18.0.1' }), 0);
  s.handle(msg(DhcpType.RELEASE, M1, { ciaddr: '198.18.0.100' }), 1);
  assert.deepEqual(s.leases(1), []);
  s.handle(msg(DhcpType.DECLINE, M1, { requested: '198.18.0.100', server: '198.18.0.1' }), 2);
  assert.equal(read(s.handle(msg(DhcpType.DISCOVER, M2), 3)).yiaddr, '198.18.0.101', 'the declined address is skipped');
  assert.equal(s.handle(msg(DhcpType.REQUEST, M2, { requested: '198.18.0.101', server: '198.18.0.9' }), 4), null);
  assert.deepEqual(s.leases(4), []);
});

test('bad input is ignored: short, BOOTP without the cookie, replies, unknown types', () => {
  const s = server();
  assert.equal(s.handle(new Uint8Array(100), 0), null);
  const bootp = msg(DhcpType.DISCOVER, M1);
  bootp[236] = 0;
  assert.equal(s.handle(bootp, 0), null);
  const reply = msg(DhcpType.DISCOVER, M1);
  reply[0] = 2;
  assert.equal(s.handle(reply, 0), null);
  assert.equal(s.handle(msg(99, M1), 0), null);
  const runaway = msg(DhcpType.DISCOVER, M1);
  runaway.set([12, 200], 243); // a hostname option longer than the message
  assert.equal(s.handle(runaway, 0), null);
  assert.throws(() => new DhcpServer({ serverIp: '198.18.0.1', prefix: 24, first: '198.18.1.1', last: '198.18.1.9' }), /not inside/);
});

test('through an EthernetInterface: a broadcast DISCOVER gets an OFFER frame to the client MAC, not to the stack', () => {
  const clock = new VirtualClock();
  const [la, lb] = createMemoryPair({ clock, mtu: 1514 });
  const eth = new EthernetInterface(la, { clock, mac: '02:00:00:00:00:01', mtu: 1500, dhcp: server() });
  eth.bind({ addresses: [{ addr: parseIp('198.18.0.1')!, prefix: 24 }] });
  let toStack = 0;
  eth.onReceive = () => toStack++;
  const frames: Uint8Array[] = [];
  lb.onReceive = (f) => frames.push(f.slice());
  clock.runUntil(10);
  frames.length = 0;
  const discover = buildUdpPacket(parseIp('0.0.0.0')!, parseIp('255.255.255.255')!, { srcPort: 68, dstPort: 67, payload: msg(DhcpType.DISCOVER, M1) });
  lb.send(buildFrame(BROADCAST_MAC, parseMac(M1)!, EtherType.IPV4, discover));
  clock.runUntil(20);
  assert.equal(toStack, 0);
  assert.equal(frames.length, 1);
  const f = parseEthernet(frames[0]!);
  assert.ok(f.ok);
  assert.equal(formatMac(f.value.dst), M1);
  const ip = parseIpPacket(f.value.payload);
  assert.ok(ip.ok);
  assert.equal(formatIp(ip.value.dst), '198.18.0.100');
  const udp = parseUdp(ip.value.payload, { src: ip.value.src, dst: ip.value.dst });
  assert.ok(udp.ok);
  assert.equal(udp.value.srcPort, 67);
  assert.equal(udp.value.dstPort, 68);
  assert.equal(udp.value.payload[242], DhcpType.OFFER);
});
