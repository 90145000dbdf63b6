// Ethernet frames in pcaps: a capture of two synack stacks talking over Ethernet (ARP, DAD, NS/NA,
// ping, TCP on both families) written with link type 1 reads back through synack's own reader, and
// tshark (the outside oracle, when installed) dissects every frame with no malformed packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from '../../src/stack/stack.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { pcapTap } from '../../src/link/tap.js';
import { LinkType, PcapStreamReader, PcapWriter } from '../../src/wire/pcap.js';
import { addEthernetInterface } from '../../src/ethernet/index.js';
import { missingTool } from '../helpers/netns.js';

function capture(): Uint8Array {
  const clock = new VirtualClock();
  const [la, lb] = createMemoryPair({ clock, mtu: 1514, latency: 1 });
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(c), { linkType: LinkType.ETHERNET });
  const a = new Stack({ name: 'a', clock, random: seededRandom(3) });
  const b = new Stack({ name: 'b', clock, random: seededRandom(4) });
  // Only a's side is captured, as a tap on one host would: both directions of its frames.
  addEthernetInterface(a, pcapTap(la, writer, clock), { addresses: ['198.18.0.1/24', '2001:db8::1/64'], mac: '02:00:00:00:00:0a', mtu: 1500 });
  addEthernetInterface(b, lb, { addresses: ['198.18.0.2/24', '2001:db8::2/64'], mac: '02:00:00:00:00:0b', mtu: 1500 });
  clock.runUntil(1_500);
  void a.ping('198.18.0.2');
  void a.ping('2001:db8::2');
  b.tcpListen({ port: 80 }, (c) => {
    c.hooks.onReadable = () => {
      const d = c.recv();
      if (d) c.send(d);
    };
  });
  for (const dst of ['198.18.0.2', '2001:db8::2']) {
    const c = a.tcpConnect({ address: dst, port: 80 });
    c.hooks.onConnected = () => {
      c.send(new Uint8Array(5000).fill(0x61));
      c.close();
    };
  }
  clock.runUntil(5_000);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

test('an Ethernet capture reads back: IP packets out, ARP frames skipped and counted', () => {
  const file = capture();
  const reader = new PcapStreamReader();
  const records = reader.push(file);
  assert.equal(reader.linkType, LinkType.ETHERNET);
  assert.ok(records.length > 20, `${records.length} IP packets`);
  assert.ok(records.every((r) => r.data[0]! >>> 4 === 4 || r.data[0]! >>> 4 === 6));
  assert.ok(reader.skipped >= 3, `ARP frames skipped: ${reader.skipped}`);
});

const tshark = missingTool('tshark');

test('tshark dissects every frame of the capture with no malformed packet', { skip: tshark ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-eth-pcap-'));
  try {
    const path = join(dir, 'eth.pcap');
    writeFileSync(path, capture());
    const lines = (filter: string): string[] =>
      execFileSync('tshark', ['-n', '-r', path, '-Y', filter], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')
        .filter((l) => l.trim() !== '');
    assert.ok(lines('frame').length > 25);
    assert.deepEqual(lines('_ws.malformed || _ws.expert.severity >= "error"'), []);
    assert.equal(lines('arp.opcode == 1 && arp.isgratuitous').length, 2, 'a gratuitous ARP from each host on address add');
    assert.equal(lines('arp.opcode == 2 && eth.src == 02:00:00:00:00:0b').length, 1, "b's ARP reply");
    assert.equal(lines('icmpv6.type == 135 && ipv6.src == ::').length, 2, 'DAD probes from both hosts');
    assert.ok(lines('icmpv6.type == 136 && icmpv6.nd.na.flag.s == 1').length >= 1, 'a solicited NA');
    assert.equal(lines('icmp.type == 0').length, 1, 'echo reply over IPv4');
    assert.equal(lines('icmpv6.type == 129').length, 1, 'echo reply over IPv6');
    assert.equal(lines('tcp.flags.syn == 1 && tcp.flags.ack == 1').length, 2, 'a SYN-ACK per family');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
