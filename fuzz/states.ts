// State-machine fuzzer for the sans-IO TCP core: random and mutated segments (any flag mix, seq/ack
// near and far from the window edges, random options and payloads) injected into connections in
// each of the eleven RFC 9293 section 3.3.2 states, checking after every segment that nothing
// throws and the TCB invariants hold. Run standalone for long runs:
//   node --import tsx fuzz/states.ts --cases 200000 --seed 1        (or FUZZ_CASES=200000)
//   node --import tsx fuzz/states.ts --seed 1 --replay 1234         (one case, verbose)

import { TcpConnection } from '../src/tcp/connection.js';
import type { TcbInfo } from '../src/tcp/info.js';
import { ALL_STATES, type TcpStateName } from '../src/tcp/state.js';
import { TcpFlag, type TcpOptions, type TcpRepr } from '../src/wire/tcp.js';
import { add, lt, le, ge } from '../src/wire/seq.js';
import { seededRandom, type RandomSource } from '../src/util/random.js';
import type { TcpConfigInput } from '../src/tcp/config.js';
import {
  Harness, synSent, synReceived, establishedWith, finWait1, finWait2, closeWait, closing, lastAck, timeWait,
  testConfig, seg, describe, LOCAL_PORT, REMOTE_PORT, LOCAL_ISS,
} from '../test/helpers/tcp.js';

export const FUZZ_STATES: readonly TcpStateName[] = ALL_STATES;
const VALID = new Set<string>(ALL_STATES);

export interface FuzzFailure {
  seed: number;
  caseIndex: number;
  state: TcpStateName;
  step: number;
  segment: string;
  message: string;
  replay: string;
}

export interface FuzzResult {
  cases: number;
  segments: number;
  perState: Record<string, number>;
  /** States the connections passed through after injection (coverage of where fuzzing led). */
  reached: Set<string>;
  failures: FuzzFailure[];
  ms: number;
}

/** Derive the seed of case `i` of a run seeded with `seed` (so one case replays alone). */
export function caseSeed(seed: number, i: number): number {
  let h = (Math.imul(seed ^ 0x85ebca6b, 0x9e3779b1) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  return h >>> 0;
}

/** Build a connection in `state`. LISTEN uses the core's passive OPEN; CLOSED is an aborted connection. */
function fixture(state: TcpStateName, over: TcpConfigInput, synOptions: TcpOptions): Harness {
  switch (state) {
    case 'CLOSED': {
      const h = establishedWith(over, synOptions);
      h.conn.abort();
      h.poll();
      h.flush();
      return h;
    }
    case 'LISTEN': {
      const h = new Harness();
      h.conn = TcpConnection.listen({ localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss: LOCAL_ISS, now: 0, config: testConfig(over), hooks: h.hooks() });
      return h;
    }
    case 'SYN-SENT': return synSent(over);
    case 'SYN-RECEIVED': return synReceived(over, synOptions);
    case 'ESTABLISHED': return establishedWith(over, synOptions);
    case 'FIN-WAIT-1': return finWait1(over, synOptions);
    case 'FIN-WAIT-2': return finWait2(over, synOptions);
    case 'CLOSE-WAIT': return closeWait(over, synOptions);
    case 'CLOSING': return closing(over, synOptions);
    case 'LAST-ACK': return lastAck(over, synOptions);
    case 'TIME-WAIT': return timeWait(over, synOptions);
  }
}

const PAYLOAD = new Uint8Array(4096).map((_, i) => (i * 31 + 7) & 0xff);
const EMPTY = new Uint8Array(0);
const SPECIAL_FLAGS = [
  TcpFlag.SYN | TcpFlag.FIN, TcpFlag.SYN | TcpFlag.RST, 0xff, 0x3f, 0, TcpFlag.SYN, TcpFlag.RST,
  TcpFlag.RST | TcpFlag.ACK, TcpFlag.SYN | TcpFlag.ACK, TcpFlag.FIN | TcpFlag.ACK, TcpFlag.ACK,
  TcpFlag.ACK | TcpFlag.PSH, TcpFlag.FIN, TcpFlag.URG | TcpFlag.ACK, TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST | TcpFlag.ACK,
];

/** Small uniform integer in [0, n). */
const pick = (r: RandomSource, n: number): number => r.u32() % n;

/** A sequence number near one of the interesting edges, or anywhere. */
function nearEdge(r: RandomSource, edges: readonly number[]): number {
  const k = pick(r, 10);
  if (k === 0) return r.u32();
  const e = edges[pick(r, edges.length)]!;
  const d = k < 5 ? pick(r, 5) - 2 : k < 8 ? pick(r, 4001) - 2000 : (r.u32() % 0x40000) - 0x20000;
  return add(e, d);
}

function randomOptions(r: RandomSource, edges: readonly number[]): TcpOptions {
  const o: TcpOptions = {};
  const m = r.u32();
  if (m & 1) o.mss = m & 2 ? pick(r, 65536) : 536 + pick(r, 1000);
  if (m & 4) o.wscale = m & 8 ? pick(r, 256) : pick(r, 15);
  if (m & 16) o.sackPermitted = true;
  if (m & 32) {
    const n = 1 + pick(r, 4);
    const blocks = [];
    for (let i = 0; i < n; i++) {
      const s = nearEdge(r, edges);
      blocks.push({ left: s, right: m & 64 ? r.u32() : add(s, pick(r, 3000)) });
    }
    o.sack = blocks;
  }
  if (m & 128) o.timestamp = { val: m & 256 ? r.u32() : pick(r, 100000), ecr: m & 512 ? r.u32() : pick(r, 100000) };
  return o;
}

/** The sequence edges of a connection that makeSegment aims at (a TcpConnection's info() has them). */
export type SegmentEdges = Pick<TcbInfo, 'rcvNxt' | 'rcvAdv' | 'irs' | 'recvCapacity' | 'sndUna' | 'sndNxt' | 'iss'>;

/** A segment built from scratch or by mutating a plausible one (seq = RCV.NXT, ack = SND.NXT). */
export function makeSegment(r: RandomSource, c: SegmentEdges): TcpRepr {
  const seqEdges = [c.rcvNxt, c.rcvAdv, c.irs, add(c.rcvNxt, c.recvCapacity)];
  // SND.NXT twice: the draw keeps its old odds (this list once named SND.MAX beside it).
  const ackEdges = [c.sndUna, c.sndNxt, c.sndNxt, c.iss];
  const plausible = pick(r, 3) !== 0;
  let flags = plausible ? TcpFlag.ACK : pick(r, 2) ? SPECIAL_FLAGS[pick(r, SPECIAL_FLAGS.length)]! : pick(r, 256);
  let seq = plausible ? c.rcvNxt : nearEdge(r, seqEdges);
  let ack = plausible ? c.sndNxt : nearEdge(r, ackEdges);
  let window = plausible ? 65535 : pick(r, 4) === 0 ? 0 : pick(r, 65536);
  let urgent = 0;
  let options: TcpOptions = {};
  const pl = pick(r, 4);
  let payload = pl === 0 ? EMPTY : pl === 1 ? PAYLOAD.subarray(0, 1 + pick(r, 64)) : pl === 2 ? PAYLOAD.subarray(0, 1 + pick(r, 1500)) : EMPTY;
  if (plausible) {
    // Mutate one to three fields of the plausible segment.
    const n = 1 + pick(r, 3);
    for (let i = 0; i < n; i++) {
      switch (pick(r, 8)) {
        case 0: flags ^= 1 << pick(r, 8); break;
        case 1: seq = nearEdge(r, seqEdges); break;
        case 2: ack = nearEdge(r, ackEdges); break;
        case 3: window = pick(r, 65536); break;
        case 4: options = randomOptions(r, seqEdges); break;
        case 5: payload = PAYLOAD.subarray(0, pick(r, 4096)); break;
        case 6: urgent = pick(r, 65536); flags |= TcpFlag.URG; break;
        case 7: flags = SPECIAL_FLAGS[pick(r, SPECIAL_FLAGS.length)]!; break;
      }
    }
  } else if (pick(r, 2)) {
    options = randomOptions(r, seqEdges);
  }
  const s = seg({ seq, ack, flags, window, urgent, options });
  s.payload = payload;
  return s;
}

/** User calls may refuse with a coded error (ENOTCONN, EPIPE) in some states; anything else is a bug. */
function userCall(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Error && typeof (e as { code?: unknown }).code === 'string')) throw e;
  }
}

/** TCB invariants after every event; returns a message when one is broken. */
export function checkInvariants(c: TcpConnection): string | null {
  if (!VALID.has(c.state)) return `invalid state ${String(c.state)}`;
  if (!le(c.info().sndUna, c.info().sndNxt)) return `SND.UNA ${c.info().sndUna} > SND.NXT ${c.info().sndNxt}`;
  if (c.info().rtxNxt !== -1 && !(le(c.info().sndUna, c.info().rtxNxt) && lt(c.info().rtxNxt, c.info().sndNxt))) return `go-back pointer ${c.info().rtxNxt} outside [SND.UNA ${c.info().sndUna}, SND.NXT ${c.info().sndNxt})`;
  if (!ge(c.info().rcvAdv, c.info().rcvNxt)) return `RCV.ADV ${c.info().rcvAdv} < RCV.NXT ${c.info().rcvNxt}`;
  const q = c.info();
  if (q.sendQueued > q.sendCapacity) return `sendBuf ${q.sendQueued} > capacity ${q.sendCapacity}`;
  if (q.recvQueued > q.recvCapacity) return `recvBuf ${q.recvQueued} > capacity ${q.recvCapacity}`;
  const at = c.pollAt();
  if (typeof at !== 'number' || Number.isNaN(at)) return `pollAt() returned ${String(at)}`;
  return null;
}

function checkEmitted(s: TcpRepr): string | null {
  if (s.seq !== s.seq >>> 0 || s.ack !== s.ack >>> 0) return `emitted non-u32 seq/ack: ${describe(s)}`;
  if (s.window < 0 || s.window > 0xffff || !Number.isInteger(s.window)) return `emitted bad window: ${describe(s)}`;
  if (s.srcPort !== LOCAL_PORT || s.dstPort !== REMOTE_PORT) return `emitted wrong ports: ${s.srcPort}->${s.dstPort}`;
  return null;
}

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** Segments injected per case (default 64). */
  steps?: number;
  /** Known failures to tolerate, by message prefix (reported, not counted as failures). */
  onlyCase?: number;
  verbose?: boolean;
}

/** Run `cases` cases round-robin over the eleven states. */
export function runStateFuzz(opts: FuzzOptions): FuzzResult {
  const t0 = performance.now();
  const steps = opts.steps ?? 64;
  const res: FuzzResult = { cases: 0, segments: 0, perState: {}, reached: new Set(), failures: [], ms: 0 };
  const first = opts.onlyCase ?? 0;
  const last = opts.onlyCase !== undefined ? opts.onlyCase + 1 : opts.cases;
  for (let i = first; i < last; i++) {
    const state = FUZZ_STATES[i % FUZZ_STATES.length]!;
    const r = seededRandom(caseSeed(opts.seed, i));
    const rich = pick(r, 2) === 1;
    const over: TcpConfigInput = rich ? { sack: true, timestamps: true, windowScale: true, recvBufferSize: 1 << 18, delayedAck: 40 } : {};
    const synOptions: TcpOptions = rich ? { mss: 1000, sackPermitted: true, wscale: 2, timestamp: { val: 1, ecr: 0 } } : {};
    let h: Harness;
    try {
      h = fixture(state, over, synOptions);
    } catch (e) {
      res.failures.push(fail(opts.seed, i, state, -1, 'fixture', e));
      continue;
    }
    res.cases++;
    res.perState[state] = (res.perState[state] ?? 0) + 1;
    const c = h.conn;
    let step = 0;
    let last = '';
    try {
      for (; step < steps; step++) {
        const k = pick(r, 32);
        if (k === 0) h.advance(pick(r, 2) ? pick(r, 300) : pick(r, 130000)); // timers, incl. TIME-WAIT / FIN-WAIT-2 ends
        else if (k <= 3) userCall(() => (k === 1 ? c.send(PAYLOAD.subarray(0, pick(r, 3000))) : k === 2 ? c.recv() : pick(r, 4) === 0 && c.close(h.now)));
        const s = makeSegment(r, c.info());
        last = describe(s) + (s.options && Object.keys(s.options).length ? ` opts=${JSON.stringify(s.options)}` : '');
        if (opts.verbose) console.log(`${h.state} <- ${last}`);
        h.now += pick(r, 3);
        c.handleSegment(s, h.now);
        res.segments++;
        const out = h.poll();
        for (const o of out) {
          const bad = checkEmitted(o);
          if (bad) throw new Error(bad);
          if (opts.verbose) console.log(`${h.state} -> ${describe(o)}`);
        }
        h.flush();
        const bad = checkInvariants(c);
        if (bad) throw new Error(`invariant: ${bad}`);
      }
      for (const s of h.states) res.reached.add(s.slice(s.indexOf('->') + 2));
    } catch (e) {
      res.failures.push(fail(opts.seed, i, state, step, last, e));
    }
  }
  res.ms = performance.now() - t0;
  return res;
}

function fail(seed: number, caseIndex: number, state: TcpStateName, step: number, segment: string, e: unknown): FuzzFailure {
  const message = e instanceof Error ? `${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n')}` : String(e);
  return { seed, caseIndex, state, step, segment, message, replay: `node --import tsx fuzz/states.ts --seed ${seed} --replay ${caseIndex}` };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seed = Number(arg('--seed') ?? process.env['FUZZ_SEED'] ?? 1);
  const replay = arg('--replay');
  const cases = Number(arg('--cases') ?? process.env['FUZZ_CASES'] ?? 20000);
  const res = runStateFuzz({ seed, cases, ...(replay !== undefined ? { onlyCase: Number(replay), verbose: true } : {}) });
  console.log(`fuzz/states: seed ${seed}: ${res.cases} cases, ${res.segments} segments in ${res.ms.toFixed(0)} ms (${Math.round(res.segments / (res.ms / 1000))} segments/s); reached ${[...res.reached].sort().join(' ')}`);
  for (const f of res.failures.slice(0, 20)) console.log(`FAIL case ${f.caseIndex} (${f.state}) step ${f.step} seg ${f.segment}: ${f.message}\n  replay: ${f.replay}`);
  if (res.failures.length > 0) {
    console.log(`${res.failures.length} failing cases`);
    process.exitCode = 1;
  }
}
