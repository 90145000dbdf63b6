// IPv4 and IPv6 address text forms (RFC 4291 section 2.2 parsing, RFC 5952 section 4 canonical output),
// equality and prefix matching over 4- or 16-byte Uint8Arrays.

function parseV4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return null;
    if (p.length > 1 && p[0] === '0') return null; // reject ambiguous octal-looking forms
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseV6(text: string): Uint8Array | null {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string, allowV4Tail: boolean): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (!v4) return null;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      words.push(parseInt(g, 16));
    }
    return words;
  };
  if (halves.length === 1) {
    const w = parseGroups(halves[0]!, true);
    if (!w || w.length !== 8) return null;
    w.forEach((v, i) => {
      out[i * 2] = v >>> 8;
      out[i * 2 + 1] = v & 0xff;
    });
    return out;
  }
  const head = parseGroups(halves[0]!, false);
  const tail = parseGroups(halves[1]!, true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  head.forEach((v, i) => {
    out[i * 2] = v >>> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  const base = 8 - tail.length;
  tail.forEach((v, i) => {
    out[(base + i) * 2] = v >>> 8;
    out[(base + i) * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Parse dotted-quad IPv4 or any RFC 4291 IPv6 text; returns 4 or 16 bytes, or null. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(':')) return parseV6(text);
  return parseV4(text);
}

/** Format 4 bytes as dotted quad or 16 bytes in RFC 5952 canonical form. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return `<${bytes.length}-byte address>`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 4.2: compress the longest run (length >= 2) of zero words, the first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped addresses keep the dotted tail (RFC 5952 5).
  if (bestStart === 0 && bestLen === 5 && words[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  const hex = (from: number, to: number): string =>
    words
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Byte-wise equality of two addresses (different lengths are never equal). */
export function ipEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Parse "addr/prefix" (a bare address means a host prefix). */
export function parseCidr(text: string): { addr: Uint8Array; prefix: number } | null {
  const slash = text.indexOf('/');
  const addr = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return null;
  const max = addr.length * 8;
  if (slash < 0) return { addr, prefix: max };
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p)) return null;
  const prefix = Number(p);
  if (prefix > max) return null;
  return { addr, prefix };
}

/** Whether the first `prefix` bits of `addr` equal those of `net` (same family required). */
export function inPrefix(addr: Uint8Array, net: Uint8Array, prefix: number): boolean {
  if (addr.length !== net.length || prefix < 0 || prefix > addr.length * 8) return false;
  const full = prefix >>> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== net[i]) return false;
  const rem = prefix & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((addr[full]! ^ net[full]!) & mask) === 0;
}
