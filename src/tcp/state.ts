// The eleven TCP states and the one transition table that drives the code and draws the docs'
// diagram (RFC 9293 section 3.3.2, Figure 5; event processing in section 3.10).

import type { TcpStateName } from '../trace/events.js';

export type { TcpStateName };

export const TcpState = {
  CLOSED: 'CLOSED',
  LISTEN: 'LISTEN',
  SYN_SENT: 'SYN-SENT',
  SYN_RECEIVED: 'SYN-RECEIVED',
  ESTABLISHED: 'ESTABLISHED',
  FIN_WAIT_1: 'FIN-WAIT-1',
  FIN_WAIT_2: 'FIN-WAIT-2',
  CLOSE_WAIT: 'CLOSE-WAIT',
  CLOSING: 'CLOSING',
  LAST_ACK: 'LAST-ACK',
  TIME_WAIT: 'TIME-WAIT',
} as const satisfies Record<string, TcpStateName>;

export const ALL_STATES: readonly TcpStateName[] = Object.values(TcpState);

/** One edge of the state diagram: what event moves `from` to `to`, what is sent, and where the RFC says so. */
export interface Transition {
  readonly from: TcpStateName;
  readonly to: TcpStateName;
  /** The event, in the RFC diagram's words: a user call (OPEN, CLOSE, ABORT), "rcv X" or a timeout. */
  readonly event: string;
  /** What the connection sends as it moves ("-" for nothing). */
  readonly action: string;
  readonly rfc: string;
}

const T = (from: TcpStateName, to: TcpStateName, event: string, action: string, rfc: string): Transition => ({
  from,
  to,
  event,
  action,
  rfc,
});

/** Every transition synack makes. `setState` refuses any pair not listed here. */
export const TRANSITIONS: readonly Transition[] = Object.freeze([
  T('CLOSED', 'LISTEN', 'passive OPEN', '-', '3.10.1'),
  T('CLOSED', 'SYN-SENT', 'active OPEN', 'SYN', '3.10.1'),
  T('LISTEN', 'SYN-RECEIVED', 'rcv SYN', 'SYN,ACK', '3.10.7.2'),
  T('LISTEN', 'SYN-SENT', 'SEND', 'SYN', '3.10.2'),
  T('LISTEN', 'CLOSED', 'CLOSE', '-', '3.10.4'),
  T('SYN-SENT', 'SYN-RECEIVED', 'rcv SYN (simultaneous open)', 'SYN,ACK', '3.10.7.3'),
  T('SYN-SENT', 'ESTABLISHED', 'rcv SYN,ACK', 'ACK', '3.10.7.3'),
  T('SYN-SENT', 'CLOSED', 'CLOSE / rcv RST / timeout', '-', '3.10.4, 3.10.7.3'),
  T('SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK of SYN', '-', '3.10.7.4'),
  T('SYN-RECEIVED', 'FIN-WAIT-1', 'CLOSE', 'FIN', '3.10.4'),
  T('SYN-RECEIVED', 'LISTEN', 'rcv RST (passive open)', '-', '3.10.7.4'),
  T('SYN-RECEIVED', 'CLOSED', 'rcv RST (active open) / ABORT / timeout', '-', '3.10.7.4'),
  T('ESTABLISHED', 'FIN-WAIT-1', 'CLOSE', 'FIN', '3.10.4'),
  T('ESTABLISHED', 'CLOSE-WAIT', 'rcv FIN', 'ACK', '3.10.7.4'),
  T('ESTABLISHED', 'CLOSED', 'rcv RST / ABORT / timeout', '-', '3.10.7.4'),
  T('FIN-WAIT-1', 'FIN-WAIT-2', 'rcv ACK of FIN', '-', '3.10.7.4'),
  T('FIN-WAIT-1', 'CLOSING', 'rcv FIN', 'ACK', '3.10.7.4'),
  T('FIN-WAIT-1', 'TIME-WAIT', 'rcv FIN,ACK of FIN', 'ACK', '3.10.7.4'),
  T('FIN-WAIT-1', 'CLOSED', 'rcv RST / ABORT / timeout', '-', '3.10.7.4'),
  T('FIN-WAIT-2', 'TIME-WAIT', 'rcv FIN', 'ACK', '3.10.7.4'),
  T('FIN-WAIT-2', 'CLOSED', 'rcv RST / ABORT / timeout', '-', '3.10.7.4'),
  T('CLOSE-WAIT', 'LAST-ACK', 'CLOSE', 'FIN', '3.10.4'),
  T('CLOSE-WAIT', 'CLOSED', 'rcv RST / ABORT / timeout', '-', '3.10.7.4'),
  T('CLOSING', 'TIME-WAIT', 'rcv ACK of FIN', '-', '3.10.7.4'),
  T('CLOSING', 'CLOSED', 'rcv RST / ABORT / timeout', '-', '3.10.7.4'),
  T('LAST-ACK', 'CLOSED', 'rcv ACK of FIN / rcv RST / timeout', '-', '3.10.7.4'),
  T('TIME-WAIT', 'CLOSED', 'timeout 2*MSL / ABORT', '-', '3.10.8'),
]);

/** from -> the states it may move to (two lookups of interned names, no string building per call). */
const allowed = new Map<TcpStateName, Set<TcpStateName>>();
for (const t of TRANSITIONS) {
  let to = allowed.get(t.from);
  if (to === undefined) allowed.set(t.from, (to = new Set()));
  to.add(t.to);
}

export function isTransition(from: TcpStateName, to: TcpStateName): boolean {
  return allowed.get(from)?.has(to) === true;
}

/** States in which both sides' initial sequence numbers are known (RFC 9293 3.10.7.4). */
export function isSynchronized(s: TcpStateName): boolean {
  return s !== 'CLOSED' && s !== 'LISTEN' && s !== 'SYN-SENT' && s !== 'SYN-RECEIVED';
}

/** The state diagram as a Mermaid stateDiagram, generated from TRANSITIONS. */
export function stateDiagramMermaid(): string {
  const lines = ['stateDiagram-v2', '    [*] --> CLOSED'];
  const id = (s: TcpStateName): string => s.replace(/-/g, '_');
  for (const s of ALL_STATES) if (s.includes('-')) lines.push(`    state "${s}" as ${id(s)}`);
  for (const t of TRANSITIONS) {
    const label = t.action === '-' ? t.event : `${t.event} / snd ${t.action}`;
    lines.push(`    ${id(t.from)} --> ${id(t.to)}: ${label}`);
  }
  return lines.join('\n');
}
