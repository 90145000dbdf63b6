// Who is bound to which local port: UDP sockets and TCP listeners, each on a specific address, on
// "any IPv4" or on any address; lookups prefer the most specific binding, and overlapping binds
// are refused (EADDRINUSE).
import { ipEquals } from '../wire/address.js';

/** With addr null: 0 = any address of either family, 4 = any IPv4, 6 = any IPv6 (IPV6_V6ONLY). */
export type AnyFamily = 0 | 4 | 6;

export interface Binding<T> {
  readonly addr: Uint8Array | null;
  readonly anyFamily: AnyFamily;
  readonly value: T;
}

export class PortTable<T> {
  private readonly ports = new Map<number, Binding<T>[]>();

  has(port: number): boolean {
    return this.ports.has(port);
  }

  get size(): number {
    let n = 0;
    for (const l of this.ports.values()) n += l.length;
    return n;
  }

  /** Whether binding (addr, anyFamily) on `port` would overlap an existing binding. */
  conflicts(port: number, addr: Uint8Array | null, anyFamily: AnyFamily): boolean {
    const list = this.ports.get(port);
    if (list === undefined) return false;
    for (const b of list) {
      if (addr === null || b.addr === null) {
        // A wildcard overlaps everything of its family (anyFamily 0 overlaps both).
        const fa = addr === null ? anyFamily : addr.length === 4 ? 4 : 6;
        const fb = b.addr === null ? b.anyFamily : b.addr.length === 4 ? 4 : 6;
        if (fa === 0 || fb === 0 || fa === fb) return true;
      } else if (ipEquals(addr, b.addr)) {
        return true;
      }
    }
    return false;
  }

  add(port: number, binding: Binding<T>): void {
    const list = this.ports.get(port);
    if (list === undefined) this.ports.set(port, [binding]);
    else list.push(binding);
  }

  remove(port: number, value: T): void {
    const list = this.ports.get(port);
    if (list === undefined) return;
    const i = list.findIndex((b) => b.value === value);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.ports.delete(port);
  }

  /** The binding that receives traffic for dst:port: exact address, then any of its family, then any. */
  lookup(dst: Uint8Array, port: number): T | undefined {
    const list = this.ports.get(port);
    if (list === undefined) return undefined;
    let family: T | undefined;
    let any: T | undefined;
    for (const b of list) {
      if (b.addr === null) {
        if (b.anyFamily === 0) any ??= b.value;
        else if (b.anyFamily === (dst.length === 4 ? 4 : 6)) family ??= b.value;
      } else if (ipEquals(b.addr, dst)) {
        return b.value;
      }
    }
    return family ?? any;
  }

  values(): T[] {
    const out: T[] = [];
    for (const l of this.ports.values()) for (const b of l) out.push(b.value);
    return out;
  }
}
