/* vquic — HTTP/3 on a vquic connection (see vquic/h3quic.h). */
#include <string.h>

#include "vquic/h3quic.h"

/* The cx to act with: the one of vq_h3q_process, or of the session call in progress. */
static const vq_cx *cur(const vq_h3q *q) { return q->cx ? q->cx : vq_h3_cx(q->h3); }

static vq_status t_open_uni(void *ud, uint64_t *id)
{
  vq_h3q *q = ud;
  return vq_conn_stream_open(q->conn, cur(q), 0, id);
}

static vq_status t_open_bidi(void *ud, uint64_t *id)
{
  vq_h3q *q = ud;
  return vq_conn_stream_open(q->conn, cur(q), 1, id);
}

static vq_status t_write(void *ud, uint64_t id, const uint8_t *data, size_t len, int fin,
                         size_t *accepted)
{
  vq_h3q *q = ud;
  return vq_conn_stream_write(q->conn, cur(q), id, data, len, fin, accepted);
}

static void t_reset(void *ud, uint64_t id, uint64_t err)
{
  vq_h3q *q = ud;
  (void)vq_conn_stream_reset(q->conn, cur(q), id, err);
}

static void t_stop(void *ud, uint64_t id, uint64_t err)
{
  vq_h3q *q = ud;
  (void)vq_conn_stream_stop(q->conn, cur(q), id, err);
}

static void t_close(void *ud, uint64_t err, const char *reason)
{
  vq_h3q *q = ud;
  (void)vq_conn_close(q->conn, cur(q), 1, err, reason);
}

vq_status vq_h3q_init(vq_h3q *q, vq_conn *conn, vq_mem *mem, const vq_h3_config *cfg,
                      const vq_h3_callbacks *cb)
{
  memset(q, 0, sizeof(*q));
  q->conn = conn;
  vq_h3_transport tr = {q, t_open_uni, t_open_bidi, t_write, t_reset, t_stop, t_close};
  return vq_h3_create(&q->h3, mem, cfg, &tr, cb);
}

void vq_h3q_free(vq_h3q *q)
{
  if (q->h3)
    vq_h3_destroy(q->h3);
  q->h3 = NULL;
}

static vq_status feed_stream(vq_h3q *q, const vq_cx *cx, uint64_t id)
{
  uint8_t buf[16384];
  for (;;) {
    size_t n = 0;
    int fin = 0;
    vq_status st = vq_conn_stream_read(q->conn, cx, id, buf, sizeof(buf), &n, &fin);
    if (st != VQ_OK)
      return VQ_OK; /* the stream is gone (reset or freed): nothing to feed */
    if (n == 0 && !fin)
      return VQ_OK;
    st = vq_h3_on_stream_data(q->h3, cx, id, buf, n, fin);
    if (st != VQ_OK || fin)
      return st;
  }
}

vq_status vq_h3q_process(vq_h3q *q, const vq_cx *cx)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  q->cx = cx;
  /* 0-RTT: a client that offers it starts the session at once, so its SETTINGS and requests go in
   * the first flight. spec: rfc9114#7.2.4.2/6 — it stores no settings, so it complies with the
   * default values (no dynamic table until the server's SETTINGS arrive) */
  if (!q->started && !vq_conn_is_server(q->conn) && vq_conn_early_data(q->conn) == VQ_EARLY_OFFERED) {
    q->started = 1;
    st = vq_h3_start(q->h3, cx);
    vq_cx_trace(cx, "h3_start", "early status=%d (%s)", (int)st, vq_status_reason(st));
  }
  vq_conn_event ev;
  while (vq_conn_poll_event(q->conn, &ev)) {
    st = VQ_OK;
    switch (ev.type) {
    case VQ_CONN_EV_EARLY_DATA:
      /* a server that accepted 0-RTT starts the session before the 0-RTT requests are fed (their
       * responses wait for the handshake to complete) */
      if (!q->started && ev.error_code == 1) {
        q->started = 1;
        st = vq_h3_start(q->h3, cx);
        vq_cx_trace(cx, "h3_start", "early status=%d (%s)", (int)st, vq_status_reason(st));
      }
      break;
    case VQ_CONN_EV_HANDSHAKE_DONE:
      if (!q->started) {
        q->started = 1;
        st = vq_h3_start(q->h3, cx);
        vq_cx_trace(cx, "h3_start", "status=%d (%s)", (int)st, vq_status_reason(st));
      }
      break;
    case VQ_CONN_EV_STREAM_READABLE:
      st = feed_stream(q, cx, ev.stream_id);
      break;
    case VQ_CONN_EV_STREAM_RESET:
      st = vq_h3_on_stream_reset(q->h3, cx, ev.stream_id, ev.error_code);
      break;
    case VQ_CONN_EV_STREAM_STOP:
      st = vq_h3_on_stop_sending(q->h3, cx, ev.stream_id, ev.error_code);
      break;
    case VQ_CONN_EV_STREAM_WRITABLE:
      if (ev.stream_id != UINT64_MAX)
        st = vq_h3_on_writable(q->h3, cx, ev.stream_id);
      break;
    case VQ_CONN_EV_CLOSED:
      q->closed = 1;
      q->close_code = vq_conn_close_error(q->conn, &q->close_app, &q->close_by_peer, NULL);
      break;
    default:
      break;
    }
    (void)st; /* session errors already closed the connection through the transport */
  }
  q->cx = NULL;
  return VQ_OK;
}
