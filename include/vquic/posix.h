/* vquic — the POSIX (Linux) UDP driver: addresses, the clock, a UDP socket with batched I/O
 * (recvmmsg/sendmmsg, UDP GRO/GSO, ECN, don't-fragment) and an event loop helper (epoll, timerfd,
 * signalfd, cancellation).
 *
 * This is the I/O half that the sans-I/O core leaves to drivers (DESIGN.md, principle 1): programs read
 * the time and move datagrams through it and hand them to the connection. Everything Linux-specific
 * stays behind this header. There is no global mutable state: every object is allocated from the
 * caller's vq_mem and owned by the caller; one object is used by one thread at a time, except
 * vq_posix_loop_wake(), which any thread (or a signal handler) may call.
 *
 * Failures are vq_status values; VQ_ERR_SYSCALL leaves the cause in errno. */
#ifndef VQUIC_POSIX_H
#define VQUIC_POSIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vquic/error.h"
#include "vquic/rt.h"

/* ---- addresses ---------------------------------------------------------------------------------- */

/* A socket address (IPv4 or IPv6) and its length. Only the family, address, port and (IPv6) scope
 * count for vq_addr_equal / vq_addr_hash, never the padding of the storage. */
typedef struct vq_addr {
  struct sockaddr_storage ss;
  socklen_t len;  /* 0: no address */
} vq_addr;

/* Room for any vq_addr_format result: "[" INET6 "%" scope "]:" port NUL. */
#define VQ_ADDR_STRLEN 72

/* Parses "host:port": "127.0.0.1:4433", "[::1]:4433", "localhost:4433". The port is decimal
 * 0..65535 (0: any, for binding); a bracketed host must be an IPv6 literal; a host name is looked up
 * with getaddrinfo and the first result is taken. An unbracketed IPv6 literal ("::1:4433") is
 * refused as ambiguous. VQ_ERR_ADDR_SYNTAX for malformed text, VQ_ERR_ADDR_RESOLVE when the host
 * does not resolve. */
vq_status vq_addr_parse(vq_addr *out, const char *text);
/* The same restricted to one family: AF_INET, AF_INET6 or AF_UNSPEC (= vq_addr_parse). */
vq_status vq_addr_parse_family(vq_addr *out, const char *text, int family);
/* Copies a sockaddr (AF_INET or AF_INET6); VQ_ERR_ADDR_SYNTAX for another family or a short len. */
vq_status vq_addr_from_sockaddr(vq_addr *out, const struct sockaddr *sa, socklen_t len);
/* "127.0.0.1:4433" or "[::1]:4433" (with "%scope" for a scoped IPv6 address), NUL-terminated;
 * VQ_ERR_BUFFER_TOO_SMALL (out set to "") when cap is short, VQ_ERR_ADDR_SYNTAX for an empty addr. */
vq_status vq_addr_format(const vq_addr *a, char *out, size_t cap);
/* 1 when both have the same family, address, port and scope; 0 otherwise. */
int vq_addr_equal(const vq_addr *a, const vq_addr *b);
/* A stable 64-bit hash of what vq_addr_equal compares, mixed with seed: equal addresses hash equal
 * for equal seeds, on every run and machine. A server draws the seed at start to make collisions
 * harder to aim; the mix (splitmix64 rounds) is fast, not a keyed PRF such as SipHash. */
uint64_t vq_addr_hash(const vq_addr *a, uint64_t seed);
/* For vq_conn_config.addr_same_host (RFC 9000 §9.4: a port-only change keeps congestion control):
 * a and b are vq_addr structs (alen, blen == sizeof(vq_addr)); 1 when they have the same family,
 * address and scope, whatever their ports. */
int vq_posix_addr_same_host(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* For vq_endpoint_config.addr_host (RFC 9000 §8.1.3: a NEW_TOKEN token binds the client's host, not
 * its port): a is a vq_addr (alen == sizeof(vq_addr)); writes its family, address and scope to
 * out[0..cap) and returns their length (0 for anything else or a short cap). */
size_t vq_posix_addr_host(const uint8_t *a, size_t alen, uint8_t *out, size_t cap);
/* The port in host order (0 for an empty addr). */
uint16_t vq_addr_port(const vq_addr *a);
/* The address family (AF_INET, AF_INET6, or AF_UNSPEC for an empty addr). */
int vq_addr_family(const vq_addr *a);

/* ---- clock -------------------------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds: the epoch of every vq_time the driver hands out. */
vq_time vq_posix_now(void);

/* ---- ECN codepoints (the two low bits of the IPv4 TOS / IPv6 Traffic Class byte, RFC 3168) ------- */
#define VQ_ECN_NOT_ECT 0u
#define VQ_ECN_ECT1 1u
#define VQ_ECN_ECT0 2u
#define VQ_ECN_CE 3u

/* ---- UDP socket --------------------------------------------------------------------------------- */

typedef struct vq_posix_sock vq_posix_sock;

/* Switches for vq_posix_config.flags; the zero config turns everything on that the kernel has. */
#define VQ_POSIX_NO_GSO 0x1u      /* never send with UDP_SEGMENT */
#define VQ_POSIX_NO_GRO 0x2u      /* do not ask for UDP_GRO on receive */
#define VQ_POSIX_NO_ECN 0x4u      /* do not ask the kernel for TOS / Traffic Class on receive */
#define VQ_POSIX_NO_PKTINFO 0x8u  /* do not ask for the destination address of received datagrams */
#define VQ_POSIX_EXCLUSIVE 0x10u  /* no SO_REUSEADDR: on Linux two UDP sockets that both set it may
                                     bind the same address and port, and the second bind succeeds */

typedef struct vq_posix_config {
  unsigned flags;     /* VQ_POSIX_NO_* */
  int rcvbuf;         /* SO_RCVBUF wanted, bytes; 0: 8 MiB */
  int sndbuf;         /* SO_SNDBUF wanted, bytes; 0: 8 MiB */
  unsigned rx_batch;  /* messages per recvmmsg; 0: 16; at most 256 */
  size_t rx_buf;      /* bytes per received message; 0 or with GRO: 65536 (a datagram, or a GRO train,
                         longer than this is dropped and counted in rx_truncated) */
} vq_posix_config;

/* What the kernel granted, read back after set-up. */
typedef struct vq_posix_info {
  int family;         /* AF_INET or AF_INET6 */
  int dual_stack;     /* an IPv6 socket on "::" that also carries IPv4 (IPV6_V6ONLY off) */
  int rcvbuf;         /* SO_RCVBUF / SO_SNDBUF as getsockopt reports them (Linux reports twice the */
  int sndbuf;         /* payload space granted, for its bookkeeping) */
  int gso;            /* UDP_SEGMENT in use: cleared for good when the kernel refuses a GSO send */
  int gro;            /* UDP_GRO enabled on receive */
  int ecn_rx;         /* TOS / Traffic Class delivered with each datagram */
  int pktinfo;        /* local (destination) address delivered with each datagram */
  int dont_fragment;  /* IP(V6)_MTU_DISCOVER = PMTUDISC_PROBE set: DF on, no local fragmentation */
} vq_posix_info;

typedef struct vq_posix_stats {
  uint64_t rx_datagrams, rx_bytes;
  uint64_t rx_syscalls;      /* recvmmsg calls that returned messages */
  uint64_t rx_gro_batches;   /* received messages that GRO had coalesced from more than one datagram */
  uint64_t rx_truncated;     /* messages dropped because they did not fit rx_buf */
  uint64_t rx_ce;            /* datagrams received marked CE */
  uint64_t tx_datagrams, tx_bytes;
  uint64_t tx_syscalls;      /* sendmmsg calls that sent something */
  uint64_t tx_gso_batches;   /* messages sent as one UDP_SEGMENT train of more than one datagram */
  uint64_t tx_eagain;        /* sends stopped by a full socket buffer */
  uint64_t tx_gso_fallbacks; /* GSO turned off after the kernel refused it (EIO / EINVAL) */
  uint64_t tx_errors;        /* sends failed with another error */
} vq_posix_stats;

/* Opens a nonblocking UDP socket bound to *bind_addr (port 0: an ephemeral port; "0.0.0.0" or "::"
 * for any address — "::" also carries IPv4), with SO_REUSEADDR (unless VQ_POSIX_EXCLUSIVE), large
 * buffers, ECN and destination address on receive, don't-fragment, and GRO/GSO where the kernel has
 * them. cfg NULL: defaults. VQ_ERR_ADDR_UNAVAILABLE when the family or address does not exist here
 * (no IPv6), VQ_ERR_ADDR_IN_USE, VQ_ERR_NOMEM when mem refuses, VQ_ERR_SYSCALL otherwise (errno). */
vq_status vq_posix_sock_open(vq_posix_sock **out, vq_mem *mem, const vq_addr *bind_addr,
                             const vq_posix_config *cfg);
/* Closes the socket (removing it from its loop) and frees it; NULL is ignored. */
void vq_posix_sock_close(vq_posix_sock *s);
int vq_posix_sock_fd(const vq_posix_sock *s);
/* The address bound, with the port the kernel chose. */
const vq_addr *vq_posix_sock_local(const vq_posix_sock *s);
const vq_posix_info *vq_posix_sock_info(const vq_posix_sock *s);
const vq_posix_stats *vq_posix_sock_stats(const vq_posix_sock *s);

/* One received datagram. data points into the socket's buffers and stays valid until the next
 * vq_posix_recv or vq_posix_sock_close on that socket; it is writable so that packets can be
 * decrypted in place. IPv4 peers of a dual-stack socket are given as AF_INET, not ::ffff:a.b.c.d. */
typedef struct vq_posix_rx {
  uint8_t *data;
  size_t len;
  vq_addr peer;
  vq_addr local;  /* the destination address (and the socket's port); len 0 when unknown */
  uint8_t ecn;    /* VQ_ECN_*, VQ_ECN_NOT_ECT when the kernel gave no TOS */
  vq_time at;     /* vq_posix_now() when the batch was read */
} vq_posix_rx;

/* Receives up to n datagrams without blocking: *got = 0 when none is waiting. Datagrams that GRO
 * delivered as one buffer are split back into the datagrams the peer sent (each of the segment size,
 * the last possibly shorter); what does not fit in n is kept for the next call, which returns it
 * before reading the socket again. VQ_ERR_SYSCALL (errno) on a socket error; *got is then the
 * datagrams already filled. */
vq_status vq_posix_recv(vq_posix_sock *s, vq_posix_rx *out, size_t n, size_t *got);

/* 1 when the socket's queue was empty at the last read: every datagram read was handed out, and that
 * read (one recvmmsg) returned fewer messages than it asked for. A driver may then stop calling
 * vq_posix_recv until vq_posix_wait says the socket is readable (level triggered), saving the read
 * that would return nothing; 0 means more may be waiting. */
int vq_posix_recv_drained(const vq_posix_sock *s);

/* One datagram to send. The socket sends from its bound address unless local is set (a wildcard
 * server answering from the address the client used). peer and local may point to the same vq_addr
 * for many datagrams; consecutive datagrams with the same peer, local and ECN and the same length (the
 * last of a run may be shorter) go to the kernel as one GSO message. */
typedef struct vq_posix_tx {
  const uint8_t *data;
  size_t len;
  const vq_addr *peer;
  const vq_addr *local;  /* NULL: the kernel chooses */
  uint8_t ecn;           /* VQ_ECN_*: the codepoint to mark the datagram with */
} vq_posix_tx;

/* Sends batch[0..n) in order without blocking; *sent is how many left. VQ_OK with *sent < n when the
 * socket buffer is full (EAGAIN): retry from batch[*sent] when the loop reports the socket writable.
 * VQ_ERR_MSG_SIZE when batch[*sent] is larger than the path or interface allows (it is not sent and
 * may be dropped — a lost PMTU probe), VQ_ERR_SYSCALL (errno) for another failure of batch[*sent],
 * VQ_ERR_INVALID_ARGUMENT for a datagram without peer or longer than 65507 bytes. */
vq_status vq_posix_send(vq_posix_sock *s, const vq_posix_tx *batch, size_t n, size_t *sent);

/* ---- event loop --------------------------------------------------------------------------------- */

typedef struct vq_posix_loop vq_posix_loop;

#define VQ_POSIX_LOOP_SIGNALS 0x1u  /* deliver SIGINT and SIGTERM through the loop (see below) */
#define VQ_POSIX_MAX_EVENTS 16

/* Opens an epoll instance with a timer (timerfd on CLOCK_MONOTONIC, so deadlines are exact to the
 * nanosecond clock of vq_posix_now) and a wake-up eventfd. With VQ_POSIX_LOOP_SIGNALS it blocks SIGINT
 * and SIGTERM in the calling thread (open it before starting threads) and reads them through a
 * signalfd: vq_posix_wait reports them instead of the process ending, so the program can drain. The
 * previous signal mask is restored by vq_posix_loop_close. */
vq_status vq_posix_loop_open(vq_posix_loop **out, vq_mem *mem, unsigned flags);
/* Closes the loop (sockets stay open, detached) and frees it; NULL is ignored. */
void vq_posix_loop_close(vq_posix_loop *l);
/* Watches a socket for readability. When a send stops on EAGAIN, the socket also asks for
 * writability until the loop reports it writable once. A socket belongs to at most one loop. */
vq_status vq_posix_loop_add(vq_posix_loop *l, vq_posix_sock *s);
vq_status vq_posix_loop_remove(vq_posix_loop *l, vq_posix_sock *s);
/* Wakes a vq_posix_wait in progress (or the next one): async-signal-safe and thread-safe. */
void vq_posix_loop_wake(vq_posix_loop *l);

typedef struct vq_posix_events {
  unsigned n;  /* sockets with an event below */
  struct {
    vq_posix_sock *sock;
    uint8_t readable, writable, error;
  } ev[VQ_POSIX_MAX_EVENTS];
  int timeout;    /* the deadline has passed */
  int signalled;  /* the signal received (SIGINT or SIGTERM), 0 for none */
  int woken;      /* vq_posix_loop_wake was called */
} vq_posix_events;

/* Waits until a socket is ready, the absolute deadline passes (VQ_TIME_NEVER: no deadline), a signal
 * arrives or the loop is woken, and says which in *ev (more than one may be set). Readiness is level
 * triggered: a socket stays readable until vq_posix_recv returns 0. cancel (NULL: none) is checked
 * before waiting and after every wake-up: VQ_ECANCELED, with *ev cleared, as soon as it is set. A token
 * set by another thread is seen within 50 ms, at once if that thread also calls vq_posix_loop_wake.
 * VQ_ERR_SYSCALL (errno) if epoll fails. */
vq_status vq_posix_wait(vq_posix_loop *l, vq_time deadline, const vq_cancel *cancel,
                        vq_posix_events *ev);

#endif
