// Read-only snapshots of a connection for its owner and for tools: statistics in the spirit of
// Linux's tcp_info / `ss -ti` (RFC 9293 3.10.6 STATUS), and a copy of the TCB's variables.
// Both read every record, so they take the whole Tcb, read-only.

import { sub, lt, wrap } from '../wire/seq.js';
import type { TcpStateName } from './state.js';
import { TIMER_NAMES, NO_SEQ, type Tcb, type TimerKind } from './tcb.js';
import { NO_COUNTERS } from './counters.js';

export interface TcpInfo {
  state: TcpStateName;
  /** Smoothed RTT and its variation, ms (0 before the first sample). */
  rtt: number;
  rttvar: number;
  rto: number;
  /** Congestion window and slow-start threshold in bytes, and the algorithm. */
  cwnd: number;
  ssthresh: number;
  congestion: string;
  sndMss: number;
  rcvMss: number;
  sndWnd: number;
  rcvWnd: number;
  sndWscale: number;
  rcvWscale: number;
  /**
   * Receive-buffer autotuning (recv-buffer.ts), as tcp_info's tcpi_rcv_rtt (here ms) and
   * tcpi_rcv_space: the receiver's RTT estimate and the bytes the application last read in one;
   * 0 before the first in-order data or without autotuning.
   */
  rcvRtt: number;
  rcvSpace: number;
  sack: boolean;
  timestamps: boolean;
  bytesSent: number;
  bytesRetrans: number;
  bytesAcked: number;
  bytesReceived: number;
  segsOut: number;
  segsIn: number;
  retransSegs: number;
  fastRetransmits: number;
  timeouts: number;
  sackedBytes: number;
  dupAcks: number;
  persistProbes: number;
  /** Tail Loss Probes sent (RFC 8985 section 7). */
  tlpProbes: number;
  challengeAcks: number;
  /** Out-of-window segments without text left unanswered (the ACK-loop breaker, reply-limits.ts). */
  oowAcksSkipped: number;
  dropped: number;
  outOfOrder: number;
  unacked: number;
  inFlight: number;
  sendQueued: number;
  recvQueued: number;
  /** Milliseconds since the connection was opened (when `now` is given). */
  age: number;
  /**
   * Linux's congestion state (tcp_info's tcpi_ca_state): 'open'; 'disorder' with segments SACKed,
   * duplicate-ACKed, lost or retransmitted outstanding but no recovery; 'recovery' in fast recovery;
   * 'loss' after a retransmission timeout until everything sent before it is acknowledged.
   */
  caState: 'open' | 'disorder' | 'recovery' | 'loss';
  /**
   * Outstanding segments SACKed, lost (marked lost by RACK or a timeout, retransmitted or not) and
   * retransmitted (not yet delivered), as Linux counts them (tcpi_sacked, tcpi_lost, tcpi_retrans);
   * lost and retransmitted are known with RACK (SACK connections), else 0.
   */
  sackedSegs: number;
  lostSegs: number;
  retransOut: number;
  /** Reordering degree in segments: dupThresh, raised to the farthest reordering seen (tcpi_reordering). */
  reordering: number;
  /** Unanswered zero-window or keep-alive probes (tcpi_probes), and the timer's backoff exponent (tcpi_backoff). */
  probes: number;
  backoff: number;
}

/** Linux's tcpi_ca_state for the connection (see TcpInfo.caState). */
function caState(c: Pick<Readonly<Tcb>, 'rec' | 'snd'>, sacked: number, lost: number, retrans: number): TcpInfo['caState'] {
  if (c.rec.inRecovery) return 'recovery';
  if (c.rec.retransmits > 0 && lt(c.snd.una, c.rec.recover)) return 'loss';
  return sacked > 0 || lost > 0 || retrans > 0 || c.rec.dupAcks > 0 ? 'disorder' : 'open';
}

export function tcpInfo(c: Readonly<Tcb>, now?: number): TcpInfo {
  const k = c.countersIfAny ?? NO_COUNTERS;
  const mss = Math.max(1, c.snd.mss);
  const rack = c.rec.rack;
  const segs = rack !== null ? rack.segmentCounts(mss) : { sacked: c.hasSacks ? Math.ceil(c.scoreboard.sackedBytes / mss) : 0, lost: 0, retrans: 0 };
  return {
    state: c.state,
    rtt: c.rtt.srtt,
    rttvar: c.rtt.rttvar,
    rto: c.rtt.rto,
    cwnd: c.rec.cc?.cwnd ?? 0,
    ssthresh: c.rec.cc?.ssthresh ?? Infinity,
    congestion: c.config.congestion,
    sndMss: c.snd.mss,
    rcvMss: c.config.mss,
    sndWnd: c.snd.wnd,
    rcvWnd: c.rcvWnd,
    sndWscale: c.snd.wscale,
    rcvWscale: c.rcv.wscale,
    rcvRtt: c.drs?.rtt ?? 0,
    rcvSpace: c.drs?.space ?? 0,
    sack: c.sackOk,
    timestamps: c.tsOk,
    bytesSent: k.bytesSent,
    bytesRetrans: k.bytesRetrans,
    bytesAcked: k.bytesAcked,
    bytesReceived: k.bytesReceived,
    segsOut: c.segsOut,
    segsIn: c.segsIn,
    retransSegs: k.retransSegs,
    fastRetransmits: k.fastRetrans,
    timeouts: k.timeouts,
    sackedBytes: k.sackedBytes,
    dupAcks: k.dupAcksIn,
    persistProbes: k.persistProbes,
    tlpProbes: k.tlpProbes,
    challengeAcks: k.challengeAcks,
    oowAcksSkipped: k.oowAcksSkipped,
    dropped: k.dropped,
    outOfOrder: k.ooo,
    unacked: Math.max(0, sub(c.snd.nxt, c.snd.una)),
    inFlight: c.state === 'CLOSED' ? 0 : c.flightSize(),
    sendQueued: c.sendBuf.length,
    recvQueued: c.recvBuf.length,
    age: now === undefined ? 0 : now - c.openedAt,
    caState: caState(c, segs.sacked, segs.lost, segs.retrans),
    sackedSegs: segs.sacked,
    lostSegs: segs.lost,
    retransOut: segs.retrans,
    reordering: c.reordering,
    probes: c.rec.persistBackoff + c.rec.keepaliveProbes,
    backoff: c.rtt.backoffs + c.rec.persistBackoff,
  };
}

/** The TCB's variables (RFC 9293 3.3.1) at one moment: a copy, so changing it changes nothing. */
export interface TcbInfo {
  state: TcpStateName;
  localPort: number;
  remotePort: number;
  /** Born from a listener (passive OPEN). */
  passive: boolean;
  iss: number;
  sndUna: number;
  sndNxt: number;
  /** Go-back retransmission pointer after a timeout, -1 when not going back. */
  rtxNxt: number;
  sndWnd: number;
  sndWl1: number;
  sndWl2: number;
  maxSndWnd: number;
  sndWscale: number;
  /** Effective send MSS and the MSS the peer announced. */
  sndMss: number;
  peerMss: number;
  irs: number;
  rcvNxt: number;
  /** Right edge of the window we last advertised, and what is left of it (RCV.WND). */
  rcvAdv: number;
  rcvWnd: number;
  rcvUp: number;
  rcvWscale: number;
  sackOk: boolean;
  tsOk: boolean;
  tsOffset: number;
  tsRecent: number;
  lastAckSent: number;
  /** Sequence number of the send buffer's first byte. */
  sndBufSeq: number;
  finQueued: boolean;
  finSeq: number;
  finReceived: boolean;
  /** Our FIN was sent and acknowledged. */
  finAcked: boolean;
  released: boolean;
  /** Out-of-order data waits for a hole to fill; the peer's SACK blocks are recorded. */
  hasOutOfOrder: boolean;
  hasSacks: boolean;
  /** Loss recovery (RFC 6582, RFC 6675, RFC 8985). */
  inRecovery: boolean;
  recover: number;
  rxtEnd: number;
  retransmits: number;
  dupAcks: number;
  cwnd: number;
  /** Proportional Rate Reduction (RFC 6937) during SACK-based fast recovery, else null. */
  prr: { recoverFs: number; delivered: number; out: number; sndcnt: number } | null;
  /** RACK (RFC 8985): reordering seen, and the reordering window multiplier (6.2 step 4); false and 1 before RACK ran. */
  rackReorderingSeen: boolean;
  rackReoWndMult: number;
  /** Deadlines in ms, Infinity when off. */
  timers: Record<(typeof TIMER_NAMES)[number] | 'userTimeout', number>;
  lastRecvAt: number;
  sendQueued: number;
  recvQueued: number;
  sendCapacity: number;
  recvCapacity: number;
  /** Out-of-order ranges and bytes held in the receive buffer, and how far past the readable end they reach. */
  oooRanges: number;
  oooBytes: number;
  recvUncommitted: number;
}

/** The TCB's variables, sequence numbers unsigned as users see them (the TCB keeps them as int32: wire/seq.ts). */
export function tcbInfo(c: Readonly<Tcb>): TcbInfo {
  const timers = { userTimeout: c.userTimeoutAt } as TcbInfo['timers'];
  TIMER_NAMES.forEach((name, i) => (timers[name] = c.deadline(i as TimerKind)));
  const { snd, rcv, rec } = c;
  return {
    state: c.state,
    localPort: c.localPort,
    remotePort: c.remotePort,
    passive: c.passive,
    iss: wrap(snd.iss),
    sndUna: wrap(snd.una),
    sndNxt: wrap(snd.nxt),
    rtxNxt: snd.rtxNxt === NO_SEQ ? -1 : wrap(snd.rtxNxt),
    sndWnd: snd.wnd,
    sndWl1: wrap(snd.wl1),
    sndWl2: wrap(snd.wl2),
    maxSndWnd: snd.maxWnd,
    sndWscale: snd.wscale,
    sndMss: snd.mss,
    peerMss: snd.peerMss,
    irs: wrap(rcv.irs),
    rcvNxt: wrap(rcv.nxt),
    rcvAdv: wrap(rcv.adv),
    rcvWnd: c.rcvWnd,
    rcvUp: wrap(rcv.up),
    rcvWscale: rcv.wscale,
    sackOk: c.sackOk,
    tsOk: c.tsOk,
    tsOffset: wrap(c.tsOffset),
    tsRecent: wrap(rcv.tsRecent),
    lastAckSent: wrap(rcv.lastAckSent),
    sndBufSeq: wrap(snd.bufSeq),
    finQueued: snd.finQueued,
    finSeq: wrap(snd.finSeq),
    finReceived: rcv.finReceived,
    finAcked: c.finAcked,
    released: c.released,
    hasOutOfOrder: c.hasOutOfOrder,
    hasSacks: c.hasSacks,
    inRecovery: rec.inRecovery,
    recover: wrap(rec.recover),
    rxtEnd: wrap(rec.rxtEnd),
    retransmits: rec.retransmits,
    dupAcks: rec.dupAcks,
    cwnd: rec.cc?.cwnd ?? 0,
    prr: rec.prr === null ? null : { recoverFs: rec.prr.recoverFs, delivered: rec.prr.delivered, out: rec.prr.out, sndcnt: rec.prr.sndcnt },
    rackReorderingSeen: rec.rack?.reorderingSeen ?? false,
    rackReoWndMult: rec.rack?.reoWndMult ?? 1,
    timers,
    lastRecvAt: c.lastRecvAt,
    sendQueued: c.sendBuf.length,
    recvQueued: c.recvBuf.length,
    sendCapacity: c.sendBuf.capacity,
    recvCapacity: c.recvBuf.capacity,
    oooRanges: c.hasOutOfOrder ? c.assembler.count : 0,
    oooBytes: c.hasOutOfOrder ? c.assembler.bytes : 0,
    recvUncommitted: c.recvBuf.uncommitted,
  };
}
