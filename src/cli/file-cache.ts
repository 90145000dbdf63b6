// What `synack serve` knows about the files it serves, reused for a short while, as nginx's
// open_file_cache: a path's real path and metadata, and the content of small files. Under load the
// per-request realpath, stat, open, read and close (each a trip through libuv's thread pool) were the
// largest share of serve's CPU after the TUN writes; with thousands of clients asking for the same
// few files, one look-up per file per interval answers them all.
//
// Correctness: an entry is trusted for `ttlMs` after it was checked (1 s by default, nginx's
// open_file_cache_valid is 60 s), then checked again with realpath and stat; content is kept only
// while the file's identity (device, inode, size, mtime, ctime) is unchanged, and only if that
// identity was the same before and after it was read (a file written while being read is served as
// read but not kept). Failures (a missing file) are never cached, so a file that appears is served
// at once. Concurrent look-ups of one path share one trip to the file system.
import { promises as fsp, type Stats } from 'node:fs';

export interface FileCacheOptions {
  /** How long a checked entry is reused before being checked again, ms; 0 checks on every request. */
  ttlMs?: number;
  /** Largest file whose content is kept in memory, bytes (default 1 MiB). */
  maxFileBytes?: number;
  /** Content kept in memory in all, bytes (default 32 MiB); the least recently used goes first. */
  maxTotalBytes?: number;
  /** Paths remembered at most (default 4096). */
  maxEntries?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** A resolved path: its real path and metadata, and its content when small enough to keep. */
export interface FileInfo {
  real: string;
  st: Stats;
  /** The whole file, or null when it is too large to keep (stream it) or not a regular file. */
  body: Buffer | null;
}

interface Entry {
  info: FileInfo;
  checkedAt: number;
}

/** Whether two stats describe the same unchanged file. */
function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export class FileCache {
  readonly #ttl: number;
  readonly #maxFile: number;
  readonly #maxTotal: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<FileInfo>>();
  #bodyBytes = 0;

  constructor(opts: FileCacheOptions = {}) {
    this.#ttl = opts.ttlMs ?? 1000;
    this.#maxFile = opts.maxFileBytes ?? 1024 * 1024;
    this.#maxTotal = opts.maxTotalBytes ?? 32 * 1024 * 1024;
    this.#maxEntries = opts.maxEntries ?? 4096;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Content bytes held now (for tests and the memory figures). */
  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The real path, metadata and (small files) content of `path`; rejects as realpath/stat/open do
   * (ENOENT, EACCES, ...), and such failures are not remembered.
   */
  lookup(path: string): Promise<FileInfo> {
    const e = this.#entries.get(path);
    if (e !== undefined && this.#now() - e.checkedAt < this.#ttl) {
      this.#entries.delete(path);
      this.#entries.set(path, e);
      return Promise.resolve(e.info);
    }
    let p = this.#inflight.get(path);
    if (p === undefined) {
      p = this.#check(path, e?.info).finally(() => this.#inflight.delete(path));
      this.#inflight.set(path, p);
    }
    return p;
  }

  async #check(path: string, old: FileInfo | undefined): Promise<FileInfo> {
    let info: FileInfo;
    try {
      const real = await fsp.realpath(path);
      const st = await fsp.stat(real);
      // Unchanged: keep what we have, unless its content could be kept and was not (it was being written).
      const unchanged = old !== undefined && old.real === real && sameFile(old.st, st) && (old.body !== null || !this.#keepable(st));
      info = unchanged ? old : await this.#load(real, st);
    } catch (err) {
      this.#forget(path);
      throw err;
    }
    if (this.#ttl > 0) this.#remember(path, info);
    return info;
  }

  #keepable(st: Stats): boolean {
    return st.isFile() && st.size <= this.#maxFile && this.#ttl > 0;
  }

  /** Reads a small regular file whole; keeps its content only if it did not change meanwhile. */
  async #load(real: string, st: Stats): Promise<FileInfo> {
    if (!this.#keepable(st)) return { real, st, body: null };
    const fh = await fsp.open(real, 'r');
    try {
      const before = await fh.stat();
      if (!this.#keepable(before)) return { real, st: before, body: null };
      const body = Buffer.allocUnsafe(before.size);
      let got = 0;
      while (got < body.length) {
        const { bytesRead } = await fh.read(body, got, body.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const after = await fh.stat();
      // Shorter than it said, or written while we read: stream it this time, read it again next time.
      if (got !== body.length || !sameFile(before, after)) return { real, st: after, body: null };
      return { real, st: before, body };
    } finally {
      await fh.close();
    }
  }

  #remember(path: string, info: FileInfo): void {
    this.#forget(path);
    this.#entries.set(path, { info, checkedAt: this.#now() });
    this.#bodyBytes += info.body?.length ?? 0;
    for (const [k] of this.#entries) {
      if (this.#bodyBytes <= this.#maxTotal && this.#entries.size <= this.#maxEntries) break;
      this.#forget(k);
    }
  }

  #forget(path: string): void {
    const e = this.#entries.get(path);
    if (e === undefined) return;
    this.#entries.delete(path);
    this.#bodyBytes -= e.info.body?.length ?? 0;
  }
}
