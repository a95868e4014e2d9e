/* vquic — ACSL predicates of the ACK range set (include/vquic/ackset.h). */
#ifndef VQ_ACKSET_ACSL_H
#define VQ_ACKSET_ACSL_H

#include "vquic/ackset.h"

/*@
  // Ranges [0, n) each well-formed, descending and never touching (stated over all pairs, so no
  // induction is needed to compare ranges that are not neighbours).
  predicate vq_ranges_ok{L}(vq_ackset_range *r, integer n) =
    (\forall integer i; 0 <= i < n ==> r[i].lo <= r[i].hi <= 4611686018427387903) &&
    (\forall integer i, j; 0 <= i < j < n ==> r[j].hi + 1 < r[i].lo);

  predicate vq_ackset_mem{L}(vq_ackset *s) =
    \valid_read(s) && s->cap >= 1 && s->n <= s->cap && \valid(s->r + (0 .. s->cap - 1)) &&
    \separated(s, s->r + (0 .. s->cap - 1));

  predicate vq_ackset_ok{L}(vq_ackset *s) = vq_ackset_mem(s) && vq_ranges_ok(s->r, s->n);

  predicate vq_ackset_has{L}(vq_ackset *s, integer pn) =
    \exists integer i; 0 <= i < s->n && s->r[i].lo <= pn <= s->r[i].hi;
*/

#endif
