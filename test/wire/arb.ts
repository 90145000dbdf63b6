// fast-check arbitraries and sample packets shared by the wire/ tests (not a test file itself).
import fc from 'fast-check';
import type { TcpRepr, TcpOptions } from '../../src/wire/tcp.js';
import type { Ipv4Repr } from '../../src/wire/ipv4.js';
import type { Ipv6Repr } from '../../src/wire/ipv6.js';
import type { IcmpRepr } from '../../src/wire/icmp.js';
import { tcpHeaderLength } from '../../src/wire/tcp.js';
import { buildTcpPacket, buildUdpPacket, buildIcmpPacket } from '../../src/wire/packet.js';
import { parseIp } from '../../src/wire/address.js';
import { TcpFlag } from '../../src/wire/tcp.js';

/** fast-check 4 builds records with a null prototype; deepStrictEqual wants ordinary objects. */
export function plain<T>(x: T): T {
  if (x instanceof Uint8Array || x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) return x.map(plain) as T;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) o[k] = plain(v);
  return o as T;
}

export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.nat(0xffffffff);
export const addr4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
export const addr6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
export const payload = fc.uint8Array({ maxLength: 300 });

const sackBlock = fc.record({ left: u32, right: u32 });

export const tcpOptions: fc.Arbitrary<TcpOptions> = fc
  .record(
    {
      mss: u16,
      wscale: fc.integer({ min: 0, max: 255 }),
      sackPermitted: fc.constant(true),
      timestamp: fc.record({ val: u32, ecr: u32 }),
      sack: fc.array(sackBlock, { minLength: 1, maxLength: 4 }),
    },
    { requiredKeys: [] },
  )
  .filter((o) => {
    // Only option sets that fit the 40-byte option space (emit drops SACK blocks beyond it).
    const fixed = (o.mss !== undefined ? 4 : 0) + (o.timestamp ? 12 : o.sackPermitted ? 4 : 0) + (o.wscale !== undefined ? 4 : 0);
    return fixed + (o.sack ? 4 + 8 * o.sack.length : 0) <= 40;
  })
  .map(plain);

export const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 255 }),
  window: u16,
  urgent: u16,
  options: tcpOptions,
  payload,
}).map(plain);

export const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
  src: addr4,
  dst: addr4,
  protocol: fc.integer({ min: 0, max: 255 }),
  ttl: fc.integer({ min: 0, max: 255 }),
  tos: fc.integer({ min: 0, max: 255 }),
  ident: u16,
  dontFragment: fc.boolean(),
  moreFragments: fc.boolean(),
  fragmentOffset: fc.integer({ min: 0, max: 0x1fff }),
  options: fc.integer({ min: 0, max: 10 }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 })),
  payloadLength: fc.integer({ min: 0, max: 1000 }),
}).map(plain);

export const ipv6Repr: fc.Arbitrary<Ipv6Repr> = fc.record({
  src: addr6,
  dst: addr6,
  // Upper-layer protocols only: extension-header values would be walked on parse.
  nextHeader: fc.constantFrom(6, 17, 58, 132, 253),
  hopLimit: fc.integer({ min: 0, max: 255 }),
  trafficClass: fc.integer({ min: 0, max: 255 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  payloadLength: fc.integer({ min: 0, max: 1000 }),
}).map(plain);

const quotedBytes = fc.uint8Array({ minLength: 0, maxLength: 100 });
export const icmpRepr = (v6: boolean): fc.Arbitrary<IcmpRepr> =>
  fc.oneof(
    fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), id: u16, seq: u16, data: payload }),
    fc.record({ kind: fc.constant('dst-unreachable' as const), code: fc.integer({ min: 0, max: 255 }).filter((c) => v6 || c !== 4), quoted: quotedBytes }),
    fc.record({ kind: fc.constant('packet-too-big' as const), mtu: v6 ? u32 : u16, quoted: quotedBytes }),
    fc.record({ kind: fc.constant('time-exceeded' as const), code: fc.integer({ min: 0, max: 255 }), quoted: quotedBytes }),
    fc.record({
      kind: fc.constant('other' as const),
      type: fc.integer({ min: 0, max: 255 }).filter((t) => (v6 ? ![1, 2, 3, 128, 129].includes(t) : ![0, 3, 8, 11].includes(t))),
      code: fc.integer({ min: 0, max: 255 }),
      body: fc.uint8Array({ maxLength: 64 }),
    }),
  ).map(plain);

export const A = parseIp('198.18.0.1')!;
export const B = parseIp('198.18.0.2')!;
export const A6 = parseIp('2001:db8::1')!;
export const B6 = parseIp('2001:db8::2')!;

export function tcp(over: Partial<TcpRepr> = {}): TcpRepr {
  return { srcPort: 49152, dstPort: 80, seq: 1000, ack: 0, flags: TcpFlag.SYN, window: 65535, urgent: 0, options: {}, payload: new Uint8Array(0), ...over };
}

/** A handful of valid packets of every kind, for truncation and mutation tests. */
export function samplePackets(): Uint8Array[] {
  const synOpts: TcpOptions = { mss: 1460, sackPermitted: true, timestamp: { val: 1, ecr: 0 }, wscale: 7 };
  const data = new Uint8Array(64).map((_, i) => i * 7);
  const unreachable = buildTcpPacket(A, B, tcp({ options: synOpts }));
  return [
    buildTcpPacket(A, B, tcp({ options: synOpts })),
    buildTcpPacket(B, A, tcp({ flags: TcpFlag.SYN | TcpFlag.ACK, ack: 1001, options: synOpts })),
    buildTcpPacket(A, B, tcp({ flags: TcpFlag.PSH | TcpFlag.ACK, seq: 1001, ack: 5001, options: { timestamp: { val: 5, ecr: 6 }, sack: [{ left: 1, right: 2 }, { left: 3, right: 4 }] }, payload: data })),
    buildTcpPacket(A, B, tcp({ flags: TcpFlag.FIN | TcpFlag.ACK, seq: 1065, ack: 5001 })),
    buildTcpPacket(A6, B6, tcp({ options: synOpts, payload: data })),
    buildUdpPacket(A, B, { srcPort: 5353, dstPort: 53, payload: data }),
    buildUdpPacket(A6, B6, { srcPort: 5353, dstPort: 53, payload: data.subarray(0, 13) }),
    buildIcmpPacket(A, B, { kind: 'echo-request', id: 7, seq: 1, data }),
    buildIcmpPacket(B, A, { kind: 'dst-unreachable', code: 3, quoted: unreachable.subarray(0, 28) }),
    buildIcmpPacket(A6, B6, { kind: 'packet-too-big', mtu: 1280, quoted: buildTcpPacket(B6, A6, tcp()).subarray(0, 48) }),
    buildIcmpPacket(A6, B6, { kind: 'echo-reply', id: 9, seq: 2, data: data.subarray(0, 7) }),
  ];
}

export { tcpHeaderLength };
