// The yardstick for bench/serve-load.ts: `synack serve`'s own request handler (src/cli/serve-files.ts)
// on Node's http over the kernel's TCP. Usage: node --import tsx bench/serve-load-kernel.ts DIR HOST PORT [BACKLOG]
import { createServer } from 'node:http';
import { answer, filePolicy } from '../src/cli/serve-files.js';

const [dir = '.', host = '127.0.0.1', port = '8082', backlog = '511'] = process.argv.slice(2);
const policy = await filePolicy(dir, false);
// The same timeouts as serve's defaults; Node's own net.Server turns Nagle off for what it accepts.
const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => void answer(policy, req, res));
server.listen({ port: Number(port), host, backlog: Number(backlog) }, () => process.stderr.write(`kernel server listening on ${host}:${port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
