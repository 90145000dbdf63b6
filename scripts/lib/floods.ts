// Flood runs (issue 10, "out-of-order, ACK and RST floods cost bounded memory and CPU"): two synack
// stacks on the seeded sim link move a legitimate transfer while an attacker injects crafted
// segments straight into one stack's interface: out-of-order data (RFC 9293 3.10.7.4 seventh,
// bounded by maxOutOfOrderRanges), ACKs old, duplicate and future (RFC 5961 section 5, challenge
// ACKs limited per section 7) and RSTs with guessed sequence numbers (RFC 5961 section 3). Used by
// scripts/floods.ts (figures) and test/chaos/floods.test.ts (behaviour).

import { createHash } from 'node:crypto';
import { Stack } from '../../src/stack/stack.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom, randomFloat, type RandomSource } from '../../src/util/random.js';
import { createSimPair } from '../../src/link/sim.js';
import type { Link } from '../../src/link/link.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import { TcpFlag, type TcpRepr } from '../../src/wire/tcp.js';
import { buildTcpPacket } from '../../src/wire/packet.js';
import { parseIp } from '../../src/wire/address.js';
import { add, sub } from '../../src/wire/seq.js';

/** What the attacker sends. 'none' runs the transfer alone (the baseline). */
export type FloodKind = 'none' | 'ooo' | 'ack' | 'rst';
/**
 * What the attacker knows. 'off-path': the 4-tuple only, every sequence and ACK number guessed
 * uniformly. 'in-window': everything (an on-path sniffer): sequence numbers around RCV.NXT and
 * acceptable ACKs. 'in-window-old-ack': RCV.NXT but not the other direction, so its ACK numbers
 * lie below SND.UNA - MAX.SND.WND (RFC 5961 5.2).
 */
export type Attacker = 'off-path' | 'in-window' | 'in-window-old-ack';

export interface FloodOptions {
  kind: FloodKind;
  attacker: Attacker;
  seed: number;
  /** Bytes of the legitimate transfer, client to server. */
  bytes: number;
  /** Injected segments per second of virtual time. */
  rate: number;
  /** Length of the flood in virtual ms (from the moment the connection is established). */
  duration: number;
  /** Sample the GC'd heap before and at the end of the flood (needs a gc function). */
  gc?: () => void;
  /** After the flood, inject one RST at exactly RCV.NXT (the control: that one must reset). */
  exactRst?: boolean;
}

export interface FloodResult {
  kind: FloodKind;
  attacker: Attacker;
  /** Which end was attacked: the receiver (server) for data and RST floods, the sender for ACKs. */
  victim: 'server' | 'client';
  /** Segments injected (the exact RST of the control included). */
  injected: number;
  /** Injected segments that reached the victim connection (its segsIn grew by this much). */
  reachedConnection: number;
  /** Wall ns per injected segment (IP parse, checksum, demux, TCP input, any reply). */
  nsPerInjected: number;
  /** Wall ns per legitimate data segment delivered to the server in the same run. */
  nsPerDataSegment: number;
  /** Most out-of-order ranges the victim held after any segment, and the limit. */
  maxRanges: number;
  /** Injected segments the victim kept: its out-of-order queue or its delivered bytes grew while it
   * handled that one segment (legitimate traffic is not processed meanwhile). */
  attackerKept: number;
  rangeLimit: number;
  /** Most bytes held out of order (assembler) and most bytes placed past RCV.NXT in the ring. */
  maxOooBytes: number;
  maxUncommitted: number;
  recvBufferSize: number;
  /** The receive buffer's largest capacity seen (autotuning grows it) and the most it may grow to. */
  maxRecvCapacity: number;
  recvBufferMax: number;
  /** Challenge ACKs the victim allowed itself in total and in the busiest 1 s (sliding) window. */
  challengeAcks: number;
  maxChallengePerSecond: number;
  challengeAckLimit: number;
  /** Segments the victim sent while the flood ran (its answers and its own traffic). */
  victimSegmentsOut: number;
  /** Heap growth after GC from the start to the end of the flood (bytes), or null without gc. */
  heapDelta: number | null;
  /** The victim was reset or failed (a RST or data got through). */
  victimErrors: string[];
  sentHash: string;
  receivedHash: string;
  bytesReceived: number;
  /** Bytes of the delivered stream that differ from what the client sent. */
  differingBytes: number;
  /** Differing bytes that are not the attacker's byte for that stream offset (must be 0). */
  foreignBytes: number;
  /** Virtual ms from connect to the last byte delivered. */
  transferMs: number;
  /** Both connections reached CLOSED and no timer was left. */
  clean: boolean;
}

const A = '198.18.0.1';
const B = '198.18.0.2';
const PORT = 5001;
/** Virtual ms after the flood within which both ends must have reached CLOSED. */
export const SETTLE_LIMIT = 3_600_000;
/** The attacker's byte at stream offset `o` (offset 0 = the first data byte after the SYN). */
export const junkByte = (o: number): number => (0xa5 ^ ((o * 7) >>> 0)) & 0xff;

function pattern(n: number, seed: number): Uint8Array {
  const r = seededRandom(seed);
  const b = new Uint8Array(n);
  r.fill(b);
  return b;
}

/** A Link that forwards to `inner` and lets the harness see what the stack sends and time what it receives. */
class TapLink implements Link {
  onReceive: ((packet: Uint8Array) => void) | null = null;
  constructor(
    private readonly inner: Link,
    private readonly onSend: (p: Uint8Array) => void,
    onDeliver: (p: Uint8Array, rx: (p: Uint8Array) => void) => void,
  ) {
    inner.onReceive = (p) => {
      const rx = this.onReceive;
      if (rx !== null) onDeliver(p, rx);
    };
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  send(p: Uint8Array): void {
    this.onSend(p);
    this.inner.send(p);
  }
  close(): void {
    this.inner.close();
  }
}

const u = (r: RandomSource, n: number): number => Math.floor(randomFloat(r) * n);

export function runFlood(o: FloodOptions): FloodResult {
  const clock = new VirtualClock();
  // 2 MB/s with a 20 ms RTT: a 2 MiB transfer takes about a second of virtual time.
  const pair = createSimPair(clock, { seed: o.seed, latency: 10, bandwidth: 2_000_000, queueLimit: 128 * 1024 });
  const client = new Stack({ name: 'client', clock, random: seededRandom(o.seed + 1) });
  const server = new Stack({ name: 'server', clock, random: seededRandom(o.seed + 2) });
  const victimSide: 'server' | 'client' = o.kind === 'ack' ? 'client' : 'server';
  let flooding = false;
  let victimOut = 0;
  let dataNs = 0;
  let dataSegs = 0;
  const countOut = (side: 'server' | 'client') => (_p: Uint8Array): void => {
    if (flooding && side === victimSide) victimOut++;
  };
  /** Called after every legitimate packet the victim receives (set once the flood starts). */
  let afterLegit: () => void = () => {};
  let legitSegsToVictim = 0;
  const legit = (side: 'server' | 'client') => (p: Uint8Array, rx: (p: Uint8Array) => void): void => {
    const t0 = performance.now();
    rx(p);
    const dt = performance.now() - t0;
    if (side === 'server' && p.length > 200) {
      dataNs += dt * 1e6;
      dataSegs++;
    }
    if (side === victimSide) {
      if (flooding) legitSegsToVictim++;
      afterLegit();
    }
  };
  const clientLink = new TapLink(pair[0], countOut('client'), legit('client'));
  const serverLink = new TapLink(pair[1], countOut('server'), legit('server'));
  client.addInterface(clientLink, { addresses: [`${A}/24`] });
  server.addInterface(serverLink, { addresses: [`${B}/24`] });

  const data = pattern(o.bytes, o.seed * 7 + 3);
  const received = new Uint8Array(o.bytes);
  let got = 0;
  let lastByteAt = 0;
  const errors: string[] = [];
  let serverConn: TcpConnection | null = null;
  server.tcpListen({ port: PORT }, (conn) => {
    serverConn = conn;
    conn.hooks.onReadable = () => {
      for (let d = conn.recv(); d !== null; d = conn.recv()) {
        received.set(d.subarray(0, Math.max(0, o.bytes - got)), got);
        got += d.length;
        lastByteAt = clock.now();
      }
      if (conn.peerFinished) conn.close();
    };
    conn.hooks.onError = (code, msg) => errors.push(`server: ${code} ${msg}`);
  });
  const c = client.tcpConnect({ address: B, port: PORT });
  let off = 0;
  let closed = false;
  const pump = (): void => {
    while (off < data.length) {
      const n = c.send(data.subarray(off, off + 65536));
      if (n === 0) return;
      off += n;
    }
    if (!closed) {
      closed = true;
      c.close();
    }
  };
  c.hooks.onWritable = pump;
  c.hooks.onConnected = pump;
  c.hooks.onError = (code, msg) => errors.push(`client: ${code} ${msg}`);
  c.hooks.onReadable = () => {
    while (c.recv() !== null);
  };

  // Establish, then flood in 1 ms steps while the transfer runs.
  while (serverConn === null && clock.runNext());
  clock.advance(1);
  const sc = serverConn as TcpConnection | null;
  if (sc === null) throw new Error('no connection');
  const victim = victimSide === 'server' ? sc : c;
  const clientPort = c.tuple.localPort;
  const [srcAddr, dstAddr, srcPort, dstPort, rx] =
    victimSide === 'server'
      ? [parseIp(A)!, parseIp(B)!, clientPort, PORT, serverLink]
      : [parseIp(B)!, parseIp(A)!, PORT, clientPort, clientLink];
  const streamStart = add(sc.info().irs, 1); // sequence number of stream offset 0 (client -> server)

  const r = seededRandom(o.seed * 31 + 17);
  const perMs = o.rate / 1000;
  const junk = new Uint8Array(1460);
  let injected = 0;
  let attackerKept = 0;
  let injectNs = 0;
  let maxRanges = 0;
  let maxOooBytes = 0;
  let maxUncommitted = 0;
  let maxRecvCapacity = 0;
  const challengeTimes: number[] = [];
  let lastChallenges = victim.stats().challengeAcks;
  const noteChallenges = (): void => {
    const n = victim.stats().challengeAcks;
    for (let i = lastChallenges; i < n; i++) challengeTimes.push(clock.now());
    lastChallenges = n;
  };
  const segsInBefore = victim.stats().segsIn;

  const craft = (): TcpRepr => {
    const v = victim;
    const rcvWnd = Math.max(1, sub(v.info().rcvAdv, v.info().rcvNxt));
    const window = (v.info().sndWnd >>> v.info().sndWscale) & 0xffff || 1024;
    const seg: TcpRepr = { srcPort, dstPort, seq: 0, ack: 0, flags: TcpFlag.ACK, window, urgent: 0, options: {}, payload: junk.subarray(0, 0) };
    const blind = o.attacker === 'off-path';
    const oldAck = (): number => add(v.info().sndUna, -(Math.max(v.info().maxSndWnd, 1) + 1 + u(r, 1 << 20)));
    switch (o.kind) {
      case 'ooo': {
        const len = 1 + u(r, 1460);
        if (blind) {
          seg.seq = r.u32();
          seg.ack = r.u32();
        } else {
          // Half in the window (never at RCV.NXT itself), a quarter beyond it, a quarter behind it.
          const pick = randomFloat(r);
          const offset = pick < 0.5 ? 1 + u(r, rcvWnd) : pick < 0.75 ? rcvWnd + u(r, 3 * rcvWnd) : -(1 + u(r, rcvWnd));
          seg.seq = add(v.info().rcvNxt, offset);
          seg.ack = o.attacker === 'in-window' ? v.info().sndNxt : oldAck();
        }
        const streamOff = sub(seg.seq, streamStart);
        for (let i = 0; i < len; i++) junk[i] = junkByte(streamOff + i);
        seg.payload = junk.subarray(0, len);
        seg.flags = TcpFlag.ACK | TcpFlag.PSH;
        return seg;
      }
      case 'ack': {
        // Old (below SND.UNA - MAX.SND.WND), duplicate (= SND.UNA) and future (> SND.NXT) ACKs.
        const pick = u(r, 3);
        seg.seq = blind ? r.u32() : add(v.info().rcvNxt, u(r, rcvWnd));
        if (blind) seg.ack = r.u32();
        else if (pick === 0 || o.attacker === 'in-window-old-ack') seg.ack = oldAck();
        else if (pick === 1) seg.ack = v.info().sndUna;
        else seg.ack = add(v.info().sndNxt, 1 + u(r, 1 << 20));
        return seg;
      }
      case 'rst': {
        // Never the exact RCV.NXT: only that may reset (RFC 5961 3.2).
        let s = blind ? r.u32() : add(v.info().rcvNxt, u(r, 3 * rcvWnd) - rcvWnd);
        if (s === v.info().rcvNxt) s = add(s, 1);
        seg.seq = s;
        seg.flags = TcpFlag.RST | (u(r, 2) === 0 ? TcpFlag.ACK : 0);
        seg.ack = seg.flags & TcpFlag.ACK ? (blind ? r.u32() : v.info().sndNxt) : 0;
        return seg;
      }
      default:
        throw new Error(`no segments for kind ${o.kind}`);
    }
  };

  afterLegit = () => {
    noteChallenges();
    sample();
  };
  const sample = (): void => {
    const v = victim.info();
    if (v.oooRanges > maxRanges) maxRanges = v.oooRanges;
    if (v.oooBytes > maxOooBytes) maxOooBytes = v.oooBytes;
    if (v.recvUncommitted > maxUncommitted) maxUncommitted = v.recvUncommitted;
    if (v.recvCapacity > maxRecvCapacity) maxRecvCapacity = v.recvCapacity;
  };

  let heapBefore = 0;
  if (o.gc) {
    o.gc();
    heapBefore = process.memoryUsage().heapUsed;
  }
  let heapDelta: number | null = null;
  flooding = o.kind !== 'none';
  const floodStart = clock.now();
  let owed = 0;
  while (clock.now() < floodStart + o.duration && victim.state !== 'CLOSED') {
    if (o.kind !== 'none') {
      owed += perMs;
      const n = Math.floor(owed);
      owed -= n;
      // Build first, then time only the stack's handling of the packets.
      const pkts: Uint8Array[] = [];
      for (let i = 0; i < n; i++) pkts.push(buildTcpPacket(srcAddr, dstAddr, craft()));
      for (const p of pkts) {
        const kept = victim.stats().bytesReceived + victim.info().oooBytes;
        const t0 = performance.now();
        rx.onReceive!(p);
        injectNs += (performance.now() - t0) * 1e6;
        if (victim.stats().bytesReceived + victim.info().oooBytes > kept) attackerKept++;
        // Sample after every segment: the bounds must hold at every point, not only between batches.
        sample();
      }
      injected += n;
      noteChallenges();
    }
    clock.advance(1);
    sample();
  }
  if (o.exactRst === true && victim.state !== 'CLOSED') {
    const rst: TcpRepr = { srcPort, dstPort, seq: victim.info().rcvNxt, ack: 0, flags: TcpFlag.RST, window: 0, urgent: 0, options: {}, payload: junk.subarray(0, 0) };
    rx.onReceive!(buildTcpPacket(srcAddr, dstAddr, rst));
    injected++;
  }
  if (o.gc) {
    o.gc();
    heapDelta = process.memoryUsage().heapUsed - heapBefore;
  }
  flooding = false;
  const reached = victim.stats().segsIn - segsInBefore - legitSegsToVictim;
  clock.runUntilIdle({ maxTime: clock.now() + SETTLE_LIMIT });
  noteChallenges();

  // Busiest sliding one-second window of challenge ACKs.
  let maxPerSec = 0;
  for (let i = 0, j = 0; j < challengeTimes.length; j++) {
    while (challengeTimes[j]! - challengeTimes[i]! >= 1000) i++;
    maxPerSec = Math.max(maxPerSec, j - i + 1);
  }
  let differing = 0;
  let foreign = 0;
  const n = Math.min(got, o.bytes);
  for (let i = 0; i < n; i++) {
    if (received[i] !== data[i]) {
      differing++;
      if (received[i] !== junkByte(i)) foreign++;
    }
  }
  const hex = (d: Uint8Array): string => createHash('sha256').update(d).digest('hex');
  return {
    kind: o.kind,
    attacker: o.attacker,
    victim: victimSide,
    injected,
    attackerKept,
    reachedConnection: reached,
    nsPerInjected: injected > 0 ? injectNs / injected : 0,
    nsPerDataSegment: dataSegs > 0 ? dataNs / dataSegs : 0,
    maxRanges,
    rangeLimit: victim.config.maxOutOfOrderRanges,
    maxOooBytes,
    maxUncommitted,
    recvBufferSize: victim.config.recvBufferSize,
    maxRecvCapacity,
    recvBufferMax: victim.config.recvBufferMax,
    challengeAcks: challengeTimes.length,
    maxChallengePerSecond: maxPerSec,
    challengeAckLimit: victim.config.challengeAckLimit,
    victimSegmentsOut: victimOut,
    heapDelta,
    victimErrors: errors,
    sentHash: hex(data),
    receivedHash: hex(received.subarray(0, n)),
    bytesReceived: got,
    differingBytes: differing,
    foreignBytes: foreign,
    transferMs: lastByteAt,
    clean: client.stats().tcpConnections + server.stats().tcpConnections === 0 && clock.pending() === 0,
  };
}

/**
 * Wall ns per in-order 1460-byte data segment handed to a server stack through the same path the
 * floods use (IP parse and checksum, demux, TCP input, ACK output), the application reading every
 * 32 segments outside the timed part: the yardstick for the per-segment cost of a flood.
 */
export function dataSegmentCost(seed: number, segments: number): number {
  const clock = new VirtualClock();
  const pair = createSimPair(clock, { seed, latency: 10 });
  const client = new Stack({ name: 'client', clock, random: seededRandom(seed + 1) });
  const server = new Stack({ name: 'server', clock, random: seededRandom(seed + 2) });
  client.addInterface(pair[0], { addresses: [`${A}/24`] });
  server.addInterface(pair[1], { addresses: [`${B}/24`] });
  let sc: TcpConnection | null = null;
  server.tcpListen({ port: PORT }, (conn) => (sc = conn));
  const c = client.tcpConnect({ address: B, port: PORT });
  clock.runUntilIdle({ maxTime: 1000 });
  const s = sc as TcpConnection | null;
  if (s === null) throw new Error('no connection');
  const payload = pattern(1460, seed);
  const src = parseIp(A)!;
  const dst = parseIp(B)!;
  let ns = 0;
  for (let i = 0; i < segments; i++) {
    const seg: TcpRepr = {
      srcPort: c.tuple.localPort, dstPort: PORT, seq: s.info().rcvNxt, ack: s.info().sndNxt, flags: TcpFlag.ACK | TcpFlag.PSH,
      window: 1024, urgent: 0, options: {}, payload,
    };
    const p = buildTcpPacket(src, dst, seg);
    const t0 = performance.now();
    pair[1].onReceive!(p);
    ns += (performance.now() - t0) * 1e6;
    if (i % 32 === 31) while (s.recv() !== null);
    if (i % 256 === 255) clock.advance(1);
  }
  server.close();
  client.close();
  return ns / segments;
}
