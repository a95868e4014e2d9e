/* vquic — which HTTP/3 frames are allowed where (RFC 9114 §7.2 Table 1, §6.2.1, §4.1): the control
 * stream and message stream state machines. Each function ensures the ACSL transition predicate of
 * h3frame_acsl.h, and that it returns VQ_OK exactly when the predicate allows the frame. */
#include "vquic/h3frame.h"
#include "h3/h3frame_acsl.h"

/*@ requires \valid(c);
    assigns *c;
    ensures c->state == VQ_H3_CTRL_AWAIT_SETTINGS;
    ensures c->is_server == (is_server != 0 ? 1 : 0); */
void vq_h3_ctrl_init(vq_h3_ctrl *c, int is_server)
{
  c->state = VQ_H3_CTRL_AWAIT_SETTINGS;
  c->is_server = is_server != 0 ? 1u : 0u;
}

/* spec: rfc9114#6.2.1/1, rfc9114#6.2.1/2 — the first frame must be SETTINGS, else H3_MISSING_SETTINGS
 * (rfc9114#9/3: an unknown or reserved frame does not satisfy it either).
 * spec: rfc9114#7.2.4/2 — a second SETTINGS is H3_FRAME_UNEXPECTED.
 * spec: rfc9114#7.2.1/2, rfc9114#7.2.2/1, rfc9114#7.2.5/9 — DATA, HEADERS, PUSH_PROMISE on the control
 * stream are H3_FRAME_UNEXPECTED; rfc9114#7.2.8/3 — so are HTTP/2 types.
 * spec: rfc9114#7.2.7/3 — a client receiving MAX_PUSH_ID: H3_FRAME_UNEXPECTED.
 * spec: rfc9114#7.2.8/1, rfc9114#7.2.8/2, rfc9114#9/1 — reserved and unknown frames are allowed and
 * ignored (no meaning: the state does not change). */
/*@ requires \valid(c);
    assigns c->state;
    ensures \result == VQ_OK <==>
            vq_h3_ctrl_allowed(\old(c->state), vq_h3_fclass(type), c->is_server);
    ensures \result == VQ_OK ==>
            vq_h3_ctrl_transition(\old(c->state), vq_h3_fclass(type), c->is_server, c->state);
    ensures \result != VQ_OK ==> c->state == \old(c->state);
    ensures \result != VQ_OK && \old(c->state) == VQ_H3_CTRL_AWAIT_SETTINGS ==>
            \result == VQ_ERR_H3_MISSING_SETTINGS;
    ensures \result != VQ_OK && \old(c->state) != VQ_H3_CTRL_AWAIT_SETTINGS ==>
            \result == VQ_ERR_H3_FRAME_UNEXPECTED; */
vq_status vq_h3_ctrl_on_frame(vq_h3_ctrl *c, uint64_t type)
{
  const vq_h3_frame_class fc = vq_h3_frame_classify(type);
  const vq_h3_ctrl_state s = c->state;
  if (s == VQ_H3_CTRL_AWAIT_SETTINGS) {
    if (fc != VQ_H3_FC_SETTINGS) return VQ_ERR_H3_MISSING_SETTINGS;
    c->state = VQ_H3_CTRL_OPEN;
    return VQ_OK;
  }
  if (s != VQ_H3_CTRL_OPEN) return VQ_ERR_H3_FRAME_UNEXPECTED;  /* not a state: refuse */
  if (fc == VQ_H3_FC_CANCEL_PUSH || fc == VQ_H3_FC_GOAWAY || fc == VQ_H3_FC_RESERVED ||
      fc == VQ_H3_FC_UNKNOWN)
    return VQ_OK;
  if (fc == VQ_H3_FC_MAX_PUSH_ID && c->is_server != 0) return VQ_OK;
  return VQ_ERR_H3_FRAME_UNEXPECTED;
}

/*@ requires \valid(m);
    assigns *m;
    ensures m->state == VQ_H3_MSG_AWAIT_HEADERS;
    ensures m->push_promise_ok == (push_promise_ok != 0 ? 1 : 0); */
void vq_h3_msg_init(vq_h3_msg *m, int push_promise_ok)
{
  m->state = VQ_H3_MSG_AWAIT_HEADERS;
  m->push_promise_ok = push_promise_ok != 0 ? 1u : 0u;
}

/* spec: rfc9114#4.1/3 — an invalid sequence of frames is H3_FRAME_UNEXPECTED: DATA before HEADERS, or
 * DATA / HEADERS after the trailing HEADERS.
 * spec: rfc9114#4.1/5, rfc9114#7.2.5/11 — PUSH_PROMISE on a push stream or received by a server is
 * H3_FRAME_UNEXPECTED; rfc9114#4.1/4 — elsewhere it may come anywhere in a response.
 * spec: rfc9114#4.1/6 — unknown and reserved frames may come before, after or between the others.
 * spec: rfc9114#7.2.3/7, rfc9114#7.2.4/4, rfc9114#7.2.6/2, rfc9114#7.2.7/1 — control-stream frames on
 * a message stream are H3_FRAME_UNEXPECTED; rfc9114#7.2.8/3 — so are HTTP/2 types. */
/*@ requires \valid(m);
    assigns m->state;
    ensures \result == VQ_OK || \result == VQ_ERR_H3_FRAME_UNEXPECTED;
    ensures \result == VQ_OK <==>
            vq_h3_msg_allowed(\old(m->state), vq_h3_fclass(type), m->push_promise_ok);
    ensures \result == VQ_OK ==>
            vq_h3_msg_transition(\old(m->state), vq_h3_fclass(type), m->push_promise_ok, m->state);
    ensures \result != VQ_OK ==> m->state == \old(m->state); */
vq_status vq_h3_msg_on_frame(vq_h3_msg *m, uint64_t type)
{
  const vq_h3_frame_class fc = vq_h3_frame_classify(type);
  const vq_h3_msg_state s = m->state;
  if (s != VQ_H3_MSG_AWAIT_HEADERS && s != VQ_H3_MSG_HEADERS && s != VQ_H3_MSG_DATA &&
      s != VQ_H3_MSG_TRAILERS)
    return VQ_ERR_H3_FRAME_UNEXPECTED;
  if (fc == VQ_H3_FC_RESERVED || fc == VQ_H3_FC_UNKNOWN) return VQ_OK;
  if (fc == VQ_H3_FC_PUSH_PROMISE) {
    if (m->push_promise_ok != 0) return VQ_OK;
    return VQ_ERR_H3_FRAME_UNEXPECTED;
  }
  if (fc == VQ_H3_FC_HEADERS) {
    if (s == VQ_H3_MSG_TRAILERS) return VQ_ERR_H3_FRAME_UNEXPECTED;
    if (s == VQ_H3_MSG_AWAIT_HEADERS) m->state = VQ_H3_MSG_HEADERS;
    else m->state = VQ_H3_MSG_TRAILERS;
    return VQ_OK;
  }
  if (fc == VQ_H3_FC_DATA) {
    if (s != VQ_H3_MSG_HEADERS && s != VQ_H3_MSG_DATA) return VQ_ERR_H3_FRAME_UNEXPECTED;
    m->state = VQ_H3_MSG_DATA;
    return VQ_OK;
  }
  return VQ_ERR_H3_FRAME_UNEXPECTED;
}

/* spec: rfc9114#4.1/8 — interim (1xx) responses precede the final response: after one, a header
 * section is expected again. */
/*@ requires \valid(m);
    assigns m->state;
    behavior interim:
      assumes m->state == VQ_H3_MSG_HEADERS;
      ensures \result == VQ_OK && m->state == VQ_H3_MSG_AWAIT_HEADERS;
    behavior misuse:
      assumes m->state != VQ_H3_MSG_HEADERS;
      ensures \result == VQ_ERR_INVALID_ARGUMENT && m->state == \old(m->state);
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_msg_interim(vq_h3_msg *m)
{
  if (m->state != VQ_H3_MSG_HEADERS) return VQ_ERR_INVALID_ARGUMENT;
  m->state = VQ_H3_MSG_AWAIT_HEADERS;
  return VQ_OK;
}

/*@ requires \valid_read(m);
    assigns \nothing;
    ensures \result == 1 <==> (m->state == VQ_H3_MSG_HEADERS || m->state == VQ_H3_MSG_DATA ||
                               m->state == VQ_H3_MSG_TRAILERS);
    ensures \result == 0 || \result == 1; */
int vq_h3_msg_can_end(const vq_h3_msg *m)
{
  const vq_h3_msg_state s = m->state;
  return s == VQ_H3_MSG_HEADERS || s == VQ_H3_MSG_DATA || s == VQ_H3_MSG_TRAILERS ? 1 : 0;
}
