// The Linux TUN and TAP links: the only file that does OS packet IO. It opens a TUN device (IP
// packets) or a TAP device (Ethernet frames, for src/ethernet) through the optional native addon
// (native/), hands what it reads to the stack and writes the stack's packets back in batches;
// configureKernelSide sets up the kernel's end with `ip`. It negotiates the kernel's offloads
// (virtio_net_hdr, TSO, checksum) on TUN and TAP devices alike: see docs/tun.md.
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Link, LinkOffload } from './link.js';
import { recyclePacket } from '../wire/packet.js';
import { giveLinkSlot, takeLinkSlot } from '../wire/simd-sum.js';

/** The addon's surface (native/tun.c). Handles are opaque externals. */
interface NativeTun {
  open(
    name: string,
    netnsPath: string | null,
    persist: number,
    tap: boolean,
    offload: number,
    writeThread: boolean,
  ): {
    handle: unknown;
    name: string;
    created: boolean;
    vnetHdr: number;
    offload: number;
    writeThread: boolean;
    rx: ArrayBuffer;
    rxCap: number;
    rxMaxPackets: number;
    /** The writer thread's ring, when there is one (native/tun.c tun_reserve). */
    txRing?: ArrayBuffer;
  };
  /** cb(count, errno): a batch of `count` packets in the shared receive buffer (open's `rx`), or count 0 and errno < 0 when the device failed. */
  start(handle: unknown, cb: ((count: number, errno: number) => void) | null): void;
  stop(handle: unknown): void;
  ref(handle: unknown, on: boolean): void;
  write(handle: unknown, packet: Uint8Array, meta: number): number;
  writeBatch(handle: unknown, packets: Uint8Array[], count: number, metas: Uint32Array): number;
  /** The writer thread's ring (open's txRing): `need` bytes at the returned offset are ours to fill until commit; -1 if none. */
  reserve(handle: unknown, need: number): number;
  /** Publishes `bytes` of records written at the reservation's start; reserves `next` more (returns its offset, or -1). */
  commit(handle: unknown, bytes: number, next: number): number;
  /** Reads land in `bytes` from now on (ends and flags stay in open's `rx`). */
  rxInto(handle: unknown, bytes: Uint8Array): void;
  close(handle: unknown): void;
  stats(handle: unknown): NativeStats;
  trim(): boolean;
  discard(view: Uint8Array): number;
}

interface NativeStats {
  rxPackets: number;
  rxBytes: number;
  rxBatches: number;
  rxErrors: number;
  /** Packets read between writes of a long batch (so the kernel's queue cannot overflow) and delivered after. */
  rxQueued: number;
  /** GSO packets (more than one segment) the kernel handed us. */
  rxGso: number;
  /** Packets read whose checksum the kernel left for us to trust or finish (NEEDS_CSUM). */
  rxCsumPartial: number;
  /** Packets read and dropped because of a virtio_net_hdr we cannot honour (e.g. UDP GSO). */
  rxBadVnet: number;
  txPackets: number;
  txBytes: number;
  txErrors: number;
  lastTxErrno: number;
  lastRxErrno: number;
  /** Bytes of virtio_net_hdr in front of each packet on the fd (10 with offloads, else 0). */
  vnetHdr: number;
  /** The TUN_F_* flags the kernel accepted (TUNSETOFFLOAD). */
  offloadFlags: number;
  /** Times the main thread woke the writer thread (it sleeps only when it has written everything). */
  writerWakes: number;
  /** Times the writer thread went to sleep on an empty ring. */
  writerSleeps: number;
}

export interface TunStats extends NativeStats {
  /** Packets the stack handed to send() that were larger than the link MTU (dropped, not written). */
  txOversize: number;
  /** Largest number of packets delivered by one readable event. */
  rxMaxBatch: number;
  /**
   * Whether reads land in the checksum kernel's memory (wire/simd-sum.ts takeLinkSlot), where the
   * Stack sums and parses them without a copy; false when every slot was taken (two per process).
   */
  rxInKernelMemory: boolean;
  /** GSO packets we sent for the kernel to cut. */
  txGso: number;
}

/** TUN_F_* flags (linux/if_tun.h) for TUNSETOFFLOAD. */
const TUN_F = { csum: 0x01, tso4: 0x02, tso6: 0x04, uso4: 0x20, uso6: 0x40 } as const;
/** Per-packet word handed to the addon with each write (native/tun.c META_*). */
const META_NEEDS_CSUM = 0x10000;
/**
 * Writes into the writer thread's ring (native/tun.c tun_reserve): room is reserved RESERVE_BYTES at
 * a time, and what is written is published to the thread once COMMIT_BYTES have gathered (so it
 * starts on a long burst before the burst ends) and at every flush.
 */
const RESERVE_BYTES = 128 * 1024;
const COMMIT_BYTES = 16 * 1024;
/** One ring record: u32 length, u32 header length, the header, the packet; 8-aligned (native/tun.c w_record). */
const ringRecord = (n: number): number => (8 + n + 7) & ~7;
/** Where a microtask's flush hangs: a resolved promise's reaction costs less than queueMicrotask (no AsyncResource). */
const resolved = Promise.resolve();

/** The offloads a TUN link asks the kernel for: checksums and TCP segmentation both ways. */
export const TUN_OFFLOADS = TUN_F.csum | TUN_F.tso4 | TUN_F.tso6;

/** Names of the TUN_F_* flags in `flags`, for stats and docs. */
export function offloadNames(flags: number): string[] {
  return Object.entries(TUN_F)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
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
  /**
   * Negotiate the kernel's offloads (IFF_VNET_HDR and TUNSETOFFLOAD with TUN_F_CSUM, TSO4 and
   * TSO6): the kernel hands over and takes back TCP super-packets of up to 64 KiB and finishes
   * checksums. Default true; false (or a kernel that refuses) gives plain packets, one per MTU.
   * On a TAP device the same header sits in front of each Ethernet frame; an EthernetInterface
   * passes the offloads through to its Stack.
   */
  offload?: boolean;
  /**
   * Write through a thread of the addon (default true): send() and flush() copy each packet into a
   * ring and return, and the thread's write(2)s run the kernel's receive path on another core
   * (docs/tun.md, "Writes"). false (or SYNACK_TUN_WRITE_THREAD=0) writes on the calling thread.
   */
  writeThread?: boolean;
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
  /** What the kernel does for us (null: offloads off or refused); see Link.offload. */
  readonly offload: LinkOffload | null;
  /** The TUN_F_* offload names the kernel accepted, e.g. ['csum', 'tso4', 'tso6'] ([] when off). */
  readonly offloads: readonly string[];
  /** Whether writes go through the addon's writer thread (OpenTunOptions.writeThread). */
  readonly writeThread: boolean;
  /**
   * Optional fast path: when set, each readable event delivers one batch here instead of calling
   * onReceive per packet (Link.onReceiveBatch). Packet i is batch[ends[i-1] ?? 0 .. ends[i]], with
   * RX_* flags rx[i] (the kernel's checksum word, with offloads; 0 without). All three are views of
   * one buffer the link reuses for every read: valid only during the call.
   */
  onReceiveBatch: ((batch: Uint8Array, ends: Uint32Array, count: number, rx?: Uint8Array | null) => void) | null;
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
const REBUILD = 'run `npm rebuild synack` (in a checkout of synack: node scripts/build-native.mjs)';
const STALE = '; rebuild it';
const BUILD_HINT =
  'install a C compiler, make and python3 (Debian/Ubuntu: sudo apt-get install g++ make python3; ' +
  'Fedora: sudo dnf install gcc-c++ make python3), then run `npm rebuild synack` ' +
  '(in a checkout of synack: node scripts/build-native.mjs)';

let cached: { addon: NativeTun; path: string } | { error: TunError } | undefined;

/**
 * The hash of the addon's sources, as scripts/build-native.mjs writes it into the stamp beside each
 * binary it builds or ships (the same two files in the same order: keep the two in step; a test
 * compares them). Null when the sources are not there to hash.
 */
export function addonSourcesHash(nativeDir: string): string | null {
  const h = createHash('sha256');
  for (const f of ['tun.c', 'binding.gyp']) {
    const p = join(nativeDir, f);
    if (!existsSync(p)) return null;
    h.update(readFileSync(p));
  }
  return h.digest('hex');
}

/**
 * Why the binary at `path` must not be loaded, or null. A binary built from other sources than the
 * ones beside it (a checkout moved on by `git pull` or a merge without `npm install`) speaks an older
 * interface: it loaded, then its device never delivered a packet, and TUN commands and tests hung
 * waiting for one. Its stamp (written by scripts/build-native.mjs) says which sources it was built from.
 */
export function staleAddon(path: string): string | null {
  // native/build/Release/X.node and native/prebuilt/PLATFORM/X.node: three levels below native/
  const nativeDir = dirname(dirname(dirname(path)));
  const want = addonSourcesHash(nativeDir);
  if (want === null) return null; // no sources to compare with: trust the binary
  const stamp = `${path}.sources-sha256`;
  const have = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : null;
  if (have === want) return null;
  return `${path} was built from ${have === null ? 'unknown (no stamp beside it)' : 'other'} sources than ${join(nativeDir, 'tun.c')}, so it may not match this version of synack${STALE}`;
}

function loadAddon(): { addon: NativeTun; path: string } | { error: TunError } {
  if (cached !== undefined) return cached;
  if (process.platform !== 'linux') {
    cached = { error: new TunError(TunFailure.notLinux, `TUN links need Linux; this is ${process.platform}`) };
    return cached;
  }
  const paths = addonPaths();
  const failures: string[] = [];
  const req = createRequire(import.meta.url);
  const checkStamp = process.env['SYNACK_TUN_ADDON'] === undefined || process.env['SYNACK_TUN_ADDON'] === '';
  for (const path of paths.filter((p) => existsSync(p))) {
    const stale = checkStamp ? staleAddon(path) : null;
    if (stale !== null) {
      failures.push(stale);
      continue;
    }
    try {
      cached = { addon: req(path) as NativeTun, path };
      return cached;
    } catch (e) {
      failures.push(`${path} does not load here: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const why =
    failures.length > 0
      ? `the native TUN addon does not load (${failures.join('; ')})`
      : `the native TUN addon is not built for ${process.platform}-${process.arch} (looked for ${paths.join(', ')})`;
  const onlyStale = failures.length > 0 && failures.every((f) => f.endsWith(STALE));
  cached = { error: new TunError(TunFailure.notBuilt, onlyStale ? `${why}: ${REBUILD}` : `${why}; to build it, ${BUILD_HINT}`) };
  return cached;
}

/** The path of the addon binary this process loaded (a build, the prebuilt one, or SYNACK_TUN_ADDON), or null. */
export function tunAddonPath(): string | null {
  const loaded = loadAddon();
  return 'path' in loaded ? loaded.path : null;
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

/**
 * Gives the whole pages inside `view` back to the system (madvise MADV_DONTNEED, through the
 * addon): they read as zeros when next touched. Only for storage nobody reads before writing it
 * over (pooled buffers); returns the bytes given back, 0 without the addon.
 */
export function discardPages(view: Uint8Array): number {
  const loaded = loadAddon();
  // (typeof: a binary built before discard existed still loads for everything else)
  return 'addon' in loaded && typeof loaded.addon.discard === 'function' ? loaded.addon.discard(view) : 0;
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
  const wantOffload = opts.offload !== false ? TUN_OFFLOADS : 0;
  try {
    const writeThread = opts.writeThread ?? process.env['SYNACK_TUN_WRITE_THREAD'] !== '0';
    opened = loaded.addon.open(opts.name, opts.netns === undefined ? null : netnsPath(opts.netns), opts.persist === undefined ? -1 : opts.persist ? 1 : 0, tap, wantOffload, writeThread);
  } catch (e) {
    throw explainOpenError(opts.name, opts.netns, e, tap ? 'TAP' : 'TUN');
  }
  const link = new NativeTunLink(loaded.addon, opened, opts.netns, mtu, tap ? ETHERNET_HEADER : 0);
  if (opts.ref === false) link.unref();
  return link;
}

class NativeTunLink implements TunLink {
  onReceive: ((packet: Uint8Array, rx?: number) => void) | null = null;
  onReceiveBatch: ((batch: Uint8Array, ends: Uint32Array, count: number, rx?: Uint8Array | null) => void) | null = null;
  onError: ((err: TunError) => void) | null = null;
  readonly name: string;
  readonly created: boolean;
  readonly offload: LinkOffload | null;
  readonly offloads: readonly string[];
  readonly writeThread: boolean;
  private readonly handle: unknown;
  /** The addon's receive batch (native/tun.c tun_t): reused by every read. */
  private readonly rxBytes: Uint8Array;
  /** rxBytes when it is a slot of the checksum kernel's memory (given back at close). */
  private readonly rxSlot: Uint8Array | null;
  private readonly rxEnds: Uint32Array;
  private readonly rxFlags: Uint8Array;
  private closed = false;
  private paused = false;
  private readonly pending: Uint8Array[] = [];
  /** Per pending packet, its native/tun.c META_* word (gso_size, needs-checksum). */
  private metas = new Uint32Array(256);
  /** Per pending packet, 1 when the sender gave it away (sendOwned): recycled once written. */
  private owned = new Uint8Array(256);
  private flushQueued = false;
  /** The writer thread's ring (null without one): queue() copies each packet straight into it. */
  private readonly ring: Uint8Array | null;
  private readonly ring32: Uint32Array | null;
  /** virtio_net_hdr bytes in front of each packet on the fd (0 or 10). */
  private readonly vnetHdr: number;
  /** The open reservation in the ring: written from resStart to resAt, ours up to resEnd. */
  private resStart = 0;
  private resAt = 0;
  private resEnd = 0;
  private txOversize = 0;
  private rxMaxBatch = 0;
  private txGso = 0;
  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(
    private readonly addon: NativeTun,
    opened: ReturnType<NativeTun['open']>,
    readonly netns: string | undefined,
    readonly mtu: number,
    /** Link-layer header bytes on top of the MTU (14 on a TAP device). */
    private readonly header: number,
  ) {
    this.handle = opened.handle;
    this.name = opened.name;
    this.created = opened.created;
    this.writeThread = opened.writeThread;
    const { rx, rxCap, rxMaxPackets } = opened;
    // Reads straight into the checksum kernel's memory where it can be had: each packet's checksum
    // is then summed where it lies, and payload views recur by position (wire/simd-sum.ts).
    this.rxSlot = takeLinkSlot();
    if (this.rxSlot !== null) addon.rxInto(this.handle, this.rxSlot);
    this.rxBytes = this.rxSlot ?? new Uint8Array(rx, 0, rxCap);
    this.rxEnds = new Uint32Array(rx, rxCap, rxMaxPackets);
    this.rxFlags = new Uint8Array(rx, rxCap + 4 * rxMaxPackets, rxMaxPackets);
    this.offloads = offloadNames(opened.offload);
    this.vnetHdr = opened.vnetHdr;
    this.ring = opened.txRing !== undefined ? new Uint8Array(opened.txRing) : null;
    this.ring32 = opened.txRing !== undefined ? new Uint32Array(opened.txRing) : null;
    const csum = opened.vnetHdr > 0 && (opened.offload & TUN_F.csum) !== 0;
    const tso = csum && (opened.offload & (TUN_F.tso4 | TUN_F.tso6)) === (TUN_F.tso4 | TUN_F.tso6);
    // An IPv4 packet's total length is 16 bits; the IPv6 payload length is too, so 65535 bounds both.
    this.offload = csum ? { tsoMax: tso ? 65535 : 0 } : null;
    addon.start(this.handle, (count, errno) => this.onBatch(count, errno));
  }

  send(packet: Uint8Array): void {
    this.queue(packet, 0, 0);
  }

  /** Link.sendOwned: written like send(), then handed back to the packet allocator. */
  sendOwned(packet: Uint8Array): void {
    this.queue(packet, 0, 1);
  }

  /** Link.sendTcpOffload; the Stack calls it only while `offload` is set. */
  sendTcpOffload(packet: Uint8Array, gsoSize: number, owned?: boolean): void {
    if (this.offload === null) throw new Error('sendTcpOffload on a TUN link without offloads');
    this.queue(packet, META_NEEDS_CSUM | (gsoSize > 0 ? gsoSize & 0xffff : 0), owned === true ? 1 : 0);
  }

  private queue(packet: Uint8Array, meta: number, owned: number): void {
    if (this.closed) return;
    const gso = meta & 0xffff;
    if (packet.length > (gso > 0 && this.offload !== null ? Math.max(this.offload.tsoMax, this.mtu) : this.mtu) + this.header) {
      this.txOversize++;
      return;
    }
    if (gso > 0) this.txGso++;
    if (this.ring !== null) {
      this.queueInRing(packet, meta, owned);
      return;
    }
    const n = this.pending.length;
    if (n === this.metas.length) {
      const grown = new Uint32Array(n * 2);
      grown.set(this.metas);
      this.metas = grown;
      const o = new Uint8Array(n * 2);
      o.set(this.owned);
      this.owned = o;
    }
    this.metas[n] = meta;
    this.owned[n] = owned;
    this.pending.push(packet);
    this.flushSoon();
  }

  private flushSoon(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      void resolved.then(this.flushTask);
    }
  }

  /**
   * The packet as a ring record (native/tun.c tun_reserve: the addon builds the virtio_net_hdr from
   * `meta` at commit); the caller's buffer is free at once, so an owned one is recycled here.
   */
  private queueInRing(packet: Uint8Array, meta: number, owned: number): void {
    const hl = this.vnetHdr;
    const rec = ringRecord(hl + packet.length);
    if (this.resAt + rec > this.resEnd) {
      const at = this.addon.commit(this.handle, this.resAt - this.resStart, Math.max(rec, RESERVE_BYTES));
      this.resStart = this.resAt = this.resEnd = 0;
      // -1: the device closed under us (the addon counts nothing here: the packet is dropped).
      if (at < 0) return;
      this.resStart = this.resAt = at;
      this.resEnd = at + Math.max(rec, RESERVE_BYTES);
    }
    const at = this.resAt;
    const r32 = this.ring32!;
    r32[at >>> 2] = hl + packet.length;
    r32[(at >>> 2) + 1] = hl;
    if (hl > 0) r32[(at >>> 2) + 2] = meta;
    this.ring!.set(packet, at + 8 + hl);
    this.resAt = at + rec;
    if (owned === 1) recyclePacket(packet);
    // A long burst: let the writer start on it.
    if (this.resAt - this.resStart >= COMMIT_BYTES) this.commitRing();
    else this.flushSoon();
  }

  /** Publishes what queueInRing wrote and gives the rest of the reservation back. */
  private commitRing(): void {
    if (this.resEnd === 0) return;
    const bytes = this.resAt - this.resStart;
    this.resStart = this.resAt = this.resEnd = 0;
    this.addon.commit(this.handle, bytes, 0);
  }

  flush(): void {
    if (this.closed) return;
    if (this.ring !== null) {
      this.commitRing();
      return;
    }
    const n = this.pending.length;
    if (n === 0) return;
    const pending = this.pending;
    // Failed writes (e.g. a packet the kernel rejects) are counted natively and dropped.
    if (n === 1) this.addon.write(this.handle, pending[0] as Uint8Array, this.metas[0] as number);
    else this.addon.writeBatch(this.handle, pending, n, this.metas);
    // The kernel has copied every packet (write(2) is synchronous): owned ones can be built into
    // again (64 KiB super-segments included), instead of becoming garbage.
    const owned = this.owned;
    for (let i = 0; i < n; i++) if (owned[i] === 1) recyclePacket(pending[i]!);
    pending.length = 0;
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
    return {
      ...this.addon.stats(this.handle),
      txOversize: this.txOversize,
      rxMaxBatch: this.rxMaxBatch,
      rxInKernelMemory: this.rxSlot !== null,
      txGso: this.txGso,
    };
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.onReceive = null;
    this.onReceiveBatch = null;
    this.pending.length = 0;
    this.addon.close(this.handle);
    if (this.rxSlot !== null) giveLinkSlot(this.rxSlot);
  }

  /**
   * A read batch in the shared buffer: whole to onReceiveBatch when set, else packet by packet to
   * onReceive with its RX_* flags (the addon split off each virtio_net_hdr, finished partial UDP and
   * ICMPv6 checksums and turned the kernel's checksum word into flags: native/tun.c vnet_rx_flags).
   * Either way the views die when this returns: the next read reuses the buffer.
   */
  private onBatch(count: number, errno: number): void {
    if (this.closed) return;
    if (count === 0) {
      const err = new TunError(TunFailure.other, `TUN device "${this.name}" failed: errno ${-errno}; reading stopped`, 'EIO');
      this.onError?.(err);
      return;
    }
    if (count > this.rxMaxBatch) this.rxMaxBatch = count;
    const bytes = this.rxBytes;
    const ends = this.rxEnds;
    const flags = this.rxFlags;
    const batchCb = this.onReceiveBatch;
    if (batchCb !== null) {
      batchCb(bytes, ends, count, flags);
      return;
    }
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = ends[i] as number;
      const rx = this.onReceive;
      if (rx === null || this.closed) return;
      const f = flags[i] as number;
      if (f === 0) rx(bytes.subarray(start, end));
      else rx(bytes.subarray(start, end), f);
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
