// What the TUN commands (serve, get, nc) share: the --tun/--addr/--peer/--mtu/--ss flags (and
// --syn-cookies for the listening ones), a Stack on a RealtimeClock attached to a TunLink (kernel side
// configured idempotently, with a transmit queue deep enough for load), a seeded lossy Link wrapper
// behind the hidden --drop/--delay/--reorder/--seed flags, exit statuses, the loss of the device as an
// event, and the `ss -tan`-style table with bytes and rates per connection.
import { isIP } from 'node:net';
import { openTun, configureKernelSide, tunUnavailableReason, TunError, type TunLink } from '../link/tun.js';
import type { Link } from '../link/link.js';
import { Stack } from '../stack/stack.js';
import { SYN_COOKIE_MODES, type SynCookieMode } from '../tcp/listener.js';
import type { Interface } from '../stack/route.js';
import { HIDDEN_L2_FLAGS, L2_FLAGS, attachEthernet, checkDhcp, l2SetupFromArgs, openQemuLink, type L2Setup } from './l2-common.js';
import { addressesUsable } from '../ethernet/attach.js';
import type { TcpStateName } from '../trace/events.js';
import { RealtimeClock } from '../util/realtime-clock.js';
import { seededRandom, randomFloat, type RandomSource } from '../util/random.js';
import { flagBool, flagNumber, flagString, type FlagsSpec, type ParsedArgs } from './args.js';
import { UsageError, CliError, EXIT, type CliIo } from './io.js';
import { formatBytes, formatRate } from './progress.js';
import { startMemoryRelief } from './memory.js';
import { paceReceive, type RxPacerStats } from './rx-pacer.js';

/** Exit statuses: the CLI-wide table (src/cli/io.ts, docs/cli.md). */
export { EXIT };

/** Exit status for a Node-style error code. */
export function exitFor(code: string | undefined): number {
  switch (code) {
    case 'ECONNREFUSED':
      return EXIT.refused;
    case 'ECONNRESET':
    case 'EPIPE':
      return EXIT.reset;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return EXIT.timeout;
    default:
      return EXIT.failure;
  }
}

/** Flags every TUN command takes. */
export const TUN_FLAGS: FlagsSpec = {
  tun: { type: 'string', value: 'NAME', help: 'TUN device to attach to (e.g. made by `ip tuntap add`) or create' },
  ...L2_FLAGS,
  addr: { type: 'string', value: 'CIDR[,CIDR]', help: "the stack's address(es): 198.18.0.2/24, 2001:db8::2/64 or both" },
  peer: { type: 'string', value: 'IP[,IP]', help: "give the kernel's side of the device this address (same prefix); omit to leave it" },
  mtu: { type: 'number', value: 'BYTES', integer: true, min: 576, max: 65535, help: 'MTU of the device and the stack (default 1500)' },
  ss: { type: 'boolean', help: 'print a connection table (like `ss -tan`) to stderr every second; SIGUSR2 prints one at any time' },
  'no-offload': { type: 'boolean', help: "turn the kernel's TUN/TAP offloads off (TSO, GSO, checksums; on by default): one packet per MTU each way" },
};

/** Flags of the commands that accept connections (serve, nc -l). */
export const LISTEN_TUN_FLAGS: FlagsSpec = {
  'syn-cookies': {
    type: 'string',
    value: 'auto|always|never',
    help: 'SYN cookies (RFC 4987 3.6): auto once the backlog is full (default), always, or never (drop SYNs when full)',
  },
};

/**
 * The kernel's transmit queue on the TUN device, in packets: what the kernel may hold while synack's
 * event loop is busy. Linux's default (500) overflows under a few thousand concurrent connections, and
 * every packet dropped there costs the sender a retransmission timeout.
 */
export const TUN_TXQUEUELEN = 10_000;

/** Test-only flags, parsed but not shown in help: stack-side loss, delay and reordering. */
export const HIDDEN_TUN_FLAGS: FlagsSpec = {
  drop: { type: 'number', value: 'P', min: 0, max: 1, help: 'drop each packet in and out of the stack with probability P' },
  seed: { type: 'number', value: 'N', integer: true, min: 0, help: 'seed for --drop and --reorder' },
  delay: { type: 'number', value: 'MS', min: 0, max: 10_000, help: 'hold packets coming into the stack this long (netem delay, on our side)' },
  reorder: { type: 'number', value: 'P', min: 0, max: 1, help: 'with --delay: pass this share of incoming packets at once, overtaking the held ones' },
  ...HIDDEN_L2_FLAGS,
};

export const TUN_HELP_FOOTER = `Addresses: IPv4 and IPv6 work the same way (--addr 2001:db8::2/64 --peer 2001:db8::1); give one of
each, comma-separated, for both. Needs Linux, root (CAP_NET_ADMIN) and the native TUN addon.
Exit status: 0 success, 1 setup or I/O failure, 2 usage, 3 connection refused, 4 connection reset,
5 timed out or unreachable, 130 interrupted.`;

export interface TunSetup {
  device: string;
  /** A TAP device or QEMU socket (Ethernet frames) rather than TUN. */
  l2: L2Setup | null;
  addresses: string[];
  peers: string[];
  mtu: number;
  ss: boolean;
  /** Negotiate the TUN or TAP device's offloads (default; --no-offload turns them off). */
  offload: boolean;
  drop: number;
  seed: number;
  delay: number;
  reorder: number;
  synCookies: SynCookieMode;
  /** Wraps the link the stack is attached to (--watch taps it); applied outermost. */
  wrapLink?: (link: Link, clock: RealtimeClock) => Link;
}

/** Reads and checks the shared flags; throws UsageError for anything wrong. */
export function tunSetupFromArgs(args: ParsedArgs, command: string): TunSetup {
  const tun = flagString(args, 'tun');
  const l2 = l2SetupFromArgs(args, command, tun);
  const device = tun ?? l2?.target;
  if (device === undefined) throw new UsageError('--tun NAME (or --tap NAME, or --qemu SOCKET) is required', command);
  if (l2?.kind !== 'qemu' && (Buffer.byteLength(device) > 15 || /[\s/]/.test(device))) throw new UsageError(`invalid interface name '${device}'`, command);
  const addrText = flagString(args, 'addr');
  if (addrText === undefined) throw new UsageError("--addr CIDR is required (the stack's address, e.g. 198.18.0.2/24)", command);
  const addresses = splitList(addrText);
  const mtu = flagNumber(args, 'mtu') ?? 1500;
  for (const a of addresses) {
    const [ip, len] = a.split('/');
    const fam = isIP(ip ?? '');
    if (fam === 0 || len === undefined || !/^\d+$/.test(len) || Number(len) > (fam === 4 ? 32 : 128)) {
      throw new UsageError(`--addr wants ADDRESS/PREFIX, got '${a}'`, command);
    }
    if (fam === 6 && mtu < 1280) throw new UsageError('IPv6 needs an MTU of at least 1280', command);
  }
  checkDhcp(l2, addresses, command);
  const peers = splitList(flagString(args, 'peer') ?? '');
  for (const p of peers) {
    const fam = isIP(p);
    if (fam === 0) throw new UsageError(`--peer wants an IP address, got '${p}'`, command);
    if (!addresses.some((a) => isIP(a.split('/')[0] ?? '') === fam)) {
      throw new UsageError(`--peer ${p} has no --addr of the same family`, command);
    }
  }
  return {
    device,
    l2,
    addresses,
    peers,
    mtu,
    ss: flagBool(args, 'ss') === true,
    offload: flagBool(args, 'no-offload') !== true,
    drop: flagNumber(args, 'drop') ?? 0,
    seed: flagNumber(args, 'seed') ?? 1,
    delay: flagNumber(args, 'delay') ?? 0,
    reorder: flagNumber(args, 'reorder') ?? 0,
    synCookies: synCookieMode(flagString(args, 'syn-cookies'), command),
  };
}

function synCookieMode(text: string | undefined, command: string): SynCookieMode {
  if (text === undefined) return 'auto';
  const mode = SYN_COOKIE_MODES.find((m) => m === text);
  if (mode === undefined) throw new UsageError(`--syn-cookies wants ${SYN_COOKIE_MODES.join(', ')}; got '${text}'`, command);
  return mode;
}

function splitList(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

/** A failure that ends a command with a message and an exit status (no stack trace). */
export { CliError as CommandError };

/** Counters of the lossy wrapper. */
export interface LossStats {
  sent: number;
  sendDropped: number;
  received: number;
  receiveDropped: number;
}

export interface Impairment {
  /** Drop probability for each packet, both directions. */
  drop: number;
  /** Hold incoming packets this many ms (like netem delay on the kernel's transmit side). */
  delay?: number;
  /** With delay: the share of incoming packets passed at once, overtaking held ones (netem reorder). */
  reorder?: number;
}

/**
 * Wraps a link and drops each packet (both directions) with probability `drop`, from a seeded
 * stream, optionally delaying and reordering incoming packets: netem's impairments on the stack's
 * side of the TUN, for loss netem on the kernel side cannot reach (and kernels without sch_netem).
 */
export function lossyLink(inner: Link, imp: number | Impairment, random: RandomSource): Link & { lossStats(): LossStats } {
  const { drop: p, delay = 0, reorder = 0 } = typeof imp === 'number' ? { drop: imp } : imp;
  const stats: LossStats = { sent: 0, sendDropped: 0, received: 0, receiveDropped: 0 };
  // Offloads pass through: a dropped super-packet (TSO out, GSO in) loses every segment in it, and
  // the retransmissions that follow resend parts of it.
  const outer = {
    mtu: inner.mtu,
    offload: inner.offload ?? null,
    onReceive: null as ((packet: Uint8Array, rx?: number) => void) | null,
    send(packet: Uint8Array): void {
      stats.sent++;
      if (randomFloat(random) < p) stats.sendDropped++;
      else inner.send(packet);
    },
    sendTcpOffload(packet: Uint8Array, gsoSize: number): void {
      stats.sent++;
      if (randomFloat(random) < p) stats.sendDropped++;
      else inner.sendTcpOffload!(packet, gsoSize);
    },
    close(): void {
      inner.close();
    },
    lossStats: (): LossStats => ({ ...stats }),
  };
  inner.onReceive = (packet, rx) => {
    stats.received++;
    if (randomFloat(random) < p) stats.receiveDropped++;
    else if (delay > 0 && !(randomFloat(random) < reorder)) {
      // TunLink reads the next batch into the same memory: a held packet is a copy.
      const held = packet.slice();
      setTimeout(() => outer.onReceive?.(held, rx), delay);
    } else outer.onReceive?.(packet, rx);
  };
  return outer;
}

/** What the session needs of the device under the stack: a TunLink or a QemuLink. */
export interface DeviceLink extends Link {
  readonly name: string;
  stats(): { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
}

/** A running stack on a TUN device. */
export interface TunSession {
  readonly stack: Stack;
  readonly clock: RealtimeClock;
  /** The TUN/TAP device, or the QEMU socket link. */
  readonly tun: DeviceLink;
  readonly iface: Interface;
  readonly setup: TunSetup;
  /** The `ss -tan`-style table of every connection and listener right now. */
  table(): string;
  lossStats(): LossStats | null;
  /**
   * Calls `cb` once if the TUN device fails under the session (deleted, taken down for good): the
   * commands then end with EXIT.failure instead of waiting on a link that is gone.
   */
  onLinkLost(cb: (err: Error) => void): void;
  /** Close the stack, the device and the timers (idempotent). */
  close(): void;
}

/**
 * Opens the TUN device, configures the kernel side when --peer (or --mtu) was given, and attaches a
 * Stack on a RealtimeClock with default routes out of the device. Throws CommandError with a clear
 * message when TUN cannot be used here.
 */
export async function openTunSession(setup: TunSetup, io: CliIo): Promise<TunSession> {
  if (setup.l2?.kind === 'qemu') {
    let link;
    try {
      link = await openQemuLink(setup.l2.target, setup.mtu);
    } catch (e) {
      throw new CliError(`cannot open QEMU socket ${setup.l2.target}: ${(e as Error).message}`);
    }
    return usable(attachStack(setup, io, link));
  }
  const why = tunUnavailableReason();
  if (why !== null) throw new CliError(`cannot use TUN device ${setup.device}: ${why}`);
  let tun: TunLink;
  try {
    tun = await openTun({ name: setup.device, mtu: setup.mtu, tap: setup.l2?.kind === 'tap', offload: setup.offload });
  } catch (e) {
    throw new CliError(e instanceof TunError ? e.message : `cannot open TUN device ${setup.device}: ${(e as Error).message}`);
  }
  try {
    if (setup.peers.length > 0) {
      for (const peer of setup.peers) {
        const fam = isIP(peer);
        const own = setup.addresses.find((a) => isIP(a.split('/')[0] ?? '') === fam) ?? '';
        const prefix = Number(own.split('/')[1]);
        await configureKernelSide(tun.name, { peer, prefix, mtu: setup.mtu, txqueuelen: TUN_TXQUEUELEN });
      }
    } else if (tun.created) {
      // A device we just made is down; bring it up (and set its MTU) but leave addresses alone.
      await configureKernelSide(tun.name, { mtu: setup.mtu, txqueuelen: TUN_TXQUEUELEN });
    }
  } catch (e) {
    tun.close();
    throw new CliError(`cannot configure ${tun.name}: ${(e as Error).message}`);
  }
  return usable(attachStack(setup, io, tun));
}

/**
 * The session once its addresses may be used: on Ethernet an IPv6 address is tentative until DAD
 * is done (RFC 4862 5.4, about 1 s), and a command that connected at once would find no source.
 */
async function usable(session: TunSession): Promise<TunSession> {
  if (session.setup.l2 !== null) await addressesUsable(session.iface);
  return session;
}

/** A Stack on a RealtimeClock attached to `tun` (through an Ethernet interface for --tap/--qemu). */
/** The pacer's line under the --ss table: what waits to reach the stack, and SYNs it dropped. */
function rxLine(s: RxPacerStats): string {
  return `rx: waiting syns=${s.synWaiting} other=${s.otherWaiting}; syns dropped before the stack (queue full)=${s.synDropped}\n`;
}

function isTunLink(l: DeviceLink): l is DeviceLink & TunLink {
  return 'onReceiveBatch' in l && 'pause' in l && 'resume' in l;
}

function attachStack<E extends Error>(setup: TunSetup, io: CliIo, tun: DeviceLink & { onError: ((err: E) => void) | null }): TunSession {
  const clock = new RealtimeClock();
  const stack = new Stack({ name: 'synack', clock, synCookies: setup.synCookies });
  const impaired = setup.drop > 0 || setup.delay > 0;
  const lossy = impaired ? lossyLink(tun, { drop: setup.drop, delay: setup.delay, reorder: setup.reorder }, seededRandom(setup.seed)) : null;
  let iface: Interface;
  try {
    const link = lossy ?? tun;
    const wrap = (l: Link): Link => setup.wrapLink?.(l, clock) ?? l;
    iface = setup.l2 !== null ? attachEthernet(stack, link, setup.l2, setup.addresses, tun.name, wrap) : stack.addInterface(wrap(link), { addresses: setup.addresses, name: tun.name });
    // A TUN device is point to point: everything not on a connected prefix goes out of it too.
    if (setup.addresses.some((a) => isIP(a.split('/')[0] ?? '') === 4)) stack.addRoute('0.0.0.0/0', { iface });
    if (setup.addresses.some((a) => isIP(a.split('/')[0] ?? '') === 6)) stack.addRoute('::/0', { iface });
  } catch (e) {
    tun.close();
    throw new CliError(`bad --addr: ${(e as Error).message}`);
  }
  let lost: E | null = null;
  const lostWaiters: ((err: Error) => void)[] = [];
  tun.onError = (err) => {
    io.err(`synack: ${err.message}\n`);
    lost = err;
    for (const cb of lostWaiters.splice(0)) cb(err);
  };
  // A TUN or TAP device feeds the stack through the pacer (rx-pacer.ts); a QEMU socket does not batch.
  const pacer = isTunLink(tun) ? paceReceive(tun, { linkHeader: setup.l2?.kind === 'tap' ? 14 : 0 }) : null;
  const rates = new RateMemo();
  const stopRelief = startMemoryRelief({ activity: () => tun.stats().rxPackets, connections: () => stack.stats().tcpConnections });
  let closed = false;
  let ssTimer: ReturnType<typeof setInterval> | null = null;
  const session: TunSession = {
    stack,
    clock,
    tun,
    iface,
    setup,
    table: () => connectionTable(stack, rates) + (pacer === null ? '' : rxLine(pacer.stats())),
    lossStats: () => lossy?.lossStats() ?? null,
    onLinkLost: (cb) => {
      if (lost !== null) queueMicrotask(() => cb(lost as E));
      else lostWaiters.push(cb);
    },
    close: () => {
      if (closed) return;
      closed = true;
      if (ssTimer !== null) clearInterval(ssTimer);
      stopRelief();
      process.removeListener('SIGUSR2', onUsr2);
      pacer?.stop();
      stack.close();
      tun.close();
      clock.dispose();
    },
  };
  const onUsr2 = (): void => io.err(session.table());
  // SIGUSR1 belongs to Node's inspector, so the on-demand table is on SIGUSR2.
  process.on('SIGUSR2', onUsr2);
  if (setup.ss) {
    ssTimer = setInterval(() => io.err(session.table()), 1000);
    ssTimer.unref();
  }
  return session;
}

// --- the connection table -------------------------------------------------------------------------

/** `ss`'s short state names. */
const SS_STATE: Record<TcpStateName, string> = {
  CLOSED: 'CLOSED',
  LISTEN: 'LISTEN',
  'SYN-SENT': 'SYN-SENT',
  'SYN-RECEIVED': 'SYN-RECV',
  ESTABLISHED: 'ESTAB',
  'FIN-WAIT-1': 'FIN-WAIT-1',
  'FIN-WAIT-2': 'FIN-WAIT-2',
  'CLOSE-WAIT': 'CLOSE-WAIT',
  CLOSING: 'CLOSING',
  'LAST-ACK': 'LAST-ACK',
  'TIME-WAIT': 'TIME-WAIT',
};

function endpoint(addr: string, port: number | string): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * The byte counters seen at the previous table, per connection, so each table shows the rate since
 * the one before (what `ss` cannot, but `--ss` users ask: is this connection moving?).
 */
export class RateMemo {
  private last = new WeakMap<object, { t: number; sent: number; recv: number }>();

  /** Bytes per second out and in since the previous call for `key` (0 the first time). */
  rates(key: object, t: number, sent: number, recv: number): { out: number; in: number } {
    const prev = this.last.get(key);
    this.last.set(key, { t, sent, recv });
    if (prev === undefined || t <= prev.t) return { out: 0, in: 0 };
    const secs = (t - prev.t) / 1000;
    return { out: (sent - prev.sent) / secs, in: (recv - prev.recv) / secs };
  }
}

/** A table in the spirit of `ss -tan` (plus rtt/cwnd/retrans, bytes and rates from tcp_info). */
export function connectionTable(stack: Stack, memo: RateMemo = new RateMemo(), now: number = performance.now()): string {
  const listeners = stack.tcpListeners();
  const rows: string[][] = [
    ['State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port', 'rtt', 'cwnd', 'retrans', 'sent', 'recv', 'rate-out', 'rate-in', ''],
  ];
  for (const l of listeners) {
    const a = l.address();
    const local = a.address === '::' ? `*:${a.port}` : endpoint(a.address, a.port);
    const cookies = `syncookies sent=${l.cookiesSent} valid=${l.cookiesValid} failed=${l.cookiesFailed} dropped-syns=${l.dropped}`;
    rows.push(['LISTEN', String(l.pending), String(l.backlog), local, a.address.includes(':') ? '[::]:*' : '*:*', '', '', '', '', '', '', '', cookies]);
  }
  for (const c of stack.connections()) {
    const s = c.stats;
    const r = memo.rates(c.conn, now, s.bytesAcked, s.bytesReceived);
    rows.push([
      SS_STATE[c.state],
      String(s.recvQueued),
      String(s.sendQueued),
      endpoint(c.localAddress, c.localPort),
      endpoint(c.remoteAddress, c.remotePort),
      s.rtt > 0 ? `${s.rtt.toFixed(1)}ms` : '-',
      String(s.cwnd),
      String(s.retransSegs),
      formatBytes(s.bytesAcked),
      formatBytes(s.bytesReceived),
      formatRate(r.out),
      formatRate(r.in),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}
