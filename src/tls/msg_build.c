/* vquic — TLS 1.3 handshake message encoders (RFC 8446 §4) for what a QUIC client and server send:
 * ClientHello, ServerHello / HelloRetryRequest, EncryptedExtensions, Certificate, CertificateVerify,
 * Finished, NewSessionTicket. Each writes the whole message (header included) into buf[0 .. cap),
 * back-patches its uint24 and uint16 length prefixes, and then parses what it wrote, so a message it
 * returns VQ_OK for is one the parsers accept (else VQ_ERR_INVALID_ARGUMENT). */
#include "msg_internal.h"
#include "msg_acsl.h"

/* The writers below take the fields they write by value, read from the extension block before any
 * byte is written: each proof then sees one call on a plain span (PROOF-STYLE.md: small functions). */

/* spec: rfc8446#4.2 — ServerNameList with one host_name (RFC 6066 §3). */
/*@ requires vq_writable(b, cap);
    requires vq_span_ok(name);
    requires \valid(off) && \separated(off, b + (0 .. cap - 1));
    assigns *off, b[0 .. cap - 1];
    ensures vq_build_status(\result); */
static vq_status put_server_name(uint8_t *b, size_t cap, size_t *off, vq_tls_span name)
{
  size_t m = 0;
  vq_status st = vq_tls_wr_open(b, cap, off, 2, &m);
  if (st != VQ_OK) return st;
  st = vq_tls_wr_uint(b, cap, off, 1, 0);
  if (st != VQ_OK) return st;
  st = vq_tls_wr_vec(b, cap, off, 2, 1, 65535, name);
  if (st != VQ_OK) return st;
  return vq_tls_wr_close(b, cap, *off, m, 2, 1, 65535);
}

/* spec: rfc8446#4.2.8 — ServerHello: KeyShareEntry {group, key_exchange<1..2^16-1>};
 * HelloRetryRequest (hrr != 0): selected_group only. */
/*@ requires vq_writable(b, cap);
    requires vq_span_ok(key) && group < 65536;
    requires \valid(off) && \separated(off, b + (0 .. cap - 1));
    assigns *off, b[0 .. cap - 1];
    ensures vq_build_status(\result); */
static vq_status put_server_share(uint8_t *b, size_t cap, size_t *off, uint32_t group, int hrr,
                                  vq_tls_span key)
{
  vq_status st = vq_tls_wr_uint(b, cap, off, 2, group);
  if (st != VQ_OK || hrr) return st;
  return vq_tls_wr_vec(b, cap, off, 2, 1, 65535, key);
}

/* spec: rfc8446#4.2.11 — OfferedPsks {identities<7..2^16-1>, binders<33..2^16-1>}. */
/*@ requires vq_writable(b, cap);
    requires vq_span_ok(ids) && vq_span_ok(binders);
    requires \valid(off) && \separated(off, b + (0 .. cap - 1));
    assigns *off, b[0 .. cap - 1];
    ensures vq_build_status(\result); */
static vq_status put_psk_offer(uint8_t *b, size_t cap, size_t *off, vq_tls_span ids,
                               vq_tls_span binders)
{
  vq_status st = vq_tls_wr_vec(b, cap, off, 2, 7, 65535, ids);
  if (st != VQ_OK) return st;
  return vq_tls_wr_vec(b, cap, off, 2, 33, 65535, binders);
}

/* The extension_data of one extension (the inverse of vq_tls_ext_body). Each case reads its fields
 * of *e and then makes one call. Every call's status goes to st and the function has one exit: a
 * `return f(...)` inside a switch case gives WP a block-scoped temporary whose assignment it could
 * not place in the assigns clause. */
/*@ requires vq_writable(b, cap);
    requires \valid_read(e) && vq_exts_ok(e);
    requires vq_ctx_ok(ctx) && vq_ext_id_ok(id);
    requires \valid(off) && \separated(off, b + (0 .. cap - 1)) && \separated(off, e);
    requires \separated(b + (0 .. cap - 1), e);
    assigns *off, b[0 .. cap - 1];
    ensures vq_build_status(\result); */
static vq_status put_ext_body(uint8_t *b, size_t cap, size_t *off, vq_tls_ext_ctx ctx, vq_tls_ext_id id,
                              const vq_tls_exts *e)
{
  vq_status st = VQ_OK;
  int client = ctx == VQ_TLS_CTX_CH;
  switch (id) {
  case VQ_TLS_EXT_SERVER_NAME:
    if (client) st = put_server_name(b, cap, off, e->server_name);
    break;
  case VQ_TLS_EXT_SUPPORTED_VERSIONS:
    if (client) st = vq_tls_wr_vec(b, cap, off, 1, 2, 254, e->supported_versions);
    else st = vq_tls_wr_uint(b, cap, off, 2, e->selected_version);
    break;
  case VQ_TLS_EXT_SUPPORTED_GROUPS:
    st = vq_tls_wr_vec(b, cap, off, 2, 2, 65535, e->groups);
    break;
  case VQ_TLS_EXT_SIGNATURE_ALGORITHMS:
    st = vq_tls_wr_vec(b, cap, off, 2, 2, 65534, e->sig_algs);
    break;
  case VQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT:
    st = vq_tls_wr_vec(b, cap, off, 2, 2, 65534, e->sig_algs_cert);
    break;
  case VQ_TLS_EXT_ALPN:
    st = vq_tls_wr_vec(b, cap, off, 2, 2, 65535, e->alpn);
    break;
  case VQ_TLS_EXT_KEY_SHARE:
    if (client) st = vq_tls_wr_vec(b, cap, off, 2, 0, 65535, e->key_shares);
    else st = put_server_share(b, cap, off, e->key_share_group, ctx == VQ_TLS_CTX_HRR, e->key_share);
    break;
  case VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES:
    st = vq_tls_wr_vec(b, cap, off, 1, 1, 255, e->psk_modes);
    break;
  case VQ_TLS_EXT_COOKIE:
    st = vq_tls_wr_vec(b, cap, off, 2, 1, 65535, e->cookie);
    break;
  case VQ_TLS_EXT_EARLY_DATA:
    if (ctx == VQ_TLS_CTX_NST) st = vq_tls_wr_uint(b, cap, off, 4, e->max_early_data);
    break;
  case VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS:
    st = vq_tls_wr_bytes(b, cap, off, e->quic_tp.p, e->quic_tp.len);
    break;
  default: /* VQ_TLS_EXT_PRE_SHARED_KEY */
    if (client) st = put_psk_offer(b, cap, off, e->psk_identities, e->psk_binders);
    else st = vq_tls_wr_uint(b, cap, off, 2, e->psk_selected);
    break;
  }
  return st;
}

/* spec: rfc8446#4.2 — the extensions e->has[] marks, in vq_tls_ext_id order: pre_shared_key comes
 * last, as rfc8446#4.2.11/15 requires in a ClientHello. Only the contents go here; the caller
 * reserves and patches the block's length. */
/*@ requires vq_writable(b, cap);
    requires \valid_read(e) && vq_exts_ok(e);
    requires vq_ctx_ok(ctx);
    requires \valid(off) && \separated(off, b + (0 .. cap - 1)) && \separated(off, e);
    requires \separated(b + (0 .. cap - 1), e);
    assigns *off, b[0 .. cap - 1];
    ensures vq_build_status(\result); */
vq_status vq_tls_write_exts(uint8_t *b, size_t cap, size_t *off, vq_tls_ext_ctx ctx, const vq_tls_exts *e)
{
  /*@ loop invariant 0 <= i <= VQ_TLS_EXT_KNOWN;
      loop assigns i, *off, b[0 .. cap - 1];
      loop variant VQ_TLS_EXT_KNOWN - i; */
  for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++) {
    if (e->has[i] == 0u) continue;
    size_t m = 0;
    vq_status st = vq_tls_wr_uint(b, cap, off, 2, vq_tls_ext_code[i]);
    if (st == VQ_OK) st = vq_tls_wr_open(b, cap, off, 2, &m);
    if (st == VQ_OK) st = put_ext_body(b, cap, off, ctx, (vq_tls_ext_id)i, e);
    if (st == VQ_OK) st = vq_tls_wr_close(b, cap, *off, m, 2, 0, 65535);
    if (st != VQ_OK) return st;
  }
  return VQ_OK;
}

/* spec: rfc8446#4 — Handshake {msg_type, uint24 length}: the length is reserved here. */
/*@ requires vq_writable(b, cap);
    requires \valid(off) && \valid(mark) && \separated(off, mark);
    requires \separated(off, b + (0 .. cap - 1)) && \separated(mark, b + (0 .. cap - 1));
    requires type < 256;
    assigns *off, *mark, b[0 .. cap - 1];
    ensures vq_build_status(\result);
    ensures \result == VQ_OK ==> *off == 4 && *mark == 1 && cap >= 4; */
static vq_status begin_msg(uint8_t *b, size_t cap, size_t *off, uint32_t type, size_t *mark)
{
  *off = 0;
  vq_status st = vq_tls_wr_uint(b, cap, off, 1, type);
  if (st != VQ_OK) return st;
  return vq_tls_wr_open(b, cap, off, 3, mark);
}

/* ---- the messages ----------------------------------------------------------------------------- */

/* spec: rfc8446#4.1.2 — legacy_version, random, legacy_session_id, cipher_suites,
 * legacy_compression_methods = [0] (rfc8446#4.1.2/13), extensions<8..2^16-1>. */
/*@ requires vq_writable(buf, cap);
    requires \valid_read(ch) && \valid(used);
    requires \valid_read(ch->random + (0 .. 31));
    requires vq_span_ok(ch->session_id) && vq_span_ok(ch->cipher_suites) && vq_exts_ok(&ch->ext);
    requires \separated(buf + (0 .. cap - 1), ch, used) && \separated(used, ch);
    assigns buf[0 .. cap - 1], *used;
    ensures vq_build_status(\result); */
vq_status vq_tls_build_client_hello(uint8_t *buf, size_t cap, const vq_tls_client_hello *ch,
                                    size_t *used)
{
  size_t off = 0, m = 0, x = 0;
  vq_tls_client_hello check;
  vq_status st = begin_msg(buf, cap, &off, VQ_TLS_CLIENT_HELLO, &m);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 2, ch->legacy_version);
  if (st == VQ_OK) st = vq_tls_wr_bytes(buf, cap, &off, ch->random, VQ_TLS_RANDOM_LEN);
  if (st == VQ_OK) st = vq_tls_wr_vec(buf, cap, &off, 1, 0, 32, ch->session_id);
  if (st == VQ_OK) st = vq_tls_wr_vec(buf, cap, &off, 2, 2, 65534, ch->cipher_suites);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 1, 1);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 1, 0);
  if (st == VQ_OK && ch->has_extensions) {
    st = vq_tls_wr_open(buf, cap, &off, 2, &x);
    if (st == VQ_OK) st = vq_tls_write_exts(buf, cap, &off, VQ_TLS_CTX_CH, &ch->ext);
    if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, x, 2, 8, 65535);
  }
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, m, 3, 0, VQ_TLS_MAX_BODY);
  if (st == VQ_OK)
    st = vq_tls_ch_parse(buf, VQ_TLS_HS_HEADER_LEN, off, &check) == VQ_OK ? VQ_OK
                                                                       : VQ_ERR_INVALID_ARGUMENT;
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}

/* spec: rfc8446#4.1.3, rfc8446#4.1.4 — a HelloRetryRequest is a ServerHello whose random is the
 * special value: when sh->is_hrr is set, sh->random is ignored and that value written. */
/*@ requires vq_writable(buf, cap);
    requires \valid_read(sh) && \valid(used);
    requires sh->is_hrr == 0 ==> \valid_read(sh->random + (0 .. 31));
    requires vq_span_ok(sh->session_id_echo) && vq_exts_ok(&sh->ext);
    requires \separated(buf + (0 .. cap - 1), sh, used) && \separated(used, sh);
    assigns buf[0 .. cap - 1], *used;
    ensures vq_build_status(\result); */
vq_status vq_tls_build_server_hello(uint8_t *buf, size_t cap, const vq_tls_server_hello *sh,
                                    size_t *used)
{
  size_t off = 0, m = 0, x = 0;
  vq_tls_server_hello check;
  const uint8_t *random = sh->is_hrr ? vq_tls_hrr_random : sh->random;
  vq_status st = begin_msg(buf, cap, &off, VQ_TLS_SERVER_HELLO, &m);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 2, sh->legacy_version);
  if (st == VQ_OK) st = vq_tls_wr_bytes(buf, cap, &off, random, VQ_TLS_RANDOM_LEN);
  if (st == VQ_OK) st = vq_tls_wr_vec(buf, cap, &off, 1, 0, 32, sh->session_id_echo);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 2, sh->cipher_suite);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 1, 0);
  if (st == VQ_OK) st = vq_tls_wr_open(buf, cap, &off, 2, &x);
  if (st == VQ_OK)
    st = vq_tls_write_exts(buf, cap, &off, sh->is_hrr ? VQ_TLS_CTX_HRR : VQ_TLS_CTX_SH, &sh->ext);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, x, 2, 6, 65535);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, m, 3, 0, VQ_TLS_MAX_BODY);
  if (st == VQ_OK)
    st = vq_tls_sh_parse(buf, VQ_TLS_HS_HEADER_LEN, off, &check) == VQ_OK ? VQ_OK
                                                                       : VQ_ERR_INVALID_ARGUMENT;
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}

/* spec: rfc8446#4.3.1 — extensions<0..2^16-1>. */
/*@ requires vq_writable(buf, cap);
    requires \valid_read(ee) && \valid(used) && vq_exts_ok(&ee->ext);
    requires \separated(buf + (0 .. cap - 1), ee, used) && \separated(used, ee);
    assigns buf[0 .. cap - 1], *used;
    ensures vq_build_status(\result); */
vq_status vq_tls_build_encrypted_extensions(uint8_t *buf, size_t cap,
                                            const vq_tls_encrypted_extensions *ee, size_t *used)
{
  size_t off = 0, m = 0, x = 0;
  vq_tls_encrypted_extensions check;
  vq_status st = begin_msg(buf, cap, &off, VQ_TLS_ENCRYPTED_EXTENSIONS, &m);
  if (st == VQ_OK) st = vq_tls_wr_open(buf, cap, &off, 2, &x);
  if (st == VQ_OK) st = vq_tls_write_exts(buf, cap, &off, VQ_TLS_CTX_EE, &ee->ext);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, x, 2, 0, 65535);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, m, 3, 0, VQ_TLS_MAX_BODY);
  if (st == VQ_OK)
    st = vq_tls_ee_parse(buf, VQ_TLS_HS_HEADER_LEN, off, &check) == VQ_OK ? VQ_OK
                                                                       : VQ_ERR_INVALID_ARGUMENT;
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}

/* spec: rfc8446#4.4.2 — certificate_request_context<0..2^8-1>, certificate_list<0..2^24-1>. */
/*@ requires vq_writable(buf, cap);
    requires \valid_read(ct) && \valid(used);
    requires vq_span_ok(ct->context) && vq_span_ok(ct->list);
    requires \separated(buf + (0 .. cap - 1), ct, used) && \separated(used, ct);
    assigns buf[0 .. cap - 1], *used;
    ensures vq_build_status(\result); */
vq_status vq_tls_build_certificate(uint8_t *buf, size_t cap, const vq_tls_certificate *ct,
                                   size_t *used)
{
  size_t off = 0, m = 0;
  vq_tls_certificate check;
  vq_status st = begin_msg(buf, cap, &off, VQ_TLS_CERTIFICATE, &m);
  if (st == VQ_OK) st = vq_tls_wr_vec(buf, cap, &off, 1, 0, 255, ct->context);
  if (st == VQ_OK) st = vq_tls_wr_vec(buf, cap, &off, 3, 0, 16777215, ct->list);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, m, 3, 0, VQ_TLS_MAX_BODY);
  if (st == VQ_OK)
    st = vq_tls_ct_parse(buf, VQ_TLS_HS_HEADER_LEN, off, &check) == VQ_OK ? VQ_OK
                                                                       : VQ_ERR_INVALID_ARGUMENT;
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}

/* spec: rfc8446#4.4.2 — CertificateEntry {cert_data<1..2^24-1>, extensions<0..2^16-1>} with an
 * empty extension block. */
/*@ requires vq_writable(buf, cap);
    requires vq_span_ok(der) && \valid(used);
    requires \separated(buf + (0 .. cap - 1), used);
    assigns buf[0 .. cap - 1], *used;
    ensures vq_build_status(\result); */
vq_status vq_tls_build_cert_entry(uint8_t *buf, size_t cap, vq_tls_span der, size_t *used)
{
  size_t off = 0;
  vq_status st = vq_tls_wr_vec(buf, cap, &off, 3, 1, 16777215, der);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 2, 0);
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}

/* spec: rfc8446#4.4.3 — algorithm, signature<0..2^16-1>. */
/*@ requires vq_writable(buf, cap);
    requires \valid_read(cv) && \valid(used) && vq_span_ok(cv->signature);
    requires \separated(buf + (0 .. cap - 1), cv, used) && \separated(used, cv);
    assigns buf[0 .. cap - 1], *used;
    ensures vq_build_status(\result); */
vq_status vq_tls_build_certificate_verify(uint8_t *buf, size_t cap,
                                          const vq_tls_certificate_verify *cv, size_t *used)
{
  size_t off = 0, m = 0;
  vq_status st = begin_msg(buf, cap, &off, VQ_TLS_CERTIFICATE_VERIFY, &m);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 2, cv->algorithm);
  if (st == VQ_OK) st = vq_tls_wr_vec(buf, cap, &off, 2, 0, 65535, cv->signature);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, m, 3, 0, VQ_TLS_MAX_BODY);
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}

/* spec: rfc8446#4.4.4 — verify_data[Hash.length] (32 or 48 bytes for the QUIC cipher suites). */
/*@ requires vq_writable(buf, cap);
    requires vq_span_ok(verify_data) && \valid(used);
    requires \separated(buf + (0 .. cap - 1), used);
    assigns buf[0 .. cap - 1], *used;
    ensures vq_build_status(\result); */
vq_status vq_tls_build_finished(uint8_t *buf, size_t cap, vq_tls_span verify_data, size_t *used)
{
  size_t off = 0, m = 0;
  if (verify_data.len != 32u && verify_data.len != 48u) return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = begin_msg(buf, cap, &off, VQ_TLS_FINISHED, &m);
  if (st == VQ_OK) st = vq_tls_wr_bytes(buf, cap, &off, verify_data.p, verify_data.len);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, m, 3, 0, VQ_TLS_MAX_BODY);
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}

/* spec: rfc8446#4.6.1 — ticket_lifetime, ticket_age_add, ticket_nonce<0..255>, ticket<1..2^16-1>,
 * extensions<0..2^16-2>. */
/*@ requires vq_writable(buf, cap);
    requires \valid_read(nst) && \valid(used);
    requires vq_span_ok(nst->nonce) && vq_span_ok(nst->ticket) && vq_exts_ok(&nst->ext);
    requires \separated(buf + (0 .. cap - 1), nst, used) && \separated(used, nst);
    assigns buf[0 .. cap - 1], *used;
    ensures vq_build_status(\result); */
vq_status vq_tls_build_new_session_ticket(uint8_t *buf, size_t cap,
                                          const vq_tls_new_session_ticket *nst, size_t *used)
{
  size_t off = 0, m = 0, x = 0;
  vq_tls_new_session_ticket check;
  vq_status st = begin_msg(buf, cap, &off, VQ_TLS_NEW_SESSION_TICKET, &m);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 4, nst->lifetime);
  if (st == VQ_OK) st = vq_tls_wr_uint(buf, cap, &off, 4, nst->age_add);
  if (st == VQ_OK) st = vq_tls_wr_vec(buf, cap, &off, 1, 0, 255, nst->nonce);
  if (st == VQ_OK) st = vq_tls_wr_vec(buf, cap, &off, 2, 1, 65535, nst->ticket);
  if (st == VQ_OK) st = vq_tls_wr_open(buf, cap, &off, 2, &x);
  if (st == VQ_OK) st = vq_tls_write_exts(buf, cap, &off, VQ_TLS_CTX_NST, &nst->ext);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, x, 2, 0, 65534);
  if (st == VQ_OK) st = vq_tls_wr_close(buf, cap, off, m, 3, 0, VQ_TLS_MAX_BODY);
  if (st == VQ_OK)
    st = vq_tls_nst_parse(buf, VQ_TLS_HS_HEADER_LEN, off, &check) == VQ_OK ? VQ_OK
                                                                       : VQ_ERR_INVALID_ARGUMENT;
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}
