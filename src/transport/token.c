/* vquic — address validation tokens and stateless reset (see vquic/token.h). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "vquic/token.h"

#define NONCE_LEN VQ_TOKEN_NONCE_LEN
#define TAG_LEN 16u

vq_status vq_token_key_init(vq_token_key *k, const uint8_t key[VQ_TOKEN_KEY_LEN])
{
  memset(k, 0, sizeof(*k));
  memcpy(k->key, key, VQ_TOKEN_KEY_LEN);
  k->ctx = EVP_CIPHER_CTX_new();
  if (!k->ctx)
    return VQ_ERR_NOMEM;
  return VQ_OK;
}

void vq_token_key_free(vq_token_key *k)
{
  if (k->ctx)
    EVP_CIPHER_CTX_free(k->ctx);
  OPENSSL_cleanse(k->key, sizeof(k->key));
  k->ctx = NULL;
}

static void put64(uint8_t *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

/* Seals plain[0..plen) into out (kind, nonce, ciphertext, tag). */
static void put32(uint8_t *p, uint32_t v)
{
  for (int i = 3; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static vq_status seal(vq_token_key *k, const vq_cx *cx, uint8_t kind, uint32_t version,
                      const uint8_t *addr, size_t addr_len, const uint8_t *plain, size_t plen, uint8_t *out, size_t cap,
                      size_t *len)
{
  size_t need = 1 + NONCE_LEN + plen + TAG_LEN;
  if (!cx->rng)
    return VQ_ERR_INVALID_ARGUMENT;
  if (cap < need)
    return VQ_ERR_BUFFER_TOO_SMALL;
  /* spec: rfc9000#8.1.1/1 — the first byte tells a Retry token from a NEW_TOKEN one; spec:
   * rfc9000#8.1.4/1, rfc9000#8.1.4/2 — a random nonce and AES-256-GCM under the server's key make it
   * hard to guess and protect it (kind, address and content) against modification */
  out[0] = kind;
  vq_rng_fill(cx->rng, out + 1, NONCE_LEN);
  /* spec: rfc9369#5/2, rfc9369#4.1/3 — the QUIC version of the connection it was issued for is
   * authenticated data too: it opens only in an Initial of that version */
  uint8_t aad[5];
  aad[0] = kind;
  put32(aad + 1, version);
  int n = 0, ok = EVP_EncryptInit_ex(k->ctx, EVP_aes_256_gcm(), NULL, k->key, out + 1) == 1 &&
                  EVP_EncryptUpdate(k->ctx, NULL, &n, aad, sizeof(aad)) == 1 &&
                  (addr_len == 0 || EVP_EncryptUpdate(k->ctx, NULL, &n, addr, (int)addr_len) == 1) &&
                  EVP_EncryptUpdate(k->ctx, out + 1 + NONCE_LEN, &n, plain, (int)plen) == 1 &&
                  EVP_EncryptFinal_ex(k->ctx, out + 1 + NONCE_LEN + n, &n) == 1 &&
                  EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                                      out + 1 + NONCE_LEN + plen) == 1;
  if (!ok)
    return VQ_ERR_INTERNAL;
  *len = need;
  return VQ_OK;
}

static size_t put_cid(uint8_t *p, const vq_cid *c)
{
  p[0] = c ? c->len : 0;
  if (c && c->len)
    memcpy(p + 1, c->bytes, c->len);
  return 1u + (c ? c->len : 0u);
}

vq_status vq_token_make_retry(vq_token_key *k, const vq_cx *cx, uint32_t version,
                              const uint8_t *addr, size_t addr_len, const vq_cid *odcid, const vq_cid *rscid, uint8_t *out, size_t cap,
                              size_t *len)
{
  uint8_t plain[8 + 2 + 2 * VQ_CID_MAX_LEN];
  put64(plain, cx->now);
  size_t n = 8;
  n += put_cid(plain + n, odcid);
  n += put_cid(plain + n, rscid);
  return seal(k, cx, VQ_TOKEN_KIND_RETRY, version, addr, addr_len, plain, n, out, cap, len);
}

vq_status vq_token_make_new(vq_token_key *k, const vq_cx *cx, uint32_t version, const uint8_t *addr,
                            size_t addr_len, uint8_t *out, size_t cap, size_t *len)
{
  /* spec: rfc9000#8.1.4/4 — bound to the client's address (authenticated data); spec:
   * rfc9000#8.1.3/6 — only an encrypted timestamp under a fresh random nonce: nothing links it to
   * the connection */
  uint8_t plain[8];
  put64(plain, cx->now);
  return seal(k, cx, VQ_TOKEN_KIND_NEW, version, addr, addr_len, plain, sizeof(plain), out, cap, len);
}

static int get_cid(const uint8_t *p, size_t len, size_t *off, vq_cid *c)
{
  if (*off >= len)
    return 0;
  size_t l = p[*off];
  if (l > VQ_CID_MAX_LEN || *off + 1 + l > len)
    return 0;
  if (vq_cid_set(c, p + *off + 1, l) != VQ_OK)
    return 0;
  *off += 1 + l;
  return 1;
}

vq_status vq_token_check(vq_token_key *k, vq_time now, uint32_t version, const uint8_t *addr,
                         size_t addr_len, const uint8_t *token, size_t len, vq_time retry_lifetime,
                         vq_time new_token_lifetime, vq_token_info *info)
{
  memset(info, 0, sizeof(*info));
  if (len < 1 + NONCE_LEN + 8 + TAG_LEN || len > VQ_TOKEN_MAX)
    return VQ_ERR_TOKEN_INVALID;
  uint8_t kind = token[0];
  if (kind != VQ_TOKEN_KIND_RETRY && kind != VQ_TOKEN_KIND_NEW)
    return VQ_ERR_TOKEN_INVALID;
  size_t clen = len - 1 - NONCE_LEN - TAG_LEN;
  uint8_t plain[VQ_TOKEN_MAX];
  uint8_t tag[TAG_LEN];
  memcpy(tag, token + len - TAG_LEN, TAG_LEN);
  uint8_t aad[5];
  aad[0] = kind;
  put32(aad + 1, version);
  int n = 0, ok = EVP_DecryptInit_ex(k->ctx, EVP_aes_256_gcm(), NULL, k->key, token + 1) == 1 &&
                  EVP_DecryptUpdate(k->ctx, NULL, &n, aad, sizeof(aad)) == 1 &&
                  (addr_len == 0 || EVP_DecryptUpdate(k->ctx, NULL, &n, addr, (int)addr_len) == 1) &&
                  EVP_DecryptUpdate(k->ctx, plain, &n, token + 1 + NONCE_LEN, (int)clen) == 1 &&
                  EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
                  EVP_DecryptFinal_ex(k->ctx, plain + n, &n) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain, sizeof(plain));
    return VQ_ERR_TOKEN_INVALID;
  }
  info->kind = kind;
  info->issued = get64(plain);
  memcpy(info->nonce, token + 1, NONCE_LEN);
  size_t off = 8;
  if (kind == VQ_TOKEN_KIND_RETRY) {
    if (!get_cid(plain, clen, &off, &info->odcid) || !get_cid(plain, clen, &off, &info->rscid))
      return VQ_ERR_TOKEN_INVALID;
  }
  if (off != clen)
    return VQ_ERR_TOKEN_INVALID;
  /* spec: rfc9000#8.1.3 — tokens carry an expiration: a Retry token is short-lived, a NEW_TOKEN
   * token lives longer */
  vq_time life = kind == VQ_TOKEN_KIND_RETRY ? retry_lifetime : new_token_lifetime;
  if (info->issued > now + VQ_MS(1000) || (now > info->issued && now - info->issued > life))
    return VQ_ERR_TOKEN_EXPIRED;
  return VQ_OK;
}

vq_status vq_stateless_reset_token(const uint8_t key[VQ_TOKEN_KEY_LEN], const vq_cid *cid,
                                   uint8_t token[16])
{
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mlen = 0;
  /* spec: rfc9000#10.3.2 — a token derived from a static key and the connection ID; spec:
   * rfc9000#10.3.2/1 — an HMAC under a secret key is hard to guess; spec: rfc9000#10.3.2/5 — each
   * connection ID gets its own token */
  if (!HMAC(EVP_sha256(), key, VQ_TOKEN_KEY_LEN, cid->bytes, cid->len, mac, &mlen) || mlen < 16)
    return VQ_ERR_INTERNAL;
  memcpy(token, mac, 16);
  OPENSSL_cleanse(mac, sizeof(mac));
  return VQ_OK;
}

vq_status vq_stateless_reset_build(const vq_cx *cx, const uint8_t token[16], size_t trigger_len,
                                   uint8_t *out, size_t cap, size_t *len)
{
  *len = 0;
  if (!cx->rng)
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#10.3.3/1, rfc9000#10.3/6 — smaller than the packet that triggered it, so resets
   * cannot loop (and never amplify) */
  if (trigger_len <= VQ_STATELESS_RESET_MIN)
    return VQ_OK;
  size_t n = trigger_len - 1;
  if (n > 43)
    n = 43 + (size_t)vq_rng_below(cx->rng, 8); /* not much larger than a short packet */
  if (n >= trigger_len)
    n = trigger_len - 1;
  if (cap < n)
    return VQ_ERR_BUFFER_TOO_SMALL;
  vq_rng_fill(cx->rng, out, n - 16);
  /* spec: rfc9000#10.3/8, rfc9000#10.3/3 — it looks like a short header packet: 0b01 then
   * unpredictable bits */
  out[0] = (uint8_t)(0x40u | (out[0] & 0x3fu));
  memcpy(out + n - 16, token, 16);
  *len = n;
  return VQ_OK;
}
