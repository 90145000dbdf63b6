// Shared by the tshark oracle tests: run tshark over a pcap, and compute the same -T fields values
// from our own pcap reader and wire/ parsers, formatted the way tshark prints them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { parseIpv6 } from '../../src/wire/ipv6.js';
import { parseTcp, parseTcpOptions } from '../../src/wire/tcp.js';
import { parseUdp } from '../../src/wire/udp.js';
import { parseIcmpv4, parseIcmpv6 } from '../../src/wire/icmp.js';
import { formatIp } from '../../src/wire/address.js';
import { onesSum, foldChecksum } from '../../src/wire/bytes.js';

export const TSHARK = '/usr/bin/tshark';

/** The fields compared, in -T fields order. */
export const FIELDS = [
  'ip.src', 'ip.dst', 'ip.ttl', 'ip.id', 'ip.flags.df', 'ip.flags.mf', 'ip.frag_offset', 'ip.proto', 'ip.len', 'ip.hdr_len', 'ip.checksum.status',
  'ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'ipv6.nxt', 'ipv6.plen', 'ipv6.flow',
  'tcp.srcport', 'tcp.dstport', 'tcp.seq', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.window_size_value', 'tcp.urgent_pointer', 'tcp.hdr_len', 'tcp.len',
  'tcp.option_kind', 'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr',
  'tcp.options.sack_le', 'tcp.options.sack_re', 'tcp.checksum.status',
  'udp.srcport', 'udp.dstport', 'udp.length', 'udp.checksum.status',
  'icmp.type', 'icmp.code', 'icmp.ident', 'icmp.seq', 'icmp.mtu', 'icmp.checksum.status',
  'icmpv6.type', 'icmpv6.code', 'icmpv6.echo.identifier', 'icmpv6.echo.sequence_number', 'icmpv6.mtu', 'icmpv6.checksum.status',
] as const;
export type Field = (typeof FIELDS)[number];
export type Row = Record<Field, string>;

export function tsharkMissing(): string | null {
  return existsSync(TSHARK) ? null : `tshark not found at ${TSHARK} (apt-get install tshark); skipping the oracle test`;
}

/** Dissect a pcap with checksum validation on; returns one row per frame plus malformed/expert info. */
export function tsharkRows(file: string, displayFilter?: string): { rows: Row[]; malformed: string[]; errors: string[] } {
  const extra = ['frame.number', '_ws.malformed', '_ws.expert.severity', '_ws.expert.message'];
  const args = [
    '-n', '-r', file,
    '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
    '-o', 'tcp.relative_sequence_numbers:FALSE', '-o', 'tcp.analyze_sequence_numbers:FALSE',
    ...(displayFilter ? ['-Y', displayFilter] : []),
    '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,',
    ...[...FIELDS, ...extra].flatMap((f) => ['-e', f]),
  ];
  const r = spawnSync(TSHARK, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  const rows: Row[] = [];
  const malformed: string[] = [];
  const errors: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const cols = line.split('\t');
    const row = {} as Row;
    FIELDS.forEach((f, i) => (row[f] = cols[i] ?? ''));
    rows.push(row);
    const [frame, mal, sev, msg] = cols.slice(FIELDS.length);
    if (mal) malformed.push(`frame ${frame}: ${mal}`);
    // Expert severity "error" is 0x00800000 (8388608); bad checksums and malformed packets land there.
    if ((sev ?? '').split(',').some((s) => Number(s) >= 8388608)) errors.push(`frame ${frame}: ${msg}`);
  }
  return { rows, malformed, errors };
}

const hex = (n: number, digits: number): string => '0x' + n.toString(16).padStart(digits, '0');

/** The same fields computed by wire/ (the inner packet of an ICMP error is appended, as tshark does). */
export function ourRow(pkt: Uint8Array): Row {
  const acc = new Map<Field, string[]>();
  const put = (f: Field, v: string | number | boolean): void => {
    const s = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    acc.set(f, [...(acc.get(f) ?? []), s]);
  };
  collect(pkt, put, false);
  const row = {} as Row;
  for (const f of FIELDS) row[f] = (acc.get(f) ?? []).join(',');
  return row;
}

function collect(pkt: Uint8Array, put: (f: Field, v: string | number | boolean) => void, inner: boolean): void {
  const version = pkt[0]! >>> 4;
  let src: Uint8Array;
  let dst: Uint8Array;
  let proto: number;
  let payload: Uint8Array;
  if (version === 4) {
    // An ICMP quote may be cut short: then parse the header without the total-length check.
    let r = parseIpv4(pkt, { verifyChecksum: false });
    if (!r.ok && inner && r.error.code === 'bad-total-length') {
      const copy = pkt.slice();
      copy[2] = pkt.length >>> 8;
      copy[3] = pkt.length & 0xff;
      r = parseIpv4(copy, { verifyChecksum: false });
    }
    if (!r.ok) throw new Error(`our IPv4 parse failed: ${r.error.message}`);
    const { repr, headerLength } = r.value;
    put('ip.src', formatIp(repr.src));
    put('ip.dst', formatIp(repr.dst));
    put('ip.ttl', repr.ttl);
    put('ip.id', hex(repr.ident, 4));
    put('ip.flags.df', repr.dontFragment);
    put('ip.flags.mf', repr.moreFragments);
    put('ip.frag_offset', repr.fragmentOffset * 8);
    put('ip.proto', repr.protocol);
    put('ip.len', (pkt[2]! << 8) | pkt[3]!);
    put('ip.hdr_len', headerLength);
    put('ip.checksum.status', foldChecksum(onesSum(pkt, 0, headerLength)) === 0);
    ({ src, dst } = repr);
    proto = repr.protocol;
    payload = r.value.payload;
    if (r.value.isFragment && repr.fragmentOffset !== 0) return;
  } else {
    const r = parseIpv6(pkt);
    if (!r.ok) throw new Error(`our IPv6 parse failed: ${r.error.message}`);
    const { repr } = r.value;
    put('ipv6.src', formatIp(repr.src));
    put('ipv6.dst', formatIp(repr.dst));
    put('ipv6.hlim', repr.hopLimit);
    put('ipv6.nxt', pkt[6]!);
    put('ipv6.plen', (pkt[4]! << 8) | pkt[5]!);
    put('ipv6.flow', hex(repr.flowLabel, 6));
    ({ src, dst } = repr);
    proto = repr.nextHeader;
    payload = r.value.payload;
  }
  // tshark checks an upper-layer checksum only when it has the whole datagram (always, outside ICMP quotes).
  const complete = !inner || (version === 4 ? ((pkt[2]! << 8) | pkt[3]!) === pkt.length : ((pkt[4]! << 8) | pkt[5]!) + 40 === pkt.length);
  if (proto === 6) {
    const r = parseTcp(payload);
    if (!r.ok) throw new Error(`our TCP parse failed: ${r.error.message}`);
    const t = r.value;
    const hl = payload.length - t.payload.length;
    put('tcp.srcport', t.srcPort);
    put('tcp.dstport', t.dstPort);
    put('tcp.seq', t.seq);
    put('tcp.seq_raw', inner ? '?' : t.seq); // inside ICMP errors tshark prints it only sometimes
    put('tcp.ack_raw', t.ack);
    put('tcp.flags', hex(t.flags | ((payload[12]! & 0x0f) << 8), 4));
    put('tcp.window_size_value', t.window);
    put('tcp.urgent_pointer', t.urgent);
    put('tcp.hdr_len', hl);
    put('tcp.len', inner ? '?' : t.payload.length);
    // Option kinds in wire order, as tshark lists them.
    const opt = payload.subarray(20, hl);
    for (let i = 0; i < opt.length; ) {
      const k = opt[i]!;
      put('tcp.option_kind', k);
      if (k === 0) break;
      i += k === 1 ? 1 : Math.max(2, opt[i + 1] ?? 2);
    }
    const o = t.options;
    parseTcpOptions(opt, o);
    if (o.mss !== undefined) put('tcp.options.mss_val', o.mss);
    if (o.wscale !== undefined) put('tcp.options.wscale.shift', o.wscale);
    if (o.timestamp) {
      put('tcp.options.timestamp.tsval', o.timestamp.val);
      put('tcp.options.timestamp.tsecr', o.timestamp.ecr);
    }
    for (const b of o.sack ?? []) put('tcp.options.sack_le', b.left);
    for (const b of o.sack ?? []) put('tcp.options.sack_re', b.right);
    if (complete) put('tcp.checksum.status', parseTcp(payload, { src, dst }).ok);
  } else if (proto === 17) {
    const r = parseUdp(payload);
    if (!r.ok) throw new Error(`our UDP parse failed: ${r.error.message}`);
    put('udp.srcport', r.value.srcPort);
    put('udp.dstport', r.value.dstPort);
    put('udp.length', (payload[4]! << 8) | payload[5]!);
    if (complete) put('udp.checksum.status', parseUdp(payload, { src, dst }).ok);
  } else if (proto === 1 || proto === 58) {
    const v6 = proto === 58;
    const r = v6 ? parseIcmpv6(payload, { src, dst }) : parseIcmpv4(payload);
    const p = v6 ? 'icmpv6' : 'icmp';
    put(`${p}.type` as Field, payload[0]!);
    put(`${p}.code` as Field, payload[1]!);
    put(`${p}.checksum.status` as Field, r.ok);
    if (!r.ok) return;
    const m = r.value;
    if (m.kind === 'echo-request' || m.kind === 'echo-reply') {
      if (v6) {
        put('icmpv6.echo.identifier', hex(m.id, 4));
        put('icmpv6.echo.sequence_number', m.seq);
      } else {
        put('icmp.ident', m.id);
        put('icmp.seq', m.seq);
      }
    } else if (m.kind === 'packet-too-big' || m.kind === 'dst-unreachable' || m.kind === 'time-exceeded') {
      if (m.kind === 'packet-too-big') put(v6 ? 'icmpv6.mtu' : 'icmp.mtu', m.mtu);
      if (m.quoted.length > 0) collect(m.quoted, put, true);
    }
  }
}

/** Field-by-field differences ("field: tshark X, ours Y"); a field where ours holds "?" is not compared. */
export function compareRows(theirs: Row, ours: Row): string[] {
  const diffs: string[] = [];
  for (const f of FIELDS) {
    if (ours[f].split(',').includes('?')) continue;
    if (theirs[f] !== ours[f]) diffs.push(`${f}: tshark "${theirs[f]}", ours "${ours[f]}"`);
  }
  return diffs;
}
