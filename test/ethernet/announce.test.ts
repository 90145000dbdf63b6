// Addresses coming up on an Ethernet interface, checked frame by frame: an address added after the
// interface is up is announced with a gratuitous ARP (RFC 5227 3, an RFC 826 request for our own
// address), and an IPv6 address under duplicate address detection is tentative (RFC 4862 5.4):
// nothing leaves from it, nothing addressed to it is taken in, and connect() cannot use it until
// DAD has waited RetransTimer without an answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from '../../src/stack/stack.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { tapLink } from '../../src/link/tap.js';
import { addEthernetInterface } from '../../src/ethernet/index.js';
import { buildFrame, EtherType, parseMac } from '../../src/ethernet/frame.js';
import { buildUdpPacket } from '../../src/wire/packet.js';
import { parseIp } from '../../src/wire/address.js';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function pair(addrA: string[], dadA: boolean) {
  const clock = new VirtualClock();
  const [la, lb] = createMemoryPair({ clock, mtu: 1514, latency: 1 });
  const out: Uint8Array[] = [];
  const tapped = tapLink(la, (dir, f) => {
    if (dir === 'out') out.push(f.slice());
  });
  const a = new Stack({ name: 'a', clock, random: seededRandom(1) });
  const b = new Stack({ name: 'b', clock, random: seededRandom(2) });
  const A = addEthernetInterface(a, tapped, { addresses: addrA, mac: MAC_A, mtu: 1500, dad: dadA });
  const B = addEthernetInterface(b, lb, { addresses: ['198.18.0.2/24', '2001:db8::2/64'], mac: MAC_B, mtu: 1500, dad: false });
  return { clock, a, b, A, B, out, lb };
}

test('an IPv4 address added after the interface is up is announced with one gratuitous ARP, byte for byte', async () => {
  const w = pair(['198.18.0.1/24'], false);
  w.clock.runUntil(10);
  // The address the interface came up with was announced when it came up.
  assert.equal(w.out.length, 1);
  assert.equal(hex(w.out[0]!).slice(0, 84), 'ffffffffffff02000000000a0806000108000604000102000000000ac6120001000000000000c6120001');
  w.out.length = 0;
  w.a.addAddress(w.A.iface, '198.18.0.9/24');
  w.clock.runUntil(20);
  assert.equal(w.out.length, 1, 'exactly one frame: the announcement');
  // Broadcast, EtherType ARP; htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request); sender = our MAC
  // and the new address; target MAC zero and target IP = the new address (RFC 5227 2.3 and 3);
  // padded to Ethernet's 60-byte minimum.
  const want =
    'ffffffffffff' + '02000000000a' + '0806' +
    '0001' + '0800' + '06' + '04' + '0001' +
    '02000000000a' + 'c6120009' +
    '000000000000' + 'c6120009' +
    '00'.repeat(18);
  assert.equal(hex(w.out[0]!), want);
  // The new address is in use at once: the peer reaches it.
  let got = '';
  const sock = w.a.udpBind({ address: '198.18.0.9', port: 9 });
  sock.on('message', (d: Uint8Array) => (got = new TextDecoder().decode(d)));
  w.b.udpBind({ port: 1000 }).send(new TextEncoder().encode('hello'), 9, '198.18.0.9');
  w.clock.runUntil(100);
  await new Promise((r) => setImmediate(r));
  assert.equal(got, 'hello');
  assert.throws(() => w.a.addAddress(w.A.iface, '198.18.0.9/24'), /already assigned/);
  assert.throws(() => w.a.addAddress('nope', '198.18.0.10/24'), /no interface nope/);
});

test('a tentative IPv6 address sources nothing and takes nothing in until DAD is done (RFC 4862 5.4)', async () => {
  const w = pair(['198.18.0.1/24', '2001:db8::1/64'], true);
  w.clock.runUntil(10);
  // Coming up: the gratuitous ARP for the IPv4 address, then DAD's one NS from :: to the
  // solicited-node group of the tentative address, with no link-layer address option (5.4.2).
  assert.equal(w.out.length, 2);
  const ns = hex(w.out[1]!);
  assert.equal(
    ns.slice(0, 108),
    '3333ff000001' + '02000000000a' + '86dd' +
      '60000000' + '0018' + '3a' + 'ff' + '00'.repeat(16) + 'ff0200000000000000000001ff000001',
  );
  assert.equal(ns.slice(108, 112), '8700', 'ICMPv6 type 135 (NS), code 0');
  assert.equal(ns.slice(116), '00000000' + '20010db8000000000000000000000001', 'reserved, then the target: the tentative address');
  assert.equal(ns.length, 78 * 2, 'no option: a DAD probe carries no source link-layer address');
  w.out.length = 0;

  // While tentative: connect() has no IPv6 source to use, and may not name the tentative one.
  assert.ok(w.A.eth.isTentative(parseIp('2001:db8::1')!));
  assert.throws(() => w.a.tcpConnect({ address: '2001:db8::2', port: 7 }), { code: 'EADDRNOTAVAIL' });
  assert.throws(() => w.a.tcpConnect({ address: '2001:db8::2', port: 7, localAddress: '2001:db8::1' }), { code: 'EADDRNOTAVAIL' });
  // A datagram sent from it explicitly is dropped before the wire.
  w.a.udpBind({ address: '2001:db8::1', port: 5 }).send(new Uint8Array([1, 2, 3]), 9, '2001:db8::2');
  // And one addressed to it is discarded on the way in (5.4: "silently discarded").
  let received = 0;
  w.a.udpBind({ port: 9 }).on('message', () => received++);
  const udp = buildUdpPacket(parseIp('2001:db8::2')!, parseIp('2001:db8::1')!, { srcPort: 1000, dstPort: 9, payload: new Uint8Array([7]) });
  w.lb.send(buildFrame(parseMac(MAC_A)!, parseMac(MAC_B)!, EtherType.IPV6, udp));
  // IPv4 is unaffected meanwhile.
  const v4 = w.a.tcpConnect({ address: '198.18.0.2', port: 7 });
  w.clock.runUntil(500);
  await new Promise((r) => setImmediate(r));
  assert.equal(received, 0);
  assert.equal(w.A.eth.stats.tentativeDrops, 2, 'one packet out, one in');
  const fromTentative = w.out.filter((f) => hex(f.subarray(12, 14)) === '86dd' && hex(f.subarray(22, 38)) === '20010db8000000000000000000000001');
  assert.deepEqual(fromTentative, [], 'no frame left with the tentative address as its source');
  assert.ok(w.out.some((f) => hex(f.subarray(12, 14)) === '0800'), 'the IPv4 connection went out');
  v4.abort();

  // RetransTimer (1 s) passes with no answer: the address is ours. It is advertised (an unsolicited
  // NA to all-nodes, RFC 4862 5.4.6 / RFC 4861 7.2.6), and now sources a connection.
  w.out.length = 0;
  w.clock.runUntil(1_100);
  assert.equal(w.A.eth.isTentative(parseIp('2001:db8::1')!), false);
  const na = w.out.find((f) => hex(f.subarray(12, 14)) === '86dd' && f[54] === 136);
  assert.ok(na !== undefined, 'an NA follows DAD');
  assert.equal(hex(na.subarray(0, 6)), '333300000001', 'to all-nodes');
  assert.equal(hex(na.subarray(22, 38)), '20010db8000000000000000000000001', 'from the address itself');
  w.b.tcpListen({ port: 7 }, () => undefined);
  const c = w.a.tcpConnect({ address: '2001:db8::2', port: 7 });
  w.clock.runUntil(1_500);
  assert.equal(c.state, 'ESTABLISHED');
  assert.equal(w.a.connectionInfo(c)?.localAddress, '2001:db8::1');
});
