// Redraws the lab screenshots in docs/img from the built page (npm run build first; needs Chromium):
// lab-desktop.png and lab-desktop-ko.png (1440x1000: the basic story part-way, segment #5 open in the
// inspector) and lab-390.png (a 390-pixel-wide phone, in Korean). Each is a real run (seed 1).
// Usage: node scripts/lab-screenshots.mjs [OUTDIR=docs/img]
import { join } from 'node:path';
import { withLab, withPage } from './lib/lab-browser.mjs';

const out = process.argv[2] ?? new URL('../docs/img', import.meta.url).pathname;
const shots = [
  { file: 'lab-desktop.png', lang: 'en', viewport: { width: 1440, height: 1000 }, segments: 9, open: 4 },
  { file: 'lab-desktop-ko.png', lang: 'ko', viewport: { width: 1440, height: 1000 }, segments: 9, open: 4 },
  { file: 'lab-390.png', lang: 'ko', viewport: { width: 390, height: 844 }, segments: 6, open: null },
];

await withLab(async (url) => {
  for (const s of shots) {
    await withPage({ viewport: s.viewport, locale: s.lang === 'ko' ? 'ko-KR' : 'en-US' }, async (page) => {
      await page.goto(`${url}?scenario=basic&seed=1&lang=${s.lang}`);
      await page.waitForSelector('body[data-ready="true"]');
      // Step the run until the ladder shows the wanted number of segments (the story follows).
      for (let i = 0; i < 200 && (await page.$$('#ladder g.seg[data-seg]')).length < s.segments; i++) await page.click('#step');
      if (s.open !== null) await page.click(`#ladder g.seg[data-seg="${s.open}"]`);
      // Let the last arrow finish its flight, and show the page from its top (the click scrolls).
      await page.waitForTimeout(1000);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(out, s.file) });
      console.log(`${join(out, s.file)}: ${(await page.$$('#ladder g.seg[data-seg]')).length} segments drawn`);
    });
  }
});
