/* vq-bench-idle — a load generator for `make bench`: opens N HTTP/3 client connections (vquic's
 * client, one UDP socket each) to a server, completes their handshakes and the HTTP/3 SETTINGS
 * exchange, then holds them open and idle so that the server's memory per connection can be read.
 * Any standard QUIC v1 + HTTP/3 server will do (vq-server, ngtcp2's gtlsserver), which is what makes
 * the comparison fair: the same client against both.
 *
 *   vq-bench-idle --connect ADDR:PORT [--sni NAME] [-n N] [--batch B] [--timeout-ms MS]
 *
 * Prints one line to stdout once every connection is established or has failed:
 *   established E failed F ms T
 * then keeps the connections alive (ACKs, timers; the idle timeout it offers is 120 s) until stdin
 * reaches end-of-file or SIGTERM/SIGINT arrives, closes them all (CONNECTION_CLOSE) and exits.
 * Exit status 0 when every connection was established, 1 otherwise. Not part of the library. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "app.h"
#include "vquic/h3.h"
#include "vquic/h3quic.h"
#include "vquic/posix.h"
#include "vquic/tls.h"

typedef struct iconn {
  vq_posix_sock *sock;
  vq_conn *conn;
  vq_h3q q;
  int opened, h3, established, failed, finished;
  vq_time t_open;
} iconn;

static int fd_to_idx[1 << 16];

static void usage(FILE *f)
{
  fprintf(f, "usage: vq-bench-idle --connect ADDR:PORT [--sni NAME] [-n N] [--batch B] "
             "[--timeout-ms MS]\n");
}

int main(int argc, char **argv)
{
  const char *connect_s = NULL, *sni = "localhost";
  long n = 1000, batch = 50, timeout_ms = 60000;
  static const struct option opts[] = {{"connect", 1, 0, 'c'}, {"sni", 1, 0, 's'},
                                       {"batch", 1, 0, 'b'},   {"timeout-ms", 1, 0, 't'},
                                       {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
    switch (o) {
    case 'c': connect_s = optarg; break;
    case 's': sni = optarg; break;
    case 'n': n = strtol(optarg, NULL, 10); break;
    case 'b': batch = strtol(optarg, NULL, 10); break;
    case 't': timeout_ms = strtol(optarg, NULL, 10); break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (!connect_s || n <= 0 || n > 60000 || batch <= 0) {
    usage(stderr);
    return 2;
  }
  /* one socket per connection: raise the descriptor limit to what the hard limit allows */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
  vq_addr peer, local;
  if (vq_addr_parse(&peer, connect_s) != VQ_OK) {
    fprintf(stderr, "vq-bench-idle: --connect %s: not an address:port\n", connect_s);
    return 2;
  }
  (void)vq_addr_parse(&local, vq_addr_family(&peer) == AF_INET6 ? "[::]:0" : "0.0.0.0:0");
  static const uint8_t alpn[] = {2, 'h', '3'};
  vq_tls_ctx_config tc = {0};
  tc.insecure = 1; /* the certificate is not what is measured; the signature is still checked */
  tc.alpn = alpn;
  tc.alpn_len = sizeof(alpn);
  char err[512] = "";
  vq_tls_ctx *tls = NULL;
  if (vq_tls_ctx_new(&tls, &tc, err, sizeof(err)) != VQ_OK) {
    fprintf(stderr, "vq-bench-idle: TLS: %s\n", err);
    return 1;
  }
  vq_mem mem;
  vq_mem_init(&mem, vq_allocator_system(), NULL, (size_t)16 << 30);
  vq_posix_loop *loop = NULL;
  if (vq_posix_loop_open(&loop, &mem, VQ_POSIX_LOOP_SIGNALS) != VQ_OK) {
    fprintf(stderr, "vq-bench-idle: event loop: %s\n", strerror(errno));
    return 1;
  }
  iconn *ic = calloc((size_t)n, sizeof(*ic));
  if (!ic)
    return 1;
  vq_rng rng;
  vq_rng_seed(&rng, vq_posix_now() ^ ((uint64_t)getpid() << 32));
  vq_cx cx = {vq_posix_now(), NULL, NULL, &rng, NULL};
  vq_conn_config cc = {0};
  cc.tls = tls;
  cc.server_name = sni;
  cc.max_idle_timeout_ms = 120000;
  vq_h3_config hc;
  vq_h3_config_default(&hc, 0);
  vq_h3_callbacks cb = {0};
  vq_posix_config pc = {0};
  pc.flags = VQ_POSIX_NO_GRO | VQ_POSIX_NO_GSO;
  pc.rcvbuf = 1 << 16;
  pc.sndbuf = 1 << 16;
  pc.rx_batch = 8;
  pc.rx_buf = 2048;
  (void)fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);

  long opened = 0, established = 0, failed = 0, closed_idle = 0, stuck = 0;
  int reported = 0, stop = 0;
  vq_time last_status = vq_posix_now();
  vq_time t0 = vq_posix_now(), deadline = t0 + (vq_time)timeout_ms * 1000000u;
  vq_posix_rx rx[8];
  while (!stop) {
    cx.now = vq_posix_now();
    /* keep at most `batch` handshakes in flight */
    while (opened < n && opened - established - failed < batch) {
      iconn *c = &ic[opened++];
      c->opened = 1;
      c->t_open = cx.now;
      vq_status st = vq_posix_sock_open(&c->sock, &mem, &local, &pc);
      if (st == VQ_OK && vq_posix_sock_fd(c->sock) >= (1 << 16))
        st = VQ_ERR_NOMEM;
      if (st == VQ_OK)
        st = vq_posix_loop_add(loop, c->sock);
      if (st == VQ_OK)
        st = vq_conn_new_client(&c->conn, &mem, &cc, &cx);
      if (st == VQ_OK) {
        st = vq_h3q_init(&c->q, c->conn, &mem, &hc, &cb);
        c->h3 = st == VQ_OK;
      }
      if (st != VQ_OK) {
        fprintf(stderr, "vq-bench-idle: connection %ld: %s (%s)\n", opened - 1, vq_status_reason(st),
                strerror(errno));
        c->failed = c->finished = 1;
        failed++;
        continue;
      }
      fd_to_idx[vq_posix_sock_fd(c->sock)] = (int)(opened - 1);
      int blocked;
      app_flush(c->sock, c->conn, &cx, &peer, &blocked);
    }
    if (cx.now - last_status >= VQ_MS(1000)) {
      last_status = cx.now;
      fprintf(stderr, "vq-bench-idle: %.0f ms: opened %ld established %ld failed %ld closed while idle %ld\n",
              (double)(cx.now - t0) / 1e6, opened, established, failed, closed_idle);
    }
    if (!reported && (established + failed == n || cx.now >= deadline)) {
      reported = 1;
      printf("established %ld failed %ld ms %.1f\n", established, n - established,
             (double)(cx.now - t0) / 1e6);
      fflush(stdout);
    }
    if (reported) { /* stdin EOF ends the hold */
      char b[256];
      ssize_t r = read(0, b, sizeof(b));
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        break;
    }
    vq_time next = VQ_TIME_NEVER;
    for (long i = 0; i < opened; i++)
      if (!ic[i].finished) {
        vq_time t = vq_conn_next_timeout(ic[i].conn);
        if (t < next)
          next = t;
      }
    vq_time cap = vq_posix_now() + (reported ? VQ_MS(50) : VQ_MS(10));
    if (next > cap)
      next = cap;
    vq_posix_events ev;
    if (vq_posix_wait(loop, next, NULL, &ev) != VQ_OK)
      break;
    if (ev.signalled)
      stop = 1;
    cx.now = vq_posix_now();
    for (unsigned e = 0; e < ev.n; e++) {
      iconn *c = &ic[fd_to_idx[vq_posix_sock_fd(ev.ev[e].sock)]];
      if (c->finished)
        continue;
      for (;;) {
        size_t got = 0;
        if (vq_posix_recv(c->sock, rx, 8, &got) != VQ_OK || got == 0)
          break;
        for (size_t k = 0; k < got; k++)
          if (vq_addr_equal(&rx[k].peer, &peer))
            (void)vq_conn_recv(c->conn, &cx, rx[k].data, rx[k].len, rx[k].ecn);
      }
      (void)vq_h3q_process(&c->q, &cx);
      int blocked;
      app_flush(c->sock, c->conn, &cx, &peer, &blocked);
    }
    for (long i = 0; i < opened; i++) {
      iconn *c = &ic[i];
      if (c->finished)
        continue;
      if (vq_conn_next_timeout(c->conn) <= cx.now) {
        (void)vq_conn_handle_timeout(c->conn, &cx);
        (void)vq_h3q_process(&c->q, &cx);
        int blocked;
        app_flush(c->sock, c->conn, &cx, &peer, &blocked);
      }
      if (!c->established && !c->q.started && cx.now - c->t_open > VQ_MS(10000)) {
        /* a handshake that did not complete in 10 s: give up on it, say what it looked like */
        vq_conn_stats cs;
        vq_conn_get_stats(c->conn, &cs);
        if (stuck++ < 5)
          fprintf(stderr,
                  "vq-bench-idle: connection %ld: no handshake after 10 s (state %d, packets sent %llu "
                  "recv %llu lost %llu dropped %llu, PTOs %llu)\n",
                  i, (int)vq_conn_get_state(c->conn), (unsigned long long)cs.pkts_sent,
                  (unsigned long long)cs.pkts_recv, (unsigned long long)cs.pkts_lost,
                  (unsigned long long)cs.pkts_dropped, (unsigned long long)cs.pto_count);
        (void)vq_conn_close(c->conn, &cx, 0, 0, "handshake timeout");
        int blocked;
        app_flush(c->sock, c->conn, &cx, &peer, &blocked);
        c->failed = c->finished = 1;
        failed++;
        continue;
      }
      if (!c->established && c->q.started) {
        c->established = 1;
        established++;
      }
      if (c->q.closed || vq_conn_get_state(c->conn) == VQ_CONN_CLOSED) {
        c->finished = 1;
        if (!c->established) {
          c->failed = 1;
          failed++;
        } else {
          int app = 0, by_peer = 0;
          const char *reason = "";
          uint64_t code = vq_conn_close_error(c->conn, &app, &by_peer, &reason);
          if (closed_idle++ < 5)
            fprintf(stderr, "vq-bench-idle: %.0f ms: connection %ld closed while idle %s (%s 0x%llx %s)\n",
                    (double)(cx.now - t0) / 1e6, i,
                    by_peer ? "by the server" : "locally", app ? "app" : "transport",
                    (unsigned long long)code, reason ? reason : "");
        }
      }
    }
  }
  /* close everything: CONNECTION_CLOSE out, no closing period (the process ends) */
  cx.now = vq_posix_now();
  long alive = 0;
  for (long i = 0; i < opened; i++) {
    iconn *c = &ic[i];
    if (c->conn && !c->finished) {
      alive++;
      (void)vq_h3_close(c->q.h3, &cx, VQ_H3_NO_ERROR, "bench done");
      int blocked;
      app_flush(c->sock, c->conn, &cx, &peer, &blocked);
    }
    if (c->h3)
      vq_h3q_free(&c->q);
    if (c->conn)
      vq_conn_free(c->conn, NULL);
    if (c->sock)
      vq_posix_sock_close(c->sock);
  }
  fprintf(stderr, "vq-bench-idle: %ld established, %ld closed while idle, %ld still open at the end\n",
          established, closed_idle, alive);
  free(ic);
  vq_posix_loop_close(loop);
  vq_tls_ctx_free(tls);
  return established == n ? 0 : 1;
}
