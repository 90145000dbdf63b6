// Prints goodput against loss and RTT (virtual time) for NewReno and CUBIC, with SACK and RACK-TLP,
// SACK without RACK (classic RFC 6675), and without SACK (NewReno, RFC 6582), over the seeded
// simulated link: independent random loss, and Gilbert-Elliott burst loss at the same average rate.
// Also the bytes each sender retransmitted, its timeouts, fast recoveries and tail loss probes.
// Used for docs/goodput.md. Usage: node --import tsx scripts/goodput.ts [--mib N] [--seed S] [--burst B]
import { runTransfer } from './lib/transfer.js';
import type { BurstLossOptions } from '../src/link/sim.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const mib = arg('mib', 8);
const seed = arg('seed', 1);
/** Mean burst length in packets: the bad state is left with probability 1/burst per packet. */
const burst = arg('burst', 4);
const bytes = mib * (1 << 20);

/** Gilbert-Elliott parameters for an average loss rate `avg` in bursts of mean length `burst`. */
function bursty(avg: number): BurstLossOptions {
  const exit = 1 / burst;
  // Stationary share of the bad state: enter / (enter + exit) = avg.
  return { enter: (avg * exit) / (1 - avg), exit, lossInBad: 1, lossInGood: 0 };
}

type Loss = { label: string; loss: number; burst?: BurstLossOptions };
const losses: Loss[] = [
  { label: '0', loss: 0 },
  { label: '1', loss: 0.01 },
  { label: '5', loss: 0.05 },
  { label: '1 burst', loss: 0.01, burst: bursty(0.01) },
  { label: '5 burst', loss: 0.05, burst: bursty(0.05) },
];
const modes = [
  { sack: 'on', rack: 'on', tcp: { sack: true, rack: true } },
  { sack: 'on', rack: 'off', tcp: { sack: true, rack: false } },
  { sack: 'off', rack: '-', tcp: { sack: false } },
] as const;

const rows: string[][] = [['cc', 'sack', 'rack', 'rtt ms', 'loss %', 'goodput MB/s', 'data pkts lost', 'retransmitted pkts', 'retransmitted KiB', 'timeouts', 'recoveries', 'probes']];
for (const congestion of ['newreno', 'cubic'] as const) {
  for (const m of modes) {
    for (const rtt of [10, 50]) {
      for (const l of losses) {
        const r = runTransfer({
          seed, up: bytes, down: 0, rtt, loss: l.loss, ...(l.burst ? { lossBurst: l.burst } : {}),
          bandwidth: 12_500_000, tcp: { congestion, ...m.tcp }, limit: 48 * 3600_000,
        });
        const goodput = r.ok ? (bytes / (r.elapsed / 1000) / 1e6).toFixed(2) : r.errors.some((e) => e.includes('ETIMEDOUT')) ? 'ETIMEDOUT' : 'unfinished';
        const s = r.clientStats;
        // Packets of the client's direction dropped by the loss model or the drop-tail queue.
        const lost = r.link[0].lost; // queue drops included
        rows.push([
          congestion, m.sack, m.rack, String(rtt), l.label, goodput, String(lost), String(s?.retransSegs ?? 0),
          ((s?.bytesRetrans ?? 0) / 1024).toFixed(0), String(s?.timeouts ?? 0),
          String(s?.fastRetransmits ?? 0), String(s?.tlpProbes ?? 0),
        ]);
      }
    }
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
const line = (r: string[]): string => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
console.log(`${mib} MiB one way, 100 Mbit/s link with a 64 KiB drop-tail queue, seed ${seed}, virtual time;`);
console.log(`"burst" rows: Gilbert-Elliott loss on the data direction, mean burst ${burst} packets, same average rate; ACKs lose independently`);
console.log(line(rows[0]!));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const r of rows.slice(1)) console.log(line(r));
