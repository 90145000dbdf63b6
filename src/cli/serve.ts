// `synack serve DIR`: a static HTTP file server made of Node's own `http` module running over synack
// sockets (src/net) on a TUN device, so the kernel's TCP (curl, a browser) downloads through synack.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream, promises as fsp } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { parseArgs, formatFlags, flagBool, flagNumber, flagString, type FlagsSpec } from './args.js';
import { UsageError, type CliIo } from './io.js';
import { TUN_FLAGS, HIDDEN_TUN_FLAGS, TUN_HELP_FOOTER, EXIT, CommandError, openTunSession, tunSetupFromArgs } from './tun-common.js';
import { createNet } from '../net/index.js';
import { takeWatchFlag, watchSession, WATCH_HELP, type Watch } from './watch.js';

const SERVE_FLAGS: FlagsSpec = {
  port: { type: 'number', short: 'p', value: 'PORT', integer: true, min: 1, max: 65535, help: 'TCP port to listen on (default 8080)' },
  host: { type: 'string', value: 'IP', help: 'listen on this one stack address only (default: all of them)' },
  quiet: { type: 'boolean', short: 'q', help: 'do not log requests to stderr' },
  ...TUN_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const SERVE_USAGE = `Usage: synack serve DIR --tun NAME --addr CIDR [--peer IP] [--port PORT]

Serves the files under DIR over HTTP/1.1 with Node's http module running on synack sockets. The
kernel reaches it through the TUN device at the stack's address, e.g.

  synack serve ./public --tun syn0 --addr 198.18.0.2/24 --peer 198.18.0.1 --port 8080
  curl -o out http://198.18.0.2:8080/file

GET and HEAD only; directories list their entries. Stops on SIGINT or SIGTERM.

Options:
${formatFlags(SERVE_FLAGS)}

${WATCH_HELP}

${TUN_HELP_FOOTER}
`;

export async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const watchFlag = takeWatchFlag(argv, 'serve');
  const args = parseArgs(watchFlag.argv, { ...SERVE_FLAGS, ...HIDDEN_TUN_FLAGS }, 'serve');
  if (flagBool(args, 'help') === true) {
    io.out(SERVE_USAGE);
    return EXIT.ok;
  }
  if (args.positionals.length !== 1) throw new UsageError('serve wants one directory', 'serve');
  const root = resolve(args.positionals[0] as string);
  try {
    if (!(await fsp.stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    io.err(`synack serve: cannot serve ${root}: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  const setup = tunSetupFromArgs(args, 'serve');
  const port = flagNumber(args, 'port') ?? 8080;
  const host = flagString(args, 'host');
  const quiet = flagBool(args, 'quiet') === true;

  let session;
  let watch: Watch | null = null;
  try {
    watch = await watchSession(watchFlag.port, setup, io);
    session = await openTunSession(setup, io);
    watch?.attach(session.stack);
  } catch (e) {
    void watch?.close();
    if (e instanceof CommandError) {
      io.err(`synack serve: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
  const net = createNet(session.stack);
  const http = createHttpServer((req, res) => {
    handle(root, req, res).then(
      (status) => {
        if (!quiet) io.err(`${req.socket.remoteAddress ?? '?'} ${req.method ?? '?'} ${req.url ?? '?'} ${status}\n`);
      },
      (e: Error) => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end();
        } else res.destroy();
        io.err(`synack serve: ${req.url ?? '?'}: ${e.message}\n`);
      },
    );
  });
  // Node's http takes any Duplex as a connection: hand it each synack socket.
  const server = net.createServer((sock) => http.emit('connection', sock));
  return await new Promise<number>((done) => {
    const stop = (code: number): void => {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      server.close();
      http.close();
      session.close();
      void watch?.close();
      done(code);
    };
    const onInt = (): void => stop(EXIT.ok);
    const onTerm = (): void => stop(EXIT.ok);
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    server.once('error', (e: Error & { code?: string }) => {
      io.err(`synack serve: ${e.message}\n`);
      stop(EXIT.failure);
    });
    const listening = (): void => {
      const a = server.address();
      const shown = host ?? setup.addresses.map((x) => x.split('/')[0] ?? '').join(', ');
      io.err(`synack serve: listening on port ${a?.port ?? port} of ${shown} (${root})\n`);
    };
    if (host !== undefined) server.listen(port, host, listening);
    else server.listen(port, listening);
  });
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
  js: 'text/javascript',
  css: 'text/css',
  png: 'image/png',
  svg: 'image/svg+xml',
  pcap: 'application/vnd.tcpdump.pcap',
};

/** Answers one request from files under `root`; resolves with the status sent. */
async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<number> {
  const send = (status: number, text: string, extra: Record<string, string> = {}): number => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(req.method === 'HEAD' ? undefined : text);
    return status;
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n', { allow: 'GET, HEAD' });
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return send(400, 'bad path\n');
  }
  const full = resolve(join(root, path));
  if (full !== root && !full.startsWith(root + sep)) return send(403, 'forbidden\n');
  let st;
  try {
    st = await fsp.stat(full);
  } catch {
    return send(404, 'not found\n');
  }
  if (st.isDirectory()) {
    const names = (await fsp.readdir(full, { withFileTypes: true })).map((d) => (d.isDirectory() ? `${d.name}/` : d.name)).sort();
    return send(200, names.join('\n') + (names.length > 0 ? '\n' : ''));
  }
  if (!st.isFile()) return send(403, 'not a regular file\n');
  const ext = full.slice(full.lastIndexOf('.') + 1).toLowerCase();
  res.writeHead(200, {
    'content-type': TYPES[ext] ?? 'application/octet-stream',
    'content-length': String(st.size),
    'last-modified': st.mtime.toUTCString(),
  });
  if (req.method === 'HEAD') {
    res.end();
    return 200;
  }
  await new Promise<void>((ok, fail) => {
    const file = createReadStream(full, { highWaterMark: 256 * 1024 });
    file.once('error', fail);
    res.once('close', ok);
    file.pipe(res);
  });
  return 200;
}
