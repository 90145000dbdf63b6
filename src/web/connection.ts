// One TCP connection as a pair of WHATWG streams (browsers and Node alike, no node:* imports): a
// pull-based ReadableStream that takes bytes from the TCP receive buffer only when its queue has
// room (so the receive window closes behind a slow reader) and a WritableStream whose writes settle
// only when TCP's send buffer took every byte; closing both sides releases the connection the way
// Linux close() does (RFC 9293 3.10.4, 3.10.5).
import type { Stack } from '../stack/stack.js';
import type { ConnectionInfo } from '../stack/tcp-host.js';
import type { TcpConnection, TcpErrorCode } from '../tcp/connection.js';

/** An Error with Node's `code` (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ...). */
export interface TcpStreamError extends Error {
  code: string;
}

export function streamError(code: string, message: string): TcpStreamError {
  const e = new Error(message) as TcpStreamError;
  e.code = code;
  return e;
}

export interface StreamOptions {
  /** Bytes the readable queues before it stops pulling from TCP (default 64 KiB). */
  readableHighWaterMark?: number;
  /** Bytes the writable queues before writer.ready waits (default 64 KiB). */
  writableHighWaterMark?: number;
}

const READ_CHUNK = 64 * 1024;
const noop = (): void => {};

type Waiter = (() => void) | null;

/** A connected TCP socket seen through web streams. */
export class TcpStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves when both directions are finished (or close() was called); rejects on a TCP error. */
  readonly closed: Promise<void>;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly family: 'IPv4' | 'IPv6';

  #error: TcpStreamError | null = null;
  #readDone = false;
  #writeDone = false;
  #released = false;
  #readWaiter: Waiter = null;
  #writeWaiter: Waiter = null;
  #resolveClosed!: () => void;
  #rejectClosed!: (e: Error) => void;
  #readCtrl: ReadableStreamDefaultController<Uint8Array> | null = null;
  #writeCtrl: WritableStreamDefaultController | null = null;

  constructor(
    private readonly stack: Stack,
    /** The TCP connection underneath. */
    readonly tcp: TcpConnection,
    info: ConnectionInfo,
    opts: StreamOptions = {},
  ) {
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.localAddress = info.localAddress;
    this.localPort = info.localPort;
    this.family = info.family;
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(noop); // an error also reaches the streams; nobody has to await `closed`
    const h = tcp.hooks;
    h.onReadable = () => this.#wakeRead();
    h.onWritable = () => this.#wakeWrite();
    h.onError = (code: TcpErrorCode) => this.#fail(streamError(code, `${code === 'EPIPE' ? 'write' : 'read'} ${code}`));
    h.onClosed = () => {
      if (!(tcp.finReceived && tcp.finQueued)) this.#fail(streamError('ECONNABORTED', 'read ECONNABORTED'));
      this.#wakeRead();
      this.#wakeWrite();
    };

    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#readCtrl = c;
        },
        pull: (c) => this.#pull(c),
        cancel: () => {
          this.#readDone = true;
          this.#maybeFinished();
        },
      },
      { highWaterMark: opts.readableHighWaterMark ?? 64 * 1024, size: (chunk) => chunk.byteLength },
    );
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (c) => {
          this.#writeCtrl = c;
        },
        write: (chunk) => this.#write(chunk),
        close: () => {
          if (this.#error !== null) throw this.#error;
          this.tcp.close(this.stack.clock.now()); // FIN after everything queued
          this.#writeDone = true;
          this.#maybeFinished();
        },
        abort: () => {
          this.#writeDone = true;
          this.#readDone = true;
          this.#release(true);
        },
      },
      { highWaterMark: opts.writableHighWaterMark ?? 64 * 1024, size: (chunk) => chunk.byteLength },
    );
  }

  /** Give one chunk to the stream, waiting for TCP when nothing is buffered. */
  async #pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      if (this.#released && this.#error === null && this.#readDone) return;
      const avail = this.tcp.recvAvailable;
      if (avail > 0) {
        const chunk = this.tcp.recv(Math.min(avail, READ_CHUNK));
        if (chunk !== null) {
          c.enqueue(chunk);
          return;
        }
      }
      if (this.#error !== null) throw this.#error;
      if (this.tcp.finReceived) {
        c.close();
        this.#readDone = true;
        this.#maybeFinished();
        return;
      }
      await new Promise<void>((r) => (this.#readWaiter = r));
    }
  }

  /** Settles once TCP accepted every byte of `chunk`. */
  async #write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('TcpStream writes take Uint8Array chunks');
    let off = 0;
    while (off < chunk.length) {
      if (this.#error !== null) throw this.#error;
      let n: number;
      try {
        n = this.tcp.send(off === 0 ? chunk : chunk.subarray(off));
      } catch (e) {
        throw streamError('EPIPE', `write EPIPE (${(e as Error).message})`);
      }
      off += n;
      if (off < chunk.length) await new Promise<void>((r) => (this.#writeWaiter = r));
    }
  }

  #wakeRead(): void {
    const w = this.#readWaiter;
    this.#readWaiter = null;
    w?.();
  }

  #wakeWrite(): void {
    const w = this.#writeWaiter;
    this.#writeWaiter = null;
    w?.();
  }

  #fail(e: TcpStreamError): void {
    if (this.#error !== null || this.#released) return;
    this.#error = e;
    this.#released = true;
    this.#unhook();
    this.#rejectClosed(e);
    // Wake pending pull/write so they throw; streams with nothing pending are errored directly.
    try {
      if (!this.#readDone) this.#readCtrl?.error(e);
    } catch {
      /* already closed */
    }
    try {
      if (!this.#writeDone) this.#writeCtrl?.error(e);
    } catch {
      /* already closed */
    }
    this.#wakeRead();
    this.#wakeWrite();
  }

  #maybeFinished(): void {
    if (this.#readDone && this.#writeDone) this.#release(false);
  }

  /** Linux close(): RST when unread data remains (or on abort), otherwise FIN and release. */
  #release(reset: boolean): void {
    if (this.#released) return;
    this.#released = true;
    this.#unhook();
    const c = this.tcp;
    const now = this.stack.clock.now();
    if (c.state !== 'CLOSED') {
      if (reset || c.recvAvailable > 0 || c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED') c.abort();
      else {
        c.close(now);
        c.release(now);
      }
    }
    this.#resolveClosed();
    this.#wakeRead();
    this.#wakeWrite();
  }

  #unhook(): void {
    const h = this.tcp.hooks;
    h.onReadable = noop;
    h.onWritable = noop;
    h.onError = noop;
    h.onClosed = noop;
  }

  /**
   * Done with the connection: FIN after queued data (RST if unread data remains), both streams
   * end. Resolves with `closed`.
   */
  close(): Promise<void> {
    if (!this.#released) {
      const wasRead = this.#readDone;
      const wasWritten = this.#writeDone;
      this.#readDone = true;
      this.#writeDone = true;
      this.#release(false);
      try {
        if (!wasRead) this.#readCtrl?.close();
      } catch {
        /* already closed */
      }
      try {
        if (!wasWritten) this.#writeCtrl?.error(streamError('ERR_STREAM_DESTROYED', 'the connection was closed'));
      } catch {
        /* already closed */
      }
    }
    return this.closed;
  }

  /** Reset the connection (RST) at once. */
  abort(): void {
    this.#readDone = true;
    this.#writeDone = true;
    this.#release(true);
    const e = streamError('ECONNABORTED', 'the connection was aborted locally');
    try {
      this.#readCtrl?.error(e);
    } catch {
      /* already closed */
    }
    try {
      this.#writeCtrl?.error(e);
    } catch {
      /* already closed */
    }
  }
}
