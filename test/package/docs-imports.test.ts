// The docs show the library as users get it: every import of synack in a code block of README.md and
// docs/ names the package ('synack' or one of its `exports`), never a path into src/ or dist/, and every
// value it imports is exported there (checked against the source module each export compiles from).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = new URL('../..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { exports: Record<string, { default?: string } | string> };

interface DocImport {
  file: string;
  from: string;
  names: string[];
  typeOnly: boolean;
}

function docImports(): DocImport[] {
  const files = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const out: DocImport[] = [];
  for (const file of files) {
    const text = readFileSync(join(repo, file), 'utf8');
    for (const block of text.matchAll(/```(?:ts|js|typescript|javascript|mjs)\n([^]*?)```/g)) {
      for (const m of (block[1] ?? '').matchAll(/import\s+(type\s+)?(?:\{([^}]*)\}|[\w*\s]+as\s+\w+|\w+)\s+from\s+['"]([^'"]+)['"]/g)) {
        const names = (m[2] ?? '')
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== '' && !n.startsWith('type '))
          .map((n) => n.split(/\s+as\s+/)[0]!.trim());
        out.push({ file, from: m[3]!, names, typeOnly: m[1] !== undefined });
      }
    }
  }
  return out;
}

test('README and docs import only from the package names, and the names they import exist', async () => {
  const imports = docImports();
  assert.ok(imports.length >= 10, `found the docs' imports (${imports.length})`);
  const bad: string[] = [];
  for (const imp of imports) {
    // Node's own modules and other packages (undici, ws) are what a user imports too.
    if (!imp.from.startsWith('.') && !imp.from.startsWith('/') && imp.from !== 'synack' && !imp.from.startsWith('synack/')) continue;
    const key = imp.from === 'synack' ? '.' : imp.from.startsWith('synack/') ? `./${imp.from.slice('synack/'.length)}` : null;
    const target = key === null ? undefined : pkg.exports[key];
    if (target === undefined || typeof target === 'string') {
      bad.push(`${imp.file}: import from '${imp.from}' is not a package export`);
      continue;
    }
    if (imp.typeOnly) continue;
    // dist/X.js is compiled from src/X.ts: check the names against the source module.
    const src = join(repo, (target.default ?? '').replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
    const mod = (await import(src)) as Record<string, unknown>;
    for (const n of imp.names) if (!(n in mod)) bad.push(`${imp.file}: '${imp.from}' has no export ${n}`);
  }
  assert.deepEqual(bad, []);
});
