// Timing tests: packetdrill's tolerance window, relative anchoring, `*`, ranges, blocking calls,
// and the exact "timing error" wording a failing script prints.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptTimeline, withinTolerance, type ScheduledTime } from '../../src/pdrill/timing.js';
import type { EventTime } from '../../src/pdrill/ast.js';

function sched(tl: ScriptTimeline, time: EventTime, nowUsecs: number, inboundPacket = false, syscallEndUsecs: number | null = null): ScheduledTime {
  const r = tl.schedule(time, { nowUsecs, inboundPacket, syscallEndUsecs });
  assert.ok(r.ok, JSON.stringify(r));
  return r.time;
}

test('an event is on time within [expected - tol, expected + tol], default tol 4000 us', () => {
  assert.equal(withinTolerance(96_000, 100_000, 4000), true);
  assert.equal(withinTolerance(104_000, 100_000, 4000), true);
  assert.equal(withinTolerance(95_999, 100_000, 4000), false);
  assert.equal(withinTolerance(104_001, 100_000, 4000), false);
  const tl = new ScriptTimeline();
  const t0 = sched(tl, { kind: 'absolute', usecs: 0 }, 0);
  tl.complete(t0, false);
  const t = sched(tl, { kind: 'absolute', usecs: 100_000 }, 0);
  assert.equal(tl.check(t, 103_999, 'outbound packet'), null);
  assert.equal(
    tl.check(t, 104_001, 'outbound packet'),
    'timing error: expected outbound packet at 0.100000 sec but happened at 0.104001 sec; tolerance 0.004000 sec',
  );
  assert.equal(tl.check(t, 95_000, 'outbound packet')?.startsWith('timing error: expected outbound packet at 0.100000 sec but happened at 0.095000'), true);
  assert.equal(tl.deadline(t), 104_000);
  assert.equal(tl.earliest(t), 96_000);
});

test('relative times count from when the previous event completed; inbound packets chain on script time', () => {
  const tl = new ScriptTimeline({ toleranceUsecs: 4000, tolerancePercent: 0 });
  const a = sched(tl, { kind: 'absolute', usecs: 0 }, 0, true);
  tl.complete(a, true);
  // Consecutive inbound packets: anchored to the previous inbound's scheduled time, not "now".
  const b = sched(tl, { kind: 'relative', usecs: 100_000 }, 2_500, true);
  assert.equal(b.start, 100_000);
  tl.complete(b, true);
  // An outbound packet after an inbound one: relative to now (when the inbound was injected).
  const c = sched(tl, { kind: 'relative', usecs: 200_000 }, 101_000, false);
  assert.equal(c.start, 301_000);
  tl.complete(c, false);
  const d = sched(tl, { kind: 'relative', usecs: 0 }, 302_000, true);
  assert.equal(d.start, 302_000);
});

test('first event must be at 0 and absolute time may not go backwards', () => {
  const tl = new ScriptTimeline();
  assert.deepEqual(tl.schedule({ kind: 'absolute', usecs: 5 }, { nowUsecs: 0, inboundPacket: false }), { ok: false, message: 'first event should be at time 0' });
  tl.complete(sched(tl, { kind: 'absolute', usecs: 0 }, 0), false);
  tl.complete(sched(tl, { kind: 'absolute', usecs: 300_000 }, 0), false);
  assert.deepEqual(tl.schedule({ kind: 'absolute', usecs: 200_000 }, { nowUsecs: 300_000, inboundPacket: false }), {
    ok: false,
    message: 'time goes backward in script from 300000 usec to 200000 usec',
  });
});

test('`*` accepts any time and ranges accept [start - tol, end + tol]', () => {
  const tl = new ScriptTimeline();
  tl.complete(sched(tl, { kind: 'absolute', usecs: 0 }, 0), false);
  const any = sched(tl, { kind: 'any' }, 50_000);
  assert.equal(tl.check(any, 9_999_999, 'outbound packet'), null);
  assert.equal(tl.deadline(any), Infinity);
  tl.complete(any, false, 70_000);
  // After `*`, relative times continue from when it actually happened (the runner's now).
  const rel = sched(tl, { kind: 'relative-range', usecs: 100_000, endUsecs: 300_000 }, 70_000);
  assert.deepEqual([rel.start, rel.end], [170_000, 370_000]);
  assert.equal(tl.check(rel, 166_000, 'outbound packet'), null);
  assert.equal(tl.check(rel, 374_000, 'outbound packet'), null);
  assert.equal(
    tl.check(rel, 380_000, 'outbound packet'),
    'timing error: expected outbound packet in relative time range +0.100000~+0.300000 sec but happened at +0.310000 sec',
  );
  tl.complete(rel, false, 200_000);
  const abs = sched(tl, { kind: 'absolute-range', usecs: 400_000, endUsecs: 500_000 }, 200_000);
  assert.equal(
    tl.check(abs, 600_000, 'outbound packet'),
    'timing error: expected outbound packet in time range 0.400000~0.500000 sec but happened at 0.600000 sec',
  );
});

test('blocking calls must return at their end time; non-blocking ones must not block', () => {
  const tl = new ScriptTimeline();
  tl.complete(sched(tl, { kind: 'absolute', usecs: 0 }, 0), false);
  const acc = sched(tl, { kind: 'relative', usecs: 0 }, 10_000, false, 200_000);
  assert.deepEqual([acc.start, acc.syscallEnd], [10_000, 210_000]);
  assert.equal(tl.checkSyscallReturn(acc, 212_000), null);
  assert.equal(
    tl.checkSyscallReturn(acc, 100_000),
    'timing error: expected system call return at 0.210000 sec but happened at 0.100000 sec; tolerance 0.004000 sec',
  );
  tl.complete(acc, false);
  const absBlocking = sched(tl, { kind: 'absolute', usecs: 300_000 }, 210_000, false, 500_000);
  assert.equal(absBlocking.syscallEnd, 500_000, 'absolute start: end is absolute too');
  const nb = sched(tl, { kind: 'absolute', usecs: 600_000 }, 500_000);
  assert.equal(tl.checkSyscallReturn(nb, 600_000), null);
  assert.equal(
    tl.checkSyscallReturn(nb, 700_000),
    'timing error: expected non-blocking system call but it returned at 0.700000 sec (started 0.600000 sec)',
  );
});

test('tolerance_percent widens the window in proportion to the gap since the last event', () => {
  const tl = new ScriptTimeline({ toleranceUsecs: 4000, tolerancePercent: 10 });
  tl.complete(sched(tl, { kind: 'absolute', usecs: 0 }, 0), false);
  const t = sched(tl, { kind: 'absolute', usecs: 1_000_000 }, 0);
  assert.equal(tl.tolerance(t), 100_000);
  assert.equal(tl.check(t, 1_090_000, 'outbound packet'), null);
  const near = sched(tl, { kind: 'absolute', usecs: 10_000 }, 0);
  assert.equal(tl.tolerance(near), 4000, 'never below tolerance_usecs');
});
