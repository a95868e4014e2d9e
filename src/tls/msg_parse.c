/* vquic — TLS 1.3 handshake messages (RFC 8446 §4), parsed in place, and the RFC 9001 rules that
 * depend on one message only. */
#include "msg_internal.h"
#include "msg_acsl.h"

/* spec: rfc8446#4.1.3 — SHA-256("HelloRetryRequest"), the Random of a HelloRetryRequest. */
const uint8_t vq_tls_hrr_random[32] = {
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* spec: rfc8446#4 — Handshake {msg_type, uint24 length, body}. */
/*@ requires vq_readable((uint8_t *)buf, len);
    requires \valid(msg) && \separated(msg, buf + (0 .. len - 1));
    assigns *msg;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_NEED_MORE;
    ensures \result == VQ_OK ==> 4 <= msg->size <= len && msg->body.len == msg->size - 4;
    ensures \result == VQ_OK ==> vq_span_ok(msg->body); */
vq_status vq_tls_msg_split(const uint8_t *buf, size_t len, vq_tls_msg *msg)
{
  if (len < VQ_TLS_HS_HEADER_LEN) return VQ_ERR_TLS_NEED_MORE;
  size_t n = ((size_t)buf[1] * 256u + buf[2]) * 256u + buf[3];
  if (n > len - VQ_TLS_HS_HEADER_LEN) return VQ_ERR_TLS_NEED_MORE;
  msg->type = buf[0];
  msg->body.p = buf + VQ_TLS_HS_HEADER_LEN;
  msg->body.len = n;
  msg->size = n + VQ_TLS_HS_HEADER_LEN;
  return VQ_OK;
}

/*@ requires \valid_read(r + (0 .. 31));
    assigns \nothing;
    ensures \result == 0 || \result == 1; */
static int is_hrr_random(const uint8_t *r)
{
  /*@ loop invariant 0 <= i <= 32;
      loop assigns i;
      loop variant 32 - i; */
  for (size_t i = 0; i < 32u; i++)
    if (r[i] != vq_tls_hrr_random[i]) return 0;
  return 1;
}

/* Message bodies are parsed over b[start .. end) of one base buffer (see msg_internal.h); the
 * public functions below call these with start 0 and the encoders with the body they wrote. */
/*@ predicate in_msg{L}(uint8_t *b, integer s, integer end) =
      vq_body_len(end) && vq_readable(b, end); */

/* spec: rfc8446#4.1.2 — ClientHello {legacy_version, random[32], legacy_session_id<0..32>,
 * cipher_suites<2..2^16-2>, legacy_compression_methods<1..2^8-1>, extensions<8..2^16-1>}. */
/*@ requires in_msg((uint8_t *)b, start, end);
    requires \valid(ch) && \separated(ch, b + (0 .. end - 1));
    assigns *ch;
    ensures vq_parse_status(\result); */
vq_status vq_tls_ch_parse(const uint8_t *b, size_t start, size_t end, vq_tls_client_hello *ch)
{
  size_t off = start, vs = 0;
  uint32_t v = 0, comp0 = 0;
  vq_tls_span sid, suites, comp, ext;
  if (vq_tls_rd_u16(b, end, &off, &v) != VQ_OK) return VQ_ERR_TLS_DECODE;
  size_t r = off;
  if (end < VQ_TLS_RANDOM_LEN || off > end - VQ_TLS_RANDOM_LEN) return VQ_ERR_TLS_DECODE;
  off += VQ_TLS_RANDOM_LEN;
  if (vq_tls_rd_vec(b, end, &off, 1, 0, 32, &sid, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 2, 2, 65534, &suites, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (suites.len % 2u != 0u) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 1, 1, 255, &comp, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  /* spec: rfc8446#4.1.2/13, rfc8446#4.1.2/14 — exactly one byte, zero; else illegal_parameter. */
  if (comp.len != 1u) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
  size_t c = vs;
  if (vq_tls_rd_u8(b, end, &c, &comp0) != VQ_OK || comp0 != 0u) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
  ch->legacy_version = (uint16_t)v;
  ch->random = b + r;
  ch->session_id = sid;
  ch->cipher_suites = suites;
  if (off == end) {
    /* A pre-TLS-1.3 ClientHello may end here (rfc8446#4.1.2/17); without supported_versions
     * vq_tls_quic_check_client_hello rejects it. */
    ch->has_extensions = 0;
    return vq_tls_exts_parse(b, end, end, VQ_TLS_CTX_CH, &ch->ext);
  }
  ch->has_extensions = 1;
  if (vq_tls_rd_vec(b, end, &off, 2, 8, 65535, &ext, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  return vq_tls_exts_parse(b, vs, end, VQ_TLS_CTX_CH, &ch->ext);
}

/* spec: rfc8446#4.1.3 — ServerHello {legacy_version, random[32], legacy_session_id_echo<0..32>,
 * cipher_suite, legacy_compression_method, extensions<6..2^16-1>}. spec: rfc8446#4.1.3/9 — the
 * Random is examined first: the HelloRetryRequest value selects the HRR extension rules
 * (rfc8446#4.1.4). */
/*@ requires in_msg((uint8_t *)b, start, end);
    requires \valid(sh) && \separated(sh, b + (0 .. end - 1));
    assigns *sh;
    ensures vq_parse_status(\result); */
vq_status vq_tls_sh_parse(const uint8_t *b, size_t start, size_t end, vq_tls_server_hello *sh)
{
  size_t off = start, vs = 0;
  uint32_t v = 0, cs = 0, comp = 0;
  vq_tls_span sid, ext;
  if (vq_tls_rd_u16(b, end, &off, &v) != VQ_OK) return VQ_ERR_TLS_DECODE;
  size_t r = off;
  if (end < VQ_TLS_RANDOM_LEN || off > end - VQ_TLS_RANDOM_LEN) return VQ_ERR_TLS_DECODE;
  off += VQ_TLS_RANDOM_LEN;
  if (vq_tls_rd_vec(b, end, &off, 1, 0, 32, &sid, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_u16(b, end, &off, &cs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_u8(b, end, &off, &comp) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 2, 6, 65535, &ext, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  /* spec: rfc8446#4.1.3/6 — legacy_compression_method MUST be 0. */
  if (comp != 0u) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
  int hrr = is_hrr_random(b + r);
  sh->is_hrr = hrr;
  sh->legacy_version = (uint16_t)v;
  sh->random = b + r;
  sh->session_id_echo = sid;
  sh->cipher_suite = (uint16_t)cs;
  return vq_tls_exts_parse(b, vs, end, hrr ? VQ_TLS_CTX_HRR : VQ_TLS_CTX_SH, &sh->ext);
}

/* spec: rfc8446#4.3.1 — EncryptedExtensions {extensions<0..2^16-1>}. */
/*@ requires in_msg((uint8_t *)b, start, end);
    requires \valid(ee) && \separated(ee, b + (0 .. end - 1));
    assigns *ee;
    ensures vq_parse_status(\result); */
vq_status vq_tls_ee_parse(const uint8_t *b, size_t start, size_t end, vq_tls_encrypted_extensions *ee)
{
  size_t off = start, vs = 0;
  vq_tls_span ext;
  if (vq_tls_rd_vec(b, end, &off, 2, 0, 65535, &ext, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  return vq_tls_exts_parse(b, vs, end, VQ_TLS_CTX_EE, &ee->ext);
}

/* spec: rfc8446#4.4.2 — Certificate {certificate_request_context<0..2^8-1>,
 * certificate_list<0..2^24-1>}; each entry's extensions follow the CT column of rfc8446#4.2. */
/*@ requires in_msg((uint8_t *)b, start, end);
    requires \valid(ct) && \separated(ct, b + (0 .. end - 1));
    assigns *ct;
    ensures vq_parse_status(\result); */
vq_status vq_tls_ct_parse(const uint8_t *b, size_t start, size_t end, vq_tls_certificate *ct)
{
  size_t off = start, vs = 0, es = 0;
  vq_tls_span ctx, list, cert, ext;
  vq_tls_exts scratch;
  if (vq_tls_rd_vec(b, end, &off, 1, 0, 255, &ctx, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 3, 0, 16777215, &list, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  size_t o = vs, n = 0;
  /*@ loop invariant vs <= o <= end && n <= o;
      loop assigns o, n, es, cert, ext, scratch;
      loop variant end - o; */
  while (o < end) {
    if (vq_tls_rd_vec(b, end, &o, 3, 1, 16777215, &cert, &es) != VQ_OK) return VQ_ERR_TLS_DECODE;
    if (vq_tls_rd_vec(b, end, &o, 2, 0, 65535, &ext, &es) != VQ_OK) return VQ_ERR_TLS_DECODE;
    vq_status st = vq_tls_exts_parse(b, es, o, VQ_TLS_CTX_CT, &scratch);
    if (st != VQ_OK) return st;
    n++;
  }
  ct->context = ctx;
  ct->list = list;
  ct->count = n;
  return VQ_OK;
}

/* spec: rfc8446#4.3.2 — CertificateRequest {certificate_request_context<0..2^8-1>,
 * extensions<2..2^16-1>}; rfc8446#4.3.2/6: signature_algorithms MUST be present. */
/*@ requires in_msg((uint8_t *)b, start, end);
    requires \valid(cr) && \separated(cr, b + (0 .. end - 1));
    assigns *cr;
    ensures vq_parse_status(\result); */
vq_status vq_tls_cr_parse(const uint8_t *b, size_t start, size_t end, vq_tls_certificate_request *cr)
{
  size_t off = start, vs = 0;
  vq_tls_span ctx, ext;
  if (vq_tls_rd_vec(b, end, &off, 1, 0, 255, &ctx, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 2, 2, 65535, &ext, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  cr->context = ctx;
  vq_status st = vq_tls_exts_parse(b, vs, end, VQ_TLS_CTX_CR, &cr->ext);
  if (st != VQ_OK) return st;
  if (cr->ext.has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS] == 0u) return VQ_ERR_TLS_MISSING_EXTENSION;
  return VQ_OK;
}

/* spec: rfc8446#4.4.3 — CertificateVerify {algorithm, signature<0..2^16-1>}. */
/*@ requires in_msg((uint8_t *)b, start, end);
    requires \valid(cv) && \separated(cv, b + (0 .. end - 1));
    assigns *cv;
    ensures vq_parse_status(\result); */
vq_status vq_tls_cv_parse(const uint8_t *b, size_t start, size_t end, vq_tls_certificate_verify *cv)
{
  size_t off = start, vs = 0;
  uint32_t alg = 0;
  vq_tls_span sig;
  if (vq_tls_rd_u16(b, end, &off, &alg) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 2, 0, 65535, &sig, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  cv->algorithm = (uint16_t)alg;
  cv->signature = sig;
  return VQ_OK;
}

/* spec: rfc8446#4.6.1 — NewSessionTicket {ticket_lifetime, ticket_age_add, ticket_nonce<0..255>,
 * ticket<1..2^16-1>, extensions<0..2^16-2>}. */
/*@ requires in_msg((uint8_t *)b, start, end);
    requires \valid(nst) && \separated(nst, b + (0 .. end - 1));
    assigns *nst;
    ensures vq_parse_status(\result); */
vq_status vq_tls_nst_parse(const uint8_t *b, size_t start, size_t end, vq_tls_new_session_ticket *nst)
{
  size_t off = start, vs = 0;
  uint32_t life = 0, add = 0;
  vq_tls_span nonce, ticket, ext;
  if (vq_tls_rd_u32(b, end, &off, &life) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_u32(b, end, &off, &add) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 1, 0, 255, &nonce, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 2, 1, 65535, &ticket, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 2, 0, 65534, &ext, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  nst->lifetime = life;
  nst->age_add = add;
  nst->nonce = nonce;
  nst->ticket = ticket;
  return vq_tls_exts_parse(b, vs, end, VQ_TLS_CTX_NST, &nst->ext);
}

/* ---- public parsers: a message body b[0 .. len) ------------------------------------------------- */
#define PUBLIC_PARSER(NAME, TYPE, INNER)                                                           \
  vq_status NAME(const uint8_t *b, size_t len, TYPE *out)                                         \
  {                                                                                                \
    if (len > VQ_TLS_MAX_BODY) return VQ_ERR_TLS_DECODE;                                           \
    return INNER(b, 0, len, out);                                                                  \
  }

/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(out) && \separated(out, b + (0 .. len - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
PUBLIC_PARSER(vq_tls_parse_client_hello, vq_tls_client_hello, vq_tls_ch_parse)
/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(out) && \separated(out, b + (0 .. len - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
PUBLIC_PARSER(vq_tls_parse_server_hello, vq_tls_server_hello, vq_tls_sh_parse)
/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(out) && \separated(out, b + (0 .. len - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
PUBLIC_PARSER(vq_tls_parse_encrypted_extensions, vq_tls_encrypted_extensions, vq_tls_ee_parse)
/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(out) && \separated(out, b + (0 .. len - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
PUBLIC_PARSER(vq_tls_parse_certificate, vq_tls_certificate, vq_tls_ct_parse)
/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(out) && \separated(out, b + (0 .. len - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
PUBLIC_PARSER(vq_tls_parse_certificate_request, vq_tls_certificate_request, vq_tls_cr_parse)
/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(out) && \separated(out, b + (0 .. len - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
PUBLIC_PARSER(vq_tls_parse_certificate_verify, vq_tls_certificate_verify, vq_tls_cv_parse)
/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(out) && \separated(out, b + (0 .. len - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
PUBLIC_PARSER(vq_tls_parse_new_session_ticket, vq_tls_new_session_ticket, vq_tls_nst_parse)

/* spec: rfc8446#4.4.4 — Finished {verify_data[Hash.length]}. */
/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(verify_data) && \separated(verify_data, b + (0 .. len - 1));
    assigns *verify_data;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE || \result == VQ_ERR_INVALID_ARGUMENT; */
vq_status vq_tls_parse_finished(const uint8_t *b, size_t len, size_t hash_len, vq_tls_span *verify_data)
{
  if (hash_len != 32u && hash_len != 48u) return VQ_ERR_INVALID_ARGUMENT;
  if (len != hash_len) return VQ_ERR_TLS_DECODE;
  verify_data->p = b;
  verify_data->len = len;
  return VQ_OK;
}

/* ---- RFC 9001 rules on one message ------------------------------------------------------------ */

/*@ requires vq_span_ok(list);
    assigns \nothing;
    ensures \result == 0 || \result == 1; */
static int list_has_u16(vq_tls_span list, uint32_t want)
{
  size_t n = list.len / 2u;
  /*@ loop invariant 0 <= i <= n;
      loop assigns i;
      loop variant n - i; */
  for (size_t i = 0; i < n; i++)
    if ((uint32_t)list.p[2u * i] * 256u + list.p[2u * i + 1u] == want) return 1;
  return 0;
}

/* spec: rfc9001#4.2 — TLS 1.3 or later only: supported_versions must offer 0x0304
 * (rfc8446#4.2.1/1). spec: rfc9001#4.2/2 — a server refuses a ClientHello that would negotiate an
 * older version. spec: rfc9001#8.2/1 — no quic_transport_parameters: missing_extension.
 * spec: rfc9001#8.4/2 — a non-empty legacy_session_id is a PROTOCOL_VIOLATION.
 * spec: rfc9001#5.3/2 — the offered cipher suites are not looked at: one we do not support never makes
 * a ClientHello rejected (the handshake picks among those it supports). */
/*@ requires \valid_read(ch) && vq_span_ok(ch->ext.supported_versions);
    assigns \nothing; */
vq_status vq_tls_quic_check_client_hello(const vq_tls_client_hello *ch)
{
  if (ch->ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] == 0u) return VQ_ERR_TLS_PROTOCOL_VERSION;
  if (!list_has_u16(ch->ext.supported_versions, VQ_TLS_VERSION_13)) return VQ_ERR_TLS_PROTOCOL_VERSION;
  if (ch->ext.has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS] == 0u) return VQ_ERR_TLS_MISSING_EXTENSION;
  if (ch->session_id.len != 0u) return VQ_ERR_TLS_QUIC_SESSION_ID;
  return VQ_OK;
}

/* spec: rfc8446#4.1.3/8, rfc8446#4.2.1/9 — a TLS 1.3 ServerHello (and HRR) selects 0x0304 in
 * supported_versions; spec: rfc9001#4.2/2 — QUIC needs TLS 1.3: a client terminates the connection
 * (protocol_version) when an older version is selected. */
/*@ requires \valid_read(sh);
    assigns \nothing; */
vq_status vq_tls_quic_check_server_hello(const vq_tls_server_hello *sh)
{
  if (sh->ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] == 0u) return VQ_ERR_TLS_PROTOCOL_VERSION;
  if (sh->ext.selected_version != VQ_TLS_VERSION_13) return VQ_ERR_TLS_PROTOCOL_VERSION;
  return VQ_OK;
}

/* spec: rfc9001#8.2/1 — EncryptedExtensions without quic_transport_parameters: missing_extension. */
/*@ requires \valid_read(ee);
    assigns \nothing; */
vq_status vq_tls_quic_check_encrypted_extensions(const vq_tls_encrypted_extensions *ee)
{
  if (ee->ext.has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS] == 0u) return VQ_ERR_TLS_MISSING_EXTENSION;
  return VQ_OK;
}

/* spec: rfc9001#4.6.1/2 — max_early_data_size other than 0xffffffff: PROTOCOL_VIOLATION. */
/*@ requires \valid_read(nst);
    assigns \nothing; */
vq_status vq_tls_quic_check_new_session_ticket(const vq_tls_new_session_ticket *nst)
{
  if (nst->ext.has[VQ_TLS_EXT_EARLY_DATA] != 0u && nst->ext.max_early_data != 0xffffffffu)
    return VQ_ERR_TLS_QUIC_EARLY_DATA;
  return VQ_OK;
}

/* spec: rfc9001#6/3 — KeyUpdate: 0x010a (unexpected_message). spec: rfc9001#8.3 — clients never
 * send EndOfEarlyData, so receiving one is an unexpected message too. */
/*@ assigns \nothing; */
vq_status vq_tls_quic_check_msg_type(uint8_t type)
{
  if (type == VQ_TLS_KEY_UPDATE || type == VQ_TLS_END_OF_EARLY_DATA)
    return VQ_ERR_TLS_UNEXPECTED_MESSAGE;
  return VQ_OK;
}
