// RACK-TLP on a connection (RFC 8985): what an ACK does to the RACK state and the reordering timer
// (section 6.2), entering fast recovery on RACK-detected loss (9.3 with RFC 6675 section 5),
// scheduling the probe timeout (7.2), the probe decision when it fires (7.3), TLP recovery
// detection (7.4.2), and RACK's part of an RTO (6.3). Active only with `rack` and SACK (section 4).
//
// No function here takes the whole Tcb: each takes the records it reads (Recovery, SendSeq, the
// Rack, the scoreboard, the Deadlines) or LossView, the part of the connection loss recovery may
// touch: never its state, its buffers or the receive side.

import { textLength, type TcpRepr } from '../wire/tcp.js';
import { sub, lt, ge, gt } from '../wire/seq.js';
import { Timer, type Deadlines, type PendingOutput, type Recovery, type SendSeq, type Tcb, type TcpHooks } from './tcb.js';
import { Rack } from './rack.js';
import { Prr } from './prr.js';
import type { SackScoreboard } from './scoreboard.js';
import type { CongestionControl } from './congestion/cc.js';

/** What rackOf() needs to create the RACK state. */
export type RackHost = Pick<Tcb, 'rec' | 'snd' | 'rtt' | 'lastRecvAt'>;

/** The part of the connection RACK-TLP reads and changes: recovery, the send sequence space, timers, the next output. */
export type LossView = RackHost &
  Pick<Tcb, 'config' | 'sackOk' | 'tsOk' | 'tsNow' | 'hasSacks' | 'scoreboard' | 'counters' | 'out' | 'hooks' | 'ensureCc' | 'deadline' | 'arm' | 'disarm'>;

/** Begin Proportional Rate Reduction (RFC 6937) as fast recovery starts: RecoverFS = FlightSize. */
export function startPrr(rec: Recovery, snd: SendSeq): void {
  rec.prr = new Prr(Math.ceil(sub(snd.nxt, snd.una) / snd.mss));
}

/** TLP.max_ack_delay (RFC 8985 7.2): Linux's TCP_DELACK_MAX / TCP_RTO_MIN, 200 ms. */
export const TLP_MAX_ACK_DELAY = 200;
/** Added to 2*SRTT otherwise, as Linux does (TCP_TIMEOUT_MIN): a zero SRTT does not probe at once. */
const TLP_MIN_EXTRA = 2;

/** Whether RACK-TLP runs on this connection (RFC 8985 section 4: it needs SACK). */
export function rackActive(c: Pick<Tcb, 'config' | 'sackOk'>): boolean {
  return c.config.rack && c.sackOk;
}

/** In fast recovery or RTO recovery (SND.UNA below the recovery point, RFC 6582 / RFC 6675). */
export function inLossRecovery(rec: Recovery, una: number): boolean {
  return rec.inRecovery || lt(una, rec.recover);
}

/** The RACK state, created on first use. */
export function rackOf(c: RackHost): Rack {
  if (c.rec.rack === null) {
    c.rec.rack = new Rack(c.snd.una);
    // The handshake's RTT sample (RFC 6298) seeds RACK.min_RTT (RFC 8985 6.2 step 1).
    if (c.rtt.samples > 0) c.rec.rack.noteRtt(c.rtt.srtt, c.lastRecvAt);
  }
  return c.rec.rack;
}

/** RFC 8985 6.2 after SND.UNA and the scoreboard took the ACK; `sackInfo`: it carried new SACK data. */
/** Returns how many segments this ACK newly marked lost. */
export function rackOnAck(c: LossView, seg: TcpRepr, now: number, advanced: boolean, sackInfo: boolean, dsack = false): number {
  const rack = rackOf(c);
  // Step 4's DSACK bookkeeping: one step per round trip with a D-SACK, reset after 16 recoveries.
  const inRec = inLossRecovery(c.rec, c.snd.una);
  rack.updateReoWndMult(dsack, c.snd.una, c.snd.nxt, rack.wasInRecovery && !inRec);
  rack.wasInRecovery = inRec;
  let ecrTs = -1;
  const ts = seg.options.timestamp;
  if (c.tsOk && ts !== undefined && ts.ecr !== 0) {
    const age = (c.tsNow(now) - ts.ecr) >>> 0;
    if (age < 0x7fffffff) ecrTs = Math.floor(now) - age;
  }
  rack.onAck(c.snd.una, sackInfo && c.hasSacks ? c.scoreboard : null, now, ecrTs);

  // TLP recovery detection (RFC 8985 7.4.2).
  if (rack.tlpEndSeq !== null && ge(seg.ack, rack.tlpEndSeq)) {
    const sackOpt = seg.options.sack !== undefined && seg.options.sack.length > 0;
    if (!rack.tlpIsRetrans) rack.tlpEndSeq = null;
    else if (dsack && seg.options.sack![0]!.right === rack.tlpEndSeq) rack.tlpEndSeq = null; // case 1: both arrived
    else if (gt(seg.ack, rack.tlpEndSeq)) {
      // The probe repaired a single loss: respond as a fast recovery would, without the recovery.
      rack.tlpEndSeq = null;
      const cc = c.ensureCc();
      cc.onLoss(now, sub(c.snd.nxt, c.snd.una));
      cc.onRecoveryEnd(now);
      ccTrace(c.hooks, cc, now, 'tlp repaired a loss');
    } else if (!advanced && !sackOpt && textLength(seg) === 0) {
      rack.tlpEndSeq = null; // a duplicate ACK: original and probe both arrived
    }
  }

  const lost = detectAndArm(c, now);
  if (advanced) scheduleTlp(c, now);
  else if (rack.segsSacked > 0 || inLossRecovery(c.rec, c.snd.una)) c.disarm(Timer.Tlp);
  return lost;
}

/** RACK_detect_loss_and_arm_timer (RFC 8985 6.2 step 5); enters fast recovery on new losses. Returns the segments newly marked lost. */
export function detectAndArm(c: LossView, now: number): number {
  const rack = rackOf(c);
  const reo = rack.reoWnd(inLossRecovery(c.rec, c.snd.una), c.config.dupThresh, c.rtt.srtt);
  const lost = rack.detectLoss(now, reo);
  const timeout = rack.lossTimeout;
  c.arm(Timer.Rack, timeout > 0 ? now + timeout : Infinity);
  if (lost === 0) return 0;
  // RFC 8985 9.3: loss detected by RACK starts fast recovery (RFC 6675 section 5), once per
  // window: not while SND.UNA is below the point of an earlier recovery or timeout.
  if (!c.rec.inRecovery && !lt(c.snd.una, c.rec.recover)) {
    const cc = c.ensureCc();
    startPrr(c.rec, c.snd);
    c.rec.inRecovery = true;
    c.rec.recover = c.snd.nxt;
    c.rec.rxtEnd = c.snd.una;
    cc.onLoss(now, sub(c.snd.nxt, c.snd.una));
    c.counters.fastRetrans++;
    ccTrace(c.hooks, cc, now, 'rack loss');
    rack.tlpEndSeq = null; // TLP_init on entering fast recovery (7.1)
    rack.tlpIsRetrans = false;
    // RFC 6675 section 5 step (C): the first lost segment goes at once, whatever the pipe says.
    const first = nextLost(rack, c.snd, c.hasSacks ? c.scoreboard : null);
    if (first !== null) c.out.retransmit = first.start;
  }
  c.disarm(Timer.Tlp);
  c.hooks.onPollNeeded?.();
  return lost;
}

/**
 * RFC 8985 7.2 TLP_calc_PTO: 2*SRTT (+ TLP.max_ack_delay with one segment in flight; 1 s without
 * an RTT sample), never later than the RTO. Not in recovery, not with SACKed data, not when idle.
 */
export function scheduleTlp(c: RackHost & Deadlines, now: number): void {
  const rack = rackOf(c);
  const flight = sub(c.snd.nxt, c.snd.una);
  if (flight <= 0 || inLossRecovery(c.rec, c.snd.una) || rack.segsSacked > 0 || c.deadline(Timer.Rto) === Infinity) {
    c.disarm(Timer.Tlp);
    return;
  }
  let pto = 1000;
  if (c.rtt.samples > 0) pto = 2 * c.rtt.srtt + (flight <= c.snd.mss ? TLP_MAX_ACK_DELAY : TLP_MIN_EXTRA);
  c.arm(Timer.Tlp, Math.min(now + pto, c.deadline(Timer.Rto)));
}

/**
 * The PTO fired (RFC 8985 7.3): probe only when no probe is outstanding and an RTT sample came
 * since the last one; dispatch() sends it. The RTO stays armed as the last resort; if it is due
 * now (the PTO was capped at it) it restarts from now, and probeSent() restarts it too.
 */
export function onPto(c: RackHost & Deadlines & Pick<Tcb, 'out' | 'hooks'>, now: number): void {
  const rack = rackOf(c);
  if (c.snd.una !== c.snd.nxt && rack.tlpEndSeq === null && c.rtt.samples > rack.samplesAtProbe) {
    c.out.tlp = true;
    c.hooks.onPollNeeded?.();
  }
  if (c.snd.una !== c.snd.nxt && c.deadline(Timer.Rto) <= now) c.arm(Timer.Rto, now + c.rtt.rto);
}

/**
 * Bookkeeping once the probe left (7.3): TLP.end_seq = SND.NXT, one probe per RTT sample, and the
 * RTO re-armed to fire one RTO from now (as Linux does after a probe, too).
 */
export function probeSent(c: RackHost & Deadlines & Pick<Tcb, 'counters'>, isRetrans: boolean, now: number): void {
  c.arm(Timer.Rto, now + c.rtt.rto);
  const rack = rackOf(c);
  rack.tlpEndSeq = c.snd.nxt;
  rack.tlpIsRetrans = isRetrans;
  rack.samplesAtProbe = c.rtt.samples;
  c.counters.tlpProbes++;
}

/** The reordering timer fired (RFC 8985 6.2 step 5). */
export function onRackTimer(c: LossView, now: number): void {
  if (c.snd.una === c.snd.nxt) return;
  detectAndArm(c, now);
}

/** RFC 8985 6.3 and 7.1 on an RTO: mark losses (all, see Rack.markLossesOnRto), reset TLP, stop the RACK timers. */
export function rackOnRto(rack: Rack, timers: Deadlines, out: PendingOutput): void {
  rack.markLossesOnRto();
  rack.tlpEndSeq = null;
  rack.tlpIsRetrans = false;
  timers.disarm(Timer.Tlp);
  timers.disarm(Timer.Rack);
  out.tlp = false;
}

/** Next lost range to retransmit in recovery, clipped to what is not SACKed, or null. */
/** `sacks`: the scoreboard when it holds SACKed ranges, else null. */
export function nextLost(rack: Rack, snd: SendSeq, sacks: SackScoreboard | null): { start: number; end: number } | null {
  for (let guard = 0; guard < 10_000; guard++) {
    const r = rack.firstLost();
    if (r === null) return null;
    const hole = sacks !== null ? sacks.nextHole(r.start, r.end) : { start: r.start, end: r.end };
    if (hole !== null && lt(hole.start, snd.nxt)) return hole;
    rack.clearLost(r.start);
  }
  return null;
}

/** A congestion-window trace event (when someone listens), for loss.ts, ack.ts and timers.ts. */
export function ccTrace(hooks: TcpHooks, cc: CongestionControl, now: number, reason: string): void {
  hooks.onTrace?.({ type: 'cc', t: now, host: '', cwnd: cc.cwnd, ssthresh: cc.ssthresh, reason });
}
