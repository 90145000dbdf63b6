// `synack get URL`: HTTP GETs made by Node's `http` client over synack sockets on a TUN device (never
// a kernel socket), the body written to stdout or a file; connect and total timeouts, resume with
// Range (RFC 9110 14.2), same-host redirects, a progress meter on a terminal; exit statuses as the
// other TUN commands (plus 1 for a non-2xx answer).
import { request, type IncomingMessage } from 'node:http';
import { createWriteStream, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Transform, Writable } from 'node:stream';
import { parseArgs, formatFlags, flagBool, flagNumber, flagString, type FlagsSpec } from './args.js';
import { UsageError, type CliIo } from './io.js';
import {
  TUN_FLAGS, HIDDEN_TUN_FLAGS, TUN_HELP_FOOTER, EXIT, exitFor, tunSetupFromArgs, type TunSession,
} from './tun-common.js';
import { ProgressMeter, formatBytes, formatRate } from './progress.js';
import { createNet, type Socket } from '../net/index.js';
import { takeWatchFlag, openWatchedSession, WATCH_HELP } from './watch.js';

const GET_FLAGS: FlagsSpec = {
  output: { type: 'string', short: 'o', value: 'FILE', help: 'write the body to FILE instead of stdout' },
  continue: { type: 'boolean', short: 'C', help: 'resume: ask for the rest of FILE (-o) with a Range request and append it' },
  location: { type: 'boolean', short: 'L', help: 'follow redirects (3xx with Location) to the same host and port, at most 5' },
  'connect-timeout': { type: 'number', value: 'SECS', min: 0.001, max: 86_400, help: 'give up if the connection is not open within SECS' },
  'max-time': { type: 'number', value: 'SECS', min: 0.001, max: 1e7, help: 'give up if the whole transfer takes longer than SECS' },
  verbose: { type: 'boolean', short: 'v', help: 'print the status line, headers, transfer rate and link counters to stderr' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress meter (it is shown only when stderr is a terminal anyway)' },
  ...TUN_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const GET_USAGE = `Usage: synack get URL --tun NAME --addr CIDR [--peer IP] [-o FILE] [-C] [-L]

Fetches URL (http://, host given as an IP address) with Node's http client running over a synack
socket on the TUN device, and writes the body to stdout or FILE. For example, with nginx on the
kernel side at 198.18.0.1:

  synack get http://198.18.0.1/big -o big --tun syn0 --addr 198.18.0.2/24 --peer 198.18.0.1
  synack get http://[2001:db8::1]/big -o big --tun syn0 --addr 2001:db8::2/64 --peer 2001:db8::1
  synack get http://198.18.0.1/big -o big -C --max-time 60 --tun syn0 --addr 198.18.0.2/24

-C resumes a partial FILE (Range: bytes=SIZE-): a 206 answer is appended, a 200 replaces the file, a
416 for a file that is already whole is success. A status other than 2xx exits with 1 after writing
the body; --connect-timeout and --max-time exit with 5, like every other timeout. On a terminal a
progress line shows bytes, percent, rate and ETA.

Options:
${formatFlags(GET_FLAGS)}

${WATCH_HELP}

${TUN_HELP_FOOTER}
`;

const MAX_REDIRECTS = 5;

interface GetOptions {
  output: string | undefined;
  resume: boolean;
  follow: boolean;
  connectTimeoutMs: number | undefined;
  maxTimeMs: number | undefined;
  verbose: boolean;
  progress: boolean;
}

/** Ends the command: the exit status and what to say on stderr. */
class Stop extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const watchFlag = takeWatchFlag(argv, 'get');
  const args = parseArgs(watchFlag.argv, { ...GET_FLAGS, ...HIDDEN_TUN_FLAGS }, 'get');
  if (flagBool(args, 'help') === true) {
    io.out(GET_USAGE);
    return EXIT.ok;
  }
  if (args.positionals.length !== 1) throw new UsageError('get wants one URL', 'get');
  const url = parseUrl(args.positionals[0] as string);
  const setup = tunSetupFromArgs(args, 'get');
  const connectTimeout = flagNumber(args, 'connect-timeout');
  const maxTime = flagNumber(args, 'max-time');
  const o: GetOptions = {
    output: flagString(args, 'output'),
    resume: flagBool(args, 'continue') === true,
    follow: flagBool(args, 'location') === true,
    connectTimeoutMs: connectTimeout === undefined ? undefined : connectTimeout * 1000,
    maxTimeMs: maxTime === undefined ? undefined : maxTime * 1000,
    verbose: flagBool(args, 'verbose') === true,
    progress: flagBool(args, 'quiet') !== true && process.stderr.isTTY === true,
  };
  if (o.resume && o.output === undefined) throw new UsageError('-C (resume) needs -o FILE', 'get');
  // Say so before touching the network: a download into a directory that is not there cannot succeed.
  if (o.output !== undefined) {
    const why = unwritable(o.output);
    if (why !== null) {
      io.err(`synack: cannot write ${o.output}: ${why}\n`);
      return EXIT.failure;
    }
  }

  const opened = await openWatchedSession('get', watchFlag.port, setup, io);
  if (typeof opened === 'number') return opened;
  const { session, watch } = opened;
  const abort = new AbortController();
  const fail = (code: number, message: string): void => abort.abort(new Stop(code, message));
  const onInt = (): void => fail(EXIT.interrupted, 'interrupted');
  process.once('SIGINT', onInt);
  session.onLinkLost((err) => fail(EXIT.failure, `the link went away: ${err.message}`));
  const maxTimer = o.maxTimeMs === undefined ? null : setTimeout(() => fail(EXIT.timeout, `no complete answer within --max-time ${o.maxTimeMs! / 1000} s`), o.maxTimeMs);
  try {
    let current = url;
    for (let hop = 0; ; hop++) {
      const next = await fetchOnce(session, current, o, io, abort.signal);
      if (next === null) return EXIT.ok;
      if (hop >= MAX_REDIRECTS) throw new Stop(EXIT.failure, `more than ${MAX_REDIRECTS} redirects`);
      current = next;
    }
  } catch (e) {
    const stop = e instanceof Stop ? e : abort.signal.reason instanceof Stop ? abort.signal.reason : null;
    if (stop === null) throw e;
    if (stop.message !== '') io.err(`synack get: ${stop.message}\n`);
    return stop.exitCode;
  } finally {
    if (maxTimer !== null) clearTimeout(maxTimer);
    process.removeListener('SIGINT', onInt);
    if (o.verbose) {
      const t = session.tun.stats();
      io.err(`synack get: link ${session.tun.name}: in ${t.rxPackets} packets ${t.rxBytes} bytes, out ${t.txPackets} packets ${t.txBytes} bytes\n`);
    }
    session.close();
    await watch?.close();
  }
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`not a URL: '${text}'`, 'get');
  }
  if (url.protocol !== 'http:') throw new UsageError(`only http:// URLs are supported, got ${url.protocol}`, 'get');
  const host = hostOf(url);
  if (isIP(host) === 0) throw new UsageError(`the URL's host must be an IP address (synack does no DNS), got '${host}'`, 'get');
  return url;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function portOf(url: URL): number {
  return url.port === '' ? 80 : Number(url.port);
}

/** Why `path` cannot be created for writing (its directory is missing or not one), or null. */
function unwritable(path: string): string | null {
  try {
    if (!statSync(dirname(path)).isDirectory()) return 'not a directory';
  } catch {
    return 'no such directory';
  }
  try {
    if (statSync(path).isDirectory()) return 'is a directory';
  } catch {
    // does not exist yet: fine
  }
  return null;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * One request on one new synack connection. Resolves null when the body is written, or with the URL
 * to go to next (a followed redirect); rejects with Stop for everything that ends the command.
 */
async function fetchOnce(session: TunSession, url: URL, o: GetOptions, io: CliIo, signal: AbortSignal): Promise<URL | null> {
  const net = createNet(session.stack);
  const host = hostOf(url);
  const port = portOf(url);
  const offset = o.resume && o.output !== undefined ? fileSize(o.output) : 0;
  const headers: Record<string, string> = { 'user-agent': 'synack-get' };
  if (offset > 0) headers['range'] = `bytes=${offset}-`;
  const started = performance.now();
  const sock = net.connect({ host, port });
  let connectTimer: NodeJS.Timeout | null = null;
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      if (o.connectTimeoutMs !== undefined) {
        connectTimer = setTimeout(
          () => reject(new Stop(EXIT.timeout, `no connection to ${host} port ${port} within --connect-timeout ${o.connectTimeoutMs! / 1000} s`)),
          o.connectTimeoutMs,
        );
        sock.once('connect', () => clearTimeout(connectTimer!));
      }
      sock.once('error', (e: Error & { code?: string }) => reject(new Stop(exitFor(e.code), e.message)));
      // No `agent`: with createConnection and no agent Node's client uses this socket. (`agent: false`
      // would make a fresh http.Agent, which ignores createConnection and opens a kernel socket.)
      const req = request(url, { createConnection: () => sock as never, headers }, resolve);
      req.once('error', (e: Error & { code?: string }) => reject(new Stop(exitFor(e.code), e.message)));
      req.end();
    });
    if (o.verbose) {
      io.err(`HTTP/${res.httpVersion} ${res.statusCode ?? 0} ${res.statusMessage ?? ''}\n`);
      for (let i = 0; i < res.rawHeaders.length; i += 2) io.err(`${res.rawHeaders[i] ?? ''}: ${res.rawHeaders[i + 1] ?? ''}\n`);
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (o.follow && [301, 302, 303, 307, 308].includes(status) && location !== undefined) {
      res.resume();
      const next = new URL(location, url);
      if (next.protocol !== 'http:' || hostOf(next) !== host || portOf(next) !== port) {
        throw new Stop(EXIT.failure, `not following a redirect to another host or port: ${next.href}`);
      }
      if (o.verbose) io.err(`synack get: following ${status} to ${next.href}\n`);
      await closeGently(sock);
      return next;
    }
    if (status === 416 && offset > 0 && res.headers['content-range'] === `bytes */${offset}`) {
      // RFC 9110 15.5.17: nothing left from `offset` on, and the resource is exactly that long.
      res.resume();
      if (o.verbose) io.err(`synack get: ${o.output ?? ''} is already complete (${offset} bytes)\n`);
      await closeGently(sock);
      return null;
    }
    const append = status === 206 && offset > 0;
    if (status === 206 && !append) throw new Stop(EXIT.failure, 'the server sent a partial answer (206) that was not asked for');
    const length = Number(res.headers['content-length']);
    const total = Number.isFinite(length) ? length + (append ? offset : 0) : null;
    const meter = o.progress ? new ProgressMeter(io.err, total, append ? offset : 0) : null;
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        meter?.update(bytes);
        cb(null, chunk);
      },
    });
    const sink: Writable =
      o.output !== undefined ? createWriteStream(o.output, { flags: append ? 'a' : 'w' }) : stdoutSink();
    try {
      await pipeline(res, count, sink, { signal });
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      const err = e as Error & { code?: string; path?: string };
      if (err.path !== undefined || err.code === 'ENOSPC' || err.code === 'EACCES') throw new Stop(EXIT.failure, `cannot write ${o.output ?? 'stdout'}: ${err.message}`);
      throw new Stop(EXIT.reset, `connection closed after ${bytes} bytes, before the whole body (${err.message})`);
    }
    meter?.done(bytes);
    const secs = (performance.now() - started) / 1000;
    if (o.verbose) io.err(`synack get: ${bytes} bytes in ${secs.toFixed(2)} s (${formatRate(bytes / secs)}), ${formatBytes(bytes)}\n`);
    if (!res.complete) throw new Stop(EXIT.reset, `connection closed after ${bytes} bytes, before the whole body`);
    await closeGently(sock);
    if (status < 200 || status > 299) throw new Stop(EXIT.failure, `HTTP ${status} ${res.statusMessage ?? ''}`);
    return null;
  } finally {
    if (connectTimer !== null) clearTimeout(connectTimer);
    if (!sock.destroyed && signal.aborted) sock.destroy();
  }
}

/** stdout as a pipeline destination that the pipeline must not end (other output may follow). */
function stdoutSink(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (process.stdout.write(chunk)) cb();
      else process.stdout.once('drain', () => cb());
    },
  });
}

/** Closes our side with a FIN and gives the close up to 2 s, so the server sees a clean end. */
function closeGently(sock: Socket): Promise<void> {
  if (sock.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      sock.destroy();
      resolve();
    }, 2000);
    sock.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    sock.end();
    sock.resume(); // http stopped reading: consume the EOF so the socket can close
  });
}
