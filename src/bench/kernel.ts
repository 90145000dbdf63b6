// Kernel baselines: bulk throughput and connection churn through Node `net` on 127.0.0.1, and kernel-to-kernel over veth between two network namespaces.

import * as net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { nowMs } from './harness.js';

const CHUNK = 64 * 1024;

/** A listening net.Server on 127.0.0.1 with an ephemeral port. */
function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      if (a === null || typeof a === 'string') reject(new Error('no port'));
      else resolve(a.port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Send `bytes` from a client to a discarding server on 127.0.0.1 in one process and return MB/s
 * (10^6 bytes per second), timed from the connect call to the server having read the last byte.
 */
export async function kernelBulk(bytes: number): Promise<number> {
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  let received = 0;
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= bytes) done();
    });
    s.on('error', () => {});
  });
  const port = await listen(server);
  const chunk = Buffer.alloc(CHUNK, 0x5a);
  const t0 = nowMs();
  const c = net.connect({ port, host: '127.0.0.1', noDelay: true });
  c.on('error', () => {});
  await new Promise<void>((r) => c.once('connect', () => r()));
  let sent = 0;
  const pump = (): void => {
    while (sent < bytes) {
      const n = Math.min(CHUNK, bytes - sent);
      sent += n;
      if (!c.write(n === CHUNK ? chunk : chunk.subarray(0, n))) {
        c.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await finished;
  const ms = nowMs() - t0;
  c.destroy();
  await closeServer(server);
  return bytes / 1e6 / (ms / 1000);
}

/**
 * Connection churn: `cycles` times connect, send a small request, read a small response, close
 * (the server closes after answering, client closes on end), with `concurrency` cycles in flight.
 * Returns cycles per second.
 */
export async function kernelChurn(cycles: number, concurrency: number, reqSize = 32, resSize = 64): Promise<number> {
  const response = Buffer.alloc(resSize, 0x72);
  const server = net.createServer((s) => {
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= reqSize) s.end(response);
    });
    s.on('error', () => {});
  });
  const port = await listen(server);
  const request = Buffer.alloc(reqSize, 0x71);
  let started = 0;
  let completed = 0;
  let done!: () => void;
  let fail!: (e: Error) => void;
  const finished = new Promise<void>((res, rej) => {
    done = res;
    fail = rej;
  });
  const one = (): void => {
    if (started >= cycles) return;
    started++;
    const c = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => c.write(request));
    let got = 0;
    c.on('data', (d: Buffer) => {
      got += d.length;
    });
    c.on('end', () => c.end());
    c.on('error', (e) => fail(e));
    c.on('close', () => {
      if (got < resSize) return fail(new Error(`short response: ${got}`));
      completed++;
      if (completed === cycles) done();
      else one();
    });
  };
  const t0 = nowMs();
  for (let i = 0; i < concurrency; i++) one();
  await finished;
  const ms = nowMs() - t0;
  await closeServer(server);
  return cycles / (ms / 1000);
}

/** True when this process can create network namespaces (root and `ip` present). */
export function canUseNetns(): { ok: true } | { ok: false; why: string } {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, why: 'needs root (network namespaces)' };
  const r = spawnSync('ip', ['-V'], { stdio: 'ignore' });
  if (r.error !== undefined || r.status !== 0) return { ok: false, why: 'the ip tool (iproute2) is missing' };
  return { ok: true };
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Two namespaces joined by a veth pair: A = 198.18.0.1, B = 198.18.0.2, at the given MTU. */
export interface VethPair {
  nsA: string;
  nsB: string;
  addrA: string;
  addrB: string;
  destroy(): void;
}

/** Namespaces this process made and has not deleted yet, for the signal handler below. */
const liveNamespaces = new Set<string>();
const onSignal = (sig: NodeJS.Signals): void => {
  for (const ns of liveNamespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveNamespaces.clear();
  process.stderr.write(`synack bench: ${sig}: deleted the bench's network namespaces\n`);
  process.exit(sig === 'SIGINT' ? 130 : 143);
};

/**
 * Makes network namespace `ns` (deleting a leftover of the same name first) and deletes it again
 * if the process is interrupted (Ctrl-C, `timeout`) before `dropNamespace`: a bench killed in the
 * middle of a run left its namespaces, TUN devices and veth pairs behind.
 */
export function addNamespace(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr.trim()}`);
  if (liveNamespaces.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  liveNamespaces.add(ns);
}

/** Deletes namespace `ns` (and so every device in it). */
export function dropNamespace(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveNamespaces.delete(ns);
  if (liveNamespaces.size === 0) {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

export function createVethPair(mtu: number): VethPair {
  const tag = `${process.pid % 100000}`;
  const nsA = `synb-a-${tag}`;
  const nsB = `synb-b-${tag}`;
  const pair: VethPair = {
    nsA,
    nsB,
    addrA: '198.18.0.1',
    addrB: '198.18.0.2',
    destroy() {
      // Deleting a namespace deletes the veth end inside it (and so its peer).
      dropNamespace(nsA);
      dropNamespace(nsB);
    },
  };
  try {
    addNamespace(nsA);
    addNamespace(nsB);
    // Created directly inside the namespaces: the root namespace's interfaces are never touched.
    ip('-n', nsA, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', nsB);
    ip('-n', nsA, 'link', 'set', 'va', 'mtu', String(mtu));
    ip('-n', nsB, 'link', 'set', 'vb', 'mtu', String(mtu));
    ip('-n', nsA, 'addr', 'add', '198.18.0.1/24', 'dev', 'va');
    ip('-n', nsB, 'addr', 'add', '198.18.0.2/24', 'dev', 'vb');
    ip('-n', nsA, 'link', 'set', 'lo', 'up');
    ip('-n', nsB, 'link', 'set', 'lo', 'up');
    ip('-n', nsA, 'link', 'set', 'va', 'up');
    ip('-n', nsB, 'link', 'set', 'vb', 'up');
  } catch (e) {
    pair.destroy();
    throw e;
  }
  return pair;
}

// Receiver and sender as tiny Node programs run inside the namespaces (plain JS: no tsx needed there).
const RECEIVER = `
const net = require('net');
const want = Number(process.argv[1]);
const srv = net.createServer((s) => {
  let got = 0, t0 = 0, c0;
  s.on('data', (d) => {
    if (got === 0) { t0 = performance.now(); c0 = process.cpuUsage(); }
    got += d.length;
    if (got >= want) {
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      process.stdout.write(JSON.stringify({ bytes: got, ms, cpuS: (c.user + c.system) / 1e6 }) + '\\n');
      s.destroy(); srv.close();
    }
  });
});
srv.listen(5001, process.argv[2], () => process.stdout.write('ready\\n'));
`;
const SENDER = `
const net = require('net');
const want = Number(process.argv[1]);
const chunk = Buffer.alloc(65536, 0x5a);
const c = net.connect({ port: 5001, host: process.argv[2] }, () => {
  const c0 = process.cpuUsage();
  process.on('exit', () => { const u = process.cpuUsage(c0); process.stdout.write(JSON.stringify({ cpuS: (u.user + u.system) / 1e6 }) + '\\n'); });
  let sent = 0;
  const pump = () => {
    while (sent < want) {
      const n = Math.min(65536, want - sent); sent += n;
      if (!c.write(n === 65536 ? chunk : chunk.subarray(0, n))) return void c.once('drain', pump);
    }
    c.end();
  };
  pump();
});
c.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

/** A kernel-side receiver running in a namespace: `ready` once listening, `result` when it has read everything. */
export interface KernelReceiver {
  ready: Promise<void>;
  /** Bytes read, ms from its first to its last byte, and the receiver's CPU seconds over the same span. */
  result: Promise<{ bytes: number; ms: number; cpuS: number }>;
  kill(): void;
}

/** A Node receiver in namespace `ns` listening on `addr`:5001 for one connection of `bytes`. */
export function kernelReceiver(ns: string, addr: string, bytes: number): KernelReceiver {
  const rx = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', RECEIVER, String(bytes), addr], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  rx.stdout.setEncoding('utf8');
  rx.stderr.setEncoding('utf8');
  rx.stderr.on('data', (d: string) => (err += d));
  const exited = new Promise<number>((r) => rx.on('exit', (code) => r(code ?? 1)));
  const ready = new Promise<void>((resolve, reject) => {
    rx.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    void exited.then(() => reject(new Error(`receiver exited early: ${err.trim()}`)));
  });
  const result = exited.then((code) => {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (code !== 0 || line === undefined) throw new Error(`receiver failed (${code}): ${err.trim()}`);
    return JSON.parse(line) as { bytes: number; ms: number; cpuS: number };
  });
  ready.catch(() => {});
  result.catch(() => {});
  return { ready, result, kill: () => rx.kill() };
}

/**
 * A Node sender in namespace `ns` writing `bytes` to `addr`:5001 in 64 KiB writes; resolves when it
 * exits, with its CPU seconds from the connection on (NaN if it did not say).
 */
export function kernelSender(ns: string, addr: string, bytes: number): Promise<{ cpuS: number }> {
  const tx = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SENDER, String(bytes), addr], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  tx.stdout.setEncoding('utf8');
  tx.stdout.on('data', (d: string) => (out += d));
  tx.stderr.setEncoding('utf8');
  tx.stderr.on('data', (d: string) => (err += d));
  // 'close', not 'exit': the line it prints as it exits may still be in the pipe at 'exit'.
  return new Promise((resolve, reject) =>
    tx.on('close', (code) => {
      if (code !== 0) return reject(new Error(`sender failed (${code}): ${err.trim()}`));
      const line = out.split('\n').find((l) => l.startsWith('{'));
      resolve({ cpuS: line === undefined ? NaN : (JSON.parse(line) as { cpuS: number }).cpuS });
    }),
  );
}

/**
 * Kernel-to-kernel throughput over an existing veth pair: a Node receiver in B, a Node sender in A.
 * Returns MB/s timed at the receiver from the first to the last byte.
 */
export async function vethBulk(pair: VethPair, bytes: number): Promise<number> {
  const rx = kernelReceiver(pair.nsB, pair.addrB, bytes);
  await rx.ready;
  try {
    await kernelSender(pair.nsA, pair.addrB, bytes);
  } catch (e) {
    rx.kill();
    throw e;
  }
  const r = await rx.result;
  return r.bytes / 1e6 / (r.ms / 1000);
}
