// `synack serve DIR`: a static HTTP file server made of Node's own `http` module running over synack
// sockets (src/net) on a TUN device, so the kernel's TCP (curl, a browser) downloads through synack.
// Node's header, request and keep-alive timeouts are in force, Nagle is off, each request is logged
// with its bytes and rate, and the loss of the device ends the command with status 1.
import { createServer as createHttpServer } from 'node:http';
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, formatFlags, flagBool, flagNumber, flagString, type FlagsSpec } from './args.js';
import { UsageError, type CliIo } from './io.js';
import {
  TUN_FLAGS, LISTEN_TUN_FLAGS, HIDDEN_TUN_FLAGS, TUN_HELP_FOOTER, EXIT, tunSetupFromArgs,
} from './tun-common.js';
import { answer, filePolicy, type Answer } from './serve-files.js';
import { formatBytes, formatRate } from './progress.js';
import { createNet } from '../net/index.js';
import { takeWatchFlag, openWatchedSession, WATCH_HELP } from './watch.js';

const SERVE_FLAGS: FlagsSpec = {
  port: { type: 'number', short: 'p', value: 'PORT', integer: true, min: 1, max: 65535, help: 'TCP port to listen on (default 8080)' },
  host: { type: 'string', value: 'IP', help: 'listen on this one stack address only (default: all of them)' },
  quiet: { type: 'boolean', short: 'q', help: 'do not log requests to stderr' },
  backlog: {
    type: 'number', value: 'N', integer: true, min: 1, max: 65535,
    help: 'connections allowed to wait in the handshake before SYN cookies (or drops) start (default 4096, as Linux somaxconn)',
  },
  'follow-symlinks': { type: 'boolean', help: 'also serve files whose real path is outside DIR (symlinks leading out); off by default' },
  'file-cache': {
    type: 'number', value: 'SECS', min: 0, max: 3600,
    help: 'reuse a file\'s real path, metadata and (up to 1 MiB) content this long before checking it again (default 1; 0: check every request)',
  },
  'headers-timeout': { type: 'number', value: 'SECS', min: 0.1, max: 86_400, help: 'close a connection whose request headers take longer (default 60, as Node)' },
  'request-timeout': { type: 'number', value: 'SECS', min: 0.1, max: 86_400, help: 'close a connection whose whole request takes longer (default 300, as Node)' },
  'keep-alive-timeout': { type: 'number', value: 'SECS', min: 0.1, max: 86_400, help: 'close an idle keep-alive connection after this long (default 5, as Node)' },
  ...LISTEN_TUN_FLAGS,
  ...TUN_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const SERVE_USAGE = `Usage: synack serve DIR --tun NAME --addr CIDR [--peer IP] [--port PORT]

Serves the files under DIR over HTTP/1.1 with Node's http module running on synack sockets. The
kernel reaches it through the TUN device at the stack's address, e.g.

  synack serve ./public --tun syn0 --addr 198.18.0.2/24 --peer 198.18.0.1 --port 8080
  curl -o out http://198.18.0.2:8080/file
  curl -C - -o out http://198.18.0.2:8080/file     # resume: Range requests get 206

GET and HEAD only; directories list their entries; single byte ranges (206, 416) and
If-Modified-Since (304) are answered. A file whose real path is outside DIR (a symlink leading out)
gets 403 unless --follow-symlinks. Each request is logged to stderr as
  PEER METHOD PATH STATUS BYTES SECONDS RATE retrans=N
Stops on SIGINT or SIGTERM (status 0); exits with 1 if the TUN device goes away.

Options:
${formatFlags(SERVE_FLAGS)}

${WATCH_HELP}

${TUN_HELP_FOOTER}
`;

/**
 * The listener's backlog: Linux's somaxconn (4096 since 5.4) rather than Node's 511, so a burst of a
 * few thousand clients is answered with ordinary SYN-ACKs and the SYN-cookie path (which loses the
 * window scale and SACK options) is kept for floods.
 */
const DEFAULT_BACKLOG = 4096;

export async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const watchFlag = takeWatchFlag(argv, 'serve');
  const args = parseArgs(watchFlag.argv, { ...SERVE_FLAGS, ...HIDDEN_TUN_FLAGS }, 'serve');
  if (flagBool(args, 'help') === true) {
    io.out(SERVE_USAGE);
    return EXIT.ok;
  }
  if (args.positionals.length !== 1) throw new UsageError('serve wants one directory', 'serve');
  const root = resolve(args.positionals[0] as string);
  let policy;
  try {
    if (!(await fsp.stat(root)).isDirectory()) throw new Error('not a directory');
    policy = await filePolicy(root, flagBool(args, 'follow-symlinks') === true, { ttlMs: (flagNumber(args, 'file-cache') ?? 1) * 1000 });
  } catch (e) {
    io.err(`synack serve: cannot serve ${root}: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  const setup = tunSetupFromArgs(args, 'serve');
  const port = flagNumber(args, 'port') ?? 8080;
  const host = flagString(args, 'host');
  const backlog = flagNumber(args, 'backlog') ?? DEFAULT_BACKLOG;
  const quiet = flagBool(args, 'quiet') === true;
  const headersTimeout = (flagNumber(args, 'headers-timeout') ?? 60) * 1000;
  const requestTimeout = Math.max((flagNumber(args, 'request-timeout') ?? 300) * 1000, headersTimeout);
  const keepAliveTimeout = (flagNumber(args, 'keep-alive-timeout') ?? 5) * 1000;

  const opened = await openWatchedSession('serve', watchFlag.port, setup, io);
  if (typeof opened === 'number') return opened;
  const { session, watch } = opened;
  const net = createNet(session.stack);
  const http = createHttpServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout,
      // How often Node checks the header and request deadlines: often enough that a short timeout
      // is kept to within a quarter of itself, never more than once a second.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, headersTimeout / 4)),
    },
    (req, res) => {
      const t0 = performance.now();
      const log = (a: Answer): void => {
        if (quiet) return;
        const secs = (performance.now() - t0) / 1000;
        const retrans = (req.socket as { tcp?: { stats(): { retransSegs: number } } | null }).tcp?.stats().retransSegs ?? 0;
        io.err(
          `${req.socket.remoteAddress ?? '?'} ${req.method ?? '?'} ${req.url ?? '?'} ${a.status} ${a.bytes} ` +
            `${secs.toFixed(3)}s ${formatRate(a.bytes / Math.max(secs, 1e-6))} retrans=${retrans}${a.bytes >= 1024 ? ` (${formatBytes(a.bytes)})` : ''}\n`,
        );
      };
      answer(policy, req, res).then(log, (e: Error) => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end();
        } else res.destroy();
        io.err(`synack serve: ${req.url ?? '?'}: ${e.message}\n`);
      });
    },
  );
  // Node's http takes any Duplex as a connection: hand it each synack socket. Node turns Nagle off
  // only for sockets its own net.Server accepts, so do it here: otherwise the last small segment of
  // each answer waits for the client's delayed ACK (~40 ms a response on keep-alive).
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    http.emit('connection', sock);
  });
  return await new Promise<number>((done) => {
    let stopped = false;
    const stop = (code: number): void => {
      if (stopped) return;
      stopped = true;
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      server.close();
      http.closeAllConnections();
      http.close();
      session.close();
      void watch?.close();
      done(code);
    };
    const onInt = (): void => stop(EXIT.ok);
    const onTerm = (): void => stop(EXIT.ok);
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    session.onLinkLost(() => {
      io.err('synack serve: the TUN device is gone; stopping\n');
      stop(EXIT.failure);
    });
    server.once('error', (e: Error & { code?: string }) => {
      io.err(`synack serve: ${e.message}\n`);
      stop(EXIT.failure);
    });
    const listening = (): void => {
      // Node arms its headersTimeout/requestTimeout checks when the http server emits 'listening',
      // which it never does itself here (it does not own the listening socket).
      http.emit('listening');
      const a = server.address();
      const shown = host ?? setup.addresses.map((x) => x.split('/')[0] ?? '').join(', ');
      io.err(`synack serve: listening on port ${a?.port ?? port} of ${shown} (${root})\n`);
    };
    server.listen({ port, backlog, ...(host !== undefined ? { host } : {}) }, listening);
  });
}
