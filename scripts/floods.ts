// Flood figures for docs/security.md (issue 10): out-of-order data, ACK and RST floods from an
// off-path and from an in-window attacker against a running transfer between two synack stacks;
// prints CPU per injected segment against a normal data segment, memory held, challenge ACKs per
// second of virtual time (RFC 5961 section 7) and the transfer's hash.
//
//   node --import tsx scripts/floods.ts [--json] [--seed S] [--rate SEGS_PER_S] [--duration MS] [--mib N]

import v8 from 'node:v8';
import vm from 'node:vm';
import { runFlood, dataSegmentCost, type FloodKind, type Attacker, type FloodResult } from './lib/floods.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

v8.setFlagsFromString('--expose-gc');
const gcFn = vm.runInNewContext('gc') as () => void;
const gc = (): void => {
  gcFn();
  gcFn();
};

const json = process.argv.includes('--json');
const seed = arg('--seed', 1);
const rate = arg('--rate', 100_000);
const duration = arg('--duration', 1000);
const bytes = arg('--mib', 2) * (1 << 20);

const kinds: FloodKind[] = ['ooo', 'ack', 'rst'];
const attackers: Attacker[] = ['off-path', 'in-window', 'in-window-old-ack'];

// Warm up the JIT on every path before measuring.
dataSegmentCost(seed, 20_000);
for (const kind of kinds) runFlood({ kind, attacker: 'in-window', seed, bytes: 256 << 10, rate: 20_000, duration: 200 });

const dataNs = dataSegmentCost(seed, 100_000);
const baseline = runFlood({ kind: 'none', attacker: 'off-path', seed, bytes, rate, duration, gc });
const results: FloodResult[] = [];
for (const kind of kinds) for (const attacker of attackers) results.push(runFlood({ kind, attacker, seed, bytes, rate, duration, gc }));

if (json) {
  console.log(JSON.stringify({ seed, rate, duration, bytes, dataSegmentNs: dataNs, baseline, results }, null, 2));
} else {
  const kb = (n: number | null): string => (n === null ? '-' : `${(n / 1024).toFixed(0)} KiB`);
  console.log(
    `floods: seed ${seed}, ${rate} injected segments per virtual second for ${duration} ms during a ${bytes >> 20} MiB transfer ` +
      `(2 MB/s link, 20 ms RTT); a normal in-order 1460-byte data segment costs ${(dataNs / 1000).toFixed(1)} us`,
  );
  console.log(
    `baseline (no flood): transfer ${baseline.transferMs.toFixed(0)} ms virtual, heap +${kb(baseline.heapDelta)}, ` +
      `out-of-order ranges max ${baseline.maxRanges}, hash ${baseline.receivedHash === baseline.sentHash ? 'ok' : 'DIFFERS'}`,
  );
  const rows = [
    ['flood', 'attacker', 'victim', 'injected', 'us/seg', 'x data', 'seg/s wall', 'heap', 'ranges', 'ooo bytes', 'chall/s', 'victim out', 'transfer', 'outcome'],
  ];
  for (const r of results) {
    const outcome =
      r.receivedHash === r.sentHash && r.victimErrors.length === 0
        ? 'hash ok'
        : `${r.differingBytes} attacker bytes in stream${r.victimErrors.length ? `; ${r.victimErrors.map((e) => e.split(' ').slice(0, 2).join(' ')).join(', ')}` : ''}`;
    rows.push([
      r.kind, r.attacker, r.victim, String(r.injected), (r.nsPerInjected / 1000).toFixed(1), (r.nsPerInjected / dataNs).toFixed(2),
      Math.round(1e9 / r.nsPerInjected).toLocaleString('en'), kb(r.heapDelta), `${r.maxRanges}/${r.rangeLimit}`, kb(r.maxOooBytes),
      `${r.maxChallengePerSecond}/${r.challengeAckLimit}`, String(r.victimSegmentsOut), `${r.transferMs.toFixed(0)} ms`, outcome,
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
}
