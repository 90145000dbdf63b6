// Linux's SO_SNDBUF accounting in the runner (src/pdrill/sndbuf.ts): how much one non-blocking
// write takes for a given peer window and SO_SNDBUF. The expected numbers are what Linux 6.18
// returned for the same script under the real packetdrill (docs/packetdrill.md): the skb size
// follows half the peer's window, the limit is checked only before a new skb, and the part of the
// first skb that leaves at once (IW10) is split off, which lets that skb take more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScript, formatFailure } from '../../src/pdrill/runner.js';
import { sizeGoal, LinuxSendQueue } from '../../src/pdrill/sndbuf.js';
import type { TcbInfo } from '../../src/tcp/info.js';

function script(win: number, sndbuf: number, expected: number): string {
  return `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.1 < S 0:0(0) win ${win} <mss 1000,nop,wscale 0>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win ${win}
+0 accept(3, ..., ...) = 4
+0 setsockopt(4, SOL_SOCKET, SO_SNDBUF, [${sndbuf}], 4) = 0
+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 write(4, ..., 200000) = ${expected}
`;
}

const LINUX_6_18: ReadonlyArray<[win: number, sndbuf: number, took: number]> = [
  [50000, 21000, 60000],
  [50000, 10000, 35000],
  [30000, 21000, 40000],
  [30000, 10000, 25000],
  [65535, 21000, 42000],
  [65535, 10000, 42000],
];

for (const [win, sndbuf, took] of LINUX_6_18) {
  test(`peer window ${win}, SO_SNDBUF ${sndbuf}: a non-blocking write takes ${took} bytes, as on Linux`, () => {
    const r = runScript(script(win, sndbuf, took), { path: 'sndbuf.pkt', linux: true, strict: false });
    assert.ok(r.ok, formatFailure(r));
  });
}

test('without SO_SNDBUF the stack buffer alone bounds the write', () => {
  const text = script(50000, 21000, 131072).replace(/^\+0 setsockopt\(4, SOL_SOCKET, SO_SNDBUF.*\n/m, '');
  const r = runScript(text, { path: 'nosndbuf.pkt', linux: true, strict: false });
  assert.ok(r.ok, formatFailure(r));
});

test('SO_SNDBUF locks the buffer however far tcp_wmem[2] would let it grow (SOCK_SNDBUF_LOCK)', () => {
  // defaults.sh's tcp_wmem lets autotuning grow a buffer to 4 MiB; a socket whose SO_SNDBUF asks
  // for more keeps what it asked for (the stack's buffer: twice it plus one TSO skb) and does not
  // autotune. Before the lock this socket's settings were refused (maximum below the size).
  const text = `\`sysctl -q net.ipv4.tcp_wmem="4096 262144 4194304"\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_SNDBUF, [3000000], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.1 < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 5000) = 5000
+0 > P. 1:5001(5000) ack 1
`;
  const r = runScript(text, { path: 'big-sndbuf.pkt', linux: true, strict: false });
  assert.ok(r.ok, formatFailure(r));
});

test('the skb size goal: whole MSS units up to half the largest window, capped by a TSO skb', () => {
  const info = (maxSndWnd: number, sndMss: number) => ({ maxSndWnd, sndMss }) as TcbInfo;
  assert.equal(sizeGoal(info(50000, 1000)), 25000);
  assert.equal(sizeGoal(info(65535, 1000)), 32000);
  assert.equal(sizeGoal(info(1 << 20, 1448)), 45 * 1448);
  assert.equal(sizeGoal(info(500, 1000)), 1000); // never below one MSS
});

test('PSH marks: the end of each write and, inside a long write, the skb that fills past half the window (forced_push)', () => {
  // As in cubic-rto-ss-ca-cwnd-bump.pkt on Linux 6.18: peer window 32,896 (skbs of 16,000), two
  // segments leave at the first push, and Linux's packet 19001:20001 (script numbers) has PSH.
  const isn = 1000;
  let queued = 0;
  let nxt = isn + 2001;
  const una = isn + 2001;
  const q = new LinuxSendQueue(400000);
  const info = () => ({ sndUna: una, sndNxt: nxt, sndBufSeq: una, sendQueued: queued, maxSndWnd: 32896, sndMss: 1000 }) as TcbInfo;
  const took = q.fill(200000, {
    info,
    send: (n) => ((queued += n), n),
    push: () => void (nxt = Math.max(nxt, Math.min(una + queued, isn + 4001))), // cwnd 2
  });
  assert.equal(took, 200000);
  const marks = [...q.pushMarks].map((m) => m - isn).sort((a, b) => a - b);
  assert.equal(marks[0], 20001, 'the refilled first skb ends past 2001 + 16448');
  assert.equal(marks.at(-1), 202001, 'the end of the write');
  for (let i = 1; i < marks.length - 1; i++) assert.ok(marks[i]! - marks[i - 1]! > 16448 && marks[i]! - marks[i - 1]! <= 32000);
});
