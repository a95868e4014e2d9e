/* Eva entry point for src/transport/stream_state.c.
 *
 * Both functions are total over (state, event): the harness calls each on every pair of the enums
 * plus two values past each enum's end (the `default:` of the switch and the refused event branches),
 * each pair analysed exactly, and checks nothing else: WP proves the transitions for every value. */
#include "__fc_builtin.h"
#include "vquic/stream.h"

#define NS 8 /* 6 states + 2 out-of-range values */
#define NE 7 /* 5 send events + 2 out-of-range values; the receive side has 6 + 1 */

void eva_main(void);

void eva_main(void)
{
  /*@ loop unroll NS; */
  for (int s = 0; s < NS; s++) {
    /*@ loop unroll NE; */
    for (int e = 0; e < NE; e++) {
      vq_send_state sn;
      vq_recv_state rn;
      (void)vq_send_state_next((vq_send_state)s, (vq_send_event)e, &sn);
      (void)vq_recv_state_next((vq_recv_state)s, (vq_recv_event)e, &rn);
    }
  }
}
