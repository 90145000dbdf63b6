// The segment inspector: one segment's header fields (RFC 9293 3.1), options, payload and raw
// bytes in hex, and the arithmetic tying it to its neighbours (an ACK number is the other side's
// seq plus the sequence space it used: bytes, and one each for SYN and FIN, RFC 9293 3.4).
import type { SegmentEvent } from '../../src/trace/events.js';
import { tcpOfPacket } from '../../src/trace/packet.js';
import { formatIp } from '../../src/wire/address.js';
import { add } from '../../src/wire/seq.js';
import type { Lang } from './i18n.js';
import { tr, hostName, noteText } from './i18n.js';
import { esc } from './html.js';

/** Sequence space a segment uses: its bytes, plus one for SYN and one for FIN. */
export function seqSpace(e: SegmentEvent): number {
  return e.len + (e.flags.includes('SYN') ? 1 : 0) + (e.flags.includes('FIN') ? 1 : 0);
}


/** The original of a duplicate: same sender, numbers and flags, and not itself a copy. */
function sameSegment(a: SegmentEvent, b: SegmentEvent): boolean {
  return a.duplicate !== true && a.from === b.from && a.seq === b.seq && a.ack === b.ack && a.flags === b.flags && a.len === b.len;
}

/** "0000  45 00 ..." lines, 16 bytes each. */
export function hexDump(b: Uint8Array): string {
  const lines: string[] = [];
  for (let o = 0; o < b.length; o += 16) {
    const row = b.subarray(o, o + 16);
    const hex = [...row].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const text = [...row].map((x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${o.toString(16).padStart(4, '0')}  ${hex.padEnd(47)}  ${text}`);
  }
  return lines.join('\n');
}

/**
 * HTML for segment `i` of `segs`. `raw` is its packet when the page has it (a demo run, or a pcap);
 * `base` maps a sender to its ISN so relative numbers can be shown beside absolute ones.
 */
export function inspectSegment(segs: readonly SegmentEvent[], i: number, raw: Uint8Array | undefined, lang: Lang): string {
  const e = segs[i];
  if (e === undefined) return '';
  const isn = (who: string, conn: string | undefined): number | undefined => {
    for (const s of segs) if (s.from === who && s.conn === conn && s.flags.includes('SYN')) return s.seq;
    return undefined;
  };
  const rel = (n: number, who: string): string => {
    const b = isn(who, e.conn);
    return b === undefined ? '' : ` (${tr(lang, 'relative')} ${(n - b) >>> 0})`;
  };
  const hasAck = e.flags.split(',').includes('ACK');
  const rows: [string, string][] = [
    [tr(lang, 'direction'), `${hostName(lang, e.from)} → ${hostName(lang, e.to)}`],
    [tr(lang, 'time'), `${e.t.toFixed(3)} ms`],
    ['flags', e.flags === '' ? tr(lang, 'noFlags') : e.flags],
    ['seq', `${e.seq >>> 0}${rel(e.seq, e.from)}`],
    ['ack', hasAck ? `${e.ack >>> 0}${rel(e.ack, e.to)}` : tr(lang, 'noAck')],
    ['len', String(e.len)],
    ['window', String(e.win)],
    ['options', e.options ?? '-'],
  ];
  if (e.duplicate === true) {
    // The link's copy: the same bytes as an earlier arrow (the receiver treats it as a repeat, RFC 9293 3.10.7.4).
    let first = i - 1;
    while (first >= 0 && !sameSegment(segs[first]!, e)) first--;
    rows.push([tr(lang, 'duplicate'), `${tr(lang, 'duplicateOf')} #${first + 1} (${tr(lang, 'duplicateWhy')})`]);
  }
  if (e.note !== undefined) rows.push([tr(lang, 'note'), noteText(lang, e.note)]);
  let html = `<h3>${tr(lang, 'segment')} #${i + 1}</h3><dl class="fields">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;

  // The arithmetic: which earlier segment this ACK acknowledges, and which later ACK covers this one.
  const math: string[] = [];
  if (hasAck) {
    for (let j = i - 1; j >= 0; j--) {
      const p = segs[j]!;
      if (p.from !== e.to || p.conn !== e.conn || p.lost) continue;
      if (add(p.seq, seqSpace(p)) === e.ack >>> 0) {
        const parts = [`${p.seq >>> 0}`, `${p.len}`];
        if (p.flags.includes('SYN')) parts.push('1 (SYN)');
        if (p.flags.includes('FIN')) parts.push('1 (FIN)');
        math.push(`ack ${e.ack >>> 0} = seq ${parts[0]} + len ${parts.slice(1).join(' + ')} ${tr(lang, 'ofSegment')} #${j + 1}`);
        break;
      }
    }
  }
  const used = seqSpace(e);
  if (used > 0) {
    const end = add(e.seq, used);
    const later = segs.findIndex((s, j) => j > i && s.from === e.to && s.conn === e.conn && s.flags.includes('ACK') && s.ack >>> 0 === end);
    math.push(
      `${tr(lang, 'nextSeq')}: ${e.seq >>> 0} + ${used} = ${end}` + (later >= 0 ? ` → ${tr(lang, 'ackedBy')} #${later + 1}` : ''),
    );
  }
  if (math.length > 0) html += `<h4>${tr(lang, 'arithmetic')}</h4><ul class="math">${math.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`;

  if (raw !== undefined) {
    const p = tcpOfPacket(raw);
    if (p !== null) {
      html += `<p class="addr">${esc(formatIp(p.src))}:${p.seg.srcPort} → ${esc(formatIp(p.dst))}:${p.seg.dstPort}</p>`;
      if (p.seg.payload.length > 0) {
        const text = new TextDecoder().decode(p.seg.payload.subarray(0, 200));
        html += `<h4>${tr(lang, 'payload')}</h4><pre class="payload">${esc(text)}${p.seg.payload.length > 200 ? '…' : ''}</pre>`;
      }
    }
    html += `<h4>${tr(lang, 'rawBytes')} (${raw.length})</h4><pre class="hex">${esc(hexDump(raw))}</pre>`;
  }
  return html;
}
