// What the Ethernet side of serve/get/nc adds to the TUN commands: the --tap, --qemu, --mac and
// --dhcp flags, opening a QEMU socket link, and putting the stack on an Ethernet interface (with a
// DHCPv4 server when asked) instead of straight on an IP link.
import { isIP } from 'node:net';
import type { Link } from '../link/link.js';
import { connectQemuStream, listenQemuStream, openQemuDgram, type QemuLink } from '../link/qemu.js';
import type { Stack } from '../stack/stack.js';
import type { Interface } from '../stack/route.js';
import { addEthernetInterface } from '../ethernet/attach.js';
import { DhcpServer } from '../ethernet/dhcp.js';
import { flagNumber, flagString, type FlagsSpec, type ParsedArgs } from './args.js';
import { UsageError } from './io.js';

export const L2_FLAGS: FlagsSpec = {
  tap: { type: 'string', value: 'NAME', help: 'instead of --tun: a TAP device (Ethernet; synack answers ARP and neighbour discovery)' },
  qemu: {
    type: 'string',
    value: 'SOCKET',
    help: "instead of --tun: be a QEMU guest's network: listen on Unix socket SOCKET for -netdev stream,server=off; connect:SOCKET connects to server=on; udp:LPORT:RPORT speaks -netdev dgram on 127.0.0.1",
  },
  mac: { type: 'string', value: 'MAC', help: "with --tap or --qemu: the stack's MAC address (default a random locally administered one)" },
  dhcp: { type: 'string', value: 'FIRST-LAST', help: 'with --tap or --qemu: run a DHCPv4 server handing out FIRST..LAST (on the --addr IPv4 subnet)' },
};

/** Test-only flags, parsed but not shown in help. */
export const HIDDEN_L2_FLAGS: FlagsSpec = {
  'neigh-reachable': { type: 'number', value: 'MS', integer: true, min: 100, help: 'a confirmed neighbour stays REACHABLE, and a used STALE one waits before probing, this long (defaults 30000 and 5000)' },
};

export interface L2Setup {
  kind: 'tap' | 'qemu';
  /** TAP device name, or the --qemu argument. */
  target: string;
  mac?: string;
  dhcp?: { first: string; last: string };
  neighReachableMs?: number;
}

/** Reads --tap/--qemu/--mac/--dhcp; null when the stack goes on a TUN device (--tun). */
export function l2SetupFromArgs(args: ParsedArgs, command: string, tun: string | undefined): L2Setup | null {
  const tap = flagString(args, 'tap');
  const qemu = flagString(args, 'qemu');
  if ([tun, tap, qemu].filter((x) => x !== undefined).length > 1) throw new UsageError('give one of --tun NAME, --tap NAME, --qemu SOCKET', command);
  const mac = flagString(args, 'mac');
  const dhcp = flagString(args, 'dhcp');
  const reachable = flagNumber(args, 'neigh-reachable');
  if (tap === undefined && qemu === undefined) {
    if (mac !== undefined || dhcp !== undefined) throw new UsageError('--mac and --dhcp need --tap or --qemu', command);
    return null;
  }
  if (mac !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new UsageError(`--mac wants six hex bytes like 02:00:5e:00:53:01, got '${mac}'`, command);
  if (qemu !== undefined && /^udp:/.test(qemu) && !/^udp:\d+:\d+$/.test(qemu)) throw new UsageError(`--qemu udp: wants udp:LOCALPORT:REMOTEPORT, got '${qemu}'`, command);
  let range: L2Setup['dhcp'];
  if (dhcp !== undefined) {
    const [first, last, more] = dhcp.split('-');
    if (first === undefined || last === undefined || more !== undefined || isIP(first) !== 4 || isIP(last) !== 4) {
      throw new UsageError(`--dhcp wants FIRST-LAST IPv4 addresses, e.g. 198.18.0.100-198.18.0.150, got '${dhcp}'`, command);
    }
    range = { first, last };
  }
  return {
    kind: tap !== undefined ? 'tap' : 'qemu',
    target: (tap ?? qemu)!,
    ...(mac !== undefined ? { mac } : {}),
    ...(range !== undefined ? { dhcp: range } : {}),
    ...(reachable !== undefined ? { neighReachableMs: reachable } : {}),
  };
}

/** Opens the QEMU link --qemu names: listen on a path, connect:PATH, or udp:LPORT:RPORT. */
export async function openQemuLink(target: string, mtu: number): Promise<QemuLink> {
  const udp = /^udp:(\d+):(\d+)$/.exec(target);
  if (udp !== null) return openQemuDgram(Number(udp[1]), Number(udp[2]), { mtu });
  if (target.startsWith('connect:')) return connectQemuStream(target.slice('connect:'.length), { mtu });
  return listenQemuStream(target, { mtu });
}

/** The DHCP server for --dhcp on the stack's IPv4 --addr (its subnet, server address and router). */
function dhcpServer(range: { first: string; last: string }, addresses: string[]): DhcpServer {
  const own = addresses.find((a) => isIP(a.split('/')[0] ?? '') === 4);
  if (own === undefined) throw new Error('needs an IPv4 --addr (the server address and subnet)');
  const [ip, prefix] = own.split('/') as [string, string];
  return new DhcpServer({ serverIp: ip, prefix: Number(prefix), first: range.first, last: range.last });
}

/** Checks --dhcp against --addr at argument time, so a bad range is a usage error. */
export function checkDhcp(l2: L2Setup | null, addresses: string[], command: string): void {
  if (l2?.dhcp === undefined) return;
  try {
    dhcpServer(l2.dhcp, addresses);
  } catch (e) {
    throw new UsageError(`--dhcp: ${(e as Error).message}`, command);
  }
}

/**
 * Puts `stack` on an Ethernet interface over `frames`, with a DHCP server for --dhcp (its subnet,
 * server address and router are the stack's own IPv4 --addr). Throws on a bad --dhcp range.
 */
export function attachEthernet(stack: Stack, frames: Link, l2: L2Setup, addresses: string[], name: string, wrap: (l: Link) => Link): Interface {
  const dhcp = l2.dhcp === undefined ? undefined : dhcpServer(l2.dhcp, addresses);
  const r = l2.neighReachableMs;
  return addEthernetInterface(stack, frames, {
    addresses,
    name,
    ...(l2.mac !== undefined ? { mac: l2.mac } : {}),
    ...(r !== undefined ? { timings: { reachableMs: r, delayMs: Math.min(5000, r) } } : {}),
    ...(dhcp !== undefined ? { dhcp } : {}),
    wrap,
  }).iface;
}
