// Node's argument checks and internal errors (ERR_*), with the codes, classes and messages Node 20
// gives them, so code that branches on `err.code` behaves the same over synack.
import { inspect } from 'node:util';
import { codeError } from './errors.js';

/** Node's "Received ..." tail of an ERR_INVALID_ARG_TYPE message. */
function received(value: unknown): string {
  if (value === null || value === undefined) return `Received ${String(value)}`;
  if (typeof value === 'function') return `Received function ${(value as { name?: string }).name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `Received an instance of ${name}` : `Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `Received type ${typeof value} (${shown})`;
}

export function errInvalidArgType(name: string, expected: string, value: unknown): TypeError & { code: string } {
  const kind = name.includes('.') ? 'property' : 'argument';
  return codeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" ${kind} must be ${expected}. ${received(value)}`);
}

export function errInvalidArgValue(name: string, value: unknown, reason = 'is invalid'): TypeError & { code: string } {
  const kind = name.includes('.') ? 'property' : 'argument';
  return codeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${inspect(value)}`);
}

export function errMissingArgs(...names: string[]): TypeError & { code: string } {
  const list = names.map((n) => `"${n}"`).join(' or ');
  return codeError(TypeError, 'ERR_MISSING_ARGS', `The ${list} argument must be specified`);
}

export function errInvalidIpAddress(address: unknown): TypeError & { code: string } {
  return codeError(TypeError, 'ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(address)}`);
}

export function errInvalidAddressFamily(family: unknown, host: string, port: number): RangeError & { code: string; host: string; port: number } {
  const e = codeError(RangeError, 'ERR_INVALID_ADDRESS_FAMILY', `Invalid address family: ${String(family)} ${host}:${port}`) as RangeError & { code: string; host: string; port: number };
  e.host = host;
  e.port = port;
  return e;
}

export const errSocketClosed = (): Error & { code: string } => codeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed');
export const errSocketClosedBeforeConnection = (): Error & { code: string } =>
  codeError(Error, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'Socket closed before the connection was established');

export function validateFunction(value: unknown, name: string): asserts value is (...a: unknown[]) => unknown {
  if (typeof value !== 'function') throw errInvalidArgType(name, 'of type function', value);
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw errInvalidArgType(name, 'of type boolean', value);
}

export function validateNumber(value: unknown, name: string, min?: number, max?: number): asserts value is number {
  if (typeof value !== 'number') throw errInvalidArgType(name, 'of type number', value);
  if ((min !== undefined && value < min) || (max !== undefined && value > max) || ((min !== undefined || max !== undefined) && Number.isNaN(value))) {
    const range = min !== undefined && max !== undefined ? `>= ${min} && <= ${max}` : min !== undefined ? `>= ${min}` : `<= ${max}`;
    throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`);
  }
}

export function validateInt32(value: unknown, name: string, min = -2147483648, max = 2147483647): asserts value is number {
  if (typeof value !== 'number') throw errInvalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) {
    throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be an integer. Received ${String(value)}`);
  }
  if (value < min || value > max) {
    throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= ${min} && <= ${max}. Received ${String(value)}`);
  }
}

export function validateAbortSignal(value: unknown, name: string): asserts value is AbortSignal {
  if (value !== undefined && (value === null || typeof value !== 'object' || !('aborted' in value))) {
    throw errInvalidArgType(name, 'an instance of AbortSignal', value);
  }
}

/** Node's getTimerDuration: a number >= 0 (finite, at most 2^31-1 after clamping), else ERR_*. */
export function timerDuration(msecs: unknown, name: string): number {
  validateNumber(msecs, name);
  if (msecs < 0 || !Number.isFinite(msecs)) {
    throw codeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be a non-negative finite number. Received ${String(msecs)}`);
  }
  return msecs;
}

/** A string that is not a number >= 0 names a Unix socket path (Node's isPipeName). */
export function isPipeName(s: unknown): s is string {
  return typeof s === 'string' && !(Number(s) >= 0);
}
