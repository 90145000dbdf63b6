// An Ethernet interface: the L2 adapter between a Stack (which sends and receives bare IP packets
// through the Link contract) and a link that carries Ethernet II frames (a TAP device, a QEMU
// socket, a v86 bus, a memory pair). It owns the interface's MAC address, resolves next hops with
// ARP (RFC 826) and neighbour discovery (RFC 4861 section 7), answers for its own addresses,
// announces IPv4 addresses with gratuitous ARP (RFC 5227 section 3) and checks IPv6 addresses with
// duplicate address detection (RFC 4862 section 5.4).
import type { Link, LinkOffload } from '../link/link.js';
import { formatIp, inPrefix, ipEquals, parseIp } from '../wire/address.js';
import { read16 } from '../wire/bytes.js';
import { addrKey } from '../stack/route.js';
import type { Clock } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/random.js';
import type { NeighbourEvent } from '../trace/events.js';
import { ArpOp, emitArp, parseArp } from './arp.js';
import { BROADCAST_MAC, EtherType, formatMac, frameLength, writeFrame, isGroupMac, macEquals, multicastMac, parseEthernet, parseMac, randomMac } from './frame.js';
import { formatArp, formatNdp } from './format.js';
import { ALL_NODES, NaFlag, NdpType, UNSPECIFIED6, buildNdp, icmpv6TypeOf, parseNdp, solicitedNode } from './ndp.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, type DhcpServer } from './dhcp.js';
import { buildUdpPacket, recyclePacket, takePacket } from '../wire/packet.js';
import { UDP_PROTOCOL } from '../wire/udp.js';
import { DEFAULT_TIMINGS, NeighbourCache, type NeighbourEntry, type NeighbourTimings } from './neighbours.js';

/** The addresses an Ethernet interface answers for; the Stack's Interface (src/stack/route.ts) is one. */
export interface AddressSource {
  readonly addresses: readonly { readonly addr: Uint8Array; readonly prefix: number }[];
}

export interface EthernetOptions {
  clock: Clock;
  /** The interface's MAC address; default a random locally administered one. */
  mac?: Uint8Array | string;
  /** Randomness for the default MAC (default crypto-strong). */
  random?: RandomSource;
  /** Next hop for IPv4 destinations off every connected prefix; without one they are treated as on-link. */
  gateway4?: string;
  /** The same for IPv6. */
  gateway6?: string;
  /** Neighbour cache constants (RFC 4861 section 10 defaults). */
  timings?: Partial<NeighbourTimings>;
  /**
   * The IP MTU (largest frame payload). Default: the frame link's own `mtu`, which frame links
   * report as their payload size (a TAP device opened with mtu 1500 carries 1514-byte frames).
   * Give it when the frame link counts whole frames (e.g. a memory pair made with mtu 1514).
   */
  mtu?: number;
  /** Run duplicate address detection on IPv6 addresses before answering for them (default true). */
  dad?: boolean;
  /** Name shown in trace events. */
  name?: string;
  /** Receives neighbour events (messages and cache changes); built only when set. */
  onTrace?: ((e: NeighbourEvent) => void) | null;
  /**
   * A DHCPv4 server (dhcp.ts) answering clients on this segment: requests to UDP port 67 go to it
   * instead of the Stack, and its replies leave straight to the client's MAC (or broadcast).
   */
  dhcp?: DhcpServer;
  /** Called when DAD finds an IPv6 address in use by someone else (the address is then not answered for). */
  onDuplicate?: (addr: string, mac: string) => void;
}

export interface EthernetStats {
  framesIn: number;
  framesOut: number;
  /** Frames not for our MAC, from our own MAC, malformed, or of an EtherType we do not speak. */
  framesIgnored: number;
  arpIn: number;
  arpOut: number;
  ndpIn: number;
  ndpOut: number;
  /** ARP or NDP messages that failed validation. */
  badNeighbourMessages: number;
  /** Packets dropped because their next hop did not answer, or its queue overflowed. */
  unresolvedDrops: number;
  /** Someone else claimed one of our addresses (ARP or NA with another MAC, or DAD). */
  conflicts: number;
  /** IPv6 packets from or to a tentative address, dropped (RFC 4862 5.4). */
  tentativeDrops: number;
}

const ZERO_MAC = new Uint8Array(6);

export class EthernetInterface implements Link {
  readonly mac: Uint8Array;
  onReceive: ((packet: Uint8Array, rx?: number) => unknown) | null = null;
  /**
   * The frame link's offloads, passed through (a TAP device with IFF_VNET_HDR: the kernel cuts TCP
   * super-packets and finishes checksums behind the Ethernet header); null when it has none.
   */
  readonly offload: LinkOffload | null;
  onTrace: ((e: NeighbourEvent) => void) | null;
  readonly stats: EthernetStats = {
    framesIn: 0,
    framesOut: 0,
    framesIgnored: 0,
    arpIn: 0,
    arpOut: 0,
    ndpIn: 0,
    ndpOut: 0,
    badNeighbourMessages: 0,
    unresolvedDrops: 0,
    conflicts: 0,
    tentativeDrops: 0,
  };
  readonly mtu: number;
  private readonly clock: Clock;
  private readonly name: string;
  private readonly cache: NeighbourCache;
  private readonly gateway4: Uint8Array | null;
  private readonly gateway6: Uint8Array | null;
  private readonly dad: boolean;
  private readonly dhcp: DhcpServer | null;
  private readonly onDuplicate: ((addr: string, mac: string) => void) | undefined;
  private source: AddressSource = { addresses: [] };
  /** IPv6 addresses still under DAD, and ones found duplicated: neither is answered for. */
  private readonly tentative = new Set<string>();
  private readonly duplicated = new Set<string>();
  private closed = false;
  /**
   * An offloaded packet on its way through send() (sendTcpOffload): transmit() sends its frame with
   * offloadGso. One that waits for its next hop's address (the neighbour cache's queue) keeps its
   * gsoSize in queuedGso until it leaves.
   */
  private offloadPacket: Uint8Array | null = null;
  private offloadGso = 0;
  private readonly queuedGso = new WeakMap<Uint8Array, number>();
  /**
   * A packet the Stack gave away (sendOwned, or sendTcpOffload with `owned`) on its way through
   * send(): once transmit() has copied it into its frame nobody holds it, so it goes back to the
   * packet allocator. One the neighbour cache queues is left to the garbage collector.
   */
  private ownedPacket: Uint8Array | null = null;
  /** Whether the frame link takes frames it may recycle (sendOwned). */
  private readonly framesRecycle: boolean;

  constructor(
    private readonly frames: Link,
    opts: EthernetOptions,
  ) {
    this.clock = opts.clock;
    this.mtu = opts.mtu ?? frames.mtu;
    this.offload = frames.sendTcpOffload !== undefined ? (frames.offload ?? null) : null;
    this.framesRecycle = frames.sendOwned !== undefined;
    this.name = opts.name ?? 'eth';
    const mac = typeof opts.mac === 'string' ? parseMac(opts.mac) : (opts.mac ?? randomMac(opts.random ?? cryptoRandom()));
    if (mac === null || mac.length !== 6) throw new TypeError(`invalid MAC address: ${JSON.stringify(opts.mac)}`);
    if (isGroupMac(mac)) throw new TypeError(`MAC address ${formatMac(mac)} is a group address, not a unicast one`);
    this.mac = mac.slice();
    this.gateway4 = parseGateway(opts.gateway4, 4);
    this.gateway6 = parseGateway(opts.gateway6, 16);
    this.dad = opts.dad ?? true;
    this.dhcp = opts.dhcp ?? null;
    this.onDuplicate = opts.onDuplicate;
    this.onTrace = opts.onTrace ?? null;
    const timings = { ...DEFAULT_TIMINGS, ...opts.timings };
    this.cache = new NeighbourCache(
      this.clock,
      {
        solicit: (ip, to) => this.solicit(ip, to),
        transmit: (to, pkt) => this.transmit(to, pkt[0]! >>> 4 === 6 ? EtherType.IPV6 : EtherType.IPV4, pkt),
        dropped: (_ip, n) => {
          this.stats.unresolvedDrops += n;
        },
        changed: (e, why) => this.traceEntry(e, why),
      },
      timings,
    );
    frames.onReceive = (frame, rx) => this.input(frame, rx);
  }

  /**
   * Start answering for `source`'s addresses (read live, so addresses added later are answered for
   * too): announce each IPv4 address with a gratuitous ARP and run DAD on each IPv6 one.
   */
  bind(source: AddressSource): void {
    this.source = source;
    for (const a of source.addresses) this.announce(a.addr);
  }

  /** Announce one address: gratuitous ARP for IPv4, DAD then an unsolicited NA for IPv6. */
  announce(addr: Uint8Array): void {
    if (addr.length === 4) {
      this.sendArp(ArpOp.REQUEST, BROADCAST_MAC, addr, ZERO_MAC, addr);
      return;
    }
    const key = addrKey(addr);
    if (!this.dad) {
      this.advertise(addr);
      return;
    }
    this.tentative.add(key);
    // RFC 4862 5.4.2: one NS from :: to the solicited-node group, then wait RetransTimer.
    this.sendNdp(UNSPECIFIED6, solicitedNode(addr), multicastMac(solicitedNode(addr)), { type: NdpType.NEIGHBOR_SOLICIT, flags: 0, target: addr, lla: null });
    this.clock.schedule(this.clock.now() + this.cache.timings.retransMs, () => {
      if (this.closed || !this.tentative.delete(key) || this.duplicated.has(key)) return;
      this.advertise(addr);
    });
  }

  /** The neighbour cache, for tools and tests. */
  neighbours(): readonly NeighbourEntry[] {
    return this.cache.list();
  }

  /** True while `addr` is under DAD or was found duplicated. */
  isTentative(addr: Uint8Array): boolean {
    return this.tentative.has(addrKey(addr)) || this.duplicated.has(addrKey(addr));
  }

  send(packet: Uint8Array): void {
    if (this.closed || packet.length < 20) return;
    if (packet[0]! >>> 4 === 4) {
      const dst = packet.subarray(16, 20);
      if (this.isBroadcast4(dst)) this.transmit(BROADCAST_MAC, EtherType.IPV4, packet);
      else if ((dst[0]! & 0xf0) === 0xe0) this.transmit(multicastMac(dst), EtherType.IPV4, packet);
      else this.cache.send(this.nextHop(dst, this.gateway4), packet);
    } else if (packet.length >= 40) {
      // RFC 4862 5.4: a tentative address is not yet assigned, so nothing leaves from it (the
      // Stack picks no tentative source; this also stops one given explicitly).
      if (this.tentative.size + this.duplicated.size > 0 && this.isTentative(packet.subarray(8, 24))) {
        this.stats.tentativeDrops++;
        return;
      }
      const dst = packet.subarray(24, 40);
      if (dst[0] === 0xff) this.transmit(multicastMac(dst), EtherType.IPV6, packet);
      else this.cache.send(this.nextHop(dst, this.gateway6), packet);
    }
  }

  /** Link.sendOwned: as send(); the packet is recycled once copied into its frame (ownedPacket). */
  sendOwned(packet: Uint8Array): void {
    this.ownedPacket = packet;
    this.send(packet);
    this.ownedPacket = null;
  }

  /**
   * Link.sendTcpOffload: routed as send() is; its frame goes to the frame link's sendTcpOffload, so
   * the far side finishes the checksum and, for gsoSize > 0, cuts the packet (offsets in the
   * virtio_net_hdr count the Ethernet header: native/tun.c build_vnet_hdr). `owned` as sendOwned.
   */
  sendTcpOffload(packet: Uint8Array, gsoSize: number, owned?: boolean): void {
    if (this.offload === null) throw new Error('sendTcpOffload on an Ethernet interface whose frame link has no offloads');
    this.offloadPacket = packet;
    this.offloadGso = gsoSize;
    if (owned === true) this.ownedPacket = packet;
    this.send(packet);
    this.ownedPacket = null;
    // Not transmitted yet (the next hop is being resolved, or the packet was dropped): remember its
    // gsoSize for when the neighbour cache lets it go; it was built with a partial checksum.
    if (this.offloadPacket !== null) this.queuedGso.set(packet, gsoSize);
    this.offloadPacket = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    this.onReceive = null;
    this.frames.close();
  }

  // --- input ------------------------------------------------------------------------------------

  private input(frame: Uint8Array, rx?: number): unknown {
    if (this.closed) return undefined;
    const r = parseEthernet(frame);
    if (!r.ok || macEquals(r.value.src, this.mac) || !(macEquals(r.value.dst, this.mac) || isGroupMac(r.value.dst))) {
      this.stats.framesIgnored++;
      return undefined;
    }
    this.stats.framesIn++;
    const { src, etherType, payload } = r.value;
    switch (etherType) {
      case EtherType.ARP:
        this.arpInput(payload);
        return undefined;
      case EtherType.IPV4: {
        // Strip Ethernet padding: a short packet arrives in a 60-byte frame.
        if (payload.length < 20) break;
        const total = read16(payload, 2);
        const pkt = total >= 20 && total < payload.length ? payload.subarray(0, total) : payload;
        if (this.dhcp !== null && this.dhcpInput(pkt)) return undefined;
        return this.deliver(pkt, rx);
      }
      case EtherType.IPV6: {
        if (payload.length < 40) break;
        const total = 40 + read16(payload, 4);
        const pkt = total < payload.length ? payload.subarray(0, total) : payload;
        const type = icmpv6TypeOf(pkt);
        if (type >= NdpType.ROUTER_SOLICIT && type <= NdpType.REDIRECT) {
          // Neighbour discovery is ours; router messages are not used (router-less on-link operation).
          if (type === NdpType.NEIGHBOR_SOLICIT || type === NdpType.NEIGHBOR_ADVERT) this.ndpInput(pkt, src);
          return undefined;
        }
        // RFC 4862 5.4: other packets to a tentative address are silently discarded.
        if (this.tentative.size + this.duplicated.size > 0 && this.isTentative(pkt.subarray(24, 40))) {
          this.stats.tentativeDrops++;
          return undefined;
        }
        return this.deliver(pkt, rx);
      }
      default:
        break;
    }
    this.stats.framesIgnored++;
    return undefined;
  }

  /** A UDP datagram to port 67 goes to the DHCP server; returns false for anything else. */
  private dhcpInput(pkt: Uint8Array): boolean {
    const ihl = (pkt[0]! & 0x0f) * 4;
    if (pkt[9] !== UDP_PROTOCOL || pkt.length < ihl + 8 || read16(pkt, ihl + 2) !== DHCP_SERVER_PORT) return false;
    if ((read16(pkt, 6) & 0x3fff) !== 0) return true; // a fragment: DHCP messages fit in one packet
    const src = this.source.addresses.find((a) => a.addr.length === 4);
    const reply = src === undefined ? null : this.dhcp!.handle(pkt.subarray(ihl + 8, Math.min(pkt.length, ihl + read16(pkt, ihl + 4))), this.clock.now());
    if (reply === null || src === undefined) return true;
    const out = buildUdpPacket(src.addr, reply.ip, { srcPort: DHCP_SERVER_PORT, dstPort: DHCP_CLIENT_PORT, payload: reply.payload }, { dontFragment: false });
    this.traceMessage('out', reply.ip, reply.mac, reply.summary);
    this.transmit(reply.mac ?? BROADCAST_MAC, EtherType.IPV4, out);
    return true;
  }

  /** `rx`: the frame link's RX_* flags for the frame (with offloads, the kernel's checksum word). */
  private deliver(pkt: Uint8Array, rx: number | undefined): unknown {
    const cb = this.onReceive;
    if (cb === null) return undefined;
    return rx === undefined || rx === 0 ? cb(pkt) : cb(pkt, rx);
  }

  /** RFC 826's packet reception, merge step first, then the reply to a request for us. */
  private arpInput(payload: Uint8Array): void {
    this.stats.arpIn++;
    const r = parseArp(payload);
    if (!r.ok) {
      this.stats.badNeighbourMessages++;
      return;
    }
    const a = r.value;
    this.traceMessage('in', a.senderIp, a.senderMac, formatArp(payload));
    if (this.isOurs(a.senderIp)) {
      // Someone else uses our address (RFC 5227 2.4): count it; defending is left to the operator.
      this.stats.conflicts++;
      return;
    }
    const forUs = this.isOurs(a.targetIp);
    const probe = a.senderIp.every((b) => b === 0);
    if (!probe && !isGroupMac(a.senderMac)) this.cache.learn(a.senderIp, a.senderMac, a.op === ArpOp.REPLY && forUs, forUs);
    if (a.op === ArpOp.REQUEST && forUs) this.sendArp(ArpOp.REPLY, a.senderMac, a.targetIp, a.senderMac, a.senderIp);
  }

  /** RFC 4861 7.2.3 (NS received), 7.2.5 (NA received) and RFC 4862 5.4.3/5.4.4 (DAD). */
  private ndpInput(pkt: Uint8Array, frameSrc: Uint8Array): void {
    this.stats.ndpIn++;
    const r = parseNdp(pkt);
    if (!r.ok) {
      this.stats.badNeighbourMessages++;
      return;
    }
    const { src, msg } = r.value;
    const key = addrKey(msg.target);
    this.traceMessage('in', msg.type === NdpType.NEIGHBOR_SOLICIT ? src : msg.target, msg.lla ?? frameSrc, formatNdp(pkt) ?? '');
    const unspecified = src.every((b) => b === 0);
    if (msg.type === NdpType.NEIGHBOR_SOLICIT) {
      if (!this.isOurs(msg.target)) return;
      if (this.tentative.has(key)) {
        // Another node probes the address we are probing: it is a duplicate (RFC 4862 5.4.3).
        if (unspecified) this.duplicate(msg.target, frameSrc);
        return;
      }
      if (this.duplicated.has(key)) return;
      if (unspecified) {
        this.advertise(msg.target);
        return;
      }
      if (msg.lla !== null) this.cache.learn(src, msg.lla, false, true);
      this.sendNdp(msg.target, src, msg.lla ?? frameSrc, { type: NdpType.NEIGHBOR_ADVERT, flags: NaFlag.SOLICITED | NaFlag.OVERRIDE, target: msg.target, lla: this.mac });
      return;
    }
    if (this.isOurs(msg.target)) {
      if (this.tentative.has(key)) this.duplicate(msg.target, msg.lla ?? frameSrc);
      else if (msg.lla !== null && !macEquals(msg.lla, this.mac)) this.stats.conflicts++;
      return;
    }
    if (msg.lla === null) return;
    const known = this.cache.get(msg.target);
    // Without the override flag an NA does not replace a link-layer address we already have.
    if ((msg.flags & NaFlag.OVERRIDE) === 0 && known?.mac != null && !macEquals(known.mac, msg.lla)) return;
    this.cache.learn(msg.target, msg.lla, (msg.flags & NaFlag.SOLICITED) !== 0, false);
  }

  private duplicate(addr: Uint8Array, mac: Uint8Array): void {
    const key = addrKey(addr);
    this.tentative.delete(key);
    this.duplicated.add(key);
    this.stats.conflicts++;
    this.traceMessage('cache', addr, mac, `DAD failed: ${formatIp(addr)} is in use by ${formatMac(mac)}`);
    this.onDuplicate?.(formatIp(addr), formatMac(mac));
  }

  // --- output -----------------------------------------------------------------------------------

  private transmit(to: Uint8Array, etherType: number, payload: Uint8Array): void {
    if (this.closed) return;
    this.stats.framesOut++;
    // A frame the frame link may recycle comes from the packet allocator's recycled buffers (a
    // TAP link hands each back once written): a bulk transfer then frames its 64 KiB super-packets
    // without a fresh buffer each (issue 20).
    const n = frameLength(payload.length);
    const frame = writeFrame(this.framesRecycle ? takePacket(n) : new Uint8Array(n), to, this.mac, etherType, payload);
    if (payload === this.ownedPacket) {
      this.ownedPacket = null;
      recyclePacket(payload);
    }
    let gso = -1;
    if (payload === this.offloadPacket) {
      gso = this.offloadGso;
      this.offloadPacket = null;
    } else if (this.offload !== null) {
      gso = this.queuedGso.get(payload) ?? -1;
      if (gso >= 0) this.queuedGso.delete(payload);
    }
    if (gso >= 0) this.frames.sendTcpOffload!(frame, gso, this.framesRecycle);
    else if (this.framesRecycle) this.frames.sendOwned!(frame);
    else this.frames.send(frame);
  }

  private sendArp(op: number, to: Uint8Array, senderIp: Uint8Array, targetMac: Uint8Array, targetIp: Uint8Array): void {
    const payload = emitArp({ op, senderMac: this.mac, senderIp, targetMac, targetIp });
    this.stats.arpOut++;
    this.traceMessage('out', targetIp, isGroupMac(to) ? null : to, formatArp(payload));
    this.transmit(to, EtherType.ARP, payload);
  }

  private sendNdp(src: Uint8Array, dst: Uint8Array, to: Uint8Array, msg: Parameters<typeof buildNdp>[2]): void {
    const pkt = buildNdp(src, dst, msg);
    this.stats.ndpOut++;
    this.traceMessage('out', msg.target, isGroupMac(to) ? null : to, formatNdp(pkt) ?? '');
    this.transmit(to, EtherType.IPV6, pkt);
  }

  /** An unsolicited NA to all nodes with the override flag (RFC 4861 7.2.6), after DAD or to answer one. */
  private advertise(addr: Uint8Array): void {
    this.sendNdp(addr, ALL_NODES, multicastMac(ALL_NODES), { type: NdpType.NEIGHBOR_ADVERT, flags: NaFlag.OVERRIDE, target: addr, lla: this.mac });
  }

  /** Called by the cache: an ARP request or an NS for `ip`, broadcast/multicast or unicast to `to`. */
  private solicit(ip: Uint8Array, to: Uint8Array | null): void {
    const own = this.sourceFor(ip);
    if (own === null) return;
    if (ip.length === 4) {
      this.sendArp(ArpOp.REQUEST, to ?? BROADCAST_MAC, own, ZERO_MAC, ip);
      return;
    }
    const group = solicitedNode(ip);
    this.sendNdp(own, to === null ? group : ip, to ?? multicastMac(group), { type: NdpType.NEIGHBOR_SOLICIT, flags: 0, target: ip, lla: this.mac });
  }

  // --- addresses --------------------------------------------------------------------------------

  private isOurs(ip: Uint8Array): boolean {
    for (const a of this.source.addresses) if (a.addr.length === ip.length && ipEquals(a.addr, ip)) return true;
    return false;
  }

  /** Our address on `dst`'s prefix, else our first of its family (not a tentative IPv6 one). */
  private sourceFor(dst: Uint8Array): Uint8Array | null {
    let fallback: Uint8Array | null = null;
    for (const a of this.source.addresses) {
      if (a.addr.length !== dst.length || (a.addr.length === 16 && this.isTentative(a.addr))) continue;
      if (inPrefix(dst, a.addr, a.prefix)) return a.addr;
      fallback ??= a.addr;
    }
    return fallback;
  }

  private onLink(dst: Uint8Array): boolean {
    for (const a of this.source.addresses) if (a.addr.length === dst.length && inPrefix(dst, a.addr, a.prefix)) return true;
    return false;
  }

  /** The neighbour to hand `dst` to: itself when on a connected prefix, else the gateway if any. */
  private nextHop(dst: Uint8Array, gateway: Uint8Array | null): Uint8Array {
    return gateway === null || this.onLink(dst) ? dst : gateway;
  }

  /** 255.255.255.255 or the directed broadcast of one of our IPv4 prefixes (below /31). */
  private isBroadcast4(dst: Uint8Array): boolean {
    if (dst[0] === 255 && dst[1] === 255 && dst[2] === 255 && dst[3] === 255) return true;
    for (const a of this.source.addresses) {
      if (a.addr.length !== 4 || a.prefix >= 31 || !inPrefix(dst, a.addr, a.prefix)) continue;
      const host = ((dst[0]! << 24) | (dst[1]! << 16) | (dst[2]! << 8) | dst[3]!) & (0xffffffff >>> a.prefix);
      if (host === 0xffffffff >>> a.prefix) return true;
    }
    return false;
  }

  // --- trace ------------------------------------------------------------------------------------

  private traceMessage(dir: 'in' | 'out' | 'cache', ip: Uint8Array, mac: Uint8Array | null, summary: string): void {
    const cb = this.onTrace;
    if (cb === null) return;
    cb({ type: 'neighbour', t: this.clock.now(), host: this.name, dir, ip: formatIp(ip), mac: mac === null ? null : formatMac(mac), state: dir === 'cache' ? 'FAILED' : summary.split(',')[0] ?? '', summary });
  }

  private traceEntry(e: NeighbourEntry, why: string): void {
    const cb = this.onTrace;
    if (cb === null) return;
    const gone = why === 'resolution failed' || why.startsWith('unreachable');
    const state = gone ? 'FAILED' : e.state;
    cb({ type: 'neighbour', t: this.clock.now(), host: this.name, dir: 'cache', ip: formatIp(e.ip), mac: e.mac === null ? null : formatMac(e.mac), state, summary: `${formatIp(e.ip)} ${state}: ${why}` });
  }
}

function parseGateway(text: string | undefined, len: 4 | 16): Uint8Array | null {
  if (text === undefined) return null;
  const bytes = parseIp(text);
  if (bytes === null || bytes.length !== len) throw new TypeError(`invalid IPv${len === 4 ? 4 : 6} gateway: ${JSON.stringify(text)}`);
  return bytes;
}
