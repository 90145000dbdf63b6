// Linux's delayed-ACK engine (ackRule 'linux', src/tcp/delack.ts): the formulas alone, then the
// ATO's bound by the smoothed RTT on a connection (Linux's timer wheel makes that delay 100 to
// 125 ms on the HZ=250 machine, too loose for a script checked against it; the other behaviours
// are test/conformance/delack-*-linux.pkt, checked against Linux 6.18).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinuxDelack } from '../../src/tcp/delack.js';
import { runScript, formatFailure } from '../../src/pdrill/runner.js';
import { PASSIVE_OPEN } from '../helpers/pdrill.js';

const PSH_ACK = 0x18;
const ACK = 0x10;

test('the receive MSS estimate starts at min(MSS, send MSS, half the window, 536) and learns full segments', () => {
  assert.equal(new LinuxDelack(1460, 1000, 64000).rcvMss, 536);
  assert.equal(new LinuxDelack(1460, 100, 64000).rcvMss, 100);
  assert.equal(new LinuxDelack(1460, 50, 64000).rcvMss, 88); // TCP_MIN_MSS
  const d = new LinuxDelack(1460, 1000, 64000);
  d.dataReceived(1000, 32, 32, ACK, 1460, 64000, 300, 40, 0);
  assert.equal(d.rcvMss, 1000);
  // Two equal short segments without PSH: the peer's MSS is smaller (tcp_measure_rcv_mss).
  const s = new LinuxDelack(1460, 1000, 64000);
  s.dataReceived(300, 32, 32, ACK, 1460, 64000, 300, 40, 0);
  assert.equal(s.rcvMss, 536);
  s.dataReceived(300, 32, 32, ACK, 1460, 64000, 300, 40, 1);
  assert.equal(s.rcvMss, 300);
  // Short segments with PSH are remnants: pushed, twice pushed2, no estimate.
  const p = new LinuxDelack(1460, 1000, 64000);
  p.dataReceived(100, 32, 32, PSH_ACK, 1460, 64000, 300, 40, 0);
  assert.deepEqual([p.pushed, p.pushed2, p.rcvMss], [true, false, 536]);
  p.dataReceived(100, 32, 32, PSH_ACK, 1460, 64000, 300, 40, 1);
  assert.deepEqual([p.pushed, p.pushed2], [true, true]);
});

test('quick ACKs: 16 at the first data, one used per ACK of new data, the last deflates the ATO', () => {
  const d = new LinuxDelack(1460, 1000, 64000);
  d.dataReceived(100, 32, 32, PSH_ACK, 1460, 64000, 300, 40, 0);
  assert.deepEqual([d.quick, d.ato, d.scheduled, d.inQuickack], [16, 40, true, true]);
  d.ackSent(40);
  assert.deepEqual([d.quick, d.scheduled], [15, false]);
  d.ackSent(40); // nothing was owed: no quick ACK used
  assert.equal(d.quick, 15);
  // A small window grants fewer: window / (2 * rcv_mss), and 2 when that is 0.
  const w = new LinuxDelack(1460, 1000, 2000);
  w.dataReceived(100, 32, 32, PSH_ACK, 1460, 1000, 300, 40, 0);
  assert.equal(w.quick, 2);
});

test('the ATO follows the gaps between data and doubles when the timer fires; interactive mode ends then', () => {
  const d = new LinuxDelack(1460, 1000, 64000);
  d.dataReceived(100, 32, 32, PSH_ACK, 1460, 64000, 300, 40, 0);
  d.dataReceived(100, 32, 32, PSH_ACK, 1460, 64000, 300, 40, 10); // gap <= ATO_MIN/2
  assert.equal(d.ato, 40);
  d.timerFired(300, 40);
  assert.equal(d.ato, 80);
  d.dataReceived(100, 32, 32, PSH_ACK, 1460, 64000, 300, 40, 40); // gap 30 < ATO: ato/2 + gap
  assert.equal(d.ato, 70);
  d.timerFired(100, 40);
  assert.equal(d.ato, 100); // at most the RTO
  // A reply within the ATO of the data makes the connection interactive; the timer ends it.
  d.dataSent(60);
  assert.equal(d.interactive, true);
  assert.equal(d.inQuickack, false);
  d.timerFired(300, 40);
  assert.deepEqual([d.interactive, d.ato], [false, 40]);
  // A gap longer than the RTO grants quick ACKs again.
  const g = new LinuxDelack(1460, 1000, 64000);
  g.dataReceived(100, 32, 32, PSH_ACK, 1460, 64000, 300, 40, 0);
  g.quick = 0;
  g.dataReceived(100, 32, 32, PSH_ACK, 1460, 64000, 300, 40, 1000);
  assert.equal(g.quick, 16);
});

test('the delay: the ATO, above 40 ms bounded by the smoothed RTT (not under 40 ms) and 200 ms', () => {
  const d = new LinuxDelack(1460, 1000, 64000);
  d.ato = 40;
  assert.equal(d.delay(100, 40), 40);
  d.ato = 160;
  assert.equal(d.delay(100, 40), 100);
  assert.equal(d.delay(10, 40), 40);
  assert.equal(d.delay(0, 40), 160); // no RTT yet: 500 ms (HZ/2) bound, then 200 ms
  d.ato = 400;
  assert.equal(d.delay(0, 40), 200);
});

test('on a connection: after the quick ACKs, requests 100 ms apart wait 40, 80, then the 100 ms RTT', () => {
  const lines = ['--tolerance_usecs=1000', PASSIVE_OPEN.trimEnd()];
  let s = 1;
  for (let i = 0; i < 16; i++, s += 100) lines.push(`+.01 < P. ${s}:${s + 100}(100) ack 1 win 257`, `+0 > . 1:1(0) ack ${s + 100}`);
  for (const d of ['.04', '.08', '.1', '.1']) {
    lines.push(`+.1 < P. ${s}:${s + 100}(100) ack 1 win 257`, `+${d} > . 1:1(0) ack ${s + 100}`);
    s += 100;
  }
  const script = lines.join('\n') + '\n';
  const r = runScript(script, { path: 'ato.pkt', linux: true });
  assert.ok(r.ok, formatFailure(r));
  // The RFC profile keeps its fixed 40 ms: the third delayed ACK comes 40 ms after its segment.
  const rfc = runScript(script, { path: 'ato.pkt', linux: false });
  assert.equal(rfc.ok, false);
});
