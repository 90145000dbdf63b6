// Hand-built trace events for the ladder golden tests: a textbook connection, a lost segment with
// its retransmission, and a simultaneous close (RFC 9293 section 3.6, figure 13).
import type { SegmentEvent, StateEvent, TcpStateName, TraceEvent } from '../../src/trace/events.js';

export const CLIENT_ISN = 2837461923;
export const SERVER_ISN = 918273645;

function seg(t: number, from: string, to: string, flags: string, seq: number, ack: number, len: number, extra: Partial<SegmentEvent> = {}): SegmentEvent {
  return { type: 'segment', t, from, to, flags, seq: seq >>> 0, ack: ack >>> 0, len, win: 64240, lost: false, ...extra };
}
function st(t: number, host: string, from: TcpStateName, to: TcpStateName, cause?: string): StateEvent {
  return cause === undefined ? { type: 'state', t, host, from, to } : { type: 'state', t, host, from, to, cause };
}

const C = CLIENT_ISN;
const S = SERVER_ISN;

/** Handshake, an 18-byte request, a 120-byte response, the client closes first, TIME-WAIT runs out. */
export function textbook(): TraceEvent[] {
  return [
    st(0, 'server', 'CLOSED', 'LISTEN', 'passive OPEN'),
    st(0, 'client', 'CLOSED', 'SYN-SENT', 'active OPEN'),
    seg(0, 'client', 'server', 'SYN', C, 0, 0, { options: 'mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7' }),
    st(0.5, 'server', 'LISTEN', 'SYN-RECEIVED', 'rcv SYN'),
    seg(0.5, 'server', 'client', 'SYN,ACK', S, C + 1, 0),
    st(1, 'client', 'SYN-SENT', 'ESTABLISHED', 'rcv SYN,ACK'),
    seg(1, 'client', 'server', 'ACK', C + 1, S + 1, 0),
    seg(1, 'client', 'server', 'PSH,ACK', C + 1, S + 1, 18),
    st(1.5, 'server', 'SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK'),
    seg(1.5, 'server', 'client', 'PSH,ACK', S + 1, C + 19, 120),
    seg(2, 'client', 'server', 'ACK', C + 19, S + 121, 0),
    st(3, 'client', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSE'),
    seg(3, 'client', 'server', 'FIN,ACK', C + 19, S + 121, 0),
    st(3.5, 'server', 'ESTABLISHED', 'CLOSE-WAIT', 'rcv FIN'),
    seg(3.5, 'server', 'client', 'ACK', S + 121, C + 20, 0),
    st(4, 'client', 'FIN-WAIT-1', 'FIN-WAIT-2', 'rcv ACK of FIN'),
    st(5, 'server', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSE'),
    seg(5, 'server', 'client', 'FIN,ACK', S + 121, C + 20, 0),
    st(5.5, 'client', 'FIN-WAIT-2', 'TIME-WAIT', 'rcv FIN'),
    seg(5.5, 'client', 'server', 'ACK', C + 20, S + 122, 0),
    st(6, 'server', 'LAST-ACK', 'CLOSED', 'rcv ACK of FIN'),
    st(60005.5, 'client', 'TIME-WAIT', 'CLOSED', 'timeout TIME-WAIT'),
  ];
}

/** After the handshake the client's 100-byte segment is lost; the RTO fires and it is sent again. */
export function lossAndRetransmit(): TraceEvent[] {
  return [
    st(0, 'client', 'CLOSED', 'SYN-SENT', 'active OPEN'),
    seg(0, 'client', 'server', 'SYN', C, 0, 0),
    st(10, 'server', 'LISTEN', 'SYN-RECEIVED', 'rcv SYN'),
    seg(10, 'server', 'client', 'SYN,ACK', S, C + 1, 0),
    st(20, 'client', 'SYN-SENT', 'ESTABLISHED', 'rcv SYN,ACK'),
    seg(20, 'client', 'server', 'ACK', C + 1, S + 1, 0),
    seg(20, 'client', 'server', 'PSH,ACK', C + 1, S + 1, 100, { lost: true }),
    st(30, 'server', 'SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK'),
    seg(220, 'client', 'server', 'PSH,ACK', C + 1, S + 1, 100, { retransmit: true }),
    seg(230, 'server', 'client', 'ACK', S + 1, C + 101, 0),
  ];
}

/** Both sides close at the same moment: FIN-WAIT-1, CLOSING, TIME-WAIT on each side. */
export function simultaneousClose(): TraceEvent[] {
  return [
    st(10, 'client', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSE'),
    st(10, 'server', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSE'),
    seg(10, 'client', 'server', 'FIN,ACK', C + 1, S + 1, 0),
    seg(10, 'server', 'client', 'FIN,ACK', S + 1, C + 1, 0),
    st(10.5, 'client', 'FIN-WAIT-1', 'CLOSING', 'rcv FIN'),
    st(10.5, 'server', 'FIN-WAIT-1', 'CLOSING', 'rcv FIN'),
    seg(10.5, 'client', 'server', 'ACK', C + 2, S + 2, 0),
    seg(10.5, 'server', 'client', 'ACK', S + 2, C + 2, 0),
    st(11, 'client', 'CLOSING', 'TIME-WAIT', 'rcv ACK of FIN'),
    st(11, 'server', 'CLOSING', 'TIME-WAIT', 'rcv ACK of FIN'),
  ];
}
