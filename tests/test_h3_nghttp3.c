/* Interop of the HTTP/3 session with nghttp3 (libnghttp3-dev, a test-only oracle) as the real peer,
 * both sans-I/O: the test moves the bytes. A vquic client against an nghttp3 server connection and a
 * vquic server against an nghttp3 client connection; GET and POST, headers and bodies compared byte for
 * byte, with and without the QPACK dynamic table on each side, delivered whole or in small pieces. */
#include <nghttp3/nghttp3.h>
#include <stdlib.h>

#include "vqtest.h"
#include "vquic/h3conn.h"

#define NQ 64
#define BODY_MAX 200000

typedef struct q {            /* bytes vquic wrote on one stream, not yet given to nghttp3 */
  uint64_t id;
  uint8_t *p;
  size_t len, off, cap;
  int fin, fin_done;
} q;

typedef struct side_log {     /* what one side received on the request stream */
  char head[2048];            /* "name: value\n" per field, in order */
  size_t hlen;
  uint8_t *body;
  size_t blen;
  int ended, status;
} side_log;

typedef struct world {
  int vq_is_server;
  int chunk;                  /* deliver in pieces of this size (0: whole) */
  vq_mem mem;
  vq_h3 *h3;
  vq_cx cx;
  vq_rng rng;
  uint64_t next_uni, next_bidi;
  q qs[NQ];
  size_t nq;
  nghttp3_conn *ng;
  int ng_err, vq_closed;
  side_log ng_log[4], vq_log[4];  /* per request (stream ID / 4) */
  const uint8_t *resp_body;   /* what the server side answers with */
  size_t resp_len;
  size_t ng_body_off[4];
  const uint8_t *req_body;
  size_t req_len;
} world;

static void log_field(side_log *l, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
  if (l->hlen + nl + vl + 3 >= sizeof l->head) return;
  memcpy(l->head + l->hlen, n, nl);
  l->hlen += nl;
  memcpy(l->head + l->hlen, ": ", 2);
  l->hlen += 2;
  memcpy(l->head + l->hlen, v, vl);
  l->hlen += vl;
  l->head[l->hlen++] = '\n';
  l->head[l->hlen] = 0;
}

static void log_data(side_log *l, const uint8_t *d, size_t n)
{
  if (!l->body) l->body = malloc(BODY_MAX);
  if (l->blen + n <= BODY_MAX) memcpy(l->body + l->blen, d, n);
  l->blen += n;
}

static side_log *slot(side_log *logs, uint64_t id) { return &logs[(id / 4) % 4]; }

/* ---- vquic's transport: queues ---------------------------------------------------------------------- */

static q *q_get(world *w, uint64_t id)
{
  for (size_t i = 0; i < w->nq; i++)
    if (w->qs[i].id == id) return &w->qs[i];
  if (w->nq == NQ) abort();
  q *x = &w->qs[w->nq++];
  memset(x, 0, sizeof *x);
  x->id = id;
  return x;
}

static vq_status v_open_uni(void *ud, uint64_t *id)
{
  world *w = ud;
  *id = w->next_uni;
  w->next_uni += 4;
  return VQ_OK;
}

static vq_status v_open_bidi(void *ud, uint64_t *id)
{
  world *w = ud;
  *id = w->next_bidi;
  w->next_bidi += 4;
  return VQ_OK;
}

static vq_status v_write(void *ud, uint64_t id, const uint8_t *d, size_t len, int fin, size_t *acc)
{
  world *w = ud;
  q *x = q_get(w, id);
  if (x->len + len > x->cap) {
    size_t nc = x->cap ? x->cap : 4096;
    while (nc < x->len + len) nc *= 2;
    x->p = realloc(x->p, nc);
    if (!x->p) abort();
    x->cap = nc;
  }
  if (len) memcpy(x->p + x->len, d, len);
  x->len += len;
  if (fin) x->fin = 1;
  *acc = len;
  return VQ_OK;
}

static void v_reset(void *ud, uint64_t id, uint64_t code)
{
  world *w = ud;
  (void)id;
  (void)code;
  w->ng_err++; /* nothing in these exchanges is reset */
}

static void v_stop(void *ud, uint64_t id, uint64_t code)
{
  world *w = ud;
  (void)id;
  (void)code;
  w->ng_err++;
}

static void v_close(void *ud, uint64_t code, const char *reason)
{
  world *w = ud;
  fprintf(stderr, "vquic closed the connection: 0x%llx %s\n", (unsigned long long)code, reason);
  w->vq_closed = 1;
}

/* ---- vquic's application ------------------------------------------------------------------------ */

static void vq_log_head(side_log *l, const vq_h3_head *h)
{
  if (h->method.p) log_field(l, (const uint8_t *)":method", 7, h->method.p, h->method.len);
  if (h->scheme.p) log_field(l, (const uint8_t *)":scheme", 7, h->scheme.p, h->scheme.len);
  if (h->authority.p) log_field(l, (const uint8_t *)":authority", 10, h->authority.p, h->authority.len);
  if (h->path.p) log_field(l, (const uint8_t *)":path", 5, h->path.p, h->path.len);
  if (h->status) {
    char s[4];
    snprintf(s, sizeof s, "%d", h->status);
    log_field(l, (const uint8_t *)":status", 7, (const uint8_t *)s, 3);
    l->status = h->status;
  }
  for (size_t i = 0; i < h->nfields; i++)
    log_field(l, h->fields[i].name, h->fields[i].name_len, h->fields[i].value, h->fields[i].value_len);
}

static void vcb_request(void *ud, vq_h3 *h3, uint64_t id, const vq_h3_head *head)
{
  world *w = ud;
  (void)h3;
  vq_log_head(slot(w->vq_log, id), head);
}

static void vcb_response(void *ud, vq_h3 *h3, uint64_t id, void *sud, const vq_h3_head *head)
{
  world *w = ud;
  (void)h3;
  (void)sud;
  vq_log_head(slot(w->vq_log, id), head);
}

static void vcb_data(void *ud, vq_h3 *h3, uint64_t id, void *sud, const uint8_t *d, size_t n)
{
  world *w = ud;
  (void)h3;
  (void)sud;
  log_data(slot(w->vq_log, id), d, n);
}

static const nghttp3_nv *resp_nv(size_t *n);

static void vcb_end(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  world *w = ud;
  (void)sud;
  slot(w->vq_log, id)->ended = 1;
  if (!w->vq_is_server) return;
  /* the vquic server answers with the same fields as the nghttp3 server would */
  size_t n;
  const nghttp3_nv *nv = resp_nv(&n);
  vq_h3_field f[8];
  for (size_t i = 1; i < n; i++) { /* [0] is :status */
    f[i - 1].name = nv[i].name;
    f[i - 1].name_len = nv[i].namelen;
    f[i - 1].value = nv[i].value;
    f[i - 1].value_len = nv[i].valuelen;
    f[i - 1].never_indexed = 0;
  }
  size_t acc = 0;
  vq_h3_respond(h3, &w->cx, id, 200, f, n - 1, 1);
  vq_h3_send_body(h3, &w->cx, id, w->resp_body, w->resp_len, 1, &acc);
  if (acc != w->resp_len) abort(); /* send_buf is large enough in these tests */
}

/* ---- nghttp3's side ------------------------------------------------------------------------------ */

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP3_NV_FLAG_NONE}

static const nghttp3_nv *resp_nv(size_t *n)
{
  static const nghttp3_nv nv[] = {NV(":status", "200"), NV("content-type", "application/octet-stream"),
                                  NV("server", "oracle"), NV("x-request-echo", "yes"),
                                  NV("cache-control", "max-age=60")};
  *n = sizeof nv / sizeof nv[0];
  return nv;
}

static int ncb_recv_header(nghttp3_conn *c, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                           nghttp3_rcbuf *value, uint8_t flags, void *ud, void *sud)
{
  world *w = ud;
  (void)c;
  (void)token;
  (void)flags;
  (void)sud;
  nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
  side_log *l = slot(w->ng_log, (uint64_t)sid);
  log_field(l, n.base, n.len, v.base, v.len);
  if (n.len == 7 && memcmp(n.base, ":status", 7) == 0) l->status = atoi((const char *)v.base);
  return 0;
}

static int ncb_recv_data(nghttp3_conn *c, int64_t sid, const uint8_t *d, size_t n, void *ud, void *sud)
{
  world *w = ud;
  (void)c;
  (void)sud;
  log_data(slot(w->ng_log, (uint64_t)sid), d, n);
  return 0;
}

static nghttp3_ssize ncb_read_body(nghttp3_conn *c, int64_t sid, nghttp3_vec *vec, size_t veccnt,
                                   uint32_t *pflags, void *ud, void *sud)
{
  world *w = ud;
  (void)c;
  (void)sud;
  (void)veccnt;
  const uint8_t *b = w->vq_is_server ? w->req_body : w->resp_body;
  const size_t len = w->vq_is_server ? w->req_len : w->resp_len;
  size_t *off = &w->ng_body_off[(sid / 4) % 4];
  vec[0].base = (uint8_t *)(uintptr_t)(b + *off);
  vec[0].len = len - *off;
  *off = len;
  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  return 1;
}

static int ncb_end_stream(nghttp3_conn *c, int64_t sid, void *ud, void *sud)
{
  world *w = ud;
  (void)sud;
  slot(w->ng_log, (uint64_t)sid)->ended = 1;
  if (w->vq_is_server) return 0;
  size_t n;
  const nghttp3_nv *nv = resp_nv(&n);
  nghttp3_data_reader dr = {ncb_read_body};
  return nghttp3_conn_submit_response(c, sid, nv, n, &dr) == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
}

/* ---- moving bytes -------------------------------------------------------------------------------- */

static void feed_vq(world *w, uint64_t id, const uint8_t *d, size_t n, int fin)
{
  size_t step = w->chunk ? (size_t)w->chunk : n;
  if (n == 0) {
    vq_h3_on_stream_data(w->h3, &w->cx, id, d, 0, fin);
    return;
  }
  for (size_t o = 0; o < n; o += step) {
    size_t m = n - o < step ? n - o : step;
    vq_h3_on_stream_data(w->h3, &w->cx, id, d + o, m, fin && o + m == n);
  }
}

static int pump_once(world *w)
{
  int moved = 0;
  /* nghttp3 -> vquic */
  for (int guard = 0; guard < 1000; guard++) {
    int64_t sid = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize n = nghttp3_conn_writev_stream(w->ng, &sid, &fin, vec, 16);
    if (n < 0) {
      w->ng_err++;
      break;
    }
    if (sid < 0) break;
    size_t total = 0;
    for (nghttp3_ssize i = 0; i < n; i++) total += vec[i].len;
    for (nghttp3_ssize i = 0; i < n; i++) feed_vq(w, (uint64_t)sid, vec[i].base, vec[i].len, fin && i == n - 1);
    if (n == 0 && fin) feed_vq(w, (uint64_t)sid, NULL, 0, 1);
    if (nghttp3_conn_add_write_offset(w->ng, sid, total) != 0) w->ng_err++;
    if (nghttp3_conn_add_ack_offset(w->ng, sid, total) != 0) w->ng_err++;
    moved = 1;
  }
  /* vquic -> nghttp3 */
  for (size_t i = 0; i < w->nq; i++) {
    q *x = &w->qs[i];
    while (x->off < x->len || (x->fin && !x->fin_done)) {
      size_t m = x->len - x->off;
      if (w->chunk && m > (size_t)w->chunk) m = (size_t)w->chunk;
      const int fin = x->fin && x->off + m == x->len;
      nghttp3_ssize r = nghttp3_conn_read_stream(w->ng, (int64_t)x->id, x->p ? x->p + x->off : NULL, m, fin);
      if (r < 0) {
        fprintf(stderr, "nghttp3_conn_read_stream(%llu): %s\n", (unsigned long long)x->id, nghttp3_strerror((int)r));
        w->ng_err++;
        x->off = x->len;
        x->fin_done = 1;
        break;
      }
      x->off += m;
      if (fin) x->fin_done = 1;
      moved = 1;
    }
  }
  return moved;
}

static void pump(world *w)
{
  for (int i = 0; i < 10000 && pump_once(w); i++) {
  }
}

static world *world_new(int vq_is_server, int dyn, int chunk)
{
  world *w = calloc(1, sizeof *w);
  w->vq_is_server = vq_is_server;
  w->chunk = chunk;
  vq_rng_seed(&w->rng, 9);
  w->cx.rng = &w->rng;
  w->next_uni = vq_is_server ? 3 : 2;
  w->next_bidi = vq_is_server ? 1 : 0;
  vq_mem_init(&w->mem, vq_allocator_system(), NULL, 32u << 20);
  vq_h3_config c;
  vq_h3_config_default(&c, vq_is_server);
  c.send_buf = 1u << 20;
  if (!dyn) {
    c.qpack_max_table_capacity = 0;
    c.qpack_blocked_streams = 0;
    c.qpack_encoder_capacity = 0;
  }
  vq_h3_transport tr = {w, v_open_uni, v_open_bidi, v_write, v_reset, v_stop, v_close};
  vq_h3_callbacks cb = {w, vcb_request, vcb_response, vcb_data, NULL, vcb_end, NULL, NULL, NULL, NULL, NULL};
  if (vq_h3_create(&w->h3, &w->mem, &c, &tr, &cb) != VQ_OK) abort();

  nghttp3_callbacks ncb;
  memset(&ncb, 0, sizeof ncb);
  ncb.recv_header = ncb_recv_header;
  ncb.recv_data = ncb_recv_data;
  ncb.end_stream = ncb_end_stream;
  nghttp3_settings s;
  nghttp3_settings_default(&s);
  s.qpack_max_dtable_capacity = dyn ? 4096 : 0;
  s.qpack_encoder_max_dtable_capacity = dyn ? 4096 : 0;
  s.qpack_blocked_streams = dyn ? 16 : 0;
  int rv = vq_is_server ? nghttp3_conn_client_new(&w->ng, &ncb, &s, NULL, w)
                        : nghttp3_conn_server_new(&w->ng, &ncb, &s, NULL, w);
  if (rv != 0) abort();
  const int64_t base = vq_is_server ? 2 : 3;
  if (nghttp3_conn_bind_control_stream(w->ng, base) != 0 ||
      nghttp3_conn_bind_qpack_streams(w->ng, base + 4, base + 8) != 0)
    abort();
  if (!vq_is_server) nghttp3_conn_set_max_client_streams_bidi(w->ng, 100);
  vq_h3_start(w->h3, &w->cx);
  pump(w);
  return w;
}

static size_t world_free(world *w)
{
  nghttp3_conn_del(w->ng);
  vq_h3_destroy(w->h3);
  size_t left = w->mem.used;
  for (size_t i = 0; i < w->nq; i++) free(w->qs[i].p);
  for (int i = 0; i < 4; i++) {
    free(w->ng_log[i].body);
    free(w->vq_log[i].body);
  }
  free(w);
  return left;
}

/* The request each test sends: (method, path, extra fields). */
static size_t req_nv(nghttp3_nv *nv, int post, int i)
{
  static char paths[4][32];
  snprintf(paths[i], sizeof paths[i], "/object/%d?x=%d", i, i * 7);
  nghttp3_nv base[] = {NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "oracle.example:4433"),
                       NV(":path", ""), NV("user-agent", "vquic-interop/0.1"), NV("accept", "*/*"),
                       NV("x-custom-header", "a-value-worth-indexing"), NV("cookie", "session=0123456789abcdef")};
  size_t n = sizeof base / sizeof base[0];
  memcpy(nv, base, sizeof base);
  if (post) {
    nv[0].value = (uint8_t *)"POST";
    nv[0].valuelen = 4;
  }
  nv[3].value = (uint8_t *)paths[i];
  nv[3].valuelen = strlen(paths[i]);
  return n;
}

static void expected_head(char *out, size_t cap, const nghttp3_nv *nv, size_t n)
{
  size_t o = 0;
  out[0] = 0;
  for (size_t i = 0; i < n && o + nv[i].namelen + nv[i].valuelen + 4 < cap; i++) {
    memcpy(out + o, nv[i].name, nv[i].namelen);
    o += nv[i].namelen;
    memcpy(out + o, ": ", 2);
    o += 2;
    memcpy(out + o, nv[i].value, nv[i].valuelen);
    o += nv[i].valuelen;
    out[o++] = '\n';
    out[o] = 0;
  }
}

static uint8_t *make_body(size_t n, unsigned seed)
{
  uint8_t *b = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 31u + seed + (i >> 9));
  return b;
}

/* vquic client, nghttp3 server. */
static void run_vq_client(vq_t *t, int dyn, int chunk)
{
  world *w = world_new(0, dyn, chunk);
  uint8_t *resp = make_body(50000, 3), *reqb = make_body(30000, 5);
  w->resp_body = resp;
  w->resp_len = 50000;
  for (int i = 0; i < 3; i++) {
    nghttp3_nv nv[8];
    const int post = i == 1;
    size_t n = req_nv(nv, post, i);
    vq_h3_field f[8];
    for (size_t k = 0; k < n; k++) f[k] = (vq_h3_field){nv[k].name, nv[k].namelen, nv[k].value, nv[k].valuelen, 0};
    uint64_t id;
    CHECK_EQ(vq_h3_request(w->h3, &w->cx, f, n, post, &id), VQ_OK);
    CHECK_EQ(id, (uint64_t)i * 4);
    if (post) { /* in two pieces, the second after the first went out */
      size_t off = 0;
      for (int k = 0; k < 100 && off < 30000; k++) {
        size_t acc = 0, want = k == 0 ? 12345 : 30000 - off;
        CHECK_EQ(vq_h3_send_body(w->h3, &w->cx, id, reqb + off, want, off + want == 30000, &acc), VQ_OK);
        off += acc;
        pump(w);
      }
      CHECK_EQ(off, 30000);
    }
    pump(w);
    char want[2048];
    expected_head(want, sizeof want, nv, n);
    CHECK(strcmp(w->ng_log[i].head, want) == 0);
    if (post) CHECK_MEM(w->ng_log[i].body, w->ng_log[i].blen, reqb, 30000);
    else CHECK_EQ(w->ng_log[i].blen, 0);
    CHECK_EQ(w->ng_log[i].ended, 1);
    size_t rn;
    const nghttp3_nv *rnv = resp_nv(&rn);
    expected_head(want, sizeof want, rnv, rn);
    CHECK(strcmp(w->vq_log[i].head, want) == 0);
    CHECK_EQ(w->vq_log[i].status, 200);
    CHECK_MEM(w->vq_log[i].body, w->vq_log[i].blen, resp, 50000);
    CHECK_EQ(w->vq_log[i].ended, 1);
  }
  vq_h3_stats st;
  vq_h3_get_stats(w->h3, &st);
  CHECK_EQ(st.peer_settings, 1);
  CHECK_EQ(st.active_requests, 0);
  if (dyn) {
    CHECK(st.qpack_inserts_tx > 0);                       /* nghttp3 decoded our inserts */
    CHECK_EQ(st.qpack_known_received, st.qpack_inserts_tx); /* and acknowledged them */
    CHECK(st.qpack_inserts_rx > 0);                       /* we decoded nghttp3's */
  } else {
    CHECK_EQ(st.qpack_inserts_tx + st.qpack_inserts_rx, 0);
  }
  CHECK_EQ(w->ng_err, 0);
  CHECK_EQ(w->vq_closed, 0);
  CHECK_EQ(world_free(w), 0);
  free(resp);
  free(reqb);
}

/* vquic server, nghttp3 client. */
static void run_vq_server(vq_t *t, int dyn, int chunk)
{
  world *w = world_new(1, dyn, chunk);
  uint8_t *resp = make_body(40000, 11), *reqb = make_body(25000, 13);
  w->resp_body = resp;
  w->resp_len = 40000;
  w->req_body = reqb;
  w->req_len = 25000;
  for (int i = 0; i < 3; i++) {
    nghttp3_nv nv[8];
    const int post = i != 1;
    size_t n = req_nv(nv, post, i);
    nghttp3_data_reader dr = {ncb_read_body};
    CHECK_EQ(nghttp3_conn_submit_request(w->ng, i * 4, nv, n, post ? &dr : NULL, NULL), 0);
    pump(w);
    char want[2048];
    expected_head(want, sizeof want, nv, n);
    CHECK(strcmp(w->vq_log[i].head, want) == 0);
    if (post) CHECK_MEM(w->vq_log[i].body, w->vq_log[i].blen, reqb, 25000);
    else CHECK_EQ(w->vq_log[i].blen, 0);
    CHECK_EQ(w->vq_log[i].ended, 1);
    size_t rn;
    const nghttp3_nv *rnv = resp_nv(&rn);
    expected_head(want, sizeof want, rnv, rn);
    CHECK(strcmp(w->ng_log[i].head, want) == 0);
    CHECK_EQ(w->ng_log[i].status, 200);
    CHECK_MEM(w->ng_log[i].body, w->ng_log[i].blen, resp, 40000);
    CHECK_EQ(w->ng_log[i].ended, 1);
  }
  vq_h3_stats st;
  vq_h3_get_stats(w->h3, &st);
  CHECK_EQ(st.active_requests, 0);
  if (dyn) {
    CHECK(st.qpack_inserts_rx > 0);
    CHECK(st.qpack_inserts_tx > 0);
    CHECK_EQ(st.qpack_known_received, st.qpack_inserts_tx);
  } else {
    CHECK_EQ(st.qpack_inserts_tx + st.qpack_inserts_rx, 0);
  }
  CHECK_EQ(w->ng_err, 0);
  CHECK_EQ(w->vq_closed, 0);
  CHECK_EQ(world_free(w), 0);
  free(resp);
  free(reqb);
}

VQ_TEST(h3_nghttp3_vquic_client_static) { run_vq_client(t, 0, 0); }
VQ_TEST(h3_nghttp3_vquic_client_dynamic) { run_vq_client(t, 1, 0); }
VQ_TEST(h3_nghttp3_vquic_client_dynamic_pieces) { run_vq_client(t, 1, 7); }
VQ_TEST(h3_nghttp3_vquic_server_static) { run_vq_server(t, 0, 0); }
VQ_TEST(h3_nghttp3_vquic_server_dynamic) { run_vq_server(t, 1, 0); }
VQ_TEST(h3_nghttp3_vquic_server_dynamic_pieces) { run_vq_server(t, 1, 5); }

/* spec: rfc9114#4.2.1/1, rfc9114#4.2.1/2 — cookies with nghttp3 as the peer: the vquic client's cookie
 * reaches nghttp3 as one field line per cookie-pair (nghttp3 hands lines over as they are), and cookie
 * lines an nghttp3 client sends separately reach the vquic server's application joined with "; ". */
VQ_TEST(h3_nghttp3_cookie_split_and_join)
{
  for (int dyn = 0; dyn < 2; dyn++) {
    world *w = world_new(0, dyn, 0);
    w->resp_body = (const uint8_t *)"ok";
    w->resp_len = 2;
    const vq_h3_field f[] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3, 0},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5, 0},
        {(const uint8_t *)":authority", 10, (const uint8_t *)"oracle.example", 14, 0},
        {(const uint8_t *)":path", 5, (const uint8_t *)"/c", 2, 0},
        {(const uint8_t *)"cookie", 6, (const uint8_t *)"a=1; b=2; c=3", 13, 0}};
    uint64_t id;
    CHECK_EQ(vq_h3_request(w->h3, &w->cx, f, 5, 0, &id), VQ_OK);
    pump(w);
    CHECK(strcmp(w->ng_log[0].head, ":method: GET\n:scheme: https\n:authority: oracle.example\n:path: /c\n"
                                    "cookie: a=1\ncookie: b=2\ncookie: c=3\n") == 0);
    CHECK_EQ(w->vq_log[0].status, 200);
    CHECK_MEM(w->vq_log[0].body, w->vq_log[0].blen, "ok", 2);
    CHECK_EQ(w->ng_err, 0);
    CHECK_EQ(w->vq_closed, 0);
    CHECK_EQ(world_free(w), 0);

    w = world_new(1, dyn, 0);
    w->resp_body = (const uint8_t *)"ok";
    w->resp_len = 2;
    const nghttp3_nv nv[] = {NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "oracle.example"),
                             NV(":path", "/c"), NV("cookie", "a=1"), NV("x-other", "y"), NV("cookie", "b=2")};
    CHECK_EQ(nghttp3_conn_submit_request(w->ng, 0, nv, 7, NULL, NULL), 0);
    pump(w);
    CHECK(strcmp(w->vq_log[0].head, ":method: GET\n:scheme: https\n:authority: oracle.example\n:path: /c\n"
                                    "cookie: a=1; b=2\nx-other: y\n") == 0);
    CHECK_EQ(w->vq_log[0].ended, 1);
    CHECK_EQ(w->ng_log[0].status, 200);
    CHECK_EQ(w->ng_err, 0);
    CHECK_EQ(w->vq_closed, 0);
    CHECK_EQ(world_free(w), 0);
  }
}

/* spec: rfc9114#4.4/1 — a vquic client's CONNECT (":method" and ":authority" only) is accepted by
 * nghttp3's server; the tunnel's bytes pass both ways as DATA. */
VQ_TEST(h3_nghttp3_connect)
{
  world *w = world_new(0, 1, 0);
  uint8_t *resp = make_body(3000, 17);
  w->resp_body = resp;
  w->resp_len = 3000;
  const vq_h3_field f[] = {{(const uint8_t *)":method", 7, (const uint8_t *)"CONNECT", 7, 0},
                           {(const uint8_t *)":authority", 10, (const uint8_t *)"oracle.example:443", 18, 0}};
  uint64_t id;
  size_t acc = 0;
  CHECK_EQ(vq_h3_request(w->h3, &w->cx, f, 2, 1, &id), VQ_OK);
  CHECK_EQ(vq_h3_send_body(w->h3, &w->cx, id, (const uint8_t *)"ping", 4, 1, &acc), VQ_OK);
  pump(w);
  CHECK(strcmp(w->ng_log[0].head, ":method: CONNECT\n:authority: oracle.example:443\n") == 0);
  CHECK_MEM(w->ng_log[0].body, w->ng_log[0].blen, "ping", 4);
  CHECK_EQ(w->vq_log[0].status, 200);
  CHECK_MEM(w->vq_log[0].body, w->vq_log[0].blen, resp, 3000);
  CHECK_EQ(w->vq_log[0].ended, 1);
  CHECK_EQ(w->ng_err, 0);
  CHECK_EQ(w->vq_closed, 0);
  CHECK_EQ(world_free(w), 0);
  free(resp);
}
