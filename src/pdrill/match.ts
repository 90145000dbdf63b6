// Pure packet matching for packetdrill scripts: mapping sequence numbers between script space and
// live space (outbound relative to the stack's ISN, inbound to the script's), checking an outbound
// TcpRepr against a `>` line field by field, building the TcpRepr for a `<` line, TS val/ecr
// mapping as packetdrill does it, and joining several small live segments into one script segment.
// Options: RFC 9293 3.2 (MSS, NOP, EOL), RFC 7323 (window scale, timestamps), RFC 2018 (SACK).

import type { ScriptTcpOption, TcpPacketSpec } from './ast.js';
import { flagsToScript } from './parse.js';
import { TcpFlag, type SackBlock, type TcpOptions, type TcpRepr } from '../wire/tcp.js';
import { add, sub } from '../wire/seq.js';

export interface MatchConfig {
  /** --tolerance_usecs, used for the TS val check. */
  readonly toleranceUsecs: number;
  /** --tcp_ts_tick_usecs: when nonzero the outbound TS val must track the script's at this rate. */
  readonly tcpTsTickUsecs: number;
  /** --tcp_ts_ecr_scaled: interpolate inbound TS ecr values that have no exact outbound TS val. */
  readonly tsEcrScaled: boolean;
  /**
   * Check that outbound TS ecr equals the script's value (inbound TS vals are sent unchanged, so an
   * RFC 7323 peer echoes them exactly). packetdrill itself only checks that the option is there.
   */
  readonly checkTsEcr: boolean;
  /** Outbound payload must be all zero bytes (the runner writes zeros, as packetdrill does). */
  readonly zeroPayload: boolean;
  /** Live remote ISN = script remote ISN + this (0 in packetdrill). */
  readonly remoteIsnOffset: number;
}

export const DEFAULT_MATCH_CONFIG: MatchConfig = {
  toleranceUsecs: 4000,
  tcpTsTickUsecs: 0,
  tsEcrScaled: false,
  checkTsEcr: true,
  zeroPayload: true,
  remoteIsnOffset: 0,
};

/** One option as found on the wire, in order; unknown kinds kept by code. */
export type WireOption = ScriptTcpOption | { readonly kind: 'unknown'; readonly code: number; readonly length: number };

/**
 * Per-connection mapping between script and live numbers. Learned as the script runs: the local
 * (stack) ISN from its first SYN or SYN-ACK, the remote (script) ISN from the first inbound SYN.
 * Until learned an offset is 0, so e.g. a RST from a closed port is compared as written.
 */
export class SeqSpace {
  local: { readonly script: number; readonly live: number } | null = null;
  remote: { readonly script: number; readonly live: number } | null = null;
  /** Script TS val -> live TS val, from matched outbound packets. */
  readonly tsValMap = new Map<number, number>();
  firstTs: { readonly script: number; readonly live: number } | null = null;

  /** live - script for our (the stack's) sequence numbers. */
  localOffset(): number {
    return this.local === null ? 0 : sub(this.local.live, this.local.script) >>> 0;
  }
  /** live - script for the script's sequence numbers. */
  remoteOffset(): number {
    return this.remote === null ? 0 : sub(this.remote.live, this.remote.script) >>> 0;
  }
  /** A live TS val expressed in script space (relative to the first mapping). */
  tsValToScript(live: number): number {
    return this.firstTs === null ? live : add(this.firstTs.script, sub(live, this.firstTs.live));
  }
}

export type MismatchField =
  | 'flags'
  | 'seq'
  | 'payload-length'
  | 'ack'
  | 'window'
  | 'urgent'
  | 'options'
  | 'option-value'
  | 'ts-val'
  | 'ts-ecr'
  | 'payload';

export type MatchResult =
  | { readonly ok: true; readonly actual: string }
  | { readonly ok: false; readonly field: MismatchField; readonly message: string; readonly actual: string };

// ---- formatting ----

function formatOption(o: WireOption): string {
  switch (o.kind) {
    case 'nop':
    case 'eol':
    case 'sackOK':
      return o.kind;
    case 'mss':
      return `mss ${o.value}`;
    case 'wscale':
      return `wscale ${o.value}`;
    case 'sack':
      return `sack ${o.blocks.map((b) => `${b.left}:${b.right}`).join(' ')}`;
    case 'timestamp':
      return `TS val ${o.val} ecr ${o.ecr}`;
    case 'unknown':
      return `opt${o.code}/${o.length}`;
  }
}

/** `<mss 1460,sackOK,nop>` (or `<...>` for null). */
export function formatOptions(opts: readonly WireOption[] | null): string {
  if (opts === null) return '<...>';
  return `<${opts.map(formatOption).join(',')}>`;
}

/** A packet line in script syntax: `S. 0:0(0) ack 1 win 65535 <mss 1460>`. */
export function formatPacketLine(p: {
  flagBits: number;
  seq: number;
  len: number;
  ack: number | null;
  window: number | null;
  urgent: number | null;
  options: readonly WireOption[] | null;
}): string {
  let s = `${flagsToScript(p.flagBits) || '-'} ${p.seq}:${add(p.seq, p.len)}(${p.len})`;
  if (p.ack !== null) s += ` ack ${p.ack}`;
  if (p.window !== null) s += ` win ${p.window}`;
  if (p.urgent !== null) s += ` urg ${p.urgent}`;
  if (p.options === null || p.options.length > 0) s += ` ${formatOptions(p.options)}`;
  return s;
}

/** TcpOptions in a fixed order, for when the wire order is unknown. */
function optionsFromRepr(o: TcpOptions): WireOption[] {
  const out: WireOption[] = [];
  if (o.mss !== undefined) out.push({ kind: 'mss', value: o.mss });
  if (o.sackPermitted) out.push({ kind: 'sackOK' });
  if (o.timestamp !== undefined) out.push({ kind: 'timestamp', val: o.timestamp.val, ecr: o.timestamp.ecr });
  if (o.wscale !== undefined) out.push({ kind: 'wscale', value: o.wscale });
  if (o.sack !== undefined && o.sack.length > 0) out.push({ kind: 'sack', blocks: o.sack.map((b) => ({ left: b.left, right: b.right })) });
  return out;
}

/** Map an actual outbound option list into script space (SACK edges, TS val). */
function optionsToScript(opts: readonly WireOption[], space: SeqSpace): WireOption[] {
  const off = space.remoteOffset();
  return opts.map((o): WireOption => {
    if (o.kind === 'sack') return { kind: 'sack', blocks: o.blocks.map((b) => ({ left: sub(b.left, off) >>> 0, right: sub(b.right, off) >>> 0 })) };
    if (o.kind === 'timestamp') return { kind: 'timestamp', val: space.tsValToScript(o.val), ecr: o.ecr };
    return o;
  });
}

// ---- wire option bytes ----

/** Decode raw TCP option bytes (header bytes 20..dataOffset) in wire order; null if malformed. */
export function decodeOptionList(bytes: Uint8Array): WireOption[] | null {
  const out: WireOption[] = [];
  let i = 0;
  while (i < bytes.length) {
    const kind = bytes[i]!;
    if (kind === 0) {
      out.push({ kind: 'eol' });
      // RFC 9293 3.2: the end of the option list; the rest is padding.
      return out;
    }
    if (kind === 1) {
      out.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= bytes.length) return null;
    const len = bytes[i + 1]!;
    if (len < 2 || i + len > bytes.length) return null;
    const b = bytes.subarray(i + 2, i + len);
    const u32 = (o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    if (kind === 2 && len === 4) out.push({ kind: 'mss', value: (b[0]! << 8) | b[1]! });
    else if (kind === 3 && len === 3) out.push({ kind: 'wscale', value: b[0]! });
    else if (kind === 4 && len === 2) out.push({ kind: 'sackOK' });
    else if (kind === 5 && len >= 10 && (len - 2) % 8 === 0) {
      const blocks: { left: number; right: number }[] = [];
      for (let o = 0; o < len - 2; o += 8) blocks.push({ left: u32(o), right: u32(o + 4) });
      out.push({ kind: 'sack', blocks });
    } else if (kind === 8 && len === 10) out.push({ kind: 'timestamp', val: u32(0), ecr: u32(4) });
    else out.push({ kind: 'unknown', code: kind, length: len });
    i += len;
  }
  return out;
}

/** Encode options in the given order, padded with EOL to a multiple of 4; null if over 40 bytes. */
export function encodeOptionList(opts: readonly ScriptTcpOption[]): Uint8Array | null {
  const bytes: number[] = [];
  const u32 = (v: number): void => {
    bytes.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  };
  for (const o of opts) {
    switch (o.kind) {
      case 'eol':
        bytes.push(0);
        break;
      case 'nop':
        bytes.push(1);
        break;
      case 'mss':
        bytes.push(2, 4, (o.value >>> 8) & 0xff, o.value & 0xff);
        break;
      case 'wscale':
        bytes.push(3, 3, o.value & 0xff);
        break;
      case 'sackOK':
        bytes.push(4, 2);
        break;
      case 'sack':
        bytes.push(5, 2 + 8 * o.blocks.length);
        for (const b of o.blocks) {
          u32(b.left);
          u32(b.right);
        }
        break;
      case 'timestamp':
        bytes.push(8, 10);
        u32(o.val);
        u32(o.ecr);
        break;
    }
  }
  while (bytes.length % 4 !== 0) bytes.push(0);
  return bytes.length > 40 ? null : Uint8Array.from(bytes);
}

// ---- outbound ----

function fail(field: MismatchField, message: string, actual: string): MatchResult {
  return { ok: false, field, message, actual };
}

function sameOption(a: WireOption, b: WireOption): boolean {
  return formatOption(a) === formatOption(b);
}

/**
 * Check an outbound segment against a `>` line. `optionList` is the segment's options in wire order
 * (decodeOptionList of the header bytes); without it, options are compared ignoring order and NOPs.
 * Learns the stack's ISN from SYNs and records TS val mappings in `space`.
 */
export function matchOutbound(
  expected: TcpPacketSpec,
  actual: TcpRepr,
  space: SeqSpace,
  cfg: MatchConfig = DEFAULT_MATCH_CONFIG,
  optionList?: readonly WireOption[] | null,
): MatchResult {
  const ordered = optionList !== undefined && optionList !== null;
  const liveOpts: readonly WireOption[] = ordered ? optionList : optionsFromRepr(actual.options);
  const actualFlags = actual.flags & 0xff;
  // Learn before describing, so the description is already in script space.
  if (expected.flagBits & TcpFlag.SYN && actualFlags & TcpFlag.SYN && space.local === null) {
    space.local = { script: expected.seqStart, live: actual.seq };
  }
  const expTs = expected.options?.find((o) => o.kind === 'timestamp');
  const actTs = liveOpts.find((o) => o.kind === 'timestamp');
  if (expTs !== undefined && actTs !== undefined) {
    // packetdrill remembers every script->live TS val pair for remapping inbound ecr values.
    space.tsValMap.set(expTs.val, actTs.val);
    if (space.firstTs === null) space.firstTs = { script: expTs.val, live: actTs.val };
  }
  const seq = sub(actual.seq, space.localOffset()) >>> 0;
  const hasAck = (actualFlags & TcpFlag.ACK) !== 0;
  const ack = hasAck ? sub(actual.ack, space.remoteOffset()) >>> 0 : null;
  const scriptOpts = optionsToScript(liveOpts, space);
  const len = actual.payload.length;
  const desc = formatPacketLine({
    flagBits: actualFlags,
    seq,
    len,
    ack,
    window: actual.window,
    urgent: actualFlags & TcpFlag.URG ? actual.urgent : null,
    options: scriptOpts,
  });

  if (actualFlags !== expected.flagBits) {
    return fail('flags', `bad outbound TCP flags: expected ${expected.flags || '-'} actual ${flagsToScript(actualFlags) || '-'}`, desc);
  }
  if (seq !== expected.seqStart) {
    return fail('seq', `bad outbound TCP seq: expected ${expected.seqStart} actual ${seq}`, desc);
  }
  if (len !== expected.payloadLen) {
    return fail('payload-length', `bad outbound TCP payload length: expected ${expected.payloadLen} bytes actual ${len} bytes`, desc);
  }
  if (ack !== null && ack !== (expected.ack ?? 0)) {
    return fail('ack', `bad outbound TCP ack: expected ${expected.ack ?? 0} actual ${ack}`, desc);
  }
  if (expected.window !== null && actual.window !== expected.window) {
    return fail('window', `bad outbound TCP window: expected ${expected.window} actual ${actual.window}`, desc);
  }
  if (expected.urgent !== null && actual.urgent !== expected.urgent) {
    return fail('urgent', `bad outbound TCP urgent pointer: expected ${expected.urgent} actual ${actual.urgent}`, desc);
  }
  if (expected.options !== null) {
    const exp = ordered ? expected.options : expected.options.filter((o) => o.kind !== 'nop' && o.kind !== 'eol');
    // Wire order unknown: compare as sets of kinds, in a canonical order.
    const expSorted = ordered ? exp : [...exp].sort((a, b) => kindRank(a) - kindRank(b));
    const actSorted = ordered ? scriptOpts : [...scriptOpts].sort((a, b) => kindRank(a) - kindRank(b));
    const kinds = (l: readonly WireOption[]): string => l.map((o) => o.kind).join(',');
    if (kinds(expSorted) !== kinds(actSorted)) {
      return fail('options', `bad outbound TCP options: expected ${formatOptions(expected.options)} actual ${formatOptions(scriptOpts)}`, desc);
    }
    for (let k = 0; k < expSorted.length; k++) {
      const e = expSorted[k]!;
      const a = actSorted[k]!;
      if (e.kind === 'timestamp' && a.kind === 'timestamp') {
        if (cfg.tcpTsTickUsecs > 0 && Math.abs(sub(a.val, e.val)) * cfg.tcpTsTickUsecs > cfg.toleranceUsecs) {
          return fail('ts-val', `bad outbound TCP timestamp value, tolerance ${cfg.toleranceUsecs}: expected ${e.val} actual ${a.val}`, desc);
        }
        if (cfg.checkTsEcr && a.ecr !== e.ecr) {
          return fail('ts-ecr', `bad outbound TCP timestamp ecr: expected ${e.ecr} actual ${a.ecr}`, desc);
        }
        continue;
      }
      if (!sameOption(e, a)) {
        return fail('option-value', `bad outbound TCP option ${e.kind}: expected ${formatOption(e)} actual ${formatOption(a)}`, desc);
      }
    }
  }
  if (cfg.zeroPayload) {
    const p = actual.payload;
    for (let k = 0; k < p.length; k++) {
      if (p[k] !== 0) return fail('payload', `incorrect outbound data payload: byte ${k} is ${p[k]}, expected 0`, desc);
    }
  }
  return { ok: true, actual: desc };
}

function kindRank(o: WireOption): number {
  return ['mss', 'sackOK', 'timestamp', 'wscale', 'sack', 'unknown', 'nop', 'eol'].indexOf(o.kind);
}

// ---- inbound ----

export type InboundResult =
  | {
      readonly ok: true;
      readonly repr: TcpRepr;
      /** The options in script order with live values, ready for the header (padded to 4 bytes). */
      readonly optionBytes: Uint8Array;
    }
  | { readonly ok: false; readonly message: string };

/**
 * Build the live segment for a `<` line: seq relative to the script's ISN, ack and SACK edges
 * relative to the stack's, TS ecr remapped to the live TS val the script's value stood for.
 * An inbound SYN teaches `space` the remote ISN.
 */
export function buildInbound(
  spec: TcpPacketSpec,
  space: SeqSpace,
  ports: { readonly src: number; readonly dst: number },
  cfg: MatchConfig = DEFAULT_MATCH_CONFIG,
): InboundResult {
  if (spec.flagBits & TcpFlag.SYN && space.remote === null) {
    space.remote = { script: spec.seqStart, live: add(spec.seqStart, cfg.remoteIsnOffset) };
  }
  const hasAck = (spec.flagBits & TcpFlag.ACK) !== 0;
  const localOff = space.localOffset();
  const options: TcpOptions = {};
  const live: ScriptTcpOption[] = [];
  for (const o of spec.options ?? []) {
    switch (o.kind) {
      case 'mss':
        options.mss = o.value;
        live.push(o);
        break;
      case 'wscale':
        options.wscale = o.value;
        live.push(o);
        break;
      case 'sackOK':
        options.sackPermitted = true;
        live.push(o);
        break;
      case 'sack': {
        const blocks: SackBlock[] = o.blocks.map((b) => ({ left: add(b.left, localOff), right: add(b.right, localOff) }));
        options.sack = blocks;
        live.push({ kind: 'sack', blocks });
        break;
      }
      case 'timestamp': {
        let ecr = o.ecr;
        if (hasAck) {
          const mapped = space.tsValMap.get(o.ecr);
          if (mapped !== undefined) ecr = mapped;
          else if (cfg.tsEcrScaled && space.firstTs !== null) ecr = add(space.firstTs.live, sub(o.ecr, space.firstTs.script));
          else {
            return {
              ok: false,
              message: `unable to infer live TS ecr for script TS ecr ${o.ecr}; no matching or preceding outbound TS val`,
            };
          }
        }
        options.timestamp = { val: o.val, ecr };
        live.push({ kind: 'timestamp', val: o.val, ecr });
        break;
      }
      case 'nop':
      case 'eol':
        live.push(o);
        break;
    }
  }
  const optionBytes = encodeOptionList(live);
  if (optionBytes === null) return { ok: false, message: 'TCP option list too long (more than 40 bytes)' };
  const repr: TcpRepr = {
    srcPort: spec.ports?.src ?? ports.src,
    dstPort: spec.ports?.dst ?? ports.dst,
    seq: add(spec.seqStart, space.remoteOffset()),
    ack: hasAck ? add(spec.ack ?? 0, localOff) : 0,
    flags: spec.flagBits,
    window: spec.window ?? 0,
    urgent: spec.urgent ?? 0,
    options,
    payload: new Uint8Array(spec.payloadLen),
  };
  return { ok: true, repr, optionBytes };
}

// ---- several live segments for one script segment ----

export type AggregateResult =
  | { readonly kind: 'complete'; readonly segment: TcpRepr; readonly parts: number }
  | { readonly kind: 'partial'; readonly have: number; readonly need: number }
  | { readonly kind: 'mismatch'; readonly message: string };

/**
 * Joins consecutive outbound segments that together carry one script segment's payload (a script
 * `> P. 1:2001(2000)` met by two 1000-byte segments). Offer each outbound segment; a segment with
 * at least the expected payload (or any segment when nothing is buffered and the script expects
 * none) completes at once and is matched as is. Parts must be contiguous, agree on ack, window and
 * SYN/RST/ACK/URG/ECE, and every part but the last must be as long as the first.
 */
export class SegmentAggregator {
  private parts: TcpRepr[] = [];
  /** Per part: it starts a packet of its own in Linux's TSO packetization (tso.ts). */
  private starts: boolean[] = [];
  private have = 0;
  /** Whether any part repeats data sent before (a retransmission). */
  private retransmit = false;

  /**
   * @param linuxTsoPsh Linux's flag rule for TSO packets: one of new data that carries more than
   *   one segment always has PSH (Linux 051ba67447de, "tcp: force a PSH flag on TSO packets", a
   *   hint for the receiver's GRO, set in __tcp_transmit_skb), and packetdrill keeps the flags of
   *   the last live packet it joins, so a joined packet has PSH when Linux's last packet in it
   *   has two or more segments or was pushed itself. Where Linux's packets begin comes with each
   *   part (`tsoStart`, tso.ts); without it every part is taken as one packet of the join.
   *   The rule holds for retransmissions too (the flag is set on each transmission), whose
   *   packets are pieces of the original ones (the runner's rtxStart).
   */
  constructor(
    readonly need: number,
    readonly linuxTsoPsh = false,
  ) {}

  /**
   * Offer the next captured segment; `retransmit` when it repeats data sent before, `tsoStart`
   * when Linux would have started a new packet with it (undefined: the join is one packet).
   */
  offer(seg: TcpRepr, retransmit = false, tsoStart?: boolean): AggregateResult {
    const len = seg.payload.length;
    if (this.parts.length === 0) {
      if (len === 0 || len >= this.need) return { kind: 'complete', segment: seg, parts: 1 };
      this.parts.push(seg);
      this.starts = [tsoStart ?? true];
      this.have = len;
      this.retransmit = retransmit;
      return { kind: 'partial', have: this.have, need: this.need };
    }
    const first = this.parts[0]!;
    const prev = this.parts[this.parts.length - 1]!;
    const strictBits = TcpFlag.SYN | TcpFlag.RST | TcpFlag.ACK | TcpFlag.URG | TcpFlag.ECE;
    if (seg.seq !== add(prev.seq, prev.payload.length)) {
      return { kind: 'mismatch', message: `aggregate candidate seq: expected ${add(prev.seq, prev.payload.length)} vs actual ${seg.seq}` };
    }
    if ((seg.flags & strictBits) !== (first.flags & strictBits)) {
      return { kind: 'mismatch', message: `aggregate candidate flags: expected ${flagsToScript(first.flags)} vs actual ${flagsToScript(seg.flags)}` };
    }
    if (seg.ack !== first.ack || seg.window !== first.window) {
      return { kind: 'mismatch', message: 'aggregate candidate ack/window differ from the first fragment' };
    }
    const total = this.have + len;
    if (total > this.need || (total < this.need && len !== first.payload.length)) {
      return {
        kind: 'mismatch',
        message: `fragment payload: expected ${first.payload.length} bytes vs actual ${len} bytes; total payload: expected ${this.need} bytes vs actual ${total} bytes`,
      };
    }
    this.parts.push(seg);
    this.starts.push(tsoStart ?? false);
    this.have = total;
    this.retransmit ||= retransmit;
    if (total < this.need) return { kind: 'partial', have: total, need: this.need };
    const payload = new Uint8Array(total);
    let off = 0;
    let flags = 0;
    for (const p of this.parts) {
      payload.set(p.payload, off);
      off += p.payload.length;
      flags |= p.flags;
    }
    const parts = this.parts.length;
    if (this.linuxTsoPsh) {
      // The last Linux packet of the join: from the last part that starts one (a first part that
      // does not continues a packet begun before the join, which has two segments then).
      const k = this.starts.lastIndexOf(true);
      const lastPkt = this.parts.slice(Math.max(0, k));
      const multi = k < 0 || lastPkt.length > 1;
      flags = (flags & ~TcpFlag.PSH) | (multi || lastPkt.some((p) => p.flags & TcpFlag.PSH) ? TcpFlag.PSH : 0);
    }
    this.parts = [];
    this.starts = [];
    this.have = 0;
    return { kind: 'complete', segment: { ...first, flags, payload }, parts };
  }

  /** Segments buffered and not yet complete (the runner reports them if the script moves on). */
  get pending(): number {
    return this.parts.length;
  }
}
