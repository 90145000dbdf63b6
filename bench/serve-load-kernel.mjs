// The yardstick for bench/serve-load.ts: `synack serve`'s own request handler (src/cli/serve-files.ts)
// on Node's http over the kernel's TCP.
// Usage: node [--import tsx] bench/serve-load-kernel.mjs DIR HOST PORT [BACKLOG] [src|dist]
//   src (under tsx) loads the handler from the TypeScript sources, dist from the built package, so
//   the yardstick runs the same form of the handler as the synack serve it is compared with.
import { createServer } from 'node:http';

const [dir = '.', host = '127.0.0.1', port = '8082', backlog = '511', form = 'src'] = process.argv.slice(2);
const { answer, filePolicy } = await import(form === 'dist' ? '../dist/cli/serve-files.js' : '../src/cli/serve-files.ts');
const policy = await filePolicy(dir, false);
// The same timeouts as serve's defaults; Node's own net.Server turns Nagle off for what it accepts.
const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => void answer(policy, req, res));
server.listen({ port: Number(port), host, backlog: Number(backlog) }, () => process.stderr.write(`kernel server listening on ${host}:${port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
