// `synack relay` with a synack stack in headless Chromium: the page connects to the relay over a
// WebSocket, gets an address from the pool, and downloads a file from nginx (the kernel's TCP, in a
// namespace behind the relay's TUN device) with a matching sha256; nginx logs the page's address.
// A second client (Node, `ws`) that sends a packet with the first client's source address gets it
// dropped: the kernel's own capture of the device shows only the packet with its real address.
// With --peer6, --token and --origin: a page with a wrong token is refused with 4401, a client from
// another origin with 4403, and the page with the token downloads over IPv6 from a kernel HTTP
// server that logs the page's IPv6 address; a client cannot spoof another's IPv6 address either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { CHROMIUM, CHROMIUM_ARGS, bundleForBrowser, chromiumMissing, servePage } from '../helpers/browser.js';
import WebSocket from 'ws';
import { NetnsHarness } from '../helpers/netns.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { interopSkip, randomFile, repoRoot, scratch, spawnIn, waitListening, within } from './helpers.js';
import { buildIcmpPacket } from '../../src/wire/packet.js';
import { parseIp } from '../../src/wire/address.js';
import type { RelayPageResult } from '../web/relay-entry.js';

const MiB = 1 << 20;
const SIZE = 8 * MiB;
const DEV = 'rly0';

const skip = interopSkip('nginx', 'tshark', 'dumpcap', 'python3') ?? chromiumMissing();

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function nginxConf(dir: string, root: string): string {
  const t = (n: string): string => join(dir, n);
  const conf = t('nginx.conf');
  writeFileSync(
    conf,
    `daemon off; master_process off; user root; worker_processes 1; pid ${t('nginx.pid')}; error_log ${t('error.log')};
events { worker_connections 64; }
http {
  log_format addr '$remote_addr $request $status $body_bytes_sent';
  access_log ${t('access.log')} addr;
  client_body_temp_path ${t('body')}; proxy_temp_path ${t('proxy')}; fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')}; scgi_temp_path ${t('scgi')};
  server { listen 198.18.0.1:8081; root ${root}; }
}
`,
  );
  return conf;
}

/** `synack ARGS` from source in this (the root) namespace, stderr captured. */
function hostProcess(args: string[]): { proc: ChildProcess; stderr(): string; exited: Promise<number>; waitFor(text: string, ms: number): Promise<void> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/interop/synack-cli.ts'), ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((r) => proc.once('exit', (c) => r(c ?? 128)));
  return {
    proc,
    stderr: () => err,
    exited,
    waitFor: async (text, ms) => {
      for (const until = Date.now() + ms; !err.includes(text); ) {
        if (Date.now() > until || proc.exitCode !== null) throw new Error(`relay: no '${text}' (exit ${proc.exitCode}); stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** A Node client of the relay: resolves with its greeting and the socket (rejects with the close code if refused). */
function nodeClient(url: string, origin?: string): Promise<{ ws: WebSocket; address: string; address6: string; got: Uint8Array[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    const got: Uint8Array[] = [];
    ws.once('error', reject);
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${String(reason)}`)));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const hello = JSON.parse(String(data)) as { address: string; address6?: string };
        resolve({ ws, address: hello.address, address6: hello.address6 ?? '', got });
      } else got.push(new Uint8Array(data as Buffer));
    });
  });
}

test('synack relay: a stack in Chromium downloads from nginx through the relay; a client cannot spoof another', { skip: skip ?? false, timeout: 240_000 }, async () => {
  const h = new NetnsHarness();
  const tmp = scratch();
  const userDataDir = mkdtempSync(join(tmpdir(), 'synack-chromium-'));
  let page: http.Server | null = null;
  let context: { close(): Promise<void> } | null = null;
  const procs: ChildProcess[] = [];
  try {
    const ns = await h.create();
    const www = join(tmp.dir, 'www');
    mkdirSync(www);
    const hash = randomFile(join(www, 'f.bin'), SIZE);
    const port = await freePort();
    // The relay runs here (its WebSocket on this host's 127.0.0.1); its TUN device is born in the namespace.
    const relay = hostProcess(['relay', '--tun', DEV, '--netns', ns.name, '--peer', '198.18.0.1/24', '--pool', '198.18.0.10-198.18.0.12', '--listen', `127.0.0.1:${port}`]);
    procs.push(relay.proc);
    await relay.waitFor('listening on', 30_000);
    const nginx = spawnIn(ns, 'nginx', ['-c', nginxConf(tmp.dir, www)]);
    await waitListening(ns, 8081);
    const pcap = join(tmp.dir, 'rly.pcap');
    const cap = spawnIn(ns, 'dumpcap', ['-q', '-i', DEV, '-f', 'icmp', '-w', pcap]);
    await cap.waitFor(/Capturing on|File:/, 20_000);

    const js = await bundleForBrowser(new URL('../web/relay-entry.ts', import.meta.url));
    const served = await servePage(js, 'synack relay');
    page = served.server;
    const pagePort = served.port;
    const { chromium } = await import('playwright-core');
    const ctx = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    context = ctx;
    const tab = ctx.pages()[0] ?? (await ctx.newPage());
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(`http://127.0.0.1:${pagePort}/`);
    await tab.waitForFunction(() => typeof (globalThis as { fetchThroughRelay?: unknown }).fetchThroughRelay === 'function', undefined, { timeout: 30_000 });
    type Fetch = { fetchThroughRelay(u: string, h: string, p: number, path: string, token?: string): Promise<unknown> };
    const download = async (relayPort: number, host = '198.18.0.1', httpPort = 8081, token?: string): Promise<RelayPageResult> =>
      (await within(
        tab.evaluate(
          ([u, h, p, tk]) => (globalThis as unknown as Fetch).fetchThroughRelay(u, h, p, '/f.bin', tk ?? undefined),
          [`ws://127.0.0.1:${relayPort}/`, host, httpPort, token ?? null] as const,
        ),
        120_000,
        'page download through the relay',
      )) as RelayPageResult;
    const r = await download(port);
    console.log(`# chromium page <- nginx through synack relay: ${SIZE / MiB} MiB in ${(r.ms / 1000).toFixed(2)} s`);
    assert.deepEqual(errors, []);
    assert.equal(r.status, 'HTTP/1.1 200 OK');
    assert.equal(r.address, '198.18.0.10', 'the page got the first pool address');
    assert.equal(r.bytes, SIZE);
    assert.equal(r.sha256, hash, 'the page got the file nginx served, byte for byte');
    const log = readFileSync(join(tmp.dir, 'access.log'), 'utf8');
    assert.match(log, new RegExp(`^198\\.18\\.0\\.10 GET /f\\.bin HTTP/1\\.0 200 ${SIZE}$`, 'm'), `nginx saw the page's address: ${log}`);

    // Spoofing: client A holds .10 again (the page has gone), client B (.11) sends one echo
    // request with A's address and one with its own.
    const a = await nodeClient(`ws://127.0.0.1:${port}/`);
    const b = await nodeClient(`ws://127.0.0.1:${port}/`);
    assert.notEqual(a.address, b.address);
    const echo = (src: string, seq: number): Uint8Array =>
      buildIcmpPacket(parseIp(src)!, parseIp('198.18.0.1')!, { kind: 'echo-request', id: 0x5151, seq, data: new Uint8Array(8) });
    b.ws.send(echo(a.address, 1));
    b.ws.send(echo(b.address, 2));
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(b.got.length, 1, 'B got the reply to its own echo request');
    assert.equal(a.got.length, 0, 'A got no reply to a request it never sent');
    a.ws.close();
    b.ws.close();
    cap.proc.kill('SIGINT');
    await within(cap.exited, 10_000, 'dumpcap exit');
    const requests = execFileSync('tshark', ['-n', '-r', pcap, '-Y', 'icmp.type == 8 && icmp.ident == 0x5151', '-T', 'fields', '-e', 'ip.src', '-e', 'icmp.seq'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.deepEqual(requests, [`${b.address}\t2`], 'only the unspoofed request reached the kernel');
    relay.proc.kill('SIGTERM');
    assert.equal(await within(relay.exited, 10_000, 'relay exit'), 0, relay.stderr());
    assert.match(relay.stderr(), /"spoofed":1/);

    // The same through a relay on a TAP device: the page's stack is then an Ethernet host (its MAC
    // from the relay), and the kernel resolves it by ARP across the relay.
    const port2 = await freePort();
    const relay2 = hostProcess(['relay', '--tap', 'rly1', '--netns', ns.name, '--peer', '198.18.0.1/24', '--pool', '198.18.0.20-198.18.0.22', '--listen', `127.0.0.1:${port2}`]);
    procs.push(relay2.proc);
    await relay2.waitFor('listening on', 30_000);
    const r2 = await download(port2);
    console.log(`# chromium page <- nginx through synack relay --tap: ${SIZE / MiB} MiB in ${(r2.ms / 1000).toFixed(2)} s`);
    assert.equal(r2.address, '198.18.0.20');
    assert.equal(r2.sha256, hash, 'through the TAP relay too, byte for byte');
    assert.match(readFileSync(join(tmp.dir, 'access.log'), 'utf8'), new RegExp(`^198\\.18\\.0\\.20 GET /f\\.bin HTTP/1\\.0 200 ${SIZE}$`, 'm'));
    assert.match(await ns.run('ip', ['neigh', 'show', 'dev', 'rly1']), /198\.18\.0\.20 lladdr 02:53:c6:12:00:14/, 'the kernel resolved the page by ARP');
    relay2.proc.kill('SIGTERM');
    assert.equal(await within(relay2.exited, 10_000, 'relay --tap exit'), 0, relay2.stderr());
    nginx.proc.kill('SIGTERM');

    // IPv6, a token and an allowed origin (the page's own).
    const port3 = await freePort();
    const token = 'relay-test-token-0123';
    const pageOrigin = `http://127.0.0.1:${pagePort}`;
    const relay3 = hostProcess([
      'relay', '--tun', 'rly2', '--netns', ns.name, '--peer', '198.18.0.1/24', '--peer6', '2001:db8:5::1/64',
      '--pool', '198.18.0.30-198.18.0.32', '--listen', `127.0.0.1:${port3}`, '--token', token, '--origin', pageOrigin,
    ]);
    procs.push(relay3.proc);
    await relay3.waitFor('listening on', 30_000);
    const py = spawnIn(ns, 'python3', ['-u', '-m', 'http.server', '--bind', '2001:db8:5::1', '--directory', www, '8082']);
    procs.push(py.proc);
    await waitListening(ns, 8082);
    const refused = await tab.evaluate(
      ([u]) => (globalThis as unknown as Fetch).fetchThroughRelay(u, '2001:db8:5::1', 8082, '/f.bin', 'not-the-token').then(() => 'admitted', (e: Error) => e.message),
      [`ws://127.0.0.1:${port3}/`] as const,
    );
    assert.match(refused, /closed \(4401: token missing or wrong\)/, 'a wrong token is refused with 4401');
    assert.doesNotMatch(refused, /not-the-token/, 'the error does not repeat the token');
    await assert.rejects(nodeClient(`ws://127.0.0.1:${port3}/?token=${token}`, 'http://evil.example'), /closed 4403 origin http:\/\/evil\.example is not allowed/);
    const r3 = await download(port3, '2001:db8:5::1', 8082, token);
    console.log(`# chromium page <- python http.server over IPv6 through synack relay: ${SIZE / MiB} MiB in ${(r3.ms / 1000).toFixed(2)} s`);
    assert.equal(r3.address6, '2001:db8:5::c612:1e', 'the page got the IPv6 address made from its IPv4 one (198.18.0.30)');
    assert.equal(r3.status, 'HTTP/1.0 200 OK');
    assert.equal(r3.sha256, hash, 'over IPv6 through the relay, byte for byte');
    assert.match(py.stderr(), /^2001:db8:5::c612:1e - - \[.*\] "GET \/f\.bin HTTP\/1\.0" 200/m, `the server saw the page's IPv6 address: ${py.stderr()}`);
    // IPv6 spoofing: C sends an echo request with D's address, D one with its own; only D's is answered.
    const c6 = await nodeClient(`ws://127.0.0.1:${port3}/?token=${token}`, pageOrigin);
    const d6 = await nodeClient(`ws://127.0.0.1:${port3}/?token=${token}`, pageOrigin);
    const echo6 = (src: string, seq: number): Uint8Array =>
      buildIcmpPacket(parseIp(src)!, parseIp('2001:db8:5::1')!, { kind: 'echo-request', id: 0x5252, seq, data: new Uint8Array(8) });
    c6.ws.send(echo6(d6.address6, 1));
    d6.ws.send(echo6(d6.address6, 2));
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(d6.got.length, 1, 'D got the answer to its own request only');
    assert.equal(c6.got.length, 0);
    c6.ws.close();
    d6.ws.close();
    relay3.proc.kill('SIGTERM');
    assert.equal(await within(relay3.exited, 10_000, 'relay --peer6 exit'), 0, relay3.stderr());
    assert.match(relay3.stderr(), /refused \(4401 wrong token\)/);
    assert.match(relay3.stderr(), /refused \(4403 origin http:\/\/evil\.example is not allowed\)/);
    assert.match(relay3.stderr(), /"spoofed":1/);
    assert.match(relay3.stderr(), /"unauthorized":2/);
    py.proc.kill('SIGTERM');
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await context?.close();
    page?.close();
    await h.cleanup();
    tmp.remove();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
