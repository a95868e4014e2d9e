/* 0-RTT and resumption in the connection (RFC 9000 §7.4.1, §12.4, §17.2.3; RFC 9001 §4.6, §4.9.3):
 * a client vq_conn and a server vq_endpoint exchanging datagrams directly (no lab), so single
 * packets can be looked at and injected. The lab scenarios (test_lab_scenarios.c, lab_zrtt_*) run
 * whole transfers over many seeds. */
#include <stdio.h>
#include <string.h>

#include "transport/conn_internal.h"
#include "tls_pair.h"
#include "vqtest.h"
#include "vquic/conn.h"
#include "vquic/endpoint.h"
#include "vquic/h3quic.h"
#include "vquic/packet.h"
#include "vquic/pn.h"
#include "vquic/protect.h"
#include "vquic/tls.h"
#include "vquic/tp.h"

#include <openssl/evp.h>

static const uint8_t alpn[] = {2, 'h', '3'};
static const uint8_t tkey[32] = {0x11, 0x22, 0x33};
#define WALL0 1700000000000u

typedef struct pair {
  vq_mem root;
  vq_rng rng;
  vq_cx cx;
  vq_tls_ctx *sctx, *cctx;
  vq_endpoint *ep;
  vq_conn *cli;
  uint8_t early[64];          /* CLIENT_EARLY_TRAFFIC_SECRET of the last client handshake */
  size_t early_len;
  uint8_t ssec[64];           /* SERVER_TRAFFIC_SECRET_0 of it */
  size_t ssec_len;
  uint8_t session[VQ_TLS_SESSION_MAX];
  size_t session_len;
  int ev_early;               /* client: 1 + error_code of VQ_CONN_EV_EARLY_DATA */
  int ev_ticket;
  const uint32_t *cli_versions; /* client_new: the client's versions (NULL: v1 only) */
  uint64_t cli_dg_max;        /* client_new: max_datagram_frame_size (0: DATAGRAM off) */
  int cli_pa;                 /* client_new: the client maps (uses) a server's preferred address */
  int pa_calls;               /* how many times it was asked to */
  vq_tp_preferred_address pref; /* endpoint_pa: the server's preferred address */
} pair;

/* The client's preferred_addr_map: every preferred address maps to "address" 9. */
static int pa_map_count(void *ud, const vq_tp_preferred_address *pa, uint8_t *addr, size_t *len)
{
  (void)pa;
  (*(int *)ud)++;
  addr[0] = 9;
  *len = 1;
  return 1;
}

static int hexval(char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  return -1;
}

static void keylog_early(void *ud, const char *line)
{
  pair *p = ud;
  static const char pre[] = "CLIENT_EARLY_TRAFFIC_SECRET ", pre1[] = "SERVER_TRAFFIC_SECRET_0 ";
  int one = strncmp(line, pre1, sizeof(pre1) - 1) == 0;
  if (!one && strncmp(line, pre, sizeof(pre) - 1) != 0)
    return;
  const char *s = strchr(line + (one ? sizeof(pre1) : sizeof(pre)) - 1, ' ');
  if (!s)
    return;
  uint8_t *out = one ? p->ssec : p->early;
  size_t n = 0;
  for (s++; n < sizeof(p->early) && hexval(s[0]) >= 0 && hexval(s[1]) >= 0; s += 2)
    out[n++] = (uint8_t)(hexval(s[0]) * 16 + hexval(s[1]));
  if (one)
    p->ssec_len = n;
  else
    p->early_len = n;
}

static int pair_init_ex(pair *p, int server_early, int replay_off, const uint32_t *srv_versions,
                        const uint8_t *early_app, size_t early_app_len)
{
  memset(p, 0, sizeof(*p));
  vq_mem_init(&p->root, vq_allocator_system(), NULL, (size_t)1 << 30);
  vq_rng_seed(&p->rng, 7);
  p->cx.rng = &p->rng;
  p->cx.now = VQ_MS(1000);
  vq_tls_ctx_config s = {0}, c = {0};
  s.alpn = c.alpn = alpn;
  s.alpn_len = c.alpn_len = sizeof(alpn);
  s.ticket_key = tkey;
  s.enable_early_data = server_early;
  c.enable_early_data = 1;
  c.keylog = keylog_early;
  c.keylog_ud = p;
  if (!vqt_tls_pair(&p->sctx, &s, &p->cctx, &c))
    return 0;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.conn.wall_clock_base_ms = WALL0;
  ec.early_replay_off = replay_off;
  ec.conn.early_app = early_app;
  ec.conn.early_app_len = early_app_len;
  for (size_t i = 0; srv_versions && srv_versions[i] && i < VQ_CONN_MAX_VERSIONS; i++)
    ec.conn.versions[i] = srv_versions[i];
  return vq_endpoint_new(&p->ep, &p->root, &ec) == VQ_OK;
}

static int pair_init(pair *p, int server_early, int replay_off)
{
  return pair_init_ex(p, server_early, replay_off, NULL, NULL, 0);
}

static vq_status client_new(pair *p, const uint8_t *session, size_t len)
{
  vq_conn_config cc = {0};
  cc.tls = p->cctx;
  cc.server_name = "localhost";
  cc.wall_clock_base_ms = WALL0;
  cc.session = session;
  cc.session_len = len;
  cc.max_datagram_frame_size = p->cli_dg_max;
  cc.dgram_fate_events = 1;
  if (p->cli_pa) {
    cc.preferred_addr_map = pa_map_count;
    cc.preferred_addr_ud = &p->pa_calls;
  }
  for (size_t i = 0; p->cli_versions && p->cli_versions[i] && i < VQ_CONN_MAX_VERSIONS; i++)
    cc.versions[i] = p->cli_versions[i];
  if (p->cli_versions)
    cc.version = p->cli_versions[0];
  p->ev_early = p->ev_ticket = 0;
  p->early_len = 0;
  return vq_conn_new_client(&p->cli, &p->root, &cc, &p->cx);
}

static vq_conn *server(pair *p)
{
  vq_endpoint_conn *ec = vq_endpoint_next(p->ep, NULL);
  return ec ? ec->conn : NULL;
}

static void to_server(pair *p, uint8_t *d, size_t n)
{
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  uint8_t resp[1500];
  size_t rl = 0;
  uint8_t addr = 1;
  (void)vq_endpoint_recv(p->ep, &p->cx, &addr, 1, d, n, &ec, &created, resp, sizeof(resp), &rl);
}

static void client_events(pair *p)
{
  vq_conn_event ev;
  while (vq_conn_poll_event(p->cli, &ev)) {
    if (ev.type == VQ_CONN_EV_EARLY_DATA)
      p->ev_early = 1 + (int)ev.error_code;
    if (ev.type == VQ_CONN_EV_SESSION_TICKET) {
      size_t n = 0;
      p->ev_ticket++;
      if (vq_conn_session_get(p->cli, p->session, sizeof(p->session), &n) == VQ_OK)
        p->session_len = n;
    }
  }
}

/* One round: every datagram of the client to the server, then every datagram of the server back. */
static void round_trip(pair *p)
{
  uint8_t buf[1500];
  size_t n;
  for (int k = 0; k < 100 && vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
    to_server(p, buf, n);
  p->cx.now += VQ_MS(1);
  vq_conn *s = server(p);
  for (int k = 0; s && k < 100 && vq_conn_send(s, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
    (void)vq_conn_recv(p->cli, &p->cx, buf, n, 0);
  p->cx.now += VQ_MS(1);
  client_events(p);
}

static void run_until_established(pair *p)
{
  for (int i = 0; i < 20 && vq_conn_get_state(p->cli) == VQ_CONN_HANDSHAKE; i++)
    round_trip(p);
  /* the NewSessionTicket and HANDSHAKE_DONE follow the handshake */
  for (int i = 0; i < 3; i++)
    round_trip(p);
}

static void client_done(pair *p)
{
  vq_endpoint_conn *ec;
  while ((ec = vq_endpoint_next(p->ep, NULL)) != NULL)
    vq_endpoint_remove(p->ep, ec, NULL);
  vq_conn_free(p->cli, NULL);
  p->cli = NULL;
}

static void pair_free(pair *p)
{
  if (p->cli)
    client_done(p);
  vq_endpoint_free(p->ep);
  vq_tls_ctx_free(p->sctx);
  vq_tls_ctx_free(p->cctx);
}

/* A first connection, for its session. */
static int get_session(pair *p)
{
  if (client_new(p, NULL, 0) != VQ_OK)
    return 0;
  run_until_established(p);
  int ok = p->session_len > 0 && p->ev_ticket > 0;
  client_done(p);
  p->cx.now += VQ_MS(1000);
  return ok;
}

static int has_0rtt(const uint8_t *d, size_t n)
{
  vq_pkt_header h;
  for (size_t off = 0; off < n && vq_packet_parse(d + off, n - off, 8, &h) == VQ_OK && h.packet_len;
       off += h.packet_len)
    if (h.type == VQ_PKT_0RTT)
      return 1;
  return 0;
}

VQ_TEST(conn_zrtt_session_event_and_early_stream)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  /* spec: rfc9001#5.6/1 — without a session: no 0-RTT, streams wait for the handshake */
  CHECK_EQ(client_new(p, NULL, 0), VQ_OK);
  uint64_t id = 0;
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_NONE);
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_ERR_STREAM_STATE);
  run_until_established(p);
  /* the session came as an event, and as an opaque blob */
  CHECK(p->ev_ticket >= 1);
  CHECK(p->session_len > 0);
  CHECK(!vq_conn_resumed(p->cli));
  client_done(p);
  p->cx.now += VQ_MS(1000);

  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  /* spec: rfc9000#17.2.3 — with the session, streams open and take data before the handshake */
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
  size_t acc = 0;
  CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, (const uint8_t *)"early!", 6, 1, &acc), VQ_OK);
  CHECK_EQ(acc, 6);
  uint8_t buf[1500];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n), VQ_OK);
  /* spec: rfc9000#17.2.3 — the first datagram carries the data in a 0-RTT packet (long header type
   * 0x1) after the Initial; spec: rfc9000#14.1/1 — and is still padded to 1200 bytes */
  CHECK(has_0rtt(buf, n));
  CHECK(n >= 1200);
  to_server(p, buf, n);
  vq_conn *s = server(p);
  CHECK(s != NULL);
  if (s) {
    /* the server accepted 0-RTT and has the data before its handshake completes */
    CHECK_EQ(vq_conn_early_data(s), VQ_EARLY_ACCEPTED);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_HANDSHAKE);
    int early_ev = 0, opened = 0;
    vq_conn_event ev;
    while (vq_conn_poll_event(s, &ev)) {
      early_ev |= ev.type == VQ_CONN_EV_EARLY_DATA && ev.error_code == 1;
      opened |= ev.type == VQ_CONN_EV_STREAM_OPENED && ev.stream_id == id;
    }
    CHECK(early_ev);
    CHECK(opened);
    uint8_t rb[16];
    int fin = 0;
    CHECK_EQ(vq_conn_stream_read(s, &p->cx, id, rb, sizeof(rb), &n, &fin), VQ_OK);
    CHECK_MEM(rb, n, "early!", 6);
    CHECK(fin);
  }
  run_until_established(p);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  CHECK_EQ(p->ev_early, 2);
  CHECK(vq_conn_resumed(p->cli));
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* spec: rfc9001#9.2/1, rfc8446#8/1, rfc8446#8/3 — the endpoint accepts a ticket's 0-RTT once: the same session offered again
 * resumes without 0-RTT, and the client sends its stream data again in 1-RTT */
VQ_TEST(conn_zrtt_ticket_single_use)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(get_session(p));
  uint8_t sess[VQ_TLS_SESSION_MAX];
  size_t slen = p->session_len;
  memcpy(sess, p->session, slen);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(client_new(p, sess, slen), VQ_OK);
    uint64_t id = 0;
    size_t acc = 0;
    CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
    CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, (const uint8_t *)"GET", 3, 1, &acc), VQ_OK);
    run_until_established(p);
    CHECK_EQ(vq_conn_early_data(p->cli), i == 0 ? VQ_EARLY_ACCEPTED : VQ_EARLY_REJECTED);
    CHECK_EQ(p->ev_early, i == 0 ? 2 : 1);
    CHECK(vq_conn_resumed(p->cli));
    /* accepted or not, the server got the 3 bytes (in 1-RTT after the refusal) */
    vq_conn *s = server(p);
    uint8_t rb[8];
    size_t n = 0;
    int fin = 0;
    CHECK(s && vq_conn_stream_read(s, &p->cx, id, rb, sizeof(rb), &n, &fin) == VQ_OK);
    CHECK_MEM(rb, n, "GET", 3);
    CHECK(fin);
    client_done(p);
  }
  vq_endpoint_stats st;
  vq_endpoint_get_stats(p->ep, &st);
  CHECK_EQ(st.early_replays, 1);
  pair_free(p);
}

/* The stored blob is untrusted input: anything that is not a session is refused with
 * VQ_ERR_TLS_SESSION_INVALID (and nothing is allocated). */
VQ_TEST(conn_zrtt_bad_session_refused)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(get_session(p));
  uint8_t b[VQ_TLS_SESSION_MAX];
  size_t used = p->root.used;
  CHECK_EQ(client_new(p, (const uint8_t *)"garbage", 7), VQ_ERR_TLS_SESSION_INVALID);
  CHECK_EQ(client_new(p, p->session, p->session_len - 1), VQ_ERR_TLS_SESSION_INVALID);
  for (size_t i = 0; i < p->session_len; i += 7) {
    memcpy(b, p->session, p->session_len);
    b[i] ^= 0x40;
    CHECK_EQ(client_new(p, b, p->session_len), VQ_ERR_TLS_SESSION_INVALID);
  }
  CHECK_EQ(p->root.used, used);
  /* the intact one still works */
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  pair_free(p);
}

/* A 0-RTT packet of the client (pn, payload) under the 0-RTT keys from the key log. */
static size_t build_0rtt(pair *p, uint64_t pn, const uint8_t *pl, size_t plen, uint8_t *buf, size_t cap)
{
  vq_pp_key k;
  vq_pp_key_init(&k);
  if (vq_pp_key_install(&k, VQ_QUIC_V1, VQ_CS_AES_128_GCM_SHA256, p->early, p->early_len) != VQ_OK)
    return 0;
  vq_long_header_spec hs = {VQ_PKT_0RTT, VQ_QUIC_V1, vq_conn_odcid(p->cli), vq_conn_scid(p->cli),
                            NULL, 0, 4, 2};
  size_t loff = 0, pnoff = 0, out = 0;
  uint8_t payload[64];
  memset(payload, 0, sizeof(payload)); /* PADDING after the frame */
  memcpy(payload, pl, plen);
  int ok = vq_long_header_write(buf, cap, &hs, &loff, &pnoff) == VQ_OK &&
           vq_pn_write(buf + pnoff, cap - pnoff, pn, 4) == VQ_OK &&
           vq_packet_set_length(buf, cap, loff, 2, 4 + sizeof(payload) + VQ_AEAD_TAG_LEN) == VQ_OK;
  if (ok) {
    memcpy(buf + pnoff + 4, payload, sizeof(payload));
    ok = vq_packet_protect(&k, buf, cap, pnoff, 4, pn, sizeof(payload), &out) == VQ_OK;
  }
  vq_pp_key_discard(&k);
  return ok ? out : 0;
}

/* spec: rfc9000#12.4/3 — frames 0-RTT does not permit (Table 3: ACK, CRYPTO, NEW_TOKEN, HANDSHAKE_DONE,
 * PATH_RESPONSE, RETIRE_CONNECTION_ID) close the connection with PROTOCOL_VIOLATION; a STREAM frame
 * in the same place is accepted */
VQ_TEST(conn_zrtt_forbidden_frames)
{
  static const struct {
    uint8_t f[12];
    size_t len;
    int bad;
  } cases[] = {
      {{0x02, 0x00, 0x00, 0x00, 0x00}, 5, 1},                   /* ACK */
      {{0x06, 0x00, 0x01, 0xaa}, 4, 1},                         /* CRYPTO */
      {{0x07, 0x01, 0xaa}, 3, 1},                               /* NEW_TOKEN */
      {{0x1e}, 1, 1},                                           /* HANDSHAKE_DONE */
      {{0x1b, 1, 2, 3, 4, 5, 6, 7, 8}, 9, 1},                  /* PATH_RESPONSE */
      {{0x19, 0x00}, 2, 1},                                     /* RETIRE_CONNECTION_ID */
      {{0x0b, 0x04, 0x02, 'o', 'k'}, 5, 0},                     /* STREAM 4, "ok", FIN */
  };
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 1)); /* no replay record: the session is used once per case */
  CHECK(get_session(p));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
    CHECK(p->early_len == 32);
    uint8_t d[1500];
    size_t n = 0;
    CHECK_EQ(vq_conn_send(p->cli, &p->cx, d, sizeof(d), &n), VQ_OK);
    size_t m = build_0rtt(p, 100, cases[i].f, cases[i].len, d + n, sizeof(d) - n);
    CHECK(m > 0);
    to_server(p, d, n + m);
    vq_conn *s = server(p);
    CHECK(s != NULL);
    if (s) {
      CHECK_EQ(vq_conn_early_data(s), VQ_EARLY_ACCEPTED);
      uint64_t code = vq_conn_close_error(s, NULL, NULL, NULL);
      if (cases[i].bad) {
        CHECK_EQ(vq_conn_get_state(s), VQ_CONN_CLOSING);
        CHECK_EQ(code, VQ_TE_PROTOCOL_VIOLATION);
      } else {
        CHECK_EQ(vq_conn_get_state(s), VQ_CONN_HANDSHAKE);
        uint8_t rb[4];
        int fin = 0;
        CHECK_EQ(vq_conn_stream_read(s, &p->cx, 4, rb, sizeof(rb), &n, &fin), VQ_OK);
        CHECK_MEM(rb, n, "ok", 2);
      }
    }
    client_done(p);
  }
  pair_free(p);
}

/* spec: rfc9001#4.9.3/4 — the server discards its 0-RTT keys three PTOs after the first 1-RTT
 * packet: a 0-RTT packet it would have accepted before is dropped after that; spec: rfc9001#4.9.3/1,
 * rfc9000#17.2.3/3, rfc9001#5.6/7 — and the client sends no 0-RTT packet once it has 1-RTT keys */
VQ_TEST(conn_zrtt_keys_discarded)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 1));
  CHECK(get_session(p));
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  run_until_established(p);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  /* spec: rfc9001#4.9/2 — established: new data goes in 1-RTT only (the highest level), though
   * the 0-RTT keys are still there */
  uint64_t id = 0;
  size_t acc = 0, n = 0;
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, (const uint8_t *)"late", 4, 1, &acc), VQ_OK);
  uint8_t d[1500];
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, d, sizeof(d), &n), VQ_OK);
  CHECK(n > 0 && !has_0rtt(d, n) && (d[0] & 0x80) == 0);
  to_server(p, d, n);
  vq_conn *s = server(p);
  CHECK(s != NULL);
  if (!s) {
    pair_free(p);
    return;
  }
  /* within three PTOs a (reordered) 0-RTT packet is still processed */
  uint8_t f1[] = {0x0b, 0x08, 0x01, 'a'};
  size_t m = build_0rtt(p, 900, f1, sizeof(f1), d, sizeof(d));
  CHECK(m > 0);
  vq_conn_stats before, after;
  vq_conn_get_stats(s, &before);
  to_server(p, d, m);
  vq_conn_get_stats(s, &after);
  CHECK_EQ(after.pkts_recv, before.pkts_recv + 1);
  /* later it is dropped */
  for (int i = 0; i < 100 && vq_conn_get_state(s) == VQ_CONN_ESTABLISHED; i++) {
    p->cx.now += VQ_MS(100);
    if (vq_conn_next_timeout(s) <= p->cx.now)
      (void)vq_conn_handle_timeout(s, &p->cx);
    if (i == 30)
      break;
  }
  uint8_t f2[] = {0x0b, 0x0c, 0x01, 'b'};
  m = build_0rtt(p, 901, f2, sizeof(f2), d, sizeof(d));
  vq_conn_get_stats(s, &before);
  to_server(p, d, m);
  vq_conn_get_stats(s, &after);
  CHECK_EQ(after.pkts_recv, before.pkts_recv);
  CHECK_EQ(after.pkts_dropped, before.pkts_dropped + 1);
  pair_free(p);
}

/* The session with the remembered transport parameters changed by fn (the blob re-encoded with its
 * checksum: what a client whose server lowered its limits would hold). */
static size_t tamper_tp(const uint8_t *in, size_t len, void (*fn)(vq_tp *), uint8_t *out)
{
  size_t off = 30; /* magic, quic_version, suite, received_ms, lifetime, age_add, max_early_data */
  off += 1 + in[off];                                   /* psk */
  off += 1 + in[off];                                   /* alpn */
  off += 1 + in[off];                                   /* sni */
  off += 2 + ((size_t)in[off] << 8 | in[off + 1]);      /* ticket */
  size_t tplen = (size_t)in[off] << 8 | in[off + 1];
  vq_tp tp;
  if (off + 2 + tplen + 32 != len || vq_tp_decode(in + off + 2, tplen, VQ_TP_SERVER, &tp) != VQ_OK)
    return 0;
  fn(&tp);
  size_t nl = 0;
  memcpy(out, in, off);
  if (vq_tp_encode(&tp, VQ_TP_SERVER, out + off + 2, 1024, &nl) != VQ_OK)
    return 0;
  out[off] = (uint8_t)(nl >> 8);
  out[off + 1] = (uint8_t)nl;
  size_t body = off + 2 + nl;
  unsigned int sl = 0;
  if (EVP_Digest(out, body, out + body, &sl, EVP_sha256(), NULL) != 1)
    return 0;
  return body + 32;
}

static void raise_max_data(vq_tp *tp) { tp->initial_max_data += 1; }
static void raise_streams(vq_tp *tp) { tp->initial_max_streams_bidi += 1; }

/* spec: rfc9000#7.4.1/5, rfc9000#7.4.1/6 — a server that accepted 0-RTT with limits below the
 * remembered ones: the client closes with PROTOCOL_VIOLATION (here the client remembers more than
 * the server gave: the same as the server lowering them) */
VQ_TEST(conn_zrtt_accepted_lower_limits_violation)
{
  void (*fns[2])(vq_tp *) = {raise_max_data, raise_streams};
  for (int i = 0; i < 2; i++) {
    pair p_, *p = &p_;
    CHECK(pair_init(p, 1, 0));
    CHECK(get_session(p));
    uint8_t b[VQ_TLS_SESSION_MAX];
    size_t bl = tamper_tp(p->session, p->session_len, fns[i], b);
    CHECK(bl > 0);
    CHECK_EQ(client_new(p, b, bl), VQ_OK);
    CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
    run_until_established(p);
    CHECK_EQ(vq_conn_get_state(p->cli) == VQ_CONN_CLOSING || vq_conn_get_state(p->cli) == VQ_CONN_CLOSED, 1);
    CHECK_EQ(vq_conn_close_error(p->cli, NULL, NULL, NULL), VQ_TE_PROTOCOL_VIOLATION);
    pair_free(p);
  }
  /* the untampered session is accepted (the check is not always failing) */
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(get_session(p));
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  run_until_established(p);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  pair_free(p);
}

static void lower_stream_data(vq_tp *tp) { tp->initial_max_stream_data_bidi_remote = 10; }

/* spec: rfc9000#7.4.1/4, rfc9000#7.4.1/10 — in 0-RTT the client keeps to the remembered limits (here
 * a remembered stream limit of 10 bytes, below what the server gives now): only 10 bytes arrive
 * before the handshake, the rest after it under the new limits; spec: rfc9000#7.4.1/2 — and the
 * remembered values do not stand in for the new ones afterwards; spec: rfc9000#7.4.1/3 — the
 * server's new values (its transport parameters in this handshake) are what the rest is sent under */
VQ_TEST(conn_zrtt_remembered_limits)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(get_session(p));
  uint8_t b[VQ_TLS_SESSION_MAX];
  size_t bl = tamper_tp(p->session, p->session_len, lower_stream_data, b);
  CHECK(bl > 0);
  CHECK_EQ(client_new(p, b, bl), VQ_OK);
  uint64_t id = 0;
  size_t acc = 0, n = 0;
  uint8_t data[100];
  for (int i = 0; i < 100; i++)
    data[i] = (uint8_t)i;
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, data, 100, 1, &acc), VQ_OK);
  uint8_t d[1500];
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, d, sizeof(d), &n), VQ_OK);
  to_server(p, d, n);
  vq_conn *s = server(p);
  uint8_t rb[128];
  int fin = 0;
  CHECK(s && vq_conn_stream_read(s, &p->cx, id, rb, sizeof(rb), &n, &fin) == VQ_OK);
  CHECK_EQ(n, 10);
  CHECK(!fin);
  run_until_established(p);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  size_t m = 0;
  CHECK(s && vq_conn_stream_read(s, &p->cx, id, rb + n, sizeof(rb) - n, &m, &fin) == VQ_OK);
  CHECK_MEM(rb, n + m, data, 100);
  CHECK(fin);
  pair_free(p);
}

/* spec: rfc9001#4.6.2/1 — a server that rejects 0-RTT does not process the 0-RTT packets: the data
 * arrives only in 1-RTT after the handshake */
VQ_TEST(conn_zrtt_rejected_not_processed)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 0, 0)); /* a server with 0-RTT off, same ticket key */
  /* the session comes from a server with 0-RTT on (its tickets allow it); the client then meets
   * the server p, which turned 0-RTT off (same ticket key: the resumption works) */
  pair q_, *q = &q_;
  CHECK(pair_init(q, 1, 0));
  CHECK(get_session(q));
  vq_endpoint_free(q->ep);
  vq_tls_ctx_free(q->sctx);
  q->ep = p->ep;
  q->sctx = p->sctx;
  p->ep = NULL;
  p->sctx = NULL;
  CHECK_EQ(client_new(q, q->session, q->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(q->cli), VQ_EARLY_OFFERED);
  uint64_t id = 0;
  size_t acc = 0, n = 0;
  CHECK_EQ(vq_conn_stream_open(q->cli, &q->cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(q->cli, &q->cx, id, (const uint8_t *)"abc", 3, 1, &acc), VQ_OK);
  uint8_t d[1500];
  CHECK_EQ(vq_conn_send(q->cli, &q->cx, d, sizeof(d), &n), VQ_OK);
  CHECK(has_0rtt(d, n));
  to_server(q, d, n);
  vq_conn *s = server(q);
  CHECK(s != NULL);
  if (s) {
    vq_conn_stats st;
    vq_conn_get_stats(s, &st);
    CHECK(st.pkts_dropped >= 1);
    CHECK_EQ(vq_conn_early_data(s), VQ_EARLY_NONE);
    uint8_t rb[8];
    int fin = 0;
    CHECK_EQ(vq_conn_stream_read(s, &q->cx, id, rb, sizeof(rb), &n, &fin), VQ_ERR_STREAM_STATE);
  }
  run_until_established(q);
  CHECK_EQ(vq_conn_early_data(q->cli), VQ_EARLY_REJECTED);
  s = server(q);
  uint8_t rb[8];
  int fin = 0;
  CHECK(s && vq_conn_stream_read(s, &q->cx, id, rb, sizeof(rb), &n, &fin) == VQ_OK);
  CHECK_MEM(rb, n, "abc", 3);
  pair_free(q);
  vq_tls_ctx_free(p->cctx);
}

/* spec: rfc9001#4.6.2/2 — after the server rejected 0-RTT, an ACK (in 1-RTT) of a 0-RTT packet is a
 * PROTOCOL_VIOLATION: a server that rejected it processed none */
VQ_TEST(conn_zrtt_rejected_ack_of_0rtt)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(get_session(p));
  /* the same session twice: the second is refused 0-RTT by the replay record */
  uint8_t sess[VQ_TLS_SESSION_MAX];
  size_t slen = p->session_len;
  memcpy(sess, p->session, slen);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(client_new(p, sess, slen), VQ_OK);
    uint64_t id = 0;
    size_t acc = 0;
    CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
    CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, (const uint8_t *)"x", 1, 1, &acc), VQ_OK);
    run_until_established(p);
    if (i == 0) {
      client_done(p);
      continue;
    }
  }
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_REJECTED);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(p->ssec_len, 32);
  /* a 1-RTT packet of the server acknowledging pn 0 (the client's first 0-RTT packet) */
  vq_pp_key k;
  vq_pp_key_init(&k);
  CHECK_EQ(vq_pp_key_install(&k, VQ_QUIC_V1, VQ_CS_AES_128_GCM_SHA256, p->ssec, p->ssec_len), VQ_OK);
  uint8_t d[1500];
  size_t pnoff = 0, out = 0;
  uint8_t pl[] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* ACK 0, PING */
  CHECK_EQ(vq_short_header_write(d, sizeof(d), vq_conn_scid(p->cli), 0, 0, 4, &pnoff), VQ_OK);
  CHECK_EQ(vq_pn_write(d + pnoff, sizeof(d) - pnoff, 5000, 4), VQ_OK);
  memcpy(d + pnoff + 4, pl, sizeof(pl));
  CHECK_EQ(vq_packet_protect(&k, d, sizeof(d), pnoff, 4, 5000, sizeof(pl), &out), VQ_OK);
  vq_pp_key_discard(&k);
  CHECK_EQ(vq_conn_recv(p->cli, &p->cx, d, out, 0), VQ_OK);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_CLOSING);
  CHECK_EQ(vq_conn_close_error(p->cli, NULL, NULL, NULL), VQ_TE_PROTOCOL_VIOLATION);
  pair_free(p);
}

static uint32_t first_version(const uint8_t *d, size_t n)
{
  vq_pkt_header h;
  if (vq_packet_parse(d, n, 8, &h) != VQ_OK || h.type == VQ_PKT_1RTT)
    return 0;
  return h.version;
}

/* Reads stream id of the server connection to its end (a few round trips), into out. */
static size_t server_read_all(pair *p, uint64_t id, uint8_t *out, size_t cap, int *fin)
{
  size_t got = 0;
  *fin = 0;
  vq_conn *s = server(p);
  for (int k = 0; s && k < 10 && !*fin; k++) {
    size_t m = 0;
    if (vq_conn_stream_read(s, &p->cx, id, out + got, cap - got, &m, fin) == VQ_OK)
      got += m;
    if (!*fin)
      round_trip(p);
  }
  return got;
}

/* spec: rfc9001#4.6.2/4 — a client MAY attempt 0-RTT again after Version Negotiation; spec:
 * rfc9369#5/1 — but only with a session of the new attempt's version: the session comes from a v2
 * connection, the client's first attempt is in v1 and does not offer it; the Version Negotiation
 * restart in v2 does, its first datagram carries the stream's data in a v2 0-RTT packet, and the
 * server accepts it and gets every byte once. */
VQ_TEST(conn_zrtt_version_negotiation_reoffers)
{
  pair p_, *p = &p_;
  const uint32_t sv[] = {VQ_QUIC_V2, 0};
  const uint32_t v2only[] = {VQ_QUIC_V2, 0};
  const uint32_t v1v2[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  CHECK(pair_init_ex(p, 1, 0, sv, NULL, 0));
  p->cli_versions = v2only;
  CHECK(get_session(p));
  CHECK_EQ(vq_tls_session_quic_version(p->session, p->session_len), VQ_QUIC_V2);
  p->cli_versions = v1v2; /* the first flight explicitly in v1 */
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_NONE);
  uint8_t buf[1500];
  size_t n = 0;
  /* the v1 attempt: no 0-RTT, answered by Version Negotiation */
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n), VQ_OK);
  CHECK(!has_0rtt(buf, n));
  CHECK_EQ(first_version(buf, n), VQ_QUIC_V1);
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  uint8_t resp[1500];
  size_t rl = 0;
  uint8_t addr = 1;
  CHECK_EQ(vq_endpoint_recv(p->ep, &p->cx, &addr, 1, buf, n, &ec, &created, resp, sizeof(resp), &rl), VQ_OK);
  CHECK(rl > 0);
  CHECK(server(p) == NULL);
  CHECK_EQ(vq_conn_recv(p->cli, &p->cx, resp, rl, 0), VQ_OK);
  CHECK(vq_conn_version_restarted(p->cli));
  /* offered in v2 */
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  uint64_t id = 0;
  size_t acc = 0;
  static uint8_t body[3000];
  for (size_t i = 0; i < sizeof(body); i++)
    body[i] = (uint8_t)(i * 7);
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, body, sizeof(body), 1, &acc), VQ_OK);
  CHECK_EQ(acc, sizeof(body));
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n), VQ_OK);
  CHECK_EQ(first_version(buf, n), VQ_QUIC_V2);
  CHECK(has_0rtt(buf, n));
  to_server(p, buf, n);
  vq_conn *s = server(p);
  CHECK(s != NULL);
  if (s)
    CHECK_EQ(vq_conn_early_data(s), VQ_EARLY_ACCEPTED);
  run_until_established(p);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_version(p->cli), VQ_QUIC_V2);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  static uint8_t rb[4000];
  int fin = 0;
  size_t got = server_read_all(p, id, rb, sizeof(rb), &fin);
  CHECK(fin);
  CHECK_MEM(rb, got, body, sizeof(body));
  CHECK_EQ(p->cli->fc_tx.sent, (uint64_t)sizeof(body));
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* spec: rfc9001#4.6.2/4, rfc9369#5/1 — the other way round: a v1 session offered with 0-RTT in the v1
 * attempt; the server now accepts only v2, the restart in v2 may not use the v1 session: the 0-RTT
 * of the abandoned attempt is forgotten (streams rewound, flow control started over), reported
 * rejected, and the data goes in 1-RTT, every byte once, counted once by flow control. */
VQ_TEST(conn_zrtt_version_negotiation_forgets_other_version_session)
{
  pair p_, *p = &p_;
  const uint32_t v1only[] = {VQ_QUIC_V1, 0};
  const uint32_t v1v2[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  CHECK(pair_init_ex(p, 1, 0, v1only, NULL, 0));
  p->cli_versions = v1only;
  CHECK(get_session(p));
  CHECK_EQ(vq_tls_session_quic_version(p->session, p->session_len), VQ_QUIC_V1);
  /* the server (same TLS context and ticket key) now accepts only v2 */
  vq_endpoint_free(p->ep);
  p->ep = NULL;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.conn.wall_clock_base_ms = WALL0;
  ec.conn.versions[0] = VQ_QUIC_V2;
  CHECK_EQ(vq_endpoint_new(&p->ep, &p->root, &ec), VQ_OK);
  p->cli_versions = v1v2;
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  uint64_t id = 0;
  size_t acc = 0;
  static uint8_t body[3000];
  for (size_t i = 0; i < sizeof(body); i++)
    body[i] = (uint8_t)(i * 5);
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, body, sizeof(body), 1, &acc), VQ_OK);
  CHECK_EQ(acc, sizeof(body));
  uint8_t buf[1500];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n), VQ_OK);
  CHECK(has_0rtt(buf, n));
  CHECK_EQ(first_version(buf, n), VQ_QUIC_V1);
  vq_endpoint_conn *e = NULL;
  int created = 0;
  uint8_t resp[1500];
  size_t rl = 0;
  uint8_t addr = 1;
  CHECK_EQ(vq_endpoint_recv(p->ep, &p->cx, &addr, 1, buf, n, &e, &created, resp, sizeof(resp), &rl), VQ_OK);
  CHECK(rl > 0);
  CHECK_EQ(vq_conn_recv(p->cli, &p->cx, resp, rl, 0), VQ_OK);
  CHECK(vq_conn_version_restarted(p->cli));
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_REJECTED);
  client_events(p);
  CHECK_EQ(p->ev_early, 1); /* VQ_CONN_EV_EARLY_DATA, not accepted */
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n), VQ_OK);
  CHECK_EQ(first_version(buf, n), VQ_QUIC_V2);
  CHECK(!has_0rtt(buf, n));
  to_server(p, buf, n);
  run_until_established(p);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_version(p->cli), VQ_QUIC_V2);
  CHECK(!vq_conn_resumed(p->cli));
  static uint8_t rb[4000];
  int fin = 0;
  size_t got = server_read_all(p, id, rb, sizeof(rb), &fin);
  CHECK(fin);
  CHECK_MEM(rb, got, body, sizeof(body));
  CHECK_EQ(p->cli->fc_tx.sent, (uint64_t)sizeof(body));
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* spec: rfc9369#5/1 — with no first-flight version configured, a client resuming a v2 session starts
 * in v2 (its list allows it) and offers the session with 0-RTT; one configured to start in v1
 * does not offer it (a full handshake). */
VQ_TEST(conn_zrtt_session_starts_in_its_version)
{
  pair p_, *p = &p_;
  const uint32_t v2first[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  CHECK(pair_init_ex(p, 1, 0, v2first, NULL, 0));
  p->cli_versions = v2first;
  CHECK(get_session(p));
  CHECK_EQ(vq_tls_session_quic_version(p->session, p->session_len), VQ_QUIC_V2);
  for (int explicit_v1 = 0; explicit_v1 < 2; explicit_v1++) {
    vq_conn_config cc = {0};
    cc.tls = p->cctx;
    cc.server_name = "localhost";
    cc.wall_clock_base_ms = WALL0;
    cc.session = p->session;
    cc.session_len = p->session_len;
    cc.versions[0] = VQ_QUIC_V1;
    cc.versions[1] = VQ_QUIC_V2;
    cc.version = explicit_v1 ? VQ_QUIC_V1 : 0;
    CHECK_EQ(vq_conn_new_client(&p->cli, &p->root, &cc, &p->cx), VQ_OK);
    uint8_t buf[1500];
    size_t n = 0;
    CHECK_EQ(vq_conn_early_data(p->cli), explicit_v1 ? VQ_EARLY_NONE : VQ_EARLY_OFFERED);
    CHECK_EQ(vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n), VQ_OK);
    CHECK_EQ(first_version(buf, n), explicit_v1 ? VQ_QUIC_V1 : VQ_QUIC_V2);
    to_server(p, buf, n);
    run_until_established(p);
    CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
    CHECK_EQ(vq_conn_resumed(p->cli), !explicit_v1);
    client_done(p);
    p->cx.now += VQ_MS(1000);
  }
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* A new endpoint on the same TLS context (same ticket key) with other application 0-RTT state. */
static int endpoint_renew(pair *p, const uint8_t *early_app, size_t len)
{
  vq_endpoint_free(p->ep);
  p->ep = NULL;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.conn.wall_clock_base_ms = WALL0;
  ec.early_replay_off = 1;
  ec.conn.early_app = early_app;
  ec.conn.early_app_len = len;
  return vq_endpoint_new(&p->ep, &p->root, &ec) == VQ_OK;
}

/* spec: rfc9114#7.2.4.2/8 — the server's application 0-RTT state (HTTP/3: its SETTINGS) goes with the
 * ticket; a ticket issued under other state resumes without 0-RTT (the data goes in 1-RTT), one
 * issued under the same state gets 0-RTT. */
VQ_TEST(conn_zrtt_early_app_state_must_match)
{
  pair p_, *p = &p_;
  static const uint8_t a[] = {0x01, 0x50, 0x00, 0x06, 0x80, 0x00, 0x40, 0x00};
  static const uint8_t b[] = {0x01, 0x48, 0x00, 0x06, 0x80, 0x00, 0x40, 0x00};
  CHECK(pair_init_ex(p, 1, 1, NULL, a, sizeof a));
  CHECK(get_session(p));
  uint8_t sess[VQ_TLS_SESSION_MAX];
  size_t slen = p->session_len;
  memcpy(sess, p->session, slen);
  const struct {
    const uint8_t *app;
    size_t len;
    vq_early_data want;
  } cases[] = {{b, sizeof b, VQ_EARLY_REJECTED}, {NULL, 0, VQ_EARLY_REJECTED}, {a, sizeof a, VQ_EARLY_ACCEPTED}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK(endpoint_renew(p, cases[i].app, cases[i].len));
    CHECK_EQ(client_new(p, sess, slen), VQ_OK);
    uint64_t id = 0;
    size_t acc = 0;
    CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
    CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, (const uint8_t *)"GET", 3, 1, &acc), VQ_OK);
    run_until_established(p);
    CHECK_EQ(vq_conn_early_data(p->cli), cases[i].want);
    CHECK(vq_conn_resumed(p->cli));
    vq_conn *s = server(p);
    uint8_t rb[8];
    size_t n = 0;
    int fin = 0;
    CHECK(s && vq_conn_stream_read(s, &p->cx, id, rb, sizeof(rb), &n, &fin) == VQ_OK);
    CHECK_MEM(rb, n, "GET", 3);
    client_done(p);
  }
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* ---- HTTP/3 over the pair ----------------------------------------------------------------------- */

typedef struct h3side {
  vq_h3q q;
  int init;
  int status, ended;
  uint64_t conn_error;
} h3side;

static void h3_on_request(void *ud, vq_h3 *h3, uint64_t id, const vq_h3_head *head)
{
  (void)ud;
  (void)head;
  static const uint8_t ct[] = "text/plain";
  vq_h3_field f[] = {{(const uint8_t *)"content-type", 12, ct, sizeof(ct) - 1, 0}};
  size_t acc = 0;
  const vq_cx *cx = vq_h3_cx(h3);
  (void)vq_h3_respond(h3, cx, id, 200, f, 1, 1);
  (void)vq_h3_send_body(h3, cx, id, (const uint8_t *)"hello", 5, 1, &acc);
}

static void h3_on_response(void *ud, vq_h3 *h3, uint64_t id, void *sud, const vq_h3_head *head)
{
  (void)h3;
  (void)id;
  (void)sud;
  ((h3side *)ud)->status = head->status;
}

static void h3_on_end(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  (void)h3;
  (void)id;
  (void)sud;
  ((h3side *)ud)->ended = 1;
}

static void h3_on_conn_error(void *ud, vq_h3 *h3, uint64_t code, const char *reason)
{
  (void)h3;
  (void)reason;
  ((h3side *)ud)->conn_error = code;
}

/* Client and server HTTP/3 sessions over one resumed connection (the pair's session): the client
 * remembers rem (NULL: nothing), the server's sessions use scfg. One GET. */
static int h3_zrtt_run(pair *p, const vq_h3_settings *rem, const vq_h3_config *scfg, h3side *c, h3side *sv)
{
  memset(c, 0, sizeof(*c));
  memset(sv, 0, sizeof(*sv));
  if (client_new(p, p->session, p->session_len) != VQ_OK)
    return 0;
  vq_h3_config cc;
  vq_h3_config_default(&cc, 0);
  vq_h3_callbacks ccb = {0};
  ccb.ud = c;
  ccb.on_response = h3_on_response;
  ccb.on_end = h3_on_end;
  ccb.on_conn_error = h3_on_conn_error;
  if (vq_h3q_init(&c->q, p->cli, &p->root, &cc, &ccb) != VQ_OK)
    return 0;
  c->init = 1;
  if (rem)
    vq_h3q_remember_settings(&c->q, rem);
  (void)vq_h3q_process(&c->q, &p->cx);
  if (!c->q.started)
    return 0;
  static const uint8_t m[] = "GET", sc[] = "https", au[] = "localhost", pa[] = "/";
  vq_h3_field f[] = {{(const uint8_t *)":method", 7, m, 3, 0}, {(const uint8_t *)":scheme", 7, sc, 5, 0},
                     {(const uint8_t *)":authority", 10, au, 9, 0}, {(const uint8_t *)":path", 5, pa, 1, 0}};
  uint64_t id = 0;
  if (vq_h3_request(c->q.h3, &p->cx, f, 4, 0, &id) != VQ_OK)
    return 0;
  vq_h3_callbacks scb = {0};
  scb.ud = sv;
  scb.on_request = h3_on_request;
  scb.on_conn_error = h3_on_conn_error;
  uint8_t buf[1500];
  size_t n;
  for (int i = 0; i < 40 && vq_conn_get_state(p->cli) != VQ_CONN_CLOSED && !c->ended; i++) {
    (void)vq_h3q_process(&c->q, &p->cx);
    for (int k = 0; k < 100 && vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      to_server(p, buf, n);
    p->cx.now += VQ_MS(1);
    vq_conn *s = server(p);
    if (s && !sv->init) {
      if (vq_h3q_init(&sv->q, s, &p->root, scfg, &scb) != VQ_OK)
        return 0;
      sv->init = 1;
    }
    if (sv->init)
      (void)vq_h3q_process(&sv->q, &p->cx);
    for (int k = 0; s && k < 100 && vq_conn_send(s, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      (void)vq_conn_recv(p->cli, &p->cx, buf, n, 0);
    p->cx.now += VQ_MS(1);
    (void)vq_h3q_process(&c->q, &p->cx);
  }
  return 1;
}

static void h3_zrtt_done(pair *p, h3side *c, h3side *sv)
{
  if (sv->init)
    vq_h3q_free(&sv->q);
  if (c->init)
    vq_h3q_free(&c->q);
  client_done(p);
}

/* spec: rfc9114#7.2.4.2/6, rfc9114#7.2.4.2/10 — a resumed HTTP/3 request in 0-RTT under the settings
 * the client remembered: the server (tickets carrying its SETTINGS) accepts 0-RTT and sends the same
 * settings, the client's QPACK encoder used the remembered dynamic table in 0-RTT, and the response
 * comes. spec: rfc9114#7.2.4.2/12 — a server that accepts 0-RTT yet sends reduced settings (here
 * misconfigured: its tickets claim settings its sessions do not use) gets H3_SETTINGS_ERROR from the
 * client. */
VQ_TEST(conn_zrtt_h3_remembered_settings)
{
  pair p_, *p = &p_;
  vq_h3_config scfg, reduced;
  vq_h3_config_default(&scfg, 1);
  reduced = scfg;
  reduced.max_field_section_size = 8192; /* the request is smaller: only the client can tell */
  uint8_t app[VQ_H3Q_SETTINGS_MAX];
  size_t app_len = 0;
  CHECK_EQ(vq_h3q_early_app(&scfg, app, sizeof(app), &app_len), VQ_OK);
  CHECK(pair_init_ex(p, 1, 1, NULL, app, app_len));
  CHECK(get_session(p));
  vq_h3_settings rem;
  vq_h3_local_settings(&scfg, &rem); /* what the client stored from the first connection */
  h3side c, sv;
  for (int k = 0; k < 2; k++) {
    CHECK(h3_zrtt_run(p, &rem, k == 0 ? &scfg : &reduced, &c, &sv));
    CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
    vq_h3_stats cs;
    vq_h3_get_stats(c.q.h3, &cs);
    CHECK_EQ(cs.remembered_settings, 1);
    CHECK(cs.qpack_inserts_tx > 0);
    if (k == 0) {
      CHECK_EQ(c.status, 200);
      CHECK(c.ended);
      CHECK_EQ(c.conn_error, 0);
      CHECK_EQ(cs.closed, 0);
    } else {
      CHECK_EQ(cs.closed, 1);
      CHECK_EQ(cs.close_code, VQ_H3_SETTINGS_ERROR);
      CHECK(!c.ended);
    }
    h3_zrtt_done(p, &c, &sv);
  }
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* ---- RFC 8470 over the pair: 425 (Too Early) and the client's retry ---------------------------- */

typedef struct edside {
  vq_h3q q;
  int init;
  int status, ended, retries, requests, early_requests;
  uint64_t last_id;
  char method[8];
} edside;

static void ed_on_request(void *ud, vq_h3 *h3, uint64_t id, const vq_h3_head *head)
{
  edside *e = ud;
  e->requests++;
  e->early_requests += head->early;
  snprintf(e->method, sizeof e->method, "%.*s", (int)head->method.len, (const char *)head->method.p);
  size_t acc = 0;
  const vq_cx *cx = vq_h3_cx(h3);
  (void)vq_h3_respond(h3, cx, id, 200, NULL, 0, 1);
  (void)vq_h3_send_body(h3, cx, id, (const uint8_t *)"done", 4, 1, &acc);
}

static void ed_on_response(void *ud, vq_h3 *h3, uint64_t id, void *sud, const vq_h3_head *head)
{
  (void)h3;
  (void)sud;
  ((edside *)ud)->status = head->status;
  ((edside *)ud)->last_id = id;
}

static void ed_on_end(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  (void)h3;
  (void)id;
  (void)sud;
  ((edside *)ud)->ended = 1;
}

static void ed_on_retry(void *ud, vq_h3 *h3, uint64_t old_id, uint64_t new_id, void *sud)
{
  (void)h3;
  (void)old_id;
  (void)new_id;
  (void)sud;
  ((edside *)ud)->retries++;
}

/* Both ends exchange packets until the client's request ended (or 60 rounds). */
static void ed_pump(pair *p, edside *c, edside *sv, const vq_h3_config *scfg, const vq_h3_callbacks *scb)
{
  uint8_t buf[1500];
  size_t n;
  for (int i = 0; i < 60 && vq_conn_get_state(p->cli) != VQ_CONN_CLOSED && !c->ended; i++) {
    (void)vq_h3q_process(&c->q, &p->cx);
    for (int k = 0; k < 100 && vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      to_server(p, buf, n);
    p->cx.now += VQ_MS(1);
    vq_conn *s = server(p);
    if (s && !sv->init && vq_h3q_init(&sv->q, s, &p->root, scfg, scb) == VQ_OK)
      sv->init = 1;
    if (sv->init)
      (void)vq_h3q_process(&sv->q, &p->cx);
    for (int k = 0; s && k < 100 && vq_conn_send(s, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      (void)vq_conn_recv(p->cli, &p->cx, buf, n, 0);
    p->cx.now += VQ_MS(1);
    (void)vq_h3q_process(&c->q, &p->cx);
  }
}

static vq_status ed_request(pair *p, edside *c, const char *method, const char *body)
{
  static const uint8_t sc[] = "https", au[] = "localhost", pa[] = "/form";
  char cl[24];
  snprintf(cl, sizeof cl, "%zu", body ? strlen(body) : 0);
  vq_h3_field f[] = {{(const uint8_t *)":method", 7, (const uint8_t *)method, strlen(method), 0},
                     {(const uint8_t *)":scheme", 7, sc, 5, 0},
                     {(const uint8_t *)":authority", 10, au, 9, 0},
                     {(const uint8_t *)":path", 5, pa, 5, 0},
                     {(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl), 0}};
  uint64_t id = 0;
  size_t acc = 0;
  c->ended = 0;
  c->status = 0;
  vq_status st = vq_h3_request(c->q.h3, &p->cx, f, body ? 5 : 4, body != NULL, &id);
  if (st == VQ_OK && body)
    st = vq_h3_send_body(c->q.h3, &p->cx, id, (const uint8_t *)body, strlen(body), 1, &acc);
  return st;
}

/* spec: rfc9114#10.9/1 — RFC 8470 end to end over a resumed connection that accepts 0-RTT, through
 * vq_h3q (the connection's state is what transport->early answers): a POST sent in 0-RTT (the client
 * told that it may: early_unsafe) is answered 425 (Too Early) by the server's session before its
 * handshake completes, and the client sends it again after its own completed: 200, one retry, the
 * server's application saw one POST, not early. A GET in 0-RTT is answered 200 without a retry, the
 * server's application seeing it early. A POST on the established connection: no 425. A client with
 * the default configuration does not send the POST in 0-RTT at all (RFC 8470 §4). */
VQ_TEST(conn_zrtt_h3_too_early_and_retry)
{
  pair p_, *p = &p_;
  vq_h3_config scfg;
  vq_h3_config_default(&scfg, 1);
  uint8_t app[VQ_H3Q_SETTINGS_MAX];
  size_t app_len = 0;
  CHECK_EQ(vq_h3q_early_app(&scfg, app, sizeof(app), &app_len), VQ_OK);
  CHECK(pair_init_ex(p, 1, 1, NULL, app, app_len));
  CHECK(get_session(p));
  vq_h3_settings rem;
  vq_h3_local_settings(&scfg, &rem);
  for (int k = 0; k < 3; k++) {
    edside c, sv;
    memset(&c, 0, sizeof(c));
    memset(&sv, 0, sizeof(sv));
    CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
    vq_h3_config cc;
    vq_h3_config_default(&cc, 0);
    cc.early_unsafe = k != 2;
    vq_h3_callbacks ccb = {0}, scb = {0};
    ccb.ud = &c;
    ccb.on_response = ed_on_response;
    ccb.on_end = ed_on_end;
    ccb.on_retry = ed_on_retry;
    scb.ud = &sv;
    scb.on_request = ed_on_request;
    CHECK_EQ(vq_h3q_init(&c.q, p->cli, &p->root, &cc, &ccb), VQ_OK);
    c.init = 1;
    vq_h3q_remember_settings(&c.q, &rem);
    (void)vq_h3q_process(&c.q, &p->cx);
    CHECK(c.q.started);
    if (k == 0) {
      CHECK_EQ(ed_request(p, &c, "POST", "form=1"), VQ_OK);
      ed_pump(p, &c, &sv, &scfg, &scb);
      CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
      CHECK_EQ(c.status, 200);
      CHECK(c.ended);
      CHECK_EQ(c.retries, 1);
      CHECK_EQ(sv.requests, 1);
      CHECK_EQ(sv.early_requests, 0);
      CHECK(strcmp(sv.method, "POST") == 0);
      vq_h3_stats cs, ss;
      vq_h3_get_stats(c.q.h3, &cs);
      vq_h3_get_stats(sv.q.h3, &ss);
      CHECK_EQ(cs.early_requests, 1);
      CHECK_EQ(cs.early_retried, 1);
      CHECK_EQ(ss.early_requests, 1);
      CHECK_EQ(ss.early_rejected, 1);
      /* established now: a POST is not early */
      CHECK_EQ(ed_request(p, &c, "POST", "form=2"), VQ_OK);
      ed_pump(p, &c, &sv, &scfg, &scb);
      CHECK_EQ(c.status, 200);
      CHECK_EQ(c.retries, 1);
      CHECK_EQ(sv.requests, 2);
      vq_h3_get_stats(sv.q.h3, &ss);
      CHECK_EQ(ss.early_rejected, 1);
    } else if (k == 1) {
      CHECK_EQ(ed_request(p, &c, "GET", NULL), VQ_OK);
      ed_pump(p, &c, &sv, &scfg, &scb);
      CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
      CHECK_EQ(c.status, 200);
      CHECK(c.ended);
      CHECK_EQ(c.retries, 0);
      CHECK_EQ(sv.requests, 1);
      CHECK_EQ(sv.early_requests, 1);
    } else {
      CHECK_EQ(ed_request(p, &c, "POST", "form=3"), VQ_ERR_STREAM_STATE);
      ed_pump(p, &c, &sv, &scfg, &scb); /* the handshake completes */
      CHECK(vq_conn_get_state(p->cli) == VQ_CONN_ESTABLISHED);
      CHECK_EQ(ed_request(p, &c, "POST", "form=3"), VQ_OK);
      ed_pump(p, &c, &sv, &scfg, &scb);
      CHECK_EQ(c.status, 200);
      CHECK_EQ(c.retries, 0);
      CHECK_EQ(sv.early_requests, 0);
    }
    if (sv.init)
      vq_h3q_free(&sv.q);
    vq_h3q_free(&c.q);
    client_done(p);
  }
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* ---- 0-RTT after a Retry (RFC 9000 §17.2.5.3, RFC 9001 §4.6.2) --------------------------------- */

/* The endpoint answers every Initial without a token with a Retry (same TLS context). */
static int endpoint_retry(pair *p)
{
  vq_endpoint_free(p->ep);
  p->ep = NULL;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.conn.wall_clock_base_ms = WALL0;
  ec.retry = 1;
  return vq_endpoint_new(&p->ep, &p->root, &ec) == VQ_OK;
}

/* Each packet's type of a datagram, in order (VQ_PKT_* + 1; 0 ends). */
static void pkt_types(const uint8_t *d, size_t n, int *out, size_t cap)
{
  vq_pkt_header h;
  size_t k = 0;
  for (size_t off = 0; off < n && k + 1 < cap && vq_packet_parse(d + off, n - off, 8, &h) == VQ_OK &&
                       h.packet_len;
       off += h.packet_len)
    out[k++] = (int)h.type + 1;
  out[k] = 0;
}

/* spec: rfc9000#17.2.5.3/3, rfc9001#4.6.2/4 — the client attempts 0-RTT again after a Retry: the
 * 0-RTT packets sent before it never reached a connection (the server answered statelessly), so
 * their data goes again in 0-RTT packets to the Retry's connection ID, coalesced after the new
 * Initial; spec: rfc9000#17.2.5.3/4 — with packet numbers going on (the first 0-RTT packet was 0, the
 * ones after the Retry are above it). The server accepts the 0-RTT and has the data before its
 * handshake completes. */
VQ_TEST(conn_zrtt_after_retry)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(get_session(p));
  CHECK(endpoint_retry(p));
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  uint64_t id = 0;
  size_t acc = 0, n = 0;
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, (const uint8_t *)"early!", 6, 1, &acc), VQ_OK);
  uint8_t d[1500], resp[1500];
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, d, sizeof(d), &n), VQ_OK);
  CHECK(has_0rtt(d, n));
  uint64_t app_pn_before = p->cli->sp[VQ_SPACE_APP].next_pn;
  CHECK(app_pn_before >= 1);
  /* the endpoint answers with a Retry and keeps nothing */
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  size_t rl = 0;
  uint8_t addr = 1;
  (void)vq_endpoint_recv(p->ep, &p->cx, &addr, 1, d, n, &ec, &created, resp, sizeof(resp), &rl);
  CHECK(!created);
  CHECK(rl > 0);
  CHECK(server(p) == NULL);
  int types[8];
  pkt_types(resp, rl, types, 8);
  CHECK_EQ(types[0], (int)VQ_PKT_RETRY + 1);
  p->cx.now += VQ_MS(1);
  CHECK_EQ(vq_conn_recv(p->cli, &p->cx, resp, rl, 0), VQ_OK);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_HANDSHAKE);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  /* the next datagram: the Initial with the token, then the stream's data again in 0-RTT */
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, d, sizeof(d), &n), VQ_OK);
  pkt_types(d, n, types, 8);
  CHECK_EQ(types[0], (int)VQ_PKT_INITIAL + 1);
  CHECK(has_0rtt(d, n));
  CHECK(p->cli->sp[VQ_SPACE_APP].next_pn > app_pn_before);
  CHECK(n >= 1200);
  to_server(p, d, n);
  vq_conn *s = server(p);
  CHECK(s != NULL);
  if (s) {
    CHECK_EQ(vq_conn_early_data(s), VQ_EARLY_ACCEPTED);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_HANDSHAKE);
    uint8_t rb[16];
    int fin = 0;
    CHECK_EQ(vq_conn_stream_read(s, &p->cx, id, rb, sizeof(rb), &n, &fin), VQ_OK);
    CHECK_MEM(rb, n, "early!", 6);
    CHECK(fin);
    /* the server's largest 0-RTT/1-RTT pn received is above the lost packet's */
    CHECK(s->sp[VQ_SPACE_APP].largest_recv >= (int64_t)app_pn_before);
  }
  run_until_established(p);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  CHECK(vq_conn_resumed(p->cli));
  vq_conn_stats st;
  vq_conn_get_stats(p->cli, &st);
  /* the packet lost to the Retry is not a loss (no congestion signal) */
  CHECK_EQ(st.pkts_lost, 0);
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* ---- DATAGRAM in 0-RTT (RFC 9221 §3, §5) -------------------------------------------------------- */

/* A new endpoint on the same TLS context with max_datagram_frame_size dg (0: DATAGRAM off). */
static int endpoint_dg(pair *p, uint64_t dg)
{
  vq_endpoint_free(p->ep);
  p->ep = NULL;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.conn.wall_clock_base_ms = WALL0;
  ec.conn.max_datagram_frame_size = dg;
  ec.early_replay_off = 1;
  return vq_endpoint_new(&p->ep, &p->root, &ec) == VQ_OK;
}

/* The server's datagrams received so far, their bytes appended to out (at most cap). */
static size_t server_dgrams(pair *p, uint8_t *out, size_t cap, int *count)
{
  vq_conn *s = server(p);
  size_t tot = 0;
  *count = 0;
  for (int k = 0; s && k < 16; k++) {
    size_t n = 0;
    int got = 0;
    if (vq_conn_dgram_recv(s, &p->cx, out + tot, cap - tot, &n, &got) != VQ_OK || !got)
      break;
    tot += n;
    (*count)++;
  }
  return tot;
}

/* spec: rfc9221#3/1, rfc9221#3/7, rfc9221#5/3 — a client that remembered the server's
 * max_datagram_frame_size (with its session) sends DATAGRAM frames in 0-RTT packets, within it; the
 * server that accepted 0-RTT delivers them before its handshake completes (rfc9221#3/8: it accepted
 * only because its max_datagram_frame_size is not below the remembered one) */
VQ_TEST(conn_zrtt_datagram_accepted)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(endpoint_dg(p, 1200));
  p->cli_dg_max = 1200;
  CHECK(get_session(p));
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  size_t maxp = vq_conn_dgram_max_payload(p->cli);
  CHECK(maxp > 100 && maxp < 1200);
  /* above the remembered limit: refused at once */
  static uint8_t big[1300];
  CHECK_EQ(vq_conn_dgram_send(p->cli, &p->cx, big, 1250), VQ_ERR_DGRAM_TOO_LARGE);
  CHECK_EQ(vq_conn_dgram_send(p->cli, &p->cx, (const uint8_t *)"dgram-0rtt", 10), VQ_OK);
  uint8_t d[1500];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p->cli, &p->cx, d, sizeof(d), &n), VQ_OK);
  CHECK(has_0rtt(d, n));
  to_server(p, d, n);
  /* the Initial fills most of the first datagram: the DATAGRAM may be in the next 0-RTT one */
  for (int k = 0; k < 4 && vq_conn_send(p->cli, &p->cx, d, sizeof(d), &n) == VQ_OK && n; k++) {
    CHECK(has_0rtt(d, n));
    to_server(p, d, n);
  }
  vq_conn *s = server(p);
  CHECK(s != NULL);
  if (s) {
    CHECK_EQ(vq_conn_early_data(s), VQ_EARLY_ACCEPTED);
    CHECK_EQ(vq_conn_get_state(s), VQ_CONN_HANDSHAKE);
    uint8_t rb[64];
    int cnt = 0;
    size_t got = server_dgrams(p, rb, sizeof(rb), &cnt);
    CHECK_EQ(cnt, 1);
    CHECK_MEM(rb, got, "dgram-0rtt", 10);
  }
  vq_conn_stats st;
  vq_conn_get_stats(p->cli, &st);
  CHECK_EQ(st.dgram_sent, 1);
  run_until_established(p);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  vq_conn_get_stats(p->cli, &st);
  CHECK_EQ(st.dgram_acked, 1);
  CHECK_EQ(st.dgram_lost, 0);
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* spec: rfc9221#3/1 — without a remembered max_datagram_frame_size (the server had DATAGRAM off when
 * it issued the ticket) no DATAGRAM goes in 0-RTT: refused until the handshake gives the server's
 * parameter; the 0-RTT itself is accepted and a datagram goes after the handshake */
VQ_TEST(conn_zrtt_datagram_not_remembered)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(endpoint_dg(p, 0));
  p->cli_dg_max = 1200;
  CHECK(get_session(p));
  CHECK(endpoint_dg(p, 1200));
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  CHECK_EQ(vq_conn_dgram_max_payload(p->cli), 0);
  CHECK_EQ(vq_conn_dgram_send(p->cli, &p->cx, (const uint8_t *)"x", 1), VQ_ERR_DGRAM_DISABLED);
  run_until_established(p);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  CHECK_EQ(vq_conn_dgram_send(p->cli, &p->cx, (const uint8_t *)"late", 4), VQ_OK);
  round_trip(p);
  uint8_t rb[16];
  int cnt = 0;
  size_t got = server_dgrams(p, rb, sizeof(rb), &cnt);
  CHECK_EQ(cnt, 1);
  CHECK_MEM(rb, got, "late", 4);
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* spec: rfc9221#3/8 — a server whose max_datagram_frame_size is now below the one it sent with the
 * ticket does not accept 0-RTT: the DATAGRAM the client sent in 0-RTT is not processed (the server
 * has none) and the client is told it is lost (never sent again, RFC 9221 §5.2) */
VQ_TEST(conn_zrtt_datagram_server_lowered_refuses)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(endpoint_dg(p, 1200));
  p->cli_dg_max = 1200;
  CHECK(get_session(p));
  CHECK(endpoint_dg(p, 100));
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  static uint8_t pl[500];
  memset(pl, 0x5a, sizeof pl);
  CHECK_EQ(vq_conn_dgram_send(p->cli, &p->cx, pl, sizeof pl), VQ_OK);
  int lost_ev = 0;
  for (int i = 0; i < 20 && vq_conn_get_state(p->cli) == VQ_CONN_HANDSHAKE; i++) {
    uint8_t buf[1500];
    size_t n;
    for (int k = 0; k < 100 && vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      to_server(p, buf, n);
    p->cx.now += VQ_MS(1);
    vq_conn *s = server(p);
    for (int k = 0; s && k < 100 && vq_conn_send(s, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      (void)vq_conn_recv(p->cli, &p->cx, buf, n, 0);
    p->cx.now += VQ_MS(1);
    vq_conn_event ev;
    while (vq_conn_poll_event(p->cli, &ev))
      lost_ev += ev.type == VQ_CONN_EV_DATAGRAM_LOST && ev.stream_id == 0;
  }
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_REJECTED);
  CHECK_EQ(lost_ev, 1);
  vq_conn_stats st;
  vq_conn_get_stats(p->cli, &st);
  CHECK_EQ(st.dgram_sent, 1);
  CHECK_EQ(st.dgram_lost, 1);
  vq_conn *s = server(p);
  CHECK(s != NULL);
  if (s) {
    vq_conn_get_stats(s, &st);
    CHECK_EQ(st.dgram_recv, 0);
    CHECK_EQ(vq_conn_early_data(s), VQ_EARLY_NONE);
  }
  /* the new, lower limit holds now */
  CHECK_EQ(vq_conn_dgram_send(p->cli, &p->cx, pl, sizeof pl), VQ_ERR_DGRAM_TOO_LARGE);
  CHECK(vq_conn_dgram_max_payload(p->cli) < 100);
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

static void raise_dgram(vq_tp *tp) { tp->max_datagram_frame_size += 1; }

/* spec: rfc9221#3/9 — the client checks that the max_datagram_frame_size of a server that accepted
 * 0-RTT is not below the remembered one: here the client remembers more than the server gives (the
 * same as a server lowering it), PROTOCOL_VIOLATION */
VQ_TEST(conn_zrtt_datagram_accepted_lower_violation)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(endpoint_dg(p, 1200));
  p->cli_dg_max = 1200;
  CHECK(get_session(p));
  uint8_t b[VQ_TLS_SESSION_MAX];
  size_t bl = tamper_tp(p->session, p->session_len, raise_dgram, b);
  CHECK(bl > 0);
  CHECK_EQ(client_new(p, b, bl), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  run_until_established(p);
  CHECK(vq_conn_get_state(p->cli) == VQ_CONN_CLOSING || vq_conn_get_state(p->cli) == VQ_CONN_CLOSED);
  CHECK_EQ(vq_conn_close_error(p->cli, NULL, NULL, NULL), VQ_TE_PROTOCOL_VIOLATION);
  client_done(p);
  /* the same session untampered is accepted */
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  run_until_established(p);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* spec: rfc9369#4.1/10 — compatible negotiation v1 -> v2 with 0-RTT: the session comes from a v1
 * connection and the client starts in v1 (its original version), so the server may accept it; the
 * client's 0-RTT packets stay in v1 even after it learned v2, the server reads them, and the
 * connection runs in v2. */
VQ_TEST(conn_zrtt_compatible_negotiation_keeps_original_version)
{
  pair p_, *p = &p_;
  const uint32_t sv[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  const uint32_t v1only[] = {VQ_QUIC_V1, 0};
  const uint32_t v1v2[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  CHECK(pair_init_ex(p, 1, 0, sv, NULL, 0));
  p->cli_versions = v1only;
  CHECK(get_session(p));
  p->cli_versions = v1v2;
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  uint64_t id = 0, id2 = 0;
  size_t acc = 0;
  static uint8_t body[6000];
  for (size_t i = 0; i < sizeof(body); i++)
    body[i] = (uint8_t)(i * 13);
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, body, sizeof(body), 1, &acc), VQ_OK);
  uint8_t buf[1500];
  size_t n = 0;
  int v2_0rtt = 0, v1_0rtt = 0;
  for (int r = 0; r < 30 && vq_conn_get_state(p->cli) == VQ_CONN_HANDSHAKE; r++) {
    if (r > 0) {
      /* the rest of the server's first flight was lost: its timers resend it */
      vq_conn *s0 = server(p);
      vq_time nt = vq_conn_next_timeout(p->cli);
      if (s0 && vq_conn_next_timeout(s0) < nt)
        nt = vq_conn_next_timeout(s0);
      if (nt != VQ_TIME_NEVER && nt > p->cx.now)
        p->cx.now = nt;
      (void)vq_conn_handle_timeout(p->cli, &p->cx);
      if (s0 && vq_conn_next_timeout(s0) <= p->cx.now)
        (void)vq_conn_handle_timeout(s0, &p->cx);
    }
    for (int k = 0; k < 100 && vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++) {
      vq_pkt_header h;
      for (size_t off = 0; off < n && vq_packet_parse(buf + off, n - off, 8, &h) == VQ_OK && h.packet_len;
           off += h.packet_len)
        if (h.type == VQ_PKT_0RTT) {
          v1_0rtt += h.version == VQ_QUIC_V1;
          v2_0rtt += h.version != VQ_QUIC_V1;
        }
      to_server(p, buf, n);
    }
    p->cx.now += VQ_MS(1);
    vq_conn *s = server(p);
    for (int k = 0; s && k < 100 && vq_conn_send(s, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++) {
      vq_pkt_header h;
      /* the first round: only the server's first Initial (its ServerHello, in v2) gets through */
      if (r == 0 && (k > 0 || vq_packet_parse(buf, n, 8, &h) != VQ_OK || h.type != VQ_PKT_INITIAL))
        continue;
      (void)vq_conn_recv(p->cli, &p->cx, buf, r == 0 ? h.packet_len : n, 0);
    }
    p->cx.now += VQ_MS(1);
    client_events(p);
    if (r == 0) {
      /* the client has learned v2 from the server's first flight: more early data now */
      CHECK_EQ(vq_conn_version(p->cli), VQ_QUIC_V2);
      CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_HANDSHAKE);
      CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id2), VQ_OK);
      CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id2, body, 1000, 1, &acc), VQ_OK);
    }
  }
  run_until_established(p);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_version(p->cli), VQ_QUIC_V2);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  CHECK(v1_0rtt > 0);
  CHECK_EQ(v2_0rtt, 0);
  vq_conn *s = server(p);
  CHECK(s != NULL);
  if (s) {
    CHECK_EQ(vq_conn_version(s), VQ_QUIC_V2);
    CHECK_EQ(vq_conn_early_data(s), VQ_EARLY_ACCEPTED);
    static uint8_t rb[8000];
    int fin = 0;
    size_t got = server_read_all(p, id, rb, sizeof(rb), &fin);
    CHECK(fin);
    CHECK_MEM(rb, got, body, sizeof(body));
  }
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}

/* The endpoint again, with a preferred address (10.9.8.7:4433) or without. */
static int endpoint_pa(pair *p, int with_pa)
{
  vq_endpoint_free(p->ep);
  p->ep = NULL;
  memset(&p->pref, 0, sizeof(p->pref));
  p->pref.ipv4[0] = 10;
  p->pref.ipv4[1] = 9;
  p->pref.ipv4[2] = 8;
  p->pref.ipv4[3] = 7;
  p->pref.ipv4_port = 4433;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.conn.wall_clock_base_ms = WALL0;
  ec.conn.preferred_address = with_pa ? &p->pref : NULL;
  ec.early_replay_off = 1;
  return vq_endpoint_new(&p->ep, &p->root, &ec) == VQ_OK;
}

static int contains(const uint8_t *h, size_t hl, const uint8_t *n, size_t nl)
{
  for (size_t i = 0; nl && i + nl <= hl; i++)
    if (memcmp(h + i, n, nl) == 0)
      return 1;
  return 0;
}

/* spec: rfc9000#9.6.2/6 — a client does not use the server's preferred address for another
 * connection, a resumed one included; spec: rfc9000#7.4.1/2 — the session it keeps for 0-RTT
 * remembers neither the preferred address nor its CID and stateless reset token (nor the
 * stateless_reset_token and CIDs of the handshake): the resumed connection (to a server that now
 * gives no preferred address) sends every datagram to the address the application gives (no
 * destination of vq_conn_send_path's own) and never asks the application to map one. */
VQ_TEST(conn_zrtt_preferred_address_not_remembered)
{
  pair p_, *p = &p_;
  CHECK(pair_init(p, 1, 0));
  CHECK(endpoint_pa(p, 1));
  p->cli_pa = 1;
  CHECK_EQ(client_new(p, NULL, 0), VQ_OK);
  run_until_established(p);
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  /* the first connection got and used it */
  CHECK(vq_tp_has(&p->cli->peer_tp, VQ_TP_PREFERRED_ADDRESS));
  CHECK_EQ(p->pa_calls, 1);
  vq_tp_preferred_address pa = p->cli->peer_tp.preferred_address;
  CHECK_EQ(pa.ipv4_port, 4433);
  CHECK_EQ(pa.cid.len, 8);
  uint8_t srt[VQ_TP_RESET_TOKEN_LEN];
  memcpy(srt, p->cli->peer_tp.stateless_reset_token, sizeof(srt));
  CHECK(p->session_len > 0);
  client_done(p);
  p->cx.now += VQ_MS(1000);
  /* the session: none of its bytes */
  const uint8_t v4[6] = {10, 9, 8, 7, 4433 >> 8, 4433 & 0xff};
  CHECK(!contains(p->session, p->session_len, pa.cid.bytes, pa.cid.len));
  CHECK(!contains(p->session, p->session_len, pa.reset_token, sizeof(pa.reset_token)));
  CHECK(!contains(p->session, p->session_len, v4, sizeof(v4)));
  CHECK(!contains(p->session, p->session_len, srt, sizeof(srt)));

  /* the resumed connection, with 0-RTT */
  CHECK(endpoint_pa(p, 0));
  p->pa_calls = 0;
  CHECK_EQ(client_new(p, p->session, p->session_len), VQ_OK);
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_OFFERED);
  const uint8_t *etp = NULL;
  size_t etp_len = 0;
  vq_tls_early_peer_tp(p->cli->tls, &etp, &etp_len);
  vq_tp rem;
  CHECK(etp != NULL);
  CHECK_EQ(vq_tp_decode(etp, etp_len, VQ_TP_SERVER, &rem), VQ_OK);
  CHECK(vq_tp_has(&rem, VQ_TP_INITIAL_MAX_DATA)); /* the limits are remembered */
  CHECK(!vq_tp_has(&rem, VQ_TP_PREFERRED_ADDRESS));
  CHECK(!vq_tp_has(&rem, VQ_TP_STATELESS_RESET_TOKEN));
  CHECK(!vq_tp_has(&rem, VQ_TP_INITIAL_SOURCE_CONNECTION_ID));
  CHECK(!vq_tp_has(&rem, VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID));
  uint64_t id = 0;
  size_t acc = 0;
  CHECK_EQ(vq_conn_stream_open(p->cli, &p->cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(p->cli, &p->cx, id, (const uint8_t *)"GET", 3, 1, &acc), VQ_OK);
  int elsewhere = 0, sent = 0;
  for (int i = 0; i < 25; i++) {
    uint8_t buf[1500], to[VQ_ADDR_MAX];
    size_t n = 0, tl = 0;
    for (int k = 0; k < 100 && vq_conn_send_path(p->cli, &p->cx, buf, sizeof(buf), &n, to, &tl) ==
                                   VQ_OK && n; k++) {
      sent++;
      elsewhere += tl != 0;
      to_server(p, buf, n);
    }
    p->cx.now += VQ_MS(1);
    vq_conn *s = server(p);
    for (int k = 0; s && k < 100 && vq_conn_send(s, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      (void)vq_conn_recv(p->cli, &p->cx, buf, n, 0);
    p->cx.now += VQ_MS(1);
    client_events(p);
  }
  CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
  CHECK(vq_conn_resumed(p->cli));
  CHECK_EQ(vq_conn_early_data(p->cli), VQ_EARLY_ACCEPTED);
  CHECK(sent > 3);
  CHECK_EQ(elsewhere, 0);
  CHECK_EQ(p->pa_calls, 0);
  CHECK_EQ(vq_conn_preferred_state(p->cli), VQ_PA_NONE);
  CHECK(!vq_tp_has(&p->cli->peer_tp, VQ_TP_PREFERRED_ADDRESS));
  pair_free(p);
  CHECK_EQ(p->root.used, 0);
}
