import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../test/helpers/netns.js';
import { PathWitness, V4, randomFile, scratch, synack, tunHost } from '../test/interop/helpers.js';
const h = new NetnsHarness(); const tmp = scratch();
try {
  const host = await tunHost(h);
  const www = join(tmp.dir, 'www'); mkdirSync(www); randomFile(join(www, 'f.bin'), 65536);
  const serve = synack(host.ns, ['serve', www, '--port', '8080', ...(process.env.SERVE_FLAGS ?? '').split(' ').filter(Boolean), ...host.flags], { nodeFlags: (process.env.LOAD_NODE_OPTIONS ?? '').split(' ').filter(Boolean) });
  await serve.waitFor('listening on port 8080');
  const w = await PathWitness.start(host);
  const t0 = performance.now();
  const r = await host.ns.exec('prlimit', ['--nofile=20000:20000', '--', 'ab', '-r', '-s', '60', '-n', process.env.N ?? '5000', '-c', process.env.N ?? '5000', `http://${V4.stack}:8080/f.bin`], { timeoutMs: 300_000 });
  console.log(((performance.now() - t0) / 1000).toFixed(1), 's', JSON.stringify(await w.delta()));
  console.log(r.stdout.split('\n').filter((l) => /Failed|Complete|Time taken|Connect:|Length|Exceptions/.test(l)).join('\n'));
  serve.proc.kill('SIGUSR2'); await new Promise((r) => setTimeout(r, 500));
  const lines = serve.stderr().split('\n');
  const c = new Map(); for (const l of lines) { const k = l.replace(/^\S+ GET \/f\.bin (\d+) (\d+).*$/, 'GET $1 $2').replace(/\d+:\d+/g, 'P'); if (k.startsWith('GET') || k.startsWith('LISTEN') || /^[A-Z-]+ /.test(k)) c.set(k.split(/\s+/).slice(0, 3).join(' '), (c.get(k.split(/\s+/).slice(0, 3).join(' ')) ?? 0) + 1); else if (k.trim() !== '') c.set(k.slice(0, 150), (c.get(k.slice(0, 150)) ?? 0) + 1); }
  console.log([...c.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15));
  console.log(lines.filter((l) => l.startsWith('LISTEN')).join('\n'));
  serve.proc.kill('SIGTERM'); await serve.exited;
  const gcs = serve.stderr().split('\n').filter((l) => /Mark-Compact|Scavenge/.test(l));
  const pauses = gcs.map((l) => Number(/,\s*([\d.]+)\s*\/\s*[\d.]+\s*ms/.exec(l)?.[1] ?? 0)).sort((a, b) => b - a);
  console.log('gc events', gcs.length, 'top pauses', pauses.slice(0, 8), 'sum', pauses.reduce((a, b) => a + b, 0).toFixed(0));
  console.log(serve.stderr().split('\n').filter((l) => !/Mark-Compact|Scavenge/.test(l)).slice(-5).join('\n'));
} finally { await h.cleanup(); tmp.remove(); }
