/* vquic — address validation tokens (RFC 9000 §8.1) and stateless reset (RFC 9000 §10.3).
 *
 * Tokens: the server seals, with AES-256-GCM under a key only it knows, what it needs to trust a
 * client's address later — the time it issued the token, and for a Retry token the client's
 * original Destination CID and the Source CID of the Retry (RFC 9000 §7.3: they come back as
 * original_destination_connection_id and retry_source_connection_id) — with the client's address as
 * additional data, so a token is good only from the address it was issued to (§8.1.3, §8.1.4).
 *   token = kind (1) || nonce (12) || AEAD(issued (8) || odcid_len (1) || odcid || rscid_len (1) ||
 *                                          rscid) || tag (16)
 * A NEW_TOKEN token carries no CIDs. The nonce comes from cx->rng: a token need not be unpredictable,
 * only unforgeable, and the key is never reused with a repeated nonce in practice (96 random bits).
 *
 * Stateless reset (§10.3): the token of a CID is HMAC-SHA256(static key, CID) truncated to 16 bytes
 * (§10.3.2: derived, so a server that lost its state can still compute it). */
#ifndef VQUIC_TOKEN_H
#define VQUIC_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/cid.h"
#include "vquic/error.h"
#include "vquic/rt.h"

#define VQ_TOKEN_KEY_LEN 32u
#define VQ_TOKEN_MAX 96u           /* the longest token this module makes */
#define VQ_TOKEN_KIND_RETRY 0x52u  /* 'R' */
#define VQ_TOKEN_KIND_NEW 0x4eu    /* 'N' */
#define VQ_TOKEN_NONCE_LEN 12u     /* the random nonce after the kind byte: unique per token */

struct evp_cipher_ctx_st;
typedef struct vq_token_key {
  uint8_t key[VQ_TOKEN_KEY_LEN];
  struct evp_cipher_ctx_st *ctx;
} vq_token_key;

/* key: 32 secret bytes (from RAND_bytes at server start, or configured to survive restarts). */
vq_status vq_token_key_init(vq_token_key *k, const uint8_t key[VQ_TOKEN_KEY_LEN]);
void vq_token_key_free(vq_token_key *k);

/* Every token is bound to a QUIC version (RFC 9369 §5, §4.1): it opens only with the version it was
 * made for (the version of the Initial a Retry answers; for NEW_TOKEN, the connection's version).
 *
 * A Retry token for a client at addr whose first Initial had odcid; rscid is the Source CID the
 * Retry packet carries. cx gives the time and the nonce. */
vq_status vq_token_make_retry(vq_token_key *k, const vq_cx *cx, uint32_t version,
                              const uint8_t *addr, size_t addr_len, const vq_cid *odcid, const vq_cid *rscid, uint8_t *out, size_t cap,
                              size_t *len);
/* A token for NEW_TOKEN (§8.1.3), good for later connections from addr. */
vq_status vq_token_make_new(vq_token_key *k, const vq_cx *cx, uint32_t version, const uint8_t *addr,
                            size_t addr_len, uint8_t *out, size_t cap, size_t *len);

typedef struct vq_token_info {
  uint8_t kind;          /* VQ_TOKEN_KIND_RETRY or VQ_TOKEN_KIND_NEW */
  vq_time issued;
  vq_cid odcid, rscid;   /* Retry tokens */
  uint8_t nonce[VQ_TOKEN_NONCE_LEN]; /* the token's nonce: what a replay record remembers it by */
} vq_token_info;

/* Opens a token received in an Initial of version from addr at cx->now. VQ_ERR_TOKEN_INVALID when it
 * does not authenticate (not ours, altered, another address, another version, malformed); VQ_ERR_TOKEN_EXPIRED when older than
 * the lifetime of its kind (or issued in the future by more than a second). *info is set on VQ_OK
 * and on VQ_ERR_TOKEN_EXPIRED. */
vq_status vq_token_check(vq_token_key *k, vq_time now, uint32_t version, const uint8_t *addr,
                         size_t addr_len, const uint8_t *token, size_t len, vq_time retry_lifetime,
                         vq_time new_token_lifetime, vq_token_info *info);

/* ---- stateless reset (RFC 9000 §10.3) ---------------------------------------------------------- */

#define VQ_STATELESS_RESET_MIN 21u /* §10.3: 5 unpredictable bytes at least + the 16-byte token */

/* token = HMAC-SHA256(key, cid)[0..16) (§10.3.2). */
vq_status vq_stateless_reset_token(const uint8_t key[VQ_TOKEN_KEY_LEN], const vq_cid *cid,
                                   uint8_t token[16]);
/* A Stateless Reset answering a datagram of trigger_len bytes: shorter than the trigger (so two
 * endpoints can never answer each other forever, §10.3.3), at least VQ_STATELESS_RESET_MIN, random
 * bytes from cx->rng with a short-header first byte (0b01xxxxxx), the token last. *len = 0 when the
 * trigger is too short to answer without breaking those rules. */
vq_status vq_stateless_reset_build(const vq_cx *cx, const uint8_t token[16], size_t trigger_len,
                                   uint8_t *out, size_t cap, size_t *len);

#endif
