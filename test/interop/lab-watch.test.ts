// The lab page watching a real connection: `synack serve --watch` on a TUN device in a namespace,
// the lab page open in headless Chromium (run inside that namespace, where the watch server's
// 127.0.0.1 is), then curl (the kernel's TCP) downloads a file from synack. The page, opened
// before the connection existed, draws it as it streams in, and what it draws is what crossed the
// TUN device: tcpdump on that device is the oracle for the kernel's SYN (its port and its ISN).
// Skips without root, namespaces, the TUN addon, curl, tcpdump or Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../helpers/netns.js';
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing } from '../helpers/browser.js';
import { interopSkip, scratch, spawnIn, synack, tunHost, within, V4 } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const skip = interopSkip('curl', 'tcpdump') ?? chromiumMissing();

test('the lab page draws the kernel peer\'s connection live from synack serve --watch over TUN', { skip: skip ?? false, timeout: 120_000 }, async () => {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-lab.mjs')], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const h = new NetnsHarness();
  const tmp = scratch();
  let context: import('playwright-core').BrowserContext | null = null;
  try {
    const host = await tunHost(h);
    const body = 'watched by the lab\n'.repeat(3000);
    mkdirSync(join(tmp.dir, 'www'));
    writeFileSync(join(tmp.dir, 'www', 'f.txt'), body);
    const serve = synack(host.ns, ['serve', join(tmp.dir, 'www'), '--port', '8080', '--watch', '8096', '-q', ...host.flags]);
    await serve.waitFor('listening on port 8080');
    // Chromium runs in the namespace: a wrapper that playwright starts as if it were the browser.
    const wrapper = join(tmp.dir, 'chromium-in-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${host.ns.name} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(join(tmp.dir, 'profile'), { executablePath: wrapper, headless: true, args: CHROMIUM_ARGS, locale: 'en-US' });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto('http://127.0.0.1:8096/?watch');
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#watch-pane:not([hidden])');
    assert.equal(await page.$$eval('#ladder g.seg', (g) => g.length), 0, 'nothing drawn before the kernel connects');

    // The oracle: the kernel's SYN as tcpdump sees it on synack's TUN device.
    const synFile = join(tmp.dir, 'syn.txt');
    const dump = spawnIn(host.ns, 'tcpdump', ['-l', '-nn', '-S', '-i', host.dev, '-c', '1', 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0'], { stdout: synFile });
    await new Promise((r) => setTimeout(r, 500)); // tcpdump attaches its filter
    const got = await host.ns.exec('curl', ['-sS', '--max-time', '10', `http://${V4.stack}:8080/f.txt`]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, body);
    await within(dump.exited, 10_000, 'tcpdump saw the SYN');
    const line = readFileSync(synFile, 'utf8');
    const seen = /IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > [\d.]+\.8080: Flags \[S\], seq (\d+)/.exec(line);
    assert.ok(seen !== null, `tcpdump printed the SYN: ${line} ${dump.stderr()}`);
    const [, kernelAddr, kernelPort, kernelIsn] = seen;
    assert.equal(kernelAddr, V4.kernel);

    // The page drew it as it streamed in: the connection is listed by the kernel's port, and the
    // first arrow is the kernel's SYN with the ISN tcpdump saw, answered by synack's SYN-ACK.
    await page.waitForFunction(() => document.querySelectorAll('#ladder g.seg').length >= 6);
    const conn = await page.$eval('#watch-conn', (s) => (s as HTMLSelectElement).value);
    assert.equal(conn, `${V4.stack}:8080>${V4.kernel}:${kernelPort}`);
    const segs = await page.$$eval('#ladder g.seg[data-seg]', (gs) => gs.map((g) => ({ flags: g.getAttribute('data-flags'), seq: Number(g.getAttribute('data-seq')), ack: g.getAttribute('data-ack'), len: Number(g.getAttribute('data-len')) })));
    assert.equal(segs[0]!.flags, 'SYN');
    assert.equal(segs[0]!.seq, Number(kernelIsn), 'the SYN drawn carries the kernel\'s ISN');
    assert.equal(segs[1]!.flags, 'SYN,ACK');
    assert.equal(Number(segs[1]!.ack), (Number(kernelIsn) + 1) >>> 0, 'synack acknowledges ISN + 1');
    await page.waitForFunction((n) => {
      let sum = 0;
      document.querySelectorAll("#ladder g.seg[data-len]").forEach((g) => (sum += Number(g.getAttribute("data-len"))));
      return sum >= n;
    }, body.length);
    // The arrows point the right way: the kernel's SYN runs from the peer column to synack's.
    await page.click('#ladder g.seg[data-seg="0"]');
    assert.match((await page.textContent('#inspector')) ?? '', /peer → synack/);
    const states = await page.$$eval('ol.history[data-host="client"] li', (l) => l.map((x) => x.textContent));
    assert.deepEqual(states.slice(0, 3), ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED']);
    assert.deepEqual(errors, []);
    serve.proc.kill('SIGTERM');
    assert.equal(await within(serve.exited, 10_000, 'serve exit on SIGTERM'), 0, serve.stderr());
  } finally {
    await context?.close();
    await h.cleanup();
    tmp.remove();
  }
});
