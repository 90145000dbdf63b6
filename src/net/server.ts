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
import { defer } from './defer.js';
import { Liveness } from './liveness.js';
import { ServerHandle, TcpHandle } from './handle.js';
import { errInvalidArgType, errInvalidArgValue, isPipeName, validateAbortSignal, validateNumber } from './validate.js';

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
  /** EventEmitter's: a rejected async 'connection' listener destroys that socket with the error. */
  captureRejections?: boolean;
}

export interface ServerListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
  /** Unix socket path: not available on a synack stack (the 'error' says so). */
  path?: string;
  /** A descriptor: not a synack socket (the 'error' is ENOTSOCK). */
  fd?: number;
  handle?: unknown;
  _handle?: unknown;
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
  /** Node's handle: a ServerHandle while listening, else null. */
  _handle: ServerHandle | null = null;
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  /** Seconds, as Node keeps it. */
  keepAliveInitialDelay: number;
  highWaterMark: number | undefined;

  readonly #stack: Stack;
  readonly #opts: ServerOptions;
  #listener: TcpListener | null = null;
  readonly #sockets = new Set<Socket>();
  readonly #live: Liveness;
  /** Accepted connections whose Socket is not built yet (they count toward maxConnections). */
  #accepting = 0;
  /** Node's "family:address:port" of the listen() request. */
  #key: string | null = null;

  constructor(connectionListener?: (socket: Socket) => void);
  constructor(options?: ServerOptions, connectionListener?: (socket: Socket) => void);
  constructor(a?: ServerOptions | ((socket: Socket) => void) | null, b?: (socket: Socket) => void) {
    if (a !== undefined && a !== null && typeof a !== 'function' && typeof a !== 'object') throw errInvalidArgType('options', 'of type object', a);
    const opts: ServerOptions = typeof a === 'function' || a === undefined || a === null ? {} : { ...a };
    super(opts.captureRejections !== undefined ? { captureRejections: opts.captureRejections } : {});
    const listener = typeof a === 'function' ? a : b;
    if (opts.stack === undefined) {
      throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'a synack Server needs a stack: use createNet(stack).createServer');
    }
    if (opts.keepAliveInitialDelay !== undefined) {
      validateNumber(opts.keepAliveInitialDelay, 'options.keepAliveInitialDelay');
      if (opts.keepAliveInitialDelay < 0) opts.keepAliveInitialDelay = 0;
    }
    if (opts.highWaterMark !== undefined) validateNumber(opts.highWaterMark, 'options.highWaterMark', 0);
    this.#stack = opts.stack;
    this.#live = new Liveness(opts.stack.clock);
    this.#opts = opts;
    this.allowHalfOpen = opts.allowHalfOpen === true;
    this.pauseOnConnect = Boolean(opts.pauseOnConnect);
    this.noDelay = Boolean(opts.noDelay);
    this.keepAlive = Boolean(opts.keepAlive);
    this.keepAliveInitialDelay = ~~((opts.keepAliveInitialDelay ?? 0) / 1000);
    this.highWaterMark = opts.highWaterMark;
    if (typeof listener === 'function') this.on('connection', listener);
  }

  /** Build the Socket for an accepted connection (createNet's Server returns its bound class). */
  protected createSocket(options: SocketOptions): Socket {
    return new Socket(options);
  }

  /** Node's internal key of the listening address ("6:::0"), which some code reads. */
  get _connectionKey(): string | null {
    return this.#key;
  }

  get listening(): boolean {
    return this.#listener !== null;
  }

  listen(port?: number | string | null, host?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string | null, host?: string, listeningListener?: () => void): this;
  listen(port?: number | string | null, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string | null, listeningListener?: () => void): this;
  listen(options: ServerListenOptions, listeningListener?: () => void): this;
  listen(listeningListener?: () => void): this;
  listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (last as () => void) : undefined;
    const a0 = args[0];
    let o: ServerListenOptions;
    if (a0 !== null && typeof a0 === 'object') {
      o = { ...(a0 as ServerListenOptions) };
    } else if (isPipeName(a0)) {
      o = { path: a0 };
    } else {
      o = {};
      if (a0 !== undefined && a0 !== null && typeof a0 !== 'function') o.port = a0 as number | string;
      if (typeof args[1] === 'string') {
        o.host = args[1];
        if (typeof args[2] === 'number') o.backlog = args[2];
      } else if (typeof args[1] === 'number') {
        o.backlog = args[1];
      }
    }
    if (this._handle !== null) {
      throw codeError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    }
    if (o.signal !== undefined) validateAbortSignal(o.signal, 'options.signal');
    // listen(), listen(null), listen(cb) and { port: undefined | null } take an ephemeral port.
    if (args.length === 0 || typeof a0 === 'function' || a0 === null || ('port' in o && (o.port === undefined || o.port === null))) o.port = 0;
    let port = 0;
    if (typeof o.port === 'number' || typeof o.port === 'string') {
      port = validatePort(o.port, 'options.port');
    } else if (o.path !== undefined || o.fd !== undefined || o.handle !== undefined || o._handle !== undefined) {
      if (cb !== undefined) this.once('listening', cb);
      // No Unix sockets or host descriptors exist on a synack stack.
      const err = o.fd !== undefined ? netError('ENOTSOCK', 'listen') : netError('EAFNOSUPPORT', 'listen', String(o.path ?? ''));
      process.nextTick(() => this.emit('error', err));
      return this;
    } else {
      throw errInvalidArgValue('options', o, 'must have the property "port" or "path"');
    }
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
    if (o.ipv6Only === true) req.ipv6Only = true;
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
    this._handle = new ServerHandle((err, clientHandle) => this.#onHandle(err, clientHandle));
    const bound = this.#listener.address();
    this.#key = `${bound.family.slice(-1)}:${bound.address}:${port}`;
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
    if (this.maxConnections !== undefined && this.#sockets.size + this.#accepting >= this.maxConnections) {
      closeLikeLinux(conn, this.#stack.clock.now());
      defer(() =>
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
    const h = new TcpHandle(this.#stack);
    h.conn = conn;
    this.#accepting++;
    // Events leave segment processing on a microtask; the handle goes through onconnection as in Node.
    defer(() => {
      this.#accepting--;
      if (this._handle !== null) this._handle.onconnection(null, h);
      else closeLikeLinux(conn, this.#stack.clock.now(), true);
    });
  }

  /** Node's onconnection: apply the server's options to the handle, wrap it, emit 'connection'. */
  #onHandle(err: Error | null, h: TcpHandle): void {
    if (err !== null) {
      this.emit('error', err);
      return;
    }
    const sopts: SocketOptions = { stack: this.#stack, handle: h, allowHalfOpen: this.allowHalfOpen, pauseOnCreate: this.pauseOnConnect };
    if (this.highWaterMark !== undefined) sopts.highWaterMark = this.highWaterMark;
    const s = this.createSocket(sopts);
    if (this.noDelay && typeof h.setNoDelay === 'function') {
      s[kAccept]({ noDelay: true });
      h.setNoDelay(true);
    }
    if (this.keepAlive && typeof h.setKeepAlive === 'function') {
      s[kAccept]({ keepAlive: true, keepAliveInitialDelay: this.keepAliveInitialDelay });
      h.setKeepAlive(true, this.keepAliveInitialDelay);
    }
    s.server = this;
    this.#sockets.add(s);
    s.once('close', () => {
      this.#sockets.delete(s);
      this.#emitCloseIfDrained();
    });
    this.emit('connection', s);
  }

  /** captureRejections: a rejected 'connection' listener destroys that socket (Node's behaviour). */
  override [EventEmitter.captureRejectionSymbol](err: Error, event: string, ...args: unknown[]): void {
    if (event === 'connection' && args[0] instanceof Socket) args[0].destroy(err);
    else this.emit('error', err);
  }

  address(): AddressInfo | null {
    return this.#listener?.address() ?? null;
  }

  /** Stop accepting now; 'close' (and `cb`) follow once every accepted socket has closed. */
  close(cb?: (err?: Error) => void): this {
    if (typeof cb === 'function') {
      if (this.#listener === null) {
        this.once('close', () => cb(codeError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      } else {
        this.once('close', () => cb());
      }
    }
    if (this.#listener !== null) {
      this.#listener.close();
      this.#listener = null;
      this._handle = null;
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
