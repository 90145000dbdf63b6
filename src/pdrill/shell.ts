// The shell commands packetdrill scripts run between backquotes, interpreted rather than executed:
// `sysctl -q name=value`, `sysctl -w`, the set_sysctls.py helper, shell scripts such as
// ../common/defaults.sh (read and interpreted line by line), and host set-up commands that have no
// counterpart in a virtual stack (flushing TCP metrics, a pfifo qdisc). Anything else makes the
// script unsupported: synack cannot tell what it would have changed.

import type { LinuxSysctls } from './sysctl.js';

export interface ShellContext {
  sysctls: LinuxSysctls;
  /** Read a file named by the script (relative to the script's directory); null when unreadable. */
  readFile?: ((path: string) => string | null) | undefined;
  /** A harmless, unmodelled setting or command (reported once per run). */
  note(text: string): void;
}

/** What running a backquoted command did: nothing wrong, or why the script is unsupported. */
export type ShellResult = { ok: true } | { ok: false; reason: string };

const MAX_INCLUDE_DEPTH = 4;

/** Interpret one backquoted command (possibly several lines). */
export function runShell(text: string, ctx: ShellContext, depth = 0): ShellResult {
  for (const cmd of splitCommands(text)) {
    const r = runCommand(cmd, ctx, depth);
    if (!r.ok) return r;
  }
  return { ok: true };
}

/** Lines joined at backslash-newline, comments dropped, split at `;`, `&&` and newlines. */
export function splitCommands(text: string): string[][] {
  const out: string[][] = [];
  const joined = text.replace(/\\\r?\n/g, ' ');
  for (const line of joined.split(/\r?\n/)) {
    let words: string[] = [];
    let cur = '';
    let has = false;
    let quote: string | null = null;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (ch === '$' && quote !== "'" && line.startsWith('$((', i)) {
        const end = line.indexOf('))', i);
        if (end > 0) {
          const v = arithmetic(line.slice(i + 3, end));
          cur += v === null ? line.slice(i, end + 2) : String(v);
          has = true;
          i = end + 1;
          continue;
        }
      }
      if (quote !== null) {
        if (ch === quote) quote = null;
        else cur += ch;
        continue;
      }
      if (ch === '"' || ch === "'") {
        quote = ch;
        has = true;
        continue;
      }
      if (ch === '#' && !has && cur === '') break; // a comment
      const sep = ch === ';' || (ch === '&' && line[i + 1] === '&') || (ch === '|' && line[i + 1] === '|');
      if (sep || ch === ' ' || ch === '\t') {
        if (has) words.push(cur);
        cur = '';
        has = false;
        if (sep) {
          if (ch !== ';') i++;
          if (words.length > 0) out.push(words);
          words = [];
        }
        continue;
      }
      cur += ch;
      has = true;
    }
    if (has) words.push(cur);
    if (words.length > 0) out.push(words);
  }
  return out.map(stripRedirections).filter((w) => w.length > 0);
}

/** `> /dev/null`, `2>&1`, `2>/dev/null`: output redirections change nothing here. */
function stripRedirections(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (/^\d?>>?&\d$/.test(w)) continue;
    if (/^\d?>>?$/.test(w)) {
      i++;
      continue;
    }
    if (/^\d?>>?\S/.test(w)) continue;
    out.push(w);
  }
  return out;
}

/** Integer arithmetic of `$((...))`: numbers, + - * / % and parentheses; null for anything else. */
export function arithmetic(expr: string): number | null {
  if (!/^[\d\s+\-*/%()]+$/.test(expr)) return null;
  const toks = expr.match(/\d+|[+\-*/%()]/g) ?? [];
  let i = 0;
  const primary = (): number | null => {
    const t = toks[i++];
    if (t === '(') {
      const v = sum();
      return toks[i++] === ')' ? v : null;
    }
    if (t === '-') {
      const v = primary();
      return v === null ? null : -v;
    }
    return t !== undefined && /^\d+$/.test(t) ? Number(t) : null;
  };
  const product = (): number | null => {
    let v = primary();
    while (v !== null && (toks[i] === '*' || toks[i] === '/' || toks[i] === '%')) {
      const op = toks[i++];
      const r = primary();
      if (r === null || (op !== '*' && r === 0)) return null;
      v = op === '*' ? v * r : op === '/' ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number | null => {
    let v = product();
    while (v !== null && (toks[i] === '+' || toks[i] === '-')) {
      const op = toks[i++];
      const r = product();
      if (r === null) return null;
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  return v !== null && i === toks.length && Number.isSafeInteger(v) ? v : null;
}

function setting(ctx: ShellContext, name: string, value: string): ShellResult {
  const o = ctx.sysctls.set(name, value);
  if (o.kind === 'unsupported') return { ok: false, reason: `${name}=${value}: ${o.reason}` };
  if (o.kind === 'ignored') ctx.note(`${name.replace(/\//g, '.')}=${value}: not modelled (${o.note})`);
  return { ok: true };
}

function runCommand(words: string[], ctx: ShellContext, depth: number): ShellResult {
  const [cmd, ...args] = words as [string, ...string[]];
  const base = cmd.slice(cmd.lastIndexOf('/') + 1);
  if (base === 'sysctl') {
    const assigns = args.filter((a) => !a.startsWith('-'));
    if (assigns.length === 0 || assigns.some((a) => !a.includes('='))) return { ok: false, reason: `\`${words.join(' ')}\` reads sysctls; only assignments are interpreted` };
    for (const a of assigns) {
      const eq = a.indexOf('=');
      const r = setting(ctx, a.slice(0, eq), a.slice(eq + 1));
      if (!r.ok) return r;
    }
    return { ok: true };
  }
  if (base === 'set_sysctls.py') {
    for (const a of args) {
      const m = /^\/proc\/sys\/(.+?)=(.*)$/.exec(a);
      if (m === null) return { ok: false, reason: `set_sysctls.py argument ${a} is not /proc/sys/NAME=VALUE` };
      const r = setting(ctx, m[1]!, m[2]!);
      if (!r.ok) return r;
    }
    return { ok: true };
  }
  if (/^sysctl_restore_.*\.sh$/.test(base)) return { ok: true }; // restores what set_sysctls.py set; the stack ends with the script
  if (base.endsWith('.sh') && args.length === 0) {
    if (depth >= MAX_INCLUDE_DEPTH) return { ok: false, reason: `${cmd}: shell scripts nested too deep` };
    const text = ctx.readFile?.(cmd) ?? null;
    if (text === null) return { ok: false, reason: `${cmd}: cannot read the shell script` };
    return runShell(text, ctx, depth + 1);
  }
  if (base === 'ip' && args[0] === 'tcp_metrics' && args[1] === 'flush') {
    ctx.note('ip tcp_metrics flush: synack keeps no per-destination metrics');
    return { ok: true };
  }
  if (base === 'tc' && args[0] === 'qdisc' && !args.includes('limit') && (args.includes('pfifo') || args[1] === 'del' || args[1] === 'delete')) {
    ctx.note('tc qdisc pfifo: synack has no queueing discipline (and does not pace)');
    return { ok: true };
  }
  if (base === 'ethtool' && args[0] === '-K' && args.slice(2).every((a) => /^(tso|gso|gro|on|off)$/.test(a))) {
    ctx.note('ethtool -K tso/gso: synack sends MSS-sized segments; the runner merges them as TSO would');
    return { ok: true };
  }
  if (base === 'true' || base === ':' || base === 'echo') return { ok: true };
  return { ok: false, reason: `shell command \`${words.join(' ')}\` is not interpreted` };
}
