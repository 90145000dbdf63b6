// `synack get`: placeholder until the net-compatible API (src/net) lands; see docs/interop.md.
import type { CliIo } from './io.js';

export const GET_USAGE = 'Usage: synack get ... (not available yet)\n';

export async function getCommand(_argv: readonly string[], io: CliIo): Promise<number> {
  io.err('synack get: not available yet\n');
  return 1;
}
