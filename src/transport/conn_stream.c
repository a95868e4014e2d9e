/* vquic — streams of a connection (RFC 9000 §2, §3, §4): lookup, creation by either side, the
 * stream frames received, and the application's stream API. */
#include <string.h>

#include "conn_internal.h"

static uint32_t bucket_of(uint64_t id)
{
  return (uint32_t)((id >> 2) ^ (id >> 10)) % VQ_STREAM_BUCKETS;
}

static int uni_of(uint64_t id) { return vq_stream_is_unidirectional(id) ? 1 : 0; }

static int local_of(const vq_conn *c, uint64_t id)
{
  return vq_stream_is_server_initiated(id) == (c->is_server != 0);
}

vq_stream *vq_conn_stream_find(vq_conn *c, uint64_t id)
{
  for (vq_stream *s = c->buckets[bucket_of(id)]; s; s = s->hnext)
    if (s->id == id)
      return s;
  return NULL;
}

/* The peer's initial limit for a stream we send on (RFC 9000 §18.2). */
static uint64_t peer_initial_limit(const vq_conn *c, uint64_t id, int local)
{
  /* spec: rfc9000#7.4.1/10 — before the server's parameters arrive, a client sending 0-RTT uses
   * only the remembered ones */
  const vq_tp *tp = c->peer_tp_done ? &c->peer_tp : c->early_tp_set ? &c->early_tp : NULL;
  if (!tp)
    return 0;
  if (vq_stream_is_unidirectional(id))
    return tp->initial_max_stream_data_uni;
  return local ? tp->initial_max_stream_data_bidi_remote : tp->initial_max_stream_data_bidi_local;
}

/* Streams that exist when 0-RTT is offered again (a Version Negotiation restart: they were rewound
 * with limits 0) take the remembered limits afresh. */
void vq_conn_streams_early_limits(vq_conn *c)
{
  for (vq_stream *s = c->streams; s; s = s->next)
    if (s->can_send && s->fc_tx.sent == 0)
      vq_fc_tx_init(&s->fc_tx, peer_initial_limit(c, s->id, s->local));
}

vq_stream *vq_conn_stream_create(vq_conn *c, uint64_t id, int local)
{
  vq_stream *s = vq_mem_calloc(&c->mem, 1, sizeof(*s));
  if (!s)
    return NULL;
  s->id = id;
  s->local = local;
  s->can_send = vq_stream_can_send(id, c->is_server);
  s->can_recv = vq_stream_can_receive(id, c->is_server);
  vq_sendbuf_init(&s->sb, &c->mem, s->can_send ? c->cfg.stream_send_buffer : 0);
  vq_recvbuf_init(&s->rb, &c->mem, s->can_recv ? c->cfg.max_stream_window : 0);
  vq_fc_tx_init(&s->fc_tx, s->can_send ? peer_initial_limit(c, id, local) : 0);
  vq_fc_rx_init(&s->fc_rx, s->can_recv ? c->cfg.initial_max_stream_data : 0,
                s->can_recv ? c->cfg.max_stream_window : 0);
  s->ss = s->can_send ? VQ_SEND_READY : VQ_SEND_DATA_RECVD;
  s->rs = s->can_recv ? VQ_RECV_RECV : VQ_RECV_DATA_READ;
  uint32_t b = bucket_of(id);
  s->hnext = c->buckets[b];
  c->buckets[b] = s;
  s->next = c->streams;
  if (c->streams)
    c->streams->prev = s;
  c->streams = s;
  c->nstreams++;
  return s;
}

static void sendq_remove(vq_conn *c, vq_stream *s)
{
  if (!s->in_sendq)
    return;
  vq_stream **pp = &c->sendq_head;
  vq_stream *prev = NULL;
  while (*pp && *pp != s) {
    prev = *pp;
    pp = &(*pp)->qnext;
  }
  if (*pp) {
    *pp = s->qnext;
    if (c->sendq_tail == s)
      c->sendq_tail = prev;
  }
  s->qnext = NULL;
  s->in_sendq = 0;
}

void vq_conn_stream_sendq_add(vq_conn *c, vq_stream *s)
{
  if (s->in_sendq)
    return;
  s->in_sendq = 1;
  s->qnext = NULL;
  if (c->sendq_tail)
    c->sendq_tail->qnext = s;
  else
    c->sendq_head = s;
  c->sendq_tail = s;
}

static void stream_release(vq_conn *c, vq_stream *s)
{
  sendq_remove(c, s);
  if (s->writable_want && c->writers_waiting)
    c->writers_waiting--;
  if (!s->sb.abandoned) {
    uint64_t held = s->sb.end - s->sb.base;
    c->send_buffered = c->send_buffered > held ? c->send_buffered - held : 0;
  }
  vq_stream **pp = &c->buckets[bucket_of(s->id)];
  while (*pp && *pp != s)
    pp = &(*pp)->hnext;
  if (*pp)
    *pp = s->hnext;
  if (s->prev)
    s->prev->next = s->next;
  else
    c->streams = s->next;
  if (s->next)
    s->next->prev = s->prev;
  vq_sendbuf_free(&s->sb);
  vq_recvbuf_free(&s->rb);
  c->nstreams--;
  vq_mem_free(&c->mem, s, sizeof(*s));
}

/* Frees a stream once both directions reached a terminal state (RFC 9000 §3.1, §3.2): its send
 * side all acknowledged or its reset acknowledged, its receive side read to the end or its reset
 * told. A peer-initiated stream's slot is then returned with MAX_STREAMS (RFC 9000 §4.6).
 * spec: rfc9000#4.4/1 — so the flow control state of a direction still open (fc_rx / fc_tx) lives
 * on, and is updated (vq_conn_stream_read), after the other direction ended. */
void vq_conn_stream_maybe_free(vq_conn *c, vq_stream *s)
{
  int send_done = !s->can_send || s->ss == VQ_SEND_DATA_RECVD || s->ss == VQ_SEND_RESET_RECVD;
  int recv_done = !s->can_recv || s->rs == VQ_RECV_DATA_READ || s->rs == VQ_RECV_RESET_READ;
  if (!send_done || !recv_done || s->reset_pending || s->stop_pending || s->msd_pending)
    return;
  uint64_t id = s->id;
  int local = s->local;
  stream_release(c, s);
  vq_conn_push_event(c, VQ_CONN_EV_STREAM_CLOSED, id, 0);
  if (!local) {
    int uni = uni_of(id);
    c->peer_closed[uni]++;
    /* spec: rfc9000#4.6/6 — raise MAX_STREAMS as the peer's streams close (at half the window) */
    uint64_t initial = uni ? c->cfg.initial_max_streams_uni : c->cfg.initial_max_streams_bidi;
    if (c->local_max_streams[uni] - c->peer_closed[uni] < initial / 2 + 1 ||
        c->local_max_streams[uni] - c->peer_closed[uni] < initial) {
      uint64_t want = c->peer_closed[uni] + initial;
      if (want > c->local_max_streams[uni] && want <= VQ_MAX_STREAMS_LIMIT &&
          c->local_max_streams[uni] - c->peer_closed[uni] <= initial / 2) {
        c->local_max_streams[uni] = want;
        c->max_streams_pending[uni] = 1;
      }
    }
  }
}

void vq_conn_stream_free_all(vq_conn *c)
{
  while (c->streams)
    stream_release(c, c->streams);
}

/* The stream a frame from the peer refers to, creating peer-initiated streams up to it (RFC 9000
 * §3.2: opening a stream implicitly opens the lower-numbered ones of its type). *out = NULL (and
 * VQ_OK) for a stream that existed and was already freed: the frame is ignored. */
vq_status vq_conn_stream_get_peer(vq_conn *c, uint64_t id, vq_stream **out)
{
  *out = vq_conn_stream_find(c, id);
  if (*out)
    return VQ_OK;
  int uni = uni_of(id);
  uint64_t index = id >> 2;
  if (local_of(c, id)) {
    /* spec: rfc9000#19.8/1, rfc9000#19.5/1, rfc9000#19.10/1 — a STREAM, STOP_SENDING or
     * MAX_STREAM_DATA frame for a locally initiated stream not yet created is a STREAM_STATE_ERROR */
    if (index >= c->local_opened[uni])
      return VQ_ERR_STREAM_STATE;
    return VQ_OK; /* closed already */
  }
  if (index < c->peer_opened[uni])
    return VQ_OK; /* closed already */
  /* spec: rfc9000#4.6/3, rfc9000#19.11/4 — a stream beyond the limit we advertised is a
   * STREAM_LIMIT_ERROR */
  if (index >= c->local_max_streams[uni])
    return VQ_ERR_STREAM_LIMIT;
  vq_stream *s = NULL;
  /* spec: rfc9000#3.2/1 — the lower-numbered streams of the type are created first */
  while (c->peer_opened[uni] <= index) {
    uint64_t sid = (c->peer_opened[uni] << 2) | (id & 3u);
    s = vq_conn_stream_create(c, sid, 0);
    if (!s)
      return VQ_ERR_NOMEM;
    c->peer_opened[uni]++;
    vq_conn_push_event(c, VQ_CONN_EV_STREAM_OPENED, sid, 0);
  }
  *out = s;
  return VQ_OK;
}

static void readable(vq_conn *c, vq_stream *s)
{
  if (s->readable_ev)
    return;
  s->readable_ev = 1;
  vq_conn_push_event(c, VQ_CONN_EV_STREAM_READABLE, s->id, 0);
}

vq_status vq_conn_on_stream_frame(vq_conn *c, const vq_cx *cx, const vq_frame_stream *f)
{
  /* spec: rfc9000#19.8 — STREAM on a send-only (locally initiated unidirectional) stream is a
   * STREAM_STATE_ERROR */
  if (!vq_stream_can_receive(f->stream_id, c->is_server))
    return VQ_ERR_STREAM_STATE;
  vq_stream *s;
  vq_status st = vq_conn_stream_get_peer(c, f->stream_id, &s);
  if (st != VQ_OK || !s)
    return st;
  if (s->rs == VQ_RECV_RESET_RECVD || s->rs == VQ_RECV_RESET_READ || s->rs == VQ_RECV_DATA_READ)
    return VQ_OK;
  uint64_t end = f->offset + f->len;
  if (!vq_recvbuf_can_hold(&s->rb, f->offset, end)) {
    /* The receive buffer tracks at most VQ_STREAMBUF_RANGES disjoint ranges: with loss over a window
     * of megabytes a frame may open one more. It cannot be held, and closing the connection for it
     * (as before) kills an ordinary lossy transfer: the packet is dropped unacknowledged instead
     * (recv_packet), so the peer retransmits it once the holes below have been filled. */
    c->drop_packet = 1;
    vq_cx_trace(cx, "stream_frame_unheld", "id=%llu off=%llu len=%llu read=%llu ranges=%u first=%llu",
                (unsigned long long)f->stream_id, (unsigned long long)f->offset,
                (unsigned long long)f->len, (unsigned long long)s->rb.read, s->rb.have.n,
                (unsigned long long)(s->rb.have.n ? s->rb.have.r[0].lo : 0));
    return VQ_OK;
  }
  uint64_t grown = 0;
  /* spec: rfc9000#4.5/4 — final size rules; rfc9000#4.1/7 — flow control limits */
  st = vq_fc_rx_on_stream_data(&s->fc_rx, end, f->fin, &grown);
  if (st != VQ_OK)
    return st;
  st = vq_fc_rx_on_bytes(&c->fc_rx, grown);
  if (st != VQ_OK)
    return st;
  if (s->stop_sent || s->stop_pending) {
    /* data after STOP_SENDING is discarded but still counted (rfc9000#3.5) */
    return VQ_OK;
  }
  st = vq_recvbuf_insert(&s->rb, f->offset, f->data, f->len, f->fin);
  if (st != VQ_OK)
    return st == VQ_ERR_BUDGET || st == VQ_ERR_NOMEM ? VQ_ERR_INTERNAL : st;
  c->stats.stream_bytes_recv += f->len;
  vq_recv_state ns = s->rs;
  if (f->fin)
    (void)vq_recv_state_next(s->rs, VQ_REV_FIN, &ns);
  s->rs = ns;
  if (s->rs == VQ_RECV_SIZE_KNOWN && s->rb.final_size != UINT64_MAX &&
      vq_recvbuf_readable(&s->rb) == s->rb.final_size - s->rb.read)
    (void)vq_recv_state_next(s->rs, VQ_REV_ALL_RECEIVED, &s->rs);
  if (vq_recvbuf_readable(&s->rb) > 0 || (s->rb.final_size != UINT64_MAX && s->rb.read == s->rb.final_size))
    readable(c, s);
  return VQ_OK;
}

vq_status vq_conn_on_reset_stream(vq_conn *c, const vq_frame_reset_stream *f)
{
  /* spec: rfc9000#19.4/1 — RESET_STREAM for a send-only stream is a STREAM_STATE_ERROR */
  if (!vq_stream_can_receive(f->stream_id, c->is_server))
    return VQ_ERR_STREAM_STATE;
  vq_stream *s;
  vq_status st = vq_conn_stream_get_peer(c, f->stream_id, &s);
  if (st != VQ_OK || !s)
    return st;
  if (s->peer_reset || s->rs == VQ_RECV_DATA_READ)
    return VQ_OK;
  uint64_t grown = 0;
  st = vq_fc_rx_on_stream_data(&s->fc_rx, f->final_size, 1, &grown);
  if (st != VQ_OK)
    return st;
  st = vq_fc_rx_on_bytes(&c->fc_rx, grown);
  if (st != VQ_OK)
    return st;
  st = vq_recvbuf_reset(&s->rb, f->final_size);
  if (st != VQ_OK)
    return st;
  /* the bytes never read are returned to the connection's window (rfc9000#4.5) */
  uint64_t unread = f->final_size > s->fc_rx.consumed ? f->final_size - s->fc_rx.consumed : 0;
  (void)vq_fc_rx_consume(&s->fc_rx, unread);
  (void)vq_fc_rx_consume(&c->fc_rx, unread);
  s->peer_reset = 1;
  s->peer_reset_code = f->error_code;
  s->rs = VQ_RECV_RESET_RECVD;
  vq_conn_push_event(c, VQ_CONN_EV_STREAM_RESET, s->id, f->error_code);
  s->rs = VQ_RECV_RESET_READ; /* the event tells the application */
  vq_conn_stream_maybe_free(c, s);
  return VQ_OK;
}

/* spec: rfc9000#11.2/1 — the only callers: the application (vq_conn_stream_reset) and the peer's
 * STOP_SENDING (its application's request, which rfc9000#3.5/2 makes us answer); the transport never
 * resets a stream for reasons of its own (its errors are connection errors) */
static void reset_local(vq_conn *c, vq_stream *s, uint64_t code)
{
  if (s->reset_pending || s->reset_sent || s->ss == VQ_SEND_DATA_RECVD)
    return;
  s->reset_pending = 1;
  s->reset_code = code;
  /* spec: rfc9000#19.4 — the final size is the amount of data sent (the highest offset) */
  s->reset_final = s->sb.sent;
  uint64_t held = s->sb.end - s->sb.base;
  c->send_buffered = c->send_buffered > held ? c->send_buffered - held : 0;
  vq_sendbuf_abandon(&s->sb);
  s->ss = VQ_SEND_RESET_SENT;
  vq_conn_stream_sendq_add(c, s);
}

vq_status vq_conn_on_stop_sending(vq_conn *c, const vq_frame_stop_sending *f)
{
  /* spec: rfc9000#19.5/2 — STOP_SENDING for a receive-only stream is a STREAM_STATE_ERROR */
  if (!vq_stream_can_send(f->stream_id, c->is_server))
    return VQ_ERR_STREAM_STATE;
  vq_stream *s;
  vq_status st = vq_conn_stream_get_peer(c, f->stream_id, &s);
  if (st != VQ_OK || !s)
    return st;
  /* spec: rfc9000#3.5/2 — an endpoint receiving STOP_SENDING sends RESET_STREAM (in "Ready" or
   * "Send", and also in "Data Sent": rfc9000#3.5/3 allows deferring, we do not); spec:
   * rfc9000#3.5/5 — with the STOP_SENDING's error code */
  if (!s->reset_pending && !s->reset_sent && s->ss != VQ_SEND_DATA_RECVD) {
    vq_conn_push_event(c, VQ_CONN_EV_STREAM_STOP, s->id, f->error_code);
    reset_local(c, s, f->error_code);
  }
  return VQ_OK;
}

vq_status vq_conn_on_max_stream_data(vq_conn *c, const vq_frame_max_stream_data *f)
{
  /* spec: rfc9000#19.10/2 — MAX_STREAM_DATA for a receive-only stream is a STREAM_STATE_ERROR */
  if (!vq_stream_can_send(f->stream_id, c->is_server))
    return VQ_ERR_STREAM_STATE;
  vq_stream *s;
  vq_status st = vq_conn_stream_get_peer(c, f->stream_id, &s);
  if (st != VQ_OK || !s)
    return st;
  if (vq_fc_tx_update(&s->fc_tx, f->maximum))
    vq_conn_stream_sendq_add(c, s);
  return VQ_OK;
}

vq_status vq_conn_on_stream_data_blocked(vq_conn *c, const vq_frame_max_stream_data *f)
{
  /* spec: rfc9000#19.13/2 — STREAM_DATA_BLOCKED for a send-only stream is a STREAM_STATE_ERROR */
  if (!vq_stream_can_receive(f->stream_id, c->is_server))
    return VQ_ERR_STREAM_STATE;
  vq_stream *s;
  vq_status st = vq_conn_stream_get_peer(c, f->stream_id, &s);
  if (st != VQ_OK || !s)
    return st;
  s->msd_pending = 1;
  return VQ_OK;
}

/* ---- the application's API ------------------------------------------------------------------- */

vq_status vq_conn_stream_open(vq_conn *c, const vq_cx *cx, int bidi, uint64_t *stream_id)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  if (!vq_conn_app_open(c))
    return VQ_ERR_STREAM_STATE;
  int uni = bidi ? 0 : 1;
  /* spec: rfc9000#4.6/2, rfc9000#19.11/3 — never more streams than the peer's limit */
  if (c->local_opened[uni] >= c->peer_max_streams[uni]) {
    /* spec: rfc9000#4.6/5 — blocked by the peer's limit: send STREAMS_BLOCKED */
    c->streams_blocked_pending[uni] = 1;
    c->streams_blocked_want[uni] = 1;
    return VQ_ERR_STREAM_LIMIT;
  }
  /* spec: rfc9000#2.1/1, rfc9000#3.2/1 — stream IDs are taken in order from a counter that only
   * grows: none is reused, and the lower-numbered ones exist first */
  uint64_t id = (c->local_opened[uni] << 2) | (uint64_t)(uni ? 2u : 0u) | (c->is_server ? 1u : 0u);
  vq_stream *s = vq_conn_stream_create(c, id, 1);
  if (!s)
    return VQ_ERR_NOMEM;
  c->local_opened[uni]++;
  *stream_id = id;
  return VQ_OK;
}

vq_status vq_conn_stream_write(vq_conn *c, const vq_cx *cx, uint64_t stream_id, const uint8_t *data,
                               size_t len, int fin, size_t *accepted)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  *accepted = 0;
  if (!vq_conn_app_open(c))
    return VQ_ERR_STREAM_STATE;
  vq_stream *s = vq_conn_stream_find(c, stream_id);
  if (!s || !s->can_send || s->reset_pending || s->reset_sent)
    return VQ_ERR_STREAM_STATE;
  /* the connection's share for application data bounds what all streams hold together */
  uint64_t room = c->send_cap > c->send_buffered ? c->send_cap - c->send_buffered : 0;
  size_t take = len < room ? len : (size_t)room;
  st = vq_sendbuf_write(&s->sb, data, take, fin && take == len, accepted);
  if (st != VQ_OK)
    return st;
  c->send_buffered += *accepted;
  if (*accepted < len && !s->writable_want) {
    s->writable_want = 1;
    c->writers_waiting++;
  }
  if (*accepted > 0 || (fin && *accepted == len)) {
    if (s->ss == VQ_SEND_READY)
      s->ss = VQ_SEND_SEND;
    vq_conn_stream_sendq_add(c, s);
  }
  return VQ_OK;
}

vq_status vq_conn_stream_read(vq_conn *c, const vq_cx *cx, uint64_t stream_id, uint8_t *buf,
                              size_t cap, size_t *n, int *fin)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  *n = 0;
  *fin = 0;
  vq_stream *s = vq_conn_stream_find(c, stream_id);
  if (!s || !s->can_recv)
    return VQ_ERR_STREAM_STATE;
  if (s->peer_reset)
    return VQ_ERR_STREAM_STATE;
  *n = vq_recvbuf_read(&s->rb, buf, cap, fin);
  if (*n > 0) {
    (void)vq_fc_rx_consume(&s->fc_rx, *n);
    (void)vq_fc_rx_consume(&c->fc_rx, *n);
    uint64_t lim;
    vq_time rtt = c->rec.rtt.has_sample ? c->rec.rtt.smoothed : VQ_K_INITIAL_RTT;
    if (!*fin && s->rs == VQ_RECV_RECV && vq_fc_rx_update(&s->fc_rx, cx->now, rtt, &lim))
      s->msd_pending = 1;
    if (vq_fc_rx_update(&c->fc_rx, cx->now, rtt, &lim))
      c->max_data_pending = 1;
  }
  if (*fin) {
    s->recv_fin_read = 1;
    s->rs = VQ_RECV_DATA_READ;
    s->msd_pending = 0;
    vq_conn_stream_maybe_free(c, s);
  }
  return VQ_OK;
}

vq_status vq_conn_stream_reset(vq_conn *c, const vq_cx *cx, uint64_t stream_id, uint64_t error_code)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  vq_stream *s = vq_conn_stream_find(c, stream_id);
  if (!s || !s->can_send)
    return VQ_ERR_STREAM_STATE;
  reset_local(c, s, error_code);
  return VQ_OK;
}

vq_status vq_conn_stream_stop(vq_conn *c, const vq_cx *cx, uint64_t stream_id, uint64_t error_code)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  vq_stream *s = vq_conn_stream_find(c, stream_id);
  if (!s || !s->can_recv)
    return VQ_ERR_STREAM_STATE;
  if (s->stop_pending || s->stop_sent || s->rs == VQ_RECV_DATA_READ || s->peer_reset)
    return VQ_OK;
  s->stop_pending = 1;
  s->stop_code = error_code;
  vq_conn_stream_sendq_add(c, s);
  return VQ_OK;
}

uint64_t vq_conn_stream_writable(const vq_conn *c, uint64_t stream_id)
{
  vq_stream *s = vq_conn_stream_find((vq_conn *)c, stream_id);
  if (!s || !s->can_send || s->sb.fin)
    return 0;
  /* the send buffer's own limit, and a chunk's worth of room in the connection's memory budget */
  if (c->mem.used + VQ_STREAMBUF_CHUNK + 64 > c->mem.limit || c->send_buffered >= c->send_cap)
    return 0;
  uint64_t held = s->sb.end - s->sb.base;
  return s->sb.limit > held ? s->sb.limit - held : 0;
}

uint64_t vq_conn_stream_send_room(vq_conn *c, uint64_t stream_id, uint64_t want)
{
  vq_stream *s = vq_conn_stream_find(c, stream_id);
  if (!s || !s->can_send || s->sb.fin || s->reset_pending || s->reset_sent || !vq_conn_app_open(c))
    return want; /* not writable any more: the write itself says why (nothing waits for room) */
  uint64_t room = vq_conn_stream_writable(c, stream_id);
  const uint64_t share = c->send_cap > c->send_buffered ? c->send_cap - c->send_buffered : 0;
  if (room > share)
    room = share;
  if (room < want && !s->writable_want) {
    s->writable_want = 1;
    c->writers_waiting++;
  }
  return room;
}

void vq_conn_wake_writers(vq_conn *c)
{
  if (!c->writers_waiting)
    return;
  for (vq_stream *s = c->streams; s && c->writers_waiting; s = s->next) {
    if (!s->writable_want || vq_conn_stream_writable(c, s->id) == 0)
      continue;
    s->writable_want = 0;
    c->writers_waiting--;
    vq_conn_push_event(c, VQ_CONN_EV_STREAM_WRITABLE, s->id, 0);
  }
}
