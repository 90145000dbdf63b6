// A demo run's packets as a pcap file (link type raw IP), stamped from a real start time so tools
// show a date, not 1970: used by `synack demo --pcap` and the lab's download.
import { PcapWriter, LinkType } from '../wire/pcap.js';

/** Packets with their send time in ms since the run began; `startMs` is the wall-clock start (ms since 1970). */
export function demoPcap(packets: readonly { t: number; data: Uint8Array }[], startMs: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter((c) => chunks.push(c.slice()), { linkType: LinkType.RAW });
  for (const p of packets) w.writePacket(p.data, startMs + p.t);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
