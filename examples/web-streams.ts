// Run: node --import tsx examples/web-streams.ts
// The browser-friendly API (synack/web) in Node: listen() yields connections with a ReadableStream
// and a WritableStream; this server upper-cases what it reads through a TransformStream.
import { Stack, createMemoryPair, RealtimeClock } from 'synack';
import { connect, listen } from 'synack/web';

const clock = new RealtimeClock({ unref: false });
const [la, lb] = createMemoryPair({ clock, latency: 1 });
const a = new Stack({ name: 'a', clock });
const b = new Stack({ name: 'b', clock });
a.addInterface(la, { addresses: ['198.18.0.1/24'] });
b.addInterface(lb, { addresses: ['198.18.0.2/24'] });

const listener = listen(b, { port: 9000 });
void (async () => {
  for await (const conn of listener) {
    console.log(`server: ${conn.remoteAddress}:${conn.remotePort} connected`);
    const upper = new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, ctrl) => ctrl.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())),
    });
    void conn.readable.pipeThrough(upper).pipeTo(conn.writable);
  }
})();

const conn = await connect(a, { address: '198.18.0.2', port: 9000 });
const writer = conn.writable.getWriter();
await writer.write(new TextEncoder().encode('streams all the way down\n'));
await writer.close();
const reply = await new Response(conn.readable).text();
process.stdout.write(`client: ${reply}`);
await conn.closed;
listener.close();
a.close();
b.close();
clock.dispose();
