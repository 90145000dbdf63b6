// Browser bundle entry for the relay test: a synack stack in the page attaches to `synack relay`
// over a WebSocket, fetches a file over HTTP/1.0 from a kernel server through the relay, and
// reports its address, the bytes and their sha256 (Web Crypto).
import { Stack } from '../../src/stack/stack.js';
import { RealtimeClock } from '../../src/util/realtime-clock.js';
import { attachRelay, connect } from '../../src/web/index.js';

export interface RelayPageResult {
  address: string;
  /** The IPv6 address the relay gave (with --peer6), else ''. */
  address6: string;
  status: string;
  bytes: number;
  sha256: string;
  ms: number;
}

async function fetchThroughRelay(relayUrl: string, host: string, port: number, path: string, token?: string): Promise<RelayPageResult> {
  const stack = new Stack({ name: 'page', clock: new RealtimeClock() });
  const { link } = await attachRelay(stack, relayUrl, token === undefined ? {} : { token });
  const t0 = performance.now();
  const conn = await connect(stack, { address: host, port });
  const w = conn.writable.getWriter();
  await w.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\nHost: ${host.includes(':') ? `[${host}]` : host}\r\n\r\n`));
  const chunks: Uint8Array[] = [];
  let n = 0;
  const r = conn.readable.getReader();
  for (;;) {
    const { value, done } = await r.read();
    if (done) break;
    chunks.push(value);
    n += value.length;
  }
  await w.close().catch(() => {});
  const all = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  let end = 0;
  while (end + 3 < all.length && !(all[end] === 13 && all[end + 1] === 10 && all[end + 2] === 13 && all[end + 3] === 10)) end++;
  const head = new TextDecoder().decode(all.subarray(0, end));
  const body = all.subarray(end + 4);
  const digest = await crypto.subtle.digest('SHA-256', body);
  const ms = performance.now() - t0;
  link.close();
  stack.close();
  return {
    address: link.address,
    address6: link.address6 ?? '',
    status: head.split('\r\n')[0] ?? '',
    bytes: body.length,
    sha256: [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join(''),
    ms,
  };
}

(globalThis as unknown as { fetchThroughRelay: typeof fetchThroughRelay }).fetchThroughRelay = fetchThroughRelay;
