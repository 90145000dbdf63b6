// src/net/defer.ts: the one-microtask-per-turn scheduler of the net API keeps queueMicrotask's
// guarantees: FIFO order (callbacks deferred while draining run after those already waiting, in the
// same turn, before any timer or I/O), and a throwing callback surfaces as an uncaught exception
// while the callbacks after it still run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defer } from '../../src/net/defer.js';

test('defer runs callbacks in order, nested ones after those waiting, all before a timer of the same turn', async () => {
  const log: string[] = [];
  setTimeout(() => log.push('timer'), 0);
  defer(() => {
    log.push('a');
    defer(() => log.push('a.1'));
  });
  defer(() => log.push('b'));
  log.push('sync');
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(log, ['sync', 'a', 'b', 'a.1', 'timer']);
});

test('a throwing callback is an uncaught exception (as from queueMicrotask) and the next ones still run', () => {
  const mod = fileURLToPath(new URL('../../src/net/defer.ts', import.meta.url));
  const script = `
    import { defer } from ${JSON.stringify(mod)};
    const seen = [];
    process.on('uncaughtException', (e) => seen.push('uncaught ' + e.message));
    process.on('unhandledRejection', (e) => seen.push('rejection ' + e.message));
    defer(() => seen.push('first'));
    defer(() => { throw new Error('boom'); });
    defer(() => seen.push('after'));
    setTimeout(() => console.log(JSON.stringify(seen)), 20);
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), ['first', 'uncaught boom', 'after']);
  // Without a handler the process dies of it, with the error on stderr, as queueMicrotask's would.
  const die = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { defer } from ${JSON.stringify(mod)}; defer(() => { throw new Error('boom'); });`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.notEqual(die.status, 0);
  assert.match(die.stderr, /Error: boom/);
});
