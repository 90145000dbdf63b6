// RingBuffer: wraparound, out-of-order placement with writeAt/commit, lazy storage, and a model check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RingBuffer, ringPoolBytes } from '../../../src/tcp/ring-buffer.js';
import { seededRandom } from '../../../src/util/random.js';

const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);
const seqBytes = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

test('storage is allocated on first write and released only when empty', () => {
  const r = new RingBuffer(8);
  assert.equal(r.allocated, false);
  assert.equal(r.read(4), null);
  assert.equal(r.peek(0, 4).length, 0);
  assert.equal(r.free, 8);
  assert.equal(r.write(new Uint8Array(0)), 0);
  assert.equal(r.allocated, false);
  r.write(bytes(1, 2, 3));
  assert.equal(r.allocated, true);
  assert.equal(r.release(), false); // still holds data
  assert.equal(r.allocated, true);
  assert.deepEqual(r.read(10), bytes(1, 2, 3));
  assert.equal(r.release(), true);
  assert.equal(r.allocated, false);
  r.write(bytes(9));
  assert.deepEqual(r.read(1), bytes(9));
});

test('one large write takes storage of its size (in 4 KiB steps), not the next power of two; small growth still doubles', () => {
  // The storage's size shows in the shared pool once released.
  const sizeOf = (r: RingBuffer): number => {
    const before = ringPoolBytes();
    r.read(r.length);
    assert.equal(r.release(), true);
    return ringPoolBytes() - before;
  };
  const answer = new RingBuffer(256 * 1024);
  answer.write(new Uint8Array(300)); // an HTTP response's headers ...
  answer.write(new Uint8Array(65536)); // ... then its 64 KiB body
  assert.equal(sizeOf(answer), 69632, '65,836 bytes rounded up to 4 KiB (was 131,072)');
  const stream = new RingBuffer(256 * 1024);
  stream.write(new Uint8Array(3000));
  stream.write(new Uint8Array(3000)); // 6,000 bytes: doubling from 4,096 gives 8,192
  assert.equal(sizeOf(stream), 8192);
  const capped = new RingBuffer(70_000);
  capped.write(new Uint8Array(69_999));
  assert.equal(sizeOf(capped), 73_728, 'in 4 KiB steps');
  // Doubling stops at the capacity rounded up to a power of two, so that send buffers autotuned to
  // any capacity (src/tcp/send-buffer.ts) take storage of the few sizes the pool holds.
  const grown = new RingBuffer(70_000);
  for (let i = 0; i < 23; i++) grown.write(new Uint8Array(3000));
  assert.equal(sizeOf(grown), 131_072);
  const raised = new RingBuffer(16_384);
  raised.write(new Uint8Array(16_384));
  raised.resize(3_000_000); // autotuning raises the capacity: nothing is copied or allocated
  assert.equal(raised.length, 16_384);
  raised.write(new Uint8Array(10_000));
  assert.equal(sizeOf(raised), 32_768, 'grown by doubling as bytes came');
});

test('write copies only what fits; length and free track it', () => {
  const r = new RingBuffer(5);
  assert.equal(r.write(bytes(1, 2, 3)), 3);
  assert.equal(r.write(bytes(4, 5, 6, 7)), 2);
  assert.equal(r.length, 5);
  assert.equal(r.free, 0);
  assert.equal(r.write(bytes(8)), 0);
  assert.deepEqual(r.read(5), bytes(1, 2, 3, 4, 5));
});

test('data wraps around the end of storage; peek returns a view when contiguous, a copy across the wrap', () => {
  const r = new RingBuffer(8);
  r.write(seqBytes(0, 6));
  r.consume(5); // head at 5, one byte stored (value 5); stays put because data remains
  assert.equal(r.write(seqBytes(6, 6)), 6); // bytes 6..11 occupy indices 6,7,0,1,2,3
  assert.equal(r.length, 7);
  const contiguous = r.peek(0, 3); // indices 5,6,7
  assert.deepEqual(contiguous, bytes(5, 6, 7));
  const across = r.peek(1, 5); // indices 6,7,0,1,2
  assert.deepEqual(across, bytes(6, 7, 8, 9, 10));
  // The contiguous peek is a view into storage; the cross-wrap one is a private copy.
  r.consume(3);
  r.write(bytes(0xaa, 0xbb, 0xcc));
  assert.deepEqual(across, bytes(6, 7, 8, 9, 10));
  assert.deepEqual(r.read(100), bytes(8, 9, 10, 11, 0xaa, 0xbb, 0xcc));
});

test('peek clips to the readable data', () => {
  const r = new RingBuffer(8);
  r.write(bytes(1, 2, 3));
  assert.deepEqual(r.peek(2, 10), bytes(3));
  assert.equal(r.peek(5, 2).length, 0);
  assert.equal(r.length, 3);
});

test('read returns a fresh copy the caller owns', () => {
  const r = new RingBuffer(4);
  r.write(bytes(1, 2));
  const out = r.read(2)!;
  r.write(bytes(7, 8));
  assert.deepEqual(out, bytes(1, 2));
});

test('writeAt places out-of-order data invisibly; commit makes it readable after the gap is filled', () => {
  const r = new RingBuffer(10);
  r.write(bytes(0, 1));
  // Receive bytes 5..7 before 2..4 (offsets are past the readable end).
  assert.equal(r.writeAt(3, bytes(5, 6, 7)), 3);
  assert.equal(r.length, 2);
  assert.equal(r.uncommitted, 6);
  assert.deepEqual(r.read(10), bytes(0, 1)); // out-of-order data is not readable
  assert.equal(r.uncommitted, 6);
  // The gap arrives in order: write() appends at offset 0 and shifts the pending offsets down.
  assert.equal(r.write(bytes(2, 3, 4)), 3);
  assert.equal(r.uncommitted, 3);
  r.commit(3);
  assert.equal(r.uncommitted, 0);
  assert.deepEqual(r.read(10), bytes(2, 3, 4, 5, 6, 7));
});

test('writeAt across the wrap and clipped to capacity; commit clipped to free space', () => {
  const r = new RingBuffer(8);
  r.write(seqBytes(0, 6));
  r.consume(6); // drained with nothing pending: head rewinds to 0
  r.write(seqBytes(0, 6));
  r.consume(5); // head at 5, one byte
  assert.equal(r.writeAt(1, bytes(0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8)), 6); // room after 1 stored + 1 gap
  assert.equal(r.writeAt(0, bytes(0x99)), 1);
  r.commit(100);
  assert.equal(r.length, 8);
  assert.deepEqual(r.read(8), bytes(5, 0x99, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6));
  assert.equal(r.writeAt(9, bytes(1)), 0);
  assert.equal(r.writeAt(-1, bytes(1)), 0);
});

test('release keeps storage while writeAt bytes are pending; discardUncommitted lets it go', () => {
  const r = new RingBuffer(8);
  r.writeAt(4, bytes(1, 2));
  assert.equal(r.release(), false);
  assert.equal(r.allocated, true);
  r.discardUncommitted();
  assert.equal(r.release(), true);
  assert.equal(r.allocated, false);
});

test('draining with no pending data rewinds so later writes are contiguous', () => {
  const r = new RingBuffer(8);
  r.write(seqBytes(0, 7));
  r.consume(7);
  r.write(seqBytes(10, 8));
  const view = r.peek(0, 8);
  assert.deepEqual(view, seqBytes(10, 8));
  assert.equal(view.byteLength, 8);
  r.consume(8);
});

test('draining does not rewind while writeAt data waits past the end', () => {
  const r = new RingBuffer(8);
  r.write(bytes(1, 2, 3));
  r.writeAt(1, bytes(9));
  r.consume(3);
  r.write(bytes(8));
  r.commit(1);
  assert.deepEqual(r.read(8), bytes(8, 9));
});

test('resize keeps readable and pending bytes in order', () => {
  const r = new RingBuffer(5);
  r.write(bytes(1, 2, 3));
  r.consume(2);
  r.write(bytes(4, 5, 6)); // wraps
  r.writeAt(0, bytes(7));
  r.resize(10);
  assert.equal(r.capacity, 10);
  r.commit(1);
  r.write(bytes(8, 9));
  assert.deepEqual(r.read(20), bytes(3, 4, 5, 6, 7, 8, 9));
  assert.throws(() => { r.write(bytes(1, 2, 3)); r.resize(2); }, RangeError);
  const idle = new RingBuffer(4);
  idle.resize(16);
  assert.equal(idle.allocated, false);
  assert.equal(idle.write(new Uint8Array(16)), 16);
});

test('readInto copies into a caller buffer across the wrap', () => {
  const r = new RingBuffer(6);
  r.write(seqBytes(0, 5));
  r.consume(4);
  r.write(seqBytes(5, 4));
  const dst = new Uint8Array(10);
  assert.equal(r.readInto(dst), 5);
  assert.deepEqual(dst.subarray(0, 5), seqBytes(4, 5));
  assert.equal(r.readInto(dst), 0);
});

type Op =
  | { k: 'write'; n: number; v: number }
  | { k: 'read'; n: number }
  | { k: 'peek'; off: number; n: number }
  | { k: 'consume'; n: number }
  | { k: 'writeAt'; off: number; n: number; v: number }
  | { k: 'commit'; n: number }
  | { k: 'release' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('write' as const), n: fc.nat(40), v: fc.nat(255) }),
  fc.record({ k: fc.constant('read' as const), n: fc.nat(40) }),
  fc.record({ k: fc.constant('peek' as const), off: fc.nat(40), n: fc.nat(40) }),
  fc.record({ k: fc.constant('consume' as const), n: fc.nat(40) }),
  fc.record({ k: fc.constant('writeAt' as const), off: fc.nat(40), n: fc.nat(40), v: fc.nat(255) }),
  fc.record({ k: fc.constant('commit' as const), n: fc.nat(40) }),
  fc.record({ k: fc.constant('release' as const) }),
);

test('matches a plain array model under random operations (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 37 }), fc.array(opArb, { maxLength: 80 }), (cap, ops) => {
      const r = new RingBuffer(cap);
      // Model: readable bytes, plus a sparse "area" of bytes past the end (index = offset).
      let data: number[] = [];
      let area: (number | undefined)[] = [];
      const fillOf = (n: number, v: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (v + i) & 0xff);
      for (const op of ops) {
        switch (op.k) {
          case 'write': {
            const src = fillOf(op.n, op.v);
            const n = Math.min(op.n, cap - data.length);
            assert.equal(r.write(src), n);
            data.push(...src.subarray(0, n));
            area = area.slice(n);
            break;
          }
          case 'read': {
            const got = r.read(op.n);
            const n = Math.min(op.n, data.length);
            if (n === 0) assert.equal(got, null);
            else Array.from(got!).forEach((b, i) => { if (data[i] !== -1) assert.equal(b, data[i]); });
            if (n > 0) assert.equal(got!.length, n);
            data = data.slice(n);
            break;
          }
          case 'peek': {
            const got = Array.from(r.peek(op.off, op.n));
            const want = data.slice(op.off, op.off + op.n);
            assert.equal(got.length, want.length);
            got.forEach((b, i) => { if (want[i] !== -1) assert.equal(b, want[i]); });
            break;
          }
          case 'consume':
            r.consume(op.n);
            data = data.slice(op.n);
            break;
          case 'writeAt': {
            const src = fillOf(op.n, op.v);
            const n = Math.max(0, Math.min(op.n, cap - data.length - op.off));
            assert.equal(r.writeAt(op.off, src), n);
            for (let i = 0; i < n; i++) area[op.off + i] = src[i]!;
            break;
          }
          case 'commit': {
            const n = Math.min(op.n, cap - data.length);
            r.commit(n);
            // Only compare bytes the model knows; commit of never-written bytes is the caller's bug.
            for (let i = 0; i < n; i++) data.push(area[i] ?? -1);
            area = area.slice(n);
            break;
          }
          case 'release':
            r.release();
            if (data.length === 0 && area.every((b) => b === undefined) && area.length === 0) assert.equal(r.allocated, false);
            break;
        }
        assert.equal(r.length, data.length);
        assert.equal(r.free, cap - data.length);
        const all = Array.from(r.peek(0, cap));
        assert.equal(all.length, data.length);
        all.forEach((b, i) => { if (data[i] !== -1) assert.equal(b, data[i]); });
      }
    }),
    { numRuns: 500 },
  );
});

test('peeks across the wrap return the right bytes lap after lap from one reused scratch buffer', () => {
  const r = new RingBuffer(16);
  let next = 0;
  let buffer: ArrayBufferLike | null = null;
  for (let lap = 0; lap < 20; lap++) {
    while (r.free > 0) r.write(Uint8Array.of(next++ & 0xff));
    const first = (next - r.length) & 0xff;
    r.consume(5); // the head moves on by 5 each lap, so the 16-byte window soon wraps
    r.write(Uint8Array.of(next++ & 0xff, next++ & 0xff, next++ & 0xff, next++ & 0xff, next++ & 0xff));
    const got = r.peek(0, 16);
    assert.deepEqual([...got], Array.from({ length: 16 }, (_, i) => (first + 5 + i) & 0xff), `lap ${lap}`);
    if (got.buffer !== r.peek(0, 1).buffer) {
      // Wrapped: the copy lives in the ring's scratch, the same one every time.
      buffer ??= got.buffer;
      assert.equal(got.buffer, buffer);
    }
  }
  assert.ok(buffer !== null, 'some peeks wrapped');
});

test('copyOut into a packet in the kernel memory (copyWithin, no view) gives the same bytes as into a plain array, wrapped or not', async (t) => {
  const { packetArena, kernelMemory } = await import('../../../src/wire/simd-sum.js');
  if (kernelMemory() === null) return t.skip('no WebAssembly SIMD kernel here: rings and packets never share a memory');
  const r = seededRandom(7);
  const ring = new RingBuffer(8192);
  const plainRing = new RingBuffer(100); // below the arena's 4 KiB minimum: plain storage
  let shared = 0;
  for (let step = 0; step < 200; step++) {
    const chunk = new Uint8Array(1 + (r.u32() % 3000));
    for (let i = 0; i < chunk.length; i++) chunk[i] = r.u32() & 0xff;
    ring.write(chunk);
    const off = r.u32() % (ring.length + 1);
    const len = r.u32() % (ring.length - off + 1);
    const pkt = packetArena(len + 40)!;
    const plain = new Uint8Array(len + 40);
    pkt.fill(0xee);
    plain.fill(0xee);
    assert.equal(ring.copyOut(off, len, pkt, 40), len);
    ring.copyOut(off, len, plain, 40);
    assert.deepEqual(pkt, plain);
    assert.deepEqual(pkt.subarray(40), ring.peek(off, len));
    if (pkt.buffer === kernelMemory()!.buffer) shared++;
    ring.consume(r.u32() % (ring.length + 1));
  }
  assert.ok(shared > 0, 'some packets came from the arena');
  plainRing.write(new Uint8Array([1, 2, 3]));
  const pkt = packetArena(8)!;
  plainRing.copyOut(1, 2, pkt, 6);
  assert.deepEqual([...pkt.subarray(6)], [2, 3]);
});

test('partial writes of one array reuse views of it and still copy what the array holds now', () => {
  const r = new RingBuffer(64);
  const src = seqBytes(0, 100);
  assert.equal(r.write(src), 64); // only part of src fits: a view of its first 64 bytes
  assert.deepEqual(r.read(64), seqBytes(0, 64));
  src.fill(9, 0, 64); // the application changed its array: the same range again gives the new bytes
  assert.equal(r.write(src), 64);
  assert.deepEqual(r.read(64), new Uint8Array(64).fill(9));
  // Another array of the same length at the same range is another source, not the cached view.
  const other = seqBytes(5, 100);
  assert.equal(r.write(other), 64);
  assert.deepEqual(r.read(64), seqBytes(5, 64));
  assert.equal(r.write(src), 64);
  assert.deepEqual(r.read(64), new Uint8Array(64).fill(9));
  // Reads into the application's array across the wrap take the right two pieces.
  r.write(seqBytes(0, 60));
  r.consume(50);
  r.write(seqBytes(60, 30));
  const dst = new Uint8Array(40);
  assert.equal(r.readInto(dst), 40);
  assert.deepEqual(dst, seqBytes(50, 40));
});
