// TCP inside the stack: demultiplexing by packed 4-tuple (one Map lookup per segment) to a
// connection or to a listener (whose LISTEN decisions are tcp/listener.ts's), active opens with RFC 6056
// ephemeral ports and RFC 6528 ISNs, RSTs for closed ports (RFC 9293 3.10.7.1), ICMP errors handed
// to connections, and the stack's one timer queue: every connection's next deadline, fired by
// poll(now) in (deadline, arming order) across the stack, with lazy rescheduling. No Clock: time
// comes in as arguments.
import { TimerQueue } from '../util/timer-queue.js';
import type { TimerHandle } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import type { TraceEvent } from '../trace/events.js';
import { TcpFlag, type TcpRepr } from '../wire/tcp.js';
import { formatIp } from '../wire/address.js';
import { tcpSegmentOffset } from '../wire/packet.js';
import { TcpConnection, type TcpHooks } from '../tcp/connection.js';
import { replyToClosed, type Emit, type SegmentPackets } from '../tcp/output.js';
import { resolveConfig, shareConfig, type TcpConfig, type TcpConfigInput } from '../tcp/config.js';
import { IsnGenerator } from '../tcp/isn.js';
import { tupleKey, isMulticastOrBroadcast, ipEquals, type Interface } from './route.js';
import { PortTable, type AnyFamily } from './port-table.js';
import { EphemeralPorts } from './ports.js';
import { mssForMtu, type IcmpAction } from './icmp.js';
import { CookieJar, Listener, type SynCookieMode, type CookieAccept } from '../tcp/listener.js';
import { Entry, type ConnectionInfo } from './tcp-entry.js';

export type { ConnectionInfo };

/** What the TCP host needs from the IP layer. */
export interface TcpIpLayer {
  readonly name: string;
  readonly tracing: boolean;
  /** The time of a call made outside handle()/poll() (a user call): see StackCore.eventTime. */
  eventTime(): number;
  /** The earliest deadline may have moved: the driver re-reads pollAt() (StackCore.wake). */
  wake(): void;
  trace(e: TraceEvent): void;
  /** Send a TCP segment from `src` to `dst` out of `iface`; false when it exceeds the link MTU. */
  sendTcp(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, gsoSize?: number): boolean;
  /**
   * A packet (IP header written) for a TCP segment of `segLen` bytes that the caller writes at
   * tcpSegmentOffset(src), then hands to sendTcpPacket; null when it would exceed the link MTU
   * (or, on a link with TSO, its tsoMax).
   */
  openTcpPacket(iface: Interface, src: Uint8Array, dst: Uint8Array, segLen: number): Uint8Array | null;
  /** Checksum and send a packet from openTcpPacket whose segment is written; `gsoSize` as for sendTcp. */
  sendTcpPacket(iface: Interface, src: Uint8Array, dst: Uint8Array, pkt: Uint8Array, segLen: number, gsoSize?: number): void;
  countDrop(counter: 'tcpBad' | 'tcpNoListener' | 'tcpBacklogDrops', reason: 'no-listener' | 'backlog-full', detail: string): void;
  counters: {
    tcpResetsSent: number; tcpActiveOpens: number; tcpPassiveOpens: number; tcpIn: number;
    tcpSynCookiesSent: number; tcpSynCookiesValid: number; tcpSynCookiesFailed: number;
  };
}

export interface ListenOptions {
  /** Local address; omit (or '::') for every address, '0.0.0.0' for every IPv4 address. */
  address?: string;
  /** 0 or omitted picks an ephemeral port. */
  port?: number;
  /** With address '::', accept IPv6 only (IPV6_V6ONLY), leaving the port free for IPv4. */
  ipv6Only?: boolean;
  /** Connections allowed in SYN-RECEIVED at once (default the stack's, 511). */
  backlog?: number;
  /** SYN cookies when the backlog is full (default the stack's, 'auto'). */
  synCookies?: SynCookieMode;
  config?: TcpConfigInput;
}

/** A listening endpoint (passive OPEN, RFC 9293 3.10.1): LISTEN (tcp/listener.ts) at an address and port. */
export class TcpListener extends Listener {
  /** Resolved configs for cookie SYN-ACKs, per interface and family (read-only use). */
  readonly cookieConfigs = new Map<Interface, [TcpConfig | null, TcpConfig | null]>();

  constructor(
    private readonly host: TcpHost,
    readonly addr: Uint8Array | null,
    readonly addressText: string,
    readonly port: number,
    backlog: number,
    readonly config: TcpConfigInput | undefined,
    readonly onConnection: (conn: TcpConnection, info: ConnectionInfo) => void,
    synCookies: SynCookieMode,
    jar: CookieJar,
  ) {
    super(backlog, synCookies, jar);
  }

  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    return { address: this.addressText, family: this.addressText.includes(':') ? 'IPv6' : 'IPv4', port: this.port };
  }

  /** Stop listening; connections not yet established are reset, established ones live on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unlisten(this);
  }
}

export interface ConnectOptions {
  /** Remote address (IPv4 or IPv6 text). */
  address: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  config?: TcpConfigInput;
  /** Hooks installed before the SYN leaves (onConnected, onError, onReadable, ...). */
  hooks?: TcpHooks;
}

export class TcpHost {
  readonly conns = new Map<string, Entry>();
  /**
   * The entry the last segment went to (always one in `conns`, under its key): a train of segments
   * for one connection is demultiplexed by comparing ports and addresses, without building the
   * 4-tuple string key and hashing it per segment.
   */
  #lastHit: Entry | null = null;
  readonly listeners = new PortTable<TcpListener>();
  /** Local ports in use by connections (count per port), for ephemeral selection. */
  private readonly portUse = new Map<number, number>();
  private readonly isn: IsnGenerator;
  private readonly cookies: CookieJar;
  readonly ports: EphemeralPorts;
  /** Resolved configs shared by connections with the same settings, by "mss|settings" (bounded). */
  private readonly configs = new Map<string, TcpConfig>();
  /** Remote addresses shared by the connections that use them: packed address -> [bytes, users]. */
  private readonly addrs = new Map<number | string, { bytes: Uint8Array; users: number }>();
  /** The connection being polled: where `emit` sends its segments. */
  private polling: Entry | null = null;
  /**
   * Every connection's next deadline (at most one live entry per connection: see scheduleAt), in
   * (deadline, arming order). poll(now) fires what is due; pollAt() is its head.
   */
  private readonly timers = new TimerQueue();
  /** The entries one poll() fires, taken from the queue before the first runs (reused). */
  private readonly due: Entry[] = [];
  private firing = false;
  /** Packets for the established fast path of the connection being polled (tcp/output.ts). */
  private readonly packets: SegmentPackets & { at: number } = {
    at: 0,
    open: (segLen: number): Uint8Array | null => {
      const e = this.polling!;
      this.packets.at = tcpSegmentOffset(e.remote);
      return this.ip.openTcpPacket(e.iface, e.local, e.remote, segLen);
    },
    send: (pkt: Uint8Array, segLen: number): void => {
      const e = this.polling!;
      this.ip.sendTcpPacket(e.iface, e.local, e.remote, pkt, segLen, e.conn.sendMss);
    },
  };
  private readonly emit: Emit = Object.assign(
    (seg: TcpRepr): void => {
      const e = this.polling!;
      // A segment too big for the interface (its MTU dropped under us) is lost here; lower the
      // connection's MSS to the link's so the retransmission fits (as a local packet-too-big would:
      // RFC 1122 3.3.3, RFC 9293 3.7.1 effective send MSS). Without this it would retry the same
      // size until it gave up. (The fast path's open() refuses such a packet, so it comes here.)
      // A segment larger than the MTU goes with gsoSize = Eff.snd.MSS, for a link with TSO to cut.
      if (!this.ip.sendTcp(e.iface, e.local, e.remote, seg, e.conn.sendMss)) e.conn.setMss(mssForMtu(e.iface.mtu, e.remote.length === 16));
    },
    { packets: this.packets },
  );

  constructor(
    readonly ip: TcpIpLayer,
    private readonly random: RandomSource,
    private readonly baseConfig: TcpConfigInput,
    ports: EphemeralPorts,
    readonly defaultBacklog: number,
    readonly defaultSynCookies: SynCookieMode = 'auto',
  ) {
    this.isn = new IsnGenerator(random);
    this.cookies = new CookieJar(random);
    this.ports = ports;
  }

  get size(): number {
    return this.conns.size;
  }

  info(conn: TcpConnection): ConnectionInfo | undefined {
    return this.entryOf(conn)?.info();
  }

  /** The entry of a connection this host owns (its hooks object), or undefined. */
  entryOf(conn: TcpConnection): Entry | undefined {
    const h = conn.hooks;
    return h instanceof Entry && h.host === this && h.conn === conn ? h : undefined;
  }

  /** Every connection this host keeps (TIME-WAIT included), in the order they were opened. */
  entries(): IterableIterator<Entry> {
    return this.conns.values();
  }

  /**
   * Per-connection config: stack defaults, then the caller's, with the MSS capped by the path MTU.
   * Connections with the same settings share one frozen object (resolving costs time and each copy
   * about 110 bytes); a connection that changes a setting copies it (TcpConnection.ownConfig).
   */
  private configFor(iface: Interface, remote: Uint8Array, extra: TcpConfigInput | undefined, pmtu: number): TcpConfig {
    const linkMss = mssForMtu(Math.min(iface.mtu, pmtu), remote.length === 16);
    // With TSO a segment may carry as much as fits in the link's largest packet behind the IP
    // header and the largest TCP header (60 bytes), unless a smaller path MTU was learnt.
    const tso = iface.link.offload?.tsoMax ?? 0;
    const tsoMax = tso > 0 && pmtu === Infinity ? Math.max(0, tso - (remote.length === 16 ? 40 : 20) - 60) : 0;
    const key = extra === undefined ? `${linkMss}|${tsoMax}` : `${linkMss}|${tsoMax}|${JSON.stringify(extra)}`;
    let c = this.configs.get(key);
    if (c === undefined) {
      const merged: TcpConfigInput = { ...this.baseConfig, ...extra };
      merged.mss = Math.min(merged.mss ?? linkMss, linkMss);
      merged.tsoMax = Math.min(merged.tsoMax ?? tsoMax, tsoMax);
      c = shareConfig(resolveConfig(merged));
      if (this.configs.size >= 64) this.configs.clear();
      this.configs.set(key, c);
    }
    return c;
  }

  /** One shared copy of a remote address per distinct address in use (see release). */
  private internAddress(a: Uint8Array): Uint8Array {
    const k = addressKey(a);
    let r = this.addrs.get(k);
    if (r === undefined) {
      r = { bytes: a.slice(), users: 0 };
      this.addrs.set(k, r);
    }
    r.users++;
    return r.bytes;
  }

  private releaseAddress(a: Uint8Array): void {
    const k = addressKey(a);
    const r = this.addrs.get(k);
    if (r !== undefined && r.bytes === a && --r.users <= 0) this.addrs.delete(k);
  }

  // --- active open ------------------------------------------------------------------------------

  connect(
    iface: Interface,
    local: Uint8Array,
    remote: Uint8Array,
    opts: ConnectOptions,
    pmtu: number,
    now: number,
  ): TcpConnection {
    const remotePort = opts.port;
    let localPort = opts.localPort ?? 0;
    if (localPort !== 0) {
      // A port a listener holds cannot be bound by a client (Linux bind() without SO_REUSEPORT).
      if (this.conns.has(tupleKey(local, localPort, remote, remotePort)) || this.listeners.lookup(local, localPort) !== undefined) {
        throw codedError('EADDRINUSE', `connect EADDRINUSE ${formatIp(local)}:${localPort}`);
      }
    } else {
      localPort = this.ports.pick(local, remote, remotePort, (p) =>
        !this.listeners.has(p) && !this.conns.has(tupleKey(local, p, remote, remotePort)),
      );
      if (localPort === 0) throw codedError('EADDRNOTAVAIL', 'no ephemeral port available');
    }
    const key = tupleKey(local, localPort, remote, remotePort);
    const e = new Entry(this, key, iface, local, localPort, this.internAddress(remote), remotePort, null, opts.hooks);
    e.conn = TcpConnection.connect({
      localPort,
      remotePort,
      iss: this.isn.next(now, local, localPort, remote, remotePort),
      now,
      config: this.configFor(iface, remote, opts.config, pmtu),
      hooks: e, // the entry is the connection's hooks object (tcp-entry.ts)
      tsOffset: this.random.u32(),
    });
    this.register(e);
    this.ip.counters.tcpActiveOpens++;
    this.kick(e);
    return e.conn;
  }

  // --- passive open -----------------------------------------------------------------------------

  listen(addr: Uint8Array | null, anyFamily: AnyFamily, addressText: string, opts: ListenOptions,
    onConnection: (conn: TcpConnection, info: ConnectionInfo) => void): TcpListener {
    let port = opts.port ?? 0;
    if (port === 0) {
      port = this.ports.pick(addr ?? new Uint8Array(0), new Uint8Array(0), 0, (p) => !this.listeners.has(p) && !this.portUse.has(p));
      if (port === 0) throw codedError('EADDRNOTAVAIL', 'no ephemeral port available');
    } else if (this.listeners.conflicts(port, addr, anyFamily)) {
      throw codedError('EADDRINUSE', `listen EADDRINUSE: address already in use ${addressText}:${port}`);
    }
    const l = new TcpListener(this, addr, addressText, port, opts.backlog ?? this.defaultBacklog, opts.config, onConnection,
      opts.synCookies ?? this.defaultSynCookies, this.cookies);
    this.listeners.add(port, { addr, anyFamily, value: l });
    return l;
  }

  unlisten(l: TcpListener): void {
    this.listeners.remove(l.port, l);
    // Its half-open connections: RST (BSD) or silence (Linux), as their config says.
    for (const e of [...this.conns.values()]) if (e.listener === l) e.conn.config.listenerCloseResets ? e.conn.abort() : e.conn.drop();
  }

  // --- segment arrival --------------------------------------------------------------------------

  /** A verified TCP segment for one of our addresses arrived on `iface`. */
  input(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, now: number): void {
    this.ip.counters.tcpIn++;
    let e: Entry | undefined = this.#lastHit ?? undefined;
    if (e === undefined || e.localPort !== seg.dstPort || e.remotePort !== seg.srcPort || !sameAddress(e.remote, src) || !sameAddress(e.local, dst)) {
      e = this.conns.get(tupleKey(dst, seg.dstPort, src, seg.srcPort));
      if (e !== undefined) this.#lastHit = e;
    }
    const synOnly = (seg.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN;
    if (e !== undefined) {
      if (e.listener !== null && (seg.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.ACK
        && e.conn.state === 'SYN-RECEIVED' && !e.conn.acksOurSyn(seg.ack) && this.cookieSupersedes(e, iface, src, dst, seg, now)) return;
      if (!(synOnly && e.conn.state === 'TIME-WAIT' && e.conn.canReopen(seg))) {
        e.inInput = true;
        e.conn.handleSegment(seg, now);
        e.inInput = false;
        if (!e.closed) this.pollConn(e, now);
        return;
      }
      // RFC 9293 3.10.7.4 (TIME-WAIT) / RFC 6191: a new SYN may reincarnate the connection.
      e.conn.abort();
      if (!e.closed) this.forget(e);
    }
    this.toListener(iface, src, dst, seg, synOnly, now);
  }

  /**
   * LISTEN (RFC 9293 3.10.7.2): the listener decides, the host carries it out. (Apart from
   * input(): its closure would make every segment's call allocate a context for the captures.)
   */
  private toListener(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, synOnly: boolean, now: number): void {
    const l = this.listeners.lookup(dst, seg.dstPort);
    if (l === undefined || l.closed) {
      this.ip.countDrop('tcpNoListener', 'no-listener', `port ${seg.dstPort}`);
      this.resetClosed(iface, src, dst, seg);
      return;
    }
    if (synOnly && isMulticastOrBroadcast(src)) return;
    const d = l.segment(seg, dst, src, () => this.cookieConfig(l, iface, src), now);
    switch (d.kind) {
      case 'accept':
        this.accept(iface, l, src, dst, seg, now);
        return;
      case 'cookie':
        this.ip.counters.tcpSynCookiesSent++;
        if (this.ip.tracing) {
          const conn = `${formatIp(dst)}:${seg.dstPort}>${formatIp(src)}:${seg.srcPort}`;
          const detail = `backlog ${l.pending}/${l.backlog}, mode ${l.synCookies}`;
          this.ip.trace({ type: 'syncookie', t: now, host: this.ip.name, action: 'sent', detail, conn });
        }
        this.ip.sendTcp(iface, dst, src, d.synAck);
        return;
      case 'from-cookie':
        this.acceptCookie(iface, l, src, dst, seg, d.cookie, now);
        return;
      case 'drop':
        if (d.reason === 'backlog-full') this.ip.countDrop('tcpBacklogDrops', 'backlog-full', `listener port ${l.port} backlog ${l.backlog}`);
        return;
      case 'reset':
        if (d.cookie !== undefined) {
          this.ip.counters.tcpSynCookiesFailed++;
          if (this.ip.tracing) {
            const conn = `${formatIp(dst)}:${seg.dstPort}>${formatIp(src)}:${seg.srcPort}`;
            this.ip.trace({ type: 'syncookie', t: now, host: this.ip.name, action: 'failed', detail: d.cookie.reason, conn });
          }
        }
        // An ACK to LISTEN gets <SEQ=SEG.ACK><CTL=RST>, the same as a closed port answers.
        this.resetClosed(iface, src, dst, seg);
        return;
    }
  }

  private accept(iface: Interface, l: TcpListener, src: Uint8Array, dst: Uint8Array, syn: TcpRepr, now: number): void {
    // A wildcard listener answers from the address the SYN was sent to.
    const local = ownAddress(iface, dst);
    const remote = this.internAddress(src);
    const key = tupleKey(local, syn.dstPort, remote, syn.srcPort);
    const e = new Entry(this, key, iface, local, syn.dstPort, remote, syn.srcPort, l);
    e.conn = TcpConnection.accept(syn, {
      localPort: syn.dstPort,
      remotePort: syn.srcPort,
      iss: this.isn.next(now, local, syn.dstPort, remote, syn.srcPort),
      now,
      config: this.configFor(iface, remote, l.config, Infinity),
      hooks: e, // the entry is the connection's hooks object (tcp-entry.ts)
      tsOffset: this.random.u32(),
    });
    l.pending++;
    this.register(e);
    this.pollConn(e, now);
  }

  // --- SYN cookies (RFC 4987 section 3.6) ---------------------------------------------------------

  /**
   * An ACK whose cookie the listener found valid: create the connection straight into the
   * handshake's last step and let it take the ACK (and any data on it).
   */
  private acceptCookie(iface: Interface, l: TcpListener, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, cookie: CookieAccept, now: number): void {
    this.ip.counters.tcpSynCookiesValid++;
    if (this.ip.tracing) {
      const conn = `${formatIp(dst)}:${seg.dstPort}>${formatIp(src)}:${seg.srcPort}`;
      this.ip.trace({ type: 'syncookie', t: now, host: this.ip.name, action: 'valid', conn });
    }
    const local = ownAddress(iface, dst);
    const remote = this.internAddress(src);
    const key = tupleKey(local, seg.dstPort, remote, seg.srcPort);
    const e = new Entry(this, key, iface, local, seg.dstPort, remote, seg.srcPort, l);
    e.inBacklog = false;
    e.conn = TcpConnection.fromCookie(seg, cookie.syn, {
      localPort: seg.dstPort,
      remotePort: seg.srcPort,
      iss: cookie.iss,
      now,
      config: this.configFor(iface, remote, l.config, Infinity),
      hooks: e, // the entry is the connection's hooks object (tcp-entry.ts)
      tsOffset: cookie.tsOffset,
    });
    this.register(e);
    e.inInput = true;
    e.conn.handleSegment(seg, now);
    e.inInput = false;
    // The ACK acknowledges exactly ISS + 1, so it always completes the handshake; were it ever not
    // to, a TCB with no SYN-ACK to retransmit must not linger.
    if (!e.closed && e.conn.state === 'SYN-RECEIVED') e.conn.abort();
    if (!e.closed) this.pollConn(e, now);
  }

  /**
   * An ACK reached a passive connection in SYN-RECEIVED but does not acknowledge its SYN. In
   * 'auto' mode that is the race of a client that retransmitted its SYN: the first SYN met a full
   * queue and got a cookie SYN-ACK, the retransmission met room and opened this entry with another
   * ISS, and the client answered the cookie. As Linux's tcp_check_req hands such an ACK
   * (ACK != the request's ISS + 1) back to the listener for its cookie check, ask the listener:
   * a valid cookie replaces the entry silently (it leaves the SYN queue; the peer never saw its
   * ISS) and becomes the connection. Otherwise (false) the entry answers as RFC 9293 3.10.7.4 says.
   */
  private cookieSupersedes(e: Entry, iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr, now: number): boolean {
    const l = this.listeners.lookup(dst, seg.dstPort);
    if (l === undefined || l.closed || l !== e.listener) return false;
    const d = l.segment(seg, dst, src, () => this.cookieConfig(l, iface, src), now);
    if (d.kind !== 'from-cookie') {
      if (d.kind === 'reset' && d.cookie !== undefined) this.ip.counters.tcpSynCookiesFailed++;
      return false;
    }
    e.conn.supersede();
    if (!e.closed) this.forget(e);
    this.acceptCookie(iface, l, src, dst, seg, d.cookie, now);
    return true;
  }

  /** The listener's resolved config for cookie SYN-ACKs on `iface` (cached: one per family). */
  private cookieConfig(l: TcpListener, iface: Interface, remote: Uint8Array): TcpConfig {
    let pair = l.cookieConfigs.get(iface);
    if (pair === undefined) l.cookieConfigs.set(iface, (pair = [null, null]));
    const i = remote.length === 16 ? 1 : 0;
    return (pair[i] ??= this.configFor(iface, remote, l.config, Infinity));
  }

  /** Answer a segment to a port with no connection (RFC 9293 3.10.7.1). */
  resetClosed(iface: Interface, src: Uint8Array, dst: Uint8Array, seg: TcpRepr): void {
    if (isMulticastOrBroadcast(src) || isMulticastOrBroadcast(dst)) return;
    const rst = replyToClosed(seg);
    if (rst === null) return;
    this.ip.counters.tcpResetsSent++;
    this.ip.sendTcp(iface, dst, src, rst);
  }

  // --- ICMP -------------------------------------------------------------------------------------

  /** An ICMP error quoting a segment we sent from local:localPort to remote:remotePort. */
  icmpError(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, action: IcmpAction, now: number): boolean {
    const e = this.conns.get(tupleKey(local, localPort, remote, remotePort));
    if (e === undefined) return false;
    if (action.kind === 'pmtu') e.conn.setMss(mssForMtu(action.mtu, remote.length === 16));
    else e.conn.handleIcmpError(action.kind, action.errno, now);
    if (!e.closed) this.pollConn(e, now);
    return true;
  }

  // --- bookkeeping and the timer queue ------------------------------------------------------------

  private register(e: Entry): void {
    if (this.#lastHit !== null && this.#lastHit.key === e.key) this.#lastHit = null;
    this.conns.set(e.key, e);
    this.portUse.set(e.localPort, (this.portUse.get(e.localPort) ?? 0) + 1);
  }

  /** Reached ESTABLISHED: a passive connection leaves the backlog and goes to the application. */
  connected(e: Entry): void {
    const l = e.listener;
    if (l === null) return;
    e.listener = null;
    if (e.inBacklog) l.pending--;
    if (l.closed) {
      e.conn.abort();
      return;
    }
    l.accepted++;
    this.ip.counters.tcpPassiveOpens++;
    l.onConnection(e.conn, e.info());
  }

  /** The connection reached CLOSED: forget it and its timer. */
  forget(e: Entry): void {
    if (e.closed) return;
    e.closed = true;
    if (e.listener !== null) {
      if (e.inBacklog) e.listener.pending--;
      e.listener = null;
    }
    if (this.conns.get(e.key) === e) this.conns.delete(e.key);
    if (this.#lastHit === e) this.#lastHit = null;
    this.releaseAddress(e.remote);
    const n = (this.portUse.get(e.localPort) ?? 1) - 1;
    if (n <= 0) this.portUse.delete(e.localPort);
    else this.portUse.set(e.localPort, n);
    if (e.timer !== null) {
      this.timers.cancel(e.timer);
      e.timer = null;
      // Its deadline may have been the stack's earliest: the driver need not wake for it.
      this.ip.wake();
    }
    e.timerAt = Infinity;
  }

  /** Output is pending after a user call: poll at the time of the call (unless a poll follows anyway). */
  kick(e: Entry): void {
    if (!e.inInput) this.scheduleAt(e, this.ip.eventTime());
  }

  /**
   * Lazy rescheduling: an entry is queued only when the deadline moves earlier than the one already
   * queued (which is cancelled, so each connection has at most one live entry and a closed
   * connection leaves none); an entry that fires early finds nothing due and queues the real
   * deadline. The driver is told at once, so it arms its clock where a clock entry per connection
   * would have been armed.
   */
  private scheduleAt(e: Entry, t: number): void {
    if (e.closed || !(t < e.timerAt)) return;
    if (e.timer !== null) this.timers.cancel(e.timer);
    e.timerAt = t;
    // A pooled queue entry carrying the connection: no closure or entry allocated per deadline, and
    // an idle connection holds none. Its handle is dropped when cancelled (above, forget) or taken (poll).
    e.timer = this.timers.addPooled(t, noop, false, e);
    this.ip.wake();
  }

  /** Timer queue entries created so far (tests: pooled deadlines stop creating them in a steady flow). */
  get timerEntriesCreated(): number {
    return this.timers.created;
  }

  /** The earliest deadline of any connection (Infinity when none is queued). */
  pollAt(): number {
    const x = this.timers.peek();
    return x === undefined ? Infinity : x.t;
  }

  /**
   * Fire the deadlines due at `now`: all those queued when the call starts, taken out first and run
   * in (deadline, arming order). What they arm at or before `now` (a hook's user call, a deadline
   * already past) is left for the next poll, which the driver schedules behind what this one sent.
   */
  poll(now: number): void {
    const due = this.firing ? [] : this.due;
    for (let x = this.timers.peek(); x !== undefined && x.t <= now; x = this.timers.peek()) {
      const e = x.arg as Entry;
      this.timers.take(x);
      // The entry goes back to the pool: if it is the one e.timer names (it is, unless a deadline
      // was re-armed under a poll that had taken it already), e.timer names TAKEN until onTimer
      // runs, whose cancel does nothing, as cancelling a taken entry did.
      if (e.timer === x) e.timer = TAKEN;
      due.push(e);
    }
    const outer = this.firing;
    const outerNow = this.pollNow;
    this.firing = true;
    this.pollNow = now;
    try {
      for (let i = 0; i < due.length; i++) this.onTimer(due[i]!);
    } finally {
      this.firing = outer;
      this.pollNow = outerNow;
      due.length = 0;
    }
  }

  /** The `now` of the poll() in progress, for the entries' callbacks. */
  private pollNow = 0;

  private onTimer(e: Entry): void {
    if (e.closed) return;
    const now = this.pollNow;
    if (e.timerAt <= now) {
      e.timerAt = Infinity;
      e.timer = null;
    }
    this.pollConn(e, now);
  }

  private pollConn(e: Entry, now: number): void {
    // Save and restore: a segment sent on a loopback path may be delivered (and polled) re-entrantly.
    const outer = this.polling;
    this.polling = e;
    try {
      e.conn.poll(now, this.emit);
    } finally {
      this.polling = outer;
    }
    if (!e.closed) this.scheduleAt(e, e.conn.pollAt());
  }

  /** Abort every connection and close every listener. */
  shutdown(now: number): void {
    for (const l of this.listeners.values()) l.close();
    for (const e of [...this.conns.values()]) {
      e.conn.abort();
      if (!e.closed) this.pollConn(e, now);
      if (!e.closed) this.forget(e);
    }
  }
}

/** What Entry.timer names between its queue entry being taken by poll() and onTimer running. */
const TAKEN: TimerHandle = { id: 0 };
const noop = (): void => {};

/** The interface's own copy of local address `a` (shared by every connection using it), else a copy. */
function ownAddress(iface: Interface, a: Uint8Array): Uint8Array {
  for (const x of iface.addresses) if (ipEquals(x.addr, a)) return x.addr;
  return a.slice();
}

/** Whether two addresses are the same (often the same shared array). */
function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A Map key for an address: the number for IPv4, 8 UTF-16 units for IPv6. */
function addressKey(a: Uint8Array): number | string {
  if (a.length === 4) return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
  let k = '';
  for (let i = 0; i < a.length; i += 2) k += String.fromCharCode((a[i]! << 8) | a[i + 1]!);
  return k;
}

function codedError(code: string, message: string): Error & { code: string } {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}
