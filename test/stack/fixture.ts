// Two stacks joined by a memory pair on a virtual clock: the usual fixture of the stack tests.
import { Stack, type StackOptions } from '../../src/stack/stack.js';
import { createMemoryPair, type MemoryLink } from '../../src/link/memory.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import type { Link } from '../../src/link/link.js';
import { parseIp } from '../../src/wire/address.js';
import { parseIpPacket, buildTcpPacket } from '../../src/wire/packet.js';
import { parseTcp, TcpFlag, type TcpRepr } from '../../src/wire/tcp.js';

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

export function twoStacks(
  opts: { latency?: number; mtu?: number; seed?: number; batch?: boolean; a?: Partial<StackOptions>; b?: Partial<StackOptions>; wrap?: (l: Link, side: 'a' | 'b') => Link } = {},
): Pair {
  const clock = new VirtualClock();
  // batch: false for a test that takes over a link's onReceive after the stack attached it (with
  // the default, the stack takes each instant's packets as a list and onReceive sees none).
  const links = createMemoryPair({ clock, latency: opts.latency ?? 1, mtu: opts.mtu ?? 1500, ...(opts.batch === undefined ? {} : { batch: opts.batch }) });
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

/**
 * Side a's link as a raw host: `send` puts hand-made segments (from any address, to B4; defaults
 * port 40000 -> 80, ACK) on the wire, `got` collects every TCP segment b sends back.
 */
export function rawPeer(p: Pair): { send: (from: string, seg: Partial<TcpRepr>) => void; got: TcpRepr[] } {
  const got: TcpRepr[] = [];
  const link = p.links[0];
  // The raw host takes every packet from stack a, one by one (a list would go to stack a).
  link.onReceiveList = null;
  link.onReceive = (pkt) => {
    const r = parseIpPacket(pkt);
    if (!r.ok) return;
    const t = parseTcp(r.value.payload);
    if (t.ok) got.push(t.value);
  };
  const send = (from: string, s: Partial<TcpRepr>): void => {
    const seg: TcpRepr = {
      srcPort: 40000, dstPort: 80, seq: 0, ack: 0, flags: TcpFlag.ACK, window: 65535, urgent: 0, options: {}, payload: new Uint8Array(0), ...s,
    };
    link.send(buildTcpPacket(parseIp(from)!, parseIp(B4)!, seg));
  };
  return { send, got };
}
