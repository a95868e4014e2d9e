/* vquic — constant-time helpers for the packet protection path (RFC 9001 §9.5).
 *
 * Secret here is what header protection hides: the unprotected first-byte bits (packet number length,
 * Key Phase, reserved bits), the packet number and its encoded size. Between header protection removal
 * and the AEAD, vquic's own code neither branches on them nor uses them to index memory: comparisons
 * become all-ones / all-zeros masks, and variable lengths become masks over the 4 bytes a packet number
 * may take. `make ct-check` (tests/ct/ct_check.c) verifies it with valgrind's memcheck (the ctgrind
 * technique): the secret bytes are marked undefined, and a branch or an address computed from them is
 * reported. VQ_CT_PUBLIC marks where a value stops being secret on purpose (declassification): before
 * OpenSSL's AEAD (its AES-GCM and ChaCha20-Poly1305 are relied on to be constant-time) and on argument
 * checks whose outcome is the same for every well-formed input. Without VQ_CT_CHECK both macros are
 * no-ops; the ct-check build defines it. */
#ifndef VQUIC_TLS_CT_H
#define VQUIC_TLS_CT_H

#include <stdint.h>

#ifdef VQ_CT_CHECK
#include <valgrind/memcheck.h>
#define VQ_CT_SECRET(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define VQ_CT_PUBLIC(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define VQ_CT_SECRET(p, n) ((void)(p), (void)(n))
#define VQ_CT_PUBLIC(p, n) ((void)(p), (void)(n))
#endif

/* 1 if a < b, else 0, without a comparison instruction the compiler could turn into a branch
 * (BearSSL's LT: the borrow of a - b, corrected where the top bits differ). */
static inline uint64_t vq_ct_lt(uint64_t a, uint64_t b)
{
  const uint64_t z = a - b;
  return (z ^ ((a ^ b) & (b ^ z))) >> 63;
}

/* all ones if bit (0 or 1) is 1, else 0 */
static inline uint64_t vq_ct_mask(uint64_t bit)
{
  return (uint64_t)0 - bit;
}

/* 1 if a == b, else 0 */
static inline uint64_t vq_ct_eq(uint64_t a, uint64_t b)
{
  const uint64_t d = a ^ b;
  return 1u ^ ((d | ((uint64_t)0 - d)) >> 63);
}

/* mask ? a : b, for a mask from vq_ct_mask */
static inline uint64_t vq_ct_sel(uint64_t mask, uint64_t a, uint64_t b)
{
  return b ^ (mask & (a ^ b));
}

#endif
