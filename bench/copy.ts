// Benchmark (not a test): ways to copy a 1,448-byte segment payload between a ring buffer, a packet
// and the application's array without making a view per copy, in ns per copy (median of 7 runs).
// Run: node --import tsx bench/copy.ts   (docs/performance.md, "Copies without a view per copy")
import { kernelMemory, kernelSubarray, packetArena, ringArena } from '../src/wire/simd-sum.js';
import { RingBuffer } from '../src/tcp/ring-buffer.js';
import { timeNs } from './timing.js';

const N = 1448;
const RUNS = 7;
let sink = 0;

const mem = kernelMemory();
const ring = ringArena(256 * 1024) ?? new Uint8Array(256 * 1024);
const packet = packetArena(1500) ?? new Uint8Array(1500);
const app = new Uint8Array(64 * 1024);
for (let i = 0; i < ring.length; i++) ring[i] = i * 7;
const ITERS = 400_000;
const rows: [string, number][] = [];
// The ring's offsets cycle as a bulk transfer's do: one segment further each copy.
const at = (i: number): number => (i * N) % (ring.length - N);

rows.push(['ring -> application array: subarray + set (a view per copy)', timeNs(ITERS, (i) => {
  const o = at(i);
  app.set(ring.subarray(o, o + N), 0);
  sink ^= app[7]!;
})]);
rows.push(['ring -> application array: byte loop', timeNs(ITERS / 4, (i) => {
  const o = at(i);
  for (let k = 0; k < N; k++) app[k] = ring[o + k]!;
  sink ^= app[7]!;
})]);
if (mem !== null && ring.buffer === mem.buffer && packet.buffer === mem.buffer) {
  rows.push(['ring -> packet, both in WebAssembly memory: copyWithin', timeNs(ITERS, (i) => {
    const o = ring.byteOffset + at(i);
    mem.copyWithin(packet.byteOffset + 52, o, o + N);
    sink ^= packet[60]!;
  })]);
  rows.push(['ring -> packet, both in WebAssembly memory: subarray + set', timeNs(ITERS, (i) => {
    const o = at(i);
    packet.set(ring.subarray(o, o + N), 52);
    sink ^= packet[60]!;
  })]);
}
const src = new Uint8Array(256 * 1024).fill(3);
rows.push(['application array -> ring: subarray + set', timeNs(ITERS, () => {
  ring.set(src.subarray(0, N), 0);
  sink ^= ring[9]!;
})]);
// RingBuffer itself: a ring drained to its start by every read copies the same range out each time
// (the slot's view is reused; a reader that keeps up), against a full ring whose reads move on by a
// segment (a view made per read, as before). Each also writes as much of a large array back
// (the writer's view of the array's start is reused in both).
const appN = new Uint8Array(N);
const drained = new RingBuffer(N); // room for one segment: each write takes N bytes of the array
rows.push(['RingBuffer: write(256 KiB array) + readInto, drained ring (views reused)', timeNs(ITERS, () => {
  sink ^= drained.write(src);
  sink ^= drained.readInto(appN);
})]);
const full = new RingBuffer(256 * 1024);
full.write(src);
rows.push(['RingBuffer: readInto + write(256 KiB array), full ring (a view per read)', timeNs(ITERS, () => {
  sink ^= full.readInto(appN);
  sink ^= full.write(src);
})]);
// kernelSubarray's map (the parser's reused payload views), tried for the rings' views first.
const made = kernelSubarray(ring, 0, N);
rows.push(['kernelSubarray lookup alone (same range)', timeNs(ITERS, () => {
  sink ^= kernelSubarray(ring, 0, N).length;
})]);
rows.push(['set from a view made once', timeNs(ITERS, () => {
  app.set(made, 0);
  sink ^= app[7]!;
})]);

console.log(`copy benchmarks (node ${process.version}, ${N} bytes per copy, median of ${RUNS} runs; WebAssembly memory: ${mem !== null})`);
for (const [name, ns] of rows) console.log(`  ${name.padEnd(70)} ${ns.toFixed(1).padStart(8)} ns`);
if (sink === 0.5) console.log(sink);
