// What a connection sends now: SYN and SYN,ACK with option negotiation (RFC 9293 3.5, RFC 7323,
// RFC 2018), data under the send and congestion windows with Nagle and sender-side SWS avoidance
// (RFC 9293 3.7.4, 3.8.6.2.1), SACK-based loss recovery (RFC 6675 NextSeg, or RACK's lost marks:
// RFC 8985), the Tail Loss Probe (RFC 8985 7.3), FIN, ACKs, resets.
//
// dispatch and the functions that assemble one outgoing segment (sendSyn, sendData, sendAt,
// sendSegment, segment, the recovery loops, probes and resets) take the whole Tcb: a segment
// carries both sequence spaces, the window, the options and the send buffer's bytes, and sending
// it moves timers, RTT timing and counters. The bookkeeping helpers take only what they touch.

import { TcpFlag, plainTcpHeaderLength, writePlainTcpHeader, textLength, type TcpOptions, type TcpRepr } from '../wire/tcp.js';
import { addInt, sub, lt, le, gt, wrap } from '../wire/seq.js';
import { Timer, NO_SEQ, type Deadlines, type SendSeq, type Tcb } from './tcb.js';
import type { TcpStateName } from './state.js';
import { rackActive, rackOf, scheduleTlp, probeSent, nextLost, type RackHost } from './loss.js';

const { FIN, SYN, RST, PSH, ACK } = TcpFlag;

/**
 * Packet buffers the owner of a connection lends it for the established fast path: the segment
 * is written straight into the packet (header and timestamp option from the TCB, payload from the
 * send buffer) instead of being built as a TcpRepr and copied.
 */
export interface SegmentPackets {
  /**
   * A buffer for a packet carrying a TCP segment of `segLen` bytes at offset `at`, or null when
   * this segment must go as a repr instead (the slow path: another address family, a packet the
   * link's MTU would refuse). Every byte of the segment is the caller's to write.
   */
  open(segLen: number): Uint8Array | null;
  /** Where the segment starts in the buffer the last open() returned. */
  readonly at: number;
  /** The segment is written with a zero checksum field: sum it, send the packet. */
  send(pkt: Uint8Array, segLen: number): void;
}

/**
 * Where a connection's segments go: every segment as a TcpRepr, unless the sink also lends
 * `packets`, which then take the plain ACK and data segments of an established connection (no
 * SACK blocks to carry). Both paths give the same bytes on the wire (test/tcp/fast-path.test.ts).
 */
export interface Emit {
  (seg: TcpRepr): void;
  readonly packets?: SegmentPackets | undefined;
}

const NO_PAYLOAD = new Uint8Array(0);

/** Queue a one-segment retransmission at `seq` for the next poll (fast retransmit, partial ACK). */
export function retransmitOne(c: Pick<Tcb, 'out' | 'hooks'>, seq: number): void {
  c.out.retransmit = seq;
  c.hooks.onPollNeeded?.();
}

/** Everything due now, in order: resets, retransmission, SYN, data and FIN, then a pure ACK. */
export function dispatch(c: Tcb, now: number, emit: Emit): void {
  if (c.out.resetSeq !== NO_SEQ) {
    const seq = c.out.resetSeq;
    c.out.resetSeq = NO_SEQ;
    emit(bare(c, seq, 0, RST));
    c.segsOut++;
    if (c.out.closeAfterReset) {
      c.toClosed('ABORT');
      return;
    }
  }
  switch (c.state) {
    case 'SYN-SENT':
    case 'SYN-RECEIVED':
      if (c.sendPtr === c.snd.iss) sendSyn(c, now, emit);
      else if (c.out.ack && c.state === 'SYN-RECEIVED') sendSegment(c, c.snd.nxt, ACK, 0, 0, now, emit);
      c.out.ack = false;
      return;
    case 'CLOSED':
    case 'LISTEN':
      return;
    default:
      // CLOSE in SYN-RECEIVED went to FIN-WAIT-1 before our SYN was acknowledged: a timeout
      // (going back to ISS) resends the SYN,ACK ahead of the FIN (RFC 9293 3.10.4).
      if (c.sendPtr === c.snd.iss && c.snd.una === c.snd.iss) sendSyn(c, now, emit);
      break;
  }
  let sent = false;
  if (c.out.tlp) {
    c.out.tlp = false;
    if (canSend(c.state) && c.snd.una !== c.snd.nxt) sent = sendLossProbe(c, now, emit) || sent;
  }
  if (c.out.retransmit !== NO_SEQ) {
    const seq = c.out.retransmit;
    c.out.retransmit = NO_SEQ;
    if (lt(seq, c.snd.nxt) && !lt(seq, c.snd.una)) sent = sendAt(c, seq, c.snd.mss, now, emit, true, 'fast') || sent;
  }
  if (canSend(c.state)) {
    const nxtBefore = c.snd.nxt;
    sent = sendData(c, now, emit) || sent;
    // RFC 8985 7.2: (re)start the probe timeout after sending new data.
    if (gt(c.snd.nxt, nxtBefore) && rackActive(c)) scheduleTlp(c, now);
  }
  if (!sent && (c.out.ack || now >= c.deadline(Timer.DelayedAck))) {
    // A pure ACK carries SND.NXT (RFC 9293 3.3.1), never the go-back pointer rtxNxt: that may be
    // below what the peer already holds, and an ACK numbered there would be unacceptable to it
    // (and answered with an ACK, forever).
    sendSegment(c, c.snd.nxt, ACK, 0, 0, now, emit);
  }
}

function canSend(state: TcpStateName): boolean {
  switch (state) {
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

/** The options a SYN or SYN,ACK carries (RFC 9293 3.7.1, RFC 2018 2, RFC 7323 2.2 and 3.2). */
export interface SynOptions {
  mss: number;
  sackOk: boolean;
  timestamp?: { val: number; ecr: number };
  wscale?: number;
}

/**
 * The one SYN / SYN,ACK builder (a connection's, and a listener's stateless cookie SYN,ACK):
 * `ack` null makes a SYN, a number a SYN,ACK acknowledging up to it.
 */
export function synSegment(localPort: number, remotePort: number, iss: number, ack: number | null, window: number, o: SynOptions): TcpRepr {
  const options: TcpOptions = { mss: o.mss };
  if (o.sackOk) options.sackPermitted = true;
  if (o.timestamp !== undefined) options.timestamp = { val: wrap(o.timestamp.val), ecr: wrap(o.timestamp.ecr) };
  if (o.wscale !== undefined) options.wscale = o.wscale;
  // Reprs carry sequence numbers and timestamps unsigned (wire/seq.ts), whichever form came in.
  return {
    srcPort: localPort,
    dstPort: remotePort,
    seq: wrap(iss),
    ack: ack === null ? 0 : wrap(ack),
    flags: ack === null ? SYN : SYN | ACK,
    window,
    urgent: 0,
    options,
    payload: NO_PAYLOAD,
  };
}

/** SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED) with our options (RFC 9293 3.7.1, RFC 7323 2.2, RFC 2018 2). */
function sendSyn(c: Tcb, now: number, emit: Emit): void {
  const synAck = c.state !== 'SYN-SENT';
  const cfg = c.config;
  const o: SynOptions = { mss: cfg.mss, sackOk: synAck ? c.sackOk : cfg.sack };
  if (synAck ? c.tsOk : cfg.timestamps) o.timestamp = { val: c.tsNow(now), ecr: synAck ? c.rcv.tsRecent : 0 };
  if (cfg.windowScale && (!synAck || c.snd.peerOfferedWscale)) o.wscale = c.rcv.wscale;
  const seg = synSegment(c.localPort, c.remotePort, c.snd.iss, synAck ? c.rcv.nxt : null, c.synWindow, o);
  if (synAck) synAckSent(c);
  else {
    c.advanceSendPtr(addInt(c.snd.iss, 1));
    c.segsOut++;
  }
  if (c.rec.retransmits === 0) {
    c.rec.rttSeq = c.snd.iss;
    c.rec.rttStart = now;
  } else {
    c.counters.retransSegs++;
    c.trace({ type: 'retransmit', t: now, host: '', seq: wrap(c.snd.iss), len: 0, reason: 'syn' });
  }
  c.arm(Timer.Rto, now + c.rtt.rto);
  c.lastSendAt = now;
  emit(seg);
}

/**
 * What our SYN,ACK leaving does to the TCB: the window it advertised (RCV.ADV), Last.ACK.sent,
 * SND.NXT past the SYN. Also how a connection rebuilt from a SYN cookie stands (the cookie's
 * SYN,ACK left without a TCB).
 */
export function synAckSent(c: Pick<Tcb, 'snd' | 'rcv' | 'synWindow' | 'advanceSendPtr' | 'segsOut'>): void {
  c.rcv.adv = addInt(c.rcv.nxt, c.synWindow);
  c.rcv.lastAckSent = c.rcv.nxt;
  c.advanceSendPtr(addInt(c.snd.iss, 1));
  c.segsOut++;
}

/** New data, go-back retransmission after a timeout, SACK hole retransmission, and FIN. */
function sendData(c: Tcb, now: number, emit: Emit): boolean {
  const cc = c.ensureCc();
  let sent = false;
  // RFC 5681 4.1: idle for more than an RTO with nothing in flight, new data restarts from the
  // restart window (as Linux's tcp_cwnd_restart when tcp_slow_start_after_idle is set).
  if (c.config.slowStartAfterIdle && c.snd.una === c.snd.nxt && c.snd.rtxNxt === NO_SEQ && sub(c.sndBufEnd, c.snd.nxt) > 0 && now - c.lastSendAt > c.rtt.rto) {
    cc.onIdleRestart(now);
  }
  if (c.rec.inRecovery && c.sackOk) sent = sackRecovery(c, now, emit);
  // After a timeout RACK keeps finding lost (re)transmissions: resend them before the go-back
  // pointer gets there (RFC 8985 6.2 step 5 applies in RTO recovery too, as on Linux).
  else if (lt(c.snd.una, c.rec.recover) && rackActive(c)) sent = rackRecovery(c, now, emit);
  for (;;) {
    let limit = c.snd.rtxNxt === NO_SEQ ? sendQuantum(c) : c.snd.mss;
    if (c.snd.rtxNxt !== NO_SEQ && c.hasSacks) {
      // After a timeout, skip what the peer already holds (RFC 6675 5.1).
      const hole = c.scoreboard.nextHole(c.snd.rtxNxt, c.snd.nxt);
      if (hole === null) c.snd.rtxNxt = NO_SEQ;
      else {
        c.snd.rtxNxt = hole.start;
        limit = resendLen(c.snd, hole.start, hole.end);
      }
    }
    const ptr = c.sendPtr;
    const avail = sub(c.sndBufEnd, ptr);
    const flight = c.flightSize();
    // In SACK-based fast recovery PRR (RFC 6937, prr.ts) decides, one segment at a time.
    // Limited transmit (RFC 3042) without SACK: each of the first two duplicate ACKs lets one new
    // segment beyond cwnd go (with SACK the pipe already shrinks by what was SACKed).
    const limited = !c.rec.inRecovery && !c.sackOk ? Math.min(c.rec.dupAcks, 2) * c.snd.mss : 0;
    const cwndAvail = c.rec.inRecovery && c.rec.prr !== null ? (c.rec.prr.sndcnt > 0 ? c.snd.mss : 0) : cc.cwnd + c.rec.inflation + limited - flight;
    const wndAvail = sub(addInt(c.snd.una, c.snd.wnd), ptr);
    const retrans = c.snd.rtxNxt !== NO_SEQ;
    if (avail > 0) {
      const usable = Math.min(wndAvail, cwndAvail);
      if (usable <= 0 && !c.out.force) break;
      let len = Math.min(limit, avail, c.out.force ? Math.max(1, usable) : usable);
      // A super-segment (TSO) is whole MSS-sized segments, except at the end of the queued data,
      // so the link never cuts a small segment out of its middle (Linux's tcp_mss_split_point).
      if (len > c.snd.mss && len < avail) len -= len % c.snd.mss;
      if (!retrans && len < c.snd.mss && !c.out.force) {
        // Nagle (RFC 9293 3.7.4) and sender SWS avoidance (3.8.6.2.1).
        const nothingOutstanding = c.snd.nxt === c.snd.una;
        const allQueued = len === avail;
        const bigEnough = c.snd.maxWnd > 0 && len >= c.snd.maxWnd / 2;
        if (!(allQueued && (c.config.noDelay || nothingOutstanding)) && !bigEnough) break;
      }
      c.out.force = false;
      if (len <= 0) break;
      len = Math.max(1, len);
      if (!sendAt(c, ptr, len, now, emit, retrans, 'rto')) break; // nothing there (SYN space)
      sent = true;
      continue;
    }
    if (c.snd.finQueued && ptr === c.snd.finSeq) {
      // A bare FIN (the data before it is all sent).
      sendSegment(c, c.snd.finSeq, FIN | ACK, 0, 0, now, emit);
      afterSend(c, c.snd.finSeq, 1, now, retrans);
      c.advanceSendPtr(addInt(c.snd.finSeq, 1));
      sent = true;
    }
    break;
  }
  if (sent && c.config.cwndValidation) noteCwndUsage(c, cc.cwnd);
  // Persist (RFC 9293 3.8.6.1): data waits, the window is shut, nothing is in flight to bring an ACK.
  if (
    sub(c.sndBufEnd, c.snd.nxt) > 0 &&
    c.snd.nxt === c.snd.una &&
    c.deadline(Timer.Persist) === Infinity &&
    c.deadline(Timer.Rto) === Infinity
  ) {
    c.arm(Timer.Persist, now + Math.min(c.rtt.rto * 2 ** c.rec.persistBackoff, c.config.maxRto));
  }
  return sent;
}

/**
 * Linux's tcp_cwnd_validate after a send: per window (until SND.UNA passes where it began),
 * remember whether sending was cwnd-limited, else the most bytes outstanding.
 */
function noteCwndUsage(c: Pick<Tcb, 'rec' | 'snd' | 'flightSize'>, cwnd: number): void {
  const r = c.rec;
  const outstanding = sub(c.snd.nxt, c.snd.una);
  const limited = c.flightSize() + c.snd.mss > cwnd;
  if (!lt(c.snd.una, r.cwndUsageSeq) || limited || (!r.cwndLimited && outstanding > r.maxOutstanding)) {
    r.cwndLimited = limited;
    r.maxOutstanding = outstanding;
    r.cwndUsageSeq = c.snd.nxt;
  }
}

/**
 * RFC 8985 7.3 TLP_send_probe: one segment of new data if the peer's window allows, else the last
 * segment sent again; outside the congestion window. The RTO stays armed.
 */
function sendLossProbe(c: Tcb, now: number, emit: Emit): boolean {
  const avail = sub(c.sndBufEnd, c.snd.nxt);
  const wndAvail = sub(addInt(c.snd.una, c.snd.wnd), c.snd.nxt);
  if (c.snd.rtxNxt === NO_SEQ && avail > 0 && wndAvail > 0) {
    if (!sendAt(c, c.snd.nxt, Math.min(c.snd.mss, wndAvail), now, emit, false, 'tlp')) return false;
    probeSent(c, false, now);
    return true;
  }
  const last = rackOf(c).last();
  if (last === null || !sendAt(c, last.start, sub(last.end, last.start), now, emit, true, 'tlp')) return false;
  probeSent(c, true, now);
  return true;
}

/**
 * The most new data one segment may carry: one MSS, or with TSO (config.tsoMax, set from the
 * link) whole MSS-sized segments up to tsoMax, which the link cuts into MSS-sized segments, each
 * with a copy of this header (RFC 9293 3.7.1: every segment on the wire stays within Eff.snd.MSS).
 * Not while our ACKs carry SACK blocks, whose size the MSS already makes room for per segment.
 */
function sendQuantum(c: SackOptionView & Pick<Tcb, 'config' | 'snd'>): number {
  const max = c.config.tsoMax;
  const mss = c.snd.mss;
  if (max <= mss || sackOptionBytes(c) > 0) return mss;
  return max - (max % mss);
}

/** RFC 6675 NextSeg rule 1: retransmit lost holes below the highest SACKed byte while pipe allows. */
function sackRecovery(c: Tcb, now: number, emit: Emit): boolean {
  if (rackActive(c)) return rackRecovery(c, now, emit);
  const cc = c.ensureCc();
  const sb = c.scoreboard;
  let sent = false;
  for (let guard = 0; guard < 1000; guard++) {
    if (!recoveryMaySend(c, cc.cwnd)) break;
    const high = sb.highSacked;
    if (high === undefined) break;
    const from = gt(c.rec.rxtEnd, c.snd.una) ? c.rec.rxtEnd : c.snd.una;
    if (!lt(from, high)) break;
    const hole = sb.nextHole(from, high);
    if (hole === null || !sb.isLost(hole.start, c.snd.mss, c.config.dupThresh)) break;
    const len = resendLen(c.snd, hole.start, hole.end);
    sendAt(c, hole.start, len, now, emit, true, 'sack');
    c.rec.rxtEnd = addInt(hole.start, len);
    sent = true;
  }
  return sent;
}

/** RFC 8985 9.3: in recovery, retransmit what RACK marked lost, lowest first, while pipe allows. */
function rackRecovery(c: Tcb, now: number, emit: Emit): boolean {
  const cc = c.ensureCc();
  let sent = false;
  for (let guard = 0; guard < 1000; guard++) {
    if (!recoveryMaySend(c, cc.cwnd)) break;
    const hole = nextLost(rackOf(c), c.snd, c.hasSacks ? c.scoreboard : null);
    if (hole === null) break;
    if (!sendAt(c, hole.start, resendLen(c.snd, hole.start, hole.end), now, emit, true, 'sack')) break;
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
function resendLen(snd: SendSeq, start: number, end: number): number {
  const len = sub(end, start);
  return len >= snd.mss ? snd.mss : Math.max(len, Math.min(snd.mss, sub(snd.nxt, start)));
}

/** May another segment leave in recovery: PRR's count in fast recovery, else the pipe under cwnd. */
function recoveryMaySend(c: Pick<Tcb, 'rec' | 'snd' | 'flightSize'>, cwnd: number): boolean {
  if (c.rec.inRecovery && c.rec.prr !== null) return c.rec.prr.sndcnt > 0;
  return cwnd - c.flightSize() >= c.snd.mss;
}

/**
 * Emit one segment carrying [seq, seq+len) from the send buffer (with FIN if it ends at our FIN).
 * Returns false when there is nothing there to send.
 */
function sendAt(
  c: Tcb,
  seq: number,
  maxLen: number,
  now: number,
  emit: Emit,
  retrans: boolean,
  reason: 'fast' | 'rto' | 'sack' | 'tlp',
): boolean {
  const off = sub(seq, c.snd.bufSeq);
  const avail = c.sendBuf.length - off;
  if (off < 0) return false;
  if (avail <= 0) {
    if (c.snd.finQueued && seq === c.snd.finSeq) {
      sendSegment(c, seq, FIN | ACK, 0, 0, now, emit);
      afterSend(c, seq, 1, now, retrans);
      if (retrans) noteRetransmit(c, seq, 0, now, 'fin');
      // Move the send (or go-back) pointer past the FIN, as for data: a FIN that RACK resent after
      // a timeout would otherwise leave a second time from the go-back loop at the same instant.
      if (c.sendPtr === seq) c.advanceSendPtr(addInt(seq, 1));
      return true;
    }
    return false;
  }
  // SACK blocks ride on data segments too: leave room for them within the MSS (RFC 2018 section 3).
  const len = Math.min(maxLen, avail, !retrans && maxLen > c.snd.mss ? maxLen : c.snd.mss - sackOptionBytes(c));
  const end = addInt(seq, len);
  let flags = ACK;
  if (end === c.sndBufEnd) flags |= PSH;
  if (c.snd.finQueued && end === c.snd.finSeq) flags |= FIN;
  sendSegment(c, seq, flags, off, len, now, emit);
  const used = len + (flags & FIN ? 1 : 0);
  afterSend(c, seq, used, now, retrans);
  if (retrans) {
    c.counters.bytesRetrans += len;
    noteRetransmit(c, seq, len, now, reason);
  } else {
    c.counters.bytesSent += len;
  }
  const ptr = c.sendPtr;
  if (!lt(addInt(seq, used), ptr) && le(seq, ptr)) c.advanceSendPtr(addInt(seq, used));
  return true;
}

function noteRetransmit(c: Pick<Tcb, 'counters' | 'hooks'>, seq: number, len: number, now: number, reason: 'fast' | 'rto' | 'sack' | 'fin' | 'tlp'): void {
  c.counters.retransSegs++;
  c.hooks.onTrace?.({ type: 'retransmit', t: now, host: '', seq: wrap(seq), len, reason });
}

/** Timers and RTT timing after sending `used` sequence numbers at `seq`. */
function afterSend(c: RackHost & Deadlines & Pick<Tcb, 'config' | 'sackOk' | 'tsOk' | 'firstUnackedAt'>, seq: number, used: number, now: number, retrans: boolean): void {
  if (rackActive(c)) {
    // RFC 8985 6.1, per segment on the wire: a super-segment (TSO) leaves as MSS-sized pieces, and
    // any of them may be lost, SACKed and resent on its own.
    const rack = rackOf(c);
    const mss = c.snd.mss;
    for (let off = 0; off < used; off += mss) rack.onTransmit(addInt(seq, off), Math.min(mss, used - off), now);
  }
  if (c.rec.inRecovery) c.rec.prr?.onSend(); // RFC 6937: prr_out
  if (c.deadline(Timer.Rto) === Infinity) c.arm(Timer.Rto, now + c.rtt.rto);
  if (c.firstUnackedAt === Infinity) c.firstUnackedAt = now;
  c.disarm(Timer.Persist);
  if (!retrans && c.rec.rttSeq === NO_SEQ && !c.tsOk) {
    c.rec.rttSeq = seq;
    c.rec.rttStart = now;
  } else if (retrans && c.rec.rttSeq !== NO_SEQ && !lt(c.rec.rttSeq, seq) && lt(c.rec.rttSeq, addInt(seq, used))) {
    c.rec.rttSeq = NO_SEQ; // Karn's rule: never time a retransmitted segment
  }
}

/**
 * Send one ACK-bearing segment carrying the send buffer's bytes [off, off+len) (len 0: none):
 * written straight into a packet when the sink lends packets and no SACK blocks ride along (the
 * established fast path: no repr, no options object, no payload view), else built as a repr.
 * Either way the same bytes leave and the TCB is updated the same way (segment()'s bookkeeping).
 */
function sendSegment(c: Tcb, seq: number, flags: number, off: number, len: number, now: number, emit: Emit): void {
  const w = emit.packets;
  if (w !== undefined && !(c.sackOk && (c.out.dsack !== null || c.hasOutOfOrder))) {
    const hl = plainTcpHeaderLength(c.tsOk);
    const pkt = w.open(hl + len);
    if (pkt !== null) {
      sentAck(c, now, len);
      const at = w.at;
      writePlainTcpHeader(pkt, at, c.localPort, c.remotePort, seq, c.rcv.nxt, flags, advertise(c), c.tsOk, c.tsNow(now), c.rcv.tsRecent);
      if (len > 0) c.sendBuf.copyOut(off, len, pkt, at + hl);
      w.send(pkt, hl + len);
      return;
    }
  }
  emit(segment(c, seq, flags, len > 0 ? c.sendBuf.peek(off, len) : NO_PAYLOAD, now));
}

/**
 * What sending an ACK-bearing segment does to the TCB (RFC 7323 Last.ACK.sent; the delayed ACK is
 * answered; with ackRule 'linux' a quick ACK is used up, and data sent soon after data arrived
 * makes the connection interactive: tcp_event_ack_sent, tcp_event_data_sent).
 */
function sentAck(c: Deadlines & Pick<Tcb, 'rcv' | 'out' | 'segsOut' | 'lastSendAt' | 'config'>, now: number, dataLen: number): void {
  const d = c.out.delack;
  if (d !== null) {
    if (dataLen > 0) d.dataSent(now);
    d.ackSent(c.config.delayedAck);
  }
  c.rcv.lastAckSent = c.rcv.nxt;
  c.out.ack = false;
  c.disarm(Timer.DelayedAck);
  c.out.unackedSegs = 0;
  c.segsOut++;
  c.lastSendAt = now;
}

/** Build a segment with ACK bookkeeping, timestamps, SACK blocks and our window. */
export function segment(c: Tcb, seq: number, flags: number, payload: Uint8Array, now: number): TcpRepr {
  // The repr carries its numbers unsigned (wire/seq.ts); the TCB holds them as int32.
  const options: TcpOptions = {};
  if (c.tsOk) options.timestamp = { val: wrap(c.tsNow(now)), ecr: wrap(c.rcv.tsRecent) };
  if (flags & ACK) {
    const maxBlocks = c.tsOk ? 3 : 4;
    if (c.sackOk && c.out.dsack !== null) {
      // D-SACK first, then the usual blocks (RFC 2883 section 4); sent once.
      const d = c.out.dsack;
      options.sack = [{ left: wrap(d.left), right: wrap(d.right) }, ...(c.hasOutOfOrder ? c.assembler.sackBlocks(c.rcv.nxt, maxBlocks - 1) : [])];
      c.out.dsack = null;
    } else if (c.sackOk && c.hasOutOfOrder) {
      options.sack = c.assembler.sackBlocks(c.rcv.nxt, maxBlocks);
    }
    sentAck(c, now, payload.length);
  } else {
    c.segsOut++;
    c.lastSendAt = now;
  }
  return {
    srcPort: c.localPort,
    dstPort: c.remotePort,
    seq: wrap(seq),
    ack: flags & ACK ? wrap(c.rcv.nxt) : 0,
    flags,
    window: flags & RST ? 0 : advertise(c),
    urgent: 0,
    options,
    payload,
  };
}

/** The window field to send, never shrinking the right edge, with receiver SWS avoidance (RFC 9293 3.8.6.2.2). */
function advertise(c: Pick<Tcb, 'recvBuf' | 'rcv' | 'rcvWnd' | 'swsThreshold'>): number {
  const free = c.recvBuf.free;
  const cur = c.rcvWnd;
  let target = free;
  if (target <= cur) target = cur;
  // A closed window too: opening it by a few bytes invites silly segments (RFC 9293 3.8.6.2.2).
  else if (target - cur < c.swsThreshold) target = cur;
  const field = Math.min(target >>> c.rcv.wscale, 0xffff);
  const edge = addInt(c.rcv.nxt, field << c.rcv.wscale);
  if (gt(edge, c.rcv.adv)) c.rcv.adv = edge;
  return field;
}

/** What the SACK option's size depends on. */
type SackOptionView = Pick<Tcb, 'sackOk' | 'tsOk' | 'hasOutOfOrder' | 'assembler' | 'out'>;

/** Bytes the SACK option will take on our next ACK-bearing segment (0 without out-of-order data). */
function sackOptionBytes(c: SackOptionView): number {
  if (!c.sackOk || (!c.hasOutOfOrder && c.out.dsack === null)) return 0;
  const blocks = Math.min((c.hasOutOfOrder ? c.assembler.count : 0) + (c.out.dsack !== null ? 1 : 0), c.tsOk ? 3 : 4);
  return blocks === 0 ? 0 : 4 + 8 * blocks; // two NOPs, kind, length, 8 bytes per block
}

/** A segment that is not part of the data stream (RST, probes). */
function bare(c: Pick<Tcb, 'localPort' | 'remotePort'>, seq: number, ack: number, flags: number): TcpRepr {
  return {
    srcPort: c.localPort,
    dstPort: c.remotePort,
    seq: wrap(seq),
    ack: wrap(ack),
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
export function sendRst(c: Tcb, now: number, emit: Emit): void {
  c.segsOut++;
  const rst = bare(c, c.sendPtr, c.rcv.nxt, RST | ACK);
  if (c.config.resetWindow) rst.window = advertise(c);
  // RFC 7323 3.2 lets a <RST> carry TSopt; Linux's active reset does (TSval, TSecr = TS.Recent),
  // and a peer that checks timestamps on resets then takes it.
  if (c.tsOk) rst.options = { timestamp: { val: wrap(c.tsNow(now)), ecr: wrap(c.rcv.tsRecent) } };
  emit(rst);
}

/** A zero-window or keepalive probe: an old sequence number forces the peer to ACK (RFC 9293 3.8.6.1, RFC 1122 4.2.3.6). */
export function sendProbe(c: Tcb, now: number, emit: Emit): void {
  sendSegment(c, addInt(c.snd.una, -1), ACK, 0, 0, now, emit);
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
  if (seg.flags & ACK) return { ...base, seq: wrap(seg.ack), ack: 0, flags: RST };
  const len = textLength(seg) + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
  return { ...base, seq: 0, ack: wrap(addInt(seg.seq, len)), flags: RST | ACK };
}
