// A segment whose text comes in pieces (TcpRepr.text, SegmentText: what GRO hands TCP input for a
// joined train, stack/gro.ts) is the same segment as one carrying the pieces joined in its payload
// (RFC 9293 3.10.7.4: the segment text is their concatenation). Differential: each scenario runs on
// two connections, one given plain segments and one given the same segments split into pieces,
// and both must send the same segments, read the same bytes and end in the same state, whichever
// way the pieces fall across the parts a segment loses (text already received, text past the
// window) and out-of-order placement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { established, describe, ACK, FIN, PSH, LOCAL_ISS, type Harness } from '../helpers/tcp.js';
import { addInt } from '../../src/wire/seq.js';
import { seededRandom } from '../../src/util/random.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';
import type { SegmentText, TcpRepr } from '../../src/wire/tcp.js';
import { textLength } from '../../src/wire/tcp.js';

/** One segment from the remote: text bytes [from, from+len) of its stream (byte i is i*7 & 0xff), `flags`. */
interface Step {
  from: number;
  len: number;
  flags?: number;
}

const streamByte = (i: number): number => (i * 7 + 3) & 0xff;

function text(from: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = streamByte(from + i);
  return b;
}

/** `payload` cut into 2-6 pieces at random places (an empty piece never: GRO joins only segments with data). */
function pieces(payload: Uint8Array, rnd: () => number): SegmentText {
  const cuts = new Set<number>();
  const want = 1 + Math.floor(rnd() * 5);
  for (let i = 0; i < want && payload.length > 1; i++) cuts.add(1 + Math.floor(rnd() * (payload.length - 1)));
  const at = [0, ...[...cuts].sort((a, b) => a - b), payload.length];
  const parts: Uint8Array[] = [];
  for (let i = 1; i < at.length; i++) parts.push(payload.slice(at[i - 1], at[i]));
  // A longer array than count, as GRO's reused list is: only parts[0..count) are the text.
  return { parts: [...parts, new Uint8Array([0xee, 0xee])], count: parts.length, length: payload.length };
}

function segment(h: Harness, s: Step, split: (() => number) | null): TcpRepr {
  const payload = text(s.from, s.len);
  const seg: TcpRepr = {
    srcPort: 49152, dstPort: 80, seq: addInt(h.rseq, s.from), ack: LOCAL_ISS + 1, flags: s.flags ?? ACK, window: 65535, urgent: 0,
    options: {}, payload,
  };
  if (split === null || s.len < 2) return seg;
  const t = pieces(payload, split);
  const joined = { ...seg, payload: new Uint8Array(0), text: t };
  assert.equal(textLength(joined), s.len);
  return joined;
}

/** Run `steps` on a fresh connection, the text as one payload or in pieces; what it sent, read and ended as. */
function run(steps: Step[], over: TcpConfigInput, split: (() => number) | null) {
  const h = established(over);
  const read: number[] = [];
  const buf = new Uint8Array(4096);
  for (const s of steps) {
    h.conn.handleSegment(segment(h, s, split), h.now);
    h.poll();
    h.now += 1;
  }
  for (let k = h.conn.recvInto(buf); k > 0; k = h.conn.recvInto(buf)) read.push(...buf.subarray(0, k));
  const i = h.conn.info();
  return { out: h.out.map(describe), read, state: h.state, rcvNxt: i.rcvNxt };
}

const scenarios: [string, Step[], TcpConfigInput][] = [
  ['in order', [{ from: 0, len: 2500 }, { from: 2500, len: 3000, flags: ACK | PSH }], {}],
  ['partly received already (the pieces before RCV.NXT are skipped)', [{ from: 0, len: 1500 }, { from: 0, len: 3000 }, { from: 700, len: 2900 }], {}],
  ['all received already (a D-SACK case)', [{ from: 0, len: 3000 }, { from: 500, len: 2000 }], { sack: true }],
  ['past the window (cut at the right edge)', [{ from: 0, len: 1500 }, { from: 1500, len: 3000 }], { recvBufferSize: 2600 }],
  ['out of order, then the hole filled', [{ from: 1000, len: 2500 }, { from: 4500, len: 1200 }, { from: 0, len: 1000 }, { from: 3500, len: 1000 }], { sack: true }],
  ['out of order, overlapping what is held', [{ from: 2000, len: 2000 }, { from: 1500, len: 3500 }, { from: 0, len: 2000 }], { sack: true }],
  ['with FIN', [{ from: 0, len: 1800, flags: ACK | FIN }], {}],
  ['FIN ahead of a hole', [{ from: 1000, len: 1800, flags: ACK | FIN }, { from: 0, len: 1000 }], {}],
];

for (const [name, steps, over] of scenarios) {
  test(`a segment with its text in pieces acts as the one with it joined: ${name}`, () => {
    const whole = run(steps, over, null);
    // The stream's bytes arrive intact and in order (the plain run is the reference).
    assert.deepEqual(whole.read, [...text(0, whole.read.length)]);
    for (let seed = 1; seed <= 25; seed++) {
      const r = seededRandom(seed);
      const split = run(steps, over, () => r.u32() / 2 ** 32);
      assert.deepEqual(split, whole, `seed ${seed}`);
    }
  });
}
