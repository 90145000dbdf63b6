// Per-connection statistics in the spirit of Linux's tcp_info / `ss -ti` (RFC 9293 3.10.6 STATUS).

import { sub } from '../wire/seq.js';
import type { TcpStateName } from './state.js';
import type { TcpConnection } from './connection.js';
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
  dropped: number;
  outOfOrder: number;
  unacked: number;
  inFlight: number;
  sendQueued: number;
  recvQueued: number;
  /** Milliseconds since the connection was opened (when `now` is given). */
  age: number;
}

export function tcpInfo(c: TcpConnection, now?: number): TcpInfo {
  const k = c.countersIfAny ?? NO_COUNTERS;
  return {
    state: c.state,
    rtt: c.rtt.srtt,
    rttvar: c.rtt.rttvar,
    rto: c.rtt.rto,
    cwnd: c.cc?.cwnd ?? 0,
    ssthresh: c.cc?.ssthresh ?? Infinity,
    congestion: c.config.congestion,
    sndMss: c.sndMss,
    rcvMss: c.config.mss,
    sndWnd: c.sndWnd,
    rcvWnd: Math.max(0, sub(c.rcvAdv, c.rcvNxt)),
    sndWscale: c.sndWscale,
    rcvWscale: c.rcvWscale,
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
    dropped: k.dropped,
    outOfOrder: k.ooo,
    unacked: Math.max(0, sub(c.sndNxt, c.sndUna)),
    inFlight: c.state === 'CLOSED' ? 0 : c.flightSize(),
    sendQueued: c.sendBuf.length,
    recvQueued: c.recvBuf.length,
    age: now === undefined ? 0 : now - c.openedAt,
  };
}
