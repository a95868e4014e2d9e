/* Fuzz harness: the client's session file (vq-client --session-file; vq_h3q_session_decode in
 * src/h3/h3quic.c, format in include/vquic/h3quic.h): the QUIC session and the server's SETTINGS
 * remembered with it (RFC 9114 §7.2.4.2/5). Input: the file's bytes.
 * Checks: VQ_OK or VQ_ERR_TLS_SESSION_INVALID and nothing else; on VQ_OK the session lies inside the
 * input, is 1 .. VQ_TLS_SESSION_MAX bytes, the settings are ones a SETTINGS frame carries, and
 * encoding them again and decoding that gives the same session and the same settings (a fixpoint:
 * what vq-client writes back it reads again); on an error nothing is returned.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const uint8_t *sp = NULL;
  size_t sl = 0;
  vq_h3_settings s;
  int has = 0;
  vq_status st = vq_h3q_session_decode(data, size, &sp, &sl, &s, &has);
  if (st == VQ_ERR_TLS_SESSION_INVALID) {
    if (sp || sl || has) abort();
    return 0;
  }
  if (st != VQ_OK) abort();
  if (!sp || sp < data || sl == 0 || sl > VQ_TLS_SESSION_MAX || (size_t)(sp - data) + sl > size) abort();
  if (s.enable_connect_protocol > 1 || s.h3_datagram > 1) abort();
  static uint8_t out[VQ_H3Q_SESSION_MAX];
  size_t len = 0;
  st = vq_h3q_session_encode(sp, sl, has ? &s : NULL, out, sizeof out, &len);
  if (st != VQ_OK) abort();
  const uint8_t *sp2 = NULL;
  size_t sl2 = 0;
  vq_h3_settings s2;
  int has2 = 0;
  if (vq_h3q_session_decode(out, len, &sp2, &sl2, &s2, &has2) != VQ_OK) abort();
  if (sl2 != sl || memcmp(sp2, sp, sl) != 0 || has2 != has || !same(&s, &s2)) abort();
  return 0;
}
