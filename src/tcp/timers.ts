// Timeouts as deadlines (RFC 9293 3.10.8): retransmission with exponential backoff (RFC 6298 5),
// the persist timer (3.8.6.1), keep-alive (RFC 1122 4.2.3.6), delayed ACK, TIME-WAIT's 2*MSL,
// the FIN-WAIT-2 limit for released connections, and RACK-TLP's reordering timer and probe
// timeout (RFC 8985 6.2 step 5, 7.3).
//
// onTimers, retransmissionTimeout, persist and keepalive take the whole Tcb: an expiring timer may
// close or fail the connection (a state change) and sends probes through output.ts.

import { sub } from '../wire/seq.js';
import { Timer, NO_SEQ, type Tcb, type TcpHooks } from './tcb.js';
import { sendProbe, sendRst, type Emit } from './output.js';
import { rackActive, rackOf, onRackTimer, onPto, rackOnRto, ccTrace } from './loss.js';


export function onTimers(c: Tcb, now: number, emit: Emit): void {
  if (now >= c.deadline(Timer.TimeWait)) {
    c.disarm(Timer.TimeWait);
    timer(c.hooks, now, 'time-wait');
    c.toClosed('timeout 2*MSL');
    return;
  }
  if (now >= c.deadline(Timer.FinWait2)) {
    c.disarm(Timer.FinWait2);
    timer(c.hooks, now, 'user-timeout');
    c.toClosed('timeout');
    return;
  }
  if (now >= c.userTimeoutAt) {
    // RFC 9293 3.10.8 USER TIMEOUT: at any time, not only when a retransmission is due.
    timer(c.hooks, now, 'user-timeout');
    c.fail(c.softError ?? 'ETIMEDOUT', 'user timeout: data unacknowledged');
    return;
  }
  if (now >= c.deadline(Timer.Rack)) {
    c.disarm(Timer.Rack);
    onRackTimer(c, now);
  }
  if (now >= c.deadline(Timer.Tlp)) {
    // Before the RTO: a PTO capped at the RTO's expiry sends the probe first (RFC 8985 7.2).
    c.disarm(Timer.Tlp);
    timer(c.hooks, now, 'tlp');
    onPto(c, now);
  }
  if (now >= c.deadline(Timer.Rto)) {
    c.disarm(Timer.Rto);
    retransmissionTimeout(c, now);
    if (c.state === 'CLOSED') return;
  }
  if (now >= c.deadline(Timer.Persist)) {
    c.disarm(Timer.Persist);
    timer(c.hooks, now, 'persist');
    persist(c, now, emit);
  }
  if (now >= c.deadline(Timer.Keepalive)) {
    c.disarm(Timer.Keepalive);
    keepalive(c, now, emit);
    if (c.state === 'CLOSED') return;
  }
  if (now >= c.deadline(Timer.DelayedAck)) {
    c.disarm(Timer.DelayedAck);
    timer(c.hooks, now, 'delayed-ack');
    c.out.delack?.timerFired(c.rtt.rto, c.config.delayedAck);
    c.out.ack = true;
  }
}

function timer(hooks: TcpHooks, now: number, which: 'rto' | 'syn' | 'persist' | 'delayed-ack' | 'keepalive' | 'time-wait' | 'user-timeout' | 'tlp'): void {
  hooks.onTrace?.({ type: 'timer', t: now, host: '', timer: which });
}

/** RFC 6298 5.4-5.7 and RFC 5681 eq. 4: back off, collapse cwnd, go back to SND.UNA. */
function retransmissionTimeout(c: Tcb, now: number): void {
  const handshake = c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED';
  timer(c.hooks, now, handshake ? 'syn' : 'rto');
  c.rec.retransmits++;
  c.counters.timeouts++;
  if (handshake) {
    if (c.rec.retransmits > (c.passive ? c.config.synAckRetries : c.config.synRetries)) {
      if (c.passive) c.toClosed('timeout');
      else c.fail(c.softError ?? 'ETIMEDOUT', 'connection timed out (no answer to SYN)');
      return;
    }
    c.rtt.backoff();
    c.rec.rttSeq = NO_SEQ;
    c.goBack(c.snd.iss); // dispatch() sends the SYN (or SYN,ACK) again
    return;
  }
  if (c.snd.una === c.snd.nxt) return; // nothing outstanding any more
  const userTimedOut = c.config.userTimeout > 0 && now - c.firstUnackedAt >= c.config.userTimeout;
  if (c.rec.retransmits > c.config.retries || userTimedOut) {
    c.fail(c.softError ?? 'ETIMEDOUT', userTimedOut ? 'user timeout: data unacknowledged' : 'connection timed out (retransmissions exhausted)');
    return;
  }
  const cc = c.ensureCc();
  cc.onTimeout(now, sub(c.snd.nxt, c.snd.una));
  ccTrace(c.hooks, cc, now, 'timeout');
  c.rec.inRecovery = false;
  c.rec.inflation = 0;
  c.rec.dupAcks = 0;
  c.rec.recover = c.snd.nxt; // RFC 6582 section 4
  c.rec.rxtEnd = c.snd.una;
  if (rackActive(c)) rackOnRto(rackOf(c), c, c.out);
  c.rtt.backoff();
  c.rec.rttSeq = NO_SEQ;
  // RFC 6298 5.4: retransmit the earliest unacknowledged segment; dispatch() goes on from there
  // (go-back-N) while SND.NXT stays where it is (RFC 9293 3.3.1).
  c.goBack(c.snd.una);
  c.arm(Timer.Rto, now + c.rtt.rto); // re-armed even if nothing can leave now (RFC 6298 5.5-5.6)
}

/** Zero-window probe, or a forced send past Nagle/SWS when the window is open but small. */
function persist(c: Tcb, now: number, emit: Emit): void {
  if (sub(c.sndBufEnd, c.sendPtr) <= 0) return;
  if (c.snd.wnd - sub(c.sendPtr, c.snd.una) > 0) {
    c.out.force = true;
    return;
  }
  c.counters.persistProbes++;
  sendProbe(c, now, emit);
  c.rec.persistBackoff++;
  c.arm(Timer.Persist, now + Math.min(c.rtt.rto * 2 ** c.rec.persistBackoff, c.config.maxRto));
}

/** RFC 1122 4.2.3.6: after `idle` without traffic, probe every `interval`; give up after `count`. */
function keepalive(c: Tcb, now: number, emit: Emit): void {
  const ka = c.config.keepAlive;
  if (!ka.enabled) return;
  if (c.state !== 'ESTABLISHED' && c.state !== 'CLOSE-WAIT' && c.state !== 'FIN-WAIT-2') {
    // FIN-WAIT-1, CLOSING, LAST-ACK: our FIN is in flight and the retransmission timer watches the
    // peer. Keep the keepalive armed so that FIN-WAIT-2, which has no timer of its own while the
    // application still reads, is watched again once the FIN is acknowledged (like Linux, which
    // reschedules its keepalive while anything is outstanding). TIME-WAIT and CLOSED clear it.
    c.arm(Timer.Keepalive, now + ka.idle);
    return;
  }
  // Compare against the deadline itself, not `now - lastRecvAt < idle`: with fractional times the
  // two disagree by a rounding step and the timer would be re-armed at `now` forever.
  if (now < c.lastRecvAt + ka.idle) {
    c.rec.keepaliveProbes = 0;
    c.arm(Timer.Keepalive, c.lastRecvAt + ka.idle);
    return;
  }
  if (c.rec.keepaliveProbes >= ka.count) {
    // The peer may be back without this connection: reset it, as Linux (tcp_keepalive_timer's
    // tcp_send_active_reset) and BSD (tcp_drop) do; RFC 1122 4.2.3.6 only says to close.
    sendRst(c, now, emit);
    c.fail('ETIMEDOUT', 'keep-alive: peer stopped answering');
    return;
  }
  timer(c.hooks, now, 'keepalive');
  c.rec.keepaliveProbes++;
  sendProbe(c, now, emit);
  c.arm(Timer.Keepalive, now + ka.interval);
}
