// A Node `net.Socket` over a synack TCP connection: a stream.Duplex whose writes complete only when
// the TCP send buffer took every byte (so write() returns false and 'drain' follows the peer's
// window) and whose reads stop pulling from TCP when push() says the stream is full (so our receive
// window closes); destroy() mirrors Linux close(): RST when unread data remains or the connection
// is not established, otherwise FIN and release (RFC 9293 3.10.4, 3.10.5; RFC 2525 2.17).
import { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import type { Stack } from '../stack/stack.js';
import type { ConnectionInfo, ConnectOptions as StackConnectOptions } from '../stack/tcp-host.js';
import type { TcpConnection, TcpErrorCode } from '../tcp/connection.js';
import type { TcpConfigInput } from '../tcp/config.js';
import type { TimerHandle } from '../util/clock.js';
import { netError, lookupError, codeError, validatePort, type NetError } from './errors.js';

/** Node's dns.lookup signature (the `all: false` form is enough). */
export type LookupFunction = (
  hostname: string,
  options: { family?: number },
  callback: (err: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void,
) => void;

export interface SocketOptions {
  /** The stack this socket's connections live on (createNet fills it in). */
  stack?: Stack;
  /** Keep the writable side open after the peer's FIN (default false, as Node). */
  allowHalfOpen?: boolean;
  highWaterMark?: number;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  signal?: AbortSignal;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Host names this socket may connect to by name (name -> address). */
  hosts?: Readonly<Record<string, string>>;
  lookup?: LookupFunction;
  /** TCP settings (buffer sizes, congestion control, ...) for connections this socket opens. */
  tcp?: TcpConfigInput;
}

export interface SocketConnectOptions {
  port: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: number;
  lookup?: LookupFunction;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
  allowHalfOpen?: boolean;
  /** IPC is not supported; present only so Node option objects type-check. */
  path?: string;
  tcp?: TcpConfigInput;
}

export type ConnectArgs =
  | [options: SocketConnectOptions, connectListener?: () => void]
  | [port: number | string, host?: string, connectListener?: () => void]
  | [port: number | string, connectListener?: () => void];

/** Split Node's connect(...) overloads into an options object and a listener. */
export function normalizeConnectArgs(args: readonly unknown[]): [SocketConnectOptions, (() => void) | undefined] {
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? (last as () => void) : undefined;
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object') return [a0 as SocketConnectOptions, cb];
  const opts: SocketConnectOptions = { port: a0 as number | string };
  if (typeof args[1] === 'string') opts.host = args[1];
  return [opts, cb];
}

/** Internal: wrap a connection a listener accepted. */
export const kAccept = Symbol('synack.accept');

export interface AcceptOptions {
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

/** Largest chunk handed to push() at once. */
const READ_CHUNK = 64 * 1024;
const noop = (): void => {};

/** Close a connection the way Linux close() does: RST if unread data or not established, else FIN. */
export function closeLikeLinux(c: TcpConnection, now: number, reset = false): void {
  if (c.state === 'CLOSED') return;
  if (reset || c.recvAvailable > 0 || c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED' || c.state === 'LISTEN') {
    c.abort();
  } else {
    c.close(now);
    c.release(now);
  }
}

interface PendingWrite {
  data: Uint8Array;
  off: number;
  cb: (err?: Error | null) => void;
}

export class Socket extends Duplex {
  /** True between connect() and 'connect'. */
  connecting = false;
  /** Idle timeout set by setTimeout(), ms (undefined when never set). */
  timeout: number | undefined = undefined;
  /** The Server that accepted this socket, if any. */
  server: unknown = null;

  readonly #stack: Stack;
  #conn: TcpConnection | null = null;
  #info: ConnectionInfo | null = null;
  #wantRead = false;
  #readQueued = false;
  #writeQueued = false;
  #eofPushed = false;
  #pending: PendingWrite | null = null;
  #finalCb: ((err?: Error | null) => void) | null = null;
  #accepted = 0;
  #bytesRead = 0;
  #reset = false;
  #writeAfterFin = false;
  #lastActive = 0;
  #timer: TimerHandle | null = null;
  #noDelay: boolean | undefined;
  #keepAlive: { enable: boolean; delay: number } | undefined;
  readonly #tcp: TcpConfigInput | undefined;
  readonly #hosts: Readonly<Record<string, string>> | undefined;
  readonly #lookup: LookupFunction | undefined;

  constructor(options: SocketOptions = {}) {
    const allowHalfOpen = options.allowHalfOpen === true;
    super({
      allowHalfOpen,
      emitClose: false,
      autoDestroy: true,
      decodeStrings: true,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.readableHighWaterMark !== undefined ? { readableHighWaterMark: options.readableHighWaterMark } : {}),
      ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    if (options.stack === undefined) {
      throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'a synack Socket needs a stack: use createNet(stack).Socket');
    }
    this.#stack = options.stack;
    this.#tcp = options.tcp;
    this.#hosts = options.hosts;
    this.#lookup = options.lookup;
    if (options.noDelay !== undefined) this.#noDelay = options.noDelay;
    if (options.keepAlive === true) this.#keepAlive = { enable: true, delay: options.keepAliveInitialDelay ?? 0 };
    this.on('end', () => {
      if (!this.allowHalfOpen) this.#writeAfterFin = true;
    });
  }

  // --- connecting -------------------------------------------------------------------------------

  connect(options: SocketConnectOptions, connectListener?: () => void): this;
  connect(port: number | string, host?: string, connectListener?: () => void): this;
  connect(port: number | string, connectListener?: () => void): this;
  connect(...args: unknown[]): this {
    const [opts, cb] = normalizeConnectArgs(args);
    if (this.connecting || this.#conn !== null) {
      throw codeError(Error, 'ERR_SOCKET_CONNECTING', 'Socket is already connecting or connected');
    }
    if (opts.port === undefined && opts.path !== undefined) {
      throw codeError(Error, 'ERR_NOT_SUPPORTED', 'synack sockets speak TCP only: IPC paths are not supported');
    }
    if (typeof opts.port !== 'number' && typeof opts.port !== 'string') {
      throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "options.port" property must be of type number or string. Received ${typeof opts.port}`);
    }
    const port = validatePort(opts.port);
    if (cb !== undefined) this.once('connect', cb);
    if (opts.noDelay !== undefined) this.#noDelay = opts.noDelay;
    if (opts.keepAlive === true) this.#keepAlive = { enable: true, delay: opts.keepAliveInitialDelay ?? 0 };
    if (opts.timeout !== undefined) this.setTimeout(opts.timeout);
    this.connecting = true;
    const host = opts.host ?? 'localhost';
    this.#resolve(host, opts, (err, address) => {
      if (this.destroyed) return;
      if (err !== null) this.destroy(err);
      else this.#open(address, port, opts);
    });
    return this;
  }

  #resolve(host: string, opts: SocketConnectOptions, cb: (err: Error | null, address: string) => void): void {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (isIP(bare) !== 0) {
      process.nextTick(cb, null, bare);
      return;
    }
    const mapped = this.#hosts?.[bare];
    if (mapped !== undefined) {
      process.nextTick(() => {
        this.emit('lookup', null, mapped, isIP(mapped), bare);
        cb(null, mapped);
      });
      return;
    }
    const lookup = opts.lookup ?? this.#lookup;
    if (lookup === undefined) {
      process.nextTick(() => {
        const e = lookupError(bare);
        this.emit('lookup', e, undefined, undefined, bare);
        cb(e, '');
      });
      return;
    }
    lookup(bare, opts.family !== undefined ? { family: opts.family } : {}, (err, address, family) => {
      const first = Array.isArray(address) ? address[0]?.address : address;
      this.emit('lookup', err, first, family, bare);
      if (err !== null) cb(err, '');
      else if (first === undefined || isIP(first) === 0) cb(lookupError(bare), '');
      else cb(null, first);
    });
  }

  #open(address: string, port: number, opts: SocketConnectOptions): void {
    const req: StackConnectOptions = { address, port, config: this.#tcpConfig() };
    if (opts.localAddress !== undefined) req.localAddress = opts.localAddress;
    if (opts.localPort !== undefined) req.localPort = opts.localPort;
    let c: TcpConnection;
    try {
      c = this.#stack.tcpConnect(req);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      this.destroy(typeof code === 'string' && code.startsWith('E') && !code.startsWith('ERR_') ? netError(code, 'connect', address, port) : (e as Error));
      return;
    }
    this.#conn = c;
    this.#info = this.#stack.connectionInfo(c) ?? null;
    this.#hook(c);
    this.#touch();
    this.#flushWrite();
  }

  #tcpConfig(): TcpConfigInput {
    const cfg: TcpConfigInput = { ...this.#tcp };
    if (this.#noDelay !== undefined) cfg.noDelay = this.#noDelay;
    if (this.#keepAlive !== undefined) {
      cfg.keepAlive = { ...cfg.keepAlive, enabled: this.#keepAlive.enable };
      if (this.#keepAlive.delay > 0) cfg.keepAlive.idle = this.#keepAlive.delay;
    }
    return cfg;
  }

  /** Wrap a connection a listener accepted (already ESTABLISHED). */
  [kAccept](conn: TcpConnection, info: ConnectionInfo, opts: AcceptOptions): void {
    this.#conn = conn;
    this.#info = info;
    this.#hook(conn);
    if (opts.noDelay === true) this.setNoDelay(true);
    if (opts.keepAlive === true) this.setKeepAlive(true, opts.keepAliveInitialDelay ?? 0);
    this.#touch();
    if (opts.pauseOnConnect === true) this.pause();
    else this.read(0);
  }

  /** Install our hooks one by one (the stack keeps its own); every event is handled on a microtask. */
  #hook(c: TcpConnection): void {
    const h = c.hooks;
    h.onConnected = () => queueMicrotask(() => this.#onConnected(c));
    h.onReadable = () => {
      if (this.#readQueued) return;
      this.#readQueued = true;
      queueMicrotask(this.#runRead);
    };
    h.onWritable = () => {
      if (this.#writeQueued) return;
      this.#writeQueued = true;
      queueMicrotask(this.#runWrite);
    };
    h.onError = (code, message) => {
      const err = this.#mapError(c, code, message);
      queueMicrotask(() => {
        if (this.#conn === c && !this.destroyed) this.destroy(err);
      });
    };
    h.onClosed = () => queueMicrotask(() => this.#onClosed(c));
  }

  #unhook(c: TcpConnection): void {
    const h = c.hooks;
    h.onConnected = noop;
    h.onReadable = noop;
    h.onWritable = noop;
    h.onError = noop;
    h.onClosed = noop;
  }

  /** Node's syscall/code for a TCP failure, decided while the connection still has its state. */
  #mapError(c: TcpConnection, code: TcpErrorCode, message: string): NetError {
    const info = this.#info;
    if (c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED') {
      return netError(code, 'connect', info?.remoteAddress, info?.remotePort);
    }
    // Linux (tcp_reset): a reset in CLOSE-WAIT reports EPIPE, the peer is gone and we were writing.
    if (code === 'ECONNRESET' && c.state === 'CLOSE-WAIT') return netError('EPIPE', 'write');
    const e = netError(code, code === 'EPIPE' ? 'write' : 'read');
    void message;
    return e;
  }

  #onConnected(c: TcpConnection): void {
    if (this.#conn !== c || this.destroyed) return;
    this.connecting = false;
    this.#info = this.#stack.connectionInfo(c) ?? this.#info;
    this.#touch();
    this.emit('connect');
    this.emit('ready');
    if (this.destroyed) return;
    if (this.#finalCb !== null) {
      const cb = this.#finalCb;
      this.#finalCb = null;
      c.close();
      cb();
    }
    if (!this.isPaused()) this.read(0);
  }

  #onClosed(c: TcpConnection): void {
    if (this.#conn !== c || this.destroyed) return;
    if (c.finReceived && c.finQueued) {
      // Both directions finished cleanly: deliver what is left and let the stream wind down.
      this.#pump();
      return;
    }
    this.destroy(netError('ECONNABORTED', 'read'));
  }

  // --- reading ------------------------------------------------------------------------------------

  readonly #runRead = (): void => {
    this.#readQueued = false;
    this.#pump();
  };

  override _read(_size: number): void {
    this.#wantRead = true;
    this.#pump();
  }

  /** Move bytes from the TCP receive buffer into the stream while it wants more. */
  #pump(): void {
    const c = this.#conn;
    if (c === null || this.destroyed) return;
    while (this.#wantRead && c.recvAvailable > 0) {
      const u8 = c.recv(Math.min(c.recvAvailable, READ_CHUNK));
      if (u8 === null) break;
      this.#bytesRead += u8.length;
      this.#touch();
      if (!this.push(Buffer.from(u8.buffer, u8.byteOffset, u8.length))) this.#wantRead = false;
      if (this.#conn !== c || this.destroyed) return;
    }
    if (!this.#eofPushed && c.finReceived && c.recvAvailable === 0) {
      this.#eofPushed = true;
      this.push(null);
    }
  }

  // --- writing ------------------------------------------------------------------------------------

  readonly #runWrite = (): void => {
    this.#writeQueued = false;
    this.#flushWrite();
  };

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.#pending = { data: chunk, off: 0, cb };
    this.#flushWrite();
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (error?: Error | null) => void): void {
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.#pending = { data, off: 0, cb };
    this.#flushWrite();
  }

  /** Hand the pending chunk to TCP; its callback runs only when every byte fit in the send buffer. */
  #flushWrite(): void {
    const p = this.#pending;
    const c = this.#conn;
    if (p === null || c === null) return;
    if (p.off < p.data.length) {
      let n: number;
      try {
        n = c.send(p.off === 0 ? p.data : p.data.subarray(p.off));
      } catch {
        this.#pending = null;
        p.cb(netError('EPIPE', 'write'));
        return;
      }
      if (n > 0) {
        p.off += n;
        this.#accepted += n;
        this.#touch();
      }
      if (p.off < p.data.length) return; // the rest waits for onWritable
    }
    this.#pending = null;
    p.cb();
  }

  override _final(cb: (error?: Error | null) => void): void {
    const c = this.#conn;
    if (c === null || this.connecting) {
      this.#finalCb = cb; // FIN after the handshake, as Node does for end() while connecting
      return;
    }
    c.close();
    cb();
  }

  /** After the peer's FIN on a socket without allowHalfOpen, writes fail as in Node. */
  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (this.#writeAfterFin && this.writableEnded) {
      const done = typeof encoding === 'function' ? encoding : cb;
      const er = codeError(Error, 'EPIPE', 'This socket has been ended by the other party');
      if (typeof done === 'function') process.nextTick(done as (e: Error) => void, er);
      this.destroy(er);
      return false;
    }
    return super.write(chunk, encoding as BufferEncoding, cb as (error: Error | null | undefined) => void);
  }

  // --- closing ------------------------------------------------------------------------------------

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.connecting = false;
    this.#cancelTimer();
    this.#pending = null;
    this.#finalCb = null;
    const c = this.#conn;
    if (c !== null) {
      this.#unhook(c);
      closeLikeLinux(c, this.#stack.clock.now(), this.#reset);
    }
    cb(err);
    process.nextTick(() => this.emit('close', err !== null && err !== undefined));
  }

  /** End the writable side, then destroy once everything is flushed. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Close with RST (SO_LINGER 0), discarding anything unsent. */
  resetAndDestroy(): this {
    this.#reset = true;
    return this.destroy();
  }

  // --- options ------------------------------------------------------------------------------------

  setNoDelay(noDelay = true): this {
    const c = this.#conn;
    this.#noDelay = noDelay;
    if (c !== null && c.state !== 'CLOSED') {
      c.ownConfig().noDelay = noDelay;
      if (noDelay) c.hooks.onPollNeeded?.(); // small segments held by Nagle may leave now
    }
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    const c = this.#conn;
    this.#keepAlive = { enable, delay: initialDelay };
    if (c !== null && c.state !== 'CLOSED') {
      const ka = c.ownConfig().keepAlive;
      ka.enabled = enable;
      if (initialDelay > 0) ka.idle = initialDelay;
      c.restartKeepalive(this.#stack.clock.now());
    }
    return this;
  }

  /** Emit 'timeout' after `ms` without reads or writes (0 disables); the socket stays open. */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "msecs" is out of range. It must be a non-negative finite number. Received ${String(ms)}`);
    }
    this.timeout = ms;
    if (callback !== undefined) {
      if (ms === 0) this.off('timeout', callback);
      else this.once('timeout', callback);
    }
    this.#cancelTimer();
    if (ms > 0 && !this.destroyed) {
      this.#lastActive = this.#stack.clock.now();
      this.#armTimer();
    }
    return this;
  }

  #touch(): void {
    this.#lastActive = this.#stack.clock.now();
    if (this.#timer === null && this.timeout !== undefined && this.timeout > 0 && !this.destroyed) this.#armTimer();
  }

  #armTimer(): void {
    const ms = this.timeout ?? 0;
    this.#timer = this.#stack.clock.schedule(this.#lastActive + ms, this.#onTimer);
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    const ms = this.timeout ?? 0;
    if (ms <= 0 || this.destroyed) return;
    if (this.#stack.clock.now() - this.#lastActive >= ms) {
      this.emit('timeout'); // re-armed by the next activity, as Node's refreshed timer is
    } else {
      this.#armTimer();
    }
  };

  #cancelTimer(): void {
    if (this.#timer !== null) {
      this.#stack.clock.cancel(this.#timer);
      this.#timer = null;
    }
  }

  /** No-ops: what keeps a process alive is the link and the clock, not a socket. */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  // --- properties ---------------------------------------------------------------------------------

  address(): { address: string; family: string; port: number } | Record<string, never> {
    const i = this.#info;
    return i === null ? {} : { address: i.localAddress, family: i.family, port: i.localPort };
  }

  get remoteAddress(): string | undefined {
    return this.#info?.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#info?.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.#info?.family;
  }
  get localAddress(): string | undefined {
    return this.#info?.localAddress;
  }
  get localPort(): number | undefined {
    return this.#info?.localPort;
  }
  get localFamily(): string | undefined {
    return this.#info?.family;
  }
  get bytesRead(): number {
    return this.#bytesRead;
  }
  /** Bytes handed to TCP plus bytes still queued in the stream, as Node counts them. */
  get bytesWritten(): number {
    return this.#accepted + this.writableLength - (this.#pending?.off ?? 0);
  }
  get pending(): boolean {
    return this.#conn === null || this.connecting;
  }
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.#conn === null || this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }
  /** The TCP connection underneath (synack extension), null before connect. */
  get tcp(): TcpConnection | null {
    return this.#conn;
  }
}
