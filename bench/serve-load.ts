// Load on `synack serve` over a TUN device, in a throwaway namespace, with clients nobody here wrote
// (ApacheBench): N concurrent 64 KiB downloads (time, failures, packets the kernel dropped at the TUN
// queue, serve's RSS before, at the peak and after every connection closed), and `ab -k` keep-alive
// requests per second against the same request handler (src/cli/serve-files.ts) on Node's http over
// the kernel's TCP in the same namespace. Needs root, the TUN addon, ab (apache2-utils) and prlimit.
// The burst runs against the kernel-side server too (the same handler, same backlog) in the same run,
// as the yardstick for its time.
// Run: node --import tsx bench/serve-load.ts [--conns 5000] [--size 65536] [--backlog N] [--keepalive-requests 20000]
//        [--only burst|keepalive] [--prof DIR] [--compiled] [--json]
//   --prof DIR  runs serve under `node --cpu-prof --cpu-prof-dir=DIR` (read it with bench/profile-summary.ts)
//   --compiled  runs the built package (bin/synack.js, dist/: `npm run build` first) as users do, and
//               the yardstick with dist's handler; by default both run from the sources through tsx
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { missingTool, netnsUnavailableReason } from '../test/helpers/netns.js';
import { V4, withTunSite, type TunHost } from '../test/helpers/tun-site.js';
import { PathWitness, spawnIn, synack, waitListening, within } from '../test/interop/helpers.js';
import { tunUnavailableReason } from '../src/link/tun.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1] ?? fallback) : fallback;
}

const CONNS = arg('conns', 5000);
const SIZE = arg('size', 65536);
const KA_REQUESTS = arg('keepalive-requests', 20000);
/** serve's --backlog (0: its default, 4096); 511 (Node's) makes a burst of thousands reach SYN cookies. */
const BACKLOG = arg('backlog', 0);
const KA_CONC = arg('keepalive-concurrency', 32);
/** Rounds of the keep-alive comparison (each side once per round; medians reported). */
const ROUNDS = arg('rounds', 3);
/** How long to wait after the load before the last RSS reading (past TIME-WAIT, 60 s). */
const AFTER_SECS = arg('after-secs', 75);
const json = process.argv.includes('--json');
function sarg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
/** Run only the burst (with its RSS readings) or only the keep-alive comparison. */
const ONLY = sarg('only');
if (ONLY !== undefined && ONLY !== 'burst' && ONLY !== 'keepalive') throw new Error('--only takes burst or keepalive');
const PROF = sarg('prof');
const COMPILED = process.argv.includes('--compiled');
const say = (s: string): void => void process.stderr.write(`bench/serve-load: ${s}\n`);

/** Resident set size of a process, bytes. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

/** Anonymous (heap, WebAssembly, buffers) and file-backed (node's own code) resident bytes of a process. */
function rssParts(pid: number): { anon: number; file: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN) * 1024;
  return { anon: kb('Anonymous'), file: kb('Rss') - kb('Anonymous') };
}

/** The kernel's TcpExt counters in the namespace (/proc/net/netstat): SYN retransmissions, timeouts. */
async function tcpExt(host: TunHost): Promise<Record<string, number>> {
  const r = await host.ns.exec('cat', ['/proc/net/netstat']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
}
const extDelta = (a: Record<string, number>, b: Record<string, number>, k: string): number => (b[k] ?? 0) - (a[k] ?? 0);

interface AbResult {
  complete: number;
  failed: number;
  secs: number;
  rps: number;
  stderr: string;
}

async function ab(host: TunHost, args: string[]): Promise<AbResult> {
  const r = await host.ns.exec('prlimit', ['--nofile=20000:20000', '--', 'ab', '-q', '-r', '-s', '60', ...args], { timeoutMs: 300_000 });
  const num = (re: RegExp): number => Number(re.exec(r.stdout)?.[1] ?? NaN);
  const res = {
    complete: num(/Complete requests:\s+(\d+)/),
    failed: num(/Failed requests:\s+(\d+)/),
    secs: num(/Time taken for tests:\s+([\d.]+)/),
    rps: num(/Requests per second:\s+([\d.]+)/),
    stderr: r.stderr.trim(),
  };
  if (r.code !== 0 || Number.isNaN(res.complete)) throw new Error(`ab ${args.join(' ')} failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  return res;
}

const median = (runs: AbResult[]): AbResult => [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)] as AbResult;
const mib = (n: number): string => (n / 1048576).toFixed(1);

async function main(): Promise<void> {
  const why = netnsUnavailableReason() ?? tunUnavailableReason() ?? missingTool('ab') ?? missingTool('prlimit');
  if (why !== null) {
    say(`skipped: ${why}`);
    return;
  }
  await withTunSite({ 'f.bin': SIZE, 'small.bin': 1024 }, async ({ host, www }) => {
    // SYN-cookie mode and backlog stay at their defaults unless --backlog: a burst of 5,000 SYNs is what a real server sees.
    const nodeFlags = PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROF}`];
    const serve = synack(host.ns, ['serve', www, '--port', '8080', '--quiet', ...(BACKLOG > 0 ? ['--backlog', String(BACKLOG)] : []), ...host.flags], { nodeFlags, compiled: COMPILED });
    await serve.waitFor('listening on port 8080');
    const pid = serve.proc.pid as number;
    // The yardstick: the same handler on Node's http over the kernel's TCP, listening with the same
    // backlog as serve (4096 unless --backlog), in the same namespace.
    const kernelServer = fileURLToPath(new URL('./serve-load-kernel.mjs', import.meta.url));
    const ks = spawnIn(host.ns, process.execPath, [
      ...(COMPILED ? [] : ['--import', 'tsx']), kernelServer, www, V4.kernel, '8082', String(BACKLOG > 0 ? BACKLOG : 4096), COMPILED ? 'dist' : 'src',
    ]);
    await waitListening(host.ns, 8082);
    await new Promise((r) => setTimeout(r, 1000));
    const result: Record<string, unknown> = { conns: CONNS, size: SIZE, compiled: COMPILED, loadAverage: Number(loadavg()[0]?.toFixed(1)) };
    const lines: string[] = [];

    if (ONLY !== 'keepalive') {
      const rssBefore = rss(pid);
      const partsBefore = rssParts(pid);
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rss(pid))), 100);
      say(`${CONNS} concurrent ${SIZE}-byte downloads from synack serve ...`);
      const witness = await PathWitness.start(host);
      const e0 = await tcpExt(host);
      const load = await ab(host, ['-n', String(CONNS), '-c', String(CONNS), `http://${V4.stack}:8080/f.bin`]);
      const d = await witness.delta();
      const e1 = await tcpExt(host);
      clearInterval(sampler);
      const stats = await host.ns.linkStats(host.dev);
      say(`${CONNS} concurrent ${SIZE}-byte downloads from Node http on kernel TCP ...`);
      const k0 = await host.ns.tcpSnmp();
      const kload = await ab(host, ['-n', String(CONNS), '-c', String(CONNS), `http://${V4.kernel}:8082/f.bin`]);
      const k1 = await host.ns.tcpSnmp();

      // After the load: every connection closes (synack is the active closer, so its side waits out
      // TIME-WAIT, 2*MSL = 60 s); RSS is read once the table is empty.
      const t0 = performance.now();
      const rssSoon = rss(pid);
      let rssAfter = rss(pid);
      for (let waited = 0; waited < AFTER_SECS * 1000; waited += 1000) {
        await new Promise((r) => setTimeout(r, 1000));
        rssAfter = rss(pid);
      }
      const afterSecs = (performance.now() - t0) / 1000;
      const partsAfter = rssParts(pid);
      Object.assign(result, {
        loadSecs: load.secs,
        complete: load.complete,
        failed: load.failed,
        kernelLoadSecs: kload.secs,
        kernelComplete: kload.complete,
        kernelFailed: kload.failed,
        kernelSideRetrans: (k1['RetransSegs'] ?? 0) - (k0['RetransSegs'] ?? 0),
        tunDropped: d.kernelDropped,
        tunTxDroppedTotal: stats.txDropped,
        kernelRetrans: d.kernelRetrans,
        kernelResets: d.kernelResets,
        kernelSynRetrans: extDelta(e0, e1, 'TCPSynRetrans'),
        kernelTimeouts: extDelta(e0, e1, 'TCPTimeouts'),
        bytesOnLink: d.fromSynack,
        rssBeforeMiB: Number(mib(rssBefore)),
        rssPeakMiB: Number(mib(rssPeak)),
        rssSoonMiB: Number(mib(rssSoon)),
        rssAfterMiB: Number(mib(rssAfter)),
        rssAfterSecs: Math.round(afterSecs),
        rssRatio: Number((rssAfter / rssBefore).toFixed(2)),
        anonBeforeMiB: Number(mib(partsBefore.anon)),
        anonAfterMiB: Number(mib(partsAfter.anon)),
        fileBackedMiB: [Number(mib(partsBefore.file)), Number(mib(partsAfter.file))],
      });
      lines.push(
        `${CONNS} concurrent ${SIZE}-byte downloads: synack serve ${load.secs.toFixed(2)} s (${load.complete} complete, ${load.failed} failed); ` +
          `Node http on kernel TCP ${kload.secs.toFixed(2)} s (${kload.complete} complete, ${kload.failed} failed)`,
        `  TUN queue drops (kernel tx dropped on ${host.dev}): ${d.kernelDropped}; kernel retransmissions: ${d.kernelRetrans} (SYNs ${extDelta(e0, e1, 'TCPSynRetrans')}, timeouts ${extDelta(e0, e1, 'TCPTimeouts')}); connections reset: ${d.kernelResets}; ${mib(d.fromSynack)} MiB from synack on the link`,
        `  serve RSS: before ${mib(rssBefore)} MiB, peak ${mib(rssPeak)} MiB, right after ${mib(rssSoon)} MiB, ${Math.round(afterSecs)} s after ${mib(rssAfter)} MiB (${result['rssRatio']}x before)`,
        `    of which anonymous (heaps, WebAssembly, buffers) ${mib(partsBefore.anon)} -> ${mib(partsAfter.anon)} MiB, file-backed (node's code) ${mib(partsBefore.file)} -> ${mib(partsAfter.file)} MiB`,
      );
    }

    if (ONLY !== 'burst') {
      say(`ab -k ${KA_REQUESTS} requests, ${KA_CONC} at a time, synack serve vs Node http on kernel TCP, ${ROUNDS} rounds ...`);
      // Alternate the two servers and take medians: the machine is shared, and a run of either side
      // alone can land on a busy second.
      const synackRuns: AbResult[] = [];
      const kernelRuns: AbResult[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        synackRuns.push(await ab(host, ['-k', '-n', String(KA_REQUESTS), '-c', String(KA_CONC), `http://${V4.stack}:8080/small.bin`]));
        kernelRuns.push(await ab(host, ['-k', '-n', String(KA_REQUESTS), '-c', String(KA_CONC), `http://${V4.kernel}:8082/small.bin`]));
      }
      const kaSynack = median(synackRuns);
      const kaKernel = median(kernelRuns);
      Object.assign(result, {
        keepAliveRps: {
          synack: kaSynack.rps,
          kernelNode: kaKernel.rps,
          ratio: Number((kaSynack.rps / kaKernel.rps).toFixed(2)),
          synackRuns: synackRuns.map((r) => r.rps),
          kernelRuns: kernelRuns.map((r) => r.rps),
        },
        keepAliveFailed: { synack: kaSynack.failed, kernelNode: kaKernel.failed },
      });
      lines.push(
        `ab -k -n ${KA_REQUESTS} -c ${KA_CONC} (1 KiB), median of ${ROUNDS}: synack serve ${kaSynack.rps.toFixed(0)} req/s, Node http on kernel TCP ${kaKernel.rps.toFixed(0)} req/s (${((kaSynack.rps / kaKernel.rps) * 100).toFixed(0)}%)`,
        `  runs: synack ${synackRuns.map((r) => r.rps.toFixed(0)).join(', ')}; kernel ${kernelRuns.map((r) => r.rps.toFixed(0)).join(', ')}`,
      );
    }
    ks.proc.kill('SIGTERM');
    serve.proc.kill('SIGTERM');
    await within(serve.exited, 30_000, 'serve exit');
    result['loadAverageEnd'] = Number(loadavg()[0]?.toFixed(1));
    if (json) console.log(JSON.stringify(result));
    else console.log([...lines, `${COMPILED ? 'compiled (dist/)' : 'from source (tsx)'}; load average ${result['loadAverage']} at start, ${result['loadAverageEnd']} at the end`].join('\n'));
  });
}

await main();
