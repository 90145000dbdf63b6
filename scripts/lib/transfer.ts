// A bulk transfer between two synack stacks on the seeded simulated link, on virtual time: used by
// the data-path acceptance tests and by scripts/goodput.ts (RFC 5681 / 6582 / 6675 behaviour under loss).

import { createHash } from 'node:crypto';
import { Stack } from '../../src/stack/stack.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { createSimPair, type SimOptions, type BurstLossOptions, type SimDirectionStats } from '../../src/link/sim.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';
import type { TcpInfo } from '../../src/tcp/info.js';

export interface TransferOptions {
  seed: number;
  /** Bytes the client sends to the server. */
  up: number;
  /** Bytes the server sends to the client (at the same time). */
  down: number;
  rtt: number;
  loss: number;
  /**
   * Gilbert-Elliott burst loss on the client-to-server direction (replacing `loss` there; the
   * other direction keeps independent `loss`).
   */
  lossBurst?: BurstLossOptions;
  reorder?: number;
  duplicate?: number;
  /** Link rate in bytes per second (0 = unlimited). */
  bandwidth?: number;
  tcp?: TcpConfigInput;
  /** Give up after this much virtual time, ms. */
  limit?: number;
}

export interface TransferResult {
  ok: boolean;
  upHashSent: string;
  upHashReceived: string;
  downHashSent: string;
  downHashReceived: string;
  upReceived: number;
  downReceived: number;
  /** Virtual ms from the SYN to the last byte delivered (both directions). */
  elapsed: number;
  /** Virtual ms until both connections were CLOSED and no timer was left. */
  settled: number;
  clientStats: TcpInfo | null;
  serverStats: TcpInfo | null;
  errors: string[];
  pendingTimers: number;
  openConnections: number;
  /** The link's counters: [client to server, server to client]. */
  link: [SimDirectionStats, SimDirectionStats];
}

function pattern(n: number, seed: number): Uint8Array {
  const r = seededRandom(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = r.u32();
    b[i] = v & 255;
    if (i + 1 < n) b[i + 1] = (v >>> 8) & 255;
    if (i + 2 < n) b[i + 2] = (v >>> 16) & 255;
    if (i + 3 < n) b[i + 3] = v >>> 24;
  }
  return b;
}

export function runTransfer(o: TransferOptions): TransferResult {
  const clock = new VirtualClock();
  const sim: SimOptions = {
    seed: o.seed,
    latency: o.rtt / 2,
    loss: o.loss,
    mtu: 1500,
  };
  if (o.lossBurst) sim.from0 = { lossBurst: o.lossBurst };
  if (o.reorder) sim.reorder = { probability: o.reorder, delay: o.rtt / 4 };
  if (o.duplicate) sim.duplicate = o.duplicate;
  if (o.bandwidth) sim.bandwidth = o.bandwidth;
  const pair = createSimPair(clock, sim);
  const tcp: TcpConfigInput = { ...o.tcp };
  const a = new Stack({ name: 'client', clock, random: seededRandom(o.seed + 11), tcp });
  const b = new Stack({ name: 'server', clock, random: seededRandom(o.seed + 12), tcp });
  a.addInterface(pair[0], { addresses: ['198.18.0.1/24'] });
  b.addInterface(pair[1], { addresses: ['198.18.0.2/24'] });
  const upData = pattern(o.up, o.seed * 3 + 1);
  const downData = pattern(o.down, o.seed * 3 + 2);
  const upHash = createHash('sha256');
  const downHash = createHash('sha256');
  let upReceived = 0;
  let downReceived = 0;
  let lastDelivery = 0;
  const errors: string[] = [];
  let clientStats: TcpInfo | null = null;
  let serverStats: TcpInfo | null = null;

  /** Send `data`, then close; read everything into `hash`. */
  const drive = (conn: TcpConnection, data: Uint8Array, hash: ReturnType<typeof createHash>, onBytes: (n: number) => void, side: 'client' | 'server'): void => {
    let off = 0;
    let closed = false;
    const pump = (): void => {
      while (off < data.length) {
        const n = conn.send(data.subarray(off, off + 65536));
        if (n === 0) return;
        off += n;
      }
      if (!closed) {
        closed = true;
        conn.close();
      }
    };
    conn.hooks.onWritable = pump;
    conn.hooks.onReadable = () => {
      for (let d = conn.recv(); d !== null; d = conn.recv()) {
        hash.update(d);
        onBytes(d.length);
        lastDelivery = clock.now();
      }
    };
    conn.hooks.onError = (code, msg) => errors.push(`${side}: ${code} ${msg}`);
    conn.hooks.onState = (_from, to) => {
      if (to === 'TIME-WAIT' || to === 'CLOSED' || to === 'LAST-ACK') {
        const s = conn.stats();
        if (side === 'client') clientStats = s;
        else serverStats = s;
      }
    };
    pump();
  };

  b.tcpListen({ port: 5001 }, (conn) => drive(conn, downData, upHash, (n) => (upReceived += n), 'server'));
  const c = a.tcpConnect({ address: '198.18.0.2', port: 5001 });
  c.hooks.onConnected = () => drive(c, upData, downHash, (n) => (downReceived += n), 'client');
  clock.runUntilIdle({ maxTime: o.limit ?? 3_600_000 });
  const hex = (d: Uint8Array): string => createHash('sha256').update(d).digest('hex');
  const upHashReceived = upHash.digest('hex');
  const downHashReceived = downHash.digest('hex');
  const r: TransferResult = {
    ok: false,
    upHashSent: hex(upData),
    upHashReceived,
    downHashSent: hex(downData),
    downHashReceived,
    upReceived,
    downReceived,
    elapsed: lastDelivery,
    settled: clock.now(),
    clientStats,
    serverStats,
    errors,
    pendingTimers: clock.pending(),
    openConnections: a.stats().tcpConnections + b.stats().tcpConnections,
    link: pair.stats(),
  };
  r.ok = r.upHashSent === r.upHashReceived && r.downHashSent === r.downHashReceived && errors.length === 0 && r.openConnections === 0;
  return r;
}
