// What the two v86 guest tests share: where the guest files are (SYNACK_V86_DIR, made as
// docs/vm.md "Booting a real guest in v86" says), whether they are all there, and the guest's /init
// up to its network (busybox, /proc and /sys, the NE2000 driver, eth0 up).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxInitramfs, type InitramfsEntry } from '../interop/initramfs.js';

export const V86_DIR = process.env['SYNACK_V86_DIR'];

/** Why a test needing these guest files cannot run, or false when they are all in SYNACK_V86_DIR. */
export function v86Missing(files: string[]): string | false {
  const missing = V86_DIR === undefined ? ['SYNACK_V86_DIR'] : files.filter((f) => !existsSync(join(V86_DIR, f)));
  return missing.length === 0 ? false : `no v86 guest (${missing.join(', ')} missing; see docs/vm.md, "Booting a real guest in v86")`;
}

/** An initramfs whose /init brings eth0 (the emulated NE2000) up and then runs `body`. */
export function v86Initramfs(body: string, extra: InitramfsEntry[] = []): Uint8Array {
  const dir = V86_DIR!;
  const init = `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
insmod /lib/8390.ko
insmod /lib/ne2k-pci.ko
ip link set eth0 up
${body}`;
  return busyboxInitramfs(join(dir, 'busybox'), [join(dir, '8390.ko'), join(dir, 'ne2k-pci.ko')], init, extra);
}
