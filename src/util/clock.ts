// Time for everything outside the sans-IO core: a Clock schedules callbacks at absolute times (ms).
// CONTRACT shared by stack/, link/ (the simulator) and the drivers. The core never sees a Clock,
// only `now` numbers passed in.

export interface TimerHandle {
  /** Opaque; pass back to Clock.cancel. */
  readonly id: number;
}

export interface Clock {
  /** Current time in milliseconds (may be fractional). Virtual clocks start at 0. */
  now(): number;
  /** Run `fn` once at time `t` (ms, absolute). Callbacks at equal times run in scheduling order. */
  schedule(t: number, fn: () => void): TimerHandle;
  cancel(h: TimerHandle): void;
  /**
   * Optional: schedule() with an entry the clock reuses once `fn` has run or the handle was
   * cancelled, so a driver that schedules per packet or per deadline allocates nothing. The caller
   * must drop the handle at that point and never cancel it afterwards (it may be someone else's by then).
   */
  schedulePooled?(t: number, fn: () => void): TimerHandle;
  /**
   * Optional: keep the host process alive (one ref'd host handle however many hold it) until the
   * returned release function is called, as an active Node handle does. A virtual clock has none.
   */
  hold?(): () => void;
}
