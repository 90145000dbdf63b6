// The sans-IO TCP core on its own: two TcpConnections wired back to back on a virtual clock open,
// move a message each way, and close (RFC 9293 3.5, 3.6), printing every segment and state change.

import { TcpConnection } from 'synack';
import type { TcpRepr } from 'synack/wire';

const flags = (f: number): string =>
  ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => f & (1 << i)).join(',');

export function run(log: (line: string) => void = console.log): { clientGot: string; serverGot: string; endedAt: number } {
  let now = 0;
  const wire: Array<{ at: number; to: 'client' | 'server'; seg: TcpRepr }> = [];
  const text = new TextDecoder();
  let clientGot = '';
  let serverGot = '';

  const client = TcpConnection.connect({
    localPort: 49152, remotePort: 80, iss: 1000, now,
    config: { msl: 1000 }, // TIME-WAIT of 2 s of virtual time
    hooks: {
      onState: (from, to) => log(`${now}ms client ${from} -> ${to}`),
      // CLOSE in SYN-SENT would delete the connection (RFC 9293 3.10.4): close once connected.
      onConnected: () => client.close(), // our FIN follows the queued data; we still receive
      onReadable: () => { for (let d = client.recv(); d; d = client.recv()) clientGot += text.decode(d); },
    },
  });
  const server = TcpConnection.listen({
    localPort: 80, remotePort: 49152, iss: 5000, now,
    config: { msl: 1000 },
    hooks: {
      onState: (from, to) => log(`${now}ms server ${from} -> ${to}`),
      onConnected: () => server.send(new TextEncoder().encode('hello, client')),
      onReadable: () => {
        for (let d = server.recv(); d; d = server.recv()) serverGot += text.decode(d);
        if (server.peerFinished) server.close(); // the client closed: close our half too
      },
    },
  });

  // Poll both sides, put their segments on a 5 ms wire, deliver, and jump to the next deadline.
  const pump = (c: TcpConnection, name: 'client' | 'server'): void =>
    c.poll(now, (seg) => {
      log(`${now}ms ${name} sends [${flags(seg.flags)}] seq=${seg.seq} ack=${seg.ack} len=${seg.payload.length}`);
      wire.push({ at: now + 5, to: name === 'client' ? 'server' : 'client', seg });
    });
  client.send(new TextEncoder().encode('hello, server')); // queued until the handshake completes
  for (let i = 0; i < 1000; i++) {
    pump(client, 'client');
    pump(server, 'server');
    const next = Math.min(client.pollAt(), server.pollAt(), ...wire.map((w) => w.at));
    if (next === Infinity) break;
    now = Math.max(now, next);
    for (const w of wire.filter((x) => x.at <= now)) {
      (w.to === 'client' ? client : server).handleSegment(w.seg, now);
    }
    wire.splice(0, wire.length, ...wire.filter((x) => x.at > now));
  }
  log(`${now}ms done: client ${client.state}, server ${server.state}`);
  return { clientGot, serverGot, endedAt: now };
}

if (import.meta.url === `file://${process.argv[1]}`) run();
