// fetch() and http.request over synack TCP: a synack HTTP server on the stack's loopback
// interface, Node's fetch through an undici Agent whose connect() returns a synack socket, and
// http.request through an http.Agent whose createConnection does the same. No kernel socket is
// involved; the process exits by itself when the work is done.
// Run: node --import tsx examples/fetch-over-synack.ts
import http from 'node:http';
import type { Socket as NodeSocket } from 'node:net';
import { Agent } from 'undici';
import { Stack } from 'synack';
import { createNet } from 'synack/net';

const stack = new Stack(); // wall-clock time and a loopback interface (127.0.0.1, ::1)
const net = createNet(stack);

// A Node http server whose connections are synack sockets.
const app = http.createServer((req, res) => res.end(`hello ${req.socket.remoteAddress} via ${req.url}\n`));
const server = net.createServer((socket) => app.emit('connection', socket)).listen(8080, '127.0.0.1');

// fetch(): undici asks connect() for each new connection.
const dispatcher = new Agent({
  connect(opts, cb) {
    const socket = net.connect({ host: opts.hostname, port: Number(opts.port) || 80 });
    // A synack Socket is a stream.Duplex with net.Socket's surface; undici's types name Node's class.
    socket.once('connect', () => cb(null, socket as unknown as NodeSocket));
    socket.once('error', (err) => cb(err, null));
  },
});
const res = await fetch('http://127.0.0.1:8080/fetch', { dispatcher } as RequestInit);
process.stdout.write(`fetch: ${res.status} ${await res.text()}`);

// http.request(): an Agent whose createConnection returns a synack socket.
class SynackAgent extends http.Agent {
  override createConnection(opts: http.ClientRequestArgs): ReturnType<http.Agent['createConnection']> {
    return net.createConnection({ host: opts.host ?? 'localhost', port: Number(opts.port) || 80 }) as unknown as ReturnType<http.Agent['createConnection']>;
  }
}
const agent = new SynackAgent();
const body = await new Promise<string>((resolve, reject) => {
  http.get('http://127.0.0.1:8080/http', { agent }, (r) => {
    let text = '';
    r.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(`${r.statusCode} ${text}`));
  }).on('error', reject);
});
process.stdout.write(`http.request: ${body}`);

await dispatcher.close();
agent.destroy();
server.close();
app.close();
