// A Node `net.Server` over a synack listener (passive OPEN, RFC 9293 3.10.1): listen() in Node's
// argument forms, 'listening' / 'connection' / 'close' / 'error' (EADDRINUSE), maxConnections with
// 'drop', and close() that stops accepting at once but emits 'close' only when every accepted
// socket has closed.
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Stack } from '../stack/stack.js';
import type { ConnectionInfo, ListenOptions as StackListenOptions, TcpListener } from '../stack/tcp-host.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpConfigInput } from '../tcp/config.js';
import { Socket, kAccept, closeLikeLinux, type SocketOptions } from './socket.js';
import { netError, lookupError, codeError, validatePort } from './errors.js';
import { Liveness } from './liveness.js';

export interface ServerOptions {
  stack?: Stack;
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused: nothing is read (and the window closes) until resume(). */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
  /** Host names listen() accepts (name -> address). */
  hosts?: Readonly<Record<string, string>>;
  /** TCP settings for accepted connections. */
  tcp?: TcpConfigInput;
}

export interface ServerListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
  /** Accepted for Node compatibility; IPC is not supported. */
  path?: string;
  signal?: AbortSignal;
  ipv6Only?: boolean;
  exclusive?: boolean;
}

export interface AddressInfo {
  address: string;
  family: string;
  port: number;
}

export class Server extends EventEmitter {
  /** Connections beyond this many are closed on arrival and reported with 'drop'. */
  maxConnections?: number;

  readonly #stack: Stack;
  readonly #opts: ServerOptions;
  #listener: TcpListener | null = null;
  readonly #sockets = new Set<Socket>();
  #live: Liveness;

  constructor(connectionListener?: (socket: Socket) => void);
  constructor(options?: ServerOptions, connectionListener?: (socket: Socket) => void);
  constructor(a?: ServerOptions | ((socket: Socket) => void), b?: (socket: Socket) => void) {
    super();
    const opts = typeof a === 'function' || a === undefined ? {} : a;
    const listener = typeof a === 'function' ? a : b;
    if (opts.stack === undefined) {
      throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'a synack Server needs a stack: use createNet(stack).createServer');
    }
    this.#stack = opts.stack;
    this.#live = new Liveness(opts.stack.clock);
    this.#opts = opts;
    if (listener !== undefined) this.on('connection', listener);
  }

  /** Build the Socket for an accepted connection (createNet's Server returns its bound class). */
  protected createSocket(options: SocketOptions): Socket {
    return new Socket(options);
  }

  get listening(): boolean {
    return this.#listener !== null;
  }

  listen(port?: number | string, host?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string, host?: string, listeningListener?: () => void): this;
  listen(port?: number | string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string, listeningListener?: () => void): this;
  listen(options: ServerListenOptions, listeningListener?: () => void): this;
  listen(listeningListener?: () => void): this;
  listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (last as () => void) : undefined;
    const rest = cb === undefined ? args : args.slice(0, -1);
    let o: ServerListenOptions;
    const a0 = rest[0];
    if (a0 !== null && typeof a0 === 'object') {
      o = a0 as ServerListenOptions;
    } else {
      o = {};
      if (a0 !== undefined && a0 !== null) o.port = a0 as number | string;
      if (typeof rest[1] === 'string') {
        o.host = rest[1];
        if (typeof rest[2] === 'number') o.backlog = rest[2];
      } else if (typeof rest[1] === 'number') {
        o.backlog = rest[1];
      }
    }
    if (this.#listener !== null) {
      throw codeError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    }
    if (o.port === undefined && o.path !== undefined) {
      throw codeError(Error, 'ERR_NOT_SUPPORTED', 'synack servers speak TCP only: IPC paths are not supported');
    }
    const port = o.port === undefined ? 0 : validatePort(o.port, 'options.port');
    if (cb !== undefined) this.once('listening', cb);

    let address: string | undefined;
    if (o.host !== undefined && o.host !== '') {
      const bare = o.host.startsWith('[') && o.host.endsWith(']') ? o.host.slice(1, -1) : o.host;
      address = isIP(bare) !== 0 ? bare : this.#opts.hosts?.[bare];
      if (address === undefined) {
        process.nextTick(() => this.emit('error', lookupError(bare)));
        return this;
      }
    }
    const req: StackListenOptions = { port };
    if (address !== undefined) req.address = address;
    if (o.backlog !== undefined && o.backlog > 0) req.backlog = o.backlog;
    if (this.#opts.tcp !== undefined) req.config = this.#opts.tcp;
    try {
      this.#listener = this.#stack.tcpListen(req, (conn, info) => this.#onConnection(conn, info));
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const err = typeof code === 'string' && !code.startsWith('ERR_') ? netError(code, 'listen', address ?? '::', port) : (e as Error);
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    this.#live.active = true;
    if (o.signal !== undefined) {
      const signal = o.signal;
      if (signal.aborted) this.close();
      else signal.addEventListener('abort', () => this.close(), { once: true });
    }
    process.nextTick(() => {
      if (this.#listener !== null) this.emit('listening');
    });
    return this;
  }

  #onConnection(conn: TcpConnection, info: ConnectionInfo): void {
    if (this.maxConnections !== undefined && this.#sockets.size >= this.maxConnections) {
      closeLikeLinux(conn, this.#stack.clock.now());
      queueMicrotask(() =>
        this.emit('drop', {
          localAddress: info.localAddress,
          localPort: info.localPort,
          localFamily: info.family,
          remoteAddress: info.remoteAddress,
          remotePort: info.remotePort,
          remoteFamily: info.family,
        }),
      );
      return;
    }
    const o = this.#opts;
    const sopts: SocketOptions = { stack: this.#stack };
    if (o.allowHalfOpen !== undefined) sopts.allowHalfOpen = o.allowHalfOpen;
    if (o.highWaterMark !== undefined) sopts.highWaterMark = o.highWaterMark;
    const s = this.createSocket(sopts);
    s.server = this;
    this.#sockets.add(s);
    s.once('close', () => {
      this.#sockets.delete(s);
      this.#emitCloseIfDrained();
    });
    const accept: Parameters<Socket[typeof kAccept]>[2] = {};
    if (o.pauseOnConnect !== undefined) accept.pauseOnConnect = o.pauseOnConnect;
    if (o.noDelay !== undefined) accept.noDelay = o.noDelay;
    if (o.keepAlive !== undefined) accept.keepAlive = o.keepAlive;
    if (o.keepAliveInitialDelay !== undefined) accept.keepAliveInitialDelay = o.keepAliveInitialDelay;
    s[kAccept](conn, info, accept);
    queueMicrotask(() => this.emit('connection', s));
  }

  address(): AddressInfo | null {
    return this.#listener?.address() ?? null;
  }

  /** Stop accepting now; 'close' (and `cb`) follow once every accepted socket has closed. */
  close(cb?: (err?: Error) => void): this {
    if (cb !== undefined) {
      if (this.#listener === null) {
        this.once('close', () => cb(codeError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      } else {
        this.once('close', () => cb());
      }
    }
    if (this.#listener !== null) {
      this.#listener.close();
      this.#listener = null;
      this.#live.active = false;
    }
    this.#emitCloseIfDrained();
    return this;
  }

  #emitCloseIfDrained(): void {
    if (this.#listener !== null || this.#sockets.size > 0) return;
    process.nextTick(() => this.emit('close'));
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.#sockets.size;
    process.nextTick(cb, null, n);
    return this;
  }

  /** Keep the process alive while listening (the default), as Node's server handle does. */
  ref(): this {
    this.#live.refed = true;
    return this;
  }
  /** Let the process exit even though the server still listens. */
  unref(): this {
    this.#live.refed = false;
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return new Promise((resolve) => {
      if (this.#listener === null) resolve();
      else this.close(() => resolve());
    });
  }
}
