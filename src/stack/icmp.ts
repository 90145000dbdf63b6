// ICMP policy for the stack: how much of an offending packet an error quotes (RFC 1812 4.3.2.3,
// RFC 4443 2.4(c)), and how an incoming error maps onto TCP: hard or soft (RFC 1122 4.2.3.9,
// RFC 5461) or a path MTU update (RFC 1191, RFC 8201).
import type { IcmpRepr } from '../wire/icmp.js';

/** The Node-style error an ICMP report stands for (what connect() fails with on a hard error). */
export type IcmpErrno = 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ENETUNREACH';

/** An ICMP error message as the TCP layer sees it. */
export type IcmpAction =
  | { kind: 'hard' | 'soft'; errno: IcmpErrno; detail: string }
  | { kind: 'pmtu'; mtu: number };

/** IPv4 minimum MTU (RFC 791) and IPv6 minimum link MTU (RFC 8200 section 5). */
export const MIN_MTU_V4 = 68;
export const MIN_MTU_V6 = 1280;

/** The part of `packet` an ICMP error about it quotes: v4 up to 576 bytes total, v6 up to 1280. */
export function quoteFor(packet: Uint8Array, v6: boolean): Uint8Array {
  const room = v6 ? MIN_MTU_V6 - 40 - 8 : 576 - 20 - 8;
  return packet.subarray(0, Math.min(packet.length, room));
}

const V4_UNREACH = ['net-unreachable', 'host-unreachable', 'protocol-unreachable', 'port-unreachable', 'frag-needed', 'source-route-failed'];
const V6_UNREACH = ['no-route', 'admin-prohibited', 'beyond-scope', 'address-unreachable', 'port-unreachable', 'source-policy', 'reject-route'];

function errnoFor(detail: string): IcmpErrno {
  if (detail === 'port-unreachable' || detail === 'protocol-unreachable') return 'ECONNREFUSED';
  if (detail === 'net-unreachable' || detail === 'no-route' || detail === 'reject-route') return 'ENETUNREACH';
  return 'EHOSTUNREACH';
}

/**
 * Classify an ICMP error for TCP. RFC 1122 4.2.3.9: destination unreachable codes 2-4 (v4) are
 * hard, 0, 1 and 5 soft, time exceeded soft; code 4 (fragmentation needed) is a path MTU report
 * (RFC 1191). For IPv6 (RFC 4443 3.1, RFC 5461 section 4) port
 * unreachable and administratively prohibited are hard. The connection applies RFC 5461: hard
 * errors abort only while connecting; on an established connection they are recorded as soft.
 */
export function classifyIcmpError(repr: IcmpRepr, v6: boolean): IcmpAction | null {
  switch (repr.kind) {
    case 'packet-too-big':
      return { kind: 'pmtu', mtu: repr.mtu };
    case 'time-exceeded':
      return { kind: 'soft', errno: 'EHOSTUNREACH', detail: repr.code === 0 ? 'ttl-exceeded' : 'reassembly-timeout' };
    case 'dst-unreachable': {
      if (v6) {
        const detail = V6_UNREACH[repr.code] ?? `unreachable-${repr.code}`;
        return { kind: repr.code === 1 || repr.code === 4 ? 'hard' : 'soft', errno: errnoFor(detail), detail };
      }
      // Fragmentation needed without a next-hop MTU (pre-RFC 1191 routers): assume 576.
      if (repr.code === 4) return { kind: 'pmtu', mtu: 576 };
      const detail = V4_UNREACH[repr.code] ?? (repr.code === 13 ? 'admin-prohibited' : `unreachable-${repr.code}`);
      return { kind: repr.code === 2 || repr.code === 3 ? 'hard' : 'soft', errno: errnoFor(detail), detail };
    }
    default:
      return null;
  }
}

/**
 * The MSS a connection may use after a packet-too-big report of `mtu` (RFC 1191 section 5, RFC 8201
 * section 4: IPv6 never goes below 1280; IPv4 never below an MSS of 64, the smallest synack configures).
 */
export function mssForMtu(mtu: number, v6: boolean): number {
  // An IPv4 packet's total length is 16 bits, so lo's 65536 gives 65535 - 40 (Linux clamps too).
  const m = v6 ? Math.max(mtu, MIN_MTU_V6) : Math.min(Math.max(mtu, MIN_MTU_V4), 65535);
  return Math.max(m - (v6 ? 60 : 40), v6 ? 1220 : 64);
}
