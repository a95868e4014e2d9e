/* vquic — QUIC variable-length integers (RFC 9000 §16), written for WP (PROOF-STYLE.md: range tests
 * and arithmetic, no shifts or masks). */
#include "vquic/varint.h"
#include "vq_acsl.h"

/* spec: rfc9000#16 — the 2-bit prefix encodes the length: 1, 2, 4 or 8 bytes. §16 states the
 * encoding without a BCP 14 requirement sentence (spec/requirements.tsv has none for it), so this is a
 * section citation; the one related requirement, the shortest encoding of frame types
 * (rfc9000#12.4/5), belongs to the frame codec that calls vq_varint_encode, not to this file. */
/*@ assigns \nothing;
    behavior ok:
      assumes v <= 4611686018427387903;
      ensures \result == vq_varint_size(v);
    behavior too_big:
      assumes v > 4611686018427387903;
      ensures \result == 0;
    complete behaviors; disjoint behaviors; */
size_t vq_varint_len(uint64_t v)
{
  if (v < 64u) return 1;
  if (v < 16384u) return 2;
  if (v < 1073741824u) return 4;
  if (v <= VQ_VARINT_MAX) return 8;
  return 0;
}

/*@ assigns \nothing;
    ensures \result == vq_varint_size_of(b0); */
size_t vq_varint_len_of_first(uint8_t b0)
{
  if (b0 < 64u) return 1;
  if (b0 < 128u) return 2;
  if (b0 < 192u) return 4;
  return 8;
}

/*@ requires vq_readable(buf, len);
    requires \valid(v) && \valid(used);
    requires \separated(v, used);
    requires \separated(v, buf + (0 .. len - 1)) && \separated(used, buf + (0 .. len - 1));
    assigns *v, *used;
    behavior empty:
      assumes len == 0;
      ensures \result == VQ_ERR_TRUNCATED;
      assigns \nothing;
    behavior short:
      assumes len > 0 && len < vq_varint_size_of(buf[0]);
      ensures \result == VQ_ERR_TRUNCATED;
      assigns \nothing;
    behavior ok:
      assumes len > 0 && len >= vq_varint_size_of(buf[0]);
      ensures \result == VQ_OK;
      ensures *used == vq_varint_size_of(buf[0]);
      ensures 1 <= *used <= 8 && *used <= len;
      ensures *v == vq_varint_value(buf, *used);
      ensures *v <= 4611686018427387903;
    complete behaviors; disjoint behaviors; */
vq_status vq_varint_decode(const uint8_t *buf, size_t len, uint64_t *v, size_t *used)
{
  if (len == 0) return VQ_ERR_TRUNCATED;
  const uint8_t b0 = buf[0];
  if (b0 < 64u) {
    *v = b0;
    *used = 1;
    return VQ_OK;
  }
  if (b0 < 128u) {
    if (len < 2) return VQ_ERR_TRUNCATED;
    *v = (uint64_t)(b0 - 64u) * 256u + buf[1];
    *used = 2;
    return VQ_OK;
  }
  if (b0 < 192u) {
    if (len < 4) return VQ_ERR_TRUNCATED;
    *v = (((uint64_t)(b0 - 128u) * 256u + buf[1]) * 256u + buf[2]) * 256u + buf[3];
    *used = 4;
    return VQ_OK;
  }
  if (len < 8) return VQ_ERR_TRUNCATED;
  uint64_t x = (uint64_t)(b0 - 192u);
  x = x * 256u + buf[1];
  x = x * 256u + buf[2];
  x = x * 256u + buf[3];
  x = x * 256u + buf[4];
  x = x * 256u + buf[5];
  x = x * 256u + buf[6];
  x = x * 256u + buf[7];
  *v = x;
  *used = 8;
  return VQ_OK;
}

/* Writes v (< 2^(8n-2)) as an n-byte varint. The value is split by repeated division so that each
 * byte's contribution is plain arithmetic for the provers. */
/*@ requires n == 1 || n == 2 || n == 4 || n == 8;
    requires n == 1 ==> v < 64;
    requires n == 2 ==> v < 16384;
    requires n == 4 ==> v < 1073741824;
    requires n == 8 ==> v <= 4611686018427387903;
    requires \valid(buf + (0 .. n - 1));
    assigns buf[0 .. n - 1];
    ensures vq_varint_value(buf, n) == v;
    ensures vq_varint_size_of(buf[0]) == n; */
static void put_varint(uint8_t *buf, uint64_t v, size_t n)
{
  if (n == 1) {
    buf[0] = (uint8_t)v;
    return;
  }
  if (n == 2) {
    buf[1] = (uint8_t)(v % 256u);
    buf[0] = (uint8_t)(64u + v / 256u);
    return;
  }
  if (n == 4) {
    uint64_t q1 = v / 256u, q2 = q1 / 256u, q3 = q2 / 256u;
    buf[3] = (uint8_t)(v % 256u);
    buf[2] = (uint8_t)(q1 % 256u);
    buf[1] = (uint8_t)(q2 % 256u);
    buf[0] = (uint8_t)(128u + q3);
    return;
  }
  uint64_t q1 = v / 256u, q2 = q1 / 256u, q3 = q2 / 256u, q4 = q3 / 256u;
  uint64_t q5 = q4 / 256u, q6 = q5 / 256u, q7 = q6 / 256u;
  buf[7] = (uint8_t)(v % 256u);
  buf[6] = (uint8_t)(q1 % 256u);
  buf[5] = (uint8_t)(q2 % 256u);
  buf[4] = (uint8_t)(q3 % 256u);
  buf[3] = (uint8_t)(q4 % 256u);
  buf[2] = (uint8_t)(q5 % 256u);
  buf[1] = (uint8_t)(q6 % 256u);
  buf[0] = (uint8_t)(192u + q7);
}

/*@ requires vq_writable(buf, cap);
    requires \valid(used) && \separated(used, buf + (0 .. cap - 1));
    assigns buf[0 .. cap - 1], *used;
    behavior too_big:
      assumes v > 4611686018427387903;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
      assigns \nothing;
    behavior no_room:
      assumes v <= 4611686018427387903 && cap < vq_varint_size(v);
      ensures \result == VQ_ERR_BUFFER_TOO_SMALL;
      assigns \nothing;
    behavior ok:
      assumes v <= 4611686018427387903 && cap >= vq_varint_size(v);
      ensures \result == VQ_OK;
      ensures *used == vq_varint_size(v);
      ensures vq_varint_size_of(buf[0]) == *used;
      ensures vq_varint_value(buf, *used) == v;
      assigns buf[0 .. vq_varint_size(v) - 1], *used;
    complete behaviors; disjoint behaviors; */
vq_status vq_varint_encode(uint8_t *buf, size_t cap, uint64_t v, size_t *used)
{
  size_t n;
  /* Each branch bounds v for the length it writes, so both WP and Eva see the range. */
  if (v < 64u) {
    n = 1;
    if (cap < n) return VQ_ERR_BUFFER_TOO_SMALL;
    put_varint(buf, v, 1);
  } else if (v < 16384u) {
    n = 2;
    if (cap < n) return VQ_ERR_BUFFER_TOO_SMALL;
    put_varint(buf, v, 2);
  } else if (v < 1073741824u) {
    n = 4;
    if (cap < n) return VQ_ERR_BUFFER_TOO_SMALL;
    put_varint(buf, v, 4);
  } else if (v <= VQ_VARINT_MAX) {
    n = 8;
    if (cap < n) return VQ_ERR_BUFFER_TOO_SMALL;
    put_varint(buf, v, 8);
  } else {
    return VQ_ERR_INVALID_ARGUMENT;
  }
  *used = n;
  return VQ_OK;
}

/*@ requires vq_writable(buf, cap);
    assigns buf[0 .. cap - 1];
    behavior bad:
      assumes (n != 1 && n != 2 && n != 4 && n != 8) || v > 4611686018427387903 ||
              n < vq_varint_size(v);
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
      assigns \nothing;
    behavior no_room:
      assumes (n == 1 || n == 2 || n == 4 || n == 8) && v <= 4611686018427387903 &&
              n >= vq_varint_size(v) && cap < n;
      ensures \result == VQ_ERR_BUFFER_TOO_SMALL;
      assigns \nothing;
    behavior ok:
      assumes (n == 1 || n == 2 || n == 4 || n == 8) && v <= 4611686018427387903 &&
              n >= vq_varint_size(v) && cap >= n;
      ensures \result == VQ_OK;
      ensures vq_varint_size_of(buf[0]) == n;
      ensures vq_varint_value(buf, n) == v;
      assigns buf[0 .. n - 1];
    complete behaviors; disjoint behaviors; */
vq_status vq_varint_encode_n(uint8_t *buf, size_t cap, uint64_t v, size_t n)
{
  uint64_t limit;
  if (n == 1) limit = 64u;
  else if (n == 2) limit = 16384u;
  else if (n == 4) limit = 1073741824u;
  else if (n == 8) limit = VQ_VARINT_MAX + 1u;
  else return VQ_ERR_INVALID_ARGUMENT;
  if (v >= limit) return VQ_ERR_INVALID_ARGUMENT;
  if (cap < n) return VQ_ERR_BUFFER_TOO_SMALL;
  if (n == 1) put_varint(buf, v, 1);
  else if (n == 2) put_varint(buf, v, 2);
  else if (n == 4) put_varint(buf, v, 4);
  else put_varint(buf, v, 8);
  return VQ_OK;
}
