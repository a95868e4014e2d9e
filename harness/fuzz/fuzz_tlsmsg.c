/* Fuzz harness: the TLS 1.3 handshake message parsers (src/tls/msg_*.c) on arbitrary bytes. The body
 * is copied into an exact-size heap block, so any read past it is caught by ASan. Whenever a message
 * parses, it is encoded again and the encoding parsed again: the two parses must agree (decode ->
 * encode -> decode), else the harness aborts. The iterators walk every list a parse returned and must
 * end exactly at the list's end.
 * Input: [0] selects the message (0 CH, 1 SH, 2 EE, 3 Certificate, 4 CertificateRequest,
 * 5 CertificateVerify, 6 Finished, 7 NewSessionTicket, 8 a CRYPTO stream of whole messages), then the
 * body (or the stream). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/tlsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (70000u)
static uint8_t out[OUT_CAP];

static void check(int ok)
{
  if (!ok) abort();
}

static int span_eq(vq_tls_span a, vq_tls_span b)
{
  return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

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

/* Every validated list walks to its exact end with its iterator. */
static void walk_lists(const vq_tls_exts *e)
{
  size_t off = 0, n = 0;
  vq_tls_span s;
  vq_tls_key_share_entry ks;
  vq_tls_psk_identity id;
  if (e->has[VQ_TLS_EXT_ALPN]) {
    while (off < e->alpn.len) check(vq_tls_alpn_next(e->alpn, &off, &s) == VQ_OK && s.len > 0);
    check(off == e->alpn.len);
  }
  off = 0;
  while (off < e->key_shares.len) check(vq_tls_key_share_next(e->key_shares, &off, &ks) == VQ_OK);
  check(off == e->key_shares.len);
  off = 0;
  while (off < e->psk_identities.len) {
    check(vq_tls_psk_identity_next(e->psk_identities, &off, &id) == VQ_OK);
    n++;
  }
  check(off == e->psk_identities.len && n == e->psk_count);
  off = 0;
  n = 0;
  while (off < e->psk_binders.len) {
    check(vq_tls_psk_binder_next(e->psk_binders, &off, &s) == VQ_OK && s.len >= 32);
    n++;
  }
  check(off == e->psk_binders.len && n == e->psk_count);
  for (size_t i = 0; i < e->groups.len / 2; i++) (void)vq_tls_u16_at(e->groups, i);
}

static void one(uint8_t sel, const uint8_t *b, size_t len)
{
  size_t used = 0;
  vq_status st;
  switch (sel) {
  case 0: {
    vq_tls_client_hello x, y;
    if (vq_tls_parse_client_hello(b, len, &x) != VQ_OK) return;
    walk_lists(&x.ext);
    (void)vq_tls_quic_check_client_hello(&x);
    st = vq_tls_build_client_hello(out, OUT_CAP, &x, &used);
    if (st != VQ_OK) {
      /* only what the structure does not keep: unknown extensions, an SNI without host_name */
      check(st == VQ_ERR_INVALID_ARGUMENT &&
            (x.ext.n_unknown > 0 || (x.ext.has[VQ_TLS_EXT_SERVER_NAME] && !x.ext.server_name.len)));
      return;
    }
    check(vq_tls_parse_client_hello(out + 4, used - 4, &y) == VQ_OK);
    check(exts_eq(&x.ext, &y.ext) && span_eq(x.session_id, y.session_id) &&
          span_eq(x.cipher_suites, y.cipher_suites) && x.legacy_version == y.legacy_version &&
          memcmp(x.random, y.random, 32) == 0 && x.has_extensions == y.has_extensions);
    /* With nothing dropped and the extensions already in vquic's order, the bytes come back. */
    int same = x.ext.n_unknown == 0;
    const uint8_t *last = NULL;
    for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++) {
      if (!x.ext.has[i]) continue;
      if (last && x.ext.raw[i].p < last) same = 0;
      last = x.ext.raw[i].p;
    }
    if (x.ext.has[VQ_TLS_EXT_SERVER_NAME] && x.ext.raw[VQ_TLS_EXT_SERVER_NAME].len != x.ext.server_name.len + 5)
      same = 0;
    if (same) check(used == len + 4 && memcmp(out + 4, b, len) == 0);
    return;
  }
  case 1: {
    vq_tls_server_hello x, y;
    if (vq_tls_parse_server_hello(b, len, &x) != VQ_OK) return;
    (void)vq_tls_quic_check_server_hello(&x);
    st = vq_tls_build_server_hello(out, OUT_CAP, &x, &used);
    if (st != VQ_OK) {
      check(st == VQ_ERR_INVALID_ARGUMENT && x.ext.n_unknown > 0);
      return;
    }
    check(vq_tls_parse_server_hello(out + 4, used - 4, &y) == VQ_OK);
    check(exts_eq(&x.ext, &y.ext) && x.is_hrr == y.is_hrr && x.cipher_suite == y.cipher_suite &&
          span_eq(x.session_id_echo, y.session_id_echo) && memcmp(x.random, y.random, 32) == 0);
    return;
  }
  case 2: {
    vq_tls_encrypted_extensions x, y;
    if (vq_tls_parse_encrypted_extensions(b, len, &x) != VQ_OK) return;
    walk_lists(&x.ext);
    (void)vq_tls_quic_check_encrypted_extensions(&x);
    check(vq_tls_build_encrypted_extensions(out, OUT_CAP, &x, &used) == VQ_OK);
    check(vq_tls_parse_encrypted_extensions(out + 4, used - 4, &y) == VQ_OK);
    check(exts_eq(&x.ext, &y.ext));
    return;
  }
  case 3: {
    vq_tls_certificate x, y;
    if (vq_tls_parse_certificate(b, len, &x) != VQ_OK) return;
    size_t off = 0, n = 0;
    vq_tls_cert_entry e;
    while (off < x.list.len) {
      check(vq_tls_cert_next(x.list, &off, &e) == VQ_OK && e.cert_data.len > 0);
      n++;
    }
    check(n == x.count && off == x.list.len);
    check(vq_tls_build_certificate(out, OUT_CAP, &x, &used) == VQ_OK);
    check(used == len + 4 && memcmp(out + 4, b, len) == 0);
    check(vq_tls_parse_certificate(out + 4, used - 4, &y) == VQ_OK && y.count == x.count);
    return;
  }
  case 4: {
    vq_tls_certificate_request x;
    if (vq_tls_parse_certificate_request(b, len, &x) != VQ_OK) return;
    check(x.ext.has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS] && x.ext.sig_algs.len >= 2);
    return;
  }
  case 5: {
    vq_tls_certificate_verify x, y;
    if (vq_tls_parse_certificate_verify(b, len, &x) != VQ_OK) return;
    check(vq_tls_build_certificate_verify(out, OUT_CAP, &x, &used) == VQ_OK);
    check(used == len + 4 && memcmp(out + 4, b, len) == 0);
    check(vq_tls_parse_certificate_verify(out + 4, used - 4, &y) == VQ_OK);
    return;
  }
  case 6: {
    vq_tls_span vd;
    size_t h = len == 48 ? 48 : 32;
    if (vq_tls_parse_finished(b, len, h, &vd) != VQ_OK) return;
    check(vq_tls_build_finished(out, OUT_CAP, vd, &used) == VQ_OK && used == len + 4);
    return;
  }
  case 7: {
    vq_tls_new_session_ticket x, y;
    if (vq_tls_parse_new_session_ticket(b, len, &x) != VQ_OK) return;
    (void)vq_tls_quic_check_new_session_ticket(&x);
    st = vq_tls_build_new_session_ticket(out, OUT_CAP, &x, &used);
    if (st != VQ_OK) {
      check(st == VQ_ERR_INVALID_ARGUMENT && x.ext.n_unknown > 0);
      return;
    }
    check(vq_tls_parse_new_session_ticket(out + 4, used - 4, &y) == VQ_OK);
    check(exts_eq(&x.ext, &y.ext) && x.lifetime == y.lifetime && x.age_add == y.age_add &&
          span_eq(x.nonce, y.nonce) && span_eq(x.ticket, y.ticket));
    return;
  }
  default:
    return;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1) return 0;
  uint8_t sel = (uint8_t)(data[0] % 9u);
  size_t len = size - 1;
  uint8_t *b = malloc(len ? len : 1);
  if (!b) return 0;
  if (len) memcpy(b, data + 1, len);
  if (sel < 8) {
    one(sel, b, len);
  } else {
    /* A CRYPTO stream: split whole messages and parse each by its type. */
    size_t off = 0;
    vq_tls_msg m;
    while (off < len && vq_tls_msg_split(b + off, len - off, &m) == VQ_OK) {
      check(m.size >= 4 && m.size <= len - off && m.body.p == b + off + 4);
      uint8_t s = m.type == VQ_TLS_CLIENT_HELLO ? 0 : m.type == VQ_TLS_SERVER_HELLO ? 1
                : m.type == VQ_TLS_ENCRYPTED_EXTENSIONS ? 2 : m.type == VQ_TLS_CERTIFICATE ? 3
                : m.type == VQ_TLS_CERTIFICATE_REQUEST ? 4 : m.type == VQ_TLS_CERTIFICATE_VERIFY ? 5
                : m.type == VQ_TLS_FINISHED ? 6 : m.type == VQ_TLS_NEW_SESSION_TICKET ? 7 : 8;
      (void)vq_tls_quic_check_msg_type(m.type);
      one(s, m.body.p, m.body.len);
      off += m.size;
    }
  }
  free(b);
  return 0;
}
