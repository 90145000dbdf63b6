// Ethernet II frames (IEEE 802.3 with an EtherType, RFC 894 for IPv4, RFC 2464 for IPv6): MAC
// addresses, the 14-byte header's view, parse and emit, and the multicast MAC of an IP group address
// (RFC 1112 section 6.4 for IPv4, RFC 2464 section 7 for IPv6). Pure: runs in browsers too.
import { read16, write16 } from '../wire/bytes.js';
import { type Parsed, ok, fail } from '../wire/result.js';
import type { RandomSource } from '../util/random.js';

export const ETHERNET_HEADER = 14;
/** Shortest frame on the wire without its 4-byte FCS: shorter payloads are padded (IEEE 802.3). */
export const ETHERNET_MIN_FRAME = 60;

export const EtherType = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const;

export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** "02:00:5e:00:53:01" (or with dashes) to 6 bytes; null when it is not a MAC address. */
export function parseMac(text: string): Uint8Array | null {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (m === null) return null;
  return new Uint8Array(m.slice(1).map((h) => parseInt(h, 16)));
}

export function formatMac(mac: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i === 0 ? '' : ':') + (mac[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Group bit set: broadcast or multicast. */
export function isGroupMac(mac: Uint8Array): boolean {
  return (mac[0]! & 1) === 1;
}

/** A random unicast, locally administered MAC (IEEE 802 U/L bit set, I/G bit clear). */
export function randomMac(random: RandomSource): Uint8Array {
  const mac = random.fill(new Uint8Array(6));
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return mac;
}

/** The MAC an IPv4 (01:00:5e + low 23 bits) or IPv6 (33:33 + low 32 bits) multicast group maps to. */
export function multicastMac(group: Uint8Array): Uint8Array {
  if (group.length === 4) return new Uint8Array([0x01, 0x00, 0x5e, group[1]! & 0x7f, group[2]!, group[3]!]);
  return new Uint8Array([0x33, 0x33, group[12]!, group[13]!, group[14]!, group[15]!]);
}

/** One frame as plain data. `payload` is a view into the frame it was parsed from. */
export interface EthernetRepr {
  dst: Uint8Array;
  src: Uint8Array;
  etherType: number;
  payload: Uint8Array;
}

/** Getters over the header of a frame that checkLen has accepted. */
export class EthernetView {
  constructor(readonly buf: Uint8Array) {}
  static check(buf: Uint8Array): EthernetView | null {
    return buf.length >= ETHERNET_HEADER ? new EthernetView(buf) : null;
  }
  get dst(): Uint8Array {
    return this.buf.subarray(0, 6);
  }
  get src(): Uint8Array {
    return this.buf.subarray(6, 12);
  }
  get etherType(): number {
    return read16(this.buf, 12);
  }
  get payload(): Uint8Array {
    return this.buf.subarray(ETHERNET_HEADER);
  }
}

/** Parse an Ethernet II frame (no FCS). Lengths below 0x0600 are 802.3 length fields, not EtherTypes. */
export function parseEthernet(frame: Uint8Array): Parsed<EthernetRepr> {
  const v = EthernetView.check(frame);
  if (v === null) return fail('truncated', `Ethernet header needs 14 bytes, have ${frame.length}`);
  const etherType = v.etherType;
  if (etherType < 0x0600) return fail('unsupported', `802.3 length field ${etherType}, not an Ethernet II EtherType`);
  return ok({ dst: v.dst, src: v.src, etherType, payload: v.payload });
}

/** The length of the frame that carries `payloadLength` bytes (padded to the 60-byte minimum). */
export function frameLength(payloadLength: number): number {
  return Math.max(ETHERNET_MIN_FRAME, ETHERNET_HEADER + payloadLength);
}

/** A new frame: header, then `payload` copied, padded with zeros to the 60-byte minimum. */
export function buildFrame(dst: Uint8Array, src: Uint8Array, etherType: number, payload: Uint8Array): Uint8Array {
  return writeFrame(new Uint8Array(frameLength(payload.length)), dst, src, etherType, payload);
}

/**
 * Write a frame into `frame` (exactly frameLength(payload.length) bytes, any contents: every byte
 * is written, the padding zeroed) and return it.
 */
export function writeFrame(frame: Uint8Array, dst: Uint8Array, src: Uint8Array, etherType: number, payload: Uint8Array): Uint8Array {
  for (let i = 0; i < 6; i++) {
    frame[i] = dst[i]!;
    frame[6 + i] = src[i]!;
  }
  write16(frame, 12, etherType);
  frame.set(payload, ETHERNET_HEADER);
  if (frame.length > ETHERNET_HEADER + payload.length) frame.fill(0, ETHERNET_HEADER + payload.length);
  return frame;
}
