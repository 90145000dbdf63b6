// Interfaces, their addresses and the routing table: connected prefixes, static routes and a
// default, chosen by longest prefix match (RFC 1812 section 5.2.4.3 in spirit), plus source address
// selection and the packed address keys used by the demultiplexer.
import type { Link } from '../link/link.js';
import { formatIp, inPrefix, ipEquals, parseCidr, parseIp } from '../wire/address.js';

/** One address on an interface, with its prefix length. */
export interface InterfaceAddress {
  readonly addr: Uint8Array;
  readonly prefix: number;
  readonly text: string;
}

/** A link attached to the stack with its addresses. */
export class Interface {
  readonly addresses: InterfaceAddress[] = [];
  /**
   * Set by a link layer that holds addresses back: an IPv6 address under duplicate address
   * detection is tentative (RFC 4862 5.4) and must not be used as a source until DAD succeeds.
   */
  tentative: ((addr: Uint8Array) => boolean) | null = null;
  private readonly addedListeners: ((a: InterfaceAddress) => void)[] = [];

  constructor(
    readonly name: string,
    readonly link: Link,
  ) {}

  get mtu(): number {
    return this.link.mtu;
  }

  /** Call `fn` for each address added from now on (a link layer announces it: gratuitous ARP, DAD). */
  onAddressAdded(fn: (a: InterfaceAddress) => void): void {
    this.addedListeners.push(fn);
  }

  /** The Stack added `a` to this interface (after its own bookkeeping). */
  addressAdded(a: InterfaceAddress): void {
    for (const fn of this.addedListeners) fn(a);
  }

  /** True when `addr` may source packets now (not tentative). */
  usable(addr: Uint8Array): boolean {
    return this.tentative === null || !this.tentative(addr);
  }

  /** The first usable address of the given family (4 or 16 bytes), preferring one on `dst`'s prefix. */
  sourceFor(dst: Uint8Array): InterfaceAddress | null {
    let fallback: InterfaceAddress | null = null;
    for (const a of this.addresses) {
      if (a.addr.length !== dst.length || !this.usable(a.addr)) continue;
      if (inPrefix(dst, a.addr, a.prefix)) return a;
      if (fallback === null) fallback = a;
    }
    return fallback;
  }
}

export interface Route {
  readonly net: Uint8Array;
  readonly prefix: number;
  readonly iface: Interface;
  /** Gateway, informational on point-to-point IP links (no link-layer resolution is needed). */
  readonly via: Uint8Array | null;
  /** True for the prefix of an interface address. */
  readonly connected: boolean;
}

/** Parse "a.b.c.d/n" or "x::y/n" into an address and prefix; throws on bad input (API misuse). */
export function parsePrefixOrThrow(text: string): { addr: Uint8Array; prefix: number } {
  if (text === 'default') throw new TypeError('use "0.0.0.0/0" or "::/0" for a default route');
  const c = parseCidr(text);
  if (c === null) throw new TypeError(`invalid address or prefix: ${JSON.stringify(text)}`);
  return c;
}

export function parseIpOrThrow(text: string): Uint8Array {
  const a = parseIp(text);
  if (a === null) throw new TypeError(`invalid IP address: ${JSON.stringify(text)}`);
  return a;
}

/** Zero the host bits of `addr` beyond `prefix`. */
export function networkOf(addr: Uint8Array, prefix: number): Uint8Array {
  const out = addr.slice();
  for (let bit = prefix; bit < out.length * 8; bit++) out[bit >>> 3]! &= ~(0x80 >>> (bit & 7));
  return out;
}

export class RouteTable {
  private readonly routes: Route[] = [];

  add(route: Route): void {
    this.routes.push(route);
    // Longest prefix first; equal prefixes keep insertion order (stable sort).
    this.routes.sort((a, b) => b.prefix - a.prefix);
  }

  /** Remove routes through `iface` (when an interface is removed). */
  removeInterface(iface: Interface): void {
    for (let i = this.routes.length - 1; i >= 0; i--) if (this.routes[i]!.iface === iface) this.routes.splice(i, 1);
  }

  /** The most specific route for `dst`, or null. */
  lookup(dst: Uint8Array): Route | null {
    for (const r of this.routes) {
      if (r.net.length === dst.length && inPrefix(dst, r.net, r.prefix)) return r;
    }
    return null;
  }

  list(): readonly Route[] {
    return this.routes;
  }

  /** Human-readable table, one route per line ("198.18.0.0/24 dev eth0"). */
  format(): string {
    return this.routes
      .map((r) => `${formatIp(r.net)}/${r.prefix}${r.via ? ` via ${formatIp(r.via)}` : ''} dev ${r.iface.name}`)
      .join('\n');
  }
}

/**
 * A compact string for an address, usable as (part of) a Map key: each 16-bit word becomes one
 * UTF-16 code unit, so IPv4 is 2 characters and IPv6 is 8.
 */
export function addrKey(a: Uint8Array): string {
  if (a.length === 4) return String.fromCharCode((a[0]! << 8) | a[1]!, (a[2]! << 8) | a[3]!);
  let s = '';
  for (let i = 0; i < a.length; i += 2) s += String.fromCharCode((a[i]! << 8) | a[i + 1]!);
  return s;
}

/**
 * The demultiplexing key of a connection: local address, remote address, local port, remote port,
 * built with one String.fromCharCode call (6 code units for IPv4, 18 for IPv6).
 */
export function tupleKey(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): string {
  const l = local;
  const r = remote;
  if (l.length === 4 && r.length === 4) {
    return String.fromCharCode((l[0]! << 8) | l[1]!, (l[2]! << 8) | l[3]!, (r[0]! << 8) | r[1]!, (r[2]! << 8) | r[3]!, localPort, remotePort);
  }
  return String.fromCharCode(
    (l[0]! << 8) | l[1]!, (l[2]! << 8) | l[3]!, (l[4]! << 8) | l[5]!, (l[6]! << 8) | l[7]!,
    (l[8]! << 8) | l[9]!, (l[10]! << 8) | l[11]!, (l[12]! << 8) | l[13]!, (l[14]! << 8) | l[15]!,
    (r[0]! << 8) | r[1]!, (r[2]! << 8) | r[3]!, (r[4]! << 8) | r[5]!, (r[6]! << 8) | r[7]!,
    (r[8]! << 8) | r[9]!, (r[10]! << 8) | r[11]!, (r[12]! << 8) | r[13]!, (r[14]! << 8) | r[15]!,
    localPort, remotePort,
  );
}

/** True for IPv4 0.0.0.0 or IPv6 ::. */
export function isUnspecified(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/** Multicast or IPv4 limited broadcast: never answered with ICMP errors or RSTs (RFC 1122 3.2.2). */
export function isMulticastOrBroadcast(a: Uint8Array): boolean {
  if (a.length === 4) return (a[0]! & 0xf0) === 0xe0 || (a[0] === 255 && a[1] === 255 && a[2] === 255 && a[3] === 255);
  return a[0] === 0xff;
}

export { ipEquals };

/** 127.0.0.0/8 or ::1 (RFC 1122 3.2.1.3, RFC 4291 2.5.3). */
export function isLoopback(a: Uint8Array): boolean {
  if (a.length === 4) return a[0] === 127;
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}

/** An IPv4 address (at a[at..at+4]) as a signed 32-bit number: a small-integer Map key, no boxed double per lookup. */
export function v4key(a: Uint8Array, at: number): number {
  return (a[at]! << 24) | (a[at + 1]! << 16) | (a[at + 2]! << 8) | a[at + 3]!;
}
