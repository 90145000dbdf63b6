// One TUN case at a time, for profiling the path (node --cpu-prof) or a quick figure: a Stack in this
// process on a TUN device in a throwaway namespace, a Node program on the kernel's side, the same
// code as `synack bench --only tun` (src/bench/tun.ts). Root only.
//
// node --cpu-prof --cpu-prof-dir=prof --import tsx bench/tun.ts [--dir k2s|s2k] [--mtu 1500] [--mib 256] [--runs 3] [--no-offload] [--no-write-thread] [--tap]
// node --import tsx bench/profile-summary.ts prof --exclude node:internal
import { loadavg } from 'node:os';
import { openWorld, threadCpu, tunBulk } from '../src/bench/tun.js';
import { canUseNetns } from '../src/bench/kernel.js';
import { tunUnavailableReason } from '../src/link/tun.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const dirArg = arg('--dir', 'k2s');
if (dirArg !== 'k2s' && dirArg !== 's2k') throw new Error('--dir wants k2s or s2k');
const dir = dirArg === 'k2s' ? 'kernel->synack' : 'synack->kernel';
const mtu = Number(arg('--mtu', '1500'));
const mib = Number(arg('--mib', '256'));
const runs = Number(arg('--runs', '3'));
const offload = !args.includes('--no-offload');
const writeThread = !args.includes('--no-write-thread');
const tap = args.includes('--tap');

const ok = canUseNetns();
const why = !ok.ok ? ok.why : tunUnavailableReason();
if (why !== null) {
  process.stderr.write(`bench/tun: cannot run: ${why}\n`);
  process.exit(2);
}
const w = await openWorld(mtu, offload, writeThread, tap);
try {
  const before = w.tun.stats();
  const cpu0 = threadCpu();
  const wall0 = performance.now();
  const figures: number[] = [];
  const capacities: string[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await tunBulk(w, dir, mib * 1024 * 1024);
    figures.push(r.mbps);
    if (r.recvCapacity !== undefined) capacities.push(`${r.recvCapacity} B (receiver RTT ${(r.rcvRtt ?? 0).toFixed(3)} ms)`);
  }
  const wall = (performance.now() - wall0) / 1000;
  const cpu1 = threadCpu();
  const s = w.tun.stats();
  const packets = s.rxPackets - before.rxPackets + s.txPackets - before.txPackets;
  process.stdout.write(
    `${tap ? 'TAP' : 'TUN'} ${dir} MTU ${mtu} offloads ${offload ? w.tun.offloads.join(',') || 'refused' : 'off'}${w.tun.writeThread ? '' : ', no write thread'}: ${figures.map((f) => f.toFixed(0)).join(', ')} MB/s; ` +
      `${packets} packets through the device (rx ${s.rxPackets - before.rxPackets}, tx ${s.txPackets - before.txPackets}, GSO rx ${s.rxGso} tx ${s.txGso}; writer woken ${s.writerWakes - before.writerWakes} times)` +
      (capacities.length > 0 ? `; synack's receive buffer at the end ${capacities.join(', ')}` : '') +
      '\n',
  );
  // Where this process's CPU went (the kernel's receive path for what we write runs in the writer thread).
  const share = [...cpu1].map(([k, v]) => [k, v - (cpu0.get(k) ?? 0)] as const).filter(([, v]) => v >= 0.005);
  process.stdout.write(`  CPU over ${wall.toFixed(2)} s wall: ${share.map(([k, v]) => `${k} ${v.toFixed(3)} s`).join(', ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
} finally {
  w.destroy();
}
