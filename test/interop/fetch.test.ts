// fetch() and http.request over synack against nginx on the kernel side of a TUN device: nginx's
// access log must show synack's address for both requests, the bodies must match the files byte
// for byte, and the kernel's counters for the TUN device must show the bytes crossed it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../helpers/netns.js';
import { V4, V6, interopSkip, randomFile, repoRoot, scratch, spawnIn, tunHost, waitListening, within } from './helpers.js';

const skip = interopSkip('nginx', 'ss');
const SIZE = 2 << 20;

function nginxConf(dir: string, root: string): string {
  const conf = join(dir, 'nginx.conf');
  const t = (n: string): string => join(dir, n);
  writeFileSync(
    conf,
    `daemon off;
master_process off;
user root;
worker_processes 1;
pid ${t('nginx.pid')};
error_log ${t('error.log')};
events { worker_connections 64; }
http {
  log_format peer '$remote_addr "$request" $status $body_bytes_sent';
  access_log ${t('access.log')} peer;
  client_body_temp_path ${t('body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  server {
    listen ${V4.kernel}:8082;
    listen [${V6.kernel}]:8082;
    root ${root};
  }
}
`,
  );
  return conf;
}

interface Counters { rx: number; tx: number }
async function tunCounters(h: { exec(cmd: string, args: string[]): Promise<{ stdout: string }> }, dev: string): Promise<Counters> {
  const r = await h.exec('ip', ['-j', '-s', 'link', 'show', dev]);
  const s = (JSON.parse(r.stdout) as Array<{ stats64: { rx: { bytes: number }; tx: { bytes: number } } }>)[0]!.stats64;
  return { rx: s.rx.bytes, tx: s.tx.bytes };
}

async function run(v6: boolean): Promise<void> {
  const h = new NetnsHarness();
  const tmp = scratch();
  try {
    const host = await tunHost(h);
    const www = join(tmp.dir, 'www');
    mkdirSync(www);
    const hashFetch = randomFile(join(www, 'fetch'), SIZE);
    const hashHttp = randomFile(join(www, 'http'), SIZE);
    const nginx = spawnIn(host.ns, 'nginx', ['-e', join(tmp.dir, 'error.log'), '-p', tmp.dir, '-c', nginxConf(tmp.dir, www)]);
    await waitListening(host.ns, 8082);
    const before = await tunCounters(host.ns, host.dev);
    const out = join(tmp.dir, 'out.json');
    const base = v6 ? `http://[${V6.kernel}]:8082` : `http://${V4.kernel}:8082`;
    const client = spawnIn(host.ns, process.execPath, [
      '--import', 'tsx', join(repoRoot, 'test/interop/fetch-client.ts'),
      host.dev, `${V4.stack}/${V4.prefix},${V6.stack}/${V6.prefix}`, base,
    ], { stdout: out });
    const code = await within(client.exited, 60_000, 'fetch-client');
    assert.equal(code, 0, `fetch-client failed: ${client.stderr()}\nnginx: ${nginx.stderr()}`);
    const r = JSON.parse(readFileSync(out, 'utf8')) as { fetch: { status: number; sha: string }; http: { status: number; sha: string } };
    assert.deepEqual([r.fetch.status, r.fetch.sha], [200, hashFetch], 'fetch() got the file nginx served');
    assert.deepEqual([r.http.status, r.http.sha], [200, hashHttp], 'http.get got the file nginx served');
    const log = readFileSync(join(tmp.dir, 'access.log'), 'utf8');
    const peer = v6 ? V6.stack : V4.stack;
    assert.match(log, new RegExp(`^${peer.replace(/\./g, '\\.')} "GET /fetch HTTP/1\\.1" 200 ${SIZE}$`, 'm'), log);
    assert.match(log, new RegExp(`^${peer.replace(/\./g, '\\.')} "GET /http HTTP/1\\.1" 200 ${SIZE}$`, 'm'), log);
    const after = await tunCounters(host.ns, host.dev);
    // The kernel transmits into the TUN device what synack receives, and receives what synack sends.
    assert.ok(after.tx - before.tx >= 2 * SIZE, `the kernel sent ${after.tx - before.tx} bytes into ${host.dev}`);
    assert.ok(after.rx - before.rx > 0, `the kernel received ${after.rx - before.rx} bytes from ${host.dev}`);
    console.log(`# fetch + http.get <- nginx over ${host.dev}${v6 ? ' (IPv6)' : ''}: ${after.tx - before.tx} bytes into the device, ${after.rx - before.rx} out`);
  } finally {
    await h.cleanup();
    tmp.remove();
  }
}

describe('fetch() and http.request over synack against nginx on TUN', { skip: skip ?? false }, () => {
  test('IPv4: both requests reach nginx from synack\'s address and return the files byte for byte', () => run(false));
  test('IPv6: the same over 2001:db8::/64', () => run(true));
});
