// The transfer figures the TUN commands print: byte counts and rates in human units, and a curl-like
// one-line progress meter (bytes, percent, rate, ETA) redrawn in place on a terminal.

/** 1536 -> "1.5 KiB"; below 1 KiB plain bytes. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i] ?? 'TiB'}`;
}

/** Bytes per second as "12.3 MiB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Seconds as h:mm:ss or m:ss. */
export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return '--:--';
  const s = Math.round(secs);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * A progress line for one download: redraws at most every `intervalMs` (and once more at the end),
 * so a fast transfer does not spend its time painting the terminal.
 */
export class ProgressMeter {
  private shown = 0;
  private lastWidth = 0;
  private readonly started: number;

  constructor(
    private readonly write: (text: string) => void,
    /** Bytes expected in total (Content-Length plus any resume offset), or null when unknown. */
    private readonly total: number | null,
    /** Bytes already on disk before this transfer (a resumed download). */
    private readonly offset = 0,
    private readonly now: () => number = () => performance.now(),
    private readonly intervalMs = 200,
  ) {
    this.started = now();
  }

  /** Called with the bytes received so far in this transfer. */
  update(received: number, force = false): void {
    const t = this.now();
    if (!force && t - this.shown < this.intervalMs) return;
    this.shown = t;
    const secs = Math.max((t - this.started) / 1000, 1e-3);
    const rate = received / secs;
    const have = this.offset + received;
    const parts = [formatBytes(have).padStart(10)];
    if (this.total !== null && this.total > 0) {
      parts.push(`/ ${formatBytes(this.total)}`, `${Math.min(100, Math.floor((have / this.total) * 100))}%`.padStart(4));
    }
    parts.push(formatRate(rate).padStart(12));
    if (this.total !== null) parts.push(`ETA ${rate > 0 ? formatDuration((this.total - have) / rate) : '--:--'}`);
    const line = parts.join('  ');
    const pad = Math.max(0, this.lastWidth - line.length);
    this.lastWidth = line.length;
    this.write(`\r${line}${' '.repeat(pad)}`);
  }

  /** The final figures and a newline, so later output starts on a fresh line. */
  done(received: number): void {
    this.update(received, true);
    this.write('\n');
  }
}
