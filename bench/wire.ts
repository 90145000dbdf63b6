// Benchmark of the wire layer (not a test): Internet checksum throughput and TCP header parse/emit cost.
// Run: node --import tsx bench/wire.ts [--json]
import { internetChecksum, onesSum } from '../src/wire/bytes.js';
import { simdAvailable, packetArena } from '../src/wire/simd-sum.js';
import { parseTcp, emitTcp, tcpHeaderLength, TcpFlag, type TcpRepr } from '../src/wire/tcp.js';
import { parseIpPacket, buildTcpPacket } from '../src/wire/packet.js';
import { parseIp } from '../src/wire/address.js';
import { timeNs } from './timing.js';

const RUNS = 7;
let sink = 0; // keeps results observable so the JIT cannot drop the work


function fill(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const results: { name: string; value: number; unit: string }[] = [];
function report(name: string, value: number, unit: string): void {
  results.push({ name, value, unit });
}

// Checksum throughput: aligned and at an odd offset (a subarray of a larger buffer).
for (const size of [1460, 65536]) {
  const iters = size === 1460 ? 400_000 : 10_000;
  const aligned = fill(size, 1);
  const odd = fill(size + 1, 2).subarray(1);
  const nsA = timeNs(iters, () => (sink ^= internetChecksum(aligned)));
  const nsO = timeNs(iters, () => (sink ^= internetChecksum(odd)));
  report(`checksum ${size} B (aligned)`, size / nsA, 'GB/s');
  report(`checksum ${size} B (odd offset)`, size / nsO, 'GB/s');
}

// A 1480-byte segment inside its 1500-byte packet, as the stack sums it: in a packet from the kernel's
// arena (summed where it lies) and in an ordinary buffer (copied into the kernel first).
{
  const plain = fill(1500, 4);
  const inArena = packetArena(1500);
  if (inArena !== null) {
    inArena.set(plain);
    report('checksum 1480 B segment in its packet, arena (in place)', timeNs(400_000, () => (sink ^= onesSum(inArena, 20, 1500))), 'ns/op');
  }
  report('checksum 1480 B segment in its packet, copied into the kernel', timeNs(400_000, () => (sink ^= onesSum(plain, 20, 1500))), 'ns/op');
}

// TCP header parse / emit: a typical data segment header (20 + NOP,NOP,TS = 32 bytes).
const A = parseIp('198.18.0.1')!;
const B = parseIp('198.18.0.2')!;
const repr: TcpRepr = {
  srcPort: 49152, dstPort: 80, seq: 123456, ack: 654321, flags: TcpFlag.ACK | TcpFlag.PSH, window: 502, urgent: 0,
  options: { timestamp: { val: 1, ecr: 2 } }, payload: new Uint8Array(0),
};
const headerOnly = new Uint8Array(tcpHeaderLength(repr));
emitTcp(repr, headerOnly, A, B);
const pkt1460 = buildTcpPacket(A, B, { ...repr, payload: fill(1448, 3) });
const seg1460 = pkt1460.subarray(20);
const pseudo = { src: A, dst: B };

report('parseTcp header (32 B, no checksum)', timeNs(2_000_000, () => {
  const r = parseTcp(headerOnly);
  if (r.ok) sink ^= r.value.seq;
}), 'ns/op');
report('parseTcp 1480 B segment + checksum', timeNs(500_000, () => {
  const r = parseTcp(seg1460, pseudo);
  if (r.ok) sink ^= r.value.seq;
}), 'ns/op');
report('parseIpPacket + parseTcp 1500 B + checksums', timeNs(500_000, () => {
  const ip = parseIpPacket(pkt1460);
  if (ip.ok) {
    const r = parseTcp(ip.value.payload, ip.value);
    if (r.ok) sink ^= r.value.ack;
  }
}), 'ns/op');
const out = new Uint8Array(2048);
report('emitTcp header (32 B, with checksum)', timeNs(2_000_000, (i) => {
  repr.seq = i;
  sink ^= emitTcp(repr, out, A, B);
}), 'ns/op');
const data = fill(1448, 4);
const withData: TcpRepr = { ...repr, payload: data };
report('emitTcp 1480 B segment (copy + checksum)', timeNs(500_000, (i) => {
  withData.seq = i;
  sink ^= emitTcp(withData, out, A, B);
}), 'ns/op');

if (process.argv.includes('--json')) console.log(JSON.stringify({ node: process.version, results }, null, 2));
else {
  console.log(`wire benchmarks (node ${process.version}, median of ${RUNS} runs; checksum >= 256 B: ${simdAvailable() ? 'WebAssembly SIMD' : 'JavaScript word loop'})`);
  for (const r of results) console.log(`  ${r.name.padEnd(46)} ${r.value.toFixed(r.unit === 'GB/s' ? 2 : 1).padStart(8)} ${r.unit}`);
}
if (sink === 0.5) console.log(sink);
