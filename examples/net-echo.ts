// Run: node --import tsx examples/net-echo.ts
// Two synack stacks in one process, joined by an in-memory link on the wall clock, talking through
// the Node `net`-compatible API: an echo server on one stack, a client on the other.
import { Stack, createMemoryPair, RealtimeClock } from 'synack';
import { createNet } from 'synack/net';

const clock = new RealtimeClock({ unref: false });
const [la, lb] = createMemoryPair({ clock, latency: 2 });
const a = new Stack({ name: 'client', clock });
const b = new Stack({ name: 'server', clock });
a.addInterface(la, { addresses: ['198.18.0.1/24'] });
b.addInterface(lb, { addresses: ['198.18.0.2/24'] });

const serverNet = createNet(b);
const clientNet = createNet(a);

const server = serverNet.createServer((socket) => {
  console.log(`server: connection from ${socket.remoteAddress}:${socket.remotePort}`);
  socket.pipe(socket); // echo; ends when the client ends
});
server.listen(7, () => console.log('server: listening on', server.address()));

const socket = clientNet.connect(7, '198.18.0.2', () => {
  console.log(`client: connected from ${socket.localAddress}:${socket.localPort}`);
  socket.end('hello over synack\n');
});
socket.setEncoding('utf8');
socket.on('data', (d: string) => process.stdout.write(`client: got ${d}`));
socket.on('close', (hadError: boolean) => {
  console.log(`client: closed (hadError=${hadError}), ${socket.bytesWritten} B out, ${socket.bytesRead} B in`);
  server.close(() => {
    console.log('server: closed');
    a.close();
    b.close();
    clock.dispose();
  });
});
