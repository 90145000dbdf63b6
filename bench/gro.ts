// GRO on the in-memory link: one bulk transfer between two Stacks on a VirtualClock, the link
// delivering per packet (no GRO) or per arrival instant (`batch: true`, GRO joins the segments),
// each measured in the same run, alternating. Prints MB/s (wall time), the segments TCP input saw
// on the receiver and the ACKs it sent. Run: node --import tsx bench/gro.ts [--mib N] [--runs N] [--mtu N]
import { Stack } from '../src/stack/stack.js';
import { createMemoryPair } from '../src/link/memory.js';
import { VirtualClock } from '../src/util/virtual-clock.js';
import { seededRandom } from '../src/util/random.js';
import { median, nowMs, pattern } from '../src/bench/harness.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const MiB = 1 << 20;
const bytes = arg('mib', 64) * MiB;
const runs = arg('runs', 5);
const mtu = arg('mtu', 1500);
const CHUNK = pattern(256 * 1024);
const SCRATCH = new Uint8Array(64 * 1024);

interface Run { mbps: number; inputs: number; acks: number }

function transfer(batch: boolean): Run {
  const clock = new VirtualClock();
  // One millisecond of latency, so a window's worth of segments arrives at one instant.
  const [la, lb] = createMemoryPair({ clock, mtu, latency: 1, batch });
  const a = new Stack({ name: 'a', clock, random: seededRandom(1), loopback: false });
  const b = new Stack({ name: 'b', clock, random: seededRandom(2), loopback: false, tcp: { recvBufferSize: 4 * MiB } });
  a.addInterface(la, { addresses: ['198.18.0.1/24'] });
  b.addInterface(lb, { addresses: ['198.18.0.2/24'] });
  let got = 0;
  b.tcpListen({ port: 80 }, (c) => {
    c.hooks.onReadable = () => {
      for (let k = c.recvInto(SCRATCH); k > 0; k = c.recvInto(SCRATCH)) got += k;
    };
  });
  const c = a.tcpConnect({ address: '198.18.0.2', port: 80, config: { sendBufferSize: 4 * MiB } });
  let sent = 0;
  const pump = (): void => {
    while (sent < bytes) {
      const n = c.send(CHUNK.subarray(0, Math.min(CHUNK.length, bytes - sent)));
      if (n === 0) return;
      sent += n;
    }
  };
  c.hooks.onConnected = pump;
  c.hooks.onWritable = pump;
  const t0 = nowMs();
  while (got < bytes) if (!clock.runNext()) throw new Error(`stalled at ${got} of ${bytes} bytes`);
  const ms = nowMs() - t0;
  // tcpIn counts wire segments; a joined segment reached TCP input once.
  const g = b.groStats();
  return { mbps: bytes / 1e6 / (ms / 1000), inputs: b.stats().tcpIn - g.groSegments + g.groMerged, acks: b.stats().tcpOut };
}

transfer(false); // JIT warm-up
transfer(true);
const plain: Run[] = [];
const gro: Run[] = [];
for (let i = 0; i < runs; i++) {
  plain.push(transfer(false));
  gro.push(transfer(true));
}
const row = (name: string, rs: Run[]): string =>
  `| ${name} | ${median(rs.map((r) => r.mbps)).toFixed(0)} | ${Math.min(...rs.map((r) => r.mbps)).toFixed(0)}-${Math.max(...rs.map((r) => r.mbps)).toFixed(0)} | ${rs[0]!.inputs} | ${rs[0]!.acks} |`;
console.log(`${bytes / MiB} MiB one way, MTU ${mtu}, memory pair with 1 ms latency, ${runs} runs each alternating`);
console.log('| link | MB/s median | range | segments into TCP input (receiver) | segments the receiver sent |');
console.log('|---|---|---|---|---|');
console.log(row('per packet (no GRO)', plain));
console.log(row('batch: true (GRO)', gro));
