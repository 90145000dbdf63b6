// Processing the ACK field in synchronized states (RFC 9293 3.10.7.4 fifth): SND.UNA and the send
// window, RTT samples (RFC 6298, RFC 7323 section 4), duplicate ACKs, fast retransmit and fast
// recovery (RFC 5681 3.2, NewReno RFC 6582, SACK-based RFC 6675); with RACK-TLP (RFC 8985, loss.ts)
// loss is inferred from transmit times instead of duplicate-ACK counts.

import type { TcpRepr } from '../wire/tcp.js';
import { add, sub, lt, le, gt, ge } from '../wire/seq.js';
import type { TcpConnection } from './connection.js';
import { retransmitOne } from './output.js';
import { rackActive, rackOnAck, startPrr } from './loss.js';

export function processAck(c: TcpConnection, seg: TcpRepr, now: number): void {
  const ack = seg.ack;
  const oldWnd = c.sndWnd;
  let newlySacked = 0;
  let dsack = false;
  const oldUna = c.sndUna;
  const sackedBefore = c.hasSacks ? c.scoreboard.sackedBytes : 0;
  let newlyLost = 0;
  if (c.sackOk && seg.options.sack !== undefined && seg.options.sack.length > 0) {
    dsack = isDsack(seg);
    newlySacked = c.scoreboard.update(c.sndUna, c.sndNxt, dsack ? seg.options.sack.slice(1) : seg.options.sack);
    c.counters.sackedBytes += newlySacked;
  }

  const advanced = gt(ack, c.sndUna);
  if (advanced) {
    const acked = sub(ack, c.sndUna);
    onNewAck(c, seg, acked, now);
  } else if (
    ack === c.sndUna &&
    seg.payload.length === 0 &&
    !(seg.flags & 0x01) &&
    sub(c.sndNxt, c.sndUna) > 0 &&
    (seg.window << c.sndWscale === oldWnd || newlySacked > 0)
  ) {
    // RFC 5681 section 2 DUPLICATE ACKNOWLEDGMENT (SACK that covers new data counts too, RFC 6675).
    c.counters.dupAcksIn++;
    if (onDupAck(c, now)) newlyLost = 1;
  }
  // RFC 8985 6.2: RACK looks at every ACK that moves SND.UNA or SACKs data, once both are recorded.
  if (rackActive(c) && (advanced || newlySacked > 0 || dsack || (c.rack !== null && c.rack.tlpEndSeq !== null))) {
    newlyLost += rackOnAck(c, seg, now, advanced, newlySacked > 0, dsack);
  }
  // RFC 6937: in SACK-based fast recovery, what this ACK delivered (cumulatively ACKed plus newly
  // SACKed) decides how much may leave in answer to it.
  const prr = c.prr;
  if (prr !== null && c.inRecovery) {
    const mss = c.sndMss;
    const deliveredBytes = sub(c.sndUna, oldUna) + (c.hasSacks ? c.scoreboard.sackedBytes : 0) - sackedBefore;
    prr.onAck(
      Math.ceil(Math.max(0, deliveredBytes) / mss),
      Math.ceil(c.flightSize() / mss),
      Math.max(2, Math.floor(c.ensureCc().ssthresh / mss)),
      advanced && newlyLost === 0,
    );
  }

  // Window update (RFC 9293 3.10.7.4: only from segments newer than the last update).
  if (lt(c.sndWl1, seg.seq) || (c.sndWl1 === seg.seq && le(c.sndWl2, ack))) {
    const wnd = seg.window << c.sndWscale;
    c.sndWnd = wnd;
    c.sndWl1 = seg.seq;
    c.sndWl2 = ack;
    if (wnd > c.maxSndWnd) c.maxSndWnd = wnd;
    if (wnd > 0) {
      c.persistAt = Infinity;
      c.persistBackoff = 0;
    }
    if (wnd !== oldWnd && c.hooks.onTrace) {
      c.trace({ type: 'window', t: now, host: '', rcvWnd: sub(c.rcvAdv, c.rcvNxt), sndWnd: wnd });
    }
  }
}

function onNewAck(c: TcpConnection, seg: TcpRepr, acked: number, now: number): void {
  const cc = c.ensureCc();
  const ack = seg.ack;
  // RTT: timestamps when negotiated (RFC 7323 4.1), else the one timed segment (Karn's rule).
  const ts = seg.options.timestamp;
  if (c.tsOk && ts !== undefined && ts.ecr !== 0) {
    const r = (c.tsNow(now) - ts.ecr) >>> 0;
    if (r < 0x7fffffff) {
      c.rtt.sample(r, ack, c.sndNxt);
      c.rack?.noteRtt(r, now);
    }
  } else if (c.rttSeq >= 0 && gt(ack, c.rttSeq)) {
    c.rtt.sample(Math.max(0, now - c.rttStart), ack, c.sndNxt);
    c.rack?.noteRtt(Math.max(0, now - c.rttStart), now);
    c.rttSeq = -1;
  }

  // Drop acknowledged bytes from the send buffer (the SYN and FIN occupy no buffer space).
  const dataAcked = Math.max(0, Math.min(sub(ack, c.sndBufSeq), c.sendBuf.length));
  if (dataAcked > 0) {
    c.sendBuf.consume(dataAcked);
    c.sndBufSeq = add(c.sndBufSeq, dataAcked);
    c.counters.bytesAcked += dataAcked;
  }
  const oldUna = c.sndUna;
  c.sndUna = ack;
  // Going back after a timeout: the peer holds everything below the ACK, skip it.
  if (c.rtxNxt !== -1 && lt(c.rtxNxt, ack)) c.advanceSendPtr(ack);
  if (c.hasSacks) c.scoreboard.pruneBelow(ack);
  c.retransmits = 0;
  c.dupAcks = 0;

  // RFC 6298 5.2/5.3: restart the timer while data is outstanding, stop it when all is acked.
  if (c.sndUna === c.sndNxt) {
    c.rtoAt = Infinity;
    c.firstUnackedAt = Infinity;
  } else {
    c.rtoAt = now + c.rtt.rto;
    c.firstUnackedAt = now;
  }

  if (c.inRecovery) {
    if (ge(ack, c.recover)) {
      // Full acknowledgment: leave fast recovery (RFC 6582 3.2 step 3; RFC 6675 section 5).
      c.inRecovery = false;
      c.prr = null;
      c.inflation = 0;
      cc.onRecoveryEnd(now);
      trace(c, now, 'recovery end');
    } else if (!c.sackOk) {
      // NewReno partial ACK (RFC 6582 3.2 step 4): retransmit the next hole, deflate.
      retransmitOne(c, c.sndUna);
      c.inflation = Math.max(0, c.inflation - acked) + (acked >= c.sndMss ? c.sndMss : 0);
    } else {
      if (gt(c.sndUna, c.rxtEnd)) c.rxtEnd = c.sndUna;
    }
  } else if (oldUna !== c.iss) {
    // Past the recovery point, drag "recover" along so it stays within 2^31 of SND.UNA and the
    // comparison in onDupAck survives the sequence wrap (RFC 6582 section 5, last paragraphs).
    if (ge(ack, c.recover)) c.recover = ack;
    // Outside recovery, new data acknowledged grows the window (the ACK of our SYN does not).
    cc.onAck(acked, now, c.rtt.srtt);
    trace(c, now, 'ack');
  }
  if (dataAcked > 0) c.hooks.onWritable?.();
}

/** A duplicate ACK; true when it started fast recovery (a loss newly detected). */
function onDupAck(c: TcpConnection, now: number): boolean {
  const cc = c.ensureCc();
  c.dupAcks++;
  if (c.inRecovery) {
    if (!c.sackOk) c.inflation += c.sndMss; // RFC 5681 3.2 step 4 (NewReno keeps it)
    return false;
  }
  // RACK decides from transmit times (RFC 8985 6.2 step 4 keeps DupThresh as reo_wnd = 0).
  if (rackActive(c)) return false;
  const lostBySack = c.sackOk && c.hasSacks && c.scoreboard.isLost(c.sndUna, c.sndMss, c.config.dupThresh);
  if (c.dupAcks < c.config.dupThresh && !lostBySack) return false;
  // RFC 6582 3.2 step 2 / RFC 6675 5: duplicate ACKs for data sent before the last recovery or
  // timeout (below "recover") do not start another one.
  if (lt(c.sndUna, c.recover)) return false;
  if (c.sackOk) startPrr(c);
  c.inRecovery = true;
  c.recover = c.sndNxt;
  cc.onLoss(now, sub(c.sndNxt, c.sndUna));
  c.counters.fastRetrans++;
  trace(c, now, 'fast retransmit');
  if (c.sackOk) {
    c.rxtEnd = c.sndUna;
  } else {
    c.inflation = c.config.dupThresh * c.sndMss; // RFC 5681 3.2 step 3
  }
  retransmitOne(c, c.sndUna);
  if (c.sackOk) c.rxtEnd = add(c.sndUna, Math.min(c.sndMss, sub(c.sndNxt, c.sndUna)));
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

function trace(c: TcpConnection, now: number, reason: string): void {
  if (c.hooks.onTrace && c.cc) {
    c.trace({ type: 'cc', t: now, host: '', cwnd: c.cc.cwnd, ssthresh: c.cc.ssthresh, reason });
  }
}
