/* Tests of the HTTP/3 session (src/h3/h3conn*.c, h3msg.c): a client and a server session joined by an
 * in-memory fake transport (per-stream byte queues, a per-stream window that makes writes partial,
 * optional byte-by-byte delivery, a switch that delivers request streams before the QPACK streams),
 * and single sessions fed hand-made bytes for the error cases of RFC 9114 and RFC 9204. */
#include <stdlib.h>

#include "vqtest.h"
#include "vquic/h3conn.h"
#include "vquic/h3frame.h"
#include "vquic/h3quic.h"
#include "vquic/varint.h"

/* ---- the fake transport --------------------------------------------------------------------------- */

#define NS 600
#define MAXBODY (1u << 20)

typedef struct fstream {       /* one direction of a stream: what an endpoint wrote, not yet delivered */
  uint64_t id;
  uint8_t *q;
  size_t len, off, cap;
  int fin, fin_done;
  int reset, reset_done;
  uint64_t reset_code;
  int blocked;                 /* a write was partial: tell the writer when the window opens */
} fstream;

typedef struct stop_rec {
  uint64_t id, code;
  int done;
} stop_rec;

typedef struct app_req {       /* what the application saw of one request stream */
  int used;
  uint64_t id;
  int status, interim;
  char method[16], path[64], protocol[32];
  uint8_t *body;
  size_t blen;
  int ended, reset, closed, trailers, nfields;
  uint64_t reset_code;
  char hdr_x[64];              /* value of x-test */
  char cookie[512];            /* value of the (last) cookie field */
  int ncookie;                 /* cookie field lines handed over */
  /* server: response plan */
  size_t to_send, sent;
  int deferred;
  int early;                   /* server: head->early */
  char scheme[16], authority[64];
  int has_authority, nhost;    /* server: :authority present, Host lines */
} app_req;

struct net;
typedef struct ep {
  struct net *net;
  int idx;
  vq_h3 *h3;
  vq_mem mem;
  uint64_t next_uni, next_bidi;
  fstream out[NS];
  size_t nout;
  stop_rec stops[NS];
  size_t nstops;
  int closed, conn_errors;
  uint64_t close_code;
  uint64_t goaway_id;
  int goaways;
  app_req reqs[NS];
  /* what the transport was asked (for single-session tests) */
  uint64_t last_reset_id, last_reset_code, last_stop_id, last_stop_code;
  int nresets, nstopss;
  int retries;                 /* on_retry calls, the last one's IDs */
  uint64_t retry_old, retry_new;
} ep;

typedef struct net {
  ep e[2];                     /* 0: client, 1: server */
  size_t window;               /* bytes a stream may have in flight (0: unlimited) */
  int bytewise;
  int early;                   /* transport->early answers this (both ends): 0-RTT, RFC 8470 */
  int bidi_first;              /* deliver request streams before unidirectional ones */
  int use_room;                /* the transport offers send_room (set before ep_init) */
  vq_cx cx;
  vq_rng rng;
} net;

static fstream *fs_get(ep *e, uint64_t id)
{
  for (size_t i = 0; i < e->nout; i++)
    if (e->out[i].id == id) return &e->out[i];
  if (e->nout == NS) abort();
  fstream *f = &e->out[e->nout++];
  memset(f, 0, sizeof *f);
  f->id = id;
  return f;
}

static vq_status t_open_uni(void *ud, uint64_t *id)
{
  ep *e = ud;
  *id = e->next_uni;
  e->next_uni += 4;
  return VQ_OK;
}

static vq_status t_open_bidi(void *ud, uint64_t *id)
{
  ep *e = ud;
  *id = e->next_bidi;
  e->next_bidi += 4;
  return VQ_OK;
}

static vq_status t_write(void *ud, uint64_t id, const uint8_t *d, size_t len, int fin, size_t *acc)
{
  ep *e = ud;
  fstream *f = fs_get(e, id);
  if (f->reset || f->fin) return VQ_ERR_STREAM_STATE;
  size_t take = len;
  if (e->net->window) {
    const size_t inflight = f->len - f->off;
    const size_t room = inflight < e->net->window ? e->net->window - inflight : 0;
    if (take > room) take = room;
  }
  if (f->len + take > f->cap) {
    size_t nc = f->cap ? f->cap : 1024;
    while (nc < f->len + take) nc *= 2;
    f->q = realloc(f->q, nc);
    if (!f->q) abort();
    f->cap = nc;
  }
  if (take) memcpy(f->q + f->len, d, take);
  f->len += take;
  if (take == len && fin) f->fin = 1;
  if (take < len) f->blocked = 1;
  *acc = take;
  return VQ_OK;
}

static uint64_t t_send_room(void *ud, uint64_t id, uint64_t want)
{
  ep *e = ud;
  fstream *f = fs_get(e, id);
  if (f->reset || f->fin) return want; /* the write will fail */
  uint64_t room = UINT64_MAX;
  if (e->net->window) {
    const size_t inflight = f->len - f->off;
    room = inflight < e->net->window ? e->net->window - inflight : 0;
  }
  if (room < want) f->blocked = 1; /* report it writable when the window opens */
  return room;
}

static void t_reset(void *ud, uint64_t id, uint64_t code)
{
  ep *e = ud;
  fstream *f = fs_get(e, id);
  e->last_reset_id = id;
  e->last_reset_code = code;
  e->nresets++;
  if (!f->reset) {
    f->reset = 1;
    f->reset_code = code;
  }
}

static void t_stop(void *ud, uint64_t id, uint64_t code)
{
  ep *e = ud;
  e->last_stop_id = id;
  e->last_stop_code = code;
  e->nstopss++;
  if (e->nstops < NS) e->stops[e->nstops++] = (stop_rec){id, code, 0};
}

static int t_early(void *ud)
{
  ep *e = ud;
  return e->net->early;
}

static void t_close(void *ud, uint64_t code, const char *reason)
{
  ep *e = ud;
  (void)reason;
  if (!e->closed) e->close_code = code;
  e->closed = 1;
}

/* ---- the application ------------------------------------------------------------------------------ */

static app_req *areq(ep *e, uint64_t id)
{
  for (size_t i = 0; i < NS; i++)
    if (e->reqs[i].used && e->reqs[i].id == id) return &e->reqs[i];
  for (size_t i = 0; i < NS; i++)
    if (!e->reqs[i].used) {
      memset(&e->reqs[i], 0, sizeof e->reqs[i]);
      e->reqs[i].used = 1;
      e->reqs[i].id = id;
      return &e->reqs[i];
    }
  abort();
}

static void copy_str(char *dst, size_t cap, const vq_h3_str *s)
{
  size_t n = s->p ? (s->len < cap - 1 ? s->len : cap - 1) : 0;
  if (n) memcpy(dst, s->p, n);
  dst[n] = 0;
}

static void note_fields(app_req *r, const vq_h3_field *f, size_t n)
{
  r->nfields = (int)n;
  r->ncookie = 0;
  for (size_t i = 0; i < n; i++)
    if (f[i].name_len == 6 && memcmp(f[i].name, "cookie", 6) == 0) {
      size_t l = f[i].value_len < sizeof r->cookie - 1 ? f[i].value_len : sizeof r->cookie - 1;
      memcpy(r->cookie, f[i].value, l);
      r->cookie[l] = 0;
      r->ncookie++;
    }
  for (size_t i = 0; i < n; i++)
    if (f[i].name_len == 6 && memcmp(f[i].name, "x-test", 6) == 0) {
      size_t l = f[i].value_len < sizeof r->hdr_x - 1 ? f[i].value_len : sizeof r->hdr_x - 1;
      memcpy(r->hdr_x, f[i].value, l);
      r->hdr_x[l] = 0;
    }
}

#define F(n, v) {(const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0}

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7u + (i >> 8)); }

/* Server: send what is left of the planned body. */
static void server_push_body(ep *e, app_req *r)
{
  static uint8_t chunk[8192];
  while (r->sent < r->to_send) {
    size_t n = r->to_send - r->sent;
    if (n > sizeof chunk) n = sizeof chunk;
    for (size_t i = 0; i < n; i++) chunk[i] = pattern(r->sent + i);
    size_t acc = 0;
    if (vq_h3_send_body(e->h3, &e->net->cx, r->id, chunk, n, r->sent + n == r->to_send, &acc) != VQ_OK) return;
    r->sent += acc;
    if (acc < n) return; /* wait for on_writable */
  }
}

static void server_respond(ep *e, app_req *r)
{
  vq_h3 *h3 = e->h3;
  const vq_cx *cx = &e->net->cx;
  const char *p = r->path;
  if (strcmp(p, "/404") == 0) {
    vq_h3_field f[] = {F("content-type", "text/plain")};
    vq_h3_respond(h3, cx, r->id, 404, f, 1, 0);
  } else if (strncmp(p, "/big/", 5) == 0) {
    r->to_send = (size_t)strtoul(p + 5, NULL, 10);
    vq_h3_respond(h3, cx, r->id, 200, NULL, 0, 1);
    server_push_body(e, r);
  } else if (strcmp(p, "/trailers") == 0) {
    vq_h3_field f[] = {F("x-test", "t")};
    vq_h3_field tr[] = {F("x-checksum", "abc123"), F("x-test", "trailer")};
    size_t acc;
    vq_h3_respond(h3, cx, r->id, 200, f, 1, 1);
    vq_h3_send_body(h3, cx, r->id, (const uint8_t *)"body", 4, 0, &acc);
    vq_h3_send_trailers(h3, cx, r->id, tr, 2);
  } else if (strcmp(p, "/interim") == 0) {
    vq_h3_field hint[] = {F("link", "</style.css>; rel=preload")};
    vq_h3_respond(h3, cx, r->id, 103, hint, 1, 0);
    vq_h3_respond(h3, cx, r->id, 200, NULL, 0, 0);
  } else if (strcmp(r->method, "POST") == 0) {
    /* echo the body */
    char cl[24];
    snprintf(cl, sizeof cl, "%zu", r->blen);
    vq_h3_field f[] = {{(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl), 0}};
    size_t acc = 0;
    vq_h3_respond(h3, cx, r->id, 200, f, 1, 1);
    r->to_send = r->blen;
    vq_h3_send_body(h3, cx, r->id, r->body, r->blen, 1, &acc);
    r->sent = acc;
  } else {
    char v[80];
    snprintf(v, sizeof v, "hello %s", p);
    vq_h3_field f[] = {F("content-type", "text/plain"), {(const uint8_t *)"x-test", 6, (const uint8_t *)v, strlen(v), 0}};
    size_t acc;
    vq_h3_respond(h3, cx, r->id, 200, f, 2, 1);
    vq_h3_send_body(h3, cx, r->id, (const uint8_t *)v, strlen(v), 1, &acc);
  }
}

static void cb_request(void *ud, vq_h3 *h3, uint64_t id, const vq_h3_head *head)
{
  ep *e = ud;
  (void)h3;
  app_req *r = areq(e, id);
  copy_str(r->method, sizeof r->method, &head->method);
  copy_str(r->path, sizeof r->path, &head->path);
  copy_str(r->protocol, sizeof r->protocol, &head->protocol);
  note_fields(r, head->fields, head->nfields);
  r->early = head->early;
  copy_str(r->scheme, sizeof r->scheme, &head->scheme);
  copy_str(r->authority, sizeof r->authority, &head->authority);
  r->has_authority = head->authority.p != NULL;
  for (size_t i = 0; i < head->nfields; i++)
    r->nhost += head->fields[i].name_len == 4 && memcmp(head->fields[i].name, "host", 4) == 0;
  vq_h3_set_stream_ud(h3, id, r);
  if (strncmp(r->path, "/hold", 5) == 0 || strcmp(r->method, "POST") == 0 || strcmp(r->method, "CONNECT") == 0) {
    r->deferred = 1;
    return;
  }
  server_respond(e, r);
}

static void cb_response(void *ud, vq_h3 *h3, uint64_t id, void *sud, const vq_h3_head *head)
{
  ep *e = ud;
  (void)h3;
  (void)sud;
  app_req *r = areq(e, id);
  if (head->status < 200) r->interim++;
  else r->status = head->status;
  note_fields(r, head->fields, head->nfields);
}

static void cb_data(void *ud, vq_h3 *h3, uint64_t id, void *sud, const uint8_t *d, size_t n)
{
  ep *e = ud;
  (void)h3;
  (void)sud;
  app_req *r = areq(e, id);
  if (!r->body) r->body = malloc(MAXBODY);
  if (r->blen + n <= MAXBODY) memcpy(r->body + r->blen, d, n);
  r->blen += n;
}

static void cb_trailers(void *ud, vq_h3 *h3, uint64_t id, void *sud, const vq_h3_field *f, size_t n)
{
  ep *e = ud;
  (void)h3;
  (void)sud;
  app_req *r = areq(e, id);
  r->trailers = (int)n;
  note_fields(r, f, n);
}

static void cb_end(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  ep *e = ud;
  (void)h3;
  (void)sud;
  app_req *r = areq(e, id);
  r->ended = 1;
  if (e->idx == 1 && strcmp(r->method, "POST") == 0) server_respond(e, r);
}

static void cb_reset(void *ud, vq_h3 *h3, uint64_t id, void *sud, uint64_t code)
{
  ep *e = ud;
  (void)h3;
  (void)sud;
  app_req *r = areq(e, id);
  r->reset = 1;
  r->reset_code = code;
}

static void cb_writable(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  ep *e = ud;
  (void)h3;
  (void)sud;
  app_req *r = areq(e, id);
  if (e->idx == 1) server_push_body(e, r);
}

static void cb_close(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  ep *e = ud;
  (void)h3;
  (void)sud;
  areq(e, id)->closed = 1;
}

static void cb_goaway(void *ud, vq_h3 *h3, uint64_t id)
{
  ep *e = ud;
  (void)h3;
  e->goaways++;
  e->goaway_id = id;
}

static void cb_conn_error(void *ud, vq_h3 *h3, uint64_t code, const char *reason)
{
  ep *e = ud;
  (void)h3;
  (void)reason;
  (void)code;
  e->conn_errors++;
}

static void cb_retry(void *ud, vq_h3 *h3, uint64_t old_id, uint64_t new_id, void *sud)
{
  ep *e = ud;
  (void)h3;
  (void)sud;
  e->retries++;
  e->retry_old = old_id;
  e->retry_new = new_id;
}

static void ep_init(net *n, int idx, const vq_h3_config *cfg)
{
  ep *e = &n->e[idx];
  memset(e, 0, sizeof *e);
  e->net = n;
  e->idx = idx;
  e->next_uni = idx ? 3 : 2;
  e->next_bidi = idx ? 1 : 0;
  vq_mem_init(&e->mem, vq_allocator_system(), NULL, 64u << 20);
  vq_h3_transport tr = {e, t_open_uni, t_open_bidi, t_write, t_reset, t_stop, t_close,
                        n->use_room ? t_send_room : NULL, t_early};
  vq_h3_callbacks cb = {e, cb_request, cb_response, cb_data, cb_trailers, cb_end, cb_reset, cb_writable,
                        cb_close, cb_goaway, cb_conn_error, cb_retry};
  vq_h3_config c;
  if (cfg) c = *cfg;
  else vq_h3_config_default(&c, idx);
  c.is_server = idx;
  if (vq_h3_create(&e->h3, &e->mem, &c, &tr, &cb) != VQ_OK) abort();
}

static void net_init(net *n, const vq_h3_config *ccfg, const vq_h3_config *scfg)
{
  memset(n, 0, sizeof *n);
  vq_rng_seed(&n->rng, 42);
  n->cx.rng = &n->rng;
  ep_init(n, 0, ccfg);
  ep_init(n, 1, scfg);
}

/* Frees both sessions; returns the bytes left in their budgets (0: nothing leaked). */
static size_t net_free(net *n)
{
  size_t left = 0;
  for (int i = 0; i < 2; i++) {
    ep *e = &n->e[i];
    vq_h3_destroy(e->h3);
    left += e->mem.used;
    for (size_t k = 0; k < e->nout; k++) free(e->out[k].q);
    for (size_t k = 0; k < NS; k++) free(e->reqs[k].body);
  }
  return left;
}

/* Delivers one step of every stream; returns whether anything moved. */
static int pump_once(net *n)
{
  int moved = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < 2; i++) {
      ep *e = &n->e[i], *p = &n->e[1 - i];
      for (size_t k = 0; k < e->nout; k++) {
        fstream *f = &e->out[k];
        const int uni = (f->id & 2u) != 0;
        if (n->bidi_first && uni != (pass == 1)) continue;
        if (!n->bidi_first && pass == 1) continue;
        if (p->closed) continue;
        if (f->reset) {
          if (!f->reset_done) {
            f->reset_done = 1;
            moved = 1;
            vq_h3_on_stream_reset(p->h3, &n->cx, f->id, f->reset_code);
          }
          continue;
        }
        if (f->off < f->len || (f->fin && !f->fin_done)) {
          size_t m = f->len - f->off;
          if (n->bytewise && m > 1) m = 1;
          const int fin = f->fin && f->off + m == f->len;
          const size_t at = f->off;
          f->off += m;
          if (fin) f->fin_done = 1;
          moved = 1;
          vq_h3_on_stream_data(p->h3, &n->cx, f->id, f->q + at, m, fin);
        }
        if (f->blocked && !e->closed) {
          f->blocked = 0;
          moved = 1;
          vq_h3_on_writable(e->h3, &n->cx, f->id);
        }
      }
      for (size_t k = 0; k < e->nstops; k++)
        if (!e->stops[k].done && !p->closed) {
          e->stops[k].done = 1;
          moved = 1;
          vq_h3_on_stop_sending(p->h3, &n->cx, e->stops[k].id, e->stops[k].code);
        }
    }
  }
  return moved;
}

static void pump(net *n)
{
  for (int i = 0; i < 1000000 && pump_once(n); i++) {
  }
}

static void start(net *n)
{
  vq_h3_start(n->e[0].h3, &n->cx);
  vq_h3_start(n->e[1].h3, &n->cx);
  pump(n);
}

static vq_status get(net *n, const char *path, uint64_t *id)
{
  vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "example.com"),
                     {(const uint8_t *)":path", 5, (const uint8_t *)path, strlen(path), 0},
                     F("user-agent", "vquic-test"), F("x-test", "client-hello")};
  return vq_h3_request(n->e[0].h3, &n->cx, f, 6, 0, id);
}

/* ---- client and server together ------------------------------------------------------------------- */

VQ_TEST(h3conn_get_with_body)
{
  for (int bytewise = 0; bytewise < 2; bytewise++) {
    net *n = calloc(1, sizeof *n);
    net_init(n, NULL, NULL);
    n->bytewise = bytewise;
    start(n);
    vq_h3_stats st;
    vq_h3_get_stats(n->e[0].h3, &st);
    CHECK_EQ(st.peer_settings, 1);
    uint64_t id = 99;
    CHECK_EQ(get(n, "/index.html", &id), VQ_OK);
    CHECK_EQ(id, 0);
    pump(n);
    app_req *s = areq(&n->e[1], 0), *c = areq(&n->e[0], 0);
    CHECK(strcmp(s->method, "GET") == 0);
    CHECK(strcmp(s->path, "/index.html") == 0);
    CHECK(strcmp(s->hdr_x, "client-hello") == 0);
    CHECK_EQ(s->ended, 1);
    CHECK_EQ(c->status, 200);
    CHECK(strcmp(c->hdr_x, "hello /index.html") == 0);
    CHECK_MEM(c->body, c->blen, "hello /index.html", 17);
    CHECK_EQ(c->ended, 1);
    CHECK_EQ(c->closed, 1);
    CHECK_EQ(s->closed, 1);
    CHECK_EQ(n->e[0].closed + n->e[1].closed, 0);
    vq_h3_get_stats(n->e[0].h3, &st);
    CHECK_EQ(st.active_requests, 0);
    CHECK_EQ(net_free(n), 0);
    free(n);
  }
}

VQ_TEST(h3conn_post_with_body_and_404)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  vq_h3_field f[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "example.com"),
                     F(":path", "/upload"), F("content-length", "11")};
  uint64_t id;
  size_t acc = 0;
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, f, 5, 1, &id), VQ_OK);
  CHECK_EQ(vq_h3_send_body(n->e[0].h3, &n->cx, id, (const uint8_t *)"hello", 5, 0, &acc), VQ_OK);
  CHECK_EQ(acc, 5);
  pump(n);
  CHECK_EQ(vq_h3_send_body(n->e[0].h3, &n->cx, id, (const uint8_t *)" world", 6, 1, &acc), VQ_OK);
  CHECK_EQ(acc, 6);
  /* the body is closed now */
  CHECK_EQ(vq_h3_send_body(n->e[0].h3, &n->cx, id, (const uint8_t *)"x", 1, 1, &acc), VQ_ERR_STREAM_STATE);
  pump(n);
  app_req *s = areq(&n->e[1], id), *c = areq(&n->e[0], id);
  CHECK_MEM(s->body, s->blen, "hello world", 11);
  CHECK_EQ(c->status, 200);
  CHECK_MEM(c->body, c->blen, "hello world", 11);
  CHECK_EQ(c->ended, 1);
  uint64_t id2;
  CHECK_EQ(get(n, "/404", &id2), VQ_OK);
  pump(n);
  CHECK_EQ(areq(&n->e[0], id2)->status, 404);
  CHECK_EQ(areq(&n->e[0], id2)->blen, 0);
  CHECK_EQ(areq(&n->e[0], id2)->ended, 1);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

VQ_TEST(h3conn_many_parallel_requests)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  n->window = 50; /* small windows interleave everything */
  uint64_t ids[100];
  char path[32];
  for (int i = 0; i < 100; i++) {
    snprintf(path, sizeof path, "/r/%d", i);
    CHECK_EQ(get(n, path, &ids[i]), VQ_OK);
  }
  pump(n);
  for (int i = 0; i < 100; i++) {
    app_req *c = areq(&n->e[0], ids[i]);
    char want[40];
    snprintf(want, sizeof want, "hello /r/%d", i);
    CHECK_EQ(c->status, 200);
    CHECK_MEM(c->body, c->blen, want, strlen(want));
    CHECK_EQ(c->closed, 1);
  }
  vq_h3_stats st;
  vq_h3_get_stats(n->e[1].h3, &st);
  CHECK_EQ(st.active_requests, 0);
  CHECK_EQ(n->e[0].closed + n->e[1].closed, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

VQ_TEST(h3conn_trailers_and_interim)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  uint64_t a, b;
  CHECK_EQ(get(n, "/trailers", &a), VQ_OK);
  CHECK_EQ(get(n, "/interim", &b), VQ_OK);
  pump(n);
  app_req *ca = areq(&n->e[0], a), *cb = areq(&n->e[0], b);
  CHECK_EQ(ca->status, 200);
  CHECK_MEM(ca->body, ca->blen, "body", 4);
  CHECK_EQ(ca->trailers, 2);
  CHECK(strcmp(ca->hdr_x, "trailer") == 0);
  CHECK_EQ(ca->ended, 1);
  CHECK_EQ(cb->interim, 1);
  CHECK_EQ(cb->status, 200);
  CHECK_EQ(cb->ended, 1);
  /* 101 is never sent; a pseudo-header in trailers is refused */
  CHECK_EQ(net_free(n), 0);
  free(n);
}

VQ_TEST(h3conn_large_body_backpressure)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  n->window = 1000;
  uint64_t id;
  CHECK_EQ(get(n, "/big/300000", &id), VQ_OK);
  pump(n);
  app_req *c = areq(&n->e[0], id), *s = areq(&n->e[1], id);
  CHECK_EQ(s->sent, 300000);
  CHECK_EQ(c->blen, 300000);
  int same = c->blen == 300000;
  for (size_t i = 0; same && i < c->blen; i++) same = c->body[i] == pattern(i);
  CHECK(same);
  CHECK_EQ(c->ended, 1);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* With a transport that tells its room (send_room), every body byte goes straight to it in DATA frames
 * sized by the room: nothing passes through the session's queue, the window of 1000 bytes is never
 * exceeded, and the writer is woken each time the window opens. */
VQ_TEST(h3conn_body_sized_by_transport_room)
{
  net *n = calloc(1, sizeof *n);
  vq_rng_seed(&n->rng, 42);
  n->cx.rng = &n->rng;
  n->use_room = 1;
  ep_init(n, 0, NULL);
  ep_init(n, 1, NULL);
  start(n);
  n->window = 1000;
  uint64_t id;
  CHECK_EQ(get(n, "/big/300000", &id), VQ_OK);
  pump(n);
  app_req *c = areq(&n->e[0], id), *s = areq(&n->e[1], id);
  CHECK_EQ(s->sent, 300000);
  CHECK_EQ(c->blen, 300000);
  int same = c->blen == 300000;
  for (size_t i = 0; same && i < c->blen; i++) same = c->body[i] == pattern(i);
  CHECK(same);
  CHECK_EQ(c->ended, 1);
  vq_h3_stats ss;
  vq_h3_get_stats(n->e[1].h3, &ss);
  CHECK_EQ(ss.body_direct, 300000);
  CHECK_EQ(ss.body_queued, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

VQ_TEST(h3conn_client_cancel)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  uint64_t id;
  CHECK_EQ(get(n, "/hold", &id), VQ_OK);
  pump(n);
  CHECK_EQ(areq(&n->e[1], id)->deferred, 1);
  CHECK_EQ(vq_h3_cancel(n->e[0].h3, &n->cx, id, VQ_H3_REQUEST_CANCELLED), VQ_OK);
  CHECK_EQ(areq(&n->e[0], id)->closed, 1);
  pump(n);
  app_req *s = areq(&n->e[1], id);
  CHECK_EQ(s->reset, 1);
  CHECK_EQ(s->reset_code, VQ_H3_REQUEST_CANCELLED);
  CHECK_EQ(s->closed, 1);
  /* the server cannot answer a cancelled request */
  CHECK_EQ(vq_h3_respond(n->e[1].h3, &n->cx, id, 200, NULL, 0, 0), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(n->e[0].closed + n->e[1].closed, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

VQ_TEST(h3conn_goaway_graceful)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  uint64_t ids[3];
  CHECK_EQ(get(n, "/hold1", &ids[0]), VQ_OK);
  CHECK_EQ(get(n, "/hold2", &ids[1]), VQ_OK);
  CHECK_EQ(get(n, "/hold3", &ids[2]), VQ_OK);
  pump(n);
  CHECK_EQ(vq_h3_shutdown(n->e[1].h3, &n->cx), VQ_OK);
  pump(n);
  CHECK_EQ(n->e[0].goaways, 1);
  CHECK_EQ(n->e[0].goaway_id, 12);
  uint64_t x;
  /* spec: rfc9114#5.2/4 — no new request after the GOAWAY */
  CHECK_EQ(get(n, "/late", &x), VQ_ERR_H3_GOING_AWAY);
  /* a request that was on its way when GOAWAY left: rejected, not processed */
  vq_h3_stats st;
  for (int i = 0; i < 3; i++) server_respond(&n->e[1], areq(&n->e[1], ids[i]));
  pump(n);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(areq(&n->e[0], ids[i])->status, 200);
    CHECK_EQ(areq(&n->e[0], ids[i])->ended, 1);
  }
  vq_h3_get_stats(n->e[1].h3, &st);
  CHECK_EQ(st.active_requests, 0);
  CHECK_EQ(st.goaway_sent, 1);
  /* graceful end: close with H3_NO_ERROR */
  CHECK_EQ(vq_h3_close(n->e[1].h3, &n->cx, VQ_H3_NO_ERROR, "bye"), VQ_OK);
  CHECK_EQ(n->e[1].close_code, VQ_H3_NO_ERROR);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

VQ_TEST(h3conn_dynamic_table_and_blocked_stream)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  /* request streams arrive before the encoder stream: the server's decoder blocks, then resumes */
  n->bidi_first = 1;
  uint64_t ids[4];
  for (int i = 0; i < 4; i++) CHECK_EQ(get(n, "/dyn", &ids[i]), VQ_OK);
  pump(n);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(areq(&n->e[0], ids[i])->status, 200);
    CHECK(strcmp(areq(&n->e[1], ids[i])->hdr_x, "client-hello") == 0);
  }
  vq_h3_stats cs, ss;
  vq_h3_get_stats(n->e[0].h3, &cs);
  vq_h3_get_stats(n->e[1].h3, &ss);
  CHECK(cs.qpack_inserts_tx > 0);              /* the client's encoder inserted */
  CHECK_EQ(ss.qpack_inserts_rx, cs.qpack_inserts_tx);
  CHECK(ss.blocked_total > 0);                 /* a section waited for inserts */
  CHECK_EQ(ss.blocked_streams, 0);
  CHECK_EQ(cs.qpack_known_received, cs.qpack_inserts_tx); /* the decoder acknowledged them */
  CHECK(ss.qpack_inserts_tx > 0);              /* and the server's responses used the table too */
  CHECK_EQ(cs.qpack_inserts_rx, ss.qpack_inserts_tx);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* An idle session holds neither QPACK table: after the SETTINGS exchange (both advertise a 4096-byte
 * table) each side's budget holds less than one decoder's storage; the first request that uses the
 * dynamic table brings both tables, and everything is freed with the sessions.
 * spec: rfc9204#3.2.3 — the decoder's table starts at capacity 0, so storage for it is needed only
 * once the encoder stream sets a capacity or a section refers to the table. */
VQ_TEST(h3conn_idle_holds_no_qpack_tables)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  const size_t dec = vq_qpack_decoder_mem(4096, 16), enc = vq_qpack_encoder_mem(4096, 64);
  CHECK(dec > 16384);
  CHECK(enc > 4096);
  const size_t idle_c = n->e[0].mem.used, idle_s = n->e[1].mem.used;
  CHECK(idle_s < dec);
  CHECK(idle_c < dec);
  uint64_t id;
  CHECK_EQ(get(n, "/dyn", &id), VQ_OK);
  pump(n);
  CHECK_EQ(areq(&n->e[0], id)->status, 200);
  CHECK(strcmp(areq(&n->e[1], id)->hdr_x, "client-hello") == 0);
  vq_h3_stats cs, ss;
  vq_h3_get_stats(n->e[0].h3, &cs);
  vq_h3_get_stats(n->e[1].h3, &ss);
  CHECK(cs.qpack_inserts_tx > 0); /* the client's encoder used its table... */
  CHECK_EQ(ss.qpack_inserts_rx, cs.qpack_inserts_tx); /* ...and the server's decoder applied it */
  CHECK(n->e[1].mem.used >= idle_s + dec); /* the server now holds its decoder */
  CHECK(n->e[0].mem.used >= idle_c + enc); /* the client its encoder */
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* spec: rfc9204#4.2/7 — with both tables at capacity 0 the peer's QPACK streams are still accepted. */
VQ_TEST(h3conn_static_only_tables)
{
  vq_h3_config cc, sc;
  vq_h3_config_default(&cc, 0);
  vq_h3_config_default(&sc, 1);
  cc.qpack_max_table_capacity = sc.qpack_max_table_capacity = 0;
  cc.qpack_blocked_streams = sc.qpack_blocked_streams = 0;
  cc.grease = sc.grease = 0;
  net *n = calloc(1, sizeof *n);
  net_init(n, &cc, &sc);
  start(n);
  uint64_t id;
  CHECK_EQ(get(n, "/x", &id), VQ_OK);
  pump(n);
  CHECK_EQ(areq(&n->e[0], id)->status, 200);
  vq_h3_stats st;
  vq_h3_get_stats(n->e[0].h3, &st);
  CHECK_EQ(st.qpack_inserts_tx, 0);
  CHECK_EQ(n->e[0].closed + n->e[1].closed, 0);
  CHECK_EQ(n->e[0].nstopss + n->e[1].nstopss, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* spec: rfc9114#9/4 — extended CONNECT (RFC 9220) only once the server's SETTINGS enabled it.
 * spec: rfc9114#7.2.4.2/1 — a request the server's settings as the client knows them make invalid
 * is not sent; once they allow it, it is. */
VQ_TEST(h3conn_extended_connect)
{
  vq_h3_config sc;
  vq_h3_config_default(&sc, 1);
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, &sc);
  start(n);
  vq_h3_field ws[] = {F(":method", "CONNECT"), F(":protocol", "websocket"), F(":scheme", "https"),
                      F(":authority", "example.com"), F(":path", "/chat")};
  uint64_t id;
  /* spec: rfc9114#4.4/1 — the server did not enable RFC 9220: :protocol is refused. */
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, ws, 5, 1, &id), VQ_ERR_H3_MESSAGE);
  vq_h3_field conn[] = {F(":method", "CONNECT"), F(":authority", "proxy.example:443")};
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, conn, 2, 1, &id), VQ_OK);
  pump(n);
  CHECK(strcmp(areq(&n->e[1], id)->method, "CONNECT") == 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
  sc.enable_connect_protocol = 1;
  n = calloc(1, sizeof *n);
  net_init(n, NULL, &sc);
  start(n);
  CHECK_EQ(vq_h3_peer_settings(n->e[0].h3)->enable_connect_protocol, 1);
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, ws, 5, 1, &id), VQ_OK);
  pump(n);
  CHECK(strcmp(areq(&n->e[1], id)->protocol, "websocket") == 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

VQ_TEST(h3conn_cancelled_cx_changes_nothing)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  vq_cancel tok;
  vq_cancel_init(&tok, NULL);
  vq_cancel_set(&tok);
  vq_cx dead = n->cx;
  dead.cancel = &tok;
  vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  uint64_t id = 77;
  CHECK_EQ(vq_h3_request(n->e[0].h3, &dead, f, 4, 0, &id), VQ_ECANCELED);
  CHECK_EQ(id, 77);
  CHECK_EQ(n->e[0].next_bidi, 0);
  static const uint8_t junk[] = {0x00, 0x01, 0x00};
  CHECK_EQ(vq_h3_on_stream_data(n->e[1].h3, &dead, 0, junk, 3, 0), VQ_ECANCELED);
  CHECK_EQ(vq_h3_shutdown(n->e[1].h3, &dead), VQ_ECANCELED);
  vq_h3_stats st;
  vq_h3_get_stats(n->e[1].h3, &st);
  CHECK_EQ(st.closed, 0);
  CHECK_EQ(st.goaway_sent, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

VQ_TEST(h3conn_field_section_size)
{
  vq_h3_config sc;
  vq_h3_config_default(&sc, 1);
  sc.max_field_section_size = 300;
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, &sc);
  start(n);
  char big[400];
  memset(big, 'a', sizeof big);
  vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/"),
                     {(const uint8_t *)"x-big", 5, (const uint8_t *)big, sizeof big, 0}};
  uint64_t id;
  /* spec: rfc9114#4.2.2/2, rfc9114#7.2.4.2/7 — not sent over the limit in the server's SETTINGS */
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, f, 5, 0, &id), VQ_ERR_H3_FIELD_SECTION_TOO_LARGE);
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, f, 4, 0, &id), VQ_OK);
  pump(n);
  CHECK_EQ(areq(&n->e[0], id)->status, 200);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* ---- one session fed raw bytes -------------------------------------------------------------------- */

typedef struct raw {
  net n;
  ep *e;       /* the session under test */
  vq_qpack_encoder enc;
  uint8_t encmem[64];
} raw;

static raw *raw_new(int is_server, const vq_h3_config *cfg)
{
  raw *r = calloc(1, sizeof *r);
  vq_rng_seed(&r->n.rng, 1);
  r->n.cx.rng = &r->n.rng;
  ep_init(&r->n, is_server, cfg);
  r->e = &r->n.e[is_server];
  vq_h3_start(r->e->h3, &r->n.cx);
  vq_qpack_encoder_init(&r->enc, r->encmem, sizeof r->encmem, 0, 0, 0, 0); /* static table only */
  return r;
}

static size_t raw_free(raw *r)
{
  vq_h3_destroy(r->e->h3);
  size_t left = r->e->mem.used;
  for (size_t k = 0; k < r->e->nout; k++) free(r->e->out[k].q);
  for (size_t k = 0; k < NS; k++) free(r->e->reqs[k].body);
  free(r);
  return left;
}

static vq_status feed(raw *r, uint64_t id, const uint8_t *d, size_t n, int fin)
{
  return vq_h3_on_stream_data(r->e->h3, &r->n.cx, id, d, n, fin);
}

/* A HEADERS frame carrying fields (static-table QPACK). */
static size_t headers_frame(raw *r, uint64_t sid, const vq_h3_field *f, size_t n, uint8_t *out, size_t cap)
{
  uint8_t enc[64], sec[2048];
  size_t el = 0, sl = 0, used = 0;
  if (vq_qpack_encode_section(&r->enc, sid, f, n, enc, sizeof enc, &el, sec, sizeof sec, &sl) != VQ_OK) abort();
  if (vq_h3_frame_encode_span(out, cap, VQ_H3_FRAME_HEADERS, sec, sl, &used) != VQ_OK) abort();
  return used;
}

static const uint8_t ctrl_settings[] = {0x00, 0x04, 0x00}; /* control stream, empty SETTINGS */

/* spec: rfc9114#6.2.1/2 — the first control frame is not SETTINGS: H3_MISSING_SETTINGS. */
VQ_TEST(h3conn_err_missing_settings)
{
  raw *r = raw_new(1, NULL);
  static const uint8_t b[] = {0x00, 0x07, 0x01, 0x00}; /* control, GOAWAY(0) */
  CHECK_EQ(feed(r, 2, b, sizeof b, 0), VQ_ERR_H3_MISSING_SETTINGS);
  CHECK_EQ(r->e->closed, 1);
  CHECK_EQ(r->e->close_code, VQ_H3_MISSING_SETTINGS);
  CHECK_EQ(r->e->conn_errors, 1);
  CHECK_EQ(feed(r, 0, b, 1, 0), VQ_ERR_H3_CLOSED);
  CHECK_EQ(raw_free(r), 0);
}

/* Request streams opened out of order: the skipped IDs are remembered (the list is allocated with the
 * first skip), each opens once, and an ID seen before is not opened again. A session whose streams
 * come in order holds no list. */
VQ_TEST(h3conn_skipped_stream_ids)
{
  raw *r = raw_new(1, NULL);
  CHECK_EQ(feed(r, 2, ctrl_settings, 3, 0), VQ_OK);
  vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/hold")};
  uint8_t b[256];
  size_t n = headers_frame(r, 0, f, 4, b, sizeof b);
  CHECK_EQ(feed(r, 0, b, n, 0), VQ_OK); /* in order: nothing skipped */
  CHECK(areq(r->e, 0)->method[0] == 'G');
  const size_t before = r->e->mem.used;
  CHECK_EQ(feed(r, 12, b, n, 0), VQ_OK); /* skips 4 and 8 */
  CHECK(r->e->mem.used >= before + (size_t)(128 + 16) * sizeof(uint64_t)); /* the list came now */
  CHECK_EQ(feed(r, 8, b, n, 0), VQ_OK);
  CHECK_EQ(feed(r, 4, b, n, 0), VQ_OK);
  for (uint64_t id = 0; id <= 12; id += 4) CHECK(strcmp(areq(r->e, id)->path, "/hold") == 0);
  CHECK_EQ(r->e->closed, 0);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#6.2.1/3 — a second control stream: H3_STREAM_CREATION_ERROR. */
VQ_TEST(h3conn_err_duplicate_control_stream)
{
  raw *r = raw_new(1, NULL);
  CHECK_EQ(feed(r, 2, ctrl_settings, 3, 0), VQ_OK);
  CHECK_EQ(feed(r, 6, ctrl_settings, 1, 0), VQ_ERR_H3_STREAM_CREATION);
  CHECK_EQ(r->e->close_code, VQ_H3_STREAM_CREATION_ERROR);
  CHECK_EQ(raw_free(r), 0);
  /* the same for a second QPACK encoder stream (RFC 9204 §4.2) */
  r = raw_new(1, NULL);
  static const uint8_t qe = 0x02;
  CHECK_EQ(feed(r, 2, &qe, 1, 0), VQ_OK);
  CHECK_EQ(feed(r, 6, &qe, 1, 0), VQ_ERR_H3_STREAM_CREATION);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#6.2.1/5, rfc9204#4.2/4 — a control stream closed (FIN or reset), or a QPACK stream:
 * H3_CLOSED_CRITICAL_STREAM. */
VQ_TEST(h3conn_err_critical_stream_closed)
{
  raw *r = raw_new(1, NULL);
  CHECK_EQ(feed(r, 2, ctrl_settings, 3, 1), VQ_ERR_H3_CLOSED_CRITICAL_STREAM);
  CHECK_EQ(r->e->close_code, VQ_H3_CLOSED_CRITICAL_STREAM);
  CHECK_EQ(raw_free(r), 0);
  r = raw_new(0, NULL);
  static const uint8_t qd = 0x03;
  CHECK_EQ(feed(r, 3, &qd, 1, 0), VQ_OK);
  CHECK_EQ(vq_h3_on_stream_reset(r->e->h3, &r->n.cx, 3, 0), VQ_ERR_H3_CLOSED_CRITICAL_STREAM);
  CHECK_EQ(r->e->close_code, VQ_H3_CLOSED_CRITICAL_STREAM);
  CHECK_EQ(raw_free(r), 0);
  /* the peer asking us to stop sending on our control stream (ID 3 for a server) */
  r = raw_new(1, NULL);
  CHECK_EQ(vq_h3_on_stop_sending(r->e->h3, &r->n.cx, 3, VQ_H3_NO_ERROR), VQ_ERR_H3_CLOSED_CRITICAL_STREAM);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#4.1/3 — DATA before HEADERS: H3_FRAME_UNEXPECTED. */
VQ_TEST(h3conn_err_data_before_headers)
{
  raw *r = raw_new(1, NULL);
  static const uint8_t b[] = {0x00, 0x01, 'x'};
  CHECK_EQ(feed(r, 0, b, 3, 1), VQ_ERR_H3_FRAME_UNEXPECTED);
  CHECK_EQ(r->e->close_code, VQ_H3_FRAME_UNEXPECTED);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#7.2.8/3 — an HTTP/2 frame type; rfc9114#7.2.4/2 — a second SETTINGS. */
VQ_TEST(h3conn_err_h2_frame_and_second_settings)
{
  raw *r = raw_new(1, NULL);
  static const uint8_t ping[] = {0x06, 0x00};
  CHECK_EQ(feed(r, 2, ctrl_settings, 3, 0), VQ_OK);
  CHECK_EQ(feed(r, 2, ping, 2, 0), VQ_ERR_H3_FRAME_UNEXPECTED);
  CHECK_EQ(raw_free(r), 0);
  r = raw_new(0, NULL);
  CHECK_EQ(feed(r, 3, ctrl_settings, 3, 0), VQ_OK);
  CHECK_EQ(feed(r, 3, ctrl_settings + 1, 2, 0), VQ_ERR_H3_FRAME_UNEXPECTED);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#4.1.2/2, rfc9114#4.3/4, rfc9114#4.3/6, rfc9114#4.2/2, rfc9114#4.3.1/6 — malformed
 * requests are stream errors H3_MESSAGE_ERROR: the stream is reset, the connection stays.
 * spec: rfc9114#4.2/3, rfc9114#4.2/4, rfc9114#4.3/2 — every connection-specific field (connection,
 * keep-alive, proxy-connection, transfer-encoding, upgrade), TE other than "trailers", a response
 * pseudo-header field in a request are among them. */
VQ_TEST(h3conn_err_malformed_pseudo_headers)
{
  const vq_h3_field no_path[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a")};
  const vq_h3_field after[] = {F(":method", "GET"), F(":scheme", "https"), F("accept", "*/*"),
                               F(":authority", "a"), F(":path", "/")};
  const vq_h3_field upper[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                               F(":path", "/"), F("Accept", "*/*")};
  const vq_h3_field unknown[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                                 F(":path", "/"), F(":foo", "x")};
  const vq_h3_field status[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                                F(":path", "/"), F(":status", "200")};
  const vq_h3_field conn[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                              F(":path", "/"), F("connection", "close")};
  const vq_h3_field te[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                            F(":path", "/"), F("te", "gzip")};
  const vq_h3_field crlf[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                              F(":path", "/"), F("x", "a\r\nb")};
  const vq_h3_field dup[] = {F(":method", "GET"), F(":method", "GET"), F(":scheme", "https"),
                             F(":authority", "a"), F(":path", "/")};
  const vq_h3_field proto[] = {F(":method", "CONNECT"), F(":protocol", "websocket"), F(":scheme", "https"),
                               F(":authority", "a"), F(":path", "/")};
  const vq_h3_field ka[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                            F(":path", "/"), F("keep-alive", "timeout=5")};
  const vq_h3_field pc[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                            F(":path", "/"), F("proxy-connection", "keep-alive")};
  const vq_h3_field tenc[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "a"),
                              F(":path", "/"), F("transfer-encoding", "chunked")};
  const vq_h3_field upg[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                             F(":path", "/"), F("upgrade", "websocket")};
  const vq_h3_field te2[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                             F(":path", "/"), F("te", "trailers, gzip")};
  const vq_h3_field dupp[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                              F(":path", "/"), F(":path", "/x")};
  const vq_h3_field upseudo[] = {F(":method", "GET"), F(":Scheme", "https"), F(":authority", "a"),
                                 F(":path", "/"), F("x", "y")};
  const struct {
    const vq_h3_field *f;
    size_t n;
  } cases[] = {{no_path, 3}, {after, 5}, {upper, 5}, {unknown, 5}, {status, 5}, {conn, 5},
               {te, 5},      {crlf, 5},  {dup, 5},   {proto, 5},   {ka, 5},     {pc, 5},
               {tenc, 5},    {upg, 5},   {te2, 5},   {dupp, 5},    {upseudo, 5}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    raw *r = raw_new(1, NULL);
    uint8_t b[4096];
    size_t l = headers_frame(r, 0, cases[i].f, cases[i].n, b, sizeof b);
    CHECK_EQ(feed(r, 0, b, l, 1), VQ_OK);
    CHECK_EQ(r->e->closed, 0);
    CHECK_EQ(r->e->last_reset_id, 0);
    CHECK_EQ(r->e->last_reset_code, VQ_H3_MESSAGE_ERROR);
    CHECK_EQ(r->e->nresets, 1);
    CHECK_EQ(areq(r->e, 0)->method[0], 0); /* never reached the application */
    /* a valid request on the next stream still works */
    const vq_h3_field ok[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
    l = headers_frame(r, 4, ok, 4, b, sizeof b);
    CHECK_EQ(feed(r, 4, b, l, 1), VQ_OK);
    CHECK(strcmp(areq(r->e, 4)->path, "/") == 0);
    CHECK_EQ(raw_free(r), 0);
  }
}

/* spec: rfc9114#4.1.2/2 — content-length not matching the DATA: stream error H3_MESSAGE_ERROR. */
VQ_TEST(h3conn_err_content_length_mismatch)
{
  const vq_h3_field f[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "a"),
                           F(":path", "/"), F("content-length", "5")};
  for (int over = 0; over < 2; over++) {
    raw *r = raw_new(1, NULL);
    uint8_t b[4096];
    size_t l = headers_frame(r, 0, f, 5, b, sizeof b);
    const size_t dl = over ? 6 : 3;
    b[l++] = 0x00;
    b[l++] = (uint8_t)dl;
    memcpy(b + l, "abcdef", dl);
    l += dl;
    CHECK_EQ(feed(r, 0, b, l, 1), VQ_OK);
    CHECK_EQ(r->e->closed, 0);
    CHECK_EQ(r->e->last_reset_code, VQ_H3_MESSAGE_ERROR);
    app_req *a = areq(r->e, 0);
    CHECK_EQ(a->reset, 1);
    CHECK_EQ(a->reset_code, VQ_H3_MESSAGE_ERROR);
    CHECK_EQ(a->ended, 0);
    CHECK_EQ(raw_free(r), 0);
  }
}

/* spec: rfc9114#4.6/2, rfc9114#6.2.2/1 — a push stream reaching a client that sent no MAX_PUSH_ID:
 * H3_ID_ERROR; a client-initiated push stream: H3_STREAM_CREATION_ERROR.
 * spec: rfc9114#6.2.2/4 — the client never gets as far as a second push stream with the same push ID:
 * the first push stream header is already H3_ID_ERROR. */
VQ_TEST(h3conn_err_push_stream)
{
  raw *r = raw_new(0, NULL);
  static const uint8_t push[] = {0x01, 0x00};
  CHECK_EQ(feed(r, 3, push, 2, 0), VQ_ERR_H3_ID);
  CHECK_EQ(r->e->close_code, VQ_H3_ID_ERROR);
  CHECK_EQ(raw_free(r), 0);
  r = raw_new(1, NULL);
  CHECK_EQ(feed(r, 2, push, 2, 0), VQ_ERR_H3_STREAM_CREATION);
  CHECK_EQ(raw_free(r), 0);
  /* spec: rfc9114#7.2.5/11 — a PUSH_PROMISE received by a server: H3_FRAME_UNEXPECTED */
  r = raw_new(1, NULL);
  static const uint8_t pp[] = {0x05, 0x01, 0x00};
  CHECK_EQ(feed(r, 0, pp, 3, 0), VQ_ERR_H3_FRAME_UNEXPECTED);
  CHECK_EQ(raw_free(r), 0);
  /* spec: rfc9114#6.1/3 — a server-initiated bidirectional stream at a client */
  r = raw_new(0, NULL);
  CHECK_EQ(feed(r, 1, pp, 3, 0), VQ_ERR_H3_STREAM_CREATION);
  CHECK_EQ(raw_free(r), 0);
  /* spec: rfc9114#7.2.5/2 — a PUSH_PROMISE on the client's request stream: the client never sent
   * MAX_PUSH_ID, so push ID 0 is already larger than allowed: H3_ID_ERROR */
  r = raw_new(0, NULL);
  const vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  uint64_t id = 99;
  CHECK_EQ(vq_h3_request(r->e->h3, &r->n.cx, f, 4, 1, &id), VQ_OK);
  CHECK_EQ(id, 0);
  CHECK_EQ(feed(r, id, pp, 3, 0), VQ_ERR_H3_ID);
  CHECK_EQ(r->e->close_code, VQ_H3_ID_ERROR);
  CHECK_EQ(raw_free(r), 0);
  /* spec: rfc9114#7.2.3/8 — CANCEL_PUSH at a client (push ID 0 > the maximum it never allowed);
   * spec: rfc9114#7.2.3/9 — at a server, for a push ID no PUSH_PROMISE mentioned: H3_ID_ERROR */
  static const uint8_t ctrl_cancel[] = {0x00, 0x04, 0x00, 0x03, 0x01, 0x00};
  for (int srv = 0; srv < 2; srv++) {
    r = raw_new(srv, NULL);
    CHECK_EQ(feed(r, srv ? 2 : 3, ctrl_cancel, 3, 0), VQ_OK);
    CHECK_EQ(feed(r, srv ? 2 : 3, ctrl_cancel + 3, 3, 0), VQ_ERR_H3_ID);
    CHECK_EQ(r->e->close_code, VQ_H3_ID_ERROR);
    CHECK_EQ(raw_free(r), 0);
  }
  /* spec: rfc9114#7.2.7/4 — MAX_PUSH_ID 5, 5 again (fine), then 3: H3_ID_ERROR */
  static const uint8_t ctrl_mpi[] = {0x00, 0x04, 0x00, 0x0d, 0x01, 0x05, 0x0d, 0x01, 0x05, 0x0d, 0x01, 0x03};
  r = raw_new(1, NULL);
  CHECK_EQ(feed(r, 2, ctrl_mpi, 9, 0), VQ_OK);
  CHECK_EQ(r->e->closed, 0);
  CHECK_EQ(feed(r, 2, ctrl_mpi + 9, 3, 0), VQ_ERR_H3_ID);
  CHECK_EQ(r->e->close_code, VQ_H3_ID_ERROR);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#6.2/4, rfc9114#6.2/6, rfc9114#7.2.8/2, rfc9114#7.2.4.1/2 — unknown and reserved stream
 * types, reserved frames and settings are ignored, never an error. */
VQ_TEST(h3conn_unknown_uni_and_grease_ignored)
{
  raw *r = raw_new(1, NULL);
  static const uint8_t unk[] = {0x21, 'a', 'b', 'c'};   /* reserved stream type */
  static const uint8_t unk2[] = {0x40, 0x54, 'z'};      /* unknown type 0x54 */
  CHECK_EQ(feed(r, 2, unk, 4, 0), VQ_OK);
  CHECK_EQ(r->e->last_stop_id, 2);
  CHECK_EQ(r->e->last_stop_code, VQ_H3_STREAM_CREATION_ERROR);
  CHECK_EQ(feed(r, 2, unk, 4, 1), VQ_OK);               /* later bytes dropped */
  CHECK_EQ(feed(r, 6, unk2, 3, 1), VQ_OK);
  /* control stream: SETTINGS with a reserved setting, then a reserved frame, then an unknown one */
  static const uint8_t ctrl[] = {0x00, 0x04, 0x04, 0x21, 0x05, 0x06, 0x10, 0x21, 0x02, 'h', 'i', 0x2f, 0x00};
  for (size_t i = 0; i < sizeof ctrl; i++) CHECK_EQ(feed(r, 10, ctrl + i, 1, 0), VQ_OK);
  /* a request with a reserved frame between HEADERS and DATA, and after DATA */
  const vq_h3_field f[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/g")};
  uint8_t b[4096];
  size_t l = headers_frame(r, 0, f, 4, b, sizeof b);
  static const uint8_t tail[] = {0x21, 0x01, 'x', 0x00, 0x02, 'o', 'k', 0x40, 0x40, 0x00};
  memcpy(b + l, tail, sizeof tail);
  l += sizeof tail;
  CHECK_EQ(feed(r, 0, b, l, 1), VQ_OK);
  CHECK_EQ(r->e->closed, 0);
  app_req *a = areq(r->e, 0);
  CHECK_MEM(a->body, a->blen, "ok", 2);
  CHECK_EQ(a->ended, 1);
  CHECK_EQ(vq_h3_peer_settings(r->e->h3)->max_field_section_size, 0x10);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#6.2/10 — unidirectional streams closed (FIN) or reset before their stream type
 * arrived, whole or in part, are tolerated: no error, the session goes on (and a control stream that
 * then arrives is taken as the first one). */
VQ_TEST(h3conn_uni_closed_before_type)
{
  raw *r = raw_new(1, NULL);
  static const uint8_t part[] = {0x40}; /* the first byte of a two-byte stream type */
  CHECK_EQ(feed(r, 2, part, 0, 1), VQ_OK);           /* FIN, no byte at all */
  CHECK_EQ(feed(r, 6, part, 1, 1), VQ_OK);           /* FIN inside the type */
  CHECK_EQ(feed(r, 10, part, 1, 0), VQ_OK);
  CHECK_EQ(vq_h3_on_stream_reset(r->e->h3, &r->n.cx, 10, 0x10c), VQ_OK); /* reset inside it */
  CHECK_EQ(vq_h3_on_stream_reset(r->e->h3, &r->n.cx, 14, 0x10c), VQ_OK); /* reset before any byte */
  CHECK_EQ(r->e->closed, 0);
  CHECK_EQ(r->e->conn_errors, 0);
  CHECK_EQ(feed(r, 18, ctrl_settings, 3, 0), VQ_OK);
  CHECK_EQ(r->e->closed, 0);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#5.2/9 — a GOAWAY larger than an earlier one: H3_ID_ERROR; rfc9114#7.2.6/1 — from a
 * server, not a client-initiated bidirectional stream ID: H3_ID_ERROR. */
VQ_TEST(h3conn_err_goaway_ids)
{
  raw *r = raw_new(0, NULL);
  static const uint8_t g[] = {0x00, 0x04, 0x00, 0x07, 0x01, 0x08, 0x07, 0x01, 0x04, 0x07, 0x01, 0x08};
  CHECK_EQ(feed(r, 3, g, 9, 0), VQ_OK);
  vq_h3_stats st;
  vq_h3_get_stats(r->e->h3, &st);
  CHECK_EQ(st.goaway_id, 4);
  CHECK_EQ(feed(r, 3, g + 9, 3, 0), VQ_ERR_H3_ID);
  CHECK_EQ(raw_free(r), 0);
  r = raw_new(0, NULL);
  static const uint8_t g2[] = {0x00, 0x04, 0x00, 0x07, 0x01, 0x02};
  CHECK_EQ(feed(r, 3, g2, sizeof g2, 0), VQ_ERR_H3_ID);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#10.5/3 — a HEADERS frame over our bound: H3_EXCESSIVE_LOAD; rfc9114#7.1/4 — a stream
 * ending inside a frame: H3_FRAME_ERROR. */
VQ_TEST(h3conn_err_excessive_and_truncated)
{
  vq_h3_config c;
  vq_h3_config_default(&c, 1);
  c.max_frame = 1000;
  raw *r = raw_new(1, &c);
  static const uint8_t big[] = {0x01, 0x44, 0x00}; /* HEADERS of 1024 bytes */
  CHECK_EQ(feed(r, 0, big, 3, 0), VQ_ERR_H3_EXCESSIVE_LOAD);
  CHECK_EQ(r->e->close_code, VQ_H3_EXCESSIVE_LOAD);
  CHECK_EQ(raw_free(r), 0);
  r = raw_new(1, NULL);
  static const uint8_t cut[] = {0x01, 0x05, 0x00, 0x00};
  CHECK_EQ(feed(r, 0, cut, 4, 1), VQ_ERR_H3_FRAME);
  CHECK_EQ(raw_free(r), 0);
  /* a request stream ending without a request: H3_REQUEST_INCOMPLETE, spec: rfc9114#4.1/13 */
  r = raw_new(1, NULL);
  static const uint8_t grease_only[] = {0x21, 0x00};
  CHECK_EQ(feed(r, 0, grease_only, 2, 1), VQ_OK);
  CHECK_EQ(r->e->last_reset_code, VQ_H3_REQUEST_INCOMPLETE);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#5.2/2 — after our GOAWAY, a request at or above its ID is rejected.
 * spec: rfc9114#4.1.1/5 — H3_REQUEST_REJECTED only for the request that never reached the
 * application; the one being processed completes.
 * spec: rfc9114#5.2/8 — a second shutdown sends no second GOAWAY (none can carry a greater ID). */
VQ_TEST(h3conn_goaway_rejects_later_requests)
{
  raw *r = raw_new(1, NULL);
  const vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/hold")};
  uint8_t b[4096];
  size_t l = headers_frame(r, 0, f, 4, b, sizeof b);
  CHECK_EQ(feed(r, 0, b, l, 1), VQ_OK);
  CHECK_EQ(vq_h3_shutdown(r->e->h3, &r->n.cx), VQ_OK);
  fstream *ctrl = fs_get(r->e, 3);
  CHECK(ctrl->len >= 3);
  CHECK_MEM(ctrl->q + ctrl->len - 3, 3, "\x07\x01\x04", 3); /* GOAWAY(4) */
  const size_t ctrl_len = ctrl->len;
  l = headers_frame(r, 4, f, 4, b, sizeof b);
  CHECK_EQ(feed(r, 4, b, l, 1), VQ_OK);
  CHECK_EQ(r->e->last_reset_id, 4);
  CHECK_EQ(r->e->last_reset_code, VQ_H3_REQUEST_REJECTED);
  CHECK_EQ(areq(r->e, 4)->path[0], 0);
  CHECK_EQ(r->e->nresets, 1);                       /* stream 0 was not rejected */
  CHECK_EQ(vq_h3_shutdown(r->e->h3, &r->n.cx), VQ_OK);
  CHECK_EQ(fs_get(r->e, 3)->len, ctrl_len);
  /* the request below the ID completes */
  CHECK_EQ(vq_h3_respond(r->e->h3, &r->n.cx, 0, 204, NULL, 0, 0), VQ_OK);
  vq_h3_stats st;
  vq_h3_get_stats(r->e->h3, &st);
  CHECK_EQ(st.active_requests, 0);
  CHECK_EQ(raw_free(r), 0);
}

/* The frame types in p[0 .. len), in order; the count (or SIZE_MAX when a frame is cut). */
static size_t frame_types(const uint8_t *p, size_t len, uint64_t *types, size_t max)
{
  size_t off = 0, n = 0;
  while (off < len) {
    vq_h3_frame_hdr fh;
    size_t need = 0;
    if (vq_h3_frame_header_read(p + off, len - off, UINT64_MAX >> 2, &fh, &need) != VQ_OK) return SIZE_MAX;
    if (fh.length > len - off - fh.hdr_len) return SIZE_MAX;
    if (n < max) types[n] = fh.type;
    n++;
    off += fh.hdr_len + (size_t)fh.length;
  }
  return n;
}

/* spec: rfc9114#3.2/5, rfc9114#6.2.1/1, rfc9114#7.2.4/1, rfc9114#6.2.1/4 — one control stream, SETTINGS
 * its first frame, the stream never closed.
 * spec: rfc9114#7.2.4.2/3 — SETTINGS leaves at start, before anything was received from the peer.
 * spec: rfc9114#7.2.4.2/11 — it carries every setting that differs from its default.
 * spec: rfc9114#6.2/9 — the only unidirectional streams are control (0x00) and QPACK (0x02, 0x03).
 * spec: rfc9114#7.2.7/2 — the server's control stream carries no MAX_PUSH_ID.
 * spec: rfc9204#4.2/1, rfc9204#4.2/3 — one QPACK encoder and one decoder stream, neither closed. */
VQ_TEST(h3conn_start_streams_and_settings)
{
  vq_h3_config sc;
  vq_h3_config_default(&sc, 1);
  sc.enable_connect_protocol = 1;
  raw *r = raw_new(1, &sc);
  CHECK_EQ(r->e->nout, 3);
  static const uint8_t want_type[3] = {0x00, 0x02, 0x03};
  for (size_t k = 0; k < 3 && k < r->e->nout; k++) {
    CHECK_EQ(r->e->out[k].id & 3u, 3u); /* server-initiated unidirectional */
    CHECK(r->e->out[k].len >= 1);
    if (r->e->out[k].len >= 1) CHECK_EQ(r->e->out[k].q[0], want_type[k]);
    CHECK_EQ(r->e->out[k].fin, 0);
  }
  fstream *ctrl = fs_get(r->e, 3);
  uint64_t types[8];
  const size_t nf = frame_types(ctrl->q + 1, ctrl->len - 1, types, 8);
  CHECK(nf >= 1 && nf <= 8);
  CHECK_EQ(types[0], VQ_H3_FRAME_SETTINGS);
  for (size_t k = 1; k < nf && k < 8; k++) {
    CHECK(types[k] != VQ_H3_FRAME_MAX_PUSH_ID);
    CHECK(types[k] != VQ_H3_FRAME_SETTINGS);
  }
  vq_h3_frame_hdr fh;
  size_t need = 0;
  CHECK_EQ(vq_h3_frame_header_read(ctrl->q + 1, ctrl->len - 1, 1u << 20, &fh, &need), VQ_OK);
  vq_h3_settings ps;
  CHECK_EQ(vq_h3_settings_parse(ctrl->q + 1 + fh.hdr_len, (size_t)fh.length, &ps), VQ_OK);
  CHECK_EQ(ps.has_max_field_section_size, 1);
  CHECK_EQ(ps.max_field_section_size, sc.max_field_section_size);
  CHECK_EQ(ps.has_qpack_max_table_capacity, 1);
  CHECK_EQ(ps.qpack_max_table_capacity, sc.qpack_max_table_capacity);
  CHECK_EQ(ps.has_qpack_blocked_streams, 1);
  CHECK_EQ(ps.qpack_blocked_streams, sc.qpack_blocked_streams);
  CHECK_EQ(ps.has_enable_connect_protocol, 1);
  CHECK_EQ(ps.enable_connect_protocol, 1);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#4.1/1, rfc9114#4.1/9, rfc9114#4.1/10 — each request on a new stream, the stream
 * closed for sending after the request (at once without a body, with the last body bytes otherwise)
 * with no response received.
 * spec: rfc9114#7.2.4/3, rfc9114#7.2.5/10, rfc9114#7.2.1/1 — what the client writes on a request
 * stream is HEADERS, then DATA, then the trailing HEADERS: no SETTINGS, no PUSH_PROMISE. */
VQ_TEST(h3conn_client_request_streams)
{
  raw *r = raw_new(0, NULL);
  const vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  uint64_t id1 = 99, id2 = 99;
  CHECK_EQ(vq_h3_request(r->e->h3, &r->n.cx, f, 4, 0, &id1), VQ_OK);
  CHECK_EQ(fs_get(r->e, id1)->fin, 1);
  const vq_h3_field p[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/u")};
  CHECK_EQ(vq_h3_request(r->e->h3, &r->n.cx, p, 4, 1, &id2), VQ_OK);
  CHECK(id2 != id1);
  CHECK_EQ(id2 & 3u, 0u);
  CHECK_EQ(fs_get(r->e, id2)->fin, 0);
  size_t acc = 0;
  CHECK_EQ(vq_h3_send_body(r->e->h3, &r->n.cx, id2, (const uint8_t *)"abc", 3, 0, &acc), VQ_OK);
  CHECK_EQ(acc, 3);
  const vq_h3_field tr[] = {F("x-sum", "1")};
  CHECK_EQ(vq_h3_send_trailers(r->e->h3, &r->n.cx, id2, tr, 1), VQ_OK);
  CHECK_EQ(fs_get(r->e, id2)->fin, 1);
  CHECK_EQ(vq_h3_send_body(r->e->h3, &r->n.cx, id2, (const uint8_t *)"x", 1, 1, &acc), VQ_ERR_STREAM_STATE);
  uint64_t types[8];
  fstream *s2 = fs_get(r->e, id2);
  CHECK_EQ(frame_types(s2->q, s2->len, types, 8), 3);
  CHECK_EQ(types[0], VQ_H3_FRAME_HEADERS);
  CHECK_EQ(types[1], VQ_H3_FRAME_DATA);
  CHECK_EQ(types[2], VQ_H3_FRAME_HEADERS);
  fstream *s1 = fs_get(r->e, id1);
  CHECK_EQ(frame_types(s1->q, s1->len, types, 8), 1);
  CHECK_EQ(types[0], VQ_H3_FRAME_HEADERS);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#7.2.1/1 — a server cannot send DATA before its response.
 * spec: rfc9114#4.1/11 — after the final response (and its body) the server closes the stream. */
VQ_TEST(h3conn_server_no_data_before_response)
{
  raw *r = raw_new(1, NULL);
  const vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/hold")};
  uint8_t b[4096];
  size_t l = headers_frame(r, 0, f, 4, b, sizeof b);
  CHECK_EQ(feed(r, 0, b, l, 1), VQ_OK);
  size_t acc = 7;
  CHECK_EQ(vq_h3_send_body(r->e->h3, &r->n.cx, 0, (const uint8_t *)"x", 1, 1, &acc), VQ_ERR_STREAM_STATE);
  CHECK_EQ(fs_get(r->e, 0)->len, 0);
  CHECK_EQ(vq_h3_respond(r->e->h3, &r->n.cx, 0, 200, NULL, 0, 1), VQ_OK);
  CHECK_EQ(fs_get(r->e, 0)->fin, 0);
  CHECK_EQ(vq_h3_send_body(r->e->h3, &r->n.cx, 0, (const uint8_t *)"x", 1, 1, &acc), VQ_OK);
  CHECK_EQ(acc, 1);
  CHECK_EQ(fs_get(r->e, 0)->fin, 1);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#4.1/16 — the server stops the request (STOP_SENDING, with H3_NO_ERROR or another
 * code); the complete response that follows is still delivered. */
/* spec: rfc9114#8/2 — STOP_SENDING with an unknown error code is taken as H3_NO_ERROR: the
 * application is not told of an abort (it is for a known error code), the RESET_STREAM that answers
 * carries H3_NO_ERROR; spec: rfc9114#4.1/15 — the response is still read whole. */
VQ_TEST(h3conn_response_after_stop_sending)
{
  for (int code = 0; code < 3; code++) {
    raw *r = raw_new(0, NULL);
    const vq_h3_field f[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
    uint64_t id = 99;
    CHECK_EQ(vq_h3_request(r->e->h3, &r->n.cx, f, 4, 1, &id), VQ_OK);
    const uint64_t ec = code == 1   ? VQ_H3_REQUEST_REJECTED + 0x100u /* an unknown code */
                        : code == 2 ? VQ_H3_REQUEST_REJECTED
                                    : VQ_H3_NO_ERROR;
    CHECK_EQ(vq_h3_on_stop_sending(r->e->h3, &r->n.cx, id, ec), VQ_OK);
    CHECK_EQ(r->e->last_reset_id, id);
    CHECK_EQ(r->e->last_reset_code, code == 2 ? VQ_H3_REQUEST_REJECTED : VQ_H3_NO_ERROR);
    CHECK_EQ(areq(r->e, id)->reset, code == 2);
    const vq_h3_field resp[] = {F(":status", "200")};
    uint8_t b[4096];
    size_t l = headers_frame(r, id, resp, 1, b, sizeof b);
    b[l++] = 0x00;
    b[l++] = 0x02;
    b[l++] = 'h';
    b[l++] = 'i';
    CHECK_EQ(feed(r, id, b, l, 1), VQ_OK);
    app_req *a = areq(r->e, id);
    CHECK_EQ(a->status, 200);
    CHECK_MEM(a->body, a->blen, "hi", 2);
    CHECK_EQ(a->ended, 1);
    CHECK_EQ(r->e->closed, 0);
    CHECK_EQ(raw_free(r), 0);
  }
}

/* spec: rfc9114#4.1/2, rfc9114#4.1.2/4 — a second request on a request stream, or a second final
 * response, is malformed: stream error H3_MESSAGE_ERROR (the client does not accept it); the connection
 * stays. */
VQ_TEST(h3conn_err_second_message_on_stream)
{
  raw *r = raw_new(1, NULL);
  const vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/hold")};
  uint8_t b[4096];
  size_t l = headers_frame(r, 0, f, 4, b, sizeof b);
  l += headers_frame(r, 0, f, 4, b + l, sizeof b - l);
  CHECK_EQ(feed(r, 0, b, l, 1), VQ_OK);
  CHECK_EQ(r->e->closed, 0);
  CHECK_EQ(r->e->last_reset_id, 0);
  CHECK_EQ(r->e->last_reset_code, VQ_H3_MESSAGE_ERROR);
  CHECK_EQ(areq(r->e, 0)->ended, 0);
  CHECK_EQ(raw_free(r), 0);
  r = raw_new(0, NULL);
  uint64_t id = 99;
  CHECK_EQ(vq_h3_request(r->e->h3, &r->n.cx, f, 4, 0, &id), VQ_OK);
  const vq_h3_field resp[] = {F(":status", "200")};
  l = headers_frame(r, id, resp, 1, b, sizeof b);
  l += headers_frame(r, id, resp, 1, b + l, sizeof b - l);
  CHECK_EQ(feed(r, id, b, l, 1), VQ_OK);
  CHECK_EQ(r->e->closed, 0);
  CHECK_EQ(r->e->last_stop_id, id);
  CHECK_EQ(r->e->last_stop_code, VQ_H3_MESSAGE_ERROR);
  CHECK_EQ(areq(r->e, id)->reset, 1);
  CHECK_EQ(areq(r->e, id)->ended, 0);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9204#4.2/2 — a second QPACK encoder (or decoder) stream: H3_STREAM_CREATION_ERROR. */
VQ_TEST(h3conn_err_second_qpack_stream)
{
  for (uint8_t type = 0x02; type <= 0x03; type++) {
    raw *r = raw_new(1, NULL);
    CHECK_EQ(feed(r, 2, &type, 1, 0), VQ_OK);
    CHECK_EQ(r->e->closed, 0);
    CHECK_EQ(feed(r, 6, &type, 1, 0), VQ_ERR_H3_STREAM_CREATION);
    CHECK_EQ(r->e->close_code, VQ_H3_STREAM_CREATION_ERROR);
    CHECK_EQ(raw_free(r), 0);
  }
}

/* spec: rfc9114#4.1.1/9 — the client abandons the requests a GOAWAY leaves unprocessed with
 * H3_REQUEST_CANCELLED, never H3_REQUEST_REJECTED (the application is told "rejected"). */
VQ_TEST(h3conn_client_goaway_cancels_with_cancelled)
{
  raw *r = raw_new(0, NULL);
  const vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  uint64_t id = 99;
  CHECK_EQ(vq_h3_request(r->e->h3, &r->n.cx, f, 4, 0, &id), VQ_OK);
  CHECK_EQ(id, 0);
  static const uint8_t g[] = {0x00, 0x04, 0x00, 0x07, 0x01, 0x00}; /* control: SETTINGS, GOAWAY(0) */
  CHECK_EQ(feed(r, 3, g, sizeof g, 0), VQ_OK);
  CHECK_EQ(r->e->closed, 0);
  CHECK_EQ(r->e->last_stop_id, 0);
  CHECK_EQ(r->e->last_stop_code, VQ_H3_REQUEST_CANCELLED);
  CHECK_EQ(r->e->nresets, 0); /* the request was sent whole: nothing to reset */
  CHECK_EQ(areq(r->e, 0)->reset_code, VQ_H3_REQUEST_REJECTED);
  CHECK_EQ(raw_free(r), 0);
}

/* ---- validation on its own ------------------------------------------------------------------------ */

VQ_TEST(h3conn_validate)
{
  vq_h3_head h;
  const vq_h3_field ok[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a.example"),
                            F(":path", "/p?q"), F("content-length", "0"), F("te", "trailers")};
  CHECK_EQ(vq_h3_validate(ok, 6, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
  CHECK_EQ(h.nfields, 2);
  CHECK_EQ(h.content_length, 0);
  /* spec: rfc9114#4.3.1/7, rfc9114#4.3.1/9 — authority or Host, equal when both */
  const vq_h3_field host[] = {F(":method", "GET"), F(":scheme", "https"), F(":path", "/"), F("host", "h")};
  CHECK_EQ(vq_h3_validate(host, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
  const vq_h3_field noauth[] = {F(":method", "GET"), F(":scheme", "https"), F(":path", "/")};
  CHECK_EQ(vq_h3_validate(noauth, 3, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  const vq_h3_field differ[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                                F(":path", "/"), F("host", "b")};
  CHECK_EQ(vq_h3_validate(differ, 5, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  /* spec: rfc9114#4.3.1/1 — no userinfo in an https authority */
  const vq_h3_field userinfo[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "u@a"), F(":path", "/")};
  CHECK_EQ(vq_h3_validate(userinfo, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  const vq_h3_field emptypath[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "")};
  CHECK_EQ(vq_h3_validate(emptypath, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  /* spec: rfc9114#4.4/1 — CONNECT: :authority only */
  const vq_h3_field c1[] = {F(":method", "CONNECT"), F(":authority", "h:443")};
  const vq_h3_field c2[] = {F(":method", "CONNECT"), F(":authority", "h:443"), F(":path", "/")};
  const vq_h3_field c3[] = {F(":method", "CONNECT"), F(":scheme", "https")};
  CHECK_EQ(vq_h3_validate(c1, 2, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
  CHECK_EQ(vq_h3_validate(c2, 3, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(c3, 2, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  const vq_h3_field ext[] = {F(":method", "CONNECT"), F(":protocol", "websocket"), F(":scheme", "https"),
                             F(":authority", "a"), F(":path", "/chat")};
  CHECK_EQ(vq_h3_validate(ext, 5, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(ext, 5, VQ_H3_SECTION_REQUEST, 1, &h), VQ_OK);
  /* responses */
  const vq_h3_field r1[] = {F(":status", "200"), F("content-length", "10"), F("content-length", "10")};
  const vq_h3_field r2[] = {F(":status", "20")};
  const vq_h3_field r3[] = {F("server", "x")};
  const vq_h3_field r4[] = {F(":status", "200"), F(":path", "/")};
  const vq_h3_field r5[] = {F(":status", "200"), F("content-length", "10"), F("content-length", "11")};
  const vq_h3_field r6[] = {F(":status", "101")};
  CHECK_EQ(vq_h3_validate(r1, 3, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_OK);
  CHECK_EQ(h.status, 200);
  CHECK_EQ(h.content_length, 10);
  CHECK_EQ(vq_h3_validate(r2, 1, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  /* spec: rfc9114#4.3.2/1 — a response without :status is malformed */
  CHECK_EQ(vq_h3_validate(r3, 1, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(r4, 2, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(r5, 3, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(r6, 1, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  /* spec: rfc9114#4.3/3 — no pseudo-header fields in trailers */
  CHECK_EQ(vq_h3_validate(r1, 1, VQ_H3_SECTION_TRAILERS, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(r3, 1, VQ_H3_SECTION_TRAILERS, 0, &h), VQ_OK);
  /* spec: rfc9114#4.1/7, rfc9114#4.2/3 — Transfer-Encoding is refused in requests and responses (what
   * vq_h3_request / vq_h3_respond would send goes through this check) */
  const vq_h3_field tereq[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "a"),
                               F(":path", "/"), F("transfer-encoding", "chunked")};
  const vq_h3_field teresp[] = {F(":status", "200"), F("transfer-encoding", "chunked")};
  CHECK_EQ(vq_h3_validate(tereq, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
  CHECK_EQ(vq_h3_validate(tereq, 5, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(teresp, 1, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_OK);
  CHECK_EQ(vq_h3_validate(teresp, 2, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  /* spec: rfc9114#10.3/1 — names are tokens */
  const vq_h3_field sp[] = {F(":status", "200"), F("a b", "x")};
  const vq_h3_field empty[] = {F(":status", "200"), F("", "x")};
  const vq_h3_field nul[] = {F(":status", "200"), {(const uint8_t *)"x", 1, (const uint8_t *)"a\0b", 3, 0}};
  CHECK_EQ(vq_h3_validate(sp, 2, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(empty, 2, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  /* spec: rfc9114#10.3/2 — a value with NUL, CR or LF is malformed; the same value without is fine */
  const vq_h3_field cr[] = {F(":status", "200"), F("x", "a\rb")};
  const vq_h3_field lf[] = {F(":status", "200"), F("x", "a\nb")};
  const vq_h3_field fine[] = {F(":status", "200"), F("x", "a b")};
  CHECK_EQ(vq_h3_validate(nul, 2, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(cr, 2, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(lf, 2, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(fine, 2, VQ_H3_SECTION_RESPONSE, 0, &h), VQ_OK);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_MESSAGE), VQ_H3_MESSAGE_ERROR);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_CLOSED_CRITICAL_STREAM), VQ_H3_CLOSED_CRITICAL_STREAM);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_STREAM_CREATION), VQ_H3_STREAM_CREATION_ERROR);
}

/* Memory: every allocation comes from the budget; a small budget makes creation fail cleanly. */
VQ_TEST(h3conn_memory_budget)
{
  vq_mem m;
  vq_mem_init(&m, vq_allocator_system(), NULL, 1000);
  ep e;
  memset(&e, 0, sizeof e);
  vq_h3_transport tr = {&e, t_open_uni, t_open_bidi, t_write, t_reset, t_stop, t_close};
  vq_h3_config c;
  vq_h3_config_default(&c, 1);
  vq_h3 *h3 = NULL;
  CHECK_EQ(vq_h3_create(&h3, &m, &c, &tr, NULL), VQ_ERR_NOMEM);
  CHECK(h3 == NULL);
  CHECK_EQ(m.used, 0);
}

/* ---- CONNECT (RFC 9114 §4.4, RFC 9220) ------------------------------------------------------------ */

/* spec: rfc9114#4.4/1, rfc9114#4.4/3 — a CONNECT request carries :authority only and keeps its stream
 * open; after the 2xx both sides exchange DATA only: no trailer section can be sent either way, and a
 * content-length in the 2xx is refused. */
VQ_TEST(h3conn_connect_tunnel)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  vq_h3 *c = n->e[0].h3, *sv = n->e[1].h3;
  vq_h3_field conn[] = {F(":method", "CONNECT"), F(":authority", "proxy.example:443")};
  uint64_t id = 99;
  /* the stream stays open at the end of the request */
  CHECK_EQ(vq_h3_request(c, &n->cx, conn, 2, 0, &id), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(id, 99);
  CHECK_EQ(vq_h3_request(c, &n->cx, conn, 2, 1, &id), VQ_OK);
  size_t acc = 0;
  /* optimistic tunnel data before the response */
  CHECK_EQ(vq_h3_send_body(c, &n->cx, id, (const uint8_t *)"ping", 4, 0, &acc), VQ_OK);
  CHECK_EQ(acc, 4);
  const vq_h3_field tr[] = {F("x-trailer", "t")};
  CHECK_EQ(vq_h3_send_trailers(c, &n->cx, id, tr, 1), VQ_ERR_STREAM_STATE);
  pump(n);
  app_req *s = areq(&n->e[1], id);
  CHECK(strcmp(s->method, "CONNECT") == 0);
  CHECK_MEM(s->body, s->blen, "ping", 4);
  const vq_h3_field cl[] = {F("content-length", "4")};
  CHECK_EQ(vq_h3_respond(sv, &n->cx, id, 200, cl, 1, 1), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_respond(sv, &n->cx, id, 200, NULL, 0, 1), VQ_OK);
  CHECK_EQ(vq_h3_send_body(sv, &n->cx, id, (const uint8_t *)"pong", 4, 0, &acc), VQ_OK);
  CHECK_EQ(vq_h3_send_trailers(sv, &n->cx, id, tr, 1), VQ_ERR_STREAM_STATE);
  pump(n);
  app_req *cr = areq(&n->e[0], id);
  CHECK_EQ(cr->status, 200);
  CHECK_MEM(cr->body, cr->blen, "pong", 4);
  CHECK_EQ(vq_h3_send_body(c, &n->cx, id, (const uint8_t *)"bye", 3, 1, &acc), VQ_OK);
  CHECK_EQ(vq_h3_send_body(sv, &n->cx, id, NULL, 0, 1, &acc), VQ_OK);
  pump(n);
  CHECK_MEM(s->body, s->blen, "pingbye", 7);
  CHECK_EQ(s->ended, 1);
  CHECK_EQ(cr->ended, 1);
  CHECK_EQ(cr->closed, 1);
  CHECK_EQ(n->e[0].closed + n->e[1].closed, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* spec: rfc9114#4.4/3, rfc9114#4.4/2 — a client that received the 2xx to its CONNECT: a HEADERS or PUSH_PROMISE
 * frame on the stream is the connection error H3_FRAME_UNEXPECTED; DATA and reserved frames pass,
 * and a content-length in the 2xx does not bound the tunnel's DATA. A non-2xx answer is an ordinary
 * response (its trailers are accepted). */
VQ_TEST(h3conn_err_connect_frames_after_2xx_client)
{
  const vq_h3_field conn[] = {F(":method", "CONNECT"), F(":authority", "h.example:443")};
  const vq_h3_field ok[] = {F(":status", "200"), F("content-length", "1")};
  const vq_h3_field denied[] = {F(":status", "407")};
  const vq_h3_field trl[] = {F("x-trailer", "t")};
  static const uint8_t data[] = {0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
  static const uint8_t grease[] = {0x21, 0x01, 'g'};
  static const uint8_t pp[] = {0x05, 0x03, 0x00, 0x00, 0x00};
  for (int kind = 0; kind < 3; kind++) {
    raw *r = raw_new(0, NULL);
    uint64_t id = 99;
    CHECK_EQ(vq_h3_request(r->e->h3, &r->n.cx, conn, 2, 1, &id), VQ_OK);
    uint8_t b[4096];
    size_t l = headers_frame(r, id, kind == 2 ? denied : ok, kind == 2 ? 1 : 2, b, sizeof b);
    memcpy(b + l, data, sizeof data);
    l += sizeof data;
    memcpy(b + l, grease, sizeof grease);
    l += sizeof grease;
    CHECK_EQ(feed(r, id, b, l, 0), VQ_OK);
    app_req *a = areq(r->e, id);
    CHECK_EQ(a->status, kind == 2 ? 407 : 200);
    CHECK_MEM(a->body, a->blen, "hello", 5);
    CHECK_EQ(a->reset, 0);
    if (kind == 1) {
      CHECK_EQ(feed(r, id, pp, sizeof pp, 0), VQ_ERR_H3_FRAME_UNEXPECTED);
    } else {
      l = headers_frame(r, id, trl, 1, b, sizeof b);
      if (kind == 0) {
        CHECK_EQ(feed(r, id, b, l, 0), VQ_ERR_H3_FRAME_UNEXPECTED);
      } else {
        CHECK_EQ(feed(r, id, b, l, 1), VQ_OK);
        CHECK_EQ(a->trailers, 1);
        CHECK_EQ(a->ended, 1);
      }
    }
    if (kind != 2) {
      CHECK_EQ(r->e->closed, 1);
      CHECK_EQ(r->e->close_code, VQ_H3_FRAME_UNEXPECTED);
    } else {
      CHECK_EQ(r->e->closed, 0);
    }
    CHECK_EQ(raw_free(r), 0);
  }
}

/* spec: rfc9114#4.4/3 — a server that sent the 2xx to a CONNECT: a HEADERS frame from the client is
 * H3_FRAME_UNEXPECTED (connection). Before the 2xx, a trailer section on the CONNECT request is
 * malformed (rfc9114#4.1.2/2: stream error H3_MESSAGE_ERROR). Extended CONNECT (RFC 9220) the same. */
VQ_TEST(h3conn_err_connect_headers_server)
{
  vq_h3_config sc;
  vq_h3_config_default(&sc, 1);
  sc.enable_connect_protocol = 1;
  const vq_h3_field conn[] = {F(":method", "CONNECT"), F(":authority", "h.example:443")};
  const vq_h3_field ws[] = {F(":method", "CONNECT"), F(":protocol", "websocket"), F(":scheme", "https"),
                            F(":authority", "a.example"), F(":path", "/chat")};
  const vq_h3_field trl[] = {F("x-trailer", "t")};
  static const uint8_t data[] = {0x00, 0x02, 'h', 'i'};
  for (int ext = 0; ext < 2; ext++) {
    for (int responded = 0; responded < 2; responded++) {
      raw *r = raw_new(1, &sc);
      uint8_t b[4096];
      size_t l = ext ? headers_frame(r, 0, ws, 5, b, sizeof b) : headers_frame(r, 0, conn, 2, b, sizeof b);
      memcpy(b + l, data, sizeof data);
      l += sizeof data;
      CHECK_EQ(feed(r, 0, b, l, 0), VQ_OK);
      app_req *a = areq(r->e, 0);
      CHECK(strcmp(a->method, "CONNECT") == 0);
      CHECK(strcmp(a->protocol, ext ? "websocket" : "") == 0);
      CHECK_MEM(a->body, a->blen, "hi", 2);
      if (responded) CHECK_EQ(vq_h3_respond(r->e->h3, &r->n.cx, 0, 200, NULL, 0, 1), VQ_OK);
      l = headers_frame(r, 0, trl, 1, b, sizeof b);
      if (responded) {
        CHECK_EQ(feed(r, 0, b, l, 0), VQ_ERR_H3_FRAME_UNEXPECTED);
        CHECK_EQ(r->e->close_code, VQ_H3_FRAME_UNEXPECTED);
      } else {
        CHECK_EQ(feed(r, 0, b, l, 0), VQ_OK);
        CHECK_EQ(r->e->closed, 0);
        CHECK_EQ(a->reset, 1);
        CHECK_EQ(a->reset_code, VQ_H3_MESSAGE_ERROR);
        CHECK_EQ(a->trailers, 0);
      }
      CHECK_EQ(raw_free(r), 0);
    }
  }
}

/* spec: rfc9114#4.4/1 — CONNECT requests and extended CONNECT (RFC 9220): what is malformed, on
 * receipt (server) and when asked to send (client, which also needs the server's
 * SETTINGS_ENABLE_CONNECT_PROTOCOL before sending :protocol). */
VQ_TEST(h3conn_connect_malformed)
{
  const vq_h3_field noauth[] = {F(":method", "CONNECT")};
  const vq_h3_field scheme[] = {F(":method", "CONNECT"), F(":scheme", "https"), F(":authority", "h:1")};
  const vq_h3_field path[] = {F(":method", "CONNECT"), F(":authority", "h:1"), F(":path", "/")};
  const vq_h3_field emptyauth[] = {F(":method", "CONNECT"), F(":authority", "")};
  const vq_h3_field hostdiff[] = {F(":method", "CONNECT"), F(":authority", "h:1"), F("host", "g:1")};
  const vq_h3_field xnoscheme[] = {F(":method", "CONNECT"), F(":protocol", "websocket"), F(":authority", "a"),
                                   F(":path", "/")};
  const vq_h3_field xnopath[] = {F(":method", "CONNECT"), F(":protocol", "websocket"), F(":scheme", "https"),
                                 F(":authority", "a")};
  const vq_h3_field xnoauth[] = {F(":method", "CONNECT"), F(":protocol", "websocket"), F(":scheme", "https"),
                                 F(":path", "/")};
  const vq_h3_field xempty[] = {F(":method", "CONNECT"), F(":protocol", ""), F(":scheme", "https"),
                                F(":authority", "a"), F(":path", "/")};
  const vq_h3_field xget[] = {F(":method", "GET"), F(":protocol", "websocket"), F(":scheme", "https"),
                              F(":authority", "a"), F(":path", "/")};
  const struct {
    const vq_h3_field *f;
    size_t n;
  } cases[] = {{noauth, 1},    {scheme, 3},  {path, 3},    {emptyauth, 2}, {hostdiff, 3},
               {xnoscheme, 4}, {xnopath, 4}, {xnoauth, 4}, {xempty, 5},    {xget, 5}};
  vq_h3_config sc;
  vq_h3_config_default(&sc, 1);
  sc.enable_connect_protocol = 1;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vq_h3_head h;
    CHECK_EQ(vq_h3_validate(cases[i].f, cases[i].n, VQ_H3_SECTION_REQUEST, 1, &h), VQ_ERR_H3_MESSAGE);
    raw *r = raw_new(1, &sc);
    uint8_t b[4096];
    size_t l = headers_frame(r, 0, cases[i].f, cases[i].n, b, sizeof b);
    CHECK_EQ(feed(r, 0, b, l, 0), VQ_OK);
    CHECK_EQ(r->e->closed, 0);
    CHECK_EQ(r->e->last_reset_code, VQ_H3_MESSAGE_ERROR);
    CHECK_EQ(areq(r->e, 0)->method[0], 0);
    CHECK_EQ(raw_free(r), 0);
  }
  /* the client: refused before sending, also once the server enabled extended CONNECT */
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, &sc);
  start(n);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t id = 99;
    CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, cases[i].f, cases[i].n, 1, &id), VQ_ERR_H3_MESSAGE);
  }
  CHECK_EQ(n->e[0].next_bidi, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
  /* a server that did not enable RFC 9220 refuses :protocol */
  raw *r = raw_new(1, NULL);
  const vq_h3_field ws[] = {F(":method", "CONNECT"), F(":protocol", "websocket"), F(":scheme", "https"),
                            F(":authority", "a.example"), F(":path", "/chat")};
  uint8_t b[4096];
  size_t l = headers_frame(r, 0, ws, 5, b, sizeof b);
  CHECK_EQ(feed(r, 0, b, l, 0), VQ_OK);
  CHECK_EQ(r->e->last_reset_code, VQ_H3_MESSAGE_ERROR);
  CHECK_EQ(areq(r->e, 0)->method[0], 0);
  CHECK_EQ(raw_free(r), 0);
}

/* ---- request control data (RFC 9114 §4.3.1) ------------------------------------------------------- */

VQ_TEST(h3conn_validate_authority_and_path)
{
  vq_h3_head h;
  /* spec: rfc9114#4.3.1/9 — Host lines and :authority agree; duplicate Host lines too */
  const vq_h3_field hh[] = {F(":method", "GET"), F(":scheme", "https"), F(":path", "/"), F("host", "h"),
                            F("host", "h")};
  const vq_h3_field hd[] = {F(":method", "GET"), F(":scheme", "https"), F(":path", "/"), F("host", "h"),
                            F("host", "g")};
  const vq_h3_field ah[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "h"), F(":path", "/"),
                            F("host", "h"), F("host", "g")};
  CHECK_EQ(vq_h3_validate(hh, 5, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
  CHECK_EQ(vq_h3_validate(hd, 5, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(ah, 6, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  /* spec: rfc9114#4.3.1/7, rfc9114#4.3.1/8 — https: a non-empty :authority or Host */
  const vq_h3_field eh[] = {F(":method", "GET"), F(":scheme", "https"), F(":path", "/"), F("host", "")};
  const vq_h3_field ea[] = {F(":method", "GET"), F(":scheme", "http"), F(":authority", ""), F(":path", "/")};
  CHECK_EQ(vq_h3_validate(eh, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(ea, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  /* another scheme: the authority may be left out; when both are present they agree */
  const vq_h3_field urn[] = {F(":method", "GET"), F(":scheme", "urn"), F(":path", "isbn:0451450523")};
  const vq_h3_field oth[] = {F(":method", "GET"), F(":scheme", "coap"), F(":authority", "a"), F(":path", "/x"),
                             F("host", "b")};
  const vq_h3_field oth2[] = {F(":method", "GET"), F(":scheme", "coap"), F(":authority", "a"), F(":path", "/x"),
                              F("host", "a")};
  CHECK_EQ(vq_h3_validate(urn, 3, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
  CHECK_EQ(vq_h3_validate(oth, 5, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(oth2, 5, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
  /* spec: rfc9114#4.3.1/5 — http and https: "/..." or, for OPTIONS only, "*" */
  const vq_h3_field star[] = {F(":method", "OPTIONS"), F(":scheme", "https"), F(":authority", "a"), F(":path", "*")};
  const vq_h3_field gstar[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "*")};
  const vq_h3_field rel[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "x/y")};
  const vq_h3_field abs[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"),
                             F(":path", "https://a/x")};
  CHECK_EQ(vq_h3_validate(star, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
  CHECK_EQ(vq_h3_validate(gstar, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(rel, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(abs, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  /* spec: rfc9114#4.3.1/6 — :method, :scheme, :path present; :method a token */
  const vq_h3_field nom[] = {F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  const vq_h3_field nos[] = {F(":method", "GET"), F(":authority", "a"), F(":path", "/")};
  const vq_h3_field em[] = {F(":method", ""), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  const vq_h3_field sm[] = {F(":method", "G T"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  const vq_h3_field xm[] = {F(":method", "PROPFIND"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  CHECK_EQ(vq_h3_validate(nom, 3, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(nos, 3, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(em, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(sm, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_validate(xm, 4, VQ_H3_SECTION_REQUEST, 0, &h), VQ_OK);
}

/* spec: rfc9114#4.2/2, rfc9114#4.2/3, rfc9114#4.2/4, rfc9114#4.3/2, rfc9114#4.3/6,
 * rfc9114#4.1.2/4 — a client does not accept a malformed response: every connection-specific field,
 * TE, an uppercase name, a request pseudo-header field, a pseudo-header field after a regular one, a
 * duplicate :status. The stream is aborted with H3_MESSAGE_ERROR; the connection stays. */
VQ_TEST(h3conn_err_malformed_responses)
{
  const vq_h3_field c1[] = {F(":status", "200"), F("connection", "close")};
  const vq_h3_field c2[] = {F(":status", "200"), F("keep-alive", "timeout=5")};
  const vq_h3_field c3[] = {F(":status", "200"), F("proxy-connection", "keep-alive")};
  const vq_h3_field c4[] = {F(":status", "200"), F("transfer-encoding", "chunked")};
  const vq_h3_field c5[] = {F(":status", "200"), F("upgrade", "h2c")};
  const vq_h3_field c6[] = {F(":status", "200"), F("te", "trailers")};
  const vq_h3_field c7[] = {F(":status", "200"), F("Server", "x")};
  const vq_h3_field c8[] = {F(":status", "200"), F(":path", "/")};
  const vq_h3_field c9[] = {F("server", "x"), F(":status", "200")};
  const vq_h3_field c10[] = {F(":status", "200"), F(":status", "200")};
  const vq_h3_field *cases[] = {c1, c2, c3, c4, c5, c6, c7, c8, c9, c10};
  const vq_h3_field req[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/")};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    raw *r = raw_new(0, NULL);
    uint64_t id = 99;
    CHECK_EQ(vq_h3_request(r->e->h3, &r->n.cx, req, 4, 0, &id), VQ_OK);
    uint8_t b[4096];
    size_t l = headers_frame(r, id, cases[i], 2, b, sizeof b);
    CHECK_EQ(feed(r, id, b, l, 1), VQ_OK);
    CHECK_EQ(r->e->closed, 0);
    CHECK_EQ(r->e->last_stop_id, id);
    CHECK_EQ(r->e->last_stop_code, VQ_H3_MESSAGE_ERROR);
    app_req *a = areq(r->e, id);
    CHECK_EQ(a->status, 0);
    CHECK_EQ(a->reset, 1);
    CHECK_EQ(a->ended, 0);
    CHECK_EQ(raw_free(r), 0);
  }
}

/* ---- cookies (RFC 9114 §4.2.1) --------------------------------------------------------------------- */

/* spec: rfc9114#4.2.1/2 — cookie field lines received separately reach the application as one,
 * joined with "; ", in the place of the first (also when the joined value does not fit in the
 * session's section buffer and takes memory of its own, returned after delivery). */
VQ_TEST(h3conn_cookie_lines_joined)
{
  const vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/"),
                           F("cookie", "a=1"), F("x-test", "v"), F("cookie", "b=2"), F("cookie", "c=3")};
  raw *r = raw_new(1, NULL);
  uint8_t b[4096];
  size_t l = headers_frame(r, 0, f, 8, b, sizeof b);
  CHECK_EQ(feed(r, 0, b, l, 1), VQ_OK);
  app_req *a = areq(r->e, 0);
  CHECK(strcmp(a->path, "/") == 0);
  CHECK_EQ(a->ncookie, 1);
  CHECK(strcmp(a->cookie, "a=1; b=2; c=3") == 0);
  CHECK_EQ(a->nfields, 2);
  CHECK(strcmp(a->hdr_x, "v") == 0);
  CHECK_EQ(raw_free(r), 0);
  /* large cookies in a small section buffer */
  vq_h3_config sc;
  vq_h3_config_default(&sc, 1);
  sc.max_field_section_size = 700;
  char big1[201], big2[201];
  memset(big1, 'x', 200);
  memset(big2, 'y', 200);
  big1[0] = 'p', big1[1] = '=';
  big2[0] = 'q', big2[1] = '=';
  const vq_h3_field g[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/"),
                           {(const uint8_t *)"cookie", 6, (const uint8_t *)big1, 200, 0},
                           {(const uint8_t *)"cookie", 6, (const uint8_t *)big2, 200, 0}};
  r = raw_new(1, &sc);
  l = headers_frame(r, 0, g, 6, b, sizeof b);
  CHECK_EQ(feed(r, 0, b, l, 1), VQ_OK);
  a = areq(r->e, 0);
  CHECK_EQ(a->ncookie, 1);
  CHECK_EQ(strlen(a->cookie), 402);
  CHECK(memcmp(a->cookie, big1, 200) == 0 && memcmp(a->cookie + 200, "; ", 2) == 0 &&
        memcmp(a->cookie + 202, big2, 200) == 0);
  CHECK_EQ(raw_free(r), 0);
}

/* spec: rfc9114#4.2.1/1 — a cookie field sent is split into one line per cookie-pair, so the QPACK
 * encoder indexes each pair: a second request changing one pair inserts one entry, not a whole new
 * cookie; the receiver joins them back (rfc9114#4.2.1/2). */
VQ_TEST(h3conn_cookie_split_on_send)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "example.com"),
                     F(":path", "/hold/1"), F("cookie", "session=0123456789abcdef; theme=dark; lang=en")};
  uint64_t id1, id2;
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, f, 5, 0, &id1), VQ_OK);
  pump(n);
  app_req *s1 = areq(&n->e[1], id1);
  CHECK_EQ(s1->ncookie, 1);
  CHECK(strcmp(s1->cookie, "session=0123456789abcdef; theme=dark; lang=en") == 0);
  vq_h3_stats st;
  vq_h3_get_stats(n->e[0].h3, &st);
  const uint64_t ins = st.qpack_inserts_tx;
  CHECK(ins >= 4); /* :authority and the three pairs */
  const size_t enc0 = fs_get(&n->e[0], 6)->len; /* the client's QPACK encoder stream */
  f[3] = (vq_h3_field)F(":path", "/hold/2");
  f[4] = (vq_h3_field)F("cookie", "session=0123456789abcdef; theme=light; lang=en");
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, f, 5, 0, &id2), VQ_OK);
  pump(n);
  CHECK(strcmp(areq(&n->e[1], id2)->cookie, "session=0123456789abcdef; theme=light; lang=en") == 0);
  vq_h3_get_stats(n->e[0].h3, &st);
  /* theme=light only (perhaps with a Duplicate of an old entry): far less than the whole cookie */
  CHECK(st.qpack_inserts_tx >= ins + 1 && st.qpack_inserts_tx <= ins + 2);
  CHECK(fs_get(&n->e[0], 6)->len - enc0 < 20);
  /* an empty pair and a trailing delimiter survive the round trip */
  f[3] = (vq_h3_field)F(":path", "/hold/3");
  f[4] = (vq_h3_field)F("cookie", "a=1; ; b=2; ");
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, f, 5, 0, &id2), VQ_OK);
  pump(n);
  CHECK(strcmp(areq(&n->e[1], id2)->cookie, "a=1; ; b=2; ") == 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* ---- body copies ----------------------------------------------------------------------------------- */

/* vq_h3_send_body hands the body to the transport straight from the caller's buffer when nothing is
 * queued before it: with a transport that takes everything, no body byte is copied by the session;
 * with a small window only what the transport refused is queued (and the bytes still arrive in
 * order). */
VQ_TEST(h3conn_body_copies_counted)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  uint64_t id;
  CHECK_EQ(get(n, "/big/100000", &id), VQ_OK);
  pump(n);
  vq_h3_stats st;
  vq_h3_get_stats(n->e[1].h3, &st);
  CHECK_EQ(st.body_direct, 100000);
  CHECK_EQ(st.body_queued, 0);
  app_req *c = areq(&n->e[0], id);
  CHECK_EQ(c->blen, 100000);
  CHECK_EQ(c->ended, 1);
  /* the client's request body too */
  vq_h3_field pf[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/up")};
  size_t acc = 0;
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, pf, 4, 1, &id), VQ_OK);
  CHECK_EQ(vq_h3_send_body(n->e[0].h3, &n->cx, id, (const uint8_t *)"0123456789", 10, 1, &acc), VQ_OK);
  CHECK_EQ(acc, 10);
  pump(n);
  vq_h3_get_stats(n->e[0].h3, &st);
  CHECK_EQ(st.body_direct, 10);
  CHECK_EQ(st.body_queued, 0);
  CHECK_MEM(areq(&n->e[0], id)->body, areq(&n->e[0], id)->blen, "0123456789", 10);
  CHECK_EQ(net_free(n), 0);
  free(n);
  n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  n->window = 1000;
  CHECK_EQ(get(n, "/big/300000", &id), VQ_OK);
  pump(n);
  vq_h3_get_stats(n->e[1].h3, &st);
  CHECK_EQ(st.body_direct + st.body_queued, 300000);
  CHECK(st.body_queued > 0);
  CHECK(st.body_direct > 0);
  c = areq(&n->e[0], id);
  int same = c->blen == 300000;
  for (size_t i = 0; same && i < c->blen; i++) same = c->body[i] == pattern(i);
  CHECK(same);
  CHECK_EQ(c->ended, 1);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* spec: rfc9114#4.2/1, rfc9114#4.3/1, rfc9114#4.3/5, rfc9114#4.2/3 — what the application asks to send
 * passes the same checks: an uppercase field name (never put on the wire: refused, not converted), a
 * pseudo-header field not defined here, one after a regular field, a connection-specific field; in a
 * request, a response and a trailer section. Nothing is written. */
VQ_TEST(h3conn_send_refuses_malformed)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  vq_h3 *c = n->e[0].h3, *sv = n->e[1].h3;
  const vq_h3_field up[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/"),
                            F("Accept", "*/*")};
  const vq_h3_field foo[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/"),
                             F(":foo", "x")};
  const vq_h3_field late[] = {F(":method", "GET"), F(":scheme", "https"), F("accept", "*/*"),
                              F(":authority", "a"), F(":path", "/")};
  const vq_h3_field ka[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/"),
                            F("keep-alive", "1")};
  uint64_t id = 99;
  CHECK_EQ(vq_h3_request(c, &n->cx, up, 5, 0, &id), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_request(c, &n->cx, foo, 5, 0, &id), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_request(c, &n->cx, late, 5, 0, &id), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_request(c, &n->cx, ka, 5, 0, &id), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(id, 99);
  CHECK_EQ(n->e[0].next_bidi, 0);
  const vq_h3_field hold[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/hold")};
  CHECK_EQ(vq_h3_request(c, &n->cx, hold, 4, 1, &id), VQ_OK);
  pump(n);
  const vq_h3_field rup[] = {F("Server", "x")};
  const vq_h3_field rps[] = {F(":path", "/")};
  const vq_h3_field rup2[] = {F("upgrade", "h2c")};
  CHECK_EQ(vq_h3_respond(sv, &n->cx, id, 200, rup, 1, 1), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_respond(sv, &n->cx, id, 200, rps, 1, 1), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_respond(sv, &n->cx, id, 200, rup2, 1, 1), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_send_trailers(c, &n->cx, id, rup, 1), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_send_trailers(c, &n->cx, id, rps, 1), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_respond(sv, &n->cx, id, 200, NULL, 0, 0), VQ_OK);
  pump(n);
  CHECK_EQ(areq(&n->e[0], id)->status, 200);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* ---- 0-RTT under remembered settings (RFC 9114 §7.2.4.2) ----------------------------------------- */

/* spec: rfc9114#7.2.4.2/6, rfc9204#3.2.3/1 — a 0-RTT client with the server's settings remembered
 * sends before the server's SETTINGS arrive under those: its encoder uses the remembered dynamic
 * table capacity (inserts go before any SETTINGS came), and the remembered MAX_FIELD_SECTION_SIZE
 * bounds its requests; the server's SETTINGS, the same, are accepted and the requests answered. */
VQ_TEST(h3conn_zrtt_remembered_settings_used)
{
  vq_h3_config sc;
  vq_h3_config_default(&sc, 1);
  sc.max_field_section_size = 300;
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, &sc);
  vq_h3_settings rem;
  vq_h3_local_settings(&sc, &rem);
  CHECK_EQ(rem.qpack_max_table_capacity, 4096);
  /* on a server, or after the start: refused */
  CHECK_EQ(vq_h3_remember_settings(n->e[1].h3, &n->cx, &rem), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_h3_remember_settings(n->e[0].h3, &n->cx, &rem), VQ_OK);
  vq_h3_start(n->e[0].h3, &n->cx);
  CHECK_EQ(vq_h3_remember_settings(n->e[0].h3, &n->cx, &rem), VQ_ERR_INVALID_ARGUMENT);
  char big[400];
  memset(big, 'a', sizeof big);
  vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "a"), F(":path", "/"),
                     {(const uint8_t *)"x-big", 5, (const uint8_t *)big, sizeof big, 0}};
  uint64_t id, ids[3];
  CHECK_EQ(vq_h3_request(n->e[0].h3, &n->cx, f, 5, 0, &id), VQ_ERR_H3_FIELD_SECTION_TOO_LARGE);
  for (int i = 0; i < 3; i++) CHECK_EQ(get(n, "/zrtt", &ids[i]), VQ_OK);
  vq_h3_stats cs;
  vq_h3_get_stats(n->e[0].h3, &cs);
  CHECK_EQ(cs.peer_settings, 0);
  CHECK(cs.qpack_inserts_tx > 0);
  CHECK_EQ(cs.remembered_settings, 1);
  vq_h3_start(n->e[1].h3, &n->cx);
  pump(n);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(areq(&n->e[0], ids[i])->status, 200);
    CHECK(strcmp(areq(&n->e[1], ids[i])->hdr_x, "client-hello") == 0);
  }
  vq_h3_stats ss;
  vq_h3_get_stats(n->e[0].h3, &cs);
  vq_h3_get_stats(n->e[1].h3, &ss);
  CHECK_EQ(cs.peer_settings, 1);
  CHECK_EQ(cs.closed, 0);
  CHECK_EQ(ss.qpack_inserts_rx, cs.qpack_inserts_tx);
  CHECK_EQ(cs.qpack_known_received, cs.qpack_inserts_tx);
  CHECK_EQ(n->e[0].conn_errors + n->e[1].conn_errors, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* spec: rfc9114#7.2.4.2/12, rfc9114#7.2.4.2/13, rfc9204#3.2.3/3 — the server's SETTINGS after 0-RTT sent
 * under remembered ones: a reduced limit, another non-zero table capacity, an omitted capacity or
 * extended CONNECT remembered as enabled are H3_SETTINGS_ERROR; larger limits, and a table where 0
 * was remembered (rfc9204#3.2.3/2), are accepted. */
VQ_TEST(h3conn_zrtt_settings_reduction_is_error)
{
  enum { N = 8 };
  for (int k = 0; k < N; k++) {
    vq_h3_config sc;
    vq_h3_config_default(&sc, 1);
    sc.enable_connect_protocol = 1;
    vq_h3_settings rem;
    vq_h3_local_settings(&sc, &rem);
    int bad = 1;
    switch (k) {
    case 0: sc.max_field_section_size = 16383; break;
    case 1: sc.qpack_max_table_capacity = 2048; break;
    case 2: sc.qpack_max_table_capacity = 8192; break;       /* not the same non-zero value */
    case 3: sc.qpack_max_table_capacity = 0; break;          /* omitted */
    case 4: sc.qpack_blocked_streams = 15; break;
    case 5: sc.enable_connect_protocol = 0; break;           /* omitted */
    case 6: /* everything larger: fine */
      sc.max_field_section_size = 65536;
      sc.qpack_blocked_streams = 100;
      bad = 0;
      break;
    case 7: /* 0 remembered: any capacity may come */
      rem.qpack_max_table_capacity = 0;
      rem.has_qpack_max_table_capacity = 0;
      sc.qpack_max_table_capacity = 8192;
      bad = 0;
      break;
    }
    net *n = calloc(1, sizeof *n);
    net_init(n, NULL, &sc);
    CHECK_EQ(vq_h3_remember_settings(n->e[0].h3, &n->cx, &rem), VQ_OK);
    vq_h3_start(n->e[0].h3, &n->cx);
    uint64_t id;
    CHECK_EQ(get(n, "/zrtt", &id), VQ_OK);
    vq_h3_start(n->e[1].h3, &n->cx);
    pump(n);
    if (bad) {
      CHECK_EQ(n->e[0].closed, 1);
      CHECK_EQ(n->e[0].close_code, VQ_H3_SETTINGS_ERROR);
    } else {
      CHECK_EQ(n->e[0].closed, 0);
      CHECK_EQ(areq(&n->e[0], id)->status, 200);
    }
    CHECK_EQ(net_free(n), 0);
    free(n);
  }
}

/* spec: rfc9114#7.2.4.2/5 — the client's session file (vq_h3q_session_encode/_decode): the session and
 * the server's SETTINGS round-trip; the container is untrusted input: every truncation, a byte more, a
 * wrong magic, bad lengths and settings a SETTINGS frame could not carry are refused. */
VQ_TEST(h3conn_session_file_codec)
{
  uint8_t sess[300], out[VQ_H3Q_SESSION_MAX], b[VQ_H3Q_SESSION_MAX];
  for (size_t i = 0; i < sizeof sess; i++) sess[i] = (uint8_t)(i * 13 + 1);
  vq_h3_config sc;
  vq_h3_config_default(&sc, 1);
  sc.enable_connect_protocol = 1;
  vq_h3_settings s, got;
  vq_h3_local_settings(&sc, &s);
  size_t len = 0, sl = 0;
  const uint8_t *sp = NULL;
  int has = -1;
  CHECK_EQ(vq_h3q_session_encode(sess, sizeof sess, &s, out, 10, &len), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(vq_h3q_session_encode(sess, sizeof sess, &s, out, sizeof out, &len), VQ_OK);
  CHECK_EQ(vq_h3q_session_decode(out, len, &sp, &sl, &got, &has), VQ_OK);
  CHECK(sp == out + 7);
  CHECK_MEM(sp, sl, sess, sizeof sess);
  CHECK_EQ(has, 1);
  CHECK_EQ(got.max_field_section_size, s.max_field_section_size);
  CHECK_EQ(got.qpack_max_table_capacity, 4096);
  CHECK_EQ(got.qpack_blocked_streams, 16);
  CHECK_EQ(got.enable_connect_protocol, 1);
  CHECK_EQ(got.has_h3_datagram, 0);
  for (size_t k = 0; k < len; k++)
    CHECK_EQ(vq_h3q_session_decode(out, k, &sp, &sl, &got, &has), VQ_ERR_TLS_SESSION_INVALID);
  memcpy(b, out, len);
  b[len] = 0;
  CHECK_EQ(vq_h3q_session_decode(b, len + 1, &sp, &sl, &got, &has), VQ_ERR_TLS_SESSION_INVALID);
  b[0] = 'X';
  CHECK_EQ(vq_h3q_session_decode(b, len, &sp, &sl, &got, &has), VQ_ERR_TLS_SESSION_INVALID);
  memcpy(b, out, len);
  b[5] = 0xff; /* session length beyond the data */
  CHECK_EQ(vq_h3q_session_decode(b, len, &sp, &sl, &got, &has), VQ_ERR_TLS_SESSION_INVALID);
  memcpy(b, out, len);
  b[7 + sizeof sess + 2] = 0x02; /* HTTP/2 ENABLE_PUSH: H3_SETTINGS_ERROR as a frame, refused here */
  CHECK_EQ(vq_h3q_session_decode(b, len, &sp, &sl, &got, &has), VQ_ERR_TLS_SESSION_INVALID);
  CHECK(sp == NULL);
  CHECK_EQ(has, 0);
  /* without settings */
  CHECK_EQ(vq_h3q_session_encode(sess, sizeof sess, NULL, out, sizeof out, &len), VQ_OK);
  CHECK_EQ(len, 7 + sizeof sess + 2);
  CHECK_EQ(vq_h3q_session_decode(out, len, &sp, &sl, &got, &has), VQ_OK);
  CHECK_EQ(has, 0);
  CHECK_EQ(sl, sizeof sess);
  CHECK_EQ(got.qpack_max_table_capacity, 0);
  /* settings of reserved or unknown identifiers only hold nothing to remember: read as no settings,
   * so encoding what was read and reading it again gives the same (found by fuzz_h3session: the
   * file read as "settings, all defaults" and wrote back as "no settings") */
  {
    size_t o = 7 + sizeof sess;
    memcpy(b, out, o);
    const uint8_t grease[] = {0x1f, 0x00, 0x21, 0x05}; /* identifiers 0x1f and 0x21: reserved */
    b[o] = 0;
    b[o + 1] = sizeof grease;
    memcpy(b + o + 2, grease, sizeof grease);
    size_t bl = o + 2 + sizeof grease, l2 = 0;
    CHECK_EQ(vq_h3q_session_decode(b, bl, &sp, &sl, &got, &has), VQ_OK);
    CHECK_EQ(has, 0);
    CHECK_EQ(vq_h3q_session_encode(sp, sl, has ? &got : NULL, out, sizeof out, &l2), VQ_OK);
    CHECK_EQ(vq_h3q_session_decode(out, l2, &sp, &sl, &got, &has), VQ_OK);
    CHECK_EQ(has, 0);
    CHECK_EQ(sl, sizeof sess);
  }
  /* an empty session is no session */
  CHECK_EQ(vq_h3q_session_encode(sess, 0, NULL, out, sizeof out, &len), VQ_ERR_INVALID_ARGUMENT);
  out[5] = out[6] = 0;
  CHECK_EQ(vq_h3q_session_decode(out, 9, &sp, &sl, &got, &has), VQ_ERR_TLS_SESSION_INVALID);
  /* the server's early_app is its SETTINGS payload, the same bytes a client stores */
  uint8_t ea[VQ_H3Q_SETTINGS_MAX];
  size_t eal = 0;
  CHECK_EQ(vq_h3q_early_app(&sc, ea, sizeof ea, &eal), VQ_OK);
  CHECK_EQ(vq_h3q_session_encode(sess, sizeof sess, &s, out, sizeof out, &len), VQ_OK);
  CHECK_MEM(out + 7 + sizeof sess + 2, len - (7 + sizeof sess + 2), ea, eal);
}

/* The session file, version 2 (vq_h3q_session_file_encode/_decode): a NEW_TOKEN token with the server
 * it came from (spec: rfc9000#8.1.3/10 — the client keys a token by its server), with or without a
 * session; version 1 files still read; every truncation and a byte more are refused, and a token
 * without its origin (or an origin without a token) is not a file. */
VQ_TEST(h3conn_session_file_v2_token)
{
  uint8_t sess[40], tok[60], out[VQ_H3Q_SESSION_MAX], b[VQ_H3Q_SESSION_MAX];
  for (size_t i = 0; i < sizeof sess; i++) sess[i] = (uint8_t)(i * 7 + 3);
  for (size_t i = 0; i < sizeof tok; i++) tok[i] = (uint8_t)(i * 5 + 1);
  static const char origin[] = "example.com:4433";
  vq_h3q_session_file f, g;
  memset(&f, 0, sizeof f);
  f.session = sess;
  f.session_len = sizeof sess;
  f.token = tok;
  f.token_len = sizeof tok;
  f.origin = (const uint8_t *)origin;
  f.origin_len = strlen(origin);
  f.token_version = 0x6b3343cfu;
  size_t len = 0;
  CHECK_EQ(vq_h3q_session_file_encode(&f, out, 10, &len), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(vq_h3q_session_file_encode(&f, out, sizeof out, &len), VQ_OK);
  CHECK_EQ(out[4], 3);
  CHECK_EQ(len, 5 + 2 + sizeof sess + 2 + 1 + strlen(origin) + 2 + sizeof tok + 4);
  CHECK_EQ(vq_h3q_session_file_decode(out, len, &g), VQ_OK);
  CHECK_MEM(g.session, g.session_len, sess, sizeof sess);
  CHECK_MEM(g.token, g.token_len, tok, sizeof tok);
  CHECK_MEM(g.origin, g.origin_len, origin, strlen(origin));
  CHECK_EQ(g.has_settings, 0);
  /* spec: rfc9369#5/1 — version 3 keeps the token's QUIC version */
  CHECK_EQ(g.token_version, 0x6b3343cfu);
  /* the version 1 reader takes the session of a version 2 file */
  const uint8_t *sp = NULL;
  size_t sl = 0;
  vq_h3_settings s;
  int has = -1;
  CHECK_EQ(vq_h3q_session_decode(out, len, &sp, &sl, &s, &has), VQ_OK);
  CHECK_MEM(sp, sl, sess, sizeof sess);
  for (size_t k = 0; k < len; k++)
    CHECK_EQ(vq_h3q_session_file_decode(out, k, &g), VQ_ERR_TLS_SESSION_INVALID);
  memcpy(b, out, len);
  b[len] = 0;
  CHECK_EQ(vq_h3q_session_file_decode(b, len + 1, &g), VQ_ERR_TLS_SESSION_INVALID);
  CHECK(g.token == NULL && g.session == NULL);
  b[4] = 4;
  CHECK_EQ(vq_h3q_session_file_decode(b, len, &g), VQ_ERR_TLS_SESSION_INVALID);
  /* a version 2 file (no token version) still reads, the version unknown */
  b[4] = 2;
  CHECK_EQ(vq_h3q_session_file_decode(b, len - 4, &g), VQ_OK);
  CHECK_EQ(g.token_version, 0);
  CHECK_MEM(g.token, g.token_len, tok, sizeof tok);
  /* a token alone (no session: a server without tickets) */
  f.session = NULL;
  f.session_len = 0;
  CHECK_EQ(vq_h3q_session_file_encode(&f, out, sizeof out, &len), VQ_OK);
  CHECK_EQ(vq_h3q_session_file_decode(out, len, &g), VQ_OK);
  CHECK(g.session == NULL);
  CHECK_MEM(g.token, g.token_len, tok, sizeof tok);
  CHECK_EQ(vq_h3q_session_decode(out, len, &sp, &sl, &s, &has), VQ_ERR_TLS_SESSION_INVALID);
  /* an origin without a token, a token without an origin: refused both ways */
  size_t o = 5 + 2 + 2; /* the origin length byte */
  memcpy(b, out, len);
  b[o] = 0;
  memmove(b + o + 1, b + o + 1 + strlen(origin), len - (o + 1 + strlen(origin)));
  CHECK_EQ(vq_h3q_session_file_decode(b, len - strlen(origin), &g), VQ_ERR_TLS_SESSION_INVALID);
  f.origin_len = 0;
  CHECK_EQ(vq_h3q_session_file_encode(&f, out, sizeof out, &len), VQ_ERR_INVALID_ARGUMENT);
  f.origin_len = strlen(origin);
  f.token_len = VQ_H3Q_TOKEN_MAX + 1;
  CHECK_EQ(vq_h3q_session_file_encode(&f, out, sizeof out, &len), VQ_ERR_INVALID_ARGUMENT);
  /* a version 1 file reads as one without a token */
  CHECK_EQ(vq_h3q_session_encode(sess, sizeof sess, NULL, out, sizeof out, &len), VQ_OK);
  CHECK_EQ(out[4], 1);
  CHECK_EQ(vq_h3q_session_file_decode(out, len, &g), VQ_OK);
  CHECK_MEM(g.session, g.session_len, sess, sizeof sess);
  CHECK(g.token == NULL && g.origin == NULL);
}

/* ---- early data (RFC 8470) ------------------------------------------------------------------------ */

/* A POST of body (content-length given) as the client session's request. */
static vq_status post(net *n, const char *path, const char *body, int early_data_field, uint64_t *id)
{
  char cl[24];
  snprintf(cl, sizeof cl, "%zu", strlen(body));
  vq_h3_field f[] = {F(":method", "POST"), F(":scheme", "https"), F(":authority", "example.com"),
                     {(const uint8_t *)":path", 5, (const uint8_t *)path, strlen(path), 0},
                     {(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl), 0},
                     F("early-data", "1")};
  vq_status st = vq_h3_request(n->e[0].h3, &n->cx, f, early_data_field ? 6 : 5, 1, id);
  size_t acc = 0;
  if (st == VQ_OK) st = vq_h3_send_body(n->e[0].h3, &n->cx, *id, (const uint8_t *)body, strlen(body), 1, &acc);
  return st;
}

/* spec: rfc9114#10.9/1 — RFC 8470 with both sessions in 0-RTT (the transport says "early"): the
 * server answers the POST 425 (Too Early) itself (§5.2; its application never sees it) and the GET
 * (safe, RFC 9110 §9.2.1) goes to the application marked early; the client keeps the 425 to itself
 * while the handshake lasts (retries MUST NOT be sent in early data) and sends the POST again, body
 * included, once it completed (vq_h3_on_handshake_done): the echo comes back under the new ID. A
 * request made after the handshake is not early and is never answered 425. spec: rfc9114#4.1/14,
 * rfc9114#4.1/15 — the server stops reading the refused request with H3_NO_ERROR. */
VQ_TEST(h3conn_early_unsafe_425_then_retried)
{
  vq_h3_config cc;
  vq_h3_config_default(&cc, 0);
  cc.early_unsafe = 1; /* this client is told its POST is fine in 0-RTT: the server decides */
  net *n = calloc(1, sizeof *n);
  net_init(n, &cc, NULL);
  n->early = 1;
  start(n);
  uint64_t pid = 0, gid = 0;
  CHECK_EQ(post(n, "/upload", "early body", 0, &pid), VQ_OK);
  CHECK_EQ(get(n, "/index.html", &gid), VQ_OK);
  pump(n);
  ep *c = &n->e[0], *s = &n->e[1];
  /* the GET: delivered, early */
  CHECK_EQ(areq(s, gid)->early, 1);
  CHECK_EQ(areq(c, gid)->status, 200);
  /* the POST: never seen by the server's application; no answer seen by the client's yet */
  for (size_t i = 0; i < NS; i++) CHECK(!(s->reqs[i].used && s->reqs[i].id == pid));
  CHECK_EQ(areq(c, pid)->status, 0);
  CHECK_EQ(c->retries, 0);
  CHECK_EQ(s->last_stop_id, pid);
  CHECK_EQ(s->last_stop_code, VQ_H3_NO_ERROR);
  vq_h3_stats cs, ss;
  vq_h3_get_stats(s->h3, &ss);
  CHECK_EQ(ss.early_requests, 2);
  CHECK_EQ(ss.early_rejected, 1);
  /* the handshake completes: the POST goes again, once */
  n->early = 0;
  CHECK_EQ(vq_h3_on_handshake_done(c->h3, &n->cx), VQ_OK);
  CHECK_EQ(c->retries, 1);
  CHECK_EQ(c->retry_old, pid);
  CHECK(c->retry_new != pid);
  pump(n);
  app_req *r = areq(c, c->retry_new);
  CHECK_EQ(r->status, 200);
  CHECK_MEM(r->body, r->blen, "early body", 10);
  CHECK_EQ(r->ended, 1);
  CHECK_EQ(areq(s, c->retry_new)->early, 0);
  CHECK_EQ(areq(c, pid)->status, 0); /* the old ID never saw the 425 */
  CHECK_EQ(areq(c, pid)->closed, 0);
  /* after the handshake: a POST is not early, no 425 */
  uint64_t p2 = 0;
  CHECK_EQ(post(n, "/later", "late", 0, &p2), VQ_OK);
  pump(n);
  CHECK_EQ(areq(c, p2)->status, 200);
  CHECK_EQ(areq(s, p2)->early, 0);
  vq_h3_get_stats(c->h3, &cs);
  vq_h3_get_stats(s->h3, &ss);
  CHECK_EQ(cs.early_requests, 2);
  CHECK_EQ(cs.early_retried, 1);
  CHECK_EQ(ss.early_rejected, 1);
  CHECK_EQ(cs.active_requests + ss.active_requests, 0);
  CHECK_EQ(c->conn_errors + s->conn_errors, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* spec: rfc9114#10.9/1 — RFC 8470 §5.2: the 425 arrives after the handshake completed (as over a
 * real connection: the server answers only then): the request goes again at once. §5.1: Early-Data
 * on a request makes it early whatever the handshake (it was early on an earlier hop): the retried
 * request still carries it and gets a second 425, which the client hands to its application: one
 * retry at most. */
VQ_TEST(h3conn_early_retry_once_and_early_data_field)
{
  vq_h3_config cc;
  vq_h3_config_default(&cc, 0);
  cc.early_unsafe = 1;
  net *n = calloc(1, sizeof *n);
  net_init(n, &cc, NULL);
  n->early = 1;
  start(n);
  ep *c = &n->e[0], *s = &n->e[1];
  uint64_t pid = 0;
  CHECK_EQ(post(n, "/upload", "abc", 1, &pid), VQ_OK);
  n->early = 0; /* the request went early; the handshake completes before the answer is read */
  pump(n);
  CHECK_EQ(c->retries, 1);
  CHECK_EQ(c->retry_old, pid);
  CHECK_EQ(areq(c, pid)->status, 0);
  CHECK_EQ(areq(c, c->retry_new)->status, 425); /* Early-Data: 1 again: refused again, handed over */
  CHECK_EQ(areq(c, c->retry_new)->ended, 1);
  vq_h3_stats ss;
  vq_h3_get_stats(s->h3, &ss);
  CHECK_EQ(ss.early_rejected, 2);
  /* a safe request with Early-Data goes to the application, marked early */
  vq_h3_field f[] = {F(":method", "GET"), F(":scheme", "https"), F(":authority", "example.com"),
                     F(":path", "/x"), F("early-data", "0"), F("early-data", "1")};
  uint64_t gid = 0;
  CHECK_EQ(vq_h3_request(c->h3, &n->cx, f, 6, 0, &gid), VQ_OK);
  pump(n);
  CHECK_EQ(areq(s, gid)->early, 1);
  CHECK_EQ(areq(c, gid)->status, 200);
  CHECK_EQ(net_free(n), 0);
  free(n);
}

/* spec: rfc9114#10.9/1 — RFC 8470 §4: by default a client session sends no unsafe request in 0-RTT
 * (refused until the handshake completes), safe ones it does. The server's policy: REJECT_ALL answers
 * a GET in early data 425 too; ACCEPT hands a POST over, marked early. A request sent early whose copy
 * would exceed early_retry_max is not retried: its 425 reaches the application. */
VQ_TEST(h3conn_early_policies)
{
  for (int k = 0; k < 4; k++) {
    vq_h3_config cc, sc;
    vq_h3_config_default(&cc, 0);
    vq_h3_config_default(&sc, 1);
    if (k > 0) cc.early_unsafe = 1;
    if (k == 1) sc.early_policy = VQ_H3_EARLY_REJECT_ALL;
    if (k == 2) sc.early_policy = VQ_H3_EARLY_ACCEPT;
    if (k == 3) cc.early_retry_max = 64;
    net *n = calloc(1, sizeof *n);
    net_init(n, &cc, &sc);
    n->early = 1;
    start(n);
    ep *c = &n->e[0], *s = &n->e[1];
    uint64_t pid = 0, gid = 0;
    if (k == 0) {
      CHECK_EQ(post(n, "/upload", "abc", 0, &pid), VQ_ERR_STREAM_STATE);
      vq_h3_stats cs;
      vq_h3_get_stats(c->h3, &cs);
      CHECK_EQ(cs.active_requests, 0);
      CHECK_EQ(get(n, "/g", &gid), VQ_OK);
      pump(n);
      CHECK_EQ(areq(c, gid)->status, 200);
      n->early = 0;
      CHECK_EQ(post(n, "/upload", "abc", 0, &pid), VQ_OK);
      pump(n);
      CHECK_EQ(areq(c, pid)->status, 200);
    } else if (k == 1) {
      CHECK_EQ(get(n, "/g", &gid), VQ_OK);
      pump(n);
      n->early = 0;
      CHECK_EQ(vq_h3_on_handshake_done(c->h3, &n->cx), VQ_OK);
      pump(n);
      CHECK_EQ(c->retries, 1);
      CHECK_EQ(areq(c, c->retry_new)->status, 200);
    } else if (k == 2) {
      CHECK_EQ(post(n, "/upload", "abc", 0, &pid), VQ_OK);
      pump(n);
      CHECK_EQ(areq(s, pid)->early, 1);
      CHECK_EQ(areq(c, pid)->status, 200);
      CHECK_EQ(c->retries, 0);
    } else {
      char body[100];
      memset(body, 'b', sizeof body - 1);
      body[sizeof body - 1] = 0;
      CHECK_EQ(post(n, "/upload", body, 0, &pid), VQ_OK);
      pump(n);
      CHECK_EQ(areq(c, pid)->status, 425);
      CHECK_EQ(c->retries, 0);
    }
    CHECK_EQ(c->conn_errors + s->conn_errors, 0);
    CHECK_EQ(net_free(n), 0);
    free(n);
  }
}

/* vq_h3_request_to: the pseudo-header fields from a target URI. spec: rfc9114#4.3.1/10 — a scheme
 * other than http/https without an authority in the target (none, or an empty one) is sent with
 * neither :authority nor Host, and a Host field given for it is refused; with an authority it is
 * sent. spec: rfc9114#4.3.1/5 — http/https without a path get "/"; rfc9114#4.3.1/7 — and need an
 * authority. The fragment is not sent; pseudo-header fields among the regular ones are refused. */
VQ_TEST(h3conn_request_to_authority)
{
  net *n = calloc(1, sizeof *n);
  net_init(n, NULL, NULL);
  start(n);
  ep *c = &n->e[0], *s = &n->e[1];
  static const struct {
    const char *uri;
    const char *scheme, *authority, *path; /* authority NULL: none sent */
  } ok[] = {{"https://example.com", "https", "example.com", "/"},
            {"HTTPS://example.com?x=1#frag", "https", "example.com", "/?x=1"},
            {"http://a.example:8080/p/q", "http", "a.example:8080", "/p/q"},
            {"foo:bar/baz", "foo", NULL, "bar/baz"},
            {"urn:isbn:0451450523", "urn", NULL, "isbn:0451450523"},
            {"foo:///only/path?q#f", "foo", NULL, "/only/path?q"},
            {"foo://h.example/p", "foo", "h.example", "/p"}};
  vq_h3_field ua[] = {F("user-agent", "t")};
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    uint64_t id = 0;
    CHECK_EQ(vq_h3_request_to(c->h3, &n->cx, "GET", (const uint8_t *)ok[k].uri, strlen(ok[k].uri), ua, 1, 0, &id),
             VQ_OK);
    pump(n);
    app_req *r = areq(s, id);
    CHECK(strcmp(r->scheme, ok[k].scheme) == 0);
    CHECK_EQ(r->has_authority, ok[k].authority != NULL);
    if (ok[k].authority) CHECK(strcmp(r->authority, ok[k].authority) == 0);
    CHECK(strcmp(r->path, ok[k].path) == 0);
    CHECK_EQ(r->nhost, 0);
    CHECK_EQ(areq(c, id)->status, 200);
  }
  /* Host: refused without an authority, accepted (and equal) with one */
  vq_h3_field host[] = {F("host", "h.example")};
  uint64_t id = 0;
  CHECK_EQ(vq_h3_request_to(c->h3, &n->cx, "GET", (const uint8_t *)"foo:bar", 7, host, 1, 0, &id), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_request_to(c->h3, &n->cx, "GET", (const uint8_t *)"foo:///bar", 10, host, 1, 0, &id), VQ_ERR_H3_MESSAGE);
  CHECK_EQ(vq_h3_request_to(c->h3, &n->cx, "GET", (const uint8_t *)"foo://h.example/", 16, host, 1, 0, &id), VQ_OK);
  pump(n);
  CHECK_EQ(areq(s, id)->nhost, 1);
  CHECK(strcmp(areq(s, id)->authority, "h.example") == 0);
  /* not a target URI this builder sends */
  static const char *const bad[] = {"https:/no-authority", "https:///x", "1abc:x", "no-colon", ":x", "ht tp://a/"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    CHECK_EQ(vq_h3_request_to(c->h3, &n->cx, "GET", (const uint8_t *)bad[k], strlen(bad[k]), NULL, 0, 0, &id),
             VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_h3_request_to(c->h3, &n->cx, "CONNECT", (const uint8_t *)"https://a/", 10, NULL, 0, 1, &id),
           VQ_ERR_INVALID_ARGUMENT);
  vq_h3_field pseudo[] = {F(":authority", "sneaky")};
  CHECK_EQ(vq_h3_request_to(c->h3, &n->cx, "GET", (const uint8_t *)"foo:bar", 7, pseudo, 1, 0, &id), VQ_ERR_H3_MESSAGE);
  vq_h3_stats cs;
  vq_h3_get_stats(c->h3, &cs);
  CHECK_EQ(cs.active_requests, 0);
  CHECK_EQ(c->conn_errors + s->conn_errors, 0);
  CHECK_EQ(net_free(n), 0);
  free(n);
}
