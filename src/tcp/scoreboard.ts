// The sender's SACK scoreboard (RFC 6675 sections 2-4, RFC 2018 section 5): which bytes in
// (SND.UNA, SND.NXT] the receiver has selectively acknowledged, plus IsLost and the pipe estimate.
// Ranges are kept sorted and disjoint in absolute sequence numbers, compared only through seq.ts.

import type { SackBlock } from '../wire/tcp.js';
import { sub, lt, le, gt, ge } from '../wire/seq.js';

/** RFC 6675 section 2: DupThresh defaults to 3. */
export const DEFAULT_DUP_THRESH = 3;

export interface SeqRange {
  readonly start: number;
  readonly end: number;
}

export class SackScoreboard {
  /** Left edges [l_i) and right edges r_i) of SACKed ranges, sorted in sequence order, never touching. */
  readonly #l: number[] = [];
  readonly #r: number[] = [];
  #sacked = 0;

  get isEmpty(): boolean {
    return this.#l.length === 0;
  }
  /** Total SACKed bytes currently recorded above SND.UNA. */
  get sackedBytes(): number {
    return this.#sacked;
  }
  /** One past the highest SACKed byte, or undefined when nothing is SACKed. */
  get highSacked(): number | undefined {
    const n = this.#r.length;
    return n === 0 ? undefined : this.#r[n - 1];
  }
  /** Number of disjoint SACKed ranges. */
  get count(): number {
    return this.#l.length;
  }

  /**
   * RFC 6675 Update(): record the SACK blocks of an ACK whose cumulative point is `sndUna`.
   * Blocks that are empty, end at or below sndUna (e.g. D-SACK) or reach beyond sndNxt are ignored;
   * a block straddling sndUna is clipped to it. Returns the number of newly SACKed bytes.
   */
  update(sndUna: number, sndNxt: number, blocks: readonly SackBlock[]): number {
    this.pruneBelow(sndUna);
    let fresh = 0;
    for (const b of blocks) {
      // Kept in the form given (the core gives int32: wire/seq.ts), so holes come back in it.
      const left = b.left;
      const right = b.right;
      if (!lt(left, right) || !gt(right, sndUna) || gt(right, sndNxt)) continue;
      fresh += this.#insert(lt(left, sndUna) ? sndUna : left, right);
    }
    return fresh;
  }

  /** Forget everything below the cumulative ACK point (SACK info is advisory until then). */
  pruneBelow(sndUna: number): void {
    const L = this.#l;
    const R = this.#r;
    let drop = 0;
    while (drop < L.length && le(R[drop]!, sndUna)) {
      this.#sacked -= sub(R[drop]!, L[drop]!);
      drop++;
    }
    if (drop > 0) {
      L.splice(0, drop);
      R.splice(0, drop);
    }
    if (L.length > 0 && lt(L[0]!, sndUna)) {
      this.#sacked -= sub(sndUna, L[0]!);
      L[0] = sndUna;
    }
  }

  clear(): void {
    this.#l.length = 0;
    this.#r.length = 0;
    this.#sacked = 0;
  }

  /** Whether the byte with sequence number `seq` has been SACKed. */
  isSacked(seq: number): boolean {
    const L = this.#l;
    const R = this.#r;
    for (let i = 0; i < L.length; i++) {
      if (lt(seq, L[i]!)) return false;
      if (lt(seq, R[i]!)) return true;
    }
    return false;
  }

  /** SACKed bytes with sequence numbers greater than `seq`. */
  sackedAbove(seq: number): number {
    const L = this.#l;
    const R = this.#r;
    let n = 0;
    for (let i = L.length - 1; i >= 0; i--) {
      const r = R[i]!;
      if (le(r, seq)) break;
      const l = L[i]!;
      n += gt(l, seq) ? sub(r, l) : sub(r, seq) - 1;
      if (le(l, seq)) break;
    }
    return n;
  }

  /**
   * RFC 6675 section 4 IsLost(SeqNum): true when DupThresh discontiguous SACKed ranges lie
   * above `seq`, or more than (DupThresh - 1) * SMSS bytes above `seq` are SACKed.
   */
  isLost(seq: number, mss: number, dupThresh = DEFAULT_DUP_THRESH): boolean {
    const L = this.#l;
    const R = this.#r;
    let ranges = 0;
    let bytes = 0;
    const limit = (dupThresh - 1) * mss;
    for (let i = L.length - 1; i >= 0; i--) {
      const r = R[i]!;
      if (le(r, seq)) break;
      const l = L[i]!;
      if (gt(l, seq)) {
        ranges++;
        bytes += sub(r, l);
      } else {
        bytes += sub(r, seq) - 1;
      }
      if (ranges >= dupThresh || bytes > limit) return true;
      if (le(l, seq)) break;
    }
    return false;
  }

  /** The first un-SACKed range within [from, to), or null if all of it is SACKed (or it is empty). */
  nextHole(from: number, to: number): SeqRange | null {
    if (!lt(from, to)) return null;
    const L = this.#l;
    const R = this.#r;
    let cur = from;
    for (let i = 0; i < L.length; i++) {
      const r = R[i]!;
      if (le(r, cur)) continue;
      const l = L[i]!;
      if (gt(l, cur)) return { start: cur, end: lt(l, to) ? l : to };
      cur = r;
      if (ge(cur, to)) return null;
    }
    return { start: cur, end: to };
  }

  /** Whether all of [from, to) is SACKed (true for an empty range): nextHole(from, to) === null, without allocating. */
  covers(from: number, to: number): boolean {
    if (!lt(from, to)) return true;
    const L = this.#l;
    const R = this.#r;
    let cur = from;
    for (let i = 0; i < L.length; i++) {
      const r = R[i]!;
      if (le(r, cur)) continue;
      if (gt(L[i]!, cur)) return false;
      cur = r;
      if (ge(cur, to)) return true;
    }
    return false;
  }

  /**
   * RFC 6675 section 4 SetPipe(), in O(ranges): octets in [sndUna, sndNxt) that are neither SACKed
   * nor IsLost count once, and un-SACKed octets below `rxtEnd` (one past HighRxt: the end of
   * retransmitted data; pass sndUna if nothing was retransmitted) count once more.
   */
  pipe(sndUna: number, sndNxt: number, rxtEnd: number, mss: number, dupThresh = DEFAULT_DUP_THRESH): number {
    const L = this.#l;
    const R = this.#r;
    const limit = (dupThresh - 1) * mss;
    let total = 0;
    let rangesAbove = 0;
    let bytesAbove = 0;
    // Walk holes from the top down, accumulating what is SACKed above each one: IsLost gives the
    // same answer for every octet of a hole, since nothing inside the hole is SACKed.
    let holeEnd = sndNxt;
    for (let i = L.length; i >= 0; i--) {
      const holeStart = i > 0 ? R[i - 1]! : sndUna;
      const hs = lt(holeStart, sndUna) ? sndUna : holeStart;
      if (lt(hs, holeEnd)) {
        total += this.#holePipe(hs, holeEnd, rxtEnd, rangesAbove, bytesAbove, limit, dupThresh);
      }
      if (i > 0) {
        rangesAbove++;
        bytesAbove += sub(R[i - 1]!, L[i - 1]!);
        holeEnd = L[i - 1]!;
        if (le(holeEnd, sndUna)) break;
      }
    }
    return total;
  }

  /** The SACKed ranges in sequence order (a fresh array). */
  ranges(): readonly SeqRange[] {
    return this.#l.map((l, i) => ({ start: l, end: this.#r[i]! }));
  }

  /** Pipe contribution of the un-SACKed octets [s, e), given what is SACKed above e. */
  #holePipe(s: number, e: number, rxtEnd: number, rangesAbove: number, bytesAbove: number, limit: number, dupThresh: number): number {
    const len = sub(e, s);
    // Octet x in the hole is lost iff rangesAbove >= dupThresh or bytesAbove > limit; bytesAbove
    // does not depend on x because nothing inside the hole is SACKed.
    const lost = rangesAbove >= dupThresh || bytesAbove > limit;
    let n = lost ? 0 : len;
    if (gt(rxtEnd, s)) n += lt(rxtEnd, e) ? sub(rxtEnd, s) : len;
    return n;
  }

  /** Merge [l, r) into the list; returns how many of its bytes were not SACKed before. */
  #insert(l: number, r: number): number {
    const L = this.#l;
    const R = this.#r;
    const n = L.length;
    let i = 0;
    while (i < n && lt(R[i]!, l)) i++;
    let j = i;
    let covered = 0;
    while (j < n && le(L[j]!, r)) {
      covered += sub(R[j]!, L[j]!);
      j++;
    }
    if (i === j) {
      L.splice(i, 0, l);
      R.splice(i, 0, r);
      const fresh = sub(r, l);
      this.#sacked += fresh;
      return fresh;
    }
    const nl = lt(L[i]!, l) ? L[i]! : l;
    const nr = gt(R[j - 1]!, r) ? R[j - 1]! : r;
    L.splice(i, j - i, nl);
    R.splice(i, j - i, nr);
    const fresh = sub(nr, nl) - covered;
    this.#sacked += fresh;
    return fresh;
  }
}
