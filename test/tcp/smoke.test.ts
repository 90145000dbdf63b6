// Two cores back to back move 2 MB across the 2^32 sequence wrap under random loss, with and
// without SACK, and both reach CLOSED.
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
    while (p.a.state === 'SYN-SENT' || p.a.state === 'ESTABLISHED') {
      if (p.a.state === 'ESTABLISHED') { off += p.a.send(data.subarray(off)); if (off === N) break; }
      p.run(p.now + 50);
    }
    p.a.close();
    p.run(p.now + 600000);
    p.b.close();
    p.run();
    const got = p.concat('b');
    const st = p.a.stats();
    assert.ok(st.retransSegs > 0, 'losses were repaired by retransmission');
    if (sack) assert.ok(st.sackedBytes > 0, 'the receiver reported SACK blocks');
    assert.equal(got.length, N);
    assert.deepEqual(got, data);
    assert.equal(p.a.state, 'CLOSED');
    assert.equal(p.b.state, 'CLOSED');
  });
}
