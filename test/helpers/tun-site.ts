// One home for the setup every TUN interop test and bench/serve-load.ts start from: a throwaway
// namespace with a TUN device for synack (addresses in 198.18.0.0/15 and 2001:db8::/32 only), a
// scratch directory, and a `www` directory of random files with their sha256 (withTunSite).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsHarness, type Netns } from './netns.js';

const CHUNK = 4 << 20;

/** A scratch directory removed by the returned function. */
export function scratch(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'synack-interop-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `size` random bytes to `path` and returns their sha256 (hex). */
export function randomFile(path: string, size: number): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let left = size; left > 0; ) {
      const chunk = randomBytes(Math.min(left, CHUNK));
      h.update(chunk);
      writeSync(fd, chunk);
      left -= chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** The kernel has no netem qdisc (CONFIG_NET_SCH_NETEM off, e.g. some VM kernels): netem tests skip. */
export class NetemUnavailable extends Error {
  constructor(detail: string) {
    super(`the kernel has no netem qdisc (sch_netem): ${detail}`);
    this.name = 'NetemUnavailable';
  }
}

/** The namespace and TUN device every interop test starts from. */
export interface TunHost {
  ns: Netns;
  dev: string;
  /** Flags for synack: --tun DEV --addr ... --peer ... */
  flags: string[];
}

/**
 * Whether synack negotiates the TUN offloads in these tests: on (the CLI's default) unless
 * SYNACK_TUN_OFFLOAD=off, with which scripts/run-tests.mjs runs the interop files a second time.
 */
export const OFFLOAD = process.env['SYNACK_TUN_OFFLOAD'] !== 'off';

export const V4 = { stack: '198.18.0.2', kernel: '198.18.0.1', prefix: 24 };
export const V6 = { stack: '2001:db8::2', kernel: '2001:db8::1', prefix: 64 };

/**
 * Makes a namespace with a persistent TUN device (so tc can shape it before synack attaches), and
 * returns the synack flags that attach to it and configure both address families' kernel side.
 */
export async function tunHost(h: NetnsHarness, opts: { mtu?: number; netem?: string } = {}): Promise<TunHost> {
  const ns = await h.create();
  const dev = 'syn0';
  await ns.ip('tuntap', 'add', 'dev', dev, 'mode', 'tun');
  await ns.configureTun(dev, { peer: V4.kernel, prefix: V4.prefix, mtu: opts.mtu ?? 1500 });
  await ns.configureTun(dev, { peer: V6.kernel, prefix: V6.prefix });
  if (opts.netem !== undefined) {
    const r = await ns.exec('tc', ['qdisc', 'add', 'dev', dev, 'root', 'netem', ...opts.netem.split(' ')]);
    if (r.code !== 0) {
      if (/unknown|No such file/i.test(r.stderr)) throw new NetemUnavailable(r.stderr.trim());
      throw new Error(`tc qdisc add ... netem ${opts.netem} failed: ${r.stderr.trim()}`);
    }
  }
  const flags = [
    '--tun', dev,
    '--addr', `${V4.stack}/${V4.prefix},${V6.stack}/${V6.prefix}`,
    '--peer', `${V4.kernel},${V6.kernel}`,
    ...(opts.mtu !== undefined ? ['--mtu', String(opts.mtu)] : []),
    ...(OFFLOAD ? [] : ['--no-offload']),
  ];
  return { ns, dev, flags };
}


/** What withTunSite hands its callback. */
export interface TunSite {
  host: TunHost;
  /** The scratch directory (removed afterwards); `www` is inside it. */
  dir: string;
  www: string;
  /** sha256 (hex) of each file made in `www`, by name. */
  hash: Record<string, string>;
}

/**
 * Runs `fn` with a fresh namespace and TUN device (tunHost) and a scratch `www` directory holding
 * `files` (name -> size in bytes of random content); the namespace, its processes and the scratch
 * directory are gone afterwards, even when `fn` throws.
 */
export async function withTunSite<T>(files: Record<string, number>, fn: (site: TunSite) => Promise<T>, opts: { mtu?: number; netem?: string } = {}): Promise<T> {
  const h = new NetnsHarness();
  const tmp = scratch();
  try {
    const host = await tunHost(h, opts);
    const www = join(tmp.dir, 'www');
    mkdirSync(www);
    const hash: Record<string, string> = {};
    for (const [name, size] of Object.entries(files)) hash[name] = randomFile(join(www, name), size);
    return await fn({ host, dir: tmp.dir, www, hash });
  } finally {
    await h.cleanup();
    tmp.remove();
  }
}
