// Link wrappers that watch traffic: tapLink reports every packet crossing a link in either
// direction, and pcapTap writes both directions to a pcap writer (link type raw IP).
import { RELEASED, type Link } from './link.js';
import type { Clock } from '../util/clock.js';

/** The part of PcapWriter (src/wire/pcap.ts) a tap needs. */
export interface PacketWriter {
  writePacket(data: Uint8Array, timeMs: number): void;
}

export type TapDirection = 'in' | 'out';

/**
 * Wrap `inner`: `onPacket('out', p)` before each send, `onPacket('in', p)` before each delivery.
 * `p` is valid only during the call (the link may reuse it): `onPacket` copies what it keeps.
 */
export function tapLink(inner: Link, onPacket: (dir: TapDirection, data: Uint8Array) => void): Link {
  const tapped: Link = {
    get mtu(): number {
      return inner.mtu;
    },
    send(packet: Uint8Array): void {
      onPacket('out', packet);
      inner.send(packet);
    },
    // Offloads pass through: the tap sees super-packets and partial checksums as the device does.
    offload: inner.offload ?? null,
    sendTcpOffload(packet: Uint8Array, gsoSize: number): void {
      onPacket('out', packet);
      inner.sendTcpOffload!(packet, gsoSize);
    },
    onReceive: null,
    close(): void {
      inner.close();
      tapped.onReceive = null;
    },
  };
  inner.onReceive = (packet: Uint8Array, flags?: number): void => {
    const rx = tapped.onReceive;
    onPacket('in', packet);
    if (rx !== null) rx(packet, flags);
  };
  if ('onReceiveBatch' in inner) {
    // A batching link stays one: every packet of the batch is reported as it came off the wire,
    // then the batch goes on whole (the stack may join its segments; the tap shows them apart).
    tapped.onReceiveBatch = null;
    inner.onReceiveBatch = (batch, ends, count, flags): void => {
      let start = 0;
      for (let i = 0; i < count; i++) {
        onPacket('in', batch.subarray(start, ends[i]));
        start = ends[i]!;
      }
      const rx = tapped.onReceiveBatch;
      if (rx !== null && rx !== undefined) rx(batch, ends, count, flags);
      else if (tapped.onReceive !== null) {
        start = 0;
        for (let i = 0; i < count; i++) {
          const f = flags == null ? 0 : flags[i]!;
          if (f === 0) tapped.onReceive(batch.subarray(start, ends[i]));
          else tapped.onReceive(batch.subarray(start, ends[i]), f);
          start = ends[i]!;
        }
      }
    };
  }
  if ('onReceiveList' in inner) {
    // The same for a link whose batches are separate packets (a batching memory pair).
    tapped.onReceiveList = null;
    inner.onReceiveList = (packets, count, flags, released): void => {
      for (let i = 0; i < count; i++) onPacket('in', packets[i]!);
      const rx = tapped.onReceiveList;
      if (rx !== null && rx !== undefined) rx(packets, count, flags, released);
      else if (tapped.onReceive !== null) {
        for (let i = 0; i < count; i++) {
          const f = flags[i]!;
          if ((f === 0 ? tapped.onReceive(packets[i]!) : tapped.onReceive(packets[i]!, f)) === RELEASED) released[i] = 1;
        }
      }
    };
  }
  return tapped;
}

/** Wrap `inner` so every packet sent or received is written to `writer`, timestamped by `clock`. */
export function pcapTap(inner: Link, writer: PacketWriter, clock: Clock): Link {
  return tapLink(inner, (_dir, data) => writer.writePacket(data, clock.now()));
}
