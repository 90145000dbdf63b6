// The Internet checksum (RFC 1071 sections 1-2, RFC 1624 section 3 incremental update), the IPv4 and
// IPv6 pseudo-headers (RFC 9293 section 3.1, RFC 8200 section 8.1) and small big-endian byte helpers.
import { simdOnesSumLE, SIMD_MAX } from './simd-sum.js';

/**
 * Whether this host stores multi-byte words little-endian. The checksum sums words in host order and
 * swaps at the end, which RFC 1071 section 2(B) shows is equivalent to summing in network order.
 */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Below this many bytes a plain 16-bit loop beats creating a word view. */
const SMALL = 64;

/** From this many bytes (up to SIMD_MAX) the WebAssembly SIMD kernel, where available, does the sum. */
const SIMD_MIN = 256;

/** Single-entry cache of a 32-bit view over the last ArrayBuffer summed, so repeated calls allocate nothing. */
let cachedBuffer: ArrayBufferLike | null = null;
let cachedWords: Uint32Array = new Uint32Array(0);

function wordsOf(buffer: ArrayBufferLike): Uint32Array {
  if (buffer !== cachedBuffer || cachedWords.length !== buffer.byteLength >>> 2) {
    cachedBuffer = buffer;
    cachedWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  return cachedWords;
}

/** Fold a non-negative sum (up to 2^53) to 16 bits with end-around carry, without inverting. */
function fold16(sum: number): number {
  let s = sum;
  while (s > 0xffffffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/**
 * The one's-complement sum of buf[start..end) read as big-endian 16-bit words (an odd last byte is
 * padded with zero), added to `initial`. The result is not inverted and not fully folded; feed it
 * to further onesSum calls (at even offsets of the same logical message) and finish with foldChecksum.
 */
export function onesSum(buf: Uint8Array, start = 0, end: number = buf.length, initial = 0): number {
  if (start < 0) start = 0;
  if (end > buf.length) end = buf.length;
  const len = end - start;
  if (len <= 0) return initial;
  if (len < SMALL) {
    let s = initial;
    let i = start;
    const last = end - 1;
    for (; i < last; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
    if (i === last) s += buf[i]! << 8;
    return s;
  }
  if (len >= SIMD_MIN && len <= SIMD_MAX) {
    const le = simdOnesSumLE(buf, start, end);
    // The kernel sums little-endian words: swap the folded sum into network order (RFC 1071 2(B)).
    if (le >= 0) return initial + swap16(fold16(le));
  }
  // Sum in host order over aligned 32-bit words (a 32-bit word is two 16-bit words mod 0xffff).
  // hostSum weights each byte by its absolute address parity; at the end it is rotated into the
  // logical (start-relative, big-endian) order.
  const abs = buf.byteOffset + start;
  const absEnd = buf.byteOffset + end;
  const alignedStart = (abs + 3) & ~3;
  const alignedEnd = absEnd & ~3;
  const base = buf.byteOffset;
  let hostSum = 0;
  for (let a = abs; a < alignedStart; a++) hostSum += byteWeight(buf[a - base]!, a);
  const words = wordsOf(buf.buffer);
  let i = alignedStart >>> 2;
  const n = alignedEnd >>> 2;
  // Each word is < 2^32; fold every 2^20 words so the double accumulators stay exact (< 2^53).
  // Eight independent accumulators let the additions overlap instead of waiting on each other.
  while (i < n) {
    const stop = Math.min(n, i + 0x100000);
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let s5 = 0;
    let s6 = 0;
    let s7 = 0;
    for (; i + 7 < stop; i += 8) {
      s0 += words[i]!;
      s1 += words[i + 1]!;
      s2 += words[i + 2]!;
      s3 += words[i + 3]!;
      s4 += words[i + 4]!;
      s5 += words[i + 5]!;
      s6 += words[i + 6]!;
      s7 += words[i + 7]!;
    }
    for (; i < stop; i++) s0 += words[i]!;
    hostSum = fold16(hostSum + s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
  }
  for (let a = Math.max(alignedEnd, alignedStart); a < absEnd; a++) hostSum += byteWeight(buf[a - base]!, a);
  let folded = fold16(hostSum);
  // With even abs parity the host-order sum is the byte-swapped logical sum on a little-endian host.
  if (((abs & 1) === 0) === HOST_LE) folded = swap16(folded);
  return initial + folded;
}

function byteWeight(b: number, absAddr: number): number {
  // On a little-endian host the byte at an odd address is the high half of its 16-bit word.
  return (absAddr & 1) === (HOST_LE ? 1 : 0) ? b << 8 : b;
}

/** The final Internet checksum: fold `sum` to 16 bits and invert (RFC 1071 section 1). */
export function foldChecksum(sum: number): number {
  return ~fold16(sum) & 0xffff;
}

/** The Internet checksum of a whole buffer. */
export function internetChecksum(buf: Uint8Array): number {
  return foldChecksum(onesSum(buf, 0, buf.length));
}

/**
 * The pseudo-header sum for TCP/UDP/ICMPv6: addresses (4 or 16 bytes each), the protocol (next
 * header) and the upper-layer length (RFC 9293 section 3.1 for IPv4, RFC 8200 section 8.1 for IPv6).
 */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let s = protocol + (length >>> 16) + (length & 0xffff);
  for (let i = 0; i + 1 < src.length; i += 2) s += (src[i]! << 8) | src[i + 1]!;
  for (let i = 0; i + 1 < dst.length; i += 2) s += (dst[i]! << 8) | dst[i + 1]!;
  return s;
}

/**
 * RFC 1624 section 3 (eqn. 3): the checksum after one 16-bit word of the covered data changes
 * from `oldWord` to `newWord`, computed as ~(~HC + ~m + m').
 */
export function updateChecksum16(oldChecksum: number, oldWord: number, newWord: number): number {
  const s = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return foldChecksum(s);
}

/** Big-endian 16-bit read (caller has checked bounds). */
export function read16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Big-endian 32-bit unsigned read (caller has checked bounds). */
export function read32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Big-endian 32-bit read as an int32 (caller has checked bounds): a sequence number, acknowledgment
 * number or timestamp in the TCP core's form (wire/seq.ts), which V8 keeps unboxed.
 */
export function readSeq(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/** Big-endian 16-bit write. */
export function write16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

/** Big-endian 32-bit write. */
export function write32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}
