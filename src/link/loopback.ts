// The loopback link (Linux `lo`): what the stack sends comes back to the same stack, in order and
// never re-entrantly (TCP processing is not nested inside the call that sent). On a wall clock
// packets go on a microtask after the send returns, at most BURST in a row, then the train
// continues through the Clock so a bulk transfer yields to timers and IO; on a virtual clock every
// delivery is a clock entry at the current time, so runs stay deterministic and replayable.
import { RELEASED, type Link } from './link.js';
import type { Clock } from '../util/clock.js';
import { recyclePacket } from '../wire/packet.js';

/** Linux's default loopback MTU. */
export const LOOPBACK_MTU = 65536;
/** Packets delivered per microtask run before yielding to the host's event loop. */
const BURST = 256;

export class LoopbackLink implements Link {
  onReceive: ((packet: Uint8Array) => unknown) | null = null;
  readonly counters = { sent: 0, received: 0, dropped: 0 };
  #queue: Array<{ packet: Uint8Array; owned: boolean }> = [];
  #head = 0;
  #scheduled = false;
  #closed = false;

  constructor(
    private readonly clock: Clock,
    readonly mtu: number = LOOPBACK_MTU,
    /** Deliver on microtasks (wall-clock time) rather than clock entries (virtual time). */
    private readonly microtasks = false,
  ) {}

  send(packet: Uint8Array): void {
    this.#enqueue(packet, false);
  }

  sendOwned(packet: Uint8Array): void {
    this.#enqueue(packet, true);
  }

  close(): void {
    this.#closed = true;
    this.onReceive = null;
    this.#queue = [];
    this.#head = 0;
  }

  #enqueue(packet: Uint8Array, owned: boolean): void {
    if (this.#closed || packet.length > this.mtu) {
      this.counters.dropped++;
      return;
    }
    this.counters.sent++;
    this.#queue.push({ packet, owned });
    if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.microtasks) queueMicrotask(this.#flush);
      else this.clock.schedule(this.clock.now(), this.#flush);
    }
  }

  readonly #flush = (): void => {
    for (let n = 0; n < BURST && this.#head < this.#queue.length; n++) {
      const { packet, owned } = this.#queue[this.#head]!;
      this.#queue[this.#head++] = EMPTY;
      const rx = this.onReceive;
      if (rx === null) {
        this.counters.dropped++;
        continue;
      }
      this.counters.received++;
      if (rx(packet) === RELEASED && owned) recyclePacket(packet);
    }
    if (this.#head < this.#queue.length) {
      this.clock.schedule(this.clock.now(), this.#flush);
      return;
    }
    this.#queue.length = 0;
    this.#head = 0;
    this.#scheduled = false;
  };
}

const EMPTY = { packet: new Uint8Array(0), owned: false };
