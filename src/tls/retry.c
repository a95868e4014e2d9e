/* vquic — Retry packet integrity (RFC 9001 §5.8, RFC 9369 §3.3.3): an AES-128-GCM tag over the Retry
 * pseudo-packet with a fixed key and nonce per version. Retry is rare and never on the data path, so the
 * cipher context is created per call. */
#include "vquic/protect.h"

#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* spec: rfc9001#5.8 — K = 0xbe0c690b9f66575a1d766b54e368c84e, N = 0x461599d35d632bf2239825bb
 * spec: rfc9369#3.3.3 — key = 0x8fb4b01b56ac48e260fbcbcead7ccc92, nonce = 0xd86969bc2d7c6d9990efb04a
 * Checked against the values extracted from the RFC texts, and against their derivation from the
 * published secrets, by tests/test_protect.c. */
static const uint8_t key_v1[16] = {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
                                   0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e};
static const uint8_t nonce_v1[12] = {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63,
                                     0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb};
static const uint8_t key_v2[16] = {0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
                                   0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92};
static const uint8_t nonce_v2[12] = {0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c,
                                     0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a};

vq_status vq_retry_key(uint32_t version, const uint8_t **key, const uint8_t **nonce)
{
  if (!key || !nonce) return VQ_ERR_INVALID_ARGUMENT;
  if (version == VQ_QUIC_V1) {
    *key = key_v1;
    *nonce = nonce_v1;
  } else if (version == VQ_QUIC_V2) {
    *key = key_v2;
    *nonce = nonce_v2;
  } else {
    return VQ_ERR_INVALID_ARGUMENT;
  }
  return VQ_OK;
}

/* spec: rfc9001#5.8 — Retry Pseudo-Packet { ODCID Length (8), Original Destination Connection ID
 * (0..160), Header Form (1) = 1, ... Retry Token (..) }: the Retry packet without its tag, prefixed
 * with the ODCID; it is the associated data of AEAD_AES_128_GCM over an empty plaintext. */
vq_status vq_retry_tag_compute(uint32_t version, const uint8_t *odcid, size_t odcid_len,
                               const uint8_t *retry, size_t retry_len, uint8_t tag[VQ_RETRY_TAG_LEN])
{
  const uint8_t *key, *nonce;
  if (vq_retry_key(version, &key, &nonce) != VQ_OK || !tag || !retry || retry_len == 0 ||
      retry_len > INT_MAX || odcid_len > VQ_CID_MAX || (odcid_len && !odcid))
    return VQ_ERR_INVALID_ARGUMENT;
  const uint8_t odcid_len_byte = (uint8_t)odcid_len;
  uint8_t fin[16];
  int outl = 0;
  EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
  EVP_CIPHER_CTX *ctx = c ? EVP_CIPHER_CTX_new() : NULL;
  int ok = ctx && EVP_EncryptInit_ex(ctx, c, NULL, key, nonce) == 1 &&
           EVP_EncryptUpdate(ctx, NULL, &outl, &odcid_len_byte, 1) == 1 &&
           (odcid_len == 0 || EVP_EncryptUpdate(ctx, NULL, &outl, odcid, (int)odcid_len) == 1) &&
           EVP_EncryptUpdate(ctx, NULL, &outl, retry, (int)retry_len) == 1 &&
           EVP_EncryptFinal_ex(ctx, fin, &outl) == 1 && outl == 0 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)VQ_RETRY_TAG_LEN, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(c);
  if (!ok) OPENSSL_cleanse(tag, VQ_RETRY_TAG_LEN);
  return ok ? VQ_OK : (c && ctx ? VQ_ERR_INTERNAL : VQ_ERR_NOMEM);
}

vq_status vq_retry_tag_verify(uint32_t version, const uint8_t *odcid, size_t odcid_len,
                              const uint8_t *pkt, size_t len)
{
  uint8_t tag[VQ_RETRY_TAG_LEN];
  if (!pkt) return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#17.2.5 — the Retry Integrity Tag is the last 128 bits; at least one header byte */
  if (len <= VQ_RETRY_TAG_LEN) return VQ_ERR_PACKET_RETRY;
  vq_status st = vq_retry_tag_compute(version, odcid, odcid_len, pkt, len - VQ_RETRY_TAG_LEN, tag);
  if (st != VQ_OK) return st;
  /* spec: rfc9000#17.2.5.2/3 — a client MUST discard a Retry packet whose integrity tag is invalid
   * (VQ_ERR_RETRY_INTEGRITY: drop the packet) */
  int eq = CRYPTO_memcmp(tag, pkt + len - VQ_RETRY_TAG_LEN, VQ_RETRY_TAG_LEN) == 0;
  return eq ? VQ_OK : VQ_ERR_RETRY_INTEGRITY;
}
