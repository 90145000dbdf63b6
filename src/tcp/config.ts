// Per-connection TCP settings and their defaults (RFC 9293, RFC 6298, RFC 5681, RFC 1122 4.2.3.6),
// plus the `linux` profile that matches the Linux kernel's defaults where scripts depend on them.

import type { CongestionName } from './congestion/cc.js';

export interface KeepAliveConfig {
  enabled: boolean;
  /** Idle time before the first probe, ms (RFC 1122 4.2.3.6: no less than two hours by default). */
  idle: number;
  /** Time between unanswered probes, ms. */
  interval: number;
  /** Unanswered probes before the connection fails with ETIMEDOUT. */
  count: number;
}

export interface TcpConfig {
  /** The MSS we advertise and the largest payload we send (path MTU minus IP and TCP headers). */
  mss: number;
  /**
   * The send buffer a connection starts with, in bytes of payload (queued and unacknowledged).
   * Given on its own it is also the most the buffer holds: a fixed size, as SO_SNDBUF locks Linux's
   * (SOCK_SNDBUF_LOCK); left out, the buffer starts at 256 KiB and grows up to `sendBufferMax`.
   */
  sendBufferSize: number;
  /**
   * How far send-buffer autotuning may grow the buffer (Linux's tcp_wmem[2], 4 MiB): to twice the
   * congestion window's worth of segments, as tcp_sndbuf_expand does (send-buffer.ts). Equal to
   * `sendBufferSize` turns autotuning off; it is, unless given, whenever `sendBufferSize` is given.
   */
  sendBufferMax: number;
  /**
   * The receive buffer a connection starts with, in bytes of payload (its free space is the window
   * we advertise). Given on its own it is also the most the buffer holds: a fixed size, as SO_RCVBUF
   * locks Linux's (SOCK_RCVBUF_LOCK); left out, the buffer starts at 256 KiB and grows up to
   * `recvBufferMax`.
   */
  recvBufferSize: number;
  /**
   * How far receive-buffer autotuning may grow the buffer (Linux's tcp_rmem[2] default, 6 MiB): to
   * twice what the application reads per round trip and more in slow start, as Linux's dynamic
   * right-sizing does (recv-buffer.ts). Equal to `recvBufferSize` turns autotuning off; it is,
   * unless given, whenever `recvBufferSize` is given. The window scale we offer is chosen for it.
   */
  recvBufferMax: number;
  /** Maximum segment lifetime, ms; TIME-WAIT lasts 2 * msl (RFC 9293 3.4.2). */
  msl: number;
  /** RFC 6298 section 2.1: 1 s. */
  initialRto: number;
  /** RFC 6298 recommends 1 s; Linux uses 200 ms. */
  minRto: number;
  /**
   * How the RTO follows the RTT: 'rfc6298' (RTO = SRTT + max(G, 4*RTTVAR), then at least minRto)
   * or 'linux' (tcp_rtt_estimator: RTO = SRTT + RTTVAR, RTTVAR at least minRto and decaying once per
   * round trip). Linux's RTO is larger than RFC 6298's whenever 4*RTTVAR < minRto.
   */
  rtoRule: 'rfc6298' | 'linux';
  maxRto: number;
  /** SYN retransmissions before giving up with ETIMEDOUT (and a simultaneous open's SYN,ACK). */
  synRetries: number;
  /**
   * SYN,ACK retransmissions of a passive open before the half-open connection is dropped (Linux's
   * tcp_synack_retries, 5, beside tcp_syn_retries 6; the same 6 by default).
   */
  synAckRetries: number;
  /** Data / FIN retransmissions before giving up with ETIMEDOUT (RFC 9293 3.8.3 R2). */
  retries: number;
  /** Fail when data stays unacknowledged this long, ms; 0 disables (RFC 9293 3.10.8 USER TIMEOUT). */
  userTimeout: number;
  sack: boolean;
  timestamps: boolean;
  windowScale: boolean;
  /** Window scale shift we offer; -1 derives it from recvBufferMax (the largest window we may offer). */
  windowScaleShift: number;
  congestion: CongestionName;
  /**
   * Which CUBIC: 'rfc9438' (RFC 9438: ssthresh from the flight size, fractional windows, no
   * HyStart) or 'linux' (Linux's tcp_cubic.c: whole segments with its fixed-point arithmetic,
   * ssthresh from cwnd also after a timeout, HyStart ending slow start on an ACK train or a delay
   * increase). The linux profile uses Linux's.
   */
  cubicRule: 'rfc9438' | 'linux';
  /** Disable Nagle's algorithm (RFC 9293 3.7.4). */
  noDelay: boolean;
  /** Delayed-ACK timeout, ms; 0 acknowledges every segment at once (RFC 9293 3.8.6.3: under 0.5 s). */
  delayedAck: number;
  /**
   * When a received segment is acknowledged: 'rfc5681' (RFC 5681 4.2: at least every second
   * full-sized segment, otherwise after `delayedAck`; out-of-order data and a filled hole at once)
   * or 'linux' (Linux's engine, delack.ts: quick ACKs at the start and after duplicates, an
   * interactive mode that lets replies carry the ACK, an ATO estimated between `delayedAck` and
   * 200 ms, the ACK of a FIN in CLOSE-WAIT delayed).
   */
  ackRule: 'rfc5681' | 'linux';
  keepAlive: KeepAliveConfig;
  /** Challenge ACKs a connection may send per second (RFC 5961 section 7). */
  challengeAckLimit: number;
  /**
   * Challenge ACKs also pass the connection's out-of-window ACK limit first (one per 500 ms,
   * shared with ACKs to out-of-window segments), as Linux 6.x does (__tcp_oow_rate_limited in
   * tcp_send_challenge_ack; its host-wide limit is off by default): at most two a second.
   */
  challengeAckOowLimited: boolean;
  /** FIN-WAIT-2 timeout for connections the application has released, ms (Linux tcp_fin_timeout). */
  finWait2Timeout: number;
  /** Duplicate ACKs that trigger fast retransmit (RFC 5681 section 3.2). */
  dupThresh: number;
  /**
   * RFC 5681 4.1 restart window: after more than one RTO without sending, new data starts from
   * min(cwnd, IW) again (Linux's tcp_slow_start_after_idle, on there by default). Off keeps the
   * window across idle periods.
   */
  slowStartAfterIdle: boolean;
  /**
   * Slow-start growth per ACK, in segments: RFC 3465's L (2, as RFC 5681 section 3.1 allows);
   * 0 lets cwnd grow by every acknowledged segment, as Linux's tcp_slow_start does (a stretch ACK
   * of ten segments grows it by ten), counting a segment once, as Linux does: an ACK that covers
   * segments SACKed (or duplicate-ACKed) before grows cwnd only by the rest (ack.ts newlyDelivered).
   */
  slowStartAckLimit: number;
  /**
   * RACK-TLP loss detection (RFC 8985), used when SACK is negotiated: losses are inferred from
   * transmit times (a later-sent segment was delivered and a reordering window passed) instead
   * of counting duplicate ACKs, and a Tail Loss Probe at about 2*SRTT replaces most RTOs at the
   * end of a flight. Off: classic RFC 5681 / RFC 6675 recovery. On by default, as on Linux.
   */
  rack: boolean;
  /** Out-of-order ranges kept before further out-of-order segments are dropped. */
  maxOutOfOrderRanges: number;
  /**
   * Grow cwnd only while it is used, as Linux's tcp_is_cwnd_limited: when sending in the last
   * window was cwnd-limited, or, in slow start, while cwnd is below twice the most data that was
   * outstanding (an application-limited sender does not inflate its window). RFC 7661 describes
   * the problem; this is Linux's rule. Off by default; on in the linux profile.
   */
  cwndValidation: boolean;
  /**
   * Closing a listener aborts its half-open (SYN-RECEIVED) connections with a RST (true, as BSD's
   * soabort does), or forgets them without a word (false, Linux's inet_csk_listen_stop), so the
   * peer's next segment finds no socket and gets its RST then (RFC 9293 3.10.7.1).
   */
  listenerCloseResets: boolean;
  /**
   * The window field of a RST,ACK we send on our own (ABORT: close with unread data, SO_LINGER
   * {1, 0}, a listener closing over unaccepted connections): false, 0 (RFC 9293 gives a reset no
   * window, and the peer discards the connection with it); true, the receive window an ACK would
   * carry, as Linux's tcp_send_active_reset does (tcp_transmit_skb's tcp_select_window).
   */
  resetWindow: boolean;
  /**
   * TCP segmentation offload: the most payload one segment of new data may carry when the link
   * cuts it into Eff.snd.MSS-sized segments on the way out (a TUN device with TSO; the Stack sets
   * it from Link.offload). 0 (the default): every segment is at most one MSS.
   */
  tsoMax: number;
}

export const DEFAULT_CONFIG: Readonly<TcpConfig> = Object.freeze({
  mss: 1460,
  sendBufferSize: 256 * 1024,
  sendBufferMax: 4 * 1024 * 1024,
  recvBufferSize: 256 * 1024,
  recvBufferMax: 6 * 1024 * 1024,
  msl: 30_000,
  initialRto: 1000,
  minRto: 200,
  rtoRule: 'rfc6298',
  maxRto: 120_000,
  synRetries: 6,
  synAckRetries: 6,
  retries: 15,
  userTimeout: 0,
  sack: true,
  timestamps: true,
  windowScale: true,
  windowScaleShift: -1,
  congestion: 'cubic',
  cubicRule: 'rfc9438',
  noDelay: false,
  delayedAck: 40,
  ackRule: 'rfc5681',
  keepAlive: Object.freeze({ enabled: false, idle: 7_200_000, interval: 75_000, count: 9 }),
  challengeAckLimit: 1000,
  challengeAckOowLimited: false,
  finWait2Timeout: 60_000,
  dupThresh: 3,
  slowStartAfterIdle: false,
  slowStartAckLimit: 2,
  rack: true,
  maxOutOfOrderRanges: 32,
  cwndValidation: false,
  listenerCloseResets: true,
  resetWindow: false,
  tsoMax: 0,
});

/** Settings that make synack look like a default Linux host on the wire. */
export const LINUX_PROFILE: Partial<TcpConfig> = Object.freeze({
  initialRto: 1000,
  minRto: 200,
  rtoRule: 'linux',
  synAckRetries: 5,
  slowStartAfterIdle: true,
  slowStartAckLimit: 0,
  windowScaleShift: 7,
  congestion: 'cubic',
  cubicRule: 'linux',
  delayedAck: 40,
  ackRule: 'linux',
  sack: true,
  timestamps: true,
  windowScale: true,
  rack: true,
  listenerCloseResets: false,
  resetWindow: true,
  challengeAckOowLimited: true,
  cwndValidation: true,
});

export type TcpConfigInput = Partial<Omit<TcpConfig, 'keepAlive'>> & { keepAlive?: Partial<KeepAliveConfig> };

/** Configs that came out of resolveConfig, so a connection can take them as they are. */
const resolved = new WeakSet<object>();

/** Whether `c` was produced by resolveConfig (and so needs no defaults or checks). */
export function isResolvedConfig(c: TcpConfig | TcpConfigInput | undefined): c is TcpConfig {
  return c !== undefined && resolved.has(c);
}

/** Fill in defaults and check ranges; throws a RangeError (code ERR_OUT_OF_RANGE) on nonsense. */
export function resolveConfig(partial: TcpConfigInput = {}, base: Readonly<TcpConfig> = DEFAULT_CONFIG): TcpConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const c: TcpConfig = { ...base, ...defined, keepAlive: { ...base.keepAlive, ...(partial.keepAlive ?? {}) } } as TcpConfig;
  check('mss', c.mss, 64, 65495);
  // A buffer sized by the caller stays that size (Linux: SO_SNDBUF / SO_RCVBUF set
  // SOCK_SNDBUF_LOCK / SOCK_RCVBUF_LOCK, and tcp_should_expand_sndbuf / tcp_rcvbuf_grow give up).
  bufferLimits(c, defined, 'sendBufferSize', 'sendBufferMax');
  bufferLimits(c, defined, 'recvBufferSize', 'recvBufferMax');
  check('msl', c.msl, 0, 3_600_000);
  check('minRto', c.minRto, 1, 3_600_000);
  check('maxRto', c.maxRto, c.minRto, 3_600_000);
  check('initialRto', c.initialRto, 1, 3_600_000);
  check('synRetries', c.synRetries, 0, 255);
  check('synAckRetries', c.synAckRetries, 0, 255);
  check('windowScaleShift', c.windowScaleShift, -1, 14);
  check('delayedAck', c.delayedAck, 0, 500);
  check('dupThresh', c.dupThresh, 1, 1000);
  check('slowStartAckLimit', c.slowStartAckLimit, 0, 1000);
  check('tsoMax', c.tsoMax, 0, 65535);
  if (typeof c.slowStartAfterIdle !== 'boolean') throw rangeError(`slowStartAfterIdle must be true or false, got ${String(c.slowStartAfterIdle)}`);
  if (typeof c.rack !== 'boolean') throw rangeError(`rack must be true or false, got ${String(c.rack)}`);
  if (typeof c.challengeAckOowLimited !== 'boolean') throw rangeError(`challengeAckOowLimited must be true or false, got ${String(c.challengeAckOowLimited)}`);
  if (typeof c.cwndValidation !== 'boolean') throw rangeError(`cwndValidation must be true or false, got ${String(c.cwndValidation)}`);
  if (typeof c.resetWindow !== 'boolean') throw rangeError(`resetWindow must be true or false, got ${String(c.resetWindow)}`);
  if (typeof c.listenerCloseResets !== 'boolean') throw rangeError(`listenerCloseResets must be true or false, got ${String(c.listenerCloseResets)}`);
  if (c.cubicRule !== 'rfc9438' && c.cubicRule !== 'linux') throw rangeError(`cubicRule must be "rfc9438" or "linux", got ${String(c.cubicRule)}`);
  if (c.ackRule !== 'rfc5681' && c.ackRule !== 'linux') throw rangeError(`ackRule must be "rfc5681" or "linux", got ${String(c.ackRule)}`);
  if (c.rtoRule !== 'rfc6298' && c.rtoRule !== 'linux') throw rangeError(`rtoRule must be "rfc6298" or "linux", got ${String(c.rtoRule)}`);
  if (c.congestion !== 'newreno' && c.congestion !== 'cubic') {
    throw rangeError(`congestion must be "newreno" or "cubic", got ${String(c.congestion)}`);
  }
  resolved.add(c);
  return c;
}

/**
 * Mark a resolved config as shared by many connections (the stack hands one object to every
 * connection with the same settings, issue 9): it is frozen, and a connection that changes a
 * setting takes its own copy first (TcpConnection.ownConfig).
 */
export function shareConfig(c: TcpConfig): TcpConfig {
  Object.freeze(c.keepAlive);
  return Object.freeze(c);
}

/** A private, mutable copy of a resolved config. */
export function copyConfig(c: Readonly<TcpConfig>): TcpConfig {
  const o: TcpConfig = { ...c, keepAlive: { ...c.keepAlive } };
  resolved.add(o);
  return o;
}

/**
 * A buffer's starting size and autotuning limit: the size given alone is also the limit (a fixed
 * buffer); a limit given alone below the default start lowers the start; both given must agree.
 */
function bufferLimits(
  c: TcpConfig,
  defined: Record<string, unknown>,
  size: 'sendBufferSize' | 'recvBufferSize',
  max: 'sendBufferMax' | 'recvBufferMax',
): void {
  check(size, c[size], 1, 1 << 30);
  if (defined[max] === undefined) {
    if (defined[size] !== undefined) c[max] = c[size];
    return;
  }
  check(max, c[max], 1, 1 << 30);
  if (defined[size] === undefined) c[size] = Math.min(c[size], c[max]);
  else if (c[max] < c[size]) throw rangeError(`${max} must be at least ${size} (${c[size]}), got ${c[max]}`);
}

function check(name: string, v: number, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw rangeError(`${name} must be a number in [${lo}, ${hi}], got ${String(v)}`);
  }
}

function rangeError(msg: string): RangeError {
  const e = new RangeError(msg);
  (e as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
  return e;
}

/** The window scale shift that lets a window of `bufferSize` bytes be advertised (RFC 7323 2.3, max 14). */
export function scaleFor(bufferSize: number): number {
  let s = 0;
  while (s < 14 && bufferSize >>> s > 0xffff) s++;
  return s;
}
