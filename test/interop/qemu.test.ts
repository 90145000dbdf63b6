// synack as the network of a real QEMU guest: Debian's kernel boots a busybox initramfs built here,
// its e1000 NIC is a `-netdev stream` socket that `synack serve --qemu` listens on. The guest gets
// its address from synack's DHCP server, resolves synack's MAC by ARP, downloads a file from synack
// serve with wget (sha256 equal), and starts busybox httpd; `synack get --qemu connect:SOCKET`
// attaches to the guest's second NIC (QEMU listens on that socket; both sides statically addressed)
// and fetches the guest's file, sha256 equal to the one the guest printed.
// Needs qemu-system-x86_64, a Debian kernel image and busybox-static; no root, no namespaces: every
// frame stays inside the sockets. TCG by default (SYNACK_QEMU_ACCEL=kvm to use KVM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { hasTool, randomFile, scratch, sha256File, within, repoRoot } from './helpers.js';
import { busyboxInitramfs } from './initramfs.js';

const MiB = 1 << 20;
const GUEST_MAC = '52:54:00:12:34:56';
const SYNACK_MAC = '02:00:5e:00:53:01';
const SERVER = '198.18.0.1';
const FIRST = '198.18.0.100';
/** Boot (to the guest's "GUEST-READY") must finish within this, TCG on a busy 2-core machine included. */
const BOOT_LIMIT_MS = Number(process.env['SYNACK_QEMU_BOOT_MS']) || 120_000;

/** The newest Debian kernel in /boot with its e1000 module, or null. */
function kernel(): { vmlinuz: string; e1000: string } | null {
  if (!existsSync('/boot')) return null;
  const versions = readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .sort();
  for (const v of versions.reverse()) {
    const e1000 = `/lib/modules/${v}/kernel/drivers/net/ethernet/intel/e1000/e1000.ko`;
    if (existsSync(e1000)) return { vmlinuz: `/boot/vmlinuz-${v}`, e1000 };
  }
  return null;
}

function skipReason(): string | null {
  if (!hasTool('qemu-system-x86_64')) return 'qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86)';
  if (kernel() === null) return 'no kernel image with an uncompressed e1000 module in /boot and /lib/modules (Debian: apt-get install linux-image-amd64)';
  if (!existsSync('/bin/busybox')) return 'no static busybox at /bin/busybox (Debian: apt-get install busybox-static)';
  return null;
}

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /lib/e1000.ko
ip link set lo up
# Name the NICs by MAC: the first goes to synack serve (DHCP), the second to synack get (static).
for d in /sys/class/net/*; do
  case "$(cat $d/address)" in
    52:54:00:12:34:56) A=$(basename $d) ;;
    52:54:00:12:34:57) B=$(basename $d) ;;
  esac
done
ip link set $A up
ip link set $B up
ip addr add 198.18.1.100/24 dev $B
cat > /bin/dhcp-event <<'EOF'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add $ip/$mask dev $interface
echo "$router" > /tmp/router
EOF
chmod +x /bin/dhcp-event
udhcpc -i $A -n -q -t 10 -T 2 -s /bin/dhcp-event >/dev/null 2>&1 || echo GUEST-DHCP-FAILED
echo "GUEST-ADDR $(ip -4 -o addr show dev $A | awk '{print $4}') ROUTER $(cat /tmp/router)"
wget -q -O /tmp/f.bin "http://$(cat /tmp/router):8080/f.bin" && echo "GUEST-WGET $(sha256sum /tmp/f.bin | cut -d' ' -f1)"
echo "GUEST-ARP $(grep " $A\$" /proc/net/arp | awk '{print $1, $4}')"
dd if=/dev/urandom of=/www/g.bin bs=65536 count=16 2>/dev/null
echo "GUEST-SERVE $(sha256sum /www/g.bin | cut -d' ' -f1)"
httpd -p 80 -h /www
echo GUEST-READY
while true; do sleep 3600; done
`;

interface Proc {
  out(): string;
  waitFor(re: RegExp, ms: number, what: string): Promise<RegExpExecArray>;
  exited: Promise<number>;
  kill(): void;
}

function run(cmd: string, args: string[]): Proc {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
  let text = '';
  const on = (d: Buffer): void => {
    text += d.toString('utf8');
  };
  p.stdout.on('data', on);
  p.stderr.on('data', on);
  const exited = new Promise<number>((r) => p.once('exit', (c) => r(c ?? 128)));
  return {
    out: () => text,
    exited,
    kill: () => p.kill('SIGKILL'),
    waitFor: async (re, ms, what) => {
      const until = Date.now() + ms;
      for (;;) {
        const m = re.exec(text);
        if (m !== null) return m;
        if (Date.now() > until) throw new Error(`${what}: not seen within ${ms / 1000} s; output:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

const cli = (args: string[]): Proc => run(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/interop/synack-cli.ts'), ...args]);

const skip = skipReason();

test('a QEMU guest on synack: DHCP, ARP, wget from synack serve, synack get from the guest', { skip: skip ?? false, timeout: 400_000 }, async () => {
  const tmp = scratch();
  const procs: Proc[] = [];
  try {
    const k = kernel()!;
    const initrd = join(tmp.dir, 'initrd.cpio');
    writeFileSync(initrd, busyboxInitramfs('/bin/busybox', [k.e1000], INIT));
    const www = join(tmp.dir, 'www');
    mkdirSync(www);
    const hash = randomFile(join(www, 'f.bin'), 4 * MiB);
    const sock = join(tmp.dir, 'guest.sock');
    const qsock = join(tmp.dir, 'qemu.sock');

    // serve listens on sock; QEMU's NIC connects to it (server=off). A second NIC-side socket is
    // QEMU's own listener for the `get` step.
    const serve = cli(['serve', www, '--port', '8080', '--qemu', sock, '--mac', SYNACK_MAC, '--addr', `${SERVER}/24`, '--dhcp', `${FIRST}-198.18.0.120`]);
    procs.push(serve);
    await serve.waitFor(/listening on port 8080/, 30_000, 'synack serve');
    // TCG by default: it needs nothing from the host (nested KVM in CI VMs can hang at boot);
    // SYNACK_QEMU_ACCEL=kvm uses KVM where it works.
    const accel = process.env['SYNACK_QEMU_ACCEL'] ?? 'tcg';
    const t0 = performance.now();
    const qemu = run('qemu-system-x86_64', [
      '-machine', `q35,accel=${accel}`, '-m', '256', '-smp', '1', '-nographic', '-no-reboot', '-nodefaults',
      '-serial', 'stdio', '-monitor', 'none',
      '-kernel', k.vmlinuz, '-initrd', initrd,
      '-append', 'console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init',
      '-netdev', `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}`,
      '-device', `e1000,netdev=n0,mac=${GUEST_MAC},romfile=`,
      '-netdev', `stream,id=n1,server=on,addr.type=unix,addr.path=${qsock}`,
      '-device', `e1000,netdev=n1,mac=52:54:00:12:34:57,romfile=`,
    ]);
    procs.push(qemu);
    const addr = await qemu.waitFor(/GUEST-ADDR (\S+) ROUTER (\S+)/, BOOT_LIMIT_MS, 'guest DHCP');
    assert.equal(addr[1], `${FIRST}/24`, 'the guest got the first address of the DHCP range');
    assert.equal(addr[2], SERVER, 'and synack as its router');
    const wget = await qemu.waitFor(/GUEST-WGET ([0-9a-f]{64})/, 60_000, 'guest wget');
    assert.equal(wget[1], hash, 'wget in the guest got the file synack served, byte for byte');
    const arp = await qemu.waitFor(/GUEST-ARP (.*)/, 10_000, 'guest ARP table');
    assert.equal(arp[1]?.trim(), `${SERVER} ${SYNACK_MAC}`, "the guest resolved synack's MAC by ARP");
    const served = await qemu.waitFor(/GUEST-SERVE ([0-9a-f]{64})/, 30_000, 'guest file');
    await qemu.waitFor(/GUEST-READY/, 30_000, 'guest httpd');
    const bootSecs = (performance.now() - t0) / 1000;
    console.log(`# qemu guest (${accel}): booted, DHCP, wget 4 MiB in ${bootSecs.toFixed(1)} s`);
    assert.match(serve.out(), /GET \/f\.bin 200/);

    // synack get on the guest's second NIC: QEMU listens there, synack connects, static addresses.
    const out = join(tmp.dir, 'g.bin');
    const t1 = performance.now();
    const get = cli(['get', 'http://198.18.1.100/g.bin', '-o', out, '--qemu', `connect:${qsock}`, '--addr', '198.18.1.1/24', '--max-time', '60']);
    procs.push(get);
    const code = await within(get.exited, 90_000, 'synack get from the guest');
    assert.equal(code, 0, `synack get failed: ${get.out()}`);
    assert.equal(await sha256File(out), served[1], "synack get fetched the guest's file, byte for byte");
    console.log(`# synack get <- busybox httpd in the guest, 1 MiB: ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  } finally {
    for (const p of procs) p.kill();
    tmp.remove();
  }
});
