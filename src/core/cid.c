/* vquic — connection IDs and stateless reset tokens (RFC 9000 §5.1, §10.3), written for WP. */
#include "vquic/cid.h"
#include "vq_acsl.h"

/* spec: rfc9000#17.2/2, rfc9000#17.2/5 — a vq_cid holds at most 20 bytes, so no Destination or Source
 * Connection ID we put in a version 1 long header exceeds it (packet.c writes only vq_cids). */
/*@ requires \valid(cid);
    requires vq_readable(bytes, len);
    requires len > 0 ==> \separated(cid, bytes + (0 .. len - 1));
    assigns cid->len, cid->bytes[0 .. 19];
    behavior too_long:
      assumes len > 20;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
      assigns \nothing;
    behavior ok:
      assumes len <= 20;
      ensures \result == VQ_OK;
      ensures cid->len == len;
      ensures \forall integer i; 0 <= i < len ==> cid->bytes[i] == bytes[i];
    complete behaviors; disjoint behaviors; */
vq_status vq_cid_set(vq_cid *cid, const uint8_t *bytes, size_t len)
{
  if (len > VQ_CID_MAX_LEN) return VQ_ERR_INVALID_ARGUMENT;
  /*@ loop invariant 0 <= i <= len;
      loop invariant \forall integer j; 0 <= j < i ==> cid->bytes[j] == bytes[j];
      loop assigns i, cid->bytes[0 .. 19];
      loop variant len - i; */
  for (size_t i = 0; i < len; i++) cid->bytes[i] = bytes[i];
  cid->len = (uint8_t)len;
  return VQ_OK;
}

/*@ requires \valid_read(a) && \valid_read(b);
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> (a->len <= 20 && a->len == b->len &&
                               \forall integer i; 0 <= i < a->len ==> a->bytes[i] == b->bytes[i]); */
int vq_cid_equal(const vq_cid *a, const vq_cid *b)
{
  if (a->len > VQ_CID_MAX_LEN || a->len != b->len) return 0;
  const size_t n = a->len;
  /*@ loop invariant 0 <= i <= n;
      loop invariant \forall integer j; 0 <= j < i ==> a->bytes[j] == b->bytes[j];
      loop assigns i;
      loop variant n - i; */
  for (size_t i = 0; i < n; i++)
    if (a->bytes[i] != b->bytes[i]) return 0;
  return 1;
}

/* spec: rfc9000#10.3.1/4 — the comparison does not leak information about the token.
 * Constant time: a sum of squared byte differences over all 16 bytes (each term 0..65025, the sum
 * below 2^21), then one comparison of the sum. No branch or memory access depends on the data. */
/*@ requires \valid_read(a + (0 .. 15)) && \valid_read(b + (0 .. 15));
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> (\forall integer i; 0 <= i < 16 ==> a[i] == b[i]); */
int vq_reset_token_equal(const uint8_t *a, const uint8_t *b)
{
  uint32_t acc = 0;
  /*@ loop unroll 16;
      loop invariant 0 <= i <= 16;
      loop invariant acc <= 65025 * i;
      loop invariant acc == 0 <==> (\forall integer j; 0 <= j < i ==> a[j] == b[j]);
      loop assigns i, acc;
      loop variant 16 - i; */
  for (size_t i = 0; i < VQ_RESET_TOKEN_LEN; i++) {
    const int32_t d = (int32_t)a[i] - (int32_t)b[i];
    /*@ assert -255 <= d <= 255; */
    /*@ assert d < 0 ==> d * d > 0; */
    /*@ assert d > 0 ==> d * d > 0; */
    /*@ assert 0 <= d * d <= 65025; */
    const int32_t sq = d * d;
    acc += (uint32_t)sq;
  }
  return acc == 0u;
}

/* spec: rfc9000#10.3 — "Endpoints MUST send Stateless Resets formatted as a packet with a short
 * header"; the minimum size is 21 bytes; the last 16 bytes are the token. */
/*@ requires vq_readable(dgram, len);
    assigns \nothing;
    ensures \result == 1 <==> (len >= 21 && dgram[0] < 128);
    ensures \result == 0 || \result == 1; */
int vq_stateless_reset_candidate(const uint8_t *dgram, size_t len)
{
  if (len < VQ_STATELESS_RESET_MIN_LEN) return 0;
  return dgram[0] < 128u;
}

/* spec: rfc9000#10.3/9 — any packet ending in a valid token is a Stateless Reset, whatever its header
 * form (the header form is not looked at).
 * spec: rfc9000#10.3.1 — "comparing the last 16 bytes of the datagram with all stateless reset tokens"
 * ... "MUST perform the comparison without leaking information about the value of the token". */
/*@ requires vq_readable(dgram, len);
    requires \valid_read(token + (0 .. 15));
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> (len >= 21 &&
                               \forall integer i; 0 <= i < 16 ==> dgram[len - 16 + i] == token[i]); */
int vq_stateless_reset_match(const uint8_t *dgram, size_t len, const uint8_t *token)
{
  if (len < VQ_STATELESS_RESET_MIN_LEN) return 0;
  return vq_reset_token_equal(dgram + (len - VQ_RESET_TOKEN_LEN), token);
}
