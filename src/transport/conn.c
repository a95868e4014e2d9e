/* vquic — the QUIC connection: lifecycle, receiving, frame processing, the handshake glue, timers and
 * closing (RFC 9000, RFC 9001, RFC 9002). Packet building is in conn_send.c, streams in
 * conn_stream.c. */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"
#include "vquic/pn.h"
#include "vquic/varint.h"

static const vq_level space_level[VQ_SPACE_COUNT] = {VQ_LEVEL_INITIAL, VQ_LEVEL_HANDSHAKE,
                                                     VQ_LEVEL_APP};

const vq_cx *vq_conn_cx(const vq_conn *c, const vq_cx *cx, vq_cx *tmp)
{
  if (!c || !c->cfg.trace || !cx)
    return cx;
  *tmp = *cx;
  tmp->trace = c->cfg.trace;
  return tmp;
}

/* ---- events ---------------------------------------------------------------------------------- */

void vq_conn_push_event(vq_conn *c, vq_conn_event_type t, uint64_t stream_id, uint64_t code)
{
  if (c->ev_count == c->ev_cap) {
    /* grow the ring (in order from 0); past the bound events are dropped and counted */
    uint32_t ncap = c->ev_cap ? c->ev_cap * 2 : VQ_EVENTS_FIRST;
    vq_conn_event *n = ncap <= VQ_EVENTS_MAX ? vq_mem_alloc(&c->mem, ncap * sizeof(*n)) : NULL;
    if (!n) {
      c->ev_dropped++;
      return;
    }
    for (uint32_t i = 0; i < c->ev_count; i++)
      n[i] = c->ev[(c->ev_head + i) % c->ev_cap];
    if (c->ev)
      vq_mem_free(&c->mem, c->ev, c->ev_cap * sizeof(*c->ev));
    c->ev = n;
    c->ev_cap = ncap;
    c->ev_head = 0;
  }
  vq_conn_event *e = &c->ev[(c->ev_head + c->ev_count) % c->ev_cap];
  memset(e, 0, sizeof(*e));
  e->type = t;
  e->stream_id = stream_id;
  e->error_code = code;
  if (t == VQ_CONN_EV_CLOSED) {
    e->app = c->close_app;
    e->by_peer = c->closed_by_peer;
  }
  c->ev_count++;
}

int vq_conn_poll_event(vq_conn *c, vq_conn_event *ev)
{
  if (c->ev_count == 0)
    return 0;
  *ev = c->ev[c->ev_head];
  c->ev_head = (c->ev_head + 1) % c->ev_cap;
  c->ev_count--;
  if (ev->type == VQ_CONN_EV_DATAGRAM)
    c->dg_ev_pending = 0;
  if (ev->type == VQ_CONN_EV_STREAM_READABLE) {
    vq_stream *s = vq_conn_stream_find(c, ev->stream_id);
    if (s)
      s->readable_ev = 0;
  }
  return 1;
}

/* ---- configuration and creation -------------------------------------------------------------- */

static void config_defaults(vq_conn_config *k)
{
  if (!k->version && !k->is_server && k->session && k->session_len) {
    /* spec: rfc9369#5/1 — a session is usable only in the QUIC version of the connection that got
     * it: with no first-flight version configured, a client resuming starts in that version when
     * its list allows it (otherwise the session is not offered: vq_tls_resume.quic_version) */
    uint32_t sv = vq_tls_session_quic_version(k->session, k->session_len);
    int ok = vq_version_supported(sv);
    if (ok && k->versions[0]) {
      ok = 0;
      for (size_t i = 0; i < VQ_CONN_MAX_VERSIONS && k->versions[i]; i++)
        ok |= k->versions[i] == sv;
    }
    if (ok)
      k->version = sv;
  }
  if (!k->version)
    k->version = k->versions[0] ? k->versions[0] : VQ_QUIC_V1;
  /* spec: rfc9000#5.1/3 — 0 means the default: vquic never uses zero-length connection IDs */
  if (!k->cid_len)
    k->cid_len = 8;
  if (k->cid_len > VQ_CID_MAX_LEN)
    k->cid_len = VQ_CID_MAX_LEN;
  if (!k->mem_limit)
    k->mem_limit = (size_t)64 << 20;
  if (!k->max_idle_timeout_ms)
    k->max_idle_timeout_ms = 30000;
  if (!k->initial_max_data)
    k->initial_max_data = (uint64_t)4 << 20;
  if (!k->initial_max_stream_data)
    k->initial_max_stream_data = (uint64_t)1 << 20;
  if (!k->max_stream_window)
    k->max_stream_window = (uint64_t)16 << 20;
  if (k->max_stream_window < k->initial_max_stream_data)
    k->max_stream_window = k->initial_max_stream_data;
  if (!k->max_conn_window)
    k->max_conn_window = (uint64_t)24 << 20;
  /* DESIGN.md principle 5: what the peer may make us buffer (the connection's flow-control window)
   * stays within half the memory budget, the rest for send buffers and state */
  if (k->max_conn_window > k->mem_limit / 2)
    k->max_conn_window = k->mem_limit / 2;
  if (k->initial_max_data > k->max_conn_window)
    k->initial_max_data = k->max_conn_window;
  if (k->max_stream_window > k->max_conn_window)
    k->max_stream_window = k->max_conn_window;
  if (k->initial_max_stream_data > k->max_stream_window)
    k->initial_max_stream_data = k->max_stream_window;
  if (k->max_conn_window < k->initial_max_data)
    k->max_conn_window = k->initial_max_data;
  if (!k->initial_max_streams_bidi)
    k->initial_max_streams_bidi = 100;
  if (!k->initial_max_streams_uni)
    k->initial_max_streams_uni = 100;
  /* spec: rfc9000#14/1 — never below 1200 bytes: the Initials are padded to 1200
   * (rfc9000#14.1/1), so a path that cannot carry that makes no connection */
  if (!k->max_udp_payload)
    k->max_udp_payload = 1472u;
  if (k->max_udp_payload < VQ_MIN_INITIAL_DATAGRAM)
    k->max_udp_payload = VQ_MIN_INITIAL_DATAGRAM;
  if (k->max_udp_payload > 65527u)
    k->max_udp_payload = 65527u;
  if (!k->max_sent_per_space)
    k->max_sent_per_space = 4096;
  if (!k->stream_send_buffer)
    k->stream_send_buffer = (uint64_t)1 << 20;
  if (!k->dgram_queue_count)
    k->dgram_queue_count = 64;
  if (k->dgram_queue_count > 65536u)
    k->dgram_queue_count = 65536u;
  if (!k->dgram_queue_bytes)
    k->dgram_queue_bytes = (size_t)64 << 10;
  if (k->dgram_queue_bytes > k->mem_limit / 8)
    k->dgram_queue_bytes = k->mem_limit / 8;
}

static vq_status random_cid(const vq_cx *cx, size_t len, vq_cid *out)
{
  uint8_t b[VQ_CID_MAX_LEN];
  if (!cx->rng)
    return VQ_ERR_INVALID_ARGUMENT;
  vq_rng_fill(cx->rng, b, len);
  return vq_cid_set(out, b, len);
}

static void tp_cid(vq_tp_cid *d, const vq_cid *s)
{
  d->len = s->len;
  memcpy(d->bytes, s->bytes, s->len);
}

/* Our transport parameters (RFC 9000 §7.3, §18.2). */
static vq_status local_tp(vq_conn *c, uint8_t *out, size_t cap, size_t *used)
{
  vq_tp tp;
  vq_tp_init_defaults(&tp);
  const vq_conn_config *k = &c->cfg;
#define SETP(id, field, v)                                                                          \
  do {                                                                                             \
    tp.field = (v);                                                                                \
    (void)vq_tp_set_present(&tp, id, 1);                                                           \
  } while (0)
  SETP(VQ_TP_MAX_IDLE_TIMEOUT, max_idle_timeout, k->max_idle_timeout_ms);
  SETP(VQ_TP_MAX_UDP_PAYLOAD_SIZE, max_udp_payload_size, 65527);
  SETP(VQ_TP_INITIAL_MAX_DATA, initial_max_data, k->initial_max_data);
  SETP(VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL, initial_max_stream_data_bidi_local,
       k->initial_max_stream_data);
  SETP(VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE, initial_max_stream_data_bidi_remote,
       k->initial_max_stream_data);
  SETP(VQ_TP_INITIAL_MAX_STREAM_DATA_UNI, initial_max_stream_data_uni, k->initial_max_stream_data);
  SETP(VQ_TP_INITIAL_MAX_STREAMS_BIDI, initial_max_streams_bidi, k->initial_max_streams_bidi);
  SETP(VQ_TP_INITIAL_MAX_STREAMS_UNI, initial_max_streams_uni, k->initial_max_streams_uni);
  /* spec: rfc9000#5.1.2/6 — the peer's CIDs we keep; twice as many retirements fit (conn_path.c) */
  SETP(VQ_TP_ACTIVE_CONNECTION_ID_LIMIT, active_connection_id_limit, VQ_CONN_PEER_CID_LIMIT);
  /* spec: rfc9221#3 — max_datagram_frame_size announces that we accept DATAGRAM frames up to that
   * size (frame type, Length and payload); absent when DATAGRAM is off */
  if (c->dg_on)
    SETP(VQ_TP_MAX_DATAGRAM_FRAME_SIZE, max_datagram_frame_size, k->max_datagram_frame_size);
#undef SETP
  /* spec: rfc9000#9/2 — unless configured otherwise the peer is told with disable_active_migration
   * not to move to a new local address on purpose (RFC 9000 §18.2); a NAT rebinding is still
   * followed (conn_path.c) */
  if (!k->allow_active_migration)
    (void)vq_tp_set_present(&tp, VQ_TP_DISABLE_ACTIVE_MIGRATION, 1);
  /* spec: rfc9000#7.3 — both endpoints send initial_source_connection_id; the server also sends
   * original_destination_connection_id. */
  tp_cid(&tp.initial_source_connection_id, &c->scid);
  (void)vq_tp_set_present(&tp, VQ_TP_INITIAL_SOURCE_CONNECTION_ID, 1);
  if (c->is_server && c->has_reset_token) {
    /* spec: rfc9000#10.3 — the server's stateless reset token for the CID of the handshake */
    memcpy(tp.stateless_reset_token, c->reset_token, 16);
    (void)vq_tp_set_present(&tp, VQ_TP_STATELESS_RESET_TOKEN, 1);
  }
  if (c->is_server && c->retry_received) {
    tp_cid(&tp.retry_source_connection_id, &c->retry_scid);
    (void)vq_tp_set_present(&tp, VQ_TP_RETRY_SOURCE_CONNECTION_ID, 1);
  }
  if (c->is_server && c->has_pa) {
    /* spec: rfc9000#9.6 — the server's preferred address with the CID of sequence number 1 and
     * its stateless reset token (vq_conn_pa_server_init) */
    tp.preferred_address = c->pa;
    (void)vq_tp_set_present(&tp, VQ_TP_PREFERRED_ADDRESS, 1);
  }
  if (c->is_server) {
    tp_cid(&tp.original_destination_connection_id, &c->odcid);
    (void)vq_tp_set_present(&tp, VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID, 1);
  }
  vq_conn_version_local_tp(c, &tp);
  return vq_tp_encode(&tp, c->is_server ? VQ_TP_SERVER : VQ_TP_CLIENT, out, cap, used);
}

vq_status vq_conn_local_tp(vq_conn *c, uint8_t *out, size_t cap, size_t *used)
{
  return local_tp(c, out, cap, used);
}

static vq_status conn_alloc(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg)
{
  vq_conn_config k = *cfg;
  config_defaults(&k);
  vq_mem m;
  vq_mem_init(&m, NULL, parent, k.mem_limit);
  vq_conn *c = vq_mem_calloc(&m, 1, sizeof(*c));
  if (!c)
    return VQ_ERR_NOMEM;
  c->mem = m;
  c->cfg = k;
  if (k.stateless_reset_token) {
    memcpy(c->reset_token, k.stateless_reset_token, 16);
    c->has_reset_token = 1;
  }
  c->cfg.stateless_reset_token = NULL; /* the caller's buffer need not outlive this call */
  if (k.reset_key) {
    memcpy(c->cid_key, k.reset_key, sizeof(c->cid_key));
    c->have_cid_key = 1;
  }
  c->cfg.reset_key = NULL;
  if (k.is_server && k.preferred_address) {
    c->pa = *k.preferred_address;
    c->has_pa = 1;
  }
  c->cfg.preferred_address = NULL; /* copied */
  c->cfg.token = NULL; /* copied by vq_conn_new_client */
  c->cfg.token_len = 0;
  if (k.is_server && k.preferred_local && k.preferred_local_len > 0 &&
      k.preferred_local_len <= VQ_ADDR_MAX) {
    memcpy(c->spa_local, k.preferred_local, k.preferred_local_len);
    c->spa_local_len = k.preferred_local_len;
  }
  c->cfg.preferred_local = NULL; /* copied */
  c->path_deadline = c->path_resend_at = VQ_TIME_NEVER;
  c->pa_deadline = c->pa_resend_at = VQ_TIME_NEVER;
  c->pp_deadline = c->pp_resend_at = VQ_TIME_NEVER;
  c->is_server = k.is_server;
  c->version = k.version;
  vq_conn_version_init(c);
  vq_pp_key_init(&c->initial_rx_orig);
  c->state = VQ_CONN_HANDSHAKE;
  c->max_udp_payload = k.max_udp_payload;
  vq_conn_pmtu_init(c);
  c->idle_deadline = VQ_TIME_NEVER;
  c->close_deadline = VQ_TIME_NEVER;
  c->pace_until = VQ_TIME_NEVER;
  c->idle_timeout = VQ_MS(k.max_idle_timeout_ms);
  c->peer_ack_delay_exp = VQ_TP_DEFAULT_ACK_DELAY_EXPONENT;
  for (int i = 0; i < VQ_SPACE_COUNT; i++) {
    vq_space *s = &c->sp[i];
    vq_ackset_init(&s->recv, s->recv_s, VQ_ACK_RANGES);
    s->largest_recv = -1;
    s->ack_deadline = VQ_TIME_NEVER;
    vq_sendbuf_init(&s->crypto_tx, &c->mem, VQ_CRYPTO_WINDOW * 2);
    vq_recvbuf_init(&s->crypto_rx, &c->mem, VQ_CRYPTO_WINDOW);
    vq_pp_key_init(&s->tx);
    vq_pp_key_init(&s->rx);
  }
  vq_pp_key_init(&c->app_rx_next);
  vq_pp_key_init(&c->app_rx_prev);
  c->app_rx_prev_until = VQ_TIME_NEVER;
  c->rx_cur_min_pn = c->rx_cur_max_pn = c->rx_prev_max_pn = -1;
  c->ku_acked_at = VQ_TIME_NEVER;
  vq_recovery_config rc = {k.cc, c->max_udp_payload, VQ_K_INITIAL_RTT, k.max_sent_per_space,
                           !k.disable_pacing};
  vq_status st = vq_recovery_init(&c->rec, &c->mem, &rc);
  if (st != VQ_OK) {
    vq_mem_free(&c->mem, c, sizeof(*c));
    return st;
  }
  c->sf_cap = 64;
  c->sf = vq_mem_calloc(&c->mem, c->sf_cap, sizeof(vq_sent_frame));
  if (!c->sf) {
    vq_recovery_free(&c->rec);
    vq_mem_free(&c->mem, c, sizeof(*c));
    return VQ_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < c->sf_cap; i++)
    c->sf[i].next = i + 1 < c->sf_cap ? i + 1 : VQ_SF_NIL;
  c->sf_free = 0;
  /* flow control (RFC 9000 §4): our limits; the peer's arrive with its transport parameters */
  vq_fc_rx_init(&c->fc_rx, k.initial_max_data, k.max_conn_window);
  vq_fc_tx_init(&c->fc_tx, 0);
  /* application data may hold a quarter of the budget: handshake, recovery and receive state keep
   * the rest (DESIGN.md principle 5) */
  c->send_cap = k.mem_limit / 4;
  c->early_discard_at = VQ_TIME_NEVER;
  vq_pp_key_init(&c->early_tx);
  vq_pp_key_init(&c->early_rx);
  c->local_max_streams[0] = k.initial_max_streams_bidi;
  c->local_max_streams[1] = k.initial_max_streams_uni;
  /* ECN: this path starts testing (the creator sets the start time); spec: rfc9000#13.4.2 */
  vq_ecn_init(&c->ecn, !k.disable_ecn, 0);
  if (k.max_datagram_frame_size > 0) {
    /* DATAGRAM queues (RFC 9221 §5): bounded in datagrams and bytes, both from the budget */
    size_t nb = k.dgram_queue_bytes, nl = (size_t)k.dgram_queue_count * sizeof(size_t);
    c->dg_mem_len = 2 * (nb + nl);
    c->dg_mem = vq_mem_alloc(&c->mem, c->dg_mem_len);
    if (!c->dg_mem) {
      vq_mem_free(&c->mem, c->sf, (size_t)c->sf_cap * sizeof(vq_sent_frame));
      vq_recovery_free(&c->rec);
      vq_mem_free(&c->mem, c, sizeof(*c));
      return VQ_ERR_NOMEM;
    }
    size_t *lens = (size_t *)(void *)c->dg_mem; /* the lengths first: aligned */
    vq_dgram_config dc;
    memset(&dc, 0, sizeof(dc));
    dc.tx_lens = lens;
    dc.rx_lens = lens + k.dgram_queue_count;
    dc.tx_count = dc.rx_count = k.dgram_queue_count;
    dc.tx_buf = c->dg_mem + 2 * nl;
    dc.rx_buf = dc.tx_buf + nb;
    dc.tx_bytes = dc.rx_bytes = nb;
    /* spec: rfc9221#5.3/1 — the receive queue keeps the newest datagrams (the oldest are dropped
     * when it is full); the send queue refuses new ones (VQ_ERR_DGRAM_QUEUE_FULL) */
    dc.tx_policy = VQ_DGRAM_REFUSE_NEW;
    dc.rx_policy = VQ_DGRAM_DROP_OLDEST;
    dc.local_max = k.max_datagram_frame_size;
    (void)vq_dgram_init(&c->dg, &dc);
    c->dg_on = 1;
  }
  *out = c;
  return VQ_OK;
}

static vq_status start_tls(vq_conn *c, const vq_cx *cx)
{
  uint8_t tpbuf[512];
  size_t tplen = 0;
  vq_status st = local_tp(c, tpbuf, sizeof(tpbuf), &tplen);
  if (st != VQ_OK)
    return st;
  vq_tls_params p = {c->cfg.server_name, tpbuf, tplen};
  vq_tls_resume r;
  memset(&r, 0, sizeof(r));
  r.wall_ms = c->cfg.wall_clock_base_ms ? c->cfg.wall_clock_base_ms + cx->now / 1000000u : 0;
  /* spec: rfc9369#5/1, rfc9369#5/2 — sessions and tickets are bound to the QUIC version: the
   * version of this attempt's first flight (client) or of the client's Initial (server) */
  r.quic_version = c->version;
  if (!c->is_server) {
    r.session = c->cfg.session;
    r.session_len = c->cfg.session ? c->cfg.session_len : 0;
  } else {
    r.early_check = c->cfg.early_check;
    r.early_check_ud = c->cfg.early_check_ud;
    r.early_app = c->cfg.early_app;
    r.early_app_len = c->cfg.early_app ? c->cfg.early_app_len : 0;
  }
  st = vq_tls_new_ex(&c->tls, &c->mem, c->cfg.tls, &p, &r, cx);
  if (st == VQ_OK && c->is_server)
    vq_tls_set_tp_hook(c->tls, vq_conn_version_tp_hook, c);
  /* spec: rfc9001#5.6/1 — 0-RTT only when the application asked for it: a session in the config
   * and enable_early_data in its TLS context */
  if (st != VQ_OK || c->is_server || !vq_tls_early_data_offered(c->tls))
    return st;
  /* spec: rfc9000#7.4.1/4 — the client sending 0-RTT uses the server's remembered parameters;
   * spec: rfc9000#7.4.1/2 — of those only the limits (flow control, streams) are used here: the
   * remembered ack_delay_exponent, max_ack_delay, CIDs, preferred_address and stateless_reset_token
   * are not (the defaults hold until the handshake gives the new values) */
  const uint8_t *etp;
  size_t etp_len;
  vq_tls_early_peer_tp(c->tls, &etp, &etp_len);
  if (etp && vq_tp_decode(etp, etp_len, VQ_TP_SERVER, &c->early_tp) == VQ_OK) {
    c->early_tp_set = 1;
    vq_fc_tx_init(&c->fc_tx, c->early_tp.initial_max_data);
    c->peer_max_streams[0] = c->early_tp.initial_max_streams_bidi;
    c->peer_max_streams[1] = c->early_tp.initial_max_streams_uni;
    /* spec: rfc9221#3/7, rfc9221#3/1 — the remembered max_datagram_frame_size (kept with the
     * session, the server's whole parameters) lets DATAGRAM frames go in 0-RTT up to it; none when
     * the server did not send it then (vq_dgram refuses every datagram) */
    if (c->dg_on)
      vq_dgram_set_peer_max(&c->dg, vq_tp_has(&c->early_tp, VQ_TP_MAX_DATAGRAM_FRAME_SIZE)
                                        ? c->early_tp.max_datagram_frame_size : 0);
  }
  vq_conn_streams_early_limits(c); /* none but after a Version Negotiation restart */
  c->early_state = VQ_EARLY_OFFERED;
  return VQ_OK;
}

vq_status vq_conn_start_tls(vq_conn *c, const vq_cx *cx) { return start_tls(c, cx); }

static vq_status install_initial(vq_conn *c, const vq_cid *dcid)
{
  vq_space *s = &c->sp[VQ_SPACE_INITIAL];
  vq_pp_key_discard(&s->tx);
  vq_pp_key_discard(&s->rx);
  vq_pp_key cl, sv;
  vq_pp_key_init(&cl);
  vq_pp_key_init(&sv);
  /* spec: rfc9001#5.2 — Initial keys from the client's first Destination Connection ID */
  vq_status st = vq_pp_key_install_initial(&cl, &sv, c->version, dcid->bytes, dcid->len);
  if (st != VQ_OK)
    return st;
  c->initial_dcid = *dcid;
  if (c->is_server) {
    s->tx = sv;
    s->rx = cl;
  } else {
    s->tx = cl;
    s->rx = sv;
  }
  return VQ_OK;
}

vq_status vq_conn_install_initial(vq_conn *c, const vq_cid *dcid) { return install_initial(c, dcid); }

static void conn_destroy_partial(vq_conn *c)
{
  vq_conn_free(c, NULL);
}

static vq_status pump_tls(vq_conn *c, const vq_cx *cx);

vq_status vq_conn_new_client(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg, const vq_cx *cx)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  if (!cfg || cfg->is_server || !cfg->tls || (cfg->token_len && !cfg->token) ||
      cfg->token_len > VQ_CONN_TOKEN_MAX)
    return VQ_ERR_INVALID_ARGUMENT;
  vq_conn *c = NULL;
  st = conn_alloc(&c, parent, cfg);
  if (st != VQ_OK)
    return st;
  if (cfg->token_len && cfg->token_version && cfg->token_version != c->version) {
    /* spec: rfc9369#5/1 — a token of another QUIC version is not used to initiate this one */
    vq_cx_trace(cx, "token", "not sent: token_version=0x%08x version=0x%08x",
                (unsigned)cfg->token_version, (unsigned)c->version);
  } else if (cfg->token_len) {
    /* spec: rfc9000#8.1.3/2, rfc9000#8.1.3/9 — a token from an earlier connection to this server
     * goes in every Initial (build_packet) until a Retry replaces it (on_retry) */
    c->token_version = c->version;
    memcpy(c->token, cfg->token, cfg->token_len);
    c->token_len = cfg->token_len;
    c->stats.token_sent = 1;
  }
  vq_cx tcx_;
  cx = vq_conn_cx(c, cx, &tcx_);
  c->ecn.testing_start = cx->now;
  /* spec: rfc9000#7.2/1 — the client's first Destination Connection ID is unpredictable and at
   * least 8 bytes; spec: rfc9000#7.2/2 — it is kept until a packet from the server arrives (only
   * on_retry and the first Initial in recv_packet change it) */
  st = random_cid(cx, 8 > c->cfg.cid_len ? 8 : c->cfg.cid_len, &c->dcid);
  if (st == VQ_OK)
    st = random_cid(cx, c->cfg.cid_len, &c->scid);
  if (st == VQ_OK) {
    c->odcid = c->dcid;
    st = install_initial(c, &c->odcid);
  }
  if (st == VQ_OK)
    st = vq_conn_cids_init(c, cx);
  if (st == VQ_OK)
    st = start_tls(c, cx);
  if (st == VQ_OK)
    st = pump_tls(c, cx);
  if (st != VQ_OK) {
    conn_destroy_partial(c);
    return st;
  }
  c->idle_deadline = cx->now + c->idle_timeout;
  *out = c;
  return VQ_OK;
}

static vq_status new_server(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg, const vq_cx *cx,
                            const vq_cid *scid, const vq_cid *odcid, const vq_cid *retry_scid,
                            uint8_t *dgram, size_t len, uint8_t ecn);

vq_status vq_conn_new_server(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg, const vq_cx *cx,
                             const vq_cid *scid, uint8_t *dgram, size_t len)
{
  return new_server(out, parent, cfg, cx, scid, NULL, NULL, dgram, len, 0);
}

vq_status vq_conn_new_server_ecn(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg,
                                 const vq_cx *cx, const vq_cid *scid, const vq_cid *odcid,
                                 const vq_cid *retry_scid, uint8_t *dgram, size_t len, uint8_t ecn)
{
  if ((odcid == NULL) != (retry_scid == NULL))
    return VQ_ERR_INVALID_ARGUMENT;
  return new_server(out, parent, cfg, cx, scid, odcid, retry_scid, dgram, len, ecn);
}

vq_status vq_conn_new_server_retry(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg,
                                   const vq_cx *cx, const vq_cid *scid, const vq_cid *odcid,
                                   const vq_cid *retry_scid, uint8_t *dgram, size_t len)
{
  if (!odcid || !retry_scid)
    return VQ_ERR_INVALID_ARGUMENT;
  return new_server(out, parent, cfg, cx, scid, odcid, retry_scid, dgram, len, 0);
}

static vq_status new_server(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg, const vq_cx *cx,
                            const vq_cid *scid, const vq_cid *odcid, const vq_cid *retry_scid,
                            uint8_t *dgram, size_t len, uint8_t ecn)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  if (!cfg || !cfg->is_server || !cfg->tls || !scid)
    return VQ_ERR_INVALID_ARGUMENT;
  vq_pkt_header h;
  st = vq_packet_parse(dgram, len, 0, &h);
  if (st != VQ_OK)
    return st;
  if (h.type != VQ_PKT_INITIAL || !vq_version_supported(h.version))
    return VQ_ERR_PACKET_VERSION;
  vq_conn *c = NULL;
  vq_conn_config k = *cfg;
  k.version = h.version;
  st = conn_alloc(&c, parent, &k);
  if (st != VQ_OK)
    return st;
  vq_cx tcx_;
  cx = vq_conn_cx(c, cx, &tcx_);
  c->ecn.testing_start = cx->now;
  c->scid = *scid;
  vq_cid pkt_dcid;
  st = vq_cid_set(&pkt_dcid, dgram + h.dcid_off, h.dcid_len);
  c->odcid = pkt_dcid;
  if (st == VQ_OK && odcid) {
    /* spec: rfc9000#7.3/1 — after a Retry, original_destination_connection_id is the client's first
     * DCID (from the token) and retry_source_connection_id the Retry's SCID */
    c->odcid = *odcid;
    c->retry_scid = *retry_scid;
    c->retry_received = 1;
    c->stats.retry_received = 1;
    /* spec: rfc9000#8.1.2 — a valid Retry token validates the client's address */
    c->addr_validated = 1;
  }
  if (st == VQ_OK && cfg->token_validated) {
    /* spec: rfc9000#8.1.3/16 — the endpoint validated a NEW_TOKEN token for this address: the
     * handshake proceeds without the anti-amplification limit (rfc9000#8.1) */
    c->addr_validated = 1;
    c->stats.token_validated = 1;
  }
  if (st == VQ_OK)
    /* spec: rfc9000#7.2/5 — the server's Destination CID is the Source CID of the first Initial */
    st = vq_cid_set(&c->dcid, dgram + h.scid_off, h.scid_len);
  if (st == VQ_OK)
    st = install_initial(c, &pkt_dcid); /* spec: rfc9001#5.2 — keys from the DCID of this Initial */
  if (st == VQ_OK)
    st = vq_conn_cids_init(c, cx);
  if (st == VQ_OK)
    vq_conn_cids_peer_initial(c);
  if (st == VQ_OK)
    st = start_tls(c, cx);
  if (st != VQ_OK) {
    conn_destroy_partial(c);
    return st;
  }
  c->idle_deadline = cx->now + c->idle_timeout;
  *out = c;
  return vq_conn_recv(c, cx, dgram, len, ecn);
}

void vq_conn_free(vq_conn *c, uint64_t *obligations)
{
  if (!c)
    return;
  uint64_t owed = 0;
  for (vq_stream *s = c->streams; s; s = s->next)
    owed += vq_sendbuf_obligations(&s->sb);
  for (int i = 0; i < VQ_SPACE_COUNT; i++)
    if (!c->sp[i].discarded)
      owed += vq_sendbuf_obligations(&c->sp[i].crypto_tx);
  if (obligations)
    *obligations = owed;
  vq_conn_stream_free_all(c);
  for (int i = 0; i < VQ_SPACE_COUNT; i++) {
    vq_space *s = &c->sp[i];
    vq_sendbuf_free(&s->crypto_tx);
    vq_recvbuf_free(&s->crypto_rx);
    vq_pp_key_discard(&s->tx);
    vq_pp_key_discard(&s->rx);
  }
  vq_pp_key_discard(&c->app_rx_next);
  vq_pp_key_discard(&c->app_rx_prev);
  vq_pp_key_discard(&c->initial_rx_orig);
  vq_pp_key_discard(&c->early_tx);
  vq_pp_key_discard(&c->early_rx);
  vq_tls_free(c->tls);
  vq_recovery_free(&c->rec);
  if (c->ev)
    vq_mem_free(&c->mem, c->ev, c->ev_cap * sizeof(*c->ev));
  if (c->sf)
    vq_mem_free(&c->mem, c->sf, (size_t)c->sf_cap * sizeof(vq_sent_frame));
  if (c->dg_mem)
    vq_mem_free(&c->mem, c->dg_mem, c->dg_mem_len);
  vq_mem m = c->mem;
  vq_mem_free(&m, c, sizeof(*c));
}

/* ---- closing (RFC 9000 §10) ------------------------------------------------------------------ */

static vq_time three_pto(const vq_conn *c)
{
  return 3 * vq_rtt_pto(&c->rec.rtt, 1);
}

static void enter_closing(vq_conn *c, const vq_cx *cx, int app, uint64_t code, uint64_t frame_type,
                          const char *reason)
{
  if (c->state == VQ_CONN_CLOSING || c->state == VQ_CONN_DRAINING || c->state == VQ_CONN_CLOSED)
    return;
  c->state = VQ_CONN_CLOSING;
  c->close_app = app;
  c->close_code = code;
  c->close_frame_type = frame_type;
  snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
  /* spec: rfc9000#10.3/2, rfc9000#11.1/1 — every connection error (vq_conn_error) ends here: it is
   * signalled with a CONNECTION_CLOSE frame (sent by conn_send.c while closing); the silent closes
   * the RFC allows (idle timeout, stateless reset, packet numbers exhausted) do not pass here */
  c->close_pending = 1;
  /* spec: rfc9000#10.2/1 — the closing state lasts at least three times the current PTO */
  c->close_deadline = cx->now + three_pto(c);
  vq_cx_trace(cx, "connection_closed", "local code=0x%llx app=%d reason=%s",
              (unsigned long long)code, app, c->close_reason);
}

void vq_conn_close_code(vq_conn *c, const vq_cx *cx, uint64_t code, const char *reason)
{
  enter_closing(c, cx, 0, code, 0, reason);
}

void vq_conn_error(vq_conn *c, const vq_cx *cx, vq_status s, uint64_t frame_type, const char *reason)
{
  vq_disposition d = vq_status_disposition(s);
  int alert = vq_status_tls_alert(s);
  if (alert >= 0) {
    const char *det = c->tls ? vq_tls_error_detail(c->tls) : "";
    /* spec: rfc9001#4.8/1 — a TLS alert becomes CRYPTO_ERROR 0x100 + alert */
    enter_closing(c, cx, 0, VQ_TE_CRYPTO_ERROR((uint64_t)alert), frame_type,
                  reason ? reason : (det && *det ? det : vq_status_reason(s)));
    return;
  }
  if (d == VQ_DISP_CLOSE_APP)
    enter_closing(c, cx, 1, vq_status_app_error(s), 0, reason ? reason : vq_status_reason(s));
  else
    enter_closing(c, cx, 0, vq_status_transport_error(s), frame_type,
                  reason ? reason : vq_status_reason(s));
}

vq_status vq_conn_close(vq_conn *c, const vq_cx *cx_in, int app, uint64_t error_code, const char *reason)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  if (c->state >= VQ_CONN_CLOSING)
    return VQ_OK;
  enter_closing(c, cx, app, error_code, 0, reason);
  return VQ_OK;
}

static void enter_draining(vq_conn *c, const vq_cx *cx, const vq_frame_close *f, int app)
{
  if (c->state == VQ_CONN_DRAINING || c->state == VQ_CONN_CLOSED)
    return;
  if (c->state != VQ_CONN_CLOSING) {
    c->close_app = app;
    c->close_code = f->error_code;
    c->closed_by_peer = 1;
    size_t n = f->reason_len < VQ_CLOSE_REASON_MAX - 1 ? f->reason_len : VQ_CLOSE_REASON_MAX - 1;
    memcpy(c->close_reason, f->reason, n);
    c->close_reason[n] = 0;
    /* spec: rfc9000#10.2.2/3 — an endpoint that receives CONNECTION_CLOSE may send one
     * CONNECTION_CLOSE before draining; we send none (draining endpoints MUST NOT send). */
    c->close_deadline = cx->now + three_pto(c);
  }
  c->state = VQ_CONN_DRAINING;
  c->close_pending = 0;
  vq_cx_trace(cx, "connection_closed", "peer code=0x%llx app=%d reason=%s",
              (unsigned long long)c->close_code, app, c->close_reason);
}

/* ---- the handshake glue ---------------------------------------------------------------------- */

/* spec: rfc9000#7.4.1/5, rfc9000#7.4.1/6 — a server that accepted 0-RTT keeps every limit at
 * least at its remembered value: 1 if the new parameters n do, 0 if one went down */
static int tp_keeps_remembered(const vq_tp *n, const vq_tp *r)
{
  /* spec: rfc9221#3/9 — and max_datagram_frame_size at least the remembered one (absent: 0) */
  uint64_t ndg = vq_tp_has(n, VQ_TP_MAX_DATAGRAM_FRAME_SIZE) ? n->max_datagram_frame_size : 0;
  uint64_t rdg = vq_tp_has(r, VQ_TP_MAX_DATAGRAM_FRAME_SIZE) ? r->max_datagram_frame_size : 0;
  return ndg >= rdg &&
         n->initial_max_data >= r->initial_max_data &&
         n->initial_max_stream_data_bidi_local >= r->initial_max_stream_data_bidi_local &&
         n->initial_max_stream_data_bidi_remote >= r->initial_max_stream_data_bidi_remote &&
         n->initial_max_stream_data_uni >= r->initial_max_stream_data_uni &&
         n->initial_max_streams_bidi >= r->initial_max_streams_bidi &&
         n->initial_max_streams_uni >= r->initial_max_streams_uni &&
         n->active_connection_id_limit >= r->active_connection_id_limit;
}

/* The server refused 0-RTT (or the ticket): spec: rfc9001#4.6.2/3 — the state of every stream is
 * reset: what was sent in 0-RTT never arrived, so the packets are forgotten (their control frames
 * queued again), every stream's data is unsent again from its start and flow control starts over
 * with the limits of the new transport parameters (set by apply_peer_tp right after). The data the
 * application handed over stays owed (DESIGN.md principle 4) and goes in 1-RTT packets. */
static void early_rewind(vq_conn *c, const vq_cx *cx)
{
  vq_pp_key_discard(&c->early_tx);
  vq_recovery_state rs;
  vq_conn_recovery_state(c, &rs);
  vq_recovery_discard_space(&c->rec, VQ_SPACE_APP, &rs, cx->now,
                            &(vq_recovery_cb){vq_conn_on_packet_requeue, c});
  vq_fc_tx_init(&c->fc_tx, 0);
  c->data_blocked_pending = 0;
  for (vq_stream *st = c->streams; st; st = st->next) {
    vq_sendbuf_rewind(&st->sb);
    vq_fc_tx_init(&st->fc_tx, 0);
    st->sdb_pending = 0;
    if (st->ss == VQ_SEND_DATA_SENT)
      st->ss = VQ_SEND_SEND;
    if (st->reset_sent && !st->reset_acked)
      st->reset_pending = 1;
    if (st->stop_sent)
      st->stop_pending = 1;
    vq_conn_stream_sendq_add(c, st);
  }
}

static void early_rejected(vq_conn *c, const vq_cx *cx)
{
  c->early_state = VQ_EARLY_REJECTED;
  c->early_pn_end = c->sp[VQ_SPACE_APP].next_pn;
  early_rewind(c, cx);
  vq_conn_push_event(c, VQ_CONN_EV_EARLY_DATA, 0, 0);
  vq_cx_trace(cx, "early_data", "rejected");
}

/* A Version Negotiation restart (conn_version.c) abandons the attempt its 0-RTT packets belonged to:
 * the server of the new attempt never saw them and they were protected with keys of the abandoned
 * ClientHello. spec: rfc9001#4.6.2/4 — the 0-RTT state is forgotten like after a rejection (every
 * stream rewound, the 0-RTT packets forgotten, the 0-RTT keys and the remembered limits dropped);
 * the new attempt's start_tls offers 0-RTT again with the same session, under its own keys and
 * the remembered limits afresh, and the data goes again from its start. */
void vq_conn_early_forget(vq_conn *c, const vq_cx *cx)
{
  if (c->is_server || c->early_state == VQ_EARLY_NONE)
    return;
  early_rewind(c, cx);
  c->early_state = VQ_EARLY_NONE;
  c->early_pn_end = 0;
  c->early_tp_set = 0;
  memset(&c->early_tp, 0, sizeof(c->early_tp));
  if (c->dg_on)
    vq_dgram_set_peer_max(&c->dg, 0); /* until the new attempt's start_tls remembers it again */
  c->peer_max_streams[0] = c->peer_max_streams[1] = 0;
  vq_cx_trace(cx, "early_data", "forgotten (version negotiation)");
}

static vq_status apply_peer_tp(vq_conn *c, const vq_cx *cx)
{
  const uint8_t *tp;
  size_t len;
  vq_tls_peer_tp(c->tls, &tp, &len);
  if (!tp || c->peer_tp_done)
    return VQ_OK;
  vq_status st = vq_tp_decode(tp, len, c->is_server ? VQ_TP_CLIENT : VQ_TP_SERVER, &c->peer_tp);
  if (st != VQ_OK)
    return st;
  vq_tp *p = &c->peer_tp;
  /* spec: rfc9000#7.3/3 — initial_source_connection_id must be present (TRANSPORT_PARAMETER_ERROR) */
  if (!vq_tp_has(p, VQ_TP_INITIAL_SOURCE_CONNECTION_ID))
    return VQ_ERR_TP_MISSING;
  /* spec: rfc9000#7.3/2, rfc9000#7.3/4 — it must match the Source Connection ID of the peer's
   * first Initial; the server's original_destination_connection_id must match the client's first
   * Destination Connection ID (a mismatch is an error) */
  if (p->initial_source_connection_id.len != c->peer_initial_scid.len ||
      memcmp(p->initial_source_connection_id.bytes, c->peer_initial_scid.bytes,
             c->peer_initial_scid.len) != 0)
    return VQ_ERR_TP_VALUE;
  if (!c->is_server) {
    /* spec: rfc9000#7.3/3 — the server's original_destination_connection_id must be present */
    if (!vq_tp_has(p, VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID))
      return VQ_ERR_TP_MISSING;
    if (p->original_destination_connection_id.len != c->odcid.len ||
        memcmp(p->original_destination_connection_id.bytes, c->odcid.bytes, c->odcid.len) != 0)
      return VQ_ERR_TP_VALUE;
    /* spec: rfc9000#7.3/4 — retry_source_connection_id is present exactly when a Retry was
     * processed, and then equals the Retry's Source Connection ID */
    if ((vq_tp_has(p, VQ_TP_RETRY_SOURCE_CONNECTION_ID) != 0) != (c->retry_received != 0))
      return c->retry_received ? VQ_ERR_TP_MISSING : VQ_ERR_TP_VALUE;
    /* spec: rfc9000#18.2/7 — a server using a zero-length connection ID (an empty
     * initial_source_connection_id) that provides a preferred address violates rfc9000#18.2/5:
     * TRANSPORT_PARAMETER_ERROR (a zero-length CID inside preferred_address is refused by
     * vq_tp_decode) */
    if (vq_tp_has(p, VQ_TP_PREFERRED_ADDRESS) && p->initial_source_connection_id.len == 0)
      return VQ_ERR_TP_VALUE;
    if (c->retry_received &&
        (p->retry_source_connection_id.len != c->retry_scid.len ||
         memcmp(p->retry_source_connection_id.bytes, c->retry_scid.bytes, c->retry_scid.len) != 0))
      return VQ_ERR_TP_VALUE;
    /* spec: rfc9000#18.2/7 — a preferred_address from a server with a zero-length CID
     * (rfc9000#18.2/5): TRANSPORT_PARAMETER_ERROR (a zero-length CID inside it is refused by
     * vq_tp_decode) */
    if (vq_tp_has(p, VQ_TP_PREFERRED_ADDRESS) && p->initial_source_connection_id.len == 0)
      return VQ_ERR_TP_VALUE;
    if (c->early_state == VQ_EARLY_OFFERED) {
      /* the server's EncryptedExtensions (with these parameters) says whether 0-RTT was accepted */
      if (vq_tls_early_data_accepted(c->tls)) {
        /* spec: rfc9000#7.4.1/5 — limits below the remembered ones after accepting 0-RTT: the
         * brief's PROTOCOL_VIOLATION */
        if (c->early_tp_set && !tp_keeps_remembered(p, &c->early_tp))
          return VQ_ERR_PROTOCOL_VIOLATION;
        c->early_state = VQ_EARLY_ACCEPTED;
        vq_conn_push_event(c, VQ_CONN_EV_EARLY_DATA, 0, 1);
        vq_cx_trace(cx, "early_data", "accepted");
      } else {
        early_rejected(c, cx);
      }
    }
  }
  st = vq_conn_version_check_tp(c, cx);
  if (st != VQ_OK)
    return st;
  c->peer_tp_done = 1;
  vq_conn_cids_peer_tp(c);
  vq_fc_tx_update(&c->fc_tx, p->initial_max_data);
  c->peer_max_streams[0] = p->initial_max_streams_bidi;
  c->peer_max_streams[1] = p->initial_max_streams_uni;
  c->peer_ack_delay_exp = p->ack_delay_exponent;
  c->rec.rtt.max_ack_delay = VQ_MS(p->max_ack_delay);
  /* spec: rfc9000#10.1 — the idle timeout is the minimum of both max_idle_timeout values */
  if (p->max_idle_timeout && VQ_MS(p->max_idle_timeout) < c->idle_timeout)
    c->idle_timeout = VQ_MS(p->max_idle_timeout);
  vq_conn_pmtu_peer_tp(c, p->max_udp_payload_size);
  /* spec: rfc9221#3/1 — DATAGRAM frames may be sent once the peer's max_datagram_frame_size is
   * known and non-zero (0 or absent: vq_dgram refuses every datagram) */
  if (c->dg_on)
    vq_dgram_set_peer_max(&c->dg, vq_tp_has(p, VQ_TP_MAX_DATAGRAM_FRAME_SIZE)
                                      ? p->max_datagram_frame_size : 0);
  /* streams opened before the parameters arrived get the peer's initial limits now */
  for (vq_stream *s = c->streams; s; s = s->next) {
    uint64_t lim = vq_stream_is_unidirectional(s->id) ? p->initial_max_stream_data_uni
                   : s->local ? p->initial_max_stream_data_bidi_remote
                              : p->initial_max_stream_data_bidi_local;
    /* spec: rfc9000#7.4.1/3 — the new values replace the remembered ones: a stream that waited
     * for credit in 0-RTT goes on */
    if (vq_fc_tx_update(&s->fc_tx, lim) || s->sb.end > s->sb.sent)
      vq_conn_stream_sendq_add(c, s);
  }
  return VQ_OK;
}

static void discard_space(vq_conn *c, const vq_cx *cx, int i)
{
  vq_space *s = &c->sp[i];
  if (s->discarded)
    return;
  s->discarded = 1;
  vq_recovery_state st;
  vq_conn_recovery_state(c, &st);
  st.space_discarded[i] = 1;
  vq_recovery_discard_space(&c->rec, (vq_pn_space)i, &st, cx->now,
                            &(vq_recovery_cb){vq_conn_on_packet_fate, c});
  vq_pp_key_discard(&s->tx);
  vq_pp_key_discard(&s->rx);
  if (i == VQ_SPACE_INITIAL)
    vq_pp_key_discard(&c->initial_rx_orig);
  vq_sendbuf_abandon(&s->crypto_tx);
  s->ack_pending = 0;
  s->ack_deadline = VQ_TIME_NEVER;
  s->probes = 0;
  vq_cx_trace(cx, "key_discarded", "space=%d", i);
}

void vq_conn_discard_space(vq_conn *c, const vq_cx *cx, int space) { discard_space(c, cx, space); }

static void confirm_handshake(vq_conn *c, const vq_cx *cx)
{
  if (c->hs_confirmed)
    return;
  c->hs_confirmed = 1;
  c->peer_addr_validated = 1;
  /* spec: rfc9001#4.9.2/1 — Handshake keys are discarded once the handshake is confirmed */
  discard_space(c, cx, VQ_SPACE_HANDSHAKE);
  if (!c->is_server)
    vq_conn_pa_start(c, cx);
  vq_conn_pmtu_confirmed(c, cx->now);
}

static vq_status install_secrets(vq_conn *c, const vq_cx *cx)
{
  vq_tls_secret sec;
  while (vq_tls_poll_secret(c->tls, &sec)) {
    vq_status st = VQ_OK;
    if (sec.level == VQ_LEVEL_EARLY) {
      /* spec: rfc9001#4.6.1 — 0-RTT keys: the client's write keys once it offered early data, the
       * server's read keys once it accepted (it announces no secret when it rejects, so it never
       * processes a 0-RTT packet then: rfc9001#4.6.2/1) */
      vq_pp_key *k = c->is_server ? &c->early_rx : &c->early_tx;
      vq_pp_key_discard(k);
      /* spec: rfc9369#4.1/10 — 0-RTT packets are always in the original version (the client's
       * first flight's), also after a compatible negotiation switched to another: its keys too */
      st = vq_pp_key_install(k, c->orig_version, sec.suite, sec.secret, sec.len);
      if (st == VQ_OK && c->is_server && sec.dir == VQ_TLS_READ) {
        c->early_state = VQ_EARLY_ACCEPTED;
        vq_conn_push_event(c, VQ_CONN_EV_EARLY_DATA, 0, 1);
      }
      vq_cx_trace(cx, "key_updated", "space=0rtt dir=%s", sec.dir == VQ_TLS_READ ? "read" : "write");
    } else if (sec.level == VQ_LEVEL_HANDSHAKE || sec.level == VQ_LEVEL_APP) {
      int sp = sec.level == VQ_LEVEL_HANDSHAKE ? VQ_SPACE_HANDSHAKE : VQ_SPACE_APP;
      vq_pp_key *k = sec.dir == VQ_TLS_READ ? &c->sp[sp].rx : &c->sp[sp].tx;
      vq_pp_key_discard(k);
      st = vq_pp_key_install(k, c->version, sec.suite, sec.secret, sec.len);
      if (st == VQ_OK && sp == VQ_SPACE_APP && sec.dir == VQ_TLS_READ) {
        /* spec: rfc9001#6.3/1 — prepare the next read keys so a key update is recognised without
         * a timing signal; spec: rfc9001#6.3/5 — current and next read keys are held together */
        vq_pp_key_discard(&c->app_rx_next);
        st = vq_pp_key_update(k, &c->app_rx_next);
        c->stats.rx_key_derivations++;
      }
      if (st == VQ_OK && sp == VQ_SPACE_APP && sec.dir == VQ_TLS_WRITE && !c->is_server &&
          c->early_tx.installed) {
        /* spec: rfc9001#4.9.3/1, rfc9000#17.2.3/3 — the client discards its 0-RTT keys once it
         * installs the 1-RTT keys: no 0-RTT packet after that */
        vq_pp_key_discard(&c->early_tx);
        vq_cx_trace(cx, "key_discarded", "space=0rtt");
      }
      vq_cx_trace(cx, "key_updated", "space=%d dir=%s", sp, sec.dir == VQ_TLS_READ ? "read" : "write");
    }
    memset(sec.secret, 0, sizeof(sec.secret));
    if (st != VQ_OK)
      return st;
  }
  return VQ_OK;
}

/* Moves handshake output into the CRYPTO send streams and installs new keys. */
static vq_status pump_tls(vq_conn *c, const vq_cx *cx)
{
  for (int i = 0; i < VQ_SPACE_COUNT; i++) {
    const uint8_t *d;
    size_t n;
    vq_tls_out_peek(c->tls, space_level[i], &d, &n);
    if (n == 0)
      continue;
    size_t acc = 0;
    vq_status st = vq_sendbuf_write(&c->sp[i].crypto_tx, d, n, 0, &acc);
    if (st != VQ_OK)
      return st;
    vq_tls_out_consume(c->tls, space_level[i], acc);
    if (acc < n)
      return VQ_ERR_CRYPTO_BUFFER_EXCEEDED;
  }
  vq_status st = install_secrets(c, cx);
  if (st != VQ_OK)
    return st;
  st = apply_peer_tp(c, cx);
  if (st != VQ_OK)
    return st;
  if (!c->is_server && vq_tls_sessions_received(c->tls) != c->sessions_seen) {
    c->sessions_seen = vq_tls_sessions_received(c->tls);
    vq_conn_push_event(c, VQ_CONN_EV_SESSION_TICKET, 0, 0);
  }
  if (!c->hs_complete && vq_tls_handshake_complete(c->tls)) {
    c->hs_complete = 1;
    c->state = VQ_CONN_ESTABLISHED;
    if (!c->peer_tp_done)
      return VQ_ERR_TP_MISSING;
    vq_conn_push_event(c, VQ_CONN_EV_HANDSHAKE_DONE, 0, 0);
    vq_cx_trace(cx, "handshake_complete", "%s", c->is_server ? "server" : "client");
    if (c->is_server) {
      /* spec: rfc9001#4.1.2/1 — the server's handshake is confirmed when it completes; it sends
       * HANDSHAKE_DONE; spec: rfc9000#19.20/1 — never before (only set here, at completion) */
      c->handshake_done_pending = 1;
      confirm_handshake(c, cx);
      /* spec: rfc9000#8.1.3/1 — once the handshake is confirmed, one token for later connections
       * (made by cfg.new_token: the endpoint's, tokens.c), sent in a NEW_TOKEN frame (put_app_ctrl);
       * spec: rfc9000#19.7/1 — never an empty one */
      size_t tl = 0;
      const uint8_t *pa = NULL;
      size_t pal = 0;
      (void)vq_conn_peer_addr(c, &pa, &pal);
      if (c->cfg.new_token &&
          c->cfg.new_token(c->cfg.new_token_ud, cx, c->version, pa, pal, c->new_token,
                           sizeof(c->new_token), &tl) && tl > 0 && tl <= sizeof(c->new_token)) {
        c->new_token_len = tl;
        c->new_token_pending = 1;
      }
    }
    /* spec: rfc9000#5.1.1/3 — spare CIDs for the peer as soon as 1-RTT packets can carry them */
    vq_conn_cids_issue(c, cx);
  }
  return VQ_OK;
}

vq_status vq_conn_pump_tls(vq_conn *c, const vq_cx *cx) { return pump_tls(c, cx); }

static vq_status on_crypto(vq_conn *c, const vq_cx *cx, int space, const vq_frame_crypto *f)
{
  vq_space *s = &c->sp[space];
  /* spec: rfc9000#7.5/1 — VQ_CRYPTO_WINDOW (64 KiB) of out-of-order CRYPTO data is buffered;
   * spec: rfc9000#7.5/3 — data beyond it is CRYPTO_BUFFER_EXCEEDED */
  if (f->offset + f->len > s->crypto_rx.read + VQ_CRYPTO_WINDOW)
    return VQ_ERR_CRYPTO_BUFFER_EXCEEDED;
  vq_status st = vq_recvbuf_insert(&s->crypto_rx, f->offset, f->data, f->len, 0);
  if (st == VQ_ERR_FLOW_CONTROL || st == VQ_ERR_BUDGET || st == VQ_ERR_NOMEM)
    return VQ_ERR_CRYPTO_BUFFER_EXCEEDED;
  if (st != VQ_OK)
    return st;
  uint8_t tmp[2048];
  for (;;) {
    int fin = 0;
    size_t n = vq_recvbuf_read(&s->crypto_rx, tmp, sizeof(tmp), &fin);
    if (n == 0)
      break;
    st = vq_tls_recv(c->tls, cx, space_level[space], tmp, n);
    if (st != VQ_OK)
      return st;
  }
  return pump_tls(c, cx);
}

/* ---- frames ---------------------------------------------------------------------------------- */

static vq_frame_pkt frame_pkt_of(vq_pkt_type t)
{
  switch (t) {
  case VQ_PKT_INITIAL: return VQ_FRAME_PKT_INITIAL;
  case VQ_PKT_HANDSHAKE: return VQ_FRAME_PKT_HANDSHAKE;
  case VQ_PKT_0RTT: return VQ_FRAME_PKT_0RTT;
  default: return VQ_FRAME_PKT_1RTT;
  }
}

static vq_status on_ack(vq_conn *c, const vq_cx *cx, int space, const vq_frame_ack *a, int has_ecn)
{
  vq_time delay = 0;
  if (space == VQ_SPACE_APP) {
    /* spec: rfc9000#19.3 — ACK Delay is scaled by 2^ack_delay_exponent microseconds */
    uint64_t us = a->delay;
    if (c->peer_ack_delay_exp < 64 && us < (UINT64_MAX >> c->peer_ack_delay_exp) / 1000u)
      delay = VQ_US(us << c->peer_ack_delay_exp);
    else
      delay = VQ_TIME_NEVER / 2;
  }
  if (space == VQ_SPACE_APP && c->cur_rx_gen < c->tx_gen &&
      a->largest >= c->tx_first_pn[(c->cur_rx_gen + 1) & 1u]) {
    /* spec: rfc9001#6.2/4 — an ACK in a packet under older keys acknowledges a packet we protected
     * with newer keys: the peer took our key update without updating its own keys */
    return VQ_ERR_KEY_UPDATE;
  }
  if (space == VQ_SPACE_APP && c->early_state == VQ_EARLY_REJECTED && c->early_pn_end > 0) {
    /* spec: rfc9001#4.6.2/2 — after a rejection no 0-RTT packet was processed: an ACK of one is a
     * PROTOCOL_VIOLATION (the ranges descend: the last one holds the smallest) */
    vq_ack_iter it;
    vq_ack_range r;
    uint64_t smallest = UINT64_MAX;
    vq_ack_iter_init(&it, a);
    while (vq_ack_iter_next(&it, &r))
      smallest = r.smallest;
    if (smallest < c->early_pn_end)
      return VQ_ERR_PROTOCOL_VIOLATION;
  }
  vq_recovery_state rs;
  vq_conn_recovery_state(c, &rs);
  int sampled = 0;
  vq_recovery_cb cb = {vq_conn_on_packet_fate, c};
  /* The ECN-CE count reaches the congestion controller only once validated (below): recovery sees
   * the ACK without it. */
  vq_frame_ack plain = *a;
  plain.ecn_ce = 0;
  c->ack_newly_ect0 = 0;
  c->ack_newly_any = 0;
  vq_status st =
      vq_recovery_on_ack(&c->rec, (vq_pn_space)space, &plain, delay, &rs, cx->now, &cb, &sampled);
  if (st != VQ_OK)
    return st;
  /* spec: rfc9000#13.4.2.1 — the counts of every ACK that raises the largest acknowledged packet
   * number are validated against the ECT(0) packets it newly acknowledges (src/transport/ecn.c);
   * spec: rfc9000#13.4.2.2/1, rfc9000#13.4.2.2/4 — a failure disables marking (at any time). */
  vq_ecn_counts ec = {a->ect0, a->ect1, a->ecn_ce};
  int before = (int)c->ecn.state;
  uint64_t dce = vq_ecn_on_ack(&c->ecn, (unsigned)space, a->largest, has_ecn, &ec, c->ack_newly_ect0);
  if ((int)c->ecn.state != before)
    vq_cx_trace(cx, "ecn_state_updated", "new=%s failure=%d space=%d",
                vq_conn_ecn_state_name(c->ecn.state), (int)c->ecn.failure, space);
  /* spec: rfc9002#7.1, rfc9002#B.7 — a validated increase of the ECN-CE count is a congestion event
   * for the send time of the largest newly acknowledged packet; vq_cc_on_congestion_event reacts at
   * most once per recovery period (one RTT), as for loss. spec: rfc9002#7.3.1/1 — slow start ends. */
  if (dce > 0 && c->ack_newly_any) {
    c->stats.ecn_ce_signals++;
    vq_cc_on_congestion_event(&c->rec.cc, c->ack_newly_time, cx->now);
    vq_cx_trace(cx, "ecn_congestion", "space=%d ce_increase=%llu cwnd=%llu", space,
                (unsigned long long)dce, (unsigned long long)c->rec.cc.cwnd);
  }
  /* acknowledged data freed memory: streams refused for lack of it may write again */
  vq_conn_wake_writers(c);
  /* spec: rfc9002#A.6 — a client knows the server validated its address once a Handshake packet
   * is acknowledged */
  if (space == VQ_SPACE_HANDSHAKE)
    c->peer_addr_validated = 1;
  if (space == VQ_SPACE_APP && !c->tx_gen_acked) {
    /* spec: rfc9001#6.1/2 — the lowest pn sent under the current keys against the largest
     * acknowledged: once that is reached, another key update may be initiated */
    int ok = 0;
    uint64_t la = vq_recovery_largest_acked(&c->rec, VQ_SPACE_APP, &ok);
    if (ok && la >= c->tx_first_pn[c->tx_gen & 1u] && c->tx_gen == c->rx_gen) {
      c->tx_gen_acked = 1;
      c->ku_acked_at = cx->now;
    }
  }
  return VQ_OK;
}

static vq_status on_frame(vq_conn *c, const vq_cx *cx, int space, vq_pkt_type pt, const vq_frame *f,
                          size_t used)
{
  switch (f->type) {
  case VQ_FRAME_PADDING:
  case VQ_FRAME_PING:
    return VQ_OK;
  case VQ_FRAME_ACK:
  case VQ_FRAME_ACK_ECN:
    return on_ack(c, cx, space, &f->ack, f->type == VQ_FRAME_ACK_ECN);
  case VQ_FRAME_CRYPTO:
    return on_crypto(c, cx, space, &f->crypto);
  case VQ_FRAME_NEW_TOKEN:
    /* spec: rfc9000#19.7/4 — a server receiving NEW_TOKEN closes with PROTOCOL_VIOLATION */
    if (c->is_server)
      return VQ_ERR_PROTOCOL_VIOLATION;
    /* spec: rfc9000#8.1.3/1 — a token for a later connection: kept (the newest) and announced to the
     * application, which stores it for this server (rfc9000#8.1.3/10); the empty token was refused
     * by the parser (rfc9000#19.7/2: FRAME_ENCODING_ERROR) */
    c->stats.new_tokens_recv++;
    if (f->new_token.len <= sizeof(c->new_token) &&
        !(f->new_token.len == c->new_token_len &&
          memcmp(c->new_token, f->new_token.token, f->new_token.len) == 0)) {
      /* (a repeat of the one held: a repair of a loss, not announced again) */
      memcpy(c->new_token, f->new_token.token, f->new_token.len);
      c->new_token_len = f->new_token.len;
      vq_conn_push_event(c, VQ_CONN_EV_NEW_TOKEN, 0, 0);
    }
    return VQ_OK;
  case VQ_FRAME_RESET_STREAM:
    return vq_conn_on_reset_stream(c, &f->reset_stream);
  case VQ_FRAME_STOP_SENDING:
    return vq_conn_on_stop_sending(c, &f->stop_sending);
  case VQ_FRAME_MAX_DATA:
    /* spec: rfc9000#13.3/5 — an outdated (smaller) MAX_DATA is accepted and changes nothing */
    if (vq_fc_tx_update(&c->fc_tx, f->max_data.maximum)) {
      for (vq_stream *s = c->streams; s; s = s->next)
        if (vq_sendbuf_next(&s->sb, 1, s->fc_tx.limit, &(uint64_t){0}, &(size_t){0}, &(int){0}))
          vq_conn_stream_sendq_add(c, s);
    }
    return VQ_OK;
  case VQ_FRAME_MAX_STREAM_DATA:
    return vq_conn_on_max_stream_data(c, &f->max_stream_data);
  case VQ_FRAME_MAX_STREAMS_BIDI:
  case VQ_FRAME_MAX_STREAMS_UNI: {
    int uni = f->type == VQ_FRAME_MAX_STREAMS_UNI;
    /* spec: rfc9000#4.6/4, rfc9000#19.11/2 — a MAX_STREAMS that does not raise the limit is ignored */
    if (f->max_streams.maximum > c->peer_max_streams[uni]) {
      c->peer_max_streams[uni] = f->max_streams.maximum;
      if (c->streams_blocked_want[uni]) {
        c->streams_blocked_want[uni] = 0;
        vq_conn_push_event(c, VQ_CONN_EV_STREAM_WRITABLE, UINT64_MAX, 0);
      }
    }
    return VQ_OK;
  }
  case VQ_FRAME_DATA_BLOCKED:
    c->max_data_pending = 1; /* tell the peer our current limit again */
    return VQ_OK;
  case VQ_FRAME_STREAM_DATA_BLOCKED:
    return vq_conn_on_stream_data_blocked(c, &f->stream_data_blocked);
  case VQ_FRAME_STREAMS_BLOCKED_BIDI:
  case VQ_FRAME_STREAMS_BLOCKED_UNI:
    return VQ_OK;
  case VQ_FRAME_NEW_CONNECTION_ID:
    return vq_conn_on_new_cid(c, cx, &f->new_cid);
  case VQ_FRAME_RETIRE_CONNECTION_ID:
    return vq_conn_on_retire_cid(c, cx, f->retire_cid.sequence);
  case VQ_FRAME_PATH_CHALLENGE:
    vq_conn_on_path_challenge(c, f->path.data);
    return VQ_OK;
  case VQ_FRAME_PATH_RESPONSE:
    vq_conn_on_path_response(c, cx, f->path.data);
    return VQ_OK;
  case VQ_FRAME_CONNECTION_CLOSE:
  case VQ_FRAME_CONNECTION_CLOSE_APP:
    enter_draining(c, cx, &f->close, f->type == VQ_FRAME_CONNECTION_CLOSE_APP);
    return VQ_OK;
  case VQ_FRAME_HANDSHAKE_DONE:
    /* spec: rfc9000#19.20/2 — a server receiving HANDSHAKE_DONE closes with PROTOCOL_VIOLATION */
    if (c->is_server)
      return VQ_ERR_PROTOCOL_VIOLATION;
    /* spec: rfc9001#4.1.2 — the client's handshake is confirmed on HANDSHAKE_DONE */
    confirm_handshake(c, cx);
    return VQ_OK;
  case VQ_FRAME_DATAGRAM:
  case VQ_FRAME_DATAGRAM_LEN: {
    /* spec: rfc9221#3/3 — DATAGRAM without having advertised max_datagram_frame_size, spec:
     * rfc9221#3/4 — or larger (the whole frame) than we advertised: PROTOCOL_VIOLATION */
    if (!c->dg_on)
      return VQ_ERR_DGRAM_PROTOCOL;
    uint64_t dropped = c->dg.rx.dropped;
    vq_status st = vq_dgram_on_frame(&c->dg, &f->datagram, used);
    if (st != VQ_OK)
      return st;
    /* spec: rfc9221#5/2 — delivered to the application at once: an event says datagrams wait;
     * spec: rfc9221#5.3/1 — a full receive queue drops the oldest */
    c->stats.dgram_recv_dropped += c->dg.rx.dropped - dropped;
    if (f->datagram.len <= c->dg.rx.cap_bytes)
      c->stats.dgram_recv++; /* (a larger one cannot be kept: only counted as dropped) */
    if (!c->dg_ev_pending && c->dg.rx.n > 0) {
      c->dg_ev_pending = 1;
      vq_conn_push_event(c, VQ_CONN_EV_DATAGRAM, 0, 0);
    }
    return VQ_OK;
  }
  default:
    if (f->type >= VQ_FRAME_STREAM && f->type <= (VQ_FRAME_STREAM | 7u)) {
      (void)pt;
      return vq_conn_on_stream_frame(c, cx, &f->stream);
    }
    return VQ_ERR_FRAME_TYPE_UNKNOWN;
  }
}

/* Processes the frames of a decrypted payload. Returns the first error; *eliciting says whether the
 * packet was ack-eliciting. spec: rfc9000#5.2/2 — an error found after earlier frames of the packet
 * were processed is returned like any other: the caller closes the connection with it (it never
 * drops the packet as if unprocessed). */
static vq_status process_payload(vq_conn *c, const vq_cx *cx, int space, vq_pkt_type pt,
                                 const uint8_t *p, size_t len, int *eliciting, uint64_t *bad_type)
{
  /* spec: rfc9000#12.4/2 — a packet without frames is a PROTOCOL_VIOLATION */
  if (len == 0)
    return VQ_ERR_PROTOCOL_VIOLATION;
  size_t off = 0;
  while (off < len) {
    vq_frame f;
    size_t used = 0;
    vq_status st = vq_frame_parse(p + off, len - off, &f, &used);
    if (st != VQ_OK) {
      *bad_type = p[off];
      return st;
    }
    *bad_type = f.type;
    /* spec: rfc9000#12.4/3 — a frame in a packet type that does not allow it is a
     * PROTOCOL_VIOLATION */
    if (!vq_frame_allowed_in(f.type, frame_pkt_of(pt)))
      return VQ_ERR_PROTOCOL_VIOLATION;
    if (vq_frame_is_ack_eliciting(f.type))
      *eliciting = 1;
    /* spec: rfc9000#9.1 — probing frames: PATH_CHALLENGE, PATH_RESPONSE, NEW_CONNECTION_ID, PADDING */
    if (f.type != VQ_FRAME_PATH_CHALLENGE && f.type != VQ_FRAME_PATH_RESPONSE &&
        f.type != VQ_FRAME_NEW_CONNECTION_ID && f.type != VQ_FRAME_PADDING)
      c->rx_pkt_non_probing = 1;
    st = on_frame(c, cx, space, pt, &f, used);
    if (st != VQ_OK)
      return st;
    if (c->drop_packet)
      return VQ_OK; /* the rest of the packet is not processed: it is dropped, unacknowledged */
    if (c->state >= VQ_CONN_DRAINING)
      return VQ_OK;
    off += used;
  }
  return VQ_OK;
}

/* ---- receiving ------------------------------------------------------------------------------- */

static int space_of(vq_pkt_type t)
{
  switch (t) {
  case VQ_PKT_INITIAL: return VQ_SPACE_INITIAL;
  case VQ_PKT_HANDSHAKE: return VQ_SPACE_HANDSHAKE;
  case VQ_PKT_1RTT: return VQ_SPACE_APP;
  default: return -1;
  }
}

static void note_received(vq_conn *c, const vq_cx *cx, int space, uint64_t pn, int eliciting)
{
  vq_space *s = &c->sp[space];
  uint64_t dropped = s->recv.dropped;
  (void)vq_ackset_add(&s->recv, pn);
  if (s->recv.dropped != dropped && s->recv.n > 0) {
    /* spec: rfc9000#12.3/4, rfc9000#13.2.3/4 — the set forgot its lowest range: packets below what
     * it still holds are treated as duplicates from now on (we cannot be certain they were not
     * processed), so no packet in a forgotten range is accepted again */
    uint64_t lo = s->recv.r[s->recv.n - 1].lo;
    if (lo > s->floor)
      s->floor = lo;
  }
  /* spec: rfc9000#13.2.3/5 — the largest packet number processed is always kept */
  if ((int64_t)pn > s->largest_recv) {
    s->largest_recv = (int64_t)pn;
    s->largest_recv_time = cx->now;
  }
  /* spec: rfc9000#13.2.1/4 — a non-ack-eliciting packet does not make us send an ACK (nor any
   * packet): only ack-eliciting ones set ack_pending */
  if (!eliciting)
    return;
  s->ack_pending = 1;
  s->unacked_eliciting++;
  /* spec: rfc9000#13.2.1/2, rfc9000#13.2.1/1 — Initial and Handshake packets are acknowledged at
   * once; 1-RTT ones within max_ack_delay, or at once every second ack-eliciting packet
   * (rfc9000#13.2.2/1) */
  vq_time deadline;
  if (space != VQ_SPACE_APP || s->unacked_eliciting >= VQ_ACK_ELICITING_THRESHOLD)
    deadline = cx->now;
  else
    deadline = cx->now + VQ_MS(VQ_TP_DEFAULT_MAX_ACK_DELAY);
  if (deadline < s->ack_deadline)
    s->ack_deadline = deadline;
}

/* A Retry (RFC 9000 §17.2.5): the client starts over towards the Source CID the server chose,
 * with the token it gave, under Initial keys derived from that CID; the ClientHello is sent again.
 * Anything not acceptable returns an error and the packet is dropped. */
static vq_status on_retry(vq_conn *c, const vq_cx *cx, const uint8_t *pkt, size_t len,
                          const vq_pkt_header *h)
{
  /* spec: rfc9000#17.2.5.2/1 — at most one Retry per connection attempt; spec:
   * rfc9000#17.2.5.2/2 — none once an Initial (or Retry) from the server was processed */
  if (c->is_server || c->retry_received || c->have_peer_scid || h->version != c->version)
    return VQ_ERR_PROTOCOL_VIOLATION;
  /* spec: rfc9000#17.2.5.2/4 — a zero-length token is discarded (the parser requires one); the
   * token must also fit what we keep */
  if (h->token_len == 0 || h->token_len > sizeof(c->token))
    return VQ_ERR_PACKET_RETRY;
  /* spec: rfc9000#17.2.5.1/2 — a Retry whose Source CID is our Initial's Destination CID is
   * discarded */
  if (h->scid_len == c->odcid.len && memcmp(pkt + h->scid_off, c->odcid.bytes, h->scid_len) == 0)
    return VQ_ERR_PROTOCOL_VIOLATION;
  /* spec: rfc9000#17.2.5.2/3 — the Retry Integrity Tag is checked against our first DCID */
  vq_status st = vq_retry_tag_verify(c->version, c->odcid.bytes, c->odcid.len, pkt, len);
  if (st != VQ_OK)
    return st;
  vq_cid scid;
  st = vq_cid_set(&scid, pkt + h->scid_off, h->scid_len);
  if (st != VQ_OK)
    return st;
  /* spec: rfc9000#17.2.5.1/3 — later packets go to the Retry's Source CID; the Initial keys follow
   * it (rfc9001#5.2); spec: rfc9000#17.2.5.2/5 — our own Source CID stays */
  c->retry_scid = scid;
  c->dcid = scid;
  /* spec: rfc9000#8.1.2/1 — the token goes in every later Initial (build_packet), replacing a
   * NEW_TOKEN token given in the config (rfc9000#8.1.3/2); spec: rfc9000#8.1.3/3,
   * rfc9000#8.1.3/12 — it is kept in this connection only, never for another
   * (vq_conn_new_token_get returns NEW_TOKEN tokens only) */
  memcpy(c->token, pkt + h->token_off, h->token_len);
  c->token_len = h->token_len;
  c->token_version = c->version;
  c->retry_received = 1;
  c->stats.retry_received = 1;
  st = install_initial(c, &scid);
  if (st != VQ_OK)
    return st;
  /* spec: rfc9002#6.3 — what was sent in Initial packets is abandoned without a congestion signal
   * (the records are released) and sent again; spec: rfc9000#17.2.5.3/4 — packet numbers go on */
  vq_space *s = &c->sp[VQ_SPACE_INITIAL];
  vq_recovery_state rs;
  vq_conn_recovery_state(c, &rs);
  vq_recovery_discard_space(&c->rec, VQ_SPACE_INITIAL, &rs, cx->now,
                            &(vq_recovery_cb){vq_conn_on_packet_fate, c});
  /* spec: rfc9000#17.2.5.3/1 — the same ClientHello goes out again */
  if (s->crypto_tx.sent > s->crypto_tx.base)
    (void)vq_sendbuf_on_lost(&s->crypto_tx, s->crypto_tx.base,
                             (size_t)(s->crypto_tx.sent - s->crypto_tx.base), 0);
  /* spec: rfc9000#17.2.5.3/3, rfc9001#4.6.2/4 — 0-RTT is attempted again: the server answered the
   * first flight statelessly, so the 0-RTT packets sent before the Retry reached no connection. They
   * are forgotten without a congestion signal and what they carried is queued again (as for a loss,
   * without counting one), to go in 0-RTT packets to the Retry's connection ID under the same 0-RTT
   * keys (the ClientHello is the same) and the same remembered limits: the flow-control credit the
   * data used stays used (the same bytes at the same offsets). spec: rfc9000#17.2.5.3/4 — the
   * packet numbers of the application space go on too. */
  if (c->early_state == VQ_EARLY_OFFERED && c->early_tx.installed) {
    vq_conn_recovery_state(c, &rs);
    vq_recovery_discard_space(&c->rec, VQ_SPACE_APP, &rs, cx->now,
                              &(vq_recovery_cb){vq_conn_on_packet_requeue, c});
  }
  vq_cx_trace(cx, "retry", "scid_len=%zu token_len=%zu", h->scid_len, h->token_len);
  return VQ_OK;
}

/* ---- key update (RFC 9001 §6) and AEAD limits (§6.6) ------------------------------------------- */

static uint64_t aead_integrity_limit(const vq_conn *c, const vq_pp_key *k)
{
  if (c->cfg.aead_integrity_limit)
    return c->cfg.aead_integrity_limit;
  uint64_t conf = 0, integ = 0;
  /* Initial packets use AES-128-GCM (rfc9001#5.2); the limit of the key that failed applies */
  if (vq_aead_limits(k->installed ? k->suite : VQ_CS_AES_128_GCM_SHA256, &conf, &integ) != VQ_OK)
    return UINT64_C(1) << 36;
  return integ;
}

uint64_t vq_conn_aead_conf_limit(const vq_conn *c)
{
  if (c->cfg.aead_confidentiality_limit)
    return c->cfg.aead_confidentiality_limit;
  uint64_t conf = 0, integ = 0;
  if (vq_aead_limits(c->sp[VQ_SPACE_APP].tx.suite, &conf, &integ) != VQ_OK)
    return UINT64_C(1) << 23;
  return conf;
}

int vq_conn_key_update_permitted(const vq_conn *c)
{
  /* spec: rfc9001#6/1, rfc9001#6.1/1 — only once the handshake is confirmed; spec: rfc9001#6.1/2 —
   * not before a packet of the current key phase was acknowledged (tx_gen_acked, set in on_ack),
   * which needs the peer to have answered the previous update (tx_gen == rx_gen) */
  return c->state == VQ_CONN_ESTABLISHED && c->hs_confirmed && c->sp[VQ_SPACE_APP].tx.installed &&
         !c->sp[VQ_SPACE_APP].discarded && c->tx_gen == c->rx_gen && c->tx_gen_acked;
}

/* Moves the write keys to the next generation (our update, or the answer to the peer's). */
static vq_status update_tx_keys(vq_conn *c, const vq_cx *cx)
{
  vq_space *s = &c->sp[VQ_SPACE_APP];
  vq_pp_key nk;
  vq_pp_key_init(&nk);
  /* spec: rfc9001#6.1 — secret_<n+1> from the "quic ku" label; the header protection key stays */
  vq_status st = vq_pp_key_update(&s->tx, &nk);
  if (st != VQ_OK)
    return st;
  /* spec: rfc9001#6.4 — the old write keys are discarded at once: only the current keys are used */
  vq_pp_key_discard(&s->tx);
  s->tx = nk;
  c->tx_gen++;
  c->tx_first_pn[c->tx_gen & 1u] = s->next_pn;
  c->tx_gen_acked = 0;
  c->ku_acked_at = VQ_TIME_NEVER;
  c->tx_key_pkts = 0;
  vq_cx_trace(cx, "key_updated", "space=%d dir=write generation=%llu", VQ_SPACE_APP,
              (unsigned long long)c->tx_gen);
  return VQ_OK;
}

vq_status vq_conn_key_update_now(vq_conn *c, const vq_cx *cx)
{
  if (!vq_conn_key_update_permitted(c))
    return VQ_ERR_KEY_UPDATE_BLOCKED;
  /* spec: rfc9001#6.1 — the initiator updates its write keys and toggles the Key Phase bit; its next
   * read keys (app_rx_next, made in advance) take the peer's answer */
  vq_status st = update_tx_keys(c, cx);
  if (st == VQ_OK)
    c->stats.key_updates_initiated++;
  return st;
}

vq_status vq_conn_initiate_key_update(vq_conn *c, const vq_cx *cx_in)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  if (c->state >= VQ_CONN_CLOSING)
    return VQ_ERR_STREAM_STATE;
  st = vq_conn_key_update_now(c, cx);
  /* spec: rfc9001#6.1/2 — refused until a packet of the current key phase is acknowledged: an
   * endpoint sending only ACKs (a downloading client) would never get one, so the next packet
   * carries a PING (at most once per PTO) and a later call succeeds */
  if (st == VQ_ERR_KEY_UPDATE_BLOCKED && c->state == VQ_CONN_ESTABLISHED && c->hs_confirmed &&
      c->tx_gen == c->rx_gen && !c->tx_gen_acked &&
      (c->ku_ping_last == 0 || cx->now >= c->ku_ping_last + three_pto(c) / 3))
    c->ku_ping_wanted = 1;
  return st;
}

int vq_conn_app_key_usable(vq_conn *c, const vq_cx *cx)
{
  uint64_t limit = vq_conn_aead_conf_limit(c);
  if (vq_conn_key_update_permitted(c)) {
    int want = 0;
    /* spec: rfc9001#6.6/3, rfc9001#5.3/3 — a key update well before the confidentiality limit (at
     * three quarters of it, so that the peer's answer and an ACK can come back in time) */
    if (limit != UINT64_MAX && c->tx_key_pkts >= limit - limit / 4)
      want = 1;
    /* the configured period; spec: rfc9001#6.5/3 — three PTOs after the ACK that confirmed the
     * previous update */
    if (c->cfg.key_update_every && c->tx_key_pkts >= c->cfg.key_update_every &&
        (c->tx_gen == 0 || cx->now >= c->ku_acked_at + three_pto(c)))
      want = 1;
    if (want)
      (void)vq_conn_key_update_now(c, cx);
  } else if (c->state == VQ_CONN_ESTABLISHED && c->hs_confirmed && c->tx_gen == c->rx_gen &&
             !c->tx_gen_acked &&
             ((c->cfg.key_update_every && c->tx_key_pkts >= c->cfg.key_update_every) ||
              (limit != UINT64_MAX && c->tx_key_pkts >= limit / 2)) &&
             (c->ku_ping_last == 0 || cx->now >= c->ku_ping_last + three_pto(c) / 3)) {
    /* an update is due but no packet of this phase was acknowledged (rfc9001#6.1/2): an endpoint
     * that sends only ACKs (a downloading client) would never get one; a PING, once per PTO,
     * elicits it */
    c->ku_ping_wanted = 1;
  }
  if (limit == UINT64_MAX)
    return 1;
  uint64_t reserve = limit / 8 < 8 ? limit / 8 : 8;
  if (c->state < VQ_CONN_CLOSING && c->tx_key_pkts + reserve >= limit) {
    /* spec: rfc9001#6.6/4, rfc9001#6.6/5 — no key update was possible in time: close with
     * AEAD_LIMIT_REACHED while a few packets (the CONNECTION_CLOSE) remain under the limit */
    vq_conn_error(c, cx, VQ_ERR_AEAD_LIMIT, 0, "confidentiality limit reached, no key update possible");
  }
  /* spec: rfc9001#6.6/2 — at the limit the key is used no more (nothing is sent) */
  return c->tx_key_pkts < limit;
}

/* A 1-RTT packet authenticated under the keys `which` (-1 previous, 0 current, 1 next): the key
 * update rules on the receiving side, and the rotation of the read keys when the next ones took it. */
static vq_status on_1rtt_keys(vq_conn *c, const vq_cx *cx, int which, uint64_t pn)
{
  vq_space *s = &c->sp[VQ_SPACE_APP];
  int64_t p = (int64_t)pn;
  if (which < 0) {
    /* spec: rfc9001#6.1/4, rfc9001#6.5 — a delayed packet of the previous phase, still readable */
    c->cur_rx_gen = c->rx_gen - 1;
    c->stats.old_key_pkts++;
    if (p > c->rx_prev_max_pn)
      c->rx_prev_max_pn = p;
    return VQ_OK;
  }
  if (which == 0) {
    c->cur_rx_gen = c->rx_gen;
    /* spec: rfc9001#6.4/1, rfc9001#6.4/2 — a packet under the newer keys with a lower pn than one
     * the older keys took: KEY_UPDATE_ERROR */
    if (c->rx_prev_max_pn >= 0 && p < c->rx_prev_max_pn)
      return VQ_ERR_KEY_UPDATE;
    if (c->rx_cur_min_pn < 0 || p < c->rx_cur_min_pn)
      c->rx_cur_min_pn = p;
    if (p > c->rx_cur_max_pn)
      c->rx_cur_max_pn = p;
    return VQ_OK;
  }
  /* the next keys took it: the peer's keys moved on.
   * spec: rfc9001#6.4/2 — older keys were used for a higher pn than this newer-key packet */
  if (c->rx_cur_max_pn >= 0 && p < c->rx_cur_max_pn)
    return VQ_ERR_KEY_UPDATE;
  /* an update the peer started (not its answer to ours) */
  int peer_started = c->tx_gen == c->rx_gen;
  /* spec: rfc9001#6.2/3 — a second update started by the peer before we sent, under the updated
   * keys, an ACK of the packet that started its previous one (it did not wait, rfc9001#6.1/2) */
  if (peer_started && c->ku_ack_owed)
    return VQ_ERR_KEY_UPDATE;
  /* spec: rfc9001#6.1/1 — a client cannot have confirmed the handshake before the server sent
   * HANDSHAKE_DONE: an update before that breaks the rule */
  if (c->is_server && (!c->hs_confirmed || !c->handshake_done_sent))
    return VQ_ERR_KEY_UPDATE;
  /* spec: rfc9001#6.1/3 — the old keys were kept until a packet under the new ones was unprotected;
   * spec: rfc9001#6.1/4, rfc9001#6.5/4 — they are kept for three PTOs more (reordered packets) */
  vq_pp_key_discard(&c->app_rx_prev);
  c->app_rx_prev = s->rx;
  c->app_rx_prev_until = cx->now + three_pto(c);
  c->rx_prev_max_pn = c->rx_cur_max_pn;
  s->rx = c->app_rx_next;
  vq_pp_key_init(&c->app_rx_next);
  /* spec: rfc9001#6.3/4, rfc9001#9.5/3 — the following generation is made now, not when a packet
   * claims it (rfc9001#6.3/5: current and next held together) */
  vq_status st = vq_pp_key_update(&s->rx, &c->app_rx_next);
  if (st != VQ_OK)
    return st;
  c->stats.rx_key_derivations++;
  c->rx_gen++;
  c->cur_rx_gen = c->rx_gen;
  c->rx_cur_min_pn = c->rx_cur_max_pn = p;
  c->ku_ack_owed = peer_started;
  vq_cx_trace(cx, "key_updated", "space=%d dir=read generation=%llu", VQ_SPACE_APP,
              (unsigned long long)c->rx_gen);
  if (peer_started) {
    /* spec: rfc9001#6.2/1 — the peer updated its keys: ours follow; spec: rfc9001#6.2/2 — before
     * any ACK of this packet is built (note_received comes later) */
    st = update_tx_keys(c, cx);
    if (st != VQ_OK)
      return st;
    c->stats.key_updates_answered++;
  } else if (!c->tx_gen_acked) {
    /* our update was answered: a packet of our current generation may already be acknowledged */
    int ok = 0;
    uint64_t la = vq_recovery_largest_acked(&c->rec, VQ_SPACE_APP, &ok);
    if (ok && la >= c->tx_first_pn[c->tx_gen & 1u]) {
      c->tx_gen_acked = 1;
      c->ku_acked_at = cx->now;
    }
  }
  return VQ_OK;
}

/* One packet of a datagram. Returns how many bytes it took (the rest may hold coalesced packets);
 * 0 ends the datagram. */
static size_t recv_packet(vq_conn *c, const vq_cx *cx, uint8_t *pkt, size_t len, const vq_cid *first_dcid)
{
  vq_pkt_header h;
  vq_status st = vq_packet_parse(pkt, len, c->scid.len, &h);
  /* spec: rfc9000#8.2.1/7 — no minimum size for anything but an Initial (rfc9000#14.1/4, the
   * endpoint's check): a small datagram with PATH_CHALLENGE or PATH_RESPONSE is processed;
   * spec: rfc9000#10.3/7 — what does not parse (too small to be a QUIC packet, among others) is
   * discarded; spec: rfc9000#14/4 — only discarded: the connection is not closed for it */
  if (st != VQ_OK) {
    c->stats.pkts_dropped++;
    return 0;
  }
  /* spec: rfc9000#12.2/5 — coalesced packets with a different Destination CID are dropped */
  if (first_dcid && (h.dcid_len != first_dcid->len ||
                     memcmp(pkt + h.dcid_off, first_dcid->bytes, h.dcid_len) != 0)) {
    c->stats.pkts_dropped++;
    return h.packet_len;
  }
  if (h.type == VQ_PKT_RETRY) {
    if (on_retry(c, cx, pkt, h.packet_len, &h) != VQ_OK)
      c->stats.pkts_dropped++;
    return h.packet_len;
  }
  if (h.type == VQ_PKT_VERSION_NEGOTIATION) {
    /* conn_version.c: RFC 9000 §6.2, RFC 9368 §2.1 (it may restart the attempt) */
    vq_conn_on_version_negotiation(c, cx, pkt, h.packet_len, &h);
    return 0;
  }
  if (h.type == VQ_PKT_UNKNOWN_VERSION ||
      (h.type == VQ_PKT_0RTT && (!c->is_server || !c->early_rx.installed))) {
    /* spec: rfc9001#5.6/6 — a client does not decrypt 0-RTT packets: it discards them; spec:
     * rfc9001#4.6.2/1 — nor does a server that rejected 0-RTT (it has no 0-RTT keys), or one that
     * discarded them (rfc9001#4.9.3/4) */
    c->stats.pkts_dropped++;
    return h.packet_len;
  }
  /* spec: rfc9000#12.3 — 0-RTT and 1-RTT packets share the application data space */
  int zrtt = h.type == VQ_PKT_0RTT;
  int space = zrtt ? VQ_SPACE_APP : space_of(h.type);
  if (space < 0) {
    c->stats.pkts_dropped++;
    return h.packet_len;
  }
  vq_space *s = &c->sp[space];
  if (s->discarded || (!zrtt && !s->rx.installed)) {
    /* spec: rfc9001#5.7/1, rfc9001#5.7/2, rfc9001#5.7/5 — packets for which keys are not (yet / any
     * longer) available are dropped (the peer retransmits); the 1-RTT read keys are installed only
     * when the handshake completes (src/tls/hs.c pushes them after verifying the peer's Finished) */
    c->stats.pkts_dropped++;
    return h.packet_len;
  }
  if (!c->is_server && h.type != VQ_PKT_1RTT) {
    /* spec: rfc9000#17.2.2/1 — a server's Initial carries no token: one that does is discarded */
    if (h.type == VQ_PKT_INITIAL && h.token_len != 0) {
      c->stats.pkts_dropped++;
      vq_cx_trace(cx, "packet_dropped", "reason=server_initial_with_token");
      return h.packet_len;
    }
    /* spec: rfc9000#7.2/3, rfc9000#7.2/6 — once the server's first Initial was processed, a long
     * header packet (a later Initial included) with another Source CID is discarded */
    if (c->have_peer_scid && (h.scid_len != c->peer_initial_scid.len ||
                              memcmp(pkt + h.scid_off, c->peer_initial_scid.bytes, h.scid_len) != 0)) {
      c->stats.pkts_dropped++;
      vq_cx_trace(cx, "packet_dropped", "reason=other_source_cid");
      return h.packet_len;
    }
  }
  size_t plen = h.packet_len;
  vq_unprotected u;
  vq_pp_key *key = zrtt ? &c->early_rx : &s->rx;
  vq_pp_key alt;
  int follow = 0;
  vq_pp_key_init(&alt);
  /* spec: rfc9000#5.2.1/2 — a long header packet of another version than ours is discarded, but for
   * the other version of a compatible negotiation (conn_version.c, RFC 9369 §4.1) */
  if (zrtt && h.version != c->orig_version) {
    /* spec: rfc9369#4.1/10 — 0-RTT of another version than the client's original one */
    c->stats.pkts_dropped++;
    vq_cx_trace(cx, "packet_dropped", "reason=0rtt_not_original_version");
    return plen;
  }
  if (h.type != VQ_PKT_1RTT && h.version != c->version && !zrtt) {
    key = vq_conn_version_rx_key(c, &h, space, &alt, &follow);
    if (!key) {
      c->stats.pkts_dropped++;
      return plen;
    }
  }
  int which = 0; /* 1-RTT: the keys that took the packet: -1 previous, 0 current, 1 next */
  if (space == VQ_SPACE_APP && !zrtt) {
    /* spec: rfc9001#6.3/1 — the Key Phase bit and the packet number, once header
     * protection is off (its key never changes), choose one set of keys, so one AEAD attempt is made
     * whatever the bit says; spec: rfc9001#6.5 — a phase other than the current one is the previous
     * keys' for a pn below every pn of the current phase, the next keys' otherwise */
    uint8_t mask[VQ_HP_MASK_LEN];
    st = vq_packet_unprotect_header(&s->rx, pkt, plen, h.pn_off, s->largest_recv, &u, mask);
    if (st == VQ_OK) {
      /* spec: rfc9001#9.5/1 — the choice is computed without a branch on the Key Phase bit or the
       * packet number (vq_key_phase_select, make ct-check); every set is installed in advance
       * (rfc9001#6.3/5: no key is derived here), so each choice costs one AEAD open with
       * preinitialised contexts of the same suite. */
      int prev_ok = c->app_rx_prev.installed && c->rx_cur_min_pn >= 0;
      unsigned sel = vq_key_phase_select(pkt[0], (unsigned)(c->rx_gen & 1u), prev_ok,
                                         prev_ok ? (uint64_t)c->rx_cur_min_pn : 0u, u.pn);
      which = sel == 2u ? -1 : (int)sel;
      key = which < 0 ? &c->app_rx_prev : which > 0 ? &c->app_rx_next : &s->rx;
      c->stats.aead_opens++;
      st = vq_packet_unprotect_payload(key, pkt, plen, h.pn_off, &u, mask);
    }
  } else {
    uint8_t mask[VQ_HP_MASK_LEN];
    st = vq_packet_unprotect_header(key, pkt, plen, h.pn_off, s->largest_recv, &u, mask);
    if (st == VQ_OK) {
      c->stats.aead_opens++;
      st = vq_packet_unprotect_payload(key, pkt, plen, h.pn_off, &u, mask);
    }
  }
  if (follow && st == VQ_OK)
    st = vq_conn_version_follow(c, cx, h.version, &alt);
  vq_pp_key_discard(&alt);
  if (st == VQ_ERR_PROTOCOL_VIOLATION) {
    /* spec: rfc9000#17.2/9 — non-zero reserved bits after removing protection */
    vq_conn_error(c, cx, st, 0, "reserved bits set");
    return 0;
  }
  /* spec: rfc9001#5.5/1, rfc9001#5.5/2 — a packet that neither the current nor the next keys
   * unprotect (one that appears to start a key update included) is discarded; spec: rfc9000#12.2/7
   * — only it: its length is returned, so the packets coalesced after it are processed */
  if (st != VQ_OK) {
    c->stats.pkts_dropped++;
    if (st == VQ_ERR_DECRYPT) {
      /* spec: rfc9001#6.6/6 — packets failing authentication are counted over the connection's
       * life, across all keys; spec: rfc9001#6.6/7 — past the integrity limit the connection closes
       * with AEAD_LIMIT_REACHED at once and processes no more packets (it is closing) */
      c->auth_failures++;
      c->stats.auth_failures = c->auth_failures;
      if (c->auth_failures > aead_integrity_limit(c, key)) {
        vq_conn_error(c, cx, VQ_ERR_AEAD_LIMIT, 0, "integrity limit of failed decryptions reached");
        return 0;
      }
    }
    return plen;
  }
  if (space == VQ_SPACE_APP && !zrtt) {
    st = on_1rtt_keys(c, cx, which, u.pn);
    if (st != VQ_OK) {
      vq_conn_error(c, cx, st, 0, NULL);
      return 0;
    }
  }
  /* spec: rfc9000#12.3/5, rfc9000#12.3/4 — after removing protection, duplicates (and packets
   * below the floor of forgotten ranges) are discarded; spec: rfc9001#9.5/1 — only after: a
   * duplicate packet number goes through the AEAD like any other packet, so the time taken does not
   * tell whether a guessed packet number was received */
  if (u.pn < s->floor || vq_ackset_contains(&s->recv, u.pn)) {
    c->stats.pkts_dropped++;
    return plen;
  }
  c->stats.pkts_recv++;
  c->stats.ecn_recv[c->rx_ecn & 3u]++;
  vq_cx_trace(cx, "packet_received", "space=%d pn=%llu size=%zu", space, (unsigned long long)u.pn,
              plen);
  if (!c->have_peer_scid && h.type != VQ_PKT_1RTT) {
    vq_cid_set(&c->peer_initial_scid, pkt + h.scid_off, h.scid_len);
    c->have_peer_scid = 1;
    if (!c->is_server) {
      /* spec: rfc9000#7.2/4 — the client uses the Source CID of the server's first Initial as its
       * Destination CID, and changes it only then (have_peer_scid) */
      c->dcid = c->peer_initial_scid;
      vq_conn_cids_peer_initial(c);
    }
  }
  if (c->is_server && space == VQ_SPACE_HANDSHAKE) {
    /* spec: rfc9000#8.1 — a Handshake packet from the client validates its address; spec:
     * rfc9001#4.9.1/1 — and the server discards Initial keys when it first processes one */
    c->addr_validated = 1;
    if (!c->sp[VQ_SPACE_INITIAL].discarded)
      discard_space(c, cx, VQ_SPACE_INITIAL);
  }
  int eliciting = 0;
  uint64_t bad_type = 0;
  c->drop_packet = 0;
  c->rx_pkt_non_probing = 0;
  (void)vq_cid_set(&c->rx_dcid, pkt + h.dcid_off, h.dcid_len);
  st = process_payload(c, cx, space, h.type, pkt + u.payload_offset, u.payload_len, &eliciting,
                       &bad_type);
  if (st == VQ_OK && c->drop_packet) {
    /* a frame could not be held (receive ranges full): not acknowledged, so the peer sends it again;
     * the frames before it were processed, and their retransmissions are duplicates */
    c->drop_packet = 0;
    c->stats.pkts_dropped++;
    vq_cx_trace(cx, "packet_dropped", "space=%d pn=%llu reason=receive_ranges_full", space,
                (unsigned long long)u.pn);
    return plen;
  }
  if (st != VQ_OK) {
    vq_cx_trace(cx, "frame_error", "space=%d frame=0x%llx status=%d", space,
                (unsigned long long)bad_type, (int)st);
    vq_conn_error(c, cx, st, bad_type, NULL);
    return 0;
  }
  /* spec: rfc9000#13.1/1 — acknowledged only once unprotected and all frames processed; spec:
   * rfc9000#12.2/6 — each coalesced packet is recorded in its own space */
  note_received(c, cx, space, u.pn, eliciting);
  /* spec: rfc9000#13.4.1/1 — the ECN codepoint of every packet processed is counted in its space for
   * our ACK_ECN frames, whether or not we mark our own packets */
  vq_ecn_on_received(&c->ecn, (unsigned)space, c->rx_ecn);
  /* spec: rfc9000#9.3 — only a non-probing packet with the largest packet number so far moves the
   * connection to a new peer address */
  if (space == VQ_SPACE_APP && c->rx_pkt_non_probing && (int64_t)u.pn == s->largest_recv)
    c->rx_non_probing = 1;
  if (space == VQ_SPACE_APP && c->rx_pkt_non_probing)
    c->rx_dgram_non_probing = 1;
  /* spec: rfc9000#10.1 — the idle timer restarts when a packet is processed; spec: rfc9000#10.1/1 —
   * the period is at least three times the current PTO */
  c->idle_deadline = cx->now + (c->idle_timeout > three_pto(c) ? c->idle_timeout : three_pto(c));
  c->ack_eliciting_sent_since_recv = 0;
  if (space == VQ_SPACE_APP && !c->is_server && c->hs_complete)
    c->peer_addr_validated = 1;
  if (c->is_server && h.type == VQ_PKT_1RTT && c->early_rx.installed &&
      c->early_discard_at == VQ_TIME_NEVER)
    /* spec: rfc9001#4.9.3/4, rfc9001#4.9.3/3 — after the first 1-RTT packet the 0-RTT keys are kept
     * three PTOs for reordered 0-RTT packets, then discarded */
    c->early_discard_at = cx->now + three_pto(c);
  return plen;
}

vq_status vq_conn_recv(vq_conn *c, const vq_cx *cx, uint8_t *dgram, size_t len, uint8_t ecn)
{
  return vq_conn_recv_from(c, cx, NULL, 0, dgram, len, ecn);
}

vq_status vq_conn_recv_from(vq_conn *c, const vq_cx *cx, const uint8_t *addr, size_t addr_len,
                            uint8_t *dgram, size_t len, uint8_t ecn)
{
  return vq_conn_recv_at(c, cx, 0, addr, addr_len, dgram, len, ecn);
}

vq_status vq_conn_recv_at(vq_conn *c, const vq_cx *cx_in, int at_preferred, const uint8_t *addr,
                          size_t addr_len, uint8_t *dgram, size_t len, uint8_t ecn)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  c->rx_ecn = ecn & 3u;
  /* only a server that advertised its preferred address and knows the driver's address of it */
  c->rx_at_pa = at_preferred && c->is_server && c->has_pa && c->spa_local_len > 0;
  c->rx_dgram_non_probing = 0;
  if (c->state < VQ_CONN_CLOSING && !vq_conn_path_before(c, addr, addr_len, len)) {
    c->stats.pkts_dropped++;
    return VQ_OK;
  }
  uint64_t prev_response = c->path_response_pending;
  c->stats.bytes_recv += len;
  if (len > c->stats.max_datagram_recv)
    c->stats.max_datagram_recv = len;
  /* spec: rfc9000#8.1/3 — every byte of a datagram attributed to this connection counts towards the
   * anti-amplification allowance, whether or not its packets could be processed */
  if (c->is_server && !c->addr_validated)
    c->bytes_recv_unvalidated += len;
  if (c->state == VQ_CONN_CLOSED || c->state == VQ_CONN_DRAINING)
    return VQ_OK;
  if (c->state == VQ_CONN_CLOSING) {
    /* spec: rfc9000#10.2.1/1 — in the closing state, answer incoming packets with CONNECTION_CLOSE,
     * at a limited rate; spec: rfc9000#10.2.1/5 — the bytes received bound what the answers may
     * take (vq_conn_build_datagram) */
    c->close_bytes_recv += len;
    c->close_recv_since++;
    if (c->close_recv_since >= (1u << (c->close_sends < 8 ? c->close_sends : 8)))
      c->close_pending = 1;
    return VQ_OK;
  }
  size_t off = 0;
  vq_cid first;
  int have_first = 0;
  uint64_t recv_before = c->stats.pkts_recv;
  /* spec: rfc9000#12.2/1 — a datagram's coalesced packets are processed one after the other */
  while (off < len && c->state < VQ_CONN_CLOSING) {
    vq_pkt_header h;
    if (vq_packet_parse(dgram + off, len - off, c->scid.len, &h) == VQ_OK && !have_first) {
      /* a first Destination CID longer than ours can ever be (a Version Negotiation may echo up to
       * 255 bytes, RFC 8999 §6) is not for this connection: the datagram is dropped */
      if (vq_cid_set(&first, dgram + off + h.dcid_off, h.dcid_len) != VQ_OK) {
        c->stats.pkts_dropped++;
        break;
      }
      have_first = 1;
    }
    size_t used = recv_packet(c, cx, dgram + off, len - off, have_first ? &first : NULL);
    if (used == 0)
      break;
    off += used;
  }
  /* spec: rfc9000#10.3.1/1, rfc9000#10.3.1/2 — a datagram none of whose packets could be processed,
   * ending in a stateless reset token of the peer, is a Stateless Reset; spec: rfc9000#10.3.1/3 —
   * only the tokens of the peer CIDs in use are checked (the server's transport parameter for its
   * handshake CID, NEW_CONNECTION_ID for the others: conn_path.c); spec: rfc9000#10.3.1/5 — the
   * connection drains and sends nothing more */
  if (c->stats.pkts_recv == recv_before && c->state < VQ_CONN_DRAINING &&
      vq_conn_reset_token_match(c, dgram, len)) {
    vq_frame_close fc = {0, 0, (const uint8_t *)"stateless reset", 15};
    enter_draining(c, cx, &fc, 0);
    c->closed_by_peer = 1;
    /* a reset ends the connection without a draining period (§10.3.1: no more packets to send) */
    c->close_deadline = cx->now;
    vq_cx_trace(cx, "stateless_reset", "received");
    return VQ_OK;
  }
  if (c->stats.pkts_recv != recv_before)
    vq_conn_path_after(c, cx, addr, addr_len, len, prev_response);
  c->rx_other_addr = 0;
  /* spec: rfc9002#A.6 — keys, address validation or the amplification limit may have changed: the
   * loss detection timer is set again */
  vq_recovery_state rs;
  vq_conn_recovery_state(c, &rs);
  vq_recovery_update_timer(&c->rec, &rs, cx->now);
  return VQ_OK;
}

/* ---- timers ---------------------------------------------------------------------------------- */

vq_time vq_conn_next_timeout(const vq_conn *c)
{
  if (c->state == VQ_CONN_CLOSED)
    return VQ_TIME_NEVER;
  if (c->state == VQ_CONN_CLOSING || c->state == VQ_CONN_DRAINING)
    return c->close_deadline;
  vq_time t = c->idle_deadline;
  vq_time r = vq_recovery_timer(&c->rec);
  if (r < t)
    t = r;
  if (c->pace_until < t)
    t = c->pace_until;
  for (int i = 0; i < VQ_SPACE_COUNT; i++)
    if (!c->sp[i].discarded && c->sp[i].ack_pending && c->sp[i].ack_deadline < t)
      t = c->sp[i].ack_deadline;
  if (c->app_rx_prev.installed && c->app_rx_prev_until < t)
    t = c->app_rx_prev_until;
  if (c->path_validating && c->path_deadline < t)
    t = c->path_deadline;
  if (c->path_validating && c->path_resend_at < t)
    t = c->path_resend_at;
  if (c->pa_state == VQ_PA_PROBING && c->pa_deadline < t)
    t = c->pa_deadline;
  if (c->pa_state == VQ_PA_PROBING && c->pa_resend_at < t)
    t = c->pa_resend_at;
  if (c->pp_state == VQ_PROBE_PROBING && c->pp_deadline < t)
    t = c->pp_deadline;
  if (c->pp_state == VQ_PROBE_PROBING && c->pp_resend_at < t)
    t = c->pp_resend_at;
  if (c->early_discard_at < t)
    t = c->early_discard_at;
  vq_time pm = vq_conn_pmtu_timeout(c);
  if (pm < t)
    t = pm;
  return t;
}

vq_status vq_conn_handle_timeout(vq_conn *c, const vq_cx *cx_in)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  vq_time now = cx->now;
  if (c->state == VQ_CONN_CLOSING || c->state == VQ_CONN_DRAINING) {
    if (now >= c->close_deadline) {
      c->state = VQ_CONN_CLOSED;
      vq_conn_push_event(c, VQ_CONN_EV_CLOSED, 0, c->close_code);
    }
    return VQ_OK;
  }
  if (c->state == VQ_CONN_CLOSED)
    return VQ_OK;
  if (now >= c->idle_deadline) {
    /* spec: rfc9000#10.1 — the idle timeout closes the connection silently */
    c->state = VQ_CONN_CLOSED;
    c->close_code = VQ_TE_NO_ERROR;
    snprintf(c->close_reason, sizeof(c->close_reason), "idle timeout");
    vq_conn_push_event(c, VQ_CONN_EV_CLOSED, 0, VQ_TE_NO_ERROR);
    vq_cx_trace(cx, "connection_closed", "idle timeout");
    return VQ_OK;
  }
  if (c->app_rx_prev.installed && now >= c->app_rx_prev_until) {
    /* spec: rfc9001#6.5/4, rfc9001#6.5/5 — three PTOs after the first packet under the new keys, the
     * old read keys and their secret are discarded (wiped) */
    vq_pp_key_discard(&c->app_rx_prev);
    c->app_rx_prev_until = VQ_TIME_NEVER;
    vq_cx_trace(cx, "key_discarded", "space=%d generation=%llu", VQ_SPACE_APP,
                (unsigned long long)(c->rx_gen - 1));
  }
  if (c->pa_state == VQ_PA_PROBING && (now >= c->pa_deadline || now >= c->pa_resend_at))
    vq_conn_pa_timeout(c, cx);
  if (c->pp_state == VQ_PROBE_PROBING && (now >= c->pp_deadline || now >= c->pp_resend_at))
    vq_conn_pp_timeout(c, cx);
  if (c->path_validating && now >= c->path_resend_at && now < c->path_deadline)
    vq_conn_path_resend(c, cx);
  if (c->path_validating && now >= c->path_deadline) {
    vq_conn_path_timeout(c, cx);
    if (c->state == VQ_CONN_CLOSED)
      return VQ_OK;
    /* spec: rfc9002#A.6 — back on a validated address the anti-amplification limit is gone: the
     * loss detection timer (not armed while limited) is set again */
    vq_recovery_state rs;
    vq_conn_recovery_state(c, &rs);
    vq_recovery_update_timer(&c->rec, &rs, now);
  }
  if (c->early_discard_at <= now) {
    c->early_discard_at = VQ_TIME_NEVER;
    vq_pp_key_discard(&c->early_rx);
    vq_cx_trace(cx, "key_discarded", "space=0rtt");
  }
  if (vq_recovery_timer(&c->rec) <= now) {
    vq_recovery_state rs;
    vq_conn_recovery_state(c, &rs);
    vq_pn_space ps = VQ_SPACE_INITIAL;
    uint32_t probes = 0;
    vq_recovery_on_timeout(&c->rec, &rs, now, &(vq_recovery_cb){vq_conn_on_packet_fate, c}, &ps,
                           &probes);
    if (probes) {
      c->stats.pto_count++;
      c->sp[ps].probes += probes;
      c->sp[ps].probe_cursor_set = 0; /* a resending probe starts again from the oldest in flight */
      vq_cx_trace(cx, "pto", "space=%d probes=%u", (int)ps, probes);
      /* spec: rfc9002#6.2.4/3 — a client without Handshake keys sends an Initial probe; with
       * nothing in flight in Initial, it still sends one when the server may be blocked */
    }
  }
  return VQ_OK;
}

/* ---- accessors ------------------------------------------------------------------------------- */

vq_conn_state vq_conn_get_state(const vq_conn *c) { return c->state; }
int vq_conn_is_server(const vq_conn *c) { return c->is_server; }
uint64_t vq_conn_local_initial_max_streams(const vq_conn *c, int uni)
{
  return uni ? c->cfg.initial_max_streams_uni : c->cfg.initial_max_streams_bidi;
}
const vq_cid *vq_conn_scid(const vq_conn *c) { return &c->scid; }
const vq_cid *vq_conn_dcid(const vq_conn *c) { return &c->dcid; }
const vq_cid *vq_conn_odcid(const vq_conn *c) { return &c->odcid; }
const vq_tls *vq_conn_tls(const vq_conn *c) { return c->tls; }
uint32_t vq_conn_version(const vq_conn *c) { return c->version; }
int vq_conn_version_restarted(const vq_conn *c) { return c->vn_reacted; }

uint64_t vq_conn_close_error(const vq_conn *c, int *app, int *by_peer, const char **reason)
{
  if (app)
    *app = c->close_app;
  if (by_peer)
    *by_peer = c->closed_by_peer;
  if (reason)
    *reason = c->close_reason;
  return c->close_code;
}

void vq_conn_alpn(const vq_conn *c, const uint8_t **name, size_t *len)
{
  *name = NULL;
  *len = 0;
  if (c->tls)
    vq_tls_alpn(c->tls, name, len);
}

vq_early_data vq_conn_early_data(const vq_conn *c) { return c->early_state; }
int vq_conn_resumed(const vq_conn *c) { return c->tls ? vq_tls_resumed(c->tls) : 0; }

vq_status vq_conn_session_get(const vq_conn *c, uint8_t *out, size_t cap, size_t *len)
{
  if (!c || !len)
    return VQ_ERR_INVALID_ARGUMENT;
  *len = 0;
  return c->tls ? vq_tls_session_get(c->tls, out, cap, len) : VQ_OK;
}

vq_status vq_conn_new_token_get(const vq_conn *c, uint8_t *out, size_t cap, size_t *len)
{
  if (!c || !len)
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#8.1.3/3 — only a NEW_TOKEN frame's token: a Retry's (c->token) never leaves the
   * connection attempt it came in */
  *len = c->is_server ? 0 : c->new_token_len;
  if (*len == 0)
    return VQ_OK;
  if (!out || cap < *len)
    return VQ_ERR_BUFFER_TOO_SMALL;
  memcpy(out, c->new_token, *len);
  return VQ_OK;
}

void vq_conn_get_stats(const vq_conn *c, vq_conn_stats *st)
{
  *st = c->stats;
  st->srtt = c->rec.rtt.smoothed;
  st->min_rtt = c->rec.rtt.min;
  st->rttvar = c->rec.rtt.rttvar;
  st->cwnd = c->rec.cc.cwnd;
  st->max_udp_payload = c->max_udp_payload;
  st->bytes_in_flight = c->rec.cc.bytes_in_flight;
  st->pkts_lost = c->rec.packets_lost;
  st->mem_used = c->mem.used;
  st->mem_peak = c->mem.peak;
  st->events_dropped = c->ev_dropped;
  st->dgram_send_dropped = c->dg_on ? c->dg.tx_too_large : 0;
  st->ecn_state = (int)c->ecn.state;
  st->ecn_failure = (int)c->ecn.failure;
  st->ecn_sent_ect0 = c->ecn.sent_ect0[0] + c->ecn.sent_ect0[1] + c->ecn.sent_ect0[2];
  st->ecn_acked_ect0 = c->ecn.peer[VQ_SPACE_APP].ect0;
  st->ecn_acked_ce = c->ecn.peer[VQ_SPACE_APP].ce;
  st->congestion_events = c->rec.cc.congestion_events;
}

const char *vq_conn_ecn_state_name(int state)
{
  switch (state) {
  case VQ_ECN_TESTING: return "testing";
  case VQ_ECN_UNKNOWN: return "unknown";
  case VQ_ECN_CAPABLE: return "capable";
  case VQ_ECN_FAILED: return "failed";
  default: return "?";
  }
}

/* ---- datagrams (RFC 9221) -------------------------------------------------------------------- */

/* The frame bytes one 1-RTT packet of max_udp_payload can hold: short header (1 + DCID + a packet
 * number of up to 4 bytes) and the AEAD tag taken. */
/* Whether datagrams may be queued now: once established; before, on a client sending 0-RTT (they go
 * in 0-RTT packets under the remembered max_datagram_frame_size, or after the handshake in 1-RTT
 * when 0-RTT was refused). A server sends none before its handshake completes (no 0.5-RTT data). */
static int dgram_open(const vq_conn *c)
{
  if (c->state == VQ_CONN_ESTABLISHED)
    return c->hs_complete;
  return !c->is_server && vq_conn_app_open(c);
}

/* What a packet leaves for frames: a short header's, or before the handshake completes a 0-RTT
 * packet's long header (RFC 9000 §17.2.3: version, both CIDs, a 2-byte length). */
static size_t dgram_packet_room(const vq_conn *c)
{
  size_t hdr = 1 + c->dcid.len + 4 + VQ_AEAD_TAG_LEN;
  if (!c->hs_complete)
    hdr += 4 + 1 + 1 + c->scid.len + 2;
  return c->max_udp_payload > hdr ? (size_t)c->max_udp_payload - hdr : 0;
}

size_t vq_conn_dgram_max_payload(const vq_conn *c)
{
  if (!c->dg_on || !dgram_open(c))
    return 0;
  vq_dgram d = c->dg;
  vq_dgram_set_packet_room(&d, dgram_packet_room(c));
  return vq_dgram_max_payload(&d);
}

vq_status vq_conn_dgram_send(vq_conn *c, const vq_cx *cx_in, const uint8_t *data, size_t len)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  if (!c->dg_on)
    return VQ_ERR_DGRAM_DISABLED;
  /* spec: rfc9221#5/3, rfc9221#6/1 — in 1-RTT packets, or from a client sending 0-RTT in 0-RTT
   * packets; nothing else before the handshake completes */
  if (!dgram_open(c))
    return VQ_ERR_STREAM_STATE;
  /* spec: rfc9221#3/1, rfc9221#3/2, rfc9221#5 — refused without the peer's parameter, above its
   * limit, or when one packet of our datagram size cannot carry the frame; spec: rfc9000#19.21/1 —
   * the new frame type only to a peer that said it understands it */
  vq_dgram_set_packet_room(&c->dg, dgram_packet_room(c));
  st = vq_dgram_send(&c->dg, data, len);
  if (st == VQ_OK)
    vq_cx_trace(cx, "datagram_queued", "len=%zu pending=%u", len, vq_dgram_pending(&c->dg));
  return st;
}

vq_status vq_conn_dgram_recv(vq_conn *c, const vq_cx *cx_in, uint8_t *buf, size_t cap, size_t *len,
                             int *got)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  *got = 0;
  *len = 0;
  if (st != VQ_OK)
    return st;
  if (!c->dg_on)
    return VQ_OK;
  int r = vq_dgram_recv(&c->dg, buf, cap, len);
  if (r < 0)
    return (vq_status)r;
  *got = r;
  if (!r)
    *len = 0;
  return VQ_OK;
}
