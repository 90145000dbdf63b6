// Matching tests: each field of a `>` line accepts the right live segment and rejects a wrong one
// with a packetdrill-style message; inbound segments get live numbers; TS ecr remapping; several
// live segments joining into one script segment.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from '../../src/pdrill/parse.js';
import type { TcpPacketSpec } from '../../src/pdrill/ast.js';
import {
  DEFAULT_MATCH_CONFIG,
  SeqSpace,
  SegmentAggregator,
  buildInbound,
  decodeOptionList,
  encodeOptionList,
  matchOutbound,
  type MatchResult,
} from '../../src/pdrill/match.js';
import { TcpFlag, type TcpRepr } from '../../src/wire/tcp.js';

const { SYN, ACK, FIN, PSH, RST } = TcpFlag;
const STACK_ISN = 0xfffffff0; // close to wrapping, to exercise mod-2^32 arithmetic
const PORTS = { src: 40000, dst: 8080 };

function spec(line: string): TcpPacketSpec {
  const r = parseScript(`0 ${line}\n`);
  assert.deepEqual(r.errors, [], line);
  const e = r.script.events[0];
  assert.ok(e !== undefined && e.kind === 'packet');
  return e.packet;
}

function seg(p: Partial<TcpRepr>): TcpRepr {
  return { srcPort: 8080, dstPort: 40000, seq: 0, ack: 0, flags: 0, window: 65535, urgent: 0, options: {}, payload: new Uint8Array(0), ...p };
}

/** A connection where the script sent SYN (ISN 0) and the stack answered with SYN-ACK (ISN STACK_ISN). */
function established(): SeqSpace {
  const space = new SeqSpace();
  const syn = buildInbound(spec('< S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>'), space, PORTS);
  assert.ok(syn.ok);
  const r = matchOutbound(spec('> S. 0:0(0) ack 1 <...>'), seg({ seq: STACK_ISN, ack: 1, flags: SYN | ACK }), space);
  assert.ok(r.ok, JSON.stringify(r));
  return space;
}

function bad(r: MatchResult, field: string, message: string): void {
  assert.equal(r.ok, false, 'expected a mismatch');
  if (!r.ok) {
    assert.equal(r.field, field);
    assert.equal(r.message, message);
  }
}

test('the stack ISN is learned from its SYN-ACK and later seq numbers are relative to it', () => {
  const space = established();
  assert.deepEqual(space.local, { script: 0, live: STACK_ISN });
  const data = seg({ seq: STACK_ISN + 1, ack: 1001, flags: PSH | ACK, payload: new Uint8Array(1000) });
  const r = matchOutbound(spec('> P. 1:1001(1000) ack 1001'), data, space);
  assert.deepEqual(r, { ok: true, actual: 'P. 1:1001(1000) ack 1001 win 65535' });
  // wraps past 2^32: live seq 0xfffffff0 + 1 + 1000 = 0x3d9 (mod 2^32)
  const next = seg({ seq: (STACK_ISN + 1001) >>> 0, ack: 1001, flags: ACK | FIN });
  assert.ok(matchOutbound(spec('> F. 1001:1001(0) ack 1001'), next, space).ok);
});

test('flags mismatch names both flag sets', () => {
  const space = established();
  bad(
    matchOutbound(spec('> F. 1:1(0) ack 1'), seg({ seq: STACK_ISN + 1, ack: 1, flags: ACK }), space),
    'flags',
    'bad outbound TCP flags: expected F. actual .',
  );
  bad(matchOutbound(spec('> R 1:1(0)'), seg({ seq: STACK_ISN + 1, flags: RST | ACK, ack: 1 }), space), 'flags', 'bad outbound TCP flags: expected R actual R.');
});

test('seq, payload length, ack, window and urgent mismatches', () => {
  const space = established();
  const base = { seq: STACK_ISN + 1, ack: 1, flags: ACK, window: 502 };
  bad(matchOutbound(spec('> . 1:1(0) ack 1'), seg({ ...base, seq: STACK_ISN + 2 }), space), 'seq', 'bad outbound TCP seq: expected 1 actual 2');
  bad(
    matchOutbound(spec('> . 1:11(10) ack 1'), seg({ ...base, payload: new Uint8Array(5) }), space),
    'payload-length',
    'bad outbound TCP payload length: expected 10 bytes actual 5 bytes',
  );
  bad(matchOutbound(spec('> . 1:1(0) ack 1'), seg({ ...base, ack: 7 }), space), 'ack', 'bad outbound TCP ack: expected 1 actual 7');
  bad(matchOutbound(spec('> . 1:1(0) ack 1 win 500'), seg(base), space), 'window', 'bad outbound TCP window: expected 500 actual 502');
  assert.ok(matchOutbound(spec('> . 1:1(0) ack 1 win 502'), seg(base), space).ok, 'window checked when given');
  assert.ok(matchOutbound(spec('> . 1:1(0) ack 1'), seg(base), space).ok, 'window not checked when absent');
  bad(
    matchOutbound(spec('> U. 1:1(0) ack 1 urg 3'), seg({ ...base, flags: ACK | TcpFlag.URG, urgent: 4 }), space),
    'urgent',
    'bad outbound TCP urgent pointer: expected 3 actual 4',
  );
  const r = matchOutbound(spec('> . 1:1(0) ack 2'), seg(base), space);
  assert.ok(!r.ok);
  assert.equal(r.actual, '. 1:1(0) ack 1 win 502', 'the actual packet is shown in script space');
});

test('options in wire order: kinds, order, values and the <...> wildcard', () => {
  const space = new SeqSpace();
  const wire = encodeOptionList([{ kind: 'mss', value: 1460 }, { kind: 'sackOK' }, { kind: 'timestamp', val: 5555, ecr: 0 }, { kind: 'nop' }, { kind: 'wscale', value: 7 }]);
  assert.ok(wire !== null);
  assert.equal(wire.length, 20);
  const list = decodeOptionList(wire);
  assert.deepEqual(list, [{ kind: 'mss', value: 1460 }, { kind: 'sackOK' }, { kind: 'timestamp', val: 5555, ecr: 0 }, { kind: 'nop' }, { kind: 'wscale', value: 7 }]);
  const syn = seg({ seq: 777, flags: SYN, options: { mss: 1460, sackPermitted: true, timestamp: { val: 5555, ecr: 0 }, wscale: 7 } });
  const m = (line: string): MatchResult => matchOutbound(spec(line), syn, space, DEFAULT_MATCH_CONFIG, list);
  assert.ok(m('> S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>').ok, 'TS val is accepted as any value');
  assert.ok(m('> S 0:0(0) <...>').ok);
  bad(
    m('> S 0:0(0) <mss 1460,sackOK,nop,wscale 7,TS val 100 ecr 0>'),
    'options',
    'bad outbound TCP options: expected <mss 1460,sackOK,nop,wscale 7,TS val 100 ecr 0> actual <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>',
  );
  bad(m('> S 0:0(0) <mss 1400,sackOK,TS val 100 ecr 0,nop,wscale 7>'), 'option-value', 'bad outbound TCP option mss: expected mss 1400 actual mss 1460');
  bad(m('> S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>'), 'option-value', 'bad outbound TCP option wscale: expected wscale 8 actual wscale 7');
  bad(m('> S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 9,nop,wscale 7>'), 'ts-ecr', 'bad outbound TCP timestamp ecr: expected 9 actual 0');
  bad(m('> S 0:0(0)'), 'options', 'bad outbound TCP options: expected <> actual <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>');
  // Without the wire order, NOPs and order are ignored but kinds and values still count.
  assert.ok(matchOutbound(spec('> S 0:0(0) <nop,wscale 7,mss 1460,TS val 1 ecr 0,sackOK>'), syn, space).ok);
  bad(matchOutbound(spec('> S 0:0(0) <mss 1460,wscale 7>'), syn, space), 'options', 'bad outbound TCP options: expected <mss 1460,wscale 7> actual <mss 1460,sackOK,TS val 100 ecr 0,wscale 7>');
});

test('TS val tick check applies only when --tcp_ts_tick_usecs is set', () => {
  const space = new SeqSpace();
  const cfg = { ...DEFAULT_MATCH_CONFIG, tcpTsTickUsecs: 1000, toleranceUsecs: 4000 };
  const ts = (val: number, seq: number): TcpRepr => seg({ seq, flags: ACK, ack: 0, options: { timestamp: { val, ecr: 0 } } });
  assert.ok(matchOutbound(spec('> . 0:0(0) ack 0 <TS val 100 ecr 0>'), ts(9000, 0), space, cfg).ok, 'first mapping sets the baseline');
  assert.ok(matchOutbound(spec('> . 0:0(0) ack 0 <TS val 110 ecr 0>'), ts(9012, 0), space, cfg).ok, '2 ticks off: within 4 ms');
  bad(
    matchOutbound(spec('> . 0:0(0) ack 0 <TS val 120 ecr 0>'), ts(9030, 0), space, cfg),
    'ts-val',
    'bad outbound TCP timestamp value, tolerance 4000: expected 120 actual 130',
  );
});

test('SACK blocks outbound are relative to the script ISN; inbound to the stack ISN', () => {
  const space = new SeqSpace();
  assert.ok(buildInbound(spec('< S 100:100(0) win 1000'), space, PORTS, { ...DEFAULT_MATCH_CONFIG, remoteIsnOffset: 5000 }).ok);
  assert.deepEqual(space.remote, { script: 100, live: 5100 });
  assert.ok(matchOutbound(spec('> S. 0:0(0) ack 101 <...>'), seg({ seq: STACK_ISN, ack: 5101, flags: SYN | ACK }), space).ok);
  const sackSeg = seg({ seq: STACK_ISN + 1, ack: 5101, flags: ACK, options: { sack: [{ left: 6101, right: 7101 }] } });
  assert.ok(matchOutbound(spec('> . 1:1(0) ack 101 <sack 1101:2101>'), sackSeg, space).ok);
  bad(matchOutbound(spec('> . 1:1(0) ack 101 <sack 1101:2001>'), sackSeg, space), 'option-value', 'bad outbound TCP option sack: expected sack 1101:2001 actual sack 1101:2101');
  const inbound = buildInbound(spec('< . 101:101(0) ack 1 win 100 <nop,nop,sack 1001:2001>'), space, PORTS);
  assert.ok(inbound.ok);
  assert.deepEqual(inbound.repr.options.sack, [{ left: (STACK_ISN + 1001) >>> 0, right: (STACK_ISN + 2001) >>> 0 }]);
  assert.equal(inbound.repr.seq, 5101);
  assert.equal(inbound.repr.ack, (STACK_ISN + 1) >>> 0);
});

test('inbound segments: live seq/ack, flags, window, ports and zero payload', () => {
  const space = established();
  const r = buildInbound(spec('< P. 1:1001(1000) ack 1 win 257'), space, PORTS);
  assert.ok(r.ok);
  assert.deepEqual({ ...r.repr, payload: r.repr.payload.length }, {
    srcPort: 40000,
    dstPort: 8080,
    seq: 1,
    ack: (STACK_ISN + 1) >>> 0,
    flags: PSH | ACK,
    window: 257,
    urgent: 0,
    options: {},
    payload: 1000,
  });
  assert.ok(r.repr.payload.every((b) => b === 0));
  assert.equal(r.optionBytes.length, 0);
  const withPorts = buildInbound(spec('< 1234>80 S 0:0(0) win 10'), new SeqSpace(), PORTS);
  assert.ok(withPorts.ok);
  assert.deepEqual([withPorts.repr.srcPort, withPorts.repr.dstPort], [1234, 80]);
  const noAck = buildInbound(spec('< R 1:1(0) win 0'), space, PORTS);
  assert.ok(noAck.ok);
  assert.equal(noAck.repr.ack, 0, 'no ACK flag: ack field zero');
});

test('inbound TS ecr is remapped to the live TS val the script value stood for', () => {
  const space = new SeqSpace();
  const syn = buildInbound(spec('< S 0:0(0) win 1000 <mss 1000,TS val 100 ecr 0>'), space, PORTS);
  assert.ok(syn.ok);
  assert.deepEqual(syn.repr.options.timestamp, { val: 100, ecr: 0 }, 'SYN without ACK: ecr sent as written');
  const synack = seg({ seq: 9, ack: 1, flags: SYN | ACK, options: { timestamp: { val: 424242, ecr: 100 } } });
  assert.ok(matchOutbound(spec('> S. 0:0(0) ack 1 <TS val 700 ecr 100>'), synack, space).ok);
  const ack = buildInbound(spec('< . 1:1(0) ack 1 win 1000 <nop,nop,TS val 101 ecr 700>'), space, PORTS);
  assert.ok(ack.ok);
  assert.deepEqual(ack.repr.options.timestamp, { val: 101, ecr: 424242 });
  assert.deepEqual([...ack.optionBytes], [1, 1, 8, 10, 0, 0, 0, 101, 0, 6, 0x79, 0x32]);
  const unknown = buildInbound(spec('< . 1:1(0) ack 1 win 1000 <TS val 102 ecr 750>'), space, PORTS);
  assert.deepEqual(unknown, { ok: false, message: 'unable to infer live TS ecr for script TS ecr 750; no matching or preceding outbound TS val' });
  const scaled = buildInbound(spec('< . 1:1(0) ack 1 win 1000 <TS val 102 ecr 750>'), space, PORTS, { ...DEFAULT_MATCH_CONFIG, tsEcrScaled: true });
  assert.ok(scaled.ok);
  assert.equal(scaled.repr.options.timestamp?.ecr, 424292, 'interpolated from the first mapping');
});

test('outbound payload must be the zeros the runner wrote', () => {
  const space = established();
  const payload = new Uint8Array(4);
  payload[2] = 9;
  bad(
    matchOutbound(spec('> P. 1:5(4) ack 1'), seg({ seq: STACK_ISN + 1, ack: 1, flags: PSH | ACK, payload }), space),
    'payload',
    'incorrect outbound data payload: byte 2 is 9, expected 0',
  );
});

test('two 1000-byte live segments meet one script segment of 2000', () => {
  const space = established();
  const expected = spec('> P. 1:2001(2000) ack 1');
  const agg = new SegmentAggregator(expected.payloadLen);
  const a = seg({ seq: STACK_ISN + 1, ack: 1, flags: ACK, payload: new Uint8Array(1000) });
  const b = seg({ seq: (STACK_ISN + 1001) >>> 0, ack: 1, flags: PSH | ACK, payload: new Uint8Array(1000) });
  assert.deepEqual(agg.offer(a), { kind: 'partial', have: 1000, need: 2000 });
  const done = agg.offer(b);
  assert.equal(done.kind, 'complete');
  if (done.kind === 'complete') {
    assert.equal(done.parts, 2);
    assert.deepEqual(matchOutbound(expected, done.segment, space), { ok: true, actual: 'P. 1:2001(2000) ack 1 win 65535' });
  }
  assert.equal(agg.pending, 0);
  // A single full-size segment completes at once.
  assert.equal(new SegmentAggregator(1000).offer(seg({ payload: new Uint8Array(1000) })).kind, 'complete');
});

test("a joined packet takes the PSH of Linux's last TSO packet in it (packetdrill keeps the last live packet's flags)", () => {
  const psh = (starts: boolean[], lastPushed = false): boolean => {
    const agg = new SegmentAggregator(1000 * starts.length, true);
    let r: ReturnType<SegmentAggregator['offer']> | undefined;
    starts.forEach((start, i) => {
      const last = i === starts.length - 1;
      const flags = ACK | (last && lastPushed ? PSH : 0);
      r = agg.offer(seg({ seq: (STACK_ISN + 1 + 1000 * i) >>> 0, ack: 1, flags, payload: new Uint8Array(1000) }), false, start);
    });
    assert.equal(r?.kind, 'complete');
    return r?.kind === 'complete' && (r.segment.flags & PSH) !== 0;
  };
  assert.equal(psh([true, false, true, false]), true, '2+2: the last packet has two segments, Linux forces PSH');
  assert.equal(psh([true, false, true, false, true]), false, '2+2+1: the last packet is one unpushed segment');
  assert.equal(psh([true, false, true]), false, '2+1');
  assert.equal(psh([true, false, true], true), true, '2+1 where the single segment ends the write');
  assert.equal(psh([false, true]), false, 'the first part continues a packet begun before the join; the last is one segment');
  assert.equal(psh([false, false]), true, 'one packet begun before the join: more than one segment');
  // Retransmissions follow the same rule over the pieces of Linux's packets they resend
  // (sack-route-refresh-ip-tos.pkt: a hole of two segments from one packet goes out with PSH, a
  // hole spanning two packets as two segments without).
  const rtx = (starts: boolean[]): boolean => {
    const agg = new SegmentAggregator(2000, true);
    agg.offer(seg({ seq: 1, ack: 1, flags: ACK, payload: new Uint8Array(1000) }), true, starts[0]);
    const r = agg.offer(seg({ seq: 1001, ack: 1, flags: ACK, payload: new Uint8Array(1000) }), true, starts[1]);
    assert.equal(r.kind, 'complete');
    return r.kind === 'complete' && (r.segment.flags & PSH) !== 0;
  };
  assert.equal(rtx([true, false]), true, 'one piece of two segments');
  assert.equal(rtx([true, true]), false, 'two one-segment pieces');
});

test('aggregation rejects gaps, overshoot and uneven middle fragments', () => {
  const base = { ack: 1, flags: ACK };
  const gap = new SegmentAggregator(3000);
  gap.offer(seg({ ...base, seq: 1, payload: new Uint8Array(1000) }));
  assert.deepEqual(gap.offer(seg({ ...base, seq: 1500, payload: new Uint8Array(1000) })), { kind: 'mismatch', message: 'aggregate candidate seq: expected 1001 vs actual 1500' });
  const over = new SegmentAggregator(1500);
  over.offer(seg({ ...base, seq: 1, payload: new Uint8Array(1000) }));
  assert.deepEqual(over.offer(seg({ ...base, seq: 1001, payload: new Uint8Array(1000) })), {
    kind: 'mismatch',
    message: 'fragment payload: expected 1000 bytes vs actual 1000 bytes; total payload: expected 1500 bytes vs actual 2000 bytes',
  });
  const uneven = new SegmentAggregator(3000);
  uneven.offer(seg({ ...base, seq: 1, payload: new Uint8Array(1000) }));
  assert.equal(uneven.offer(seg({ ...base, seq: 1001, payload: new Uint8Array(500) })).kind, 'mismatch');
  const flags = new SegmentAggregator(2000);
  flags.offer(seg({ ...base, seq: 1, payload: new Uint8Array(1000) }));
  assert.equal(flags.offer(seg({ ...base, flags: ACK | RST, seq: 1001, payload: new Uint8Array(1000) })).kind, 'mismatch');
});

test('decodeOptionList handles EOL padding, unknown kinds and malformed lengths', () => {
  assert.deepEqual(decodeOptionList(Uint8Array.of(2, 4, 5, 0xb4, 0, 0, 0, 0)), [{ kind: 'mss', value: 1460 }, { kind: 'eol' }]);
  assert.deepEqual(decodeOptionList(Uint8Array.of(30, 4, 1, 2)), [{ kind: 'unknown', code: 30, length: 4 }]);
  assert.equal(decodeOptionList(Uint8Array.of(2, 9, 1)), null);
  assert.equal(decodeOptionList(Uint8Array.of(2)), null);
  assert.equal(decodeOptionList(Uint8Array.of(5, 1)), null);
  assert.equal(encodeOptionList([{ kind: 'sack', blocks: [1, 2, 3, 4, 5].map((n) => ({ left: n, right: n + 1 })) }]), null, 'over 40 bytes');
});
