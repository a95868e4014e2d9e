/* vquic — writer primitives of the TLS handshake encoders: big-endian integers, byte strings and
 * length-prefixed vectors (RFC 8446 §3.3, §3.4) whose prefixes are reserved and back-patched. A
 * writer is (b, cap, &off); nothing is ever written at or past cap (each assigns at most
 * b[0 .. cap - 1]), and a writer that fails leaves off unchanged. */
#include "msg_internal.h"
#include "msg_acsl.h"

/* spec: rfc8446#3.3 — n-byte big-endian unsigned integers (n = 1..4), by division. */
/*@ requires vq_writable(b, cap);
    requires \valid(off) && \separated(off, b + (0 .. cap - 1));
    requires 1 <= n <= 4;
    requires n == 1 ==> v < 256;
    requires n == 2 ==> v < 65536;
    requires n == 3 ==> v < 16777216;
    assigns *off, b[0 .. cap - 1];
    behavior no_room:
      assumes *off + n > cap;
      assigns \nothing;
      ensures \result == VQ_ERR_BUFFER_TOO_SMALL;
    behavior ok:
      assumes *off + n <= cap;
      ensures \result == VQ_OK && *off == \old(*off) + n;
    complete behaviors; disjoint behaviors; */
vq_status vq_tls_wr_uint(uint8_t *b, size_t cap, size_t *off, size_t n, uint32_t v)
{
  size_t o = *off;
  if (n > cap || o > cap - n) return VQ_ERR_BUFFER_TOO_SMALL;
  uint32_t q1 = v / 256u, q2 = q1 / 256u, q3 = q2 / 256u;
  if (n == 1u) {
    b[o] = (uint8_t)v;
  } else if (n == 2u) {
    b[o] = (uint8_t)q1;
    b[o + 1u] = (uint8_t)(v % 256u);
  } else if (n == 3u) {
    b[o] = (uint8_t)q2;
    b[o + 1u] = (uint8_t)(q1 % 256u);
    b[o + 2u] = (uint8_t)(v % 256u);
  } else {
    b[o] = (uint8_t)(q3 % 256u);
    b[o + 1u] = (uint8_t)(q2 % 256u);
    b[o + 2u] = (uint8_t)(q1 % 256u);
    b[o + 3u] = (uint8_t)(v % 256u);
  }
  *off = o + n;
  return VQ_OK;
}

/*@ requires vq_writable(b, cap);
    requires vq_readable((uint8_t *)src, n);
    requires \valid(off) && \separated(off, b + (0 .. cap - 1));
    assigns *off, b[0 .. cap - 1];
    behavior no_room:
      assumes *off + n > cap;
      assigns \nothing;
      ensures \result == VQ_ERR_BUFFER_TOO_SMALL;
    behavior ok:
      assumes *off + n <= cap;
      ensures \result == VQ_OK && *off == \old(*off) + n;
    complete behaviors; disjoint behaviors; */
vq_status vq_tls_wr_bytes(uint8_t *b, size_t cap, size_t *off, const uint8_t *src, size_t n)
{
  size_t o = *off;
  if (n > cap || o > cap - n) return VQ_ERR_BUFFER_TOO_SMALL;
  /*@ loop invariant 0 <= i <= n;
      loop assigns i, b[0 .. cap - 1];
      loop variant n - i; */
  for (size_t i = 0; i < n; i++) b[o + i] = src[i];
  *off = o + n;
  return VQ_OK;
}

/* A vector with an nlen-byte length prefix; its length must be within [min, max]. */
/*@ requires vq_writable(b, cap);
    requires vq_span_ok(s);
    requires \valid(off) && \separated(off, b + (0 .. cap - 1));
    requires nlen == 1 || nlen == 2 || nlen == 3;
    requires nlen == 1 ==> max < 256;
    requires nlen == 2 ==> max < 65536;
    requires nlen == 3 ==> max < 16777216;
    assigns *off, b[0 .. cap - 1];
    ensures vq_build_status(\result);
    ensures \result == VQ_OK ==> *off == \old(*off) + nlen + s.len && *off <= cap;
    ensures \result != VQ_OK ==> *off == \old(*off); */
vq_status vq_tls_wr_vec(uint8_t *b, size_t cap, size_t *off, size_t nlen, uint32_t min, uint32_t max,
                        vq_tls_span s)
{
  if (s.len < min || s.len > max) return VQ_ERR_INVALID_ARGUMENT;
  size_t o = *off;
  /* o + nlen + s.len <= cap, with each subtraction on the known sizes first: Eva keeps no relation
   * between o and cap, so `cap - nlen - o` after `o <= cap - nlen` looked like it could wrap. */
  if (nlen > cap || s.len > cap - nlen || o > cap - nlen - s.len) return VQ_ERR_BUFFER_TOO_SMALL;
  (void)vq_tls_wr_uint(b, cap, off, nlen, (uint32_t)s.len);
  return vq_tls_wr_bytes(b, cap, off, s.p, s.len);
}

/* Reserves an nlen-byte length prefix at *off (its position goes to *mark). */
/*@ requires vq_writable(b, cap);
    requires \valid(off) && \valid(mark) && \separated(off, mark);
    requires \separated(off, b + (0 .. cap - 1)) && \separated(mark, b + (0 .. cap - 1));
    requires nlen == 1 || nlen == 2 || nlen == 3;
    assigns *off, *mark, b[0 .. cap - 1];
    behavior no_room:
      assumes *off + nlen > cap;
      assigns \nothing;
      ensures \result == VQ_ERR_BUFFER_TOO_SMALL;
    behavior ok:
      assumes *off + nlen <= cap;
      ensures \result == VQ_OK && *off == \old(*off) + nlen && *mark == \old(*off);
    complete behaviors; disjoint behaviors; */
vq_status vq_tls_wr_open(uint8_t *b, size_t cap, size_t *off, size_t nlen, size_t *mark)
{
  size_t o = *off;
  if (nlen > cap || o > cap - nlen) return VQ_ERR_BUFFER_TOO_SMALL;
  *mark = o;
  return vq_tls_wr_uint(b, cap, off, nlen, 0);
}

/* Back-patches the prefix reserved at mark with the length of b[mark + nlen .. off); that length
 * must be within [min, max] (else VQ_ERR_INVALID_ARGUMENT). */
/*@ requires vq_writable(b, cap);
    requires nlen == 1 || nlen == 2 || nlen == 3;
    requires nlen == 1 ==> max < 256;
    requires nlen == 2 ==> max < 65536;
    requires nlen == 3 ==> max < 16777216;
    assigns b[0 .. cap - 1];
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT;
    ensures \result == VQ_OK ==> mark + nlen <= off <= cap && off - mark - nlen <= max; */
vq_status vq_tls_wr_close(uint8_t *b, size_t cap, size_t off, size_t mark, size_t nlen, uint32_t min,
                          uint32_t max)
{
  /* Eva hint: one state per value of mark, so that `mark <= off` bounds off from below in each. */
  /*@ split mark; */
  if (off > cap || mark > off) return VQ_ERR_INVALID_ARGUMENT;
  size_t d = off - mark;
  if (d < nlen) return VQ_ERR_INVALID_ARGUMENT;
  size_t l = d - nlen;
  if (l < min || l > max) return VQ_ERR_INVALID_ARGUMENT;
  size_t m = mark;
  (void)vq_tls_wr_uint(b, cap, &m, nlen, (uint32_t)l); /* fits: mark + nlen <= off <= cap */
  return VQ_OK;
}
