// The v86 example page (examples/v86/) in headless Chromium with a real Linux guest: the page's
// synack hands the guest an address by DHCP and serves it a page over HTTP, all inside the browser.
// Debian's i386 kernel boots in v86 with a busybox initramfs built here; its /init loads the NE2000
// driver, runs udhcpc and wget. The guest's serial console shows synack's page and a DHCP address
// from the page's pool; the page's log shows synack's listener serving that address. Nothing else
// is on the guest's network (v86 has no network backend here), so only synack can have answered.
// Needs Chromium and the guest files of test/web/v86-guest.test.ts plus libv86.js (SYNACK_V86_DIR,
// docs/vm.md); skips without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxInitramfs } from '../interop/initramfs.js';
import { CHROMIUM, CHROMIUM_ARGS, bundleForBrowser, chromiumMissing } from '../helpers/browser.js';

const DIR = process.env['SYNACK_V86_DIR'];
const FILES = ['libv86.js', 'v86.wasm', 'seabios.bin', 'vgabios.bin', 'bzImage', 'busybox', '8390.ko', 'ne2k-pci.ko'];
const missingFiles = DIR === undefined ? ['SYNACK_V86_DIR'] : FILES.filter((f) => !existsSync(join(DIR, f)));
const skip =
  chromiumMissing() ??
  (missingFiles.length === 0 ? false : `no v86 guest (${missingFiles.join(', ')} missing; see docs/vm.md, "Booting a real guest in v86")`);

const INIT = `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
insmod /lib/8390.ko
insmod /lib/ne2k-pci.ko
ip link set eth0 up
udhcpc -i eth0 -n -q -t 10 -s /bin/dhcp-bound
echo GUEST-ADDR $(ip -4 -o addr show dev eth0 | awk '{print $4}')
wget -q -O - http://198.18.0.1/ && echo GUEST-WGET-DONE
poweroff -f
`;
// udhcpc runs this with the lease in its environment ($ip, $mask as a prefix length).
const DHCP_SCRIPT = `#!/bin/sh
[ "$1" = bound ] && ip addr add $ip/$mask dev $interface
exit 0
`;

test('the v86 example page in Chromium: a Linux guest gets a DHCP lease from synack and fetches its page', { skip, timeout: 420_000 }, async () => {
  const dir = DIR!;
  const initrd = busyboxInitramfs(join(dir, 'busybox'), [join(dir, '8390.ko'), join(dir, 'ne2k-pci.ko')], INIT, [
    { path: 'bin/dhcp-bound', data: DHCP_SCRIPT, mode: 0o755 },
  ]);
  const js = await bundleForBrowser(new URL('../../examples/v86/main.ts', import.meta.url));
  const html = readFileSync(new URL('../../examples/v86/index.html', import.meta.url));
  const types: Record<string, string> = { js: 'text/javascript', html: 'text/html', wasm: 'application/wasm' };
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '/').split('?')[0]!.slice(1);
    const body =
      name === 'index.html' ? html : name === 'synack-v86.js' ? js : name === 'initrd.img' ? initrd : FILES.includes(name) ? readFileSync(join(dir, name)) : null;
    if (body === null) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const userDataDir = mkdtempSync(join(tmpdir(), 'synack-v86-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const t0 = Date.now();
    await page.goto(`http://127.0.0.1:${port}/index.html?bzimage=bzImage&initrd=initrd.img`);
    const text = async (id: string): Promise<string> => (await page.textContent(`#${id}`)) ?? '';
    try {
      await page.waitForFunction(
        () => /GUEST-WGET-DONE|reboot: (Power down|System halted)/.test(document.getElementById('serial')?.textContent ?? ''),
        undefined,
        { timeout: 360_000, polling: 1000 },
      );
    } catch (e) {
      assert.fail(`the guest did not finish: ${(e as Error).message.split('\n')[0]}; console:\n${(await text('serial')).slice(-2000)}\nsynack:\n${await text('log')}`);
    }
    const serial = await text('serial');
    const log = await text('log');
    console.log(`# v86 in Chromium: the guest booted, leased and fetched from synack in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.deepEqual(errors, [], 'no errors in the page');
    const leased = /GUEST-ADDR (198\.18\.0\.(\d+))\/24/.exec(serial);
    assert.ok(leased !== null, `the guest has an address on eth0: ${serial.slice(-1500)}`);
    const host = Number(leased[2]);
    assert.ok(host >= 100 && host <= 150, `the address ${leased[1]} is from the page's DHCP pool (198.18.0.100-150)`);
    assert.match(serial, /hello from synack in your browser at \d{4}-/, "the guest printed synack's page");
    assert.ok(serial.includes('GUEST-WGET-DONE'), 'wget succeeded');
    assert.ok(log.includes(`HTTP: served ${leased[1]} port `), `synack's listener served the guest's address: ${log}`);
  } finally {
    await context.close();
    server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
