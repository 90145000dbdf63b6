// A minimal DHCPv4 server (RFC 2131, options from RFC 2132) for one subnet: DISCOVER -> OFFER,
// REQUEST -> ACK or NAK, RELEASE, DECLINE and INFORM; leases bound to the client's hardware address,
// offers held briefly, expired leases reused. Pure: the Ethernet interface hands it the UDP payload
// of each request and sends what it returns (it runs below the Stack, since a client without an
// address can neither be reached through ARP nor addressed by the Stack's sockets).
import { formatIp, ipEquals, parseIp } from '../wire/address.js';
import { read16, read32, write16, write32 } from '../wire/bytes.js';
import { type Parsed, ok, fail } from '../wire/result.js';
import { formatMac } from './frame.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
const FIXED = 236;
const MAGIC = 0x63825363;
const BOOTREQUEST = 1;
const BOOTREPLY = 2;
/** RFC 2131 2: the broadcast bit of `flags`. */
const FLAG_BROADCAST = 0x8000;

/** DHCP message types (RFC 2132 9.6). */
export const DhcpType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
const TYPE_NAMES = ['', 'DISCOVER', 'OFFER', 'REQUEST', 'DECLINE', 'ACK', 'NAK', 'RELEASE', 'INFORM'];

/** Option codes used here (RFC 2132). */
const Opt = { PAD: 0, SUBNET_MASK: 1, ROUTER: 3, DNS: 6, REQUESTED_IP: 50, LEASE_TIME: 51, MSG_TYPE: 53, SERVER_ID: 54, END: 255 } as const;

export interface DhcpMessage {
  op: number;
  xid: number;
  flags: number;
  ciaddr: Uint8Array;
  yiaddr: Uint8Array;
  giaddr: Uint8Array;
  chaddr: Uint8Array;
  type: number;
  /** Option 50, option 54, when present. */
  requestedIp: Uint8Array | null;
  serverId: Uint8Array | null;
}

/** Parse a BOOTP/DHCP message (Ethernet hardware addresses only). */
export function parseDhcp(buf: Uint8Array): Parsed<DhcpMessage> {
  if (buf.length < FIXED + 4) return fail('truncated', `DHCP message needs ${FIXED + 4} bytes, have ${buf.length}`);
  if (buf[1] !== 1 || buf[2] !== 6) return fail('unsupported', `hardware type ${buf[1]} length ${buf[2]}`);
  if (read32(buf, FIXED) !== MAGIC) return fail('malformed', 'no DHCP magic cookie (plain BOOTP)');
  let type = 0;
  let requestedIp: Uint8Array | null = null;
  let serverId: Uint8Array | null = null;
  for (let at = FIXED + 4; at < buf.length; ) {
    const code = buf[at]!;
    if (code === Opt.END) break;
    if (code === Opt.PAD) {
      at++;
      continue;
    }
    if (at + 2 > buf.length) return fail('bad-option', 'truncated option');
    const len = buf[at + 1]!;
    if (at + 2 + len > buf.length) return fail('bad-option', `option ${code} runs past the message`);
    const v = buf.subarray(at + 2, at + 2 + len);
    if (code === Opt.MSG_TYPE && len === 1) type = v[0]!;
    else if (code === Opt.REQUESTED_IP && len === 4) requestedIp = v;
    else if (code === Opt.SERVER_ID && len === 4) serverId = v;
    at += 2 + len;
  }
  if (type < DhcpType.DISCOVER || type > DhcpType.INFORM) return fail('malformed', `no or unknown DHCP message type ${type}`);
  return ok({
    op: buf[0]!,
    xid: read32(buf, 4),
    flags: read16(buf, 10),
    ciaddr: buf.subarray(12, 16),
    yiaddr: buf.subarray(16, 20),
    giaddr: buf.subarray(24, 28),
    chaddr: buf.subarray(28, 34),
    type,
    requestedIp,
    serverId,
  });
}

interface Reply {
  type: number;
  yiaddr: Uint8Array;
  options: [number, Uint8Array][];
}

function emitReply(req: DhcpMessage, serverIp: Uint8Array, r: Reply): Uint8Array {
  const optLen = r.options.reduce((n, [, v]) => n + 2 + v.length, 0) + 3 + 1;
  const out = new Uint8Array(Math.max(300, FIXED + 4 + optLen)); // BOOTP's 300-byte minimum
  out[0] = BOOTREPLY;
  out[1] = 1;
  out[2] = 6;
  write32(out, 4, req.xid);
  write16(out, 10, req.flags);
  out.set(req.ciaddr, 12);
  out.set(r.yiaddr, 16);
  if (r.type !== DhcpType.NAK) out.set(serverIp, 20); // siaddr
  out.set(req.giaddr, 24);
  out.set(req.chaddr, 28);
  write32(out, FIXED, MAGIC);
  let at = FIXED + 4;
  out[at++] = Opt.MSG_TYPE;
  out[at++] = 1;
  out[at++] = r.type;
  for (const [code, v] of r.options) {
    out[at++] = code;
    out[at++] = v.length;
    out.set(v, at);
    at += v.length;
  }
  out[at] = Opt.END;
  return out;
}

export interface DhcpServerOptions {
  /** The server's own address on the subnet (option 54, and the router option unless `router` is null). */
  serverIp: string;
  /** Subnet prefix length (option 1). */
  prefix: number;
  /** First and last address handed out, inclusive, inside the subnet. */
  first: string;
  last: string;
  /** Lease time in seconds (option 51); default 3600. */
  leaseSeconds?: number;
  /** Router to tell clients (option 3); default the server itself, null for none. */
  router?: string | null;
  /** DNS servers to tell clients (option 6); default none. */
  dns?: string[];
}

export interface DhcpLease {
  ip: string;
  mac: string;
  /** 'offered' until the client's REQUEST, then 'bound'. */
  state: 'offered' | 'bound';
  /** Absolute time (ms, the caller's clock) the lease or offer ends. */
  expires: number;
}

/** What the server wants sent: a UDP payload from port 67 to the client at `dst` (MAC and IP). */
export interface DhcpSend {
  payload: Uint8Array;
  /** Client MAC, or null for Ethernet broadcast. */
  mac: Uint8Array | null;
  /** IP destination: the offered address, or 255.255.255.255. */
  ip: Uint8Array;
  /** For traces: "OFFER 198.18.0.100 to 52:54:00:12:34:56". */
  summary: string;
}

/** An offer not taken up within this time is released (RFC 2131 4.3.1 leaves it to the server). */
const OFFER_HOLD_MS = 60_000;
const BROADCAST = new Uint8Array([255, 255, 255, 255]);

export class DhcpServer {
  private readonly server: Uint8Array;
  private readonly mask: Uint8Array;
  private readonly first: number;
  private readonly last: number;
  private readonly leaseMs: number;
  private readonly common: [number, Uint8Array][];
  /** Leases by MAC, and which MAC holds each address (as uint32). */
  private readonly byMac = new Map<string, { ip: number; state: 'offered' | 'bound'; expires: number }>();
  private readonly byIp = new Map<number, string>();
  /** Addresses a client DECLINEd (in use by someone else), until this time. */
  private readonly declined = new Map<number, number>();

  constructor(opts: DhcpServerOptions) {
    const server = v4(opts.serverIp, 'serverIp');
    if (!Number.isInteger(opts.prefix) || opts.prefix < 8 || opts.prefix > 30) throw new RangeError(`DHCP prefix must be 8..30, got ${opts.prefix}`);
    const first = u32(v4(opts.first, 'first'));
    const last = u32(v4(opts.last, 'last'));
    const net = (u32(server) & (~0 << (32 - opts.prefix))) >>> 0;
    const inNet = (a: number): boolean => ((a & (~0 << (32 - opts.prefix))) >>> 0) === net;
    if (first > last || !inNet(first) || !inNet(last)) throw new RangeError(`DHCP range ${opts.first}-${opts.last} is empty or not inside ${opts.serverIp}/${opts.prefix}`);
    this.server = server;
    this.first = first;
    this.last = last;
    this.mask = bytes((~0 << (32 - opts.prefix)) >>> 0);
    this.leaseMs = (opts.leaseSeconds ?? 3600) * 1000;
    const lease = new Uint8Array(4);
    write32(lease, 0, opts.leaseSeconds ?? 3600);
    const router = opts.router === undefined ? server : opts.router === null ? null : v4(opts.router, 'router');
    const dns = (opts.dns ?? []).map((d) => v4(d, 'dns'));
    this.common = [
      [Opt.SERVER_ID, server],
      [Opt.LEASE_TIME, lease],
      [Opt.SUBNET_MASK, this.mask],
      ...(router === null ? [] : ([[Opt.ROUTER, router]] as [number, Uint8Array][])),
      ...(dns.length === 0 ? [] : ([[Opt.DNS, concat(dns)]] as [number, Uint8Array][])),
    ];
  }

  /** Current leases and offers. */
  leases(now: number): DhcpLease[] {
    const out: DhcpLease[] = [];
    for (const [mac, l] of this.byMac) if (l.expires > now) out.push({ ip: formatIp(bytes(l.ip)), mac, state: l.state, expires: l.expires });
    return out;
  }

  /** Handle one message a client sent to port 67; returns the reply to send, if any. */
  handle(payload: Uint8Array, now: number): DhcpSend | null {
    const r = parseDhcp(payload);
    if (!r.ok || r.value.op !== BOOTREQUEST) return null;
    const m = r.value;
    const mac = formatMac(m.chaddr);
    switch (m.type) {
      case DhcpType.DISCOVER: {
        const ip = this.pick(mac, m.requestedIp, now);
        if (ip === null) return null; // pool exhausted: stay silent (RFC 2131 4.3.1 allows it)
        this.bind(mac, ip, 'offered', now + OFFER_HOLD_MS);
        return this.reply(m, { type: DhcpType.OFFER, yiaddr: bytes(ip), options: this.common });
      }
      case DhcpType.REQUEST: {
        // SELECTING names a server; a request for another server's offer releases ours (4.3.2).
        if (m.serverId !== null && !ipEquals(m.serverId, this.server)) {
          this.release(mac);
          return null;
        }
        const wanted = m.requestedIp ?? (u32(m.ciaddr) !== 0 ? m.ciaddr : null);
        const held = this.byMac.get(mac);
        if (wanted !== null && held !== undefined && held.ip === u32(wanted) && (held.expires > now || this.byIp.get(held.ip) === mac)) {
          this.bind(mac, held.ip, 'bound', now + this.leaseMs);
          return this.reply(m, { type: DhcpType.ACK, yiaddr: bytes(held.ip), options: this.common });
        }
        if (wanted !== null && held === undefined && this.free(u32(wanted), now) && m.serverId === null) {
          // INIT-REBOOT with an address we can give (e.g. after our restart): grant it.
          this.bind(mac, u32(wanted), 'bound', now + this.leaseMs);
          return this.reply(m, { type: DhcpType.ACK, yiaddr: wanted.slice(), options: this.common });
        }
        return this.reply(m, { type: DhcpType.NAK, yiaddr: new Uint8Array(4), options: [[Opt.SERVER_ID, this.server]] });
      }
      case DhcpType.DECLINE:
        if (m.requestedIp !== null) this.declined.set(u32(m.requestedIp), now + this.leaseMs);
        this.release(mac);
        return null;
      case DhcpType.RELEASE:
        this.release(mac);
        return null;
      case DhcpType.INFORM:
        // RFC 2131 3.4: configuration only, no address; sent to ciaddr.
        return this.reply(m, { type: DhcpType.ACK, yiaddr: new Uint8Array(4), options: this.common.filter(([c]) => c !== Opt.LEASE_TIME) });
      default:
        return null;
    }
  }

  private reply(req: DhcpMessage, r: Reply): DhcpSend {
    const payload = emitReply(req, this.server, r);
    // RFC 2131 4.1: NAKs and replies to clients that asked for broadcast go to 255.255.255.255;
    // INFORM answers go to ciaddr; others to the client's MAC and the address being given.
    const broadcast = r.type === DhcpType.NAK || (req.flags & FLAG_BROADCAST) !== 0;
    const informed = req.type === DhcpType.INFORM && u32(req.ciaddr) !== 0;
    const ip = informed ? req.ciaddr.slice() : broadcast ? BROADCAST : r.yiaddr;
    return { payload, mac: broadcast ? null : req.chaddr.slice(), ip, summary: `DHCP ${TYPE_NAMES[r.type]} ${formatIp(r.yiaddr)} to ${formatMac(req.chaddr)}` };
  }

  /** The client's current address, the one it asks for if free, else the lowest free one. */
  private pick(mac: string, requested: Uint8Array | null, now: number): number | null {
    const held = this.byMac.get(mac);
    if (held !== undefined) return held.ip;
    if (requested !== null && this.free(u32(requested), now)) return u32(requested);
    for (let a = this.first; a <= this.last; a++) if (this.free(a, now)) return a;
    return null;
  }

  private free(a: number, now: number): boolean {
    if (a < this.first || a > this.last || a === u32(this.server)) return false;
    if ((this.declined.get(a) ?? 0) > now) return false;
    const holder = this.byIp.get(a);
    if (holder === undefined) return true;
    const l = this.byMac.get(holder);
    if (l !== undefined && l.expires > now) return false;
    this.release(holder); // an expired lease is reused
    return true;
  }

  private bind(mac: string, ip: number, state: 'offered' | 'bound', expires: number): void {
    this.byMac.set(mac, { ip, state, expires });
    this.byIp.set(ip, mac);
  }

  private release(mac: string): void {
    const l = this.byMac.get(mac);
    if (l === undefined) return;
    this.byMac.delete(mac);
    if (this.byIp.get(l.ip) === mac) this.byIp.delete(l.ip);
  }
}

function v4(text: string, what: string): Uint8Array {
  const b = parseIp(text);
  if (b === null || b.length !== 4) throw new TypeError(`DHCP ${what}: not an IPv4 address: ${JSON.stringify(text)}`);
  return b;
}

function u32(a: Uint8Array): number {
  return read32(a, 0) >>> 0;
}

function bytes(n: number): Uint8Array {
  const b = new Uint8Array(4);
  write32(b, 0, n >>> 0);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.length * 4);
  parts.forEach((p, i) => out.set(p, i * 4));
  return out;
}
