// Congestion-control registry (RFC 5681 NewReno, RFC 9438 CUBIC): create a controller by name.

import type { CongestionControl, CongestionName } from './cc.js';
import { createNewReno } from './newreno.js';
import { createCubic } from './cubic.js';
import { createLinuxCubic } from './cubic-linux.js';

export type { CongestionControl, CongestionName, CongestionFactory } from './cc.js';
export { createNewReno, NewReno, initialWindow } from './newreno.js';
export { createCubic, Cubic } from './cubic.js';
export { createLinuxCubic, LinuxCubic } from './cubic-linux.js';

/**
 * The controller called `name` for a sender with maximum segment size `mss`; `abcLimit` caps
 * slow-start growth per ACK in segments (RFC 3465's L, default 2; 0 for none, as Linux); `cubicRule`
 * 'linux' makes CUBIC Linux's (cubic-linux.ts) instead of RFC 9438's.
 */
export function createCongestion(name: CongestionName, mss: number, abcLimit?: number, cubicRule: 'rfc9438' | 'linux' = 'rfc9438'): CongestionControl {
  switch (name) {
    case 'newreno':
      return createNewReno(mss, abcLimit);
    case 'cubic':
      if (cubicRule === 'linux') return createLinuxCubic(mss);
      return createCubic(mss, abcLimit === undefined ? {} : { abcLimit });
    default: {
      const never: never = name;
      throw new TypeError(`unknown congestion control ${String(never)}`);
    }
  }
}
