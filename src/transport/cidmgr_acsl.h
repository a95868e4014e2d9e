/* vquic — ACSL predicates of the connection ID manager (include/vquic/cidmgr.h). Pure logic. */
#ifndef VQ_CIDMGR_ACSL_H
#define VQ_CIDMGR_ACSL_H

#include "vquic/cidmgr.h"

/*@
  // The storage and the bounds every function keeps: the three caller arrays are valid and distinct
  // from each other and from the manager; our limit lies within the peer table; the retirement
  // queue holds at least twice our limit (RFC 9000 §5.1.2) and never more than its capacity; the
  // peer's limit lies within the local table; local sequence numbers stay varints.
  // (\valid_read: Eva reads a const manager as not writable; mutators also require \valid(m).)
  predicate vq_cidmgr_ok(vq_cidmgr *m) =
    \valid_read(m) &&
    2 <= m->peer_limit <= m->peer_cap <= 1024 &&
    2 * m->peer_limit <= m->retire_cap <= 2048 &&
    m->retire_n <= m->retire_cap &&
    2 <= m->local_cap <= 1024 && m->local_limit <= m->local_cap &&
    m->local_next_seq <= 4611686018427387904 &&
    \valid(m->peer + (0 .. m->peer_cap - 1)) &&
    \valid(m->retire + (0 .. m->retire_cap - 1)) &&
    \valid(m->local + (0 .. m->local_cap - 1)) &&
    \separated(m, m->peer + (0 .. m->peer_cap - 1), m->retire + (0 .. m->retire_cap - 1),
               m->local + (0 .. m->local_cap - 1));

  // No active peer CID lies below rpt.
  predicate vq_cidmgr_peer_above(vq_cidmgr *m, integer rpt) =
    \forall integer i; 0 <= i < m->peer_cap ==> m->peer[i].state != 0 ==> m->peer[i].seq >= rpt;

  // RFC 9000 §5.1.2, §19.15: no active peer CID lies below the largest Retire Prior To.
  predicate vq_cidmgr_peer_above_rpt(vq_cidmgr *m) = vq_cidmgr_peer_above(m, m->peer_rpt);

  // The part of the manager a call outside the peer table cannot change.
  predicate vq_cidmgr_same_shape{L1, L2}(vq_cidmgr *m) =
    \at(m->peer, L1) == \at(m->peer, L2) && \at(m->peer_cap, L1) == \at(m->peer_cap, L2) &&
    \at(m->retire, L1) == \at(m->retire, L2) && \at(m->retire_cap, L1) == \at(m->retire_cap, L2) &&
    \at(m->local, L1) == \at(m->local, L2) && \at(m->local_cap, L1) == \at(m->local_cap, L2) &&
    \at(m->peer_limit, L1) == \at(m->peer_limit, L2);
*/

#endif
