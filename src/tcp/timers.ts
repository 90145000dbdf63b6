// Timeouts as deadlines (RFC 9293 3.10.8): retransmission with exponential backoff (RFC 6298 5),
// the persist timer (3.8.6.1), keep-alive (RFC 1122 4.2.3.6), delayed ACK, TIME-WAIT's 2*MSL,
// the FIN-WAIT-2 limit for released connections, and RACK-TLP's reordering timer and probe
// timeout (RFC 8985 6.2 step 5, 7.3).

import { sub } from '../wire/seq.js';
import type { TcpRepr } from '../wire/tcp.js';
import type { TcpConnection } from './connection.js';
import { sendProbe } from './output.js';
import { rackActive, onRackTimer, onPto, rackOnRto } from './loss.js';

type Emit = (seg: TcpRepr) => void;

export function onTimers(c: TcpConnection, now: number, emit: Emit): void {
  if (now >= c.timeWaitAt) {
    c.timeWaitAt = Infinity;
    timer(c, now, 'time-wait');
    c.toClosed('timeout 2*MSL');
    return;
  }
  if (now >= c.finWait2At) {
    c.finWait2At = Infinity;
    timer(c, now, 'user-timeout');
    c.toClosed('timeout');
    return;
  }
  if (now >= c.userTimeoutAt) {
    // RFC 9293 3.10.8 USER TIMEOUT: at any time, not only when a retransmission is due.
    timer(c, now, 'user-timeout');
    c.fail(c.softError ?? 'ETIMEDOUT', 'user timeout: data unacknowledged');
    return;
  }
  if (now >= c.rackAt) {
    c.rackAt = Infinity;
    onRackTimer(c, now);
  }
  if (now >= c.tlpAt) {
    // Before the RTO: a PTO capped at the RTO's expiry sends the probe first (RFC 8985 7.2).
    c.tlpAt = Infinity;
    timer(c, now, 'tlp');
    onPto(c, now);
  }
  if (now >= c.rtoAt) {
    c.rtoAt = Infinity;
    retransmissionTimeout(c, now);
    if (c.state === 'CLOSED') return;
  }
  if (now >= c.persistAt) {
    c.persistAt = Infinity;
    timer(c, now, 'persist');
    persist(c, now, emit);
  }
  if (now >= c.keepaliveAt) {
    c.keepaliveAt = Infinity;
    keepalive(c, now, emit);
    if (c.state === 'CLOSED') return;
  }
  if (now >= c.delackAt) {
    c.delackAt = Infinity;
    timer(c, now, 'delayed-ack');
    c.ackNow = true;
  }
}

function timer(c: TcpConnection, now: number, which: 'rto' | 'syn' | 'persist' | 'delayed-ack' | 'keepalive' | 'time-wait' | 'user-timeout' | 'tlp'): void {
  if (c.hooks.onTrace) c.trace({ type: 'timer', t: now, host: '', timer: which });
}

/** RFC 6298 5.4-5.7 and RFC 5681 eq. 4: back off, collapse cwnd, go back to SND.UNA. */
function retransmissionTimeout(c: TcpConnection, now: number): void {
  const handshake = c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED';
  timer(c, now, handshake ? 'syn' : 'rto');
  c.retransmits++;
  c.counters.timeouts++;
  if (handshake) {
    if (c.retransmits > c.config.synRetries) {
      if (c.passive) c.toClosed('timeout');
      else c.fail(c.softError ?? 'ETIMEDOUT', 'connection timed out (no answer to SYN)');
      return;
    }
    c.rtt.backoff();
    c.rttSeq = -1;
    c.goBack(c.iss); // dispatch() sends the SYN (or SYN,ACK) again
    return;
  }
  if (c.sndUna === c.sndNxt) return; // nothing outstanding any more
  const userTimedOut = c.config.userTimeout > 0 && now - c.firstUnackedAt >= c.config.userTimeout;
  if (c.retransmits > c.config.retries || userTimedOut) {
    c.fail(c.softError ?? 'ETIMEDOUT', userTimedOut ? 'user timeout: data unacknowledged' : 'connection timed out (retransmissions exhausted)');
    return;
  }
  const cc = c.ensureCc();
  cc.onTimeout(now, sub(c.sndNxt, c.sndUna));
  if (c.hooks.onTrace) c.trace({ type: 'cc', t: now, host: '', cwnd: cc.cwnd, ssthresh: cc.ssthresh, reason: 'timeout' });
  c.inRecovery = false;
  c.inflation = 0;
  c.dupAcks = 0;
  c.recover = c.sndNxt; // RFC 6582 section 4
  c.rxtEnd = c.sndUna;
  if (rackActive(c)) rackOnRto(c);
  c.rtt.backoff();
  c.rttSeq = -1;
  // RFC 6298 5.4: retransmit the earliest unacknowledged segment; dispatch() goes on from there
  // (go-back-N) while SND.NXT stays where it is (RFC 9293 3.3.1).
  c.goBack(c.sndUna);
  c.rtoAt = now + c.rtt.rto; // re-armed even if nothing can leave now (RFC 6298 5.5-5.6)
}

/** Zero-window probe, or a forced send past Nagle/SWS when the window is open but small. */
function persist(c: TcpConnection, now: number, emit: Emit): void {
  if (sub(c.sndBufEnd, c.sendPtr) <= 0) return;
  if (c.sndWnd - sub(c.sendPtr, c.sndUna) > 0) {
    c.forceSend = true;
    return;
  }
  c.counters.persistProbes++;
  sendProbe(c, now, emit);
  c.persistBackoff++;
  c.persistAt = now + Math.min(c.rtt.rto * 2 ** c.persistBackoff, c.config.maxRto);
}

/** RFC 1122 4.2.3.6: after `idle` without traffic, probe every `interval`; give up after `count`. */
function keepalive(c: TcpConnection, now: number, emit: Emit): void {
  const ka = c.config.keepAlive;
  if (!ka.enabled) return;
  if (c.state !== 'ESTABLISHED' && c.state !== 'CLOSE-WAIT' && c.state !== 'FIN-WAIT-2') {
    // FIN-WAIT-1, CLOSING, LAST-ACK: our FIN is in flight and the retransmission timer watches the
    // peer. Keep the keepalive armed so that FIN-WAIT-2, which has no timer of its own while the
    // application still reads, is watched again once the FIN is acknowledged (like Linux, which
    // reschedules its keepalive while anything is outstanding). TIME-WAIT and CLOSED clear it.
    c.keepaliveAt = now + ka.idle;
    return;
  }
  // Compare against the deadline itself, not `now - lastRecvAt < idle`: with fractional times the
  // two disagree by a rounding step and the timer would be re-armed at `now` forever.
  if (now < c.lastRecvAt + ka.idle) {
    c.keepaliveProbes = 0;
    c.keepaliveAt = c.lastRecvAt + ka.idle;
    return;
  }
  if (c.keepaliveProbes >= ka.count) {
    c.fail('ETIMEDOUT', 'keep-alive: peer stopped answering');
    return;
  }
  timer(c, now, 'keepalive');
  c.keepaliveProbes++;
  sendProbe(c, now, emit);
  c.keepaliveAt = now + ka.interval;
}
