/* Helpers shared by tests/test_frame.c and harness/fuzz/fuzz_frame.c: frame equality (field by
 * field, byte fields by content) and turning a parsed ACK into the range array the encoder takes. */
#ifndef VQ_FRAME_UTIL_H
#define VQ_FRAME_UTIL_H

#include <string.h>
#include "vquic/frame.h"

/* The ranges of an ACK, largest first: from ranges_in when set (a frame built for encoding), else
 * walked with the iterator (a parsed frame). Returns the count, or -1 if more than cap or if the
 * iterator stops on an ill-formed section. */
static inline long fr_ack_ranges(const vq_frame_ack *a, vq_ack_range *out, size_t cap)
{
  if (a->ranges_in) {
    if (a->range_count_in > cap) return -1;
    memcpy(out, a->ranges_in, a->range_count_in * sizeof *out);
    return (long)a->range_count_in;
  }
  vq_ack_iter it;
  vq_ack_range r;
  size_t n = 0;
  vq_ack_iter_init(&it, a);
  while (vq_ack_iter_next(&it, &r)) {
    if (n == cap) return -1;
    out[n++] = r;
  }
  if (it.status != VQ_OK) return -1;
  return (long)n;
}

static inline int fr_bytes_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
  return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

/* 1 when a and b are the same frame. */
static inline int fr_eq(const vq_frame *a, const vq_frame *b)
{
  if (a->type != b->type) return 0;
  const uint64_t t = a->type;
  switch (t) {
  case VQ_FRAME_PADDING: return a->padding.count == b->padding.count;
  case VQ_FRAME_PING:
  case VQ_FRAME_HANDSHAKE_DONE: return 1;
  case VQ_FRAME_ACK:
  case VQ_FRAME_ACK_ECN: {
    static vq_ack_range ra[4096], rb[4096];
    long na = fr_ack_ranges(&a->ack, ra, 4096), nb = fr_ack_ranges(&b->ack, rb, 4096);
    if (na < 0 || na != nb || memcmp(ra, rb, (size_t)na * sizeof ra[0]) != 0) return 0;
    if (a->ack.delay != b->ack.delay) return 0;
    if (t == VQ_FRAME_ACK_ECN && (a->ack.ect0 != b->ack.ect0 || a->ack.ect1 != b->ack.ect1 ||
                                  a->ack.ecn_ce != b->ack.ecn_ce))
      return 0;
    return 1;
  }
  case VQ_FRAME_RESET_STREAM:
    return a->reset_stream.stream_id == b->reset_stream.stream_id &&
           a->reset_stream.error_code == b->reset_stream.error_code &&
           a->reset_stream.final_size == b->reset_stream.final_size;
  case VQ_FRAME_STOP_SENDING:
    return a->stop_sending.stream_id == b->stop_sending.stream_id &&
           a->stop_sending.error_code == b->stop_sending.error_code;
  case VQ_FRAME_CRYPTO:
    return a->crypto.offset == b->crypto.offset &&
           fr_bytes_eq(a->crypto.data, a->crypto.len, b->crypto.data, b->crypto.len);
  case VQ_FRAME_NEW_TOKEN:
    return fr_bytes_eq(a->new_token.token, a->new_token.len, b->new_token.token, b->new_token.len);
  case VQ_FRAME_MAX_DATA: return a->max_data.maximum == b->max_data.maximum;
  case VQ_FRAME_MAX_STREAM_DATA:
    return a->max_stream_data.stream_id == b->max_stream_data.stream_id &&
           a->max_stream_data.maximum == b->max_stream_data.maximum;
  case VQ_FRAME_MAX_STREAMS_BIDI:
  case VQ_FRAME_MAX_STREAMS_UNI: return a->max_streams.maximum == b->max_streams.maximum;
  case VQ_FRAME_DATA_BLOCKED: return a->data_blocked.maximum == b->data_blocked.maximum;
  case VQ_FRAME_STREAM_DATA_BLOCKED:
    return a->stream_data_blocked.stream_id == b->stream_data_blocked.stream_id &&
           a->stream_data_blocked.maximum == b->stream_data_blocked.maximum;
  case VQ_FRAME_STREAMS_BLOCKED_BIDI:
  case VQ_FRAME_STREAMS_BLOCKED_UNI: return a->streams_blocked.maximum == b->streams_blocked.maximum;
  case VQ_FRAME_NEW_CONNECTION_ID:
    return a->new_cid.sequence == b->new_cid.sequence &&
           a->new_cid.retire_prior_to == b->new_cid.retire_prior_to &&
           fr_bytes_eq(a->new_cid.cid, a->new_cid.cid_len, b->new_cid.cid, b->new_cid.cid_len) &&
           memcmp(a->new_cid.reset_token, b->new_cid.reset_token, 16) == 0;
  case VQ_FRAME_RETIRE_CONNECTION_ID: return a->retire_cid.sequence == b->retire_cid.sequence;
  case VQ_FRAME_PATH_CHALLENGE:
  case VQ_FRAME_PATH_RESPONSE: return memcmp(a->path.data, b->path.data, 8) == 0;
  case VQ_FRAME_CONNECTION_CLOSE:
  case VQ_FRAME_CONNECTION_CLOSE_APP:
    return a->close.error_code == b->close.error_code && a->close.frame_type == b->close.frame_type &&
           fr_bytes_eq(a->close.reason, a->close.reason_len, b->close.reason, b->close.reason_len);
  case VQ_FRAME_DATAGRAM:
  case VQ_FRAME_DATAGRAM_LEN:
    return fr_bytes_eq(a->datagram.data, a->datagram.len, b->datagram.data, b->datagram.len);
  default:
    if (t >= VQ_FRAME_STREAM && t <= 0x0f)
      return a->stream.stream_id == b->stream.stream_id && a->stream.offset == b->stream.offset &&
             a->stream.fin == b->stream.fin &&
             fr_bytes_eq(a->stream.data, a->stream.len, b->stream.data, b->stream.len);
    return 0;
  }
}

/* Makes a parsed frame encodable: a parsed ACK gets its ranges as an array (store[0..cap)).
 * Returns 0, or -1 if the ranges do not fit in store. */
static inline int fr_prepare_encode(vq_frame *f, vq_ack_range *store, size_t cap)
{
  if (f->type != VQ_FRAME_ACK && f->type != VQ_FRAME_ACK_ECN) return 0;
  if (f->ack.ranges_in) return 0;
  long n = fr_ack_ranges(&f->ack, store, cap);
  if (n < 0) return -1;
  f->ack.ranges_in = store;
  f->ack.range_count_in = (size_t)n;
  return 0;
}

#endif
