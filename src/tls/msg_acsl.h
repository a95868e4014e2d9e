/* vquic — ACSL logic of the TLS handshake codecs (src/tls/msg_*.c). Pure logic; compiles to nothing. */
#ifndef VQ_TLS_MSG_ACSL_H
#define VQ_TLS_MSG_ACSL_H

#include "vquic/tlsmsg.h"
#include "vq_acsl.h"

/*@
  predicate vq_span_ok(vq_tls_span s) = vq_readable((uint8_t *)s.p, s.len);

  // Every span an encoder reads from an extension block.
  predicate vq_exts_ok{L}(vq_tls_exts *e) =
    vq_span_ok(e->server_name) && vq_span_ok(e->supported_versions) && vq_span_ok(e->groups) &&
    vq_span_ok(e->sig_algs) && vq_span_ok(e->sig_algs_cert) && vq_span_ok(e->alpn) &&
    vq_span_ok(e->key_shares) && vq_span_ok(e->key_share) && vq_span_ok(e->psk_modes) &&
    vq_span_ok(e->cookie) && vq_span_ok(e->quic_tp) && vq_span_ok(e->psk_identities) &&
    vq_span_ok(e->psk_binders);

  // A message (header + body) at most: every internal offset sum stays far below 2^64.
  predicate vq_body_len(integer n) = n <= 16777219;

  predicate vq_ctx_ok(integer c) = 0 <= c <= 6;
  predicate vq_ext_id_ok(integer i) = 0 <= i < 12;

  // The statuses a parser returns.
  predicate vq_parse_status(integer r) =
    r == VQ_OK || r == VQ_ERR_TLS_DECODE || r == VQ_ERR_TLS_ILLEGAL_PARAMETER ||
    r == VQ_ERR_TLS_DUPLICATE_EXTENSION || r == VQ_ERR_TLS_EXT_LIMIT ||
    r == VQ_ERR_TLS_MISSING_EXTENSION;

  // The statuses an encoder returns.
  predicate vq_build_status(integer r) =
    r == VQ_OK || r == VQ_ERR_BUFFER_TOO_SMALL || r == VQ_ERR_INVALID_ARGUMENT;
*/

#endif
