// IP-level socket options on a TCP socket as Linux's ip_setsockopt / do_ipv6_setsockopt check
// them: IP_TOS (IPV6_TCLASS), the type of service of RFC 791 and DS field of RFC 2474, and
// IP_MTU_DISCOVER (IPV6_MTU_DISCOVER), RFC 1191 path MTU discovery's mode. They are accepted and
// read back by getsockopt. Nothing else observes them here: synack puts no per-socket TOS on its
// packets (and the runner does not check a script's `(tos ...)`), and its path MTU discovery does
// not depend on the mode.

import { LINUX_SYMBOLS as S } from './linux.js';

/** What a socket keeps of its IP options. */
export interface IpOptions {
  tos: number;
  pmtudisc: number;
}

/**
 * Apply setsockopt(level SOL_IP or SOL_IPV6, `opt`, `v`); returns null or the errno name. A TCP
 * socket keeps its ECN bits (RFC 3168) out of the application's hands (ip_setsockopt masks them);
 * modes run 0..5 (IP_PMTUDISC_DONT..OMIT). Other IP options: ENOPROTOOPT (the script is then
 * unsupported).
 */
export function setIpOption(o: IpOptions, level: number, opt: number, v: number): string | null {
  const v6 = level === S['SOL_IPV6'];
  if (opt === (v6 ? S['IPV6_TCLASS'] : S['IP_TOS'])) {
    if (v6 && (v < -1 || v > 0xff)) return 'EINVAL';
    o.tos = (v6 && v === -1 ? 0 : v & 0xff) & ~0x03;
    return null;
  }
  if (opt === (v6 ? S['IPV6_MTU_DISCOVER'] : S['IP_MTU_DISCOVER'])) {
    if (v < 0 || v > 5) return 'EINVAL';
    o.pmtudisc = v;
    return null;
  }
  return 'ENOPROTOOPT';
}
