/* vquic — connection IDs that never repeat under one stateless-reset key (RFC 9000 §10.3.2).
 *
 * A server derives each CID's stateless reset token from a static key and the CID, so a CID (with
 * that key) must serve one connection only, ever — not only while the connection lives
 * (rfc9000#10.3.2/3, /4). Random CIDs make a repeat improbable; remembering every CID issued costs
 * memory without bound. Instead the endpoint issues CID = E_K(counter): a keyed pseudorandom
 * PERMUTATION E_K of the cid_len*8-bit strings applied to a per-endpoint counter. Distinct counter
 * values give distinct CIDs, so no CID repeats while the counter does not, with O(1) state; without
 * K the CIDs are indistinguishable from random strings (RFC 9000 §5.1/1: nothing correlates them).
 *
 * E_K is FF1 of NIST SP 800-38G (Algorithm 7) with radix 2: a 10-round Feistel network over the
 * CID's bits split in two halves (cid_len*4 bits each, so not byte-aligned for odd lengths), AES-128
 * under K as the round function, empty tweak. The implementation matches a from-the-standard
 * reference (tests/ff1_kat.py, itself checked against NIST's FF1-AES128 samples) bit for bit. For
 * cid_len 1 and 2 (domains of 2^8 and 2^16) FF1's security claim does not hold (SP 800-38G Rev. 1
 * asks for domains of at least 10^6); there it is still a permutation — uniqueness is kept — but with
 * so few CIDs unlinkability means little anyway.
 *
 * Cost: one AES block per round, 10 per CID (the first block of each round's CBC-MAC is the same
 * for every CID of a length and is computed once), about a microsecond; it runs once per issued CID.
 *
 * K is derived from the endpoint's 32-byte reset key with HKDF under its own salt and label
 * (vq_cidperm_init_reset_key), never the reset key itself: the reset tokens are HMAC(reset_key, cid)
 * (vquic/token.h) and the CID key is HMAC-keyed by the salt "vq cid", so revealing tokens tells
 * nothing about K. */
#ifndef VQUIC_CIDPERM_H
#define VQUIC_CIDPERM_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/cid.h"
#include "vquic/error.h"

#define VQ_CIDPERM_KEY_LEN 16u

typedef struct vq_cidperm {
  void *ctx;          /* libcrypto's EVP_CIPHER_CTX: AES-128-ECB under K, one block at a time */
  size_t p_len;       /* the CID length p_mac is for (0: none yet) */
  uint8_t p_mac[16];  /* AES_K(P): the first CBC-MAC block of every round for CIDs of p_len bytes */
} vq_cidperm;

/* A permutation under the 16-byte key. VQ_ERR_NOMEM / VQ_ERR_INTERNAL from libcrypto. */
vq_status vq_cidperm_init(vq_cidperm *p, const uint8_t key[VQ_CIDPERM_KEY_LEN]);
/* The permutation of an endpoint whose stateless reset key is reset_key (32 bytes): its key is
 * HKDF-Expand-Label(HKDF-Extract(salt "vq cid", reset_key), "vq cid key", "", 16). */
vq_status vq_cidperm_init_reset_key(vq_cidperm *p, const uint8_t reset_key[32]);
void vq_cidperm_free(vq_cidperm *p);
/* out[0..len) = E_K(in[0..len)) (FF1-encrypt), len 1..20; in and out may be the same buffer.
 * VQ_ERR_INVALID_ARGUMENT for another length. */
vq_status vq_cidperm_encrypt(vq_cidperm *p, const uint8_t *in, uint8_t *out, size_t len);
/* out = E_K^-1(in) (FF1-decrypt). */
vq_status vq_cidperm_decrypt(vq_cidperm *p, const uint8_t *in, uint8_t *out, size_t len);

/* ---- the minter: E_K over a counter ------------------------------------------------------------ */

/* Counter value c becomes the cid_len-byte big-endian number c (cid_len >= 8: zeros in front; the
 * counter is 64 bits) and the CID is its permutation. The counter runs over [base, end): end 0 is the
 * end of the domain (2^(8*cid_len) for cid_len < 8, else 2^64). When it is used up the minter fails
 * with VQ_ERR_CID_EXHAUSTED from then on: it never wraps, so it never repeats a CID. */
typedef struct vq_cid_minter {
  vq_cidperm perm;
  size_t cid_len;
  uint64_t next;      /* the counter value of the next CID */
  uint64_t last;      /* the last counter value of the range */
  int exhausted;      /* next went past last */
} vq_cid_minter;

/* VQ_ERR_INVALID_ARGUMENT: cid_len not 1..20, base outside the domain, end (when not 0) not above
 * base or beyond the domain. */
vq_status vq_cid_minter_init(vq_cid_minter *m, const uint8_t reset_key[32], size_t cid_len,
                             uint64_t base, uint64_t end);
void vq_cid_minter_free(vq_cid_minter *m);
/* The next CID (its counter value in *counter when not NULL), or VQ_ERR_CID_EXHAUSTED. */
vq_status vq_cid_minter_next(vq_cid_minter *m, vq_cid *out, uint64_t *counter);
/* The counter value cid was minted from: VQ_OK with *counter, or VQ_ERR_INVALID_ARGUMENT when cid
 * has another length or is no CID of this key's counter domain (its preimage is above 2^64 - 1). */
vq_status vq_cid_minter_counter(vq_cid_minter *m, const vq_cid *cid, uint64_t *counter);

#endif
