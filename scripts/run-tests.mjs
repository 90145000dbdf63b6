// Runs every test/**/*.test.ts under node:test (with tsx for TypeScript) and prints the runner's summary.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk('test', []).sort().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const run = (list, env = process.env) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=600000', ...list], { stdio: 'inherit', env }).status ?? 1;
const status = run(files);
// The TUN and TAP tests run with the offloads (synack's default) above, and once more without them
// (SYNACK_TUN_OFFLOAD=off: test/interop/helpers.ts adds --no-offload), so both paths stay correct.
const offloadFiles = files.filter((f) => /(^|\/)(interop\/(fetch|get|hostile|http|kernel|nc|serve|tap|tap-clients|watch)|link\/tun)\.test\.ts$/.test(f));
let offStatus = 0;
if (offloadFiles.length > 0) {
  console.log(`\n# again without TUN/TAP offloads (SYNACK_TUN_OFFLOAD=off): ${offloadFiles.length} files`);
  offStatus = run(offloadFiles, { ...process.env, SYNACK_TUN_OFFLOAD: 'off' });
}
process.exit(status !== 0 ? status : offStatus);
