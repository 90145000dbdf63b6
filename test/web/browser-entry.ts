// Browser bundle entry for the Chromium test: two stacks joined by an in-memory link on a real-time
// clock, a web-streams echo server on one and a client on the other, all inside the page.
import { Stack } from '../../src/stack/stack.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { RealtimeClock } from '../../src/util/realtime-clock.js';
import { connect, listen } from '../../src/web/index.js';

/** The same xorshift32 pattern as test/net/drive.ts, so Node can check the hash. */
function pattern(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  const v = new DataView(b.buffer);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v.setUint32(i, x >>> 0, true);
  }
  for (; i < n; i++) b[i] = i & 0xff;
  return b;
}

const hex = (buf: ArrayBuffer): string => [...new Uint8Array(buf)].map((x) => x.toString(16).padStart(2, '0')).join('');

export interface BrowserResult {
  userAgent: string;
  bytes: number;
  sentSha: string;
  echoedSha: string;
  greeting: string;
  ms: number;
}

async function run(size: number, seed: number): Promise<BrowserResult> {
  const t0 = performance.now();
  const clock = new RealtimeClock({ unref: false });
  const [la, lb] = createMemoryPair({ clock, latency: 1 });
  const a = new Stack({ name: 'page-a', clock });
  const b = new Stack({ name: 'page-b', clock });
  a.addInterface(la, { addresses: ['198.18.0.1/24'] });
  b.addInterface(lb, { addresses: ['198.18.0.2/24'] });

  const l = listen(b, { port: 80 });
  const server = (async () => {
    for await (const conn of l) {
      const w = conn.writable.getWriter();
      await w.write(new TextEncoder().encode(`hello ${conn.remoteAddress}\n`));
      w.releaseLock();
      await conn.readable.pipeTo(conn.writable);
      return;
    }
  })();

  const c = await connect(a, { address: '198.18.0.2', port: 80 });
  const data = pattern(size, seed);
  const writing = (async () => {
    const w = c.writable.getWriter();
    for (let off = 0; off < data.length; off += 65536) await w.write(data.subarray(off, off + 65536));
    await w.close();
  })();
  const parts: Uint8Array[] = [];
  let n = 0;
  const reader = c.readable.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    parts.push(r.value);
    n += r.value.length;
  }
  await writing;
  await server;
  await c.closed;
  const all = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  const nl = all.indexOf(10);
  const greeting = new TextDecoder().decode(all.subarray(0, nl));
  const echoed = all.slice(nl + 1);
  const result: BrowserResult = {
    userAgent: navigator.userAgent,
    bytes: echoed.length,
    sentSha: hex(await crypto.subtle.digest('SHA-256', data)),
    echoedSha: hex(await crypto.subtle.digest('SHA-256', echoed)),
    greeting,
    ms: performance.now() - t0,
  };
  l.close();
  a.close();
  b.close();
  clock.dispose();
  return result;
}

(globalThis as unknown as { runSynackTest: typeof run }).runSynackTest = run;
