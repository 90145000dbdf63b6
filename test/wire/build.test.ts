// The fast packet builders against field-by-field references: the IPv4 header written from its
// fields, TCP emitted at an offset inside a larger buffer, packets carved from a shared slab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emitIpv4Header, Ipv4View, parseIpv4 } from '../../src/wire/ipv4.js';
import { emitTcp, tcpHeaderLength, parseTcp } from '../../src/wire/tcp.js';
import { buildTcpPacket, allocPacket, parseIpPacket } from '../../src/wire/packet.js';
import { tcpRepr, addr4, addr6, u16 } from './arb.js';

const RUNS = { numRuns: 2000 };
const byte = fc.integer({ min: 0, max: 255 });

test('emitIpv4Header writes what the view setters plus fillChecksum write, at any offset', () => {
  fc.assert(
    fc.property(addr4, addr4, byte, fc.nat(0xffff - 20), byte, byte, u16, u16, fc.nat(9), (src, dst, proto, len, ttl, tos, ident, frag, at) => {
      const fast = new Uint8Array(at + 20).fill(0xaa);
      emitIpv4Header(fast, at, src, dst, proto, len, ttl, tos, ident, frag);
      const ref = new Uint8Array(20);
      const v = new Ipv4View(ref);
      v.version = 4;
      v.headerLength = 20;
      v.tos = tos;
      v.totalLength = 20 + len;
      v.ident = ident;
      ref[6] = frag >>> 8;
      ref[7] = frag & 0xff;
      v.ttl = ttl;
      v.protocol = proto;
      v.src = src;
      v.dst = dst;
      v.fillChecksum();
      assert.deepEqual(fast.subarray(at), ref);
      assert.ok(fast.subarray(0, at).every((b) => b === 0xaa), 'bytes before the header are untouched');
      assert.ok(Ipv4View.check(ref)!.verifyChecksum());
    }),
    RUNS,
  );
});

test('emitTcp at an offset (odd ones too) writes the same bytes as into a buffer of its own', () => {
  fc.assert(
    fc.property(tcpRepr, fc.oneof(fc.tuple(addr4, addr4), fc.tuple(addr6, addr6)), fc.nat(13), (repr, [src, dst], at) => {
      const n = tcpHeaderLength(repr) + repr.payload.length;
      const alone = new Uint8Array(n);
      emitTcp(repr, alone, src, dst);
      const big = new Uint8Array(at + n + 5).fill(0x5c);
      assert.equal(emitTcp(repr, big, src, dst, at), n);
      assert.deepEqual(big.subarray(at, at + n), alone);
      assert.ok(big.subarray(0, at).every((b) => b === 0x5c));
      assert.ok(big.subarray(at + n).every((b) => b === 0x5c));
    }),
    RUNS,
  );
});

test('buildTcpPacket over IPv4 is an IPv4 header then the emitted segment, both checksums verifying', () => {
  fc.assert(
    fc.property(tcpRepr, addr4, addr4, byte, (repr, src, dst, ttl) => {
      const pkt = buildTcpPacket(src, dst, repr, { ttl });
      const n = tcpHeaderLength(repr) + repr.payload.length;
      assert.equal(pkt.length, 20 + n);
      const seg = new Uint8Array(n);
      emitTcp(repr, seg, src, dst);
      assert.deepEqual(pkt.subarray(20), seg);
      const ip = parseIpv4(pkt);
      assert.ok(ip.ok);
      assert.equal(ip.value.repr.ttl, ttl);
      assert.equal(ip.value.repr.dontFragment, true);
      assert.deepEqual([...ip.value.repr.src], [...src]);
      assert.deepEqual([...ip.value.repr.dst], [...dst]);
      const p = parseIpPacket(pkt);
      assert.ok(p.ok);
      const t = parseTcp(p.value.payload, { src, dst });
      assert.ok(t.ok, 'TCP checksum verifies');
      assert.equal(t.value.seq, repr.seq);
    }),
    RUNS,
  );
});

test('packets from the slab are zeroed, disjoint, 8-byte aligned and never handed out twice', () => {
  const seen: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) {
    const n = 1 + ((i * 7919) % 1600);
    const p = allocPacket(n);
    assert.equal(p.length, n);
    assert.equal(p.byteOffset % 8, 0);
    assert.ok(p.every((b) => b === 0));
    p.fill(i & 0xff || 1);
    seen.push(p);
  }
  // Writing each packet did not disturb any other.
  seen.forEach((p, i) => assert.ok(p.every((b) => b === (i & 0xff || 1)), `packet ${i} intact`));
  const big = allocPacket(65535);
  assert.equal(big.byteOffset, 0);
  assert.equal(big.buffer.byteLength, 65535, 'a large packet gets a buffer of its own');
});
