// The UDP header (RFC 768) with the IPv4/IPv6 pseudo-header checksum (RFC 8200 section 8.1: mandatory over IPv6).
import { onesSum, foldChecksum, pseudoHeaderSum, read16, write16 } from './bytes.js';
import { type Parsed, ok, fail } from './result.js';

export const UDP_HEADER = 8;
export const UDP_PROTOCOL = 17;

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Getters and setters over a UDP header in place. */
export class UdpView {
  constructor(readonly buf: Uint8Array) {}
  static check(buf: Uint8Array): UdpView | null {
    return buf.length >= UDP_HEADER ? new UdpView(buf) : null;
  }
  get srcPort(): number {
    return read16(this.buf, 0);
  }
  set srcPort(v: number) {
    write16(this.buf, 0, v);
  }
  get dstPort(): number {
    return read16(this.buf, 2);
  }
  set dstPort(v: number) {
    write16(this.buf, 2, v);
  }
  get length(): number {
    return read16(this.buf, 4);
  }
  set length(v: number) {
    write16(this.buf, 4, v);
  }
  get checksum(): number {
    return read16(this.buf, 6);
  }
  set checksum(v: number) {
    write16(this.buf, 6, v);
  }
}

/**
 * Parse a UDP datagram; never throws. With `pseudo` the checksum is verified; a zero checksum means
 * "none" over IPv4 (RFC 768) but is an error over IPv6 (RFC 8200 8.1).
 */
export function parseUdp(dgram: Uint8Array, pseudo?: { src: Uint8Array; dst: Uint8Array }): Parsed<UdpRepr> {
  if (dgram.length < UDP_HEADER) return fail('truncated', `UDP header needs 8 bytes, have ${dgram.length}`);
  const len = read16(dgram, 4);
  if (len < UDP_HEADER) return fail('bad-total-length', `UDP length ${len} is below 8`);
  if (len > dgram.length) return fail('bad-total-length', `UDP length ${len} exceeds the ${dgram.length} bytes present`);
  if (pseudo) {
    const ck = read16(dgram, 6);
    if (ck === 0) {
      if (pseudo.dst.length === 16) return fail('bad-checksum', 'zero UDP checksum over IPv6');
    } else if (foldChecksum(onesSum(dgram, 0, len, pseudoHeaderSum(pseudo.src, pseudo.dst, UDP_PROTOCOL, len))) !== 0) {
      return fail('bad-checksum', 'UDP checksum does not verify');
    }
  }
  return ok({ srcPort: read16(dgram, 0), dstPort: read16(dgram, 2), payload: dgram.subarray(UDP_HEADER, len) });
}

/** Write header, payload and checksum at out[0..]; returns the bytes written. */
export function emitUdp(repr: UdpRepr, out: Uint8Array, src: Uint8Array, dst: Uint8Array): number {
  const len = UDP_HEADER + repr.payload.length;
  write16(out, 0, repr.srcPort);
  write16(out, 2, repr.dstPort);
  write16(out, 4, len);
  write16(out, 6, 0);
  const p = repr.payload;
  if (p.length > 0 && !(p.buffer === out.buffer && p.byteOffset === out.byteOffset + UDP_HEADER)) out.set(p, UDP_HEADER);
  const ck = foldChecksum(onesSum(out, 0, len, pseudoHeaderSum(src, dst, UDP_PROTOCOL, len)));
  write16(out, 6, ck === 0 ? 0xffff : ck); // RFC 768: a computed zero is sent as all ones
  return len;
}
