// Test harness for kernel-facing tests: creates uniquely named network namespaces, veth pairs between
// them and child processes inside them, allows only 198.18.0.0/15 and 2001:db8::/32 addresses, never
// touches the root namespace's interfaces, and removes everything it made even when a test fails.
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { configureKernelSide, type KernelSideOptions } from '../../src/link/tun.js';

/** Every namespace this harness makes is called `synack-<pid>-<n>`. */
const NAME_RE = /^synack-(\d+)-\d+$/;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Returns null when namespaces can be used here, else why not (for `t.skip` / `{ skip }`). */
export function netnsUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux; this is ${process.platform}`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root: network namespace tests need root';
  const ip = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (ip.error !== undefined) return '`ip` (iproute2) is not installed';
  if (ip.status !== 0) return `\`ip netns\` does not work here: ${ip.stderr.trim()}`;
  return null;
}

/** Returns null when `cmd` is on PATH, else a skip message. */
export function missingTool(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  return r.status === 0 ? null : `${cmd} is not installed`;
}

function expandIpv6(addr: string): number[] | null {
  const parts = addr.split('::');
  if (parts.length > 2) return null;
  const head = parts[0] === '' ? [] : (parts[0] ?? '').split(':');
  const tail = parts.length === 2 && parts[1] !== '' ? (parts[1] ?? '').split(':') : [];
  if (tail.some((g) => g.includes('.')) || head.some((g) => g.includes('.'))) return null;
  const fill = parts.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (parts.length === 1 && head.length !== 8)) return null;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** True for addresses in 198.18.0.0/15 or 2001:db8::/32 (an optional /prefix is ignored). */
export function isTestAddress(cidr: string): boolean {
  const addr = cidr.split('/')[0] ?? '';
  const family = isIP(addr);
  if (family === 4) {
    const [a, b] = addr.split('.').map(Number);
    return a === 198 && (b === 18 || b === 19);
  }
  if (family === 6) {
    const g = expandIpv6(addr);
    return g !== null && g[0] === 0x2001 && g[1] === 0x0db8;
  }
  return false;
}

/** Throws unless every address is in the test ranges. */
export function assertTestAddress(...cidrs: string[]): void {
  for (const c of cidrs) {
    if (!isTestAddress(c)) throw new Error(`netns harness refuses ${c}: only 198.18.0.0/15 and 2001:db8::/32 may be used`);
  }
}

function run(cmd: string, args: string[], timeoutMs = 30_000, input?: string): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr: err !== null && stderr === '' ? err.message : stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function mustRun(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** One network namespace made by the harness. */
export class Netns {
  constructor(
    readonly name: string,
    private readonly harness: NetnsHarness,
  ) {}

  /** Runs a command inside the namespace; resolves with its exit code and output (never rejects). */
  exec(cmd: string, args: string[] = [], opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts.timeoutMs, opts.input);
  }

  /** Like exec, but rejects when the command exits non-zero. */
  async run(cmd: string, args: string[] = []): Promise<string> {
    return mustRun('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }

  /** Starts a long-running process inside the namespace; the harness kills it on cleanup. */
  spawn(cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...opts });
    this.harness.track(child);
    return child;
  }

  /** `ip -n NS ...` (rejects on failure). */
  ip(...args: string[]): Promise<string> {
    return mustRun('ip', ['-n', this.name, ...args]);
  }

  /** Adds an address (test ranges only) to a device in this namespace; an existing one is fine. */
  async addAddress(dev: string, cidr: string): Promise<void> {
    assertTestAddress(cidr);
    if (isIP(cidr.split('/')[0] ?? '') === 6) await this.ip('-6', 'addr', 'replace', cidr, 'dev', dev, 'nodad');
    else await this.ip('addr', 'replace', cidr, 'dev', dev);
  }

  /** configureKernelSide for a TUN device in this namespace, with the address range checked. */
  async configureTun(dev: string, opts: Omit<KernelSideOptions, 'netns'>): Promise<void> {
    if (opts.peer !== undefined) assertTestAddress(opts.peer);
    await configureKernelSide(dev, { ...opts, netns: this.name });
  }

  /** Sets a sysctl inside the namespace only (net.* sysctls are per namespace). */
  async sysctl(key: string, value: string | number): Promise<void> {
    await this.run('sysctl', ['-q', '-w', `${key}=${value}`]);
  }

  /** Kernel counters of a device in this namespace (`ip -s -j link`). */
  async linkStats(dev: string): Promise<LinkStats> {
    const out = JSON.parse(await this.ip('-s', '-j', 'link', 'show', 'dev', dev)) as {
      stats64: { rx: { packets: number; bytes: number; dropped: number }; tx: { packets: number; bytes: number; dropped: number } };
    }[];
    const s = out[0]?.stats64;
    if (s === undefined) throw new Error(`no stats for ${dev} in ${this.name}`);
    return {
      rxPackets: s.rx.packets,
      rxBytes: s.rx.bytes,
      txPackets: s.tx.packets,
      txBytes: s.tx.bytes,
      rxDropped: s.rx.dropped,
      txDropped: s.tx.dropped,
    };
  }

  /** The namespace's kernel TCP counters from /proc/net/snmp (RetransSegs, OutSegs, ActiveOpens, ...). */
  async tcpSnmp(): Promise<Record<string, number>> {
    const text = await this.run('cat', ['/proc/net/snmp']);
    const lines = text.split('\n').filter((l) => l.startsWith('Tcp:'));
    const names = (lines[0] ?? '').split(/\s+/).slice(1);
    const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
  }
}

/** A device's kernel counters: rx is what the kernel received on it, tx what it sent out of it. */
export interface LinkStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
}

const live = new Set<NetnsHarness>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last line of defence when a test throws past its finally or the process is told to stop.
  process.on('exit', () => {
    for (const h of live) h.cleanupSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      for (const h of live) h.cleanupSync();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Owns every namespace and process a test makes. Use one per test (or per file) and call
 * `cleanup()` from `t.after` / a finally block; a process 'exit' hook and SIGINT/SIGTERM hooks
 * also remove whatever is left, and namespaces left by dead earlier runs are swept on first use.
 */
export class NetnsHarness {
  private static counter = 0;
  private readonly namespaces: Netns[] = [];
  private readonly children = new Set<ChildProcess>();

  constructor() {
    installExitHook();
    live.add(this);
  }

  /** Creates `synack-<pid>-<n>` with loopback up and nothing else: no route out of it exists. */
  async create(): Promise<Netns> {
    if (NetnsHarness.counter === 0) await sweepStale();
    const name = `synack-${process.pid}-${NetnsHarness.counter++}`;
    await mustRun('ip', ['netns', 'add', name]);
    const ns = new Netns(name, this);
    this.namespaces.push(ns);
    await ns.ip('link', 'set', 'dev', 'lo', 'up');
    return ns;
  }

  /**
   * Creates a veth pair with one end in each namespace (never in the root namespace), brings both
   * up and gives them the given addresses (test ranges only).
   */
  async veth(
    a: Netns,
    b: Netns,
    opts: { nameA?: string; nameB?: string; addrA?: string[]; addrB?: string[]; mtu?: number } = {},
  ): Promise<{ nameA: string; nameB: string }> {
    const nameA = opts.nameA ?? 'veth0';
    const nameB = opts.nameB ?? 'veth1';
    assertTestAddress(...(opts.addrA ?? []), ...(opts.addrB ?? []));
    await a.ip('link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB, 'netns', b.name);
    for (const [ns, dev, addrs] of [[a, nameA, opts.addrA ?? []], [b, nameB, opts.addrB ?? []]] as const) {
      if (opts.mtu !== undefined) await ns.ip('link', 'set', 'dev', dev, 'mtu', String(opts.mtu));
      await ns.ip('link', 'set', 'dev', dev, 'up');
      for (const addr of addrs) await ns.addAddress(dev, addr);
    }
    return { nameA, nameB };
  }

  /** @internal Called by Netns.spawn. */
  track(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  /** Kills tracked processes and deletes every namespace this harness made. */
  async cleanup(): Promise<void> {
    this.killChildren();
    const names = this.namespaces.splice(0).map((n) => n.name);
    for (const name of names) await run('ip', ['netns', 'del', name]);
    live.delete(this);
  }

  /** Synchronous cleanup for exit hooks. */
  cleanupSync(): void {
    this.killChildren();
    for (const ns of this.namespaces.splice(0)) spawnSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' });
    live.delete(this);
  }

  /** Names of the namespaces still alive. */
  names(): string[] {
    return this.namespaces.map((n) => n.name);
  }

  private killChildren(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        // `ip netns exec` execs the command, so this pid is the command itself.
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    this.children.clear();
  }
}

/** Namespaces that `ip netns list` shows right now. */
export async function listNamespaces(): Promise<string[]> {
  const out = await mustRun('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Deletes `synack-<pid>-<n>` namespaces whose creating process no longer exists (e.g. killed -9). */
async function sweepStale(): Promise<void> {
  for (const name of await listNamespaces()) {
    const m = NAME_RE.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || existsSync(`/proc/${pid}`)) continue;
    await run('ip', ['netns', 'del', name]);
  }
}
