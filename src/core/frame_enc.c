/* vquic — frame encoding (RFC 9000 §19, RFC 9221 §4), written for WP and Eva.
 *
 * One writer serves vq_frame_encode and vq_frame_encoded_len: with buf == NULL it only counts, so
 * the length can never disagree with what is written. Writers take the whole output buf[0 .. cap)
 * and a cursor *pos <= cap (see frame.c for why the buffer is not re-based). */
#include "vquic/frame.h"
#include "frame_acsl.h"

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX ((uint64_t)4611686018427387903u)

/*@ // The bytes a writer may change: none when buf is NULL (measuring only).
    logic integer out_cap(uint8_t *buf, integer cap) = buf == \null ? 0 : cap;
    predicate out_ok{L}(uint8_t *buf, integer cap) = buf == \null || vq_writable(buf, cap);
    predicate out_sep{L}(size_t *pos, uint8_t *buf, integer cap) =
      buf == \null || \separated(pos, buf + (0 .. cap - 1)); */

/* Writes v as a shortest-form varint (RFC 9000 §16) at buf[*pos ..). */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap;
    ensures \result == VQ_OK ==> \old(*pos) < *pos;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT || \result == VQ_ERR_BUFFER_TOO_SMALL; */
static vq_status wr_varint(uint8_t *buf, size_t cap, size_t *pos, uint64_t v)
{
  const size_t p = *pos;
  if (v < 64u) {
    if (cap - p < 1u) return VQ_ERR_BUFFER_TOO_SMALL;
    if (buf != NULL) buf[p] = (uint8_t)v;
    *pos = p + 1u;
    return VQ_OK;
  }
  if (v < 16384u) {
    if (cap - p < 2u) return VQ_ERR_BUFFER_TOO_SMALL;
    if (buf != NULL) {
      buf[p] = (uint8_t)(64u + v / 256u);
      buf[p + 1u] = (uint8_t)(v % 256u);
    }
    *pos = p + 2u;
    return VQ_OK;
  }
  if (v < 1073741824u) {
    if (cap - p < 4u) return VQ_ERR_BUFFER_TOO_SMALL;
    if (buf != NULL) {
      const uint64_t q1 = v / 256u, q2 = q1 / 256u, q3 = q2 / 256u;
      buf[p] = (uint8_t)(128u + q3);
      buf[p + 1u] = (uint8_t)(q2 % 256u);
      buf[p + 2u] = (uint8_t)(q1 % 256u);
      buf[p + 3u] = (uint8_t)(v % 256u);
    }
    *pos = p + 4u;
    return VQ_OK;
  }
  if (v > VARINT_MAX) return VQ_ERR_INVALID_ARGUMENT;
  if (cap - p < 8u) return VQ_ERR_BUFFER_TOO_SMALL;
  if (buf != NULL) {
    const uint64_t q1 = v / 256u, q2 = q1 / 256u, q3 = q2 / 256u, q4 = q3 / 256u;
    const uint64_t q5 = q4 / 256u, q6 = q5 / 256u, q7 = q6 / 256u;
    buf[p] = (uint8_t)(192u + q7);
    buf[p + 1u] = (uint8_t)(q6 % 256u);
    buf[p + 2u] = (uint8_t)(q5 % 256u);
    buf[p + 3u] = (uint8_t)(q4 % 256u);
    buf[p + 4u] = (uint8_t)(q3 % 256u);
    buf[p + 5u] = (uint8_t)(q2 % 256u);
    buf[p + 6u] = (uint8_t)(q1 % 256u);
    buf[p + 7u] = (uint8_t)(v % 256u);
  }
  *pos = p + 8u;
  return VQ_OK;
}

/* Copies n bytes from src to buf[*pos ..), checking the room byte by byte. */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    requires n > 0 ==> \valid_read(src + (0 .. n - 1));
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL; */
static vq_status wr_bytes(uint8_t *buf, size_t cap, size_t *pos, const uint8_t *src, size_t n)
{
  const size_t p = *pos;
  if (buf == NULL) {
    if (cap - p < n) return VQ_ERR_BUFFER_TOO_SMALL;
    *pos = p + n;
    return VQ_OK;
  }
  /*@ loop invariant 0 <= i <= n;
      loop invariant p + i <= cap;
      loop assigns i, buf[p .. cap - 1];
      loop variant n - i; */
  for (size_t i = 0; i < n; i++) {
    const size_t q = p + i;
    if (q >= cap) return VQ_ERR_BUFFER_TOO_SMALL;
    buf[q] = src[i];
  }
  *pos = p + n;
  return VQ_OK;
}

/* Writes varints a, then b (the common two-field frames). */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap; */
static vq_status wr_two(uint8_t *buf, size_t cap, size_t *pos, uint64_t a, uint64_t b)
{
  const vq_status st = wr_varint(buf, cap, pos, a);
  if (st != VQ_OK) return st;
  return wr_varint(buf, cap, pos, b);
}

/* spec: rfc9000#19.1 — PADDING: count bytes of 0x00. */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos == 0;
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap;
    ensures \result == VQ_OK ==> *pos >= 1; */
static vq_status enc_padding(uint8_t *buf, size_t cap, size_t *pos, size_t count)
{
  if (count == 0u) return VQ_ERR_INVALID_ARGUMENT;
  if (cap < count) return VQ_ERR_BUFFER_TOO_SMALL;
  if (buf != NULL) {
    /*@ loop invariant 0 <= i <= count;
        loop assigns i, buf[0 .. count - 1];
        loop variant count - i; */
    for (size_t i = 0; i < count; i++) buf[i] = 0u;
  }
  *pos = count;
  return VQ_OK;
}

/* spec: rfc9000#19.3 — ACK from ranges[0 .. n) ordered largest first, each smallest <= largest and
 * each range's largest at least 2 below the previous smallest (a gap of at least one unacknowledged
 * packet: Gap = previous smallest - largest - 2 >= 0, rfc9000#19.3.1). */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    requires \valid_read(a);
    requires a->range_count_in > 0 ==> \valid_read(a->ranges_in + (0 .. a->range_count_in - 1));
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), a);
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), a->ranges_in + (0 .. a->range_count_in - 1));
    requires t == 2 || t == 3;
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap; */
static vq_status enc_ack(uint8_t *buf, size_t cap, size_t *pos, uint64_t t, const vq_frame_ack *a)
{
  vq_status st;
  const vq_ack_range *r = a->ranges_in;
  const size_t n = a->range_count_in;
  if (n == 0u) return VQ_ERR_INVALID_ARGUMENT;
  const uint64_t top = r[0].largest, bottom = r[0].smallest;
  if (top > VARINT_MAX || bottom > VARINT_MAX) return VQ_ERR_INVALID_ARGUMENT;
  /* Differences of values <= 2^62-1 taken as int64_t: the sign test is the order check (see the
   * note on ack_walk in frame.c). */
  const int64_t first = (int64_t)top - (int64_t)bottom;
  if (first < 0) return VQ_ERR_INVALID_ARGUMENT;
  if ((st = wr_two(buf, cap, pos, top, a->delay)) != VQ_OK) return st;
  if ((st = wr_two(buf, cap, pos, (uint64_t)(n - 1u), (uint64_t)first)) != VQ_OK) return st;
  int64_t prev = (int64_t)bottom;
  /*@ loop invariant 1 <= i <= n;
      loop invariant \at(*pos, Pre) <= *pos <= cap;
      loop invariant 0 <= prev <= 4611686018427387903;
      loop assigns i, prev, st, *pos, buf[0 .. out_cap(buf, cap) - 1];
      loop variant n - i; */
  for (size_t i = 1; i < n; i++) {
    const uint64_t lg = r[i].largest, sm = r[i].smallest;
    if (lg > VARINT_MAX || sm > VARINT_MAX) return VQ_ERR_INVALID_ARGUMENT;
    const int64_t gap = prev - 2 - (int64_t)lg;
    const int64_t len = (int64_t)lg - (int64_t)sm;
    if (gap < 0 || len < 0) return VQ_ERR_INVALID_ARGUMENT;
    if ((st = wr_two(buf, cap, pos, (uint64_t)gap, (uint64_t)len)) != VQ_OK) return st;
    prev = (int64_t)sm;
  }
  if (t == VQ_FRAME_ACK_ECN) {
    /* spec: rfc9000#19.3.2 — ECT(0), ECT(1), ECN-CE counts. */
    if ((st = wr_two(buf, cap, pos, a->ect0, a->ect1)) != VQ_OK) return st;
    if ((st = wr_varint(buf, cap, pos, a->ecn_ce)) != VQ_OK) return st;
  }
  return VQ_OK;
}

/* Length (i) then the bytes. */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    requires n > 0 ==> \valid_read(src + (0 .. n - 1));
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap; */
static vq_status wr_len_bytes(uint8_t *buf, size_t cap, size_t *pos, const uint8_t *src, size_t n)
{
  const vq_status st = wr_varint(buf, cap, pos, (uint64_t)n);
  if (st != VQ_OK) return st;
  return wr_bytes(buf, cap, pos, src, n);
}

/* spec: rfc9000#19.8 — STREAM: the OFF/LEN/FIN bits come from t; without OFF the offset must be 0;
 * offset + length <= 2^62-1. */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    requires \valid_read(s) && vq_readable(s->data, s->len);
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), s);
    requires 8 <= t <= 15;
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap; */
static vq_status enc_stream(uint8_t *buf, size_t cap, size_t *pos, uint64_t t, const vq_frame_stream *s)
{
  vq_status st;
  /* Read every field before writing: the provers then need no frame condition on *s. */
  const uint8_t *const data = s->data;
  const size_t n = s->len;
  const uint64_t offset = s->offset;
  if (s->fin != t % 2u) return VQ_ERR_INVALID_ARGUMENT;
  if (offset > VARINT_MAX || (uint64_t)n > VARINT_MAX - offset) return VQ_ERR_INVALID_ARGUMENT;
  if (t < 12u && offset != 0u) return VQ_ERR_INVALID_ARGUMENT;
  if ((st = wr_varint(buf, cap, pos, s->stream_id)) != VQ_OK) return st;
  if (t >= 12u) {
    if ((st = wr_varint(buf, cap, pos, offset)) != VQ_OK) return st;
  }
  if (t == 10u || t == 11u || t == 14u || t == 15u) return wr_len_bytes(buf, cap, pos, data, n);
  return wr_bytes(buf, cap, pos, data, n);
}

/* spec: rfc9000#19.6 — CRYPTO: Offset, Length, data; offset + length <= 2^62-1. */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    requires \valid_read(c) && vq_readable(c->data, c->len);
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), c);
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap; */
static vq_status enc_crypto(uint8_t *buf, size_t cap, size_t *pos, const vq_frame_crypto *c)
{
  vq_status st;
  const uint8_t *const data = c->data;
  const size_t n = c->len;
  const uint64_t offset = c->offset;
  if (offset > VARINT_MAX || (uint64_t)n > VARINT_MAX - offset) return VQ_ERR_INVALID_ARGUMENT;
  if ((st = wr_varint(buf, cap, pos, offset)) != VQ_OK) return st;
  return wr_len_bytes(buf, cap, pos, data, n);
}

/* spec: rfc9000#19.15 — NEW_CONNECTION_ID: CID length 1..20;
 * spec: rfc9000#19.15/6 — Retire Prior To <= Sequence Number. */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    requires \valid_read(c) && vq_readable(c->cid, c->cid_len) && \valid_read(c->reset_token + (0 .. 15));
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), c);
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap; */
static vq_status enc_new_cid(uint8_t *buf, size_t cap, size_t *pos, const vq_frame_new_cid *c)
{
  vq_status st;
  const uint8_t *const cid = c->cid, *const token = c->reset_token;
  const size_t n = c->cid_len;
  if (n < 1u || n > VQ_MAX_CID_LEN || c->retire_prior_to > c->sequence) return VQ_ERR_INVALID_ARGUMENT;
  if ((st = wr_two(buf, cap, pos, c->sequence, c->retire_prior_to)) != VQ_OK) return st;
  /* Length (8) is one byte, and cid_len < 64, so its varint form is that byte. */
  if ((st = wr_varint(buf, cap, pos, (uint64_t)n)) != VQ_OK) return st;
  if ((st = wr_bytes(buf, cap, pos, cid, n)) != VQ_OK) return st;
  return wr_bytes(buf, cap, pos, token, VQ_STATELESS_RESET_TOKEN_LEN);
}

/* spec: rfc9000#19.19 — CONNECTION_CLOSE: Error Code, [Frame Type] (0x1c), Reason Phrase. */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    requires \valid_read(c) && vq_readable(c->reason, c->reason_len);
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), c);
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap; */
static vq_status enc_close(uint8_t *buf, size_t cap, size_t *pos, uint64_t t, const vq_frame_close *c)
{
  vq_status st;
  const uint8_t *const reason = c->reason;
  const size_t n = c->reason_len;
  const uint64_t frame_type = c->frame_type;
  if (t != VQ_FRAME_CONNECTION_CLOSE && frame_type != 0u) return VQ_ERR_INVALID_ARGUMENT;
  if ((st = wr_varint(buf, cap, pos, c->error_code)) != VQ_OK) return st;
  if (t == VQ_FRAME_CONNECTION_CLOSE) {
    if ((st = wr_varint(buf, cap, pos, frame_type)) != VQ_OK) return st;
  }
  return wr_len_bytes(buf, cap, pos, reason, n);
}

/* The frame body after the type. */
/*@ requires out_ok(buf, cap);
    requires \valid(pos) && out_sep(pos, buf, cap);
    requires *pos <= cap;
    requires \valid_read(f) && vq_frame_readable(f);
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), f);
    requires buf != \null && vq_frame_is_ack(f->type) ==>
               \separated(buf + (0 .. cap - 1), f->ack.ranges_in + (0 .. f->ack.range_count_in - 1));
    assigns *pos, buf[0 .. out_cap(buf, cap) - 1];
    ensures \old(*pos) <= *pos <= cap; */
static vq_status enc_body(uint8_t *buf, size_t cap, size_t *pos, const vq_frame *f)
{
  const uint64_t t = f->type;
  if (t == VQ_FRAME_PING || t == VQ_FRAME_HANDSHAKE_DONE) return VQ_OK;
  if (t == VQ_FRAME_ACK || t == VQ_FRAME_ACK_ECN) return enc_ack(buf, cap, pos, t, &f->ack);
  if (t == VQ_FRAME_RESET_STREAM) {
    const vq_status st = wr_two(buf, cap, pos, f->reset_stream.stream_id, f->reset_stream.error_code);
    if (st != VQ_OK) return st;
    return wr_varint(buf, cap, pos, f->reset_stream.final_size);
  }
  if (t == VQ_FRAME_STOP_SENDING)
    return wr_two(buf, cap, pos, f->stop_sending.stream_id, f->stop_sending.error_code);
  if (t == VQ_FRAME_CRYPTO) return enc_crypto(buf, cap, pos, &f->crypto);
  if (t == VQ_FRAME_NEW_TOKEN) {
    /* spec: rfc9000#19.7/1 — the token must not be empty. */
    if (f->new_token.len == 0u) return VQ_ERR_INVALID_ARGUMENT;
    return wr_len_bytes(buf, cap, pos, f->new_token.token, f->new_token.len);
  }
  if (t >= VQ_FRAME_STREAM && t <= 0x0fu) return enc_stream(buf, cap, pos, t, &f->stream);
  if (t == VQ_FRAME_MAX_DATA) return wr_varint(buf, cap, pos, f->max_data.maximum);
  if (t == VQ_FRAME_MAX_STREAM_DATA)
    return wr_two(buf, cap, pos, f->max_stream_data.stream_id, f->max_stream_data.maximum);
  if (t == VQ_FRAME_MAX_STREAMS_BIDI || t == VQ_FRAME_MAX_STREAMS_UNI) {
    /* spec: rfc9000#19.11 — at most 2^60 streams. */
    if (f->max_streams.maximum > VQ_MAX_STREAMS_LIMIT) return VQ_ERR_INVALID_ARGUMENT;
    return wr_varint(buf, cap, pos, f->max_streams.maximum);
  }
  if (t == VQ_FRAME_DATA_BLOCKED) return wr_varint(buf, cap, pos, f->data_blocked.maximum);
  if (t == VQ_FRAME_STREAM_DATA_BLOCKED)
    return wr_two(buf, cap, pos, f->stream_data_blocked.stream_id, f->stream_data_blocked.maximum);
  if (t == VQ_FRAME_STREAMS_BLOCKED_BIDI || t == VQ_FRAME_STREAMS_BLOCKED_UNI) {
    /* spec: rfc9000#19.14 — at most 2^60 streams. */
    if (f->streams_blocked.maximum > VQ_MAX_STREAMS_LIMIT) return VQ_ERR_INVALID_ARGUMENT;
    return wr_varint(buf, cap, pos, f->streams_blocked.maximum);
  }
  if (t == VQ_FRAME_NEW_CONNECTION_ID) return enc_new_cid(buf, cap, pos, &f->new_cid);
  if (t == VQ_FRAME_RETIRE_CONNECTION_ID) return wr_varint(buf, cap, pos, f->retire_cid.sequence);
  if (t == VQ_FRAME_PATH_CHALLENGE || t == VQ_FRAME_PATH_RESPONSE)
    return wr_bytes(buf, cap, pos, f->path.data, VQ_PATH_DATA_LEN);
  if (t == VQ_FRAME_CONNECTION_CLOSE || t == VQ_FRAME_CONNECTION_CLOSE_APP)
    return enc_close(buf, cap, pos, t, &f->close);
  if (t == VQ_FRAME_DATAGRAM_LEN) return wr_len_bytes(buf, cap, pos, f->datagram.data, f->datagram.len);
  if (t == VQ_FRAME_DATAGRAM) return wr_bytes(buf, cap, pos, f->datagram.data, f->datagram.len);
  return VQ_ERR_INVALID_ARGUMENT;
}

/*@ requires out_ok(buf, cap);
    requires \valid(used) && out_sep(used, buf, cap);
    requires \valid_read(f) && vq_frame_readable(f);
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), f);
    requires buf != \null && vq_frame_is_ack(f->type) ==>
               \separated(buf + (0 .. cap - 1), f->ack.ranges_in + (0 .. f->ack.range_count_in - 1));
    assigns *used, buf[0 .. out_cap(buf, cap) - 1];
    ensures \result == VQ_OK ==> 1 <= *used <= cap; */
static vq_status encode(uint8_t *buf, size_t cap, const vq_frame *f, size_t *used)
{
  size_t pos = 0;
  vq_status st;
  const uint64_t t = f->type;
  if (t == VQ_FRAME_PADDING) {
    st = enc_padding(buf, cap, &pos, f->padding.count);
  } else {
    if (vq_frame_type_known(t) == 0) return VQ_ERR_INVALID_ARGUMENT;
    st = wr_varint(buf, cap, &pos, t);
    if (st == VQ_OK) st = enc_body(buf, cap, &pos, f);
  }
  if (st != VQ_OK) return st;
  *used = pos;
  return VQ_OK;
}

/*@ requires out_ok(buf, cap);
    requires \valid(used) && out_sep(used, buf, cap);
    requires \valid_read(f) && vq_frame_readable(f);
    requires buf != \null ==> \separated(buf + (0 .. cap - 1), f);
    requires buf != \null && vq_frame_is_ack(f->type) ==>
               \separated(buf + (0 .. cap - 1), f->ack.ranges_in + (0 .. f->ack.range_count_in - 1));
    assigns *used, buf[0 .. out_cap(buf, cap) - 1];
    ensures \result == VQ_OK ==> 1 <= *used <= cap; */
vq_status vq_frame_encode(uint8_t *buf, size_t cap, const vq_frame *f, size_t *used)
{
  if (cap == 0u) return VQ_ERR_BUFFER_TOO_SMALL;
  return encode(buf, cap, f, used);
}

/*@ requires \valid(len);
    requires \valid_read(f) && vq_frame_readable(f);
    assigns *len;
    ensures \result == VQ_OK ==> *len >= 1; */
vq_status vq_frame_encoded_len(const vq_frame *f, size_t *len)
{
  return encode(NULL, SIZE_MAX, f, len);
}
