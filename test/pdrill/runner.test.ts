// The runner's own behaviour: header and command-line options, skipped shell/python lines, syntax
// and unsupported-call errors with their line, blocking calls that return early or never, segment
// aggregation, TS ecr remapping, ports, the verbose log, exact inbound option bytes, and the
// `synack pdrill` command (text, --json, exit status, usage errors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScript, formatFailure, inboundPacket } from '../../src/pdrill/runner.js';
import { parseOptionArgs } from '../../src/pdrill/config.js';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { parseIpPacket } from '../../src/wire/packet.js';
import { parseTcp, TcpFlag } from '../../src/wire/tcp.js';

const PASSIVE = `0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>
+0  > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 257
+0  accept(3, ..., ...) = 4
`;

test('a passing script reports its events and packets; failures carry path:line', () => {
  const r = runScript(PASSIVE, { path: 'p.pkt' });
  assert.ok(r.ok, formatFailure(r));
  assert.equal(r.events, 7);
  assert.equal(r.packetsIn, 2);
  assert.equal(r.packetsOut, 1);
  assert.equal(r.endUsecs, 100_000);
  const bad = runScript(PASSIVE.replace('accept(3, ..., ...) = 4', 'accept(3, ..., ...) = 3'), { path: 'p.pkt' });
  assert.equal(formatFailure(bad), 'p.pkt:7: runtime error in accept call: expected result 3 but got 4\nscript call: +0  accept(3, ..., ...) = 3\n');
});

test('syntax errors and unknown options fail at their line without running anything', () => {
  const r = runScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < Q 0:0(0) win 1\n', { path: 'x.pkt' });
  assert.equal(r.ok, false);
  assert.equal(r.failure?.line, 2);
  assert.match(r.failure!.message, /^syntax error: /);
  const o = runScript('--frobnicate=1\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
  assert.equal(o.failure?.line, 1);
  assert.match(o.failure!.message, /unknown option --frobnicate/);
});

test('command-line options override the header (tolerance)', () => {
  // The delayed ACK comes 40 ms after the data; with a 50 ms tolerance "+0" accepts it.
  const s = `${PASSIVE}+.1 < P. 1:101(100) ack 1 win 257\n+0 > . 1:1(0) ack 101\n`;
  assert.equal(runScript(s).ok, false);
  const r = runScript(s, { cliOptions: parseOptionArgs(['--tolerance_usecs=50000']).options });
  assert.ok(r.ok, formatFailure(r));
  assert.ok(runScript(`--tolerance_usecs=50000\n${s}`).ok);
});

test('shell and python lines are reported as skipped, never run, and keep relative timing', () => {
  const s = `\`echo hi\`\n${PASSIVE}+0 %{ print("x") }%\n+.1 \`sysctl -q net.ipv4.tcp_sack=0\`\n+.1 close(4) = 0\n+0 > F. 1:1(0) ack 1\n`;
  const r = runScript(s);
  assert.ok(r.ok, formatFailure(r));
  assert.deepEqual(r.skipped.map((k) => [k.line, k.what]), [[1, 'shell'], [9, 'python'], [10, 'shell']]);
  assert.equal(r.endUsecs, 300_000);
});

test('unsupported system calls and bad descriptors', () => {
  const u = runScript(`${PASSIVE}+0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0}, 0) = 10\n`);
  assert.equal(u.failure?.line, 8);
  assert.match(u.failure!.message, /unsupported system call sendmsg/);
  const b = runScript('0 read(7, ..., 10) = -1 EBADF (Bad file descriptor)\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n+0 close(3) = 0\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
  assert.ok(b.ok, formatFailure(b));
});

test('blocking calls: returning before the `...end` time or staying blocked past it are timing errors', () => {
  const early = runScript(`${PASSIVE}+0...0.200 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n`);
  assert.equal(early.failure?.line, 8);
  assert.match(early.failure!.message, /timing error: expected system call return at 0\.300000 sec but happened at 0\.100000 sec/);
  const stuck = runScript(`${PASSIVE}+0...0.200 read(4, ..., 100) = 100\n`);
  assert.equal(stuck.failure?.line, 8);
  assert.match(stuck.failure!.message, /expected system call return at 0\.300000 sec but it was still blocked at 0\.304000 sec/);
  const unexpectedBlock = runScript(`${PASSIVE}+0 read(4, ..., 100) = 100\n`);
  assert.match(unexpectedBlock.failure!.message, /expected non-blocking system call but it was still blocked/);
});

test('several live segments match one script segment, and a script segment can be split across lines', () => {
  const one = runScript(`${PASSIVE}+0 write(4, ..., 3000) = 3000\n+0 > P. 1:3001(3000) ack 1\n`);
  assert.ok(one.ok, formatFailure(one));
  const split = runScript(`${PASSIVE}+0 write(4, ..., 3000) = 3000\n+0 > . 1:1001(1000) ack 1\n+0 > . 1001:2001(1000) ack 1\n+0 > P. 2001:3001(1000) ack 1\n`);
  assert.ok(split.ok, formatFailure(split));
  const short = runScript(`${PASSIVE}+0 write(4, ..., 3000) = 3000\n+0 > P. 1:4001(4000) ack 1\n`);
  assert.equal(short.failure?.line, 9);
  // The RTO resends the first segment instead of the 1000 bytes the script still waits for.
  assert.match(short.failure!.message, /bad outbound TCP seq: expected 3001 \(continuing 3000 of 4000 bytes\) actual 1/);
});

test('inbound TS ecr must name a TS val the stack sent; otherwise the line fails', () => {
  const s = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000,sackOK,TS val 100 ecr 0>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 200 ecr 5000>
`;
  const r = runScript(s);
  assert.equal(r.failure?.line, 6);
  assert.match(r.failure!.message, /unable to infer live TS ecr for script TS ecr 5000/);
});

test('explicit ports are checked on outbound packets and used on inbound ones', () => {
  const ok = runScript(PASSIVE.replace('< S 0:0(0)', '< 40001>8080 S 0:0(0)').replace('> S. 0:0(0)', '> 8080>40001 S. 0:0(0)').replace('< . 1:1(0)', '< 40001>8080 . 1:1(0)'));
  assert.ok(ok.ok, formatFailure(ok));
  const bad = runScript(PASSIVE.replace('< S 0:0(0)', '< 40001>8080 S 0:0(0)').replace('> S. 0:0(0)', '> 8080>40002 S. 0:0(0)'));
  assert.equal(bad.failure?.line, 5);
  assert.match(bad.failure!.message, /bad outbound TCP ports: expected 8080>40002 actual 8080>40001/);
});

test('--verbose logs every packet and call with its virtual time', () => {
  const lines: string[] = [];
  const r = runScript(PASSIVE, { verbose: true, log: (l) => lines.push(l) });
  assert.ok(r.ok);
  assert.ok(lines.includes('0.000000 < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>'), lines.join('\n'));
  assert.ok(lines.some((l) => /^0\.000000 > S\. 0:0\(0\) ack 1 win 65535 <mss 1460,nop,wscale 3>$/.test(l)), lines.join('\n'));
  assert.ok(lines.includes('0.100000 accept(3, ..., ...) = 4'));
  assert.ok(lines.includes('0.100000 accept returned 4'));
});

test('inbound packets carry the options byte for byte as written, with a valid checksum', () => {
  const src = new Uint8Array([192, 0, 2, 1]);
  const dst = new Uint8Array([192, 168, 0, 1]);
  const opts = new Uint8Array([1, 1, 1, 2, 4, 5, 0xb4, 0]); // nop,nop,nop,mss 1460,eol
  const pkt = inboundPacket(src, dst, { srcPort: 1, dstPort: 2, seq: 5, ack: 0, flags: TcpFlag.SYN, window: 100, urgent: 0, options: {}, payload: new Uint8Array(3) }, opts);
  const ip = parseIpPacket(pkt);
  assert.ok(ip.ok);
  assert.deepEqual([...ip.value.payload.subarray(20, 28)], [...opts]);
  const tcp = parseTcp(ip.value.payload, { src, dst });
  assert.ok(tcp.ok, 'checksum verifies');
  assert.equal(tcp.value.options.mss, 1460);
  assert.equal(tcp.value.payload.length, 3);
});

// --- the CLI -------------------------------------------------------------------------------------

async function cli(argv: string[], files: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    isTTY: false,
    env: {},
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${p}'`), { code: 'ENOENT' });
      return new TextEncoder().encode(f);
    },
    writeFile: () => {},
  };
  const code = await main(argv, io);
  return { code, out, err };
}

test('synack pdrill: exit 0 when all pass, 1 with packetdrill-style output when one fails', async () => {
  const good = await cli(['pdrill', 'a.pkt'], { 'a.pkt': PASSIVE });
  assert.equal(good.code, 0);
  assert.equal(good.out, 'ok   a.pkt (7 events, 2 in / 1 out)\n');
  const bad = PASSIVE.replace('+.1 < .', '+.1 < .').concat('+0 close(4) = 0\n+0 > R. 1:1(0) ack 1\n');
  const r = await cli(['pdrill', 'a.pkt', 'b.pkt'], { 'a.pkt': PASSIVE, 'b.pkt': bad });
  assert.equal(r.code, 1);
  assert.match(r.out, /^ok {3}a\.pkt/);
  assert.match(r.out, /FAIL b\.pkt:9: error handling packet: bad outbound TCP flags: expected R\. actual F\.\nscript packet: 0\.100000 R\. 1:1\(0\) ack 1\nactual packet: 0\.100000 F\. 1:1\(0\) ack 1 win 32768\n/);
  assert.match(r.out, /1 of 2 scripts passed\n$/);
});

test('synack pdrill --json, --linux, --verbose, pass-through options and usage errors', async () => {
  const j = await cli(['pdrill', '--json', '--linux', 'a.pkt', 'missing.pkt'], { 'a.pkt': PASSIVE });
  assert.equal(j.code, 1);
  const doc = JSON.parse(j.out) as { linux: boolean; total: number; passed: number; failed: number; scripts: { path: string; ok: boolean; failure: { message: string } | null }[] };
  assert.equal(doc.linux, true);
  assert.deepEqual([doc.total, doc.passed, doc.failed], [2, 1, 1]);
  assert.equal(doc.scripts[0]!.ok, true);
  assert.match(doc.scripts[1]!.failure!.message, /cannot read script/);
  const v = await cli(['pdrill', '-v', '--tolerance_usecs=50000', 'a.pkt'], { 'a.pkt': PASSIVE });
  assert.equal(v.code, 0);
  assert.match(v.out, / {2}0\.000000 < S 0:0\(0\)/);
  const none = await cli(['pdrill'], {});
  assert.equal(none.code, 2);
  assert.match(none.err, /pdrill needs at least one script file/);
  const help = await cli(['help', 'pdrill'], {});
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: synack pdrill/);
  const badOpt = await cli(['pdrill', '--tolerance_usecs=x', 'a.pkt'], { 'a.pkt': PASSIVE });
  assert.equal(badOpt.code, 1);
  assert.match(badOpt.out, /--tolerance_usecs needs an integer/);
});
