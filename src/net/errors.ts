// Errors shaped like Node's net errors: `code`, negative Linux `errno`, `syscall`, and the same
// message forms ("connect ECONNREFUSED 198.18.0.2:80", "read ECONNRESET", "write EPIPE",
// "listen EADDRINUSE: address already in use :::80").

/** Linux errno values Node reports (negated) for the codes synack produces. */
const ERRNO: Readonly<Record<string, number>> = Object.freeze({
  ENOENT: 2,
  EBADF: 9,
  EINVAL: 22,
  EPIPE: 32,
  ENOTSOCK: 88,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
});

/** libuv's descriptions, used where Node puts them in the message (listen/bind errors). */
const DESCRIPTION: Readonly<Record<string, string>> = Object.freeze({
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EAFNOSUPPORT: 'address family not supported',
  ENOTSOCK: 'socket operation on non-socket',
});

export interface NetError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** An error as Node's exceptionWithHostPort / errnoException build it. */
export function netError(code: string, syscall: string, address?: string, port?: number): NetError {
  let where = '';
  if (address !== undefined) where = port !== undefined && port > 0 ? ` ${address}:${port}` : ` ${address}`;
  const desc = syscall === 'listen' || syscall === 'bind' ? DESCRIPTION[code] : undefined;
  const message = desc !== undefined ? `${syscall} ${code}: ${desc}${where}` : `${syscall} ${code}${where}`;
  const e = new Error(message) as NetError;
  e.code = code;
  const n = ERRNO[code];
  if (n !== undefined) e.errno = -n;
  e.syscall = syscall;
  if (address !== undefined) e.address = address;
  if (port !== undefined && port > 0) e.port = port;
  return e;
}

/** getaddrinfo-style failure for a host name nobody could resolve. */
export function lookupError(hostname: string): NetError {
  const e = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as NetError;
  e.code = 'ENOTFOUND';
  e.errno = -3008;
  e.syscall = 'getaddrinfo';
  e.hostname = hostname;
  return e;
}

/** Node's internal argument / state errors (ERR_*), which carry a code but no errno. */
export function codeError<T extends Error>(Base: new (m: string) => T, code: string, message: string): T & { code: string } {
  const e = new Base(message) as T & { code: string };
  e.code = code;
  return e;
}

/** Port check with Node's ERR_SOCKET_BAD_PORT message. */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  const n = typeof port === 'string' && port.trim() !== '' ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535 || (!allowZero && n === 0)) {
    const shown = typeof port === 'string' ? `'${port}'` : String(port);
    throw codeError(
      RangeError,
      'ERR_SOCKET_BAD_PORT',
      `${name} should be >= 0 and < 65536. Received type ${typeof port} (${shown}).`,
    );
  }
  return n;
}
