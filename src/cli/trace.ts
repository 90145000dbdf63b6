// `synack trace FILE.pcap`: follow each TCP connection in a capture, infer both sides' RFC 9293
// states (see src/trace/infer.ts) and draw the ladder per connection (terminal, SVG or Mermaid).
import { tcpPacketsFromPcap, inferConnections, type InferredConnection } from '../trace/infer.js';
import { renderLadder, wrapIndented } from '../trace/ladder.js';
import { renderSvg } from '../trace/svg.js';
import { renderMermaid } from '../trace/mermaid.js';
import { parseArgs, formatFlags, flagBool, flagNumber, flagString, expectPositionals, type FlagsSpec } from './args.js';
import { CliError, UsageError, readInput, wantColor, writeOutput, type CliIo } from './io.js';

export const TRACE_FLAGS: FlagsSpec = {
  absolute: { type: 'boolean', help: 'seq/ack as on the wire (default: relative to each side\'s ISN)' },
  ascii: { type: 'boolean', help: 'plain ASCII instead of box-drawing characters' },
  svg: { type: 'string', value: 'FILE', help: 'also write the ladder as SVG (FILE-N.svg per connection when several)' },
  mermaid: { type: 'boolean', help: 'print Mermaid sequenceDiagram source instead of the terminal ladder' },
  conn: { type: 'number', value: 'N', integer: true, min: 1, help: 'only connection N (numbered in order of first packet)' },
  width: { type: 'number', value: 'COLS', integer: true, min: 40, max: 400, help: 'fit every line in COLS columns (default 80)' },
  color: { type: 'boolean', help: 'force colour on (--no-color: off; default: on a terminal unless NO_COLOR is set)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const TRACE_USAGE = `Usage: synack trace FILE.pcap [options]

Reads a pcap capture (tcpdump -w, tshark -F pcap), follows every TCP connection, infers the states
both sides went through from the segments seen, and draws one ladder diagram per connection.

Options:
${formatFlags(TRACE_FLAGS)}
`;

function svgPath(base: string, id: number, many: boolean): string {
  if (!many) return base;
  const dot = base.toLowerCase().endsWith('.svg') ? base.length - 4 : base.length;
  return `${base.slice(0, dot)}-${id}${base.slice(dot) || '.svg'}`;
}

/** The default --width: lines fit a classic 80-column terminal unless asked otherwise. */
const DEFAULT_WIDTH = 80;

/** One entry per side (the states it went through), then the counts; lines of at most `width` columns. */
export function stateSummary(c: InferredConnection, ascii: boolean, width = DEFAULT_WIDTH): string {
  const arrow = ascii ? ' -> ' : ' → ';
  const w = Math.max(c.client.length, c.server.length);
  const tail = (states: readonly string[]): string =>
    states.join(arrow) + (states[states.length - 1] === 'TIME-WAIT' ? ' (still in TIME-WAIT when the capture ends)' : '');
  const lines = [
    `  client ${c.client.padEnd(w)}  ${tail(c.clientStates)}`,
    `  server ${c.server.padEnd(w)}  ${tail(c.serverStates)}`,
    `  ${c.segments} segments, ${c.clientBytes} bytes client to server, ${c.serverBytes} bytes server to client, ` +
      `${c.retransmissions} retransmission${c.retransmissions === 1 ? '' : 's'}` +
      (c.sawOpen ? '' : '; the handshake was not captured, so the first states are assumed'),
  ];
  return lines.map((l) => wrapIndented(l, width, 4)).join('\n') + '\n';
}

export async function traceCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, TRACE_FLAGS, 'trace');
  if (flagBool(args, 'help') === true) {
    io.out(TRACE_USAGE);
    return 0;
  }
  const [file = ''] = expectPositionals(args, 'trace', ['FILE.pcap']);
  const parsed = tcpPacketsFromPcap(readInput(io, file));
  if (!parsed.ok) {
    // Name the way out once: the reader's own message already says so for a pcapng file.
    const hint = /pcapng/.test(parsed.error.message) ? '' : ' (synack reads classic pcap: tcpdump -w, or tshark -F pcap)';
    throw new CliError(`cannot read ${file}: ${parsed.error.message}${hint}`);
  }
  let conns = inferConnections(parsed.value.packets);
  const only = flagNumber(args, 'conn');
  if (only !== undefined) {
    if (only > conns.length) {
      throw new UsageError(`--conn ${only}: ${file} has ${conns.length} TCP connection${conns.length === 1 ? '' : 's'}`, 'trace');
    }
    conns = conns.filter((c) => c.id === only);
  }
  if (conns.length === 0) {
    io.out(`No TCP connections in ${file} (${parsed.value.skipped} other packet${parsed.value.skipped === 1 ? '' : 's'}).\n`);
    return 0;
  }
  const ascii = flagBool(args, 'ascii') === true;
  const mermaid = flagBool(args, 'mermaid') === true;
  const color = !mermaid && wantColor(io, flagBool(args, 'color'));
  const asked = flagNumber(args, 'width');
  const width = asked ?? DEFAULT_WIDTH;
  const svg = flagString(args, 'svg');
  for (const [i, c] of conns.entries()) {
    const opts = {
      left: c.client,
      right: c.server,
      absolute: flagBool(args, 'absolute') === true,
      ascii,
      color,
      width: asked ?? 72,
      maxWidth: width,
    };
    const title = `Connection ${c.id}: ${c.client} (client) to ${c.server} (server), started at ${new Date(c.startMs).toISOString()}`;
    if (i > 0) io.out('\n');
    if (mermaid) {
      io.out(`%% ${title}\n${renderMermaid(c.events, opts)}`);
    } else {
      io.out(`${wrapIndented(title, width, 2)}\n\n${renderLadder(c.events, opts)}\n${stateSummary(c, ascii, width)}`);
    }
    if (svg !== undefined) {
      const path = svgPath(svg, c.id, conns.length > 1);
      writeOutput(io, path, renderSvg(c.events, { left: c.client, right: c.server, absolute: opts.absolute }));
      io.err(`synack: wrote ${path}\n`);
    }
  }
  if (parsed.value.truncated) io.err(`synack: ${file} ends inside a packet record; the complete records were used\n`);
  return 0;
}
