/* vquic — ACSL predicates of the flow-control state (include/vquic/fc.h). */
#ifndef VQ_FC_ACSL_H
#define VQ_FC_ACSL_H

#include "vquic/fc.h"

/*@
  predicate vq_fc_tx_ok(vq_fc_tx *fc) = fc->sent <= fc->limit;

  // consumed <= received <= limit <= 2^62-1, the window within its ceiling, and a known final size
  // bounds what was received and lies within the limit.
  predicate vq_fc_rx_ok(vq_fc_rx *fc) =
    fc->consumed <= fc->received <= fc->limit <= 4611686018427387903 &&
    fc->window <= fc->max_window <= 4611686018427387903 &&
    (fc->final_known != 0 ==> fc->received <= fc->final_size <= fc->limit);
*/

#endif
