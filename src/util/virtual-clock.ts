// A virtual Clock for tests and simulation: time only moves when the driver says so, and it jumps
// straight from one deadline to the next, so a 60 s TIME-WAIT runs in microseconds.
import type { Clock, TimerHandle } from './clock.js';
import { MinHeap } from './heap.js';

/** A scheduled callback; doubles as the TimerHandle returned to callers. */
interface Entry extends TimerHandle {
  readonly t: number;
  /** Scheduling order, so equal times run first-scheduled first. */
  readonly order: number;
  fn: (() => void) | null;
}

const earlier = (a: Entry, b: Entry): boolean => a.t < b.t || (a.t === b.t && a.order < b.order);

export interface RunOptions {
  /** Stop before running anything later than this absolute time (ms). */
  maxTime?: number;
  /** Stop after this many callbacks. */
  maxEvents?: number;
}

export class VirtualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly heap = new MinHeap<Entry>(earlier);
  /**
   * Entries scheduled for the current time (zero-latency links, immediate work), in scheduling
   * order: a FIFO beside the heap, so the commonest case costs no sifting. Every heap entry due at
   * the same time was scheduled before them, and time only moves on once this queue is empty, so
   * taking the earlier of the two heads keeps exactly the (time, order) order.
   */
  private readonly due: Entry[] = [];
  private dueHead = 0;
  /** End of the queue in `due` (slots beyond it hold stale entries; the array keeps its storage). */
  private dueEnd = 0;
  private live = 0;
  private dead = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Schedule `fn` at absolute time `t`; a time in the past runs at the current time. */
  schedule(t: number, fn: () => void): TimerHandle {
    const at = Number.isNaN(t) || t < this.time ? this.time : t;
    const id = this.nextId++;
    const e: Entry = { id, t: at, order: id, fn };
    if (at === this.time) this.due[this.dueEnd++] = e;
    else this.heap.push(e);
    this.live++;
    return e;
  }

  cancel(h: TimerHandle): void {
    const e = h as Entry;
    if (e.fn === null || e.fn === undefined) return;
    e.fn = null;
    this.live--;
    this.dead++;
    // Lazy deletion; compact when cancelled entries dominate so the heap does not grow unbounded.
    if (this.dead > 64 && this.dead > this.live) {
      this.heap.filter((x) => x.fn !== null);
      let w = 0;
      for (let r = this.dueHead; r < this.dueEnd; r++) if (this.due[r]!.fn !== null) this.due[w++] = this.due[r]!;
      this.dueHead = 0;
      this.dueEnd = w;
      this.dead = 0;
    }
  }

  /** Number of scheduled, not yet run, not cancelled callbacks. */
  pending(): number {
    return this.live;
  }

  /** Time of the earliest pending callback, or Infinity. */
  nextAt(): number {
    const e = this.peekLive();
    return e === undefined ? Infinity : e.t;
  }

  /** Run the earliest pending callback (advancing time to it). False when nothing is pending. */
  runNext(): boolean {
    const e = this.peekLive();
    if (e === undefined) return false;
    this.take(e);
    this.fire(e);
    return true;
  }

  /** Run everything due at or before `t`, then set the time to `t` (if later). Returns callbacks run. */
  runUntil(t: number): number {
    let n = 0;
    for (;;) {
      const e = this.peekLive();
      if (e === undefined || e.t > t) break;
      this.take(e);
      this.fire(e);
      n++;
    }
    if (t > this.time) this.time = t;
    return n;
  }

  /** Advance by `ms`, running what falls due. */
  advance(ms: number): number {
    return this.runUntil(this.time + ms);
  }

  /**
   * Run until nothing is pending (or a limit is hit). Returns the number of callbacks run. With
   * maxTime, time ends at maxTime if work remained beyond it.
   */
  runUntilIdle(opts: RunOptions = {}): number {
    const maxTime = opts.maxTime ?? Infinity;
    const maxEvents = opts.maxEvents ?? Infinity;
    let n = 0;
    while (n < maxEvents) {
      const e = this.peekLive();
      if (e === undefined) return n;
      if (e.t > maxTime) {
        if (maxTime > this.time) this.time = maxTime;
        return n;
      }
      this.take(e);
      this.fire(e);
      n++;
    }
    return n;
  }

  /** The earliest entry not cancelled (cancelled ones met on the way are dropped), or undefined. */
  private peekLive(): Entry | undefined {
    const due = this.due;
    let d = this.dueHead < this.dueEnd ? due[this.dueHead] : undefined;
    while (d !== undefined && d.fn === null) {
      this.dead--;
      d = ++this.dueHead < this.dueEnd ? due[this.dueHead] : undefined;
    }
    if (d === undefined) this.dueHead = this.dueEnd = 0;
    let h = this.heap.peek();
    while (h !== undefined && h.fn === null) {
      this.heap.pop();
      this.dead--;
      h = this.heap.peek();
    }
    if (d === undefined) return h;
    if (h === undefined) return d;
    return earlier(h, d) ? h : d;
  }

  /** Remove `e`, which peekLive just returned, from where it is queued. */
  private take(e: Entry): void {
    if (this.dueHead === this.dueEnd || e !== this.due[this.dueHead]) {
      this.heap.pop();
      return;
    }
    this.dueHead++;
    // Time may stand still for a whole transfer on zero-latency links: move the queue back to the
    // front now and then instead of letting the array grow.
    if (this.dueHead >= 1024 && this.dueHead * 2 >= this.dueEnd) {
      const n = this.dueEnd - this.dueHead;
      for (let k = 0; k < n; k++) this.due[k] = this.due[this.dueHead + k]!;
      this.dueHead = 0;
      this.dueEnd = n;
    }
  }

  private fire(e: Entry): void {
    const fn = e.fn!;
    e.fn = null;
    this.live--;
    if (e.t > this.time) this.time = e.t;
    fn();
  }
}
