// Sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4): every comparison of TCP sequence
// or acknowledgment numbers in synack goes through these helpers, never through `<`.

/** Wrap any integer into [0, 2^32). */
export function wrap(n: number): number {
  return n >>> 0;
}

/** a + n modulo 2^32. */
export function add(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance b - a in (-2^31, 2^31]: positive when b is after a. */
export function sub(b: number, a: number): number {
  return (b - a) | 0;
}

/** a < b in sequence space. */
export function lt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b in sequence space. */
export function le(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a > b in sequence space. */
export function gt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** a >= b in sequence space. */
export function ge(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of a and b in sequence space. */
export function max(a: number, b: number): number {
  return gt(a, b) ? a : b;
}

/** The earlier of a and b in sequence space. */
export function min(a: number, b: number): number {
  return lt(a, b) ? a : b;
}

/**
 * start <= s < start + len in sequence space (RFC 9293 section 3.4's window test).
 * A zero-length window contains nothing.
 */
export function inWindow(s: number, start: number, len: number): boolean {
  return len > 0 && ((s - start) >>> 0) < len;
}
