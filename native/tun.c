// N-API addon that opens a Linux TUN device (IFF_TUN | IFF_NO_PI) or TAP device (IFF_TAP | IFF_NO_PI)
// and moves raw IP packets (TUN) or Ethernet frames (TAP) between it and JavaScript: reads are drained in batches whenever libuv reports the fd readable, writes
// take one packet or an array of packets per call. With offloads (IFF_VNET_HDR, TUNSETOFFLOAD) every
// packet read keeps its struct virtio_net_hdr in front (src/link/tun.ts parses it) and every write
// gets one built here from a per-packet word (gso_size, needs-checksum). Optional: nothing but
// src/link/tun.ts loads it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

#include <node_api.h>
#include <uv.h>

// One read: the largest packet a TUN device can hand us: a 64 KiB IP packet (an IPv6 GSO packet
// is 40 + 65535 bytes) behind its virtio_net_hdr. A read into a smaller buffer would make the
// kernel drop the packet (EFAULT), so every read offers this much:
// straight into the batch buffer while 64 KiB of it are free, else into a scratch slot whose packet
// is copied in (or, if it does not fit, delivered on its own after the batch). Packets are packed
// end to end, so a batch holds ~1,400 MTU-sized packets per 2 MiB.
#define SLOT_BYTES (65536u + 1024u)
#define DEFAULT_BATCH_BYTES (2u << 20)
#define DEFAULT_BATCH_PACKETS 4096u

typedef struct tun_s {
  int fd;
  int closed;        // close() ran: fd is gone, poll handle is closing
  int finalized;     // the JS external was garbage collected
  int poll_closing;  // uv_close calls issued whose callbacks are pending (poll and idle handles)
  int polling;
  napi_env env;
  uv_poll_t poll;
  napi_ref callback;
  napi_async_context async_ctx;
  uv_idle_t idle;     // runs once the loop turns when packets wait in the rx queue
  int idle_active;
  // Packets read while JS was busy writing (see drain_to_queue), delivered before the next read.
  uint8_t *q;
  size_t q_used, q_cap;
  uint32_t *q_ends;
  uint8_t *q_flags;   // RX_* flags per queued packet (q_ends_cap of them)
  uint32_t q_count, q_ends_cap;
  double rx_queued;   // packets that went through the queue (stats)
  // The receive batch: one ArrayBuffer shared with JS (rx_ref keeps it alive), laid out as
  // cap bytes of packets, then max_packets end offsets (Uint32), then max_packets RX_* flag bytes.
  // Every delivery reuses it, so JS sees views valid only during the callback (docs/tun.md).
  napi_ref rx_ref;
  napi_ref rx_bytes_ref;  // the Uint8Array whose bytes buf points into, once rxInto() moved it there
  uint8_t *buf;
  uint8_t *scratch;   // SLOT_BYTES for reads when the batch buffer has less than that free
  size_t carry;       // bytes of a packet read into scratch that did not fit in the batch
  uint8_t carry_flags;
  uint32_t *ends;
  uint8_t *flags;
  size_t cap;
  uint32_t max_packets;
  // Offloads: vnet_hdr is the virtio_net_hdr size in front of every packet (0 without
  // IFF_VNET_HDR); offload the TUN_F_* flags TUNSETOFFLOAD accepted.
  int vnet_hdr;
  unsigned offload;
  // Bytes in front of the IP header in every packet: 14 on a TAP device (the Ethernet header,
  // which virtio_net_hdr's csum_start and hdr_len count too), 0 on a TUN device.
  size_t l2;
  // The writer thread (see "Writes" below), when open() was asked for one: packets, each behind
  // its virtio_net_hdr, wait in w_ring for the thread to write(2) them in order, without a lock:
  // w_head (bytes published) is the main thread's, w_tail (bytes written) and, while the thread
  // runs, the tx counters are the writer's; the futex words are how either sleeps and is woken.
  int w_on;
  pthread_t w_thread;
  uint8_t *w_ring;
  size_t w_cap, w_head, w_tail;
  uint32_t w_sleeping, w_want_room, w_room_seq, w_stop;
  // JS writes records straight into the ring (open()'s txRing, see tun_reserve): the bytes from
  // w_head it may fill until tun_commit publishes them (0: no reservation open). The ring is then
  // unmapped by the finalizer of JS's ArrayBuffer, not when the writer stops.
  size_t w_res;
  int w_shared;
  size_t w_undrained;  // bytes committed since ring_commit last drained the device
  double w_wakes, w_sleeps;  // futex wake-ups of the writer (main thread), and its sleeps (writer)
  struct tun_s *next;  // open devices, for trim() (main thread only)
  // Counters, exposed through stats().
  double rx_packets, rx_bytes, rx_batches, rx_errors;
  double rx_gso, rx_csum_partial, rx_bad_vnet;
  double tx_packets, tx_bytes, tx_errors;
  int last_tx_errno, last_rx_errno;
} tun_t;

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      const napi_extended_error_info *info_ = NULL;                        \
      napi_get_last_error_info((env), &info_);                             \
      bool pending_ = false;                                               \
      napi_is_exception_pending((env), &pending_);                         \
      if (!pending_)                                                       \
        napi_throw_error((env), "ESYNACKNAPI",                             \
                         info_ && info_->error_message ? info_->error_message \
                                                       : "N-API call failed"); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static const char *errno_code(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case ENOTTY: return "ENOTTY";
    case EEXIST: return "EEXIST";
    case EBADFD: return "EBADFD";
    case EBADF: return "EBADF";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    case EMSGSIZE: return "EMSGSIZE";
    case EAGAIN: return "EAGAIN";
    default: return "EUNKNOWN";
  }
}

// Throws a JS Error carrying code, errno and syscall like Node's own system errors.
static void throw_errno(napi_env env, const char *syscall, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, what, strerror(err));
  napi_value code, message, error, num, sc;
  if (napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code) != napi_ok) return;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok) return;
  if (napi_create_error(env, code, message, &error) != napi_ok) return;
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
}

static void free_if_done(tun_t *t) {
  if (t->finalized && !t->poll_closing) {
    free(t->q);
    free(t->q_ends);
    free(t->q_flags);
    free(t->scratch);
    free(t);
  }
}

static void on_poll_closed(uv_handle_t *h) {
  tun_t *t = (tun_t *)h->data;
  t->poll_closing--;
  free_if_done(t);
}

// Stops polling, closes the fd and releases the JS callback. Safe to call more than once.
static void writer_stop(tun_t *t);
static int writer_start(tun_t *t);
static napi_status ring_to_js(napi_env env, tun_t *t, napi_value *out);
static tun_t *open_tuns;  // every open device (trim() gives their idle buffers back)

static void tun_shutdown(tun_t *t, int from_finalizer) {
  if (t->closed) return;
  t->closed = 1;
  // What was handed to the writer is written before the fd goes.
  writer_stop(t);
  for (tun_t **p = &open_tuns; *p; p = &(*p)->next) {
    if (*p == t) {
      *p = t->next;
      break;
    }
  }
  t->polling = 0;
  uv_poll_stop(&t->poll);
  uv_idle_stop(&t->idle);
  t->idle_active = 0;
  t->poll_closing = 2;
  uv_close((uv_handle_t *)&t->poll, on_poll_closed);
  uv_close((uv_handle_t *)&t->idle, on_poll_closed);
  t->q_used = 0;
  t->q_count = 0;
  close(t->fd);
  t->fd = -1;
  (void)from_finalizer;
  if (t->callback) napi_delete_reference(t->env, t->callback);
  if (t->async_ctx) napi_async_destroy(t->env, t->async_ctx);
  // Nothing writes into the shared batch any more: JS's views keep it alive for as long as it likes.
  if (t->rx_ref) napi_delete_reference(t->env, t->rx_ref);
  if (t->rx_bytes_ref) napi_delete_reference(t->env, t->rx_bytes_ref);
  t->rx_ref = NULL;
  t->rx_bytes_ref = NULL;
  t->buf = NULL, t->ends = NULL, t->flags = NULL;
  t->callback = NULL;
  t->async_ctx = NULL;
}

static void tun_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tun_t *t = (tun_t *)data;
  tun_shutdown(t, 1);
  t->finalized = 1;
  free_if_done(t);
}

// Calls the JS callback as cb(count, errno) inside a proper async context, so that microtasks
// queued by the callback (e.g. batched writes) run before control returns to libuv. The batch is
// the first `count` packets of the shared receive buffer (t->buf, t->ends, t->flags): no copy,
// no allocation per read.
static void deliver(tun_t *t, uint32_t count, int err) {
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[2], cb, recv, result;
  napi_create_uint32(env, count, &argv[0]);
  napi_create_int32(env, -err, &argv[1]);
  if (napi_get_reference_value(env, t->callback, &cb) != napi_ok || cb == NULL) goto out;
  napi_get_global(env, &recv);
  if (napi_make_callback(env, t->async_ctx, recv, cb, 2, argv, &result) == napi_pending_exception) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
out:
  napi_close_handle_scope(env, scope);
}

// RX_* flags handed to JS with each packet (src/link/link.ts).
#define RX_CSUM_VERIFIED 1

// The Internet checksum (RFC 1071) over p[0..n), folded and complemented.
static uint16_t inet_csum(const uint8_t *p, size_t n) {
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (i < n) sum += (uint32_t)p[i] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

// What the virtio_net_hdr of a packet read says: its RX_* flags, or -1 to drop it. The kernel's
// checksum guarantees (include/linux/skbuff.h, "Checksumming of received packets"): DATA_VALID is
// CHECKSUM_UNNECESSARY, the kernel verified it; NEEDS_CSUM is CHECKSUM_PARTIAL, a packet the
// kernel built (its own TCP, here) whose checksum field holds the pseudo-header sum only, and "for
// the purposes of checksum verification, the checksum referred to by skb->csum_start +
// skb->csum_offset and any preceding checksums in the packet are considered verified"
// (skb_csum_unnecessary). synack takes the kernel's word for TCP, as the kernel itself does, and
// finishes the sum for anything else (UDP, ICMPv6), whose checks the Stack does not skip. A GSO
// packet (gso_type TCPV4/TCPV6) is one IP packet of up to 64 KiB whose length fields cover it all:
// TCP takes it as one long segment. Fields are in host order (no TUNSETVNETLE/BE).
static int vnet_rx_flags(tun_t *t, const struct virtio_net_hdr *h, uint8_t *pkt, size_t n) {
  int rx = 0;
  unsigned gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gso != VIRTIO_NET_HDR_GSO_NONE) {
    // UDP GSO is never negotiated (TUN_OFFLOADS in src/link/tun.ts); anything else we cannot cut up.
    if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6) return -1;
    t->rx_gso++;
  }
  if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) rx |= RX_CSUM_VERIFIED;
  if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    t->rx_csum_partial++;
    size_t start = h->csum_start, at = start + h->csum_offset;
    if (n < t->l2 + 1 || at + 2 > n) return -1;
    const uint8_t *ip = pkt + t->l2;
    size_t ipn = n - t->l2;
    unsigned v = ip[0] >> 4;
    if (t->l2 > 0) {
      // A TAP frame: the EtherType says what follows (anything but IPv4/IPv6 gets its sum finished).
      unsigned et = (unsigned)pkt[12] << 8 | pkt[13];
      v = et == 0x0800 ? 4 : et == 0x86dd ? 6 : 0;
    }
    int proto = v == 4 && ipn >= 20 ? ip[9] : v == 6 && ipn >= 40 ? ip[6] : -1;
    if (proto == IPPROTO_TCP && h->csum_offset == 16) {
      rx |= RX_CSUM_VERIFIED;
    } else {
      uint16_t sum = inet_csum(pkt + start, n - start);
      // A UDP checksum that comes out 0 is sent as all ones (RFC 768; 0 means "none").
      if (sum == 0 && proto == IPPROTO_UDP) sum = 0xffff;
      pkt[at] = (uint8_t)(sum >> 8), pkt[at + 1] = (uint8_t)sum;
    }
  }
  return rx;
}

// Reads one packet into dst (SLOT_BYTES free), its virtio_net_hdr (with offloads) split off into
// *rx: the packet's length, 0 when there is nothing more, or -errno (-EAGAIN: the queue is empty).
// Packets whose header cannot be honoured are counted and skipped.
static ssize_t read_packet(tun_t *t, uint8_t *dst, uint8_t *rx) {
  for (;;) {
    ssize_t n;
    struct virtio_net_hdr h;
    if (t->vnet_hdr > 0) {
      struct iovec iov[2] = {{&h, sizeof h}, {dst, SLOT_BYTES}};
      n = readv(t->fd, iov, 2);
    } else {
      n = read(t->fd, dst, SLOT_BYTES);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    *rx = 0;
    if (n == 0 || t->vnet_hdr == 0) return n;
    int f = n > (ssize_t)sizeof h ? vnet_rx_flags(t, &h, dst, (size_t)n - sizeof h) : -1;
    if (f < 0) {
      t->rx_bad_vnet++;
      continue;
    }
    *rx = (uint8_t)f;
    return n - (ssize_t)sizeof h;
  }
}

// Bounded so a reader that never gets to JS cannot grow without limit; past it packets stay in the
// kernel's queue (txqueuelen), as before.
#define RX_QUEUE_MAX_BYTES (16u << 20)

static void on_idle(uv_idle_t *h);

// Makes room for one more packet at the end of the rx queue (SLOT_BYTES, and an end and a flag);
// 0 when that would exceed the bound or memory.
static int queue_room(tun_t *t) {
  if (t->q_used + SLOT_BYTES > RX_QUEUE_MAX_BYTES) return 0;
  if (t->q_used + SLOT_BYTES > t->q_cap) {
    size_t cap = t->q_cap == 0 ? (256u << 10) : t->q_cap;
    while (cap < t->q_used + SLOT_BYTES) cap *= 2;
    uint8_t *q = (uint8_t *)realloc(t->q, cap);
    if (!q) return 0;
    t->q = q, t->q_cap = cap;
  }
  if (t->q_count == t->q_ends_cap) {
    uint32_t cap = t->q_ends_cap == 0 ? 1024 : t->q_ends_cap * 2;
    uint32_t *e = (uint32_t *)realloc(t->q_ends, sizeof(uint32_t) * cap);
    if (!e) return 0;
    t->q_ends = e;
    uint8_t *f = (uint8_t *)realloc(t->q_flags, cap);
    if (!f) return 0;
    t->q_flags = f, t->q_ends_cap = cap;
  }
  return 1;
}

// Called between writes of a long batch: every packet the kernel answers with (ACKs, mostly) lands
// in the device's transmit queue while we write, and nothing reads it until JS returns to the loop;
// a burst of thousands of writes would overflow that queue (txqueuelen) and the kernel would drop
// silently. Moving them into our own queue keeps the kernel's side empty. Bounded by bytes only:
// capping it at 16,384 packets, or at two packets per write (what our writes can have caused), let
// 32,000-39,000 drops per 5,000 concurrent downloads back in; the kernel answers a long burst with
// more than that. Under a SYN flood a delivery can therefore be a large batch (up to 16 MiB), which
// deliver_queue hands over in pieces of the shared buffer's size.
static void drain_to_queue(tun_t *t) {
  if (t->closed || !t->polling) return;
  // Straight into the queue (not through scratch, which may hold on_readable's carried packet).
  while (queue_room(t)) {
    uint8_t rx;
    ssize_t n = read_packet(t, t->q + t->q_used, &rx);
    if (n <= 0) break;  // EAGAIN, or an error on_readable will see and report
    t->q_used += (size_t)n;
    t->q_flags[t->q_count] = rx;
    t->q_ends[t->q_count++] = (uint32_t)t->q_used;
  }
  if (t->q_count > 0 && !t->idle_active) {
    uv_idle_start(&t->idle, on_idle);
    t->idle_active = 1;
  }
}

// Hands the queued packets to JS (oldest first, before anything read later), copied into the
// shared buffer as many at a time as fit. The queue is taken over first: JS may write during a
// delivery, and what that drains goes into a fresh queue, delivered after this one.
static void deliver_queue(tun_t *t) {
  if (t->idle_active) {
    uv_idle_stop(&t->idle);
    t->idle_active = 0;
  }
  if (t->q_count == 0 || t->closed) return;
  uint8_t *q = t->q, *qf = t->q_flags;
  uint32_t *qe = t->q_ends;
  uint32_t total = t->q_count;
  size_t q_cap = t->q_cap;
  uint32_t ends_cap = t->q_ends_cap;
  t->q = NULL, t->q_flags = NULL, t->q_ends = NULL;
  t->q_cap = 0, t->q_ends_cap = 0, t->q_used = 0, t->q_count = 0;
  t->rx_queued += total;
  uint32_t i = 0;
  size_t base = 0;  // queue offset of packet i
  while (i < total && !t->closed) {
    uint32_t count = 0;
    size_t used = 0;
    while (i + count < total && count < t->max_packets) {
      size_t end = qe[i + count] - base;
      if (end > t->cap) break;
      t->ends[count] = (uint32_t)end;
      t->flags[count] = qf[i + count];
      count++;
      used = end;
    }
    memcpy(t->buf, q + base, used);
    t->rx_packets += count;
    t->rx_bytes += (double)used;
    t->rx_batches++;
    i += count;
    base += used;
    deliver(t, count, 0);
  }
  if (t->q == NULL && !t->closed) {
    // Nothing was queued meanwhile: keep the buffers for next time.
    t->q = q, t->q_flags = qf, t->q_ends = qe, t->q_cap = q_cap, t->q_ends_cap = ends_cap;
  } else {
    free(q), free(qf), free(qe);
  }
}

static void on_idle(uv_idle_t *h) {
  tun_t *t = (tun_t *)h->data;
  if (!t->polling) {
    // Paused: keep the queue for resume (start() re-arms the idle handle).
    uv_idle_stop(&t->idle);
    t->idle_active = 0;
    return;
  }
  deliver_queue(t);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  tun_t *t = (tun_t *)h->data;
  if (t->closed) return;
  if (status < 0) {
    // libuv has already stopped the handle (EPOLLERR: the device is gone).
    t->rx_errors++;
    t->last_rx_errno = -status;
    t->polling = 0;
    uv_poll_stop(&t->poll);
    deliver(t, 0, -status);
    return;
  }
  deliver_queue(t);
  if (t->closed || !t->polling) return;
  size_t used = 0;
  uint32_t count = 0;
  int err = 0;
  // Level-triggered: when the batch is full we return and libuv calls us again on its next turn,
  // so a packet storm cannot starve timers and other IO.
  while (count < t->max_packets) {
    size_t room = t->cap - used;
    uint8_t *dst = room >= SLOT_BYTES ? t->buf + used : t->scratch;
    uint8_t rx;
    ssize_t n = read_packet(t, dst, &rx);
    if (n < 0) {
      if (n != -EAGAIN && n != -EWOULDBLOCK) err = (int)-n;
      break;
    }
    if (n == 0) break;
    if (dst == t->scratch) {
      if ((size_t)n > room) {
        t->carry = (size_t)n;
        t->carry_flags = rx;
        break;
      }
      memcpy(t->buf + used, t->scratch, (size_t)n);
    }
    used += (size_t)n;
    t->flags[count] = rx;
    t->ends[count++] = (uint32_t)used;
  }
  if (count > 0) {
    t->rx_packets += count;
    t->rx_bytes += (double)used;
    t->rx_batches++;
    deliver(t, count, 0);
  }
  if (t->carry > 0 && !t->closed) {
    // The packet that did not fit after the batch: hand it over on its own now rather than keep it
    // until the next readable event (which may not come soon).
    size_t n = t->carry;
    t->carry = 0;
    memcpy(t->buf, t->scratch, n);
    t->ends[0] = (uint32_t)n;
    t->flags[0] = t->carry_flags;
    t->rx_packets += 1;
    t->rx_bytes += (double)n;
    t->rx_batches++;
    deliver(t, 1, 0);
  }
  if (err != 0 && !t->closed) {
    // The device went away (EBADFD/EIO): stop polling and tell JS once.
    t->rx_errors++;
    t->last_rx_errno = err;
    t->polling = 0;
    uv_poll_stop(&t->poll);
    deliver(t, 0, err);
  }
}

// After TUNSETIFF with IFF_VNET_HDR: fix the header at struct virtio_net_hdr's 10 bytes (a
// persistent device may have been left at 12 by another user), then offer the offloads asked for,
// dropping what the kernel refuses (EINVAL: USO before Linux 6.2, then TSO, then the checksum) so
// an older kernel still gets the most it takes. Returns the header size; *accepted the flags set.
static int negotiate_offload(int fd, unsigned want, unsigned *accepted) {
  int sz = (int)sizeof(struct virtio_net_hdr);
  *accepted = 0;
  if (ioctl(fd, TUNSETVNETHDRSZ, &sz) != 0) return 0;
  const unsigned tries[] = {
      want,
      want & ~(unsigned)(TUN_F_USO4 | TUN_F_USO6),
      want & (unsigned)TUN_F_CSUM,
      0,
  };
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
    if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0) {
      *accepted = tries[i];
      break;
    }
  }
  return sz;
}

static tun_t *get_tun(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a TUN handle");
    return NULL;
  }
  return (tun_t *)data;
}

// open(name: string, netnsPath: string | null, persist: -1 | 0 | 1, tap?: boolean, offload?: number)
//   -> { handle, name, created, vnetHdr, offload }
// tap true opens an Ethernet TAP device (IFF_TAP) instead of an IP TUN device. offload, when not 0,
// asks for IFF_VNET_HDR and these TUN_F_* flags: see negotiate_offload.
// When netnsPath is given (e.g. /var/run/netns/NS), the calling thread enters that network
// namespace just long enough to open /dev/net/tun and run TUNSETIFF, so the device is born there
// and the root namespace is never touched; the fd keeps working from the original namespace.
static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1] = {0};
  size_t name_len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "name must be a string");
    return NULL;
  }
  if (name_len >= IFNAMSIZ) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "interface name longer than 15 bytes");
    return NULL;
  }
  char nspath[4096] = {0};
  int have_ns = 0;
  if (argc >= 2) {
    napi_valuetype vt;
    CHECK(env, napi_typeof(env, argv[1], &vt));
    if (vt == napi_string) {
      size_t l = 0;
      CHECK(env, napi_get_value_string_utf8(env, argv[1], nspath, sizeof nspath, &l));
      have_ns = l > 0;
    }
  }
  int32_t persist = -1;
  if (argc >= 3) napi_get_value_int32(env, argv[2], &persist);
  bool tap = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &tap);
  uint32_t want_offload = 0;
  if (argc >= 5) napi_get_value_uint32(env, argv[4], &want_offload);
  bool want_writer = false;
  if (argc >= 6) napi_get_value_bool(env, argv[5], &want_writer);
  int vnet_hdr = 0;
  unsigned offload = 0;

  int orig_ns = -1, target_ns = -1;
  if (have_ns) {
    orig_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig_ns < 0) {
      throw_errno(env, "open", "/proc/thread-self/ns/net", errno);
      return NULL;
    }
    target_ns = open(nspath, O_RDONLY | O_CLOEXEC);
    if (target_ns < 0) {
      int e = errno;
      close(orig_ns);
      throw_errno(env, "open", nspath, e);
      return NULL;
    }
    if (setns(target_ns, CLONE_NEWNET) != 0) {
      int e = errno;
      close(orig_ns);
      close(target_ns);
      throw_errno(env, "setns", nspath, e);
      return NULL;
    }
    close(target_ns);
  }

  const char *fail_call = NULL;
  const char *fail_what = NULL;
  int fail_err = 0;
  int created = name_len == 0 || if_nametoindex(name) == 0;
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (fd < 0) {
    fail_call = "open", fail_what = "/dev/net/tun", fail_err = errno;
  } else {
    ifr.ifr_flags = (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (want_offload ? IFF_VNET_HDR : 0);
    memcpy(ifr.ifr_name, name, name_len);
    int r = ioctl(fd, TUNSETIFF, &ifr);
    if (r != 0 && want_offload && errno == EINVAL) {
      // A kernel without IFF_VNET_HDR (or one refusing it here): plain packets, no offloads.
      ifr.ifr_flags = (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
      r = ioctl(fd, TUNSETIFF, &ifr);
    } else if (r == 0 && want_offload) {
      vnet_hdr = negotiate_offload(fd, want_offload, &offload);
    }
    if (r != 0) {
      fail_call = "ioctl", fail_what = "TUNSETIFF", fail_err = errno;
    } else if (persist >= 0 && ioctl(fd, TUNSETPERSIST, (unsigned long)persist) != 0) {
      fail_call = "ioctl", fail_what = "TUNSETPERSIST", fail_err = errno;
    }
    if (fail_err != 0) {
      close(fd);
      fd = -1;
    }
  }

  if (have_ns) {
    if (setns(orig_ns, CLONE_NEWNET) != 0) {
      napi_fatal_error("synack_tun.open", NAPI_AUTO_LENGTH,
                       "could not return to the original network namespace", NAPI_AUTO_LENGTH);
    }
    close(orig_ns);
  }
  if (fail_err != 0) {
    throw_errno(env, fail_call, fail_what, fail_err);
    return NULL;
  }

  tun_t *t = (tun_t *)calloc(1, sizeof(tun_t));
  uint8_t *scratch = (uint8_t *)malloc(SLOT_BYTES);
  // The shared receive batch (see tun_t): packets, then ends, then flags.
  size_t rx_bytes = DEFAULT_BATCH_BYTES + (size_t)DEFAULT_BATCH_PACKETS * 5;
  void *rx_data = NULL;
  napi_value rx_ab;
  if (!t || !scratch || napi_create_arraybuffer(env, rx_bytes, &rx_data, &rx_ab) != napi_ok ||
      napi_create_reference(env, rx_ab, 1, &t->rx_ref) != napi_ok) {
    free(t), free(scratch), close(fd);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  uint8_t *buf = (uint8_t *)rx_data;
  uint32_t *ends = (uint32_t *)(buf + DEFAULT_BATCH_BYTES);
  t->flags = (uint8_t *)(ends + DEFAULT_BATCH_PACKETS);
  t->fd = fd;
  t->env = env;
  t->vnet_hdr = vnet_hdr;
  t->offload = offload;
  t->l2 = tap ? 14 : 0;
  t->buf = buf;
  t->scratch = scratch;
  t->ends = ends;
  t->cap = DEFAULT_BATCH_BYTES;
  t->max_packets = DEFAULT_BATCH_PACKETS;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &t->poll, fd) != 0) {
    napi_delete_reference(env, t->rx_ref);
    close(fd), free(t), free(scratch);
    napi_throw_error(env, "ESYNACKUV", "uv_poll_init failed");
    return NULL;
  }
  t->poll.data = t;
  if (want_writer) writer_start(t);
  t->next = open_tuns;
  open_tuns = t;
  uv_idle_init(loop, &t->idle);
  t->idle.data = t;
  uv_unref((uv_handle_t *)&t->idle);

  napi_value handle, result, actual, created_v, resource_name, vnet_v, offload_v, num;
  if (napi_create_external(env, t, tun_finalize, NULL, &handle) != napi_ok) {
    // Without an owner the handle can never be freed safely; close it and report.
    tun_shutdown(t, 1);
    t->finalized = 1;
    napi_throw_error(env, "ESYNACKNAPI", "napi_create_external failed");
    return NULL;
  }
  CHECK(env, napi_create_string_utf8(env, "synack:tun", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(env, napi_async_init(env, handle, resource_name, &t->async_ctx));
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &actual));
  CHECK(env, napi_get_boolean(env, created, &created_v));
  CHECK(env, napi_set_named_property(env, result, "handle", handle));
  CHECK(env, napi_set_named_property(env, result, "name", actual));
  CHECK(env, napi_set_named_property(env, result, "created", created_v));
  CHECK(env, napi_create_uint32(env, (uint32_t)vnet_hdr, &vnet_v));
  CHECK(env, napi_set_named_property(env, result, "vnetHdr", vnet_v));
  CHECK(env, napi_create_uint32(env, offload, &offload_v));
  CHECK(env, napi_set_named_property(env, result, "offload", offload_v));
  CHECK(env, napi_set_named_property(env, result, "rx", rx_ab));
  CHECK(env, napi_get_boolean(env, t->w_on != 0, &num));
  CHECK(env, napi_set_named_property(env, result, "writeThread", num));
  if (t->w_on) {
    // The writer's ring, for JS to write records into (tun_reserve); null if it cannot be shared.
    napi_value ring_ab;
    if (ring_to_js(env, t, &ring_ab) == napi_ok) {
      CHECK(env, napi_set_named_property(env, result, "txRing", ring_ab));
    }
  }
  CHECK(env, napi_create_uint32(env, DEFAULT_BATCH_BYTES, &num));
  CHECK(env, napi_set_named_property(env, result, "rxCap", num));
  CHECK(env, napi_create_uint32(env, DEFAULT_BATCH_PACKETS, &num));
  CHECK(env, napi_set_named_property(env, result, "rxMaxPackets", num));
  return result;
}

// start(handle, callback): begin (or resume) polling; callback(count, errno) for each batch in the
// shared receive buffer (open()'s `rx`), and once with count 0 and errno < 0 if the device fails.
static napi_value tun_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  if (t->closed) {
    napi_throw_error(env, "ERR_SOCKET_CLOSED", "TUN device is closed");
    return NULL;
  }
  if (argc >= 2) {
    napi_valuetype vt;
    CHECK(env, napi_typeof(env, argv[1], &vt));
    if (vt == napi_function) {
      if (t->callback) napi_delete_reference(env, t->callback);
      CHECK(env, napi_create_reference(env, argv[1], 1, &t->callback));
    }
  }
  if (!t->callback) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "start needs a callback");
    return NULL;
  }
  if (!t->polling) {
    int r = uv_poll_start(&t->poll, UV_READABLE, on_readable);
    if (r != 0) {
      throw_errno(env, "uv_poll_start", "tun", -r);
      return NULL;
    }
    t->polling = 1;
    if (t->q_count > 0 && !t->idle_active) {
      uv_idle_start(&t->idle, on_idle);
      t->idle_active = 1;
    }
  }
  return NULL;
}

// stop(handle): pause polling; packets queue in the kernel (up to txqueuelen) until start().
static napi_value tun_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  if (!t->closed && t->polling) {
    uv_poll_stop(&t->poll);
    t->polling = 0;
  }
  return NULL;
}

// ref(handle, bool): whether an open device keeps the Node process alive.
static napi_value tun_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  bool on = true;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &on);
  if (!t->closed) {
    if (on) uv_ref((uv_handle_t *)&t->poll);
    else uv_unref((uv_handle_t *)&t->poll);
  }
  return NULL;
}

// Per-packet word from JS (see src/link/tun.ts): the low 16 bits are gso_size (0: not a GSO
// packet), bit 16 asks the kernel to finish the transport checksum (the field holds the
// pseudo-header sum only).
#define META_GSO_MASK 0xffffu
#define META_NEEDS_CSUM 0x10000u

// The virtio_net_hdr for one outgoing IP packet (virtio spec 1.2, 5.1.6.2 "Packet Transmission"):
// csum_start is the transport header, csum_offset the checksum field in it (16 in TCP, 6 in UDP);
// hdr_len covers the IP and TCP headers; gso_type follows the IP version. Packets whose headers do
// not parse go out without offload flags (the kernel then takes them as they are). On a TAP device
// (l2 = 14) the packet is an Ethernet frame: offsets count from its first byte, as the kernel's
// virtio_net_hdr_to_skb takes them.
static void build_vnet_hdr(struct virtio_net_hdr *h, const uint8_t *frame, size_t flen, uint32_t meta, size_t l2) {
  memset(h, 0, sizeof *h);
  if (meta == 0 || flen < l2 + 20) return;
  if (l2 > 0) {
    unsigned et = (unsigned)frame[12] << 8 | frame[13];
    if (et != 0x0800 && et != 0x86dd) return;
  }
  const uint8_t *p = frame + l2;
  size_t len = flen - l2;
  size_t l4;
  int proto, v6 = (p[0] >> 4) == 6;
  if ((p[0] >> 4) == 4) {
    l4 = (size_t)(p[0] & 0x0f) * 4;
    proto = p[9];
  } else if (v6 && len >= 40) {
    l4 = 40;
    proto = p[6];
  } else {
    return;
  }
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return;
  size_t l4hdr = proto == IPPROTO_TCP ? (len >= l4 + 13 ? (size_t)(p[l4 + 12] >> 4) * 4 : 0) : 8;
  if (l4hdr < 8 || l4 + l4hdr > len) return;
  if (meta & META_NEEDS_CSUM) {
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->csum_start = (uint16_t)(l2 + l4);
    h->csum_offset = proto == IPPROTO_TCP ? 16 : 6;
  }
  uint32_t gso = meta & META_GSO_MASK;
  if (gso != 0 && proto == IPPROTO_TCP && len > l4 + l4hdr + gso) {
    h->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    h->gso_size = (uint16_t)gso;
    h->hdr_len = (uint16_t)(l2 + l4 + l4hdr);
  }
}

// One packet written now, on this thread; 0 or the errno.
static int write_one(tun_t *t, const uint8_t *data, size_t len, uint32_t meta) {
  struct virtio_net_hdr h;
  struct iovec iov[2];
  int n_iov = 0;
  if (t->vnet_hdr > 0) {
    build_vnet_hdr(&h, data, len, meta, t->l2);
    iov[n_iov].iov_base = &h, iov[n_iov++].iov_len = sizeof h;
  }
  iov[n_iov].iov_base = (void *)data, iov[n_iov++].iov_len = len;
  for (;;) {
    ssize_t n = writev(t->fd, iov, n_iov);
    if (n >= 0) {
      t->tx_packets++;
      t->tx_bytes += (double)n - t->vnet_hdr;
      return 0;
    }
    if (errno == EINTR) continue;
    t->tx_errors++;
    t->last_tx_errno = errno;
    return errno;
  }
}

// --- Writes through the writer thread ---------------------------------------------------------
// Each write(2) on a TUN fd runs the kernel's receive path for the packet (IP, TCP, the socket's
// wakeups) synchronously in the writing thread; with one thread that was a third of synack's time
// at MTU 1500 (docs/performance.md). A writer thread moves it to the other core: the main thread
// copies each packet, behind its virtio_net_hdr, into a ring and goes on; the thread writes them
// in order. Backpressure: when the ring is full the main thread waits for room (reading the
// device meanwhile, see wait_room), so nothing is dropped and nothing grows without bound. The
// fd is closed only after the thread has written everything and exited (tun_shutdown).
#define W_RING_BYTES (4u << 20)
#define W_WRAP 0xffffffffu  // a record length meaning "continue at the start of the ring"

// The ring is single-producer (the main thread), single-consumer (the writer), without a lock:
// w_head and w_tail count bytes ever published and ever written (offset = count % w_cap), each
// stored by its one owner with release order and read by the other with acquire order, so the
// bytes of a record are visible before the head that covers them, and the writer's tx counters
// before the tail that follows them. Sleeping is on futexes, and only when there is nothing to do:
// the writer sleeps on w_sleeping when the ring is empty, and the producer wakes it only when that
// flag is set (a load per packet, no system call while the writer is busy); the producer sleeps on
// w_room_seq when the ring is full, and the writer wakes it only when w_want_room asks. Each side
// stores its flag, then re-reads the other's position (sequentially consistent), and the other
// side publishes, then reads the flag: one of the two always sees the other (no lost wake-up).
// A mutex and two condition variables did this before: two lock round trips per packet on the
// main thread and one per packet on the writer, with the cache line bouncing between the cores.

// A record: u32 bytes to write (header and packet), u32 header bytes, then those bytes; 8-aligned.
static size_t w_record(size_t n) {
  return (8 + n + 7) & ~(size_t)7;
}

static long futex_wait(uint32_t *addr, uint32_t expect, const struct timespec *timeout) {
  return syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expect, timeout, NULL, 0);
}

static void futex_wake(uint32_t *addr) {
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

// Tells a producer waiting for room (wait_room, writer_sync) that the tail moved.
static void writer_room(tun_t *t) {
  if (__atomic_load_n(&t->w_want_room, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&t->w_want_room, 0, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->w_room_seq, 1, __ATOMIC_SEQ_CST);
    futex_wake(&t->w_room_seq);
  }
}

static void *writer_main(void *arg) {
  tun_t *t = (tun_t *)arg;
  size_t tail = t->w_tail;
  for (;;) {
    size_t head = __atomic_load_n(&t->w_head, __ATOMIC_ACQUIRE);
    if (head == tail) {
      if (__atomic_load_n(&t->w_stop, __ATOMIC_ACQUIRE)) break;
      __atomic_store_n(&t->w_sleeping, 1, __ATOMIC_SEQ_CST);
      if (__atomic_load_n(&t->w_head, __ATOMIC_SEQ_CST) == tail && !__atomic_load_n(&t->w_stop, __ATOMIC_SEQ_CST)) {
        t->w_sleeps++;
        futex_wait(&t->w_sleeping, 1, NULL);
      }
      __atomic_store_n(&t->w_sleeping, 0, __ATOMIC_RELAXED);
      continue;
    }
    // Everything published up to head, in order.
    while (tail != head) {
      size_t at = tail % t->w_cap;
      uint8_t *r = t->w_ring + at;
      uint32_t len, hl;
      memcpy(&len, r, 4);
      if (len == W_WRAP) {
        tail += t->w_cap - at;
        continue;
      }
      memcpy(&hl, r + 4, 4);
      ssize_t n;
      do n = write(t->fd, r + 8, len);
      while (n < 0 && errno == EINTR);
      if (n >= 0) {
        t->tx_packets++;
        t->tx_bytes += (double)n - hl;
      } else {
        t->tx_errors++;
        t->last_tx_errno = errno;
      }
      tail += w_record(len);
      // Sequentially consistent, not just release: writer_room's load of w_want_room must not be
      // ordered before this store (x86 lets a load pass an earlier plain store), or a producer that
      // just set w_want_room and read the old tail would sleep out its 1 ms timeout.
      __atomic_store_n(&t->w_tail, tail, __ATOMIC_SEQ_CST);
      writer_room(t);
    }
  }
  return NULL;
}

// Starts the writer thread; 0 (and writes stay on the main thread) if it cannot be had.
static int writer_start(tun_t *t) {
  // Its own mapping, so trim() can hand the pages back while the ring is idle.
  void *ring = mmap(NULL, W_RING_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring == MAP_FAILED) return 0;
  t->w_ring = (uint8_t *)ring;
  t->w_cap = W_RING_BYTES;
  t->w_head = t->w_tail = 0;
  if (pthread_create(&t->w_thread, NULL, writer_main, t) != 0) {
    munmap(t->w_ring, W_RING_BYTES);
    t->w_ring = NULL;
    return 0;
  }
  // Named, so per-thread accounting (top -H, perf, /proc/PID/task) tells its share apart.
  pthread_setname_np(t->w_thread, "synack-tun-w");
  t->w_on = 1;
  return 1;
}

// Lets the thread write what is queued, then joins it. Safe to call more than once.
static void writer_stop(tun_t *t) {
  if (!t->w_on) return;
  __atomic_store_n(&t->w_stop, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&t->w_sleeping, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&t->w_sleeping, 0, __ATOMIC_SEQ_CST);
    futex_wake(&t->w_sleeping);
  }
  pthread_join(t->w_thread, NULL);
  t->w_on = 0;
  t->w_res = 0;
  // A ring JS can see stays mapped until its ArrayBuffer is collected (ring_finalize).
  if (!t->w_shared) munmap(t->w_ring, W_RING_BYTES);
  t->w_ring = NULL;
}

static void ring_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  munmap(data, W_RING_BYTES);
}

// The ring as an ArrayBuffer for JS (open()'s txRing); from then on its finalizer unmaps it.
static napi_status ring_to_js(napi_env env, tun_t *t, napi_value *out) {
  napi_status st = napi_create_external_arraybuffer(env, t->w_ring, W_RING_BYTES, ring_finalize, NULL, out);
  if (st == napi_ok) t->w_shared = 1;
  return st;
}

// Bytes the writer has not written yet.
static size_t writer_used(tun_t *t) {
  return t->w_head - __atomic_load_n(&t->w_tail, __ATOMIC_ACQUIRE);
}

// Waits up to 1 ms for the writer to free room (or, with all, to empty the ring). Meanwhile the
// kernel answers what the thread writes (ACKs, mostly) into the device's queue, which nobody reads
// while we wait, so each wait moves them into our rx queue (drain_to_queue) lest the kernel drop
// them (txqueuelen).
static void wait_room(tun_t *t, size_t need) {
  uint32_t seq = __atomic_load_n(&t->w_room_seq, __ATOMIC_SEQ_CST);
  __atomic_store_n(&t->w_want_room, 1, __ATOMIC_SEQ_CST);
  if (t->w_cap - writer_used(t) < need) {
    struct timespec ts = {0, 1000000};
    futex_wait(&t->w_room_seq, seq, &ts);
  }
  drain_to_queue(t);
}

// Hands one packet to the writer thread (copied, so the caller's buffer is free at once).
static void writer_put(tun_t *t, const uint8_t *data, size_t len, uint32_t meta) {
  struct virtio_net_hdr h;
  size_t hl = 0;
  if (t->vnet_hdr > 0) {
    build_vnet_hdr(&h, data, len, meta, t->l2);
    hl = sizeof h;
  }
  size_t rec = w_record(hl + len);
  size_t head = t->w_head;
  // A record is contiguous: if it does not fit before the end, the rest of the ring is skipped.
  // So is it when the writer has written everything: the next record goes to the front, whose
  // bytes are still in the caches of both cores (cycling through all 4 MiB made each 64 KiB copy,
  // here and in the kernel, run from cold memory: 15-20% more main-thread time per byte).
  size_t at = head % t->w_cap;
  size_t waste = at + rec > t->w_cap || (at >= rec && writer_used(t) == 0) ? t->w_cap - at : 0;
  while (t->w_cap - writer_used(t) < waste + rec) wait_room(t, waste + rec);
  if (waste > 0) {
    uint32_t wrap = W_WRAP;
    memcpy(t->w_ring + at, &wrap, 4);
    head += waste;
    at = 0;
  }
  // [at, at + rec) is ours until published: the writer reads only up to w_head.
  uint8_t *r = t->w_ring + at;
  uint32_t n32 = (uint32_t)(hl + len), hl32 = (uint32_t)hl;
  memcpy(r, &n32, 4);
  memcpy(r + 4, &hl32, 4);
  if (hl > 0) memcpy(r + 8, &h, hl);
  memcpy(r + 8 + hl, data, len);
  __atomic_store_n(&t->w_head, head + rec, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&t->w_sleeping, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&t->w_sleeping, 0, __ATOMIC_SEQ_CST);
    t->w_wakes++;
    futex_wake(&t->w_sleeping);
  }
}

// Waits until the writer has written everything handed to it (stats() are then exact).
static void writer_sync(tun_t *t) {
  if (!t->w_on) return;
  while (writer_used(t) > 0) wait_room(t, t->w_cap);
}

// reserve(handle, need) -> offset: lets JS write `need` contiguous bytes of records at that offset
// of the ring (open()'s txRing) until commit(); -1 without a writer thread or once closed. Each
// record is what writer_put makes: u32 bytes to write (header and packet), u32 header bytes (0 or
// the virtio_net_hdr's), the header (JS puts the packet's META_* word in its first 4 bytes and
// commit builds the header there), the packet; 8-aligned. JS copying each packet in with one
// TypedArray.set replaces writeBatch's per-packet N-API calls (napi_get_element, the typed array's
// info: about 8% of the main thread without offloads, docs/performance.md). Waits for room as
// writer_put does (moving what the device has for us into the rx queue meanwhile).
static size_t ring_reserve(tun_t *t, size_t need) {
  size_t head = t->w_head;
  size_t at = head % t->w_cap;
  // As writer_put: contiguous, and back at the front once the writer has caught up.
  size_t waste = at + need > t->w_cap || (at >= need && writer_used(t) == 0) ? t->w_cap - at : 0;
  while (t->w_cap - writer_used(t) < waste + need) wait_room(t, waste + need);
  if (waste > 0) {
    uint32_t wrap = W_WRAP;
    memcpy(t->w_ring + at, &wrap, 4);
    // Published on its own: the writer skips to the front, where the reservation starts.
    __atomic_store_n(&t->w_head, head + waste, __ATOMIC_SEQ_CST);
    at = 0;
  }
  t->w_res = need;
  return at;
}

// Publishes the `bytes` JS wrote at the start of its reservation (whole records, checked here, so a
// bad record can never send the writer outside the ring) and wakes the writer if it sleeps.
// A refused commit publishes nothing and ends the reservation (JS drops what it wrote).
static int ring_commit(tun_t *t, size_t bytes) {
  size_t res = t->w_res;
  t->w_res = 0;
  if (bytes > res || (bytes & 7) != 0) return 0;
  size_t head = t->w_head;
  uint8_t *base = t->w_ring + head % t->w_cap;
  uint32_t records = 0;
  for (size_t at = 0; at < bytes; records++) {
    uint32_t len, hl;
    memcpy(&len, base + at, 4);
    memcpy(&hl, base + at + 4, 4);
    if ((hl != 0 && hl != (uint32_t)t->vnet_hdr) || len < hl || at + w_record(len) > bytes) return 0;
    if (hl > 0) {
      uint32_t meta;
      struct virtio_net_hdr h;
      memcpy(&meta, base + at + 8, 4);
      build_vnet_hdr(&h, base + at + 8 + hl, len - hl, meta, t->l2);
      memcpy(base + at + 8, &h, sizeof h);
    }
    at += w_record(len);
  }
  if (bytes == 0) return 1;
  __atomic_store_n(&t->w_head, head + bytes, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&t->w_sleeping, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&t->w_sleeping, 0, __ATOMIC_SEQ_CST);
    t->w_wakes++;
    futex_wake(&t->w_sleeping);
  }
  // As writeBatch does after a long batch: what the kernel answers meanwhile (ACKs) waits in the
  // device's queue, which nothing reads until JS returns to the loop; a turn that hands over
  // thousands of packets (a thousand connections' bursts) would overflow it (drain_to_queue).
  // After 32 packets in one commit, or 256 KiB since the last drain (a bulk flow's commits are a
  // few packets each, and a read per commit would cost it a system call per 11 packets).
  t->w_undrained += bytes;
  if (records >= 32 || t->w_undrained >= (256u << 10)) {
    t->w_undrained = 0;
    drain_to_queue(t);
  }
  return 1;
}

// A packet for the device: to the writer thread when there is one, else written now. Returns 0 or
// the errno of a write done now (the thread's failures are counted in stats()).
static int send_one(tun_t *t, const uint8_t *data, size_t len, uint32_t meta) {
  if (t->w_on) {
    writer_put(t, data, len, meta);
    return 0;
  }
  return write_one(t, data, len, meta);
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t *)ptr;
  *len = length;
  return 1;
}

// write(handle, packet: Uint8Array, meta?: number) -> 0 on success, -errno on failure (never throws
// for IO). meta: see META_*.
static napi_value tun_write(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  uint8_t *data;
  size_t len;
  if (argc < 2 || !get_bytes(env, argv[1], &data, &len)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "packet must be a Uint8Array");
    return NULL;
  }
  uint32_t meta = 0;
  if (argc >= 3) napi_get_value_uint32(env, argv[2], &meta);
  int err = t->closed ? EBADF : send_one(t, data, len, meta);
  if (t->closed) t->tx_errors++, t->last_tx_errno = EBADF;
  CHECK(env, napi_create_int32(env, -err, &out));
  return out;
}

// writeBatch(handle, packets: Uint8Array[], count, metas?: Uint32Array) -> number of packets the
// kernel accepted; metas[i] is packet i's META_* word.
// One call crosses into C once for the whole batch; each packet is still one write(2), since a
// TUN fd takes exactly one packet per write. Failures are counted in stats() and skipped.
static napi_value tun_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  const uint32_t *metas = NULL;
  size_t n_metas = 0;
  if (argc >= 4) {
    bool is_ta = false;
    napi_typedarray_type type;
    void *ptr;
    napi_value ab;
    size_t off;
    if (napi_is_typedarray(env, argv[3], &is_ta) == napi_ok && is_ta &&
        napi_get_typedarray_info(env, argv[3], &type, &n_metas, &ptr, &ab, &off) == napi_ok && type == napi_uint32_array)
      metas = (const uint32_t *)ptr;
  }
  bool is_array = false;
  if (argc < 2 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "packets must be an array");
    return NULL;
  }
  uint32_t count = 0;
  CHECK(env, napi_get_array_length(env, argv[1], &count));
  if (argc >= 3) {
    uint32_t limit = count;
    if (napi_get_value_uint32(env, argv[2], &limit) == napi_ok && limit < count) count = limit;
  }
  uint32_t ok = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value el;
    CHECK(env, napi_get_element(env, argv[1], i, &el));
    uint8_t *data;
    size_t len;
    if (!get_bytes(env, el, &data, &len)) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "every packet must be a Uint8Array");
      return NULL;
    }
    if (t->closed) {
      t->tx_errors++;
      t->last_tx_errno = EBADF;
      continue;
    }
    if (send_one(t, data, len, metas != NULL && i < n_metas ? metas[i] : 0) == 0) ok++;
    if ((i & 31) == 31 && !t->w_on) drain_to_queue(t);
  }
  if (count >= 32) drain_to_queue(t);
  CHECK(env, napi_create_uint32(env, ok, &out));
  return out;
}

// reserve(handle, need): see ring_reserve; -1 without a writer thread, once closed, or for a need
// the ring cannot hold.
static napi_value tun_reserve(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  uint32_t need = 0;
  if (argc < 2 || napi_get_value_uint32(env, argv[1], &need) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "need must be a number");
    return NULL;
  }
  int64_t at = -1;
  if (!t->closed && t->w_on && t->w_res == 0 && need > 0 && (need & 7) == 0 && need <= t->w_cap / 2) at = (int64_t)ring_reserve(t, need);
  CHECK(env, napi_create_int64(env, at, &out));
  return out;
}

// commit(handle, bytes, next) -> the offset of a fresh reservation of `next` bytes (as reserve), or
// -1 when next is 0 or none can be had. Throws if the records do not add up to `bytes`.
static napi_value tun_commit(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  uint32_t bytes = 0, next = 0;
  if (argc < 2 || napi_get_value_uint32(env, argv[1], &bytes) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "bytes must be a number");
    return NULL;
  }
  if (argc >= 3) napi_get_value_uint32(env, argv[2], &next);
  int64_t at = -1;
  if (!t->closed && t->w_on) {
    if (t->w_res == 0 && bytes > 0) {
      napi_throw_error(env, "ERR_INVALID_STATE", "commit without a reservation");
      return NULL;
    }
    if (!ring_commit(t, bytes)) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "commit: the records do not fill the bytes given, or overrun the reservation");
      return NULL;
    }
    if (next > 0 && (next & 7) == 0 && next <= t->w_cap / 2) at = (int64_t)ring_reserve(t, next);
  }
  CHECK(env, napi_create_int64(env, at, &out));
  return out;
}

// rxInto(handle, bytes: Uint8Array): reads land in `bytes` from now on instead of the packet part of
// open()'s `rx` (the ends and flags stay there): JS hands a view of the checksum kernel's memory
// (src/wire/simd-sum.ts takeLinkSlot) so that the Stack sums and parses each packet where the
// kernel put it, without a copy. Only between deliveries (JS calls it right after open); the view
// must not be detached or resized while the device is open (that memory never grows), and is
// kept alive until close.
static napi_value tun_rx_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  uint8_t *data;
  size_t len;
  if (argc < 2 || !get_bytes(env, argv[1], &data, &len) || len < SLOT_BYTES) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "rxInto wants a Uint8Array of at least 65 KiB");
    return NULL;
  }
  if (t->closed) return NULL;
  napi_ref ref;
  CHECK(env, napi_create_reference(env, argv[1], 1, &ref));
  if (t->rx_bytes_ref) napi_delete_reference(env, t->rx_bytes_ref);
  t->rx_bytes_ref = ref;
  t->buf = data;
  t->cap = len;
  return NULL;
}

static napi_value tun_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  tun_shutdown(t, 0);
  return NULL;
}

static void set_num(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  if (napi_create_double(env, v, &n) == napi_ok) napi_set_named_property(env, obj, key, n);
}

static napi_value tun_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  CHECK(env, napi_create_object(env, &obj));
  writer_sync(t);
  set_num(env, obj, "rxPackets", t->rx_packets);
  set_num(env, obj, "rxBytes", t->rx_bytes);
  set_num(env, obj, "rxBatches", t->rx_batches);
  set_num(env, obj, "rxErrors", t->rx_errors);
  set_num(env, obj, "rxQueued", t->rx_queued);
  set_num(env, obj, "rxGso", t->rx_gso);
  set_num(env, obj, "rxCsumPartial", t->rx_csum_partial);
  set_num(env, obj, "rxBadVnet", t->rx_bad_vnet);
  set_num(env, obj, "txPackets", t->tx_packets);
  set_num(env, obj, "txBytes", t->tx_bytes);
  set_num(env, obj, "txErrors", t->tx_errors);
  set_num(env, obj, "lastTxErrno", -(double)t->last_tx_errno);
  set_num(env, obj, "lastRxErrno", -(double)t->last_rx_errno);
  set_num(env, obj, "vnetHdr", (double)t->vnet_hdr);
  set_num(env, obj, "offloadFlags", (double)t->offload);
  set_num(env, obj, "writerWakes", t->w_wakes);
  set_num(env, obj, "writerSleeps", t->w_sleeps);
  return obj;
}

// trim(): hands freed heap memory back to the system (glibc's malloc_trim). After a load, the
// buffers of thousands of finished connections are freed but glibc keeps the pages in its arenas,
// so the process's RSS would stay at its peak. Returns whether anything was released.
// The idle buffers of open devices go too: the writer's ring (when empty, its pages; the writer
// touches none of it until the main thread, which is here, hands it a packet) and the rx queue.
static napi_value tun_trim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
  for (tun_t *t = open_tuns; t; t = t->next) {
    // Only the main thread (here) publishes: with nothing unwritten the writer reads no byte of
    // the ring until the next writer_put, which faults the pages back in.
    // Not while JS holds a reservation: bytes it wrote but has not committed would read as zeros.
    if (t->w_on && t->w_res == 0 && writer_used(t) == 0 && madvise(t->w_ring, t->w_cap, MADV_DONTNEED) == 0) released = 1;
    if (t->q_count == 0 && t->q != NULL) {
      free(t->q), free(t->q_ends), free(t->q_flags);
      t->q = NULL, t->q_ends = NULL, t->q_flags = NULL;
      t->q_cap = 0, t->q_ends_cap = 0, t->q_used = 0;
      released = 1;
    }
  }
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value out;
  if (napi_get_boolean(env, released != 0, &out) != napi_ok) return NULL;
  return out;
}

// discard(view): gives the whole pages inside a Uint8Array's bytes back to the system
// (madvise MADV_DONTNEED: private anonymous pages read as zeros when next touched). For storage that
// a pool keeps while nobody uses it and whose contents are never read before being written over
// (src/cli/memory.ts: the checksum kernel's WebAssembly arena, which cannot shrink otherwise).
// Returns the bytes discarded (0 for a view smaller than a page or a failed madvise).
static napi_value tun_discard(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_ta = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, NULL, "discard: expected a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  CHECK(env, napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "discard: expected a Uint8Array");
    return NULL;
  }
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t from = ((uintptr_t)data + page - 1) & ~(page - 1);
  uintptr_t to = ((uintptr_t)data + length) & ~(page - 1);
  double n = 0;
  if (data != NULL && to > from && madvise((void *)from, to - from, MADV_DONTNEED) == 0) n = (double)(to - from);
  napi_value out;
  CHECK(env, napi_create_double(env, n, &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, tun_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stop", NULL, tun_stop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ref", NULL, tun_ref, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, tun_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeBatch", NULL, tun_write_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reserve", NULL, tun_reserve, NULL, NULL, NULL, napi_enumerable, NULL},
      {"commit", NULL, tun_commit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rxInto", NULL, tun_rx_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, tun_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, tun_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"trim", NULL, tun_trim, NULL, NULL, NULL, napi_enumerable, NULL},
      {"discard", NULL, tun_discard, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
