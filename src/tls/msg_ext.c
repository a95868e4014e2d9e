/* vquic — TLS 1.3 extension blocks (RFC 8446 §4.2) and the typed extensions QUIC needs, parsed in
 * place: list values are kept as validated wire-form spans into the input. */
#include "msg_internal.h"
#include "msg_acsl.h"

/* The typed fields an extension body parser may write. */
#define EXT_TYPED_FIELDS                                                                           \
  e->server_name, e->supported_versions, e->selected_version, e->groups, e->sig_algs,              \
      e->sig_algs_cert, e->alpn, e->key_shares, e->key_share_group, e->key_share, e->psk_modes,    \
      e->cookie, e->quic_tp, e->max_early_data, e->psk_identities, e->psk_binders, e->psk_count,   \
      e->psk_selected

/* The code point of each known extension, in vq_tls_ext_id order. */
const uint16_t vq_tls_ext_code[VQ_TLS_EXT_KNOWN] = {
  VQ_TLS_EXT_TYPE_SERVER_NAME,          VQ_TLS_EXT_TYPE_SUPPORTED_VERSIONS,
  VQ_TLS_EXT_TYPE_SUPPORTED_GROUPS,     VQ_TLS_EXT_TYPE_SIGNATURE_ALGORITHMS,
  VQ_TLS_EXT_TYPE_SIGNATURE_ALGORITHMS_CERT, VQ_TLS_EXT_TYPE_ALPN,
  VQ_TLS_EXT_TYPE_KEY_SHARE,            VQ_TLS_EXT_TYPE_PSK_KEY_EXCHANGE_MODES,
  VQ_TLS_EXT_TYPE_COOKIE,               VQ_TLS_EXT_TYPE_EARLY_DATA,
  VQ_TLS_EXT_TYPE_QUIC_TRANSPORT_PARAMETERS, VQ_TLS_EXT_TYPE_PRE_SHARED_KEY,
};

/* Known extension code point -> index in vq_tls_exts, -1 for an unknown one. */
/*@ assigns \nothing;
    ensures -1 <= \result < VQ_TLS_EXT_KNOWN; */
static int ext_id_of(uint32_t type)
{
  /*@ loop invariant 0 <= i <= VQ_TLS_EXT_KNOWN;
      loop assigns i;
      loop variant VQ_TLS_EXT_KNOWN - i; */
  for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++)
    if (vq_tls_ext_code[i] == type) return (int)i;
  return -1;
}

/* spec: rfc8446#4.2 — the table of the messages each extension may appear in; columns CH, SH, HRR,
 * EE, CT, CR, NST (vq_tls_ext_ctx); rows in vq_tls_ext_id order. quic_transport_parameters: CH and EE
 * (rfc9001#8.2). */
static const uint8_t ext_allowed_in[VQ_TLS_EXT_KNOWN][7] = {
  /* server_name */               {1, 0, 0, 1, 0, 0, 0},
  /* supported_versions */        {1, 1, 1, 0, 0, 0, 0},
  /* supported_groups */          {1, 0, 0, 1, 0, 0, 0},
  /* signature_algorithms */      {1, 0, 0, 0, 0, 1, 0},
  /* signature_algorithms_cert */ {1, 0, 0, 0, 0, 1, 0},
  /* ALPN */                      {1, 0, 0, 1, 0, 0, 0},
  /* key_share */                 {1, 1, 1, 0, 0, 0, 0},
  /* psk_key_exchange_modes */    {1, 0, 0, 0, 0, 0, 0},
  /* cookie */                    {1, 0, 1, 0, 0, 0, 0},
  /* early_data */                {1, 0, 0, 1, 0, 0, 1},
  /* quic_transport_parameters */ {1, 0, 0, 1, 0, 0, 0},
  /* pre_shared_key */            {1, 1, 0, 0, 0, 0, 0},
};

/* Parsers of extension bodies: each reads b[s .. end) of one base buffer (msg_internal.h). */
/*@ predicate in_body{L}(uint8_t *b, integer s, integer end) =
      vq_body_len(end) && vq_readable(b, end); */

/* A vector that must fill b[s .. end) exactly; its contents are b[*vs .. end). */
/*@ requires in_body((uint8_t *)b, s, end);
    requires \valid(out) && \valid(vs) && \separated(out, vs);
    requires \separated(out, b + (0 .. end - 1)) && \separated(vs, b + (0 .. end - 1));
    requires nlen == 1 || nlen == 2;
    assigns *out, *vs;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE;
    ensures \result == VQ_OK ==> s <= *vs <= end && out->len == end - *vs && out->p == b + *vs; */
static vq_status whole_vec(const uint8_t *b, size_t s, size_t end, size_t nlen, uint32_t min,
                           uint32_t max, vq_tls_span *out, size_t *vs)
{
  size_t off = s, st = 0;
  vq_tls_span v;
  if (vq_tls_rd_vec(b, end, &off, nlen, min, max, &v, &st) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  *out = v;
  *vs = st;
  return VQ_OK;
}

/* A list of 2-byte values (versions, groups, signature schemes) filling the body: even length. */
/*@ requires in_body((uint8_t *)b, s, end);
    requires \valid(out) && \separated(out, b + (0 .. end - 1));
    requires nlen == 1 || nlen == 2;
    assigns *out;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE; */
static vq_status u16_list(const uint8_t *b, size_t s, size_t end, size_t nlen, uint32_t min,
                          uint32_t max, vq_tls_span *out)
{
  vq_tls_span v;
  size_t vs = 0;
  if (whole_vec(b, s, end, nlen, min, max, &v, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (v.len % 2u != 0u) return VQ_ERR_TLS_DECODE;
  *out = v;
  return VQ_OK;
}

/* A body that is exactly one uint16. */
/*@ requires in_body((uint8_t *)b, s, end);
    requires \valid(v) && \separated(v, b + (0 .. end - 1));
    assigns *v;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE; */
static vq_status one_u16(const uint8_t *b, size_t s, size_t end, uint16_t *v)
{
  size_t off = s;
  uint32_t x = 0;
  if (vq_tls_rd_u16(b, end, &off, &x) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  *v = (uint16_t)x;
  return VQ_OK;
}

/* spec: rfc8446#4.2 — server_name (RFC 6066 §3): ServerNameList<1..2^16-1> of {name_type,
 * HostName<1..2^16-1>}; at most one host_name. In EncryptedExtensions the body is empty. */
/*@ requires in_body((uint8_t *)b, s, end);
    requires \valid(out) && \separated(out, b + (0 .. end - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
static vq_status ext_server_name(const uint8_t *b, size_t s, size_t end, vq_tls_span *out)
{
  vq_tls_span list, name;
  vq_tls_span host = {b, 0};
  size_t off = 0, ns = 0;
  int seen = 0;
  if (whole_vec(b, s, end, 2, 1, 65535, &list, &off) != VQ_OK) return VQ_ERR_TLS_DECODE;
  /*@ loop invariant s <= off <= end;
      loop assigns off, ns, host, name, seen;
      loop variant end - off; */
  while (off < end) {
    uint32_t type = 0;
    if (vq_tls_rd_u8(b, end, &off, &type) != VQ_OK) return VQ_ERR_TLS_DECODE;
    if (vq_tls_rd_vec(b, end, &off, 2, 1, 65535, &name, &ns) != VQ_OK) return VQ_ERR_TLS_DECODE;
    if (type == 0u) {
      if (seen) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
      seen = 1;
      host = name;
    }
  }
  *out = host;
  return VQ_OK;
}

/* spec: rfc8446#4.2 — ALPN (RFC 7301 §3.1): ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>;
 * a server's answer carries exactly one name. */
/*@ requires in_body((uint8_t *)b, s, end);
    requires \valid(out) && \separated(out, b + (0 .. end - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
static vq_status ext_alpn(const uint8_t *b, size_t s, size_t end, int one, vq_tls_span *out)
{
  vq_tls_span list, name;
  size_t off = 0, ns = 0, n = 0;
  if (whole_vec(b, s, end, 2, 2, 65535, &list, &off) != VQ_OK) return VQ_ERR_TLS_DECODE;
  /*@ loop invariant s <= off <= end && n <= off;
      loop assigns off, ns, n, name;
      loop variant end - off; */
  while (off < end) {
    if (vq_tls_rd_vec(b, end, &off, 1, 1, 255, &name, &ns) != VQ_OK) return VQ_ERR_TLS_DECODE;
    n++;
  }
  if (one && n != 1u) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
  *out = list;
  return VQ_OK;
}

/* spec: rfc8446#4.2.8 — ClientHello: client_shares<0..2^16-1> of KeyShareEntry {group,
 * key_exchange<1..2^16-1>}. */
/*@ requires in_body((uint8_t *)b, s, end);
    requires \valid(out) && \separated(out, b + (0 .. end - 1));
    assigns *out;
    ensures vq_parse_status(\result); */
static vq_status ext_key_share_ch(const uint8_t *b, size_t s, size_t end, vq_tls_span *out)
{
  vq_tls_span list, key;
  size_t off = 0, ks = 0;
  if (whole_vec(b, s, end, 2, 0, 65535, &list, &off) != VQ_OK) return VQ_ERR_TLS_DECODE;
  /*@ loop invariant s <= off <= end;
      loop assigns off, ks, key;
      loop variant end - off; */
  while (off < end) {
    uint32_t group = 0;
    if (vq_tls_rd_u16(b, end, &off, &group) != VQ_OK) return VQ_ERR_TLS_DECODE;
    if (vq_tls_rd_vec(b, end, &off, 2, 1, 65535, &key, &ks) != VQ_OK) return VQ_ERR_TLS_DECODE;
  }
  *out = list;
  return VQ_OK;
}

/* spec: rfc8446#4.2.8 — ServerHello: one KeyShareEntry filling the body. */
/*@ requires in_body((uint8_t *)b, s, end);
    requires \valid(group) && \valid(key) && \separated(group, key);
    requires \separated(group, b + (0 .. end - 1)) && \separated(key, b + (0 .. end - 1));
    assigns *group, *key;
    ensures vq_parse_status(\result); */
static vq_status ext_key_share_sh(const uint8_t *b, size_t s, size_t end, uint16_t *group,
                                  vq_tls_span *key)
{
  size_t off = s, ks = 0;
  uint32_t g = 0;
  vq_tls_span k;
  if (vq_tls_rd_u16(b, end, &off, &g) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(b, end, &off, 2, 1, 65535, &k, &ks) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  *group = (uint16_t)g;
  *key = k;
  return VQ_OK;
}

/* spec: rfc8446#4.2.11 — OfferedPsks: identities<7..2^16-1> of {identity<1..2^16-1>,
 * obfuscated_ticket_age}, binders<33..2^16-1> of PskBinderEntry<32..255>, one binder per identity. */
/*@ requires in_body((uint8_t *)b, s, end);
    requires \valid(ids) && \valid(binders) && \valid(count);
    requires \separated(ids, binders, count);
    requires \separated(ids, b + (0 .. end - 1)) && \separated(binders, b + (0 .. end - 1));
    requires \separated(count, b + (0 .. end - 1));
    assigns *ids, *binders, *count;
    ensures vq_parse_status(\result); */
static vq_status ext_psk_ch(const uint8_t *b, size_t s, size_t end, vq_tls_span *ids,
                            vq_tls_span *binders, size_t *count)
{
  size_t off = s, is = 0, bs = 0, ie = 0, x = 0;
  vq_tls_span il, bl, v;
  if (vq_tls_rd_vec(b, end, &off, 2, 7, 65535, &il, &is) != VQ_OK) return VQ_ERR_TLS_DECODE;
  ie = off;
  if (vq_tls_rd_vec(b, end, &off, 2, 33, 65535, &bl, &bs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  size_t o = is, ni = 0, nb = 0;
  /*@ loop invariant is <= o <= ie && ni <= o;
      loop assigns o, ni, x, v;
      loop variant ie - o; */
  while (o < ie) {
    uint32_t age = 0;
    if (vq_tls_rd_vec(b, ie, &o, 2, 1, 65535, &v, &x) != VQ_OK) return VQ_ERR_TLS_DECODE;
    if (vq_tls_rd_u32(b, ie, &o, &age) != VQ_OK) return VQ_ERR_TLS_DECODE;
    ni++;
  }
  o = bs;
  /*@ loop invariant bs <= o <= end && nb <= o;
      loop assigns o, nb, x, v;
      loop variant end - o; */
  while (o < end) {
    if (vq_tls_rd_vec(b, end, &o, 1, 32, 255, &v, &x) != VQ_OK) return VQ_ERR_TLS_DECODE;
    nb++;
  }
  if (ni != nb) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
  *ids = il;
  *binders = bl;
  *count = ni;
  return VQ_OK;
}

/* spec: rfc8446#4.2.10 — early_data: empty in ClientHello and EncryptedExtensions,
 * max_early_data_size (uint32) in NewSessionTicket. */
/*@ requires in_body((uint8_t *)b, s, end);
    requires vq_ctx_ok(ctx);
    requires \valid(max) && \separated(max, b + (0 .. end - 1));
    assigns *max;
    ensures vq_parse_status(\result); */
static vq_status ext_early_data(const uint8_t *b, size_t s, size_t end, vq_tls_ext_ctx ctx,
                                uint32_t *max)
{
  if (ctx != VQ_TLS_CTX_NST) return s == end ? VQ_OK : VQ_ERR_TLS_DECODE;
  size_t off = s;
  uint32_t v = 0;
  if (vq_tls_rd_u32(b, end, &off, &v) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (off != end) return VQ_ERR_TLS_DECODE;
  *max = v;
  return VQ_OK;
}

/* The typed value of one known extension whose extension_data is b[s .. end). */
/*@ requires in_body((uint8_t *)b, s, end);
    requires vq_ctx_ok(ctx) && vq_ext_id_ok(id);
    requires \valid(e) && \separated(e, b + (0 .. end - 1));
    assigns EXT_TYPED_FIELDS;
    ensures vq_parse_status(\result);
    ensures e->n_unknown == \old(e->n_unknown); */
vq_status vq_tls_ext_body(const uint8_t *b, size_t s, size_t end, vq_tls_ext_ctx ctx, vq_tls_ext_id id,
                          vq_tls_exts *e)
{
  int client = ctx == VQ_TLS_CTX_CH;
  size_t vs = 0;
  /* An if-chain (not a switch) so that Eva accounts for every statement. */
  if (id == VQ_TLS_EXT_SERVER_NAME) {
    if (!client) return s == end ? VQ_OK : VQ_ERR_TLS_DECODE;
    return ext_server_name(b, s, end, &e->server_name);
  }
  if (id == VQ_TLS_EXT_SUPPORTED_VERSIONS) {
    /* spec: rfc8446#4.2.1 — versions<2..254> in ClientHello, selected_version otherwise. */
    if (client) return u16_list(b, s, end, 1, 2, 254, &e->supported_versions);
    return one_u16(b, s, end, &e->selected_version);
  }
  /* spec: rfc8446#4.2.7 — named_group_list<2..2^16-1>. */
  if (id == VQ_TLS_EXT_SUPPORTED_GROUPS) return u16_list(b, s, end, 2, 2, 65535, &e->groups);
  /* spec: rfc8446#4.2.3 — supported_signature_algorithms<2..2^16-2>. */
  if (id == VQ_TLS_EXT_SIGNATURE_ALGORITHMS) return u16_list(b, s, end, 2, 2, 65534, &e->sig_algs);
  if (id == VQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT)
    return u16_list(b, s, end, 2, 2, 65534, &e->sig_algs_cert);
  if (id == VQ_TLS_EXT_ALPN) return ext_alpn(b, s, end, !client, &e->alpn);
  if (id == VQ_TLS_EXT_KEY_SHARE) {
    if (client) return ext_key_share_ch(b, s, end, &e->key_shares);
    /* spec: rfc8446#4.2.8 — HelloRetryRequest: selected_group only. */
    if (ctx == VQ_TLS_CTX_HRR) return one_u16(b, s, end, &e->key_share_group);
    return ext_key_share_sh(b, s, end, &e->key_share_group, &e->key_share);
  }
  /* spec: rfc8446#4.2.9 — ke_modes<1..255>. */
  if (id == VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES) return whole_vec(b, s, end, 1, 1, 255, &e->psk_modes, &vs);
  /* spec: rfc8446#4.2.2 — cookie<1..2^16-1>. */
  if (id == VQ_TLS_EXT_COOKIE) return whole_vec(b, s, end, 2, 1, 65535, &e->cookie, &vs);
  if (id == VQ_TLS_EXT_EARLY_DATA) return ext_early_data(b, s, end, ctx, &e->max_early_data);
  /* spec: rfc9001#8.2 — quic_transport_parameters is opaque here (src/core's transport parameter
   * codec reads it); the walker keeps it in quic_tp. */
  if (id == VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS) return VQ_OK;
  /* VQ_TLS_EXT_PRE_SHARED_KEY (the last id) */
  if (client) return ext_psk_ch(b, s, end, &e->psk_identities, &e->psk_binders, &e->psk_count);
  /* spec: rfc8446#4.2.11 — ServerHello: selected_identity. */
  return one_u16(b, s, end, &e->psk_selected);
}

/*@ requires \valid(e);
    assigns *e;
    ensures e->n_unknown == 0 && e->n_ext == 0;
    ensures \forall integer i; 0 <= i < VQ_TLS_EXT_KNOWN ==> e->has[i] == 0; */
static void exts_clear(vq_tls_exts *e)
{
  /*@ loop invariant 0 <= i <= VQ_TLS_EXT_KNOWN;
      loop invariant \forall integer j; 0 <= j < i ==> e->has[j] == 0;
      loop assigns i, e->has[0 .. VQ_TLS_EXT_KNOWN - 1], e->raw[0 .. VQ_TLS_EXT_KNOWN - 1];
      loop variant VQ_TLS_EXT_KNOWN - i; */
  for (size_t i = 0; i < VQ_TLS_EXT_KNOWN; i++) {
    e->has[i] = 0;
    e->raw[i].p = 0;
    e->raw[i].len = 0;
  }
  /*@ loop invariant 0 <= i <= VQ_TLS_UNKNOWN_EXT_MAX;
      loop assigns i, e->unknown_type[0 .. VQ_TLS_UNKNOWN_EXT_MAX - 1];
      loop variant VQ_TLS_UNKNOWN_EXT_MAX - i; */
  for (size_t i = 0; i < VQ_TLS_UNKNOWN_EXT_MAX; i++) e->unknown_type[i] = 0;
  e->n_unknown = 0;
  e->n_ext = 0;
  vq_tls_span none = {0, 0};
  e->server_name = none;
  e->supported_versions = none;
  e->selected_version = 0;
  e->groups = none;
  e->sig_algs = none;
  e->sig_algs_cert = none;
  e->alpn = none;
  e->key_shares = none;
  e->key_share_group = 0;
  e->key_share = none;
  e->psk_modes = none;
  e->cookie = none;
  e->quic_tp = none;
  e->max_early_data = 0;
  e->psk_identities = none;
  e->psk_binders = none;
  e->psk_count = 0;
  e->psk_selected = 0;
}

/* spec: rfc8446#4.2/7 — an unknown type seen twice is a duplicate too. The table holds at most
 * VQ_TLS_UNKNOWN_EXT_MAX types, so this costs at most that many comparisons. */
/*@ requires \valid(e) && e->n_unknown <= VQ_TLS_UNKNOWN_EXT_MAX;
    requires type < 65536;
    assigns e->unknown_type[0 .. VQ_TLS_UNKNOWN_EXT_MAX - 1], e->n_unknown;
    ensures e->n_unknown <= VQ_TLS_UNKNOWN_EXT_MAX;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DUPLICATE_EXTENSION ||
            \result == VQ_ERR_TLS_EXT_LIMIT; */
static vq_status note_unknown(vq_tls_exts *e, uint32_t type)
{
  size_t n = e->n_unknown;
  /*@ loop invariant 0 <= i <= n;
      loop assigns i;
      loop variant n - i; */
  for (size_t i = 0; i < n; i++)
    if (e->unknown_type[i] == type) return VQ_ERR_TLS_DUPLICATE_EXTENSION;
  if (n >= VQ_TLS_UNKNOWN_EXT_MAX) return VQ_ERR_TLS_EXT_LIMIT;
  e->unknown_type[n] = (uint16_t)type;
  e->n_unknown = n + 1u;
  return VQ_OK;
}

/* spec: rfc8446#4.2 — Extension {extension_type, extension_data<0..2^16-1>} repeated to fill the
 * block. spec: rfc8446#4.2/5, rfc8446#4.3.1/2 — a known extension in a message it is not defined
 * for (EncryptedExtensions included) is illegal_parameter. spec: rfc8446#4.2/7 — no two
 * extensions of one type. spec: rfc8446#4.2.11/16, rfc8446#4.2/6 — pre_shared_key last in a
 * ClientHello, else illegal_parameter. spec: rfc8446#4.1.2/16 — unknown extensions are skipped
 * (counted). */
/*@ requires in_body((uint8_t *)b, start, end);
    requires vq_ctx_ok(ctx);
    requires \valid(e) && \separated(e, b + (0 .. end - 1));
    assigns *e;
    ensures vq_parse_status(\result);
    ensures e->n_unknown <= VQ_TLS_UNKNOWN_EXT_MAX; */
vq_status vq_tls_exts_parse(const uint8_t *b, size_t start, size_t end, vq_tls_ext_ctx ctx,
                            vq_tls_exts *e)
{
  exts_clear(e);
  if (start > end) return VQ_ERR_TLS_DECODE;
  size_t off = start;
  /*@ loop invariant start <= off <= end;
      loop invariant e->n_unknown <= VQ_TLS_UNKNOWN_EXT_MAX;
      loop invariant e->n_ext <= off;
      loop assigns off, *e;
      loop variant end - off; */
  while (off < end) {
    uint32_t type = 0, elen = 0;
    if (vq_tls_rd_u16(b, end, &off, &type) != VQ_OK) return VQ_ERR_TLS_DECODE;
    if (vq_tls_rd_u16(b, end, &off, &elen) != VQ_OK) return VQ_ERR_TLS_DECODE;
    size_t s = off, x = off + elen;
    if (x > end) return VQ_ERR_TLS_DECODE;
    off = x;
    e->n_ext++;
    int id = ext_id_of(type);
    if (id < 0) {
      vq_status su = note_unknown(e, type);
      if (su != VQ_OK) return su;
      continue;
    }
    if (ext_allowed_in[id][ctx] == 0u) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
    if (e->has[id] != 0u) return VQ_ERR_TLS_DUPLICATE_EXTENSION;
    e->has[id] = 1;
    e->raw[id].p = b + s;
    e->raw[id].len = elen;
    if (id == VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS) {
      e->quic_tp.p = b + s;
      e->quic_tp.len = elen;
    }
    if (id == VQ_TLS_EXT_PRE_SHARED_KEY && ctx == VQ_TLS_CTX_CH && off != end)
      return VQ_ERR_TLS_ILLEGAL_PARAMETER;
    vq_status st = vq_tls_ext_body(b, s, x, ctx, (vq_tls_ext_id)id, e);
    if (st != VQ_OK) return st;
  }
  return VQ_OK;
}

/*@ requires vq_readable((uint8_t *)b, len);
    requires vq_ctx_ok(ctx);
    requires \valid(e) && \separated(e, b + (0 .. len - 1));
    assigns *e;
    ensures vq_parse_status(\result); */
vq_status vq_tls_parse_extensions(const uint8_t *b, size_t len, vq_tls_ext_ctx ctx, vq_tls_exts *e)
{
  if (len > VQ_TLS_MAX_BODY) return VQ_ERR_TLS_DECODE;
  return vq_tls_exts_parse(b, 0, len, ctx, e);
}

/* ---- iterators -------------------------------------------------------------------------------- */

/*@ requires vq_span_ok(list);
    assigns \nothing; */
uint16_t vq_tls_u16_at(vq_tls_span list, size_t i)
{
  if (i >= list.len / 2u) return 0;
  return (uint16_t)((uint32_t)list.p[2u * i] * 256u + list.p[2u * i + 1u]);
}

/*@ requires vq_span_ok(list);
    requires \valid(off) && \valid(name) && \separated(off, name);
    requires \separated(off, list.p + (0 .. list.len - 1)) &&
             \separated(name, list.p + (0 .. list.len - 1));
    assigns *off, *name;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE; */
vq_status vq_tls_alpn_next(vq_tls_span list, size_t *off, vq_tls_span *name)
{
  size_t o = *off;
  size_t vs = 0;
  if (list.len > VQ_TLS_MAX_BODY || o >= list.len) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(list.p, list.len, &o, 1, 1, 255, name, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  *off = o;
  return VQ_OK;
}

/*@ requires vq_span_ok(list);
    requires \valid(off) && \valid(e) && \separated(off, e);
    requires \separated(off, list.p + (0 .. list.len - 1)) &&
             \separated(e, list.p + (0 .. list.len - 1));
    assigns *off, *e;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE; */
vq_status vq_tls_key_share_next(vq_tls_span list, size_t *off, vq_tls_key_share_entry *e)
{
  size_t o = *off;
  uint32_t g = 0;
  vq_tls_span k;
  size_t vs = 0;
  if (list.len > VQ_TLS_MAX_BODY || o >= list.len) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_u16(list.p, list.len, &o, &g) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(list.p, list.len, &o, 2, 1, 65535, &k, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  e->group = (uint16_t)g;
  e->key_exchange = k;
  *off = o;
  return VQ_OK;
}

/*@ requires vq_span_ok(list);
    requires \valid(off) && \valid(id) && \separated(off, id);
    requires \separated(off, list.p + (0 .. list.len - 1)) &&
             \separated(id, list.p + (0 .. list.len - 1));
    assigns *off, *id;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE; */
vq_status vq_tls_psk_identity_next(vq_tls_span list, size_t *off, vq_tls_psk_identity *id)
{
  size_t o = *off;
  uint32_t age = 0;
  vq_tls_span s;
  size_t vs = 0;
  if (list.len > VQ_TLS_MAX_BODY || o >= list.len) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(list.p, list.len, &o, 2, 1, 65535, &s, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_u32(list.p, list.len, &o, &age) != VQ_OK) return VQ_ERR_TLS_DECODE;
  id->identity = s;
  id->obfuscated_ticket_age = age;
  *off = o;
  return VQ_OK;
}

/*@ requires vq_span_ok(list);
    requires \valid(off) && \valid(binder) && \separated(off, binder);
    requires \separated(off, list.p + (0 .. list.len - 1)) &&
             \separated(binder, list.p + (0 .. list.len - 1));
    assigns *off, *binder;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE; */
vq_status vq_tls_psk_binder_next(vq_tls_span list, size_t *off, vq_tls_span *binder)
{
  size_t o = *off;
  size_t vs = 0;
  if (list.len > VQ_TLS_MAX_BODY || o >= list.len) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(list.p, list.len, &o, 1, 32, 255, binder, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  *off = o;
  return VQ_OK;
}

/* spec: rfc8446#4.4.2 — CertificateEntry {cert_data<1..2^24-1>, extensions<0..2^16-1>}. */
/*@ requires vq_span_ok(list);
    requires \valid(off) && \valid(e) && \separated(off, e);
    requires \separated(off, list.p + (0 .. list.len - 1)) &&
             \separated(e, list.p + (0 .. list.len - 1));
    assigns *off, *e;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE; */
vq_status vq_tls_cert_next(vq_tls_span list, size_t *off, vq_tls_cert_entry *e)
{
  size_t o = *off;
  vq_tls_span c, x;
  size_t vs = 0;
  if (list.len > VQ_TLS_MAX_BODY || o >= list.len) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(list.p, list.len, &o, 3, 1, 16777215, &c, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (vq_tls_rd_vec(list.p, list.len, &o, 2, 0, 65535, &x, &vs) != VQ_OK) return VQ_ERR_TLS_DECODE;
  e->cert_data = c;
  e->extensions = x;
  *off = o;
  return VQ_OK;
}
