// The Linux TUN and TAP links: the only file that does OS packet IO. It opens a TUN device (IP
// packets) or a TAP device (Ethernet frames, for src/ethernet) through the optional native addon
// (native/), hands what it reads to the stack and writes the stack's packets back in batches;
// configureKernelSide sets up the kernel's end with `ip`.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Link } from './link.js';

/** The addon's surface (native/tun.c). Handles are opaque externals. */
interface NativeTun {
  open(name: string, netnsPath: string | null, persist: number, tap: boolean): { handle: unknown; name: string; created: boolean };
  start(handle: unknown, cb: ((batch: Buffer | null, ends: Uint32Array | null, count: number, errno: number) => void) | null): void;
  stop(handle: unknown): void;
  ref(handle: unknown, on: boolean): void;
  write(handle: unknown, packet: Uint8Array): number;
  writeBatch(handle: unknown, packets: Uint8Array[], count: number): number;
  close(handle: unknown): void;
  stats(handle: unknown): NativeStats;
  trim(): boolean;
}

interface NativeStats {
  rxPackets: number;
  rxBytes: number;
  rxBatches: number;
  rxErrors: number;
  /** Packets read between writes of a long batch (so the kernel's queue cannot overflow) and delivered after. */
  rxQueued: number;
  txPackets: number;
  txBytes: number;
  txErrors: number;
  lastTxErrno: number;
  lastRxErrno: number;
}

export interface TunStats extends NativeStats {
  /** Packets the stack handed to send() that were larger than the link MTU (dropped, not written). */
  txOversize: number;
  /** Largest number of packets delivered by one readable event. */
  rxMaxBatch: number;
}

/** Why a TUN device cannot be used here; `reason` is stable, `message` is for people. */
export const TunFailure = {
  notLinux: 'not-linux',
  notBuilt: 'not-built',
  noDevice: 'no-dev-net-tun',
  notRoot: 'not-root',
  busy: 'busy',
  wrongType: 'wrong-type',
  noNamespace: 'no-netns',
  other: 'other',
} as const;
export type TunFailure = (typeof TunFailure)[keyof typeof TunFailure];

export class TunError extends Error {
  override readonly name = 'TunError';
  constructor(
    readonly reason: TunFailure,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface OpenTunOptions {
  /** Interface name (at most 15 bytes). An existing TUN device is attached; otherwise one is created. */
  name: string;
  /** Largest IP packet the stack may send; bigger ones are dropped and counted. Default 1500. */
  mtu?: number;
  /**
   * Network namespace to create/attach the device in: a name under /var/run/netns (as made by
   * `ip netns add`) or an absolute path to a netns file. The fd stays usable from this process.
   */
  netns?: string;
  /** Set (true) or clear (false) the device's persist flag; default leaves it as it is. */
  persist?: boolean;
  /** Keep the Node process alive while the device is open (default true). */
  ref?: boolean;
  /**
   * Open a TAP device (IFF_TAP: Ethernet frames, each up to mtu + 14 bytes) instead of a TUN device.
   * Put src/ethernet's EthernetInterface between it and a Stack.
   */
  tap?: boolean;
}

/** Ethernet II header bytes (destination, source, EtherType) on a TAP device's frames. */
const ETHERNET_HEADER = 14;

export interface TunLink extends Link {
  /** The interface name the kernel gave the device. */
  readonly name: string;
  /** True if this open created the device, false if it attached to one that existed. */
  readonly created: boolean;
  /** The namespace the device lives in, as given to openTun. */
  readonly netns: string | undefined;
  /**
   * Optional fast path: when set, each readable event delivers one batch here instead of calling
   * onReceive per packet. Packet i is batch[ends[i-1] ?? 0 .. ends[i]]. The buffers are not reused.
   */
  onReceiveBatch: ((batch: Uint8Array, ends: Uint32Array, count: number) => void) | null;
  /** Called once if the device fails (e.g. deleted under us); the link stops reading. */
  onError: ((err: TunError) => void) | null;
  /** Write every queued packet now (send() otherwise flushes on the next microtask). */
  flush(): void;
  /** Stop reading; packets wait in the kernel's queue (up to txqueuelen) until resume(). */
  pause(): void;
  resume(): void;
  /** Whether the open device keeps the process alive. */
  ref(): void;
  unref(): void;
  stats(): TunStats;
}

/**
 * Where the addon may be, in order: SYNACK_TUN_ADDON alone when set; else a build from source
 * (scripts/build-native.mjs, run at install), then the binary prebuilt for this platform that the
 * package ships (native/prebuilt/, made at `npm pack`).
 */
function addonPaths(): string[] {
  const env = process.env['SYNACK_TUN_ADDON'];
  if (env !== undefined && env !== '') return [env];
  const native = (rel: string): string => fileURLToPath(new URL(`../../native/${rel}`, import.meta.url));
  return [native('build/Release/synack_tun.node'), native(`prebuilt/${process.platform}-${process.arch}/synack_tun.node`)];
}

/** What a user without the addon does about it (scripts/build-native.mjs says the same at install). */
const BUILD_HINT =
  'install a C compiler, make and python3 (Debian/Ubuntu: sudo apt-get install g++ make python3; ' +
  'Fedora: sudo dnf install gcc-c++ make python3), then run `npm rebuild synack` ' +
  '(in a checkout of synack: node scripts/build-native.mjs)';

let cached: { addon: NativeTun } | { error: TunError } | undefined;

function loadAddon(): { addon: NativeTun } | { error: TunError } {
  if (cached !== undefined) return cached;
  if (process.platform !== 'linux') {
    cached = { error: new TunError(TunFailure.notLinux, `TUN links need Linux; this is ${process.platform}`) };
    return cached;
  }
  const paths = addonPaths();
  const failures: string[] = [];
  const req = createRequire(import.meta.url);
  for (const path of paths.filter((p) => existsSync(p))) {
    try {
      cached = { addon: req(path) as NativeTun };
      return cached;
    } catch (e) {
      failures.push(`${path} does not load here: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const why =
    failures.length > 0
      ? `the native TUN addon does not load (${failures.join('; ')})`
      : `the native TUN addon is not built for ${process.platform}-${process.arch} (looked for ${paths.join(', ')})`;
  cached = { error: new TunError(TunFailure.notBuilt, `${why}; to build it, ${BUILD_HINT}`) };
  return cached;
}

/**
 * Returns null when TUN devices can be opened here, or the reason they cannot (without trying to
 * open one). Tests and commands use it to skip or to explain.
 */
export function tunUnavailableReason(): string | null {
  const loaded = loadAddon();
  if ('error' in loaded) return loaded.error.message;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun does not exist (load the tun module: modprobe tun)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'not root: opening a TUN device needs root (CAP_NET_ADMIN)';
  }
  return null;
}

/**
 * Returns freed heap pages to the system (glibc malloc_trim, through the addon); false when nothing
 * was released or the addon is not loaded. See src/cli/memory.ts for when the commands call it.
 */
export function trimHeap(): boolean {
  const loaded = loadAddon();
  return 'addon' in loaded ? loaded.addon.trim() : false;
}

function netnsPath(netns: string): string {
  return netns.startsWith('/') ? netns : `/var/run/netns/${netns}`;
}

function explainOpenError(name: string, netns: string | undefined, e: unknown, kind: 'TUN' | 'TAP'): TunError {
  const err = e as { code?: string; message?: string };
  const where = netns === undefined ? '' : ` in netns ${netns}`;
  const detail = err.message ?? String(e);
  switch (err.code) {
    case 'EPERM':
    case 'EACCES':
      return new TunError(TunFailure.notRoot, `not root: opening ${kind} device "${name}"${where} needs root (CAP_NET_ADMIN) (${detail})`, err.code);
    case 'EBUSY':
      return new TunError(TunFailure.busy, `${kind} device "${name}"${where} is already attached to another process (${detail})`, err.code);
    case 'EINVAL':
      return new TunError(TunFailure.wrongType, `"${name}"${where} exists but is not a ${kind} device, or the name is invalid (${detail})`, err.code);
    case 'ENOENT':
      if (detail.includes('/dev/net/tun')) {
        return new TunError(TunFailure.noDevice, `/dev/net/tun does not exist (load the tun module: modprobe tun) (${detail})`, err.code);
      }
      return new TunError(TunFailure.noNamespace, `network namespace ${netns ?? ''} does not exist (${detail})`, err.code);
    default:
      return new TunError(TunFailure.other, `cannot open ${kind} device "${name}"${where}: ${detail}`, err.code);
  }
}

/** Opens (creating if needed) a TUN or TAP device and returns it as a Link that starts reading at once. */
export async function openTun(opts: OpenTunOptions): Promise<TunLink> {
  const loaded = loadAddon();
  if ('error' in loaded) throw loaded.error;
  if (!existsSync('/dev/net/tun')) {
    throw new TunError(TunFailure.noDevice, '/dev/net/tun does not exist (load the tun module: modprobe tun)');
  }
  if (opts.netns !== undefined && !existsSync(netnsPath(opts.netns))) {
    throw new TunError(TunFailure.noNamespace, `network namespace ${opts.netns} does not exist (${netnsPath(opts.netns)})`);
  }
  const mtu = opts.mtu ?? 1500;
  const tap = opts.tap === true;
  // The addon reads into 64 KiB slots, so a TAP frame (MTU + 14-byte header) must fit in one.
  const maxMtu = tap ? 65536 - ETHERNET_HEADER : 65535;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > maxMtu) throw new RangeError(`mtu must be an integer in 68..${maxMtu}, got ${mtu}`);
  let opened: ReturnType<NativeTun['open']>;
  try {
    opened = loaded.addon.open(opts.name, opts.netns === undefined ? null : netnsPath(opts.netns), opts.persist === undefined ? -1 : opts.persist ? 1 : 0, tap);
  } catch (e) {
    throw explainOpenError(opts.name, opts.netns, e, tap ? 'TAP' : 'TUN');
  }
  const link = new NativeTunLink(loaded.addon, opened.handle, opened.name, opened.created, opts.netns, mtu, tap ? ETHERNET_HEADER : 0);
  if (opts.ref === false) link.unref();
  return link;
}

class NativeTunLink implements TunLink {
  onReceive: ((packet: Uint8Array) => void) | null = null;
  onReceiveBatch: ((batch: Uint8Array, ends: Uint32Array, count: number) => void) | null = null;
  onError: ((err: TunError) => void) | null = null;
  private closed = false;
  private paused = false;
  private readonly pending: Uint8Array[] = [];
  private flushQueued = false;
  private txOversize = 0;
  private rxMaxBatch = 0;
  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(
    private readonly addon: NativeTun,
    private readonly handle: unknown,
    readonly name: string,
    readonly created: boolean,
    readonly netns: string | undefined,
    readonly mtu: number,
    /** Link-layer header bytes on top of the MTU (14 on a TAP device). */
    private readonly header: number,
  ) {
    addon.start(handle, (batch, ends, count, errno) => this.onBatch(batch, ends, count, errno));
  }

  send(packet: Uint8Array): void {
    if (this.closed) return;
    if (packet.length > this.mtu + this.header) {
      this.txOversize++;
      return;
    }
    this.pending.push(packet);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushTask);
    }
  }

  flush(): void {
    const n = this.pending.length;
    if (n === 0 || this.closed) return;
    // Failed writes (e.g. a packet the kernel rejects) are counted natively and dropped.
    if (n === 1) this.addon.write(this.handle, this.pending[0] as Uint8Array);
    else this.addon.writeBatch(this.handle, this.pending, n);
    this.pending.length = 0;
  }

  pause(): void {
    if (this.closed || this.paused) return;
    this.paused = true;
    this.addon.stop(this.handle);
  }

  resume(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.addon.start(this.handle, null);
  }

  ref(): void {
    if (!this.closed) this.addon.ref(this.handle, true);
  }

  unref(): void {
    if (!this.closed) this.addon.ref(this.handle, false);
  }

  stats(): TunStats {
    return { ...this.addon.stats(this.handle), txOversize: this.txOversize, rxMaxBatch: this.rxMaxBatch };
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.onReceive = null;
    this.onReceiveBatch = null;
    this.pending.length = 0;
    this.addon.close(this.handle);
  }

  private onBatch(batch: Buffer | null, ends: Uint32Array | null, count: number, errno: number): void {
    if (this.closed) return;
    if (batch === null || ends === null) {
      const err = new TunError(TunFailure.other, `TUN device "${this.name}" failed: errno ${-errno}; reading stopped`, 'EIO');
      this.onError?.(err);
      return;
    }
    if (count > this.rxMaxBatch) this.rxMaxBatch = count;
    const bytes = new Uint8Array(batch.buffer, batch.byteOffset, batch.byteLength);
    const batchCb = this.onReceiveBatch;
    if (batchCb !== null) {
      batchCb(bytes, ends, count);
      return;
    }
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = ends[i] as number;
      const rx = this.onReceive;
      if (rx === null || this.closed) return;
      rx(bytes.subarray(start, end));
      start = end;
    }
  }
}

export interface KernelSideOptions {
  /** The kernel's own address on the device, e.g. '198.18.0.1' or '2001:db8::1'. Omit to leave addresses alone. */
  peer?: string;
  /** Prefix length for `peer` (default 24 for IPv4, 64 for IPv6). */
  prefix?: number;
  /** Device MTU to set. */
  mtu?: number;
  /** Kernel transmit queue length (packets the device holds while the reader is slow). */
  txqueuelen?: number;
  /** Namespace name (under /var/run/netns) the device lives in. */
  netns?: string;
}

function runIp(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`ip ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
    });
  });
}

/**
 * Configures the kernel's end of a TUN device with `ip`: MTU, queue length, up, and the peer
 * address. Idempotent: `addr replace` accepts an address that is already there. IPv6 addresses
 * are added with `nodad` so they are usable at once.
 */
export async function configureKernelSide(name: string, opts: KernelSideOptions = {}): Promise<void> {
  const ns = opts.netns === undefined ? [] : ['-n', opts.netns];
  const link = [...ns, 'link', 'set', 'dev', name];
  if (opts.mtu !== undefined) link.push('mtu', String(opts.mtu));
  if (opts.txqueuelen !== undefined) link.push('txqueuelen', String(opts.txqueuelen));
  link.push('up');
  await runIp(link);
  if (opts.peer === undefined) return;
  const family = isIP(opts.peer);
  if (family === 0) throw new TypeError(`peer must be an IP address, got ${JSON.stringify(opts.peer)}`);
  const prefix = opts.prefix ?? (family === 4 ? 24 : 64);
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new RangeError(`prefix must be 0..${max}, got ${prefix}`);
  if (family === 4) await runIp([...ns, 'addr', 'replace', `${opts.peer}/${prefix}`, 'dev', name]);
  else await runIp([...ns, '-6', 'addr', 'replace', `${opts.peer}/${prefix}`, 'dev', name, 'nodad']);
}
