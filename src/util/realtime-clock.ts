// A wall-clock Clock for Node and browsers: one host timer (globalThis.setTimeout) armed for the
// earliest deadline of the timer queue (timer-queue.ts), so any number of connections cost one timer.
import type { Clock, TimerHandle } from './clock.js';
import { TimerQueue } from './timer-queue.js';

type HostTimer = { unref?: () => unknown } | number;

export interface RealtimeClockOptions {
  /**
   * Unref the host timer where supported (Node), so pending stack timers alone do not keep the
   * process alive. Default true; pass false for scripts whose only pending work is the stack.
   */
  unref?: boolean;
}

const noop = (): void => {};

function monotonicNow(): () => number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  if (perf !== undefined && typeof perf.now === 'function') return () => perf.now();
  return () => Date.now();
}

export class RealtimeClock implements Clock {
  /** Everything goes to the queue's heap: wall time never stands still for its FIFO. */
  private readonly queue = new TimerQueue();
  private readonly read = monotonicNow();
  private timer: HostTimer | null = null;
  /** Whether `timer` is a setImmediate (work due now) rather than a setTimeout. */
  private immediate = false;
  private armedAt = Infinity;
  private readonly unref: boolean;
  private readonly onTimer = (): void => this.fireDue();
  /** How many holders want the process kept alive, and the one host handle that does it. */
  private holders = 0;
  private keepAlive: unknown = null;

  constructor(opts: RealtimeClockOptions = {}) {
    this.unref = opts.unref ?? true;
  }

  now(): number {
    return this.read();
  }

  schedule(t: number, fn: () => void): TimerHandle {
    const e = this.queue.add(Number.isNaN(t) ? 0 : t, fn, false);
    if (e.t < this.armedAt) this.arm(e.t);
    return e;
  }

  /** schedule() with a reused entry (Clock.schedulePooled). */
  schedulePooled(t: number, fn: () => void): TimerHandle {
    const e = this.queue.addPooled(Number.isNaN(t) ? 0 : t, fn, false);
    if (e.t < this.armedAt) this.arm(e.t);
    return e;
  }

  cancel(h: TimerHandle): void {
    this.queue.cancel(h);
    if (this.queue.live === 0) this.disarm();
  }

  pending(): number {
    return this.queue.live;
  }

  /**
   * Keep the process alive until the returned function is called (idempotent). Sockets and servers
   * of the net API hold while they are active and ref'd, so a program whose only work is on a
   * synack stack exits when that work ends, as with Node's own handles.
   */
  hold(): () => void {
    if (this.holders++ === 0) {
      // A long interval (ref'd) is the handle; its callback never matters.
      const g = globalThis as unknown as { setInterval(fn: () => void, ms: number): unknown };
      this.keepAlive = g.setInterval(noop, 0x3fffffff);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holders === 0) {
        const g = globalThis as unknown as { clearInterval(h: unknown): void };
        g.clearInterval(this.keepAlive);
        this.keepAlive = null;
      }
    };
  }

  /** Cancel everything and release the host timer. */
  dispose(): void {
    this.queue.clear();
    this.disarm();
  }

  private arm(t: number): void {
    this.disarm();
    const delay = Math.max(0, t - this.read());
    const g = globalThis as unknown as {
      setTimeout(fn: () => void, ms: number): HostTimer;
      setImmediate?: (fn: () => void) => HostTimer;
    };
    // Work due now (a write's output, an ACK to send) runs in this turn of the event loop, after the
    // I/O it answers: a host timer of 0 ms waits at least 1 ms (Node's and browsers' floor), which
    // was a millisecond added to every request-response exchange (serve: `ab -k -c 1` at 400 req/s
    // against the kernel's 3,000). setImmediate rather than a microtask: the rest of the I/O that
    // woke us (the other packets of a read batch) is handled first, and its work done in one pass.
    const immediate = delay === 0 && typeof g.setImmediate === 'function';
    const timer = immediate ? g.setImmediate!(this.onTimer) : g.setTimeout(this.onTimer, Math.ceil(delay));
    // Never an unref'd immediate: Node's poll phase ignores those and blocks until other I/O or a
    // timer wakes it, which turned "now" into "at the next delayed ACK or retransmission timeout"
    // (Node's test-net-write-fully-async-buffer and test-net-reconnect hung). It runs this turn, so
    // it keeps the process alive no longer than the work it carries.
    if (!immediate && this.unref && typeof timer === 'object' && typeof timer.unref === 'function') timer.unref();
    this.timer = timer;
    this.immediate = immediate;
    this.armedAt = t;
  }

  private disarm(): void {
    if (this.timer !== null) {
      const g = globalThis as unknown as { clearTimeout(h: HostTimer): void; clearImmediate?: (h: HostTimer) => void };
      if (this.immediate) g.clearImmediate!(this.timer);
      else g.clearTimeout(this.timer);
      this.timer = null;
    }
    this.armedAt = Infinity;
  }

  private fireDue(): void {
    this.timer = null;
    this.armedAt = Infinity;
    // Callbacks scheduled while running (for "now") run in this same turn, in order.
    for (;;) {
      const e = this.queue.peek();
      if (e === undefined || e.t > this.read()) break;
      const fn = this.queue.take(e);
      try {
        fn();
      } catch (err) {
        // A throwing callback must not stall every other timer: re-arm, then rethrow.
        this.rearm();
        throw err;
      }
    }
    this.rearm();
  }

  private rearm(): void {
    const e = this.queue.peek();
    if (e !== undefined && e.t < this.armedAt) this.arm(e.t);
  }
}
