/* vquic — TLS 1.3 transcript hash, key schedule and (EC)DHE for the QUIC handshake (RFC 8446 §4.4.1,
 * §7.1, §7.4; RFC 9001 §5.1 takes the traffic secrets from here). HKDF is src/tls/kdf.c's. */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "tls/hs_internal.h"

static const EVP_MD *md_of(vq_hash h)
{
  return h == VQ_HASH_SHA384 ? EVP_sha384() : EVP_sha256();
}

/* ---- transcript ------------------------------------------------------------------------------ */

vq_status vq_hs_th_init(vq_hs_transcript *th)
{
  th->sel = -1;
  th->md[0] = EVP_MD_CTX_new();
  th->md[1] = EVP_MD_CTX_new();
  if (!th->md[0] || !th->md[1] || EVP_DigestInit_ex(th->md[0], EVP_sha256(), NULL) != 1 ||
      EVP_DigestInit_ex(th->md[1], EVP_sha384(), NULL) != 1) {
    vq_hs_th_free(th);
    return VQ_ERR_TLS_INTERNAL_ERROR;
  }
  return VQ_OK;
}

void vq_hs_th_free(vq_hs_transcript *th)
{
  EVP_MD_CTX_free(th->md[0]);
  EVP_MD_CTX_free(th->md[1]);
  th->md[0] = th->md[1] = NULL;
}

/* spec: rfc8446#4.4.1 — the transcript hash is the hash of the concatenated handshake messages,
 * headers included. */
vq_status vq_hs_th_add(vq_hs_transcript *th, const uint8_t *msg, size_t len)
{
  for (int i = 0; i < 2; i++) {
    if (th->sel >= 0 && th->sel != i) continue;
    if (!th->md[i] || EVP_DigestUpdate(th->md[i], msg, len) != 1) return VQ_ERR_TLS_INTERNAL_ERROR;
  }
  return VQ_OK;
}

vq_status vq_hs_th_select(vq_hs_transcript *th, vq_hash h)
{
  int i = h == VQ_HASH_SHA384 ? 1 : 0;
  if (th->sel >= 0) return th->sel == i ? VQ_OK : VQ_ERR_TLS_INTERNAL_ERROR;
  th->sel = i;
  EVP_MD_CTX_free(th->md[1 - i]);
  th->md[1 - i] = NULL;
  return VQ_OK;
}

vq_status vq_hs_th_hash(const vq_hs_transcript *th, uint8_t *out, size_t *out_len)
{
  unsigned int n = 0;
  if (th->sel < 0 || !th->md[th->sel]) return VQ_ERR_TLS_INTERNAL_ERROR;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (!c) return VQ_ERR_TLS_INTERNAL_ERROR;
  int ok = EVP_MD_CTX_copy_ex(c, th->md[th->sel]) == 1 && EVP_DigestFinal_ex(c, out, &n) == 1;
  EVP_MD_CTX_free(c);
  if (!ok) return VQ_ERR_TLS_INTERNAL_ERROR;
  *out_len = n;
  return VQ_OK;
}

vq_status vq_hs_th_hash_extra(const vq_hs_transcript *th, vq_hash h, const uint8_t *extra,
                              size_t extra_len, uint8_t *out)
{
  unsigned int n = 0;
  int i = h == VQ_HASH_SHA384 ? 1 : 0;
  if ((th->sel >= 0 && th->sel != i) || !th->md[i]) return VQ_ERR_TLS_INTERNAL_ERROR;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (!c) return VQ_ERR_TLS_INTERNAL_ERROR;
  int ok = EVP_MD_CTX_copy_ex(c, th->md[i]) == 1 &&
           (extra_len == 0 || EVP_DigestUpdate(c, extra, extra_len) == 1) &&
           EVP_DigestFinal_ex(c, out, &n) == 1;
  EVP_MD_CTX_free(c);
  return ok ? VQ_OK : VQ_ERR_TLS_INTERNAL_ERROR;
}

/* spec: rfc8446#4.4.1 — after a HelloRetryRequest, ClientHello1 is replaced by the synthetic
 * message_hash message: handshake type 254, uint24 length Hash.length, Hash(ClientHello1). */
vq_status vq_hs_th_hrr_restart(vq_hs_transcript *th)
{
  uint8_t msg[4 + VQ_SECRET_MAX];
  size_t hl = 0;
  vq_status st = vq_hs_th_hash(th, msg + 4, &hl);
  if (st != VQ_OK) return st;
  msg[0] = VQ_TLS_MESSAGE_HASH;
  msg[1] = 0;
  msg[2] = 0;
  msg[3] = (uint8_t)hl;
  if (EVP_DigestInit_ex(th->md[th->sel], th->sel ? EVP_sha384() : EVP_sha256(), NULL) != 1)
    return VQ_ERR_TLS_INTERNAL_ERROR;
  return vq_hs_th_add(th, msg, 4 + hl);
}

/* ---- key schedule ---------------------------------------------------------------------------- */

/* spec: rfc8446#7.1 — Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label,
 * Transcript-Hash(Messages), Hash.length). */
vq_status vq_hs_derive_secret(vq_hash h, const uint8_t *secret, const char *label, const uint8_t *th,
                              uint8_t *out)
{
  size_t hl = vq_hash_len(h);
  return vq_hkdf_expand_label(h, secret, hl, label, th, hl, out, hl);
}

/* Derive-Secret(., "derived", "") : the transcript is empty, so the context is Hash(""). */
static vq_status derived(vq_hash h, const uint8_t *secret, uint8_t *out)
{
  uint8_t empty_hash[VQ_SECRET_MAX];
  unsigned int n = 0;
  if (EVP_Digest("", 0, empty_hash, &n, md_of(h), NULL) != 1) return VQ_ERR_TLS_INTERNAL_ERROR;
  return vq_hs_derive_secret(h, secret, "derived", empty_hash, out);
}

/* spec: rfc8446#7.1 — Early Secret = HKDF-Extract(0, PSK); without a PSK the IKM is Hash.length
 * zeros (a salt of 0 is Hash.length zeros too). */
vq_status vq_hs_early_secret(vq_hash h, const uint8_t *psk, size_t psk_len, uint8_t *out)
{
  uint8_t zeros[VQ_SECRET_MAX] = {0};
  size_t hl = vq_hash_len(h);
  if (!psk) {
    psk = zeros;
    psk_len = hl;
  }
  return vq_hkdf_extract(h, zeros, hl, psk, psk_len, out, VQ_SECRET_MAX);
}

/* spec: rfc8446#7.1 — Derive-Secret(Early Secret, "derived", "") is the salt of
 * HKDF-Extract(salt, (EC)DHE) = Handshake Secret. */
vq_status vq_hs_handshake_secret_from(vq_hash h, const uint8_t *early, const uint8_t *shared,
                                      size_t shared_len, uint8_t *out)
{
  uint8_t salt[VQ_SECRET_MAX];
  size_t hl = vq_hash_len(h);
  vq_status st = derived(h, early, salt);
  if (st == VQ_OK) st = vq_hkdf_extract(h, salt, hl, shared, shared_len, out, VQ_SECRET_MAX);
  OPENSSL_cleanse(salt, sizeof salt);
  return st;
}

/* spec: rfc8446#7.1 — 0 -> HKDF-Extract = Early Secret (no PSK: IKM is Hash.length zeros);
 * Derive-Secret(., "derived", "") is the salt of HKDF-Extract(salt, (EC)DHE) = Handshake Secret. */
vq_status vq_hs_handshake_secret(vq_hash h, const uint8_t *shared, size_t shared_len, uint8_t *out)
{
  uint8_t early[VQ_SECRET_MAX];
  vq_status st = vq_hs_early_secret(h, NULL, 0, early);
  if (st == VQ_OK) st = vq_hs_handshake_secret_from(h, early, shared, shared_len, out);
  OPENSSL_cleanse(early, sizeof early);
  return st;
}

/* spec: rfc8446#4.2.11.2 — binder_key = Derive-Secret(Early Secret, "res binder", "") for a
 * resumption PSK; the binder is computed like Finished (rfc8446#4.4.4) with binder_key as the base
 * key, over the transcript hash th (of the messages before the ClientHello and the ClientHello
 * truncated before its binders list). */
vq_status vq_hs_binder(vq_hash h, const uint8_t *early, const uint8_t *th, uint8_t *out)
{
  uint8_t empty_hash[VQ_SECRET_MAX], bk[VQ_SECRET_MAX];
  unsigned int n = 0;
  if (EVP_Digest("", 0, empty_hash, &n, md_of(h), NULL) != 1) return VQ_ERR_TLS_INTERNAL_ERROR;
  vq_status st = vq_hs_derive_secret(h, early, "res binder", empty_hash, bk);
  if (st == VQ_OK) st = vq_hs_finished(h, bk, th, out);
  OPENSSL_cleanse(bk, sizeof bk);
  return st;
}

/* spec: rfc8446#7.1 — Derive-Secret(Handshake Secret, "derived", "") -> HKDF-Extract(., 0) =
 * Master Secret. */
vq_status vq_hs_master_secret(vq_hash h, const uint8_t *hs_secret, uint8_t *out)
{
  uint8_t zeros[VQ_SECRET_MAX] = {0}, salt[VQ_SECRET_MAX];
  size_t hl = vq_hash_len(h);
  vq_status st = derived(h, hs_secret, salt);
  if (st == VQ_OK) st = vq_hkdf_extract(h, salt, hl, zeros, hl, out, VQ_SECRET_MAX);
  OPENSSL_cleanse(salt, sizeof salt);
  return st;
}

/* spec: rfc8446#4.4.4 — finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length);
 * verify_data = HMAC(finished_key, Transcript-Hash(...)). */
vq_status vq_hs_finished(vq_hash h, const uint8_t *base_key, const uint8_t *th, uint8_t *out)
{
  uint8_t fk[VQ_SECRET_MAX];
  size_t hl = vq_hash_len(h);
  unsigned int n = 0;
  vq_status st = vq_hkdf_expand_label(h, base_key, hl, "finished", NULL, 0, fk, hl);
  if (st == VQ_OK && (!HMAC(md_of(h), fk, (int)hl, th, hl, out, &n) || n != hl))
    st = VQ_ERR_TLS_INTERNAL_ERROR;
  OPENSSL_cleanse(fk, sizeof fk);
  return st;
}

/* ---- (EC)DHE ---------------------------------------------------------------------------------- */

int vq_hs_group_supported(uint16_t group)
{
  return group == VQ_HS_GROUP_X25519 || group == VQ_HS_GROUP_SECP256R1;
}

/* spec: rfc8446#4.2.8.2 — secp256r1 key_exchange is the uncompressed UncompressedPointRepresentation
 * (0x04 || X || Y, 65 bytes); rfc8446#4.2.8 — X25519 is the 32-byte public value. */
vq_status vq_hs_kx_keygen(uint16_t group, EVP_PKEY **key, uint8_t *pub, size_t *pub_len)
{
  EVP_PKEY *k = NULL;
  size_t n = 0;
  int ok = 0;
  if (group == VQ_HS_GROUP_X25519) {
    k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    n = 32;
    ok = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32;
  } else if (group == VQ_HS_GROUP_SECP256R1) {
    k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ok = k && EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub,
                                              VQ_HS_KX_MAX, &n) == 1 &&
         n == 65 && pub[0] == 4;
  } else {
    return VQ_ERR_TLS_INTERNAL_ERROR;
  }
  if (!ok) {
    EVP_PKEY_free(k);
    return VQ_ERR_TLS_INTERNAL_ERROR;
  }
  *key = k;
  *pub_len = n;
  return VQ_OK;
}

vq_status vq_hs_random(const vq_tls_ctx *ctx, uint8_t *out, size_t len)
{
  if (ctx && ctx->test_random) {
    ctx->test_random(ctx->test_random_ud, out, len);
    return VQ_OK;
  }
  return len <= INT_MAX && RAND_bytes(out, (int)len) == 1 ? VQ_OK : VQ_ERR_INTERNAL;
}

/* A P-256 key whose private scalar is priv[0..32) (big-endian, in [1, n-1]); NULL otherwise. The
 * public point is computed here: OpenSSL 3.0's EVP_PKEY_fromdata does not derive it. */
static EVP_PKEY *p256_from_scalar(const uint8_t priv[32])
{
  EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BIGNUM *d = BN_bin2bn(priv, 32, NULL);
  EC_POINT *q = g ? EC_POINT_new(g) : NULL;
  OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *pc = NULL;
  EVP_PKEY *k = NULL;
  uint8_t pub[65];
  int ok = g && d && q && b && !BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(g)) < 0 &&
           EC_POINT_mul(g, q, d, NULL, NULL, NULL) == 1 &&
           EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, NULL) == 65 &&
           OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
           OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1 &&
           OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub) == 1 &&
           (params = OSSL_PARAM_BLD_to_param(b)) != NULL &&
           (pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
           EVP_PKEY_fromdata_init(pc) == 1 && EVP_PKEY_fromdata(pc, &k, EVP_PKEY_KEYPAIR, params) == 1;
  if (!ok) {
    EVP_PKEY_free(k);
    k = NULL;
  }
  EVP_PKEY_CTX_free(pc);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(b);
  EC_POINT_free(q);
  BN_clear_free(d);
  EC_GROUP_free(g);
  return k;
}

vq_status vq_hs_kx_keygen_ctx(const vq_tls_ctx *ctx, uint16_t group, EVP_PKEY **key, uint8_t *pub,
                              size_t *pub_len)
{
  if (!ctx || !ctx->test_random) return vq_hs_kx_keygen(group, key, pub, pub_len);
  uint8_t priv[32];
  EVP_PKEY *k = NULL;
  size_t n = 0;
  int ok = 0;
  if (group == VQ_HS_GROUP_X25519) {
    (void)vq_hs_random(ctx, priv, sizeof priv);
    k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, sizeof priv);
    n = 32;
    ok = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32;
  } else if (group == VQ_HS_GROUP_SECP256R1) {
    /* rejection sampling: a draw outside [1, n-1] (probability about 2^-32) is drawn again */
    for (int i = 0; i < 64 && !k; i++) {
      (void)vq_hs_random(ctx, priv, sizeof priv);
      k = p256_from_scalar(priv);
    }
    ok = k && EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub,
                                              VQ_HS_KX_MAX, &n) == 1 &&
         n == 65 && pub[0] == 4;
  } else {
    return VQ_ERR_TLS_INTERNAL_ERROR;
  }
  OPENSSL_cleanse(priv, sizeof priv);
  ERR_clear_error();
  if (!ok) {
    EVP_PKEY_free(k);
    return VQ_ERR_TLS_INTERNAL_ERROR;
  }
  *key = k;
  *pub_len = n;
  return VQ_OK;
}

/* spec: rfc8446#7.4.1, rfc8446#7.4.2 — the shared secret: the ECDH x-coordinate / X25519 output.
 * spec: rfc8446#4.2.8.2/1 — the peer's P-256 point is validated (EVP_PKEY_set1_encoded_public_key
 * refuses a point off the curve); a malformed or invalid share is illegal_parameter. */
vq_status vq_hs_kx_derive(EVP_PKEY *key, uint16_t group, const uint8_t *peer, size_t peer_len,
                          uint8_t *shared, size_t *shared_len)
{
  EVP_PKEY *pk = NULL;
  if (group == VQ_HS_GROUP_X25519) {
    if (peer_len != 32) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
    pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, peer_len);
  } else if (group == VQ_HS_GROUP_SECP256R1) {
    if (peer_len != 65 || peer[0] != 4) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
    pk = EVP_PKEY_new();
    if (pk && (EVP_PKEY_copy_parameters(pk, key) != 1 ||
               EVP_PKEY_set1_encoded_public_key(pk, peer, peer_len) != 1)) {
      EVP_PKEY_free(pk);
      return VQ_ERR_TLS_ILLEGAL_PARAMETER;
    }
  } else {
    return VQ_ERR_TLS_INTERNAL_ERROR;
  }
  if (!pk) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
  size_t n = VQ_SECRET_MAX;
  /* spec: rfc8446#7.4.2/3, rfc8446#6/7 — X25519: OpenSSL refuses an all-zero output, so derive
   * failing is the peer's share: illegal_parameter. spec: rfc8446#7.4.2/1 — the ECDH output is
   * the x-coordinate at the field's full length (OpenSSL pads it; never truncated). */
  int ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, pk) == 1 &&
           EVP_PKEY_derive(c, shared, &n) == 1;
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(pk);
  if (!ok) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
  *shared_len = n;
  return VQ_OK;
}
