// The Stack as programs use it: the driver of the sans-IO core (core.ts). It owns the Clock and
// the links: a packet a link delivers goes to handle() at the clock's time, each packet the core
// sends goes to its interface's link, and one clock entry, armed at the core's pollAt(), calls
// poll(). It adds the loopback link and ping's timeouts, which need the clock.
import type { Clock, TimerHandle } from '../util/clock.js';
import { RealtimeClock } from '../util/realtime-clock.js';
import { LoopbackLink, LOOPBACK_MTU } from '../link/loopback.js';
import type { Link } from '../link/link.js';
import { StackCore, type StackCoreOptions, type InterfaceOptions, type StackConnection } from './core.js';
import { parseIpOrThrow, type Interface } from './route.js';
import { codedError } from './udp.js';

export type { InterfaceOptions, StackCounters, StackStats, StackConnection } from './core.js';

export interface StackOptions extends StackCoreOptions {
  /** Time source (default: a new RealtimeClock, i.e. wall-clock time). */
  clock?: Clock;
  /**
   * The loopback interface `lo` with 127.0.0.1/8 and ::1/128 (default on, MTU 65536 as Linux):
   * `false` leaves it out, `{ mtu }` sets its MTU.
   */
  loopback?: boolean | { mtu?: number };
}

export interface PingOptions {
  /** Give up after this many ms (default 1000): the promise rejects with code ETIMEDOUT. */
  timeout?: number;
  data?: Uint8Array;
  ttl?: number;
}

export interface PingReply {
  /** Round-trip time, ms on the stack's clock. */
  rtt: number;
  ttl: number;
  bytes: number;
  seq: number;
}

interface PendingPing {
  sentAt: number;
  timer: TimerHandle;
  resolve: (r: PingReply) => void;
}

export class Stack extends StackCore {
  readonly clock: Clock;
  /** The one clock entry that calls poll(), and the time it is armed for (Infinity: none). */
  #timer: TimerHandle | null = null;
  #armedAt = Infinity;
  readonly #fire = (): void => {
    this.#timer = null;
    this.#armedAt = Infinity;
    this.poll(this.clock.now());
    this.wake();
  };
  private readonly pings = new Map<number, PendingPing>();
  private pingSeq = 0;

  constructor(opts: StackOptions = {}) {
    super(opts);
    this.clock = opts.clock ?? new RealtimeClock();
    if (opts.loopback !== false) {
      const mtu = typeof opts.loopback === 'object' ? opts.loopback.mtu ?? LOOPBACK_MTU : LOOPBACK_MTU;
      const link = new LoopbackLink(this.clock, mtu, this.clock instanceof RealtimeClock);
      this.loopback = this.addInterface(link, { name: 'lo', addresses: ['127.0.0.1/8', '::1/128'] });
    }
  }

  /** Attach a link with its addresses; adds a connected route for each address's prefix. */
  override addInterface(link: Link, opts: InterfaceOptions): Interface {
    const iface = super.addInterface(link, opts);
    link.onReceive = (pkt, rx) => this.handle(iface, pkt, this.clock.now(), rx);
    // A link that reads in batches hands each batch over whole, for GRO.
    if ('onReceiveBatch' in link) link.onReceiveBatch = (batch, ends, count, rx) => this.handleBatch(iface, batch, ends, count, this.clock.now(), rx);
    if ('onReceiveList' in link) link.onReceiveList = (packets, count, rx, released) => this.handleList(iface, packets, count, this.clock.now(), rx, released);
    return iface;
  }

  protected override transmit(iface: Interface, pkt: Uint8Array, gsoSize?: number): void {
    // Every packet here was just built and is not kept: a link may recycle it after delivery.
    const link = iface.link;
    if (gsoSize !== undefined) link.sendTcpOffload!(pkt, gsoSize, true);
    else if (link.sendOwned !== undefined) link.sendOwned(pkt);
    else link.send(pkt);
  }

  override eventTime(): number {
    return this.clock.now();
  }

  /**
   * The core's earliest deadline may have moved: arm the clock entry for it if it is earlier than
   * the one armed, cancel it if nothing is left (so an idle stack holds no clock entry). A later
   * deadline keeps the earlier entry, which finds nothing due and re-arms.
   */
  override wake(): void {
    const t = this.pollAt();
    if (t === Infinity) {
      if (this.#timer !== null) {
        this.clock.cancel(this.#timer);
        this.#timer = null;
        this.#armedAt = Infinity;
      }
    } else if (t < this.#armedAt) {
      if (this.#timer !== null) this.clock.cancel(this.#timer);
      this.#armedAt = t;
      // -Infinity ("now") and past times run at the clock's current time.
      // A pooled entry where the clock has them: #fire and the cancels above drop the handle.
      const at = Math.max(t, this.clock.now());
      this.#timer = this.clock.schedulePooled !== undefined ? this.clock.schedulePooled(at, this.#fire) : this.clock.schedule(at, this.#fire);
    }
  }

  override connections(): StackConnection[] {
    return super.connections(this.clock.now());
  }

  /** Send an ICMP echo request; resolves with the reply, rejects with code ETIMEDOUT. */
  ping(address: string, opts: PingOptions = {}): Promise<PingReply> {
    const dst = parseIpOrThrow(address);
    const seq = (this.pingSeq = (this.pingSeq + 1) & 0xffff);
    return new Promise<PingReply>((resolve, reject) => {
      const timer = this.clock.schedule(this.clock.now() + (opts.timeout ?? 1000), () => {
        this.pings.delete(seq);
        reject(codedError('ETIMEDOUT', `ping ${address}: no reply`));
      });
      this.pings.set(seq, { sentAt: this.clock.now(), timer, resolve });
      if (!this.sendEchoRequest(dst, seq, opts.data ?? new Uint8Array(0), opts.ttl)) {
        this.pings.delete(seq);
        this.clock.cancel(timer);
        reject(codedError('ENETUNREACH', `ping ${address}: no route or packet too big`));
      }
    });
  }

  protected override echoReply(seq: number, ttl: number, bytes: number): boolean {
    const p = this.pings.get(seq);
    if (p === undefined) return false;
    this.pings.delete(seq);
    this.clock.cancel(p.timer);
    p.resolve({ rtt: this.clock.now() - p.sentAt, ttl, bytes, seq });
    return true;
  }

  /** Reset every connection, close every socket and detach from the links. */
  override close(): void {
    if (this.closed) return;
    super.close();
    for (const p of this.pings.values()) this.clock.cancel(p.timer);
    this.pings.clear();
    for (const i of this.interfaces) {
      i.link.onReceive = null;
      if ('onReceiveBatch' in i.link) i.link.onReceiveBatch = null;
      if ('onReceiveList' in i.link) i.link.onReceiveList = null;
    }
    this.wake();
  }
}
