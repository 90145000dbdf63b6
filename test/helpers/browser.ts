// Shared pieces of the headless-Chromium tests: where Chromium is, the flags it needs on this closed
// network (without --disable-background-networking it opens connections the sandbox refuses), and a
// page that runs one esbuild bundle of browser code served from 127.0.0.1.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';

export const CHROMIUM = process.env['SYNACK_CHROMIUM'] ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the Chromium tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `chromium not found at ${CHROMIUM} (install the Debian package "chromium", or set SYNACK_CHROMIUM)`;
}

/** Bundles `entry` for the browser; the bundle must not reference node:* (the core runs unchanged in a page). */
export async function bundleForBrowser(entry: URL): Promise<string> {
  const bundle = await build({
    entryPoints: [entry.pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.text;
  assert.ok(!/\bnode:/.test(js), 'the browser bundle must not reference node:* modules');
  return js;
}

/** Serves a page at http://127.0.0.1:PORT/ that loads `js` as a module; returns the server and its port. */
export async function servePage(js: string, title: string): Promise<{ server: http.Server; port: number }> {
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title><script type="module" src="/synack.js"></script>`;
  const server = http.createServer((req, res) => {
    if (req.url === '/synack.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Runs `fn` on a page of headless Chromium with a fresh profile, collecting the page's uncaught
 * errors into `errors`, and closes the browser and deletes the profile whatever happens.
 */
export async function withChromiumPage<T>(fn: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'synack-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    return await fn(page, errors);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
