// packetdrill's timing rules on a virtual clock: resolving absolute, relative (`+`), any (`*`) and
// range (`a~b`, `+a~+b`) event times and blocking-call end times, and checking that something happened
// within the tolerance window [expected - tol, expected + tol] (tolerance_usecs, default 4000 us,
// widened by tolerance_percent of the gap since the previous event when that is larger).

import type { EventTime } from './ast.js';

export const DEFAULT_TOLERANCE_USECS = 4000;

export interface TimingConfig {
  /** --tolerance_usecs (default 4000). */
  readonly toleranceUsecs: number;
  /** --tolerance_percent (default 0): tolerance grows to this percent of the gap since the last event. */
  readonly tolerancePercent: number;
}

/** An event's time resolved to microseconds since the script started (the first event is at 0). */
export interface ScheduledTime {
  readonly kind: EventTime['kind'];
  /** When the event is due; for ranges the range start; for `*` the time it was scheduled at. */
  readonly start: number;
  /** Range end, or null. */
  readonly end: number | null;
  /** The base that relative times were added to (for messages about relative ranges). */
  readonly offset: number;
  /** For blocking system calls: when the call must return; otherwise null. */
  readonly syscallEnd: number | null;
  /** The previous event's script time (for tolerance_percent), or null for the first event. */
  readonly lastEventUsecs: number | null;
}

export type ScheduleResult = { readonly ok: true; readonly time: ScheduledTime } | { readonly ok: false; readonly message: string };

/** Microseconds as packetdrill prints seconds: "0.100000". */
export function formatSecs(usecs: number): string {
  return (usecs / 1e6).toFixed(6);
}

function signedSecs(usecs: number): string {
  return (usecs >= 0 ? '+' : '') + formatSecs(usecs);
}

/**
 * Tracks the previous event and resolves each next event's time the way packetdrill does:
 * relative times count from the moment the previous event completed (virtual "now"), except that
 * consecutive inbound packets are anchored to the previous inbound packet's scheduled time so
 * processing time does not accumulate.
 */
export class ScriptTimeline {
  private last: { start: number; absolute: boolean; inboundPacket: boolean } | null = null;

  constructor(readonly config: TimingConfig = { toleranceUsecs: DEFAULT_TOLERANCE_USECS, tolerancePercent: 0 }) {}

  /**
   * Resolve `time` for the next event. `nowUsecs` is the virtual time when the previous event
   * completed; `syscallEndUsecs` is the `...end` of a blocking system call (same base as `time`).
   */
  schedule(
    time: EventTime,
    opts: { readonly nowUsecs: number; readonly inboundPacket: boolean; readonly syscallEndUsecs?: number | null },
  ): ScheduleResult {
    const endRaw = opts.syscallEndUsecs ?? null;
    const startRaw = time.kind === 'any' ? 0 : time.usecs;
    if (this.last === null && startRaw !== 0) {
      return { ok: false, message: 'first event should be at time 0' };
    }
    const absolute = time.kind === 'absolute' || time.kind === 'absolute-range';
    if (this.last !== null && this.last.absolute && absolute && startRaw < this.last.start) {
      return { ok: false, message: `time goes backward in script from ${this.last.start} usec to ${startRaw} usec` };
    }
    let offset = 0;
    if (!absolute) {
      offset = this.last !== null && this.last.inboundPacket && opts.inboundPacket ? this.last.start : opts.nowUsecs;
    }
    const start = startRaw + offset;
    const end = time.kind === 'absolute-range' || time.kind === 'relative-range' ? time.endUsecs + offset : null;
    // A blocking call's end shares its start's base: relative starts shift it, absolute ones do not.
    const syscallEnd = endRaw === null ? null : time.kind === 'relative' ? endRaw + offset : endRaw;
    return {
      ok: true,
      time: { kind: time.kind, start, end, offset, syscallEnd, lastEventUsecs: this.last === null ? null : this.last.start },
    };
  }

  /** Record that the event finished; `actualUsecs` replaces the start of `*` and range events. */
  complete(t: ScheduledTime, inboundPacket: boolean, actualUsecs?: number): void {
    const settles = t.kind === 'any' || t.kind === 'absolute-range' || t.kind === 'relative-range';
    const start = settles && actualUsecs !== undefined ? actualUsecs : t.start;
    this.last = { start, absolute: t.kind === 'absolute' || t.kind === 'absolute-range', inboundPacket };
  }

  /** The tolerance that applies to `t`. */
  tolerance(t: ScheduledTime): number {
    let tol = this.config.toleranceUsecs;
    if (t.lastEventUsecs !== null && this.config.tolerancePercent > 0) {
      const dynamic = Math.trunc((this.config.tolerancePercent / 100) * (t.start - t.lastEventUsecs));
      if (dynamic > tol) tol = dynamic;
    }
    return tol;
  }

  /** The earliest virtual time at which the event may happen. */
  earliest(t: ScheduledTime): number {
    return t.kind === 'any' ? t.start : t.start - this.tolerance(t);
  }

  /** The latest virtual time at which the event may happen (Infinity for `*`). */
  deadline(t: ScheduledTime): number {
    if (t.kind === 'any') return Infinity;
    return (t.end ?? t.start) + this.tolerance(t);
  }

  /**
   * null when `actualUsecs` is acceptable for `t`, else packetdrill's "timing error: ..." message.
   * `description` is e.g. "outbound packet", "inbound packet", "system call start".
   */
  check(t: ScheduledTime, actualUsecs: number, description: string): string | null {
    if (t.kind === 'any') return null;
    const tol = this.tolerance(t);
    if (t.end !== null) {
      if (actualUsecs >= t.start - tol && actualUsecs <= t.end + tol) return null;
      if (t.kind === 'absolute-range') {
        return `timing error: expected ${description} in time range ${formatSecs(t.start)}~${formatSecs(t.end)} sec but happened at ${formatSecs(actualUsecs)} sec`;
      }
      return (
        `timing error: expected ${description} in relative time range ${signedSecs(t.start - t.offset)}~${signedSecs(t.end - t.offset)} sec ` +
        `but happened at ${signedSecs(actualUsecs - t.offset)} sec`
      );
    }
    return withinTolerance(actualUsecs, t.start, tol)
      ? null
      : `timing error: expected ${description} at ${formatSecs(t.start)} sec but happened at ${formatSecs(actualUsecs)} sec; tolerance ${formatSecs(tol)} sec`;
  }

  /** Check a blocking call's return time against its `...end`; non-blocking calls must not block. */
  checkSyscallReturn(t: ScheduledTime, actualUsecs: number): string | null {
    if (t.syscallEnd === null) {
      const tol = this.tolerance(t);
      return actualUsecs - t.start > tol
        ? `timing error: expected non-blocking system call but it returned at ${formatSecs(actualUsecs)} sec (started ${formatSecs(t.start)} sec)`
        : null;
    }
    const tol = this.tolerance(t);
    return withinTolerance(actualUsecs, t.syscallEnd, tol)
      ? null
      : `timing error: expected system call return at ${formatSecs(t.syscallEnd)} sec but happened at ${formatSecs(actualUsecs)} sec; tolerance ${formatSecs(tol)} sec`;
  }
}

/** expected - tol <= actual <= expected + tol. */
export function withinTolerance(actualUsecs: number, expectedUsecs: number, toleranceUsecs: number): boolean {
  return actualUsecs >= expectedUsecs - toleranceUsecs && actualUsecs <= expectedUsecs + toleranceUsecs;
}
