// A WebAssembly SIMD kernel for the RFC 1071 one's-complement sum (section 2's parallel summation:
// add 16-bit words in wide lanes, fold the carries at the end). A tiny hand-assembled module,
// compiled once; where WebAssembly or its SIMD extension is missing, `simdOnesSum` reports
// unavailability and the caller keeps its plain JavaScript loop.

/** Largest input the kernel takes: its lanes cannot overflow below this, and it fits the module's memory. */
export const SIMD_MAX = 65536;

/**
 * The module's scratch pages (copies of ranges to sum), then the packet arena (see packetArena),
 * then the ring arena (see ringArena), then the link slots (see takeLinkSlot). Pages nobody
 * touches cost address space, not memory.
 */
const SCRATCH_PAGES = 2;
const ARENA_PAGES = 64;
const RING_PAGES = 256;
const LINK_PAGES = 16;
const ARENA_END = (SCRATCH_PAGES + ARENA_PAGES) * 65536;
const RING_END = ARENA_END + RING_PAGES * 65536;
/** Bytes of one link slot: a TUN device's receive batch (link/tun.ts). */
export const LINK_SLOT_BYTES = 512 * 1024;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * The module: memory "mem" of 338 pages (128 KiB of scratch, a 4 MiB packet arena, a 16 MiB ring arena, 1 MiB of link slots) and `sum(from, to)`, which adds the 16-bit
 * little-endian words of mem[from..to) ((to - from) a multiple of 64, no alignment needed) with
 * i32x4.extadd_pairwise_i16x8_u into four vector accumulators and returns the total of their
 * lanes as an (unsigned) i32. Every lane gains at most 2 * 0xffff per 64 bytes, so 64 KiB stays
 * below 2^32 in total.
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const SIMD = 0xfd;
  const LOAD = [SIMD, 0x00, 0x04]; // v128.load, align 2^4, then the offset
  const PAIRWISE = [SIMD, 0x7f]; // i32x4.extadd_pairwise_i16x8_u
  const ADD = [SIMD, 0xae, 0x01]; // i32x4.add
  const LANE = (k: number): number[] => [SIMD, 0x1b, k]; // i32x4.extract_lane k
  const get = (l: number): number[] => [0x20, l];
  const set = (l: number): number[] => [0x21, l];
  // Locals: 0 = from, 1 = to (params), 2 = i, 3..6 = four v128 accumulators.
  const accumulate = (acc: number, offset: number): number[] => [...get(acc), ...get(2), ...LOAD, offset, ...PAIRWISE, ...ADD, ...set(acc)];
  const code = [
    ...get(0), ...set(2), // i = from
    0x02, 0x40, // block
    0x03, 0x40, // loop
    ...get(2), ...get(1), 0x4f, 0x0d, 0x01, // if i >= to: break
    ...accumulate(3, 0),
    ...accumulate(4, 16),
    ...accumulate(5, 32),
    ...accumulate(6, 48),
    ...get(2), 0x41, 0xc0, 0x00, 0x6a, ...set(2), // i += 64
    0x0c, 0x00, // continue
    0x0b, // end loop
    0x0b, // end block
    ...get(3), ...get(4), ...ADD, ...get(5), ...ADD, ...get(6), ...ADD, ...set(3),
    ...get(3), ...LANE(0),
    ...get(3), ...LANE(1), 0x6a,
    ...get(3), ...LANE(2), 0x6a,
    ...get(3), ...LANE(3), 0x6a,
    0x0b, // end function
  ];
  const body = [0x02, 0x01, 0x7f, 0x04, 0x7b, ...code]; // locals: 1 x i32, 4 x v128
  const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f]), // type: (i32, i32) -> i32
    ...section(3, [0x01, 0x00]), // one function of that type
    ...section(5, [0x01, 0x00, ...uleb(SCRATCH_PAGES + ARENA_PAGES + RING_PAGES + LINK_PAGES)]), // one memory, never grown (views of it stay valid)
    ...section(7, [0x02, ...name('mem'), 0x02, 0x00, ...name('sum'), 0x00, 0x00]),
    ...section(10, [0x01, ...uleb(body.length), ...body]),
  ]);
}

interface Kernel {
  mem: Uint8Array;
  /**
   * `mem.buffer`, read once: the memory never grows, so it stays the same object, and the
   * `buffer` getter costs a call each time (15-40 ns here, against 2-4 ns for `length`).
   */
  ab: ArrayBufferLike;
  sum: (from: number, to: number) => number;
  /** Next free byte of the packet arena (bump allocation, never given back). */
  arenaAt: number;
  /** Next free byte of the ring arena (the same). */
  ringAt: number;
  /** Link slots not in use (takeLinkSlot), by offset. */
  linkSlots: number[];
}

/** undefined: not tried yet; null: unavailable here. */
let kernel: Kernel | null | undefined;

function load(): Kernel | null {
  try {
    const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
    if (wasm === undefined) return null;
    const instance = new wasm.Instance(new wasm.Module(moduleBytes()));
    const exp = instance.exports as { mem: WebAssembly.Memory; sum: (from: number, to: number) => number };
    const linkSlots: number[] = [];
    for (let at = RING_END; at + LINK_SLOT_BYTES <= RING_END + LINK_PAGES * 65536; at += LINK_SLOT_BYTES) linkSlots.push(at);
    return { mem: new Uint8Array(exp.mem.buffer), ab: exp.mem.buffer, sum: exp.sum, arenaAt: SCRATCH_PAGES * 65536, ringAt: ARENA_END, linkSlots };
  } catch {
    return null; // no SIMD (or no WebAssembly): the JavaScript loop does the work
  }
}

/**
 * The sum of buf[start..end) as 16-bit words in little-endian order (the first byte of each pair
 * is the low half), unfolded; -1 when the kernel is unavailable or the range exceeds SIMD_MAX.
 * The caller swaps to network order: by RFC 1071 section 2(B) that is the same as summing there.
 */
export function simdOnesSumLE(buf: Uint8Array, start: number, end: number): number {
  const k = kernel === undefined ? (kernel = load()) : kernel;
  const len = end - start;
  if (k === null || len > SIMD_MAX) return -1;
  const mem = k.mem;
  if (buf.buffer === k.ab) {
    // A packet from the arena: sum it where it lies, the 64-byte steps in the kernel and the
    // last (up to 63) bytes here, pairing bytes from `start` as the kernel does.
    const from = buf.byteOffset + start;
    const to = from + (len & ~63);
    let sum = to > from ? k.sum(from, to) >>> 0 : 0;
    const stop = from + len;
    let i = to;
    for (; i + 1 < stop; i += 2) sum += mem[i]! | (mem[i + 1]! << 8);
    if (i < stop) sum += mem[i]!;
    return sum;
  }
  // When the range is nearly all of the buffer (a segment inside its packet), copy the whole buffer
  // (no subarray to allocate) and sum the range in place; zeros after the range pad it to the
  // kernel's 64-byte step without changing the sum.
  let from = 0;
  if (buf.length <= SIMD_MAX && buf.length - len <= 256) {
    mem.set(buf, 0);
    from = start;
  } else {
    mem.set(buf.subarray(start, end), 0);
  }
  const to = from + ((len + 63) & ~63);
  if (to > from + len) mem.fill(0, from + len, to);
  return k.sum(from, to) >>> 0;
}

/**
 * `n` bytes of the kernel's memory for a packet (8-byte aligned), so that its checksums are summed
 * in place instead of copied in first; null when the kernel is unavailable or the 4 MiB arena is
 * used up. Arena bytes are handed out once and never reused by this allocator (a link may keep a
 * packet as long as it likes), so the arena pays off through packets that are recycled
 * (wire/packet.ts recyclePacket): a bulk transfer's window of segments circulates in it.
 */
export function packetArena(n: number): Uint8Array | null {
  const k = kernel === undefined ? (kernel = load()) : kernel;
  if (k === null || k.arenaAt + n > ARENA_END) return null;
  const p = k.mem.subarray(k.arenaAt, k.arenaAt + n);
  k.arenaAt = (k.arenaAt + n + 7) & ~7;
  return p;
}

/**
 * `n` bytes of the kernel's memory for a TCP buffer's storage (tcp/ring-buffer.ts), 8-byte
 * aligned; null when the kernel is unavailable or the 16 MiB ring arena is used up. Handed out
 * once: the ring pool keeps what it gets back for the next ring. Packets and rings in one memory
 * let a segment's payload move between them with copyWithin on `kernelMemory()`, without a view.
 */
export function ringArena(n: number): Uint8Array | null {
  const k = kernel === undefined ? (kernel = load()) : kernel;
  if (k === null || k.ringAt + n > RING_END) return null;
  const p = k.mem.subarray(k.ringAt, k.ringAt + n);
  k.ringAt = (k.ringAt + n + 7) & ~7;
  return p;
}

/**
 * LINK_SLOT_BYTES of the kernel's memory for a link's receive batch, so that the checksums of what
 * it reads are summed in place and the parser's payload views recur by position (kernelSubarray):
 * the TUN link has the addon read(2) straight into it. Null when the kernel is unavailable or every
 * slot is taken; giveLinkSlot returns one (its bytes may still be read through old views, never
 * written by the link again).
 */
export function takeLinkSlot(): Uint8Array | null {
  const k = kernel === undefined ? (kernel = load()) : kernel;
  const at = k?.linkSlots.pop();
  return k == null || at === undefined ? null : k.mem.subarray(at, at + LINK_SLOT_BYTES);
}

/** Hands back a slot from takeLinkSlot. */
export function giveLinkSlot(slot: Uint8Array): void {
  const k = kernel;
  const at = slot.byteOffset - RING_END;
  const isSlot = at >= 0 && at % LINK_SLOT_BYTES === 0 && at < LINK_PAGES * 65536 && slot.length === LINK_SLOT_BYTES;
  if (k == null || slot.buffer !== k.ab || !isSlot || k.linkSlots.includes(slot.byteOffset)) return;
  k.linkSlots.push(slot.byteOffset);
}

/** The whole of the kernel's memory (packetArena and ringArena hand out views of it), or null. */
export function kernelMemory(): Uint8Array | null {
  const k = kernel === undefined ? (kernel = load()) : kernel;
  return k === null ? null : k.mem;
}

/** Views of the kernel's memory by first byte (see kernelSubarray); bounded, cleared when full. */
const views = new Map<number, Uint8Array>();
const VIEWS_MAX = 8192;

/**
 * `buf.subarray(start, end)`, except that a range of 512 bytes or more in the kernel's memory gets
 * the view made for that same range before, if any: packets there are recycled, so a segment's
 * payload recurs at the same place, and a view per segment was the parser's one allocation. Views
 * of one range are interchangeable (the bytes are the memory's); nobody may keep one past the
 * packet's delivery anyway (Link.onReceive).
 */
export function kernelSubarray(buf: Uint8Array, start: number, end: number): Uint8Array {
  const k = kernel;
  const n = end - start;
  // (Small arrays may live on V8's heap, where reading .buffer would move them off it.)
  if (n < 512 || k == null || buf.buffer !== k.ab) return buf.subarray(start, end);
  const at = buf.byteOffset + start;
  let v = views.get(at);
  if (v === undefined || v.length !== n) {
    if (views.size >= VIEWS_MAX) views.clear();
    v = k.mem.subarray(at, at + n);
    views.set(at, v);
  }
  return v;
}

/** Whether the SIMD kernel loaded on this platform (for tests and benchmarks). */
export function simdAvailable(): boolean {
  if (kernel === undefined) kernel = load();
  return kernel !== null;
}
