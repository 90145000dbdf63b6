// TUN and TAP offloads against the real kernel: synack in this process on a TUN device (or, as an
// Ethernet host, on a TAP device) with IFF_VNET_HDR, TSO and checksum offload, a Python peer in a
// throwaway namespace. Bytes cross both ways in mixed
// write sizes (sha256 compared on both ends), over IPv4 and IPv6, with super-packets counted on
// synack's side and the bytes on the kernel's device counters; seeded loss inside synack's link
// (tc netem is absent here) drops whole super-packets, so parts of them are resent (by synack after
// the kernel's SACKs, and by the kernel after synack's SACKs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { openTun, type TunLink } from '../../src/link/tun.js';
import type { Link } from '../../src/link/link.js';
import { Stack } from '../../src/stack/stack.js';
import { addEthernetInterface } from '../../src/ethernet/attach.js';
import { RealtimeClock } from '../../src/util/realtime-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { lossyLink, type LossStats } from '../../src/cli/tun-common.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import { NetnsHarness, type Netns } from '../helpers/netns.js';
import { MiB, V4, V6, interopSkip, within } from './helpers.js';

const skip = interopSkip('python3');
const PORT = 5001;

/**
 * The kernel's end: `send HOST PORT N SEED` connects and writes N bytes of a seeded stream in writes
 * of random sizes (1 B .. 256 KiB); `recv PORT` accepts one connection and reads to EOF. Both print
 * the peer address, the byte count and the sha256 of the bytes.
 */
const PEER = `
import hashlib, random, socket, sys
mode = sys.argv[1]
if mode == 'send':
    host, port, n, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    s = socket.create_connection((host, port))
    peer = s.getpeername()[0]
    rnd, h, left = random.Random(seed), hashlib.sha256(), n
    while left > 0:
        k = min(left, rnd.choice([1, 7, 100, 1448, 1449, 4096, 9000, 65536, 100000, 262144]))
        b = rnd.randbytes(k)
        s.sendall(b)
        h.update(b)
        left -= k
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    print(peer, n, h.hexdigest(), flush=True)
else:
    fam = socket.AF_INET6 if sys.argv[3] == '6' else socket.AF_INET
    l = socket.socket(fam, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', int(sys.argv[2])))
    l.listen(1)
    print('ready', flush=True)
    c, addr = l.accept()
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(addr[0], n, h.hexdigest(), flush=True)
`;

interface World {
  ns: Netns;
  tun: TunLink;
  stack: Stack;
  clock: RealtimeClock;
  loss: (() => LossStats) | null;
}

/** The device both kinds of world use: a TUN device, or with `tap` a TAP device under an EthernetInterface. */
const deviceName = (tap: boolean | undefined): string => (tap === true ? 'syntap0' : 'syn0');

async function withWorld(opts: { drop?: number; offload?: boolean; tap?: boolean }, body: (w: World) => Promise<void>): Promise<void> {
  const h = new NetnsHarness();
  let tun: TunLink | undefined;
  const clock = new RealtimeClock();
  const stack = new Stack({ name: 'offload', clock });
  try {
    const ns = await h.create();
    await ns.sysctl('net.ipv6.conf.default.router_solicitations', 0);
    const dev = deviceName(opts.tap);
    tun = await openTun({ name: dev, netns: ns.name, mtu: 1500, offload: opts.offload ?? true, tap: opts.tap === true });
    await ns.configureTun(dev, { peer: V4.kernel, prefix: V4.prefix, mtu: 1500, txqueuelen: 10_000 });
    await ns.configureTun(dev, { peer: V6.kernel, prefix: V6.prefix });
    let link: Link = tun;
    let loss: World['loss'] = null;
    if (opts.drop !== undefined) {
      const lossy = lossyLink(tun, opts.drop, seededRandom(7));
      link = lossy;
      loss = () => lossy.lossStats();
    }
    const addresses = [`${V4.stack}/${V4.prefix}`, `${V6.stack}/${V6.prefix}`];
    // On a TAP device synack is an Ethernet host: the kernel finds it by ARP and neighbour discovery.
    if (opts.tap === true) addEthernetInterface(stack, link, { addresses, dad: false });
    else stack.addInterface(link, { addresses });
    await body({ ns, tun, stack, clock, loss });
  } finally {
    stack.close();
    tun?.close();
    clock.dispose();
    await h.cleanup();
  }
}

function lines(ns: Netns, args: string[]): { next: () => Promise<string>; exited: Promise<number | null> } {
  const p = ns.spawn('python3', ['-c', PEER, ...args]);
  let buf = '';
  let err = '';
  const waiting: ((l: string) => void)[] = [];
  const queue: string[] = [];
  p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  p.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w !== undefined) w(l);
      else queue.push(l);
    }
  });
  const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
  return {
    next: () =>
      new Promise<string>((resolve, reject) => {
        const l = queue.shift();
        if (l !== undefined) return resolve(l);
        waiting.push(resolve);
        void exited.then((code) => reject(new Error(`peer exited ${code}: ${err}`)));
      }),
    exited,
  };
}

/** Kernel -> synack: the peer writes `bytes` in mixed sizes; synack reads, hashes, closes. */
async function kernelToSynack(w: World, family: 4 | 6, bytes: number): Promise<TcpConnection> {
  const hash = createHash('sha256');
  let got = 0;
  const done = new Promise<TcpConnection>((resolve) => {
    w.stack.tcpListen({ port: PORT }, (conn) => {
      const sink = new Uint8Array(256 * 1024);
      const read = (): void => {
        for (let n = conn.recvInto(sink); n > 0; n = conn.recvInto(sink)) {
          hash.update(sink.subarray(0, n));
          got += n;
        }
        if (conn.peerFinished) {
          conn.close();
          resolve(conn);
        }
      };
      conn.hooks.onReadable = read;
      read();
    });
  });
  const peer = lines(w.ns, ['send', family === 4 ? V4.stack : V6.stack, String(PORT), String(bytes), '11']);
  const conn = await within(done, 120_000, 'kernel -> synack');
  const [addr, n, digest] = (await within(peer.next(), 30_000, 'peer report')).split(' ');
  assert.equal(await peer.exited, 0);
  assert.equal(addr, family === 4 ? V4.stack : V6.stack, 'the kernel connected to synack');
  assert.equal(got, bytes);
  assert.equal(Number(n), bytes);
  assert.equal(hash.digest('hex'), digest, 'sha256 of what the kernel sent equals what synack read');
  return conn;
}

/** Synack -> kernel: synack writes `bytes` in mixed sizes (a seeded stream); the peer reads and hashes. */
async function synackToKernel(w: World, family: 4 | 6, bytes: number): Promise<TcpConnection> {
  const peer = lines(w.ns, ['recv', String(PORT), String(family)]);
  assert.equal(await within(peer.next(), 30_000, 'peer ready'), 'ready');
  const hash = createHash('sha256');
  let x = 0x2545f491;
  const chunk = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  };
  const sizes = [1, 3, 536, 1448, 1449, 8192, 65536, 200_000];
  const conn = w.stack.tcpConnect({ address: family === 4 ? V4.kernel : V6.kernel, port: PORT });
  const closed = new Promise<void>((resolve, reject) => {
    let left = bytes;
    let pending: Uint8Array | null = null;
    let k = 0;
    const pump = (): void => {
      while (left > 0 || pending !== null) {
        if (pending === null) {
          const n = Math.min(left, sizes[k++ % sizes.length]!);
          pending = chunk(n);
          hash.update(pending);
          left -= n;
        }
        const sent = conn.send(pending);
        if (sent < pending.length) {
          pending = pending.subarray(sent);
          return;
        }
        pending = null;
      }
      conn.close();
    };
    conn.hooks.onConnected = pump;
    conn.hooks.onWritable = pump;
    conn.hooks.onError = (code, msg) => reject(new Error(`${code}: ${msg}`));
    conn.hooks.onState = (_f, to) => {
      if (to === 'TIME-WAIT' || to === 'CLOSED') resolve();
    };
  });
  await within(closed, 120_000, 'synack -> kernel');
  const [addr, n, digest] = (await within(peer.next(), 30_000, 'peer report')).split(' ');
  assert.equal(await peer.exited, 0);
  assert.equal(addr?.replace(/^::ffff:/, ''), family === 4 ? V4.stack : V6.stack, "the kernel saw synack's address");
  assert.equal(Number(n), bytes);
  assert.equal(digest, hash.digest('hex'), 'sha256 of what synack sent equals what the kernel read');
  return conn;
}

describe('TUN and TAP offloads with the kernel (virtio_net_hdr, TSO, GSO, partial checksums)', { skip: skip ?? false }, () => {
  for (const [tap, family] of [[false, 4], [false, 6], [true, 4], [true, 6]] as const) {
    const kind = tap ? 'TAP (Ethernet frames behind the header)' : 'TUN';
    test(`${kind} IPv${family}: 24 MiB each way in mixed write sizes; super-packets both ways; the device counts the bytes`, async () => {
      await withWorld({ tap }, async (w) => {
        const dev = deviceName(tap);
        assert.deepEqual([...w.tun.offloads], ['csum', 'tso4', 'tso6'], 'the kernel took TUN_F_CSUM, TSO4 and TSO6');
        assert.equal(w.tun.offload?.tsoMax, 65535);
        const bytes = 24 * MiB;
        const before = await w.ns.linkStats(dev);
        await kernelToSynack(w, family, bytes);
        const mid = w.tun.stats();
        assert.ok(mid.rxGso > 0, `the kernel handed synack GSO super-packets (${mid.rxGso})`);
        assert.ok(mid.rxCsumPartial > 0, 'with partial checksums synack took on the kernel\'s word');
        const out = await synackToKernel(w, family, bytes);
        const s = w.tun.stats();
        assert.ok(s.txGso > 0, `synack sent TSO super-packets (${s.txGso})`);
        assert.equal(s.txErrors, 0, `the kernel accepted every write (last errno ${s.lastTxErrno})`);
        // Each super-packet carries up to 44 MSS: far fewer writes than MSS-sized segments.
        assert.ok(s.txPackets < bytes / 1448 / 4, `${s.txPackets} writes for ${bytes} bytes`);
        // Nothing is lost: no timeout, and nothing resent beyond a tail loss probe (RFC 8985 7) or two.
        const os = out.stats();
        assert.equal(os.timeouts, 0);
        assert.ok(os.retransSegs <= os.tlpProbes, `${os.retransSegs} retransmissions, ${os.tlpProbes} probes`);
        const after = await w.ns.linkStats(dev);
        assert.ok(after.txBytes - before.txBytes >= bytes, 'the kernel wrote every byte into the device');
        assert.ok(after.rxBytes - before.rxBytes >= bytes, 'the kernel read every byte from the device');
      });
    });
  }

  test('3% seeded loss inside synack\'s link drops whole super-packets: parts are resent after SACKs, both directions', async () => {
    await withWorld({ drop: 0.03 }, async (w) => {
      const bytes = 8 * MiB;
      const kernelRetrans0 = (await w.ns.tcpSnmp())['RetransSegs'] ?? 0;
      await kernelToSynack(w, 4, bytes);
      const kernelRetrans = ((await w.ns.tcpSnmp())['RetransSegs'] ?? 0) - kernelRetrans0;
      assert.ok(kernelRetrans > 0, 'the kernel resent what synack\'s link dropped');
      const out = await synackToKernel(w, 4, bytes);
      const st = out.stats();
      const loss = w.loss!();
      assert.ok(loss.sendDropped > 0 && loss.receiveDropped > 0, `dropped ${loss.sendDropped} sent, ${loss.receiveDropped} received`);
      assert.ok(w.tun.stats().txGso > 0, 'synack sent super-packets');
      assert.ok(st.retransSegs > 0, 'synack resent parts of its super-packets');
      assert.ok(st.sackedBytes > 0, `the kernel SACKed data after a dropped super-packet (${st.sackedBytes} bytes)`);
    });
  });

  for (const tap of [false, true]) {
    test(`${tap ? 'TAP' : 'TUN'}, offload: false gives plain packets: no virtio_net_hdr, nothing larger than the MTU, same bytes`, async () => {
      await withWorld({ offload: false, tap }, async (w) => {
        assert.deepEqual([...w.tun.offloads], []);
        assert.equal(w.tun.offload, null);
        await kernelToSynack(w, 4, 4 * MiB);
        await synackToKernel(w, 6, 4 * MiB);
        const s = w.tun.stats();
        assert.equal(s.vnetHdr, 0);
        assert.equal(s.rxGso + s.txGso, 0);
        const frame = 1500 + (tap ? 14 : 0);
        assert.ok(s.rxBytes / s.rxPackets <= frame && s.txBytes / s.txPackets <= frame);
      });
    });
  }
});
