// Send-buffer autotuning (src/tcp/send-buffer.ts), as Linux's tcp_sndbuf_expand: the buffer grows
// to twice the congestion window's worth of segments at Linux's per-segment cost, up to
// sendBufferMax, only while a writer is waiting, the congestion window is not filled and the buffer
// is smaller than the peer's window; a size the user set (sendBufferSize alone, setSendBufferSize)
// never changes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { establishedWith, activeEstablished, ACK, LOCAL_ISS, type Harness } from '../helpers/tcp.js';
import { sendBufferTarget } from '../../src/tcp/send-buffer.js';
import { resolveConfig } from '../../src/tcp/config.js';
import { add } from '../../src/wire/seq.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';

test("the target is Linux's: 2 * max(10, cwnd, reordering + 1) segments at the kernel's per-segment truesize", () => {
  // This project's kernel (6.18) reports SO_SNDBUF 46,080 for an established CUBIC socket at MSS
  // 1460 and 332,800 at 8960 (docs/performance.md, "Buffer autotuning").
  assert.equal(sendBufferTarget(1460, 0, 3), 46_080);
  assert.equal(sendBufferTarget(8960, 0, 3), 332_800);
  assert.equal(sendBufferTarget(1460, 100, 3), 2 * 100 * 2304);
  assert.equal(sendBufferTarget(1460, 5, 30), 2 * 31 * 2304); // reordering + 1 when larger
  assert.equal(sendBufferTarget(65483, 10, 3), 2 * 10 * (131072 + 256));
});

test('config: sendBufferSize alone fixes the size; sendBufferMax alone lowers the start; both must agree', () => {
  const auto = resolveConfig({});
  assert.deepEqual([auto.sendBufferSize, auto.sendBufferMax], [256 * 1024, 4 * 1024 * 1024]);
  const fixed = resolveConfig({ sendBufferSize: 100_000 });
  assert.deepEqual([fixed.sendBufferSize, fixed.sendBufferMax], [100_000, 100_000]);
  const low = resolveConfig({ sendBufferMax: 64_000 });
  assert.deepEqual([low.sendBufferSize, low.sendBufferMax], [64_000, 64_000]);
  const both = resolveConfig({ sendBufferSize: 16_384, sendBufferMax: 1 << 20 });
  assert.deepEqual([both.sendBufferSize, both.sendBufferMax], [16_384, 1 << 20]);
  // A config built on a resolved one keeps its autotuning unless the size is given again.
  assert.equal(resolveConfig({ noDelay: true }, both).sendBufferMax, 1 << 20);
  assert.equal(resolveConfig({ sendBufferSize: 32_768 }, both).sendBufferMax, 32_768);
  assert.throws(() => resolveConfig({ sendBufferSize: 1 << 20, sendBufferMax: 1000 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => resolveConfig({ sendBufferMax: 0 }), { code: 'ERR_OUT_OF_RANGE' });
});

// MSS 1000 both ways (per-segment cost 2,048 + 256), window scaling so the peer's window never
// limits, slow start as Linux grows it (by every acknowledged segment), and a writer that always
// offers more than fits.
const SCALED: TcpConfigInput = { windowScale: true, windowScaleShift: 7, slowStartAckLimit: 0 };
const PER_SEG = 2304;

const payloadBytes = (segs: readonly { payload: Uint8Array }[]): number => segs.reduce((n, s) => n + s.payload.length, 0);

interface Run {
  h: Harness;
  /** (cwnd in segments, capacity) after every ACK that changed the capacity. */
  steps: { cwndSegs: number; capacity: number }[];
}

/**
 * Bulk data until `bytes` have been acknowledged: each round the connection sends what cwnd lets
 * out, the peer acknowledges all of it in one ACK (window `window` << 7), and the writer refills.
 */
function bulk(h: Harness, bytes: number, window = 65535): Run {
  const chunk = new Uint8Array(1 << 20);
  const steps: Run['steps'] = [];
  const fill = (): void => {
    while (h.conn.send(chunk) > 0);
  };
  h.conn.hooks.onWritable = fill;
  fill();
  let acked = 0;
  let una = LOCAL_ISS + 1;
  let flight = h.poll();
  for (let round = 0; acked < bytes && round < 100; round++) {
    const sent = payloadBytes(flight);
    assert.ok(sent > 0, `round ${round}: nothing sent`);
    una = add(una, sent);
    acked += sent;
    const before = h.conn.info().sendCapacity;
    h.now += 10;
    flight = h.send({ seq: h.rseq, ack: una, flags: ACK, window });
    const capacity = h.conn.info().sendCapacity;
    if (capacity !== before) steps.push({ cwndSegs: Math.floor(h.conn.stats().cwnd / 1000), capacity });
  }
  return { h, steps };
}

test('ESTABLISHED sizes the buffer for the initial window (tcp_init_buffer_space), both ways of opening', () => {
  const cfg = { ...SCALED, sendBufferSize: 16_384, sendBufferMax: 1 << 20 };
  const passive = establishedWith(cfg, { mss: 1000, wscale: 7 });
  assert.equal(passive.conn.info().sendCapacity, 2 * 10 * PER_SEG);
  const active = activeEstablished(cfg, { mss: 1000, wscale: 7 });
  assert.equal(active.conn.info().sendCapacity, 2 * 10 * PER_SEG);
  // A fixed size stays what it is.
  assert.equal(establishedWith({ ...SCALED, sendBufferSize: 16_384 }, { mss: 1000, wscale: 7 }).conn.info().sendCapacity, 16_384);
});

test('a waiting writer: the buffer follows the congestion window, 2 * cwnd segments, up to sendBufferMax, never shrinking', () => {
  const h = establishedWith({ ...SCALED, sendBufferSize: 16_384, sendBufferMax: 1 << 20 }, { mss: 1000, wscale: 7 });
  const { steps } = bulk(h, 4 << 20);
  assert.ok(steps.length >= 3, `grew ${steps.length} times: ${JSON.stringify(steps)}`);
  let last = 2 * 10 * PER_SEG;
  for (const s of steps) {
    assert.ok(s.capacity > last, `never shrinks: ${JSON.stringify(steps)}`);
    assert.equal(s.capacity, Math.min(1 << 20, 2 * s.cwndSegs * PER_SEG), `capacity for cwnd ${s.cwndSegs}: ${JSON.stringify(steps)}`);
    last = s.capacity;
  }
  assert.equal(last, 1 << 20, 'grew to sendBufferMax and stopped there');
  assert.equal(h.conn.info().sendCapacity, 1 << 20);
});

test('SO_SNDBUF semantics: a size set by the user (in the config or with setSendBufferSize) never autotunes', () => {
  const fixed = establishedWith({ ...SCALED, sendBufferSize: 16_384 }, { mss: 1000, wscale: 7 });
  assert.deepEqual(bulk(fixed, 1 << 20).steps, []);
  assert.equal(fixed.conn.info().sendCapacity, 16_384);
  // Set while connected: grows no further from there (Linux's SOCK_SNDBUF_LOCK).
  const set = establishedWith({ ...SCALED, sendBufferSize: 16_384, sendBufferMax: 1 << 20 }, { mss: 1000, wscale: 7 });
  set.conn.setSendBufferSize(50_000);
  assert.deepEqual(bulk(set, 1 << 20).steps, []);
  assert.equal(set.conn.info().sendCapacity, 50_000);
});

test('no waiting writer, no growth: a buffer never filled keeps its size while cwnd grows', () => {
  const h = establishedWith({ ...SCALED, sendBufferSize: 16_384, sendBufferMax: 1 << 20 }, { mss: 1000, wscale: 7 });
  // 20,000 bytes at a time, never filling the 46,080-byte buffer.
  const piece = new Uint8Array(20_000);
  let una = LOCAL_ISS + 1;
  for (let round = 0; round < 20; round++) {
    assert.equal(h.conn.send(piece), piece.length);
    una = add(una, payloadBytes(h.poll()));
    h.now += 10;
    una = add(una, payloadBytes(h.send({ seq: h.rseq, ack: una, flags: ACK, window: 65535 })));
    h.now += 10;
    h.send({ seq: h.rseq, ack: una, flags: ACK, window: 65535 });
  }
  assert.ok(h.conn.stats().cwnd >= 40_000, `cwnd ${h.conn.stats().cwnd}`);
  assert.equal(h.conn.info().sendCapacity, 2 * 10 * PER_SEG);
});

test('a filled congestion window does not grow the buffer (tcp_should_expand_sndbuf)', () => {
  // The peer acknowledges one segment at a time: each ACK frees space for a waiting writer, but
  // what is queued already fills cwnd, so the buffer keeps its ESTABLISHED size.
  const h = establishedWith({ ...SCALED, sendBufferSize: 16_384, sendBufferMax: 1 << 20 }, { mss: 1000, wscale: 7 });
  const chunk = new Uint8Array(1 << 20);
  h.conn.hooks.onWritable = () => {
    while (h.conn.send(chunk) > 0);
  };
  while (h.conn.send(chunk) > 0);
  let una = LOCAL_ISS + 1;
  for (let i = 0; i < 6; i++) {
    h.poll();
    una = add(una, 1000);
    h.now += 10;
    h.send({ seq: h.rseq, ack: una, flags: ACK, window: 65535 });
  }
  assert.ok(h.conn.stats().cwnd < 2 * 10 * PER_SEG, `cwnd ${h.conn.stats().cwnd} stays below the queue`);
  assert.equal(h.conn.info().sendCapacity, 2 * 10 * PER_SEG);
});

test("a buffer that holds the peer's whole window does not grow (synack's one difference from Linux)", () => {
  // The peer offers 234 << 7 = 29,952 bytes: cwnd outgrows it and the writer keeps waiting, but
  // the 46,080-byte buffer holds the whole window already: more would only queue what it cannot take.
  const h = establishedWith({ ...SCALED, sendBufferSize: 16_384, sendBufferMax: 1 << 20 }, { mss: 1000, wscale: 7 });
  assert.deepEqual(bulk(h, 1 << 20, 234).steps, []);
  assert.ok(h.conn.stats().cwnd > 2 * 10 * PER_SEG, `cwnd ${h.conn.stats().cwnd}`);
  assert.equal(h.conn.info().sendCapacity, 2 * 10 * PER_SEG);
});
