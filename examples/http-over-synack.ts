// Run: node --import tsx examples/http-over-synack.ts
// Node's own http server and client over synack: the server is fed sockets accepted by a synack
// net.Server; the client gets its socket from createConnection. Prints the response and TCP stats.
import http from 'node:http';
import { Stack, createMemoryPair, RealtimeClock } from 'synack';
import { createNet } from 'synack/net';

const clock = new RealtimeClock({ unref: false });
const [la, lb] = createMemoryPair({ clock, latency: 5 });
const a = new Stack({ name: 'browser', clock });
const b = new Stack({ name: 'web', clock });
a.addInterface(la, { addresses: ['198.18.0.1/24', '2001:db8::1/64'] });
b.addInterface(lb, { addresses: ['198.18.0.2/24', '2001:db8::2/64'] });
const clientNet = createNet(a, { hosts: { 'web.test': '2001:db8::2' } });

const app = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`Hello ${req.socket.remoteAddress}, you asked for ${req.url} over synack TCP.\n`);
});
const listener = createNet(b).createServer((socket) => app.emit('connection', socket)).listen(80);

const req = http.get(
  { host: 'web.test', port: 80, path: '/index.txt', createConnection: () => clientNet.createConnection({ host: 'web.test', port: 80 }) },
  (res) => {
    console.log(`HTTP ${res.statusCode}`, res.headers['content-type']);
    res.setEncoding('utf8');
    res.on('data', (d: string) => process.stdout.write(d));
    res.on('end', () => {
      const tcp = (req.socket as unknown as { tcp?: { stats(): { rtt: number; segsOut: number; segsIn: number } } }).tcp;
      if (tcp) {
        const s = tcp.stats();
        console.log(`client TCP: rtt ${s.rtt} ms, ${s.segsOut} segments out, ${s.segsIn} in`);
      }
      listener.close();
      setTimeout(() => {
        a.close();
        b.close();
        clock.dispose();
      }, 50);
    });
  },
);
req.on('error', (e) => console.error('request failed:', e));
