// TCP header and options (RFC 9293 section 3.1; options from RFC 9293 3.2, RFC 7323, RFC 2018).
// CONTRACT (shared by wire/, tcp/ and stack/): the shapes below are fixed; view/parse/emit follow.

/** The eight header flags as bits of the 13th header byte. */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;
export type TcpFlagName = keyof typeof TcpFlag;

/** RFC 7323 section 3 timestamps option. */
export interface TcpTimestamp {
  readonly val: number;
  readonly ecr: number;
}

/** A SACK block [left, right) (RFC 2018 section 3). */
export interface SackBlock {
  readonly left: number;
  readonly right: number;
}

/** Options present on a segment; absent ones are undefined. Order on the wire is the emitter's choice. */
export interface TcpOptions {
  mss?: number | undefined;
  /** Window scale shift count as sent (0..14 is valid; larger values are kept as received). */
  wscale?: number | undefined;
  sackPermitted?: boolean | undefined;
  sack?: readonly SackBlock[] | undefined;
  timestamp?: TcpTimestamp | undefined;
}

/** A TCP segment as plain data. `window` is the raw 16-bit field (unscaled). */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Bitwise OR of TcpFlag values. */
  flags: number;
  window: number;
  urgent: number;
  options: TcpOptions;
  payload: Uint8Array;
  /**
   * Set on a segment whose text is held in pieces instead (a train GRO joined, stack/gro.ts); then
   * `payload` is empty and the text is the pieces in order. Use textLength() for SEG.LEN's text.
   */
  text?: SegmentText | null | undefined;
}

/**
 * A segment's text as pieces (RFC 9293 3.10.7.4's "segment text" is `parts[0..count)` joined):
 * the payloads of the wire segments GRO joined, not copied into one array. Valid only while the
 * segment is being handled; whoever keeps the text copies it.
 */
export interface SegmentText {
  readonly parts: readonly Uint8Array[];
  readonly count: number;
  /** Bytes in all pieces. */
  readonly length: number;
}

/** The number of text bytes `seg` carries (SEG.LEN without SYN and FIN), in one array or in pieces. */
export function textLength(seg: TcpRepr): number {
  const t = seg.text;
  return t == null ? seg.payload.length : t.length;
}

// ---------------------------------------------------------------------------------------------
// View, parse and emit (below the contract types).

import { onesSum, foldChecksum, pseudoHeaderSum, read16, read32, readSeq, write16, write32 } from './bytes.js';
import { type Parsed, type WireError, ok, fail } from './result.js';
import { kernelSubarray } from './simd-sum.js';

export const TCP_MIN_HEADER = 20;
export const TCP_PROTOCOL = 6;

/** Option kinds (RFC 9293 3.2, RFC 2018, RFC 7323). */
export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMP: 8,
} as const;

/** Getters and setters over a TCP header in place. Use `TcpView.check` to validate lengths first. */
export class TcpView {
  constructor(readonly buf: Uint8Array) {}

  /** A view if `buf` holds a full header whose data offset is sane, else null. */
  static check(buf: Uint8Array): TcpView | null {
    if (buf.length < TCP_MIN_HEADER) return null;
    const doff = (buf[12]! >>> 4) * 4;
    if (doff < TCP_MIN_HEADER || doff > buf.length) return null;
    return new TcpView(buf);
  }
  get srcPort(): number {
    return read16(this.buf, 0);
  }
  set srcPort(v: number) {
    write16(this.buf, 0, v);
  }
  get dstPort(): number {
    return read16(this.buf, 2);
  }
  set dstPort(v: number) {
    write16(this.buf, 2, v);
  }
  get seq(): number {
    return read32(this.buf, 4);
  }
  set seq(v: number) {
    write32(this.buf, 4, v);
  }
  get ack(): number {
    return read32(this.buf, 8);
  }
  set ack(v: number) {
    write32(this.buf, 8, v);
  }
  /** Header length in bytes (data offset * 4). */
  get headerLength(): number {
    return (this.buf[12]! >>> 4) * 4;
  }
  set headerLength(bytes: number) {
    this.buf[12] = (((bytes >>> 2) & 0x0f) << 4) | (this.buf[12]! & 0x0f);
  }
  /** The 8 flag bits (see TcpFlag). */
  get flags(): number {
    return this.buf[13]!;
  }
  set flags(v: number) {
    this.buf[13] = v;
  }
  get window(): number {
    return read16(this.buf, 14);
  }
  set window(v: number) {
    write16(this.buf, 14, v);
  }
  get checksum(): number {
    return read16(this.buf, 16);
  }
  set checksum(v: number) {
    write16(this.buf, 16, v);
  }
  get urgent(): number {
    return read16(this.buf, 18);
  }
  set urgent(v: number) {
    write16(this.buf, 18, v);
  }
  get options(): Uint8Array {
    return this.buf.subarray(TCP_MIN_HEADER, this.headerLength);
  }
  get payload(): Uint8Array {
    return this.buf.subarray(this.headerLength);
  }
  /** Whether the checksum over pseudo-header + segment verifies. */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const sum = onesSum(this.buf, 0, this.buf.length, pseudoHeaderSum(src, dst, TCP_PROTOCOL, this.buf.length));
    return foldChecksum(sum) === 0;
  }
  /** Recompute and store the checksum over the whole buffer. */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    write16(this.buf, 16, 0);
    const sum = onesSum(this.buf, 0, this.buf.length, pseudoHeaderSum(src, dst, TCP_PROTOCOL, this.buf.length));
    write16(this.buf, 16, foldChecksum(sum));
  }
}

/**
 * Walk an options area (RFC 9293 3.2): EOL ends it, NOP is one byte, every other kind carries a
 * length >= 2 that must stay inside the area. Known kinds with the wrong length are rejected;
 * unknown kinds are skipped by length. Returns an error message, or null when `out` was filled.
 */
export function parseTcpOptions(opt: Uint8Array, out: TcpOptions): string | null {
  return parseOptionsIn(opt, 0, opt.length, out);
}

/**
 * parseTcpOptions over buf[start..end) (offsets in messages are relative to start). A timestamp is
 * written into `ts` when given (TcpSegmentBuf's reused object), else into a new object; with `ts`
 * the timestamps and SACK blocks are read as int32, the TCP core's form (TcpSegmentBuf).
 */
function parseOptionsIn(opt: Uint8Array, start: number, end: number, out: TcpOptions, ts?: { val: number; ecr: number }): string | null {
  let i = start;
  while (i < end) {
    const kind = opt[i]!;
    if (kind === TcpOptionKind.EOL) break;
    if (kind === TcpOptionKind.NOP) {
      i++;
      continue;
    }
    const at = i - start;
    if (i + 1 >= end) return `option ${kind} at ${at} has no length byte`;
    const len = opt[i + 1]!;
    if (len < 2) return `option ${kind} at ${at} has length ${len}`;
    if (i + len > end) return `option ${kind} at ${at} (length ${len}) overruns the header`;
    switch (kind) {
      case TcpOptionKind.MSS:
        if (len !== 4) return `MSS option length ${len}`;
        out.mss = read16(opt, i + 2);
        break;
      case TcpOptionKind.WSCALE:
        if (len !== 3) return `window scale option length ${len}`;
        out.wscale = opt[i + 2]!;
        break;
      case TcpOptionKind.SACK_PERMITTED:
        if (len !== 2) return `SACK-permitted option length ${len}`;
        out.sackPermitted = true;
        break;
      case TcpOptionKind.SACK: {
        if (len < 10 || (len - 2) % 8 !== 0) return `SACK option length ${len}`;
        const blocks: SackBlock[] = [];
        const r32 = ts === undefined ? read32 : readSeq;
        for (let b = i + 2; b < i + len; b += 8) blocks.push({ left: r32(opt, b), right: r32(opt, b + 4) });
        out.sack = blocks;
        break;
      }
      case TcpOptionKind.TIMESTAMP:
        if (len !== 10) return `timestamp option length ${len}`;
        if (ts === undefined) out.timestamp = { val: read32(opt, i + 2), ecr: read32(opt, i + 6) };
        else {
          ts.val = readSeq(opt, i + 2);
          ts.ecr = readSeq(opt, i + 6);
          out.timestamp = ts;
        }
        break;
      default:
        break; // unknown: skipped by length
    }
    i += len;
  }
  return null;
}

/**
 * Parse a TCP segment (RFC 9293 3.1); never throws. When `pseudo` is given the checksum is verified
 * over the pseudo-header and the whole of `seg`. The payload is a subarray of `seg`.
 */
export function parseTcp(seg: Uint8Array, pseudo?: { src: Uint8Array; dst: Uint8Array }): Parsed<TcpRepr> {
  return parseTcpIn(seg, 0, seg.length, pseudo?.src, pseudo?.dst);
}

/**
 * parseTcp over buf[start..end), the segment inside a larger packet (no subarray for the segment
 * itself); the checksum is verified when `src` and `dst` are given.
 */
export function parseTcpIn(buf: Uint8Array, start: number, end: number, src?: Uint8Array, dst?: Uint8Array): Parsed<TcpRepr> {
  const bad = checkTcp(buf, start, end, src, dst);
  if (bad !== null) return { ok: false, error: bad };
  const doff = (buf[start + 12]! >>> 4) * 4;
  const options: TcpOptions = {};
  if (doff > TCP_MIN_HEADER) {
    const err = parseOptionsIn(buf, start + TCP_MIN_HEADER, start + doff, options);
    if (err !== null) return fail('bad-option', err);
  }
  return ok({
    srcPort: read16(buf, start),
    dstPort: read16(buf, start + 2),
    seq: read32(buf, start + 4),
    ack: read32(buf, start + 8),
    flags: buf[start + 13]!,
    window: read16(buf, start + 14),
    urgent: read16(buf, start + 18),
    options,
    payload: buf.subarray(start + doff, end),
  });
}

/** The header checks parseTcpIn and parseTcpInto share: lengths, data offset, checksum when `src` and `dst` are given. */
function checkTcp(buf: Uint8Array, start: number, end: number, src?: Uint8Array, dst?: Uint8Array): WireError | null {
  const n = end - start;
  if (n < TCP_MIN_HEADER) return { code: 'truncated', message: `TCP header needs 20 bytes, have ${n}` };
  const doff = (buf[start + 12]! >>> 4) * 4;
  if (doff < TCP_MIN_HEADER) return { code: 'bad-data-offset', message: `data offset ${doff / 4} is below 5` };
  if (doff > n) return { code: 'bad-data-offset', message: `data offset ${doff / 4} (${doff} bytes) exceeds the ${n} bytes present` };
  if (src !== undefined && dst !== undefined) {
    const sum = onesSum(buf, start, end, pseudoHeaderSum(src, dst, TCP_PROTOCOL, n));
    if (foldChecksum(sum) !== 0) return { code: 'bad-checksum', message: 'TCP checksum does not verify' };
  }
  return null;
}

const NO_BYTES = new Uint8Array(0);

/**
 * A TcpRepr that parseTcpInto fills again and again: the input fast path's segment (one per
 * stack), with its options and timestamp objects reused too, so a segment costs no objects but
 * the payload's view of the packet (none without payload). Whoever is handed one reads it during
 * the call and keeps nothing of it: copy what you keep. Its sequence and acknowledgment numbers,
 * timestamps and SACK blocks are int32, the TCP core's form (wire/seq.ts: `wrap` gives the unsigned
 * value), so that they reach the core without a 16-byte box each.
 */
export class TcpSegmentBuf implements TcpRepr {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  urgent = 0;
  readonly options: TcpOptions = { mss: undefined, wscale: undefined, sackPermitted: undefined, sack: undefined, timestamp: undefined };
  payload: Uint8Array = NO_BYTES;
  /** Always null from parse(); GRO sets it on the segment a train is delivered as (stack/gro.ts). */
  text: SegmentText | null = null;
  /** What options.timestamp points at when the segment carries one. */
  readonly #ts = { val: 0, ecr: 0 };

  /**
   * Make this a copy of `s` that owns its header fields and options (SACK blocks copied), with
   * `s`'s payload and no text: a segment kept while `s`'s object is parsed into again.
   */
  assign(s: TcpRepr): this {
    this.srcPort = s.srcPort;
    this.dstPort = s.dstPort;
    this.seq = s.seq;
    this.ack = s.ack;
    this.flags = s.flags;
    this.window = s.window;
    this.urgent = s.urgent;
    const from = s.options;
    const o = this.options;
    o.mss = from.mss;
    o.wscale = from.wscale;
    o.sackPermitted = from.sackPermitted;
    o.sack = from.sack === undefined ? undefined : from.sack.map((b) => ({ left: b.left, right: b.right }));
    const ts = from.timestamp;
    if (ts === undefined) o.timestamp = undefined;
    else {
      const own = this.#ts;
      own.val = ts.val;
      own.ecr = ts.ecr;
      o.timestamp = own;
    }
    this.payload = s.payload;
    this.text = null;
    return this;
  }

  /**
   * parseTcpIn over buf[start..end) into this object (same checks, same results); null when it
   * parsed, else why not (and the fields are unspecified).
   */
  parse(buf: Uint8Array, start: number, end: number, src?: Uint8Array, dst?: Uint8Array): WireError | null {
    const bad = checkTcp(buf, start, end, src, dst);
    if (bad !== null) return bad;
    const doff = (buf[start + 12]! >>> 4) * 4;
    const o = this.options;
    o.mss = undefined;
    o.wscale = undefined;
    o.sackPermitted = undefined;
    o.sack = undefined;
    o.timestamp = undefined;
    if (doff > TCP_MIN_HEADER) {
      const err = parseOptionsIn(buf, start + TCP_MIN_HEADER, start + doff, o, this.#ts);
      if (err !== null) return { code: 'bad-option', message: err };
    }
    this.srcPort = read16(buf, start);
    this.dstPort = read16(buf, start + 2);
    this.seq = readSeq(buf, start + 4);
    this.ack = readSeq(buf, start + 8);
    this.flags = buf[start + 13]!;
    this.window = read16(buf, start + 14);
    this.urgent = read16(buf, start + 18);
    // A packet recycled in the checksum kernel's memory: its payload's view is reused too.
    this.payload = start + doff < end ? kernelSubarray(buf, start + doff, end) : NO_BYTES;
    this.text = null;
    return null;
  }
}

/**
 * Layout of the options `emitTcp` writes, in the order Linux uses so that kernel segments re-emit
 * byte for byte: MSS; SACK-permitted+timestamp (or NOP,NOP,timestamp); NOP,NOP,SACK-permitted
 * without timestamps; NOP,window scale; NOP,NOP,SACK blocks. Every piece is a multiple of 4 bytes.
 * SACK blocks beyond the 40-byte option space are dropped (RFC 2018 section 3).
 */
function sackBlocksThatFit(opts: TcpOptions): number {
  const n = opts.sack?.length ?? 0;
  if (n === 0) return 0;
  const room = 40 - fixedOptionsLength(opts) - 4;
  return Math.max(0, Math.min(n, Math.floor(room / 8)));
}

function fixedOptionsLength(opts: TcpOptions): number {
  let n = 0;
  if (opts.mss !== undefined) n += 4;
  if (opts.timestamp !== undefined) n += 12;
  else if (opts.sackPermitted) n += 4;
  if (opts.wscale !== undefined) n += 4;
  return n;
}

function optionsLength(opts: TcpOptions): number {
  const fixed = fixedOptionsLength(opts);
  const n = opts.sack?.length ?? 0;
  if (n === 0) return fixed;
  const blocks = Math.max(0, Math.min(n, Math.floor((40 - fixed - 4) / 8))); // as sackBlocksThatFit
  return fixed + (blocks > 0 ? 4 + blocks * 8 : 0);
}

/** Header length emitTcp writes: 20 plus the options, padded to a multiple of 4. */
export function tcpHeaderLength(repr: TcpRepr): number {
  return TCP_MIN_HEADER + optionsLength(repr.options);
}

/** Write options at out[at..]; returns the offset after them. */
function emitOptions(opts: TcpOptions, out: Uint8Array, at: number): number {
  let i = at;
  if (opts.mss !== undefined) {
    out[i] = TcpOptionKind.MSS;
    out[i + 1] = 4;
    write16(out, i + 2, opts.mss);
    i += 4;
  }
  if (opts.timestamp !== undefined) {
    if (opts.sackPermitted) {
      out[i] = TcpOptionKind.SACK_PERMITTED;
      out[i + 1] = 2;
    } else {
      out[i] = TcpOptionKind.NOP;
      out[i + 1] = TcpOptionKind.NOP;
    }
    out[i + 2] = TcpOptionKind.TIMESTAMP;
    out[i + 3] = 10;
    write32(out, i + 4, opts.timestamp.val);
    write32(out, i + 8, opts.timestamp.ecr);
    i += 12;
  } else if (opts.sackPermitted) {
    out[i] = TcpOptionKind.NOP;
    out[i + 1] = TcpOptionKind.NOP;
    out[i + 2] = TcpOptionKind.SACK_PERMITTED;
    out[i + 3] = 2;
    i += 4;
  }
  if (opts.wscale !== undefined) {
    out[i] = TcpOptionKind.NOP;
    out[i + 1] = TcpOptionKind.WSCALE;
    out[i + 2] = 3;
    out[i + 3] = opts.wscale;
    i += 4;
  }
  const blocks = opts.sack === undefined ? 0 : sackBlocksThatFit(opts);
  if (blocks > 0) {
    out[i] = TcpOptionKind.NOP;
    out[i + 1] = TcpOptionKind.NOP;
    out[i + 2] = TcpOptionKind.SACK;
    out[i + 3] = 2 + blocks * 8;
    i += 4;
    for (let b = 0; b < blocks; b++) {
      const blk = opts.sack![b]!;
      write32(out, i, blk.left);
      write32(out, i + 4, blk.right);
      i += 8;
    }
  }
  return i;
}

/**
 * Write header, options, payload and checksum at out[at..]; returns the bytes written. `out` must
 * hold tcpHeaderLength(repr) + payload bytes from `at`. A payload already in place is not copied.
 * `partial` writes the folded pseudo-header sum instead of the checksum, for a device that finishes
 * it (Linux's __tcp_v4_send_check for CHECKSUM_PARTIAL: check = ~tcp_v4_check(len, saddr, daddr, 0)).
 */
export function emitTcp(repr: TcpRepr, out: Uint8Array, src: Uint8Array, dst: Uint8Array, at = 0, partial = false): number {
  const hl = tcpHeaderLength(repr);
  const total = hl + repr.payload.length;
  write16(out, at, repr.srcPort);
  write16(out, at + 2, repr.dstPort);
  write32(out, at + 4, repr.seq);
  write32(out, at + 8, repr.ack);
  out[at + 12] = (hl >>> 2) << 4;
  out[at + 13] = repr.flags;
  write16(out, at + 14, repr.window);
  out[at + 16] = 0;
  out[at + 17] = 0;
  write16(out, at + 18, repr.urgent);
  if (hl > TCP_MIN_HEADER) emitOptions(repr.options, out, at + TCP_MIN_HEADER);
  const p = repr.payload;
  if (p.length > 0 && !(p.buffer === out.buffer && p.byteOffset === out.byteOffset + at + hl)) out.set(p, at + hl);
  fillTcpChecksum(out, at, total, src, dst, partial);
  return total;
}

/** Header length of a segment whose only option is the timestamp (NOP,NOP,TS) or none. */
export function plainTcpHeaderLength(timestamp: boolean): number {
  return timestamp ? TCP_MIN_HEADER + 12 : TCP_MIN_HEADER;
}

/**
 * The established fast path's header (tcp/output.ts): write at out[at..] a header whose only
 * option is the timestamp, when `timestamp` is set, laid out as emitTcp lays out `{ timestamp }`
 * (NOP, NOP, kind 8, length 10, TSval, TSecr), with no urgent pointer and a zero checksum field.
 * Byte for byte what emitTcp writes for the same repr (test/wire/tcp-fast.test.ts checks it).
 * Returns the header length.
 */
export function writePlainTcpHeader(
  out: Uint8Array,
  at: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  timestamp: boolean,
  tsVal: number,
  tsEcr: number,
): number {
  const hl = plainTcpHeaderLength(timestamp);
  write16(out, at, srcPort);
  write16(out, at + 2, dstPort);
  write32(out, at + 4, seq);
  write32(out, at + 8, ack);
  out[at + 12] = (hl >>> 2) << 4;
  out[at + 13] = flags;
  write16(out, at + 14, window);
  out[at + 16] = 0;
  out[at + 17] = 0;
  out[at + 18] = 0;
  out[at + 19] = 0;
  if (timestamp) {
    out[at + 20] = TcpOptionKind.NOP;
    out[at + 21] = TcpOptionKind.NOP;
    out[at + 22] = TcpOptionKind.TIMESTAMP;
    out[at + 23] = 10;
    write32(out, at + 24, tsVal);
    write32(out, at + 28, tsEcr);
  }
  return hl;
}

/**
 * Sum the segment out[at..at+len) with its pseudo-header (RFC 9293 3.1) into its checksum field, which
 * holds zero. `partial` writes only the folded pseudo-header sum, for a device that finishes the sum
 * (checksum offload: Linux's __tcp_v4_send_check for CHECKSUM_PARTIAL, check = ~tcp_v4_check(len,
 * saddr, daddr, 0)).
 */
export function fillTcpChecksum(out: Uint8Array, at: number, len: number, src: Uint8Array, dst: Uint8Array, partial = false): void {
  const pseudo = pseudoHeaderSum(src, dst, TCP_PROTOCOL, len);
  write16(out, at + 16, partial ? ~foldChecksum(pseudo) & 0xffff : foldChecksum(onesSum(out, at, at + len, pseudo)));
}

const FLAG_ORDER: readonly TcpFlagName[] = ['SYN', 'FIN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

/** Flag names joined by commas in the order SYN,FIN,RST,PSH,ACK,URG,ECE,CWR ("" for none). */
export function tcpFlagsToString(flags: number): string {
  const names: string[] = [];
  for (const n of FLAG_ORDER) if (flags & TcpFlag[n]) names.push(n);
  return names.join(',');
}

function formatOption(kind: number, body: Uint8Array): string {
  switch (kind) {
    case TcpOptionKind.MSS:
      return body.length === 2 ? `mss ${read16(body, 0)}` : 'mss [bad length]';
    case TcpOptionKind.WSCALE:
      return body.length === 1 ? `wscale ${body[0]}` : 'wscale [bad length]';
    case TcpOptionKind.SACK_PERMITTED:
      return 'sackOK';
    case TcpOptionKind.SACK: {
      if (body.length % 8 !== 0 || body.length === 0) return 'sack [bad length]';
      let s = `sack ${body.length / 8}`;
      for (let b = 0; b < body.length; b += 8) s += ` {${read32(body, b)}:${read32(body, b + 4)}}`;
      return s;
    }
    case TcpOptionKind.TIMESTAMP:
      return body.length === 8 ? `TS val ${read32(body, 0)} ecr ${read32(body, 4)}` : 'TS [bad length]';
    default: {
      let hex = '';
      for (const b of body) hex += b.toString(16).padStart(2, '0');
      return `unknown-${kind}${hex ? ' 0x' + hex : ''}`;
    }
  }
}

/**
 * tcpdump-style option list ("mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7"). Given raw option bytes
 * it shows exactly what is on the wire; given a TcpOptions it shows the layout emitTcp would write.
 */
export function formatTcpOptions(opts: TcpOptions | Uint8Array): string {
  let raw: Uint8Array;
  if (opts instanceof Uint8Array) raw = opts;
  else {
    raw = new Uint8Array(optionsLength(opts));
    emitOptions(opts, raw, 0);
  }
  const parts: string[] = [];
  let i = 0;
  while (i < raw.length) {
    const kind = raw[i]!;
    if (kind === TcpOptionKind.EOL) {
      parts.push('eol');
      break;
    }
    if (kind === TcpOptionKind.NOP) {
      parts.push('nop');
      i++;
      continue;
    }
    const len = raw[i + 1];
    if (len === undefined || len < 2 || i + len > raw.length) {
      parts.push(`bad opt ${kind}`);
      break;
    }
    parts.push(formatOption(kind, raw.subarray(i + 2, i + len)));
    i += len;
  }
  return parts.join(',');
}
