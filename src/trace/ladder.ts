// The ladder (sequence) diagram of one TCP connection for terminals, and the row model that the
// SVG and Mermaid renderers share: two lifelines, one arrow per segment, each side's state in its
// own column (states are RFC 9293 section 3.3.2's names; seq/ack numbering follows section 3.4).

import type { SegmentEvent, StateEvent, TcpStateName, TraceEvent } from './events.js';

/** Options shared by every ladder renderer. */
export interface LadderOptions {
  /** Name of the endpoint drawn in the left column (matches SegmentEvent.from/to and StateEvent.host). */
  left: string;
  /** Name of the endpoint drawn in the right column. */
  right: string;
  /** Print seq/ack as on the wire. Default: relative to each sender's ISN (its SYN's seq), as Wireshark does. */
  absolute?: boolean;
  /** ANSI colour (terminal only). Default false. */
  color?: boolean;
  /** Plain ASCII instead of box-drawing and arrow characters (terminal only). Default false. */
  ascii?: boolean;
  /** Preferred total width in columns (terminal) or pixels (SVG); grows when a label needs more room. */
  width?: number;
  /** Print the time of each row (ms since the start of the trace). Default true (Mermaid: false). */
  showTime?: boolean;
  /**
   * Terminal only: no line is wider than this (unless two column names alone need more); labels
   * that do not fit between the lifelines wrap onto more lines. Default: 80, or `width` when wider.
   * Infinity: the ladder grows to fit its longest label.
   */
  maxWidth?: number;
  /**
   * Terminal only: draw at most this many segments, the first and last halves, with a break row
   * summing up the ones left out (a long transfer would otherwise print a line pair per segment).
   */
  maxSegments?: number;
  /**
   * SVG only: make each segment a focusable button carrying its index and on-the-wire numbers
   * (data-seg, data-flags, data-seq, data-ack, data-len), for pages that let a reader pick one.
   */
  interactive?: boolean;
  /** The words drawn besides numbers, flags and RFC state names (default ENGLISH_WORDS; the lab passes Korean). */
  words?: LadderWords;
  /** Names shown for the two columns when they differ from the `left`/`right` the events use. */
  names?: { left?: string; right?: string };
}

/**
 * The words a ladder draws that are not field names, numbers, flags or RFC 9293 state names, so
 * a page in another language draws the whole ladder in it (the lab's Korean; its i18n table).
 */
export interface LadderWords {
  retransmission: string;
  lost: string;
  /** A second copy of a segment the link delivered twice. */
  duplicate: string;
  /** A quiet stretch of `seconds` (e.g. "60.000 s"); `timeWait` names who waited in TIME-WAIT (empty: nothing was sent). */
  quiet: (seconds: string, timeWait: readonly string[]) => string;
  /** An event's note (English, e.g. "spoofed") as drawn. */
  note: (note: string) => string;
  /** What caused a state change (RFC 9293's event names, e.g. "rcv SYN"), shown as a tooltip. */
  cause: (cause: string) => string;
  /** The SVG document's title. */
  title: (left: string, right: string) => string;
}

export const ENGLISH_WORDS: LadderWords = {
  retransmission: 'retransmission',
  lost: 'lost',
  duplicate: 'duplicate',
  quiet: (seconds, timeWait) => `${seconds} pass${timeWait.length > 0 ? `: ${timeWait.join(' and ')} in TIME-WAIT (2*MSL)` : ' with nothing sent'}`,
  note: (note) => note,
  cause: (cause) => cause,
  title: (left, right) => `TCP ladder: ${left} and ${right}`,
};

/** Which way an arrow points. */
export type Direction = 'right' | 'left';

/** One segment arrow, with its numbers already made relative when asked. */
export interface SegmentRow {
  kind: 'segment';
  t: number;
  /** The segment event drawn (its numbers as on the wire). */
  event: SegmentEvent;
  dir: Direction;
  /** Flag names joined by '-', e.g. "SYN-ACK", "PSH-ACK", "FIN-ACK"; "NONE" when no flag is set. */
  flagsLabel: string;
  seq: number;
  /** Undefined when the ACK flag is clear: such a segment carries no meaningful acknowledgment. */
  ack: number | undefined;
  len: number;
  win: number;
  lost: boolean;
  retransmit: boolean;
  /** The link delivered this segment a second time; this row is the copy. */
  duplicate: boolean;
  options: string | undefined;
  /** A note for people (e.g. "spoofed"), drawn in parentheses. */
  note?: string | undefined;
  /** The full text drawn on the arrow. */
  label: string;
}

/** A state change of one side or both (changes at the same instant share a row). */
export interface StateRow {
  kind: 'state';
  t: number;
  left: StateEvent | undefined;
  right: StateEvent | undefined;
}

export type LadderRow = SegmentRow | StateRow;

/** What every renderer draws: the two columns, each side's state before the first change, the rows. */
export interface LadderModel {
  /** The columns' names as drawn (LadderOptions.names, else left and right). */
  left: string;
  right: string;
  /** The words to draw (LadderOptions.words, else English). */
  words: LadderWords;
  initialLeft: TcpStateName | undefined;
  initialRight: TcpStateName | undefined;
  rows: LadderRow[];
}

/** "SYN,ACK" -> "SYN-ACK"; "" -> "NONE". */
export function flagsLabel(flags: string): string {
  const names = flags.split(',').filter((f) => f.length > 0);
  return names.length === 0 ? 'NONE' : names.join('-');
}

function hasFlag(flags: string, name: string): boolean {
  return flags.split(',').includes(name);
}

/** Normalises a conn id ("a:1>b:2" from either side) so both directions share one key. */
function connKey(conn: string | undefined): string {
  if (conn === undefined) return '';
  const halves = conn.split('>');
  return halves.length === 2 ? [...halves].sort().join('>') : conn;
}

/** The text on an arrow: flags, seq, ack (only with ACK set), len, win, and marks. */
export function segmentLabel(r: Omit<SegmentRow, 'label'>, words: LadderWords = ENGLISH_WORDS): string {
  let s = `${r.flagsLabel} seq=${r.seq}`;
  if (r.ack !== undefined) s += ` ack=${r.ack}`;
  s += ` len=${r.len} win=${r.win}`;
  if (r.retransmit) s += ` (${words.retransmission})`;
  if (r.duplicate) s += ` (${words.duplicate})`;
  if (r.lost) s += ` (${words.lost})`;
  if (r.note) s += ` (${words.note(r.note)})`;
  return s;
}

/**
 * Turns trace events into ladder rows for two endpoints. Events of other hosts or other event
 * types are ignored; events are ordered by time (stable). Relative numbering: a sender's base is
 * the seq of its latest SYN, else the first seq it sent, else the first ack its peer sent it.
 */
export function buildLadderModel(events: readonly TraceEvent[], opts: LadderOptions): LadderModel {
  const { left, right } = opts;
  const words = opts.words ?? ENGLISH_WORDS;
  const relevant: (SegmentEvent | StateEvent)[] = [];
  for (const e of events) {
    if (e.type === 'segment') {
      if ((e.from === left && e.to === right) || (e.from === right && e.to === left)) relevant.push(e);
    } else if (e.type === 'state') {
      if (e.host === left || e.host === right) relevant.push(e);
    }
  }
  const ordered = relevant
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.t - b.e.t || a.i - b.i)
    .map((x) => x.e);

  const base = new Map<string, number>();
  const baseOf = (conn: string | undefined, host: string): number | undefined => base.get(`${connKey(conn)}|${host}`);
  const setBase = (conn: string | undefined, host: string, v: number): void => {
    base.set(`${connKey(conn)}|${host}`, v >>> 0);
  };

  let initialLeft: TcpStateName | undefined;
  let initialRight: TcpStateName | undefined;
  const rows: LadderRow[] = [];
  for (const e of ordered) {
    if (e.type === 'state') {
      const isLeft = e.host === left;
      if (isLeft && initialLeft === undefined) initialLeft = e.from;
      if (!isLeft && initialRight === undefined) initialRight = e.from;
      const prev = rows[rows.length - 1];
      // Changes of the two sides at the same instant share a row; one side's successive changes do not.
      if (prev !== undefined && prev.kind === 'state' && prev.t === e.t && (isLeft ? prev.left : prev.right) === undefined) {
        if (isLeft) prev.left = e;
        else prev.right = e;
      } else {
        rows.push({ kind: 'state', t: e.t, left: isLeft ? e : undefined, right: isLeft ? undefined : e });
      }
      continue;
    }
    const ackSet = hasFlag(e.flags, 'ACK');
    let seq = e.seq >>> 0;
    let ack: number | undefined = ackSet ? e.ack >>> 0 : undefined;
    if (!opts.absolute) {
      if (hasFlag(e.flags, 'SYN')) setBase(e.conn, e.from, e.seq);
      if (baseOf(e.conn, e.from) === undefined) setBase(e.conn, e.from, e.seq);
      seq = (seq - (baseOf(e.conn, e.from) ?? 0)) >>> 0;
      if (ack !== undefined) {
        if (baseOf(e.conn, e.to) === undefined) setBase(e.conn, e.to, ack);
        ack = (ack - (baseOf(e.conn, e.to) ?? 0)) >>> 0;
      }
    }
    const row: Omit<SegmentRow, 'label'> = {
      kind: 'segment',
      t: e.t,
      event: e,
      dir: e.from === left ? 'right' : 'left',
      flagsLabel: flagsLabel(e.flags),
      seq,
      ack,
      len: e.len,
      win: e.win,
      lost: e.lost,
      retransmit: e.retransmit === true,
      duplicate: e.duplicate === true,
      options: e.options,
      note: e.note,
    };
    rows.push({ ...row, label: segmentLabel(row, words) });
  }
  return { left: opts.names?.left ?? left, right: opts.names?.right ?? right, words, initialLeft, initialRight, rows };
}

/** Milliseconds with three decimals, e.g. "12.500". */
export function formatTime(t: number): string {
  return t.toFixed(3);
}

/** The terminal gutter's time with its unit: "12.5 ms" below 10 s, "60.070 s" from there on. */
export function gutterTime(t: number): string {
  return t < 10_000 ? `${t.toFixed(1)} ms` : `${(t / 1000).toFixed(3)} s`;
}

/** Quiet stretches at least this long (ms) are drawn as a break in the terminal ladder. */
export const BREAK_GAP = 1000;

/** A break in the ladder: a long quiet time (TIME-WAIT, a backed-off timer), or segments left out (terminal). */
export interface BreakRow {
  kind: 'break';
  t: number;
  text: string;
}

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur === '') cur = w;
    else if (cur.length + 1 + w.length <= width) cur += ' ' + w;
    else {
      lines.push(cur);
      cur = w;
    }
  }
  if (cur !== '' || lines.length === 0) lines.push(cur);
  return lines;
}

/** `text` in lines of at most `width` columns, the lines after the first indented by `indent` (CLI prose). */
export function wrapIndented(text: string, width: number, indent: number): string {
  const lead = /^ */.exec(text)![0];
  const [first = '', ...rest] = wrapText(text.slice(lead.length), width - lead.length);
  if (rest.length === 0) return lead + first;
  return [lead + first, ...wrapText(rest.join(' '), width - indent).map((l) => ' '.repeat(indent) + l)].join('\n');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

/**
 * The rows the terminal draws: the model's rows with at most `maxSegments` segments (a break row
 * sums up the rest), and the quiet-stretch breaks of withBreaks.
 */
function terminalRows(model: LadderModel, maxSegments: number | undefined): (LadderRow | BreakRow)[] {
  let rows: (LadderRow | BreakRow)[] = model.rows;
  const segCount = model.rows.filter((r) => r.kind === 'segment').length;
  if (maxSegments !== undefined && segCount > maxSegments) {
    const head = Math.ceil(maxSegments / 2);
    const tailFrom = segCount - Math.floor(maxSegments / 2);
    const out: (LadderRow | BreakRow)[] = [];
    let i = 0;
    let left: SegmentRow[] = [];
    const flush = (): void => {
      if (left.length === 0) return;
      const dir = (d: Direction): string => {
        const segs = left.filter((r) => r.dir === d);
        const bytes = segs.reduce((n, r) => n + r.len, 0);
        const from = d === 'right' ? model.left : model.right;
        return `${segs.length} from ${from} (${bytes} bytes of data)`;
      };
      out.push({ kind: 'break', t: left[0]!.t, text: `${left.length} segments not drawn, ${seconds(left[0]!.t)} to ${seconds(left[left.length - 1]!.t)}: ${dir('right')}, ${dir('left')}` });
      left = [];
    };
    for (const r of model.rows) {
      if (r.kind === 'segment') {
        if (i >= head && i < tailFrom) {
          left.push(r);
          i++;
          continue;
        }
        i++;
      }
      // State changes in the left-out stretch are kept; they come after the break.
      if (r.kind === 'segment' || left.length === 0) flush();
      out.push(r);
    }
    flush();
    rows = out;
  }
  return withBreaks(model, rows);
}

/**
 * `rows` with a break row before each row that follows a quiet stretch of BREAK_GAP or more,
 * saying who was waiting in TIME-WAIT (2*MSL, RFC 9293 3.6.1) when that is why. The terminal and
 * SVG ladders both draw them, so a 60 s wait does not look like the 10 ms rows around it.
 */
export function withBreaks(model: LadderModel, rows: readonly (LadderRow | BreakRow)[] = model.rows): (LadderRow | BreakRow)[] {
  const out: (LadderRow | BreakRow)[] = [];
  const state: Record<'left' | 'right', TcpStateName | undefined> = { left: model.initialLeft, right: model.initialRight };
  let prevT: number | undefined;
  for (const r of rows) {
    if (prevT !== undefined && r.kind !== 'break' && r.t - prevT >= BREAK_GAP) {
      const waiting = (['left', 'right'] as const).filter((s) => state[s] === 'TIME-WAIT').map((s) => (s === 'left' ? model.left : model.right));
      out.push({ kind: 'break', t: prevT, text: model.words.quiet(seconds(r.t - prevT), waiting) });
    }
    if (r.kind === 'state') {
      if (r.left !== undefined) state.left = r.left.to;
      if (r.right !== undefined) state.right = r.right.to;
    }
    prevT = r.t;
    out.push(r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Terminal rendering

const ANSI = {
  bold: '1',
  dim: '2',
  red: '31',
  green: '32',
  yellow: '33',
  magenta: '35',
  cyan: '36',
  boldGreen: '1;32',
  boldYellow: '1;33',
  boldCyan: '1;36',
  boldRed: '1;31',
  header: '1;4',
} as const;

interface Glyphs {
  life: string;
  line: string;
  headRight: string;
  headLeft: string;
  teeRight: string;
  teeLeft: string;
  cross: string;
}

const UNICODE: Glyphs = { life: '│', line: '─', headRight: '▶', headLeft: '◀', teeRight: '├', teeLeft: '┤', cross: '✕' };
const ASCII: Glyphs = { life: '|', line: '-', headRight: '>', headLeft: '<', teeRight: '+', teeLeft: '+', cross: 'X' };

/** A row of cells, each a character and an optional ANSI style, serialised with runs merged. */
class Line {
  private readonly chars: string[];
  private readonly styles: (string | undefined)[];
  constructor(width: number) {
    this.chars = new Array<string>(width).fill(' ');
    this.styles = new Array<string | undefined>(width).fill(undefined);
  }
  put(x: number, text: string, style?: string): void {
    let i = 0;
    for (const ch of text) {
      const p = x + i++;
      if (p < 0 || p >= this.chars.length) continue;
      this.chars[p] = ch;
      this.styles[p] = style;
    }
  }
  toString(color: boolean): string {
    let end = this.chars.length;
    while (end > 0 && this.chars[end - 1] === ' ') end--;
    if (!color) return this.chars.slice(0, end).join('');
    let out = '';
    let cur: string | undefined;
    for (let i = 0; i < end; i++) {
      const st = this.styles[i];
      if (st !== cur) {
        if (cur !== undefined) out += '\x1b[0m';
        if (st !== undefined) out += `\x1b[${st}m`;
        cur = st;
      }
      out += this.chars[i] ?? ' ';
    }
    if (cur !== undefined) out += '\x1b[0m';
    return out;
  }
}

function stateStyle(s: TcpStateName): string {
  switch (s) {
    case 'ESTABLISHED':
      return ANSI.boldGreen;
    case 'CLOSED':
    case 'LISTEN':
      return ANSI.bold;
    case 'SYN-SENT':
    case 'SYN-RECEIVED':
      return ANSI.boldCyan;
    default:
      return ANSI.boldYellow;
  }
}

function segmentStyle(r: SegmentRow): string | undefined {
  if (r.lost) return ANSI.red;
  if (r.retransmit || r.duplicate) return ANSI.magenta;
  if (r.flagsLabel.includes('RST')) return ANSI.boldRed;
  if (r.flagsLabel.includes('SYN')) return ANSI.cyan;
  if (r.flagsLabel.includes('FIN')) return ANSI.yellow;
  if (r.len > 0) return ANSI.bold;
  return undefined;
}

function stateText(s: TcpStateName): string {
  return `[${s}]`;
}

/**
 * Draws the ladder for a terminal: names on top, each side's state in brackets in its column when
 * it changes, one labelled arrow per segment (label line, then arrow line), time in a left gutter.
 */
export function renderLadder(events: readonly TraceEvent[], opts: LadderOptions): string {
  const model = buildLadderModel(events, opts);
  const rows = terminalRows(model, opts.maxSegments);
  const g = opts.ascii ? ASCII : UNICODE;
  const color = opts.color === true;
  const showTime = opts.showTime !== false;

  const times = rows.map((r) => gutterTime(r.t));
  const timeW = showTime ? Math.max(4, ...times.map((s) => s.length)) : 0;
  const gutter = showTime ? timeW + 2 : 1;
  const widest = Math.max(model.left.length, model.right.length, stateText('SYN-RECEIVED').length);
  const half = Math.ceil(widest / 2);
  const xL = gutter + half;
  const longestLabel = Math.max(0, ...model.rows.map((r) => (r.kind === 'segment' ? r.label.length : 0)));
  const preferred = opts.width ?? 72;
  let xR = Math.max(preferred - 1 - half, xL + longestLabel + 6, xL + 24);
  const maxWidth = opts.maxWidth ?? Math.max(80, opts.width ?? 0);
  if (Number.isFinite(maxWidth)) xR = Math.max(Math.min(xR, maxWidth - 1 - half), xL + 24);
  const total = xR + half + 1;
  const span = xR - xL - 1; // cells strictly between the lifelines
  /** Text between the lifelines, wrapped to fit them (with a space either side). */
  const fit = (text: string): string[] => (text.length <= span - 4 ? [text] : wrapText(text, span - 4));

  const lines: string[] = [];
  const blank = (life = g.life): Line => {
    const l = new Line(total);
    l.put(xL, life);
    l.put(xR, life);
    return l;
  };
  const centred = (l: Line, x: number, text: string, style?: string): void => {
    const start = Math.max(0, x - Math.floor(text.length / 2));
    l.put(start, text, style);
  };
  const time = (l: Line, t: number): void => {
    if (showTime) l.put(0, gutterTime(t).padStart(timeW), ANSI.dim);
  };

  const head = new Line(total);
  centred(head, xL, model.left, ANSI.header);
  centred(head, xR, model.right, ANSI.header);
  lines.push(head.toString(color));
  if (model.initialLeft !== undefined || model.initialRight !== undefined) {
    const l = blank();
    if (model.initialLeft !== undefined) centred(l, xL, stateText(model.initialLeft), stateStyle(model.initialLeft));
    if (model.initialRight !== undefined) centred(l, xR, stateText(model.initialRight), stateStyle(model.initialRight));
    lines.push(l.toString(color));
  }

  for (const r of rows) {
    if (r.kind === 'break') {
      // Dotted lifelines and the reason, so a wait of 60 s does not look like 10 ms.
      const dots = opts.ascii ? ':' : '┆';
      lines.push(blank(dots).toString(color));
      for (const text of fit(r.text)) {
        const l = blank(dots);
        centred(l, Math.floor((xL + xR) / 2), text, ANSI.dim);
        lines.push(l.toString(color));
      }
      lines.push(blank(dots).toString(color));
      continue;
    }
    if (r.kind === 'state') {
      const l = blank();
      time(l, r.t);
      if (r.left !== undefined) centred(l, xL, stateText(r.left.to), stateStyle(r.left.to));
      if (r.right !== undefined) centred(l, xR, stateText(r.right.to), stateStyle(r.right.to));
      lines.push(l.toString(color));
      continue;
    }
    const style = segmentStyle(r);
    for (const text of fit(r.label)) {
      const labelLine = blank();
      centred(labelLine, Math.floor((xL + xR) / 2), text, style);
      lines.push(labelLine.toString(color));
    }

    const arrow = blank();
    time(arrow, r.t);
    const shaft = g.line.repeat(span);
    if (!r.lost) {
      if (r.dir === 'right') {
        arrow.put(xL, g.teeRight, style);
        arrow.put(xL + 1, shaft.slice(0, span - 1) + g.headRight, style);
      } else {
        arrow.put(xR, g.teeLeft, style);
        arrow.put(xL + 1, g.headLeft + shaft.slice(0, span - 1), style);
      }
    } else {
      // A lost segment stops about two thirds of the way across, ending in a cross.
      const reach = Math.max(2, Math.floor((span * 2) / 3));
      if (r.dir === 'right') {
        arrow.put(xL, g.teeRight, style);
        arrow.put(xL + 1, shaft.slice(0, reach - 1) + g.cross, style);
      } else {
        arrow.put(xR, g.teeLeft, style);
        arrow.put(xR - reach, g.cross + shaft.slice(0, reach - 1), style);
      }
    }
    lines.push(arrow.toString(color));
  }
  return lines.join('\n') + '\n';
}
