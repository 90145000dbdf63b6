// Gives memory back after a load: when a TUN command's link has gone quiet and the process is much
// larger than it was at start, run a full (compacting) garbage collection and then ask the allocator
// to return freed pages (glibc's malloc_trim through the TUN addon) and the pooled TCP buffers'
// pages in the WebAssembly arena. Without it the buffers of thousands of finished connections are
// garbage that nothing collects while the process idles, and glibc keeps the pages it had, so RSS
// stayed at its peak for good after a burst of downloads.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { discardPages, trimHeap } from '../link/tun.js';
import { discardPooledArena } from '../tcp/ring-buffer.js';

let gcFn: (() => void) | null | undefined;

/** A full, synchronous GC; false when this V8 cannot expose one. */
function fullGc(): boolean {
  if (gcFn === undefined) {
    try {
      // The documented V8 flag, set at run time: a fresh context then sees `gc` as a global.
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
  return gcFn !== null;
}

/** fullGc with V8's compaction forced for this one collection (when the flag is accepted). */
function compactingGc(): void {
  try {
    setFlagsFromString('--compact-on-every-full-gc');
    fullGc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

export interface ReliefOptions {
  /** A counter that grows with traffic (packets received); unchanged over an interval means quiet. */
  activity: () => number;
  /** How often to look, ms (default 5000). */
  intervalMs?: number;
  /** Packets per interval still counted as quiet (default 200). */
  quietPackets?: number;
  /** Longest time between two collections while quiet and still large, ms (default 30000). */
  reliefEveryMs?: number;
  /** Open connections (the stack's table, TIME-WAIT included): a collection follows when most have gone. */
  connections?: () => number;
}

/**
 * When to collect, as the link goes quiet after a load: at the first quiet look, then again after
 * twice the previous gap (5, 10, 20 s ...) up to `maxGapMs`, while the process stays large. A
 * first collection often frees little (connections still closing, TIME-WAIT, buffers the sweeper
 * has not released yet), and waiting the full 30 s for the second one kept RSS at its peak for half
 * a minute after every load (the flaky "RSS given back" test under a loaded machine). Traffic starts
 * the sequence over.
 */
export class ReliefSchedule {
  #next = -Infinity;
  #gap: number;

  constructor(
    private readonly firstGapMs: number,
    private readonly maxGapMs: number,
  ) {
    this.#gap = firstGapMs;
  }

  /**
   * Whether to collect now: `busy` when traffic passed since the last look, `large` when the process
   * is well above its start, `drained` when most connections that were open at the last collection
   * have gone since (TIME-WAIT ending 60 s after a load: what they held can go now, not at the end of
   * a 30 s gap; the gaps start over).
   */
  due(now: number, busy: boolean, large: boolean, drained = false): boolean {
    if (busy || !large) {
      // Large but busy, or small: the next quiet look collects at once.
      this.#next = -Infinity;
      this.#gap = this.firstGapMs;
      return false;
    }
    if (drained) this.#gap = this.firstGapMs;
    else if (now < this.#next) return false;
    this.#next = now + this.#gap;
    this.#gap = Math.min(this.maxGapMs, this.#gap * 2);
    return true;
  }
}

/**
 * Whether a process of `rss` bytes is worth a collection against its `baseline` at start: 1.25x
 * or more, and at least 8 MiB above it. (Until session 6 it also had to be 32 MiB above, so a
 * 58 MiB serve stopped collecting at 89 MiB, 1.53x, before the connections in TIME-WAIT were gone
 * and their memory could be freed: whether the last collection came in time was luck.)
 */
export function wellAbove(rss: number, baseline: number): boolean {
  return rss - baseline >= Math.max(8 * 1048576, baseline * 0.25);
}

/**
 * Hands freed memory back to the system: glibc's free pages (malloc_trim), and the pages of the
 * TCP buffers that sit pooled in the checksum kernel's WebAssembly arena (up to 16 MiB after a
 * load of thousands of connections; a WebAssembly memory never shrinks, so without this they
 * stayed resident for good).
 */
function giveBack(): void {
  trimHeap();
  discardPooledArena(discardPages);
}

/**
 * Watches the process; while the link is quiet and the process is wellAbove its starting RSS,
 * collects garbage (compacting) and gives memory back (giveBack) on ReliefSchedule's backing-off
 * gaps (at most once every `reliefEveryMs`, 30 s, once it has backed off): what the first
 * collection after a load cannot free (connections still in TIME-WAIT, say) a later one can.
 * Returns a function that stops watching.
 */
export function startMemoryRelief(opts: ReliefOptions): () => void {
  const interval = opts.intervalMs ?? 5000;
  const quiet = opts.quietPackets ?? 200;
  const baseline = process.memoryUsage.rss();
  const schedule = new ReliefSchedule(interval, opts.reliefEveryMs ?? 30_000);
  let last = opts.activity();
  let connsAtCollection = 0;
  const timer = setInterval(() => {
    const count = opts.activity();
    const busy = count - last >= quiet;
    last = count;
    const rss = process.memoryUsage.rss();
    const large = wellAbove(rss, baseline);
    const conns = opts.connections?.() ?? 0;
    // At least 64 connections, and half of those open at the last collection, gone since.
    const drained = connsAtCollection - conns >= Math.max(64, connsAtCollection / 2);
    // The look itself is 5 s after the previous one; a little slack so the 5 s gap is due then.
    if (!schedule.due(performance.now() + interval / 10, busy, large, drained)) return;
    connsAtCollection = conns;
    // Compacting this one collection (a V8 flag, read at collection time, set back at once): after
    // a load the old space is mostly holes that V8's own collections keep committed (21 MiB committed
    // for 9 MiB live after 5,000 downloads), and only a compacting collection can give them back.
    compactingGc();
    // Freed ArrayBuffer storage is released by V8's sweeper shortly after the collection.
    setTimeout(giveBack, 200).unref();
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
