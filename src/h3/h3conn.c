/* vquic — the HTTP/3 session (RFC 9114): life cycle, the send side and the application API.
 * The read side is in h3conn_rx.c. See include/vquic/h3conn.h. */
#include "h3/h3conn_internal.h"

#include <string.h>

#include "vquic/varint.h"

/* ---- byte queues --------------------------------------------------------------------------------- */

vq_status h3_qbuf_reserve(vq_mem *m, h3_qbuf *q, size_t extra)
{
  if (extra > SIZE_MAX / 2 - q->len) return VQ_ERR_NOMEM;
  const size_t need = q->len + extra;
  if (q->head + need <= q->cap) return VQ_OK;
  if (need <= q->cap) { /* room once the consumed bytes go */
    memmove(q->p, q->p + q->head, q->len);
    q->head = 0;
    return VQ_OK;
  }
  size_t ncap = q->cap ? q->cap * 2 : 256;
  while (ncap < need) ncap *= 2;
  uint8_t *np = vq_mem_alloc(m, ncap);
  if (!np) return VQ_ERR_NOMEM;
  if (q->len) memcpy(np, q->p + q->head, q->len);
  vq_mem_free(m, q->p, q->cap);
  q->p = np;
  q->cap = ncap;
  q->head = 0;
  return VQ_OK;
}

vq_status h3_qbuf_append(vq_mem *m, h3_qbuf *q, const uint8_t *d, size_t n)
{
  if (n == 0) return VQ_OK;
  vq_status st = h3_qbuf_reserve(m, q, n);
  if (st != VQ_OK) return st;
  memcpy(q->p + q->head + q->len, d, n);
  q->len += n;
  return VQ_OK;
}

void h3_qbuf_consume(h3_qbuf *q, size_t n)
{
  if (n > q->len) n = q->len;
  q->head += n;
  q->len -= n;
  if (q->len == 0) q->head = 0;
}

void h3_qbuf_free(vq_mem *m, h3_qbuf *q)
{
  vq_mem_free(m, q->p, q->cap);
  memset(q, 0, sizeof *q);
}

/* ---- streams ------------------------------------------------------------------------------------- */

h3_stream *h3_find(const vq_h3 *h3, uint64_t id)
{
  for (h3_stream *s = h3->streams; s; s = s->next)
    if (s->opened && s->id == id) return s;
  return NULL;
}

h3_stream *h3_stream_new(vq_h3 *h3, uint64_t id, h3_kind kind)
{
  h3_stream *s = vq_mem_calloc(h3->mem, 1, sizeof *s);
  if (!s) return NULL;
  s->id = id;
  s->kind = (uint8_t)kind;
  s->opened = 1;
  s->clen = -1;
  vq_h3_msg_init(&s->msg, !h3->cfg.is_server);
  s->next = h3->streams;
  h3->streams = s;
  if (kind == H3K_REQ) h3->nreq++;
  return s;
}

static void stream_free(vq_h3 *h3, h3_stream *s)
{
  h3_qbuf_free(h3->mem, &s->tx);
  h3_qbuf_free(h3->mem, &s->held);
  h3_qbuf_free(h3->mem, &s->early_fields);
  h3_qbuf_free(h3->mem, &s->early_body);
  if (s->fbuf) vq_mem_free(h3->mem, s->fbuf, (size_t)s->fh.length);
  if (s->kind == H3K_REQ) h3->nreq--;
  vq_mem_free(h3->mem, s, sizeof *s);
}

/* Frees finished and aborted request streams and discarded peer streams; only at the outermost call,
 * so that no callback ever sees its stream vanish under it. */
static void sweep(vq_h3 *h3)
{
  h3->depth++;
  h3_stream **pp = &h3->streams;
  while (*pp) {
    h3_stream *s = *pp;
    int done = 0;
    if (s->kind == H3K_REQ) done = (s->dead || (s->rx_done && s->tx_done)) && !s->retry_pending;
    else if (s->kind == H3K_IGNORED || s->kind == H3K_UNI_PENDING) done = s->dead;
    if (!done) {
      pp = &s->next;
      continue;
    }
    *pp = s->next;
    if (s->kind == H3K_REQ && s->app_known && h3->cb.on_stream_close)
      h3->cb.on_stream_close(h3->cb.ud, h3, s->id, s->ud);
    stream_free(h3, s);
  }
  h3->depth--;
}

static vq_status enter(vq_h3 *h3, const vq_cx *cx)
{
  if (!h3) return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK) return st;
  if (h3->depth == 0) h3->cx = cx;
  h3->depth++;
  return VQ_OK;
}

const vq_cx *vq_h3_cx(const vq_h3 *h3) { return h3 ? h3->cx : NULL; }

static vq_status leave(vq_h3 *h3, vq_status st)
{
  h3->depth--;
  if (h3->depth == 0) {
    sweep(h3);
    h3->cx = NULL; /* the caller's cx lives only as long as its call */
  }
  return st;
}

vq_status h3_conn_error(vq_h3 *h3, vq_status st)
{
  if (h3->closed) return st;
  h3->closed = 1;
  h3->close_code = vq_status_app_error(st);
  const char *reason = vq_status_reason(st);
  vq_cx_trace(h3->cx, "h3_conn_error", "code=0x%llx %s", (unsigned long long)h3->close_code, reason);
  h3->tr.close(h3->tr.ud, h3->close_code, reason);
  if (h3->cb.on_conn_error) h3->cb.on_conn_error(h3->cb.ud, h3, h3->close_code, reason);
  return st;
}

void h3_flush(vq_h3 *h3, h3_stream *s)
{
  if (!s->opened || s->tx_done || h3->closed) return;
  if (s->tx.len == 0 && !s->tx_fin) return;
  size_t acc = 0;
  const size_t len = s->tx.len;
  vq_status st = h3->tr.write(h3->tr.ud, s->id, s->tx.p ? s->tx.p + s->tx.head : NULL, len, s->tx_fin, &acc);
  if (st != VQ_OK) {
    /* The stream cannot be written any more (reset by the connection): drop what is queued. */
    s->tx_done = 1;
    h3_qbuf_free(h3->mem, &s->tx);
    return;
  }
  if (acc > len) acc = len;
  h3_qbuf_consume(&s->tx, acc);
  if (acc == len && s->tx_fin) {
    s->tx_done = 1;
    h3_qbuf_free(h3->mem, &s->tx);
  }
}

vq_status h3_uni_send(vq_h3 *h3, h3_stream *s, const uint8_t *d, size_t n)
{
  vq_status st = h3_qbuf_append(h3->mem, &s->tx, d, n);
  if (st != VQ_OK) return h3_conn_error(h3, st);
  h3_flush(h3, s);
  return VQ_OK;
}

void h3_qpack_cancel(vq_h3 *h3, h3_stream *s)
{
  /* spec: rfc9204#4.4.2 — abandoning a stream whose field sections may not all have been processed:
   * Stream Cancellation, so the encoder releases its references (omitted with a zero capacity). */
  vq_qpack_decoder_cancel_stream(&h3->dec, s->id);
  if (h3->cfg.qpack_max_table_capacity > 0 && h3->started) {
    uint8_t b[16];
    size_t u;
    if (vq_qpack_build_stream_cancel(b, sizeof b, s->id, &u) == VQ_OK) (void)h3_uni_send(h3, h3->qdec_tx, b, u);
  }
  h3_qbuf_free(h3->mem, &s->held);
  s->blocked = 0;
  s->fin_held = 0;
}

void h3_stream_abort(vq_h3 *h3, h3_stream *s, uint64_t code, int notify)
{
  if (!s->rx_done) {
    s->rx_done = 1;
    h3->tr.stop_sending(h3->tr.ud, s->id, code);
    h3_qpack_cancel(h3, s);
  }
  if (!s->tx_done) {
    s->tx_done = 1;
    h3->tr.reset_stream(h3->tr.ud, s->id, code);
    h3_qbuf_free(h3->mem, &s->tx);
  }
  s->dead = 1;
  if (notify && s->app_known && h3->cb.on_reset) h3->cb.on_reset(h3->cb.ud, h3, s->id, s->ud, code);
}

/* ---- life cycle ---------------------------------------------------------------------------------- */

void vq_h3_config_default(vq_h3_config *c, int is_server)
{
  memset(c, 0, sizeof *c);
  c->is_server = is_server;
  c->max_field_section_size = 16384;
  c->qpack_max_table_capacity = 4096;
  c->qpack_blocked_streams = 16;
  c->qpack_encoder_capacity = 4096;
  c->qpack_encoder_sections = 64;
  c->max_frame = 65536;
  c->max_streams = 128;
  c->send_buf = 16384;
  c->blocked_input = 65536;
  c->grease = 1;
  c->early_retry_max = 16384;
}

static h3_stream *local_uni(vq_h3 *h3, uint64_t type)
{
  h3_stream *s = vq_mem_calloc(h3->mem, 1, sizeof *s);
  if (!s) return NULL;
  s->kind = H3K_LOCAL_UNI;
  s->rx_done = 1;
  s->next = h3->streams;
  h3->streams = s;
  /* spec: rfc9114#6.2 — a unidirectional stream starts with its type. */
  uint8_t b[8];
  size_t u = 0;
  if (vq_varint_encode(b, sizeof b, type, &u) != VQ_OK || h3_qbuf_append(h3->mem, &s->tx, b, u) != VQ_OK)
    return NULL;
  return s;
}

static vq_status init_encoder(vq_h3 *h3, uint64_t cap, uint64_t peer_cap, uint64_t peer_blocked)
{
  size_t sections = cap > 0 ? h3->cfg.qpack_encoder_sections : 0;
  /* Never NULL storage: vq_qpack_encoder_init does pointer arithmetic on it even when it needs 0. */
  size_t need = vq_qpack_encoder_mem(cap, sections);
  if (need < 16) need = 16;
  void *m = vq_mem_alloc(h3->mem, need);
  if (!m) return VQ_ERR_NOMEM;
  vq_status st = vq_qpack_encoder_init(&h3->enc, m, need, cap, peer_cap, peer_blocked, sections);
  if (st != VQ_OK) {
    vq_mem_free(h3->mem, m, need);
    return st;
  }
  vq_mem_free(h3->mem, h3->enc_mem, h3->enc_mem_len);
  h3->enc_mem = m;
  h3->enc_mem_len = need;
  return VQ_OK;
}

vq_status h3_encoder_full(vq_h3 *h3)
{
  if (!h3->enc_deferred) return VQ_OK;
  vq_status st = init_encoder(h3, h3->enc_cap, h3->enc_peer_cap, h3->enc_peer_blocked);
  if (st == VQ_OK) h3->enc_deferred = 0;
  return st;
}

vq_status h3_decoder_full(vq_h3 *h3)
{
  if (h3->dec_mem || h3->cfg.qpack_max_table_capacity == 0) return VQ_OK;
  /* Until now the decoder had capacity 0 and no blocked-stream slots: it has applied no encoder
   * instruction and decoded only sections with Required Insert Count 0, so it holds no state that the
   * decoder with the advertised limits would not start with (rfc9204#3.2.3: the table starts at 0). */
  size_t len = vq_qpack_decoder_mem(h3->cfg.qpack_max_table_capacity, h3->cfg.qpack_blocked_streams);
  void *m = vq_mem_alloc(h3->mem, len);
  if (!m) return VQ_ERR_NOMEM;
  uint64_t acked = h3->dec.acked_inserts;
  vq_status st = vq_qpack_decoder_init(&h3->dec, m, len, h3->cfg.qpack_max_table_capacity,
                                       h3->cfg.qpack_blocked_streams);
  if (st != VQ_OK) {
    vq_mem_free(h3->mem, m, len);
    return st;
  }
  h3->dec.acked_inserts = acked;
  h3->dec_mem = m;
  h3->dec_mem_len = len;
  return VQ_OK;
}

vq_status vq_h3_create(vq_h3 **out, vq_mem *mem, const vq_h3_config *cfg, const vq_h3_transport *tr,
                       const vq_h3_callbacks *cb)
{
  if (!out || !mem || !cfg || !tr || !tr->open_uni || !tr->open_bidi || !tr->write || !tr->reset_stream ||
      !tr->stop_sending || !tr->close)
    return VQ_ERR_INVALID_ARGUMENT;
  if (cfg->qpack_max_table_capacity > (1u << 30) || cfg->qpack_blocked_streams > 65536u ||
      cfg->max_field_section_size == 0 || cfg->max_field_section_size > (1u << 24) || cfg->max_frame < 64 ||
      cfg->max_streams == 0 || cfg->send_buf < 64 || cfg->qpack_encoder_sections > (1u << 16))
    return VQ_ERR_INVALID_ARGUMENT;
  vq_h3 *h3 = vq_mem_calloc(mem, 1, sizeof *h3);
  if (!h3) return VQ_ERR_NOMEM;
  h3->mem = mem;
  h3->cfg = *cfg;
  h3->tr = *tr;
  if (cb) h3->cb = *cb;
  vq_h3_settings_init(&h3->peer);
  h3->bidi.next = cfg->is_server ? 0 : 1;
  h3->uni.next = cfg->is_server ? 2 : 3;
  h3->bidi.cap = h3->uni.cap = cfg->max_streams + 16;
  /* the lists of skipped peer stream IDs come with the first skipped ID (h3conn_rx.c idtrack_admit) */
  /* Decoded sections: at most max_field_section_size bytes of names and values (§4.2.2), each field
   * counting 32 more, so that many fields at most. */
  h3->out_cap = (size_t)cfg->max_field_section_size;
  h3->max_fields = (size_t)(cfg->max_field_section_size / 32u) + 1;
  /* out_buf / out_fields are allocated by the first header section received (h3conn_rx.c): an idle
   * connection does not hold them (~42 KB with the default limits) */
  /* The decoder starts with capacity 0 and no blocked-stream slots in dec_small (nothing allocated):
   * the table with the advertised SETTINGS_QPACK_MAX_TABLE_CAPACITY (~26 KB with the defaults) comes
   * with the peer's first encoder instruction or first section that refers to it (h3_decoder_full). */
  vq_status st = vq_qpack_decoder_init(&h3->dec, h3->dec_small, sizeof h3->dec_small, 0, 0);
  /* spec: rfc9114#7.2.4.2/2 — until the peer's SETTINGS: its defaults, a table of capacity 0. */
  if (st == VQ_OK) st = init_encoder(h3, 0, 0, 0);
  if (st == VQ_OK) {
    /* spec: rfc9204#4.2/1 — one encoder and one decoder stream, created here once.
     * spec: rfc9204#4.2/3 — neither is ever closed: h3_flush sets FIN only where tx_fin is, which
     * is never set on a local unidirectional stream. */
    h3->ctrl_tx = local_uni(h3, VQ_H3_STREAM_CONTROL);
    h3->qenc_tx = h3->ctrl_tx ? local_uni(h3, VQ_H3_STREAM_QPACK_ENCODER) : NULL;
    h3->qdec_tx = h3->qenc_tx ? local_uni(h3, VQ_H3_STREAM_QPACK_DECODER) : NULL;
    if (!h3->qdec_tx) st = VQ_ERR_NOMEM;
  }
  if (st != VQ_OK) {
    vq_h3_destroy(h3);
    return st;
  }
  *out = h3;
  return VQ_OK;
}

void vq_h3_destroy(vq_h3 *h3)
{
  if (!h3) return;
  while (h3->streams) {
    h3_stream *s = h3->streams;
    h3->streams = s->next;
    stream_free(h3, s);
  }
  vq_mem *m = h3->mem;
  vq_mem_free(m, h3->bidi.gaps, h3->bidi.cap * sizeof(uint64_t));
  vq_mem_free(m, h3->uni.gaps, h3->uni.cap * sizeof(uint64_t));
  vq_mem_free(m, h3->out_buf, h3->out_cap);
  vq_mem_free(m, h3->out_fields, h3->max_fields * sizeof(vq_qpack_field));
  vq_mem_free(m, h3->dec_mem, h3->dec_mem_len);
  vq_mem_free(m, h3->enc_mem, h3->enc_mem_len);
  vq_mem_free(m, h3, sizeof *h3);
}

void vq_h3_local_settings(const vq_h3_config *cfg, vq_h3_settings *s)
{
  vq_h3_settings_init(s);
  s->max_field_section_size = cfg->max_field_section_size;
  s->has_max_field_section_size = 1;
  if (cfg->qpack_max_table_capacity > 0) {
    s->qpack_max_table_capacity = cfg->qpack_max_table_capacity;
    s->has_qpack_max_table_capacity = 1;
  }
  if (cfg->qpack_blocked_streams > 0) {
    s->qpack_blocked_streams = cfg->qpack_blocked_streams;
    s->has_qpack_blocked_streams = 1;
  }
  if (cfg->is_server && cfg->enable_connect_protocol) {
    s->enable_connect_protocol = 1;
    s->has_enable_connect_protocol = 1;
  }
}

vq_status vq_h3_remember_settings(vq_h3 *h3, const vq_cx *cx, const vq_h3_settings *rem)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (!rem || h3->cfg.is_server || h3->started || h3->peer_settings || h3->closed)
    return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  if (rem->enable_connect_protocol > 1 || rem->h3_datagram > 1 || rem->max_field_section_size == 0 ||
      rem->qpack_max_table_capacity > VQ_VARINT_MAX || rem->qpack_blocked_streams > VQ_VARINT_MAX)
    return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  /* spec: rfc9114#7.2.4.2/6 — the 0-RTT client complies with the stored settings: the request
   * checks (max field section size, extended CONNECT) read h3->peer, and the encoder may use a
   * dynamic table up to the remembered SETTINGS_QPACK_MAX_TABLE_CAPACITY with the remembered
   * SETTINGS_QPACK_BLOCKED_STREAMS (rfc9204#3.2.3/1: never above it). */
  uint64_t cap = h3->cfg.qpack_encoder_capacity;
  if (cap > rem->qpack_max_table_capacity) cap = rem->qpack_max_table_capacity;
  if (cap > (1u << 20)) cap = 1u << 20;
  if ((st = init_encoder(h3, cap, rem->qpack_max_table_capacity, rem->qpack_blocked_streams)) != VQ_OK)
    return leave(h3, st);
  h3->enc_deferred = 0;
  h3->peer = *rem;
  h3->remembered = *rem;
  h3->remembered_used = 1;
  return leave(h3, VQ_OK);
}

/* spec: rfc9114#7.2.4.2/12, rfc9114#7.2.4.2/13, rfc9204#3.2.3/3, rfc9204#3.2.3/2 — the server's
 * SETTINGS after 0-RTT sent under the
 * remembered ones: 1 when it keeps every value the 0-RTT data may rely on. A limit may grow, not
 * shrink (max field section size, blocked streams; an omitted one is its default: unlimited, 0); a
 * non-zero remembered QPACK table capacity must come again unchanged (rfc9204#3.2.3/3; from 0 any
 * value may follow, rfc9204#3.2.3/2); a boolean remembered as 1 must be 1 again. */
static int settings_compatible(const vq_h3_settings *rem, const vq_h3_settings *cur)
{
  if (cur->max_field_section_size < rem->max_field_section_size) return 0;
  if (cur->qpack_blocked_streams < rem->qpack_blocked_streams) return 0;
  if (rem->qpack_max_table_capacity != 0 && cur->qpack_max_table_capacity != rem->qpack_max_table_capacity)
    return 0;
  if (rem->enable_connect_protocol && !cur->enable_connect_protocol) return 0;
  if (rem->h3_datagram && !cur->h3_datagram) return 0;
  return 1;
}

vq_status vq_h3_start(vq_h3 *h3, const vq_cx *cx)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->started || h3->closed) return leave(h3, h3->closed ? VQ_ERR_H3_CLOSED : VQ_ERR_STREAM_STATE);
  /* spec: rfc9114#3.2/5, rfc9114#6.2.1/1, rfc9114#7.2.4/1 — each side opens one control stream and
   * sends SETTINGS first on it.
   * spec: rfc9114#7.2.4.2/3 — without waiting for any data from the peer: vq_h3_start runs as soon as
   * the connection can carry streams (vq_h3q_process: on VQ_CONN_EV_HANDSHAKE_DONE).
   * spec: rfc9114#7.2.4/3 — SETTINGS is written here only, on the control stream.
   * spec: rfc9114#7.2.4.2/11 — every setting whose value differs from its default is included:
   * MAX_FIELD_SECTION_SIZE always (default unlimited), the QPACK ones when not 0, ENABLE_CONNECT_PROTOCOL
   * when 1; vquic never sends SETTINGS_H3_DATAGRAM. */
  vq_h3_settings s;
  vq_h3_local_settings(&h3->cfg, &s);
  uint8_t b[128];
  size_t used = 0, u = 0;
  /* spec: rfc9114#7.2.4.1/1, rfc9114#7.2.8/1 — a reserved setting and a reserved frame as grease. */
  const uint64_t rn = cx && cx->rng ? vq_rng_next(cx->rng) : 7;
  if ((st = vq_h3_settings_encode(b, sizeof b, &s, h3->cfg.grease, rn, rn & 0xffu, &used)) != VQ_OK)
    return leave(h3, st);
  if (h3->cfg.grease) {
    static const uint8_t pl[3] = {'v', 'q', '3'};
    if ((st = vq_h3_frame_encode_span(b + used, sizeof b - used, vq_h3_grease(rn >> 8), pl, sizeof pl, &u)) !=
        VQ_OK)
      return leave(h3, st);
    used += u;
  }
  /* spec: rfc9114#7.2.4.2/1, rfc9114#7.2.7/2, rfc9114#7.2.5/10 — server push is never used: the session
   * has no way to send MAX_PUSH_ID (so a server never does), PUSH_PROMISE (so a client never does) or a
   * push stream.
   * spec: rfc9114#6.2/9 — the only unidirectional streams opened are the control stream and the two
   * QPACK streams (the core protocol, RFC 9204 §4.2): no extension stream type is ever sent. */
  h3_stream *ls[3] = {h3->ctrl_tx, h3->qenc_tx, h3->qdec_tx};
  for (int i = 0; i < 3; i++) {
    uint64_t id;
    if ((st = h3->tr.open_uni(h3->tr.ud, &id)) != VQ_OK) return leave(h3, h3_conn_error(h3, st));
    ls[i]->id = id;
    ls[i]->opened = 1;
  }
  h3->started = 1;
  if ((st = h3_uni_send(h3, h3->ctrl_tx, b, used)) != VQ_OK) return leave(h3, st);
  /* spec: rfc9114#6.2/3 — the QPACK streams are opened at once, so no insert waits for one. */
  h3_flush(h3, h3->qenc_tx);
  h3_flush(h3, h3->qdec_tx);
  return leave(h3, VQ_OK);
}

vq_status h3_on_peer_settings(vq_h3 *h3, const vq_h3_settings *ps)
{
  /* spec: rfc9114#7.2.4.2/12, rfc9114#7.2.4.2/13 — after 0-RTT under remembered settings, new ones
   * that the data sent could violate are H3_SETTINGS_ERROR. Whether the server accepted 0-RTT or
   * not: after a refusal the connection sends the same bytes again in 1-RTT (the transport rewinds
   * the streams, not the session), so they must hold for the new settings just the same. */
  if (h3->remembered_used && !settings_compatible(&h3->remembered, ps)) return VQ_ERR_H3_SETTINGS;
  h3->peer = *ps;
  h3->peer_settings = 1;
  if (h3->remembered_used && h3->remembered.qpack_max_table_capacity != 0)
    /* the same capacity (checked above): the encoder keeps its table, entries the 0-RTT sections
     * referenced included; it keeps the remembered blocked-streams bound, at most the new one */
    return VQ_OK;
  /* spec: rfc9114#7.2.4.2/7 — from now on, comply with the server's values: the encoder's table
   * capacity is bounded by the peer's SETTINGS_QPACK_MAX_TABLE_CAPACITY (RFC 9204 §3.2.3). Nothing has
   * referenced the dynamic table before (capacity 0), so the encoder starts afresh. */
  uint64_t cap = h3->cfg.qpack_encoder_capacity;
  if (cap > ps->qpack_max_table_capacity) cap = ps->qpack_max_table_capacity;
  if (cap > (1u << 20)) cap = 1u << 20;
  /* The encoder keeps capacity 0 (nothing allocated) until the first section is encoded or the peer's
   * decoder stream says something (h3_encoder_full): an idle connection holds no table. Until then
   * nothing was encoded with the dynamic table, so starting it later is the same as starting it now. */
  h3->enc_cap = cap;
  h3->enc_peer_cap = ps->qpack_max_table_capacity;
  h3->enc_peer_blocked = ps->qpack_blocked_streams;
  h3->enc_deferred = 1;
  return VQ_OK;
}

/* ---- sending messages ---------------------------------------------------------------------------- */

static uint64_t section_size(const vq_h3_field *f, size_t n)
{
  uint64_t sz = 0;
  for (size_t i = 0; i < n; i++) sz += (uint64_t)f[i].name_len + f[i].value_len + 32u;
  return sz;
}

static int str_eq(const uint8_t *p, size_t n, const char *lit)
{
  return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* The field lines a cookie field is split into: one per "; "-separated cookie-pair. */
static size_t cookie_pieces(const vq_h3_field *f)
{
  if (!str_eq(f->name, f->name_len, "cookie")) return 1;
  size_t k = 1;
  for (size_t i = 0; i + 1 < f->value_len; i++)
    if (f->value[i] == ';' && f->value[i + 1] == ' ') k++;
  return k;
}

static vq_status queue_headers_lines(vq_h3 *h3, h3_stream *s, const vq_h3_field *f, size_t n);

/* spec: rfc9114#4.2.1/1 — a cookie field may be split into separate field lines, one per
 * cookie-pair, before compression: each pair is then its own QPACK entry, and a request that changes
 * one pair re-sends only that one (the receiver joins them, rfc9114#4.2.1/2). The pieces point into
 * the caller's value (no copy); a split that would exceed the peer's MAX_FIELD_SECTION_SIZE (32 bytes
 * more per line) is not made. */
static vq_status queue_headers(vq_h3 *h3, h3_stream *s, const vq_h3_field *f, size_t n)
{
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += cookie_pieces(&f[i]);
  if (total == n || total > SIZE_MAX / sizeof *f ||
      section_size(f, n) + 32u * (uint64_t)(total - n) > h3->peer.max_field_section_size)
    return queue_headers_lines(h3, s, f, n);
  vq_h3_field *all = vq_mem_alloc(h3->mem, total * sizeof *all);
  if (!all) return VQ_ERR_NOMEM;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (cookie_pieces(&f[i]) == 1) {
      all[j++] = f[i];
      continue;
    }
    size_t start = 0;
    for (size_t k = 0; k <= f[i].value_len; k++) {
      if (k < f[i].value_len && !(k + 1 < f[i].value_len && f[i].value[k] == ';' && f[i].value[k + 1] == ' '))
        continue;
      all[j] = f[i];
      all[j].value = f[i].value + start;
      all[j].value_len = k - start;
      j++;
      start = k + 2;
      k++;
    }
  }
  vq_status st = queue_headers_lines(h3, s, all, j);
  vq_mem_free(h3->mem, all, total * sizeof *all);
  return st;
}

/* Encodes fields as a HEADERS frame queued on s, with the encoder instructions it needs queued on our
 * encoder stream. All buffers are reserved before the encoder runs, so its state never moves without
 * the bytes being queued. */
static vq_status queue_headers_lines(vq_h3 *h3, h3_stream *s, const vq_h3_field *f, size_t n)
{
  /* spec: rfc9114#4.2.2/2 — do not send a header section over the peer's MAX_FIELD_SECTION_SIZE. */
  if (section_size(f, n) > h3->peer.max_field_section_size) return VQ_ERR_H3_FIELD_SECTION_TOO_LARGE;
  size_t raw = 0;
  for (size_t i = 0; i < n; i++) raw += f[i].name_len + f[i].value_len;
  const size_t cap = raw + n * 32u + 64u;
  vq_status st = h3_encoder_full(h3);
  if (st != VQ_OK) return st;
  uint8_t *enc = vq_mem_alloc(h3->mem, cap);
  uint8_t *sec = vq_mem_alloc(h3->mem, cap);
  st = VQ_ERR_NOMEM;
  if (enc && sec && h3_qbuf_reserve(h3->mem, &h3->qenc_tx->tx, cap) == VQ_OK &&
      h3_qbuf_reserve(h3->mem, &s->tx, cap + 16u) == VQ_OK) {
    size_t el = 0, sl = 0, hl = 0;
    uint8_t hdr[16];
    st = vq_qpack_encode_section(&h3->enc, s->id, f, n, enc, cap, &el, sec, cap, &sl);
    if (st == VQ_OK) st = vq_h3_frame_header_encode(hdr, sizeof hdr, VQ_H3_FRAME_HEADERS, sl, &hl);
    if (st == VQ_OK) {
      (void)h3_qbuf_append(h3->mem, &h3->qenc_tx->tx, enc, el);
      (void)h3_qbuf_append(h3->mem, &s->tx, hdr, hl);
      (void)h3_qbuf_append(h3->mem, &s->tx, sec, sl);
    }
  }
  vq_mem_free(h3->mem, enc, cap);
  vq_mem_free(h3->mem, sec, cap);
  if (st == VQ_OK) h3_flush(h3, h3->qenc_tx);
  return st;
}


/* ---- early data (RFC 8470) ----------------------------------------------------------------------- */

int h3_early(const vq_h3 *h3) { return h3->tr.early && h3->tr.early(h3->tr.ud); }

/* RFC 9110 §9.2.1: the safe methods (case-sensitive tokens). */
int h3_method_safe(const uint8_t *p, size_t n)
{
  return str_eq(p, n, "GET") || str_eq(p, n, "HEAD") || str_eq(p, n, "OPTIONS") || str_eq(p, n, "TRACE");
}

void h3_early_drop(vq_h3 *h3, h3_stream *s)
{
  s->early_keep = 0;
  h3_qbuf_free(h3->mem, &s->early_fields);
  h3_qbuf_free(h3->mem, &s->early_body);
}

static void put32(uint8_t *b, size_t v)
{
  b[0] = (uint8_t)(v >> 24);
  b[1] = (uint8_t)(v >> 16);
  b[2] = (uint8_t)(v >> 8);
  b[3] = (uint8_t)v;
}

static size_t get32(const uint8_t *b)
{
  return (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
}

/* The request's field lines into s->early_fields; VQ_ERR_BUFFER_TOO_SMALL over cfg.early_retry_max.
 * (The lines were validated and bounded by the peer's field section size: no length overflows.) */
static vq_status early_keep_fields(vq_h3 *h3, h3_stream *s, const vq_h3_field *f, size_t n)
{
  size_t need = 4;
  for (size_t i = 0; i < n; i++) need += 9u + f[i].name_len + f[i].value_len;
  if (need > h3->cfg.early_retry_max) return VQ_ERR_BUFFER_TOO_SMALL;
  vq_status st = h3_qbuf_reserve(h3->mem, &s->early_fields, need);
  if (st != VQ_OK) return st;
  uint8_t b[4];
  put32(b, n);
  (void)h3_qbuf_append(h3->mem, &s->early_fields, b, 4);
  for (size_t i = 0; i < n; i++) {
    put32(b, f[i].name_len);
    (void)h3_qbuf_append(h3->mem, &s->early_fields, b, 4);
    (void)h3_qbuf_append(h3->mem, &s->early_fields, f[i].name, f[i].name_len);
    put32(b, f[i].value_len);
    (void)h3_qbuf_append(h3->mem, &s->early_fields, b, 4);
    (void)h3_qbuf_append(h3->mem, &s->early_fields, f[i].value, f[i].value_len);
    b[0] = f[i].never_indexed;
    (void)h3_qbuf_append(h3->mem, &s->early_fields, b, 1);
  }
  return VQ_OK;
}

/* spec: rfc9114#10.9/1 — RFC 8470 §5.2: a request of ours that was sent in early data and answered
 * 425 (Too Early) goes again, from the copy, on a new request stream, now that the handshake has
 * completed: never in early data, and once only (the new stream, not early, keeps no copy). The old
 * stream is cancelled both ways (rfc9114#4.1.1/7: H3_REQUEST_CANCELLED) without a word to the
 * application but on_retry. 1 when sent; 0 (nothing changed) when it could not be. */
static int early_resend(vq_h3 *h3, h3_stream *s)
{
  const uint8_t *p = s->early_fields.p + s->early_fields.head;
  const size_t len = s->early_fields.len;
  if (!s->early_keep || h3_early(h3) || len < 4) return 0;
  const size_t n = get32(p);
  if (n == 0 || n > len / 9u) return 0;
  vq_h3_field *f = vq_mem_alloc(h3->mem, n * sizeof *f);
  if (!f) return 0;
  size_t o = 4;
  for (size_t i = 0; i < n; i++) { /* our own bytes: every length was written by early_keep_fields */
    f[i].name_len = get32(p + o);
    f[i].name = p + o + 4;
    o += 4u + f[i].name_len;
    f[i].value_len = get32(p + o);
    f[i].value = p + o + 4;
    o += 4u + f[i].value_len;
    f[i].never_indexed = p[o++];
  }
  uint64_t id;
  h3_stream *ns = NULL;
  vq_status st = h3->tr.open_bidi(h3->tr.ud, &id);
  if (st == VQ_OK && !(ns = h3_stream_new(h3, id, H3K_REQ))) {
    h3->tr.reset_stream(h3->tr.ud, id, VQ_H3_REQUEST_CANCELLED);
    st = VQ_ERR_NOMEM;
  }
  if (st == VQ_OK) st = queue_headers(h3, ns, f, n);
  vq_mem_free(h3->mem, f, n * sizeof *f);
  if (st == VQ_OK && s->early_body.len > 0) {
    uint8_t hdr[16];
    size_t hl = 0;
    st = vq_h3_frame_header_encode(hdr, sizeof hdr, VQ_H3_FRAME_DATA, s->early_body.len, &hl);
    if (st == VQ_OK) st = h3_qbuf_reserve(h3->mem, &ns->tx, hl + s->early_body.len);
    if (st == VQ_OK) {
      (void)h3_qbuf_append(h3->mem, &ns->tx, hdr, hl);
      (void)h3_qbuf_append(h3->mem, &ns->tx, s->early_body.p + s->early_body.head, s->early_body.len);
    }
  }
  if (st != VQ_OK) {
    if (ns) {
      ns->rx_done = ns->tx_done = ns->dead = 1;
      h3->tr.reset_stream(h3->tr.ud, id, VQ_H3_REQUEST_CANCELLED);
    }
    return 0;
  }
  ns->app_known = 1;
  ns->ud = s->ud;
  ns->no_body = s->no_body;
  ns->connect = s->connect;
  ns->tx_head = 1;
  if (s->early_fin) ns->tx_fin = 1;
  else ns->tx_body = s->early_has_body;
  h3_flush(h3, ns);
  const uint64_t old = s->id;
  void *ud = s->ud;
  s->retry_pending = 0;
  s->app_known = 0;
  h3_early_drop(h3, s);
  h3_stream_abort(h3, s, VQ_H3_REQUEST_CANCELLED, 0);
  h3->early_retried++;
  if (h3->cb.on_retry) h3->cb.on_retry(h3->cb.ud, h3, old, id, ud);
  /* the application had more of the body to send: it goes on under the new ID */
  if (ns->tx_body && !ns->tx_fin && !ns->dead && h3->cb.on_writable) h3->cb.on_writable(h3->cb.ud, h3, id, ud);
  return 1;
}

int h3_early_retry(vq_h3 *h3, h3_stream *s)
{
  if (!s->early_keep || s->retry_pending) return 0;
  if (h3_early(h3)) {
    /* spec: rfc9114#10.9/1 — RFC 8470 §5.2: retries MUST NOT be sent in early data: the request
     * waits for vq_h3_on_handshake_done; the rest of the 425 is not read */
    s->retry_pending = 1;
    if (!s->rx_done) {
      s->rx_done = 1;
      h3->tr.stop_sending(h3->tr.ud, s->id, VQ_H3_REQUEST_CANCELLED);
      h3_qpack_cancel(h3, s);
    }
    return 1;
  }
  return early_resend(h3, s);
}

void h3_too_early(vq_h3 *h3, h3_stream *s)
{
  static const vq_h3_field f[2] = {{(const uint8_t *)":status", 7, (const uint8_t *)"425", 3, 0},
                                   {(const uint8_t *)"content-length", 14, (const uint8_t *)"0", 1, 0}};
  h3->early_rejected++;
  /* spec: rfc9114#4.1/14, rfc9114#4.1/15 — the response (complete, no content) does not depend on
   * the rest of the request: reading stops with H3_NO_ERROR */
  if (!s->rx_done) {
    s->rx_done = 1;
    h3->tr.stop_sending(h3->tr.ud, s->id, VQ_H3_NO_ERROR);
    h3_qpack_cancel(h3, s);
  }
  if (queue_headers(h3, s, f, 2) != VQ_OK) {
    /* not even that could be sent: the request was not processed (rfc9114#4.1.1/4) */
    h3_stream_abort(h3, s, VQ_H3_REQUEST_REJECTED, 0);
    return;
  }
  s->tx_head = 1;
  s->tx_fin = 1;
  h3_flush(h3, s);
}

vq_status vq_h3_on_handshake_done(vq_h3 *h3, const vq_cx *cx)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  for (int more = 1; more && !h3->closed;) {
    more = 0;
    for (h3_stream *s = h3->streams; s; s = s->next) {
      if (s->kind != H3K_REQ || !s->retry_pending) continue;
      more = 1;
      if (!early_resend(h3, s)) {
        /* not sent again (no stream, no memory, or the transport still early): the application
         * hears that the request was not processed and may make it again */
        const int known = s->app_known;
        s->retry_pending = 0;
        h3_early_drop(h3, s);
        h3_stream_abort(h3, s, VQ_H3_REQUEST_CANCELLED, 0);
        if (known && h3->cb.on_reset) h3->cb.on_reset(h3->cb.ud, h3, s->id, s->ud, VQ_H3_REQUEST_REJECTED);
      }
      break; /* the list changed: look again */
    }
  }
  return leave(h3, VQ_OK);
}

vq_status vq_h3_request(vq_h3 *h3, const vq_cx *cx, const vq_h3_field *fields, size_t n, int has_body,
                        uint64_t *stream_id)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->closed) return leave(h3, VQ_ERR_H3_CLOSED);
  if (h3->cfg.is_server || !h3->started || !stream_id || (n && !fields)) return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  /* spec: rfc9114#5.2/4 — no new request after the peer's GOAWAY. */
  if (h3->goaway_rcvd) return leave(h3, VQ_ERR_H3_GOING_AWAY);
  vq_h3_head head;
  /* spec: rfc9114#4.3/1, rfc9114#4.2/1 — only well-formed requests leave.
   * spec: rfc9114#9/4 — :protocol (extended CONNECT, RFC 9220 §3) only once the server's SETTINGS
   * enabled it; spec: rfc9114#7.2.4.2/1 — nothing the peer's settings as we know them make invalid
   * (that, and a header section above its SETTINGS_MAX_FIELD_SECTION_SIZE) */
  if (vq_h3_validate(fields, n, VQ_H3_SECTION_REQUEST, h3->peer.enable_connect_protocol, &head) != VQ_OK)
    return leave(h3, VQ_ERR_H3_MESSAGE);
  if (section_size(fields, n) > h3->peer.max_field_section_size)
    return leave(h3, VQ_ERR_H3_FIELD_SECTION_TOO_LARGE);
  /* spec: rfc9114#10.9/1 — RFC 8470 §4: absent other information (cfg.early_unsafe), a client sends
   * only requests with safe methods in early data; another waits for the end of the handshake */
  const int early = h3_early(h3);
  if (early && !h3->cfg.early_unsafe && !h3_method_safe(head.method.p, head.method.len))
    return leave(h3, VQ_ERR_STREAM_STATE);
  const int connect = str_eq(head.method.p, head.method.len, "CONNECT");
  /* spec: rfc9114#4.4 — the request stream of a CONNECT stays open at the end of the request to carry
   * the tunnel's data: it is never closed with the header section. */
  if (connect && !has_body) return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  if (h3->nreq >= h3->cfg.max_streams) return leave(h3, VQ_ERR_STREAM_LIMIT);
  uint64_t id;
  /* spec: rfc9114#4.1/1 — every request gets a new stream; there is no way to send a second request
   * on a stream. */
  if ((st = h3->tr.open_bidi(h3->tr.ud, &id)) != VQ_OK) return leave(h3, st);
  h3_stream *s = h3_stream_new(h3, id, H3K_REQ);
  if (!s) {
    h3->tr.reset_stream(h3->tr.ud, id, VQ_H3_REQUEST_CANCELLED);
    return leave(h3, VQ_ERR_NOMEM);
  }
  s->app_known = 1;
  s->no_body = str_eq(head.method.p, head.method.len, "HEAD");
  s->connect = (uint8_t)connect;
  if ((st = queue_headers(h3, s, fields, n)) != VQ_OK) {
    s->rx_done = 1;
    s->tx_done = 1;
    s->dead = 1;
    s->app_known = 0;
    h3->tr.reset_stream(h3->tr.ud, id, VQ_H3_REQUEST_CANCELLED);
    return leave(h3, st);
  }
  s->tx_head = 1;
  s->tx_body = has_body != 0;
  if (early) {
    /* spec: rfc9114#10.9/1 — RFC 8470 §5.2: a request sent in early data may be answered 425 (Too
     * Early); a copy of it is kept (bounded by cfg.early_retry_max) to send it again, once, after
     * the handshake */
    s->early_sent = 1;
    h3->early_requests++;
    if (early_keep_fields(h3, s, fields, n) == VQ_OK) {
      s->early_keep = 1;
      s->early_has_body = has_body != 0;
      s->early_fin = !has_body;
    }
  }
  /* spec: rfc9114#4.1/9, rfc9114#4.1/10 — after the request, the client closes the stream for sending
   * (here without a body, else with the last vq_h3_send_body), never waiting for the response. */
  if (!has_body) s->tx_fin = 1;
  h3_flush(h3, s);
  *stream_id = id;
  return leave(h3, VQ_OK);
}

vq_status vq_h3_request_to(vq_h3 *h3, const vq_cx *cx, const char *method, const uint8_t *uri,
                           size_t uri_len, const vq_h3_field *fields, size_t n, int has_body,
                           uint64_t *stream_id)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (!method || !uri || (n && !fields) || n > SIZE_MAX / sizeof *fields - 4 ||
      str_eq((const uint8_t *)method, strlen(method), "CONNECT"))
    return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  /* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':' */
  size_t i = 0;
  while (i < uri_len && uri[i] != ':') {
    const uint8_t ch = uri[i];
    const int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    if (!alpha && (i == 0 || !((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.')))
      return leave(h3, VQ_ERR_INVALID_ARGUMENT);
    i++;
  }
  if (i == 0 || i == uri_len) return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  const size_t scheme_len = i++;
  /* RFC 3986 §3.2: "//" authority, up to the next '/', '?' or '#' */
  const uint8_t *auth = NULL;
  size_t auth_len = 0;
  if (uri_len - i >= 2 && uri[i] == '/' && uri[i + 1] == '/') {
    i += 2;
    auth = uri + i;
    while (i < uri_len && uri[i] != '/' && uri[i] != '?' && uri[i] != '#') i++;
    auth_len = (size_t)(uri + i - auth);
  }
  /* path and query (RFC 9114 §4.3.1 :path), without the fragment */
  const uint8_t *path = uri + i;
  size_t path_len = 0;
  while (i + path_len < uri_len && uri[i + path_len] != '#') path_len++;
  /* scheme names are case-insensitive (RFC 3986 §3.1): http and https are sent in lowercase */
  const int http = (scheme_len == 4 || scheme_len == 5) && (uri[0] | 0x20) == 'h' && (uri[1] | 0x20) == 't' &&
                   (uri[2] | 0x20) == 't' && (uri[3] | 0x20) == 'p' && (scheme_len == 4 || (uri[4] | 0x20) == 's');
  const uint8_t *scheme = uri;
  if (http) scheme = (const uint8_t *)(scheme_len == 4 ? "http" : "https");
  if (http && auth_len == 0) return leave(h3, VQ_ERR_INVALID_ARGUMENT); /* rfc9114#4.3.1/7 */
  /* spec: rfc9114#4.3.1/5 — an http or https URI without a path component gets "/" (before its
   * query, if any) */
  uint8_t *pbuf = NULL;
  const size_t pbuf_len = path_len + 1;
  if (http && (path_len == 0 || path[0] != '/')) {
    if (!(pbuf = vq_mem_alloc(h3->mem, pbuf_len))) return leave(h3, VQ_ERR_NOMEM);
    pbuf[0] = '/';
    if (path_len) memcpy(pbuf + 1, path, path_len);
    path = pbuf;
    path_len = pbuf_len;
  }
  st = VQ_OK;
  for (size_t k = 0; k < n && st == VQ_OK; k++) {
    if (fields[k].name_len > 0 && fields[k].name[0] == ':') st = VQ_ERR_H3_MESSAGE;
    /* spec: rfc9114#4.3.1/10 — a scheme without a mandatory authority component, and none in the
     * request target: neither :authority (left out below) nor Host */
    if (auth_len == 0 && str_eq(fields[k].name, fields[k].name_len, "host")) st = VQ_ERR_H3_MESSAGE;
  }
  vq_h3_field *all = st == VQ_OK ? vq_mem_alloc(h3->mem, (n + 4) * sizeof *all) : NULL;
  if (!all) {
    vq_mem_free(h3->mem, pbuf, pbuf ? pbuf_len : 0);
    return leave(h3, st != VQ_OK ? st : VQ_ERR_NOMEM);
  }
  size_t k = 0;
  all[k++] = (vq_h3_field){(const uint8_t *)":method", 7, (const uint8_t *)method, strlen(method), 0};
  all[k++] = (vq_h3_field){(const uint8_t *)":scheme", 7, scheme, scheme_len, 0};
  if (auth_len > 0) all[k++] = (vq_h3_field){(const uint8_t *)":authority", 10, auth, auth_len, 0};
  all[k++] = (vq_h3_field){(const uint8_t *)":path", 5, path, path_len, 0};
  if (n) memcpy(all + k, fields, n * sizeof *fields);
  st = vq_h3_request(h3, cx, all, k + n, has_body, stream_id);
  vq_mem_free(h3->mem, all, (n + 4) * sizeof *all);
  vq_mem_free(h3->mem, pbuf, pbuf ? pbuf_len : 0);
  return leave(h3, st);
}

static h3_stream *req_stream(vq_h3 *h3, uint64_t id)
{
  h3_stream *s = h3_find(h3, id);
  return s && s->kind == H3K_REQ && s->app_known && !s->dead ? s : NULL;
}

vq_status vq_h3_respond(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, int status,
                        const vq_h3_field *fields, size_t n, int has_body)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->closed) return leave(h3, VQ_ERR_H3_CLOSED);
  h3_stream *s = req_stream(h3, stream_id);
  if (!h3->cfg.is_server || !s || (n && !fields)) return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  if (s->tx_head || s->tx_done) return leave(h3, VQ_ERR_STREAM_STATE);
  if (status < 100 || status > 599 || status == 101 || n > (SIZE_MAX / sizeof *fields) - 1)
    return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  vq_h3_field *all = vq_mem_alloc(h3->mem, (n + 1) * sizeof *all);
  if (!all) return leave(h3, VQ_ERR_NOMEM);
  uint8_t code[3] = {(uint8_t)('0' + status / 100), (uint8_t)('0' + status / 10 % 10), (uint8_t)('0' + status % 10)};
  all[0].name = (const uint8_t *)":status";
  all[0].name_len = 7;
  all[0].value = code;
  all[0].value_len = 3;
  all[0].never_indexed = 0;
  if (n) memcpy(all + 1, fields, n * sizeof *fields);
  vq_h3_head head;
  const int tunnel = s->connect && status >= 200 && status < 300;
  if (vq_h3_validate(all, n + 1, VQ_H3_SECTION_RESPONSE, 0, &head) != VQ_OK) st = VQ_ERR_H3_MESSAGE;
  /* A 2xx response to CONNECT has no content-length (RFC 9110 §9.3.6): what follows is the tunnel. */
  else if (tunnel && head.content_length >= 0) st = VQ_ERR_H3_MESSAGE;
  else st = queue_headers(h3, s, all, n + 1);
  vq_mem_free(h3->mem, all, (n + 1) * sizeof *all);
  if (st != VQ_OK) return leave(h3, st);
  /* spec: rfc9114#4.1/8 — interim responses precede the final one. */
  if (status >= 200) {
    s->tx_head = 1;
    s->tx_body = has_body != 0;
    /* spec: rfc9114#4.4/3 — the CONNECT completed: only DATA frames on the stream from now on, both
     * ways (a HEADERS frame from the client is then H3_FRAME_UNEXPECTED, h3conn_rx.c frame_start). */
    if (tunnel) s->tunnel = 1;
    /* spec: rfc9114#4.1/11 — after the final response, the server closes the stream for sending. */
    if (!has_body) s->tx_fin = 1;
  }
  h3_flush(h3, s);
  return leave(h3, VQ_OK);
}

static vq_status send_body(vq_h3 *h3, uint64_t stream_id, const uint8_t *data, size_t len, int fin,
                           size_t *accepted)
{
  vq_status st;
  if (h3->closed) return VQ_ERR_H3_CLOSED;
  h3_stream *s = req_stream(h3, stream_id);
  if (!s || !accepted || (len && !data)) return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9114#7.2.1/1 — DATA only on a request stream after its request or final response. */
  if (!s->tx_head || !s->tx_body || s->tx_fin || s->tx_done) return VQ_ERR_STREAM_STATE;
  size_t take = 0;
  const size_t room = s->tx.len < h3->cfg.send_buf ? h3->cfg.send_buf - s->tx.len : 0;
  if (room > 9) take = len < room - 9 ? len : room - 9; /* 9: the largest DATA frame header we write */
  if (len > 0 && s->tx.len == 0 && h3->tr.send_room && s->opened) {
    /* Nothing queued: one frame of what the transport takes now goes to it whole (below), so no body
     * byte is copied into the stream's queue (nor bounded by it). When it takes less than all, or
     * nothing, it reports the stream writable once it has room (send_room's want) and then
     * vq_h3_on_writable asks the application for more. */
    const uint64_t want = (uint64_t)len < UINT64_MAX - 9u ? (uint64_t)len + 9u : UINT64_MAX;
    const uint64_t tr_room = h3->tr.send_room(h3->tr.ud, s->id, want);
    if (tr_room <= 9) {
      s->want_writable = 1;
      *accepted = 0;
      return VQ_OK;
    }
    take = tr_room - 9 < (uint64_t)len ? (size_t)(tr_room - 9) : len;
  }
  const int last = take == len && fin;
  if (take > 0) {
    uint8_t hdr[16];
    size_t hl = 0;
    if ((st = vq_h3_frame_header_encode(hdr, sizeof hdr, VQ_H3_FRAME_DATA, take, &hl)) != VQ_OK)
      return st;
    size_t hacc = 0, dacc = 0;
    if (s->tx.len == 0 && s->opened && !h3->closed) {
      /* Nothing queued before this frame: hand the header and the body to the transport from here
       * (the transport copies what it takes into its own send buffer); only what it does not take
       * is copied into the stream's queue, so a body byte is copied once on its way, not twice. */
      vq_status w = h3->tr.write(h3->tr.ud, s->id, hdr, hl, 0, &hacc);
      if (w == VQ_OK && hacc > hl) hacc = hl;
      if (w == VQ_OK && hacc == hl) {
        w = h3->tr.write(h3->tr.ud, s->id, data, take, last, &dacc);
        if (w == VQ_OK && dacc > take) dacc = take;
      }
      if (w != VQ_OK) {
        /* The stream cannot be written any more (as in h3_flush): nothing more goes out on it. */
        s->tx_done = 1;
        h3_qbuf_free(h3->mem, &s->tx);
        *accepted = take;
        if (last) {
          s->tx_fin = 1;
          s->tx_body = 0;
        }
        return VQ_OK;
      }
    }
    const size_t rest = (hl - hacc) + (take - dacc);
    if (rest > 0 && (st = h3_qbuf_reserve(h3->mem, &s->tx, rest)) != VQ_OK) {
      /* Part of the frame is already out and the rest cannot be kept: the stream is lost. */
      if (hacc > 0) h3_stream_abort(h3, s, VQ_H3_INTERNAL_ERROR, 0);
      return st;
    }
    (void)h3_qbuf_append(h3->mem, &s->tx, hdr + hacc, hl - hacc);
    (void)h3_qbuf_append(h3->mem, &s->tx, data + dacc, take - dacc);
    h3->body_direct += dacc;
    h3->body_queued += take - dacc;
    if (last && dacc == take) {
      /* the transport took the last byte with the FIN */
      s->tx_fin = 1;
      s->tx_body = 0;
      s->tx_done = 1;
      h3_qbuf_free(h3->mem, &s->tx);
      *accepted = take;
      return VQ_OK;
    }
  }
  if (last) {
    s->tx_fin = 1;
    s->tx_body = 0;
  }
  if (take < len) s->want_writable = 1;
  *accepted = take;
  h3_flush(h3, s);
  return VQ_OK;
}

vq_status vq_h3_send_body(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, const uint8_t *data,
                          size_t len, int fin, size_t *accepted)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  st = send_body(h3, stream_id, data, len, fin, accepted);
  h3_stream *s = st == VQ_OK ? h3_find(h3, stream_id) : NULL;
  if (s && s->early_keep) {
    /* RFC 8470 §5.2: what a request sent in 0-RTT has sent is kept to send it again after a 425 */
    if (s->early_fields.len + s->early_body.len + *accepted > h3->cfg.early_retry_max ||
        h3_qbuf_append(h3->mem, &s->early_body, data, *accepted) != VQ_OK)
      h3_early_drop(h3, s);
    else if (fin && *accepted == len)
      s->early_fin = 1;
  }
  return leave(h3, st);
}

vq_status vq_h3_send_trailers(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, const vq_h3_field *f,
                              size_t n)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->closed) return leave(h3, VQ_ERR_H3_CLOSED);
  h3_stream *s = req_stream(h3, stream_id);
  if (!s || (n && !f)) return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  if (!s->tx_head || !s->tx_body || s->tx_fin || s->tx_done) return leave(h3, VQ_ERR_STREAM_STATE);
  /* spec: rfc9114#4.4/3 — once CONNECT completed, only DATA frames are sent on the stream; a client's
   * CONNECT request carries the tunnel's data only (RFC 9114 §4.4), never a trailer section. */
  if (s->tunnel || (s->connect && !h3->cfg.is_server)) return leave(h3, VQ_ERR_STREAM_STATE);
  /* spec: rfc9114#4.3/3 — no pseudo-header field in a trailer section. */
  if (vq_h3_validate(f, n, VQ_H3_SECTION_TRAILERS, 0, NULL) != VQ_OK) return leave(h3, VQ_ERR_H3_MESSAGE);
  if ((st = queue_headers(h3, s, f, n)) != VQ_OK) return leave(h3, st);
  h3_early_drop(h3, s); /* a request with trailers is not sent again by the session (h3conn.h) */
  s->tx_fin = 1;
  s->tx_body = 0;
  h3_flush(h3, s);
  return leave(h3, VQ_OK);
}

vq_status vq_h3_cancel(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, uint64_t app_error)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  h3_stream *s = req_stream(h3, stream_id);
  if (!s) return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  /* spec: rfc9114#4.1.1/3, rfc9114#4.1.1/7 — cancel by abruptly terminating both directions that are
   * still open; a client uses H3_REQUEST_CANCELLED (the caller's choice of code, not checked). */
  h3_stream_abort(h3, s, app_error, 0);
  return leave(h3, VQ_OK);
}

vq_status vq_h3_shutdown(vq_h3 *h3, const vq_cx *cx)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->closed) return leave(h3, VQ_ERR_H3_CLOSED);
  if (!h3->started) return leave(h3, VQ_ERR_STREAM_STATE);
  /* spec: rfc9114#5.2/8 — one GOAWAY only: its identifier can never be followed by a greater one. */
  if (h3->goaway_sent) return leave(h3, VQ_OK);
  /* spec: rfc9114#5.2, rfc9114#5.2/1 — a server sends the first client-initiated bidirectional stream
   * ID it has not seen (requests below it may still be processed); a client sends a push ID, 0 as it
   * never allowed a push. */
  const uint64_t id = h3->cfg.is_server ? h3->bidi.next : 0;
  uint8_t b[16];
  size_t u = 0;
  if ((st = vq_h3_id_frame_encode(b, sizeof b, VQ_H3_FRAME_GOAWAY, id, &u)) != VQ_OK) return leave(h3, st);
  if ((st = h3_uni_send(h3, h3->ctrl_tx, b, u)) != VQ_OK) return leave(h3, st);
  h3->goaway_sent = 1;
  h3->goaway_sent_id = id;
  return leave(h3, VQ_OK);
}

vq_status vq_h3_close(vq_h3 *h3, const vq_cx *cx, uint64_t app_error, const char *reason)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (!h3->closed) {
    h3->closed = 1;
    h3->close_code = app_error;
    h3->tr.close(h3->tr.ud, app_error, reason ? reason : "");
  }
  return leave(h3, VQ_OK);
}

void vq_h3_set_stream_ud(vq_h3 *h3, uint64_t stream_id, void *ud)
{
  h3_stream *s = h3 ? h3_find(h3, stream_id) : NULL;
  if (s) s->ud = ud;
}

/* ---- input entry points -------------------------------------------------------------------------- */

vq_status vq_h3_on_stream_data(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, const uint8_t *data,
                               size_t len, int fin)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->closed) return leave(h3, VQ_ERR_H3_CLOSED);
  if (len && !data) return leave(h3, VQ_ERR_INVALID_ARGUMENT);
  st = h3_rx(h3, stream_id, data, len, fin);
  if (st < 0) st = h3_conn_error(h3, st);
  return leave(h3, st);
}

/* spec: rfc9114#8/2 — an error code we do not know (not one of RFC 9114 §8.1, RFC 9204 §6, or
 * H3_DATAGRAM_ERROR of RFC 9297) received from the peer is treated as H3_NO_ERROR. */
static uint64_t known_code(uint64_t code)
{
  if ((code >= VQ_H3_NO_ERROR && code <= VQ_H3_VERSION_FALLBACK) || (code >= 0x200u && code <= 0x202u) ||
      code == 0x33u)
    return code;
  return VQ_H3_NO_ERROR;
}

vq_status vq_h3_on_stream_reset(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, uint64_t app_error)
{
  app_error = known_code(app_error);
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->closed) return leave(h3, VQ_ERR_H3_CLOSED);
  st = h3_rx_reset(h3, stream_id, app_error);
  if (st < 0) st = h3_conn_error(h3, st);
  return leave(h3, st);
}

vq_status vq_h3_on_stop_sending(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, uint64_t app_error)
{
  app_error = known_code(app_error);
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->closed) return leave(h3, VQ_ERR_H3_CLOSED);
  h3_stream *s = h3_find(h3, stream_id);
  if (!s) return leave(h3, VQ_OK);
  if (s->kind == H3K_LOCAL_UNI) {
    /* spec: rfc9114#6.2.1/4, rfc9114#6.2.1/5 — the receiver must not ask to close the control stream
     * (nor a QPACK stream, RFC 9204 §4.2): a critical stream closed. */
    return leave(h3, h3_conn_error(h3, VQ_ERR_H3_CLOSED_CRITICAL_STREAM));
  }
  if (s->kind == H3K_REQ && !s->tx_done) {
    /* RFC 9000 §3.5: answer STOP_SENDING with RESET_STREAM.
     * spec: rfc9114#4.1/15, rfc9114#4.1/16 — with H3_NO_ERROR the server only wants no more of the
     * request body; whatever the code, only the sending side ends: the response is still read and
     * delivered whole. */
    s->tx_done = 1;
    h3->tr.reset_stream(h3->tr.ud, s->id, app_error);
    h3_qbuf_free(h3->mem, &s->tx);
    if (app_error != VQ_H3_NO_ERROR && s->app_known && h3->cb.on_reset)
      h3->cb.on_reset(h3->cb.ud, h3, s->id, s->ud, app_error);
  }
  return leave(h3, VQ_OK);
}

vq_status vq_h3_on_writable(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id)
{
  vq_status st = enter(h3, cx);
  if (st != VQ_OK) return st;
  if (h3->closed) return leave(h3, VQ_ERR_H3_CLOSED);
  h3_stream *s = h3_find(h3, stream_id);
  if (s) {
    h3_flush(h3, s);
    if (s->kind == H3K_REQ && s->want_writable && !s->tx_done && s->tx.len < h3->cfg.send_buf / 2) {
      s->want_writable = 0;
      if (h3->cb.on_writable) h3->cb.on_writable(h3->cb.ud, h3, s->id, s->ud);
    }
  }
  return leave(h3, VQ_OK);
}

/* ---- inspection ---------------------------------------------------------------------------------- */

void vq_h3_get_stats(const vq_h3 *h3, vq_h3_stats *st)
{
  memset(st, 0, sizeof *st);
  st->active_requests = h3->nreq;
  st->qpack_inserts_rx = h3->dec.table.inserts;
  st->qpack_inserts_tx = h3->enc.table.inserts;
  st->qpack_known_received = h3->enc.known_received;
  st->blocked_streams = h3->dec.nblocked;
  st->blocked_total = h3->blocked_total;
  st->peer_settings = h3->peer_settings;
  st->remembered_settings = h3->remembered_used;
  st->closed = h3->closed;
  st->close_code = h3->close_code;
  st->goaway_received = h3->goaway_rcvd;
  st->goaway_sent = h3->goaway_sent;
  st->goaway_id = h3->goaway_rcvd_id;
  st->body_direct = h3->body_direct;
  st->body_queued = h3->body_queued;
  st->early_requests = h3->early_requests;
  st->early_rejected = h3->early_rejected;
  st->early_retried = h3->early_retried;
}

const struct vq_h3_settings *vq_h3_peer_settings(const vq_h3 *h3) { return &h3->peer; }
