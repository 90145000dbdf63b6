// The benchmark instrument: repeated runs with warm-up, median and spread, side-by-side ratios, targets, table and JSON output, CLI flags.

import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** One reported number: the median of several runs and their spread. */
export interface Figure {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  /** Target from issue 9, when there is one. */
  target?: Target;
  /** Whether the median meets the target (absent when there is no target). */
  met?: boolean;
  /** Free text: sizes used, why a figure was skipped, ... */
  note?: string;
}

/** A goal a figure is checked against: `median >= value` or `median <= value`. */
export interface Target {
  op: '>=' | '<=';
  value: number;
}

export interface BenchOptions {
  json: boolean;
  quick: boolean;
  /** Measured runs per figure (after warm-up). */
  runs: number;
  warmup: number;
  /** Group names to run; empty means all. */
  only: string[];
  /** Connection counts for the memory and scaling groups, replacing the defaults (empty: defaults). */
  counts: number[];
  /** Which synack driver: the full Stack, the core-only pair, or the Stack when it loads. */
  driver: 'auto' | 'stack' | 'core';
  help: boolean;
}

/** Where the bench writes: figures and the table to `out`, progress to `err`. */
export interface BenchIo {
  out(text: string): void;
  err(text: string): void;
}

export const USAGE = `usage: npm run bench -- [--json] [--quick] [--runs N] [--warmup N] [--only g1,g2] [--list]
  --json     one JSON object per figure on stdout (progress goes to stderr)
  --quick    fewer runs and smaller sizes (a smoke run, not for publishing)
  --runs N   measured runs per figure (default 5, quick 3)
  --warmup N unmeasured warm-up runs per figure (default 1, quick 1)
  --only     comma-separated groups (see --list)
  --counts   comma-separated connection counts for memory and scaling (e.g. 1,1000,1000000)
  --driver   stack | core | auto (default): synack through the Stack, or the TCP core alone
Heap figures need forced collections: without --expose-gc the bench turns the flag on itself.`;

/** Parse bench CLI flags; unknown flags throw so typos do not silently run everything. */
export function parseArgs(argv: readonly string[], usage = USAGE): BenchOptions & { list: boolean } {
  const o = { json: false, quick: false, runs: 0, warmup: -1, only: [] as string[], counts: [] as number[], driver: 'auto' as BenchOptions['driver'], help: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--json': o.json = true; break;
      case '--quick': o.quick = true; break;
      case '--runs': o.runs = positiveInt(flag, value()); break;
      case '--warmup': o.warmup = nonNegativeInt(flag, value()); break;
      case '--only': o.only.push(...value().split(',').map((s) => s.trim()).filter((s) => s !== '')); break;
      case '--counts': o.counts.push(...value().split(',').map((s) => positiveInt(flag, s.trim()))); break;
      case '--list': o.list = true; break;
      case '--driver': {
        const d = value();
        if (d !== 'auto' && d !== 'stack' && d !== 'core') throw new Error(`--driver wants stack, core or auto, got ${d}`);
        o.driver = d;
        break;
      }
      case '-h': case '--help': o.help = true; break;
      default: throw new Error(`unknown argument: ${a}\n${usage}`);
    }
  }
  if (o.runs === 0) o.runs = o.quick ? 3 : 5;
  if (o.warmup < 0) o.warmup = 1;
  return o;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} wants a positive integer, got ${v}`);
  return n;
}
function nonNegativeInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} wants a non-negative integer, got ${v}`);
  return n;
}

/** Median of a non-empty list (mean of the two middle values for even lengths). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Build a Figure from raw per-run samples. */
export function summarize(name: string, unit: string, samples: readonly number[], extra: Partial<Figure> = {}): Figure {
  const f: Figure = {
    name,
    unit,
    median: median(samples),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
    runs: samples.length,
    ...extra,
  };
  if (f.target !== undefined) f.met = f.target.op === '>=' ? f.median >= f.target.value : f.median <= f.target.value;
  return f;
}

/** A figure that could not be measured here (no root, missing module, ...): runs = 0, NaN values. */
export function skipped(name: string, unit: string, why: string): Figure {
  return { name, unit, median: NaN, min: NaN, max: NaN, runs: 0, note: `skipped: ${why}` };
}

export type Sample = number | Promise<number>;

/** Run `fn` warm-up + runs times, sequentially; each call returns one sample in `unit`. */
export async function measure(
  name: string,
  unit: string,
  opts: Pick<BenchOptions, 'runs' | 'warmup'>,
  fn: (run: number) => Sample,
  extra: Partial<Figure> = {},
): Promise<Figure> {
  for (let i = 0; i < opts.warmup; i++) await fn(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < opts.runs; i++) samples.push(await fn(i));
  return summarize(name, unit, samples, extra);
}

/** One side of a comparison. */
export interface Side {
  name: string;
  fn: (run: number) => Sample;
  extra?: Partial<Figure>;
}

/**
 * Run two measurements interleaved (A, B, A, B, ...) in the same process so that machine noise
 * hits both alike, and report A, B and the per-pair ratio A/B (its median and spread).
 */
export async function compare(
  unit: string,
  opts: Pick<BenchOptions, 'runs' | 'warmup'>,
  a: Side,
  b: Side,
  ratio: { name: string; target?: Target; note?: string },
): Promise<[Figure, Figure, Figure]> {
  for (let i = 0; i < opts.warmup; i++) {
    await a.fn(-1 - i);
    await b.fn(-1 - i);
  }
  const sa: number[] = [];
  const sb: number[] = [];
  const sr: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    // Alternate which side goes first so neither always inherits the other's garbage.
    let va: number;
    let vb: number;
    if (i % 2 === 0) {
      va = await a.fn(i);
      vb = await b.fn(i);
    } else {
      vb = await b.fn(i);
      va = await a.fn(i);
    }
    sa.push(va);
    sb.push(vb);
    sr.push(va / vb);
  }
  const rx: Partial<Figure> = {};
  if (ratio.target !== undefined) rx.target = ratio.target;
  if (ratio.note !== undefined) rx.note = ratio.note;
  return [summarize(a.name, unit, sa, a.extra), summarize(b.name, unit, sb, b.extra), summarize(ratio.name, 'x', sr, rx)];
}

/** Wall-clock milliseconds with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.now();
}

/** Format a number for the table: 3 significant digits for small values, thousands separators for large. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  if (a === 0) return '0';
  return n.toPrecision(3);
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 3) + '...';
}

/** Render figures as an aligned text table (long notes are clipped; --json keeps them whole). */
export function table(figures: readonly Figure[]): string {
  const head = ['figure', 'median', 'unit', 'min..max', 'runs', 'target', 'note'];
  const rows = figures.map((f) => [
    f.name,
    fmt(f.median),
    f.unit,
    f.runs > 0 ? `${fmt(f.min)}..${fmt(f.max)}` : '-',
    String(f.runs),
    f.target === undefined ? '' : `${f.target.op} ${fmt(f.target.value)} ${f.met ? 'met' : 'NOT met'}`,
    clip(f.note ?? '', 110),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([1, 3, 4]);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The JSON object printed for one figure with --json (NaN becomes null). */
export function toJson(f: Figure): string {
  return JSON.stringify(f, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

/** Where progress lines and figures go, chosen by --json. */
export interface Reporter {
  progress(msg: string): void;
  figure(f: Figure): void;
  all(): readonly Figure[];
}

export function reporter(opts: Pick<BenchOptions, 'json'>, io: BenchIo): Reporter {
  const figures: Figure[] = [];
  return {
    progress(msg) {
      io.err(`# ${msg}\n`);
    },
    figure(f) {
      figures.push(f);
      if (opts.json) io.out(toJson(f) + '\n');
      else io.err(`# ${f.name}: ${fmt(f.median)} ${f.unit}${f.note ? ` (${f.note})` : ''}\n`);
    },
    all: () => figures,
  };
}

let gcFn: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

/**
 * Make gc() work without `node --expose-gc`: set the V8 flag at run time and take the `gc`
 * function from a fresh context, where V8 installs it. Returns whether gc() now works.
 */
export function enableGc(): boolean {
  if (gcFn === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const g: unknown = vm.runInNewContext('gc');
      if (typeof g === 'function') gcFn = g as () => void;
    } catch {
      // Leave gcFn unset: the heap figures then include uncollected garbage, and gc() says so.
    }
  }
  return gcFn !== undefined;
}

/** Force a full collection (twice, for objects freed by finalizers); false when impossible. */
export function gc(): boolean {
  const g = gcFn;
  if (g === undefined) return false;
  g();
  g();
  return true;
}

/** A payload buffer filled with a non-trivial pattern (so checksums do real work). */
export function pattern(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** Connections with a `state`, as both bench drivers hand them out. */
interface HasState {
  readonly state: string;
}

/**
 * Establish `n` idle connection pairs for the memory and scaling groups: `listen(port, keep)` opens
 * one listener per 60,000 client ports (from basePort up), `connect(port, localPort)` opens the
 * client side, and `settle()` runs the clock so a batch finishes its handshakes (keeping the event
 * queue short). Throws unless all 2n endpoints reached ESTABLISHED.
 */
export function establishIdlePairs<C extends HasState>(
  n: number,
  basePort: number,
  listen: (port: number, keep: (c: C) => void) => void,
  connect: (port: number, localPort: number) => C,
  settle: () => void,
  batch = 500,
): C[] {
  const keep: C[] = [];
  const perPort = 60_000;
  for (let p = 0; p * perPort < n; p++) listen(basePort + p, (c) => void keep.push(c));
  for (let i = 0; i < n; i++) {
    keep.push(connect(basePort + Math.floor(i / perPort), 1024 + (i % perPort)));
    if (i % batch === batch - 1) settle();
  }
  // Idle connections should have no timers left; settle() is bounded so a stray one cannot hang us.
  settle();
  const established = keep.reduce((k, c) => k + (c.state === 'ESTABLISHED' ? 1 : 0), 0);
  if (established !== 2 * n) throw new Error(`idle pairs: ${established} of ${2 * n} endpoints established`);
  return keep;
}

/**
 * Heap and RSS growth per endpoint for `n` idle connection pairs (2n endpoints, both synack):
 * `establish` builds them (after the baseline is taken) and returns what releases them afterwards.
 */
export function memoryPerEndpoint(n: number, establish: () => () => void): { heapPerConn: number; rssPerConn: number } {
  gc();
  const before = process.memoryUsage();
  const release = establish();
  gc();
  const after = process.memoryUsage();
  const endpoints = 2 * n;
  const r = { heapPerConn: (after.heapUsed - before.heapUsed) / endpoints, rssPerConn: (after.rss - before.rss) / endpoints };
  release();
  return r;
}
