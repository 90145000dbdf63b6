// `synack serve` against clients nobody here wrote (curl, Python sockets) in a throwaway namespace:
// aborted downloads release their file descriptors, symlinks leading out of DIR are refused, slow
// headers are cut off by Node's headersTimeout, Range/HEAD/If-Modified-Since as curl uses them,
// `serve /`, --syn-cookies, and exit status 1 when the TUN device is deleted under serve and nc -l.
// Every exchange goes to synack's address, which only the TUN device reaches.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../helpers/netns.js';
import { MiB, PathWitness, V4, hasTool, interopSkip, randomFile, sha256File, spawnIn, synack, tunHost, withTunSite, within, type TunHost } from './helpers.js';

const skip = interopSkip('curl', 'python3');
const base = `http://${V4.stack}:8080`;

/** Runs curl in the namespace; resolves with its stdout (the -w report or the body) and exit code. */
async function curl(host: TunHost, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await host.ns.exec('curl', ['-sS', '--max-time', '20', ...args], { timeoutMs: 30_000 });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function withServe(
  extra: string[],
  fn: (ctx: { host: TunHost; dir: string; www: string; serve: ReturnType<typeof synack> }) => Promise<void>,
  opts: { prefix?: string[]; root?: string } = {},
): Promise<void> {
  await withTunSite({}, async ({ host, dir, www }) => {
    const serve = synack(host.ns, ['serve', opts.root ?? www, '--port', '8080', ...host.flags, ...extra], opts.prefix ? { prefix: opts.prefix } : {});
    await serve.waitFor('listening on port 8080');
    await fn({ host, dir, www, serve });
  });
}

/** Open descriptors of a process (the namespace does not hide /proc). */
function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

// Python: N clients, C at a time, each asks for the big file, reads a little and closes with unread
// data queued (the kernel then sends RST): the aborted downloads of issue 14.
const ABORTER = `
import socket, sys, threading
host, port, n, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lock = threading.Lock(); left = [n]; ok = [0]
def worker():
    while True:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b'GET /big.bin HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
            if len(s.recv(4096)) > 0:
                with lock: ok[0] += 1
            s.close()
        except OSError as e:
            print('client error:', e, file=sys.stderr)
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts: t.start()
for t in ts: t.join()
print(ok[0])
`;

// Python: C connections that send half a request header and then wait; prints, for each, how many
// seconds passed before the server closed it (and what it said).
const SLOW = `
import socket, sys, time, selectors
host, port, c, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sel = selectors.DefaultSelector(); t0 = time.time(); socks = []
for i in range(c):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: ')
    s.setblocking(False); sel.register(s, selectors.EVENT_READ); socks.append(s)
opened = time.time() - t0
closed = []; first = {}
while len(closed) < c and time.time() - t0 < limit:
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        try: data = s.recv(4096)
        except OSError: data = b''
        if data: first.setdefault(s, data[:40]); continue
        sel.unregister(s); closed.append(time.time() - t0); s.close()
print(len(closed), round(opened, 2), round(max(closed) if closed else -1, 2), sorted(set(v.decode('latin1').split('\\r\\n')[0] for v in first.values())))
`;

describe('synack serve hardened against clients that abort, wander and stall', { skip: skip ?? false }, () => {
  test('20,000 aborted downloads release their descriptors; a normal request still succeeds', async () => {
    // A low descriptor limit turns any leak into EMFILE long before 20,000 (it used to leak one per abort).
    const prlimit = hasTool('prlimit') ? ['prlimit', '--nofile=1024:1024', '--'] : [];
    await withServe(['--quiet'], async ({ host, www, serve }) => {
      const hash = randomFile(join(www, 'big.bin'), 4 * MiB);
      const pid = serve.proc.pid as number;
      const before = fdCount(pid);
      const witness = await PathWitness.start(host);
      const n = Number(process.env['SYNACK_ABORTS']) || 20_000;
      const t0 = performance.now();
      const py = await within(host.ns.exec('python3', ['-c', ABORTER, V4.stack, '8080', String(n), '64'], { timeoutMs: 600_000 }), 600_000, 'aborting clients');
      const secs = (performance.now() - t0) / 1000;
      assert.equal(py.code, 0, py.stderr);
      assert.equal(Number(py.stdout.trim()), n, `every client got the start of the body: ${py.stderr.slice(0, 2000)}`);
      const d = await witness.assertCrossed({ fromSynack: n * 1000 }, 'aborted downloads');
      // Every file stream is destroyed once its response closes; give the last RSTs a moment.
      let after = fdCount(pid);
      for (let i = 0; i < 50 && after > before + 4; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = fdCount(pid);
      }
      assert.ok(after <= before + 4, `descriptors before ${before}, after ${n} aborts ${after}`);
      const out = join(www, '..', 'got');
      const ok = await curl(host, ['--fail', '-o', out, `${base}/big.bin`]);
      assert.equal(ok.code, 0, `${ok.err}\n${serve.stderr()}`);
      assert.equal(await sha256File(out), hash);
      console.log(`# ${n} aborted downloads in ${secs.toFixed(1)} s (${(n / secs).toFixed(0)}/s), ${(d.fromSynack / MiB).toFixed(0)} MiB on the link; fds ${before} -> ${after}`);
    }, { prefix: prlimit });
  });

  test('a symlink leading outside DIR gets 403 (file and directory); inside links work; --follow-symlinks allows it', async () => {
    const setup = (www: string): void => {
      writeFileSync(join(www, 'inside.txt'), 'inside\n');
      symlinkSync('/etc/passwd', join(www, 'passwd'));
      symlinkSync('/', join(www, 'root'));
      symlinkSync('inside.txt', join(www, 'alias.txt'));
    };
    await withServe([], async ({ host, www }) => {
      setup(www);
      for (const path of ['/passwd', '/root/etc/passwd', '/root/', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd']) {
        const r = await curl(host, ['--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `${base}${path}`]);
        assert.equal(r.code, 0, r.err);
        assert.ok(r.out === '403' || r.out === '404', `${path} -> ${r.out}`);
      }
      const alias = await curl(host, ['--fail', `${base}/alias.txt`]);
      assert.equal(alias.out, 'inside\n');
    });
    await withServe(['--follow-symlinks'], async ({ host, www }) => {
      setup(www);
      const r = await curl(host, ['--fail', `${base}/passwd`]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, readFileSync('/etc/passwd', 'utf8'));
    });
  });

  test('200 slow-header connections are closed by the server within its headers timeout (408)', async () => {
    await withServe(['--headers-timeout', '2', '--quiet'], async ({ host }) => {
      const r = await host.ns.exec('python3', ['-c', SLOW, V4.stack, '8080', '200', '20'], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      const [closed, opened, last, ...firstLines] = r.stdout.trim().split(' ');
      assert.equal(Number(closed), 200, `all 200 closed by the server: ${r.stdout}`);
      // Node checks the deadline every headersTimeout/4: at most 2 s + 0.5 s after the last opened.
      assert.ok(Number(last) <= Number(opened) + 2 + 1.5, `closed by ${last} s (all open by ${opened} s): ${r.stdout}`);
      assert.match(firstLines.join(' '), /408 Request Timeout/);
    });
  });

  test('Range (206, 416, curl -C - resume), HEAD and If-Modified-Since (304) as curl uses them', async () => {
    await withServe([], async ({ host, www, dir }) => {
      const file = join(www, 'f.bin');
      const hash = randomFile(file, 1 * MiB);
      const all = readFileSync(file);
      utimesSync(file, new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
      const part = await curl(host, ['-r', '100-199', '-o', join(dir, 'part'), '-w', '%{http_code}', `${base}/f.bin`]);
      assert.equal(part.out, '206');
      assert.deepEqual(readFileSync(join(dir, 'part')), all.subarray(100, 200));
      const suffix = await curl(host, ['-r', '-10', '-o', join(dir, 'tail'), '-w', '%{http_code}', `${base}/f.bin`]);
      assert.equal(suffix.out, '206');
      assert.deepEqual(readFileSync(join(dir, 'tail')), all.subarray(all.length - 10));
      // A file past serve's in-memory limit (1 MiB) is streamed from disk: ranges there too.
      randomFile(join(www, 'g.bin'), 3 * MiB);
      const bigAll = readFileSync(join(www, 'g.bin'));
      const mid = await curl(host, ['-r', '1048570-2097200', '-o', join(dir, 'mid'), '-w', '%{http_code}', `${base}/g.bin`]);
      assert.equal(mid.out, '206');
      assert.deepEqual(readFileSync(join(dir, 'mid')), bigAll.subarray(1048570, 2097201));
      const beyond = await curl(host, ['-r', `${all.length}-`, '-o', '/dev/null', '-w', '%{http_code}', `${base}/f.bin`]);
      assert.equal(beyond.out, '416');
      // Resume: a partial file with the first 300,000 bytes, then curl -C - fetches the rest.
      const partial = join(dir, 'resume');
      writeFileSync(partial, all.subarray(0, 300_000));
      const resumed = await curl(host, ['--fail', '-C', '-', '-o', partial, '-w', '%{http_code}', `${base}/f.bin`]);
      assert.equal(resumed.code, 0, resumed.err);
      assert.equal(resumed.out, '206');
      assert.equal(await sha256File(partial), hash);
      const head = await curl(host, ['-I', `${base}/f.bin`]);
      assert.match(head.out, /^HTTP\/1\.1 200 OK/);
      assert.match(head.out, /content-length: 1048576/i);
      assert.match(head.out, /accept-ranges: bytes/i);
      assert.match(head.out, /last-modified: Thu, 02 Jan 2020 03:04:05 GMT/i);
      const fresh = await curl(host, ['-z', 'Fri, 03 Jan 2020 00:00:00 GMT', '-o', '/dev/null', '-w', '%{http_code}', `${base}/f.bin`]);
      assert.equal(fresh.out, '304');
      const stale = await curl(host, ['-z', 'Wed, 01 Jan 2020 00:00:00 GMT', '-o', '/dev/null', '-w', '%{http_code}', `${base}/f.bin`]);
      assert.equal(stale.out, '200');
    });
  });

  test('serve / answers files by absolute path (was 403 for everything)', async () => {
    await withServe([], async ({ host, www }) => {
      writeFileSync(join(www, 'hello.txt'), 'hello from /\n');
      const r = await curl(host, ['--fail', `${base}${join(www, 'hello.txt')}`]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, 'hello from /\n');
    }, { root: '/' });
  });

  test('--syn-cookies always: every connection is made from a cookie and works; a bad mode is a usage error', async () => {
    await withServe(['--syn-cookies', 'always', '--ss'], async ({ host, www, serve }) => {
      writeFileSync(join(www, 'a.txt'), 'a\n');
      for (let i = 0; i < 3; i++) {
        const r = await curl(host, ['--fail', `${base}/a.txt`]);
        assert.equal(r.out, 'a\n', r.err);
      }
      await serve.waitFor(/LISTEN .*syncookies sent=3 valid=3 failed=0/, 5000);
    });
    const h = new NetnsHarness();
    try {
      const host = await tunHost(h);
      const bad = synack(host.ns, ['serve', '/tmp', '--syn-cookies', 'sometimes', ...host.flags]);
      assert.equal(await within(bad.exited, 20_000, 'serve with a bad mode'), 2);
      assert.match(bad.stderr(), /--syn-cookies wants auto, always, never; got 'sometimes'/);
    } finally {
      await h.cleanup();
    }
  });

  test('the SYN-cookie race: a client that retransmits its SYN after a cookie SYN-ACK is not reset (backlog 1, 1.5 s delay)', async () => {
    // Timed with synack's --delay (every packet into the stack held 1.5 s, longer than the kernel's
    // 1 s SYN retransmission): A's SYN fills the queue of one; B's SYN, 1 s later, gets a cookie;
    // A's handshake completes at 3 s; B's retransmitted SYN arrives at 3.5 s and finds room (an
    // ordinary SYN-RECEIVED entry with another ISS); B's ACK of the cookie arrives at 4 s. Before
    // the fix that ACK met the entry and got a RST (curl: "Connection reset by peer").
    await withServe(['--backlog', '1', '--delay', '1500', '--ss'], async ({ host, www, serve }) => {
      writeFileSync(join(www, 'a.txt'), 'a\n');
      const snmp0 = await host.ns.tcpSnmp();
      const a = curl(host, [`${base}/a.txt`]);
      await new Promise((r) => setTimeout(r, 1000));
      const b = curl(host, [`${base}/a.txt`]);
      const [ra, rb] = await Promise.all([a, b]);
      assert.deepEqual([ra.code, ra.out], [0, 'a\n'], ra.err);
      assert.deepEqual([rb.code, rb.out], [0, 'a\n'], rb.err);
      const snmp1 = await host.ns.tcpSnmp();
      assert.equal((snmp1['EstabResets'] ?? 0) - (snmp0['EstabResets'] ?? 0), 0, 'the kernel saw no connection reset');
      process.kill(serve.proc.pid as number, 'SIGUSR2');
      await serve.waitFor(/LISTEN .*syncookies sent=1 valid=1 failed=0/, 5000);
    });
  });

  test('the TUN device deleted under serve and nc -l: both exit 1 with a message', async () => {
    for (const args of [['serve', '/tmp', '--port', '8080'], ['nc', '-l', '8080']]) {
      const h = new NetnsHarness();
      try {
        const host = await tunHost(h);
        const p = synack(host.ns, [...args, '-v', ...host.flags].filter((a) => !(a === '-v' && args[0] === 'serve')));
        await p.waitFor(/listening/);
        await host.ns.ip('link', 'del', host.dev);
        const code = await within(p.exited, 10_000, `${args[0]} after the device was deleted`);
        assert.equal(code, 1, p.stderr());
        assert.match(p.stderr(), /TUN device "syn0" failed/);
      } finally {
        await h.cleanup();
      }
    }
  });
});

describe('synack serve under load from ApacheBench', { skip: interopSkip('ab', 'prlimit') ?? false }, () => {
  test('1,000 concurrent 64 KiB downloads: all complete, no drop at the TUN queue; memory is given back after', async () => {
    await withServe(['--quiet'], async ({ host, www, serve }) => {
      randomFile(join(www, 'f.bin'), 65536);
      const pid = serve.proc.pid as number;
      const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
      // The baseline is taken after a small warm-up load: the packet arena and the send rings live
      // in WebAssembly memory, which grows once to its working size and never shrinks (about 20 MiB,
      // docs/performance.md), so a cold baseline would count that one-time growth as memory kept.
      const warm = await host.ns.exec('ab', ['-r', '-s', '30', '-n', '50', '-c', '50', `${base}/f.bin`], { timeoutMs: 60_000 });
      assert.equal(warm.code, 0, warm.stderr);
      await new Promise((r) => setTimeout(r, 500));
      const before = rss();
      const witness = await PathWitness.start(host);
      const n = 1000;
      const ab = await host.ns.exec('prlimit', ['--nofile=8192:8192', '--', 'ab', '-r', '-s', '60', '-n', String(n), '-c', String(n), `${base}/f.bin`], { timeoutMs: 180_000 });
      assert.equal(ab.code, 0, ab.stderr);
      assert.match(ab.stdout, new RegExp(`Complete requests:\\s+${n}\\n`));
      assert.match(ab.stdout, /Failed requests:\s+0\n/, ab.stdout);
      assert.match(ab.stdout, /Document Length:\s+65536 bytes/);
      const d = await witness.assertCrossed({ fromSynack: n * 65536 }, 'ab <- synack serve');
      assert.equal(d.kernelDropped, 0, 'the kernel dropped no packet at the TUN queue');
      const peak = rss();
      // Once the link is quiet, serve collects its garbage and trims the heap (src/cli/memory.ts):
      // at its first quiet look (within 10 s of the last packet), then 5, 10 and 20 s later while
      // it stays large. On a loaded machine the first collection can come while connections are
      // still closing and free too little (this test failed there with a 20 s window), so wait for
      // the later ones too: up to 45 s, polling, done as soon as RSS is back. The bound itself
      // (1.5x the RSS before the load) is the and is not relaxed.
      let after = peak;
      for (let i = 0; i < 90 && after > before * 1.5; i++) {
        await new Promise((r) => setTimeout(r, 500));
        after = rss();
      }
      const secs = /Time taken for tests:\s+([\d.]+)/.exec(ab.stdout)?.[1];
      console.log(`# ab ${n} x 64 KiB at once: ${secs} s; RSS ${(before / 1048576).toFixed(0)} -> ${(peak / 1048576).toFixed(0)} -> ${(after / 1048576).toFixed(0)} MiB`);
      assert.ok(after <= before * 1.5, `RSS ${(after / 1048576).toFixed(0)} MiB after the load, ${(before / 1048576).toFixed(0)} MiB before`);
    });
  });
});
