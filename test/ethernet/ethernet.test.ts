// Two stacks on Ethernet interfaces over an in-memory frame link: ARP and neighbour discovery
// resolve each other (RFC 826, RFC 4861 7), TCP runs over the result on IPv4 and IPv6, the cache
// ages (REACHABLE -> STALE -> DELAY -> PROBE) and re-resolves, unanswered resolution drops its
// bounded queue, DAD finds a duplicate (RFC 4862 5.4), and bad frames are counted and ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from '../../src/stack/stack.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { createMemoryPair, type MemoryLink } from '../../src/link/memory.js';
import { tapLink } from '../../src/link/tap.js';
import { addEthernetInterface, EthernetInterface } from '../../src/ethernet/index.js';
import { formatFrame } from '../../src/ethernet/format.js';
import { parseEthernet, buildFrame, EtherType, parseMac, formatMac, BROADCAST_MAC } from '../../src/ethernet/frame.js';
import { emitArp, ArpOp, parseArp } from '../../src/ethernet/arp.js';
import { parseIp } from '../../src/wire/address.js';
import type { NeighbourEvent } from '../../src/trace/events.js';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';

interface World {
  clock: VirtualClock;
  a: Stack;
  b: Stack;
  ethA: EthernetInterface;
  ethB: EthernetInterface;
  /** Every frame that crossed the wire, formatted, in order. */
  wire: string[];
  linkA: MemoryLink;
}

function world(opts: { timings?: Record<string, number>; dad?: boolean } = {}): World {
  const clock = new VirtualClock();
  const [la, lb] = createMemoryPair({ clock, mtu: 1514, latency: 1 });
  const wire: string[] = [];
  const tappedA = tapLink(la, (dir, f) => {
    if (dir === 'out') wire.push(formatFrame(f));
  });
  const tappedB = tapLink(lb, (dir, f) => {
    if (dir === 'out') wire.push(formatFrame(f));
  });
  const a = new Stack({ name: 'a', clock, random: seededRandom(1) });
  const b = new Stack({ name: 'b', clock, random: seededRandom(2) });
  const common = { mtu: 1500, dad: opts.dad ?? true, ...(opts.timings ? { timings: opts.timings } : {}) };
  const { eth: ethA } = addEthernetInterface(a, tappedA, { addresses: ['198.18.0.1/24', '2001:db8::1/64'], mac: MAC_A, ...common });
  const { eth: ethB } = addEthernetInterface(b, tappedB, { addresses: ['198.18.0.2/24', '2001:db8::2/64'], mac: MAC_B, ...common });
  return { clock, a, b, ethA, ethB, wire, linkA: la };
}

/** Echo server on b:7, one client on a sending `bytes`; resolves with what came back. */
function echo(w: World, dst: string, bytes: number): Uint8Array {
  w.b.tcpListen({ port: 7 }, (c) => {
    c.hooks.onReadable = () => {
      const d = c.recv();
      if (d) c.send(d);
    };
  });
  const sent = new Uint8Array(bytes).map((_, i) => i * 7);
  const got: Uint8Array[] = [];
  const c = w.a.tcpConnect({ address: dst, port: 7 });
  c.hooks.onConnected = () => {
    c.send(sent);
    c.close();
  };
  c.hooks.onReadable = () => {
    const d = c.recv();
    if (d) got.push(d);
  };
  w.clock.runUntil(w.clock.now() + 5_000);
  const out = new Uint8Array(got.reduce((n, d) => n + d.length, 0));
  let at = 0;
  for (const d of got) {
    out.set(d, at);
    at += d.length;
  }
  assert.deepEqual(out, sent);
  return out;
}

test('a stack announces its IPv4 address with gratuitous ARP and its IPv6 address after DAD', () => {
  const w = world();
  assert.ok(w.ethA.isTentative(parseIp('2001:db8::1')!), 'tentative during DAD');
  w.clock.runUntil(2_000);
  assert.equal(w.ethA.isTentative(parseIp('2001:db8::1')!), false);
  const fromA = w.wire.filter((l) => l.startsWith(MAC_A));
  assert.deepEqual(fromA, [
    `${MAC_A} > ff:ff:ff:ff:ff:ff, ARP, Announcement 198.18.0.1 is-at ${MAC_A}`,
    `${MAC_A} > 33:33:ff:00:00:01, ICMP6, neighbor solicitation, who has 2001:db8::1 (DAD)`,
    `${MAC_A} > 33:33:00:00:00:01, ICMP6, neighbor advertisement, tgt is 2001:db8::1, Flags [override], target link-address ${MAC_A}`,
  ]);
});

test('TCP over Ethernet: ARP resolves the peer once, then data flows (IPv4)', () => {
  const w = world();
  w.clock.runUntil(2_000);
  w.wire.length = 0;
  echo(w, '198.18.0.2', 100_000);
  const arp = w.wire.filter((l) => l.includes('ARP'));
  assert.deepEqual(arp, [
    `${MAC_A} > ff:ff:ff:ff:ff:ff, ARP, Request who-has 198.18.0.2 tell 198.18.0.1`,
    `${MAC_B} > ${MAC_A}, ARP, Reply 198.18.0.2 is-at ${MAC_B}`,
  ]);
  // b learnt a from the request (RFC 826 merge) and never had to ask.
  const entryB = w.ethB.neighbours().find((e) => e.mac !== null && formatMac(e.mac) === MAC_A);
  assert.ok(entryB);
  assert.ok(w.wire.filter((l) => l.includes('198.18.0.1.') && l.startsWith(MAC_A)).length > 10);
});

test('TCP over Ethernet: neighbour solicitation resolves the peer (IPv6)', () => {
  const w = world();
  w.clock.runUntil(2_000);
  w.wire.length = 0;
  echo(w, '2001:db8::2', 50_000);
  const nd = w.wire.filter((l) => l.includes('neighbor'));
  assert.equal(nd[0], `${MAC_A} > 33:33:ff:00:00:02, ICMP6, neighbor solicitation, who has 2001:db8::2, source link-address ${MAC_A}`);
  assert.equal(nd[1], `${MAC_B} > ${MAC_A}, ICMP6, neighbor advertisement, tgt is 2001:db8::2, Flags [solicited, override], target link-address ${MAC_B}`);
});

test('the cache expires: REACHABLE turns STALE, use leads to DELAY and a unicast probe, the reply confirms it', () => {
  const timings = { reachableMs: 1_000, delayMs: 500, retransMs: 100 };
  const w = world({ timings, dad: false });
  const events: NeighbourEvent[] = [];
  w.a.on('trace', (e) => {
    if (e.type === 'neighbour' && e.dir === 'cache') events.push(e);
  });
  w.clock.runUntil(100); // past b's gratuitous ARP, which would update a's entry (RFC 826 merge)
  void w.a.ping('198.18.0.2');
  w.clock.runUntil(200);
  assert.equal(w.ethA.neighbours().find((e) => e.ip.length === 4)?.state, 'REACHABLE');
  w.clock.runUntil(5_000);
  assert.equal(w.ethA.neighbours().find((e) => e.ip.length === 4)?.state, 'STALE');
  w.wire.length = 0;
  void w.a.ping('198.18.0.2');
  w.clock.runUntil(6_000);
  // The ping went at once to the cached MAC; the probe went unicast after the DELAY.
  assert.ok(w.wire[0]?.startsWith(`${MAC_A} > ${MAC_B}, 198.18.0.1 > 198.18.0.2: ICMP echo request`), w.wire[0]);
  assert.ok(w.wire.includes(`${MAC_A} > ${MAC_B}, ARP, Request who-has 198.18.0.2 tell 198.18.0.1`), w.wire.join('\n'));
  assert.equal(w.ethA.neighbours().find((e) => e.ip.length === 4)?.state, 'REACHABLE');
  assert.deepEqual(
    events.map((e) => e.state),
    ['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'REACHABLE'],
  );
});

test('an unanswered neighbour: three broadcasts, then its bounded queue is dropped', () => {
  const w = world({ dad: false, timings: { queuePerNeighbour: 4 } });
  w.clock.runUntil(100);
  w.wire.length = 0;
  const sock = w.a.udpBind();
  for (let i = 0; i < 10; i++) sock.send(new Uint8Array(10), 9, '198.18.0.99');
  w.clock.runUntil(10_000);
  const asks = w.wire.filter((l) => l.includes('who-has 198.18.0.99'));
  assert.equal(asks.length, 3);
  // 6 pushed out of the 4-packet queue, then the 4 left when resolution failed.
  assert.equal(w.ethA.stats.unresolvedDrops, 10);
  assert.equal(w.wire.some((l) => l.includes('UDP')), false);
  assert.equal(w.ethA.neighbours().length, 0);
  sock.close();
});

test('DAD: a second node probing the same tentative address makes it a duplicate', () => {
  const clock = new VirtualClock();
  const [la, lb] = createMemoryPair({ clock, mtu: 1514, latency: 1 });
  const dup: string[] = [];
  const a = new EthernetInterface(la, { clock, mac: MAC_A, mtu: 1500, onDuplicate: (addr, mac) => dup.push(`${addr} ${mac}`) });
  const b = new EthernetInterface(lb, { clock, mac: MAC_B, mtu: 1500 });
  const same = [{ addr: parseIp('2001:db8::7')!, prefix: 64 }];
  a.bind({ addresses: same });
  b.bind({ addresses: same });
  clock.runUntil(3_000);
  assert.deepEqual(dup, [`2001:db8::7 ${MAC_B}`]);
  assert.ok(a.isTentative(same[0]!.addr));
  assert.ok(b.stats.conflicts >= 1);
});

test('bad and foreign frames are counted and ignored, never thrown', () => {
  const w = world({ dad: false });
  w.clock.runUntil(100);
  const before = w.ethB.stats.framesIgnored;
  const junk = [
    new Uint8Array(5),
    buildFrame(parseMac('02:00:00:00:00:99')!, parseMac(MAC_A)!, EtherType.IPV4, new Uint8Array(40)), // not for b
    buildFrame(BROADCAST_MAC, parseMac(MAC_A)!, 0x88cc, new Uint8Array(30)), // LLDP
    buildFrame(BROADCAST_MAC, parseMac(MAC_A)!, 0x0005, new Uint8Array(30)), // 802.3 length
  ];
  for (const f of junk) w.linkA.send(f);
  // A truncated ARP and one for another protocol type: bad neighbour messages.
  w.linkA.send(buildFrame(BROADCAST_MAC, parseMac(MAC_A)!, EtherType.ARP, new Uint8Array(10)));
  const arp = emitArp({ op: ArpOp.REQUEST, senderMac: parseMac(MAC_A)!, senderIp: parseIp('198.18.0.1')!, targetMac: new Uint8Array(6), targetIp: parseIp('198.18.0.2')! });
  arp[3] = 0x06; // ptype 0x0806
  w.linkA.send(buildFrame(BROADCAST_MAC, parseMac(MAC_A)!, EtherType.ARP, arp));
  w.clock.runUntil(200);
  assert.equal(w.ethB.stats.framesIgnored - before, 4);
  assert.equal(w.ethB.stats.badNeighbourMessages, 2);
  assert.equal(parseArp(arp).ok, false);
  assert.equal(parseEthernet(new Uint8Array(3)).ok, false);
});

test('EthernetInterface refuses group and malformed MAC addresses', () => {
  const clock = new VirtualClock();
  const [la] = createMemoryPair({ clock });
  assert.throws(() => new EthernetInterface(la, { clock, mac: '01:00:5e:00:00:01' }), /group address/);
  assert.throws(() => new EthernetInterface(la, { clock, mac: 'zz' }), /invalid MAC/);
  assert.throws(() => new EthernetInterface(la, { clock, gateway4: '2001:db8::1' }), /invalid IPv4 gateway/);
});
