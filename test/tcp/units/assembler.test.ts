// Assembler: merge cases, range limit, popFront shifting, RFC 2018 SACK block order (also across
// the 2^32 wrap), and a bitmap model check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Assembler } from '../../../src/tcp/assembler.js';

const r = (a: Assembler): [number, number][] => a.ranges().map((x) => [x.start, x.end]);

test('disjoint adds stay sorted; touching and overlapping adds merge', () => {
  const a = new Assembler();
  assert.ok(a.isEmpty);
  a.add(20, 5);
  a.add(5, 5);
  a.add(40, 10);
  assert.deepEqual(r(a), [[5, 10], [20, 25], [40, 50]]);
  a.add(10, 2); // touches [5,10) on the right
  assert.deepEqual(r(a), [[5, 12], [20, 25], [40, 50]]);
  a.add(18, 2); // touches [20,25) on the left
  assert.deepEqual(r(a), [[5, 12], [18, 25], [40, 50]]);
  a.add(21, 2); // contained
  assert.deepEqual(r(a), [[5, 12], [18, 25], [40, 50]]);
  a.add(11, 31); // bridges three ranges
  assert.deepEqual(r(a), [[5, 50]]);
  a.add(0, 100); // swallows everything
  assert.deepEqual(r(a), [[0, 100]]);
  assert.equal(a.count, 1);
  assert.equal(a.bytes, 100);
  assert.ok(!a.isEmpty);
});

test('empty adds record nothing; bytes before offset 0 are trimmed', () => {
  const a = new Assembler();
  assert.equal(a.add(10, 0), true);
  assert.ok(a.isEmpty);
  a.add(-5, 10);
  assert.deepEqual(r(a), [[0, 5]]);
  a.add(-10, 3);
  assert.deepEqual(r(a), [[0, 5]]);
});

test('add fails without recording when it would exceed maxRanges, but merges still succeed', () => {
  const a = new Assembler(3);
  assert.ok(a.add(10, 1));
  assert.ok(a.add(20, 1));
  assert.ok(a.add(30, 1));
  assert.equal(a.add(40, 1), false);
  assert.equal(a.add(0, 1), false);
  assert.deepEqual(r(a), [[10, 11], [20, 21], [30, 31]]);
  assert.ok(a.add(11, 9)); // joins two ranges: fewer ranges, allowed
  assert.deepEqual(r(a), [[10, 21], [30, 31]]);
  assert.ok(a.add(40, 1));
  assert.equal(a.count, 3);
});

test('popFront removes the run at offset 0 and shifts the rest down', () => {
  const a = new Assembler();
  a.add(10, 5);
  a.add(30, 5);
  assert.equal(a.popFront(), 0);
  assert.equal(a.peekFront(), 0);
  a.add(0, 10); // fills the gap before [10,15)
  assert.equal(a.peekFront(), 15);
  assert.equal(a.popFront(), 15);
  assert.deepEqual(r(a), [[15, 20]]);
  assert.equal(a.popFront(), 0);
  a.add(0, 15);
  assert.equal(a.popFront(), 20);
  assert.ok(a.isEmpty);
  assert.equal(a.end, 0);
});

test('advance forgets bytes below the new RCV.NXT and shifts the rest', () => {
  const a = new Assembler();
  a.add(10, 5);
  a.add(20, 10);
  a.advance(12);
  assert.deepEqual(r(a), [[0, 3], [8, 18]]);
  a.advance(25);
  assert.ok(a.isEmpty);
  assert.ok(!a.contains(0));
});

test('contains reports held offsets', () => {
  const a = new Assembler();
  a.add(3, 2);
  assert.deepEqual([2, 3, 4, 5].map((o) => a.contains(o)), [false, true, true, false]);
});

test('SACK blocks: the most recently touched range first, the rest most recent first (RFC 2018 section 4)', () => {
  const a = new Assembler();
  const nxt = 1000;
  a.add(100, 10); // A
  a.add(300, 10); // B
  a.add(200, 10); // C
  assert.deepEqual(a.sackBlocks(nxt, 4), [
    { left: 1200, right: 1210 },
    { left: 1300, right: 1310 },
    { left: 1100, right: 1110 },
  ]);
  a.add(110, 5); // extends A: A becomes most recent
  assert.deepEqual(a.sackBlocks(nxt, 4), [
    { left: 1100, right: 1115 },
    { left: 1200, right: 1210 },
    { left: 1300, right: 1310 },
  ]);
  a.add(302, 2); // a duplicate inside B still marks B as holding the triggering segment
  assert.deepEqual(a.sackBlocks(nxt, 2), [
    { left: 1300, right: 1310 },
    { left: 1100, right: 1115 },
  ]);
  a.add(115, 85); // merges A and C: the merged block goes first
  assert.deepEqual(a.sackBlocks(nxt, 3), [
    { left: 1100, right: 1210 },
    { left: 1300, right: 1310 },
  ]);
  assert.deepEqual(a.sackBlocks(nxt, 0), []);
  assert.deepEqual(new Assembler().sackBlocks(nxt, 4), []);
});

test('SACK blocks are absolute sequence numbers modulo 2^32 across the wrap', () => {
  const a = new Assembler();
  const nxt = 0xfffffff0;
  a.add(8, 16); // crosses 2^32
  a.add(40, 4);
  assert.deepEqual(a.sackBlocks(nxt, 4), [
    { left: 0x18, right: 0x1c },
    { left: 0xfffffff8, right: 0x08 },
  ]);
  a.add(0, 8);
  assert.equal(a.popFront(), 24);
  assert.deepEqual(a.sackBlocks((nxt + 24) >>> 0, 4), [{ left: 0x18, right: 0x1c }]);
});

test('matches a bitmap model under random adds and pops (property)', () => {
  const SIZE = 96;
  const opArb = fc.oneof(
    { weight: 5, arbitrary: fc.record({ k: fc.constant('add' as const), off: fc.integer({ min: -4, max: 80 }), len: fc.nat(16) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('pop' as const) }) },
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.array(opArb, { maxLength: 60 }), (maxRanges, ops) => {
      const a = new Assembler(maxRanges);
      let bits: boolean[] = new Array<boolean>(SIZE * 2).fill(false);
      const runs = (b: boolean[]): [number, number][] => {
        const out: [number, number][] = [];
        for (let i = 0; i < b.length; i++) {
          if (b[i] && (i === 0 || !b[i - 1])) out.push([i, i]);
          if (b[i]) out[out.length - 1]![1] = i + 1;
        }
        return out;
      };
      let lastTouched: [number, number] | undefined;
      for (const op of ops) {
        if (op.k === 'add') {
          const next = bits.slice();
          for (let i = Math.max(0, op.off); i < op.off + op.len; i++) next[i] = true;
          const fits = runs(next).length <= maxRanges;
          assert.equal(a.add(op.off, op.len), fits);
          if (fits) {
            bits = next;
            if (op.off + op.len > Math.max(0, op.off)) {
              lastTouched = runs(bits).find(([s, e]) => s <= Math.max(0, op.off) && Math.max(0, op.off) < e);
            }
          }
        } else {
          const first = runs(bits)[0];
          const k = first && first[0] === 0 ? first[1] : 0;
          assert.equal(a.popFront(), k);
          if (k > 0) {
            bits = bits.slice(k).concat(new Array<boolean>(k).fill(false));
            if (lastTouched && lastTouched[0] === 0) lastTouched = undefined;
            else if (lastTouched) lastTouched = [lastTouched[0] - k, lastTouched[1] - k];
          }
        }
        assert.deepEqual(r(a), runs(bits));
        assert.equal(a.isEmpty, runs(bits).length === 0);
        const blocks = a.sackBlocks(0, 4);
        assert.equal(blocks.length, Math.min(4, runs(bits).length));
        if (lastTouched && blocks.length > 0) assert.deepEqual(blocks[0], { left: lastTouched[0], right: lastTouched[1] });
      }
    }),
    { numRuns: 400 },
  );
});
