// Linux's numbers for the names packetdrill scripts use in system calls (socket levels and options,
// fcntl and ioctl requests, poll events, message flags, shutdown modes, errno values and their
// strerror texts), as x86-64 Linux defines them in its uapi headers.

/** Symbolic constants a script may write as a word (`SOCK_STREAM`, `POLLIN`, `ECONNRESET`...). */
export const LINUX_SYMBOLS: Readonly<Record<string, number>> = Object.freeze({
  // address families, socket types, protocols
  AF_INET: 2,
  AF_INET6: 10,
  PF_INET: 2,
  PF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  IPPROTO_IP: 0,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IPPROTO_IPV6: 41,
  // socket levels and options (asm-generic/socket.h)
  SOL_SOCKET: 1,
  SOL_TCP: 6,
  SOL_IP: 0,
  SOL_IPV6: 41,
  // IP-level options (linux/in.h, linux/in6.h)
  IP_TOS: 1,
  IP_MTU_DISCOVER: 10,
  IP_PMTUDISC_DONT: 0,
  IP_PMTUDISC_WANT: 1,
  IP_PMTUDISC_DO: 2,
  IP_PMTUDISC_PROBE: 3,
  IP_PMTUDISC_INTERFACE: 4,
  IP_PMTUDISC_OMIT: 5,
  IPV6_MTU_DISCOVER: 23,
  IPV6_TCLASS: 67,
  SO_DEBUG: 1,
  SO_REUSEADDR: 2,
  SO_TYPE: 3,
  SO_ERROR: 4,
  SO_DONTROUTE: 5,
  SO_BROADCAST: 6,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_KEEPALIVE: 9,
  SO_OOBINLINE: 10,
  SO_LINGER: 13,
  SO_REUSEPORT: 15,
  SO_RCVLOWAT: 18,
  SO_SNDLOWAT: 19,
  // TCP options (linux/tcp.h)
  TCP_NODELAY: 1,
  TCP_MAXSEG: 2,
  TCP_CORK: 3,
  TCP_KEEPIDLE: 4,
  TCP_KEEPINTVL: 5,
  TCP_KEEPCNT: 6,
  TCP_SYNCNT: 7,
  TCP_LINGER2: 8,
  TCP_DEFER_ACCEPT: 9,
  TCP_WINDOW_CLAMP: 10,
  TCP_INFO: 11,
  TCP_QUICKACK: 12,
  TCP_CONGESTION: 13,
  TCP_USER_TIMEOUT: 18,
  // fcntl
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_NONBLOCK: 0o4000,
  O_NDELAY: 0o4000,
  FD_CLOEXEC: 1,
  // ioctl
  FIONREAD: 0x541b,
  SIOCINQ: 0x541b,
  SIOCOUTQ: 0x5411,
  FIONBIO: 0x5421,
  // poll
  POLLIN: 0x1,
  POLLPRI: 0x2,
  POLLOUT: 0x4,
  POLLERR: 0x8,
  POLLHUP: 0x10,
  POLLNVAL: 0x20,
  POLLRDNORM: 0x40,
  POLLRDBAND: 0x80,
  POLLWRNORM: 0x100,
  POLLWRBAND: 0x200,
  POLLMSG: 0x400,
  POLLRDHUP: 0x2000,
  // message flags
  MSG_OOB: 0x1,
  MSG_PEEK: 0x2,
  MSG_DONTROUTE: 0x4,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
  MSG_EOR: 0x80,
  MSG_WAITALL: 0x100,
  MSG_NOSIGNAL: 0x4000,
  MSG_MORE: 0x8000,
  // shutdown
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
});

/** errno names with Linux's values and strerror texts. */
export const ERRNO: Readonly<Record<string, { readonly value: number; readonly text: string }>> = Object.freeze({
  EPERM: { value: 1, text: 'Operation not permitted' },
  ENOENT: { value: 2, text: 'No such file or directory' },
  EINTR: { value: 4, text: 'Interrupted system call' },
  EBADF: { value: 9, text: 'Bad file descriptor' },
  EAGAIN: { value: 11, text: 'Resource temporarily unavailable' },
  EWOULDBLOCK: { value: 11, text: 'Resource temporarily unavailable' },
  ENOMEM: { value: 12, text: 'Cannot allocate memory' },
  EFAULT: { value: 14, text: 'Bad address' },
  EINVAL: { value: 22, text: 'Invalid argument' },
  EMFILE: { value: 24, text: 'Too many open files' },
  ENOTTY: { value: 25, text: 'Inappropriate ioctl for device' },
  EPIPE: { value: 32, text: 'Broken pipe' },
  ENOSYS: { value: 38, text: 'Function not implemented' },
  ENOTSOCK: { value: 88, text: 'Socket operation on non-socket' },
  EDESTADDRREQ: { value: 89, text: 'Destination address required' },
  EMSGSIZE: { value: 90, text: 'Message too long' },
  EPROTOTYPE: { value: 91, text: 'Protocol wrong type for socket' },
  ENOPROTOOPT: { value: 92, text: 'Protocol not available' },
  EPROTONOSUPPORT: { value: 93, text: 'Protocol not supported' },
  EOPNOTSUPP: { value: 95, text: 'Operation not supported' },
  EAFNOSUPPORT: { value: 97, text: 'Address family not supported by protocol' },
  EADDRINUSE: { value: 98, text: 'Address already in use' },
  EADDRNOTAVAIL: { value: 99, text: 'Cannot assign requested address' },
  ENETUNREACH: { value: 101, text: 'Network is unreachable' },
  ECONNABORTED: { value: 103, text: 'Software caused connection abort' },
  ECONNRESET: { value: 104, text: 'Connection reset by peer' },
  EISCONN: { value: 106, text: 'Transport endpoint is already connected' },
  ENOTCONN: { value: 107, text: 'Transport endpoint is not connected' },
  ETIMEDOUT: { value: 110, text: 'Connection timed out' },
  ECONNREFUSED: { value: 111, text: 'Connection refused' },
  EHOSTUNREACH: { value: 113, text: 'No route to host' },
  EALREADY: { value: 114, text: 'Operation already in progress' },
  EINPROGRESS: { value: 115, text: 'Operation now in progress' },
});

/** `ECONNRESET (Connection reset by peer)`. */
export function describeErrno(name: string): string {
  const e = ERRNO[name];
  return e === undefined ? name : `${name} (${e.text})`;
}

/** A word's numeric value: a symbol, an errno name, or undefined. */
export function symbolValue(name: string): number | undefined {
  return LINUX_SYMBOLS[name] ?? ERRNO[name]?.value;
}

/** The errno name for a value (first name in table order, so 11 is EAGAIN). */
export function errnoName(value: number): string | undefined {
  for (const [k, v] of Object.entries(ERRNO)) if (v.value === value) return k;
  return undefined;
}

/** `POLLIN|POLLOUT` for messages. */
export function formatPollFlags(v: number): string {
  const names = ['POLLIN', 'POLLPRI', 'POLLOUT', 'POLLERR', 'POLLHUP', 'POLLNVAL', 'POLLRDNORM', 'POLLRDBAND', 'POLLWRNORM', 'POLLWRBAND', 'POLLMSG', 'POLLRDHUP'];
  const parts: string[] = [];
  let rest = v;
  for (const n of names) {
    const bit = LINUX_SYMBOLS[n]!;
    if (v & bit) {
      parts.push(n);
      rest &= ~bit;
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.length === 0 ? '0' : parts.join('|');
}
