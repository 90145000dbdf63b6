// The IPv6 header (RFC 8200 section 3) and the walk over its extension headers (RFC 8200 section 4)
// to the upper-layer header: a view, a plain repr, parse and emit (40-byte header, no extensions).
import { read16, read32, write16 } from './bytes.js';
import { type Parsed, ok, fail } from './result.js';

export const IPV6_HEADER = 40;

/** Next-header values of extension headers this parser walks over. */
export const Ipv6Ext = {
  HOP_BY_HOP: 0,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  NO_NEXT: 59,
  DEST_OPTS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

/**
 * An IPv6 header as plain data. After parsing, `nextHeader` is the upper-layer protocol reached by
 * walking the extension headers and `payloadLength` is the upper-layer length, so emitting the repr
 * gives the equivalent packet without extension headers.
 */
export interface Ipv6Repr {
  src: Uint8Array;
  dst: Uint8Array;
  nextHeader: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
}

/** Getters and setters over a fixed IPv6 header in place. */
export class Ipv6View {
  constructor(readonly buf: Uint8Array) {}

  static check(buf: Uint8Array): Ipv6View | null {
    return buf.length >= IPV6_HEADER ? new Ipv6View(buf) : null;
  }
  get version(): number {
    return this.buf[0]! >>> 4;
  }
  get trafficClass(): number {
    return ((this.buf[0]! & 0x0f) << 4) | (this.buf[1]! >>> 4);
  }
  set trafficClass(v: number) {
    this.buf[0] = (this.buf[0]! & 0xf0) | ((v >>> 4) & 0x0f);
    this.buf[1] = ((v & 0x0f) << 4) | (this.buf[1]! & 0x0f);
  }
  get flowLabel(): number {
    return ((this.buf[1]! & 0x0f) << 16) | read16(this.buf, 2);
  }
  set flowLabel(v: number) {
    this.buf[1] = (this.buf[1]! & 0xf0) | ((v >>> 16) & 0x0f);
    write16(this.buf, 2, v & 0xffff);
  }
  get payloadLength(): number {
    return read16(this.buf, 4);
  }
  set payloadLength(v: number) {
    write16(this.buf, 4, v);
  }
  get nextHeader(): number {
    return this.buf[6]!;
  }
  set nextHeader(v: number) {
    this.buf[6] = v;
  }
  get hopLimit(): number {
    return this.buf[7]!;
  }
  set hopLimit(v: number) {
    this.buf[7] = v;
  }
  get src(): Uint8Array {
    return this.buf.subarray(8, 24);
  }
  set src(a: Uint8Array) {
    this.buf.set(a.subarray(0, 16), 8);
  }
  get dst(): Uint8Array {
    return this.buf.subarray(24, 40);
  }
  set dst(a: Uint8Array) {
    this.buf.set(a.subarray(0, 16), 24);
  }
}

export interface ParsedIpv6 {
  repr: Ipv6Repr;
  /** Upper-layer data (after all extension headers), up to the payload length. */
  payload: Uint8Array;
  /** True when a Fragment header is present (RFC 8200 4.5), even an atomic one. */
  isFragment: boolean;
  /** Next-header values of the extension headers walked, in order. */
  extensionHeaders: number[];
  /** Bytes from the start of the packet to the upper-layer header. */
  headerLength: number;
}

/**
 * Parse an IPv6 header and walk its extension headers; never throws. ESP (50) ends the walk: its
 * contents are encrypted, so nextHeader is 50. A non-first fragment also ends it (the upper-layer
 * header is elsewhere); nextHeader is then the Fragment header's next header.
 */
export function parseIpv6(pkt: Uint8Array): Parsed<ParsedIpv6> {
  if (pkt.length < IPV6_HEADER) return fail('truncated', `IPv6 header needs 40 bytes, have ${pkt.length}`);
  const version = pkt[0]! >>> 4;
  if (version !== 6) return fail('bad-version', `IP version ${version}, expected 6`);
  const plen = read16(pkt, 4);
  if (plen === 0 && pkt[6] === Ipv6Ext.HOP_BY_HOP && pkt.length > IPV6_HEADER) {
    return fail('unsupported', 'jumbograms (payload length 0) are not supported');
  }
  const end = IPV6_HEADER + plen;
  if (end > pkt.length) return fail('bad-total-length', `payload length ${plen} exceeds the ${pkt.length - IPV6_HEADER} bytes present`);
  let next = pkt[6]!;
  let off = IPV6_HEADER;
  let isFragment = false;
  const ext: number[] = [];
  walk: for (;;) {
    switch (next) {
      case Ipv6Ext.HOP_BY_HOP:
      case Ipv6Ext.ROUTING:
      case Ipv6Ext.DEST_OPTS:
      case Ipv6Ext.MOBILITY:
      case Ipv6Ext.HIP:
      case Ipv6Ext.SHIM6: {
        // RFC 8200 4.3: Hop-by-Hop may only follow the IPv6 header itself.
        if (next === Ipv6Ext.HOP_BY_HOP && off !== IPV6_HEADER) return fail('malformed', 'Hop-by-Hop Options header not first');
        if (off + 2 > end) return fail('truncated', `extension header ${next} truncated`);
        const len = (pkt[off + 1]! + 1) * 8; // RFC 8200 4.3-4.6: length in 8-octet units, not counting the first 8
        if (off + len > end) return fail('truncated', `extension header ${next} (${len} bytes) overruns the payload`);
        ext.push(next);
        next = pkt[off]!;
        off += len;
        break;
      }
      case Ipv6Ext.AH: {
        if (off + 2 > end) return fail('truncated', 'AH header truncated');
        const len = (pkt[off + 1]! + 2) * 4; // RFC 4302 2.2: length in 4-octet units minus 2
        if (off + len > end) return fail('truncated', 'AH header overruns the payload');
        ext.push(next);
        next = pkt[off]!;
        off += len;
        break;
      }
      case Ipv6Ext.FRAGMENT: {
        if (off + 8 > end) return fail('truncated', 'Fragment header truncated');
        ext.push(next);
        isFragment = true;
        const offsetField = read16(pkt, off + 2) >>> 3;
        next = pkt[off]!;
        off += 8;
        if (offsetField !== 0) break walk; // a later fragment: no upper-layer header here
        break;
      }
      case Ipv6Ext.NO_NEXT:
        off = end; // RFC 8200 4.7: anything after is ignored
        break walk;
      default:
        break walk;
    }
  }
  const repr: Ipv6Repr = {
    src: pkt.subarray(8, 24),
    dst: pkt.subarray(24, 40),
    nextHeader: next,
    hopLimit: pkt[7]!,
    trafficClass: ((pkt[0]! & 0x0f) << 4) | (pkt[1]! >>> 4),
    flowLabel: read32(pkt, 0) & 0xfffff,
    payloadLength: end - off,
  };
  return ok({ repr, payload: pkt.subarray(off, end), isFragment, extensionHeaders: ext, headerLength: off });
}

/** Write the fixed 40-byte header at out[0..] (no extension headers). */
export function emitIpv6(repr: Ipv6Repr, out: Uint8Array): void {
  emitIpv6Header(out, 0, repr.src, repr.dst, repr.nextHeader, repr.payloadLength, repr.hopLimit, repr.trafficClass, repr.flowLabel);
}

/** emitIpv6 from the fields at out[at..], the addresses copied byte by byte (no views: the TCP fast path's header). */
export function emitIpv6Header(
  out: Uint8Array,
  at: number,
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  payloadLength: number,
  hopLimit: number,
  trafficClass: number,
  flowLabel: number,
): void {
  out[at] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  out[at + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  write16(out, at + 2, flowLabel & 0xffff);
  write16(out, at + 4, payloadLength);
  out[at + 6] = nextHeader;
  out[at + 7] = hopLimit;
  for (let i = 0; i < 16; i++) {
    out[at + 8 + i] = src[i]!;
    out[at + 24 + i] = dst[i]!;
  }
}
