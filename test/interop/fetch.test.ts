// fetch() and http.request over synack against nginx on the kernel side of a TUN device: nginx's
// access log must show synack's address for both requests, the bodies must match the files byte
// for byte, and the kernel's counters for the TUN device must show the bytes crossed it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PathWitness, V4, V6, interopSkip, nginxConf, repoRoot, spawnIn, waitListening, withTunSite, within,
} from './helpers.js';

const skip = interopSkip('nginx', 'ss');
const SIZE = 2 << 20;

async function run(v6: boolean): Promise<void> {
  await withTunSite({ fetch: SIZE, http: SIZE }, async ({ host, dir, www, hash }) => {
    const nginx = spawnIn(host.ns, 'nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', nginxConf(dir, www)]);
    await waitListening(host.ns, 8081);
    const witness = await PathWitness.start(host);
    const out = join(dir, 'out.json');
    const base = v6 ? `http://[${V6.kernel}]:8081` : `http://${V4.kernel}:8081`;
    const client = spawnIn(host.ns, process.execPath, [
      '--import', 'tsx', join(repoRoot, 'test/interop/fetch-client.ts'),
      host.dev, `${V4.stack}/${V4.prefix},${V6.stack}/${V6.prefix}`, base,
    ], { stdout: out });
    const code = await within(client.exited, 60_000, 'fetch-client');
    assert.equal(code, 0, `fetch-client failed: ${client.stderr()}\nnginx: ${nginx.stderr()}`);
    const r = JSON.parse(readFileSync(out, 'utf8')) as { fetch: { status: number; sha: string }; http: { status: number; sha: string } };
    assert.deepEqual([r.fetch.status, r.fetch.sha], [200, hash['fetch']], 'fetch() got the file nginx served');
    assert.deepEqual([r.http.status, r.http.sha], [200, hash['http']], 'http.get got the file nginx served');
    // nginx logged both requests as coming from synack's address ($remote_addr $status $bytes).
    const log = readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n');
    const peer = v6 ? V6.stack : V4.stack;
    assert.deepEqual(log, [`${peer} 200 ${SIZE}`, `${peer} 200 ${SIZE}`], 'nginx served both files to synack');
    // The kernel wrote both files into the TUN device (to synack) and read synack's requests from it.
    const d = await witness.assertCrossed({ toSynack: 2 * SIZE, fromSynack: 100 }, 'fetch + http.get');
    console.log(`# fetch + http.get <- nginx over ${host.dev}${v6 ? ' (IPv6)' : ''}: ${d.toSynack} bytes into the device, ${d.fromSynack} out`);
  });
}

describe('fetch() and http.request over synack against nginx on TUN', { skip: skip ?? false }, () => {
  test('IPv4: both requests reach nginx from synack\'s address and return the files byte for byte', () => run(false));
  test('IPv6: the same over 2001:db8::/64', () => run(true));
});
