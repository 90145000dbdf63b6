// Tests for the bench instrument's arithmetic and output (no timing): medians, spreads, ratios, targets, flags, JSON, profile self time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, measure, median, parseArgs, summarize, table, toJson, skipped } from '../../src/bench/harness.js';
import { selfTimes, type CpuProfile } from '../../bench/profile-summary.js';

test('median of odd and even sample counts', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('summarize reports median, min, max, runs and whether the target is met', () => {
  const f = summarize('x', 'MB/s', [10, 30, 20], { target: { op: '>=', value: 15 } });
  assert.deepEqual({ median: f.median, min: f.min, max: f.max, runs: f.runs, met: f.met }, { median: 20, min: 10, max: 30, runs: 3, met: true });
  const g = summarize('heap', 'B', [3000, 2500], { target: { op: '<=', value: 2048 } });
  assert.equal(g.met, false);
});

test('measure discards warm-up runs', async () => {
  const seen: number[] = [];
  const f = await measure('m', 'u', { runs: 3, warmup: 2 }, (run) => {
    seen.push(run);
    return run < 0 ? 1000 : run + 1;
  });
  assert.deepEqual(seen, [-1, -2, 0, 1, 2]);
  assert.equal(f.max, 3, 'warm-up values (1000) must not appear');
  assert.equal(f.median, 2);
});

test('compare interleaves both sides and reports per-pair ratios', async () => {
  const order: string[] = [];
  let i = 0;
  const [a, b, r] = await compare(
    'MB/s',
    { runs: 4, warmup: 0 },
    { name: 'a', fn: () => (order.push('a'), 200 + i++) },
    { name: 'b', fn: () => (order.push('b'), 100) },
    { name: 'a/b', target: { op: '>=', value: 1.5 } },
  );
  assert.deepEqual(order, ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
  assert.equal(a.runs, 4);
  assert.equal(b.median, 100);
  assert.equal(r.unit, 'x');
  assert.equal(r.min, 2);
  assert.equal(r.max, 2.03);
  assert.equal(r.met, true);
});

test('parseArgs: defaults, quick, values, and unknown flags rejected', () => {
  const d = parseArgs([]);
  assert.deepEqual({ json: d.json, quick: d.quick, runs: d.runs, warmup: d.warmup, only: d.only }, { json: false, quick: false, runs: 5, warmup: 1, only: [] });
  const q = parseArgs(['--quick', '--json', '--only', 'bulk,churn', '--warmup=0']);
  assert.deepEqual({ json: q.json, runs: q.runs, warmup: q.warmup, only: q.only }, { json: true, runs: 3, warmup: 0, only: ['bulk', 'churn'] });
  assert.equal(parseArgs(['--runs', '7']).runs, 7);
  assert.throws(() => parseArgs(['--fast']), /unknown argument/);
  assert.throws(() => parseArgs(['--runs', '0']), /positive integer/);
});

test('JSON output has the documented fields and null for unmeasured values', () => {
  const o = JSON.parse(toJson(summarize('bulk', 'MB/s', [1, 2, 3]))) as Record<string, unknown>;
  assert.deepEqual(o, { name: 'bulk', unit: 'MB/s', median: 2, min: 1, max: 3, runs: 3 });
  const s = JSON.parse(toJson(skipped('veth', 'MB/s', 'needs root'))) as Record<string, unknown>;
  assert.equal(s.median, null);
  assert.equal(s.runs, 0);
  assert.equal(s.note, 'skipped: needs root');
});

test('table aligns columns and marks unmet targets', () => {
  const t = table([summarize('synack bulk', 'MB/s', [400, 450, 420], { target: { op: '>=', value: 500 } }), skipped('veth', 'MB/s', 'needs root')]);
  const lines = t.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[2]!, /synack bulk\s+420\s+MB\/s\s+400\.\.450\s+3\s+>= 500 NOT met/);
  assert.match(lines[3]!, /veth\s+-\s+MB\/s\s+-\s+0\s+skipped: needs root/);
});

test('profile self time charges each sample interval to its function and leaves out idle', () => {
  const frame = (functionName: string, line: number) => ({ functionName, url: 'file:///w/src/x.js', lineNumber: line, columnNumber: 0 });
  const p: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 4] },
      { id: 2, callFrame: frame('emit', 9), children: [3] },
      { id: 3, callFrame: frame('checksum', 19) },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1, columnNumber: -1 } },
    ],
    startTime: 0,
    endTime: 100,
    samples: [3, 3, 2, 4, 3],
    // The interval after sample i is timeDeltas[i + 1] microseconds.
    timeDeltas: [0, 1000, 3000, 500, 2000],
  };
  const { rows, totalMs } = selfTimes(p, '/w');
  assert.equal(totalMs, 4.5);
  assert.deepEqual(
    rows.map((r) => [r.fn, r.selfMs]),
    [
      ['checksum src/x.js:20', 4],
      ['emit src/x.js:10', 0.5],
    ],
  );
});
