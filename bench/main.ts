// `npm run bench`: runs the bench from the TypeScript sources (src/bench) through tsx; the
// installed package runs the same code compiled, as `synack bench`.
import { runBench } from '../src/bench/main.js';

process.exitCode = await runBench(process.argv.slice(2));
