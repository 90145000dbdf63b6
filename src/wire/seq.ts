// Sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4): every comparison of TCP sequence
// or acknowledgment numbers in synack goes through these helpers, never through `<`.
//
// Two forms of one number. Users see sequence numbers, acknowledgment numbers and timestamps as
// unsigned 32-bit values (reprs from the parsers, events, snapshots, traces); the TCP core carries
// them as int32 (`| 0`), because V8 keeps an int32 in a small integer, where a uint32 of 2^31 or
// more crossing a function boundary is a 16-byte heap box: one or more per segment on the hot path
// (docs/performance.md). `seqInt` converts into the core's form, `wrap` out of it, `addInt` adds
// in it; the comparisons below take either form (and mixed), since they look only at the signed
// difference (RFC 9293 3.4: a < b when (a - b) mod 2^32 is in the upper half).

/** Wrap any integer into [0, 2^32): a sequence number as users see it. */
export function wrap(n: number): number {
  return n >>> 0;
}

/** A sequence number (either form) in the TCP core's form, an int32. */
export function seqInt(n: number): number {
  return n | 0;
}

/** a + n modulo 2^32, unsigned (users' form). */
export function add(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** a + n modulo 2^32 in the TCP core's form (int32). */
export function addInt(a: number, n: number): number {
  return (a + n) | 0;
}

/** a = b modulo 2^32, whichever form each is in. */
export function eq(a: number, b: number): boolean {
  return ((a - b) | 0) === 0;
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
