// The synack CLI run in-process: dispatch, help, version, usage errors (exit 2, no stack trace),
// `trace` on pcap files built with the wire builders, and the `demo` placeholder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { nodeIo, type CliIo } from '../../src/cli/io.js';
import { parseArgs } from '../../src/cli/args.js';
import { Capture, clientClosesFirst } from '../trace/capture.js';

interface Run {
  code: number;
  out: string;
  err: string;
  written: Map<string, string>;
}

async function run(argv: string[], opts: { files?: Record<string, Uint8Array>; tty?: boolean; env?: Record<string, string> } = {}): Promise<Run> {
  let out = '';
  let err = '';
  const written = new Map<string, string>();
  const io: CliIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    isTTY: opts.tty === true,
    env: opts.env ?? {},
    readFile: (p) => {
      const f = opts.files?.[p];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return f;
    },
    writeFile: (p, d) => void written.set(p, typeof d === 'string' ? d : new TextDecoder().decode(d)),
  };
  const code = await main(argv, io);
  return { code, out, err, written };
}

const noStack = (r: Run): void => assert.doesNotMatch(r.err + r.out, /\n\s+at /, 'no stack trace is printed');
const PCAP = { 'conn.pcap': clientClosesFirst().bytes() };

test('no arguments: usage on stderr, exit 2', async () => {
  const r = await run([]);
  assert.equal(r.code, 2);
  assert.match(r.err, /Usage: synack <command>/);
  assert.equal(r.out, '');
});

test('help, --help, help trace, help demo', async () => {
  for (const argv of [['help'], ['--help'], ['-h']]) {
    const r = await run(argv);
    assert.equal(r.code, 0);
    assert.match(r.out, /Commands:\n  demo .*\n  trace FILE\.pcap/);
  }
  const t = await run(['help', 'trace']);
  assert.equal(t.code, 0);
  assert.match(t.out, /Usage: synack trace FILE\.pcap/);
  assert.match(t.out, /--absolute/);
  const tt = await run(['trace', '--help']);
  assert.equal(tt.out, t.out);
  const d = await run(['help', 'demo']);
  assert.match(d.out, /--scenario NAME/);
  const bad = await run(['help', 'frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /no help for unknown command 'frobnicate'/);
});

test('version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const argv of [['version'], ['--version'], ['-V']]) {
    const r = await run(argv);
    assert.equal(r.code, 0);
    assert.equal(r.out, `synack ${pkg.version}\n`);
  }
  assert.equal((await run(['version', 'x'])).code, 2);
});

test('usage mistakes exit 2 with a message and a hint, never a stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--verbose'], /unknown option --verbose \(options go after the command\)/],
    [['trace'], /trace needs FILE\.pcap/],
    [['trace', 'a.pcap', 'b.pcap'], /unexpected argument 'b\.pcap' \(trace takes FILE\.pcap\)/],
    [['trce'], /unknown command 'trce' \(did you mean trace\?\)/],
    [['demo', '--scenaro', 'loss'], /unknown option --scenaro \(did you mean --scenario\?\)/],
    [['demo', '--scenario', 'los'], /unknown scenario "los" \(did you mean loss\?\)/],
    [['demo', 'extra'], /demo takes no arguments, got 'extra'/],
    [['help', 'trace', 'demo'], /help takes one command/],
    [['trace', 'conn.pcap', '--bogus'], /unknown option --bogus/],
    [['trace', 'conn.pcap', '-q'], /unknown option -q/],
    [['trace', 'conn.pcap', '--svg'], /option --svg needs a value \(FILE\)/],
    [['trace', 'conn.pcap', '--svg', '--ascii'], /option --svg needs a value/],
    [['trace', 'conn.pcap', '--conn', 'two'], /option --conn expects a number, got 'two'/],
    [['trace', 'conn.pcap', '--conn', '0'], /option --conn must be at least 1/],
    [['trace', 'conn.pcap', '--conn', '1.5'], /option --conn expects an integer/],
    [['trace', 'conn.pcap', '--ascii=yes'], /option --ascii takes no value/],
    [['demo', '--loss', '2'], /option --loss must be at most 1/],
    [['demo', '--scenario'], /option --scenario needs a value \(NAME\)/],
  ];
  for (const [argv, msg] of cases) {
    const r = await run(argv, { files: PCAP });
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, msg);
    assert.match(r.err, /^synack: [^\n]+; run 'synack help( \w+)?' for usage\n$/, 'one line');
    noStack(r);
  }
});

test('trace: unreadable or non-pcap files exit 1 with a clear message', async () => {
  const missing = await run(['trace', 'nope.pcap']);
  assert.equal(missing.code, 1);
  assert.equal(missing.err, 'synack: cannot read nope.pcap: no such file\n');
  const junk = await run(['trace', 'junk.pcap'], { files: { 'junk.pcap': new TextEncoder().encode('this is not a capture file at all') } });
  assert.equal(junk.code, 1);
  assert.match(junk.err, /^synack: cannot read junk\.pcap: not a pcap file \(magic 0x[0-9a-f]+\) \(synack reads classic pcap: tcpdump -w, or tshark -F pcap\)\n$/);
  const ng = await run(['trace', 'ng.pcap'], { files: { 'ng.pcap': new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d, ...new Array(16).fill(0)]) } });
  assert.equal(ng.code, 1);
  assert.equal(ng.err.match(/pcapng/g)?.length, 1, `pcapng named once: ${ng.err}`);
  noStack(junk);
});

test('trace draws the ladder, then each side\'s states and the counts', async () => {
  const r = await run(['trace', 'conn.pcap'], { files: PCAP });
  assert.equal(r.code, 0);
  assert.equal(r.err, '');
  assert.match(r.out, /^Connection 1: 198\.18\.0\.1:40000 \(client\) to 198\.18\.0\.2:8080 \(server\), started at\n  2025-01-02T03:04:05\.000Z\n/);
  assert.match(r.out, /SYN seq=0 len=0 win=64240/);
  // The summary wraps to 80 columns; read it with the line breaks taken out.
  const flat = r.out.replace(/\n {4}/g, ' ');
  assert.match(flat, /client 198\.18\.0\.1:40000  CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT \(still in TIME-WAIT when the capture ends\)/);
  assert.match(flat, /server 198\.18\.0\.2:8080   LISTEN → SYN-RECEIVED → ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED\n/);
  assert.match(flat, /11 segments, 18 bytes client to server, 120 bytes server to client, 0 retransmissions/);
  assert.doesNotMatch(r.out, /\x1b\[/, 'no colour when stdout is not a terminal');
});

test('trace fits 80 columns by default; --width COLS fits COLS', async () => {
  const widest = (out: string): number => Math.max(...out.split('\n').map((l) => [...l].length));
  for (const abs of [[], ['--absolute']]) {
    const r = await run(['trace', 'conn.pcap', ...abs], { files: PCAP });
    assert.ok(widest(r.out) <= 80, `widest line ${widest(r.out)} columns`);
    const narrow = await run(['trace', 'conn.pcap', '--width', '60', ...abs], { files: PCAP });
    assert.ok(widest(narrow.out) <= 60, `--width 60: widest line ${widest(narrow.out)} columns`);
    assert.match(narrow.out, /SYN-SENT/);
  }
  const wide = await run(['trace', 'conn.pcap', '--width', '160'], { files: PCAP });
  assert.match(wide.out, /^Connection 1: .* started at 2025-01-02T03:04:05\.000Z\n/, '--width 160 keeps the title on one line');
});

test('trace colours a terminal unless NO_COLOR is set; --color and --no-color override', async () => {
  assert.match((await run(['trace', 'conn.pcap'], { files: PCAP, tty: true })).out, /\x1b\[1;32m\[ESTABLISHED\]/);
  assert.doesNotMatch((await run(['trace', 'conn.pcap'], { files: PCAP, tty: true, env: { NO_COLOR: '1' } })).out, /\x1b\[/);
  assert.doesNotMatch((await run(['trace', 'conn.pcap', '--no-color'], { files: PCAP, tty: true })).out, /\x1b\[/);
  assert.match((await run(['trace', 'conn.pcap', '--color'], { files: PCAP })).out, /\x1b\[/);
});

test('trace --ascii --absolute prints wire numbers in plain ASCII', async () => {
  const r = await run(['trace', 'conn.pcap', '--ascii', '--absolute'], { files: PCAP });
  assert.equal(r.code, 0);
  assert.match(r.out, /SYN seq=3000000000 len=0/);
  assert.match(r.out, /CLOSED -> SYN-SENT -> ESTABLISHED/);
  assert.ok(/^[\x20-\x7e\n]*$/.test(r.out), 'only printable ASCII');
});

test('trace --mermaid prints sequenceDiagram source', async () => {
  const r = await run(['trace', 'conn.pcap', '--mermaid'], { files: PCAP, tty: true });
  assert.equal(r.code, 0);
  assert.match(r.out, /^%% Connection 1: .*\nsequenceDiagram\n    participant L as 198\.18\.0\.1:40000\n/);
  assert.match(r.out, /L->>R: SYN seq=0 len=0 win=64240/);
  assert.doesNotMatch(r.out, /\x1b\[/);
});

test('trace --svg writes one file per connection; --conn picks one', async () => {
  const cap = new Capture();
  clientClosesFirst(cap);
  clientClosesFirst(cap, { ip: '198.18.0.1', port: 40001 }, { ip: '198.18.0.2', port: 8080 }, 5, 6);
  const files = { 'two.pcap': cap.bytes() };
  const both = await run(['trace', 'two.pcap', '--svg', 'out.svg'], { files });
  assert.equal(both.code, 0);
  assert.deepEqual([...both.written.keys()], ['out-1.svg', 'out-2.svg']);
  assert.match(both.written.get('out-2.svg') ?? '', /^<\?xml[^]*198\.18\.0\.1:40001[^]*<\/svg>\n$/);
  assert.match(both.err, /wrote out-1\.svg\nsynack: wrote out-2\.svg/);
  assert.match(both.out, /Connection 2: 198\.18\.0\.1:40001/);
  const one = await run(['trace', 'two.pcap', '--conn', '2', '--svg', 'x.svg'], { files });
  assert.deepEqual([...one.written.keys()], ['x.svg']);
  assert.doesNotMatch(one.out, /Connection 1:/);
  const tooFar = await run(['trace', 'two.pcap', '--conn', '3'], { files });
  assert.equal(tooFar.code, 2);
  assert.match(tooFar.err, /--conn 3: two\.pcap has 2 TCP connections/);
});

test('trace of a capture with no TCP says so', async () => {
  const r = await run(['trace', 'udp.pcap'], { files: { 'udp.pcap': new Capture().udp(0, { ip: '198.18.0.1', port: 53 }, { ip: '198.18.0.2', port: 53 }).bytes() } });
  assert.equal(r.code, 0);
  assert.equal(r.out, 'No TCP connections in udp.pcap (1 other packet).\n');
});

test('trace reads and writes real files through the node io', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-cli-'));
  try {
    writeFileSync(join(dir, 'c.pcap'), clientClosesFirst().bytes());
    let out = '';
    const io: CliIo = { ...nodeIo(), out: (s) => void (out += s), err: () => {}, isTTY: false };
    const code = await main(['trace', join(dir, 'c.pcap'), '--svg', join(dir, 'c.svg')], io);
    assert.equal(code, 0);
    assert.match(out, /TIME-WAIT/);
    assert.match(readFileSync(join(dir, 'c.svg'), 'utf8'), /<svg xmlns/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('demo runs the basic scenario by default and lists the scenarios in --help', async () => {
  const r = await run(['demo']);
  assert.equal(r.code, 0);
  assert.match(r.out, /SYN-SENT/);
  assert.match(r.out, /TIME-WAIT/);
  const h = await run(['demo', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /simultaneous-close/);
});

test('an unexpected failure is reported in one line as a bug, exit 70', async () => {
  const io: CliIo = {
    out: () => {
      throw new Error('disk on fire');
    },
    err: (s) => void (errText += s),
    isTTY: false,
    env: {},
    readFile: () => clientClosesFirst().bytes(),
    writeFile: () => {},
  };
  let errText = '';
  const code = await main(['trace', 'x.pcap'], io);
  assert.equal(code, 70);
  assert.equal(errText, 'synack: internal error: disk on fire (a bug; SYNACK_DEBUG=1 shows where)\n');
});

test('argv parser: --name=value, --no-flag, short aliases and "--"', () => {
  const spec = {
    out: { type: 'string', value: 'FILE', help: '' },
    n: { type: 'number', help: '' },
    v: { type: 'boolean', short: 'v', help: '' },
  } as const;
  const a = parseArgs(['--out=x.svg', 'file', '--n', '-3', '-v', '--', '--not-a-flag'], spec, 'x');
  assert.deepEqual(a, { flags: { out: 'x.svg', n: -3, v: true }, positionals: ['file', '--not-a-flag'] });
  assert.deepEqual(parseArgs(['--no-v'], spec, 'x').flags, { v: false });
  assert.throws(() => parseArgs(['--no-out'], spec, 'x'), /unknown option --no-out/);
});
