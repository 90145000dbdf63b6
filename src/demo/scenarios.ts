// The connection stories `synack demo` tells, each run on real synack stacks (World): handshake,
// data with ack = seq + len, the close variants, simultaneous open, refusal, abort, loss, zero
// window and an off-path hijack attempt (RFC 9293 3.5-3.6, RFC 5961, RFC 6528).

import type { TcpConnection } from '../tcp/connection.js';
import { TcpFlag } from '../wire/tcp.js';
import { parseIp } from '../wire/address.js';
import { buildTcpPacket } from '../wire/packet.js';
import { add } from '../wire/seq.js';
import { World, CLIENT_ADDR, SERVER_ADDR, type WorldOptions } from './world.js';
import type { TraceEvent, TcpStateName } from '../trace/events.js';
import type { TcpInfo } from '../tcp/info.js';
import type { TcpConfigInput } from '../tcp/config.js';
import type { ListenOptions } from '../stack/tcp-host.js';
import { formatIp } from '../wire/address.js';

export interface DemoOptions extends WorldOptions {
  scenario: string;
  /** Size of the server's response in bytes. */
  bytes: number;
}

export interface SideSummary {
  states: TcpStateName[];
  bytesSent: number;
  bytesReceived: number;
  segments: number;
  retransmissions: number;
  /** Smoothed RTT when the connection finished, ms. */
  rtt: number;
  error?: string;
}

export interface DemoResult {
  scenario: string;
  description: string;
  events: TraceEvent[];
  packets: { t: number; data: Uint8Array; lost: boolean }[];
  client: SideSummary;
  server: SideSummary;
  /** Virtual time when everything settled, ms. */
  duration: number;
  notes: string[];
}

const PORT = 80;
const enc = new TextEncoder();

interface Ctx {
  w: World;
  opts: DemoOptions;
  notes: string[];
  clientConn: TcpConnection | null;
  serverConn: TcpConnection | null;
  errors: { client?: string; server?: string };
  finalStats: { client?: TcpInfo; server?: TcpInfo };
}

interface Scenario {
  description: string;
  run(ctx: Ctx): void;
}

function body(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = 97 + (i % 26);
  return b;
}

/** Write all of `data`, continuing when the send buffer frees up. */
function writeAll(conn: TcpConnection, data: Uint8Array, then?: () => void): void {
  let off = 0;
  const pump = (): void => {
    if (conn.state === 'CLOSED') return;
    while (off < data.length) {
      const n = conn.send(data.subarray(off));
      if (n === 0) return;
      off += n;
    }
    delete conn.hooks.onWritable;
    then?.();
  };
  conn.hooks.onWritable = pump;
  pump();
}

/** Keep stats at the last moment they mean something (before CLOSED frees the TCB). */
function watch(ctx: Ctx, side: 'client' | 'server', conn: TcpConnection): void {
  conn.hooks.onState = (_from, to) => {
    if (to === 'CLOSED' || to === 'TIME-WAIT' || to === 'LISTEN') ctx.finalStats[side] ??= conn.stats();
  };
  conn.hooks.onError = (code, message) => {
    ctx.errors[side] = `${code}: ${message}`;
    ctx.finalStats[side] ??= conn.stats();
  };
}

/**
 * Start the server on PORT. By default it reads the request, answers with `bytes` bytes and closes
 * `closeDelay` ms after the client's FIN; `setup` replaces that behaviour per connection.
 */
function listen(
  ctx: Ctx,
  opts: { closeDelay?: number; setup?: (conn: TcpConnection) => void; recvBufferSize?: number; backlog?: number; config?: TcpConfigInput } = {},
): void {
  const { w } = ctx;
  w.events.push({ type: 'state', t: w.clock.now(), host: 'server', from: 'CLOSED', to: 'LISTEN', cause: 'passive OPEN' });
  const config: TcpConfigInput | undefined = opts.recvBufferSize !== undefined ? { ...opts.config, recvBufferSize: opts.recvBufferSize } : opts.config;
  const lo: ListenOptions = { port: PORT };
  if (config !== undefined) lo.config = config;
  if (opts.backlog !== undefined) lo.backlog = opts.backlog;
  w.server.tcpListen(lo, (conn) => {
    ctx.serverConn = conn;
    watch(ctx, 'server', conn);
    if (opts.setup) {
      opts.setup(conn);
      return;
    }
    let answered = false;
    conn.hooks.onReadable = () => {
      while (conn.recv() !== null) {
        /* consume */
      }
      if (!answered) {
        answered = true;
        writeAll(conn, body(ctx.opts.bytes));
      }
      if (conn.peerFinished && opts.closeDelay !== undefined) {
        w.after(opts.closeDelay, () => conn.close());
      }
    };
  });
}

function connect(ctx: Ctx, onEstablished: (c: TcpConnection) => void, port = PORT): TcpConnection {
  const conn = ctx.w.client.tcpConnect({ address: SERVER_ADDR, port });
  ctx.clientConn = conn;
  watch(ctx, 'client', conn);
  // The application runs after the stack has answered the SYN-ACK, so the handshake's third ACK
  // goes out on its own before any data, as Linux sends it (the write comes a moment later).
  conn.hooks.onConnected = () => ctx.w.after(0, () => onEstablished(conn));
  return conn;
}

const request = (n = 1): Uint8Array => enc.encode(`GET /${n} HTTP/1.1\r\nHost: demo\r\n\r\n`);

/** The client's usual part: send a request, read the whole response, then `finish` 5 ms later. */
function requestThen(ctx: Ctx, finish: (c: TcpConnection) => void): void {
  connect(ctx, (c) => {
    c.send(request());
    readResponse(ctx, c, () => ctx.w.after(5, () => finish(c)));
  });
}

/** The client reads everything; once `bytes` arrived it calls `done`. */
function readResponse(ctx: Ctx, conn: TcpConnection, done: () => void): void {
  let got = 0;
  let fired = false;
  conn.hooks.onReadable = () => {
    for (let d = conn.recv(); d !== null; d = conn.recv()) got += d.length;
    if (!fired && got >= ctx.opts.bytes) {
      fired = true;
      done();
    }
  };
}

export const SCENARIOS: Record<string, Scenario> = {
  basic: {
    description: 'handshake, one request and response, the 4-way close started by the client, TIME-WAIT',
    run(ctx) {
      listen(ctx, { closeDelay: 5 });
      requestThen(ctx, (c) => c.close());
    },
  },
  data: {
    description: "three request/response exchanges: each ACK number is the other side's seq plus the bytes it carried",
    run(ctx) {
      const { w } = ctx;
      listen(ctx, {
        setup(conn) {
          conn.hooks.onReadable = () => {
            let any = false;
            while (conn.recv() !== null) any = true;
            if (any) writeAll(conn, body(Math.max(1, Math.min(ctx.opts.bytes, 300))));
            if (conn.peerFinished) w.after(5, () => conn.close());
          };
        },
      });
      connect(ctx, (c) => {
        let round = 0;
        const next = (): void => {
          round++;
          if (round > 3) {
            w.after(5, () => c.close());
            return;
          }
          c.send(request(round));
        };
        c.hooks.onReadable = () => {
          while (c.recv() !== null) {
            /* consume */
          }
          w.after(20, next);
        };
        next();
      });
    },
  },
  'server-close': {
    description: 'the server closes first, so the server is the one that waits in TIME-WAIT',
    run(ctx) {
      const { w } = ctx;
      listen(ctx, {
        setup(conn) {
          conn.hooks.onReadable = () => {
            let any = false;
            while (conn.recv() !== null) any = true;
            if (any) writeAll(conn, body(ctx.opts.bytes), () => w.after(5, () => conn.close()));
          };
        },
      });
      connect(ctx, (c) => {
        c.send(request());
        c.hooks.onReadable = () => {
          while (c.recv() !== null) {
            /* consume */
          }
          if (c.peerFinished) w.after(5, () => c.close());
        };
      });
    },
  },
  'simultaneous-close': {
    description: 'both ends call close at the same moment: FIN-WAIT-1, then CLOSING, then TIME-WAIT on both sides',
    run(ctx) {
      const { w } = ctx;
      listen(ctx, { setup: (conn) => (conn.hooks.onReadable = () => void conn.recv()) });
      connect(ctx, (c) => {
        c.send(request());
        w.after(ctx.opts.rtt * 2, () => {
          c.close();
          ctx.serverConn?.close();
        });
      });
    },
  },
  'simultaneous-open': {
    description: 'both ends send SYN to each other at once: SYN-SENT, then SYN-RECEIVED, then ESTABLISHED on both sides',
    run(ctx) {
      const { w } = ctx;
      const a = w.client.tcpConnect({ address: SERVER_ADDR, port: 7000, localPort: 7001 });
      const b = w.server.tcpConnect({ address: CLIENT_ADDR, port: 7001, localPort: 7000 });
      ctx.clientConn = a;
      ctx.serverConn = b;
      watch(ctx, 'client', a);
      watch(ctx, 'server', b);
      let both = 0;
      const up = (): void => {
        if (++both === 2) w.after(10, () => a.close());
      };
      a.hooks.onConnected = up;
      b.hooks.onConnected = up;
      b.hooks.onReadable = () => {
        if (b.peerFinished) w.after(5, () => b.close());
      };
    },
  },
  'half-close': {
    description: 'the client sends its request and closes its side at once; the server, in CLOSE-WAIT, still sends the response',
    run(ctx) {
      const { w } = ctx;
      listen(ctx, {
        setup(conn) {
          let answered = false;
          conn.hooks.onReadable = () => {
            while (conn.recv() !== null) {
              /* consume */
            }
            if (!answered) {
              answered = true;
              writeAll(conn, body(ctx.opts.bytes), () => w.after(5, () => conn.close()));
            }
          };
        },
      });
      connect(ctx, (c) => {
        c.send(request());
        c.close();
        readResponse(ctx, c, () => undefined);
      });
    },
  },
  'lost-final-ack': {
    description: 'the client\'s last ACK is lost; the server sends its FIN again and the client, still in TIME-WAIT, answers it: this is why TIME-WAIT exists',
    run(ctx) {
      const { w } = ctx;
      listen(ctx, { closeDelay: 5 });
      let dropped = false;
      w.clientLink.dropOut = (seg) => {
        const c = ctx.clientConn;
        if (!dropped && c !== null && c.state === 'TIME-WAIT' && seg.flags === TcpFlag.ACK && seg.payload.length === 0) {
          dropped = true;
          return true;
        }
        return false;
      };
      requestThen(ctx, (c) => c.close());
    },
  },
  refused: {
    description: 'a SYN to a port nobody listens on is answered with RST,ACK: the connection is refused at once',
    run(ctx) {
      connect(ctx, () => undefined, 81);
    },
  },
  abort: {
    description: 'after the exchange the client aborts: one RST, and both ends are CLOSED with no TIME-WAIT',
    run(ctx) {
      listen(ctx);
      requestThen(ctx, (c) => c.abort());
    },
  },
  loss: {
    description: 'a larger response with two segments lost: duplicate ACKs trigger a fast retransmit, and a lost tail goes again when the timer runs out (a lone segment\'s tail loss probe waits 2*SRTT + 200 ms, capped at the RTO)',
    run(ctx) {
      const { w } = ctx;
      if (ctx.opts.bytes < 8 * ctx.opts.mss) ctx.opts.bytes = 12 * ctx.opts.mss;
      listen(ctx, { closeDelay: 5 });
      let dataSegs = 0;
      let lastDropped = false;
      const total = ctx.opts.bytes;
      w.serverLink.dropOut = (seg) => {
        if (seg.payload.length === 0) return false;
        dataSegs++;
        if (dataSegs === 3) return true; // the middle: duplicate ACKs follow
        const s = ctx.serverConn;
        if (!lastDropped && s !== null && add(seg.seq, seg.payload.length) === add(s.info().iss, 1 + total)) {
          lastDropped = true; // the tail: only a timer (the loss probe, RFC 8985) can find it
          return true;
        }
        return false;
      };
      requestThen(ctx, (c) => c.close());
    },
  },
  'zero-window': {
    description: 'the server stops reading: its window fills and reaches zero, the client probes with backoff, and the transfer resumes when the server reads again',
    run(ctx) {
      const { w } = ctx;
      const size = 4 * ctx.opts.mss;
      listen(ctx, {
        recvBufferSize: size,
        setup(conn) {
          let reading = false;
          conn.hooks.onReadable = () => {
            if (reading) while (conn.recv() !== null);
            if (conn.peerFinished) w.after(5, () => conn.close());
          };
          w.after(ctx.opts.rtt * 12 + 1500, () => {
            reading = true;
            while (conn.recv() !== null);
            if (conn.peerFinished) w.after(5, () => conn.close());
          });
        },
      });
      connect(ctx, (c) => {
        writeAll(c, body(size * 2), () => c.close());
      });
    },
  },
  hijack: {
    description: 'an off-path attacker who cannot see the traffic sprays RSTs and data at guessed sequence numbers: random ISNs and RFC 5961 checks make every guess fail, and the connection carries on',
    run(ctx) {
      const { w } = ctx;
      listen(ctx, { closeDelay: 5 });
      const rnd = mulberry(ctx.opts.seed + 99);
      connect(ctx, (c) => {
        w.after(ctx.opts.rtt, () => {
          const s = ctx.serverConn;
          if (s === null) return;
          const src = parseIp(CLIENT_ADDR)!;
          const dst = parseIp(SERVER_ADDR)!;
          for (let i = 0; i < 4; i++) {
            const guess = rnd();
            const isRst = i % 2 === 0;
            const seg = {
              srcPort: c.tuple.localPort,
              dstPort: PORT,
              seq: guess,
              ack: rnd(),
              flags: isRst ? TcpFlag.RST : TcpFlag.ACK | TcpFlag.PSH,
              window: 65535,
              urgent: 0,
              options: {},
              payload: isRst ? new Uint8Array(0) : enc.encode('EVIL'),
            };
            const pkt = buildTcpPacket(src, dst, seg);
            w.record('attacker', pkt, false, 'spoofed');
            w.serverLink.inject(pkt);
          }
          ctx.notes.push('4 spoofed segments with guessed sequence numbers were injected; the connection survived');
          c.send(request());
          readResponse(ctx, c, () => w.after(5, () => c.close()));
        });
      });
    },
  },
  'syn-flood': {
    description: "spoofed SYNs fill the server's backlog of 2; the client's SYN is answered with a SYN cookie (RFC 4987 3.6) instead of being dropped, and the ACK that ends its handshake rebuilds the connection with nothing stored in between",
    run: synFlood,
  },
};

/** The syn-flood scenario: spoofed SYNs fill a backlog of 2, then a client connects through a SYN cookie. */
function synFlood(ctx: Ctx): void {
  const { w } = ctx;
  const BACKLOG = 2;
  // The spoofed half-open entries give up after their first SYN-ACK times out (1 s), so the ladder
  // is not filled with retransmissions to hosts that do not exist.
  listen(ctx, { closeDelay: 5, backlog: BACKLOG, config: { synAckRetries: 0 } });
  const spoofed = ['198.18.0.66', '198.18.0.67'];
  // The server's half-open entries for the spoofed sources stay off the ladder's state column.
  w.hideState = (conn) => conn !== undefined && spoofed.some((a) => conn.includes(`>${a}:`));
  let cookieIss: number | null = null;
  let cookiePending = false;
  w.server.on('trace', (e) => {
    if (e.type === 'syncookie' && e.action === 'sent') cookiePending = true;
  });
  let halfOpen = 0;
  w.noteFor = (from, seg, dst) => {
    const synAck = seg.flags === (TcpFlag.SYN | TcpFlag.ACK);
    if (from === 'server' && synAck && cookiePending) {
      cookiePending = false;
      cookieIss = seg.seq;
      return 'SYN cookie in seq: backlog full, nothing stored';
    }
    if (from === 'server' && formatIp(dst) !== CLIENT_ADDR) {
      return synAck ? `to ${formatIp(dst)}, half-open ${++halfOpen}/${BACKLOG}` : `to ${formatIp(dst)}`;
    }
    if (from === 'client' && cookieIss !== null && seg.ack === add(cookieIss, 1)) {
      cookieIss = null;
      return 'returns the cookie as ack-1';
    }
    return undefined;
  };
  w.after(5, () => {
    const dst = parseIp(SERVER_ADDR)!;
    spoofed.forEach((addr, i) => {
      const syn = {
        srcPort: 40000 + i, dstPort: PORT, seq: 1000 * (i + 1), ack: 0, flags: TcpFlag.SYN, window: 64240, urgent: 0,
        options: { mss: 1460 }, payload: new Uint8Array(0),
      };
      const pkt = buildTcpPacket(parseIp(addr)!, dst, syn);
      w.record('attacker', pkt, false, `spoofed from ${addr}`);
      w.serverLink.inject(pkt);
    });
  });
  w.after(10, () => requestThen(ctx, (c) => c.close()));
  const stats = (): void => {
    const s = w.server.stats();
    ctx.notes.push(
      `backlog ${BACKLOG} filled by ${spoofed.length} spoofed SYNs; SYN cookies sent ${s.tcpSynCookiesSent}, valid ${s.tcpSynCookiesValid}, failed ${s.tcpSynCookiesFailed}; SYNs dropped ${s.tcpBacklogDrops}`,
    );
  };
  w.after(5_000, stats);
}

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export function scenarioNames(): string[] {
  return Object.keys(SCENARIOS);
}

/** A scenario set up on its World, not yet run: a driver (the lab) steps its clock, then reads the result. */
export interface DemoRun {
  readonly world: World;
  /** The client's and the server's connection once they exist (the lab's TCB panel reads them). */
  connections(): { client: TcpConnection | null; server: TcpConnection | null };
  /** The trace and summary of what has run so far. */
  result(): DemoResult;
}

/** The virtual time a demo runs to at most (TIME-WAIT's 60 s and every retry fit well inside). */
export const DEMO_TIME_LIMIT = 10 * 60_000;

/** Set up one scenario on a fresh World without running it. */
export function startDemo(opts: DemoOptions): DemoRun {
  const sc = SCENARIOS[opts.scenario];
  if (sc === undefined) {
    const e = new Error(`unknown scenario "${opts.scenario}"; choose one of: ${scenarioNames().join(', ')}`) as Error & { code: string };
    e.code = 'ERR_INVALID_ARG_VALUE';
    throw e;
  }
  const w = new World(opts);
  const ctx: Ctx = { w, opts: { ...opts }, notes: [], clientConn: null, serverConn: null, errors: {}, finalStats: {} };
  sc.run(ctx);
  return {
    world: w,
    connections: () => ({ client: ctx.clientConn, server: ctx.serverConn }),
    result: () => summarise(sc, ctx),
  };
}

/** Run one scenario to the end (virtual time) and collect the trace and a summary. */
export function runDemo(opts: DemoOptions): DemoResult {
  const run = startDemo(opts);
  run.world.run(DEMO_TIME_LIMIT);
  return run.result();
}

function summarise(sc: Scenario, ctx: Ctx): DemoResult {
  const { w, opts } = ctx;
  const events = w.sorted();
  const side = (host: 'client' | 'server'): SideSummary => {
    const states: TcpStateName[] = [];
    for (const e of events) {
      if (e.type !== 'state' || e.host !== host) continue;
      if (states.length === 0) states.push(e.from);
      states.push(e.to);
    }
    const st = ctx.finalStats[host];
    // This connection's own segments: not a spoofed one, nor one to or from a third host.
    const segs = events.filter((e) => e.type === 'segment' && e.from === host && e.conn === undefined && !e.note?.startsWith('spoofed'));
    const s: SideSummary = {
      states,
      bytesSent: segs.reduce((n, e) => n + (e.type === 'segment' && !e.retransmit ? e.len : 0), 0),
      bytesReceived: st?.bytesReceived ?? 0,
      segments: segs.length,
      retransmissions: segs.filter((e) => e.type === 'segment' && e.retransmit).length,
      rtt: st?.rtt ?? 0,
    };
    const err = ctx.errors[host];
    if (err !== undefined) s.error = err;
    return s;
  };
  return {
    scenario: opts.scenario,
    description: sc.description,
    events,
    packets: w.packets,
    client: side('client'),
    server: side('server'),
    duration: w.clock.now(),
    notes: ctx.notes,
  };
}
