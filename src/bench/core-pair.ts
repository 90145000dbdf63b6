// A minimal two-host driver for the TCP core alone (no Stack): IPv4 packets with checksums over the in-memory link, a 4-tuple map, one timer per connection on a VirtualClock.
// It gives first bulk, churn, memory and scaling figures before src/stack lands; the Stack-based
// versions in stack-pair.ts replace it when the Stack is there.

import { TcpConnection } from '../tcp/connection.js';
import { resolveConfig, type TcpConfig } from '../tcp/config.js';
import { buildTcpPacket, parseIpPacket } from '../wire/packet.js';
import { parseTcp, TcpFlag, TCP_PROTOCOL, type TcpRepr } from '../wire/tcp.js';
import { VirtualClock } from '../util/virtual-clock.js';
import type { TimerHandle } from '../util/clock.js';
import { createMemoryPair } from '../link/memory.js';
import type { Link } from '../link/link.js';
import { establishIdlePairs, gc, memoryPerEndpoint, nowMs, pattern } from './harness.js';
import type { BulkResult, ScalingRun, SynackBench } from './synack.js';

interface Entry {
  conn: TcpConnection;
  key: number;
  timer: TimerHandle | null;
  timerAt: number;
  pollQueued: boolean;
}

/** One end: an address, a link, its connections keyed by (local port, remote port) (one peer address only). */
class MiniHost {
  readonly conns = new Map<number, Entry>();
  readonly listeners = new Map<number, (c: TcpConnection) => void>();
  dataSegmentsOut = 0;
  dropped = 0;
  private iss = 0x1000;
  private nextPort = 1024;
  private readonly emit: (seg: TcpRepr) => void;

  constructor(
    readonly clock: VirtualClock,
    readonly link: Link,
    readonly addr: Uint8Array,
    readonly peer: Uint8Array,
    readonly config: TcpConfig,
  ) {
    link.onReceive = (p) => this.receive(p);
    this.emit = (seg) => {
      if (seg.payload.length > 0) this.dataSegmentsOut++;
      this.link.send(buildTcpPacket(this.addr, this.peer, seg));
    };
  }

  connect(remotePort: number, localPort?: number): TcpConnection {
    const lp = localPort ?? this.allocPort();
    const conn = TcpConnection.connect({ localPort: lp, remotePort, iss: this.nextIss(), now: this.clock.now(), config: this.config });
    this.adopt(conn, lp, remotePort);
    return conn;
  }

  private allocPort(): number {
    for (let i = 0; i < 64512; i++) {
      const p = this.nextPort;
      this.nextPort = p === 65535 ? 1024 : p + 1;
      let used = false;
      for (const rp of this.listeners.keys()) if (this.conns.has(p * 65536 + rp)) used = true;
      if (!used) return p;
    }
    throw new Error('out of ports');
  }

  private nextIss(): number {
    this.iss = (this.iss + 0x9e3779b9) >>> 0;
    return this.iss;
  }

  private adopt(conn: TcpConnection, localPort: number, remotePort: number): Entry {
    const e: Entry = { conn, key: localPort * 65536 + remotePort, timer: null, timerAt: Infinity, pollQueued: false };
    this.conns.set(e.key, e);
    // Only onPollNeeded is ours; the bench sets the other hooks. CLOSED is noticed in service().
    conn.hooks.onPollNeeded = () => this.queuePoll(e);
    this.queuePoll(e);
    return e;
  }

  private queuePoll(e: Entry): void {
    if (e.pollQueued) return;
    e.pollQueued = true;
    this.clock.schedule(this.clock.now(), () => {
      e.pollQueued = false;
      this.service(e);
    });
  }

  /** Poll one connection, then keep its single timer at its earliest deadline. */
  private service(e: Entry): void {
    e.conn.poll(this.clock.now(), this.emit);
    if (e.conn.state === 'CLOSED') {
      if (this.conns.get(e.key) === e) this.conns.delete(e.key);
      if (e.timer !== null) this.clock.cancel(e.timer);
      e.timer = null;
      return;
    }
    const at = e.conn.pollAt();
    if (at === e.timerAt && e.timer !== null) return;
    if (e.timer !== null) this.clock.cancel(e.timer);
    e.timer = null;
    e.timerAt = at;
    if (at !== Infinity) {
      e.timer = this.clock.schedule(at, () => {
        e.timer = null;
        e.timerAt = Infinity;
        this.service(e);
      });
    }
  }

  private receive(pkt: Uint8Array): void {
    const ip = parseIpPacket(pkt, { verifyChecksum: true });
    if (!ip.ok || ip.value.protocol !== TCP_PROTOCOL) {
      this.dropped++;
      return;
    }
    const tcp = parseTcp(ip.value.payload, { src: ip.value.src, dst: ip.value.dst });
    if (!tcp.ok) {
      this.dropped++;
      return;
    }
    const seg = tcp.value;
    const e = this.conns.get(seg.dstPort * 65536 + seg.srcPort);
    const now = this.clock.now();
    if (e !== undefined) {
      e.conn.handleSegment(seg, now);
      this.service(e);
      return;
    }
    const onAccept = this.listeners.get(seg.dstPort);
    if (onAccept !== undefined && (seg.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN) {
      const conn = TcpConnection.accept(seg, { localPort: seg.dstPort, remotePort: seg.srcPort, iss: this.nextIss(), now, config: this.config });
      const entry = this.adopt(conn, seg.dstPort, seg.srcPort);
      onAccept(conn);
      this.service(entry);
      return;
    }
    this.dropped++;
  }
}

const A = new Uint8Array([198, 18, 0, 1]);
const B = new Uint8Array([198, 18, 0, 2]);

function world(mtu: number, cfg: Partial<TcpConfig> = {}): { clock: VirtualClock; client: MiniHost; server: MiniHost } {
  const clock = new VirtualClock();
  const [la, lb] = createMemoryPair({ mtu, clock });
  const config = resolveConfig({ mss: mtu - 40, ...cfg });
  return { clock, client: new MiniHost(clock, la, A, B, config), server: new MiniHost(clock, lb, B, A, config) };
}

/** Run the clock until `done()` or nothing is pending; throws if it stalls. */
function runUntil(clock: VirtualClock, done: () => boolean, what: string): void {
  while (!done()) {
    if (!clock.runNext()) throw new Error(`core pair stalled during ${what} at t=${clock.now()}`);
  }
}

const CHUNK = pattern(256 * 1024);

/** A sender that keeps `conn`'s send buffer full until `total` bytes were accepted. */
function pump(conn: TcpConnection, total: () => number, sent: { n: number }): void {
  while (sent.n < total()) {
    // The whole chunk while at least that much is left (send takes what fits): no view of it per call.
    const rest = total() - sent.n;
    const n = conn.send(rest >= CHUNK.length ? CHUNK : CHUNK.subarray(0, rest));
    if (n === 0) return;
    sent.n += n;
  }
}

/** The discarding reader: copies what arrived into one reused buffer (recvInto), as a server that only counts bytes would. */
const SCRATCH = new Uint8Array(64 * 1024);

function drain(conn: TcpConnection): number {
  let n = 0;
  for (let k = conn.recvInto(SCRATCH); k > 0; k = conn.recvInto(SCRATCH)) n += k;
  return n;
}

/** One established pair whose client sends and server discards; `transfer` moves more bytes. */
function bulkPair(w: ReturnType<typeof world>, port: number) {
  let server: TcpConnection | null = null;
  const got = { n: 0 };
  w.server.listeners.set(port, (c) => {
    server = c;
    c.hooks.onReadable = () => (got.n += drain(c));
  });
  const client = w.client.connect(port);
  let target = 0;
  const sent = { n: 0 };
  client.hooks.onWritable = () => pump(client, () => target, sent);
  runUntil(w.clock, () => client.state === 'ESTABLISHED' && server !== null && server.state === 'ESTABLISHED', 'bulk handshake');
  return {
    /** Move `bytes` more; returns wall ms spent. */
    transfer(bytes: number): number {
      const t0 = nowMs();
      target += bytes;
      pump(client, () => target, sent);
      runUntil(w.clock, () => got.n >= target, 'bulk transfer');
      return nowMs() - t0;
    },
  };
}

/** Establish `n` idle connection pairs to listener `port` (client ports 1024.., several server ports past 60,000). */
function idlePairs(w: ReturnType<typeof world>, n: number, basePort: number): TcpConnection[] {
  return establishIdlePairs<TcpConnection>(
    n,
    basePort,
    (port, keep) => void w.server.listeners.set(port, keep),
    (port, localPort) => w.client.connect(port, localPort),
    () => w.clock.runUntilIdle({ maxTime: w.clock.now() + 5000 }),
    1000,
  );
}

export const coreBench: SynackBench = {
  flavour: ' (core only)',

  async bulk(mtu: number, bytes: number): Promise<BulkResult> {
    const w = world(mtu);
    const p = bulkPair(w, 80);
    const seg0 = w.client.dataSegmentsOut;
    const ms = p.transfer(bytes);
    if (w.client.dropped + w.server.dropped > 0) throw new Error(`core pair dropped ${w.client.dropped + w.server.dropped} packets`);
    return { mbps: bytes / 1e6 / (ms / 1000), segmentsPerSec: (w.client.dataSegmentsOut - seg0) / (ms / 1000) };
  },

  async churn(cycles: number, concurrency: number): Promise<number> {
    const w = world(1500, { noDelay: true });
    const request = pattern(32);
    const response = pattern(64);
    w.server.listeners.set(80, (c) => {
      let got = 0;
      c.hooks.onReadable = () => {
        got += drain(c);
        if (got >= request.length && c.state === 'ESTABLISHED') {
          c.send(response);
          c.close();
        }
      };
    });
    let started = 0;
    let completed = 0;
    const one = (): void => {
      if (started >= cycles) return;
      started++;
      const c = w.client.connect(80);
      let got = 0;
      c.hooks.onConnected = () => void c.send(request);
      c.hooks.onReadable = () => {
        got += drain(c);
        if (c.peerFinished && c.state === 'CLOSE-WAIT') c.close();
      };
      c.hooks.onError = (code, msg) => {
        throw new Error(`churn: ${code} ${msg}`);
      };
      c.hooks.onClosed = () => {
        if (got < response.length) throw new Error(`churn: short response ${got}`);
        completed++;
        one();
      };
    };
    const t0 = nowMs();
    for (let i = 0; i < concurrency; i++) one();
    runUntil(w.clock, () => completed >= cycles, 'churn');
    return cycles / ((nowMs() - t0) / 1000);
  },

  async memory(n: number): Promise<{ heapPerConn: number; rssPerConn: number }> {
    return memoryPerEndpoint(n, () => {
      const keep = idlePairs(world(1500), n, 5000);
      if (keep.length !== 2 * n) throw new Error(`expected ${2 * n} endpoints, have ${keep.length}`);
      return () => void (keep.length = 0);
    });
  },


  async scaling(n: number): Promise<ScalingRun> {
    const w = world(1500);
    let keep: TcpConnection[] | null = n > 1 ? idlePairs(w, n - 1, 5000) : [];
    const p = bulkPair(w, 80);
    return {
      transfer(bytes: number): number {
        const seg0 = w.client.dataSegmentsOut;
        const ms = p.transfer(bytes);
        return (ms * 1e6) / (w.client.dataSegmentsOut - seg0);
      },
      dispose() {
        keep = null;
        void keep;
      },
    };
  },
};
