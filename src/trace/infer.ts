// Follows the TCP connections in a packet capture and infers each side's RFC 9293 states from the
// segments seen (section 3.3.2 states, section 3.10.7 SEGMENT ARRIVES, section 3.6 closing, RFC 5961
// section 3.2 RST window), producing the SegmentEvents and StateEvents that the ladder draws.

import type { SegmentEvent, StateEvent, TcpStateName } from './events.js';
import { readPcap } from '../wire/pcap.js';
import { parseIpPacket } from '../wire/packet.js';
import { parseTcp, tcpFlagsToString, formatTcpOptions, TcpFlag, TCP_PROTOCOL } from '../wire/tcp.js';
import { formatIp } from '../wire/address.js';
import { add, ge, gt, lt, sub } from '../wire/seq.js';
import type { Parsed } from '../wire/result.js';

/** One captured TCP segment, reduced to what inference needs. */
export interface TcpPacketInfo {
  /** Capture time, ms (absolute, as in the file). */
  timeMs: number;
  /** Endpoints as "198.18.0.1:80" or "[2001:db8::1]:80". */
  src: string;
  dst: string;
  seq: number;
  ack: number;
  /** Bitwise OR of TcpFlag values. */
  flags: number;
  window: number;
  /** Payload length in bytes. */
  len: number;
  /** Options in tcpdump's text form ("" when none). */
  options: string;
  /** Window scale shift offered on a SYN, if any. */
  wscale?: number | undefined;
}

/** One followed connection with everything the ladder and the summary need. */
export interface InferredConnection {
  /** 1-based, in order of first packet. */
  id: number;
  /** The side that sent the first SYN (or, with no SYN captured, the first packet's sender). */
  client: string;
  server: string;
  /** Capture time of the connection's first packet (ms); event times are relative to it. */
  startMs: number;
  /** True when the handshake's first SYN was captured, so the initial states are known, not assumed. */
  sawOpen: boolean;
  events: (SegmentEvent | StateEvent)[];
  /** States each side went through, starting with the state it was in before the first packet. */
  clientStates: TcpStateName[];
  serverStates: TcpStateName[];
  segments: number;
  /** Payload bytes sent by each side (retransmissions included). */
  clientBytes: number;
  serverBytes: number;
  retransmissions: number;
}

function endpoint(addr: Uint8Array, port: number): string {
  const ip = formatIp(addr);
  return addr.length === 16 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Extracts the TCP segments of a pcap file; other packets and ones that fail to parse are counted in `skipped`. */
export function tcpPacketsFromPcap(file: Uint8Array): Parsed<{ packets: TcpPacketInfo[]; skipped: number; truncated: boolean }> {
  const r = readPcap(file);
  if (!r.ok) return r;
  const packets: TcpPacketInfo[] = [];
  let skipped = 0;
  for (const rec of r.value.packets) {
    const ip = parseIpPacket(rec.data);
    if (!ip.ok || ip.value.protocol !== TCP_PROTOCOL || ip.value.isFragment) {
      skipped++;
      continue;
    }
    const seg = ip.value.payload;
    const tcp = parseTcp(seg);
    if (!tcp.ok) {
      skipped++;
      continue;
    }
    const t = tcp.value;
    const dataOffset = ((seg[12] ?? 0) >>> 4) * 4;
    packets.push({
      timeMs: rec.timeMs,
      src: endpoint(ip.value.src, t.srcPort),
      dst: endpoint(ip.value.dst, t.dstPort),
      seq: t.seq,
      ack: t.ack,
      flags: t.flags,
      window: t.window,
      len: t.payload.length,
      options: dataOffset > 20 ? formatTcpOptions(seg.subarray(20, dataOffset)) : '',
      wscale: t.options.wscale,
    });
  }
  return { ok: true, value: { packets, skipped, truncated: r.value.truncated } };
}

/** Groups packets by 4-tuple; a SYN with a new ISN from the same sender starts a new connection. */
export function groupConnections(packets: readonly TcpPacketInfo[]): TcpPacketInfo[][] {
  const groups: TcpPacketInfo[][] = [];
  const current = new Map<string, { list: TcpPacketInfo[]; synFrom?: string; isn?: number }>();
  for (const p of packets) {
    const key = p.src < p.dst ? `${p.src}|${p.dst}` : `${p.dst}|${p.src}`;
    const isSyn = (p.flags & TcpFlag.SYN) !== 0 && (p.flags & TcpFlag.ACK) === 0;
    let c = current.get(key);
    if (c !== undefined && isSyn && c.synFrom === p.src && c.isn !== undefined && c.isn !== p.seq) c = undefined;
    if (c === undefined) {
      c = { list: [] };
      current.set(key, c);
      groups.push(c.list);
    }
    if (isSyn && c.synFrom === undefined) {
      c.synFrom = p.src;
      c.isn = p.seq;
    }
    c.list.push(p);
  }
  return groups;
}

interface Side {
  name: string;
  state: TcpStateName;
  visited: TcpStateName[];
  /** Entered SYN-RECEIVED from LISTEN (a RST then returns it to LISTEN, RFC 9293 section 3.10.7.4). */
  passive: boolean;
  isn: number | undefined;
  /** One past the highest sequence number sent (SND.MAX). */
  sndMax: number | undefined;
  /** Sequence number of this side's FIN, once sent. */
  finSeq: number | undefined;
  finAcked: boolean;
  /** One past the highest in-sequence byte received from the peer (RCV.NXT as seen on the wire). */
  rcvNxt: number | undefined;
  peerFinSeen: boolean;
  wscale: number | undefined;
  lastWin: number;
  bytes: number;
}

function side(name: string, state: TcpStateName): Side {
  return {
    name,
    state,
    visited: [state],
    passive: state === 'LISTEN' || state === 'SYN-RECEIVED',
    isn: undefined,
    sndMax: undefined,
    finSeq: undefined,
    finAcked: false,
    rcvNxt: undefined,
    peerFinSeen: false,
    wscale: undefined,
    lastWin: 65535,
    bytes: 0,
  };
}

const has = (flags: number, f: number): boolean => (flags & f) !== 0;

/** Infers the states of both sides of one connection from its packets (capture order). */
export function inferConnection(packets: readonly TcpPacketInfo[], id = 1): InferredConnection {
  const first = packets[0];
  if (first === undefined) throw new RangeError('inferConnection needs at least one packet');
  const firstSynIsPlain = has(first.flags, TcpFlag.SYN) && !has(first.flags, TcpFlag.ACK);
  const firstIsSynAck = has(first.flags, TcpFlag.SYN) && has(first.flags, TcpFlag.ACK);
  const clientName = firstIsSynAck ? first.dst : first.src;
  const serverName = firstIsSynAck ? first.src : first.dst;
  let client: Side;
  let server: Side;
  if (firstSynIsPlain) {
    // The server's first SYN tells how it was waiting: a SYN-ACK means LISTEN, a bare SYN means it
    // was opening too (simultaneous open, RFC 9293 section 3.5 figure 8); none means nothing listened.
    const serverSyn = packets.find((p) => p.src === serverName && has(p.flags, TcpFlag.SYN));
    const serverInitial: TcpStateName = serverSyn !== undefined && has(serverSyn.flags, TcpFlag.ACK) ? 'LISTEN' : 'CLOSED';
    client = side(clientName, 'CLOSED');
    server = side(serverName, serverInitial);
  } else if (firstIsSynAck) {
    client = side(clientName, 'SYN-SENT');
    server = side(serverName, 'SYN-RECEIVED');
  } else {
    client = side(clientName, 'ESTABLISHED');
    server = side(serverName, 'ESTABLISHED');
  }
  client.passive = false;

  const start = first.timeMs;
  const events: (SegmentEvent | StateEvent)[] = [];
  let retransmissions = 0;
  const conn = (x: Side, y: Side): string => `${x.name}>${y.name}`;
  const move = (s: Side, peer: Side, to: TcpStateName, t: number, cause: string): void => {
    if (s.state === to) return;
    events.push({ type: 'state', t, host: s.name, from: s.state, to, cause, conn: conn(s, peer) });
    s.state = to;
    s.visited.push(to);
  };

  /**
   * A capture shows two segments that crossed in flight one after the other. When `y` receives a
   * SYN (or FIN) and its own next segment is a bare SYN (or a FIN that does not acknowledge the
   * peer's), y had sent it before this one arrived: simultaneous open or close (RFC 9293 3.5, 3.6).
   */
  const crossed = (i: number, y: Side, kind: 'SYN' | 'FIN', peerFinSeq: number | undefined): TcpPacketInfo | undefined => {
    for (let j = i + 1; j < packets.length; j++) {
      const q = packets[j]!;
      if (q.src !== y.name) continue;
      if (kind === 'SYN') return has(q.flags, TcpFlag.SYN) && !has(q.flags, TcpFlag.ACK) ? q : undefined;
      if (!has(q.flags, TcpFlag.FIN) || peerFinSeq === undefined) return undefined;
      return !has(q.flags, TcpFlag.ACK) || lt(q.ack, add(peerFinSeq, 1)) ? q : undefined;
    }
    return undefined;
  };

  for (const [i, p] of packets.entries()) {
    const x = p.src === client.name ? client : server;
    const y = x === client ? server : client;
    const t = p.timeMs - start;
    const syn = has(p.flags, TcpFlag.SYN);
    const ackSet = has(p.flags, TcpFlag.ACK);
    const fin = has(p.flags, TcpFlag.FIN);
    const rst = has(p.flags, TcpFlag.RST);
    const flagsText = tcpFlagsToString(p.flags);
    const seqLen = p.len + (syn ? 1 : 0) + (fin ? 1 : 0);
    const end = add(p.seq, seqLen);

    // --- the sender: what sending this segment says about its state
    const retransmit = seqLen > 0 && x.sndMax !== undefined && lt(p.seq, x.sndMax) && !rst;
    if (retransmit) retransmissions++;
    if (x.sndMax === undefined || gt(end, x.sndMax)) x.sndMax = end;
    if (syn) {
      x.isn = p.seq;
      if (p.wscale !== undefined) x.wscale = p.wscale;
    }
    if (!has(p.flags, TcpFlag.RST)) x.lastWin = p.window;
    x.bytes += p.len;
    const rstOk = rst && rstAcceptable(p, x, y);
    if (rst) {
      // Only a RST its receiver would accept is taken as the sender's own: an off-path guess is not.
      if (rstOk && x.state !== 'CLOSED' && x.state !== 'LISTEN') move(x, y, 'CLOSED', t, 'send RST');
    } else if (syn && !ackSet) {
      if (x.state === 'CLOSED' || x.state === 'LISTEN') move(x, y, 'SYN-SENT', t, 'OPEN, send SYN');
    }
    if (fin && !rst && x.finSeq === undefined) {
      x.finSeq = add(p.seq, p.len + (syn ? 1 : 0));
      // RFC 9293 section 3.10.4 CLOSE: ESTABLISHED/SYN-RECEIVED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK.
      if (x.state === 'ESTABLISHED' || x.state === 'SYN-RECEIVED') move(x, y, 'FIN-WAIT-1', t, 'CLOSE, send FIN');
      else if (x.state === 'CLOSE-WAIT') move(x, y, 'LAST-ACK', t, 'CLOSE, send FIN');
    }

    const seg: SegmentEvent = {
      type: 'segment',
      t,
      from: x.name,
      to: y.name,
      flags: flagsText,
      seq: p.seq,
      ack: p.ack,
      len: p.len,
      win: p.window,
      lost: false,
      conn: conn(x, y),
    };
    if (retransmit) seg.retransmit = true;
    if (p.options !== '') seg.options = p.options;
    events.push(seg);

    // --- the receiver: RFC 9293 section 3.10.7 in the order it checks things
    if (rst) {
      if (rstOk) {
        if (y.state === 'SYN-RECEIVED' && y.passive) move(y, x, 'LISTEN', t, 'rcv RST');
        else if (y.state !== 'CLOSED' && y.state !== 'LISTEN') move(y, x, 'CLOSED', t, 'rcv RST');
      }
      continue;
    }
    if (syn) {
      if (y.rcvNxt === undefined || !ackSet || y.state === 'SYN-SENT') y.rcvNxt = add(p.seq, 1);
      if (!ackSet) {
        if (y.state === 'CLOSED' && crossed(i, y, 'SYN', undefined) !== undefined) move(y, x, 'SYN-SENT', t, 'OPEN, send SYN');
        // 3.10.7.2 LISTEN and 3.10.7.3 SYN-SENT (simultaneous open): both go to SYN-RECEIVED.
        if (y.state === 'LISTEN' || y.state === 'SYN-SENT') move(y, x, 'SYN-RECEIVED', t, 'rcv SYN');
      } else if ((y.state === 'SYN-SENT' || y.state === 'SYN-RECEIVED') && y.isn !== undefined && p.ack === add(y.isn, 1)) {
        move(y, x, 'ESTABLISHED', t, `rcv ${flagsText}`);
      }
    }
    if (ackSet && !syn) {
      if (y.state === 'SYN-RECEIVED' && (y.isn === undefined || ge(p.ack, add(y.isn, 1)))) move(y, x, 'ESTABLISHED', t, 'rcv ACK of SYN');
      if (y.finSeq !== undefined && !y.finAcked && ge(p.ack, add(y.finSeq, 1))) {
        y.finAcked = true;
        // 3.10.7.4 fifth check, ACK field, per state.
        if (y.state === 'FIN-WAIT-1') move(y, x, 'FIN-WAIT-2', t, 'rcv ACK of FIN');
        else if (y.state === 'CLOSING') move(y, x, 'TIME-WAIT', t, 'rcv ACK of FIN');
        else if (y.state === 'LAST-ACK') move(y, x, 'CLOSED', t, 'rcv ACK of FIN');
      }
    }
    if (y.rcvNxt !== undefined && !syn && ge(y.rcvNxt, p.seq) && gt(end, y.rcvNxt)) y.rcvNxt = end;
    if (y.rcvNxt === undefined && !syn) y.rcvNxt = end;
    if (fin && !y.peerFinSeen) {
      y.peerFinSeen = true;
      if ((y.state === 'ESTABLISHED' || y.state === 'SYN-RECEIVED') && y.finSeq === undefined) {
        const own = crossed(i, y, 'FIN', x.finSeq);
        if (own !== undefined) {
          y.finSeq = add(own.seq, own.len);
          move(y, x, 'FIN-WAIT-1', t, 'CLOSE, send FIN');
        }
      }
      // 3.10.7.4 eighth check, FIN bit.
      if (y.state === 'ESTABLISHED' || y.state === 'SYN-RECEIVED') move(y, x, 'CLOSE-WAIT', t, 'rcv FIN');
      else if (y.state === 'FIN-WAIT-1') move(y, x, 'CLOSING', t, 'rcv FIN');
      else if (y.state === 'FIN-WAIT-2') move(y, x, 'TIME-WAIT', t, 'rcv FIN');
    }
  }

  return {
    id,
    client: client.name,
    server: server.name,
    startMs: start,
    sawOpen: firstSynIsPlain,
    events,
    clientStates: client.visited,
    serverStates: server.visited,
    segments: packets.length,
    clientBytes: client.bytes,
    serverBytes: server.bytes,
    retransmissions,
  };
}

/** Would `y` accept this RST from `x`? (RFC 9293 3.10.7.3 in SYN-SENT; 3.10.7.4 / RFC 5961 3.2 otherwise.) */
function rstAcceptable(p: TcpPacketInfo, x: Side, y: Side): boolean {
  if (y.state === 'SYN-SENT') return has(p.flags, TcpFlag.ACK) && y.isn !== undefined && p.ack === add(y.isn, 1);
  if (y.rcvNxt === undefined) return true;
  // The RST's seq must fall in the window y advertised (scaled when both sides offered scaling).
  const scale = y.wscale !== undefined && x.wscale !== undefined ? y.wscale : 0;
  const wnd = Math.max(1, y.lastWin * 2 ** scale);
  const off = sub(p.seq, y.rcvNxt);
  return off >= 0 && off < wnd;
}

/** Follows every TCP connection in the packets (capture order) and infers both sides' states. */
export function inferConnections(packets: readonly TcpPacketInfo[]): InferredConnection[] {
  return groupConnections(packets).map((g, i) => inferConnection(g, i + 1));
}
