// Tests the TUN link against the real kernel inside throwaway network namespaces: ping over IPv4
// and IPv6 answered by hand-built replies, loss-free batched reads of a UDP burst, a kernel TCP
// sender to a Stack whose batches go through GRO, batched writes to a kernel UDP socket, clear errors when TUN cannot be used, and namespace cleanup on failure.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openTun, tunAddonPath, tunUnavailableReason, TunError, TunFailure, type TunLink } from '../../src/link/tun.js';
import { Stack } from '../../src/stack/stack.js';
import { RealtimeClock } from '../../src/util/realtime-clock.js';
import { simdAvailable } from '../../src/wire/simd-sum.js';
import { NetnsHarness, isTestAddress, listNamespaces, missingTool, netnsUnavailableReason, type Netns } from '../helpers/netns.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const kernelSkip = netnsUnavailableReason() ?? tunUnavailableReason() ?? missingTool('python3');
const pingSkip = kernelSkip ?? missingTool('ping');

// ---- tiny packet helpers (kept local so this test depends only on the link) ----

function onesSum(buf: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((buf[i] as number) << 8) | (buf[i + 1] as number);
  if (i < end) sum += (buf[i] as number) << 8;
  return sum;
}
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
function put16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 8;
  buf[at + 1] = v & 0xff;
}
function get16(buf: Uint8Array, at: number): number {
  return ((buf[at] as number) << 8) | (buf[at + 1] as number);
}
function get32(buf: Uint8Array, at: number): number {
  return (get16(buf, at) * 0x10000 + get16(buf, at + 2)) >>> 0;
}

/** Turns an ICMP echo request (IPv4 or IPv6) into its echo reply, or returns null for anything else. */
function echoReply(req: Uint8Array): Uint8Array | null {
  const version = (req[0] as number) >> 4;
  if (version === 4 && req.length >= 28 && req[9] === 1) {
    const ihl = ((req[0] as number) & 0xf) * 4;
    const total = get16(req, 2);
    if (req[ihl] !== 8 || total > req.length) return null;
    const out = req.slice(0, total);
    out.set(req.subarray(16, 20), 12);
    out.set(req.subarray(12, 16), 16);
    out[8] = 64;
    out[ihl] = 0; // echo reply
    put16(out, ihl + 2, 0);
    put16(out, ihl + 2, fold(onesSum(out, ihl, total)));
    put16(out, 10, 0);
    put16(out, 10, fold(onesSum(out, 0, ihl)));
    return out;
  }
  if (version === 6 && req.length >= 48 && req[6] === 58 && req[40] === 128) {
    const len = get16(req, 4);
    const out = req.slice(0, 40 + len);
    out.set(req.subarray(8, 24), 24);
    out.set(req.subarray(24, 40), 8);
    out[7] = 64;
    out[40] = 129; // echo reply
    put16(out, 42, 0);
    let sum = onesSum(out, 8, 40); // source + destination
    sum += len + 58; // upper-layer length + next header
    put16(out, 42, fold(onesSum(out, 40, 40 + len, sum)));
    return out;
  }
  return null;
}

/** An IPv4/UDP packet from 198.18.0.2 to 198.18.0.1 carrying a 4-byte sequence number plus padding. */
function udp4(seq: number, dstPort: number, size: number): Uint8Array {
  const pkt = new Uint8Array(28 + size);
  pkt.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1]);
  put16(pkt, 2, pkt.length);
  put16(pkt, 10, fold(onesSum(pkt, 0, 20)));
  put16(pkt, 20, 5000);
  put16(pkt, 22, dstPort);
  put16(pkt, 24, 8 + size); // UDP checksum 0: "not computed", allowed over IPv4
  put16(pkt, 28, seq >>> 16);
  put16(pkt, 30, seq & 0xffff);
  return pkt;
}

/** Python one-liners run inside the namespace: a UDP burst sender and a counting receiver. */
const SENDER = `
import socket, sys
n, size, dst, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ':' in dst else socket.AF_INET, socket.SOCK_DGRAM)
pad = b'x' * (size - 4)
for i in range(n):
    s.sendto(i.to_bytes(4, 'big') + pad, (dst, port))
`;
const TCP_SENDER = `
import socket, sys
n, dst, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection((dst, port), timeout=20)
block = bytes(range(256)) * 4096
sent = 0
while sent < n:
    k = min(len(block), n - sent)
    s.sendall(block[:k])
    sent += k
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
`;
const RECEIVER = `
import socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 512 << 20)  # SO_RCVBUFFORCE: hold the whole burst
s.bind(('198.18.0.1', port))
s.settimeout(5)
print('ready', flush=True)
seen = set()
try:
    while len(seen) < n:
        seen.add(int.from_bytes(s.recv(65536)[:4], 'big'))
except socket.timeout:
    pass
print(len(seen), flush=True)
`;

/** Like RECEIVER, but prints "<count> in order" or "<count> out of order at <i>". */
const ORDERED_RECEIVER = `
import socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 512 << 20)  # SO_RCVBUFFORCE: hold the whole burst
s.bind(('198.18.0.1', port))
s.settimeout(5)
print('ready', flush=True)
got, bad = 0, -1
try:
    while got < n:
        seq = int.from_bytes(s.recv(65536)[:4], 'big')
        if seq != got and bad < 0:
            bad = got
        got += 1
except socket.timeout:
    pass
print(f'{got} in order' if bad < 0 else f'{got} out of order at {bad}', flush=True)
`;

/**
 * Starts one of the receivers above on UDP port 7777 in `ns`, expecting `n` datagrams, and waits
 * until it is bound. lastLine() resolves with its last output line once it has exited with 0.
 */
async function udpReceiver(ns: Netns, script: string, n: number): Promise<{ lastLine(): Promise<string | undefined> }> {
  const rx = ns.spawn('python3', ['-c', script, String(n), '7777']);
  let out = '';
  const exited = new Promise<number | null>((resolve) => rx.once('exit', resolve));
  await new Promise<void>((resolve) => {
    rx.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
  });
  return {
    async lastLine() {
      assert.equal(await exited, 0, 'the receiver exits cleanly');
      return out.trim().split('\n').at(-1);
    },
  };
}

/** Opens a TUN device `syn0` inside a fresh namespace with 198.18.0.1/24 (+ 2001:db8::1/64) on the kernel side. */
async function withTun(
  opts: { mtu?: number; txqueuelen?: number; offload?: boolean; writeThread?: boolean },
  body: (tun: TunLink, ns: Netns) => Promise<void>,
): Promise<void> {
  const h = new NetnsHarness();
  let tun: TunLink | undefined;
  try {
    const ns = await h.create();
    // Keep the kernel quiet on this link: no router solicitations.
    await ns.sysctl('net.ipv6.conf.default.router_solicitations', 0);
    tun = await openTun({ name: 'syn0', netns: ns.name, mtu: opts.mtu ?? 1500, offload: opts.offload ?? process.env['SYNACK_TUN_OFFLOAD'] !== 'off', ...(opts.writeThread === undefined ? {} : { writeThread: opts.writeThread }) });
    await ns.configureTun('syn0', { peer: '198.18.0.1', prefix: 24, mtu: opts.mtu ?? 1500, ...(opts.txqueuelen === undefined ? {} : { txqueuelen: opts.txqueuelen }) });
    await ns.configureTun('syn0', { peer: '2001:db8::1', prefix: 64 });
    await body(tun, ns);
  } finally {
    tun?.close();
    await h.cleanup();
  }
}

/** Resolves when `done()` turns true after a received packet; rejects after `ms` (a guard, not a sleep). */
function until(tun: TunLink, onPacket: (p: Uint8Array) => void, done: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('timed out waiting for packets')), ms);
    tun.onReceive = (p) => {
      onPacket(p);
      if (done()) {
        clearTimeout(guard);
        resolve();
      }
    };
  });
}

describe('TUN link in a network namespace', { skip: kernelSkip ?? false }, () => {
  test('the kernel pings the stack address over IPv4 and gets hand-built replies', { skip: pingSkip ?? false }, async () => {
    await withTun({}, async (tun, ns) => {
      let requests = 0;
      tun.onReceive = (p) => {
        const reply = echoReply(p);
        if (reply === null) return;
        requests++;
        tun.send(reply);
      };
      const r = await ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '198.18.0.2']);
      assert.equal(r.code, 0, `ping failed: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /3 packets transmitted, 3 received/);
      assert.equal(requests, 3);
      assert.equal(tun.stats().txErrors, 0);
    });
  });

  test('the kernel pings 2001:db8::2 over IPv6 and gets hand-built replies', { skip: pingSkip ?? false }, async () => {
    await withTun({}, async (tun, ns) => {
      let requests = 0;
      tun.onReceive = (p) => {
        const reply = echoReply(p);
        if (reply === null || (p[0] as number) >> 4 !== 6) return;
        requests++;
        tun.send(reply);
      };
      const r = await ns.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', '2001:db8::2']);
      assert.equal(r.code, 0, `ping -6 failed: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /3 packets transmitted, 3 received/);
      assert.equal(requests, 3);
    });
  });

  test('a burst of 1000 UDP datagrams arrives complete, in order, in a few batches', async () => {
    await withTun({ txqueuelen: 4096 }, async (tun, ns) => {
      tun.pause(); // let the burst queue up in the kernel, then drain it
      const sent = await ns.exec('python3', ['-c', SENDER, '1000', '200', '198.18.0.2', '9999']);
      assert.equal(sent.code, 0, sent.stderr);
      const before = tun.stats();
      const seqs: number[] = [];
      const done = until(
        tun,
        (p) => {
          if ((p[0] as number) >> 4 === 4 && p[9] === 17 && get16(p, 22) === 9999) seqs.push(get32(p, 28));
        },
        () => seqs.length === 1000,
        10_000,
      );
      tun.resume();
      await done;
      const after = tun.stats();
      assert.deepEqual(seqs, Array.from({ length: 1000 }, (_, i) => i));
      const batches = after.rxBatches - before.rxBatches;
      assert.ok(batches <= 10, `1000 packets took ${batches} read batches`);
      assert.ok(after.rxMaxBatch >= 100, `largest batch was ${after.rxMaxBatch} packets`);
      assert.equal((await ns.linkStats('syn0')).txDropped, 0);
    });
  });

  test('a kernel TCP sender to a Stack on the TUN link: GRO joins the segments of each read, every byte arrives in order', async (t) => {
    // Without offloads: with them the kernel hands over GSO packets of up to 64 KiB, already joined
    // as far as GRO would (test/interop/offload.test.ts covers that path).
    await withTun({ offload: false }, async (tun, ns) => {
      const stack = new Stack({ name: 'gro', clock: new RealtimeClock({ unref: false }) });
      stack.addInterface(tun, { addresses: ['198.18.0.2/24'] });
      const n = 8 << 20;
      let got = 0;
      let bad = -1;
      let peer = '';
      const done = new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`timed out at ${got} of ${n} bytes`)), 30_000);
        stack.tcpListen({ port: 9000 }, (conn, info) => {
          peer = info.remoteAddress;
          conn.hooks.onReadable = () => {
            for (let d = conn.recv(); d !== null; d = conn.recv()) {
              for (let i = 0; i < d.length; i++) if (bad < 0 && d[i] !== ((got + i) & 0xff)) bad = got + i;
              got += d.length;
            }
            if (conn.peerFinished) {
              conn.close();
              clearTimeout(guard);
              resolve();
            }
          };
        });
      });
      const sender = ns.exec('python3', ['-c', TCP_SENDER, String(n), '198.18.0.2', '9000'], { timeoutMs: 30_000 });
      await done;
      const r = await sender;
      stack.close();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(peer, '198.18.0.1', 'the kernel side connected from its own address');
      assert.equal(got, n);
      assert.equal(bad, -1, `first wrong byte at ${bad}`);
      const g = stack.groStats();
      assert.ok(g.groMerged > 0 && g.groSegments > g.groMerged, `GRO joined ${g.groSegments} segments into ${g.groMerged}`);
      t.diagnostic(`kernel -> synack over TUN, 8 MiB: GRO joined ${g.groSegments} segments into ${g.groMerged}; ${stack.stats().tcpIn - g.groSegments + g.groMerged} segments reached TCP input`);
    });
  });

  test('batched writes reach a kernel UDP socket without loss', async () => {
    await withTun({}, async (tun, ns) => {
      const n = 2000;
      const rx = await udpReceiver(ns, RECEIVER, n);
      for (let i = 0; i < n; i++) tun.send(udp4(i, 7777, 512));
      tun.flush();
      assert.equal(await rx.lastLine(), String(n));
      assert.equal(tun.stats().txPackets, n);
    });
  });

  for (const writeThread of [true, false]) {
    test(`writes ${writeThread ? 'through the writer thread' : 'on the calling thread'}: more than the thread's 4 MiB ring in one flush, every packet in order; close() at once still writes them all`, async () => {
      await withTun({ writeThread, offload: false }, async (tun, ns) => {
        assert.equal(tun.writeThread, writeThread);
        const n = 7000; // 7000 x 1428 bytes: 10 MB, more than the ring holds
        const rx = await udpReceiver(ns, ORDERED_RECEIVER, n);
        const packets = Array.from({ length: n }, (_, i) => udp4(i, 7777, 1400));
        for (const p of packets) tun.send(p);
        tun.close(); // flushes: the thread writes everything queued before the fd is closed
        assert.equal(await rx.lastLine(), `${n} in order`);
        assert.equal(tun.stats().txPackets, n);
        assert.equal(tun.stats().txErrors, 0);
      });
    });
  }

  test('three devices at once, one more than the checksum kernel has link slots: each answers the kernel; a closed device gives its slot back', { skip: pingSkip ?? false }, async () => {
    const h = new NetnsHarness();
    const tuns: TunLink[] = [];
    const offload = process.env['SYNACK_TUN_OFFLOAD'] !== 'off';
    // Each device answers pings to any address in its own 198.18.N.0/24 (no Stack: echoReply).
    const open = async (ns: Netns, i: number): Promise<TunLink> => {
      const tun = await openTun({ name: `syn${i}`, netns: ns.name, offload });
      tuns.push(tun);
      await ns.configureTun(`syn${i}`, { peer: `198.18.${i + 1}.1`, prefix: 24 });
      tun.onReceive = (p) => {
        const reply = echoReply(p);
        if (reply !== null) tun.send(reply);
      };
      return tun;
    };
    const ping = async (ns: Netns, i: number): Promise<void> => {
      const r = await ns.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', `198.18.${i + 1}.2`]);
      assert.equal(r.code, 0, `ping through syn${i} failed: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /2 packets transmitted, 2 received/);
    };
    try {
      const ns = await h.create();
      for (let i = 0; i < 3; i++) await open(ns, i);
      // Reads of the first two land in the checksum kernel's memory; the third has the addon's buffer.
      assert.deepEqual(
        tuns.map((t) => t.stats().rxInKernelMemory),
        simdAvailable() ? [true, true, false] : [false, false, false],
      );
      for (let i = 0; i < 3; i++) await ping(ns, i);
      tuns.shift()!.close();
      const again = await open(ns, 3);
      assert.equal(again.stats().rxInKernelMemory, simdAvailable(), 'the slot syn0 gave back');
      await ping(ns, 3);
      await ping(ns, 2);
    } finally {
      for (const t of tuns) t.close();
      await h.cleanup();
    }
  });

  test('the writer ring takes from JS only whole records inside a reservation (the addon checks before the thread sees them)', async () => {
    // The addon's own surface, as src/link/tun.ts uses it (reserve/commit): a record whose length
    // runs past what was committed would send the writer thread outside the ring.
    const require = createRequire(import.meta.url);
    const addon = require(tunAddonPath()!) as {
      open(name: string, ns: string, persist: number, tap: boolean, offload: number, writeThread: boolean): { handle: unknown; txRing?: ArrayBuffer };
      reserve(h: unknown, need: number): number;
      commit(h: unknown, bytes: number, next: number): number;
      stats(h: unknown): { txPackets: number; txErrors: number };
      close(h: unknown): void;
      trim(): boolean;
    };
    const h = new NetnsHarness();
    try {
      const ns = await h.create();
      const opened = addon.open('syn9', `/var/run/netns/${ns.name}`, -1, false, 0, true);
      await ns.ip('link', 'set', 'syn9', 'up'); // a write to a device that is down fails (EIO)
      assert.ok(opened.txRing !== undefined, 'the ring is shared with JS');
      const ring = new Uint8Array(opened.txRing);
      const r32 = new Uint32Array(opened.txRing);
      assert.equal(addon.reserve(opened.handle, 100), -1, 'a reservation is 8-aligned');
      assert.equal(addon.reserve(opened.handle, 64 << 20), -1, 'and at most half the ring');
      assert.throws(() => addon.commit(opened.handle, 64, 0), /without a reservation/);
      const at = addon.reserve(opened.handle, 4096);
      assert.ok(at >= 0 && at % 8 === 0);
      assert.equal(addon.reserve(opened.handle, 4096), -1, 'one reservation at a time');
      r32[at >>> 2] = 5000; // longer than the 4096 bytes committed
      r32[(at >>> 2) + 1] = 0;
      assert.throws(() => addon.commit(opened.handle, 4096, 0), RangeError);
      // A refused commit ends the reservation; each try below makes a fresh one with one packet.
      const pkt = udp4(1, 7777, 100);
      const put = (): number => {
        const a = addon.reserve(opened.handle, 4096);
        assert.ok(a >= 0, 'the refused commit gave its reservation back');
        r32[a >>> 2] = pkt.length;
        r32[(a >>> 2) + 1] = 0;
        ring.set(pkt, a + 8);
        return a;
      };
      put();
      assert.throws(() => addon.commit(opened.handle, 4104, 0), RangeError, 'more than was reserved');
      put();
      assert.throws(() => addon.commit(opened.handle, 8, 0), RangeError, 'a record cut short');
      put();
      assert.throws(() => addon.commit(opened.handle, 12, 0), RangeError, 'not whole 8-byte units');
      put();
      // trim() gives idle ring pages back, but not under a reservation: what JS wrote stays.
      addon.trim();
      assert.equal(addon.commit(opened.handle, (8 + pkt.length + 7) & ~7, 0), -1, 'whole records: published');
      const s = addon.stats(opened.handle); // waits for the writer
      assert.deepEqual([s.txPackets, s.txErrors], [1, 0], 'the writer wrote the one record, as JS wrote it');
      addon.close(opened.handle);
      assert.equal(addon.reserve(opened.handle, 4096), -1, 'closed: no reservation');
    } finally {
      await h.cleanup();
    }
  });

  test('throughput: read a prefilled kernel queue and write back (figures as diagnostics)', async (t) => {
    const n = Number(process.env['SYNACK_TUN_BENCH_N'] ?? 20000);
    for (const size of [64, 1400]) {
      // Raw batches (onReceiveBatch) without virtio_net_hdr in front of each packet.
      await withTun({ txqueuelen: n + 64, offload: false }, async (tun, ns) => {
        tun.pause();
        const sent = await ns.exec('python3', ['-c', SENDER, String(n), String(size), '198.18.0.2', '9999'], { timeoutMs: 120_000 });
        assert.equal(sent.code, 0, sent.stderr);
        let got = 0;
        let bytes = 0;
        const done = new Promise<void>((resolve, reject) => {
          const guard = setTimeout(() => reject(new Error(`read only ${got} of ${n}`)), 30_000);
          tun.onReceiveBatch = (batch, ends, count) => {
            // Count only our datagrams (the kernel may add the odd IPv6 control packet).
            let start = 0;
            for (let i = 0; i < count; i++) {
              const end = ends[i] as number;
              if (batch[start + 9] === 17 && end - start === 28 + size) {
                got++;
                bytes += end - start;
              }
              start = end;
            }
            if (got >= n) {
              clearTimeout(guard);
              resolve();
            }
          };
        });
        const t0 = performance.now();
        tun.resume();
        await done;
        const readMs = performance.now() - t0;

        const rx = await udpReceiver(ns, RECEIVER, n);
        const pkts = Array.from({ length: n }, (_, i) => udp4(i, 7777, size));
        const t1 = performance.now();
        for (const p of pkts) tun.send(p);
        tun.flush();
        const writeMs = performance.now() - t1;
        assert.equal(await rx.lastLine(), String(n), 'kernel socket received every written datagram');
        assert.equal(got, n);
        const fmt = (count: number, b: number, ms: number): string =>
          `${Math.round(count / (ms / 1000)).toLocaleString('en-US')} pkt/s, ${(b / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
        t.diagnostic(`${size}-byte UDP payload x ${n}: read ${fmt(n, bytes, readMs)}; write ${fmt(n, bytes, writeMs)}; batches ${tun.stats().rxBatches}`);
      });
    }
  });

  test('cleanup removes the namespaces even when the test body throws', async () => {
    const h = new NetnsHarness();
    let name = '';
    await assert.rejects(async () => {
      try {
        name = (await h.create()).name;
        assert.ok((await listNamespaces()).includes(name));
        throw new Error('boom');
      } finally {
        await h.cleanup();
      }
    }, /boom/);
    assert.ok(name.startsWith(`synack-${process.pid}-`));
    assert.ok(!(await listNamespaces()).includes(name), `${name} is still there`);
  });

  test('a process that dies with an uncaught error still removes its namespace', async () => {
    const script = `
      import { NetnsHarness } from './test/helpers/netns.ts';
      const h = new NetnsHarness();
      const ns = await h.create();
      console.log(ns.name);
      throw new Error('test body failed');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    const name = r.stdout.trim();
    assert.match(name, /^synack-\d+-0$/);
    assert.ok(!(await listNamespaces()).includes(name), `${name} was left behind`);
  });

  test('attaches to a device made with `ip tuntap`, refuses a second opener and a TAP, configures idempotently', async () => {
    const h = new NetnsHarness();
    let tun: TunLink | undefined;
    try {
      const ns = await h.create();
      await ns.ip('tuntap', 'add', 'dev', 'pre0', 'mode', 'tun');
      await ns.ip('tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
      tun = await openTun({ name: 'pre0', netns: ns.name });
      assert.equal(tun.name, 'pre0');
      assert.equal(tun.created, false);
      await assert.rejects(openTun({ name: 'pre0', netns: ns.name }), (e: unknown) => e instanceof TunError && e.reason === TunFailure.busy);
      await assert.rejects(openTun({ name: 'tap0', netns: ns.name }), (e: unknown) => e instanceof TunError && e.reason === TunFailure.wrongType);
      for (let i = 0; i < 2; i++) await ns.configureTun('pre0', { peer: '198.18.1.1', prefix: 24, mtu: 9000 });
      const shown = await ns.ip('addr', 'show', 'dev', 'pre0');
      assert.match(shown, /mtu 9000/);
      assert.equal(shown.match(/inet 198\.18\.1\.1\/24/g)?.length, 1);
      // Only a closed fd, not the persistent device, goes away.
      tun.close();
      tun = undefined;
      assert.match(await ns.ip('link', 'show', 'dev', 'pre0'), /pre0/);
      await assert.rejects(ns.configureTun('pre0', { peer: '10.0.0.1' }), /refuses 10\.0\.0\.1/);
    } finally {
      tun?.close();
      await h.cleanup();
    }
  });

  test('deleting the device under an open link reports one error and stops reading', async () => {
    await withTun({}, async (tun, ns) => {
      const errors: TunError[] = [];
      const failed = new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error('no error reported')), 5_000);
        tun.onError = (e) => {
          errors.push(e);
          clearTimeout(guard);
          resolve();
        };
      });
      await ns.ip('link', 'del', 'dev', 'syn0');
      await failed;
      assert.equal(errors.length, 1);
      assert.match(errors[0]?.message ?? '', /syn0.*reading stopped/);
      tun.send(udp4(0, 9, 8));
      tun.flush(); // writes after the device is gone are counted, not thrown
      assert.ok(tun.stats().txErrors >= 1);
    });
  });

  test('openTun explains a missing namespace', async () => {
    await assert.rejects(openTun({ name: 'syn0', netns: 'synack-does-not-exist' }), (e: unknown) => {
      assert.ok(e instanceof TunError);
      assert.equal(e.reason, TunFailure.noNamespace);
      return true;
    });
  });
});

test('openTun says the addon is not built when it is missing', () => {
  const script = `
    import { openTun } from './src/link/tun.ts';
    openTun({ name: 'syn0' }).then(() => console.log('opened'), (e) => console.log(e.reason + ': ' + e.message));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, SYNACK_TUN_ADDON: '/nonexistent/synack_tun.node' },
  });
  const expected =
    process.platform === 'linux'
      ? /^not-built: the native TUN addon is not built for linux-\w+ \(looked for \/nonexistent\/synack_tun\.node\); to build it, install a C compiler, make and python3 \(Debian\/Ubuntu: sudo apt-get install g\+\+ make python3;.*then run `npm rebuild synack`/
      : /^not-linux:/;
  assert.match(r.stdout.trim(), expected, r.stderr);
});

test('the harness accepts only 198.18.0.0/15 and 2001:db8::/32', () => {
  for (const ok of ['198.18.0.1', '198.19.255.254/24', '2001:db8::1/64', '2001:0db8:ffff::2']) assert.ok(isTestAddress(ok), ok);
  for (const bad of ['10.0.0.1', '198.20.0.1', '127.0.0.1/8', '2001:db9::1', '::1', 'fe80::1', 'localhost']) assert.ok(!isTestAddress(bad), bad);
});
