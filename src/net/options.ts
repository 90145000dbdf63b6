// The option shapes of the net API (Socket, connect) and Node's connect(...) argument forms.
import type { Stack } from '../stack/stack.js';
import type { TcpConfigInput } from '../tcp/config.js';
import { isPipeName } from './validate.js';

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
  /** Node's onread: reads go into `buffer` (or buffer()) and to callback(nread, buf), not 'data'. */
  onread?: { buffer: Uint8Array | (() => Uint8Array); callback: (nread: number, buf: Uint8Array) => unknown };
  /** An existing handle (what a Server passes for an accepted connection). */
  handle?: SocketHandle;
  /** With `handle`: start paused (a Server's pauseOnConnect). */
  pauseOnCreate?: boolean;
  readable?: boolean;
  writable?: boolean;
  objectMode?: boolean;
  readableObjectMode?: boolean;
  writableObjectMode?: boolean;
}

/** What `socket._handle` may hold: ours, or any object with the TCP wrap's optional methods. */
export interface SocketHandle {
  setNoDelay?: ((enable: boolean) => unknown) | null;
  setKeepAlive?: ((enable: boolean, delaySeconds: number) => unknown) | null;
  close?: (cb?: () => void) => void;
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
  /** Unix socket path: synack has none, so connecting to one fails with ENOENT. */
  path?: string;
  tcp?: TcpConfigInput;
  autoSelectFamily?: boolean;
  autoSelectFamilyAttemptTimeout?: number;
  hints?: number;
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
  if (args.length === 0) return [{} as SocketConnectOptions, undefined];
  if (a0 !== null && typeof a0 === 'object') return [a0 as SocketConnectOptions, cb];
  if (isPipeName(a0)) return [{ path: a0 } as SocketConnectOptions, cb];
  const opts: SocketConnectOptions = { port: a0 as number | string };
  if (args.length > 1 && typeof args[1] === 'string') opts.host = args[1];
  return [opts, cb];
}
