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
}

/**
 * Watches the process; once per quiet spell after it grew past 1.25x its starting RSS (and by 32 MiB
 * or more), collects garbage and trims the heap. Returns a function that stops watching.
 */
export function startMemoryRelief(opts: ReliefOptions): () => void {
  const interval = opts.intervalMs ?? 5000;
  const quiet = opts.quietPackets ?? 200;
  const baseline = process.memoryUsage.rss();
  let last = opts.activity();
  let relieved = false;
  const timer = setInterval(() => {
    const now = opts.activity();
    const busy = now - last >= quiet;
    last = now;
    if (busy) {
      relieved = false;
      return;
    }
    const rss = process.memoryUsage.rss();
    if (relieved || rss < baseline * 1.25 || rss - baseline < 32 * 1048576) return;
    relieved = true;
    fullGc();
    // Freed ArrayBuffer storage is released by V8's sweeper shortly after the collection.
    setTimeout(trimHeap, 200).unref();
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
