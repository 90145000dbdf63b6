// A SYN flood on `synack serve` over a TUN device, in a throwaway namespace: hping3 sends spoofed
// SYNs (source 198.18.1.1, inside the test range; nothing leaves the namespace) while curl keeps
// downloading a 64 KiB file from synack; reports the rate the kernel delivered to synack, what it
// dropped at the TUN queue, the SYNs synack's receive pacer dropped (src/cli/rx-pacer.ts), and each
// curl's connect and total time. One request is made before the flood (a server that has been
// serving). Needs root, the TUN addon, hping3 and curl.
// Run: node --import tsx bench/serve-flood.ts [--secs 14] [--interval flood|u10] [--hpings 1] [--prof DIR] [--json]
//   SYNACK_TUN_OFFLOAD=off runs serve with --no-offload (packets in batches rather than one by one
//   with offload flags); --prof DIR runs serve under `node --cpu-prof --cpu-prof-dir=DIR`.
import { loadavg } from 'node:os';
import { missingTool, netnsUnavailableReason } from '../test/helpers/netns.js';
import { OFFLOAD, V4, withTunSite } from '../test/helpers/tun-site.js';
import { spawnIn, synack, within } from '../test/interop/helpers.js';
import { tunUnavailableReason } from '../src/link/tun.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const SECS = Number(arg('secs', '14'));
/** hping3's pacing: 'flood' (as fast as it can) or an interval such as u10 (10 µs, about 8,000/s each here). */
const INTERVAL = arg('interval', 'flood');
const HPINGS = Number(arg('hpings', '1'));
const json = process.argv.includes('--json');
const PROF = arg('prof', '');
const say = (s: string): void => void process.stderr.write(`bench/serve-flood: ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const why = netnsUnavailableReason() ?? tunUnavailableReason() ?? missingTool('hping3') ?? missingTool('curl');
  if (why !== null) {
    say(`skipped: ${why}`);
    return;
  }
  await withTunSite({ 'f.bin': 65536 }, async ({ host, www }) => {
    const serve = synack(host.ns, ['serve', www, '--port', '8080', '--quiet', ...host.flags], { nodeFlags: PROF === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROF}`] });
    await serve.waitFor('listening on port 8080');
    const url = `http://${V4.stack}:8080/f.bin`;
    const curl = (): Promise<{ code: number; stdout: string }> =>
      host.ns.exec('curl', ['-sS', '-o', '/dev/null', '--max-time', '10', '-w', '%{http_code} %{time_connect} %{time_total}', url], { timeoutMs: 15_000 });
    await curl();
    const l0 = await host.ns.linkStats(host.dev);
    say(`${HPINGS} x hping3 ${INTERVAL} for ${SECS} s, curl ${url} meanwhile ...`);
    const hargs = ['-S', '-q', '-a', '198.18.1.1', '-p', '8080', ...(INTERVAL === 'flood' ? ['--flood'] : ['-i', INTERVAL]), V4.stack];
    const hpings = Array.from({ length: HPINGS }, () => spawnIn(host.ns, 'hping3', hargs));
    const t0 = Date.now();
    await sleep(2000);
    const runs: { ok: boolean; connect: number; total: number }[] = [];
    while (Date.now() - t0 < (SECS - 1) * 1000) {
      const r = await curl();
      const [status, connect, total] = r.stdout.split(' ');
      runs.push({ ok: r.code === 0 && status === '200', connect: Number(connect), total: Number(total) });
      await sleep(300);
    }
    const secs = (Date.now() - t0) / 1000;
    for (const h of hpings) h.proc.kill('SIGKILL');
    for (const h of hpings) await within(h.exited, 10_000, 'hping3');
    const l1 = await host.ns.linkStats(host.dev);
    const load = loadavg()[0] ?? NaN;
    process.kill(serve.proc.pid as number, 'SIGUSR2');
    await serve.waitFor(/rx: waiting/, 5000).catch(() => undefined);
    const rx = /syns dropped before the stack \(queue full\)=(\d+)/.exec(serve.stderr());
    const cookies = /syncookies sent=(\d+)/.exec(serve.stderr());
    serve.proc.kill('SIGTERM');
    await within(serve.exited, 20_000, 'serve exit');
    const delivered = l1.txPackets - l0.txPackets;
    // What synack wrote into the device: SYN-ACKs (with cookies or not) and the downloads' segments.
    const answered = l1.rxPackets - l0.rxPackets;
    const dropped = l1.txDropped - l0.txDropped;
    const ok = runs.filter((r) => r.ok).map((r) => r.total).sort((a, b) => a - b);
    const result = {
      secs: Math.round(secs),
      offload: OFFLOAD,
      deliveredPerSec: Math.round(delivered / secs),
      answeredPerSec: Math.round(answered / secs),
      tunDropped: dropped,
      tunDroppedShare: Number((dropped / Math.max(1, delivered + dropped)).toFixed(3)),
      pacerSynDropped: rx === null ? null : Number(rx[1]),
      cookiesSent: cookies === null ? null : Number(cookies[1]),
      curls: runs.length,
      curlFailed: runs.length - ok.length,
      curlMedianSecs: ok[Math.floor(ok.length / 2)] ?? null,
      curlMaxSecs: ok.at(-1) ?? null,
      curlUnder1s: ok.filter((t) => t < 1).length,
      load: Number(load.toFixed(1)),
    };
    if (json) console.log(JSON.stringify(result));
    else {
      console.log(`flood ${HPINGS} x hping3 ${INTERVAL}, ${result.secs} s, offloads ${OFFLOAD ? 'on' : 'off'}: ${result.deliveredPerSec} packets/s reached synack, ${result.answeredPerSec}/s answered; ${dropped} dropped at the TUN queue (${(result.tunDroppedShare * 100).toFixed(1)}%), ${result.pacerSynDropped} SYNs dropped by the pacer, ${result.cookiesSent} cookies sent`);
      console.log(`curl 64 KiB during the flood: ${result.curls} runs, ${result.curlFailed} failed, median ${result.curlMedianSecs?.toFixed(2)} s, max ${result.curlMaxSecs?.toFixed(2)} s, ${result.curlUnder1s} under 1 s; load average ${result.load}`);
      console.log(`  each (connect/total s): ${runs.map((r) => (r.ok ? `${r.connect.toFixed(2)}/${r.total.toFixed(2)}` : 'failed')).join(' ')}`);
    }
  });
}

await main();
