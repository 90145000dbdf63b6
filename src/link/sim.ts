// A seeded, lossy link pair for tests and demos: latency, jitter, bandwidth with a drop-tail
// queue, random and bursty (Gilbert-Elliott) loss, duplication, reordering, bit corruption, an MTU
// and a down switch, each direction with its own random stream, queue and statistics.
import type { Link } from './link.js';
import type { Clock } from '../util/clock.js';
import { randomFloat, seededRandom, type RandomSource } from '../util/random.js';

/** Gilbert-Elliott two-state loss: per packet, move good->bad with `enter`, bad->good with `exit`. */
export interface BurstLossOptions {
  enter: number;
  exit: number;
  /** Loss probability in the bad state. Default 1. */
  lossInBad?: number;
  /** Loss probability in the good state. Default: the direction's `loss` (0 if unset). */
  lossInGood?: number;
}

export interface ReorderOptions {
  /** Probability that a packet is held back. */
  probability: number;
  /** Extra delay (ms) for a held-back packet; later packets overtake it. */
  delay: number;
}

/** Impairments of one direction. All optional; the defaults make a perfect, instant link. */
export interface SimDirectionOptions {
  /** One-way delay, ms. */
  latency?: number;
  /** Extra delay drawn uniformly from [0, jitter) ms per packet; order is kept (FIFO). */
  jitter?: number;
  /** Bytes per second; adds serialization delay and a drop-tail queue. 0 / unset = unlimited. */
  bandwidth?: number;
  /** Queue limit in bytes when bandwidth is set. Default 64 KiB. */
  queueLimit?: number;
  /** Independent loss probability per packet. */
  loss?: number;
  lossBurst?: BurstLossOptions;
  /** Probability a packet is delivered twice. */
  duplicate?: number;
  reorder?: ReorderOptions;
  /** Probability one random bit of the packet is flipped (on a copy). */
  corrupt?: number;
  /** Packets larger than this are dropped ('too-big'). Default 1500. */
  mtu?: number;
}

export type SimFate = 'delivered' | 'lost' | 'duplicated' | 'corrupted' | 'too-big' | 'down';

export interface SimPacketEvent {
  /** Send time, ms on the clock. */
  t: number;
  /** Which end sent it. */
  from: 0 | 1;
  data: Uint8Array;
  fate: SimFate;
  /** Why it was lost: 'random', 'burst' (Gilbert-Elliott bad state) or 'queue' (drop-tail). */
  reason?: 'random' | 'burst' | 'queue';
  /** When it will arrive (absent for dropped packets). */
  deliverAt?: number;
  /** True when held back by the reorder impairment. */
  reordered?: boolean;
}

export interface SimOptions extends SimDirectionOptions {
  seed: number;
  /** Overrides for packets sent by end 0 / by end 1. */
  from0?: SimDirectionOptions;
  from1?: SimDirectionOptions;
  /** Start with the link down. */
  down?: boolean;
  /**
   * Deliver the packets arriving at one instant as one batch (Link.onReceiveBatch), so the
   * receiving stack applies GRO. With a rate limit arrivals are spread out and batches are rare.
   */
  batch?: boolean;
  /** Called once per packet sent, with its fate. */
  onPacket?: (ev: SimPacketEvent) => void;
}

export interface SimDirectionStats {
  sent: number;
  bytesSent: number;
  delivered: number;
  bytesDelivered: number;
  lost: number;
  queueDrops: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  tooBig: number;
  down: number;
}

function emptyStats(): SimDirectionStats {
  return {
    sent: 0, bytesSent: 0, delivered: 0, bytesDelivered: 0, lost: 0, queueDrops: 0,
    duplicated: 0, corrupted: 0, reordered: 0, tooBig: 0, down: 0,
  };
}

/** One direction of the pair: its options, random stream, queue state and counters. */
class Direction {
  opts: SimDirectionOptions;
  readonly stats = emptyStats();
  down = false;
  /** When the transmitter finishes the bytes already queued (bandwidth model). */
  private txFreeAt = 0;
  /** Latest arrival time of an in-order packet (keeps FIFO under jitter). */
  private lastArrival = 0;
  private burstBad = false;

  constructor(
    readonly from: 0 | 1,
    opts: SimDirectionOptions,
    private readonly rng: RandomSource,
    private readonly clock: Clock,
    private readonly onPacket: ((ev: SimPacketEvent) => void) | undefined,
  ) {
    this.opts = opts;
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && (p >= 1 || randomFloat(this.rng) < p);
  }

  private report(ev: SimPacketEvent): void {
    if (this.onPacket !== undefined) this.onPacket(ev);
  }

  transmit(data: Uint8Array, to: SimEnd): void {
    const o = this.opts;
    const now = this.clock.now();
    const s = this.stats;
    s.sent++;
    s.bytesSent += data.length;
    const from = this.from;
    if (this.down) {
      s.down++;
      this.report({ t: now, from, data, fate: 'down' });
      return;
    }
    if (data.length > (o.mtu ?? 1500)) {
      s.tooBig++;
      this.report({ t: now, from, data, fate: 'too-big' });
      return;
    }
    // Loss: Gilbert-Elliott when configured, else independent.
    const burst = o.lossBurst;
    if (burst !== undefined) {
      this.burstBad = this.burstBad ? !this.chance(burst.exit) : this.chance(burst.enter);
      const p = this.burstBad ? (burst.lossInBad ?? 1) : (burst.lossInGood ?? o.loss ?? 0);
      if (this.chance(p)) {
        s.lost++;
        this.report({ t: now, from, data, fate: 'lost', reason: this.burstBad ? 'burst' : 'random' });
        return;
      }
    } else if (this.chance(o.loss)) {
      s.lost++;
      this.report({ t: now, from, data, fate: 'lost', reason: 'random' });
      return;
    }
    // Bandwidth: serialization delay behind what is queued, drop-tail above the queue limit.
    let departs = now;
    const bw = o.bandwidth ?? 0;
    if (bw > 0) {
      const start = Math.max(now, this.txFreeAt);
      const backlog = ((start - now) * bw) / 1000;
      if (backlog + data.length > (o.queueLimit ?? 65536)) {
        s.lost++;
        s.queueDrops++;
        this.report({ t: now, from, data, fate: 'lost', reason: 'queue' });
        return;
      }
      departs = start + (data.length * 1000) / bw;
      this.txFreeAt = departs;
    }
    let arrives = departs + (o.latency ?? 0);
    const jitter = o.jitter ?? 0;
    if (jitter > 0) arrives += randomFloat(this.rng) * jitter;
    const reordered = o.reorder !== undefined && this.chance(o.reorder.probability);
    if (reordered) {
      s.reordered++;
      arrives += o.reorder!.delay;
    } else {
      if (arrives < this.lastArrival) arrives = this.lastArrival;
      this.lastArrival = arrives;
    }
    let fate: SimFate = 'delivered';
    let payload = data;
    if (this.chance(o.corrupt) && data.length > 0) {
      payload = data.slice();
      const bit = this.rng.u32() % (data.length * 8);
      payload[bit >>> 3]! ^= 1 << (bit & 7);
      s.corrupted++;
      fate = 'corrupted';
    }
    const dup = this.chance(o.duplicate);
    if (dup) {
      s.duplicated++;
      if (fate === 'delivered') fate = 'duplicated';
    }
    const ev: SimPacketEvent = { t: now, from, data, fate, deliverAt: arrives };
    if (reordered) ev.reordered = true;
    this.report(ev);
    this.clock.schedule(arrives, () => this.arrive(payload, to));
    if (dup) this.clock.schedule(arrives, () => this.arrive(payload, to));
  }

  private arrive(data: Uint8Array, to: SimEnd): void {
    if (this.down) {
      // Went down while the packet was in flight.
      this.stats.down++;
      return;
    }
    if (to.closed || to.onReceive === null) return;
    this.stats.delivered++;
    this.stats.bytesDelivered += data.length;
    if (to.onReceiveBatch) to.collect(data, this.clock);
    else to.onReceive(data);
  }
}

/** One end of a simulated pair; a Link. */
export class SimEnd implements Link {
  onReceive: ((packet: Uint8Array) => void) | null = null;
  closed = false;
  peer: SimEnd | null = null;

  /** Set by the stack on a batching end (declared only then: see Link.onReceiveBatch). */
  declare onReceiveBatch?: ((batch: Uint8Array, ends: Uint32Array, count: number) => void) | null;
  /** Packets of the current instant waiting for the batch (batching ends only). */
  private pending: Uint8Array[] = [];

  constructor(private readonly out: Direction, batch = false) {
    if (batch) this.onReceiveBatch = null;
  }

  /** Queue an arrival for this instant's batch, delivered by a clock entry after every arrival of the instant. */
  collect(data: Uint8Array, clock: Clock): void {
    if (this.pending.push(data) === 1) clock.schedule(clock.now(), this.flushBatch);
  }

  private readonly flushBatch = (): void => {
    const pkts = this.pending;
    this.pending = [];
    const rx = this.onReceiveBatch;
    if (this.closed || !rx) return;
    let total = 0;
    for (const p of pkts) total += p.length;
    const batch = new Uint8Array(total);
    const ends = new Uint32Array(pkts.length);
    let at = 0;
    for (let i = 0; i < pkts.length; i++) {
      batch.set(pkts[i]!, at);
      ends[i] = at += pkts[i]!.length;
    }
    rx(batch, ends, pkts.length);
  };

  get mtu(): number {
    return this.out.opts.mtu ?? 1500;
  }

  send(packet: Uint8Array): void {
    if (this.closed || this.peer === null) return;
    this.out.transmit(packet, this.peer);
  }

  close(): void {
    this.closed = true;
    this.onReceive = null;
  }

  /** Statistics of the packets this end sent. */
  stats(): SimDirectionStats {
    return { ...this.out.stats };
  }
}

export interface SimControl {
  /** Take the link down (both directions, or only packets sent by `from`) or bring it up. */
  setDown(down: boolean, from?: 0 | 1): void;
  /** Change impairments at run time (both directions, or one). Merged over the current ones. */
  configure(opts: SimDirectionOptions, from?: 0 | 1): void;
  /** Per-direction statistics, indexed by sender. */
  stats(): [SimDirectionStats, SimDirectionStats];
}

export type SimPair = [SimEnd, SimEnd] & SimControl;

/** Build a pair of impaired links on `clock`, reproducible from `opts.seed`. */
export function createSimPair(clock: Clock, opts: SimOptions): SimPair {
  const { seed, from0, from1, down, onPacket, batch, ...shared } = opts;
  const mk = (from: 0 | 1, own: SimDirectionOptions | undefined): Direction =>
    new Direction(
      from,
      { ...shared, ...own },
      seededRandom((seed + from * 0x9e3779b9) >>> 0),
      clock,
      onPacket,
    );
  const dirs = [mk(0, from0), mk(1, from1)] as const;
  const a = new SimEnd(dirs[0], batch === true);
  const b = new SimEnd(dirs[1], batch === true);
  a.peer = b;
  b.peer = a;
  if (down === true) for (const d of dirs) d.down = true;
  const pick = (from?: 0 | 1): readonly Direction[] => (from === undefined ? dirs : [dirs[from]]);
  const control: SimControl = {
    setDown(isDown: boolean, from?: 0 | 1): void {
      for (const d of pick(from)) d.down = isDown;
    },
    configure(o: SimDirectionOptions, from?: 0 | 1): void {
      for (const d of pick(from)) d.opts = { ...d.opts, ...o };
    },
    stats(): [SimDirectionStats, SimDirectionStats] {
      return [{ ...dirs[0].stats }, { ...dirs[1].stats }];
    },
  };
  return Object.assign([a, b] as [SimEnd, SimEnd], control);
}
