// One connection as the TCP host keeps it: its 4-tuple, its place in the timer queue, and the
// hooks object the connection calls. It is kept small on purpose (issue 9: heap per idle
// connection): the hooks are prototype methods of this one object, not closures per connection,
// and the addresses are shared arrays (see TcpHost.internAddress).
import type { TimerHandle } from '../util/clock.js';
import type { TraceEvent, TcpStateName } from '../trace/events.js';
import { formatIp } from '../wire/address.js';
import type { TcpConnection, TcpHooks, TcpErrorCode } from '../tcp/connection.js';
import type { Interface } from './route.js';

/** Addresses and ports of a connection, as Node's socket.address() / remoteAddress report them. */
export interface ConnectionInfo {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  family: 'IPv4' | 'IPv6';
}

/**
 * The listener a passive connection came from, as the connection's entry holds it until accepted
 * (TcpListener in tcp-host.ts; an interface here so that this file does not import tcp-host.ts).
 */
export interface PassiveOrigin {
  /** Connections in SYN-RECEIVED that count against the backlog, and those handed to the application. */
  pending: number;
  accepted: number;
  readonly closed: boolean;
  onConnection(conn: TcpConnection, info: ConnectionInfo): void;
}

/** What an Entry needs from its host (TcpHost implements it). */
export interface EntryHost {
  readonly ip: {
    readonly name: string;
    readonly tracing: boolean;
    eventTime(): number;
    trace(e: TraceEvent): void;
  };
  connected(e: Entry): void;
  forget(e: Entry): void;
  kick(e: Entry): void;
}

type StateFn = (from: TcpStateName, to: TcpStateName, cause: string) => void;

/**
 * A connection inside the stack, and the hooks object its TcpConnection calls. onReadable /
 * onWritable / onError belong to the application; assigning onState / onConnected / onClosed /
 * onTrace adds the application's handler after the stack's own, and onPollNeeded stays the
 * stack's. Set hooks one by one (`conn.hooks.onReadable = ...`); do not replace the whole object.
 */
export class Entry {
  /** Deadline of the entry queued for this connection in the stack's timer queue (Infinity: none). */
  timerAt = Infinity;
  timer: TimerHandle | null = null;
  closed = false;
  /** Inside handleSegment: a poll follows anyway, so poll requests need no timer. */
  inInput = false;
  /** Whether it occupies a backlog slot (false for a connection rebuilt from a SYN cookie). */
  inBacklog = true;
  conn!: TcpConnection;
  label: string | null = null;
  // Declared fields (ES2022 class fields): present from construction, so every Entry keeps one shape.
  onReadable?: () => void;
  onWritable?: () => void;
  onError?: (code: TcpErrorCode, message: string) => void;
  private userState: StateFn | undefined = undefined;
  private userConnected: (() => void) | undefined = undefined;
  private userClosed: (() => void) | undefined = undefined;
  private userTrace: ((e: TraceEvent) => void) | undefined = undefined;

  constructor(
    readonly host: EntryHost,
    readonly key: string,
    readonly iface: Interface,
    readonly local: Uint8Array,
    readonly localPort: number,
    readonly remote: Uint8Array,
    readonly remotePort: number,
    /** The listener this passive connection goes to once ESTABLISHED (null when active or accepted). */
    public listener: PassiveOrigin | null,
    user?: TcpHooks,
  ) {
    if (user !== undefined) {
      if (user.onReadable) this.onReadable = user.onReadable.bind(user);
      if (user.onWritable) this.onWritable = user.onWritable.bind(user);
      if (user.onError) this.onError = user.onError.bind(user);
      this.userState = user.onState?.bind(user);
      this.userConnected = user.onConnected?.bind(user);
      this.userClosed = user.onClosed?.bind(user);
      this.userTrace = user.onTrace?.bind(user);
    }
  }

  connLabel(): string {
    return (this.label ??= `${formatIp(this.local)}:${this.localPort}>${formatIp(this.remote)}:${this.remotePort}`);
  }

  info(): ConnectionInfo {
    return {
      localAddress: formatIp(this.local),
      localPort: this.localPort,
      remoteAddress: formatIp(this.remote),
      remotePort: this.remotePort,
      family: this.local.length === 4 ? 'IPv4' : 'IPv6',
    };
  }

  // --- the hooks the connection calls (always as methods of this object) --------------------------

  get onState(): StateFn {
    return this.stateHook;
  }
  set onState(fn: StateFn | undefined) {
    this.userState = fn;
  }
  get onConnected(): () => void {
    return this.connectedHook;
  }
  set onConnected(fn: (() => void) | undefined) {
    this.userConnected = fn;
  }
  get onClosed(): () => void {
    return this.closedHook;
  }
  set onClosed(fn: (() => void) | undefined) {
    this.userClosed = fn;
  }
  get onPollNeeded(): () => void {
    return this.pollHook;
  }
  set onPollNeeded(_fn: (() => void) | undefined) {
    // The stack drives polling; an application handler here would starve the connection.
  }
  /** Present only while someone listens, so the connection builds no trace events otherwise. */
  get onTrace(): ((e: TraceEvent) => void) | undefined {
    return this.host.ip.tracing || this.userTrace !== undefined ? this.traceHook : undefined;
  }
  set onTrace(fn: ((e: TraceEvent) => void) | undefined) {
    this.userTrace = fn;
  }

  private stateHook(this: Entry, from: TcpStateName, to: TcpStateName, cause: string): void {
    const ip = this.host.ip;
    if (ip.tracing) {
      ip.trace({ type: 'state', t: ip.eventTime(), host: ip.name, from, to, cause, conn: this.connLabel() });
    }
    this.userState?.(from, to, cause);
  }
  private connectedHook(this: Entry): void {
    this.host.connected(this);
    this.userConnected?.();
  }
  private closedHook(this: Entry): void {
    this.host.forget(this);
    this.userClosed?.();
  }
  private pollHook(this: Entry): void {
    this.host.kick(this);
  }
  private traceHook(this: Entry, ev: TraceEvent): void {
    const ip = this.host.ip;
    if (ip.tracing) {
      const tagged = ev as TraceEvent & { host?: string; conn?: string };
      if (tagged.type !== 'segment') tagged.host = ip.name;
      tagged.conn ??= this.connLabel();
      ip.trace(ev);
    }
    this.userTrace?.(ev);
  }
}
