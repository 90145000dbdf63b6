// Prints goodput against loss rate and RTT (virtual time) for NewReno and CUBIC, with and without
// SACK, over the seeded simulated link; also the bytes each retransmitted. Used for docs/tcp.md.
// Usage: node --import tsx scripts/goodput.ts [--mib N] [--seed S]
import { runTransfer } from './lib/transfer.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const mib = arg('mib', 8);
const seed = arg('seed', 1);
const bytes = mib * (1 << 20);
const rows: string[][] = [['cc', 'sack', 'rtt ms', 'loss %', 'goodput MB/s', 'retransmitted KiB', 'timeouts']];
for (const congestion of ['newreno', 'cubic'] as const) {
  for (const sack of [true, false]) {
    for (const rtt of [10, 50]) {
      for (const loss of [0, 0.01, 0.05]) {
        const r = runTransfer({ seed, up: bytes, down: 0, rtt, loss, bandwidth: 12_500_000, tcp: { congestion, sack }, limit: 48 * 3600_000 });
        const goodput = r.ok ? bytes / (r.elapsed / 1000) / 1e6 : NaN;
        rows.push([
          congestion,
          sack ? 'on' : 'off',
          String(rtt),
          String(loss * 100),
          goodput.toFixed(2),
          ((r.clientStats?.bytesRetrans ?? 0) / 1024).toFixed(0),
          String(r.clientStats?.timeouts ?? 0),
        ]);
      }
    }
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
const line = (r: string[]): string => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
console.log(`${mib} MiB one way, 100 Mbit/s link with a 64 KiB drop-tail queue, seed ${seed}, virtual time`);
console.log(line(rows[0]!));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const r of rows.slice(1)) console.log(line(r));
