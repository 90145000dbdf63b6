// serve's file cache (src/cli/file-cache.ts) on real files in a scratch directory, with a clock the
// test moves: what is reused within the interval, what is seen after it, what is never kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCache } from '../../src/cli/file-cache.js';

function scratch(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'synack-fcache-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A cache on a clock the test sets. */
function cacheAt(opts: ConstructorParameters<typeof FileCache>[0] = {}): { cache: FileCache; clock: { t: number } } {
  const clock = { t: 0 };
  return { cache: new FileCache({ ...opts, now: () => clock.t }), clock };
}

test('within the interval a path is answered from memory; after it, a changed file is read again', async () => {
  using s = scratch();
  const f = join(s.dir, 'a.txt');
  writeFileSync(f, 'one\n');
  const { cache, clock } = cacheAt({ ttlMs: 1000 });
  const first = await cache.lookup(f);
  assert.equal(first.body?.toString(), 'one\n');
  assert.equal(first.real, f);
  assert.equal(cache.bodyBytes, 4);
  // Rewritten (new size, new mtime) within the interval: still the remembered answer, as nginx's
  // open_file_cache_valid; the same object, so no file system call was made.
  writeFileSync(f, 'two, longer\n');
  clock.t = 999;
  assert.equal(await cache.lookup(f), first);
  clock.t = 1000;
  const second = await cache.lookup(f);
  assert.equal(second.body?.toString(), 'two, longer\n');
  assert.equal(second.st.size, 12);
  assert.equal(cache.bodyBytes, 12, 'the old content was let go');
  // Checked again and unchanged: the entry (and its content) is kept, the interval starts over.
  clock.t = 2500;
  assert.equal(await cache.lookup(f), second);
});

test('a file replaced by rename (new inode, same size) is seen after the interval', async () => {
  using s = scratch();
  const f = join(s.dir, 'a.txt');
  writeFileSync(f, 'aaaa');
  const { cache, clock } = cacheAt();
  assert.equal((await cache.lookup(f)).body?.toString(), 'aaaa');
  writeFileSync(join(s.dir, 'new'), 'bbbb');
  renameSync(join(s.dir, 'new'), f);
  clock.t = 1000;
  assert.equal((await cache.lookup(f)).body?.toString(), 'bbbb');
});

test('a deleted file fails after the interval, and failures are not remembered', async () => {
  using s = scratch();
  const f = join(s.dir, 'a.txt');
  const { cache, clock } = cacheAt();
  await assert.rejects(cache.lookup(f), { code: 'ENOENT' });
  writeFileSync(f, 'now here');
  assert.equal((await cache.lookup(f)).body?.toString(), 'now here', 'a file that appears is served at once');
  unlinkSync(f);
  clock.t = 1000;
  await assert.rejects(cache.lookup(f), { code: 'ENOENT' });
  assert.equal(cache.size, 0);
  assert.equal(cache.bodyBytes, 0);
});

test('a symlink repointed is followed to its new target after the interval (the real path is checked again)', async () => {
  using s = scratch();
  writeFileSync(join(s.dir, 'x'), 'x');
  writeFileSync(join(s.dir, 'y'), 'y');
  const link = join(s.dir, 'link');
  symlinkSync('x', link);
  const { cache, clock } = cacheAt();
  assert.equal((await cache.lookup(link)).real, join(s.dir, 'x'));
  unlinkSync(link);
  symlinkSync('y', link);
  clock.t = 1000;
  const now = await cache.lookup(link);
  assert.equal(now.real, join(s.dir, 'y'));
  assert.equal(now.body?.toString(), 'y');
});

test('ttl 0 checks every time and keeps nothing; large files and directories have no body', async () => {
  using s = scratch();
  const f = join(s.dir, 'a.txt');
  writeFileSync(f, 'one');
  const off = new FileCache({ ttlMs: 0 });
  const a = await off.lookup(f);
  assert.equal(a.body, null);
  writeFileSync(f, 'three');
  assert.equal((await off.lookup(f)).st.size, 5);
  assert.equal(off.size, 0);

  const big = join(s.dir, 'big');
  writeFileSync(big, Buffer.alloc(2000));
  const { cache } = cacheAt({ maxFileBytes: 1000 });
  const b = await cache.lookup(big);
  assert.equal(b.body, null, 'past maxFileBytes: streamed, not kept');
  assert.equal(b.st.size, 2000);
  const d = await cache.lookup(s.dir);
  assert.equal(d.body, null);
  assert.ok(d.st.isDirectory());
});

test('content is bounded in total (least recently used first) and in entries', async () => {
  using s = scratch();
  const names = ['a', 'b', 'c', 'd'];
  for (const n of names) writeFileSync(join(s.dir, n), Buffer.alloc(400, n));
  const { cache } = cacheAt({ maxTotalBytes: 1000 });
  await cache.lookup(join(s.dir, 'a'));
  await cache.lookup(join(s.dir, 'b'));
  await cache.lookup(join(s.dir, 'a')); // a is now the most recent
  await cache.lookup(join(s.dir, 'c')); // 1,200 bytes: b goes
  assert.equal(cache.bodyBytes, 800);
  assert.equal(cache.size, 2);
  const { cache: few } = cacheAt({ maxEntries: 2 });
  for (const n of names) await few.lookup(join(s.dir, n));
  assert.equal(few.size, 2);
  assert.equal(few.bodyBytes, 800);
});

test('concurrent look-ups of one path share one trip to the file system', async () => {
  using s = scratch();
  const f = join(s.dir, 'a.txt');
  writeFileSync(f, 'shared');
  const { cache } = cacheAt();
  const all = await Promise.all(Array.from({ length: 100 }, () => cache.lookup(f)));
  assert.ok(all.every((x) => x === all[0]), 'one answer object for all of them');
});
