// Run configuration for a packetdrill script: `--name=value` options from the script header and the
// command line (command line wins, as in packetdrill), validated into a typed config with defaults.

import type { ParseError, ScriptOption } from './ast.js';
import { DEFAULT_TOLERANCE_USECS } from './timing.js';

export type IpVersion = 'ipv4' | 'ipv6' | 'ipv4-mapped-ipv6';

export interface PdrillConfig {
  toleranceUsecs: number;
  tolerancePercent: number;
  ipVersion: IpVersion;
  /** MSS used for inbound packets' MTU sizing (--mss). */
  mss: number;
  mtu: number;
  /** The stack under test's address (packetdrill's live local IP). */
  localIp: string;
  /** The script's (remote peer's) address. */
  remoteIp: string;
  /** The port the script's `bind(3, ..., ...)` uses and `connect()` targets. */
  bindPort: number;
  connectPort: number;
  /** Outbound TS val is checked against the script when nonzero (--tcp_ts_tick_usecs). */
  tcpTsTickUsecs: number;
  /** Inbound TS ecr not found in the val map is interpolated from the first mapping. */
  tcpTsEcrScaled: boolean;
  /** --define=NAME=value pairs. */
  defines: Record<string, string>;
  /** Options we accepted but do not act on (reported, not failed). */
  ignored: string[];
}

export const DEFAULT_CONFIG: Readonly<PdrillConfig> = {
  toleranceUsecs: DEFAULT_TOLERANCE_USECS,
  tolerancePercent: 0,
  ipVersion: 'ipv4',
  mss: 1460,
  mtu: 1500,
  localIp: '192.168.0.1',
  remoteIp: '192.0.2.1',
  bindPort: 8080,
  connectPort: 8080,
  tcpTsTickUsecs: 0,
  tcpTsEcrScaled: false,
  defines: {},
  ignored: [],
};

/** Default addresses per IP version (ipv4-mapped-ipv6 scripts speak IPv4 on the wire). */
const IPV6_DEFAULTS = { localIp: 'fd3d:fa7b:d17d::1', remoteIp: '2001:db8::1' } as const;

/** Options accepted without effect: they steer packetdrill's host setup, which a virtual stack has none of. */
const IGNORED = new Set([
  'non_fatal',
  'dry_run',
  'verbose',
  'debug',
  'init_scripts',
  'wire_client',
  'wire_server',
  'wire_server_ip',
  'wire_server_port',
  'wire_client_dev',
  'wire_server_dev',
  'netmask_ip',
  'gateway_ip',
  'speed',
  'send_omit_free',
  'persistent_tun_dev',
  'strict_segments',
  'so',
  'so_flags',
  'ip_ecn',
]);

/** `--a=1 --b x` argv-style options into ScriptOption records (line/col 0: command line). */
export function parseOptionArgs(argv: readonly string[]): { options: ScriptOption[]; rest: string[] } {
  const options: ScriptOption[] = [];
  const rest: string[] = [];
  for (const arg of argv) {
    if (!arg.startsWith('--') || arg.length === 2) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    options.push({ name, value: eq < 0 ? null : arg.slice(eq + 1), line: 0, col: 0 });
  }
  return { options, rest };
}

function intValue(o: ScriptOption, min: number, max: number, errors: ParseError[]): number | null {
  const v = o.value === null ? NaN : Number(o.value);
  if (!Number.isInteger(v) || v < min || v > max) {
    errors.push({ line: o.line, col: o.col, message: `--${o.name} needs an integer in ${min}..${max}, got ${JSON.stringify(o.value)}` });
    return null;
  }
  return v;
}

function isIp(text: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text.split('.').every((p) => Number(p) <= 255);
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(':');
}

/**
 * Build the config: defaults, then the script's header options, then command-line options (which
 * win). Unknown options are errors; recognised host-setup options land in `ignored`.
 */
export function resolveConfig(
  scriptOptions: readonly ScriptOption[],
  cliOptions: readonly ScriptOption[] = [],
): { config: PdrillConfig; errors: ParseError[] } {
  const errors: ParseError[] = [];
  const cfg: PdrillConfig = { ...DEFAULT_CONFIG, defines: {}, ignored: [] };
  let localSet = false;
  const ipOpts: ScriptOption[] = [];
  let remoteSet = false;
  for (const o of [...scriptOptions, ...cliOptions]) {
    switch (o.name) {
      case 'tolerance_usecs': {
        const v = intValue(o, 0, 1e9, errors);
        if (v !== null) cfg.toleranceUsecs = v;
        break;
      }
      case 'tolerance_percent': {
        const v = intValue(o, 0, 100, errors);
        if (v !== null) cfg.tolerancePercent = v;
        break;
      }
      case 'ip_version':
        if (o.value === 'ipv4' || o.value === 'ipv6' || o.value === 'ipv4-mapped-ipv6') cfg.ipVersion = o.value;
        else errors.push({ line: o.line, col: o.col, message: `--ip_version must be ipv4, ipv6 or ipv4-mapped-ipv6, got ${JSON.stringify(o.value)}` });
        break;
      case 'mss': {
        const v = intValue(o, 1, 65535, errors);
        if (v !== null) cfg.mss = v;
        break;
      }
      case 'mtu': {
        const v = intValue(o, 68, 65535, errors);
        if (v !== null) cfg.mtu = v;
        break;
      }
      case 'bind_port': {
        const v = intValue(o, 1, 65535, errors);
        if (v !== null) cfg.bindPort = v;
        break;
      }
      case 'connect_port': {
        const v = intValue(o, 1, 65535, errors);
        if (v !== null) cfg.connectPort = v;
        break;
      }
      case 'tcp_ts_tick_usecs': {
        const v = intValue(o, 0, 1e9, errors);
        if (v !== null) cfg.tcpTsTickUsecs = v;
        break;
      }
      case 'tcp_ts_ecr_scaled':
        cfg.tcpTsEcrScaled = o.value === null || o.value === '1' || o.value === 'true';
        break;
      case 'local_ip':
      case 'remote_ip':
        if (o.value === null || !isIp(o.value)) {
          errors.push({ line: o.line, col: o.col, message: `--${o.name} needs an IP address, got ${JSON.stringify(o.value)}` });
        } else if (o.name === 'local_ip') {
          cfg.localIp = o.value;
          localSet = true;
          ipOpts.push(o);
        } else {
          cfg.remoteIp = o.value;
          remoteSet = true;
          ipOpts.push(o);
        }
        break;
      case 'define': {
        const v = o.value ?? '';
        const eq = v.indexOf('=');
        if (eq <= 0) errors.push({ line: o.line, col: o.col, message: `--define needs NAME=value, got ${JSON.stringify(o.value)}` });
        else cfg.defines[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      default:
        if (IGNORED.has(o.name)) cfg.ignored.push(o.name);
        else errors.push({ line: o.line, col: o.col, message: `unknown option --${o.name}` });
    }
  }
  if (cfg.ipVersion === 'ipv6') {
    if (!localSet) cfg.localIp = IPV6_DEFAULTS.localIp;
    if (!remoteSet) cfg.remoteIp = IPV6_DEFAULTS.remoteIp;
  }
  // An address of the other family (a script that pins --remote_ip=192.0.2.1, run as its IPv6
  // variant) is an error, as in packetdrill, not a crash later.
  for (const o of ipOpts) {
    const v6 = o.value!.includes(':');
    if (v6 !== (cfg.ipVersion === 'ipv6')) {
      errors.push({ line: o.line, col: o.col, message: `--${o.name}=${o.value} is an IPv${v6 ? 6 : 4} address, but --ip_version is ${cfg.ipVersion}` });
    }
  }
  return { config: cfg, errors };
}
