// GRO (stack/gro.ts): which segments of a batch are joined before TCP input and which are not,
// segment by segment, and what that changes on the wire (fewer ACKs) and does not (the bytes read,
// what a pcap tap records).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gro, GRO_MAX_BYTES } from '../../src/stack/gro.js';
import { Stack } from '../../src/stack/stack.js';
import { Interface } from '../../src/stack/route.js';
import { tapLink } from '../../src/link/tap.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { createSimPair } from '../../src/link/sim.js';
import { RX_CSUM_VERIFIED, type Link } from '../../src/link/link.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { parseIp } from '../../src/wire/address.js';
import { buildTcpPacket, buildUdpPacket, parseIpPacket } from '../../src/wire/packet.js';
import { parseTcp, TcpFlag, textLength, type TcpOptions, type TcpRepr } from '../../src/wire/tcp.js';

const { ACK, PSH, FIN, SYN, RST, URG } = TcpFlag;
const PEER = parseIp('198.18.0.1')!;
const US = parseIp('198.18.0.2')!;
const OTHER = parseIp('198.18.0.3')!;

interface Spec {
  seq: number;
  len: number;
  flags?: number;
  ack?: number;
  window?: number;
  srcPort?: number;
  src?: Uint8Array;
  options?: TcpOptions;
  urgent?: number;
}

/** One segment as it comes off the wire: built into a packet, then parsed as the stack does. */
function wire(s: Spec): { src: Uint8Array; seg: TcpRepr; header: Uint8Array; pkt: Uint8Array } {
  const payload = new Uint8Array(s.len);
  for (let i = 0; i < s.len; i++) payload[i] = (s.seq + i) & 0xff;
  const repr: TcpRepr = {
    srcPort: s.srcPort ?? 5000, dstPort: 80, seq: s.seq >>> 0, ack: s.ack ?? 7001, flags: s.flags ?? ACK,
    window: s.window ?? 1000, urgent: s.urgent ?? 0, options: s.options ?? {}, payload,
  };
  const src = s.src ?? PEER;
  const pkt = buildTcpPacket(src, US, repr).slice();
  const ip = parseIpPacket(pkt);
  assert.ok(ip.ok);
  const r = parseTcp(ip.value.payload, { src, dst: US });
  assert.ok(r.ok);
  const doff = (ip.value.payload[12]! >>> 4) * 4;
  return { src, seg: r.value, header: ip.value.payload.subarray(0, doff), pkt };
}

/** A segment's text as one array: its payload, or a joined segment's pieces (SegmentText) one after the other. */
function textOf(seg: TcpRepr): Uint8Array {
  const t = seg.text;
  if (t == null) return seg.payload;
  assert.equal(seg.payload.length, 0, 'a segment with pieces has no payload of its own');
  const out = new Uint8Array(t.length);
  let at = 0;
  for (let i = 0; i < t.count; i++) {
    out.set(t.parts[i]!, at);
    at += t.parts[i]!.length;
  }
  assert.equal(at, t.length);
  return out;
}

const iface = new Interface('eth0', { mtu: 1500, send() {}, onReceive: null, close() {} });

/** Offer `specs` to a fresh Gro as one batch; what reached TCP input, as "seq+len flags" strings. */
function gro(specs: Spec[]): string[] {
  const out: string[] = [];
  let segs = 0;
  const g = new Gro((_i, src, _d, seg, n) => {
    segs += n;
    const f = (['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'] as const).filter((_, k) => (seg.flags & (1 << k)) !== 0).join(',');
    const text = textOf(seg);
    out.push(`${src === OTHER ? 'other ' : ''}${seg.seq}+${text.length} ${f}`);
    assert.equal(textLength(seg), text.length);
    // The joined segment's text is the segments' bytes, in order.
    for (let i = 0; i < text.length; i++) assert.equal(text[i], (seg.seq + i) & 0xff);
  });
  for (const s of specs) {
    const w = wire(s);
    g.offer(iface, w.src, US, w.seg, w.header, 0);
  }
  g.flush();
  assert.equal(segs, specs.length, 'every wire segment delivered once, alone or in a joined segment');
  return out;
}

const train = (from: number, n: number, len = 1000, extra: Partial<Spec> = {}): Spec[] =>
  Array.from({ length: n }, (_, i) => ({ seq: from + i * len, len, ...extra }));

test('GRO joins in-order data segments of one flow with equal headers; a shorter one ends the train', () => {
  assert.deepEqual(gro([...train(1000, 4), { seq: 5000, len: 500 }, { seq: 5500, len: 1000 }]), ['1000+4500 ACK', '5500+1000 ACK']);
  // One segment alone goes through untouched.
  assert.deepEqual(gro([{ seq: 1000, len: 1000 }]), ['1000+1000 ACK']);
});

test('GRO never joins across a gap, another flow, or a change of ACK or window', () => {
  assert.deepEqual(gro([...train(1000, 2), ...train(4000, 2)]), ['1000+2000 ACK', '4000+2000 ACK'], 'a hole: out of order');
  assert.deepEqual(gro([{ seq: 1000, len: 1000 }, { seq: 2000, len: 1000, src: OTHER }, { seq: 2000, len: 1000 }]),
    ['1000+1000 ACK', 'other 2000+1000 ACK', '2000+1000 ACK'], 'interleaved flows');
  assert.deepEqual(gro([{ seq: 1000, len: 1000 }, { seq: 2000, len: 1000, srcPort: 5001 }]), ['1000+1000 ACK', '2000+1000 ACK'], 'another port');
  assert.deepEqual(gro([{ seq: 1000, len: 1000 }, { seq: 2000, len: 1000, ack: 7002 }]), ['1000+1000 ACK', '2000+1000 ACK'], 'a new ACK');
  assert.deepEqual(gro([{ seq: 1000, len: 1000 }, { seq: 2000, len: 1000, window: 999 }]), ['1000+1000 ACK', '2000+1000 ACK'], 'a new window');
});

test('GRO: PSH ends a train (and is kept), SYN, FIN, RST and URG never join, pure ACKs pass', () => {
  assert.deepEqual(gro([...train(1000, 2), { seq: 3000, len: 1000, flags: ACK | PSH }, { seq: 4000, len: 1000 }]), ['1000+3000 PSH,ACK', '4000+1000 ACK']);
  assert.deepEqual(gro([{ seq: 1000, len: 1000, flags: ACK | PSH }, { seq: 2000, len: 1000 }]), ['1000+1000 PSH,ACK', '2000+1000 ACK'], 'PSH first: alone');
  assert.deepEqual(gro([...train(1000, 2), { seq: 3000, len: 1000, flags: ACK | FIN }]), ['1000+2000 ACK', '3000+1000 FIN,ACK']);
  assert.deepEqual(gro([...train(1000, 2), { seq: 3000, len: 0, flags: RST }]), ['1000+2000 ACK', '3000+0 RST']);
  assert.deepEqual(gro([{ seq: 1000, len: 1000 }, { seq: 2000, len: 1000, flags: ACK | URG, urgent: 1 }]), ['1000+1000 ACK', '2000+1000 ACK,URG']);
  assert.deepEqual(gro([{ seq: 999, len: 0, flags: SYN }, { seq: 1000, len: 1000 }]), ['999+0 SYN', '1000+1000 ACK']);
  assert.deepEqual(gro([{ seq: 1000, len: 1000 }, { seq: 2000, len: 0 }, { seq: 2000, len: 1000 }]), ['1000+1000 ACK', '2000+0 ACK', '2000+1000 ACK'], 'a pure ACK');
});

test('GRO joins timestamped segments only with equal TSval and TSecr (as Linux), and equal SACK blocks', () => {
  const ts = (val: number, ecr = 5): TcpOptions => ({ timestamp: { val, ecr } });
  assert.deepEqual(gro(train(1000, 3, 988, { options: ts(100) })), ['1000+2964 ACK']);
  assert.deepEqual(gro([{ seq: 1000, len: 988, options: ts(100) }, { seq: 1988, len: 988, options: ts(101) }]), ['1000+988 ACK', '1988+988 ACK'], 'TSval moved');
  assert.deepEqual(gro([{ seq: 1000, len: 988, options: ts(100) }, { seq: 1988, len: 988, options: ts(100, 6) }]), ['1000+988 ACK', '1988+988 ACK'], 'TSecr moved');
  assert.deepEqual(gro([{ seq: 1000, len: 988, options: ts(100) }, { seq: 1988, len: 988 }]), ['1000+988 ACK', '1988+988 ACK'], 'options dropped');
  const sack = (l: number): TcpOptions => ({ sack: [{ left: l, right: l + 10 }] });
  assert.deepEqual(gro([{ seq: 1000, len: 988, options: sack(1) }, { seq: 1988, len: 988, options: sack(2) }]), ['1000+988 ACK', '1988+988 ACK'], 'SACK changed');
});

test('GRO: a longer segment never joins a train, and a joined segment stays within 64 KiB', () => {
  assert.deepEqual(gro([{ seq: 1000, len: 500 }, { seq: 1500, len: 1000 }]), ['1000+500 ACK', '1500+1000 ACK']);
  const max = Math.floor((GRO_MAX_BYTES - 20) / 1000); // 65 segments of 1000 bytes
  assert.deepEqual(gro(train(1000, 70)), [`1000+${max * 1000} ACK`, `${1000 + max * 1000}+${(70 - max) * 1000} ACK`]);
  // Sequence numbers wrap: the train continues through 2^32.
  assert.deepEqual(gro(train(0xffffffff - 1499, 3)), [`${0xffffffff - 1499}+3000 ACK`]);
});

/**
 * A link that reads in batches as a TUN device does: one buffer, ends and RX flags reused for every
 * batch, and overwritten (0xee) as soon as a batch has been delivered, as the next read would, so
 * anything the stack kept without copying shows. Records what the stack sends.
 */
class BatchLink implements Link {
  readonly mtu = 1500;
  readonly sent: TcpRepr[] = [];
  onReceive: ((p: Uint8Array) => unknown) | null = null;
  onReceiveBatch: ((b: Uint8Array, ends: Uint32Array, n: number, rx?: Uint8Array | null) => void) | null = null;
  readonly #buf = new Uint8Array(1 << 20);
  readonly #ends = new Uint32Array(1024);
  readonly #flags = new Uint8Array(1024);
  send(p: Uint8Array): void {
    const ip = parseIpPacket(p);
    assert.ok(ip.ok);
    const r = parseTcp(ip.value.payload);
    assert.ok(r.ok);
    this.sent.push({ ...r.value, payload: r.value.payload.slice() });
  }
  close(): void {}
  /** Deliver packets as one batch, packet i with RX_* flags flags[i] (default none). */
  batch(pkts: Uint8Array[], flags: number[] = []): void {
    let at = 0;
    pkts.forEach((p, i) => {
      this.#buf.set(p, at);
      this.#ends[i] = at += p.length;
      this.#flags[i] = flags[i] ?? 0;
    });
    this.onReceiveBatch!(this.#buf, this.#ends, pkts.length, this.#flags);
    this.#buf.fill(0xee, 0, at);
  }
}

/** A stack listening on port 80 behind a BatchLink (tapped), with one connection established from PEER:5000. */
function established(): { link: BatchLink; stack: Stack; got: number[]; tapped: number[]; iss: number } {
  const clock = new VirtualClock();
  const stack = new Stack({ name: 'gro', clock, random: seededRandom(3), loopback: false });
  const link = new BatchLink();
  const tapped: number[] = [];
  stack.addInterface(tapLink(link, (dir, p) => dir === 'in' && tapped.push(p.length)), { addresses: ['198.18.0.2/24'] });
  const got: number[] = [];
  stack.tcpListen({ port: 80 }, (conn) => {
    conn.hooks.onReadable = () => {
      for (let d = conn.recv(); d !== null; d = conn.recv()) got.push(...d);
    };
  });
  const send = (s: TcpRepr): void => void link.onReceive!(buildTcpPacket(PEER, US, s).slice());
  const base = { srcPort: 5000, dstPort: 80, window: 65535, urgent: 0, payload: new Uint8Array(0) };
  send({ ...base, seq: 1000, ack: 0, flags: SYN, options: { mss: 1000 } });
  const synAck = link.sent.shift()!;
  assert.equal(synAck.flags, SYN | ACK);
  send({ ...base, seq: 1001, ack: (synAck.seq + 1) >>> 0, flags: ACK, options: {} });
  assert.equal(stack.connections()[0]?.state, 'ESTABLISHED');
  tapped.length = 0;
  return { link, stack, got, tapped, iss: synAck.seq };
}

function dataPackets(iss: number, n: number): Uint8Array[] {
  return train(1001, n).map((s) => wire({ ...s, ack: (iss + 1) >>> 0, window: 65535 }).pkt);
}

test('a TUN-style batch reaches TCP as one joined segment: one ACK for eight segments, the same bytes read, the tap sees eight', () => {
  const { link, stack, got, tapped, iss } = established();
  link.batch(dataPackets(iss, 8));
  assert.deepEqual(stack.groStats(), { groSegments: 8, groMerged: 1 });
  assert.equal(stack.stats().tcpIn, 2 + 8, 'tcpIn counts wire segments: SYN, ACK and the eight');
  assert.deepEqual(tapped, Array(8).fill(1040), 'the tap (pcap) records the wire packets, not the joined one');
  assert.equal(got.length, 8000);
  for (let i = 0; i < got.length; i++) assert.equal(got[i], (1001 + i) & 0xff);
  const acks = link.sent.filter((s) => s.payload.length === 0);
  assert.deepEqual(acks.map((s) => s.ack), [9001], 'eight full segments in one: acknowledged at once, once');
});

test('the same eight segments delivered one by one (no batch) are acknowledged every second segment', () => {
  const { link, stack, got, iss } = established();
  for (const p of dataPackets(iss, 8)) link.onReceive!(p);
  assert.deepEqual(stack.groStats(), { groSegments: 0, groMerged: 0 });
  assert.equal(got.length, 8000);
  assert.deepEqual(link.sent.filter((s) => s.payload.length === 0).map((s) => s.ack), [3001, 5001, 7001, 9001]);
});

/** 1 MiB from a to b over a memory pair (latency 1 ms) or a lossy simulated link, batching or not: bytes b read, segments each sent, GRO stats. */
function bulk(batch: boolean | undefined, sim = false): { ok: boolean; aSent: number; bSent: number; gro: { groSegments: number; groMerged: number } } {
  const clock = new VirtualClock();
  const opt = batch === undefined ? {} : { batch };
  const [la, lb] = sim ? createSimPair(clock, { seed: 5, latency: 5, loss: 0.02, reorder: { probability: 0.02, delay: 3 }, ...opt }) : createMemoryPair({ clock, latency: 1, ...opt });
  const a = new Stack({ name: 'a', clock, random: seededRandom(1) });
  const b = new Stack({ name: 'b', clock, random: seededRandom(2) });
  a.addInterface(la, { addresses: ['198.18.0.1/24'] });
  b.addInterface(lb, { addresses: ['198.18.0.2/24'] });
  const data = new Uint8Array(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const got: number[] = [];
  b.tcpListen({ port: 80 }, (conn) => {
    conn.hooks.onReadable = () => {
      for (let d = conn.recv(); d !== null; d = conn.recv()) for (const x of d) got.push(x);
      if (conn.peerFinished) conn.close();
    };
  });
  const c = a.tcpConnect({ address: '198.18.0.2', port: 80 });
  let off = 0;
  const write = (): void => {
    if (off === data.length) return;
    off += c.send(data.subarray(off));
    if (off === data.length) c.close();
  };
  c.hooks.onConnected = write;
  c.hooks.onWritable = write;
  clock.runUntilIdle();
  const ok = got.length === data.length && got.every((x, i) => x === data[i]);
  return { ok, aSent: a.stats().tcpOut, bSent: b.stats().tcpOut, gro: b.groStats() };
}

test('over a batching memory pair, GRO joins the segments of each arrival instant: the same bytes, fewer ACKs', () => {
  const plain = bulk(false);
  const batched = bulk(true);
  assert.ok(plain.ok && batched.ok, 'every byte read once, in order');
  assert.deepEqual(plain.gro, { groSegments: 0, groMerged: 0 });
  assert.ok(batched.gro.groMerged > 0 && batched.gro.groSegments > 2 * batched.gro.groMerged, JSON.stringify(batched.gro));
  assert.ok(batched.bSent < plain.bSent, `receiver sent ${batched.bSent} segments with GRO, ${plain.bSent} without`);
});

test('a memory pair with a clock batches by default: GRO joins each burst and the receiver sends one ACK per joined segment', () => {
  const byDefault = bulk(undefined);
  const plain = bulk(false);
  assert.ok(byDefault.ok, 'every byte read once, in order');
  assert.deepEqual(byDefault, bulk(true), 'the default is batch: true');
  // The documented ACK pattern (docs/stack.md): one ACK per joined segment (about 26 for 1 MiB),
  // where packet by packet the receiver acknowledges every second segment (about 360).
  assert.ok(byDefault.gro.groMerged > 10, JSON.stringify(byDefault.gro));
  assert.ok(byDefault.bSent <= byDefault.gro.groMerged + 4, `receiver sent ${byDefault.bSent} segments for ${byDefault.gro.groMerged} joined segments`);
  assert.ok(plain.bSent >= plain.aSent / 2 - 4, `packet by packet: ${plain.bSent} ACKs for ${plain.aSent} segments`);
  assert.equal(byDefault.aSent, plain.aSent, 'the sender sends the same segments');
});

test('over a lossy, reordering simulated link with batch: true, GRO joins what arrives together and every byte still arrives once, in order', () => {
  const r = bulk(true, true);
  assert.ok(r.ok, 'every byte read once, in order');
  assert.ok(r.gro.groMerged > 0, JSON.stringify(r.gro));
});

/** A packet whose TCP checksum is wrong (IPv4, no IP options: the field is at byte 36). */
function badChecksum(p: Uint8Array): Uint8Array {
  const q = p.slice();
  q[36] = q[36]! ^ 0x5a;
  return q;
}

test('RX flags in a batch: a segment the link vouches for (RX_CSUM_VERIFIED) skips the checksum and joins; the same unflagged is dropped', () => {
  const { link, stack, got, iss } = established();
  const pkts = dataPackets(iss, 8).map(badChecksum);
  link.batch(pkts, Array(8).fill(0));
  assert.equal(stack.stats().tcpBad, 8, 'unflagged: every bad checksum counted and dropped');
  assert.equal(got.length, 0);
  link.batch(pkts, Array(8).fill(RX_CSUM_VERIFIED));
  assert.equal(stack.stats().tcpBad, 8, 'flagged: taken on the link\'s word');
  assert.deepEqual(stack.groStats(), { groSegments: 8, groMerged: 1 }, 'and joined as one segment');
  assert.equal(got.length, 8000);
  for (let i = 0; i < got.length; i++) assert.equal(got[i], (1001 + i) & 0xff);
});

test('a batch mixing flags: the one bad unflagged segment is dropped, GRO joins on either side of the gap, and the out-of-order data TCP keeps survives the next read', () => {
  const { link, stack, got, iss } = established();
  const pkts = dataPackets(iss, 8);
  // Segment 3 (seq 3001) is corrupt and not vouched for; the rest are flagged 1 or 0 alike.
  const batch = pkts.map((p, i) => (i === 2 ? badChecksum(p) : p));
  link.batch(batch, [1, 0, 0, 1, 1, 0, 1, 1]);
  assert.equal(stack.stats().tcpBad, 1);
  assert.deepEqual(stack.groStats(), { groSegments: 7, groMerged: 2 }, 'segments 1-2 and 4-8 each joined (flags do not split a train)');
  assert.equal(got.length, 2000, 'in order up to the gap');
  // The batch buffer has been overwritten since: the retransmission fills the gap, and the five
  // segments held out of order must still read as they were sent.
  link.batch([pkts[2]!]);
  assert.equal(got.length, 8000);
  for (let i = 0; i < got.length; i++) assert.equal(got[i], (1001 + i) & 0xff, `byte ${i}`);
});

test('a UDP datagram from a reused batch buffer: the message the application keeps is its own copy', () => {
  const clock = new VirtualClock();
  const stack = new Stack({ name: 'udp', clock, random: seededRandom(3), loopback: false });
  const link = new BatchLink();
  stack.addInterface(link, { addresses: ['198.18.0.2/24'] });
  const sock = stack.udpBind({ port: 53 });
  const kept: Uint8Array[] = [];
  sock.on('message', (msg) => kept.push(msg));
  const payload = new TextEncoder().encode('hello over a reused buffer');
  link.batch([buildUdpPacket(PEER, US, { srcPort: 999, dstPort: 53, payload }).slice(), buildUdpPacket(PEER, US, { srcPort: 999, dstPort: 53, payload: payload.subarray(0, 5) }).slice()]);
  assert.equal(kept.length, 2);
  assert.deepEqual([...kept[0]!], [...payload], 'intact after the link overwrote its buffer');
  assert.deepEqual([...kept[1]!], [...payload.subarray(0, 5)]);
});
