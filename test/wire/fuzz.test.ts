// Seeded mutation fuzzing of every wire/ parser: at least one million inputs (SYNACK_FUZZ_N overrides),
// none may throw, every rejection carries a known error code, and no parser reads outside its view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/util/random.js';
import type { Parsed, WireErrorCode } from '../../src/wire/result.js';
import { parseIpPacket, buildTcpPacket } from '../../src/wire/packet.js';
import { parseTcp } from '../../src/wire/tcp.js';
import { parseUdp } from '../../src/wire/udp.js';
import { parseIcmpv4, parseIcmpv6, parseQuoted } from '../../src/wire/icmp.js';
import { emitIpv4, ipv4HeaderLength } from '../../src/wire/ipv4.js';
import { onesSum, foldChecksum, pseudoHeaderSum } from '../../src/wire/bytes.js';
import { formatPacket } from '../../src/wire/format.js';
import { readPcap, PcapWriter } from '../../src/wire/pcap.js';
import { samplePackets, tcp, A, B } from './arb.js';

const N = Number(process.env['SYNACK_FUZZ_N'] ?? 1_000_000);
const KNOWN = new Set<WireErrorCode>(['truncated', 'bad-version', 'bad-header-length', 'bad-total-length', 'bad-checksum', 'bad-option', 'bad-data-offset', 'unsupported', 'malformed']);
const INTERESTING = [0, 1, 2, 4, 5, 8, 10, 15, 0x40, 0x45, 0x4f, 0x50, 0x60, 0x7f, 0x80, 0xf0, 0xff];

/** One summary line per parse, so two runs over the same bytes can be compared. */
function summary(r: Parsed<unknown>): string {
  if (!r.ok) return `E:${r.error.code}`;
  return JSON.stringify(r.value, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v).join('.') : v));
}

/** Parse as the stack will: IP, then the upper layer with checksums, then any ICMP quote. */
function parseAll(pkt: Uint8Array, codes: Map<string, number>): string {
  const out: string[] = [];
  const note = (r: Parsed<unknown>): void => {
    if (!r.ok) {
      if (!KNOWN.has(r.error.code) || typeof r.error.message !== 'string') throw new Error(`bad error ${JSON.stringify(r.error)}`);
      codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
    } else codes.set('ok', (codes.get('ok') ?? 0) + 1);
    out.push(summary(r));
  };
  const ip = parseIpPacket(pkt);
  note(ip);
  if (!ip.ok) return out.join('|');
  const { protocol, payload, src, dst, version } = ip.value;
  if (protocol === 6) note(parseTcp(payload, { src, dst }));
  else if (protocol === 17) note(parseUdp(payload, { src, dst }));
  else if (protocol === 1 || protocol === 58) {
    const r = version === 4 ? parseIcmpv4(payload) : parseIcmpv6(payload, { src, dst });
    note(r);
    if (r.ok && 'quoted' in r.value) note(parseQuoted(r.value.quoted));
  }
  return out.join('|');
}

/** Recompute the IPv4 header checksum and the upper-layer checksum so mutations reach deeper code. */
function fixChecksums(p: Uint8Array): void {
  if (p.length >= 20 && p[0]! >>> 4 === 4) {
    const hl = (p[0]! & 0x0f) * 4;
    if (hl >= 20 && hl <= p.length) {
      p[10] = p[11] = 0;
      const c = foldChecksum(onesSum(p, 0, hl));
      p[10] = c >>> 8;
      p[11] = c & 0xff;
    }
  }
  const ip = parseIpPacket(p, { verifyChecksum: false });
  if (!ip.ok) return;
  const { protocol, payload: u, src, dst, version } = ip.value;
  const at = protocol === 6 ? 16 : protocol === 17 ? 6 : protocol === 1 || protocol === 58 ? 2 : -1;
  if (at < 0 || u.length < at + 2) return;
  u[at] = u[at + 1] = 0;
  const pseudo = protocol === 1 && version === 4 ? 0 : pseudoHeaderSum(src, dst, protocol, u.length);
  const c = foldChecksum(onesSum(u, 0, u.length, pseudo));
  u[at] = c >>> 8;
  u[at + 1] = c & 0xff;
}

function corpus(): Uint8Array[] {
  const base = samplePackets();
  // An IPv4 packet with options, and an IPv6 packet with Hop-by-Hop + Fragment headers.
  const seg = buildTcpPacket(A, B, tcp({ options: { mss: 536 } })).subarray(20);
  const ipo = { src: A, dst: B, protocol: 6, ttl: 1, tos: 0, ident: 9, dontFragment: false, moreFragments: true, fragmentOffset: 0, options: Uint8Array.of(7, 7, 4, 0, 0, 0, 0), payloadLength: seg.length };
  const withOpts = new Uint8Array(ipv4HeaderLength(ipo) + seg.length);
  emitIpv4(ipo, withOpts);
  withOpts.set(seg, ipv4HeaderLength(ipo));
  const six = base[4]!;
  const ext = new Uint8Array(six.length + 16);
  ext.set(six.subarray(0, 40));
  ext[6] = 0;
  ext.set([44, 0, 1, 4, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 1], 40);
  ext.set(six.subarray(40), 56);
  ext[5] = ext[5]! + 16;
  fixChecksums(ext);
  return [...base, withOpts, ext];
}

test(`fuzz: ${N.toLocaleString('en')} mutated and random inputs never throw and never read outside their view`, () => {
  const rnd = seededRandom(0x5eed);
  const r = (n: number): number => rnd.u32() % n;
  const seeds = corpus();
  const codes = new Map<string, number>();
  const scratch = new Uint8Array(2048);
  const started = Date.now();
  let formatted = 0;
  for (let i = 0; i < N; i++) {
    let input: Uint8Array;
    const mode = r(16);
    if (mode === 0) {
      input = rnd.fill(new Uint8Array(r(120)));
      if (input.length && r(2)) input[0] = (r(2) ? 0x40 : 0x60) | (input[0]! & 0x0f);
    } else {
      const src = seeds[r(seeds.length)]!;
      const len = Math.min(src.length + 64, scratch.length);
      input = scratch.subarray(0, len);
      input.set(src);
      rnd.fill(input.subarray(src.length));
      let end = src.length;
      const muts = 1 + r(4);
      for (let m = 0; m < muts; m++) {
        const k = r(6);
        const at = r(end);
        if (k <= 1) input[at] = input[at]! ^ (1 << r(8));
        else if (k === 2) input[at] = INTERESTING[r(INTERESTING.length)]!;
        else if (k === 3) end = r(end + 1);
        else if (k === 4) end = Math.min(len, end + r(64));
        else input[at] = r(256);
      }
      input = input.subarray(0, end);
      if (r(2)) fixChecksums(input);
    }
    let first: string;
    try {
      first = parseAll(input, codes);
      if ((i & 7) === 0) {
        formatted++;
        if (typeof formatPacket(input) !== 'string') throw new Error('formatPacket returned a non-string');
      }
    } catch (e) {
      assert.fail(`input #${i} threw ${String(e)}: ${Buffer.from(input).toString('hex')}`);
    }
    // Out-of-view reads: the same bytes embedded in garbage must parse identically.
    if ((i & 15) === 1) {
      const big = rnd.fill(new Uint8Array(input.length + 13));
      big.set(input, 5);
      assert.equal(parseAll(big.subarray(5, 5 + input.length), new Map()), first, `input #${i} depends on bytes outside its view`);
    }
  }
  // pcap reader over mutated files.
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter((c) => chunks.push(c));
  for (const s of seeds) w.writePacket(s, 1);
  const file = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((off, c) => (file.set(c, off), off + c.length), 0);
  for (let i = 0; i < 20000; i++) {
    const f = file.slice(0, r(file.length + 1));
    for (let m = 0; m < 3; m++) if (f.length) f[r(f.length)] = r(256);
    const res = readPcap(f);
    if (!res.ok) assert.ok(KNOWN.has(res.error.code));
  }
  const ms = Date.now() - started;
  const table = [...codes.entries()].sort().map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`fuzz: ${N} inputs (${formatted} formatted) in ${ms} ms: ${table}`);
  // The mutations must actually reach every layer's checks.
  for (const c of ['ok', 'truncated', 'bad-version', 'bad-header-length', 'bad-total-length', 'bad-checksum', 'bad-option', 'bad-data-offset']) {
    assert.ok((codes.get(c) ?? 0) > 0, `no input produced ${c}`);
  }
});
