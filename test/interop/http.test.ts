// HTTP through synack on a TUN device against the kernel's TCP: curl downloads from `synack serve`
// (Node's http over synack sockets) and `synack get` downloads from nginx, 64 MiB with matching
// sha256, the same through netem and stack-side loss, over IPv6, and the live `--ss` table. Every
// transfer proves the path: the peer saw synack's address (curl's remote_ip, nginx's access log),
// and the kernel's counters on the TUN device show at least the transferred bytes crossing it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../helpers/netns.js';
import {
  BIG, interopSkip, LOSSY, MiB, nginxConf, orSkipWithoutNetem, PathWitness, scratch, sha256File, spawnIn, synack, tunHost, V4, V6, waitListening, within, withTunSite,
} from './helpers.js';

const serveSkip = interopSkip('curl', 'tc');
const getSkip = interopSkip('nginx', 'ss', 'tc');

interface Variant {
  size: number;
  netem?: string;
  extra?: string[];
  v6?: boolean;
  limitMs: number;
}

function describeRun(v: Variant): string {
  return `${v.size / MiB} MiB${v.v6 ? ' IPv6' : ''}${v.netem ? ` netem ${v.netem}` : ''}${v.extra ? ` ${v.extra.join(' ')}` : ''}`;
}

async function curlFromServe(v: Variant): Promise<void> {
  await withTunSite({ 'big.bin': v.size }, async ({ host, dir, www, hash }) => {
    const serve = synack(host.ns, ['serve', www, '--port', '8080', ...host.flags, ...(v.extra ?? [])]);
    await serve.waitFor('listening on port 8080');
    const out = join(dir, 'got');
    const url = v.v6 ? `http://[${V6.stack}]:8080/big.bin` : `http://${V4.stack}:8080/big.bin`;
    const witness = await PathWitness.start(host);
    const t0 = performance.now();
    const report = join(dir, 'curl-report');
    const curl = spawnIn(host.ns, 'curl', ['-sS', '--fail', '-o', out, '-w', '%{http_code} %{size_download} %{remote_ip}', url], { stdout: report });
    const code = await within(curl.exited, v.limitMs, `curl ${url}`);
    const secs = (performance.now() - t0) / 1000;
    assert.equal(code, 0, `curl failed: ${curl.stderr()}\nserve: ${serve.stderr()}`);
    assert.equal(await sha256File(out), hash['big.bin'], 'curl got the file synack served, byte for byte');
    assert.equal(readFileSync(report, 'utf8'), `200 ${v.size} ${v.v6 ? V6.stack : V4.stack}`, "curl talked to synack's address");
    await witness.assertCrossed({ fromSynack: v.size }, 'curl <- synack serve');
    const peer = v.v6 ? V6.kernel : V4.kernel;
    const logged = new RegExp(`^${peer.replace(/[.:]/g, '\\$&')} GET /big\\.bin 200 ${v.size} \\S+ \\S+ \\S+ retrans=(\\d+)`, 'm').exec(serve.stderr());
    assert.ok(logged !== null, `serve logged the transfer to the kernel's address: ${serve.stderr()}`);
    if (v.extra?.includes('--drop')) assert.ok(Number(logged[1]) > 0, 'with --drop synack retransmitted');
    console.log(`# curl <- synack serve ${describeRun(v)}: ${secs.toFixed(2)} s, ${(v.size / MiB / secs).toFixed(1)} MiB/s`);
    serve.proc.kill('SIGTERM');
    assert.equal(await within(serve.exited, 10_000, 'serve exit on SIGTERM'), 0, serve.stderr());
  }, v.netem !== undefined ? { netem: v.netem } : {});
}

async function getFromNginx(v: Variant): Promise<void> {
  await withTunSite({ 'big.bin': v.size }, async ({ host, dir, www, hash }) => {
    const nginx = spawnIn(host.ns, 'nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', nginxConf(dir, www)]);
    await waitListening(host.ns, 8081);
    const out = join(dir, 'got');
    const url = v.v6 ? `http://[${V6.kernel}]:8081/big.bin` : `http://${V4.kernel}:8081/big.bin`;
    const witness = await PathWitness.start(host);
    const t0 = performance.now();
    const get = synack(host.ns, ['get', '-v', url, '-o', out, ...host.flags, ...(v.extra ?? [])]);
    const code = await within(get.exited, v.limitMs, `synack get ${url}`);
    const secs = (performance.now() - t0) / 1000;
    assert.equal(code, 0, `synack get failed: ${get.stderr()}\nnginx: ${nginx.stderr()}`);
    assert.match(get.stderr(), /HTTP\/1\.1 200 OK/);
    assert.equal(await sha256File(out), hash['big.bin'], 'synack got the file nginx served, byte for byte');
    // nginx (the peer) saw synack's address, and the bytes crossed the TUN device.
    const log = readFileSync(join(dir, 'access.log'), 'utf8');
    assert.equal(log, `${v.v6 ? V6.stack : V4.stack} 200 ${v.size}\n`, "nginx's access log names synack's address");
    const d = await witness.assertCrossed({ toSynack: v.size }, 'synack get <- nginx');
    if (v.extra?.includes('--drop')) assert.ok(d.kernelRetrans > 0, `with synack dropping packets the kernel retransmitted (RetransSegs +${d.kernelRetrans})`);
    console.log(`# synack get <- nginx ${describeRun(v)}: ${secs.toFixed(2)} s including startup, ${(v.size / MiB / secs).toFixed(1)} MiB/s`);
  }, v.netem !== undefined ? { netem: v.netem } : {});
}

describe('curl downloads from synack serve over TUN', { skip: serveSkip ?? false }, () => {
  test(`${BIG / MiB} MiB, sha256 matches`, () => curlFromServe({ size: BIG, limitMs: 120_000 }));
  test(`${LOSSY / MiB} MiB through netem (loss 5% delay 10ms reorder 25%)`, (t) =>
    orSkipWithoutNetem(t, () => curlFromServe({ size: LOSSY, netem: 'loss 5% delay 10ms reorder 25%', limitMs: 300_000 })));
  test(`${LOSSY / MiB} MiB with 3% loss on the stack side (--drop)`, () =>
    curlFromServe({ size: LOSSY, extra: ['--drop', '0.03', '--seed', '11'], limitMs: 300_000 }));
  test(`${LOSSY / MiB} MiB with netem's impairments on the stack side (--drop 0.05 --delay 10 --reorder 0.25)`, () =>
    curlFromServe({ size: LOSSY, extra: ['--drop', '0.05', '--delay', '10', '--reorder', '0.25', '--seed', '4'], limitMs: 300_000 }));
  test('IPv6: curl -> synack serve', () => curlFromServe({ size: 16 * MiB, v6: true, limitMs: 120_000 }));

  test('--ss prints a live ss -tan style table with the listener', async () => {
    const h = new NetnsHarness();
    const tmp = scratch();
    try {
      const host = await tunHost(h);
      const serve = synack(host.ns, ['serve', tmp.dir, '--port', '8080', '--ss', ...host.flags]);
      await serve.waitFor('listening on port 8080');
      await serve.waitFor(/State\s+Recv-Q\s+Send-Q\s+Local Address:Port\s+Peer Address:Port/, 5000);
      await serve.waitFor(/LISTEN\s+0\s+4096\s+\*:8080\s.*syncookies sent=0/, 5000);
    } finally {
      await h.cleanup();
      tmp.remove();
    }
  });
});

describe('synack get downloads from nginx over TUN', { skip: getSkip ?? false }, () => {
  test(`${BIG / MiB} MiB, sha256 matches`, () => getFromNginx({ size: BIG, limitMs: 120_000 }));
  test(`${LOSSY / MiB} MiB through netem (loss 5% delay 10ms reorder 25%)`, (t) =>
    orSkipWithoutNetem(t, () => getFromNginx({ size: LOSSY, netem: 'loss 5% delay 10ms reorder 25%', limitMs: 300_000 })));
  test(`${LOSSY / MiB} MiB with 5% loss on the stack side (--drop 0.05): same hash, the kernel retransmits`, () =>
    getFromNginx({ size: LOSSY, extra: ['--drop', '0.05', '--seed', '5'], limitMs: 300_000 }));
  test(`${LOSSY / MiB} MiB with netem's impairments on the stack side (--drop 0.05 --delay 10 --reorder 0.25)`, () =>
    getFromNginx({ size: LOSSY, extra: ['--drop', '0.05', '--delay', '10', '--reorder', '0.25', '--seed', '6'], limitMs: 300_000 }));
  test('IPv6: synack get <- nginx', () => getFromNginx({ size: 16 * MiB, v6: true, limitMs: 120_000 }));
});
