// `synack demo`: two stacks on the in-memory network run a scenario and the ladder is printed.
import { parseArgs, formatFlags, flagBool, flagString, flagNumber, expectPositionals, didYouMean, type FlagsSpec } from './args.js';
import { wantColor, UsageError, writeOutput, type CliIo } from './io.js';
import { runDemo, scenarioNames, SCENARIOS, type DemoResult, type SideSummary } from '../demo/scenarios.js';
import { renderLadder, wrapIndented as wrap } from '../trace/ladder.js';
import { renderSvg } from '../trace/svg.js';
import { renderMermaid } from '../trace/mermaid.js';
import { demoPcap } from '../demo/pcap.js';

export const DEMO_FLAGS: FlagsSpec = {
  scenario: { type: 'string', value: 'NAME', help: 'which connection story to run (default: basic)' },
  loss: { type: 'number', value: 'P', min: 0, max: 1, help: 'probability that the link drops a packet' },
  seed: { type: 'number', value: 'N', integer: true, min: 0, help: 'seed for the link and the ISNs' },
  bytes: { type: 'number', value: 'N', integer: true, min: 0, max: 67_108_864, help: 'size of the response (at most 64 MiB; the ladder elides the middle of a long transfer)' },
  rtt: { type: 'number', value: 'MS', min: 0, help: 'round-trip time of the link' },
  mss: { type: 'number', value: 'N', integer: true, min: 64, max: 65495, help: 'maximum segment size' },
  absolute: { type: 'boolean', help: 'seq/ack as on the wire in the ladder' },
  relative: { type: 'boolean', help: 'relative seq/ack in --json output' },
  ascii: { type: 'boolean', help: 'plain ASCII ladder' },
  pcap: { type: 'string', value: 'FILE', help: 'write the packets as a pcap file' },
  svg: { type: 'string', value: 'FILE', help: 'write the ladder as SVG' },
  mermaid: { type: 'boolean', help: 'print Mermaid sequenceDiagram source' },
  json: { type: 'boolean', help: 'print trace events as JSON lines' },
  color: { type: 'boolean', help: 'force colour on (--no-color: off)' },
  width: { type: 'number', value: 'COLS', integer: true, min: 60, max: 400, help: 'fit every line in COLS columns (default 80)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const DEMO_USAGE = `Usage: synack demo [options]

Runs a client and a server on two synack stacks joined by an in-memory link (virtual time, no root
needed) and draws the connection: handshake, request and response, close, TIME-WAIT.

Options:
${formatFlags(DEMO_FLAGS)}
`;

export async function demoCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, DEMO_FLAGS, 'demo');
  if (flagBool(args, 'help') === true) {
    io.out(DEMO_USAGE);
    io.out(`\nScenarios:\n${scenarioNames().map((n) => `  ${n.padEnd(20)} ${SCENARIOS[n]!.description}`).join('\n')}\n`);
    return 0;
  }
  expectPositionals(args, 'demo', []);
  const scenario = flagString(args, 'scenario') ?? 'basic';
  if (!(scenario in SCENARIOS)) {
    const hint = didYouMean(scenario, scenarioNames());
    throw new UsageError(`unknown scenario "${scenario}"${hint === '' ? `; choose one of: ${scenarioNames().join(', ')}` : hint}`, 'demo');
  }
  const mss = flagNumber(args, 'mss') ?? 1460;
  const result = runDemo({
    scenario,
    seed: flagNumber(args, 'seed') ?? 1,
    rtt: flagNumber(args, 'rtt') ?? 20,
    loss: flagNumber(args, 'loss') ?? 0,
    mss,
    bytes: flagNumber(args, 'bytes') ?? 1000,
  });
  const absolute = flagBool(args, 'absolute') === true;
  const pcap = flagString(args, 'pcap');
  if (pcap !== undefined) {
    writeOutput(io, pcap, demoPcap(result.packets, Date.now()));
  }
  const svg = flagString(args, 'svg');
  if (svg !== undefined) {
    writeOutput(io, svg, renderSvg(result.events, { left: 'client', right: 'server', absolute }));
  }
  if (flagBool(args, 'json') === true) {
    io.out(jsonLines(result, flagBool(args, 'relative') === true));
    return 0;
  }
  if (flagBool(args, 'mermaid') === true) {
    io.out(renderMermaid(result.events, { left: 'client', right: 'server', absolute }) + '\n');
    return 0;
  }
  const color = wantColor(io, flagBool(args, 'color'));
  const width = flagNumber(args, 'width') ?? 80;
  io.out(wrap(`synack demo: ${scenario}: ${result.description}`, width, 2) + '\n\n');
  io.out(readingNote(result, absolute, width) + '\n\n');
  io.out(
    renderLadder(result.events, {
      left: 'client', right: 'server', absolute, color, ascii: flagBool(args, 'ascii') === true,
      width, maxWidth: width, maxSegments: LADDER_SEGMENTS,
    }),
  );
  io.out('\n' + summary(result, width) + '\n');
  if (pcap !== undefined) io.out(`pcap written to ${pcap} (open it with Wireshark or tshark -r)\n`);
  if (svg !== undefined) io.out(`SVG written to ${svg}\n`);
  return 0;
}

/** One JSON object per line; seq/ack as on the wire unless `relative` (then from each sender's ISN). */
export function jsonLines(result: DemoResult, relative: boolean): string {
  const isn = new Map<string, number>();
  if (relative) {
    for (const e of result.events) {
      if (e.type === 'segment' && e.flags.includes('SYN') && !isn.has(e.from)) isn.set(e.from, e.seq);
    }
  }
  const rel = (n: number, who: string): number => {
    const base = isn.get(who);
    return base === undefined ? n : (n - base) >>> 0;
  };
  const lines: string[] = [];
  for (const e of result.events) {
    if (e.type === 'segment') {
      const o: Record<string, unknown> = {
        type: 'segment',
        t: round(e.t),
        from: e.from,
        to: e.to,
        flags: e.flags,
        seq: rel(e.seq, e.from),
        ack: e.flags.includes('ACK') ? rel(e.ack, e.to) : 0,
        len: e.len,
        win: e.win,
        lost: e.lost,
      };
      if (e.retransmit) o['retransmit'] = true;
      if (e.options) o['options'] = e.options;
      if (e.note) o['note'] = e.note;
      lines.push(JSON.stringify(o));
    } else if (e.type === 'state') {
      const o: Record<string, unknown> = { type: 'state', t: round(e.t), host: e.host, from: e.from, to: e.to };
      if (e.cause !== undefined) o['cause'] = e.cause;
      lines.push(JSON.stringify(o));
    }
  }
  lines.push(JSON.stringify({ type: 'summary', scenario: result.scenario, duration: round(result.duration), client: result.client, server: result.server }));
  return lines.join('\n') + '\n';
}

function round(t: number): number {
  return Math.round(t * 1000) / 1000;
}

/** Segments the terminal ladder draws at most; a larger --bytes gets the first and last ones and a summary between. */
const LADDER_SEGMENTS = 40;


/**
 * How to read the numbers, said once before the first of them: relative vs absolute sequence
 * numbers (RFC 9293 3.4) and what the window field means once window scaling is on (RFC 7323 2.2).
 */
function readingNote(r: DemoResult, absolute: boolean, width: number): string {
  const syn = new Map<string, { seq: number; shift: number | undefined }>();
  for (const e of r.events) {
    if (e.type !== 'segment' || !e.flags.includes('SYN') || e.conn !== undefined || syn.has(e.from)) continue;
    const m = /wscale (\d+)/.exec(e.options ?? '');
    syn.set(e.from, { seq: e.seq >>> 0, shift: m === null ? undefined : Number(m[1]) });
  }
  const c = syn.get('client');
  const s = syn.get('server');
  const lines: string[] = [];
  if (c !== undefined) {
    const isns = `the client's ISN is ${c.seq}` + (s !== undefined ? ` and the server's ${s.seq}` : '');
    lines.push(
      absolute
        ? `Reading it: seq and ack are the numbers on the wire; ${isns}, each picked at random.`
        : `Reading it: seq and ack are relative, each side counting from its own random ISN (its SYN is seq=0), as Wireshark shows them; on the wire ${isns} (--absolute prints those).`,
    );
  }
  if (c?.shift !== undefined && s?.shift !== undefined) {
    lines.push(
      `win is the 16-bit window field as sent. In a SYN it counts bytes; after the handshake each side's counts units of 2^shift bytes, the window scale its SYN announced (client ${c.shift}, server ${s.shift}; RFC 7323 2.2).`,
    );
  }
  return lines.map((l) => wrap(l, width, 2)).join('\n');
}

function summary(r: DemoResult, width: number): string {
  const side = (name: string, s: SideSummary): string[] => {
    const lines = [
      wrap(`${name}: ${s.states.join(' -> ')}`, width, 4),
      wrap(
        `  sent ${s.bytesSent} bytes in ${s.segments} segments (${s.retransmissions} retransmitted), received ${s.bytesReceived} bytes` +
          (s.rtt > 0 ? `, smoothed RTT ${s.rtt.toFixed(1)} ms` : ''),
        width,
        4,
      ),
    ];
    if (s.error !== undefined) lines.push(wrap(`  error: ${s.error}`, width, 4));
    return lines;
  };
  const out = [...side('client', r.client), ...side('server', r.server)];
  out.push(wrap(`virtual time: ${(r.duration / 1000).toFixed(3)} s (TIME-WAIT lasts 2*MSL = 60 s here, as on Linux)`, width, 2));
  for (const n of r.notes) out.push(wrap(`note: ${n}`, width, 2));
  return out.join('\n');
}
