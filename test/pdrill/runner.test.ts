// The runner's own behaviour: header and command-line options, skipped shell/python lines, syntax
// and unsupported-call errors with their line, blocking calls that return early or never, segment
// aggregation, TS ecr remapping, ports, the verbose log, exact inbound option bytes, and the
// `synack pdrill` command (text, --json, exit status, usage errors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScript, formatFailure, inboundPacket } from '../../src/pdrill/runner.js';
import { parseOptionArgs } from '../../src/pdrill/config.js';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { parseIpPacket } from '../../src/wire/packet.js';
import { parseTcp, TcpFlag } from '../../src/wire/tcp.js';
import { PASSIVE_OPEN } from '../helpers/pdrill.js';

const PASSIVE = PASSIVE_OPEN;

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

test('shell lines are interpreted (sysctls apply to later sockets), python assertions evaluated, relative timing kept', () => {
  const s = `\`echo hi\`\n${PASSIVE}+0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%\n+.1 \`sysctl -q net.ipv4.tcp_sack=0\`\n+.1 close(4) = 0\n+0 > F. 1:1(0) ack 1\n`;
  const r = runScript(s);
  assert.ok(r.ok, formatFailure(r));
  assert.deepEqual(r.skipped, []);
  assert.equal(r.endUsecs, 300_000);
  // tcp_rmem's maximum decides the window scale offered, as tcp_select_initial_window does.
  const wscale = (sh: string): string => `\`${sh}\`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>\n`;
  const eight = runScript(wscale('sysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))"'), { linux: true });
  assert.ok(eight.ok, formatFailure(eight));
  const seven = runScript(wscale('true'), { linux: true });
  assert.match(formatFailure(seven), /expected wscale 8 actual wscale 7/);
  const noSack = runScript(wscale('sysctl -q net.ipv4.tcp_rmem="4096 540000 15728640" net.ipv4.tcp_sack=0'), { linux: true });
  assert.match(formatFailure(noSack), /bad outbound TCP options/, 'tcp_sack=0: no sackOK in the SYN-ACK');
  const bbr = runScript(wscale('sysctl -q net.ipv4.tcp_congestion_control=bbr'), { linux: true });
  assert.equal(bbr.failure, null);
  assert.match(bbr.unsupported ?? '', /line 1: net.ipv4.tcp_congestion_control=bbr: congestion control bbr is not implemented/);
  const cmd = runScript(wscale('nstat > /dev/null'), { linux: true });
  assert.match(cmd.unsupported ?? '', /shell command `nstat` is not interpreted/);
  const defaults = runScript(wscale('../common/defaults.sh'), {
    linux: true,
    readFile: (p) => (p === '../common/defaults.sh' ? 'sysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))"\nsysctl -q net.ipv4.tcp_frto=2\n' : null),
  });
  assert.ok(defaults.ok, formatFailure(defaults));
  assert.deepEqual(defaults.notes, ['net.ipv4.tcp_frto=2: not modelled (F-RTO (RFC 5682) is not implemented; it matters only after a spurious RTO)']);
  const unreadable = runScript(wscale('../common/missing.sh'), { linux: true, readFile: () => null });
  assert.match(unreadable.unsupported ?? '', /cannot read the shell script/);
});

test('unsupported system calls are reported as unsupported; bad descriptors get EBADF; fds map to the script numbers', () => {
  const u = runScript(`${PASSIVE}+0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0}, 0) = 10\n`);
  assert.equal(u.ok, false);
  assert.equal(u.failure, null);
  assert.match(u.unsupported ?? '', /^line 8: unsupported system call sendmsg/);
  const b = runScript('0 read(7, ..., 10) = -1 EBADF (Bad file descriptor)\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n+0 close(3) = 0\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
  assert.ok(b.ok, formatFailure(b));
  // packetdrill's fd mapping: the script calls the socket 5 although the stack's table gave 3.
  const m = runScript(PASSIVE.replace(/= 3\n/, '= 5\n').replace(/\((3),/g, '(5,').replace('accept(5, ..., ...) = 4', 'accept(5, ..., ...) = 7') + '+0 write(7, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n+0 read(4, ..., 10) = -1 EBADF (Bad file descriptor)\n');
  assert.ok(m.ok, formatFailure(m));
});

test('NULL buffers: write, send and sendto fail with EFAULT; read with data queued too, and the data stays', () => {
  const r = runScript(`${PASSIVE}+0 write(4, NULL, 1000) = -1 EFAULT (Bad address)\n+0 send(4, NULL, 1000, 0) = -1 EFAULT (Bad address)\n+0 sendto(4, NULL, 1000, 0, ..., ...) = -1 EFAULT (Bad address)\n+0 < P. 1:101(100) ack 1 win 257\n+.04 > . 1:1(0) ack 101\n+0 read(4, NULL, 100) = -1 EFAULT (Bad address)\n+0 recv(4, NULL, 100, 0) = -1 EFAULT (Bad address)\n+0 read(4, ..., 100) = 100\n`);
  assert.ok(r.ok, formatFailure(r));
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
  assert.ok(lines.some((l) => /^0\.000000 > S\. 0:0\(0\) ack 1 win 65535 <mss 1460,nop,wscale 7>$/.test(l)), lines.join('\n'));
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
  assert.equal(good.out, 'ok   a.pkt (7 events, 2 in / 1 out)\n1 passed, 0 failed, 0 unsupported\n');
  const bad = PASSIVE.replace('+.1 < .', '+.1 < .').concat('+0 close(4) = 0\n+0 > R. 1:1(0) ack 1\n');
  const r = await cli(['pdrill', 'a.pkt', 'b.pkt'], { 'a.pkt': PASSIVE, 'b.pkt': bad });
  assert.equal(r.code, 1);
  assert.match(r.out, /^ok {3}a\.pkt/);
  assert.match(r.out, /FAIL b\.pkt:9: error handling packet: bad outbound TCP flags: expected R\. actual F\.\nscript packet: 0\.100000 R\. 1:1\(0\) ack 1\nactual packet: 0\.100000 F\. 1:1\(0\) ack 1 win 2048\n/);
  assert.match(r.out, /1 passed, 1 failed, 0 unsupported\n$/);
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
  assert.equal(badOpt.code, 2, 'a malformed option is a usage error, found before any script runs');
  assert.match(badOpt.err, /--tolerance_usecs needs an integer/);
  const unknown = await cli(['pdrill', '--no_such_option=1', 'a.pkt'], { 'a.pkt': PASSIVE });
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown option --no_such_option/);
  const both = await cli(['pdrill', '--linux', '--default', 'a.pkt'], { 'a.pkt': PASSIVE });
  assert.equal(both.code, 2);
  const unsup = await cli(['pdrill', 'u.pkt'], { 'u.pkt': '`sysctl -q net.ipv4.tcp_congestion_control=bbr`\n' + PASSIVE });
  assert.equal(unsup.code, 0, 'an unsupported script is not a failure');
  assert.match(unsup.out, /^UNSUPPORTED u\.pkt: line 1: net\.ipv4\.tcp_congestion_control=bbr/);
  assert.match(unsup.out, /0 passed, 0 failed, 1 unsupported\n$/);
});

test('synack pdrill -r DIR runs a tree as run_all.py does: IPv4 and IPv6 variants, shell files beside the scripts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-pdrill-'));
  try {
    mkdirSync(join(dir, 'common'));
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'common', 'defaults.sh'), '#!/bin/bash\nsysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))"\n');
    const syn = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>\n';
    writeFileSync(join(dir, 'a', 'wscale.pkt'), `\`../common/defaults.sh\`\n${syn}+0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>\n`);
    writeFileSync(join(dir, 'a', 'only-v4.pkt'), `${syn}+0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 9>\n`);
    writeFileSync(join(dir, 'a', 'bbr-v6.pkt'), `\`sysctl -q net.ipv4.tcp_congestion_control=bbr\`\n${syn}`);
    let out = '';
    let err = '';
    const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s), isTTY: false, env: {}, readFile: (p) => readFileSync(p), writeFile: () => {} };
    const code = await main(['pdrill', '--linux', '-r', dir], io);
    assert.equal(code, 1);
    assert.match(out, /^ok {3}\S+wscale\.pkt \(ipv4\)/m);
    assert.match(out, /^ok {3}\S+wscale\.pkt \(ipv6\)/m);
    assert.match(out, /^FAIL \(ipv4\) \S+only-v4\.pkt:\d+: error handling packet: bad outbound TCP option wscale: expected wscale 9 actual wscale 7/m);
    assert.doesNotMatch(out, /only-v4\.pkt \(ipv6\)|only-v4\.pkt.*ipv6/, 'a *v4.pkt script has no IPv6 variant');
    assert.match(out, /^UNSUPPORTED \S+bbr-v6\.pkt \(ipv6\): line 1: /m);
    assert.match(out, /2 passed, 1 failed, 1 unsupported\n$/);
    out = '';
    await main(['pdrill', '--linux', '--json', '-r', dir], io);
    const doc = JSON.parse(out) as { passed: number; failed: number; unsupported: number; scripts: { variant: string; result: string }[] };
    assert.deepEqual([doc.passed, doc.failed, doc.unsupported], [2, 1, 1]);
    assert.deepEqual(doc.scripts.map((s) => `${s.variant} ${s.result}`).sort(), ['ipv4 fail', 'ipv4 pass', 'ipv6 pass', 'ipv6 unsupported']);
    const missing = await main(['pdrill', '-r', join(dir, 'nope')], io);
    assert.equal(missing, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('outbound packets no line asks for: strict fails at the next event; packetdrill semantics only at the next > line', () => {
  const extra = `${PASSIVE}+0 < P. 1:101(100) ack 1 win 257\n+.1 read(4, ..., 100) = 100\n`;
  const strict = runScript(extra, { path: 'x.pkt' });
  assert.match(formatFailure(strict), /x\.pkt:9: unexpected outbound packet before this event\nactual packet: 0\.1\d+ \. 1:1\(0\) ack 101/);
  const lax = runScript(extra, { path: 'x.pkt', strict: false });
  assert.ok(lax.ok, 'the ACK after the last > line is never looked at, as in packetdrill');
  const mismatch = runScript(`${extra}+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 101\n`, { path: 'x.pkt', strict: false });
  assert.match(formatFailure(mismatch), /x\.pkt:11: error handling packet: bad outbound TCP flags: expected P\. actual \./, 'a queued packet is compared with the next > line');
});

test('an address of the other family than --ip_version is a clear failure, not an internal error', () => {
  const r = runScript(`--remote_ip=192.0.2.1\n${PASSIVE}`, { path: 'v.pkt', cliOptions: parseOptionArgs(['--ip_version=ipv6']).options });
  assert.equal(r.ok, false);
  assert.match(formatFailure(r), /v\.pkt:1: --remote_ip=192\.0\.2\.1 is an IPv4 address, but --ip_version is ipv6/);
  assert.doesNotMatch(formatFailure(r), /internal error/);
});
