/* Connections end to end in the deterministic lab (src/rt/lab): handshake, streams, flow control,
 * loss, reordering, duplication, corruption, closing, and the invariants every scenario checks —
 * all data delivered byte-exact, nothing owed at finalize (DESIGN.md principle 4), both sides
 * closed with the expected code. */
#include <stdio.h>
#include <string.h>

#include "tls_pair.h"
#include "vqtest.h"
#include "vquic/cidperm.h"
#include "vquic/conn.h"
#include "vquic/dgram.h"
#include "vquic/ecn.h"
#include "vquic/endpoint.h"
#include "vquic/lab.h"
#include "vquic/packet.h"
#include "vquic/pn.h"
#include "vquic/protect.h"
#include "vquic/tls.h"
#include "transport/conn_internal.h" /* white-box: the packet number exhaustion test */
#include "vquic/token.h"

#define MAXS 64

static uint8_t pat(uint64_t id, uint64_t off) { return (uint8_t)(off * 7u + id * 13u + (off >> 9)); }

typedef struct lstream {
  uint64_t id;
  int used;
  uint64_t to_send, sent;     /* bytes this side writes */
  int fin_written;
  uint64_t received;          /* bytes read */
  int fin_read;
  int bad;                    /* a byte differed from the pattern */
  int reset_seen;
} lstream;

typedef struct lpeer {
  int node, other;
  int is_server;
  vq_conn *conn;
  vq_endpoint *ep;            /* server: connections come from the endpoint */
  vq_mem mem;
  lstream st[MAXS];
  int nst;
  int handshake_done;
  int closed;
  uint64_t close_code;
  int close_app, close_by_peer;
  /* scenario */
  int streams_to_open;        /* client */
  uint64_t request_size, response_size;
  int opened;
  int done_streams;
  int close_when_done;
  uint64_t obligations_at_free;
  int freed;
  vq_conn_stats stats;
  /* the server's preferred address (a second node of the same endpoint) */
  int node2;                  /* -1: none */
  int via2;                   /* the datagram being processed arrived at node2 */
  int send_from;              /* the server sends from the node that received last */
  uint64_t rx2;               /* datagrams received at node2 */
  int addr_aware;             /* client: passes the sender's node to vq_conn_recv_from and sends
                                 where vq_conn_send_path / vq_conn_peer_addr say */
  uint64_t probes_to_pa, nonprobe_size_to_pa; /* client: datagrams to node2 while probing / of
                                 another size than a padded probe's while probing */
  vq_time pa_tx_at[16];       /* client: when the first of them left */
  int pa_failed_seen;         /* client: its preferred-address validation failed ... */
  vq_time pa_failed_at;       /* ... at this time (first seen after an event) */
  /* probing a path without moving (vq_conn_probe_path): the client's second local address (a lab
   * node of its own); when the probe validates, the client's socket moves there and it migrates */
  int lnode2;                 /* client: -1 none */
  int send_node;              /* client: the node its ordinary datagrams leave from */
  vq_time probe_at;           /* client: when to probe (0: never) */
  int old_path_dead;          /* client: datagrams to node are dropped once send_node moved */
  int at_lnode2;              /* client: the datagram being handled arrived at lnode2 */
  int probe_started, probe_event; /* client: 1 + error_code of VQ_CONN_EV_PATH_PROBE */
  int migrate_status;         /* client: 1 + what vq_conn_migrate returned (0: not called) */
  uint64_t from2_probing, from2_nonprobe; /* client: datagrams from lnode2 before the move / of them
                                 not a padded probe */
  int route_peer;             /* server: sends to vq_conn_peer_addr (1 byte: a node) */
  /* server, preferred address by RFC 9000 §9.6.2: datagrams at node2 are handed over as such
   * (vq_endpoint_recv_at) and each datagram leaves from the node vq_conn_send_path_from says */
  int pa_strict;
  vq_conn **cli_conn;         /* the client's connection (to know whether it moved yet) */
  uint64_t tx2, tx2_early, tx2_early_small; /* datagrams from node2; of them before the client
                                 moved; of those, not a padded probe or answer */
} lpeer;

static lstream *find_st(lpeer *p, uint64_t id, int create)
{
  for (int i = 0; i < p->nst; i++)
    if (p->st[i].id == id)
      return &p->st[i];
  if (!create || p->nst == MAXS)
    return NULL;
  lstream *s = &p->st[p->nst++];
  memset(s, 0, sizeof(*s));
  s->id = id;
  s->used = 1;
  return s;
}

static vq_conn *peer_conn(lpeer *p)
{
  if (!p->is_server)
    return p->conn;
  vq_endpoint_conn *ec = p->ep ? vq_endpoint_next(p->ep, NULL) : NULL;
  return ec ? ec->conn : NULL;
}

static void write_more(lpeer *p, const vq_cx *cx, vq_conn *c, lstream *s)
{
  uint8_t buf[4096];
  while (s->sent < s->to_send || (!s->fin_written && s->sent == s->to_send)) {
    uint64_t n = s->to_send - s->sent;
    if (n > sizeof(buf))
      n = sizeof(buf);
    for (uint64_t i = 0; i < n; i++)
      buf[i] = pat(s->id, s->sent + i);
    int fin = s->sent + n == s->to_send;
    size_t acc = 0;
    if (vq_conn_stream_write(c, cx, s->id, buf, (size_t)n, fin, &acc) != VQ_OK)
      return;
    s->sent += acc;
    if (fin && acc == n)
      s->fin_written = 1;
    if (acc < n || (n == 0 && !s->fin_written))
      return;
  }
  (void)p;
}

static void read_stream(lpeer *p, const vq_cx *cx, vq_conn *c, lstream *s)
{
  uint8_t buf[8192];
  for (;;) {
    size_t n = 0;
    int fin = 0;
    if (vq_conn_stream_read(c, cx, s->id, buf, sizeof(buf), &n, &fin) != VQ_OK)
      return;
    for (size_t i = 0; i < n; i++)
      if (buf[i] != pat(s->id, s->received + i))
        s->bad = 1;
    s->received += n;
    if (fin && !s->fin_read) {
      s->fin_read = 1;
      if (p->is_server && vq_stream_is_unidirectional(s->id) == 0) {
        s->to_send = p->response_size;
        write_more(p, cx, c, s);
      } else if (!p->is_server) {
        p->done_streams++;
      }
    }
    if (n == 0 || fin)
      return;
  }
}

static void app_step(lpeer *p, const vq_cx *cx)
{
  vq_conn *c = peer_conn(p);
  if (!c)
    return;
  vq_conn_event ev;
  while (vq_conn_poll_event(c, &ev)) {
    lstream *s;
    switch (ev.type) {
    case VQ_CONN_EV_HANDSHAKE_DONE:
      p->handshake_done = 1;
      break;
    case VQ_CONN_EV_STREAM_OPENED:
      (void)find_st(p, ev.stream_id, 1);
      break;
    case VQ_CONN_EV_STREAM_READABLE:
      s = find_st(p, ev.stream_id, 1);
      if (s)
        read_stream(p, cx, c, s);
      break;
    case VQ_CONN_EV_STREAM_RESET:
      s = find_st(p, ev.stream_id, 1);
      if (s)
        s->reset_seen = 1;
      break;
    case VQ_CONN_EV_PATH_PROBE:
      p->probe_event = 1 + (int)ev.error_code;
      if (ev.error_code == 1 && p->lnode2 >= 0 && !p->migrate_status) {
        /* spec: rfc9000#9.1/1 — validated before moving: the socket moves, then the connection */
        p->send_node = p->lnode2;
        p->migrate_status = 1 + (int)vq_conn_migrate(c, cx);
      }
      break;
    case VQ_CONN_EV_CLOSED:
      p->closed = 1;
      p->close_code = ev.error_code;
      p->close_app = ev.app;
      p->close_by_peer = ev.by_peer;
      break;
    default:
      break;
    }
  }
  if (p->closed)
    return;
  if (!p->is_server && p->lnode2 >= 0 && p->probe_at && !p->probe_started && cx->now >= p->probe_at) {
    uint8_t local = (uint8_t)p->lnode2;
    p->probe_started = vq_conn_probe_path(c, cx, &local, 1, NULL, 0) == VQ_OK;
  }
  if (!p->is_server && p->handshake_done) {
    while (p->opened < p->streams_to_open) {
      uint64_t id;
      if (vq_conn_stream_open(c, cx, 1, &id) != VQ_OK)
        break;
      lstream *s = find_st(p, id, 1);
      s->to_send = p->request_size;
      p->opened++;
    }
    if (p->close_when_done && p->done_streams == p->streams_to_open && p->streams_to_open > 0 &&
        vq_conn_get_state(c) == VQ_CONN_ESTABLISHED)
      (void)vq_conn_close(c, cx, 1, 0, "done");
  }
  for (int i = 0; i < p->nst; i++) {
    lstream *s = &p->st[i];
    if (!s->fin_written && s->to_send > 0)
      write_more(p, cx, c, s);
    if (!s->fin_read)
      read_stream(p, cx, c, s);
  }
}

static void flush(lpeer *p, vq_lab *lab, const vq_cx *cx)
{
  uint8_t buf[1500];
  if (p->is_server) {
    for (vq_endpoint_conn *ec = p->ep ? vq_endpoint_next(p->ep, NULL) : NULL; ec;
         ec = vq_endpoint_next(p->ep, ec)) {
      for (int k = 0; k < 1000; k++) {
        size_t n = 0, tl = 0, fl = 0;
        uint8_t to[VQ_ADDR_MAX], from[VQ_ADDR_MAX];
        if (vq_conn_send_path_from(ec->conn, cx, buf, sizeof(buf), &n, NULL, from, &fl, to, &tl) !=
                VQ_OK ||
            n == 0)
          break;
        int src = p->send_from;
        if (p->pa_strict) {
          src = fl == 1 ? from[0] : p->node;
          if (src == p->node2) {
            p->tx2++;
            if (p->cli_conn && *p->cli_conn && vq_conn_preferred_state(*p->cli_conn) != VQ_PA_MOVED) {
              p->tx2_early++;
              p->tx2_early_small += n < 1200;
            }
          }
        }
        int dst = p->other;
        const uint8_t *pa;
        size_t pl;
        if (tl == 1)
          dst = to[0]; /* the answer to a probe, on its path */
        else if (p->route_peer && vq_conn_peer_addr(ec->conn, &pa, &pl) && pl == 1)
          dst = pa[0];
        vq_lab_send(lab, src, dst, buf, n);
      }
    }
    return;
  }
  if (p->conn && !p->pa_failed_seen && vq_conn_preferred_state(p->conn) == VQ_PA_FAILED) {
    p->pa_failed_seen = 1;
    p->pa_failed_at = cx->now;
  }
  for (int k = 0; k < 1000 && p->conn; k++) {
    size_t n = 0, tl = 0, fl = 0;
    uint8_t to[VQ_ADDR_MAX], from[VQ_ADDR_MAX];
    if (vq_conn_send_path_from(p->conn, cx, buf, sizeof(buf), &n, NULL, from, &fl, to, &tl) != VQ_OK ||
        n == 0)
      break;
    int src = fl == 1 ? from[0] : p->send_node;
    if (p->lnode2 >= 0 && src == p->lnode2 && p->send_node != p->lnode2) {
      p->from2_probing++;
      if (n < 1200)
        p->from2_nonprobe++;
    }
    int dst = p->other;
    const uint8_t *pa;
    size_t pl;
    if (tl == 1)
      dst = to[0];
    else if (p->addr_aware && vq_conn_peer_addr(p->conn, &pa, &pl) && pl == 1)
      dst = pa[0];
    if (p->node2 >= 0 && dst == p->node2 && vq_conn_preferred_state(p->conn) == VQ_PA_PROBING) {
      if (p->probes_to_pa < 16)
        p->pa_tx_at[p->probes_to_pa] = cx->now;
      p->probes_to_pa++;
      if (n < 1200)
        p->nonprobe_size_to_pa++;
    }
    vq_lab_send(lab, src, dst, buf, n);
  }
}

static void node_dgram(void *ud, vq_lab *lab, const vq_cx *cx, int from, const uint8_t *data, size_t len)
{
  lpeer *p = ud;
  uint8_t buf[VQ_LAB_MAX_DATAGRAM];
  memcpy(buf, data, len);
  if (p->is_server) {
    vq_endpoint_conn *ec = NULL;
    int created = 0;
    uint8_t resp[1500];
    size_t rl = 0;
    uint8_t addr = (uint8_t)from;
    p->send_from = p->via2 ? p->node2 : p->node;
    if (p->via2)
      p->rx2++;
    (void)vq_endpoint_recv_at(p->ep, cx, p->pa_strict && p->via2, &addr, 1, buf, len, 0, &ec,
                              &created, resp, sizeof(resp), &rl);
    if (rl)
      vq_lab_send(lab, p->send_from, from, resp, rl);
  } else if (p->conn && p->old_path_dead && !p->at_lnode2 && p->send_node != p->node) {
    return; /* the socket moved: the first address is gone */
  } else if (p->conn) {
    uint8_t addr = (uint8_t)from;
    if (p->addr_aware)
      (void)vq_conn_recv_from(p->conn, cx, &addr, 1, buf, len, 0);
    else
      (void)vq_conn_recv(p->conn, cx, buf, len, 0);
  }
  app_step(p, cx);
  flush(p, lab, cx);
}

static vq_time node_next(void *ud)
{
  lpeer *p = ud;
  if (p->is_server)
    return p->ep ? vq_endpoint_next_timeout(p->ep) : VQ_TIME_NEVER;
  return p->conn ? vq_conn_next_timeout(p->conn) : VQ_TIME_NEVER;
}

static void node_timeout(void *ud, vq_lab *lab, const vq_cx *cx)
{
  lpeer *p = ud;
  if (p->is_server) {
    for (vq_endpoint_conn *ec = vq_endpoint_next(p->ep, NULL); ec; ec = vq_endpoint_next(p->ep, ec))
      if (vq_conn_next_timeout(ec->conn) <= cx->now)
        (void)vq_conn_handle_timeout(ec->conn, cx);
  } else if (p->conn) {
    (void)vq_conn_handle_timeout(p->conn, cx);
  }
  app_step(p, cx);
  flush(p, lab, cx);
}

static const vq_lab_node_ops node_ops = {node_dgram, node_next, node_timeout};

/* The server's second address: datagrams go to the same endpoint; timers are the first node's. */
static void node2_dgram(void *ud, vq_lab *lab, const vq_cx *cx, int from, const uint8_t *data,
                        size_t len)
{
  lpeer *p = ud;
  p->via2 = 1;
  node_dgram(ud, lab, cx, from, data, len);
  p->via2 = 0;
}
static vq_time node2_next(void *ud)
{
  (void)ud;
  return VQ_TIME_NEVER;
}
static void node2_timeout(void *ud, vq_lab *lab, const vq_cx *cx)
{
  (void)ud;
  (void)lab;
  (void)cx;
}
static const vq_lab_node_ops node2_ops = {node2_dgram, node2_next, node2_timeout};

/* The client's second local address: datagrams go to the same connection; timers are the first
 * node's. */
static void cnode2_dgram(void *ud, vq_lab *lab, const vq_cx *cx, int from, const uint8_t *data,
                         size_t len)
{
  lpeer *p = ud;
  p->at_lnode2 = 1;
  node_dgram(ud, lab, cx, from, data, len);
  p->at_lnode2 = 0;
}
static const vq_lab_node_ops cnode2_ops = {cnode2_dgram, node2_next, node2_timeout};

/* The test's preferred addresses: IPv4 10.0.0.N is lab node N. */
static int pa_map(void *ud, const vq_tp_preferred_address *pa, uint8_t *addr, size_t *len)
{
  (void)ud;
  if (pa->ipv4[0] != 10 || *len < 1)
    return 0;
  addr[0] = pa->ipv4[3];
  *len = 1;
  return 1;
}

typedef struct scenario {
  uint64_t seed;
  vq_lab_link link;
  int streams;
  uint64_t request, response;
  uint64_t stream_window;     /* initial_max_stream_data of both sides (0: default) */
  uint64_t conn_window;
  uint64_t max_streams;       /* server's initial_max_streams_bidi (0: default) */
  size_t mem_limit;           /* both connections' memory budget (0: default) */
  int retry;                  /* the server answers Initials without a token with a Retry */
  uint32_t retry_above;       /* ... only while it holds this many connections or more */
  int preload;                /* connections another client opened first (left half-open) */
  const char *server_name;    /* what the client checks ("localhost") */
  int insecure;
  vq_time run_for;
  int keylog;                 /* record the 1-RTT secrets (to inject frames: inject_1rtt) */
  uint64_t cli_dgram_max, srv_dgram_max; /* max_datagram_frame_size of each side (0: DATAGRAM off) */
  uint32_t dgram_queue;       /* both sides' dgram_queue_count (0: default) */
  uint64_t srv_conf_limit, srv_integ_limit; /* the server's AEAD limits (0: RFC 9001 values) */
  const uint8_t *reset_key;   /* the endpoint's stateless reset key (32 bytes; NULL: random) */
  int allow_migration;        /* neither side sends disable_active_migration */
  int pmtud_off;              /* both sides: no DPLPMTUD (vq_conn_config.pmtud_off) */
  int (*same_host)(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
  int pa;                     /* the server has a second address it advertises as preferred */
  int pa_ignore;              /* the client is configured not to use it */
  int pa_blackhole;           /* nothing from the client reaches the preferred address */
  int pa_strict;              /* the server follows RFC 9000 §9.6.2 (cfg.preferred_local) */
  vq_time probe_at;           /* the client probes from a second local address then (0: never) */
  int probe_blackhole;        /* nothing from that address reaches the server */
  int old_path_dead;          /* the client's first address receives nothing once it moved */
} scenario;

typedef struct world {
  vq_mem root;
  vq_lab *lab;
  vq_tls_ctx *sctx, *cctx;
  lpeer cli, srv;
  uint8_t csec[64], ssec[64]; /* 1-RTT traffic secrets from the client's key log (scenario.keylog) */
  size_t csec_len, ssec_len;
} world;

static int both_closed(void *ud)
{
  world *w = ud;
  vq_conn *sc = peer_conn(&w->srv);
  return w->cli.closed && (!sc || w->srv.closed);
}

static const uint8_t alpn[] = {10, 'h', 'q', '-', 'i', 'n', 't', 'e', 'r', 'o', 'p'};

static int hexval(char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  return -1;
}

/* Key log lines "CLIENT_TRAFFIC_SECRET_0 <random> <secret>" (and SERVER_...): the 1-RTT secrets. */
static void keylog_1rtt(void *ud, const char *line)
{
  world *w = ud;
  int server = strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0;
  if (!server && strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) != 0)
    return;
  const char *p = strchr(line + 24, ' ');
  if (!p)
    return;
  uint8_t *out = server ? w->ssec : w->csec;
  size_t n = 0;
  for (p++; n < 64 && hexval(p[0]) >= 0 && hexval(p[1]) >= 0; p += 2)
    out[n++] = (uint8_t)(hexval(p[0]) * 16 + hexval(p[1]));
  if (server)
    w->ssec_len = n;
  else
    w->csec_len = n;
}

static int world_run(world *w, const scenario *sc)
{
  memset(w, 0, sizeof(*w));
  vq_mem_init(&w->root, vq_allocator_system(), NULL, (size_t)1 << 30);
  vq_tls_ctx_config scfg = {0}, ccfg = {0};
  scfg.alpn = ccfg.alpn = alpn;
  scfg.alpn_len = ccfg.alpn_len = sizeof(alpn);
  ccfg.insecure = sc->insecure;
  if (sc->keylog) {
    ccfg.keylog = keylog_1rtt;
    ccfg.keylog_ud = w;
  }
  if (!vqt_tls_pair(&w->sctx, &scfg, &w->cctx, &ccfg))
    return 0;
  w->lab = vq_lab_new(&w->root, sc->seed);
  w->cli.node = vq_lab_add_node(w->lab, &node_ops, &w->cli);
  w->srv.node = vq_lab_add_node(w->lab, &node_ops, &w->srv);
  w->cli.other = w->srv.node;
  w->srv.other = w->cli.node;
  vq_lab_set_link(w->lab, w->cli.node, w->srv.node, &sc->link);
  vq_lab_set_link(w->lab, w->srv.node, w->cli.node, &sc->link);
  w->srv.send_from = w->srv.node;
  w->srv.node2 = w->cli.node2 = -1;
  w->cli.lnode2 = w->srv.lnode2 = -1;
  w->cli.send_node = w->cli.node;
  if (sc->probe_at) {
    w->cli.lnode2 = vq_lab_add_node(w->lab, &cnode2_ops, &w->cli);
    vq_lab_link l2 = sc->link;
    vq_lab_set_link(w->lab, w->srv.node, w->cli.lnode2, &l2);
    if (sc->probe_blackhole) {
      l2.blackhole_from = 0;
      l2.blackhole_until = VQ_TIME_NEVER;
    }
    vq_lab_set_link(w->lab, w->cli.lnode2, w->srv.node, &l2);
    w->cli.probe_at = sc->probe_at;
    w->cli.old_path_dead = sc->old_path_dead;
    w->srv.route_peer = 1;
  }
  vq_tp_preferred_address pref;
  memset(&pref, 0, sizeof(pref));
  if (sc->pa) {
    w->srv.node2 = w->cli.node2 = vq_lab_add_node(w->lab, &node2_ops, &w->srv);
    vq_lab_link l2 = sc->link;
    vq_lab_set_link(w->lab, w->srv.node2, w->cli.node, &l2);
    if (sc->pa_blackhole) {
      l2.blackhole_from = 0;
      l2.blackhole_until = VQ_TIME_NEVER;
    }
    vq_lab_set_link(w->lab, w->cli.node, w->srv.node2, &l2);
    pref.ipv4[0] = 10;
    pref.ipv4[3] = (uint8_t)w->srv.node2;
    pref.ipv4_port = 443;
    pref.ipv6_port = 443;
    w->cli.addr_aware = 1;
  }
  w->srv.is_server = 1;
  w->srv.response_size = sc->response;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = w->sctx;
  ec.conn.initial_max_stream_data = sc->stream_window;
  ec.conn.max_stream_window = sc->stream_window;
  ec.conn.initial_max_data = sc->conn_window;
  ec.conn.max_conn_window = sc->conn_window;
  ec.conn.initial_max_streams_bidi = sc->max_streams;
  ec.conn.mem_limit = sc->mem_limit;
  ec.conn.max_datagram_frame_size = sc->srv_dgram_max;
  ec.conn.dgram_queue_count = sc->dgram_queue;
  ec.conn.aead_confidentiality_limit = sc->srv_conf_limit;
  ec.conn.aead_integrity_limit = sc->srv_integ_limit;
  ec.retry = sc->retry;
  ec.retry_above = sc->retry_above;
  ec.reset_key = sc->reset_key;
  ec.conn.allow_active_migration = sc->allow_migration;
  ec.conn.pmtud_off = sc->pmtud_off;
  ec.conn.addr_same_host = sc->same_host;
  uint8_t pa_local = (uint8_t)w->srv.node2;
  if (sc->pa)
    ec.conn.preferred_address = &pref;
  if (sc->pa && sc->pa_strict) {
    ec.conn.preferred_local = &pa_local;
    ec.conn.preferred_local_len = 1;
    w->srv.pa_strict = 1;
    w->srv.cli_conn = &w->cli.conn;
  }
  if (vq_endpoint_new(&w->srv.ep, &w->root, &ec) != VQ_OK)
    return 0;
  vq_conn_config cc = {0};
  cc.tls = w->cctx;
  cc.server_name = sc->server_name ? sc->server_name : "localhost";
  cc.initial_max_stream_data = sc->stream_window;
  cc.max_stream_window = sc->stream_window;
  cc.initial_max_data = sc->conn_window;
  cc.max_conn_window = sc->conn_window;
  cc.mem_limit = sc->mem_limit;
  cc.max_datagram_frame_size = sc->cli_dgram_max;
  cc.dgram_queue_count = sc->dgram_queue;
  cc.allow_active_migration = sc->allow_migration;
  cc.pmtud_off = sc->pmtud_off;
  cc.preferred_addr_map = pa_map;
  cc.ignore_preferred_address = sc->pa_ignore;
  w->cli.streams_to_open = sc->streams;
  w->cli.request_size = sc->request;
  w->cli.close_when_done = 1;
  vq_cx cx = vq_lab_cx(w->lab);
  for (int i = 0; i < sc->preload; i++) {
    /* the first flight of other clients (from other addresses) that never come back: the
     * server holds their connections, its load */
    vq_conn *o = NULL;
    uint8_t d[1500];
    size_t n = 0;
    if (vq_conn_new_client(&o, &w->root, &cc, &cx) != VQ_OK ||
        vq_conn_send(o, &cx, d, sizeof(d), &n) != VQ_OK || n == 0)
      return 0;
    vq_conn_free(o, NULL);
    uint8_t addr = (uint8_t)(200 + i), resp[1500];
    vq_endpoint_conn *pe = NULL;
    int created = 0;
    size_t rl = 0;
    if (vq_endpoint_recv(w->srv.ep, &cx, &addr, 1, d, n, &pe, &created, resp, sizeof(resp),
                         &rl) != VQ_OK || !created)
      return 0;
  }
  if (vq_conn_new_client(&w->cli.conn, &w->root, &cc, &cx) != VQ_OK)
    return 0;
  flush(&w->cli, w->lab, &cx);
  vq_lab_run(w->lab, sc->run_for ? sc->run_for : VQ_MS(120000), both_closed, w);
  vq_conn *s = peer_conn(&w->srv);
  if (s)
    vq_conn_get_stats(s, &w->srv.stats);
  vq_conn_get_stats(w->cli.conn, &w->cli.stats);
  return 1;
}

static void world_free(world *w)
{
  vq_endpoint_conn *ec = w->srv.ep ? vq_endpoint_next(w->srv.ep, NULL) : NULL;
  if (ec)
    vq_endpoint_remove(w->srv.ep, ec, &w->srv.obligations_at_free);
  vq_endpoint_free(w->srv.ep);
  vq_conn_free(w->cli.conn, &w->cli.obligations_at_free);
  vq_lab_free(w->lab);
  vq_tls_ctx_free(w->sctx);
  vq_tls_ctx_free(w->cctx);
}

static int lossy_srv_idle_endings; /* runs whose only fault was the server's idle ending */

/* The invariants of a scenario that should succeed. */
static int check_transfer(world *w, const scenario *sc)
{
  int ok = 1;
  if (!w->cli.handshake_done || !w->srv.handshake_done) {
    fprintf(stderr, "  seed %llu: handshake not done (client %d server %d)\n",
            (unsigned long long)sc->seed, w->cli.handshake_done, w->srv.handshake_done);
    ok = 0;
  }
  if (w->cli.done_streams != sc->streams) {
    fprintf(stderr, "  seed %llu: %d of %d streams done\n", (unsigned long long)sc->seed,
            w->cli.done_streams, sc->streams);
    ok = 0;
  }
  for (int i = 0; i < w->cli.nst; i++) {
    lstream *s = &w->cli.st[i];
    if (s->bad || s->received != sc->response || !s->fin_read) {
      fprintf(stderr, "  seed %llu: client stream %llu got %llu bad=%d\n",
              (unsigned long long)sc->seed, (unsigned long long)s->id,
              (unsigned long long)s->received, s->bad);
      ok = 0;
    }
  }
  for (int i = 0; i < w->srv.nst; i++) {
    lstream *s = &w->srv.st[i];
    if (s->bad || s->received != sc->request) {
      fprintf(stderr, "  seed %llu: server stream %llu got %llu bad=%d\n",
              (unsigned long long)sc->seed, (unsigned long long)s->id,
              (unsigned long long)s->received, s->bad);
      ok = 0;
    }
  }
  if (w->srv.nst != sc->streams)
    ok = 0;
  if (!w->cli.closed || w->cli.close_code != 0 || !w->cli.close_app) {
    fprintf(stderr, "  seed %llu: client closed=%d code=0x%llx\n", (unsigned long long)sc->seed,
            w->cli.closed, (unsigned long long)w->cli.close_code);
    ok = 0;
  }
  if (!w->srv.closed || !w->srv.close_by_peer || w->srv.close_code != 0) {
    if (ok && w->srv.closed && !w->srv.close_by_peer && w->srv.close_code == 0)
      lossy_srv_idle_endings++; /* everything else was right (see conn_lab_loss_5pct_many_seeds) */
    fprintf(stderr, "  seed %llu: server closed=%d by_peer=%d code=0x%llx\n",
            (unsigned long long)sc->seed, w->srv.closed, w->srv.close_by_peer,
            (unsigned long long)w->srv.close_code);
    ok = 0;
  }
  return ok;
}

/* With loss and reordering a sender may still hold bytes at the peer's close that the receiver did
 * get (a late original after its retransmission went out: the receiver closes before acknowledging
 * the copy). Those are abandoned at close; the receiver's byte-exact check above is what shows
 * delivery. On a clean link nothing may be left. */
static int run_check(scenario *sc)
{
  world w;
  if (!world_run(&w, sc)) {
    fprintf(stderr, "  setup failed\n");
    return 0;
  }
  int ok = check_transfer(&w, sc);
  world_free(&w);
  /* spec: rfc9000#13.3 — every obligation discharged: nothing owed after a clean close */
  int lossy = sc->link.loss_ppm || sc->link.reorder_ppm || sc->link.corrupt_ppm ||
              sc->link.duplicate_ppm;
  if (!lossy && (w.cli.obligations_at_free != 0 || w.srv.obligations_at_free != 0)) {
    fprintf(stderr, "  seed %llu: obligations left client %llu server %llu\n",
            (unsigned long long)sc->seed, (unsigned long long)w.cli.obligations_at_free,
            (unsigned long long)w.srv.obligations_at_free);
    ok = 0;
  }
  return ok;
}

static vq_lab_link link_ms(unsigned ms)
{
  vq_lab_link l;
  memset(&l, 0, sizeof(l));
  l.delay = VQ_MS(ms);
  return l;
}

VQ_TEST(conn_lab_handshake_and_small_request)
{
  scenario sc = {0};
  sc.seed = 1;
  sc.link = link_ms(10);
  sc.streams = 1;
  sc.request = 100;
  sc.response = 1000;
  CHECK(run_check(&sc));
}

VQ_TEST(conn_lab_idle_connection_memory)
{
  /* DESIGN.md principle 5: an established, idle connection holds little (tables start small) */
  scenario sc = {0};
  sc.seed = 9;
  sc.link = link_ms(10);
  sc.run_for = VQ_MS(2000);
  world w;
  CHECK(world_run(&w, &sc));
  CHECK(w.cli.handshake_done);
  CHECK(w.srv.handshake_done);
  fprintf(stderr, "  idle connection memory: client %zu bytes (peak %zu), server %zu (peak %zu)\n",
          w.cli.stats.mem_used, w.cli.stats.mem_peak, w.srv.stats.mem_used, w.srv.stats.mem_peak);
  CHECK(w.srv.stats.mem_used < 48 * 1024);
  CHECK(w.cli.stats.mem_used < 48 * 1024);
  CHECK_EQ(w.srv.stats.events_dropped, 0);
  world_free(&w);
}

VQ_TEST(conn_lab_bulk_one_stream)
{
  scenario sc = {0};
  sc.seed = 2;
  sc.link = link_ms(5);
  sc.link.rate_bps = 200000000u;
  sc.link.queue_bytes = 1000000;
  sc.streams = 1;
  sc.request = 10000;
  sc.response = 2000000;
  CHECK(run_check(&sc));
}

VQ_TEST(conn_lab_many_streams)
{
  scenario sc = {0};
  sc.seed = 3;
  sc.link = link_ms(20);
  sc.streams = 40;
  sc.request = 3000;
  sc.response = 20000;
  CHECK(run_check(&sc));
}

VQ_TEST(conn_lab_parallel_streams_small_budget)
{
  /* DESIGN.md principle 5: 60 parallel 300 KB responses through a 4 MiB connection budget — send
   * buffers take their share, writers are woken as acknowledgments free memory, nothing stalls */
  scenario sc = {0};
  sc.seed = 8;
  sc.link = link_ms(5);
  sc.link.rate_bps = 400000000u;
  sc.link.queue_bytes = 2000000;
  sc.streams = 60;
  sc.request = 100;
  sc.response = 300000;
  sc.mem_limit = (size_t)4 << 20;
  CHECK(run_check(&sc));
}

VQ_TEST(conn_lab_server_retry)
{
  /* spec: rfc9000#8.1.2 — the server validates the address with a Retry; the client comes back
   * with the token, the connection carries original/retry_source_connection_id (§7.3) */
  scenario sc = {0};
  sc.seed = 10;
  sc.link = link_ms(10);
  sc.streams = 3;
  sc.request = 1000;
  sc.response = 50000;
  sc.retry = 1;
  world w;
  CHECK(world_run(&w, &sc));
  vq_endpoint_stats es;
  vq_endpoint_get_stats(w.srv.ep, &es);
  CHECK_EQ(es.retries_sent, 1);
  CHECK_EQ(es.conns_created, 1);
  CHECK(check_transfer(&w, &sc));
  world_free(&w);
  /* and under loss, reordering and duplication (lost Retries and lost tokened Initials) */
  int fails = 0;
  for (uint64_t seed = 300; seed < 310; seed++) {
    sc.seed = seed;
    sc.link.loss_ppm = 50000;
    sc.link.reorder_ppm = 30000;
    sc.link.reorder_delay = VQ_MS(5);
    sc.link.duplicate_ppm = 20000;
    fails += !run_check(&sc);
  }
  CHECK_EQ(fails, 0);
}

VQ_TEST(conn_lab_server_retry_above_load)
{
  /* spec: rfc9000#8.1.2 — a Retry only under load: with one connection held (another client's,
   * half-open) and a threshold of 2 the client gets none; with a threshold of 1 it gets one, and
   * comes back with the token (original/retry_source_connection_id, §7.3); it completes both ways */
  scenario sc = {0};
  sc.link = link_ms(10);
  sc.streams = 2;
  sc.request = 1000;
  sc.response = 30000;
  sc.preload = 1;
  sc.run_for = VQ_MS(20000);
  for (uint32_t above = 1; above <= 2; above++) {
    sc.seed = 20 + above;
    sc.retry_above = above;
    world w;
    CHECK(world_run(&w, &sc));
    vq_endpoint_stats es;
    vq_endpoint_get_stats(w.srv.ep, &es);
    CHECK_EQ(es.retries_sent, above == 1 ? 1u : 0u);
    CHECK_EQ(es.conns_created, 2);
    CHECK(w.cli.handshake_done);
    CHECK(w.cli.closed);
    CHECK_EQ(w.cli.close_code, 0);
    CHECK_EQ(w.cli.done_streams, sc.streams);
    world_free(&w);
  }
  /* no load (0 connections held, threshold 1): no Retry; under loss with the Retry: completes */
  sc.preload = 0;
  sc.seed = 23;
  sc.retry_above = 1;
  world w;
  CHECK(world_run(&w, &sc));
  vq_endpoint_stats es;
  vq_endpoint_get_stats(w.srv.ep, &es);
  CHECK_EQ(es.retries_sent, 0);
  CHECK(check_transfer(&w, &sc));
  world_free(&w);
  int fails = 0;
  sc.preload = 1;
  for (uint64_t seed = 320; seed < 328; seed++) {
    sc.seed = seed;
    sc.link.loss_ppm = 50000;
    sc.link.reorder_ppm = 30000;
    sc.link.reorder_delay = VQ_MS(5);
    world w2;
    CHECK(world_run(&w2, &sc));
    vq_endpoint_get_stats(w2.srv.ep, &es);
    if (es.retries_sent < 1 || !w2.cli.handshake_done || w2.cli.done_streams != sc.streams ||
        w2.cli.close_code != 0) {
      fprintf(stderr, "  seed %llu: retries %llu handshake %d streams %d\n",
              (unsigned long long)seed, (unsigned long long)es.retries_sent, w2.cli.handshake_done,
              w2.cli.done_streams);
      fails++;
    }
    world_free(&w2);
  }
  CHECK_EQ(fails, 0);
}

VQ_TEST(conn_lab_small_windows)
{
  /* spec: rfc9000#4.1 — flow control: the transfer proceeds through MAX_STREAM_DATA / MAX_DATA */
  scenario sc = {0};
  sc.seed = 4;
  sc.link = link_ms(10);
  sc.streams = 3;
  sc.request = 50000;
  sc.response = 300000;
  sc.stream_window = 8192;
  sc.conn_window = 16384;
  CHECK(run_check(&sc));
}

VQ_TEST(conn_lab_stream_limit)
{
  /* spec: rfc9000#4.6 — more streams than the peer's MAX_STREAMS: opened as the limit rises. spec:
   * rfc9000#4.6/2, rfc9000#19.11/3 — the client never opens more than allowed (the server would
   * close with STREAM_LIMIT_ERROR, and run_check wants a clean close) */
  scenario sc = {0};
  sc.seed = 5;
  sc.link = link_ms(10);
  sc.streams = 12;
  sc.request = 10;
  sc.response = 10;
  sc.max_streams = 2;
  CHECK(run_check(&sc));
}

static int lossy(uint64_t seed, uint32_t loss, uint32_t reorder, uint32_t dup, uint32_t corrupt)
{
  scenario sc = {0};
  sc.seed = seed;
  sc.link = link_ms(15);
  sc.link.jitter = VQ_MS(3);
  sc.link.loss_ppm = loss;
  sc.link.reorder_ppm = reorder;
  sc.link.reorder_delay = VQ_MS(10);
  sc.link.duplicate_ppm = dup;
  sc.link.corrupt_ppm = corrupt;
  sc.streams = 4;
  sc.request = 20000;
  sc.response = 200000;
  return run_check(&sc);
}

VQ_TEST(conn_lab_loss_5pct_many_seeds)
{
  int fails = 0;
  lossy_srv_idle_endings = 0;
  for (uint64_t seed = 100; seed < 120; seed++)
    fails += !lossy(seed, 50000, 0, 0, 0);
  /* At most one run may end with the server's idle timeout after the client read everything and
   * closed: every datagram of the client's closing period lost (RFC 9000 §10.2.1; a limit of QUIC
   * that the lab scenarios accept too, over_seeds_idle). Which seeds hit it moves with any change
   * of the packets sent: with DPLPMTUD (larger datagrams) it is seed 100; without it, 0 of seeds
   * 100..219 here but the same ending elsewhere (conn_lab_probe_then_migrate seed 656). */
  CHECK(fails <= 1);
  CHECK_EQ(fails, lossy_srv_idle_endings);
}

VQ_TEST(conn_lab_reorder_dup_corrupt_many_seeds)
{
  int fails = 0;
  for (uint64_t seed = 200; seed < 215; seed++)
    fails += !lossy(seed, 10000, 50000, 20000, 10000);
  CHECK_EQ(fails, 0);
}

VQ_TEST(conn_lab_bad_certificate_name)
{
  /* spec: rfc9001#4.8 — a certificate for another name fails the handshake with CRYPTO_ERROR
   * 0x100 + bad_certificate (42); spec: rfc9001#4.8/1 — the TLS alert ends the connection */
  scenario sc = {0};
  sc.seed = 6;
  sc.link = link_ms(10);
  sc.streams = 1;
  sc.request = 10;
  sc.response = 10;
  sc.server_name = "example.com";
  sc.run_for = VQ_MS(10000);
  world w;
  CHECK(world_run(&w, &sc));
  CHECK(!w.cli.handshake_done);
  CHECK(w.cli.closed);
  CHECK_EQ(w.cli.close_code, (uint64_t)(0x100 + 42));
  CHECK(w.srv.closed);
  CHECK(w.srv.close_by_peer);
  CHECK_EQ(w.srv.close_code, (uint64_t)(0x100 + 42));
  world_free(&w);
}

VQ_TEST(conn_lab_idle_timeout)
{
  /* spec: rfc9000#10.1 — with the peer gone, the connection closes at the idle timeout */
  scenario sc = {0};
  sc.seed = 7;
  sc.link = link_ms(10);
  sc.link.blackhole_from = VQ_MS(200);
  sc.link.blackhole_until = VQ_TIME_NEVER;
  sc.streams = 1;
  sc.request = 10;
  sc.response = 100000000; /* never finishes: the link dies first */
  sc.run_for = VQ_MS(100000);
  world w;
  CHECK(world_run(&w, &sc));
  CHECK(w.cli.handshake_done);
  CHECK(w.cli.closed);
  CHECK(!w.cli.close_by_peer);
  CHECK(vq_lab_now(w.lab) >= VQ_MS(30000));
  CHECK(vq_lab_now(w.lab) < VQ_MS(40000));
  world_free(&w);
}

/* ---- Retry (RFC 9000 §17.2.5), found by interop with ngtcp2's server in address validation mode --- */

/* Builds a Retry from the server side of a client's first Initial: to the client's SCID, from scid,
 * with a tag over odcid (bad_tag flips a tag bit). */
static size_t make_retry(uint8_t *out, size_t cap, const uint8_t *ini, size_t ini_len, const vq_cid *scid,
                         const uint8_t *token, size_t token_len, int bad_tag)
{
  vq_pkt_header h;
  if (vq_packet_parse(ini, ini_len, 0, &h) != VQ_OK || h.type != VQ_PKT_INITIAL)
    return 0;
  vq_cid cdcid, cscid;
  (void)vq_cid_set(&cdcid, ini + h.scid_off, h.scid_len);
  (void)vq_cid_set(&cscid, ini + h.dcid_off, h.dcid_len);
  size_t tag_off = 0;
  if (vq_retry_write(out, cap, VQ_QUIC_V1, 5, &cdcid, scid, token, token_len, &tag_off) != VQ_OK)
    return 0;
  if (vq_retry_tag_compute(VQ_QUIC_V1, cscid.bytes, cscid.len, out, tag_off, out + tag_off) != VQ_OK)
    return 0;
  if (bad_tag)
    out[tag_off + 3] ^= 0x10;
  return tag_off + VQ_RETRY_TAG_LEN;
}

VQ_TEST(conn_retry_client_restarts_towards_retry_scid)
{
  /* spec: rfc9000#17.2.5.2 — the client validates the Retry's tag, takes at most one, then sends its
   * Initial to the Retry's SCID with the token, under keys of that CID, packet numbers going on.
   * spec: rfc9000#17.2.5.2/3, rfc9000#17.2.5.1/2, rfc9000#17.2.5.2/1, rfc9000#17.2.5.1/3,
   * rfc9000#8.1.2/1, rfc9000#17.2.5.3/1, rfc9000#17.2.5.3/4, rfc9000#17.2.5.2/5, rfc9000#14.1/1,
   * rfc9000#7.2/1, rfc9000#7.2/2, rfc9000#17.2.5.2/4, rfc9000#17.2.5.2/2 — each shown below */
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)1 << 28);
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof(alpn);
  char err[256];
  vq_tls_ctx *cctx = NULL;
  CHECK(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof(err)) == VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 42);
  vq_cx cx = {VQ_MS(1000), NULL, NULL, &rng, NULL};
  vq_conn_config cc = {0};
  cc.tls = cctx;
  cc.server_name = "localhost";
  vq_conn *c = NULL;
  CHECK(vq_conn_new_client(&c, &root, &cc, &cx) == VQ_OK);
  uint8_t d1[1500], d2[1500], r[512];
  size_t n1 = 0, n2 = 0;
  CHECK(vq_conn_send(c, &cx, d1, sizeof(d1), &n1) == VQ_OK);
  CHECK(n1 >= 1200); /* rfc9000#14.1/1 */
  vq_cid odcid = *vq_conn_dcid(c);
  CHECK(odcid.len >= 8); /* rfc9000#7.2/1 */
  vq_pkt_header h1;
  CHECK(vq_packet_parse(d1, n1, 0, &h1) == VQ_OK);
  vq_cid scid1;
  CHECK(vq_cid_set(&scid1, d1 + h1.scid_off, h1.scid_len) == VQ_OK);
  const uint8_t tok[] = {'t', 'o', 'k', 'e', 'n', '-', '1'};
  const uint8_t s1[] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9};
  const uint8_t s2[] = {0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8};
  vq_cid rs1, rs2;
  (void)vq_cid_set(&rs1, s1, sizeof(s1));
  (void)vq_cid_set(&rs2, s2, sizeof(s2));
  /* a Retry with a bad integrity tag is discarded (rfc9000#17.2.5.2/3) */
  size_t rl = make_retry(r, sizeof(r), d1, n1, &rs1, tok, sizeof(tok), 1);
  CHECK(rl > 0);
  cx.now += VQ_MS(1);
  CHECK(vq_conn_recv(c, &cx, r, rl, 0) == VQ_OK);
  CHECK(vq_cid_equal(vq_conn_dcid(c), &odcid)); /* rfc9000#7.2/2: unchanged until a valid packet */
  /* a Retry whose SCID is our first DCID is discarded (rfc9000#17.2.5.1/2) */
  rl = make_retry(r, sizeof(r), d1, n1, &odcid, tok, sizeof(tok), 0);
  CHECK(rl > 0);
  CHECK(vq_conn_recv(c, &cx, r, rl, 0) == VQ_OK);
  CHECK(vq_cid_equal(vq_conn_dcid(c), &odcid));
  /* a Retry with an empty token is discarded (rfc9000#17.2.5.2/4) */
  rl = make_retry(r, sizeof(r), d1, n1, &rs2, tok, 1, 0); /* a 1-byte token, then cut it off */
  CHECK(rl > VQ_RETRY_TAG_LEN + 1);
  size_t no_tok = rl - VQ_RETRY_TAG_LEN - 1;
  CHECK(vq_retry_tag_compute(VQ_QUIC_V1, odcid.bytes, odcid.len, r, no_tok, r + no_tok) == VQ_OK);
  rl = no_tok + VQ_RETRY_TAG_LEN;
  CHECK(vq_conn_recv(c, &cx, r, rl, 0) == VQ_OK);
  CHECK(vq_cid_equal(vq_conn_dcid(c), &odcid));
  /* a good one is followed */
  rl = make_retry(r, sizeof(r), d1, n1, &rs1, tok, sizeof(tok), 0);
  CHECK(vq_conn_recv(c, &cx, r, rl, 0) == VQ_OK);
  CHECK(vq_cid_equal(vq_conn_dcid(c), &rs1));
  /* a second one is not (rfc9000#17.2.5.2/1) */
  rl = make_retry(r, sizeof(r), d1, n1, &rs2, tok, sizeof(tok), 0);
  CHECK(vq_conn_recv(c, &cx, r, rl, 0) == VQ_OK);
  CHECK(vq_cid_equal(vq_conn_dcid(c), &rs1));
  /* the next datagram: an Initial to rs1 with the token, padded, decryptable with rs1's keys, the
   * ClientHello again from offset 0, and a packet number after the first one's */
  CHECK(vq_conn_send(c, &cx, d2, sizeof(d2), &n2) == VQ_OK);
  CHECK(n2 >= 1200);
  vq_pkt_header h;
  CHECK(vq_packet_parse(d2, n2, 0, &h) == VQ_OK);
  CHECK(h.type == VQ_PKT_INITIAL);
  CHECK(h.dcid_len == sizeof(s1) && memcmp(d2 + h.dcid_off, s1, sizeof(s1)) == 0);
  CHECK(h.token_len == sizeof(tok) && memcmp(d2 + h.token_off, tok, sizeof(tok)) == 0);
  /* the client's Source CID is the one of its first Initial (rfc9000#17.2.5.2/5) */
  CHECK(h.scid_len == scid1.len && memcmp(d2 + h.scid_off, scid1.bytes, scid1.len) == 0);
  vq_pp_key kc, ks;
  vq_pp_key_init(&kc);
  vq_pp_key_init(&ks);
  CHECK(vq_pp_key_install_initial(&kc, &ks, VQ_QUIC_V1, s1, sizeof(s1)) == VQ_OK);
  vq_unprotected u;
  CHECK(vq_packet_unprotect(&kc, d2, h.packet_len, h.pn_off, -1, &u) == VQ_OK);
  CHECK(u.pn >= 1);
  vq_frame f;
  size_t used = 0, off = 0;
  int crypto_at_0 = 0;
  while (off < u.payload_len &&
         vq_frame_parse(d2 + u.payload_offset + off, u.payload_len - off, &f, &used) == VQ_OK) {
    if (f.type == VQ_FRAME_CRYPTO && f.crypto.offset == 0 && f.crypto.len > 0)
      crypto_at_0 = 1;
    off += used;
  }
  CHECK(crypto_at_0);
  vq_pp_key_discard(&kc);
  vq_pp_key_discard(&ks);
  /* spec: rfc9000#8.1.3/3, rfc9000#8.1.3/12 — the Retry's token was for this attempt only: a later
   * connection (same TLS context, same memory, the first one still there) starts without a token */
  vq_conn *c2 = NULL;
  CHECK(vq_conn_new_client(&c2, &root, &cc, &cx) == VQ_OK);
  CHECK(vq_conn_send(c2, &cx, d2, sizeof(d2), &n2) == VQ_OK);
  CHECK(vq_packet_parse(d2, n2, 0, &h) == VQ_OK);
  CHECK(h.type == VQ_PKT_INITIAL);
  CHECK_EQ(h.token_len, 0);
  vq_conn_free(c2, NULL);
  vq_conn_free(c, NULL);
  vq_tls_ctx_free(cctx);
}

/* The transport parameters a peer received, decoded. */
static int peer_tp_of(vq_conn *c, int sent_by_server, vq_tp *tp)
{
  const uint8_t *b = NULL;
  size_t n = 0;
  vq_tls_peer_tp(vq_conn_tls(c), &b, &n);
  return b && vq_tp_decode(b, n, sent_by_server ? VQ_TP_SERVER : VQ_TP_CLIENT, tp) == VQ_OK;
}

VQ_TEST(conn_lab_tp_disable_active_migration)
{
  /* spec: rfc9000#9/2 — found by interop (gtlsclient --change-local-addr): a connection that drops
   * packets from a new address announces disable_active_migration, both as server and client */
  scenario sc = {0};
  sc.seed = 8;
  sc.link = link_ms(5);
  sc.streams = 1;
  sc.request = 10;
  sc.response = 10;
  world w;
  CHECK(world_run(&w, &sc));
  CHECK(w.cli.handshake_done);
  vq_tp tp;
  CHECK(peer_tp_of(w.cli.conn, 1, &tp));
  CHECK(vq_tp_has(&tp, VQ_TP_DISABLE_ACTIVE_MIGRATION));
  vq_conn *s = peer_conn(&w.srv);
  CHECK(s != NULL);
  if (s) {
    CHECK(peer_tp_of(s, 0, &tp));
    CHECK(vq_tp_has(&tp, VQ_TP_DISABLE_ACTIVE_MIGRATION));
  }
  world_free(&w);
}

VQ_TEST(conn_endpoint_refuses_forged_token)
{
  /* spec: rfc9000#8.1.3 — a token the server did not make (or for another address) gets no
   * connection and no answer */
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)64 << 20);
  vq_tls_ctx_config scfg = {0};
  scfg.is_server = 1;
  scfg.alpn = alpn;
  scfg.alpn_len = sizeof(alpn);
  char err[128];
  vq_tls_ctx *sctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&sctx, &scfg, err, sizeof(err)), VQ_OK);
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = sctx;
  ec.retry = 1;
  vq_endpoint *ep = NULL;
  CHECK_EQ(vq_endpoint_new(&ep, &root, &ec), VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 3);
  vq_cx cx = {VQ_MS(1), NULL, NULL, &rng, NULL};
  vq_cid d, sc;
  CHECK_EQ(vq_cid_set(&d, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08", 8), VQ_OK);
  CHECK_EQ(vq_cid_set(&sc, (const uint8_t *)"\x09\x0a\x0b\x0c", 4), VQ_OK);
  uint8_t token[40];
  memset(token, 0x52, sizeof(token));
  vq_long_header_spec hs = {VQ_PKT_INITIAL, VQ_QUIC_V1, &d, &sc, token, sizeof(token), 4, 2};
  uint8_t dg[1200];
  memset(dg, 0, sizeof(dg));
  size_t length_off = 0, pn_off = 0;
  CHECK_EQ(vq_long_header_write(dg, sizeof(dg), &hs, &length_off, &pn_off), VQ_OK);
  CHECK_EQ(vq_packet_set_length(dg, sizeof(dg), length_off, 2, sizeof(dg) - pn_off), VQ_OK);
  const uint8_t addr[] = {127, 0, 0, 1, 0x12, 0x34};
  vq_endpoint_conn *c = NULL;
  int created = 0;
  uint8_t resp[1500];
  size_t rl = 0;
  CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, sizeof(dg), &c, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK(c == NULL);
  CHECK(!created);
  CHECK_EQ(rl, (size_t)0);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(ep, &es);
  CHECK_EQ(es.tokens_refused, 1);
  CHECK_EQ(es.conns_created, 0);
  /* the same Initial without a token gets a Retry (a valid one: the client side tests verify tags) */
  vq_long_header_spec h2 = {VQ_PKT_INITIAL, VQ_QUIC_V1, &d, &sc, NULL, 0, 4, 2};
  memset(dg, 0, sizeof(dg));
  CHECK_EQ(vq_long_header_write(dg, sizeof(dg), &h2, &length_off, &pn_off), VQ_OK);
  CHECK_EQ(vq_packet_set_length(dg, sizeof(dg), length_off, 2, sizeof(dg) - pn_off), VQ_OK);
  CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, sizeof(dg), &c, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK(rl > 0);
  CHECK_EQ(vq_retry_tag_verify(VQ_QUIC_V1, d.bytes, d.len, resp, rl), VQ_OK);
  /* spec: rfc9000#17.2.5.1/1 — the Retry's Source CID is not the client's Destination CID, even
   * when the endpoint's random draw for it (predicted from a copy of its generator) equals it */
  {
    vq_rng pred = rng;
    uint8_t next[8];
    vq_rng_fill(&pred, next, sizeof(next));
    vq_cid d3;
    CHECK_EQ(vq_cid_set(&d3, next, sizeof(next)), VQ_OK);
    vq_long_header_spec h3 = {VQ_PKT_INITIAL, VQ_QUIC_V1, &d3, &sc, NULL, 0, 4, 2};
    memset(dg, 0, sizeof(dg));
    CHECK_EQ(vq_long_header_write(dg, sizeof(dg), &h3, &length_off, &pn_off), VQ_OK);
    CHECK_EQ(vq_packet_set_length(dg, sizeof(dg), length_off, 2, sizeof(dg) - pn_off), VQ_OK);
    CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, sizeof(dg), &c, &created, resp,
                              sizeof(resp), &rl), VQ_OK);
    CHECK(rl > 0);
    vq_pkt_header rh;
    CHECK_EQ(vq_packet_parse(resp, rl, 0, &rh), VQ_OK);
    CHECK(rh.type == VQ_PKT_RETRY);
    CHECK_EQ(rh.scid_len, sizeof(next));
    CHECK(memcmp(resp + rh.scid_off, next, sizeof(next)) != 0);
    CHECK_EQ(vq_retry_tag_verify(VQ_QUIC_V1, d3.bytes, d3.len, resp, rl), VQ_OK);
  }
  /* spec: rfc9000#17.2.5.1/5 — one datagram holding two token-less Initials (coalesced, 2400
   * bytes): one Retry, not two */
  {
    uint8_t two[2400];
    memset(two, 0, sizeof(two));
    vq_long_header_spec h4 = {VQ_PKT_INITIAL, VQ_QUIC_V1, &d, &sc, NULL, 0, 4, 2};
    CHECK_EQ(vq_long_header_write(two, 1200, &h4, &length_off, &pn_off), VQ_OK);
    CHECK_EQ(vq_packet_set_length(two, 1200, length_off, 2, 1200 - pn_off), VQ_OK);
    memcpy(two + 1200, two, 1200);
    vq_endpoint_stats e0, e1;
    vq_endpoint_get_stats(ep, &e0);
    CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), two, sizeof(two), &c, &created, resp,
                              sizeof(resp), &rl), VQ_OK);
    vq_endpoint_get_stats(ep, &e1);
    CHECK_EQ(e1.retries_sent, e0.retries_sent + 1);
    CHECK(rl > 0);
    vq_pkt_header rh;
    CHECK_EQ(vq_packet_parse(resp, rl, 0, &rh), VQ_OK);
    CHECK(rh.type == VQ_PKT_RETRY);
    CHECK_EQ(rh.packet_len, rl); /* the answer is that one Retry */
  }
  vq_endpoint_free(ep);
  vq_tls_ctx_free(sctx);
  CHECK_EQ(root.used, 0);
}

VQ_TEST(conn_lab_stateless_reset)
{
  /* spec: rfc9000#10.3 — a server that lost the connection answers its packets with a Stateless
   * Reset (the token it sent in its transport parameters); the client closes at once instead of
   * waiting for the idle timeout */
  scenario sc = {0};
  sc.seed = 11;
  sc.link = link_ms(10);
  sc.run_for = VQ_MS(1000);
  world w;
  CHECK(world_run(&w, &sc));
  CHECK(w.cli.handshake_done);
  vq_endpoint_conn *ec = vq_endpoint_next(w.srv.ep, NULL);
  CHECK(ec != NULL);
  vq_endpoint_remove(w.srv.ep, ec, NULL); /* the server forgets it */
  vq_cx cx = vq_lab_cx(w.lab);
  uint64_t id;
  size_t acc = 0;
  CHECK_EQ(vq_conn_stream_open(w.cli.conn, &cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(w.cli.conn, &cx, id, (const uint8_t *)"hello", 5, 1, &acc), VQ_OK);
  flush(&w.cli, w.lab, &cx);
  vq_lab_run(w.lab, VQ_MS(10000), both_closed, &w);
  app_step(&w.cli, &cx);
  CHECK(w.cli.closed);
  CHECK(w.cli.close_by_peer);
  const char *reason = "";
  (void)vq_conn_close_error(w.cli.conn, NULL, NULL, &reason);
  CHECK(strcmp(reason, "stateless reset") == 0);
  CHECK(vq_lab_now(w.lab) < VQ_MS(2000));
  vq_endpoint_stats es;
  vq_endpoint_get_stats(w.srv.ep, &es);
  CHECK(es.resets_sent >= 1);
  world_free(&w);
}

/* ---- frames injected in authentic 1-RTT packets ------------------------------------------------- */

/* An established connection (client and server in the lab, still open) whose 1-RTT secrets are
 * known: the test can send the server any frame as the client would. */
static int world_established_full(world *w, uint64_t seed, uint64_t cli_dg, uint64_t srv_dg,
                                  uint64_t conf, uint64_t integ)
{
  scenario sc = {0};
  sc.seed = seed;
  sc.cli_dgram_max = cli_dg;
  sc.srv_dgram_max = srv_dg;
  sc.srv_conf_limit = conf;
  sc.srv_integ_limit = integ;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.keylog = 1;
  return world_run(w, &sc) && w->cli.handshake_done && w->srv.handshake_done && peer_conn(&w->srv) &&
         w->csec_len > 0 && w->ssec_len > 0;
}

static int world_established_dg(world *w, uint64_t seed, uint64_t cli_dg, uint64_t srv_dg)
{
  return world_established_full(w, seed, cli_dg, srv_dg, 0, 0);
}

static int world_established_limits(world *w, uint64_t seed, uint64_t conf, uint64_t integ)
{
  return world_established_full(w, seed, 0, 0, conf, integ);
}

static int world_established(world *w, uint64_t seed) { return world_established_full(w, seed, 0, 0, 0, 0); }

/* Installs the 1-RTT key of one direction, of generation gen (0: the first). */
static int key_1rtt(world *w, int server, int gen, vq_pp_key *k)
{
  vq_pp_key_init(k);
  vq_cipher_suite cs = vq_tls_suite(vq_conn_tls(w->cli.conn));
  if (vq_pp_key_install(k, VQ_QUIC_V1, cs, server ? w->ssec : w->csec,
                        server ? w->ssec_len : w->csec_len) != VQ_OK)
    return 0;
  for (int g = 0; g < gen; g++) {
    vq_pp_key n;
    vq_pp_key_init(&n);
    if (vq_pp_key_update(k, &n) != VQ_OK)
      return 0;
    vq_pp_key_discard(k);
    *k = n;
  }
  return 1;
}

/* A 1-RTT packet from the client with the given payload (frames), packet number pn, under the keys
 * of generation gen (key phase gen & 1), to dcid, with the given spin bit. */
static int build_1rtt_to_spin(world *w, const vq_cid *dcid, const uint8_t *payload, size_t plen,
                              uint64_t pn, unsigned gen, unsigned spin, uint8_t buf[1500], size_t *outp)
{
  vq_pp_key k;
  unsigned phase = gen & 1u;
  if (!key_1rtt(w, 0, (int)gen, &k))
    return 0;
  size_t pn_off = 0, out = 0;
  int ok = vq_short_header_write(buf, 1500, dcid, spin, phase, 4, &pn_off) == VQ_OK &&
           vq_pn_write(buf + pn_off, 1500 - pn_off, pn, 4) == VQ_OK && pn_off + 4 + plen < 1400;
  if (ok) {
    if (plen)
      memcpy(buf + pn_off + 4, payload, plen);
    ok = vq_packet_protect(&k, buf, 1500, pn_off, 4, pn, plen, &out) == VQ_OK;
  }
  vq_pp_key_discard(&k);
  *outp = out;
  return ok;
}

static int build_1rtt(world *w, const uint8_t *payload, size_t plen, uint64_t pn, unsigned gen,
                      uint8_t buf[1500], size_t *outp)
{
  return build_1rtt_to_spin(w, vq_conn_dcid(w->cli.conn), payload, plen, pn, gen, 0, buf, outp);
}

static int build_1rtt_spin(world *w, const uint8_t *payload, size_t plen, uint64_t pn, unsigned gen,
                           unsigned spin, uint8_t buf[1500], size_t *outp)
{
  return build_1rtt_to_spin(w, vq_conn_dcid(w->cli.conn), payload, plen, pn, gen, spin, buf, outp);
}

static int build_1rtt_to(world *w, const vq_cid *dcid, const uint8_t *payload, size_t plen,
                         uint64_t pn, unsigned gen, uint8_t buf[1500], size_t *outp)
{
  return build_1rtt_to_spin(w, dcid, payload, plen, pn, gen, 0, buf, outp);
}

/* A 1-RTT packet from the client to dcid handed to the server's endpoint as if from addr (NULL: the
 * client's lab address). Returns the connection it went to (NULL: none); *rl gets the size of the
 * endpoint's answer (a Stateless Reset), *bl the datagram's. */
/* ep_inject at the server's preferred address (at_pa 1: vq_endpoint_recv_at) or its original one. */
static vq_endpoint_conn *ep_inject_at(world *w, int at_pa, const vq_cid *dcid, const uint8_t *payload,
                                      size_t plen, uint64_t pn, const uint8_t *addr, size_t addr_len,
                                      size_t *rl, size_t *bl)
{
  uint8_t b[1500], resp[1500];
  size_t n = 0;
  *rl = 0;
  if (!build_1rtt_to(w, dcid, payload, plen, pn, 0, b, &n))
    return NULL;
  if (bl)
    *bl = n;
  uint8_t own = (uint8_t)w->cli.node;
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  vq_cx cx = vq_lab_cx(w->lab);
  (void)vq_endpoint_recv_at(w->srv.ep, &cx, at_pa, addr ? addr : &own, addr ? addr_len : 1, b, n, 0,
                            &ec, &created, resp, sizeof(resp), rl);
  return ec;
}

static vq_endpoint_conn *ep_inject(world *w, const vq_cid *dcid, const uint8_t *payload, size_t plen,
                                   uint64_t pn, const uint8_t *addr, size_t addr_len, size_t *rl,
                                   size_t *bl)
{
  uint8_t b[1500], resp[1500];
  size_t n = 0;
  *rl = 0;
  if (!build_1rtt_to(w, dcid, payload, plen, pn, 0, b, &n))
    return NULL;
  if (bl)
    *bl = n;
  uint8_t own = (uint8_t)w->cli.node;
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  vq_cx cx = vq_lab_cx(w->lab);
  (void)vq_endpoint_recv(w->srv.ep, &cx, addr ? addr : &own, addr ? addr_len : 1, b, n, &ec,
                         &created, resp, sizeof(resp), rl);
  return ec;
}

static int inject_1rtt(world *w, const uint8_t *payload, size_t plen, uint64_t pn, unsigned gen)
{
  uint8_t buf[1500];
  size_t out = 0;
  if (!build_1rtt(w, payload, plen, pn, gen, buf, &out))
    return 0;
  vq_cx cx = vq_lab_cx(w->lab);
  return vq_conn_recv(peer_conn(&w->srv), &cx, buf, out, 0) == VQ_OK;
}

/* A packet number above everything the client sent. */
static uint64_t next_pn(world *w)
{
  vq_conn_stats st;
  vq_conn_get_stats(w->cli.conn, &st);
  return st.pkts_sent + 1000;
}

/* What the server sends next, decrypted with its generation-gen 1-RTT key: counts PATH_RESPONSE
 * frames carrying data, and whether an ACK frame acknowledges pn. *phase gets the key phase bit. */
static uint64_t reply_pn, reply_close;  /* of the last server_reply: its packet number, the
                                          * error code of a CONNECTION_CLOSE 0x1c in it (or ~0) */
static uint64_t reply_reset_id, reply_reset_code; /* and of a RESET_STREAM in it (id ~0 if none) */
static uint64_t reply_retired;   /* bit s: a RETIRE_CONNECTION_ID of sequence s (< 64) in it */
static uint64_t reply_new_cids, reply_new_cid_max; /* NEW_CONNECTION_ID frames, largest sequence */
static size_t reply_len;         /* the datagram's size */
static uint8_t reply_first;      /* its first byte (the spin bit is not under header protection) */
static int reply_frames, reply_eliciting; /* frames in it, ack-eliciting ones among them */
static vq_cid reply_dcid;        /* its Destination CID */
static int reply_challenge;      /* it carries a PATH_CHALLENGE, whose data is: */
static uint8_t reply_challenge_data[8];

static int server_reply(world *w, int gen, const uint8_t data[8], uint64_t pn, int *path_responses,
                        int *acked, unsigned *phase)
{
  reply_close = ~(uint64_t)0;
  reply_reset_id = ~(uint64_t)0;
  reply_retired = reply_new_cids = reply_new_cid_max = 0;
  reply_len = 0;
  reply_challenge = 0;
  reply_frames = reply_eliciting = 0;
  uint8_t buf[1500];
  size_t n = 0;
  vq_cx cx = vq_lab_cx(w->lab);
  if (vq_conn_send(peer_conn(&w->srv), &cx, buf, sizeof(buf), &n) != VQ_OK)
    return -1;
  if (n == 0)
    return 0;
  vq_pkt_header h;
  if (vq_packet_parse(buf, n, vq_conn_scid(w->cli.conn)->len, &h) != VQ_OK || h.type != VQ_PKT_1RTT)
    return -1;
  reply_len = n;
  reply_first = buf[0];
  (void)vq_cid_set(&reply_dcid, buf + h.dcid_off, h.dcid_len);
  vq_pp_key k;
  if (!key_1rtt(w, 1, gen, &k))
    return -1;
  vq_unprotected u;
  vq_status st = vq_packet_unprotect(&k, buf, h.packet_len, h.pn_off, -1, &u);
  vq_pp_key_discard(&k);
  if (st != VQ_OK)
    return -1;
  *phase = (buf[0] >> 2) & 1u;
  reply_pn = u.pn;
  size_t off = 0, used = 0;
  vq_frame f;
  while (off < u.payload_len &&
         vq_frame_parse(buf + u.payload_offset + off, u.payload_len - off, &f, &used) == VQ_OK) {
    if (f.type == VQ_FRAME_PATH_RESPONSE && memcmp(f.path.data, data, 8) == 0)
      (*path_responses)++;
    if ((f.type == VQ_FRAME_ACK || f.type == VQ_FRAME_ACK_ECN) && f.ack.largest == pn)
      *acked = 1;
    if (f.type == VQ_FRAME_CONNECTION_CLOSE)
      reply_close = f.close.error_code;
    if (f.type == VQ_FRAME_RESET_STREAM) {
      reply_reset_id = f.reset_stream.stream_id;
      reply_reset_code = f.reset_stream.error_code;
    }
    if (f.type == VQ_FRAME_RETIRE_CONNECTION_ID && f.retire_cid.sequence < 64)
      reply_retired |= (uint64_t)1 << f.retire_cid.sequence;
    if (f.type == VQ_FRAME_NEW_CONNECTION_ID) {
      reply_new_cids++;
      if (f.new_cid.sequence > reply_new_cid_max)
        reply_new_cid_max = f.new_cid.sequence;
    }
    if (f.type == VQ_FRAME_PATH_CHALLENGE) {
      reply_challenge = 1;
      memcpy(reply_challenge_data, f.path.data, 8);
    }
    reply_frames++;
    if (f.type != VQ_FRAME_ACK && f.type != VQ_FRAME_ACK_ECN && f.type != VQ_FRAME_PADDING &&
        f.type != VQ_FRAME_CONNECTION_CLOSE && f.type != VQ_FRAME_CONNECTION_CLOSE_APP)
      reply_eliciting = 1;
    off += used;
  }
  /* spec: rfc9000#12.4/1 — every packet the server sends holds at least one frame (all of them
   * parse): checked on each reply of the tests below */
  if (reply_frames == 0 || off != u.payload_len)
    return -1;
  return 1;
}

typedef struct bad_frame {
  const char *what;
  uint8_t bytes[16];
  size_t len;
  uint64_t code; /* the transport error the server closes with */
} bad_frame;

VQ_TEST(conn_inject_frame_errors)
{
  /* Each frame alone in a 1-RTT packet from the client: the server closes with the error the RFC
   * names. (Stream 1: server-initiated bidirectional, not yet created; 2: client-initiated
   * unidirectional, receive-only for the server; 3: server-initiated unidirectional, send-only.)
   * spec: rfc9000#19.20/2, rfc9000#19.7/4, rfc9000#19.16/1, rfc9000#19.5/1, rfc9000#19.5/2,
   * rfc9000#19.10/1, rfc9000#19.10/2, rfc9000#19.4/1, rfc9000#19.13/2, rfc9000#19.8/1,
   * rfc9000#4.6/3, rfc9000#19.11/4, rfc9000#12.4/2, rfc9000#7.5/3 — one row each below;
   * spec: rfc9000#10.3/2, rfc9000#11.1/1 — each error is signalled with a CONNECTION_CLOSE frame
   * (checked in the server's next packet) */
  static const bad_frame cases[] = {
      {"HANDSHAKE_DONE to a server (rfc9000#19.20/2)", {0x1e}, 1, VQ_TE_PROTOCOL_VIOLATION},
      {"NEW_TOKEN to a server (rfc9000#19.7/4)", {0x07, 0x01, 0x78}, 3, VQ_TE_PROTOCOL_VIOLATION},
      {"RETIRE_CONNECTION_ID of a sequence never sent (rfc9000#19.16/1)", {0x19, 0x05}, 2,
       VQ_TE_PROTOCOL_VIOLATION},
      {"STOP_SENDING, local stream not created (rfc9000#19.5/1)", {0x05, 0x01, 0x00}, 3,
       VQ_TE_STREAM_STATE_ERROR},
      {"STOP_SENDING, receive-only stream (rfc9000#19.5/2)", {0x05, 0x02, 0x00}, 3,
       VQ_TE_STREAM_STATE_ERROR},
      {"MAX_STREAM_DATA, local stream not created (rfc9000#19.10/1)", {0x11, 0x01, 0x40, 0x64}, 4,
       VQ_TE_STREAM_STATE_ERROR},
      {"MAX_STREAM_DATA, receive-only stream (rfc9000#19.10/2)", {0x11, 0x02, 0x40, 0x64}, 4,
       VQ_TE_STREAM_STATE_ERROR},
      {"RESET_STREAM, send-only stream (rfc9000#19.4/1)", {0x04, 0x03, 0x00, 0x00}, 4,
       VQ_TE_STREAM_STATE_ERROR},
      {"STREAM_DATA_BLOCKED, send-only stream (rfc9000#19.13/2)", {0x15, 0x03, 0x00}, 3,
       VQ_TE_STREAM_STATE_ERROR},
      {"STREAM, local stream not created (rfc9000#19.8/1)", {0x0a, 0x01, 0x01, 0x78}, 4,
       VQ_TE_STREAM_STATE_ERROR},
      {"STREAM beyond the advertised limit (rfc9000#4.6/3, rfc9000#19.11/4)",
       {0x0a, 0x80, 0x00, 0x3e, 0x80, 0x01, 0x78}, 7, VQ_TE_STREAM_LIMIT_ERROR},
      {"a packet without frames (rfc9000#12.4/2)", {0}, 0, VQ_TE_PROTOCOL_VIOLATION},
      {"CRYPTO beyond the 64 KiB reassembly bound (rfc9000#7.5/3)",
       {0x06, 0x80, 0x01, 0x11, 0x70, 0x01, 0x78}, 7, VQ_TE_CRYPTO_BUFFER_EXCEEDED},
      /* spec: rfc9000#5.2/2 — the error comes after a frame that was processed (new stream 4, one
       * byte and FIN): a connection error, not a silent drop of the packet */
      {"STREAM processed, then STOP_SENDING for a receive-only stream (rfc9000#5.2/2)",
       {0x0b, 0x04, 0x01, 'x', 0x05, 0x02, 0x00}, 7, VQ_TE_STREAM_STATE_ERROR},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    world w;
    CHECK(world_established(&w, 40 + i));
    vq_conn *s = peer_conn(&w.srv);
    if (s && w.csec_len) {
      CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
      CHECK(inject_1rtt(&w, cases[i].bytes, cases[i].len, next_pn(&w), 0));
      int app = -1;
      uint64_t code = vq_conn_close_error(s, &app, NULL, NULL);
      if (vq_conn_get_state(s) != VQ_CONN_CLOSING || app != 0 || code != cases[i].code)
        fprintf(stderr, "  %s: state %d app %d code 0x%llx\n", cases[i].what, (int)vq_conn_get_state(s),
                app, (unsigned long long)code);
      CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSING);
      CHECK_EQ(app, 0);
      CHECK_EQ(code, cases[i].code);
      /* spec: rfc9000#10.2.3/1 — the handshake is confirmed: the CONNECTION_CLOSE goes out in a
       * 1-RTT packet (it decrypts with the server's 1-RTT key) */
      int responses = 0, acked = 0;
      unsigned phase = 0;
      CHECK_EQ(server_reply(&w, 0, (const uint8_t[8]){0}, 0, &responses, &acked, &phase), 1);
      CHECK_EQ(reply_close, cases[i].code);
    }
    world_free(&w);
  }
}

VQ_TEST(conn_inject_path_challenge_duplicate_key_update)
{
  world w;
  CHECK(world_established(&w, 60));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    const uint8_t data[8] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
    uint8_t pl[10] = {0x1a};
    memcpy(pl + 1, data, 8);
    pl[9] = 0x01; /* PING */
    uint64_t pn = next_pn(&w);
    vq_conn_stats a, b;
    vq_conn_get_stats(s, &a);
    CHECK(inject_1rtt(&w, pl, sizeof(pl), pn, 0));
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv + 1);
    /* spec: rfc9000#12.3/4, rfc9000#12.3/5 — the same packet again (it authenticates) is discarded
     * as a duplicate */
    CHECK(inject_1rtt(&w, pl, sizeof(pl), pn, 0));
    vq_conn_get_stats(s, &a);
    CHECK_EQ(a.pkts_recv, b.pkts_recv);
    CHECK_EQ(a.pkts_dropped, b.pkts_dropped + 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    /* spec: rfc9000#8.2.2/1, rfc9000#19.17/1 — the server answers with PATH_RESPONSE echoing the
     * data; spec: rfc9000#8.2.2/7 — once, though the challenge arrived twice and the server sends
     * again; spec: rfc9000#13.2.6/1, rfc9000#13.2.6/2, rfc9000#17.2.3/4 — the 1-RTT packet is
     * acknowledged in a 1-RTT packet (decrypted with the 1-RTT key) */
    int responses = 0, acked = 0;
    unsigned phase = 9;
    CHECK_EQ(server_reply(&w, 0, data, pn, &responses, &acked, &phase), 1);
    CHECK_EQ(responses, 1);
    CHECK(acked);
    CHECK_EQ(phase, 0u);
    uint64_t first_pn = reply_pn;
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 1, 0));
    int r = server_reply(&w, 0, data, pn + 1, &responses, &acked, &phase);
    CHECK(r >= 0);
    CHECK_EQ(responses, 1);
    /* spec: rfc9001#6.2/1, rfc9001#6.2/2, rfc9001#6.3/5 — the client updates its keys (key phase 1,
     * next generation): the server, holding the next read keys, takes the packet, and what it sends next, with the ACK of that packet,
     * is protected with its own next-generation keys and key phase 1 */
    /* spec: rfc9001#5.5/2, rfc9001#5.5/1 — a packet with key phase 1 that the next keys do not
     * unprotect (generation 3, phase 1) is discarded, and starts no key update */
    vq_conn_get_stats(s, &a);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 50, 3));
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv);
    CHECK_EQ(b.pkts_dropped, a.pkts_dropped + 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    memcpy(pl + 1, data, 8);
    pl[1] ^= 0xff;
    uint8_t data2[8];
    memcpy(data2, pl + 1, 8);
    vq_conn_get_stats(s, &a);
    CHECK(inject_1rtt(&w, pl, sizeof(pl), pn + 2, 1));
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv + 1);
    responses = 0;
    acked = 0;
    CHECK_EQ(server_reply(&w, 1, data2, pn + 2, &responses, &acked, &phase), 1);
    /* spec: rfc9000#12.3/1, rfc9000#12.3/2, rfc9000#17.2.3/2 — a later packet has a higher number */
    CHECK(reply_pn > first_pn);
    CHECK_EQ(phase, 1u);
    CHECK(acked);
    CHECK_EQ(responses, 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
  }
  world_free(&w);
}

VQ_TEST(conn_inject_benign_frames)
{
  world w;
  CHECK(world_established(&w, 70));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    uint64_t pn = next_pn(&w);
    /* spec: rfc9000#7.2/4 — the client sends to the Source CID of the server's Initial; spec:
     * rfc9000#7.2/5 — the server to the Source CID of the client's first Initial */
    CHECK(vq_cid_equal(vq_conn_dcid(w.cli.conn), vq_conn_scid(s)));
    CHECK(vq_cid_equal(vq_conn_dcid(s), vq_conn_scid(w.cli.conn)));
    vq_conn_event ev;
    while (vq_conn_poll_event(s, &ev))
      ;
    /* spec: rfc9000#3.2/1 — a STREAM frame for stream 8 opens the client's bidirectional streams 0
     * and 4 first */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x0a, 0x08, 0x01, 0x78}, 4, pn++, 0));
    uint64_t opened[4];
    int nopened = 0;
    while (vq_conn_poll_event(s, &ev))
      if (ev.type == VQ_CONN_EV_STREAM_OPENED && nopened < 4)
        opened[nopened++] = ev.stream_id;
    CHECK_EQ(nopened, 3);
    if (nopened == 3) {
      CHECK_EQ(opened[0], 0);
      CHECK_EQ(opened[1], 4);
      CHECK_EQ(opened[2], 8);
    }
    /* spec: rfc9000#4.6/4, rfc9000#19.11/2 — MAX_STREAMS (bidirectional) 0 does not lower the
     * client's limit (100): the server still opens a stream */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x12, 0x00}, 2, pn++, 0));
    vq_cx cx = vq_lab_cx(w.lab);
    uint64_t sid = 0;
    CHECK_EQ(vq_conn_stream_open(s, &cx, 1, &sid), VQ_OK);
    /* spec: rfc9000#13.3/5 — an outdated MAX_DATA (0) is accepted; spec: rfc9000#19.15/4 — the
     * same NEW_CONNECTION_ID twice is no error (sequence 4 retiring those below 1: the client
     * issued 1..3 itself, so four stay active, the server's limit) */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x10, 0x00}, 2, pn++, 0));
    static const uint8_t ncid[] = {0x18, 0x04, 0x01, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4,
                                   5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    CHECK(inject_1rtt(&w, ncid, sizeof(ncid), pn++, 0));
    CHECK(inject_1rtt(&w, ncid, sizeof(ncid), pn++, 0));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    /* spec: rfc9000#7.5/1 — CRYPTO data 4000 bytes ahead of what was read is buffered, no error */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x06, 0x4f, 0xa0, 0x01, 0x78}, 5, pn++, 0));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    /* drain what the server has to say now (the new stream, ACKs) */
    uint8_t buf[1500];
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
      CHECK_EQ(vq_conn_send(s, &cx, buf, sizeof(buf), &n), VQ_OK);
      if (n == 0)
        break;
    }
    /* spec: rfc9000#13.2.1/4 — a packet of PADDING only (not ack-eliciting) makes the server send
     * nothing */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x00, 0x00, 0x00}, 3, pn++, 0));
    CHECK_EQ(vq_conn_send(s, &cx, buf, sizeof(buf), &n), VQ_OK);
    CHECK_EQ(n, (size_t)0);
    /* spec: rfc9000#13.2.1/2 — two ack-eliciting packets are acknowledged at once; spec:
     * rfc9000#13.2.1/3 — by one packet only */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn++, 0));
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn++, 0));
    CHECK_EQ(vq_conn_send(s, &cx, buf, sizeof(buf), &n), VQ_OK);
    CHECK(n > 0);
    CHECK_EQ(vq_conn_send(s, &cx, buf, sizeof(buf), &n), VQ_OK);
    CHECK_EQ(n, (size_t)0);
    /* spec: rfc9000#3.5/2, rfc9000#3.5/5 — STOP_SENDING on the server's stream (in "Ready":
     * nothing sent yet) makes it send RESET_STREAM, with the error code of the STOP_SENDING */
    CHECK(sid == 1);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x05, 0x01, 0x07}, 3, pn++, 0));
    {
      int responses = 0, acked = 0;
      unsigned phase = 0;
      CHECK_EQ(server_reply(&w, 0, (const uint8_t[8]){0}, 0, &responses, &acked, &phase), 1);
      CHECK_EQ(reply_reset_id, sid);
      CHECK_EQ(reply_reset_code, 7);
    }
    /* spec: rfc9000#10.2.2/1, rfc9000#10.2.2/3 — on CONNECTION_CLOSE the server drains and sends
     * nothing more, whatever arrives */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x1c, 0x00, 0x00, 0x00}, 4, pn++, 0));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_DRAINING);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn++, 0));
    CHECK_EQ(vq_conn_send(s, &cx, buf, sizeof(buf), &n), VQ_OK);
    CHECK_EQ(n, (size_t)0);
  }
  world_free(&w);
}

VQ_TEST(conn_app_close_in_initial_becomes_transport_close)
{
  /* spec: rfc9000#10.2.3/6, rfc9000#10.2.3/7 — an application close before the handshake goes out in
   * an Initial packet as CONNECTION_CLOSE 0x1c with APPLICATION_ERROR and an empty reason */
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)1 << 28);
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof(alpn);
  char err[256];
  vq_tls_ctx *cctx = NULL;
  CHECK(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof(err)) == VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 43);
  vq_cx cx = {VQ_MS(1000), NULL, NULL, &rng, NULL};
  vq_conn_config cc = {0};
  cc.tls = cctx;
  cc.server_name = "localhost";
  vq_conn *c = NULL;
  CHECK(vq_conn_new_client(&c, &root, &cc, &cx) == VQ_OK);
  uint8_t d[1500];
  size_t n = 0;
  CHECK(vq_conn_send(c, &cx, d, sizeof(d), &n) == VQ_OK);
  vq_cid odcid = *vq_conn_dcid(c);
  CHECK(vq_conn_close(c, &cx, 1, 0x42, "secret reason") == VQ_OK);
  CHECK(vq_conn_send(c, &cx, d, sizeof(d), &n) == VQ_OK);
  CHECK(n > 0);
  vq_pkt_header h;
  CHECK(vq_packet_parse(d, n, 0, &h) == VQ_OK);
  CHECK(h.type == VQ_PKT_INITIAL);
  vq_pp_key kc, ks;
  vq_pp_key_init(&kc);
  vq_pp_key_init(&ks);
  CHECK(vq_pp_key_install_initial(&kc, &ks, VQ_QUIC_V1, odcid.bytes, odcid.len) == VQ_OK);
  vq_unprotected u;
  int closes = 0;
  if (vq_packet_unprotect(&kc, d, h.packet_len, h.pn_off, -1, &u) == VQ_OK) {
    vq_frame f;
    size_t used = 0, off = 0;
    while (off < u.payload_len &&
           vq_frame_parse(d + u.payload_offset + off, u.payload_len - off, &f, &used) == VQ_OK) {
      CHECK(f.type != VQ_FRAME_CONNECTION_CLOSE_APP);
      if (f.type == VQ_FRAME_CONNECTION_CLOSE) {
        closes++;
        CHECK_EQ(f.close.error_code, VQ_TE_APPLICATION_ERROR);
        CHECK_EQ(f.close.reason_len, (size_t)0);
      }
      off += used;
    }
  }
  CHECK_EQ(closes, 1);
  vq_pp_key_discard(&kc);
  vq_pp_key_discard(&ks);
  vq_conn_free(c, NULL);
  vq_tls_ctx_free(cctx);
  CHECK_EQ(root.used, 0);
}

/* A fill hook for vq_rng: the first draw of first.len bytes gives first, every other 0x77s. */
typedef struct fill_first {
  vq_cid first;
  int calls;
} fill_first;
static int fill_first_then_77(void *ud, uint8_t *out, size_t len)
{
  fill_first *f = ud;
  if (len == f->first.len && f->calls++ == 0)
    memcpy(out, f->first.bytes, len);
  else
    memset(out, 0x77, len);
  return 0;
}

/* A client Initial (zero padded to 1200 bytes) to dcid, from the 4-byte CID 01020304. */
static void initial_to(uint8_t dg[1200], const vq_cid *dcid)
{
  const uint8_t scid2[4] = {1, 2, 3, 4};
  vq_cid s2;
  (void)vq_cid_set(&s2, scid2, 4);
  vq_long_header_spec hs = {VQ_PKT_INITIAL, VQ_QUIC_V1, dcid, &s2, NULL, 0, 4, 2};
  memset(dg, 0, 1200);
  size_t length_off = 0, pn_off = 0;
  (void)vq_long_header_write(dg, 1200, &hs, &length_off, &pn_off);
  (void)vq_packet_set_length(dg, 1200, length_off, 2, 1200 - pn_off);
}

VQ_TEST(conn_endpoint_cid_not_reused_while_live)
{
  /* spec: rfc9000#10.3.2/3 — the endpoint's CIDs are a keyed permutation of its counter (the
   * permutation under the same reset key computes them here: m). A minted CID that routes to a live
   * connection (whose stateless reset token under the endpoint's static key would then be shared) —
   * here the first client's chosen Initial DCID — is skipped for the next counter value; spec:
   * rfc9000#17.2.5.1/1 — so is one equal to the Initial's DCID (it would be the Retry's Source CID) */
  static const uint8_t rk[32] = {0x17, 0x2e};
  vq_cid_minter m;
  vq_cid p[5];
  CHECK_EQ(vq_cid_minter_init(&m, rk, 8, 0, 0), VQ_OK);
  for (int i = 0; i < 5; i++)
    CHECK_EQ(vq_cid_minter_next(&m, &p[i], NULL), VQ_OK);
  vq_cid_minter_free(&m);
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)1 << 28);
  vq_tls_ctx_config scfg = {0}, ccfg = {0};
  scfg.is_server = 1;
  scfg.alpn = ccfg.alpn = alpn;
  scfg.alpn_len = ccfg.alpn_len = sizeof(alpn);
  ccfg.insecure = 1;
  char err[256];
  vq_tls_ctx *sctx = NULL, *cctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&sctx, &scfg, err, sizeof(err)), VQ_OK);
  CHECK_EQ(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof(err)), VQ_OK);
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = sctx;
  ec.reset_key = rk;
  ec.retry_above = 1; /* the first client gets a connection, later ones a Retry */
  vq_endpoint *ep = NULL;
  CHECK_EQ(vq_endpoint_new(&ep, &root, &ec), VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 11);
  vq_cx cx = {VQ_MS(1000), NULL, NULL, &rng, NULL};
  /* the first client's Initial DCID is the endpoint's CID of counter 1 */
  fill_first ff = {p[1], 0};
  rng.fill = fill_first_then_77;
  rng.fill_ud = &ff;
  vq_conn_config cc = {0};
  cc.tls = cctx;
  cc.server_name = "localhost";
  vq_conn *cli = NULL;
  CHECK(vq_conn_new_client(&cli, &root, &cc, &cx) == VQ_OK);
  rng.fill = NULL;
  uint8_t d[1500], resp[1500];
  size_t n = 0, rl = 0;
  if (cli) CHECK(vq_conn_send(cli, &cx, d, sizeof(d), &n) == VQ_OK);
  if (cli) CHECK(vq_cid_equal(vq_conn_dcid(cli), &p[1]));
  const uint8_t addr[] = {127, 0, 0, 1, 0x12, 0x34}, addr2[] = {127, 0, 0, 2, 0x12, 0x34};
  vq_endpoint_conn *c = NULL;
  int created = 0;
  if (ep && n) {
    CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), d, n, &c, &created, resp, sizeof(resp), &rl),
             VQ_OK);
  }
  CHECK(created && c);
  vq_cid first = {0};
  if (c) CHECK(vq_conn_local_cid(c->conn, 0, &first, NULL));
  CHECK(vq_cid_equal(&first, &p[0])); /* counter 0 */
  /* another client's Initial: a Retry, whose Source CID would be counter 1 (routes to the first
   * connection: its original DCID), so it is counter 2 */
  const uint8_t dcid2[8] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8};
  vq_cid d2;
  CHECK_EQ(vq_cid_set(&d2, dcid2, 8), VQ_OK);
  uint8_t dg[1200];
  vq_pkt_header h;
  for (int k = 0; k < 2; k++) {
    /* then an Initial whose DCID is counter 3: the Retry's Source CID is counter 4 */
    initial_to(dg, k == 0 ? &d2 : &p[3]);
    rl = 0;
    vq_endpoint_conn *c2 = NULL;
    if (ep)
      CHECK_EQ(vq_endpoint_recv(ep, &cx, addr2, sizeof(addr2), dg, sizeof(dg), &c2, &created, resp,
                                sizeof(resp), &rl),
               VQ_OK);
    CHECK(rl > 0 && c2 == NULL);
    if (rl > 0 && vq_packet_parse(resp, rl, 0, &h) == VQ_OK) {
      CHECK_EQ(h.type, VQ_PKT_RETRY);
      CHECK_EQ(h.scid_len, 8);
      CHECK(memcmp(resp + h.scid_off, p[k == 0 ? 2 : 4].bytes, 8) == 0);
    } else {
      CHECK(0);
    }
  }
  vq_conn_free(cli, NULL);
  vq_endpoint_free(ep);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
  CHECK_EQ(root.used, 0);
}

/* A long header datagram of len bytes (zero padded) with the given version, DCID and SCID. */
static size_t raw_long(uint8_t *out, size_t len, uint8_t first, uint32_t version, const uint8_t *dcid,
                       size_t dl, const uint8_t *scid, size_t sl)
{
  memset(out, 0, len);
  size_t o = 0;
  out[o++] = first;
  out[o++] = (uint8_t)(version >> 24);
  out[o++] = (uint8_t)(version >> 16);
  out[o++] = (uint8_t)(version >> 8);
  out[o++] = (uint8_t)version;
  out[o++] = (uint8_t)dl;
  memcpy(out + o, dcid, dl);
  o += dl;
  out[o++] = (uint8_t)sl;
  memcpy(out + o, scid, sl);
  return len;
}

VQ_TEST(conn_endpoint_version_negotiation_and_drops)
{
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)64 << 20);
  vq_tls_ctx_config scfg = {0};
  scfg.is_server = 1;
  scfg.alpn = alpn;
  scfg.alpn_len = sizeof(alpn);
  char err[128];
  vq_tls_ctx *sctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&sctx, &scfg, err, sizeof(err)), VQ_OK);
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = sctx;
  vq_endpoint *ep = NULL;
  CHECK_EQ(vq_endpoint_new(&ep, &root, &ec), VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 5);
  vq_cx cx = {VQ_MS(1), NULL, NULL, &rng, NULL};
  const uint8_t addr[] = {127, 0, 0, 1, 0x12, 0x35};
  const uint8_t dcid[] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9};
  const uint8_t scid[] = {0x51, 0x52, 0x53, 0x54, 0x55};
  uint8_t dg[1300], resp[1500];
  size_t rl = 0;
  vq_endpoint_conn *c = NULL;
  int created = 0;
  /* spec: rfc9000#17.2.1/4, rfc9000#17.2.1/5, rfc9000#17.2.1/7 — an unknown version in a 1200-byte
   * datagram gets one Version Negotiation packet, the CIDs swapped */
  size_t len = raw_long(dg, 1200, 0xc0, 0x1a2a3a4au, dcid, sizeof(dcid), scid, sizeof(scid));
  CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, len, &c, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK(rl > 0);
  vq_pkt_header h;
  CHECK_EQ(vq_packet_parse(resp, rl, 0, &h), VQ_OK);
  CHECK(h.type == VQ_PKT_VERSION_NEGOTIATION);
  CHECK(h.dcid_len == sizeof(scid) && memcmp(resp + h.dcid_off, scid, sizeof(scid)) == 0);
  CHECK(h.scid_len == sizeof(dcid) && memcmp(resp + h.scid_off, dcid, sizeof(dcid)) == 0);
  CHECK_EQ(h.packet_len, rl);
  /* spec: rfc9000#17.2.1/6 — version 1's CID rules do not decide it: a 21-byte Destination CID, a
   * 40-byte Source CID and no Fixed Bit (all fine for an unknown version, RFC 8999) still get one */
  {
    uint8_t ld[21], ls[40];
    memset(ld, 0xd0, sizeof(ld));
    memset(ls, 0x50, sizeof(ls));
    len = raw_long(dg, 1200, 0x80, 0x1a2a3a4au, ld, sizeof(ld), ls, sizeof(ls));
    CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, len, &c, &created, resp, sizeof(resp),
                              &rl), VQ_OK);
    CHECK(rl > 0);
    CHECK_EQ(vq_packet_parse(resp, rl, 0, &h), VQ_OK);
    CHECK(h.type == VQ_PKT_VERSION_NEGOTIATION);
    CHECK(h.dcid_len == sizeof(ls) && memcmp(resp + h.dcid_off, ls, sizeof(ls)) == 0);
    CHECK(h.scid_len == sizeof(ld) && memcmp(resp + h.scid_off, ld, sizeof(ld)) == 0);
  }
  /* spec: rfc9000#5.2.2/3 — the same in a smaller datagram is dropped */
  len = raw_long(dg, 1199, 0xc0, 0x1a2a3a4au, dcid, sizeof(dcid), scid, sizeof(scid));
  CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, len, &c, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK_EQ(rl, (size_t)0);
  /* spec: rfc9000#6.1/1 — a Version Negotiation packet gets no Version Negotiation */
  uint32_t versions[1] = {0x1a2a3a4au};
  size_t vl = 0;
  CHECK_EQ(vq_vn_write(dg, sizeof(dg), 0x40, dcid, sizeof(dcid), scid, sizeof(scid), versions, 1, &vl), VQ_OK);
  memset(dg + vl, 0, 1200 - vl);
  CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, 1200, &c, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK_EQ(rl, (size_t)0);
  /* spec: rfc9000#5.2.2/8 — a version 1 Handshake packet for no connection is dropped */
  vq_cid d, sc;
  CHECK_EQ(vq_cid_set(&d, dcid, sizeof(dcid)), VQ_OK);
  CHECK_EQ(vq_cid_set(&sc, scid, sizeof(scid)), VQ_OK);
  vq_long_header_spec hs = {VQ_PKT_HANDSHAKE, VQ_QUIC_V1, &d, &sc, NULL, 0, 4, 2};
  size_t length_off = 0, pn_off = 0;
  memset(dg, 0, sizeof(dg));
  CHECK_EQ(vq_long_header_write(dg, sizeof(dg), &hs, &length_off, &pn_off), VQ_OK);
  CHECK_EQ(vq_packet_set_length(dg, sizeof(dg), length_off, 2, 1200 - pn_off), VQ_OK);
  CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, 1200, &c, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK_EQ(rl, (size_t)0);
  CHECK(!created);
  /* spec: rfc9000#14.1/4 — an Initial in a datagram of less than 1200 bytes makes no connection */
  vq_long_header_spec hi = {VQ_PKT_INITIAL, VQ_QUIC_V1, &d, &sc, NULL, 0, 4, 2};
  memset(dg, 0, sizeof(dg));
  CHECK_EQ(vq_long_header_write(dg, sizeof(dg), &hi, &length_off, &pn_off), VQ_OK);
  CHECK_EQ(vq_packet_set_length(dg, sizeof(dg), length_off, 2, 1100 - pn_off), VQ_OK);
  CHECK_EQ(vq_endpoint_recv(ep, &cx, addr, sizeof(addr), dg, 1100, &c, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK(!created);
  CHECK_EQ(rl, (size_t)0);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(ep, &es);
  CHECK_EQ(es.vn_sent, 2);
  CHECK_EQ(es.conns_created, 0);
  vq_endpoint_free(ep);
  vq_tls_ctx_free(sctx);
  CHECK_EQ(root.used, 0);
}

/* ---- RFC 9000 conformance details of the connection ----------------------------------------------- */

/* spec: rfc9000#17.4/5 — vquic keeps the spin bit disabled: the peer's value is ignored (a packet
 * with the spin bit set is processed and acknowledged like any other). */
VQ_TEST(conn_spin_bit_ignored)
{
  world w;
  CHECK(world_established(&w, 71));
  vq_conn *srv = peer_conn(&w.srv);
  if (srv && w.csec_len) {
    /* two ack-eliciting packets with the spin bit set: the second is acknowledged at once */
    uint64_t pn = next_pn(&w);
    for (int k = 0; k < 2; k++) {
      uint8_t buf[1500];
      size_t out = 0;
      CHECK(build_1rtt_spin(&w, (const uint8_t[]){0x01}, 1, pn + (uint64_t)k, 0, 1, buf, &out));
      CHECK_EQ(buf[0] & 0x20u, 0x20u);
      vq_cx cx = vq_lab_cx(w.lab);
      CHECK(vq_conn_recv(srv, &cx, buf, out, 0) == VQ_OK);
    }
    int pr = 0, acked = 0;
    unsigned phase = 0;
    const uint8_t none[8] = {0};
    CHECK_EQ(server_reply(&w, 0, none, pn + 1, &pr, &acked, &phase), 1);
    CHECK(acked);
    /* spec: rfc9000#17.4/2 — and its own spin bit stays disabled: 0, not the peer's 1 reflected */
    CHECK_EQ(reply_first & 0x20u, 0);
    /* spec: rfc9000#13.2.1/7 — the acknowledgment is not made ack-eliciting (no PING added) */
    CHECK(!reply_eliciting);
    vq_conn_stats st;
    vq_conn_get_stats(srv, &st);
    CHECK_EQ(srv->state, VQ_CONN_ESTABLISHED);
  }
  world_free(&w);
}

/* spec: rfc9000#10.3/7, rfc9000#14/4 — datagrams too small to hold a QUIC packet are discarded,
 * and the connection goes on: nothing is sent for them, the next packet is processed as usual. */
VQ_TEST(conn_small_datagrams_discarded)
{
  world w;
  CHECK(world_established(&w, 73));
  vq_conn *srv = peer_conn(&w.srv);
  if (srv && w.csec_len) {
    vq_cx cx = vq_lab_cx(w.lab);
    vq_conn_stats st0, st1;
    vq_conn_get_stats(srv, &st0);
    /* a short header with only part of the Destination CID; a long header cut after its version;
     * an Initial whose Length runs past the datagram */
    uint8_t d1[4] = {0x40, 0x01, 0x02, 0x03};
    uint8_t d2[6] = {0xc0, 0x00, 0x00, 0x00, 0x01, 0x08};
    uint8_t d3[24] = {0xc0, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x44, 0x00};
    CHECK_EQ(vq_conn_recv(srv, &cx, d1, sizeof(d1), 0), VQ_OK);
    CHECK_EQ(vq_conn_recv(srv, &cx, d2, sizeof(d2), 0), VQ_OK);
    CHECK_EQ(vq_conn_recv(srv, &cx, d3, sizeof(d3), 0), VQ_OK);
    vq_conn_get_stats(srv, &st1);
    CHECK_EQ(st1.pkts_dropped, st0.pkts_dropped + 3);
    CHECK_EQ(vq_conn_get_state(srv), VQ_CONN_ESTABLISHED);
    uint8_t buf[1500];
    size_t n = 0;
    CHECK_EQ(vq_conn_send(srv, &cx, buf, sizeof(buf), &n), VQ_OK);
    CHECK_EQ(n, (size_t)0);
    /* the next genuine ack-eliciting packets are processed and acknowledged */
    uint64_t pn = next_pn(&w);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn, 0));
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 1, 0));
    int pr = 0, acked = 0;
    unsigned phase = 0;
    CHECK_EQ(server_reply(&w, 0, (const uint8_t[8]){0}, pn + 1, &pr, &acked, &phase), 1);
    CHECK(acked);
    CHECK_EQ(vq_conn_get_state(srv), VQ_CONN_ESTABLISHED);
  }
  world_free(&w);
}

/* spec: rfc9000#12.3/3 — when the next packet number would be 2^62-1 the connection closes without
 * sending CONNECTION_CLOSE or any other packet. */
VQ_TEST(conn_packet_numbers_exhausted_close_silently)
{
  world w;
  CHECK(world_established(&w, 72));
  vq_conn *srv = peer_conn(&w.srv);
  if (srv && w.csec_len) {
    vq_conn_event ev;
    while (vq_conn_poll_event(srv, &ev))
      ;
    srv->sp[VQ_SPACE_APP].next_pn = VQ_PN_MAX; /* as if 2^62-1 packets had been sent */
    uint64_t pn = next_pn(&w);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn, 0));
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 1, 0)); /* an ACK is due now */
    uint8_t buf[1500];
    size_t n = 1;
    vq_cx cx = vq_lab_cx(w.lab);
    CHECK_EQ(vq_conn_send(srv, &cx, buf, sizeof buf, &n), VQ_OK);
    CHECK_EQ(n, (size_t)0);
    CHECK_EQ(srv->state, VQ_CONN_CLOSED);
    int closed = 0;
    while (vq_conn_poll_event(srv, &ev))
      if (ev.type == VQ_CONN_EV_CLOSED)
        closed++;
    CHECK_EQ(closed, 1);
    /* and nothing later either, whatever arrives */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 2, 0));
    CHECK_EQ(vq_conn_send(srv, &cx, buf, sizeof buf, &n), VQ_OK);
    CHECK_EQ(n, (size_t)0);
  }
  world_free(&w);
}

/* spec: rfc9000#10.2.1/5, rfc9000#10.2.1/7 — in the closing state, the CONNECTION_CLOSE packets sent
 * in answer to the peer's packets total at most three times the bytes received from it. */
VQ_TEST(conn_closing_answers_capped_at_three_times)
{
  world w;
  CHECK(world_established(&w, 73));
  vq_conn *srv = peer_conn(&w.srv);
  if (srv && w.csec_len) {
    char reason[400];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = 0;
    vq_cx cx = vq_lab_cx(w.lab);
    CHECK_EQ(vq_conn_close(srv, &cx, 1, 7, reason), VQ_OK);
    uint8_t buf[1500];
    size_t n = 0;
    CHECK_EQ(vq_conn_send(srv, &cx, buf, sizeof buf, &n), VQ_OK);
    CHECK(n > 100); /* the first CONNECTION_CLOSE, with a reason of VQ_CLOSE_REASON_MAX bytes */
    uint64_t recvd = 0, answered = 0;
    int answers = 0;
    for (int k = 0; k < 64; k++) {
      /* small datagrams to the connection's CID (what the endpoint attributes to it): the rate
       * limit alone would answer the second one with a packet over three times their size */
      uint8_t p[13];
      size_t pl = sizeof p;
      const vq_cid *dc = vq_conn_scid(srv);
      memset(p, 0x5a, sizeof p);
      p[0] = 0x41;
      memcpy(p + 1, dc->bytes, dc->len < 8 ? dc->len : 8);
      recvd += pl;
      CHECK_EQ(vq_conn_recv(srv, &cx, p, pl, 0), VQ_OK);
      n = 0;
      CHECK_EQ(vq_conn_send(srv, &cx, buf, sizeof buf, &n), VQ_OK);
      if (n) {
        answers++;
        answered += n;
      }
      CHECK(answered <= 3 * recvd);
    }
    CHECK(answers >= 1); /* it does answer, once enough has arrived */
    CHECK_EQ(srv->state, VQ_CONN_CLOSING);
  }
  world_free(&w);
}

/* A long header packet of type ty from the "server" to a client: DCID dcid, SCID scid, token (only
 * in an Initial), a PING padded to 40 bytes of payload, protected with key k. */
static size_t make_server_long_v(uint8_t *out, size_t cap, vq_pkt_type ty, uint32_t version,
                                 const vq_cid *dcid, const vq_cid *scid, const uint8_t *tok,
                                 size_t tl, uint64_t pn, vq_pp_key *k)
{
  vq_long_header_spec sp = {ty, version, dcid, scid, tok, tl, 2, 2};
  size_t loff = 0, poff = 0, out_len = 0;
  const size_t plen = 40;
  if (vq_long_header_write(out, cap, &sp, &loff, &poff) != VQ_OK || poff + 2 + plen + 16 > cap)
    return 0;
  if (vq_packet_set_length(out, cap, loff, 2, 2 + plen + VQ_AEAD_TAG_LEN) != VQ_OK ||
      vq_pn_write(out + poff, cap - poff, pn, 2) != VQ_OK)
    return 0;
  memset(out + poff + 2, 0, plen); /* PADDING */
  out[poff + 2] = 0x01;            /* PING */
  if (vq_packet_protect(k, out, cap, poff, 2, pn, plen, &out_len) != VQ_OK)
    return 0;
  return out_len;
}

static size_t make_server_long(uint8_t *out, size_t cap, vq_pkt_type ty, const vq_cid *dcid,
                               const vq_cid *scid, const uint8_t *tok, size_t tl, uint64_t pn,
                               vq_pp_key *k)
{
  return make_server_long_v(out, cap, ty, VQ_QUIC_V1, dcid, scid, tok, tl, pn, k);
}

/* spec: rfc9000#17.2.2/1 — a client discards a server Initial whose Token Length is not 0; spec:
 * rfc9000#7.2/3, rfc9000#7.2/6 — once it processed the server's first Initial, it discards long
 * header packets (a later Initial too) with another Source CID. Then, with the right Source CID:
 * spec: rfc9001#5.6/6 — a 0-RTT packet is discarded (not decrypted); spec: rfc9000#5.2.1/2 — an
 * Initial of another version (v2; the client selected v1 only) is discarded; spec: rfc9000#12.2/7 —
 * in a datagram whose first packet fails decryption, the packet after it is still processed. */
VQ_TEST(conn_client_discards_server_initial_with_token_or_other_scid)
{
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)1 << 28);
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof(alpn);
  char err[256];
  vq_tls_ctx *cctx = NULL;
  CHECK(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof(err)) == VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 43);
  vq_cx cx = {VQ_MS(1000), NULL, NULL, &rng, NULL};
  vq_conn_config cc = {0};
  cc.tls = cctx;
  cc.server_name = "localhost";
  vq_conn *c = NULL;
  CHECK(vq_conn_new_client(&c, &root, &cc, &cx) == VQ_OK);
  if (c) {
    uint8_t d1[1500], p[1500];
    size_t n1 = 0;
    CHECK(vq_conn_send(c, &cx, d1, sizeof(d1), &n1) == VQ_OK);
    vq_cid odcid = *vq_conn_dcid(c), cscid;
    vq_pkt_header h1;
    CHECK(vq_packet_parse(d1, n1, 0, &h1) == VQ_OK);
    CHECK(vq_cid_set(&cscid, d1 + h1.scid_off, h1.scid_len) == VQ_OK);
    vq_pp_key kc, ks;
    vq_pp_key_init(&kc);
    vq_pp_key_init(&ks);
    CHECK(vq_pp_key_install_initial(&kc, &ks, VQ_QUIC_V1, odcid.bytes, odcid.len) == VQ_OK);
    const uint8_t s1b[] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
    const uint8_t s2b[] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8};
    vq_cid s1, s2;
    (void)vq_cid_set(&s1, s1b, sizeof s1b);
    (void)vq_cid_set(&s2, s2b, sizeof s2b);
    const uint8_t tok[] = {1, 2, 3};
    vq_conn_stats a, b;
    /* with a token: discarded, the Destination CID stays the client's own choice */
    size_t pl = make_server_long(p, sizeof p, VQ_PKT_INITIAL, &cscid, &s1, tok, sizeof tok, 0, &ks);
    CHECK(pl > 0);
    vq_conn_get_stats(c, &a);
    CHECK_EQ(vq_conn_recv(c, &cx, p, pl, 0), VQ_OK);
    vq_conn_get_stats(c, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv);
    CHECK_EQ(b.pkts_dropped, a.pkts_dropped + 1);
    CHECK(vq_cid_equal(vq_conn_dcid(c), &odcid));
    /* without: processed, and its Source CID becomes the Destination CID */
    pl = make_server_long(p, sizeof p, VQ_PKT_INITIAL, &cscid, &s1, NULL, 0, 1, &ks);
    CHECK(pl > 0);
    CHECK_EQ(vq_conn_recv(c, &cx, p, pl, 0), VQ_OK);
    vq_conn_get_stats(c, &a);
    CHECK_EQ(a.pkts_recv, b.pkts_recv + 1);
    CHECK(vq_cid_equal(vq_conn_dcid(c), &s1));
    /* another Initial with another Source CID: discarded, nothing changes */
    pl = make_server_long(p, sizeof p, VQ_PKT_INITIAL, &cscid, &s2, NULL, 0, 2, &ks);
    CHECK_EQ(vq_conn_recv(c, &cx, p, pl, 0), VQ_OK);
    vq_conn_get_stats(c, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv);
    CHECK_EQ(b.pkts_dropped, a.pkts_dropped + 1);
    CHECK(vq_cid_equal(vq_conn_dcid(c), &s1));
    /* the same Source CID again: processed */
    pl = make_server_long(p, sizeof p, VQ_PKT_INITIAL, &cscid, &s1, NULL, 0, 3, &ks);
    CHECK_EQ(vq_conn_recv(c, &cx, p, pl, 0), VQ_OK);
    vq_conn_get_stats(c, &a);
    CHECK_EQ(a.pkts_recv, b.pkts_recv + 1);
    /* a 0-RTT packet from the server's Source CID: discarded without being decrypted (it is even
     * protected with the Initial key, which would open it) */
    pl = make_server_long(p, sizeof p, VQ_PKT_0RTT, &cscid, &s1, NULL, 0, 4, &ks);
    CHECK(pl > 0);
    CHECK_EQ(vq_conn_recv(c, &cx, p, pl, 0), VQ_OK);
    vq_conn_get_stats(c, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv);
    CHECK_EQ(b.pkts_dropped, a.pkts_dropped + 1);
    /* an Initial of QUIC v2 (under the v1 key: it is not looked into): discarded */
    pl = make_server_long_v(p, sizeof p, VQ_PKT_INITIAL, VQ_QUIC_V2, &cscid, &s1, NULL, 0, 5, &ks);
    CHECK(pl > 0);
    CHECK_EQ(vq_conn_recv(c, &cx, p, pl, 0), VQ_OK);
    vq_conn_get_stats(c, &a);
    CHECK_EQ(a.pkts_recv, b.pkts_recv);
    CHECK_EQ(a.pkts_dropped, b.pkts_dropped + 1);
    /* coalesced: an Initial that does not decrypt (the client's own key), then a good one */
    pl = make_server_long(p, sizeof p, VQ_PKT_INITIAL, &cscid, &s1, NULL, 0, 6, &kc);
    CHECK(pl > 0);
    size_t pl2 = make_server_long(p + pl, sizeof p - pl, VQ_PKT_INITIAL, &cscid, &s1, NULL, 0, 7, &ks);
    CHECK(pl2 > 0);
    CHECK_EQ(vq_conn_recv(c, &cx, p, pl + pl2, 0), VQ_OK);
    vq_conn_get_stats(c, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv + 1);
    CHECK_EQ(b.pkts_dropped, a.pkts_dropped + 1);
    CHECK_EQ(c->sp[VQ_SPACE_INITIAL].largest_recv, 7);
    vq_pp_key_discard(&kc);
    vq_pp_key_discard(&ks);
    vq_conn_free(c, NULL);
  }
  vq_tls_ctx_free(cctx);
}
/* ---- DATAGRAM (RFC 9221) in the connection -------------------------------------------------------- */

/* A DATAGRAM frame (type 0x31 with a 2-byte Length, or 0x30 without) of n payload bytes from the
 * client, injected into an established connection whose server advertised srv_max. Returns the
 * server's state afterwards and its close code in *code. */
static vq_conn_state inject_dgram(uint64_t seed, uint64_t srv_max, int with_len, size_t n,
                                  uint64_t *code, size_t *got_len, int *got_ok)
{
  world w;
  vq_conn_state st = VQ_CONN_CLOSED;
  *code = ~(uint64_t)0;
  *got_len = 0;
  *got_ok = 0;
  if (world_established_dg(&w, seed, 0, srv_max)) {
    uint8_t f[1300];
    size_t o = 0;
    if (with_len) {
      f[o++] = 0x31;
      f[o++] = (uint8_t)(0x40 | (n >> 8));
      f[o++] = (uint8_t)n;
    } else {
      f[o++] = 0x30;
    }
    for (size_t i = 0; i < n; i++)
      f[o++] = (uint8_t)(i * 3u + 1u);
    vq_conn *s = peer_conn(&w.srv);
    if (inject_1rtt(&w, f, o, next_pn(&w), 0)) {
      st = vq_conn_get_state(s);
      int app = 0;
      if (st == VQ_CONN_CLOSING)
        *code = vq_conn_close_error(s, &app, NULL, NULL);
      vq_cx cx = vq_lab_cx(w.lab);
      uint8_t buf[1300];
      size_t len = 0;
      int got = 0;
      if (vq_conn_dgram_recv(s, &cx, buf, sizeof(buf), &len, &got) == VQ_OK && got) {
        *got_len = len;
        *got_ok = 1;
        for (size_t i = 0; i < len; i++)
          if (buf[i] != (uint8_t)(i * 3u + 1u))
            *got_ok = 0;
      }
    }
  }
  world_free(&w);
  return st;
}

VQ_TEST(conn_dgram_receive_limits)
{
  uint64_t code;
  size_t len;
  int ok;
  /* spec: rfc9221#3/4 — a frame of exactly the advertised size (type, Length and payload: 1 + 2 +
   * 97 = 100) is accepted and delivered whole (spec: rfc9221#5/2); one byte more is a
   * PROTOCOL_VIOLATION */
  CHECK_EQ(inject_dgram(300, 100, 1, 97, &code, &len, &ok), VQ_CONN_ESTABLISHED);
  CHECK_EQ(len, 97);
  CHECK(ok);
  CHECK_EQ(inject_dgram(301, 100, 1, 98, &code, &len, &ok), VQ_CONN_CLOSING);
  CHECK_EQ(code, VQ_TE_PROTOCOL_VIOLATION);
  CHECK_EQ(len, 0);
  /* the same for the frame without Length (it extends to the end of the packet: 1 + 99) */
  CHECK_EQ(inject_dgram(302, 100, 0, 99, &code, &len, &ok), VQ_CONN_ESTABLISHED);
  CHECK_EQ(len, 99);
  CHECK(ok);
  CHECK_EQ(inject_dgram(303, 100, 0, 100, &code, &len, &ok), VQ_CONN_CLOSING);
  CHECK_EQ(code, VQ_TE_PROTOCOL_VIOLATION);
  /* spec: rfc9221#3/3 — without having advertised max_datagram_frame_size: PROTOCOL_VIOLATION */
  CHECK_EQ(inject_dgram(304, 0, 1, 1, &code, &len, &ok), VQ_CONN_CLOSING);
  CHECK_EQ(code, VQ_TE_PROTOCOL_VIOLATION);
}

VQ_TEST(conn_dgram_tp_and_send_rules)
{
  /* The client accepts any DATAGRAM frame (65535), the server at most 200-byte frames. */
  scenario sc = {0};
  sc.seed = 310;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.cli_dgram_max = VQ_DGRAM_RECOMMENDED_MAX;
  sc.srv_dgram_max = 200;
  sc.dgram_queue = 4;
  world w;
  CHECK(world_run(&w, &sc));
  vq_conn *s = peer_conn(&w.srv);
  CHECK(s != NULL && w.cli.handshake_done && w.srv.handshake_done);
  if (!s || !w.cli.handshake_done) {
    world_free(&w);
    return;
  }
  vq_cx cx = vq_lab_cx(w.lab);
  /* spec: rfc9221#3 — each side advertises its max_datagram_frame_size */
  vq_tp tp;
  CHECK(peer_tp_of(w.cli.conn, 1, &tp));
  CHECK(vq_tp_has(&tp, VQ_TP_MAX_DATAGRAM_FRAME_SIZE));
  CHECK_EQ(tp.max_datagram_frame_size, 200);
  CHECK(peer_tp_of(s, 0, &tp));
  CHECK_EQ(tp.max_datagram_frame_size, VQ_DGRAM_RECOMMENDED_MAX);
  /* spec: rfc9221#3/2 — never larger than the peer's limit: 1 + 2 + 197 = 200 */
  CHECK_EQ(vq_conn_dgram_max_payload(w.cli.conn), 197);
  uint8_t big[1500];
  for (size_t i = 0; i < sizeof(big); i++)
    big[i] = (uint8_t)(i * 5u);
  CHECK_EQ(vq_conn_dgram_send(w.cli.conn, &cx, big, 198), VQ_ERR_DGRAM_TOO_LARGE);
  CHECK_EQ(vq_conn_dgram_send(w.cli.conn, &cx, big, 197), VQ_OK);
  /* spec: rfc9221#5 — the server's limit is one 1-RTT packet of the path's maximum datagram size
   * (1472 once DPLPMTUD raised it on this link without an MTU, 1200 before): that size - (1 +
   * 8-byte DCID + 4-byte packet number) - 16 (AEAD tag) bytes of frame, 3 fewer of payload */
  vq_conn_stats ps;
  vq_conn_get_stats(s, &ps);
  CHECK_EQ(ps.max_udp_payload, 1472);
  const size_t dmax = (size_t)ps.max_udp_payload - 32u;
  CHECK_EQ(vq_conn_dgram_max_payload(s), dmax);
  CHECK_EQ(vq_conn_dgram_send(s, &cx, big, dmax + 1), VQ_ERR_DGRAM_TOO_LARGE);
  CHECK_EQ(vq_conn_dgram_send(s, &cx, big, dmax), VQ_OK);
  /* the bounded send queue (4 datagrams): the fifth is refused with a precise status */
  for (int i = 0; i < 3; i++)
    CHECK_EQ(vq_conn_dgram_send(w.cli.conn, &cx, big, 10), VQ_OK);
  CHECK_EQ(vq_conn_dgram_send(w.cli.conn, &cx, big, 10), VQ_ERR_DGRAM_QUEUE_FULL);
  /* delivered: the server gets the client's four, the client the server's 1168 bytes */
  flush(&w.cli, w.lab, &cx);
  flush(&w.srv, w.lab, &cx);
  vq_lab_run(w.lab, vq_lab_now(w.lab) + VQ_MS(200), NULL, NULL);
  cx = vq_lab_cx(w.lab);
  uint8_t buf[1500];
  size_t len = 0;
  int got = 0;
  CHECK_EQ(vq_conn_dgram_recv(w.cli.conn, &cx, buf, 100, &len, &got), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(len, dmax);
  CHECK_EQ(vq_conn_dgram_recv(w.cli.conn, &cx, buf, sizeof(buf), &len, &got), VQ_OK);
  CHECK(got == 1 && len == dmax && memcmp(buf, big, dmax) == 0);
  CHECK_EQ(vq_conn_dgram_recv(w.cli.conn, &cx, buf, sizeof(buf), &len, &got), VQ_OK);
  CHECK_EQ(got, 0);
  size_t sizes[5] = {0};
  int n = 0;
  while (n < 5 && vq_conn_dgram_recv(s, &cx, buf, sizeof(buf), &sizes[n], &got) == VQ_OK && got)
    n++;
  CHECK_EQ(n, 4);
  CHECK_EQ(sizes[0], 197);
  CHECK_EQ(sizes[3], 10);
  vq_conn_stats cs, ss;
  vq_conn_get_stats(w.cli.conn, &cs);
  vq_conn_get_stats(s, &ss);
  CHECK_EQ(cs.dgram_sent, 4);
  CHECK_EQ(ss.dgram_recv, 4);
  CHECK_EQ(ss.dgram_sent, 1);
  CHECK_EQ(cs.dgram_recv, 1);
  /* spec: rfc9221#5.2 — DATAGRAM frames are ack-eliciting: they were acknowledged */
  CHECK_EQ(cs.dgram_acked, 4);
  CHECK_EQ(ss.dgram_acked, 1);
  /* after the close, nothing more is accepted */
  CHECK_EQ(vq_conn_close(w.cli.conn, &cx, 1, 0, "bye"), VQ_OK);
  CHECK_EQ(vq_conn_dgram_send(w.cli.conn, &cx, big, 10), VQ_ERR_STREAM_STATE);
  world_free(&w);
}

VQ_TEST(conn_dgram_refused_without_support)
{
  /* spec: rfc9221#3/1, rfc9000#19.21/1 — the server did not advertise DATAGRAM: the client sends
   * none; and a side with DATAGRAM off refuses too (it accepts none either: rfc9221#3/3) */
  scenario sc = {0};
  sc.seed = 311;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.cli_dgram_max = VQ_DGRAM_RECOMMENDED_MAX;
  world w;
  CHECK(world_run(&w, &sc));
  vq_conn *s = peer_conn(&w.srv);
  CHECK(s != NULL && w.cli.handshake_done);
  if (s && w.cli.handshake_done) {
    vq_cx cx = vq_lab_cx(w.lab);
    const uint8_t d[4] = {1, 2, 3, 4};
    CHECK_EQ(vq_conn_dgram_max_payload(w.cli.conn), 0);
    CHECK_EQ(vq_conn_dgram_send(w.cli.conn, &cx, d, 4), VQ_ERR_DGRAM_DISABLED);
    CHECK_EQ(vq_conn_dgram_send(s, &cx, d, 4), VQ_ERR_DGRAM_DISABLED);
    vq_tp tp;
    CHECK(peer_tp_of(w.cli.conn, 1, &tp));
    CHECK(!vq_tp_has(&tp, VQ_TP_MAX_DATAGRAM_FRAME_SIZE));
    /* before the handshake completes nothing is queued (only 1-RTT carries DATAGRAM, rfc9221#5/3) */
    vq_conn_config cc = {0};
    cc.tls = w.cctx;
    cc.server_name = "localhost";
    cc.max_datagram_frame_size = 1000;
    vq_conn *c2 = NULL;
    CHECK_EQ(vq_conn_new_client(&c2, &w.root, &cc, &cx), VQ_OK);
    if (c2) {
      CHECK_EQ(vq_conn_dgram_send(c2, &cx, d, 4), VQ_ERR_STREAM_STATE);
      vq_conn_free(c2, NULL);
    }
  }
  world_free(&w);
}

VQ_TEST(conn_dgram_congestion_controlled)
{
  /* spec: rfc9221#5.4/1, rfc9000#19.21/3 — DATAGRAM frames wait for the congestion controller (and
   * were acknowledged: conn_dgram_tp_and_send_rules): with 64 KB of datagrams
   * queued and no ACK coming back, the client sends no more than its window; the rest goes out as
   * ACKs open it, none dropped */
  scenario sc = {0};
  sc.seed = 312;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.cli_dgram_max = VQ_DGRAM_RECOMMENDED_MAX;
  sc.srv_dgram_max = VQ_DGRAM_RECOMMENDED_MAX;
  world w;
  CHECK(world_run(&w, &sc));
  vq_conn *s = peer_conn(&w.srv);
  CHECK(s != NULL && w.cli.handshake_done);
  if (s && w.cli.handshake_done) {
    vq_cx cx = vq_lab_cx(w.lab);
    uint8_t d[1000];
    int queued = 0;
    for (int i = 0; i < 100; i++) {
      memset(d, i, sizeof(d));
      if (vq_conn_dgram_send(w.cli.conn, &cx, d, sizeof(d)) != VQ_OK)
        break;
      queued++;
    }
    CHECK_EQ(queued, 64); /* the default queue: 64 datagrams */
    uint8_t buf[1500];
    size_t n = 0;
    int pkts = 0;
    while (pkts < 200 && vq_conn_send(w.cli.conn, &cx, buf, sizeof(buf), &n) == VQ_OK && n > 0)
      pkts++; /* sent into the void: no ACK comes back */
    vq_conn_stats st;
    vq_conn_get_stats(w.cli.conn, &st);
    CHECK(st.dgram_sent > 0);
    CHECK(st.dgram_sent < 64);
    CHECK(st.bytes_in_flight <= st.cwnd);
    CHECK(st.cwnd < 64000);
    /* the rest is delivered once the lab carries the next datagrams and their ACKs (the datagrams
     * sent above were lost: never sent again) */
    uint64_t lost_before = st.dgram_sent;
    for (int round = 0; round < 40; round++) {
      cx = vq_lab_cx(&*w.lab);
      flush(&w.cli, w.lab, &cx);
      flush(&w.srv, w.lab, &cx);
      vq_lab_run(w.lab, vq_lab_now(w.lab) + VQ_MS(50), NULL, NULL);
    }
    vq_conn_get_stats(w.cli.conn, &st);
    CHECK_EQ(st.dgram_sent, 64);
    int got = 0, recv = 0;
    size_t len = 0;
    cx = vq_lab_cx(w.lab);
    while (vq_conn_dgram_recv(s, &cx, buf, sizeof(buf), &len, &got) == VQ_OK && got)
      recv++;
    CHECK_EQ((uint64_t)recv, 64 - lost_before);
    CHECK_EQ(st.dgram_lost, lost_before);
  }
  world_free(&w);
}

VQ_TEST(conn_dgram_receive_queue_bounded)
{
  /* spec: rfc9221#5.3/1 — the receive queue holds 4 datagrams: when the application does not read,
   * the oldest are dropped (counted) and the newest kept */
  scenario sc = {0};
  sc.seed = 313;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.cli_dgram_max = VQ_DGRAM_RECOMMENDED_MAX;
  sc.srv_dgram_max = VQ_DGRAM_RECOMMENDED_MAX;
  sc.dgram_queue = 4;
  world w;
  CHECK(world_run(&w, &sc));
  vq_conn *s = peer_conn(&w.srv);
  CHECK(s != NULL && w.cli.handshake_done);
  if (s && w.cli.handshake_done) {
    for (uint8_t k = 0; k < 8; k++) {
      vq_cx cx = vq_lab_cx(w.lab);
      uint8_t d[20];
      memset(d, k, sizeof(d));
      CHECK_EQ(vq_conn_dgram_send(w.cli.conn, &cx, d, sizeof(d)), VQ_OK);
      flush(&w.cli, w.lab, &cx);
      vq_lab_run(w.lab, vq_lab_now(w.lab) + VQ_MS(20), NULL, NULL);
    }
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.dgram_recv, 8);
    CHECK_EQ(st.dgram_recv_dropped, 4);
    vq_cx cx = vq_lab_cx(w.lab);
    uint8_t buf[64];
    size_t len = 0;
    int got = 0;
    for (uint8_t k = 4; k < 8; k++) {
      CHECK_EQ(vq_conn_dgram_recv(s, &cx, buf, sizeof(buf), &len, &got), VQ_OK);
      CHECK(got == 1 && len == 20 && buf[0] == k);
    }
    CHECK_EQ(vq_conn_dgram_recv(s, &cx, buf, sizeof(buf), &len, &got), VQ_OK);
    CHECK_EQ(got, 0);
  }
  world_free(&w);
}

/* ---- key update (RFC 9001 §6) and AEAD limits (§6.6), with injected 1-RTT packets ------------------ */

/* The server's close code as seen in its next packet (under its generation-gen keys), or ~0. */
static uint64_t server_close_code(world *w, int gen)
{
  int r = 0, a = 0;
  unsigned ph = 0;
  if (server_reply(w, gen, (const uint8_t[8]){0}, 0, &r, &a, &ph) != 1)
    return ~(uint64_t)0;
  return reply_close;
}

VQ_TEST(conn_key_update_initiate_rules)
{
  world w;
  CHECK(world_established(&w, 80));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    vq_cx cx = vq_lab_cx(w.lab);
    /* spec: rfc9001#6.1/1 — a new client, its handshake not even started: no key update */
    vq_conn_config cc = {0};
    cc.tls = w.cctx;
    cc.server_name = "localhost";
    vq_conn *c2 = NULL;
    CHECK_EQ(vq_conn_new_client(&c2, &w.root, &cc, &cx), VQ_OK);
    CHECK_EQ(vq_conn_initiate_key_update(c2, &cx), VQ_ERR_KEY_UPDATE_BLOCKED);
    vq_conn_free(c2, NULL);
    /* (whether the client may update depends on whether one of its ack-eliciting 1-RTT packets, e.g.
     * a NEW_CONNECTION_ID, was acknowledged yet; the server's HANDSHAKE_DONE was) */
    /* spec: rfc9001#6/1 — the handshake is confirmed: the server may update */
    CHECK_EQ(vq_conn_initiate_key_update(s, &cx), VQ_OK);
    /* spec: rfc9001#6.1/2 — and not again before a packet of the new phase is acknowledged */
    CHECK_EQ(vq_conn_initiate_key_update(s, &cx), VQ_ERR_KEY_UPDATE_BLOCKED);
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.key_updates_initiated, (uint64_t)1);
    /* spec: rfc9001#6.1 — the next packet is under the next generation's keys, Key Phase 1 */
    uint64_t pn = next_pn(&w);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn, 0));
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 1, 0));
    int r = 0, acked = 0;
    unsigned phase = 9;
    CHECK_EQ(server_reply(&w, 1, (const uint8_t[8]){0}, pn + 1, &r, &acked, &phase), 1);
    CHECK_EQ(phase, 1u);
    CHECK(acked);
    uint64_t gen1_pn = reply_pn;
    /* the peer's answer (generation 1) acknowledging that packet: a further update is permitted;
     * our write keys do not move again (the peer only answered) */
    uint8_t ack[8] = {0x02, (uint8_t)(0x40 | (gen1_pn >> 8)), (uint8_t)gen1_pn, 0, 0, 0, 0x01};
    CHECK(inject_1rtt(&w, ack, 7, pn + 2, 1));
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.key_updates_answered, (uint64_t)0);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    CHECK_EQ(vq_conn_initiate_key_update(s, &cx), VQ_OK);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 3, 1));
    r = acked = 0;
    CHECK_EQ(server_reply(&w, 2, (const uint8_t[8]){0}, pn + 3, &r, &acked, &phase), 1);
    CHECK_EQ(phase, 0u);
    CHECK(acked);
    /* spec: rfc9001#6.2/4 — an ACK in a packet under the old keys (generation 1) acknowledging a
     * packet under the newer ones: KEY_UPDATE_ERROR */
    uint64_t gen2_pn = reply_pn;
    uint8_t ack2[8] = {0x02, (uint8_t)(0x40 | (gen2_pn >> 8)), (uint8_t)gen2_pn, 0, 0, 0, 0x01};
    CHECK(inject_1rtt(&w, ack2, 7, pn + 4, 1));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSING);
    CHECK_EQ(server_close_code(&w, 2), (uint64_t)VQ_TE_KEY_UPDATE_ERROR);
    CHECK_EQ(vq_conn_initiate_key_update(s, &cx), VQ_ERR_STREAM_STATE);
  }
  world_free(&w);
}

VQ_TEST(conn_key_update_previous_keys_and_consecutive_updates)
{
  world w;
  CHECK(world_established(&w, 81));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    uint64_t pn = next_pn(&w);
    vq_conn_stats a, b;
    /* spec: rfc9001#6.2/1 — the peer's update (generation 1) is followed */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 10, 1));
    vq_conn_get_stats(s, &a);
    CHECK_EQ(a.key_updates_answered, (uint64_t)1);
    /* spec: rfc9001#6.1/3, rfc9001#6.1/4, rfc9001#6.5 — a delayed packet of the old phase (a pn below
     * the first of the new phase) still decrypts with the previous keys */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 5, 0));
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv + 1);
    CHECK_EQ(b.old_key_pkts, a.old_key_pkts + 1);
    /* spec: rfc9001#6.5, rfc9001#6.3/1 — old phase bit but a pn above the new phase's: taken for the
     * next generation, which does not authenticate it: dropped (and counted, rfc9001#6.6/6), no
     * error */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 20, 0));
    vq_conn_get_stats(s, &a);
    CHECK_EQ(a.pkts_recv, b.pkts_recv);
    CHECK_EQ(a.auth_failures, b.auth_failures + 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    /* the server acknowledges under generation 1: the update is complete */
    int r = 0, acked = 0;
    unsigned phase = 9;
    CHECK_EQ(server_reply(&w, 1, (const uint8_t[8]){0}, pn + 10, &r, &acked, &phase), 1);
    CHECK_EQ(phase, 1u);
    CHECK(acked);
    /* a second update after that ACK: followed (spec: rfc9001#9.5/3, rfc9001#6.3/4 — the next
     * read keys were made after the first update and kept, though the generation-0 packet with a
     * high pn that tried them was discarded) */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 30, 2));
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.key_updates_answered, (uint64_t)2);
    /* spec: rfc9001#6.2/3 — a third before the server sent any ACK under generation 2:
     * KEY_UPDATE_ERROR */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 40, 3));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSING);
    CHECK_EQ(server_close_code(&w, 2), (uint64_t)VQ_TE_KEY_UPDATE_ERROR);
  }
  world_free(&w);
}

VQ_TEST(conn_key_update_older_keys_for_higher_pn)
{
  for (int k = 0; k < 2; k++) {
    world w;
    CHECK(world_established(&w, 82 + (uint64_t)k));
    vq_conn *s = peer_conn(&w.srv);
    if (s && w.csec_len) {
      uint64_t pn = next_pn(&w);
      if (k == 0) {
        /* spec: rfc9001#6.4/1, rfc9001#6.4/2 — generation 0 took pn+10; the next generation for the
         * lower pn+5: older keys were used for a higher pn: KEY_UPDATE_ERROR */
        CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 10, 0));
        CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 5, 1));
        CHECK_EQ(server_close_code(&w, 0), (uint64_t)VQ_TE_KEY_UPDATE_ERROR);
      } else {
        /* the same seen from the new phase: generation 1 from pn+10, a delayed generation-0 pn+8
         * (accepted), then generation 1 with pn+7, below it: KEY_UPDATE_ERROR */
        CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 10, 1));
        CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 8, 0));
        CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
        CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 7, 1));
        CHECK_EQ(server_close_code(&w, 1), (uint64_t)VQ_TE_KEY_UPDATE_ERROR);
      }
      CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSING);
    }
    world_free(&w);
  }
}

VQ_TEST(conn_key_update_previous_keys_discarded_after_3pto)
{
  world w;
  CHECK(world_established(&w, 84));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    uint64_t pn = next_pn(&w);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 10, 1));
    vq_time tmo = vq_conn_next_timeout(s);
    vq_cx cx = vq_lab_cx(w.lab);
    CHECK(tmo > cx.now);
    /* spec: rfc9001#6.5/4, rfc9001#6.5/5 — three PTOs later the previous read keys are gone: a
     * delayed generation-0 packet is dropped */
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    vq_time pto3 = 3 * (st.srtt + (4 * st.rttvar > VQ_MS(1) ? 4 * st.rttvar : VQ_MS(1))) + VQ_MS(100);
    cx.now += pto3;
    CHECK_EQ(vq_conn_handle_timeout(s, &cx), VQ_OK);
    vq_conn_stats a, b;
    vq_conn_get_stats(s, &a);
    uint8_t buf[1500];
    size_t out = 0;
    CHECK(build_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 5, 0, buf, &out));
    CHECK_EQ(vq_conn_recv(s, &cx, buf, out, 0), VQ_OK);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv);
    CHECK_EQ(b.old_key_pkts, a.old_key_pkts);
    CHECK_EQ(b.pkts_dropped, a.pkts_dropped + 1);
  }
  world_free(&w);
}

VQ_TEST(conn_aead_integrity_limit)
{
  world w;
  CHECK(world_established_limits(&w, 85, 0, 3));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    uint64_t pn = next_pn(&w);
    /* spec: rfc9001#6.6/6 — packets failing authentication are counted (generation 5 keys: they
     * fail under the current and the next keys alike) */
    for (int i = 0; i < 3; i++)
      CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + (uint64_t)i, 5));
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.auth_failures, (uint64_t)3);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    /* spec: rfc9001#6.6/7 — one more exceeds the integrity limit: AEAD_LIMIT_REACHED at once, and
     * no more packets are processed (an authentic one changes nothing) */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 3, 5));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSING);
    vq_conn_get_stats(s, &st);
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 4, 0));
    vq_conn_stats st2;
    vq_conn_get_stats(s, &st2);
    CHECK_EQ(st2.pkts_recv, st.pkts_recv);
    CHECK_EQ(server_close_code(&w, 0), (uint64_t)VQ_TE_AEAD_LIMIT_REACHED);
  }
  world_free(&w);
}

VQ_TEST(conn_aead_confidentiality_limit)
{
  world w;
  const uint64_t limit = 40;
  CHECK(world_established_limits(&w, 86, limit, 0));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    /* the client (injected) acknowledges nothing: the server's first update (at 3/4 of the limit,
     * its HANDSHAKE_DONE having been acknowledged in the handshake) goes out, the next cannot
     * (rfc9001#6.1/2), so it closes with AEAD_LIMIT_REACHED before the limit */
    uint64_t pn = next_pn(&w);
    vq_cx cx = vq_lab_cx(w.lab);
    uint64_t after_update = 0, total = 0;
    int updated = 0;
    uint8_t buf[1500];
    for (int i = 0; i < 400 && vq_conn_get_state(s) == VQ_CONN_ESTABLISHED; i++) {
      CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn++, 0));
      CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn++, 0));
      for (;;) {
        size_t n = 0;
        if (vq_conn_send(s, &cx, buf, sizeof(buf), &n) != VQ_OK || n == 0)
          break;
        total++;
        vq_conn_stats st;
        vq_conn_get_stats(s, &st);
        if (st.key_updates_initiated == 1)
          updated = 1;
        if (updated)
          after_update++;
      }
    }
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    /* spec: rfc9001#6.6/1, rfc9001#6.6/3, rfc9001#5.3/3 — packets are counted per key and an update
     * is initiated before the limit */
    CHECK_EQ(st.key_updates_initiated, (uint64_t)1);
    CHECK(total > limit);
    /* spec: rfc9001#6.6/4, rfc9001#6.6/5 — no further update possible: closed with
     * AEAD_LIMIT_REACHED; spec: rfc9001#6.6/2 — never more than the limit under one key */
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSING);
    CHECK(after_update > 0 && after_update <= limit);
    /* the CONNECTION_CLOSE goes out again when packets arrive, still under the limit */
    for (int i = 0; i < 200; i++) {
      CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn++, 0));
      size_t n = 0;
      if (vq_conn_send(s, &cx, buf, sizeof(buf), &n) == VQ_OK && n > 0)
        after_update++;
    }
    CHECK(after_update <= limit);
    int app = 0, by_peer = 0;
    CHECK_EQ(vq_conn_close_error(s, &app, &by_peer, NULL), (uint64_t)VQ_TE_AEAD_LIMIT_REACHED);
    CHECK(!by_peer);
  }
  world_free(&w);
}

/* ---- connection IDs (RFC 9000 §5.1, §19.15, §19.16) ---------------------------------------------- */

/* A NEW_CONNECTION_ID frame (sequence numbers < 64): returns its length. */
static size_t ncid_frame(uint8_t *o, uint64_t seq, uint64_t rpt, const uint8_t *cid, size_t cid_len,
                         uint8_t tok)
{
  size_t n = 0;
  o[n++] = 0x18;
  o[n++] = (uint8_t)seq;
  o[n++] = (uint8_t)rpt;
  o[n++] = (uint8_t)cid_len;
  memcpy(o + n, cid, cid_len);
  n += cid_len;
  memset(o + n, tok, 16);
  return n + 16;
}

static const uint8_t cid_x[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
static const uint8_t cid_y[8] = {0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8};
static const uint8_t cid_z[8] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};

/* The client's CID of sequence seq (1 if it has it). */
static int cli_cid(world *w, uint64_t seq, vq_cid *out)
{
  for (uint32_t i = 0; i < VQ_CONN_MAX_LOCAL_CIDS; i++) {
    uint64_t sq = 0;
    if (vq_conn_local_cid(w->cli.conn, i, out, &sq) && sq == seq)
      return 1;
  }
  return 0;
}

VQ_TEST(conn_cid_issued_routed_retired)
{
  world w;
  CHECK(world_established(&w, 80));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    /* spec: rfc9000#5.1.1/3, rfc9000#5.1.1/4 — each side issued CIDs up to the other's
     * active_connection_id_limit (4: the handshake CID and three more); spec: rfc9000#5.1.1/1 —
     * with sequence numbers 1, 2, 3 */
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.cids_issued, 3);
    vq_conn_get_stats(w.cli.conn, &st);
    CHECK_EQ(st.cids_issued, 3);
    vq_cid ids[VQ_CONN_MAX_LOCAL_CIDS];
    uint64_t seqs[VQ_CONN_MAX_LOCAL_CIDS], seqsum = 0;
    int n = 0;
    for (uint32_t i = 0; i < VQ_CONN_MAX_LOCAL_CIDS; i++)
      if (vq_conn_local_cid(s, i, &ids[n], &seqs[n])) {
        seqsum += seqs[n];
        n++;
      }
    CHECK_EQ(n, 4);
    CHECK_EQ(seqsum, 0 + 1 + 2 + 3);
    /* spec: rfc9000#5.1.1/2 — packets to any of them reach the connection through the endpoint */
    uint64_t pn = next_pn(&w);
    int victim = -1;
    for (int k = 0; k < n; k++) {
      vq_conn_stats a, b;
      size_t rl = 0;
      vq_conn_get_stats(s, &a);
      vq_endpoint_conn *ec = ep_inject(&w, &ids[k], (const uint8_t[]){0x01}, 1, pn++, NULL, 0, &rl, NULL);
      vq_conn_get_stats(s, &b);
      CHECK(ec != NULL && ec->conn == s);
      CHECK_EQ(b.pkts_recv, a.pkts_recv + 1);
      if (seqs[k] == 2)
        victim = k;
    }
    CHECK(victim >= 0);
    if (victim >= 0) {
      /* the client retires sequence 2 (in a packet to the handshake CID): the endpoint forgets it,
       * spec: rfc9000#5.1.1/7 — and the server issues sequence 4 in its place */
      size_t rl = 0;
      CHECK(ep_inject(&w, vq_conn_scid(s), (const uint8_t[]){0x19, 0x02}, 2, pn++, NULL, 0, &rl, NULL) != NULL);
      CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
      vq_conn_get_stats(s, &st);
      CHECK_EQ(st.cids_retired_by_peer, 1);
      CHECK_EQ(st.cids_issued, 4);
      vq_endpoint_conn *ec = ep_inject(&w, &ids[victim], (const uint8_t[]){0x01}, 1, pn++, NULL, 0, &rl, NULL);
      CHECK(ec == NULL);
      CHECK(rl > 0); /* a short header packet for no connection: a Stateless Reset */
      /* the same retirement again is no error */
      CHECK(ep_inject(&w, vq_conn_scid(s), (const uint8_t[]){0x19, 0x02}, 2, pn++, NULL, 0, &rl, NULL) != NULL);
      CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
      int responses = 0, acked = 0;
      unsigned phase = 0;
      CHECK_EQ(server_reply(&w, 0, (const uint8_t[8]){0}, 0, &responses, &acked, &phase), 1);
      CHECK_EQ(reply_new_cids, 1);
      CHECK_EQ(reply_new_cid_max, 4);
      int m = 0;
      for (uint32_t i = 0; i < VQ_CONN_MAX_LOCAL_CIDS; i++) {
        vq_cid c;
        if (vq_conn_local_cid(s, i, &c, NULL)) {
          m++;
          size_t r2 = 0;
          vq_endpoint_conn *e2 = ep_inject(&w, &c, (const uint8_t[]){0x01}, 1, pn++, NULL, 0, &r2, NULL);
          CHECK(e2 != NULL && e2->conn == s);
        }
      }
      CHECK_EQ(m, 4);
    }
  }
  world_free(&w);
}

VQ_TEST(conn_cid_frame_errors)
{
  /* Each alone (or in one packet) from the client; the server closes with the code given. */
  typedef struct cid_case {
    const char *what;
    int kind;
    uint64_t code;
  } cid_case;
  static const cid_case cases[] = {
      /* spec: rfc9000#5.1.1/6 — a fifth active CID (the client issued 1..3 itself) */
      {"over active_connection_id_limit", 0, VQ_TE_CONNECTION_ID_LIMIT_ERROR},
      /* spec: rfc9000#19.15/5 — a sequence number again with another CID */
      {"sequence 1 with another CID", 1, VQ_TE_PROTOCOL_VIOLATION},
      /* spec: rfc9000#19.15/5 — a CID again under another sequence number */
      {"the handshake CID under sequence 4", 2, VQ_TE_PROTOCOL_VIOLATION},
      /* spec: rfc9000#19.15/6, rfc9000#19.15/7 — Retire Prior To above the sequence number */
      {"Retire Prior To above Sequence Number", 3, VQ_TE_FRAME_ENCODING_ERROR},
      /* spec: rfc9000#19.15/1 — a CID of length 0 */
      {"zero-length CID", 4, VQ_TE_FRAME_ENCODING_ERROR},
      /* spec: rfc9000#19.16/2, rfc9000#19.16/3 — retiring the CID the packet was sent to */
      {"RETIRE_CONNECTION_ID of the packet's own CID", 5, VQ_TE_PROTOCOL_VIOLATION},
      /* spec: rfc9000#19.16/1 — retiring a sequence number never sent (the server sent 0..3) */
      {"RETIRE_CONNECTION_ID of sequence 4", 6, VQ_TE_PROTOCOL_VIOLATION},
      /* spec: rfc9000#5.1.2/6, rfc9000#5.1.2/7 — a ninth retirement outstanding (twice the limit
       * fit) */
      {"retirements beyond twice the limit", 7, VQ_TE_CONNECTION_ID_LIMIT_ERROR},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    world w;
    CHECK(world_established(&w, 90 + i));
    vq_conn *s = peer_conn(&w.srv);
    if (!s || !w.csec_len) {
      world_free(&w);
      continue;
    }
    uint8_t pl[400];
    size_t n = 0;
    switch (cases[i].kind) {
    case 0: n = ncid_frame(pl, 4, 0, cid_x, 8, 0x11); break;
    case 1: n = ncid_frame(pl, 1, 0, cid_x, 8, 0x11); break;
    case 2: n = ncid_frame(pl, 4, 1, vq_conn_scid(w.cli.conn)->bytes, vq_conn_scid(w.cli.conn)->len, 0x11);
      break;
    case 3: n = ncid_frame(pl, 4, 5, cid_x, 8, 0x11); break;
    case 4: n = ncid_frame(pl, 4, 0, cid_x, 0, 0x11); break;
    case 5: pl[0] = 0x19; pl[1] = 0x00; n = 2; break;
    case 6: pl[0] = 0x19; pl[1] = 0x04; n = 2; break;
    default:
      for (uint64_t q = 4; q <= 9; q++) {
        uint8_t c8[8];
        memcpy(c8, cid_x, 8);
        c8[7] = (uint8_t)q;
        n += ncid_frame(pl + n, q, q, c8, 8, (uint8_t)q);
      }
      break;
    }
    CHECK(inject_1rtt(&w, pl, n, next_pn(&w), 0));
    int app = -1;
    uint64_t code = vq_conn_close_error(s, &app, NULL, NULL);
    if (vq_conn_get_state(s) != VQ_CONN_CLOSING || code != cases[i].code)
      fprintf(stderr, "  %s: state %d code 0x%llx\n", cases[i].what, (int)vq_conn_get_state(s),
              (unsigned long long)code);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSING);
    CHECK_EQ(app, 0);
    CHECK_EQ(code, cases[i].code);
    world_free(&w);
  }
}

VQ_TEST(conn_cid_retire_prior_to)
{
  world w;
  CHECK(world_established(&w, 100));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    uint64_t pn = next_pn(&w);
    vq_cid c2, x, y;
    CHECK(cli_cid(&w, 2, &c2));
    CHECK_EQ(vq_cid_set(&x, cid_x, 8), VQ_OK);
    CHECK_EQ(vq_cid_set(&y, cid_y, 8), VQ_OK);
    uint8_t pl[64];
    int responses = 0, acked = 0;
    unsigned phase = 0;
    /* spec: rfc9000#5.1.2/4 — Retire Prior To 2 covers the CID in use (sequence 0): the server
     * stops using it, retires 0 and 1 with RETIRE_CONNECTION_ID and moves to sequence 2 */
    size_t n = ncid_frame(pl, 4, 2, cid_x, 8, 0x44);
    CHECK(inject_1rtt(&w, pl, n, pn++, 0));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    CHECK(vq_cid_equal(vq_conn_dcid(s), &c2));
    CHECK_EQ(server_reply(&w, 0, (const uint8_t[8]){0}, 0, &responses, &acked, &phase), 1);
    CHECK_EQ(reply_retired, 3u);
    CHECK(vq_cid_equal(&reply_dcid, &c2));
    /* spec: rfc9000#19.15/4 — the same frame again: no error, nothing more retired */
    CHECK(inject_1rtt(&w, pl, n, pn++, 0));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    /* Retire Prior To 6: 2, 3 and 4 go; sequence 7 (y) is used */
    n = ncid_frame(pl, 7, 6, cid_y, 8, 0x77);
    CHECK(inject_1rtt(&w, pl, n, pn++, 0));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    CHECK(vq_cid_equal(vq_conn_dcid(s), &y));
    CHECK_EQ(server_reply(&w, 0, (const uint8_t[8]){0}, 0, &responses, &acked, &phase), 1);
    CHECK_EQ(reply_retired, (1u << 2) | (1u << 3) | (1u << 4));
    /* spec: rfc9000#19.15/8 — a smaller Retire Prior To (0) is ignored; spec: rfc9000#19.15/9 —
     * sequence 5, below the largest Retire Prior To (6), is retired at once and never used */
    n = ncid_frame(pl, 5, 0, cid_z, 8, 0x55);
    CHECK(inject_1rtt(&w, pl, n, pn++, 0));
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    CHECK(vq_cid_equal(vq_conn_dcid(s), &y));
    CHECK_EQ(server_reply(&w, 0, (const uint8_t[8]){0}, 0, &responses, &acked, &phase), 1);
    CHECK_EQ(reply_retired, 1u << 5);
    CHECK(vq_cid_equal(&reply_dcid, &y));
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.peer_cids_retired, 6);
  }
  world_free(&w);
}

VQ_TEST(conn_cid_reset_tokens_in_use_only)
{
  /* spec: rfc9000#10.3.1/3 — a datagram ending in the token of a CID the client was given but never
   * used is not a Stateless Reset; one ending in the token of the CID in use is (rfc9000#10.3.1/5) */
  static const uint8_t key[32] = {7, 7, 7};
  scenario sc = {0};
  sc.seed = 110;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.reset_key = key;
  world w;
  CHECK(world_run(&w, &sc));
  vq_conn *s = peer_conn(&w.srv);
  CHECK(w.cli.handshake_done && s != NULL);
  if (s) {
    vq_cx cx = vq_lab_cx(w.lab);
    for (uint32_t i = 0; i < VQ_CONN_MAX_LOCAL_CIDS; i++) {
      vq_cid c;
      uint64_t seq = 0;
      if (!vq_conn_local_cid(s, i, &c, &seq) || seq == 0)
        continue;
      uint8_t tok[16], dg[64];
      CHECK_EQ(vq_stateless_reset_token(key, &c, tok), VQ_OK);
      memset(dg, 0x41, sizeof(dg));
      memcpy(dg + sizeof(dg) - 16, tok, 16);
      CHECK_EQ(vq_conn_recv(w.cli.conn, &cx, dg, sizeof(dg), 0), VQ_OK);
      CHECK_EQ(vq_conn_get_state(w.cli.conn), VQ_CONN_ESTABLISHED);
    }
    uint8_t tok[16], dg[64];
    CHECK_EQ(vq_stateless_reset_token(key, vq_conn_dcid(w.cli.conn), tok), VQ_OK);
    memset(dg, 0x41, sizeof(dg));
    memcpy(dg + sizeof(dg) - 16, tok, 16);
    CHECK_EQ(vq_conn_recv(w.cli.conn, &cx, dg, sizeof(dg), 0), VQ_OK);
    CHECK_EQ(vq_conn_get_state(w.cli.conn), VQ_CONN_DRAINING);
  }
  world_free(&w);
}

/* ---- paths (RFC 9000 §8.2, §9) --------------------------------------------------------------------- */

/* Test addresses: the first byte is the host. */
static int first_byte_host(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
  return alen > 0 && blen > 0 && a[0] == b[0];
}

static int established_paths(world *w, uint64_t seed, int allow_migration)
{
  scenario sc = {0};
  sc.seed = seed;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.keylog = 1;
  sc.allow_migration = allow_migration;
  sc.same_host = first_byte_host;
  return world_run(w, &sc) && w->cli.handshake_done && w->srv.handshake_done && peer_conn(&w->srv) &&
         w->csec_len > 0 && w->ssec_len > 0;
}

VQ_TEST(conn_path_response_padded)
{
  world w;
  CHECK(established_paths(&w, 120, 0));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t pl[9] = {0x1a};
    memcpy(pl + 1, data, 8);
    size_t rl = 0, bl = 0;
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), pl, sizeof(pl), next_pn(&w), NULL, 0, &rl, &bl) != NULL);
    /* spec: rfc9000#8.2.1/7 — the datagram carrying the PATH_CHALLENGE is far below 1200 bytes: it
     * is not discarded (the answer below shows it was processed) */
    CHECK(bl > 0 && bl < 100);
    int responses = 0, acked = 0;
    unsigned phase = 0;
    /* spec: rfc9000#8.2.2/2 — the PATH_RESPONSE is not delayed: it is in the very next datagram the
     * server sends, at the same instant (no ACK delay, no timer) */
    CHECK_EQ(server_reply(&w, 0, data, 0, &responses, &acked, &phase), 1);
    /* spec: rfc9000#8.2.2/1 — echoed; spec: rfc9000#8.2.2/5 — in a datagram of at least 1200 bytes */
    CHECK_EQ(responses, 1);
    CHECK(reply_len >= 1200);
  }
  world_free(&w);
}

VQ_TEST(conn_nat_rebinding_new_host)
{
  world w;
  CHECK(established_paths(&w, 121, 0));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    vq_endpoint_conn *ec0 = vq_endpoint_next(w.srv.ep, NULL);
    uint8_t old_addr[VQ_ADDR_MAX];
    size_t old_len = ec0->addr_len;
    memcpy(old_addr, ec0->addr, old_len);
    vq_cid old_dcid = *vq_conn_dcid(s);
    uint64_t pn = next_pn(&w);
    const uint8_t other[2] = {9, 9};
    vq_conn_stats a;
    vq_conn_get_stats(s, &a);
    /* a probing packet only (PATH_CHALLENGE) from another address: the connection stays, and
     * spec: rfc9000#8.2.2/3 — does not answer it on its own path */
    const uint8_t data[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    uint8_t pl[9] = {0x1a};
    memcpy(pl + 1, data, 8);
    size_t rl = 0, bl = 0;
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), pl, sizeof(pl), pn + 10, other, 2, &rl, &bl) != NULL);
    vq_conn_stats b;
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.peer_migrations, 0);
    int responses = 0, acked = 0;
    unsigned phase = 0;
    (void)server_reply(&w, 0, data, 0, &responses, &acked, &phase);
    CHECK_EQ(responses, 0);
    /* spec: rfc9000#9.3 — a non-probing packet from there that is not the largest so far (a late
     * one) does not move the connection either */
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), (const uint8_t[]){0x01}, 1, pn, other, 2, &rl, &bl) != NULL);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.peer_migrations, 0);
    /* the largest one does: spec: rfc9000#9.3/1 — the server sends to the new address from now on
     * (the endpoint's addr follows), spec: rfc9000#9/4 — validates it with PATH_CHALLENGE, spec:
     * rfc9000#9.5/3 — with a CID of the client not used before, spec: rfc9000#9.4/2 — and, the host
     * having changed, congestion control and RTT start again from their initial values */
    vq_endpoint_conn *ec = ep_inject(&w, vq_conn_dcid(w.cli.conn), (const uint8_t[]){0x01}, 1, pn + 20,
                                     other, 2, &rl, &bl);
    CHECK(ec != NULL && ec->conn == s);
    /* spec: rfc9000#9/3 — the server announced disable_active_migration (allow_migration 0), so
     * this move breaks it: the server neither drops it with a Stateless Reset nor ignores it, it
     * proceeds with path validation and lets the client migrate */
    CHECK_EQ(rl, 0);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.peer_migrations, 1);
    CHECK(ec && ec->addr_len == 2 && memcmp(ec->addr, other, 2) == 0);
    CHECK(!vq_cid_equal(vq_conn_dcid(s), &old_dcid));
    CHECK_EQ(b.srtt, VQ_K_INITIAL_RTT);
    CHECK(a.srtt != VQ_K_INITIAL_RTT);
    /* spec: rfc9000#9.3/2, rfc9000#8.2.1/5, rfc9000#8.2.2/6 — until validated, at most three times
     * what came from the new address (so the PATH_CHALLENGE datagram is not expanded to 1200) */
    uint64_t recv_there = bl;
    CHECK_EQ(server_reply(&w, 0, data, 0, &responses, &acked, &phase), 1);
    CHECK(reply_challenge);
    CHECK(reply_len <= 3 * recv_there);
    CHECK(vq_cid_equal(&reply_dcid, vq_conn_dcid(s)));
    /* spec: rfc9000#8.2.2/3 — the earlier probe's PATH_CHALLENGE is answered now, on its path */
    CHECK_EQ(responses, 1);
    uint8_t challenge[8];
    memcpy(challenge, reply_challenge_data, 8);
    size_t total = reply_len;
    uint8_t buf[1500];
    size_t n = 0;
    vq_cx cx = vq_lab_cx(w.lab);
    for (int i = 0; i < 10; i++) {
      CHECK_EQ(vq_conn_send(s, &cx, buf, sizeof(buf), &n), VQ_OK);
      total += n;
      if (n == 0)
        break;
    }
    CHECK(total <= 3 * recv_there);
    /* spec: rfc9000#8.2.2/4 — the PATH_RESPONSE validates the path (whatever path it came on) */
    uint8_t resp[9] = {0x1b};
    memcpy(resp + 1, challenge, 8);
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), resp, sizeof(resp), pn + 21, other, 2, &rl, &bl) != NULL);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.paths_validated, 1);
    CHECK_EQ(b.path_validation_failures, 0);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    /* spec: rfc9000#8.2.1/6, rfc9000#8.2.3/1 — the PATH_CHALLENGE and PATH_RESPONSE above went in
     * datagrams below 1200 bytes: a second validation follows, its PATH_CHALLENGE (new data) in a
     * datagram of 1200 bytes or more */
    CHECK_EQ(server_reply(&w, 0, data, 0, &responses, &acked, &phase), 1);
    CHECK(reply_challenge);
    CHECK(reply_len >= 1200);
    CHECK(memcmp(reply_challenge_data, challenge, 8) != 0);
    memcpy(resp + 1, reply_challenge_data, 8);
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), resp, sizeof(resp), pn + 22, other, 2, &rl, &bl) != NULL);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.paths_validated, 2);
    /* and no third one: that datagram was expanded */
    (void)server_reply(&w, 0, data, 0, &responses, &acked, &phase);
    CHECK(!reply_challenge);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    (void)old_addr;
  }
  world_free(&w);
}

VQ_TEST(conn_nat_rebinding_port_and_failed_validation)
{
  world w;
  CHECK(established_paths(&w, 122, 0));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    vq_endpoint_conn *ec = vq_endpoint_next(w.srv.ep, NULL);
    uint8_t old_addr[VQ_ADDR_MAX];
    size_t old_len = ec->addr_len;
    memcpy(old_addr, ec->addr, old_len);
    const uint8_t moved[2] = {old_addr[0], 0x55}; /* the same host, another port */
    vq_conn_stats a, b;
    vq_conn_get_stats(s, &a);
    size_t rl = 0;
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), (const uint8_t[]){0x01}, 1, next_pn(&w), moved, 2, &rl,
                    NULL) == ec);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.peer_migrations, 1);
    /* spec: rfc9000#9.4/3 — only the port changed: congestion control and RTT are kept */
    CHECK_EQ(b.srtt, a.srtt);
    CHECK_EQ(b.cwnd, a.cwnd);
    CHECK(ec->addr_len == 2 && memcmp(ec->addr, moved, 2) == 0);
    /* no PATH_RESPONSE comes: once the validation timer expires, spec: rfc9000#9.3.2/1 — the server
     * goes back to the last validated address */
    CHECK(vq_conn_next_timeout(s) < VQ_TIME_NEVER);
    vq_cx cx = vq_lab_cx(w.lab);
    for (int i = 0; i < 200 && vq_conn_get_state(s) == VQ_CONN_ESTABLISHED; i++) {
      vq_conn_get_stats(s, &b);
      if (b.path_validation_failures)
        break;
      cx.now = vq_conn_next_timeout(s);
      (void)vq_conn_handle_timeout(s, &cx);
      uint8_t buf[1500];
      size_t n = 0;
      (void)vq_conn_send(s, &cx, buf, sizeof(buf), &n);
    }
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.path_validation_failures, 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    const uint8_t *pa = NULL;
    size_t pl = 0;
    CHECK(vq_conn_peer_addr(s, &pa, &pl));
    CHECK(pl == old_len && memcmp(pa, old_addr, old_len) == 0);
    ec = vq_endpoint_next(w.srv.ep, NULL);
    CHECK(ec->addr_len == old_len && memcmp(ec->addr, old_addr, old_len) == 0);
  }
  world_free(&w);
}

/* spec: rfc9000#9.3.2/2 — as above, but the server keeps no state about a validated address to go
 * back to (white-box: it is forgotten): when the validation of the new address fails, the connection
 * is closed silently: no CONNECTION_CLOSE is sent, the state is gone */
VQ_TEST(conn_nat_rebinding_failed_without_validated_address)
{
  world w;
  CHECK(established_paths(&w, 122, 0));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    vq_endpoint_conn *ec = vq_endpoint_next(w.srv.ep, NULL);
    const uint8_t moved[2] = {ec->addr[0], 0x55};
    size_t rl = 0;
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), (const uint8_t[]){0x01}, 1, next_pn(&w), moved, 2, &rl,
                    NULL) == ec);
    vq_conn_stats b;
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.peer_migrations, 1);
    CHECK(s->have_prev_addr);
    s->have_prev_addr = 0;
    vq_cx cx = vq_lab_cx(w.lab);
    uint8_t buf[1500];
    size_t n = 0;
    for (int i = 0; i < 200 && vq_conn_get_state(s) == VQ_CONN_ESTABLISHED; i++) {
      cx.now = vq_conn_next_timeout(s);
      (void)vq_conn_handle_timeout(s, &cx);
      if (vq_conn_get_state(s) != VQ_CONN_ESTABLISHED)
        break;
      (void)vq_conn_send(s, &cx, buf, sizeof(buf), &n);
    }
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.path_validation_failures, 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSED);
    int app = 0, by_peer = 0;
    CHECK_EQ(vq_conn_close_error(s, &app, &by_peer, NULL), VQ_TE_NO_ERROR);
    n = 0;
    CHECK_EQ(vq_conn_send(s, &cx, buf, sizeof(buf), &n), VQ_OK);
    CHECK_EQ(n, (size_t)0); /* silent: nothing goes out */
  }
  world_free(&w);
}

VQ_TEST(conn_client_migrate)
{
  world w;
  /* spec: rfc9000#9/2 — the server sent disable_active_migration (the default): no migration */
  CHECK(established_paths(&w, 123, 0));
  vq_cx cx = vq_lab_cx(w.lab);
  if (w.cli.handshake_done) {
    CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_ERR_INVALID_ARGUMENT);
    vq_conn *s = peer_conn(&w.srv);
    if (s)
      CHECK_EQ(vq_conn_migrate(s, &cx), VQ_ERR_INVALID_ARGUMENT); /* a server does not migrate */
  }
  world_free(&w);
  CHECK(established_paths(&w, 124, 1));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    cx = vq_lab_cx(w.lab);
    vq_cid before = *vq_conn_dcid(w.cli.conn);
    CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_OK);
    /* spec: rfc9000#9.5/2 — a CID not used before on the new path */
    CHECK(!vq_cid_equal(vq_conn_dcid(w.cli.conn), &before));
    vq_conn_stats st;
    vq_conn_get_stats(w.cli.conn, &st);
    CHECK_EQ(st.migrations, 1);
    CHECK_EQ(st.srtt, VQ_K_INITIAL_RTT);
    /* spec: rfc9000#8.2.1/4, rfc9000#8.2.1/5 — the probe: PATH_CHALLENGE (and a PING) in a datagram
     * of at least 1200 bytes; the server, seeing it from a new port, follows */
    uint8_t buf[1500];
    size_t n = 0;
    CHECK_EQ(vq_conn_send(w.cli.conn, &cx, buf, sizeof(buf), &n), VQ_OK);
    CHECK(n >= 1200);
    const uint8_t moved[2] = {(uint8_t)w.cli.node, 0x66};
    vq_endpoint_conn *ec = NULL;
    int created = 0;
    uint8_t resp[1500];
    size_t rl = 0;
    CHECK_EQ(vq_endpoint_recv(w.srv.ep, &cx, moved, 2, buf, n, &ec, &created, resp, sizeof(resp), &rl),
             VQ_OK);
    CHECK(ec != NULL && ec->conn == s);
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.peer_migrations, 1);
    /* the server gave three spare CIDs: two more migrations, then none is left (none is reused) */
    CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_OK);
    CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_OK);
    CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_ERR_CID_UNAVAILABLE);
  }
  world_free(&w);
  /* spec: rfc9000#9/1 — not before the handshake is confirmed */
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)64 << 20);
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof(alpn);
  char err[128];
  vq_tls_ctx *cctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof(err)), VQ_OK);
  vq_conn_config cc = {0};
  cc.tls = cctx;
  cc.server_name = "localhost";
  cc.allow_active_migration = 1;
  vq_rng rng;
  vq_rng_seed(&rng, 5);
  vq_cx cx2 = {VQ_MS(1), NULL, NULL, &rng, NULL};
  vq_conn *c = NULL;
  CHECK_EQ(vq_conn_new_client(&c, &root, &cc, &cx2), VQ_OK);
  if (c) {
    CHECK_EQ(vq_conn_migrate(c, &cx2), VQ_ERR_INVALID_ARGUMENT);
    vq_conn_free(c, NULL);
  }
  vq_tls_ctx_free(cctx);
  CHECK_EQ(root.used, 0);
}

VQ_TEST(conn_cid_frames_retransmitted)
{
  /* spec: rfc9000#13.3 — NEW_CONNECTION_ID (and RETIRE_CONNECTION_ID) are sent again when the packet
   * carrying them is lost: over a link losing 25 %, the client still holds the server's three spare
   * CIDs (three migrations succeed, a fourth finds none), and after the migrations the server has
   * replaced every CID the client retired */
  uint64_t lost = 0;
  for (uint64_t seed = 130; seed < 138; seed++) {
    scenario sc = {0};
    sc.seed = seed;
    sc.link = link_ms(5);
    sc.link.loss_ppm = 250000;
    sc.run_for = VQ_MS(3000);
    sc.allow_migration = 1;
    world w;
    CHECK(world_run(&w, &sc));
    vq_conn *s = peer_conn(&w.srv);
    if (w.cli.handshake_done && s && vq_conn_get_state(w.cli.conn) == VQ_CONN_ESTABLISHED) {
      vq_conn_stats st;
      vq_conn_get_stats(s, &st);
      lost += st.pkts_lost;
      vq_cx cx = vq_lab_cx(w.lab);
      for (int k = 0; k < 3; k++)
        CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_OK);
      CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_ERR_CID_UNAVAILABLE);
      flush(&w.cli, w.lab, &cx);
      vq_lab_run(w.lab, vq_lab_now(w.lab) + VQ_MS(3000), NULL, NULL);
      vq_conn_get_stats(s, &st);
      CHECK_EQ(st.cids_retired_by_peer, 3);
      CHECK_EQ(st.cids_issued, 6);
      vq_conn_get_stats(w.cli.conn, &st);
      CHECK_EQ(st.peer_cids_retired, 3);
    }
    world_free(&w);
  }
  CHECK(lost > 0);
}

/* ---- PTO probe contents (RFC 9002 §6.2.4) ------------------------------------------------------ */

typedef struct probe_seen {
  uint64_t pn;
  int eliciting, ping, nst;
  uint64_t st_off[8], st_len[8];
  int st_fin[8];
} probe_seen;

/* Builds the server's next datagram and decodes it (first-generation 1-RTT keys): 1 when a packet
 * was sent (what it carried in *ps), 0 when nothing was, -1 on an error. The datagram never reaches
 * the client: every packet the server sends here is lost unless the test acknowledges it. */
static int srv_datagram(world *w, vq_cx *cx, probe_seen *ps)
{
  memset(ps, 0, sizeof(*ps));
  uint8_t buf[1500];
  size_t n = 0;
  if (vq_conn_send(peer_conn(&w->srv), cx, buf, sizeof(buf), &n) != VQ_OK)
    return -1;
  if (n == 0)
    return 0;
  vq_pkt_header h;
  if (vq_packet_parse(buf, n, vq_conn_scid(w->cli.conn)->len, &h) != VQ_OK || h.type != VQ_PKT_1RTT)
    return -1;
  vq_pp_key k;
  if (!key_1rtt(w, 1, 0, &k))
    return -1;
  vq_unprotected u;
  vq_status st = vq_packet_unprotect(&k, buf, h.packet_len, h.pn_off, -1, &u);
  vq_pp_key_discard(&k);
  if (st != VQ_OK)
    return -1;
  ps->pn = u.pn;
  size_t off = 0, used = 0;
  vq_frame f;
  while (off < u.payload_len &&
         vq_frame_parse(buf + u.payload_offset + off, u.payload_len - off, &f, &used) == VQ_OK) {
    if (vq_frame_is_ack_eliciting(f.type))
      ps->eliciting = 1;
    if (f.type == VQ_FRAME_PING)
      ps->ping = 1;
    if (f.type >= VQ_FRAME_STREAM && f.type <= (VQ_FRAME_STREAM | 7u) && ps->nst < 8) {
      ps->st_off[ps->nst] = f.stream.offset;
      ps->st_len[ps->nst] = f.stream.len;
      ps->st_fin[ps->nst] = f.stream.fin;
      ps->nst++;
    }
    off += used;
  }
  return 1;
}

/* A packet from the client (frames payload[0..plen)) received by the server at cx->now. */
static int inject_at(world *w, vq_cx *cx, const uint8_t *payload, size_t plen, uint64_t pn)
{
  uint8_t buf[1500];
  size_t out = 0;
  if (!build_1rtt(w, payload, plen, pn, 0, buf, &out))
    return 0;
  return vq_conn_recv(peer_conn(&w->srv), cx, buf, out, 0) == VQ_OK;
}

/* The client acknowledges the server's packets [lo, hi]. */
static int inject_ack(world *w, vq_cx *cx, uint64_t lo, uint64_t hi, uint64_t pn)
{
  vq_ack_range r = {lo, hi};
  vq_frame f;
  memset(&f, 0, sizeof(f));
  f.type = VQ_FRAME_ACK;
  f.ack.ranges_in = &r;
  f.ack.range_count_in = 1;
  uint8_t b[64];
  size_t n = 0;
  return vq_frame_encode(b, sizeof(b), &f, &n) == VQ_OK && inject_at(w, cx, b, n, pn);
}

/* An established connection where the client's request on stream 0 has arrived and the server has
 * written len bytes of its answer (nothing of it sent yet). stream_window: both sides' initial
 * stream flow-control limit (0: default). */
static int pto_setup(world *w, uint64_t seed, uint64_t stream_window, size_t len, int fin, vq_cx *cx,
                     uint64_t *pn)
{
  scenario sc = {0};
  sc.seed = seed;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.keylog = 1;
  sc.stream_window = stream_window;
  if (!world_run(w, &sc) || !w->cli.handshake_done || !w->srv.handshake_done || !peer_conn(&w->srv) ||
      !w->csec_len || !w->ssec_len)
    return 0;
  vq_conn *s = peer_conn(&w->srv);
  *cx = vq_lab_cx(w->lab);
  *pn = next_pn(w);
  probe_seen ps;
  while (srv_datagram(w, cx, &ps) == 1) /* anything the server still had to say */
    ;
  if (!inject_at(w, cx, (const uint8_t[]){0x0b, 0x00, 0x01, 'x'}, 4, (*pn)++))
    return 0;
  vq_conn_event ev;
  while (vq_conn_poll_event(s, &ev))
    ;
  static uint8_t data[20000];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (uint8_t)(i * 7u);
  size_t acc = 0;
  return len <= sizeof(data) && vq_conn_stream_write(s, cx, 0, data, len, fin, &acc) == VQ_OK &&
         acc == len;
}

/* Runs the server's timers until a PTO fires (datagrams due before it are sent and lost). */
static int srv_until_pto(world *w, vq_cx *cx)
{
  vq_conn *s = peer_conn(&w->srv);
  vq_conn_stats st;
  vq_conn_get_stats(s, &st);
  const uint64_t p0 = st.pto_count;
  for (int i = 0; i < 100; i++) {
    vq_time t = vq_conn_next_timeout(s);
    if (t == VQ_TIME_NEVER)
      return 0;
    if (t > cx->now)
      cx->now = t;
    if (vq_conn_handle_timeout(s, cx) != VQ_OK)
      return 0;
    vq_conn_get_stats(s, &st);
    if (st.pto_count > p0)
      return 1;
    probe_seen ps;
    while (srv_datagram(w, cx, &ps) == 1)
      ;
  }
  return 0;
}

/* spec: rfc9002#6.2.4/6 — flow control lets nothing new out: the probes resend the oldest data in
 * flight (the first packet's, then the next one's), not a PING; spec: rfc9002#6.2.4/1,
 * rfc9002#6.2.4/3 — both probes are ack-eliciting. The packets resent stay in flight: ACKs of the
 * originals and of the copies discharge the bytes once (nothing counted twice). */
VQ_TEST(conn_pto_probe_resends_oldest_data_when_blocked)
{
  world w;
  vq_cx cx;
  uint64_t pn = 0;
  CHECK(pto_setup(&w, 301, 3000, 8000, 0, &cx, &pn));
  vq_conn *s = peer_conn(&w.srv);
  if (s) {
    probe_seen ps;
    uint64_t first = 0, last = 0, sent_end = 0;
    int pkts = 0;
    while (srv_datagram(&w, &cx, &ps) == 1) {
      for (int i = 0; i < ps.nst; i++)
        if (ps.st_off[i] + ps.st_len[i] > sent_end)
          sent_end = ps.st_off[i] + ps.st_len[i];
      if (pkts++ == 0)
        first = ps.pn;
      last = ps.pn;
    }
    CHECK_EQ(sent_end, 3000); /* the stream's limit: 5000 bytes wait for MAX_STREAM_DATA */
    CHECK(pkts >= 3);
    vq_conn_stats st0, st1;
    vq_conn_get_stats(s, &st0);
    CHECK_EQ(st0.stream_bytes_sent, 3000);
    CHECK(srv_until_pto(&w, &cx));
    /* the first probe: the oldest data in flight, from offset 0 */
    CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
    CHECK(ps.eliciting);
    CHECK_EQ(ps.nst, 1);
    CHECK_EQ(ps.st_off[0], 0);
    CHECK(ps.st_len[0] > 0);
    uint64_t next_off = ps.st_len[0];
    /* the second: the next packet in flight */
    CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
    CHECK(ps.eliciting);
    CHECK(ps.nst >= 1);
    if (ps.nst >= 1) {
      CHECK_EQ(ps.st_off[0], next_off);
      CHECK(ps.st_off[0] + ps.st_len[0] <= 3000);
    }
    uint64_t probe2 = ps.pn;
    vq_conn_get_stats(s, &st1);
    CHECK_EQ(st1.probes_resent, 2);
    CHECK(st1.probe_resent_bytes >= next_off);
    CHECK_EQ(st1.stream_bytes_sent, 3000); /* resent bytes take no credit and are not new */
    CHECK_EQ(st1.pkts_lost, st0.pkts_lost); /* the originals are not declared lost */
    /* a late ACK of the originals, then of the copies */
    CHECK(inject_ack(&w, &cx, first, last, pn++));
    CHECK(inject_ack(&w, &cx, first, probe2, pn++));
    vq_conn_get_stats(s, &st1);
    CHECK_EQ(st1.bytes_in_flight, 0);
    CHECK_EQ(vq_conn_stream_writable(s, 0) >= 3000, 1);
  }
  world_free(&w);
  CHECK_EQ(w.srv.obligations_at_free, 5000); /* the bytes never sent: nothing else is owed */
}

/* spec: rfc9002#6.2.4/5 — with new data to send, the probes carry it; spec: rfc9002#6.2.4/7 — on a
 * consecutive PTO the second probe resends the oldest data instead (a receiver that cannot hold the
 * new data drops it unacknowledged; the oldest fills the hole it waits for). */
VQ_TEST(conn_pto_probe_new_data_first)
{
  world w;
  vq_cx cx;
  uint64_t pn = 0;
  CHECK(pto_setup(&w, 302, 0, 2000, 0, &cx, &pn));
  vq_conn *s = peer_conn(&w.srv);
  if (s) {
    probe_seen ps;
    while (srv_datagram(&w, &cx, &ps) == 1)
      ;
    static uint8_t more[12000];
    size_t acc = 0;
    CHECK_EQ(vq_conn_stream_write(s, &cx, 0, more, sizeof(more), 0, &acc), VQ_OK);
    CHECK(srv_until_pto(&w, &cx));
    CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
    CHECK_EQ(ps.nst, 1);
    CHECK_EQ(ps.st_off[0], 2000); /* new data */
    uint64_t end = ps.st_off[0] + ps.st_len[0];
    CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
    CHECK_EQ(ps.nst, 1);
    CHECK_EQ(ps.st_off[0], end); /* new data again */
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.probes_resent, 0);
    /* no ACK: the next PTO is a consecutive one */
    CHECK(srv_until_pto(&w, &cx));
    CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
    CHECK_EQ(ps.nst, 1);
    CHECK(ps.st_off[0] >= 2000); /* new data */
    CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
    CHECK_EQ(ps.nst, 1);
    CHECK_EQ(ps.st_off[0], 0); /* the oldest in flight, alone */
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.probes_resent, 1);
  }
  world_free(&w);
}

/* spec: rfc9002#6.2.4/8 — nothing left to resend (RFC 9002's example: data sent, sent again, the
 * original acknowledged): the probe is a PING. */
VQ_TEST(conn_pto_probe_ping_when_nothing_to_resend)
{
  world w;
  vq_cx cx;
  uint64_t pn = 0;
  CHECK(pto_setup(&w, 303, 0, 1000, 1, &cx, &pn));
  vq_conn *s = peer_conn(&w.srv);
  if (s) {
    probe_seen ps;
    CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
    CHECK_EQ(ps.nst, 1);
    CHECK_EQ(ps.st_len[0], 1000);
    CHECK(ps.st_fin[0]);
    uint64_t orig = ps.pn;
    CHECK_EQ(srv_datagram(&w, &cx, &ps), 0);
    CHECK(srv_until_pto(&w, &cx));
    /* both probes resend the data and its FIN (nothing new to send) */
    uint64_t last = 0;
    for (int k = 0; k < 2; k++) {
      CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
      CHECK_EQ(ps.nst, 1);
      CHECK_EQ(ps.st_off[0], 0);
      CHECK_EQ(ps.st_len[0], 1000);
      CHECK(ps.st_fin[0]);
      last = ps.pn;
    }
    /* the original arrives after all: its ACK discharges the data and the FIN */
    CHECK(inject_ack(&w, &cx, orig, orig, pn++));
    CHECK(srv_until_pto(&w, &cx));
    uint64_t ping_pn = 0;
    for (int k = 0; k < 2; k++) {
      CHECK_EQ(srv_datagram(&w, &cx, &ps), 1);
      CHECK(ps.ping);
      CHECK(ps.eliciting);
      CHECK_EQ(ps.nst, 0);
      ping_pn = ps.pn;
    }
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.stream_bytes_sent, 1000);
    /* the copies' ACK, late: nothing happens twice */
    CHECK(inject_ack(&w, &cx, orig, ping_pn > last ? ping_pn : last, pn++));
    while (srv_datagram(&w, &cx, &ps) == 1)
      CHECK_EQ(ps.nst, 0);
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.bytes_in_flight, 0);
  }
  world_free(&w);
  CHECK_EQ(w.srv.obligations_at_free, 0);
}

/* ---- the server's preferred address (RFC 9000 §9.6) -------------------------------------------- */

static scenario pa_scenario(uint64_t seed)
{
  scenario sc = {0};
  sc.seed = seed;
  sc.link = link_ms(15);
  sc.streams = 3;
  sc.request = 5000;
  sc.response = 300000;
  sc.pa = 1;
  return sc;
}

VQ_TEST(conn_lab_preferred_address_advertised)
{
  /* spec: rfc9000#9.6.1/1 — the server's preferred_address carries its address and the CID of
   * sequence number 1 with that CID's stateless reset token (RFC 9000 §5.1.1, §18.2); a client
   * told to ignore it stays where it is (nothing sent to the preferred address) */
  scenario sc = pa_scenario(30);
  sc.pa_ignore = 1;
  world w;
  CHECK(world_run(&w, &sc));
  CHECK(check_transfer(&w, &sc));
  vq_tp tp;
  CHECK(peer_tp_of(w.cli.conn, 1, &tp));
  CHECK(vq_tp_has(&tp, VQ_TP_PREFERRED_ADDRESS));
  CHECK_EQ(tp.preferred_address.ipv4[3], (uint8_t)w.srv.node2);
  CHECK_EQ(tp.preferred_address.cid.len, 8);
  vq_conn *s = peer_conn(&w.srv);
  CHECK(s != NULL);
  int found = 0;
  for (uint32_t i = 0; s && i < VQ_CONN_MAX_LOCAL_CIDS; i++) {
    vq_cid cid;
    uint64_t seq = 0;
    if (vq_conn_local_cid(s, i, &cid, &seq) && seq == 1) {
      found = 1;
      CHECK(cid.len == tp.preferred_address.cid.len &&
            memcmp(cid.bytes, tp.preferred_address.cid.bytes, cid.len) == 0);
    }
  }
  CHECK(found);
  CHECK_EQ(vq_conn_preferred_state(w.cli.conn), VQ_PA_NONE);
  CHECK_EQ(w.srv.rx2, 0);
  CHECK_EQ(w.cli.probes_to_pa, 0);
  world_free(&w);
}

/* The faults of the many-seed path scenarios after their first (clean) seed: 3 % loss and 2 %
 * reordering by 5 ms. */
static void lossy_reordering(vq_lab_link *l)
{
  l->loss_ppm = 30000;
  l->reorder_ppm = 20000;
  l->reorder_delay = VQ_MS(5);
}

VQ_TEST(conn_lab_preferred_address_move_many_seeds)
{
  /* spec: rfc9000#9.6.1/2, rfc9000#9.6.1/3 — after the handshake the client probes the preferred
   * address and, validated, sends everything there with the new CID; spec: rfc9000#9.6.2/1,
   * rfc9000#21.5.3/1 — before that only probes (padded PATH_CHALLENGE datagrams) go there. Over
   * many seeds with loss and reordering: the transfer completes byte-exact */
  int fails = 0;
  for (uint64_t seed = 400; seed < 416; seed++) {
    scenario sc = pa_scenario(seed);
    if (seed > 400)
      lossy_reordering(&sc.link);
    world w;
    if (!world_run(&w, &sc)) {
      fails++;
      continue;
    }
    int ok = check_transfer(&w, &sc);
    const vq_lab_stats *to2 = vq_lab_stats_of(w.lab, w.cli.node, w.srv.node2);
    if (vq_conn_preferred_state(w.cli.conn) != VQ_PA_MOVED || w.srv.rx2 < 10 ||
        w.cli.probes_to_pa < 1 || w.cli.nonprobe_size_to_pa != 0 || !to2) {
      fprintf(stderr, "  seed %llu: preferred state %d rx2 %llu probes %llu odd %llu\n",
              (unsigned long long)seed, vq_conn_preferred_state(w.cli.conn),
              (unsigned long long)w.srv.rx2, (unsigned long long)w.cli.probes_to_pa,
              (unsigned long long)w.cli.nonprobe_size_to_pa);
      ok = 0;
    }
    fails += !ok;
    world_free(&w);
  }
  CHECK_EQ(fails, 0);
}

VQ_TEST(conn_lab_preferred_address_unreachable)
{
  /* spec: rfc9000#9.6.1/4 — the preferred address is blackholed: its validation fails and the
   * client goes on at the original address (the transfer completes, whether it ends before the
   * validation gives up or after); spec: rfc9000#18.2/3 — and it
   * does not move to a new local address while talking to the handshake's address */
  int fails = 0;
  for (uint64_t seed = 430; seed < 436; seed++) {
    scenario sc = pa_scenario(seed);
    sc.pa_blackhole = 1;
    sc.allow_migration = 1;
    if (seed > 430)
      sc.link.loss_ppm = 30000;
    world w;
    if (!world_run(&w, &sc)) {
      fails++;
      continue;
    }
    int ok = check_transfer(&w, &sc);
    if (vq_conn_preferred_state(w.cli.conn) == VQ_PA_MOVED || w.srv.rx2 != 0 ||
        w.cli.probes_to_pa < 1) {
      fprintf(stderr, "  seed %llu: preferred state %d rx2 %llu probes %llu\n",
              (unsigned long long)seed, vq_conn_preferred_state(w.cli.conn),
              (unsigned long long)w.srv.rx2, (unsigned long long)w.cli.probes_to_pa);
      ok = 0;
    }
    fails += !ok;
    world_free(&w);
  }
  CHECK_EQ(fails, 0);
  /* the client refuses vq_conn_migrate (a new local address) towards the original address */
  scenario sc = pa_scenario(437);
  sc.pa_blackhole = 1;
  sc.allow_migration = 1;
  sc.response = 100000000; /* never finishes: the test stops it */
  sc.streams = 1;
  sc.run_for = VQ_MS(3000);
  world w;
  CHECK(world_run(&w, &sc));
  CHECK(w.cli.handshake_done);
  CHECK_EQ(vq_conn_preferred_state(w.cli.conn), VQ_PA_FAILED);
  vq_cx cx = vq_lab_cx(w.lab);
  CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_ERR_INVALID_ARGUMENT);
  world_free(&w);
}

VQ_TEST(conn_lab_preferred_address_probe_backoff)
{
  /* spec: rfc9000#9.4/4 — the preferred address is black-holed: each time the probe's timer
   * expires the PATH_CHALLENGE goes again and the timer restarts for at least twice as long (RFC
   * 9002 §6.2.1's backoff; loss detection does not resend it in between); spec: rfc9000#8.2.4/1,
   * rfc9000#8.2.4/2 — the validation is abandoned three times the larger of the PTO and the new
   * path's initial PTO (2 * kInitialRtt) after it started, and the client stays at the original
   * address */
  int fails = 0;
  for (uint64_t seed = 440; seed < 444; seed++) {
    scenario sc = pa_scenario(seed);
    sc.pa_blackhole = 1;
    sc.response = 100000000; /* busy all along: loss detection runs; the test stops it */
    sc.streams = 1;
    sc.run_for = VQ_MS(4000);
    if (seed > 440)
      sc.link.loss_ppm = 20000;
    world w;
    if (!world_run(&w, &sc)) {
      fails++;
      continue;
    }
    lpeer *p = &w.cli;
    int ok = p->probes_to_pa >= 3 && p->probes_to_pa <= 16 && p->pa_failed_seen &&
             vq_conn_preferred_state(p->conn) == VQ_PA_FAILED && w.srv.rx2 == 0;
    int n = (int)(p->probes_to_pa < 16 ? p->probes_to_pa : 16);
    for (int i = 2; ok && i < n; i++) {
      vq_time a = p->pa_tx_at[i - 1] - p->pa_tx_at[i - 2], b = p->pa_tx_at[i] - p->pa_tx_at[i - 1];
      if (a == 0 || b < 2 * a)
        ok = 0;
    }
    /* given up no earlier than 3 * 2 * kInitialRtt (666 ms) after the first probe, and not long
     * after three times the larger PTO (bounded here by 3 s) */
    if (ok && (p->pa_failed_at < p->pa_tx_at[0] + 3 * 2 * VQ_K_INITIAL_RTT ||
               p->pa_failed_at > p->pa_tx_at[0] + VQ_MS(3000)))
      ok = 0;
    if (!ok) {
      fprintf(stderr, "  seed %llu: probes %llu failed %d at %llu, state %d:",
              (unsigned long long)seed, (unsigned long long)p->probes_to_pa, p->pa_failed_seen,
              (unsigned long long)p->pa_failed_at, vq_conn_preferred_state(p->conn));
      for (int i = 0; i < n; i++)
        fprintf(stderr, " %llu", (unsigned long long)p->pa_tx_at[i]);
      fprintf(stderr, "\n");
    }
    fails += !ok;
    world_free(&w);
  }
  CHECK_EQ(fails, 0);
}

/* spec: rfc9000#9.6.3/4 — packets at the server's preferred address from a source address other
 * than the handshake's: the server protects itself as RFC 9000 §9.3.1 and §9.3.2 say. The packet
 * with a non-probing frame is a migration: spec: rfc9000#9.3/1 — the new address is validated
 * with PATH_CHALLENGE (under a CID of the client's not used before), spec: rfc9000#9.3/2,
 * rfc9000#8/1 — and until then at most three times what came from it goes there; only the
 * PATH_RESPONSE from that address's peer validates it. A PATH_CHALLENGE alone from there (a probe)
 * is answered on its path — from the preferred address — within the same limit. */
VQ_TEST(conn_preferred_address_other_source_validated)
{
  scenario sc = {0};
  sc.seed = 450;
  sc.link = link_ms(5);
  sc.run_for = VQ_MS(500);
  sc.keylog = 1;
  sc.pa = 1;
  sc.pa_strict = 1;
  sc.pa_ignore = 1; /* the client stays at the original address: the packets below are not its */
  sc.allow_migration = 1;
  world w;
  CHECK(world_run(&w, &sc));
  CHECK(w.cli.handshake_done && w.srv.handshake_done && w.csec_len > 0);
  vq_conn *s = peer_conn(&w.srv);
  vq_tp tp;
  CHECK(peer_tp_of(w.cli.conn, 1, &tp));
  if (s && w.csec_len && vq_tp_has(&tp, VQ_TP_PREFERRED_ADDRESS)) {
    vq_cid pacid;
    CHECK_EQ(vq_cid_set(&pacid, tp.preferred_address.cid.bytes, tp.preferred_address.cid.len), VQ_OK);
    vq_endpoint_conn *ec0 = vq_endpoint_next(w.srv.ep, NULL);
    uint8_t hs_addr[VQ_ADDR_MAX];
    size_t hs_len = ec0->addr_len;
    memcpy(hs_addr, ec0->addr, hs_len);
    uint64_t pn = next_pn(&w);
    const uint8_t other[2] = {9, 9};
    vq_cx cx = vq_lab_cx(w.lab);
    /* a probe from the other address at the preferred address: answered from there, small */
    const uint8_t pdata[8] = {4, 4, 3, 3, 2, 2, 1, 1};
    uint8_t pl[9] = {0x1a};
    memcpy(pl + 1, pdata, 8);
    size_t rl = 0, bl = 0;
    CHECK(ep_inject_at(&w, 1, &pacid, pl, sizeof(pl), pn + 10, other, 2, &rl, &bl) == ec0);
    vq_conn_stats b;
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.peer_migrations, 0);
    uint8_t buf[1500], to[VQ_ADDR_MAX], from[VQ_ADDR_MAX];
    size_t n = 0, tl = 0, fl = 0;
    CHECK_EQ(vq_conn_send_path_from(s, &cx, buf, sizeof(buf), &n, NULL, from, &fl, to, &tl), VQ_OK);
    CHECK(n > 0 && n <= 3 * bl);
    CHECK(tl == 2 && memcmp(to, other, 2) == 0);
    CHECK(fl == 1 && from[0] == (uint8_t)w.srv.node2);
    /* a non-probing packet (the largest) from there at the preferred address: a migration */
    vq_endpoint_conn *ec = ep_inject_at(&w, 1, &pacid, (const uint8_t[]){0x01}, 1, pn + 20, other, 2,
                                        &rl, &bl);
    CHECK(ec == ec0);
    CHECK_EQ(rl, 0);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.peer_migrations, 1);
    CHECK(ec0->addr_len == 2 && memcmp(ec0->addr, other, 2) == 0);
    uint64_t recv_there = bl;
    int responses = 0, acked = 0;
    unsigned phase = 0;
    CHECK_EQ(server_reply(&w, 0, pdata, 0, &responses, &acked, &phase), 1);
    CHECK(reply_challenge);
    CHECK(reply_len <= 3 * recv_there);
    uint8_t challenge[8];
    memcpy(challenge, reply_challenge_data, 8);
    size_t total = reply_len;
    for (int i = 0; i < 10; i++) {
      n = tl = fl = 0;
      CHECK_EQ(vq_conn_send_path_from(s, &cx, buf, sizeof(buf), &n, NULL, from, &fl, to, &tl), VQ_OK);
      if (tl == 0) /* to the new address (tl 1: the check of the previous path, RFC 9000 §9.3.3) */
        total += n;
      if (n == 0)
        break;
    }
    CHECK(total <= 3 * recv_there);
    /* a PATH_RESPONSE with other data validates nothing; the right one does */
    uint8_t resp[9] = {0x1b, 0xee};
    CHECK(ep_inject_at(&w, 1, &pacid, resp, sizeof(resp), pn + 21, other, 2, &rl, &bl) == ec0);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.paths_validated, 0);
    memcpy(resp + 1, challenge, 8);
    CHECK(ep_inject_at(&w, 1, &pacid, resp, sizeof(resp), pn + 22, other, 2, &rl, &bl) == ec0);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.paths_validated, 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    (void)hs_addr;
  }
  world_free(&w);
}

/* A 1-RTT packet from the server to the client (its handshake CID) with the given frames. */
static int build_srv_1rtt(world *w, const uint8_t *payload, size_t plen, uint64_t pn, uint8_t buf[1500],
                          size_t *outp)
{
  vq_pp_key k;
  if (!key_1rtt(w, 1, 0, &k))
    return 0;
  size_t pn_off = 0, out = 0;
  int ok = vq_short_header_write(buf, 1500, vq_conn_scid(w->cli.conn), 0, 0, 4, &pn_off) == VQ_OK &&
           vq_pn_write(buf + pn_off, 1500 - pn_off, pn, 4) == VQ_OK && pn_off + 4 + plen < 1400;
  if (ok) {
    memcpy(buf + pn_off + 4, payload, plen);
    ok = vq_packet_protect(&k, buf, 1500, pn_off, 4, pn, plen, &out) == VQ_OK;
  }
  vq_pp_key_discard(&k);
  *outp = out;
  return ok;
}

/* spec: rfc9000#9.6.3/2 — while the client validates the server's preferred address it does not
 * move to a new local address (vq_conn_migrate, or a probe from one towards the original address,
 * is refused: spec: rfc9000#18.2/3), so the only validation of the original address that can be in
 * flight with it is a probe from the current local address (vq_conn_probe_path); when the
 * preferred address validates, that one is abandoned (it ends as failed) and the client moves to
 * the preferred address. */
VQ_TEST(conn_preferred_address_wins_over_original)
{
  scenario sc = pa_scenario(451);
  sc.pa_blackhole = 1; /* the probes never arrive: the test answers one itself */
  sc.allow_migration = 1;
  sc.keylog = 1;
  sc.streams = 1;
  sc.response = 100000000;
  sc.run_for = VQ_MS(300);
  world w;
  CHECK(world_run(&w, &sc));
  vq_conn *c = w.cli.conn;
  CHECK(w.cli.handshake_done && w.csec_len > 0 && w.ssec_len > 0);
  CHECK_EQ(vq_conn_preferred_state(c), VQ_PA_PROBING);
  if (vq_conn_preferred_state(c) == VQ_PA_PROBING && w.ssec_len) {
    vq_cx cx = vq_lab_cx(w.lab);
    const uint8_t newlocal = 77;
    CHECK_EQ(vq_conn_migrate(c, &cx), VQ_ERR_INVALID_ARGUMENT);
    CHECK_EQ(vq_conn_probe_path(c, &cx, &newlocal, 1, NULL, 0), VQ_ERR_INVALID_ARGUMENT);
    CHECK_EQ(vq_conn_probe_path(c, &cx, NULL, 0, NULL, 0), VQ_OK);
    CHECK_EQ(vq_conn_probe_state(c), VQ_PROBE_PROBING);
    vq_conn_event ev;
    while (vq_conn_poll_event(c, &ev))
      ;
    /* the server's PATH_RESPONSE to the preferred-address probe, from the preferred address */
    uint8_t pl[9] = {0x1b};
    memcpy(pl + 1, c->pa_data, 8);
    uint8_t buf[1500];
    size_t n = 0;
    vq_conn_stats st;
    vq_conn_get_stats(peer_conn(&w.srv), &st);
    CHECK(build_srv_1rtt(&w, pl, sizeof(pl), st.pkts_sent + 1000, buf, &n));
    uint8_t pa_node = (uint8_t)w.srv.node2;
    CHECK_EQ(vq_conn_recv_from(c, &cx, &pa_node, 1, buf, n, 0), VQ_OK);
    CHECK_EQ(vq_conn_preferred_state(c), VQ_PA_MOVED);
    const uint8_t *pa;
    size_t pl_len = 0;
    CHECK(vq_conn_peer_addr(c, &pa, &pl_len) && pl_len == 1 && pa[0] == pa_node);
    /* the probe of the original address: abandoned, reported failed */
    CHECK_EQ(vq_conn_probe_state(c), VQ_PROBE_FAILED);
    int probe_ev = 0;
    while (vq_conn_poll_event(c, &ev))
      if (ev.type == VQ_CONN_EV_PATH_PROBE)
        probe_ev = 1 + (int)ev.error_code;
    CHECK_EQ(probe_ev, 1);
    /* nothing more goes to the original address: no probe datagram of its own */
    for (int k = 0; k < 50; k++) {
      uint8_t to[VQ_ADDR_MAX], from[VQ_ADDR_MAX];
      size_t tl = 0, fl = 0;
      n = 0;
      if (vq_conn_send_path_from(c, &cx, buf, sizeof(buf), &n, NULL, from, &fl, to, &tl) != VQ_OK || !n)
        break;
      CHECK(tl == 0);
      CHECK(fl == 0);
    }
  }
  world_free(&w);
}

/* The frames of a 1-RTT datagram (its first packet), decrypted with the server's (server 1) or the
 * client's key: a PATH_CHALLENGE's data (*chal 1), a PATH_RESPONSE, a non-probing frame (RFC 9000
 * §9.1: other than PATH_CHALLENGE, PATH_RESPONSE, NEW_CONNECTION_ID, PADDING). 0 if undecodable. */
static int scan_1rtt(world *w, int server, const uint8_t *dgram, size_t n, size_t dcid_len, int *chal,
                     uint8_t data[8], int *resp, int *non_probing)
{
  uint8_t buf[1500];
  *chal = *resp = *non_probing = 0;
  if (n > sizeof(buf))
    return 0;
  memcpy(buf, dgram, n);
  vq_pkt_header h;
  if (vq_packet_parse(buf, n, dcid_len, &h) != VQ_OK || h.type != VQ_PKT_1RTT)
    return 0;
  vq_pp_key k;
  if (!key_1rtt(w, server, 0, &k))
    return 0;
  vq_unprotected u;
  vq_status st = vq_packet_unprotect(&k, buf, h.packet_len, h.pn_off, -1, &u);
  vq_pp_key_discard(&k);
  if (st != VQ_OK)
    return 0;
  size_t off = 0, used = 0;
  vq_frame f;
  while (off < u.payload_len &&
         vq_frame_parse(buf + u.payload_offset + off, u.payload_len - off, &f, &used) == VQ_OK) {
    if (f.type == VQ_FRAME_PATH_CHALLENGE) {
      *chal = 1;
      memcpy(data, f.path.data, 8);
    } else if (f.type == VQ_FRAME_PATH_RESPONSE) {
      *resp = 1;
    } else if (f.type != VQ_FRAME_PADDING && f.type != VQ_FRAME_NEW_CONNECTION_ID) {
      *non_probing = 1;
    }
    off += used;
  }
  return 1;
}

/* spec: rfc9000#9.3.3/1 — an on-path attacker forwards a copy of the client's packet (the largest so
 * far) from its own address: the server follows it (RFC 9000 §9.3) but also validates the
 * previously active path with a PATH_CHALLENGE, in a datagram of its own to the client's old
 * address (padded to 1200 bytes, RFC 9000 §8.2.1/5); spec: rfc9000#9.3.3/2 — the real client
 * answers it with a non-probing packet, and the connection moves back to the original path. The
 * attacker's address is then no longer the one the server sends to. */
VQ_TEST(conn_apparent_migration_previous_path_checked)
{
  world w;
  CHECK(established_paths(&w, 123, 1));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len && w.ssec_len) {
    vq_endpoint_conn *ec = vq_endpoint_next(w.srv.ep, NULL);
    uint8_t old_addr[VQ_ADDR_MAX];
    size_t old_len = ec->addr_len;
    memcpy(old_addr, ec->addr, old_len);
    const uint8_t attacker[2] = {9, 9};
    uint64_t pn = next_pn(&w);
    size_t rl = 0, bl = 0;
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), (const uint8_t[]){0x01}, 1, pn, attacker, 2, &rl,
                    &bl) == ec);
    vq_conn_stats b;
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.peer_migrations, 1);
    CHECK(ec->addr_len == 2 && memcmp(ec->addr, attacker, 2) == 0);
    vq_cx cx = vq_lab_cx(w.lab);
    int to_prev = 0, chal_new = 0;
    uint8_t prev_data[8] = {0};
    size_t cl = vq_conn_scid(w.cli.conn)->len;
    for (int k = 0; k < 20; k++) {
      uint8_t buf[1500], to[VQ_ADDR_MAX], from[VQ_ADDR_MAX];
      size_t n = 0, tl = 0, fl = 0;
      CHECK_EQ(vq_conn_send_path_from(s, &cx, buf, sizeof(buf), &n, NULL, from, &fl, to, &tl), VQ_OK);
      if (n == 0)
        break;
      int chal = 0, resp = 0, np = 0;
      uint8_t d[8];
      CHECK(scan_1rtt(&w, 1, buf, n, cl, &chal, d, &resp, &np));
      if (tl == old_len && memcmp(to, old_addr, old_len) == 0) {
        to_prev++;
        CHECK(chal);
        CHECK(!np); /* a probing packet only */
        CHECK(n >= 1200);
        memcpy(prev_data, d, 8);
      } else {
        CHECK_EQ(tl, 0);
        chal_new += chal;
      }
    }
    CHECK_EQ(to_prev, 1);
    CHECK(chal_new >= 1);
    /* the real client gets it on its active path: its answer carries a non-probing frame */
    uint8_t pc[9] = {0x1a};
    memcpy(pc + 1, prev_data, 8);
    uint8_t cb[1500];
    size_t cn = 0;
    CHECK(build_srv_1rtt(&w, pc, sizeof(pc), b.pkts_sent + 1000, cb, &cn));
    vq_cx ccx = vq_lab_cx(w.lab);
    uint8_t srv_addr = (uint8_t)w.srv.node;
    CHECK_EQ(vq_conn_recv_from(w.cli.conn, &ccx, &srv_addr, 1, cb, cn, 0), VQ_OK);
    int answered = 0, with_np = 0;
    for (int k = 0; k < 10; k++) {
      uint8_t buf[1500];
      size_t n = 0;
      if (vq_conn_send(w.cli.conn, &ccx, buf, sizeof(buf), &n) != VQ_OK || n == 0)
        break;
      int chal = 0, resp = 0, np = 0;
      uint8_t d[8];
      CHECK(scan_1rtt(&w, 0, buf, n, vq_conn_dcid(w.cli.conn)->len, &chal, d, &resp, &np));
      if (resp) {
        answered++;
        with_np += np;
      }
    }
    CHECK_EQ(answered, 1);
    CHECK_EQ(with_np, 1);
    /* that answer (PATH_RESPONSE and PING, a new largest packet) reaches the server from the
     * original address: the previous path is validated and the connection is back on it */
    uint8_t pl[10] = {0x1b};
    memcpy(pl + 1, prev_data, 8);
    pl[9] = 0x01;
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), pl, sizeof(pl), pn + 1, NULL, 0, &rl, &bl) == ec);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.prev_paths_validated, 1);
    CHECK_EQ(b.peer_migrations, 2);
    CHECK(ec->addr_len == old_len && memcmp(ec->addr, old_addr, old_len) == 0);
    const uint8_t *pa = NULL;
    size_t pal = 0;
    CHECK(vq_conn_peer_addr(s, &pa, &pal) && pal == old_len && memcmp(pa, old_addr, old_len) == 0);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
  }
  world_free(&w);
}

/* The same when the previous path is gone (a real migration, the old address dead): the check of
 * it fails silently, the connection stays on the new path. */
VQ_TEST(conn_real_migration_previous_path_dead)
{
  world w;
  CHECK(established_paths(&w, 124, 1));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    vq_endpoint_conn *ec = vq_endpoint_next(w.srv.ep, NULL);
    const uint8_t moved[2] = {9, 8};
    uint64_t pn = next_pn(&w);
    size_t rl = 0, bl = 0;
    CHECK(ep_inject(&w, vq_conn_dcid(w.cli.conn), (const uint8_t[]){0x01}, 1, pn, moved, 2, &rl, &bl) ==
          ec);
    vq_cx cx = vq_lab_cx(w.lab);
    size_t cl = vq_conn_scid(w.cli.conn)->len;
    int validated_new = 0;
    vq_conn_stats b;
    for (int i = 0; i < 400 && vq_conn_get_state(s) == VQ_CONN_ESTABLISHED; i++) {
      vq_conn_get_stats(s, &b);
      if (b.prev_path_failures)
        break;
      uint8_t buf[1500], to[VQ_ADDR_MAX], from[VQ_ADDR_MAX];
      size_t n = 0, tl = 0, fl = 0;
      for (int k = 0; k < 20; k++) {
        if (vq_conn_send_path_from(s, &cx, buf, sizeof(buf), &n, NULL, from, &fl, to, &tl) != VQ_OK ||
            n == 0)
          break;
        int chal = 0, resp = 0, np = 0;
        uint8_t d[8];
        /* the client at its new address answers the new path's challenges; the old one is dead */
        if (tl == 0 && !validated_new && scan_1rtt(&w, 1, buf, n, cl, &chal, d, &resp, &np) && chal) {
          uint8_t pl[10] = {0x1b};
          memcpy(pl + 1, d, 8);
          pl[9] = 0x01;
          (void)ep_inject(&w, vq_conn_dcid(w.cli.conn), pl, sizeof(pl), ++pn, moved, 2, &rl, &bl);
          vq_conn_get_stats(s, &b);
          validated_new = b.paths_validated >= 1;
        }
      }
      cx.now = vq_conn_next_timeout(s);
      (void)vq_conn_handle_timeout(s, &cx);
    }
    vq_conn_get_stats(s, &b);
    CHECK(validated_new);
    CHECK_EQ(b.prev_path_failures, 1);
    CHECK_EQ(b.prev_paths_validated, 0);
    CHECK_EQ(b.peer_migrations, 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
    CHECK(ec->addr_len == 2 && memcmp(ec->addr, moved, 2) == 0);
  }
  world_free(&w);
}

VQ_TEST(conn_preferred_address_not_with_zero_length_cid)
{
  /* spec: rfc9000#18.2/5 — a server whose CID is zero-length gives no preferred_address; with an
   * 8-byte CID the same configuration does */
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)64 << 20);
  vq_tls_ctx_config scfg = {0}, ccfg = {0};
  scfg.is_server = 1;
  scfg.selfsigned_name = "localhost";
  scfg.alpn = alpn;
  scfg.alpn_len = sizeof(alpn);
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof(alpn);
  ccfg.insecure = 1;
  char err[128];
  vq_tls_ctx *sctx = NULL, *cctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&sctx, &scfg, err, sizeof(err)), VQ_OK);
  CHECK_EQ(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof(err)), VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 5);
  vq_cx cx = {VQ_MS(1), NULL, NULL, &rng, NULL};
  vq_tp_preferred_address pref;
  memset(&pref, 0, sizeof(pref));
  pref.ipv4[0] = 10;
  pref.ipv4_port = 443;
  for (size_t cl = 0; cl <= 8; cl += 8) {
    vq_conn_config cc = {0};
    cc.tls = cctx;
    cc.server_name = "localhost";
    vq_conn *cli = NULL, *srv = NULL;
    CHECK_EQ(vq_conn_new_client(&cli, &root, &cc, &cx), VQ_OK);
    uint8_t d[1500];
    size_t n = 0;
    CHECK_EQ(vq_conn_send(cli, &cx, d, sizeof(d), &n), VQ_OK);
    vq_conn_config sk = {0};
    sk.is_server = 1;
    sk.tls = sctx;
    sk.cid_len = cl;
    sk.preferred_address = &pref;
    vq_cid scid;
    CHECK_EQ(vq_cid_set(&scid, (const uint8_t *)"\x11\x22\x33\x44\x55\x66\x77\x88", cl), VQ_OK);
    (void)vq_conn_new_server(&srv, &root, &sk, &cx, &scid, d, n);
    CHECK(srv != NULL);
    uint8_t tpb[512];
    size_t tl = 0;
    vq_tp tp;
    if (srv) {
      CHECK_EQ(vq_conn_local_tp(srv, tpb, sizeof(tpb), &tl), VQ_OK);
      CHECK_EQ(vq_tp_decode(tpb, tl, VQ_TP_SERVER, &tp), VQ_OK);
      CHECK_EQ(vq_tp_has(&tp, VQ_TP_PREFERRED_ADDRESS) != 0, cl != 0);
    }
    vq_conn_free(srv, NULL);
    vq_conn_free(cli, NULL);
  }
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
  CHECK_EQ(root.used, 0);
}

/* ---- probing a path without moving (RFC 9000 §9.1) ------------------------------------------------ */

/* The short header's Destination CID (8 bytes here) equals cid. */
static int dcid_is(const uint8_t *d, size_t n, const vq_cid *cid)
{
  return n > 1 + (size_t)cid->len && (d[0] & 0x80) == 0 && memcmp(d + 1, cid->bytes, cid->len) == 0;
}

VQ_TEST(conn_probe_path)
{
  /* spec: rfc9000#9.1/1 — the client probes a path from a new local address without moving: spec:
   * rfc9000#9.5/2 — under a CID of the server's never used (not the current one), spec:
   * rfc9000#8.2.1/5 — in a datagram of 1200 bytes, returned with the local address to send it
   * from; the ordinary packets go on the current path under the current CID. The server answers
   * on the probe's path (spec: rfc9000#8.2.2/3) with a PATH_RESPONSE of 1200 bytes (spec:
   * rfc9000#8.2.2/5) under a CID of the client's not used towards another address (spec:
   * rfc9000#9.5/3), and does not move (no non-probing packet came from there). The response
   * validates the path: an event; the connection stays until the application migrates. */
  world w;
  CHECK(established_paths(&w, 140, 1));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.cli.handshake_done) {
    vq_cx cx = vq_lab_cx(w.lab);
    vq_cid cur = *vq_conn_dcid(w.cli.conn);
    vq_cid scur = *vq_conn_dcid(s);
    const uint8_t local[2] = {(uint8_t)w.cli.node, 0x77};
    CHECK_EQ(vq_conn_probe_state(w.cli.conn), VQ_PROBE_NONE);
    CHECK_EQ(vq_conn_probe_path(s, &cx, local, 2, NULL, 0), VQ_ERR_INVALID_ARGUMENT); /* a server */
    CHECK_EQ(vq_conn_probe_path(w.cli.conn, &cx, local, 2, NULL, 0), VQ_OK);
    CHECK_EQ(vq_conn_probe_state(w.cli.conn), VQ_PROBE_PROBING);
    uint64_t sid = 0;
    size_t acc = 0;
    CHECK_EQ(vq_conn_stream_open(w.cli.conn, &cx, 1, &sid), VQ_OK);
    CHECK_EQ(vq_conn_stream_write(w.cli.conn, &cx, sid, (const uint8_t *)"still here", 10, 1, &acc),
             VQ_OK);
    uint8_t probe[1500], d[1500], from[VQ_ADDR_MAX], to[VQ_ADDR_MAX];
    size_t pn = 0, n = 0, fl = 0, tl = 0;
    CHECK_EQ(vq_conn_send_path_from(w.cli.conn, &cx, probe, sizeof(probe), &pn, NULL, from, &fl, to, &tl),
             VQ_OK);
    CHECK(pn >= 1200);
    CHECK_MEM(from, fl, local, 2);
    CHECK_EQ(tl, 0);
    CHECK(!dcid_is(probe, pn, &cur));
    /* the stream data goes on the current path, under the current CID */
    CHECK_EQ(vq_conn_send_path_from(w.cli.conn, &cx, d, sizeof(d), &n, NULL, from, &fl, to, &tl), VQ_OK);
    CHECK(n > 0);
    CHECK_EQ(fl, 0);
    CHECK_EQ(tl, 0);
    CHECK(dcid_is(d, n, &cur));
    vq_endpoint_conn *ec = NULL;
    int created = 0;
    uint8_t resp[1500];
    size_t rl = 0;
    uint8_t cli_addr = (uint8_t)w.cli.node;
    CHECK_EQ(vq_endpoint_recv(w.srv.ep, &cx, &cli_addr, 1, d, n, &ec, &created, resp, sizeof(resp), &rl),
             VQ_OK);
    CHECK_EQ(vq_endpoint_recv(w.srv.ep, &cx, local, 2, probe, pn, &ec, &created, resp, sizeof(resp), &rl),
             VQ_OK);
    CHECK(ec != NULL && ec->conn == s);
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.peer_migrations, 0);
    const uint8_t *pa;
    size_t pl = 0;
    CHECK(vq_conn_peer_addr(s, &pa, &pl));
    CHECK_MEM(pa, pl, &cli_addr, 1);
    /* the answer first, to the probe's address */
    uint8_t ans[1500];
    size_t an = 0;
    CHECK_EQ(vq_conn_send_path(s, &cx, ans, sizeof(ans), &an, to, &tl), VQ_OK);
    CHECK_MEM(to, tl, local, 2);
    CHECK(an >= 1200);
    CHECK(!dcid_is(ans, an, &scur));
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.probes_answered, 1);
    /* then the server's ordinary packets, to the current address, under its current CID */
    CHECK_EQ(vq_conn_send_path(s, &cx, d, sizeof(d), &n, to, &tl), VQ_OK);
    CHECK(n > 0);
    CHECK_EQ(tl, 0);
    CHECK(dcid_is(d, n, &scur));
    CHECK(!vq_conn_send_path(s, &cx, d, sizeof(d), &n, to, &tl) && (n == 0 || tl == 0));
    /* the answer reaches the client (on its new address): validated, and it stays */
    CHECK_EQ(vq_conn_recv(w.cli.conn, &cx, ans, an, 0), VQ_OK);
    int ev = 0;
    vq_conn_event e;
    while (vq_conn_poll_event(w.cli.conn, &e))
      if (e.type == VQ_CONN_EV_PATH_PROBE)
        ev = 1 + (int)e.error_code;
    CHECK_EQ(ev, 2);
    CHECK_EQ(vq_conn_probe_state(w.cli.conn), VQ_PROBE_VALIDATED);
    CHECK(vq_cid_equal(vq_conn_dcid(w.cli.conn), &cur));
    vq_conn_get_stats(w.cli.conn, &st);
    CHECK_EQ(st.migrations, 0);
    /* the application moves: a migration as usual, the probe's state ends */
    CHECK_EQ(vq_conn_migrate(w.cli.conn, &cx), VQ_OK);
    CHECK(!vq_cid_equal(vq_conn_dcid(w.cli.conn), &cur));
    CHECK_EQ(vq_conn_probe_state(w.cli.conn), VQ_PROBE_NONE);
  }
  world_free(&w);
}

VQ_TEST(conn_probe_path_refused_and_failed)
{
  world w;
  /* spec: rfc9000#9/2 — the server sent disable_active_migration: no probe from another local
   * address to the handshake address; towards another address of the server, or from the same
   * local address, probing is allowed */
  CHECK(established_paths(&w, 141, 0));
  vq_cx cx = vq_lab_cx(w.lab);
  const uint8_t local[2] = {(uint8_t)w.cli.node, 0x78};
  const uint8_t other = 99; /* nowhere in the lab */
  if (w.cli.handshake_done) {
    CHECK_EQ(vq_conn_probe_path(w.cli.conn, &cx, local, 2, NULL, 0), VQ_ERR_INVALID_ARGUMENT);
    CHECK_EQ(vq_conn_probe_state(w.cli.conn), VQ_PROBE_NONE);
    CHECK_EQ(vq_conn_probe_path(w.cli.conn, &cx, NULL, 0, &other, 1), VQ_OK);
    vq_conn_stats st0, st;
    vq_conn_get_stats(w.cli.conn, &st0);
    /* spec: rfc9000#8.2.4/1, rfc9000#8.2.4/2, rfc9000#8.2.1/1 — the probes go to an address that
     * never answers: resent after each PTO, the validation fails after three PTOs; the connection
     * goes on (the lab run carries its ordinary packets) */
    vq_lab_run(w.lab, vq_lab_now(w.lab) + VQ_MS(3000), NULL, NULL);
    CHECK_EQ(vq_conn_probe_state(w.cli.conn), VQ_PROBE_FAILED);
    CHECK_EQ(vq_conn_get_state(w.cli.conn), VQ_CONN_ESTABLISHED);
    vq_conn_get_stats(w.cli.conn, &st);
    CHECK(st.path_challenges_sent >= st0.path_challenges_sent + 2);
    CHECK_EQ(st.path_validation_failures, st0.path_validation_failures + 1);
    /* spec: rfc9000#9.5/2 — each probe takes a CID never used: the server gave three spare ones,
     * the failed probe retired its own (RETIRE_CONNECTION_ID; the server replaces it) */
    CHECK(st.peer_cids_retired >= st0.peer_cids_retired + 1);
  }
  world_free(&w);
  /* spec: rfc9000#9/1 — not before the handshake is confirmed; spec: rfc9000#9.5/2 — not without an
   * unused CID of the server's (three probes take the three spares; the run is stopped before
   * NEW_CONNECTION_ID frames could replace them) */
  CHECK(established_paths(&w, 142, 1));
  cx = vq_lab_cx(w.lab);
  if (w.cli.handshake_done) {
    CHECK_EQ(vq_conn_probe_path(w.cli.conn, &cx, local, 2, NULL, 0), VQ_OK);
    CHECK_EQ(vq_conn_probe_path(w.cli.conn, &cx, local, 2, NULL, 0), VQ_OK);
    CHECK_EQ(vq_conn_probe_path(w.cli.conn, &cx, local, 2, NULL, 0), VQ_OK);
    CHECK_EQ(vq_conn_probe_path(w.cli.conn, &cx, local, 2, NULL, 0), VQ_ERR_CID_UNAVAILABLE);
    CHECK_EQ(vq_conn_probe_state(w.cli.conn), VQ_PROBE_NONE);
  }
  world_free(&w);
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)64 << 20);
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof(alpn);
  char err[128];
  vq_tls_ctx *cctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof(err)), VQ_OK);
  vq_conn_config cc = {0};
  cc.tls = cctx;
  cc.server_name = "localhost";
  vq_rng rng;
  vq_rng_seed(&rng, 5);
  vq_cx cx2 = {VQ_MS(1), NULL, NULL, &rng, NULL};
  vq_conn *c = NULL;
  CHECK_EQ(vq_conn_new_client(&c, &root, &cc, &cx2), VQ_OK);
  if (c) {
    CHECK_EQ(vq_conn_probe_path(c, &cx2, NULL, 0, &other, 1), VQ_ERR_INVALID_ARGUMENT);
    vq_conn_free(c, NULL);
  }
  vq_tls_ctx_free(cctx);
  CHECK_EQ(root.used, 0);
}

static scenario probe_scenario(uint64_t seed)
{
  scenario sc = {0};
  sc.seed = seed;
  sc.link = link_ms(15);
  sc.streams = 3;
  sc.request = 5000;
  sc.response = 300000;
  sc.allow_migration = 1;
  sc.probe_at = VQ_MS(150);
  /* Without DPLPMTUD (the seeds of the tests below were chosen so). The server once counted two
   * peer migrations for one move on some seeds (a lost PATH_RESPONSE: see
   * conn_lab_probe_then_migrate_one_migration_many_seeds, which runs both with and without). */
  sc.pmtud_off = 1;
  return sc;
}

VQ_TEST(conn_lab_probe_then_migrate_many_seeds)
{
  /* spec: rfc9000#9.1/1 — during a transfer the client probes from a second local address (a lab
   * node of its own) while its packets keep going from the first (spec: rfc9000#9.5/2 — only
   * padded probes leave the second address before the move); the server answers there (spec:
   * rfc9000#8.2.2/3) without moving; on the validation event the client moves its socket and
   * migrates, the server follows (one peer migration). Over many seeds, with loss and reordering:
   * the transfer completes byte-exact */
  int fails = 0;
  for (uint64_t seed = 600; seed < 616; seed++) {
    scenario sc = probe_scenario(seed);
    if (seed > 600)
      lossy_reordering(&sc.link);
    world w;
    if (!world_run(&w, &sc)) {
      fails++;
      continue;
    }
    int ok = check_transfer(&w, &sc);
    if (!w.cli.probe_started || w.cli.probe_event != 2 || w.cli.migrate_status != 1 + VQ_OK ||
        w.cli.from2_probing < 1 || w.cli.from2_nonprobe != 0 || w.srv.stats.probes_answered < 1 ||
        w.srv.stats.peer_migrations != 1 || w.cli.stats.migrations != 1) {
      fprintf(stderr,
              "  seed %llu: started %d event %d migrate %d probes %llu odd %llu answered %llu "
              "peer_migrations %llu migrations %llu\n",
              (unsigned long long)seed, w.cli.probe_started, w.cli.probe_event, w.cli.migrate_status,
              (unsigned long long)w.cli.from2_probing, (unsigned long long)w.cli.from2_nonprobe,
              (unsigned long long)w.srv.stats.probes_answered,
              (unsigned long long)w.srv.stats.peer_migrations,
              (unsigned long long)w.cli.stats.migrations);
      ok = 0;
    }
    fails += !ok;
    world_free(&w);
  }
  CHECK_EQ(fails, 0);
}

VQ_TEST(conn_lab_migrate_old_path_dead_many_seeds)
{
  /* spec: rfc9000#9.3.3/1 — the benign case of the server's check of the previous path: a real
   * migration (probe, then move) after which the client's first address receives nothing. The
   * server's PATH_CHALLENGE there is never answered (its validation fails, silently) and changes
   * nothing: one peer migration, the transfer completes byte-exact over many seeds with loss and
   * reordering */
  int fails = 0;
  for (uint64_t seed = 660; seed < 672; seed++) {
    scenario sc = probe_scenario(seed);
    sc.old_path_dead = 1;
    if (seed > 660)
      lossy_reordering(&sc.link);
    world w;
    if (!world_run(&w, &sc)) {
      fails++;
      continue;
    }
    int ok = check_transfer(&w, &sc);
    if (w.cli.migrate_status != 1 + VQ_OK || w.srv.stats.peer_migrations != 1 ||
        w.srv.stats.prev_paths_validated != 0 || w.srv.stats.prev_path_failures != 1) {
      fprintf(stderr, "  seed %llu: migrate %d peer_migrations %llu prev validated %llu failed %llu\n",
              (unsigned long long)seed, w.cli.migrate_status,
              (unsigned long long)w.srv.stats.peer_migrations,
              (unsigned long long)w.srv.stats.prev_paths_validated,
              (unsigned long long)w.srv.stats.prev_path_failures);
      ok = 0;
    }
    fails += !ok;
    world_free(&w);
  }
  CHECK_EQ(fails, 0);
}

VQ_TEST(conn_lab_probe_then_migrate_one_migration_many_seeds)
{
  /* spec: rfc9000#8.2.1/1, rfc9000#9.4/4 — the seeds where the server once counted two peer
   * migrations for one move: the client's PATH_RESPONSE to the server's validation of its new
   * address was lost, the server's PATH_CHALLENGE (acknowledged) was never sent again and, its data
   * having spent the anti-amplification allowance, nothing more could go to the silent client: the
   * validation failed, the server fell back to the old address (RFC 9000 §9.3.2) and moved again
   * at the client's next packet. Now the challenge goes again on a backed-off timer, with room kept
   * for it in the allowance: one migration, with and without DPLPMTUD */
  int fails = 0;
  for (int pm = 0; pm < 2; pm++)
    for (uint64_t seed = 600; seed < 660; seed++) {
      scenario sc = probe_scenario(seed);
      sc.pmtud_off = pm;
      lossy_reordering(&sc.link);
      world w;
      if (!world_run(&w, &sc)) {
        fails++;
        continue;
      }
      int ok = check_transfer(&w, &sc);
      if (w.srv.stats.peer_migrations != 1 || w.cli.migrate_status != 1 + VQ_OK) {
        fprintf(stderr, "  seed %llu pmtud_off %d: peer_migrations %llu migrate %d\n",
                (unsigned long long)seed, pm, (unsigned long long)w.srv.stats.peer_migrations,
                w.cli.migrate_status);
        ok = 0;
      }
      fails += !ok;
      world_free(&w);
    }
  CHECK_EQ(fails, 0);
}

VQ_TEST(conn_lab_probe_unreachable_stays)
{
  /* spec: rfc9000#8.2.4/1 — nothing from the second address reaches the server: the probe fails
   * after its timer, the event says so, the client never moves and the transfer completes on the
   * first path */
  int fails = 0;
  for (uint64_t seed = 620; seed < 628; seed++) {
    scenario sc = probe_scenario(seed);
    sc.probe_blackhole = 1;
    sc.link.rate_bps = 4000000; /* 3 s: longer than the probe's timer */
    sc.response = 500000;
    world w;
    if (!world_run(&w, &sc)) {
      fails++;
      continue;
    }
    int ok = check_transfer(&w, &sc);
    if (!w.cli.probe_started || w.cli.probe_event != 1 || w.cli.migrate_status != 0 ||
        w.cli.from2_probing < 2 || w.cli.from2_nonprobe != 0 || w.srv.stats.probes_answered != 0 ||
        w.srv.stats.peer_migrations != 0 || w.cli.stats.path_validation_failures < 1) {
      fprintf(stderr, "  seed %llu: started %d event %d migrate %d probes %llu odd %llu answered %llu\n",
              (unsigned long long)seed, w.cli.probe_started, w.cli.probe_event, w.cli.migrate_status,
              (unsigned long long)w.cli.from2_probing, (unsigned long long)w.cli.from2_nonprobe,
              (unsigned long long)w.srv.stats.probes_answered);
      ok = 0;
    }
    fails += !ok;
    world_free(&w);
  }
  CHECK_EQ(fails, 0);
}

VQ_TEST(conn_lab_preferred_address_server_rules_many_seeds)
{
  /* spec: rfc9000#9.6.2/2 — with the driver telling it where datagrams arrive and leave (datagrams at
   * the preferred address through vq_endpoint_recv_at, cfg.preferred_local), the server sends its
   * non-probing packets from the original address until the client's non-probing packets arrive at
   * the preferred one: before the client moved, only padded PATH_CHALLENGE / PATH_RESPONSE datagrams
   * leave from there; spec: rfc9000#9.6.2/3 — the server probes the path towards the client from
   * the preferred address (validated), spec: rfc9000#8.2.2/3 — and answers the client's probe from
   * there; then everything goes from there. Over many seeds, with loss and reordering: the transfer
   * completes byte-exact */
  int fails = 0;
  for (uint64_t seed = 640; seed < 656; seed++) {
    scenario sc = pa_scenario(seed);
    sc.pa_strict = 1;
    if (seed > 640)
      lossy_reordering(&sc.link);
    world w;
    if (!world_run(&w, &sc)) {
      fails++;
      continue;
    }
    int ok = check_transfer(&w, &sc);
    vq_conn *s = peer_conn(&w.srv);
    int sstate = s ? vq_conn_preferred_state(s) : -1;
    if (vq_conn_preferred_state(w.cli.conn) != VQ_PA_MOVED || sstate != VQ_PA_MOVED ||
        w.srv.tx2 < 10 || w.srv.tx2_early < 1 || w.srv.tx2_early_small != 0 ||
        w.srv.stats.path_challenges_sent < 1 || w.srv.stats.probes_answered < 1) {
      fprintf(stderr,
              "  seed %llu: client %d server %d tx2 %llu early %llu small %llu challenges %llu "
              "answered %llu\n",
              (unsigned long long)seed, vq_conn_preferred_state(w.cli.conn), sstate,
              (unsigned long long)w.srv.tx2, (unsigned long long)w.srv.tx2_early,
              (unsigned long long)w.srv.tx2_early_small,
              (unsigned long long)w.srv.stats.path_challenges_sent,
              (unsigned long long)w.srv.stats.probes_answered);
      ok = 0;
    }
    fails += !ok;
    world_free(&w);
  }
  CHECK_EQ(fails, 0);
}

/* spec: rfc9001#9.5/1 — "If the recipient of a packet discards packets with duplicate packet numbers
 * without attempting to remove packet protection, they could reveal through timing side channels that
 * the packet number matches a received packet": a replayed packet goes through the AEAD (its open is
 * counted) and only then is dropped as a duplicate. spec: rfc9001#6.3/1, rfc9001#9.5/3 — a packet
 * whose Key Phase bit is flipped is opened with the next keys made in advance: an injected one that
 * does not authenticate costs one AEAD open and derives no key; the peer's real update is taken with
 * one AEAD open too, and the following generation is derived only after it authenticated. */
VQ_TEST(conn_duplicate_and_key_phase_without_timing_signal)
{
  world w;
  CHECK(world_established(&w, 86));
  vq_conn *s = peer_conn(&w.srv);
  if (s && w.csec_len) {
    vq_cx cx = vq_lab_cx(w.lab);
    uint64_t pn = next_pn(&w);
    uint8_t buf[1500], copy[1500];
    size_t out = 0;
    vq_conn_stats a, b;
    CHECK(build_1rtt(&w, (const uint8_t[]){0x01}, 1, pn, 0, buf, &out));
    memcpy(copy, buf, out);
    vq_conn_get_stats(s, &a);
    CHECK_EQ(vq_conn_recv(s, &cx, buf, out, 0), VQ_OK);
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.pkts_recv, a.pkts_recv + 1);
    CHECK_EQ(b.aead_opens, a.aead_opens + 1);
    /* the replay: opened (and authenticated: no failure counted), then dropped as a duplicate */
    CHECK_EQ(vq_conn_recv(s, &cx, copy, out, 0), VQ_OK);
    vq_conn_get_stats(s, &a);
    CHECK_EQ(a.aead_opens, b.aead_opens + 1);
    CHECK_EQ(a.pkts_recv, b.pkts_recv);
    CHECK_EQ(a.pkts_dropped, b.pkts_dropped + 1);
    CHECK_EQ(a.auth_failures, b.auth_failures);
    /* an injected packet with the Key Phase bit flipped that does not authenticate (generation-3
     * keys: phase 1, neither the current nor the next keys): one AEAD open with the next keys, no
     * key derived, no update */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 1, 3));
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.aead_opens, a.aead_opens + 1);
    CHECK_EQ(b.rx_key_derivations, a.rx_key_derivations);
    CHECK_EQ(b.auth_failures, a.auth_failures + 1);
    CHECK_EQ(b.key_updates_answered, (uint64_t)0);
    CHECK_EQ(b.pkts_recv, a.pkts_recv);
    /* the same with a current-phase packet that does not authenticate (generation 2): the same work */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 2, 2));
    vq_conn_get_stats(s, &a);
    CHECK_EQ(a.aead_opens, b.aead_opens + 1);
    CHECK_EQ(a.rx_key_derivations, b.rx_key_derivations);
    CHECK_EQ(a.auth_failures, b.auth_failures + 1);
    /* the peer's real update (generation 1): one AEAD open with the keys made in advance; the
     * generation after it is derived once the packet authenticated (rfc9001#9.5/3) */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 3, 1));
    vq_conn_get_stats(s, &b);
    CHECK_EQ(b.aead_opens, a.aead_opens + 1);
    CHECK_EQ(b.pkts_recv, a.pkts_recv + 1);
    CHECK_EQ(b.key_updates_answered, (uint64_t)1);
    CHECK_EQ(b.rx_key_derivations, a.rx_key_derivations + 1);
    CHECK_EQ(b.auth_failures, a.auth_failures);
    /* and an injected flip back (generation 0's phase, a pn above the new phase's: the next keys,
     * generation 2, made in advance, do not authenticate it): nothing derived */
    CHECK(inject_1rtt(&w, (const uint8_t[]){0x01}, 1, pn + 20, 0));
    vq_conn_get_stats(s, &a);
    CHECK_EQ(a.aead_opens, b.aead_opens + 1);
    CHECK_EQ(a.rx_key_derivations, b.rx_key_derivations);
    CHECK_EQ(a.auth_failures, b.auth_failures + 1);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
  }
  world_free(&w);
}
