/* Tests of TLS 1.3 session tickets, PSK resumption and 0-RTT keys for QUIC (src/tls/hs.c,
 * hs_resume.c): a full handshake gives a ticket and a session blob; a second connection offers it
 * and, depending on what the server allows, resumes without Certificate, accepts or refuses 0-RTT,
 * or falls back to a full handshake. Every test pumps a client and a server vq_tls in memory. */
#include "vqtest.h"

#include <stdlib.h>

#include <openssl/evp.h>

#include "tls/hs_internal.h"
#include "vquic/tls.h"

static const uint8_t ALPN_H3[] = {2, 'h', '3'};
static const uint8_t ALPN_29_H3[] = {5, 'h', '3', '-', '2', '9', 2, 'h', '3'};
static const uint8_t CLIENT_TP[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x0f, 0x02, 0xaa, 0xbb};
/* initial_max_data 1 MiB, initial_max_streams_bidi 100, initial_source_connection_id */
static const uint8_t SERVER_TP[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x08, 0x02, 0x40, 0x64,
                                    0x0f, 0x03, 0x01, 0x02, 0x03};
/* SERVER_TP as the client's session remembers it: spec: rfc9000#7.4.1/2 — without
 * initial_source_connection_id (nor the other CIDs, preferred_address, stateless_reset_token,
 * ack_delay_exponent, max_ack_delay) */
static const uint8_t SERVER_TP_REMEMBERED[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x08, 0x02,
                                               0x40, 0x64};
/* the same with initial_max_data lowered to 1024 */
static const uint8_t SERVER_TP_SMALL[] = {0x04, 0x02, 0x44, 0x00, 0x08, 0x02, 0x40, 0x64,
                                          0x0f, 0x03, 0x01, 0x02, 0x03};
static const uint8_t TICKET_KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
#define T0 1700000000000ull /* a wall clock, ms */

typedef void (*tamper_fn)(int from_server, vq_level l, uint8_t *b, size_t n);

typedef struct srv_opts {
  const uint8_t *alpn;
  size_t alpn_len;
  int early;
  const uint8_t *key;     /* NULL: TICKET_KEY */
  int random_key;         /* 1: no configured key */
  uint32_t lifetime;
  int no_tickets;
  uint16_t only_group;    /* test hook: accept only this group (forces a HelloRetryRequest) */
  void (*keylog)(void *ud, const char *line);
} srv_opts;

typedef struct cli_opts {
  const uint8_t *alpn;
  size_t alpn_len;
  int early;
  void (*keylog)(void *ud, const char *line);
} cli_opts;

typedef struct conn {
  vq_mem mem;
  vq_cx ccx, scx;
  vq_tls *s, *c;
  vq_tls_secret ssec[10], csec[10];
  size_t ns, nc;
  int srv_types[32];      /* handshake message types the server sent, in order */
  size_t n_srv_types;
  tamper_fn tamper;
} conn;

static vq_tls_ctx *mk_server(vq_t *t, const srv_opts *o)
{
  vq_tls_ctx_config c = {0};
  vq_tls_ctx *ctx = NULL;
  char err[200];
  c.is_server = 1;
  c.alpn = o->alpn ? o->alpn : ALPN_H3;
  c.alpn_len = o->alpn ? o->alpn_len : sizeof ALPN_H3;
  c.enable_early_data = o->early;
  c.ticket_key = o->random_key ? NULL : o->key ? o->key : TICKET_KEY;
  c.ticket_lifetime_s = o->lifetime;
  c.no_tickets = o->no_tickets;
  c.keylog = o->keylog;
  CHECK_EQ(vq_tls_ctx_new(&ctx, &c, err, sizeof err), VQ_OK);
  if (ctx && o->only_group) {
    vq_tls_test_hooks h;
    memset(&h, 0, sizeof h);
    h.n_groups = 1;
    h.groups[0] = o->only_group;
    vq_tls_ctx_set_test_hooks(ctx, &h);
  }
  return ctx;
}

static vq_tls_ctx *mk_client(vq_t *t, const cli_opts *o)
{
  vq_tls_ctx_config c = {0};
  vq_tls_ctx *ctx = NULL;
  c.insecure = 1;
  c.alpn = o->alpn ? o->alpn : ALPN_H3;
  c.alpn_len = o->alpn ? o->alpn_len : sizeof ALPN_H3;
  c.enable_early_data = o->early;
  c.keylog = o->keylog;
  CHECK_EQ(vq_tls_ctx_new(&ctx, &c, NULL, 0), VQ_OK);
  return ctx;
}

static void poll_all(conn *k)
{
  vq_tls_secret s;
  while (k->s && vq_tls_poll_secret(k->s, &s))
    if (k->ns < 10) k->ssec[k->ns++] = s;
  while (k->c && vq_tls_poll_secret(k->c, &s))
    if (k->nc < 10) k->csec[k->nc++] = s;
}

/* The server's anti-replay check for conn_open (NULL: none) and how often it was called. */
static int (*g_early_check)(void *ud, const uint8_t *ticket, size_t len, uint64_t expires_ms);
static int g_early_calls;

/* Both sides of one connection; the client offers session (may be NULL). Returns vq_tls_new's
 * status for the client. */
static vq_status conn_open_v(vq_t *t, conn *k, vq_tls_ctx *sctx, vq_tls_ctx *cctx, uint64_t swall,
                             uint64_t cwall, const uint8_t *session, size_t slen, const uint8_t *stp,
                             size_t stp_len, uint32_t sver, uint32_t cver)
{
  memset(k, 0, sizeof *k);
  vq_mem_init(&k->mem, vq_allocator_system(), NULL, 4u << 20);
  vq_tls_params sp = {NULL, stp ? stp : SERVER_TP, stp ? stp_len : sizeof SERVER_TP};
  vq_tls_params cp = {"localhost", CLIENT_TP, sizeof CLIENT_TP};
  vq_tls_resume sr = {swall, NULL, 0}, cr = {cwall, session, slen};
  sr.early_check = g_early_check;
  sr.early_check_ud = &g_early_calls;
  sr.quic_version = sver;
  cr.quic_version = cver;
  CHECK_EQ(vq_tls_new_ex(&k->s, &k->mem, sctx, &sp, &sr, &k->scx), VQ_OK);
  vq_status st = vq_tls_new_ex(&k->c, &k->mem, cctx, &cp, &cr, &k->ccx);
  poll_all(k);
  return st;
}

static vq_status conn_open(vq_t *t, conn *k, vq_tls_ctx *sctx, vq_tls_ctx *cctx, uint64_t swall,
                           uint64_t cwall, const uint8_t *session, size_t slen, const uint8_t *stp,
                           size_t stp_len)
{
  return conn_open_v(t, k, sctx, cctx, swall, cwall, session, slen, stp, stp_len, 0, 0);
}

static void conn_close(vq_t *t, conn *k)
{
  vq_tls_free(k->s);
  vq_tls_free(k->c);
  CHECK_EQ(k->mem.used, 0);
}

static void note_types(conn *k, const uint8_t *b, size_t n)
{
  size_t off = 0;
  while (off + 4 <= n) {
    if (k->n_srv_types < 32) k->srv_types[k->n_srv_types++] = b[off];
    off += 4 + ((size_t)b[off + 1] << 16 | (size_t)b[off + 2] << 8 | b[off + 3]);
  }
}

/* Moves the queued bytes level by level until nothing moves; the first failure is returned. */
static vq_status pump(conn *k)
{
  static const vq_level levels[3] = {VQ_LEVEL_INITIAL, VQ_LEVEL_HANDSHAKE, VQ_LEVEL_APP};
  for (int round = 0; round < 16; round++) {
    int moved = 0;
    for (int side = 0; side < 2; side++)
      for (int i = 0; i < 3; i++) {
        vq_tls *from = side ? k->s : k->c, *to = side ? k->c : k->s;
        const uint8_t *d = NULL;
        size_t n = 0;
        vq_tls_out_peek(from, levels[i], &d, &n);
        if (n == 0) continue;
        uint8_t *copy = malloc(n);
        memcpy(copy, d, n);
        vq_tls_out_consume(from, levels[i], n);
        if (k->tamper) k->tamper(side, levels[i], copy, n);
        if (side) note_types(k, copy, n);
        moved = 1;
        vq_status st = vq_tls_recv(to, side ? &k->ccx : &k->scx, levels[i], copy, n);
        free(copy);
        poll_all(k);
        if (st != VQ_OK) return st;
      }
    if (!moved) break;
  }
  return VQ_OK;
}

static const vq_tls_secret *find_secret(const vq_tls_secret *a, size_t n, vq_level l, vq_tls_dir d)
{
  for (size_t i = 0; i < n; i++)
    if (a[i].level == l && a[i].dir == d) return &a[i];
  return NULL;
}

static int sent(const conn *k, int type)
{
  for (size_t i = 0; i < k->n_srv_types; i++)
    if (k->srv_types[i] == type) return 1;
  return 0;
}

/* Both complete; Handshake and 1-RTT secrets agree in both directions. */
static void check_complete(vq_t *t, conn *k)
{
  CHECK(vq_tls_handshake_complete(k->c));
  CHECK(vq_tls_handshake_complete(k->s));
  static const vq_level lv[2] = {VQ_LEVEL_HANDSHAKE, VQ_LEVEL_APP};
  for (int i = 0; i < 2; i++)
    for (int d = 0; d < 2; d++) {
      const vq_tls_secret *a = find_secret(k->csec, k->nc, lv[i], (vq_tls_dir)d);
      const vq_tls_secret *b = find_secret(k->ssec, k->ns, lv[i], (vq_tls_dir)(1 - d));
      CHECK(a != NULL && b != NULL);
      if (a && b) CHECK_MEM(a->secret, a->len, b->secret, b->len);
    }
}

/* A first, full connection; its session blob in out (*len; 0 when none came). */
static void first_session(vq_t *t, vq_tls_ctx *sctx, vq_tls_ctx *cctx, uint8_t *out, size_t cap,
                          size_t *len)
{
  conn k;
  *len = 0;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0, T0, NULL, 0, NULL, 0), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(!vq_tls_resumed(k.c) && !vq_tls_resumed(k.s));
  CHECK(sent(&k, VQ_TLS_CERTIFICATE));
  CHECK(sent(&k, VQ_TLS_NEW_SESSION_TICKET));
  /* spec: rfc8446#4.4.2/1 — a full handshake: the server sends its Certificate.
   * spec: rfc8446#4/1, rfc8446#4.3.1/1, rfc8446#4.4.3/1, rfc8446#4.4.3/3 — the server's messages in
   * the order of §4.4.1: EncryptedExtensions right after ServerHello, CertificateVerify (it
   * authenticates with a certificate) right after Certificate and before Finished. */
  static const int order[6] = {VQ_TLS_SERVER_HELLO, VQ_TLS_ENCRYPTED_EXTENSIONS, VQ_TLS_CERTIFICATE,
                               VQ_TLS_CERTIFICATE_VERIFY, VQ_TLS_FINISHED, VQ_TLS_NEW_SESSION_TICKET};
  CHECK(k.n_srv_types >= 6);
  for (size_t i = 0; i < 6 && i < k.n_srv_types; i++) CHECK_EQ(k.srv_types[i], order[i]);
  CHECK_EQ(vq_tls_session_get(k.c, out, cap, len), VQ_OK);
  CHECK(*len > 0);
  size_t sl = 1;
  CHECK_EQ(vq_tls_session_get(k.s, NULL, 0, &sl), VQ_OK);
  CHECK_EQ(sl, 0);
  conn_close(t, &k);
}

/* ---- resumption --------------------------------------------------------------------------------- */

/* spec: rfc8446#4.6.1/1, rfc8446#4.6.1/2, rfc8446#2.2 — a ticket after the handshake; the next
 * connection resumes with it: ServerHello with pre_shared_key, no Certificate nor
 * CertificateVerify, and equal traffic secrets on both sides. */
VQ_TEST(hs_resume_basic)
{
  srv_opts so = {0};
  cli_opts co = {0};
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_session_offered(k.c));
  CHECK(!vq_tls_early_data_offered(k.c)); /* early data is off on both */
  {
    /* spec: rfc8446#4.2.11/15, rfc8446#4.2/6 — pre_shared_key is the last extension of the
     * ClientHello: its data ends where the message ends; spec: rfc8446#4.2.9/1, rfc8446#4.2.9/2 —
     * with psk_key_exchange_modes */
    const uint8_t *d;
    size_t n;
    vq_tls_msg m;
    vq_tls_client_hello ch;
    vq_tls_out_peek(k.c, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
    CHECK(ch.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY] && ch.ext.has[VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES]);
    /* spec: rfc8446#4.2.9/8 — psk_dhe_ke only, with a key_share (the server's is checked by the
     * client, and the handshake below completes) */
    CHECK(ch.ext.psk_modes.len == 1 && ch.ext.psk_modes.p[0] == 1);
    CHECK(ch.ext.has[VQ_TLS_EXT_KEY_SHARE]);
    CHECK(ch.ext.raw[VQ_TLS_EXT_PRE_SHARED_KEY].p + ch.ext.raw[VQ_TLS_EXT_PRE_SHARED_KEY].len ==
          m.body.p + m.body.len);
  }
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(vq_tls_resumed(k.c));
  CHECK(vq_tls_resumed(k.s));
  CHECK(!sent(&k, VQ_TLS_CERTIFICATE));
  CHECK(!sent(&k, VQ_TLS_CERTIFICATE_VERIFY));
  CHECK(sent(&k, VQ_TLS_FINISHED));
  /* spec: rfc8446#4.3.1/1 — resumed too, EncryptedExtensions right after ServerHello */
  CHECK(k.n_srv_types >= 3 && k.srv_types[0] == VQ_TLS_SERVER_HELLO &&
        k.srv_types[1] == VQ_TLS_ENCRYPTED_EXTENSIONS && k.srv_types[2] == VQ_TLS_FINISHED);
  CHECK_EQ(k.nc, 4);
  CHECK_EQ(k.ns, 4);
  CHECK(find_secret(k.csec, k.nc, VQ_LEVEL_EARLY, VQ_TLS_WRITE) == NULL);
  /* the resumed connection gets a new ticket too, and that one resumes as well */
  uint8_t blob2[VQ_TLS_SESSION_MAX];
  size_t bl2 = 0;
  CHECK_EQ(vq_tls_session_get(k.c, blob2, sizeof blob2, &bl2), VQ_OK);
  CHECK(bl2 > 0 && (bl2 != bl || memcmp(blob, blob2, bl) != 0));
  conn_close(t, &k);
  conn k2;
  CHECK_EQ(conn_open(t, &k2, sctx, cctx, T0 + 2000, T0 + 2000, blob2, bl2, NULL, 0), VQ_OK);
  CHECK_EQ(pump(&k2), VQ_OK);
  check_complete(t, &k2);
  CHECK(vq_tls_resumed(k2.s) && vq_tls_resumed(k2.c));
  conn_close(t, &k2);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* No wall clock, or tickets turned off: no NewSessionTicket, no session. */
VQ_TEST(hs_resume_no_ticket)
{
  for (int i = 0; i < 2; i++) {
    srv_opts so = {0};
    cli_opts co = {0};
    so.no_tickets = i == 1;
    vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
    conn k;
    uint64_t w = i == 0 ? 0 : T0;
    CHECK_EQ(conn_open(t, &k, sctx, cctx, w, w, NULL, 0, NULL, 0), VQ_OK);
    CHECK_EQ(pump(&k), VQ_OK);
    check_complete(t, &k);
    CHECK(!sent(&k, VQ_TLS_NEW_SESSION_TICKET));
    size_t len = 1;
    CHECK_EQ(vq_tls_session_get(k.c, NULL, 0, &len), VQ_OK);
    CHECK_EQ(len, 0);
    conn_close(t, &k);
    vq_tls_ctx_free(sctx);
    vq_tls_ctx_free(cctx);
  }
}

/* ---- 0-RTT ---------------------------------------------------------------------------------------- */

/* spec: rfc9001#4.6.1/1, rfc8446#4.2.10/5 — a ticket with max_early_data_size 0xffffffff; 0-RTT
 * offered and accepted: the client's early write secret (announced right after vq_tls_new) equals
 * the server's early read secret; EncryptedExtensions carries early_data. */
/* The client's Handshake-level messages: how many, and whether one is EndOfEarlyData (type 5). */
static int g_cli_hs_msgs, g_cli_eoed;
static void spy_client_handshake(int from_server, vq_level l, uint8_t *b, size_t n)
{
  if (from_server || l != VQ_LEVEL_HANDSHAKE)
    return;
  size_t off = 0;
  vq_tls_msg m;
  while (off < n && vq_tls_msg_split(b + off, n - off, &m) == VQ_OK && m.size > 0) {
    g_cli_hs_msgs++;
    if (m.type == 5)
      g_cli_eoed = 1;
    off += m.size;
  }
}

/* spec: rfc9001#8.3/1 — with 0-RTT accepted the client's Handshake flight (its Finished) holds no
 * EndOfEarlyData message. spec: rfc8446#4.2.10/2 — the client's 0-RTT secret, from the first (and
 * only) PSK it offers, equals the server's 0-RTT read secret. */
VQ_TEST(hs_resume_early_accepted)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 5000, T0 + 5000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_early_data_offered(k.c));
  CHECK(!vq_tls_early_data_accepted(k.c));
  /* the 0-RTT write key is there before anything was received */
  CHECK_EQ(k.nc, 1);
  const vq_tls_secret *cw = find_secret(k.csec, k.nc, VQ_LEVEL_EARLY, VQ_TLS_WRITE);
  CHECK(cw != NULL);
  const uint8_t *tp = NULL;
  size_t tpl = 0;
  vq_tls_early_peer_tp(k.c, &tp, &tpl);
  CHECK_MEM(tp, tpl, SERVER_TP_REMEMBERED, sizeof SERVER_TP_REMEMBERED);
  g_cli_hs_msgs = g_cli_eoed = 0;
  k.tamper = spy_client_handshake;
  CHECK_EQ(pump(&k), VQ_OK);
  CHECK(g_cli_hs_msgs >= 1);
  CHECK(!g_cli_eoed);
  check_complete(t, &k);
  CHECK(vq_tls_resumed(k.c) && vq_tls_resumed(k.s));
  CHECK(vq_tls_early_data_accepted(k.s));
  CHECK(vq_tls_early_data_accepted(k.c));
  CHECK(!sent(&k, VQ_TLS_CERTIFICATE));
  const vq_tls_secret *sr = find_secret(k.ssec, k.ns, VQ_LEVEL_EARLY, VQ_TLS_READ);
  CHECK(sr != NULL);
  /* the server announces the 0-RTT read key first (before the Handshake keys) */
  CHECK(k.ns > 0 && k.ssec[0].level == VQ_LEVEL_EARLY);
  if (cw && sr) {
    CHECK_MEM(cw->secret, cw->len, sr->secret, sr->len);
    CHECK_EQ(cw->suite, sr->suite);
    CHECK_EQ(cw->suite, vq_tls_suite(k.s));
  }
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* Server refuses 0-RTT (enable_early_data 0, same ticket key): resumption works, early_data is not
 * in EncryptedExtensions, and the client, which offered and has the 0-RTT key, learns it. A ticket
 * from a server without early data is not offered for 0-RTT at all. */
VQ_TEST(hs_resume_early_refused)
{
  srv_opts so = {0}, so_off = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  vq_tls_ctx *sctx = mk_server(t, &so), *soff = mk_server(t, &so_off), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, soff, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_early_data_offered(k.c));
  CHECK(find_secret(k.csec, k.nc, VQ_LEVEL_EARLY, VQ_TLS_WRITE) != NULL);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(vq_tls_resumed(k.c) && vq_tls_resumed(k.s));
  CHECK(!vq_tls_early_data_accepted(k.s));
  CHECK(!vq_tls_early_data_accepted(k.c));
  CHECK(find_secret(k.ssec, k.ns, VQ_LEVEL_EARLY, VQ_TLS_READ) == NULL);
  /* the ticket of this server allows no early data: the client does not offer it */
  uint8_t blob2[VQ_TLS_SESSION_MAX];
  size_t bl2 = 0;
  CHECK_EQ(vq_tls_session_get(k.c, blob2, sizeof blob2, &bl2), VQ_OK);
  conn_close(t, &k);
  conn k2;
  CHECK_EQ(conn_open(t, &k2, sctx, cctx, T0 + 2000, T0 + 2000, blob2, bl2, NULL, 0), VQ_OK);
  CHECK(vq_tls_session_offered(k2.c));
  CHECK(!vq_tls_early_data_offered(k2.c));
  CHECK_EQ(k2.nc, 0);
  CHECK_EQ(pump(&k2), VQ_OK);
  check_complete(t, &k2);
  CHECK(vq_tls_resumed(k2.s) && !vq_tls_early_data_accepted(k2.s));
  conn_close(t, &k2);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(soff);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.2.10/8 — the selected ALPN differs from the ticket's: resumed, no 0-RTT.
 * spec: rfc8446#4.2.10/10 — that check failed, so the server's EncryptedExtensions carries no
 * early_data (the client learns that 0-RTT was not accepted) and no 0-RTT read key is installed. */
VQ_TEST(hs_resume_alpn_changed)
{
  srv_opts so = {0}, so2 = {0};
  cli_opts co = {0}, co2 = {0};
  so.early = so2.early = co.early = co2.early = 1;
  so2.alpn = co2.alpn = ALPN_29_H3;
  so2.alpn_len = co2.alpn_len = sizeof ALPN_29_H3;
  vq_tls_ctx *sctx = mk_server(t, &so), *s2 = mk_server(t, &so2);
  vq_tls_ctx *cctx = mk_client(t, &co), *c2 = mk_client(t, &co2);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, s2, c2, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_early_data_offered(k.c)); /* the client still offers h3 */
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  const uint8_t *a = NULL;
  size_t al = 0;
  vq_tls_alpn(k.s, &a, &al);
  CHECK_MEM(a, al, "h3-29", 5);
  CHECK(vq_tls_resumed(k.s) && vq_tls_resumed(k.c));
  CHECK(!vq_tls_early_data_accepted(k.s));
  CHECK(!vq_tls_early_data_accepted(k.c));
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(s2);
  vq_tls_ctx_free(cctx);
  vq_tls_ctx_free(c2);
}

/* spec: rfc9000#7.4.1/6, rfc9000#7.4.1/9 — the server's current transport parameters lower a
 * remembered limit (initial_max_data): 0-RTT refused, resumption kept. */
VQ_TEST(hs_resume_early_tp_lowered)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, SERVER_TP_SMALL,
                     sizeof SERVER_TP_SMALL),
           VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(vq_tls_resumed(k.s));
  CHECK(!vq_tls_early_data_accepted(k.s) && !vq_tls_early_data_accepted(k.c));
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.2.10/3, rfc8446#4.2.10/4 — the client's ticket age is 30 s off the server's:
 * resumed, 0-RTT refused. */
VQ_TEST(hs_resume_early_age_skew)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 31000, blob, bl, NULL, 0), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(vq_tls_resumed(k.s));
  CHECK(!vq_tls_early_data_accepted(k.s) && !vq_tls_early_data_accepted(k.c));
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* ---- fallbacks and failures ------------------------------------------------------------------------ */

/* The ticket field of a session blob (tls.h's format). */
static int blob_ticket(const uint8_t *b, size_t n, const uint8_t **tk, size_t *tl)
{
  size_t off = 4 + 4 + 2 + 8 + 4 + 4 + 4;
  for (int i = 0; i < 3; i++) { /* psk, alpn, sni */
    if (off >= n) return 0;
    off += 1 + b[off];
  }
  if (off + 2 > n) return 0;
  *tl = (size_t)b[off] << 8 | b[off + 1];
  *tk = b + off + 2;
  return off + 2 + *tl <= n;
}

/* Alters one byte of the ticket inside a session blob and seals the blob's checksum again (a ticket
 * altered before the client stored it: altering it on the wire would also break the transcript). */
static int alter_ticket(uint8_t *b, size_t n)
{
  const uint8_t *tk = NULL;
  size_t tl = 0;
  unsigned int dl = 0;
  if (!blob_ticket(b, n, &tk, &tl) || tl == 0) return 0;
  b[(size_t)(tk - b) + tl / 2] ^= 0x01;
  return EVP_Digest(b, n - 32, b + n - 32, &dl, EVP_sha256(), NULL) == 1 && dl == 32;
}

static void flip_binder(int from_server, vq_level l, uint8_t *b, size_t n)
{
  /* the first ClientHello ends with the binder */
  if (!from_server && l == VQ_LEVEL_INITIAL && n > 0 && b[0] == VQ_TLS_CLIENT_HELLO) b[n - 1] ^= 0x80;
}

/* spec: rfc8446#4.2.11/5, rfc8446#4.2.11/6 — an altered ticket, or one sealed under another key:
 * ignored, a full handshake (with Certificate) follows, no 0-RTT. spec: rfc8446#4.2.10/7 — no PSK
 * accepted, so no early data accepted although it was offered. */
VQ_TEST(hs_resume_bad_ticket_full_handshake)
{
  srv_opts so = {0}, so2 = {0};
  cli_opts co = {0};
  so.early = so2.early = co.early = 1;
  so2.random_key = 1;
  vq_tls_ctx *sctx = mk_server(t, &so), *other = mk_server(t, &so2), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  uint8_t altered[VQ_TLS_SESSION_MAX];
  memcpy(altered, blob, bl);
  CHECK(alter_ticket(altered, bl));
  for (int i = 0; i < 2; i++) {
    conn k;
    CHECK_EQ(conn_open(t, &k, i ? other : sctx, cctx, T0 + 1000, T0 + 1000, i ? blob : altered, bl,
                       NULL, 0),
             VQ_OK);
    CHECK(vq_tls_session_offered(k.c));
    CHECK(vq_tls_early_data_offered(k.c));
    CHECK_EQ(pump(&k), VQ_OK);
    check_complete(t, &k);
    CHECK(!vq_tls_resumed(k.s) && !vq_tls_resumed(k.c));
    CHECK(sent(&k, VQ_TLS_CERTIFICATE));
    CHECK(!vq_tls_early_data_accepted(k.s) && !vq_tls_early_data_accepted(k.c));
    conn_close(t, &k);
  }
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(other);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.2.11/9 — a binder that does not verify aborts with decrypt_error (51). */
/* spec: rfc8446#4.2.11/8 — the binder is validated before the PSK is accepted: a flipped one
 * fails the handshake with decrypt_error. */
VQ_TEST(hs_resume_wrong_binder)
{
  srv_opts so = {0};
  cli_opts co = {0};
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  k.tamper = flip_binder;
  CHECK_EQ(pump(&k), VQ_ERR_TLS_DECRYPT_ERROR);
  CHECK_EQ(vq_tls_alert(k.s), 51);
  CHECK(strstr(vq_tls_error_detail(k.s), "binder") != NULL);
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.2.11.1/1, rfc8446#4.6.1/11 — an expired ticket: the client does not offer it
 * (its clock past the lifetime), and the server ignores it (its clock past the lifetime while the
 * client's is not): both full handshakes. */
VQ_TEST(hs_resume_expired)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.lifetime = 60;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 61000, T0 + 61000, blob, bl, NULL, 0), VQ_OK);
  CHECK(!vq_tls_session_offered(k.c));
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(!vq_tls_resumed(k.s) && sent(&k, VQ_TLS_CERTIFICATE));
  conn_close(t, &k);
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 61000, T0 + 30000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_session_offered(k.c));
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(!vq_tls_resumed(k.s) && !vq_tls_resumed(k.c) && sent(&k, VQ_TLS_CERTIFICATE));
  conn_close(t, &k);
  /* within the lifetime it resumes (the same blob: the test can fail on the clock alone) */
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 59000, T0 + 59000, blob, bl, NULL, 0), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  CHECK(vq_tls_resumed(k.s));
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.6.1/5 — a session is offered only to the server name it came from. */
VQ_TEST(hs_resume_other_name_not_offered)
{
  srv_opts so = {0};
  cli_opts co = {0};
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  vq_mem mem;
  vq_mem_init(&mem, vq_allocator_system(), NULL, 1u << 20);
  vq_cx cx;
  memset(&cx, 0, sizeof cx);
  vq_tls *c = NULL;
  vq_tls_params cp = {"example.org", CLIENT_TP, sizeof CLIENT_TP};
  vq_tls_resume cr = {T0 + 1000, blob, bl};
  CHECK_EQ(vq_tls_new_ex(&c, &mem, cctx, &cp, &cr, &cx), VQ_OK);
  CHECK(c && !vq_tls_session_offered(c));
  vq_tls_free(c);
  cp.server_name = "localhost";
  CHECK_EQ(vq_tls_new_ex(&c, &mem, cctx, &cp, &cr, &cx), VQ_OK);
  CHECK(c && vq_tls_session_offered(c));
  vq_tls_free(c);
  CHECK_EQ(mem.used, 0);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.2.11.2, rfc8446#4.2.10/6 — a HelloRetryRequest: the second ClientHello carries
 * the PSK again with its binder over message_hash, HelloRetryRequest and the truncated second
 * ClientHello, and no early_data; the server resumes; 0-RTT is refused and the client learns it. */
VQ_TEST(hs_resume_after_hrr)
{
  srv_opts so = {0}, so2 = {0};
  cli_opts co = {0};
  so.early = so2.early = co.early = 1;
  so2.only_group = VQ_HS_GROUP_SECP256R1; /* the client's first share is x25519 */
  vq_tls_ctx *sctx = mk_server(t, &so), *s2 = mk_server(t, &so2), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, s2, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_early_data_offered(k.c));
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(k.n_srv_types > 0 && k.srv_types[0] == VQ_TLS_SERVER_HELLO);
  CHECK(vq_tls_resumed(k.s) && vq_tls_resumed(k.c));
  CHECK(!sent(&k, VQ_TLS_CERTIFICATE));
  CHECK(!vq_tls_early_data_accepted(k.s) && !vq_tls_early_data_accepted(k.c));
  CHECK(find_secret(k.ssec, k.ns, VQ_LEVEL_EARLY, VQ_TLS_READ) == NULL);
  /* the second ClientHello's binder is checked too: flipping it fails the handshake */
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(s2);
  vq_tls_ctx_free(cctx);
}

static int g_ch_count;
static void flip_second_binder(int from_server, vq_level l, uint8_t *b, size_t n)
{
  if (from_server || l != VQ_LEVEL_INITIAL || n == 0 || b[0] != VQ_TLS_CLIENT_HELLO) return;
  if (++g_ch_count == 2) b[n - 1] ^= 0x01;
}

VQ_TEST(hs_resume_after_hrr_wrong_binder)
{
  srv_opts so = {0}, so2 = {0};
  cli_opts co = {0};
  so2.only_group = VQ_HS_GROUP_SECP256R1;
  vq_tls_ctx *sctx = mk_server(t, &so), *s2 = mk_server(t, &so2), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  g_ch_count = 0;
  CHECK_EQ(conn_open(t, &k, s2, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  k.tamper = flip_second_binder;
  CHECK_EQ(pump(&k), VQ_ERR_TLS_DECRYPT_ERROR);
  CHECK_EQ(g_ch_count, 2);
  CHECK_EQ(vq_tls_alert(k.s), 51);
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(s2);
  vq_tls_ctx_free(cctx);
}

/* ---- the session blob ------------------------------------------------------------------------------ */

static uint64_t be(const uint8_t *p, size_t n)
{
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

/* The blob has tls.h's documented layout; it survives a copy (a file); a corrupted, truncated or
 * other-version blob is VQ_ERR_TLS_SESSION_INVALID from vq_tls_new. */
VQ_TEST(hs_resume_session_blob)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  so.lifetime = 3600;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  CHECK(bl > 40);
  if (bl <= 40) return;
  CHECK_MEM(blob, 4, "VQS\x02", 4);
  CHECK_EQ(be(blob + 4, 4), 0); /* no QUIC version given to these handshakes */
  CHECK_EQ(be(blob + 8, 2), VQ_CS_AES_128_GCM_SHA256);
  CHECK_EQ(be(blob + 10, 8), T0);
  CHECK_EQ(be(blob + 18, 4), 3600);
  CHECK_EQ(be(blob + 26, 4), 0xffffffffu);
  size_t off = 30;
  CHECK_EQ(blob[off], 32); /* PSK of SHA-256 */
  off += 1 + blob[off];
  CHECK_MEM(blob + off + 1, blob[off], "h3", 2);
  off += 1 + blob[off];
  CHECK_MEM(blob + off + 1, blob[off], "localhost", 9);
  off += 1 + blob[off];
  size_t tl = (size_t)be(blob + off, 2);
  off += 2 + tl;
  size_t tpl = (size_t)be(blob + off, 2);
  CHECK_MEM(blob + off + 2, tpl, SERVER_TP_REMEMBERED, sizeof SERVER_TP_REMEMBERED);
  off += 2 + tpl;
  CHECK_EQ(off + 32, bl);
  /* too small a buffer: the size needed */
  size_t need = 0;
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  CHECK(vq_tls_early_data_accepted(k.c));
  CHECK_EQ(vq_tls_session_get(k.c, NULL, 0, &need), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK(need > 40);
  uint8_t small[8];
  CHECK_EQ(vq_tls_session_get(k.c, small, sizeof small, &need), VQ_ERR_BUFFER_TOO_SMALL);
  conn_close(t, &k);

  /* corruptions */
  vq_mem mem;
  vq_mem_init(&mem, vq_allocator_system(), NULL, 1u << 20);
  vq_cx cx;
  memset(&cx, 0, sizeof cx);
  uint8_t bad[VQ_TLS_SESSION_MAX];
  for (int i = 0; i < 5; i++) {
    size_t n = bl;
    memcpy(bad, blob, bl);
    if (i == 0) bad[bl / 2] ^= 0x04;        /* a bit flipped in the middle */
    if (i == 1) n = bl - 1;                 /* truncated */
    if (i == 2) bad[3] = 1;                 /* another format version (1: before the QUIC version) */
    if (i == 3) bad[bl - 1] ^= 0x01;        /* the checksum */
    if (i == 4) n = 3;
    vq_tls *c = (vq_tls *)&mem;             /* must be reset to NULL on failure */
    vq_tls_params cp = {"localhost", CLIENT_TP, sizeof CLIENT_TP};
    vq_tls_resume cr = {T0 + 1000, bad, n};
    CHECK_EQ(vq_tls_new_ex(&c, &mem, cctx, &cp, &cr, &cx), VQ_ERR_TLS_SESSION_INVALID);
    CHECK(c == NULL);
  }
  CHECK_EQ(mem.used, 0);
  CHECK(strcmp(vq_status_reason(VQ_ERR_TLS_SESSION_INVALID), "unknown status") != 0);
  CHECK_EQ(vq_status_disposition(VQ_ERR_TLS_SESSION_INVALID), VQ_DISP_NONE);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* ---- key log ----------------------------------------------------------------------------------------- */

static char g_lines[10][240];
static int g_nlines;
static void collect(void *ud, const char *line)
{
  (void)ud;
  if (g_nlines < 10) snprintf(g_lines[g_nlines++], sizeof g_lines[0], "%s", line);
}

/* The NSS key log has CLIENT_EARLY_TRAFFIC_SECRET with the 0-RTT secret (RFC 9001 §4.6.1 keys). */
VQ_TEST(hs_resume_keylog_early)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  co.keylog = collect;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  g_nlines = 0;
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK_EQ(g_nlines, 1);
  const vq_tls_secret *w = find_secret(k.csec, k.nc, VQ_LEVEL_EARLY, VQ_TLS_WRITE);
  CHECK(w != NULL);
  static const char label[] = "CLIENT_EARLY_TRAFFIC_SECRET ";
  CHECK(strncmp(g_lines[0], label, strlen(label)) == 0);
  if (w) {
    char h[2 * VQ_SECRET_MAX + 1];
    for (size_t i = 0; i < w->len; i++) sprintf(h + 2 * i, "%02x", w->secret[i]);
    CHECK(strstr(g_lines[0], h) != NULL);
    CHECK_EQ(strlen(g_lines[0]), strlen(label) + 64 + 1 + 2 * w->len);
  }
  CHECK_EQ(pump(&k), VQ_OK);
  CHECK(vq_tls_early_data_accepted(k.c));
  CHECK_EQ(g_nlines, 5);
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* The server's key log names its CLIENT_EARLY_TRAFFIC_SECRET by the ClientHello's client random
 * (it was logged with zeros before: a capture of the server's side could not decrypt 0-RTT, found
 * by the interop case gtc-vqs-resume-0rtt), and it is the client's line. */
VQ_TEST(hs_resume_keylog_early_server)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  vq_tls_ctx *sctx0 = mk_server(t, &so);
  so.keylog = collect;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx0, cctx, blob, sizeof blob, &bl);
  vq_tls_ctx_free(cctx);
  co.keylog = collect;
  cctx = mk_client(t, &co);
  g_nlines = 0;
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  CHECK(vq_tls_early_data_accepted(k.s));
  static const char label[] = "CLIENT_EARLY_TRAFFIC_SECRET ";
  int n_early = 0;
  for (int i = 0; i < g_nlines; i++)
    if (strncmp(g_lines[i], label, strlen(label)) == 0) n_early++;
  CHECK_EQ(n_early, 2); /* the client's and the server's */
  const char *first = NULL;
  for (int i = 0; i < g_nlines; i++) {
    if (strncmp(g_lines[i], label, strlen(label)) != 0) continue;
    CHECK(strncmp(g_lines[i] + strlen(label), "0000000000000000000000000000000000000000000000000000000000000000", 64) != 0);
    if (!first) first = g_lines[i];
    else CHECK_EQ(strcmp(first, g_lines[i]), 0);
  }
  conn_close(t, &k);
  vq_tls_ctx_free(sctx0);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* The ticket seal/open round trip, and open refusing another key, a short or altered ticket. */
VQ_TEST(hs_resume_ticket_seal_open)
{
  srv_opts so = {0}, so2 = {0};
  so2.random_key = 1;
  vq_tls_ctx *a = mk_server(t, &so), *b = mk_server(t, &so2);
  vq_hs_ticket tk, got;
  memset(&tk, 0, sizeof tk);
  tk.suite = VQ_CS_AES_256_GCM_SHA384;
  tk.created_ms = T0;
  tk.lifetime_s = 100;
  tk.age_add = 0x01020304u;
  tk.max_early_data = 0xffffffffu;
  tk.psk_len = 48;
  memset(tk.psk, 0x5a, 48);
  tk.alpn_len = 2;
  memcpy(tk.alpn, "h3", 2);
  tk.tp_len = sizeof SERVER_TP;
  memcpy(tk.tp, SERVER_TP, sizeof SERVER_TP);
  uint8_t out[VQ_HS_TICKET_MAX];
  size_t n = 0;
  CHECK_EQ(vq_hs_ticket_seal(a, &tk, out, sizeof out, &n), VQ_OK);
  /* spec: rfc9001#9.2/2 — the ticket tells the client nothing: neither the PSK nor the transport
   * parameters it carries appear in it (sealed), only the server that made it reads them back */
  for (size_t i = 0; i + 16 <= n; i++) {
    CHECK(memcmp(out + i, tk.psk, 16) != 0);
    CHECK(i + sizeof SERVER_TP > n || memcmp(out + i, SERVER_TP, sizeof SERVER_TP) != 0);
  }
  CHECK_EQ(vq_hs_ticket_open(a, out, n, &got), VQ_OK);
  CHECK_EQ(got.suite, tk.suite);
  CHECK_EQ(got.created_ms, T0);
  CHECK_EQ(got.age_add, tk.age_add);
  CHECK_MEM(got.psk, got.psk_len, tk.psk, 48);
  CHECK_MEM(got.tp, got.tp_len, SERVER_TP, sizeof SERVER_TP);
  CHECK_EQ(vq_hs_ticket_open(b, out, n, &got), VQ_ERR_TLS_DECODE);
  CHECK_EQ(vq_hs_ticket_open(a, out, n - 1, &got), VQ_ERR_TLS_DECODE);
  out[20] ^= 1;
  CHECK_EQ(vq_hs_ticket_open(a, out, n, &got), VQ_ERR_TLS_DECODE);
  CHECK_EQ(vq_hs_ticket_open(a, out, 5, &got), VQ_ERR_TLS_DECODE);
  /* transport parameter limit check */
  CHECK(vq_hs_tp_keeps_limits(SERVER_TP, sizeof SERVER_TP, SERVER_TP, sizeof SERVER_TP));
  CHECK(!vq_hs_tp_keeps_limits(SERVER_TP, sizeof SERVER_TP, SERVER_TP_SMALL, sizeof SERVER_TP_SMALL));
  CHECK(vq_hs_tp_keeps_limits(SERVER_TP_SMALL, sizeof SERVER_TP_SMALL, SERVER_TP, sizeof SERVER_TP));
  vq_tls_ctx_free(a);
  vq_tls_ctx_free(b);
}

/* spec: rfc9369#5/1, rfc9369#5/2 — sessions and tickets are specific to the QUIC version of the
 * connection that provided them: a client offers a session only in that version; a server accepts
 * a ticket only from a connection of the version the ClientHello came in (a full handshake without
 * 0-RTT otherwise); after a compatible negotiation (vq_tls_set_quic_version) both carry the
 * negotiated version. */
VQ_TEST(hs_resume_quic_version_binding)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  const uint32_t v1 = 0x00000001u, v2 = 0x6b3343cfu;
  uint8_t blob[VQ_TLS_SESSION_MAX], blob2[VQ_TLS_SESSION_MAX];
  size_t bl = 0, bl2 = 0;
  conn k;
  /* a v1 connection: its session says v1 */
  CHECK_EQ(conn_open_v(t, &k, sctx, cctx, T0, T0, NULL, 0, NULL, 0, v1, v1), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK_EQ(vq_tls_session_get(k.c, blob, sizeof blob, &bl), VQ_OK);
  conn_close(t, &k);
  CHECK(bl > 0);
  CHECK_EQ(vq_tls_session_quic_version(blob, bl), v1);
  CHECK_EQ(vq_tls_session_quic_version(blob, bl - 1), 0);
  /* the client does not offer it to start a v2 connection */
  CHECK_EQ(conn_open_v(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0, v2, v2), VQ_OK);
  CHECK(!vq_tls_session_offered(k.c));
  CHECK(!vq_tls_early_data_offered(k.c));
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(!vq_tls_resumed(k.s) && !vq_tls_resumed(k.c));
  conn_close(t, &k);
  /* a client that offers it anyway, in a ClientHello the server got in v2: ignored, a full
   * handshake with a Certificate and no 0-RTT */
  CHECK_EQ(conn_open_v(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0, v2, v1), VQ_OK);
  CHECK(vq_tls_session_offered(k.c));
  CHECK(vq_tls_early_data_offered(k.c));
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(!vq_tls_resumed(k.s) && !vq_tls_resumed(k.c));
  CHECK(sent(&k, VQ_TLS_CERTIFICATE));
  CHECK(!vq_tls_early_data_accepted(k.s) && !vq_tls_early_data_accepted(k.c));
  conn_close(t, &k);
  /* the same version: resumed with 0-RTT (the check is not always failing); both switch to v2 as
   * after a compatible negotiation: the new session and ticket are v2's */
  CHECK_EQ(conn_open_v(t, &k, sctx, cctx, T0 + 2000, T0 + 2000, blob, bl, NULL, 0, v1, v1), VQ_OK);
  CHECK(vq_tls_session_offered(k.c));
  vq_tls_set_quic_version(k.s, v2);
  vq_tls_set_quic_version(k.c, v2);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(vq_tls_resumed(k.s) && vq_tls_resumed(k.c));
  CHECK(vq_tls_early_data_accepted(k.s));
  CHECK_EQ(vq_tls_session_get(k.c, blob2, sizeof blob2, &bl2), VQ_OK);
  conn_close(t, &k);
  CHECK(bl2 > 0);
  CHECK_EQ(vq_tls_session_quic_version(blob2, bl2), v2);
  /* ... which resumes a v2 connection and no v1 one */
  CHECK_EQ(conn_open_v(t, &k, sctx, cctx, T0 + 3000, T0 + 3000, blob2, bl2, NULL, 0, v2, v2), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(vq_tls_resumed(k.s) && vq_tls_resumed(k.c));
  conn_close(t, &k);
  CHECK_EQ(conn_open_v(t, &k, sctx, cctx, T0 + 3000, T0 + 3000, blob2, bl2, NULL, 0, v1, v2), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(!vq_tls_resumed(k.s) && !vq_tls_resumed(k.c));
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.6.1/14, rfc8446#9.3/6 — a NewSessionTicket with an extension the client does not
 * know (0x7a7a, before early_data) is taken all the same: the unknown extension is ignored, the
 * session is kept with the ticket it carries, and 0-RTT is allowed by its early_data. */
VQ_TEST(hs_resume_ticket_unknown_extension_ignored)
{
  srv_opts so = {0};
  cli_opts co = {0};
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0, T0, NULL, 0, NULL, 0), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK_EQ(vq_tls_sessions_received(k.c), 1);
  /* NewSessionTicket: lifetime 3600, age_add, nonce {9}, ticket "TICKET-X", extensions:
   * 0x7a7a (3 bytes), early_data (max_early_data_size 0xffffffff) */
  static const uint8_t nst[] = {4,    0,    0,    37,   0,    0,    0x0e, 0x10, 1,    2,    3,
                                4,    1,    9,    0,    8,    'T',  'I',  'C',  'K',  'E',  'T',
                                '-',  'X',  0,    15,   0x7a, 0x7a, 0,    3,    1,    2,    3,
                                0,    42,   0,    4,    0xff, 0xff, 0xff, 0xff};
  CHECK_EQ(sizeof nst, 4 + 37);
  CHECK_EQ(vq_tls_recv(k.c, &k.ccx, VQ_LEVEL_APP, nst, sizeof nst), VQ_OK);
  CHECK_EQ(vq_tls_alert(k.c), -1);
  CHECK_EQ(vq_tls_sessions_received(k.c), 2);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0, tl = 0;
  const uint8_t *tk = NULL;
  CHECK_EQ(vq_tls_session_get(k.c, blob, sizeof blob, &bl), VQ_OK);
  CHECK(blob_ticket(blob, bl, &tk, &tl));
  CHECK_MEM(tk, tl, "TICKET-X", 8);
  /* max_early_data (after quic_version, suite, received_ms, lifetime, age_add) */
  CHECK(bl > 30 && blob[26] == 0xff && blob[27] == 0xff && blob[28] == 0xff && blob[29] == 0xff);
  CHECK(blob[18] == 0 && blob[19] == 0 && blob[20] == 0x0e && blob[21] == 0x10); /* lifetime 3600 */
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* An anti-replay record that has seen every ticket: counts the calls, refuses 0-RTT. */
static int seen_all(void *ud, const uint8_t *ticket, size_t len, uint64_t expires_ms)
{
  (void)ticket, (void)len, (void)expires_ms;
  ++*(int *)ud;
  return 0;
}

/* spec: rfc8446#8.2/1 — an apparent replay (the anti-replay record says the ticket was seen) gets
 * 0-RTT refused but the handshake goes on and resumes. spec: rfc8446#8.2/2 — the record is
 * consulted only once the binder has validated the ClientHello: with a flipped binder the
 * handshake fails (decrypt_error) without a look-up. */
VQ_TEST(hs_resume_replay_refuses_early_only)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  g_early_check = seen_all;
  g_early_calls = 0;
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 5000, T0 + 5000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_early_data_offered(k.c));
  {
    /* spec: rfc8446#4.2.10/1 — 0-RTT offered: early_data and pre_shared_key together */
    const uint8_t *d;
    size_t n;
    vq_tls_msg m;
    vq_tls_client_hello ch;
    vq_tls_out_peek(k.c, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
    CHECK(ch.ext.has[VQ_TLS_EXT_EARLY_DATA] && ch.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY]);
  }
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK_EQ(g_early_calls, 1);
  CHECK(vq_tls_resumed(k.c) && vq_tls_resumed(k.s));
  CHECK(!vq_tls_early_data_accepted(k.s));
  CHECK(!vq_tls_early_data_accepted(k.c));
  CHECK(find_secret(k.ssec, k.ns, VQ_LEVEL_EARLY, VQ_TLS_READ) == NULL);
  conn_close(t, &k);
  g_early_calls = 0;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 6000, T0 + 6000, blob, bl, NULL, 0), VQ_OK);
  k.tamper = flip_binder;
  CHECK_EQ(pump(&k), VQ_ERR_TLS_DECRYPT_ERROR);
  CHECK_EQ(g_early_calls, 0);
  conn_close(t, &k);
  g_early_check = NULL;
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.2.9/3 — the ClientHello rebuilt without psk_key_exchange_modes but with
 * pre_shared_key: the server aborts (missing_extension).
 * spec: rfc8446#4.1.1/2, rfc8446#4.2.9/4 — a ClientHello offering the ticket with
 * psk_key_exchange_modes = {psk_ke} only: the server, which selects psk_dhe_ke alone, does not take
 * the PSK: its ServerHello carries no pre_shared_key (a full handshake with a certificate follows)
 * and a key_share. The control: the same ClientHello with psk_dhe_ke kept but one byte changed
 * (so the binder no longer matches) is decrypt_error: there the PSK was considered. */
VQ_TEST(hs_resume_psk_ke_only_not_selected)
{
  srv_opts so = {0};
  cli_opts co = {0};
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  for (int mode = 0; mode < 3; mode++) {
    conn k;
    CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
    if (mode == 2) {
      const uint8_t *d;
      size_t n, used = 0;
      vq_tls_msg m;
      vq_tls_client_hello ch;
      vq_tls_out_peek(k.c, VQ_LEVEL_INITIAL, &d, &n);
      CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
      CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
      ch.ext.has[VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES] = 0;
      uint8_t *buf = malloc(n + 64);
      CHECK_EQ(vq_tls_build_client_hello(buf, n + 64, &ch, &used), VQ_OK);
      CHECK_EQ(vq_tls_recv(k.s, &k.scx, VQ_LEVEL_INITIAL, buf, used), VQ_ERR_TLS_MISSING_EXTENSION);
      CHECK(strstr(vq_tls_error_detail(k.s), "psk_key_exchange_modes") != NULL);
      free(buf);
      conn_close(t, &k);
      continue;
    }
    const uint8_t *d;
    size_t n;
    vq_tls_msg m;
    vq_tls_client_hello ch;
    vq_tls_out_peek(k.c, VQ_LEVEL_INITIAL, &d, &n);
    uint8_t *copy = malloc(n);
    memcpy(copy, d, n);
    CHECK_EQ(vq_tls_msg_split(copy, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
    CHECK(ch.ext.psk_modes.len == 1 && ch.ext.psk_modes.p[0] == 1);
    if (mode == 0) copy[ch.ext.psk_modes.p - copy] = 0; /* psk_ke */
    else copy[4 + 2] ^= 1;                              /* a byte of the random */
    CHECK_EQ(vq_tls_recv(k.s, &k.scx, VQ_LEVEL_INITIAL, copy, n), mode ? VQ_ERR_TLS_DECRYPT_ERROR : VQ_OK);
    free(copy);
    if (mode == 0) {
      vq_tls_server_hello sh;
      vq_tls_out_peek(k.s, VQ_LEVEL_INITIAL, &d, &n);
      CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
      CHECK_EQ(vq_tls_parse_server_hello(m.body.p, m.body.len, &sh), VQ_OK);
      CHECK(!sh.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY]);
      CHECK(sh.ext.has[VQ_TLS_EXT_KEY_SHARE]);
      CHECK(!vq_tls_resumed(k.s));
    }
    conn_close(t, &k);
  }
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* spec: rfc8446#4.2.11/3, rfc8446#4.6.1/4 — the server selects a PSK and a suite that fit together:
 * a ticket from a TLS_AES_256_GCM_SHA384 connection resumes on a server preferring
 * TLS_AES_128_GCM_SHA256 with the ticket's suite; on a server that allows only
 * TLS_AES_128_GCM_SHA256 (another hash) it is not used: a full handshake follows. */
VQ_TEST(hs_resume_ticket_suite_selected)
{
  srv_opts so = {0};
  cli_opts co = {0};
  vq_tls_ctx *s384 = mk_server(t, &so), *sall = mk_server(t, &so), *s256 = mk_server(t, &so);
  vq_tls_ctx *cctx = mk_client(t, &co);
  vq_tls_test_hooks h;
  memset(&h, 0, sizeof h);
  h.n_suites = 1;
  h.suites[0] = VQ_CS_AES_256_GCM_SHA384;
  vq_tls_ctx_set_test_hooks(s384, &h);
  h.suites[0] = VQ_CS_AES_128_GCM_SHA256;
  vq_tls_ctx_set_test_hooks(s256, &h);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, s384, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, sall, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_session_offered(k.c));
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(vq_tls_resumed(k.s) && vq_tls_resumed(k.c));
  CHECK_EQ(vq_tls_suite(k.s), VQ_CS_AES_256_GCM_SHA384);
  conn_close(t, &k);
  CHECK_EQ(conn_open(t, &k, s256, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK_EQ(pump(&k), VQ_OK);
  check_complete(t, &k);
  CHECK(!vq_tls_resumed(k.s) && !vq_tls_resumed(k.c));
  CHECK(sent(&k, VQ_TLS_CERTIFICATE));
  CHECK_EQ(vq_tls_suite(k.s), VQ_CS_AES_128_GCM_SHA256);
  conn_close(t, &k);
  vq_tls_ctx_free(s384);
  vq_tls_ctx_free(sall);
  vq_tls_ctx_free(s256);
  vq_tls_ctx_free(cctx);
}

static uint32_t g_nst_lifetime;
static void spy_nst(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  vq_tls_new_session_ticket nst;
  if (from_server && l == VQ_LEVEL_APP && vq_tls_msg_split(b, n, &m) == VQ_OK &&
      m.type == VQ_TLS_NEW_SESSION_TICKET &&
      vq_tls_parse_new_session_ticket(m.body.p, m.body.len, &nst) == VQ_OK)
    g_nst_lifetime = nst.lifetime;
}

/* spec: rfc8446#4.6.1/12 — every ticket gets a fresh ticket_age_add: two tickets of one server,
 * two different values. spec: rfc8446#4.6.1/9 — a server configured with a longer lifetime sends
 * 604800 (7 days). spec: rfc8446#4.6.1/10 — a client told 0xffffffff seconds keeps the ticket 7
 * days at most (the session's lifetime). */
VQ_TEST(hs_resume_ticket_age_add_and_lifetime)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.lifetime = 10000000;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t a[VQ_TLS_SESSION_MAX], b[VQ_TLS_SESSION_MAX];
  size_t al = 0, bl = 0;
  first_session(t, sctx, cctx, a, sizeof a, &al);
  first_session(t, sctx, cctx, b, sizeof b, &bl);
  CHECK(al > 30 && bl > 30);
  CHECK(memcmp(a + 22, b + 22, 4) != 0); /* age_add */
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0, T0, NULL, 0, NULL, 0), VQ_OK);
  g_nst_lifetime = 0;
  k.tamper = spy_nst;
  CHECK_EQ(pump(&k), VQ_OK);
  CHECK_EQ(g_nst_lifetime, 604800);
  /* lifetime 0xffffffff, age_add, nonce {7}, ticket "TK-1", no extensions */
  static const uint8_t nst[] = {4, 0, 0, 18, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 1, 7,
                                0, 4, 'T', 'K', '-', '1', 0, 0};
  CHECK_EQ(sizeof nst, 4 + 18);
  CHECK_EQ(vq_tls_recv(k.c, &k.ccx, VQ_LEVEL_APP, nst, sizeof nst), VQ_OK);
  CHECK_EQ(vq_tls_sessions_received(k.c), 2);
  CHECK_EQ(vq_tls_session_get(k.c, a, sizeof a, &al), VQ_OK);
  CHECK(al > 30 && a[18] == 0x00 && a[19] == 0x09 && a[20] == 0x3a && a[21] == 0x80); /* 604800 */
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}

/* Sets the ServerHello's pre_shared_key selected_identity to 1. */
static void psk_identity_1(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  vq_tls_server_hello sh;
  if (!from_server || l != VQ_LEVEL_INITIAL || vq_tls_msg_split(b, n, &m) != VQ_OK ||
      m.type != VQ_TLS_SERVER_HELLO || vq_tls_parse_server_hello(m.body.p, m.body.len, &sh) != VQ_OK ||
      !sh.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY] || sh.ext.raw[VQ_TLS_EXT_PRE_SHARED_KEY].len != 2)
    return;
  b[sh.ext.raw[VQ_TLS_EXT_PRE_SHARED_KEY].p - b + 1] = 1;
}

/* spec: rfc8446#4.2.11/11, rfc8446#4.2.11/12 — a ServerHello selecting identity 1 when the client
 * offered one: illegal_parameter; spec: rfc8446#4.2.11/13, rfc8446#4.2.11/14 — with 0-RTT offered
 * (so the server goes on to accept early data), the same: only identity 0 is acceptable. */
VQ_TEST(hs_resume_selected_identity_checked)
{
  srv_opts so = {0};
  cli_opts co = {0};
  so.early = co.early = 1;
  vq_tls_ctx *sctx = mk_server(t, &so), *cctx = mk_client(t, &co);
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  first_session(t, sctx, cctx, blob, sizeof blob, &bl);
  conn k;
  CHECK_EQ(conn_open(t, &k, sctx, cctx, T0 + 1000, T0 + 1000, blob, bl, NULL, 0), VQ_OK);
  CHECK(vq_tls_early_data_offered(k.c));
  k.tamper = psk_identity_1;
  CHECK_EQ(pump(&k), VQ_ERR_TLS_ILLEGAL_PARAMETER);
  CHECK_EQ(vq_tls_alert(k.c), 47);
  CHECK(vq_tls_early_data_accepted(k.s));
  CHECK(strstr(vq_tls_error_detail(k.c), "selected_identity") != NULL);
  conn_close(t, &k);
  vq_tls_ctx_free(sctx);
  vq_tls_ctx_free(cctx);
}
