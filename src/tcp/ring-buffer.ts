// A fixed-capacity byte ring for TCP send and receive queues (RFC 9293 section 3.3.1's buffers):
// storage is allocated on first write and can be released when idle; out-of-order bytes can be
// placed past the readable end (writeAt) and made readable later (commit). All copies use
// Uint8Array.set on at most two contiguous pieces (copyWithin between a ring and a packet in the
// kernel's memory), through views that are reused rather than made per copy (see sourceView).
// Released storage goes to a small shared pool so a connection that drains its buffer after every
// segment does not allocate a new one each time.

import { kernelMemory, ringArena } from '../wire/simd-sum.js';

const EMPTY = new Uint8Array(0);

/** Storage at least this big comes from the kernel's ring arena while it lasts (see storage()). */
const ARENA_MIN = 4096;
/** The kernel's memory, when rings and packets share it (undefined: not looked up yet). */
let shared: Uint8Array | null | undefined;

/**
 * Storage given back by release() or outgrown by #ensure, by size, for the next buffer that needs
 * that size. Bounded in total bytes, so idle connections still cost no buffer memory beyond it.
 * Contents are stale but never visible: a ring only returns bytes written into it.
 */
const pool = new Map<number, Uint8Array[]>();
const POOL_MAX_BYTES = 4 * 1024 * 1024;
let pooledBytes = 0;

function recycle(buf: Uint8Array): void {
  const size = buf.length;
  // Arena storage is always kept (the arena bounds it; dropped, it would be lost to the arena).
  if (pooledBytes + size > POOL_MAX_BYTES && buf.buffer !== shared?.buffer) return;
  let list = pool.get(size);
  if (list === undefined) pool.set(size, (list = []));
  list.push(buf);
  pooledBytes += size;
}

function storage(size: number): Uint8Array {
  const list = pool.get(size);
  const b = list?.pop();
  if (b === undefined) {
    // From the kernel's memory, where packets live too, so that copyOut moves a segment's payload
    // into its packet with copyWithin (no view per copy); a plain array once the arena is used up.
    if (size >= ARENA_MIN) {
      if (shared === undefined) shared = kernelMemory();
      const a = shared === null ? null : ringArena(size);
      if (a !== null) return a;
    }
    return new Uint8Array(size);
  }
  pooledBytes -= size;
  return b;
}

/**
 * The last few views made for copies (of the application's array a write takes part of, of a ring's
 * storage a read copies out to the application's array), by (array, start, end). `TypedArray.prototype.set`
 * copies only whole arrays, so copying part of one takes a view of that part, and a view is a
 * 96-byte object: a writer that offers the same large buffer again and again (only what fits is
 * taken) and a reader that drains its ring to the start each time ask for the same ranges. Eight
 * slots, module-wide (four thrashed between a writer's and a reader's few ranges once GRO joined
 * segments), so at most eight of the application's arrays stay referenced.
 */
const SLOTS = 8;
const slotArray: (Uint8Array | null)[] = new Array<Uint8Array | null>(SLOTS).fill(null);
const slotStart: number[] = new Array<number>(SLOTS).fill(0);
const slotView: Uint8Array[] = new Array<Uint8Array>(SLOTS).fill(EMPTY);
/** When each slot was last used (a counter): a miss replaces the least recently used. */
const slotUsed: number[] = new Array<number>(SLOTS).fill(0);
let slotTick = 0;

/**
 * `a.subarray(start, end)` (a range of `a`, which the caller has bounds-checked), reusing the view
 * of that same range in the slots above if there is one (a few compares: kernelSubarray's map
 * lookup cost about as much as the view it saved). Views are used at once for a copy, never kept.
 */
function sourceView(a: Uint8Array, start: number, end: number): Uint8Array {
  if (start === 0 && end === a.length) return a;
  const n = end - start;
  let lru = 0;
  for (let i = 0; i < SLOTS; i++) {
    // (The length check: a view over a resizable buffer that shrank since reads as empty.)
    if (slotArray[i] === a && slotStart[i] === start && slotView[i]!.length === n) {
      slotUsed[i] = tick();
      return slotView[i]!;
    }
    if (slotUsed[i]! < slotUsed[lru]!) lru = i;
  }
  const v = a.subarray(start, end);
  slotArray[lru] = a;
  slotStart[lru] = start;
  slotView[lru] = v;
  slotUsed[lru] = tick();
  return v;
}

/** The next use count, kept a small integer (a counter past 2^31 would be a heap number per use). */
function tick(): number {
  if (slotTick === 0x3fffffff) {
    slotTick = 0;
    slotUsed.fill(0);
  }
  return ++slotTick;
}

/**
 * Hands each pooled storage that lies in the kernel's memory to `discard`, which may give its pages
 * back to the system so that they read as zeros (src/cli/memory.ts, after a load). Safe because a
 * pooled storage's contents are never read: a ring only returns bytes written into it. The pool
 * keeps the storage itself: the arena hands each range out once, and a WebAssembly memory cannot
 * shrink, so giving the pages back is the only way its resident size falls after a load. Returns
 * what `discard` reported, summed.
 */
export function discardPooledArena(discard: (b: Uint8Array) => number): number {
  if (shared == null) return 0;
  let n = 0;
  for (const list of pool.values()) {
    for (const b of list) if (b.buffer === shared.buffer) n += discard(b);
  }
  return n;
}

/** Bytes currently held in the shared storage pool (for tests and memory accounting). */
export function ringPoolBytes(): number {
  return pooledBytes;
}

export class RingBuffer {
  #cap: number;
  #buf: Uint8Array | null = null;
  /** Physical size of #buf: starts small and doubles up to #cap (rounded up to a power of two), so idle and light connections stay cheap. */
  #size = 0;
  /** Index of the first readable byte in #buf. */
  #head = 0;
  /** Readable bytes. */
  #len = 0;
  /** High-water mark of bytes placed by writeAt past the readable end and not yet committed. */
  #pending = 0;
  /** Where peek copies a range that wraps around the end of the storage (allocated when first needed). */
  #scratch: Uint8Array | null = null;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`RingBuffer capacity ${capacity}`);
    this.#cap = capacity;
  }

  get capacity(): number {
    return this.#cap;
  }
  /** Readable bytes. */
  get length(): number {
    return this.#len;
  }
  /** Room left for write() (bytes placed by writeAt still count as free until committed). */
  get free(): number {
    return this.#cap - this.#len;
  }
  /** Whether storage is currently allocated. */
  get allocated(): boolean {
    return this.#buf !== null;
  }
  /** Furthest extent, relative to the readable end, of bytes placed by writeAt and not committed. */
  get uncommitted(): number {
    return this.#pending;
  }

  /** Append as much of `src[from..to)` (all of `src` by default) as fits; returns the number of bytes copied. */
  write(src: Uint8Array, from = 0, to = src.length): number {
    const n = this.#place(0, src, from, to);
    this.#len += n;
    this.#pending = Math.max(0, this.#pending - n);
    return n;
  }

  /** Consume up to `max` bytes into a fresh array the caller owns; null when nothing is readable. */
  read(max: number): Uint8Array | null {
    const n = Math.min(Math.max(0, Math.floor(max)), this.#len);
    if (n === 0) return null;
    const out = new Uint8Array(n);
    this.#copyOut(0, n, out);
    this.consume(n);
    return out;
  }

  /** Consume up to dst.length bytes into `dst`; returns the number copied. */
  readInto(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.#len);
    if (n === 0) return 0;
    this.#copyOut(0, n, dst);
    this.consume(n);
    return n;
  }

  /**
   * Bytes [offset, offset+len) of the readable data (clipped to it) without consuming them:
   * a view into the storage when contiguous (valid until the next mutation), else a copy in a
   * scratch buffer this ring reuses (valid until the next mutation or the next peek across the
   * wrap). Callers copy what they keep: the send path copies it into a packet at once, and a
   * fresh 64 KiB array for every wrapped segment cost more than the copy itself.
   */
  peek(offset: number, len: number): Uint8Array {
    const start = Math.min(Math.max(0, offset), this.#len);
    const end = Math.min(start + Math.max(0, len), this.#len);
    const n = end - start;
    const buf = this.#buf;
    if (n === 0 || buf === null) return EMPTY;
    let from = this.#head + start;
    if (from >= this.#size) from -= this.#size;
    if (from + n <= this.#size) return buf.subarray(from, from + n);
    let scratch = this.#scratch;
    if (scratch === null || scratch.length < n) scratch = this.#scratch = new Uint8Array(n);
    const out = scratch.length === n ? scratch : scratch.subarray(0, n);
    this.#copyOut(start, n, out);
    return out;
  }

  /** Drop up to `n` readable bytes from the front. */
  consume(n: number): void {
    const k = Math.min(Math.max(0, Math.floor(n)), this.#len);
    if (k === 0) return;
    this.#len -= k;
    this.#head += k;
    if (this.#head >= this.#size) this.#head -= this.#size;
    // Rewind when fully drained so later data lands contiguously (not while writeAt bytes wait).
    if (this.#len === 0 && this.#pending === 0) this.#head = 0;
  }

  /**
   * Place `src[from..to)` (all of `src` by default) in the free area starting `offset` bytes past
   * the readable end, without making it readable; clipped to capacity. Returns the number of bytes
   * written (from `from` on).
   */
  writeAt(offset: number, src: Uint8Array, from = 0, to = src.length): number {
    if (offset < 0) return 0;
    const n = this.#place(offset, src, from, to);
    if (n > 0) this.#pending = Math.max(this.#pending, offset + n);
    return n;
  }

  /** Make `n` more bytes, previously placed at writeAt offsets 0..n-1, readable. */
  commit(n: number): void {
    const k = Math.min(Math.max(0, Math.floor(n)), this.free);
    if (k === 0) return;
    this.#ensure(this.#len + k);
    this.#len += k;
    this.#pending = Math.max(0, this.#pending - k);
  }

  /** Forget bytes placed by writeAt that were never committed. */
  discardUncommitted(): void {
    this.#pending = 0;
    if (this.#len === 0) this.#head = 0;
  }

  /** Drop all data, readable and uncommitted (storage is kept; call release() to drop it). */
  clear(): void {
    this.#len = 0;
    this.#head = 0;
    this.#pending = 0;
  }

  /**
   * Drop the storage when nothing is held, so idle connections cost no buffer memory. Does nothing
   * while readable bytes or uncommitted writeAt bytes remain (see discardUncommitted). Returns
   * whether the storage is now released.
   */
  release(): boolean {
    if (this.#len === 0 && this.#pending === 0) {
      if (this.#buf !== null) recycle(this.#buf);
      this.#buf = null;
      this.#scratch = null;
      this.#size = 0;
      this.#head = 0;
    }
    return this.#buf === null;
  }

  /**
   * Change the capacity, keeping readable bytes (throws RangeError if they would not fit) and as
   * many uncommitted bytes as fit. Nothing is copied: the storage keeps its size and grows by
   * doubling as bytes arrive (#ensure), and storage larger than a lowered capacity is only used up
   * to it, so send-buffer autotuning raising the capacity step by step costs no copy per step.
   */
  resize(capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < this.#len) {
      throw new RangeError(`RingBuffer resize to ${capacity} with ${this.#len} bytes stored`);
    }
    this.#cap = capacity;
    this.#pending = Math.min(this.#pending, capacity - this.#len);
  }

  /** Copy `src[from..to)` (clipped) to the free area at `offset` past the readable end; returns bytes copied. */
  #place(offset: number, src: Uint8Array, from: number, to: number): number {
    const n = Math.min(to - from, this.#cap - this.#len - offset);
    if (n <= 0) return 0;
    const buf = this.#ensure(this.#len + offset + n);
    let at = this.#head + this.#len + offset;
    if (at >= this.#size) at -= this.#size;
    const first = Math.min(n, this.#size - at);
    if (first === n && from === 0 && n === src.length) {
      // The whole of src in one piece (a segment's payload, or one of a joined segment's): no view.
      buf.set(src, at);
      return n;
    }
    const mem = shared;
    // (src.length first: reading .buffer of a small array on V8's heap would move it off the heap.)
    if (mem != null && src.length > 64 && buf.buffer === mem.buffer && src.buffer === mem.buffer) {
      // Part of src, both in the kernel's memory (a packet's payload and a receive ring): copyWithin, no view.
      const s = src.byteOffset + from;
      const d = buf.byteOffset;
      mem.copyWithin(d + at, s, s + first);
      if (first < n) mem.copyWithin(d, s + first, s + n);
      return n;
    }
    buf.set(sourceView(src, from, from + first), at);
    if (first < n) buf.set(sourceView(src, from + first, from + n), 0);
    return n;
  }

  /**
   * Storage for at least `need` bytes from the head (readable + placed), growing by doubling from
   * 512 bytes up to the capacity, or straight to `need` rounded up to 4 KiB when one write needs
   * more than double; growing linearizes the contents so the head is at 0. (A server's single
   * 64 KiB answer after its headers took a 128 KiB zero-filled array per connection when growth
   * only doubled: under 5,000 concurrent downloads that was 10% of serve's CPU and half its RSS.)
   */
  #ensure(need: number): Uint8Array {
    const buf = this.#buf;
    if (buf !== null && need <= this.#size) return buf;
    // Up to the capacity rounded up to a power of two: an autotuned send buffer's capacity is any
    // number (send-buffer.ts), and storage of a few sizes keeps coming back from the pool (and the
    // kernel's arena) instead of a new size for every connection.
    const top = this.#cap <= 512 ? this.#cap : 2 ** Math.ceil(Math.log2(this.#cap));
    let size = Math.max(this.#size, Math.min(top, 512));
    if (size < need) size = Math.min(top, Math.max(size * 2, need <= 4096 ? 0 : Math.ceil(need / 4096) * 4096));
    while (size < need) size = Math.min(top, size * 2);
    const next = storage(size);
    if (buf !== null) {
      const keep = this.#len + this.#pending;
      if (keep > 0) this.#copyOut(0, Math.min(keep, this.#size), next);
      recycle(buf);
    }
    this.#buf = next;
    this.#size = size;
    this.#head = 0;
    return next;
  }

  /**
   * Copy readable bytes [offset, offset+len) into dst[at..] without consuming them: the send
   * path writing a segment's payload straight into its packet. The range must be readable
   * (callers took it from `length`); returns the bytes copied.
   */
  copyOut(offset: number, len: number, dst: Uint8Array, at: number): number {
    const start = Math.min(Math.max(0, offset), this.#len);
    const n = Math.min(start + Math.max(0, len), this.#len) - start;
    if (n > 0) this.#copyOut(start, n, dst, at);
    return n;
  }

  /** Copy readable bytes [start, start+n) (already bounds-checked) into dst[at..at+n). */
  #copyOut(start: number, n: number, dst: Uint8Array, at = 0): void {
    const buf = this.#buf;
    if (buf === null) return;
    let from = this.#head + start;
    if (from >= this.#size) from -= this.#size;
    const first = Math.min(n, this.#size - from);
    const mem = shared;
    if (mem != null && buf.buffer === mem.buffer && dst.buffer === mem.buffer) {
      // Both in the kernel's memory (a send ring and a packet): copyWithin, no view to allocate.
      const src = buf.byteOffset;
      const to = dst.byteOffset + at;
      mem.copyWithin(to, src + from, src + from + first);
      if (first < n) mem.copyWithin(to + first, src, src + n - first);
      return;
    }
    dst.set(sourceView(buf, from, from + first), at);
    if (first < n) dst.set(sourceView(buf, 0, n - first), at + first);
  }
}
