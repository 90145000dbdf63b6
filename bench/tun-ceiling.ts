// The TUN ceiling without offloads (issue 20), beside veth and synack in the same rounds. Root only.
//
//   node --import tsx bench/tun-ceiling.ts [--mib 256] [--rounds 3] [--mtu 1500] [--no-synack] [--json FILE]
//
// Each round runs, one after the other: kernel-to-kernel over veth (Node on both sides, as the `tun`
// bench group), then per direction the minimal C stack of bench/tun-ceiling.c on a TUN device without
// offloads (s2k with one thread and with two, k2s), and synack on a TUN device without offloads
// (the same code as `synack bench --only tun`), each against the same Node program on the kernel's
// side. It prints MB/s, the ratio to the round's veth figure, and CPU per data packet: per thread on
// our side, for the kernel-side Node program, and how many of the machine's cores were busy.
// The C file is compiled with `cc` into the temporary directory (once per version of its source).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addNamespace, canUseNetns, createVethPair, dropNamespace, kernelReceiver, kernelSender } from '../src/bench/kernel.js';
import { openWorld, threadCpu, tunBulk, type TunWorld } from '../src/bench/tun.js';
import { median } from '../src/bench/harness.js';
import { tunUnavailableReason } from '../src/link/tun.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const mib = Number(arg('--mib', '256'));
const rounds = Number(arg('--rounds', '3'));
const mtu = Number(arg('--mtu', '1500'));
const withSynack = !args.includes('--no-synack');
const jsonOut = args.includes('--json') ? arg('--json', '') : null;
if (!(mib > 0 && mib <= 2047) || !(Number.isInteger(rounds) && rounds > 0) || !(mtu >= 576 && mtu <= 65535)) {
  process.stderr.write('bench/tun-ceiling: --mib 1..2047, --rounds >= 1, --mtu 576..65535\n');
  process.exit(2);
}
const bytes = mib * 1024 * 1024;
const segments = Math.ceil(bytes / (mtu - 40));

const ok = canUseNetns();
const why = !ok.ok ? ok.why : existsSync('/dev/net/tun') ? (withSynack ? tunUnavailableReason() : null) : '/dev/net/tun does not exist';
if (why !== null) {
  process.stderr.write(`bench/tun-ceiling: cannot run: ${why}\n`);
  process.exit(2);
}

/** Compiles bench/tun-ceiling.c (once per version of its source) and returns the binary's path. */
function compile(): string {
  const src = join(dirname(fileURLToPath(import.meta.url)), 'tun-ceiling.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const bin = join(tmpdir(), `synack-tun-ceiling-${hash}`);
  if (existsSync(bin)) return bin;
  const r = spawnSync('cc', ['-O2', '-Wall', '-pthread', '-o', bin, src], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    process.stderr.write(`bench/tun-ceiling: cannot compile ${src} (needs a C compiler as cc): ${r.error?.message ?? r.stderr}\n`);
    process.exit(2);
  }
  return bin;
}
const bin = compile();

/** Busy jiffies of the whole machine (all but idle and iowait), from /proc/stat. */
function machineBusy(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return total - f[3]! - f[4]!;
}
const HZ = 100; // USER_HZ, as /proc/stat counts

/** One case's figures in one round. */
interface Sample {
  mbps: number;
  /** CPU seconds per thread on our side (the C stack's threads, or synack's), and 'kernel peer' for the Node program. */
  cpu: Record<string, number>;
  /** Busy cores of the machine over the case's wall time. */
  busyCores: number;
  note?: string;
}

function lines(p: ChildProcessWithoutNullStreams): { next(match: (l: string) => boolean): Promise<string>; exited: Promise<number>; err(): string } {
  let out = '';
  let err = '';
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  p.stdout.setEncoding('utf8');
  p.stderr.setEncoding('utf8');
  p.stderr.on('data', (d: string) => (err += d));
  const scan = (): void => {
    for (const w of [...waiters]) {
      const l = out.split('\n').find((x) => w.match(x));
      if (l !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  p.stdout.on('data', (d: string) => {
    out += d;
    scan();
  });
  const exited = new Promise<number>((r) => p.on('close', (code) => r(code ?? 1)));
  return {
    next: (match) =>
      new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        scan();
        void exited.then((code) => reject(new Error(`tun-ceiling exited (${code}): ${err.trim()}`)));
      }),
    exited,
    err: () => err,
  };
}

/** The C stack in its own namespace, against the Node program on the kernel's side. */
async function ceiling(dir: 's2k' | 'k2s', threads: number, ackEvery = 2): Promise<Sample> {
  const ns = `synb-c-${process.pid % 100000}`;
  addNamespace(ns);
  const busy0 = machineBusy();
  const t0 = performance.now();
  try {
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const p = spawn('ip', ['netns', 'exec', ns, bin, dir, String(bytes), '--threads', String(threads), '--ack-every', String(ackEvery), '--mtu', String(mtu)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const io = lines(p);
    await io.next((l) => l === 'ready');
    let mbps: number;
    let peer: number;
    if (dir === 's2k') {
      const rx = kernelReceiver(ns, '198.18.0.1', bytes);
      await rx.ready;
      p.stdin.write('go\n');
      const r = await rx.result;
      mbps = r.bytes / 1e6 / (r.ms / 1000);
      peer = r.cpuS;
    } else {
      const tx = await kernelSender(ns, '198.18.0.2', bytes);
      peer = tx.cpuS;
      mbps = NaN;
    }
    const line = await io.next((l) => l.startsWith('{'));
    if ((await io.exited) !== 0) throw new Error(`tun-ceiling ${dir} failed: ${io.err().trim()}`);
    const j = JSON.parse(line) as { ms?: number; bytes: number; retransmits?: number; acks?: number; packetsIn?: number; cpu: Record<string, number> };
    if (dir === 'k2s') mbps = j.bytes / 1e6 / (j.ms! / 1000);
    const wall = (performance.now() - t0) / 1000;
    return {
      mbps,
      cpu: { ...j.cpu, 'kernel peer': peer },
      busyCores: (machineBusy() - busy0) / HZ / wall,
      note: dir === 's2k' ? `${j.packetsIn} ACKs, ${j.retransmits} go-back-N` : `${j.acks} ACKs`,
    };
  } finally {
    dropNamespace(ns);
  }
}

async function synack(w: TunWorld, dir: 's2k' | 'k2s'): Promise<Sample> {
  const busy0 = machineBusy();
  const cpu0 = threadCpu();
  const s0 = w.tun.stats();
  const t0 = performance.now();
  const r = await tunBulk(w, dir === 's2k' ? 'synack->kernel' : 'kernel->synack', bytes);
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = threadCpu();
  const s1 = w.tun.stats();
  const cpu: Record<string, number> = {};
  for (const [k, v] of cpu1) {
    const d = v - (cpu0.get(k) ?? 0);
    if (d >= 0.005) cpu[k] = d;
  }
  cpu['kernel peer'] = r.peerCpuS;
  const acks = dir === 's2k' ? s1.rxPackets - s0.rxPackets : s1.txPackets - s0.txPackets;
  return { mbps: r.mbps, cpu, busyCores: (machineBusy() - busy0) / HZ / wall, note: `${acks} ACKs` };
}

const cases: { name: string; run: () => Promise<Sample> }[] = [];
let world: TunWorld | null = null;
cases.push({ name: 'ceiling synack->kernel, 1 thread', run: () => ceiling('s2k', 1) });
cases.push({ name: 'ceiling synack->kernel, 2 threads', run: () => ceiling('s2k', 2) });
if (withSynack) cases.push({ name: 'synack->kernel (no offload)', run: () => synack(world!, 's2k') });
// ACKs every second segment (RFC 5681 4.2), and every 44 (64 KiB: what Linux does behind GRO, and
// about what synack does, one ACK per read batch); both also at the end of each read burst.
cases.push({ name: 'ceiling kernel->synack, ACK every 2', run: () => ceiling('k2s', 1, 2) });
cases.push({ name: 'ceiling kernel->synack, ACK every 44', run: () => ceiling('k2s', 1, 44) });
if (withSynack) cases.push({ name: 'kernel->synack (no offload)', run: () => synack(world!, 'k2s') });

const us = (s: number): string => ((s / segments) * 1e6).toFixed(2);
const show = (name: string, s: Sample, veth: number): string =>
  `  ${name.padEnd(36)} ${s.mbps.toFixed(0).padStart(5)} MB/s  ${(s.mbps / veth).toFixed(3)} of veth  us/packet: ` +
  Object.entries(s.cpu)
    .map(([k, v]) => `${k} ${us(v)}`)
    .join(', ') +
  `; ${s.busyCores.toFixed(2)} cores busy${s.note !== undefined ? `; ${s.note}` : ''}`;

process.stdout.write(
  `TUN ceiling without offloads: MTU ${mtu}, ${mib} MiB per case (${segments} data packets), ${rounds} rounds; ${cpus().length} CPUs; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
const pair = createVethPair(mtu);
const results: { round: number; veth: Sample; cases: Record<string, Sample> }[] = [];
try {
  if (withSynack) world = await openWorld(mtu, false);
  for (let round = 1; round <= rounds; round++) {
    const busy0 = machineBusy();
    const t0 = performance.now();
    const v = await vethBulkCpu();
    const veth: Sample = { ...v, busyCores: (machineBusy() - busy0) / HZ / ((performance.now() - t0) / 1000) };
    process.stdout.write(`round ${round} (load ${loadavg()[0]!.toFixed(2)}):\n${show('veth kernel->kernel', veth, veth.mbps)}\n`);
    const got: Record<string, Sample> = {};
    for (const c of cases) {
      const s = await c.run();
      got[c.name] = s;
      process.stdout.write(`${show(c.name, s, veth.mbps)}\n`);
    }
    results.push({ round, veth, cases: got });
  }
} finally {
  world?.destroy();
  pair.destroy();
}

/** Kernel to kernel over veth (as vethBulk), keeping both Node programs' CPU seconds. */
async function vethBulkCpu(): Promise<Omit<Sample, 'busyCores'>> {
  const rx = kernelReceiver(pair.nsB, pair.addrB, bytes);
  await rx.ready;
  const tx = await kernelSender(pair.nsA, pair.addrB, bytes).catch((e: unknown) => {
    rx.kill();
    throw e;
  });
  const r = await rx.result;
  return { mbps: r.bytes / 1e6 / (r.ms / 1000), cpu: { sender: tx.cpuS, receiver: r.cpuS } };
}

process.stdout.write(`medians over ${rounds} rounds (MB/s, ratio to veth per round):\n`);
const vm = median(results.map((r) => r.veth.mbps));
process.stdout.write(`  ${'veth kernel->kernel'.padEnd(36)} ${vm.toFixed(0).padStart(5)} MB/s\n`);
for (const c of cases) {
  const m = median(results.map((r) => r.cases[c.name]!.mbps));
  const ratio = median(results.map((r) => r.cases[c.name]!.mbps / r.veth.mbps));
  const threads = Object.keys(results[0]!.cases[c.name]!.cpu);
  const cpu = threads.map((k) => `${k} ${us(median(results.map((r) => r.cases[c.name]!.cpu[k] ?? 0)))}`).join(', ');
  process.stdout.write(`  ${c.name.padEnd(36)} ${m.toFixed(0).padStart(5)} MB/s  ${ratio.toFixed(3)} of veth  us/packet: ${cpu}\n`);
}
process.stdout.write(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
if (jsonOut !== null && jsonOut !== '') writeFileSync(jsonOut, JSON.stringify({ mtu, mib, segments, results }, null, 2));
