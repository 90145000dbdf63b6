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
}
