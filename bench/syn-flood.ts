// SYN flood on virtual time (RFC 4987): an attacker sprays spoofed SYNs from random 198.18.0.0/15
// sources at a listener over the seeded sim link while legitimate clients keep connecting and
// transferring; reports what got through, how long connecting took, and what the listener held.
// Used by test/stack/syn-flood.test.ts; run `node --import tsx bench/syn-flood.ts [--seconds N]`
// for the figures in docs/security.md (with cookies, then without).

import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Stack } from '../src/stack/stack.js';
import type { SynCookieMode } from '../src/tcp/listener.js';
import type { TcpListener } from '../src/stack/tcp-host.js';
import type { TcpConnection } from '../src/tcp/connection.js';
import { VirtualClock } from '../src/util/virtual-clock.js';
import { seededRandom } from '../src/util/random.js';
import { createSimPair } from '../src/link/sim.js';
import { buildTcpPacket } from '../src/wire/packet.js';
import { TcpFlag, type TcpRepr } from '../src/wire/tcp.js';

export interface FloodOptions {
  seed?: number;
  /** Spoofed SYNs per second of virtual time (default 100,000). */
  rate?: number;
  /** Virtual seconds the flood lasts (default 5). */
  seconds?: number;
  /** The listener's backlog (SYN queue), default 128. */
  backlog?: number;
  synCookies?: SynCookieMode;
  /** A legitimate client connects every this many ms while the flood runs (default 50). */
  clientEvery?: number;
  /** Bytes each way per legitimate connection (default 20,000). */
  bytes?: number;
  /** One-way link latency, ms (default 5). */
  latency?: number;
}

export interface FloodResult {
  synsSent: number;
  /** SYNs the server's TCP saw (every segment to it counts in tcpIn; the flood is all SYNs). */
  serverTcpIn: number;
  cookiesSent: number;
  cookiesValid: number;
  cookiesFailed: number;
  backlogDrops: number;
  /** Largest listener.pending and connection-table size seen (sampled every ms). */
  maxPending: number;
  maxConnections: number;
  legit: {
    attempted: number;
    connected: number;
    /** Connections whose bytes arrived intact both ways and closed without error. */
    completed: number;
    errors: string[];
    /** Connect latency (tcpConnect to ESTABLISHED), virtual ms, of those that connected. */
    latencies: number[];
  };
  /** Connections and timers left once everything settled (both 0 when clean). */
  leftConnections: number;
  leftTimers: number;
  /** Wall time of the flood phase, ms. */
  wallMs: number;
}

const SERVER = '198.18.0.2';
const CLIENT = '198.18.0.1';

function payload(seed: number, n: number): Uint8Array {
  const r = seededRandom(seed);
  return r.fill(new Uint8Array(n));
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Run one flood; deterministic for a seed (apart from wallMs). */
export function runSynFlood(o: FloodOptions = {}): FloodResult {
  const seed = o.seed ?? 1;
  const rate = o.rate ?? 100_000;
  const seconds = o.seconds ?? 5;
  const bytes = o.bytes ?? 20_000;
  const clientEvery = o.clientEvery ?? 50;
  const clock = new VirtualClock();
  const [end0, end1] = createSimPair(clock, { seed, latency: o.latency ?? 5 });
  const server = new Stack({ name: 'server', clock, random: seededRandom(seed * 2 + 2), backlog: o.backlog ?? 128, synCookies: o.synCookies ?? 'auto' });
  const client = new Stack({ name: 'client', clock, random: seededRandom(seed * 2 + 1) });
  server.addInterface(end1, { addresses: [`${SERVER}/15`] });
  client.addInterface(end0, { addresses: [`${CLIENT}/15`] });

  // Server: read the request (bytes long), answer with its mirror image, close after the client's FIN.
  const listener: TcpListener = server.tcpListen({ port: 80 }, (conn) => {
    const chunks: Uint8Array[] = [];
    let got = 0;
    conn.hooks.onReadable = () => {
      for (let d = conn.recv(); d !== null; d = conn.recv()) {
        chunks.push(d);
        got += d.length;
      }
      if (got === bytes && chunks.length > 0) {
        const all = concat(chunks);
        chunks.length = 0;
        writeAll(conn, all.reverse());
      }
      if (conn.peerFinished) conn.close();
    };
  });

  const res: FloodResult = {
    synsSent: 0, serverTcpIn: 0, cookiesSent: 0, cookiesValid: 0, cookiesFailed: 0, backlogDrops: 0,
    maxPending: 0, maxConnections: 0,
    legit: { attempted: 0, connected: 0, completed: 0, errors: [], latencies: [] },
    leftConnections: 0, leftTimers: 0, wallMs: 0,
  };

  // Legitimate clients: one every clientEvery ms during the flood.
  const startClient = (i: number): void => {
    res.legit.attempted++;
    const t0 = clock.now();
    const req = payload(seed * 1000 + i, bytes);
    const want = sha(req.slice().reverse());
    const c = client.tcpConnect({ address: SERVER, port: 80 });
    const got: Uint8Array[] = [];
    let n = 0;
    let failed = false;
    c.hooks.onConnected = () => {
      res.legit.connected++;
      res.legit.latencies.push(clock.now() - t0);
      writeAll(c, req);
    };
    c.hooks.onReadable = () => {
      for (let d = c.recv(); d !== null; d = c.recv()) {
        got.push(d);
        n += d.length;
      }
      if (n === bytes) {
        n = -1;
        if (sha(concat(got)) === want) c.close();
        else {
          res.legit.errors.push(`client ${i}: response hash mismatch`);
          c.abort();
        }
      }
    };
    c.hooks.onError = (code) => {
      failed = true;
      res.legit.errors.push(`client ${i}: ${code}`);
    };
    c.hooks.onClosed = () => {
      if (!failed && n === -1) res.legit.completed++;
    };
  };

  // The attacker: rate/1000 spoofed SYNs per ms, random sources in 198.18.0.0/15, random ports and
  // ISNs, with the options a Linux client sends (so cookies carry MSS, wscale, SACK in TSval).
  const rnd = seededRandom(seed ^ 0x5eed);
  const dst = new Uint8Array([198, 18, 0, 2]);
  const perMs = Math.round(rate / 1000);
  const syn: TcpRepr = {
    srcPort: 0, dstPort: 80, seq: 0, ack: 0, flags: TcpFlag.SYN, window: 64240, urgent: 0,
    options: { mss: 1460, sackPermitted: true, timestamp: { val: 0, ecr: 0 }, wscale: 7 },
    payload: new Uint8Array(0),
  };
  const src = new Uint8Array(4);
  const floodMs = seconds * 1000;
  const attack = (): void => {
    for (let i = 0; i < perMs; i++) {
      const a = rnd.u32();
      src[0] = 198;
      src[1] = 18 + (a & 1);
      src[2] = (a >>> 8) & 0xff;
      src[3] = (a >>> 16) & 0xff;
      if (src[1] === 18 && src[2] === 0 && (src[3] === 1 || src[3] === 2)) src[3] = 3;
      syn.srcPort = 1024 + (rnd.u32() % 64512);
      syn.seq = rnd.u32();
      syn.options.timestamp = { val: rnd.u32(), ecr: 0 };
      end0.send(buildTcpPacket(src, dst, syn));
      res.synsSent++;
    }
  };
  for (let t = 0; t < floodMs; t++) {
    clock.schedule(t, () => {
      attack();
      res.maxPending = Math.max(res.maxPending, listener.pending);
      res.maxConnections = Math.max(res.maxConnections, server.stats().tcpConnections);
    });
  }
  let i = 0;
  for (let t = clientEvery / 2; t < floodMs; t += clientEvery) {
    const k = i++;
    clock.schedule(t, () => startClient(k));
  }

  const wall0 = performance.now();
  clock.runUntil(floodMs + (o.latency ?? 5)); // the flood and its last SYNs in flight
  res.wallMs = performance.now() - wall0;
  // Let the legitimate transfers, the half-open entries' SYN-ACK retries and TIME-WAIT run out.
  clock.runUntilIdle({ maxTime: floodMs + 600_000 });
  const s = server.stats();
  res.serverTcpIn = s.tcpIn;
  res.cookiesSent = s.tcpSynCookiesSent;
  res.cookiesValid = s.tcpSynCookiesValid;
  res.cookiesFailed = s.tcpSynCookiesFailed;
  res.backlogDrops = s.tcpBacklogDrops;
  res.leftConnections = server.stats().tcpConnections + client.stats().tcpConnections;
  res.leftTimers = clock.pending();
  listener.close();
  server.close();
  client.close();
  return res;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function writeAll(conn: TcpConnection, data: Uint8Array): void {
  let off = 0;
  const pump = (): void => {
    while (off < data.length && conn.state !== 'CLOSED') {
      const n = conn.send(data.subarray(off));
      if (n === 0) return;
      off += n;
    }
  };
  conn.hooks.onWritable = pump;
  pump();
}

/** `n` spoofed SYNs (random sources in 198.18.0.0/15, Linux-like options) to SERVER port 80, prebuilt. */
export function spoofedSyns(n: number, seed = 99): Uint8Array[] {
  const rnd = seededRandom(seed);
  const pkts: Uint8Array[] = [];
  const dst = new Uint8Array([198, 18, 0, 2]);
  for (let i = 0; i < n; i++) {
    const a = rnd.u32();
    const src = new Uint8Array([198, 18 + (a & 1), (a >>> 8) & 0xff, 3 + ((a >>> 16) % 250)]);
    pkts.push(buildTcpPacket(src, dst, {
      srcPort: 1024 + (rnd.u32() % 64512), dstPort: 80, seq: rnd.u32(), ack: 0, flags: TcpFlag.SYN, window: 64240, urgent: 0,
      options: { mss: 1460, sackPermitted: true, timestamp: { val: rnd.u32(), ecr: 0 }, wscale: 7 }, payload: new Uint8Array(0),
    }));
  }
  return pkts;
}

/**
 * A Stack listening on port 80 (backlog 0, so every SYN takes the `mode` path: a cookie SYN-ACK for
 * 'always', a drop for 'never') behind a link that discards what it sends; `rx` hands it a packet.
 */
export function discardingListener(mode: SynCookieMode): { stack: Stack; rx: (p: Uint8Array) => void } {
  const clock = new VirtualClock();
  const link = { mtu: 1500, onReceive: null as ((p: Uint8Array) => void) | null, send(): void {}, close(): void {} };
  const stack = new Stack({ name: 'server', clock, random: seededRandom(5), backlog: 0, synCookies: mode });
  stack.addInterface(link, { addresses: [`${SERVER}/15`] });
  stack.tcpListen({ port: 80 }, () => undefined);
  return { stack, rx: link.onReceive! };
}

/**
 * The listener's own cost per SYN, without the simulated network or the attacker: `n` prebuilt
 * spoofed SYNs handed straight to a Stack whose link discards what it sends. Returns wall ms per
 * 100,000 SYNs for cookie SYN-ACKs ('always') and for drops ('never', backlog full), best of `runs`.
 */
export function listenerCost(n = 100_000, runs = 3): { cookie: number; drop: number } {
  const pkts = spoofedSyns(n);
  const once = (mode: SynCookieMode): number => {
    const { stack: st, rx } = discardingListener(mode);
    const t0 = performance.now();
    for (const p of pkts) rx(p);
    const ms = performance.now() - t0;
    const c = st.stats();
    if (c.tcpSynCookiesSent + c.tcpBacklogDrops !== n) throw new Error('not every SYN was handled');
    st.close();
    return (ms / n) * 100_000;
  };
  let cookie = Infinity;
  let drop = Infinity;
  for (let r = 0; r < runs; r++) {
    cookie = Math.min(cookie, once('always'));
    drop = Math.min(drop, once('never'));
  }
  return { cookie, drop };
}

/** Median and maximum of a list (0 when empty). */
export function spread(xs: readonly number[]): { p50: number; max: number } {
  if (xs.length === 0) return { p50: 0, max: 0 };
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! };
}

function report(label: string, r: FloodResult): void {
  const lat = spread(r.legit.latencies);
  const per100k = r.synsSent > 0 ? (r.wallMs / r.synsSent) * 100_000 : 0;
  console.log(`${label}:`);
  console.log(`  spoofed SYNs sent ${r.synsSent}, seen by the server's TCP ${r.serverTcpIn}`);
  console.log(`  cookies sent ${r.cookiesSent}, valid ${r.cookiesValid}, failed ${r.cookiesFailed}; backlog drops ${r.backlogDrops}`);
  console.log(`  max pending ${r.maxPending}, max connection table ${r.maxConnections}`);
  console.log(`  legitimate: ${r.legit.attempted} tried, ${r.legit.connected} connected, ${r.legit.completed} completed with matching hashes`);
  console.log(`  connect latency (virtual): median ${lat.p50} ms, max ${lat.max} ms`);
  if (r.legit.errors.length > 0) console.log(`  errors: ${r.legit.errors.length} (first: ${r.legit.errors[0]})`);
  console.log(`  left behind: ${r.leftConnections} connections, ${r.leftTimers} timers`);
  console.log(`  wall time of the flood phase ${r.wallMs.toFixed(0)} ms = ${per100k.toFixed(0)} ms per 100k SYNs`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string, dflt: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const seconds = arg('seconds', 5);
  const seed = arg('seed', 1);
  const base = { seed, seconds, rate: arg('rate', 100_000), backlog: arg('backlog', 128) };
  runSynFlood({ ...base, seconds: 0.2 }); // JIT warm-up, not reported
  report(`synCookies 'auto', ${seconds} s at ${base.rate} SYN/s, backlog ${base.backlog}`, runSynFlood({ ...base, synCookies: 'auto' }));
  report(`synCookies 'never' (drop when the backlog is full)`, runSynFlood({ ...base, synCookies: 'never' }));
  report(`no flood (baseline)`, runSynFlood({ ...base, rate: 0 }));
  const lc = listenerCost();
  console.log(`listener alone (prebuilt SYNs, no network), best of 3: ${lc.cookie.toFixed(0)} ms per 100k SYNs answered with cookies, ${lc.drop.toFixed(0)} ms per 100k dropped`);
}
