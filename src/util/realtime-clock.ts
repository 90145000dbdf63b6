// A wall-clock Clock for Node and browsers: one host timer (globalThis.setTimeout) armed for the
// earliest deadline of a heap of callbacks, so any number of connections cost one timer.
import type { Clock, TimerHandle } from './clock.js';
import { MinHeap } from './heap.js';

interface Entry extends TimerHandle {
  readonly t: number;
  readonly order: number;
  fn: (() => void) | null;
}

const earlier = (a: Entry, b: Entry): boolean => a.t < b.t || (a.t === b.t && a.order < b.order);

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
  private readonly heap = new MinHeap<Entry>(earlier);
  private readonly read = monotonicNow();
  private nextId = 1;
  private live = 0;
  private dead = 0;
  private timer: HostTimer | null = null;
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
    const id = this.nextId++;
    const e: Entry = { id, t: Number.isNaN(t) ? 0 : t, order: id, fn };
    this.heap.push(e);
    this.live++;
    if (e.t < this.armedAt) this.arm(e.t);
    return e;
  }

  cancel(h: TimerHandle): void {
    const e = h as Entry;
    if (e.fn === null || e.fn === undefined) return;
    e.fn = null;
    this.live--;
    this.dead++;
    if (this.dead > 64 && this.dead > this.live) {
      this.heap.filter((x) => x.fn !== null);
      this.dead = 0;
    }
    if (this.live === 0) this.disarm();
  }

  pending(): number {
    return this.live;
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
    this.heap.clear();
    this.live = 0;
    this.dead = 0;
    this.disarm();
  }

  private arm(t: number): void {
    this.disarm();
    const delay = Math.max(0, t - this.read());
    const g = globalThis as unknown as { setTimeout(fn: () => void, ms: number): HostTimer };
    const timer = g.setTimeout(this.onTimer, Math.ceil(delay));
    if (this.unref && typeof timer === 'object' && typeof timer.unref === 'function') timer.unref();
    this.timer = timer;
    this.armedAt = t;
  }

  private disarm(): void {
    if (this.timer !== null) {
      const g = globalThis as unknown as { clearTimeout(h: HostTimer): void };
      g.clearTimeout(this.timer);
      this.timer = null;
    }
    this.armedAt = Infinity;
  }

  private fireDue(): void {
    this.timer = null;
    this.armedAt = Infinity;
    // Callbacks scheduled while running (for "now") run in this same turn, in order.
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined) break;
      if (e.fn === null) {
        this.heap.pop();
        this.dead--;
        continue;
      }
      if (e.t > this.read()) break;
      this.heap.pop();
      const fn = e.fn;
      e.fn = null;
      this.live--;
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
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined) return;
      if (e.fn !== null) {
        if (e.t < this.armedAt) this.arm(e.t);
        return;
      }
      this.heap.pop();
      this.dead--;
    }
  }
}
