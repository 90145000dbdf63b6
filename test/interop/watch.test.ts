// `synack serve --watch` over a real TUN device: curl (the kernel's TCP) downloads a file from
// synack, and the watch stream (read with curl inside the same namespace) holds that very
// connection: the kernel's SYN from its own address, synack's SYN-ACK from the stack's, the data,
// and the stack's state changes. Skips without root, namespaces, the TUN addon or curl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../helpers/netns.js';
import { interopSkip, scratch, synack, tunHost, within, V4 } from './helpers.js';

const skip = interopSkip('curl');

test('synack serve --watch streams the kernel\'s connection with synack as it happens', { skip: skip ?? false, timeout: 60_000 }, async () => {
  const h = new NetnsHarness();
  const tmp = scratch();
  try {
    const host = await tunHost(h);
    const body = 'watch me\n'.repeat(2000);
    writeFileSync(join(tmp.dir, 'f.txt'), body);
    const serve = synack(host.ns, ['serve', tmp.dir, '--port', '8080', '--watch', '8095', '-q', ...host.flags]);
    await serve.waitFor('listening on port 8080');
    assert.match(serve.stderr(), /watch this stack at http:\/\/127\.0\.0\.1:8095\/\?watch/);
    // The page itself is served from the same port.
    const page = await host.ns.exec('curl', ['-sS', '--max-time', '5', 'http://127.0.0.1:8095/']);
    assert.equal(page.code, 0, page.stderr);
    assert.match(page.stdout, /<title>synack lab<\/title>|lab page is not built/);
    const got = await host.ns.exec('curl', ['-sS', '--max-time', '10', `http://${V4.stack}:8080/f.txt`]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, body);
    await new Promise((r) => setTimeout(r, 300));
    // A page that connects now is sent what happened so far.
    const stream = await host.ns.exec('curl', ['-sN', '--max-time', '2', 'http://127.0.0.1:8095/events']);
    const events = stream.stdout
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>)
      .filter((e) => 'type' in e);
    const segs = events.filter((e) => e['type'] === 'segment');
    const syn = segs.find((e) => e['flags'] === 'SYN');
    assert.ok(syn !== undefined, 'the kernel\'s SYN is in the stream');
    assert.equal(syn['from'], 'peer');
    assert.match(String(syn['conn']), new RegExp(`^${V4.stack.replace(/\./g, '\\.')}:8080>${V4.kernel.replace(/\./g, '\\.')}:\\d+$`));
    const synAck = segs.find((e) => e['flags'] === 'SYN,ACK');
    assert.equal(synAck?.['from'], 'synack');
    assert.equal(synAck?.['ack'], ((syn['seq'] as number) + 1) >>> 0, 'synack acknowledges the kernel\'s ISN + 1');
    const sent = segs.filter((e) => e['from'] === 'synack').reduce((n, e) => n + (e['len'] as number), 0);
    assert.ok(sent >= body.length, `synack sent ${sent} bytes of payload`);
    const states = events.filter((e) => e['type'] === 'state' && e['host'] === 'synack').map((e) => e['to']);
    assert.deepEqual(states.slice(0, 2), ['SYN-RECEIVED', 'ESTABLISHED']);
    serve.proc.kill('SIGTERM');
    assert.equal(await within(serve.exited, 10_000, 'serve exit on SIGTERM'), 0, serve.stderr());
  } finally {
    await h.cleanup();
    tmp.remove();
  }
});
