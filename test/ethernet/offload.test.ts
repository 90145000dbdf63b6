// An EthernetInterface over a frame link with offloads (a TAP device with IFF_VNET_HDR): the Stack's
// offloaded TCP packets leave through the frame link's sendTcpOffload with their gsoSize, also when
// they first wait for ARP to resolve the next hop; everything else leaves through send(); the frame
// link's RX_* flags reach the Stack with each packet; a frame link without offloads offers none;
// packets the Stack gives away and frames a recycling frame link takes are reused, not reallocated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { EthernetInterface } from '../../src/ethernet/index.js';
import { EtherType, buildFrame, parseEthernet, parseMac } from '../../src/ethernet/frame.js';
import { ArpOp, emitArp, parseArp } from '../../src/ethernet/arp.js';
import { parseIp } from '../../src/wire/address.js';
import { RX_CSUM_VERIFIED, type Link } from '../../src/link/link.js';
import { recyclePacket, takePacket } from '../../src/wire/packet.js';

const OURS = parseMac('02:00:00:00:00:02')!;
const PEER = parseMac('02:00:00:00:00:01')!;
const OUR_IP = parseIp('198.18.0.2')!;
const PEER_IP = parseIp('198.18.0.1')!;

interface Sent {
  frame: Uint8Array;
  /** gsoSize given to sendTcpOffload, or -1 for send(). */
  gso: number;
}

function frameLink(offload: boolean): Link & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    mtu: 1500,
    sent,
    offload: offload ? { tsoMax: 65535 } : null,
    send: (frame) => void sent.push({ frame, gso: -1 }),
    ...(offload ? { sendTcpOffload: (frame: Uint8Array, gso: number) => void sent.push({ frame, gso }) } : {}),
    onReceive: null,
    close: () => {},
  };
}

/** An IPv4 packet of `len` bytes to `dst` (only what the interface reads: version, length, addresses). */
function ipv4(dst: Uint8Array, len: number, fill: number): Uint8Array {
  const p = new Uint8Array(len).fill(fill);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[9] = 6;
  p.set(OUR_IP, 12);
  p.set(dst, 16);
  return p;
}

test('offloaded packets keep their gsoSize through ARP resolution; plain ones go through send()', () => {
  const clock = new VirtualClock();
  const frames = frameLink(true);
  const eth = new EthernetInterface(frames, { clock, mac: OURS, dad: false });
  eth.bind({ addresses: [{ addr: OUR_IP, prefix: 24 }] });
  assert.deepEqual(eth.offload, { tsoMax: 65535 }, 'the frame link\'s offloads are passed through to the Stack');
  frames.sent.length = 0; // the gratuitous ARP

  // A 64 KiB super-packet to a neighbour not yet resolved: it waits while ARP asks.
  const big = ipv4(PEER_IP, 65000, 0xab);
  eth.sendTcpOffload(big, 1448);
  assert.equal(frames.sent.length, 1);
  assert.equal(frames.sent[0]!.gso, -1, 'the ARP request is a plain frame');
  const ask = parseEthernet(frames.sent[0]!.frame);
  assert.ok(ask.ok && ask.value.etherType === EtherType.ARP);
  const req = parseArp(ask.value.payload);
  assert.ok(req.ok && req.value.op === ArpOp.REQUEST);

  // The reply resolves the neighbour and lets the queued super-packet go, with its gsoSize.
  const reply = emitArp({ op: ArpOp.REPLY, senderMac: PEER, senderIp: PEER_IP, targetMac: OURS, targetIp: OUR_IP });
  frames.onReceive!(buildFrame(OURS, PEER, EtherType.ARP, reply));
  assert.equal(frames.sent.length, 2);
  const out = frames.sent[1]!;
  assert.equal(out.gso, 1448, 'the super-packet leaves through sendTcpOffload with its gsoSize');
  const f = parseEthernet(out.frame);
  assert.ok(f.ok);
  assert.deepEqual([...f.value.dst], [...PEER]);
  assert.equal(f.value.etherType, EtherType.IPV4);
  assert.deepEqual(f.value.payload, big, 'the frame carries the packet as given');

  // Resolved: an offloaded packet (an ACK: gsoSize 0, partial checksum) leaves at once; a plain one through send().
  const ack = ipv4(PEER_IP, 52, 0x01);
  eth.sendTcpOffload(ack, 0);
  const plain = ipv4(PEER_IP, 60, 0x02);
  eth.send(plain);
  assert.deepEqual(frames.sent.slice(2).map((s) => s.gso), [0, -1]);
  assert.equal(frames.sent.length, 4);
});

test('the frame link\'s RX_* flags reach the Stack with the packet; a link without offloads offers none', () => {
  const clock = new VirtualClock();
  const frames = frameLink(true);
  const eth = new EthernetInterface(frames, { clock, mac: OURS, dad: false });
  eth.bind({ addresses: [{ addr: OUR_IP, prefix: 24 }] });
  const got: (number | undefined)[] = [];
  eth.onReceive = (_p, rx) => void got.push(rx);
  const pkt = ipv4(OUR_IP, 40, 0);
  frames.onReceive!(buildFrame(OURS, PEER, EtherType.IPV4, pkt), RX_CSUM_VERIFIED);
  frames.onReceive!(buildFrame(OURS, PEER, EtherType.IPV4, pkt));
  assert.deepEqual(got, [RX_CSUM_VERIFIED, undefined]);

  const plainEth = new EthernetInterface(frameLink(false), { clock, mac: OURS, dad: false });
  assert.equal(plainEth.offload, null);
  assert.throws(() => plainEth.sendTcpOffload(pkt, 0), /no offloads/);
});

test('owned packets go back to the allocator once framed; a recycling frame link gets frames from it', () => {
  const clock = new VirtualClock();
  const owned: Sent[] = [];
  // A frame link that takes frames it may recycle (a TAP link hands each back once written).
  const frames: Link & { sent: Sent[] } = {
    ...frameLink(true),
    sendOwned: (frame: Uint8Array) => void owned.push({ frame, gso: -1 }),
    sendTcpOffload: (frame: Uint8Array, gso: number, own?: boolean) => void (own === true ? owned : frames.sent).push({ frame, gso }),
  };
  const eth = new EthernetInterface(frames, { clock, mac: OURS, dad: false });
  eth.bind({ addresses: [{ addr: OUR_IP, prefix: 24 }] });
  const reply = emitArp({ op: ArpOp.REPLY, senderMac: PEER, senderIp: PEER_IP, targetMac: OURS, targetIp: OUR_IP });
  frames.onReceive!(buildFrame(OURS, PEER, EtherType.IPV4, new Uint8Array(0))); // nothing: not IP enough
  eth.sendOwned(ipv4(PEER_IP, 40, 0)); // queued behind ARP: not recycled (the cache holds it)
  frames.onReceive!(buildFrame(OURS, PEER, EtherType.ARP, reply));
  owned.length = 0;
  frames.sent.length = 0;

  // A super-packet given away: copied into a frame, then handed back to the allocator.
  const big = ipv4(PEER_IP, 9000, 0xcd);
  const bigBytes = big.slice();
  eth.sendTcpOffload(big, 1448, true);
  assert.equal(owned.length, 1, 'the frame goes to the frame link as owned (it may recycle it)');
  assert.equal(owned[0]!.gso, 1448);
  const f = parseEthernet(owned[0]!.frame);
  assert.ok(f.ok);
  assert.deepEqual(f.value.payload, bigBytes, 'the frame carries the packet as it was');
  assert.equal(takePacket(9000), big, 'the packet itself went back to the allocator');

  // A recycled frame buffer is written over: the link hands the first frame back, the next
  // 9,000-byte packet is framed in it with nothing of the old one left.
  recyclePacket(owned[0]!.frame);
  const second = ipv4(PEER_IP, 9000, 0x11);
  const secondBytes = second.slice();
  eth.sendTcpOffload(second, 1448, false);
  assert.equal(owned[1]!.frame, owned[0]!.frame, 'the frame link\'s recycled buffer framed the next packet');
  const g = parseEthernet(owned[1]!.frame);
  assert.ok(g.ok);
  assert.deepEqual(g.value.payload, secondBytes);
  assert.notEqual(takePacket(9000), second, 'a packet not given away is not recycled');

  // A short packet padded to the 60-byte minimum from a recycled (dirty) buffer: the padding is zero.
  recyclePacket(new Uint8Array(60).fill(0xff));
  const small = ipv4(PEER_IP, 28, 0x22);
  const smallBytes = small.slice();
  eth.sendOwned(small);
  const short = owned[2]!.frame;
  assert.equal(short.length, 60);
  assert.deepEqual(short.subarray(14, 14 + 28), smallBytes);
  assert.ok(short.subarray(14 + 28).every((b) => b === 0), 'the padding of a reused buffer is zeroed');
});
