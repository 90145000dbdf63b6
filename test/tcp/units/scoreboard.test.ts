// SackScoreboard: Update() bookkeeping, IsLost per RFC 6675 section 4, holes, pipe, and the 2^32 wrap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SackScoreboard } from '../../../src/tcp/scoreboard.js';
import { add } from '../../../src/wire/seq.js';

const MSS = 1000;
const blk = (left: number, right: number) => ({ left: left >>> 0, right: right >>> 0 });
const rs = (s: SackScoreboard) => s.ranges().map((x) => [x.start, x.end]);

test('update records blocks, merges overlaps and reports only newly SACKed bytes', () => {
  const s = new SackScoreboard();
  assert.ok(s.isEmpty);
  assert.equal(s.highSacked, undefined);
  assert.equal(s.update(1000, 10000, [blk(3000, 4000)]), 1000);
  assert.equal(s.update(1000, 10000, [blk(3000, 4000), blk(5000, 6000)]), 1000);
  assert.equal(s.update(1000, 10000, [blk(3500, 5500)]), 1000); // fills [4000,5000)
  assert.deepEqual(rs(s), [[3000, 6000]]);
  assert.equal(s.sackedBytes, 3000);
  assert.equal(s.highSacked, 6000);
  assert.equal(s.update(1000, 10000, [blk(6000, 7000)]), 1000); // touching merges
  assert.deepEqual(rs(s), [[3000, 7000]]);
  assert.ok(!s.isEmpty);
});

test('blocks at or below SND.UNA, beyond SND.NXT or empty are ignored; straddling ones are clipped', () => {
  const s = new SackScoreboard();
  assert.equal(s.update(5000, 9000, [blk(4000, 5000)]), 0); // D-SACK style, below una
  assert.equal(s.update(5000, 9000, [blk(8000, 9500)]), 0); // beyond snd.nxt
  assert.equal(s.update(5000, 9000, [blk(7000, 7000), blk(7000, 6000)]), 0);
  assert.equal(s.update(5000, 9000, [blk(4500, 5500)]), 500);
  assert.deepEqual(rs(s), [[5000, 5500]]);
  assert.equal(s.update(5000, 9000, [blk(8000, 9000)]), 1000); // right edge == snd.nxt is fine
});

test('pruneBelow drops and clips ranges under the cumulative ACK, keeping sackedBytes right', () => {
  const s = new SackScoreboard();
  s.update(0, 10000, [blk(1000, 2000), blk(3000, 4000), blk(5000, 6000)]);
  s.pruneBelow(3500);
  assert.deepEqual(rs(s), [[3500, 4000], [5000, 6000]]);
  assert.equal(s.sackedBytes, 1500);
  s.update(6000, 10000, []); // update prunes too
  assert.ok(s.isEmpty);
  assert.equal(s.sackedBytes, 0);
  s.update(6000, 10000, [blk(7000, 8000)]);
  s.clear();
  assert.ok(s.isEmpty);
  assert.equal(s.sackedBytes, 0);
});

test('isSacked and sackedAbove', () => {
  const s = new SackScoreboard();
  s.update(0, 10000, [blk(2000, 3000), blk(5000, 5500)]);
  assert.deepEqual([1999, 2000, 2999, 3000].map((q) => s.isSacked(q)), [false, true, true, false]);
  assert.equal(s.sackedAbove(0), 1500);
  assert.equal(s.sackedAbove(2000), 999 + 500); // octets greater than 2000
  assert.equal(s.sackedAbove(3000), 500);
  assert.equal(s.sackedAbove(5499), 0);
});

test('IsLost: more than (DupThresh-1)*SMSS bytes SACKed above (RFC 6675 section 4)', () => {
  const s = new SackScoreboard();
  s.update(0, 10000, [blk(1000, 3000)]); // exactly 2*SMSS above seq 0: not yet
  assert.equal(s.isLost(0, MSS), false);
  s.update(0, 10000, [blk(3000, 3001)]); // one byte more
  assert.equal(s.isLost(0, MSS), true);
  assert.equal(s.isLost(1000, MSS), false); // above 1000 only 2000 bytes
  assert.equal(s.isLost(0, MSS, 4), false); // DupThresh 4 needs > 3*SMSS
});

test('IsLost: DupThresh discontiguous SACKed ranges above, even when small', () => {
  const s = new SackScoreboard();
  s.update(0, 10000, [blk(1000, 1100), blk(2000, 2100)]);
  assert.equal(s.isLost(0, MSS), false);
  s.update(0, 10000, [blk(3000, 3100)]);
  assert.equal(s.isLost(0, MSS), true);
  assert.equal(s.isLost(1500, MSS), false); // only two ranges above 1500
  assert.equal(s.isLost(999, MSS), true);
  assert.equal(s.isLost(1000, MSS), false); // range containing seq is not "above" it
});

test('nextHole finds the first un-SACKed range in [from, to)', () => {
  const s = new SackScoreboard();
  assert.deepEqual(s.nextHole(0, 100), { start: 0, end: 100 });
  s.update(0, 10000, [blk(1000, 2000), blk(3000, 4000)]);
  assert.deepEqual(s.nextHole(0, 10000), { start: 0, end: 1000 });
  assert.deepEqual(s.nextHole(1000, 10000), { start: 2000, end: 3000 });
  assert.deepEqual(s.nextHole(1500, 2500), { start: 2000, end: 2500 });
  assert.deepEqual(s.nextHole(3000, 10000), { start: 4000, end: 10000 });
  assert.equal(s.nextHole(1000, 2000), null);
  assert.equal(s.nextHole(3500, 3500), null);
  assert.deepEqual(s.nextHole(500, 800), { start: 500, end: 800 });
});

test('covers says whether [from, to) is wholly SACKed, as nextHole returning null does', () => {
  const s = new SackScoreboard();
  assert.equal(s.covers(0, 100), false);
  assert.equal(s.covers(50, 50), true, 'an empty range');
  s.update(0, 10000, [blk(1000, 2000), blk(2000, 2500), blk(3000, 4000)]);
  assert.equal(s.covers(1000, 2500), true, 'touching blocks merge');
  assert.equal(s.covers(1200, 1800), true);
  assert.equal(s.covers(1000, 3000), false);
  assert.equal(s.covers(900, 1100), false);
  assert.equal(s.covers(3500, 4001), false);
  for (let from = 0; from < 5000; from += 250) {
    for (let to = from; to <= 5000; to += 250) assert.equal(s.covers(from, to), s.nextHole(from, to) === null, `[${from},${to})`);
  }
});

test('everything works across the 2^32 wrap', () => {
  const s = new SackScoreboard();
  const una = 0xfffff000;
  const nxt = add(una, 10000);
  assert.equal(s.update(una, nxt, [blk(add(una, 3000), add(una, 6000))]), 3000);
  assert.equal(s.highSacked, add(una, 6000));
  assert.ok(s.isSacked(add(una, 4096))); // the byte at sequence 0
  assert.equal(s.isLost(una, MSS), true);
  assert.deepEqual(s.nextHole(una, nxt), { start: una, end: add(una, 3000) });
  assert.deepEqual(s.nextHole(add(una, 3000), nxt), { start: add(una, 6000), end: nxt });
  assert.equal(s.pipe(una, nxt, una, MSS), 4000); // hole below is lost, 4000 above in flight
  s.pruneBelow(add(una, 5000));
  assert.equal(s.sackedBytes, 1000);
});

test('pipe follows SetPipe(): lost holes drop out, retransmitted octets count again', () => {
  const s = new SackScoreboard();
  // Segments 0..9 of 1000 bytes sent; 1, 3, 4, 5 SACKed.
  s.update(0, 10000, [blk(1000, 2000), blk(3000, 6000)]);
  // Hole [0,1000): 4000 SACKed above -> lost. Hole [2000,3000): 3000 above -> lost. [6000,10000) in flight.
  assert.equal(s.pipe(0, 10000, 0, MSS), 4000);
  // After retransmitting [0,1000) (HighRxt = 999), those octets count once.
  assert.equal(s.pipe(0, 10000, 1000, MSS), 5000);
  assert.equal(s.pipe(0, 10000, 2500, MSS), 5500);
  assert.equal(new SackScoreboard().pipe(0, 5000, 0, MSS), 5000);
});

test('pipe and isLost agree with an octet-by-octet SetPipe model (property)', () => {
  fc.assert(
    fc.property(
      fc.nat(0xffffffff),
      fc.array(fc.tuple(fc.nat(60), fc.integer({ min: 1, max: 15 })), { maxLength: 8 }),
      fc.nat(60),
      fc.nat(64),
      fc.integer({ min: 1, max: 8 }),
      (base, blocks, ackOff, rxtOff, mss) => {
        const N = 64;
        const s = new SackScoreboard();
        const una = add(base, ackOff);
        const nxt = add(base, N);
        s.update(una, nxt, blocks.map(([o, l]) => blk(add(base, o), add(base, Math.min(N, o + l)))));
        const sacked = new Array<boolean>(N).fill(false);
        for (const [o, l] of blocks) {
          const e = Math.min(N, o + l);
          if (e > ackOff) for (let i = Math.max(o, ackOff); i < e; i++) sacked[i] = true;
        }
        const lost = (x: number): boolean => {
          let bytes = 0;
          let runs = 0;
          for (let i = x + 1; i < N; i++) {
            if (sacked[i]) bytes++;
            if (sacked[i] && !sacked[i - 1] && i - 1 >= x) runs += i - 1 === x && sacked[x] ? 0 : 1;
          }
          return runs >= 3 || bytes > 2 * mss;
        };
        let pipe = 0;
        let total = 0;
        for (let x = ackOff; x < N; x++) {
          if (sacked[x]) { total++; continue; }
          assert.equal(s.isLost(add(base, x), mss), lost(x), `isLost(${x})`);
          if (!lost(x)) pipe++;
          if (x < rxtOff) pipe++;
        }
        assert.equal(s.sackedBytes, total);
        assert.equal(s.pipe(una, nxt, add(base, Math.max(rxtOff, ackOff)), mss), pipe);
      },
    ),
    { numRuns: 500 },
  );
});
