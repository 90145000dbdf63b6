// Gives memory back after a load: when a TUN command's link has gone quiet and the process is much
// larger than it was at start, run a full garbage collection and then ask the allocator to return
// freed pages (glibc's malloc_trim through the TUN addon). Without it the buffers of thousands of
// finished connections are garbage that nothing collects while the process idles, and glibc keeps
// the pages it had, so RSS stayed at its peak for good after a burst of downloads.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { trimHeap } from '../link/tun.js';

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

export interface ReliefOptions {
  /** A counter that grows with traffic (packets received); unchanged over an interval means quiet. */
  activity: () => number;
  /** How often to look, ms (default 5000). */
  intervalMs?: number;
  /** Packets per interval still counted as quiet (default 200). */
  quietPackets?: number;
  /** Least time between two collections while quiet, ms (default 30000). */
  reliefEveryMs?: number;
}

/**
 * Watches the process; while the link is quiet and the process is past 1.25x its starting RSS (and
 * 32 MiB or more above it), collects garbage and trims the heap, at most once every `reliefEveryMs`
 * (30 s): what the first collection after a load cannot free (connections still in TIME-WAIT, say)
 * a later one can. Returns a function that stops watching.
 */
export function startMemoryRelief(opts: ReliefOptions): () => void {
  const interval = opts.intervalMs ?? 5000;
  const quiet = opts.quietPackets ?? 200;
  const baseline = process.memoryUsage.rss();
  const every = opts.reliefEveryMs ?? 30_000;
  let last = opts.activity();
  let relievedAt = -Infinity;
  const timer = setInterval(() => {
    const count = opts.activity();
    const busy = count - last >= quiet;
    last = count;
    if (busy) {
      relievedAt = -Infinity;
      return;
    }
    const rss = process.memoryUsage.rss();
    const t = performance.now();
    if (t - relievedAt < every || rss < baseline * 1.25 || rss - baseline < 32 * 1048576) return;
    relievedAt = t;
    fullGc();
    // Freed ArrayBuffer storage is released by V8's sweeper shortly after the collection.
    setTimeout(trimHeap, 200).unref();
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
