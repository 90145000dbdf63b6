// What a connection sends now: SYN and SYN,ACK with option negotiation (RFC 9293 3.5, RFC 7323,
// RFC 2018), data under the send and congestion windows with Nagle and sender-side SWS avoidance
// (RFC 9293 3.7.4, 3.8.6.2.1), SACK-based loss recovery (RFC 6675 NextSeg, or RACK's lost marks:
// RFC 8985), the Tail Loss Probe (RFC 8985 7.3), FIN, ACKs, resets.

import { TcpFlag, type TcpOptions, type TcpRepr } from '../wire/tcp.js';
import { add, sub, lt, le, gt } from '../wire/seq.js';
import type { TcpConnection } from './connection.js';
import { rackActive, rackOf, scheduleTlp, probeSent, nextLost } from './loss.js';

const { FIN, SYN, RST, PSH, ACK } = TcpFlag;
type Emit = (seg: TcpRepr) => void;

const NO_PAYLOAD = new Uint8Array(0);

/** Queue a one-segment retransmission at `seq` for the next poll (fast retransmit, partial ACK). */
export function retransmitOne(c: TcpConnection, seq: number): void {
  c.pendingRetransmit = seq;
  c.hooks.onPollNeeded?.();
}

/** Everything due now, in order: resets, retransmission, SYN, data and FIN, then a pure ACK. */
export function dispatch(c: TcpConnection, now: number, emit: Emit): void {
  if (c.pendingResetSeq !== -1) {
    const seq = c.pendingResetSeq;
    c.pendingResetSeq = -1;
    emit(bare(c, seq, 0, RST));
    c.segsOut++;
    if (c.closeAfterReset) {
      c.toClosed('ABORT');
      return;
    }
  }
  switch (c.state) {
    case 'SYN-SENT':
    case 'SYN-RECEIVED':
      if (c.sendPtr === c.iss) sendSyn(c, now, emit);
      else if (c.ackNow && c.state === 'SYN-RECEIVED') emit(segment(c, c.sndNxt, ACK, NO_PAYLOAD, now));
      c.ackNow = false;
      return;
    case 'CLOSED':
    case 'LISTEN':
      return;
    default:
      // CLOSE in SYN-RECEIVED went to FIN-WAIT-1 before our SYN was acknowledged: a timeout
      // (going back to ISS) resends the SYN,ACK ahead of the FIN (RFC 9293 3.10.4).
      if (c.sendPtr === c.iss && c.sndUna === c.iss) sendSyn(c, now, emit);
      break;
  }
  let sent = false;
  if (c.tlpProbe) {
    c.tlpProbe = false;
    if (canSend(c) && c.sndUna !== c.sndNxt) sent = sendLossProbe(c, now, emit) || sent;
  }
  if (c.pendingRetransmit !== -1) {
    const seq = c.pendingRetransmit;
    c.pendingRetransmit = -1;
    if (lt(seq, c.sndNxt) && !lt(seq, c.sndUna)) sent = sendAt(c, seq, c.sndMss, now, emit, true, 'fast') || sent;
  }
  if (canSend(c)) {
    const nxtBefore = c.sndNxt;
    sent = sendData(c, now, emit) || sent;
    // RFC 8985 7.2: (re)start the probe timeout after sending new data.
    if (gt(c.sndNxt, nxtBefore) && rackActive(c)) scheduleTlp(c, now);
  }
  if (!sent && (c.ackNow || now >= c.delackAt)) {
    // A pure ACK carries SND.NXT (RFC 9293 3.3.1), never the go-back pointer rtxNxt: that may be
    // below what the peer already holds, and an ACK numbered there would be unacceptable to it
    // (and answered with an ACK, forever).
    emit(segment(c, c.sndNxt, ACK, NO_PAYLOAD, now));
  }
}

function canSend(c: TcpConnection): boolean {
  switch (c.state) {
    case 'ESTABLISHED':
    case 'CLOSE-WAIT':
    case 'FIN-WAIT-1':
    case 'CLOSING':
    case 'LAST-ACK':
      return true;
    default:
      return false;
  }
}

/** SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED) with our options (RFC 9293 3.7.1, RFC 7323 2.2, RFC 2018 2). */
function sendSyn(c: TcpConnection, now: number, emit: Emit): void {
  const synAck = c.state !== 'SYN-SENT';
  const cfg = c.config;
  const options: TcpOptions = { mss: cfg.mss };
  if (synAck ? c.sackOk : cfg.sack) options.sackPermitted = true;
  if (synAck ? c.tsOk : cfg.timestamps) {
    options.timestamp = { val: c.tsNow(now), ecr: synAck ? c.tsRecent : 0 };
  }
  if (cfg.windowScale && (!synAck || c.peerOfferedWscale)) {
    options.wscale = c.rcvWscale;
  }
  const window = Math.min(c.recvBuf.capacity, 0xffff);
  const seg: TcpRepr = {
    srcPort: c.tuple.localPort,
    dstPort: c.tuple.remotePort,
    seq: c.iss,
    ack: synAck ? c.rcvNxt : 0,
    flags: synAck ? SYN | ACK : SYN,
    window,
    urgent: 0,
    options,
    payload: NO_PAYLOAD,
  };
  if (synAck) {
    c.rcvAdv = add(c.rcvNxt, window);
    c.lastAckSent = c.rcvNxt;
  }
  c.advanceSendPtr(add(c.iss, 1));
  if (c.retransmits === 0) {
    c.rttSeq = c.iss;
    c.rttStart = now;
  } else {
    c.counters.retransSegs++;
    c.trace({ type: 'retransmit', t: now, host: '', seq: c.iss, len: 0, reason: 'syn' });
  }
  c.rtoAt = now + c.rtt.rto;
  c.segsOut++;
  c.lastSendAt = now;
  emit(seg);
}

/** New data, go-back retransmission after a timeout, SACK hole retransmission, and FIN. */
function sendData(c: TcpConnection, now: number, emit: Emit): boolean {
  const cc = c.ensureCc();
  let sent = false;
  if (c.inRecovery && c.sackOk) sent = sackRecovery(c, now, emit);
  // After a timeout RACK keeps finding lost (re)transmissions: resend them before the go-back
  // pointer gets there (RFC 8985 6.2 step 5 applies in RTO recovery too, as on Linux).
  else if (lt(c.sndUna, c.recover) && rackActive(c)) sent = rackRecovery(c, now, emit);
  for (;;) {
    let limit = c.sndMss;
    if (c.rtxNxt !== -1 && c.hasSacks) {
      // After a timeout, skip what the peer already holds (RFC 6675 5.1).
      const hole = c.scoreboard.nextHole(c.rtxNxt, c.sndNxt);
      if (hole === null) c.rtxNxt = -1;
      else {
        c.rtxNxt = hole.start;
        limit = resendLen(c, hole.start, hole.end);
      }
    }
    const ptr = c.sendPtr;
    const avail = sub(c.sndBufEnd, ptr);
    const flight = c.flightSize();
    // In SACK-based fast recovery PRR (RFC 6937, prr.ts) decides, one segment at a time.
    const cwndAvail = c.inRecovery && c.prr !== null ? (c.prr.sndcnt > 0 ? c.sndMss : 0) : cc.cwnd + c.inflation - flight;
    const wndAvail = sub(add(c.sndUna, c.sndWnd), ptr);
    const retrans = c.rtxNxt !== -1;
    if (avail > 0) {
      const usable = Math.min(wndAvail, cwndAvail);
      if (usable <= 0 && !c.forceSend) break;
      let len = Math.min(limit, avail, c.forceSend ? Math.max(1, usable) : usable);
      if (!retrans && len < c.sndMss && !c.forceSend) {
        // Nagle (RFC 9293 3.7.4) and sender SWS avoidance (3.8.6.2.1).
        const nothingOutstanding = c.sndNxt === c.sndUna;
        const allQueued = len === avail;
        const bigEnough = c.maxSndWnd > 0 && len >= c.maxSndWnd / 2;
        if (!(allQueued && (c.config.noDelay || nothingOutstanding)) && !bigEnough) break;
      }
      c.forceSend = false;
      if (len <= 0) break;
      len = Math.max(1, len);
      if (!sendAt(c, ptr, len, now, emit, retrans, 'rto')) break; // nothing there (SYN space)
      sent = true;
      continue;
    }
    if (c.finQueued && ptr === c.finSeq) {
      // A bare FIN (the data before it is all sent).
      emit(segment(c, c.finSeq, FIN | ACK, NO_PAYLOAD, now));
      afterSend(c, c.finSeq, 1, now, retrans);
      c.advanceSendPtr(add(c.finSeq, 1));
      sent = true;
    }
    break;
  }
  // Persist (RFC 9293 3.8.6.1): data waits, the window is shut, nothing is in flight to bring an ACK.
  if (
    sub(c.sndBufEnd, c.sndNxt) > 0 &&
    c.sndNxt === c.sndUna &&
    c.persistAt === Infinity &&
    c.rtoAt === Infinity
  ) {
    c.persistAt = now + Math.min(c.rtt.rto * 2 ** c.persistBackoff, c.config.maxRto);
  }
  return sent;
}

/**
 * RFC 8985 7.3 TLP_send_probe: one segment of new data if the peer's window allows, else the last
 * segment sent again; outside the congestion window. The RTO stays armed.
 */
function sendLossProbe(c: TcpConnection, now: number, emit: Emit): boolean {
  const avail = sub(c.sndBufEnd, c.sndNxt);
  const wndAvail = sub(add(c.sndUna, c.sndWnd), c.sndNxt);
  if (c.rtxNxt === -1 && avail > 0 && wndAvail > 0) {
    if (!sendAt(c, c.sndNxt, Math.min(c.sndMss, wndAvail), now, emit, false, 'tlp')) return false;
    probeSent(c, false, now);
    return true;
  }
  const last = rackOf(c).last();
  if (last === null || !sendAt(c, last.start, sub(last.end, last.start), now, emit, true, 'tlp')) return false;
  probeSent(c, true, now);
  return true;
}

/** RFC 6675 NextSeg rule 1: retransmit lost holes below the highest SACKed byte while pipe allows. */
function sackRecovery(c: TcpConnection, now: number, emit: Emit): boolean {
  if (rackActive(c)) return rackRecovery(c, now, emit);
  const cc = c.ensureCc();
  const sb = c.scoreboard;
  let sent = false;
  for (let guard = 0; guard < 1000; guard++) {
    if (!recoveryMaySend(c, cc.cwnd)) break;
    const high = sb.highSacked;
    if (high === undefined) break;
    const from = gt(c.rxtEnd, c.sndUna) ? c.rxtEnd : c.sndUna;
    if (!lt(from, high)) break;
    const hole = sb.nextHole(from, high);
    if (hole === null || !sb.isLost(hole.start, c.sndMss, c.config.dupThresh)) break;
    const len = resendLen(c, hole.start, hole.end);
    sendAt(c, hole.start, len, now, emit, true, 'sack');
    c.rxtEnd = add(hole.start, len);
    sent = true;
  }
  return sent;
}

/** RFC 8985 9.3: in recovery, retransmit what RACK marked lost, lowest first, while pipe allows. */
function rackRecovery(c: TcpConnection, now: number, emit: Emit): boolean {
  const cc = c.ensureCc();
  let sent = false;
  for (let guard = 0; guard < 1000; guard++) {
    if (!recoveryMaySend(c, cc.cwnd)) break;
    const hole = nextLost(c);
    if (hole === null) break;
    if (!sendAt(c, hole.start, resendLen(c, hole.start, hole.end), now, emit, true, 'sack')) break;
    sent = true;
  }
  return sent;
}

/**
 * How much to resend of the hole [start, end): at most one MSS, and a whole MSS (as far as data
 * was sent) even when a SACK block cuts the hole shorter. Linux counts SACKed data only in whole
 * MSS-sized pieces of a segment (tcp_match_skb_to_sack), so a SACK of the last byte of a segment
 * leaves the segment un-SACKed and it is resent whole, not as a 999-byte remainder.
 */
function resendLen(c: TcpConnection, start: number, end: number): number {
  const len = sub(end, start);
  return len >= c.sndMss ? c.sndMss : Math.max(len, Math.min(c.sndMss, sub(c.sndNxt, start)));
}

/** May another segment leave in recovery: PRR's count in fast recovery, else the pipe under cwnd. */
function recoveryMaySend(c: TcpConnection, cwnd: number): boolean {
  if (c.inRecovery && c.prr !== null) return c.prr.sndcnt > 0;
  return cwnd - c.flightSize() >= c.sndMss;
}

/**
 * Emit one segment carrying [seq, seq+len) from the send buffer (with FIN if it ends at our FIN).
 * Returns false when there is nothing there to send.
 */
function sendAt(
  c: TcpConnection,
  seq: number,
  maxLen: number,
  now: number,
  emit: Emit,
  retrans: boolean,
  reason: 'fast' | 'rto' | 'sack' | 'tlp',
): boolean {
  const off = sub(seq, c.sndBufSeq);
  const avail = c.sendBuf.length - off;
  if (off < 0) return false;
  if (avail <= 0) {
    if (c.finQueued && seq === c.finSeq) {
      emit(segment(c, seq, FIN | ACK, NO_PAYLOAD, now));
      afterSend(c, seq, 1, now, retrans);
      if (retrans) noteRetransmit(c, seq, 0, now, 'fin');
      // Move the send (or go-back) pointer past the FIN, as for data: a FIN that RACK resent after
      // a timeout would otherwise leave a second time from the go-back loop at the same instant.
      if (c.sendPtr === seq) c.advanceSendPtr(add(seq, 1));
      return true;
    }
    return false;
  }
  // SACK blocks ride on data segments too: leave room for them within the MSS (RFC 2018 section 3).
  const len = Math.min(maxLen, avail, c.sndMss - sackOptionBytes(c));
  const payload = c.sendBuf.peek(off, len);
  const end = add(seq, len);
  let flags = ACK;
  if (end === c.sndBufEnd) flags |= PSH;
  if (c.finQueued && end === c.finSeq) flags |= FIN;
  emit(segment(c, seq, flags, payload, now));
  const used = len + (flags & FIN ? 1 : 0);
  afterSend(c, seq, used, now, retrans);
  if (retrans) {
    c.counters.bytesRetrans += len;
    noteRetransmit(c, seq, len, now, reason);
  } else {
    c.counters.bytesSent += len;
  }
  const ptr = c.sendPtr;
  if (!lt(add(seq, used), ptr) && le(seq, ptr)) c.advanceSendPtr(add(seq, used));
  return true;
}

function noteRetransmit(c: TcpConnection, seq: number, len: number, now: number, reason: 'fast' | 'rto' | 'sack' | 'fin' | 'tlp'): void {
  c.counters.retransSegs++;
  if (c.hooks.onTrace) c.trace({ type: 'retransmit', t: now, host: '', seq, len, reason });
}

/** Timers and RTT timing after sending `used` sequence numbers at `seq`. */
function afterSend(c: TcpConnection, seq: number, used: number, now: number, retrans: boolean): void {
  if (rackActive(c)) rackOf(c).onTransmit(seq, used, now); // RFC 8985 6.1
  if (c.inRecovery) c.prr?.onSend(); // RFC 6937: prr_out
  if (c.rtoAt === Infinity) c.rtoAt = now + c.rtt.rto;
  if (c.firstUnackedAt === Infinity) c.firstUnackedAt = now;
  c.persistAt = Infinity;
  if (!retrans && c.rttSeq < 0 && !c.tsOk) {
    c.rttSeq = seq;
    c.rttStart = now;
  } else if (retrans && c.rttSeq >= 0 && !lt(c.rttSeq, seq) && lt(c.rttSeq, add(seq, used))) {
    c.rttSeq = -1; // Karn's rule: never time a retransmitted segment
  }
}

/** Build a segment with ACK bookkeeping, timestamps, SACK blocks and our window. */
export function segment(c: TcpConnection, seq: number, flags: number, payload: Uint8Array, now: number): TcpRepr {
  const options: TcpOptions = {};
  if (c.tsOk) options.timestamp = { val: c.tsNow(now), ecr: c.tsRecent };
  if (flags & ACK) {
    const maxBlocks = c.tsOk ? 3 : 4;
    if (c.sackOk && c.dsack !== null) {
      // D-SACK first, then the usual blocks (RFC 2883 section 4); sent once.
      options.sack = [c.dsack, ...(c.hasOutOfOrder ? c.assembler.sackBlocks(c.rcvNxt, maxBlocks - 1) : [])];
      c.dsack = null;
    } else if (c.sackOk && c.hasOutOfOrder) {
      options.sack = c.assembler.sackBlocks(c.rcvNxt, maxBlocks);
    }
    c.lastAckSent = c.rcvNxt;
    c.ackNow = false;
    c.delackAt = Infinity;
    c.unackedSegs = 0;
  }
  c.segsOut++;
  c.lastSendAt = now;
  return {
    srcPort: c.tuple.localPort,
    dstPort: c.tuple.remotePort,
    seq,
    ack: flags & ACK ? c.rcvNxt : 0,
    flags,
    window: flags & RST ? 0 : advertise(c),
    urgent: 0,
    options,
    payload,
  };
}

/** The window field to send, never shrinking the right edge, with receiver SWS avoidance (RFC 9293 3.8.6.2.2). */
function advertise(c: TcpConnection): number {
  const free = c.recvBuf.free;
  const cur = Math.max(0, sub(c.rcvAdv, c.rcvNxt));
  let target = free;
  if (target <= cur) target = cur;
  // A closed window too: opening it by a few bytes invites silly segments (RFC 9293 3.8.6.2.2).
  else if (target - cur < Math.min(c.recvBuf.capacity >>> 1, c.sndMss)) target = cur;
  const field = Math.min(target >>> c.rcvWscale, 0xffff);
  const edge = add(c.rcvNxt, field << c.rcvWscale);
  if (gt(edge, c.rcvAdv)) c.rcvAdv = edge;
  return field;
}

/** Bytes the SACK option will take on our next ACK-bearing segment (0 without out-of-order data). */
function sackOptionBytes(c: TcpConnection): number {
  if (!c.sackOk || (!c.hasOutOfOrder && c.dsack === null)) return 0;
  const blocks = Math.min((c.hasOutOfOrder ? c.assembler.count : 0) + (c.dsack !== null ? 1 : 0), c.tsOk ? 3 : 4);
  return blocks === 0 ? 0 : 4 + 8 * blocks; // two NOPs, kind, length, 8 bytes per block
}

/** A segment that is not part of the data stream (RST, probes). */
function bare(c: TcpConnection, seq: number, ack: number, flags: number): TcpRepr {
  return {
    srcPort: c.tuple.localPort,
    dstPort: c.tuple.remotePort,
    seq,
    ack,
    flags,
    window: 0,
    urgent: 0,
    options: {},
    payload: NO_PAYLOAD,
  };
}

/**
 * ABORT's reset: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> (RFC 9293 3.10.5; ACK set as Linux does).
 * While going back after a timeout it carries the go-back pointer, as it always has here: that is
 * usually the peer's RCV.NXT, which RFC 5961 3.2 takes without a challenge.
 */
export function sendRst(c: TcpConnection, now: number, emit: Emit): void {
  c.segsOut++;
  const rst = bare(c, c.sendPtr, c.rcvNxt, RST | ACK);
  // RFC 7323 3.2 lets a <RST> carry TSopt; Linux's active reset does (TSval, TSecr = TS.Recent),
  // and a peer that checks timestamps on resets then takes it.
  if (c.tsOk) rst.options = { timestamp: { val: c.tsNow(now), ecr: c.tsRecent } };
  emit(rst);
}

/** A zero-window or keepalive probe: an old sequence number forces the peer to ACK (RFC 9293 3.8.6.1, RFC 1122 4.2.3.6). */
export function sendProbe(c: TcpConnection, now: number, emit: Emit): void {
  emit(segment(c, sub(c.sndUna, 1) >>> 0, ACK, NO_PAYLOAD, now));
}

/**
 * RFC 9293 3.10.7.1: what a CLOSED port answers. No reply to a RST; otherwise, with an ACK:
 * <SEQ=SEG.ACK><CTL=RST>, without: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 */
export function replyToClosed(seg: TcpRepr): TcpRepr | null {
  if (seg.flags & RST) return null;
  const base = {
    srcPort: seg.dstPort,
    dstPort: seg.srcPort,
    window: 0,
    urgent: 0,
    options: {},
    payload: NO_PAYLOAD,
  };
  if (seg.flags & ACK) return { ...base, seq: seg.ack, ack: 0, flags: RST };
  const len = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
  return { ...base, seq: 0, ack: add(seg.seq, len), flags: RST | ACK };
}
