/* Reproducibility of a whole connection in the lab (DESIGN.md principle 1: "a lab run is reproducible
 * from its seed"): with the TLS contexts' TEST-ONLY randomness source (vq_tls_ctx_config.test_random,
 * tls.h) tied to the scenario seed, a client/server run gives the same vq_lab_trace_hash — every
 * datagram byte for byte, at the same virtual times — and another seed gives another one; also
 * under loss, reordering, duplication and corruption. Without test_random the handshake draws from
 * OpenSSL and two runs differ (which is why the test needs the hook).
 *
 * The world is a minimal copy of tests/test_conn.c's: one client connection, one server endpoint,
 * the client opens a few bidirectional streams, the server echoes a response, the client closes. */
#include <stdio.h>
#include <string.h>

#include "tls/hs_internal.h"
#include "tls_pair.h"
#include "vqtest.h"
#include "vquic/conn.h"
#include "vquic/endpoint.h"
#include "vquic/lab.h"
#include "vquic/tls.h"

#define DET_MAXS 8
#define DET_MAXEV 4096

typedef struct dstream {
  uint64_t id;
  uint64_t to_send, sent, received;
  int fin_written, fin_read;
} dstream;

typedef struct dpeer {
  int node, other, is_server;
  vq_conn *conn;               /* client */
  vq_endpoint *ep;             /* server */
  dstream st[DET_MAXS];
  int nst, opened, done, handshake_done, closed;
  uint64_t close_code;
} dpeer;

/* One trace event, to find where two runs part. */
typedef struct dev {
  vq_time now;
  int ev, from, to;
  size_t len;
  uint64_t h;
} dev;

typedef struct dworld {
  vq_mem root;
  vq_lab *lab;
  vq_tls_ctx *sctx, *cctx;
  vq_rng srng, crng;           /* the TLS contexts' test randomness */
  dpeer cli, srv;
  dev evs[DET_MAXEV];
  size_t nev;
} dworld;

typedef struct dscenario {
  uint64_t seed;
  vq_lab_link link;
  int det_tls;                 /* set test_random */
  int streams;
  uint64_t request, response;
} dscenario;

static uint8_t dpat(uint64_t id, uint64_t off) { return (uint8_t)(off * 5u + id * 11u); }

static void test_rand(void *ud, uint8_t *out, size_t len) { vq_rng_fill(ud, out, len); }

static dstream *dfind(dpeer *p, uint64_t id)
{
  for (int i = 0; i < p->nst; i++)
    if (p->st[i].id == id)
      return &p->st[i];
  if (p->nst == DET_MAXS)
    return NULL;
  dstream *s = &p->st[p->nst++];
  memset(s, 0, sizeof(*s));
  s->id = id;
  return s;
}

static vq_conn *dconn(dpeer *p)
{
  if (!p->is_server)
    return p->conn;
  vq_endpoint_conn *ec = p->ep ? vq_endpoint_next(p->ep, NULL) : NULL;
  return ec ? ec->conn : NULL;
}

static void dwrite(const vq_cx *cx, vq_conn *c, dstream *s)
{
  uint8_t buf[2048];
  while (!s->fin_written) {
    uint64_t n = s->to_send - s->sent;
    if (n > sizeof(buf))
      n = sizeof(buf);
    for (uint64_t i = 0; i < n; i++)
      buf[i] = dpat(s->id, s->sent + i);
    int fin = s->sent + n == s->to_send;
    size_t acc = 0;
    if (vq_conn_stream_write(c, cx, s->id, buf, (size_t)n, fin, &acc) != VQ_OK)
      return;
    s->sent += acc;
    if (fin && acc == n)
      s->fin_written = 1;
    if (acc < n)
      return;
  }
}

static void dread(dpeer *p, const vq_cx *cx, vq_conn *c, dstream *s)
{
  uint8_t buf[4096];
  for (;;) {
    size_t n = 0;
    int fin = 0;
    if (vq_conn_stream_read(c, cx, s->id, buf, sizeof(buf), &n, &fin) != VQ_OK)
      return;
    s->received += n;
    if (fin && !s->fin_read) {
      s->fin_read = 1;
      if (p->is_server) {
        s->to_send = s->received * 4; /* the response */
        dwrite(cx, c, s);
      } else {
        p->done++;
      }
    }
    if (n == 0 || fin)
      return;
  }
}

static void dapp(dpeer *p, const vq_cx *cx, const dscenario *sc)
{
  vq_conn *c = dconn(p);
  if (!c)
    return;
  vq_conn_event ev;
  while (vq_conn_poll_event(c, &ev)) {
    dstream *s;
    if (ev.type == VQ_CONN_EV_HANDSHAKE_DONE)
      p->handshake_done = 1;
    else if (ev.type == VQ_CONN_EV_STREAM_READABLE && (s = dfind(p, ev.stream_id)) != NULL)
      dread(p, cx, c, s);
    else if (ev.type == VQ_CONN_EV_CLOSED) {
      p->closed = 1;
      p->close_code = ev.error_code;
    }
  }
  if (p->closed)
    return;
  if (!p->is_server && p->handshake_done) {
    while (p->opened < sc->streams) {
      uint64_t id;
      if (vq_conn_stream_open(c, cx, 1, &id) != VQ_OK)
        break;
      dstream *s = dfind(p, id);
      if (!s)
        break;
      s->to_send = sc->request;
      p->opened++;
    }
    if (p->done == sc->streams && vq_conn_get_state(c) == VQ_CONN_ESTABLISHED)
      (void)vq_conn_close(c, cx, 1, 0, "done");
  }
  for (int i = 0; i < p->nst; i++) {
    if (!p->st[i].fin_written && p->st[i].to_send > 0)
      dwrite(cx, c, &p->st[i]);
    if (!p->st[i].fin_read)
      dread(p, cx, c, &p->st[i]);
  }
}

static void dflush(dpeer *p, vq_lab *lab, const vq_cx *cx)
{
  uint8_t buf[1500];
  vq_conn *c = dconn(p);
  for (int k = 0; c && k < 1000; k++) {
    size_t n = 0;
    if (vq_conn_send(c, cx, buf, sizeof(buf), &n) != VQ_OK || n == 0)
      break;
    vq_lab_send(lab, p->node, p->other, buf, n);
  }
}

typedef struct dnode {
  dworld *w;
  dpeer *p;
  const dscenario *sc;
} dnode;

static void dn_dgram(void *ud, vq_lab *lab, const vq_cx *cx, int from, const uint8_t *data, size_t len)
{
  dnode *n = ud;
  dpeer *p = n->p;
  uint8_t buf[VQ_LAB_MAX_DATAGRAM];
  memcpy(buf, data, len);
  if (p->is_server) {
    vq_endpoint_conn *ec = NULL;
    int created = 0;
    uint8_t resp[1500];
    size_t rl = 0;
    uint8_t addr = (uint8_t)from;
    (void)vq_endpoint_recv(p->ep, cx, &addr, 1, buf, len, &ec, &created, resp, sizeof(resp), &rl);
    if (rl)
      vq_lab_send(lab, p->node, from, resp, rl);
  } else if (p->conn) {
    (void)vq_conn_recv(p->conn, cx, buf, len, 0);
  }
  dapp(p, cx, n->sc);
  dflush(p, lab, cx);
}

static vq_time dn_next(void *ud)
{
  dnode *n = ud;
  vq_conn *c = dconn(n->p);
  return c ? vq_conn_next_timeout(c) : VQ_TIME_NEVER;
}

static void dn_timeout(void *ud, vq_lab *lab, const vq_cx *cx)
{
  dnode *n = ud;
  vq_conn *c = dconn(n->p);
  if (c)
    (void)vq_conn_handle_timeout(c, cx);
  dapp(n->p, cx, n->sc);
  dflush(n->p, lab, cx);
}

static const vq_lab_node_ops dn_ops = {dn_dgram, dn_next, dn_timeout};

static void dtrace(void *ud, vq_time now, vq_lab_event ev, int from, int to, const uint8_t *data,
                   size_t len)
{
  dworld *w = ud;
  if (w->nev == DET_MAXEV)
    return;
  dev *e = &w->evs[w->nev++];
  e->now = now;
  e->ev = (int)ev;
  e->from = from;
  e->to = to;
  e->len = len;
  e->h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++)
    e->h = (e->h ^ data[i]) * 1099511628211ull;
}

static int dboth_closed(void *ud)
{
  dworld *w = ud;
  return w->cli.closed && (!dconn(&w->srv) || w->srv.closed);
}

static const uint8_t det_alpn[] = {2, 'h', 'q'};

/* Runs the scenario; returns the trace hash (0 when the set-up failed) and leaves the world for
 * inspection; dworld_free frees it. */
static uint64_t dworld_run(dworld *w, dnode nodes[2], const dscenario *sc)
{
  memset(w, 0, sizeof(*w));
  vq_mem_init(&w->root, vq_allocator_system(), NULL, (size_t)1 << 30);
  vq_rng_seed(&w->srng, sc->seed ^ 0x5345525645520000ull);
  vq_rng_seed(&w->crng, sc->seed ^ 0x434c49454e540000ull);
  vq_tls_ctx_config scfg = {0}, ccfg = {0};
  scfg.alpn = ccfg.alpn = det_alpn;
  scfg.alpn_len = ccfg.alpn_len = sizeof(det_alpn);
  if (sc->det_tls) {
    scfg.test_random = ccfg.test_random = test_rand;
    scfg.test_random_ud = &w->srng;
    ccfg.test_random_ud = &w->crng;
  }
  if (!vqt_tls_pair(&w->sctx, &scfg, &w->cctx, &ccfg)) /* the client verifies the certificate */
    return 0;
  w->lab = vq_lab_new(&w->root, sc->seed);
  if (!w->lab)
    return 0;
  vq_lab_set_trace(w->lab, dtrace, w);
  nodes[0] = (dnode){w, &w->cli, sc};
  nodes[1] = (dnode){w, &w->srv, sc};
  w->cli.node = vq_lab_add_node(w->lab, &dn_ops, &nodes[0]);
  w->srv.node = vq_lab_add_node(w->lab, &dn_ops, &nodes[1]);
  w->cli.other = w->srv.node;
  w->srv.other = w->cli.node;
  w->srv.is_server = 1;
  vq_lab_set_link(w->lab, w->cli.node, w->srv.node, &sc->link);
  vq_lab_set_link(w->lab, w->srv.node, w->cli.node, &sc->link);
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = w->sctx;
  /* the endpoint's secrets come from libcrypto unless given: fixed here so runs are reproducible */
  static const uint8_t token_key[32] = {1}, reset_key[32] = {2};
  ec.token_key = token_key;
  ec.reset_key = reset_key;
  if (vq_endpoint_new(&w->srv.ep, &w->root, &ec) != VQ_OK)
    return 0;
  vq_conn_config cc = {0};
  cc.tls = w->cctx;
  cc.server_name = "localhost";
  vq_cx cx = vq_lab_cx(w->lab);
  if (vq_conn_new_client(&w->cli.conn, &w->root, &cc, &cx) != VQ_OK)
    return 0;
  dflush(&w->cli, w->lab, &cx);
  vq_lab_run(w->lab, VQ_MS(60000), dboth_closed, w);
  return vq_lab_trace_hash(w->lab);
}

static void dworld_free(dworld *w)
{
  vq_endpoint_free(w->srv.ep);
  vq_conn_free(w->cli.conn, NULL);
  vq_lab_free(w->lab);
  vq_tls_ctx_free(w->sctx);
  vq_tls_ctx_free(w->cctx);
}

/* Where two runs' traces part (for the failure message): the index of the first differing event. */
static size_t first_difference(const dworld *a, const dworld *b)
{
  size_t n = a->nev < b->nev ? a->nev : b->nev;
  for (size_t i = 0; i < n; i++) {
    const dev *x = &a->evs[i], *y = &b->evs[i];
    if (x->now != y->now || x->ev != y->ev || x->from != y->from || x->to != y->to ||
        x->len != y->len || x->h != y->h)
      return i;
  }
  return n;
}

static dworld wa, wb; /* large: kept off the stack */

/* Runs sc twice; 1 when both runs completed the transfer; *same = the hashes are equal. */
static int twice(const dscenario *sc, uint64_t *ha, uint64_t *hb)
{
  dnode na[2], nb[2];
  *ha = dworld_run(&wa, na, sc);
  *hb = dworld_run(&wb, nb, sc);
  int ok = *ha && *hb && wa.cli.handshake_done && wb.cli.handshake_done &&
           wa.cli.done == sc->streams && wb.cli.done == sc->streams && wa.cli.closed &&
           wa.cli.close_code == 0;
  if (*ha != *hb && sc->det_tls) {
    size_t i = first_difference(&wa, &wb);
    if (i < wa.nev && i < wb.nev)
      fprintf(stderr, "  seed %llu: runs part at event %zu: t=%llu %s %d->%d len %zu vs t=%llu %s %zu\n",
              (unsigned long long)sc->seed, i, (unsigned long long)wa.evs[i].now,
              vq_lab_event_name((vq_lab_event)wa.evs[i].ev), wa.evs[i].from, wa.evs[i].to,
              wa.evs[i].len, (unsigned long long)wb.evs[i].now,
              vq_lab_event_name((vq_lab_event)wb.evs[i].ev), wb.evs[i].len);
  }
  dworld_free(&wa);
  dworld_free(&wb);
  return ok;
}

static dscenario det_scenario(uint64_t seed)
{
  dscenario sc;
  memset(&sc, 0, sizeof(sc));
  sc.seed = seed;
  sc.link.delay = VQ_MS(10);
  sc.det_tls = 1;
  sc.streams = 3;
  sc.request = 3000;
  sc.response = 12000;
  return sc;
}

VQ_TEST(conn_det_same_seed_same_trace)
{
  dscenario sc = det_scenario(11);
  uint64_t a, b;
  CHECK(twice(&sc, &a, &b));
  CHECK(a != 0);
  CHECK_EQ(a, b);
}

VQ_TEST(conn_det_other_seed_other_trace)
{
  dscenario s1 = det_scenario(11), s2 = det_scenario(12);
  uint64_t a1, b1, a2, b2;
  CHECK(twice(&s1, &a1, &b1));
  CHECK(twice(&s2, &a2, &b2));
  CHECK_EQ(a1, b1);
  CHECK_EQ(a2, b2);
  CHECK(a1 != a2);
}

VQ_TEST(conn_det_lossy_links_many_seeds)
{
  /* loss, reordering, duplication, corruption and jitter all draw from the lab's RNG: the same seed
   * replays the same losses, and with test_random the same bytes */
  int differ = 0, failed = 0;
  uint64_t prev = 0;
  for (uint64_t seed = 300; seed < 306; seed++) {
    dscenario sc = det_scenario(seed);
    sc.link.delay = VQ_MS(15);
    sc.link.jitter = VQ_MS(3);
    sc.link.loss_ppm = 50000;
    sc.link.reorder_ppm = 50000;
    sc.link.reorder_delay = VQ_MS(10);
    sc.link.duplicate_ppm = 20000;
    sc.link.corrupt_ppm = 10000;
    uint64_t a, b;
    failed += !twice(&sc, &a, &b);
    differ += a != b;
    CHECK(a != prev);
    prev = a;
  }
  CHECK_EQ(failed, 0);
  CHECK_EQ(differ, 0);
}

VQ_TEST(conn_det_without_test_random_differs)
{
  /* the reason for the hook: OpenSSL's randomness (randoms, key shares, the certificate) makes two
   * runs of the same seed differ */
  dscenario sc = det_scenario(11);
  sc.det_tls = 0;
  uint64_t a, b;
  CHECK(twice(&sc, &a, &b));
  CHECK(a != b);
}

VQ_TEST(conn_det_tls_ctx_reproducible_certificate)
{
  /* the generated certificate (Ed25519 key, serial, fixed validity) is the same for the same
   * test_random stream, and differs for another */
  vq_rng r1, r2, r3;
  vq_rng_seed(&r1, 99);
  vq_rng_seed(&r2, 99);
  vq_rng_seed(&r3, 100);
  vq_tls_ctx *c[3] = {NULL, NULL, NULL};
  vq_rng *rs[3] = {&r1, &r2, &r3};
  for (int i = 0; i < 3; i++) {
    vq_tls_ctx_config cfg = {0};
    cfg.is_server = 1;
    cfg.alpn = det_alpn;
    cfg.alpn_len = sizeof(det_alpn);
    cfg.test_random = test_rand;
    cfg.test_random_ud = rs[i];
    CHECK_EQ(vq_tls_ctx_new(&c[i], &cfg, NULL, 0), VQ_OK);
  }
  const uint8_t *d[3];
  size_t n[3];
  for (int i = 0; i < 3; i++)
    CHECK_EQ(vq_tls_ctx_leaf_der(c[i], &d[i], &n[i]), VQ_OK);
  CHECK_MEM(d[0], n[0], d[1], n[1]);
  CHECK(n[0] != n[2] || memcmp(d[0], d[2], n[0]) != 0);
  for (int i = 0; i < 3; i++)
    vq_tls_ctx_free(c[i]);
}

VQ_TEST(conn_det_tls_p256_key_share_from_test_random)
{
  /* a P-256 key share is derived from test_random bytes too: the same stream gives the same
   * ClientHello (random and share), another stream another one */
  static const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
  vq_tls_test_hooks h = {0};
  h.client_share_group = VQ_HS_GROUP_SECP256R1;
  vq_rng r[3];
  vq_rng_seed(&r[0], 5);
  vq_rng_seed(&r[1], 5);
  vq_rng_seed(&r[2], 6);
  uint8_t hello[3][1024];
  size_t hl[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++) {
    vq_tls_ctx_config cfg = {0};
    cfg.insecure = 1;
    cfg.alpn = det_alpn;
    cfg.alpn_len = sizeof(det_alpn);
    cfg.test_random = test_rand;
    cfg.test_random_ud = &r[i];
    vq_tls_ctx *ctx = NULL;
    CHECK_EQ(vq_tls_ctx_new(&ctx, &cfg, NULL, 0), VQ_OK);
    if (!ctx)
      return;
    vq_tls_ctx_set_test_hooks(ctx, &h);
    vq_mem mem;
    vq_mem_init(&mem, vq_allocator_system(), NULL, 1u << 20);
    vq_cx cx;
    memset(&cx, 0, sizeof(cx));
    vq_tls_params par = {"localhost", tp, sizeof(tp)};
    vq_tls *tls = NULL;
    CHECK_EQ(vq_tls_new(&tls, &mem, ctx, &par, &cx), VQ_OK);
    if (tls) {
      const uint8_t *d;
      size_t n;
      vq_tls_out_peek(tls, VQ_LEVEL_INITIAL, &d, &n);
      CHECK(n > 0 && n <= sizeof(hello[i]));
      if (n <= sizeof(hello[i])) {
        memcpy(hello[i], d, n);
        hl[i] = n;
      }
    }
    vq_tls_free(tls);
    CHECK_EQ(mem.used, 0);
    vq_tls_ctx_free(ctx);
  }
  CHECK_MEM(hello[0], hl[0], hello[1], hl[1]);
  CHECK(hl[0] != hl[2] || memcmp(hello[0], hello[2], hl[0]) != 0);
  /* the share is an uncompressed point: 0x0017 0x0041 0x04 ... somewhere in the hello */
  int found = 0;
  for (size_t i = 0; i + 5 <= hl[0]; i++)
    if (hello[0][i] == 0x00 && hello[0][i + 1] == 0x17 && hello[0][i + 2] == 0x00 &&
        hello[0][i + 3] == 0x41 && hello[0][i + 4] == 0x04)
      found = 1;
  CHECK(found);
}
