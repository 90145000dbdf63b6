// Linux's send-buffer accounting for a socket whose SO_SNDBUF was set, so that write() takes,
// blocks and wakes as Linux's tcp_sendmsg_locked does: the limit is sk_sndbuf (twice the value
// set) counted in memory, not payload; it is checked only before a new skb is started, so a write
// may run past it by up to one skb; a blocked writer is woken (sk_stream_write_space) once the free
// space is at least half of what is still queued. Without SO_SNDBUF Linux grows the buffer with
// cwnd (tcp_sndbuf_expand), which the runner does not model: the stack's own buffer applies.

import type { TcbInfo } from '../tcp/info.js';
import type { TcpConnection } from '../tcp/connection.js';
import { sub } from '../wire/seq.js';

/**
 * Memory an skb costs beyond its payload (struct sk_buff, skb_shared_info, header room). An
 * estimate: Linux 6.18's behaviour bounds it between 667 and 1,500 bytes (docs/packetdrill.md).
 */
export const SKB_OVERHEAD = 1280;
/** The largest TSO skb: GSO_LEGACY_MAX_SIZE minus MAX_TCP_HEADER + 1 (sk_gso_max_size). */
const GSO_MAX_SIZE = 65536 - 321;
/** TCP_MSS_DEFAULT: at or below it tcp_bound_to_half_wnd does not halve the window. */
const TCP_MSS_DEFAULT = 536;

interface Skb {
  start: number;
  end: number;
}

/** What the queue needs from the connection: a snapshot, queueing bytes, and sending now. */
export interface SendQueueIo {
  info(): TcbInfo;
  /** Queue `n` bytes on the connection; returns how many it took. */
  send(n: number): number;
  /** Transmit what the stack would send at this instant (tcp_push). */
  push(): void;
}

/** The queue of each connection that has one, for the runner's TSO model (linuxPushedAt). */
const QUEUES = new WeakMap<TcpConnection, LinuxSendQueue>();

/**
 * Whether Linux would have marked PSH on the skb ending at `end` (tcp_mark_push) on `conn`; null
 * when the connection has no queue (no SO_SNDBUF: synack's own PSH stands).
 */
export function linuxPushedAt(conn: TcpConnection, end: number): boolean | null {
  const q = QUEUES.get(conn);
  return q === undefined ? null : q.pushMarks.has(end >>> 0);
}

export class LinuxSendQueue {
  /** Unacknowledged skbs as [start, end) payload sequence ranges, oldest first. */
  readonly #skbs: Skb[] = [];
  /**
   * Where tcp_mark_push put PSH: the end of each write (tcp_push) and, inside a long write, the
   * skb that fills past half the peer's largest window since the last push (forced_push).
   */
  readonly pushMarks = new Set<number>();
  /** tp->pushed_seq: write_seq at the last PSH mark (null until the first write). */
  #pushedSeq: number | null = null;

  /** `sndbuf`: sk_sndbuf in bytes (twice the SO_SNDBUF value, as Linux stores it). */
  constructor(public sndbuf: number) {}

  /** sk_wmem_queued: payload not yet acknowledged plus every skb's overhead. */
  queued(info: TcbInfo): number {
    this.#settle(info);
    let q = 0;
    for (const s of this.#skbs) q += sub(s.end, s.start) + SKB_OVERHEAD;
    return q;
  }

  /** sk_stream_write_space's test for waking a blocked writer: free space >= half the queue. */
  wakes(info: TcbInfo): boolean {
    const q = this.queued(info);
    return q < this.sndbuf && this.sndbuf - q >= q / 2;
  }

  /**
   * One step of a write() call on a socket whose SO_SNDBUF is `value`: a writer that sleeps
   * (`waiting`) goes on only once it would be woken; then it copies what the accounting allows and,
   * short of `want`, pushes what is queued (tcp_push) and sleeps.
   */
  write(conn: TcpConnection, value: number, want: number, waiting: boolean, flush: () => void): { took: number; waiting: boolean } {
    this.sndbuf = 2 * value;
    QUEUES.set(conn, this);
    conn.setSendBufferSize(sendQueueCapacity(value));
    if (waiting && !this.wakes(conn.info())) return { took: 0, waiting: true };
    const took = this.fill(want, { info: () => conn.info(), send: (n) => conn.send(new Uint8Array(n)), push: flush });
    if (took < want) flush(); // before sleeping in sk_stream_wait_memory
    return { took, waiting: took < want };
  }

  /**
   * Copy up to `want` bytes as tcp_sendmsg_locked does: fill the tail skb up to the size goal,
   * push when an skb fills, and start a new skb only while the queue is below sk_sndbuf. Returns
   * the bytes taken; fewer than `want` means the writer must wait (or gets a partial count).
   */
  fill(want: number, io: SendQueueIo): number {
    let copied = 0;
    if (this.#pushedSeq === null) {
      const i = io.info();
      this.#pushedSeq = (i.sndBufSeq + i.sendQueued) >>> 0;
    }
    while (copied < want) {
      const info = io.info();
      this.#settle(info);
      const goal = sizeGoal(info);
      const writeSeq = (info.sndBufSeq + info.sendQueued) >>> 0;
      const tail = this.#skbs[this.#skbs.length - 1];
      // Only an skb not yet (partly) sent takes more data (tcp_write_queue_tail).
      if (tail !== undefined && tail.end === writeSeq && sub(tail.start, info.sndNxt) >= 0 && sub(tail.end, tail.start) < goal) {
        const n = io.send(Math.min(goal - sub(tail.end, tail.start), want - copied));
        if (n <= 0) break;
        tail.end = (tail.end + n) >>> 0;
        copied += n;
        if (copied === want) this.#markPush(tail.end); // tcp_push at the end of the write
        if (sub(tail.end, tail.start) >= goal) {
          if (sub(tail.end, this.#pushedSeq!) > info.maxSndWnd >> 1) this.#markPush(tail.end); // forced_push
          io.push(); // a full skb goes out (tcp_push_one / __tcp_push_pending_frames)
        }
        continue;
      }
      if (this.queued(info) >= this.sndbuf) break; // sk_stream_memory_free fails: wait for space
      this.#skbs.push({ start: writeSeq, end: writeSeq });
    }
    // Going to sleep with data copied: tcp_push marks the tail before sk_stream_wait_memory.
    const last = this.#skbs[this.#skbs.length - 1];
    if (copied > 0 && copied < want && last !== undefined) this.#markPush(last.end);
    return copied;
  }

  #markPush(end: number): void {
    this.pushMarks.add(end >>> 0);
    this.#pushedSeq = end >>> 0;
  }

  /**
   * Forget acknowledged skbs and trim a partly acknowledged one (tcp_trim_head); split an skb that
   * was sent in part (tso_fragment), so its unsent rest is an skb of its own with its own overhead.
   */
  #settle(info: TcbInfo): void {
    const skbs = this.#skbs;
    // (An empty skb just started at SND.UNA is kept: the write is about to fill it.)
    while (skbs.length > 0 && sub(skbs[0]!.end, info.sndUna) <= 0 && !(skbs[0]!.end === skbs[0]!.start && skbs[0]!.end === info.sndUna)) skbs.shift();
    for (const m of this.pushMarks) if (sub(m, info.sndUna) < 0) this.pushMarks.delete(m);
    const head = skbs[0];
    if (head !== undefined && sub(head.start, info.sndUna) < 0) head.start = info.sndUna;
    for (let i = 0; i < skbs.length; i++) {
      const s = skbs[i]!;
      if (sub(s.start, info.sndNxt) < 0 && sub(s.end, info.sndNxt) > 0) {
        skbs.splice(i + 1, 0, { start: info.sndNxt, end: s.end });
        s.end = info.sndNxt;
        break;
      }
    }
  }
}

/** The stack's own buffer for a socket with SO_SNDBUF `value`: all that the accounting lets through. */
export function sendQueueCapacity(value: number): number {
  return 2 * value + GSO_MAX_SIZE;
}

/** tcp_xmit_size_goal: whole MSS units up to half the peer's largest window, at most a TSO skb. */
export function sizeGoal(info: TcbInfo): number {
  const mss = Math.max(1, info.sndMss);
  const wnd = info.maxSndWnd;
  const bound = Math.min(GSO_MAX_SIZE, wnd > TCP_MSS_DEFAULT ? wnd >> 1 : wnd > 0 ? wnd : GSO_MAX_SIZE);
  return Math.max(mss, Math.floor(bound / mss) * mss);
}
