// The established fast path (tcp/output.ts: segments written straight into lent packets, no
// TcpRepr) against the repr path: two cores exchange data over a seeded lossy, reordering wire,
// once with every segment built as a repr (buildTcpPacket) and once with the packets lent (IPv4
// and IPv6); every packet that leaves must be the same bytes in the same order, with and without
// timestamps and SACK, across many seeds. The fast path must also have carried most segments (it is not
// skipped) and the repr path the SACK-bearing ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpConnection } from '../../src/tcp/connection.js';
import { resolveConfig, type TcpConfigInput } from '../../src/tcp/config.js';
import type { Emit } from '../../src/tcp/output.js';
import { buildTcpPacket, openTcpPacket, tcpSegmentOffset } from '../../src/wire/packet.js';
import { parseTcp, fillTcpChecksum, writePlainTcpHeader, emitTcp, type TcpRepr } from '../../src/wire/tcp.js';
import { seededRandom } from '../../src/util/random.js';

const A4 = new Uint8Array([198, 18, 0, 1]);
const B4 = new Uint8Array([198, 18, 0, 2]);
const A6 = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const B6 = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

interface Run {
  packets: Uint8Array[];
  fast: number;
  slow: number;
  received: number;
  errors: string[];
}

/** One seeded exchange: `a` sends `bytes` to `b` (and `b` a little back), then both close. */
function exchange(seed: number, lend: boolean, cfg: TcpConfigInput, bytes: number, loss: number): Run {
  const [A, B] = seed % 3 === 0 ? [A6, B6] : [A4, B4];
  const at = tcpSegmentOffset(A);
  const rnd = seededRandom(seed);
  const run: Run = { packets: [], fast: 0, slow: 0, received: 0, errors: [] };
  let now = 0;
  const wire: { t: number; to: 'a' | 'b'; pkt: Uint8Array }[] = [];
  const side = (s: 'a' | 'b'): { src: Uint8Array; dst: Uint8Array } => (s === 'a' ? { src: A, dst: B } : { src: B, dst: A });
  const put = (from: 'a' | 'b', pkt: Uint8Array): void => {
    run.packets.push(pkt.slice());
    const r = rnd.u32() / 2 ** 32;
    if (r < loss) return;
    // Some reordering: a packet now and then takes 3 ms longer.
    const delay = r > 0.97 ? 8 : 5;
    wire.push({ t: now + delay, to: from === 'a' ? 'b' : 'a', pkt });
  };
  const emitFor = (from: 'a' | 'b'): Emit => {
    const { src, dst } = side(from);
    const slow = (seg: TcpRepr): void => {
      run.slow++;
      put(from, buildTcpPacket(src, dst, seg));
    };
    if (!lend) return slow;
    return Object.assign(slow, {
      packets: {
        at,
        open: (segLen: number) => openTcpPacket(src, dst, segLen),
        send: (pkt: Uint8Array, segLen: number) => {
          run.fast++;
          fillTcpChecksum(pkt, at, segLen, src, dst);
          put(from, pkt);
        },
      },
    });
  };
  const emitA = emitFor('a');
  const emitB = emitFor('b');
  const config = resolveConfig(cfg);
  const a = TcpConnection.connect({ localPort: 40000, remotePort: 80, iss: 0xfffff000, now, config, hooks: { onError: (c) => run.errors.push(`a ${c}`) } });
  let b: TcpConnection | null = null;
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 131 + seed) & 0xff;
  let written = 0;
  const drain = (): void => {
    if (b === null) return;
    for (let d = b.recv(); d !== null; d = b.recv()) {
      for (let i = 0; i < d.length; i++) if (d[i] !== data[run.received + i]) throw new Error(`byte ${run.received + i} differs`);
      run.received += d.length;
    }
  };
  for (let step = 0; step < 2_000_000; step++) {
    if (written < bytes && a.state === 'ESTABLISHED') written += a.send(data.subarray(written, Math.min(bytes, written + 7000 + (step % 5000))));
    if (written === bytes && !a.finQueued) a.close();
    drain();
    if (b !== null && b.peerFinished && !b.finQueued) {
      b.send(new Uint8Array(100));
      b.close();
    }
    a.poll(now, emitA);
    b?.poll(now, emitB);
    wire.sort((x, y) => x.t - y.t);
    const next = Math.min(wire[0]?.t ?? Infinity, a.pollAt(), b?.pollAt() ?? Infinity);
    if (next === Infinity) break;
    now = Math.max(now, next);
    while (wire.length > 0 && wire[0]!.t <= now) {
      const w = wire.shift()!;
      const r = parseTcp(w.pkt.subarray(at), w.to === 'b' ? { src: A, dst: B } : { src: B, dst: A });
      assert.ok(r.ok, 'every packet on the wire parses and its checksum verifies');
      const seg = r.value;
      if (w.to === 'a') a.handleSegment(seg, now);
      else if (b === null) {
        b = TcpConnection.accept(seg, { localPort: 80, remotePort: 40000, iss: 0x7ffff000, now, config, hooks: { onError: (c) => run.errors.push(`b ${c}`) } });
      } else b.handleSegment(seg, now);
    }
  }
  drain();
  return run;
}

const configs: [string, TcpConfigInput][] = [
  ['timestamps and SACK', {}],
  ['SACK, no timestamps', { timestamps: false }],
  ['timestamps, no SACK', { sack: false }],
  ['neither', { timestamps: false, sack: false }],
];

for (const [name, cfg] of configs) {
  test(`fast path and repr path put the same bytes on the wire (${name}, 12 seeds, 0-5% loss, IPv4 and IPv6)`, () => {
    let fast = 0;
    let slow = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const loss = (seed % 4) * 0.0167;
      const bytes = 60_000 + seed * 9_973;
      const reprs = exchange(seed, false, cfg, bytes, loss);
      const lent = exchange(seed, true, cfg, bytes, loss);
      assert.deepEqual(reprs.errors, []);
      assert.equal(reprs.received, bytes, 'the repr run delivered everything');
      assert.equal(lent.received, bytes, 'the fast run delivered everything');
      assert.equal(lent.packets.length, reprs.packets.length, `seed ${seed}: packet count`);
      for (let i = 0; i < reprs.packets.length; i++) {
        assert.deepEqual(lent.packets[i], reprs.packets[i], `seed ${seed}: packet ${i} differs`);
      }
      assert.equal(reprs.fast, 0);
      fast += lent.fast;
      slow += lent.slow;
    }
    assert.ok(fast > slow * 3, `most segments took the fast path (${fast} fast, ${slow} as reprs)`);
    if (cfg.sack !== false) assert.ok(slow > 24, `SACK-bearing segments still go as reprs (${slow})`);
  });
}

test('writePlainTcpHeader writes what emitTcp writes for a timestamp-only or option-less segment (random fields)', () => {
  const rnd = seededRandom(99);
  const src = new Uint8Array([198, 18, 1, 2]);
  const dst = new Uint8Array([198, 19, 3, 4]);
  for (let i = 0; i < 2000; i++) {
    const ts = (rnd.u32() & 1) === 1;
    const len = rnd.u32() % 1500;
    const payload = new Uint8Array(len);
    for (let k = 0; k < len; k++) payload[k] = rnd.u32() & 0xff;
    const repr: TcpRepr = {
      srcPort: rnd.u32() & 0xffff,
      dstPort: rnd.u32() & 0xffff,
      seq: rnd.u32(),
      ack: rnd.u32(),
      flags: (rnd.u32() & 0xff) | 0x10,
      window: rnd.u32() & 0xffff,
      urgent: 0,
      options: ts ? { timestamp: { val: rnd.u32(), ecr: rnd.u32() } } : {},
      payload,
    };
    const hl = ts ? 32 : 20;
    const want = new Uint8Array(hl + len);
    emitTcp(repr, want, src, dst);
    const got = new Uint8Array(hl + len).fill(0xee); // the fast path must write every header byte
    const t = repr.options.timestamp;
    assert.equal(writePlainTcpHeader(got, 0, repr.srcPort, repr.dstPort, repr.seq, repr.ack, repr.flags, repr.window, ts, t?.val ?? 0, t?.ecr ?? 0), hl);
    got.set(payload, hl);
    fillTcpChecksum(got, 0, hl + len, src, dst);
    assert.deepEqual(got, want);
  }
});

test('through the Stack, a bulk transfer sends its established segments without a TcpRepr, over IPv4 and IPv6', async () => {
  const { twoStacks, B4, B6 } = await import('../stack/fixture.js');
  for (const [family, dst] of [['IPv4', B4], ['IPv6', B6]] as const) {
    const { clock, a, b } = twoStacks({ latency: 1 });
    // Count the segments that take the repr path (Stack.sendTcp builds a TcpRepr into a packet).
    let reprs = 0;
    for (const s of [a, b]) {
      const orig = s.sendTcp.bind(s);
      s.sendTcp = (...args: Parameters<typeof s.sendTcp>) => {
        reprs++;
        return orig(...args);
      };
    }
    const size = 1 << 20;
    let got = 0;
    b.tcpListen({ port: 80 }, (conn) => {
      conn.hooks.onReadable = () => {
        for (let d = conn.recv(); d !== null; d = conn.recv()) got += d.length;
        if (conn.peerFinished) conn.close();
      };
    });
    const c = a.tcpConnect({ address: dst, port: 80 });
    const data = new Uint8Array(size).fill(7);
    let sent = 0;
    const pump = (): void => {
      if (sent === size) return;
      sent += c.send(data.subarray(sent));
      if (sent === size) c.close();
    };
    c.hooks.onConnected = pump;
    c.hooks.onWritable = pump;
    clock.runUntilIdle();
    assert.equal(got, size);
    const segments = a.stats().tcpOut + b.stats().tcpOut;
    // At least the data segments (the memory pair delivers in batches, so b acknowledges GRO's joined segments: few ACKs).
    assert.ok(a.stats().tcpOut >= size / 1448, `${a.stats().tcpOut} segments from a`);
    assert.ok(reprs <= 4, `${family}: ${reprs} of ${segments} segments were built as reprs (SYN, SYN,ACK and no more expected)`);
  }
});
