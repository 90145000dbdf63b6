// The typed syntax tree of a packetdrill script: header options, timed events (TCP packets, system
// calls, skipped shell/python lines) and the expression language used in system call arguments.

/** A 1-based source position. */
export interface Pos {
  readonly line: number;
  readonly col: number;
}

/** A problem found while reading a script. Parsing never throws; it collects these. */
export interface ParseError extends Pos {
  readonly message: string;
}

/** `--name=value` (or bare `--name`) from the script header or the command line. */
export interface ScriptOption extends Pos {
  readonly name: string;
  readonly value: string | null;
}

/**
 * When an event happens, in microseconds of script time.
 * - absolute `0.100`; relative `+0.1` (offset from the previous event, see timing.ts);
 * - any `*` (outbound packets only); ranges `a~b` and `+a~+b` (outbound packets only).
 */
export type EventTime =
  | { readonly kind: 'absolute'; readonly usecs: number }
  | { readonly kind: 'relative'; readonly usecs: number }
  | { readonly kind: 'any' }
  | { readonly kind: 'absolute-range'; readonly usecs: number; readonly endUsecs: number }
  | { readonly kind: 'relative-range'; readonly usecs: number; readonly endUsecs: number };

/** One TCP option as written in a script, in script order. */
export type ScriptTcpOption =
  | { readonly kind: 'nop' }
  | { readonly kind: 'eol' }
  | { readonly kind: 'mss'; readonly value: number }
  | { readonly kind: 'wscale'; readonly value: number }
  | { readonly kind: 'sackOK' }
  | { readonly kind: 'sack'; readonly blocks: readonly { readonly left: number; readonly right: number }[] }
  | { readonly kind: 'timestamp'; readonly val: number; readonly ecr: number };

/** The IP-level qualifiers packetdrill allows before the flags: `[ect0]`, `(tos 0x10)`, `[ttl 64]`. */
export interface IpInfo {
  readonly ecn?: 'noecn' | 'ect0' | 'ect1' | 'ce' | 'ect01';
  readonly tos?: number;
  readonly ttl?: number;
  readonly flowLabel?: number;
}

/** A `<` or `>` TCP packet line. Sequence numbers are script-relative (see match.ts). */
export interface TcpPacketSpec {
  readonly direction: 'inbound' | 'outbound';
  /** The flags in canonical packetdrill order "FSRP.UEW"; "" for `-`. */
  readonly flags: string;
  /** The same flags as TcpFlag bits (src/wire/tcp.ts). */
  readonly flagBits: number;
  readonly seqStart: number;
  readonly seqEnd: number;
  readonly payloadLen: number;
  /** `ack N`, or null when absent. */
  readonly ack: number | null;
  /** `win N`, or null when absent (outbound: not checked). */
  readonly window: number | null;
  /** `urg N`, or null when absent. */
  readonly urgent: number | null;
  /** Options in order; null for the `<...>` wildcard; [] when the packet has no option list. */
  readonly options: readonly ScriptTcpOption[] | null;
  readonly ip: IpInfo | null;
  /** Explicit `sport > dport` ports, when written. */
  readonly ports: { readonly src: number; readonly dst: number } | null;
  /** The packet as written (direction to end), for failure messages. */
  readonly text: string;
}

/** A system call argument or result. */
export type Expr =
  | { readonly kind: 'ellipsis' }
  | { readonly kind: 'int'; readonly value: number; readonly hex: boolean }
  | { readonly kind: 'word'; readonly name: string }
  /** `"abc"`; `truncated` for `"abc"...`. */
  | { readonly kind: 'string'; readonly value: string; readonly truncated: boolean }
  /** `[a, b]`: arrays, int pointers `[1]`, iovec arrays. */
  | { readonly kind: 'list'; readonly items: readonly Expr[] }
  /** `{a, b}` or `{fd=4, events=POLLIN}`: struct literals. */
  | { readonly kind: 'struct'; readonly items: readonly Expr[] }
  /** `htons(8080)`, `inet_addr("192.0.2.1")`. */
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[] }
  /** `name=value` inside a struct; `msg_iov(1)=[...]` carries args [1]. */
  | { readonly kind: 'field'; readonly name: string; readonly args: readonly Expr[] | null; readonly value: Expr }
  /** `a|b` (bitwise OR of flags). */
  | { readonly kind: 'or'; readonly left: Expr; readonly right: Expr };

export interface PacketEvent extends Pos {
  readonly kind: 'packet';
  readonly time: EventTime;
  readonly packet: TcpPacketSpec;
}

export interface SyscallEvent extends Pos {
  readonly kind: 'syscall';
  readonly time: EventTime;
  /** For blocking calls `+0...0.200 accept(...)`: when the call returns (same base as `time`). */
  readonly endUsecs: number | null;
  readonly name: string;
  readonly args: readonly Expr[];
  readonly result: Expr;
  /** `EINPROGRESS` in `= -1 EINPROGRESS (Operation now in progress)`. */
  readonly errno: string | null;
  /** The parenthesised text after the errno (its strerror) or after the result. */
  readonly note: string | null;
  /** The line as written, for failure messages. */
  readonly text: string;
}

/** Backtick shell commands and `%{ }%` python blocks: kept, reported as skipped, never run. */
export interface SkipEvent extends Pos {
  readonly kind: 'skip';
  readonly what: 'shell' | 'python';
  /** null for the untimed init/cleanup command form. */
  readonly time: EventTime | null;
  readonly text: string;
}

export type ScriptEvent = PacketEvent | SyscallEvent | SkipEvent;

export interface Script {
  readonly options: readonly ScriptOption[];
  readonly events: readonly ScriptEvent[];
}

export type ParseResult =
  | { readonly ok: true; readonly script: Script; readonly errors: readonly [] }
  | { readonly ok: false; readonly script: Script; readonly errors: readonly ParseError[] };
