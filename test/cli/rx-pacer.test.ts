// The receive pacer between a TUN device and the stack (src/cli/rx-pacer.ts): packets of
// connections go first, bare SYNs a slice per event-loop turn, SYNs beyond the queue are dropped and
// counted, order within each class is kept, and stop() lets go of the device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { paceReceive, isBareSyn, SYN_SLICE, SYN_QUEUE } from '../../src/cli/rx-pacer.js';
import { buildTcpPacket } from '../../src/wire/packet.js';
import { TcpFlag, type TcpRepr } from '../../src/wire/tcp.js';
import { parseIp } from '../../src/wire/address.js';
import type { TunLink } from '../../src/link/tun.js';

const { SYN, ACK, RST } = TcpFlag;
const A = parseIp('198.18.1.1')!;
const B = parseIp('198.18.0.2')!;

function tcp(srcPort: number, flags: number, src = A, dst = B): Uint8Array {
  const seg: TcpRepr = { srcPort, dstPort: 8080, seq: 1, ack: flags & ACK ? 1 : 0, flags, window: 100, urgent: 0, options: {}, payload: new Uint8Array(0) };
  return buildTcpPacket(src, dst, seg).slice();
}

/** One batch as the addon delivers it: packets end to end, with their end offsets. */
function batch(pkts: Uint8Array[]): [Uint8Array, Uint32Array, number] {
  const bytes = new Uint8Array(pkts.reduce((n, p) => n + p.length, 0));
  const ends = new Uint32Array(pkts.length);
  let o = 0;
  pkts.forEach((p, i) => {
    bytes.set(p, o);
    ends[i] = o += p.length;
  });
  return [bytes, ends, pkts.length];
}

/** Just the TunLink members the pacer uses, recording what reaches onReceive (by source port). */
function fakeTun(): { tun: TunLink; got: number[] } {
  const got: number[] = [];
  const tun = {
    onReceive: (p: Uint8Array) => got.push((p[20]! << 8) | p[21]!),
    onReceiveBatch: null,
  } as unknown as TunLink;
  return { tun, got };
}

test('isBareSyn: SYN alone (IPv4, IPv6) yes; SYN-ACK, SYN+RST, ACK, UDP, truncated no', () => {
  assert.equal(isBareSyn(tcp(1, SYN)), true);
  assert.equal(isBareSyn(tcp(1, SYN, parseIp('2001:db8::1')!, parseIp('2001:db8::2')!)), true);
  assert.equal(isBareSyn(tcp(1, SYN | ACK)), false);
  assert.equal(isBareSyn(tcp(1, SYN | RST)), false);
  assert.equal(isBareSyn(tcp(1, ACK)), false);
  const udp = tcp(1, SYN);
  udp[9] = 17;
  assert.equal(isBareSyn(udp), false);
  assert.equal(isBareSyn(tcp(1, SYN).subarray(0, 30)), false);
  assert.equal(isBareSyn(new Uint8Array(0)), false);
  // A TAP device's frames: the IP packet after 14 bytes of Ethernet header, by EtherType.
  const frame = (type: number, ip: Uint8Array): Uint8Array => {
    const f = new Uint8Array(14 + ip.length);
    f.set([0x40, 0, 0, 0, 0, 1, 0x60, 0, 0, 0, 0, 2, type >> 8, type & 0xff]);
    f.set(ip, 14);
    return f;
  };
  assert.equal(isBareSyn(frame(0x0800, tcp(1, SYN)), 14), true);
  assert.equal(isBareSyn(frame(0x0800, tcp(1, ACK)), 14), false);
  assert.equal(isBareSyn(frame(0x0806, tcp(1, SYN)), 14), false, 'ARP is never a SYN');
  assert.equal(isBareSyn(frame(0x0800, tcp(1, ACK)), 0), false, 'a frame read as an IP packet is not one');
});

test('a flood batch: connection packets first, then SYNs a slice per turn; SYNs past the queue dropped and counted', async () => {
  const { tun, got } = fakeTun();
  const pacer = paceReceive(tun);
  const n = SYN_QUEUE + 500; // 8,692 SYNs: 10 ACKs among the first 2,500
  const pkts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    pkts.push(tcp(10_000 + i, SYN));
    if (i % 250 === 249 && i < 2500) pkts.push(tcp((i + 1) / 250, ACK)); // ports 1..10: a connection's ACKs amid the flood
  }
  tun.onReceiveBatch!(...batch(pkts));
  // The first turn: every ACK, in order, then one slice of SYNs, in order.
  assert.deepEqual(got.slice(0, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(got.length, 10 + SYN_SLICE);
  assert.deepEqual(got.slice(10, 13), [10_000, 10_001, 10_002]);
  assert.deepEqual(pacer.stats(), { synWaiting: SYN_QUEUE - SYN_SLICE, otherWaiting: 0, synDropped: n - SYN_QUEUE });
  // A packet of a connection arriving now overtakes the SYNs still waiting: first on the next turn.
  tun.onReceiveBatch!(...batch([tcp(77, ACK)]));
  const before = got.length;
  await turn();
  assert.equal(got[before], 77);
  assert.equal(got.length, before + 1 + SYN_SLICE);
  for (let i = 0; i < 100 && pacer.stats().synWaiting > 0; i++) await turn();
  assert.equal(got.length, 11 + SYN_QUEUE, 'every queued SYN was delivered, on later turns');
  const syns = got.filter((p) => p >= 10_000);
  assert.deepEqual(syns, Array.from({ length: SYN_QUEUE }, (_, i) => 10_000 + i), 'the first SYN_QUEUE SYNs, in order');
  pacer.stop();
});

test('stop() drops what waits and gives the device back (onReceiveBatch cleared)', async () => {
  const { tun, got } = fakeTun();
  const pacer = paceReceive(tun);
  tun.onReceiveBatch!(...batch(Array.from({ length: SYN_SLICE * 3 }, (_, i) => tcp(20_000 + i, SYN))));
  assert.equal(got.length, SYN_SLICE);
  pacer.stop();
  assert.equal(tun.onReceiveBatch, null);
  await turn();
  await turn();
  assert.equal(got.length, SYN_SLICE, 'nothing more after stop');
  assert.deepEqual(pacer.stats(), { synWaiting: 0, otherWaiting: 0, synDropped: 0 });
});

test("a batch that needs no pacing goes whole to the stack's batch handler (GRO); a flood batch does not; stop() puts the handler back", async () => {
  const { tun, got } = fakeTun();
  const whole: number[] = [];
  const stackBatch = (_b: Uint8Array, _e: Uint32Array, count: number): void => void whole.push(count);
  tun.onReceiveBatch = stackBatch;
  const pacer = paceReceive(tun);
  tun.onReceiveBatch!(...batch([tcp(1, ACK), tcp(2, SYN), tcp(3, ACK)]));
  assert.deepEqual([whole, got], [[3], []], 'handed over as it came, in order');
  tun.onReceiveBatch!(...batch(Array.from({ length: SYN_SLICE + 1 }, (_, i) => tcp(30_000 + i, SYN))));
  assert.deepEqual(whole, [3], 'more SYNs than a slice: paced, packet by packet');
  assert.equal(got.length, SYN_SLICE);
  // While SYNs wait, even a small batch queues behind the ones already paced (order kept).
  tun.onReceiveBatch!(...batch([tcp(4, ACK)]));
  assert.deepEqual(whole, [3]);
  await turn();
  assert.deepEqual(got.slice(SYN_SLICE), [4, 30_000 + SYN_SLICE]);
  pacer.stop();
  assert.equal(tun.onReceiveBatch, stackBatch);
});

test('RX flags ride with the batch: whole to the stack, or with each paced packet; what waits is a copy, safe from the next read', async () => {
  const got: [number, number][] = [];
  const stackReceive = (p: Uint8Array, rx?: number): void => void got.push([(p[20]! << 8) | p[21]!, rx ?? 0]);
  const wholeFlags: number[][] = [];
  const stackBatch = (_b: Uint8Array, _e: Uint32Array, count: number, rx?: Uint8Array | null): void =>
    void wholeFlags.push(Array.from(rx!.subarray(0, count)));
  const tun = { onReceive: stackReceive, onReceiveBatch: stackBatch } as unknown as TunLink;
  const pacer = paceReceive(tun);
  const [b1, e1, n1] = batch([tcp(1, ACK), tcp(2, ACK)]);
  tun.onReceiveBatch!(b1, e1, n1, new Uint8Array([1, 0]));
  assert.deepEqual(wholeFlags, [[1, 0]], 'an unpaced batch goes whole, flags and all');
  // A flood, in one reused buffer as the TUN link delivers it: flags 1 (checksum verified).
  const n = SYN_SLICE * 2 + 1;
  const [bytes, ends, count] = batch([...Array.from({ length: n }, (_, i) => tcp(40_000 + i, SYN)), tcp(5, ACK)]);
  tun.onReceiveBatch!(bytes, ends, count, new Uint8Array(count).fill(1));
  assert.deepEqual(wholeFlags.length, 1, 'a flood batch is paced, not handed over whole');
  assert.equal(got.length, 1 + SYN_SLICE, "the connection's ACK and one slice of SYNs this turn");
  assert.deepEqual(got[0], [5, 1]);
  bytes.fill(0); // the link's next read overwrites its buffer
  for (let i = 0; i < 10 && pacer.stats().synWaiting > 0; i++) await turn();
  assert.equal(got.length, 1 + n);
  assert.deepEqual(
    got.slice(1),
    Array.from({ length: n }, (_, i) => [40_000 + i, 1]),
    'every SYN delivered intact, in order, with its flags, after the batch was overwritten',
  );
  pacer.stop();
  assert.equal(tun.onReceiveBatch, stackBatch);
});
