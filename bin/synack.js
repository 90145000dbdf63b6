#!/usr/bin/env node
// The `synack` command: loads the compiled CLI from dist/ (built by `npm install` via the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('synack: dist/ is missing; run `npm install` (or `npm run build`) in the package first.\n');
  process.exit(2);
}
// A closed pipe (`synack demo | head`) is not an error worth a stack trace.
process.stdout.on('error', (e) => {
  if (e && e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
