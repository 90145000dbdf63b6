// ARP packets for IPv4 over Ethernet (RFC 826): parse and emit of the 28-byte request/reply, the only
// hardware/protocol pair a host on Ethernet needs. Gratuitous ARP (RFC 5227 section 3 announcements)
// is a request whose sender and target protocol addresses are equal.
import { read16, write16 } from '../wire/bytes.js';
import { type Parsed, ok, fail } from '../wire/result.js';
import { EtherType } from './frame.js';

export const ARP_LENGTH = 28;
export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;
const HTYPE_ETHERNET = 1;

export interface ArpRepr {
  op: number;
  senderMac: Uint8Array;
  senderIp: Uint8Array;
  targetMac: Uint8Array;
  targetIp: Uint8Array;
}

/** Parse an ARP packet; anything but Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4) fails. */
export function parseArp(buf: Uint8Array): Parsed<ArpRepr> {
  if (buf.length < ARP_LENGTH) return fail('truncated', `ARP needs ${ARP_LENGTH} bytes, have ${buf.length}`);
  if (read16(buf, 0) !== HTYPE_ETHERNET || read16(buf, 2) !== EtherType.IPV4 || buf[4] !== 6 || buf[5] !== 4) {
    return fail('unsupported', `ARP for hardware ${read16(buf, 0)} protocol 0x${read16(buf, 2).toString(16)}`);
  }
  const op = read16(buf, 6);
  if (op !== ArpOp.REQUEST && op !== ArpOp.REPLY) return fail('unsupported', `ARP opcode ${op}`);
  return ok({
    op,
    senderMac: buf.subarray(8, 14),
    senderIp: buf.subarray(14, 18),
    targetMac: buf.subarray(18, 24),
    targetIp: buf.subarray(24, 28),
  });
}

export function emitArp(repr: ArpRepr): Uint8Array {
  const out = new Uint8Array(ARP_LENGTH);
  write16(out, 0, HTYPE_ETHERNET);
  write16(out, 2, EtherType.IPV4);
  out[4] = 6;
  out[5] = 4;
  write16(out, 6, repr.op);
  out.set(repr.senderMac.subarray(0, 6), 8);
  out.set(repr.senderIp.subarray(0, 4), 14);
  out.set(repr.targetMac.subarray(0, 6), 18);
  out.set(repr.targetIp.subarray(0, 4), 24);
  return out;
}
