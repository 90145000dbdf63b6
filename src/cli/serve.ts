// `synack serve`: placeholder until the net-compatible API (src/net) lands; see docs/interop.md.
import type { CliIo } from './io.js';

export const SERVE_USAGE = 'Usage: synack serve ... (not available yet)\n';

export async function serveCommand(_argv: readonly string[], io: CliIo): Promise<number> {
  io.err('synack serve: not available yet\n');
  return 1;
}
