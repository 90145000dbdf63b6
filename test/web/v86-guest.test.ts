// A real Linux guest in the v86 emulator on synack's Ethernet: v86 (its npm package, run in Node)
// boots Debian's i386 kernel with a busybox initramfs built here, the guest loads its NE2000 driver,
// resolves synack by ARP through attachV86 and fetches a page from a synack TCP listener with wget.
// The body carries a token made by this test, so only synack can have served it; synack's neighbour
// cache holds the guest's MAC and its connection the guest's address. The guest files are not in
// the repository: SYNACK_V86_DIR names a directory with libv86.mjs and v86.wasm (npm package v86),
// seabios.bin and vgabios.bin (github.com/copy/v86 bios/), bzImage (an i386 kernel with the ne2k-pci
// module), 8390.ko and ne2k-pci.ko, and a static i386 busybox; docs/vm.md says how to make one.
// Skips when it is not set or incomplete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { V86_DIR, v86Initramfs, v86Missing } from './v86-files.js';
import { Stack } from '../../src/stack/stack.js';
import { RealtimeClock } from '../../src/util/realtime-clock.js';
import { attachV86, type V86Bus } from '../../src/web/v86.js';
import { formatIp } from '../../src/wire/address.js';
import { formatMac } from '../../src/ethernet/frame.js';

const skip = v86Missing(['libv86.mjs', 'v86.wasm', 'seabios.bin', 'vgabios.bin', 'bzImage', 'busybox', '8390.ko', 'ne2k-pci.ko']);

interface V86Emulator {
  bus: V86Bus;
  add_listener(name: string, fn: (v: number) => void): void;
  destroy(): Promise<void> | void;
}

test('a Linux guest in v86 resolves synack by ARP and fetches a page from it with wget', { skip, timeout: 300_000 }, async () => {
  const dir = V86_DIR!;
  const token = randomBytes(8).toString('hex');
  const body = `hello from synack ${token}\n`;
  const initrd = v86Initramfs(`ip addr add 198.18.0.2/24 dev eth0
echo GUEST-UP $(cat /sys/class/net/eth0/address)
wget -q -O - http://198.18.0.1/page && echo GUEST-WGET-DONE
poweroff -f
`);
  const stack = new Stack({ name: 'synack', clock: new RealtimeClock() });
  const peers: string[] = [];
  stack.tcpListen({ port: 80 }, (c, info) => {
    peers.push(info.remoteAddress);
    let answered = false;
    c.hooks.onReadable = () => {
      while (c.recv() !== null);
      if (answered) return;
      answered = true;
      c.send(new TextEncoder().encode(`HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
      c.close();
    };
  });
  const { V86 } = (await import(join(dir, 'libv86.mjs'))) as { V86: new (o: unknown) => V86Emulator };
  const buf = (f: string): ArrayBuffer => {
    const b = readFileSync(join(dir, f));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  };
  const t0 = Date.now();
  const emulator = new V86({
    wasm_path: join(dir, 'v86.wasm'),
    bios: { buffer: buf('seabios.bin') },
    vga_bios: { buffer: buf('vgabios.bin') },
    bzimage: { buffer: buf('bzImage') },
    initrd: { buffer: initrd.buffer.slice(initrd.byteOffset, initrd.byteOffset + initrd.length) },
    cmdline: 'console=ttyS0 quiet rdinit=/init',
    memory_size: 128 << 20,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    net_device: { type: 'ne2k' },
  });
  // v86's NE2000 speaks on the emulator's bus ("net0-send" / "net0-receive"): synack joins it.
  const { eth } = attachV86(stack, emulator.bus, { addresses: ['198.18.0.1/24'], mac: '02:00:00:00:00:01' });
  let serial = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the guest did not finish in 240 s; its console:\n${serial.slice(-2000)}`)), 240_000);
      emulator.add_listener('serial0-output-byte', (b) => {
        serial += String.fromCharCode(b);
        if (serial.includes('GUEST-WGET-DONE') || /reboot: (Power down|System halted)/.test(serial)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    console.log(`# v86 guest booted and fetched from synack in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const mac = /GUEST-UP ([0-9a-f:]{17})/.exec(serial)?.[1];
    assert.ok(mac !== undefined, `the guest brought eth0 up: ${serial.slice(-1500)}`);
    assert.ok(serial.includes(body.trim()), `the guest printed synack's page with this run's token: ${serial.slice(-1500)}`);
    assert.ok(serial.includes('GUEST-WGET-DONE'), 'wget succeeded');
    assert.deepEqual(peers, ['198.18.0.2'], "synack's listener saw the guest's address");
    const n = eth.neighbours().find((e) => formatIp(e.ip) === '198.18.0.2');
    assert.equal(n?.mac === null || n === undefined ? undefined : formatMac(n.mac), mac, "synack learnt the guest's MAC by ARP");
  } finally {
    await emulator.destroy();
    stack.close();
  }
});
