// `synack nc` against the kernel's TCP through a TUN device inside a throwaway namespace: 64 MiB each
// way at once with half-close (socat on the kernel side), the same through netem and through
// stack-side loss, IPv6 with the kernel opening, and the exit statuses for refusal and reset. socat
// (the peer) reports synack's address, and the kernel's counters on the TUN device show both
// directions' bytes crossing it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NetnsHarness } from '../helpers/netns.js';
import {
  BIG, LOSSY, MiB, PathWitness, V4, V6, interopSkip, orSkipWithoutNetem, randomFile, scratch, sha256File, spawnIn, synack, tunHost, waitListening, within,
} from './helpers.js';

const skip = interopSkip('socat', 'ss', 'tc', 'python3');

/** Kernel side: socat accepts one connection, sends `send` and stores what it receives in `recv`. */
function socatExchange(listen: string, send: string, recv: string): string[] {
  // The shell closes its own stdout so the socket sees EOF as soon as `cat send` is done (half-close),
  // while `cat > recv` keeps reading until synack's FIN. -t: wait for the other direction that long.
  // -d -d: socat names the peer of each connection on stderr.
  return ['-d', '-d', '-b', '65536', '-t', '120', listen, `SYSTEM:(cat ${send}; exec 1>&-) & exec 1>&-; cat > ${recv}; wait`];
}

async function exchange(opts: { size: number; netem?: string; extra?: string[]; limitMs: number }): Promise<void> {
  const h = new NetnsHarness();
  const tmp = scratch();
  try {
    const host = await tunHost(h, opts.netem !== undefined ? { netem: opts.netem } : {});
    const up = join(tmp.dir, 'up'); // synack -> kernel
    const down = join(tmp.dir, 'down'); // kernel -> synack
    const upHash = randomFile(up, opts.size);
    const downHash = randomFile(down, opts.size);
    const kernelGot = join(tmp.dir, 'kernel-got');
    const synackGot = join(tmp.dir, 'synack-got');
    const socat = spawnIn(host.ns, 'socat', socatExchange('TCP-LISTEN:7000,reuseaddr', down, kernelGot));
    await waitListening(host.ns, 7000);
    const witness = await PathWitness.start(host);
    const t0 = performance.now();
    const nc = synack(host.ns, ['nc', '-v', V4.kernel, '7000', ...host.flags, ...(opts.extra ?? [])], { stdin: up, stdout: synackGot });
    const [ncCode, socatCode] = await within(Promise.all([nc.exited, socat.exited]), opts.limitMs, 'nc <-> socat exchange');
    const secs = (performance.now() - t0) / 1000;
    assert.equal(ncCode, 0, `synack nc failed: ${nc.stderr()}`);
    assert.equal(socatCode, 0, `socat failed: ${socat.stderr()}`);
    assert.match(nc.stderr(), /closed \(TIME-WAIT|closed \(CLOSED/);
    assert.equal(await sha256File(kernelGot), upHash, 'bytes synack sent arrived intact at the kernel');
    assert.equal(await sha256File(synackGot), downHash, 'bytes the kernel sent arrived intact at synack');
    assert.match(socat.stderr(), new RegExp(`accepting connection from AF=2 ${V4.stack.replace(/\./g, '\\.')}:\\d+`), "socat's peer is synack's address");
    await witness.assertCrossed({ toSynack: opts.size, fromSynack: opts.size }, 'nc <-> socat');
    const mib = opts.size / MiB;
    console.log(`# nc <-> socat ${mib} MiB each way${opts.netem ? ` (netem ${opts.netem})` : ''}${opts.extra ? ` (${opts.extra.join(' ')})` : ''}: ${secs.toFixed(2)} s, ${((2 * mib) / secs).toFixed(1)} MiB/s both ways together`);
  } finally {
    await h.cleanup();
    tmp.remove();
  }
}

describe('synack nc <-> socat over TUN', { skip: skip ?? false }, () => {
  test(`exchanges ${BIG / MiB} MiB each way at once with half-close; both hashes match`, async () => {
    await exchange({ size: BIG, limitMs: 120_000 });
  });

  test(`the same through netem on the kernel side (loss 5% delay 10ms reorder 25%), ${LOSSY / MiB} MiB each way`, async (t) => {
    await orSkipWithoutNetem(t, () => exchange({ size: LOSSY, netem: 'loss 5% delay 10ms reorder 25%', limitMs: 300_000 }));
  });

  test(`the same with 3% loss injected on the stack side (--drop), ${LOSSY / MiB} MiB each way`, async () => {
    await exchange({ size: LOSSY, extra: ['--drop', '0.03', '--seed', '7'], limitMs: 300_000 });
  });

  test(`the same with netem's impairments on the stack side (--drop 0.05 --delay 10 --reorder 0.25), ${LOSSY / MiB} MiB each way`, async () => {
    await exchange({ size: LOSSY, extra: ['--drop', '0.05', '--delay', '10', '--reorder', '0.25', '--seed', '3'], limitMs: 300_000 });
  });

  test('IPv6: the kernel connects to synack nc -l; data flows both ways', async () => {
    const h = new NetnsHarness();
    const tmp = scratch();
    try {
      const host = await tunHost(h);
      const size = 16 * MiB;
      const up = join(tmp.dir, 'up');
      const down = join(tmp.dir, 'down');
      const upHash = randomFile(up, size);
      const downHash = randomFile(down, size);
      const kernelGot = join(tmp.dir, 'kernel-got');
      const synackGot = join(tmp.dir, 'synack-got');
      const nc = synack(host.ns, ['nc', '-v', '-l', V6.stack, '9000', ...host.flags], { stdin: up, stdout: synackGot });
      await nc.waitFor('listening');
      const witness = await PathWitness.start(host);
      const socat = spawnIn(host.ns, 'socat', socatExchange(`TCP6:[${V6.stack}]:9000`, down, kernelGot));
      const [ncCode, socatCode] = await within(Promise.all([nc.exited, socat.exited]), 120_000, 'IPv6 exchange');
      assert.equal(ncCode, 0, nc.stderr());
      assert.equal(socatCode, 0, socat.stderr());
      assert.match(nc.stderr(), new RegExp(`connection from ${V6.kernel.replace(/:/g, ':')}`));
      assert.equal(await sha256File(kernelGot), upHash);
      assert.equal(await sha256File(synackGot), downHash);
      assert.match(socat.stderr(), /successfully connected from local address AF=10 \[2001:0db8:0000:0000:0000:0000:0000:0001\]/);
      await witness.assertCrossed({ toSynack: size, fromSynack: size }, 'IPv6 nc -l <-> socat');
    } finally {
      await h.cleanup();
      tmp.remove();
    }
  });

  test('a closed kernel port: nc exits 3 (refused) at once', async () => {
    const h = new NetnsHarness();
    try {
      const host = await tunHost(h);
      const t0 = performance.now();
      const nc = synack(host.ns, ['nc', V4.kernel, '7999', ...host.flags]);
      const code = await within(nc.exited, 20_000, 'nc to a closed port');
      assert.equal(code, 3, nc.stderr());
      assert.match(nc.stderr(), /ECONNREFUSED/);
      assert.ok(performance.now() - t0 < 10_000, 'refusal is immediate, not a timeout');
    } finally {
      await h.cleanup();
    }
  });

  test('the kernel resets an established connection: nc exits 4', async () => {
    const h = new NetnsHarness();
    try {
      const host = await tunHost(h);
      // Accept, read a little, then close with SO_LINGER 0: the kernel sends RST.
      const py = [
        'import socket, struct',
        's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
        "s.bind(('0.0.0.0', 7002)); s.listen(1)",
        'c, _ = s.accept(); c.recv(10)',
        "c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()",
      ].join('\n');
      const server = spawnIn(host.ns, 'python3', ['-c', py]);
      await waitListening(host.ns, 7002);
      // stdin that never ends (a FIFO-like endless source): /dev/zero keeps the connection busy.
      const nc = synack(host.ns, ['nc', V4.kernel, '7002', ...host.flags], { stdin: '/dev/zero' });
      const code = await within(nc.exited, 20_000, 'nc reset by the kernel');
      assert.equal(code, 4, nc.stderr());
      assert.match(nc.stderr(), /ECONNRESET/);
      assert.equal(await server.exited, 0, server.stderr());
    } finally {
      await h.cleanup();
    }
  });
});

