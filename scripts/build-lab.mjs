// Builds the lab (web/lab) into dist/lab: lab.js bundled and minified by esbuild for browsers (no
// node:* module may sneak in), index.html and lab.css copied. Prints the sizes (raw and gzip).
// Usage: node scripts/build-lab.mjs [OUTDIR]
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = process.argv[2] ?? join(root, 'dist', 'lab');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'web/lab/main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  outfile: join(out, 'lab.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'lab.css']) copyFileSync(join(root, 'web/lab', f), join(out, f));
const sizes = ['lab.js', 'lab.css', 'index.html'].map((f) => {
  const b = readFileSync(join(out, f));
  return `${f} ${(b.length / 1024).toFixed(1)} KiB (gzip ${(gzipSync(b, { level: 9 }).length / 1024).toFixed(1)} KiB)`;
});
console.log(`lab built in ${out}: ${sizes.join(', ')}`);
