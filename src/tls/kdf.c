/* vquic — HKDF (RFC 5869) and HKDF-Expand-Label (RFC 8446 §7.1) on OpenSSL 3.0 EVP_KDF "HKDF", and the
 * QUIC key derivations built on them: Initial secrets (RFC 9001 §5.2, RFC 9369 §3.3.1), packet and
 * header protection keys (RFC 9001 §5.1, RFC 9369 §3.3.2) and the key update secret (RFC 9001 §6.1). */
#include "vquic/protect.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "tls/tls_internal.h"

size_t vq_hash_len(vq_hash h)
{
  switch (h) {
  case VQ_HASH_SHA256: return 32;
  case VQ_HASH_SHA384: return 48;
  }
  return 0;
}

vq_status vq_suite_hash(vq_cipher_suite cs, vq_hash *h)
{
  switch (cs) {
  case VQ_CS_AES_128_GCM_SHA256:
  case VQ_CS_CHACHA20_POLY1305_SHA256: *h = VQ_HASH_SHA256; return VQ_OK;
  case VQ_CS_AES_256_GCM_SHA384: *h = VQ_HASH_SHA384; return VQ_OK;
  }
  return VQ_ERR_INVALID_ARGUMENT;
}

/* One HKDF operation (mode EXTRACT_ONLY or EXPAND_ONLY). The KDF is fetched per call: derivations
 * happen when keys are installed, never per packet, and nothing is cached in global state. */
static vq_status hkdf(vq_hash h, int mode, const uint8_t *key, size_t key_len, const uint8_t *salt,
                      size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
                      size_t out_len)
{
  char sha256[] = "SHA256", sha384[] = "SHA384";
  char *digest = h == VQ_HASH_SHA256 ? sha256 : h == VQ_HASH_SHA384 ? sha384 : NULL;
  /* OpenSSL rejects an absent key; a zero-length one is passed as a 1-byte buffer of length 0. */
  static const uint8_t empty[1] = {0};
  if (!digest || !out || out_len == 0) return VQ_ERR_INVALID_ARGUMENT;
  if ((key_len && !key) || (salt_len && !salt) || (info_len && !info)) return VQ_ERR_INVALID_ARGUMENT;

  OSSL_PARAM params[6], *p = params;
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(key_len ? key : empty), key_len);
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY)
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(salt_len ? salt : empty),
                                             salt_len);
  else
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(info_len ? info : empty),
                                             info_len);
  *p = OSSL_PARAM_construct_end();

  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  if (!kdf) return VQ_ERR_INTERNAL;
  EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!kctx) return VQ_ERR_NOMEM;
  int ok = EVP_KDF_derive(kctx, out, out_len, params) == 1;
  EVP_KDF_CTX_free(kctx); /* clears the key material it copied */
  if (!ok) {
    OPENSSL_cleanse(out, out_len);
    return VQ_ERR_INTERNAL;
  }
  return VQ_OK;
}

vq_status vq_hkdf_extract(vq_hash h, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                          size_t ikm_len, uint8_t *prk, size_t prk_cap)
{
  size_t hl = vq_hash_len(h);
  if (hl == 0) return VQ_ERR_INVALID_ARGUMENT;
  if (prk_cap < hl) return VQ_ERR_BUFFER_TOO_SMALL;
  return hkdf(h, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, ikm_len, salt, salt_len, NULL, 0, prk, hl);
}

/* spec: rfc8446#7.1 — struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
 * opaque context<0..255>; } HkdfLabel; */
vq_status vq_hkdf_label(uint8_t *out, size_t cap, uint16_t length, const char *label,
                        const uint8_t *context, size_t context_len, size_t *out_len)
{
  static const char prefix[] = "tls13 ";
  const size_t pl = sizeof prefix - 1;
  if (!out || !label || !out_len || (context_len && !context)) return VQ_ERR_INVALID_ARGUMENT;
  size_t ll = strlen(label);
  if (ll > 255 - pl || context_len > 255) return VQ_ERR_INVALID_ARGUMENT;
  size_t n = 2 + 1 + pl + ll + 1 + context_len;
  if (n > cap) return VQ_ERR_BUFFER_TOO_SMALL;
  out[0] = (uint8_t)(length >> 8);
  out[1] = (uint8_t)length;
  out[2] = (uint8_t)(pl + ll);
  memcpy(out + 3, prefix, pl);
  memcpy(out + 3 + pl, label, ll);
  out[3 + pl + ll] = (uint8_t)context_len;
  if (context_len) memcpy(out + 4 + pl + ll, context, context_len);
  *out_len = n;
  return VQ_OK;
}

vq_status vq_hkdf_expand_label(vq_hash h, const uint8_t *secret, size_t secret_len, const char *label,
                               const uint8_t *context, size_t context_len, uint8_t *out,
                               size_t out_len)
{
  uint8_t info[2 + 1 + 255 + 1 + 255];
  size_t il = 0;
  size_t hl = vq_hash_len(h);
  if (hl == 0 || out_len == 0 || out_len > 255 * hl || out_len > UINT16_MAX || !secret)
    return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = vq_hkdf_label(info, sizeof info, (uint16_t)out_len, label, context, context_len, &il);
  if (st != VQ_OK) return st;
  return hkdf(h, EVP_KDF_HKDF_MODE_EXPAND_ONLY, secret, secret_len, NULL, 0, info, il, out, out_len);
}

/* ---- versions ---------------------------------------------------------------------------------- */

int vq_version_supported(uint32_t version)
{
  return version == VQ_QUIC_V1 || version == VQ_QUIC_V2;
}

/* spec: rfc9001#5.2 — initial_salt = 0x38762cf7f55934b34d179ae6a4c80cadccbb7f0a (v1)
 * spec: rfc9369#3.3.1 — initial_salt = 0x0dede3def700a6db819381be6e269dcbf9bd2ed9 (v2)
 * Checked against the values extracted from the RFC texts (spec/vectors/rfc9001-protection.txt,
 * rfc9369-protection.txt) by tests/test_protect.c. */
static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
static const uint8_t salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

const uint8_t *vq_initial_salt(uint32_t version, size_t *len)
{
  const uint8_t *s = version == VQ_QUIC_V1 ? salt_v1 : version == VQ_QUIC_V2 ? salt_v2 : NULL;
  if (len) *len = s ? sizeof salt_v1 : 0;
  return s;
}

const vq_labels *vq_tls_labels(uint32_t version)
{
  /* spec: rfc9001#5.1 — "quic key", "quic iv", "quic hp"; rfc9001#6.1 — "quic ku" */
  static const vq_labels v1 = {"quic key", "quic iv", "quic hp", "quic ku"};
  /* spec: rfc9369#3.3.2 — the labels change to "quicv2 key", "quicv2 iv", "quicv2 hp", "quicv2 ku" */
  static const vq_labels v2 = {"quicv2 key", "quicv2 iv", "quicv2 hp", "quicv2 ku"};
  return version == VQ_QUIC_V1 ? &v1 : version == VQ_QUIC_V2 ? &v2 : NULL;
}

/* spec: rfc9001#5.2/2 — Initial secrets always use TLS 1.3's HKDF-Expand-Label, whatever TLS versions
 * are offered.
 * spec: rfc9001#5.2 — initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id);
 * client/server_initial_secret = HKDF-Expand-Label(initial_secret, "client in"/"server in", "",
 * Hash.length), with SHA-256. The labels are the same in v2 (RFC 9369 §3.3.2 changes only the four
 * packet protection labels). */
vq_status vq_initial_secrets(uint32_t version, const uint8_t *dcid, size_t dcid_len,
                             uint8_t *initial_secret, uint8_t *client_secret, uint8_t *server_secret)
{
  size_t sl = 0;
  const uint8_t *salt = vq_initial_salt(version, &sl);
  if (!salt || dcid_len > VQ_CID_MAX || (dcid_len && !dcid) || !client_secret || !server_secret)
    return VQ_ERR_INVALID_ARGUMENT;
  uint8_t prk[VQ_INITIAL_SECRET_LEN];
  vq_status st = vq_hkdf_extract(VQ_HASH_SHA256, salt, sl, dcid, dcid_len, prk, sizeof prk);
  if (st == VQ_OK)
    st = vq_hkdf_expand_label(VQ_HASH_SHA256, prk, sizeof prk, "client in", NULL, 0, client_secret,
                              VQ_INITIAL_SECRET_LEN);
  if (st == VQ_OK)
    st = vq_hkdf_expand_label(VQ_HASH_SHA256, prk, sizeof prk, "server in", NULL, 0, server_secret,
                              VQ_INITIAL_SECRET_LEN);
  if (st == VQ_OK && initial_secret) memcpy(initial_secret, prk, sizeof prk);
  if (st != VQ_OK) {
    OPENSSL_cleanse(client_secret, VQ_INITIAL_SECRET_LEN);
    OPENSSL_cleanse(server_secret, VQ_INITIAL_SECRET_LEN);
  }
  OPENSSL_cleanse(prk, sizeof prk);
  return st;
}

vq_status vq_tls_suite_lengths(vq_cipher_suite cs, size_t *key_len, size_t *hp_len)
{
  switch (cs) {
  /* spec: rfc9001#5.4.3 — AEAD_AES_128_GCM uses AES-128-ECB, AEAD_AES_256_GCM AES-256-ECB */
  case VQ_CS_AES_128_GCM_SHA256: *key_len = 16; *hp_len = 16; return VQ_OK;
  case VQ_CS_AES_256_GCM_SHA384: *key_len = 32; *hp_len = 32; return VQ_OK;
  /* spec: rfc9001#5.4.4 — ChaCha20 header protection uses a 256-bit key */
  case VQ_CS_CHACHA20_POLY1305_SHA256: *key_len = 32; *hp_len = 32; return VQ_OK;
  }
  return VQ_ERR_INVALID_ARGUMENT;
}

/* spec: rfc9001#5.1 — key, iv and hp are derived from a secret with HKDF-Expand-Label and the
 * "quic key" / "quic iv" / "quic hp" labels; the iv is 12 bytes (rfc9001#5.3, all QUIC AEADs). */
vq_status vq_derive_key_material(uint32_t version, vq_cipher_suite cs, const uint8_t *secret,
                                 size_t secret_len, vq_key_material *out)
{
  vq_hash h;
  const vq_labels *lb = vq_tls_labels(version);
  if (!out) return VQ_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  if (!lb || vq_suite_hash(cs, &h) != VQ_OK || !secret || secret_len != vq_hash_len(h))
    return VQ_ERR_INVALID_ARGUMENT;
  out->suite = cs;
  vq_status st = vq_tls_suite_lengths(cs, &out->key_len, &out->hp_len);
  if (st == VQ_OK)
    st = vq_hkdf_expand_label(h, secret, secret_len, lb->key, NULL, 0, out->key, out->key_len);
  if (st == VQ_OK)
    st = vq_hkdf_expand_label(h, secret, secret_len, lb->iv, NULL, 0, out->iv, VQ_AEAD_IV_LEN);
  if (st == VQ_OK)
    st = vq_hkdf_expand_label(h, secret, secret_len, lb->hp, NULL, 0, out->hp, out->hp_len);
  if (st != VQ_OK) vq_key_material_wipe(out);
  return st;
}

void vq_key_material_wipe(vq_key_material *m)
{
  if (m) OPENSSL_cleanse(m, sizeof *m);
}

/* spec: rfc9001#6.1 — secret_<n+1> = HKDF-Expand-Label(secret_<n>, "quic ku", "", Hash.length)
 * spec: rfc9369#3.3.2 — "quicv2 ku" in version 2 */
vq_status vq_next_secret(uint32_t version, vq_cipher_suite cs, const uint8_t *secret,
                         size_t secret_len, uint8_t *next)
{
  vq_hash h;
  const vq_labels *lb = vq_tls_labels(version);
  if (!lb || vq_suite_hash(cs, &h) != VQ_OK || !secret || !next || secret_len != vq_hash_len(h))
    return VQ_ERR_INVALID_ARGUMENT;
  uint8_t tmp[VQ_SECRET_MAX];
  vq_status st = vq_hkdf_expand_label(h, secret, secret_len, lb->ku, NULL, 0, tmp, secret_len);
  if (st == VQ_OK) memcpy(next, tmp, secret_len);
  OPENSSL_cleanse(tmp, sizeof tmp);
  return st;
}
