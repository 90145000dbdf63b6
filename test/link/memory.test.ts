// The in-memory pair hands packets across unchanged and in order, on a clock or as microtasks;
// taps see both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryPair } from '../../src/link/memory.js';
import { tapLink, pcapTap } from '../../src/link/tap.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';

test('memory pair delivers the same Uint8Array, in order, after the latency', () => {
  const clock = new VirtualClock();
  const [a, b] = createMemoryPair({ clock, latency: 5 });
  const got: [number, Uint8Array][] = [];
  b.onReceive = (p) => got.push([clock.now(), p]);
  const p1 = new Uint8Array([1, 2, 3]);
  const p2 = new Uint8Array([4]);
  a.send(p1);
  a.send(p2);
  assert.equal(got.length, 0);
  clock.runUntilIdle();
  assert.equal(got.length, 2);
  assert.equal(got[0]![1], p1); // zero copy: the very same object
  assert.equal(got[1]![1], p2);
  assert.equal(got[0]![0], 5);
  assert.equal(a.mtu, 1500);
});

test('memory pair without a clock delivers on a microtask; drops oversize and after close', async () => {
  const [a, b] = createMemoryPair({ mtu: 100 });
  const got: number[] = [];
  a.onReceive = (p) => got.push(p.length);
  b.send(new Uint8Array(10));
  b.send(new Uint8Array(101));
  assert.deepEqual(got, []);
  await Promise.resolve();
  assert.deepEqual(got, [10]);
  assert.equal(b.stats().dropped, 1);
  a.close();
  b.send(new Uint8Array(10));
  await Promise.resolve();
  assert.deepEqual(got, [10]);
  assert.equal(b.stats().dropped, 2);
});

test('tapLink reports out and in packets and passes them through', () => {
  const clock = new VirtualClock();
  const [a, b] = createMemoryPair({ clock, latency: 1 });
  const seen: string[] = [];
  const ta = tapLink(a, (dir, d) => seen.push(`${dir}:${d[0]}`));
  const got: number[] = [];
  ta.onReceive = (p) => got.push(p[0]!);
  b.onReceive = (p) => b.send(new Uint8Array([p[0]! + 100]));
  ta.send(new Uint8Array([7]));
  clock.runUntilIdle();
  assert.deepEqual(seen, ['out:7', 'in:107']);
  assert.deepEqual(got, [107]);
  assert.equal(ta.mtu, 1500);
});

test('pcapTap writes both directions with clock timestamps', () => {
  const clock = new VirtualClock();
  const [a, b] = createMemoryPair({ clock, latency: 3 });
  const rows: [number, number][] = [];
  const ta = pcapTap(a, { writePacket: (d, t) => rows.push([d[0]!, t]) }, clock);
  ta.onReceive = () => {};
  b.onReceive = () => b.send(new Uint8Array([2]));
  ta.send(new Uint8Array([1]));
  clock.runUntilIdle();
  assert.deepEqual(rows, [[1, 0], [2, 6]]);
});

test('memory pair keeps order over a long stream that never drains, with sends made during delivery', () => {
  const clock = new VirtualClock();
  const [a, b] = createMemoryPair({ clock, latency: 1 });
  const got: number[] = [];
  let next = 0;
  const pkt = (n: number): Uint8Array => Uint8Array.of(n >>> 16, (n >>> 8) & 0xff, n & 0xff);
  // Every delivery queues two more until 5,000 were sent, so packets stay in flight throughout.
  b.onReceive = (p) => {
    got.push((p[0]! << 16) | (p[1]! << 8) | p[2]!);
    for (let k = 0; k < 2 && next < 5000; k++) a.send(pkt(next++));
  };
  for (let k = 0; k < 3; k++) a.send(pkt(next++));
  clock.runUntilIdle();
  assert.equal(got.length, 5000);
  assert.ok(got.every((v, i) => v === i), 'delivered in the order sent');
  assert.equal(a.stats().sent, 5000);
  assert.equal(b.stats().received, 5000);
});

test('a packet sent with sendOwned is reused only after the receiver returned RELEASED', async () => {
  const { buildTcpPacket } = await import('../../src/wire/packet.js');
  const { RELEASED } = await import('../../src/link/link.js');
  const clock = new VirtualClock();
  const [a, b] = createMemoryPair({ clock });
  const seg = { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: 0x10, window: 5, urgent: 0, options: {}, payload: new Uint8Array(777) };
  const src = Uint8Array.of(198, 18, 0, 1);
  const dst = Uint8Array.of(198, 18, 0, 2);
  const kept: Uint8Array[] = [];
  b.onReceive = (p) => void kept.push(p); // keeps it: promises nothing
  const p1 = buildTcpPacket(src, dst, seg);
  a.sendOwned(p1);
  const p2 = buildTcpPacket(src, dst, seg);
  a.send(p2); // plain send: never recycled, whatever the receiver says
  clock.runUntilIdle();
  b.onReceive = () => RELEASED;
  a.send(p2);
  clock.runUntilIdle();
  const p3 = buildTcpPacket(src, dst, seg);
  assert.ok(p3 !== p1 && p3 !== p2, 'nothing was handed back');
  a.sendOwned(p3);
  clock.runUntilIdle();
  const p4 = buildTcpPacket(src, dst, { ...seg, seq: 99 });
  assert.equal(p4, p3, 'the released packet is reused for the next one of its size');
  assert.deepEqual(kept[0], buildTcpPacket(src, dst, seg), 'a packet the receiver kept is left intact');
  assert.equal(p4[24], 0, 'and the reused one carries the new header');
  assert.equal(p4[27], 99);
});

test('memory pair: packets a stack sent (sendOwned) arrive marked RX_CSUM_VERIFIED unless checksumUnnecessary is false; send() never', async () => {
  const { RX_CSUM_VERIFIED } = await import('../../src/link/link.js');
  for (const [opt, want] of [[undefined, RX_CSUM_VERIFIED], [true, RX_CSUM_VERIFIED], [false, 0]] as const) {
    const clock = new VirtualClock();
    const [a, b] = createMemoryPair(opt === undefined ? { clock } : { clock, checksumUnnecessary: opt });
    const got: (number | undefined)[] = [];
    b.onReceive = (_p, rx) => got.push(rx);
    a.sendOwned(new Uint8Array(20));
    a.send(new Uint8Array(20));
    clock.runUntilIdle();
    assert.deepEqual(got, [want, undefined], `checksumUnnecessary: ${opt}`);
  }
});

test('memory pair between stacks: a corrupt segment injected with send() is still caught by its checksum', async () => {
  const { twoStacks, A4, B4 } = await import('../stack/fixture.js');
  const { buildTcpPacket } = await import('../../src/wire/packet.js');
  const { parseIp } = await import('../../src/wire/address.js');
  const { TcpFlag } = await import('../../src/wire/tcp.js');
  const { clock, b, links } = twoStacks();
  b.tcpListen({ port: 80 }, () => {});
  const pkt = buildTcpPacket(parseIp(A4)!, parseIp(B4)!, { srcPort: 4000, dstPort: 80, seq: 1, ack: 0, flags: TcpFlag.SYN, window: 1000, urgent: 0, options: {}, payload: new Uint8Array(0) });
  pkt[36] = pkt[36]! ^ 0x55; // the TCP checksum

  const bad0 = b.stats().tcpBad;
  links[0].send(pkt);
  clock.runUntilIdle();
  assert.equal(b.stats().tcpBad - bad0, 1);
});

test('a memory pair with a clock delivers each instant as one list of the packets themselves (no copy); batch: false and no clock go one by one', () => {
  const clock = new VirtualClock();
  const [a, b] = createMemoryPair({ clock });
  const p1 = new Uint8Array(20).fill(1);
  const p2 = new Uint8Array(30).fill(2);
  const lists: Uint8Array[][] = [];
  b.onReceive = () => assert.fail('a batching link delivers lists');
  b.onReceiveList = (packets, count) => void lists.push(packets.slice(0, count));
  a.send(p1);
  a.send(p2);
  clock.runUntilIdle();
  a.send(p1);
  clock.runUntilIdle();
  assert.equal(lists.length, 2);
  assert.ok(lists[0]![0] === p1 && lists[0]![1] === p2 && lists[0]!.length === 2, 'the same arrays, in order, one list per instant');
  assert.ok(lists[1]![0] === p1 && lists[1]!.length === 1);
  for (const pair of [createMemoryPair({ clock, batch: false }), createMemoryPair()]) assert.ok(!('onReceiveList' in pair[1]), 'no list delivery');
  // A batching pair whose receiver takes single packets only (no onReceiveList) gets every one, in order.
  const [c, d] = createMemoryPair({ clock, latency: 1 });
  const single: number[] = [];
  d.onReceive = (p) => void single.push(p.length);
  c.send(p1);
  c.send(p2);
  clock.advance(0.5);
  c.send(p1);
  clock.runUntilIdle();
  assert.deepEqual(single, [20, 30, 20]);
});

test('batching memory pair: the batch carries the same RX flags, per packet (sendOwned verified, send() not)', async () => {
  const { RX_CSUM_VERIFIED } = await import('../../src/link/link.js');
  for (const [opt, want] of [[undefined, RX_CSUM_VERIFIED], [false, 0]] as const) {
    const clock = new VirtualClock();
    const [a, b] = createMemoryPair(opt === undefined ? { clock, batch: true } : { clock, batch: true, checksumUnnecessary: opt });
    const got: number[][] = [];
    b.onReceive = () => assert.fail('a batching link delivers batches');
    b.onReceiveList = (_packets, count, rx) => void got.push(Array.from(rx.subarray(0, count)));
    a.sendOwned(new Uint8Array(20));
    a.send(new Uint8Array(20));
    a.sendOwned(new Uint8Array(20));
    clock.runUntilIdle();
    assert.deepEqual(got, [[want, 0, want]], `checksumUnnecessary: ${opt}`);
  }
});
