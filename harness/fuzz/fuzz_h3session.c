/* Fuzz harness: the client's session file (vq-client --session-file; vq_h3q_session_file_decode and
 * vq_h3q_session_decode in src/h3/h3quic.c, format in include/vquic/h3quic.h, versions 1 and 2): the
 * QUIC session and the server's SETTINGS remembered with it (RFC 9114 §7.2.4.2/5), and a NEW_TOKEN
 * token with the server it belongs to (RFC 9000 §8.1.3). Input: the file's bytes.
 * Checks: VQ_OK or VQ_ERR_TLS_SESSION_INVALID and nothing else; on VQ_OK every field lies inside the
 * input within its bound, a token comes with its origin, the settings are ones a SETTINGS frame
 * carries, and encoding the file again (version 2) and decoding that gives the same session,
 * settings, origin and token (a fixpoint: what vq-client writes back it reads again); the version 1
 * reader (vq_h3q_session_decode) agrees on the session and settings; on an error nothing is returned.
 * Seeds: corpus/h3session. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/h3quic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const vq_h3_settings *a, const vq_h3_settings *b)
{
  return a->max_field_section_size == b->max_field_section_size &&
         a->qpack_max_table_capacity == b->qpack_max_table_capacity &&
         a->qpack_blocked_streams == b->qpack_blocked_streams &&
         a->enable_connect_protocol == b->enable_connect_protocol && a->h3_datagram == b->h3_datagram &&
         a->has_max_field_section_size == b->has_max_field_section_size &&
         a->has_qpack_max_table_capacity == b->has_qpack_max_table_capacity &&
         a->has_qpack_blocked_streams == b->has_qpack_blocked_streams &&
         a->has_enable_connect_protocol == b->has_enable_connect_protocol &&
         a->has_h3_datagram == b->has_h3_datagram;
}

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
  return n == 0 ? p == NULL : (p && p >= data && (size_t)(p - data) + n <= size);
}

static int bytes_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  vq_h3q_session_file f;
  vq_status st = vq_h3q_session_file_decode(data, size, &f);
  /* the version 1 reader: a session or an error */
  const uint8_t *sp = NULL;
  size_t sl = 0;
  vq_h3_settings s;
  int has = 0;
  vq_status st1 = vq_h3q_session_decode(data, size, &sp, &sl, &s, &has);
  if (st1 == VQ_ERR_TLS_SESSION_INVALID) {
    if (sp || sl || has) abort();
  } else if (st1 != VQ_OK) {
    abort();
  }
  if (st == VQ_ERR_TLS_SESSION_INVALID) {
    if (f.session || f.session_len || f.has_settings || f.token || f.token_len || f.origin ||
        f.origin_len || st1 == VQ_OK)
      abort();
    return 0;
  }
  if (st != VQ_OK) abort();
  if (!inside(f.session, f.session_len, data, size) || f.session_len > VQ_TLS_SESSION_MAX ||
      !inside(f.token, f.token_len, data, size) || f.token_len > VQ_H3Q_TOKEN_MAX ||
      !inside(f.origin, f.origin_len, data, size) || f.origin_len > VQ_H3Q_ORIGIN_MAX ||
      (f.token_len == 0) != (f.origin_len == 0))
    abort();
  if (f.settings.enable_connect_protocol > 1 || f.settings.h3_datagram > 1) abort();
  if ((st1 == VQ_OK) != (f.session != NULL)) abort();
  if (st1 == VQ_OK && (sp != f.session || sl != f.session_len || has != f.has_settings ||
                       !same(&s, &f.settings)))
    abort();
  static uint8_t out[VQ_H3Q_SESSION_MAX];
  size_t len = 0;
  if (vq_h3q_session_file_encode(&f, out, sizeof out, &len) != VQ_OK) abort();
  vq_h3q_session_file g;
  if (vq_h3q_session_file_decode(out, len, &g) != VQ_OK) abort();
  if (!bytes_eq(f.session, f.session_len, g.session, g.session_len) || f.has_settings != g.has_settings ||
      !same(&f.settings, &g.settings) || !bytes_eq(f.origin, f.origin_len, g.origin, g.origin_len) ||
      !bytes_eq(f.token, f.token_len, g.token, g.token_len))
    abort();
  return 0;
}
