// The neighbour cache shared by ARP (RFC 826) and IPv6 neighbour discovery (RFC 4861 section 7.3):
// INCOMPLETE entries hold a bounded queue of packets while solicitations are retransmitted,
// REACHABLE ones turn STALE after the reachable time, a STALE entry that is used waits DELAY then
// sends unicast PROBEs and is forgotten when they go unanswered. Timers run on the injected Clock.
import type { Clock, TimerHandle } from '../util/clock.js';
import { addrKey } from '../stack/route.js';
import { macEquals } from './frame.js';

export const NeighbourState = {
  INCOMPLETE: 'INCOMPLETE',
  REACHABLE: 'REACHABLE',
  STALE: 'STALE',
  DELAY: 'DELAY',
  PROBE: 'PROBE',
} as const;
export type NeighbourState = (typeof NeighbourState)[keyof typeof NeighbourState];

/** Protocol constants (RFC 4861 section 10; Linux uses the same values for ARP). */
export interface NeighbourTimings {
  /** REACHABLE lasts this long after a confirmation (REACHABLE_TIME, 30 s). */
  reachableMs: number;
  /** Between retransmitted solicitations (RETRANS_TIMER, 1 s). */
  retransMs: number;
  /** A used STALE entry waits this long before probing (DELAY_FIRST_PROBE_TIME, 5 s). */
  delayMs: number;
  /** Broadcast/multicast solicitations before giving up on an INCOMPLETE entry (MAX_MULTICAST_SOLICIT, 3). */
  maxMulticast: number;
  /** Unicast probes before forgetting a PROBE entry (MAX_UNICAST_SOLICIT, 3). */
  maxUnicast: number;
  /** Packets held per INCOMPLETE entry; more are dropped (oldest first, as Linux's unres_qlen). */
  queuePerNeighbour: number;
  /** Entries kept; adding one more evicts the oldest entry that is not INCOMPLETE. */
  maxEntries: number;
}

export const DEFAULT_TIMINGS: NeighbourTimings = {
  reachableMs: 30_000,
  retransMs: 1_000,
  delayMs: 5_000,
  maxMulticast: 3,
  maxUnicast: 3,
  queuePerNeighbour: 16,
  maxEntries: 512,
};

export interface NeighbourEntry {
  readonly ip: Uint8Array;
  mac: Uint8Array | null;
  state: NeighbourState;
  /** REACHABLE until this time. */
  reachableUntil: number;
  /** Solicitations sent in the current INCOMPLETE or PROBE round. */
  probes: number;
  queue: Uint8Array[];
  timer: TimerHandle | null;
}

/** What the cache asks of its owner (the Ethernet interface). */
export interface NeighbourIo {
  /** Send a solicitation for `ip`: broadcast/multicast when `mac` is null, else a unicast probe. */
  solicit(ip: Uint8Array, mac: Uint8Array | null): void;
  /** Put an IP packet on the wire to `mac`. */
  transmit(mac: Uint8Array, packet: Uint8Array): void;
  /** Packets given up on (resolution failed or the queue overflowed). */
  dropped(ip: Uint8Array, count: number, why: 'unresolved' | 'queue-full' | 'evicted'): void;
  /** Entry state changes, for the trace. */
  changed(entry: NeighbourEntry, why: string): void;
}

export class NeighbourCache {
  private readonly entries = new Map<string, NeighbourEntry>();

  constructor(
    private readonly clock: Clock,
    private readonly io: NeighbourIo,
    readonly timings: NeighbourTimings = DEFAULT_TIMINGS,
  ) {}

  get(ip: Uint8Array): NeighbourEntry | undefined {
    return this.entries.get(addrKey(ip));
  }

  list(): NeighbourEntry[] {
    const now = this.clock.now();
    for (const e of this.entries.values()) this.age(e, now);
    return [...this.entries.values()];
  }

  /** Send `packet` to the neighbour `ip`, resolving it first if needed (RFC 4861 7.2.2, 7.3.3). */
  send(ip: Uint8Array, packet: Uint8Array): void {
    const key = addrKey(ip);
    let e = this.entries.get(key);
    if (e === undefined) {
      e = this.create(key, ip, null, NeighbourState.INCOMPLETE);
      this.enqueue(e, packet);
      this.io.solicit(e.ip, null);
      e.probes = 1;
      this.arm(e, this.timings.retransMs);
      this.io.changed(e, 'resolving');
      return;
    }
    if (e.state === NeighbourState.INCOMPLETE) {
      this.enqueue(e, packet);
      return;
    }
    this.age(e, this.clock.now());
    this.io.transmit(e.mac!, packet);
    if (e.state === NeighbourState.STALE) {
      // RFC 4861 7.3.3: a STALE entry used for sending enters DELAY, giving upper layers a chance to
      // confirm reachability before we probe.
      e.state = NeighbourState.DELAY;
      this.arm(e, this.timings.delayMs);
      this.io.changed(e, 'used while stale');
    }
  }

  /**
   * A solicited answer (ARP reply, NA with S set): the neighbour is REACHABLE at `mac`. Unsolicited
   * news (a request from it, an NA without S, a gratuitous ARP) only records the address: STALE if
   * it changed or was unknown, as RFC 4861 7.2.5/7.2.3 and RFC 826's merge step say.
   */
  learn(ip: Uint8Array, mac: Uint8Array, solicited: boolean, create: boolean): void {
    const key = addrKey(ip);
    let e = this.entries.get(key);
    if (e === undefined) {
      if (!create) return;
      e = this.create(key, ip, mac.slice(), solicited ? NeighbourState.REACHABLE : NeighbourState.STALE);
      if (solicited) e.reachableUntil = this.clock.now() + this.timings.reachableMs;
      this.io.changed(e, solicited ? 'confirmed' : 'learned');
      return;
    }
    const changed = e.mac === null || !macEquals(e.mac, mac);
    if (changed) e.mac = mac.slice();
    if (solicited) {
      e.state = NeighbourState.REACHABLE;
      e.reachableUntil = this.clock.now() + this.timings.reachableMs;
      e.probes = 0;
      this.cancel(e);
      this.io.changed(e, 'confirmed');
    } else if (changed) {
      this.cancel(e);
      e.state = NeighbourState.STALE;
      this.io.changed(e, 'address changed');
    } else return;
    const queued = e.queue;
    if (queued.length > 0) {
      e.queue = [];
      for (const p of queued) this.io.transmit(e.mac!, p);
    }
  }

  /** Forget every entry and its queued packets (the interface is going away). */
  clear(): void {
    for (const e of this.entries.values()) this.cancel(e);
    this.entries.clear();
  }

  private create(key: string, ip: Uint8Array, mac: Uint8Array | null, state: NeighbourState): NeighbourEntry {
    if (this.entries.size >= this.timings.maxEntries) this.evictOne();
    const e: NeighbourEntry = { ip: ip.slice(), mac, state, reachableUntil: 0, probes: 0, queue: [], timer: null };
    this.entries.set(key, e);
    return e;
  }

  private evictOne(): void {
    let victim: [string, NeighbourEntry] | undefined;
    for (const kv of this.entries) {
      victim ??= kv;
      if (kv[1].state !== NeighbourState.INCOMPLETE) {
        victim = kv;
        break;
      }
    }
    if (victim === undefined) return;
    this.cancel(victim[1]);
    if (victim[1].queue.length > 0) this.io.dropped(victim[1].ip, victim[1].queue.length, 'evicted');
    this.entries.delete(victim[0]);
  }

  private enqueue(e: NeighbourEntry, packet: Uint8Array): void {
    if (e.queue.length >= this.timings.queuePerNeighbour) {
      e.queue.shift();
      this.io.dropped(e.ip, 1, 'queue-full');
    }
    e.queue.push(packet);
  }

  /** REACHABLE entries whose time has passed become STALE (checked when the entry is looked at). */
  private age(e: NeighbourEntry, now: number): void {
    if (e.state === NeighbourState.REACHABLE && now >= e.reachableUntil) {
      e.state = NeighbourState.STALE;
      this.io.changed(e, 'reachable time expired');
    }
  }

  private arm(e: NeighbourEntry, delay: number): void {
    this.cancel(e);
    e.timer = this.clock.schedule(this.clock.now() + delay, () => this.fire(e));
  }

  private cancel(e: NeighbourEntry): void {
    if (e.timer !== null) this.clock.cancel(e.timer);
    e.timer = null;
  }

  private fire(e: NeighbourEntry): void {
    e.timer = null;
    if (this.entries.get(addrKey(e.ip)) !== e) return;
    const t = this.timings;
    switch (e.state) {
      case NeighbourState.INCOMPLETE:
        if (e.probes >= t.maxMulticast) {
          this.entries.delete(addrKey(e.ip));
          if (e.queue.length > 0) this.io.dropped(e.ip, e.queue.length, 'unresolved');
          e.queue = [];
          this.io.changed(e, 'resolution failed');
          return;
        }
        e.probes++;
        this.io.solicit(e.ip, null);
        this.arm(e, t.retransMs);
        return;
      case NeighbourState.DELAY:
        e.state = NeighbourState.PROBE;
        e.probes = 1;
        this.io.solicit(e.ip, e.mac);
        this.arm(e, t.retransMs);
        this.io.changed(e, 'probing');
        return;
      case NeighbourState.PROBE:
        if (e.probes >= t.maxUnicast) {
          this.entries.delete(addrKey(e.ip));
          this.io.changed(e, 'unreachable, forgotten');
          return;
        }
        e.probes++;
        this.io.solicit(e.ip, e.mac);
        this.arm(e, t.retransMs);
        return;
      default:
        return;
    }
  }
}
