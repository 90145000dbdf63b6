// Processing the ACK field in synchronized states (RFC 9293 3.10.7.4 fifth): SND.UNA and the send
// window, RTT samples (RFC 6298, RFC 7323 section 4), duplicate ACKs, fast retransmit and fast
// recovery (RFC 5681 3.2, NewReno RFC 6582, SACK-based RFC 6675); with RACK-TLP (RFC 8985, loss.ts)
// loss is inferred from transmit times instead of duplicate-ACK counts.
//
// No function here takes the whole Tcb: AckView is what ACK processing reads and changes (the send
// side, recovery, timers, the send buffer); it never changes the state or the receive side.

import { textLength, type TcpRepr } from '../wire/tcp.js';
import { addInt, sub, lt, le, gt, ge } from '../wire/seq.js';
import { Timer, NO_SEQ, type Recovery, type SendSeq, type Tcb } from './tcb.js';
import { retransmitOne } from './output.js';
import { rackActive, rackOnAck, startPrr, ccTrace, type LossView } from './loss.js';
import { sendSpaceFreed } from './send-buffer.js';

/** What ACK processing reads and changes. */
export type AckView = LossView & Pick<Tcb, 'sendBuf' | 'firstUnackedAt' | 'advanceSendPtr' | 'flightSize' | 'rcvWnd' | 'reordering' | 'sndBufEnd' | 'sendPtr'>;

export function processAck(c: AckView, seg: TcpRepr, now: number): void {
  const ack = seg.ack;
  const oldWnd = c.snd.wnd;
  let newlySacked = 0;
  let dsack = false;
  const oldUna = c.snd.una;
  const sackedBefore = c.hasSacks ? c.scoreboard.sackedBytes : 0;
  let newlyLost = 0;
  if (c.sackOk && seg.options.sack !== undefined && seg.options.sack.length > 0) {
    dsack = isDsack(seg);
    newlySacked = c.scoreboard.update(c.snd.una, c.snd.nxt, dsack ? seg.options.sack.slice(1) : seg.options.sack);
    c.counters.sackedBytes += newlySacked;
  }

  const advanced = gt(ack, c.snd.una);
  if (advanced) {
    const acked = sub(ack, c.snd.una);
    onNewAck(c, seg, acked, now);
  } else if (
    ack === c.snd.una &&
    textLength(seg) === 0 &&
    !(seg.flags & 0x01) &&
    sub(c.snd.nxt, c.snd.una) > 0 &&
    (seg.window << c.snd.wscale === oldWnd || newlySacked > 0)
  ) {
    // RFC 5681 section 2 DUPLICATE ACKNOWLEDGMENT (SACK that covers new data counts too, RFC 6675).
    c.counters.dupAcksIn++;
    if (onDupAck(c, now)) newlyLost = 1;
  }
  // RFC 8985 6.2: RACK looks at every ACK that moves SND.UNA or SACKs data, once both are recorded.
  if (rackActive(c) && (advanced || newlySacked > 0 || dsack || (c.rec.rack !== null && c.rec.rack.tlpEndSeq !== null))) {
    newlyLost += rackOnAck(c, seg, now, advanced, newlySacked > 0, dsack);
  }
  // RFC 6937: in SACK-based fast recovery, what this ACK delivered (cumulatively ACKed plus newly
  // SACKed) decides how much may leave in answer to it.
  const prr = c.rec.prr;
  if (prr !== null && c.rec.inRecovery) {
    const mss = c.snd.mss;
    const deliveredBytes = sub(c.snd.una, oldUna) + (c.hasSacks ? c.scoreboard.sackedBytes : 0) - sackedBefore;
    prr.onAck(
      Math.ceil(Math.max(0, deliveredBytes) / mss),
      Math.ceil(c.flightSize() / mss),
      Math.max(2, Math.floor(c.ensureCc().ssthresh / mss)),
      advanced && newlyLost === 0,
    );
  }

  // Window update (RFC 9293 3.10.7.4: only from segments newer than the last update).
  if (c.snd.takeWindow(seg.seq, ack, seg.window)) {
    const wnd = c.snd.wnd;
    if (wnd > 0) {
      c.disarm(Timer.Persist);
      c.rec.persistBackoff = 0;
    }
    if (wnd !== oldWnd && c.hooks.onTrace) {
      c.hooks.onTrace({ type: 'window', t: now, host: '', rcvWnd: c.rcvWnd, sndWnd: wnd });
    }
  }
}

function onNewAck(c: AckView, seg: TcpRepr, acked: number, now: number): void {
  const cc = c.ensureCc();
  const ack = seg.ack;
  // RTT: timestamps when negotiated (RFC 7323 4.1), else the one timed segment (Karn's rule).
  const ts = seg.options.timestamp;
  if (c.tsOk && ts !== undefined && ts.ecr !== 0) {
    const r = (c.tsNow(now) - ts.ecr) >>> 0;
    if (r < 0x7fffffff) {
      c.rtt.sample(r, ack, c.snd.nxt);
      c.rec.rack?.noteRtt(r, now);
    }
  } else if (c.rec.rttSeq !== NO_SEQ && gt(ack, c.rec.rttSeq)) {
    c.rtt.sample(Math.max(0, now - c.rec.rttStart), ack, c.snd.nxt);
    c.rec.rack?.noteRtt(Math.max(0, now - c.rec.rttStart), now);
    c.rec.rttSeq = NO_SEQ;
  }

  // Drop acknowledged bytes from the send buffer (the SYN and FIN occupy no buffer space).
  const dataAcked = Math.max(0, Math.min(sub(ack, c.snd.bufSeq), c.sendBuf.length));
  // A full buffer: the writer is waiting for space (Linux's SOCK_NOSPACE, for send-buffer.ts).
  const wasFull = c.sendBuf.free === 0;
  if (dataAcked > 0) {
    c.sendBuf.consume(dataAcked);
    c.snd.bufSeq = addInt(c.snd.bufSeq, dataAcked);
    c.counters.bytesAcked += dataAcked;
  }
  // The congestion controller's own RTT sample (Linux's ca_rtt_us), taken before RACK drops the ranges.
  const ccRtt = cc.onRttSample !== undefined && c.rec.rack !== null ? c.rec.rack.ackRttSample(ack, now) : -1;
  const oldUna = c.snd.una;
  c.snd.una = ack;
  if (ccRtt >= 0) cc.onRttSample!(ccRtt, now, ack, c.snd.nxt);
  // Going back after a timeout: the peer holds everything below the ACK, skip it.
  if (c.snd.rtxNxt !== NO_SEQ && lt(c.snd.rtxNxt, ack)) c.advanceSendPtr(ack);
  const sackedBefore = c.hasSacks ? c.scoreboard.sackedBytes : 0;
  if (c.hasSacks) c.scoreboard.pruneBelow(ack);
  const sackedCovered = sackedBefore - (c.hasSacks ? c.scoreboard.sackedBytes : 0);
  const growth = c.config.slowStartAckLimit === 0 ? newlyDelivered(c.sackOk, c.rec, c.snd, acked, sackedCovered) : acked;
  c.rec.retransmits = 0;
  c.rec.dupAcks = 0;

  // RFC 6298 5.2/5.3: restart the timer while data is outstanding, stop it when all is acked.
  if (c.snd.una === c.snd.nxt) {
    c.disarm(Timer.Rto);
    c.firstUnackedAt = Infinity;
  } else {
    c.arm(Timer.Rto, now + c.rtt.rto);
    c.firstUnackedAt = now;
  }

  if (c.rec.inRecovery) {
    if (ge(ack, c.rec.recover)) {
      // Full acknowledgment: leave fast recovery (RFC 6582 3.2 step 3; RFC 6675 section 5).
      c.rec.inRecovery = false;
      c.rec.prr = null;
      c.rec.inflation = 0;
      cc.onRecoveryEnd(now);
      ccTrace(c.hooks, cc, now, 'recovery end');
    } else if (!c.sackOk) {
      // NewReno partial ACK (RFC 6582 3.2 step 4): retransmit the next hole, deflate.
      retransmitOne(c, c.snd.una);
      c.rec.inflation = Math.max(0, c.rec.inflation - acked) + (acked >= c.snd.mss ? c.snd.mss : 0);
    } else {
      if (gt(c.snd.una, c.rec.rxtEnd)) c.rec.rxtEnd = c.snd.una;
    }
  } else if (oldUna !== c.snd.iss) {
    // Past the recovery point, drag "recover" along so it stays within 2^31 of SND.UNA and the
    // comparison in onDupAck survives the sequence wrap (RFC 6582 section 5, last paragraphs).
    if (ge(ack, c.rec.recover)) c.rec.recover = ack;
    // Outside recovery, new data acknowledged grows the window (the ACK of our SYN does not),
    // with cwndValidation only while the window is used (Linux's tcp_is_cwnd_limited).
    if (!c.config.cwndValidation || c.rec.cwndLimited || (cc.cwnd < cc.ssthresh && cc.cwnd < 2 * c.rec.maxOutstanding)) {
      cc.onAck(growth, now, c.rtt.srtt);
    }
    ccTrace(c.hooks, cc, now, 'ack');
  }
  if (dataAcked > 0) {
    sendSpaceFreed(c, wasFull);
    c.hooks.onWritable?.();
  }
}

/**
 * What a cumulative ACK newly delivered, as Linux counts it for cwnd growth (tcp_ack's
 * acked_sacked): a segment counts once, when it is first SACKed (without SACK: when its duplicate
 * ACK arrives, tcp_add_reno_sack), so the ACK that later covers it adds only the rest, and at least
 * one segment (tcp_remove_reno_sacks). The growth itself still happens only on ACKs that move
 * SND.UNA (tcp_may_raise_cwnd's FLAG_DATA_ACKED), as RFC 5681 does. `sackedCovered`: bytes SACKed
 * before that this ACK covers.
 */
function newlyDelivered(sackOk: boolean, rec: Recovery, snd: SendSeq, acked: number, sackedCovered: number): number {
  if (sackOk) return Math.max(0, acked - sackedCovered);
  return Math.max(acked - rec.dupAcks * snd.mss, Math.min(acked, snd.mss));
}

/** A duplicate ACK; true when it started fast recovery (a loss newly detected). */
function onDupAck(c: AckView, now: number): boolean {
  const cc = c.ensureCc();
  c.rec.dupAcks++;
  if (c.rec.inRecovery) {
    if (!c.sackOk) c.rec.inflation += c.snd.mss; // RFC 5681 3.2 step 4 (NewReno keeps it)
    return false;
  }
  // RACK decides from transmit times (RFC 8985 6.2 step 4 keeps DupThresh as reo_wnd = 0).
  if (rackActive(c)) return false;
  const lostBySack = c.sackOk && c.hasSacks && c.scoreboard.isLost(c.snd.una, c.snd.mss, c.config.dupThresh);
  if (c.rec.dupAcks < c.config.dupThresh && !lostBySack) return false;
  // RFC 6582 3.2 step 2 / RFC 6675 5: duplicate ACKs for data sent before the last recovery or
  // timeout (below "recover") do not start another one.
  if (lt(c.snd.una, c.rec.recover)) return false;
  if (c.sackOk) startPrr(c.rec, c.snd);
  c.rec.inRecovery = true;
  c.rec.recover = c.snd.nxt;
  cc.onLoss(now, sub(c.snd.nxt, c.snd.una));
  c.counters.fastRetrans++;
  ccTrace(c.hooks, cc, now, 'fast retransmit');
  if (c.sackOk) {
    c.rec.rxtEnd = c.snd.una;
  } else {
    c.rec.inflation = c.config.dupThresh * c.snd.mss; // RFC 5681 3.2 step 3
  }
  retransmitOne(c, c.snd.una);
  if (c.sackOk) c.rec.rxtEnd = addInt(c.snd.una, Math.min(c.snd.mss, sub(c.snd.nxt, c.snd.una)));
  return true;
}

/**
 * RFC 2883 section 4: the first SACK block reports a duplicate when it lies at or below the
 * cumulative ACK, or inside the second block.
 */
function isDsack(seg: TcpRepr): boolean {
  const b = seg.options.sack!;
  const first = b[0]!;
  if (le(first.right, seg.ack)) return true;
  const second = b[1];
  return second !== undefined && ge(first.left, second.left) && le(first.right, second.right);
}
