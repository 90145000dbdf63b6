// `synack pdrill [--linux] [--json] [--verbose] [--OPTION=VALUE...] FILE...`: run packetdrill scripts
// against fresh synack stacks on a virtual clock and report each the way packetdrill does.
import { runScript, formatFailure, type RunScriptResult } from '../pdrill/runner.js';
import { parseOptionArgs } from '../pdrill/config.js';
import type { ScriptOption } from '../pdrill/ast.js';
import { UsageError, type CliIo } from './io.js';

export const PDRILL_USAGE = `Usage: synack pdrill [options] FILE.pkt...

Runs packetdrill scripts against synack: each script gets a fresh stack on a virtual clock; '<'
packets are injected from the script's peer, '>' packets must be what synack sends (within the
timing tolerance), and system calls run on synack's sockets. Stops each script at its first
failure and prints path:line, the script line and what actually happened.

Options:
  --linux            use Linux's defaults (wscale 7, RTO 1 s / min 200 ms, IW10, immediate ACKs)
  --json             print a JSON summary instead of text
  -v, --verbose      print every packet and system call
  --seed N           seed for the stack's ISNs and ports (default 1)
  --NAME=VALUE       any packetdrill option (e.g. --tolerance_usecs=10000); overrides the script's
  -h, --help         show this help

Exit status: 0 when every script passes, 1 when any fails, 2 for usage errors.
`;

export async function pdrillCommand(argv: string[], io: CliIo): Promise<number> {
  let linux = false;
  let json = false;
  let verbose = false;
  let seed = 1;
  const passthrough: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--linux') linux = true;
    else if (a === '--json') json = true;
    else if (a === '--verbose' || a === '-v') verbose = true;
    else if (a === '--help' || a === '-h') {
      io.out(PDRILL_USAGE);
      return 0;
    } else if (a === '--seed' || a.startsWith('--seed=')) {
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
  if (files.length === 0) throw new UsageError('pdrill needs at least one script file', 'pdrill');
  const cliOptions: ScriptOption[] = parseOptionArgs(passthrough).options;
  const results: RunScriptResult[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = new TextDecoder().decode(io.readFile(f));
    } catch (e) {
      const r: RunScriptResult = {
        path: f, ok: false, failure: { line: 0, message: `cannot read script: ${(e as Error).message}` },
        skipped: [], events: 0, packetsIn: 0, packetsOut: 0, endUsecs: 0, ignoredOptions: [],
      };
      results.push(r);
      if (!json) io.err(`${f}: cannot read script: ${(e as Error).message}\n`);
      continue;
    }
    const r = runScript(text, {
      path: f,
      linux,
      cliOptions,
      seed,
      verbose: verbose && !json,
      log: (line) => io.out(`  ${line}\n`),
    });
    results.push(r);
    if (json) continue;
    if (r.ok) io.out(`ok   ${f} (${r.events} events, ${r.packetsIn} in / ${r.packetsOut} out${r.skipped.length > 0 ? `, ${r.skipped.length} shell/python lines skipped` : ''})\n`);
    else io.out(`FAIL ${formatFailure(r)}`);
    for (const s of r.skipped) if (verbose) io.out(`  skipped ${s.what} line ${s.line}\n`);
  }
  const failed = results.filter((r) => !r.ok).length;
  if (json) {
    io.out(
      JSON.stringify(
        {
          linux,
          total: results.length,
          passed: results.length - failed,
          failed,
          scripts: results.map((r) => ({
            path: r.path,
            ok: r.ok,
            events: r.events,
            packetsIn: r.packetsIn,
            packetsOut: r.packetsOut,
            endUsecs: r.endUsecs,
            skipped: r.skipped.map((s) => ({ line: s.line, what: s.what })),
            failure: r.failure,
          })),
        },
        null,
        2,
      ) + '\n',
    );
  } else if (results.length > 1) {
    io.out(`${results.length - failed} of ${results.length} scripts passed\n`);
  }
  return failed > 0 ? 1 : 0;
}
