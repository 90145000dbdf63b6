// The seeded simulator: reproducible from its seed, and each impairment does what it says
// (loss rates, bursts, bandwidth and queue, duplication, reordering, corruption, MTU, down).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimPair, type SimOptions, type SimPacketEvent } from '../../src/link/sim.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';

function run(opts: SimOptions, n: number, size = 100, gap = 1): {
  got: { t: number; p: Uint8Array }[];
  evs: SimPacketEvent[];
  sim: ReturnType<typeof createSimPair>;
} {
  const clock = new VirtualClock();
  const evs: SimPacketEvent[] = [];
  const sim = createSimPair(clock, { ...opts, onPacket: (e) => evs.push(e) });
  const [a, b] = sim;
  const got: { t: number; p: Uint8Array }[] = [];
  b.onReceive = (p) => got.push({ t: clock.now(), p });
  for (let i = 0; i < n; i++) {
    clock.schedule(i * gap, () => {
      const p = new Uint8Array(size);
      p[0] = i & 0xff;
      p[1] = i >> 8;
      a.send(p);
    });
  }
  clock.runUntilIdle();
  return { got, evs, sim };
}
const idx = (p: Uint8Array): number => p[0]! | (p[1]! << 8);

test('sim: a clean link delivers everything in order after the latency', () => {
  const { got, sim } = run({ seed: 1, latency: 20 }, 50);
  assert.equal(got.length, 50);
  assert.deepEqual(got.map((g) => idx(g.p)), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(got[0]!.t, 20);
  assert.equal(sim.stats()[0].delivered, 50);
  assert.equal(sim.stats()[1].sent, 0);
});

test('sim: the same seed gives the same losses; the loss rate is close to the setting', () => {
  const x = run({ seed: 7, loss: 0.1 }, 5000);
  const y = run({ seed: 7, loss: 0.1 }, 5000);
  const z = run({ seed: 8, loss: 0.1 }, 5000);
  const lostX = x.evs.filter((e) => e.fate === 'lost').map((e) => idx(e.data));
  assert.deepEqual(lostX, y.evs.filter((e) => e.fate === 'lost').map((e) => idx(e.data)));
  assert.notDeepEqual(lostX, z.evs.filter((e) => e.fate === 'lost').map((e) => idx(e.data)));
  const rate = lostX.length / 5000;
  assert.ok(rate > 0.085 && rate < 0.115, `loss rate ${rate}`);
  assert.equal(x.got.length + lostX.length, 5000);
});

test('sim: Gilbert-Elliott losses come in bursts', () => {
  const { evs } = run({ seed: 3, lossBurst: { enter: 0.02, exit: 0.25 } }, 20000);
  const lost = evs.map((e) => e.fate === 'lost');
  let runs = 0;
  let losses = 0;
  for (let i = 0; i < lost.length; i++) {
    if (lost[i]) {
      losses++;
      if (i === 0 || !lost[i - 1]) runs++;
    }
  }
  const meanBurst = losses / runs;
  // Expected mean burst length is 1/exit = 4; independent loss would give about 1.
  assert.ok(meanBurst > 3 && meanBurst < 5, `mean burst ${meanBurst}`);
  assert.ok(evs.every((e) => e.fate !== 'lost' || e.reason === 'burst'));
});

test('sim: bandwidth adds serialization delay and a drop-tail queue', () => {
  // 100 packets of 1000 bytes at once into 100 kB/s with a 10 kB queue.
  const { got, evs } = run({ seed: 1, bandwidth: 100_000, queueLimit: 10_000, mtu: 1500 }, 100, 1000, 0);
  assert.equal(got.length, 10);
  assert.deepEqual(got.map((g) => g.t), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.equal(evs.filter((e) => e.reason === 'queue').length, 90);
});

test('sim: jitter keeps order; reorder lets later packets overtake', () => {
  const j = run({ seed: 2, latency: 10, jitter: 30 }, 200);
  assert.deepEqual(j.got.map((g) => idx(g.p)), Array.from({ length: 200 }, (_, i) => i));
  assert.ok(j.got.some((g, i) => g.t !== i + 10), 'jitter moved some arrivals');
  const r = run({ seed: 2, latency: 10, reorder: { probability: 0.2, delay: 5 } }, 200);
  const order = r.got.map((g) => idx(g.p));
  assert.equal(order.length, 200);
  let inversions = 0;
  for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]!) inversions++;
  assert.ok(inversions > 10, `inversions ${inversions}`);
  assert.equal(r.sim.stats()[0].reordered, r.evs.filter((e) => e.reordered).length);
});

test('sim: duplication delivers twice; corruption flips exactly one bit of a copy', () => {
  const d = run({ seed: 4, duplicate: 1 }, 10);
  assert.equal(d.got.length, 20);
  const c = run({ seed: 4, corrupt: 1 }, 10, 64);
  assert.equal(c.got.length, 10);
  for (let i = 0; i < 10; i++) {
    const sent = c.evs[i]!.data;
    const recv = c.got[i]!.p;
    assert.notEqual(sent, recv);
    let bits = 0;
    for (let k = 0; k < sent.length; k++) {
      let x = sent[k]! ^ recv[k]!;
      while (x) {
        bits += x & 1;
        x >>= 1;
      }
    }
    assert.equal(bits, 1);
    assert.equal(c.evs[i]!.fate, 'corrupted');
  }
});

test('sim: packets above the MTU are dropped as too-big', () => {
  const { got, evs, sim } = run({ seed: 1, mtu: 576 }, 3, 600);
  assert.equal(got.length, 0);
  assert.ok(evs.every((e) => e.fate === 'too-big'));
  assert.equal(sim[0].mtu, 576);
  assert.equal(sim.stats()[0].tooBig, 3);
});

test('sim: setDown drops new and in-flight packets until brought back up; directions are independent', () => {
  const clock = new VirtualClock();
  const sim = createSimPair(clock, { seed: 1, latency: 10, from1: { latency: 50 } });
  const [a, b] = sim;
  const atB: number[] = [];
  const atA: number[] = [];
  b.onReceive = (p) => atB.push(p[0]!);
  a.onReceive = (p) => atA.push(clock.now());
  a.send(new Uint8Array([1])); // in flight when the link goes down
  b.send(new Uint8Array([9]));
  clock.runUntil(5);
  sim.setDown(true, 0);
  a.send(new Uint8Array([2]));
  clock.runUntil(20);
  sim.setDown(false);
  a.send(new Uint8Array([3]));
  clock.runUntilIdle();
  assert.deepEqual(atB, [3]);
  assert.deepEqual(atA, [50]); // the other direction was never down and has its own latency
  assert.equal(sim.stats()[0].down, 2);
});
