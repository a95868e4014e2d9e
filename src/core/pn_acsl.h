/* vquic — ACSL logic for packet numbers (RFC 9000 §17.1, Appendix A). Pure logic. */
#ifndef VQ_PN_ACSL_H
#define VQ_PN_ACSL_H

/*@
  // 2^(8n): the size of the window an n-byte truncated packet number covers.
  logic integer vq_pn_win(integer n) =
    n == 1 ? 256 : n == 2 ? 65536 : n == 3 ? 16777216 : 4294967296;

  // Number of packets the receiver may not have seen: full_pn - largest_acked, or full_pn + 1
  // before any acknowledgment (A.2; largest_acked = 2^64-1 stands for "none").
  logic integer vq_pn_unacked(integer full_pn, integer largest_acked) =
    largest_acked == 18446744073709551615 ? full_pn + 1 : full_pn - largest_acked;

  // A.2: the smallest n in 1..4 whose window is at least twice the range.
  logic integer vq_pn_len_for(integer unacked) =
    2 * unacked <= 256 ? 1 : 2 * unacked <= 65536 ? 2 : 2 * unacked <= 16777216 ? 3 : 4;

  // A.3: the packet number the receiver expects next.
  logic integer vq_pn_expected(integer largest_pn) =
    largest_pn == 18446744073709551615 ? 0 : largest_pn + 1;
*/

#endif
