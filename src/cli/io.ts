// The CLI's window on the outside world (output streams, terminal, environment, files), passed in so
// tests can run any command in-process and capture what it prints; and the CLI's one error model:
// the exit status table (docs/cli.md) and the errors that carry a status to main().
import { readFileSync, writeFileSync } from 'node:fs';

export interface CliIo {
  /** Write to standard output. */
  out(text: string): void;
  /** Write to standard error. */
  err(text: string): void;
  /** True when standard output is a terminal (colour is then on unless NO_COLOR is set). */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): Uint8Array;
  writeFile(path: string, data: string | Uint8Array): void;
}

/** The real process: stdout, stderr, process.env and the file system. */
export function nodeIo(): CliIo {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    isTTY: process.stdout.isTTY === true,
    env: process.env,
    readFile: (p) => readFileSync(p),
    writeFile: (p, d) => writeFileSync(p, d),
  };
}

/** Colour policy: --color / --no-color win; otherwise on for a terminal unless NO_COLOR is set (no-color.org). */
export function wantColor(io: CliIo, flag: boolean | undefined): boolean {
  if (flag !== undefined) return flag;
  const noColor = io.env['NO_COLOR'];
  return io.isTTY && (noColor === undefined || noColor === '');
}

/**
 * Every exit status of every command (docs/cli.md has the table; keep the two the same).
 * 3-5 tell network outcomes apart for the TUN commands, like curl's and nc's codes do.
 */
export const EXIT = {
  ok: 0,
  /** The work failed: a file cannot be read or written, TUN is unavailable, a non-2xx, a failing script. */
  failure: 1,
  /** The command line is wrong: unknown command or option, bad value, missing or extra argument. */
  usage: 2,
  /** The peer answered the SYN with RST (ECONNREFUSED). */
  refused: 3,
  /** The connection was reset after it was established (ECONNRESET). */
  reset: 4,
  /** No answer in time, or no route (ETIMEDOUT, EHOSTUNREACH, ENETUNREACH). */
  timeout: 5,
  /** A bug in synack (SYNACK_DEBUG=1 prints the stack). Like sysexits' EX_SOFTWARE. */
  internal: 70,
  /** Interrupted by SIGINT. */
  interrupted: 130,
} as const;

/** An error that ends the command with `synack: MESSAGE` on one line and `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error: main prints it with a pointer to the command's help and exits with status 2. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

const CAUSES: Readonly<Record<string, string>> = {
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'already exists',
  EBUSY: 'busy',
  EFBIG: 'file too large',
};

/**
 * `cannot read FILE: CAUSE` / `cannot write FILE: CAUSE` from a Node file-system error: the cause in
 * words without errno noise. ENOENT means the file itself when reading, its directory when writing.
 */
export function fileErrorMessage(op: 'read' | 'write' | 'open', path: string, e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  let cause: string;
  if (code === 'ENOENT') cause = op === 'read' ? 'no such file' : op === 'write' ? 'no such directory' : 'no such file or directory';
  else if (typeof code === 'string' && CAUSES[code] !== undefined) cause = CAUSES[code];
  else {
    // Node's messages read "EXXX: text, open 'path'"; keep the text only.
    const msg = e instanceof Error ? e.message : String(e);
    cause = msg.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  }
  return `cannot ${op} ${path}: ${cause}`;
}

/** io.readFile, failing with a CliError that names the file and the cause. */
export function readInput(io: CliIo, path: string): Uint8Array {
  try {
    return io.readFile(path);
  } catch (e) {
    throw new CliError(fileErrorMessage('read', path, e));
  }
}

/** io.writeFile, failing with a CliError that names the file and the cause. */
export function writeOutput(io: CliIo, path: string, data: string | Uint8Array): void {
  try {
    io.writeFile(path, data);
  } catch (e) {
    throw new CliError(fileErrorMessage('write', path, e));
  }
}
