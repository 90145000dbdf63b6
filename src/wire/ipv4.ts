// The IPv4 header (RFC 791 section 3.1): a view at named offsets, a plain repr, parse with header
// checksum verification and fragment recognition, and emit (options preserved, zero-padded to 4 bytes).
import { onesSum, foldChecksum, read16, write16 } from './bytes.js';
import { type Parsed, ok, fail } from './result.js';

export const IPV4_MIN_HEADER = 20;

/** Shared zero-length options for the common option-less header (nothing can be written into it). */
const NO_OPTIONS = new Uint8Array(0);

/** A parsed or to-be-emitted IPv4 header. `payloadLength` is total length minus header length. */
export interface Ipv4Repr {
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  ttl: number;
  tos: number;
  ident: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In 8-byte units, as on the wire. */
  fragmentOffset: number;
  /** Option bytes (without padding requirement; emit pads with EOL to a multiple of 4). */
  options: Uint8Array;
  payloadLength: number;
}

/** Getters and setters over an IPv4 header in place. Construct with `Ipv4View.check` to validate length. */
export class Ipv4View {
  constructor(readonly buf: Uint8Array) {}

  /** A view if `buf` holds at least the fixed header and its own IHL, else null. */
  static check(buf: Uint8Array): Ipv4View | null {
    if (buf.length < IPV4_MIN_HEADER) return null;
    const hl = (buf[0]! & 0x0f) * 4;
    if (hl < IPV4_MIN_HEADER || hl > buf.length) return null;
    return new Ipv4View(buf);
  }

  get version(): number {
    return this.buf[0]! >>> 4;
  }
  set version(v: number) {
    this.buf[0] = ((v & 0x0f) << 4) | (this.buf[0]! & 0x0f);
  }
  /** Header length in bytes (IHL * 4). */
  get headerLength(): number {
    return (this.buf[0]! & 0x0f) * 4;
  }
  set headerLength(bytes: number) {
    this.buf[0] = (this.buf[0]! & 0xf0) | ((bytes >>> 2) & 0x0f);
  }
  get tos(): number {
    return this.buf[1]!;
  }
  set tos(v: number) {
    this.buf[1] = v;
  }
  get totalLength(): number {
    return read16(this.buf, 2);
  }
  set totalLength(v: number) {
    write16(this.buf, 2, v);
  }
  get ident(): number {
    return read16(this.buf, 4);
  }
  set ident(v: number) {
    write16(this.buf, 4, v);
  }
  get dontFragment(): boolean {
    return (this.buf[6]! & 0x40) !== 0;
  }
  set dontFragment(v: boolean) {
    this.buf[6] = v ? this.buf[6]! | 0x40 : this.buf[6]! & ~0x40;
  }
  get moreFragments(): boolean {
    return (this.buf[6]! & 0x20) !== 0;
  }
  set moreFragments(v: boolean) {
    this.buf[6] = v ? this.buf[6]! | 0x20 : this.buf[6]! & ~0x20;
  }
  /** Fragment offset in 8-byte units. */
  get fragmentOffset(): number {
    return read16(this.buf, 6) & 0x1fff;
  }
  set fragmentOffset(v: number) {
    write16(this.buf, 6, (read16(this.buf, 6) & 0xe000) | (v & 0x1fff));
  }
  get ttl(): number {
    return this.buf[8]!;
  }
  set ttl(v: number) {
    this.buf[8] = v;
  }
  get protocol(): number {
    return this.buf[9]!;
  }
  set protocol(v: number) {
    this.buf[9] = v;
  }
  get checksum(): number {
    return read16(this.buf, 10);
  }
  set checksum(v: number) {
    write16(this.buf, 10, v);
  }
  get src(): Uint8Array {
    return this.buf.subarray(12, 16);
  }
  set src(a: Uint8Array) {
    this.buf.set(a.subarray(0, 4), 12);
  }
  get dst(): Uint8Array {
    return this.buf.subarray(16, 20);
  }
  set dst(a: Uint8Array) {
    this.buf.set(a.subarray(0, 4), 16);
  }
  get options(): Uint8Array {
    return this.buf.subarray(IPV4_MIN_HEADER, this.headerLength);
  }
  /** Whether the header checksum verifies. */
  verifyChecksum(): boolean {
    return foldChecksum(onesSum(this.buf, 0, this.headerLength)) === 0;
  }
  /** Recompute and store the header checksum. */
  fillChecksum(): void {
    write16(this.buf, 10, 0);
    write16(this.buf, 10, foldChecksum(onesSum(this.buf, 0, this.headerLength)));
  }
}

export interface ParsedIpv4 {
  repr: Ipv4Repr;
  headerLength: number;
  /** The datagram's payload (to total length; link padding beyond it is dropped). */
  payload: Uint8Array;
  /** True when this is a fragment (MF set or non-zero offset) and must be reassembled. */
  isFragment: boolean;
}

/**
 * The checks every IPv4 parse makes (version, IHL, total length against the bytes present, header
 * checksum unless `verify` is false): null when the header is sound, else the failure.
 */
export function checkIpv4(pkt: Uint8Array, verify = true): Parsed<never> | null {
  if (pkt.length < IPV4_MIN_HEADER) return fail('truncated', `IPv4 header needs 20 bytes, have ${pkt.length}`);
  const version = pkt[0]! >>> 4;
  if (version !== 4) return fail('bad-version', `IP version ${version}, expected 4`);
  const hl = (pkt[0]! & 0x0f) * 4;
  if (hl < IPV4_MIN_HEADER) return fail('bad-header-length', `IHL ${hl / 4} is below 5`);
  if (hl > pkt.length) return fail('bad-header-length', `header length ${hl} exceeds the ${pkt.length} bytes present`);
  const total = read16(pkt, 2);
  if (total < hl) return fail('bad-total-length', `total length ${total} is below header length ${hl}`);
  if (total > pkt.length) return fail('bad-total-length', `total length ${total} exceeds the ${pkt.length} bytes present`);
  if (verify && foldChecksum(onesSum(pkt, 0, hl)) !== 0) {
    return fail('bad-checksum', 'IPv4 header checksum does not verify');
  }
  return null;
}

/** Parse an IPv4 header; never throws. The checksum is verified unless `verifyChecksum: false`. */
export function parseIpv4(pkt: Uint8Array, opts?: { verifyChecksum?: boolean }): Parsed<ParsedIpv4> {
  const bad = checkIpv4(pkt, opts?.verifyChecksum !== false);
  if (bad !== null) return bad;
  const hl = (pkt[0]! & 0x0f) * 4;
  const total = read16(pkt, 2);
  const frag = read16(pkt, 6);
  const repr: Ipv4Repr = {
    src: pkt.subarray(12, 16),
    dst: pkt.subarray(16, 20),
    protocol: pkt[9]!,
    ttl: pkt[8]!,
    tos: pkt[1]!,
    ident: read16(pkt, 4),
    dontFragment: (frag & 0x4000) !== 0,
    moreFragments: (frag & 0x2000) !== 0,
    fragmentOffset: frag & 0x1fff,
    options: hl === IPV4_MIN_HEADER ? NO_OPTIONS : pkt.subarray(IPV4_MIN_HEADER, hl),
    payloadLength: total - hl,
  };
  return ok({ repr, headerLength: hl, payload: pkt.subarray(hl, total), isFragment: repr.moreFragments || repr.fragmentOffset !== 0 });
}

/** Header length `emitIpv4` writes: 20 plus the options rounded up to 4 (at most 60). */
export function ipv4HeaderLength(repr: Ipv4Repr): number {
  return Math.min(60, IPV4_MIN_HEADER + ((repr.options.length + 3) & ~3));
}

/**
 * Write an option-less 20-byte header with its checksum at out[at..at+20): the common case, with the
 * fields passed directly and the checksum summed from them (RFC 1071) instead of re-read from `out`.
 * `fragField` is the 16-bit flags + fragment offset word (0x4000 for DF alone).
 */
export function emitIpv4Header(
  out: Uint8Array,
  at: number,
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  payloadLength: number,
  ttl: number,
  tos: number,
  ident: number,
  fragField: number,
): void {
  const total = (IPV4_MIN_HEADER + payloadLength) & 0xffff;
  const t = tos & 0xff;
  const id = ident & 0xffff;
  const fr = fragField & 0xffff;
  const tp = ((ttl & 0xff) << 8) | (protocol & 0xff);
  const s0 = src[0]!, s1 = src[1]!, s2 = src[2]!, s3 = src[3]!;
  const d0 = dst[0]!, d1 = dst[1]!, d2 = dst[2]!, d3 = dst[3]!;
  out[at] = 0x45;
  out[at + 1] = t;
  out[at + 2] = total >>> 8;
  out[at + 3] = total;
  out[at + 4] = id >>> 8;
  out[at + 5] = id;
  out[at + 6] = fr >>> 8;
  out[at + 7] = fr;
  out[at + 8] = tp >>> 8;
  out[at + 9] = tp;
  out[at + 12] = s0;
  out[at + 13] = s1;
  out[at + 14] = s2;
  out[at + 15] = s3;
  out[at + 16] = d0;
  out[at + 17] = d1;
  out[at + 18] = d2;
  out[at + 19] = d3;
  const sum = (0x4500 | t) + total + id + fr + tp + ((s0 << 8) | s1) + ((s2 << 8) | s3) + ((d0 << 8) | d1) + ((d2 << 8) | d3);
  const c = foldChecksum(sum);
  out[at + 10] = c >>> 8;
  out[at + 11] = c;
}

/** Write the header (with checksum) at out[0..]; the payload, if any, is the caller's to place after it. */
export function emitIpv4(repr: Ipv4Repr, out: Uint8Array): void {
  if (repr.options.length === 0) {
    const frag = (repr.dontFragment ? 0x4000 : 0) | (repr.moreFragments ? 0x2000 : 0) | (repr.fragmentOffset & 0x1fff);
    emitIpv4Header(out, 0, repr.src, repr.dst, repr.protocol, repr.payloadLength, repr.ttl, repr.tos, repr.ident, frag);
    return;
  }
  const hl = ipv4HeaderLength(repr);
  out[0] = 0x40 | (hl >>> 2);
  out[1] = repr.tos;
  write16(out, 2, hl + repr.payloadLength);
  write16(out, 4, repr.ident);
  write16(out, 6, (repr.dontFragment ? 0x4000 : 0) | (repr.moreFragments ? 0x2000 : 0) | (repr.fragmentOffset & 0x1fff));
  out[8] = repr.ttl;
  out[9] = repr.protocol;
  write16(out, 10, 0);
  out.set(repr.src.subarray(0, 4), 12);
  out.set(repr.dst.subarray(0, 4), 16);
  const optLen = Math.min(repr.options.length, hl - IPV4_MIN_HEADER);
  out.set(repr.options.subarray(0, optLen), IPV4_MIN_HEADER);
  out.fill(0, IPV4_MIN_HEADER + optLen, hl); // pad with EOL (RFC 791 3.1 "Padding")
  write16(out, 10, foldChecksum(onesSum(out, 0, hl)));
}
