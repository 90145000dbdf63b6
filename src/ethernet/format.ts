// One-line descriptions of Ethernet frames in tcpdump's words ("ARP, Request who-has 198.18.0.1
// tell 198.18.0.2", "ICMP6, neighbor solicitation, who has 2001:db8::1"), for traces and tools.
import { formatIp } from '../wire/address.js';
import { formatPacket } from '../wire/format.js';
import { ArpOp, parseArp } from './arp.js';
import { EtherType, formatMac, parseEthernet } from './frame.js';
import { NaFlag, NdpType, icmpv6TypeOf, parseNdp } from './ndp.js';

/** The ARP message in `payload`, or an explanation of why it is not one. */
export function formatArp(payload: Uint8Array): string {
  const r = parseArp(payload);
  if (!r.ok) return `ARP, ${r.error.message}`;
  const a = r.value;
  if (a.op === ArpOp.REQUEST) {
    const gratuitous = formatIp(a.senderIp) === formatIp(a.targetIp);
    return gratuitous ? `ARP, Announcement ${formatIp(a.senderIp)} is-at ${formatMac(a.senderMac)}` : `ARP, Request who-has ${formatIp(a.targetIp)} tell ${formatIp(a.senderIp)}`;
  }
  return `ARP, Reply ${formatIp(a.senderIp)} is-at ${formatMac(a.senderMac)}`;
}

/** An NS or NA in a whole IPv6 packet, or null when the packet is something else. */
export function formatNdp(pkt: Uint8Array): string | null {
  const type = icmpv6TypeOf(pkt);
  if (type !== NdpType.NEIGHBOR_SOLICIT && type !== NdpType.NEIGHBOR_ADVERT) return null;
  const r = parseNdp(pkt);
  if (!r.ok) return `ICMP6, bad neighbour discovery message: ${r.error.message}`;
  const { src, msg } = r.value;
  const lla = msg.lla === null ? '' : `, ${msg.type === NdpType.NEIGHBOR_SOLICIT ? 'source' : 'target'} link-address ${formatMac(msg.lla)}`;
  if (msg.type === NdpType.NEIGHBOR_SOLICIT) {
    const dad = src.every((b) => b === 0) ? ' (DAD)' : '';
    return `ICMP6, neighbor solicitation, who has ${formatIp(msg.target)}${dad}${lla}`;
  }
  const f = [(msg.flags & NaFlag.ROUTER) !== 0 ? 'router' : '', (msg.flags & NaFlag.SOLICITED) !== 0 ? 'solicited' : '', (msg.flags & NaFlag.OVERRIDE) !== 0 ? 'override' : '']
    .filter((x) => x !== '')
    .join(', ');
  return `ICMP6, neighbor advertisement, tgt is ${formatIp(msg.target)}${f === '' ? '' : `, Flags [${f}]`}${lla}`;
}

/** "02:..:01 > ff:..:ff, ARP, Request who-has ..." or the IP packet's own description. */
export function formatFrame(frame: Uint8Array): string {
  const r = parseEthernet(frame);
  if (!r.ok) return `bad frame: ${r.error.message}`;
  const { dst, src, etherType, payload } = r.value;
  const head = `${formatMac(src)} > ${formatMac(dst)}, `;
  switch (etherType) {
    case EtherType.ARP:
      return head + formatArp(payload);
    case EtherType.IPV4:
    case EtherType.IPV6:
      return head + (formatNdp(payload) ?? formatPacket(payload));
    default:
      return `${head}ethertype 0x${etherType.toString(16).padStart(4, '0')}, length ${frame.length}`;
  }
}
