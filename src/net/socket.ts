// A Node `net.Socket` over a synack TCP connection: a stream.Duplex whose writes complete only when
// the TCP send buffer took every byte (so write() returns false and 'drain' follows the peer's
// window) and whose reads stop pulling from TCP when push() says the stream is full (so our receive
// window closes); destroy() mirrors Linux close(): RST when unread data remains or the connection
// is not established, otherwise FIN and release (RFC 9293 3.10.4, 3.10.5; RFC 2525 2.17).
import { Duplex, addAbortSignal } from 'node:stream';
import { isIP } from 'node:net';
import type { Stack } from '../stack/stack.js';
import type { ConnectionInfo, ConnectOptions as StackConnectOptions } from '../stack/tcp-host.js';
import type { TcpConnection, TcpErrorCode } from '../tcp/connection.js';
import type { TcpConfigInput } from '../tcp/config.js';
import type { TimerHandle } from '../util/clock.js';
import { netError, lookupError, codeError, validatePort, type NetError } from './errors.js';
import { defer } from './defer.js';
import { Liveness } from './liveness.js';
import {
  normalizeConnectArgs, type ConnectArgs, type LookupFunction, type SocketConnectOptions, type SocketHandle, type SocketOptions,
} from './options.js';
import { TcpHandle, closeLikeLinux } from './handle.js';
import {
  errInvalidAddressFamily, errInvalidArgType, errInvalidArgValue, errInvalidIpAddress, errMissingArgs, errSocketClosed,
  errSocketClosedBeforeConnection, timerDuration, validateAbortSignal, validateBoolean, validateFunction,
  validateInt32, validateNumber,
} from './validate.js';

export { closeLikeLinux };

export { normalizeConnectArgs };
export type { LookupFunction, SocketOptions, SocketHandle, SocketConnectOptions, ConnectArgs };

/** Internal: wrap a connection a listener accepted. */
export const kAccept = Symbol('synack.accept');

/** What the Server already applied to an accepted connection's handle (Node's kSetNoDelay...). */
export interface AcceptOptions {
  noDelay?: boolean;
  keepAlive?: boolean;
  /** Seconds. */
  keepAliveInitialDelay?: number;
}

/** Largest chunk handed to push() at once. */
const READ_CHUNK = 64 * 1024;
const noop = (): void => {};

/** The write being handed to TCP: its chunks (one, or a corked _writev's), where it got to. */
interface PendingWrite {
  chunks: Uint8Array[];
  /** The chunk being sent and the offset in it. */
  idx: number;
  at: number;
  /** Bytes of all the chunks accepted by TCP so far. */
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
  /** Node's handle: null before connect() and after close, as in Node. */
  _handle: SocketHandle | null = null;

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
  /** Node's kSetNoDelay / kSetKeepAlive / kSetKeepAliveInitialDelay (seconds). */
  #noDelay: boolean;
  #keepAlive: boolean;
  #keepAliveDelay: number;
  readonly #onread: SocketOptions['onread'] | null = null;
  readonly #tcp: TcpConfigInput | undefined;
  readonly #hosts: Readonly<Record<string, string>> | undefined;
  readonly #lookup: LookupFunction | undefined;
  readonly #live: Liveness;

  constructor(options: SocketOptions = {}) {
    const o = options;
    if (o.objectMode) throw errInvalidArgValue('options.objectMode', o.objectMode, 'is not supported');
    if (o.readableObjectMode || o.writableObjectMode) {
      const k = o.readableObjectMode ? 'readableObjectMode' : 'writableObjectMode';
      throw errInvalidArgValue(`options.${k}`, o[k], 'is not supported');
    }
    super({
      allowHalfOpen: o.allowHalfOpen === true,
      emitClose: false,
      autoDestroy: true,
      decodeStrings: true,
      ...(o.highWaterMark !== undefined ? { highWaterMark: o.highWaterMark } : {}),
      ...(o.readableHighWaterMark !== undefined ? { readableHighWaterMark: o.readableHighWaterMark } : {}),
      ...(o.writableHighWaterMark !== undefined ? { writableHighWaterMark: o.writableHighWaterMark } : {}),
    });
    if (o.stack === undefined) {
      throw codeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'a synack Socket needs a stack: use createNet(stack).Socket');
    }
    this.#stack = o.stack;
    this.#live = new Liveness(o.stack.clock);
    this.#tcp = o.tcp;
    this.#hosts = o.hosts;
    this.#lookup = o.lookup;
    this.#noDelay = Boolean(o.noDelay);
    this.#keepAlive = Boolean(o.keepAlive);
    this.#keepAliveDelay = ~~(Math.max(0, o.keepAliveInitialDelay ?? 0) / 1000);
    const r = o.onread;
    if (r !== null && typeof r === 'object' && (r.buffer instanceof Uint8Array || typeof r.buffer === 'function') && typeof r.callback === 'function') {
      this.#onread = r;
    }
    this.on('end', () => {
      if (!this.allowHalfOpen) this.#writeAfterFin = true;
    });
    if (o.handle !== undefined && o.handle !== null) {
      this._handle = o.handle;
      if (o.handle instanceof TcpHandle && o.handle.conn !== null) this.#adopt(o.handle, o.handle.conn);
      if (o.readable !== false) {
        if (o.pauseOnCreate === true) this.pause();
        else this.read(0);
      }
    }
    if (o.signal !== undefined) {
      validateAbortSignal(o.signal, 'options.signal');
      addAbortSignal(o.signal, this); // an aborted signal destroys with AbortError, as Node's does
    }
  }

  // --- connecting -------------------------------------------------------------------------------

  connect(options: SocketConnectOptions, connectListener?: () => void): this;
  connect(port: number | string, host?: string, connectListener?: () => void): this;
  connect(port: number | string, connectListener?: () => void): this;
  connect(path: string, connectListener?: () => void): this;
  connect(...args: unknown[]): this {
    const [opts, cb] = normalizeConnectArgs(args);
    if (opts.port === undefined && (opts.path === undefined || opts.path === null)) throw errMissingArgs('options', 'port', 'path');
    if (this.destroyed) this.#renew();
    if (opts.path !== undefined && opts.path !== null && opts.port === undefined) {
      if (typeof opts.path !== 'string') throw errInvalidArgType('options.path', 'of type string', opts.path);
      this.#begin(cb);
      // A synack stack has no Unix domain sockets, so no path exists to connect to.
      const path = opts.path;
      process.nextTick(() => {
        if (this.connecting) this.destroy(netError('ENOENT', 'connect', path));
      });
      return this;
    }
    const { localAddress, localPort } = opts;
    if (localAddress && isIP(localAddress) === 0) throw errInvalidIpAddress(localAddress);
    if (localPort) validateNumber(localPort, 'options.localPort');
    if (opts.port !== undefined) {
      if (typeof opts.port !== 'number' && typeof opts.port !== 'string') throw errInvalidArgType('options.port', 'of type number or string', opts.port);
      validatePort(opts.port, 'Port');
    }
    const port = Number(opts.port) | 0;
    if (opts.autoSelectFamily !== undefined && opts.autoSelectFamily !== null) validateBoolean(opts.autoSelectFamily, 'options.autoSelectFamily');
    if (opts.autoSelectFamilyAttemptTimeout !== undefined && opts.autoSelectFamilyAttemptTimeout !== null) {
      validateInt32(opts.autoSelectFamilyAttemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1);
    }
    if (opts.lookup !== undefined && opts.lookup !== null) validateFunction(opts.lookup, 'options.lookup');
    if (this.#conn !== null) {
      // Node lets libuv refuse a second connect on a connected socket.
      process.nextTick(() => this.destroy(netError('EISCONN', 'connect')));
      return this;
    }
    this.#begin(cb);
    const host = opts.host || 'localhost';
    this.#resolve(host, port, opts, (err, address) => {
      if (!this.connecting || this.destroyed) return;
      if (err !== null) this.destroy(err);
      else this.#open(address, port, opts);
    });
    return this;
  }

  /** What every connect() does first: a handle, the listener, liveness. */
  #begin(cb: (() => void) | undefined): void {
    if (this._handle === null) this._handle = this.#newHandle();
    if (cb !== undefined) this.once('connect', cb);
    this.connecting = true;
    this.#activity();
  }

  /**
   * Liveness as libuv's for a TCP handle: active while connecting, reading (started and not
   * stopped by a full buffer or the peer's FIN) or writing, so a paused or finished socket lets
   * the process exit, like Node's.
   */
  #activity(): void {
    const tcpConnecting = this.connecting && this.#conn !== null; // a lookup that never answers holds nothing
    this.#live.active = !this.destroyed && (tcpConnecting || (this.#conn !== null && this.#wantRead && !this.#eofPushed) || this.#pending !== null);
  }

  #newHandle(): TcpHandle {
    const h = new TcpHandle(this.#stack);
    h.onclose = () => {
      if (this.#conn !== null) this.#unhook(this.#conn);
    };
    h.onreadchange = this.#onReadChange;
    return h;
  }

  /** readStart()/readStop() on our handle (Node's http server pauses sockets this way). */
  readonly #onReadChange = (on: boolean): void => {
    this.#wantRead = on;
    if (on) defer(this.#runRead);
    else this.#activity();
  };

  /** A destroyed socket connecting again starts over with fresh state, as Node's does. */
  #renew(): void {
    (this as unknown as { _undestroy(): void })._undestroy();
    this._handle = null;
    this.#conn = null;
    this.#info = null;
    this.#wantRead = false;
    this.#eofPushed = false;
    this.#pending = null;
    this.#finalCb = null;
    this.#accepted = 0;
    this.#bytesRead = 0;
    this.#reset = false;
    this.#writeAfterFin = false;
  }

  #resolve(host: string, port: number, opts: SocketConnectOptions, cb: (err: Error | null, address: string) => void): void {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (isIP(bare) !== 0) {
      process.nextTick(cb, null, bare);
      return;
    }
    const lookup = opts.lookup ?? this.#lookup;
    const mapped = this.#hosts?.[bare];
    if (lookup === undefined || lookup === null || (mapped !== undefined && opts.lookup === undefined)) {
      process.nextTick(() => {
        const e = mapped === undefined ? lookupError(bare) : null;
        this.emit('lookup', e, mapped, mapped === undefined ? undefined : isIP(mapped), bare);
        cb(e, mapped ?? '');
      });
      return;
    }
    // Node 20 (autoSelectFamily on by default) asks for every address unless a family or local
    // address pins one; the first usable answer is used.
    const family = opts.family === 4 || opts.family === 6 ? opts.family : undefined;
    const all = family === undefined && !opts.localAddress && opts.autoSelectFamily !== false;
    const dnsopts: { family?: number; hints: number; all?: boolean } = { hints: opts.hints ?? 0 };
    if (opts.family !== undefined) dnsopts.family = opts.family;
    if (all) dnsopts.all = true;
    lookup(bare, dnsopts, (err, address, fam) => {
      if (!this.connecting) return;
      if (err !== null) {
        this.emit('lookup', err, undefined, undefined, bare);
        cb(err, '');
        return;
      }
      const list = Array.isArray(address) ? address : [{ address: address as string, family: fam ?? 0 }];
      for (const a of list) this.emit('lookup', null, a.address, a.family, bare);
      const ok = list.find((a) => isIP(a.address) !== 0 && (a.family === 4 || a.family === 6));
      if (ok !== undefined) cb(null, ok.address);
      else if (list[0] === undefined || isIP(list[0].address) === 0) cb(errInvalidIpAddress(list[0]?.address), '');
      else cb(errInvalidAddressFamily(list[0].family, opts.host ?? bare, port), '');
    });
  }

  #open(address: string, port: number, opts: SocketConnectOptions): void {
    const req: StackConnectOptions = { address, port, config: { ...this.#tcp } };
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
    const h = this._handle;
    if (h instanceof TcpHandle) h.conn = c;
    this.#conn = c;
    this.#info = this.#stack.connectionInfo(c) ?? null;
    this.#hook(c);
    this.#touch();
    this.#activity();
  }

  /** Wrap a connection a listener accepted (already ESTABLISHED). */
  #adopt(h: TcpHandle, conn: TcpConnection): void {
    h.onclose = () => this.#unhook(conn);
    h.onreadchange = this.#onReadChange;
    this.#conn = conn;
    this.#info = this.#stack.connectionInfo(conn) ?? null;
    this.#hook(conn);
    this.#touch();
    if (conn.state === 'CLOSED') defer(() => this.#onClosed(conn)); // reset before the socket existed
  }

  /** Record what the Server applied to the accepted handle already. */
  [kAccept](opts: AcceptOptions): void {
    if (opts.noDelay === true) this.#noDelay = true;
    if (opts.keepAlive === true) {
      this.#keepAlive = true;
      this.#keepAliveDelay = opts.keepAliveInitialDelay ?? 0;
    }
  }
  /** Install our hooks one by one (the stack keeps its own); every event is handled on a microtask. */
  #hook(c: TcpConnection): void {
    const h = c.hooks;
    h.onConnected = () => defer(() => this.#onConnected(c));
    h.onReadable = () => {
      if (this.#readQueued) return;
      this.#readQueued = true;
      defer(this.#runRead);
    };
    h.onWritable = () => {
      if (this.#writeQueued) return;
      this.#writeQueued = true;
      defer(this.#runWrite);
    };
    h.onError = (code, message) => {
      const err = this.#mapError(c, code, message);
      defer(() => {
        if (this.#conn === c && !this.destroyed) this.destroy(err);
      });
    };
    h.onClosed = () => defer(() => this.#onClosed(c));
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
    // Node's afterConnect: options given before the handshake reach the handle now.
    const handle = this._handle;
    if (this.#noDelay && typeof handle?.setNoDelay === 'function') handle.setNoDelay(true);
    if (this.#keepAlive && typeof handle?.setKeepAlive === 'function') handle.setKeepAlive(true, this.#keepAliveDelay);
    this.emit('connect');
    this.emit('ready');
    if (this.destroyed) return;
    this.#flushWrite(); // writes made while connecting go out now (after 'connect', as in Node)
    this.#activity();
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
    this.#activity();
  };

  override _read(_size: number): void {
    this.#wantRead = true;
    this.#pump();
    this.#activity();
  }

  /** Move bytes from the TCP receive buffer into the stream while it wants more. */
  #pump(): void {
    const c = this.#conn;
    if (c === null || this.destroyed) return;
    const onread = this.#onread;
    while (this.#wantRead && c.recvAvailable > 0) {
      if (onread !== null && onread !== undefined) {
        // Node's onread: the caller's buffer is filled and handed over; no 'data' events.
        const buf = typeof onread.buffer === 'function' ? onread.buffer() : onread.buffer;
        const u8 = c.recv(Math.min(c.recvAvailable, buf.length));
        if (u8 === null || u8.length === 0) break;
        buf.set(u8);
        this.#bytesRead += u8.length;
        this.#touch();
        if (onread.callback.call(this, u8.length, buf) === false) this.#wantRead = false;
      } else {
        const u8 = c.recv(Math.min(c.recvAvailable, READ_CHUNK));
        if (u8 === null) break;
        this.#bytesRead += u8.length;
        this.#touch();
        if (!this.push(Buffer.from(u8.buffer, u8.byteOffset, u8.length))) this.#wantRead = false;
      }
      if (this.#conn !== c || this.destroyed) return;
    }
    if (!this.#eofPushed && c.finReceived && c.recvAvailable === 0) {
      if (onread !== null && onread !== undefined && typeof onread.buffer === 'function') onread.buffer(); // Node allocates one for the EOF read too
      this.#eofPushed = true;
      this.push(null);
      // As Node's onStreamRead: flush so 'end' is emitted even when nobody reads (then, without
      // allowHalfOpen, our side ends too and the socket closes).
      this.read(0);
    }
  }

  // --- writing ------------------------------------------------------------------------------------

  readonly #runWrite = (): void => {
    this.#writeQueued = false;
    this.#flushWrite();
    this.#activity();
  };

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    if (this.#writeRefused(cb)) return;
    this.#pending = { chunks: [chunk], idx: 0, at: 0, off: 0, cb };
    this.#flushWrite();
    this.#activity();
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (error?: Error | null) => void): void {
    if (this.#writeRefused(cb)) return;
    // Each chunk goes to TCP as it is (no concatenated copy: Node's http corks a response's head
    // and body into one _writev, and the body may be a whole file).
    this.#pending = { chunks: chunks.map((c) => c.chunk), idx: 0, at: 0, off: 0, cb };
    this.#flushWrite();
    this.#activity();
  }

  /** Node's checks before a write reaches the handle: none (ERR_SOCKET_CLOSED) or closed (EBADF). */
  #writeRefused(cb: (error?: Error | null) => void): boolean {
    if (this.connecting) return false;
    const h = this._handle;
    if (h === null) cb(errSocketClosed());
    else if (h instanceof TcpHandle && h.closed) cb(netError('EBADF', 'write'));
    else return false;
    return true;
  }

  /** Hand the pending chunk to TCP; its callback runs only when every byte fit in the send buffer. */
  #flushWrite(): void {
    const p = this.#pending;
    const c = this.#conn;
    if (p === null || c === null || this.connecting) return;
    for (; p.idx < p.chunks.length; p.idx++, p.at = 0) {
      const data = p.chunks[p.idx]!;
      if (p.at >= data.length) continue;
      let n: number;
      try {
        n = c.send(p.at === 0 ? data : data.subarray(p.at));
      } catch {
        this.#pending = null;
        p.cb(netError('EPIPE', 'write'));
        return;
      }
      if (n > 0) {
        p.at += n;
        p.off += n;
        this.#accepted += n;
        this.#touch();
      }
      if (p.at < data.length) return; // the rest waits for onWritable
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
    const wasConnecting = this.connecting;
    this.connecting = false;
    this.#live.active = false;
    this.#cancelTimer();
    const p = this.#pending;
    this.#pending = null;
    this.#finalCb = null;
    const c = this.#conn;
    const h = this._handle;
    if (c !== null) {
      this.#unhook(c);
      if (!(h instanceof TcpHandle && h.closed)) closeLikeLinux(c, this.#stack.clock.now(), this.#reset);
    }
    if (h instanceof TcpHandle) h.closed = true;
    this._handle = null;
    cb(err);
    // Node: a write waiting for the handshake fails once the socket closes without connecting.
    if (p !== null && (wasConnecting || c === null)) process.nextTick(p.cb, errSocketClosedBeforeConnection());
    process.nextTick(() => this.emit('close', err !== null && err !== undefined));
  }

  /** End the writable side, then destroy once everything is flushed. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Close with RST (SO_LINGER 0), discarding anything unsent; after the handshake if connecting. */
  resetAndDestroy(): this {
    if (this._handle === null) return this.destroy(errSocketClosed());
    const reset = (): void => {
      this.#reset = true;
      this.destroy();
    };
    if (this.connecting) this.once('connect', reset);
    else reset();
    return this;
  }

  // --- options ------------------------------------------------------------------------------------

  /** TCP_NODELAY, as Node: only a change reaches the handle; remembered until connected. */
  setNoDelay(enable?: unknown): this {
    const on = enable === undefined ? true : Boolean(enable);
    const h = this._handle;
    if (h === null || this.connecting) {
      this.#noDelay = on;
      return this;
    }
    if (typeof h.setNoDelay === 'function' && on !== this.#noDelay) {
      this.#noDelay = on;
      h.setNoDelay(on);
    }
    return this;
  }

  /** SO_KEEPALIVE with the idle time in ms (whole seconds reach TCP), as Node. */
  setKeepAlive(enable?: unknown, initialDelayMsecs?: number): this {
    const on = Boolean(enable);
    const delay = ~~((initialDelayMsecs ?? 0) / 1000);
    const h = this._handle;
    if (h === null || this.connecting) {
      this.#keepAlive = on;
      this.#keepAliveDelay = delay;
      return this;
    }
    if (typeof h.setKeepAlive !== 'function') return this;
    if (on !== this.#keepAlive || (on && this.#keepAliveDelay !== delay)) {
      this.#keepAlive = on;
      this.#keepAliveDelay = delay;
      h.setKeepAlive(on, delay);
    }
    return this;
  }

  /** Emit 'timeout' after `ms` without reads or writes (0 disables); the socket stays open. */
  setTimeout(ms: number, callback?: () => void): this {
    ms = timerDuration(ms, 'msecs');
    if (callback !== undefined) validateFunction(callback, 'callback');
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

  /** Keep the process alive while this socket is active (the default), as Node's handle does. */
  ref(): this {
    this.#live.refed = true;
    return this;
  }
  /** Let the process exit even though this socket is still open. */
  unref(): this {
    this.#live.refed = false;
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
  /** With onread, pausing stops reading from TCP (Node's readStop), so the callback waits too. */
  override pause(): this {
    if (this.#onread !== null && this.#onread !== undefined) this.#wantRead = false;
    return super.pause();
  }

  override resume(): this {
    super.resume();
    if (this.#onread !== null && this.#onread !== undefined && !this.connecting && !this.#wantRead) {
      this.#wantRead = true;
      defer(this.#runRead);
    }
    return this;
  }

  /** Bytes queued to write (Node's bufferSize; undefined without a handle). */
  get bufferSize(): number | undefined {
    return this._handle === null ? undefined : this.writableLength;
  }
  /** Node's legacy name for `connecting`. */
  get _connecting(): boolean {
    return this.connecting;
  }
  get pending(): boolean {
    return this._handle === null || this.connecting;
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
