// synack figures through the full Stack: two Stacks on the in-memory link with a VirtualClock, for bulk, churn, memory and scaling.

import { Stack } from '../stack/stack.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpConfigInput } from '../tcp/config.js';
import { VirtualClock } from '../util/virtual-clock.js';
import { seededRandom } from '../util/random.js';
import { createMemoryPair } from '../link/memory.js';
import { establishIdlePairs, gc, memoryPerEndpoint, nowMs, pattern } from './harness.js';
import type { BulkResult, ScalingRun, SynackBench } from './synack.js';

interface World {
  clock: VirtualClock;
  client: Stack;
  server: Stack;
}

const CLIENT = '198.18.0.1';
const SERVER = '198.18.0.2';

function world(mtu: number, tcp: TcpConfigInput = {}, batch?: boolean): World {
  const clock = new VirtualClock();
  // The memory pair's default (batch: true with a clock) hands over what arrives at one instant
  // as one batch, so GRO joins its segments; batch: false goes packet by packet.
  const [la, lb] = createMemoryPair({ mtu, clock, ...(batch === undefined ? {} : { batch }) });
  const client = new Stack({ name: 'client', clock, random: seededRandom(1), tcp, backlog: 1 << 20 });
  const server = new Stack({ name: 'server', clock, random: seededRandom(2), tcp, backlog: 1 << 20 });
  client.addInterface(la, { addresses: [`${CLIENT}/24`] });
  server.addInterface(lb, { addresses: [`${SERVER}/24`] });
  return { clock, client, server };
}

/** Run the clock until `done()`; throws if nothing is left to run first. */
function runUntil(clock: VirtualClock, done: () => boolean, what: string): void {
  while (!done()) {
    if (!clock.runNext()) throw new Error(`stack pair stalled during ${what} at t=${clock.now()}`);
  }
}

function checkClean(w: World): void {
  const c = w.client.stats();
  const s = w.server.stats();
  const bad = c.ipBadChecksum + s.ipBadChecksum + c.tcpBad + s.tcpBad + c.ipTooBig + s.ipTooBig;
  if (bad > 0) throw new Error(`stack pair dropped ${bad} packets (bad checksum / malformed / too big)`);
}

const CHUNK = pattern(256 * 1024);

/** The discarding reader: copies what arrived into one reused buffer (recvInto), as a server that only counts bytes would. */
const SCRATCH = new Uint8Array(64 * 1024);

function drain(conn: TcpConnection): number {
  let n = 0;
  for (let k = conn.recvInto(SCRATCH); k > 0; k = conn.recvInto(SCRATCH)) n += k;
  return n;
}

/** One established connection whose client sends and whose server discards; `transfer` moves more bytes. */
function bulkPair(w: World, port: number) {
  let server: TcpConnection | null = null;
  const got = { n: 0 };
  w.server.tcpListen({ port }, (c) => {
    server = c;
    c.hooks.onReadable = () => (got.n += drain(c));
    got.n += drain(c);
  });
  let target = 0;
  let sent = 0;
  const client = w.client.tcpConnect({ address: SERVER, port });
  const pump = (): void => {
    while (sent < target) {
      // The whole chunk while at least that much is left (send takes what fits): no view of it per call.
      const rest = target - sent;
      const n = client.send(rest >= CHUNK.length ? CHUNK : CHUNK.subarray(0, rest));
      if (n === 0) return;
      sent += n;
    }
  };
  client.hooks.onWritable = pump;
  runUntil(w.clock, () => client.state === 'ESTABLISHED' && server !== null, 'bulk handshake');
  return {
    /** Move `bytes` more; returns wall ms and the segments the client sent meanwhile. */
    transfer(bytes: number): { ms: number; segments: number } {
      const out0 = w.client.stats().tcpOut;
      const t0 = nowMs();
      target += bytes;
      pump();
      runUntil(w.clock, () => got.n >= target, 'bulk transfer');
      const ms = nowMs() - t0;
      return { ms, segments: w.client.stats().tcpOut - out0 };
    },
  };
}

/** Establish `n` idle connections (client ports 1024.., one server port per 60,000). */
function idlePairs(w: World, n: number, basePort: number): TcpConnection[] {
  return establishIdlePairs<TcpConnection>(
    n,
    basePort,
    (port, keep) => void w.server.tcpListen({ port }, keep),
    (port, localPort) => w.client.tcpConnect({ address: SERVER, port, localPort }),
    () => w.clock.runUntilIdle({ maxTime: w.clock.now() + 5000 }),
  );
}

export const stackBench: SynackBench = {
  flavour: '',

  async bulk(mtu: number, bytes: number, batch?: boolean): Promise<BulkResult> {
    const w = world(mtu, {}, batch);
    const r = bulkPair(w, 80).transfer(bytes);
    checkClean(w);
    w.client.close();
    w.server.close();
    return { mbps: bytes / 1e6 / (r.ms / 1000), segmentsPerSec: r.segments / (r.ms / 1000) };
  },

  async churn(cycles: number, concurrency: number): Promise<number> {
    const w = world(1500, { noDelay: true });
    const request = pattern(32);
    const response = pattern(64);
    w.server.tcpListen({ port: 80 }, (c) => {
      let got = 0;
      const serve = (): void => {
        got += drain(c);
        if (got >= request.length && c.state === 'ESTABLISHED') {
          c.send(response);
          c.close();
        }
      };
      c.hooks.onReadable = serve;
      serve();
    });
    let started = 0;
    let completed = 0;
    const one = (): void => {
      if (started >= cycles) return;
      started++;
      let got = 0;
      const c = w.client.tcpConnect({
        address: SERVER,
        port: 80,
        hooks: {
          onConnected: () => void c.send(request),
          onReadable: () => {
            got += drain(c);
            if (c.peerFinished && c.state === 'CLOSE-WAIT') c.close();
          },
          onError: (code, msg) => {
            throw new Error(`churn: ${code} ${msg}`);
          },
          onClosed: () => {
            if (got < response.length) throw new Error(`churn: short response ${got}`);
            completed++;
            one();
          },
        },
      });
    };
    const t0 = nowMs();
    for (let i = 0; i < concurrency; i++) one();
    runUntil(w.clock, () => completed >= cycles, 'churn');
    const ms = nowMs() - t0;
    checkClean(w);
    w.client.close();
    w.server.close();
    return cycles / (ms / 1000);
  },

  async memory(n: number): Promise<{ heapPerConn: number; rssPerConn: number }> {
    return memoryPerEndpoint(n, () => {
      const w = world(1500);
      const keep = idlePairs(w, n, 5000);
      return () => {
        keep.length = 0;
        w.client.close();
        w.server.close();
      };
    });
  },


  async scaling(n: number): Promise<ScalingRun> {
    const w = world(1500);
    let keep: TcpConnection[] = n > 1 ? idlePairs(w, n - 1, 5000) : [];
    const p = bulkPair(w, 80);
    return {
      transfer(bytes: number): number {
        const r = p.transfer(bytes);
        return (r.ms * 1e6) / r.segments;
      },
      dispose() {
        keep = [];
        w.client.close();
        w.server.close();
        void keep;
      },
    };
  },
};
