// `synack relay`: a WebSocket relay for synack stacks that live in browsers. Clients that pass the
// admission check (--token, --origin) get one IPv4 address from --pool (and one IPv6 address with
// --peer6); their IP packets or frames (binary messages) go onto a TUN or TAP device if they carry
// that source (src/cli/relay-hub.ts), and packets the kernel routes to the address come back.
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import { openTun, configureKernelSide, tunUnavailableReason, type TunLink } from '../link/tun.js';
import { parseArgs, formatFlags, flagBool, flagNumber, flagString, type FlagsSpec } from './args.js';
import { UsageError, EXIT, type CliIo } from './io.js';
import { acceptWebSocket } from './websocket.js';
import { RelayHub, admission, type AdmissionPolicy } from './relay-hub.js';

const RELAY_FLAGS: FlagsSpec = {
  listen: { type: 'string', value: 'HOST:PORT', help: 'where WebSocket clients connect (default 127.0.0.1:8765)' },
  tun: { type: 'string', value: 'NAME', help: "TUN device the clients' IP packets go to (created if missing)" },
  tap: { type: 'string', value: 'NAME', help: "instead of --tun: a TAP device; clients send Ethernet frames, each with its own MAC" },
  peer: { type: 'string', value: 'CIDR', help: "the kernel's address on the device and the clients' subnet, e.g. 198.18.0.1/24 (required)" },
  pool: { type: 'string', value: 'FIRST-LAST', help: 'client addresses, one per connection, inside the --peer subnet (required)' },
  peer6: { type: 'string', value: 'CIDR', help: "also IPv6: the kernel's address and the clients' prefix (/8 to /96), e.g. 2001:db8:5::1/64; a client's IPv6 address is its IPv4 address in the low 32 bits" },
  token: { type: 'string', value: 'TOKEN', help: 'admit only clients whose URL carries ?token=TOKEN (else close 4401); or set SYNACK_RELAY_TOKEN' },
  origin: { type: 'string', value: 'ORIGIN[,ORIGIN]', help: 'admit only pages from these origins, e.g. https://lab.example (else close 4403)' },
  mtu: { type: 'number', value: 'BYTES', integer: true, min: 576, max: 65535, help: 'largest packet a client may send and the device MTU (default 1500)' },
  rate: { type: 'number', value: 'PPS', min: 1, help: 'packets per second each client may send (default 20000, bursts of 2000)' },
  quiet: { type: 'boolean', short: 'q', help: 'do not log clients coming and going' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** Test-only: put the TUN device in this network namespace (the relay itself stays where it is). */
const HIDDEN_FLAGS: FlagsSpec = {
  netns: { type: 'string', value: 'NAME', help: 'create the TUN device in this namespace' },
};

export const RELAY_USAGE = `Usage: synack relay --tun NAME|--tap NAME --peer CIDR --pool FIRST-LAST [--listen HOST:PORT]

Relays IP packets (--tun) or Ethernet frames (--tap) between WebSocket clients (synack stacks in
browsers, using attachRelay from synack/web) and a TUN or TAP device. Each client gets one address
from --pool (and on TAP one MAC), announced in a first text message; it may send only packets from
that address (frames from that MAC, ARP for that address), to destinations that are not loopback,
unspecified, multicast or broadcast, at most --rate packets per second. The kernel routes the rest.

  synack relay --tun rly0 --peer 198.18.0.1/24 --pool 198.18.0.10-198.18.0.50 --listen 127.0.0.1:8765
  synack relay --tap rly1 --peer 198.18.0.1/24 --peer6 2001:db8:5::1/64 --pool 198.18.0.10-198.18.0.50 \
      --token "$(openssl rand -hex 16)" --origin https://lab.example

A refused client's WebSocket is closed with 4401 (token missing or wrong) or 4403 (origin not
allowed); a full pool closes with 1013.

Stops on SIGINT or SIGTERM. See docs/vm.md for the security model.

Options:
${formatFlags(RELAY_FLAGS)}
`;

export async function relayCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { ...RELAY_FLAGS, ...HIDDEN_FLAGS }, 'relay');
  if (flagBool(args, 'help') === true) {
    io.out(RELAY_USAGE);
    return EXIT.ok;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}'`, 'relay');
  const tunName = flagString(args, 'tun');
  const tapName = flagString(args, 'tap');
  if (tunName !== undefined && tapName !== undefined) throw new UsageError('give --tun NAME or --tap NAME, not both', 'relay');
  const dev = tunName ?? tapName;
  if (dev === undefined) throw new UsageError('--tun NAME or --tap NAME is required', 'relay');
  const mode = tapName !== undefined ? 'ethernet' : 'ip';
  const peer = flagString(args, 'peer');
  const [peerIp, peerLen] = (peer ?? '').split('/');
  if (peer === undefined || isIP(peerIp ?? '') !== 4 || !/^\d+$/.test(peerLen ?? '') || Number(peerLen) < 8 || Number(peerLen) > 30) {
    throw new UsageError('--peer wants the kernel address and IPv4 prefix, e.g. 198.18.0.1/24', 'relay');
  }
  const [first, last, extra] = (flagString(args, 'pool') ?? '').split('-');
  if (first === undefined || last === undefined || extra !== undefined || isIP(first) !== 4 || isIP(last) !== 4) {
    throw new UsageError('--pool wants FIRST-LAST IPv4 addresses, e.g. 198.18.0.10-198.18.0.50', 'relay');
  }
  const listen = flagString(args, 'listen') ?? '127.0.0.1:8765';
  const m = /^(.*):(\d+)$/.exec(listen);
  if (m === null || Number(m[2]) > 65535) throw new UsageError(`--listen wants HOST:PORT, got '${listen}'`, 'relay');
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  const mtu = flagNumber(args, 'mtu') ?? 1500;
  const rate = flagNumber(args, 'rate') ?? 20_000;
  const quiet = flagBool(args, 'quiet') === true;
  const netns = flagString(args, 'netns');
  const peer6 = flagString(args, 'peer6');
  const [peer6Ip, peer6Len] = (peer6 ?? '').split('/');
  if (peer6 !== undefined && (isIP(peer6Ip ?? '') !== 6 || !/^\d+$/.test(peer6Len ?? '') || Number(peer6Len) < 8 || Number(peer6Len) > 96)) {
    throw new UsageError('--peer6 wants the kernel IPv6 address and a prefix of /8 to /96, e.g. 2001:db8:5::1/64', 'relay');
  }
  const token = flagString(args, 'token') ?? io.env['SYNACK_RELAY_TOKEN'];
  if (token !== undefined && token.length < 8) throw new UsageError('--token wants at least 8 characters (e.g. openssl rand -hex 16)', 'relay');
  const originList = flagString(args, 'origin')?.split(',').map((o) => o.trim()).filter((o) => o !== '');
  if (originList !== undefined && (originList.length === 0 || originList.some((o) => !/^https?:\/\/[^/\s]+$/.test(o)))) {
    throw new UsageError("--origin wants origins like https://lab.example or http://127.0.0.1:8080 (scheme://host[:port], no path)", 'relay');
  }
  const policy: AdmissionPolicy = { ...(token !== undefined ? { token } : {}), ...(originList !== undefined ? { origins: originList } : {}) };

  const why = tunUnavailableReason();
  if (why !== null) {
    io.err(`synack relay: cannot use TUN device ${dev}: ${why}\n`);
    return EXIT.failure;
  }
  let tun: TunLink;
  let hub: RelayHub;
  try {
    // No offloads: the relay forwards each packet as it is to a browser's stack, which takes neither
    // 64 KiB super-packets nor partial checksums.
    tun = await openTun({ name: dev, mtu, tap: mode === 'ethernet', offload: false, ...(netns !== undefined ? { netns } : {}) });
  } catch (e) {
    io.err(`synack relay: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  try {
    await configureKernelSide(tun.name, { peer: peerIp!, prefix: Number(peerLen), mtu, ...(netns !== undefined ? { netns } : {}) });
    if (peer6 !== undefined) await configureKernelSide(tun.name, { peer: peer6Ip!, prefix: Number(peer6Len), ...(netns !== undefined ? { netns } : {}) });
    hub = new RelayHub(tun, { mode, first, last, prefix: Number(peerLen), gateway: peerIp!, mtu, rate, burst: 2000, maxBuffered: 4 << 20, ...(peer6 !== undefined ? { peer6 } : {}) });
  } catch (e) {
    tun.close();
    io.err(`synack relay: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  const http = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('synack relay: connect with a WebSocket\n');
  });
  http.on('upgrade', (req, socket) => {
    const peerWs = acceptWebSocket(req, socket, { maxMessage: mtu, maxBuffered: 4 << 20 });
    if (peerWs === null) return;
    const from = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    // Refused after the handshake, so a page's WebSocket sees why (its close code and reason).
    const no = admission(req.url ?? '/', req.headers.origin, policy);
    if (no !== null) {
      hub.stats.unauthorized++;
      peerWs.close(no.code, no.reason);
      if (!quiet) io.err(`synack relay: client ${from} refused (${no.code} ${no.reason})\n`);
      return;
    }
    const before = hub.stats.accepted;
    if (hub.attach(peerWs) && !quiet) io.err(`synack relay: client ${from} connected (${hub.stats.clients} now, #${before + 1})\n`);
    const onClose = peerWs.onClose;
    peerWs.onClose = (code) => {
      onClose?.(code);
      if (!quiet) io.err(`synack relay: client ${from} left (${code}); ${JSON.stringify(hub.stats)}\n`);
    };
  });
  const ok = await new Promise<boolean>((resolve) => {
    http.once('error', (e) => {
      io.err(`synack relay: cannot listen on ${listen}: ${e.message}\n`);
      resolve(false);
    });
    http.listen(Number(m[2]), host, () => resolve(true));
  });
  if (!ok) {
    hub.close();
    tun.close();
    return EXIT.failure;
  }
  const addr = http.address();
  io.err(`synack relay: listening on ${typeof addr === 'object' && addr !== null ? `${addr.address}:${addr.port}` : listen}, device ${tun.name}, pool ${first}-${last}${peer6 !== undefined ? `, IPv6 ${peer6}` : ''}\n`);
  if (token === undefined && !/^(127\.|::1$|localhost$)/.test(host)) {
    io.err(`synack relay: warning: no --token, so anyone who reaches ${listen} may use the relay\n`);
  }
  return await new Promise<number>((done) => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      hub.close();
      http.close();
      tun.close();
      io.err(`synack relay: stopped; ${JSON.stringify(hub.stats)}\n`);
      done(EXIT.ok);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
