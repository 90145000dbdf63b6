// The web-streams API in headless Chromium: src/web and the stack are bundled for the browser with
// esbuild (which fails on any node:* import), served from localhost, and driven with playwright-core;
// two stacks inside the page exchange 1 MiB through an echo server and the hashes must match.
// Skips when /usr/bin/chromium is missing (Debian/Ubuntu: apt-get install chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { build } from 'esbuild';
import { pattern } from '../net/drive.js';
import type { BrowserResult } from './browser-entry.js';

const CHROMIUM = process.env['SYNACK_CHROMIUM'] ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

test('web streams in headless Chromium: two stacks in the page exchange 1 MiB intact', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`chromium not found at ${CHROMIUM} (install the Debian package "chromium", or set SYNACK_CHROMIUM)`);
    return;
  }
  const bundle = await build({
    entryPoints: [new URL('./browser-entry.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.text;
  assert.ok(!/\bnode:/.test(js), 'the browser bundle must not reference node:* modules');
  const html = '<!doctype html><meta charset="utf-8"><title>synack</title><script type="module" src="/synack.js"></script>';
  const server = http.createServer((req, res) => {
    if (req.url === '/synack.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const userDataDir = mkdtempSync(join(tmpdir(), 'synack-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
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
  } finally {
    await context.close();
    server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
