// CUBIC as Linux 6.x computes it (net/ipv4/tcp_cubic.c, config cubicRule 'linux'): windows in whole
// segments with Linux's fixed-point arithmetic (bictcp_update's cube in 2^-10 s units, the table
// cube root, the TCP-friendly estimate, tcp_cong_avoid_ai's counter), ssthresh from cwnd on every
// congestion event (cubictcp_recalc_ssthresh), the state cleared by a timeout (cubictcp_state), and
// HyStart (hystart_update: ACK train and delay increase) ending slow start. RFC 9438 (cubic.ts)
// differs: ssthresh from the flight size (4.6), fractional windows, HyStart++ (RFC 9406) rather
// than HyStart. Linux's jiffies are milliseconds here (HZ=1000, as packetdrill scripts assume).

import type { CongestionControl, CongestionName } from './cc.js';
import { initialWindow } from './newreno.js';

const BETA_SCALE = 1024;
/** beta = 717/1024, about 0.7. */
const BETA = 717;
/** Time unit of the cubic function: 2^-10 s (BICTCP_HZ). */
const BICTCP_HZ = 10;
const HZ = 1000;
/** 8 * (1024 + 717) / 3 / (1024 - 717): ACKs per emulated-Reno increment, times 8 per segment of cwnd. */
const BETA_SCALE_FRIENDLY = Math.floor(Math.floor((8 * (BETA_SCALE + BETA)) / 3) / (BETA_SCALE - BETA));
/** bic_scale 41 * 10: C/RTT scaled by 1024 (C = 0.4, RTT 100 ms). */
const CUBE_RTT_SCALE = 410n;
/** 2^40 / 410: (W_max - cwnd) * CUBE_FACTOR has K^3 in 2^-30 s^3. */
const CUBE_FACTOR = (1n << 40n) / 410n;
/** Linux's "infinite" ssthresh, in segments (TCP_INFINITE_SSTHRESH). */
const INFINITE_SSTHRESH = 0x7fffffff;

// HyStart (hystart_detect = HYSTART_ACK_TRAIN | HYSTART_DELAY).
const HYSTART_LOW_WINDOW = 16;
const HYSTART_ACK_DELTA_US = 2000;
const HYSTART_MIN_SAMPLES = 8;
const HYSTART_DELAY_MIN_US = 4000;
const HYSTART_DELAY_MAX_US = 16000;

/** cbrt(x) MSB values for x in [0..63] (tcp_cubic.c cubic_root's table). */
const CBRT_TABLE = [
  0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156, 157, 161, 164, 168, 170, 173, 176, 179, 181, 185, 187, 190, 192,
  194, 197, 199, 200, 202, 204, 206, 209, 211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229, 231, 232, 234, 236, 237, 239, 240, 242, 244,
  245, 246, 248, 250, 251, 252, 254,
];

/** Bits needed for `a` (fls64). */
function fls64(a: bigint): number {
  return a === 0n ? 0 : a.toString(2).length;
}

/** tcp_cubic.c cubic_root: a table lookup and one Newton-Raphson step (average error 0.195%). */
export function cubicRoot(a: bigint): number {
  let b = fls64(a);
  if (b < 7) return (CBRT_TABLE[Number(a)]! + 35) >> 6;
  b = ((b * 84) >> 8) - 1;
  const shift = Number(a >> BigInt(b * 3));
  let x = ((CBRT_TABLE[shift]! + 10) << b) >>> 6;
  x = 2 * x + Number(a / (BigInt(x) * BigInt(x - 1)));
  return Math.floor((x * 341) / 1024) >>> 0;
}

export class LinuxCubic implements CongestionControl {
  readonly name: CongestionName = 'cubic';
  #mss: number;
  /** snd_cwnd and snd_ssthresh, in segments. */
  #cwnd: number;
  #ssthresh = INFINITE_SSTHRESH;
  /** snd_cwnd_cnt: ACKed segments toward the next increment in congestion avoidance. */
  #cwndCnt = 0;
  // struct bictcp
  #cnt = 0;
  #lastMaxCwnd = 0;
  #lastCwnd = 0;
  #lastTime = 0;
  #originPoint = 0;
  #k = 0;
  /** Minimum RTT sample, us (0: none yet). */
  #delayMin = 0;
  /** Start of the epoch, ms; null outside one (Linux's 0). */
  #epochStart: number | null = null;
  #ackCnt = 0;
  #tcpCwnd = 0;
  // HyStart
  #found = false;
  #sampleCnt = 0;
  #roundStart = 0;
  #endSeq: number | null = null;
  #lastAck = 0;
  #currRtt = Infinity;
  /** A timeout already set ssthresh and no ACK advanced since (tcp_enter_loss keeps it then). */
  #inLoss = false;

  constructor(mss: number) {
    this.#mss = mss;
    this.#cwnd = Math.max(1, Math.round(initialWindow(mss) / mss));
  }

  get cwnd(): number {
    return this.#cwnd * this.#mss;
  }
  get ssthresh(): number {
    return this.#ssthresh === INFINITE_SSTHRESH ? Number.POSITIVE_INFINITY : this.#ssthresh * this.#mss;
  }

  /**
   * cubictcp_acked and hystart_update: an RTT sample from an ACK that newly acknowledged data
   * (`una` after it, `nxt` SND.NXT). Keeps the minimum delay and, in slow start from 16 segments,
   * ends slow start (ssthresh = cwnd) when ACKs keep coming in a train for half the minimum RTT,
   * or when the round's smallest of 8 samples exceeds the minimum by an eighth (4 to 16 ms).
   */
  onRttSample(rttMs: number, now: number, una: number, nxt: number): void {
    if (this.#epochStart !== null && now - this.#epochStart < HZ) return; // right after recovery
    const delay = Math.max(1, Math.round(rttMs * 1000));
    if (this.#delayMin === 0 || this.#delayMin > delay) this.#delayMin = delay;
    if (this.#found || this.#cwnd >= this.#ssthresh || this.#cwnd < HYSTART_LOW_WINDOW) return;
    if (this.#endSeq === null || ((una - this.#endSeq) | 0) > 0) this.#hystartReset(now, nxt);
    const nowUs = Math.round(now * 1000);
    if (nowUs - this.#lastAck <= HYSTART_ACK_DELTA_US) {
      this.#lastAck = nowUs;
      // Half the minimum RTT plus hystart_ack_delay's cushion (1 ms unless the pacing rate is high).
      if (nowUs - this.#roundStart > (this.#delayMin + 1000) >> 1) this.#exitSlowStart();
    }
    if (this.#found) return;
    if (this.#currRtt > delay) this.#currRtt = delay;
    if (this.#sampleCnt < HYSTART_MIN_SAMPLES) {
      this.#sampleCnt++;
    } else if (this.#currRtt > this.#delayMin + Math.min(Math.max(this.#delayMin >> 3, HYSTART_DELAY_MIN_US), HYSTART_DELAY_MAX_US)) {
      this.#exitSlowStart();
    }
  }

  #exitSlowStart(): void {
    this.#found = true;
    this.#ssthresh = this.#cwnd;
  }

  /** bictcp_hystart_reset: a new round starts now and ends when `nxt` is acknowledged. */
  #hystartReset(now: number, nxt: number): void {
    this.#roundStart = this.#lastAck = Math.round(now * 1000);
    this.#endSeq = nxt;
    this.#currRtt = Infinity;
    this.#sampleCnt = 0;
  }

  /** cubictcp_cong_avoid: slow start (tcp_slow_start), then bictcp_update and tcp_cong_avoid_ai. */
  onAck(ackedBytes: number, now: number, _rtt: number): void {
    if (!(ackedBytes > 0)) return;
    this.#inLoss = false;
    let acked = Math.ceil(ackedBytes / this.#mss);
    if (this.#cwnd < this.#ssthresh) {
      const cwnd = Math.min(this.#cwnd + acked, this.#ssthresh);
      acked -= cwnd - this.#cwnd;
      this.#cwnd = cwnd;
      if (acked <= 0) return;
    }
    this.#update(now, acked);
    // tcp_cong_avoid_ai(tp, ca->cnt, acked)
    const w = this.#cnt;
    if (this.#cwndCnt >= w) {
      this.#cwndCnt = 0;
      this.#cwnd++;
    }
    this.#cwndCnt += acked;
    if (this.#cwndCnt >= w) {
      const delta = Math.floor(this.#cwndCnt / w);
      this.#cwndCnt -= delta * w;
      this.#cwnd += delta;
    }
  }

  /** bictcp_update: how many ACKed segments make the window grow by one (ca->cnt). */
  #update(nowMs: number, acked: number): void {
    const now = Math.floor(nowMs); // tcp_jiffies32
    const cwnd = this.#cwnd;
    this.#ackCnt += acked;
    if (this.#lastCwnd === cwnd && now - this.#lastTime <= HZ / 32) return;
    // At most once per jiffy; a reduction (epoch over) forces the computation.
    if (this.#epochStart === null || now !== this.#lastTime) {
      this.#lastCwnd = cwnd;
      this.#lastTime = now;
      if (this.#epochStart === null) {
        this.#epochStart = now;
        this.#ackCnt = acked;
        this.#tcpCwnd = cwnd;
        if (this.#lastMaxCwnd <= cwnd) {
          this.#k = 0;
          this.#originPoint = cwnd;
        } else {
          this.#k = cubicRoot(CUBE_FACTOR * BigInt(this.#lastMaxCwnd - cwnd));
          this.#originPoint = this.#lastMaxCwnd;
        }
      }
      // t in 2^-10 s since the epoch, one minimum RTT ahead.
      const jiffies = Math.floor(now - this.#epochStart) + Math.ceil(this.#delayMin / (1_000_000 / HZ));
      const t = Math.floor((jiffies * (1 << BICTCP_HZ)) / HZ);
      const offs = BigInt(t < this.#k ? this.#k - t : t - this.#k);
      const delta = Number((CUBE_RTT_SCALE * offs * offs * offs) >> BigInt(10 + 3 * BICTCP_HZ));
      const target = t < this.#k ? this.#originPoint - delta : this.#originPoint + delta;
      this.#cnt = target > cwnd ? Math.floor(cwnd / (target - cwnd)) : 100 * cwnd;
      // No loss seen yet: the curve says little, grow at least 5% per RTT.
      if (this.#lastMaxCwnd === 0 && this.#cnt > 20) this.#cnt = 20;
    }
    // TCP friendliness: an emulated Reno window; follow it when it is ahead.
    const d = Math.floor((cwnd * BETA_SCALE_FRIENDLY) / 8);
    while (d > 0 && this.#ackCnt > d) {
      this.#ackCnt -= d;
      this.#tcpCwnd++;
    }
    if (this.#tcpCwnd > cwnd) {
      const maxCnt = Math.floor(cwnd / (this.#tcpCwnd - cwnd));
      if (this.#cnt > maxCnt) this.#cnt = maxCnt;
    }
    // At most one segment per two ACKed: 1.5x per RTT.
    this.#cnt = Math.max(this.#cnt, 2);
  }

  /** cubictcp_recalc_ssthresh: W_max with fast convergence, ssthresh = 0.7 * cwnd, epoch over. */
  #recalcSsthresh(): number {
    this.#epochStart = null;
    const cwnd = this.#cwnd;
    if (cwnd < this.#lastMaxCwnd) this.#lastMaxCwnd = Math.floor((cwnd * (BETA_SCALE + BETA)) / (2 * BETA_SCALE));
    else this.#lastMaxCwnd = cwnd;
    return Math.max(Math.floor((cwnd * BETA) / BETA_SCALE), 2);
  }

  onLoss(_now: number, _flightSize: number): void {
    this.#ssthresh = this.#recalcSsthresh();
    this.#cwnd = this.#ssthresh;
    this.#cwndCnt = 0;
  }

  onRecoveryEnd(_now: number): void {
    // tcp_end_cwnd_reduction: cwnd = ssthresh.
    if (this.#ssthresh !== INFINITE_SSTHRESH) this.#cwnd = this.#ssthresh;
  }

  /**
   * tcp_enter_loss: ssthresh from cwnd (not again for a timeout before any ACK advanced), then
   * cubictcp_state(TCP_CA_Loss) clears CUBIC's state, W_max and the minimum delay included;
   * cwnd = 1 (nothing counts as in flight any more).
   */
  onTimeout(now: number, _flightSize: number): void {
    if (!this.#inLoss) this.#ssthresh = this.#recalcSsthresh();
    this.#inLoss = true;
    this.#cnt = 0;
    this.#lastMaxCwnd = 0;
    this.#lastCwnd = 0;
    this.#lastTime = 0;
    this.#originPoint = 0;
    this.#k = 0;
    this.#delayMin = 0;
    this.#epochStart = null;
    this.#ackCnt = 0;
    this.#tcpCwnd = 0;
    this.#found = false;
    this.#endSeq = null;
    this.#roundStart = this.#lastAck = Math.round(now * 1000);
    this.#cwnd = 1;
    this.#cwndCnt = 0;
  }

  onIdleRestart(_now: number): void {
    // tcp_cwnd_restart: the restart window (cwnd halved per RTO idle, not below IW; here IW).
    this.#cwnd = Math.min(this.#cwnd, Math.max(1, Math.round(initialWindow(this.#mss) / this.#mss)));
    this.#epochStart = null;
  }

  setMss(mss: number): void {
    if (mss > 0) this.#mss = mss;
  }
}

/** Linux's CUBIC for a sender with maximum segment size `mss`. */
export function createLinuxCubic(mss: number): CongestionControl {
  return new LinuxCubic(mss);
}
