// Putting an Ethernet interface under a Stack: the frame link is wrapped in an EthernetInterface,
// which the Stack sees as an ordinary IP Link, and which reads its addresses from the Stack's
// Interface (one owner) and reports neighbour events into the Stack's trace.
import type { Link } from '../link/link.js';
import type { Stack, InterfaceOptions } from '../stack/stack.js';
import type { Interface } from '../stack/route.js';
import { EthernetInterface, type EthernetOptions } from './interface.js';

export interface EthernetAttachOptions extends InterfaceOptions, Omit<EthernetOptions, 'clock' | 'onTrace'> {
  /** Wraps the IP-side link before the Stack sees it (a tap that watches packets, say). */
  wrap?: (link: Link) => Link;
}

/**
 * Resolves once none of `iface`'s addresses is tentative (IPv6 DAD, RFC 4862 5.4: RetransTimer,
 * 1 s), or after `limitMs`: a program that connects at once would otherwise find no IPv6 source.
 */
export async function addressesUsable(iface: Interface, limitMs = 5_000): Promise<void> {
  const t0 = Date.now();
  while (iface.addresses.some((a) => !iface.usable(a.addr)) && Date.now() - t0 < limitMs) {
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Attach `frames` (a link carrying Ethernet frames) to `stack` as an interface with a MAC address. */
export function addEthernetInterface(stack: Stack, frames: Link, opts: EthernetAttachOptions): { iface: Interface; eth: EthernetInterface } {
  const { addresses, name, wrap, ...l2 } = opts;
  const eth = new EthernetInterface(frames, {
    random: stack.random,
    ...l2,
    clock: stack.clock,
    name: stack.name,
    onTrace: (e) => {
      if (stack.tracing) stack.trace(e);
    },
  });
  const iface = stack.addInterface(wrap?.(eth) ?? eth, name === undefined ? { addresses } : { addresses, name });
  eth.bind(iface);
  // The Ethernet layer owns DAD's state; the Stack asks it before using an address as a source,
  // and tells it of addresses added later so they are announced too (RFC 5227 3, RFC 4862 5.4).
  iface.tentative = (a) => eth.isTentative(a);
  iface.onAddressAdded((a) => eth.announce(a.addr));
  return { iface, eth };
}
