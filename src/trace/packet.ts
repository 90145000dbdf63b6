// One captured IP packet carrying TCP, seen as a ladder segment event (RFC 9293 section 3.1 header
// fields): the one place a packet becomes a SegmentEvent, for the demo world and for --watch.
import { parseIpPacket } from '../wire/packet.js';
import { parseTcp, tcpFlagsToString, formatTcpOptions, type TcpRepr } from '../wire/tcp.js';
import { formatIp } from '../wire/address.js';
import type { SegmentEvent } from './events.js';

/** A packet parsed down to its TCP segment, with the addresses it travels between. */
export interface TcpOfPacket {
  seg: TcpRepr;
  src: Uint8Array;
  dst: Uint8Array;
}

/** The TCP segment inside an IPv4/IPv6 packet, or null for anything else (or anything malformed). */
export function tcpOfPacket(packet: Uint8Array): TcpOfPacket | null {
  const ip = parseIpPacket(packet);
  if (!ip.ok || ip.value.protocol !== 6) return null;
  const t = parseTcp(ip.value.payload);
  return t.ok ? { seg: t.value, src: ip.value.src, dst: ip.value.dst } : null;
}

/** "198.18.0.1:40000>198.18.0.2:80", the sender's side first: the form a stack's state events carry. */
export function connLabelOf(p: TcpOfPacket): string {
  return `${formatIp(p.src)}:${p.seg.srcPort}>${formatIp(p.dst)}:${p.seg.dstPort}`;
}

/** The segment event for a parsed packet sent by `from` to `to` at time `t` (no conn, note or marks). */
export function segmentEventOf(p: TcpOfPacket, t: number, from: string, to: string, lost: boolean): SegmentEvent {
  const { seg } = p;
  const e: SegmentEvent = {
    type: 'segment',
    t,
    from,
    to,
    flags: tcpFlagsToString(seg.flags),
    seq: seg.seq,
    ack: seg.ack,
    len: seg.payload.length,
    win: seg.window,
    lost,
  };
  const opts = formatTcpOptions(seg.options);
  if (opts) e.options = opts;
  return e;
}
