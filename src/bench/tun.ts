// The `tun` bench group: bulk TCP between the kernel and an in-process synack Stack over a TUN device
// (kernel->synack and synack->kernel, MTU 1500/9000/65535, with and without the offloads of
// docs/tun.md; and over a TAP device with offloads at MTU 1500), beside kernel-to-kernel over veth
// at the same MTU in the same run; root only.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { openTun, configureKernelSide, tunUnavailableReason, type TunLink } from '../link/tun.js';
import { Stack } from '../stack/stack.js';
import { addEthernetInterface } from '../ethernet/attach.js';
import { RealtimeClock } from '../util/realtime-clock.js';
import { nowMs, skipped, summarize, type BenchOptions, type Figure, type Reporter } from './harness.js';
import { addNamespace, canUseNetns, createVethPair, dropNamespace, kernelReceiver, kernelSender, vethBulk } from './kernel.js';

const MiB = 1024 * 1024;
const KERNEL = '198.18.0.1';
const SYNACK = '198.18.0.2';

export type TunDirection = 'kernel->synack' | 'synack->kernel';

/** A namespace holding a TUN device whose other end is a Stack in this process. */
export interface TunWorld {
  ns: string;
  tun: TunLink;
  stack: Stack;
  clock: RealtimeClock;
  destroy(): void;
}

let worlds = 0;

/** `tap`: a TAP device with an EthernetInterface between it and the Stack, instead of a TUN device. */
export async function openWorld(mtu: number, offload: boolean, writeThread = true, tap = false): Promise<TunWorld> {
  const ns = `synb-t-${process.pid % 100000}-${worlds++}`;
  addNamespace(ns);
  spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  let tun: TunLink | undefined;
  try {
    tun = await openTun({ name: 'synb0', netns: ns, mtu, offload, writeThread, tap });
    await configureKernelSide('synb0', { peer: KERNEL, prefix: 24, mtu, txqueuelen: 10_000, netns: ns });
  } catch (e) {
    tun?.close();
    dropNamespace(ns);
    throw e;
  }
  const clock = new RealtimeClock();
  const stack = new Stack({ name: 'bench-tun', clock });
  // On a TAP device the Stack is an Ethernet host (the kernel resolves it by ARP).
  if (tap) addEthernetInterface(stack, tun, { addresses: [`${SYNACK}/24`] });
  else stack.addInterface(tun, { addresses: [`${SYNACK}/24`] });
  const t = tun;
  return {
    ns,
    tun: t,
    stack,
    clock,
    destroy() {
      stack.close();
      t.close();
      clock.dispose();
      dropNamespace(ns);
    },
  };
}

/** One transfer's figures: MB/s, and the CPU seconds of the Node program on the kernel's side. */
export interface TunBulkResult {
  mbps: number;
  peerCpuS: number;
  /** kernel->synack: the synack receiver's buffer at the end (receive-buffer autotuning's reach) and its receiver RTT estimate, ms. */
  recvCapacity?: number;
  rcvRtt?: number;
}

/**
 * One transfer of `bytes` over the world's TUN device; MB/s timed at the receiver from its first to
 * its last byte (as vethBulk times the kernel's receiver).
 */
export async function tunBulk(w: TunWorld, dir: TunDirection, bytes: number): Promise<TunBulkResult> {
  if (dir === 'kernel->synack') {
    const sink = new Uint8Array(256 * 1024);
    let recvCapacity = 0;
    let rcvRtt = 0;
    const done = new Promise<number>((resolve) => {
      const l = w.stack.tcpListen({ port: 5001 }, (conn) => {
        let got = 0;
        let t0 = 0;
        const read = (): void => {
          for (let n = conn.recvInto(sink); n > 0; n = conn.recvInto(sink)) {
            if (got === 0) t0 = nowMs();
            got += n;
          }
          if (conn.peerFinished) {
            const ms = nowMs() - t0;
            recvCapacity = conn.info().recvCapacity;
            rcvRtt = conn.stats().rcvRtt;
            conn.close();
            l.close();
            resolve(got / 1e6 / (ms / 1000));
          }
        };
        conn.hooks.onReadable = read;
        read();
      });
    });
    const tx = await kernelSender(w.ns, SYNACK, bytes);
    return { mbps: await done, peerCpuS: tx.cpuS, recvCapacity, rcvRtt };
  }
  const rx = kernelReceiver(w.ns, KERNEL, bytes);
  await rx.ready;
  const chunk = new Uint8Array(MiB).fill(0x5a);
  const conn = w.stack.tcpConnect({ address: KERNEL, port: 5001 });
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const n = conn.send(chunk.subarray(0, Math.min(left, chunk.length)));
      if (n === 0) return;
      left -= n;
    }
    conn.close();
  };
  conn.hooks.onConnected = pump;
  conn.hooks.onWritable = pump;
  conn.hooks.onError = (code, message) => {
    process.stderr.write(`tunBulk: synack connection failed: ${code}: ${message}\n`);
    rx.kill();
  };
  const r = await rx.result;
  return { mbps: r.bytes / 1e6 / (r.ms / 1000), peerCpuS: r.cpuS };
}

/** CPU seconds per thread of this process (schedstat's run time), by thread name ('main' for the main thread). */
export function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const s = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
      const key = tid === String(process.pid) ? 'main' : name;
      out.set(key, (out.get(key) ?? 0) + s);
    } catch {
      // the thread exited meanwhile
    }
  }
  return out;
}

interface Case {
  dir: TunDirection;
  offload: boolean;
  /** A TAP device (the Stack as an Ethernet host) instead of a TUN device. */
  tap: boolean;
  samples: number[];
  ratios: number[];
  world: TunWorld | null;
}

/** `synack bench --only tun`: see the file comment; figures and per-round ratios to veth. */
export async function runTunGroup(opts: BenchOptions, rep: Reporter, mtus: readonly number[], bytes: number, vethBytes: number): Promise<void> {
  const ok = canUseNetns();
  const why = !ok.ok ? ok.why : tunUnavailableReason();
  const label = (c: Pick<Case, 'dir' | 'offload' | 'tap'>, mtu: number): string => `${c.tap ? 'TAP' : 'TUN'} ${c.dir} MTU ${mtu}${c.offload ? '' : ' (no offload)'}`;
  // TUN with and without offloads at every MTU; TAP with offloads at MTU 1500 (the same offloads
  // behind an Ethernet header, through an EthernetInterface).
  const cases = (mtu: number): Case[] =>
    (['kernel->synack', 'synack->kernel'] as const).flatMap((dir) => [
      ...[true, false].map((offload) => ({ dir, offload, tap: false, samples: [], ratios: [], world: null })),
      ...(mtu === 1500 ? [{ dir, offload: true, tap: true, samples: [], ratios: [], world: null }] : []),
    ]);
  for (const mtu of mtus) {
    if (why !== null) {
      rep.figure(skipped(`kernel-to-kernel veth MTU ${mtu} (tun group)`, 'MB/s', why));
      for (const c of cases(mtu)) rep.figure(skipped(label(c, mtu), 'MB/s', why));
      continue;
    }
    const list = cases(mtu);
    const veth: number[] = [];
    const pair = createVethPair(mtu);
    try {
      for (const c of list) c.world = await openWorld(mtu, c.offload, true, c.tap);
      // Rounds: veth, then every TUN case, so machine noise falls on all of them alike; each
      // ratio is taken within its round.
      for (let round = -opts.warmup; round < opts.runs; round++) {
        rep.progress(`tun: MTU ${mtu} round ${round < 0 ? 'warm-up' : round + 1}`);
        const v = await vethBulk(pair, vethBytes);
        for (const c of list) {
          const { mbps } = await tunBulk(c.world!, c.dir, bytes);
          if (round < 0) continue;
          c.samples.push(mbps);
          c.ratios.push(mbps / v);
        }
        if (round >= 0) veth.push(v);
      }
    } finally {
      for (const c of list) c.world?.destroy();
      pair.destroy();
    }
    rep.figure(summarize(`kernel-to-kernel veth MTU ${mtu} (tun group)`, 'MB/s', veth, { note: `${vethBytes / MiB} MiB, Node sender and receiver in two namespaces` }));
    for (const c of list) {
      const offloads = c.offload ? 'offloads on' : 'offloads off';
      rep.figure(summarize(label(c, mtu), 'MB/s', c.samples, { note: `${bytes / MiB} MiB, ${offloads}, Node on the kernel side` }));
    }
    for (const c of list) {
      // Issue 20's targets are the TUN device's.
      const target: Figure['target'] | undefined = mtu === 1500 && !c.tap ? { op: '>=', value: c.offload ? 0.8 : 0.35 } : undefined;
      rep.figure(summarize(`ratio ${label(c, mtu)} / veth`, 'x', c.ratios, { note: 'per-round ratios', ...(target !== undefined ? { target } : {}) }));
    }
  }
}
