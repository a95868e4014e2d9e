/* vquic — QUIC variable-length integers (RFC 9000 §16). */
#ifndef VQUIC_VARINT_H
#define VQUIC_VARINT_H

#include <stddef.h>
#include <stdint.h>
#include "vquic/error.h"

/* The largest value a varint holds: 2^62 - 1. */
#define VQ_VARINT_MAX ((uint64_t)4611686018427387903u)

/* Bytes needed to encode v in the shortest form (1, 2, 4 or 8); 0 when v > VQ_VARINT_MAX. */
size_t vq_varint_len(uint64_t v);

/* Length of the varint whose first byte is b0 (1, 2, 4 or 8), from its two top bits. */
size_t vq_varint_len_of_first(uint8_t b0);

/* Decodes one varint from buf[0..len). On VQ_OK, *v holds the value and *used the bytes read.
 * VQ_ERR_TRUNCATED when len is too short; *v and *used are then left unchanged. */
vq_status vq_varint_decode(const uint8_t *buf, size_t len, uint64_t *v, size_t *used);

/* Encodes v in the shortest form into buf[0..cap). VQ_ERR_INVALID_ARGUMENT when v > VQ_VARINT_MAX,
 * VQ_ERR_BUFFER_TOO_SMALL when it does not fit; nothing is written then. */
vq_status vq_varint_encode(uint8_t *buf, size_t cap, uint64_t v, size_t *used);

/* Encodes v in exactly n bytes (n = 1, 2, 4 or 8, n >= vq_varint_len(v)): the non-minimal forms that
 * RFC 9000 §16 allows (e.g. a 2-byte Length field reserved before the payload is known). */
vq_status vq_varint_encode_n(uint8_t *buf, size_t cap, uint64_t v, size_t n);

#endif
