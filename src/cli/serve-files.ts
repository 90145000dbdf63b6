// The static-file answer of `synack serve`: maps a request path to a file under the served directory
// (never outside it, symlinks included unless allowed), and answers GET/HEAD with conditional requests
// (If-Modified-Since, RFC 9110 13.1.3) and single byte ranges (RFC 9110 14). Paths are resolved
// through the file cache (file-cache.ts); a small file's cached content goes out in one write, a
// larger one is streamed through a pipeline so an aborted download releases its descriptor at once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FileCache, type FileCacheOptions } from './file-cache.js';

export interface FilePolicy {
  /** The served directory, resolved, and its real path (symlinks in it resolved). */
  root: string;
  realRoot: string;
  /** Serve files whose real path is outside the root (a symlink pointing out). Default false. */
  followSymlinks: boolean;
  /** Real paths, metadata and small files' content, reused for a short while (file-cache.ts). */
  files: FileCache;
}

export async function filePolicy(dir: string, followSymlinks: boolean, cache: FileCacheOptions = {}): Promise<FilePolicy> {
  const root = resolve(dir);
  return { root, realRoot: await fsp.realpath(root), followSymlinks, files: new FileCache(cache) };
}

/** What one answer was, for the transfer log. */
export interface Answer {
  status: number;
  /** Body bytes written (what the client got, even when it went away early). */
  bytes: number;
}

/** True when `path` is `root` or below it. `root` may be `/` (then every absolute path is inside). */
export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
  js: 'text/javascript',
  css: 'text/css',
  png: 'image/png',
  svg: 'image/svg+xml',
  pcap: 'application/vnd.tcpdump.pcap',
};

/** Answers one request from files under the policy's root. */
export async function answer(policy: FilePolicy, req: IncomingMessage, res: ServerResponse): Promise<Answer> {
  const send = (status: number, text: string, extra: Record<string, string> = {}): Answer => {
    const body = req.method === 'HEAD' ? '' : text;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(body === '' ? undefined : body);
    return { status, bytes: Buffer.byteLength(body) };
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n', { allow: 'GET, HEAD' });
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return send(400, 'bad path\n');
  }
  if (path.includes('\0')) return send(400, 'bad path\n');
  const full = resolve(join(policy.root, path));
  if (!isInside(policy.root, full)) return send(403, 'forbidden\n');
  let file;
  try {
    file = await policy.files.lookup(full);
  } catch {
    return send(404, 'not found\n');
  }
  const { real, st } = file;
  // The joined path can be inside while a symlink on the way leads out (to /etc/passwd, to /):
  // the real path decides.
  if (!policy.followSymlinks && !isInside(policy.realRoot, real)) return send(403, 'forbidden (a symlink that leads outside the served directory)\n');
  if (st.isDirectory()) {
    const names = (await fsp.readdir(real, { withFileTypes: true })).map((d) => (d.isDirectory() ? `${d.name}/` : d.name)).sort();
    return send(200, names.join('\n') + (names.length > 0 ? '\n' : ''));
  }
  if (!st.isFile()) return send(403, 'not a regular file\n');
  const lastModified = st.mtime.toUTCString();
  const common = {
    'content-type': TYPES[real.slice(real.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream',
    'last-modified': lastModified,
    'accept-ranges': 'bytes',
  };
  if (notModifiedSince(req, st)) {
    res.writeHead(304, { 'last-modified': lastModified });
    res.end();
    return { status: 304, bytes: 0 };
  }
  const range = byteRange(req, st.size, lastModified);
  if (range === 'unsatisfiable') {
    return send(416, 'range not satisfiable\n', { 'content-range': `bytes */${st.size}` });
  }
  const [start, end] = range ?? [0, st.size - 1];
  const length = Math.max(0, end - start + 1);
  const status = range === null ? 200 : 206;
  res.writeHead(status, {
    ...common,
    'content-length': String(length),
    ...(range === null ? {} : { 'content-range': `bytes ${start}-${end}/${st.size}` }),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return { status, bytes: 0 };
  }
  if (file.body !== null) {
    // A small file held in memory: one write, no file descriptor, no stream.
    res.end(start === 0 && length === file.body.length ? file.body : file.body.subarray(start, end + 1));
    if (res.writableFinished) return { status, bytes: length };
    return await new Promise<Answer>((done) => {
      res.once('close', () => done({ status, bytes: res.writableFinished ? length : Math.max(0, length - res.writableLength) }));
    });
  }
  const stream = createReadStream(real, { start, end, highWaterMark: 256 * 1024 });
  try {
    // pipeline destroys the file stream when the response is closed early (a client that aborts):
    // with file.pipe(res) the descriptor stayed open until exhaustion (EMFILE).
    await pipeline(stream, res);
  } catch (e) {
    if (!res.writableFinished && (e as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
      return { status, bytes: stream.bytesRead - res.writableLength };
    }
    throw e;
  }
  return { status, bytes: length };
}

/** RFC 9110 13.1.3: a GET or HEAD without If-None-Match, for a file not changed since the date given. */
function notModifiedSince(req: IncomingMessage, st: Stats): boolean {
  const ims = req.headers['if-modified-since'];
  if (ims === undefined || req.headers['if-none-match'] !== undefined) return false;
  const since = Date.parse(ims);
  if (Number.isNaN(since)) return false; // an invalid date is ignored (13.1.3)
  return Math.floor(st.mtimeMs / 1000) * 1000 <= since;
}

/**
 * The one byte range asked for (RFC 9110 14.1.2), clamped to the file: null to send the whole file
 * (no Range, several ranges, a syntax we do not take, or an If-Range that no longer matches, 13.1.5),
 * or 'unsatisfiable' (416) when the range starts beyond the end.
 */
export function byteRange(req: IncomingMessage, size: number, lastModified: string): [number, number] | null | 'unsatisfiable' {
  const header = req.headers.range;
  if (header === undefined) return null;
  const ifRange = req.headers['if-range'];
  if (ifRange !== undefined && ifRange !== lastModified) return null;
  const m = /^bytes=\s*(\d*)-(\d*)\s*$/.exec(header);
  if (m === null) return null;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    // A suffix: the last N bytes.
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return null; // invalid range: ignore the header (14.1.1)
  return [start, end];
}
