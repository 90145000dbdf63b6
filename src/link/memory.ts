// An in-memory pair of links: what one end sends, the other receives, zero-copy (the same
// Uint8Array is handed over), in order, after `latency` ms on a Clock or on the next microtask without one.
import { RELEASED, RX_CSUM_VERIFIED, type Link } from './link.js';
import type { Clock } from '../util/clock.js';
import { recyclePacket } from '../wire/packet.js';

const EMPTY = new Uint8Array(0);
/** Inbox flags: the packet came through sendOwned; it has no clock entry of its own (see queue). */
const OWNED = 1;
const RIDER = 2;

export interface MemoryPairOptions {
  /** Largest packet carried; larger ones are dropped and counted. Default 1500. */
  mtu?: number;
  /** Deliver through this clock (at now + latency). Without one, delivery is a microtask. */
  clock?: Clock;
  /** One-way delay in ms when a clock is given. Default 0. */
  latency?: number;
  /**
   * Deliver the packets that arrive at one instant together (Link.onReceiveList: the packets
   * themselves, no copy), as a NIC driver's NAPI poll hands Linux what one interrupt brought, so
   * the receiving stack joins their segments (GRO) and acknowledges the joined segment rather than
   * every second one. Default true with a clock; false delivers packet by packet (onReceive), as
   * without a clock, where delivery is one microtask per packet. docs/stack.md, "Batches and GRO".
   */
  batch?: boolean;
  /**
   * Tell the receiving stack that packets a stack sent (Link.sendOwned: built by it a moment ago,
   * checksums included) need no checksum verification (RX_CSUM_VERIFIED), as Linux marks loopback
   * packets CHECKSUM_UNNECESSARY: the bytes were never on a wire. Packets given to send() (built by
   * a test or another program, possibly corrupt on purpose) are always verified. The sender still
   * computes every checksum, so the bytes on the link are unchanged. Default true; the lossy
   * simulator (link/sim.ts), which corrupts bits, has no such flag.
   */
  checksumUnnecessary?: boolean;
}

export interface MemoryLinkStats {
  sent: number;
  received: number;
  /** Dropped: too big, closed, or no receiver attached. */
  dropped: number;
}

export class MemoryLink implements Link {
  onReceive: ((packet: Uint8Array, rx?: number) => unknown) | null = null;
  peer: MemoryLink | null = null;
  closed = false;
  readonly counters: MemoryLinkStats = { sent: 0, received: 0, dropped: 0 };

  /** Set by the stack on a batching link (declared only then: see Link.onReceiveList). */
  declare onReceiveList?: ((packets: readonly Uint8Array[], count: number, rx: Uint8Array, released: Uint8Array) => void) | null;
  /** Arrival time of each inbox packet, for a batching link. */
  private due: Float64Array | null = null;
  /** A batching link's latest arrival time with a clock entry not yet run (-Infinity: none). */
  private armedAt = -Infinity;
  /** One instant's packets, their RX flags and what the receiver released: reused from batch to batch. */
  private list: Uint8Array[] = [];
  private listRx = new Uint8Array(0);
  private listReleased = new Uint8Array(0);
  /** Whether each packet of `list` came through sendOwned (only those are ever recycled). */
  private listOwned = new Uint8Array(0);
  /** Whether `list` is out being delivered (a batch delivered from inside the receiver gets its own arrays). */
  private listBusy = false;

  constructor(
    readonly mtu: number,
    private readonly clock: Clock | undefined,
    private readonly latency: number,
    batch = false,
    /** RX flags for packets that came through sendOwned (see MemoryPairOptions.checksumUnnecessary). */
    private readonly ownedRx = RX_CSUM_VERIFIED,
  ) {
    if (batch) {
      if (clock === undefined) throw new TypeError('a batching memory link needs a clock');
      this.onReceiveList = null;
      this.due = new Float64Array(16);
    }
  }

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
    const clock = this.clock;
    if (clock === undefined) {
      peer.queue(packet, owned, 0, false);
      queueMicrotask(peer.deliverNext);
      return;
    }
    const at = clock.now() + this.latency;
    // A peer that takes lists delivers everything due when an entry fires, so one entry per
    // arrival instant does: later packets of the instant ride on it (entries fire in time order).
    if (peer.onReceiveList && peer.armedAt === at) {
      peer.queue(packet, owned, at, true);
      return;
    }
    peer.queue(packet, owned, at, false);
    if (peer.due !== null) peer.armedAt = at;
    // Packet by packet: one entry per packet, all running the peer's one shared callback, which
    // takes the oldest queued packet: entries of one link fire in the order they were scheduled
    // (same delay, equal times in scheduling order), so the k-th firing is the k-th packet. The
    // handle is never kept, so a pooled entry (reused once run) does: no allocation per packet.
    if (clock.schedulePooled !== undefined) clock.schedulePooled(at, peer.deliverNext);
    else clock.schedule(at, peer.deliverNext);
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
  /** Per inbox packet: OWNED (it came through sendOwned, not send) and RIDER (see queue). */
  private owned = new Uint8Array(16);
  private inboxHead = 0;
  private inboxCount = 0;

  /** `rider`: the packet has no clock entry of its own but rides on the one of an earlier packet due at the same time. */
  private queue(packet: Uint8Array, owned: boolean, at: number, rider: boolean): void {
    if (this.inboxCount === this.inbox.length) this.growInbox();
    const i = (this.inboxHead + this.inboxCount) & (this.inbox.length - 1);
    this.inbox[i] = packet;
    this.owned[i] = (owned ? OWNED : 0) | (rider ? RIDER : 0);
    if (this.due !== null) this.due[i] = at;
    this.inboxCount++;
  }

  private growInbox(): void {
    const n = this.inbox.length;
    const inbox = new Array<Uint8Array>(n * 2).fill(EMPTY);
    const owned = new Uint8Array(n * 2);
    const due = this.due === null ? null : new Float64Array(n * 2);
    for (let k = 0; k < n; k++) {
      const i = (this.inboxHead + k) & (n - 1);
      inbox[k] = this.inbox[i]!;
      owned[k] = this.owned[i]!;
      if (due !== null) due[k] = this.due![i]!;
    }
    this.inbox = inbox;
    this.owned = owned;
    this.due = due;
    this.inboxHead = 0;
  }

  private readonly deliverNext = (): void => {
    if (this.due !== null) {
      const now = this.clock!.now();
      // This is the entry for `now` (entries run in time order): packets sent for `now` from here on need a new one.
      if (this.armedAt <= now) this.armedAt = -Infinity;
      if (this.onReceiveList) this.deliverBatch(now);
      else if (this.inboxCount > 0) {
        // Nobody takes lists now (a program set only onReceive, or cleared it): the packet this
        // entry is for and those that rode on it, one by one.
        this.deliverOldest();
        while (this.inboxCount > 0 && (this.owned[this.inboxHead]! & RIDER) !== 0) this.deliverOldest();
      }
      return;
    }
    if (this.inboxCount > 0) this.deliverOldest();
  };

  private deliverOldest(): void {
    const h = this.inboxHead;
    const packet = this.inbox[h]!;
    const owned = (this.owned[h]! & OWNED) !== 0;
    this.inbox[h] = EMPTY;
    this.inboxHead = (h + 1) & (this.inbox.length - 1);
    this.inboxCount--;
    this.deliver(packet, owned);
  }

  /**
   * Everything that has arrived by now, as one list of the packets themselves (zero-copy, as
   * single packets are). Later clock entries of the same instant find the inbox drained. A packet
   * a stack sent is recycled after the call if the receiver released it.
   */
  private deliverBatch(now: number): void {
    const mask = this.inbox.length - 1;
    let n = 0;
    while (n < this.inboxCount && this.due![(this.inboxHead + n) & mask]! <= now) n++;
    if (n === 0) return;
    const own = !this.listBusy;
    if (own && this.listRx.length < n) {
      const size = Math.max(n, this.listRx.length * 2, 16);
      this.listRx = new Uint8Array(size);
      this.listReleased = new Uint8Array(size);
      this.listOwned = new Uint8Array(size);
    }
    const list = own ? this.list : new Array<Uint8Array>(n);
    const rx = own ? this.listRx : new Uint8Array(n);
    const released = own ? this.listReleased : new Uint8Array(n);
    // Only packets that came through sendOwned are ever recycled: one given to send() may be the caller's.
    const owned = own ? this.listOwned : new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const i = this.inboxHead;
      list[k] = this.inbox[i]!;
      owned[k] = this.owned[i]! & OWNED;
      rx[k] = owned[k] !== 0 ? this.ownedRx : 0;
      released[k] = 0;
      this.inbox[i] = EMPTY;
      this.inboxHead = (i + 1) & mask;
      this.inboxCount--;
    }
    const closed = this.closed;
    if (closed) {
      this.counters.dropped += n;
    } else {
      this.counters.received += n;
      if (own) this.listBusy = true;
      try {
        this.onReceiveList!(list, n, rx, released);
      } finally {
        if (own) this.listBusy = false;
      }
    }
    for (let k = 0; k < n; k++) {
      if (owned[k] !== 0 && (released[k] === 1 || closed)) recyclePacket(list[k]!);
      list[k] = EMPTY;
    }
  }

  private deliver(packet: Uint8Array, owned: boolean): void {
    const rx = this.onReceive;
    if (this.closed || rx === null) {
      this.counters.dropped++;
      return;
    }
    this.counters.received++;
    if (owned) {
      if (rx(packet, this.ownedRx) === RELEASED) recyclePacket(packet);
    } else rx(packet);
  }
}

/** Two connected links: packets sent on one arrive on the other, in order. */
export function createMemoryPair(opts: MemoryPairOptions = {}): [MemoryLink, MemoryLink] {
  const mtu = opts.mtu ?? 1500;
  const latency = opts.latency ?? 0;
  const rx = opts.checksumUnnecessary === false ? 0 : RX_CSUM_VERIFIED;
  const batch = opts.batch ?? opts.clock !== undefined;
  const a = new MemoryLink(mtu, opts.clock, latency, batch, rx);
  const b = new MemoryLink(mtu, opts.clock, latency, batch, rx);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
