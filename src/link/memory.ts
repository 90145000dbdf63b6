// An in-memory pair of links: what one end sends, the other receives, zero-copy (the same
// Uint8Array is handed over), in order, after `latency` ms on a Clock or on the next microtask without one.
import { RELEASED, type Link } from './link.js';
import type { Clock } from '../util/clock.js';
import { recyclePacket } from '../wire/packet.js';

const EMPTY = new Uint8Array(0);

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
  onReceive: ((packet: Uint8Array) => unknown) | null = null;
  peer: MemoryLink | null = null;
  closed = false;
  readonly counters: MemoryLinkStats = { sent: 0, received: 0, dropped: 0 };

  constructor(
    readonly mtu: number,
    private readonly clock: Clock | undefined,
    private readonly latency: number,
  ) {}

  send(packet: Uint8Array): void {
    this.enqueue(packet, false);
  }

  /** send() for a packet the sender has let go of: recycled once the receiver says it is done with it. */
  sendOwned(packet: Uint8Array): void {
    this.enqueue(packet, true);
  }

  private enqueue(packet: Uint8Array, owned: boolean): void {
    const peer = this.peer;
    if (this.closed || peer === null || peer.closed || packet.length > this.mtu) {
      this.counters.dropped++;
      return;
    }
    this.counters.sent++;
    // One clock entry (or microtask) per packet, as before, but all of them run the peer's one
    // shared callback, which takes the oldest queued packet: entries of one link fire in the order
    // they were scheduled (same delay, equal times in scheduling order), so the k-th firing is the
    // k-th packet. No closure is created per packet.
    peer.queue(packet, owned);
    if (this.clock !== undefined) this.clock.schedule(this.clock.now() + this.latency, peer.deliverNext);
    else queueMicrotask(peer.deliverNext);
  }

  close(): void {
    this.closed = true;
    this.onReceive = null;
  }

  stats(): MemoryLinkStats {
    return { ...this.counters };
  }

  /**
   * Packets in flight to this end, oldest first: a ring (power-of-two size, doubled when full) that
   * keeps its storage when it drains, so a steady flow allocates nothing per packet.
   */
  private inbox: Uint8Array[] = new Array<Uint8Array>(16).fill(EMPTY);
  /** Whether each inbox packet came through sendOwned (1) or send (0). */
  private owned = new Uint8Array(16);
  private inboxHead = 0;
  private inboxCount = 0;

  private queue(packet: Uint8Array, owned: boolean): void {
    if (this.inboxCount === this.inbox.length) this.growInbox();
    const i = (this.inboxHead + this.inboxCount) & (this.inbox.length - 1);
    this.inbox[i] = packet;
    this.owned[i] = owned ? 1 : 0;
    this.inboxCount++;
  }

  private growInbox(): void {
    const n = this.inbox.length;
    const inbox = new Array<Uint8Array>(n * 2).fill(EMPTY);
    const owned = new Uint8Array(n * 2);
    for (let k = 0; k < n; k++) {
      const i = (this.inboxHead + k) & (n - 1);
      inbox[k] = this.inbox[i]!;
      owned[k] = this.owned[i]!;
    }
    this.inbox = inbox;
    this.owned = owned;
    this.inboxHead = 0;
  }

  private readonly deliverNext = (): void => {
    const h = this.inboxHead;
    const packet = this.inbox[h]!;
    const owned = this.owned[h] === 1;
    this.inbox[h] = EMPTY;
    this.inboxHead = (h + 1) & (this.inbox.length - 1);
    this.inboxCount--;
    this.deliver(packet, owned);
  };

  private deliver(packet: Uint8Array, owned: boolean): void {
    const rx = this.onReceive;
    if (this.closed || rx === null) {
      this.counters.dropped++;
      return;
    }
    this.counters.received++;
    if (rx(packet) === RELEASED && owned) recyclePacket(packet);
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
