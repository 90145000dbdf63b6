// The `synack` command line: dispatches subcommands (help, version, trace, demo, bench, ...), turns usage
// mistakes into a message and exit status 2, and never lets a stack trace reach the user.
import { readFileSync } from 'node:fs';
import { nodeIo, UsageError, CliError, EXIT, fileErrorMessage, type CliIo } from './io.js';
import { didYouMean } from './args.js';
import { traceCommand, TRACE_USAGE } from './trace.js';
import { demoCommand, DEMO_USAGE } from './demo.js';
import { ncCommand, NC_USAGE } from './nc.js';
import { serveCommand, SERVE_USAGE } from './serve.js';
import { getCommand, GET_USAGE } from './get.js';
import { pdrillCommand, PDRILL_USAGE } from './pdrill.js';
import { benchCommand, BENCH_USAGE } from './bench.js';
import { labCommand, LAB_USAGE } from './lab.js';
import { relayCommand, RELAY_USAGE } from './relay.js';

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const USAGE = `synack: a TCP/IP stack in TypeScript that you can watch

Usage: synack <command> [options]

Commands:
  demo               run a client and a server on two in-memory stacks and draw the connection
  trace FILE.pcap    draw the ladder of every TCP connection in a capture, with inferred states
  lab                the lab in your browser: two stacks, the ladder, states and the TCB, live
  serve DIR          HTTP file server on a TUN device (Node's http over synack)
  get URL            HTTP GET through synack on a TUN device
  nc HOST PORT       netcat over synack on a TUN device (-l to listen)
  relay              WebSocket relay: synack stacks in browsers reach the network through a TUN device
  pdrill FILE.pkt... run packetdrill scripts against synack on a virtual clock
  bench              measure throughput, connection churn, memory and scaling beside the kernel
  version            print the version
  help [COMMAND]     show this help, or a command's options

Run 'synack help <command>' for a command's options.
`;

const HELP: Record<string, string> = { trace: TRACE_USAGE, demo: DEMO_USAGE, pdrill: PDRILL_USAGE, serve: SERVE_USAGE, get: GET_USAGE, nc: NC_USAGE, bench: BENCH_USAGE, lab: LAB_USAGE, relay: RELAY_USAGE };

/** The version in package.json (two levels up from both src/cli and dist/cli). */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const COMMANDS: Record<string, Command> = {
  trace: traceCommand,
  demo: demoCommand,
  serve: serveCommand,
  get: getCommand,
  nc: (argv, io) => ncCommand(argv, io),
  pdrill: (argv, io) => pdrillCommand([...argv], io),
  bench: benchCommand,
  lab: labCommand,
  relay: relayCommand,
  version: async (argv, io) => {
    if (argv.length > 0) throw new UsageError(`version takes no arguments`, 'version');
    io.out(`synack ${version()}\n`);
    return 0;
  },
  help: async (argv, io) => {
    if (argv.length > 1) throw new UsageError(`help takes one command, got ${argv.length} arguments`, 'help');
    const topic = argv[0];
    if (topic === undefined) {
      io.out(USAGE);
      return 0;
    }
    const text = HELP[topic];
    if (text === undefined) {
      if (topic === 'help' || topic === 'version') {
        io.out(USAGE);
        return 0;
      }
      throw new UsageError(`no help for unknown command '${topic}'${didYouMean(topic, Object.keys(COMMANDS))}`);
    }
    io.out(text);
    return 0;
  },
};

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit status from the EXIT table
 * (docs/cli.md). Every error is one line on stderr starting with `synack:`; usage errors point at the
 * command's help. `io` defaults to the real process.
 */
export async function main(argv: string[], io?: CliIo): Promise<number> {
  if (io === undefined) {
    io = nodeIo();
    guardProcess(io);
  }
  const [first, ...rest] = argv;
  try {
    if (first === undefined) {
      io.err(USAGE);
      return 2;
    }
    if (first === '--help' || first === '-h') return await COMMANDS['help']!([], io);
    if (first === '--version' || first === '-V') return await COMMANDS['version']!([], io);
    const cmd = COMMANDS[first];
    if (cmd === undefined) {
      throw new UsageError(
        first.startsWith('-') ? `unknown option ${first} (options go after the command)` : `unknown command '${first}'${didYouMean(first, Object.keys(COMMANDS))}`,
      );
    }
    return await cmd(rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}

/**
 * The last line of defence for the real process: an error nothing caught (an 'error' event without
 * a listener, a rejected promise no one awaited) still ends as one `synack:` line and a status from
 * the table, never Node's stack trace. A file-system error names the file and the cause.
 */
function guardProcess(io: CliIo): void {
  const die = (e: unknown): void => {
    const fsErr = e as { code?: unknown; path?: unknown; syscall?: unknown } | null;
    if (fsErr !== null && typeof fsErr === 'object' && typeof fsErr.code === 'string' && typeof fsErr.path === 'string') {
      const op = fsErr.syscall === 'write' ? 'write' : fsErr.syscall === 'read' ? 'read' : 'open';
      process.exitCode = reportError(new CliError(fileErrorMessage(op, fsErr.path, e)), io);
    } else {
      process.exitCode = reportError(e, io);
    }
    process.exit();
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
}

/** Prints an error as one `synack:` line and returns its exit status; anything not a CliError is a bug. */
export function reportError(e: unknown, io: CliIo): number {
  if (e instanceof UsageError) {
    const hint = e.command !== undefined ? `synack help ${e.command}` : 'synack help';
    io.err(`synack: ${oneLine(e.message)}; run '${hint}' for usage\n`);
    return e.exitCode;
  }
  if (e instanceof CliError) {
    io.err(`synack: ${oneLine(e.message)}\n`);
    return e.exitCode;
  }
  const err = e as Error | undefined;
  io.err(`synack: internal error: ${oneLine(err?.message ?? String(e))} (a bug; SYNACK_DEBUG=1 shows where)\n`);
  if (io.env['SYNACK_DEBUG']) io.err(`${err?.stack ?? ''}\n`);
  return EXIT.internal;
}

/** Messages from deeper layers sometimes span lines; the CLI's contract is one line per error. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ').trim();
}
