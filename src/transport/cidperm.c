/* vquic — connection IDs as FF1 (NIST SP 800-38G) of a counter; see vquic/cidperm.h. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "vquic/cidperm.h"
#include "vquic/protect.h"

#define HALF_MAX 10u /* bytes of a half: ceil(20 / 2) */

vq_status vq_cidperm_init(vq_cidperm *p, const uint8_t key[VQ_CIDPERM_KEY_LEN])
{
  memset(p, 0, sizeof(*p));
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx)
    return VQ_ERR_NOMEM;
  if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return VQ_ERR_INTERNAL;
  }
  p->ctx = ctx;
  return VQ_OK;
}

vq_status vq_cidperm_init_reset_key(vq_cidperm *p, const uint8_t reset_key[32])
{
  /* spec: rfc9000#10.3.2 — the reset tokens are HMAC(reset_key, cid); the CID key is
   * HKDF-Extract(salt "vq cid", reset_key) = HMAC("vq cid", reset_key) expanded under its own label:
   * another HMAC key, so no token (which the peer learns) says anything about it */
  static const uint8_t salt[] = {'v', 'q', ' ', 'c', 'i', 'd'};
  uint8_t prk[32], key[VQ_CIDPERM_KEY_LEN];
  vq_status st = vq_hkdf_extract(VQ_HASH_SHA256, salt, sizeof(salt), reset_key, 32, prk, sizeof(prk));
  if (st == VQ_OK)
    st = vq_hkdf_expand_label(VQ_HASH_SHA256, prk, sizeof(prk), "vq cid key", NULL, 0, key,
                              sizeof(key));
  if (st == VQ_OK)
    st = vq_cidperm_init(p, key);
  OPENSSL_cleanse(prk, sizeof(prk));
  OPENSSL_cleanse(key, sizeof(key));
  return st;
}

void vq_cidperm_free(vq_cidperm *p)
{
  if (p->ctx)
    EVP_CIPHER_CTX_free(p->ctx);
  OPENSSL_cleanse(p, sizeof(*p));
}

static int aes_block(vq_cidperm *p, const uint8_t in[16], uint8_t out[16])
{
  int n = 0;
  return EVP_EncryptUpdate(p->ctx, out, &n, in, 16) == 1 && n == 16;
}

/* AES_K(P) for n = 8 * len bits, u = n / 2 (SP 800-38G Algorithm 7 step 5, radix 2, no tweak). */
static int p_block(vq_cidperm *p, size_t len)
{
  if (p->p_len == len)
    return 1;
  uint32_t n = (uint32_t)len * 8u, u = n / 2u;
  const uint8_t blk[16] = {1, 2, 1, 0, 0, 2, 10, (uint8_t)u, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
                           (uint8_t)(n >> 8), (uint8_t)n, 0, 0, 0, 0};
  if (!aes_block(p, blk, p->p_mac))
    return 0;
  p->p_len = len;
  return 1;
}

/* The round value y mod 2^m, as hb big-endian bytes (top byte masked by top), of round i with the
 * half h (NUM_2(h) as b = hb bytes: Algorithm 7 steps 6.i-6.iv). */
static int round_y(vq_cidperm *p, uint8_t i, const uint8_t *h, size_t hb, uint8_t top, uint8_t *y)
{
  /* Q = [0]^(15-b) || [i] || [NUM(B)]^b: one block (t = 0, b <= 10); R = AES(AES(P) xor Q) */
  uint8_t q[16] = {0}, r[16];
  q[15 - hb] = i;
  memcpy(q + 16 - hb, h, hb);
  for (size_t k = 0; k < 16; k++)
    q[k] ^= p->p_mac[k];
  if (!aes_block(p, q, r))
    return 0;
  /* S = the first d bytes of R (d = 4 ceil(b/4) + 4 <= 16); y mod 2^m = its last b bytes, masked */
  size_t d = 4u * ((hb + 3u) / 4u) + 4u;
  memcpy(y, r + d - hb, hb);
  y[0] &= top;
  OPENSSL_cleanse(r, sizeof(r));
  return 1;
}

/* Splits the len-byte x into its halves a (the first 4 len bits) and b (the last), each as hb =
 * ceil(len / 2) big-endian bytes. */
static void split(const uint8_t *x, size_t len, uint8_t *a, uint8_t *b)
{
  size_t h = len / 2;
  if (len % 2 == 0) {
    memcpy(a, x, h);
    memcpy(b, x + h, h);
    return;
  }
  a[0] = x[0] >> 4;
  for (size_t k = 1; k <= h; k++)
    a[k] = (uint8_t)(x[k - 1] << 4 | x[k] >> 4);
  b[0] = x[h] & 0x0fu;
  memcpy(b + 1, x + h + 1, h);
}

static void join(const uint8_t *a, const uint8_t *b, size_t len, uint8_t *x)
{
  size_t h = len / 2;
  if (len % 2 == 0) {
    memcpy(x, a, h);
    memcpy(x + h, b, h);
    return;
  }
  for (size_t k = 0; k < h; k++)
    x[k] = (uint8_t)(a[k] << 4 | a[k + 1] >> 4);
  x[h] = (uint8_t)(a[h] << 4 | b[0]);
  memcpy(x + h + 1, b + 1, h);
}

static vq_status ff1(vq_cidperm *p, const uint8_t *in, uint8_t *out, size_t len, int decrypt)
{
  if (!p || !p->ctx || !in || !out || len < 1 || len > VQ_CID_MAX_LEN)
    return VQ_ERR_INVALID_ARGUMENT;
  if (!p_block(p, len))
    return VQ_ERR_INTERNAL;
  size_t hb = (len + 1) / 2;                    /* b: bytes of a half of 4 len bits */
  uint8_t top = len % 2 ? 0x0fu : 0xffu;        /* the half's bits in its first byte */
  uint8_t a[HALF_MAX], b[HALF_MAX], y[HALF_MAX], c[HALF_MAX];
  split(in, len, a, b);
  int ok = 1;
  /* spec: rfc9000#10.3.2/3 — a permutation: decrypting undoes encrypting, so distinct inputs (counter
   * values) give distinct CIDs */
  for (int r = 0; r < 10 && ok; r++) {
    uint8_t i = (uint8_t)(decrypt ? 9 - r : r);
    /* encrypt: C = (A + y(B)) mod 2^m, A = B, B = C; decrypt: C = (B - y(A)) mod 2^m, B = A, A = C
     * (m = 4 len in every round: the halves are equal) */
    ok = round_y(p, i, decrypt ? a : b, hb, top, y);
    unsigned carry = 0;
    for (size_t k = hb; k-- > 0;) {
      if (decrypt) {
        unsigned v = (unsigned)b[k] - y[k] - carry;
        c[k] = (uint8_t)v;
        carry = (v >> 8) & 1u;
      } else {
        unsigned v = (unsigned)a[k] + y[k] + carry;
        c[k] = (uint8_t)v;
        carry = v >> 8;
      }
    }
    c[0] &= top;
    if (decrypt) {
      memcpy(b, a, hb);
      memcpy(a, c, hb);
    } else {
      memcpy(a, b, hb);
      memcpy(b, c, hb);
    }
  }
  if (ok)
    join(a, b, len, out);
  OPENSSL_cleanse(a, sizeof(a));
  OPENSSL_cleanse(b, sizeof(b));
  OPENSSL_cleanse(c, sizeof(c));
  OPENSSL_cleanse(y, sizeof(y));
  return ok ? VQ_OK : VQ_ERR_INTERNAL;
}

vq_status vq_cidperm_encrypt(vq_cidperm *p, const uint8_t *in, uint8_t *out, size_t len)
{
  return ff1(p, in, out, len, 0);
}

vq_status vq_cidperm_decrypt(vq_cidperm *p, const uint8_t *in, uint8_t *out, size_t len)
{
  return ff1(p, in, out, len, 1);
}

/* ---- the minter -------------------------------------------------------------------------------- */

vq_status vq_cid_minter_init(vq_cid_minter *m, const uint8_t reset_key[32], size_t cid_len,
                             uint64_t base, uint64_t end)
{
  memset(m, 0, sizeof(*m));
  if (!reset_key || cid_len < 1 || cid_len > VQ_CID_MAX_LEN)
    return VQ_ERR_INVALID_ARGUMENT;
  uint64_t last = cid_len >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * cid_len)) - 1u;
  if (base > last || (end && (end <= base || end - 1u > last)))
    return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = vq_cidperm_init_reset_key(&m->perm, reset_key);
  if (st != VQ_OK)
    return st;
  m->cid_len = cid_len;
  m->next = base;
  m->last = end ? end - 1u : last;
  return VQ_OK;
}

void vq_cid_minter_free(vq_cid_minter *m)
{
  vq_cidperm_free(&m->perm);
  memset(m, 0, sizeof(*m));
}

vq_status vq_cid_minter_next(vq_cid_minter *m, vq_cid *out, uint64_t *counter)
{
  if (!m || !out || !m->perm.ctx)
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#10.3.2/3, rfc9000#10.3.2/4 — the counter never wraps: once its range is used up
   * no CID is issued rather than one issued before */
  if (m->exhausted)
    return VQ_ERR_CID_EXHAUSTED;
  uint8_t x[VQ_CID_MAX_LEN] = {0};
  uint64_t c = m->next;
  size_t nb = m->cid_len < 8 ? m->cid_len : 8;
  for (size_t k = 0; k < nb; k++)
    x[m->cid_len - 1 - k] = (uint8_t)(c >> (8 * k));
  out->len = (uint8_t)m->cid_len;
  vq_status st = vq_cidperm_encrypt(&m->perm, x, out->bytes, m->cid_len);
  if (st != VQ_OK)
    return st;
  if (c == m->last)
    m->exhausted = 1;
  else
    m->next = c + 1u;
  if (counter)
    *counter = c;
  return VQ_OK;
}

vq_status vq_cid_minter_counter(vq_cid_minter *m, const vq_cid *cid, uint64_t *counter)
{
  if (!m || !cid || !counter || cid->len != m->cid_len)
    return VQ_ERR_INVALID_ARGUMENT;
  uint8_t x[VQ_CID_MAX_LEN];
  vq_status st = vq_cidperm_decrypt(&m->perm, cid->bytes, x, cid->len);
  if (st != VQ_OK)
    return st;
  uint64_t c = 0;
  for (size_t k = 0; k < cid->len; k++) {
    if (k + 8 < cid->len && x[k] != 0)
      return VQ_ERR_INVALID_ARGUMENT;
    c = c << 8 | x[k];
  }
  *counter = c;
  return VQ_OK;
}
