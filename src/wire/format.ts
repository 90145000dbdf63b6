// One-line, tcpdump-style text for any IP packet (for traces, logs and the CLI); never throws on bad input.
import { formatIp } from './address.js';
import { parseIpPacket } from './packet.js';
import { parseTcp, formatTcpOptions, TcpFlag, TCP_PROTOCOL } from './tcp.js';
import { parseUdp, UDP_PROTOCOL } from './udp.js';
import { parseIcmpv4, parseIcmpv6, parseQuoted, type IcmpRepr, ICMPV4_PROTOCOL, ICMPV6_PROTOCOL } from './icmp.js';

// tcpdump's flag letters, in its order: FIN SYN RST PSH ACK URG ECE CWR.
const FLAG_CHARS: readonly [number, string][] = [
  [TcpFlag.FIN, 'F'],
  [TcpFlag.SYN, 'S'],
  [TcpFlag.RST, 'R'],
  [TcpFlag.PSH, 'P'],
  [TcpFlag.ACK, '.'],
  [TcpFlag.URG, 'U'],
  [TcpFlag.ECE, 'E'],
  [TcpFlag.CWR, 'W'],
];

/** tcpdump's bracketed flags: "S", "S.", "P.", "none". */
export function formatTcpFlagsShort(flags: number): string {
  let s = '';
  for (const [bit, ch] of FLAG_CHARS) if (flags & bit) s += ch;
  return s || 'none';
}

function protoName(p: number): string {
  return p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 1 ? 'icmp' : p === 58 ? 'icmp6' : `proto ${p}`;
}

function describeIcmp(r: IcmpRepr, v6: boolean): string {
  switch (r.kind) {
    case 'echo-request':
    case 'echo-reply':
      return `${r.kind === 'echo-request' ? 'echo request' : 'echo reply'}, id ${r.id}, seq ${r.seq}`;
    case 'other':
      return `type ${r.type}, code ${r.code}`;
    default: {
      const head =
        r.kind === 'packet-too-big' ? `packet too big, mtu ${r.mtu}` : r.kind === 'time-exceeded' ? `time exceeded, code ${r.code}` : `unreachable, code ${r.code}`;
      const q = parseQuoted(r.quoted);
      if (!q.ok) return `${head} (quote ${q.error.code})`;
      const { src, dst, protocol, srcPort, dstPort } = q.value;
      const ports = protocol === 6 || protocol === 17;
      const a = ports ? `${formatIp(src)}.${srcPort}` : formatIp(src);
      const b = ports ? `${formatIp(dst)}.${dstPort}` : formatIp(dst);
      return `${head}, quoting ${a} > ${b} ${protoName(protocol)}`;
    }
  }
}

/**
 * Format an IP packet the way tcpdump -n -S would, e.g.
 * `198.18.0.1.49152 > 198.18.0.2.80: Flags [S], seq 1234, win 65535, options [mss 1460], length 0`.
 */
export function formatPacket(ipPacket: Uint8Array): string {
  const ip = parseIpPacket(ipPacket, { verifyChecksum: false });
  if (!ip.ok) return `invalid IP packet (${ip.error.code}: ${ip.error.message})`;
  const { src, dst, protocol, payload, isFragment, version } = ip.value;
  const s = formatIp(src);
  const d = formatIp(dst);
  const firstFragment = version === 4 ? (((ipPacket[6]! << 8) | ipPacket[7]!) & 0x1fff) === 0 : payload.length >= 4;
  if (isFragment && !firstFragment) return `${s} > ${d}: ${protoName(protocol)} fragment, length ${payload.length}`;
  if (protocol === TCP_PROTOCOL) {
    const r = parseTcp(payload);
    if (!r.ok) return `${s} > ${d}: tcp invalid (${r.error.code}: ${r.error.message})`;
    const t = r.value;
    const doff = (payload[12]! >>> 4) * 4;
    const len = t.payload.length;
    let out = `${s}.${t.srcPort} > ${d}.${t.dstPort}: Flags [${formatTcpFlagsShort(t.flags)}]`;
    if (len > 0 || t.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) {
      out += `, seq ${t.seq}`;
      if (len > 0) out += `:${(t.seq + len) >>> 0}`;
    }
    if (t.flags & TcpFlag.ACK) out += `, ack ${t.ack}`;
    out += `, win ${t.window}`;
    if (t.flags & TcpFlag.URG) out += `, urg ${t.urgent}`;
    if (doff > 20) out += `, options [${formatTcpOptions(payload.subarray(20, doff))}]`;
    return `${out}, length ${len}`;
  }
  if (protocol === UDP_PROTOCOL) {
    const r = parseUdp(payload);
    if (!r.ok) return `${s} > ${d}: udp invalid (${r.error.code}: ${r.error.message})`;
    return `${s}.${r.value.srcPort} > ${d}.${r.value.dstPort}: UDP, length ${r.value.payload.length}`;
  }
  if (protocol === ICMPV4_PROTOCOL && version === 4) {
    const r = parseIcmpv4(payload);
    if (!r.ok) return `${s} > ${d}: ICMP invalid (${r.error.code}), length ${payload.length}`;
    return `${s} > ${d}: ICMP ${describeIcmp(r.value, false)}, length ${payload.length}`;
  }
  if (protocol === ICMPV6_PROTOCOL && version === 6) {
    const r = parseIcmpv6(payload, { src, dst });
    if (!r.ok) return `${s} > ${d}: ICMP6 invalid (${r.error.code}), length ${payload.length}`;
    return `${s} > ${d}: ICMP6, ${describeIcmp(r.value, true)}, length ${payload.length}`;
  }
  return `${s} > ${d}: ${protoName(protocol)}, length ${payload.length}`;
}
