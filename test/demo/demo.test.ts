// synack demo: every scenario at a fixed seed against a golden ladder, the JSON lines agreeing with
// the ladder's story, and the --pcap file read back by tshark with the same flags, seq and ack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { main } from '../../src/cli/main.js';
import { runDemo, scenarioNames } from '../../src/demo/scenarios.js';
import type { CliIo } from '../../src/cli/io.js';

const GOLDEN = join(import.meta.dirname, 'golden');

function run(argv: string[]): Promise<{ code: number; out: string; err: string; files: Map<string, Uint8Array | string> }> {
  let out = '';
  let err = '';
  const files = new Map<string, Uint8Array | string>();
  const io: CliIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    isTTY: false,
    env: {},
    readFile: (p) => readFileSync(p),
    writeFile: (p, d) => void files.set(p, d),
  };
  return main(argv, io).then((code) => ({ code, out, err, files }));
}

for (const name of scenarioNames()) {
  test(`demo --scenario ${name} matches its golden ladder`, async () => {
    const r = await run(['demo', '--scenario', name, '--ascii', '--seed', '1']);
    assert.equal(r.code, 0, r.err);
    const file = join(GOLDEN, `${name}.txt`);
    if (process.env['SYNACK_UPDATE_GOLDEN'] === '1') writeFileSync(file, r.out);
    assert.ok(existsSync(file), `no golden file ${file}: run with SYNACK_UPDATE_GOLDEN=1 once and review it`);
    assert.equal(r.out, readFileSync(file, 'utf8'));
  });
}

test('basic: the textbook sequence SYN / SYN-ACK / ACK / data / FIN / ACK / FIN / ACK, with both sides\' states', () => {
  const r = runDemo({ scenario: 'basic', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 1000 });
  const segs = r.events.filter((e) => e.type === 'segment');
  assert.deepEqual(
    segs.map((s) => (s.type === 'segment' ? `${s.from}:${s.flags}` : '')),
    ['client:SYN', 'server:SYN,ACK', 'client:ACK', 'client:PSH,ACK', 'server:PSH,ACK', 'client:FIN,ACK', 'server:ACK', 'server:FIN,ACK', 'client:ACK'],
  );
  // The handshake's third ACK goes out on its own, before the request, as Linux sends it.
  // ack = seq + len: the server's response acknowledges exactly the request bytes.
  const [syn, synAck, , req, resp] = segs as Extract<(typeof segs)[number], { type: 'segment' }>[];
  assert.equal(synAck!.ack, (syn!.seq + 1) >>> 0);
  assert.equal(resp!.ack, (req!.seq + req!.len) >>> 0);
  assert.deepEqual(r.client.states, ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']);
  assert.deepEqual(r.server.states, ['CLOSED', 'LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  // The active closer leaves TIME-WAIT 2*MSL (60 s) after entering it.
  const tw = r.events.filter((e) => e.type === 'state' && e.host === 'client' && (e.to === 'TIME-WAIT' || e.from === 'TIME-WAIT'));
  assert.equal(tw[1]!.t - tw[0]!.t, 60_000);
});

test('syn-flood: spoofed SYNs fill the backlog, the client connects through a SYN cookie and is served', () => {
  const r = runDemo({ scenario: 'syn-flood', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 1000 });
  const segs = r.events.flatMap((e) => (e.type === 'segment' ? [e] : []));
  const cookie = segs.find((s) => s.note?.startsWith('SYN cookie'));
  assert.ok(cookie !== undefined && cookie.from === 'server' && cookie.flags === 'SYN,ACK', 'the cookie SYN-ACK is marked on the ladder');
  assert.equal(segs.filter((s) => s.note?.startsWith('spoofed from')).length, 2);
  const back = segs.find((s) => s.from === 'client' && s.ack === (cookie.seq + 1) >>> 0);
  assert.ok(back !== undefined && back.flags === 'ACK' && back.len === 0, 'the handshake\'s third ACK returns the cookie');
  assert.equal(r.client.bytesReceived, 1000);
  assert.ok(!r.client.error && !r.server.error);
  assert.deepEqual(r.server.states, ['CLOSED', 'LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  assert.deepEqual(r.notes, ['backlog 2 filled by 2 spoofed SYNs; SYN cookies sent 1, valid 1, failed 0; SYNs dropped 0']);
});

test('scenarios show the ideas they are named for', () => {
  const states = (name: string, host: 'client' | 'server') =>
    runDemo({ scenario: name, seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 1000 })[host].states;
  assert.ok(states('simultaneous-close', 'client').includes('CLOSING'));
  assert.ok(states('simultaneous-close', 'server').includes('CLOSING'));
  assert.deepEqual(states('simultaneous-open', 'client').slice(0, 4), ['CLOSED', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED']);
  assert.ok(states('server-close', 'server').includes('TIME-WAIT'));
  assert.ok(!states('server-close', 'client').includes('TIME-WAIT'));
  const refused = runDemo({ scenario: 'refused', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 0 });
  assert.match(refused.client.error ?? '', /ECONNREFUSED/);
  const lost = runDemo({ scenario: 'lost-final-ack', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 100 });
  const fins = lost.events.filter((e) => e.type === 'segment' && e.from === 'server' && e.flags.includes('FIN'));
  assert.equal(fins.length, 2, 'the server retransmits its FIN once');
  const loss = runDemo({ scenario: 'loss', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 0 });
  assert.equal(loss.server.retransmissions, 2);
  const hijack = runDemo({ scenario: 'hijack', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 500 });
  assert.equal(hijack.client.bytesReceived, 500, 'the connection carries on after the spoofed segments');
  assert.ok(!hijack.server.error && !hijack.client.error);
  const zw = runDemo({ scenario: 'zero-window', seed: 1, rtt: 20, loss: 0, mss: 1460, bytes: 0 });
  assert.ok(zw.events.some((e) => e.type === 'segment' && e.from === 'server' && e.win === 0), 'a zero window is advertised');
  assert.equal(zw.server.bytesReceived, 8 * 1460, 'nothing is lost');
});

test('random loss: every scenario still finishes with both sides CLOSED (seeded)', () => {
  for (const seed of [1, 2, 3]) {
    const r = runDemo({ scenario: 'basic', seed, rtt: 20, loss: 0.2, mss: 1460, bytes: 20000 });
    assert.equal(r.client.states.at(-1), 'CLOSED', `seed ${seed}`);
    assert.equal(r.server.states.at(-1), 'CLOSED', `seed ${seed}`);
    assert.equal(r.client.bytesReceived, 20000, `seed ${seed}`);
  }
});

test('--json lines carry the documented fields; --pcap dissected by tshark agrees packet by packet', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-demo-'));
  try {
    const pcapPath = join(dir, 'demo.pcap');
    const r = await run(['demo', '--json', '--pcap', pcapPath, '--scenario', 'loss']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const segs = lines.filter((l) => l['type'] === 'segment');
    for (const s of segs) for (const k of ['t', 'from', 'to', 'flags', 'seq', 'ack', 'len', 'win', 'lost']) assert.ok(k in s, k);
    assert.ok(lines.some((l) => l['type'] === 'state' && l['from'] === 'SYN-SENT' && l['to'] === 'ESTABLISHED'));
    const pcap = r.files.get(pcapPath);
    assert.ok(pcap instanceof Uint8Array);
    writeFileSync(pcapPath, pcap);
    const which = spawnSync('tshark', ['--version']);
    if (which.error) {
      t.skip('tshark not installed (apt-get install tshark): pcap not dissected');
      return;
    }
    const ts = spawnSync('tshark', ['-r', pcapPath, '-o', 'tcp.check_checksum:TRUE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-T', 'fields', '-e', 'tcp.flags', '-e', 'tcp.seq_raw', '-e', 'tcp.ack_raw', '-e', 'tcp.len', '-e', '_ws.malformed', '-e', 'tcp.checksum.status'], { encoding: 'utf8' });
    assert.equal(ts.status, 0, ts.stderr);
    const rows = ts.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, segs.length);
    const bit: Record<string, number> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 };
    rows.forEach((row, i) => {
      const s = segs[i]!;
      const flags = String(s['flags']).split(',').reduce((n, f) => n + (bit[f] ?? 0), 0);
      assert.equal(Number(row[0]), flags, `packet ${i + 1} flags`);
      assert.equal(Number(row[1]), s['seq'], `packet ${i + 1} seq`);
      if (flags & 16) assert.equal(Number(row[2]), s['ack'], `packet ${i + 1} ack`);
      assert.equal(Number(row[3]), s['len'], `packet ${i + 1} len`);
      assert.equal(row[4] ?? '', '', `packet ${i + 1} malformed`);
      assert.equal(row[5], '1', `packet ${i + 1} checksum not verified good`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad demo arguments exit 2 with a message, not a stack trace', async () => {
  const r = await run(['demo', '--scenario', 'nope']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown scenario/);
  const r2 = await run(['demo', '--loss', '7']);
  assert.equal(r2.code, 2);
});
