// Whole-packet convenience over ipv4/ipv6 and the upper layers: parse any IP packet to a common
// shape, and build complete TCP/UDP/ICMP packets (IPv4 or IPv6 chosen by address length).
import { type Parsed, ok } from './result.js';
import { checkIpv4, emitIpv4, emitIpv4Header, ipv4HeaderLength, IPV4_MIN_HEADER, type Ipv4Repr } from './ipv4.js';
import { parseIpv6, emitIpv6, emitIpv6Header, IPV6_HEADER } from './ipv6.js';
import { type TcpRepr, emitTcp, tcpHeaderLength, TCP_PROTOCOL } from './tcp.js';
import { type UdpRepr, emitUdp, UDP_HEADER, UDP_PROTOCOL } from './udp.js';
import { type IcmpRepr, emitIcmpv4, emitIcmpv6, icmpLength, ICMPV4_PROTOCOL, ICMPV6_PROTOCOL } from './icmp.js';
import { fail } from './result.js';
import { read16 } from './bytes.js';
import { packetArena } from './simd-sum.js';

/** Any IP packet reduced to what demultiplexing needs. */
export interface IpPacket {
  version: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  /** Upper-layer protocol (after IPv6 extension headers). */
  protocol: number;
  /** TTL or hop limit. */
  ttl: number;
  /** Upper-layer bytes (a subarray of the packet). */
  payload: Uint8Array;
  isFragment: boolean;
  /** Bytes before the payload (IPv4 header with options, or IPv6 header plus extension headers). */
  headerLength: number;
}

/** Parse an IPv4 or IPv6 packet by its version nibble; never throws. */
export function parseIpPacket(pkt: Uint8Array, opts?: { verifyChecksum?: boolean }): Parsed<IpPacket> {
  if (pkt.length === 0) return fail('truncated', 'empty packet');
  const version = pkt[0]! >>> 4;
  if (version === 4) {
    // The same checks as parseIpv4, without building the full header repr (this runs per packet).
    const bad = checkIpv4(pkt, opts?.verifyChecksum !== false);
    if (bad !== null) return bad;
    const hl = (pkt[0]! & 0x0f) * 4;
    const total = read16(pkt, 2);
    return ok({
      version: 4,
      src: pkt.subarray(12, 16),
      dst: pkt.subarray(16, 20),
      protocol: pkt[9]!,
      ttl: pkt[8]!,
      payload: pkt.subarray(hl, total),
      isFragment: (read16(pkt, 6) & 0x3fff) !== 0, // MF set or a non-zero offset
      headerLength: hl,
    });
  }
  if (version === 6) {
    const r = parseIpv6(pkt);
    if (!r.ok) return r;
    const { repr, payload, isFragment, headerLength } = r.value;
    return ok({ version: 6, src: repr.src, dst: repr.dst, protocol: repr.nextHeader, ttl: repr.hopLimit, payload, isFragment, headerLength });
  }
  return fail('bad-version', `IP version ${version}`);
}

/** IP header fields a builder may override. */
export interface BuildOptions {
  /** TTL / hop limit (default 64). */
  ttl?: number;
  /** IPv4 identification (default 0). */
  ident?: number;
  /** IPv4 DF (default true, as Linux sets for TCP with PMTU discovery). */
  dontFragment?: boolean;
  /** IPv4 TOS / IPv6 traffic class (default 0). */
  tos?: number;
  /** IPv6 flow label (default 0). */
  flowLabel?: number;
  /**
   * TCP only: leave the checksum field holding the pseudo-header sum, for a link whose far side
   * finishes it (checksum offload: virtio's NEEDS_CSUM, Linux's CHECKSUM_PARTIAL). Default false.
   */
  partialChecksum?: boolean;
}

/**
 * Packet storage: small packets are carved from a shared slab at 8-byte-aligned offsets, so building
 * one costs a view instead of a fresh ArrayBuffer (whose allocation and collection dominated the
 * per-packet cost). Slab bytes are handed out once and never reused, so a packet stays valid for as
 * long as anyone holds it (the Link contract lets links keep what they are given); a slab is freed
 * when its last packet is. Aligned payloads also let the checksum sum 32-bit words directly.
 */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX_PACKET = 16 * 1024;
let slab = new Uint8Array(0);
let slabAt = 0;

/**
 * A zero-filled buffer of `n` bytes for a packet: from the checksum kernel's arena while it lasts
 * (wire/simd-sum.ts packetArena: summed in place, no copy), else from the slab when small.
 */
export function allocPacket(n: number): Uint8Array {
  if (n > SLAB_MAX_PACKET) return new Uint8Array(n);
  const a = packetArena(n);
  if (a !== null) return a;
  if (slabAt + n > slab.length) {
    slab = new Uint8Array(SLAB_SIZE);
    slabAt = 0;
  }
  const p = slab.subarray(slabAt, slabAt + n);
  slabAt = (slabAt + n + 7) & ~7;
  return p;
}

/**
 * Packets handed back by a link after delivery (Link.sendOwned), by exact length: bulk transfers
 * send runs of equal-sized segments and ACKs, so the next packet of that size reuses the buffer
 * instead of allocating (fresh ArrayBuffer memory costs more per byte than copying into it).
 * Bounded; only the TCP builder (openTcpPacket) takes from it, and every byte is written over.
 */
const recycled = new Map<number, Uint8Array[]>();
/** Enough for a full 256 KiB window of segments in flight plus their ACKs. */
const RECYCLE_MAX_BYTES = 4 * 1024 * 1024;
const RECYCLE_MAX_SIZES = 64;
/** Per size: small packets (ACKs) must not pile up thousands of views either. */
const RECYCLE_MAX_PER_SIZE = 512;
let recycledBytes = 0;

/** Give a delivered packet's buffer back for reuse; the caller guarantees nobody holds it or a view of it. */
export function recyclePacket(p: Uint8Array): void {
  const n = p.length;
  if (recycledBytes + n > RECYCLE_MAX_BYTES) return;
  let list = recycled.get(n);
  if (list === undefined) {
    if (recycled.size >= RECYCLE_MAX_SIZES) {
      recycled.clear();
      recycledBytes = 0;
    }
    recycled.set(n, (list = []));
  }
  if (list.length >= RECYCLE_MAX_PER_SIZE) return;
  list.push(p);
  recycledBytes += n;
}

/**
 * A buffer of `n` bytes with unspecified contents: a recycled one, else a fresh one. The caller
 * writes every byte (the TCP builder; an Ethernet interface framing a packet it then gives away).
 */
export function takePacket(n: number): Uint8Array {
  const p = recycled.get(n)?.pop();
  if (p === undefined) return allocPacket(n);
  recycledBytes -= n;
  return p;
}

function build(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  upperLength: number,
  opts: BuildOptions | undefined,
  emitUpper: (out: Uint8Array) => void,
): Uint8Array {
  if (src.length === 16 && dst.length === 16) {
    const pkt = allocPacket(IPV6_HEADER + upperLength);
    emitIpv6(
      { src, dst, nextHeader: protocol, hopLimit: opts?.ttl ?? 64, trafficClass: opts?.tos ?? 0, flowLabel: opts?.flowLabel ?? 0, payloadLength: upperLength },
      pkt,
    );
    emitUpper(pkt.subarray(IPV6_HEADER));
    return pkt;
  }
  if (src.length !== 4 || dst.length !== 4) throw new RangeError('addresses must both be 4 or both be 16 bytes');
  const ip: Ipv4Repr = {
    src,
    dst,
    protocol,
    ttl: opts?.ttl ?? 64,
    tos: opts?.tos ?? 0,
    ident: opts?.ident ?? 0,
    dontFragment: opts?.dontFragment ?? true,
    moreFragments: false,
    fragmentOffset: 0,
    options: new Uint8Array(0),
    payloadLength: upperLength,
  };
  const hl = ipv4HeaderLength(ip);
  const pkt = allocPacket(hl + upperLength);
  emitIpv4(ip, pkt);
  emitUpper(pkt.subarray(hl));
  return pkt;
}

/** A complete IPv4 or IPv6 packet carrying this TCP segment. Throws RangeError on mixed address families. */
export function buildTcpPacket(src: Uint8Array, dst: Uint8Array, repr: TcpRepr, opts?: BuildOptions): Uint8Array {
  const pkt = openTcpPacket(src, dst, tcpHeaderLength(repr) + repr.payload.length, opts);
  emitTcp(repr, pkt, src, dst, tcpSegmentOffset(src), opts?.partialChecksum === true);
  return pkt;
}

/** Where openTcpPacket's segment starts: after an option-less IPv4 header, or the IPv6 header. */
export function tcpSegmentOffset(src: Uint8Array): number {
  return src.length === 16 ? IPV6_HEADER : IPV4_MIN_HEADER;
}

/**
 * An IPv4 or IPv6 packet for a TCP segment of `segLen` bytes, its IP header written (IPv4: DF set
 * unless `opts.dontFragment` is false) and the segment's bytes left for the caller to write at
 * tcpSegmentOffset(src), every one of them: the buffer may be a recycled one. buildTcpPacket's
 * path, and the TCP fast path's (tcp/output.ts SegmentPackets) that writes the segment in place.
 * Throws RangeError on mixed address families.
 */
export function openTcpPacket(src: Uint8Array, dst: Uint8Array, segLen: number, opts?: BuildOptions): Uint8Array {
  if (src.length === 4 && dst.length === 4) {
    const pkt = takePacket(IPV4_MIN_HEADER + segLen);
    const frag = opts?.dontFragment === false ? 0 : 0x4000;
    emitIpv4Header(pkt, 0, src, dst, TCP_PROTOCOL, segLen, opts?.ttl ?? 64, opts?.tos ?? 0, opts?.ident ?? 0, frag);
    return pkt;
  }
  if (src.length !== 16 || dst.length !== 16) throw new RangeError('addresses must both be 4 or both be 16 bytes');
  const pkt = takePacket(IPV6_HEADER + segLen);
  emitIpv6Header(pkt, 0, src, dst, TCP_PROTOCOL, segLen, opts?.ttl ?? 64, opts?.tos ?? 0, opts?.flowLabel ?? 0);
  return pkt;
}

/** A complete IPv4 or IPv6 packet carrying this UDP datagram. */
export function buildUdpPacket(src: Uint8Array, dst: Uint8Array, repr: UdpRepr, opts?: BuildOptions): Uint8Array {
  return build(src, dst, UDP_PROTOCOL, UDP_HEADER + repr.payload.length, opts, (out) => emitUdp(repr, out, src, dst));
}

/** A complete ICMPv4 (4-byte addresses) or ICMPv6 (16-byte addresses) packet. */
export function buildIcmpPacket(src: Uint8Array, dst: Uint8Array, repr: IcmpRepr, opts?: BuildOptions): Uint8Array {
  const v6 = src.length === 16;
  return build(src, dst, v6 ? ICMPV6_PROTOCOL : ICMPV4_PROTOCOL, icmpLength(repr), opts, (out) => {
    if (v6) emitIcmpv6(repr, out, src, dst);
    else emitIcmpv4(repr, out);
  });
}
