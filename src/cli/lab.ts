// `synack lab [--port N]`: serves the built lab page (two synack stacks on the simulated link, in the
// browser) on 127.0.0.1 and prints its URL; stops on SIGINT or SIGTERM.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs, formatFlags, flagBool, flagNumber, type FlagsSpec } from './args.js';
import { UsageError, type CliIo } from './io.js';
import { labDir, serveLabFile, LAB_MISSING } from './lab-files.js';

const LAB_FLAGS: FlagsSpec = {
  port: { type: 'number', short: 'p', value: 'N', integer: true, min: 0, max: 65535, help: 'port on 127.0.0.1 (default 8094; 0 picks a free one)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const LAB_USAGE = `Usage: synack lab [--port N]

Serves the synack lab on http://127.0.0.1:N/: two synack stacks running in your browser on a
seeded simulated link, with the ladder, the state diagram, the TCB and guided stories for every
demo scenario (see docs/lab.md). Only this machine can reach it. Stops on Ctrl-C.

Options:
${formatFlags(LAB_FLAGS)}
`;

export async function labCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, LAB_FLAGS, 'lab');
  if (flagBool(args, 'help') === true) {
    io.out(LAB_USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw new UsageError(`lab takes no arguments, got '${args.positionals[0] ?? ''}'`, 'lab');
  if (labDir() === null) {
    io.err(`synack lab: ${LAB_MISSING}\n`);
    return 1;
  }
  const port = flagNumber(args, 'port') ?? 8094;
  const server = createServer((req, res) => serveLabFile((req.url ?? '/').split('?')[0] ?? '/', res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    io.err(`synack lab: ${err.code === 'EADDRINUSE' ? `port ${port} on 127.0.0.1 is in use (try --port 0)` : err.message}\n`);
    return 1;
  }
  io.out(`synack lab: http://127.0.0.1:${(server.address() as AddressInfo).port}/\n`);
  return await new Promise<number>((resolve) => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      server.closeAllConnections();
      server.close(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
