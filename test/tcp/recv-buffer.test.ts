// Receive-buffer autotuning (src/tcp/recv-buffer.ts), as Linux's dynamic right-sizing
// (tcp_rcv_space_adjust / tcp_rcvbuf_grow): once per receiver-measured RTT the bytes the application
// read become the new estimate, and the buffer, so the window we advertise, grows to twice it plus
// the slow-start allowance, up to recvBufferMax. A size the user set never changes; the right edge
// we offered never moves left (RFC 9293 3.8.6.2.2, RFC 7323 2.4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { establishedWith, synReceived, ACK, LOCAL_ISS, type Harness } from '../helpers/tcp.js';
import { resolveConfig, type TcpConfigInput } from '../../src/tcp/config.js';
import { add, sub } from '../../src/wire/seq.js';
import type { TcpRepr } from '../../src/wire/tcp.js';

/** The peer offers wscale 7, we scale too, and start at testConfig's 64,000-byte buffer. */
const AUTO: TcpConfigInput = { windowScale: true, recvBufferMax: 1 << 20 };
const RTT = 50;
const MSS = 1000;

interface Round {
  /** The window (bytes) our last ACK of the round offered, and its right edge. */
  window: number;
  edge: number;
  /** Bytes the peer sent this round. */
  sent: number;
  /** The receive buffer's capacity at the end of the round. */
  capacity: number;
}

/**
 * A peer that fills whatever window we offer, one round trip at a time: each round it sends
 * every MSS-sized segment the last ACK's window allows (at most `perRound` bytes) (with timestamps echoing our last TSval
 * when `ts`), our connection ACKs each, then the application reads (or not) and an RTT passes.
 * Every ACK's right edge is checked never to move left (beyond the scale's rounding).
 */
function rounds(h: Harness, n: number, opts: { read?: boolean; ts?: boolean; perRound?: number } = {}): Round[] {
  const read = opts.read ?? true;
  const shift = h.conn.info().rcvWscale;
  let edge = add(h.rseq, h.conn.info().rcvWnd);
  let lastEdge = edge;
  // The peer echoes the TSval of the last ACK that reached it: those of the round before.
  let lastTsVal = 0;
  let tsEcr = 0;
  const out: Round[] = [];
  const seen = (segs: TcpRepr[]): void => {
    for (const s of segs) {
      if (!(s.flags & ACK)) continue;
      const e = add(s.ack, s.window << shift);
      // RFC 7323 2.4: a scaled window's edge falls on a 2^shift boundary, so it may appear to
      // retract by less than that granularity; never by more.
      assert.ok(sub(e, lastEdge) > -(1 << shift), `right edge moved left: ${e} after ${lastEdge}`);
      if (sub(e, lastEdge) > 0) lastEdge = e;
      edge = e;
      if (s.options.timestamp !== undefined) lastTsVal = s.options.timestamp.val;
    }
  };
  for (let r = 0; r < n; r++) {
    let sent = 0;
    tsEcr = lastTsVal;
    while (sub(edge, h.rseq) >= MSS && sent < (opts.perRound ?? Infinity)) {
      const options = opts.ts ? { timestamp: { val: 1000 + h.now, ecr: tsEcr } } : {};
      seen(h.send({ seq: h.rseq, ack: LOCAL_ISS + 1, flags: ACK, payload: new Uint8Array(MSS), options }));
      h.rseq = add(h.rseq, MSS);
      sent += MSS;
    }
    if (read) while (h.conn.recv() !== null);
    h.now += RTT;
    seen(h.poll());
    out.push({ window: sub(edge, h.rseq), edge, sent, capacity: h.conn.info().recvCapacity });
  }
  return out;
}

test('config: recvBufferSize alone fixes the size; recvBufferMax alone lowers the start; the SYN offers the scale for the max', () => {
  const auto = resolveConfig({});
  assert.deepEqual([auto.recvBufferSize, auto.recvBufferMax], [256 * 1024, 6 * 1024 * 1024]);
  const fixed = resolveConfig({ recvBufferSize: 100_000 });
  assert.deepEqual([fixed.recvBufferSize, fixed.recvBufferMax], [100_000, 100_000]);
  const low = resolveConfig({ recvBufferMax: 64_000 });
  assert.deepEqual([low.recvBufferSize, low.recvBufferMax], [64_000, 64_000]);
  assert.throws(() => resolveConfig({ recvBufferSize: 1 << 20, recvBufferMax: 1000 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => resolveConfig({ recvBufferMax: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  // tcp_select_initial_window: the scale lets the largest window be said, not the first one.
  const wscaleOf = (over: TcpConfigInput): number => {
    const h = synReceived({ windowScale: true, ...over }, { wscale: 7 });
    return h.conn.info().rcvWscale;
  };
  assert.equal(wscaleOf({ recvBufferSize: 256 * 1024, recvBufferMax: 6 << 20 }), 7); // Linux's tcp_rmem[2] default
  assert.equal(wscaleOf({ recvBufferMax: 32 << 20 }), 10); // this machine's tcp_rmem[2]: ilog2 - 15
  assert.equal(wscaleOf({}), 0); // testConfig's fixed 64,000 bytes need none
});

test('the advertised window grows once the application has read more than an RTT worth, to twice it and more in slow start', () => {
  const h = establishedWith(AUTO, { wscale: 7 });
  assert.equal(h.conn.info().rcvWscale, 5); // scaleFor(1 MiB)
  const r = rounds(h, 8);
  const windows = r.map((x) => x.window);
  // Round 1: the peer fills the first 64,000-byte window (to within a segment; the scale's 32-byte
  // granularity leaves 992 bytes); the application reads it all.
  assert.equal(r[0]!.sent, 63_000);
  // No RTT estimate yet after one round (the window sample ends a window later), so no growth yet;
  // then 64,000 bytes read per 50 ms against the first guess of 10 segments: twice, plus the
  // slow-start allowance, far past the start, and on up to the 1 MiB cap.
  assert.ok(windows.slice(2).some((w) => w > 64_000), `the window never grew: ${windows.join(' ')}`);
  for (let i = 1; i < windows.length; i++) assert.ok(windows[i]! >= windows[i - 1]! - 32, `window shrank at round ${i}: ${windows.join(' ')}`);
  assert.equal(h.conn.info().recvCapacity, 1 << 20, `capped at recvBufferMax: ${windows.join(' ')}`);
  assert.ok(windows.at(-1)! <= 1 << 20);
  assert.equal(h.conn.stats().recvQueued, 0);
});

test('with timestamps the receiver RTT comes from TSecr and growth follows the same rule', () => {
  const h = establishedWith({ ...AUTO, timestamps: true }, { wscale: 7, timestamp: { val: 1000, ecr: 0 } }, { timestamp: { val: 1000, ecr: 0 } });
  const r = rounds(h, 6, { ts: true });
  assert.ok(r[2]!.window > 64_000, `no growth by round 3: ${r.map((x) => x.window).join(' ')}`);
  assert.ok(h.conn.info().recvCapacity > 64_000);
});

test("the growth is tcp_rcvbuf_grow's arithmetic: twice what was read in the RTT, plus twice that times the rate's growth", () => {
  // A sender that moves 20 segments per 50 ms RTT, timestamps on (TSval = ms since open, so the
  // first echo, of TSval 0, is no sample: the RTT is known from round 3's first segment).
  const h = establishedWith({ ...AUTO, timestamps: true }, { wscale: 7, timestamp: { val: 1000, ecr: 0 } }, { timestamp: { val: 1000, ecr: 0 } });
  const caps = rounds(h, 8, { ts: true, perRound: 20 * MSS }).map((r) => r.capacity);
  // The first measurement began at the first data (t=0) and ends at round 3's second segment
  // (t=100, RTT 50): 40,000 bytes read, the 1,000 of round 3 not yet read taken off (Linux 6.16's
  // inq), 39,000 against tcp_init_buffer_space's 10 segments of advmss 988 (9,880): rcvwin =
  // 2 * 39,000 = 78,000, plus 2 * 78,000 * (39,000 - 9,880) / 9,880 = 459,789: 537,789. After that
  // 20,000 per RTT is less than 39,000: no growth.
  assert.deepEqual(caps, [64_000, 64_000, 537_789, 537_789, 537_789, 537_789, 537_789, 537_789]);
  // tcp_info's view (tcpi_rcv_rtt, tcpi_rcv_space): the RTT from TSecr, 50 ms each round; the space
  // stays 39,000 (a measurement that does not beat it keeps it, as Linux's goto new_measure does).
  const st = h.conn.stats();
  assert.deepEqual([st.rcvRtt, st.rcvSpace], [50, 39_000]);
});

test('an application that does not read grows nothing, and the window closes as the buffer fills', () => {
  const h = establishedWith(AUTO, { wscale: 7 });
  const r = rounds(h, 4, { read: false });
  assert.equal(h.conn.info().recvCapacity, 64_000);
  assert.ok(r.at(-1)!.window < MSS, `window ${r.at(-1)!.window}`);
  assert.equal(h.conn.stats().recvQueued, 63_000);
});

test('a size the user set never grows: recvBufferSize alone, or setRecvBufferSize while connected', () => {
  const fixed = establishedWith({ windowScale: true, recvBufferSize: 64_000 }, { wscale: 7 });
  const r = rounds(fixed, 6);
  assert.ok(r.every((x) => x.window <= 64_000), r.map((x) => x.window).join(' '));
  assert.equal(fixed.conn.info().recvCapacity, 64_000);

  const h = establishedWith(AUTO, { wscale: 7 });
  rounds(h, 1);
  h.conn.setRecvBufferSize(80_000);
  assert.equal(h.conn.config.recvBufferMax, 80_000);
  const later = rounds(h, 6);
  assert.equal(h.conn.info().recvCapacity, 80_000);
  assert.ok(later.every((x) => x.window <= 80_000));
});

test('setRecvBufferSize never takes back a window already offered', () => {
  const h = establishedWith(AUTO, { wscale: 7 });
  rounds(h, 6);
  const offered = h.conn.info().rcvWnd;
  assert.ok(offered > 64_000);
  h.conn.setRecvBufferSize(4096);
  assert.ok(h.conn.info().recvCapacity >= offered, `capacity ${h.conn.info().recvCapacity} below the ${offered} offered`);
  rounds(h, 2); // and every later ACK keeps the right edge (checked in rounds)
});
