/* vquic — ACSL logic of the HTTP/3 frame module (RFC 9114 §7, §6.2, §4.1): the frame classes, the
 * header check, and the allowed transitions of the control and message stream state machines.
 * Pure logic; compiles to nothing. */
#ifndef VQ_H3FRAME_ACSL_H
#define VQ_H3FRAME_ACSL_H

#include "vquic/h3frame.h"
#include "vq_acsl.h"

/*@
  // RFC 9114 §7.2.8, §6.2.3, §7.2.4.1: reserved (grease) values 0x1f * N + 0x21.
  predicate vq_h3_reserved(integer v) = v >= 0x21 && (v - 0x21) % 0x1f == 0;

  // RFC 9114 §7.2 Table 2, §7.2.8, §9: what a frame type is.
  logic integer vq_h3_fclass(integer t) =
    t == 0x00 ? VQ_H3_FC_DATA :
    t == 0x01 ? VQ_H3_FC_HEADERS :
    t == 0x03 ? VQ_H3_FC_CANCEL_PUSH :
    t == 0x04 ? VQ_H3_FC_SETTINGS :
    t == 0x05 ? VQ_H3_FC_PUSH_PROMISE :
    t == 0x07 ? VQ_H3_FC_GOAWAY :
    t == 0x0d ? VQ_H3_FC_MAX_PUSH_ID :
    (t == 0x02 || t == 0x06 || t == 0x08 || t == 0x09) ? VQ_H3_FC_H2_RESERVED :
    (t >= 0x21 && (t - 0x21) % 0x1f == 0) ? VQ_H3_FC_RESERVED :
    VQ_H3_FC_UNKNOWN;

  // Frames whose payload is exactly one varint.
  predicate vq_h3_fc_idframe(integer c) =
    c == VQ_H3_FC_CANCEL_PUSH || c == VQ_H3_FC_GOAWAY || c == VQ_H3_FC_MAX_PUSH_ID;

  // Frames the caller buffers whole (everything but DATA and skipped frames).
  predicate vq_h3_fc_buffered(integer c) =
    c == VQ_H3_FC_HEADERS || c == VQ_H3_FC_SETTINGS || c == VQ_H3_FC_PUSH_PROMISE ||
    vq_h3_fc_idframe(c);

  // The verdict of the stream-independent header check.
  logic integer vq_h3_hdr_status(integer t, integer l, integer max) =
    vq_h3_fclass(t) == VQ_H3_FC_H2_RESERVED ? VQ_ERR_H3_FRAME_UNEXPECTED :
    ((vq_h3_fclass(t) == VQ_H3_FC_CANCEL_PUSH || vq_h3_fclass(t) == VQ_H3_FC_GOAWAY ||
      vq_h3_fclass(t) == VQ_H3_FC_MAX_PUSH_ID) && (l == 0 || l > 8)) ? VQ_ERR_H3_FRAME :
    ((vq_h3_fclass(t) == VQ_H3_FC_HEADERS || vq_h3_fclass(t) == VQ_H3_FC_SETTINGS ||
      vq_h3_fclass(t) == VQ_H3_FC_PUSH_PROMISE || vq_h3_fclass(t) == VQ_H3_FC_CANCEL_PUSH ||
      vq_h3_fclass(t) == VQ_H3_FC_GOAWAY || vq_h3_fclass(t) == VQ_H3_FC_MAX_PUSH_ID) && l > max)
      ? VQ_ERR_H3_EXCESSIVE_LOAD :
    VQ_OK;

  // A whole frame header (two varints) is in the first len bytes at b.
  predicate vq_h3_hdr_ready{L}(uint8_t *b, integer len) =
    len > 0 && len > vq_varint_size_of(b[0]) &&
    len >= vq_varint_size_of(b[0]) + vq_varint_size_of(b[vq_varint_size_of(b[0])]);

  // RFC 9114 §6.2.1, §7.2.4, §7.2 Table 1, §7.2.7: the control stream. SETTINGS first and once;
  // then CANCEL_PUSH, GOAWAY, MAX_PUSH_ID (received by a server only) and skipped frames.
  predicate vq_h3_ctrl_allowed(integer s, integer c, integer srv) =
    (s == VQ_H3_CTRL_AWAIT_SETTINGS && c == VQ_H3_FC_SETTINGS) ||
    (s == VQ_H3_CTRL_OPEN &&
       (c == VQ_H3_FC_CANCEL_PUSH || c == VQ_H3_FC_GOAWAY || c == VQ_H3_FC_RESERVED ||
        c == VQ_H3_FC_UNKNOWN || (c == VQ_H3_FC_MAX_PUSH_ID && srv != 0)));

  logic integer vq_h3_ctrl_next(integer s, integer c) =
    s == VQ_H3_CTRL_AWAIT_SETTINGS ? VQ_H3_CTRL_OPEN : s;

  predicate vq_h3_ctrl_transition(integer s0, integer c, integer srv, integer s1) =
    vq_h3_ctrl_allowed(s0, c, srv) && s1 == vq_h3_ctrl_next(s0, c);

  // RFC 9114 §4.1, §7.2 Table 1, §7.2.5: a message stream. HEADERS, then DATA*, then an optional
  // trailing HEADERS; PUSH_PROMISE where the reader allows it; skipped frames anywhere.
  predicate vq_h3_msg_state_ok(integer s) =
    s == VQ_H3_MSG_AWAIT_HEADERS || s == VQ_H3_MSG_HEADERS || s == VQ_H3_MSG_DATA ||
    s == VQ_H3_MSG_TRAILERS;

  predicate vq_h3_msg_allowed(integer s, integer c, integer pp) =
    vq_h3_msg_state_ok(s) &&
    (c == VQ_H3_FC_RESERVED || c == VQ_H3_FC_UNKNOWN ||
     (c == VQ_H3_FC_PUSH_PROMISE && pp != 0) ||
     (c == VQ_H3_FC_HEADERS && s != VQ_H3_MSG_TRAILERS) ||
     (c == VQ_H3_FC_DATA && (s == VQ_H3_MSG_HEADERS || s == VQ_H3_MSG_DATA)));

  logic integer vq_h3_msg_next(integer s, integer c) =
    c == VQ_H3_FC_HEADERS ? (s == VQ_H3_MSG_AWAIT_HEADERS ? VQ_H3_MSG_HEADERS : VQ_H3_MSG_TRAILERS) :
    c == VQ_H3_FC_DATA ? VQ_H3_MSG_DATA :
    s;

  predicate vq_h3_msg_transition(integer s0, integer c, integer pp, integer s1) =
    vq_h3_msg_allowed(s0, c, pp) && s1 == vq_h3_msg_next(s0, c);

  // RFC 9114 §6.2, §6.2.3, RFC 9204 §4.2: unidirectional stream types.
  logic integer vq_h3_uclass(integer t) =
    t == 0x00 ? VQ_H3_UNI_CONTROL :
    t == 0x01 ? VQ_H3_UNI_PUSH :
    t == 0x02 ? VQ_H3_UNI_QPACK_ENCODER :
    t == 0x03 ? VQ_H3_UNI_QPACK_DECODER :
    (t >= 0x21 && (t - 0x21) % 0x1f == 0) ? VQ_H3_UNI_RESERVED :
    VQ_H3_UNI_UNKNOWN;
*/

#endif
