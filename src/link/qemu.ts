// Links that carry a QEMU guest's Ethernet frames: QEMU's `-netdev stream` (and the older `-netdev
// socket`) framing over a Unix or TCP stream socket (each frame preceded by its length, 4 bytes
// big-endian), and `-netdev dgram` over UDP (one frame per datagram). Either synack listens and QEMU
// connects (`-netdev stream,id=n0,server=off,addr.type=unix,addr.path=SOCKET`), or QEMU listens
// (`server=on`) and synack connects. Put an EthernetInterface on it.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import type { Link } from './link.js';

/** Ethernet header bytes on top of the MTU: frames of up to mtu + 14 bytes are carried. */
const ETHERNET_HEADER = 14;
/** Bytes queued towards a slow guest before frames are dropped (a NIC ring that is full). */
const MAX_QUEUED = 4 << 20;

export interface QemuLinkStats {
  /** Frames and bytes received from and sent to the guest (named as TunLink's stats). */
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Frames dropped: no guest connected, too big, or the guest is not reading. */
  dropped: number;
  /** Length prefixes of 0 or beyond 65535: the stream is out of step and the guest is disconnected. */
  badFrames: number;
}

export interface QemuLink extends Link {
  /** Where QEMU connects: the socket path, or udp:PORT. */
  readonly name: string;
  /**
   * Called once if the link is lost: the listening socket fails, or (connect:) QEMU closes the
   * connection. A guest that disconnects from a listening link is not an error: the next one is awaited.
   */
  onError: ((err: Error) => void) | null;
  /** Called when a guest connects (stream) or first sends (dgram). */
  onConnect: (() => void) | null;
  stats(): QemuLinkStats;
}

/**
 * Listens on a Unix socket (a path) or 127.0.0.1:PORT (a number) for QEMU's `-netdev stream` (or
 * `-netdev socket,connect=`); one guest at a time, a new connection replaces the old one. A stale
 * socket file left at `path` by an earlier run is removed; any other file there is an error.
 */
export async function listenQemuStream(where: string | number, opts: { mtu?: number } = {}): Promise<QemuLink> {
  const mtu = opts.mtu ?? 1500;
  if (typeof where === 'string' && existsSync(where)) {
    if (!lstatSync(where).isSocket()) throw new Error(`${where} exists and is not a socket`);
    unlinkSync(where);
  }
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'string') server.listen(where, resolve);
    else server.listen(where, '127.0.0.1', resolve);
  });
  return new StreamLink(server, typeof where === 'string' ? where : `127.0.0.1:${where}`, mtu, typeof where === 'string' ? where : null);
}

/** Connects to a QEMU `-netdev stream,server=on` listening on a Unix socket path. */
export async function connectQemuStream(path: string, opts: { mtu?: number } = {}): Promise<QemuLink> {
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = connect(path);
    s.once('error', (e) => reject(new Error(`cannot connect to QEMU at ${path}: ${e.message}`)));
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
  });
  const link = new StreamLink(null, path, opts.mtu ?? 1500, null);
  link.adopt(sock);
  return link;
}

/** What both QEMU transports share: the hooks, the counters, and closing once. */
abstract class QemuLinkBase implements QemuLink {
  onReceive: ((frame: Uint8Array) => unknown) | null = null;
  onError: ((err: Error) => void) | null = null;
  onConnect: (() => void) | null = null;
  abstract readonly name: string;
  protected closed = false;
  protected readonly counters: QemuLinkStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, dropped: 0, badFrames: 0 };

  constructor(readonly mtu: number) {}

  abstract send(frame: Uint8Array): void;

  /** Give back the transport's sockets and files (called once, from close()). */
  protected abstract release(): void;

  /** Count a frame in and hand it to the stack. */
  protected deliver(frame: Uint8Array): void {
    this.counters.rxPackets++;
    this.counters.rxBytes += frame.length;
    this.onReceive?.(frame);
  }

  /** Whether `frame` may go out now; counts it as sent or dropped. */
  protected admit(frame: Uint8Array, open: boolean): boolean {
    if (this.closed || !open || frame.length > this.mtu + ETHERNET_HEADER) {
      this.counters.dropped++;
      return false;
    }
    this.counters.txPackets++;
    this.counters.txBytes += frame.length;
    return true;
  }

  stats(): QemuLinkStats {
    return { ...this.counters };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onReceive = null;
    this.release();
  }
}

class StreamLink extends QemuLinkBase {
  private sock: Socket | null = null;
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly server: Server | null,
    readonly name: string,
    mtu: number,
    private readonly path: string | null,
  ) {
    super(mtu);
    server?.on('connection', (s) => this.adopt(s));
    server?.on('error', (e) => this.onError?.(e));
  }

  /** Carry frames over `s` from now on (replacing any earlier connection). */
  adopt(s: Socket): void {
    this.sock?.destroy();
    this.sock = s;
    this.pending = Buffer.alloc(0);
    s.setNoDelay?.(true);
    s.on('data', (chunk: Buffer) => this.data(s, chunk));
    s.on('error', () => {
      // 'close' follows and says what it means.
    });
    s.on('close', () => {
      if (this.sock !== s) return;
      this.sock = null;
      if (this.server === null && !this.closed) this.onError?.(new Error(`QEMU closed the connection on ${this.name}`));
    });
    this.onConnect?.();
  }

  private data(s: Socket, chunk: Buffer): void {
    if (this.sock !== s || this.closed) return;
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (len === 0 || len > 65535) {
        this.counters.badFrames++;
        this.onError?.(new Error(`QEMU stream on ${this.name}: frame length ${len}; not QEMU's framing? disconnecting`));
        s.destroy();
        this.sock = null;
        return;
      }
      if (buf.length - at - 4 < len) break;
      const frame = new Uint8Array(buf.buffer, buf.byteOffset + at + 4, len);
      at += 4 + len;
      this.deliver(frame);
      if (this.sock !== s) return;
    }
    buf = buf.subarray(at);
    // Keep a copy of the partial frame only: the chunk it lives in may be large.
    this.pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  send(frame: Uint8Array): void {
    const s = this.sock;
    if (!this.admit(frame, s !== null && s.writableLength <= MAX_QUEUED) || s === null) return;
    const out = Buffer.allocUnsafe(4 + frame.length);
    out.writeUInt32BE(frame.length, 0);
    out.set(frame, 4);
    s.write(out);
  }

  protected release(): void {
    this.sock?.destroy();
    this.server?.close();
    if (this.path !== null) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * QEMU's `-netdev dgram` over UDP on 127.0.0.1: binds `localPort`, sends to `remotePort` (QEMU's
 * `local.port`, which must be the `remote.port` QEMU sends to). One frame per datagram.
 */
export async function openQemuDgram(localPort: number, remotePort: number, opts: { mtu?: number } = {}): Promise<QemuLink> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(localPort, '127.0.0.1', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return new DgramLink(sock, remotePort, opts.mtu ?? 1500);
}

class DgramLink extends QemuLinkBase {
  readonly name: string;
  private seen = false;

  constructor(
    private readonly sock: UdpSocket,
    private readonly remotePort: number,
    mtu: number,
  ) {
    super(mtu);
    this.name = `udp:${sock.address().port}`;
    sock.on('message', (msg, rinfo) => {
      // Only QEMU's end on loopback may speak: anything else on the port is ignored.
      if (this.closed || rinfo.address !== '127.0.0.1' || rinfo.port !== remotePort) {
        this.counters.dropped++;
        return;
      }
      if (!this.seen) {
        this.seen = true;
        this.onConnect?.();
      }
      this.deliver(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
    });
    sock.on('error', (e) => this.onError?.(e));
  }

  send(frame: Uint8Array): void {
    if (!this.admit(frame, true)) return;
    this.sock.send(frame, this.remotePort, '127.0.0.1');
  }

  protected release(): void {
    this.sock.close();
  }
}
