// Linux socket system calls for packetdrill scripts, mapped onto the Stack's TCP API: an fd table
// numbered from 3, socket/bind/listen/accept/connect, read/recv/readv (MSG_PEEK), write/send/writev,
// close/shutdown, setsockopt/getsockopt, fcntl, ioctl and poll, with the return values and errno
// names Linux gives (tcp_recvmsg, tcp_sendmsg, tcp_poll, inet_stream_connect semantics).

import type { Expr } from './ast.js';
import { LINUX_SYMBOLS as S, symbolValue, ERRNO, formatPollFlags } from './linux.js';
import { setIpOption } from './ipopt.js';
import type { Stack } from '../stack/stack.js';
import type { TcpListener } from '../stack/tcp-host.js';
import type { TcpConnection, TcpErrorCode } from '../tcp/connection.js';
import type { TcpConfig, TcpConfigInput } from '../tcp/config.js';
import { linuxWscale } from './sysctl.js';
import { LinuxSendQueue, sendQueueCapacity } from './sndbuf.js';

/** What the calls need from the runner. */
export interface SyscallEnv {
  readonly stack: Stack;
  /** The peer (script) address that connect() targets, and the port. */
  readonly remoteIp: string;
  readonly connectPort: number;
  /** The port `bind(fd, ..., ...)` binds. */
  readonly bindPort: number;
  /** Virtual now, ms. */
  now(): number;
  /** Make sure the clock wakes the runner at `t` ms (poll timeouts). */
  wakeAt(t: number): void;
  /** Let the stack transmit what it would at this instant (tcp_push inside a write). */
  flush?(): void;
  /** Told when connect() starts an active open (the runner picks its ports from it). */
  onConnect?(): void;
  /**
   * TCP settings the host's sysctls imply when a socket is created (Linux reads tcp_rmem,
   * tcp_sack... per socket, so a later sysctl affects later sockets only), and the SYN-cookie mode.
   */
  hostTcp?(): { tcp: TcpConfigInput; synCookies: 'auto' | 'always' | 'never' | undefined };
}

/** A value the call wrote back (getsockopt's optval, ioctl's [N], poll's revents) to compare with the script. */
export interface OutCheck {
  readonly what: string;
  readonly expected: Expr;
  readonly actual: number;
  /** Render a value for messages (e.g. poll flags by name). */
  readonly format?: (v: number) => string;
}

export interface Outcome {
  readonly ret: number;
  readonly errno: string | null;
  readonly checks: readonly OutCheck[];
}

/** A call in progress: step() returns its outcome, or null while a blocking call waits. */
export interface Call {
  step(): Outcome | null;
}

export class SyscallError extends Error {}

/** A call, option or symbol synack does not model: the script is unsupported, not failed. */
export class UnsupportedError extends SyscallError {}

const done = (ret: number, checks: readonly OutCheck[] = []): Outcome => ({ ret, errno: null, checks });
const err = (errno: string): Outcome => ({ ret: -1, errno, checks: [] });
const now = (o: Outcome): Call => ({ step: () => o });

/** One file descriptor: a TCP socket in one of its lives (fresh, listening, connected). */
class Sock {
  nonblocking = false;
  bindPort: number | null = null;
  listener: TcpListener | null = null;
  readonly acceptQueue: TcpConnection[] = [];
  conn: TcpConnection | null = null;
  /** Pending socket error (sk_err): reported once by the next call or SO_ERROR. */
  error: TcpErrorCode | null = null;
  /** The connection died (RST, timeout): both directions are shut (Linux sets SHUTDOWN_MASK). */
  dead = false;
  readShut = false;
  writeShut = false;
  reuseAddr = 0;
  lingerZero = false;
  lingerOn = 0;
  lingerSecs = 0;
  keepAlive = 0;
  /** IP_TOS / IPV6_TCLASS and IP_MTU_DISCOVER as set (ipopt.ts; read back by getsockopt). */
  tos = 0;
  pmtudisc = 1;
  /** TCP config set through setsockopt before the connection exists. */
  readonly config: TcpConfigInput = {};
  /** The host's sysctl-derived settings when the socket was created (setsockopt overrides them). */
  host: TcpConfigInput = {};
  synCookies: 'auto' | 'always' | 'never' | undefined = undefined;
  rcvbuf: number | null = null;
  sndbuf: number | null = null;
  /** Linux's send-buffer accounting, once SO_SNDBUF is set on a connected socket. */
  sendQueue: LinuxSendQueue | null = null;
}

/** A `NULL` pointer argument. */
function isNull(e: Expr | undefined): boolean {
  return e !== undefined && e.kind === 'word' && e.name === 'NULL';
}

/** Evaluate an integer-valued expression: numbers, symbols, `a|b`, `htons(n)`, `[n]`; null for `...`. */
export function evalInt(e: Expr): number | null {
  switch (e.kind) {
    case 'ellipsis':
      return null;
    case 'int':
      return e.value;
    case 'word': {
      const v = symbolValue(e.name);
      if (v === undefined) throw new UnsupportedError(`unknown symbol ${e.name}`);
      return v;
    }
    case 'or': {
      const l = evalInt(e.left);
      const r = evalInt(e.right);
      if (l === null || r === null) throw new SyscallError('`...` inside a bitwise OR');
      return (l | r) >>> 0;
    }
    case 'call':
      if ((e.name === 'htons' || e.name === 'htonl' || e.name === 'ntohs' || e.name === 'ntohl') && e.args.length === 1) return evalInt(e.args[0]!);
      throw new UnsupportedError(`unsupported expression ${e.name}(...)`);
    case 'list':
      if (e.items.length === 1) return evalInt(e.items[0]!);
      throw new SyscallError('expected a one-element list like [1]');
    case 'field':
      return evalInt(e.value);
    default:
      throw new SyscallError(`expected an integer, got a ${e.kind}`);
  }
}

function arg(args: readonly Expr[], i: number, name: string): Expr {
  const a = args[i];
  if (a === undefined) throw new SyscallError(`${name}: missing argument ${i + 1}`);
  return a;
}

function intArg(args: readonly Expr[], i: number, name: string, dflt?: number): number {
  const v = evalInt(arg(args, i, name));
  if (v === null) {
    if (dflt !== undefined) return dflt;
    throw new SyscallError(`${name}: argument ${i + 1} must be a number, not ...`);
  }
  return v;
}

/** A struct's named field, or undefined. */
function field(e: Expr, name: string): Expr | undefined {
  if (e.kind !== 'struct') return undefined;
  for (const it of e.items) if (it.kind === 'field' && it.name === name) return it.value;
  return undefined;
}

/** Total length of an iovec list `[{..., 10}, {..., 20}]` (or `{iov_base=..., iov_len=10}`). */
function iovLength(e: Expr, name: string): number {
  if (e.kind !== 'list') throw new SyscallError(`${name}: expected an iovec array [...]`);
  let n = 0;
  for (const it of e.items) {
    const len = field(it, 'iov_len') ?? (it.kind === 'struct' ? it.items[1] : undefined);
    const v = len === undefined ? null : evalInt(len);
    if (v === null) throw new SyscallError(`${name}: each iovec needs a length`);
    n += v;
  }
  return n;
}

const CLOSING_STATES = new Set(['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'LAST-ACK', 'TIME-WAIT', 'CLOSED']);

/** The fd table and the calls. */
export class SocketTable {
  private readonly fds = new Map<number, Sock>();
  /** Every connection the script's sockets made or accepted, closed fds included (orphans live on). */
  private readonly conns: TcpConnection[] = [];

  constructor(private readonly env: SyscallEnv) {}

  /**
   * packetdrill's fd mapping: the script's number for a descriptor a call returned (`socket(...) = 4`
   * when the live call gave 3). Later calls name it by the script's number. False when that number
   * already names another descriptor.
   */
  renumber(live: number, scriptFd: number): boolean {
    const s = this.fds.get(live);
    if (s === undefined || scriptFd < 0 || (this.fds.has(scriptFd) && scriptFd !== live)) return false;
    this.fds.delete(live);
    this.fds.set(scriptFd, s);
    return true;
  }

  /** Lowest free descriptor from 3 (0-2 are stdio), as Linux allocates them. */
  private allocFd(s: Sock): number {
    let fd = 3;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, s);
    return fd;
  }

  /** Start a system call. Throws SyscallError for calls or arguments the runner does not support. */
  begin(name: string, args: readonly Expr[]): Call {
    switch (name) {
      case 'socket':
        return now(this.socket(args));
      case 'bind':
        return now(this.withSock(args, name, (s) => this.bind(s, args)));
      case 'listen':
        return now(this.withSock(args, name, (s) => this.listen(s, args)));
      case 'accept':
      case 'accept4':
        return this.blockingOn(args, name, (s) => this.accept(s, name === 'accept4' ? intArg(args, 3, name, 0) : 0));
      case 'connect':
        return this.connect(args);
      case 'read':
        return this.blockingOn(args, name, (s) => this.read(s, intArg(args, 2, name), 0, isNull(args[1])));
      case 'recv':
      case 'recvfrom':
        return this.blockingOn(args, name, (s) => this.read(s, intArg(args, 2, name), intArg(args, 3, name, 0), isNull(args[1])), intArg(args, 3, name, 0));
      case 'readv':
        return this.blockingOn(args, name, (s) => this.read(s, iovLength(arg(args, 1, name), name), 0));
      case 'write':
        return this.writeCall(args, name, intArg(args, 2, name), 0);
      case 'send':
      case 'sendto':
        return this.writeCall(args, name, intArg(args, 2, name), intArg(args, 3, name, 0));
      case 'writev':
        return this.writeCall(args, name, iovLength(arg(args, 1, name), name), 0);
      case 'close':
        return now(this.close(args));
      case 'shutdown':
        return now(this.withSock(args, name, (s) => this.shutdown(s, intArg(args, 1, name))));
      case 'setsockopt':
        return now(this.withSock(args, name, (s) => this.setsockopt(s, args)));
      case 'getsockopt':
        return now(this.withSock(args, name, (s) => this.getsockopt(s, args)));
      case 'fcntl':
        return now(this.withSock(args, name, (s) => this.fcntl(s, args)));
      case 'ioctl':
        return now(this.withSock(args, name, (s) => this.ioctl(s, args)));
      case 'poll':
        return this.poll(args);
      default:
        throw new UnsupportedError(`unsupported system call ${name}`);
    }
  }

  private lookup(args: readonly Expr[], name: string): Sock | null {
    const fd = intArg(args, 0, name);
    return this.fds.get(fd) ?? null;
  }

  private withSock(args: readonly Expr[], name: string, fn: (s: Sock) => Outcome): Outcome {
    const s = this.lookup(args, name);
    return s === null ? err('EBADF') : fn(s);
  }

  /** A call that may block: step() retries until it has an outcome; non-blocking sockets get EAGAIN. */
  private blockingOn(args: readonly Expr[], name: string, attempt: (s: Sock) => Outcome | null, flags = 0): Call {
    const s = this.lookup(args, name);
    if (s === null) return now(err('EBADF'));
    return {
      step: () => {
        const o = attempt(s);
        if (o !== null) return o;
        return s.nonblocking || flags & S['MSG_DONTWAIT']! ? err('EAGAIN') : null;
      },
    };
  }

  // --- socket setup ---------------------------------------------------------------------------

  private socket(args: readonly Expr[]): Outcome {
    const domain = intArg(args, 0, 'socket', S['AF_INET']!);
    const type = intArg(args, 1, 'socket');
    const proto = intArg(args, 2, 'socket', 0);
    if (domain !== S['AF_INET'] && domain !== S['AF_INET6']) return err('EAFNOSUPPORT');
    if ((type & 0xf) !== S['SOCK_STREAM']) return err('EPROTONOSUPPORT');
    if (proto !== 0 && proto !== S['IPPROTO_TCP']) return err('EPROTONOSUPPORT');
    const s = new Sock();
    if (type & S['SOCK_NONBLOCK']!) s.nonblocking = true;
    const host = this.env.hostTcp?.();
    if (host !== undefined) {
      s.host = { ...host.tcp };
      s.synCookies = host.synCookies;
    }
    return done(this.allocFd(s));
  }

  private bind(s: Sock, args: readonly Expr[]): Outcome {
    if (s.bindPort !== null || s.listener !== null || s.conn !== null) return err('EINVAL');
    const addr = arg(args, 1, 'bind');
    const portExpr = field(addr, 'sin_port') ?? field(addr, 'sin6_port');
    const port = portExpr === undefined ? this.env.bindPort : (evalInt(portExpr) ?? this.env.bindPort);
    for (const o of this.fds.values()) {
      if (o !== s && o.bindPort === port && (o.listener !== null || !(s.reuseAddr && o.reuseAddr))) return err('EADDRINUSE');
    }
    s.bindPort = port;
    return done(0);
  }

  private configOf(s: Sock): TcpConfigInput {
    const c: TcpConfigInput = { ...s.host, ...s.config };
    if (s.rcvbuf !== null) {
      c.recvBufferSize = c.recvBufferMax = s.rcvbuf; // and SOCK_RCVBUF_LOCK: no autotuning
      // SO_RCVBUF locks the buffer and clamps the window to it, so Linux offers the scale that
      // buffer needs (tcp_select_initial_window with window_clamp): 0 for 20,000 bytes.
      const clamp = linuxWscale(s.rcvbuf);
      c.windowScaleShift = c.windowScaleShift !== undefined && c.windowScaleShift >= 0 ? Math.min(c.windowScaleShift, clamp) : clamp;
    }
    // SO_SNDBUF: Linux's accounting (sndbuf.ts) bounds writes; the stack's buffer only has to hold
    // what it lets through (sk_sndbuf plus at most one skb), and is locked (SOCK_SNDBUF_LOCK).
    if (s.sndbuf !== null) c.sendBufferSize = c.sendBufferMax = sendQueueCapacity(s.sndbuf);
    if (s.keepAlive) c.keepAlive = { ...(s.config.keepAlive ?? {}), enabled: true };
    return c;
  }

  private listen(s: Sock, args: readonly Expr[]): Outcome {
    if (s.conn !== null) return err('EINVAL');
    const backlog = intArg(args, 1, 'listen');
    if (s.listener !== null) {
      s.listener.backlog = Math.max(1, backlog);
      return done(0);
    }
    try {
      s.listener = this.env.stack.tcpListen(
        { port: s.bindPort ?? 0, backlog: Math.max(1, backlog), config: this.configOf(s), ...(s.synCookies !== undefined ? { synCookies: s.synCookies } : {}) },
        (conn) => {
          const child = new Sock();
          child.conn = conn;
          child.rcvbuf = s.rcvbuf;
          child.sndbuf = s.sndbuf;
          child.keepAlive = s.keepAlive;
          child.host = s.host;
          this.watch(child, conn);
          s.acceptQueue.push(conn);
          this.conns.push(conn);
          (conn as TcpConnection & { pdrillSock?: Sock }).pdrillSock = child;
        },
      );
    } catch (e) {
      return err((e as { code?: string }).code ?? 'EINVAL');
    }
    s.bindPort = s.listener.port;
    return done(0);
  }

  /** Track a connection's errors the way the kernel keeps sk_err and the shutdown mask. */
  private watch(s: Sock, conn: TcpConnection): void {
    conn.hooks.onError = (code) => {
      s.error = code;
      s.dead = true;
    };
  }

  private accept(s: Sock, flags: number): Outcome | null {
    if (s.listener === null) return err('EINVAL');
    const conn = s.acceptQueue.shift();
    if (conn === undefined) return null;
    const child = (conn as TcpConnection & { pdrillSock?: Sock }).pdrillSock ?? new Sock();
    if (flags & S['SOCK_NONBLOCK']!) child.nonblocking = true;
    return done(this.allocFd(child));
  }

  private connect(args: readonly Expr[]): Call {
    const s = this.lookup(args, 'connect');
    if (s === null) return now(err('EBADF'));
    if (s.listener !== null) return now(err('EISCONN'));
    if (s.conn !== null) {
      // A second connect(): Linux reports progress or the outcome of the first.
      const st = s.conn.state;
      if (s.error !== null) return now(this.takeError(s));
      if (st === 'SYN-SENT' || st === 'SYN-RECEIVED') return now(err('EALREADY'));
      return now(err('EISCONN'));
    }
    const opts: Parameters<Stack['tcpConnect']>[0] = {
      address: this.env.remoteIp,
      port: this.env.connectPort,
      config: this.configOf(s),
      hooks: {
        onError: (code) => {
          s.error = code;
          s.dead = true;
        },
      },
    };
    if (s.bindPort !== null) opts.localPort = s.bindPort;
    this.env.onConnect?.();
    let conn: TcpConnection;
    try {
      conn = this.env.stack.tcpConnect(opts);
    } catch (e) {
      return now(err((e as { code?: string }).code ?? 'EINVAL'));
    }
    s.conn = conn;
    this.conns.push(conn);
    const nonblocking = s.nonblocking;
    let first = true;
    return {
      step: () => {
        if (first && nonblocking) {
          first = false;
          return err('EINPROGRESS');
        }
        first = false;
        if (s.error !== null) return this.takeError(s);
        const st = conn.state;
        if (st === 'SYN-SENT' || st === 'SYN-RECEIVED') return null;
        return done(0);
      },
    };
  }

  private takeError(s: Sock): Outcome {
    const e = s.error!;
    s.error = null;
    return err(e);
  }

  // --- data -----------------------------------------------------------------------------------

  private read(s: Sock, len: number, flags: number, nullBuf = false): Outcome | null {
    const conn = s.conn;
    if (conn === null) return err(s.listener !== null ? 'ENOTCONN' : 'ENOTCONN');
    if (flags & S['MSG_OOB']!) return err('EINVAL');
    const avail = conn.recvAvailable;
    if (avail > 0 && len > 0) {
      if (nullBuf) return err('EFAULT'); // copying to a NULL buffer faults; the data stays queued
      const n = Math.min(avail, len);
      if (!(flags & S['MSG_PEEK']!)) conn.recv(n);
      return done(n);
    }
    if (len === 0) return done(0);
    if (s.error !== null) return this.takeError(s);
    if (s.readShut || s.dead || conn.finReceived || conn.state === 'CLOSED') return done(0);
    return null;
  }

  private writeCall(args: readonly Expr[], name: string, len: number, flags: number): Call {
    const s = this.lookup(args, name);
    if (s === null) return now(err('EBADF'));
    const nullBuf = isNull(args[1]);
    let written = 0;
    /** Blocked on Linux's send-buffer limit: go on only once sk_stream_write_space would wake us. */
    let waiting = false;
    return {
      step: () => {
        const conn = s.conn;
        if (conn === null) return err('EPIPE');
        if (s.error !== null) return written > 0 ? done(written) : this.takeError(s);
        if (s.writeShut || s.dead || CLOSING_STATES.has(conn.state)) return written > 0 ? done(written) : err('EPIPE');
        const wouldBlock = (): Outcome | null => (s.nonblocking || flags & S['MSG_DONTWAIT']! ? (written > 0 ? done(written) : err('EAGAIN')) : null);
        if (conn.state === 'SYN-SENT' || conn.state === 'SYN-RECEIVED') return wouldBlock();
        if (len === 0) return done(0);
        // A NULL buffer: copying the user's bytes faults (Linux's tcp_sendmsg returns EFAULT).
        if (nullBuf) return err('EFAULT');
        if (s.sndbuf !== null) {
          const q = (s.sendQueue ??= new LinuxSendQueue(2 * s.sndbuf));
          try {
            const r = q.write(conn, s.sndbuf, len - written, waiting, () => this.env.flush?.());
            written += r.took;
            waiting = r.waiting;
          } catch (e) {
            return written > 0 ? done(written) : err((e as { code?: string }).code ?? 'EPIPE');
          }
          return written >= len ? done(written) : wouldBlock();
        }
        const chunk = Math.min(len - written, conn.sendFree);
        if (chunk > 0) {
          try {
            written += conn.send(new Uint8Array(chunk));
          } catch (e) {
            return written > 0 ? done(written) : err((e as { code?: string }).code ?? 'EPIPE');
          }
        }
        if (written >= len) return done(written);
        return wouldBlock();
      },
    };
  }

  // --- teardown -------------------------------------------------------------------------------

  private close(args: readonly Expr[]): Outcome {
    const fd = intArg(args, 0, 'close');
    const s = this.fds.get(fd);
    if (s === undefined) return err('EBADF');
    this.fds.delete(fd);
    if (s.listener !== null) {
      s.listener.close();
      // Connections that were never accepted are reset (inet_csk_listen_stop).
      for (const c of s.acceptQueue.splice(0)) c.abort();
    }
    const conn = s.conn;
    if (conn !== null && conn.state !== 'CLOSED') {
      if (conn.recvAvailable > 0 || s.lingerZero) {
        // RFC 2525 2.17 / Linux tcp_close: unread data (or SO_LINGER 0) means RST, not FIN.
        conn.abort();
      } else {
        conn.close(this.env.now());
        conn.release(this.env.now());
      }
    }
    return done(0);
  }

  private shutdown(s: Sock, how: number): Outcome {
    if (how !== S['SHUT_RD'] && how !== S['SHUT_WR'] && how !== S['SHUT_RDWR']) return err('EINVAL');
    const conn = s.conn;
    if (conn === null || conn.state === 'SYN-SENT' || (conn.state === 'CLOSED' && !s.dead)) return err('ENOTCONN');
    if (how !== S['SHUT_WR']) s.readShut = true;
    if (how !== S['SHUT_RD']) {
      s.writeShut = true;
      conn.close(this.env.now());
    }
    return done(0);
  }

  // --- options --------------------------------------------------------------------------------

  private setsockopt(s: Sock, args: readonly Expr[]): Outcome {
    const level = intArg(args, 1, 'setsockopt');
    const opt = intArg(args, 2, 'setsockopt');
    const valExpr = arg(args, 3, 'setsockopt');
    const conn = s.conn;
    const cfg = conn === null ? null : conn.ownConfig();
    const kick = (): void => conn?.hooks.onPollNeeded?.();
    if (level === S['SOL_SOCKET'] && opt === S['SO_LINGER']) {
      // packetdrill writes struct linger as {onoff=1, linger=0}; l_onoff / l_linger are accepted too.
      const onExpr = field(valExpr, 'onoff') ?? field(valExpr, 'l_onoff');
      const secsExpr = field(valExpr, 'linger') ?? field(valExpr, 'l_linger');
      if (onExpr === undefined && secsExpr === undefined) throw new SyscallError('setsockopt SO_LINGER: expected {onoff=N, linger=N}');
      const on = evalInt(onExpr ?? { kind: 'int', value: 0, hex: false }) ?? 0;
      const secs = evalInt(secsExpr ?? { kind: 'int', value: 0, hex: false }) ?? 0;
      s.lingerOn = on ? 1 : 0;
      s.lingerSecs = secs;
      s.lingerZero = on !== 0 && secs === 0;
      return done(0);
    }
    const v = evalInt(valExpr);
    if (v === null) return err('EFAULT');
    if (level === S['SOL_SOCKET']) {
      switch (opt) {
        case S['SO_REUSEADDR']:
        case S['SO_REUSEPORT']:
          s.reuseAddr = v ? 1 : 0;
          return done(0);
        case S['SO_RCVBUF']:
          s.rcvbuf = Math.max(1, v);
          return done(0);
        case S['SO_SNDBUF']:
          s.sndbuf = Math.max(1, v);
          return done(0);
        case S['SO_KEEPALIVE']:
          s.keepAlive = v ? 1 : 0;
          if (cfg !== null && conn !== null) {
            cfg.keepAlive = { ...cfg.keepAlive, enabled: v !== 0 };
            conn.restartKeepalive(this.env.now());
          }
          return done(0);
        default:
          return err('ENOPROTOOPT');
      }
    }
    if (level === S['SOL_IP'] || level === S['SOL_IPV6']) {
      const e = setIpOption(s, level, opt, v);
      return e === null ? done(0) : err(e);
    }
    if (level === S['IPPROTO_TCP']) {
      const set = <K extends keyof TcpConfig>(k: K, val: TcpConfig[K]): void => {
        (s.config as Record<string, unknown>)[k] = val;
        if (cfg !== null) cfg[k] = val;
        // On a listener the option applies to connections it accepts later (Linux copies the
        // listener's settings into each child: TCP_MAXSEG set after listen() is the SYN-ACK's MSS).
        const l = s.listener;
        if (l !== null && l.config !== undefined) {
          (l.config as Record<string, unknown>)[k] = val;
          l.cookieConfigs.clear();
        }
      };
      const ka = (patch: Partial<TcpConfig['keepAlive']>): void => {
        s.config.keepAlive = { ...(s.config.keepAlive ?? {}), ...patch };
        if (cfg !== null && conn !== null) {
          cfg.keepAlive = { ...cfg.keepAlive, ...patch };
          if (cfg.keepAlive.enabled) conn.restartKeepalive(conn.lastRecvAt);
          else kick();
        }
      };
      switch (opt) {
        case S['TCP_NODELAY']:
          set('noDelay', v !== 0);
          if (v) kick();
          return done(0);
        case S['TCP_MAXSEG']:
          if (v < 64 || v > 65495) return err('EINVAL');
          set('mss', v);
          return done(0);
        case S['TCP_KEEPIDLE']:
          if (v < 1) return err('EINVAL');
          ka({ idle: v * 1000 });
          return done(0);
        case S['TCP_KEEPINTVL']:
          if (v < 1) return err('EINVAL');
          ka({ interval: v * 1000 });
          return done(0);
        case S['TCP_KEEPCNT']:
          if (v < 1) return err('EINVAL');
          ka({ count: v });
          return done(0);
        case S['TCP_USER_TIMEOUT']:
          if (v < 0) return err('EINVAL');
          set('userTimeout', v);
          return done(0);
        case S['TCP_SYNCNT']:
          if (v < 1 || v > 127) return err('EINVAL');
          set('synRetries', v);
          set('synAckRetries', v); // a listener's TCP_SYNCNT bounds its SYN,ACKs too (reqsk_timer_handler)
          return done(0);
        default:
          return err('ENOPROTOOPT');
      }
    }
    return err('ENOPROTOOPT');
  }

  private getsockopt(s: Sock, args: readonly Expr[]): Outcome {
    const level = intArg(args, 1, 'getsockopt');
    const opt = intArg(args, 2, 'getsockopt');
    const expected = arg(args, 3, 'getsockopt');
    const conn = s.conn;
    const cfg = conn?.config;
    let v: number;
    if (level === S['SOL_SOCKET']) {
      switch (opt) {
        case S['SO_ERROR']:
          v = s.error === null ? 0 : ERRNO[s.error]!.value;
          s.error = null;
          break;
        case S['SO_REUSEADDR']:
        case S['SO_REUSEPORT']:
          v = s.reuseAddr;
          break;
        case S['SO_TYPE']:
          v = S['SOCK_STREAM']!;
          break;
        case S['SO_KEEPALIVE']:
          v = s.keepAlive;
          break;
        case S['SO_RCVBUF']:
          // Linux doubles the requested size to leave room for bookkeeping, and reports that.
          v = 2 * (s.rcvbuf ?? cfg?.recvBufferSize ?? 131072);
          break;
        case S['SO_SNDBUF']:
          v = 2 * (s.sndbuf ?? cfg?.sendBufferSize ?? 131072);
          break;
        case S['SO_LINGER']: {
          const checks: OutCheck[] = [];
          const on = field(expected, 'onoff') ?? field(expected, 'l_onoff');
          const secs = field(expected, 'linger') ?? field(expected, 'l_linger');
          if (on !== undefined) checks.push({ what: 'getsockopt l_onoff', expected: on, actual: s.lingerOn });
          if (secs !== undefined) checks.push({ what: 'getsockopt l_linger', expected: secs, actual: s.lingerSecs });
          return done(0, checks);
        }
        default:
          return err('ENOPROTOOPT');
      }
    } else if (level === S['IPPROTO_TCP']) {
      switch (opt) {
        case S['TCP_NODELAY']:
          v = (cfg?.noDelay ?? s.config.noDelay) ? 1 : 0;
          break;
        case S['TCP_MAXSEG']:
          v = conn !== null && conn.state !== 'SYN-SENT' ? conn.sendMss : (s.config.mss ?? 536);
          break;
        case S['TCP_KEEPIDLE']:
          v = Math.round((cfg?.keepAlive.idle ?? s.config.keepAlive?.idle ?? 7_200_000) / 1000);
          break;
        case S['TCP_KEEPINTVL']:
          v = Math.round((cfg?.keepAlive.interval ?? s.config.keepAlive?.interval ?? 75_000) / 1000);
          break;
        case S['TCP_KEEPCNT']:
          v = cfg?.keepAlive.count ?? s.config.keepAlive?.count ?? 9;
          break;
        case S['TCP_USER_TIMEOUT']:
          v = cfg?.userTimeout ?? s.config.userTimeout ?? 0;
          break;
        default:
          return err('ENOPROTOOPT');
      }
    } else if ((level === S['SOL_IP'] && opt === S['IP_TOS']) || (level === S['SOL_IPV6'] && opt === S['IPV6_TCLASS'])) {
      v = s.tos;
    } else if ((level === S['SOL_IP'] && opt === S['IP_MTU_DISCOVER']) || (level === S['SOL_IPV6'] && opt === S['IPV6_MTU_DISCOVER'])) {
      v = s.pmtudisc;
    } else {
      return err('ENOPROTOOPT');
    }
    return done(0, [{ what: 'getsockopt optval', expected, actual: v }]);
  }

  private fcntl(s: Sock, args: readonly Expr[]): Outcome {
    const cmd = intArg(args, 1, 'fcntl');
    if (cmd === S['F_GETFL']) return done(S['O_RDWR']! | (s.nonblocking ? S['O_NONBLOCK']! : 0));
    if (cmd === S['F_SETFL']) {
      s.nonblocking = (intArg(args, 2, 'fcntl') & S['O_NONBLOCK']!) !== 0;
      return done(0);
    }
    if (cmd === S['F_GETFD'] || cmd === S['F_SETFD']) return done(0);
    return err('EINVAL');
  }

  private ioctl(s: Sock, args: readonly Expr[]): Outcome {
    const req = intArg(args, 1, 'ioctl');
    const out = arg(args, 2, 'ioctl');
    if (req === S['SIOCINQ']) {
      if (s.listener !== null) return err('EINVAL');
      return done(0, [{ what: 'ioctl SIOCINQ value', expected: out, actual: s.conn?.recvAvailable ?? 0 }]);
    }
    if (req === S['SIOCOUTQ']) {
      if (s.listener !== null) return err('EINVAL');
      return done(0, [{ what: 'ioctl SIOCOUTQ value', expected: out, actual: s.conn?.sendQueued ?? 0 }]);
    }
    if (req === S['FIONBIO']) {
      s.nonblocking = (evalInt(out) ?? 0) !== 0;
      return done(0);
    }
    return err('ENOTTY');
  }

  // --- poll -----------------------------------------------------------------------------------

  /** tcp_poll's mask for a socket (before masking with the requested events). */
  private pollMask(s: Sock): number {
    if (s.listener !== null) return s.acceptQueue.length > 0 ? S['POLLIN']! | S['POLLRDNORM']! : 0;
    const conn = s.conn;
    if (conn === null) return S['POLLOUT']! | S['POLLHUP']!; // a fresh socket: Linux says OUT|HUP
    let mask = 0;
    const dead = s.dead || conn.state === 'CLOSED';
    const rcvShut = s.readShut || conn.finReceived || dead;
    const sndShut = s.writeShut || dead || (conn.finQueued && CLOSING_STATES.has(conn.state));
    if (rcvShut && sndShut) mask |= S['POLLHUP']!;
    if (rcvShut) mask |= S['POLLIN']! | S['POLLRDNORM']! | S['POLLRDHUP']!;
    if (conn.state !== 'SYN-SENT' && conn.state !== 'SYN-RECEIVED') {
      if (conn.recvAvailable > 0) mask |= S['POLLIN']! | S['POLLRDNORM']!;
      if (!sndShut) {
        if (conn.sendFree > 0) mask |= S['POLLOUT']! | S['POLLWRNORM']!;
      } else {
        mask |= S['POLLOUT']! | S['POLLWRNORM']!;
      }
    }
    if (s.error !== null) mask |= S['POLLERR']!;
    return mask;
  }

  private poll(args: readonly Expr[]): Call {
    const list = arg(args, 0, 'poll');
    if (list.kind !== 'list') throw new SyscallError('poll: expected an array of pollfd structs');
    const entries = list.items.map((it) => {
      const fdE = field(it, 'fd');
      const evE = field(it, 'events');
      if (fdE === undefined || evE === undefined) throw new SyscallError('poll: each pollfd needs fd= and events=');
      return { fd: evalInt(fdE) ?? -1, events: evalInt(evE) ?? 0, revents: field(it, 'revents') };
    });
    const timeout = intArg(args, 2, 'poll', 0);
    const start = this.env.now();
    if (timeout > 0) this.env.wakeAt(start + timeout);
    const always = S['POLLERR']! | S['POLLHUP']! | S['POLLNVAL']!;
    return {
      step: () => {
        const got = entries.map((e) => {
          const s = this.fds.get(e.fd);
          return s === undefined ? S['POLLNVAL']! : this.pollMask(s) & (e.events | always);
        });
        const ready = got.filter((g) => g !== 0).length;
        if (ready === 0 && timeout !== 0 && (timeout < 0 || this.env.now() < start + timeout)) return null;
        const checks: OutCheck[] = [];
        entries.forEach((e, i) => {
          if (e.revents !== undefined) checks.push({ what: `poll revents of fd ${e.fd}`, expected: e.revents, actual: got[i]!, format: formatPollFlags });
        });
        return done(ready, checks);
      },
    };
  }

  /** Connections of this script that are synchronized or opening (not CLOSED, not TIME-WAIT). */
  liveConnections(): number {
    return this.conns.filter((c) => c.state !== 'CLOSED' && c.state !== 'TIME-WAIT').length;
  }

  /** The script's latest connection on local port `port` (the runner's TSO model reads it). */
  connectionOn(port: number): TcpConnection | null {
    for (let i = this.conns.length - 1; i >= 0; i--) if (this.conns[i]!.tuple.localPort === port) return this.conns[i]!;
    return null;
  }

  /** Sockets still open (for the report). */
  get open(): number {
    return this.fds.size;
  }
}
