// A v86 guest whose network is synack, in the browser: synack serves a page over HTTP at
// 198.18.0.1 and hands the guest an address by DHCP. Build and open (see index.html):
//   npx esbuild examples/v86/main.ts --bundle --format=esm --outfile=examples/v86/synack-v86.js
// then serve examples/v86/ with libv86.js, v86.wasm, seabios.bin, vgabios.bin and a guest next to
// index.html: a CD image `guest.iso` (e.g. a Buildroot or Alpine ISO from copy.sh/v86), or a kernel
// and initramfs named in the address: index.html?bzimage=bzImage&initrd=initrd.img (docs/vm.md).
// test/web/v86-browser.test.ts opens this page in headless Chromium with a real Linux guest.
import { Stack, RealtimeClock, DhcpServer } from '../../src/index.js';
import { attachV86, listen, type V86Bus } from '../../src/web/index.js';

declare const V86: new (opts: Record<string, unknown>) => { bus: V86Bus; add_listener(name: string, fn: (v: number) => void): void };

const clock = new RealtimeClock();
const stack = new Stack({ name: 'synack', clock });
const log = (s: string): void => {
  const el = document.getElementById('log');
  if (el) el.textContent += s + '\n';
};
stack.on('trace', (e) => {
  if (e.type === 'neighbour' && e.dir !== 'cache') log(`${e.dir} ${e.summary}`);
});

// The guest: a CD image by default, or a kernel and initramfs given in the page's address.
const q = new URLSearchParams(location.search);
const bzimage = q.get('bzimage');
const guest =
  bzimage === null
    ? { cdrom: { url: 'guest.iso' } }
    : { bzimage: { url: bzimage }, initrd: { url: q.get('initrd') ?? 'initrd.img' }, cmdline: q.get('cmdline') ?? 'console=ttyS0 quiet rdinit=/init' };
const emulator = new V86({
  wasm_path: 'v86.wasm',
  bios: { url: 'seabios.bin' },
  vga_bios: { url: 'vgabios.bin' },
  ...guest,
  memory_size: 128 << 20,
  screen_container: document.getElementById('screen'),
  autostart: true,
  // The NE2000 card, with no v86 network backend: synack answers on its bus instead.
  net_device: { type: 'ne2k' },
});
// The guest's serial console (a kernel booted with console=ttyS0 writes there, not on the screen).
const serial = document.getElementById('serial');
emulator.add_listener('serial0-output-byte', (b) => {
  if (serial) serial.textContent += String.fromCharCode(b);
});
// synack becomes a host on the guest's Ethernet segment.
attachV86(stack, emulator.bus, {
  addresses: ['198.18.0.1/24'],
  dhcp: new DhcpServer({ serverIp: '198.18.0.1', prefix: 24, first: '198.18.0.100', last: '198.18.0.150' }),
});
log('synack attached: 198.18.0.1, DHCP 198.18.0.100-150');

// In the guest: udhcpc -i eth0 && wget -O - http://198.18.0.1/
const enc = new TextEncoder();
for await (const conn of listen(stack, { port: 80 })) {
  log(`HTTP: served ${conn.remoteAddress} port ${conn.remotePort}`);
  const w = conn.writable.getWriter();
  const body = `hello from synack in your browser at ${new Date().toISOString()}\n`;
  void w.write(enc.encode(`HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`)).then(() => w.close());
}
