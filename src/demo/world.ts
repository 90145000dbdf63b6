// The demo world: two stacks ("client" 198.18.0.1, "server" 198.18.0.2) on a seeded simulated
// link with virtual time, and a recorder that turns what crosses the link into trace events.

import { Stack } from '../stack/stack.js';
import { VirtualClock } from '../util/virtual-clock.js';
import { seededRandom } from '../util/random.js';
import { createSimPair, type SimControl, type SimPacketEvent } from '../link/sim.js';
import type { Link } from '../link/link.js';
import type { TcpRepr } from '../wire/tcp.js';
import { tcpOfPacket, segmentEventOf } from '../trace/packet.js';
import { add, gt } from '../wire/seq.js';
import type { SegmentEvent, StateEvent, TraceEvent } from '../trace/events.js';
import type { TcpConfigInput } from '../tcp/config.js';
import { formatIp } from '../wire/address.js';

export const CLIENT_ADDR = '198.18.0.1';
export const SERVER_ADDR = '198.18.0.2';

export interface WorldOptions {
  seed: number;
  /** Round-trip time of the link, ms. */
  rtt: number;
  /** Random loss probability per packet. */
  loss: number;
  mss: number;
  tcp?: TcpConfigInput;
}

/** A captured packet (for pcap) with the time it was sent. */
export interface CapturedPacket {
  t: number;
  data: Uint8Array;
  lost: boolean;
}

type Side = 'client' | 'server';

/**
 * A link wrapper that can drop chosen packets (scripted loss, shown as lost on the ladder) and
 * inject packets from a third party (the attacker in the hijack scenario).
 */
export class ScriptedLink implements Link {
  onReceive: ((packet: Uint8Array) => void) | null = null;
  /** Return true to drop an outgoing packet. */
  dropOut: ((seg: TcpRepr, packet: Uint8Array) => boolean) | null = null;
  constructor(
    private readonly inner: Link,
    private readonly onDropped: (packet: Uint8Array) => void,
  ) {
    inner.onReceive = (p) => this.onReceive?.(p);
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  send(packet: Uint8Array): void {
    if (this.dropOut) {
      const seg = tcpOf(packet);
      if (seg && this.dropOut(seg, packet)) {
        this.onDropped(packet);
        return;
      }
    }
    this.inner.send(packet);
  }
  /** Deliver a packet to the stack as if it came off the wire. */
  inject(packet: Uint8Array): void {
    this.onReceive?.(packet);
  }
  close(): void {
    this.inner.close();
  }
}

function tcpOf(packet: Uint8Array): TcpRepr | null {
  return tcpOfPacket(packet)?.seg ?? null;
}

export class World {
  readonly clock = new VirtualClock();
  readonly client: Stack;
  readonly server: Stack;
  readonly clientLink: ScriptedLink;
  readonly serverLink: ScriptedLink;
  /** The simulated link's impairments, changeable while it runs (the lab's link controls). */
  readonly sim: SimControl;
  readonly events: TraceEvent[] = [];
  readonly packets: CapturedPacket[] = [];
  /** Highest sequence number seen per sender, to mark retransmissions. */
  private readonly highSeq = new Map<string, number>();
  /** A scenario's note for a segment the client or server sent (shown in parentheses on the ladder). */
  noteFor: ((from: Side, seg: TcpRepr, dst: Uint8Array) => string | undefined) | null = null;
  /** A scenario may keep some connections' state changes off the ladder (by their conn label). */
  hideState: ((conn: string | undefined) => boolean) | null = null;

  constructor(readonly opts: WorldOptions) {
    const mtu = opts.mss + 40;
    const pair = createSimPair(this.clock, {
      seed: opts.seed,
      latency: opts.rtt / 2,
      loss: opts.loss,
      mtu: Math.max(mtu, 1280),
      onPacket: (ev) => this.onSim(ev),
    });
    this.sim = pair;
    const tcp: TcpConfigInput = { mss: opts.mss, ...opts.tcp };
    this.client = new Stack({ name: 'client', clock: this.clock, random: seededRandom(opts.seed * 2 + 1), tcp });
    this.server = new Stack({ name: 'server', clock: this.clock, random: seededRandom(opts.seed * 2 + 2), tcp });
    this.clientLink = new ScriptedLink(pair[0], (p) => this.record('client', p, true));
    this.serverLink = new ScriptedLink(pair[1], (p) => this.record('server', p, true));
    this.client.addInterface(this.clientLink, { addresses: [`${CLIENT_ADDR}/24`] });
    this.server.addInterface(this.serverLink, { addresses: [`${SERVER_ADDR}/24`] });
    for (const [stack, host] of [
      [this.client, 'client'],
      [this.server, 'server'],
    ] as const) {
      stack.on('trace', (e) => {
        if (e.type === 'state') {
          if (this.hideState?.(e.conn) === true) return;
          const s: StateEvent = { type: 'state', t: e.t, host, from: e.from, to: e.to };
          if (e.cause !== undefined) s.cause = e.cause;
          this.events.push(s);
        }
      });
    }
  }

  private onSim(ev: SimPacketEvent): void {
    const from = ev.from === 0 ? 'client' : 'server';
    if (ev.fate !== 'duplicated') {
      this.record(from, ev.data, ev.fate !== 'delivered');
      return;
    }
    // The link delivers this packet twice: draw both arrows, the second marked as the copy (the
    // receiver sees it once more, which is why an extra ACK follows).
    const first = this.record(from, ev.data, false);
    this.packets.push({ t: this.clock.now(), data: ev.data, lost: false });
    if (first === null) return;
    const { retransmit: _sameAsFirst, ...copy } = first;
    this.events.push({ ...copy, duplicate: true });
  }

  /** Record a packet sent by `from` as a segment event (and for pcap); the event, null when not TCP. */
  record(from: Side | 'attacker', data: Uint8Array, lost: boolean, note?: string): SegmentEvent | null {
    const t = this.clock.now();
    this.packets.push({ t, data, lost });
    const parsed = tcpOfPacket(data);
    if (parsed === null) return null;
    const seg = parsed.seg;
    if (note === undefined && from !== 'attacker') note = this.noteFor?.(from, seg, parsed.dst);
    const to = from === 'server' ? 'client' : 'server';
    // A third host's segments (a spoofed source, or our answer to it) are their own connection on
    // the ladder, named by that host's address, so they keep their own relative numbers.
    const other = formatIp(from === 'server' ? parsed.dst : parsed.src);
    const third = other !== CLIENT_ADDR ? other : undefined;
    const used = seg.payload.length + (seg.flags & 0x02 ? 1 : 0) + (seg.flags & 0x01 ? 1 : 0);
    const key = third === undefined ? from : `${from}>${third}`;
    const end = add(seg.seq, used);
    const high = this.highSeq.get(key);
    let retransmit = false;
    if (used > 0 && from !== 'attacker') {
      if (high !== undefined && !gt(end, high)) retransmit = true;
      if (high === undefined || gt(end, high)) this.highSeq.set(key, end);
    }
    const e: SegmentEvent = segmentEventOf(parsed, t, from === 'attacker' ? 'client' : from, to, lost);
    if (retransmit) e.retransmit = true;
    if (third !== undefined) e.conn = third;
    if (note !== undefined || from === 'attacker') e.note = note ?? 'spoofed';
    this.events.push(e);
    return e;
  }

  /** Run virtual time until nothing is scheduled (or the limit). */
  run(limitMs = 10 * 60_000): void {
    this.clock.runUntilIdle({ maxTime: limitMs });
  }

  /** Run `fn` at virtual time now + ms. */
  after(ms: number, fn: () => void): void {
    this.clock.schedule(this.clock.now() + ms, fn);
  }

  /** Events ordered by time (stable), states after segments sent at the same instant. */
  sorted(): TraceEvent[] {
    return this.events
      .map((e, i) => ({ e, i }))
      .sort((a, b) => a.e.t - b.e.t || a.i - b.i)
      .map((x) => x.e);
  }
}

