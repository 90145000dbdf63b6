// The sans-IO Stack core driven by hand, with no Clock and no link doing anything: packets are
// carried between two cores in arrays, time is a number passed to handle() and poll(), and
// pollAt() says when to come back. Also the ordering rule for deadlines due at one instant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StackCore } from '../../src/stack/core.js';
import type { Interface } from '../../src/stack/route.js';
import { seededRandom } from '../../src/util/random.js';
import { parseIpPacket } from '../../src/wire/packet.js';
import { parseTcp, TcpFlag } from '../../src/wire/tcp.js';
import type { TcpConnection } from '../../src/tcp/connection.js';

const inert = { mtu: 1500, send(): void {}, onReceive: null, close(): void {} };

/** A core whose driver is this test: sent packets pile up in `out`, wakes are counted. */
class HandCore extends StackCore {
  readonly out: Uint8Array[] = [];
  wakes = 0;
  protected transmit(_iface: Interface, pkt: Uint8Array): void {
    this.out.push(pkt.slice());
  }
  wake(): void {
    this.wakes++;
  }
}

function flagsOf(pkt: Uint8Array): string {
  const ip = parseIpPacket(pkt);
  assert.ok(ip.ok);
  const t = parseTcp(ip.value.payload);
  assert.ok(t.ok);
  const f = t.value.flags;
  return [f & TcpFlag.SYN ? 'S' : '', f & TcpFlag.FIN ? 'F' : '', f & TcpFlag.RST ? 'R' : '', f & TcpFlag.ACK ? '.' : ''].join('') + (t.value.payload.length ? ` ${t.value.payload.length}` : '');
}

function pair(): { a: HandCore; b: HandCore; ia: Interface; ib: Interface; carry: (now: number) => string[] } {
  const a = new HandCore({ name: 'a', random: seededRandom(1) });
  const b = new HandCore({ name: 'b', random: seededRandom(2) });
  const ia = a.addInterface(inert, { addresses: ['198.18.0.1/24'] });
  const ib = b.addInterface(inert, { addresses: ['198.18.0.2/24'] });
  /** Move everything sent so far across, at `now`, until both are quiet; the flags, in order. */
  const carry = (now: number): string[] => {
    const seen: string[] = [];
    while (a.out.length + b.out.length > 0) {
      for (const [from, to, iface, tag] of [[a, b, ib, 'a>b'], [b, a, ia, 'b>a']] as const) {
        const batch = from.out.splice(0);
        for (const p of batch) {
          seen.push(`${tag} ${flagsOf(p)}`);
          to.handle(iface, p, now);
        }
      }
    }
    return seen;
  };
  return { a, b, ia, ib, carry };
}

test('two cores talk with no clock: handle() answers at once, poll() sends what user calls owe, pollAt() names the next deadline', () => {
  const { a, b, carry } = pair();
  let server: TcpConnection | null = null;
  b.tcpListen({ port: 80 }, (c) => (server = c));
  const c = a.tcpConnect({ address: '198.18.0.2', port: 80 }, 0);
  assert.equal(a.pollAt(), 0, 'the SYN is owed now');
  assert.ok(a.wakes > 0, 'the driver was told');
  assert.deepEqual(a.out, [], 'nothing leaves before poll()');
  a.poll(0);
  assert.deepEqual(carry(0), ['a>b S', 'b>a S.', 'a>b .']);
  assert.equal(c.state, 'ESTABLISHED');
  assert.equal(server!.state, 'ESTABLISHED');

  c.send(new TextEncoder().encode('hi'));
  assert.equal(a.pollAt(), 0, 'a send() is owed at the time of the call (the core last saw 0)');
  a.poll(5);
  assert.deepEqual(carry(5), ['a>b . 2']);
  // The receiver delays its ACK: a deadline, which pollAt() reports and poll() fires.
  const ackAt = b.pollAt();
  assert.ok(ackAt > 5 && ackAt < Infinity, `delayed ACK at ${ackAt}`);
  b.poll(ackAt - 1);
  assert.deepEqual(b.out, [], 'nothing is due before the deadline');
  b.poll(ackAt);
  assert.deepEqual(carry(ackAt), ['b>a .']);

  c.close();
  server!.close();
  a.poll(ackAt);
  b.poll(ackAt);
  const close = carry(ackAt);
  assert.equal(close.filter((s) => s.includes('F')).length, 2);
  assert.equal(c.state, 'TIME-WAIT');
  // Come back at each pollAt() (an entry may come early and find nothing due: lazy rescheduling).
  let t = ackAt;
  while (c.state !== 'CLOSED') {
    t = a.pollAt();
    assert.ok(t < Infinity);
    a.poll(t);
  }
  assert.ok(t >= ackAt + 60_000, `TIME-WAIT ended at ${t}`);
  assert.equal(a.pollAt(), Infinity, 'nothing left to do');
  assert.equal(a.stats().tcpConnections, 0);
});

test('deadlines due at one instant fire in (deadline, arming order) across the connections of a core', () => {
  const { a, b, carry } = pair();
  b.tcpListen({ port: 80 }, () => {});
  // Three connections whose SYNs are lost: each SYN's RTO is armed when it is sent.
  const conns = [0, 1, 2].map((i) => a.tcpConnect({ address: '198.18.0.2', port: 80, localPort: 40000 + i }, i));
  a.poll(0);
  a.out.length = 0; // lost
  a.poll(1);
  a.out.length = 0;
  a.poll(2);
  a.out.length = 0;
  // All three RTOs fall due by 10 s; one poll fires them in deadline order (the order they were armed).
  a.poll(10_000);
  const ports = a.out.splice(0).map((p) => {
    const ip = parseIpPacket(p);
    assert.ok(ip.ok);
    const t = parseTcp(ip.value.payload);
    assert.ok(t.ok);
    return `${t.value.srcPort} ${flagsOf(p)}`;
  });
  assert.deepEqual(ports, ['40000 S', '40001 S', '40002 S']);
  assert.ok(conns.every((c) => c.state === 'SYN-SENT'));
  void carry;
});
