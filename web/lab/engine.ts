// The lab's model: one run of two synack stacks on the seeded simulated link (a guided story from
// src/demo, or free play driven by the buttons), stepped one clock event at a time so the page can
// animate it, plus the attackers and link tricks the controls offer (RFC 5961 blind attacks, SYN floods).
import { startDemo, DEMO_TIME_LIMIT } from '../../src/demo/scenarios.js';
import { World, CLIENT_ADDR, SERVER_ADDR } from '../../src/demo/world.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { TcpListener } from '../../src/stack/tcp-host.js';
import type { TraceEvent, SegmentEvent, TcpStateName } from '../../src/trace/events.js';
import { buildTcpPacket } from '../../src/wire/packet.js';
import { parseIp } from '../../src/wire/address.js';
import { TcpFlag } from '../../src/wire/tcp.js';
import { add } from '../../src/wire/seq.js';
import { seededRandom } from '../../src/util/random.js';

export type Side = 'client' | 'server';
const PORT = 80;

export interface RunSettings {
  seed: number;
  rtt: number;
  mss: number;
  bytes: number;
}

/** One run: its World, its connections, and the controls a free-play run answers to. */
export class LabRun {
  readonly world: World;
  private readonly conns: () => { client: TcpConnection | null; server: TcpConnection | null };
  private own: { client: TcpConnection | null; server: TcpConnection | null } = { client: null, server: null };
  private listener: TcpListener | null = null;
  private duplicateArmed = false;
  private readonly rnd: () => number;

  constructor(
    readonly scenario: string | null,
    readonly settings: RunSettings,
  ) {
    const opts = { seed: settings.seed, rtt: settings.rtt, loss: 0, mss: settings.mss };
    const r = settings.seed * 7919 + 17;
    const random = seededRandom(r >>> 0);
    this.rnd = () => random.u32();
    if (scenario !== null) {
      const run = startDemo({ ...opts, scenario, bytes: settings.bytes });
      this.world = run.world;
      this.conns = () => run.connections();
    } else {
      this.world = new World(opts);
      this.conns = () => this.own;
      this.listen(true);
    }
  }

  connections(): { client: TcpConnection | null; server: TcpConnection | null } {
    return this.conns();
  }

  /** Events so far, ordered by time as the CLI orders them. */
  events(): TraceEvent[] {
    return this.world.sorted();
  }

  /** The states each side went through (the first entry is where it started), as `synack demo --json` sums them up. */
  states(host: Side): TcpStateName[] {
    const out: TcpStateName[] = [];
    for (const e of this.events()) {
      if (e.type !== 'state' || e.host !== host) continue;
      if (out.length === 0) out.push(e.from);
      out.push(e.to);
    }
    return out;
  }

  now(): number {
    return this.world.clock.now();
  }

  /** Time of the next event, or Infinity when the run has settled (or passed the demo's limit). */
  nextAt(): number {
    const t = this.world.clock.nextAt();
    return t > DEMO_TIME_LIMIT ? Infinity : t;
  }

  /** Run one clock event; false when nothing is left. */
  step(): boolean {
    if (this.nextAt() === Infinity) return false;
    const before = this.world.events.length;
    this.world.clock.runNext();
    if (this.duplicateArmed && this.world.events.slice(before).some((e) => e.type === 'segment')) {
      this.duplicateArmed = false;
      this.world.sim.configure({ duplicate: 0 });
    }
    return true;
  }

  /** Run every event due by virtual time `t` (and no further). */
  runUntil(t: number): void {
    while (this.nextAt() <= t) this.step();
  }

  // --- free play ------------------------------------------------------------------------------

  /** The server's listener on port 80: on (accepting) or off (a SYN is answered with RST, "refused"). */
  listen(on: boolean): void {
    if (!on) {
      this.listener?.close();
      this.listener = null;
      this.world.events.push({ type: 'state', t: this.now(), host: 'server', from: 'LISTEN', to: 'CLOSED', cause: 'CLOSE' });
      return;
    }
    if (this.listener !== null) return;
    this.world.events.push({ type: 'state', t: this.now(), host: 'server', from: 'CLOSED', to: 'LISTEN', cause: 'passive OPEN' });
    this.listener = this.world.server.tcpListen({ port: PORT }, (conn) => {
      this.own.server = conn;
      conn.hooks.onReadable = () => void drain(conn);
    });
  }

  listening(): boolean {
    return this.listener !== null;
  }

  connect(): void {
    const c = this.world.client.tcpConnect({ address: SERVER_ADDR, port: PORT });
    this.own.client = c;
    c.hooks.onReadable = () => void drain(c);
  }

  /** Queue `n` bytes on one side's connection; returns how many the send buffer took. */
  send(side: Side, n: number): number {
    const c = this.connections()[side];
    if (c === null) return 0;
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = 97 + (i % 26);
    return c.send(data);
  }

  /** CLOSE (RFC 9293 3.10.4): send FIN, keep receiving; what shutdown(SHUT_WR) does. */
  shutdown(side: Side): void {
    this.connections()[side]?.close();
  }

  /** A socket's close(): like shutdown, but unread data makes Linux reset instead (RFC 2525 2.17). */
  close(side: Side): void {
    const c = this.connections()[side];
    if (c === null) return;
    if (c.recvAvailable > 0) c.abort();
    else c.close();
  }

  abort(side: Side): void {
    this.connections()[side]?.abort();
  }

  setLink(o: { rtt?: number; loss?: number; reorder?: number; rate?: number }): void {
    const sim = this.world.sim;
    if (o.rtt !== undefined) sim.configure({ latency: o.rtt / 2 });
    if (o.loss !== undefined) sim.configure({ loss: o.loss });
    if (o.reorder !== undefined) sim.configure({ reorder: { probability: o.reorder, delay: (o.rtt ?? this.settings.rtt) / 2 } });
    if (o.rate !== undefined) sim.configure({ bandwidth: o.rate });
  }

  /** Drop the next segment either side sends (it is drawn as lost). */
  dropNext(): void {
    const once = (): boolean => {
      this.world.clientLink.dropOut = null;
      this.world.serverLink.dropOut = null;
      return true;
    };
    this.world.clientLink.dropOut = once;
    this.world.serverLink.dropOut = once;
  }

  /** Deliver the next segment twice. */
  duplicateNext(): void {
    this.duplicateArmed = true;
    this.world.sim.configure({ duplicate: 1 });
  }

  /**
   * An off-path attacker: it knows the ports but not the numbers, so it sprays RSTs and data at
   * guessed sequence numbers. Random ISNs (RFC 6528) and RFC 5961's checks make each guess fail.
   */
  offPathAttack(count = 4): number {
    const c = this.connections().client;
    if (c === null) return 0;
    for (let i = 0; i < count; i++) {
      const rst = i % 2 === 0;
      this.inject(c.tuple.localPort, this.rnd(), this.rnd(), rst ? TcpFlag.RST : TcpFlag.ACK | TcpFlag.PSH, rst ? '' : 'EVIL', 'spoofed, off-path guess');
    }
    return count;
  }

  /**
   * An on-path attacker sees the traffic, so it sends a RST carrying exactly the next sequence
   * number the server expects: RFC 5961 cannot tell it from the client's own, and the server resets.
   */
  onPathAttack(): boolean {
    const c = this.connections().client;
    const last = this.lastSegment('client');
    if (c === null || last === undefined) return false;
    const used = last.len + (last.flags.includes('SYN') ? 1 : 0) + (last.flags.includes('FIN') ? 1 : 0);
    this.inject(c.tuple.localPort, add(last.seq, used), 0, TcpFlag.RST, '', 'spoofed, on-path: seq seen on the wire');
    return true;
  }

  /** Spoofed SYNs from addresses that will never answer, filling the server's SYN queue. */
  synFlood(count = 8): void {
    const dst = parseIp(SERVER_ADDR)!;
    for (let i = 0; i < count; i++) {
      const from = `198.18.0.${100 + ((this.rnd() >>> 0) % 150)}`;
      const syn = {
        srcPort: 1024 + (this.rnd() % 60000), dstPort: PORT, seq: this.rnd(), ack: 0, flags: TcpFlag.SYN, window: 64240, urgent: 0,
        options: { mss: 1460 }, payload: new Uint8Array(0),
      };
      const pkt = buildTcpPacket(parseIp(from)!, dst, syn);
      this.world.record('attacker', pkt, false, `spoofed SYN from ${from}`);
      this.world.serverLink.inject(pkt);
    }
  }

  private lastSegment(from: Side): SegmentEvent | undefined {
    const evs = this.world.events;
    for (let i = evs.length - 1; i >= 0; i--) {
      const e = evs[i]!;
      if (e.type === 'segment' && e.from === from && e.conn === undefined && e.note === undefined) return e;
    }
    return undefined;
  }

  private inject(srcPort: number, seq: number, ack: number, flags: number, text: string, note: string): void {
    const seg = {
      srcPort, dstPort: PORT, seq: seq >>> 0, ack: ack >>> 0, flags, window: 65535, urgent: 0, options: {},
      payload: new TextEncoder().encode(text),
    };
    const pkt = buildTcpPacket(parseIp(CLIENT_ADDR)!, parseIp(SERVER_ADDR)!, seg);
    this.world.record('attacker', pkt, false, note);
    this.world.serverLink.inject(pkt);
  }
}

function drain(c: TcpConnection): number {
  let n = 0;
  for (let d = c.recv(); d !== null; d = c.recv()) n += d.length;
  return n;
}
