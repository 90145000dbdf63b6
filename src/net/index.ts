// The Node `net`-compatible surface bound to one Stack: createNet(stack) returns createServer,
// connect / createConnection, Socket, Server and isIP*, so code written for `node:net` (and
// libraries that accept a createConnection, like `http` and `ws`) can be pointed at synack.
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { Stack } from '../stack/stack.js';
import type { TcpConfigInput } from '../tcp/config.js';
import { Socket, normalizeConnectArgs, type SocketOptions, type SocketConnectOptions, type LookupFunction } from './socket.js';
import { Server, type ServerOptions } from './server.js';

export { Socket, Server };
export type { SocketOptions, SocketConnectOptions, ServerOptions, LookupFunction };
export type { ServerListenOptions, AddressInfo } from './server.js';
export { netError } from './errors.js';
export type { NetError } from './errors.js';

export interface NetOptions {
  /** Names connect()/listen() accept besides IP literals, e.g. { 'server.test': '198.18.0.2' }. */
  hosts?: Readonly<Record<string, string>>;
  /** Resolver for other names (Node's dns.lookup shape). */
  lookup?: LookupFunction;
  /** TCP defaults for sockets and servers made through this object. */
  tcp?: TcpConfigInput;
}

type ConnectionListener = (socket: Socket) => void;

export interface SynackNet {
  readonly stack: Stack;
  Socket: new (options?: Omit<SocketOptions, 'stack'>) => Socket;
  Server: new (options?: Omit<ServerOptions, 'stack'> | ConnectionListener, listener?: ConnectionListener) => Server;
  createServer(listener?: ConnectionListener): Server;
  createServer(options?: Omit<ServerOptions, 'stack'>, listener?: ConnectionListener): Server;
  connect(options: SocketConnectOptions & Omit<SocketOptions, 'stack'>, connectListener?: () => void): Socket;
  connect(port: number | string, host?: string, connectListener?: () => void): Socket;
  connect(port: number | string, connectListener?: () => void): Socket;
  createConnection: SynackNet['connect'];
  isIP: typeof isIP;
  isIPv4: typeof isIPv4;
  isIPv6: typeof isIPv6;
}

/** Node's `net` API for one stack. */
export function createNet(stack: Stack, netOptions: NetOptions = {}): SynackNet {
  const defaults: SocketOptions = { stack };
  // localhost is the loopback interface, as /etc/hosts has it (RFC 6761 6.3), unless the caller says otherwise.
  const hosts = stack.loopback === null ? netOptions.hosts : { localhost: '127.0.0.1', ...netOptions.hosts };
  if (hosts !== undefined) defaults.hosts = hosts;
  if (netOptions.lookup !== undefined) defaults.lookup = netOptions.lookup;
  if (netOptions.tcp !== undefined) defaults.tcp = netOptions.tcp;

  class BoundSocket extends Socket {
    constructor(options: Omit<SocketOptions, 'stack'> = {}) {
      super({ ...defaults, ...options, stack });
    }
  }

  class BoundServer extends Server {
    constructor(a?: Omit<ServerOptions, 'stack'> | ConnectionListener, b?: ConnectionListener) {
      const opts: ServerOptions = typeof a === 'function' || a === undefined ? {} : { ...a };
      if (opts.hosts === undefined && hosts !== undefined) opts.hosts = hosts;
      if (opts.tcp === undefined && netOptions.tcp !== undefined) opts.tcp = netOptions.tcp;
      super({ ...opts, stack }, typeof a === 'function' ? a : b);
    }
    protected override createSocket(options: SocketOptions): Socket {
      return new BoundSocket(options);
    }
  }

  function connect(...args: unknown[]): Socket {
    const [opts, cb] = normalizeConnectArgs(args);
    const sockOpts: Omit<SocketOptions, 'stack'> = {};
    const o = opts as SocketConnectOptions & SocketOptions;
    if (o.allowHalfOpen !== undefined) sockOpts.allowHalfOpen = o.allowHalfOpen;
    if (o.highWaterMark !== undefined) sockOpts.highWaterMark = o.highWaterMark;
    if (o.readableHighWaterMark !== undefined) sockOpts.readableHighWaterMark = o.readableHighWaterMark;
    if (o.writableHighWaterMark !== undefined) sockOpts.writableHighWaterMark = o.writableHighWaterMark;
    if (o.signal !== undefined) sockOpts.signal = o.signal;
    if (o.tcp !== undefined) sockOpts.tcp = { ...netOptions.tcp, ...o.tcp };
    const s = new BoundSocket(sockOpts);
    return cb === undefined ? s.connect(opts) : s.connect(opts, cb);
  }

  function createServer(a?: Omit<ServerOptions, 'stack'> | ConnectionListener, b?: ConnectionListener): Server {
    return new BoundServer(a, b);
  }

  return {
    stack,
    Socket: BoundSocket,
    Server: BoundServer,
    createServer,
    connect: connect as SynackNet['connect'],
    createConnection: connect as SynackNet['connect'],
    isIP,
    isIPv4,
    isIPv6,
  };
}
