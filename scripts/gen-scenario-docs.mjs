// Regenerates docs/scenarios.md's pictures: one SVG per demo scenario, drawn by `synack demo --svg`.
import { execFileSync } from 'node:child_process';
const out = execFileSync(process.execPath, ['bin/synack.js', 'demo', '--help'], { encoding: 'utf8' });
const names = [...out.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]).filter((n) => n !== 'h');
for (const n of names) {
  execFileSync(process.execPath, ['bin/synack.js', 'demo', '--scenario', n, '--svg', `docs/img/${n}.svg`], { stdio: 'ignore' });
  console.log(n);
}
