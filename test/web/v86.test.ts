// The v86 adapter against a bus that behaves like v86's (register/unregister/send dispatching to
// every listener of a name, as v86's BusConnector does): the "guest" on the other side is a second
// synack stack with its own Ethernet interface, since a real v86 guest needs a 32-bit x86 image
// that this repository does not ship. ARP resolves across the bus, a ping and 100 KB of TCP echo
// cross it, frames over the MTU are not passed, and closing unregisters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from '../../src/stack/stack.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import { addEthernetInterface } from '../../src/ethernet/attach.js';
import { attachV86, type V86Bus } from '../../src/web/v86.js';
import type { Link } from '../../src/link/link.js';
import type { Clock } from '../../src/util/clock.js';

/** v86's bus: listeners by name; send() calls each (v86 delivers synchronously; we go through the clock). */
class FakeBus implements V86Bus {
  readonly listeners = new Map<string, ((d: Uint8Array) => void)[]>();
  constructor(private readonly clock: Clock) {}
  register(name: string, fn: (d: Uint8Array) => void): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn]);
  }
  unregister(name: string, fn: (d: Uint8Array) => void): void {
    this.listeners.set(name, (this.listeners.get(name) ?? []).filter((f) => f !== fn));
  }
  send(name: string, value: unknown): void {
    this.clock.schedule(this.clock.now() + 1, () => {
      for (const fn of this.listeners.get(name) ?? []) fn(value as Uint8Array);
    });
  }
}

/** The guest's NIC as a frame link: it sends on net0-send and hears net0-receive. */
function guestNic(bus: FakeBus): Link {
  const nic: Link = {
    mtu: 1500,
    onReceive: null,
    send: (f) => bus.send('net0-send', f),
    close: () => {},
  };
  bus.register('net0-receive', (f) => nic.onReceive?.(f));
  return nic;
}

test('v86 adapter: ARP, ping and TCP between synack and a guest on the emulator bus', async () => {
  const clock = new VirtualClock();
  const bus = new FakeBus(clock);
  const host = new Stack({ name: 'synack', clock, random: seededRandom(1) });
  const guest = new Stack({ name: 'guest', clock, random: seededRandom(2) });
  const { eth, link } = attachV86(host, bus, { addresses: ['198.18.0.1/24'], mac: '02:00:00:00:00:01' });
  addEthernetInterface(guest, guestNic(bus), { addresses: ['198.18.0.2/24'], mac: '52:54:00:00:00:02' });
  clock.runUntil(100);
  const pong = guest.ping('198.18.0.1');
  clock.runUntil(200);
  assert.ok((await pong).rtt >= 0);
  const learnt = eth.neighbours().find((n) => n.mac !== null);
  assert.deepEqual([...(learnt?.mac ?? [])], [0x52, 0x54, 0, 0, 0, 2], "synack learnt the guest's MAC from its ARP request");
  host.tcpListen({ port: 7 }, (c) => {
    c.hooks.onReadable = () => {
      const d = c.recv();
      if (d) c.send(d);
    };
  });
  const sent = new Uint8Array(100_000).map((_, i) => i % 251);
  let back = 0;
  const c = guest.tcpConnect({ address: '198.18.0.1', port: 7 });
  c.hooks.onConnected = () => c.send(sent);
  c.hooks.onReadable = () => {
    back += c.recv()?.length ?? 0;
  };
  clock.runUntil(5_000);
  assert.equal(back, sent.length);
  let seen = 0;
  bus.register('net0-receive', () => seen++);
  link.send(new Uint8Array(1515)); // over mtu + 14
  link.send(new Uint8Array(60));
  clock.runUntil(clock.now() + 10);
  assert.equal(seen, 1, 'a frame over the MTU does not reach the guest');
  const before = bus.listeners.get('net0-send')!.length;
  link.close();
  assert.equal(bus.listeners.get('net0-send')!.length, before - 1, 'close unregisters from net0-send');
});
