// A virtual Clock for tests and simulation: time only moves when the driver says so, and it jumps
// straight from one deadline to the next, so a 60 s TIME-WAIT runs in microseconds.
import type { Clock, TimerHandle } from './clock.js';
import { TimerQueue, type TimerEntry } from './timer-queue.js';

export interface RunOptions {
  /** Stop before running anything later than this absolute time (ms). */
  maxTime?: number;
  /** Stop after this many callbacks. */
  maxEvents?: number;
}

export class VirtualClock implements Clock {
  private time: number;
  /** Entries due at the current time go to the queue's FIFO: time stands still until it drains. */
  private readonly queue = new TimerQueue();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Schedule `fn` at absolute time `t`; a time in the past runs at the current time. */
  schedule(t: number, fn: () => void): TimerHandle {
    const at = Number.isNaN(t) || t < this.time ? this.time : t;
    return this.queue.add(at, fn, at === this.time);
  }

  /** schedule() with a reused entry (Clock.schedulePooled). */
  schedulePooled(t: number, fn: () => void): TimerHandle {
    const at = Number.isNaN(t) || t < this.time ? this.time : t;
    return this.queue.addPooled(at, fn, at === this.time);
  }

  /** Timer entry objects created so far (tests: pooled scheduling creates none in a steady state). */
  get entriesCreated(): number {
    return this.queue.created;
  }

  cancel(h: TimerHandle): void {
    this.queue.cancel(h);
  }

  /** Number of scheduled, not yet run, not cancelled callbacks. */
  pending(): number {
    return this.queue.live;
  }

  /** Time of the earliest pending callback, or Infinity. */
  nextAt(): number {
    const e = this.queue.peek();
    return e === undefined ? Infinity : e.t;
  }

  /** Run the earliest pending callback (advancing time to it). False when nothing is pending. */
  runNext(): boolean {
    const e = this.queue.peek();
    if (e === undefined) return false;
    this.fire(e);
    return true;
  }

  /** Run everything due at or before `t`, then set the time to `t` (if later). Returns callbacks run. */
  runUntil(t: number): number {
    let n = 0;
    for (;;) {
      const e = this.queue.peek();
      if (e === undefined || e.t > t) break;
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
      const e = this.queue.peek();
      if (e === undefined) return n;
      if (e.t > maxTime) {
        if (maxTime > this.time) this.time = maxTime;
        return n;
      }
      this.fire(e);
      n++;
    }
    return n;
  }

  /** Take `e`, which the queue just showed as earliest, move time to it and run it. */
  private fire(e: TimerEntry): void {
    // Read before take: a pooled entry may be handed out again by what fn schedules.
    const t = e.t;
    const fn = this.queue.take(e);
    if (t > this.time) this.time = t;
    fn();
  }
}
