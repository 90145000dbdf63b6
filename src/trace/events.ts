// Typed trace events: what a stack, a connection or a link reports for people and tools to watch.
// CONTRACT shared by stack/, tcp/, trace/ and cli/. The JSON lines of `synack demo --json` are these objects.

/** The eleven RFC 9293 state names (section 3.3.2). */
export type TcpStateName =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

/** A segment seen crossing between two named hosts (a link tap's view). */
export interface SegmentEvent {
  type: 'segment';
  /** Milliseconds since the start of the trace. */
  t: number;
  from: string;
  to: string;
  /** Comma-joined flag names in the order SYN,FIN,RST,PSH,ACK,URG,ECE,CWR, e.g. "SYN,ACK". */
  flags: string;
  seq: number;
  ack: number;
  len: number;
  /** Raw window field as on the wire. */
  win: number;
  /** True when the link dropped it (the ladder draws an arrow that stops short). */
  lost: boolean;
  /** True when it repeats sequence space already sent (a retransmission). */
  retransmit?: boolean;
  /** True for the second copy of a segment the link delivered twice (the first is its own event). */
  duplicate?: boolean;
  /** Options in tcpdump's text form, e.g. "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7". */
  options?: string;
  /** Which connection (local:port>remote:port from the sender's side) this belongs to. */
  conn?: string;
  /** Free text for people, e.g. "spoofed by an off-path attacker". */
  note?: string;
}

/** A connection changed state. */
export interface StateEvent {
  type: 'state';
  t: number;
  host: string;
  from: TcpStateName;
  to: TcpStateName;
  /** What caused it: a segment ("rcv SYN,ACK"), a user call ("CLOSE"), or a timer ("timeout TIME-WAIT"). */
  cause?: string;
  conn?: string;
}

/** A segment a stack dropped, and why. */
export interface DropEvent {
  type: 'drop';
  t: number;
  host: string;
  reason:
    | 'checksum'
    | 'malformed'
    | 'out-of-window'
    | 'no-listener'
    | 'challenge-ack'
    | 'paws'
    | 'rst-ignored'
    | 'backlog-full'
    | 'bad-ack'
    | 'other';
  detail?: string;
  conn?: string;
}

/** A timer fired. */
export interface TimerEvent {
  type: 'timer';
  t: number;
  host: string;
  timer: 'rto' | 'syn' | 'persist' | 'delayed-ack' | 'keepalive' | 'time-wait' | 'user-timeout' | 'tlp';
  conn?: string;
}

/** Congestion-control or window change. */
export interface CcEvent {
  type: 'cc';
  t: number;
  host: string;
  cwnd: number;
  ssthresh: number;
  reason: string;
  conn?: string;
}

export interface WindowEvent {
  type: 'window';
  t: number;
  host: string;
  /** Receive window advertised (bytes, scaled). */
  rcvWnd: number;
  /** Send window learned from the peer (bytes, scaled). */
  sndWnd: number;
  conn?: string;
}

export interface RetransmitEvent {
  type: 'retransmit';
  t: number;
  host: string;
  seq: number;
  len: number;
  reason: 'rto' | 'fast' | 'sack' | 'tlp' | 'syn' | 'fin' | 'probe';
  conn?: string;
}

/**
 * A listener's SYN cookie (RFC 4987 section 3.6): sent in a stateless SYN-ACK because the SYN
 * queue was full (or cookies are always on), or an ACK that found no connection checked as one.
 */
export interface SynCookieEvent {
  type: 'syncookie';
  t: number;
  host: string;
  action: 'sent' | 'valid' | 'failed';
  /** Why a check failed, or the listener's backlog when one was sent. */
  detail?: string;
  /** local:port>remote:port from the listener's side. */
  conn?: string;
}

/**
 * Link-layer news from an Ethernet interface (src/ethernet): each ARP or neighbour discovery
 * message sent or received (`summary` in tcpdump's words), and each neighbour cache state change.
 */
export interface NeighbourEvent {
  type: 'neighbour';
  t: number;
  host: string;
  /** 'in'/'out' for a message on the wire, 'cache' for a state change of the entry for `ip`. */
  dir: 'in' | 'out' | 'cache';
  ip: string;
  mac: string | null;
  /** The entry's state after the change (INCOMPLETE, REACHABLE, STALE, DELAY, PROBE, FAILED), or the message kind. */
  state: string;
  summary: string;
  /** Link-layer events belong to no connection (present so every event can be filtered by conn). */
  conn?: undefined;
}

export type TraceEvent =
  | SegmentEvent
  | NeighbourEvent
  | SynCookieEvent
  | StateEvent
  | DropEvent
  | TimerEvent
  | CcEvent
  | WindowEvent
  | RetransmitEvent;

export type TraceListener = (e: TraceEvent) => void;
