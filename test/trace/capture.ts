// Builds pcap files of scripted TCP conversations with the wire builders and PcapWriter, for the
// inference and `synack trace` tests.
import { PcapWriter } from '../../src/wire/pcap.js';
import { buildTcpPacket, buildUdpPacket } from '../../src/wire/packet.js';
import { parseIp } from '../../src/wire/address.js';
import { TcpFlag, type TcpOptions } from '../../src/wire/tcp.js';

export interface Peer {
  ip: string;
  port: number;
}

const BASE_MS = Date.UTC(2025, 0, 2, 3, 4, 5);

/** Collects packets between peers `a` and `b`; `bytes()` returns the pcap file. */
export class Capture {
  private readonly chunks: Uint8Array[] = [];
  private readonly writer = new PcapWriter((c) => this.chunks.push(c));

  /** One TCP segment at `t` ms after the capture's start; `flags` like "SYN,ACK". */
  tcp(t: number, from: Peer, to: Peer, flags: string, seq: number, ack: number, len = 0, opts: { window?: number; options?: TcpOptions } = {}): this {
    let bits = 0;
    for (const f of flags.split(',').filter((s) => s !== '')) bits |= TcpFlag[f as keyof typeof TcpFlag];
    const pkt = buildTcpPacket(ip(from.ip), ip(to.ip), {
      srcPort: from.port,
      dstPort: to.port,
      seq: seq >>> 0,
      ack: ack >>> 0,
      flags: bits,
      window: opts.window ?? 64240,
      urgent: 0,
      options: opts.options ?? {},
      payload: new Uint8Array(len).fill(0x61),
    });
    this.writer.writePacket(pkt, BASE_MS + t);
    return this;
  }

  udp(t: number, from: Peer, to: Peer): this {
    this.writer.writePacket(buildUdpPacket(ip(from.ip), ip(to.ip), { srcPort: from.port, dstPort: to.port, payload: new Uint8Array(4) }), BASE_MS + t);
    return this;
  }

  bytes(): Uint8Array {
    const n = this.chunks.reduce((s, c) => s + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function ip(text: string): Uint8Array {
  const a = parseIp(text);
  if (a === null) throw new Error(`bad address ${text}`);
  return a;
}

export const CLI: Peer = { ip: '198.18.0.1', port: 40000 };
export const SRV: Peer = { ip: '198.18.0.2', port: 8080 };
export const C_ISN = 3000000000;
export const S_ISN = 12345;

/** Handshake, an 18-byte request, a 120-byte response, then the client closes first. */
export function clientClosesFirst(cap = new Capture(), c: Peer = CLI, s: Peer = SRV, ci = C_ISN, si = S_ISN): Capture {
  return cap
    .tcp(0, c, s, 'SYN', ci, 0, 0, { options: { mss: 1460, sackPermitted: true, timestamp: { val: 1, ecr: 0 }, wscale: 7 } })
    .tcp(0.2, s, c, 'SYN,ACK', si, ci + 1, 0, { options: { mss: 1460, wscale: 7 } })
    .tcp(0.3, c, s, 'ACK', ci + 1, si + 1)
    .tcp(0.4, c, s, 'PSH,ACK', ci + 1, si + 1, 18)
    .tcp(0.5, s, c, 'ACK', si + 1, ci + 19)
    .tcp(0.6, s, c, 'PSH,ACK', si + 1, ci + 19, 120)
    .tcp(0.7, c, s, 'ACK', ci + 19, si + 121)
    .tcp(1.0, c, s, 'FIN,ACK', ci + 19, si + 121)
    .tcp(1.1, s, c, 'ACK', si + 121, ci + 20)
    .tcp(2.0, s, c, 'FIN,ACK', si + 121, ci + 20)
    .tcp(2.1, c, s, 'ACK', ci + 20, si + 122);
}
