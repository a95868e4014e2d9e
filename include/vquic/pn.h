/* vquic — packet number encoding and decoding (RFC 9000 §17.1, Appendix A.2 and A.3). */
#ifndef VQUIC_PN_H
#define VQUIC_PN_H

#include <stddef.h>
#include <stdint.h>
#include "vquic/error.h"

/* The largest packet number: 2^62 - 1 (RFC 9000 §12.3). */
#define VQ_PN_MAX ((uint64_t)4611686018427387903u)
/* "No packet yet": for largest_acked (nothing acknowledged) and largest_pn (nothing received). */
#define VQ_PN_NONE UINT64_MAX

/* Bytes (1..4) needed to send full_pn so that the receiver can reconstruct it, given the largest
 * packet number the peer has acknowledged (VQ_PN_NONE when none): the smallest n with
 * 2^(8n) >= 2 * (full_pn - largest_acked), or 2 * (full_pn + 1) without an acknowledgment
 * (RFC 9000 §17.1, A.2). Returns 0 when full_pn > VQ_PN_MAX, full_pn <= largest_acked, or more than
 * 2^31 packets are unacknowledged (no encoding of at most 4 bytes is unambiguous). */
size_t vq_pn_encode_len(uint64_t full_pn, uint64_t largest_acked);

/* Writes the n (1..4) least significant bytes of full_pn, big-endian, into buf[0..cap).
 * VQ_ERR_INVALID_ARGUMENT for n outside 1..4 or full_pn > VQ_PN_MAX, VQ_ERR_BUFFER_TOO_SMALL when
 * cap < n; nothing is written then. */
vq_status vq_pn_write(uint8_t *buf, size_t cap, uint64_t full_pn, size_t n);

/* Reads an n-byte (1..4) truncated packet number (after header protection is removed) from
 * buf[0..len) into *truncated. VQ_ERR_INVALID_ARGUMENT for n outside 1..4, VQ_ERR_PACKET_TRUNCATED when
 * len < n; *truncated is untouched then. */
vq_status vq_pn_read(const uint8_t *buf, size_t len, size_t n, uint64_t *truncated);

/* Reconstructs the full packet number from an n-byte truncated value and the largest packet number
 * received so far in the space (VQ_PN_NONE if none), per RFC 9000 Appendix A.3: the value congruent to
 * truncated modulo 2^(8n) closest to largest_pn + 1. VQ_ERR_INVALID_ARGUMENT for n outside 1..4,
 * truncated >= 2^(8n) or largest_pn > VQ_PN_MAX (other than VQ_PN_NONE); VQ_ERR_PACKET_NUMBER when the
 * result would exceed 2^62 - 1 (possible only when largest_pn = 2^62 - 1). */
vq_status vq_pn_decode(uint64_t largest_pn, uint64_t truncated, size_t n, uint64_t *full_pn);

#endif
