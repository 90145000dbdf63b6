// Runs a packetdrill script against a fresh synack Stack on a virtual clock: `<` packets are built
// and injected at the IP layer from the remote address, `>` packets are taken from what the stack
// sends on its one link and matched (match.ts) within packetdrill's timing rules (timing.ts), and
// system calls go through an fd table onto the stack's socket API (syscalls.ts). Stops at the first
// failure and reports it the way packetdrill does: path:line, the expectation, what happened.

import type { Expr, PacketEvent, ScriptEvent, ScriptOption, SyscallEvent, TcpPacketSpec } from './ast.js';
import { parseScript } from './parse.js';
import { resolveConfig, type PdrillConfig } from './config.js';
import {
  SeqSpace, SegmentAggregator, matchOutbound, buildInbound, decodeOptionList, formatPacketLine,
  type MatchConfig, type WireOption,
} from './match.js';
import { ScriptTimeline, formatSecs, type ScheduledTime } from './timing.js';
import { SocketTable, SyscallError, UnsupportedError, evalInt, type Call, type Outcome } from './syscalls.js';
import { LinuxSysctls } from './sysctl.js';
import { runShell } from './shell.js';
import { describeErrno, ERRNO } from './linux.js';
import { Stack } from '../stack/stack.js';
import { VirtualClock } from '../util/virtual-clock.js';
import { seededRandom } from '../util/random.js';
import type { Link } from '../link/link.js';
import { LINUX_PROFILE, type TcpConfigInput } from '../tcp/config.js';
import { parseIpPacket, buildTcpPacket } from '../wire/packet.js';
import { parseTcp, TcpFlag, TCP_PROTOCOL, type TcpRepr } from '../wire/tcp.js';
import { parseIp } from '../wire/address.js';
import { onesSum, foldChecksum, pseudoHeaderSum, write16 } from '../wire/bytes.js';
import { add, gt, lt, sub } from '../wire/seq.js';
import { LinuxTsoModel } from './tso.js';
import { linuxPushedAt } from './sndbuf.js';
import { runPythonBlock, tcpInfoLookup, PythonUnsupported } from './python.js';

/**
 * What `--linux` sets: LINUX_PROFILE (RTO 1 s initial / 200 ms minimum, wscale 7, CUBIC, SACK,
 * timestamps) plus Linux defaults the scripts see: a 64 KiB-window receive buffer of tcp_rmem's
 * 131072 bytes that autotuning may grow to tcp_rmem[2]'s 6 MiB, 2*MSL = 60 s TIME-WAIT, tcp_syn_retries 6, tcp_retries2 15, tcp_fin_timeout 60 s.
 * Linux's delayed-ACK rules come with the profile (ackRule 'linux', ATO minimum 40 ms).
 */
export const PDRILL_LINUX_TCP: TcpConfigInput = {
  ...LINUX_PROFILE,
  recvBufferSize: 131072,
  recvBufferMax: 6291456,
  sendBufferSize: 131072,
  msl: 30_000,
  synRetries: 6,
  retries: 15,
  finWait2Timeout: 60_000,
};

export interface RunScriptOptions {
  /** Path shown in messages (default "script"). */
  path?: string;
  /** Apply PDRILL_LINUX_TCP. */
  linux?: boolean;
  /** `--name=value` options from the command line (they override the script's). */
  cliOptions?: readonly ScriptOption[];
  /** TCP settings on top of the profile. */
  tcp?: TcpConfigInput;
  /** Log every packet and call (through `log`). */
  verbose?: boolean;
  log?: (line: string) => void;
  /** Seed for the stack's randomness (ISNs, ports); default 1. */
  seed?: number;
  /**
   * Read a file a shell line names (`../common/defaults.sh`), relative to the script's directory;
   * null when it cannot be read. Without it such lines make the script unsupported.
   */
  readFile?: (path: string) => string | null;
  /**
   * Fail on an outbound packet no `>` line asked for, at the next other event and at the end
   * (default true: synack's own suite relies on it). False checks outbound packets only at `>`
   * lines, as packetdrill does: a packet queued before one is compared with it, and packets sent
   * after the script's last `>` line are never looked at.
   */
  strict?: boolean;
}

export interface ScriptFailure {
  readonly line: number;
  readonly message: string;
  /** `script packet:` / `script call:` line. */
  readonly expected?: string;
  /** `actual packet:` line. */
  readonly actual?: string;
}

export interface SkippedEvent {
  readonly line: number;
  readonly what: 'shell' | 'python';
  readonly text: string;
}

export interface RunScriptResult {
  readonly path: string;
  readonly ok: boolean;
  readonly failure: ScriptFailure | null;
  /**
   * Why the script cannot run on synack (a sysctl, shell command, system call or option it does
   * not model), or null. An unsupported script is neither passed nor failed; `ok` is false.
   */
  readonly unsupported: string | null;
  /** Settings and commands interpreted as no-ops, one line each (for a report once per run). */
  readonly notes: readonly string[];
  readonly skipped: readonly SkippedEvent[];
  /** Events run (including the failing one). */
  readonly events: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  /** Virtual time at the end, microseconds. */
  readonly endUsecs: number;
  readonly ignoredOptions: readonly string[];
}

/** `path:line: message` plus the script and actual lines, as packetdrill prints a failure. */
export function formatFailure(r: RunScriptResult): string {
  const f = r.failure;
  if (f === null) return '';
  let s = `${r.path}:${f.line}: ${f.message}\n`;
  if (f.expected !== undefined) s += `${f.expected}\n`;
  if (f.actual !== undefined) s += `${f.actual}\n`;
  return s;
}

class Fail extends Error {
  constructor(readonly failure: ScriptFailure) {
    super(failure.message);
  }
}

class Unsupported extends Error {}

interface Captured {
  readonly at: number; // usecs
  readonly seg: TcpRepr | null;
  /** The segment repeats sequence space sent before (a retransmission). */
  readonly retransmit?: boolean;
  /** New data that starts a packet of its own in Linux's TSO packetization (tso.ts). */
  readonly tsoStart?: boolean;
  readonly options: readonly WireOption[] | null;
  readonly note: string;
}

interface Pending {
  readonly ev: SyscallEvent;
  readonly sched: ScheduledTime;
  readonly call: Call;
  /** Latest acceptable return time, usecs. */
  readonly deadline: number;
}

/** Clock callbacks one script may run (a guard against timer loops in the stack). */
const MAX_TICKS = 1_000_000;

const usecs = (ms: number): number => Math.round(ms * 1000);
const ms = (us: number): number => us / 1000;

/** Parse and run one script; never throws for anything a script can contain. */
export function runScript(text: string, opts: RunScriptOptions = {}): RunScriptResult {
  const path = opts.path ?? 'script';
  const parsed = parseScript(text);
  const bad = (line: number, message: string): RunScriptResult => ({
    path, ok: false, failure: { line, message }, unsupported: null, notes: [], skipped: [], events: 0, packetsIn: 0, packetsOut: 0, endUsecs: 0, ignoredOptions: [],
  });
  if (!parsed.ok) {
    const e = parsed.errors[0]!;
    // A packet feature the parser knows synack lacks (TCP-MD5, Fast Open options, non-TCP packets).
    if (/ (are|is) not supported/.test(e.message)) return { ...bad(e.line, ''), failure: null, unsupported: `line ${e.line}: ${e.message}` };
    return bad(e.line, `syntax error: ${e.message} (column ${e.col})`);
  }
  const { config, errors } = resolveConfig(parsed.script.options, opts.cliOptions ?? []);
  if (errors.length > 0) return bad(errors[0]!.line, errors[0]!.message);
  const runner = new Runner(path, config, opts);
  return runner.run(parsed.script.events);
}

class Runner {
  private readonly clock = new VirtualClock();
  private readonly stack: Stack;
  private readonly table: SocketTable;
  private readonly timeline: ScriptTimeline;
  private readonly matchCfg: MatchConfig;
  private readonly outQ: Captured[] = [];
  private readonly link: Link;
  private space = new SeqSpace();
  private readonly skipped: SkippedEvent[] = [];
  private pending: Pending | null = null;
  /** When the previous event completed (usecs): the base of relative times. */
  private base = 0;
  private packetsIn = 0;
  private packetsOut = 0;
  private events = 0;
  private readonly local: Uint8Array;
  private readonly remote: Uint8Array;
  private localPort: number | null = null;
  private remotePort: number | null = null;
  private activeOpen = false;
  private readonly random;
  private currentLine = 0;
  private ticks = 0;
  /** The host's sysctls as the script's shell lines set them. */
  private readonly sysctls = new LinuxSysctls();
  private readonly notes = new Set<string>();
  /** End of the highest sequence space the stack has sent (live numbers), to tell retransmissions. */
  private sentEnd: number | null = null;
  /**
   * Per new-data segment (live seq), whether it began a Linux packet (tso.ts), for the
   * retransmissions of it (rtxStart); bounded, oldest dropped first.
   */
  private readonly packetStarts = new Map<number, boolean>();
  private lastRtx: { at: number; end: number } | null = null;
  /** Linux's TSO packet boundaries over the captured segments (tso.ts). */
  private readonly tso = new LinuxTsoModel(() => ({
    minTsoSegs: this.sysctls.int('net.ipv4.tcp_min_tso_segs'),
    ssRatio: this.sysctls.int('net.ipv4.tcp_pacing_ss_ratio'),
    caRatio: this.sysctls.int('net.ipv4.tcp_pacing_ca_ratio'),
  }));

  constructor(
    private readonly path: string,
    private readonly cfg: PdrillConfig,
    private readonly opts: RunScriptOptions,
  ) {
    const v6 = cfg.ipVersion === 'ipv6';
    this.local = parseIp(cfg.localIp) ?? new Uint8Array(4);
    this.remote = parseIp(cfg.remoteIp) ?? new Uint8Array(4);
    this.random = seededRandom(opts.seed ?? 1);
    const tcp: TcpConfigInput = { ...(opts.linux ? PDRILL_LINUX_TCP : {}), ...(opts.tcp ?? {}) };
    this.stack = new Stack({ name: 'synack', clock: this.clock, random: seededRandom((opts.seed ?? 1) + 7), tcp });
    this.link = {
      mtu: cfg.mtu,
      send: (p) => this.capture(p),
      onReceive: null,
      close: () => {},
    };
    this.stack.addInterface(this.link, { addresses: [`${cfg.localIp}/${v6 ? 128 : 32}`], name: 'pd0' });
    this.stack.addRoute(v6 ? '::/0' : '0.0.0.0/0', { iface: 'pd0' });
    this.timeline = new ScriptTimeline({ toleranceUsecs: cfg.toleranceUsecs, tolerancePercent: cfg.tolerancePercent });
    this.matchCfg = {
      toleranceUsecs: cfg.toleranceUsecs,
      tcpTsTickUsecs: cfg.tcpTsTickUsecs,
      tsEcrScaled: cfg.tcpTsEcrScaled,
      checkTsEcr: true,
      zeroPayload: true,
      remoteIsnOffset: 0,
    };
    this.table = new SocketTable({
      stack: this.stack,
      remoteIp: cfg.remoteIp,
      connectPort: cfg.connectPort,
      bindPort: cfg.bindPort,
      now: () => this.clock.now(),
      wakeAt: (t) => void this.clock.schedule(t, () => {}),
      flush: () => void this.clock.runUntil(this.clock.now()),
      hostTcp: () => ({ tcp: this.sysctls.tcp, synCookies: this.sysctls.synCookies }),
      onConnect: () => {
        // A new active open: a fresh sequence space, and the peer answers from connect_port.
        this.activeOpen = true;
        this.space = new SeqSpace();
        this.localPort = null;
        this.remotePort = cfg.connectPort;
      },
    });
  }

  private now(): number {
    return usecs(this.clock.now());
  }

  /** Run the next clock callback; a stack that never stops scheduling work fails the script. */
  private tick(): void {
    if (++this.ticks > MAX_TICKS) this.fail(this.currentLine, `the stack ran ${MAX_TICKS} timer callbacks without the script moving on (a timer loop?)`);
    this.clock.runNext();
  }

  private log(line: string): void {
    if (this.opts.verbose) this.opts.log?.(line);
  }

  run(events: readonly ScriptEvent[]): RunScriptResult {
    let failure: ScriptFailure | null = null;
    let unsupported: string | null = null;
    try {
      for (const ev of events) {
        this.events++;
        this.currentLine = ev.line;
        this.step(ev);
      }
      this.finish(events.length > 0 ? events[events.length - 1]!.line : 0);
    } catch (e) {
      if (e instanceof Fail) failure = e.failure;
      else if (e instanceof Unsupported || e instanceof UnsupportedError) unsupported = `line ${this.currentLine}: ${e.message}`;
      else if (e instanceof SyscallError) failure = { line: this.currentLine, message: e.message };
      else failure = { line: this.currentLine, message: `internal error: ${(e as Error)?.message ?? String(e)}` };
    }
    const endUsecs = this.now();
    this.link.onReceive = null;
    return {
      path: this.path,
      ok: failure === null && unsupported === null,
      failure,
      unsupported,
      notes: [...this.notes],
      skipped: this.skipped,
      events: this.events,
      packetsIn: this.packetsIn,
      packetsOut: this.packetsOut,
      endUsecs,
      ignoredOptions: this.cfg.ignored,
    };
  }

  /** A timed `%{ }%` block: its assertions over the current connection's tcp_info (python.ts). */
  private python(line: number, code: string): void {
    const conn = this.table.connectionOn(this.localPort ?? this.cfg.bindPort);
    if (conn === null) throw new Unsupported(`python block with no connection to read tcp_info from`);
    let f;
    try {
      f = runPythonBlock(code, tcpInfoLookup(conn.stats()));
    } catch (e) {
      if (e instanceof PythonUnsupported) throw new Unsupported(`python block: ${e.message}`);
      throw e;
    }
    this.log(`${formatSecs(this.now())} python block line ${line} ${f === null ? 'holds' : 'fails'}`);
    if (f !== null) this.fail(line, `assertion failed: ${f.text}${f.message !== '' ? ` (value ${f.message})` : ''}`);
  }

  private fail(line: number, message: string, expected?: string, actual?: string): never {
    const f: { line: number; message: string; expected?: string; actual?: string } = { line, message };
    if (expected !== undefined) f.expected = expected;
    if (actual !== undefined) f.actual = actual;
    throw new Fail(f);
  }

  // --- the event loop ---------------------------------------------------------------------------

  private step(ev: ScriptEvent): void {
    if (ev.kind === 'skip') {
      if (ev.what === 'shell') {
        const r = runShell(ev.text, { sysctls: this.sysctls, readFile: this.opts.readFile, note: (n) => void this.notes.add(n) });
        if (!r.ok) throw new Unsupported(r.reason);
        this.log(`shell line ${ev.line} interpreted`);
      } else if (ev.time === null) {
        this.skipped.push({ line: ev.line, what: ev.what, text: ev.text });
        this.log(`skipped ${ev.what} line ${ev.line}`);
      }
      if (ev.time === null) return;
      const r = this.timeline.schedule(ev.time, { nowUsecs: this.base, inboundPacket: false });
      if (!r.ok) this.fail(ev.line, r.message);
      this.advanceTo(Math.max(r.time.start, this.now()), ev.line);
      if (ev.what === 'python') this.python(ev.line, ev.text);
      this.timeline.complete(r.time, false, this.now());
      this.base = this.now();
      return;
    }
    if (ev.kind === 'packet') {
      if (ev.packet.direction === 'inbound') this.inbound(ev);
      else this.outbound(ev);
      return;
    }
    this.syscall(ev);
  }

  /** Run the clock up to `t` (usecs); output on the way is unexpected (nothing in the script asks for it yet). */
  private advanceTo(t: number, line: number): void {
    const tMs = ms(t);
    for (;;) {
      this.checkQueue(line);
      const next = this.clock.nextAt();
      if (next > tMs) break;
      this.checkPendingDeadline(usecs(next));
      this.tick();
      this.pollPending();
    }
    this.clock.runUntil(tMs);
    this.pollPending();
    this.checkQueue(line);
  }

  private checkQueue(line: number): void {
    if (this.opts.strict === false) return;
    const p = this.outQ[0];
    if (p === undefined) return;
    this.fail(line, `unexpected outbound packet before this event`, undefined, `actual packet: ${formatSecs(p.at)} ${p.note}`);
  }

  private finish(lastLine: number): void {
    if (this.pending !== null) this.waitPending(lastLine);
    // Output due at the final instant belongs to the script too.
    this.clock.runUntil(this.clock.now());
    this.pollPending();
    this.checkQueue(lastLine);
  }

  // --- inbound ----------------------------------------------------------------------------------

  private inbound(ev: PacketEvent): void {
    const spec = ev.packet;
    const r = this.timeline.schedule(ev.time, { nowUsecs: this.base, inboundPacket: true });
    if (!r.ok) this.fail(ev.line, r.message);
    this.advanceTo(Math.max(r.time.start, this.now()), ev.line);
    const syn = (spec.flagBits & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
    if (syn && this.space.remote !== null && this.space.local !== null && this.space.remote.script !== spec.seqStart && this.table.liveConnections() === 0) {
      // A SYN with a new ISN when no connection is open (or only TIME-WAIT): a new connection, a
      // new sequence space.
      this.space = new SeqSpace();
    }
    if (this.remotePort === null) this.remotePort = 40000 + (this.random.u32() % 20000);
    const ports = { src: this.remotePort, dst: this.localPort ?? this.cfg.bindPort };
    const b = buildInbound(spec, this.space, ports, this.matchCfg);
    if (!b.ok) this.fail(ev.line, b.message, `script packet: ${formatSecs(r.time.start)} ${spec.text}`);
    const pkt = inboundPacket(this.remote, this.local, b.repr, b.optionBytes);
    this.packetsIn++;
    this.log(`${formatSecs(this.now())} < ${spec.text.replace(/^<\s*/, '')}`);
    this.link.onReceive?.(pkt);
    this.pollPending();
    this.timeline.complete(r.time, true, this.now());
    this.base = this.now();
  }

  // --- outbound ---------------------------------------------------------------------------------

  private capture(p: Uint8Array): void {
    const at = this.now();
    this.packetsOut++;
    const ip = parseIpPacket(p);
    if (!ip.ok || ip.value.protocol !== TCP_PROTOCOL) {
      const note = ip.ok ? `non-TCP packet (IP protocol ${ip.value.protocol})` : `malformed packet (${ip.error.message})`;
      this.outQ.push({ at, seg: null, options: null, note });
      this.log(`${formatSecs(at)} > ${note}`);
      return;
    }
    const t = parseTcp(ip.value.payload, { src: ip.value.src, dst: ip.value.dst });
    if (!t.ok) {
      this.outQ.push({ at, seg: null, options: null, note: `malformed TCP segment (${t.error.message})` });
      return;
    }
    const bytes = ip.value.payload;
    const doff = (bytes[12]! >>> 4) * 4;
    const options = decodeOptionList(bytes.subarray(20, doff));
    let seg = t.value;
    const conn = seg.payload.length > 0 ? this.table.connectionOn(seg.srcPort) : null;
    const end0 = add(seg.seq, seg.payload.length);
    // With Linux's send-queue model in force (SO_SNDBUF), PSH is where Linux would mark it.
    const pushed = conn !== null && !(this.sentEnd !== null && lt(seg.seq, this.sentEnd)) ? linuxPushedAt(conn, end0) : null;
    if (pushed !== null) seg = { ...seg, flags: (seg.flags & ~TcpFlag.PSH) | (pushed ? TcpFlag.PSH : 0) };
    const note = this.describe(seg, options);
    const end = add(seg.seq, seg.payload.length);
    const retransmit = this.sentEnd !== null && seg.payload.length > 0 && lt(seg.seq, this.sentEnd);
    if (this.sentEnd === null || seg.flags & TcpFlag.SYN || gt(end, this.sentEnd)) this.sentEnd = end;
    let tsoStart: boolean | undefined;
    if (seg.payload.length > 0 && !retransmit) {
      tsoStart = this.tso.starts(seg, at, conn);
      this.packetStarts.set(seg.seq, tsoStart);
      if (this.packetStarts.size > 4096) this.packetStarts.delete(this.packetStarts.keys().next().value!);
    } else this.tso.other();
    if (retransmit) tsoStart = this.rtxStart(seg, at);
    this.outQ.push({ at, seg, options, note, retransmit, ...(tsoStart !== undefined ? { tsoStart } : {}) });
    this.log(`${formatSecs(at)} > ${note}`);
  }

  /**
   * Whether retransmitted segment `seg` begins a Linux packet. Linux resends pieces of the skbs
   * that first carried the data, split where ACKs and SACKs cut them (tcp_fragment), never joined
   * across them: a segment that began a packet when new begins one again, and so does one not
   * sent at the same instant right after the previous retransmission.
   */
  private rtxStart(seg: TcpRepr, at: number): boolean {
    const prev = this.lastRtx;
    this.lastRtx = { at, end: add(seg.seq, seg.payload.length) };
    return this.packetStarts.get(seg.seq) !== false || prev === null || prev.at !== at || prev.end !== seg.seq;
  }

  /** An outbound segment in script space, for messages and the verbose log. */
  private describe(seg: TcpRepr, options: readonly WireOption[] | null): string {
    const sp = this.space;
    const flags = seg.flags & 0xff;
    const seq = sp.local === null && flags & TcpFlag.SYN ? 0 : sub(seg.seq, sp.localOffset()) >>> 0;
    const ack = flags & TcpFlag.ACK ? sub(seg.ack, sp.remoteOffset()) >>> 0 : null;
    const opts = (options ?? []).map((o): WireOption => {
      if (o.kind === 'sack') return { kind: 'sack', blocks: o.blocks.map((b) => ({ left: sub(b.left, sp.remoteOffset()) >>> 0, right: sub(b.right, sp.remoteOffset()) >>> 0 })) };
      return o;
    });
    return formatPacketLine({ flagBits: flags, seq, len: seg.payload.length, ack, window: seg.window, urgent: flags & TcpFlag.URG ? seg.urgent : null, options: opts });
  }

  private outbound(ev: PacketEvent): void {
    const spec = ev.packet;
    const r = this.timeline.schedule(ev.time, { nowUsecs: this.base, inboundPacket: false });
    if (!r.ok) this.fail(ev.line, r.message);
    const sched = r.time;
    const deadline = this.timeline.deadline(sched);
    // Look past the deadline (up to two minutes) so a late packet is reported with its time.
    const horizon = deadline === Infinity ? this.now() + 600e6 : deadline + 120e6;
    const scriptLine = `script packet: ${formatSecs(sched.start)} ${spec.text.replace(/^>\s*/, '')}`;
    const agg = new SegmentAggregator(spec.payloadLen, true);
    let firstAt = -1;
    let gathered = 0;
    let gatheredEnd: number | null = null;
    for (;;) {
      const p = this.outQ.shift();
      if (p === undefined) {
        const next = this.clock.nextAt();
        if (next === Infinity || usecs(next) > horizon) {
          this.fail(ev.line, `expected outbound packet at ${formatSecs(sched.start)} sec but no packet was sent`, scriptLine);
        }
        this.checkPendingDeadline(usecs(next));
        this.tick();
        this.pollPending();
        continue;
      }
      const actualLine = `actual packet: ${formatSecs(p.at)} ${p.note}`;
      if (p.seg === null) this.fail(ev.line, `error handling packet: expected a TCP packet, got a ${p.note}`, scriptLine, actualLine);
      this.checkPorts(ev.line, spec, p.seg, scriptLine, actualLine);
      if (firstAt < 0) firstAt = p.at;
      const a = agg.offer(p.seg, p.retransmit === true, p.tsoStart);
      if (a.kind === 'mismatch') {
        // The aggregator speaks live numbers; say where the gathered data ends in script space.
        const off = this.space.localOffset();
        const seqMsg = gatheredEnd !== null && p.seg.seq !== gatheredEnd
          ? `bad outbound TCP seq: expected ${sub(gatheredEnd, off) >>> 0} (continuing ${gathered} of ${spec.payloadLen} bytes) actual ${sub(p.seg.seq, off) >>> 0}`
          : `outbound segments do not add up to ${spec.payloadLen} bytes: ${a.message}`;
        this.fail(ev.line, `error handling packet: ${seqMsg}`, scriptLine, actualLine);
      }
      gathered += p.seg.payload.length;
      gatheredEnd = (p.seg.seq + p.seg.payload.length) >>> 0;
      if (a.kind === 'partial') continue;
      if (a.kind !== 'complete') continue;
      const syn = spec.flagBits & TcpFlag.SYN && p.seg.flags & TcpFlag.SYN;
      if (syn && this.localPort === null) this.localPort = p.seg.srcPort;
      const m = matchOutbound(spec, a.segment, this.space, this.matchCfg, p.options);
      if (!m.ok) this.fail(ev.line, `error handling packet: ${m.message}`, scriptLine, `actual packet: ${formatSecs(firstAt)} ${m.actual}`);
      const t = this.timeline.check(sched, firstAt, 'outbound packet');
      if (t !== null) this.fail(ev.line, t, scriptLine, `actual packet: ${formatSecs(firstAt)} ${m.actual}`);
      this.timeline.complete(sched, false, firstAt);
      this.base = firstAt;
      return;
    }
  }

  private checkPorts(line: number, spec: TcpPacketSpec, seg: TcpRepr, scriptLine: string, actualLine: string): void {
    if (spec.ports !== null) {
      if (seg.srcPort !== spec.ports.src || seg.dstPort !== spec.ports.dst) {
        this.fail(line, `error handling packet: bad outbound TCP ports: expected ${spec.ports.src}>${spec.ports.dst} actual ${seg.srcPort}>${seg.dstPort}`, scriptLine, actualLine);
      }
      return;
    }
    if (this.remotePort !== null && seg.dstPort !== this.remotePort) {
      this.fail(line, `error handling packet: outbound packet to port ${seg.dstPort}, but the script's peer is port ${this.remotePort}`, scriptLine, actualLine);
    }
  }

  // --- system calls -------------------------------------------------------------------------------

  private syscall(ev: SyscallEvent): void {
    if (this.pending !== null) this.waitPending(ev.line);
    const r = this.timeline.schedule(ev.time, { nowUsecs: this.base, inboundPacket: false, syscallEndUsecs: ev.endUsecs });
    if (!r.ok) this.fail(ev.line, r.message);
    const sched = r.time;
    this.advanceTo(Math.max(sched.start, this.now()), ev.line);
    let call: Call;
    try {
      call = this.table.begin(ev.name, ev.args);
    } catch (e) {
      if (e instanceof UnsupportedError) throw e;
      if (e instanceof SyscallError) this.fail(ev.line, `${ev.name}: ${e.message}`, `script call: ${ev.text}`);
      throw e;
    }
    this.log(`${formatSecs(this.now())} ${ev.text.replace(/^[-+*0-9.~]+(\.\.\.[-+0-9.]+)?\s+/, '')}`);
    const startedAt = this.now();
    const o = call.step();
    this.timeline.complete(sched, false, startedAt);
    this.base = startedAt;
    if (o === null) {
      const tol = this.timeline.tolerance(sched);
      const deadline = (sched.syscallEnd ?? sched.start) + tol;
      this.pending = { ev, sched, call, deadline };
      return;
    }
    this.checkOutcome(ev, sched, o, startedAt);
  }

  private checkOutcome(ev: SyscallEvent, sched: ScheduledTime, o: Outcome, at: number): void {
    const t = this.timeline.checkSyscallReturn(sched, at);
    const scriptCall = `script call: ${ev.text}`;
    if (t !== null) this.fail(ev.line, t, scriptCall);
    const got = o.ret === -1 && o.errno !== null ? `-1 with errno ${describeErrno(o.errno)}` : String(o.ret);
    this.log(`${formatSecs(at)} ${ev.name} returned ${got}`);
    const want = evalResult(ev.result);
    // packetdrill's fd mapping: the descriptor a call returned takes the script's number.
    if (FD_CALLS.has(ev.name) && want !== null && want >= 0 && o.ret >= 0 && want !== o.ret && this.table.renumber(o.ret, want)) {
      o = { ...o, ret: want };
    }
    if (o.errno === 'ENOPROTOOPT' && want !== -1) throw new Unsupported(`${ev.name}: option not modelled by synack (ENOPROTOOPT)`);
    if (want !== null && want !== o.ret) {
      this.fail(ev.line, `runtime error in ${ev.name} call: expected result ${want} but got ${got}`, scriptCall);
    }
    if (ev.errno !== null) {
      if (o.errno === null) this.fail(ev.line, `runtime error in ${ev.name} call: expected errno ${describeErrno(ev.errno)} but got result ${o.ret} with no errno`, scriptCall);
      if (!sameErrno(ev.errno, o.errno)) {
        this.fail(ev.line, `runtime error in ${ev.name} call: expected errno ${describeErrno(ev.errno)} but got ${describeErrno(o.errno)}`, scriptCall);
      }
    } else if (want === -1 && o.errno !== null) {
      // `= -1` with no errno written: any errno is fine, as in packetdrill.
    }
    for (const c of o.checks) {
      let exp: number | null;
      try {
        exp = evalInt(c.expected);
      } catch (e) {
        this.fail(ev.line, `${ev.name}: ${(e as Error).message}`, scriptCall);
      }
      if (exp === null || exp === c.actual) continue;
      const fmt = c.format ?? ((v: number) => String(v));
      this.fail(ev.line, `runtime error in ${ev.name} call: bad ${c.what}: expected ${fmt(exp)} but got ${fmt(c.actual)}`, scriptCall);
    }
  }

  private pollPending(): void {
    const p = this.pending;
    if (p === null) return;
    const o = p.call.step();
    if (o === null) return;
    this.pending = null;
    this.checkOutcome(p.ev, p.sched, o, this.now());
  }

  /** Fail if the clock is about to pass the pending call's latest return time. */
  private checkPendingDeadline(nextUsecs: number): void {
    const p = this.pending;
    if (p === null || nextUsecs <= p.deadline) return;
    this.clock.runUntil(ms(p.deadline));
    this.pollPending();
    if (this.pending === null) return;
    const end = p.sched.syscallEnd;
    this.fail(
      p.ev.line,
      end === null
        ? `timing error: expected non-blocking system call but it was still blocked at ${formatSecs(this.now())} sec (started ${formatSecs(p.sched.start)} sec)`
        : `timing error: expected system call return at ${formatSecs(end)} sec but it was still blocked at ${formatSecs(this.now())} sec`,
      `script call: ${p.ev.text}`,
    );
  }

  /** Let time run until the pending call returns (or its deadline passes). */
  private waitPending(line: number): void {
    while (this.pending !== null) {
      const next = this.clock.nextAt();
      const p = this.pending;
      if (next === Infinity || usecs(next) > p.deadline) {
        this.checkPendingDeadline(Infinity);
        return;
      }
      this.tick();
      this.pollPending();
    }
    void line;
  }
}

/** Calls that return a new descriptor (mapped to the script's number, as packetdrill does). */
const FD_CALLS = new Set(['socket', 'accept', 'accept4']);

function evalResult(e: Expr): number | null {
  try {
    return evalInt(e);
  } catch {
    return null;
  }
}

function sameErrno(want: string, got: string): boolean {
  if (want === got) return true;
  const a = ERRNO[want];
  const b = ERRNO[got];
  return a !== undefined && b !== undefined && a.value === b.value;
}

/**
 * The IP packet for an inbound segment, with the options exactly as the script wrote them (the
 * wire emitter picks its own order, so the option bytes ride in front of the payload and the data
 * offset and checksum are fixed afterwards).
 */
export function inboundPacket(src: Uint8Array, dst: Uint8Array, repr: TcpRepr, optionBytes: Uint8Array): Uint8Array {
  const body = new Uint8Array(optionBytes.length + repr.payload.length);
  body.set(optionBytes, 0);
  body.set(repr.payload, optionBytes.length);
  const pkt = buildTcpPacket(src, dst, { ...repr, options: {}, payload: body }, { ttl: 64 });
  const ipLen = src.length === 4 ? (pkt[0]! & 0x0f) * 4 : 40;
  const tcp = pkt.subarray(ipLen);
  tcp[12] = ((20 + optionBytes.length) >>> 2) << 4;
  write16(tcp, 16, 0);
  write16(tcp, 16, foldChecksum(onesSum(tcp, 0, tcp.length, pseudoHeaderSum(src, dst, TCP_PROTOCOL, tcp.length))));
  return pkt;
}

