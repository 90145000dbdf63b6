// Oracle, the other way round: real Linux TCP (and UDP/ICMP) between two network namespaces over veth,
// captured by tshark; our pcap reader and wire/ parsers agree with tshark's -T fields on every packet.
// Uses only 198.18.77.0/24 and 2001:db8:77::/64 inside namespaces it creates and always deletes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcap, LinkType } from '../../src/wire/pcap.js';
import { parseIpPacket } from '../../src/wire/packet.js';
import { parseTcp, emitTcp, tcpHeaderLength } from '../../src/wire/tcp.js';
import { formatPacket } from '../../src/wire/format.js';
import { tsharkMissing, tsharkRows, ourRow, compareRows } from './fields.js';

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function run(...args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
}

/** Resolve when `pattern` appears on the stream; reject after `ms` (a failsafe, not a sleep). */
function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; saw: ${seen.slice(-500)}`)), ms);
    child[stream]!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!pattern.test(seen)) reject(new Error(`${what}: process exited (${code}) first; saw: ${seen.slice(-500)}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (c) => resolve(c))));
}

// Turn off TX checksum offload, TSO, GSO and SG on a veth (legacy ETHTOOL_S* ioctls) so the
// capture holds final checksums and MTU-sized segments. Best effort: ethtool may not be installed.
const OFFLOAD_OFF = `
import socket, fcntl, struct, ctypes, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for cmd in (0x17, 0x1f, 0x24, 0x19):
    buf = ctypes.create_string_buffer(struct.pack('II', cmd, 0))
    fcntl.ioctl(s.fileno(), 0x8946, struct.pack('16sP', sys.argv[1].encode(), ctypes.addressof(buf)).ljust(40, b'\\0'))
`;

const SERVER = `
import socket
def listen(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 8080))
    s.listen(4)
    return s
ls = [listen(socket.AF_INET, '198.18.77.2'), listen(socket.AF_INET6, '2001:db8:77::2')]
print('ready', flush=True)
for s in ls:
    c, _ = s.accept()
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.sendall(b'got %d' % n)
    c.close()
`;

const CLIENT = `
import socket
for fam, addr in ((socket.AF_INET, '198.18.77.2'), (socket.AF_INET6, '2001:db8:77::2')):
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.connect((addr, 8080))
    c.sendall(bytes(range(256)) * 800)
    c.shutdown(socket.SHUT_WR)
    print(c.recv(100).decode(), flush=True)
    c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b'marker', ('198.18.77.2', 9))
`;

test('kernel TCP over veth, captured by tshark: our reader and parsers agree on every packet', { timeout: 120_000 }, async (t) => {
  const missing = tsharkMissing();
  if (missing) return t.skip(missing);
  if (process.getuid?.() !== 0) return t.skip('needs root to create network namespaces and veth; skipping');
  const python = which('python3');
  if (!which('ip') || !python) return t.skip('needs iproute2 (ip) and python3; skipping');

  const tag = `sk${process.pid % 100000}`;
  const nsA = `${tag}-a`;
  const nsB = `${tag}-b`;
  const dir = mkdtempSync(join(tmpdir(), 'synack-kernel-'));
  const file = join(dir, 'kernel.pcap');
  const children: ChildProcess[] = [];
  let offloadOff = true;
  try {
    run('ip', 'netns', 'add', nsA);
    run('ip', 'netns', 'add', nsB);
    run('ip', 'link', 'add', 'veth-a', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', nsB);
    for (const [ns, dev, v4, v6] of [[nsA, 'veth-a', '198.18.77.1/24', '2001:db8:77::1/64'], [nsB, 'veth-b', '198.18.77.2/24', '2001:db8:77::2/64']] as const) {
      run('ip', '-n', ns, 'addr', 'add', v4, 'dev', dev);
      run('ip', '-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad');
      run('ip', '-n', ns, 'link', 'set', dev, 'up');
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      writeFileSync(join(dir, 'offload.py'), OFFLOAD_OFF);
      if (spawnSync('ip', ['netns', 'exec', ns, python, join(dir, 'offload.py'), dev]).status !== 0) offloadOff = false;
    }
    writeFileSync(join(dir, 'server.py'), SERVER);
    writeFileSync(join(dir, 'client.py'), CLIENT);

    const tshark = spawn('ip', ['netns', 'exec', nsB, 'tshark', '-n', '-i', 'veth-b', '-F', 'pcap', '-w', file, '-l', '-P'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(tshark);
    await waitFor(tshark, 'stderr', /Capturing on/, 20_000, 'tshark to start capturing');
    const server = spawn('ip', ['netns', 'exec', nsB, python, join(dir, 'server.py')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    await waitFor(server, 'stdout', /ready/, 20_000, 'the server to listen');
    // Kernel ICMP echo both ways round, when ping is installed.
    const ping = which('ping');
    if (ping) {
      run('ip', 'netns', 'exec', nsA, ping, '-c', '1', '-W', '5', '198.18.77.2');
      run('ip', 'netns', 'exec', nsA, ping, '-6', '-c', '1', '-W', '5', '2001:db8:77::2');
    }
    const marker = waitFor(tshark, 'stdout', /unreachable/i, 30_000, 'tshark to see the ICMP port unreachable marker');
    const client = spawn('ip', ['netns', 'exec', nsA, python, join(dir, 'client.py')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(client);
    const clientOut = waitFor(client, 'stdout', /got 204800\s+got 204800/, 30_000, 'the client to finish both transfers');
    await clientOut;
    assert.equal(await exited(client), 0);
    assert.equal(await exited(server), 0);
    await marker;
    tshark.kill('SIGINT');
    await exited(tshark);

    // Our side: read the classic pcap (Ethernet) and parse every IP packet.
    const r = readPcap(new Uint8Array(readFileSync(file)));
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.value.linkType, LinkType.ETHERNET);
    const { rows, malformed, errors } = tsharkRows(file, 'ip or ipv6');
    assert.deepEqual(malformed, []);
    assert.equal(r.value.packets.length, rows.length, 'the same number of IP packets');
    let tcp = 0;
    let reEmitted = 0;
    const protocols = new Set<number>();
    r.value.packets.forEach((p, i) => {
      const ip = parseIpPacket(p.data, { verifyChecksum: offloadOff });
      assert.ok(ip.ok, `packet ${i + 1}: ${ip.ok ? '' : ip.error.message}`);
      protocols.add(ip.value.protocol);
      assert.deepEqual(compareRows(rows[i]!, ourRow(p.data)), [], `packet ${i + 1}: ${formatPacket(p.data)}`);
      if (ip.value.protocol !== 6) return;
      tcp++;
      const seg = parseTcp(ip.value.payload, ip.value);
      if (!seg.ok) {
        assert.ok(!offloadOff, `packet ${i + 1}: ${seg.error.message}`);
        return;
      }
      // Linux's option layout is ours, so parse then emit reproduces the kernel's bytes exactly.
      const out = new Uint8Array(tcpHeaderLength(seg.value) + seg.value.payload.length);
      emitTcp(seg.value, out, ip.value.src, ip.value.dst);
      assert.deepEqual(out, ip.value.payload, `packet ${i + 1} re-emitted differs: ${formatPacket(p.data)}`);
      reEmitted++;
    });
    if (offloadOff) assert.deepEqual(errors, [], 'tshark saw no bad checksums');
    assert.ok(tcp >= 20, `only ${tcp} TCP segments captured`);
    assert.ok(protocols.has(6) && protocols.has(17) && protocols.has(1), `protocols seen: ${[...protocols].join(',')}`);
    if (ping) assert.ok(protocols.has(58), 'ICMPv6 echo seen');
    if (offloadOff) assert.equal(reEmitted, tcp);
    t.diagnostic(`${rows.length} IP packets (${tcp} TCP, ${reEmitted} re-emitted byte for byte), offloads ${offloadOff ? 'off' : 'on (checksums partial)'}`);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', nsA]);
    spawnSync('ip', ['netns', 'del', nsB]);
    rmSync(dir, { recursive: true, force: true });
  }
});
