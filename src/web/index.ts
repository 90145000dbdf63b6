// synack's browser-friendly TCP API ("synack/web"): connect() resolves to a connection made of a
// ReadableStream and a WritableStream with a `closed` promise; listen() is an async iterable of
// such connections. No node:* imports, so it bundles for browsers with the rest of the stack.
import type { Stack } from '../stack/stack.js';
import type { TcpListener } from '../stack/tcp-host.js';
import type { TcpConfigInput } from '../tcp/config.js';
import type { TcpConnection } from '../tcp/connection.js';
import { TcpStream, streamError, type StreamOptions, type TcpStreamError } from './connection.js';

export { TcpStream, streamError };
export type { StreamOptions, TcpStreamError };

export interface WebConnectOptions extends StreamOptions {
  address: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  tcp?: TcpConfigInput;
  /** Abort the attempt (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Open a TCP connection; resolves once it is ESTABLISHED, rejects with ECONNREFUSED, ETIMEDOUT, ... */
export function connect(stack: Stack, opts: WebConnectOptions): Promise<TcpStream> {
  return new Promise<TcpStream>((resolve, reject) => {
    let conn: TcpConnection;
    try {
      const req: Parameters<Stack['tcpConnect']>[0] = { address: opts.address, port: opts.port };
      if (opts.localAddress !== undefined) req.localAddress = opts.localAddress;
      if (opts.localPort !== undefined) req.localPort = opts.localPort;
      if (opts.tcp !== undefined) req.config = opts.tcp;
      conn = stack.tcpConnect(req);
    } catch (e) {
      reject(e as Error);
      return;
    }
    const where = `${opts.address.includes(':') ? `[${opts.address}]` : opts.address}:${opts.port}`;
    const onAbort = (): void => {
      conn.abort();
      reject(opts.signal?.reason ?? streamError('ABORT_ERR', 'connect aborted'));
    };
    if (opts.signal !== undefined) {
      if (opts.signal.aborted) {
        onAbort();
        return;
      }
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }
    const done = (): void => {
      opts.signal?.removeEventListener('abort', onAbort);
      conn.hooks.onError = () => {};
      conn.hooks.onConnected = () => {};
    };
    conn.hooks.onError = (code) => {
      done();
      reject(streamError(code, `connect ${code} ${where}`));
    };
    conn.hooks.onConnected = () => {
      done();
      const info = stack.connectionInfo(conn);
      if (info === undefined) {
        reject(streamError('ECONNABORTED', `connect ECONNABORTED ${where}`));
        return;
      }
      resolve(new TcpStream(stack, conn, info, opts));
    };
  });
}

export interface WebListenOptions extends StreamOptions {
  /** Local address; omit for every address. */
  address?: string;
  /** 0 or omitted: an ephemeral port (see `port` on the result). */
  port?: number;
  backlog?: number;
  tcp?: TcpConfigInput;
}

/** A listening socket: `for await (const conn of listener)` accepts connections until close(). */
export class WebListener implements AsyncIterable<TcpStream> {
  readonly port: number;
  readonly address: string;
  #listener: TcpListener;
  #queue: TcpStream[] = [];
  #waiters: Array<(r: IteratorResult<TcpStream>) => void> = [];
  #closed = false;

  constructor(stack: Stack, opts: WebListenOptions) {
    const req: Parameters<Stack['tcpListen']>[0] = {};
    if (opts.address !== undefined) req.address = opts.address;
    if (opts.port !== undefined) req.port = opts.port;
    if (opts.backlog !== undefined) req.backlog = opts.backlog;
    if (opts.tcp !== undefined) req.config = opts.tcp;
    this.#listener = stack.tcpListen(req, (conn, info) => {
      const s = new TcpStream(stack, conn, info, opts);
      const w = this.#waiters.shift();
      if (w !== undefined) w({ value: s, done: false });
      else this.#queue.push(s);
    });
    const a = this.#listener.address();
    this.port = a.port;
    this.address = a.address;
  }

  /** The next connection, or null once the listener is closed. */
  async accept(): Promise<TcpStream | null> {
    const r = await this.#next();
    return r.done === true ? null : r.value;
  }

  #next(): Promise<IteratorResult<TcpStream>> {
    const s = this.#queue.shift();
    if (s !== undefined) return Promise.resolve({ value: s, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stop listening; connections not yet taken from the iterator are reset. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const s of this.#queue.splice(0)) s.abort();
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<TcpStream> {
    return {
      next: () => this.#next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

export function listen(stack: Stack, opts: WebListenOptions = {}): WebListener {
  return new WebListener(stack, opts);
}
export { connectRelay, attachRelay } from './relay.js';
export type { RelayLink, RelayHello, WebSocketLike } from './relay.js';
export { V86Link, attachV86 } from './v86.js';
export type { V86Bus } from './v86.js';
