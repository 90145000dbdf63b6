// synack as an Ethernet host on a TAP device, against the Linux kernel in a namespace: the kernel
// resolves synack by ARP and by neighbour discovery, pings it, curl downloads a large file from
// `synack serve --tap` over IPv4 and IPv6 with matching sha256, both neighbour caches expire (short
// reachable times on both sides) and re-resolve, and tshark, reading the kernel's own capture of
// the device, finds no malformed frame and sees synack's ARP replies and neighbour advertisements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness, type Netns } from '../helpers/netns.js';
import { BIG, MiB, OFFLOAD, V4, V6, interopSkip, randomFile, scratch, sha256File, spawnIn, synack, within } from './helpers.js';

const skip = interopSkip('curl', 'tshark', 'dumpcap', 'ping');
const MAC = '02:00:5e:00:53:02';
const DEV = 'syntap0';

async function curl(ns: Netns, url: string, out: string, limitMs: number): Promise<number> {
  const t0 = performance.now();
  const c = spawnIn(ns, 'curl', ['-sS', '--fail', '-o', out, url]);
  const code = await within(c.exited, limitMs, `curl ${url}`);
  assert.equal(code, 0, `curl ${url} failed: ${c.stderr()}`);
  return (performance.now() - t0) / 1000;
}

/** The kernel's neighbour entry for `ip` on the TAP device: "lladdr MAC STATE" or ''. */
async function kernelNeighbour(ns: Netns, ip: string): Promise<string> {
  const r = await ns.exec('ip', ['neigh', 'show', 'dev', DEV, 'to', ip]);
  return r.stdout.trim();
}

/** Lines tshark prints for display filter `filter` over `pcap`. */
async function tsharkLines(pcap: string, filter: string, fields: string[] = []): Promise<string[]> {
  const { execFileSync } = await import('node:child_process');
  // The HTTP dissector would parse the random body bytes as HTTP and call them malformed: the frames
  // under test are Ethernet, ARP, IPv4/IPv6, ICMP and TCP, so it stays off.
  const args = ['-n', '--disable-protocol', 'http', '-r', pcap, '-Y', filter, ...(fields.length > 0 ? ['-T', 'fields', ...fields.flatMap((f) => ['-e', f])] : [])];
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l.trim() !== '');
}

test('kernel <-> synack serve --tap: ARP and NDP, ping, curl over IPv4 and IPv6, neighbour expiry, clean capture', { skip: skip ?? false, timeout: 300_000 }, async () => {
  const h = new NetnsHarness();
  const tmp = scratch();
  try {
    const ns = await h.create();
    await ns.ip('tuntap', 'add', 'dev', DEV, 'mode', 'tap');
    await ns.configureTun(DEV, { peer: V4.kernel, prefix: V4.prefix, mtu: 1500 });
    await ns.configureTun(DEV, { peer: V6.kernel, prefix: V6.prefix });
    // Short neighbour lifetimes on the kernel's side so its entries for synack go STALE and get probed.
    for (const fam of ['ipv4', 'ipv6']) {
      await ns.sysctl(`net.${fam}.neigh.${DEV}.base_reachable_time_ms`, 1000);
      await ns.sysctl(`net.${fam}.neigh.${DEV}.delay_first_probe_time`, 1);
    }
    const pcap = join(tmp.dir, 'tap.pcap');
    // The kernel's capture of the device: frames as the kernel sent and received them. Headers only
    // for bulk TCP (snaplen 200) keeps the file small; tshark still checks every header.
    const cap = spawnIn(ns, 'dumpcap', ['-q', '-i', DEV, '-s', '200', '-w', pcap]);
    await cap.waitFor(/Capturing on|File:/, 20_000);

    const www = join(tmp.dir, 'www');
    mkdirSync(www);
    const hash = randomFile(join(www, 'big.bin'), BIG);
    const serve = synack(ns, [
      'serve', www, '--port', '8080', '--tap', DEV, '--mac', MAC,
      '--addr', `${V4.stack}/${V4.prefix},${V6.stack}/${V6.prefix}`,
      '--peer', `${V4.kernel},${V6.kernel}`,
      '--neigh-reachable', '1000',
      // Offloads on (TSO and checksums behind the Ethernet header) unless the suite's second pass turns them off.
      ...(OFFLOAD ? [] : ['--no-offload']),
    ]);
    await serve.waitFor('listening on port 8080');
    // DAD on synack's IPv6 address takes RetransTimer (1 s) before it answers for it.
    await new Promise((r) => setTimeout(r, 1200));

    const ping4 = await ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', V4.stack]);
    assert.equal(ping4.code, 0, `ping ${V4.stack}: ${ping4.stdout}${ping4.stderr}`);
    const ping6 = await ns.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', V6.stack]);
    assert.equal(ping6.code, 0, `ping ${V6.stack}: ${ping6.stdout}${ping6.stderr}`);
    assert.match(await kernelNeighbour(ns, V4.stack), new RegExp(`lladdr ${MAC}`), 'the kernel learnt synack by ARP');
    assert.match(await kernelNeighbour(ns, V6.stack), new RegExp(`lladdr ${MAC}`), 'the kernel learnt synack by NDP');

    for (const [url, name] of [[`http://${V4.stack}:8080/big.bin`, 'IPv4'], [`http://[${V6.stack}]:8080/big.bin`, 'IPv6']] as const) {
      const out = join(tmp.dir, `got-${name}`);
      const secs = await curl(ns, url, out, 180_000);
      assert.equal(await sha256File(out), hash, `curl over ${name} got the file synack served, byte for byte`);
      console.log(`# curl <- synack serve --tap ${name} ${BIG / MiB} MiB: ${secs.toFixed(2)} s, ${(BIG / MiB / secs).toFixed(1)} MiB/s`);
    }

    // Let both caches age past their reachable time (1 s synack, 0.5..1.5 s kernel), then use them.
    let state = '';
    // DELAY and PROBE come only from STALE (RFC 4861 7.3.3; a reply the kernel sends moves it on).
    const expired = /STALE|DELAY|PROBE/;
    for (const until = Date.now() + 10_000; Date.now() < until && !expired.test(state); ) {
      await new Promise((r) => setTimeout(r, 250));
      state = await kernelNeighbour(ns, V4.stack);
    }
    assert.match(state, expired, 'the kernel entry for synack expired (REACHABLE -> STALE)');
    const again = await ns.exec('ping', ['-c', '3', '-i', '0.5', '-W', '2', V4.stack]);
    assert.equal(again.code, 0, `ping after expiry: ${again.stdout}${again.stderr}`);
    await new Promise((r) => setTimeout(r, 2500));
    const again6 = await ns.exec('ping', ['-6', '-c', '3', '-i', '0.5', '-W', '2', V6.stack]);
    assert.equal(again6.code, 0, `ping -6 after expiry: ${again6.stdout}${again6.stderr}`);

    // synack's entry for the kernel went STALE and the replies above moved it to DELAY; after the
    // delay (shortened to 1 s by --neigh-reachable) it probes the kernel by unicast ARP.
    await new Promise((r) => setTimeout(r, 1500));
    serve.proc.kill('SIGTERM');
    assert.equal(await within(serve.exited, 10_000, 'serve exit on SIGTERM'), 0, serve.stderr());
    await new Promise((r) => setTimeout(r, 300));
    cap.proc.kill('SIGINT');
    await within(cap.exited, 10_000, 'dumpcap exit');

    const malformed = await tsharkLines(pcap, '_ws.malformed || _ws.expert.severity >= "error" && !(tcp.analysis)');
    assert.deepEqual(malformed, [], 'tshark finds no malformed frame');
    // Kernel -> synack: broadcast who-has, and (after expiry) unicast probes to synack's MAC.
    const kernelAsks = await tsharkLines(pcap, `arp.opcode == 1 && arp.dst.proto_ipv4 == ${V4.stack}`, ['eth.dst']);
    assert.ok(kernelAsks.includes('ff:ff:ff:ff:ff:ff'), `kernel broadcast ARP: ${kernelAsks.join(',')}`);
    assert.ok(kernelAsks.includes(MAC), `kernel re-resolved synack with a unicast ARP probe after expiry: ${kernelAsks.join(',')}`);
    const replies = await tsharkLines(pcap, `arp.opcode == 2 && eth.src == ${MAC} && arp.src.proto_ipv4 == ${V4.stack}`);
    assert.ok(replies.length >= 2, `synack answered ARP at least twice (got ${replies.length})`);
    // synack -> kernel: its own cache expired (1 s) and it re-resolved the kernel.
    const synackAsks = await tsharkLines(pcap, `arp.opcode == 1 && eth.src == ${MAC} && arp.dst.proto_ipv4 == ${V4.kernel}`);
    assert.ok(synackAsks.length >= 2, `synack resolved the kernel, then re-resolved it after expiry (asks: ${synackAsks.length})`);
    const na = await tsharkLines(pcap, `icmpv6.type == 136 && eth.src == ${MAC} && icmpv6.nd.na.target_address == ${V6.stack}`);
    assert.ok(na.length >= 2, `synack answered neighbour solicitations (NAs: ${na.length})`);
    const dad = await tsharkLines(pcap, `icmpv6.type == 135 && ipv6.src == :: && icmpv6.nd.ns.target_address == ${V6.stack}`);
    assert.equal(dad.length, 1, 'synack ran DAD once for its IPv6 address');
  } finally {
    await h.cleanup();
    tmp.remove();
  }
});
