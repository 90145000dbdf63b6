// The CLI's window on the outside world (output streams, terminal, environment, files), passed in so
// tests can run any command in-process and capture what it prints.
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

/** A usage error: the command prints it with a hint and exits with status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
