// Node's net behaviours, each run twice: on Node's own net over the kernel's loopback (the oracle)
// and on createNet(new Stack()) over synack's loopback interface; the observations must be equal,
// and equal to what Node 20 documents. Written for synack (Node's test files are not copied here;
// scripts/node-net-suite.mjs runs those from a checkout outside the repository).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeNet from 'node:net';
import { EventEmitter } from 'node:events';
import { Stack } from '../../src/index.js';
import { createNet } from '../../src/net/index.js';

const stack = new Stack({ name: 'conformance' });
const synNet = createNet(stack);
after(() => stack.close());

/** What a test sees of `net`: the members both Node's module and createNet's object have. */
type Net = typeof synNet;
const implementations: Array<[string, Net]> = [
  ['node:net', nodeNet as unknown as Net],
  ['synack', synNet],
];

/** The code (or name) of what `fn` throws, or 'no throw'. */
function thrown(fn: () => unknown): string {
  try {
    fn();
    return 'no throw';
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).name;
  }
}

/** A server on 127.0.0.1 (ephemeral port) that runs `onConn` for each connection. */
function serve(net: Net, onConn: (s: nodeNet.Socket) => void, host = '127.0.0.1'): Promise<{ server: nodeNet.Server; port: number }> {
  return new Promise((resolve) => {
    const server = net.createServer(onConn as never) as unknown as nodeNet.Server;
    server.listen(0, host, () => resolve({ server, port: (server.address() as nodeNet.AddressInfo).port }));
  });
}

const closed = (server: nodeNet.Server): Promise<void> => new Promise((r) => server.close(() => r()));
const event = <T = unknown>(em: NodeJS.EventEmitter, name: string): Promise<T> => new Promise((r) => em.once(name, r as never));

/** Each behaviour returns a plain observation; `expected` is what Node 20 gives. */
const behaviours: Array<{ name: string; expected: unknown; run: (net: Net) => Promise<unknown> }> = [
  {
    name: "a socket nobody reads from still gets 'end' and 'close' when the peer ends",
    expected: ['end', 'close', false],
    async run(net) {
      const { server, port } = await serve(net, (s) => s.end());
      const seen: unknown[] = [];
      const c = net.connect(port, '127.0.0.1');
      c.on('end', () => seen.push('end'));
      await new Promise<void>((r) => c.on('close', (hadError: boolean) => (seen.push('close', hadError), r())));
      await closed(server);
      return seen;
    },
  },
  {
    name: 'argument validation throws Node 20 codes',
    expected: {
      noArgs: 'ERR_MISSING_ARGS',
      portType: 'ERR_INVALID_ARG_TYPE',
      portRange: 'ERR_SOCKET_BAD_PORT',
      localAddress: 'ERR_INVALID_IP_ADDRESS',
      localPort: 'ERR_INVALID_ARG_TYPE',
      lookup: 'ERR_INVALID_ARG_TYPE',
      objectMode: 'ERR_INVALID_ARG_VALUE',
      attemptTimeout: 'ERR_OUT_OF_RANGE',
      autoSelect: 'ERR_INVALID_ARG_TYPE',
      timeoutType: 'ERR_INVALID_ARG_TYPE',
      timeoutRange: 'ERR_OUT_OF_RANGE',
      timeoutCallback: 'ERR_INVALID_ARG_TYPE',
      serverOptions: 'ERR_INVALID_ARG_TYPE',
      listenPort: 'ERR_SOCKET_BAD_PORT',
      listenSignal: 'ERR_INVALID_ARG_TYPE',
    },
    async run(net) {
      const s = new net.Socket();
      const conn = (o: object) => () => net.connect(o as never).destroy();
      return {
        noArgs: thrown(() => (net.connect as () => unknown)()),
        portType: thrown(conn({ port: true })),
        portRange: thrown(conn({ port: 65536 })),
        localAddress: thrown(conn({ port: 1, localAddress: 'foobar' })),
        localPort: thrown(conn({ port: 1, localPort: 'foobar' })),
        lookup: thrown(conn({ port: 1, host: 'localhost', lookup: 'no' })),
        objectMode: thrown(conn({ port: 1, objectMode: true })),
        attemptTimeout: thrown(conn({ port: 1, autoSelectFamilyAttemptTimeout: 0 })),
        autoSelect: thrown(conn({ port: 1, autoSelectFamily: 'yes' })),
        timeoutType: thrown(() => s.setTimeout('100' as never)),
        timeoutRange: thrown(() => s.setTimeout(-1)),
        timeoutCallback: thrown(() => s.setTimeout(1, 'cb' as never)),
        serverOptions: thrown(() => net.createServer('path' as never)),
        listenPort: thrown(() => net.createServer().listen(65536)),
        listenSignal: thrown(() => net.createServer().listen({ port: 0, signal: 'x' } as never)),
      };
    },
  },
  {
    name: 'listen(null) and listen() take an ephemeral port',
    expected: [true, true],
    async run(net) {
      const ports: boolean[] = [];
      for (const args of [[null], []]) {
        const server = net.createServer();
        await new Promise<void>((r) => (server.listen as (...a: unknown[]) => void)(...args, () => r()));
        ports.push((server.address() as nodeNet.AddressInfo).port > 0);
        await closed(server as unknown as nodeNet.Server);
      }
      return ports;
    },
  },
  {
    name: 'a custom lookup answering a non-address fails with ERR_INVALID_IP_ADDRESS',
    expected: 'ERR_INVALID_IP_ADDRESS',
    async run(net) {
      const c = net.connect({
        host: 'example.test',
        port: 80,
        lookup: ((_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) =>
          o.all ? cb(null, [{ address: 'nope', family: 4 }]) : cb(null, 'nope', 4)) as never,
      });
      return ((await event<Error & { code: string }>(c, 'error')).code);
    },
  },
  {
    name: 'Socket and Server are callable without new',
    expected: [true, true],
    async run(net) {
      const s = (net.Socket as unknown as () => unknown)();
      const srv = (net.Server as unknown as () => unknown)();
      return [s instanceof net.Socket, srv instanceof net.Server];
    },
  },
  {
    name: '_handle is null before connect, set by connect(), null after close; bufferSize and _connecting follow it',
    expected: { before: [true, undefined], connecting: [true, true, 0], after: [true, undefined] },
    async run(net) {
      const { server, port } = await serve(net, (s) => s.end());
      const c = new net.Socket() as unknown as nodeNet.Socket & { _handle: unknown; _connecting: boolean };
      const before = [c._handle === null, c.bufferSize];
      c.connect(port, '127.0.0.1');
      const connecting = [c._handle !== null, c._connecting, c.bufferSize];
      c.resume();
      await event(c, 'close');
      await closed(server);
      return { before, connecting, after: [c._handle === null, c.bufferSize] };
    },
  },
  {
    name: 'onread delivers into the given buffer and emits no data events',
    expected: { text: 'hello onread', data: 0 },
    async run(net) {
      const { server, port } = await serve(net, (s) => s.end('hello onread'));
      const buf = Buffer.alloc(4);
      let text = '';
      let data = 0;
      const c = net.connect({ port, host: '127.0.0.1', onread: { buffer: buf, callback: (n: number, b: Buffer) => void (text += b.toString('latin1', 0, n)) } } as never);
      c.on('data', () => data++);
      await event(c, 'close');
      await closed(server);
      return { text, data };
    },
  },
  {
    name: 'a destroyed socket can connect() again',
    expected: ['one', 'two'],
    async run(net) {
      let n = 0;
      const names = ['one', 'two'];
      const { server, port } = await serve(net, (s) => s.end(names[n++] ?? ""));
      const c = new net.Socket();
      const got: string[] = [];
      for (let i = 0; i < 2; i++) {
        let text = '';
        c.connect(port, '127.0.0.1');
        c.setEncoding('utf8').on('data', (d: string) => (text += d));
        await event(c, 'close');
        c.removeAllListeners('data');
        got.push(text);
      }
      await closed(server);
      return got;
    },
  },
  {
    name: 'writes cut short before the connection: ERR_SOCKET_CLOSED_BEFORE_CONNECTION; resetAndDestroy() unconnected: ERR_SOCKET_CLOSED',
    expected: ['ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'ERR_SOCKET_CLOSED'],
    async run(net) {
      const { server, port } = await serve(net, () => {});
      const c = net.connect(port, '127.0.0.1');
      const writeErr = new Promise<string>((r) => c.write('x', (e?: Error | null) => r((e as unknown as { code: string }).code)));
      c.destroy();
      const first = await writeErr;
      const d = new net.Socket();
      d.resetAndDestroy();
      const second = (await event<{ code: string }>(d, 'error')).code;
      await closed(server);
      return [first, second];
    },
  },
  {
    name: "a client cannot bind a listener's port: EADDRINUSE",
    expected: 'EADDRINUSE',
    async run(net) {
      const a = await serve(net, () => {});
      const b = await serve(net, () => {});
      const c = net.connect({ host: '127.0.0.1', port: a.port, localAddress: '127.0.0.1', localPort: b.port });
      const code = (await event<{ code: string }>(c, 'error')).code;
      await closed(a.server);
      await closed(b.server);
      return code;
    },
  },
  {
    name: 'ipv6Only on :: leaves IPv4 refused; 0.0.0.0 as a destination is the local host',
    expected: { v4: 'ECONNREFUSED', zero: '127.0.0.1' },
    async run(net) {
      const v6 = net.createServer();
      await new Promise<void>((r) => v6.listen({ host: '::', port: 0, ipv6Only: true }, () => r()));
      const c = net.connect((v6.address() as nodeNet.AddressInfo).port, '127.0.0.1');
      const v4 = (await event<{ code: string }>(c, 'error')).code;
      await closed(v6 as unknown as nodeNet.Server);
      const { server, port } = await serve(net, (s) => s.end());
      const z = net.connect(port, '0.0.0.0');
      await event(z, 'connect');
      const zero = z.remoteAddress;
      z.resume();
      await event(z, 'close');
      await closed(server);
      return { v4, zero };
    },
  },
  {
    name: 'an already-aborted signal destroys the new socket with AbortError (no throw)',
    expected: 'AbortError',
    async run(net) {
      const s = new net.Socket({ signal: AbortSignal.abort() });
      return (await event<Error>(s, 'error')).name;
    },
  },
  {
    name: "captureRejections: a rejected async 'connection' listener destroys that socket with the error",
    expected: 'kaboom',
    async run(net) {
      EventEmitter.captureRejections = true; // read when the server is constructed
      const server = net.createServer() as unknown as nodeNet.Server;
      EventEmitter.captureRejections = false;
      const err = new Promise<string>((resolve) =>
        server.on('connection', async (s: nodeNet.Socket) => {
          s.on('error', (e) => resolve(e.message));
          server.close();
          throw new Error('kaboom');
        }),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const c = net.connect((server.address() as nodeNet.AddressInfo).port, '127.0.0.1');
      c.on('error', () => {});
      c.resume();
      const m = await err;
      c.destroy();
      return m;
    },
  },
  {
    name: 'localhost reaches a server on 127.0.0.1',
    expected: 'hi',
    async run(net) {
      const { server, port } = await serve(net, (s) => s.end('hi'));
      let text = '';
      const c = net.connect({ port, host: 'localhost', family: 4 });
      c.setEncoding('utf8').on('data', (d: string) => (text += d));
      await event(c, 'close');
      await closed(server);
      return text;
    },
  },
  {
    name: '_setSimultaneousAccepts exists (deprecated no-op), Stream is Socket',
    expected: ['function', true],
    async run(net) {
      const n = net as unknown as { _setSimultaneousAccepts: unknown; Stream: unknown; Socket: unknown };
      return [typeof n._setSimultaneousAccepts, n.Stream === n.Socket];
    },
  },
];

describe('Node net behaviours: node:net (oracle) and synack agree', () => {
  for (const b of behaviours) {
    test(b.name, { timeout: 10_000 }, async () => {
      const seen: Record<string, unknown> = {};
      for (const [name, net] of implementations) seen[name] = await b.run(net);
      assert.deepEqual(seen['node:net'], b.expected, 'Node itself behaves as documented here');
      assert.deepEqual(seen['synack'], seen['node:net'], 'synack behaves as Node does');
    });
  }
});
