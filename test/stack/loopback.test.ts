// The loopback interface every Stack has (Linux lo): 127.0.0.1/8 and ::1/128 with MTU 65536,
// TCP to itself over both families, our own addresses reached through lo, 0.0.0.0 meaning the
// local host, and loopback addresses never accepted from (or sent out of) another link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, VirtualClock, createMemoryPair, seededRandom, type TcpConnection } from '../../src/index.js';
import { buildTcpPacket } from '../../src/wire/packet.js';
import { TcpFlag } from '../../src/wire/tcp.js';

function transfer(stack: Stack, clock: VirtualClock, to: string, size: number): { got: number; from: string; lo: TcpConnection } {
  let got = 0;
  let from = '';
  let server: TcpConnection | null = null;
  stack.tcpListen({ port: 7 }, (conn, info) => {
    server = conn;
    from = info.remoteAddress;
    conn.hooks.onReadable = () => {
      for (let b = conn.recv(); b !== null; b = conn.recv()) got += b.length;
      if (conn.finReceived && conn.state === 'CLOSE-WAIT') conn.close();
    };
  });
  const c = stack.tcpConnect({ address: to, port: 7 });
  const data = new Uint8Array(size).fill(7);
  let off = 0;
  let closed = false;
  const pump = (): void => {
    if (closed) return;
    off += c.send(data.subarray(off));
    if (off === size) {
      closed = true;
      c.close();
    }
  };
  c.hooks.onConnected = pump;
  c.hooks.onWritable = pump;
  clock.runUntilIdle();
  assert.ok(server !== null, 'the listener accepted the connection');
  return { got, from, lo: c };
}

test('every stack has lo: 127.0.0.1/8 and ::1/128, MTU 65536; loopback: false leaves it out', () => {
  const s = new Stack({ clock: new VirtualClock(), random: seededRandom(1) });
  assert.equal(s.loopback?.name, 'lo');
  assert.equal(s.loopback?.mtu, 65536);
  assert.deepEqual(s.loopback?.addresses.map((a) => `${a.text}/${a.prefix}`), ['127.0.0.1/8', '::1/128']);
  assert.match(s.routes.format(), /127\.0\.0\.0\/8 dev lo/);
  const none = new Stack({ clock: new VirtualClock(), loopback: false });
  assert.equal(none.loopback, null);
  assert.equal(none.interfaces.length, 0);
});

for (const addr of ['127.0.0.1', '::1']) {
  test(`TCP to itself over ${addr}: 1 MiB arrives, in segments that fit lo's MTU`, () => {
    const clock = new VirtualClock();
    const s = new Stack({ clock, random: seededRandom(2) });
    let largest = 0;
    const link = s.loopback!.link;
    const send = link.sendOwned!.bind(link);
    link.sendOwned = (p) => {
      largest = Math.max(largest, p.length);
      send(p);
    };
    const r = transfer(s, clock, addr, 1 << 20);
    assert.equal(r.got, 1 << 20);
    assert.equal(r.from, addr);
    // IPv4's total length is 16 bits (65535); IPv6 counts only the payload, so 65536 fits.
    const max = addr === '::1' ? 65536 : 65535;
    assert.ok(largest > 16_000 && largest <= max, `largest packet ${largest} uses lo's large MTU and fits ${max}`);
    assert.equal(s.stats().tcpConnections, 0, 'both ends closed');
  });
}

test('our own address on another interface is reached through lo; 0.0.0.0 means the local host', () => {
  const clock = new VirtualClock();
  const [la] = createMemoryPair({ clock });
  const s = new Stack({ clock, random: seededRandom(3) });
  s.addInterface(la, { addresses: ['198.18.0.1/24'] });
  const own = transfer(s, clock, '198.18.0.1', 10_000);
  assert.equal(own.got, 10_000);
  assert.equal(la.stats().sent, 0, 'nothing left on the memory link');
  const s2 = new Stack({ clock, random: seededRandom(4) });
  const zero = transfer(s2, clock, '0.0.0.0', 100);
  assert.equal(zero.got, 100);
  assert.equal(zero.from, '127.0.0.1');
});

test('127/8 never leaves on another link and is never accepted from one (RFC 1122 3.2.1.3)', () => {
  const clock = new VirtualClock();
  const [la, lb] = createMemoryPair({ clock });
  const s = new Stack({ clock, random: seededRandom(5) });
  s.addInterface(la, { addresses: ['198.18.0.1/24'] });
  s.addRoute('0.0.0.0/0', { via: '198.18.0.2' });
  // 127.0.0.2 routes to lo (only 127.0.0.1 is assigned, so nobody answers), not to the default route.
  s.tcpConnect({ address: '127.0.0.2', port: 80 });
  clock.runUntil(100);
  assert.equal(la.stats().sent, 0, 'no SYN for 127.0.0.2 went out of if0');
  // A SYN to 127.0.0.1 arriving on if0 is dropped without a reply, though a listener exists.
  s.tcpListen({ port: 80 }, () => assert.fail('accepted a connection from a martian'));
  const before = s.stats();
  const syn = buildTcpPacket(new Uint8Array([198, 18, 0, 2]), new Uint8Array([127, 0, 0, 1]), {
    srcPort: 1234, dstPort: 80, seq: 1, ack: 0, flags: TcpFlag.SYN, window: 1000, options: {}, payload: new Uint8Array(0),
  } as never, { ttl: 64 });
  lb.send(syn);
  clock.runUntil(200);
  const after = s.stats();
  assert.equal(after.ipNotForUs, before.ipNotForUs + 1);
  assert.equal(after.tcpResetsSent, before.tcpResetsSent, 'no RST either');
  assert.equal(la.stats().sent, 0, 'no SYN-ACK or RST went back');
  s.close();
});
