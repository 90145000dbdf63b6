// A connection's tcp_info counters (src/tcp/info.ts) beyond segsIn/segsOut: created on first use, so a
// connection that has only done its handshake carries none.

/** Per-connection counters reported by tcpInfo (src/tcp/info.ts), beyond segsIn/segsOut. */
export interface TcpCounters {
  bytesSent: number;
  bytesRetrans: number;
  bytesAcked: number;
  bytesReceived: number;
  retransSegs: number;
  fastRetrans: number;
  timeouts: number;
  sackedBytes: number;
  dupAcksIn: number;
  persistProbes: number;
  tlpProbes: number;
  challengeAcks: number;
  /** Out-of-window segments without text left unanswered by allowOutOfWindowAck. */
  oowAcksSkipped: number;
  dropped: number;
  ooo: number;
}

export function newCounters(): TcpCounters {
  return {
    bytesSent: 0,
    bytesRetrans: 0,
    bytesAcked: 0,
    bytesReceived: 0,
    retransSegs: 0,
    fastRetrans: 0,
    timeouts: 0,
    sackedBytes: 0,
    dupAcksIn: 0,
    persistProbes: 0,
    tlpProbes: 0,
    challengeAcks: 0,
    oowAcksSkipped: 0,
    dropped: 0,
    ooo: 0,
  };
}

/** What a connection that never needed its counters reports. */
export const NO_COUNTERS: Readonly<TcpCounters> = Object.freeze(newCounters());
