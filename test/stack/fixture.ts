// Two stacks joined by a memory pair on a virtual clock: the usual fixture of the stack tests.
import { Stack, type StackOptions } from '../../src/stack/stack.js';
import { createMemoryPair, type MemoryLink } from '../../src/link/memory.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import type { Link } from '../../src/link/link.js';

export interface Pair {
  clock: VirtualClock;
  a: Stack;
  b: Stack;
  links: [MemoryLink, MemoryLink];
}

export const A4 = '198.18.0.1';
export const B4 = '198.18.0.2';
export const A6 = '2001:db8::1';
export const B6 = '2001:db8::2';

export function twoStacks(opts: { latency?: number; mtu?: number; seed?: number; a?: Partial<StackOptions>; b?: Partial<StackOptions>; wrap?: (l: Link, side: 'a' | 'b') => Link } = {}): Pair {
  const clock = new VirtualClock();
  const links = createMemoryPair({ clock, latency: opts.latency ?? 1, mtu: opts.mtu ?? 1500 });
  const seed = opts.seed ?? 1;
  const a = new Stack({ name: 'a', clock, random: seededRandom(seed), ...opts.a });
  const b = new Stack({ name: 'b', clock, random: seededRandom(seed + 1000), ...opts.b });
  const wrap = opts.wrap ?? ((l: Link) => l);
  a.addInterface(wrap(links[0], 'a'), { addresses: [`${A4}/24`, `${A6}/64`], name: 'eth0' });
  b.addInterface(wrap(links[1], 'b'), { addresses: [`${B4}/24`, `${B6}/64`], name: 'eth0' });
  return { clock, a, b, links };
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const text = (s: string): Uint8Array => enc.encode(s);
export const str = (b: Uint8Array | null): string => (b === null ? '' : dec.decode(b));
