// The TCB panel's numbers (RFC 9293 3.3.1 send and receive sequence variables, plus RFC 5681
// cwnd/ssthresh and the RFC 6298 RTO) read from a connection's snapshots: info() (the TCB) and stats() (tcp_info).
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { TextKey } from './i18n.js';

export interface TcbView {
  state: string;
  iss: number;
  irs: number;
  sndUna: number;
  sndNxt: number;
  sndWnd: number;
  rcvNxt: number;
  rcvWnd: number;
  cwnd: number;
  ssthresh: number;
  rto: number;
  /** Time until the connection's next timer fires, ms (Infinity: none armed). */
  nextTimer: number;
}

/** A snapshot of one connection at virtual time `now`. */
export function tcbOf(c: TcpConnection, now: number): TcbView {
  const info = c.stats(now);
  const tcb = c.info();
  const next = c.pollAt();
  return {
    state: c.state,
    iss: tcb.iss >>> 0,
    irs: tcb.irs >>> 0,
    sndUna: tcb.sndUna >>> 0,
    sndNxt: tcb.sndNxt >>> 0,
    sndWnd: info.sndWnd,
    rcvNxt: tcb.rcvNxt >>> 0,
    rcvWnd: info.rcvWnd,
    cwnd: info.cwnd,
    ssthresh: info.ssthresh,
    rto: info.rto,
    nextTimer: Number.isFinite(next) ? Math.max(0, next - now) : Infinity,
  };
}

/**
 * The rows of the panel: label (RFC 9293's names as they are; labelKey: words the i18n table
 * translates), the field's key (for tests and screen readers), and how to print it.
 */
export const TCB_ROWS: readonly { key: keyof TcbView; label: string; labelKey?: TextKey; seq?: 'snd' | 'rcv' }[] = [
  { key: 'state', label: 'state', labelKey: 'state' },
  { key: 'iss', label: 'ISS', seq: 'snd' },
  { key: 'irs', label: 'IRS', seq: 'rcv' },
  { key: 'sndUna', label: 'SND.UNA', seq: 'snd' },
  { key: 'sndNxt', label: 'SND.NXT', seq: 'snd' },
  { key: 'sndWnd', label: 'SND.WND' },
  { key: 'rcvNxt', label: 'RCV.NXT', seq: 'rcv' },
  { key: 'rcvWnd', label: 'RCV.WND' },
  { key: 'cwnd', label: 'cwnd' },
  { key: 'ssthresh', label: 'ssthresh' },
  { key: 'rto', label: 'RTO (ms)', labelKey: 'rtoMs' },
  { key: 'nextTimer', label: 'next timer (ms)', labelKey: 'nextTimerMs' },
];
