// `synack bench` run in-process: JSON figures from a small memory run, the group list, help, and
// usage errors. Only the shape and sanity of the output is checked (benchmarks measure speed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    isTTY: false,
    env: {},
    readFile: () => {
      throw new Error('no files');
    },
    writeFile: () => {},
  };
  const code = await main(argv, io);
  return { code, out, err };
}

test('synack bench --json --only memory prints one JSON object per figure with name, unit and median', async () => {
  const r = await run(['bench', '--quick', '--only', 'memory', '--json', '--counts', '400', '--runs', '1']);
  assert.equal(r.code, 0, r.err);
  const figures = r.out.trim().split('\n').map((l) => JSON.parse(l) as { name: string; unit: string; median: number; runs: number; target?: unknown; met?: boolean });
  assert.deepEqual(figures.map((f) => f.name), ['synack heap per idle connection @400', 'synack RSS per idle connection @400']);
  for (const f of figures) {
    assert.equal(f.unit, 'B');
    assert.equal(f.runs, 1);
    assert.equal(typeof f.median, 'number');
  }
  // 400 established pairs cost real heap: more than a few bytes, less than the 17 KiB of lwIP in WASM.
  const heap = figures[0]!;
  assert.ok(heap.median > 200 && heap.median < 17 * 1024, `heap per connection ${heap.median}`);
  assert.deepEqual(heap.target, { op: '<=', value: 2048 });
  assert.equal(typeof heap.met, 'boolean');
  assert.match(r.err, /group memory/, 'progress goes to standard error');
});

test('synack bench --list names the groups; help describes the options', async () => {
  const list = await run(['bench', '--list']);
  assert.equal(list.code, 0);
  for (const g of ['bulk', 'churn', 'memory', 'scaling', 'veth']) assert.match(list.out, new RegExp(`^${g} `, 'm'));
  const help = await run(['help', 'bench']);
  assert.equal(help.code, 0);
  assert.match(help.out, /synack bench \[--json\] \[--quick\]/);
  const top = await run(['help']);
  assert.match(top.out, /^\s+bench\s/m);
});

test('synack bench rejects unknown groups and flags with status 2', async () => {
  const g = await run(['bench', '--only', 'nosuch']);
  assert.equal(g.code, 2);
  assert.equal(g.err, "synack: unknown group 'nosuch'; groups: bulk, churn, memory, scaling, veth, tun; run 'synack help bench' for usage\n");
  assert.match((await run(['bench', '--only', 'memroy'])).err, /unknown group 'memroy' \(did you mean memory\?\)/);
  const f = await run(['bench', '--quik']);
  assert.equal(f.code, 2);
  assert.match(f.err, /^synack: unknown option --quik \(did you mean --quick\?\); run 'synack help bench' for usage\n$/);
  assert.equal((await run(['bench', 'extra'])).code, 2);
  assert.equal(f.out, '');
});
