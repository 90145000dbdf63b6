// The benchmark groups `npm run bench` runs, in order: each measures its figures and hands them to the reporter.

import { compare, measure, skipped, summarize, type BenchOptions, type Reporter, type Side, type Target } from './harness.js';
import { canUseNetns, createVethPair, kernelBulk, kernelChurn, vethBulk } from './kernel.js';
import { loadSynack, type ScalingRun, type SynackBench } from './synack.js';
import { runTunGroup } from './tun.js';

export interface Group {
  name: string;
  about: string;
  /** Only run when named with --only. */
  optIn?: boolean;
  run(opts: BenchOptions, rep: Reporter): Promise<void>;
}

const MiB = 1024 * 1024;

/** Sizes used by each group, scaled down by --quick; --counts replaces the connection counts. */
export function sizes(quick: boolean, counts: readonly number[] = []) {
  const custom = counts.length > 0 ? [...counts].sort((a, b) => a - b) : undefined;
  return {
    bulkBytes: quick ? 32 * MiB : 256 * MiB,
    synackBulkBytes: quick ? 16 * MiB : 64 * MiB,
    churnCycles: quick ? 1000 : 5000,
    churnConcurrency: 4,
    memoryCounts: custom ?? (quick ? [1000, 10_000] : [10_000, 100_000]),
    scalingCounts: custom ?? (quick ? [1, 1000, 10_000] : [1, 1000, 10_000, 100_000]),
    scalingBytes: quick ? 4 * MiB : 16 * MiB,
    vethBytes: quick ? 64 * MiB : 512 * MiB,
    vethMtus: [1500, 9000, 65535],
    tunBytes: quick ? 32 * MiB : 128 * MiB,
    tunVethBytes: quick ? 128 * MiB : 512 * MiB,
  };
}

let synack: SynackBench | string | undefined;
let driver: BenchOptions['driver'] = 'auto';
async function getSynack(): Promise<SynackBench | string> {
  synack ??= await loadSynack(driver);
  return synack;
}

/** Choose the synack driver before the first group runs. */
export function useDriver(d: BenchOptions['driver']): void {
  driver = d;
  synack = undefined;
}

const bulk: Group = {
  name: 'bulk',
  about: 'one connection, one process: synack pair on the in-memory link at MTU 1500/9000/65535 beside Node net on 127.0.0.1',
  async run(opts, rep) {
    const sz = sizes(opts.quick, opts.counts);
    const kernelNote = `${sz.bulkBytes / MiB} MiB, 64 KiB writes, server discards`;
    const s = await getSynack();
    if (typeof s === 'string') {
      rep.figure(await measure('kernel bulk (node net, 127.0.0.1)', 'MB/s', opts, () => kernelBulk(sz.bulkBytes), { note: kernelNote }));
      for (const mtu of [1500, 9000, 65535]) rep.figure(skipped(`synack bulk MTU ${mtu}`, 'MB/s', s));
      return;
    }
    // JIT warm-up before anything is timed: the first few 16 MiB transfers run 2-3x slower.
    rep.progress('bulk: JIT warm-up (3 x 16 MiB at MTU 1500, untimed)');
    for (let i = 0; i < 3; i++) await s.bulk(1500, 16 * MiB);
    // MTU 1500 and 65535 each run beside the kernel (interleaved pairs, so the ratio is read from
    // the same moments of a shared machine); the kernel's figure is reported from the first pairing.
    const kernel: Side = { name: 'kernel bulk (node net, 127.0.0.1)', fn: () => kernelBulk(sz.bulkBytes), extra: { note: kernelNote } };
    for (const mtu of [1500, 9000, 65535]) {
      const segs: number[] = [];
      const side: Side = {
        name: `synack bulk MTU ${mtu}${s.flavour}`,
        fn: async (run) => {
          const r = await s.bulk(mtu, sz.synackBulkBytes);
          if (run >= 0) segs.push(r.segmentsPerSec);
          return r.mbps;
        },
        extra: { note: `${sz.synackBulkBytes / MiB} MiB, checksums on, memory link batches (GRO)`, ...(mtu === 1500 ? { target: { op: '>=', value: 1000 } } : {}) },
      };
      if (mtu === 9000) {
        rep.figure(await measure(side.name, 'MB/s', opts, side.fn, side.extra));
        rep.figure(summarize(`synack bulk MTU ${mtu}${s.flavour} segments`, 'seg/s', segs));
        continue;
      }
      const target: Target = mtu === 1500 ? { op: '>=', value: 0.75 } : { op: '>=', value: 0.6 };
      const [a, b, r] = await compare('MB/s', opts, side, kernel, { name: `ratio synack MTU ${mtu} / kernel bulk`, target });
      rep.figure(a);
      rep.figure(summarize(`synack bulk MTU ${mtu}${s.flavour} segments`, 'seg/s', segs));
      if (mtu === 1500) rep.figure(b);
      rep.figure(r);
    }
    // MTU 1500 again with the memory link handing packets over one by one (batch: false: no GRO,
    // the receiver acknowledges every second segment), beside the kernel again.
    if (s.flavour === '') {
      const single: Side = {
        name: 'synack bulk MTU 1500 packet by packet',
        fn: async () => (await s.bulk(1500, sz.synackBulkBytes, false)).mbps,
        extra: { note: `${sz.synackBulkBytes / MiB} MiB, checksums on, memory link batch: false` },
      };
      const [a, , r] = await compare('MB/s', opts, single, kernel, { name: 'ratio synack MTU 1500 packet by packet / kernel bulk' });
      rep.figure(a);
      rep.figure(r);
    }
  },
};

const churn: Group = {
  name: 'churn',
  about: 'connect, small request, small response, close: synack in-process beside Node net over loopback',
  async run(opts, rep) {
    const sz = sizes(opts.quick, opts.counts);
    const note = `${sz.churnCycles} cycles, ${sz.churnConcurrency} in flight, 32 B request, 64 B response`;
    const s = await getSynack();
    const kernel = { name: 'kernel churn (node net, 127.0.0.1)', fn: () => kernelChurn(sz.churnCycles, sz.churnConcurrency), extra: { note } };
    if (typeof s === 'string' || s.churn === undefined) {
      rep.figure(await measure(kernel.name, 'cycles/s', opts, kernel.fn, kernel.extra));
      rep.figure(skipped('synack churn', 'cycles/s', typeof s === 'string' ? s : 'needs the Stack (src/stack)'));
      return;
    }
    const churnFn = s.churn;
    const figs = await compare(
      'cycles/s',
      opts,
      { name: `synack churn${s.flavour}`, fn: () => churnFn(sz.churnCycles, sz.churnConcurrency), extra: { note } },
      kernel,
      { name: 'ratio synack churn / kernel churn', target: { op: '>=', value: 4 } },
    );
    for (const f of figs) rep.figure(f);
  },
};

const memory: Group = {
  name: 'memory',
  about: 'heap and RSS per idle established connection (forced collections before and after)',
  async run(opts, rep) {
    const sz = sizes(opts.quick, opts.counts);
    const s = await getSynack();
    for (const n of sz.memoryCounts) {
      if (typeof s === 'string') {
        rep.figure(skipped(`synack heap per idle connection @${n}`, 'B', s));
        continue;
      }
      const heap: number[] = [];
      const rss: number[] = [];
      // Building 100,000 connections is slow: fewer runs, no warm-up.
      const runs = n >= 100_000 ? Math.min(opts.runs, 3) : opts.runs;
      for (let i = 0; i < runs; i++) {
        const m = await s.memory(n);
        heap.push(m.heapPerConn);
        rss.push(m.rssPerConn);
      }
      rep.figure(summarize(`synack heap per idle connection @${n}${s.flavour}`, 'B', heap, { target: { op: '<=', value: 2048 } }));
      rep.figure(summarize(`synack RSS per idle connection @${n}${s.flavour}`, 'B', rss));
    }
  },
};

const scaling: Group = {
  name: 'scaling',
  about: 'wall time per data segment of one transfer while N - 1 other connections sit idle (all N side by side)',
  async run(opts, rep) {
    const sz = sizes(opts.quick, opts.counts);
    const s = await getSynack();
    if (typeof s === 'string') {
      for (const n of sz.scalingCounts) rep.figure(skipped(`synack per-segment cost @${n} open`, 'ns/seg', s));
      return;
    }
    // Every population is built first and then measured round-robin (rotating who goes first), so
    // JIT warm-up and machine noise do not favour one N; the ratio is taken within each round.
    const worlds: { n: number; run: ScalingRun; samples: number[] }[] = [];
    try {
      for (const n of sz.scalingCounts) {
        rep.progress(`scaling: opening ${n} connections`);
        worlds.push({ n, run: await s.scaling(n), samples: [] });
      }
      for (let i = 0; i < opts.warmup; i++) for (const w of worlds) w.run.transfer(sz.scalingBytes);
      const ratios: number[] = [];
      for (let r = 0; r < opts.runs; r++) {
        for (let k = 0; k < worlds.length; k++) {
          const w = worlds[(k + r) % worlds.length]!;
          w.samples.push(w.run.transfer(sz.scalingBytes));
        }
        ratios.push(worlds[worlds.length - 1]!.samples[r]! / worlds[0]!.samples[r]!);
      }
      for (const w of worlds) {
        rep.figure(
          summarize(`synack per-segment cost @${w.n} open${s.flavour}`, 'ns/seg', w.samples, {
            note: `${sz.scalingBytes / MiB} MiB at MTU 1500 while ${w.n - 1} idle`,
          }),
        );
      }
      if (worlds.length > 1) {
        rep.figure(
          summarize(`ratio per-segment cost @${worlds[worlds.length - 1]!.n} / @1`, 'x', ratios, {
            target: { op: '<=', value: 1.3 },
            note: 'per-round ratios',
          }),
        );
      }
    } finally {
      for (const w of worlds) w.run.dispose();
    }
  },
};

const veth: Group = {
  name: 'veth',
  about: 'kernel to kernel over veth between two network namespaces (198.18.0.0/24), Node sender and receiver; root only',
  async run(opts, rep) {
    const sz = sizes(opts.quick, opts.counts);
    const ok = canUseNetns();
    for (const mtu of sz.vethMtus) {
      const name = `kernel-to-kernel veth MTU ${mtu}`;
      if (!ok.ok) {
        rep.figure(skipped(name, 'MB/s', ok.why));
        continue;
      }
      const pair = createVethPair(mtu);
      try {
        rep.figure(await measure(name, 'MB/s', opts, () => vethBulk(pair, sz.vethBytes), { note: `${sz.vethBytes / MiB} MiB, separate processes` }));
      } finally {
        pair.destroy();
      }
    }
  },
};

const tun: Group = {
  name: 'tun',
  about: 'kernel <-> synack over a TUN device at MTU 1500/9000/65535, offloads on and off, beside kernel-to-kernel veth in the same rounds; root only',
  optIn: true,
  async run(opts, rep) {
    const sz = sizes(opts.quick, opts.counts);
    await runTunGroup(opts, rep, sz.vethMtus, sz.tunBytes, sz.tunVethBytes);
  },
};

export const GROUPS: readonly Group[] = [bulk, churn, memory, scaling, veth, tun];
