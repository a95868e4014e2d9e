/* vquic — QPACK (RFC 9204): field compression for HTTP/3.
 *
 * Primitives (src/h3/qpack_prim.c, proved with WP + Eva): prefixed integers (RFC 7541 §5.1 as used
 * by RFC 9204 §4.1.1), string literals with the Huffman code (RFC 9204 §4.1.2, RFC 7541 App. B),
 * Required Insert Count and Base arithmetic (RFC 9204 §4.5.1). */
#ifndef VQUIC_QPACK_H
#define VQUIC_QPACK_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"

#define VQ_QPACK_INT_MAX 4611686018427387903ull /* 2^62 - 1 */

/* ---- primitives --------------------------------------------------------------------------------- */

/* Decodes an integer with an n-bit prefix (1 <= n <= 8) from buf[0 .. len-1]; the bits of buf[0]
 * above the prefix are ignored. VQ_ERR_TRUNCATED if the input ends inside it, VQ_ERR_QPACK_INTEGER if
 * it exceeds 2^62-1 or has more than 9 continuation bytes (no value <= 2^62-1 needs more). */
vq_status vq_qpack_int_decode(const uint8_t *buf, size_t len, unsigned n, uint64_t *v, size_t *used);
/* Encodes v (<= 2^62-1) with an n-bit prefix; `first` holds the instruction bits above the prefix
 * (first % 2^n == 0). */
vq_status vq_qpack_int_encode(uint8_t *buf, size_t cap, unsigned n, uint8_t first, uint64_t v,
                              size_t *used);
/* Bytes vq_qpack_int_encode writes for v with an n-bit prefix (v <= 2^62-1). */
size_t vq_qpack_int_len(unsigned n, uint64_t v);

/* Huffman (RFC 7541 Appendix B). decode: VQ_ERR_QPACK_HUFFMAN for an EOS symbol, padding longer than
 * 7 bits or padding not all ones; VQ_ERR_BUFFER_TOO_SMALL if the output does not fit. */
vq_status vq_qpack_huff_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);
vq_status vq_qpack_huff_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* Length of the Huffman encoding of in[0 .. len-1] (len < 2^48). */
size_t vq_qpack_huff_len(const uint8_t *in, size_t len);

/* String literal (RFC 9204 §4.1.2): the H bit just above an n-bit length prefix (1 <= n <= 7), the
 * length, then the bytes (Huffman-coded if H). Decodes into out; *used is the literal's wire size. */
vq_status vq_qpack_str_decode(const uint8_t *buf, size_t len, unsigned n, uint8_t *out, size_t cap,
                              size_t *out_len, size_t *used);
/* Encodes s with an n-bit length prefix below the H bit; `first` holds the bits above the H bit
 * (first % 2^(n+1) == 0). Huffman-codes s iff huffman != 0. */
vq_status vq_qpack_str_encode(uint8_t *buf, size_t cap, unsigned n, uint8_t first, const uint8_t *s,
                              size_t slen, int huffman, size_t *used);

/* Required Insert Count (RFC 9204 §4.5.1.1). max_entries = floor(MaxTableCapacity / 32). decode:
 * VQ_ERR_QPACK_DECOMPRESSION for the invalid encodings the section lists. */
vq_status vq_qpack_ric_decode(uint64_t encoded, uint64_t max_entries, uint64_t total_inserts,
                              uint64_t *ric);
vq_status vq_qpack_ric_encode(uint64_t ric, uint64_t max_entries, uint64_t *encoded);
/* Base (RFC 9204 §4.5.1.2) from the sign bit and Delta Base; VQ_ERR_QPACK_DECOMPRESSION if negative
 * or out of range. */
vq_status vq_qpack_base_decode(uint64_t ric, int sign, uint64_t delta, uint64_t *base);

#endif
