/* vquic — ACSL logic for src/core/tp.c (transport parameters). Pure logic; compiles to nothing. */
#ifndef VQ_TP_ACSL_H
#define VQ_TP_ACSL_H

#include "vquic/tp.h"
#include "vq_acsl.h"

/*@
  // The unknown entries the encoder reads are readable (their values point into some input).
  predicate vq_tp_unknown_readable{L}(vq_tp *tp) =
    \forall integer i; 0 <= i < tp->n_unknown && i < VQ_TP_MAX_UNKNOWN ==>
      vq_readable((uint8_t *)tp->unknown[i].value, tp->unknown[i].len);

  // ... and do not overlap the output of the encoder.
  predicate vq_tp_unknown_separated{L}(vq_tp *tp, uint8_t *out, integer cap) =
    \forall integer i; 0 <= i < tp->n_unknown && i < VQ_TP_MAX_UNKNOWN ==>
      \separated(out + (0 .. cap - 1), tp->unknown[i].value + (0 .. tp->unknown[i].len - 1));

  // Index of a parameter id in vq_tp.present (VQ_TP_KNOWN = 19 for unknown ids).
  logic integer vq_tp_ix(integer id) = id <= 0x11 ? id : id == 0x20 ? 18 : 19;

  // The ids of §18.2 whose values are varints.
  predicate vq_tp_int_id(integer id) =
    id == 0x01 || id == 0x03 || id == 0x04 || id == 0x05 || id == 0x06 || id == 0x07 ||
    id == 0x08 || id == 0x09 || id == 0x0a || id == 0x0b || id == 0x0e || id == 0x20;

  // The range §18.2 allows for an integer parameter.
  predicate vq_tp_int_ok(integer id, integer v) =
    v <= 4611686018427387903 &&
    (id == 0x03 ==> v >= 1200) &&
    (id == 0x0a ==> v <= 20) &&
    (id == 0x0b ==> v < 16384) &&
    (id == 0x0e ==> v >= 2) &&
    ((id == 0x08 || id == 0x09) ==> v <= 1152921504606846976);

  // spec: rfc9000#18.2 — the parameters only a server may send.
  predicate vq_tp_server_only(integer id) = id == 0x00 || id == 0x02 || id == 0x0d || id == 0x10;
*/

#endif
