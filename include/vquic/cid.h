/* vquic — connection IDs and stateless reset tokens (RFC 9000 §5.1, §10.3). */
#ifndef VQUIC_CID_H
#define VQUIC_CID_H

#include <stddef.h>
#include <stdint.h>
#include "vquic/error.h"

/* spec: rfc9000#17.2 — in QUIC version 1 a connection ID is at most 20 bytes. */
#define VQ_CID_MAX_LEN 20u
/* spec: rfc9000#10.3 — a stateless reset token is 16 bytes. */
#define VQ_RESET_TOKEN_LEN 16u
/* spec: rfc9000#10.3 — the smallest stateless reset: 1 byte + 4 unpredictable bytes + the token. */
#define VQ_STATELESS_RESET_MIN_LEN 21u

/* A connection ID: len (0..20) bytes; bytes past len are unspecified. */
typedef struct vq_cid {
  uint8_t len;
  uint8_t bytes[VQ_CID_MAX_LEN];
} vq_cid;

/* Sets *cid to bytes[0..len). VQ_ERR_INVALID_ARGUMENT when len > 20 (cid untouched). bytes may be
 * NULL when len is 0. */
vq_status vq_cid_set(vq_cid *cid, const uint8_t *bytes, size_t len);

/* 1 when a and b hold the same length and bytes, else 0 (also 0 if either length exceeds 20).
 * Not constant-time: connection IDs are public. */
int vq_cid_equal(const vq_cid *a, const vq_cid *b);

/* 1 when the 16-byte tokens a and b are equal, else 0, in time independent of their contents: every
 * byte is read and the differences are accumulated without data-dependent branches
 * (RFC 9000 §10.3.1: "without leaking information about the value of the token"). */
int vq_reset_token_equal(const uint8_t *a, const uint8_t *b);

/* RFC 9000 §10.3 / §10.3.1: 1 when a datagram could be a Stateless Reset as this version sends them:
 * at least 21 bytes and a short header (header form bit 0). Its token is then the last 16 bytes,
 * dgram + len - 16. */
int vq_stateless_reset_candidate(const uint8_t *dgram, size_t len);

/* RFC 9000 §10.3.1: 1 when the last 16 bytes of a datagram of at least 21 bytes equal token
 * (constant-time comparison). The header form is deliberately not checked: §10.3 says endpoints
 * "MUST treat any packet ending in a valid stateless reset token as a Stateless Reset, as other QUIC
 * versions might allow the use of a long header". */
int vq_stateless_reset_match(const uint8_t *dgram, size_t len, const uint8_t *token);

#endif
