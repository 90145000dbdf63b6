// IPv6 neighbour discovery messages (RFC 4861 section 4.3 Neighbor Solicitation, 4.4 Neighbor
// Advertisement, 4.6.1 link-layer address options) and the solicited-node multicast address
// (RFC 4291 section 2.7.1): parse and build whole IPv6 packets, validated as RFC 4861 7.1.1/7.1.2 say.
import { read32, write32 } from '../wire/bytes.js';
import { parseIcmpv6, ICMPV6_PROTOCOL } from '../wire/icmp.js';
import { IPV6_HEADER } from '../wire/ipv6.js';
import { buildIcmpPacket } from '../wire/packet.js';
import { type Parsed, ok, fail } from '../wire/result.js';

export const NdpType = { ROUTER_SOLICIT: 133, ROUTER_ADVERT: 134, NEIGHBOR_SOLICIT: 135, NEIGHBOR_ADVERT: 136, REDIRECT: 137 } as const;
const OPT_SOURCE_LLA = 1;
const OPT_TARGET_LLA = 2;
/** NA flags (RFC 4861 4.4): Router, Solicited, Override. */
export const NaFlag = { ROUTER: 0x80000000, SOLICITED: 0x40000000, OVERRIDE: 0x20000000 } as const;

export const ALL_NODES: Uint8Array = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
export const UNSPECIFIED6: Uint8Array = new Uint8Array(16);

/** ff02::1:ffXX:XXXX, the group every holder of `addr` listens on. */
export function solicitedNode(addr: Uint8Array): Uint8Array {
  return new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, addr[13]!, addr[14]!, addr[15]!]);
}

export interface NdpRepr {
  type: typeof NdpType.NEIGHBOR_SOLICIT | typeof NdpType.NEIGHBOR_ADVERT;
  /** NA flags (0 for NS). */
  flags: number;
  target: Uint8Array;
  /** Source (NS) or target (NA) link-layer address option, when present. */
  lla: Uint8Array | null;
}

/** An NS or NA found in an IPv6 packet, with the IP addresses it came with. */
export interface NdpPacket {
  src: Uint8Array;
  dst: Uint8Array;
  msg: NdpRepr;
}

/**
 * If `pkt` is an IPv6 packet carrying ICMPv6 directly (no extension headers), returns its ICMPv6
 * type, else -1. Neighbour discovery messages carry no extension headers in practice (an NS behind
 * one goes up to the stack, which ignores it).
 */
export function icmpv6TypeOf(pkt: Uint8Array): number {
  if (pkt.length < IPV6_HEADER + 4 || pkt[6] !== ICMPV6_PROTOCOL) return -1;
  return pkt[IPV6_HEADER]!;
}

/**
 * Parse an NS or NA carried in a whole IPv6 packet. RFC 4861 7.1.1/7.1.2 validity: hop limit 255
 * (so it cannot have come through a router), checksum, code 0, ICMP length >= 24, target not
 * multicast, option lengths non-zero; an NS from :: has no source link-layer option and goes to a
 * solicited-node group.
 */
export function parseNdp(pkt: Uint8Array): Parsed<NdpPacket> {
  if (pkt.length < IPV6_HEADER + 24) return fail('truncated', 'neighbour discovery message too short');
  if (pkt[7] !== 255) return fail('malformed', `hop limit ${pkt[7]}, not 255`);
  const payloadLength = (pkt[4]! << 8) | pkt[5]!;
  if (IPV6_HEADER + payloadLength > pkt.length) return fail('bad-total-length', 'IPv6 payload length beyond the packet');
  const src = pkt.subarray(8, 24);
  const dst = pkt.subarray(24, 40);
  const body = pkt.subarray(IPV6_HEADER, IPV6_HEADER + payloadLength);
  const icmp = parseIcmpv6(body, { src, dst });
  if (!icmp.ok) return icmp;
  const type = body[0]!;
  if (type !== NdpType.NEIGHBOR_SOLICIT && type !== NdpType.NEIGHBOR_ADVERT) return fail('unsupported', `ICMPv6 type ${type}`);
  if (body[1] !== 0) return fail('malformed', `code ${body[1]}`);
  if (body.length < 24) return fail('truncated', 'NS/NA shorter than 24 bytes');
  const target = body.subarray(8, 24);
  if (target[0] === 0xff) return fail('malformed', 'multicast target');
  let lla: Uint8Array | null = null;
  for (let at = 24; at < body.length; ) {
    if (at + 2 > body.length) return fail('bad-option', 'truncated option');
    const len = body[at + 1]! * 8;
    if (len === 0 || at + len > body.length) return fail('bad-option', 'option length 0 or beyond the message');
    const kind = body[at]!;
    if (len >= 8 && (kind === (type === NdpType.NEIGHBOR_SOLICIT ? OPT_SOURCE_LLA : OPT_TARGET_LLA))) lla = body.subarray(at + 2, at + 8);
    at += len;
  }
  const unspecified = src.every((b) => b === 0);
  if (type === NdpType.NEIGHBOR_SOLICIT && unspecified && (lla !== null || dst[0] !== 0xff)) {
    return fail('malformed', 'DAD probe with a link-layer option or to a unicast address');
  }
  const flags = type === NdpType.NEIGHBOR_ADVERT ? read32(body, 4) & 0xe0000000 : 0;
  if (type === NdpType.NEIGHBOR_ADVERT && dst[0] === 0xff && (flags & NaFlag.SOLICITED) !== 0) {
    return fail('malformed', 'solicited NA to a multicast address');
  }
  return ok({ src, dst, msg: { type, flags, target, lla } });
}

/** A whole IPv6 packet (hop limit 255) carrying this NS or NA, with its link-layer option if given. */
export function buildNdp(src: Uint8Array, dst: Uint8Array, msg: NdpRepr): Uint8Array {
  const body = new Uint8Array(20 + (msg.lla === null ? 0 : 8));
  write32(body, 0, msg.flags >>> 0);
  body.set(msg.target, 4);
  if (msg.lla !== null) {
    body[20] = msg.type === NdpType.NEIGHBOR_SOLICIT ? OPT_SOURCE_LLA : OPT_TARGET_LLA;
    body[21] = 1;
    body.set(msg.lla.subarray(0, 6), 22);
  }
  return buildIcmpPacket(src, dst, { kind: 'other', type: msg.type, code: 0, body }, { ttl: 255 });
}
