// The tcpdump-style one-line formatter and flag/option helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPacket, formatTcpFlagsShort } from '../../src/wire/format.js';
import { tcpFlagsToString, formatTcpOptions, TcpFlag } from '../../src/wire/tcp.js';
import { buildTcpPacket, buildUdpPacket, buildIcmpPacket } from '../../src/wire/packet.js';
import { A, B, A6, B6, tcp } from './arb.js';

test('a SYN prints exactly like tcpdump -n -S', () => {
  const p = buildTcpPacket(A, B, tcp({ seq: 1234, options: { mss: 1460, sackPermitted: true, timestamp: { val: 1, ecr: 0 }, wscale: 7 } }));
  assert.equal(formatPacket(p), '198.18.0.1.49152 > 198.18.0.2.80: Flags [S], seq 1234, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0');
});

test('data, ACK-only, FIN, RST and URG segments', () => {
  const data = buildTcpPacket(B, A, tcp({ srcPort: 80, dstPort: 49152, flags: TcpFlag.PSH | TcpFlag.ACK, seq: 10, ack: 1235, window: 502, payload: new Uint8Array(100), options: { timestamp: { val: 9, ecr: 1 } } }));
  assert.equal(formatPacket(data), '198.18.0.2.80 > 198.18.0.1.49152: Flags [P.], seq 10:110, ack 1235, win 502, options [nop,nop,TS val 9 ecr 1], length 100');
  const ack = buildTcpPacket(A, B, tcp({ flags: TcpFlag.ACK, seq: 1235, ack: 110, window: 500 }));
  assert.equal(formatPacket(ack), '198.18.0.1.49152 > 198.18.0.2.80: Flags [.], ack 110, win 500, length 0');
  const fin = buildTcpPacket(A, B, tcp({ flags: TcpFlag.FIN | TcpFlag.ACK, seq: 1235, ack: 110 }));
  assert.match(formatPacket(fin), /Flags \[F\.\], seq 1235, ack 110/);
  const rst = buildTcpPacket(A, B, tcp({ flags: TcpFlag.RST, seq: 7, window: 0 }));
  assert.match(formatPacket(rst), /Flags \[R\], seq 7, win 0, length 0$/);
  const urg = buildTcpPacket(A, B, tcp({ flags: TcpFlag.URG | TcpFlag.ACK | TcpFlag.ECE | TcpFlag.CWR, urgent: 3 }));
  assert.match(formatPacket(urg), /Flags \[\.UEW\], ack 0, win 65535, urg 3/);
  assert.match(formatPacket(buildTcpPacket(A, B, tcp({ flags: 0 }))), /Flags \[none\]/);
});

test('IPv6, UDP and ICMP one-liners', () => {
  assert.equal(formatPacket(buildTcpPacket(A6, B6, tcp({ flags: TcpFlag.SYN | TcpFlag.ACK, seq: 1, ack: 2 }))), '2001:db8::1.49152 > 2001:db8::2.80: Flags [S.], seq 1, ack 2, win 65535, length 0');
  assert.equal(formatPacket(buildUdpPacket(A, B, { srcPort: 5353, dstPort: 53, payload: new Uint8Array(12) })), '198.18.0.1.5353 > 198.18.0.2.53: UDP, length 12');
  assert.equal(formatPacket(buildIcmpPacket(A, B, { kind: 'echo-request', id: 3, seq: 4, data: new Uint8Array(56) })), '198.18.0.1 > 198.18.0.2: ICMP echo request, id 3, seq 4, length 64');
  assert.equal(formatPacket(buildIcmpPacket(A6, B6, { kind: 'echo-reply', id: 3, seq: 4, data: new Uint8Array(8) })), '2001:db8::1 > 2001:db8::2: ICMP6, echo reply, id 3, seq 4, length 16');
  const orig = buildTcpPacket(A, B, tcp());
  assert.equal(
    formatPacket(buildIcmpPacket(B, A, { kind: 'dst-unreachable', code: 3, quoted: orig.subarray(0, 28) })),
    '198.18.0.2 > 198.18.0.1: ICMP unreachable, code 3, quoting 198.18.0.1.49152 > 198.18.0.2.80 tcp, length 36',
  );
  assert.match(formatPacket(buildIcmpPacket(B, A, { kind: 'packet-too-big', mtu: 1400, quoted: orig.subarray(0, 28) })), /ICMP packet too big, mtu 1400/);
  assert.match(formatPacket(Uint8Array.of(0x45, 0)), /^invalid IP packet \(truncated/);
});

test('flag names and option lists', () => {
  assert.equal(tcpFlagsToString(TcpFlag.ACK | TcpFlag.SYN), 'SYN,ACK');
  assert.equal(tcpFlagsToString(0xff), 'SYN,FIN,RST,PSH,ACK,URG,ECE,CWR');
  assert.equal(tcpFlagsToString(0), '');
  assert.equal(formatTcpFlagsShort(TcpFlag.FIN | TcpFlag.PSH | TcpFlag.ACK), 'FP.');
  assert.equal(formatTcpOptions({ mss: 1460, sackPermitted: true, timestamp: { val: 1, ecr: 0 }, wscale: 7 }), 'mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7');
  assert.equal(formatTcpOptions({ sackPermitted: true, wscale: 0 }), 'nop,nop,sackOK,nop,wscale 0');
  assert.equal(formatTcpOptions({ sack: [{ left: 5, right: 10 }, { left: 20, right: 30 }] }), 'nop,nop,sack 2 {5:10} {20:30}');
  assert.equal(formatTcpOptions(Uint8Array.of(30, 4, 0xab, 0xcd, 1, 0, 9)), 'unknown-30 0xabcd,nop,eol');
});
