// Run inside a test's network namespace by fetch.test.ts: a synack stack on the TUN device DEV
// with the given addresses, then fetch(URL + '/fetch') through an undici Agent whose connect()
// returns synack sockets and http.get(URL + '/http') through an http.Agent whose createConnection
// does the same. Prints {fetch, http} (status, byte count, sha256) as JSON and then lets the
// process end by itself once the sockets are closed.
// Usage: node --import tsx test/interop/fetch-client.ts DEV CIDR[,CIDR] URL
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { Socket as NodeSocket } from 'node:net';
import { Agent } from 'undici';
import { Stack } from '../../src/index.js';
import { createNet } from '../../src/net/index.js';
import { openTun } from '../../src/link/tun.js';

const [dev, cidrs, base] = process.argv.slice(2);
if (dev === undefined || cidrs === undefined || base === undefined) {
  console.error('usage: fetch-client.ts DEV CIDR[,CIDR] URL');
  process.exit(2);
}
const failsafe = setTimeout(() => {
  console.error('fetch-client: still running after 60 s');
  process.exit(3);
}, 60_000);
failsafe.unref();

const tun = await openTun({ name: dev, mtu: 1500, ref: false, offload: process.env['SYNACK_TUN_OFFLOAD'] !== 'off' });
const stack = new Stack({ name: 'fetch-client' });
const iface = stack.addInterface(tun, { addresses: cidrs.split(','), name: tun.name });
stack.addRoute('0.0.0.0/0', { iface });
if (cidrs.includes(':')) stack.addRoute('::/0', { iface });
const net = createNet(stack);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const dispatcher = new Agent({
  connect(opts, cb) {
    const s = net.connect({ host: opts.hostname, port: Number(opts.port) || 80 });
    s.once('connect', () => cb(null, s as unknown as NodeSocket));
    s.once('error', (e) => cb(e, null));
  },
});
const res = await fetch(`${base}/fetch`, { dispatcher } as RequestInit);
const fetched = new Uint8Array(await res.arrayBuffer());

class SynackAgent extends http.Agent {
  override createConnection(o: http.ClientRequestArgs): ReturnType<http.Agent['createConnection']> {
    return net.createConnection({ host: o.host ?? 'localhost', port: Number(o.port) || 80 }) as unknown as ReturnType<http.Agent['createConnection']>;
  }
}
const agent = new SynackAgent();
const viaHttp = await new Promise<{ status: number | undefined; body: Buffer }>((resolve, reject) => {
  http.get(`${base}/http`, { agent }, (r) => {
    const parts: Buffer[] = [];
    r.on('data', (d: Buffer) => parts.push(d)).on('end', () => resolve({ status: r.statusCode, body: Buffer.concat(parts) }));
  }).on('error', reject);
});

console.log(JSON.stringify({
  fetch: { status: res.status, bytes: fetched.length, sha: sha(fetched) },
  http: { status: viaHttp.status, bytes: viaHttp.body.length, sha: sha(viaHttp.body) },
  tcpOut: stack.stats().tcpOut,
}));
await dispatcher.close();
agent.destroy();
// Nothing else is keeping the process: it exits once synack's sockets have closed.
setTimeout(() => {
  stack.close();
  tun.close();
}, 200).unref();
