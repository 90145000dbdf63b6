// Property tests: emit then parse returns the repr; parse then emit reproduces the bytes of valid packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTcp, emitTcp, tcpHeaderLength, TcpView } from '../../src/wire/tcp.js';
import { parseIpv4, emitIpv4, ipv4HeaderLength, Ipv4View } from '../../src/wire/ipv4.js';
import { parseIpv6, emitIpv6 } from '../../src/wire/ipv6.js';
import { parseUdp, emitUdp } from '../../src/wire/udp.js';
import { parseIcmpv4, parseIcmpv6, emitIcmpv4, emitIcmpv6, icmpLength } from '../../src/wire/icmp.js';
import { onesSum, foldChecksum, pseudoHeaderSum } from '../../src/wire/bytes.js';
import { tcpRepr, ipv4Repr, ipv6Repr, icmpRepr, addr4, addr6, payload, u16 } from './arb.js';

const RUNS = { numRuns: 3000 };
const addrPair = fc.oneof(fc.tuple(addr4, addr4), fc.tuple(addr6, addr6));

test('TCP: emit then parse returns the repr, and re-emitting gives the same bytes', () => {
  fc.assert(
    fc.property(tcpRepr, addrPair, (repr, [src, dst]) => {
      const out = new Uint8Array(tcpHeaderLength(repr) + repr.payload.length);
      const n = emitTcp(repr, out, src, dst);
      assert.equal(n, out.length);
      assert.equal(n % 1, 0);
      const r = parseTcp(out, { src, dst });
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.value, repr);
      const again = new Uint8Array(n);
      emitTcp(r.value, again, src, dst);
      assert.deepEqual(again, out);
    }),
    RUNS,
  );
});

test('TCP: any option-less header with zero reserved bits and a good checksum re-emits byte for byte', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), payload, addrPair, (hdr, data, [src, dst]) => {
      const seg = new Uint8Array(20 + data.length);
      seg.set(hdr);
      seg.set(data, 20);
      seg[12] = 5 << 4;
      const v = TcpView.check(seg)!;
      v.fillChecksum(src, dst);
      assert.ok(v.verifyChecksum(src, dst));
      const r = parseTcp(seg, { src, dst });
      assert.ok(r.ok);
      const again = new Uint8Array(seg.length);
      emitTcp(r.value, again, src, dst);
      assert.deepEqual(again, seg);
    }),
    RUNS,
  );
});

test('IPv4: emit then parse returns the repr; parse then emit reproduces the header', () => {
  fc.assert(
    fc.property(ipv4Repr, (repr) => {
      const hl = ipv4HeaderLength(repr);
      const pkt = new Uint8Array(hl + repr.payloadLength);
      emitIpv4(repr, pkt);
      const r = parseIpv4(pkt);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.value.repr, repr);
      assert.equal(r.value.headerLength, hl);
      assert.equal(r.value.payload.length, repr.payloadLength);
      assert.equal(r.value.isFragment, repr.moreFragments || repr.fragmentOffset !== 0);
      const again = new Uint8Array(pkt.length);
      emitIpv4(r.value.repr, again);
      assert.deepEqual(again, pkt);
      assert.equal(new Ipv4View(pkt).verifyChecksum(), true);
    }),
    RUNS,
  );
});

test('IPv6: emit then parse returns the repr; parse then emit reproduces the header', () => {
  fc.assert(
    fc.property(ipv6Repr, (repr) => {
      const pkt = new Uint8Array(40 + repr.payloadLength);
      emitIpv6(repr, pkt);
      const r = parseIpv6(pkt);
      assert.ok(r.ok);
      assert.deepEqual(r.value.repr, repr);
      assert.equal(r.value.isFragment, false);
      const again = new Uint8Array(pkt.length);
      emitIpv6(r.value.repr, again);
      assert.deepEqual(again, pkt);
    }),
    RUNS,
  );
});

test('UDP: emit then parse returns the repr; checksum verifies over both pseudo-headers', () => {
  fc.assert(
    fc.property(u16, u16, payload, addrPair, (srcPort, dstPort, data, [src, dst]) => {
      const repr = { srcPort, dstPort, payload: data };
      const out = new Uint8Array(8 + data.length);
      assert.equal(emitUdp(repr, out, src, dst), out.length);
      assert.notEqual((out[6]! << 8) | out[7]!, 0, 'a computed zero is sent as 0xffff');
      const r = parseUdp(out, { src, dst });
      assert.ok(r.ok);
      assert.deepEqual(r.value, repr);
      const again = new Uint8Array(out.length);
      emitUdp(r.value, again, src, dst);
      assert.deepEqual(again, out);
    }),
    RUNS,
  );
});

test('ICMPv4 and ICMPv6: emit then parse returns the repr and re-emits identically', () => {
  fc.assert(
    fc.property(icmpRepr(false), (repr) => {
      const out = new Uint8Array(icmpLength(repr));
      assert.equal(emitIcmpv4(repr, out), out.length);
      const r = parseIcmpv4(out);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.value, repr);
      const again = new Uint8Array(out.length);
      emitIcmpv4(r.value, again);
      assert.deepEqual(again, out);
    }),
    RUNS,
  );
  fc.assert(
    fc.property(icmpRepr(true), addr6, addr6, (repr, src, dst) => {
      const out = new Uint8Array(icmpLength(repr));
      assert.equal(emitIcmpv6(repr, out, src, dst), out.length);
      const r = parseIcmpv6(out, { src, dst });
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.value, repr);
      assert.equal(foldChecksum(onesSum(out, 0, out.length, pseudoHeaderSum(src, dst, 58, out.length))), 0);
    }),
    RUNS,
  );
});

test('TCP view setters write where parse reads', () => {
  fc.assert(
    fc.property(tcpRepr, (repr) => {
      const seg = new Uint8Array(20);
      const v = new TcpView(seg);
      v.srcPort = repr.srcPort;
      v.dstPort = repr.dstPort;
      v.seq = repr.seq;
      v.ack = repr.ack;
      v.headerLength = 20;
      v.flags = repr.flags;
      v.window = repr.window;
      v.urgent = repr.urgent;
      const r = parseTcp(seg);
      assert.ok(r.ok);
      assert.deepEqual(r.value, { ...repr, options: {}, payload: new Uint8Array(0) });
      assert.equal(v.seq, repr.seq);
      assert.equal(v.ack, repr.ack);
    }),
    { numRuns: 1000 },
  );
});
