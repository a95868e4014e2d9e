/* vquic — the stream state machines of RFC 9000 §3.1 (sending part) and §3.2 (receiving part),
 * written for WP. Each function has one behaviour per allowed (state, event) pair, giving the next
 * state, and a `refused` behaviour for every other pair (including values outside the enums):
 * VQ_ERR_STREAM_STATE with *next == s, so a caller that stores *next keeps its state unchanged.
 *
 * Choices where the diagrams are silent (spec: rfc9000#3 — the state machines are largely
 * informative; an implementation must behave consistently with them):
 *  - Sending (our own actions and their ACKs): a STREAM+FIN sent from Ready goes to Data Sent at once
 *    (the note of §3); retransmissions stay in Send / Data Sent; a RESET_STREAM sent again stays in
 *    Reset Sent; a late ACK stays in the terminal state it reached. Any frame sent from a terminal
 *    state, and STREAM after RESET_STREAM, is refused.
 *  - Receiving: the peer's frames (STREAM, STREAM+FIN, RESET_STREAM) can arrive in any state because
 *    of delayed delivery (rfc9000#3.3), so they are never refused: in a state without an arrow for
 *    them they leave it unchanged. Local events (all data received, all read, reset read) are
 *    allowed only on an arrow of Figure 3 or where what they say already holds. */
#include "vquic/stream.h"
#include "stream_state_acsl.h"

/* spec: rfc9000#3.1 — Figure 2. rfc9000#3.1/1 — RESET_STREAM may be the first frame (Ready -> Reset
 * Sent). spec: rfc9000#3.3/1, rfc9000#3.3/2 — nothing is sent from a terminal state, and no STREAM or
 * STREAM_DATA_BLOCKED after RESET_STREAM: those events are refused. */
/*@ requires \valid(next);
    assigns *next;
    ensures \result == VQ_OK || \result == VQ_ERR_STREAM_STATE;
    ensures \result == VQ_OK <==> vq_send_allowed(s, e);
    ensures \result == VQ_OK ==> vq_send_step(s, e, *next);
    behavior ready_send_stream:
      assumes s == VQ_SEND_READY && e == VQ_SEV_SEND_STREAM;
      ensures \result == VQ_OK && *next == VQ_SEND_SEND;
    behavior ready_send_fin:
      assumes s == VQ_SEND_READY && e == VQ_SEV_SEND_FIN;
      ensures \result == VQ_OK && *next == VQ_SEND_DATA_SENT;
    behavior ready_reset:
      assumes s == VQ_SEND_READY && e == VQ_SEV_RESET;
      ensures \result == VQ_OK && *next == VQ_SEND_RESET_SENT;
    behavior send_send_stream:
      assumes s == VQ_SEND_SEND && e == VQ_SEV_SEND_STREAM;
      ensures \result == VQ_OK && *next == VQ_SEND_SEND;
    behavior send_send_fin:
      assumes s == VQ_SEND_SEND && e == VQ_SEV_SEND_FIN;
      ensures \result == VQ_OK && *next == VQ_SEND_DATA_SENT;
    behavior send_reset:
      assumes s == VQ_SEND_SEND && e == VQ_SEV_RESET;
      ensures \result == VQ_OK && *next == VQ_SEND_RESET_SENT;
    behavior data_sent_send_stream:
      assumes s == VQ_SEND_DATA_SENT && e == VQ_SEV_SEND_STREAM;
      ensures \result == VQ_OK && *next == VQ_SEND_DATA_SENT;
    behavior data_sent_send_fin:
      assumes s == VQ_SEND_DATA_SENT && e == VQ_SEV_SEND_FIN;
      ensures \result == VQ_OK && *next == VQ_SEND_DATA_SENT;
    behavior data_sent_all_acked:
      assumes s == VQ_SEND_DATA_SENT && e == VQ_SEV_ALL_ACKED;
      ensures \result == VQ_OK && *next == VQ_SEND_DATA_RECVD;
    behavior data_sent_reset:
      assumes s == VQ_SEND_DATA_SENT && e == VQ_SEV_RESET;
      ensures \result == VQ_OK && *next == VQ_SEND_RESET_SENT;
    behavior data_recvd_all_acked:
      assumes s == VQ_SEND_DATA_RECVD && e == VQ_SEV_ALL_ACKED;
      ensures \result == VQ_OK && *next == VQ_SEND_DATA_RECVD;
    behavior reset_sent_reset:
      assumes s == VQ_SEND_RESET_SENT && e == VQ_SEV_RESET;
      ensures \result == VQ_OK && *next == VQ_SEND_RESET_SENT;
    behavior reset_sent_reset_acked:
      assumes s == VQ_SEND_RESET_SENT && e == VQ_SEV_RESET_ACKED;
      ensures \result == VQ_OK && *next == VQ_SEND_RESET_RECVD;
    behavior reset_recvd_reset_acked:
      assumes s == VQ_SEND_RESET_RECVD && e == VQ_SEV_RESET_ACKED;
      ensures \result == VQ_OK && *next == VQ_SEND_RESET_RECVD;
    behavior refused:
      assumes !vq_send_allowed(s, e);
      ensures \result == VQ_ERR_STREAM_STATE && *next == s;
    complete behaviors;
    disjoint behaviors;
*/
vq_status vq_send_state_next(vq_send_state s, vq_send_event e, vq_send_state *next)
{
  vq_send_state n = s;
  vq_status st = VQ_OK;
  switch (s) {
  case VQ_SEND_READY:
  case VQ_SEND_SEND:
    if (e == VQ_SEV_SEND_STREAM)
      n = VQ_SEND_SEND;
    else if (e == VQ_SEV_SEND_FIN)
      n = VQ_SEND_DATA_SENT;
    else if (e == VQ_SEV_RESET)
      n = VQ_SEND_RESET_SENT;
    else
      st = VQ_ERR_STREAM_STATE; /* nothing sent yet: nothing to acknowledge */
    break;
  case VQ_SEND_DATA_SENT:
    if (e == VQ_SEV_SEND_STREAM || e == VQ_SEV_SEND_FIN)
      n = VQ_SEND_DATA_SENT; /* "only retransmits stream data as necessary" */
    else if (e == VQ_SEV_ALL_ACKED)
      n = VQ_SEND_DATA_RECVD;
    else if (e == VQ_SEV_RESET)
      n = VQ_SEND_RESET_SENT;
    else
      st = VQ_ERR_STREAM_STATE;
    break;
  case VQ_SEND_DATA_RECVD: /* terminal */
    if (e != VQ_SEV_ALL_ACKED) st = VQ_ERR_STREAM_STATE;
    break;
  case VQ_SEND_RESET_SENT:
    if (e == VQ_SEV_RESET_ACKED)
      n = VQ_SEND_RESET_RECVD;
    else if (e != VQ_SEV_RESET)
      st = VQ_ERR_STREAM_STATE;
    break;
  case VQ_SEND_RESET_RECVD: /* terminal */
    if (e != VQ_SEV_RESET_ACKED) st = VQ_ERR_STREAM_STATE;
    break;
  default:
    st = VQ_ERR_STREAM_STATE;
    break;
  }
  *next = n;
  return st;
}

/* spec: rfc9000#3.2 — Figure 3, with both optional arrows between Data Recvd and Reset Recvd (the
 * caller suppresses a RESET_STREAM signal by not passing the event). spec: rfc9000#3.2/2 — a reset
 * may interrupt delivery. spec: rfc9000#3.3 — the three frames can be received in any state. */
/*@ requires \valid(next);
    assigns *next;
    ensures \result == VQ_OK || \result == VQ_ERR_STREAM_STATE;
    ensures \result == VQ_OK <==> vq_recv_allowed(s, e);
    ensures \result == VQ_OK ==> vq_recv_step(s, e, *next);
    behavior recv_stream:
      assumes s == VQ_RECV_RECV && e == VQ_REV_STREAM;
      ensures \result == VQ_OK && *next == VQ_RECV_RECV;
    behavior recv_fin:
      assumes s == VQ_RECV_RECV && e == VQ_REV_FIN;
      ensures \result == VQ_OK && *next == VQ_RECV_SIZE_KNOWN;
    behavior recv_reset:
      assumes s == VQ_RECV_RECV && e == VQ_REV_RESET;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_RECVD;
    behavior size_known_stream:
      assumes s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_STREAM;
      ensures \result == VQ_OK && *next == VQ_RECV_SIZE_KNOWN;
    behavior size_known_fin:
      assumes s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_FIN;
      ensures \result == VQ_OK && *next == VQ_RECV_SIZE_KNOWN;
    behavior size_known_all_received:
      assumes s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_ALL_RECEIVED;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_RECVD;
    behavior size_known_reset:
      assumes s == VQ_RECV_SIZE_KNOWN && e == VQ_REV_RESET;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_RECVD;
    behavior data_recvd_stream:
      assumes s == VQ_RECV_DATA_RECVD && e == VQ_REV_STREAM;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_RECVD;
    behavior data_recvd_fin:
      assumes s == VQ_RECV_DATA_RECVD && e == VQ_REV_FIN;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_RECVD;
    behavior data_recvd_all_received:
      assumes s == VQ_RECV_DATA_RECVD && e == VQ_REV_ALL_RECEIVED;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_RECVD;
    behavior data_recvd_all_read:
      assumes s == VQ_RECV_DATA_RECVD && e == VQ_REV_ALL_READ;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_READ;
    behavior data_recvd_reset:
      assumes s == VQ_RECV_DATA_RECVD && e == VQ_REV_RESET;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_RECVD;
    behavior reset_recvd_stream:
      assumes s == VQ_RECV_RESET_RECVD && e == VQ_REV_STREAM;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_RECVD;
    behavior reset_recvd_fin:
      assumes s == VQ_RECV_RESET_RECVD && e == VQ_REV_FIN;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_RECVD;
    behavior reset_recvd_all_received:
      assumes s == VQ_RECV_RESET_RECVD && e == VQ_REV_ALL_RECEIVED;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_RECVD;
    behavior reset_recvd_reset:
      assumes s == VQ_RECV_RESET_RECVD && e == VQ_REV_RESET;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_RECVD;
    behavior reset_recvd_reset_read:
      assumes s == VQ_RECV_RESET_RECVD && e == VQ_REV_RESET_READ;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_READ;
    behavior data_read_stream:
      assumes s == VQ_RECV_DATA_READ && e == VQ_REV_STREAM;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_READ;
    behavior data_read_fin:
      assumes s == VQ_RECV_DATA_READ && e == VQ_REV_FIN;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_READ;
    behavior data_read_all_received:
      assumes s == VQ_RECV_DATA_READ && e == VQ_REV_ALL_RECEIVED;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_READ;
    behavior data_read_all_read:
      assumes s == VQ_RECV_DATA_READ && e == VQ_REV_ALL_READ;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_READ;
    behavior data_read_reset:
      assumes s == VQ_RECV_DATA_READ && e == VQ_REV_RESET;
      ensures \result == VQ_OK && *next == VQ_RECV_DATA_READ;
    behavior reset_read_stream:
      assumes s == VQ_RECV_RESET_READ && e == VQ_REV_STREAM;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_READ;
    behavior reset_read_fin:
      assumes s == VQ_RECV_RESET_READ && e == VQ_REV_FIN;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_READ;
    behavior reset_read_reset:
      assumes s == VQ_RECV_RESET_READ && e == VQ_REV_RESET;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_READ;
    behavior reset_read_reset_read:
      assumes s == VQ_RECV_RESET_READ && e == VQ_REV_RESET_READ;
      ensures \result == VQ_OK && *next == VQ_RECV_RESET_READ;
    behavior refused:
      assumes !vq_recv_allowed(s, e);
      ensures \result == VQ_ERR_STREAM_STATE && *next == s;
    complete behaviors;
    disjoint behaviors;
*/
vq_status vq_recv_state_next(vq_recv_state s, vq_recv_event e, vq_recv_state *next)
{
  vq_recv_state n = s;
  vq_status st = VQ_OK;
  const int frame = e == VQ_REV_STREAM || e == VQ_REV_FIN || e == VQ_REV_RESET;
  switch (s) {
  case VQ_RECV_RECV:
    if (e == VQ_REV_FIN)
      n = VQ_RECV_SIZE_KNOWN;
    else if (e == VQ_REV_RESET)
      n = VQ_RECV_RESET_RECVD;
    else if (e != VQ_REV_STREAM)
      st = VQ_ERR_STREAM_STATE;
    break;
  case VQ_RECV_SIZE_KNOWN:
    if (e == VQ_REV_ALL_RECEIVED)
      n = VQ_RECV_DATA_RECVD;
    else if (e == VQ_REV_RESET)
      n = VQ_RECV_RESET_RECVD;
    else if (e != VQ_REV_STREAM && e != VQ_REV_FIN)
      st = VQ_ERR_STREAM_STATE;
    break;
  case VQ_RECV_DATA_RECVD:
    if (e == VQ_REV_ALL_READ)
      n = VQ_RECV_DATA_READ;
    else if (e == VQ_REV_RESET)
      n = VQ_RECV_RESET_RECVD; /* optional arrow */
    else if (e != VQ_REV_STREAM && e != VQ_REV_FIN && e != VQ_REV_ALL_RECEIVED)
      st = VQ_ERR_STREAM_STATE;
    break;
  case VQ_RECV_RESET_RECVD:
    if (e == VQ_REV_ALL_RECEIVED)
      n = VQ_RECV_DATA_RECVD; /* optional arrow */
    else if (e == VQ_REV_RESET_READ)
      n = VQ_RECV_RESET_READ;
    else if (!frame)
      st = VQ_ERR_STREAM_STATE;
    break;
  case VQ_RECV_DATA_READ: /* terminal */
    if (!frame && e != VQ_REV_ALL_RECEIVED && e != VQ_REV_ALL_READ) st = VQ_ERR_STREAM_STATE;
    break;
  case VQ_RECV_RESET_READ: /* terminal */
    if (!frame && e != VQ_REV_RESET_READ) st = VQ_ERR_STREAM_STATE;
    break;
  default:
    st = VQ_ERR_STREAM_STATE;
    break;
  }
  *next = n;
  return st;
}
