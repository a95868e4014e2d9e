/* vquic — ACSL logic for the frame module (src/core/frame*.c): where zero-copy fields may point and
 * what a well-formed frame is. Pure logic; compiles to nothing. */
#ifndef VQ_FRAME_ACSL_H
#define VQ_FRAME_ACSL_H

#include "vq_acsl.h"
#include "vquic/frame.h"

/*@
  // The n bytes at p lie inside buf[0 .. len).
  predicate vq_span_in(uint8_t *p, integer n, uint8_t *buf, integer len) =
    \base_addr(p) == \base_addr(buf) && buf <= p && 0 <= n && p + n <= buf + len;

  logic integer vq_frame_varint_max = 4611686018427387903;

  // The frame types of RFC 9000 §19 and RFC 9221 §4.
  predicate vq_frame_known(integer t) = 0 <= t <= 0x1e || t == 0x30 || t == 0x31;
  predicate vq_frame_is_stream(integer t) = 8 <= t <= 15;
  predicate vq_frame_is_ack(integer t) = t == 2 || t == 3;
  predicate vq_frame_is_close(integer t) = t == 0x1c || t == 0x1d;
  predicate vq_frame_is_path(integer t) = t == 0x1a || t == 0x1b;
  predicate vq_frame_is_datagram(integer t) = t == 0x30 || t == 0x31;

  // Every zero-copy field of a parsed frame of type f->type points inside buf[0 .. len).
  predicate vq_frame_in{L}(vq_frame *f, uint8_t *buf, integer len) =
    (vq_frame_is_ack(f->type) ==> vq_span_in(f->ack.ranges, f->ack.ranges_len, buf, len)) &&
    (f->type == 6 ==> vq_span_in(f->crypto.data, f->crypto.len, buf, len)) &&
    (f->type == 7 ==> vq_span_in(f->new_token.token, f->new_token.len, buf, len)) &&
    (vq_frame_is_stream(f->type) ==> vq_span_in(f->stream.data, f->stream.len, buf, len)) &&
    (f->type == 0x18 ==> vq_span_in(f->new_cid.cid, f->new_cid.cid_len, buf, len) &&
                         vq_span_in(f->new_cid.reset_token, 16, buf, len)) &&
    (vq_frame_is_path(f->type) ==> vq_span_in(f->path.data, 8, buf, len)) &&
    (vq_frame_is_close(f->type) ==> vq_span_in(f->close.reason, f->close.reason_len, buf, len)) &&
    (vq_frame_is_datagram(f->type) ==> vq_span_in(f->datagram.data, f->datagram.len, buf, len));

  // The RFC's limits on a frame's fields, as checked by vq_frame_parse (RFC 9000 §19).
  predicate vq_frame_wf{L}(vq_frame *f) =
    (f->type == 0 ==> f->padding.count >= 1) &&
    (vq_frame_is_ack(f->type) ==> f->ack.first_range <= f->ack.largest <= vq_frame_varint_max) &&
    (f->type == 6 ==> f->crypto.offset + f->crypto.len <= vq_frame_varint_max) &&
    (f->type == 7 ==> f->new_token.len >= 1) &&
    (vq_frame_is_stream(f->type) ==> f->stream.offset + f->stream.len <= vq_frame_varint_max &&
                                    f->stream.fin == f->type % 2) &&
    ((f->type == 0x12 || f->type == 0x13) ==> f->max_streams.maximum <= 1152921504606846976) &&
    ((f->type == 0x16 || f->type == 0x17) ==> f->streams_blocked.maximum <= 1152921504606846976) &&
    (f->type == 0x18 ==> 1 <= f->new_cid.cid_len <= 20 &&
                         f->new_cid.retire_prior_to <= f->new_cid.sequence);

  // The byte fields vq_frame_encode reads are readable.
  predicate vq_frame_readable{L}(vq_frame *f) =
    (vq_frame_is_ack(f->type) ==>
       (f->ack.range_count_in > 0 ==> \valid_read(f->ack.ranges_in + (0 .. f->ack.range_count_in - 1)))) &&
    (f->type == 6 ==> vq_readable(f->crypto.data, f->crypto.len)) &&
    (f->type == 7 ==> vq_readable(f->new_token.token, f->new_token.len)) &&
    (vq_frame_is_stream(f->type) ==> vq_readable(f->stream.data, f->stream.len)) &&
    (f->type == 0x18 ==> vq_readable(f->new_cid.cid, f->new_cid.cid_len) &&
                         \valid_read(f->new_cid.reset_token + (0 .. 15))) &&
    (vq_frame_is_path(f->type) ==> \valid_read(f->path.data + (0 .. 7))) &&
    (vq_frame_is_close(f->type) ==> vq_readable(f->close.reason, f->close.reason_len)) &&
    (vq_frame_is_datagram(f->type) ==> vq_readable(f->datagram.data, f->datagram.len));
*/

#endif
