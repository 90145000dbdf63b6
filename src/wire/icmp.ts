// ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) messages: echo, destination unreachable, packet too big
// (RFC 1191 section 4 for IPv4's "fragmentation needed"), time exceeded, with the quoted original
// header exposed and parsed by parseQuoted (RFC 792 / RFC 4443 section 3: as much as fits).
import { onesSum, foldChecksum, pseudoHeaderSum, read16, read32, write16, write32 } from './bytes.js';
import { type Parsed, ok, fail } from './result.js';

export const ICMPV4_PROTOCOL = 1;
export const ICMPV6_PROTOCOL = 58;

/** One ICMP message as plain data, shared by v4 and v6. `quoted` starts at the original IP header. */
export type IcmpRepr =
  | { kind: 'echo-request' | 'echo-reply'; id: number; seq: number; data: Uint8Array }
  | { kind: 'dst-unreachable'; code: number; quoted: Uint8Array }
  | { kind: 'packet-too-big'; mtu: number; quoted: Uint8Array }
  | { kind: 'time-exceeded'; code: number; quoted: Uint8Array }
  | { kind: 'other'; type: number; code: number; body: Uint8Array };
export type Icmpv4Repr = IcmpRepr;
export type Icmpv6Repr = IcmpRepr;

/** ICMPv4 types and the v4 unreachable codes used here (RFC 792, RFC 1191). */
export const Icmpv4Type = { ECHO_REPLY: 0, DST_UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 } as const;
export const Icmpv4Unreachable = { NET: 0, HOST: 1, PROTOCOL: 2, PORT: 3, FRAG_NEEDED: 4, ADMIN: 13 } as const;
/** ICMPv6 types (RFC 4443 section 2.1). */
export const Icmpv6Type = { DST_UNREACHABLE: 1, PACKET_TOO_BIG: 2, TIME_EXCEEDED: 3, PARAM_PROBLEM: 4, ECHO_REQUEST: 128, ECHO_REPLY: 129 } as const;

const HEADER = 8;

/** Getters over the common 4-byte ICMP header and the 4 bytes after it. */
export class IcmpView {
  constructor(readonly buf: Uint8Array) {}
  static check(buf: Uint8Array): IcmpView | null {
    return buf.length >= HEADER ? new IcmpView(buf) : null;
  }
  get type(): number {
    return this.buf[0]!;
  }
  set type(v: number) {
    this.buf[0] = v;
  }
  get code(): number {
    return this.buf[1]!;
  }
  set code(v: number) {
    this.buf[1] = v;
  }
  get checksum(): number {
    return read16(this.buf, 2);
  }
  set checksum(v: number) {
    write16(this.buf, 2, v);
  }
  /** Bytes 4..7: echo id/seq, MTU, or unused, depending on type. */
  get rest(): number {
    return read32(this.buf, 4);
  }
  set rest(v: number) {
    write32(this.buf, 4, v);
  }
}

function parseBody(msg: Uint8Array, v6: boolean): Parsed<IcmpRepr> {
  const type = msg[0]!;
  const code = msg[1]!;
  const t = v6
    ? { echoReq: 128, echoRep: 129, unreach: 1, tooBig: 2, exceeded: 3 }
    : { echoReq: 8, echoRep: 0, unreach: 3, tooBig: -1, exceeded: 11 };
  const needs8 = type === t.echoReq || type === t.echoRep || type === t.unreach || type === t.tooBig || type === t.exceeded;
  if (needs8 && msg.length < HEADER) return fail('truncated', `ICMP type ${type} needs 8 bytes, have ${msg.length}`);
  if (type === t.echoReq || type === t.echoRep) {
    return ok({ kind: type === t.echoReq ? 'echo-request' : 'echo-reply', id: read16(msg, 4), seq: read16(msg, 6), data: msg.subarray(HEADER) });
  }
  if (type === t.unreach) {
    if (!v6 && code === Icmpv4Unreachable.FRAG_NEEDED) return ok({ kind: 'packet-too-big', mtu: read16(msg, 6), quoted: msg.subarray(HEADER) });
    return ok({ kind: 'dst-unreachable', code, quoted: msg.subarray(HEADER) });
  }
  if (type === t.tooBig) return ok({ kind: 'packet-too-big', mtu: read32(msg, 4), quoted: msg.subarray(HEADER) });
  if (type === t.exceeded) return ok({ kind: 'time-exceeded', code, quoted: msg.subarray(HEADER) });
  return ok({ kind: 'other', type, code, body: msg.subarray(4) });
}

/** Parse an ICMPv4 message (checksum always verified); never throws. */
export function parseIcmpv4(msg: Uint8Array): Parsed<IcmpRepr> {
  if (msg.length < 4) return fail('truncated', `ICMP header needs 4 bytes, have ${msg.length}`);
  if (foldChecksum(onesSum(msg, 0, msg.length)) !== 0) return fail('bad-checksum', 'ICMP checksum does not verify');
  return parseBody(msg, false);
}

/** Parse an ICMPv6 message; the checksum covers the IPv6 pseudo-header (RFC 4443 2.3). Never throws. */
export function parseIcmpv6(msg: Uint8Array, pseudo: { src: Uint8Array; dst: Uint8Array }): Parsed<IcmpRepr> {
  if (msg.length < 4) return fail('truncated', `ICMPv6 header needs 4 bytes, have ${msg.length}`);
  const sum = onesSum(msg, 0, msg.length, pseudoHeaderSum(pseudo.src, pseudo.dst, ICMPV6_PROTOCOL, msg.length));
  if (foldChecksum(sum) !== 0) return fail('bad-checksum', 'ICMPv6 checksum does not verify');
  return parseBody(msg, true);
}

/** Bytes emitIcmpv4 / emitIcmpv6 write for this repr. */
export function icmpLength(repr: IcmpRepr): number {
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      return HEADER + repr.data.length;
    case 'other':
      return 4 + repr.body.length;
    default:
      return HEADER + repr.quoted.length;
  }
}

function emitBody(repr: IcmpRepr, out: Uint8Array, v6: boolean): number {
  write16(out, 2, 0);
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      out[0] = repr.kind === 'echo-request' ? (v6 ? 128 : 8) : v6 ? 129 : 0;
      out[1] = 0;
      write16(out, 4, repr.id);
      write16(out, 6, repr.seq);
      out.set(repr.data, HEADER);
      return HEADER + repr.data.length;
    case 'dst-unreachable':
    case 'time-exceeded':
      out[0] = repr.kind === 'dst-unreachable' ? (v6 ? 1 : 3) : v6 ? 3 : 11;
      out[1] = repr.code;
      write32(out, 4, 0);
      out.set(repr.quoted, HEADER);
      return HEADER + repr.quoted.length;
    case 'packet-too-big':
      if (v6) {
        out[0] = 2;
        out[1] = 0;
        write32(out, 4, repr.mtu);
      } else {
        out[0] = 3;
        out[1] = Icmpv4Unreachable.FRAG_NEEDED;
        write16(out, 4, 0);
        write16(out, 6, repr.mtu);
      }
      out.set(repr.quoted, HEADER);
      return HEADER + repr.quoted.length;
    case 'other':
      out[0] = repr.type;
      out[1] = repr.code;
      out.set(repr.body, 4);
      return 4 + repr.body.length;
  }
}

/** Write an ICMPv4 message with checksum at out[0..]; returns the bytes written. */
export function emitIcmpv4(repr: IcmpRepr, out: Uint8Array): number {
  const n = emitBody(repr, out, false);
  write16(out, 2, foldChecksum(onesSum(out, 0, n)));
  return n;
}

/** Write an ICMPv6 message with pseudo-header checksum at out[0..]; returns the bytes written. */
export function emitIcmpv6(repr: IcmpRepr, out: Uint8Array, src: Uint8Array, dst: Uint8Array): number {
  const n = emitBody(repr, out, true);
  write16(out, 2, foldChecksum(onesSum(out, 0, n, pseudoHeaderSum(src, dst, ICMPV6_PROTOCOL, n))));
  return n;
}

/** What an ICMP error says about the packet that caused it. */
export interface QuotedPacket {
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  /** TCP/UDP ports (the first two 16-bit words of other upper layers); for a quoted ICMP echo, its id twice. */
  srcPort: number;
  dstPort: number;
  /** TCP sequence number, when the quote is TCP and long enough (RFC 5927 checks use it). */
  seq?: number;
}

/**
 * Parse the original datagram an ICMP error quotes: an IPv4 or IPv6 header (lengths are not
 * checked against the quote, which is usually cut short) and at least 4 bytes of upper layer.
 */
export function parseQuoted(quoted: Uint8Array): Parsed<QuotedPacket> {
  if (quoted.length < 1) return fail('truncated', 'empty quote');
  const version = quoted[0]! >>> 4;
  let src: Uint8Array;
  let dst: Uint8Array;
  let protocol: number;
  let off: number;
  if (version === 4) {
    if (quoted.length < 20) return fail('truncated', 'quoted IPv4 header truncated');
    off = (quoted[0]! & 0x0f) * 4;
    if (off < 20) return fail('bad-header-length', 'quoted IPv4 IHL below 5');
    src = quoted.subarray(12, 16);
    dst = quoted.subarray(16, 20);
    protocol = quoted[9]!;
  } else if (version === 6) {
    if (quoted.length < 40) return fail('truncated', 'quoted IPv6 header truncated');
    src = quoted.subarray(8, 24);
    dst = quoted.subarray(24, 40);
    protocol = quoted[6]!;
    off = 40;
    // Walk the common extension headers that fit in the quote.
    for (let guard = 0; guard < 16; guard++) {
      if (protocol === 0 || protocol === 43 || protocol === 60) {
        if (off + 2 > quoted.length) return fail('truncated', 'quoted extension header truncated');
        const len = (quoted[off + 1]! + 1) * 8;
        protocol = quoted[off]!;
        off += len;
      } else if (protocol === 44) {
        if (off + 8 > quoted.length) return fail('truncated', 'quoted fragment header truncated');
        protocol = quoted[off]!;
        off += 8;
      } else break;
    }
  } else {
    return fail('bad-version', `quoted IP version ${version}`);
  }
  if (off + 4 > quoted.length) return fail('truncated', 'quote ends before the upper-layer ports');
  const q: QuotedPacket = { src, dst, protocol, srcPort: read16(quoted, off), dstPort: read16(quoted, off + 2) };
  const echo = (protocol === ICMPV4_PROTOCOL && (quoted[off] === 8 || quoted[off] === 0)) || (protocol === ICMPV6_PROTOCOL && (quoted[off] === 128 || quoted[off] === 129));
  if (echo && off + 6 <= quoted.length) q.srcPort = q.dstPort = read16(quoted, off + 4);
  if (protocol === 6 && off + 8 <= quoted.length) q.seq = read32(quoted, off + 4);
  return ok(q);
}
