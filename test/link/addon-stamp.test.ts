// The TUN addon is refused when it was built from other sources than the ones beside it: a stale
// binary loaded, its device never delivered a packet, and commands and benches hung (session 6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonSourcesHash, staleAddon } from '../../src/link/tun.js';
// @ts-expect-error: a plain .mjs script without types; it only exports sourcesHashOf when imported
import { sourcesHashOf } from '../../scripts/build-native.mjs';

/** A native/ directory with sources and a "binary" (never loaded: staleAddon only reads stamps). */
function fakeNative(): { dir: string; binary: string; prebuilt: string } {
  const dir = join(mkdtempSync(join(tmpdir(), 'synack-stamp-')), 'native');
  mkdirSync(join(dir, 'build/Release'), { recursive: true });
  mkdirSync(join(dir, 'prebuilt/linux-x64'), { recursive: true });
  writeFileSync(join(dir, 'tun.c'), 'int main(void) { return 0; }\n');
  writeFileSync(join(dir, 'binding.gyp'), '{ "targets": [] }\n');
  const binary = join(dir, 'build/Release/synack_tun.node');
  const prebuilt = join(dir, 'prebuilt/linux-x64/synack_tun.node');
  writeFileSync(binary, 'not really a binary');
  writeFileSync(prebuilt, 'not really a binary');
  return { dir, binary, prebuilt };
}

test('the link hashes the sources as build-native.mjs stamps them', () => {
  const f = fakeNative();
  try {
    assert.equal(addonSourcesHash(f.dir), sourcesHashOf(f.dir));
    writeFileSync(join(f.dir, 'tun.c'), 'int main(void) { return 1; }\n');
    assert.equal(addonSourcesHash(f.dir), sourcesHashOf(f.dir));
  } finally {
    rmSync(join(f.dir, '..'), { recursive: true, force: true });
  }
});

test('a binary without a stamp, or stamped for other sources, is refused with the reason; a current one is taken', () => {
  const f = fakeNative();
  try {
    for (const path of [f.binary, f.prebuilt]) {
      assert.match(staleAddon(path) ?? '', /no stamp beside it.*rebuild it/);
      writeFileSync(`${path}.sources-sha256`, `${'0'.repeat(64)}\n`);
      assert.match(staleAddon(path) ?? '', /built from other sources than .*tun\.c/);
      writeFileSync(`${path}.sources-sha256`, `${sourcesHashOf(f.dir)}\n`);
      assert.equal(staleAddon(path), null);
    }
    // the sources changed after the build (a merge touched tun.c): stale again
    writeFileSync(join(f.dir, 'tun.c'), '/* changed */\n');
    assert.match(staleAddon(f.binary) ?? '', /other sources/);
    // without sources to compare with (an unusual install), the binary is trusted
    rmSync(join(f.dir, 'tun.c'));
    assert.equal(staleAddon(f.binary), null);
  } finally {
    rmSync(join(f.dir, '..'), { recursive: true, force: true });
  }
});
