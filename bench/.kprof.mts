import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../test/helpers/netns.js';
import { V4, randomFile, scratch, synack, tunHost, within } from '../test/interop/helpers.js';
const h = new NetnsHarness(); const tmp = scratch();
try {
  const host = await tunHost(h);
  const www = join(tmp.dir, 'www'); mkdirSync(www); randomFile(join(www, 'small.bin'), 1024);
  const serve = synack(host.ns, ['serve', www, '--port', '8080', '--quiet', ...host.flags], { nodeFlags: (process.env.NF ?? '').split(' ').filter(Boolean) });
  await serve.waitFor('listening on port 8080');
  const r = await host.ns.exec('ab', ['-q', '-k', '-n', process.env.N ?? '20000', '-c', '32', `http://${V4.stack}:8080/small.bin`], { timeoutMs: 300_000 });
  console.log(r.stdout.split('\n').filter((l) => /Requests per second|Failed|Time per request/.test(l)).join('\n'));
  serve.proc.kill('SIGINT');
  console.log('exit', await within(serve.exited, 30_000, 'exit'));
} finally { await h.cleanup(); tmp.remove(); }
