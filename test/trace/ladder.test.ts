// Golden and structural tests for the ladder renderers (terminal, SVG, Mermaid) on hand-built events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderLadder, buildLadderModel, renderSvg, renderMermaid, type LadderOptions } from '../../src/trace/index.js';
import type { TraceEvent } from '../../src/trace/events.js';
import { CLIENT_ISN, lossAndRetransmit, simultaneousClose, textbook } from './fixtures.js';

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const OPTS: LadderOptions = { left: 'client', right: 'server' };

/** Compares with test/trace/golden/NAME exactly; SYNACK_UPDATE_GOLDEN=1 rewrites the file instead. */
function golden(name: string, actual: string): void {
  const path = GOLDEN + name;
  if (process.env['SYNACK_UPDATE_GOLDEN'] === '1' || !existsSync(path)) {
    writeFileSync(path, actual);
    if (process.env['SYNACK_UPDATE_GOLDEN'] !== '1') assert.fail(`golden file ${name} was missing; wrote it, review and rerun`);
    return;
  }
  assert.equal(actual, readFileSync(path, 'utf8'));
}

const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');
const lines = (s: string): string[] => s.split('\n');

const CASES: [string, () => TraceEvent[]][] = [
  ['textbook', textbook],
  ['loss', lossAndRetransmit],
  ['simultaneous-close', simultaneousClose],
];

for (const [name, make] of CASES) {
  test(`golden ladder: ${name} (unicode, relative)`, () => golden(`${name}.txt`, renderLadder(make(), OPTS)));
  test(`golden ladder: ${name} (ascii, absolute)`, () => golden(`${name}.ascii.txt`, renderLadder(make(), { ...OPTS, ascii: true, absolute: true })));
  test(`golden svg: ${name}`, () => golden(`${name}.svg`, renderSvg(make(), OPTS)));
  test(`golden mermaid: ${name}`, () => golden(`${name}.mmd`, renderMermaid(make(), OPTS)));
}
test('golden ladder: textbook in colour', () => golden('textbook.color.txt', renderLadder(textbook(), { ...OPTS, color: true })));

test('the SYN carries no ack; relative seq starts at 0 and the SYN-ACK acks 1', () => {
  const out = renderLadder(textbook(), OPTS);
  const syn = lines(out).find((l) => /\bSYN seq=/.test(l));
  assert.ok(syn, 'a SYN label is drawn');
  assert.doesNotMatch(syn, /ack/);
  assert.match(syn, /SYN seq=0 len=0 win=64240/);
  assert.match(out, /SYN-ACK seq=0 ack=1 len=0/);
  // ack = seq + len: the 18-byte request is acknowledged with ack=19, the 120-byte response with 121.
  assert.match(out, /PSH-ACK seq=1 ack=19 len=120/);
  assert.match(out, /ACK seq=19 ack=121 len=0/);
});

test('absolute numbering prints the wire values', () => {
  const out = renderLadder(textbook(), { ...OPTS, absolute: true });
  assert.match(out, new RegExp(`SYN seq=${CLIENT_ISN} len=0`));
  assert.match(out, new RegExp(`SYN-ACK seq=\\d+ ack=${CLIENT_ISN + 1} `));
});

test('each state is written in its own side\'s column', () => {
  const out = renderLadder(textbook(), { ...OPTS, showTime: false });
  const rows = lines(out);
  const header = rows[0] ?? '';
  const mid = (header.indexOf('client') + header.indexOf('server')) / 2;
  const col = (state: string): number[] => rows.filter((l) => l.includes(`[${state}]`)).map((l) => l.indexOf(`[${state}]`));
  for (const s of ['SYN-SENT', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']) {
    assert.ok(col(s).length === 1 && (col(s)[0] ?? Infinity) < mid, `${s} is on the client's side`);
  }
  for (const s of ['SYN-RECEIVED', 'CLOSE-WAIT', 'LAST-ACK']) {
    assert.ok(col(s).length === 1 && (col(s)[0] ?? -1) > mid, `${s} is on the server's side`);
  }
  // The passive closer never visits TIME-WAIT.
  assert.equal(col('TIME-WAIT').length, 1);
});

test('every golden fits 80 columns (the default maxWidth), and narrower when asked', () => {
  for (const [name, make] of CASES) {
    for (const extra of [{}, { ascii: true, absolute: true }]) {
      for (const [max, opts] of [[80, {}], [60, { maxWidth: 60 }]] as const) {
        for (const row of lines(renderLadder(make(), { ...OPTS, ...extra, ...opts }))) assert.ok([...row].length <= max, `${name}: ${row}`);
      }
    }
  }
});

test('arrows point the right way, and every row fits the requested width', () => {
  const out = renderLadder(textbook(), { ...OPTS, width: 90 });
  const rows = lines(out);
  const synArrow = rows[rows.findIndex((l) => /\bSYN seq=/.test(l)) + 1] ?? '';
  assert.match(synArrow, /├─+▶│/);
  const synAckArrow = rows[rows.findIndex((l) => l.includes('SYN-ACK')) + 1] ?? '';
  assert.match(synAckArrow, /│◀─+┤/);
  for (const r of rows) assert.ok([...r].length <= 90, `row fits: ${r}`);
});

test('a lost segment stops short with a cross; its retransmission is marked', () => {
  const uni = renderLadder(lossAndRetransmit(), OPTS);
  const rows = lines(uni);
  const lostIdx = rows.findIndex((l) => l.includes('(lost)'));
  assert.ok(lostIdx >= 0);
  const arrow = rows[lostIdx + 1] ?? '';
  assert.match(arrow, /├─+✕ +│$/);
  // The label wraps to stay within 80 columns: "(retransmission)" may be on a line of its own.
  assert.match(uni, /PSH-ACK seq=1 ack=1 len=100 win=64240[\s│]+\(retransmission\)/);
  assert.match(renderLadder(lossAndRetransmit(), { ...OPTS, maxWidth: Infinity }), /PSH-ACK seq=1 ack=1 len=100 win=64240 \(retransmission\)/);
  const ascii = renderLadder(lossAndRetransmit(), { ...OPTS, ascii: true });
  assert.match(ascii, /\+-+X +\|/);
  assert.ok(/^[\x20-\x7e\n]*$/.test(ascii), 'ascii mode emits only printable ASCII');
});

test('simultaneous close: both sides pass through CLOSING on the same row', () => {
  const out = renderLadder(simultaneousClose(), OPTS);
  const closing = lines(out).filter((l) => l.includes('[CLOSING]'));
  assert.equal(closing.length, 1);
  assert.equal(closing[0]?.split('[CLOSING]').length, 3);
});

test('colour only when asked, and the text under the colour is the plain ladder', () => {
  const plain = renderLadder(textbook(), OPTS);
  assert.doesNotMatch(plain, /\x1b\[/);
  const coloured = renderLadder(textbook(), { ...OPTS, color: true });
  assert.match(coloured, /\x1b\[1;32m\[ESTABLISHED\]\x1b\[0m/);
  assert.equal(stripAnsi(coloured), plain);
});

test('events of other hosts are left out, and unordered input is drawn in time order', () => {
  const events = textbook();
  events.unshift(...events.splice(-2)); // the last two events (t=6 and t=60005.5) first
  events.push({ type: 'segment', t: 2, from: 'attacker', to: 'server', flags: 'RST', seq: 1, ack: 0, len: 0, win: 0, lost: false });
  const model = buildLadderModel(events, OPTS);
  assert.equal(renderLadder(events, OPTS), renderLadder(textbook(), OPTS));
  assert.equal(model.rows.filter((r) => r.kind === 'segment').length, 10);
});

test('svg is a standalone document with two lifelines, state boxes and a dashed lost arrow', () => {
  const svg = renderSvg(lossAndRetransmit(), OPTS);
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/class="life"/g) ?? []).length, 2);
  assert.equal((svg.match(/<g class="state">/g) ?? []).length, 2 + 4);
  assert.equal((svg.match(/<g class="seg lost">/g) ?? []).length, 1);
  assert.match(svg, /\.lost line\{[^}]*stroke-dasharray/);
  assert.match(svg, /<g class="seg rexmit">/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
});

test('svg host boxes fit Korean names: a Hangul syllable counts two monospace columns', () => {
  const hostWidths = (svg: string): number[] => [...svg.matchAll(/<g class="host"><rect [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
  const latin = hostWidths(renderSvg(textbook(), { ...OPTS, names: { left: 'abcdefghij', right: 'server' } }));
  const hangul = hostWidths(renderSvg(textbook(), { ...OPTS, names: { left: '클라이언트', right: 'server' } }));
  // Five syllables are as wide as ten Latin letters in the 12px monospace font.
  assert.equal(hangul[0], latin[0]);
  assert.equal(hangul[1], latin[1]);
});

test('mermaid names participants by alias and draws a lost segment with a cross', () => {
  const names: Record<string, string> = { client: '198.18.0.1:40000', server: '198.18.0.2:80' };
  const renamed = lossAndRetransmit().map((e) =>
    e.type === 'segment' ? { ...e, from: names[e.from] ?? e.from, to: names[e.to] ?? e.to } : e.type === 'state' ? { ...e, host: names[e.host] ?? e.host } : e,
  );
  const mmd = renderMermaid(renamed, { left: '198.18.0.1:40000', right: '198.18.0.2:80' });
  assert.match(mmd, /^sequenceDiagram\n    participant L as 198\.18\.0\.1:40000\n    participant R as 198\.18\.0\.2:80\n/);
  assert.match(mmd, /L-xR: PSH-ACK seq=1 ack=1 len=100 win=64240 \(lost\)/);
  assert.match(mmd, /R->>L: SYN-ACK seq=0 ack=1/);
  assert.match(mmd, /Note over R: SYN-RECEIVED/);
});
