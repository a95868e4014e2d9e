/* vquic — cursor primitives of the TLS handshake codecs: big-endian integers and length-prefixed
 * vectors (RFC 8446 §3.3, §3.4), read and written with range tests and arithmetic (PROOF-STYLE.md). */
#include "msg_internal.h"
#include "msg_acsl.h"

/* spec: rfc8446#3.3 — numbers are big-endian, of 1, 2, 3 or 4 bytes. A reader (b, len, &off) fails
 * without moving when fewer than the needed bytes remain, including when off is already past len. */
/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(off) && \valid(v) && \separated(off, v);
    requires \separated(off, b + (0 .. len - 1)) && \separated(v, b + (0 .. len - 1));
    assigns *off, *v;
    behavior short:
      assumes *off + 1 > len;
      assigns \nothing;
      ensures \result == VQ_ERR_TLS_DECODE;
    behavior ok:
      assumes *off + 1 <= len;
      ensures \result == VQ_OK && *off == \old(*off) + 1;
      ensures *v == b[\old(*off)] && *v < 256;
    complete behaviors; disjoint behaviors; */
vq_status vq_tls_rd_u8(const uint8_t *b, size_t len, size_t *off, uint32_t *v)
{
  size_t o = *off;
  if (len < 1u || o > len - 1u) return VQ_ERR_TLS_DECODE;
  *v = b[o];
  *off = o + 1u;
  return VQ_OK;
}

/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(off) && \valid(v) && \separated(off, v);
    requires \separated(off, b + (0 .. len - 1)) && \separated(v, b + (0 .. len - 1));
    assigns *off, *v;
    behavior short:
      assumes *off + 2 > len;
      assigns \nothing;
      ensures \result == VQ_ERR_TLS_DECODE;
    behavior ok:
      assumes *off + 2 <= len;
      ensures \result == VQ_OK && *off == \old(*off) + 2;
      ensures *v == b[\old(*off)] * 256 + b[\old(*off) + 1] && *v < 65536;
    complete behaviors; disjoint behaviors; */
vq_status vq_tls_rd_u16(const uint8_t *b, size_t len, size_t *off, uint32_t *v)
{
  size_t o = *off;
  if (len < 2u || o > len - 2u) return VQ_ERR_TLS_DECODE;
  *v = (uint32_t)b[o] * 256u + b[o + 1u];
  *off = o + 2u;
  return VQ_OK;
}

/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(off) && \valid(v) && \separated(off, v);
    requires \separated(off, b + (0 .. len - 1)) && \separated(v, b + (0 .. len - 1));
    assigns *off, *v;
    behavior short:
      assumes *off + 3 > len;
      assigns \nothing;
      ensures \result == VQ_ERR_TLS_DECODE;
    behavior ok:
      assumes *off + 3 <= len;
      ensures \result == VQ_OK && *off == \old(*off) + 3;
      ensures *v < 16777216;
    complete behaviors; disjoint behaviors; */
vq_status vq_tls_rd_u24(const uint8_t *b, size_t len, size_t *off, uint32_t *v)
{
  size_t o = *off;
  if (len < 3u || o > len - 3u) return VQ_ERR_TLS_DECODE;
  *v = ((uint32_t)b[o] * 256u + b[o + 1u]) * 256u + b[o + 2u];
  *off = o + 3u;
  return VQ_OK;
}

/*@ requires vq_readable((uint8_t *)b, len);
    requires \valid(off) && \valid(v) && \separated(off, v);
    requires \separated(off, b + (0 .. len - 1)) && \separated(v, b + (0 .. len - 1));
    assigns *off, *v;
    behavior short:
      assumes *off + 4 > len;
      assigns \nothing;
      ensures \result == VQ_ERR_TLS_DECODE;
    behavior ok:
      assumes *off + 4 <= len;
      ensures \result == VQ_OK && *off == \old(*off) + 4;
    complete behaviors; disjoint behaviors; */
vq_status vq_tls_rd_u32(const uint8_t *b, size_t len, size_t *off, uint32_t *v)
{
  size_t o = *off;
  if (len < 4u || o > len - 4u) return VQ_ERR_TLS_DECODE;
  *v = (((uint32_t)b[o] * 256u + b[o + 1u]) * 256u + b[o + 2u]) * 256u + b[o + 3u];
  *off = o + 4u;
  return VQ_OK;
}

/* spec: rfc8446#3.4 — a variable-length vector is prefixed by its length in bytes, in as many bytes
 * as its ceiling needs; a length outside the declared floor..ceiling is malformed (decode_error).
 * On success the contents are b[*start .. *off), also given as the span *out. */
/*@ requires vq_readable((uint8_t *)b, len) && vq_body_len(len);
    requires \valid(off) && \valid(out) && \valid(start) && \separated(off, out, start);
    requires \separated(off, b + (0 .. len - 1)) && \separated(out, b + (0 .. len - 1));
    requires \separated(start, b + (0 .. len - 1));
    requires nlen == 1 || nlen == 2 || nlen == 3;
    assigns *off, *out, *start;
    ensures \result == VQ_OK || \result == VQ_ERR_TLS_DECODE;
    ensures \result == VQ_OK ==> *off <= len;
    ensures \result == VQ_OK ==> *start == \old(*off) + nlen && *off == *start + out->len;
    ensures \result == VQ_OK ==> out->p == b + *start;
    ensures \result == VQ_OK ==> min <= out->len <= max;
    ensures \result == VQ_OK ==> vq_readable((uint8_t *)out->p, out->len);
    ensures \result != VQ_OK ==> *off == \old(*off); */
vq_status vq_tls_rd_vec(const uint8_t *b, size_t len, size_t *off, size_t nlen, uint32_t min,
                        uint32_t max, vq_tls_span *out, size_t *start)
{
  size_t o = *off;
  uint32_t n = 0;
  vq_status st;
  if (nlen == 1u) st = vq_tls_rd_u8(b, len, &o, &n);
  else if (nlen == 2u) st = vq_tls_rd_u16(b, len, &o, &n);
  else st = vq_tls_rd_u24(b, len, &o, &n);
  if (st != VQ_OK) return VQ_ERR_TLS_DECODE;
  if (n < min || n > max) return VQ_ERR_TLS_DECODE;
  size_t end = o + n;
  if (end > len) return VQ_ERR_TLS_DECODE;
  out->p = b + o;
  out->len = n;
  *start = o;
  *off = end;
  return VQ_OK;
}

