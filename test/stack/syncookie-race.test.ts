// SYN cookies in 'auto' mode when the SYN queue fills and drains under a client that retransmits
// its SYN (issue 14: ~5% of kernel clients reset at backlog 511). The client's first SYN met a full
// queue and got a cookie SYN-ACK; its retransmitted SYN met room and opened a SYN-RECEIVED entry
// with another ISS; the ACK of the cookie then reached that entry, failed its "does it acknowledge
// our SYN" test (RFC 9293 3.10.7.4 fifth) and was answered with a RST that reset the client.
// Linux's tcp_check_req hands such an ACK (ACK != the request's ISS + 1) back to the listener,
// whose cookie check (cookie_v4_check) accepts a valid cookie; so does synack now. Exact segments,
// one listener with a backlog of 2, virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, rawPeer, A4, text, str, type Pair } from './fixture.js';
import { SYN, ACK, RST, PSH, describe, expectNothing, matchSeg } from '../helpers/tcp.js';
import type { TcpRepr } from '../../src/wire/tcp.js';
import type { SynCookieMode } from '../../src/tcp/listener.js';

const CLIENT_ISN = 5000;
/** Two other clients' handshakes fill the queue: ports 1000 and 1001, ISNs 7 and 8. */
const FILLERS = [1000, 1001] as const;

interface Race {
  p: Pair;
  send: (seg: Partial<TcpRepr>) => void;
  got: TcpRepr[];
  /** Segments b sent since the last call. */
  take: () => TcpRepr[];
  accepted: string[];
  listener: { pending: number };
  /** The SYN-ACK each filler got. */
  fillerSynAcks: Map<number, TcpRepr>;
}

function race(mode: SynCookieMode = 'auto'): Race {
  const p = twoStacks({ latency: 0 });
  const { send: rawSend, got } = rawPeer(p);
  const send = (s: Partial<TcpRepr>): void => {
    rawSend(A4, s);
    p.clock.runUntil(p.clock.now() + 1);
  };
  let seen = 0;
  const take = (): TcpRepr[] => got.slice(seen, (seen = got.length));
  const accepted: string[] = [];
  const listener = p.b.tcpListen({ port: 80, backlog: 2, synCookies: mode }, (conn, info) => {
    accepted.push(`${info.remotePort} ${conn.state}`);
    conn.hooks.onReadable = () => accepted.push(`${info.remotePort} read ${str(conn.recv())}`);
  });
  const fillerSynAcks = new Map<number, TcpRepr>();
  for (const [i, port] of FILLERS.entries()) {
    send({ srcPort: port, seq: 7 + i, flags: SYN, options: { mss: 1460 } });
    const [sa] = take();
    assert.ok(sa !== undefined && sa.flags === (SYN | ACK), `filler ${port} got a SYN-ACK`);
    fillerSynAcks.set(port, sa);
  }
  assert.equal(listener.pending, 2, 'the SYN queue is full');
  return { p, send, got, take, accepted, listener, fillerSynAcks };
}

/** The client's SYN meets the full queue: a cookie SYN-ACK (nothing stored). */
function cookieSynAck(r: Race): TcpRepr {
  r.send({ seq: CLIENT_ISN, flags: SYN, options: { mss: 1460 } });
  const out = r.take();
  assert.equal(out.length, 1, out.map(describe).join(' | '));
  matchSeg(out[0]!, { flags: SYN | ACK, ack: CLIENT_ISN + 1 }, 'cookie SYN-ACK');
  assert.equal(r.p.b.stats().tcpSynCookiesSent, 1);
  return out[0]!;
}

/** Filler 1000 completes its handshake: one slot of the queue frees. */
function drainOne(r: Race): void {
  const sa = r.fillerSynAcks.get(1000)!;
  r.send({ srcPort: 1000, seq: 8, ack: (sa.seq + 1) >>> 0, flags: ACK });
  assert.deepEqual(r.accepted, ['1000 ESTABLISHED']);
  assert.equal(r.listener.pending, 1);
  r.take();
}

test('a retransmitted SYN that finds room after a cookie SYN-ACK: the ACK of the cookie wins, no RST, the data arrives', () => {
  const r = race();
  const cookie = cookieSynAck(r);
  drainOne(r);
  // The client heard nothing within its RTO and sends its SYN again: room now, a SYN-RECEIVED entry.
  r.send({ seq: CLIENT_ISN, flags: SYN, options: { mss: 1460 } });
  const [sa2, ...more] = r.take();
  assert.ok(sa2 !== undefined && more.length === 0);
  matchSeg(sa2, { flags: SYN | ACK, ack: CLIENT_ISN + 1 }, 'SYN-ACK of the SYN-RECEIVED entry');
  assert.notEqual(sa2.seq, cookie.seq, 'its ISS is not the cookie');
  assert.equal(r.listener.pending, 2);
  // The cookie SYN-ACK reached the client first: it ACKs the cookie and sends its request.
  r.send({ seq: CLIENT_ISN + 1, ack: (cookie.seq + 1) >>> 0, flags: ACK | PSH, payload: text('GET /') });
  r.p.clock.runUntil(r.p.clock.now() + 500); // the delayed ACK
  const out = r.take();
  assert.ok(!out.some((s) => s.flags & RST), `no reset: ${out.map(describe).join(' | ')}`);
  assert.equal(out.length, 1, out.map(describe).join(' | '));
  matchSeg(out[0]!, { flags: ACK, seq: (cookie.seq + 1) >>> 0, ack: CLIENT_ISN + 6 }, 'the request is acknowledged on the cookie ISS');
  assert.deepEqual(r.accepted, ['1000 ESTABLISHED', '40000 ESTABLISHED', '40000 read GET /']);
  assert.equal(r.listener.pending, 1, 'the SYN-RECEIVED entry left the queue (filler 1001 is still in it)');
  assert.deepEqual([r.p.b.stats().tcpSynCookiesValid, r.p.b.stats().tcpResetsSent], [1, 0]);
  // The replaced entry is gone: it never retransmits its SYN-ACK.
  r.p.clock.runUntil(r.p.clock.now() + 10_000);
  assert.ok(!r.take().some((s) => s.flags & SYN && s.dstPort === 40000), 'no SYN-ACK retransmission for port 40000');
  assert.equal(r.p.b.connections().filter((c) => c.remotePort === 40000).length, 1);
});

test('the reverse order: the cookie ACK first, then the retransmitted SYN, gets a challenge ACK and no new entry', () => {
  const r = race();
  const cookie = cookieSynAck(r);
  drainOne(r);
  r.send({ seq: CLIENT_ISN + 1, ack: (cookie.seq + 1) >>> 0, flags: ACK });
  assert.deepEqual(r.accepted, ['1000 ESTABLISHED', '40000 ESTABLISHED']);
  expectNothing(r.take(), 'the bare ACK completes the handshake');
  r.send({ seq: CLIENT_ISN, flags: SYN, options: { mss: 1460 } });
  const out = r.take();
  assert.equal(out.length, 1, out.map(describe).join(' | '));
  matchSeg(out[0]!, { flags: ACK, seq: (cookie.seq + 1) >>> 0, ack: CLIENT_ISN + 1 }, 'RFC 5961 4.2 challenge ACK');
  assert.equal(r.listener.pending, 1);
  assert.equal(r.p.b.stats().tcpResetsSent, 0);
});

test('an ACK for neither the SYN-RECEIVED entry nor a valid cookie is still answered with <SEQ=SEG.ACK><CTL=RST>', () => {
  const r = race();
  const cookie = cookieSynAck(r);
  drainOne(r);
  r.send({ seq: CLIENT_ISN, flags: SYN, options: { mss: 1460 } });
  r.take();
  const bad = (cookie.seq + 1000) >>> 0;
  r.send({ seq: CLIENT_ISN + 1, ack: bad, flags: ACK });
  const out = r.take();
  assert.equal(out.length, 1, out.map(describe).join(' | '));
  matchSeg(out[0]!, { flags: RST, seq: bad }, 'RFC 9293 3.10.7.4 fifth, SYN-RECEIVED');
  assert.equal(r.p.b.stats().tcpSynCookiesFailed, 1, 'checked as a cookie first, as Linux does');
  assert.equal(r.listener.pending, 2, 'the entry lives on');
});

test("with synCookies 'never' nothing changes: an ACK that does not acknowledge our SYN gets the RST", () => {
  const r = race('never');
  r.send({ seq: CLIENT_ISN, flags: SYN, options: { mss: 1460 } });
  expectNothing(r.take(), 'SYN beyond the backlog dropped');
  drainOne(r);
  r.send({ seq: CLIENT_ISN, flags: SYN, options: { mss: 1460 } });
  const [sa] = r.take();
  assert.ok(sa !== undefined);
  r.send({ seq: CLIENT_ISN + 1, ack: (sa.seq + 7) >>> 0, flags: ACK });
  const out = r.take();
  assert.equal(out.length, 1);
  matchSeg(out[0]!, { flags: RST, seq: (sa.seq + 7) >>> 0 });
  assert.equal(r.p.b.stats().tcpSynCookiesFailed, 0);
});
