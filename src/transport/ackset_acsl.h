/* vquic — ACSL predicates of the ACK range set (include/vquic/ackset.h). */
#ifndef VQ_ACKSET_ACSL_H
#define VQ_ACKSET_ACSL_H

#include "vquic/ackset.h"

/*@
  // Ranges [0, n) each well-formed, descending and never touching: r[0] is well-formed, and every
  // later range r[j] is well-formed and lies below every range before it (r[j].hi + 1 < r[i].lo for
  // all i < j). This is the all-pairs statement (no induction is needed to compare ranges that are
  // not neighbours), written so that Eva can also evaluate it: Eva gives a quantified variable an
  // interval and reads r[j] as the join of the ranges it may denote, so r[0] is named on its own and
  // the quantifier over i is nested under the one over j (with n <= 2, as in the harness, every
  // quantified index then denotes a single range). The three parts are separate conjuncts, which
  // keeps the provers' goals small where a function re-establishes the predicate.
  predicate vq_ranges_ok{L}(vq_ackset_range *r, integer n) =
    (n > 0 ==> r[0].lo <= r[0].hi <= 4611686018427387903) &&
    (\forall integer j; 0 < j < n ==> r[j].lo <= r[j].hi <= 4611686018427387903) &&
    (\forall integer j; 0 < j < n ==> \forall integer i; 0 <= i < j ==> r[j].hi + 1 < r[i].lo);

  predicate vq_ackset_mem{L}(vq_ackset *s) =
    \valid_read(s) && s->cap >= 1 && s->n <= s->cap && \valid(s->r + (0 .. s->cap - 1)) &&
    \separated(s, s->r + (0 .. s->cap - 1));

  predicate vq_ackset_ok{L}(vq_ackset *s) = vq_ackset_mem(s) && vq_ranges_ok(s->r, s->n);

  predicate vq_ackset_has{L}(vq_ackset *s, integer pn) =
    \exists integer i; 0 <= i < s->n && s->r[i].lo <= pn <= s->r[i].hi;
*/

#endif
