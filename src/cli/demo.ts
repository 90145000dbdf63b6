// `synack demo`: two stacks on the in-memory network run a scenario and the ladder is printed.
// Placeholder until the Stack lands: it validates the options the real demo will take and says so.
import { parseArgs, formatFlags, flagBool, type FlagsSpec } from './args.js';
import type { CliIo } from './io.js';

export const DEMO_FLAGS: FlagsSpec = {
  scenario: { type: 'string', value: 'NAME', help: 'which connection story to run (default: basic)' },
  loss: { type: 'number', value: 'P', min: 0, max: 1, help: 'probability that the link drops a packet' },
  seed: { type: 'number', value: 'N', integer: true, min: 0, help: 'seed for the link and the ISNs' },
  bytes: { type: 'number', value: 'N', integer: true, min: 0, help: 'size of the response' },
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
    return 0;
  }
  io.err('synack: demo needs the Stack (src/stack), which is not wired into the CLI yet.\n' +
    'Meanwhile, `synack trace FILE.pcap` draws the ladder of any captured connection.\n');
  return 1;
}
