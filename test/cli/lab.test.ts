// `synack lab`'s command line: help, and mistakes answered with a usage error (exit 2), never a
// stack trace. (The page itself is tested in headless Chromium: test/web/lab.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s), isTTY: false, env: {}, readFile: () => new Uint8Array(), writeFile: () => undefined };
  const code = await main(argv, io);
  return { code, out, err };
}

test('synack lab --help describes the page and its port', async () => {
  const r = await run(['lab', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /Usage: synack lab \[--port N\]/);
  assert.match(r.out, /127\.0\.0\.1/);
});

test('synack lab rejects a bad port and stray arguments with exit 2', async () => {
  for (const argv of [['lab', '--port', '70000'], ['lab', '--port', 'x'], ['lab', 'extra']]) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /^synack: .*synack help lab/i);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
});
