// A small argv parser for the synack commands: long flags (--name, --name=value, --name value,
// --no-name), single-letter aliases, "--" to end options; every mistake is a UsageError, never a throw past main.
import { UsageError } from './io.js';

export interface FlagSpec {
  type: 'boolean' | 'string' | 'number';
  /** One-letter alias, used as -x. */
  short?: string;
  /** Placeholder shown in usage for a value, e.g. "FILE". */
  value?: string;
  help: string;
  /** For numbers: the smallest and largest accepted, and whether only integers are. */
  min?: number;
  max?: number;
  integer?: boolean;
}

export type FlagsSpec = Readonly<Record<string, FlagSpec>>;

export interface ParsedArgs {
  flags: Record<string, string | number | boolean>;
  positionals: string[];
}

/** Parses argv against `spec`; throws UsageError (caught by main, exit 2) for anything not in it. */
export function parseArgs(argv: readonly string[], spec: FlagsSpec, command: string): ParsedArgs {
  const flags: Record<string, string | number | boolean> = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) if (s.short !== undefined) byShort.set(s.short, name);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) {
      const long = byShort.get(arg.slice(1));
      if (long === undefined) throw new UsageError(`unknown option ${arg}${didYouMean(arg.slice(1), optionNames(spec), '--')}`, command);
      name = long;
    } else {
      positionals.push(arg);
      continue;
    }
    const s = spec[name];
    if (s === undefined && name.startsWith('no-') && spec[name.slice(3)]?.type === 'boolean' && inline === undefined) {
      flags[name.slice(3)] = false;
      continue;
    }
    if (s === undefined) throw new UsageError(`unknown option --${name}${didYouMean(name, optionNames(spec), '--')}`, command);
    if (s.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`, command);
      flags[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`option --${name} needs a value (${s.value ?? s.type})`, command);
      }
      value = next;
      i++;
    }
    if (s.type === 'string') {
      if (value === '') throw new UsageError(`option --${name} needs a non-empty value`, command);
      flags[name] = value;
      continue;
    }
    const num = value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(num)) throw new UsageError(`option --${name} expects a number, got '${value}'`, command);
    if (s.integer === true && !Number.isInteger(num)) throw new UsageError(`option --${name} expects an integer, got '${value}'`, command);
    if (s.min !== undefined && num < s.min) throw new UsageError(`option --${name} must be at least ${s.min}, got ${value}`, command);
    if (s.max !== undefined && num > s.max) throw new UsageError(`option --${name} must be at most ${s.max}, got ${value}`, command);
    flags[name] = num;
  }
  return { flags, positionals };
}

/** Every spelling of every option in `spec` (including --no-NAME for booleans), for suggestions. */
function optionNames(spec: FlagsSpec): string[] {
  return Object.entries(spec).flatMap(([name, s]) => (s.type === 'boolean' ? [name, `no-${name}`] : [name]));
}

/** Edit distance (insert, delete, substitute, swap two neighbours), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The valid name closest to a mistyped one, or undefined when none is close: within a third of the
 * length in edits (at least 1, at most 3), or the only name it is a prefix of.
 */
export function closest(word: string, names: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const dist = editDistance(w, n.toLowerCase());
    if (dist < bestD) [best, bestD] = [n, dist];
  }
  if (best !== undefined && bestD <= Math.min(3, Math.max(1, Math.floor(w.length / 3)))) return best;
  const prefixed = w.length >= 2 ? names.filter((n) => n.toLowerCase().startsWith(w)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** " (did you mean PREFIXname?)" for the closest name, or "" when nothing is close. */
export function didYouMean(word: string, names: readonly string[], prefix = ''): string {
  const c = closest(word, names);
  return c === undefined ? '' : ` (did you mean ${prefix}${c}?)`;
}

/**
 * Checks the number of positionals: `names` are the expected ones (shown in the message), of which
 * the first `min` are required. Anything beyond is an error rather than silently ignored.
 */
export function expectPositionals(args: ParsedArgs, command: string, names: readonly string[], min = names.length): string[] {
  const got = args.positionals;
  if (got.length < min) throw new UsageError(`${command} needs ${names.slice(got.length, min).join(' ')}`, command);
  if (got.length > names.length) {
    const extra = got.slice(names.length).map((p) => `'${p}'`).join(' ');
    throw new UsageError(
      names.length === 0 ? `${command} takes no arguments, got ${extra}` : `unexpected argument${got.length - names.length > 1 ? 's' : ''} ${extra} (${command} takes ${names.join(' ')})`,
      command,
    );
  }
  return got;
}

/** The options block of a command's usage text, one flag per line. */
export function formatFlags(spec: FlagsSpec): string {
  const rows = Object.entries(spec).map(([name, s]) => {
    const left = `${s.short !== undefined ? `-${s.short}, ` : '    '}--${name}${s.type === 'boolean' ? '' : ` ${s.value ?? s.type.toUpperCase()}`}`;
    return [left, s.help] as const;
  });
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(w)}  ${h}`).join('\n');
}

export const flagBool = (a: ParsedArgs, name: string): boolean | undefined => {
  const v = a.flags[name];
  return typeof v === 'boolean' ? v : undefined;
};
export const flagString = (a: ParsedArgs, name: string): string | undefined => {
  const v = a.flags[name];
  return typeof v === 'string' ? v : undefined;
};
export const flagNumber = (a: ParsedArgs, name: string): number | undefined => {
  const v = a.flags[name];
  return typeof v === 'number' ? v : undefined;
};
