/* Tests of the TLS 1.3 handshake message codecs (src/tls/msg_*.c): the ClientHello of RFC 9001
 * Appendix A.2 and the ServerHello of A.3 (read from spec/vectors), round trips of every message,
 * every truncation and every length-prefix overrun rejected with decode_error, duplicate and misplaced
 * extensions, vector bounds, the RFC 9001 single-message rules, encoders never writing past cap, and
 * seeded property tests (random messages round-trip; mutated messages decode -> encode -> decode). */
#include "vqtest.h"
#include "vquic/tlsmsg.h"
#include "vquic/varint.h"

#include <stdlib.h>

#define BUFSZ 8192

/* ---- helpers ---------------------------------------------------------------------------------- */

static vq_tls_span sp(const uint8_t *p, size_t n)
{
  vq_tls_span s = {p, n};
  return s;
}

static int span_eq(vq_tls_span a, vq_tls_span b)
{
  return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The typed contents of two extension blocks agree. */
static int exts_eq(const vq_tls_exts *a, const vq_tls_exts *b)
{
  for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++)
    if (a->has[i] != b->has[i]) return 0;
  return span_eq(a->server_name, b->server_name) &&
         span_eq(a->supported_versions, b->supported_versions) &&
         a->selected_version == b->selected_version && span_eq(a->groups, b->groups) &&
         span_eq(a->sig_algs, b->sig_algs) && span_eq(a->sig_algs_cert, b->sig_algs_cert) &&
         span_eq(a->alpn, b->alpn) && span_eq(a->key_shares, b->key_shares) &&
         a->key_share_group == b->key_share_group && span_eq(a->key_share, b->key_share) &&
         span_eq(a->psk_modes, b->psk_modes) && span_eq(a->cookie, b->cookie) &&
         span_eq(a->quic_tp, b->quic_tp) && a->max_early_data == b->max_early_data &&
         span_eq(a->psk_identities, b->psk_identities) &&
         span_eq(a->psk_binders, b->psk_binders) && a->psk_count == b->psk_count &&
         a->psk_selected == b->psk_selected;
}

/* Parses the body of any message this library parses (Finished: verify_data of the body's size
 * when it is 32 or 48, else 32). */
static vq_status parse_any(uint8_t type, const uint8_t *b, size_t len, size_t fin_len)
{
  vq_tls_client_hello ch;
  vq_tls_server_hello sh;
  vq_tls_encrypted_extensions ee;
  vq_tls_certificate ct;
  vq_tls_certificate_request cr;
  vq_tls_certificate_verify cv;
  vq_tls_new_session_ticket nst;
  vq_tls_span vd;
  switch (type) {
  case VQ_TLS_CLIENT_HELLO: return vq_tls_parse_client_hello(b, len, &ch);
  case VQ_TLS_SERVER_HELLO: return vq_tls_parse_server_hello(b, len, &sh);
  case VQ_TLS_ENCRYPTED_EXTENSIONS: return vq_tls_parse_encrypted_extensions(b, len, &ee);
  case VQ_TLS_CERTIFICATE: return vq_tls_parse_certificate(b, len, &ct);
  case VQ_TLS_CERTIFICATE_REQUEST: return vq_tls_parse_certificate_request(b, len, &cr);
  case VQ_TLS_CERTIFICATE_VERIFY: return vq_tls_parse_certificate_verify(b, len, &cv);
  case VQ_TLS_FINISHED: return vq_tls_parse_finished(b, len, fin_len, &vd);
  case VQ_TLS_NEW_SESSION_TICKET: return vq_tls_parse_new_session_ticket(b, len, &nst);
  default: return VQ_ERR_INTERNAL;
  }
}

/* Sample field values (wire-form list contents). */
static const uint8_t RANDOM[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t SID[8] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7};
static const uint8_t SUITES[] = {0x13, 0x01, 0x13, 0x02, 0x13, 0x03};
static const uint8_t HOST[] = {'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'};
static const uint8_t VERSIONS[] = {0x7a, 0x7a, 0x03, 0x04};
static const uint8_t GROUPS[] = {0x00, 0x1d, 0x00, 0x17, 0x00, 0x18};
static const uint8_t SIGALGS[] = {0x04, 0x03, 0x08, 0x04, 0x04, 0x01};
static const uint8_t SIGALGS_CERT[] = {0x04, 0x03};
static const uint8_t ALPN[] = {2, 'h', '3', 5, 'h', '3', '-', '2', '9'};
static const uint8_t ALPN_ONE[] = {2, 'h', '3'};
static const uint8_t MODES[] = {1};
static const uint8_t COOKIE[] = {0xc0, 0x0c, 0x1e};
static const uint8_t TP[] = {0x01, 0x04, 0x80, 0x00, 0x75, 0x30, 0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t IDS[] = {0x00, 0x03, 'a', 'b', 'c', 0x00, 0x00, 0x10, 0x00,
                              0x00, 0x02, 'd', 'e', 0x01, 0x02, 0x03, 0x04};
static uint8_t BINDERS[2 * 33];
static uint8_t KEYSHARES[2 * (4 + 32)];
static uint8_t KEY32[32];

static void init_samples(void)
{
  for (size_t i = 0; i < 32; i++) KEY32[i] = (uint8_t)(0x40 + i);
  for (size_t k = 0; k < 2; k++) {
    uint8_t *e = KEYSHARES + k * 36;
    e[0] = 0x00;
    e[1] = k == 0 ? 0x1d : 0x17;
    e[2] = 0x00;
    e[3] = 32;
    memcpy(e + 4, KEY32, 32);
    BINDERS[k * 33] = 32;
    memset(BINDERS + k * 33 + 1, (int)(0xb0 + k), 32);
  }
}

static void sample_ch(vq_tls_client_hello *ch, int psk)
{
  init_samples();
  memset(ch, 0, sizeof *ch);
  ch->legacy_version = VQ_TLS_LEGACY_VERSION;
  ch->random = RANDOM;
  ch->session_id = sp(SID, 0);
  ch->cipher_suites = sp(SUITES, sizeof SUITES);
  ch->has_extensions = 1;
  vq_tls_exts *e = &ch->ext;
  e->has[VQ_TLS_EXT_SERVER_NAME] = 1;
  e->server_name = sp(HOST, sizeof HOST);
  e->has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = 1;
  e->supported_versions = sp(VERSIONS, sizeof VERSIONS);
  e->has[VQ_TLS_EXT_SUPPORTED_GROUPS] = 1;
  e->groups = sp(GROUPS, sizeof GROUPS);
  e->has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS] = 1;
  e->sig_algs = sp(SIGALGS, sizeof SIGALGS);
  e->has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT] = 1;
  e->sig_algs_cert = sp(SIGALGS_CERT, sizeof SIGALGS_CERT);
  e->has[VQ_TLS_EXT_ALPN] = 1;
  e->alpn = sp(ALPN, sizeof ALPN);
  e->has[VQ_TLS_EXT_KEY_SHARE] = 1;
  e->key_shares = sp(KEYSHARES, sizeof KEYSHARES);
  e->has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS] = 1;
  e->quic_tp = sp(TP, sizeof TP);
  if (psk) {
    e->has[VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES] = 1;
    e->psk_modes = sp(MODES, sizeof MODES);
    e->has[VQ_TLS_EXT_COOKIE] = 1;
    e->cookie = sp(COOKIE, sizeof COOKIE);
    e->has[VQ_TLS_EXT_EARLY_DATA] = 1;
    e->has[VQ_TLS_EXT_PRE_SHARED_KEY] = 1;
    e->psk_identities = sp(IDS, sizeof IDS);
    e->psk_binders = sp(BINDERS, sizeof BINDERS);
    e->psk_count = 2;
  }
}

static void sample_sh(vq_tls_server_hello *sh, int hrr)
{
  init_samples();
  memset(sh, 0, sizeof *sh);
  sh->is_hrr = hrr;
  sh->legacy_version = VQ_TLS_LEGACY_VERSION;
  sh->random = hrr ? vq_tls_hrr_random : RANDOM;
  sh->session_id_echo = sp(SID, 0);
  sh->cipher_suite = 0x1301;
  sh->ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = 1;
  sh->ext.selected_version = VQ_TLS_VERSION_13;
  sh->ext.has[VQ_TLS_EXT_KEY_SHARE] = 1;
  sh->ext.key_share_group = VQ_TLS_GROUP_X25519;
  if (hrr) {
    sh->ext.has[VQ_TLS_EXT_COOKIE] = 1;
    sh->ext.cookie = sp(COOKIE, sizeof COOKIE);
  } else {
    sh->ext.key_share = sp(KEY32, sizeof KEY32);
    sh->ext.has[VQ_TLS_EXT_PRE_SHARED_KEY] = 1;
    sh->ext.psk_selected = 1;
  }
}

static void sample_ee(vq_tls_encrypted_extensions *ee)
{
  memset(ee, 0, sizeof *ee);
  ee->ext.has[VQ_TLS_EXT_ALPN] = 1;
  ee->ext.alpn = sp(ALPN_ONE, sizeof ALPN_ONE);
  ee->ext.has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS] = 1;
  ee->ext.quic_tp = sp(TP, sizeof TP);
  ee->ext.has[VQ_TLS_EXT_SERVER_NAME] = 1;
  ee->ext.has[VQ_TLS_EXT_EARLY_DATA] = 1;
  ee->ext.has[VQ_TLS_EXT_SUPPORTED_GROUPS] = 1;
  ee->ext.groups = sp(GROUPS, sizeof GROUPS);
}

static const uint8_t NONCE[] = {0x00, 0x01};
static const uint8_t TICKET[] = {0x71, 0x72, 0x73, 0x74, 0x75};

static void sample_nst(vq_tls_new_session_ticket *nst)
{
  memset(nst, 0, sizeof *nst);
  nst->lifetime = 604800;
  nst->age_add = 0xdeadbeefu;
  nst->nonce = sp(NONCE, sizeof NONCE);
  nst->ticket = sp(TICKET, sizeof TICKET);
  nst->ext.has[VQ_TLS_EXT_EARLY_DATA] = 1;
  nst->ext.max_early_data = 0xffffffffu;
}

/* Two DER-like certificates in a CertificateEntry list; returns the list length. */
static size_t sample_cert_list(vq_t *t, uint8_t *list, size_t cap)
{
  static uint8_t der1[300], der2[70];
  for (size_t i = 0; i < sizeof der1; i++) der1[i] = (uint8_t)(i * 7);
  for (size_t i = 0; i < sizeof der2; i++) der2[i] = (uint8_t)(i * 13 + 1);
  der1[0] = der2[0] = 0x30;
  size_t n1 = 0, n2 = 0;
  CHECK_EQ(vq_tls_build_cert_entry(list, cap, sp(der1, sizeof der1), &n1), VQ_OK);
  CHECK_EQ(vq_tls_build_cert_entry(list + n1, cap - n1, sp(der2, sizeof der2), &n2), VQ_OK);
  CHECK_EQ(n1, 3 + 300 + 2);
  return n1 + n2;
}

/* ---- RFC 9001 Appendix A vectors ---------------------------------------------------------------- */

/* The data of the first CRYPTO frame (RFC 9000 §19.6) in a payload of PADDING, ACK and CRYPTO frames. */
static int crypto_data(const uint8_t *p, size_t len, const uint8_t **data, size_t *dlen)
{
  size_t o = 0, u;
  uint64_t v, n;
  while (o < len) {
    uint8_t type = p[o++];
    if (type == 0x00) continue;
    if (type == 0x02) { /* largest, delay, range count, first range, (gap, range)* */
      for (int k = 0; k < 4; k++) {
        if (vq_varint_decode(p + o, len - o, k == 2 ? &n : &v, &u) != VQ_OK) return -1;
        o += u;
      }
      for (uint64_t r = 0; r < 2 * n; r++) {
        if (vq_varint_decode(p + o, len - o, &v, &u) != VQ_OK) return -1;
        o += u;
      }
      continue;
    }
    if (type != 0x06) return -1;
    if (vq_varint_decode(p + o, len - o, &v, &u) != VQ_OK) return -1;
    o += u;
    if (vq_varint_decode(p + o, len - o, &n, &u) != VQ_OK) return -1;
    o += u;
    if (n > len - o) return -1;
    *data = p + o;
    *dlen = (size_t)n;
    return 0;
  }
  return -1;
}

static long vector_hex(vq_t *t, const char *key, uint8_t *out, size_t cap)
{
  char *text = vq_read_file("spec/vectors/rfc9001-protection.txt", NULL);
  CHECK(text != NULL);
  if (!text) return -1;
  char *buf = malloc(2 * cap + 8);
  long n = -1;
  if (buf && vq_vector_get(text, key, buf, 2 * cap + 8) == 0) n = vq_hex(buf, out, cap);
  free(buf);
  free(text);
  CHECK(n > 0);
  return n;
}

static int list_has(vq_tls_span l, uint16_t v)
{
  for (size_t i = 0; i < l.len / 2; i++)
    if (vq_tls_u16_at(l, i) == v) return 1;
  return 0;
}

/* spec: rfc9001#A.2 — the client Initial's CRYPTO frame carries a ClientHello. */
VQ_TEST(tlsmsg_rfc9001_a2_client_hello)
{
  static uint8_t pl[2048];
  long n = vector_hex(t, "client_payload", pl, sizeof pl);
  if (n <= 0) return;
  const uint8_t *d = NULL;
  size_t dl = 0;
  CHECK_EQ(crypto_data(pl, (size_t)n, &d, &dl), 0);
  if (!d) return;
  CHECK_EQ(dl, 0xf1); /* "060040f1": CRYPTO at offset 0, 241 bytes */
  vq_tls_msg m;
  CHECK_EQ(vq_tls_msg_split(d, dl, &m), VQ_OK);
  CHECK_EQ(m.type, VQ_TLS_CLIENT_HELLO);
  CHECK_EQ(m.size, dl);
  vq_tls_client_hello ch;
  CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
  CHECK_EQ(ch.legacy_version, 0x0303);
  CHECK_EQ(ch.random[0], 0xeb);
  CHECK_EQ(ch.random[31], 0x4c);
  CHECK_EQ(ch.session_id.len, 0); /* rfc9001#8.4: no compatibility mode */
  CHECK_EQ(ch.cipher_suites.len, 4);
  CHECK_EQ(vq_tls_u16_at(ch.cipher_suites, 0), 0x1301);
  CHECK_EQ(vq_tls_u16_at(ch.cipher_suites, 1), 0x1302);
  const vq_tls_exts *e = &ch.ext;
  CHECK_EQ(e->n_ext, 11);
  CHECK_EQ(e->n_unknown, 3); /* renegotiation_info, status_request, record_size_limit */
  CHECK_EQ(e->unknown_type[0], 0xff01);
  CHECK_EQ(e->unknown_type[1], 0x0005);
  CHECK_EQ(e->unknown_type[2], 0x001c);
  CHECK_MEM(e->server_name.p, e->server_name.len, "example.com", 11);
  CHECK(e->has[VQ_TLS_EXT_ALPN]);
  size_t off = 0;
  vq_tls_span name;
  CHECK_EQ(vq_tls_alpn_next(e->alpn, &off, &name), VQ_OK);
  CHECK_MEM(name.p, name.len, "alpn", 4);
  CHECK_EQ(vq_tls_alpn_next(e->alpn, &off, &name), VQ_ERR_TLS_DECODE);
  CHECK_EQ(e->groups.len, 6);
  CHECK_EQ(vq_tls_u16_at(e->groups, 0), VQ_TLS_GROUP_X25519);
  CHECK_EQ(vq_tls_u16_at(e->groups, 1), 0x0017);
  CHECK_EQ(vq_tls_u16_at(e->groups, 2), 0x0018);
  off = 0;
  vq_tls_key_share_entry ks;
  CHECK_EQ(vq_tls_key_share_next(e->key_shares, &off, &ks), VQ_OK);
  CHECK_EQ(ks.group, VQ_TLS_GROUP_X25519);
  CHECK_EQ(ks.key_exchange.len, 32);
  CHECK_EQ(ks.key_exchange.p[0], 0x93);
  CHECK_EQ(off, e->key_shares.len);
  CHECK_EQ(e->supported_versions.len, 2);
  CHECK(list_has(e->supported_versions, VQ_TLS_VERSION_13));
  CHECK_EQ(e->sig_algs.len, 14);
  CHECK_EQ(vq_tls_u16_at(e->sig_algs, 0), 0x0403);
  CHECK_MEM(e->psk_modes.p, e->psk_modes.len, "\x01", 1);
  CHECK(e->has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS]);
  CHECK_EQ(e->quic_tp.len, 0x32);
  CHECK_EQ(e->quic_tp.p[0], 0x04); /* initial_max_data ... */
  CHECK_EQ(e->quic_tp.p[0x31], 0xff);
  CHECK(!e->has[VQ_TLS_EXT_PRE_SHARED_KEY]);
  CHECK_EQ(vq_tls_quic_check_client_hello(&ch), VQ_OK);
  /* Re-encoding keeps every known extension; the three unknown ones are not kept. */
  static uint8_t out[BUFSZ];
  size_t used = 0;
  CHECK_EQ(vq_tls_build_client_hello(out, sizeof out, &ch, &used), VQ_OK);
  CHECK_EQ(used, dl - (4 + 1) - (4 + 5) - (4 + 2));
  vq_tls_client_hello again;
  CHECK_EQ(vq_tls_parse_client_hello(out + 4, used - 4, &again), VQ_OK);
  CHECK(exts_eq(&again.ext, &ch.ext));
  CHECK_EQ(again.ext.n_unknown, 0);
}

/* spec: rfc9001#A.3 — the server Initial's CRYPTO frame carries a ServerHello. */
VQ_TEST(tlsmsg_rfc9001_a3_server_hello)
{
  static uint8_t pl[2048];
  long n = vector_hex(t, "server_payload", pl, sizeof pl);
  if (n <= 0) return;
  const uint8_t *d = NULL;
  size_t dl = 0;
  CHECK_EQ(crypto_data(pl, (size_t)n, &d, &dl), 0);
  if (!d) return;
  CHECK_EQ(dl, 0x5a);
  vq_tls_msg m;
  CHECK_EQ(vq_tls_msg_split(d, dl, &m), VQ_OK);
  CHECK_EQ(m.type, VQ_TLS_SERVER_HELLO);
  vq_tls_server_hello sh;
  CHECK_EQ(vq_tls_parse_server_hello(m.body.p, m.body.len, &sh), VQ_OK);
  CHECK(!sh.is_hrr);
  CHECK_EQ(sh.legacy_version, 0x0303);
  CHECK_EQ(sh.random[0], 0xee);
  CHECK_EQ(sh.session_id_echo.len, 0);
  CHECK_EQ(sh.cipher_suite, 0x1301);
  CHECK_EQ(sh.ext.n_ext, 2);
  CHECK_EQ(sh.ext.n_unknown, 0);
  CHECK(!sh.ext.has[VQ_TLS_EXT_ALPN]); /* ALPN is in EncryptedExtensions */
  CHECK(!sh.ext.has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS]);
  CHECK_EQ(sh.ext.key_share_group, VQ_TLS_GROUP_X25519);
  CHECK_EQ(sh.ext.key_share.len, 32);
  CHECK_EQ(sh.ext.key_share.p[0], 0x9d);
  CHECK_EQ(sh.ext.selected_version, VQ_TLS_VERSION_13);
  CHECK_EQ(vq_tls_quic_check_server_hello(&sh), VQ_OK);
  /* The server writes key_share before supported_versions; vquic's order is the reverse, so the
   * re-encoding has the same size and fields. */
  static uint8_t out[BUFSZ];
  size_t used = 0;
  CHECK_EQ(vq_tls_build_server_hello(out, sizeof out, &sh, &used), VQ_OK);
  CHECK_EQ(used, dl);
  vq_tls_server_hello again;
  CHECK_EQ(vq_tls_parse_server_hello(out + 4, used - 4, &again), VQ_OK);
  CHECK(exts_eq(&again.ext, &sh.ext));
}

/* ---- round trips ------------------------------------------------------------------------------ */

/* Checks split + truncation + trailing byte for one built message. */
static void check_framing(vq_t *t, const uint8_t *msg, size_t len, size_t fin_len)
{
  vq_tls_msg m;
  CHECK_EQ(vq_tls_msg_split(msg, len, &m), VQ_OK);
  CHECK_EQ(m.size, len);
  for (size_t k = 0; k < len; k++) CHECK_EQ(vq_tls_msg_split(msg, k, &m), VQ_ERR_TLS_NEED_MORE);
  uint8_t type = msg[0];
  const uint8_t *body = msg + 4;
  size_t bl = len - 4;
  CHECK_EQ(parse_any(type, body, bl, fin_len), VQ_OK);
  /* spec: rfc8446#3.4 — every truncation of the body is malformed (decode_error), except a
   * ClientHello cut right after legacy_compression_methods (a pre-TLS-1.3 form, rfc8446#4.1.2/17). */
  for (size_t k = 0; k < bl; k++) {
    vq_status st = parse_any(type, body, k, fin_len);
    if (type == VQ_TLS_CLIENT_HELLO && k == 2 + 32 + 1 + body[34] + 2 +
                                               (size_t)(body[35 + body[34]] * 256 + body[36 + body[34]]) + 2)
      CHECK_EQ(st, VQ_OK);
    else if (st != VQ_ERR_TLS_DECODE) {
      vq_fail(t, __FILE__, __LINE__, "type %u truncated to %zu of %zu: status %d", type, k, bl, st);
    }
  }
  /* A trailing byte overruns the message structure. */
  static uint8_t big[BUFSZ + 1];
  memcpy(big, body, bl);
  big[bl] = 0;
  CHECK_EQ(parse_any(type, big, bl + 1, fin_len), VQ_ERR_TLS_DECODE);
}

/* A length prefix at pos (w bytes) inside a structure ending at end. */
typedef struct { size_t pos, w, end; } prefix;

/* Records the extension length fields of the block b[s .. e) and the list prefix that opens the
 * body of each list-valued extension. */
static size_t ext_prefixes(const uint8_t *b, size_t s, size_t e, int client, prefix *out, size_t n)
{
  size_t o = s;
  while (o + 4 <= e) {
    unsigned type = b[o] * 256u + b[o + 1];
    size_t l = b[o + 2] * 256u + b[o + 3];
    out[n++] = (prefix){o + 2, 2, e};
    size_t bs = o + 4, be = bs + l;
    size_t w = 0;
    switch (type) {
    case VQ_TLS_EXT_TYPE_SERVER_NAME: w = client && l ? 2 : 0; break;
    case VQ_TLS_EXT_TYPE_SUPPORTED_VERSIONS: w = client ? 1 : 0; break;
    case VQ_TLS_EXT_TYPE_SUPPORTED_GROUPS:
    case VQ_TLS_EXT_TYPE_SIGNATURE_ALGORITHMS:
    case VQ_TLS_EXT_TYPE_SIGNATURE_ALGORITHMS_CERT:
    case VQ_TLS_EXT_TYPE_ALPN:
    case VQ_TLS_EXT_TYPE_COOKIE: w = 2; break;
    case VQ_TLS_EXT_TYPE_KEY_SHARE: w = client ? 2 : (l > 2 ? 0 : 0); break;
    case VQ_TLS_EXT_TYPE_PSK_KEY_EXCHANGE_MODES: w = 1; break;
    case VQ_TLS_EXT_TYPE_PRE_SHARED_KEY: w = client ? 2 : 0; break;
    default: break;
    }
    if (type == VQ_TLS_EXT_TYPE_KEY_SHARE && !client && l > 2) out[n++] = (prefix){bs + 2, 2, be};
    if (w) out[n++] = (prefix){bs, w, be};
    o = be;
  }
  return n;
}

/* spec: rfc8446#3.4 — a length prefix that runs past its enclosing structure is decode_error. */
static void check_overruns(vq_t *t, const uint8_t *body, size_t bl, uint8_t type, const prefix *p,
                           size_t n)
{
  static uint8_t b[BUFSZ];
  CHECK(n > 0);
  for (size_t i = 0; i < n; i++) {
    memcpy(b, body, bl);
    size_t v = p[i].end - (p[i].pos + p[i].w) + 1;
    size_t lim = p[i].w == 1 ? 255 : p[i].w == 2 ? 65535 : 16777215;
    if (v > lim) continue; /* this width cannot say more than what is left */
    size_t x = v;
    for (size_t k = p[i].w; k-- > 0;) {
      b[p[i].pos + k] = (uint8_t)(x % 256);
      x /= 256;
    }
    vq_status st = parse_any(type, b, bl, bl == 48 ? 48 : 32);
    if (st != VQ_ERR_TLS_DECODE)
      vq_fail(t, __FILE__, __LINE__, "type %u: prefix at %zu (w %zu) = %zu: status %d", type,
              p[i].pos, p[i].w, v, st);
  }
}

/* The ClientHello's top-level prefixes and its extensions'. */
static size_t ch_prefixes(const uint8_t *b, size_t bl, prefix *p)
{
  size_t n = 0, o = 34;
  p[n++] = (prefix){o, 1, bl};
  o += 1 + b[o];
  p[n++] = (prefix){o, 2, bl};
  o += 2 + (size_t)(b[o] * 256 + b[o + 1]);
  p[n++] = (prefix){o, 1, bl};
  o += 1 + b[o];
  p[n++] = (prefix){o, 2, bl};
  return ext_prefixes(b, o + 2, bl, 1, p, n);
}

VQ_TEST(tlsmsg_client_hello_round_trip)
{
  static uint8_t buf[BUFSZ];
  for (int psk = 0; psk < 2; psk++) {
    vq_tls_client_hello ch, got;
    sample_ch(&ch, psk);
    ch.session_id = sp(SID, psk ? 8 : 0);
    size_t used = 0;
    CHECK_EQ(vq_tls_build_client_hello(buf, sizeof buf, &ch, &used), VQ_OK);
    CHECK_EQ(buf[0], VQ_TLS_CLIENT_HELLO);
    CHECK_EQ(((size_t)buf[1] * 256 + buf[2]) * 256 + buf[3], used - 4);
    CHECK_EQ(vq_tls_parse_client_hello(buf + 4, used - 4, &got), VQ_OK);
    CHECK_EQ(got.legacy_version, ch.legacy_version);
    CHECK_MEM(got.random, 32, RANDOM, 32);
    CHECK(span_eq(got.session_id, ch.session_id));
    CHECK(span_eq(got.cipher_suites, ch.cipher_suites));
    CHECK(exts_eq(&got.ext, &ch.ext));
    CHECK_EQ(got.ext.n_ext, psk ? 12 : 8);
    if (psk) {
      /* spec: rfc8446#4.2.11.2 — the binders are the last bytes of the message. */
      CHECK(got.ext.psk_binders.p + got.ext.psk_binders.len == buf + used);
      CHECK_EQ(got.ext.psk_count, 2);
      size_t off = 0;
      vq_tls_psk_identity id;
      vq_tls_span bd;
      CHECK_EQ(vq_tls_psk_identity_next(got.ext.psk_identities, &off, &id), VQ_OK);
      CHECK_MEM(id.identity.p, id.identity.len, "abc", 3);
      CHECK_EQ(id.obfuscated_ticket_age, 0x1000);
      CHECK_EQ(vq_tls_psk_identity_next(got.ext.psk_identities, &off, &id), VQ_OK);
      CHECK_EQ(id.obfuscated_ticket_age, 0x01020304);
      CHECK_EQ(vq_tls_psk_identity_next(got.ext.psk_identities, &off, &id), VQ_ERR_TLS_DECODE);
      off = 0;
      CHECK_EQ(vq_tls_psk_binder_next(got.ext.psk_binders, &off, &bd), VQ_OK);
      CHECK_EQ(bd.len, 32);
      CHECK_EQ(bd.p[0], 0xb0);
      CHECK_EQ(vq_tls_quic_check_client_hello(&got), VQ_ERR_TLS_QUIC_SESSION_ID);
    } else {
      CHECK_EQ(vq_tls_quic_check_client_hello(&got), VQ_OK);
    }
    /* Encoding what was parsed gives the same bytes. */
    static uint8_t again[BUFSZ];
    size_t u2 = 0;
    CHECK_EQ(vq_tls_build_client_hello(again, sizeof again, &got, &u2), VQ_OK);
    CHECK_MEM(again, u2, buf, used);
    check_framing(t, buf, used, 32);
    prefix p[64];
    size_t n = ch_prefixes(buf + 4, used - 4, p);
    CHECK_EQ(n, psk ? 4 + 12 + 10 : 4 + 8 + 7);
    check_overruns(t, buf + 4, used - 4, VQ_TLS_CLIENT_HELLO, p, n);
  }
}

VQ_TEST(tlsmsg_server_hello_and_hrr_round_trip)
{
  static uint8_t buf[BUFSZ], again[BUFSZ];
  for (int hrr = 0; hrr < 2; hrr++) {
    vq_tls_server_hello sh, got;
    sample_sh(&sh, hrr);
    size_t used = 0, u2 = 0;
    CHECK_EQ(vq_tls_build_server_hello(buf, sizeof buf, &sh, &used), VQ_OK);
    CHECK_EQ(vq_tls_parse_server_hello(buf + 4, used - 4, &got), VQ_OK);
    /* spec: rfc8446#4.1.3/9 — the special Random marks a HelloRetryRequest. */
    CHECK_EQ(got.is_hrr, hrr);
    CHECK_EQ(got.cipher_suite, 0x1301);
    CHECK(exts_eq(&got.ext, &sh.ext));
    CHECK_EQ(got.ext.key_share_group, VQ_TLS_GROUP_X25519);
    CHECK_EQ(vq_tls_quic_check_server_hello(&got), VQ_OK);
    CHECK_EQ(vq_tls_build_server_hello(again, sizeof again, &got, &u2), VQ_OK);
    CHECK_MEM(again, u2, buf, used);
    check_framing(t, buf, used, 32);
    const uint8_t *b = buf + 4;
    prefix p[16];
    size_t n = 0;
    p[n++] = (prefix){34, 1, used - 4};
    p[n++] = (prefix){35 + 3, 2, used - 4};
    n = ext_prefixes(b, 40, used - 4, 0, p, n);
    CHECK_EQ(n, hrr ? 2 + 3 + 1 : 2 + 3 + 1);
    check_overruns(t, b, used - 4, VQ_TLS_SERVER_HELLO, p, n);
  }
}

VQ_TEST(tlsmsg_encrypted_extensions_round_trip)
{
  static uint8_t buf[BUFSZ], again[BUFSZ];
  vq_tls_encrypted_extensions ee, got;
  sample_ee(&ee);
  size_t used = 0, u2 = 0;
  CHECK_EQ(vq_tls_build_encrypted_extensions(buf, sizeof buf, &ee, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_encrypted_extensions(buf + 4, used - 4, &got), VQ_OK);
  CHECK(exts_eq(&got.ext, &ee.ext));
  CHECK_EQ(got.ext.n_ext, 5);
  CHECK_EQ(vq_tls_quic_check_encrypted_extensions(&got), VQ_OK);
  CHECK_EQ(vq_tls_build_encrypted_extensions(again, sizeof again, &got, &u2), VQ_OK);
  CHECK_MEM(again, u2, buf, used);
  check_framing(t, buf, used, 32);
  prefix p[16];
  size_t n = 0;
  p[n++] = (prefix){0, 2, used - 4};
  n = ext_prefixes(buf + 4, 2, used - 4, 0, p, n);
  check_overruns(t, buf + 4, used - 4, VQ_TLS_ENCRYPTED_EXTENSIONS, p, n);
  /* An empty EncryptedExtensions is well formed but not for QUIC (rfc9001#8.2/1). */
  vq_tls_encrypted_extensions empty;
  memset(&empty, 0, sizeof empty);
  CHECK_EQ(vq_tls_build_encrypted_extensions(buf, sizeof buf, &empty, &used), VQ_OK);
  CHECK_EQ(used, 6);
  CHECK_EQ(vq_tls_parse_encrypted_extensions(buf + 4, 2, &got), VQ_OK);
  CHECK_EQ(vq_tls_quic_check_encrypted_extensions(&got), VQ_ERR_TLS_MISSING_EXTENSION);
}

VQ_TEST(tlsmsg_certificate_round_trip)
{
  static uint8_t list[BUFSZ], buf[BUFSZ], again[BUFSZ];
  size_t ll = sample_cert_list(t, list, sizeof list);
  vq_tls_certificate ct, got;
  ct.context = sp(NULL, 0);
  ct.list = sp(list, ll);
  ct.count = 2;
  size_t used = 0, u2 = 0;
  CHECK_EQ(vq_tls_build_certificate(buf, sizeof buf, &ct, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_certificate(buf + 4, used - 4, &got), VQ_OK);
  CHECK_EQ(got.count, 2);
  CHECK_EQ(got.context.len, 0);
  CHECK(span_eq(got.list, ct.list));
  size_t off = 0;
  vq_tls_cert_entry e;
  CHECK_EQ(vq_tls_cert_next(got.list, &off, &e), VQ_OK);
  CHECK_EQ(e.cert_data.len, 300);
  CHECK(e.cert_data.p == buf + 4 + 1 + 3 + 3); /* zero copy: points into the message */
  CHECK_EQ(e.extensions.len, 0);
  CHECK_EQ(vq_tls_cert_next(got.list, &off, &e), VQ_OK);
  CHECK_EQ(e.cert_data.len, 70);
  CHECK_EQ(vq_tls_cert_next(got.list, &off, &e), VQ_ERR_TLS_DECODE);
  CHECK_EQ(vq_tls_build_certificate(again, sizeof again, &got, &u2), VQ_OK);
  CHECK_MEM(again, u2, buf, used);
  check_framing(t, buf, used, 32);
  prefix p[8];
  size_t bl = used - 4, n = 0;
  p[n++] = (prefix){0, 1, bl};
  p[n++] = (prefix){1, 3, bl};
  p[n++] = (prefix){4, 3, bl};
  p[n++] = (prefix){4 + 3 + 300, 2, bl};
  p[n++] = (prefix){4 + 305, 3, bl};
  p[n++] = (prefix){4 + 305 + 3 + 70, 2, bl};
  check_overruns(t, buf + 4, bl, VQ_TLS_CERTIFICATE, p, n);
  /* Per-entry extensions follow the CT column of rfc8446#4.2: status_request (5) is fine,
   * key_share is illegal_parameter, a duplicate is an error. */
  static const uint8_t entry_ok[] = {0, 0, 1, 0x30, 0, 4, 0, 5, 0, 0};
  static const uint8_t entry_ks[] = {0, 0, 1, 0x30, 0, 6, 0, 51, 0, 2, 0, 0x1d};
  static const uint8_t entry_dup[] = {0, 0, 1, 0x30, 0, 8, 0, 5, 0, 0, 0, 5, 0, 0};
  const struct { const uint8_t *e; size_t n; vq_status want; } cases[] = {
    {entry_ok, sizeof entry_ok, VQ_OK},
    {entry_ks, sizeof entry_ks, VQ_ERR_TLS_ILLEGAL_PARAMETER},
    {entry_dup, sizeof entry_dup, VQ_ERR_TLS_DUPLICATE_EXTENSION},
  };
  for (size_t i = 0; i < 3; i++) {
    uint8_t m[64];
    m[0] = 0;
    m[1] = 0;
    m[2] = 0;
    m[3] = (uint8_t)cases[i].n;
    memcpy(m + 4, cases[i].e, cases[i].n);
    CHECK_EQ(vq_tls_parse_certificate(m, 4 + cases[i].n, &got), cases[i].want);
  }
  /* An empty cert_data is malformed (cert_data<1..2^24-1>). */
  static const uint8_t empty_cert[] = {0, 0, 0, 5, 0, 0, 0, 0, 0};
  CHECK_EQ(vq_tls_parse_certificate(empty_cert, sizeof empty_cert, &got), VQ_ERR_TLS_DECODE);
}

VQ_TEST(tlsmsg_certificate_verify_finished_round_trip)
{
  static uint8_t buf[BUFSZ];
  static uint8_t sig[72];
  for (size_t i = 0; i < sizeof sig; i++) sig[i] = (uint8_t)(i + 3);
  vq_tls_certificate_verify cv = {0x0804, {sig, sizeof sig}}, got;
  size_t used = 0;
  CHECK_EQ(vq_tls_build_certificate_verify(buf, sizeof buf, &cv, &used), VQ_OK);
  CHECK_EQ(used, 4 + 2 + 2 + 72);
  CHECK_EQ(vq_tls_parse_certificate_verify(buf + 4, used - 4, &got), VQ_OK);
  CHECK_EQ(got.algorithm, 0x0804);
  CHECK(span_eq(got.signature, cv.signature));
  check_framing(t, buf, used, 32);
  prefix p[1] = {{2, 2, used - 4}};
  check_overruns(t, buf + 4, used - 4, VQ_TLS_CERTIFICATE_VERIFY, p, 1);

  for (size_t h = 32; h <= 48; h += 16) {
    vq_tls_span vd;
    CHECK_EQ(vq_tls_build_finished(buf, sizeof buf, sp(sig, h), &used), VQ_OK);
    CHECK_EQ(used, 4 + h);
    CHECK_EQ(vq_tls_parse_finished(buf + 4, used - 4, h, &vd), VQ_OK);
    CHECK_MEM(vd.p, vd.len, sig, h);
    /* spec: rfc8446#4.4.4 — verify_data is exactly Hash.length. */
    CHECK_EQ(vq_tls_parse_finished(buf + 4, used - 4, h == 32 ? 48 : 32, &vd), VQ_ERR_TLS_DECODE);
    check_framing(t, buf, used, h);
  }
  CHECK_EQ(vq_tls_build_finished(buf, sizeof buf, sp(sig, 31), &used), VQ_ERR_INVALID_ARGUMENT);
  vq_tls_span vd;
  CHECK_EQ(vq_tls_parse_finished(buf, 20, 20, &vd), VQ_ERR_INVALID_ARGUMENT);
}

VQ_TEST(tlsmsg_new_session_ticket_round_trip)
{
  static uint8_t buf[BUFSZ], again[BUFSZ];
  vq_tls_new_session_ticket nst, got;
  sample_nst(&nst);
  size_t used = 0, u2 = 0;
  CHECK_EQ(vq_tls_build_new_session_ticket(buf, sizeof buf, &nst, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_new_session_ticket(buf + 4, used - 4, &got), VQ_OK);
  CHECK_EQ(got.lifetime, 604800);
  CHECK_EQ(got.age_add, 0xdeadbeefu);
  CHECK(span_eq(got.nonce, nst.nonce));
  CHECK(span_eq(got.ticket, nst.ticket));
  CHECK(exts_eq(&got.ext, &nst.ext));
  CHECK_EQ(vq_tls_quic_check_new_session_ticket(&got), VQ_OK);
  CHECK_EQ(vq_tls_build_new_session_ticket(again, sizeof again, &got, &u2), VQ_OK);
  CHECK_MEM(again, u2, buf, used);
  check_framing(t, buf, used, 32);
  prefix p[8];
  size_t bl = used - 4, n = 0;
  p[n++] = (prefix){8, 1, bl};
  p[n++] = (prefix){11, 2, bl};
  p[n++] = (prefix){18, 2, bl};
  n = ext_prefixes(buf + 4, 20, bl, 0, p, n);
  check_overruns(t, buf + 4, bl, VQ_TLS_NEW_SESSION_TICKET, p, n);
  /* spec: rfc9001#4.6.1/2 — any other max_early_data_size is a PROTOCOL_VIOLATION. */
  nst.ext.max_early_data = 16384;
  CHECK_EQ(vq_tls_build_new_session_ticket(buf, sizeof buf, &nst, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_new_session_ticket(buf + 4, used - 4, &got), VQ_OK);
  CHECK_EQ(vq_tls_quic_check_new_session_ticket(&got), VQ_ERR_TLS_QUIC_EARLY_DATA);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_TLS_QUIC_EARLY_DATA), VQ_TE_PROTOCOL_VIOLATION);
}

VQ_TEST(tlsmsg_certificate_request)
{
  /* spec: rfc8446#4.3.2 — context<0..255>, extensions<2..2^16-1> with signature_algorithms. */
  static const uint8_t ok[] = {0, 0, 8, 0, 13, 0, 4, 0, 2, 0x08, 0x04};
  static const uint8_t no_sig[] = {0, 0, 4, 0xfe, 0xfe, 0, 0};
  static const uint8_t bad_ext[] = {0, 0, 8, 0, 16, 0, 4, 0, 2, 1, 'x'};
  vq_tls_certificate_request cr;
  CHECK_EQ(vq_tls_parse_certificate_request(ok, sizeof ok, &cr), VQ_OK);
  CHECK_EQ(vq_tls_u16_at(cr.ext.sig_algs, 0), 0x0804);
  CHECK_EQ(vq_tls_parse_certificate_request(no_sig, sizeof no_sig, &cr), VQ_ERR_TLS_MISSING_EXTENSION);
  CHECK_EQ(vq_tls_parse_certificate_request(bad_ext, sizeof bad_ext, &cr),
           VQ_ERR_TLS_ILLEGAL_PARAMETER);
  for (size_t k = 0; k < sizeof ok; k++)
    CHECK_EQ(vq_tls_parse_certificate_request(ok, k, &cr), VQ_ERR_TLS_DECODE);
}

/* ---- extension rules -------------------------------------------------------------------------- */

/* A ClientHello body with the given extension block contents. */
static size_t ch_with_exts(uint8_t *b, const uint8_t *ext, size_t el)
{
  size_t o = 0;
  b[o++] = 3;
  b[o++] = 3;
  memcpy(b + o, RANDOM, 32);
  o += 32;
  b[o++] = 0;
  b[o++] = 0;
  b[o++] = 2;
  b[o++] = 0x13;
  b[o++] = 0x01;
  b[o++] = 1;
  b[o++] = 0;
  b[o++] = (uint8_t)(el / 256);
  b[o++] = (uint8_t)(el % 256);
  memcpy(b + o, ext, el);
  return o + el;
}

VQ_TEST(tlsmsg_extension_rules)
{
  static uint8_t b[BUFSZ];
  vq_tls_client_hello ch;
  struct { const char *what; uint8_t ext[40]; size_t n; vq_status want; } cases[] = {
    /* spec: rfc8446#4.2/7 — no two extensions of one type, known or not. */
    {"dup groups", {0, 10, 0, 4, 0, 2, 0, 0x1d, 0, 10, 0, 4, 0, 2, 0, 0x17}, 16,
     VQ_ERR_TLS_DUPLICATE_EXTENSION},
    {"dup unknown", {0xfa, 0xfa, 0, 0, 0, 21, 0, 0, 0xfa, 0xfa, 0, 0}, 12, VQ_ERR_TLS_DUPLICATE_EXTENSION},
    /* spec: rfc8446#4.2.11/16 — pre_shared_key not last: illegal_parameter. */
    {"psk not last",
     {0, 41, 0, 0x2f, 0, 7, 0, 1, 'a', 0, 0, 0, 0, 0, 0x21, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24},
     40, VQ_ERR_TLS_DECODE}, /* (its binders are cut: a malformed block) */
    /* spec: rfc8446#4.2/5 — a known extension in a message it is not defined for. */
    {"sh-only", {0, 43, 0, 2, 3, 4, 0, 21, 0, 0}, 10, VQ_ERR_TLS_DECODE},
    {"odd groups", {0, 10, 0, 3, 0, 1, 0x1d, 0, 21, 0, 0}, 11, VQ_ERR_TLS_DECODE},
    {"empty alpn name", {0, 16, 0, 5, 0, 3, 0, 1, 'x', 0, 21, 0, 0}, 13, VQ_ERR_TLS_DECODE},
    {"early_data not empty", {0, 42, 0, 1, 0, 0, 21, 0, 0}, 9, VQ_ERR_TLS_DECODE},
    {"two host_names", {0, 0, 0, 10, 0, 8, 0, 0, 1, 'a', 0, 0, 1, 'b'}, 14, VQ_ERR_TLS_ILLEGAL_PARAMETER},
    {"ext past block", {0, 21, 0, 5, 0, 0, 0, 0}, 8, VQ_ERR_TLS_DECODE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = ch_with_exts(b, cases[i].ext, cases[i].n);
    vq_status st = vq_tls_parse_client_hello(b, n, &ch);
    if (st != cases[i].want) vq_fail(t, __FILE__, __LINE__, "%s: status %d", cases[i].what, st);
  }
  /* supported_versions is a selected_version in a ServerHello, so in a ClientHello its one-byte
   * list prefix 0x00 0x02 is read as length 0: malformed (checked above as "sh-only"). A real
   * context violation: key_share's selected_group form is HRR-only, and psk_key_exchange_modes is
   * ClientHello-only: in EncryptedExtensions it is illegal_parameter. */
  static const uint8_t ee_modes[] = {0, 6, 0, 45, 0, 2, 1, 1};
  vq_tls_encrypted_extensions ee;
  CHECK_EQ(vq_tls_parse_encrypted_extensions(ee_modes, sizeof ee_modes, &ee),
           VQ_ERR_TLS_ILLEGAL_PARAMETER);
  /* pre_shared_key that is well formed but not last. */
  vq_tls_client_hello s;
  sample_ch(&s, 1);
  static uint8_t m[BUFSZ];
  size_t used = 0;
  CHECK_EQ(vq_tls_build_client_hello(m, sizeof m, &s, &used), VQ_OK);
  static uint8_t ext[BUFSZ];
  size_t bl = used - 4, eo = 2 + 32 + 1 + 2 + sizeof SUITES + 2 + 2; /* extension block start */
  size_t el = bl - eo;
  /* The last extension is pre_shared_key: append an unknown empty extension after it. */
  memcpy(ext, m + 4 + eo, el);
  ext[el] = 0xfa;
  ext[el + 1] = 0xfa;
  ext[el + 2] = 0;
  ext[el + 3] = 0;
  size_t n = ch_with_exts(b, ext, el + 4);
  CHECK_EQ(vq_tls_parse_client_hello(b, n, &ch), VQ_ERR_TLS_ILLEGAL_PARAMETER);
  n = ch_with_exts(b, ext, el);
  CHECK_EQ(vq_tls_parse_client_hello(b, n, &ch), VQ_OK);
  CHECK_EQ(ch.ext.psk_count, 2);
}

/* The bookkeeping bound: VQ_TLS_UNKNOWN_EXT_MAX distinct unknown types are kept, one more is
 * rejected (decode_error), however long the block. */
VQ_TEST(tlsmsg_unknown_extension_bound)
{
  static uint8_t ext[4 * 200], b[BUFSZ];
  vq_tls_client_hello ch;
  for (size_t k = 0; k <= VQ_TLS_UNKNOWN_EXT_MAX + 1; k++) {
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
      uint16_t type = (uint16_t)(0x1000 + i);
      ext[n++] = (uint8_t)(type / 256);
      ext[n++] = (uint8_t)(type % 256);
      ext[n++] = 0;
      ext[n++] = 0;
    }
    /* plus a supported_versions so the block is never below its 8-byte floor */
    static const uint8_t sv[] = {0, 43, 0, 5, 4, 3, 4, 0x7a, 0x7a};
    memcpy(ext + n, sv, sizeof sv);
    n += sizeof sv;
    size_t bl = ch_with_exts(b, ext, n);
    vq_status st = vq_tls_parse_client_hello(b, bl, &ch);
    if (k <= VQ_TLS_UNKNOWN_EXT_MAX) {
      CHECK_EQ(st, VQ_OK);
      CHECK_EQ(ch.ext.n_unknown, k);
      CHECK_EQ(ch.ext.n_ext, k + 1);
    } else {
      CHECK_EQ(st, VQ_ERR_TLS_EXT_LIMIT);
    }
  }
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_EXT_LIMIT), 50);
}

VQ_TEST(tlsmsg_vector_bounds)
{
  static uint8_t b[BUFSZ], m[BUFSZ];
  vq_tls_client_hello s, ch;
  sample_ch(&s, 0);
  size_t used = 0;
  CHECK_EQ(vq_tls_build_client_hello(m, sizeof m, &s, &used), VQ_OK);
  const uint8_t *body = m + 4;
  size_t bl = used - 4;
  /* spec: rfc8446#4.1.2 — legacy_session_id<0..32>: 33 is malformed. */
  {
    vq_tls_client_hello c = s;
    static uint8_t sid33[33];
    c.session_id = sp(sid33, 33);
    CHECK_EQ(vq_tls_build_client_hello(b, sizeof b, &c, &used), VQ_ERR_INVALID_ARGUMENT);
    memcpy(b, body, 34);
    b[34] = 33;
    memcpy(b + 35, sid33, 33);
    memcpy(b + 68, body + 35, bl - 35);
    CHECK_EQ(vq_tls_parse_client_hello(b, bl + 33, &ch), VQ_ERR_TLS_DECODE);
  }
  /* cipher_suites: odd length and empty are malformed. */
  {
    vq_tls_client_hello c = s;
    c.cipher_suites = sp(SUITES, 3);
    CHECK_EQ(vq_tls_build_client_hello(b, sizeof b, &c, &used), VQ_ERR_INVALID_ARGUMENT);
    c.cipher_suites = sp(SUITES, 0);
    CHECK_EQ(vq_tls_build_client_hello(b, sizeof b, &c, &used), VQ_ERR_INVALID_ARGUMENT);
    memcpy(b, body, bl);
    b[36] = 5; /* 6 -> 5 bytes of suites, the compression byte count follows one earlier */
    CHECK_EQ(vq_tls_parse_client_hello(b, bl, &ch), VQ_ERR_TLS_DECODE);
  }
  /* spec: rfc8446#4.1.2/14 — compression methods other than [0]: illegal_parameter. */
  {
    size_t co = 2 + 32 + 1 + 2 + sizeof SUITES;
    memcpy(b, body, bl);
    b[co + 1] = 1;
    CHECK_EQ(vq_tls_parse_client_hello(b, bl, &ch), VQ_ERR_TLS_ILLEGAL_PARAMETER);
    /* [0, 1]: two methods */
    memcpy(b, body, co);
    b[co] = 2;
    b[co + 1] = 0;
    b[co + 2] = 1;
    memcpy(b + co + 3, body + co + 2, bl - co - 2);
    CHECK_EQ(vq_tls_parse_client_hello(b, bl + 1, &ch), VQ_ERR_TLS_ILLEGAL_PARAMETER);
    /* none: the vector's floor is 1 */
    memcpy(b, body, co);
    b[co] = 0;
    memcpy(b + co + 1, body + co + 2, bl - co - 2);
    CHECK_EQ(vq_tls_parse_client_hello(b, bl - 1, &ch), VQ_ERR_TLS_DECODE);
  }
  /* random is exactly 32 bytes: a body shorter than that is malformed. */
  CHECK_EQ(vq_tls_parse_client_hello(body, 33, &ch), VQ_ERR_TLS_DECODE);
  /* A ServerHello with legacy_compression_method 1: illegal_parameter (rfc8446#4.1.3/6). */
  vq_tls_server_hello sh, got;
  sample_sh(&sh, 0);
  CHECK_EQ(vq_tls_build_server_hello(m, sizeof m, &sh, &used), VQ_OK);
  m[4 + 2 + 32 + 1 + 2] = 1;
  CHECK_EQ(vq_tls_parse_server_hello(m + 4, used - 4, &got), VQ_ERR_TLS_ILLEGAL_PARAMETER);
  /* ALPN in a server's answer: exactly one name (RFC 7301 §3.1). */
  vq_tls_encrypted_extensions ee, eg;
  sample_ee(&ee);
  ee.ext.alpn = sp(ALPN, sizeof ALPN);
  CHECK_EQ(vq_tls_build_encrypted_extensions(m, sizeof m, &ee, &used), VQ_ERR_INVALID_ARGUMENT);
  (void)eg;
}

/* spec: rfc9001#5.3/2 — a ClientHello offering cipher suites we do not support (AES-CCM, unassigned
 * values) among one we do is not rejected: it parses and passes the QUIC checks, with the suites kept
 * as offered. */
VQ_TEST(tlsmsg_unknown_cipher_suites_not_rejected)
{
  static uint8_t m[BUFSZ];
  static const uint8_t suites[] = {0x13, 0x04, 0xfe, 0xfe, 0x13, 0x01, 0x00, 0x2f};
  vq_tls_client_hello s, ch;
  size_t used = 0;
  sample_ch(&s, 0);
  s.cipher_suites = sp(suites, sizeof suites);
  CHECK_EQ(vq_tls_build_client_hello(m, sizeof m, &s, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_client_hello(m + 4, used - 4, &ch), VQ_OK);
  CHECK_EQ(vq_tls_quic_check_client_hello(&ch), VQ_OK);
  CHECK_MEM(ch.cipher_suites.p, ch.cipher_suites.len, suites, sizeof suites);
}

/* spec: rfc9001#8.2/1, rfc9001#8.4/2, rfc9001#6/3, rfc9001#4.8 — the RFC 9001 rules and the
 * CRYPTO_ERROR codes (0x100 + alert); spec: rfc9001#4.2/2 — a version older than TLS 1.3 offered
 * alone or selected is refused with protocol_version. */
VQ_TEST(tlsmsg_quic_rules_and_alerts)
{
  static uint8_t m[BUFSZ];
  vq_tls_client_hello s, ch;
  size_t used = 0;
  sample_ch(&s, 0);
  s.ext.has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS] = 0;
  CHECK_EQ(vq_tls_build_client_hello(m, sizeof m, &s, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_client_hello(m + 4, used - 4, &ch), VQ_OK);
  CHECK_EQ(vq_tls_quic_check_client_hello(&ch), VQ_ERR_TLS_MISSING_EXTENSION);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_TLS_MISSING_EXTENSION), 0x16d);
  sample_ch(&s, 0);
  static const uint8_t v12[] = {0x03, 0x03};
  s.ext.supported_versions = sp(v12, 2);
  CHECK_EQ(vq_tls_build_client_hello(m, sizeof m, &s, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_client_hello(m + 4, used - 4, &ch), VQ_OK);
  CHECK_EQ(vq_tls_quic_check_client_hello(&ch), VQ_ERR_TLS_PROTOCOL_VERSION);
  s.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = 0;
  CHECK_EQ(vq_tls_build_client_hello(m, sizeof m, &s, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_client_hello(m + 4, used - 4, &ch), VQ_OK);
  CHECK_EQ(vq_tls_quic_check_client_hello(&ch), VQ_ERR_TLS_PROTOCOL_VERSION);
  /* A pre-TLS-1.3 ClientHello without extensions parses, and QUIC rejects it. */
  sample_ch(&s, 0);
  s.has_extensions = 0;
  CHECK_EQ(vq_tls_build_client_hello(m, sizeof m, &s, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_client_hello(m + 4, used - 4, &ch), VQ_OK);
  CHECK_EQ(ch.has_extensions, 0);
  CHECK_EQ(vq_tls_quic_check_client_hello(&ch), VQ_ERR_TLS_PROTOCOL_VERSION);
  /* non-empty legacy_session_id */
  sample_ch(&s, 0);
  s.session_id = sp(SID, 1);
  CHECK_EQ(vq_tls_build_client_hello(m, sizeof m, &s, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_client_hello(m + 4, used - 4, &ch), VQ_OK);
  CHECK_EQ(vq_tls_quic_check_client_hello(&ch), VQ_ERR_TLS_QUIC_SESSION_ID);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_TLS_QUIC_SESSION_ID), VQ_TE_PROTOCOL_VIOLATION);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_QUIC_SESSION_ID), -1);
  /* ServerHello selecting TLS 1.2 */
  vq_tls_server_hello sh, got;
  sample_sh(&sh, 0);
  sh.ext.selected_version = 0x0303;
  CHECK_EQ(vq_tls_build_server_hello(m, sizeof m, &sh, &used), VQ_OK);
  CHECK_EQ(vq_tls_parse_server_hello(m + 4, used - 4, &got), VQ_OK);
  CHECK_EQ(vq_tls_quic_check_server_hello(&got), VQ_ERR_TLS_PROTOCOL_VERSION);
  CHECK_EQ(vq_tls_quic_check_msg_type(VQ_TLS_KEY_UPDATE), VQ_ERR_TLS_UNEXPECTED_MESSAGE);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_TLS_UNEXPECTED_MESSAGE), 0x10a);
  CHECK_EQ(vq_tls_quic_check_msg_type(VQ_TLS_END_OF_EARLY_DATA), VQ_ERR_TLS_UNEXPECTED_MESSAGE);
  CHECK_EQ(vq_tls_quic_check_msg_type(VQ_TLS_FINISHED), VQ_OK);
  /* alerts */
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_DECODE), 50);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_ILLEGAL_PARAMETER), 47);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_DUPLICATE_EXTENSION), 47);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_MISSING_EXTENSION), 109);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_UNSUPPORTED_EXTENSION), 110);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_PROTOCOL_VERSION), 70);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_NEED_MORE), -1);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_FRAME_TRUNCATED), -1);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_TLS_DECODE), 0x132);
  CHECK_EQ(vq_status_disposition(VQ_ERR_TLS_NEED_MORE), VQ_DISP_NONE);
  CHECK(strcmp(vq_transport_error_name(vq_status_transport_error(VQ_ERR_TLS_DECODE)), "CRYPTO_ERROR") == 0);
}

/* Encoders never write at or past cap, and fail with BUFFER_TOO_SMALL for every cap below the size. */
VQ_TEST(tlsmsg_encoders_respect_cap)
{
  static uint8_t buf[BUFSZ + 64];
  vq_tls_client_hello ch;
  vq_tls_server_hello sh;
  vq_tls_encrypted_extensions ee;
  vq_tls_new_session_ticket nst;
  sample_ch(&ch, 1);
  sample_sh(&sh, 0);
  sample_ee(&ee);
  sample_nst(&nst);
  for (int which = 0; which < 4; which++) {
    size_t full = 0, used = 0;
    vq_status st = which == 0   ? vq_tls_build_client_hello(buf, BUFSZ, &ch, &full)
                   : which == 1 ? vq_tls_build_server_hello(buf, BUFSZ, &sh, &full)
                   : which == 2 ? vq_tls_build_encrypted_extensions(buf, BUFSZ, &ee, &full)
                                : vq_tls_build_new_session_ticket(buf, BUFSZ, &nst, &full);
    CHECK_EQ(st, VQ_OK);
    for (size_t cap = 0; cap < full; cap++) {
      memset(buf, 0xee, sizeof buf);
      used = 12345;
      st = which == 0   ? vq_tls_build_client_hello(buf, cap, &ch, &used)
           : which == 1 ? vq_tls_build_server_hello(buf, cap, &sh, &used)
           : which == 2 ? vq_tls_build_encrypted_extensions(buf, cap, &ee, &used)
                        : vq_tls_build_new_session_ticket(buf, cap, &nst, &used);
      CHECK_EQ(st, VQ_ERR_BUFFER_TOO_SMALL);
      CHECK_EQ(used, 12345);
      for (size_t k = cap; k < sizeof buf; k++)
        if (buf[k] != 0xee) {
          vq_fail(t, __FILE__, __LINE__, "encoder %d wrote at %zu with cap %zu", which, k, cap);
          break;
        }
    }
  }
}

/* ---- seeded property tests -------------------------------------------------------------------- */

/* A random valid list of n 2-byte values (n >= 1). */
static size_t rand_u16s(uint64_t *s, uint8_t *o, size_t n)
{
  for (size_t i = 0; i < 2 * n; i++) o[i] = (uint8_t)vq_rand(s);
  return 2 * n;
}

VQ_TEST(tlsmsg_property_random_client_hellos)
{
  static uint8_t pool[16][600], buf[BUFSZ], again[BUFSZ];
  uint64_t seed = 0x746c736d7367ull;
  for (int iter = 0; iter < 400; iter++) {
    vq_tls_client_hello ch, got;
    sample_ch(&ch, (int)(vq_rand(&seed) % 2));
    ch.session_id = sp(pool[0], vq_rand(&seed) % 33);
    for (size_t i = 0; i < 600; i++) pool[0][i] = (uint8_t)vq_rand(&seed);
    ch.cipher_suites = sp(pool[1], rand_u16s(&seed, pool[1], 1 + vq_rand(&seed) % 40));
    vq_tls_exts *e = &ch.ext;
    e->groups = sp(pool[2], rand_u16s(&seed, pool[2], 1 + vq_rand(&seed) % 60));
    e->supported_versions = sp(pool[3], rand_u16s(&seed, pool[3], 1 + vq_rand(&seed) % 100));
    e->sig_algs = sp(pool[4], rand_u16s(&seed, pool[4], 1 + vq_rand(&seed) % 30));
    /* ALPN: random names of 1..20 bytes */
    size_t an = 0, names = 1 + vq_rand(&seed) % 8;
    for (size_t k = 0; k < names; k++) {
      size_t l = 1 + vq_rand(&seed) % 20;
      pool[5][an++] = (uint8_t)l;
      for (size_t j = 0; j < l; j++) pool[5][an++] = (uint8_t)vq_rand(&seed);
    }
    e->alpn = sp(pool[5], an);
    /* key shares: 0..3 entries with keys of 1..100 bytes */
    size_t kn = 0, shares = vq_rand(&seed) % 4;
    for (size_t k = 0; k < shares; k++) {
      size_t l = 1 + vq_rand(&seed) % 100;
      pool[6][kn++] = 0;
      pool[6][kn++] = (uint8_t)vq_rand(&seed);
      pool[6][kn++] = (uint8_t)(l / 256);
      pool[6][kn++] = (uint8_t)(l % 256);
      for (size_t j = 0; j < l; j++) pool[6][kn++] = (uint8_t)vq_rand(&seed);
    }
    e->key_shares = sp(pool[6], kn);
    e->quic_tp = sp(pool[7], vq_rand(&seed) % 200);
    e->server_name = sp(pool[8], 1 + vq_rand(&seed) % 255);
    for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++)
      if (i != VQ_TLS_EXT_PRE_SHARED_KEY && i != VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES &&
          i != VQ_TLS_EXT_COOKIE && i != VQ_TLS_EXT_EARLY_DATA)
        e->has[i] = (uint8_t)(vq_rand(&seed) % 2);
    e->has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = 1; /* keeps the block above its 8-byte floor */
    size_t used = 0, u2 = 0;
    CHECK_EQ(vq_tls_build_client_hello(buf, sizeof buf, &ch, &used), VQ_OK);
    CHECK_EQ(vq_tls_parse_client_hello(buf + 4, used - 4, &got), VQ_OK);
    CHECK(span_eq(got.session_id, ch.session_id));
    CHECK(span_eq(got.cipher_suites, ch.cipher_suites));
    /* typed fields of absent extensions are not compared */
    for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++) CHECK_EQ(got.ext.has[i], e->has[i]);
    if (e->has[VQ_TLS_EXT_ALPN]) CHECK(span_eq(got.ext.alpn, e->alpn));
    if (e->has[VQ_TLS_EXT_KEY_SHARE]) CHECK(span_eq(got.ext.key_shares, e->key_shares));
    if (e->has[VQ_TLS_EXT_SUPPORTED_GROUPS]) CHECK(span_eq(got.ext.groups, e->groups));
    if (e->has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS]) CHECK(span_eq(got.ext.quic_tp, e->quic_tp));
    if (e->has[VQ_TLS_EXT_SERVER_NAME]) CHECK(span_eq(got.ext.server_name, e->server_name));
    CHECK(span_eq(got.ext.supported_versions, e->supported_versions));
    CHECK_EQ(vq_tls_build_client_hello(again, sizeof again, &got, &u2), VQ_OK);
    CHECK_MEM(again, u2, buf, used);
  }
}

/* Mutated messages: never a crash (run under ASan/UBSan in test-san); when one still parses,
 * encoding it and parsing that again gives the same fields (decode -> encode -> decode). */
VQ_TEST(tlsmsg_property_mutations)
{
  static uint8_t msgs[6][BUFSZ], mut[BUFSZ], out[BUFSZ], list[BUFSZ];
  size_t lens[6];
  vq_tls_client_hello ch;
  vq_tls_server_hello sh, hrr;
  vq_tls_encrypted_extensions ee;
  vq_tls_new_session_ticket nst;
  vq_tls_certificate ct;
  sample_ch(&ch, 1);
  sample_sh(&sh, 0);
  sample_sh(&hrr, 1);
  sample_ee(&ee);
  sample_nst(&nst);
  ct.context = sp(NULL, 0);
  ct.list = sp(list, sample_cert_list(t, list, sizeof list));
  CHECK_EQ(vq_tls_build_client_hello(msgs[0], BUFSZ, &ch, &lens[0]), VQ_OK);
  CHECK_EQ(vq_tls_build_server_hello(msgs[1], BUFSZ, &sh, &lens[1]), VQ_OK);
  CHECK_EQ(vq_tls_build_server_hello(msgs[2], BUFSZ, &hrr, &lens[2]), VQ_OK);
  CHECK_EQ(vq_tls_build_encrypted_extensions(msgs[3], BUFSZ, &ee, &lens[3]), VQ_OK);
  CHECK_EQ(vq_tls_build_new_session_ticket(msgs[4], BUFSZ, &nst, &lens[4]), VQ_OK);
  CHECK_EQ(vq_tls_build_certificate(msgs[5], BUFSZ, &ct, &lens[5]), VQ_OK);
  uint64_t seed = 0x6d757461746500ull;
  unsigned parsed = 0;
  for (int iter = 0; iter < 20000; iter++) {
    int w = (int)(vq_rand(&seed) % 6);
    size_t bl = lens[w] - 4;
    memcpy(mut, msgs[w] + 4, bl);
    int flips = 1 + (int)(vq_rand(&seed) % 3);
    for (int f = 0; f < flips; f++) mut[vq_rand(&seed) % bl] ^= (uint8_t)(1u << (vq_rand(&seed) % 8));
    size_t l = vq_rand(&seed) % 8 == 0 ? vq_rand(&seed) % (bl + 1) : bl;
    /* an exact-size heap copy, so ASan sees any read past the end */
    uint8_t *h = malloc(l ? l : 1);
    if (!h) return;
    memcpy(h, mut, l);
    size_t used = 0;
    vq_status st, st2;
    switch (w) {
    case 0: {
      vq_tls_client_hello a, b;
      st = vq_tls_parse_client_hello(h, l, &a);
      if (st != VQ_OK) break;
      parsed++;
      st2 = vq_tls_build_client_hello(out, sizeof out, &a, &used);
      if (st2 != VQ_OK) {
        /* only when something was not kept: unknown extensions, or an SNI without host_name */
        CHECK(st2 == VQ_ERR_INVALID_ARGUMENT &&
              (a.ext.n_unknown > 0 || (a.ext.has[VQ_TLS_EXT_SERVER_NAME] && !a.ext.server_name.len)));
        break;
      }
      CHECK_EQ(vq_tls_parse_client_hello(out + 4, used - 4, &b), VQ_OK);
      CHECK(exts_eq(&a.ext, &b.ext) && span_eq(a.cipher_suites, b.cipher_suites) &&
            span_eq(a.session_id, b.session_id) && memcmp(a.random, b.random, 32) == 0);
      break;
    }
    case 1:
    case 2: {
      vq_tls_server_hello a, b;
      st = vq_tls_parse_server_hello(h, l, &a);
      if (st != VQ_OK) break;
      parsed++;
      st2 = vq_tls_build_server_hello(out, sizeof out, &a, &used);
      if (st2 != VQ_OK) {
        CHECK(st2 == VQ_ERR_INVALID_ARGUMENT && a.ext.n_unknown > 0);
        break;
      }
      CHECK_EQ(vq_tls_parse_server_hello(out + 4, used - 4, &b), VQ_OK);
      CHECK(exts_eq(&a.ext, &b.ext) && a.is_hrr == b.is_hrr && a.cipher_suite == b.cipher_suite);
      break;
    }
    case 3: {
      vq_tls_encrypted_extensions a, b;
      st = vq_tls_parse_encrypted_extensions(h, l, &a);
      if (st != VQ_OK) break;
      parsed++;
      CHECK_EQ(vq_tls_build_encrypted_extensions(out, sizeof out, &a, &used), VQ_OK);
      CHECK_EQ(vq_tls_parse_encrypted_extensions(out + 4, used - 4, &b), VQ_OK);
      CHECK(exts_eq(&a.ext, &b.ext));
      break;
    }
    case 4: {
      vq_tls_new_session_ticket a, b;
      st = vq_tls_parse_new_session_ticket(h, l, &a);
      if (st != VQ_OK) break;
      parsed++;
      CHECK_EQ(vq_tls_build_new_session_ticket(out, sizeof out, &a, &used), VQ_OK);
      CHECK_EQ(vq_tls_parse_new_session_ticket(out + 4, used - 4, &b), VQ_OK);
      CHECK(exts_eq(&a.ext, &b.ext) && a.lifetime == b.lifetime && span_eq(a.ticket, b.ticket));
      break;
    }
    default: {
      vq_tls_certificate a, b;
      st = vq_tls_parse_certificate(h, l, &a);
      if (st != VQ_OK) break;
      parsed++;
      CHECK_EQ(vq_tls_build_certificate(out, sizeof out, &a, &used), VQ_OK);
      CHECK_EQ(vq_tls_parse_certificate(out + 4, used - 4, &b), VQ_OK);
      CHECK(span_eq(a.list, b.list) && a.count == b.count);
      break;
    }
    }
    free(h);
  }
  CHECK(parsed > 1000); /* the mutations exercise both paths */
}
