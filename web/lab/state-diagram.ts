// The RFC 9293 (3.3.2) state diagram drawn as SVG from the code's own transition table
// (src/tcp/state.ts TRANSITIONS), with each endpoint's current state marked by name, not only colour.
import { TRANSITIONS, ALL_STATES, type TcpStateName } from '../../src/tcp/state.js';
import { esc } from './html.js';

/** Grid positions (column, row) in the usual textbook layout. */
const POS: Record<TcpStateName, [number, number]> = {
  CLOSED: [1, 0],
  LISTEN: [1, 1],
  'SYN-RECEIVED': [0, 2],
  'SYN-SENT': [2, 2],
  ESTABLISHED: [1, 3],
  'FIN-WAIT-1': [0, 4],
  'CLOSE-WAIT': [2, 4],
  'FIN-WAIT-2': [0, 5],
  CLOSING: [1, 5],
  'LAST-ACK': [2, 5],
  'TIME-WAIT': [0, 6],
};
const CW = 150;
const RH = 54;
const BW = 118;
const BH = 26;
const X0 = 70;
const Y0 = 22;
const at = (s: TcpStateName): [number, number] => [X0 + POS[s][0] * CW, Y0 + POS[s][1] * RH];


/** Where each side is now, and the edge it took last (highlighted). */
export interface DiagramMarks {
  client?: { state: TcpStateName; last?: [TcpStateName, TcpStateName] };
  server?: { state: TcpStateName; last?: [TcpStateName, TcpStateName] };
}

/** The diagram's words in the page's language: its title, the two sides' names, and "send". */
export interface DiagramWords {
  title: string;
  client: string;
  server: string;
  send: string;
  /** A transition's event (RFC 9293's names) in the page's language. */
  event: (event: string) => string;
}

/** The diagram as an SVG element's markup. */
export function stateDiagramSvg(marks: DiagramMarks, words: DiagramWords): string {
  const title = words.title;
  const W = X0 * 2 + CW * 2;
  const H = Y0 * 2 + RH * 6 + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`,
    '<defs><marker id="sd-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>',
  ];
  const taken = new Set<string>();
  for (const m of [marks.client, marks.server]) if (m?.last !== undefined) taken.add(m.last.join('>'));
  for (const t of TRANSITIONS) {
    if (t.from === t.to) continue;
    const [x1, y1] = at(t.from);
    const [x2, y2] = at(t.to);
    // Edges end on the box border: shorten along the line by the box half-size.
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len = Math.hypot(dx, dy);
    const k = Math.min(BW / 2 / Math.max(Math.abs(dx), 1e-9), BH / 2 / Math.max(Math.abs(dy), 1e-9)) * len;
    const ux = dx / len;
    const uy = dy / len;
    // A slight curve keeps the two directions of a pair apart.
    const mx = (x1 + x2) / 2 - uy * 10;
    const my = (y1 + y2) / 2 + ux * 10;
    const key = `${t.from}>${t.to}`;
    const label = `${t.from} → ${t.to}: ${words.event(t.event)}${t.action === '-' ? '' : ` / ${words.send} ${t.action}`} (RFC 9293 ${t.rfc})`;
    out.push(
      `<path class="edge${taken.has(key) ? ' taken' : ''}" data-edge="${esc(key)}" d="M${(x1 + ux * k).toFixed(1)},${(y1 + uy * k).toFixed(1)} Q${mx.toFixed(1)},${my.toFixed(1)} ${(x2 - ux * k).toFixed(1)},${(y2 - uy * k).toFixed(1)}" marker-end="url(#sd-arrow)"><title>${esc(label)}</title></path>`,
    );
  }
  for (const s of ALL_STATES) {
    const [x, y] = at(s);
    const who: string[] = [];
    if (marks.client?.state === s) who.push('client');
    if (marks.server?.state === s) who.push('server');
    const cls = who.length > 0 ? ` class="here ${who.join(' ')}"` : '';
    out.push(
      `<g data-state="${s}"${cls}><rect x="${x - BW / 2}" y="${y - BH / 2}" width="${BW}" height="${BH}" rx="5"/>` +
        `<text x="${x}" y="${y + 4}" text-anchor="middle">${s}</text>` +
        who.map((w, i) => `<text class="who" x="${x + (i === 0 ? -BW / 2 : BW / 2)}" y="${y - BH / 2 - 3}" text-anchor="${i === 0 ? 'start' : 'end'}">${esc(w === 'client' ? `◆ ${words.client}` : `${words.server} ●`)}</text>`).join('') +
        '</g>',
    );
  }
  out.push('</svg>');
  return out.join('');
}
