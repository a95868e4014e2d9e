/* vquic — QUIC packet protection (RFC 9001 §5, §6; RFC 9369 §3.3) on OpenSSL 3.0 libcrypto.
 *
 * Layers, lowest first:
 *   - HKDF-Extract and HKDF-Expand-Label (RFC 8446 §7.1) over SHA-256 / SHA-384;
 *   - Initial secrets (RFC 9001 §5.2, RFC 9369 §3.3.1) and per-version key/iv/hp/ku labels
 *     (RFC 9001 §5.1, §6.1; RFC 9369 §3.3.2);
 *   - vq_pp_key: the keys of one direction and one key phase, with their cipher contexts created once at
 *     install and reused for every packet (no per-packet allocation);
 *   - AEAD seal/open in place (RFC 9001 §5.3), header protection (§5.4), and the whole-packet
 *     vq_packet_protect / vq_packet_unprotect;
 *   - key update (§6), Retry integrity (§5.8, RFC 9369 §3.3.3), AEAD limits (§6.6).
 *
 * Nothing here keeps global state or allocates per packet. Secrets and keys are wiped (OPENSSL_cleanse)
 * when a vq_pp_key is discarded and on every internal scratch buffer. */
#ifndef VQUIC_PROTECT_H
#define VQUIC_PROTECT_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"

/* QUIC versions whose packet protection is implemented. */
#define VQ_QUIC_V1 0x00000001u /* RFC 9000 */
#define VQ_QUIC_V2 0x6b3343cfu /* RFC 9369 §3.1 */

/* TLS 1.3 cipher suites (RFC 8446 §B.4 code points) usable with QUIC (RFC 9001 §5.3). The suite fixes
 * the AEAD, the header protection cipher (§5.4.3, §5.4.4) and the HKDF hash. */
typedef enum vq_cipher_suite {
  VQ_CS_AES_128_GCM_SHA256 = 0x1301,
  VQ_CS_AES_256_GCM_SHA384 = 0x1302,
  VQ_CS_CHACHA20_POLY1305_SHA256 = 0x1303,
} vq_cipher_suite;

typedef enum vq_hash {
  VQ_HASH_SHA256 = 1,
  VQ_HASH_SHA384 = 2,
} vq_hash;

#define VQ_SECRET_MAX 48u     /* SHA-384 output */
#define VQ_AEAD_KEY_MAX 32u
#define VQ_AEAD_IV_LEN 12u    /* RFC 9001 §5.3: all QUIC AEADs use a 12-byte nonce */
#define VQ_AEAD_TAG_LEN 16u   /* all QUIC AEADs expand the payload by 16 bytes */
#define VQ_HP_KEY_MAX 32u
#define VQ_HP_SAMPLE_LEN 16u  /* RFC 9001 §5.4.2 */
#define VQ_HP_MASK_LEN 5u
#define VQ_PN_SAMPLE_OFFSET 4u /* RFC 9001 §5.4.2: the sample starts 4 bytes after the pn field */
#define VQ_CID_MAX 20u
#define VQ_INITIAL_SECRET_LEN 32u /* RFC 9001 §5.2: SHA-256 */

/* ---- HKDF (RFC 5869, RFC 8446 §7.1) ---------------------------------------------------------------- */

/* Output length of the hash, 0 if unknown. */
size_t vq_hash_len(vq_hash h);
/* The hash of a cipher suite's HKDF. VQ_ERR_INVALID_ARGUMENT for an unknown suite. */
vq_status vq_suite_hash(vq_cipher_suite cs, vq_hash *h);

/* PRK = HKDF-Extract(salt, ikm); prk_cap must be >= vq_hash_len(h); writes exactly that many bytes. */
vq_status vq_hkdf_extract(vq_hash h, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                          size_t ikm_len, uint8_t *prk, size_t prk_cap);

/* The HkdfLabel structure of RFC 8446 §7.1 ("tls13 " + label); out_len receives its length.
 * VQ_ERR_INVALID_ARGUMENT if label or context is too long for the structure's length bytes. */
vq_status vq_hkdf_label(uint8_t *out, size_t cap, uint16_t length, const char *label,
                        const uint8_t *context, size_t context_len, size_t *out_len);

/* out = HKDF-Expand-Label(secret, label, context, out_len) (RFC 8446 §7.1). out_len <= 255 * hash. */
vq_status vq_hkdf_expand_label(vq_hash h, const uint8_t *secret, size_t secret_len, const char *label,
                               const uint8_t *context, size_t context_len, uint8_t *out,
                               size_t out_len);

/* ---- Versions, Initial secrets ------------------------------------------------------------------ */

/* 1 if packet protection for this version is implemented (v1 and v2), 0 otherwise. */
int vq_version_supported(uint32_t version);

/* The Initial salt of a version (RFC 9001 §5.2, RFC 9369 §3.3.1), NULL for unknown versions. */
const uint8_t *vq_initial_salt(uint32_t version, size_t *len);

/* client/server_initial_secret (RFC 9001 §5.2) for the client's first Destination Connection ID.
 * Each output is VQ_INITIAL_SECRET_LEN bytes. initial_secret may be NULL (the PRK, for tests). */
vq_status vq_initial_secrets(uint32_t version, const uint8_t *dcid, size_t dcid_len,
                             uint8_t *initial_secret, uint8_t *client_secret, uint8_t *server_secret);

/* Raw key material of one secret: what vq_pp_key_install derives. Wipe with vq_key_material_wipe. */
typedef struct vq_key_material {
  vq_cipher_suite suite;
  size_t key_len;
  size_t hp_len;
  uint8_t key[VQ_AEAD_KEY_MAX];
  uint8_t iv[VQ_AEAD_IV_LEN];
  uint8_t hp[VQ_HP_KEY_MAX];
} vq_key_material;

/* key, iv and hp from a traffic secret with the version's labels: "quic key"/"quic iv"/"quic hp"
 * (RFC 9001 §5.1) or "quicv2 key"/"quicv2 iv"/"quicv2 hp" (RFC 9369 §3.3.2). */
vq_status vq_derive_key_material(uint32_t version, vq_cipher_suite cs, const uint8_t *secret,
                                 size_t secret_len, vq_key_material *out);
void vq_key_material_wipe(vq_key_material *m);

/* The next generation secret of a key update: HKDF-Expand-Label(secret, "quic ku" / "quicv2 ku", "",
 * Hash.length) (RFC 9001 §6.1, RFC 9369 §3.3.2). next may alias secret. */
vq_status vq_next_secret(uint32_t version, vq_cipher_suite cs, const uint8_t *secret,
                         size_t secret_len, uint8_t *next);

/* ---- Installed keys --------------------------------------------------------------------------- */

struct evp_cipher_ctx_st; /* OpenSSL's EVP_CIPHER_CTX */

/* The packet protection keys of one direction and one key phase. The caller owns the storage; all
 * fields are private. Zero-initialise (or vq_pp_key_init) before install; vq_pp_key_discard frees the
 * cipher contexts and wipes the secret and keys. */
typedef struct vq_pp_key {
  uint32_t version;
  vq_cipher_suite suite;
  int installed;
  size_t secret_len;
  uint8_t secret[VQ_SECRET_MAX]; /* kept for the next key update (RFC 9001 §6.1) */
  uint8_t iv[VQ_AEAD_IV_LEN];
  uint8_t hp[VQ_HP_KEY_MAX];     /* kept: a key update does not change it (RFC 9001 §6) */
  size_t hp_len;
  struct evp_cipher_ctx_st *aead;
  struct evp_cipher_ctx_st *hpctx;
  int aead_dir;                  /* 1: aead is initialised for sealing, 0: for opening */
} vq_pp_key;

void vq_pp_key_init(vq_pp_key *k);
/* Derives key, iv and hp from secret and creates the cipher contexts. k must not be installed. */
vq_status vq_pp_key_install(vq_pp_key *k, uint32_t version, vq_cipher_suite cs, const uint8_t *secret,
                            size_t secret_len);
/* Both directions' Initial keys (AES-128-GCM, RFC 9001 §5.2) for the client's first DCID. */
vq_status vq_pp_key_install_initial(vq_pp_key *client, vq_pp_key *server, uint32_t version,
                                    const uint8_t *dcid, size_t dcid_len);
/* Installs into next the keys of the next key phase of cur (RFC 9001 §6): the secret is advanced with
 * the "ku" label, key and iv are derived from it, the header protection key is kept unchanged. */
vq_status vq_pp_key_update(const vq_pp_key *cur, vq_pp_key *next);
/* Frees the contexts and wipes secret and keys; k is left uninstalled (safe to call twice). */
void vq_pp_key_discard(vq_pp_key *k);

/* ---- AEAD (RFC 9001 §5.3) --------------------------------------------------------------------- */

/* nonce = iv XOR the packet number left-padded to 12 bytes (RFC 9001 §5.3). */
void vq_aead_nonce(const uint8_t iv[VQ_AEAD_IV_LEN], uint64_t pn, uint8_t nonce[VQ_AEAD_IV_LEN]);

/* Seals in place: buf[0..hdr_len) is the header (AAD), buf[hdr_len..hdr_len+payload_len) the
 * plaintext, which is encrypted in place and followed by the 16-byte tag; cap must hold it all. */
vq_status vq_aead_seal(vq_pp_key *k, uint64_t pn, uint8_t *buf, size_t cap, size_t hdr_len,
                       size_t payload_len);
/* Opens in place: buf[0..hdr_len) is the (unprotected) header, then ciphertext and tag up to len.
 * On success *payload_len is the plaintext length (at buf + hdr_len). On VQ_ERR_DECRYPT the buffer is
 * restored to the ciphertext it held, so the caller may try another key (RFC 9001 §6.3).
 * VQ_ERR_PACKET_TRUNCATED if len - hdr_len cannot hold the tag. */
vq_status vq_aead_open(vq_pp_key *k, uint64_t pn, uint8_t *buf, size_t len, size_t hdr_len,
                       size_t *payload_len);

/* ---- Header protection (RFC 9001 §5.4) -------------------------------------------------------- */

/* mask = AES-ECB(hp, sample)[0..5] or ChaCha20(hp, counter = sample[0..3], nonce = sample[4..15],
 * 5 zero bytes) (§5.4.3, §5.4.4). */
vq_status vq_hp_mask(vq_pp_key *k, const uint8_t sample[VQ_HP_SAMPLE_LEN], uint8_t mask[VQ_HP_MASK_LEN]);
/* Applies header protection to pkt[0..len) whose pn field (pn_len bytes) starts at pn_offset: the
 * sample is pkt[pn_offset+4 .. +16). VQ_ERR_HP_SAMPLE if len cannot hold the sample. */
vq_status vq_hp_apply(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset, size_t pn_len);
/* Removes header protection: unmasks the first byte, reads the pn length from it (§17.2/§17.3 of
 * RFC 9000: low 2 bits + 1), unmasks that many pn bytes. Outputs the pn length and truncated pn.
 * VQ_ERR_HP_SAMPLE (packet dropped) if len cannot hold the sample; pkt is then untouched. */
vq_status vq_hp_remove(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset, size_t *pn_len,
                       uint64_t *truncated_pn);

/* ---- Whole packets ---------------------------------------------------------------------------- */

/* Protects a packet built in place: pkt[0..pn_offset+pn_len) is the header, whose first byte encodes
 * pn_len and whose pn field holds the low pn_len bytes of pn; then payload_len bytes of plaintext.
 * Encrypts the payload in place, appends the tag and applies header protection. *out_len is the
 * protected packet's length (pn_offset + pn_len + payload_len + 16 <= cap). VQ_ERR_HP_SAMPLE if the
 * payload is too short for the sample (the builder must pad, RFC 9001 §5.4.2);
 * VQ_ERR_INVALID_ARGUMENT if the header disagrees with pn / pn_len. */
vq_status vq_packet_protect(vq_pp_key *k, uint8_t *pkt, size_t cap, size_t pn_offset, size_t pn_len,
                            uint64_t pn, size_t payload_len, size_t *out_len);

typedef struct vq_unprotected {
  uint64_t pn;             /* the full, reconstructed packet number */
  size_t pn_len;           /* 1..4, from the unprotected first byte */
  size_t hdr_len;          /* pn_offset + pn_len: the header is pkt[0..hdr_len) */
  size_t payload_offset;   /* == hdr_len */
  size_t payload_len;      /* plaintext length (the tag is not counted) */
} vq_unprotected;

/* Unprotects a received packet in place: pkt[0..len) is this packet only (for a long header, up to the
 * end given by its Length field; for a short header, the rest of the datagram); pn_offset comes from
 * the header parser; largest_pn is the largest pn received in the space (-1 if none). Removes header
 * protection, reconstructs the pn, decrypts; on success *out describes header, pn and payload.
 * Failures drop the packet: VQ_ERR_HP_SAMPLE (too short; pkt untouched), VQ_ERR_DECRYPT (pkt restored
 * to the bytes received; also VQ_ERR_PACKET_NUMBER when the pn would pass 2^62-1).
 * VQ_ERR_PROTOCOL_VIOLATION if the packet authenticated but its reserved
 * bits are not zero (RFC 9000 §17.2, §17.3.1); *out is then filled in. */
vq_status vq_packet_unprotect(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset,
                              int64_t largest_pn, vq_unprotected *out);

/* The two halves of vq_packet_unprotect, so that a receiver can choose the packet protection key from
 * the unprotected Key Phase bit and packet number with one AEAD attempt (RFC 9001 §6.3, §6.5; the
 * header protection key does not change with a key update). vq_packet_unprotect_header removes
 * header protection with hp_key and recovers the packet number (out->pn, pn_len, hdr_len); mask keeps
 * the mask for the second half (VQ_ERR_PACKET_NUMBER, packet untouched, if the pn would pass 2^62-1).
 * vq_packet_unprotect_payload decrypts with k (VQ_ERR_DECRYPT when k is not installed) and, on
 * failure, restores the packet to the bytes received; its results are those of vq_packet_unprotect.
 * Both wipe mask when they fail, the second always. */
vq_status vq_packet_unprotect_header(vq_pp_key *hp_key, uint8_t *pkt, size_t len, size_t pn_offset,
                                     int64_t largest_pn, vq_unprotected *out,
                                     uint8_t mask[VQ_HP_MASK_LEN]);
vq_status vq_packet_unprotect_payload(vq_pp_key *k, uint8_t *pkt, size_t len, size_t pn_offset,
                                      vq_unprotected *out, uint8_t mask[VQ_HP_MASK_LEN]);

/* ---- Constant-time pieces of the packet path (RFC 9001 §9.5) ---------------------------------- */

/* vq_pn_decode (RFC 9000 A.3) without a branch or memory index on truncated or n: for 1 <= n <= 4,
 * truncated < 2^(8n), largest_pn <= VQ_PN_MAX or VQ_PN_NONE. The result equals vq_pn_decode's where
 * that succeeds; it exceeds VQ_PN_MAX (vq_pn_decode: VQ_ERR_PACKET_NUMBER) only when largest_pn is
 * VQ_PN_MAX. */
uint64_t vq_pn_decode_ct(uint64_t largest_pn, uint64_t truncated, size_t n);
/* vq_pn_encode_len (RFC 9000 §17.1, A.2) without a branch on full_pn: the same result, 0 included. */
size_t vq_pn_encode_len_ct(uint64_t full_pn, uint64_t largest_acked);
/* Writes the low pn_len (1..4) bytes of pn big-endian into buf[0..pn_len) without a branch or index
 * on pn or pn_len; buf must hold 4 bytes (those beyond pn_len keep their value). */
void vq_pn_write_ct(uint8_t *buf, uint64_t pn, size_t pn_len);
/* Which 1-RTT read keys take a packet (RFC 9001 §6.3, §6.5), from the unprotected first byte (its Key
 * Phase bit) and the packet number, without a branch on either: 0 the current keys (the bit equals
 * cur_phase), else 2 the previous keys when prev_ok and pn < cur_min_pn, else 1 the next keys. */
unsigned vq_key_phase_select(uint8_t first_byte, unsigned cur_phase, int prev_ok, uint64_t cur_min_pn,
                             uint64_t pn);

/* ---- Retry integrity (RFC 9001 §5.8, RFC 9369 §3.3.3) ---------------------------------------- */

#define VQ_RETRY_TAG_LEN 16u

/* The fixed AES-128-GCM key (16 bytes) and nonce (12 bytes) of a version; VQ_ERR_INVALID_ARGUMENT for
 * unknown versions. */
vq_status vq_retry_key(uint32_t version, const uint8_t **key, const uint8_t **nonce);
/* tag = AES-128-GCM(key, nonce, plaintext "", AAD = ODCID Length || ODCID || retry[0..retry_len)),
 * where retry is the Retry packet without its tag. */
vq_status vq_retry_tag_compute(uint32_t version, const uint8_t *odcid, size_t odcid_len,
                               const uint8_t *retry, size_t retry_len,
                               uint8_t tag[VQ_RETRY_TAG_LEN]);
/* Verifies the last 16 bytes of pkt[0..len) (a whole Retry packet) in constant time. VQ_OK or
 * VQ_ERR_RETRY_INTEGRITY (drop, RFC 9000 §17.2.5.2); VQ_ERR_PACKET_RETRY if too short. */
vq_status vq_retry_tag_verify(uint32_t version, const uint8_t *odcid, size_t odcid_len,
                              const uint8_t *pkt, size_t len);

/* ---- AEAD limits (RFC 9001 §6.6) ------------------------------------------------------------- */

/* confidentiality: packets that may be encrypted with one key (UINT64_MAX: no limit applies, the
 * limit exceeds the 2^62 possible packets); integrity: packets failing authentication in a
 * connection before it must be closed with AEAD_LIMIT_REACHED. */
vq_status vq_aead_limits(vq_cipher_suite cs, uint64_t *confidentiality, uint64_t *integrity);

#endif
