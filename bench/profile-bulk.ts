// A bulk transfer between two synack stacks to run under `node --cpu-prof`; prints the segments carried so profile-summary can report time per segment.
//
// node --cpu-prof --cpu-prof-dir=prof --import tsx bench/profile-bulk.ts [--mtu 1500] [--mib 64] [--driver stack|core]
// node --import tsx bench/profile-summary.ts prof --per <segments printed above>

import { loadSynack } from '../src/bench/synack.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const mtu = Number(arg('--mtu', '1500'));
const mib = Number(arg('--mib', '64'));
const driver = arg('--driver', 'stack');
if (driver !== 'stack' && driver !== 'core') throw new Error('--driver wants stack or core');

const s = await loadSynack(driver);
if (typeof s === 'string') {
  process.stderr.write(`${s}\n`);
  process.exit(1);
}
let segments = 0;
let seconds = 0;
let cpuUs = 0;
let cpuSegments = 0;
// Several transfers so the JIT-warm steady state dominates the profile.
const rounds = 4;
for (let i = 0; i < rounds; i++) {
  const c0 = process.cpuUsage();
  const r = await s.bulk(mtu, (mib * 1024 * 1024) / rounds);
  const c1 = process.cpuUsage(c0);
  if (i > 0) cpuUs += c1.user + c1.system; // the first round warms up the JIT
  const secs = (mib * 1024 * 1024) / rounds / 1e6 / r.mbps;
  seconds += secs;
  const n = Math.round(r.segmentsPerSec * secs);
  segments += n;
  if (i > 0) cpuSegments += n;
}
process.stdout.write(`mtu ${mtu}: ${mib} MiB, ${segments} segments sent, ${((mib * 1024 * 1024) / 1e6 / seconds).toFixed(1)} MB/s\n`);
// CPU time (user + system) per segment is steadier than wall-clock MB/s on a shared machine.
process.stdout.write(`cpu: ${((cpuUs * 1000) / cpuSegments).toFixed(0)} ns/segment after the first round (${(((mib * 1024 * 1024 * (rounds - 1)) / rounds) / cpuUs).toFixed(1)} MB per CPU-second)\n`);
process.stdout.write(`segments: ${segments}\n`);
