// Feeds a TUN device's packets to the stack a slice per event-loop turn, connections first: under
// a SYN flood the addon hands over batches of tens of thousands of packets (every write batch
// drains the device so that the kernel's queue cannot overflow), and handling one such batch in a
// single turn held timers, file reads and HTTP answers of legitimate connections for seconds
// (issue 14: a 64 KiB curl took 2-10 s under hping3). Here each turn hands the stack every waiting
// packet that is not a bare SYN (up to OTHER_SLICE: ACKs and data of connections that exist, so
// they no longer queue behind the flood), then up to SYN_SLICE bare SYNs, and lets the event loop
// run. Bare SYNs beyond SYN_QUEUE waiting are dropped here and counted (rxSynDropped, --ss), as a
// listener whose queue overflows does; nothing else is dropped, and reading never pauses, so the
// kernel's queue on the device stays drained as before.
// A TUN link delivers every read as a batch with per-packet RX_* flags, with offloads or without
// (Link.onReceiveBatch), so this is the one way in. The batch lives in memory the link reuses for
// its next read: what waits here for a later turn is a copy.
import type { TunLink } from '../link/tun.js';

/** Bare SYNs handed to the stack per event-loop turn. */
export const SYN_SLICE = 512;
/** Other packets handed to the stack per event-loop turn (all of them, in the common case). */
export const OTHER_SLICE = 8192;
/**
 * Bare SYNs allowed to wait; more are dropped and counted. Twice serve's default backlog (4096): a
 * burst of legitimate clients as large as the listener takes must reach it (at 2,048, 5,000
 * simultaneous `ab` connections lost ~4,900 SYNs here and waited for the kernel's 1 s and 3 s SYN
 * retransmissions); under a flood a queued SYN waits SYN_QUEUE / SYN_SLICE = 16 turns at most.
 */
export const SYN_QUEUE = 8192;

export interface RxPacerStats {
  /** Packets waiting to be handed to the stack (bare SYNs, others). */
  synWaiting: number;
  otherWaiting: number;
  /** Bare SYNs dropped because SYN_QUEUE were waiting. */
  synDropped: number;
}

/** A FIFO of packets (copies) with their RX_* flags (Link.onReceive), compacted as it drains. */
class PacketQueue {
  private items: (Uint8Array | undefined)[] = [];
  private flags: number[] = [];
  private head = 0;
  /** The RX_* flags of the packet the last shift() returned. */
  rx = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(p: Uint8Array, rx: number): void {
    this.items.push(p);
    this.flags.push(rx);
  }

  shift(): Uint8Array | undefined {
    if (this.head >= this.items.length) return undefined;
    const p = this.items[this.head];
    this.rx = this.flags[this.head]!;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.flags.length = 0;
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.flags = this.flags.slice(this.head);
      this.head = 0;
    }
    return p;
  }

  clear(): void {
    this.items = [];
    this.flags = [];
    this.head = 0;
  }
}

/**
 * Whether an IP packet (from byte `at`: 0 on a TUN device, 14 after a TAP device's Ethernet header,
 * whose EtherType must then say IPv4 or IPv6) is a TCP segment with SYN set and neither ACK nor RST
 * (a connection request); anything it cannot read as such counts as "other" and keeps its place.
 */
export function isBareSyn(p: Uint8Array, at = 0): boolean {
  return bareSynAt(p, 0, p.length, at);
}

/** isBareSyn for the packet at bytes[start, end) of a batch, without a view of it. */
function bareSynAt(p: Uint8Array, start: number, end: number, at: number): boolean {
  const ip = start + at;
  if (at === 14) {
    const type = (p[start + 12]! << 8) | p[start + 13]!;
    if (type !== 0x0800 && type !== 0x86dd) return false;
  }
  if (end < ip + 20) return false;
  let off: number;
  const v = p[ip]! >>> 4;
  if (v === 4) {
    if (p[ip + 9] !== 6) return false;
    off = ip + (p[ip]! & 0x0f) * 4;
  } else if (v === 6) {
    if (p[ip + 6] !== 6) return false; // no extension headers: those take the ordinary path
    off = ip + 40;
  } else return false;
  if (end < off + 14) return false;
  return (p[off + 13]! & 0x16) === 0x02; // SYN without ACK (0x10) or RST (0x04)
}

/** Whether a batch holds at most `max` bare SYNs. */
function fewSyns(bytes: Uint8Array, ends: Uint32Array, count: number, max: number, at: 0 | 14): boolean {
  let n = 0;
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = ends[i]!;
    if (bareSynAt(bytes, start, end, at) && ++n > max) return false;
    start = end;
  }
  return true;
}

/**
 * Takes over delivery from `tun` (its onReceiveBatch) and hands each batch on whole to the handler
 * installed as `tun.onReceiveBatch` when the pacer started (the stack's, for GRO), or packet by
 * packet with its RX_* flags to `tun.onReceive` (the stack, or a wrapper around it); `linkHeader`
 * 14 for a TAP device's Ethernet frames. A batch is paced only when it must be (packets wait, or it
 * is larger than a turn's slices). Returns a handle to stop it (waiting packets are dropped; the
 * stack's handler is put back) and read its counters.
 */
export function paceReceive(
  tun: TunLink,
  opts: { synSlice?: number; otherSlice?: number; synQueue?: number; linkHeader?: 0 | 14 } = {},
): { stop(): void; stats(): RxPacerStats } {
  const linkHeader = opts.linkHeader ?? 0;
  const synSlice = opts.synSlice ?? SYN_SLICE;
  const otherSlice = opts.otherSlice ?? OTHER_SLICE;
  const synQueue = opts.synQueue ?? SYN_QUEUE;
  const syns = new PacketQueue();
  const others = new PacketQueue();
  // The stack's own handlers: packets go to `deliver`; a batch that needs no pacing goes whole to
  // `downstream` (GRO over a read batch), when the stack installed one, as it would without the pacer.
  const deliver = tun.onReceive;
  const downstream = tun.onReceiveBatch;
  let synDropped = 0;
  let scheduled = false;
  let stopped = false;

  const give = (p: Uint8Array, rx: number): void => {
    if (rx === 0) deliver?.(p);
    else deliver?.(p, rx);
  };

  const run = (): void => {
    scheduled = false;
    for (let n = 0; n < otherSlice && !stopped; n++) {
      const p = others.shift();
      if (p === undefined) break;
      give(p, others.rx);
    }
    for (let n = 0; n < synSlice && !stopped; n++) {
      const p = syns.shift();
      if (p === undefined) break;
      give(p, syns.rx);
    }
    if (!stopped && !scheduled && (syns.length > 0 || others.length > 0)) {
      scheduled = true;
      setImmediate(run);
    }
  };

  tun.onReceiveBatch = (bytes, ends, count, flags) => {
    if (stopped) return;
    if (!scheduled && syns.length === 0 && others.length === 0 && count <= otherSlice && fewSyns(bytes, ends, count, synSlice, linkHeader)) {
      // Nothing waits and the batch fits in one turn: hand it over as it came (order kept).
      if (downstream !== null) downstream(bytes, ends, count, flags);
      else {
        let start = 0;
        for (let i = 0; i < count && !stopped; i++) {
          const end = ends[i]!;
          give(bytes.subarray(start, end), flags == null ? 0 : flags[i]!);
          start = end;
        }
      }
      return;
    }
    // Paced: everything is queued (copied: the link reuses the batch's memory) and the first
    // slice goes at once, so a small batch costs no extra latency; the rest on later turns.
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = ends[i]!;
      const rx = flags == null ? 0 : flags[i]!;
      if (!bareSynAt(bytes, start, end, linkHeader)) others.push(bytes.slice(start, end), rx);
      else if (syns.length < synQueue) syns.push(bytes.slice(start, end), rx);
      else synDropped++;
      start = end;
    }
    if (!scheduled) run();
  };

  return {
    stop(): void {
      if (stopped) return;
      stopped = true;
      syns.clear();
      others.clear();
      tun.onReceiveBatch = downstream;
    },
    stats: () => ({ synWaiting: syns.length, otherWaiting: others.length, synDropped }),
  };
}
