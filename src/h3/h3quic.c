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

static uint64_t t_send_room(void *ud, uint64_t id, uint64_t want)
{
  vq_h3q *q = ud;
  return vq_conn_stream_send_room(q->conn, id, want);
}

/* spec: rfc9114#10.9/1 — early data (RFC 8470) is what moves before the handshake completed: a
 * client's 0-RTT (offered, not refused: refused data goes again in 1-RTT after it), and on a server
 * everything it reads then (it has no 1-RTT keys before; it completes before the client's handshake
 * is confirmed, so there is no 0.5-RTT request data). */
static int t_early(void *ud)
{
  vq_h3q *q = ud;
  if (vq_conn_get_state(q->conn) != VQ_CONN_HANDSHAKE)
    return 0;
  return vq_conn_is_server(q->conn) || vq_conn_early_data(q->conn) != VQ_EARLY_REJECTED;
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
  /* spec: rfc9114#6.2/1 — HTTP/3 needs the peer to be able to open its control stream and the two
   * QPACK streams: a connection announcing fewer than three unidirectional streams is refused */
  if (!conn || vq_conn_local_initial_max_streams(conn, 1) < 3)
    return VQ_ERR_INVALID_ARGUMENT;
  q->conn = conn;
  vq_h3_transport tr = {q, t_open_uni, t_open_bidi, t_write, t_reset, t_stop, t_close, t_send_room, t_early};
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
   * the first flight. spec: rfc9114#7.2.4.2/6 — under the settings stored with the session, or the
   * default values without (no dynamic table until the server's SETTINGS arrive) */
  if (!q->started && !vq_conn_is_server(q->conn) && vq_conn_early_data(q->conn) == VQ_EARLY_OFFERED) {
    q->started = 1;
    /* spec: rfc9114#7.2.4.2/6 — with settings stored with the session, it complies with those */
    if (q->has_remembered && (st = vq_h3_remember_settings(q->h3, cx, &q->remembered)) != VQ_OK)
      vq_cx_trace(cx, "h3_start", "remembered settings not used: %s", vq_status_reason(st));
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
      } else {
        /* requests answered 425 (Too Early) before go again now (RFC 8470 §5.2) */
        st = vq_h3_on_handshake_done(q->h3, cx);
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

void vq_h3q_remember_settings(vq_h3q *q, const vq_h3_settings *s)
{
  q->has_remembered = s != NULL;
  if (s)
    q->remembered = *s;
}

/* ---- the session file ---------------------------------------------------------------------------- */

static const uint8_t sess_magic[5] = {'V', 'Q', 'H', '3', 1}; /* [4]: the version (1 or 2) */

/* The SETTINGS frame payload of s (no grease): fr[0..*pl). */
static vq_status settings_payload(const vq_h3_settings *s, uint8_t *fr, size_t cap, size_t *pl)
{
  size_t fl = 0;
  vq_status st = vq_h3_settings_encode(fr, cap, s, 0, 0, 0, &fl);
  if (st != VQ_OK)
    return st;
  /* type 0x04 (one byte), then the length varint (its first byte gives its size) */
  const size_t hl = fl >= 2 ? 1 + ((size_t)1 << (fr[1] >> 6)) : fl + 1;
  if (fl < hl)
    return VQ_ERR_INVALID_ARGUMENT;
  *pl = fl - hl;
  memmove(fr, fr + hl, *pl);
  return VQ_OK;
}

vq_status vq_h3q_early_app(const vq_h3_config *cfg, uint8_t *out, size_t cap, size_t *len)
{
  uint8_t fr[VQ_H3Q_SETTINGS_MAX + 16];
  vq_h3_settings s;
  size_t pl = 0;
  vq_h3_local_settings(cfg, &s);
  vq_status st = settings_payload(&s, fr, sizeof fr, &pl);
  if (st != VQ_OK)
    return st;
  *len = pl;
  if (cap < pl)
    return VQ_ERR_BUFFER_TOO_SMALL;
  memcpy(out, fr, pl);
  return VQ_OK;
}

static vq_status file_encode(int version, const vq_h3q_session_file *f, uint8_t *out, size_t cap,
                             size_t *len)
{
  uint8_t fr[VQ_H3Q_SETTINGS_MAX + 16];
  size_t pl = 0;
  size_t sl = f->session ? f->session_len : 0, tl = f->token ? f->token_len : 0;
  size_t ol = f->origin ? f->origin_len : 0;
  if (!len || sl > VQ_TLS_SESSION_MAX || (version == 1 && sl == 0) || tl > VQ_H3Q_TOKEN_MAX ||
      ol > VQ_H3Q_ORIGIN_MAX || (tl == 0) != (ol == 0) || (version == 1 && tl))
    return VQ_ERR_INVALID_ARGUMENT;
  if (f->has_settings) {
    vq_status st = settings_payload(&f->settings, fr, sizeof fr, &pl);
    if (st != VQ_OK)
      return st;
    if (pl > VQ_H3Q_SETTINGS_MAX)
      return VQ_ERR_INVALID_ARGUMENT;
  }
  size_t need = sizeof sess_magic + 2 + sl + 2 + pl + (version >= 2 ? 1 + ol + 2 + tl : 0) +
                (version == 3 ? 4 : 0);
  *len = need;
  if (!out || cap < need)
    return VQ_ERR_BUFFER_TOO_SMALL;
  size_t o = 0;
  memcpy(out, sess_magic, sizeof sess_magic);
  out[4] = (uint8_t)version;
  o += sizeof sess_magic;
  out[o++] = (uint8_t)(sl >> 8);
  out[o++] = (uint8_t)sl;
  if (sl)
    memcpy(out + o, f->session, sl);
  o += sl;
  out[o++] = (uint8_t)(pl >> 8);
  out[o++] = (uint8_t)pl;
  if (pl)
    memcpy(out + o, fr, pl);
  o += pl;
  if (version >= 2) {
    out[o++] = (uint8_t)ol;
    if (ol)
      memcpy(out + o, f->origin, ol);
    o += ol;
    out[o++] = (uint8_t)(tl >> 8);
    out[o++] = (uint8_t)tl;
    if (tl)
      memcpy(out + o, f->token, tl);
    o += tl;
  }
  if (version == 3) {
    /* spec: rfc9369#5/1 — the QUIC version the token belongs to */
    uint32_t tv = tl ? f->token_version : 0;
    for (int i = 0; i < 4; i++)
      out[o++] = (uint8_t)(tv >> (24 - 8 * i));
  }
  return VQ_OK;
}

vq_status vq_h3q_session_file_encode(const vq_h3q_session_file *f, uint8_t *out, size_t cap,
                                     size_t *len)
{
  if (!f)
    return VQ_ERR_INVALID_ARGUMENT;
  return file_encode(3, f, out, cap, len);
}

vq_status vq_h3q_session_encode(const uint8_t *session, size_t session_len, const vq_h3_settings *settings,
                                uint8_t *out, size_t cap, size_t *len)
{
  vq_h3q_session_file f;
  memset(&f, 0, sizeof f);
  if (!session || session_len == 0)
    return VQ_ERR_INVALID_ARGUMENT;
  f.session = session;
  f.session_len = session_len;
  if (settings) {
    f.settings = *settings;
    f.has_settings = 1;
  }
  return file_encode(1, &f, out, cap, len);
}

static void file_clear(vq_h3q_session_file *f)
{
  memset(f, 0, sizeof *f);
  vq_h3_settings_init(&f->settings);
}

vq_status vq_h3q_session_file_decode(const uint8_t *in, size_t len, vq_h3q_session_file *f)
{
  file_clear(f);
  size_t o = sizeof sess_magic;
  if (!in || len < o + 2 || len > VQ_H3Q_SESSION_MAX || memcmp(in, sess_magic, 4) != 0 ||
      (in[4] != 1 && in[4] != 2 && in[4] != 3))
    return VQ_ERR_TLS_SESSION_INVALID;
  int version = in[4];
  size_t sl = (size_t)in[o] << 8 | in[o + 1];
  o += 2;
  if ((version == 1 && sl == 0) || sl > VQ_TLS_SESSION_MAX || len - o < sl)
    return VQ_ERR_TLS_SESSION_INVALID;
  const uint8_t *sp = in + o;
  o += sl;
  if (len - o < 2)
    return VQ_ERR_TLS_SESSION_INVALID;
  size_t pl = (size_t)in[o] << 8 | in[o + 1];
  o += 2;
  if (pl > VQ_H3Q_SETTINGS_MAX || len - o < pl || (version == 1 && len - o != pl))
    return VQ_ERR_TLS_SESSION_INVALID;
  const uint8_t *pp = in + o;
  o += pl;
  const uint8_t *op = NULL, *tp = NULL;
  size_t ol = 0, tl = 0;
  uint32_t tv = 0;
  if (version >= 2) {
    if (len - o < 1)
      return VQ_ERR_TLS_SESSION_INVALID;
    ol = in[o++];
    if (len - o < ol)
      return VQ_ERR_TLS_SESSION_INVALID;
    op = in + o;
    o += ol;
    if (len - o < 2)
      return VQ_ERR_TLS_SESSION_INVALID;
    tl = (size_t)in[o] << 8 | in[o + 1];
    o += 2;
    /* a token always with its server, and nothing after it (version 3: but its QUIC version) */
    size_t after = version == 3 ? 4u : 0u;
    if (tl > VQ_H3Q_TOKEN_MAX || len - o < after || len - o - after != tl || (tl == 0) != (ol == 0))
      return VQ_ERR_TLS_SESSION_INVALID;
    tp = in + o;
    for (size_t i = 0; i < after; i++)
      tv = tv << 8 | in[o + tl + i];
    if (tl == 0 && tv != 0)
      return VQ_ERR_TLS_SESSION_INVALID;
  }
  if (pl) {
    vq_h3_settings s;
    if (vq_h3_settings_parse(pp, pl, &s) != VQ_OK)
      return VQ_ERR_TLS_SESSION_INVALID;
    /* only known settings are remembered: a payload of reserved or unknown ones alone holds nothing
     * (it re-encodes as no settings, so what vq-client writes back reads the same) */
    if (s.has_max_field_section_size || s.has_qpack_max_table_capacity || s.has_qpack_blocked_streams ||
        s.has_enable_connect_protocol || s.has_h3_datagram) {
      f->settings = s;
      f->has_settings = 1;
    }
  }
  if (sl) {
    f->session = sp;
    f->session_len = sl;
  }
  if (tl) {
    f->origin = op;
    f->origin_len = ol;
    f->token = tp;
    f->token_len = tl;
    f->token_version = tv;
  }
  return VQ_OK;
}

vq_status vq_h3q_session_decode(const uint8_t *in, size_t len, const uint8_t **session, size_t *session_len,
                                vq_h3_settings *settings, int *has_settings)
{
  vq_h3q_session_file f;
  *session = NULL;
  *session_len = 0;
  *has_settings = 0;
  vq_h3_settings_init(settings);
  if (vq_h3q_session_file_decode(in, len, &f) != VQ_OK || !f.session)
    return VQ_ERR_TLS_SESSION_INVALID;
  *session = f.session;
  *session_len = f.session_len;
  *settings = f.settings;
  *has_settings = f.has_settings;
  return VQ_OK;
}
