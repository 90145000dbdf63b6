import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from '../helpers/tcp.js';
import { seededRandom, randomFloat } from '../../src/util/random.js';

for (const sack of [true, false]) for (const loss of [0.01, 0.05, 0.2]) {
  test(`lossy sack=${sack} loss=${loss}`, () => {
    const r = seededRandom(7);
    const cfg = { sack, timestamps: sack, congestion: 'newreno' as const };
    const p = new Pair({ configA: cfg, configB: cfg, issA: 0xfffff000 });
    p.drop = () => randomFloat(r) < loss;
    const N = 2_000_000;
    const data = new Uint8Array(N).map((_, i) => (i * 7) & 255);
    let off = 0;
    const t0 = Date.now();
    while (p.a.state === 'SYN-SENT' || p.a.state === 'ESTABLISHED') {
      if (p.a.state === 'ESTABLISHED') { off += p.a.send(data.subarray(off)); if (off === N) break; }
      p.run(p.now + 50);
    }
    p.a.close();
    p.run(p.now + 600000);
    p.b.close();
    p.run();
    const got = p.concat('b');
    console.log(sack, loss, 'virt', p.now, 'wall', Date.now() - t0, p.a.stats());
    assert.equal(got.length, N);
    assert.deepEqual(got, data);
    assert.equal(p.a.state, 'CLOSED');
    assert.equal(p.b.state, 'CLOSED');
  });
}
