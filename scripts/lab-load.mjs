// Measures how fast the lab page loads from `synack lab`: N fresh headless-Chromium profiles each
// open the page, and the page's own figure (navigation start to the first run drawn, kept in
// body[data-ready-ms]) is printed per load. Needs dist/ built (npm run build) and Chromium.
// Usage: node scripts/lab-load.mjs [LOADS=5]   (SYNACK_CHROMIUM overrides /usr/bin/chromium)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
const loads = Number(process.argv[2] ?? 5);
const executablePath = process.env.SYNACK_CHROMIUM ?? '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
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
  const ms = [];
  for (let i = 0; i < loads; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'synack-lab-load-'));
    const ctx = await chromium.launchPersistentContext(dir, { executablePath, headless: true, args });
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]');
      ms.push(Number(await page.getAttribute('body', 'data-ready-ms')));
    } finally {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(`lab page ready (ms from navigation start, fresh profile each): ${ms.join(', ')}; median ${sorted[Math.floor(sorted.length / 2)]}; load average ${loadavg()[0].toFixed(2)}`);
} finally {
  lab.kill('SIGTERM');
}
