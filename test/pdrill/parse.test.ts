// Parser tests: realistic packetdrill scripts written for synack parse into exact ASTs; bad
// scripts give errors that name the line, the column and the problem.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript, formatParseError } from '../../src/pdrill/parse.js';
import { parseOptionArgs, resolveConfig } from '../../src/pdrill/config.js';
import type { Expr, ScriptEvent, SyscallEvent, TcpPacketSpec } from '../../src/pdrill/ast.js';

const int = (value: number): Expr => ({ kind: 'int', value, hex: false });
const word = (name: string): Expr => ({ kind: 'word', name });
const ell: Expr = { kind: 'ellipsis' };

function ok(src: string): readonly ScriptEvent[] {
  const r = parseScript(src);
  assert.deepEqual(r.errors, []);
  assert.equal(r.ok, true);
  return r.script.events;
}

function syscall(e: ScriptEvent | undefined): SyscallEvent {
  assert.ok(e !== undefined && e.kind === 'syscall', `expected a syscall, got ${JSON.stringify(e)}`);
  return e;
}

function packet(e: ScriptEvent | undefined): TcpPacketSpec {
  assert.ok(e !== undefined && e.kind === 'packet', `expected a packet, got ${JSON.stringify(e)}`);
  return e.packet;
}

const PASSIVE = `// Passive open, 1000 bytes each way, then an orderly close from our side.
--tolerance_usecs=10000

0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0

+0    < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0    > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
+.1   < . 1:1(0) ack 1 win 257
+0    accept(3, ..., ...) = 4

+0    < P. 1:1001(1000) ack 1 win 257
+0    > . 1:1(0) ack 1001
+0    read(4, ..., 1000) = 1000
+0    write(4, ..., 1000) = 1000
+0    > P. 1:1001(1000) ack 1001
/* the peer acknowledges; we close */
+.01  < . 1001:1001(0) ack 1001 win 257
+0    close(4) = 0
+0    > F. 1001:1001(0) ack 1001
+.01  < F. 1001:1001(0) ack 1002 win 257
+0    > . 1002:1002(0) ack 1002
`;

test('passive open with data and close parses to the exact AST', () => {
  const r = parseScript(PASSIVE);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.script.options, [{ name: 'tolerance_usecs', value: '10000', line: 2, col: 1 }]);
  const ev = r.script.events;
  assert.equal(ev.length, 18);
  assert.deepEqual(ev[0], {
    kind: 'syscall',
    time: { kind: 'absolute', usecs: 0 },
    endUsecs: null,
    name: 'socket',
    args: [ell, word('SOCK_STREAM'), word('IPPROTO_TCP')],
    result: int(3),
    errno: null,
    note: null,
    text: '0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
    line: 4,
    col: 1,
  });
  assert.deepEqual(syscall(ev[1]).args, [int(3), word('SOL_SOCKET'), word('SO_REUSEADDR'), { kind: 'list', items: [int(1)] }, int(4)]);
  assert.deepEqual(ev[4], {
    kind: 'packet',
    time: { kind: 'relative', usecs: 0 },
    line: 9,
    col: 1,
    packet: {
      direction: 'inbound',
      flags: 'S',
      flagBits: 0x02,
      seqStart: 0,
      seqEnd: 0,
      payloadLen: 0,
      ack: null,
      window: 32792,
      urgent: null,
      options: [{ kind: 'mss', value: 1000 }, { kind: 'sackOK' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'wscale', value: 7 }],
      ip: null,
      ports: null,
      text: '< S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>',
    },
  });
  const synack = packet(ev[5]);
  assert.equal(synack.direction, 'outbound');
  assert.equal(synack.flags, 'S.');
  assert.equal(synack.flagBits, 0x12);
  assert.equal(synack.ack, 1);
  assert.equal(synack.window, null, 'outbound window absent means unchecked');
  assert.equal(ev[6]!.kind === 'packet' && ev[6]!.time.kind === 'relative' ? ev[6]!.time.usecs : -1, 100_000, '+.1 is 100 ms');
  const data = packet(ev[8]);
  assert.deepEqual([data.flags, data.seqStart, data.seqEnd, data.payloadLen, data.ack, data.window], ['P.', 1, 1001, 1000, 1, 257]);
  assert.deepEqual(syscall(ev[10]).args, [int(4), ell, int(1000)]);
  assert.deepEqual(syscall(ev[11]).result, int(1000));
  const fin = packet(ev[16]);
  assert.deepEqual([fin.flags, fin.flagBits, fin.ack], ['F.', 0x11, 1002]);
  assert.equal(ev[16]!.line, 23);
});

const ACTIVE = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+.05 < S. 0:0(0) ack 1 win 65535 <mss 1400,nop,wscale 6,nop,nop,TS val 700 ecr 100,sackOK,eol>
+0 > . 1:1(0) ack 1 <nop,nop,TS val 105 ecr 700>
+0 poll([{fd=3, events=POLLOUT, revents=POLLOUT}], 1, 0) = 1
+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0 writev(3, [{..., 500}, {..., 500}], 2) = 1000
* > P. 1:1001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
+0 < . 1:1(0) ack 1001 win 1000 <nop,nop,TS val 800 ecr 110,nop,nop,sack 1:2 5:9>
+0 send(3, ..., 10, 0) = 10
+0 recv(3, ..., 100, MSG_PEEK) = -1 EAGAIN (Resource temporarily unavailable)
+0 ioctl(3, SIOCINQ, [0]) = 0
+0 shutdown(3, SHUT_WR) = 0
0.200~0.400 > F. 1011:1011(0) ack 1
+0.1~+0.3 > - 1:1(0)
`;

test('active open: connect with a struct sockaddr, errno and note, poll, writev, option lists', () => {
  const ev = ok(ACTIVE);
  assert.equal(ev.length, 17);
  const fcntl = syscall(ev[1]);
  assert.deepEqual(fcntl.args, [int(3), word('F_SETFL'), { kind: 'or', left: word('O_RDWR'), right: word('O_NONBLOCK') }]);
  const connect = syscall(ev[2]);
  assert.deepEqual(connect.args[1], {
    kind: 'struct',
    items: [
      { kind: 'field', name: 'sa_family', args: null, value: word('AF_INET') },
      { kind: 'field', name: 'sin_port', args: null, value: { kind: 'call', name: 'htons', args: [int(8080)] } },
      { kind: 'field', name: 'sin_addr', args: null, value: { kind: 'call', name: 'inet_addr', args: [{ kind: 'string', value: '192.0.2.1', truncated: false }] } },
    ],
  });
  assert.deepEqual([connect.result, connect.errno, connect.note], [int(-1), 'EINPROGRESS', 'Operation now in progress']);
  assert.deepEqual(packet(ev[3]).options, [
    { kind: 'mss', value: 1460 },
    { kind: 'sackOK' },
    { kind: 'timestamp', val: 100, ecr: 0 },
    { kind: 'nop' },
    { kind: 'wscale', value: 7 },
  ]);
  assert.deepEqual(packet(ev[4]).options?.at(-1), { kind: 'eol' });
  assert.deepEqual(syscall(ev[6]).args[0], {
    kind: 'list',
    items: [
      {
        kind: 'struct',
        items: [
          { kind: 'field', name: 'fd', args: null, value: int(3) },
          { kind: 'field', name: 'events', args: null, value: word('POLLOUT') },
          { kind: 'field', name: 'revents', args: null, value: word('POLLOUT') },
        ],
      },
    ],
  });
  assert.deepEqual(syscall(ev[7]).args.slice(3), [{ kind: 'list', items: [int(0)] }, { kind: 'list', items: [int(4)] }]);
  assert.deepEqual(syscall(ev[8]).args[1], {
    kind: 'list',
    items: [
      { kind: 'struct', items: [ell, int(500)] },
      { kind: 'struct', items: [ell, int(500)] },
    ],
  });
  assert.deepEqual(ev[9]!.kind === 'packet' && ev[9]!.time, { kind: 'any' });
  assert.deepEqual(packet(ev[10]).options?.at(-1), { kind: 'sack', blocks: [{ left: 1, right: 2 }, { left: 5, right: 9 }] });
  assert.deepEqual(syscall(ev[12]).args.at(-1), word('MSG_PEEK'));
  assert.deepEqual([syscall(ev[12]).errno, syscall(ev[12]).note], ['EAGAIN', 'Resource temporarily unavailable']);
  assert.deepEqual(syscall(ev[13]).args, [int(3), word('SIOCINQ'), { kind: 'list', items: [int(0)] }]);
  assert.deepEqual(syscall(ev[14]).args, [int(3), word('SHUT_WR')]);
  assert.deepEqual(ev[15]!.kind === 'packet' && ev[15]!.time, { kind: 'absolute-range', usecs: 200_000, endUsecs: 400_000 });
  assert.deepEqual(ev[16]!.kind === 'packet' && ev[16]!.time, { kind: 'relative-range', usecs: 100_000, endUsecs: 300_000 });
  assert.deepEqual([packet(ev[16]).flags, packet(ev[16]).flagBits], ['', 0]);
});

test('blocking accept: start and end times, shell and python lines kept as skips', () => {
  const ev = ok(`\`sysctl -q net.ipv4.tcp_timestamps=0\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0...0.200 accept(3, ..., ...) = 4
0.1...0.25 read(4, ..., 10) = 10
+0.1 < S 0:0(0) win 1000
+0 \`echo hi\`
+0 %{
assert tcpi_rto == 1000000
}%
+0 close(4) = 0
`);
  assert.deepEqual(ev[0], { kind: 'skip', what: 'shell', time: null, text: 'sysctl -q net.ipv4.tcp_timestamps=0', line: 1, col: 1 });
  const accept = syscall(ev[4]);
  assert.deepEqual([accept.time, accept.endUsecs, accept.name, accept.result], [{ kind: 'relative', usecs: 0 }, 200_000, 'accept', int(4)]);
  assert.equal(accept.text, '+0...0.200 accept(3, ..., ...) = 4');
  const read = syscall(ev[5]);
  assert.deepEqual([read.time, read.endUsecs], [{ kind: 'absolute', usecs: 100_000 }, 250_000]);
  assert.deepEqual(ev[7], { kind: 'skip', what: 'shell', time: { kind: 'relative', usecs: 0 }, text: 'echo hi', line: 8, col: 1 });
  assert.deepEqual(ev[8], { kind: 'skip', what: 'python', time: { kind: 'relative', usecs: 0 }, text: '\nassert tcpi_rto == 1000000\n', line: 9, col: 1 });
  assert.equal(ev[9]!.line, 12);
});

test('header options, bare flags, quoted values and command-line overrides', () => {
  const r = parseScript(`--ip_version=ipv6
--tolerance_usecs=25000   // generous
--local_ip="2001:db8::5"
--tcp_ts_ecr_scaled
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.script.options, [
    { name: 'ip_version', value: 'ipv6', line: 1, col: 1 },
    { name: 'tolerance_usecs', value: '25000', line: 2, col: 1 },
    { name: 'local_ip', value: '2001:db8::5', line: 3, col: 1 },
    { name: 'tcp_ts_ecr_scaled', value: null, line: 4, col: 1 },
  ]);
  const cli = parseOptionArgs(['--tolerance_usecs=1000', 'script.pkt', '--mss=1200']);
  assert.deepEqual(cli.rest, ['script.pkt']);
  const { config, errors } = resolveConfig(r.script.options, cli.options);
  assert.deepEqual(errors, []);
  assert.equal(config.toleranceUsecs, 1000, 'the command line wins over the script');
  assert.equal(config.mss, 1200);
  assert.equal(config.ipVersion, 'ipv6');
  assert.equal(config.localIp, '2001:db8::5');
  assert.equal(config.remoteIp, '2001:db8::1', 'IPv6 default remote address');
  assert.equal(config.tcpTsEcrScaled, true);
  const bad = resolveConfig([
    { name: 'ip_version', value: 'ipv5', line: 1, col: 1 },
    { name: 'tolerance_usecs', value: 'soon', line: 2, col: 1 },
    { name: 'frobnicate', value: '1', line: 3, col: 1 },
  ]);
  assert.deepEqual(
    bad.errors.map((e) => [e.line, e.message]),
    [
      [1, '--ip_version must be ipv4, ipv6 or ipv4-mapped-ipv6, got "ipv5"'],
      [2, '--tolerance_usecs needs an integer in 0..1000000000, got "soon"'],
      [3, 'unknown option --frobnicate'],
    ],
  );
});

test('errors carry line, column and a clear message, and parsing continues on the next line', () => {
  const src = [
    '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', // 1 ok
    '+0 < S 0:0(0) <mss 1460>', // 2 inbound without win
    '+0 > S. 0:0(0) ack 1 <mss 1460,bogus 3>', // 3 unknown option
    '+0 < X 0:0(0) win 10', // 4 bad flag
    '+0 > . 1:5(3) ack 1', // 5 inconsistent seq
    '+0 close(4 = 0', // 6 missing ')'
    '* write(4, ..., 10) = 10', // 7 * on a syscall
    '+0 < S 0:0(0) win 10 <...>', // 8 wildcard inbound
    '0.3~0.2 > . 1:1(0) ack 1', // 9 backwards range
    '+0 > . 1:1(0) ack 1 win 70000', // 10 window out of range
    '+0 < udp (100)', // 11 not TCP
    '+0 read(4, ..., 10) = 10 ENOENT (x) trailing', // 12 junk after the event
    '--mss=1000', // 13 option after events
    '+0 "oops"', // 14 nothing to do
    '+0 close(4) = 0', // 15 ok again
  ].join('\n');
  const r = parseScript(src);
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.errors.map((e) => formatParseError('t.pkt', e)),
    [
      't.pkt:2:4: error: TCP window must be specified for inbound packets (win N)',
      "t.pkt:3:32: error: unknown TCP option 'bogus'",
      "t.pkt:4:6: error: unknown TCP flag 'X' in 'X' (flags are F S R P . U E W, or - for none)",
      't.pkt:5:8: error: inconsistent TCP sequence numbers and payload size',
      "t.pkt:6:12: error: expected ')' to close the arguments of close() but found '='",
      't.pkt:7:1: error: event time <star> can only be used with outbound packets',
      't.pkt:8:22: error: <...> for TCP options can only be used with outbound packets',
      't.pkt:9:1: error: time range is backwards',
      't.pkt:10:25: error: TCP window value out of range: 70000 (max 65535)',
      't.pkt:11:6: error: udp packets are not supported (only TCP)',
      "t.pkt:12:37: error: unexpected 'trailing' after the end of the event",
      't.pkt:13:1: error: option --mss must come before the first event',
      "t.pkt:14:4: error: expected a packet ('<' or '>'), a system call or a `command` after the event time, but found '\"oops\"'",
    ],
  );
  // The good lines around the bad ones still parse.
  assert.deepEqual(
    r.script.events.map((e) => e.line),
    [1, 12, 15],
  );
});

test('lexical errors: unterminated strings, comments, blocks and stray characters', () => {
  const r = parseScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 write(3, "abc, 3) = 3\n+0 close(3) = 0 @\n/* never closed');
  assert.deepEqual(
    r.errors.map((e) => `${e.line}:${e.col} ${e.message}`),
    ['2:13 unterminated string', '3:17 unexpected character "@"', '4:1 unterminated /* comment'],
  );
  const py = parseScript('0 %{ print(1)\n');
  assert.deepEqual(py.errors, [{ line: 1, col: 3, message: 'unterminated %{ python block (missing }%)' }]);
  const empty = parseScript('');
  assert.deepEqual(empty, { ok: true, script: { options: [], events: [] }, errors: [] });
});

test('times are exact microseconds from decimal seconds', () => {
  const ev = ok('0 close(3) = 0\n0.0035 close(3) = 0\n+2 close(3) = 0\n1.000001 close(3) = 0\n');
  assert.deepEqual(
    ev.map((e) => (e.time !== null && e.time.kind !== 'any' ? e.time.usecs : -1)),
    [0, 3500, 2_000_000, 1_000_001],
  );
});
