// `synack get URL`: one HTTP GET made by Node's `http` client over a synack socket on a TUN device,
// the body written to stdout or a file; exit statuses as the other TUN commands (plus 1 for non-2xx).
import { request } from 'node:http';
import { createWriteStream } from 'node:fs';
import { isIP } from 'node:net';
import type { Writable } from 'node:stream';
import { parseArgs, formatFlags, flagBool, flagString, type FlagsSpec } from './args.js';
import { UsageError, type CliIo } from './io.js';
import { TUN_FLAGS, HIDDEN_TUN_FLAGS, TUN_HELP_FOOTER, EXIT, exitFor, CommandError, openTunSession, tunSetupFromArgs } from './tun-common.js';
import { createNet } from '../net/index.js';
import { takeWatchFlag, watchSession, WATCH_HELP, type Watch } from './watch.js';

const GET_FLAGS: FlagsSpec = {
  output: { type: 'string', short: 'o', value: 'FILE', help: 'write the body to FILE instead of stdout' },
  verbose: { type: 'boolean', short: 'v', help: 'print the status line, headers and transfer rate to stderr' },
  ...TUN_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const GET_USAGE = `Usage: synack get URL --tun NAME --addr CIDR [--peer IP] [-o FILE]

Fetches URL (http://, host given as an IP address) with Node's http client running over a synack
socket on the TUN device, and writes the body to stdout or FILE. For example, with nginx on the
kernel side at 198.18.0.1:

  synack get http://198.18.0.1/big -o big --tun syn0 --addr 198.18.0.2/24 --peer 198.18.0.1
  synack get http://[2001:db8::1]/big -o big --tun syn0 --addr 2001:db8::2/64 --peer 2001:db8::1

A status other than 2xx exits with 1 after writing the body.

Options:
${formatFlags(GET_FLAGS)}

${WATCH_HELP}

${TUN_HELP_FOOTER}
`;

export async function getCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const watchFlag = takeWatchFlag(argv, 'get');
  const args = parseArgs(watchFlag.argv, { ...GET_FLAGS, ...HIDDEN_TUN_FLAGS }, 'get');
  if (flagBool(args, 'help') === true) {
    io.out(GET_USAGE);
    return EXIT.ok;
  }
  if (args.positionals.length !== 1) throw new UsageError('get wants one URL', 'get');
  let url: URL;
  try {
    url = new URL(args.positionals[0] as string);
  } catch {
    throw new UsageError(`not a URL: '${args.positionals[0] ?? ''}'`, 'get');
  }
  if (url.protocol !== 'http:') throw new UsageError(`only http:// URLs are supported, got ${url.protocol}`, 'get');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 0) throw new UsageError(`the URL's host must be an IP address (synack does no DNS), got '${host}'`, 'get');
  const port = url.port === '' ? 80 : Number(url.port);
  const setup = tunSetupFromArgs(args, 'get');
  const output = flagString(args, 'output');
  const verbose = flagBool(args, 'verbose') === true;

  let session;
  let watch: Watch | null = null;
  try {
    watch = await watchSession(watchFlag.port, setup, io);
    session = await openTunSession(setup, io);
    watch?.attach(session.stack);
  } catch (e) {
    void watch?.close();
    if (e instanceof CommandError) {
      io.err(`synack get: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
  const net = createNet(session.stack);
  const sink: Writable = output !== undefined ? createWriteStream(output) : process.stdout;
  const started = performance.now();
  try {
    return await new Promise<number>((done) => {
      let finished = false;
      const finish = (code: number, message?: string): void => {
        if (finished) return;
        finished = true;
        process.removeListener('SIGINT', onInt);
        if (message !== undefined) io.err(`synack get: ${message}\n`);
        done(code);
      };
      const onInt = (): void => finish(EXIT.interrupted, 'interrupted');
      process.once('SIGINT', onInt);
      const sock = net.connect({ host, port });
      sock.on('error', (e: Error & { code?: string }) => finish(exitFor(e.code), e.message));
      const req = request(url, { agent: false, createConnection: () => sock as never, headers: { 'user-agent': 'synack-get' } }, (res) => {
        if (verbose) {
          io.err(`HTTP/${res.httpVersion} ${res.statusCode ?? 0} ${res.statusMessage ?? ''}\n`);
          for (let i = 0; i < res.rawHeaders.length; i += 2) io.err(`${res.rawHeaders[i] ?? ''}: ${res.rawHeaders[i + 1] ?? ''}\n`);
        }
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.once('error', (e: Error & { code?: string }) => finish(exitFor(e.code), `response: ${e.message}`));
        res.pipe(sink, { end: output !== undefined });
        const complete = (): void => {
          const status = res.statusCode ?? 0;
          const secs = (performance.now() - started) / 1000;
          if (verbose) io.err(`synack get: ${bytes} bytes in ${secs.toFixed(2)} s (${(bytes / secs / 1048576).toFixed(1)} MiB/s)\n`);
          // Close our side cleanly (FIN) and give the close a moment before the stack goes away.
          const afterClose = (): void => {
            if (!res.complete) finish(EXIT.reset, `connection closed after ${bytes} bytes, before the whole body`);
            else if (status < 200 || status > 299) finish(EXIT.failure, `HTTP ${status} ${res.statusMessage ?? ''}`);
            else finish(EXIT.ok);
          };
          if (sock.closed) return afterClose();
          const t = setTimeout(afterClose, 2000);
          sock.once('close', () => {
            clearTimeout(t);
            afterClose();
          });
          sock.end();
          sock.resume(); // http stopped reading: consume the EOF so the socket can close
        };
        res.once('end', () => {
          if (output !== undefined) sink.once('finish', complete);
          else complete();
        });
      });
      req.once('error', (e: Error & { code?: string }) => finish(exitFor(e.code), e.message));
      req.end();
    });
  } finally {
    session.close();
    await watch?.close();
  }
}
