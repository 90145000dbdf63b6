// What `synack demo` prints for a person at a terminal: every line of every scenario fits 80
// columns (or --width), the gutter names its unit, TIME-WAIT's wait is a visible break, the
// numbers are explained before they appear, a big --bytes is summed up rather than drawn segment
// by segment, and --pcap files carry a real start time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { scenarioNames } from '../../src/demo/scenarios.js';
import { readPcap } from '../../src/wire/pcap.js';

async function demo(argv: string[]): Promise<{ out: string; files: Map<string, Uint8Array | string> }> {
  let out = '';
  const files = new Map<string, Uint8Array | string>();
  const io: CliIo = { out: (s) => void (out += s), err: () => undefined, isTTY: false, env: {}, readFile: () => new Uint8Array(), writeFile: (p, d) => void files.set(p, d) };
  assert.equal(await main(['demo', ...argv], io), 0);
  return { out, files };
}

const widest = (text: string): number => Math.max(...text.split('\n').map((l) => [...l].length));

for (const name of scenarioNames()) {
  test(`demo --scenario ${name}: every line fits 80 columns, and --width 120 is honoured`, async () => {
    const r = await demo(['--scenario', name]);
    assert.ok(widest(r.out) <= 80, `${name}: widest line ${widest(r.out)}`);
    const wide = await demo(['--scenario', name, '--width', '120']);
    assert.ok(widest(wide.out) <= 120);
  });
}

test('the gutter shows its unit, and TIME-WAIT is a visible break with its reason', async () => {
  const { out } = await demo(['--scenario', 'basic', '--ascii']);
  assert.match(out, /^ *0\.0 ms +\[SYN-SENT\]/m);
  assert.match(out, /^60\.0\d\d s +\[CLOSED\]/m, 'times past 10 s are in seconds');
  assert.match(out, /: +59\.9\d\d s pass: client in TIME-WAIT \(2\*MSL\) +:/);
  // The server closed passively: it never waits in TIME-WAIT.
  assert.doesNotMatch(out, /server in TIME-WAIT/);
});

test('basic: the third ACK of the handshake is its own segment before the request', async () => {
  const { out } = await demo(['--scenario', 'basic', '--ascii']);
  const labels = out
    .split('\n')
    .map((l) => l.replace(/[|]/g, '').trim())
    .filter((l) => /^[A-Z-]+ seq=/.test(l));
  assert.match(labels[2] ?? '', /^ACK seq=1 ack=1 len=0 /);
  assert.match(labels[3] ?? '', /^PSH-ACK seq=1 ack=1 len=\d+ /);
});

test('relative numbers and window scaling are explained before the ladder', async () => {
  const { out } = await demo(['--scenario', 'basic']);
  const note = out.indexOf('Reading it: seq and ack are relative');
  assert.ok(note > 0 && note < out.indexOf('seq=0'));
  assert.match(out, /window scale its SYN\s+announced \(client \d+, server \d+; RFC 7323 2\.2\)/);
  const abs = await demo(['--scenario', 'basic', '--absolute']);
  assert.match(abs.out, /seq and ack are the numbers on the wire/);
});

test('a response too big to draw is summed up in a break row, not a line pair per segment', async () => {
  const { out } = await demo(['--bytes', '2000000', '--ascii']);
  const lines = out.split('\n').length;
  assert.ok(lines < 200, `${lines} lines`);
  // The break row's text, without the dotted lifelines either side of it.
  const summary = out
    .split('\n')
    .map((l) => l.replace(/^\s*:\s*|\s*:\s*$/g, ''))
    .join(' ');
  assert.match(summary, /\d+ segments not drawn, [\d.]+ s to [\d.]+ s: \d+ from client \(0 bytes of data\), \d+ from server \(\d+ bytes of data\)/);
  assert.match(out, /received 2000000 bytes/);
});

test('--pcap files start at the wall-clock time of the run, not 1970', async () => {
  const before = Date.now();
  const { files } = await demo(['--pcap', 'x.pcap']);
  const pcap = readPcap(files.get('x.pcap') as Uint8Array);
  assert.ok(pcap.ok);
  const first = pcap.value.packets[0]!;
  assert.ok(first.timeMs >= before - 1000 && first.timeMs <= Date.now() + 1000, `first packet at ${new Date(first.timeMs).toISOString()}`);
});
