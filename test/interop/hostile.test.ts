// A real hostile peer (issue 10): while curl downloads a file from `synack serve` over the TUN
// link, test/interop/hostile_peer.py (scapy) writes crafted segments into the same TUN device: bad
// IP and TCP checksums, SYN+FIN, SYN+RST, all flags, no flags, out-of-window, old, out-of-order
// and overlapping data, ACKs of unsent data, forged RSTs (in and out of window, and 2,000 blind
// ones). Each case is checked against what RFC 9293 3.10.7 and RFC 5961 say synack must answer;
// synack must survive and the download must complete with a matching sha256.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interopSkip, MiB, sha256File, spawnIn, synack, V4, within, withTunSite } from './helpers.js';

const script = fileURLToPath(new URL('./hostile_peer.py', import.meta.url));
const SIZE = 48 * MiB;
/**
 * curl reads at this rate (the download takes about 25 s of reading); the peer pauses it during
 * every case but the blind RSTs, so the download outlasts the attack however slow the machine is.
 */
const RATE = '2M';

/** A python3 that can import scapy (Debian's python3-scapy lives under /usr/bin/python3). */
function scapyPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import scapy.layers.inet'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

const python = scapyPython();
const skip = interopSkip('curl') ?? (python === null ? 'scapy is not installed (apt-get install python3-scapy)' : null);

interface CaseResult {
  case: string;
  rfc: string;
  sent: string;
  expect: string;
  got: string[] | string;
  ok: boolean;
}

test('hostile peer: crafted segments from scapy during a download from synack serve', { skip: skip ?? false, timeout: 180_000 }, async (t) => {
  await withTunSite({ 'big.bin': SIZE }, async ({ host, dir, www, hash }) => {
    const serve = synack(host.ns, ['serve', www, '--port', '8080', '--quiet', ...host.flags]);
    await serve.waitFor('listening on port 8080');
    const out = join(dir, 'got');
    const curl = spawnIn(host.ns, 'curl', ['-sS', '--fail', '--limit-rate', RATE, '-o', out, `http://${V4.stack}:8080/big.bin`]);
    let curlDone = false;
    void curl.exited.then(() => (curlDone = true));
    const report = join(dir, 'hostile.jsonl');
    const peer = spawnIn(host.ns, python!, [
      script, '--iface', host.dev, '--kernel', V4.kernel, '--stack', V4.stack, '--port', '8080', '--pause-pid', String(curl.proc.pid),
    ], { stdout: report });
    let peerCode: number;
    try {
      peerCode = await within(peer.exited, 90_000, 'hostile_peer.py');
    } finally {
      curl.proc.kill('SIGCONT'); // in case the peer died while curl was paused
    }
    const lines = readFileSync(report, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    const learned = lines.find((l) => 'learned' in l);
    assert.ok(learned !== undefined, `the peer never saw the download on ${host.dev}: ${JSON.stringify(lines)}\n${peer.stderr()}`);
    const paused = lines.find((l) => 'paused' in l)?.['paused'] as { zero_window: boolean } | undefined;
    assert.equal(paused?.zero_window, true, 'with curl paused the kernel closed its window, so every answer from synack is a bare segment');
    assert.equal(curlDone, false, 'the download was still running when the last crafted segment was sent');
    const cases = lines.filter((l): l is Record<string, unknown> & CaseResult => 'case' in l);
    assert.ok(cases.length >= 25, `only ${cases.length} cases ran: ${peer.stderr()}`);
    for (const l of lines) if (!('case' in l)) console.log(`# hostile peer: ${JSON.stringify(l)}`);
    for (const c of cases) console.log(`# ${c.ok ? 'ok  ' : 'FAIL'} ${c.case}: sent ${c.sent} -> ${JSON.stringify(c.got)}`);
    for (const c of cases) {
      await t.test(`${c.case} -> ${c.expect} (${c.rfc})`, () => {
        assert.ok(c.ok, `sent ${c.sent}; expected ${c.expect} (${c.rfc}); synack answered ${JSON.stringify(c.got)}`);
      });
    }
    assert.equal(peerCode, 0, `hostile_peer.py exited ${peerCode}: ${peer.stderr()}`);

    // synack survived, and the download completes unchanged.
    const curlCode = await within(curl.exited, 60_000, 'curl');
    assert.equal(curlCode, 0, `curl failed: ${curl.stderr()}\nserve: ${serve.stderr()}`);
    assert.equal(await sha256File(out), hash['big.bin'], 'the download has the sha256 of the file synack served');
    assert.equal(serve.proc.exitCode, null, 'synack serve is still running');
    serve.proc.kill('SIGTERM');
    assert.equal(await within(serve.exited, 10_000, 'serve exit on SIGTERM'), 0, serve.stderr());
  });
});
