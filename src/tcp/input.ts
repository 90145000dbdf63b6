// SEGMENT ARRIVES (RFC 9293 section 3.10.7): the checks in the RFC's order (sequence number, RST,
// SYN, ACK, URG, text, FIN) with RFC 5961's blind-attack defences, RFC 7323 PAWS and RFC 1337.
//
// segmentArrives and the per-state steps under it take the whole Tcb: a segment's arrival
// coordinates the connection (both sequence spaces, the buffers, timers and state changes, in the
// RFC's order). The helpers take only what they touch (the drop counter and hooks, PendingOutput,
// the Deadlines).

import { TcpFlag, tcpHeaderLength, textLength, type TcpRepr } from '../wire/tcp.js';
import { addInt, sub, lt, le, gt, ge, inWindow, wrap } from '../wire/seq.js';
import type { DropEvent } from '../trace/events.js';
import type { RingBuffer } from './ring-buffer.js';
import { Timer, NO_SEQ, type Deadlines, type PendingOutput, type Tcb } from './tcb.js';
import { processAck } from './ack.js';
import { expandSendBuffer } from './send-buffer.js';
import { listenStep } from './listener.js';
import { LinuxDelack, linuxAcks } from './delack.js';

const { FIN, SYN, RST, ACK, URG } = TcpFlag;

/** RFC 7323 section 5.5: a TS.Recent older than 24 days is no longer trusted. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

export function segmentArrives(c: Tcb, seg: TcpRepr, now: number): void {
  switch (c.state) {
    case 'CLOSED':
      return; // the stack answers for tuples without a connection (3.10.7.1)
    case 'LISTEN':
      listen(c, seg, now);
      return;
    case 'SYN-SENT':
      synSent(c, seg, now);
      return;
    case 'TIME-WAIT':
      timeWait(c, seg, now);
      return;
    default:
      synchronized(c, seg, now);
      if (linuxAcks(c.config)) linuxAckSndCheck(c, now);
  }
}

function drop(c: Pick<Tcb, 'counters' | 'hooks'>, now: number, reason: DropEvent['reason'], detail?: string): void {
  c.counters.dropped++;
  if (c.hooks.onTrace) {
    const e: DropEvent = { type: 'drop', t: now, host: '', reason };
    if (detail !== undefined) e.detail = detail;
    c.hooks.onTrace?.(e);
  }
}

/** RFC 9293 3.10.7.2: a TCB in LISTEN (TcpConnection.listen()). */
function listen(c: Tcb, seg: TcpRepr, now: number): void {
  switch (listenStep(seg.flags)) {
    case 'rst':
      drop(c, now, 'rst-ignored', 'RST in LISTEN');
      return;
    case 'ack':
      queueReset(c.out, seg.ack); // <SEQ=SEG.ACK><CTL=RST>
      drop(c, now, 'bad-ack', 'ACK in LISTEN');
      return;
    case 'syn':
      c.acceptSyn(seg, now);
      return;
    default:
      drop(c, now, 'other', 'neither SYN, ACK nor RST in LISTEN');
  }
}

/** RFC 9293 3.10.7.3: SYN-SENT. */
function synSent(c: Tcb, seg: TcpRepr, now: number): void {
  const f = seg.flags;
  // first, check the ACK bit
  if (f & ACK) {
    if (le(seg.ack, c.snd.iss) || gt(seg.ack, c.snd.nxt)) {
      if (!(f & RST)) queueReset(c.out, seg.ack);
      drop(c, now, 'bad-ack', 'ACK outside (ISS, SND.NXT] in SYN-SENT');
      return;
    }
  }
  // second, the RST bit
  if (f & RST) {
    if (f & ACK) c.fail('ECONNREFUSED', 'connection refused (RST in SYN-SENT)');
    else drop(c, now, 'rst-ignored', 'RST without ACK in SYN-SENT');
    return;
  }
  // fourth, the SYN bit
  if (!(f & SYN)) {
    drop(c, now, 'other', 'neither SYN nor RST in SYN-SENT');
    return;
  }
  c.rcv.irs = seg.seq;
  c.rcv.nxt = addInt(seg.seq, 1);
  c.rcv.adv = c.rcv.nxt;
  c.negotiate(seg, now);
  if (f & ACK) {
    c.snd.una = seg.ack;
    // A timeout that had us going back to resend the SYN is over: it is acknowledged.
    if (c.snd.rtxNxt !== NO_SEQ && lt(c.snd.rtxNxt, c.snd.una)) c.advanceSendPtr(c.snd.una);
    c.snd.wnd = seg.window; // a SYN's window is never scaled (RFC 7323 2.2)
    c.snd.maxWnd = c.snd.wnd;
    c.snd.wl1 = seg.seq;
    c.snd.wl2 = seg.ack;
  }
  if (gt(c.snd.una, c.snd.iss)) {
    // Our SYN is acknowledged: ESTABLISHED; ACK their SYN.
    if (c.rtt.backoffs === 0 && c.rec.rttSeq === c.snd.iss) c.rtt.sample(Math.max(0, now - c.rec.rttStart), seg.ack, c.snd.nxt);
    else if (c.tsOk && seg.options.timestamp && seg.options.timestamp.ecr !== 0) {
      c.rtt.sample(Math.max(0, (c.tsNow(now) - seg.options.timestamp.ecr) >>> 0), seg.ack, c.snd.nxt);
    }
    c.rec.rttSeq = NO_SEQ;
    c.disarm(Timer.Rto);
    c.rec.retransmits = 0;
    c.ensureCc();
    c.out.ack = true;
    expandSendBuffer(c); // Linux's tcp_init_buffer_space, before onConnected's writer fills it
    c.setState('ESTABLISHED', 'rcv SYN,ACK');
    armKeepalive(c, now);
  } else {
    // Simultaneous open (RFC 9293 Figure 8): send SYN,ACK from SYN-RECEIVED.
    c.snd.wnd = seg.window;
    c.snd.maxWnd = c.snd.wnd;
    c.snd.wl1 = seg.seq;
    c.goBack(c.snd.iss); // output resends our SYN, now with ACK
    c.disarm(Timer.Rto);
    c.setState('SYN-RECEIVED', 'rcv SYN (simultaneous open)');
  }
}

/** RFC 9293 3.10.7.4 for TIME-WAIT, with RFC 1337 (ignore RST). */
function timeWait(c: ChallengeView & Deadlines & Pick<Tcb, 'rcv' | 'config'>, seg: TcpRepr, now: number): void {
  const f = seg.flags;
  if (f & RST) {
    drop(c, now, 'rst-ignored', 'RFC 1337: TIME-WAIT ignores RST');
    return;
  }
  if (f & SYN) {
    // A reopening SYN is taken by the stack before it gets here (canReopen); any other SYN gets
    // a challenge ACK (RFC 5961 4.2).
    challenge(c, now);
    return;
  }
  if (f & FIN && addInt(seg.seq, textLength(seg) + 1) === c.rcv.nxt) {
    // The peer's FIN again: our last ACK was lost. ACK it and restart 2*MSL (3.10.7.4 eighth).
    c.out.ack = true;
    c.arm(Timer.TimeWait, now + 2 * c.config.msl);
    return;
  }
  if (textLength(seg) > 0 || f & FIN) c.out.ack = true;
}

/** RFC 9293 3.10.7.4 for SYN-RECEIVED and the synchronized states. */
function synchronized(c: Tcb, seg: TcpRepr, now: number): void {
  const f = seg.flags;
  const textLen = textLength(seg);
  const segLen = textLen + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);

  // Simultaneous open (RFC 9293 Figure 7, line 6): the peer's SYN,ACK repeats the SYN we already
  // took, so it would fail the window test; take it without the SYN to use its ACK.
  if (c.state === 'SYN-RECEIVED' && (f & (SYN | ACK | RST)) === (SYN | ACK) && seg.seq === c.rcv.irs) {
    synchronized(c, { ...seg, seq: addInt(seg.seq, 1), flags: f & ~SYN }, now);
    return;
  }

  // A duplicate of the SYN that opened a passive connection: answer with the SYN,ACK again.
  if (c.state === 'SYN-RECEIVED' && f & SYN && !(f & (RST | ACK)) && seg.seq === c.rcv.irs) {
    c.goBack(c.snd.iss);
    return;
  }

  // RFC 5961 4.2: in a synchronized state a SYN (without RST) gets a rate-limited challenge ACK
  // "regardless of the sequence number". Checked before PAWS and the window test, as Linux's
  // tcp_validate_incoming does (syn_challenge): an out-of-window SYN counts one in SEG.LEN, so the
  // window test would answer it as unacceptable text, with an ACK per SYN and no limit, turning
  // blind SYNs at a known 4-tuple into an unbounded ACK reflector.
  if (f & SYN && !(f & RST)) {
    challenge(c, now);
    return;
  }

  // RFC 7323 5.3 R1: PAWS.
  const ts = seg.options.timestamp;
  if (c.tsOk && ts !== undefined && !(f & RST) && lt(ts.val, c.rcv.tsRecent)) {
    if (now - c.rcv.tsRecentAt > PAWS_IDLE_MS) {
      c.rcv.tsRecent = ts.val; // the old TS.Recent is stale (5.5)
    } else {
      c.out.ack = true;
      drop(c, now, 'paws', `TSval ${wrap(ts.val)} < TS.Recent ${wrap(c.rcv.tsRecent)}`);
      return;
    }
  }

  // first, check sequence number: the four-case acceptability test.
  const rcvWnd = c.rcvWnd;
  let acceptable: boolean;
  if (segLen === 0) {
    acceptable = rcvWnd === 0 ? seg.seq === c.rcv.nxt : inWindow(seg.seq, c.rcv.nxt, rcvWnd);
  } else {
    acceptable =
      rcvWnd > 0 &&
      (inWindow(seg.seq, c.rcv.nxt, rcvWnd) || inWindow(addInt(seg.seq, segLen - 1), c.rcv.nxt, rcvWnd));
  }
  // Special allowance (3.10.7.4): with a zero window, still take ACK, URG and RST at RCV.NXT.
  let textAllowed = true;
  if (!acceptable) {
    if (rcvWnd === 0 && seg.seq === c.rcv.nxt) {
      textAllowed = false;
      // The text is still unacceptable and must be answered: this ACK is how a window prober
      // carrying a byte of data learns the window (RFC 9293 3.10.7.4 first, 3.8.6.1).
      if (segLen > 0 && !(f & RST)) c.out.ack = true;
    } else {
      // RFC 9293 3.10.7.4 first: answer with an ACK (not a RST). A segment without text is
      // answered at most once per OOW_ACK_INTERVAL (reply-limits.ts): two ends that disagree about the sequence
      // space (a desynchronised connection) would otherwise ACK each other's ACKs forever, and a
      // flood of forged ACKs would be reflected one for one (Linux's tcp_invalid_ratelimit).
      // With our window at zero every probe is answered: the peer learns the window only so
      // (RFC 9293 3.8.6.1).
      if (!(f & RST) && (segLen > 0 || rcvWnd === 0 || c.allowOutOfWindowAck(now))) c.out.ack = true;
      // Linux: data we already had (our ACK was lost) or data into a closed window brings quick
      // ACKs back (tcp_send_dupack, tcp_data_queue's out_of_window: tcp_enter_quickack_mode).
      if (linuxAcks(c.config) && textLen > 0 && !(f & RST) && (lt(seg.seq, c.rcv.nxt) || rcvWnd === 0)) {
        delackOf(c).enterQuickack(c.rcvWnd, c.config.delayedAck);
      }
      // Data we already have: report it as a D-SACK in that ACK (RFC 2883 section 4, case 1).
      const dataLen = textLen;
      if (c.sackOk && dataLen > 0 && !(f & RST) && le(addInt(seg.seq, dataLen), c.rcv.nxt)) {
        c.out.dsack = { left: seg.seq, right: addInt(seg.seq, dataLen) };
      }
      drop(c, now, 'out-of-window', `seq ${wrap(seg.seq)} len ${segLen} outside [${wrap(c.rcv.nxt)}, +${rcvWnd})`);
      return;
    }
  }

  // second, the RST bit (RFC 5961 3.2: only an exact match resets; in-window gets a challenge ACK).
  if (f & RST) {
    if (seg.seq !== c.rcv.nxt) {
      challenge(c, now);
      return;
    }
    switch (c.state) {
      case 'SYN-RECEIVED':
        if (c.passive) c.toClosed('rcv RST');
        else c.fail('ECONNREFUSED', 'connection refused (RST in SYN-RECEIVED)');
        return;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        c.fail('ECONNRESET', 'connection reset by peer');
        return;
      default:
        c.toClosed('rcv RST'); // CLOSING, LAST-ACK
        return;
    }
  }

  // fourth, the SYN bit: answered above, before the window test (RFC 5961 4.2). A SYN with RST
  // reaches here only as an exact RST, which has reset the connection.

  // fifth, the ACK field.
  if (!(f & ACK)) {
    drop(c, now, 'other', 'no ACK bit');
    return;
  }
  if (c.state === 'SYN-RECEIVED') {
    if (gt(seg.ack, c.snd.una) && le(seg.ack, c.snd.nxt)) {
      c.snd.wnd = seg.window << c.snd.wscale;
      c.snd.maxWnd = Math.max(c.snd.maxWnd, c.snd.wnd);
      c.snd.wl1 = seg.seq;
      c.snd.wl2 = seg.ack;
      c.ensureCc();
      expandSendBuffer(c); // Linux's tcp_init_buffer_space, before onConnected's writer fills it
      c.setState('ESTABLISHED', 'rcv ACK of SYN');
      armKeepalive(c, now);
      if (c.snd.finQueued) c.setState('FIN-WAIT-1', 'CLOSE');
    } else {
      queueReset(c.out, seg.ack);
      drop(c, now, 'bad-ack', 'ACK does not acknowledge our SYN');
      return;
    }
  }
  // RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
  if (gt(seg.ack, c.snd.nxt)) {
    // RFC 9293 3.10.7.4 fifth says "send an ACK"; RFC 5961 5.2 makes that ACK a challenge ACK,
    // throttled by section 7 like the others, so a flood of future ACKs is not reflected 1:1.
    if (c.allowChallengeAck(now)) c.out.ack = true;
    drop(c, now, 'bad-ack', 'ACK for data not yet sent');
    return;
  }
  if (lt(seg.ack, addInt(c.snd.una, -Math.max(c.snd.maxWnd, 1)))) {
    challenge(c, now);
    return;
  }
  processAck(c, seg, now);
  if (c.state === 'CLOSED') return;
  switch (c.state) {
    case 'FIN-WAIT-1':
      // A segment that also carries the peer's FIN goes straight to TIME-WAIT in the eighth step
      // (RFC 9293 Figure 5, note 2); otherwise FIN-WAIT-2 now.
      if (c.finAcked && !(f & FIN && textAllowed)) finWait2(c, now);
      break;
    case 'CLOSING':
      if (c.finAcked) {
        c.enterTimeWait(now, 'rcv ACK of FIN');
        return;
      }
      break;
    case 'LAST-ACK':
      if (c.finAcked) {
        c.toClosed('rcv ACK of FIN');
        return;
      }
      break;
    default:
      break;
  }

  // sixth, the URG bit (RFC 6093: urgent data stays inline; only the pointer is kept).
  if (f & URG && (c.state === 'ESTABLISHED' || c.state === 'FIN-WAIT-1' || c.state === 'FIN-WAIT-2')) {
    const up = addInt(seg.seq, seg.urgent);
    if (gt(up, c.rcv.up)) c.rcv.up = up;
  }

  // RFC 7323 4.3: remember TS.Recent from segments that cover Last.ACK.sent.
  if (ts !== undefined && c.tsOk && le(seg.seq, c.rcv.lastAckSent) && ge(ts.val, c.rcv.tsRecent)) {
    c.rcv.tsRecent = ts.val;
    c.rcv.tsRecentAt = now;
  }

  // seventh, the segment text.
  let seq = seg.seq;
  if (textLen > 0 && textAllowed) {
    if (c.state === 'ESTABLISHED' || c.state === 'FIN-WAIT-1' || c.state === 'FIN-WAIT-2') {
      if (c.released) {
        // Nobody will read it: tell the peer (Linux sends RST for data to a closed socket).
        // <SEQ=SEG.ACK><CTL=RST> (RFC 9293 3.10.7.1's form), then CLOSED once it has left.
        queueReset(c.out, seg.ack);
        c.out.closeAfterReset = true;
        c.hooks.onPollNeeded?.();
        return;
      }
      // Text before RCV.NXT we already have: skip it.
      let skip = sub(c.rcv.nxt, seq);
      if (skip > 0) seq = c.rcv.nxt;
      else skip = 0;
      acceptText(c, seg, seq, Math.min(skip, textLen), now);
      if ((c.state as string) === 'CLOSED') return;
    } else {
      // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; ignore text (3.10.7.4 seventh).
      c.out.ack = true;
    }
  }

  // eighth, the FIN bit.
  if (f & FIN && textAllowed) {
    const finSeq = addInt(seg.seq, textLen);
    if (finSeq === c.rcv.nxt) {
      receiveFin(c, now);
    } else if (gt(finSeq, c.rcv.nxt) && inWindow(finSeq, c.rcv.nxt, c.rcvWnd + 1)) {
      c.rcv.pendingFin = finSeq; // FIN ahead of a hole: act on it when the hole fills
      c.out.ack = true;
    } else {
      c.out.ack = true; // a FIN we already took: ACK again
    }
    // Our FIN was acknowledged but theirs could not be taken yet: FIN-WAIT-2 after all.
    if (c.state === 'FIN-WAIT-1' && c.finAcked) finWait2(c, now);
  }
}

/** FIN-WAIT-1 -> FIN-WAIT-2 (RFC 9293 3.10.7.4 fifth); released connections get a time limit. */
function finWait2(c: Tcb, now: number): void {
  c.setState('FIN-WAIT-2', 'rcv ACK of FIN');
  if (c.released && c.config.finWait2Timeout > 0) c.arm(Timer.FinWait2, now + c.config.finWait2Timeout);
}

/**
 * Place in-window text (the segment's text from byte `skip` on, which starts at `seq`) into the
 * receive buffer; out-of-order data waits in the assembler.
 */
function acceptText(c: Tcb, seg: TcpRepr, seq: number, skip: number, now: number): void {
  const offset = sub(seq, c.rcv.nxt);
  const room = c.recvBuf.free - offset;
  const len = Math.min(textLength(seg) - skip, room);
  if (len <= 0) {
    c.out.ack = true;
    return;
  }
  if (offset === 0 && !c.hasOutOfOrder) {
    // The common case: in order, nothing held back.
    const n = copyText(c.recvBuf, -1, seg, skip, len);
    c.rcv.nxt = addInt(c.rcv.nxt, n);
    c.counters.bytesReceived += n;
    if (linuxAcks(c.config)) linuxDataRecv(c, seg, n, now);
    else ackPolicy(c, n, now);
  } else {
    const asm = c.assembler;
    if (offset > 0 && asm.count >= c.config.maxOutOfOrderRanges && !asm.contains(offset)) {
      // Bounded memory: too many holes already; drop (the peer retransmits) but say where we are.
      c.counters.ooo++;
      c.out.ack = true;
      drop(c, now, 'other', 'out-of-order queue full');
      return;
    }
    // RFC 2883 section 4.2: data already held out of order is reported as a D-SACK block (the
    // duplicated part), followed by the SACK block that holds it, as Linux's tcp_data_queue_ofo.
    if (c.sackOk && offset > 0) {
      const dup = asm.overlap(offset, len);
      if (dup !== null) c.out.dsack = { left: addInt(c.rcv.nxt, dup.start), right: addInt(c.rcv.nxt, dup.end) };
    }
    const n = copyText(c.recvBuf, offset, seg, skip, len);
    asm.add(offset, n);
    const ready = asm.popFront();
    if (ready > 0) {
      c.recvBuf.commit(ready);
      c.rcv.nxt = addInt(c.rcv.nxt, ready);
      c.counters.bytesReceived += ready;
      if (linuxAcks(c.config)) linuxDataRecv(c, seg, n, now);
    } else {
      c.counters.ooo++;
    }
    c.out.ack = true; // out of order, or filling a hole: ACK at once (RFC 5681 4.2)
  }
  if (c.rcv.pendingFin === c.rcv.nxt) {
    c.rcv.pendingFin = NO_SEQ;
    receiveFin(c, now);
    return;
  }
  if (c.recvBuf.length > 0) c.hooks.onReadable?.();
}

/**
 * Copy `n` bytes of `seg`'s text from byte `skip` on into the receive ring: appended when `at` < 0,
 * else placed `at` bytes past its readable end (RingBuffer.writeAt). A joined segment's pieces
 * (SegmentText) are copied one after the other, never joined first. Returns the bytes copied.
 */
function copyText(ring: RingBuffer, at: number, seg: TcpRepr, skip: number, n: number): number {
  const t = seg.text;
  if (t == null) return at < 0 ? ring.write(seg.payload, skip, skip + n) : ring.writeAt(at, seg.payload, skip, skip + n);
  let done = 0;
  for (let i = 0; i < t.count && done < n; i++) {
    const p = t.parts[i]!;
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    const k = Math.min(p.length - skip, n - done);
    const w = at < 0 ? ring.write(p, skip, skip + k) : ring.writeAt(at + done, p, skip, skip + k);
    done += w;
    if (w < k) break;
    skip = 0;
  }
  return done;
}

/**
 * RFC 5681 4.2 / RFC 1122 4.2.3.2: ACK every second full segment, otherwise after a short delay.
 * A segment the stack joined from several (GRO, stack/gro.ts) counts as the full segments it holds.
 */
function ackPolicy(c: Deadlines & Pick<Tcb, 'config' | 'snd' | 'out'>, bytes: number, now: number): void {
  if (c.config.delayedAck === 0) {
    c.out.ack = true;
    return;
  }
  const mss = c.snd.mss;
  c.out.unackedSegs += bytes >= mss ? (bytes >= 2 * mss ? Math.floor(bytes / mss) : 1) : 0.5;
  if (c.out.unackedSegs >= 2) {
    c.out.ack = true;
  } else if (c.deadline(Timer.DelayedAck) === Infinity) {
    c.arm(Timer.DelayedAck, now + c.config.delayedAck);
  }
}

/** The peer's FIN, in order (RFC 9293 3.10.7.4 eighth). */
function receiveFin(c: Tcb, now: number): void {
  c.rcv.nxt = addInt(c.rcv.nxt, 1);
  c.rcv.finReceived = true;
  const linux = linuxAcks(c.config);
  // Linux's tcp_fin: the FIN is ACKed like data (delayed in interactive mode, which CLOSE-WAIT
  // enters: the application's reply, its FIN, may carry the ACK), except in FIN-WAIT-1/2, where
  // it is ACKed at once.
  if (linux) delackOf(c).schedule();
  if (!linux || (c.state !== 'SYN-RECEIVED' && c.state !== 'ESTABLISHED')) c.out.ack = true;
  switch (c.state) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      if (linux) delackOf(c).enterInteractive();
      c.setState('CLOSE-WAIT', 'rcv FIN');
      break;
    case 'FIN-WAIT-1':
      if (c.finAcked) c.enterTimeWait(now, 'rcv FIN');
      else c.setState('CLOSING', 'rcv FIN');
      break;
    case 'FIN-WAIT-2':
      c.enterTimeWait(now, 'rcv FIN');
      break;
    default:
      break;
  }
  c.hooks.onReadable?.();
}

/** What a challenge ACK needs: the rate limits, the next output, the drop counter and hooks. */
type ChallengeView = Pick<Tcb, 'allowChallengeAck' | 'out' | 'counters' | 'hooks'>;

/** RFC 5961: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, rate-limited (section 7). */
function challenge(c: ChallengeView, now: number): void {
  if (c.allowChallengeAck(now)) c.out.ack = true;
  drop(c, now, 'challenge-ack');
}

/** Queue <SEQ=seq><CTL=RST> (a reset for an unacceptable ACK). */
function queueReset(out: PendingOutput, seq: number): void {
  out.resetSeq = seq;
}

function armKeepalive(c: Deadlines & Pick<Tcb, 'config'>, now: number): void {
  if (c.config.keepAlive.enabled) c.arm(Timer.Keepalive, now + c.config.keepAlive.idle);
}

/** Linux's delayed-ACK state, created with the receive MSS estimate (tcp_initialize_rcv_mss). */
function delackOf(c: Pick<Tcb, 'out' | 'config' | 'snd' | 'rcvWnd'>): LinuxDelack {
  return (c.out.delack ??= new LinuxDelack(c.config.mss, c.snd.mss, c.rcvWnd));
}

/** In-order data under ackRule 'linux' (tcp_event_data_recv): the ACK is decided after the segment. */
function linuxDataRecv(c: Pick<Tcb, 'out' | 'config' | 'snd' | 'rcvWnd' | 'tsOk' | 'rtt'>, seg: TcpRepr, bytes: number, now: number): void {
  const tsHeader = c.tsOk ? 32 : 20; // tcp_header_len: the header every segment carries
  delackOf(c).dataReceived(bytes, tcpHeaderLength(seg), tsHeader, seg.flags, c.config.mss, c.rcvWnd, c.rtt.rto, c.config.delayedAck, now);
}

/**
 * ackRule 'linux', once a segment has been processed (__tcp_ack_snd_check): with an ACK owed, ACK
 * now in quick-ACK mode, after a filled hole, or with out-of-order data queued; else arm the
 * delayed ACK (tcp_send_delayed_ack), keeping an earlier deadline and sending at once if that one
 * is within a quarter of the new delay.
 *
 * Linux's other reason to ACK now, more than one full frame (rcv_mss) unacknowledged while the
 * window's right edge advances, depends on how its window grows (rcv_ssthresh, skb memory), which
 * synack does not model. On Linux 6.18 under packetdrill it did not fire in any case tried (two
 * full segments unread, the same after a read emptied the queue, 1000 bytes and a FIN:
 * delack-read-acks-linux.pkt, delack-fin-close-wait-linux.pkt), so here the read ACKs them
 * (tcp_cleanup_rbuf, connection.ts) or the timer does.
 */
function linuxAckSndCheck(c: Deadlines & Pick<Tcb, 'out' | 'config' | 'rtt' | 'hasOutOfOrder'>, now: number): void {
  const d = c.out.delack;
  if (d === null || !d.scheduled || c.out.ack) return;
  if (d.inQuickack || d.now || c.hasOutOfOrder) {
    c.out.ack = true;
    return;
  }
  const ato = d.delay(c.rtt.srtt, c.config.delayedAck);
  const armed = c.deadline(Timer.DelayedAck);
  if (armed !== Infinity) {
    if (armed <= now + ato / 4) c.out.ack = true;
    else if (now + ato < armed) c.arm(Timer.DelayedAck, now + ato);
    return;
  }
  c.arm(Timer.DelayedAck, now + ato);
}
