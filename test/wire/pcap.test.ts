// The pcap writer and the (streaming) reader: round trips, byte orders, link types, truncation and garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PcapWriter, PcapStreamReader, readPcap, LinkType } from '../../src/wire/pcap.js';
import { samplePackets } from './arb.js';

function writeAll(packets: Uint8Array[], opts?: ConstructorParameters<typeof PcapWriter>[1], times?: number[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter((c) => chunks.push(c), opts);
  packets.forEach((p, i) => w.writePacket(p, times?.[i] ?? 1_700_000_000_000 + i * 1.5));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

test('write then read returns the same packets and timestamps (µs and ns)', () => {
  const pkts = samplePackets();
  for (const nanos of [false, true]) {
    const file = writeAll(pkts, { nanos });
    const r = readPcap(file);
    assert.ok(r.ok);
    assert.equal(r.value.linkType, LinkType.RAW);
    assert.equal(r.value.nanos, nanos);
    assert.equal(r.value.truncated, false);
    assert.deepEqual(r.value.packets.map((p) => p.data), pkts);
    r.value.packets.forEach((p, i) => assert.ok(Math.abs(p.timeMs - (1_700_000_000_000 + i * 1.5)) < (nanos ? 1e-3 : 1e-2)));
  }
});

test('header fields are what libpcap expects', () => {
  const file = writeAll([], { nanos: true, snaplen: 1500, linkType: LinkType.IPV4 });
  const v = new DataView(file.buffer);
  assert.equal(v.getUint32(0, true), 0xa1b23c4d);
  assert.equal(v.getUint16(4, true), 2);
  assert.equal(v.getUint16(6, true), 4);
  assert.equal(v.getUint32(16, true), 1500);
  assert.equal(v.getUint32(20, true), 228);
});

test('snaplen truncates records but keeps the original length', () => {
  const big = samplePackets()[2]!;
  const r = readPcap(writeAll([big], { snaplen: 40 }));
  assert.ok(r.ok);
  assert.equal(r.value.packets[0]!.data.length, 40);
  assert.equal(r.value.packets[0]!.origLength, big.length);
});

test('big-endian files, Ethernet (with VLAN), SLL and SLL2 frames are read; non-IP frames are skipped', () => {
  const ip = samplePackets()[0]!;
  const ip6 = samplePackets()[4]!;
  const eth = (type: number, body: Uint8Array, vlan = false): Uint8Array => {
    const hdr = vlan ? [...new Array(12).fill(0xaa), 0x81, 0x00, 0, 5, type >>> 8, type & 0xff] : [...new Array(12).fill(0xaa), type >>> 8, type & 0xff];
    return new Uint8Array([...hdr, ...body]);
  };
  // Big-endian ethernet file built by hand.
  const frames = [eth(0x0800, ip), eth(0x0806, new Uint8Array(28)), eth(0x86dd, ip6, true)];
  const parts: number[] = [];
  const be32 = (x: number): number[] => [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
  parts.push(...be32(0xa1b2c3d4), 0, 2, 0, 4, ...be32(0), ...be32(0), ...be32(65535), ...be32(1));
  frames.forEach((f, i) => parts.push(...be32(100 + i), ...be32(250000), ...be32(f.length), ...be32(f.length), ...f));
  const r = readPcap(new Uint8Array(parts));
  assert.ok(r.ok);
  assert.equal(r.value.linkType, LinkType.ETHERNET);
  assert.deepEqual(r.value.packets.map((p) => p.data), [ip, ip6]);
  assert.equal(r.value.packets[0]!.timeMs, 100250);
  // Linux cooked capture v1 and v2.
  const sll = new Uint8Array([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, ...ip]);
  const sll2 = new Uint8Array([0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...ip6]);
  const r1 = readPcap(writeAll([sll], { linkType: LinkType.LINUX_SLL }));
  const r2 = readPcap(writeAll([sll2], { linkType: LinkType.LINUX_SLL2 }));
  assert.ok(r1.ok && r2.ok);
  assert.deepEqual(r1.value.packets[0]!.data, ip);
  assert.deepEqual(r2.value.packets[0]!.data, ip6);
});

test('the stream reader gives the same records however the file is chunked', () => {
  const pkts = samplePackets();
  const file = writeAll(pkts);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 50 }), (sizes) => {
      const rd = new PcapStreamReader();
      const got: Uint8Array[] = [];
      let off = 0;
      let i = 0;
      while (off < file.length) {
        const n = sizes[i++ % sizes.length]!;
        for (const rec of rd.push(file.subarray(off, off + n))) got.push(rec.data.slice());
        off += n;
      }
      assert.equal(rd.error, null);
      assert.equal(rd.bufferedBytes, 0);
      assert.deepEqual(got, pkts);
    }),
    { numRuns: 500 },
  );
});

test('truncated files keep the complete records; garbage and pcapng yield typed errors', () => {
  const file = writeAll(samplePackets());
  const cut = readPcap(file.subarray(0, file.length - 5));
  assert.ok(cut.ok);
  assert.equal(cut.value.truncated, true);
  assert.equal(cut.value.packets.length, samplePackets().length - 1);
  const tooShort = readPcap(file.subarray(0, 10));
  assert.ok(!tooShort.ok && tooShort.error.code === 'truncated');
  const ng = readPcap(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, ...new Array(40).fill(0)));
  assert.ok(!ng.ok && ng.error.code === 'unsupported');
  const huge = file.slice(0, 24 + 16);
  new DataView(huge.buffer).setUint32(24 + 8, 0x7fffffff, true);
  const h = readPcap(huge);
  assert.ok(!h.ok && h.error.code === 'malformed');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
      const withMagic = junk.slice();
      if (withMagic.length >= 4) withMagic.set([0xd4, 0xc3, 0xb2, 0xa1]);
      for (const f of [junk, withMagic]) {
        const r = readPcap(f);
        if (!r.ok) assert.equal(typeof r.error.code, 'string');
      }
    }),
    { numRuns: 2000 },
  );
});
