/* Eva entry point for the TLS handshake message codecs (src/tls/msg_io.c, msg_ext.c, msg_parse.c,
 * msg_wr.c, msg_build.c):
 * every parser on a buffer of unknown contents and every length from 0 to its size, every extension
 * context, the iterators on unknown lists, the RFC 9001 checks on unknown structures, and every
 * encoder on structures of unknown contents and field lengths with every capacity up to its buffer. */
#include "__fc_builtin.h"
#include "vquic/tlsmsg.h"
#include "tls/msg_internal.h"

#define N 64

/* Lengths beyond a uint24 body are rejected before any read: a buffer that large reaches them. */
static uint8_t big[VQ_TLS_MAX_BODY + 1];

/* Unknown but initialised contents. (A loop of Frama_C_unsigned_char_interval writes is not
 * unrolled for the 256-byte output buffer, so its writes were weak and left the bytes "maybe
 * uninitialised": the encoders' re-parse then raised initialisation alarms.) */
static void fill(uint8_t *b, size_t n)
{
  Frama_C_make_unknown((char *)b, n);
}

void eva_encoders(void);

void eva_main(void)
{
  eva_encoders();
  uint8_t in[N];
  fill(in, N);
  size_t len = Frama_C_size_t_interval(0, N);

  vq_tls_msg msg;
  (void)vq_tls_msg_split(in, len, &msg);

  vq_tls_client_hello ch;
  (void)vq_tls_parse_client_hello(in, len, &ch);
  vq_tls_server_hello sh;
  (void)vq_tls_parse_server_hello(in, len, &sh);
  vq_tls_encrypted_extensions ee;
  (void)vq_tls_parse_encrypted_extensions(in, len, &ee);
  vq_tls_certificate ct;
  (void)vq_tls_parse_certificate(in, len, &ct);
  vq_tls_certificate_request cr;
  (void)vq_tls_parse_certificate_request(in, len, &cr);
  vq_tls_certificate_verify cv;
  (void)vq_tls_parse_certificate_verify(in, len, &cv);
  vq_tls_span vd;
  (void)vq_tls_parse_finished(in, len, Frama_C_size_t_interval(0, 64), &vd);
  vq_tls_new_session_ticket nst;
  (void)vq_tls_parse_new_session_ticket(in, len, &nst);
  vq_tls_exts ex;
  vq_tls_key_share_entry ks0;
  vq_tls_psk_identity pid0;
  vq_tls_cert_entry ce0;
  (void)vq_tls_parse_extensions(in, len, (vq_tls_ext_ctx)Frama_C_int_interval(0, 6), &ex);

  (void)vq_tls_parse_client_hello(big, sizeof big, &ch);
  (void)vq_tls_parse_server_hello(big, sizeof big, &sh);
  (void)vq_tls_parse_encrypted_extensions(big, sizeof big, &ee);
  (void)vq_tls_parse_certificate(big, sizeof big, &ct);
  (void)vq_tls_parse_certificate_request(big, sizeof big, &cr);
  (void)vq_tls_parse_certificate_verify(big, sizeof big, &cv);
  (void)vq_tls_parse_new_session_ticket(big, sizeof big, &nst);
  (void)vq_tls_parse_extensions(big, sizeof big, VQ_TLS_CTX_CH, &ex);
  vq_tls_span huge = {big, sizeof big};
  size_t z = 0;
  vq_tls_span hs;
  (void)vq_tls_alpn_next(huge, &z, &hs);
  (void)vq_tls_key_share_next(huge, &z, &ks0);
  (void)vq_tls_psk_identity_next(huge, &z, &pid0);
  (void)vq_tls_psk_binder_next(huge, &z, &hs);
  (void)vq_tls_cert_next(huge, &z, &ce0);

  /* Iterators on a list of unknown contents, from an unknown offset. */
  vq_tls_span list = {in, len};
  size_t off = Frama_C_size_t_interval(0, N + 1);
  vq_tls_span s;
  vq_tls_key_share_entry ks;
  vq_tls_psk_identity pid;
  vq_tls_cert_entry ce;
  (void)vq_tls_u16_at(list, Frama_C_size_t_interval(0, N));
  (void)vq_tls_alpn_next(list, &off, &s);
  (void)vq_tls_key_share_next(list, &off, &ks);
  (void)vq_tls_psk_identity_next(list, &off, &pid);
  (void)vq_tls_psk_binder_next(list, &off, &s);
  (void)vq_tls_cert_next(list, &off, &ce);

  /* RFC 9001 checks on structures of unknown contents. */
  vq_tls_client_hello qch;
  vq_tls_server_hello qsh;
  vq_tls_encrypted_extensions qee;
  vq_tls_new_session_ticket qnst;
  for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++) {
    qch.ext.has[i] = Frama_C_unsigned_char_interval(0, 1);
    qsh.ext.has[i] = Frama_C_unsigned_char_interval(0, 1);
    qee.ext.has[i] = Frama_C_unsigned_char_interval(0, 1);
    qnst.ext.has[i] = Frama_C_unsigned_char_interval(0, 1);
  }
  qch.ext.supported_versions = list;
  qch.session_id.p = in;
  qch.session_id.len = Frama_C_size_t_interval(0, 32);
  qsh.ext.selected_version = (uint16_t)Frama_C_unsigned_int_interval(0, 65535);
  qnst.ext.max_early_data = Frama_C_unsigned_int_interval(0, 0xffffffffu);
  (void)vq_tls_quic_check_client_hello(&qch);
  (void)vq_tls_quic_check_server_hello(&qsh);
  (void)vq_tls_quic_check_encrypted_extensions(&qee);
  (void)vq_tls_quic_check_new_session_ticket(&qnst);
  (void)vq_tls_quic_check_msg_type((uint8_t)Frama_C_unsigned_char_interval(0, 255));
}

/* ---- encoders ---------------------------------------------------------------------------------
 * Field lengths are fixed per call (so that Eva's intervals stay exact along the successful paths)
 * while the capacity ranges over every value up to the buffer and the contents are unknown; the
 * calls together cover every extension in every message, lengths out of their bounds, and blocks
 * below their floors. */
#define SRC 48
#define OUTN 256

static vq_tls_span span_of(const uint8_t *src, size_t n)
{
  vq_tls_span s = {src, n};
  return s;
}

/* Every known extension present (all = 1) or none (all = 0), with lengths inside their bounds. */
static void exts_with(vq_tls_exts *e, const uint8_t *src, uint8_t all)
{
  for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++) e->has[i] = all;
  e->server_name = span_of(src, 8);
  e->supported_versions = span_of(src, 2);
  e->selected_version = (uint16_t)Frama_C_unsigned_int_interval(0, 65535);
  e->groups = span_of(src, 2);
  e->sig_algs = span_of(src, 2);
  e->sig_algs_cert = span_of(src, 2);
  e->alpn = span_of(src, 3);
  e->key_shares = span_of(src, 6);
  e->key_share_group = (uint16_t)Frama_C_unsigned_int_interval(0, 65535);
  e->key_share = span_of(src, 4);
  e->psk_modes = span_of(src, 1);
  e->cookie = span_of(src, 2);
  e->quic_tp = span_of(src, 4);
  e->max_early_data = Frama_C_unsigned_int_interval(0, 0xffffffffu);
  e->psk_identities = span_of(src, 9);
  e->psk_binders = span_of(src, 33);
  e->psk_count = 1;
  e->psk_selected = (uint16_t)Frama_C_unsigned_int_interval(0, 65535);
}

/* mode 2: only the extensions each message may carry (rfc8446#4.2's table), so that the encoders'
 * own re-parse can succeed. */
static void only(vq_tls_exts *e, vq_tls_ext_id a, vq_tls_ext_id b, vq_tls_ext_id c)
{
  for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++) e->has[i] = (uint8_t)(i == a || i == b || i == c);
}

static void build_hellos(const uint8_t *src, uint8_t *out, int mode, size_t sid_len)
{
  uint8_t all = mode != 0;
  size_t used;
  vq_tls_client_hello ch;
  ch.legacy_version = (uint16_t)Frama_C_unsigned_int_interval(0, 65535);
  ch.random = src;
  ch.session_id = span_of(src, sid_len);
  ch.cipher_suites = span_of(src, 4);
  ch.has_extensions = 1;
  exts_with(&ch.ext, src, all);
  fill(out, OUTN);
  (void)vq_tls_build_client_hello(out, Frama_C_size_t_interval(0, OUTN), &ch, &used);
  ch.has_extensions = 0;
  fill(out, OUTN);
  (void)vq_tls_build_client_hello(out, Frama_C_size_t_interval(0, OUTN), &ch, &used);

  vq_tls_server_hello sh;
  sh.legacy_version = (uint16_t)Frama_C_unsigned_int_interval(0, 65535);
  sh.random = src;
  sh.session_id_echo = span_of(src, sid_len);
  sh.cipher_suite = (uint16_t)Frama_C_unsigned_int_interval(0, 65535);
  exts_with(&sh.ext, src, all);
  for (int hrr = 0; hrr < 2; hrr++) {
    sh.is_hrr = hrr;
    if (mode == 2)
      only(&sh.ext, VQ_TLS_EXT_SUPPORTED_VERSIONS, VQ_TLS_EXT_KEY_SHARE,
           hrr ? VQ_TLS_EXT_COOKIE : VQ_TLS_EXT_PRE_SHARED_KEY);
    fill(out, OUTN);
    (void)vq_tls_build_server_hello(out, Frama_C_size_t_interval(0, OUTN), &sh, &used);
  }

  vq_tls_encrypted_extensions ee;
  exts_with(&ee.ext, src, all);
  if (mode == 2) {
    only(&ee.ext, VQ_TLS_EXT_SERVER_NAME, VQ_TLS_EXT_ALPN, VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS);
    ee.ext.has[VQ_TLS_EXT_EARLY_DATA] = 1;
    ee.ext.has[VQ_TLS_EXT_SUPPORTED_GROUPS] = 1;
  }
  fill(out, OUTN);
  (void)vq_tls_build_encrypted_extensions(out, Frama_C_size_t_interval(0, OUTN), &ee, &used);

  vq_tls_new_session_ticket nst;
  nst.lifetime = Frama_C_unsigned_int_interval(0, 0xffffffffu);
  nst.age_add = Frama_C_unsigned_int_interval(0, 0xffffffffu);
  nst.nonce = span_of(src, 2);
  nst.ticket = span_of(src, 3);
  exts_with(&nst.ext, src, all);
  if (mode == 2) only(&nst.ext, VQ_TLS_EXT_EARLY_DATA, VQ_TLS_EXT_EARLY_DATA, VQ_TLS_EXT_EARLY_DATA);
  fill(out, OUTN);
  (void)vq_tls_build_new_session_ticket(out, Frama_C_size_t_interval(0, OUTN), &nst, &used);
}

void eva_encoders(void);
void eva_encoders(void)
{
  uint8_t src[SRC];
  uint8_t out[OUTN];
  size_t used;
  fill(src, SRC);

  build_hellos(src, out, 1, 0);
  build_hellos(src, out, 2, 8);
  build_hellos(src, out, 0, 33); /* legacy_session_id over 32 bytes; empty extension blocks */

  vq_tls_certificate ct;
  ct.context = span_of(src, 0);
  ct.list = span_of(src, SRC);
  ct.count = 0;
  fill(out, OUTN);
  (void)vq_tls_build_certificate(out, Frama_C_size_t_interval(0, OUTN), &ct, &used);
  fill(out, OUTN);
  (void)vq_tls_build_cert_entry(out, Frama_C_size_t_interval(0, OUTN), span_of(src, SRC), &used);
  (void)vq_tls_build_cert_entry(out, OUTN, span_of(src, 0), &used);

  vq_tls_certificate_verify cv;
  cv.algorithm = (uint16_t)Frama_C_unsigned_int_interval(0, 65535);
  cv.signature = span_of(src, SRC);
  (void)vq_tls_build_certificate_verify(out, Frama_C_size_t_interval(0, OUTN), &cv, &used);
  (void)vq_tls_build_finished(out, Frama_C_size_t_interval(0, OUTN), span_of(src, 32), &used);
  (void)vq_tls_build_finished(out, Frama_C_size_t_interval(0, OUTN), span_of(src, 48), &used);
  (void)vq_tls_build_finished(out, OUTN, span_of(src, 31), &used);

  /* vq_tls_wr_close's own checks, each taken once with concrete values (the encoders never fail
   * most of them): off past cap, mark past off, no room for the prefix, a length over max, a length
   * under min, and success. */
  fill(out, OUTN);
  (void)vq_tls_wr_close(out, 8, 9, 0, 2, 0, 255);
  (void)vq_tls_wr_close(out, 8, 4, 5, 2, 0, 255);
  (void)vq_tls_wr_close(out, 8, 5, 4, 2, 0, 255);
  (void)vq_tls_wr_close(out, 64, 60, 0, 2, 0, 50);
  (void)vq_tls_wr_close(out, 64, 60, 0, 2, 100, 300);
  (void)vq_tls_wr_close(out, 64, 60, 0, 2, 0, 300);
}
