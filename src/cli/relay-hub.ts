// The policy of `synack relay`: who may connect (a token, allowed page origins), then each
// WebSocket client gets one IPv4 address from the pool (with --peer6 also one IPv6 address, its
// IPv4 address in the low 32 bits of the IPv6 prefix; on a TAP device one MAC address), its packets
// reach the device only with that source address (and MAC, and ARP/NDP sender) and a destination
// that is not loopback, unspecified, link-local, multicast or broadcast, at a bounded rate; what the
// device sends goes to the client whose address (or MAC) it is for, and on TAP broadcasts go to
// every client. Transport-free: the command plugs in TUN/TAP and WebSocket.
import { timingSafeEqual } from 'node:crypto';
import { formatIp, parseCidr, parseIp } from '../wire/address.js';
import { read16, read32 } from '../wire/bytes.js';
import type { Link } from '../link/link.js';
import type { WsPeer } from './websocket.js';
import { ArpOp, parseArp } from '../ethernet/arp.js';
import { EtherType, formatMac, isGroupMac, macEquals } from '../ethernet/frame.js';

export interface RelayOptions {
  /** 'ip': messages are IPv4 packets (TUN); 'ethernet': Ethernet frames (TAP). */
  mode: 'ip' | 'ethernet';
  /** First and last client address, inclusive (IPv4). */
  first: string;
  last: string;
  /** Prefix length of the clients' subnet, and the kernel's address on it (their gateway). */
  prefix: number;
  gateway: string;
  mtu: number;
  /** Packets per second each client may send (token bucket), and the burst above it. */
  rate: number;
  burst: number;
  /** Bytes queued towards a client before packets to it are dropped. */
  maxBuffered: number;
  /** IPv6 for the clients: the kernel's address and prefix on the device, e.g. "2001:db8:5::1/64" (at most /96). */
  peer6?: string;
  now?: () => number;
}

/** Who may use the relay: a shared token (the `token` query parameter) and the page origins allowed. */
export interface AdmissionPolicy {
  token?: string;
  /** Allowed values of the Origin header; when set, a request without one of them is refused. */
  origins?: readonly string[];
}

/** WebSocket close codes (private range, RFC 6455 7.4.2) for refused clients, in HTTP's spirit. */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN_ORIGIN = 4403;

/**
 * The admission check for one upgrade request (its URL path and query, its Origin header): null to
 * admit, else the close code and reason to refuse with. The token is compared in constant time.
 */
export function admission(url: string, origin: string | undefined, policy: AdmissionPolicy): { code: number; reason: string } | null {
  if (policy.origins !== undefined && (origin === undefined || !policy.origins.includes(origin))) {
    return { code: CLOSE_FORBIDDEN_ORIGIN, reason: `origin ${origin ?? '(none)'} is not allowed` };
  }
  if (policy.token !== undefined) {
    const given = new URL(url, 'ws://relay/').searchParams.get('token') ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(policy.token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { code: CLOSE_UNAUTHORIZED, reason: given === '' ? 'token required' : 'wrong token' };
  }
  return null;
}

export interface RelayStats {
  clients: number;
  accepted: number;
  refusedFull: number;
  toDevice: number;
  toClients: number;
  /** Packets from a client with another source address. */
  spoofed: number;
  /** Packets to loopback, unspecified, multicast or broadcast destinations, or malformed. */
  refused: number;
  rateLimited: number;
  /** Packets from the device for no connected client, or to a client whose queue is full. */
  undeliverable: number;
  /** Clients refused by the admission check (token or origin). */
  unauthorized: number;
}

interface Client {
  addr: number;
  /** Its IPv6 address (with --peer6), else null. */
  addr6: Uint8Array | null;
  /** Ethernet mode: the MAC the client must use (02:53 + its address). */
  mac: Uint8Array;
  peer: WsPeer;
  tokens: number;
  at: number;
}

export class RelayHub {
  readonly stats: RelayStats = { clients: 0, accepted: 0, refusedFull: 0, toDevice: 0, toClients: 0, spoofed: 0, refused: 0, rateLimited: 0, undeliverable: 0, unauthorized: 0 };
  private readonly clients = new Map<number, Client>();
  private readonly first: number;
  private readonly last: number;
  private readonly now: () => number;
  /** The clients' IPv6 prefix (its first 12 bytes are theirs, the last 4 their IPv4 address), or null. */
  private readonly net6: { addr: Uint8Array; prefix: number; gateway: string } | null = null;

  constructor(
    private readonly device: Link,
    private readonly opts: RelayOptions,
  ) {
    this.first = v4(opts.first);
    this.last = v4(opts.last);
    if (this.first > this.last) throw new RangeError(`relay pool ${opts.first}-${opts.last} is empty`);
    this.now = opts.now ?? (() => performance.now());
    if (opts.peer6 !== undefined) {
      const c = parseCidr(opts.peer6);
      if (c === null || c.addr.length !== 16 || c.prefix > 96 || c.prefix < 8) throw new TypeError(`relay IPv6 prefix ${JSON.stringify(opts.peer6)}: want the kernel's address and a prefix of /8 to /96`);
      this.net6 = { addr: c.addr, prefix: c.prefix, gateway: formatIp(c.addr) };
    }
    device.onReceive = (pkt) => this.fromDevice(pkt);
  }

  /** Gives `peer` an address and starts relaying for it; false (and closes it) when the pool is full. */
  attach(peer: WsPeer): boolean {
    let addr = -1;
    for (let a = this.first; a <= this.last; a++) {
      if (!this.clients.has(a)) {
        addr = a;
        break;
      }
    }
    if (addr < 0) {
      this.stats.refusedFull++;
      peer.close(1013, 'no address left in the relay pool');
      return false;
    }
    // A locally administered MAC made from the address, so it is unique among the relay's clients.
    const mac = new Uint8Array([0x02, 0x53, addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255]);
    const c: Client = { addr, addr6: this.address6(addr), mac, peer, tokens: this.opts.burst, at: this.now() };
    this.clients.set(addr, c);
    this.stats.accepted++;
    this.stats.clients = this.clients.size;
    peer.onBinary = (pkt) => this.fromClient(c, pkt);
    peer.onText = null;
    peer.onClose = () => {
      if (this.clients.get(addr) === c) this.clients.delete(addr);
      this.stats.clients = this.clients.size;
    };
    peer.sendText(
      JSON.stringify({
        relay: 'synack',
        mode: this.opts.mode,
        address: formatIp(bytes(addr)),
        prefix: this.opts.prefix,
        gateway: this.opts.gateway,
        mtu: this.opts.mtu,
        ...(this.opts.mode === 'ethernet' ? { mac: formatMac(mac) } : {}),
        ...(c.addr6 !== null && this.net6 !== null ? { address6: formatIp(c.addr6), prefix6: this.net6.prefix, gateway6: this.net6.gateway } : {}),
      }),
    );
    return true;
  }

  /** A client's IPv6 address: the prefix with its IPv4 address in the low 32 bits. */
  private address6(addr: number): Uint8Array | null {
    if (this.net6 === null) return null;
    const a = new Uint8Array(16);
    const keep = this.net6.prefix;
    for (let i = 0; i < 12; i++) {
      const bits = Math.max(0, Math.min(8, keep - i * 8));
      a[i] = this.net6.addr[i]! & ((0xff << (8 - bits)) & 0xff);
    }
    a.set(bytes(addr), 12);
    return a;
  }

  /** The connected client whose IPv6 address is `a`. */
  private byAddr6(a: Uint8Array): Client | undefined {
    const c = this.clients.get(read32(a, 12));
    return c?.addr6 !== null && c?.addr6 !== undefined && equal(c.addr6, a) ? c : undefined;
  }

  private fromClient(c: Client, pkt: Uint8Array): void {
    const t = this.now();
    c.tokens = Math.min(this.opts.burst, c.tokens + ((t - c.at) / 1000) * this.opts.rate);
    c.at = t;
    if (c.tokens < 1) {
      this.stats.rateLimited++;
      return;
    }
    c.tokens--;
    if (this.opts.mode === 'ethernet') this.frameFromClient(c, pkt);
    else if (pkt.length > 0 && pkt[0]! >>> 4 === 6 ? this.ip6Allowed(c, pkt, false) : this.ipAllowed(c, pkt)) {
      this.stats.toDevice++;
      this.device.send(pkt.slice());
    }
  }

  /** An IPv4 packet from `c`: well formed, from its address, to a destination it may reach. */
  private ipAllowed(c: Client, pkt: Uint8Array): boolean {
    if (pkt.length < 20 || pkt.length > this.opts.mtu || pkt[0]! >>> 4 !== 4 || (pkt[0]! & 0x0f) < 5 || read16(pkt, 2) > pkt.length || read16(pkt, 2) < 20) {
      this.stats.refused++;
      return false;
    }
    if (read32(pkt, 12) !== c.addr) {
      this.stats.spoofed++;
      return false;
    }
    const dst = read32(pkt, 16);
    const top = dst >>> 24;
    // Loopback (the relay host's own 127/8), "this network", multicast, class E and broadcast.
    if (top === 127 || top === 0 || top >= 224) {
      this.stats.refused++;
      return false;
    }
    return true;
  }

  /**
   * An IPv6 packet from `c`: well formed, from its address (or, on Ethernet, from :: for its own
   * DAD probe), to a destination that is not unspecified, loopback, IPv4-mapped, link-local or
   * multicast; on Ethernet neighbour discovery may use ff02::/16, and an NA or a DAD probe must be
   * about its own address (else it could take another client's or the kernel's).
   */
  private ip6Allowed(c: Client, pkt: Uint8Array, ethernet: boolean): boolean {
    if (c.addr6 === null || pkt.length < 40 || pkt.length > this.opts.mtu || pkt[0]! >>> 4 !== 6 || 40 + read16(pkt, 4) > pkt.length) {
      this.stats.refused++;
      return false;
    }
    const src = pkt.subarray(8, 24);
    const dst = pkt.subarray(24, 40);
    const ndp = ethernet && pkt[6] === 58 && pkt.length >= 64 && pkt[40]! >= 133 && pkt[40]! <= 136 ? pkt[40]! : 0;
    const target = pkt.subarray(48, 64);
    const unspecified = src.every((b) => b === 0);
    if (!(equal(src, c.addr6) || (unspecified && ndp === 135 && equal(target, c.addr6)))) {
      this.stats.spoofed++;
      return false;
    }
    if (ndp === 136 && !equal(target, c.addr6)) {
      this.stats.spoofed++;
      return false;
    }
    const mapped = dst.subarray(0, 10).every((b) => b === 0) && dst[10] === 0xff && dst[11] === 0xff;
    const zeroHigh = dst.subarray(0, 15).every((b) => b === 0);
    const linkLocal = dst[0] === 0xfe && (dst[1]! & 0xc0) === 0x80;
    const multicast = dst[0] === 0xff;
    if ((zeroHigh && (dst[15] === 0 || dst[15] === 1)) || mapped || linkLocal || (multicast && !(ndp !== 0 && dst[1] === 0x02))) {
      this.stats.refused++;
      return false;
    }
    return true;
  }

  /**
   * A frame from `c` (Ethernet mode): its own MAC as source; ARP only with its own MAC and address
   * as sender; IPv4 as in IP mode; nothing else. Broadcasts go to the device and the other clients,
   * frames for another client's MAC to that client, the rest to the device.
   */
  private frameFromClient(c: Client, f: Uint8Array): void {
    if (f.length < 14 || f.length > this.opts.mtu + 14) {
      this.stats.refused++;
      return;
    }
    if (!macEquals(f.subarray(6, 12), c.mac)) {
      this.stats.spoofed++;
      return;
    }
    const type = read16(f, 12);
    const body = f.subarray(14);
    if (type === EtherType.ARP) {
      const a = parseArp(body);
      if (!a.ok || (a.value.op !== ArpOp.REQUEST && a.value.op !== ArpOp.REPLY)) {
        this.stats.refused++;
        return;
      }
      const sender = read32(a.value.senderIp, 0);
      if (!macEquals(a.value.senderMac, c.mac) || (sender !== c.addr && sender !== 0)) {
        this.stats.spoofed++;
        return;
      }
    } else if (type === EtherType.IPV6) {
      if (!this.ip6Allowed(c, body, true)) return;
    } else if (type !== EtherType.IPV4 || !this.ipAllowed(c, body)) {
      if (type !== EtherType.IPV4) this.stats.refused++;
      return;
    }
    const dst = f.subarray(0, 6);
    if (isGroupMac(dst)) {
      for (const o of this.clients.values()) if (o !== c) o.peer.sendBinary(f);
    } else {
      const to = this.byMac(dst);
      if (to !== undefined) {
        if (to.peer.sendBinary(f)) this.stats.toClients++;
        return;
      }
    }
    this.stats.toDevice++;
    this.device.send(f.slice());
  }

  private byMac(mac: Uint8Array): Client | undefined {
    // The MAC carries the address: 02:53 followed by the four address bytes.
    if (mac[0] !== 0x02 || mac[1] !== 0x53) return undefined;
    const c = this.clients.get(read32(mac, 2));
    return c !== undefined && macEquals(c.mac, mac) ? c : undefined;
  }

  private fromDevice(pkt: Uint8Array): void {
    if (this.opts.mode === 'ethernet') {
      if (pkt.length < 14) return;
      const dst = pkt.subarray(0, 6);
      if (isGroupMac(dst)) {
        for (const c of this.clients.values()) if (c.peer.sendBinary(pkt)) this.stats.toClients++;
        return;
      }
      const c = this.byMac(dst);
      if (c === undefined || !c.peer.sendBinary(pkt)) this.stats.undeliverable++;
      else this.stats.toClients++;
      return;
    }
    const version = pkt.length > 0 ? pkt[0]! >>> 4 : 0;
    if (!((version === 4 && pkt.length >= 20) || (version === 6 && pkt.length >= 40))) {
      this.stats.undeliverable++;
      return;
    }
    const c = version === 4 ? this.clients.get(read32(pkt, 16)) : this.byAddr6(pkt.subarray(24, 40));
    if (c === undefined || !c.peer.sendBinary(pkt)) {
      this.stats.undeliverable++;
      return;
    }
    this.stats.toClients++;
  }

  close(): void {
    for (const c of this.clients.values()) c.peer.close(1001, 'relay stopping');
    this.clients.clear();
    this.device.onReceive = null;
  }
}

function v4(text: string): number {
  const b = parseIp(text);
  if (b === null || b.length !== 4) throw new TypeError(`not an IPv4 address: ${JSON.stringify(text)}`);
  return read32(b, 0);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function bytes(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}
