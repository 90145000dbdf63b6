// SND.NXT (RFC 9293 3.3.1) never moves backwards, also while a retransmission timeout has the
// sender going back to SND.UNA (RFC 6298 5.4): that runs on the separate pointer rtxNxt, which
// stays inside [SND.UNA, SND.NXT). Checked after every poll() of a lossy transfer with RTOs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from '../helpers/tcp.js';
import { seededRandom } from '../../src/util/random.js';
import { ge, le, lt, sub } from '../../src/wire/seq.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';

interface Watch {
  polls: number;
  goingBack: number;
  /** Pure ACKs whose sequence number was not SND.NXT at the time. */
  badAcks: number;
}

/** Wrap c.poll to check the pointers after each call and the pure ACKs it emits. */
function watch(c: TcpConnection, w: Watch): void {
  const poll = c.poll.bind(c);
  let last = c.info().sndNxt;
  c.poll = (now, emit) => {
    poll(now, (seg) => {
      if (seg.payload.length === 0 && seg.flags === 0x10 && seg.seq !== c.info().sndNxt && seg.seq !== sub(c.info().sndUna, 1) >>> 0) w.badAcks++;
      emit(seg);
    });
    w.polls++;
    assert.ok(ge(c.info().sndNxt, last), `SND.NXT went back from ${last} to ${c.info().sndNxt} at t=${now}`);
    last = c.info().sndNxt;
    assert.ok(le(c.info().sndUna, c.info().sndNxt), `SND.UNA ${c.info().sndUna} beyond SND.NXT ${c.info().sndNxt}`);
    if (c.info().rtxNxt !== -1) {
      w.goingBack++;
      assert.ok(le(c.info().sndUna, c.info().rtxNxt) && lt(c.info().rtxNxt, c.info().sndNxt), `rtxNxt ${c.info().rtxNxt} outside [${c.info().sndUna}, ${c.info().sndNxt})`);
    }
  };
}

function lossyTransfer(config: TcpConfigInput, seed: number): { p: Pair; w: Watch } {
  // ISS just below 2^32: the sequence space wraps during the transfer.
  const p = new Pair({ latency: 20, configA: config, configB: config, issA: 0xffff_f000 });
  const w: Watch = { polls: 0, goingBack: 0, badAcks: 0 };
  watch(p.a, w);
  const r = seededRandom(seed);
  // Data from a: 10% random loss plus bursts of 12 consecutive losses, enough to starve the
  // duplicate ACKs and TLP so that retransmission timeouts fire.
  let burst = 0;
  p.drop = (from, seg) => {
    if (from !== 'a' || seg.payload.length === 0) return false;
    if (burst > 0) {
      burst--;
      return true;
    }
    const x = r.u32() % 100;
    if (x < 2) burst = 11;
    return x < 10;
  };
  const data = new Uint8Array(150_000).map((_, i) => (i * 7 + (i >>> 8)) & 255);
  p.run(1_000);
  assert.equal(p.a.state, 'ESTABLISHED');
  let off = 0;
  while (off < data.length) {
    off += p.a.send(data.subarray(off));
    p.run(p.now + 200);
  }
  p.a.close();
  p.run(p.now + 600_000);
  assert.deepEqual(p.concat('b'), data, 'the stream arrived intact');
  return { p, w };
}

for (const [name, config] of [
  ['SACK with RACK-TLP', { sack: true, rack: true }],
  ['SACK without RACK', { sack: true, rack: false }],
  ['NewReno, no SACK', { sack: false, rack: false }],
] as const) {
  test(`SND.NXT is monotonic over a lossy transfer with RTOs (${name})`, () => {
    const { p, w } = lossyTransfer(config, 4242);
    const st = p.a.stats();
    assert.ok(st.timeouts >= 2, `retransmission timeouts fired: ${st.timeouts}`);
    assert.ok(w.goingBack > 0, 'the sender was seen going back (rtxNxt set) after a timeout');
    assert.ok(w.polls > 100, `polls checked: ${w.polls}`);
    assert.equal(w.badAcks, 0, 'every pure ACK carried SND.NXT');
    assert.equal(p.a.info().rtxNxt, -1, 'no going back once everything is acknowledged');
    assert.equal(p.a.info().sndNxt, p.a.info().sndUna);
  });
}
