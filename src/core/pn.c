/* vquic — packet number encoding and decoding (RFC 9000 §17.1, Appendix A.2, A.3), written for WP:
 * windows are powers of two handled with / and %, never shifts or masks (PROOF-STYLE.md). */
#include "vquic/pn.h"
#include "vq_acsl.h"
#include "pn_acsl.h"

/* spec: rfc9000#17.1/2 — "the sender MUST use a packet number size able to represent more than twice as
 * large a range as the difference between the largest acknowledged packet number and the packet number
 * being sent"; rfc9000#A.2 — num_unacked = full_pn + 1 when nothing is acknowledged, and the encoding
 * takes ceil((log2(num_unacked) + 1) / 8) bytes, i.e. the smallest n with 2^(8n) >= 2 * num_unacked. */
/*@ assigns \nothing;
    behavior bad:
      assumes full_pn > 4611686018427387903 ||
              (largest_acked != 18446744073709551615 && full_pn <= largest_acked) ||
              2 * vq_pn_unacked(full_pn, largest_acked) > 4294967296;
      ensures \result == 0;
    behavior ok:
      assumes full_pn <= 4611686018427387903 &&
              (largest_acked == 18446744073709551615 || full_pn > largest_acked) &&
              2 * vq_pn_unacked(full_pn, largest_acked) <= 4294967296;
      ensures \result == vq_pn_len_for(vq_pn_unacked(full_pn, largest_acked));
      ensures 1 <= \result <= 4;
      ensures vq_pn_win(\result) >= 2 * vq_pn_unacked(full_pn, largest_acked);
    complete behaviors; disjoint behaviors; */
size_t vq_pn_encode_len(uint64_t full_pn, uint64_t largest_acked)
{
  if (full_pn > VQ_PN_MAX) return 0;
  if (largest_acked == VQ_PN_NONE) {
    /* spec: rfc9000#17.1/1 — nothing acknowledged yet: 2^(8n) >= 2 * (full_pn + 1) > full_pn, so the
     * n bytes hold the full packet number, not a truncation of it. */
    /* num_unacked = full_pn + 1 */
    if (full_pn < 128u) return 1;
    if (full_pn < 32768u) return 2;
    if (full_pn < 8388608u) return 3;
    if (full_pn < 2147483648u) return 4;
    return 0;
  }
  if (full_pn <= largest_acked) return 0;
  /* num_unacked = full_pn - largest_acked <= K, compared as full_pn <= largest_acked + K: here
   * largest_acked < full_pn <= 2^62-1, so the sum cannot wrap. */
  if (full_pn <= largest_acked + 128u) return 1;
  if (full_pn <= largest_acked + 32768u) return 2;
  if (full_pn <= largest_acked + 8388608u) return 3;
  if (full_pn <= largest_acked + 2147483648u) return 4;
  return 0;
}

/* spec: rfc9000#17.1 — "packet numbers are encoded in 1 to 4 bytes": the least significant bytes of
 * the full packet number, in network byte order. */
/*@ requires vq_writable(buf, cap);
    assigns buf[0 .. cap - 1];
    behavior bad:
      assumes n < 1 || n > 4 || full_pn > 4611686018427387903;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
      assigns \nothing;
    behavior no_room:
      assumes 1 <= n <= 4 && full_pn <= 4611686018427387903 && cap < n;
      ensures \result == VQ_ERR_BUFFER_TOO_SMALL;
      assigns \nothing;
    behavior ok:
      assumes 1 <= n <= 4 && full_pn <= 4611686018427387903 && cap >= n;
      ensures \result == VQ_OK;
      ensures vq_be_value(buf, n) == full_pn % vq_pn_win(n);
      assigns buf[0 .. n - 1];
    complete behaviors; disjoint behaviors; */
vq_status vq_pn_write(uint8_t *buf, size_t cap, uint64_t full_pn, size_t n)
{
  if (n < 1 || n > 4 || full_pn > VQ_PN_MAX) return VQ_ERR_INVALID_ARGUMENT;
  if (cap < n) return VQ_ERR_BUFFER_TOO_SMALL;
  const uint64_t q1 = full_pn / 256u, q2 = q1 / 256u, q3 = q2 / 256u;
  if (n == 1) {
    buf[0] = (uint8_t)(full_pn % 256u);
  } else if (n == 2) {
    buf[0] = (uint8_t)(q1 % 256u);
    buf[1] = (uint8_t)(full_pn % 256u);
  } else if (n == 3) {
    buf[0] = (uint8_t)(q2 % 256u);
    buf[1] = (uint8_t)(q1 % 256u);
    buf[2] = (uint8_t)(full_pn % 256u);
  } else {
    buf[0] = (uint8_t)(q3 % 256u);
    buf[1] = (uint8_t)(q2 % 256u);
    buf[2] = (uint8_t)(q1 % 256u);
    buf[3] = (uint8_t)(full_pn % 256u);
  }
  return VQ_OK;
}

/*@ requires vq_readable(buf, len);
    requires \valid(truncated) && \separated(truncated, buf + (0 .. len - 1));
    assigns *truncated;
    behavior bad:
      assumes n < 1 || n > 4;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
      assigns \nothing;
    behavior short:
      assumes 1 <= n <= 4 && len < n;
      ensures \result == VQ_ERR_PACKET_TRUNCATED;
      assigns \nothing;
    behavior ok:
      assumes 1 <= n <= 4 && len >= n;
      ensures \result == VQ_OK;
      ensures *truncated == vq_be_value(buf, n);
      ensures *truncated < vq_pn_win(n);
    complete behaviors; disjoint behaviors; */
vq_status vq_pn_read(const uint8_t *buf, size_t len, size_t n, uint64_t *truncated)
{
  if (n < 1 || n > 4) return VQ_ERR_INVALID_ARGUMENT;
  if (len < n) return VQ_ERR_PACKET_TRUNCATED;
  uint64_t v = buf[0];
  if (n >= 2) v = v * 256u + buf[1];
  if (n >= 3) v = v * 256u + buf[2];
  if (n == 4) v = v * 256u + buf[3];
  *truncated = v;
  return VQ_OK;
}

/* spec: rfc9000#A.3 — candidate_pn = (expected_pn & ~pn_mask) | truncated_pn, moved by one window
 * towards expected_pn when it lies outside (expected_pn - pn_hwin, expected_pn + pn_hwin], unless
 * that would leave 0 .. 2^62-1 (the guards `candidate_pn < (1 << 62) - pn_win` and
 * `candidate_pn >= pn_win`). The candidate is q * pn_win + truncated_pn with q = expected_pn / pn_win
 * (that is expected_pn & ~pn_mask); the result is (q - 1), q or (q + 1) windows plus truncated_pn.
 * The per-window assertions give the provers the congruence with a constant modulus. */
/*@ requires win == 256 || win == 65536 || win == 16777216 || win == 4294967296;
    requires truncated < win;
    requires expected <= 4611686018427387904;
    assigns \nothing;
    ensures \result <= 4611686018427387903 + win;
    ensures expected <= 4611686018427387903 ==> \result <= 4611686018427387903;
    ensures \result % win == truncated;
    ensures (expected - win / 2 < \result <= expected + win / 2) ||
            (\result <= expected - win / 2 && \result + win > 4611686018427387903) ||
            (\result > expected + win / 2 && \result < win); */
static uint64_t pn_closest(uint64_t expected, uint64_t truncated, uint64_t win)
{
  const uint64_t hwin = win / 2u;
  uint64_t q = expected / win;
  const uint64_t candidate = q * win + truncated;
  /*@ assert win == 256 && expected <= 4611686018427387903 ==> candidate <= 4611686018427387903; */
  /*@ assert win == 65536 && expected <= 4611686018427387903 ==> candidate <= 4611686018427387903; */
  /*@ assert win == 16777216 && expected <= 4611686018427387903 ==> candidate <= 4611686018427387903; */
  /*@ assert win == 4294967296 && expected <= 4611686018427387903 ==>
             candidate <= 4611686018427387903; */
  /* candidate <= expected - hwin, written without a negative intermediate. */
  if (candidate + hwin <= expected && candidate < VQ_PN_MAX + 1u - win) {
    q = q + 1u;
  } else if (candidate > expected + hwin && q >= 1u) { /* q >= 1 is candidate >= win */
    q = q - 1u;
  }
  const uint64_t r = q * win + truncated;
  /*@ assert win == 256 ==> r % 256 == truncated; */
  /*@ assert win == 65536 ==> r % 65536 == truncated; */
  /*@ assert win == 16777216 ==> r % 16777216 == truncated; */
  /*@ assert win == 4294967296 ==> r % 4294967296 == truncated; */
  return r;
}

/*@ requires \valid(full_pn);
    assigns *full_pn;
    behavior bad:
      assumes n < 1 || n > 4 || truncated >= vq_pn_win(n) ||
              (largest_pn != 18446744073709551615 && largest_pn > 4611686018427387903);
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
      assigns \nothing;
    behavior ok:
      assumes 1 <= n <= 4 && truncated < vq_pn_win(n) &&
              (largest_pn == 18446744073709551615 || largest_pn <= 4611686018427387903);
      ensures \result == VQ_OK || \result == VQ_ERR_PACKET_NUMBER;
      ensures \result == VQ_ERR_PACKET_NUMBER ==> largest_pn == 4611686018427387903;
      ensures \result == VQ_OK ==> *full_pn <= 4611686018427387903;
      ensures \result == VQ_OK ==> *full_pn % vq_pn_win(n) == truncated;
      // In the window around expected_pn (A.3), or at an edge of the packet number space where a
      // guard kept the candidate inside 0 .. 2^62-1.
      ensures \result == VQ_OK ==>
        (vq_pn_expected(largest_pn) - vq_pn_win(n) / 2 < *full_pn <=
           vq_pn_expected(largest_pn) + vq_pn_win(n) / 2) ||
        (*full_pn <= vq_pn_expected(largest_pn) - vq_pn_win(n) / 2 &&
           *full_pn + vq_pn_win(n) > 4611686018427387903) ||
        (*full_pn > vq_pn_expected(largest_pn) + vq_pn_win(n) / 2 && *full_pn < vq_pn_win(n));
      ensures \result != VQ_OK ==> *full_pn == \old(*full_pn);
    complete behaviors; disjoint behaviors; */
vq_status vq_pn_decode(uint64_t largest_pn, uint64_t truncated, size_t n, uint64_t *full_pn)
{
  uint64_t win;
  if (n == 1) win = 256u;
  else if (n == 2) win = 65536u;
  else if (n == 3) win = 16777216u;
  else if (n == 4) win = 4294967296u;
  else return VQ_ERR_INVALID_ARGUMENT;
  /*@ assert win == vq_pn_win(n); */
  if (truncated >= win) return VQ_ERR_INVALID_ARGUMENT;
  if (largest_pn != VQ_PN_NONE && largest_pn > VQ_PN_MAX) return VQ_ERR_INVALID_ARGUMENT;
  const uint64_t expected = largest_pn == VQ_PN_NONE ? 0u : largest_pn + 1u;
  const uint64_t r = pn_closest(expected, truncated, win);
  /* spec: rfc9000#12.3 — a packet number cannot exceed 2^62-1. */
  if (r > VQ_PN_MAX) return VQ_ERR_PACKET_NUMBER;
  *full_pn = r;
  return VQ_OK;
}
