// Test helpers for the sans-IO TCP core: a connection under test driven by hand-written segments
// (send / expect / expectNothing on virtual time, per-state fixtures), and two cores back to back.

import assert from 'node:assert/strict';
import { TcpConnection, type TcpHooks } from '../../src/tcp/connection.js';
import { resolveConfig, type TcpConfigInput } from '../../src/tcp/config.js';
import { TcpFlag, type TcpOptions, type TcpRepr } from '../../src/wire/tcp.js';
import { add } from '../../src/wire/seq.js';
import type { TcpStateName } from '../../src/tcp/state.js';

export const { FIN, SYN, RST, PSH, ACK, URG } = TcpFlag;

export const LOCAL_PORT = 80;
export const REMOTE_PORT = 49152;
/** Our ISS and the remote's in fixtures. */
export const LOCAL_ISS = 10000;
export const REMOTE_ISS = 20000;

export interface SegSpec {
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  urgent?: number;
  options?: TcpOptions;
  payload?: Uint8Array | string;
}

const enc = new TextEncoder();

export function seg(spec: SegSpec, from: 'remote' | 'local' = 'remote'): TcpRepr {
  const p = spec.payload;
  return {
    srcPort: from === 'remote' ? REMOTE_PORT : LOCAL_PORT,
    dstPort: from === 'remote' ? LOCAL_PORT : REMOTE_PORT,
    seq: spec.seq ?? 0,
    ack: spec.ack ?? 0,
    flags: spec.flags ?? ACK,
    window: spec.window ?? 65535,
    urgent: spec.urgent ?? 0,
    options: spec.options ?? {},
    payload: typeof p === 'string' ? enc.encode(p) : (p ?? new Uint8Array(0)),
  };
}

export function flagNames(f: number): string {
  const n: string[] = [];
  if (f & SYN) n.push('SYN');
  if (f & FIN) n.push('FIN');
  if (f & RST) n.push('RST');
  if (f & PSH) n.push('PSH');
  if (f & ACK) n.push('ACK');
  if (f & URG) n.push('URG');
  return n.join(',') || 'none';
}

/** A connection under test with a log of state changes, errors and emitted segments. */
export class Harness {
  now = 0;
  readonly out: TcpRepr[] = [];
  readonly states: string[] = [];
  readonly errors: string[] = [];
  closed = false;
  readable = 0;
  conn!: TcpConnection;
  /** Remote side's next sequence number (what the remote sends next). */
  rseq = add(REMOTE_ISS, 1);

  hooks(): TcpHooks {
    return {
      onState: (from, to) => this.states.push(`${from}->${to}`),
      onError: (code) => this.errors.push(code),
      onClosed: () => {
        this.closed = true;
      },
      onReadable: () => {
        this.readable++;
      },
    };
  }

  get state(): TcpStateName {
    return this.conn.state;
  }

  /** Run poll() at the current time and collect output. */
  poll(): TcpRepr[] {
    const before = this.out.length;
    this.conn.poll(this.now, (s) => this.out.push(s));
    return this.out.slice(before);
  }

  /** Deliver a segment from the remote, then poll. */
  send(spec: SegSpec): TcpRepr[] {
    this.conn.handleSegment(seg(spec), this.now);
    return this.poll();
  }

  /** Advance virtual time to `t` (ms), firing timers deadline by deadline; returns what was sent. */
  advanceTo(t: number): TcpRepr[] {
    const before = this.out.length;
    for (let guard = 0; guard < 100000; guard++) {
      const at = this.conn.pollAt();
      if (at > t) break;
      this.now = Math.max(this.now, at);
      this.conn.poll(this.now, (s) => this.out.push(s));
    }
    this.now = Math.max(this.now, t);
    return this.out.slice(before);
  }

  advance(ms: number): TcpRepr[] {
    return this.advanceTo(this.now + ms);
  }

  /** Drop any output produced so far. */
  flush(): void {
    this.out.length = 0;
  }
}

/** Assert exactly one segment in `segs` (or the given one) matching the expectation. */
export function expectSeg(segs: TcpRepr[], e: SegSpec & { len?: number }, msg = ''): TcpRepr {
  assert.equal(segs.length, 1, `${msg} expected one segment, got ${segs.length}: ${segs.map(describe).join(' | ')}`);
  const s = segs[0]!;
  matchSeg(s, e, msg);
  return s;
}

export function matchSeg(s: TcpRepr, e: SegSpec & { len?: number }, msg = ''): void {
  if (e.flags !== undefined) assert.equal(flagNames(s.flags), flagNames(e.flags), `${msg} flags of ${describe(s)}`);
  if (e.seq !== undefined) assert.equal(s.seq, e.seq >>> 0, `${msg} seq of ${describe(s)}`);
  if (e.ack !== undefined) assert.equal(s.ack, e.ack >>> 0, `${msg} ack of ${describe(s)}`);
  if (e.window !== undefined) assert.equal(s.window, e.window, `${msg} window of ${describe(s)}`);
  if (e.len !== undefined) assert.equal(s.payload.length, e.len, `${msg} len of ${describe(s)}`);
  if (e.payload !== undefined) {
    const want = typeof e.payload === 'string' ? enc.encode(e.payload) : e.payload;
    assert.deepEqual([...s.payload], [...want], `${msg} payload of ${describe(s)}`);
  }
  if (e.options !== undefined) assert.deepEqual(s.options, e.options, `${msg} options of ${describe(s)}`);
}

export function expectNothing(segs: TcpRepr[], msg = ''): void {
  assert.equal(segs.length, 0, `${msg} expected no segment, got: ${segs.map(describe).join(' | ')}`);
}

export function describe(s: TcpRepr): string {
  return `[${flagNames(s.flags)}] seq=${s.seq} ack=${s.ack} len=${s.payload.length} win=${s.window}`;
}

/** Plain config for exact-segment tests: no options unless asked, immediate ACKs, fixed scale. */
export function testConfig(over: TcpConfigInput = {}) {
  return resolveConfig({
    mss: 1000,
    sack: false,
    timestamps: false,
    windowScale: false,
    delayedAck: 0,
    recvBufferSize: 64000,
    sendBufferSize: 64000,
    initialRto: 1000,
    minRto: 200,
    congestion: 'newreno',
    ...over,
  });
}

/** A harness whose connection did an active OPEN (SYN already emitted and taken off `out`). */
export function synSent(over: TcpConfigInput = {}): Harness {
  const h = new Harness();
  h.conn = TcpConnection.connect({
    localPort: LOCAL_PORT,
    remotePort: REMOTE_PORT,
    iss: LOCAL_ISS,
    now: 0,
    config: testConfig(over),
    hooks: h.hooks(),
  });
  h.poll();
  h.flush();
  return h;
}

/** A passive connection that answered a SYN (SYN,ACK taken off `out`). */
export function synReceived(over: TcpConfigInput = {}, synOptions: TcpOptions = {}): Harness {
  const h = new Harness();
  h.conn = TcpConnection.accept(seg({ seq: REMOTE_ISS, flags: SYN, options: synOptions }), {
    localPort: LOCAL_PORT,
    remotePort: REMOTE_PORT,
    iss: LOCAL_ISS,
    now: 0,
    config: testConfig(over),
    hooks: h.hooks(),
  });
  h.poll();
  h.flush();
  return h;
}

/** ESTABLISHED after a passive open (our ISS LOCAL_ISS, theirs REMOTE_ISS). */
export function established(over: TcpConfigInput = {}): Harness {
  const h = synReceived(over);
  h.send({ seq: h.rseq, ack: LOCAL_ISS + 1, flags: ACK });
  h.flush();
  assert.equal(h.state, 'ESTABLISHED');
  return h;
}

/** Two cores wired back to back on one virtual clock, with an optional drop/delay policy. */
export class Pair {
  now = 0;
  readonly a: TcpConnection;
  readonly b: TcpConnection;
  readonly log: { t: number; from: 'a' | 'b'; seg: TcpRepr; lost: boolean }[] = [];
  readonly statesA: string[] = [];
  readonly statesB: string[] = [];
  readonly errors: { side: 'a' | 'b'; code: string }[] = [];
  readonly received = { a: [] as Uint8Array[], b: [] as Uint8Array[] };
  /** Pending deliveries: [time, to, segment]. */
  private wire: { t: number; to: 'a' | 'b'; seg: TcpRepr }[] = [];
  latency: number;
  /** Return true to drop. */
  drop: (from: 'a' | 'b', seg: TcpRepr, n: number) => boolean = () => false;
  private sent = 0;
  autoRead = true;

  constructor(opts: { latency?: number; configA?: TcpConfigInput; configB?: TcpConfigInput; issA?: number; issB?: number; passiveB?: boolean } = {}) {
    this.latency = opts.latency ?? 10;
    const mk = (side: 'a' | 'b'): TcpHooks => ({
      onState: (from, to) => (side === 'a' ? this.statesA : this.statesB).push(`${from}->${to}`),
      onError: (code) => this.errors.push({ side, code }),
      onReadable: () => {
        if (!this.autoRead) return;
        const c = side === 'a' ? this.a : this.b;
        for (let d = c.recv(); d !== null; d = c.recv()) this.received[side].push(d);
      },
    });
    this.a = TcpConnection.connect({
      localPort: 1000,
      remotePort: 2000,
      iss: opts.issA ?? 1,
      now: 0,
      config: resolveConfig({ ...opts.configA }),
      hooks: mk('a'),
    });
    // b is created passively when a's SYN arrives (like a listener would), unless simultaneous open.
    if (opts.passiveB === false) {
      this.b = TcpConnection.connect({
        localPort: 2000,
        remotePort: 1000,
        iss: opts.issB ?? 5000,
        now: 0,
        config: resolveConfig({ ...opts.configB }),
        hooks: mk('b'),
      });
    } else {
      this.b = null as unknown as TcpConnection;
      this.pendingB = { iss: opts.issB ?? 5000, config: opts.configB ?? {}, hooks: mk('b') };
    }
  }
  private pendingB: { iss: number; config: TcpConfigInput; hooks: TcpHooks } | null = null;

  private flushSide(side: 'a' | 'b'): void {
    const c = side === 'a' ? this.a : this.b;
    if (!c) return;
    c.poll(this.now, (s) => {
      const lost = this.drop(side, s, this.sent++);
      this.log.push({ t: this.now, from: side, seg: s, lost });
      if (!lost) this.wire.push({ t: this.now + this.latency, to: side === 'a' ? 'b' : 'a', seg: s });
    });
  }

  private deliver(to: 'a' | 'b', s: TcpRepr): void {
    if (to === 'b' && this.b === null) {
      if (!(s.flags & SYN) || s.flags & ACK || !this.pendingB) return;
      const p = this.pendingB;
      (this as { b: TcpConnection }).b = TcpConnection.accept(s, {
        localPort: 2000,
        remotePort: 1000,
        iss: p.iss,
        now: this.now,
        config: resolveConfig(p.config),
        hooks: p.hooks,
      });
      this.pendingB = null;
      return;
    }
    const c = to === 'a' ? this.a : this.b;
    c.handleSegment(s, this.now);
  }

  /** Run until nothing is pending or `until` (virtual ms) is reached. */
  run(until = Infinity): void {
    for (let guard = 0; guard < 5_000_000; guard++) {
      this.flushSide('a');
      this.flushSide('b');
      const nextWire = this.wire.length > 0 ? Math.min(...this.wire.map((w) => w.t)) : Infinity;
      const nextTimer = Math.min(this.a.pollAt(), this.b ? this.b.pollAt() : Infinity);
      const next = Math.min(nextWire, nextTimer);
      if (next === Infinity || next > until) {
        if (until !== Infinity) this.now = Math.max(this.now, until);
        return;
      }
      this.now = Math.max(this.now, next);
      if (nextWire <= this.now) {
        const ready = this.wire.filter((w) => w.t <= this.now);
        this.wire = this.wire.filter((w) => w.t > this.now);
        for (const w of ready) {
          this.deliver(w.to, w.seg);
          this.flushSide(w.to); // like a stack: poll after each arriving segment
        }
      }
    }
    throw new Error('Pair.run did not settle');
  }

  concat(side: 'a' | 'b'): Uint8Array {
    const parts = this.received[side];
    const n = parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

// --- per-state fixtures (passive open: our ISS LOCAL_ISS, theirs REMOTE_ISS) ------------------
// Each takes config overrides and the options the peer's SYN carried; `h.rseq` is the peer's next
// sequence number and every fixture ends with `out` empty.

/** ESTABLISHED with the peer's SYN carrying `synOptions` (the third segment of the handshake carries none). */
export function establishedWith(over: TcpConfigInput = {}, synOptions: TcpOptions = {}, ackOptions: TcpOptions = {}): Harness {
  const h = synReceived(over, synOptions);
  h.send({ seq: h.rseq, ack: LOCAL_ISS + 1, flags: ACK, options: ackOptions });
  h.flush();
  assert.equal(h.state, 'ESTABLISHED');
  return h;
}

/** ESTABLISHED after an active open: we sent SYN, the peer answered SYN,ACK, we ACKed. */
export function activeEstablished(over: TcpConfigInput = {}, synAckOptions: TcpOptions = {}): Harness {
  const h = synSent(over);
  h.send({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: SYN | ACK, options: synAckOptions });
  h.flush();
  assert.equal(h.state, 'ESTABLISHED');
  return h;
}

/** FIN-WAIT-1: we called CLOSE and our FIN <SEQ=LOCAL_ISS+1> left, not yet acknowledged. */
export function finWait1(over: TcpConfigInput = {}, synOptions: TcpOptions = {}): Harness {
  const h = establishedWith(over, synOptions);
  h.conn.close();
  const out = h.poll();
  expectSeg(out, { flags: FIN | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 }, 'fixture finWait1');
  h.flush();
  assert.equal(h.state, 'FIN-WAIT-1');
  return h;
}

/** FIN-WAIT-2: our FIN is acknowledged; the peer has not closed. */
export function finWait2(over: TcpConfigInput = {}, synOptions: TcpOptions = {}): Harness {
  const h = finWait1(over, synOptions);
  expectNothing(h.send({ seq: h.rseq, ack: LOCAL_ISS + 2, flags: ACK }), 'fixture finWait2');
  assert.equal(h.state, 'FIN-WAIT-2');
  return h;
}

/** The peer's FIN <SEQ=REMOTE_ISS+1> (acknowledging `ack`) arrives: we ACK it from `seq` and reach `state`. */
function peerFin(h: Harness, ack: number, seq: number, state: TcpStateName, fixture: string): Harness {
  expectSeg(h.send({ seq: h.rseq, ack, flags: FIN | ACK }), { flags: ACK, seq, ack: REMOTE_ISS + 2 }, `fixture ${fixture}`);
  h.rseq = add(h.rseq, 1);
  h.flush();
  assert.equal(h.state, state);
  return h;
}

/** CLOSE-WAIT: the peer's FIN <SEQ=REMOTE_ISS+1> arrived and was ACKed; we have not closed. */
export function closeWait(over: TcpConfigInput = {}, synOptions: TcpOptions = {}): Harness {
  return peerFin(establishedWith(over, synOptions), LOCAL_ISS + 1, LOCAL_ISS + 1, 'CLOSE-WAIT', 'closeWait');
}

/** CLOSING: both FINs crossed; ours is not yet acknowledged. */
export function closing(over: TcpConfigInput = {}, synOptions: TcpOptions = {}): Harness {
  return peerFin(finWait1(over, synOptions), LOCAL_ISS + 1, LOCAL_ISS + 2, 'CLOSING', 'closing');
}

/** LAST-ACK: the peer closed first, then we did; our FIN <SEQ=LOCAL_ISS+1> is unacknowledged. */
export function lastAck(over: TcpConfigInput = {}, synOptions: TcpOptions = {}): Harness {
  const h = closeWait(over, synOptions);
  h.conn.close();
  expectSeg(h.poll(), { flags: FIN | ACK, seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 2 }, 'fixture lastAck');
  h.flush();
  assert.equal(h.state, 'LAST-ACK');
  return h;
}

/** TIME-WAIT via FIN-WAIT-2 (we closed first); entered at h.now, so it ends at h.now + 2*MSL. */
export function timeWait(over: TcpConfigInput = {}, synOptions: TcpOptions = {}): Harness {
  return peerFin(finWait2(over, synOptions), LOCAL_ISS + 2, LOCAL_ISS + 2, 'TIME-WAIT', 'timeWait');
}

/** Collect the state changes a harness saw as "FROM->TO" strings (for edge coverage). */
export const observedEdges = new Set<string>();

/** Record every state change of `h` so far into observedEdges. */
export function noteEdges(h: Harness | Pair): void {
  const list = h instanceof Pair ? [...h.statesA, ...h.statesB] : h.states;
  for (const s of list) observedEdges.add(s);
}
