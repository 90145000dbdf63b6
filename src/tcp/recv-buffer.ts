// Receive-buffer autotuning as Linux does it (dynamic right-sizing, net/ipv4/tcp_input.c of 6.18
// and its successors): once per receiver-estimated RTT, the bytes the application read in that RTT
// (less what still waits unread) become rcvq_space.space; when that grew, the buffer (and so the
// window we advertise) grows to twice it, plus what slow start may add in the next RTT, plus the
// out-of-order span, up to `recvBufferMax` (tcp_rmem[2]). tcp_rcv_space_adjust and tcp_rcvbuf_grow
// below, the receiver's RTT estimate (tcp_rcv_rtt_measure, tcp_rcv_rtt_measure_ts,
// tcp_rcv_rtt_update) beside them. A buffer the user sized (recvBufferSize alone, or
// setRecvBufferSize: SO_RCVBUF's SOCK_RCVBUF_LOCK) has `recvBufferMax` equal to its size and never
// grows. It only grows, so the right edge we offered never moves left (RFC 9293 3.8.6.2.2, RFC 7323
// 2.4), and it copies nothing: the ring takes the new capacity and its storage still grows by
// doubling only as unread bytes pile up. The state is made at the first in-order data, so an idle
// connection costs what it did.

import { sub } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import type { RingBuffer } from './ring-buffer.js';

/** TCP_INIT_CWND: the first measurement expects ten segments per RTT (tcp_init_buffer_space). */
const INIT_CWND_SEGS = 10;
/**
 * net.ipv4.tcp_rcvbuf_low_rtt (1 ms; net-next November 2025, so Linux 6.19, not this machine's
 * 6.18): below this receiver RTT the window grows by rcvwin * rtt / 1 ms instead of the slow-start
 * allowance, "to avoid sk_rcvbuf inflation and poor cache use" (in process and over TUN, where the
 * RTT is microseconds, it keeps rings within the caches, as s7-buffers' send-side rule does).
 */
const LOW_RTT_MS = 1;

/** Linux's rcvq_space and rcv_rtt_est, per connection, in bytes and ms (fractional: `now`'s unit). */
export class RecvSpace {
  /** rcvq_space.space: bytes the application read in the last measured RTT (at least the first guess). */
  space: number;
  /** rcvq_space.seq and .time: the copied sequence and time this measurement started at. */
  seq: number;
  time: number;
  /** rcv_rtt_est.rtt (ms, 0 = no estimate yet): an average of timestamp samples, a minimum of window samples. */
  rtt = 0;
  /** rcv_rtt_est.seq and .time: a window sample ends when RCV.NXT passes `rttSeq` (time < 0: none started). */
  rttSeq = 0;
  rttTime = -1;
  /** rcv_rtt_last_tsecr: one timestamp sample per TSecr value. */
  lastTsecr = 0;
  /** icsk_ack.rcv_mss, roughly: the largest segment seen, the size a timestamp sample needs. */
  rcvMss = 0;

  constructor(space: number, seq: number, now: number) {
    this.space = space;
    this.seq = seq;
    this.time = now;
  }
}

/** What autotuning reads and writes of the TCB (tcb.ts; spelled out, as tcb.ts holds a RecvSpace). */
export interface RecvView {
  readonly recvBuf: RingBuffer;
  readonly config: Readonly<TcpConfig>;
  readonly rcv: { readonly nxt: number; readonly adv: number; readonly lastAckSent: number };
  readonly tsOk: boolean;
  readonly hasOutOfOrder: boolean;
  /** The out-of-order queue; `end` is its highest byte's offset past RCV.NXT, plus one. */
  readonly assembler: { readonly end: number };
  tsNow(now: number): number;
  drs: RecvSpace | null;
}

/** copied_seq: the sequence number of the next byte the application will read. */
function copiedSeq(c: RecvView): number {
  return (c.rcv.nxt - c.recvBuf.length) | 0;
}

/** Whether this connection's receive buffer may still grow (not locked, not at its maximum). */
export function recvAutotuning(c: Pick<RecvView, 'recvBuf' | 'config'>): boolean {
  return c.recvBuf.capacity < c.config.recvBufferMax;
}

/**
 * tcp_rcv_rtt_update: a window-dependent sample (`winDep`, from tcp_rcv_rtt_measure) only ever lowers
 * the estimate; a timestamp sample is averaged in (7/8 old) unless unread data waits (then the
 * sample includes the application's delay, not the path's).
 */
function rttUpdate(c: RecvView, d: RecvSpace, sample: number, winDep: boolean): void {
  const old = d.rtt;
  if (old === 0 || sample < old) d.rtt = sample;
  else if (!winDep && c.recvBuf.length === 0) d.rtt = old - old / 8 + sample / 8;
}

/**
 * After in-order data arrived (RCV.NXT moved) with `payload` bytes and the segment's TSecr
 * (undefined without timestamps): Linux's tcp_event_data_recv's tcp_rcv_rtt_measure, and
 * tcp_rcv_rtt_measure_ts. The window sample is the time from RCV.NXT until RCV.NXT passes it plus
 * the window last advertised, at `now`'s resolution; a timestamp sample counts whole ticks (ms) and a zero
 * one is no sample (tcp_rtt_tsopt_us with min 0), so in process the window samples set the RTT.
 */
export function recvDataArrived(c: RecvView, payload: number, tsecr: number | undefined, now: number): void {
  let d = c.drs;
  if (d === null) {
    if (!recvAutotuning(c)) return;
    // tcp_init_buffer_space: rcvq_space.space = min(rcv_wnd, TCP_INIT_CWND * advmss); measured from
    // here (Linux starts at ESTABLISHED; the first data is where the first RTT of reading starts).
    const advmss = c.config.mss - (c.tsOk ? 12 : 0);
    d = c.drs = new RecvSpace(Math.min(c.recvBuf.capacity, INIT_CWND_SEGS * advmss), copiedSeq(c), now);
  }
  if (payload > d.rcvMss) d.rcvMss = Math.min(payload, c.config.mss);
  if (d.rttTime >= 0 && sub(c.rcv.nxt, d.rttSeq) >= 0) rttUpdate(c, d, Math.max(now - d.rttTime, 1e-3), true);
  if (d.rttTime < 0 || sub(c.rcv.nxt, d.rttSeq) >= 0) {
    // Linux's tp->rcv_wnd: the whole window last advertised (from the ACK it went with), so the
    // sample covers a window's worth of data sent after the peer learned of it: about an RTT.
    d.rttSeq = (c.rcv.nxt + sub(c.rcv.adv, c.rcv.lastAckSent)) | 0;
    d.rttTime = now;
  }
  if (c.tsOk && tsecr !== undefined && tsecr !== 0 && tsecr !== d.lastTsecr) {
    d.lastTsecr = tsecr;
    const delta = (c.tsNow(now) - tsecr) | 0;
    if (payload >= d.rcvMss && delta > 0) rttUpdate(c, d, delta, false);
  }
}

/**
 * tcp_rcv_space_adjust, which Linux runs as the application reads: once an RTT has passed since
 * the measurement began, what was read in it, less what still waits unread, becomes the new space,
 * and the buffer grows if that is more than before. synack's application reads without a clock, so
 * this runs at the connection's next event (a segment arriving, a poll).
 */
export function recvSpaceAdjust(c: RecvView, now: number): boolean {
  const d = c.drs;
  if (d === null || d.rtt === 0 || now - d.time < d.rtt) return false;
  const copied = sub(copiedSeq(c), d.seq) - c.recvBuf.length;
  const grew = copied > d.space && grow(c, d, copied);
  d.seq = copiedSeq(c);
  d.time = now;
  return grew;
}

/** tcp_rcvbuf_grow: the new space, and the buffer to hold twice it plus what the sender may add; whether it grew. */
function grow(c: RecvView, d: RecvSpace, newval: number): boolean {
  const oldval = d.space;
  d.space = newval;
  if (!recvAutotuning(c)) return false; // locked (SOCK_RCVBUF_LOCK), or grown all the way
  const max = c.config.recvBufferMax;
  // "DRS is always one RTT late."
  let rcvwin = 2 * newval;
  if (d.rtt < LOW_RTT_MS) rcvwin += Math.floor((rcvwin * d.rtt) / LOW_RTT_MS);
  // "slow start: allow the sender to double its rate."
  else rcvwin += Math.floor((2 * rcvwin * (newval - oldval)) / oldval);
  if (c.hasOutOfOrder) rcvwin += c.assembler.end;
  // synack counts payload bytes, so tcp_space_from_win / tcp_win_from_space are the identity here.
  const target = Math.min(rcvwin, max);
  if (target <= c.recvBuf.capacity) return false;
  c.recvBuf.resize(target);
  return true;
}
