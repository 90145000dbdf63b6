// `synack nc`: netcat over synack on a TUN device, written directly on the Stack and TcpConnection:
// stdin to the connection, the connection to stdout, a FIN (half-close, RFC 9293 3.10.4) at stdin
// EOF, and an exit status that tells success, refusal and reset apart.
import type { Readable, Writable } from 'node:stream';
import { parseArgs, formatFlags, flagBool, flagString, type FlagsSpec } from './args.js';
import { UsageError, type CliIo } from './io.js';
import {
  TUN_FLAGS, LISTEN_TUN_FLAGS, HIDDEN_TUN_FLAGS, TUN_HELP_FOOTER, EXIT, exitFor, tunSetupFromArgs,
  type TunSession,
} from './tun-common.js';
import type { TcpConnection, TcpErrorCode } from '../tcp/connection.js';
import { takeWatchFlag, openWatchedSession, WATCH_HELP } from './watch.js';

const NC_FLAGS: FlagsSpec = {
  listen: { type: 'boolean', short: 'l', help: 'wait for one connection on [HOST] PORT instead of connecting' },
  verbose: { type: 'boolean', short: 'v', help: 'say on stderr when connected and how the connection ended' },
  ...LISTEN_TUN_FLAGS,
  ...TUN_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const NC_USAGE = `Usage: synack nc [options] HOST PORT --tun NAME --addr CIDR [--peer IP]
       synack nc -l [HOST] PORT --tun NAME --addr CIDR [--peer IP]

Netcat over synack: connects (or with -l, accepts one connection) through a TUN device, copies stdin
to the connection and the connection to stdout. At stdin EOF it sends FIN and keeps reading until
the peer closes too. If the TUN device goes away it exits with 1. Example, with the kernel at 198.18.0.1 listening on port 7000:

  synack nc 198.18.0.1 7000 --tun syn0 --addr 198.18.0.2/24 --peer 198.18.0.1 < file

Options:
${formatFlags(NC_FLAGS)}

${WATCH_HELP}

${TUN_HELP_FOOTER}
`;

/** Where nc reads and writes (the process's stdin/stdout unless a test passes others). */
export interface NcStreams {
  stdin: Readable;
  stdout: Writable;
}

export async function ncCommand(argv: readonly string[], io: CliIo, streams?: NcStreams): Promise<number> {
  const watchFlag = takeWatchFlag(argv, 'nc');
  const args = parseArgs(watchFlag.argv, { ...NC_FLAGS, ...HIDDEN_TUN_FLAGS }, 'nc');
  if (flagBool(args, 'help') === true) {
    io.out(NC_USAGE);
    return EXIT.ok;
  }
  const listen = flagBool(args, 'listen') === true;
  const pos = args.positionals;
  let host: string | undefined;
  let portText: string | undefined;
  if (listen && pos.length === 1) portText = pos[0];
  else if (pos.length === 2) [host, portText] = pos;
  else throw new UsageError(listen ? 'nc -l wants [HOST] PORT' : 'nc wants HOST PORT', 'nc');
  const port = Number(portText);
  if (!Number.isInteger(port) || port < (listen ? 0 : 1) || port > 65535) throw new UsageError(`bad port '${portText}'`, 'nc');
  if (!listen && flagString(args, 'syn-cookies') !== undefined) throw new UsageError('--syn-cookies applies to nc -l only', 'nc');
  const setup = tunSetupFromArgs(args, 'nc');
  const verbose = flagBool(args, 'verbose') === true;

  const opened = await openWatchedSession('nc', watchFlag.port, setup, io);
  if (typeof opened === 'number') return opened;
  const { session, watch } = opened;
  const { stdin, stdout } = streams ?? { stdin: process.stdin, stdout: process.stdout };
  try {
    return await runNc(session, { listen, host, port, verbose }, stdin, stdout, io);
  } finally {
    session.close();
    await watch?.close();
  }
}

interface NcOptions {
  listen: boolean;
  host: string | undefined;
  port: number;
  verbose: boolean;
}

function runNc(session: TunSession, o: NcOptions, stdin: Readable, stdout: Writable, io: CliIo): Promise<number> {
  const { stack } = session;
  return new Promise<number>((resolve) => {
    let conn: TcpConnection | null = null;
    let finished = false;
    let pending: Uint8Array | null = null;
    let stdinEnded = false;
    let stdoutBlocked = false;

    const onSigint = (): void => finish(EXIT.interrupted, 'interrupted');
    process.once('SIGINT', onSigint);
    session.onLinkLost((err) => finish(EXIT.failure, `the link went away: ${err.message}`));

    const finish = (code: number, why: string): void => {
      if (finished) return;
      finished = true;
      process.removeListener('SIGINT', onSigint);
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.pause();
      // Let a pipe or terminal on stdin stop holding the event loop open.
      if (stdin === process.stdin) stdin.destroy();
      if (o.verbose || code !== EXIT.ok) io.err(`synack nc: ${why}\n`);
      if (listener !== null) listener.close();
      resolve(code);
    };

    // stdin -> connection, pausing stdin while the send buffer is full.
    const pump = (): void => {
      if (conn === null || finished) return;
      while (pending !== null) {
        let n: number;
        try {
          n = conn.send(pending);
        } catch (e) {
          finish(exitFor((e as { code?: string }).code), `send: ${(e as Error).message}`);
          return;
        }
        if (n === pending.length) pending = null;
        else {
          pending = pending.subarray(n);
          stdin.pause();
          return;
        }
      }
      // FIN after the queued data (idempotent). Not in SYN-SENT, where CLOSE would delete the
      // connection (RFC 9293 3.10.4): onConnected pumps again.
      if (stdinEnded) {
        if (conn.state !== 'SYN-SENT') conn.close();
      } else stdin.resume();
    };
    const onData = (chunk: Buffer): void => {
      pending = chunk;
      pump();
    };
    const onEnd = (): void => {
      stdinEnded = true;
      pump();
    };

    // connection -> stdout, leaving data in the receive buffer (so the window closes) while stdout is slow.
    const drain = (): void => {
      if (conn === null) return;
      while (!stdoutBlocked) {
        const chunk = conn.recv(256 * 1024);
        if (chunk === null) break;
        if (!stdout.write(chunk)) {
          stdoutBlocked = true;
          stdout.once('drain', () => {
            stdoutBlocked = false;
            drain();
            settle();
          });
        }
      }
    };

    // Both directions are done once our FIN was acknowledged and the peer's FIN was read.
    const settle = (): void => {
      if (conn === null || finished || stdoutBlocked) return;
      const s = conn.state;
      if ((s === 'TIME-WAIT' || s === 'CLOSED') && conn.recvAvailable === 0) finish(EXIT.ok, `closed (${s})`);
    };

    const attach = (c: TcpConnection): void => {
      conn = c;
      c.hooks.onReadable = () => {
        drain();
        settle();
      };
      c.hooks.onWritable = pump;
      c.hooks.onError = (code: TcpErrorCode, message: string) => finish(exitFor(code), `${code}: ${message}`);
      c.hooks.onState = (_from, to) => {
        if (to === 'TIME-WAIT' || to === 'CLOSED') {
          drain();
          // Defer a turn so an error reported with this transition wins over a clean close.
          queueMicrotask(settle);
        }
      };
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      if (stdin.readableEnded) onEnd();
      drain();
      settle();
    };

    let listener: ReturnType<typeof stack.tcpListen> | null = null;
    try {
      if (o.listen) {
        listener = stack.tcpListen({ ...(o.host !== undefined ? { address: o.host } : {}), port: o.port, backlog: 1 }, (c, info) => {
          listener?.close();
          listener = null;
          if (o.verbose) io.err(`synack nc: connection from ${info.remoteAddress}:${info.remotePort}\n`);
          attach(c);
        });
        if (o.verbose) io.err(`synack nc: listening on ${o.host ?? '*'}:${listener.port}\n`);
      } else {
        const host = o.host as string;
        const c = stack.tcpConnect({
          address: host,
          port: o.port,
          hooks: {
            onConnected: () => {
              if (o.verbose) io.err(`synack nc: connected to ${host}:${o.port}\n`);
              pump();
            },
          },
        });
        attach(c);
      }
    } catch (e) {
      const err = e as Error & { code?: string };
      finish(err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.name === 'TypeError' ? EXIT.failure : exitFor(err.code), err.message);
    }
  });
}
