/* vquic — POSIX driver: the UDP socket (recvmmsg/sendmmsg, GRO/GSO, ECN, don't-fragment) and the
 * event loop (epoll, timerfd, eventfd, signalfd). Linux. No global mutable state: everything lives in
 * the objects, allocated from the caller's vq_mem. */
#define _GNU_SOURCE
#include "vquic/posix.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define TXQ 64              /* messages per sendmmsg */
#define TXIOV 256           /* datagrams per sendmmsg */
#define GSO_MAX_SEGS 64     /* UDP_MAX_SEGMENTS of older kernels */
#define UDP_MAX_PAYLOAD 65507u /* 65535 - 20 (IPv4 header) - 8 (UDP header); also caps a GSO train */
#define TX_CTRL_WORDS 16    /* 128 bytes of ancillary data per sent message */
#define RX_CTRL 256         /* bytes of ancillary data per received message */
#define RX_BATCH_DEFAULT 16u
#define RX_BATCH_MAX 256u
#define RX_BUF_DEFAULT 65536u
#define RX_BUF_MIN 1280u
#define SOCK_BUF_DEFAULT (8 * 1024 * 1024)
#define WAIT_SLICE_MS 50    /* how long a wait may go without looking at a cancel token */

struct vq_posix_sock {
  vq_mem *mem;
  int fd;
  vq_addr local;
  vq_posix_info info;
  vq_posix_stats stats;
  /* the loop watching this socket, and the next socket of that loop */
  vq_posix_loop *loop;
  vq_posix_sock *loop_next;
  int want_out;
  /* receive: rx_batch messages of rx_buf bytes, and where the caller is in the last batch */
  unsigned rx_batch;
  size_t rx_buf;
  uint8_t *rx_data;
  void *rx_block; /* mmsghdr, iovec, names, control for rx_batch messages */
  size_t rx_block_size;
  struct mmsghdr *rx_msgs;
  struct iovec *rx_iov;
  struct sockaddr_storage *rx_names;
  uint8_t *rx_ctrl;
  unsigned rx_count, rx_next;
  int rx_short;          /* the last read returned fewer messages than rx_batch (the queue emptied) */
  size_t rx_off;
  int cur_valid;
  size_t cur_seg;
  uint8_t cur_ecn;
  vq_addr cur_peer, cur_local;
  vq_time rx_at;
  /* send */
  struct mmsghdr tx_msgs[TXQ];
  struct iovec tx_iov[TXIOV];
  struct sockaddr_in6 tx_names[TXQ];
  uint64_t tx_ctrl[TXQ][TX_CTRL_WORDS];
  unsigned tx_nd[TXQ];
};

struct vq_posix_loop {
  vq_mem *mem;
  int ep, tfd, efd, sfd;
  vq_time armed; /* the deadline the timer is set to (VQ_TIME_NEVER: disarmed) */
  int masked;
  sigset_t oldmask;
  vq_posix_sock *socks;
};

static int setopt(int fd, int level, int name, int val)
{
  return setsockopt(fd, level, name, &val, sizeof val);
}

static int getopt_int(int fd, int level, int name, int *val)
{
  socklen_t l = sizeof *val;
  *val = 0;
  return getsockopt(fd, level, name, val, &l);
}

/* Asks for `want` bytes of socket buffer; above net.core.[rw]mem_max only the *BUFFORCE option (root
 * or CAP_NET_ADMIN) gets it, and its EPERM is ignored: we keep what the plain option gave. */
static int size_buffer(int fd, int opt, int force, int want)
{
  int got;
  (void)setopt(fd, SOL_SOCKET, opt, want);
  (void)getopt_int(fd, SOL_SOCKET, opt, &got);
  if (got / 2 < want) {
    (void)setopt(fd, SOL_SOCKET, force, want);
    (void)getopt_int(fd, SOL_SOCKET, opt, &got);
  }
  return got;
}

/* ::ffff:a.b.c.d -> a.b.c.d (a dual-stack socket's IPv4 peers are given to the caller as IPv4). */
static void unmap_v4(vq_addr *a)
{
  if (vq_addr_family(a) != AF_INET6) return;
  const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&a->ss;
  if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) return;
  struct sockaddr_in s4;
  memset(&s4, 0, sizeof s4);
  s4.sin_family = AF_INET;
  s4.sin_port = s6->sin6_port;
  memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
  (void)vq_addr_from_sockaddr(a, (const struct sockaddr *)(const void *)&s4, sizeof s4);
}

/* a.b.c.d:p -> [::ffff:a.b.c.d]:p, for sending IPv4 through a dual-stack socket. */
static void map_v4(const vq_addr *a, struct sockaddr_in6 *out)
{
  const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&a->ss;
  memset(out, 0, sizeof *out);
  out->sin6_family = AF_INET6;
  out->sin6_port = s4->sin_port;
  out->sin6_addr.s6_addr[10] = 0xff;
  out->sin6_addr.s6_addr[11] = 0xff;
  memcpy(&out->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
}

/* ---- socket ------------------------------------------------------------------------------------- */

static void sock_free(vq_posix_sock *s)
{
  int saved = errno;
  if (s->fd >= 0) (void)close(s->fd);
  vq_mem_free(s->mem, s->rx_data, (size_t)s->rx_batch * s->rx_buf);
  vq_mem_free(s->mem, s->rx_block, s->rx_block_size);
  vq_mem_free(s->mem, s, sizeof *s);
  errno = saved;
}

static vq_status errno_status(int e)
{
  switch (e) {
  case EADDRINUSE:
    return VQ_ERR_ADDR_IN_USE;
  case EADDRNOTAVAIL:
  case EAFNOSUPPORT:
  case EPROTONOSUPPORT:
    return VQ_ERR_ADDR_UNAVAILABLE;
  case EMSGSIZE:
    return VQ_ERR_MSG_SIZE;
  default:
    return VQ_ERR_SYSCALL;
  }
}

/* Options that depend on the family: ECN and destination address on receive, don't-fragment. */
static void set_family_options(vq_posix_sock *s, unsigned flags)
{
  int fd = s->fd;
  int v4 = s->info.family == AF_INET || s->info.dual_stack;
  int v6 = s->info.family == AF_INET6;
  int ok_ecn = 1, ok_pi = 1, ok_df = 1;
  /* spec: rfc9000#13.4 — ECN needs the ECN field of each received datagram: the kernel hands the
   * TOS byte (IPv4) / Traffic Class (IPv6) over as ancillary data when asked. */
  if (!(flags & VQ_POSIX_NO_ECN)) {
    if (v4 && setopt(fd, IPPROTO_IP, IP_RECVTOS, 1) != 0) ok_ecn = 0;
    if (v6 && setopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1) != 0) ok_ecn = 0;
    s->info.ecn_rx = ok_ecn;
  }
  if (!(flags & VQ_POSIX_NO_PKTINFO)) {
    if (v4 && setopt(fd, IPPROTO_IP, IP_PKTINFO, 1) != 0) ok_pi = 0;
    if (v6 && setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) != 0) ok_pi = 0;
    s->info.pktinfo = ok_pi;
  }
  /* spec: rfc9000#14/2 — UDP datagrams are not fragmented at the IP layer; spec: rfc9000#14/3 — the
   * DF bit is set. PMTUDISC_PROBE sets DF and never fragments locally, yet ignores the kernel's path
   * MTU cache, so that the connection's own probes (rfc9000#14.3, DPLPMTUD) decide the datagram size;
   * a datagram over the interface MTU fails with EMSGSIZE (VQ_ERR_MSG_SIZE). */
  if (v4 && setopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE) != 0) ok_df = 0;
  if (v6) {
    if (setopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE) != 0) ok_df = 0;
    if (setopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 1) != 0) ok_df = 0;
  }
  s->info.dont_fragment = ok_df;
}

static vq_status alloc_rx(vq_posix_sock *s)
{
  size_t n = s->rx_batch;
  size_t o_iov = n * sizeof(struct mmsghdr);
  size_t o_names = o_iov + n * sizeof(struct iovec);
  o_names = (o_names + 15u) & ~(size_t)15u;
  size_t o_ctrl = o_names + n * sizeof(struct sockaddr_storage);
  o_ctrl = (o_ctrl + 15u) & ~(size_t)15u;
  s->rx_block_size = o_ctrl + n * RX_CTRL;
  uint8_t *b = vq_mem_calloc(s->mem, 1, s->rx_block_size);
  if (!b) return VQ_ERR_NOMEM;
  s->rx_block = b;
  s->rx_msgs = (struct mmsghdr *)(void *)b;
  s->rx_iov = (struct iovec *)(void *)(b + o_iov);
  s->rx_names = (struct sockaddr_storage *)(void *)(b + o_names);
  s->rx_ctrl = b + o_ctrl;
  s->rx_data = vq_mem_alloc(s->mem, n * s->rx_buf);
  if (!s->rx_data) return VQ_ERR_NOMEM;
  return VQ_OK;
}

vq_status vq_posix_sock_open(vq_posix_sock **out, vq_mem *mem, const vq_addr *bind_addr,
                             const vq_posix_config *cfg)
{
  const vq_posix_config zero = {0};
  if (!out) return VQ_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!mem || !bind_addr) return VQ_ERR_INVALID_ARGUMENT;
  if (!cfg) cfg = &zero;
  int family = vq_addr_family(bind_addr);
  if (family != AF_INET && family != AF_INET6) return VQ_ERR_INVALID_ARGUMENT;

  vq_posix_sock *s = vq_mem_calloc(mem, 1, sizeof *s);
  if (!s) return VQ_ERR_NOMEM;
  s->mem = mem;
  s->info.family = family;
  vq_status st;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  s->fd = fd;
  if (fd < 0) {
    st = errno_status(errno);
    goto fail;
  }
  if (!(cfg->flags & VQ_POSIX_EXCLUSIVE)) (void)setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&bind_addr->ss;
    if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) && setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) == 0)
      s->info.dual_stack = 1;
  }
  s->info.rcvbuf = size_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, cfg->rcvbuf > 0 ? cfg->rcvbuf
                                                                            : SOCK_BUF_DEFAULT);
  s->info.sndbuf = size_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, cfg->sndbuf > 0 ? cfg->sndbuf
                                                                            : SOCK_BUF_DEFAULT);
  set_family_options(s, cfg->flags);
  if (!(cfg->flags & VQ_POSIX_NO_GRO) && setopt(fd, SOL_UDP, UDP_GRO, 1) == 0) s->info.gro = 1;
  if (!(cfg->flags & VQ_POSIX_NO_GSO)) {
    int v;
    /* The kernel knows UDP_SEGMENT (4.18+) when it can read it back. */
    if (getopt_int(fd, SOL_UDP, UDP_SEGMENT, &v) == 0) s->info.gso = 1;
  }
  if (bind(fd, (const struct sockaddr *)(const void *)&bind_addr->ss, bind_addr->len) != 0) {
    st = errno_status(errno);
    goto fail;
  }
  {
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)(void *)&ss, &l) != 0) {
      st = VQ_ERR_SYSCALL;
      goto fail;
    }
    (void)vq_addr_from_sockaddr(&s->local, (const struct sockaddr *)(const void *)&ss, l);
  }
  s->rx_batch = cfg->rx_batch ? cfg->rx_batch : RX_BATCH_DEFAULT;
  if (s->rx_batch > RX_BATCH_MAX) s->rx_batch = RX_BATCH_MAX;
  s->rx_buf = cfg->rx_buf ? cfg->rx_buf : RX_BUF_DEFAULT;
  if (s->rx_buf < RX_BUF_MIN) s->rx_buf = RX_BUF_MIN;
  /* A GRO train is up to 64 KiB: a smaller buffer would truncate it and lose datagrams. */
  if (s->info.gro && s->rx_buf < RX_BUF_DEFAULT) s->rx_buf = RX_BUF_DEFAULT;
  st = alloc_rx(s);
  if (st != VQ_OK) goto fail;
  *out = s;
  return VQ_OK;
fail:
  sock_free(s);
  return st;
}

int vq_posix_sock_fd(const vq_posix_sock *s) { return s->fd; }
const vq_addr *vq_posix_sock_local(const vq_posix_sock *s) { return &s->local; }
const vq_posix_info *vq_posix_sock_info(const vq_posix_sock *s) { return &s->info; }
const vq_posix_stats *vq_posix_sock_stats(const vq_posix_sock *s) { return &s->stats; }

void vq_posix_sock_close(vq_posix_sock *s)
{
  if (!s) return;
  if (s->loop) (void)vq_posix_loop_remove(s->loop, s);
  sock_free(s);
}

/* ---- receive ------------------------------------------------------------------------------------ */

/* Reads the ancillary data of message i: segment size (GRO), ECN, destination address. */
static void parse_rx_meta(vq_posix_sock *s, unsigned i)
{
  struct msghdr *m = &s->rx_msgs[i].msg_hdr;
  size_t len = s->rx_msgs[i].msg_len;
  s->cur_seg = len;
  s->cur_ecn = VQ_ECN_NOT_ECT;
  memset(&s->cur_local, 0, sizeof s->cur_local);
  (void)vq_addr_from_sockaddr(&s->cur_peer, (const struct sockaddr *)(const void *)m->msg_name,
                              m->msg_namelen);
  unmap_v4(&s->cur_peer);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    const unsigned char *d = CMSG_DATA(c);
    size_t dl = c->cmsg_len - CMSG_LEN(0);
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && dl >= sizeof(int)) {
      int seg;
      memcpy(&seg, d, sizeof seg);
      if (seg > 0 && (size_t)seg < len) s->cur_seg = (size_t)seg;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && dl >= 1) {
      s->cur_ecn = d[0] & 3u; /* IP_RECVTOS delivers the TOS byte itself */
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS && dl >= sizeof(int)) {
      int tc;
      memcpy(&tc, d, sizeof tc);
      s->cur_ecn = (uint8_t)(tc & 3);
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
               dl >= sizeof(struct in_pktinfo)) {
      struct in_pktinfo pi;
      struct sockaddr_in a;
      memcpy(&pi, d, sizeof pi);
      memset(&a, 0, sizeof a);
      a.sin_family = AF_INET;
      a.sin_port = htons(vq_addr_port(&s->local));
      a.sin_addr = pi.ipi_addr;
      (void)vq_addr_from_sockaddr(&s->cur_local, (const struct sockaddr *)(const void *)&a, sizeof a);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               dl >= sizeof(struct in6_pktinfo)) {
      struct in6_pktinfo pi;
      struct sockaddr_in6 a;
      memcpy(&pi, d, sizeof pi);
      memset(&a, 0, sizeof a);
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(vq_addr_port(&s->local));
      a.sin6_addr = pi.ipi6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr)) a.sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
      (void)vq_addr_from_sockaddr(&s->cur_local, (const struct sockaddr *)(const void *)&a, sizeof a);
      unmap_v4(&s->cur_local);
    }
  }
  if (s->cur_seg < len) s->stats.rx_gro_batches++;
  s->cur_valid = 1;
}

static int rx_read(vq_posix_sock *s)
{
  for (unsigned i = 0; i < s->rx_batch; i++) {
    struct msghdr *m = &s->rx_msgs[i].msg_hdr;
    s->rx_iov[i].iov_base = s->rx_data + (size_t)i * s->rx_buf;
    s->rx_iov[i].iov_len = s->rx_buf;
    m->msg_name = &s->rx_names[i];
    m->msg_namelen = sizeof s->rx_names[i];
    m->msg_iov = &s->rx_iov[i];
    m->msg_iovlen = 1;
    m->msg_control = s->rx_ctrl + (size_t)i * RX_CTRL;
    m->msg_controllen = RX_CTRL;
    m->msg_flags = 0;
    s->rx_msgs[i].msg_len = 0;
  }
  int r;
  do {
    r = recvmmsg(s->fd, s->rx_msgs, s->rx_batch, 0, NULL);
  } while (r < 0 && errno == EINTR);
  return r;
}

int vq_posix_recv_drained(const vq_posix_sock *s)
{
  return s->rx_next >= s->rx_count && s->rx_short;
}

vq_status vq_posix_recv(vq_posix_sock *s, vq_posix_rx *out, size_t n, size_t *got)
{
  size_t k = 0;
  *got = 0;
  while (k < n) {
    if (s->rx_next >= s->rx_count) {
      /* Datagrams handed out in this call point into the buffers: read again only when none is. */
      if (k > 0) break;
      int r = rx_read(s);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return VQ_ERR_SYSCALL;
      }
      if (r == 0) break;
      s->rx_count = (unsigned)r;
      s->rx_short = (unsigned)r < s->rx_batch;
      s->rx_next = 0;
      s->rx_off = 0;
      s->cur_valid = 0;
      s->rx_at = vq_posix_now();
      s->stats.rx_syscalls++;
    }
    unsigned i = s->rx_next;
    if (!s->cur_valid) {
      if (s->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        s->stats.rx_truncated++;
        s->rx_next++;
        continue;
      }
      parse_rx_meta(s, i);
    }
    size_t len = s->rx_msgs[i].msg_len;
    size_t l = len - s->rx_off;
    if (l > s->cur_seg) l = s->cur_seg;
    vq_posix_rx *o = &out[k++];
    o->data = s->rx_data + (size_t)i * s->rx_buf + s->rx_off;
    o->len = l;
    o->peer = s->cur_peer;
    o->local = s->cur_local;
    o->ecn = s->cur_ecn;
    o->at = s->rx_at;
    s->stats.rx_datagrams++;
    s->stats.rx_bytes += l;
    if (s->cur_ecn == VQ_ECN_CE) s->stats.rx_ce++;
    s->rx_off += l;
    if (s->rx_off >= len) { /* also ends an empty datagram, which counts as one */
      s->rx_next++;
      s->rx_off = 0;
      s->cur_valid = 0;
    }
  }
  *got = k;
  return VQ_OK;
}

/* ---- send --------------------------------------------------------------------------------------- */

static int same_addr(const vq_addr *a, const vq_addr *b)
{
  if (a == b) return 1;
  if (!a || !b) return (!a || a->len == 0) && (!b || b->len == 0);
  return vq_addr_equal(a, b);
}

static struct cmsghdr *put_cmsg(uint8_t *ctrl, size_t *off, int level, int type, const void *v,
                                size_t len)
{
  struct cmsghdr *c = (struct cmsghdr *)(void *)(ctrl + *off);
  memset(c, 0, CMSG_SPACE(len));
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(len);
  memcpy(CMSG_DATA(c), v, len);
  *off += CMSG_SPACE(len);
  return c;
}

/* Fills message k with datagrams batch[0..cnt) (one GSO train when cnt > 1). */
static void build_msg(vq_posix_sock *s, unsigned k, unsigned iov0, const vq_posix_tx *batch,
                      unsigned cnt)
{
  struct msghdr *m = &s->tx_msgs[k].msg_hdr;
  const vq_posix_tx *h = &batch[0];
  uint8_t *ctrl = (uint8_t *)(void *)s->tx_ctrl[k];
  size_t off = 0;
  int peer_v4 = vq_addr_family(h->peer) == AF_INET;
  memset(m, 0, sizeof *m);
  if (peer_v4 && s->info.family == AF_INET6) {
    map_v4(h->peer, &s->tx_names[k]);
    m->msg_name = &s->tx_names[k];
    m->msg_namelen = sizeof s->tx_names[k];
  } else {
    m->msg_name = (void *)&h->peer->ss;
    m->msg_namelen = h->peer->len;
  }
  for (unsigned j = 0; j < cnt; j++) {
    s->tx_iov[iov0 + j].iov_base = (void *)batch[j].data;
    s->tx_iov[iov0 + j].iov_len = batch[j].len;
  }
  m->msg_iov = &s->tx_iov[iov0];
  m->msg_iovlen = cnt;
  /* spec: rfc9000#13.4 — the ECN codepoint of each datagram goes in the IP header the kernel builds */
  if (h->ecn & 3u) {
    int tos = h->ecn & 3;
    if (peer_v4)
      (void)put_cmsg(ctrl, &off, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    else
      (void)put_cmsg(ctrl, &off, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
  }
  if (cnt > 1) {
    uint16_t seg = (uint16_t)h->len;
    (void)put_cmsg(ctrl, &off, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
  }
  if (h->local && h->local->len) {
    if (vq_addr_family(h->local) == AF_INET) {
      struct in_pktinfo pi;
      memset(&pi, 0, sizeof pi);
      pi.ipi_spec_dst = ((const struct sockaddr_in *)(const void *)&h->local->ss)->sin_addr;
      (void)put_cmsg(ctrl, &off, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
    } else {
      const struct sockaddr_in6 *l6 = (const struct sockaddr_in6 *)(const void *)&h->local->ss;
      struct in6_pktinfo pi;
      memset(&pi, 0, sizeof pi);
      pi.ipi6_addr = l6->sin6_addr;
      pi.ipi6_ifindex = l6->sin6_scope_id;
      (void)put_cmsg(ctrl, &off, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi);
    }
  }
  m->msg_control = off ? ctrl : NULL;
  m->msg_controllen = off;
  s->tx_nd[k] = cnt;
}

/* How many datagrams from b[0..n) make one train: same peer, local and ECN, the same length (the last
 * may be shorter), at most GSO_MAX_SEGS and UDP_MAX_PAYLOAD bytes. */
static unsigned train_len(const vq_posix_tx *b, size_t n, unsigned max)
{
  size_t seg = b[0].len, tot = seg;
  unsigned cnt = 1;
  if (seg == 0) return 1;
  while (cnt < n && cnt < max && cnt < GSO_MAX_SEGS) {
    const vq_posix_tx *d = &b[cnt];
    if (d->len == 0 || d->len > seg || d->ecn != b[0].ecn || !same_addr(d->peer, b[0].peer) ||
        !same_addr(d->local, b[0].local) || tot + d->len > UDP_MAX_PAYLOAD)
      break;
    cnt++;
    tot += d->len;
    if (d->len < seg) break;
  }
  return cnt;
}

static void want_writable(vq_posix_sock *s, int on);

vq_status vq_posix_send(vq_posix_sock *s, const vq_posix_tx *batch, size_t n, size_t *sent)
{
  size_t done = 0;
  int use_gso = s->info.gso;
  int gso_suspect = 0; /* the kernel refused a train: is it GSO or the datagrams? */
  *sent = 0;
  for (size_t i = 0; i < n; i++) {
    const vq_posix_tx *d = &batch[i];
    if (!d->peer || d->len > UDP_MAX_PAYLOAD || (d->len && !d->data)) return VQ_ERR_INVALID_ARGUMENT;
    int pf = vq_addr_family(d->peer);
    if (pf != AF_INET && pf != AF_INET6) return VQ_ERR_INVALID_ARGUMENT;
    if (pf == AF_INET6 && s->info.family == AF_INET) return VQ_ERR_INVALID_ARGUMENT;
  }
  while (done < n) {
    unsigned nm = 0, niov = 0;
    size_t i = done;
    while (i < n && nm < TXQ && niov < TXIOV) {
      unsigned cnt = use_gso ? train_len(&batch[i], n - i, TXIOV - niov) : 1;
      build_msg(s, nm, niov, &batch[i], cnt);
      nm++;
      niov += cnt;
      i += cnt;
    }
    int r = sendmmsg(s->fd, s->tx_msgs, nm, 0);
    if (r > 0) {
      s->stats.tx_syscalls++;
      for (int k = 0; k < r; k++) {
        const struct msghdr *m = &s->tx_msgs[k].msg_hdr;
        for (size_t j = 0; j < m->msg_iovlen; j++) s->stats.tx_bytes += m->msg_iov[j].iov_len;
        s->stats.tx_datagrams += s->tx_nd[k];
        if (s->tx_nd[k] > 1) s->stats.tx_gso_batches++;
        done += s->tx_nd[k];
      }
      if (gso_suspect) {
        /* The same datagrams went out one by one: the kernel or the device cannot do GSO. */
        s->info.gso = 0;
        s->stats.tx_gso_fallbacks++;
        gso_suspect = 0;
      }
      continue;
    }
    int e = errno;
    if (r < 0 && e == EINTR) continue;
    if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK)) {
      s->stats.tx_eagain++;
      want_writable(s, 1);
      break;
    }
    if (r < 0 && (e == EIO || e == EINVAL) && s->tx_nd[0] > 1) {
      /* EIO: no checksum offload for GSO; EINVAL: segment over the MTU or GSO refused. Retry without
       * GSO; if that works, GSO is off for good. */
      use_gso = 0;
      gso_suspect = 1;
      continue;
    }
    s->stats.tx_errors++;
    *sent = done;
    errno = e;
    return errno_status(e);
  }
  *sent = done;
  return VQ_OK;
}

/* ---- loop --------------------------------------------------------------------------------------- */

static void want_writable(vq_posix_sock *s, int on)
{
  if (!s->loop || s->want_out == on) return;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.ptr = s;
  if (epoll_ctl(s->loop->ep, EPOLL_CTL_MOD, s->fd, &ev) == 0) s->want_out = on;
}

static int ep_add(int ep, int fd, void *tag)
{
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.ptr = tag;
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void loop_free(vq_posix_loop *l)
{
  int saved = errno;
  if (l->ep >= 0) (void)close(l->ep);
  if (l->tfd >= 0) (void)close(l->tfd);
  if (l->efd >= 0) (void)close(l->efd);
  if (l->sfd >= 0) (void)close(l->sfd);
  if (l->masked) (void)pthread_sigmask(SIG_SETMASK, &l->oldmask, NULL);
  vq_mem_free(l->mem, l, sizeof *l);
  errno = saved;
}

vq_status vq_posix_loop_open(vq_posix_loop **out, vq_mem *mem, unsigned flags)
{
  if (!out) return VQ_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!mem) return VQ_ERR_INVALID_ARGUMENT;
  vq_posix_loop *l = vq_mem_calloc(mem, 1, sizeof *l);
  if (!l) return VQ_ERR_NOMEM;
  l->mem = mem;
  l->tfd = l->efd = l->sfd = -1;
  l->armed = VQ_TIME_NEVER;
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  if (l->ep < 0) goto fail;
  l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (l->tfd < 0 || ep_add(l->ep, l->tfd, &l->tfd) != 0) goto fail;
  l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l->efd < 0 || ep_add(l->ep, l->efd, &l->efd) != 0) goto fail;
  if (flags & VQ_POSIX_LOOP_SIGNALS) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, &l->oldmask) != 0) goto fail;
    l->masked = 1;
    l->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (l->sfd < 0 || ep_add(l->ep, l->sfd, &l->sfd) != 0) goto fail;
  }
  *out = l;
  return VQ_OK;
fail:
  loop_free(l);
  return VQ_ERR_SYSCALL;
}

void vq_posix_loop_close(vq_posix_loop *l)
{
  if (!l) return;
  for (vq_posix_sock *s = l->socks, *next; s; s = next) {
    next = s->loop_next;
    s->loop = NULL;
    s->loop_next = NULL;
    s->want_out = 0;
  }
  loop_free(l);
}

vq_status vq_posix_loop_add(vq_posix_loop *l, vq_posix_sock *s)
{
  if (!l || !s || s->loop) return VQ_ERR_INVALID_ARGUMENT;
  if (ep_add(l->ep, s->fd, s) != 0) return VQ_ERR_SYSCALL;
  s->loop = l;
  s->want_out = 0;
  s->loop_next = l->socks;
  l->socks = s;
  return VQ_OK;
}

vq_status vq_posix_loop_remove(vq_posix_loop *l, vq_posix_sock *s)
{
  if (!l || !s || s->loop != l) return VQ_ERR_INVALID_ARGUMENT;
  for (vq_posix_sock **p = &l->socks; *p; p = &(*p)->loop_next) {
    if (*p == s) {
      *p = s->loop_next;
      break;
    }
  }
  (void)epoll_ctl(l->ep, EPOLL_CTL_DEL, s->fd, NULL);
  s->loop = NULL;
  s->loop_next = NULL;
  s->want_out = 0;
  return VQ_OK;
}

void vq_posix_loop_wake(vq_posix_loop *l)
{
  uint64_t one = 1;
  ssize_t r = write(l->efd, &one, sizeof one);
  (void)r; /* EAGAIN: the counter is saturated, a wake-up is pending anyway */
}

/* Sets the timerfd to fire at deadline. timerfd_settime is costly (it reprograms a hardware timer; in
 * a VM each call exits to the hypervisor — it was 38 % of a bulk-sending server's CPU when called
 * before every wait), so vq_posix_wait only calls this when it is about to block and the timer is
 * not already set at or before the deadline. */
static vq_status arm_timer(vq_posix_loop *l, vq_time deadline)
{
  if (deadline == l->armed) return VQ_OK;
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (deadline != VQ_TIME_NEVER) {
    its.it_value.tv_sec = (time_t)(deadline / 1000000000u);
    its.it_value.tv_nsec = (long)(deadline % 1000000000u);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  }
  if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) return VQ_ERR_SYSCALL;
  l->armed = deadline;
  return VQ_OK;
}

static void drain_fd(int fd, size_t unit)
{
  uint8_t buf[128]; /* a signalfd_siginfo (128 bytes) or a timerfd/eventfd counter (8) */
  while (read(fd, buf, unit) == (ssize_t)unit) {
  }
}

vq_status vq_posix_wait(vq_posix_loop *l, vq_time deadline, const vq_cancel *cancel,
                        vq_posix_events *ev)
{
  memset(ev, 0, sizeof *ev);
  if (cancel && vq_cancel_is_set(cancel)) return VQ_ECANCELED;
  int polled = 0;
  for (;;) {
    int tmo = -1;
    if (deadline != VQ_TIME_NEVER && vq_posix_now() >= deadline)
      tmo = 0;
    else if (!polled)
      tmo = 0; /* first look without blocking: a busy loop finds events ready and never arms */
    else if (cancel)
      tmo = WAIT_SLICE_MS;
    /* About to block: the timer must fire no later than the deadline. One set earlier (for an
     * earlier deadline) is kept: it wakes this loop early, which then re-arms. */
    if (tmo != 0 && deadline < l->armed && arm_timer(l, deadline) != VQ_OK) return VQ_ERR_SYSCALL;
    polled = 1;
    struct epoll_event evs[VQ_POSIX_MAX_EVENTS + 3];
    int r = epoll_wait(l->ep, evs, (int)(sizeof evs / sizeof evs[0]), tmo);
    if (r < 0 && errno != EINTR) return VQ_ERR_SYSCALL;
    for (int i = 0; i < r; i++) {
      void *tag = evs[i].data.ptr;
      if (tag == &l->tfd) {
        drain_fd(l->tfd, sizeof(uint64_t));
        l->armed = VQ_TIME_NEVER - 1; /* fired: re-arm on the next call whatever its deadline */
      } else if (tag == &l->efd) {
        drain_fd(l->efd, sizeof(uint64_t));
        ev->woken = 1;
      } else if (tag == &l->sfd) {
        struct signalfd_siginfo si;
        while (read(l->sfd, &si, sizeof si) == (ssize_t)sizeof si) ev->signalled = (int)si.ssi_signo;
      } else if (ev->n < VQ_POSIX_MAX_EVENTS) {
        vq_posix_sock *s = tag;
        unsigned k = ev->n++;
        ev->ev[k].sock = s;
        ev->ev[k].readable = (evs[i].events & EPOLLIN) != 0;
        ev->ev[k].writable = (evs[i].events & EPOLLOUT) != 0;
        ev->ev[k].error = (evs[i].events & (EPOLLERR | EPOLLHUP)) != 0;
        if (ev->ev[k].writable) want_writable(s, 0);
      }
    }
    if (cancel && vq_cancel_is_set(cancel)) {
      memset(ev, 0, sizeof *ev);
      return VQ_ECANCELED;
    }
    if (deadline != VQ_TIME_NEVER && vq_posix_now() >= deadline) ev->timeout = 1;
    if (ev->n || ev->timeout || ev->signalled || ev->woken) return VQ_OK;
  }
}
