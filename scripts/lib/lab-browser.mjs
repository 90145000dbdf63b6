// What the lab scripts (lab-load.mjs, lab-screenshots.mjs) share: `synack lab --port 0` from the
// built package as a child process, and a fresh headless Chromium profile on this closed network.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const root = new URL('../..', import.meta.url).pathname;
const executablePath = process.env.SYNACK_CHROMIUM ?? '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Runs `fn(url)` with `synack lab` serving the built page; stops the server afterwards. */
export async function withLab(fn) {
  const lab = spawn(process.execPath, [join(root, 'bin/synack.js'), 'lab', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise((resolve, reject) => {
      let seen = '';
      const on = (d) => {
        seen += d;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(seen);
        if (m !== null) resolve(m[0]);
      };
      lab.stdout.on('data', on);
      lab.stderr.on('data', on);
      lab.once('exit', (code) => reject(new Error(`synack lab exited (${code}): ${seen}`)));
    });
    return await fn(url);
  } finally {
    lab.kill('SIGTERM');
  }
}

/** Runs `fn(page)` in a fresh Chromium profile (options: playwright's launchPersistentContext options). */
export async function withPage(options, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'synack-lab-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath, headless: true, args, ...options });
  try {
    return await fn(ctx.pages()[0] ?? (await ctx.newPage()));
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
