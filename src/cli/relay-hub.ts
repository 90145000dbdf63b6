// The policy of `synack relay`: each WebSocket client gets one IPv4 address from the pool (and, on
// a TAP device, one MAC address), its packets reach the device only with that source address (and
// MAC, and ARP sender) and a destination that is not loopback, unspecified, multicast or broadcast,
// at a bounded rate; what the device sends goes to the client whose address (or MAC) it is for,
// and on TAP broadcasts go to every client. Transport-free: the command plugs in TUN/TAP and WebSocket.
import { formatIp, parseIp } from '../wire/address.js';
import { read16, read32 } from '../wire/bytes.js';
import type { Link } from '../link/link.js';
import type { WsPeer } from './websocket.js';
import { ArpOp, parseArp } from '../ethernet/arp.js';
import { EtherType, formatMac, isGroupMac, macEquals } from '../ethernet/frame.js';

export interface RelayOptions {
  /** 'ip': messages are IPv4 packets (TUN); 'ethernet': Ethernet frames (TAP). */
  mode: 'ip' | 'ethernet';
  /** First and last client address, inclusive (IPv4). */
  first: string;
  last: string;
  /** Prefix length of the clients' subnet, and the kernel's address on it (their gateway). */
  prefix: number;
  gateway: string;
  mtu: number;
  /** Packets per second each client may send (token bucket), and the burst above it. */
  rate: number;
  burst: number;
  /** Bytes queued towards a client before packets to it are dropped. */
  maxBuffered: number;
  now?: () => number;
}

export interface RelayStats {
  clients: number;
  accepted: number;
  refusedFull: number;
  toDevice: number;
  toClients: number;
  /** Packets from a client with another source address. */
  spoofed: number;
  /** Packets to loopback, unspecified, multicast or broadcast destinations, or malformed. */
  refused: number;
  rateLimited: number;
  /** Packets from the device for no connected client, or to a client whose queue is full. */
  undeliverable: number;
}

interface Client {
  addr: number;
  /** Ethernet mode: the MAC the client must use (02:53 + its address). */
  mac: Uint8Array;
  peer: WsPeer;
  tokens: number;
  at: number;
}

export class RelayHub {
  readonly stats: RelayStats = { clients: 0, accepted: 0, refusedFull: 0, toDevice: 0, toClients: 0, spoofed: 0, refused: 0, rateLimited: 0, undeliverable: 0 };
  private readonly clients = new Map<number, Client>();
  private readonly first: number;
  private readonly last: number;
  private readonly now: () => number;

  constructor(
    private readonly device: Link,
    private readonly opts: RelayOptions,
  ) {
    this.first = v4(opts.first);
    this.last = v4(opts.last);
    if (this.first > this.last) throw new RangeError(`relay pool ${opts.first}-${opts.last} is empty`);
    this.now = opts.now ?? (() => performance.now());
    device.onReceive = (pkt) => this.fromDevice(pkt);
  }

  /** Gives `peer` an address and starts relaying for it; false (and closes it) when the pool is full. */
  attach(peer: WsPeer): boolean {
    let addr = -1;
    for (let a = this.first; a <= this.last; a++) {
      if (!this.clients.has(a)) {
        addr = a;
        break;
      }
    }
    if (addr < 0) {
      this.stats.refusedFull++;
      peer.close(1013, 'no address left in the relay pool');
      return false;
    }
    // A locally administered MAC made from the address, so it is unique among the relay's clients.
    const mac = new Uint8Array([0x02, 0x53, addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255]);
    const c: Client = { addr, mac, peer, tokens: this.opts.burst, at: this.now() };
    this.clients.set(addr, c);
    this.stats.accepted++;
    this.stats.clients = this.clients.size;
    peer.onBinary = (pkt) => this.fromClient(c, pkt);
    peer.onText = null;
    peer.onClose = () => {
      if (this.clients.get(addr) === c) this.clients.delete(addr);
      this.stats.clients = this.clients.size;
    };
    peer.sendText(
      JSON.stringify({
        relay: 'synack',
        mode: this.opts.mode,
        address: formatIp(bytes(addr)),
        prefix: this.opts.prefix,
        gateway: this.opts.gateway,
        mtu: this.opts.mtu,
        ...(this.opts.mode === 'ethernet' ? { mac: formatMac(mac) } : {}),
      }),
    );
    return true;
  }

  private fromClient(c: Client, pkt: Uint8Array): void {
    const t = this.now();
    c.tokens = Math.min(this.opts.burst, c.tokens + ((t - c.at) / 1000) * this.opts.rate);
    c.at = t;
    if (c.tokens < 1) {
      this.stats.rateLimited++;
      return;
    }
    c.tokens--;
    if (this.opts.mode === 'ethernet') this.frameFromClient(c, pkt);
    else if (this.ipAllowed(c, pkt)) {
      this.stats.toDevice++;
      this.device.send(pkt.slice());
    }
  }

  /** An IPv4 packet from `c`: well formed, from its address, to a destination it may reach. */
  private ipAllowed(c: Client, pkt: Uint8Array): boolean {
    if (pkt.length < 20 || pkt.length > this.opts.mtu || pkt[0]! >>> 4 !== 4 || (pkt[0]! & 0x0f) < 5 || read16(pkt, 2) > pkt.length || read16(pkt, 2) < 20) {
      this.stats.refused++;
      return false;
    }
    if (read32(pkt, 12) !== c.addr) {
      this.stats.spoofed++;
      return false;
    }
    const dst = read32(pkt, 16);
    const top = dst >>> 24;
    // Loopback (the relay host's own 127/8), "this network", multicast, class E and broadcast.
    if (top === 127 || top === 0 || top >= 224) {
      this.stats.refused++;
      return false;
    }
    return true;
  }

  /**
   * A frame from `c` (Ethernet mode): its own MAC as source; ARP only with its own MAC and address
   * as sender; IPv4 as in IP mode; nothing else. Broadcasts go to the device and the other clients,
   * frames for another client's MAC to that client, the rest to the device.
   */
  private frameFromClient(c: Client, f: Uint8Array): void {
    if (f.length < 14 || f.length > this.opts.mtu + 14) {
      this.stats.refused++;
      return;
    }
    if (!macEquals(f.subarray(6, 12), c.mac)) {
      this.stats.spoofed++;
      return;
    }
    const type = read16(f, 12);
    const body = f.subarray(14);
    if (type === EtherType.ARP) {
      const a = parseArp(body);
      if (!a.ok || (a.value.op !== ArpOp.REQUEST && a.value.op !== ArpOp.REPLY)) {
        this.stats.refused++;
        return;
      }
      const sender = read32(a.value.senderIp, 0);
      if (!macEquals(a.value.senderMac, c.mac) || (sender !== c.addr && sender !== 0)) {
        this.stats.spoofed++;
        return;
      }
    } else if (type !== EtherType.IPV4 || !this.ipAllowed(c, body)) {
      if (type !== EtherType.IPV4) this.stats.refused++;
      return;
    }
    const dst = f.subarray(0, 6);
    if (isGroupMac(dst)) {
      for (const o of this.clients.values()) if (o !== c) o.peer.sendBinary(f);
    } else {
      const to = this.byMac(dst);
      if (to !== undefined) {
        if (to.peer.sendBinary(f)) this.stats.toClients++;
        return;
      }
    }
    this.stats.toDevice++;
    this.device.send(f.slice());
  }

  private byMac(mac: Uint8Array): Client | undefined {
    // The MAC carries the address: 02:53 followed by the four address bytes.
    if (mac[0] !== 0x02 || mac[1] !== 0x53) return undefined;
    const c = this.clients.get(read32(mac, 2));
    return c !== undefined && macEquals(c.mac, mac) ? c : undefined;
  }

  private fromDevice(pkt: Uint8Array): void {
    if (this.opts.mode === 'ethernet') {
      if (pkt.length < 14) return;
      const dst = pkt.subarray(0, 6);
      if (isGroupMac(dst)) {
        for (const c of this.clients.values()) if (c.peer.sendBinary(pkt)) this.stats.toClients++;
        return;
      }
      const c = this.byMac(dst);
      if (c === undefined || !c.peer.sendBinary(pkt)) this.stats.undeliverable++;
      else this.stats.toClients++;
      return;
    }
    if (pkt.length < 20 || pkt[0]! >>> 4 !== 4) {
      this.stats.undeliverable++;
      return;
    }
    const c = this.clients.get(read32(pkt, 16));
    if (c === undefined || !c.peer.sendBinary(pkt)) {
      this.stats.undeliverable++;
      return;
    }
    this.stats.toClients++;
  }

  close(): void {
    for (const c of this.clients.values()) c.peer.close(1001, 'relay stopping');
    this.clients.clear();
    this.device.onReceive = null;
  }
}

function v4(text: string): number {
  const b = parseIp(text);
  if (b === null || b.length !== 4) throw new TypeError(`not an IPv4 address: ${JSON.stringify(text)}`);
  return read32(b, 0);
}

function bytes(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}
