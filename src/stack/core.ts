// The sans-IO Stack core: interfaces with IPv4/IPv6 addresses, routes, IP input (verify, filter,
// demultiplex) and output (RFC 791, RFC 8200; no fragmentation or reassembly yet: fragments are
// counted and dropped), ICMP echo and errors (RFC 792, RFC 4443, RFC 1122 3.2.2), UDP sockets
// (RFC 768), TCP through TcpHost, counters, and trace events that cost nothing when nobody listens.
// Its whole interface to time and IO is handle(iface, packet, now) / poll(now) / pollAt() and
// the transmit() it calls for each packet it sends: it holds no Clock and touches no link itself.
// The driver (stack.ts: Stack) owns the Clock and the links and calls it.
import { cryptoRandom, type RandomSource } from '../util/random.js';
import { RELEASED, RX_CSUM_VERIFIED, type Link } from '../link/link.js';
import { kernelSubarray } from '../wire/simd-sum.js';
import type { TraceEvent, TraceListener, DropEvent } from '../trace/events.js';
import { parseIpPacket, buildTcpPacket, buildUdpPacket, buildIcmpPacket, openTcpPacket, tcpSegmentOffset, type IpPacket } from '../wire/packet.js';
import { parseTcp, fillTcpChecksum, TcpSegmentBuf, TCP_PROTOCOL, type TcpRepr } from '../wire/tcp.js';
import { onesSum, foldChecksum, read16 } from '../wire/bytes.js';
import { parseUdp, UDP_PROTOCOL } from '../wire/udp.js';
import { parseIcmpv4, parseIcmpv6, parseQuoted, ICMPV4_PROTOCOL, ICMPV6_PROTOCOL, type IcmpRepr } from '../wire/icmp.js';
import { formatIp, ipEquals } from '../wire/address.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpStateName } from '../tcp/state.js';
import type { TcpInfo } from '../tcp/info.js';
import type { TcpConfigInput } from '../tcp/config.js';
import { Emitter } from './emitter.js';
import {
  Interface, RouteTable, addrKey, isLoopback, isMulticastOrBroadcast, isUnspecified, networkOf,
  parseIpOrThrow, parsePrefixOrThrow, v4key, type InterfaceAddress, type Route,
} from './route.js';
import { PortTable, type AnyFamily } from './port-table.js';
import { EphemeralPorts, type PortRange } from './ports.js';
import { UdpSocket, codedError, type UdpHost } from './udp.js';
import { classifyIcmpError, quoteFor } from './icmp.js';
import { TcpHost, type ConnectOptions, type ConnectionInfo, type ListenOptions, type TcpListener } from './tcp-host.js';
import { checkSynCookieMode, type SynCookieMode } from '../tcp/listener.js';
import { Gro, type GroCounters } from './gro.js';

/** What the core takes (the driver, stack.ts, adds the clock and the loopback link). */
export interface StackCoreOptions {
  /** Host name used in trace events (default "stack"). */
  name?: string;
  /** Randomness for ISNs, ephemeral ports and ping ids (default: crypto-strong). */
  random?: RandomSource;
  /** TCP defaults for every connection of this stack. */
  tcp?: TcpConfigInput;
  /** TTL / hop limit of packets we originate (default 64). */
  ttl?: number;
  /** Ephemeral port range (default 49152-65535, RFC 6056). */
  ephemeralPorts?: PortRange;
  /** Default listen backlog (default 511, as Node's). */
  backlog?: number;
  /**
   * SYN cookies (RFC 4987 3.6) for listeners: 'auto' (default) once a listener's backlog is full,
   * 'always', or 'never' (SYNs beyond the backlog are dropped). A listener may override it.
   */
  synCookies?: SynCookieMode;
}

export interface InterfaceOptions {
  /** Addresses with prefix length, e.g. ['198.18.0.1/24', '2001:db8::1/64']. */
  addresses: string[];
  name?: string;
}

/** Every counter the stack keeps. */
function newCounters() {
  return {
    ipIn: 0, ipOut: 0, ipBadChecksum: 0, ipMalformed: 0, ipNotForUs: 0, ipFragmentsDropped: 0,
    ipUnknownProtocol: 0, ipNoRoute: 0, ipTooBig: 0,
    icmpIn: 0, icmpOut: 0, icmpBad: 0, icmpEchoRequests: 0, icmpEchoReplies: 0, icmpErrorsIn: 0,
    icmpErrorsToTcp: 0, icmpUnreachSent: 0,
    udpIn: 0, udpOut: 0, udpBad: 0, udpNoPort: 0,
    tcpIn: 0, tcpOut: 0, tcpBad: 0, tcpNoListener: 0, tcpResetsSent: 0, tcpBacklogDrops: 0,
    tcpActiveOpens: 0, tcpPassiveOpens: 0,
    tcpSynCookiesSent: 0, tcpSynCookiesValid: 0, tcpSynCookiesFailed: 0,
  };
}
export type StackCounters = ReturnType<typeof newCounters>;
export type StackStats = StackCounters & { tcpConnections: number; tcpListeners: number; udpSockets: number };

type StackEvents = { trace: TraceListener };

/**
 * The sans-IO core of a Stack. Time comes in as `now` arguments; packets come in through
 * handle() and leave through transmit(), which the driver implements. Every TCP deadline of every
 * connection is kept here, in one queue (see TcpHost), and pollAt() reports the earliest.
 */
export abstract class StackCore extends Emitter<StackEvents> implements UdpHost {
  readonly name: string;
  readonly random: RandomSource;
  readonly interfaces: Interface[] = [];
  /** The loopback interface `lo` (null when the stack was made with `loopback: false`). */
  loopback: Interface | null = null;
  readonly routes = new RouteTable();
  readonly counters = newCounters();
  /** True while someone listens to 'trace'. */
  tracing = false;
  private readonly ttl: number;
  /** Our addresses, by addrKey, for the "is this for us" test. */
  private readonly local = new Map<string, Interface>();
  /** Our IPv4 addresses by v4key: the per-packet "for us" test without a key string. */
  private readonly local4 = new Map<number, Uint8Array>();
  /**
   * Remote IPv4 addresses seen lately, by value, so the fast input path hands out one shared
   * (read-only) array per peer instead of a subarray per packet. Cleared when it grows large.
   */
  private readonly remote4 = new Map<number, Uint8Array>();
  /** Build options of every TCP packet we send (one object, not one per packet). */
  private readonly tcpBuild: { ttl: number };
  /** The same for a link that finishes TCP checksums (Link.offload). */
  private readonly tcpBuildPartial: { ttl: number; partialChecksum: true };
  private readonly udp = new PortTable<UdpSocket>();
  private readonly ports: EphemeralPorts;
  private readonly tcpHost: TcpHost;
  /** Path MTU learned from packet-too-big, by destination addrKey. */
  private readonly pmtu = new Map<string, number>();
  /** The identifier of our echo requests (RFC 792), random per stack. */
  protected readonly pingId: number;
  protected closed = false;
  /**
   * The time of the handle() or poll() call in progress, or of the last one: what the core knows of
   * time. Only eventTime() reads it, to stamp trace events.
   */
  protected now = 0;
  /** The segment fastTcp4 parses into (wire/tcp.ts TcpSegmentBuf), and whether it is being handled. */
  private readonly seg = new TcpSegmentBuf();
  private segBusy = false;
  /** GRO, made at the first batch. */
  #gro: Gro | null = null;
  /** The GRO of the batch being handled (null otherwise: single packets go straight to TCP). */
  private gro: Gro | null = null;
  private readonly groDeliver = (iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, segs: number): void => {
    // tcpIn counts wire segments, as Linux's InSegs counts a GRO packet's gso_segs.
    this.counters.tcpIn += segs - 1;
    this.tcpHost.input(iface, src, dst, seg, this.now);
  };
  /** The last address tcpConnect parsed: clients tend to connect to one server again and again. */
  private lastDst: { text: string; bytes: Uint8Array } | null = null;

  constructor(opts: StackCoreOptions = {}) {
    super();
    this.name = opts.name ?? 'stack';
    this.random = opts.random ?? cryptoRandom();
    this.ttl = opts.ttl ?? 64;
    this.tcpBuild = { ttl: this.ttl };
    this.tcpBuildPartial = { ttl: this.ttl, partialChecksum: true };
    this.ports = new EphemeralPorts(this.random, opts.ephemeralPorts);
    this.pingId = this.random.u32() & 0xffff;
    checkSynCookieMode(opts.synCookies);
    this.tcpHost = new TcpHost(this, this.random, opts.tcp ?? {}, this.ports, opts.backlog ?? 511, opts.synCookies ?? 'auto');
  }

  // --- the sans-IO interface ------------------------------------------------------------------

  /**
   * Transmit one finished IP packet on `iface` (the driver puts it on the interface's link). The
   * packet was just built and the core keeps no reference to it, so a link may recycle it.
   * `gsoSize` present: a TCP packet built for the link's offloads (Link.offload: the checksum holds
   * the pseudo-header sum only), to go through Link.sendTcpOffload; > 0 when it is larger than the
   * MTU, for the link to cut into segments of that many payload bytes (TSO).
   */
  protected abstract transmit(iface: Interface, pkt: Uint8Array, gsoSize?: number): void;

  /**
   * Called when the earliest deadline may have moved earlier outside handle() and poll() (a user
   * call on a connection asked for output, a connection closed): the driver re-reads pollAt().
   */
  abstract wake(): void;

  /**
   * The time of a call made outside handle() and poll(): a user call (tcpConnect's ISN clock, the
   * poll a send() asks for) and the trace events it raises (a close(), an abort()). The core's own
   * answer is the `now` of the last handle() or poll(); the driver overrides it to read its clock.
   * Inside handle() and poll() both are their `now`.
   */
  eventTime(): number {
    return this.now;
  }

  /**
   * One IP packet arrived on `iface` at `now`. It is handled at once: a TCP segment goes through
   * SEGMENT ARRIVES and its connection is polled for the replies, which leave through transmit()
   * before this returns. Returns RELEASED when nothing holds `pkt` afterwards (see Link.onReceive).
   */
  handle(iface: Interface, pkt: Uint8Array, now: number, rx = 0): typeof RELEASED | undefined {
    this.now = now;
    return this.input(iface, pkt, rx);
  }

  /**
   * Fire every TCP deadline due at or before `now` (RTO, delayed ACK, persist, keepalive,
   * TIME-WAIT, ...) and send the output they and earlier user calls owe, connection by connection
   * in the order of (deadline, arming order) across the whole stack: see docs/architecture.md.
   */
  poll(now: number): void {
    this.now = now;
    this.tcpHost.poll(now);
  }

  /**
   * A batch of IP packets that arrived together on `iface` (one TUN read, one instant of a
   * batching link): packet i is `batch[ends[i-1] ?? 0 .. ends[i]]`. They are handled in order as
   * handle() would, except that TCP data segments go through GRO first (gro.ts): consecutive
   * in-order segments of one flow with the same header reach TCP input as one segment. Links and
   * taps saw (and traced, and captured) every packet as it was on the wire. `rx[i]`, when given, is
   * packet i's RX_* flags (Link.onReceive): a segment the link vouches for skips the checksum and
   * joins a train like any other (GRO compares headers after verification, as Linux's does).
   * Nothing here keeps a view of `batch` past the call: GRO flushes before returning.
   */
  handleBatch(iface: Interface, batch: Uint8Array, ends: ArrayLike<number>, count: number, now: number, rx?: ArrayLike<number> | null): void {
    this.now = now;
    const gro = (this.gro = this.#gro ??= new Gro(this.groDeliver));
    try {
      let start = 0;
      for (let i = 0; i < count; i++) {
        const end = ends[i]!;
        // (A batch in the checksum kernel's memory: views reused.)
        this.input(iface, kernelSubarray(batch, start, end), rx == null ? 0 : rx[i]!);
        start = end;
      }
    } finally {
      // What the flush sets off (replies, hooks) is handled packet by packet again.
      this.gro = null;
      gro.flush();
    }
  }

  /**
   * handleBatch for a batch of separate packets (Link.onReceiveList: one instant of a batching
   * memory pair): packet i is `packets[i]` with RX_* flags `rx[i]`; `released[i]` is set to 1 when
   * nothing holds packet i once this returns (as handle()'s RELEASED), else left as it is.
   */
  handleList(iface: Interface, packets: readonly Uint8Array[], count: number, now: number, rx: ArrayLike<number>, released: Uint8Array): void {
    this.now = now;
    const gro = (this.gro = this.#gro ??= new Gro(this.groDeliver));
    try {
      for (let i = 0; i < count; i++) if (this.input(iface, packets[i]!, rx[i]!) === RELEASED) released[i] = 1;
    } finally {
      this.gro = null;
      gro.flush();
    }
  }

  /** GRO counters: segments that went into joined segments, and joined segments delivered. */
  groStats(): GroCounters {
    return { ...(this.#gro?.counters ?? { groSegments: 0, groMerged: 0 }) };
  }

  /** The earliest time poll() has work: -Infinity for "now", Infinity for nothing pending. */
  pollAt(): number {
    return this.tcpHost.pollAt();
  }

  protected override listenersChanged(event: keyof StackEvents): void {
    if (event === 'trace') this.tracing = this.listenerCount('trace') > 0;
  }

  /** Emit a trace event (callers check `tracing` first so unobserved events are never built). */
  trace(e: TraceEvent): void {
    this.emit('trace', e);
  }

  // --- interfaces and routes ------------------------------------------------------------------

  /** Attach a link with its addresses; adds a connected route for each address's prefix. */
  addInterface(link: Link, opts: InterfaceOptions): Interface {
    // Default names count the interfaces besides lo: the first link is if0.
    const iface = new Interface(opts.name ?? `if${this.interfaces.length - (this.loopback === null ? 0 : 1)}`, link);
    for (const text of opts.addresses) this.assign(iface, text);
    this.interfaces.push(iface);
    return iface;
  }

  /**
   * Add an address ("198.18.0.3/24", "2001:db8::3/64") to an interface that is already up, with
   * its connected route. The interface's link layer hears of it: an Ethernet interface announces
   * it (gratuitous ARP, RFC 5227 3; IPv6 DAD first, RFC 4862 5.4).
   */
  addAddress(iface: Interface | string, text: string): void {
    const it = typeof iface === 'string' ? this.interfaces.find((i) => i.name === iface) : iface;
    if (it === undefined || !this.interfaces.includes(it)) throw new TypeError(`no interface ${String(typeof iface === 'string' ? iface : iface.name)}`);
    it.addressAdded(this.assign(it, text));
  }

  /** One address onto `iface`: the local maps and the connected route. */
  private assign(iface: Interface, text: string): InterfaceAddress {
    const { addr, prefix } = parsePrefixOrThrow(text);
    if (isUnspecified(addr) || isMulticastOrBroadcast(addr)) throw new TypeError(`not a unicast address: ${text}`);
    if (this.local.has(addrKey(addr))) throw codedError('EADDRINUSE', `address ${text} is already assigned`);
    const a: InterfaceAddress = { addr, prefix, text: formatIp(addr) };
    iface.addresses.push(a);
    this.local.set(addrKey(addr), iface);
    if (addr.length === 4) this.local4.set(v4key(addr, 0), addr.slice());
    this.routes.add({ net: networkOf(addr, prefix), prefix, iface, via: null, connected: true });
    return a;
  }

  /**
   * Add a route: `addRoute('0.0.0.0/0', { via: '198.18.0.254' })` or `{ iface }`. With only `via`,
   * the interface is the one whose connected prefix contains the gateway.
   */
  addRoute(prefix: string, target: { via?: string; iface?: Interface | string }): Route {
    const { addr, prefix: len } = parsePrefixOrThrow(prefix);
    const via = target.via !== undefined ? parseIpOrThrow(target.via) : null;
    let iface: Interface | undefined;
    if (target.iface !== undefined) {
      iface = typeof target.iface === 'string' ? this.interfaces.find((i) => i.name === target.iface) : target.iface;
      if (iface === undefined) throw new TypeError(`no interface ${String(target.iface)}`);
    } else if (via !== null) {
      const r = this.routes.lookup(via);
      if (r === null || !r.connected) throw codedError('ENETUNREACH', `gateway ${target.via} is not on a connected network`);
      iface = r.iface;
    } else {
      throw new TypeError('addRoute needs via or iface');
    }
    const route: Route = { net: networkOf(addr, len), prefix: len, iface, via, connected: false };
    this.routes.add(route);
    return route;
  }

  /** The route and source address for reaching `dst`, or null. */
  private pathTo(dst: Uint8Array, localAddress?: Uint8Array): { iface: Interface; src: Uint8Array } | null {
    // One of our own addresses is reached through lo, as Linux's local routing table does.
    if (this.loopback !== null && this.local.has(addrKey(dst))) return { iface: this.loopback, src: localAddress ?? dst };
    const r = this.routes.lookup(dst);
    if (r === null) return null;
    if (localAddress !== undefined) return { iface: r.iface, src: localAddress };
    const a = r.iface.sourceFor(dst);
    return a === null ? null : { iface: r.iface, src: a.addr };
  }

  isLocalAddress(a: Uint8Array): boolean {
    return this.local.has(addrKey(a));
  }

  // --- IP input -------------------------------------------------------------------------------

  private drop(reason: DropEvent['reason'], detail: string): void {
    if (this.tracing) this.trace({ type: 'drop', t: this.eventTime(), host: this.name, reason, detail });
  }

  /** Count a TCP-level drop (used by TcpHost). */
  countDrop(counter: 'tcpBad' | 'tcpNoListener' | 'tcpBacklogDrops', reason: 'no-listener' | 'backlog-full', detail: string): void {
    this.counters[counter]++;
    this.drop(reason, detail);
  }

  /** IP input; returns RELEASED when nothing holds `pkt` afterwards (see Link.onReceive). */
  private input(iface: Interface, pkt: Uint8Array, rx = 0): typeof RELEASED | undefined {
    if (this.closed) return undefined;
    const c = this.counters;
    c.ipIn++;
    // The link vouches for the TCP checksum (Link.onReceive, RX_CSUM_VERIFIED): do not sum it again.
    const trusted = (rx & RX_CSUM_VERIFIED) !== 0;
    // A TCP segment's bytes are copied into the receive buffer, and nothing else keeps the packet.
    if (this.fastTcp4(iface, pkt, trusted)) return RELEASED;
    const r = parseIpPacket(pkt);
    if (!r.ok) {
      if (r.error.code === 'bad-checksum') {
        c.ipBadChecksum++;
        this.drop('checksum', `ip: ${r.error.message}`);
      } else {
        c.ipMalformed++;
        this.drop('malformed', `ip: ${r.error.message}`);
      }
      return undefined;
    }
    const ip = r.value;
    if (iface !== this.loopback && (isLoopback(ip.dst) || isLoopback(ip.src))) {
      // RFC 1122 3.2.1.3, RFC 4291 2.5.3: loopback addresses never arrive from a real link.
      c.ipNotForUs++;
      this.drop('other', `loopback address from ${iface.name}`);
      return undefined;
    }
    if (ip.version === 4 ? !this.local4.has(v4key(ip.dst, 0)) : !this.local.has(addrKey(ip.dst))) {
      // Not for us and we do not forward (a host, RFC 1122 3.3.1).
      c.ipNotForUs++;
      return undefined;
    }
    if (ip.isFragment) {
      c.ipFragmentsDropped++;
      this.drop('other', 'fragment (reassembly not supported)');
      return undefined;
    }
    switch (ip.protocol) {
      case TCP_PROTOCOL:
        this.tcpInput(iface, ip, trusted);
        return undefined;
      case UDP_PROTOCOL:
        this.udpInput(iface, ip, pkt);
        return undefined;
      case ICMPV4_PROTOCOL:
        if (ip.version === 4) this.icmpInput(iface, ip);
        else this.unknownProtocol(ip);
        return undefined;
      case ICMPV6_PROTOCOL:
        if (ip.version === 6) this.icmpInput(iface, ip);
        else this.unknownProtocol(ip);
        return undefined;
      default:
        this.unknownProtocol(ip);
        return undefined;
    }
  }

  private unknownProtocol(ip: IpPacket): void {
    this.counters.ipUnknownProtocol++;
    this.drop('other', `protocol ${ip.protocol}`);
  }

  private tcpInput(iface: Interface, ip: IpPacket, trusted: boolean): void {
    const r = parseTcp(ip.payload, trusted ? undefined : { src: ip.src, dst: ip.dst });
    if (!r.ok) {
      this.counters.tcpBad++;
      this.drop(r.error.code === 'bad-checksum' ? 'checksum' : 'malformed', `tcp: ${r.error.message}`);
      return;
    }
    if (isMulticastOrBroadcast(ip.src) || isUnspecified(ip.src)) {
      this.counters.tcpBad++;
      this.drop('other', 'tcp from a multicast, broadcast or unspecified source');
      return;
    }
    if (this.gro !== null) this.gro.offer(iface, ip.src, ip.dst, r.value, ip.payload, 0);
    else this.tcpHost.input(iface, ip.src, ip.dst, r.value, this.now);
  }

  /**
   * The common case in one pass: an option-less, unfragmented IPv4 packet whose header checksum
   * verifies, carrying TCP to one of our addresses. It makes the same checks as the general path
   * (RFC 791 header, RFC 1122 3.3.1 "for us", RFC 9293 3.1 checksum) without building the IP
   * repr or subarrays for the addresses. Returns false, having done nothing, for anything else, which
   * the general path then handles (and counts, if it is bad).
   */
  private fastTcp4(iface: Interface, pkt: Uint8Array, trusted: boolean): boolean {
    if (pkt.length < 40 || pkt[0] !== 0x45 || pkt[9] !== TCP_PROTOCOL || (read16(pkt, 6) & 0x3fff) !== 0) return false;
    const total = read16(pkt, 2);
    if (total < 40 || total > pkt.length || foldChecksum(onesSum(pkt, 0, 20)) !== 0) return false;
    const dst = this.local4.get(v4key(pkt, 16));
    if (dst === undefined) return false;
    if ((pkt[12] === 127 || pkt[16] === 127) && iface !== this.loopback) return false; // the general path drops it
    const srcKey = v4key(pkt, 12);
    let src = this.remote4.get(srcKey);
    if (src === undefined) {
      src = pkt.slice(12, 16);
      if (this.remote4.size >= 1024) this.remote4.clear();
      this.remote4.set(srcKey, src);
    }
    // Parsed in place into the stack's one segment object; a segment arriving while that one is
    // still being handled (delivered re-entrantly through a loopback path) gets its own. In a batch
    // too: GRO copies the one segment it holds (the first of a train). The checksum is skipped when
    // the link vouches for it (RX_CSUM_VERIFIED).
    const seg = this.segBusy ? new TcpSegmentBuf() : this.seg;
    const bad = trusted ? seg.parse(pkt, 20, total) : seg.parse(pkt, 20, total, src, dst);
    if (bad !== null) {
      this.counters.tcpBad++;
      this.drop(bad.code === 'bad-checksum' ? 'checksum' : 'malformed', `tcp: ${bad.message}`);
      return true;
    }
    if (isMulticastOrBroadcast(src) || isUnspecified(src)) {
      this.counters.tcpBad++;
      this.drop('other', 'tcp from a multicast, broadcast or unspecified source');
      return true;
    }
    if (seg !== this.seg) {
      this.tcp4(iface, src, dst, seg, pkt);
      return true;
    }
    this.segBusy = true;
    try {
      this.tcp4(iface, src, dst, seg, pkt);
    } finally {
      this.segBusy = false;
    }
    return true;
  }

  /** A verified IPv4 segment (its TCP header at byte 20 of `pkt`) to GRO in a batch, else to TCP. */
  private tcp4(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, pkt: Uint8Array): void {
    if (this.gro !== null) this.gro.offer(iface, src, dst, seg, pkt, 20);
    else this.tcpHost.input(iface, src, dst, seg, this.now);
  }

  // --- output ---------------------------------------------------------------------------------

  /** Put a finished IP packet on `iface`; too big for the link MTU means dropped (no fragmentation). */
  private output(iface: Interface, pkt: Uint8Array): boolean {
    if (pkt.length > iface.mtu) {
      this.counters.ipTooBig++;
      this.drop('other', `packet of ${pkt.length} bytes exceeds ${iface.name} MTU ${iface.mtu}`);
      return false;
    }
    this.counters.ipOut++;
    this.transmit(iface, pkt);
    return true;
  }

  /**
   * Send a TCP segment; `gsoSize` is the sender's Eff.snd.MSS, by which a link with TSO cuts a
   * segment larger than its MTU (Link.sendTcpOffload). With the link's checksum offload the packet
   * leaves with the pseudo-header sum only, for the far side to finish.
   */
  sendTcp(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, gsoSize = 0): boolean {
    this.counters.tcpOut++;
    if (!offloads(iface)) return this.output(iface, buildTcpPacket(src, dst, seg, this.tcpBuild));
    return this.outputOffload(iface, buildTcpPacket(src, dst, seg, this.tcpBuildPartial), gsoSize);
  }

  /**
   * A TCP packet built for a link with offloads (partial checksum) to `iface`: one larger than the
   * MTU goes with `gsoSize` for the link to cut (TSO), up to the link's tsoMax.
   */
  private outputOffload(iface: Interface, pkt: Uint8Array, gsoSize: number): boolean {
    const gso = pkt.length > iface.mtu ? gsoSize : 0;
    if (pkt.length > (gso > 0 ? iface.link.offload!.tsoMax : iface.mtu)) {
      this.counters.ipTooBig++;
      this.drop('other', `packet of ${pkt.length} bytes exceeds ${iface.name} MTU ${iface.mtu}`);
      return false;
    }
    this.counters.ipOut++;
    this.transmit(iface, pkt, gso);
    return true;
  }

  openTcpPacket(iface: Interface, src: Uint8Array, dst: Uint8Array, segLen: number): Uint8Array | null {
    // With TSO a segment may be larger than the MTU (the link cuts it); sendTcp counts and reports
    // one that is too large.
    const max = Math.max(iface.mtu, iface.link.offload?.tsoMax ?? 0);
    if (tcpSegmentOffset(src) + segLen > max) return null;
    return openTcpPacket(src, dst, segLen, this.tcpBuild);
  }

  sendTcpPacket(iface: Interface, src: Uint8Array, dst: Uint8Array, pkt: Uint8Array, segLen: number, gsoSize = 0): void {
    const at = tcpSegmentOffset(src);
    this.counters.tcpOut++;
    if (!offloads(iface)) {
      fillTcpChecksum(pkt, at, segLen, src, dst);
      this.output(iface, pkt);
    } else {
      fillTcpChecksum(pkt, at, segLen, src, dst, true);
      this.outputOffload(iface, pkt, gsoSize);
    }
  }

  protected sendIcmp(dst: Uint8Array, repr: IcmpRepr, src?: Uint8Array, ttl?: number): boolean {
    const path = this.pathTo(dst, src);
    if (path === null) {
      this.counters.ipNoRoute++;
      return false;
    }
    this.counters.icmpOut++;
    return this.output(path.iface, buildIcmpPacket(path.src, dst, repr, { ttl: ttl ?? this.ttl }));
  }

  // --- ICMP -----------------------------------------------------------------------------------

  private icmpInput(iface: Interface, ip: IpPacket): void {
    const c = this.counters;
    c.icmpIn++;
    const v6 = ip.version === 6;
    const r = v6 ? parseIcmpv6(ip.payload, { src: ip.src, dst: ip.dst }) : parseIcmpv4(ip.payload);
    if (!r.ok) {
      c.icmpBad++;
      this.drop(r.error.code === 'bad-checksum' ? 'checksum' : 'malformed', `icmp: ${r.error.message}`);
      return;
    }
    const m = r.value;
    switch (m.kind) {
      case 'echo-request':
        // RFC 1122 3.2.2.6 / RFC 4443 4.2: reply from the address the request was sent to.
        if (isMulticastOrBroadcast(ip.src) || isUnspecified(ip.src)) return;
        c.icmpEchoRequests++;
        this.sendIcmp(ip.src.slice(), { kind: 'echo-reply', id: m.id, seq: m.seq, data: m.data }, ip.dst.slice());
        return;
      case 'echo-reply':
        if (m.id === this.pingId && this.echoReply(m.seq, ip.ttl, m.data.length)) c.icmpEchoReplies++;
        return;
      case 'dst-unreachable':
      case 'packet-too-big':
      case 'time-exceeded': {
        c.icmpErrorsIn++;
        const q = parseQuoted(m.quoted);
        const action = classifyIcmpError(m, v6);
        if (!q.ok || action === null) return;
        const { src, dst, protocol, srcPort, dstPort } = q.value;
        // The quote is a packet we sent: its source must be ours.
        if (!this.isLocalAddress(src)) return;
        if (action.kind === 'pmtu') this.learnPmtu(dst, action.mtu);
        if (protocol === TCP_PROTOCOL && this.tcpHost.icmpError(src, srcPort, dst, dstPort, action, this.now)) c.icmpErrorsToTcp++;
        return;
      }
      default:
        return; // other types (router/neighbour discovery, ...) are not ours to handle
    }
  }

  private learnPmtu(dst: Uint8Array, mtu: number): void {
    const k = addrKey(dst);
    const old = this.pmtu.get(k) ?? Infinity;
    if (mtu > 0 && mtu < old) this.pmtu.set(k, mtu);
  }

  /** The path MTU learned for `dst` (Infinity when none was reported). */
  pathMtu(dst: string | Uint8Array): number {
    const a = typeof dst === 'string' ? parseIpOrThrow(dst) : dst;
    return this.pmtu.get(addrKey(a)) ?? Infinity;
  }

  /** Send an ICMP echo request (RFC 792, RFC 4443 4.1) with our identifier; false when it cannot leave. */
  protected sendEchoRequest(dst: Uint8Array, seq: number, data: Uint8Array, ttl: number | undefined): boolean {
    return this.sendIcmp(dst, { kind: 'echo-request', id: this.pingId, seq, data }, undefined, ttl);
  }

  /** An echo reply to one of our requests arrived; true when someone was waiting for it. */
  protected echoReply(_seq: number, _ttl: number, _bytes: number): boolean {
    return false;
  }

  // --- UDP ------------------------------------------------------------------------------------

  private udpInput(iface: Interface, ip: IpPacket, pkt: Uint8Array): void {
    const c = this.counters;
    const r = parseUdp(ip.payload, { src: ip.src, dst: ip.dst });
    if (!r.ok) {
      c.udpBad++;
      this.drop(r.error.code === 'bad-checksum' ? 'checksum' : 'malformed', `udp: ${r.error.message}`);
      return;
    }
    c.udpIn++;
    const d = r.value;
    const sock = this.udp.lookup(ip.dst, d.dstPort);
    if (sock === undefined) {
      c.udpNoPort++;
      this.drop('no-listener', `udp port ${d.dstPort}`);
      // RFC 1122 3.2.2 / RFC 4443 2.4(e): no errors about multicast/broadcast or unspecified sources.
      if (isMulticastOrBroadcast(ip.dst) || isMulticastOrBroadcast(ip.src) || isUnspecified(ip.src)) return;
      const v6 = ip.version === 6;
      // RFC 792: port unreachable is type 3 code 3; RFC 4443 3.1: type 1 code 4.
      if (this.sendIcmp(ip.src.slice(), { kind: 'dst-unreachable', code: v6 ? 4 : 3, quoted: quoteFor(pkt, v6) }, ip.dst.slice())) {
        c.icmpUnreachSent++;
      }
      void iface;
      return;
    }
    sock.deliver(d.payload, {
      address: formatIp(ip.src),
      family: ip.version === 4 ? 'IPv4' : 'IPv6',
      port: d.srcPort,
      size: d.payload.length,
    });
  }

  /** Open a UDP socket. No address (or '::') binds every address; '0.0.0.0' every IPv4 one. */
  udpBind(opts: { address?: string; port?: number } = {}): UdpSocket {
    const { addr, anyFamily, text } = this.bindAddress(opts.address);
    let port = opts.port ?? 0;
    if (port === 0) {
      port = this.ports.pick(addr ?? new Uint8Array(0), new Uint8Array(0), 0, (p) => !this.udp.has(p));
      if (port === 0) throw codedError('EADDRNOTAVAIL', 'no ephemeral UDP port available');
    } else if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw codedError('ERR_SOCKET_BAD_PORT', `bad port ${port}`);
    } else if (this.udp.conflicts(port, addr, anyFamily)) {
      throw codedError('EADDRINUSE', `bind EADDRINUSE ${text}:${port}`);
    }
    const sock = new UdpSocket(this, addr, text, port);
    this.udp.add(port, { addr, anyFamily, value: sock });
    return sock;
  }

  private bindAddress(address: string | undefined, ipv6Only = false): { addr: Uint8Array | null; anyFamily: AnyFamily; text: string } {
    if (address === undefined || address === '::') return { addr: null, anyFamily: ipv6Only ? 6 : 0, text: '::' };
    if (address === '0.0.0.0') return { addr: null, anyFamily: 4, text: '0.0.0.0' };
    const addr = parseIpOrThrow(address);
    if (!this.isLocalAddress(addr)) throw codedError('EADDRNOTAVAIL', `address not available ${address}`);
    return { addr, anyFamily: 0, text: formatIp(addr) };
  }

  udpSend(sock: UdpSocket, data: Uint8Array, port: number, address: string): void {
    const dst = parseIpOrThrow(address);
    if (sock.localAddress !== null && sock.localAddress.length !== dst.length) {
      throw codedError('EINVAL', `cannot send to ${address} from ${sock.localAddressText}`);
    }
    const path = this.pathTo(dst, sock.localAddress ?? undefined);
    if (path === null) {
      this.counters.ipNoRoute++;
      throw codedError('ENETUNREACH', `send ENETUNREACH ${address}:${port}`);
    }
    const pkt = buildUdpPacket(path.src, dst, { srcPort: sock.port, dstPort: port, payload: data }, { ttl: this.ttl, dontFragment: false });
    if (pkt.length > path.iface.mtu) throw codedError('EMSGSIZE', `send EMSGSIZE ${address}:${port}`);
    this.counters.udpOut++;
    this.output(path.iface, pkt);
  }

  udpClose(sock: UdpSocket): void {
    this.udp.remove(sock.port, sock);
  }

  // --- TCP ------------------------------------------------------------------------------------

  /** Listen for TCP connections; `onConnection` receives each one once it is ESTABLISHED. */
  tcpListen(opts: ListenOptions, onConnection: (conn: TcpConnection, info: ConnectionInfo) => void): TcpListener {
    const { addr, anyFamily, text } = this.bindAddress(opts.address, opts.ipv6Only === true);
    if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
      throw codedError('ERR_SOCKET_BAD_PORT', `bad port ${opts.port}`);
    }
    checkSynCookieMode(opts.synCookies);
    return this.tcpHost.listen(addr, anyFamily, text, opts, onConnection);
  }

  /** Open a TCP connection (active OPEN, RFC 9293 3.10.1); the SYN leaves on the next poll. */
  tcpConnect(opts: ConnectOptions, now: number = this.eventTime()): TcpConnection {
    let dst: Uint8Array;
    if (this.lastDst !== null && this.lastDst.text === opts.address) dst = this.lastDst.bytes;
    else this.lastDst = { text: opts.address, bytes: (dst = parseIpOrThrow(opts.address)) };
    // Linux: connecting to 0.0.0.0 (or ::) reaches the local host through loopback.
    if (isUnspecified(dst) && this.loopback !== null) dst = this.loopback.addresses[dst.length === 4 ? 0 : 1]!.addr;
    if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) {
      throw codedError('ERR_SOCKET_BAD_PORT', `bad port ${opts.port}`);
    }
    let src: Uint8Array | undefined;
    if (opts.localAddress !== undefined) {
      src = parseIpOrThrow(opts.localAddress);
      // A tentative address (under DAD, RFC 4862 5.4) is not yet ours to use, as on Linux.
      if (!this.isLocalAddress(src) || src.length !== dst.length || this.local.get(addrKey(src))?.usable(src) === false) {
        throw codedError('EADDRNOTAVAIL', `connect EADDRNOTAVAIL ${opts.localAddress}`);
      }
    }
    const path = this.pathTo(dst, src);
    if (path === null) {
      // A route but no usable source: every address of the family is still tentative (Linux: EADDRNOTAVAIL).
      if (this.routes.lookup(dst) !== null) throw codedError('EADDRNOTAVAIL', `connect EADDRNOTAVAIL ${opts.address}:${opts.port}: no usable source address yet`);
      this.counters.ipNoRoute++;
      throw codedError('ENETUNREACH', `connect ENETUNREACH ${opts.address}:${opts.port}`);
    }
    return this.tcpHost.connect(path.iface, path.src, dst, opts, this.pathMtu(dst), now);
  }

  /** Addresses and ports of a connection this stack owns. */
  connectionInfo(conn: TcpConnection): ConnectionInfo | undefined {
    return this.tcpHost.info(conn);
  }

  /**
   * Every TCP connection the stack keeps, from SYN-SENT / SYN-RECEIVED to TIME-WAIT, oldest first:
   * its 4-tuple, state and statistics (tcp_info) now, and the connection itself. A snapshot: later
   * changes are not reflected. Listeners are listed by tcpListeners().
   */
  connections(now: number = this.eventTime()): StackConnection[] {
    const out: StackConnection[] = [];
    for (const e of this.tcpHost.entries()) {
      if (e.closed) continue;
      out.push({ ...e.info(), state: e.conn.state, stats: e.conn.stats(now), conn: e.conn });
    }
    return out;
  }

  /** The TCP listeners that are open, in port order. */
  tcpListeners(): TcpListener[] {
    return this.tcpHost.listeners.values().filter((l) => !l.closed);
  }

  // --- whole-stack ----------------------------------------------------------------------------

  stats(): StackStats {
    return {
      ...this.counters,
      tcpConnections: this.tcpHost.size,
      tcpListeners: this.tcpHost.listeners.size,
      udpSockets: this.udp.size,
    };
  }

  /** Reset every connection, close every socket and detach from the links. */
  close(): void {
    if (this.closed) return;
    this.tcpHost.shutdown(this.eventTime());
    for (const s of this.udp.values()) s.close();
    this.closed = true;
  }
}

/** Whether `iface`'s link takes TCP packets with partial checksums (and maybe TSO): Link.offload. */
function offloads(iface: Interface): boolean {
  return iface.link.offload != null && iface.link.sendTcpOffload !== undefined;
}

/** One entry of Stack.connections(). */
export interface StackConnection extends ConnectionInfo {
  state: TcpStateName;
  /** tcp_info-style statistics at the time of the call. */
  stats: TcpInfo;
  conn: TcpConnection;
}

export { ipEquals };
