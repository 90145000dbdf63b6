// Test helpers for the net API: two stacks on a virtual clock with a `net` object each, and drivers
// that advance the virtual clock one instant at a time while letting Node's streams (nextTick,
// microtasks, setImmediate) run in between, so promises that wait on socket events settle.
import { once } from 'node:events';
import { Stack } from '../../src/stack/stack.js';
import { createMemoryPair, type MemoryLink } from '../../src/link/memory.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { seededRandom } from '../../src/util/random.js';
import type { TcpConfigInput } from '../../src/tcp/config.js';
import { createNet, type SynackNet } from '../../src/net/index.js';

export const A = '198.18.0.1';
export const B = '198.18.0.2';
export const A6 = '2001:db8::1';
export const B6 = '2001:db8::2';

export interface NetPair {
  clock: VirtualClock;
  a: Stack;
  b: Stack;
  /** `net` bound to stack a (the client side in most tests) and stack b. */
  na: SynackNet;
  nb: SynackNet;
  links: [MemoryLink, MemoryLink];
}

export function netPair(opts: { latency?: number; seed?: number; tcp?: TcpConfigInput; mtu?: number } = {}): NetPair {
  const clock = new VirtualClock();
  const [la, lb] = createMemoryPair({ clock, latency: opts.latency ?? 1, mtu: opts.mtu ?? 1500 });
  const seed = opts.seed ?? 7;
  const tcp = opts.tcp ?? {};
  const a = new Stack({ name: 'a', clock, random: seededRandom(seed), tcp });
  const b = new Stack({ name: 'b', clock, random: seededRandom(seed + 1), tcp });
  a.addInterface(la, { addresses: [`${A}/24`, `${A6}/64`] });
  b.addInterface(lb, { addresses: [`${B}/24`, `${B6}/64`] });
  return { clock, a, b, na: createNet(a), nb: createNet(b), links: [la, lb] };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

export interface DriveOptions {
  /** Fail when virtual time would pass this (ms). Default 10 minutes. */
  maxTime?: number;
  /** Host turns with nothing scheduled before declaring the promise stuck. Default 20. */
  idleTurns?: number;
}

/**
 * Await `p` while running the virtual clock: each host turn runs every callback due at the next
 * virtual instant. Rejects when nothing is scheduled and `p` stays pending (a test deadlock).
 */
export async function drive<T>(clock: VirtualClock, p: Promise<T>, opts: DriveOptions = {}): Promise<T> {
  const maxTime = opts.maxTime ?? 600_000;
  const idleTurns = opts.idleTurns ?? 20;
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  watched.catch(() => {});
  let idle = 0;
  while (!done) {
    await turn();
    if (done) break;
    const next = clock.nextAt();
    if (next === Infinity) {
      if (++idle > idleTurns) throw new Error(`drive: stuck at t=${clock.now()} ms: nothing scheduled and the promise is pending`);
      continue;
    }
    idle = 0;
    if (next > maxTime) throw new Error(`drive: virtual time would pass ${maxTime} ms (next event at ${next})`);
    clock.runUntil(next);
  }
  return watched;
}

/** Run the clock (with host turns in between) until nothing is scheduled and streams are quiet, or until maxTime. */
export async function settle(clock: VirtualClock, opts: { maxTime?: number } = {}): Promise<void> {
  const maxTime = opts.maxTime ?? 3_600_000;
  let quiet = 0;
  while (quiet < 3) {
    await turn();
    const next = clock.nextAt();
    if (next === Infinity) {
      quiet++;
      continue;
    }
    quiet = 0;
    if (next > maxTime) {
      clock.runUntil(maxTime);
      return;
    }
    clock.runUntil(next);
  }
}

/** Wait (driving the clock) for an event. */
export function until<T extends unknown[] = unknown[]>(clock: VirtualClock, emitter: NodeJS.EventEmitter, event: string, opts?: DriveOptions): Promise<T> {
  return drive(clock, once(emitter, event) as Promise<T>, opts);
}

/** The next `name` event's arguments (unlike events.once, an 'error' does not reject it). */
export function event<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, name: string): Promise<T> {
  return new Promise((resolve) => emitter.once(name, (...args: unknown[]) => resolve(args as T)));
}

/** Deterministic bytes (xorshift32), so large transfers need no randomness from the host. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  for (; i < n; i++) b[i] = i & 0xff;
  return b;
}

/** Collect a readable's bytes until 'end'. */
export function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}
