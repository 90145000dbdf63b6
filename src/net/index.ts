// The Node `net`-compatible surface bound to one Stack: createNet(stack) returns createServer,
// connect / createConnection, Socket, Server and isIP*, so code written for `node:net` (and
// libraries that accept a createConnection, like `http` and `ws`) can be pointed at synack.
import { isIP, isIPv4, isIPv6, BlockList, SocketAddress } from 'node:net';
import type { Stack } from '../stack/stack.js';
import type { TcpConfigInput } from '../tcp/config.js';
import { Socket, normalizeConnectArgs, type SocketOptions, type SocketConnectOptions, type LookupFunction } from './socket.js';
import { Server, type ServerOptions } from './server.js';
import { errInvalidArgType, validateBoolean, validateInt32 } from './validate.js';

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

/** A class that, like Node's net.Socket and net.Server, may also be called without `new`. */
type Callable<C extends abstract new (...a: never[]) => unknown> = C & ((...a: ConstructorParameters<C>) => InstanceType<C>);

export interface SynackNet {
  readonly stack: Stack;
  Socket: Callable<new (options?: Omit<SocketOptions, 'stack'>) => Socket>;
  /** Node's legacy name for Socket. */
  Stream: Callable<new (options?: Omit<SocketOptions, 'stack'>) => Socket>;
  Server: Callable<new (options?: Omit<ServerOptions, 'stack'> | ConnectionListener, listener?: ConnectionListener) => Server>;
  createServer(listener?: ConnectionListener): Server;
  createServer(options?: Omit<ServerOptions, 'stack'>, listener?: ConnectionListener): Server;
  connect(options: SocketConnectOptions & Omit<SocketOptions, 'stack'>, connectListener?: () => void): Socket;
  connect(port: number | string, host?: string, connectListener?: () => void): Socket;
  connect(port: number | string, connectListener?: () => void): Socket;
  createConnection: SynackNet['connect'];
  isIP: typeof isIP;
  isIPv4: typeof isIPv4;
  isIPv6: typeof isIPv6;
  /** Node's address-list and address classes (plain data, shared with node:net). */
  BlockList: typeof BlockList;
  SocketAddress: typeof SocketAddress;
  getDefaultAutoSelectFamily(): boolean;
  setDefaultAutoSelectFamily(value: boolean): void;
  getDefaultAutoSelectFamilyAttemptTimeout(): number;
  setDefaultAutoSelectFamilyAttemptTimeout(value: number): void;
  /** Deprecated in Node (DEP0121) and a no-op there on Linux; here too. */
  _setSimultaneousAccepts(handle?: unknown): void;
}

/** Make a class callable without `new` (a Proxy keeps instanceof and subclassing intact). */
function callable<C extends new (...a: never[]) => object>(C: C): Callable<C> {
  return new Proxy(C, { apply: (target, _this, args) => Reflect.construct(target, args) }) as Callable<C>;
}

let warnedSimultaneousAccepts = false;
function setSimultaneousAccepts(): void {
  if (warnedSimultaneousAccepts) return;
  warnedSimultaneousAccepts = true;
  process.emitWarning('net._setSimultaneousAccepts() is deprecated and will be removed.', 'DeprecationWarning', 'DEP0121');
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
      if (a !== undefined && a !== null && typeof a !== 'object' && typeof a !== 'function') throw errInvalidArgType('options', 'of type object', a);
      const opts: ServerOptions = typeof a === 'function' || a === undefined ? {} : { ...a };
      if (opts.hosts === undefined && hosts !== undefined) opts.hosts = hosts;
      if (opts.tcp === undefined && netOptions.tcp !== undefined) opts.tcp = netOptions.tcp;
      super({ ...opts, stack }, typeof a === 'function' ? a : b);
    }
    protected override createSocket(options: SocketOptions): Socket {
      return new BoundSocket(options);
    }
  }

  // As Node's net.connect: the options build the Socket too (noDelay, keepAlive, onread, signal, ...).
  function connect(...args: unknown[]): Socket {
    const [opts, cb] = normalizeConnectArgs(args);
    const o = opts as SocketConnectOptions & SocketOptions;
    const sockOpts: Omit<SocketOptions, 'stack'> = { ...o };
    delete (sockOpts as { lookup?: unknown }).lookup; // checked (and used) by connect()
    if (o.tcp !== undefined) sockOpts.tcp = { ...netOptions.tcp, ...o.tcp };
    const s = new BoundSocket(sockOpts);
    if (o.timeout) s.setTimeout(o.timeout);
    return cb === undefined ? s.connect(opts) : s.connect(opts, cb);
  }

  function createServer(a?: Omit<ServerOptions, 'stack'> | ConnectionListener, b?: ConnectionListener): Server {
    return new BoundServer(a, b);
  }

  let autoSelectFamily = true;
  let attemptTimeout = 250;
  const SocketClass = callable(BoundSocket);
  return {
    stack,
    Socket: SocketClass,
    Stream: SocketClass,
    Server: callable(BoundServer),
    createServer,
    connect: connect as SynackNet['connect'],
    createConnection: connect as SynackNet['connect'],
    isIP,
    isIPv4,
    isIPv6,
    BlockList,
    SocketAddress,
    getDefaultAutoSelectFamily: () => autoSelectFamily,
    setDefaultAutoSelectFamily: (v: boolean) => {
      validateBoolean(v, 'value');
      autoSelectFamily = v;
    },
    getDefaultAutoSelectFamilyAttemptTimeout: () => attemptTimeout,
    setDefaultAutoSelectFamilyAttemptTimeout: (v: number) => {
      validateInt32(v, 'value', 1);
      attemptTimeout = Math.max(10, v);
    },
    _setSimultaneousAccepts: setSimultaneousAccepts,
  };
}
