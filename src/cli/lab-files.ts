// The built lab page (dist/lab: index.html, lab.js, lab.css), found beside the compiled CLI and
// served read-only over HTTP by `synack lab` and by `--watch`.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  map: 'application/json',
};

/** dist/lab seen from dist/cli (installed package) or from src/cli (running through tsx). */
export function labDir(): string | null {
  for (const rel of ['../lab/', '../../dist/lab/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir + 'index.html')) return dir;
  }
  return null;
}

export const LAB_MISSING = 'the lab page is not built: run `npm run build:lab` in the synack checkout';

/** Answer one GET for a lab file; only the few built names are served, nothing else on disk. */
export function serveLabFile(path: string, res: ServerResponse): void {
  const dir = labDir();
  const name = path === '/' ? 'index.html' : path.slice(1);
  if (dir === null) {
    res.writeHead(503, { 'content-type': 'text/plain' }).end(LAB_MISSING + '\n');
    return;
  }
  if (!/^[a-z0-9-]+\.(html|js|css|svg|map)$/.test(name) || !existsSync(dir + name)) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const ext = name.slice(name.lastIndexOf('.') + 1);
  res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(readFileSync(dir + name));
}
