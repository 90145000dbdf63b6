// The ladder diagram as a standalone SVG image: two lifelines, slanted labelled arrows, boxed
// RFC 9293 (section 3.3.2) state names, dashed short arrows with a cross for lost segments.

import type { TcpStateName, TraceEvent } from './events.js';
import { buildLadderModel, gutterTime, withBreaks, type LadderOptions, type SegmentRow } from './ladder.js';

const CHAR_W = 7.2; // approximate advance of the 12px monospace font

/**
 * Columns a label takes in the monospace font: Hangul and CJK characters are drawn two columns
 * wide (the Korean lab's host names and ladder words), everything else one.
 */
function cols(s: string): number {
  let c = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xff00 && cp <= 0xff60);
    c += wide ? 2 : 1;
  }
  return c;
}
const FONT = 12;
const HEADER_H = 28;
const STATE_H = 20;
const STATE_ROW = 28;
const SLANT = 22;
const SEG_ROW = 40;
const BREAK_ROW = 34;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Numbers in the output have at most one decimal, so files are stable across platforms. */
function n(x: number): string {
  const r = Math.round(x * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

function stateFill(s: TcpStateName): string {
  switch (s) {
    case 'ESTABLISHED':
      return '#d9f2d9';
    case 'CLOSED':
    case 'LISTEN':
      return '#eeeeee';
    case 'SYN-SENT':
    case 'SYN-RECEIVED':
      return '#dbe9f7';
    default:
      return '#fbeacb';
  }
}

function segmentClass(r: SegmentRow): string {
  if (r.lost) return 'lost';
  if (r.duplicate) return 'dup';
  if (r.retransmit) return 'rexmit';
  if (r.flagsLabel.includes('RST')) return 'rst';
  if (r.flagsLabel.includes('SYN')) return 'syn';
  if (r.flagsLabel.includes('FIN')) return 'fin';
  if (r.len > 0) return 'data';
  return 'ack';
}

const STYLE = [
  `text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:${FONT}px;fill:#222}`,
  '.life{stroke:#999;stroke-width:1.5}',
  '.name{font-weight:bold;font-size:13px}',
  '.time{fill:#888;font-size:11px}',
  '.state rect{stroke:#555;stroke-width:1}',
  '.state text{font-weight:bold}',
  '.seg line{stroke-width:1.6}',
  '.syn line{stroke:#1f5fa8}.syn polygon{fill:#1f5fa8}.syn text{fill:#1f5fa8}',
  '.fin line{stroke:#a86b00}.fin polygon{fill:#a86b00}.fin text{fill:#a86b00}',
  '.rst line{stroke:#c0392b}.rst polygon{fill:#c0392b}.rst text{fill:#c0392b}',
  '.data line{stroke:#111}.data polygon{fill:#111}',
  '.ack line{stroke:#555}.ack polygon{fill:#555}.ack text{fill:#444}',
  '.rexmit line{stroke:#7b3fa0}.rexmit polygon{fill:#7b3fa0}.rexmit text{fill:#7b3fa0}',
  '.dup line{stroke:#0b7a6e;stroke-dasharray:10 3 2 3}.dup polygon{fill:#0b7a6e}.dup text{fill:#0b7a6e}',
  '.gap line{stroke:#999;stroke-width:1.5;stroke-dasharray:2 4}.gap text{fill:#555;font-style:italic}',
  '.lost line{stroke:#c0392b;stroke-dasharray:6 4}.lost text{fill:#c0392b}.lost .x{stroke-dasharray:none;stroke-width:2}',
].join('');

/** A focusable segment with its index and wire numbers (LadderOptions.interactive). */
function interactiveAttrs(r: SegmentRow, i: number): string {
  const e = r.event;
  const ack = r.ack === undefined ? '' : String(e.ack >>> 0);
  return (
    ` data-seg="${i}" data-flags="${esc(e.flags)}" data-seq="${e.seq >>> 0}" data-ack="${ack}" data-len="${e.len}"` +
    ` tabindex="0" role="button" aria-label="${esc(r.label)}"`
  );
}

/** Renders the same rows as renderLadder as an SVG document (a complete file, XML prolog included). */
export function renderSvg(events: readonly TraceEvent[], opts: LadderOptions): string {
  const model = buildLadderModel(events, opts);
  const showTime = opts.showTime !== false;
  const gutter = showTime ? Math.max(...model.rows.map((r) => gutterTime(r.t).length), 4) * 6.6 + 16 : 10;
  const widestName = Math.max(cols(model.left), cols(model.right), 'SYN-RECEIVED'.length) * CHAR_W + 24;
  const half = widestName / 2;
  const xL = gutter + half;
  const longest = Math.max(0, ...model.rows.map((r) => (r.kind === 'segment' ? cols(r.label) : 0)));
  const preferred = opts.width ?? 720;
  const xR = Math.max(preferred - half - 10, xL + longest * CHAR_W + 60, xL + 200);
  const width = xR + half + 10;

  const body: string[] = [];
  let y = 10;
  const nameBox = (x: number, name: string): void => {
    const w = cols(name) * CHAR_W + 20;
    body.push(
      `<g class="host"><rect x="${n(x - w / 2)}" y="${n(y)}" width="${n(w)}" height="${HEADER_H - 4}" rx="4" fill="#f6f6f6" stroke="#333"/>` +
        `<text class="name" x="${n(x)}" y="${n(y + 16)}" text-anchor="middle">${esc(name)}</text></g>`,
    );
  };
  nameBox(xL, model.left);
  nameBox(xR, model.right);
  y += HEADER_H + 6;
  const lifeTop = y - 6;

  const stateBox = (x: number, cy: number, s: TcpStateName, cause: string | undefined): void => {
    const w = s.length * CHAR_W + 14;
    const title = cause === undefined ? '' : `<title>${esc(model.words.cause(cause))}</title>`;
    body.push(
      `<g class="state">${title}<rect x="${n(x - w / 2)}" y="${n(cy - STATE_H / 2)}" width="${n(w)}" height="${STATE_H}" rx="3" fill="${stateFill(s)}"/>` +
        `<text x="${n(x)}" y="${n(cy + 4)}" text-anchor="middle">${esc(s)}</text></g>`,
    );
  };
  const timeText = (cy: number, t: number): void => {
    if (showTime) body.push(`<text class="time" x="${n(gutter - 10)}" y="${n(cy + 4)}" text-anchor="end">${gutterTime(t)}</text>`);
  };

  if (model.initialLeft !== undefined || model.initialRight !== undefined) {
    const cy = y + STATE_ROW / 2;
    if (model.initialLeft !== undefined) stateBox(xL, cy, model.initialLeft, undefined);
    if (model.initialRight !== undefined) stateBox(xR, cy, model.initialRight, undefined);
    y += STATE_ROW;
  }

  let segIndex = 0;
  for (const r of withBreaks(model)) {
    if (r.kind === 'break') {
      // The lifelines go dashed across the gap, with how long it was and why.
      const y0 = y + 4;
      const h = BREAK_ROW - 8;
      body.push(
        `<g class="gap"><rect x="${n(xL - 6)}" y="${n(y0)}" width="${n(xR - xL + 12)}" height="${h}" fill="#ffffff"/>` +
          `<line x1="${n(xL)}" y1="${n(y0)}" x2="${n(xL)}" y2="${n(y0 + h)}"/><line x1="${n(xR)}" y1="${n(y0)}" x2="${n(xR)}" y2="${n(y0 + h)}"/>` +
          `<text x="${n((xL + xR) / 2)}" y="${n(y0 + h / 2 + 4)}" text-anchor="middle">${esc(r.text)}</text></g>`,
      );
      y += BREAK_ROW;
      continue;
    }
    if (r.kind === 'state') {
      const cy = y + STATE_ROW / 2;
      timeText(cy, r.t);
      if (r.left !== undefined) stateBox(xL, cy, r.left.to, r.left.cause);
      if (r.right !== undefined) stateBox(xR, cy, r.right.to, r.right.cause);
      y += STATE_ROW;
      continue;
    }
    const y0 = y + 12;
    const y1 = y0 + SLANT;
    const [x0, x1] = r.dir === 'right' ? [xL, xR] : [xR, xL];
    const cls = segmentClass(r);
    const parts: string[] = [];
    if (r.options !== undefined) parts.push(`<title>${esc(r.options)}</title>`);
    // The label runs along the arrow, just above it, reading left to right.
    const dx = Math.abs(x1 - x0);
    const angle = (Math.atan2(SLANT, dx) * 180) / Math.PI * (r.dir === 'right' ? 1 : -1);
    const mx = (x0 + x1) / 2;
    const my = (y0 + y1) / 2 - (r.lost ? 14 : 5); // a lost label clears the cross
    parts.push(`<text x="${n(mx)}" y="${n(my)}" text-anchor="middle" transform="rotate(${n(angle)} ${n(mx)} ${n(my)})">${esc(r.label)}</text>`);
    if (!r.lost) {
      // Stop the shaft at the arrowhead's base so the tip lands on the lifeline.
      const len = Math.hypot(x1 - x0, y1 - y0);
      const ux = (x1 - x0) / len;
      const uy = (y1 - y0) / len;
      const bx = x1 - ux * 9;
      const by = y1 - uy * 9;
      parts.push(`<line x1="${n(x0)}" y1="${n(y0)}" x2="${n(bx)}" y2="${n(by)}"/>`);
      parts.push(
        `<polygon points="${n(x1)},${n(y1)} ${n(bx - uy * 4.5)},${n(by + ux * 4.5)} ${n(bx + uy * 4.5)},${n(by - ux * 4.5)}"/>`,
      );
    } else {
      const f = 0.62;
      const ex = x0 + (x1 - x0) * f;
      const ey = y0 + (y1 - y0) * f;
      parts.push(`<line x1="${n(x0)}" y1="${n(y0)}" x2="${n(ex)}" y2="${n(ey)}"/>`);
      parts.push(`<line class="x" x1="${n(ex - 6)}" y1="${n(ey - 6)}" x2="${n(ex + 6)}" y2="${n(ey + 6)}"/>`);
      parts.push(`<line class="x" x1="${n(ex - 6)}" y1="${n(ey + 6)}" x2="${n(ex + 6)}" y2="${n(ey - 6)}"/>`);
    }
    body.push(`<g class="seg ${cls}"${opts.interactive === true ? interactiveAttrs(r, segIndex) : ''}>${parts.join('')}</g>`);
    segIndex++;
    timeText(y0, r.t);
    y += SEG_ROW;
  }
  const height = y + 16;
  const lifelines =
    `<line class="life" x1="${n(xL)}" y1="${n(lifeTop)}" x2="${n(xL)}" y2="${n(height - 8)}"/>` +
    `<line class="life" x1="${n(xR)}" y1="${n(lifeTop)}" x2="${n(xR)}" y2="${n(height - 8)}"/>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}">\n` +
    `<title>${esc(model.words.title(model.left, model.right))}</title>\n` +
    `<style>${STYLE}</style>\n` +
    `<rect width="100%" height="100%" fill="#ffffff"/>\n` +
    lifelines +
    '\n' +
    body.join('\n') +
    '\n</svg>\n'
  );
}
