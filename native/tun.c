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
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
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

typedef struct {
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
  uint32_t q_count, q_ends_cap;
  double rx_queued;   // packets that went through the queue (stats)
  uint8_t *buf;
  uint8_t *scratch;   // SLOT_BYTES for reads when the batch buffer has less than that free
  size_t carry;       // bytes of a packet read into scratch that did not fit in the batch
  uint32_t *ends;
  size_t cap;
  uint32_t max_packets;
  // Offloads: vnet_hdr is the virtio_net_hdr size in front of every packet (0 without
  // IFF_VNET_HDR); offload the TUN_F_* flags TUNSETOFFLOAD accepted.
  int vnet_hdr;
  unsigned offload;
  // Counters, exposed through stats().
  double rx_packets, rx_bytes, rx_batches, rx_errors;
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
    free(t->buf);
    free(t->q);
    free(t->q_ends);
    free(t->scratch);
    free(t->ends);
    free(t);
  }
}

static void on_poll_closed(uv_handle_t *h) {
  tun_t *t = (tun_t *)h->data;
  t->poll_closing--;
  free_if_done(t);
}

// Stops polling, closes the fd and releases the JS callback. Safe to call more than once.
static void tun_shutdown(tun_t *t, int from_finalizer) {
  if (t->closed) return;
  t->closed = 1;
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

// Calls the JS callback as cb(batch, ends, count, errno) inside a proper async context, so that
// microtasks queued by the callback (e.g. batched writes) run before control returns to libuv.
static void deliver(tun_t *t, size_t used, uint32_t count, int err) {
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[4], cb, recv, result;
  if (count > 0) {
    void *copy;
    napi_value ab;
    if (napi_create_buffer_copy(env, used, t->buf, &copy, &argv[0]) != napi_ok) goto out;
    void *ends_data;
    if (napi_create_arraybuffer(env, (size_t)count * 4, &ends_data, &ab) != napi_ok) goto out;
    memcpy(ends_data, t->ends, (size_t)count * 4);
    if (napi_create_typedarray(env, napi_uint32_array, count, ab, 0, &argv[1]) != napi_ok) goto out;
  } else {
    napi_get_null(env, &argv[0]);
    napi_get_null(env, &argv[1]);
  }
  napi_create_uint32(env, count, &argv[2]);
  napi_create_int32(env, -err, &argv[3]);
  if (napi_get_reference_value(env, t->callback, &cb) != napi_ok || cb == NULL) goto out;
  napi_get_global(env, &recv);
  if (napi_make_callback(env, t->async_ctx, recv, cb, 4, argv, &result) == napi_pending_exception) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
out:
  napi_close_handle_scope(env, scope);
}

// Bounded so a reader that never gets to JS cannot grow without limit; past it packets stay in the
// kernel's queue (txqueuelen), as before.
#define RX_QUEUE_MAX_BYTES (16u << 20)

static void on_idle(uv_idle_t *h);

// Appends one packet from scratch to the rx queue; 0 when it would exceed the bound or memory.
static int queue_packet(tun_t *t, size_t n) {
  if (t->q_used + n > RX_QUEUE_MAX_BYTES) return 0;
  if (t->q_used + n > t->q_cap) {
    size_t cap = t->q_cap == 0 ? (256u << 10) : t->q_cap;
    while (cap < t->q_used + n) cap *= 2;
    uint8_t *q = (uint8_t *)realloc(t->q, cap);
    if (!q) return 0;
    t->q = q, t->q_cap = cap;
  }
  if (t->q_count == t->q_ends_cap) {
    uint32_t cap = t->q_ends_cap == 0 ? 1024 : t->q_ends_cap * 2;
    uint32_t *e = (uint32_t *)realloc(t->q_ends, sizeof(uint32_t) * cap);
    if (!e) return 0;
    t->q_ends = e, t->q_ends_cap = cap;
  }
  memcpy(t->q + t->q_used, t->scratch, n);
  t->q_used += n;
  t->q_ends[t->q_count++] = (uint32_t)t->q_used;
  return 1;
}

// Called between writes of a long batch: every packet the kernel answers with (ACKs, mostly) lands
// in the device's transmit queue while we write, and nothing reads it until JS returns to the loop;
// a burst of thousands of writes would overflow that queue (txqueuelen) and the kernel would drop
// silently. Moving them into our own queue keeps the kernel's side empty. Bounded by bytes only:
// capping it at 16,384 packets, or at two packets per write (what our writes can have caused), let
// 32,000-39,000 drops per 5,000 concurrent downloads back in; the kernel answers a long burst with
// more than that. Under a SYN flood a delivery can therefore be a large batch (up to 16 MiB).
static void drain_to_queue(tun_t *t) {
  if (t->closed || !t->polling) return;
  for (;;) {
    if (t->q_used + SLOT_BYTES > RX_QUEUE_MAX_BYTES) break;
    ssize_t n = read(t->fd, t->scratch, SLOT_BYTES);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN, or an error on_readable will see and report
    if (!queue_packet(t, (size_t)n)) break;  // (the packet is lost only if realloc failed)
  }
  if (t->q_count > 0 && !t->idle_active) {
    uv_idle_start(&t->idle, on_idle);
    t->idle_active = 1;
  }
}

// Hands the queued packets to JS as one batch (oldest first, before anything read later).
static void deliver_queue(tun_t *t) {
  if (t->idle_active) {
    uv_idle_stop(&t->idle);
    t->idle_active = 0;
  }
  if (t->q_count == 0 || t->closed) return;
  uint32_t count = t->q_count;
  size_t used = t->q_used;
  t->q_count = 0;
  t->q_used = 0;
  t->rx_packets += count;
  t->rx_bytes += (double)used - (double)count * t->vnet_hdr;
  t->rx_batches++;
  t->rx_queued += count;
  // deliver() copies out of buf/ends; point it at the queue for this call.
  uint8_t *buf = t->buf;
  uint32_t *ends = t->ends;
  t->buf = t->q, t->ends = t->q_ends;
  deliver(t, used, count, 0);
  t->buf = buf, t->ends = ends;
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
    deliver(t, 0, 0, -status);
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
    ssize_t n = read(t->fd, dst, SLOT_BYTES);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (n == 0) break;
    if (dst == t->scratch) {
      if ((size_t)n > room) {
        t->carry = (size_t)n;
        break;
      }
      memcpy(t->buf + used, t->scratch, (size_t)n);
    }
    used += (size_t)n;
    t->ends[count++] = (uint32_t)used;
  }
  if (count > 0) {
    t->rx_packets += count;
    t->rx_bytes += (double)used - (double)count * t->vnet_hdr;
    t->rx_batches++;
    deliver(t, used, count, 0);
  }
  if (t->carry > 0 && !t->closed) {
    // The packet that did not fit after the batch: hand it over on its own now rather than keep it
    // until the next readable event (which may not come soon).
    size_t n = t->carry;
    t->carry = 0;
    memcpy(t->buf, t->scratch, n);
    t->ends[0] = (uint32_t)n;
    t->rx_packets += 1;
    t->rx_bytes += (double)n - t->vnet_hdr;
    t->rx_batches++;
    deliver(t, n, 1, 0);
  }
  if (err != 0 && !t->closed) {
    // The device went away (EBADFD/EIO): stop polling and tell JS once.
    t->rx_errors++;
    t->last_rx_errno = err;
    t->polling = 0;
    uv_poll_stop(&t->poll);
    deliver(t, 0, 0, err);
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
  size_t argc = 5;
  napi_value argv[5];
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
  uint8_t *buf = (uint8_t *)malloc(DEFAULT_BATCH_BYTES);
  uint8_t *scratch = (uint8_t *)malloc(SLOT_BYTES);
  uint32_t *ends = (uint32_t *)malloc(sizeof(uint32_t) * DEFAULT_BATCH_PACKETS);
  if (!t || !buf || !scratch || !ends) {
    free(t), free(buf), free(scratch), free(ends), close(fd);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  t->fd = fd;
  t->env = env;
  t->vnet_hdr = vnet_hdr;
  t->offload = offload;
  t->buf = buf;
  t->scratch = scratch;
  t->ends = ends;
  t->cap = DEFAULT_BATCH_BYTES;
  t->max_packets = DEFAULT_BATCH_PACKETS;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &t->poll, fd) != 0) {
    close(fd), free(t), free(buf), free(scratch), free(ends);
    napi_throw_error(env, "ESYNACKUV", "uv_poll_init failed");
    return NULL;
  }
  t->poll.data = t;
  uv_idle_init(loop, &t->idle);
  t->idle.data = t;
  uv_unref((uv_handle_t *)&t->idle);

  napi_value handle, result, actual, created_v, resource_name, vnet_v, offload_v;
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
  return result;
}

// start(handle, callback): begin (or resume) polling; callback(batch, ends, count, errno).
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
// not parse go out without offload flags (the kernel then takes them as they are).
static void build_vnet_hdr(struct virtio_net_hdr *h, const uint8_t *p, size_t len, uint32_t meta) {
  memset(h, 0, sizeof *h);
  if (meta == 0 || len < 20) return;
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
    h->csum_start = (uint16_t)l4;
    h->csum_offset = proto == IPPROTO_TCP ? 16 : 6;
  }
  uint32_t gso = meta & META_GSO_MASK;
  if (gso != 0 && proto == IPPROTO_TCP && len > l4 + l4hdr + gso) {
    h->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    h->gso_size = (uint16_t)gso;
    h->hdr_len = (uint16_t)(l4 + l4hdr);
  }
}

static int write_one(tun_t *t, const uint8_t *data, size_t len, uint32_t meta) {
  struct virtio_net_hdr h;
  struct iovec iov[2];
  int n_iov = 0;
  if (t->vnet_hdr > 0) {
    build_vnet_hdr(&h, data, len, meta);
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
  int err = t->closed ? EBADF : write_one(t, data, len, meta);
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
    if (write_one(t, data, len, metas != NULL && i < n_metas ? metas[i] : 0) == 0) ok++;
    if ((i & 31) == 31) drain_to_queue(t);
  }
  if (count >= 32) drain_to_queue(t);
  CHECK(env, napi_create_uint32(env, ok, &out));
  return out;
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
  set_num(env, obj, "rxPackets", t->rx_packets);
  set_num(env, obj, "rxBytes", t->rx_bytes);
  set_num(env, obj, "rxBatches", t->rx_batches);
  set_num(env, obj, "rxErrors", t->rx_errors);
  set_num(env, obj, "rxQueued", t->rx_queued);
  set_num(env, obj, "txPackets", t->tx_packets);
  set_num(env, obj, "txBytes", t->tx_bytes);
  set_num(env, obj, "txErrors", t->tx_errors);
  set_num(env, obj, "lastTxErrno", -(double)t->last_tx_errno);
  set_num(env, obj, "lastRxErrno", -(double)t->last_rx_errno);
  set_num(env, obj, "vnetHdr", (double)t->vnet_hdr);
  set_num(env, obj, "offloadFlags", (double)t->offload);
  return obj;
}

// trim(): hands freed heap memory back to the system (glibc's malloc_trim). After a load, the
// buffers of thousands of finished connections are freed but glibc keeps the pages in its arenas,
// so the process's RSS would stay at its peak. Returns whether anything was released.
static napi_value tun_trim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value out;
  if (napi_get_boolean(env, released != 0, &out) != napi_ok) return NULL;
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
      {"close", NULL, tun_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, tun_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"trim", NULL, tun_trim, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
