// The classic libpcap file format (LINKTYPE_RAW/IPV4/IPV6 for writing; also Ethernet, Linux SLL/SLL2
// and BSD loopback for reading): a streaming writer and a streaming reader that yield IP packets.
// Pure: no node:* imports, so it runs in browsers too.
import { type Parsed, type WireError, ok, fail } from './result.js';

/** Link types (tcpdump.org/linktypes.html). */
export const LinkType = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

const MAGIC_MICRO = 0xa1b2c3d4;
const MAGIC_NANO = 0xa1b23c4d;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
const DEFAULT_SNAPLEN = 262144;

export interface PcapWriterOptions {
  /** Link type written to the header (default 101, raw IP). The caller supplies frames of that type. */
  linkType?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanos?: boolean;
  /** Longest record kept; longer packets are truncated (original length is still recorded). */
  snaplen?: number;
}

/**
 * Writes a pcap stream to `sink`: the 24-byte file header at construction, then one chunk per packet
 * (record header + data, a fresh copy, so the caller may reuse its buffer). Little-endian.
 */
export class PcapWriter {
  readonly linkType: number;
  readonly nanos: boolean;
  readonly snaplen: number;

  constructor(
    private readonly sink: (chunk: Uint8Array) => void,
    opts?: PcapWriterOptions,
  ) {
    this.linkType = opts?.linkType ?? LinkType.RAW;
    this.nanos = opts?.nanos ?? false;
    this.snaplen = opts?.snaplen ?? DEFAULT_SNAPLEN;
    const h = new Uint8Array(GLOBAL_HEADER);
    const v = new DataView(h.buffer);
    v.setUint32(0, this.nanos ? MAGIC_NANO : MAGIC_MICRO, true);
    v.setUint16(4, 2, true); // version 2.4
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, this.linkType, true);
    sink(h);
  }

  /** Append one packet captured at `timeMs` (milliseconds since the Unix epoch, fractions kept). */
  writePacket(data: Uint8Array, timeMs: number): void {
    const incl = Math.min(data.length, this.snaplen);
    const rec = new Uint8Array(RECORD_HEADER + incl);
    const v = new DataView(rec.buffer);
    const t = Math.max(0, timeMs);
    let sec = Math.floor(t / 1000);
    const unit = this.nanos ? 1e6 : 1e3; // sub-second units per millisecond
    let frac = Math.round((t - sec * 1000) * unit);
    if (frac >= 1000 * unit) {
      sec += 1;
      frac -= 1000 * unit;
    }
    v.setUint32(0, sec >>> 0, true);
    v.setUint32(4, frac, true);
    v.setUint32(8, incl, true);
    v.setUint32(12, data.length, true);
    rec.set(data.subarray(0, incl), RECORD_HEADER);
    this.sink(rec);
  }
}

/** One packet read back: the IP packet with any link header removed. */
export interface PcapRecord {
  timeMs: number;
  /** The IP packet (a view into the pushed chunk or file; copy it before mutating those). */
  data: Uint8Array;
  /** Length on the wire before snaplen truncation (of the whole frame, including any link header). */
  origLength: number;
}

export interface PcapFile {
  linkType: number;
  nanos: boolean;
  packets: PcapRecord[];
  /** The file ended inside a record (e.g. the capture was killed); the complete records are returned. */
  truncated: boolean;
}

/**
 * Strip the link-layer header of one frame; null when it does not carry IPv4 or IPv6.
 * Ethernet skips 802.1Q / 802.1ad tags.
 */
export function ipFromFrame(linkType: number, frame: Uint8Array, littleEndian = true): Uint8Array | null {
  let ethertype = -1;
  let off = 0;
  switch (linkType) {
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
    case 12: // some BSDs write LINKTYPE_RAW as DLT 12 / 14
    case 14:
      return frame.length > 0 && (frame[0]! >>> 4 === 4 || frame[0]! >>> 4 === 6) ? frame : null;
    case LinkType.ETHERNET: {
      off = 12;
      for (;;) {
        if (frame.length < off + 2) return null;
        ethertype = (frame[off]! << 8) | frame[off + 1]!;
        if (ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100) off += 4;
        else break;
      }
      off += 2;
      break;
    }
    case LinkType.LINUX_SLL:
      if (frame.length < 16) return null;
      ethertype = (frame[14]! << 8) | frame[15]!;
      off = 16;
      break;
    case LinkType.LINUX_SLL2:
      if (frame.length < 20) return null;
      ethertype = (frame[0]! << 8) | frame[1]!;
      off = 20;
      break;
    case LinkType.NULL: {
      if (frame.length < 4) return null;
      const fam = littleEndian
        ? frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24)
        : (frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!;
      if (fam === 2) ethertype = 0x0800;
      else if (fam === 10 || fam === 24 || fam === 28 || fam === 30) ethertype = 0x86dd;
      off = 4;
      break;
    }
    default:
      return null;
  }
  if (ethertype !== 0x0800 && ethertype !== 0x86dd) return null;
  return frame.subarray(off);
}

/**
 * Incremental pcap reader: push bytes as they arrive, get the complete records. Records whose frame
 * is not IPv4/IPv6 are skipped (counted in `skipped`). After a format error, `error` is set and
 * push returns nothing more; it never throws.
 */
export class PcapStreamReader {
  linkType = -1;
  nanos = false;
  littleEndian = true;
  snaplen = 0;
  skipped = 0;
  error: WireError | null = null;
  private pending: Uint8Array = new Uint8Array(0);
  private headerDone = false;

  /** Bytes held back waiting for the rest of a record. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  push(chunk: Uint8Array): PcapRecord[] {
    const out: PcapRecord[] = [];
    if (this.error) return out;
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    let off = 0;
    if (!this.headerDone) {
      if (buf.length < GLOBAL_HEADER) {
        this.pending = buf === chunk ? chunk.slice() : buf;
        return out;
      }
      const err = this.readHeader(buf);
      if (err) {
        this.error = err;
        this.pending = new Uint8Array(0);
        return out;
      }
      off = GLOBAL_HEADER;
      this.headerDone = true;
    }
    const le = this.littleEndian;
    const u32 = (o: number): number =>
      le
        ? (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0
        : ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
    const maxRecord = Math.max(this.snaplen, DEFAULT_SNAPLEN);
    const fracPerMs = this.nanos ? 1e6 : 1e3;
    while (off + RECORD_HEADER <= buf.length) {
      const incl = u32(off + 8);
      if (incl > maxRecord) {
        this.error = { code: 'malformed', message: `record length ${incl} exceeds snaplen ${this.snaplen}` };
        this.pending = new Uint8Array(0);
        return out;
      }
      if (off + RECORD_HEADER + incl > buf.length) break;
      const frame = buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + incl);
      const ip = ipFromFrame(this.linkType, frame, le);
      if (ip) out.push({ timeMs: u32(off) * 1000 + u32(off + 4) / fracPerMs, data: ip, origLength: u32(off + 12) });
      else this.skipped++;
      off += RECORD_HEADER + incl;
    }
    // Keep the tail; copy it when it aliases the caller's chunk.
    const rest = buf.subarray(off);
    this.pending = rest.length === 0 ? new Uint8Array(0) : buf === chunk ? rest.slice() : rest;
    return out;
  }

  private readHeader(buf: Uint8Array): WireError | null {
    const le32 = (buf[0]! | (buf[1]! << 8) | (buf[2]! << 16) | (buf[3]! << 24)) >>> 0;
    const be32 = ((buf[0]! << 24) | (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!) >>> 0;
    if (le32 === MAGIC_MICRO || le32 === MAGIC_NANO) {
      this.littleEndian = true;
      this.nanos = le32 === MAGIC_NANO;
    } else if (be32 === MAGIC_MICRO || be32 === MAGIC_NANO) {
      this.littleEndian = false;
      this.nanos = be32 === MAGIC_NANO;
    } else if (be32 === 0x0a0d0d0a) {
      return { code: 'unsupported', message: 'pcapng files are not supported; convert with `editcap -F pcap`' };
    } else {
      return { code: 'malformed', message: `not a pcap file (magic 0x${be32.toString(16)})` };
    }
    const v = new DataView(buf.buffer, buf.byteOffset, GLOBAL_HEADER);
    const major = v.getUint16(4, this.littleEndian);
    if (major !== 2) return { code: 'unsupported', message: `pcap version ${major}` };
    this.snaplen = v.getUint32(16, this.littleEndian);
    // The upper bits of the link type field may carry FCS info (pcap-linktype(7)); keep the low 16.
    this.linkType = v.getUint32(20, this.littleEndian) & 0xffff;
    return null;
  }
}

/** Read a whole pcap file into IP packets (link headers stripped, non-IP frames skipped); never throws. */
export function readPcap(file: Uint8Array): Parsed<PcapFile> {
  const r = new PcapStreamReader();
  if (file.length < GLOBAL_HEADER) return fail('truncated', `pcap header needs 24 bytes, have ${file.length}`);
  const packets = r.push(file);
  if (r.error) return { ok: false, error: r.error };
  return ok({ linkType: r.linkType, nanos: r.nanos, packets, truncated: r.bufferedBytes > 0 });
}
