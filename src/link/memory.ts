// An in-memory pair of links: what one end sends, the other receives, zero-copy (the same
// Uint8Array is handed over), after `latency` ms on a Clock or on the next microtask without one.
import type { Link } from './link.js';
import type { Clock } from '../util/clock.js';

export interface MemoryPairOptions {
  /** Largest packet carried; larger ones are dropped and counted. Default 1500. */
  mtu?: number;
  /** Deliver through this clock (at now + latency). Without one, delivery is a microtask. */
  clock?: Clock;
  /** One-way delay in ms when a clock is given. Default 0. */
  latency?: number;
}

export interface MemoryLinkStats {
  sent: number;
  received: number;
  /** Dropped: too big, closed, or no receiver attached. */
  dropped: number;
}

export class MemoryLink implements Link {
  onReceive: ((packet: Uint8Array) => void) | null = null;
  peer: MemoryLink | null = null;
  closed = false;
  readonly counters: MemoryLinkStats = { sent: 0, received: 0, dropped: 0 };

  constructor(
    readonly mtu: number,
    private readonly clock: Clock | undefined,
    private readonly latency: number,
  ) {}

  send(packet: Uint8Array): void {
    const peer = this.peer;
    if (this.closed || peer === null || peer.closed || packet.length > this.mtu) {
      this.counters.dropped++;
      return;
    }
    this.counters.sent++;
    const deliver = (): void => peer.deliver(packet);
    if (this.clock !== undefined) this.clock.schedule(this.clock.now() + this.latency, deliver);
    else queueMicrotask(deliver);
  }

  close(): void {
    this.closed = true;
    this.onReceive = null;
  }

  stats(): MemoryLinkStats {
    return { ...this.counters };
  }

  private deliver(packet: Uint8Array): void {
    const rx = this.onReceive;
    if (this.closed || rx === null) {
      this.counters.dropped++;
      return;
    }
    this.counters.received++;
    rx(packet);
  }
}

/** Two connected links: packets sent on one arrive on the other, in order. */
export function createMemoryPair(opts: MemoryPairOptions = {}): [MemoryLink, MemoryLink] {
  const mtu = opts.mtu ?? 1500;
  const latency = opts.latency ?? 0;
  const a = new MemoryLink(mtu, opts.clock, latency);
  const b = new MemoryLink(mtu, opts.clock, latency);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
