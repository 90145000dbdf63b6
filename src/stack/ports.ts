// Ephemeral port selection per RFC 6056 section 3.3.3 (Algorithm 3, "simple hash-based"): a keyed
// hash of the endpoints gives each destination its own offset into the range, and a shared counter
// walks from there, so ports are hard to guess off-path yet rarely collide.
import type { RandomSource } from '../util/random.js';
import { keyedHash32 } from './hash.js';

export interface PortRange {
  min: number;
  max: number;
}

/** Linux's and RFC 6056's suggested range is 49152-65535 (IANA dynamic ports). */
export const DEFAULT_EPHEMERAL: PortRange = { min: 49152, max: 65535 };

export class EphemeralPorts {
  private readonly k0: number;
  private readonly k1: number;
  private next: number;
  private readonly scratch = new Uint8Array(16 + 16 + 2);

  constructor(
    random: RandomSource,
    readonly range: PortRange = DEFAULT_EPHEMERAL,
  ) {
    if (!(range.min >= 1 && range.max <= 65535 && range.min <= range.max)) {
      throw new RangeError(`bad ephemeral port range ${range.min}-${range.max}`);
    }
    this.k0 = random.u32();
    this.k1 = random.u32();
    this.next = random.u32() % (range.max - range.min + 1);
  }

  /**
   * Pick a port for a connection from `local` to `remote`:`remotePort` (remote may be empty for a
   * bind without a peer). `usable(port)` says whether the port is free for this use. Returns 0
   * when every port in the range is taken.
   */
  pick(local: Uint8Array, remote: Uint8Array, remotePort: number, usable: (port: number) => boolean): number {
    const s = this.scratch;
    s.set(local, 0);
    s.set(remote, local.length);
    const n = local.length + remote.length;
    s[n] = remotePort >>> 8;
    s[n + 1] = remotePort & 0xff;
    const offset = keyedHash32(this.k0, this.k1, s, n + 2);
    const count = this.range.max - this.range.min + 1;
    for (let i = 0; i < count; i++) {
      const port = this.range.min + ((offset + this.next) % count);
      this.next = (this.next + 1) % count;
      if (usable(port)) return port;
    }
    return 0;
  }
}
