// `synack pdrill [options] FILE.pkt... | -r DIR`: run packetdrill scripts against fresh synack stacks
// on a virtual clock and report each the way packetdrill (and its run_all.py) does.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runScript, formatFailure, type RunScriptResult } from '../pdrill/runner.js';
import { parseOptionArgs, resolveConfig, type IpVersion } from '../pdrill/config.js';
import type { ScriptOption } from '../pdrill/ast.js';
import { UsageError, type CliIo } from './io.js';

export const PDRILL_USAGE = `Usage: synack pdrill [options] FILE.pkt...
       synack pdrill [options] -r DIR

Runs packetdrill scripts against synack: each script gets a fresh stack on a virtual clock; '<'
packets are injected from the script's peer, '>' packets must be what synack sends (within the
timing tolerance), and system calls run on synack's sockets. Shell lines that set sysctls
(defaults.sh, sysctl -q, set_sysctls.py) are interpreted as Linux would apply them. Stops each
script at its first failure and prints path:line, the script line and what actually happened.
A script that needs something synack does not model (a sysctl, system call or socket option)
is reported as unsupported, not failed.

Options:
  --linux            use Linux's defaults (wscale 7, RTO 1 s / min 200 ms, IW10, immediate ACKs)
  --default          use synack's own defaults
                     (without either, each script's '// profile: linux|default' line decides;
                     scripts without one run on synack's defaults)
  -r, --recursive DIR  run every *.pkt under DIR, as packetdrill's run_all.py does: IPv4 and
                     IPv6 variants of scripts whose names do not end in v4.pkt / v6.pkt
  --strict           also fail on an outbound packet no '>' line asked for (at the next event,
                     and at the end); packetdrill only compares outbound packets at '>' lines
  --json             print a JSON report instead of text
  -v, --verbose      print every packet and system call
  --seed N           seed for the stack's ISNs and ports (default 1)
  -D NAME=VALUE      define a script variable (as packetdrill's -D)
  --NAME=VALUE       a packetdrill option (--tolerance_usecs, --tolerance_percent, --ip_version,
                     --local_ip, --remote_ip, --mtu, ...); overrides the script's header
  -h, --help         show this help

Prints 'N passed, M failed, K unsupported' at the end. Exit status: 0 when no script failed,
1 when any failed, 2 for usage errors.
`;

interface Job {
  path: string;
  /** The IP version a -r run forces for this variant, or null. */
  variant: IpVersion | null;
}

/** Every *.pkt under `dir`, sorted, as run_all.py's FindTests. */
function findScripts(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.pkt')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The profile a script's `// profile:` header asks for: linux, or synack's defaults. */
function headerProfile(text: string): boolean {
  const m = /^\/\/ profile: (neutral|default|linux)\b/m.exec(text);
  return m?.[1] === 'linux';
}

export async function pdrillCommand(argv: string[], io: CliIo): Promise<number> {
  let profile: 'linux' | 'default' | null = null;
  let json = false;
  let verbose = false;
  let strict = false;
  let seed = 1;
  const passthrough: string[] = [];
  const files: string[] = [];
  const dirs: string[] = [];
  const needValue = (i: number, a: string): string => {
    const v = argv[i];
    if (v === undefined) throw new UsageError(`${a} needs a value`, 'pdrill');
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--linux' || a === '--default') {
      const p = a === '--linux' ? 'linux' : 'default';
      if (profile !== null && profile !== p) throw new UsageError('--linux and --default exclude each other', 'pdrill');
      profile = p;
    } else if (a === '--json') json = true;
    else if (a === '--verbose' || a === '-v') verbose = true;
    else if (a === '--strict') strict = true;
    else if (a === '--help' || a === '-h') {
      io.out(PDRILL_USAGE);
      return 0;
    } else if (a === '-r' || a === '--recursive') dirs.push(needValue(++i, a));
    else if (a.startsWith('--recursive=')) dirs.push(a.slice(12));
    else if (a === '-D') passthrough.push(`--define=${needValue(++i, a)}`);
    else if (a.startsWith('-D') && a.length > 2) passthrough.push(`--define=${a.slice(2)}`);
    else if (a === '--seed' || a.startsWith('--seed=')) {
      const v = a === '--seed' ? argv[++i] : a.slice(7);
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < 0) throw new UsageError(`--seed needs a non-negative integer, got ${JSON.stringify(v ?? '')}`, 'pdrill');
      seed = n;
    } else if (a === '--') {
      files.push(...argv.slice(i + 1));
      break;
    } else if (a.startsWith('--') && a.length > 2) passthrough.push(a);
    else if (a.startsWith('-') && a.length > 1) throw new UsageError(`unknown option ${a}`, 'pdrill');
    else files.push(a);
  }
  if (files.length === 0 && dirs.length === 0) throw new UsageError('pdrill needs at least one script file or -r DIR', 'pdrill');
  const cliOptions: ScriptOption[] = parseOptionArgs(passthrough).options;
  // Unknown or malformed packetdrill options are usage errors, found before any script runs.
  const check = resolveConfig([], cliOptions);
  if (check.errors.length > 0) throw new UsageError(check.errors[0]!.message, 'pdrill');
  const forcedIp = cliOptions.some((o) => o.name === 'ip_version');

  const jobs: Job[] = files.map((path) => ({ path, variant: null }));
  for (const d of dirs) {
    let found: string[];
    try {
      found = findScripts(d);
    } catch (e) {
      throw new UsageError(`cannot read directory ${d}: ${(e as Error).message}`, 'pdrill');
    }
    for (const path of found) {
      if (forcedIp) jobs.push({ path, variant: null });
      else {
        if (!path.endsWith('v6.pkt')) jobs.push({ path, variant: 'ipv4' });
        if (!path.endsWith('v4.pkt')) jobs.push({ path, variant: 'ipv6' });
      }
    }
  }

  const decoder = new TextDecoder();
  const results: (RunScriptResult & { variant: IpVersion | null; linux: boolean })[] = [];
  const notes = new Set<string>();
  for (const job of jobs) {
    const f = job.path;
    const name = job.variant === null ? f : `${f} (${job.variant})`;
    let text: string;
    try {
      text = decoder.decode(io.readFile(f));
    } catch (e) {
      results.push({
        path: f, variant: job.variant, linux: profile === 'linux', ok: false, unsupported: null, notes: [],
        failure: { line: 0, message: `cannot read script: ${(e as Error).message}` },
        skipped: [], events: 0, packetsIn: 0, packetsOut: 0, endUsecs: 0, ignoredOptions: [],
      });
      if (!json) io.err(`${f}: cannot read script: ${(e as Error).message}\n`);
      continue;
    }
    const linux = profile === null ? headerProfile(text) : profile === 'linux';
    // run_all.py's variants: IPv6 runs with --mtu=1520, so the MSS stays 1460 as over IPv4.
    const variantOpts: ScriptOption[] = job.variant === null ? [] : [{ name: 'ip_version', value: job.variant, line: 0, col: 0 }];
    if (job.variant === 'ipv6') variantOpts.push({ name: 'mtu', value: '1520', line: 0, col: 0 });
    const scriptDir = dirname(resolve(f));
    const r = runScript(text, {
      path: f,
      linux,
      cliOptions: [...variantOpts, ...cliOptions],
      seed,
      strict,
      verbose: verbose && !json,
      log: (line) => io.out(`  ${line}\n`),
      readFile: (p) => {
        try {
          return decoder.decode(io.readFile(resolve(scriptDir, p)));
        } catch {
          return null;
        }
      },
    });
    results.push({ ...r, variant: job.variant, linux });
    for (const n of r.notes) {
      if (notes.has(n)) continue;
      notes.add(n);
      if (!json) io.err(`note: ${n}\n`);
    }
    if (json) continue;
    if (r.ok) io.out(`ok   ${name} (${r.events} events, ${r.packetsIn} in / ${r.packetsOut} out${r.skipped.length > 0 ? `, ${r.skipped.length} python lines skipped` : ''})\n`);
    else if (r.unsupported !== null) io.out(`UNSUPPORTED ${name}: ${r.unsupported}\n`);
    else io.out(`FAIL ${job.variant === null ? '' : `(${job.variant}) `}${formatFailure(r)}`);
    for (const s of r.skipped) if (verbose) io.out(`  skipped ${s.what} line ${s.line}\n`);
  }
  const unsupported = results.filter((r) => r.unsupported !== null).length;
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed - unsupported;
  const summary = `${passed} passed, ${failed} failed, ${unsupported} unsupported`;
  if (json) {
    io.out(
      JSON.stringify(
        {
          linux: profile === 'linux',
          profile: profile ?? 'per-script',
          total: results.length,
          passed,
          failed,
          unsupported,
          notes: [...notes],
          scripts: results.map((r) => ({
            path: r.path,
            variant: r.variant,
            linux: r.linux,
            ok: r.ok,
            result: r.ok ? 'pass' : r.unsupported !== null ? 'unsupported' : 'fail',
            events: r.events,
            packetsIn: r.packetsIn,
            packetsOut: r.packetsOut,
            endUsecs: r.endUsecs,
            skipped: r.skipped.map((s) => ({ line: s.line, what: s.what })),
            failure: r.failure,
            unsupported: r.unsupported,
          })),
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    io.out(`${summary}\n`);
  }
  return failed > 0 ? 1 : 0;
}
