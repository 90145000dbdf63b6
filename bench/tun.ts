// Throughput over a TUN device, kernel-to-synack and synack-to-kernel, at MTU 1500 and larger MTUs,
// beside kernel-to-kernel over a veth pair measured in the same run (socat on the kernel sides).
// Needs root, the TUN addon and socat. Run: node --import tsx bench/tun.ts [--mib N] [--mtus 1500,9000,65535]
import { spawnSync, type ChildProcess } from 'node:child_process';
import { openTun, tunUnavailableReason } from '../src/link/tun.js';
import { Stack } from '../src/stack/stack.js';
import { RealtimeClock } from '../src/util/realtime-clock.js';
import type { TcpConnection } from '../src/tcp/connection.js';
import { NetnsHarness, missingTool, netnsUnavailableReason, type Netns } from '../test/helpers/netns.js';

const MiB = 1 << 20;
const verbose = process.argv.includes('--verbose');
const log = (s: string): void => void (verbose && process.stderr.write(`bench/tun: ${s}\n`));

/** Resolves when the child exits (the promise exists from spawn on, so an early exit is not missed). */
function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    else child.once('exit', () => res());
  });
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function waitListening(ns: Netns, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await ns.exec('ss', ['-Htln', `sport = :${port}`]);
    if (r.stdout.trim() !== '') return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** MB/s (10^6 bytes/s) of one transfer between the kernel and an in-process synack stack over TUN. */
async function tunCase(h: NetnsHarness, mtu: number, dir: 'kernel->synack' | 'synack->kernel', bytes: number): Promise<{ mbps: number; retrans: number }> {
  const ns = await h.create();
  const tun = await openTun({ name: 'syn0', netns: ns.name, mtu });
  await ns.configureTun('syn0', { peer: '198.18.0.1', prefix: 24, mtu, txqueuelen: 1000 });
  const clock = new RealtimeClock();
  const stack = new Stack({ name: 'bench', clock });
  stack.addInterface(tun, { addresses: ['198.18.0.2/24'] });
  try {
    if (dir === 'kernel->synack') {
      const sink = new Uint8Array(256 * 1024);
      const result = new Promise<{ t0: number; t1: number; got: number; conn: TcpConnection }>((resolve) => {
        stack.tcpListen({ port: 5001 }, (conn) => {
          const t0 = performance.now();
          let got = 0;
          const read = (): void => {
            for (let n = conn.recvInto(sink); n > 0; n = conn.recvInto(sink)) got += n;
            if (conn.peerFinished) {
              conn.close();
              resolve({ t0, t1: performance.now(), got, conn });
            }
          };
          conn.hooks.onReadable = read;
          read();
        });
      });
      const src = exitOf(ns.spawn('sh', ['-c', `head -c ${bytes} /dev/zero | socat -u -b 262144 - TCP:198.18.0.2:5001`], { stdio: 'ignore' }));
      const r = await result;
      await src;
      if (r.got !== bytes) throw new Error(`received ${r.got} of ${bytes}`);
      return { mbps: bytes / 1e6 / ((r.t1 - r.t0) / 1000), retrans: r.conn.stats().retransSegs };
    }
    const sinkDone = exitOf(ns.spawn('socat', ['-u', '-b', '262144', 'TCP-LISTEN:5001', 'OPEN:/dev/null'], { stdio: 'ignore' }));
    await waitListening(ns, 5001);
    const chunk = new Uint8Array(MiB);
    const r = await new Promise<{ t0: number; t1: number; conn: TcpConnection }>((resolve, reject) => {
      const t0 = performance.now();
      let left = bytes;
      const conn = stack.tcpConnect({ address: '198.18.0.1', port: 5001 });
      const pump = (): void => {
        while (left > 0) {
          const n = conn.send(chunk.subarray(0, Math.min(left, chunk.length)));
          if (n === 0) return;
          left -= n;
        }
        conn.close();
      };
      conn.hooks.onConnected = pump;
      conn.hooks.onWritable = pump;
      conn.hooks.onError = (code, msg) => reject(new Error(`${code}: ${msg}`));
      // Done when the kernel, having read everything, closes too.
      conn.hooks.onState = (_f, to) => {
        if (to === 'TIME-WAIT' || to === 'CLOSED') resolve({ t0, t1: performance.now(), conn });
      };
    });
    await sinkDone;
    return { mbps: bytes / 1e6 / ((r.t1 - r.t0) / 1000), retrans: r.conn.stats().retransSegs };
  } finally {
    stack.close();
    tun.close();
    clock.dispose();
  }
}

/** MB/s of kernel-to-kernel over a veth pair at `mtu` (socat to socat, wall time of the sender). */
async function vethCase(h: NetnsHarness, mtu: number, bytes: number): Promise<number> {
  const a = await h.create();
  const b = await h.create();
  await h.veth(a, b, { addrA: ['198.18.1.1/24'], addrB: ['198.18.1.2/24'], mtu });
  const sinkDone = exitOf(b.spawn('socat', ['-u', '-b', '262144', 'TCP-LISTEN:5001', 'OPEN:/dev/null'], { stdio: 'ignore' }));
  await waitListening(b, 5001);
  const t0 = performance.now();
  const r = await a.exec('sh', ['-c', `head -c ${bytes} /dev/zero | socat -u -b 262144 - TCP:198.18.1.2:5001`], { timeoutMs: 120_000 });
  const t1 = performance.now();
  if (r.code !== 0) throw new Error(`veth sender failed: ${r.stderr}`);
  await sinkDone;
  return bytes / 1e6 / ((t1 - t0) / 1000);
}

async function main(): Promise<void> {
  const why = netnsUnavailableReason() ?? tunUnavailableReason() ?? missingTool('socat');
  if (why !== null) {
    process.stderr.write(`bench/tun: cannot run: ${why}\n`);
    process.exitCode = 2;
    return;
  }
  const mib = Number(arg('mib', '128'));
  const mtus = arg('mtus', '1500,9000,65535').split(',').map(Number);
  const bytes = mib * MiB;
  const rows: string[][] = [['MTU', 'kernel->synack MB/s', 'synack->kernel MB/s', 'kernel->kernel veth MB/s', 'k->s / veth', 's->k / veth', 'retrans k->s / s->k']];
  const h = new NetnsHarness();
  try {
    for (const mtu of mtus) {
      log(`MTU ${mtu} kernel->synack`);
      const k2s = await tunCase(h, mtu, 'kernel->synack', bytes);
      await h.cleanup();
      log(`MTU ${mtu} synack->kernel`);
      const s2k = await tunCase(h, mtu, 'synack->kernel', bytes);
      await h.cleanup();
      log(`MTU ${mtu} veth`);
      const veth = await vethCase(h, mtu, Math.max(bytes, 1024 * MiB));
      await h.cleanup();
      rows.push([
        String(mtu),
        k2s.mbps.toFixed(0),
        s2k.mbps.toFixed(0),
        veth.toFixed(0),
        `${((k2s.mbps / veth) * 100).toFixed(1)}%`,
        `${((s2k.mbps / veth) * 100).toFixed(1)}%`,
        `${k2s.retrans} / ${s2k.retrans}`,
      ]);
    }
  } finally {
    await h.cleanup();
  }
  const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).stdout.trim();
  process.stdout.write(`TUN throughput, ${mib} MiB per synack transfer (veth: max(${mib}, 1024) MiB), Node ${process.version}, ${cpu}\n`);
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) process.stdout.write(r.map((v, i) => (i === 0 ? v.padEnd(w[i]!) : v.padStart(w[i]!))).join('  ') + '\n');
}

await main();
