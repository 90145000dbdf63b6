// Send-buffer autotuning as Linux does it (net/ipv4/tcp_input.c): the buffer grows toward twice the
// congestion window's worth of segments (tcp_sndbuf_expand), up to `sendBufferMax` (tcp_wmem[2]),
// at ESTABLISHED (tcp_init_buffer_space) and when an ACK frees space a writer was waiting for while
// the congestion window was not filled (tcp_new_space, tcp_should_expand_sndbuf), unless the buffer
// holds the peer's whole window already (where Linux grows it still). A buffer whose size the user
// set (sendBufferSize alone, or setSendBufferSize: SO_SNDBUF's SOCK_SNDBUF_LOCK) has `sendBufferMax`
// equal to its size and never grows. It only grows: the ring takes the new capacity without copying
// (its storage still grows by doubling as bytes arrive), and an idle connection's buffer costs what
// it did.

import { sub } from '../wire/seq.js';
import type { Tcb } from './tcb.js';

/**
 * What Linux charges a segment beyond its payload before rounding up to a power of two:
 * MAX_TCP_HEADER + SKB_DATA_ALIGN(sizeof(struct skb_shared_info)). Measured on this project's
 * kernel (6.18, x86_64; docs/performance.md "Buffer autotuning"): an established CUBIC socket's
 * SO_SNDBUF is 46,080 at MSS 1460 and 332,800 at MSS 8960, i.e. 2 * 10 * (2,048 + 256) and
 * 2 * 10 * (16,384 + 256), which a head of 489 to 588 bytes gives (Debian's kernels, with
 * larger link headers, charge about 640 and put MSS 1460 in the 4 KiB bucket).
 */
const SKB_HEAD_COST = 512;
/** SKB_DATA_ALIGN(sizeof(struct sk_buff)). */
const SKB_STRUCT_COST = 256;
/** TCP_INIT_CWND: the buffer never aims below ten segments' worth. */
const INIT_CWND_SEGS = 10;
/**
 * ca_ops->sndbuf_expand, 2 when unset (Reno and CUBIC: "Cubic needs 1.7 factor, rounded to 2 to
 * include extra cushion", room for fast recovery and an application slow to refill).
 */
const SNDBUF_EXPAND = 2;

/**
 * tcp_sndbuf_expand's target, in bytes: 2 * max(10, cwnd, reordering + 1) * per-segment truesize.
 * synack counts payload bytes against it, which is what Linux's accounting comes to with TSO (a
 * 64 KiB skb's truesize is close to its payload); without TSO a Linux sender fits less payload.
 */
export function sendBufferTarget(mss: number, cwndSegs: number, reordering: number): number {
  let head = 1;
  while (head < mss + SKB_HEAD_COST) head *= 2; // roundup_pow_of_two
  return SNDBUF_EXPAND * Math.max(INIT_CWND_SEGS, cwndSegs, reordering + 1) * (head + SKB_STRUCT_COST);
}

/** What autotuning reads: the send buffer and its limit, the MSS and the congestion window. */
export type SendBufferView = Pick<Tcb, 'sendBuf' | 'config' | 'snd' | 'rec' | 'reordering'>;

/**
 * tcp_sndbuf_expand: grow the send buffer to the target for the current congestion window, never
 * past `sendBufferMax` and never shrinking it, while it is smaller than the peer's window. Returns
 * whether it grew.
 */
export function expandSendBuffer(c: SendBufferView): boolean {
  const buf = c.sendBuf;
  const max = c.config.sendBufferMax;
  if (buf.capacity >= max) return false; // locked (sized by the user), or grown all the way
  // synack's one difference: a buffer that holds the peer's whole window (SND.WND) already is not
  // what holds the sender back, and more would only queue bytes the window cannot take, in a ring
  // bigger than the caches (in process, a 2.6 MiB ring behind a 256 KiB window at MTU 65535 cost
  // about 40% of the bulk rate; docs/performance.md "Buffer autotuning"). Linux grows it still.
  if (buf.capacity >= c.snd.wnd) return false;
  const mss = Math.max(1, c.snd.mss);
  const cwndSegs = c.rec.cc === null ? 0 : Math.floor(c.rec.cc.cwnd / mss);
  // max(rx_opt.mss_clamp, mss_cache): the peer's announced MSS, or ours if larger.
  const target = Math.min(max, sendBufferTarget(Math.max(c.snd.peerMss, mss), cwndSegs, c.reordering));
  if (target <= buf.capacity) return false;
  buf.resize(target);
  return true;
}

/**
 * tcp_new_space after an ACK freed send-buffer space: expand when the writer had filled the buffer
 * (`wasFull`, Linux's SOCK_NOSPACE: a write that did not fit) and the congestion window is not
 * filled. Linux asks whether packets in flight fill cwnd after pushing what is queued
 * (tcp_should_expand_sndbuf, from tcp_data_snd_check); synack sends at the next poll, so it counts
 * what that push would put in flight: what is out plus what is queued and unsent.
 */
export function sendSpaceFreed(c: SendBufferView & Pick<Tcb, 'flightSize' | 'sndBufEnd' | 'sendPtr'>, wasFull: boolean): void {
  const cc = c.rec.cc;
  if (!wasFull || cc === null) return;
  const afterPush = c.flightSize() + Math.max(0, sub(c.sndBufEnd, c.sendPtr));
  if (afterPush + c.snd.mss > cc.cwnd) return; // cwnd is filled (to within a segment)
  expandSendBuffer(c);
}
