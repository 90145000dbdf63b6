// The TUN ceiling without offloads (issue 20): the least any userspace TCP stack must do to move one
// flow through a Linux TUN device at a given MTU, so that synack's figures can be set against what
// the kernel's per-packet cost leaves possible on this machine. Not part of synack and not a test:
// bench/tun-ceiling.ts compiles it, runs it inside a throwaway network namespace and puts its figures
// beside veth and synack in the same rounds (docs/performance.md, "Without offloads: the ceiling").
//
//   tun-ceiling s2k BYTES [--threads 1|2] [--mtu 1500]   send BYTES to 198.18.0.1:5001 (a kernel socket)
//   tun-ceiling k2s BYTES [--ack-every 2] [--mtu 1500]   accept one connection on 198.18.0.2:5001, read BYTES
//
// It creates TUN device "sync0" (IFF_TUN | IFF_NO_PI: plain packets, one per read and write; no
// offloads), sets the kernel's side to 198.18.0.1/24 with `ip`, prints "ready" and, for s2k, waits for
// a line on stdin (the kernel receiver is listening) before connecting. Then:
//   s2k: the handshake (MSS mtu-40, window scale), then in-order MSS-sized segments as fast as the
//        kernel's advertised window allows, reading its ACKs from the same fd; no congestion
//        control (write(2) into a TUN device runs the kernel's receive path synchronously, so nothing
//        queues), go-back-N on three duplicate ACKs or 200 ms without progress (counted; a clean run
//        has none). --threads 2 moves the ACK reading to a second thread, as synack's writer thread
//        splits its work.
//   k2s: answers the SYN, checks each segment's TCP checksum (any stack must), takes in-order data
//        and ACKs every --ack-every full segments (RFC 5681 4.2: at least every second one) and at the
//        end of each read burst (above 2, after 200 us without more: a delayed ACK), a duplicate ACK
//        for anything out of order; FIN answered with FIN.
// The payload is checksummed per packet (s2k) and verified per packet (k2s): that is per-packet work
// every stack has. Prints one JSON line: bytes, ms (first to last byte, as the kernel receiver
// measures), packets each way, retransmissions, and each thread's CPU seconds.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DEV "sync0"
#define KERNEL_ADDR 0xc6120001u  // 198.18.0.1
#define OUR_ADDR 0xc6120002u     // 198.18.0.2
#define PORT 5001
#define OUR_PORT 40001
#define WSCALE 7

static int fd;
static unsigned mtu = 1500, mss;
static uint64_t total;

static void die(const char *what) {
  fprintf(stderr, "tun-ceiling: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// --- checksums (RFC 1071), 64-bit accumulation -----------------------------------------------
static uint64_t sum_bytes(const uint8_t *p, size_t n, uint64_t s) {
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    s += w >> 32;
    s += w & 0xffffffffu;
    p += 8, n -= 8;
  }
  while (n >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    s += w;
    p += 2, n -= 2;
  }
  if (n) s += *p;  // (little-endian host) the odd byte is a word's first byte, padded with zero
  return s;
}

static uint16_t fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static void put16(uint8_t *p, unsigned v) { p[0] = v >> 8, p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v; }
static unsigned get16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static uint16_t ip_id;

// Builds IPv4 + TCP headers (20 + 20 + optlen) in front of `paylen` payload bytes already at
// pkt + 40 + optlen, with both checksums; returns the packet length.
static size_t build(uint8_t *pkt, uint32_t src, uint32_t dst, unsigned sport, unsigned dport, uint32_t seq, uint32_t ack,
                    unsigned flags, unsigned wnd, const uint8_t *opt, size_t optlen, size_t paylen) {
  size_t tcplen = 20 + optlen + paylen, len = 20 + tcplen;
  uint8_t *ip = pkt, *tcp = pkt + 20;
  ip[0] = 0x45, ip[1] = 0;
  put16(ip + 2, (unsigned)len);
  put16(ip + 4, ip_id++);
  put16(ip + 6, 0x4000);  // DF
  ip[8] = 64, ip[9] = 6;
  put16(ip + 10, 0);
  put32(ip + 12, src);
  put32(ip + 16, dst);
  uint16_t ipsum = fold(sum_bytes(ip, 20, 0));
  memcpy(ip + 10, &ipsum, 2);  // summed in memory order, so stored in memory order
  put16(tcp, sport);
  put16(tcp + 2, dport);
  put32(tcp + 4, seq);
  put32(tcp + 8, ack);
  tcp[12] = (uint8_t)(((20 + optlen) / 4) << 4);
  tcp[13] = (uint8_t)flags;
  put16(tcp + 14, wnd);
  put16(tcp + 16, 0);
  put16(tcp + 18, 0);
  if (optlen) memcpy(tcp + 20, opt, optlen);
  uint8_t pseudo[12];
  put32(pseudo, src);
  put32(pseudo + 4, dst);
  pseudo[8] = 0, pseudo[9] = 6;
  put16(pseudo + 10, (unsigned)tcplen);
  uint16_t c = fold(sum_bytes(tcp, tcplen, sum_bytes(pseudo, 12, 0)));
  memcpy(tcp + 16, &c, 2);
  return len;
}

static int tcp_ok(const uint8_t *ip, size_t n) {
  size_t tcplen = n - 20;
  uint8_t pseudo[12];
  memcpy(pseudo, ip + 12, 8);
  pseudo[8] = 0, pseudo[9] = 6;
  put16(pseudo + 10, (unsigned)tcplen);
  return fold(sum_bytes(ip + 20, tcplen, sum_bytes(pseudo, 12, 0))) == 0;
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static uint64_t pk_in, pk_out, retrans;

static void send_pkt(const uint8_t *p, size_t n) {
  for (;;) {
    if (write(fd, p, n) == (ssize_t)n) {
      pk_out++;
      return;
    }
    if (errno == EINTR) continue;
    die("write");
  }
}

// One TCP segment for our flow from the TUN device (IPv4, no options in the IP header, right ports);
// its TCP header offset in *tcp. 0 when there is nothing to read (EAGAIN), -1 for a packet to skip.
static ssize_t read_seg(uint8_t *buf, size_t cap, unsigned our_port) {
  ssize_t n = read(fd, buf, cap);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return 0;
    die("read");
  }
  pk_in++;
  if (n < 40 || buf[0] != 0x45 || buf[9] != 6 || get16(buf + 22) != our_port) return -1;
  return n;
}

static void parse_options(const uint8_t *tcp, unsigned *wscale) {
  size_t hl = (size_t)(tcp[12] >> 4) * 4;
  for (size_t i = 20; i < hl;) {
    unsigned k = tcp[i];
    if (k == 0) break;
    if (k == 1) {
      i++;
      continue;
    }
    if (i + 1 >= hl || tcp[i + 1] < 2) break;
    if (k == 3 && tcp[i + 1] == 3) *wscale = tcp[i + 2];
    i += tcp[i + 1];
  }
}

static uint8_t syn_opts[8];
static void make_syn_opts(void) {
  syn_opts[0] = 2, syn_opts[1] = 4;
  put16(syn_opts + 2, mss);
  syn_opts[4] = 1, syn_opts[5] = 3, syn_opts[6] = 3, syn_opts[7] = WSCALE;
}

// --- s2k: the sender ---------------------------------------------------------------------------
// Shared between the writer and (with --threads 2) the ACK reader: what the kernel has acknowledged
// and the window it offers, and a futex word the writer sleeps on while the window is full.
static uint32_t iss, irs;
static volatile uint32_t snd_una;
static volatile uint32_t snd_wnd;
static unsigned peer_wscale;
static volatile uint32_t dupacks, done;
static uint32_t ack_seq;  // futex word: bumped by the reader on every ACK that moves something
static volatile uint32_t writer_waiting;
static double cpu_reader;

// Takes one ACK; returns 1 if it moved snd_una or the window.
static int on_ack(const uint8_t *ip, size_t n) {
  const uint8_t *tcp = ip + 20;
  if (!(tcp[13] & F_ACK) || (tcp[13] & F_RST)) {
    if (tcp[13] & F_RST) {
      fprintf(stderr, "tun-ceiling: the kernel reset the connection\n");
      exit(1);
    }
    return 0;
  }
  (void)n;
  uint32_t a = get32(tcp + 8);
  uint32_t w = (uint32_t)get16(tcp + 14) << peer_wscale;
  uint32_t una = snd_una;
  if ((int32_t)(a - una) > 0) {
    __atomic_store_n(&snd_una, a, __ATOMIC_RELEASE);
    __atomic_store_n(&dupacks, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&snd_wnd, w, __ATOMIC_RELEASE);
    if (a - iss - 1 >= total) __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    return 1;
  }
  if (a == una) {
    if (w != snd_wnd) {
      __atomic_store_n(&snd_wnd, w, __ATOMIC_RELEASE);
      return 1;
    }
    __atomic_fetch_add(&dupacks, 1, __ATOMIC_RELAXED);
    return 1;
  }
  return 0;
}

static void *ack_reader(void *arg) {
  (void)arg;
  uint8_t buf[2048];
  struct pollfd p = {fd, POLLIN, 0};
  while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
    ssize_t n = read_seg(buf, sizeof buf, OUR_PORT);
    if (n == 0) {
      poll(&p, 1, 100);
      continue;
    }
    if (n > 0 && on_ack(buf, (size_t)n)) {
      __atomic_fetch_add(&ack_seq, 1, __ATOMIC_RELEASE);
      if (__atomic_load_n(&writer_waiting, __ATOMIC_SEQ_CST)) syscall(SYS_futex, &ack_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
  }
  cpu_reader = thread_cpu();
  return NULL;
}

static void connect_handshake(uint8_t *pkt) {
  iss = 0x10000000u;
  make_syn_opts();
  size_t n = build(pkt, OUR_ADDR, KERNEL_ADDR, OUR_PORT, PORT, iss, 0, F_SYN, 65535, syn_opts, 8, 0);
  struct pollfd p = {fd, POLLIN, 0};
  for (int tries = 0;; tries++) {
    if (tries == 20) {
      fprintf(stderr, "tun-ceiling: no SYN-ACK from the kernel\n");
      exit(1);
    }
    send_pkt(pkt, n);
    double until = now_ms() + 500;
    while (now_ms() < until) {
      poll(&p, 1, 50);
      uint8_t in[2048];
      ssize_t m;
      while ((m = read_seg(in, sizeof in, OUR_PORT)) != 0) {
        if (m < 0) continue;
        const uint8_t *tcp = in + 20;
        if ((tcp[13] & (F_SYN | F_ACK)) == (F_SYN | F_ACK) && get32(tcp + 8) == iss + 1) {
          irs = get32(tcp + 4);
          parse_options(tcp, &peer_wscale);
          snd_una = iss + 1;
          snd_wnd = get16(tcp + 14);  // never scaled in a SYN (RFC 7323 2.2)
          n = build(pkt, OUR_ADDR, KERNEL_ADDR, OUR_PORT, PORT, iss + 1, irs + 1, F_ACK, 65535, NULL, 0, 0);
          send_pkt(pkt, n);
          return;
        }
      }
    }
  }
}

static int run_s2k(int threads) {
  uint8_t pkt[65536];
  connect_handshake(pkt);
  memset(pkt + 40, 0x5a, mss);
  pthread_t rd;
  if (threads == 2 && pthread_create(&rd, NULL, ack_reader, NULL) != 0) die("pthread_create");
  uint32_t nxt = iss + 1, end = iss + 1 + (uint32_t)total;
  double stalled_since = 0;
  uint32_t seen_dup = 0;
  struct pollfd p = {fd, POLLIN, 0};
  uint8_t in[2048];
  while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
    if (threads == 1) {
      ssize_t m;
      while ((m = read_seg(in, sizeof in, OUR_PORT)) != 0)
        if (m > 0) on_ack(in, (size_t)m);
      if (done) break;
    }
    uint32_t una = __atomic_load_n(&snd_una, __ATOMIC_ACQUIRE);
    uint32_t wnd = __atomic_load_n(&snd_wnd, __ATOMIC_ACQUIRE);
    uint32_t d = __atomic_load_n(&dupacks, __ATOMIC_RELAXED);
    if (d >= 3 && d != seen_dup && (int32_t)(nxt - una) > 0) {
      // Go-back-N: everything from the first unacknowledged byte again.
      seen_dup = d;
      retrans++;
      nxt = una;
    }
    if ((int32_t)(una - nxt) > 0) nxt = una;
    int sent = 0;
    // A burst of at most 64 segments between looks at the ACKs (one thread) or at the window.
    while (sent < 64 && nxt != end && (uint32_t)(nxt - una) + mss <= wnd) {
      uint32_t len = end - nxt < mss ? end - nxt : mss;
      size_t n = build(pkt, OUR_ADDR, KERNEL_ADDR, OUR_PORT, PORT, nxt, irs + 1, F_ACK | (nxt + len == end ? F_PSH : 0), 65535, NULL, 0, len);
      send_pkt(pkt, n);
      nxt += len;
      sent++;
    }
    if (sent > 0) {
      stalled_since = 0;
      continue;
    }
    // Nothing to send: wait for an ACK (or go back after 200 ms without progress).
    if (stalled_since == 0) stalled_since = now_ms();
    else if (now_ms() - stalled_since > 200) {
      retrans++;
      nxt = __atomic_load_n(&snd_una, __ATOMIC_ACQUIRE);
      stalled_since = 0;
      continue;
    }
    if (threads == 1) {
      poll(&p, 1, 50);
    } else {
      uint32_t seq = __atomic_load_n(&ack_seq, __ATOMIC_ACQUIRE);
      __atomic_store_n(&writer_waiting, 1, __ATOMIC_SEQ_CST);
      if (__atomic_load_n(&snd_una, __ATOMIC_SEQ_CST) == una && !done) {
        struct timespec ts = {0, 50000000};
        syscall(SYS_futex, &ack_seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
      }
      __atomic_store_n(&writer_waiting, 0, __ATOMIC_RELAXED);
    }
  }
  double cpu_writer = thread_cpu();
  if (threads == 2) pthread_join(rd, NULL);
  // A reset ends the kernel's side at once: the receiver has read everything already.
  size_t n = build(pkt, OUR_ADDR, KERNEL_ADDR, OUR_PORT, PORT, end, 0, F_RST, 0, NULL, 0, 0);
  send_pkt(pkt, n);
  uint64_t segs = (total + mss - 1) / mss;
  printf("{\"dir\":\"s2k\",\"bytes\":%llu,\"segments\":%llu,\"packetsOut\":%llu,\"packetsIn\":%llu,\"retransmits\":%llu,"
         "\"threads\":%d,\"cpu\":{\"writer\":%.6f%s",
         (unsigned long long)total, (unsigned long long)segs, (unsigned long long)pk_out, (unsigned long long)pk_in,
         (unsigned long long)retrans, threads, cpu_writer, threads == 2 ? "" : "}}\n");
  if (threads == 2) printf(",\"reader\":%.6f}}\n", cpu_reader);
  return 0;
}

// --- k2s: the receiver -------------------------------------------------------------------------
static int run_k2s(unsigned ack_every) {
  uint8_t in[65536], out[128];
  struct pollfd p = {fd, POLLIN, 0};
  uint32_t rcv_nxt = 0, our_seq = 0x20000000u;
  unsigned kport = 0;
  int established = 0, fin = 0;
  uint64_t got = 0, bad_csum = 0, unacked = 0, acks = 0;
  double t0 = 0, t1 = 0;
  make_syn_opts();
  const unsigned wnd = 65535;  // << WSCALE: 8 MiB, more than the sender will have in flight
  while (!fin) {
    ssize_t n = read_seg(in, sizeof in, PORT);
    if (n == 0) {
      // End of a read burst. With --ack-every above 2, wait up to 200 us for more first (a delayed
      // ACK, as Linux's receiver behind GRO acknowledges per 64 KiB): a reader faster than the
      // sender finds the queue empty after every packet, and an ACK per packet would make each
      // write(2) of ours run the kernel sender's transmit path too.
      if (unacked > 0 && ack_every > 2 && poll(&p, 1, 0) == 0) {
        struct timespec ts = {0, 200000};
        if (ppoll(&p, 1, &ts, NULL) > 0) continue;
      }
      if (unacked > 0) {
        size_t m = build(out, OUR_ADDR, KERNEL_ADDR, PORT, kport, our_seq, rcv_nxt, F_ACK, wnd, NULL, 0, 0);
        send_pkt(out, m);
        acks++;
        unacked = 0;
      }
      poll(&p, 1, 1000);
      continue;
    }
    if (n < 0) continue;
    const uint8_t *tcp = in + 20;
    if (!tcp_ok(in, (size_t)n)) {
      bad_csum++;
      continue;
    }
    unsigned fl = tcp[13];
    uint32_t seq = get32(tcp + 4);
    size_t hl = (size_t)(tcp[12] >> 4) * 4;
    if (hl < 20 || 20 + hl > (size_t)n) continue;
    size_t len = (size_t)n - 20 - hl;
    if (!established) {
      if (fl & F_SYN) {
        kport = get16(tcp);
        rcv_nxt = seq + 1;
        size_t m = build(out, OUR_ADDR, KERNEL_ADDR, PORT, kport, our_seq, rcv_nxt, F_SYN | F_ACK, 65535, syn_opts, 8, 0);
        send_pkt(out, m);
        continue;
      }
      if (!(fl & F_ACK) || get32(tcp + 8) != our_seq + 1) continue;
      our_seq++;
      established = 1;
      if (len == 0 && !(fl & F_FIN)) continue;
    }
    if (seq != rcv_nxt) {
      if (len > 0 || (fl & F_FIN)) {
        // Out of order (something was lost) or old: say where we are at once.
        size_t m = build(out, OUR_ADDR, KERNEL_ADDR, PORT, kport, our_seq, rcv_nxt, F_ACK, wnd, NULL, 0, 0);
        send_pkt(out, m);
        acks++;
      }
      continue;
    }
    if (len > 0) {
      if (got == 0) t0 = now_ms();
      got += len;
      rcv_nxt += (uint32_t)len;
      if (got >= total) t1 = now_ms();
      if (++unacked >= ack_every) {
        size_t m = build(out, OUR_ADDR, KERNEL_ADDR, PORT, kport, our_seq, rcv_nxt, F_ACK, wnd, NULL, 0, 0);
        send_pkt(out, m);
        acks++;
        unacked = 0;
      }
    }
    if (fl & F_FIN) {
      rcv_nxt++;
      size_t m = build(out, OUR_ADDR, KERNEL_ADDR, PORT, kport, our_seq, rcv_nxt, F_FIN | F_ACK, wnd, NULL, 0, 0);
      send_pkt(out, m);
      our_seq++;
      fin = 1;
    }
  }
  if (t1 == 0) t1 = now_ms();
  // The kernel's last ACK (of our FIN) lets its sender exit cleanly; wait for it briefly.
  for (double until = now_ms() + 200; now_ms() < until;) {
    ssize_t n = read_seg(in, sizeof in, PORT);
    if (n > 0 && (in[20 + 13] & F_ACK) && get32(in + 28) == our_seq) break;
    if (n == 0) poll(&p, 1, 20);
  }
  printf("{\"dir\":\"k2s\",\"bytes\":%llu,\"ms\":%.3f,\"packetsIn\":%llu,\"packetsOut\":%llu,\"acks\":%llu,\"badChecksums\":%llu,"
         "\"ackEvery\":%u,\"cpu\":{\"reader\":%.6f}}\n",
         (unsigned long long)got, t1 - t0, (unsigned long long)pk_in, (unsigned long long)pk_out, (unsigned long long)acks,
         (unsigned long long)bad_csum, ack_every, thread_cpu());
  return got >= total ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "s2k") != 0 && strcmp(argv[1], "k2s") != 0)) {
    fprintf(stderr, "usage: tun-ceiling s2k|k2s BYTES [--threads 1|2] [--ack-every N] [--mtu M]\n");
    return 2;
  }
  int s2k = strcmp(argv[1], "s2k") == 0;
  total = strtoull(argv[2], NULL, 10);
  int threads = 1;
  unsigned ack_every = 2;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]) == 2 ? 2 : 1;
    else if (strcmp(argv[i], "--ack-every") == 0) ack_every = (unsigned)atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--mtu") == 0) mtu = (unsigned)atoi(argv[i + 1]);
  }
  if (total == 0 || total > 0x7fffffffu || ack_every == 0 || mtu < 576 || mtu > 65535) {
    fprintf(stderr, "tun-ceiling: BYTES must be 1..2^31-1, --ack-every >= 1, --mtu 576..65535\n");
    return 2;
  }
  mss = mtu - 40;
  fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) die("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strcpy(ifr.ifr_name, DEV);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) die("TUNSETIFF");
  char cmd[256];
  snprintf(cmd, sizeof cmd, "ip link set " DEV " mtu %u txqueuelen 10000 up && ip addr add 198.18.0.1/24 dev " DEV, mtu);
  if (system(cmd) != 0) {
    fprintf(stderr, "tun-ceiling: %s failed\n", cmd);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  if (s2k) {
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL) return 1;
  }
  int r = s2k ? run_s2k(threads) : run_k2s(ack_every);
  fflush(stdout);
  return r;
}
