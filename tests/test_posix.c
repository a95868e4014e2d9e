/* vquic — tests of the POSIX UDP driver. Loopback only: every datagram goes to 127.0.0.1 or ::1. */
#define _GNU_SOURCE
#include "vqtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include "vquic/conn.h"
#include "vquic/dgram.h"
#include "vquic/ecn.h"
#include "vquic/endpoint.h"
#include "vquic/posix.h"
#include "vquic/tls.h"
#include "vquic/tp.h"

#define MAXD 256
#define DSIZE 2048

/* What a receiver got, copied out of the driver's buffers. */
typedef struct got_set {
  size_t n;
  size_t len[MAXD];
  uint8_t ecn[MAXD];
  vq_addr peer[MAXD];
  vq_addr local[MAXD];
  uint8_t data[MAXD][DSIZE];
} got_set;

static vq_mem *test_mem(void)
{
  static vq_mem m; /* the tests run one at a time, in one thread */
  static int ready;
  if (!ready) vq_mem_init(&m, vq_allocator_system(), NULL, (size_t)64 << 20);
  ready = 1;
  return &m;
}

static void fill(uint8_t *p, size_t len, unsigned i)
{
  for (size_t j = 0; j < len; j++) p[j] = (uint8_t)(i * 31u + j * 7u + (j >> 8));
  if (len >= 2) {
    p[0] = (uint8_t)i;
    p[1] = (uint8_t)(i >> 8);
  }
}

/* Receives until `want` datagrams arrived or 3 s passed, reading at most `chunk` per call. */
static void recv_n(vq_t *t, vq_posix_sock *s, got_set *g, size_t want, size_t chunk)
{
  vq_posix_loop *l = NULL;
  CHECK_EQ(vq_posix_loop_open(&l, test_mem(), 0), VQ_OK);
  if (!l) return;
  CHECK_EQ(vq_posix_loop_add(l, s), VQ_OK);
  vq_time end = vq_posix_now() + VQ_MS(3000);
  g->n = 0;
  while (g->n < want && vq_posix_now() < end) {
    vq_posix_rx rx[64];
    size_t got = 0;
    vq_status st = vq_posix_recv(s, rx, chunk < 64 ? chunk : 64, &got);
    CHECK_EQ(st, VQ_OK);
    if (st != VQ_OK) break;
    for (size_t i = 0; i < got && g->n < MAXD; i++) {
      size_t k = g->n++;
      g->len[k] = rx[i].len;
      g->ecn[k] = rx[i].ecn;
      g->peer[k] = rx[i].peer;
      g->local[k] = rx[i].local;
      memcpy(g->data[k], rx[i].data, rx[i].len < DSIZE ? rx[i].len : DSIZE);
    }
    if (got == 0) {
      vq_posix_events ev;
      CHECK_EQ(vq_posix_wait(l, end, NULL, &ev), VQ_OK);
    }
  }
  vq_posix_loop_close(l);
}

/* Datagram i of a test batch: its length. */
typedef size_t (*len_fn)(unsigned i);

static size_t len_mixed(unsigned i) { return 40u + (i * 37u) % 1400u; }
static size_t len_trains(unsigned i) { return i % 25u == 24u ? 700u : 1200u; }
static size_t len_const(unsigned i) { return (void)i, 1200u; }

/* Sends n datagrams (lengths from lf, content from fill) to `to` in one call, retrying on EAGAIN. */
static void send_n(vq_t *t, vq_posix_sock *s, const vq_addr *to, unsigned n, len_fn lf, uint8_t ecn)
{
  static uint8_t bufs[MAXD][DSIZE];
  vq_posix_tx tx[MAXD];
  for (unsigned i = 0; i < n; i++) {
    tx[i].len = lf(i);
    fill(bufs[i], tx[i].len, i);
    tx[i].data = bufs[i];
    tx[i].peer = to;
    tx[i].local = NULL;
    tx[i].ecn = ecn;
  }
  size_t done = 0;
  for (int tries = 0; done < n && tries < 1000; tries++) {
    size_t sent = 0;
    vq_status st = vq_posix_send(s, tx + done, n - done, &sent);
    CHECK_EQ(st, VQ_OK);
    if (st != VQ_OK) return;
    done += sent;
  }
  CHECK_EQ(done, n);
}

static void check_batch(vq_t *t, const got_set *g, unsigned n, len_fn lf, const vq_addr *from)
{
  CHECK_EQ(g->n, n);
  uint8_t seen[MAXD] = {0};
  static uint8_t want[DSIZE];
  for (size_t k = 0; k < g->n; k++) {
    unsigned i = (unsigned)g->data[k][0] | (unsigned)g->data[k][1] << 8;
    CHECK(i < n);
    if (i >= n) continue;
    CHECK(!seen[i]);
    seen[i] = 1;
    fill(want, lf(i), i);
    CHECK_MEM(g->data[k], g->len[k], want, lf(i));
    if (from) CHECK(vq_addr_equal(&g->peer[k], from));
  }
}

static vq_posix_sock *open_at(vq_t *t, const char *text, unsigned flags, vq_status *st_out)
{
  vq_addr a;
  vq_posix_config cfg = {0};
  vq_posix_sock *s = NULL;
  cfg.flags = flags;
  CHECK_EQ(vq_addr_parse(&a, text), VQ_OK);
  vq_status st = vq_posix_sock_open(&s, test_mem(), &a, &cfg);
  if (st_out)
    *st_out = st;
  else
    CHECK_EQ(st, VQ_OK);
  return s;
}

/* ---- addresses ---------------------------------------------------------------------------------- */

static void roundtrip(vq_t *t, const char *in, const char *out)
{
  vq_addr a;
  char buf[VQ_ADDR_STRLEN];
  CHECK_EQ(vq_addr_parse(&a, in), VQ_OK);
  CHECK_EQ(vq_addr_format(&a, buf, sizeof buf), VQ_OK);
  if (strcmp(buf, out) != 0) vq_fail(t, __FILE__, __LINE__, "%s formats as %s, not %s", in, buf, out);
}

VQ_TEST(posix_addr_parse_format)
{
  roundtrip(t, "127.0.0.1:4433", "127.0.0.1:4433");
  roundtrip(t, "0.0.0.0:0", "0.0.0.0:0");
  roundtrip(t, "[::1]:4433", "[::1]:4433");
  roundtrip(t, "[::]:65535", "[::]:65535");
  roundtrip(t, "[2001:db8:0:0:0:0:0:1]:443", "[2001:db8::1]:443");
  roundtrip(t, "127.0.0.1:00443", "127.0.0.1:443");

  vq_addr a, b;
  CHECK_EQ(vq_addr_parse(&a, "[::1]:4433"), VQ_OK);
  CHECK_EQ(vq_addr_family(&a), AF_INET6);
  CHECK_EQ(vq_addr_port(&a), 4433);
  /* localhost is in /etc/hosts: no query leaves the machine */
  CHECK_EQ(vq_addr_parse_family(&a, "localhost:4433", AF_INET), VQ_OK);
  CHECK_EQ(vq_addr_parse(&b, "127.0.0.1:4433"), VQ_OK);
  CHECK(vq_addr_equal(&a, &b));
  CHECK_EQ(vq_addr_parse(&a, "localhost:4433"), VQ_OK);
  CHECK_EQ(vq_addr_port(&a), 4433);

  static const char *const bad[] = {
    "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:44a3", "127.0.0.1:123456",
    "127.0.0.1:-1", "127.0.0.1:+1", "::1:4433", "[::1]4433", "[::1", "[::1]:", "[]:1", ":4433",
    "[127.0.0.1]:1", "[::1]:x", "local host:1", "[::1]]:1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    vq_status st = vq_addr_parse(&a, bad[i]);
    if (st != VQ_ERR_ADDR_SYNTAX)
      vq_fail(t, __FILE__, __LINE__, "\"%s\" parsed with status %d", bad[i], (int)st);
    CHECK_EQ(a.len, 0);
  }
  CHECK_EQ(vq_addr_parse(&a, NULL), VQ_ERR_ADDR_SYNTAX);
  CHECK_EQ(vq_addr_parse_family(&a, "[::1]:1", AF_INET), VQ_ERR_ADDR_SYNTAX);
  CHECK(strcmp(vq_status_reason(VQ_ERR_ADDR_SYNTAX), "address is not host:port") == 0);
  static const vq_status mine[] = {VQ_ERR_ADDR_SYNTAX, VQ_ERR_ADDR_RESOLVE, VQ_ERR_ADDR_UNAVAILABLE,
                                   VQ_ERR_ADDR_IN_USE, VQ_ERR_SYSCALL, VQ_ERR_MSG_SIZE};
  for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
    CHECK_EQ(vq_status_disposition(mine[i]), VQ_DISP_NONE);
    CHECK(strcmp(vq_status_reason(mine[i]), "unknown status") != 0);
  }

  /* formatting into a short buffer */
  char small[8];
  CHECK_EQ(vq_addr_parse(&a, "127.0.0.1:4433"), VQ_OK);
  CHECK_EQ(vq_addr_format(&a, small, sizeof small), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(small[0], 0);
  char exact[15];
  CHECK_EQ(vq_addr_format(&a, exact, sizeof exact), VQ_OK);
  memset(&b, 0, sizeof b);
  CHECK_EQ(vq_addr_format(&b, exact, sizeof exact), VQ_ERR_ADDR_SYNTAX);
}

VQ_TEST(posix_addr_equal_hash)
{
  vq_addr a, b, c, d, e;
  CHECK_EQ(vq_addr_parse(&a, "127.0.0.1:4433"), VQ_OK);
  CHECK_EQ(vq_addr_parse(&b, "127.0.0.1:4433"), VQ_OK);
  CHECK_EQ(vq_addr_parse(&c, "127.0.0.1:4434"), VQ_OK);
  CHECK_EQ(vq_addr_parse(&d, "127.0.0.2:4433"), VQ_OK);
  CHECK_EQ(vq_addr_parse(&e, "[::ffff:127.0.0.1]:4433"), VQ_OK);
  /* garbage in the storage padding does not count */
  memset((uint8_t *)&b.ss + b.len, 0xa5, sizeof b.ss - b.len);
  CHECK(vq_addr_equal(&a, &b));
  CHECK_EQ(vq_addr_hash(&a, 1), vq_addr_hash(&b, 1));
  CHECK(vq_addr_hash(&a, 1) != vq_addr_hash(&a, 2));
  CHECK(!vq_addr_equal(&a, &c));
  CHECK(!vq_addr_equal(&a, &d));
  CHECK(!vq_addr_equal(&a, &e));
  CHECK(vq_addr_hash(&a, 7) != vq_addr_hash(&c, 7));
  CHECK(vq_addr_hash(&a, 7) != vq_addr_hash(&d, 7));
  CHECK(vq_addr_hash(&a, 7) != vq_addr_hash(&e, 7));
  /* the hash is a function of the address alone: the same value on every run */
  CHECK_EQ(vq_addr_hash(&a, 0), vq_addr_hash(&b, 0));
  /* spread: 1000 ports fall into 64 buckets without a bucket over 3x its share */
  unsigned buckets[64] = {0}, worst = 0;
  for (unsigned p = 1; p <= 1000; p++) {
    char txt[32];
    snprintf(txt, sizeof txt, "10.0.0.1:%u", p);
    CHECK_EQ(vq_addr_parse(&c, txt), VQ_OK);
    unsigned k = (unsigned)(vq_addr_hash(&c, 42) & 63u);
    if (++buckets[k] > worst) worst = buckets[k];
  }
  CHECK(worst < 3 * 1000 / 64);
}

VQ_TEST(posix_clock)
{
  vq_time a = vq_posix_now(), b = vq_posix_now();
  CHECK(a > 0);
  CHECK(b >= a);
  struct timespec ts = {0, 2000000};
  nanosleep(&ts, NULL);
  CHECK(vq_posix_now() - a >= VQ_MS(2));
}

/* ---- sockets ------------------------------------------------------------------------------------ */

VQ_TEST(posix_socket_open)
{
  vq_posix_sock *s = open_at(t, "127.0.0.1:0", 0, NULL);
  if (!s) return;
  const vq_posix_info *in = vq_posix_sock_info(s);
  CHECK_EQ(in->family, AF_INET);
  CHECK(vq_addr_port(vq_posix_sock_local(s)) != 0);
  CHECK(in->rcvbuf > 0);
  CHECK(in->sndbuf > 0);
  CHECK(in->dont_fragment);
  /* spec: rfc9000#14/2, rfc9000#14/3 — DF set, never fragmented locally: PMTUDISC_PROBE */
  int pmtu = -1;
  socklen_t pl = sizeof pmtu;
  CHECK_EQ(getsockopt(vq_posix_sock_fd(s), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, &pl), 0);
  CHECK_EQ(pmtu, IP_PMTUDISC_PROBE);
  printf("posix: rcvbuf %d sndbuf %d gso %d gro %d ecn_rx %d pktinfo %d df %d\n", in->rcvbuf,
         in->sndbuf, in->gso, in->gro, in->ecn_rx, in->pktinfo, in->dont_fragment);

  /* the same port again while held: refused when either socket is exclusive (on Linux two UDP
   * sockets that both set SO_REUSEADDR may share a port) */
  vq_posix_sock *s2 = NULL;
  vq_posix_config ex = {0};
  ex.flags = VQ_POSIX_EXCLUSIVE;
  vq_status st = vq_posix_sock_open(&s2, test_mem(), vq_posix_sock_local(s), &ex);
  CHECK_EQ(st, VQ_ERR_ADDR_IN_USE);
  CHECK(s2 == NULL);
  vq_posix_sock_close(s);
  CHECK_EQ(vq_posix_sock_open(&s, test_mem(), NULL, NULL), VQ_ERR_INVALID_ARGUMENT);
  CHECK(s == NULL);
  CHECK_EQ(test_mem()->used, 0);

  /* the memory budget is honoured and nothing leaks when it refuses */
  vq_mem small;
  vq_mem_init(&small, vq_allocator_system(), NULL, 64 * 1024);
  vq_addr a;
  CHECK_EQ(vq_addr_parse(&a, "127.0.0.1:0"), VQ_OK);
  CHECK_EQ(vq_posix_sock_open(&s2, &small, &a, NULL), VQ_ERR_NOMEM);
  CHECK(s2 == NULL);
  CHECK_EQ(small.used, 0);
  vq_posix_config cfg = {0};
  cfg.flags = VQ_POSIX_NO_GRO;
  cfg.rx_batch = 4;
  cfg.rx_buf = 2048;
  CHECK_EQ(vq_posix_sock_open(&s2, &small, &a, &cfg), VQ_OK);
  CHECK(small.used > 0);
  vq_posix_sock_close(s2);
  CHECK_EQ(small.used, 0);
}

/* 100 datagrams of mixed sizes in one sendmmsg, read by recvmmsg, without GSO or GRO. */
VQ_TEST(posix_batch_plain)
{
  static got_set g;
  vq_posix_sock *tx = open_at(t, "127.0.0.1:0", VQ_POSIX_NO_GSO, NULL);
  vq_posix_sock *rx = open_at(t, "127.0.0.1:0", VQ_POSIX_NO_GRO, NULL);
  if (tx && rx) {
    send_n(t, tx, vq_posix_sock_local(rx), 100, len_mixed, VQ_ECN_NOT_ECT);
    recv_n(t, rx, &g, 100, 64);
    check_batch(t, &g, 100, len_mixed, vq_posix_sock_local(tx));
    for (size_t k = 0; k < g.n; k++) {
      CHECK_EQ(g.ecn[k], VQ_ECN_NOT_ECT);
      if (vq_posix_sock_info(rx)->pktinfo) CHECK(vq_addr_equal(&g.local[k], vq_posix_sock_local(rx)));
    }
    const vq_posix_stats *ts = vq_posix_sock_stats(tx), *rs = vq_posix_sock_stats(rx);
    CHECK_EQ(ts->tx_datagrams, 100);
    CHECK_EQ(ts->tx_gso_batches, 0);
    CHECK(ts->tx_syscalls >= 1 && ts->tx_syscalls <= 3);
    CHECK_EQ(rs->rx_datagrams, 100);
    CHECK_EQ(rs->rx_bytes, ts->tx_bytes);
    CHECK(rs->rx_syscalls < 100);
    CHECK_EQ(rs->rx_gro_batches, 0);
  }
  vq_posix_sock_close(tx);
  vq_posix_sock_close(rx);
  CHECK_EQ(test_mem()->used, 0);
}

/* GSO trains of 1200-byte datagrams (each 25th is 700 bytes and ends its train) arrive as the
 * datagrams sent, whether the receiver has GRO (driver splits) or not (kernel splits). */
static void gso_case(vq_t *t, const char *addr, int gro, len_fn lf, size_t chunk)
{
  static got_set g;
  vq_posix_sock *tx = open_at(t, addr, 0, NULL);
  vq_posix_sock *rx = open_at(t, addr, gro ? 0 : VQ_POSIX_NO_GRO, NULL);
  if (tx && rx) {
    if (!vq_posix_sock_info(tx)->gso) {
      printf("posix: note: UDP_SEGMENT (GSO) not supported here; sending without it\n");
    }
    send_n(t, tx, vq_posix_sock_local(rx), 100, lf, VQ_ECN_NOT_ECT);
    recv_n(t, rx, &g, 100, chunk);
    check_batch(t, &g, 100, lf, vq_posix_sock_local(tx));
    const vq_posix_stats *ts = vq_posix_sock_stats(tx), *rs = vq_posix_sock_stats(rx);
    CHECK_EQ(ts->tx_datagrams, 100);
    CHECK_EQ(rs->rx_datagrams, 100);
    if (vq_posix_sock_info(tx)->gso) {
      CHECK(ts->tx_gso_batches >= 2);
      CHECK(ts->tx_syscalls <= 2);
    }
    if (!vq_posix_sock_info(rx)->gro) CHECK_EQ(rs->rx_gro_batches, 0);
    /* On loopback a GSO train reaches a GRO socket whole: the driver must have split it. */
    if (vq_posix_sock_info(tx)->gso && vq_posix_sock_info(rx)->gro) CHECK(rs->rx_gro_batches > 0);
    if (gro && !vq_posix_sock_info(rx)->gro)
      printf("posix: note: UDP_GRO not supported here; receiving without it\n");
  }
  vq_posix_sock_close(tx);
  vq_posix_sock_close(rx);
  CHECK_EQ(test_mem()->used, 0);
}

/* A kernel that refuses GSO: with SO_NO_CHECK (no UDP checksum) Linux fails every UDP_SEGMENT send
 * with EINVAL, while single datagrams go. The driver resends them one by one and turns GSO off. */
VQ_TEST(posix_gso_fallback)
{
  static got_set g;
  vq_posix_sock *tx = open_at(t, "127.0.0.1:0", 0, NULL);
  vq_posix_sock *rx = open_at(t, "127.0.0.1:0", VQ_POSIX_NO_GRO, NULL);
  if (tx && rx && vq_posix_sock_info(tx)->gso) {
    int one = 1;
    if (setsockopt(vq_posix_sock_fd(tx), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one) != 0) {
      printf("posix: note: SO_NO_CHECK refused; GSO fallback test skipped\n");
    } else {
      send_n(t, tx, vq_posix_sock_local(rx), 100, len_trains, VQ_ECN_NOT_ECT);
      recv_n(t, rx, &g, 100, 64);
      check_batch(t, &g, 100, len_trains, vq_posix_sock_local(tx));
      const vq_posix_stats *ts = vq_posix_sock_stats(tx);
      CHECK_EQ(ts->tx_gso_fallbacks, 1);
      CHECK_EQ(ts->tx_gso_batches, 0);
      CHECK_EQ(ts->tx_datagrams, 100);
      CHECK_EQ(ts->tx_errors, 0);
      CHECK_EQ(vq_posix_sock_info(tx)->gso, 0);
    }
  }
  vq_posix_sock_close(tx);
  vq_posix_sock_close(rx);
  CHECK_EQ(test_mem()->used, 0);
}

VQ_TEST(posix_gso_no_gro) { gso_case(t, "127.0.0.1:0", 0, len_trains, 64); }
VQ_TEST(posix_gso_gro) { gso_case(t, "127.0.0.1:0", 1, len_trains, 64); }
/* trains split across calls: 7 datagrams per vq_posix_recv */
VQ_TEST(posix_gso_gro_small_reads) { gso_case(t, "127.0.0.1:0", 1, len_const, 7); }

/* Every datagram keeps its ECN codepoint from sender to receiver (spec: rfc9000#13.4: the connection
 * can only validate and report ECN if the driver gives it the marks). */
static void ecn_case(vq_t *t, const char *addr)
{
  static got_set g;
  vq_posix_sock *tx = open_at(t, addr, 0, NULL);
  vq_posix_sock *rx = open_at(t, addr, 0, NULL);
  if (tx && rx) {
    if (!vq_posix_sock_info(rx)->ecn_rx) {
      printf("posix: note: %s: the kernel does not deliver TOS; ECN test skipped\n", addr);
    } else {
      static const uint8_t marks[] = {VQ_ECN_ECT0, VQ_ECN_ECT1, VQ_ECN_NOT_ECT, VQ_ECN_CE};
      for (size_t m = 0; m < sizeof marks; m++) {
        send_n(t, tx, vq_posix_sock_local(rx), 20, len_const, marks[m]);
        recv_n(t, rx, &g, 20, 64);
        CHECK_EQ(g.n, 20);
        for (size_t k = 0; k < g.n; k++)
          if (g.ecn[k] != marks[m])
            vq_fail(t, __FILE__, __LINE__, "%s: sent ECN %u, received %u", addr, marks[m], g.ecn[k]);
      }
      CHECK_EQ(vq_posix_sock_stats(rx)->rx_ce, 20);
    }
  }
  vq_posix_sock_close(tx);
  vq_posix_sock_close(rx);
}

VQ_TEST(posix_ecn_v4) { ecn_case(t, "127.0.0.1:0"); }

/* A client connection and a server endpoint over two loopback sockets, the driver passing each
 * datagram's ECN codepoint both ways (vq_conn_send_ecn, vq_posix_tx.ecn, vq_posix_rx.ecn): the marks
 * the connection chose arrive, ECN is validated on both sides (spec: rfc9000#13.4.2), and datagrams
 * (RFC 9221) go back and forth. */
static void pc_flush(vq_posix_sock *s, vq_conn *c, const vq_cx *cx, const vq_addr *peer,
                     uint64_t *marked)
{
  uint8_t buf[1500];
  for (int k = 0; k < 200; k++) {
    size_t n = 0, sent = 0;
    uint8_t ecn = VQ_ECN_NOT_ECT;
    if (vq_conn_send_ecn(c, cx, buf, sizeof buf, &n, &ecn) != VQ_OK || n == 0) return;
    if (ecn == VQ_ECN_ECT0) (*marked)++;
    vq_posix_tx tx = {buf, n, peer, NULL, ecn};
    (void)vq_posix_send(s, &tx, 1, &sent);
  }
}

VQ_TEST(posix_conn_ecn_and_datagrams_loopback)
{
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)256 << 20);
  static const uint8_t alpn[] = {2, 'h', '3'};
  vq_tls_ctx_config scfg = {0};
  scfg.is_server = 1;
  scfg.selfsigned_name = "localhost";
  scfg.alpn = alpn;
  scfg.alpn_len = sizeof alpn;
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof alpn;
  char err[256];
  vq_tls_ctx *sctx = NULL, *cctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&sctx, &scfg, err, sizeof err), VQ_OK);
  CHECK_EQ(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof err), VQ_OK);
  vq_posix_sock *cs = open_at(t, "127.0.0.1:0", 0, NULL), *ss = open_at(t, "127.0.0.1:0", 0, NULL);
  vq_endpoint *ep = NULL;
  vq_conn *cli = NULL;
  vq_rng rng;
  vq_rng_seed(&rng, 7);
  vq_cx cx = {vq_posix_now(), NULL, NULL, &rng, NULL};
  if (sctx && cctx && cs && ss) {
    vq_endpoint_config ec = {0};
    ec.conn.is_server = 1;
    ec.conn.tls = sctx;
    ec.conn.max_datagram_frame_size = VQ_DGRAM_RECOMMENDED_MAX;
    CHECK_EQ(vq_endpoint_new(&ep, &root, &ec), VQ_OK);
    vq_conn_config cc = {0};
    cc.tls = cctx;
    cc.server_name = "localhost";
    cc.max_datagram_frame_size = VQ_DGRAM_RECOMMENDED_MAX;
    CHECK_EQ(vq_conn_new_client(&cli, &root, &cc, &cx), VQ_OK);
  }
  const vq_addr *sa = ss ? vq_posix_sock_local(ss) : NULL, *ca = cs ? vq_posix_sock_local(cs) : NULL;
  uint64_t cli_marked = 0, srv_marked = 0, echoed = 0, sent_dg = 0;
  uint64_t rx_ect0[2] = {0, 0};
  int hs = 0;
  vq_time end = vq_posix_now() + VQ_MS(3000), next_dg = 0;
  while (ep && cli && vq_posix_now() < end && echoed < 30) {
    cx.now = vq_posix_now();
    int busy = 0;
    vq_posix_rx rx[16];
    size_t got = 0;
    if (vq_posix_recv(cs, rx, 16, &got) == VQ_OK)
      for (size_t i = 0; i < got; i++) {
        busy = 1;
        rx_ect0[0] += rx[i].ecn == VQ_ECN_ECT0;
        (void)vq_conn_recv(cli, &cx, rx[i].data, rx[i].len, rx[i].ecn);
      }
    got = 0;
    if (vq_posix_recv(ss, rx, 16, &got) == VQ_OK)
      for (size_t i = 0; i < got; i++) {
        busy = 1;
        rx_ect0[1] += rx[i].ecn == VQ_ECN_ECT0;
        vq_endpoint_conn *e = NULL;
        int created = 0;
        uint8_t resp[1500];
        size_t rl = 0;
        (void)vq_endpoint_recv_ecn(ep, &cx, (const uint8_t *)&rx[i].peer, sizeof rx[i].peer,
                                   rx[i].data, rx[i].len, rx[i].ecn, &e, &created, resp,
                                   sizeof resp, &rl);
      }
    vq_endpoint_conn *se = vq_endpoint_next(ep, NULL);
    vq_conn *srv = se ? se->conn : NULL;
    vq_conn_event ev;
    while (vq_conn_poll_event(cli, &ev)) {
      if (ev.type == VQ_CONN_EV_HANDSHAKE_DONE) hs = 1;
      if (ev.type == VQ_CONN_EV_DATAGRAM) {
        uint8_t b[64];
        size_t n = 0;
        int g = 0;
        while (vq_conn_dgram_recv(cli, &cx, b, sizeof b, &n, &g) == VQ_OK && g) echoed++;
      }
    }
    while (srv && vq_conn_poll_event(srv, &ev)) {
      if (ev.type == VQ_CONN_EV_DATAGRAM) { /* echo */
        uint8_t b[64];
        size_t n = 0;
        int g = 0;
        while (vq_conn_dgram_recv(srv, &cx, b, sizeof b, &n, &g) == VQ_OK && g)
          (void)vq_conn_dgram_send(srv, &cx, b, n);
      }
    }
    if (hs && cx.now >= next_dg) {
      uint8_t d[32] = {1, 2, 3};
      if (vq_conn_dgram_send(cli, &cx, d, sizeof d) == VQ_OK) sent_dg++;
      next_dg = cx.now + VQ_MS(10);
    }
    if (vq_conn_next_timeout(cli) <= cx.now) (void)vq_conn_handle_timeout(cli, &cx);
    if (srv && vq_conn_next_timeout(srv) <= cx.now) (void)vq_conn_handle_timeout(srv, &cx);
    pc_flush(cs, cli, &cx, sa, &cli_marked);
    if (srv) pc_flush(ss, srv, &cx, ca, &srv_marked);
    if (!busy) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  }
  CHECK(hs);
  CHECK(echoed >= 30);
  vq_endpoint_conn *se = ep ? vq_endpoint_next(ep, NULL) : NULL;
  if (cli && se) {
    /* spec: rfc9000#14.3/1 — DPLPMTUD over loopback (DF set, rfc9000#14/3): both sides' probes up
     * to the default ceiling were acknowledged; the datagrams after them are 1472 bytes at most */
    vq_conn_stats c, s;
    vq_conn_get_stats(cli, &c);
    vq_conn_get_stats(se->conn, &s);
    CHECK_EQ(c.max_udp_payload, 1472);
    CHECK_EQ(s.max_udp_payload, 1472);
    CHECK_EQ(c.max_datagram_recv, 1472);
    CHECK_EQ(s.max_datagram_recv, 1472);
    CHECK_EQ(c.pmtu_probes_lost + s.pmtu_probes_lost, 0);
  }
  if (cli && se && ss && vq_posix_sock_info(ss)->ecn_rx && vq_posix_sock_info(cs)->ecn_rx) {
    vq_conn_stats c, s;
    vq_conn_get_stats(cli, &c);
    vq_conn_get_stats(se->conn, &s);
    /* the marks the connections chose arrived as such, were counted, reported and validated */
    CHECK(cli_marked > 0 && srv_marked > 0);
    CHECK_EQ(rx_ect0[1], cli_marked);
    CHECK_EQ(rx_ect0[0], srv_marked);
    CHECK(s.ecn_recv[VQ_ECN_ECT0] >= cli_marked);
    CHECK_EQ(c.ecn_state, VQ_ECN_CAPABLE);
    CHECK_EQ(s.ecn_state, VQ_ECN_CAPABLE);
    CHECK(c.ecn_acked_ect0 > 0);
    CHECK_EQ(c.ecn_recv[VQ_ECN_CE], 0);
  } else {
    printf("posix: note: the kernel does not deliver TOS; connection ECN checks skipped\n");
  }
  vq_conn_free(cli, NULL);
  vq_endpoint_free(ep);
  vq_posix_sock_close(cs);
  vq_posix_sock_close(ss);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
  CHECK_EQ(root.used, 0);
}

static int have_ipv6(vq_t *t)
{
  vq_status st;
  vq_posix_sock *s = open_at(t, "[::1]:0", 0, &st);
  vq_posix_sock_close(s);
  if (st == VQ_OK) return 1;
  printf("posix: note: ::1 not available (%s); IPv6 test skipped\n", vq_status_reason(st));
  CHECK_EQ(st, VQ_ERR_ADDR_UNAVAILABLE);
  return 0;
}

VQ_TEST(posix_ipv6)
{
  if (!have_ipv6(t)) return;
  {
    static got_set g;
    vq_posix_sock *tx = open_at(t, "[::1]:0", VQ_POSIX_NO_GSO, NULL);
    vq_posix_sock *rx = open_at(t, "[::1]:0", 0, NULL);
    if (tx && rx) {
      send_n(t, tx, vq_posix_sock_local(rx), 100, len_mixed, VQ_ECN_NOT_ECT);
      recv_n(t, rx, &g, 100, 64);
      check_batch(t, &g, 100, len_mixed, vq_posix_sock_local(tx));
      if (vq_posix_sock_info(rx)->pktinfo && g.n)
        CHECK(vq_addr_equal(&g.local[0], vq_posix_sock_local(rx)));
    }
    vq_posix_sock_close(tx);
    vq_posix_sock_close(rx);
  }
  gso_case(t, "[::1]:0", 0, len_trains, 64);
  gso_case(t, "[::1]:0", 1, len_trains, 64);
  ecn_case(t, "[::1]:0");
  CHECK_EQ(test_mem()->used, 0);
}

/* A socket on "::" also carries IPv4: its IPv4 peers show as AF_INET and answers reach them, with
 * their ECN marks both ways and from the address the client used. */
VQ_TEST(posix_dual_stack)
{
  static got_set g;
  vq_status st;
  vq_posix_sock *srv = open_at(t, "[::]:0", 0, &st);
  if (st != VQ_OK) {
    printf("posix: note: cannot bind [::] (%s); dual-stack test skipped\n", vq_status_reason(st));
    return;
  }
  vq_posix_sock *cli = open_at(t, "127.0.0.1:0", 0, NULL);
  CHECK(vq_posix_sock_info(srv)->dual_stack);
  vq_addr to;
  char txt[32];
  snprintf(txt, sizeof txt, "127.0.0.1:%u", (unsigned)vq_addr_port(vq_posix_sock_local(srv)));
  CHECK_EQ(vq_addr_parse(&to, txt), VQ_OK);
  if (cli) {
    send_n(t, cli, &to, 30, len_trains, VQ_ECN_ECT0);
    recv_n(t, srv, &g, 30, 64);
    check_batch(t, &g, 30, len_trains, vq_posix_sock_local(cli));
    CHECK_EQ(vq_addr_family(&g.peer[0]), AF_INET);
    if (vq_posix_sock_info(srv)->ecn_rx) CHECK_EQ(g.ecn[0], VQ_ECN_ECT0);
    if (vq_posix_sock_info(srv)->pktinfo) CHECK(vq_addr_equal(&g.local[0], &to));
    /* answer from the address the client used */
    vq_addr peer = g.peer[0], local = g.local[0];
    uint8_t msg[1200];
    fill(msg, sizeof msg, 0);
    vq_posix_tx one = {msg, sizeof msg, &peer, local.len ? &local : NULL, VQ_ECN_ECT0};
    size_t sent = 0;
    CHECK_EQ(vq_posix_send(srv, &one, 1, &sent), VQ_OK);
    CHECK_EQ(sent, 1);
    recv_n(t, cli, &g, 1, 64);
    CHECK_EQ(g.n, 1);
    CHECK(vq_addr_equal(&g.peer[0], &to));
    if (vq_posix_sock_info(cli)->ecn_rx) CHECK_EQ(g.ecn[0], VQ_ECN_ECT0);
  }
  vq_posix_sock_close(cli);
  vq_posix_sock_close(srv);
}

VQ_TEST(posix_send_invalid)
{
  vq_posix_sock *s = open_at(t, "127.0.0.1:0", 0, NULL);
  if (!s) return;
  vq_addr v6;
  CHECK_EQ(vq_addr_parse(&v6, "[::1]:9"), VQ_OK);
  uint8_t b[4] = {0};
  vq_posix_tx tx = {b, sizeof b, NULL, NULL, 0};
  size_t sent = 7;
  CHECK_EQ(vq_posix_send(s, &tx, 1, &sent), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(sent, 0);
  tx.peer = &v6; /* an IPv6 peer for an IPv4 socket */
  CHECK_EQ(vq_posix_send(s, &tx, 1, &sent), VQ_ERR_INVALID_ARGUMENT);
  tx.peer = vq_posix_sock_local(s);
  tx.len = 70000;
  CHECK_EQ(vq_posix_send(s, &tx, 1, &sent), VQ_ERR_INVALID_ARGUMENT);
  /* nothing waiting: recv returns at once with nothing */
  vq_posix_rx rx[4];
  size_t got = 9;
  CHECK_EQ(vq_posix_recv(s, rx, 4, &got), VQ_OK);
  CHECK_EQ(got, 0);
  CHECK_EQ(vq_posix_sock_stats(s)->tx_datagrams, 0);
  vq_posix_sock_close(s);
}

/* ---- the loop ----------------------------------------------------------------------------------- */

VQ_TEST(posix_wait_timeout_and_readable)
{
  vq_posix_sock *s = open_at(t, "127.0.0.1:0", 0, NULL);
  vq_posix_sock *o = open_at(t, "127.0.0.1:0", 0, NULL);
  vq_posix_loop *l = NULL;
  CHECK_EQ(vq_posix_loop_open(&l, test_mem(), 0), VQ_OK);
  if (!s || !o || !l) goto out;
  CHECK_EQ(vq_posix_loop_add(l, s), VQ_OK);
  CHECK_EQ(vq_posix_loop_add(l, s), VQ_ERR_INVALID_ARGUMENT);
  vq_posix_events ev;
  for (int round = 0; round < 3; round++) {
    vq_time start = vq_posix_now(), deadline = start + VQ_MS(30);
    CHECK_EQ(vq_posix_wait(l, deadline, NULL, &ev), VQ_OK);
    vq_time end = vq_posix_now();
    CHECK(ev.timeout);
    CHECK_EQ(ev.n, 0);
    if (end < deadline)
      vq_fail(t, __FILE__, __LINE__, "wait returned %llu ns before its deadline",
              (unsigned long long)(deadline - end));
  }
  /* a deadline already past returns at once, reporting the timeout */
  CHECK_EQ(vq_posix_wait(l, 0, NULL, &ev), VQ_OK);
  CHECK(ev.timeout);
  /* readable: a datagram arrives while waiting with a far deadline */
  uint8_t b[100];
  fill(b, sizeof b, 5);
  vq_posix_tx tx = {b, sizeof b, vq_posix_sock_local(s), NULL, 0};
  size_t sent = 0;
  CHECK_EQ(vq_posix_send(o, &tx, 1, &sent), VQ_OK);
  CHECK_EQ(vq_posix_wait(l, vq_posix_now() + VQ_MS(5000), NULL, &ev), VQ_OK);
  CHECK_EQ(ev.n, 1);
  CHECK(ev.ev[0].sock == s);
  CHECK(ev.ev[0].readable);
  CHECK(!ev.timeout);
  vq_posix_rx rx[4];
  size_t got = 0;
  CHECK_EQ(vq_posix_recv(s, rx, 4, &got), VQ_OK);
  CHECK_EQ(got, 1);
  if (got == 1) CHECK_MEM(rx[0].data, rx[0].len, b, sizeof b);
  /* a wake-up from vq_posix_loop_wake */
  vq_posix_loop_wake(l);
  CHECK_EQ(vq_posix_wait(l, VQ_TIME_NEVER, NULL, &ev), VQ_OK);
  CHECK(ev.woken);
  CHECK_EQ(ev.n, 0);
  CHECK_EQ(vq_posix_loop_remove(l, s), VQ_OK);
out:
  vq_posix_loop_close(l);
  vq_posix_sock_close(s);
  vq_posix_sock_close(o);
  CHECK_EQ(test_mem()->used, 0);
}

typedef struct canceller {
  vq_cancel *c;
  vq_posix_loop *l;
  int wake;
} canceller;

static void *cancel_later(void *arg)
{
  canceller *k = arg;
  struct timespec ts = {0, 20000000};
  nanosleep(&ts, NULL);
  vq_cancel_set(k->c);
  if (k->wake) vq_posix_loop_wake(k->l);
  return NULL;
}

VQ_TEST(posix_wait_cancel)
{
  vq_posix_loop *l = NULL;
  CHECK_EQ(vq_posix_loop_open(&l, test_mem(), 0), VQ_OK);
  if (!l) return;
  vq_posix_events ev;
  vq_cancel root, c;
  vq_cancel_init(&root, NULL);
  vq_cancel_init(&c, &root);
  vq_cancel_set(&root); /* cancelled through its parent before the wait */
  vq_time start = vq_posix_now();
  CHECK_EQ(vq_posix_wait(l, start + VQ_MS(5000), &c, &ev), VQ_ECANCELED);
  CHECK(vq_posix_now() - start < VQ_MS(1000));
  for (int wake = 0; wake < 2; wake++) {
    vq_cancel_init(&c, NULL);
    canceller k = {&c, l, wake};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, cancel_later, &k), 0);
    start = vq_posix_now();
    CHECK_EQ(vq_posix_wait(l, VQ_TIME_NEVER, &c, &ev), VQ_ECANCELED);
    vq_time took = vq_posix_now() - start;
    pthread_join(th, NULL);
    /* 20 ms sleep then at most one 50 ms slice; a loose bound for a busy machine */
    if (took > VQ_MS(2000))
      vq_fail(t, __FILE__, __LINE__, "cancel (wake %d) seen after %llu ms", wake,
              (unsigned long long)(took / 1000000u));
    CHECK(!ev.woken && !ev.timeout && ev.n == 0);
  }
  vq_posix_loop_close(l);
  CHECK_EQ(test_mem()->used, 0);
}

VQ_TEST(posix_wait_signal)
{
  vq_posix_loop *l = NULL;
  CHECK_EQ(vq_posix_loop_open(&l, test_mem(), VQ_POSIX_LOOP_SIGNALS), VQ_OK);
  if (!l) return;
  vq_posix_events ev;
  CHECK_EQ(raise(SIGTERM), 0); /* blocked: it waits for the loop instead of ending the process */
  CHECK_EQ(vq_posix_wait(l, vq_posix_now() + VQ_MS(5000), NULL, &ev), VQ_OK);
  CHECK_EQ(ev.signalled, SIGTERM);
  CHECK(!ev.timeout);
  CHECK_EQ(raise(SIGINT), 0);
  CHECK_EQ(vq_posix_wait(l, vq_posix_now() + VQ_MS(5000), NULL, &ev), VQ_OK);
  CHECK_EQ(ev.signalled, SIGINT);
  vq_posix_loop_close(l);
  sigset_t cur;
  CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
  CHECK(!sigismember(&cur, SIGTERM)); /* the mask is restored */
}

VQ_TEST(posix_addr_same_host)
{
  /* spec: rfc9000#9.4/3 — the driver tells the connection a port-only change (NAT rebinding) */
  vq_addr a, b, c, d;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&c, 0, sizeof c);
  memset(&d, 0, sizeof d);
  CHECK_EQ(vq_addr_parse(&a, "127.0.0.1:4433"), VQ_OK);
  CHECK_EQ(vq_addr_parse(&b, "127.0.0.1:5555"), VQ_OK);
  CHECK_EQ(vq_addr_parse(&c, "127.0.0.2:4433"), VQ_OK);
  CHECK_EQ(vq_addr_parse(&d, "[::1]:4433"), VQ_OK);
  const uint8_t *pa = (const uint8_t *)&a, *pb = (const uint8_t *)&b, *pc = (const uint8_t *)&c,
                *pd = (const uint8_t *)&d;
  CHECK(vq_posix_addr_same_host(pa, sizeof a, pb, sizeof b));
  CHECK(vq_posix_addr_same_host(pa, sizeof a, pa, sizeof a));
  CHECK(!vq_posix_addr_same_host(pa, sizeof a, pc, sizeof c));
  CHECK(!vq_posix_addr_same_host(pa, sizeof a, pd, sizeof d));
  CHECK(!vq_posix_addr_same_host(pa, 3, pb, 3));
}

/* ---- the server's preferred address over real sockets (RFC 9000 §9.6) ------------------------------ */

/* Addresses as the programs keep them: a vq_addr whose unused bytes are zero (compared bytewise). */
static void canon(vq_addr *out, const vq_addr *in)
{
  memset(out, 0, sizeof(*out));
  memcpy(&out->ss, &in->ss, in->len);
  out->len = in->len;
}

static int pa_map_v4(void *ud, const vq_tp_preferred_address *pa, uint8_t *addr, size_t *len)
{
  (void)ud;
  if (*len < sizeof(vq_addr) || pa->ipv4_port == 0)
    return 0;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(pa->ipv4_port);
  memcpy(&sin.sin_addr, pa->ipv4, 4);
  vq_addr a;
  memset(&a, 0, sizeof(a));
  memcpy(&a.ss, &sin, sizeof(sin));
  a.len = sizeof(sin);
  memcpy(addr, &a, sizeof(a));
  *len = sizeof(a);
  return 1;
}

/* Sends what c has: to the address vq_conn_send_path_from gives, else to dflt; from s2 when it
 * says so (a server's preferred address), else from s; returns the datagrams. *from2 counts those
 * from s2, *from2_small those of them under 1200 bytes. */
static int pa_flush(vq_posix_sock *s, vq_posix_sock *s2, vq_conn *c, const vq_cx *cx,
                    const vq_addr *dflt, uint64_t *from2, uint64_t *from2_small)
{
  uint8_t buf[1500], to[VQ_ADDR_MAX], from[VQ_ADDR_MAX];
  int k = 0;
  for (; k < 200; k++) {
    size_t n = 0, tl = 0, fl = 0, sent = 0;
    if (vq_conn_send_path_from(c, cx, buf, sizeof buf, &n, NULL, from, &fl, to, &tl) != VQ_OK || n == 0)
      break;
    vq_addr dst = *dflt;
    if (tl == sizeof(vq_addr))
      memcpy(&dst, to, sizeof(dst));
    vq_posix_tx tx = {buf, n, &dst, NULL, VQ_ECN_NOT_ECT};
    int two = s2 && fl == sizeof(vq_addr);
    if (two && from2) {
      (*from2)++;
      *from2_small += n < 1200;
    }
    (void)vq_posix_send(two ? s2 : s, &tx, 1, &sent);
  }
  return k;
}

static uint8_t pa_pat(uint64_t off) { return (uint8_t)(off * 7u + (off >> 9)); }

VQ_TEST(posix_preferred_address_loopback)
{
  /* spec: rfc9000#9.6.1/2, rfc9000#9.6.1/3 — the server listens on 127.0.0.1 and on a second
   * socket (127.0.0.2, or another port when that address cannot be bound) that it advertises as its
   * preferred address; the client validates it after the handshake and moves there: the rest of a
   * 300 kB response arrives from it, byte-exact; the server moves by the rules of §9.6.2 (what
   * vq-server --preferred-address and vq-client do, with real sockets) */
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)256 << 20);
  static const uint8_t alpn[] = {2, 'h', '3'};
  vq_tls_ctx_config scfg = {0};
  scfg.is_server = 1;
  scfg.selfsigned_name = "localhost";
  scfg.alpn = alpn;
  scfg.alpn_len = sizeof alpn;
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof alpn;
  char err[256];
  vq_tls_ctx *sctx = NULL, *cctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&sctx, &scfg, err, sizeof err), VQ_OK);
  CHECK_EQ(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof err), VQ_OK);
  vq_status st2 = VQ_OK;
  vq_posix_sock *cs = open_at(t, "127.0.0.1:0", 0, NULL), *ss = open_at(t, "127.0.0.1:0", 0, NULL);
  vq_posix_sock *ss2 = open_at(t, "127.0.0.2:0", 0, &st2);
  if (st2 != VQ_OK) {
    printf("posix: note: 127.0.0.2 cannot be bound (%s); the preferred address is another port\n",
           vq_status_reason(st2));
    ss2 = open_at(t, "127.0.0.1:0", 0, NULL);
  }
  vq_addr sa, sa2, ca;
  memset(&sa, 0, sizeof sa);
  memset(&sa2, 0, sizeof sa2);
  memset(&ca, 0, sizeof ca);
  if (ss && ss2 && cs) {
    canon(&sa, vq_posix_sock_local(ss));
    canon(&sa2, vq_posix_sock_local(ss2));
    canon(&ca, vq_posix_sock_local(cs));
  }
  vq_tp_preferred_address pref;
  memset(&pref, 0, sizeof pref);
  struct sockaddr_in p2;
  memcpy(&p2, &sa2.ss, sizeof p2);
  memcpy(pref.ipv4, &p2.sin_addr, 4);
  pref.ipv4_port = ntohs(p2.sin_port);
  vq_endpoint *ep = NULL;
  vq_conn *cli = NULL;
  vq_rng rng;
  vq_rng_seed(&rng, 9);
  vq_cx cx = {vq_posix_now(), NULL, NULL, &rng, NULL};
  if (sctx && cctx && cs && ss && ss2) {
    vq_endpoint_config ec = {0};
    ec.conn.is_server = 1;
    ec.conn.tls = sctx;
    ec.conn.preferred_address = &pref;
    ec.conn.preferred_local = (const uint8_t *)&sa2;
    ec.conn.preferred_local_len = sizeof sa2;
    CHECK_EQ(vq_endpoint_new(&ep, &root, &ec), VQ_OK);
    vq_conn_config cc = {0};
    cc.tls = cctx;
    cc.server_name = "localhost";
    cc.preferred_addr_map = pa_map_v4;
    CHECK_EQ(vq_conn_new_client(&cli, &root, &cc, &cx), VQ_OK);
    if (cli)
      CHECK_EQ(vq_conn_set_peer_addr(cli, (const uint8_t *)&sa, sizeof sa), VQ_OK);
  }
  const uint64_t resp_len = 300000;
  uint64_t got_bytes = 0, resp_sent = 0, rx1 = 0, rx2 = 0, rx2_before_move = 0;
  uint64_t tx2 = 0, tx2_small = 0, tx2_early = 0, tx2_early_small = 0;
  int bad = 0, fin = 0, opened = 0, req_read = 0;
  uint64_t sid = 0;
  vq_time end = vq_posix_now() + VQ_MS(5000);
  while (ep && cli && vq_posix_now() < end && !fin) {
    cx.now = vq_posix_now();
    int busy = 0;
    vq_posix_rx rx[16];
    size_t got = 0;
    if (vq_posix_recv(cs, rx, 16, &got) == VQ_OK)
      for (size_t i = 0; i < got; i++) {
        busy = 1;
        vq_addr from;
        canon(&from, &rx[i].peer);
        (void)vq_conn_recv_from(cli, &cx, (const uint8_t *)&from, sizeof from, rx[i].data, rx[i].len,
                                rx[i].ecn);
      }
    for (int si = 0; si < 2; si++) {
      got = 0;
      if (vq_posix_recv(si ? ss2 : ss, rx, 16, &got) != VQ_OK)
        continue;
      for (size_t i = 0; i < got; i++) {
        busy = 1;
        if (si) {
          rx2++;
          rx2_before_move += vq_conn_preferred_state(cli) != VQ_PA_MOVED;
        } else {
          rx1++;
        }
        vq_addr from;
        canon(&from, &rx[i].peer);
        vq_endpoint_conn *e = NULL;
        int created = 0;
        uint8_t resp[1500];
        size_t rl = 0;
        /* the server is told where each datagram arrived (as vq-server) */
        (void)vq_endpoint_recv_at(ep, &cx, si, (const uint8_t *)&from, sizeof from, rx[i].data,
                                  rx[i].len, rx[i].ecn, &e, &created, resp, sizeof resp, &rl);
      }
    }
    vq_endpoint_conn *se = vq_endpoint_next(ep, NULL);
    vq_conn *srv = se ? se->conn : NULL;
    vq_conn_event ev;
    while (vq_conn_poll_event(cli, &ev)) {
      if (ev.type == VQ_CONN_EV_HANDSHAKE_DONE && !opened &&
          vq_conn_stream_open(cli, &cx, 1, &sid) == VQ_OK) {
        size_t acc = 0;
        opened = 1;
        CHECK_EQ(vq_conn_stream_write(cli, &cx, sid, (const uint8_t *)"GET /", 5, 1, &acc), VQ_OK);
      }
    }
    while (srv && vq_conn_poll_event(srv, &ev)) {
    }
    if (srv && opened && !req_read) {
      uint8_t b[16];
      size_t n = 0;
      int f = 0;
      if (vq_conn_stream_read(srv, &cx, sid, b, sizeof b, &n, &f) == VQ_OK && f)
        req_read = 1;
    }
    while (srv && req_read && resp_sent < resp_len) {
      uint8_t b[4096];
      size_t n = resp_len - resp_sent < sizeof b ? (size_t)(resp_len - resp_sent) : sizeof b, acc = 0;
      for (size_t i = 0; i < n; i++)
        b[i] = pa_pat(resp_sent + i);
      if (vq_conn_stream_write(srv, &cx, sid, b, n, resp_sent + n == resp_len, &acc) != VQ_OK ||
          acc == 0)
        break;
      resp_sent += acc;
    }
    for (;;) {
      uint8_t b[8192];
      size_t n = 0;
      int f = 0;
      if (!opened || vq_conn_stream_read(cli, &cx, sid, b, sizeof b, &n, &f) != VQ_OK || (n == 0 && !f))
        break;
      for (size_t i = 0; i < n; i++)
        bad |= b[i] != pa_pat(got_bytes + i);
      got_bytes += n;
      fin |= f;
    }
    if (vq_conn_next_timeout(cli) <= cx.now) (void)vq_conn_handle_timeout(cli, &cx);
    if (srv && vq_conn_next_timeout(srv) <= cx.now) (void)vq_conn_handle_timeout(srv, &cx);
    const uint8_t *pa;
    size_t pl = 0;
    vq_addr cdst = sa;
    if (vq_conn_peer_addr(cli, &pa, &pl) && pl == sizeof(vq_addr))
      memcpy(&cdst, pa, sizeof cdst);
    int moved = vq_conn_preferred_state(cli) == VQ_PA_MOVED;
    busy |= pa_flush(cs, NULL, cli, &cx, &cdst, NULL, NULL) > 0;
    if (srv) {
      vq_addr sdst;
      memcpy(&sdst, se->addr, sizeof sdst);
      busy |= pa_flush(ss, ss2, srv, &cx, &sdst, moved ? &tx2 : &tx2_early,
                       moved ? &tx2_small : &tx2_early_small) > 0;
    }
    if (!busy) {
      struct timespec ts = {0, 200000};
      nanosleep(&ts, NULL);
    }
  }
  CHECK(fin);
  CHECK(!bad);
  CHECK_EQ(got_bytes, resp_len);
  CHECK_EQ(vq_conn_preferred_state(cli), VQ_PA_MOVED);
  /* the client sends to the preferred address now; most of the transfer went through it */
  const uint8_t *pa;
  size_t pl = 0;
  CHECK(cli && vq_conn_peer_addr(cli, &pa, &pl) && pl == sizeof(vq_addr) && memcmp(pa, &sa2, pl) == 0);
  CHECK(rx2 > rx1);
  /* before the move only the probes (and their repeats) reach the preferred address */
  CHECK(rx2_before_move >= 1 && rx2_before_move <= 4);
  /* spec: rfc9000#9.6.2/2, rfc9000#9.6.2/3 — the server too: before the client moved only its own
   * probe and its answer (padded) leave from the preferred address, then everything */
  vq_endpoint_conn *se = ep ? vq_endpoint_next(ep, NULL) : NULL;
  CHECK(se && vq_conn_preferred_state(se->conn) == VQ_PA_MOVED);
  CHECK(tx2_early >= 1 && tx2_early <= 6);
  CHECK_EQ(tx2_early_small, 0);
  CHECK(tx2 > 10);
  vq_conn_free(cli, NULL);
  vq_endpoint_free(ep);
  vq_posix_sock_close(cs);
  vq_posix_sock_close(ss);
  vq_posix_sock_close(ss2);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
  CHECK_EQ(root.used, 0);
}
