// UDP sockets in the shape of Node's dgram.Socket essentials (RFC 768): bind through the stack,
// send(msg, port, address), 'message' events with (msg, rinfo), close. No node:* import.
import { Emitter } from './emitter.js';

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface UdpAddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

export type UdpSocketEvents = {
  message: (msg: Uint8Array, rinfo: RemoteInfo) => void;
  listening: () => void;
  close: () => void;
  error: (err: Error) => void;
};

/** What a socket needs from its stack. */
export interface UdpHost {
  udpSend(sock: UdpSocket, data: Uint8Array, port: number, address: string): void;
  udpClose(sock: UdpSocket): void;
}

type SendCallback = (err: Error | null, bytes: number) => void;

const encoder = new TextEncoder();

/**
 * The datagram as the application gets it: a copy, since the packet it came in may be reused by
 * the link once delivery returns (Link.onReceive: a TUN link reads the next batch into the same
 * memory), and the application may keep the message as long as it likes. In Node, a Buffer (over
 * the copy) so msg.toString() reads as text, as with dgram.
 */
function asMessage(data: Uint8Array): Uint8Array {
  const copy = data.slice();
  const B = (globalThis as { Buffer?: { from(ab: ArrayBufferLike, off: number, len: number): Uint8Array } }).Buffer;
  return B === undefined ? copy : B.from(copy.buffer, copy.byteOffset, copy.byteLength);
}

export class UdpSocket extends Emitter<UdpSocketEvents> {
  closed = false;
  bytesReceived = 0;
  bytesSent = 0;

  constructor(
    private readonly host: UdpHost,
    /** Bound address, or null for a wildcard bind. */
    readonly localAddress: Uint8Array | null,
    readonly localAddressText: string,
    readonly port: number,
  ) {
    super();
    queueMicrotask(() => {
      if (!this.closed) this.emit('listening');
    });
  }

  address(): UdpAddressInfo {
    return {
      address: this.localAddressText,
      family: this.localAddressText.includes(':') ? 'IPv6' : 'IPv4',
      port: this.port,
    };
  }

  /**
   * Send one datagram. Like dgram: send(msg, port, address, cb?) or
   * send(msg, offset, length, port, address, cb?). Errors go to `cb`, else to 'error'.
   */
  send(msg: Uint8Array | string, port: number, address: string, cb?: SendCallback): void;
  send(msg: Uint8Array | string, offset: number, length: number, port: number, address: string, cb?: SendCallback): void;
  send(msg: Uint8Array | string, a: number, b: number | string, c?: number | SendCallback, d?: string, e?: SendCallback): void {
    let data = typeof msg === 'string' ? encoder.encode(msg) : msg;
    let port: number;
    let address: string;
    let cb: SendCallback | undefined;
    if (typeof b === 'string') {
      port = a;
      address = b;
      cb = typeof c === 'function' ? c : undefined;
    } else {
      data = data.subarray(a, a + b);
      port = c as number;
      address = d as string;
      cb = e;
    }
    try {
      if (this.closed) throw codedError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
      if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        throw codedError('ERR_SOCKET_BAD_PORT', `Port should be > 0 and < 65536. Received ${String(port)}.`);
      }
      this.host.udpSend(this, data, port, address);
      this.bytesSent += data.length;
      if (cb !== undefined) queueMicrotask(() => cb(null, data.length));
    } catch (err) {
      if (cb !== undefined) queueMicrotask(() => cb(err as Error, 0));
      else queueMicrotask(() => this.emit('error', err as Error));
    }
  }

  close(cb?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.host.udpClose(this);
    if (cb !== undefined) this.once('close', cb);
    queueMicrotask(() => this.emit('close'));
  }

  /** Called by the stack for each datagram addressed to this socket. */
  deliver(payload: Uint8Array, rinfo: RemoteInfo): void {
    if (this.closed) return;
    this.bytesReceived += payload.length;
    this.emit('message', asMessage(payload), rinfo);
  }

  // Node-compatibility no-ops: the socket never keeps an event loop alive by itself.
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** An Error carrying a Node-style `code`. */
export function codedError(code: string, message: string): Error & { code: string } {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}
