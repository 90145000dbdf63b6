// The RFC 1071 checksum against a byte-at-a-time reference, at every alignment, plus pseudo-headers and RFC 1624 updates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { onesSum, foldChecksum, internetChecksum, pseudoHeaderSum, updateChecksum16 } from '../../src/wire/bytes.js';
import { simdAvailable, packetArena, kernelSubarray } from '../../src/wire/simd-sum.js';

/** Obvious reference: big-endian 16-bit words, carries folded as they happen. */
function reference(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) {
    s += (b[i]! << 8) | (b[i + 1] ?? 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

test('RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
  const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  assert.equal(foldChecksum(onesSum(b)), ~0xddf2 & 0xffff);
  assert.equal(internetChecksum(b), 0x220d);
});

test('checksum equals the reference for any contents, length and alignment, never reading outside the view', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(7), fc.integer({ min: 0, max: 255 }), (data, before, after, fill) => {
      // Embed the data at an arbitrary offset in a buffer whose surroundings are non-zero garbage.
      const big = new Uint8Array(before + data.length + after).fill(fill);
      big.set(data, before);
      const view = big.subarray(before, before + data.length);
      assert.equal(internetChecksum(view), reference(data));
    }),
    { numRuns: 3000 },
  );
});

test('partial sums over even splits compose', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2, maxLength: 2000 }), fc.nat(), (data, k) => {
      const cut = (k % data.length) & ~1;
      const s = onesSum(data, cut, data.length, onesSum(data, 0, cut));
      assert.equal(foldChecksum(s), reference(data));
    }),
    { numRuns: 2000 },
  );
});

test('a buffer with its checksum inserted verifies to zero', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 1500 }), (data) => {
      const b = data.slice();
      b[2] = 0;
      b[3] = 0;
      const c = internetChecksum(b);
      b[2] = c >>> 8;
      b[3] = c & 0xff;
      assert.equal(internetChecksum(b), 0);
    }),
    { numRuns: 2000 },
  );
});

test('very large buffers (16 MiB of 0xff) fold without losing carries', () => {
  const b = new Uint8Array(1 << 24).fill(0xff);
  assert.equal(internetChecksum(b), 0);
  b[5] = 0xfe; // one word now 0xfffe: sum is 0xfffe+carries -> 0xfffe
  assert.equal(internetChecksum(b), 0x0001);
});

test('pseudo-header sum matches the explicit IPv4 and IPv6 pseudo-header layouts', () => {
  fc.assert(
    fc.property(fc.constantFrom(4, 16), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 255 }), fc.nat(0xfffff), (n, addrs, proto, len) => {
      const src = addrs.subarray(0, n);
      const dst = addrs.subarray(16, 16 + n);
      let explicit: Uint8Array;
      if (n === 4) {
        len &= 0xffff;
        explicit = new Uint8Array([...src, ...dst, 0, proto, len >>> 8, len & 0xff]);
      } else {
        explicit = new Uint8Array([...src, ...dst, len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, 0, 0, 0, proto]);
      }
      assert.equal(foldChecksum(pseudoHeaderSum(src, dst, proto, len)), reference(explicit));
    }),
    { numRuns: 2000 },
  );
});

test('RFC 1624 incremental update equals recomputing the checksum', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (data, k, nw) => {
      const b = data.slice(0, data.length & ~1);
      const i = (k % (b.length / 2)) * 2;
      const before = internetChecksum(b);
      const old = (b[i]! << 8) | b[i + 1]!;
      b[i] = nw >>> 8;
      b[i + 1] = nw & 0xff;
      const after = internetChecksum(b);
      // One's complement has two zeros; both checksums must verify the same data.
      const inc = updateChecksum16(before, old, nw);
      assert.ok(inc === after || (inc ^ after) === 0xffff && (inc === 0 || after === 0), `inc ${inc} full ${after}`);
    }),
    { numRuns: 3000 },
  );
});

test('checksum matches the reference for every length 0..300 at every alignment 0..7 (unrolled loop tails)', () => {
  const data = new Uint8Array(320);
  for (let i = 0; i < data.length; i++) data[i] = (i * 197 + 89) & 0xff;
  for (let off = 0; off < 8; off++) {
    for (let len = 0; len <= 300; len++) {
      const big = new Uint8Array(off + len + 8).fill(0xee);
      big.set(data.subarray(0, len), off);
      assert.equal(internetChecksum(big.subarray(off, off + len)), reference(data.subarray(0, len)), `len ${len} off ${off}`);
    }
  }
});

test('the SIMD kernel (where WebAssembly SIMD exists) and the word loop agree with the reference up to 64 KiB and beyond', async () => {
  const { simdAvailable, simdOnesSumLE, SIMD_MAX } = await import('../../src/wire/simd-sum.js');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: SIMD_MAX + 40 }), fc.nat(7), fc.integer({ min: 1, max: 0xffffffff }), (len, off, seed) => {
      const big = new Uint8Array(off + len + 3).fill(0xff); // 0xff around the view: reading outside it would show
      let x = seed;
      for (let i = off; i < off + len; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        big[i] = x >>> 24;
      }
      const view = big.subarray(off, off + len);
      assert.equal(internetChecksum(view), reference(view));
      if (simdAvailable() && len <= SIMD_MAX) {
        let le = 0;
        for (let i = 0; i < len; i += 2) le += view[i]! | ((view[i + 1] ?? 0) << 8);
        assert.equal(simdOnesSumLE(big, off, off + len), le);
      }
    }),
    { numRuns: 200 },
  );
  // All-0xff input is the largest sum the kernel's lanes must hold.
  const ones = new Uint8Array(SIMD_MAX).fill(0xff);
  assert.equal(internetChecksum(ones), 0);
  if (simdAvailable()) assert.equal(simdOnesSumLE(ones, 0, SIMD_MAX), (SIMD_MAX / 2) * 0xffff);
});

test('link slots of the kernel memory: two to take, given back for reuse, nothing else taken back', async () => {
  const { simdAvailable, takeLinkSlot, giveLinkSlot, kernelMemory, LINK_SLOT_BYTES } = await import('../../src/wire/simd-sum.js');
  if (!simdAvailable()) {
    assert.equal(takeLinkSlot(), null, 'no kernel, no slot');
    return;
  }
  const a = takeLinkSlot();
  const b = takeLinkSlot();
  assert.ok(a !== null && b !== null);
  assert.equal(a.length, LINK_SLOT_BYTES);
  assert.equal(a.buffer, kernelMemory()!.buffer, 'a view of the kernel memory');
  assert.ok(a.byteOffset + a.length <= b.byteOffset || b.byteOffset + b.length <= a.byteOffset, 'the slots do not overlap');
  assert.equal(takeLinkSlot(), null, 'two slots only');
  giveLinkSlot(new Uint8Array(LINK_SLOT_BYTES)); // not a slot: ignored
  giveLinkSlot(kernelMemory()!.subarray(0, LINK_SLOT_BYTES)); // kernel memory, but not a slot's place
  assert.equal(takeLinkSlot(), null, 'nothing but a slot comes back');
  giveLinkSlot(a);
  giveLinkSlot(a); // twice: once only
  const c = takeLinkSlot();
  assert.equal(c?.byteOffset, a.byteOffset, 'the slot given back is taken again');
  assert.equal(takeLinkSlot(), null);
  giveLinkSlot(b);
  giveLinkSlot(c!);
});

test('packets in the kernel arena are summed in place, with the same result as a copy', async () => {
  const { simdAvailable, packetArena } = await import('../../src/wire/simd-sum.js');
  if (!simdAvailable()) {
    assert.equal(packetArena(100), null, 'no kernel, no arena');
    return;
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 9100 }), fc.nat(70), fc.nat(70), fc.integer({ min: 1, max: 0xffffffff }), (len, head, tail, seed) => {
      // 0xff around the range inside the arena packet: reading past either end would show.
      const pkt = packetArena(head + len + tail);
      assert.ok(pkt !== null);
      pkt.fill(0xff);
      let x = seed;
      for (let i = head; i < head + len; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        pkt[i] = x >>> 24;
      }
      const copy = pkt.slice(head, head + len);
      assert.equal(internetChecksum(pkt.subarray(head, head + len)), reference(copy));
      assert.equal(foldChecksum(onesSum(pkt, head, head + len)), reference(copy));
    }),
    { numRuns: 200 },
  );
});

test('kernelSubarray reuses the view of a recurring range of the kernel memory, and is subarray elsewhere', (t) => {
  if (!simdAvailable()) return t.skip('no WebAssembly SIMD kernel here: nothing lives in its memory');
  const pkt = packetArena(1500)!;
  for (let i = 0; i < pkt.length; i++) pkt[i] = i & 0xff;
  const a = kernelSubarray(pkt, 52, 1500);
  assert.deepEqual(a, pkt.subarray(52, 1500));
  assert.equal(kernelSubarray(pkt, 52, 1500), a, 'the same range: the same view');
  assert.notEqual(kernelSubarray(pkt, 52, 1400), a, 'another length: another view');
  assert.deepEqual(kernelSubarray(pkt, 52, 1400), pkt.subarray(52, 1400));
  assert.equal(kernelSubarray(pkt, 60, 100).length, 40); // small: a fresh subarray
  assert.notEqual(kernelSubarray(pkt, 60, 100), kernelSubarray(pkt, 60, 100));
  const plain = new Uint8Array(1500);
  assert.notEqual(kernelSubarray(plain, 52, 1500), kernelSubarray(plain, 52, 1500), 'outside the kernel memory: subarray');
  pkt[52] = 0xaa;
  assert.equal(a[0], 0xaa, 'a view, not a copy');
});
