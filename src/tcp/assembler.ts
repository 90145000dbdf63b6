// Out-of-order receive bookkeeping (RFC 9293 section 3.10.7.4 "seventh, process the segment
// text", RFC 2018 section 4): which byte ranges past RCV.NXT are held, kept as a short sorted list
// of disjoint ranges with offsets relative to RCV.NXT, and the SACK blocks that describe them.

import type { SackBlock } from '../wire/tcp.js';
import { add as seqAdd } from '../wire/seq.js';

export interface AssemblerRange {
  /** Offset of the first byte held, relative to RCV.NXT. */
  readonly start: number;
  /** Offset one past the last byte held. */
  readonly end: number;
}

/**
 * A sorted list of disjoint, non-touching ranges [start, end) in fixed-size typed arrays; every
 * operation is O(number of ranges) and allocates nothing except ranges()/sackBlocks() results.
 * Each range remembers when data was last added to it, for RFC 2018's block order.
 */
export class Assembler {
  readonly maxRanges: number;
  readonly #start: Float64Array;
  readonly #end: Float64Array;
  /** Recency stamp of the latest add() touching each range. */
  readonly #stamp: Float64Array;
  #count = 0;
  #clock = 0;

  constructor(maxRanges = 32) {
    if (!Number.isInteger(maxRanges) || maxRanges < 1) throw new RangeError(`Assembler maxRanges ${maxRanges}`);
    this.maxRanges = maxRanges;
    this.#start = new Float64Array(maxRanges);
    this.#end = new Float64Array(maxRanges);
    this.#stamp = new Float64Array(maxRanges);
  }

  get isEmpty(): boolean {
    return this.#count === 0;
  }
  /** Number of disjoint ranges held. */
  get count(): number {
    return this.#count;
  }
  /** Offset one past the highest byte held (0 when empty). */
  get end(): number {
    return this.#count === 0 ? 0 : this.#end[this.#count - 1]!;
  }
  /** Total bytes held. */
  get bytes(): number {
    let n = 0;
    for (let i = 0; i < this.#count; i++) n += this.#end[i]! - this.#start[i]!;
    return n;
  }

  /**
   * Record that bytes [offset, offset+len) are held (bytes before offset 0 are ignored). Returns
   * false, recording nothing, if that would need more than maxRanges disjoint ranges.
   */
  add(offset: number, len: number): boolean {
    let s = offset;
    const e = offset + len;
    if (s < 0) s = 0;
    if (e <= s) return true;
    const n = this.#count;
    const st = this.#start;
    const en = this.#end;
    // i: first range that ends at or after s (touching counts); j: first range starting after e.
    let i = 0;
    while (i < n && en[i]! < s) i++;
    let j = i;
    while (j < n && st[j]! <= e) j++;
    const stamp = ++this.#clock;
    if (i === j) {
      if (n === this.maxRanges) {
        this.#clock--;
        return false;
      }
      st.copyWithin(i + 1, i, n);
      en.copyWithin(i + 1, i, n);
      this.#stamp.copyWithin(i + 1, i, n);
      st[i] = s;
      en[i] = e;
      this.#stamp[i] = stamp;
      this.#count = n + 1;
      return true;
    }
    // Merge ranges i..j-1 with [s, e) into slot i.
    st[i] = Math.min(s, st[i]!);
    en[i] = Math.max(e, en[j - 1]!);
    this.#stamp[i] = stamp;
    const removed = j - i - 1;
    if (removed > 0) {
      st.copyWithin(i + 1, j, n);
      en.copyWithin(i + 1, j, n);
      this.#stamp.copyWithin(i + 1, j, n);
      this.#count = n - removed;
    }
    return true;
  }

  /** Length of the contiguous run starting at offset 0, without removing it (0 if none). */
  peekFront(): number {
    return this.#count > 0 && this.#start[0] === 0 ? this.#end[0]! : 0;
  }

  /**
   * Remove the contiguous run at offset 0 and return its length (0 if offset 0 is not held); the
   * remaining offsets shift down by that length, as RCV.NXT advances over the run.
   */
  popFront(): number {
    const k = this.peekFront();
    if (k === 0) return 0;
    const n = this.#count - 1;
    const st = this.#start;
    const en = this.#end;
    st.copyWithin(0, 1, n + 1);
    en.copyWithin(0, 1, n + 1);
    this.#stamp.copyWithin(0, 1, n + 1);
    for (let i = 0; i < n; i++) {
      st[i] = st[i]! - k;
      en[i] = en[i]! - k;
    }
    this.#count = n;
    return k;
  }

  /**
   * RCV.NXT advanced by `n` bytes by means other than popFront (e.g. in-order data written
   * straight through): forget held bytes below offset n and shift the rest down.
   */
  advance(n: number): void {
    if (n <= 0) return;
    const st = this.#start;
    const en = this.#end;
    let drop = 0;
    while (drop < this.#count && en[drop]! <= n) drop++;
    const m = this.#count - drop;
    if (drop > 0) {
      st.copyWithin(0, drop, this.#count);
      en.copyWithin(0, drop, this.#count);
      this.#stamp.copyWithin(0, drop, this.#count);
    }
    for (let i = 0; i < m; i++) {
      st[i] = Math.max(0, st[i]! - n);
      en[i] = en[i]! - n;
    }
    this.#count = m;
  }

  /** The first held part of [offset, offset+len), or null when none of it is held. */
  overlap(offset: number, len: number): AssemblerRange | null {
    const e = offset + len;
    for (let i = 0; i < this.#count; i++) {
      const st = this.#start[i]!;
      const en = this.#end[i]!;
      if (st >= e) return null;
      if (en > offset) return { start: Math.max(st, offset), end: Math.min(en, e) };
    }
    return null;
  }

  /** Whether the byte at `offset` is held. */
  contains(offset: number): boolean {
    for (let i = 0; i < this.#count; i++) {
      if (offset < this.#start[i]!) return false;
      if (offset < this.#end[i]!) return true;
    }
    return false;
  }

  /** The held ranges in offset order (a fresh array). */
  ranges(): readonly AssemblerRange[] {
    const out: AssemblerRange[] = [];
    for (let i = 0; i < this.#count; i++) out.push({ start: this.#start[i]!, end: this.#end[i]! });
    return out;
  }

  /**
   * Up to `max` SACK blocks in absolute sequence numbers (RFC 2018 section 4): first the block
   * holding the most recently added data, then the others, most recently touched first.
   */
  sackBlocks(rcvNxt: number, max: number): SackBlock[] {
    const out: SackBlock[] = [];
    const want = Math.min(max, this.#count);
    if (want <= 0) return out;
    // Selection by descending stamp: O(ranges * max), max being at most 4 on the wire.
    let bound = Number.POSITIVE_INFINITY;
    for (let k = 0; k < want; k++) {
      let best = -1;
      let bestStamp = -1;
      for (let i = 0; i < this.#count; i++) {
        const t = this.#stamp[i]!;
        if (t < bound && t > bestStamp) {
          bestStamp = t;
          best = i;
        }
      }
      if (best < 0) break;
      bound = bestStamp;
      out.push({ left: seqAdd(rcvNxt, this.#start[best]!), right: seqAdd(rcvNxt, this.#end[best]!) });
    }
    return out;
  }

  clear(): void {
    this.#count = 0;
  }
}
