// Sequence arithmetic across the 2^32 wrap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { add, sub, lt, le, gt, ge, inWindow, wrap } from '../../src/wire/seq.js';

test('comparisons hold across the wrap', () => {
  assert.ok(lt(0xfffffff0, 0x10));
  assert.ok(gt(0x10, 0xfffffff0));
  assert.ok(le(5, 5) && ge(5, 5) && !lt(5, 5));
  assert.equal(add(0xffffffff, 1), 0);
  assert.equal(sub(0x10, 0xfffffff0), 0x20);
  assert.equal(sub(0xfffffff0, 0x10), -0x20);
});

test('inWindow treats the window as [start, start+len) mod 2^32', () => {
  assert.ok(inWindow(0xfffffffe, 0xfffffff0, 0x20));
  assert.ok(inWindow(0x0f, 0xfffffff0, 0x20));
  assert.ok(!inWindow(0x10, 0xfffffff0, 0x20));
  assert.ok(!inWindow(0xfffffff0, 0xfffffff0, 0));
});

test('add/sub are inverse and ordering is antisymmetric (property)', () => {
  fc.assert(
    fc.property(fc.nat(0xffffffff), fc.integer({ min: -0x7fffffff, max: 0x7fffffff }), (a, n) => {
      const b = add(a, n);
      assert.equal(sub(b, a), n);
      assert.equal(wrap(b), b);
      if (n > 0) assert.ok(lt(a, b) && gt(b, a));
      if (n < 0) assert.ok(gt(a, b) && lt(b, a));
    }),
    { numRuns: 5000 },
  );
});
