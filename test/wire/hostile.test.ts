// Hostile input: truncations, lies in length fields, bad options, wrong checksums and random bytes
// never throw and always yield a typed error (ARCHITECTURE rule 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Parsed, WireErrorCode } from '../../src/wire/result.js';
import { parseIpPacket } from '../../src/wire/packet.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { parseIpv6 } from '../../src/wire/ipv6.js';
import { parseTcp, TcpFlag } from '../../src/wire/tcp.js';
import { parseUdp } from '../../src/wire/udp.js';
import { parseIcmpv4, parseIcmpv6, parseQuoted } from '../../src/wire/icmp.js';
import { formatPacket } from '../../src/wire/format.js';
import { buildTcpPacket } from '../../src/wire/packet.js';
import { samplePackets, A, B, tcp } from './arb.js';

const CODES: readonly WireErrorCode[] = ['truncated', 'bad-version', 'bad-header-length', 'bad-total-length', 'bad-checksum', 'bad-option', 'bad-data-offset', 'unsupported', 'malformed'];

function expectError<T>(r: Parsed<T>, ...codes: WireErrorCode[]): void {
  assert.equal(r.ok, false, 'expected a typed error');
  if (!r.ok) {
    assert.ok(CODES.includes(r.error.code), `unknown code ${r.error.code}`);
    if (codes.length) assert.ok(codes.includes(r.error.code), `got ${r.error.code} (${r.error.message}), wanted ${codes.join('|')}`);
    assert.equal(typeof r.error.message, 'string');
  }
}

/** Parse a whole IP packet and its upper layer, checksums on, as the stack will. */
function parseAll(pkt: Uint8Array): Parsed<unknown> {
  const ip = parseIpPacket(pkt);
  if (!ip.ok) return ip;
  const { protocol, payload, src, dst, version } = ip.value;
  if (protocol === 6) return parseTcp(payload, { src, dst });
  if (protocol === 17) return parseUdp(payload, { src, dst });
  if (protocol === 1 && version === 4) return parseIcmpv4(payload);
  if (protocol === 58) return parseIcmpv6(payload, { src, dst });
  return ip;
}

test('every sample packet parses cleanly in full', () => {
  for (const p of samplePackets()) {
    const r = parseAll(p);
    assert.ok(r.ok, formatPacket(p));
  }
});

test('every truncation of every valid packet yields a typed error', () => {
  let n = 0;
  for (const p of samplePackets()) {
    for (let len = 0; len < p.length; len++) {
      expectError(parseAll(p.subarray(0, len)), 'truncated', 'bad-total-length');
      formatPacket(p.subarray(0, len)); // must not throw either
      n++;
    }
  }
  assert.ok(n > 500, `only ${n} truncations`);
});

test('every truncation of a bare TCP segment is rejected once the checksum is checked', () => {
  const pkt = samplePackets()[2]!;
  const seg = pkt.subarray(20);
  for (let len = 0; len < seg.length; len++) expectError(parseTcp(seg.subarray(0, len), { src: A, dst: B }), 'truncated', 'bad-data-offset', 'bad-checksum');
});

test('IPv4 header-length and total-length lies', () => {
  const p = samplePackets()[0]!.slice();
  for (let ihl = 0; ihl < 5; ihl++) {
    const q = p.slice();
    q[0] = 0x40 | ihl;
    expectError(parseIpv4(q, { verifyChecksum: false }), 'bad-header-length');
  }
  const short = p.slice(0, 24); // IHL 15 claims 60 bytes
  short[0] = 0x4f;
  expectError(parseIpv4(short, { verifyChecksum: false }), 'bad-header-length');
  for (const total of [0, 19, p.length + 1, 0xffff]) {
    const q = p.slice();
    q[2] = total >>> 8;
    q[3] = total & 0xff;
    expectError(parseIpv4(q, { verifyChecksum: false }), 'bad-total-length');
  }
  const v = p.slice();
  v[0] = 0x55;
  expectError(parseIpv4(v), 'bad-version');
  // Link padding after total length is ignored, not an error.
  const padded = new Uint8Array(p.length + 6);
  padded.set(p);
  const r = parseIpv4(padded);
  assert.ok(r.ok);
  assert.equal(r.value.payload.length, p.length - 20);
});

test('TCP data offset below 5 or past the end', () => {
  const seg = samplePackets()[0]!.slice(20);
  for (let d = 0; d < 5; d++) {
    const q = seg.slice();
    q[12] = d << 4;
    expectError(parseTcp(q), 'bad-data-offset');
  }
  const q = seg.slice(0, 24);
  q[12] = 15 << 4;
  expectError(parseTcp(q), 'bad-data-offset');
});

test('TCP option lengths of 0, 1, overrunning, or wrong for the kind', () => {
  const mk = (opts: number[]): Uint8Array => {
    const padded = [...opts];
    while (padded.length % 4) padded.push(0);
    const seg = new Uint8Array(20 + padded.length);
    seg[12] = ((20 + padded.length) / 4) << 4;
    seg.set(padded, 20);
    return seg;
  };
  expectError(parseTcp(mk([2, 0, 5, 0xb4])), 'bad-option');
  expectError(parseTcp(mk([2, 1, 5, 0xb4])), 'bad-option');
  expectError(parseTcp(mk([1, 1, 8, 30, 0, 0, 0, 0])), 'bad-option'); // overruns
  expectError(parseTcp(mk([1, 1, 1, 99])), 'bad-option'); // kind with no room for a length
  expectError(parseTcp(mk([2, 6, 5, 0xb4, 0, 0])), 'bad-option'); // MSS must be 4 long
  expectError(parseTcp(mk([5, 9, 0, 0, 0, 0, 0, 0, 0])), 'bad-option'); // SACK not 2+8n
  expectError(parseTcp(mk([8, 8, 0, 0, 0, 0, 0, 0])), 'bad-option');
  // Unknown options are skipped by length; EOL ends the list even if garbage follows.
  const ok1 = parseTcp(mk([30, 4, 0xaa, 0xbb, 2, 4, 5, 0xb4, 253, 2, 3, 3, 7]));
  assert.ok(ok1.ok);
  assert.deepEqual(ok1.value.options, { mss: 1460, wscale: 7 });
  const ok2 = parseTcp(mk([3, 3, 2, 0, 0xff, 0xff, 0xff]));
  assert.ok(ok2.ok);
  assert.deepEqual(ok2.value.options, { wscale: 2 });
});

test('wrong checksums are caught at every layer', () => {
  for (const p of samplePackets()) {
    // Flip a bit in the last byte: upper-layer checksum fails (or the IPv4 header if it is the header).
    const q = p.slice();
    q[q.length - 1] = q[q.length - 1]! ^ 0x10;
    expectError(parseAll(q), 'bad-checksum');
    if (p[0]! >>> 4 === 4) {
      const h = p.slice();
      h[8] = h[8]! ^ 1; // TTL changed without fixing the header checksum
      expectError(parseIpv4(h), 'bad-checksum');
      assert.ok(parseIpv4(h, { verifyChecksum: false }).ok);
    }
  }
  const udp6 = samplePackets()[6]!.slice();
  udp6[46] = 0;
  udp6[47] = 0;
  expectError(parseAll(udp6), 'bad-checksum'); // zero UDP checksum is illegal over IPv6
});

test('IPv6 extension headers are walked; bad ones yield typed errors', () => {
  const base = buildTcpPacket(parseIp6('2001:db8::1'), parseIp6('2001:db8::2'), tcp({ flags: TcpFlag.SYN }));
  const upper = base.subarray(40);
  const withExt = (exts: number[][]): Uint8Array => {
    const total = exts.reduce((n, e) => n + e.length, 0);
    const pkt = new Uint8Array(40 + total + upper.length);
    pkt.set(base.subarray(0, 40));
    pkt[4] = (total + upper.length) >>> 8;
    pkt[5] = (total + upper.length) & 0xff;
    let off = 40;
    for (const e of exts) {
      pkt.set(e, off);
      off += e.length;
    }
    pkt.set(upper, off);
    return pkt;
  };
  // Hop-by-hop (8 bytes, PadN) -> Routing (24 bytes) -> Fragment (offset 0, M=1) -> Dest opts -> TCP.
  const hbh = [43, 0, 1, 4, 0, 0, 0, 0];
  const rt = [44, 2, 0, 0, ...new Array(20).fill(0)];
  const frag = [60, 0, 0, 1, 0, 0, 0, 42];
  const dst = [6, 0, 1, 4, 0, 0, 0, 0];
  const pkt = withExt([hbh, rt, frag, dst]);
  pkt[6] = 0;
  const r = parseIpv6(pkt);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.deepEqual(r.value.extensionHeaders, [0, 43, 44, 60]);
  assert.equal(r.value.repr.nextHeader, 6);
  assert.equal(r.value.isFragment, true);
  assert.equal(r.value.headerLength, 40 + 8 + 24 + 8 + 8);
  assert.deepEqual(r.value.payload, upper);
  // A later fragment stops the walk at the fragment header.
  const later = withExt([[6, 0, 0x05, 0x00, 0, 0, 0, 1]]);
  later[6] = 44;
  const rl = parseIpv6(later);
  assert.ok(rl.ok);
  assert.equal(rl.value.isFragment, true);
  assert.equal(rl.value.repr.nextHeader, 6);
  // No Next Header: empty upper layer.
  const none = withExt([]);
  none[6] = 59;
  const rn = parseIpv6(none);
  assert.ok(rn.ok);
  assert.equal(rn.value.payload.length, 0);
  // An extension header whose length overruns the payload.
  const over = withExt([[6, 200, 0, 0, 0, 0, 0, 0]]);
  over[6] = 60;
  expectError(parseIpv6(over), 'truncated');
  // Hop-by-hop not first.
  const late = withExt([[0, 0, 1, 4, 0, 0, 0, 0], [6, 0, 1, 4, 0, 0, 0, 0]]);
  late[6] = 60;
  expectError(parseIpv6(late), 'malformed');
  // Payload length lies.
  const lie = base.slice();
  lie[4] = 0xff;
  expectError(parseIpv6(lie), 'bad-total-length');
});

test('parseQuoted reads the original ports and sequence number, and rejects short quotes', () => {
  const orig = buildTcpPacket(A, B, tcp({ seq: 0xdeadbeef }));
  const q = parseQuoted(orig.subarray(0, 28));
  assert.ok(q.ok);
  assert.deepEqual({ ...q.value, src: [...q.value.src], dst: [...q.value.dst] }, { src: [...A], dst: [...B], protocol: 6, srcPort: 49152, dstPort: 80, seq: 0xdeadbeef });
  for (let len = 0; len < 24; len++) expectError(parseQuoted(orig.subarray(0, len)));
});

test('random bytes never throw (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(0x40, 0x45, 0x4f, 0x60, 0), (bytes, first) => {
      const b = bytes.slice();
      if (b.length && first) b[0] = first | (b[0]! & (first === 0x40 || first === 0x60 ? 0x0f : 0));
      for (const r of [parseAll(b), parseTcp(b), parseUdp(b), parseIcmpv4(b), parseIcmpv6(b, { src: b, dst: b }), parseQuoted(b), parseIpv6(b), parseIpv4(b)]) {
        if (!r.ok) expectError(r);
      }
      assert.equal(typeof formatPacket(b), 'string');
    }),
    { numRuns: 5000 },
  );
});

function parseIp6(s: string): Uint8Array {
  const parts = s.split('::');
  const out = new Uint8Array(16);
  const head = parts[0]!.split(':').filter(Boolean).map((x) => parseInt(x, 16));
  const tail = (parts[1] ?? '').split(':').filter(Boolean).map((x) => parseInt(x, 16));
  head.forEach((w, i) => ((out[i * 2] = w >>> 8), (out[i * 2 + 1] = w & 0xff)));
  tail.forEach((w, i) => ((out[(8 - tail.length + i) * 2] = w >>> 8), (out[(8 - tail.length + i) * 2 + 1] = w & 0xff)));
  return out;
}
