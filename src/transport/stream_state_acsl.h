/* vquic — ACSL predicates of the stream state machines (RFC 9000 §3.1 Figure 2, §3.2 Figure 3).
 * vq_send_step / vq_recv_step list every transition the diagrams allow, one disjunct per arrow, plus
 * the events that leave the state as it is (a retransmission, a late ACK, a late frame); the
 * *_allowed predicates are the same pairs without the target. */
#ifndef VQ_STREAM_STATE_ACSL_H
#define VQ_STREAM_STATE_ACSL_H

#include "vquic/stream.h"

/*@
  predicate vq_send_step(integer s, integer e, integer n) =
    (s == VQ_SEND_READY && e == VQ_SEV_SEND_STREAM && n == VQ_SEND_SEND) ||
    (s == VQ_SEND_READY && e == VQ_SEV_SEND_FIN && n == VQ_SEND_DATA_SENT) ||
    (s == VQ_SEND_READY && e == VQ_SEV_RESET && n == VQ_SEND_RESET_SENT) ||
    (s == VQ_SEND_SEND && e == VQ_SEV_SEND_STREAM && n == VQ_SEND_SEND) ||
    (s == VQ_SEND_SEND && e == VQ_SEV_SEND_FIN && n == VQ_SEND_DATA_SENT) ||
    (s == VQ_SEND_SEND && e == VQ_SEV_RESET && n == VQ_SEND_RESET_SENT) ||
    (s == VQ_SEND_DATA_SENT && e == VQ_SEV_SEND_STREAM && n == VQ_SEND_DATA_SENT) ||
    (s == VQ_SEND_DATA_SENT && e == VQ_SEV_SEND_FIN && n == VQ_SEND_DATA_SENT) ||
    (s == VQ_SEND_DATA_SENT && e == VQ_SEV_ALL_ACKED && n == VQ_SEND_DATA_RECVD) ||
    (s == VQ_SEND_DATA_SENT && e == VQ_SEV_RESET && n == VQ_SEND_RESET_SENT) ||
    (s == VQ_SEND_DATA_RECVD && e == VQ_SEV_ALL_ACKED && n == VQ_SEND_DATA_RECVD) ||
    (s == VQ_SEND_RESET_SENT && e == VQ_SEV_RESET && n == VQ_SEND_RESET_SENT) ||
    (s == VQ_SEND_RESET_SENT && e == VQ_SEV_RESET_ACKED && n == VQ_SEND_RESET_RECVD) ||
    (s == VQ_SEND_RESET_RECVD && e == VQ_SEV_RESET_ACKED && n == VQ_SEND_RESET_RECVD);

  predicate vq_send_allowed(integer s, integer e) =
    (s == VQ_SEND_READY && e == VQ_SEV_SEND_STREAM) ||
    (s == VQ_SEND_READY && e == VQ_SEV_SEND_FIN) ||
    (s == VQ_SEND_READY && e == VQ_SEV_RESET) ||
    (s == VQ_SEND_SEND && e == VQ_SEV_SEND_STREAM) ||
    (s == VQ_SEND_SEND && e == VQ_SEV_SEND_FIN) ||
    (s == VQ_SEND_SEND && e == VQ_SEV_RESET) ||
    (s == VQ_SEND_DATA_SENT && e == VQ_SEV_SEND_STREAM) ||
    (s == VQ_SEND_DATA_SENT && e == VQ_SEV_SEND_FIN) ||
    (s == VQ_SEND_DATA_SENT && e == VQ_SEV_ALL_ACKED) ||
    (s == VQ_SEND_DATA_SENT && e == VQ_SEV_RESET) ||
    (s == VQ_SEND_DATA_RECVD && e == VQ_SEV_ALL_ACKED) ||
    (s == VQ_SEND_RESET_SENT && e == VQ_SEV_RESET) ||
    (s == VQ_SEND_RESET_SENT && e == VQ_SEV_RESET_ACKED) ||
    (s == VQ_SEND_RESET_RECVD && e == VQ_SEV_RESET_ACKED);

  predicate vq_recv_step(integer s, integer e, integer n) =
    (s == VQ_RECV_RECV && e == VQ_REV_STREAM && n == VQ_RECV_RECV) ||
    (s == VQ_RECV_RECV && e == VQ_REV_FIN && n == VQ_RECV_SIZE_KNOWN) ||
    (s == VQ_RECV_RECV && e == VQ_REV_RESET && n == VQ_RECV_RESET_RECVD) ||
    (s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_STREAM && n == VQ_RECV_SIZE_KNOWN) ||
    (s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_FIN && n == VQ_RECV_SIZE_KNOWN) ||
    (s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_ALL_RECEIVED && n == VQ_RECV_DATA_RECVD) ||
    (s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_RESET && n == VQ_RECV_RESET_RECVD) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_STREAM && n == VQ_RECV_DATA_RECVD) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_FIN && n == VQ_RECV_DATA_RECVD) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_ALL_RECEIVED && n == VQ_RECV_DATA_RECVD) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_ALL_READ && n == VQ_RECV_DATA_READ) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_RESET && n == VQ_RECV_RESET_RECVD) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_STREAM && n == VQ_RECV_RESET_RECVD) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_FIN && n == VQ_RECV_RESET_RECVD) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_ALL_RECEIVED && n == VQ_RECV_DATA_RECVD) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_RESET && n == VQ_RECV_RESET_RECVD) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_RESET_READ && n == VQ_RECV_RESET_READ) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_STREAM && n == VQ_RECV_DATA_READ) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_FIN && n == VQ_RECV_DATA_READ) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_ALL_RECEIVED && n == VQ_RECV_DATA_READ) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_ALL_READ && n == VQ_RECV_DATA_READ) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_RESET && n == VQ_RECV_DATA_READ) ||
    (s == VQ_RECV_RESET_READ && e == VQ_REV_STREAM && n == VQ_RECV_RESET_READ) ||
    (s == VQ_RECV_RESET_READ && e == VQ_REV_FIN && n == VQ_RECV_RESET_READ) ||
    (s == VQ_RECV_RESET_READ && e == VQ_REV_RESET && n == VQ_RECV_RESET_READ) ||
    (s == VQ_RECV_RESET_READ && e == VQ_REV_RESET_READ && n == VQ_RECV_RESET_READ);

  predicate vq_recv_allowed(integer s, integer e) =
    (s == VQ_RECV_RECV && e == VQ_REV_STREAM) ||
    (s == VQ_RECV_RECV && e == VQ_REV_FIN) ||
    (s == VQ_RECV_RECV && e == VQ_REV_RESET) ||
    (s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_STREAM) ||
    (s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_FIN) ||
    (s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_ALL_RECEIVED) ||
    (s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_RESET) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_STREAM) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_FIN) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_ALL_RECEIVED) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_ALL_READ) ||
    (s == VQ_RECV_DATA_RECVD && e == VQ_REV_RESET) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_STREAM) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_FIN) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_ALL_RECEIVED) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_RESET) ||
    (s == VQ_RECV_RESET_RECVD && e == VQ_REV_RESET_READ) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_STREAM) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_FIN) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_ALL_RECEIVED) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_ALL_READ) ||
    (s == VQ_RECV_DATA_READ && e == VQ_REV_RESET) ||
    (s == VQ_RECV_RESET_READ && e == VQ_REV_STREAM) ||
    (s == VQ_RECV_RESET_READ && e == VQ_REV_FIN) ||
    (s == VQ_RECV_RESET_READ && e == VQ_REV_RESET) ||
    (s == VQ_RECV_RESET_READ && e == VQ_REV_RESET_READ);
*/

#endif
