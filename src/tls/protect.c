/* vquic — installed packet protection keys, AEAD in place (RFC 9001 §5.3), header protection (§5.4),
 * whole-packet protect/unprotect, key update (§6) and AEAD limits (§6.6), on OpenSSL 3.0 libcrypto.
 *
 * Cipher contexts are created when keys are installed and re-initialised per packet with only a new
 * nonce (EVP_*Init_ex with a NULL cipher and key keeps the key schedule), so no packet allocates. */
#include "vquic/protect.h"
#include "vquic/pn.h"

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tls/ct.h"
#include "tls/tls_internal.h"

void vq_pp_key_init(vq_pp_key *k)
{
  if (k) memset(k, 0, sizeof *k);
}

void vq_pp_key_discard(vq_pp_key *k)
{
  if (!k) return;
  EVP_CIPHER_CTX_free(k->aead); /* frees and clears the expanded keys */
  EVP_CIPHER_CTX_free(k->hpctx);
  OPENSSL_cleanse(k, sizeof *k);
}

static const char *aead_name(vq_cipher_suite cs)
{
  switch (cs) {
  case VQ_CS_AES_128_GCM_SHA256: return "AES-128-GCM";
  case VQ_CS_AES_256_GCM_SHA384: return "AES-256-GCM";
  case VQ_CS_CHACHA20_POLY1305_SHA256: return "ChaCha20-Poly1305";
  }
  return NULL;
}

/* spec: rfc9001#5.4.3 — AES-ECB for the AES-based AEADs; rfc9001#5.4.4 — raw ChaCha20 */
static const char *hp_name(vq_cipher_suite cs)
{
  switch (cs) {
  case VQ_CS_AES_128_GCM_SHA256: return "AES-128-ECB";
  case VQ_CS_AES_256_GCM_SHA384: return "AES-256-ECB";
  case VQ_CS_CHACHA20_POLY1305_SHA256: return "ChaCha20";
  }
  return NULL;
}

static EVP_CIPHER_CTX *new_ctx(const char *name, const uint8_t *key, int aead)
{
  EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
  EVP_CIPHER_CTX *ctx = c ? EVP_CIPHER_CTX_new() : NULL;
  int ok = ctx && EVP_EncryptInit_ex(ctx, c, NULL, NULL, NULL) == 1;
  /* spec: rfc9001#5.3 — the AEAD nonce is 12 bytes */
  if (ok && aead) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)VQ_AEAD_IV_LEN, NULL) == 1;
  if (ok) ok = EVP_EncryptInit_ex(ctx, NULL, NULL, key, NULL) == 1;
  if (ok && !aead) ok = EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
  EVP_CIPHER_free(c);
  if (!ok) {
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

/* Installs the keys of secret; if keep_hp is set it is the header protection key (key update). */
static vq_status install(vq_pp_key *k, uint32_t version, vq_cipher_suite cs, const uint8_t *secret,
                         size_t secret_len, const uint8_t *keep_hp)
{
  if (!k || k->installed || k->aead || k->hpctx) return VQ_ERR_INVALID_ARGUMENT;
  vq_key_material m;
  vq_status st = vq_derive_key_material(version, cs, secret, secret_len, &m);
  if (st != VQ_OK) return st;
  if (keep_hp) memcpy(m.hp, keep_hp, m.hp_len);
  k->aead = new_ctx(aead_name(cs), m.key, 1);
  k->hpctx = new_ctx(hp_name(cs), m.hp, 0);
  if (!k->aead || !k->hpctx) {
    vq_key_material_wipe(&m);
    vq_pp_key_discard(k);
    return VQ_ERR_INTERNAL;
  }
  k->version = version;
  k->suite = cs;
  k->secret_len = secret_len;
  memcpy(k->secret, secret, secret_len);
  memcpy(k->iv, m.iv, VQ_AEAD_IV_LEN);
  memcpy(k->hp, m.hp, m.hp_len);
  k->hp_len = m.hp_len;
  k->aead_dir = 1; /* new_ctx initialised it with EVP_EncryptInit_ex */
  k->installed = 1;
  vq_key_material_wipe(&m);
  return VQ_OK;
}

vq_status vq_pp_key_install(vq_pp_key *k, uint32_t version, vq_cipher_suite cs, const uint8_t *secret,
                            size_t secret_len)
{
  return install(k, version, cs, secret, secret_len, NULL);
}

/* spec: rfc9001#5.2 — Initial packets use AEAD_AES_128_GCM with keys from the initial secrets */
vq_status vq_pp_key_install_initial(vq_pp_key *client, vq_pp_key *server, uint32_t version,
                                    const uint8_t *dcid, size_t dcid_len)
{
  uint8_t cs[VQ_INITIAL_SECRET_LEN], ss[VQ_INITIAL_SECRET_LEN];
  if (!client || !server || client == server) return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = vq_initial_secrets(version, dcid, dcid_len, NULL, cs, ss);
  if (st == VQ_OK) st = install(client, version, VQ_CS_AES_128_GCM_SHA256, cs, sizeof cs, NULL);
  if (st == VQ_OK) {
    st = install(server, version, VQ_CS_AES_128_GCM_SHA256, ss, sizeof ss, NULL);
    if (st != VQ_OK) vq_pp_key_discard(client);
  }
  OPENSSL_cleanse(cs, sizeof cs);
  OPENSSL_cleanse(ss, sizeof ss);
  return st;
}

/* spec: rfc9001#6.1 — the next secret uses the "quic ku" label; key and iv are derived from it as in
 * §5.1; the header protection key is not updated (rfc9001#6, rfc9001#5.4) */
vq_status vq_pp_key_update(const vq_pp_key *cur, vq_pp_key *next)
{
  if (!cur || !cur->installed || !next || next == cur) return VQ_ERR_INVALID_ARGUMENT;
  uint8_t ns[VQ_SECRET_MAX];
  vq_status st = vq_next_secret(cur->version, cur->suite, cur->secret, cur->secret_len, ns);
  if (st == VQ_OK) st = install(next, cur->version, cur->suite, ns, cur->secret_len, cur->hp);
  OPENSSL_cleanse(ns, sizeof ns);
  return st;
}

/* ---- AEAD ---------------------------------------------------------------------------------------- */

/* spec: rfc9001#5.3 — the 62 bits of the reconstructed packet number in network byte order are
 * left-padded with zeros to the size of the IV and XORed with the IV to form the nonce */
void vq_aead_nonce(const uint8_t iv[VQ_AEAD_IV_LEN], uint64_t pn, uint8_t nonce[VQ_AEAD_IV_LEN])
{
  memcpy(nonce, iv, VQ_AEAD_IV_LEN);
  for (size_t i = 0; i < 8; i++) nonce[VQ_AEAD_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* Starts one AEAD operation with nonce (and, to open, the expected tag).
 *
 * The cheap path, for AES-GCM in the direction the context was last initialised for: the nonce goes
 * in as the whole IV with one EVP_CIPHER_CTX_set_params (OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED with
 * length (size_t)-1, which OpenSSL's GCM restores as the whole IV, as EVP_CTRL_GCM_SET_IV_FIXED -1
 * does), with the tag in the same call. EVP_CipherInit_ex with an IV costs more in OpenSSL 3.0: each
 * call asks the provider for the IV length (a parameter lookup by name), and the tag is a second
 * lookup; together they were ~12 % of a bulk sender's instructions. Otherwise (ChaCha20-Poly1305, a
 * change of direction, or the cheap path refused) the full re-initialisation, which keeps the key
 * schedule (NULL cipher and key). */
static int aead_start(vq_pp_key *k, int enc, const uint8_t nonce[VQ_AEAD_IV_LEN], uint8_t *tag)
{
  if (k->aead_dir == enc && k->suite != VQ_CS_CHACHA20_POLY1305_SHA256) {
    OSSL_PARAM p[3];
    size_t i = 0;
    p[i++] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, (void *)nonce,
                                               (size_t)-1);
    if (tag) p[i++] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, VQ_AEAD_TAG_LEN);
    p[i] = OSSL_PARAM_construct_end();
    if (EVP_CIPHER_CTX_set_params(k->aead, p) == 1) return 1;
  }
  k->aead_dir = -1;
  if (EVP_CipherInit_ex(k->aead, NULL, NULL, NULL, nonce, enc) != 1) return 0;
  k->aead_dir = enc;
  return !tag || EVP_CIPHER_CTX_ctrl(k->aead, EVP_CTRL_AEAD_SET_TAG, (int)VQ_AEAD_TAG_LEN, tag) == 1;
}

/* Runs the AEAD over buf[hdr_len..hdr_len+n) in place with buf[0..hdr_len) as AAD. */
static int aead_run(vq_pp_key *k, int enc, const uint8_t nonce[VQ_AEAD_IV_LEN], uint8_t *tag, uint8_t *buf,
                    size_t hdr_len, size_t n)
{
  int outl = 0;
  EVP_CIPHER_CTX *ctx = k->aead;
  if (!aead_start(k, enc, nonce, tag)) return 0;
  if (hdr_len && EVP_CipherUpdate(ctx, NULL, &outl, buf, (int)hdr_len) != 1) return 0;
  if (n) {
    if (EVP_CipherUpdate(ctx, buf + hdr_len, &outl, buf + hdr_len, (int)n) != 1) return 0;
    if ((size_t)outl != n) return 0;
  }
  return 1;
}

vq_status vq_aead_seal(vq_pp_key *k, uint64_t pn, uint8_t *buf, size_t cap, size_t hdr_len,
                       size_t payload_len)
{
  if (!k || !k->installed || !buf) return VQ_ERR_INVALID_ARGUMENT;
  if (hdr_len > INT_MAX || payload_len > INT_MAX) return VQ_ERR_INVALID_ARGUMENT;
  if (hdr_len > cap || payload_len > cap - hdr_len || VQ_AEAD_TAG_LEN > cap - hdr_len - payload_len)
    return VQ_ERR_BUFFER_TOO_SMALL;
  uint8_t nonce[VQ_AEAD_IV_LEN], fin[16];
  int outl = 0;
  vq_aead_nonce(k->iv, pn, nonce); /* the nonce is no secret (RFC 5116 §3): not cleansed */
  OSSL_PARAM tp[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, buf + hdr_len + payload_len,
                                                        VQ_AEAD_TAG_LEN),
                      OSSL_PARAM_construct_end()};
  int ok = aead_run(k, 1, nonce, NULL, buf, hdr_len, payload_len) &&
           EVP_EncryptFinal_ex(k->aead, fin, &outl) == 1 && outl == 0 &&
           EVP_CIPHER_CTX_get_params(k->aead, tp) == 1;
  return ok ? VQ_OK : VQ_ERR_INTERNAL;
}

vq_status vq_aead_open(vq_pp_key *k, uint64_t pn, uint8_t *buf, size_t len, size_t hdr_len,
                       size_t *payload_len)
{
  if (!k || !k->installed || !buf || !payload_len) return VQ_ERR_INVALID_ARGUMENT;
  if (len > INT_MAX) return VQ_ERR_INVALID_ARGUMENT;
  if (hdr_len > len || len - hdr_len < VQ_AEAD_TAG_LEN) return VQ_ERR_PACKET_TRUNCATED;
  size_t n = len - hdr_len - VQ_AEAD_TAG_LEN;
  uint8_t nonce[VQ_AEAD_IV_LEN], tag[VQ_AEAD_TAG_LEN], fin[16];
  int outl = 0;
  memcpy(tag, buf + hdr_len + n, sizeof tag);
  vq_aead_nonce(k->iv, pn, nonce);
  vq_status st = VQ_ERR_INTERNAL;
  if (aead_run(k, 0, nonce, tag, buf, hdr_len, n)) {
    if (EVP_DecryptFinal_ex(k->aead, fin, &outl) == 1 && outl == 0) {
      *payload_len = n;
      st = VQ_OK;
    } else {
      /* spec: rfc9001#5.5 — a packet that fails authentication is discarded. GCM and ChaCha20-Poly1305
       * are stream modes: encrypting the unauthenticated plaintext with the same nonce restores the
       * received ciphertext, so nothing unauthenticated is left in the buffer and the caller can try
       * another key phase (rfc9001#6.3). */
      st = aead_run(k, 1, nonce, NULL, buf, hdr_len, n) ? VQ_ERR_DECRYPT : VQ_ERR_INTERNAL;
      if (st == VQ_ERR_INTERNAL) OPENSSL_cleanse(buf + hdr_len, n);
    }
  }
  return st;
}

/* ---- header protection -------------------------------------------------------------------------- */

vq_status vq_hp_mask(vq_pp_key *k, const uint8_t sample[VQ_HP_SAMPLE_LEN], uint8_t mask[VQ_HP_MASK_LEN])
{
  if (!k || !k->installed || !sample || !mask) return VQ_ERR_INVALID_ARGUMENT;
  uint8_t out[VQ_HP_SAMPLE_LEN];
  int outl = 0, ok;
  if (k->suite == VQ_CS_CHACHA20_POLY1305_SHA256) {
    /* spec: rfc9001#5.4.4 — counter = sample[0..3] (little-endian), nonce = sample[4..15],
     * mask = ChaCha20(hp_key, counter, nonce, {0,0,0,0,0}); OpenSSL's 16-byte ChaCha20 IV is exactly
     * the little-endian counter followed by the nonce. */
    static const uint8_t zeros[VQ_HP_MASK_LEN] = {0};
    ok = EVP_EncryptInit_ex(k->hpctx, NULL, NULL, NULL, sample) == 1 &&
         EVP_EncryptUpdate(k->hpctx, out, &outl, zeros, (int)sizeof zeros) == 1 &&
         outl == (int)VQ_HP_MASK_LEN;
  } else {
    /* spec: rfc9001#5.4.3 — mask = AES-ECB(hp_key, sample) */
    ok = EVP_EncryptUpdate(k->hpctx, out, &outl, sample, (int)VQ_HP_SAMPLE_LEN) == 1 &&
         outl == (int)VQ_HP_SAMPLE_LEN;
  }
  if (ok) memcpy(mask, out, VQ_HP_MASK_LEN);
  OPENSSL_cleanse(out, sizeof out);
  return ok ? VQ_OK : VQ_ERR_INTERNAL;
}

/* spec: rfc9001#5.4.2 — the sample starts 4 bytes after the start of the Packet Number field; the
 * packet must hold all 16 bytes of it.
 * spec: rfc9001#5.4.2/1 — a received packet too short for a complete sample is VQ_ERR_HP_SAMPLE,
 * whose disposition is to discard the packet. */
static vq_status sample_mask(vq_pp_key *k, const uint8_t *pkt, size_t len, size_t pn_offset,
                             uint8_t mask[VQ_HP_MASK_LEN])
{
  if (!k || !k->installed || !pkt || pn_offset == 0) return VQ_ERR_INVALID_ARGUMENT;
  if (pn_offset > len || len - pn_offset < VQ_PN_SAMPLE_OFFSET + VQ_HP_SAMPLE_LEN) return VQ_ERR_HP_SAMPLE;
  return vq_hp_mask(k, pkt + pn_offset + VQ_PN_SAMPLE_OFFSET, mask);
}

/* spec: rfc9001#5.4.1 — long header: 4 bits of the first byte are protected; short header: 5 bits.
 * The header form bit is not protected; still computed without a branch (rfc9001#9.5/1). */
static uint8_t first_byte_bits(uint8_t b0)
{
  return (uint8_t)(0x1fu ^ ((unsigned)(b0 >> 7) << 4));
}

/* The low pn_len (1..4) bytes of pn at the top of a 32-bit word: byte i of the pn field is bits
 * 24 - 8i .. 31 - 8i. No expression combines the byte index with pn_len (the compiler would re-base
 * the loop on pn_len, and the addresses would then be computed from it). */
static inline uint64_t pn_top4(uint64_t pn, size_t pn_len)
{
  return (pn << (8u * (4u - pn_len))) & UINT64_C(0xffffffff);
}

/* p[0..4) as a big-endian number */
static inline uint64_t be4(const uint8_t *p)
{
  return ((uint64_t)p[0] << 24) | ((uint64_t)p[1] << 16) | ((uint64_t)p[2] << 8) | p[3];
}

/* Byte i of a 32-bit word (bits 24 - 8i .. 31 - 8i). */
static inline uint8_t byte4(uint64_t w, size_t i)
{
  return (uint8_t)(w >> (24u - 8u * i));
}

/* spec: rfc9001#9.5/1, rfc9001#9.5/2 — the mask is applied to the first byte and to all 4 bytes a
 * packet number may take, each pn byte's mask ANDed with all ones for i < pn_len and zero beyond, so
 * neither a branch nor an index depends on the (secret) packet number length. The 4 bytes exist:
 * the sample starts 4 bytes after pn_offset and lies inside the packet (sample_mask checks it). */
static inline void xor_header(uint8_t *pkt, size_t pn_offset, size_t pn_len, uint8_t first_bits,
                       const uint8_t mask[VQ_HP_MASK_LEN])
{
  /* mask[1..4] as a big-endian word, ANDed with ones over the pn_len bytes */
  const uint64_t m = be4(mask + 1) & pn_top4(UINT64_C(0xffffffff), pn_len);
  uint8_t *p = pkt + pn_offset;
  pkt[0] ^= (uint8_t)(mask[0] & first_bits);
  for (size_t i = 0; i < 4; i++) p[i] ^= byte4(m, i);
}

/* The pn_len (1..4) bytes at p as a big-endian number: the 4 bytes read, shifted right by the bytes
 * beyond pn_len (a shift by a variable amount is not a branch, rfc9001#9.5/1). */
static uint64_t read_pn4(const uint8_t *p, size_t pn_len)
{
  return be4(p) >> (8u * (4u - pn_len));
}

vq_status vq_hp_apply(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset, size_t pn_len)
{
  uint8_t mask[VQ_HP_MASK_LEN];
  if (!pkt || len == 0) return VQ_ERR_INVALID_ARGUMENT;
  /* The argument check, without a branch on the secret pn length until its outcome (the same for
   * every well-formed packet) is declassified. */
  uint64_t bad = (1u ^ vq_ct_lt(pn_len - 1u, 4u)) | (1u ^ vq_ct_eq((uint64_t)(pkt[0] & 0x03) + 1u, pn_len));
  VQ_CT_PUBLIC(&bad, sizeof bad);
  if (bad) return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = sample_mask(k, pkt, len, pn_offset, mask);
  if (st != VQ_OK) return st;
  xor_header(pkt, pn_offset, pn_len, first_byte_bits(pkt[0]), mask);
  OPENSSL_cleanse(mask, sizeof mask);
  return VQ_OK;
}

/* Removes header protection; returns the mask used so that it can be re-applied.
 * spec: rfc9001#9.5/1 — no branch and no memory index depends on the unprotected first byte, the
 * packet number length or the packet number (make ct-check). */
static vq_status hp_remove(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset, size_t *pn_len,
                           uint64_t *truncated_pn, uint8_t mask[VQ_HP_MASK_LEN])
{
  vq_status st = sample_mask(k, pkt, len, pn_offset, mask);
  if (st != VQ_OK) return st;
  /* spec: rfc9001#5.4.1 — pn_length = (packet[0] & 0x03) + 1 after removing the first-byte mask */
  uint8_t bits = first_byte_bits(pkt[0]);
  size_t pl = (size_t)((pkt[0] ^ (mask[0] & bits)) & 0x03) + 1;
  xor_header(pkt, pn_offset, pl, bits, mask);
  *pn_len = pl;
  *truncated_pn = read_pn4(pkt + pn_offset, pl);
  return VQ_OK;
}

vq_status vq_hp_remove(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset, size_t *pn_len,
                       uint64_t *truncated_pn)
{
  uint8_t mask[VQ_HP_MASK_LEN];
  if (!pn_len || !truncated_pn) return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = hp_remove(k, pkt, len, pn_offset, pn_len, truncated_pn, mask);
  OPENSSL_cleanse(mask, sizeof mask);
  return st;
}

/* ---- whole packets ------------------------------------------------------------------------------ */

/* spec: rfc9000#A.3, rfc9001#9.5/1 — vq_pn_decode's reconstruction (src/core/pn.c, proved) without a
 * branch or a memory index on the truncated packet number or its length: the window is a shift by the
 * length, the move by one window up or down is chosen by masks from constant-time comparisons. The
 * guards of A.3 (`candidate_pn < (1 << 62) - pn_win`, `candidate_pn >= pn_win`) are kept. Equal to
 * vq_pn_decode's result wherever that succeeds (tests/test_protect.c: protect_pn_decode_ct_matches_proved). */
uint64_t vq_pn_decode_ct(uint64_t largest_pn, uint64_t truncated, size_t n)
{
  const uint64_t expected = largest_pn == VQ_PN_NONE ? 0u : largest_pn + 1u; /* public state */
  const unsigned bits = 8u * (unsigned)n;
  const uint64_t win = (uint64_t)1 << bits, hwin = win >> 1;
  const uint64_t candidate = ((expected >> bits) << bits) | truncated;
  /* candidate <= expected - hwin (written as !(expected < candidate + hwin)) and room above */
  const uint64_t up = (1u ^ vq_ct_lt(expected, candidate + hwin)) & vq_ct_lt(candidate, VQ_PN_MAX + 1u - win);
  /* candidate > expected + hwin and candidate >= win */
  const uint64_t down = vq_ct_lt(expected + hwin, candidate) & (1u ^ vq_ct_lt(candidate, win));
  return candidate + (vq_ct_mask(up) & win) - (vq_ct_mask(down) & win);
}

/* spec: rfc9000#17.1/2, rfc9001#9.5/2 — vq_pn_encode_len (src/core/pn.c, proved) computed without a
 * branch on the packet number: the smallest n with 2^(8n) >= 2 * num_unacked, as a sum of comparisons;
 * 0 when no encoding of at most 4 bytes is unambiguous or full_pn is out of range. */
size_t vq_pn_encode_len_ct(uint64_t full_pn, uint64_t largest_acked)
{
  const uint64_t none = vq_ct_eq(largest_acked, VQ_PN_NONE);
  /* num_unacked: full_pn + 1 without an acknowledgment, full_pn - largest_acked otherwise */
  const uint64_t unacked = vq_ct_sel(vq_ct_mask(none), full_pn + 1u, full_pn - largest_acked);
  const uint64_t ok = (1u ^ vq_ct_lt(VQ_PN_MAX, full_pn)) & (none | vq_ct_lt(largest_acked, full_pn)) &
                      (1u ^ vq_ct_lt(UINT64_C(2147483648), unacked));
  /* n = 1 + [2u > 2^8] + [2u > 2^16] + [2u > 2^24] */
  const uint64_t n = 1u + vq_ct_lt(128u, unacked) + vq_ct_lt(32768u, unacked) + vq_ct_lt(8388608u, unacked);
  return (size_t)(vq_ct_mask(ok) & n);
}

/* spec: rfc9001#9.5/2 — the low pn_len bytes of pn, big-endian, into buf[0..pn_len): all 4 bytes of
 * buf are visited (buf must hold 4), those beyond pn_len are left as they were. */
void vq_pn_write_ct(uint8_t *buf, uint64_t pn, size_t pn_len)
{
  const uint64_t w = pn_top4(pn, pn_len), lm = pn_top4(UINT64_C(0xffffffff), pn_len);
  for (size_t i = 0; i < 4; i++) buf[i] = (uint8_t)(buf[i] ^ (byte4(lm, i) & (buf[i] ^ byte4(w, i))));
}

/* spec: rfc9001#6.3/1, rfc9001#9.5/1, rfc9001#6.5 — which 1-RTT read keys take a packet, from its Key
 * Phase bit and packet number, without a branch on either. */
unsigned vq_key_phase_select(uint8_t first_byte, unsigned cur_phase, int prev_ok, uint64_t cur_min_pn,
                             uint64_t pn)
{
  const uint64_t flip = (uint64_t)(((first_byte >> 2) ^ cur_phase) & 1u);
  const uint64_t older = (uint64_t)(prev_ok != 0) & vq_ct_lt(pn, cur_min_pn);
  return (unsigned)(vq_ct_mask(flip) & (1u + older));
}

vq_status vq_packet_protect(vq_pp_key *k, uint8_t *pkt, size_t cap, size_t pn_offset, size_t pn_len,
                            uint64_t pn, size_t payload_len, size_t *out_len)
{
  if (!k || !k->installed || !pkt || !out_len || pn_offset == 0) return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9001#9.5/2 — pn and pn_len are secret: the checks below are computed without a branch,
   * and only their outcome (the same for every well-formed packet) is declassified. */
  uint64_t bad = (1u ^ vq_ct_lt(pn_len - 1u, 4u)) | (1u ^ vq_ct_lt(pn, UINT64_C(1) << 62)); /* rfc9000#12.3 */
  VQ_CT_PUBLIC(&bad, sizeof bad);
  if (bad) return VQ_ERR_INVALID_ARGUMENT;
  if (pn_offset > cap || payload_len > cap - pn_offset) return VQ_ERR_BUFFER_TOO_SMALL;
  uint64_t small = vq_ct_lt((uint64_t)(cap - pn_offset - payload_len), (uint64_t)pn_len + VQ_AEAD_TAG_LEN);
  VQ_CT_PUBLIC(&small, sizeof small);
  if (small) return VQ_ERR_BUFFER_TOO_SMALL;
  /* spec: rfc9001#5.4.2 — pn length + payload must give 4 bytes before the sample (pad otherwise);
   * then pkt[pn_offset .. pn_offset + 4) lies in the packet */
  uint64_t short_sample = vq_ct_lt((uint64_t)pn_len + payload_len, VQ_PN_SAMPLE_OFFSET);
  VQ_CT_PUBLIC(&short_sample, sizeof short_sample);
  if (short_sample) return VQ_ERR_HP_SAMPLE;
  /* The header must say what the caller says: pn length in the first byte, pn's low bytes in the field. */
  uint64_t diff = (uint64_t)((pkt[0] & 0x03) + 1u) ^ pn_len;
  diff |= (be4(pkt + pn_offset) ^ pn_top4(pn, pn_len)) & pn_top4(UINT64_C(0xffffffff), pn_len);
  VQ_CT_PUBLIC(&diff, sizeof diff);
  if (diff) return VQ_ERR_INVALID_ARGUMENT;
  size_t hdr_len = pn_offset + pn_len;
  /* The boundary of rfc9001#9.5/2 for vquic's own code: the nonce (from pn), the AAD (the unprotected
   * header) and its length go to OpenSSL's AEAD, whose AES-GCM and ChaCha20-Poly1305 are relied on to
   * be constant-time; in the ct-check build they are declassified here. */
  uint64_t npn = pn;
  size_t aead_hdr_len = hdr_len;
  VQ_CT_PUBLIC(&npn, sizeof npn);
  VQ_CT_PUBLIC(&aead_hdr_len, sizeof aead_hdr_len);
  VQ_CT_PUBLIC(pkt, pn_offset + 4u);
  vq_status st = vq_aead_seal(k, npn, pkt, cap, aead_hdr_len, payload_len);
  if (st != VQ_OK) return st;
  /* the protected packet's length is on the wire: public */
  size_t total = hdr_len + payload_len + VQ_AEAD_TAG_LEN;
  VQ_CT_PUBLIC(&total, sizeof total);
  st = vq_hp_apply(k, pkt, total, pn_offset, pn_len);
  if (st != VQ_OK) return st;
  *out_len = total;
  return VQ_OK;
}

vq_status vq_packet_unprotect_header(vq_pp_key *hp_key, uint8_t *pkt, size_t len, size_t pn_offset,
                                     int64_t largest_pn, vq_unprotected *out,
                                     uint8_t mask[VQ_HP_MASK_LEN])
{
  size_t pn_len = 0;
  uint64_t tpn = 0;
  if (!out || !mask || largest_pn < -1 || largest_pn >= (INT64_C(1) << 62))
    return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = hp_remove(hp_key, pkt, len, pn_offset, &pn_len, &tpn, mask);
  if (st != VQ_OK) return st;
  /* spec: rfc9000#A.3 — the full packet number, by the constant-time form of the proved decoder of
   * src/core/pn.c; spec: rfc9001#9.5/1 — no branch on the packet number before the AEAD. */
  const uint64_t lp = largest_pn < 0 ? VQ_PN_NONE : (uint64_t)largest_pn;
  const uint64_t pn = vq_pn_decode_ct(lp, tpn, pn_len);
  if (lp == VQ_PN_MAX) {
    /* spec: rfc9000#12.3 — only when the largest packet number so far is the last one can the
     * reconstruction pass 2^62-1: then the packet is dropped (this outcome is declassified). */
    uint64_t over = vq_ct_lt(VQ_PN_MAX, pn);
    VQ_CT_PUBLIC(&over, sizeof over);
    if (over) {
      xor_header(pkt, pn_offset, pn_len, first_byte_bits(pkt[0]), mask);
      OPENSSL_cleanse(mask, VQ_HP_MASK_LEN);
      return VQ_ERR_PACKET_NUMBER;
    }
  }
  out->pn = pn;
  out->pn_len = pn_len;
  out->hdr_len = pn_offset + pn_len;
  out->payload_offset = pn_offset + pn_len;
  out->payload_len = 0;
  return VQ_OK;
}

vq_status vq_packet_unprotect_payload(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset,
                                      vq_unprotected *out, uint8_t mask[VQ_HP_MASK_LEN])
{
  size_t plen = 0;
  /* spec: rfc9001#9.5/1 — the boundary for vquic's own code: the packet number (the nonce), the
   * header (the AAD) and its length go to OpenSSL's AEAD, relied on to be constant-time (AES-GCM,
   * ChaCha20-Poly1305); the ct-check build declassifies them here. Whatever the AEAD says, the
   * packet was opened: a duplicate is found only afterwards (the caller's check). */
  VQ_CT_PUBLIC(out, sizeof *out);
  VQ_CT_PUBLIC(pkt, pn_offset + 4u);
  vq_status st = (k && k->installed) ? vq_aead_open(k, out->pn, pkt, len, out->hdr_len, &plen)
                                     : VQ_ERR_DECRYPT;
  if (st != VQ_OK) {
    /* The ciphertext is restored by vq_aead_open; restoring header protection leaves the packet as
     * received (the sample is unchanged, so the mask is the same). */
    xor_header(pkt, pn_offset, out->pn_len, first_byte_bits(pkt[0]), mask);
    OPENSSL_cleanse(mask, VQ_HP_MASK_LEN);
    return st;
  }
  OPENSSL_cleanse(mask, VQ_HP_MASK_LEN);
  out->payload_len = plen;
  /* spec: rfc9000#17.2/9 — reserved bits (0x0c of a long header) non-zero after removing both packet
   * and header protection: PROTOCOL_VIOLATION; spec: rfc9000#17.3.1/3 — the same for 0x18 of a short
   * header */
  if (pkt[0] & ((pkt[0] & 0x80) ? 0x0c : 0x18)) return VQ_ERR_PROTOCOL_VIOLATION;
  return VQ_OK;
}

vq_status vq_packet_unprotect(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset,
                              int64_t largest_pn, vq_unprotected *out)
{
  uint8_t mask[VQ_HP_MASK_LEN];
  vq_status st = vq_packet_unprotect_header(k, pkt, len, pn_offset, largest_pn, out, mask);
  if (st != VQ_OK) return st;
  return vq_packet_unprotect_payload(k, pkt, len, pn_offset, out, mask);
}

/* ---- AEAD limits -------------------------------------------------------------------------------- */

vq_status vq_aead_limits(vq_cipher_suite cs, uint64_t *confidentiality, uint64_t *integrity)
{
  if (!confidentiality || !integrity) return VQ_ERR_INVALID_ARGUMENT;
  switch (cs) {
  case VQ_CS_AES_128_GCM_SHA256:
  case VQ_CS_AES_256_GCM_SHA384:
    /* spec: rfc9001#6.6 — AEAD_AES_128_GCM and AEAD_AES_256_GCM: confidentiality limit 2^23
     * encrypted packets, integrity limit 2^52 invalid packets */
    *confidentiality = UINT64_C(1) << 23;
    *integrity = UINT64_C(1) << 52;
    return VQ_OK;
  case VQ_CS_CHACHA20_POLY1305_SHA256:
    /* spec: rfc9001#6.6 — AEAD_CHACHA20_POLY1305: the confidentiality limit exceeds the 2^62 possible
     * packets and can be disregarded; integrity limit 2^36 invalid packets */
    *confidentiality = UINT64_MAX;
    *integrity = UINT64_C(1) << 36;
    return VQ_OK;
  }
  return VQ_ERR_INVALID_ARGUMENT;
}
