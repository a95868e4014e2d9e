/* vquic — ACSL logic for the QPACK primitives (src/h3/qpack_prim.c). Pure logic; compiles to nothing. */
#ifndef VQ_QPACK_ACSL_H
#define VQ_QPACK_ACSL_H

#include "vq_acsl.h"

/*@
  // 2^n for the prefix sizes of RFC 7541 §5.1 (n = 0..8).
  logic integer vq_qp_pow2(integer n) =
    n <= 0 ? 1 : n == 1 ? 2 : n == 2 ? 4 : n == 3 ? 8 : n == 4 ? 16 : n == 5 ? 32 : n == 6 ? 64 :
    n == 7 ? 128 : 256;

  // 128^k: the weight of the k-th continuation byte of a prefixed integer (k = 0..9).
  logic integer vq_qp_pow128(integer k) =
    k <= 0 ? 1 : k == 1 ? 128 : k == 2 ? 16384 : k == 3 ? 2097152 : k == 4 ? 268435456 :
    k == 5 ? 34359738368 : k == 6 ? 4398046511104 : k == 7 ? 562949953421312 :
    k == 8 ? 72057594037927936 : 9223372036854775808;

  // Largest value QPACK accepts for an integer (RFC 9204 §4.1.1: at most 62 bits).
  logic integer vq_qp_int_max = 4611686018427387903;
*/

#endif
