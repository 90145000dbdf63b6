// `--watch [PORT]` for the TUN commands (serve, get, nc): an HTTP server on 127.0.0.1 that serves the
// lab page and streams the live stack's trace events (state changes, drops, timers, and every TCP
// segment crossing the TUN link) to it as Server-Sent Events, so a learner watches curl's handshake.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Link } from '../link/link.js';
import type { Clock } from '../util/clock.js';
import { tapLink } from '../link/tap.js';
import type { Stack } from '../stack/stack.js';
import type { TraceEvent } from '../trace/events.js';
import { tcpOfPacket, segmentEventOf, connLabelOf } from '../trace/packet.js';
import { UsageError, type CliIo } from './io.js';
import { CommandError, openTunSession, type TunSession, type TunSetup } from './tun-common.js';
import { serveLabFile } from './lab-files.js';

/** The port --watch uses when none is given. */
export const DEFAULT_WATCH_PORT = 8095;

export const WATCH_HELP = `  --watch [PORT]  stream this stack's trace events to the lab page at http://127.0.0.1:PORT/?watch (default ${DEFAULT_WATCH_PORT})`;

/** The name the watched stack's peer (the kernel, or whoever is behind the TUN device) has on the ladder. */
export const WATCH_PEER = 'peer';

/**
 * Takes `--watch`, `--watch=PORT` or `--watch PORT` out of argv (the shared parser has no flags
 * with optional values). A bare --watch followed by a number takes that number as the port.
 */
export function takeWatchFlag(argv: readonly string[], command: string): { argv: string[]; port: number | null } {
  const rest: string[] = [];
  let port: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a !== '--watch' && !a.startsWith('--watch=')) {
      rest.push(a);
      continue;
    }
    let text: string | undefined = a.startsWith('--watch=') ? a.slice('--watch='.length) : undefined;
    if (text === undefined && /^\d+$/.test(argv[i + 1] ?? '')) text = argv[++i];
    if (text === undefined) {
      port = DEFAULT_WATCH_PORT;
      continue;
    }
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`--watch wants a port from 1 to 65535, got '${text}'`, command);
    port = n;
  }
  return { argv: rest, port };
}

/** A running watch server. */
export interface Watch {
  readonly port: number;
  readonly url: string;
  /** Wrap the stack's link so every TCP segment in or out is streamed, timed by the stack's clock (call before addInterface). */
  tap(link: Link, clock: Clock): Link;
  /** Stream the stack's own trace events (state changes, drops, timers, retransmissions). */
  attach(stack: Stack): void;
  /** Send one event to every watching page (and keep it for pages that connect later). */
  send(e: TraceEvent): void;
  close(): Promise<void>;
}

/** Events kept for a page that opens after they happened (a short capture's worth). */
const BACKLOG = 5000;

/** Start the watch server on 127.0.0.1:port (0: any free port). Rejects with a clear message if the port is taken. */
export async function startWatch(port: number, stackName: string): Promise<Watch> {
  const clients = new Set<ServerResponse>();
  const kept: string[] = [];
  // Times go out relative to the first event, as a capture's do.
  let t0: number | null = null;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`event: hello\ndata: ${JSON.stringify({ host: stackName, peer: WATCH_PEER })}\n\n`);
      for (const line of kept) res.write(line);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    serveLabFile(path ?? '/', res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: Error & { code?: string }) =>
      reject(new CommandError(e.code === 'EADDRINUSE' ? `--watch: port ${port} on 127.0.0.1 is in use` : `--watch: ${e.message}`)),
    );
    server.listen(port, '127.0.0.1', resolve);
  });
  server.unref();
  const bound = (server.address() as AddressInfo).port;
  const send = (e: TraceEvent): void => {
    t0 ??= e.t;
    const line = `data: ${JSON.stringify({ ...e, t: e.t - t0 })}\n\n`;
    kept.push(line);
    if (kept.length > BACKLOG) kept.shift();
    for (const c of clients) c.write(line);
  };
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/?watch`,
    tap: (link, clock) =>
      tapLink(link, (dir, data) => {
        const p = tcpOfPacket(data);
        if (p === null) return;
        const out = dir === 'out';
        const e = segmentEventOf(p, clock.now(), out ? stackName : WATCH_PEER, out ? WATCH_PEER : stackName, false);
        // Label the connection from the stack's side, as its own state events are.
        const label = connLabelOf(p);
        e.conn = out ? label : label.split('>').reverse().join('>');
        send(e);
      }),
    attach: (stack) => {
      stack.on('trace', (e) => {
        if (e.type !== 'segment') send(e);
      });
    },
    send,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Start --watch for a TUN command if asked: the server runs, `setup` taps the link, and the URL is
 * printed. Call attach(session.stack) once the session is open, and close() when the command ends.
 */
export async function watchSession(port: number | null, setup: TunSetup, io: CliIo): Promise<Watch | null> {
  if (port === null) return null;
  const w = await startWatch(port, 'synack');
  setup.wrapLink = (link, clock) => w.tap(link, clock);
  io.err(`synack: watch this stack at ${w.url}\n`);
  return w;
}

/**
 * Open a TUN command's session with its --watch server attached. When the device or the watch
 * server cannot be set up, prints `synack COMMAND: why` and returns the exit code instead.
 */
export async function openWatchedSession(
  command: string,
  port: number | null,
  setup: TunSetup,
  io: CliIo,
): Promise<{ session: TunSession; watch: Watch | null } | number> {
  let watch: Watch | null = null;
  try {
    watch = await watchSession(port, setup, io);
    const session = await openTunSession(setup, io);
    watch?.attach(session.stack);
    return { session, watch };
  } catch (e) {
    void watch?.close();
    if (e instanceof CommandError) {
      io.err(`synack ${command}: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
