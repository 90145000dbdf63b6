// The web-streams API in headless Chromium: src/web and the stack are bundled for the browser with
// esbuild (which fails on any node:* import), served from localhost, and driven with playwright-core;
// two stacks inside the page exchange 1 MiB through an echo server and the hashes must match.
// Skips when /usr/bin/chromium is missing (Debian/Ubuntu: apt-get install chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bundleForBrowser, chromiumMissing, servePage, withChromiumPage } from '../helpers/browser.js';
import { pattern } from '../net/drive.js';
import type { BrowserResult } from './browser-entry.js';


test('web streams in headless Chromium: two stacks in the page exchange 1 MiB intact', async (t) => {
  const missing = chromiumMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const js = await bundleForBrowser(new URL('./browser-entry.ts', import.meta.url));
  const { server, port } = await servePage(js, 'synack');
  try {
    await withChromiumPage(async (page, errors) => {
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => typeof (globalThis as { runSynackTest?: unknown }).runSynackTest === 'function', undefined, { timeout: 30_000 });
      const size = 1024 * 1024;
      const r = (await page.evaluate(
        ([n, seed]) => (globalThis as unknown as { runSynackTest(n: number, s: number): Promise<unknown> }).runSynackTest(n, seed),
        [size, 77] as const,
      )) as BrowserResult;
      console.log(`[chromium] ${r.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? r.userAgent}: ${r.bytes} B echoed in ${r.ms.toFixed(0)} ms`);
      assert.deepEqual(errors, []);
      assert.equal(r.greeting, 'hello 198.18.0.1');
      assert.equal(r.bytes, size);
      const expected = createHash('sha256').update(pattern(size, 77)).digest('hex');
      assert.equal(r.sentSha, expected);
      assert.equal(r.echoedSha, expected);
    });
  } finally {
    server.close();
  }
});
