// Oracle: packets emitted by wire/ are written with PcapWriter and dissected by tshark; every field
// tshark reports equals ours, nothing is malformed and every checksum verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, LinkType } from '../../src/wire/pcap.js';
import { buildTcpPacket, buildUdpPacket, buildIcmpPacket, parseIpPacket } from '../../src/wire/packet.js';
import { TcpFlag } from '../../src/wire/tcp.js';
import { parseIp } from '../../src/wire/address.js';
import { formatPacket } from '../../src/wire/format.js';
import { tsharkMissing, tsharkRows, ourRow, compareRows, FIELDS } from './fields.js';

const A = parseIp('198.18.0.1')!;
const B = parseIp('198.18.0.2')!;
const A6 = parseIp('2001:db8::1')!;
const B6 = parseIp('2001:db8::2')!;
const base = { srcPort: 49152, dstPort: 8080, seq: 0xfffffff0, ack: 0, window: 65535, urgent: 0, options: {}, payload: new Uint8Array(0) };
const data = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: synack\r\n\r\n');

function packets(): { name: string; pkt: Uint8Array }[] {
  const syn = buildTcpPacket(A, B, { ...base, flags: TcpFlag.SYN, options: { mss: 1460, sackPermitted: true, timestamp: { val: 4294967295, ecr: 0 }, wscale: 14 } }, { ident: 0x1234 });
  return [
    { name: 'SYN with every option', pkt: syn },
    { name: 'SYN-ACK', pkt: buildTcpPacket(B, A, { ...base, srcPort: 8080, dstPort: 49152, seq: 77, ack: 0xfffffff1, flags: TcpFlag.SYN | TcpFlag.ACK, window: 28960, options: { mss: 1400, sackPermitted: true, timestamp: { val: 99, ecr: 4294967295 }, wscale: 7 } }) },
    { name: 'data with PSH and SACK blocks', pkt: buildTcpPacket(A, B, { ...base, seq: 0xfffffff1, ack: 78, flags: TcpFlag.PSH | TcpFlag.ACK, window: 502, options: { timestamp: { val: 100, ecr: 99 }, sack: [{ left: 1000, right: 2000 }, { left: 3000, right: 4000 }, { left: 5000, right: 6000 }] }, payload: data }) },
    { name: 'urgent data with ECE/CWR', pkt: buildTcpPacket(A, B, { ...base, seq: 5, ack: 78, flags: TcpFlag.URG | TcpFlag.ACK | TcpFlag.ECE | TcpFlag.CWR | TcpFlag.PSH, urgent: 3, payload: data.subarray(0, 5) }) },
    { name: 'FIN', pkt: buildTcpPacket(A, B, { ...base, seq: 0x11, ack: 78, flags: TcpFlag.FIN | TcpFlag.ACK, options: { timestamp: { val: 101, ecr: 99 } } }) },
    { name: 'RST', pkt: buildTcpPacket(B, A, { ...base, srcPort: 8080, dstPort: 49152, seq: 78, flags: TcpFlag.RST, window: 0 }, { dontFragment: false }) },
    { name: 'IPv6 TCP SYN', pkt: buildTcpPacket(A6, B6, { ...base, flags: TcpFlag.SYN, options: { mss: 1440, sackPermitted: true, timestamp: { val: 1, ecr: 0 }, wscale: 7 } }, { ttl: 255, flowLabel: 0xabcde }) },
    { name: 'IPv6 TCP data', pkt: buildTcpPacket(A6, B6, { ...base, flags: TcpFlag.ACK | TcpFlag.PSH, ack: 1, payload: data }) },
    { name: 'UDP', pkt: buildUdpPacket(A, B, { srcPort: 40000, dstPort: 40001, payload: data }) },
    { name: 'UDP over IPv6', pkt: buildUdpPacket(A6, B6, { srcPort: 40000, dstPort: 40001, payload: data.subarray(0, 7) }) },
    { name: 'ICMP echo request', pkt: buildIcmpPacket(A, B, { kind: 'echo-request', id: 0x4242, seq: 7, data: data.subarray(0, 24) }) },
    { name: 'ICMP echo reply', pkt: buildIcmpPacket(B, A, { kind: 'echo-reply', id: 0x4242, seq: 7, data: data.subarray(0, 24) }) },
    { name: 'ICMP unreachable quoting a TCP header', pkt: buildIcmpPacket(B, A, { kind: 'dst-unreachable', code: 3, quoted: syn }) },
    { name: 'ICMP fragmentation needed', pkt: buildIcmpPacket(B, A, { kind: 'packet-too-big', mtu: 1280, quoted: syn }) },
    { name: 'ICMP time exceeded', pkt: buildIcmpPacket(B, A, { kind: 'time-exceeded', code: 0, quoted: syn }) },
    { name: 'ICMPv6 echo request', pkt: buildIcmpPacket(A6, B6, { kind: 'echo-request', id: 9, seq: 1, data: data.subarray(0, 16) }) },
    { name: 'ICMPv6 packet too big', pkt: buildIcmpPacket(B6, A6, { kind: 'packet-too-big', mtu: 1280, quoted: buildTcpPacket(A6, B6, { ...base, flags: TcpFlag.ACK, payload: data }) }) },
    { name: 'ICMPv6 unreachable', pkt: buildIcmpPacket(B6, A6, { kind: 'dst-unreachable', code: 4, quoted: buildUdpPacket(A6, B6, { srcPort: 40000, dstPort: 40001, payload: data.subarray(0, 3) }) }) },
  ];
}

for (const linkType of [LinkType.RAW, LinkType.IPV4] as const) {
  test(`tshark dissects what wire/ emits identically (pcap linktype ${linkType})`, (t) => {
    const missing = tsharkMissing();
    if (missing) return t.skip(missing);
    const pk = packets().filter((p) => linkType === LinkType.RAW || p.pkt[0]! >>> 4 === 4);
    const dir = mkdtempSync(join(tmpdir(), 'synack-oracle-'));
    try {
      const file = join(dir, 'emitted.pcap');
      const chunks: Uint8Array[] = [];
      const w = new PcapWriter((c) => chunks.push(c), { linkType, nanos: linkType === LinkType.IPV4 });
      pk.forEach((p, i) => w.writePacket(p.pkt, 1_700_000_000_000 + i));
      writeFileSync(file, Buffer.concat(chunks));
      const { rows, malformed, errors } = tsharkRows(file);
      assert.deepEqual(malformed, [], 'tshark found malformed packets');
      assert.deepEqual(errors, [], 'tshark reported errors (bad checksums?)');
      assert.equal(rows.length, pk.length);
      let compared = 0;
      pk.forEach((p, i) => {
        assert.ok(parseIpPacket(p.pkt).ok);
        const ours = ourRow(p.pkt);
        const theirs = rows[i]!;
        assert.deepEqual(compareRows(theirs, ours), [], `${p.name}: ${formatPacket(p.pkt)}`);
        for (const f of FIELDS) if (ours[f] !== '') compared++;
        for (const f of FIELDS) if (f.endsWith('checksum.status') && theirs[f] !== '') assert.ok(!theirs[f].split(',').includes('0'), `${p.name}: ${f} bad`);
      });
      assert.ok(compared > 200, `only ${compared} field values compared`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
