// The ladder diagram as a Mermaid sequenceDiagram: one message per segment (lost ones end in a
// cross), a note over a side each time its RFC 9293 (section 3.3.2) state changes.

import type { TraceEvent } from './events.js';
import { buildLadderModel, formatTime, type LadderOptions } from './ladder.js';

/** Mermaid treats ';' and '#' specially in message text and ends a line at a newline. */
function text(s: string): string {
  return s.replace(/#/g, '#35;').replace(/;/g, '#59;').replace(/[\r\n]+/g, ' ');
}

/**
 * Renders the rows of renderLadder as Mermaid source. Participants are aliased L and R so any
 * endpoint name (addresses with colons, brackets) is safe. Times are added only with showTime:true.
 */
export function renderMermaid(events: readonly TraceEvent[], opts: LadderOptions): string {
  const model = buildLadderModel(events, opts);
  const showTime = opts.showTime === true;
  const out: string[] = ['sequenceDiagram'];
  out.push(`    participant L as ${text(model.left)}`);
  out.push(`    participant R as ${text(model.right)}`);
  if (model.initialLeft !== undefined) out.push(`    Note over L: ${model.initialLeft}`);
  if (model.initialRight !== undefined) out.push(`    Note over R: ${model.initialRight}`);
  for (const r of model.rows) {
    const at = showTime ? `[${formatTime(r.t)} ms] ` : '';
    if (r.kind === 'state') {
      if (r.left !== undefined) out.push(`    Note over L: ${at}${r.left.to}`);
      if (r.right !== undefined) out.push(`    Note over R: ${at}${r.right.to}`);
      continue;
    }
    const [a, b] = r.dir === 'right' ? ['L', 'R'] : ['R', 'L'];
    // "-x" draws a solid line ending in a cross: the segment never arrived.
    const arrow = r.lost ? '-x' : '->>';
    out.push(`    ${a}${arrow}${b}: ${at}${text(r.label)}`);
  }
  return out.join('\n') + '\n';
}
