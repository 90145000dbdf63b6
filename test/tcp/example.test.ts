// docs/tcp.md's example is examples/tcp-core.ts verbatim, and it runs as the doc says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { run } from '../../examples/tcp-core.js';

test('examples/tcp-core.ts: both messages arrive, both sides close, output as documented', () => {
  const lines: string[] = [];
  const r = run((l) => lines.push(l));
  assert.equal(r.serverGot, 'hello, server');
  assert.equal(r.clientGot, 'hello, client');
  assert.equal(r.endedAt, 2020);
  const doc = readFileSync(new URL('../../docs/tcp.md', import.meta.url), 'utf8');
  assert.ok(doc.includes('```\n' + lines.join('\n') + '\n```'), 'docs/tcp.md shows the output the example prints');
  const src = readFileSync(new URL('../../examples/tcp-core.ts', import.meta.url), 'utf8');
  assert.ok(doc.includes('```ts\n' + src + '```'), 'docs/tcp.md embeds examples/tcp-core.ts verbatim');
});
