// Linux's TCP sysctls as packetdrill scripts set them (defaults.sh, `sysctl -q`, set_sysctls.py),
// mapped onto synack's stack configuration the way Linux would apply them: tcp_rmem decides the
// receive buffer and the window scale offered, tcp_wmem the send buffer, tcp_sack / tcp_timestamps /
// tcp_window_scaling the SYN options, and so on. A setting synack does not model is either harmless
// (its value is what synack does anyway, or it only matters for a feature synack lacks, which a
// script then fails on by itself) and reported once, or it changes behaviour synack cannot
// reproduce, and the script is reported as unsupported rather than failed.

import type { CongestionName } from '../tcp/congestion/cc.js';
import type { TcpConfigInput } from '../tcp/config.js';

export type SynCookieMode = 'auto' | 'always' | 'never';

/** What setting one sysctl did. */
export type SysctlOutcome =
  | { kind: 'applied' }
  /** Not modelled, harmless here; `note` says why (reported once per run). */
  | { kind: 'ignored'; note: string }
  /** Not modelled and the value changes behaviour: the script is unsupported. */
  | { kind: 'unsupported'; reason: string };

/** Linux 6.x defaults for the settings below (values as `sysctl` prints them). */
const LINUX_DEFAULTS: Readonly<Record<string, string>> = {
  'net.ipv4.tcp_rmem': '4096 131072 6291456',
  'net.ipv4.tcp_wmem': '4096 16384 4194304',
  'net.core.rmem_max': '212992',
  'net.core.wmem_max': '212992',
  'net.ipv4.tcp_syn_retries': '6',
  'net.ipv4.tcp_synack_retries': '5',
  'net.ipv4.tcp_min_tso_segs': '2',
  'net.ipv4.tcp_pacing_ss_ratio': '200',
  'net.ipv4.tcp_pacing_ca_ratio': '120',
};

const intOf = (v: string): number | null => {
  const t = v.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^-?\d+$/.test(t) ? Number(t) : NaN;
  return Number.isSafeInteger(n) ? n : null;
};
const triple = (v: string): [number, number, number] | null => {
  const p = v.trim().split(/\s+/).map(intOf);
  return p.length === 3 && p.every((x) => x !== null && x > 0) ? (p as [number, number, number]) : null;
};

type Entry = (value: string, s: LinuxSysctls) => SysctlOutcome;

const applied: SysctlOutcome = { kind: 'applied' };
const ignored = (note: string): SysctlOutcome => ({ kind: 'ignored', note });
const unsupported = (reason: string): SysctlOutcome => ({ kind: 'unsupported', reason });

/** A boolean sysctl onto a TcpConfig flag. */
const flag = (key: 'sack' | 'timestamps' | 'windowScale'): Entry => (v, s) => {
  const n = intOf(v);
  if (n === null || n < 0) return unsupported(`value ${JSON.stringify(v)} is not a number`);
  s.tcp[key] = n !== 0;
  return applied;
};
/** An integer sysctl onto a TcpConfig number (times `scale`), within [lo, hi]. */
const num = (key: 'synRetries' | 'synAckRetries' | 'retries' | 'dupThresh' | 'minRto' | 'maxRto' | 'finWait2Timeout', scale: number, lo: number, hi: number): Entry => (v, s) => {
  const n = intOf(v);
  if (n === null || n < lo || n > hi) return unsupported(`value ${JSON.stringify(v)} outside what synack models (${lo}..${hi})`);
  s.tcp[key] = n * scale;
  return applied;
};
/** A setting synack behaves as if set to `same`; any other value is unsupported. */
const only = (same: string, what: string): Entry => (v) =>
  intOf(v) !== null && intOf(v) === intOf(same) ? ignored(`${what}; synack behaves as with ${same}`) : unsupported(`${what} (synack behaves as with ${same})`);
/** A setting that only matters for a feature synack does not implement. */
const feature = (what: string): Entry => () => ignored(what);

const ENTRIES: Readonly<Record<string, Entry>> = {
  'net.ipv4.tcp_rmem': (v, s) => (triple(v) === null ? unsupported(`needs "min default max", got ${JSON.stringify(v)}`) : applied),
  'net.ipv4.tcp_wmem': (v, s) => (triple(v) === null ? unsupported(`needs "min default max", got ${JSON.stringify(v)}`) : applied),
  'net.core.rmem_max': (v) => (intOf(v) === null ? unsupported('not a number') : applied),
  'net.core.wmem_max': (v) => (intOf(v) === null ? unsupported('not a number') : applied),
  'net.core.rmem_default': feature('non-TCP socket buffer default; TCP uses tcp_rmem'),
  'net.core.wmem_default': feature('non-TCP socket buffer default; TCP uses tcp_wmem'),
  'net.core.default_qdisc': (v) =>
    /^(pfifo_fast|pfifo|fq_codel|noqueue)$/.test(v.trim()) ? ignored('queueing discipline: synack has no qdisc and does not pace') : unsupported(`qdisc ${v.trim()} (pacing) is not modelled`),
  'net.ipv4.tcp_sack': flag('sack'),
  'net.ipv4.tcp_timestamps': flag('timestamps'),
  'net.ipv4.tcp_window_scaling': flag('windowScale'),
  'net.ipv4.tcp_dsack': only('1', 'D-SACK is always on'),
  'net.ipv4.tcp_syn_retries': num('synRetries', 1, 1, 127),
  'net.ipv4.tcp_synack_retries': num('synAckRetries', 1, 1, 255),
  'net.ipv4.tcp_retries2': num('retries', 1, 1, 255),
  'net.ipv4.tcp_reordering': num('dupThresh', 1, 1, 300),
  'net.ipv4.tcp_rto_min_us': (v, s) => {
    const n = intOf(v);
    if (n === null || n < 1000 || n > 3_600_000_000) return unsupported(`rto_min ${v} is not modelled (1 ms and up)`);
    s.tcp.minRto = n / 1000;
    return applied;
  },
  'net.ipv4.tcp_rto_max_ms': num('maxRto', 1, 1000, 120_000),
  'net.ipv4.tcp_fin_timeout': num('finWait2Timeout', 1000, 1, 3600),
  'net.ipv4.tcp_congestion_control': (v, s) => {
    const cc: Record<string, CongestionName> = { cubic: 'cubic', reno: 'newreno' };
    const c = cc[v.trim()];
    if (c === undefined) return unsupported(`congestion control ${v.trim()} is not implemented (cubic and reno are)`);
    s.tcp.congestion = c;
    return applied;
  },
  'net.ipv4.tcp_recovery': (v, s) => {
    const n = intOf(v);
    if (n === null || (n & ~1) !== 0) return unsupported(`tcp_recovery ${v}: only bit 0 (RACK) is modelled`);
    s.tcp.rack = (n & 1) !== 0;
    return applied;
  },
  'net.ipv4.tcp_early_retrans': (v) => {
    const n = intOf(v);
    return n === 3 || n === 4 ? ignored('TLP is on with RACK, as with 3 or 4') : unsupported(`tcp_early_retrans ${v}: TLP cannot be turned off apart from RACK`);
  },
  'net.ipv4.tcp_syncookies': (v, s) => {
    const modes: Record<string, SynCookieMode> = { '0': 'never', '1': 'auto', '2': 'always' };
    const m = modes[v.trim()];
    if (m === undefined) return unsupported(`tcp_syncookies ${v}`);
    s.synCookies = m;
    return applied;
  },
  'net.ipv4.tcp_slow_start_after_idle': (v, s) => {
    const n = intOf(v);
    if (n === null || n < 0) return unsupported(`value ${JSON.stringify(v)} is not a number`);
    s.tcp.slowStartAfterIdle = n !== 0;
    return applied;
  },
  'net.ipv4.tcp_frto': feature('F-RTO (RFC 5682) is not implemented; it matters only after a spurious RTO'),
  'net.ipv4.tcp_fack': feature('FACK was removed from Linux (4.15); no effect there either'),
  'net.ipv4.tcp_ecn': (v) => (intOf(v) === 0 || intOf(v) === 2 ? ignored('ECN is not implemented; a script that negotiates it fails by itself') : unsupported('ECN is not implemented')),
  'net.ipv4.tcp_ecn_option': feature('AccECN option: ECN is not implemented'),
  'net.ipv4.tcp_ecn_fallback': feature('ECN is not implemented'),
  'net.ipv4.tcp_fastopen': feature('TCP Fast Open is not implemented'),
  'net.ipv4.tcp_fastopen_key': feature('TCP Fast Open is not implemented'),
  // Pacing itself is not modelled; the ratios and tcp_min_tso_segs size Linux's TSO packets,
  // which the runner's TSO model (tso.ts) reads for the flags of joined packets.
  'net.ipv4.tcp_pacing_ss_ratio': (v) => (intOf(v) !== null && intOf(v)! >= 0 ? applied : unsupported('not a number')),
  'net.ipv4.tcp_pacing_ca_ratio': (v) => (intOf(v) !== null && intOf(v)! >= 0 ? applied : unsupported('not a number')),
  'net.ipv4.tcp_tso_win_divisor': feature('TSO deferral: the runner merges segments as packetdrill sees TSO'),
  'net.ipv4.tcp_min_tso_segs': (v) => (intOf(v) !== null && intOf(v)! >= 1 && intOf(v)! <= 255 ? applied : unsupported('outside 1..255')),
  'net.ipv4.tcp_autocorking': feature('autocorking is not modelled'),
  'net.ipv4.tcp_notsent_lowat': only('4294967295', 'TCP_NOTSENT_LOWAT is not implemented'),
  'net.ipv4.tcp_mtu_probing': only('0', 'PLPMTUD (RFC 4821) is not implemented'),
  'net.ipv4.tcp_invalid_ratelimit': only('500', 'out-of-window ACKs are limited to one per 500 ms'),
  'net.ipv4.tcp_moderate_rcvbuf': feature('receive buffer auto-tuning is not modelled'),
  'net.ipv4.tcp_no_metrics_save': feature('synack keeps no per-destination metrics'),
};

/** Linux sysctl state for one script: values set so far and the stack configuration they imply. */
export class LinuxSysctls {
  readonly #values = new Map<string, string>();
  /** TCP settings implied so far (on top of the profile). */
  readonly tcp: TcpConfigInput = {};
  synCookies: SynCookieMode | undefined;

  get(name: string): string {
    return this.#values.get(name) ?? LINUX_DEFAULTS[name] ?? '';
  }

  /** An integer setting's current value (Linux's default when not set). */
  int(name: string): number {
    return intOf(this.get(name)) ?? 0;
  }

  /** Set `name` (dots or slashes, as sysctl accepts) to `value`. */
  set(name: string, value: string): SysctlOutcome {
    const key = name.trim().replace(/\//g, '.');
    const entry = ENTRIES[key];
    if (entry === undefined) {
      return unsupported(key.startsWith('net.ipv4.tcp_') || key.startsWith('net.core.') ? 'not modelled by synack' : 'not a TCP setting synack models');
    }
    const prev = this.#values.get(key);
    this.#values.set(key, value.trim());
    const o = entry(value, this);
    if (o.kind === 'unsupported') {
      if (prev === undefined) this.#values.delete(key);
      else this.#values.set(key, prev);
    }
    if (key === 'net.ipv4.tcp_rmem' || key === 'net.core.rmem_max' || key === 'net.ipv4.tcp_wmem') this.#buffers();
    return o;
  }

  /**
   * tcp_rmem[1] is a new socket's receive buffer and tcp_rmem[2] the most receive-buffer
   * autotuning grows it to (tcp_rcvbuf_grow; src/tcp/recv-buffer.ts); the window scale offered
   * comes from the largest buffer the socket may grow to, max(tcp_rmem[2], rmem_max), as
   * tcp_select_initial_window computes it: ilog2(space) - 15, within 0..14. tcp_wmem[1] is a new socket's send buffer and
   * tcp_wmem[2] the most autotuning grows it to (tcp_sndbuf_expand; src/tcp/send-buffer.ts).
   */
  #buffers(): void {
    const r = triple(this.get('net.ipv4.tcp_rmem'));
    const w = triple(this.get('net.ipv4.tcp_wmem'));
    const rmemMax = intOf(this.get('net.core.rmem_max')) ?? 212992;
    if (r !== null) {
      const max = Math.min(Math.max(r[2], 4096), 1 << 30);
      this.tcp.recvBufferSize = Math.min(Math.max(r[1], 1), max);
      this.tcp.recvBufferMax = max;
      this.tcp.windowScaleShift = linuxWscale(Math.max(r[2], rmemMax));
    }
    if (w !== null) {
      // (Linux keeps a socket's buffer within SOCK_MIN_SNDBUF; out-of-range values do not fail the run.)
      const max = Math.min(Math.max(w[2], 4096), 1 << 30);
      this.tcp.sendBufferSize = Math.min(Math.max(w[1], 4096), max);
      this.tcp.sendBufferMax = max;
    }
  }
}

/** Linux's offered window scale for a buffer that may grow to `space` bytes (tcp_select_initial_window). */
export function linuxWscale(space: number): number {
  return Math.min(14, Math.max(0, Math.floor(Math.log2(Math.max(1, space))) - 15));
}
