// `synack get --tap` and `synack nc --tap` against the kernel in a namespace: synack is an Ethernet
// host on a TAP device, resolves the kernel by ARP and neighbour discovery, and fetches a file from
// a kernel HTTP server (python3 -m http.server) over IPv4 and IPv6, and exchanges data both ways
// with socat. The peers are the oracle: the HTTP server's log and socat name synack's address as
// the client, the hashes match, and the kernel's counters on the TAP device show the bytes crossing
// it (which needs the kernel to have resolved synack's MAC). Skips without root, namespaces, the TUN
// addon, python3, socat or ss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../helpers/netns.js';
import { MiB, OFFLOAD, PathWitness, V4, V6, interopSkip, randomFile, scratch, sha256File, spawnIn, synack, waitListening, within, type TunHost } from './helpers.js';

const skip = interopSkip('python3', 'socat', 'ss');
const DEV = 'syntap1';
const MAC = '02:00:5e:00:53:12';
const SIZE = 8 * MiB;

/** A namespace with a TAP device whose kernel side has the peer addresses; flags for synack. */
async function tapHost(h: NetnsHarness): Promise<TunHost> {
  const ns = await h.create();
  await ns.ip('tuntap', 'add', 'dev', DEV, 'mode', 'tap');
  await ns.configureTun(DEV, { peer: V4.kernel, prefix: V4.prefix, mtu: 1500 });
  await ns.configureTun(DEV, { peer: V6.kernel, prefix: V6.prefix });
  // The offloads (virtio_net_hdr behind the Ethernet header) are on unless the suite's second pass
  // turns them off (SYNACK_TUN_OFFLOAD=off, scripts/run-tests.mjs).
  const flags = ['--tap', DEV, '--mac', MAC, '--addr', `${V4.stack}/${V4.prefix},${V6.stack}/${V6.prefix}`, ...(OFFLOAD ? [] : ['--no-offload'])];
  return { ns, dev: DEV, flags };
}

/** "2001:db8::2" -> "2001:0db8:0000:0000:0000:0000:0000:0002". */
function fullV6(a: string): string {
  const [head = '', tail = ''] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  return [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0')).join(':');
}

const esc = (s: string): string => s.replace(/[.[\]:]/g, '\\$&');

test('synack get --tap fetches from a kernel HTTP server over IPv4 and IPv6; the server logs synack\'s address', { skip: skip ?? false, timeout: 120_000 }, async () => {
  const h = new NetnsHarness();
  const tmp = scratch();
  try {
    const host = await tapHost(h);
    const www = join(tmp.dir, 'www');
    mkdirSync(www);
    const hash = randomFile(join(www, 'f.bin'), SIZE);
    for (const [bind, url, own] of [
      [V4.kernel, `http://${V4.kernel}:8081/f.bin`, V4.stack],
      [V6.kernel, `http://[${V6.kernel}]:8081/f.bin`, V6.stack],
    ] as const) {
      const server = spawnIn(host.ns, 'python3', ['-u', '-m', 'http.server', '--bind', bind, '--directory', www, '8081']);
      try {
        await waitListening(host.ns, 8081);
        const witness = await PathWitness.start(host);
        const out = join(tmp.dir, `got-${own}`);
        const get = synack(host.ns, ['get', url, '-o', out, ...host.flags]);
        assert.equal(await within(get.exited, 60_000, `synack get ${url}`), 0, get.stderr());
        assert.equal(await sha256File(out), hash, `${url}: the body arrived intact`);
        // The peer saw synack: http.server logs each request with the client's address.
        await new Promise((r) => setTimeout(r, 100));
        assert.match(server.stderr(), new RegExp(`^${esc(own)} - - \\[.*\\] "GET /f\\.bin HTTP/1\\.1" 200`, 'm'), `the server's log names ${own}`);
        await witness.assertCrossed({ toSynack: SIZE }, `get ${url}`);
      } finally {
        server.proc.kill('SIGTERM');
        await server.exited;
      }
    }
  } finally {
    await h.cleanup();
    tmp.remove();
  }
});

test('synack nc --tap exchanges data both ways with socat on the kernel; socat names synack\'s address', { skip: skip ?? false, timeout: 120_000 }, async () => {
  const h = new NetnsHarness();
  const tmp = scratch();
  try {
    const host = await tapHost(h);
    for (const [listen, peer, own, af] of [
      [`TCP4-LISTEN:7001,bind=${V4.kernel},reuseaddr`, V4.kernel, V4.stack, '2'],
      [`TCP6-LISTEN:7001,bind=[${V6.kernel}],reuseaddr`, V6.kernel, V6.stack, '10'],
    ] as const) {
      const up = join(tmp.dir, `up-${af}`);
      const down = join(tmp.dir, `down-${af}`);
      const upHash = randomFile(up, SIZE);
      const downHash = randomFile(down, SIZE);
      const kernelGot = join(tmp.dir, `kernel-got-${af}`);
      const synackGot = join(tmp.dir, `synack-got-${af}`);
      // socat sends `down` and stores what it receives; the shell closes its stdout after sending (half-close).
      const socat = spawnIn(host.ns, 'socat', ['-d', '-d', '-t', '60', listen, `SYSTEM:(cat ${down}; exec 1>&-) & exec 1>&-; cat > ${kernelGot}; wait`]);
      await waitListening(host.ns, 7001);
      const witness = await PathWitness.start(host);
      const nc = synack(host.ns, ['nc', '-v', peer, '7001', ...host.flags], { stdin: up, stdout: synackGot });
      const [ncCode, socatCode] = await within(Promise.all([nc.exited, socat.exited]), 60_000, `nc <-> socat (AF ${af})`);
      assert.equal(ncCode, 0, nc.stderr());
      assert.equal(socatCode, 0, socat.stderr());
      assert.equal(await sha256File(kernelGot), upHash, 'synack -> kernel intact');
      assert.equal(await sha256File(synackGot), downHash, 'kernel -> synack intact');
      // socat writes IPv6 addresses in full: 2001:db8::2 is [2001:0db8:0000:...:0002].
      const from = af === '2' ? `${esc(own)}:\\d+` : `\\[${esc(fullV6(own))}\\]:\\d+`;
      assert.match(socat.stderr(), new RegExp(`accepting connection from AF=${af} ${from}`), `socat's peer is ${own}`);
      await witness.assertCrossed({ toSynack: SIZE, fromSynack: SIZE }, `nc (AF ${af})`);
    }
  } finally {
    await h.cleanup();
    tmp.remove();
  }
});
