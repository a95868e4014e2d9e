/* vquic — QPACK primitives, written for WP and Eva (PROOF-STYLE.md: range tests and arithmetic, no
 * shifts or masks, bounded loops, no recursion):
 *   prefixed integers (RFC 7541 §5.1, RFC 9204 §4.1.1), Huffman decoding by a table-driven state
 *   machine over the code tree and Huffman encoding (RFC 7541 Appendix B, RFC 9204 §4.1.2), string
 *   literals with the H bit (RFC 9204 §4.1.2), Required Insert Count and Base (RFC 9204 §4.5.1). */
#include "vquic/qpack.h"
#include "h3/qpack_huff_table.h"
#include "h3/qpack_acsl.h"

#define QP_INT_MAX 4611686018427387903ull

/* 2^n - 1: the largest value an n-bit prefix holds. */
/*@ requires 1 <= n <= 8;
    assigns \nothing;
    ensures \result == vq_qp_pow2(n) - 1; */
static uint32_t prefix_max(unsigned n)
{
  if (n == 1) return 1u;
  if (n == 2) return 3u;
  if (n == 3) return 7u;
  if (n == 4) return 15u;
  if (n == 5) return 31u;
  if (n == 6) return 63u;
  if (n == 7) return 127u;
  return 255u;
}

/* spec: rfc9204#4.1.1/1 — integers use the prefixed encoding of RFC 7541 §5.1; QPACK implementations
 * must decode integers up to 62 bits and treat larger ones as an error. */
/*@ requires 1 <= n <= 8;
    requires vq_readable(buf, len);
    requires \valid(v) && \valid(used) && \separated(v, used);
    requires \separated(v, buf + (0 .. len - 1)) && \separated(used, buf + (0 .. len - 1));
    assigns *v, *used;
    behavior empty:
      assumes len == 0;
      assigns \nothing;
      ensures \result == VQ_ERR_TRUNCATED;
    behavior short_form:
      assumes len > 0 && buf[0] % vq_qp_pow2(n) < vq_qp_pow2(n) - 1;
      ensures \result == VQ_OK && *used == 1 && *v == buf[0] % vq_qp_pow2(n);
    behavior long_form:
      assumes len > 0 && buf[0] % vq_qp_pow2(n) == vq_qp_pow2(n) - 1;
      ensures \result == VQ_OK || \result == VQ_ERR_TRUNCATED || \result == VQ_ERR_QPACK_INTEGER;
      ensures \result == VQ_OK ==> 2 <= *used <= 10 && *used <= len;
      ensures \result == VQ_OK ==> vq_qp_pow2(n) - 1 <= *v <= vq_qp_int_max;
      ensures \result == VQ_OK ==> buf[*used - 1] < 128;
    complete behaviors; disjoint behaviors; */
vq_status vq_qpack_int_decode(const uint8_t *buf, size_t len, unsigned n, uint64_t *v, size_t *used)
{
  if (len == 0) return VQ_ERR_TRUNCATED;
  const uint32_t maxp = prefix_max(n);
  uint64_t x = buf[0] % (maxp + 1u);
  if (x < maxp) {
    *v = x;
    *used = 1;
    return VQ_OK;
  }
  uint64_t mult = 1;
  size_t i = 1;
  /*@ loop invariant 1 <= i <= 10;
      loop invariant mult == vq_qp_pow128(i - 1);
      loop invariant maxp <= x <= vq_qp_int_max;
      loop assigns i, x, mult;
      loop variant 10 - i; */
  while (i < 10) {
    if (i >= len) return VQ_ERR_TRUNCATED;
    const uint8_t b = buf[i];
    const uint64_t digit = b < 128u ? b : (uint64_t)(b - 128u);
    x = x + digit * mult;
    if (x > QP_INT_MAX) return VQ_ERR_QPACK_INTEGER;
    i++;
    if (b < 128u) {
      *v = x;
      *used = i;
      return VQ_OK;
    }
    mult = mult * 128u;
  }
  /* A tenth continuation byte: no value <= 2^62-1 needs it. */
  return VQ_ERR_QPACK_INTEGER;
}

/*@ requires 1 <= n <= 8;
    assigns \nothing;
    ensures 1 <= \result <= 10; */
size_t vq_qpack_int_len(unsigned n, uint64_t v)
{
  const uint32_t maxp = prefix_max(n);
  if (v < maxp) return 1;
  uint64_t r = v - maxp;
  size_t k = 2;
  /*@ loop invariant 2 <= k <= 10;
      loop assigns r, k;
      loop variant r; */
  while (r >= 128u && k < 10) {
    r = r / 128u;
    k++;
  }
  return k;
}

/*@ requires 1 <= n <= 8;
    requires vq_writable(buf, cap);
    requires \valid(used) && \separated(used, buf + (0 .. cap - 1));
    assigns buf[0 .. cap - 1], *used;
    behavior bad:
      assumes v > 4611686018427387903 || first % vq_qp_pow2(n) != 0;
      assigns \nothing;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
    behavior short_form:
      assumes v < vq_qp_pow2(n) - 1 && first % vq_qp_pow2(n) == 0;
      ensures cap >= 1 ==> \result == VQ_OK && *used == 1 && buf[0] == first + v;
      ensures cap == 0 ==> \result == VQ_ERR_BUFFER_TOO_SMALL;
    behavior long_form:
      assumes vq_qp_pow2(n) - 1 <= v <= 4611686018427387903 && first % vq_qp_pow2(n) == 0;
      ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL;
      ensures \result == VQ_OK ==> 2 <= *used <= cap && buf[0] == first + vq_qp_pow2(n) - 1;
    complete behaviors; disjoint behaviors; */
vq_status vq_qpack_int_encode(uint8_t *buf, size_t cap, unsigned n, uint8_t first, uint64_t v,
                              size_t *used)
{
  const uint32_t maxp = prefix_max(n);
  /* The instruction bits must leave the prefix clear (then first <= 255 - maxp). */
  if (v > QP_INT_MAX || first > 255u - maxp || first % (maxp + 1u) != 0u) return VQ_ERR_INVALID_ARGUMENT;
  if (cap < 1) return VQ_ERR_BUFFER_TOO_SMALL;
  if (v < maxp) {
    buf[0] = (uint8_t)(first + v);
    *used = 1;
    return VQ_OK;
  }
  buf[0] = (uint8_t)(first + maxp);
  uint64_t r = v - maxp;
  size_t i = 1;
  /*@ loop invariant 1 <= i <= cap;
      loop invariant buf[0] == first + maxp;
      loop assigns r, i, buf[1 .. cap - 1];
      loop variant r; */
  while (r >= 128u) {
    if (i >= cap) return VQ_ERR_BUFFER_TOO_SMALL;
    buf[i] = (uint8_t)(128u + r % 128u);
    r = r / 128u;
    i++;
  }
  if (i >= cap) return VQ_ERR_BUFFER_TOO_SMALL;
  buf[i] = (uint8_t)r;
  *used = i + 1;
  return VQ_OK;
}

/* spec: rfc9204#4.1.2 — Huffman-coded strings use the code of RFC 7541 Appendix B.
 * spec: rfc9204#4.1.2 — (RFC 7541 §5.2) padding longer than 7 bits, padding that is not the most significant bits of
 * EOS (all ones), or an EOS symbol in the string must be treated as a decoding error.
 * The state machine walks the code tree one input bit at a time: `node` is an internal node
 * (< 256), a leaf emits a byte and returns to the root; `pad` counts the bits read since the last
 * symbol (saturating at 8) and `ones` whether they were all ones. */
/*@ requires from <= to;
    requires vq_readable(in, to);
    requires vq_writable(out, cap);
    requires \valid(out_len);
    requires \separated(out_len, out + (0 .. cap - 1), in + (0 .. to - 1));
    requires \separated(out + (0 .. cap - 1), in + (0 .. to - 1));
    assigns out[0 .. cap - 1], *out_len;
    ensures \result == VQ_OK || \result == VQ_ERR_QPACK_HUFFMAN || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> *out_len <= cap; */
static vq_status huff_decode_range(const uint8_t *in, size_t from, size_t to, uint8_t *out, size_t cap,
                                   size_t *out_len)
{
  uint32_t node = 0, pad = 0, ones = 1;
  size_t o = 0;
  /*@ loop invariant from <= i <= to;
      loop invariant node < 256 && pad <= 8 && ones <= 1;
      loop invariant o <= cap;
      loop assigns i, node, pad, ones, o, out[0 .. cap - 1];
      loop variant to - i; */
  for (size_t i = from; i < to; i++) {
    uint32_t b = in[i];
    /*@ loop invariant 0 <= k <= 8;
        loop invariant b <= 255;
        loop invariant node < 256 && pad <= 8 && ones <= 1;
        loop invariant o <= cap;
        loop assigns k, b, node, pad, ones, o, out[0 .. cap - 1];
        loop variant 8 - k; */
    for (uint32_t k = 0; k < 8; k++) {
      uint32_t bit;
      if (b >= 128u) {
        bit = 1;
        b = (b - 128u) * 2u;
      } else {
        bit = 0;
        b = b * 2u;
      }
      const uint32_t nx = vq_qpack_huff_tree[node][bit];
      if (nx < 256u) {
        node = nx;
        pad = pad < 8u ? pad + 1u : 8u;
        ones = bit == 0u ? 0u : ones;
      } else if (nx < 512u) {
        if (o >= cap) return VQ_ERR_BUFFER_TOO_SMALL;
        out[o] = (uint8_t)(nx - 256u);
        o++;
        node = 0;
        pad = 0;
        ones = 1;
      } else {
        return VQ_ERR_QPACK_HUFFMAN; /* EOS */
      }
    }
  }
  if (pad > 7u || ones == 0u) return VQ_ERR_QPACK_HUFFMAN;
  *out_len = o;
  return VQ_OK;
}

/*@ requires vq_readable(in, len);
    requires vq_writable(out, cap);
    requires \valid(out_len);
    requires \separated(out_len, out + (0 .. cap - 1), in + (0 .. len - 1));
    requires \separated(out + (0 .. cap - 1), in + (0 .. len - 1));
    assigns out[0 .. cap - 1], *out_len;
    ensures \result == VQ_OK || \result == VQ_ERR_QPACK_HUFFMAN || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> *out_len <= cap; */
vq_status vq_qpack_huff_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
  return huff_decode_range(in, 0, len, out, cap, out_len);
}

/*@ requires vq_readable(in, len);
    requires len <= 281474976710656;
    assigns \nothing;
    ensures \result <= len * 32; */
size_t vq_qpack_huff_len(const uint8_t *in, size_t len)
{
  uint64_t bits = 0;
  /*@ loop invariant 0 <= i <= len;
      loop invariant bits <= i * 255;
      loop assigns i, bits;
      loop variant len - i; */
  for (size_t i = 0; i < len; i++) {
    bits += vq_qpack_huff_bits[in[i]];
  }
  return (size_t)((bits + 7u) / 8u);
}

/* Bits of each code are taken most significant first from the left-aligned code word and shifted
 * into `cur` (its low 7 bits kept: at most 7 bits are pending); the last byte is padded with the most
 * significant bits of EOS (ones), rfc7541#5.2. Writes out[from .. to-1]; *end is one past the last
 * byte written. */
/*@ requires vq_readable(in, len);
    requires from <= to;
    requires vq_writable(out, to);
    requires \valid(end);
    requires \separated(end, out + (0 .. to - 1), in + (0 .. len - 1));
    requires \separated(out + (0 .. to - 1), in + (0 .. len - 1));
    assigns out[from .. to - 1], *end;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> from <= *end <= to; */
static vq_status huff_encode_range(const uint8_t *in, size_t len, uint8_t *out, size_t from, size_t to,
                                   size_t *end)
{
  uint32_t cur = 0, nb = 0;
  size_t o = from;
  /*@ loop invariant 0 <= i <= len;
      loop invariant nb <= 7 && cur <= 255;
      loop invariant from <= o <= to;
      loop assigns i, cur, nb, o, out[from .. to - 1];
      loop variant len - i; */
  for (size_t i = 0; i < len; i++) {
    uint32_t c = vq_qpack_huff_code[in[i]];
    const uint32_t n = vq_qpack_huff_bits[in[i]];
    /*@ loop invariant 0 <= k <= n;
        loop invariant nb <= 7 && cur <= 255;
        loop invariant from <= o <= to;
        loop assigns k, c, cur, nb, o, out[from .. to - 1];
        loop variant n - k; */
    for (uint32_t k = 0; k < n; k++) {
      uint32_t bit;
      if (c >= 2147483648u) {
        bit = 1;
        c = (c - 2147483648u) * 2u;
      } else {
        bit = 0;
        c = c * 2u;
      }
      cur = (cur % 128u) * 2u + bit;
      nb++;
      if (nb == 8u) {
        if (o >= to) return VQ_ERR_BUFFER_TOO_SMALL;
        out[o] = (uint8_t)cur;
        o++;
        cur = 0;
        nb = 0;
      }
    }
  }
  if (nb > 0u) {
    /*@ loop invariant 1 <= nb <= 8 && cur <= 255;
        loop assigns cur, nb;
        loop variant 8 - nb; */
    while (nb < 8u) {
      cur = (cur % 128u) * 2u + 1u;
      nb++;
    }
    if (o >= to) return VQ_ERR_BUFFER_TOO_SMALL;
    out[o] = (uint8_t)cur;
    o++;
  }
  *end = o;
  return VQ_OK;
}

/*@ requires vq_readable(in, len);
    requires vq_writable(out, cap);
    requires \valid(out_len);
    requires \separated(out_len, out + (0 .. cap - 1), in + (0 .. len - 1));
    requires \separated(out + (0 .. cap - 1), in + (0 .. len - 1));
    assigns out[0 .. cap - 1], *out_len;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> *out_len <= cap; */
vq_status vq_qpack_huff_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
  return huff_encode_range(in, len, out, 0, cap, out_len);
}

/* spec: rfc9204#4.1.2 — a string literal: H bit, length with an N-bit prefix, then the bytes. */
/*@ requires 1 <= n <= 7;
    requires vq_readable(buf, len);
    requires vq_writable(out, cap);
    requires \valid(out_len) && \valid(used) && \separated(out_len, used);
    requires \separated(out_len, out + (0 .. cap - 1), buf + (0 .. len - 1));
    requires \separated(used, out + (0 .. cap - 1), buf + (0 .. len - 1));
    requires \separated(out + (0 .. cap - 1), buf + (0 .. len - 1));
    assigns out[0 .. cap - 1], *out_len, *used;
    ensures \result == VQ_OK ==> *out_len <= cap && 1 <= *used <= len; */
vq_status vq_qpack_str_decode(const uint8_t *buf, size_t len, unsigned n, uint8_t *out, size_t cap,
                              size_t *out_len, size_t *used)
{
  if (len == 0) return VQ_ERR_TRUNCATED;
  const uint32_t hbit = prefix_max(n) + 1u;
  const int huff = (buf[0] / hbit) % 2u == 1u;
  uint64_t slen;
  size_t u;
  vq_status st = vq_qpack_int_decode(buf, len, n, &slen, &u);
  if (st != VQ_OK) return st;
  /*@ split u; */
  if (u > len || slen > len - u) return VQ_ERR_TRUNCATED;
  const size_t end = u + (size_t)slen;
  if (huff) {
    size_t ol;
    st = huff_decode_range(buf, u, end, out, cap, &ol);
    if (st != VQ_OK) return st;
    *out_len = ol;
  } else {
    if (slen > cap) return VQ_ERR_BUFFER_TOO_SMALL;
    size_t o = 0;
    /*@ loop invariant u <= i <= end;
        loop invariant o == i - u && o <= slen;
        loop assigns i, o, out[0 .. cap - 1];
        loop variant end - i; */
    for (size_t i = u; i < end; i++) {
      out[o] = buf[i];
      o++;
    }
    *out_len = (size_t)slen;
  }
  *used = end;
  return VQ_OK;
}

/*@ requires 1 <= n <= 7;
    requires vq_readable(s, slen);
    requires slen <= 281474976710656;
    requires vq_writable(buf, cap);
    requires \valid(used);
    requires \separated(used, buf + (0 .. cap - 1), s + (0 .. slen - 1));
    requires \separated(buf + (0 .. cap - 1), s + (0 .. slen - 1));
    assigns buf[0 .. cap - 1], *used;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT;
    ensures \result == VQ_OK ==> 1 <= *used <= cap; */
vq_status vq_qpack_str_encode(uint8_t *buf, size_t cap, unsigned n, uint8_t first, const uint8_t *s,
                              size_t slen, int huffman, size_t *used)
{
  const uint32_t hbit = prefix_max(n) + 1u;
  size_t u;
  vq_status st;
  /* The bits above the H bit only: first is a multiple of 2^(n+1). */
  if (first > 255u - (2u * hbit - 1u) || first % (2u * hbit) != 0u) return VQ_ERR_INVALID_ARGUMENT;
  if (huffman) {
    const size_t hl = vq_qpack_huff_len(s, slen);
    st = vq_qpack_int_encode(buf, cap, n, (uint8_t)(first + hbit), hl, &u);
    if (st != VQ_OK) return st;
    /*@ split u; */
    if (u > cap || hl > cap - u) return VQ_ERR_BUFFER_TOO_SMALL;
    size_t end;
    st = huff_encode_range(s, slen, buf, u, u + hl, &end);
    if (st == VQ_OK) *used = end;
    return st;
  }
  st = vq_qpack_int_encode(buf, cap, n, first, slen, &u);
  if (st != VQ_OK) return st;
  /*@ split u; */
  if (u > cap || slen > cap - u) return VQ_ERR_BUFFER_TOO_SMALL;
  const size_t end = u + slen;
  size_t j = 0;
  /*@ loop invariant u <= i <= end;
      loop invariant j == i - u && j <= slen;
      loop assigns i, j, buf[u .. cap - 1];
      loop variant end - i; */
  for (size_t i = u; i < end; i++) {
    buf[i] = s[j];
    j++;
  }
  *used = end;
  return VQ_OK;
}

/* spec: rfc9204#4.5.1.1/1 — the decoder reconstructs the Required Insert Count from its encoding:
 * 0 means 0; an encoding above FullRange = 2 * MaxEntries, or one that yields a value that cannot
 * be valid (wrapping below 1, or 0), is a QPACK_DECOMPRESSION_FAILED error. */
/*@ requires max_entries <= 134217728;
    requires total_inserts <= 4611686018427387903;
    requires \valid(ric);
    assigns *ric;
    behavior zero:
      assumes encoded == 0;
      ensures \result == VQ_OK && *ric == 0;
    behavior nonzero:
      assumes encoded != 0;
      ensures \result == VQ_OK || \result == VQ_ERR_QPACK_DECOMPRESSION;
      ensures \result == VQ_OK ==> 1 <= *ric <= total_inserts + max_entries;
    complete behaviors; disjoint behaviors; */
vq_status vq_qpack_ric_decode(uint64_t encoded, uint64_t max_entries, uint64_t total_inserts,
                              uint64_t *ric)
{
  if (encoded == 0) {
    *ric = 0;
    return VQ_OK;
  }
  const uint64_t full = 2u * max_entries;
  if (encoded > full) return VQ_ERR_QPACK_DECOMPRESSION;
  const uint64_t max_value = total_inserts + max_entries;
  const uint64_t max_wrapped = max_value / full * full;
  uint64_t r = max_wrapped + encoded - 1u;
  if (r > max_value) {
    if (r <= full) return VQ_ERR_QPACK_DECOMPRESSION;
    r -= full;
  }
  if (r == 0) return VQ_ERR_QPACK_DECOMPRESSION;
  *ric = r;
  return VQ_OK;
}

/* spec: rfc9204#4.5.1.1 — EncodedInsertCount = (ReqInsertCount mod (2 * MaxEntries)) + 1, or 0. */
/*@ requires \valid(encoded);
    assigns *encoded;
    behavior zero:
      assumes ric == 0;
      ensures \result == VQ_OK && *encoded == 0;
    behavior no_table:
      assumes ric != 0 && (max_entries == 0 || max_entries > 1152921504606846975);
      assigns \nothing;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
    behavior ok:
      assumes ric != 0 && 1 <= max_entries <= 1152921504606846975;
      ensures \result == VQ_OK && *encoded == ric % (2 * max_entries) + 1;
    complete behaviors; disjoint behaviors; */
vq_status vq_qpack_ric_encode(uint64_t ric, uint64_t max_entries, uint64_t *encoded)
{
  if (ric == 0) {
    *encoded = 0;
    return VQ_OK;
  }
  if (max_entries == 0 || max_entries > 1152921504606846975ull) return VQ_ERR_INVALID_ARGUMENT;
  *encoded = ric % (2u * max_entries) + 1u;
  return VQ_OK;
}

/* spec: rfc9204#4.5.1.2 — Sign 0: Base = ReqInsertCount + DeltaBase; Sign 1: Base = ReqInsertCount -
 * DeltaBase - 1; spec: rfc9204#4.5.1.2/1, rfc9204#4.5.1.2/2 — Base is never negative: Sign 1 with
 * ReqInsertCount <= DeltaBase is invalid. */
/*@ requires ric <= 4611686018427387903 && delta <= 4611686018427387903;
    requires \valid(base);
    assigns *base;
    behavior pos:
      assumes sign == 0;
      ensures \result == VQ_OK && *base == ric + delta;
    behavior neg_ok:
      assumes sign != 0 && ric > delta;
      ensures \result == VQ_OK && *base == ric - delta - 1;
    behavior neg_bad:
      assumes sign != 0 && ric <= delta;
      assigns \nothing;
      ensures \result == VQ_ERR_QPACK_DECOMPRESSION;
    complete behaviors; disjoint behaviors; */
vq_status vq_qpack_base_decode(uint64_t ric, int sign, uint64_t delta, uint64_t *base)
{
  if (sign == 0) {
    *base = ric + delta;
    return VQ_OK;
  }
  if (ric <= delta) return VQ_ERR_QPACK_DECOMPRESSION;
  *base = ric - delta - 1u;
  return VQ_OK;
}
