// The `_handle` of a synack Socket or Server, shaped like Node's TCP wrap where user code and
// libraries reach for it: setNoDelay / setKeepAlive (seconds) on the connection, close(), and a
// server handle's onconnection(err, clientHandle), which accepted connections pass through.
import type { Stack } from '../stack/stack.js';
import type { TcpConnection } from '../tcp/connection.js';
import { defer } from './defer.js';

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

/** Ids for getAsyncId(), far above the ones Node's async_hooks hands out in a normal process. */
let nextAsyncId = 1 << 30;

export class TcpHandle {
  /** The connection, once connect() has opened it or a listener accepted it. */
  conn: TcpConnection | null = null;
  closed = false;
  /** Set by the owning Socket: called when user code closes the handle directly. */
  onclose: (() => void) | null = null;
  /** Whether the owner reads from the connection (Node's http flips it with readStop/readStart). */
  reading = false;
  /** Set by the owning Socket: reading was started or stopped from outside. */
  onreadchange: ((reading: boolean) => void) | null = null;

  /** No host descriptor stands behind a synack connection. */
  readonly fd = -1;
  readonly #asyncId = nextAsyncId++;

  constructor(readonly stack: Stack) {}

  /** Node's http client asks a reused socket's handle for its async id (a trigger id, any number). */
  getAsyncId(): number {
    return this.#asyncId;
  }

  /** TCP_NODELAY on the live connection; returns 0 as libuv does. */
  setNoDelay(enable: boolean): number {
    const c = this.conn;
    if (c !== null && c.state !== 'CLOSED') {
      c.ownConfig().noDelay = enable;
      if (enable) c.hooks.onPollNeeded?.(); // small segments held by Nagle may leave now
    }
    return 0;
  }

  /** SO_KEEPALIVE with TCP_KEEPIDLE in seconds (0 keeps the configured idle time). */
  setKeepAlive(enable: boolean, delaySeconds: number): number {
    const c = this.conn;
    if (c !== null && c.state !== 'CLOSED') {
      const ka = c.ownConfig().keepAlive;
      ka.enabled = enable;
      if (delaySeconds > 0) ka.idle = delaySeconds * 1000;
      c.restartKeepalive(this.stack.clock.now());
    }
    return 0;
  }

  readStart(): number {
    this.reading = true;
    this.onreadchange?.(true);
    return 0;
  }

  readStop(): number {
    this.reading = false;
    this.onreadchange?.(false);
    return 0;
  }

  /** Close the descriptor: Linux close() on the connection; the owner's later writes fail EBADF. */
  close(cb?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    const c = this.conn;
    if (c !== null) closeLikeLinux(c, this.stack.clock.now());
    this.onclose?.();
    if (typeof cb === 'function') defer(cb);
  }
}

/** A listening server's handle: every accepted connection goes through onconnection. */
export class ServerHandle {
  constructor(public onconnection: (err: Error | null, clientHandle: TcpHandle) => void) {}
}
