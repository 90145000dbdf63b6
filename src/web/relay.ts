// The browser side of `synack relay`: a Link whose IP packets (relay on a TUN device) or Ethernet
// frames (relay on a TAP device) travel as binary WebSocket messages. The relay's first (text)
// message gives the address (and MAC, and IPv6 address) this client may use; attachRelay puts it
// on a Stack, through an Ethernet interface in the second case, with default routes through the relay.
import type { Link } from '../link/link.js';
import type { Stack } from '../stack/stack.js';
import type { Interface } from '../stack/route.js';
import { addEthernetInterface, addressesUsable } from '../ethernet/attach.js';

/** What the relay announces when a client connects. */
export interface RelayHello {
  /** 'ip': binary messages are IPv4 packets; 'ethernet': Ethernet frames from `mac`. */
  mode: 'ip' | 'ethernet';
  mac?: string;
  address: string;
  prefix: number;
  gateway: string;
  mtu: number;
  /** With a relay run with --peer6: this client's IPv6 address, its prefix length and the kernel's address. */
  address6?: string;
  prefix6?: number;
  gateway6?: string;
}

export interface RelayLink extends Link, Omit<RelayHello, 'mtu'> {
  /** Resolves when the WebSocket closes (with its close code). */
  readonly closed: Promise<number>;
}

/** The part of the WHATWG WebSocket this link uses (so tests can pass Node's `ws`). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => unknown) | null;
  onmessage: ((ev: { data: unknown }) => unknown) | null;
  onclose: ((ev: { code: number; reason?: string }) => unknown) | null;
  onerror: ((ev: unknown) => unknown) | null;
}

const OPEN = 1;

/** Why a relay refused us, by its close code (see `synack relay --help`). */
const REFUSALS: Record<number, string> = { 4401: 'token missing or wrong', 4403: 'this page\'s origin is not allowed', 1013: 'no address left in its pool' };

/**
 * Connects to a relay (ws:// or wss:// URL) and resolves once it has announced our address.
 * `token` is sent as the URL's `token` query parameter (a relay run with --token wants it).
 */
export function connectRelay(url: string, opts: { WebSocket?: new (url: string) => WebSocketLike; timeoutMs?: number; token?: string } = {}): Promise<RelayLink> {
  const Ctor = opts.WebSocket ?? (globalThis as unknown as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (Ctor === undefined) return Promise.reject(new Error('connectRelay: no WebSocket in this environment (pass opts.WebSocket)'));
  if (opts.token !== undefined) {
    const u = new URL(url);
    u.searchParams.set('token', opts.token);
    url = u.toString();
  }
  const ws = new Ctor(url);
  ws.binaryType = 'arraybuffer';
  return new Promise<RelayLink>((resolve, reject) => {
    let link: RelayLink | null = null;
    let closedWith: (code: number) => void = () => {};
    const closed = new Promise<number>((r) => (closedWith = r));
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`relay ${url}: no greeting within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    ws.onerror = () => {
      if (link === null) {
        clearTimeout(timer);
        reject(new Error(`relay ${url}: connection failed`));
      }
    };
    ws.onclose = (ev) => {
      clearTimeout(timer);
      if (link === null) {
        const why = REFUSALS[ev.code] ?? ev.reason ?? '';
        reject(new Error(`relay ${url.replace(/([?&]token=)[^&]*/, '$1…')}: closed (${ev.code}${why === '' ? '' : `: ${why}`}) before greeting`));
      }
      closedWith(ev.code);
    };
    ws.onmessage = (ev) => {
      if (link === null) {
        if (typeof ev.data !== 'string') return;
        let hello: RelayHello;
        try {
          hello = JSON.parse(ev.data) as RelayHello;
        } catch {
          ws.close(1002, 'bad greeting');
          return;
        }
        clearTimeout(timer);
        link = {
          ...hello,
          closed,
          onReceive: null,
          send(packet: Uint8Array): void {
            if (ws.readyState === OPEN && packet.length <= hello.mtu + (hello.mode === 'ethernet' ? 14 : 0)) ws.send(packet);
          },
          close(): void {
            ws.close(1000);
          },
        };
        resolve(link);
        return;
      }
      if (ev.data instanceof ArrayBuffer) link.onReceive?.(new Uint8Array(ev.data));
    };
  });
}

/**
 * Connects to the relay and attaches the link to `stack` with the announced address (and, on a TAP
 * relay, an Ethernet interface with the announced MAC) and a default route.
 */
export async function attachRelay(stack: Stack, url: string, opts: Parameters<typeof connectRelay>[1] = {}): Promise<{ link: RelayLink; iface: Interface }> {
  const link = await connectRelay(url, opts);
  const v6 = link.address6 !== undefined && link.prefix6 !== undefined;
  const addresses = [`${link.address}/${link.prefix}`, ...(v6 ? [`${link.address6}/${link.prefix6}`] : [])];
  const iface =
    link.mode === 'ethernet'
      ? addEthernetInterface(stack, link, {
          addresses,
          name: 'relay',
          ...(link.mac !== undefined ? { mac: link.mac } : {}),
          gateway4: link.gateway,
          ...(link.gateway6 !== undefined ? { gateway6: link.gateway6 } : {}),
        }).iface
      : stack.addInterface(link, { addresses, name: 'relay' });
  stack.addRoute('0.0.0.0/0', { iface });
  if (v6) stack.addRoute('::/0', { iface });
  // On Ethernet the IPv6 address is tentative for DAD's second: return once it can be used.
  if (link.mode === 'ethernet') await addressesUsable(iface);
  return { link, iface };
}
