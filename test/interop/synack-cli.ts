// Runs the synack CLI from source (through tsx) so the interop tests exercise the current code, not dist/.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
