// A synack Ethernet interface on a v86 emulator's network card: v86 emits the guest's frames on its
// bus as "net0-send" and takes frames for the guest as "net0-receive" (the bus is `emulator.bus`;
// v86 0.5 has no custom-adapter option). The guest then sees synack as a host on its Ethernet segment.
import type { Link } from '../link/link.js';
import type { Stack } from '../stack/stack.js';
import type { Interface } from '../stack/route.js';
import { addEthernetInterface, type EthernetAttachOptions } from '../ethernet/attach.js';
import type { EthernetInterface } from '../ethernet/interface.js';

/** The part of v86's BusConnector an adapter uses. */
export interface V86Bus {
  register(name: string, fn: (data: Uint8Array) => void, thisValue?: unknown): void;
  unregister?(name: string, fn: (data: Uint8Array) => void): void;
  send(name: string, value: unknown): void;
}

/** A frame link over a v86 bus: what the guest sends arrives in onReceive, send() reaches the guest. */
export class V86Link implements Link {
  onReceive: ((frame: Uint8Array) => unknown) | null = null;
  private closed = false;
  private readonly listener = (frame: Uint8Array): void => {
    if (!this.closed) this.onReceive?.(frame);
  };

  constructor(
    private readonly bus: V86Bus,
    /** The IP MTU of the guest's card (frames of up to mtu + 14 bytes). */
    readonly mtu = 1500,
  ) {
    bus.register('net0-send', this.listener, this);
  }

  send(frame: Uint8Array): void {
    // v86's NE2000 copies what it is given; a copy here lets the caller reuse its buffer.
    if (!this.closed && frame.length <= this.mtu + 14) this.bus.send('net0-receive', frame.slice());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onReceive = null;
    this.bus.unregister?.('net0-send', this.listener);
  }
}

/**
 * Attach `stack` to a v86 emulator's network card as an Ethernet host (ARP, NDP, optional DHCP
 * server), with no v86 network backend (no `relay_url`): `attachV86(stack, emulator.bus, opts)` after
 * `const emulator = new V86({ ..., net_device: { type: 'ne2k' } })`. Tested with v86 0.5.462 booting
 * Debian's i386 Linux (test/web/v86-guest.test.ts).
 */
export function attachV86(stack: Stack, bus: V86Bus, opts: EthernetAttachOptions): { iface: Interface; eth: EthernetInterface; link: V86Link } {
  const link = new V86Link(bus, opts.mtu ?? 1500);
  const { iface, eth } = addEthernetInterface(stack, link, opts);
  return { iface, eth, link };
}
