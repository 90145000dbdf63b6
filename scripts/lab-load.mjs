// Measures how fast the lab page loads from `synack lab`: N fresh headless-Chromium profiles each
// open the page, and the page's own figure (navigation start to the first run drawn, kept in
// body[data-ready-ms]) is printed per load. Needs dist/ built (npm run build) and Chromium.
// Usage: node scripts/lab-load.mjs [LOADS=5]   (SYNACK_CHROMIUM overrides /usr/bin/chromium)
import { loadavg } from 'node:os';
import { withLab, withPage } from './lib/lab-browser.mjs';

const loads = Number(process.argv[2] ?? 5);
await withLab(async (url) => {
  const ms = [];
  for (let i = 0; i < loads; i++) {
    ms.push(
      await withPage({}, async (page) => {
        await page.goto(url);
        await page.waitForSelector('body[data-ready="true"]');
        return Number(await page.getAttribute('body', 'data-ready-ms'));
      }),
    );
  }
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(`lab page ready (ms from navigation start, fresh profile each): ${ms.join(', ')}; median ${sorted[Math.floor(sorted.length / 2)]}; load average ${loadavg()[0].toFixed(2)}`);
});
