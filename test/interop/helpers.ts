// Shared pieces of the interop tests: skip reasons, file hashes, running
// the synack CLI (from source, through tsx) as a child inside a namespace, and waiting for readiness.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tunUnavailableReason } from '../../src/link/tun.js';
import assert from 'node:assert/strict';
import { missingTool, netnsUnavailableReason, type LinkStats, type Netns } from '../helpers/netns.js';
import { NetemUnavailable, V4, V6, type TunHost } from '../helpers/tun-site.js';

// The namespace, device and scratch-site setup have one home, shared with bench/ (test/helpers/tun-site.ts).
export { NetemUnavailable, OFFLOAD, V4, V6, randomFile, scratch, tunHost, withTunSite, type TunHost, type TunSite } from '../helpers/tun-site.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const cliEntry = fileURLToPath(new URL('./synack-cli.ts', import.meta.url));

export const MiB = 1 << 20;
/** Size of the big transfers; SYNACK_INTEROP_MIB overrides (e.g. 4 for a quick local run). */
export const BIG = (Number(process.env['SYNACK_INTEROP_MIB']) || 64) * MiB;
/** Size under netem / stack-side loss (16 MiB: 64 MiB at 5% loss and 10 ms would take minutes). */
export const LOSSY = Math.min(BIG, (Number(process.env['SYNACK_INTEROP_LOSSY_MIB']) || 16) * MiB);

/** Null when the kernel interop tests can run here, else why not. */
export function interopSkip(...tools: string[]): string | null {
  const base = netnsUnavailableReason() ?? tunUnavailableReason();
  if (base !== null) return base;
  for (const t of tools) {
    const m = missingTool(t);
    if (m !== null) return m;
  }
  return null;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

export interface Child {
  proc: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (signal -> 128+n) once the process ends. */
  exited: Promise<number>;
  /** Resolves when stderr contains `text` (rejects if the process exits first or after timeoutMs). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

function wrap(proc: ChildProcess): Child {
  let err = '';
  const waiters: { re: string | RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (typeof w.re === 'string' ? err.includes(w.re) : w.re.test(err)) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (s: string) => {
    err += s;
    check();
  });
  const exited = new Promise<number>((resolve) => {
    proc.once('exit', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
  });
  return {
    proc,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(re)}; stderr: ${err}`)), timeoutMs);
        waiters.push({ re, resolve: () => (clearTimeout(timer), resolve()) });
        check();
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`process exited (${code}) before ${String(re)}; stderr: ${err}`));
        });
      });
    },
  };
}

/**
 * Runs `synack ARGS` from source inside `ns`; stdin/stdout go to the given files (or /dev/null),
 * stderr is captured; `prefix` runs it under another command (e.g. prlimit), `nodeFlags` go to node;
 * `compiled` runs the built package (bin/synack.js, dist/) as users do instead of the sources through
 * tsx (whose keepNames transform costs a property definition per closure made at run time).
 * The harness kills it on cleanup.
 */
export function synack(ns: Netns, args: string[], io: { stdin?: string; stdout?: string; prefix?: string[]; nodeFlags?: string[]; compiled?: boolean } = {}): Child {
  const inFd = openSync(io.stdin ?? '/dev/null', 'r');
  const outFd = openSync(io.stdout ?? '/dev/null', 'w');
  const [cmd, ...pre] = [...(io.prefix ?? []), process.execPath];
  const entry = io.compiled === true ? [join(repoRoot, 'bin', 'synack.js')] : ['--import', 'tsx', cliEntry];
  try {
    const proc = ns.spawn(cmd as string, [...pre, ...(io.nodeFlags ?? []), ...entry, ...args], {
      cwd: repoRoot,
      stdio: [inFd, outFd, 'pipe'],
      env: { ...process.env, SYNACK_DEBUG: '1' },
    });
    return wrap(proc);
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
}

/** Runs any program inside `ns` with optional stdin/stdout files, capturing stderr. */
export function spawnIn(ns: Netns, cmd: string, args: string[], io: { stdin?: string; stdout?: string } = {}): Child {
  const inFd = openSync(io.stdin ?? '/dev/null', 'r');
  const outFd = openSync(io.stdout ?? '/dev/null', 'w');
  try {
    return wrap(ns.spawn(cmd, args, { stdio: [inFd, outFd, 'pipe'] }));
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
}

/** Resolves once a kernel TCP socket listens on `port` inside `ns`. */
export async function waitListening(ns: Netns, port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const r = await ns.exec('ss', ['-Htln', `sport = :${port}`]);
    if (r.code === 0 && r.stdout.trim() !== '') return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`nothing listens on port ${port} in ${ns.name}`);
}

/** Rejects after `ms` with `what`, so a hung transfer fails with a message instead of a test timeout. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
    }),
  ]);
}

/** Runs `fn`; a NetemUnavailable turns into a skip of test `t` with the reason. */
export async function orSkipWithoutNetem(t: { skip(msg: string): void }, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof NetemUnavailable) t.skip(e.message);
    else throw e;
  }
}

export function hasTool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * What the kernel counted on the TUN device and in its TCP since `start()`: the oracle that a transfer
 * really crossed synack. With synack out of the path (a kernel socket to a kernel address) the bytes
 * would go over `lo` and these counters would stay near zero.
 */
export class PathWitness {
  private constructor(
    private readonly host: TunHost,
    private readonly link0: LinkStats,
    private readonly tcp0: Record<string, number>,
  ) {}

  static async start(host: TunHost): Promise<PathWitness> {
    return new PathWitness(host, await host.ns.linkStats(host.dev), await host.ns.tcpSnmp());
  }

  /** Counter deltas: toSynack = what the kernel wrote into the device, fromSynack = what it read from it. */
  async delta(): Promise<{ toSynack: LinkStats['txBytes']; fromSynack: LinkStats['rxBytes']; kernelDropped: number; kernelRetrans: number; kernelResets: number }> {
    const l = await this.host.ns.linkStats(this.host.dev);
    const t = await this.host.ns.tcpSnmp();
    return {
      toSynack: l.txBytes - this.link0.txBytes,
      fromSynack: l.rxBytes - this.link0.rxBytes,
      kernelDropped: l.txDropped - this.link0.txDropped,
      kernelRetrans: (t['RetransSegs'] ?? 0) - (this.tcp0['RetransSegs'] ?? 0),
      /** Kernel connections reset from ESTABLISHED or CLOSE-WAIT (EstabResets): a client reset by synack. */
      kernelResets: (t['EstabResets'] ?? 0) - (this.tcp0['EstabResets'] ?? 0),
    };
  }

  /**
   * Asserts that at least `bytes` went from the kernel to synack (`toSynack`) and/or from synack to
   * the kernel (`fromSynack`) through the device, and returns the deltas.
   */
  async assertCrossed(expect: { toSynack?: number; fromSynack?: number }, what: string): ReturnType<PathWitness['delta']> {
    const d = await this.delta();
    if (expect.toSynack !== undefined) {
      assert.ok(d.toSynack >= expect.toSynack, `${what}: the kernel wrote ${d.toSynack} bytes into ${this.host.dev}, fewer than the ${expect.toSynack} transferred: synack was not in the path`);
    }
    if (expect.fromSynack !== undefined) {
      assert.ok(d.fromSynack >= expect.fromSynack, `${what}: the kernel read ${d.fromSynack} bytes from ${this.host.dev}, fewer than the ${expect.fromSynack} transferred: synack was not in the path`);
    }
    return d;
  }
}

/**
 * An nginx on the kernel side at port 8081 (both families) serving `root`; its access log (DIR/access.log)
 * records who connected ($remote_addr), the status and the body bytes sent. `extra` goes in the server block.
 */
export function nginxConf(dir: string, root: string, extra = ''): string {
  const conf = join(dir, 'nginx.conf');
  const t = (n: string): string => join(dir, n);
  writeFileSync(
    conf,
    `daemon off;
master_process off;
user root;
worker_processes 1;
pid ${t('nginx.pid')};
error_log ${t('error.log')};
events { worker_connections 64; }
http {
  log_format peer '$remote_addr $status $body_bytes_sent';
  access_log ${t('access.log')} peer;
  client_body_temp_path ${t('body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  server {
    listen ${V4.kernel}:8081;
    listen [${V6.kernel}]:8081;
    root ${root};
    sendfile on;
${extra}
  }
}
`,
  );
  return conf;
}

