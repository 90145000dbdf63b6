// The pieces of serve/get that need no TUN device: the one-line error for an output path that cannot
// be written, the byte-range and containment rules of serve, the progress meter, the --ss rates,
// and the usage errors of the new flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { byteRange, isInside } from '../../src/cli/serve-files.js';
import { ProgressMeter, formatBytes, formatDuration } from '../../src/cli/progress.js';
import { RateMemo } from '../../src/cli/tun-common.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    isTTY: false,
    env: {},
    readFile: () => new Uint8Array(),
    writeFile: () => {},
  };
  const code = await main(argv, io);
  return { code, out, err };
}

const TUN = ['--tun', 'syn9', '--addr', '198.18.0.2/24'];

test('get -o into a directory that does not exist: one clear line, exit 1, before touching the network', async () => {
  const r = await run(['get', 'http://198.18.0.1/x', '-o', '/nonexistent/dir/out', ...TUN]);
  assert.equal(r.code, 1);
  assert.equal(r.err, 'synack: cannot write /nonexistent/dir/out: no such directory\n');
  const d = await run(['get', 'http://198.18.0.1/x', '-o', '/tmp', ...TUN]);
  assert.equal(d.code, 1);
  assert.equal(d.err, 'synack: cannot write /tmp: is a directory\n');
});

test('the new flags reject bad values as usage errors (exit 2)', async () => {
  const cases: [string[], RegExp][] = [
    [['get', 'http://198.18.0.1/', '-C', ...TUN], /-C \(resume\) needs -o FILE/],
    [['get', 'http://198.18.0.1/', '--max-time', '0', ...TUN], /max-time/],
    [['serve', '/tmp', '--syn-cookies', 'maybe', ...TUN], /--syn-cookies wants auto, always, never; got 'maybe'/],
    [['nc', '198.18.0.1', '80', '--syn-cookies', 'always', ...TUN], /--syn-cookies applies to nc -l only/],
  ];
  for (const [argv, re] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
});

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

test('byteRange: single ranges as RFC 9110 14.1.2 defines them, clamped; others mean the whole file', () => {
  const lm = 'Thu, 02 Jan 2020 03:04:05 GMT';
  assert.equal(byteRange(req({}), 1000, lm), null);
  assert.deepEqual(byteRange(req({ range: 'bytes=0-99' }), 1000, lm), [0, 99]);
  assert.deepEqual(byteRange(req({ range: 'bytes=900-' }), 1000, lm), [900, 999]);
  assert.deepEqual(byteRange(req({ range: 'bytes=900-5000' }), 1000, lm), [900, 999]);
  assert.deepEqual(byteRange(req({ range: 'bytes=-10' }), 1000, lm), [990, 999]);
  assert.deepEqual(byteRange(req({ range: 'bytes=-5000' }), 1000, lm), [0, 999]);
  assert.equal(byteRange(req({ range: 'bytes=1000-' }), 1000, lm), 'unsatisfiable');
  assert.equal(byteRange(req({ range: 'bytes=-0' }), 1000, lm), 'unsatisfiable');
  assert.equal(byteRange(req({ range: 'bytes=5-2' }), 1000, lm), null);
  assert.equal(byteRange(req({ range: 'bytes=0-1,5-6' }), 1000, lm), null);
  assert.equal(byteRange(req({ range: 'items=0-1' }), 1000, lm), null);
  assert.deepEqual(byteRange(req({ range: 'bytes=5-9', 'if-range': lm }), 1000, lm), [5, 9]);
  assert.equal(byteRange(req({ range: 'bytes=5-9', 'if-range': 'Wed, 01 Jan 2020 00:00:00 GMT' }), 1000, lm), null);
});

test('isInside: the root itself and paths below it, with / as a root', () => {
  assert.equal(isInside('/srv/www', '/srv/www'), true);
  assert.equal(isInside('/srv/www', '/srv/www/a'), true);
  assert.equal(isInside('/srv/www', '/srv/www2/a'), false);
  assert.equal(isInside('/srv/www', '/etc/passwd'), false);
  assert.equal(isInside('/', '/etc/passwd'), true);
  assert.equal(isInside('/', '/'), true);
});

test('progress meter: bytes, percent, rate and ETA, redrawn at most every interval', () => {
  let t = 0;
  let text = '';
  const m = new ProgressMeter((s) => void (text += s), 10 * 1048576, 0, () => t, 200);
  t = 1000;
  m.update(1048576);
  assert.match(text, /^\r\s*1\.00 MiB  \/ 10\.0 MiB\s+10%\s+1\.00 MiB\/s  ETA 0:09$/);
  const before = text;
  t = 1100;
  m.update(2 * 1048576);
  assert.equal(text, before, 'no redraw within 200 ms');
  t = 2000;
  m.done(10 * 1048576);
  assert.match(text, /100%.*ETA 0:00\n$/);
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatDuration(3725), '1:02:05');
});

test('--ss rates: bytes per second since the previous table, per connection', () => {
  const memo = new RateMemo();
  const k = {};
  assert.deepEqual(memo.rates(k, 0, 0, 0), { out: 0, in: 0 });
  assert.deepEqual(memo.rates(k, 1000, 5000, 100), { out: 5000, in: 100 });
  assert.deepEqual(memo.rates(k, 3000, 5000, 4100), { out: 0, in: 2000 });
});
