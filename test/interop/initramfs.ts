// Builds a tiny Linux initramfs for guest tests: a newc cpio archive (the format the kernel unpacks,
// Documentation/driver-api/early-userspace/buffer-format.rst) holding a static busybox, kernel
// modules and an /init script. Written here rather than with cpio(1) so the test needs one tool less.
import { readFileSync } from 'node:fs';

export interface InitramfsEntry {
  path: string;
  /** File contents; omit for a directory. */
  data?: Uint8Array | string;
  /** Mode bits (default 0o755 for files, 0o755 for directories). */
  mode?: number;
  /** Symlink target (then `data` is ignored). */
  symlink?: string;
}

const enc = new TextEncoder();

function header(ino: number, mode: number, size: number, nameLen: number): string {
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return '070701' + [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, nameLen, 0].map(hex).join('');
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** The archive: entries in order (parents before children), then the TRAILER!!! record. */
export function newcArchive(entries: InitramfsEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Uint8Array): void => {
    const nameBytes = enc.encode(name + '\0');
    const head = enc.encode(header(ino++, mode, data.length, nameBytes.length));
    parts.push(head, nameBytes, new Uint8Array(pad4(head.length + nameBytes.length)), data, new Uint8Array(pad4(data.length)));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (e.symlink !== undefined) push(name, 0o120777, enc.encode(e.symlink));
    else if (e.data === undefined) push(name, 0o040000 | (e.mode ?? 0o755), new Uint8Array(0));
    else push(name, 0o100000 | (e.mode ?? 0o755), typeof e.data === 'string' ? enc.encode(e.data) : e.data);
  }
  push('TRAILER!!!', 0, new Uint8Array(0));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An initramfs with busybox at /bin/busybox, the given modules at /lib/NAME.ko, and `init` as /init. */
export function busyboxInitramfs(busybox: string, modules: string[], init: string, extra: InitramfsEntry[] = []): Uint8Array {
  const entries: InitramfsEntry[] = [
    ...['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'lib', 'proc', 'sys', 'dev', 'tmp', 'www', 'etc'].map((p) => ({ path: p })),
    { path: 'bin/busybox', data: readFileSync(busybox) },
    { path: 'bin/sh', symlink: 'busybox' },
    ...modules.map((m) => ({ path: `lib/${m.slice(m.lastIndexOf('/') + 1)}`, data: readFileSync(m), mode: 0o644 })),
    { path: 'init', data: init },
    ...extra,
  ];
  return newcArchive(entries);
}
