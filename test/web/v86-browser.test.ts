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
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { bundleForBrowser, chromiumMissing, withChromiumPage } from '../helpers/browser.js';
import { V86_DIR, v86Initramfs, v86Missing } from './v86-files.js';

const FILES = ['libv86.js', 'v86.wasm', 'seabios.bin', 'vgabios.bin', 'bzImage', 'busybox', '8390.ko', 'ne2k-pci.ko'];
const skip = chromiumMissing() ?? v86Missing(FILES);

// After eth0 is up (v86-files.ts): a lease, its address, the page.
const INIT = `udhcpc -i eth0 -n -q -t 10 -s /bin/dhcp-bound
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
  const dir = V86_DIR!;
  const initrd = v86Initramfs(INIT, [{ path: 'bin/dhcp-bound', data: DHCP_SCRIPT, mode: 0o755 }]);
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
  try {
    await withChromiumPage(async (page, errors) => {
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
    });
  } finally {
    server.close();
  }
});
