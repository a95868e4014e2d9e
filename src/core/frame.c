/* vquic — frame parsing (RFC 9000 §19, RFC 9221 §4), written for WP and Eva (PROOF-STYLE.md).
 *
 * Every reader works on the whole input buf[0 .. len) and a cursor *pos (pos <= len), instead of
 * re-basing the buffer (buf + pos, len - pos): Eva's interval domains cannot relate a re-based
 * pointer to its length, while `len - pos < n` on the full buffer reduces pos precisely. For the
 * same reason the varint reader below does not call vq_varint_decode. */
#include "vquic/frame.h"
#include "frame_acsl.h"

#include <stddef.h>

#define VARINT_MAX ((uint64_t)4611686018427387903u)

/* Reads one varint (RFC 9000 §16) at buf[*pos ..). */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(v) && \separated(pos, v);
    requires \separated(pos, buf + (0 .. len - 1)) && \separated(v, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *v;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK || \result == VQ_ERR_FRAME_TRUNCATED;
    ensures \result == VQ_OK ==> \old(*pos) < *pos && *pos <= \old(*pos) + 8;
    ensures \result == VQ_OK ==> *v <= 4611686018427387903;
    ensures \result != VQ_OK ==> *pos == \old(*pos); */
static vq_status rd_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
  const size_t p = *pos;
  if (p >= len) return VQ_ERR_FRAME_TRUNCATED;
  const uint8_t b0 = buf[p];
  if (b0 < 64u) {
    *v = b0;
    *pos = p + 1;
    return VQ_OK;
  }
  if (b0 < 128u) {
    if (len - p < 2u) return VQ_ERR_FRAME_TRUNCATED;
    *v = (uint64_t)(b0 - 64u) * 256u + buf[p + 1];
    *pos = p + 2;
    return VQ_OK;
  }
  if (b0 < 192u) {
    if (len - p < 4u) return VQ_ERR_FRAME_TRUNCATED;
    *v = (((uint64_t)(b0 - 128u) * 256u + buf[p + 1]) * 256u + buf[p + 2]) * 256u + buf[p + 3];
    *pos = p + 4;
    return VQ_OK;
  }
  if (len - p < 8u) return VQ_ERR_FRAME_TRUNCATED;
  uint64_t x = (uint64_t)(b0 - 192u);
  x = x * 256u + buf[p + 1];
  x = x * 256u + buf[p + 2];
  x = x * 256u + buf[p + 3];
  x = x * 256u + buf[p + 4];
  x = x * 256u + buf[p + 5];
  x = x * 256u + buf[p + 6];
  x = x * 256u + buf[p + 7];
  *v = x;
  *pos = p + 8;
  return VQ_OK;
}

/* Shortest encoding length of a varint value v <= 2^62-1. */
/*@ requires v <= 4611686018427387903;
    assigns \nothing;
    ensures \result == vq_varint_size(v); */
static size_t min_len(uint64_t v)
{
  if (v < 64u) return 1;
  if (v < 16384u) return 2;
  if (v < 1073741824u) return 4;
  return 8;
}

/* spec: rfc9000#19.1 — PADDING has no content; a run of 0x00 bytes is returned as one frame. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(pad) && \separated(pos, pad, buf + (0 .. len - 1));
    requires 1 <= *pos <= len;
    assigns *pos, *pad;
    ensures \old(*pos) <= *pos <= len;
    ensures pad->count == *pos && pad->count >= 1; */
static void parse_padding(const uint8_t *buf, size_t len, size_t *pos, vq_frame_padding *pad)
{
  size_t p = *pos;
  /*@ loop invariant \at(*pos, Pre) <= p <= len;
      loop assigns p;
      loop variant len - p; */
  while (p < len && buf[p] == 0u) p++;
  *pos = p;
  pad->count = p;
}

/* spec: rfc9000#19.3 — Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range, then
 * ACK Range Count (Gap, ACK Range Length) pairs. */
/* spec: rfc9000#19.3.1/1 — each gap and range steps down from the previous smallest packet number;
 * a step below 0 is a FRAME_ENCODING_ERROR. Checked without underflow: gap + 2 <= smallest and
 * range length <= largest of the range. */
/* Range arithmetic is done on int64_t: every value is a varint (<= 2^62-1), so the differences
 * cannot overflow, and testing the sign of the difference is the range check itself (a form that
 * both WP and Eva's interval domain follow, unlike `b <= a` followed by unsigned `a - b`). */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \separated(pos, buf + (0 .. len - 1));
    requires *pos <= len;
    requires smallest <= 4611686018427387903;
    assigns *pos;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK || \result == VQ_ERR_FRAME_TRUNCATED || \result == VQ_ERR_FRAME_ACK_RANGE; */
static vq_status ack_walk(const uint8_t *buf, size_t len, size_t *pos, uint64_t smallest, uint64_t count)
{
  size_t p = *pos;
  uint64_t gap = 0, rl = 0;
  int64_t low = (int64_t)smallest;
  /*@ loop invariant \at(*pos, Pre) <= p <= len;
      loop invariant 0 <= i <= count;
      loop invariant 0 <= low <= 4611686018427387903;
      loop assigns i, p, gap, rl, low;
      loop variant count - i; */
  for (uint64_t i = 0; i < count; i++) {
    if (rd_varint(buf, len, &p, &gap) != VQ_OK) return VQ_ERR_FRAME_TRUNCATED;
    const int64_t largest = low - 2 - (int64_t)gap;
    if (largest < 0) return VQ_ERR_FRAME_ACK_RANGE;
    if (rd_varint(buf, len, &p, &rl) != VQ_OK) return VQ_ERR_FRAME_TRUNCATED;
    const int64_t next = largest - (int64_t)rl;
    if (next < 0) return VQ_ERR_FRAME_ACK_RANGE;
    low = next;
  }
  *pos = p;
  return VQ_OK;
}

/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(a) && \separated(pos, a, buf + (0 .. len - 1));
    requires *pos <= len;
    requires t == 2 || t == 3;
    assigns *pos, *a;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> vq_span_in(a->ranges, a->ranges_len, buf, len);
    ensures \result == VQ_OK ==> a->first_range <= a->largest <= 4611686018427387903; */
static vq_status parse_ack(const uint8_t *buf, size_t len, size_t *pos, uint64_t t, vq_frame_ack *a)
{
  vq_status st;
  a->ranges_in = NULL;
  a->range_count_in = 0;
  a->ect0 = 0;
  a->ect1 = 0;
  a->ecn_ce = 0;
  if ((st = rd_varint(buf, len, pos, &a->largest)) != VQ_OK) return st;
  if ((st = rd_varint(buf, len, pos, &a->delay)) != VQ_OK) return st;
  if ((st = rd_varint(buf, len, pos, &a->range_count)) != VQ_OK) return st;
  if ((st = rd_varint(buf, len, pos, &a->first_range)) != VQ_OK) return st;
  /* spec: rfc9000#19.3.1/1 — smallest = Largest Acknowledged - First ACK Range must be >= 0. */
  const int64_t smallest = (int64_t)a->largest - (int64_t)a->first_range;
  if (smallest < 0) return VQ_ERR_FRAME_ACK_RANGE;
  const size_t start = *pos;
  /* Eva: one state per start position, so that `end - start` below is seen not to wrap. */
  /*@ split start; */
  if ((st = ack_walk(buf, len, pos, (uint64_t)smallest, a->range_count)) != VQ_OK) return st;
  const size_t end = *pos;
  a->ranges = buf + start;
  a->ranges_len = end - start;
  if (t == VQ_FRAME_ACK_ECN) {
    /* spec: rfc9000#19.3/1 — both ACK types are handled; spec: rfc9000#19.3.2 — ACK_ECN adds ECT(0),
     * ECT(1) and ECN-CE counts. */
    if ((st = rd_varint(buf, len, pos, &a->ect0)) != VQ_OK) return st;
    if ((st = rd_varint(buf, len, pos, &a->ect1)) != VQ_OK) return st;
    if ((st = rd_varint(buf, len, pos, &a->ecn_ce)) != VQ_OK) return st;
  }
  return VQ_OK;
}

/* spec: rfc9000#19.4 — RESET_STREAM: Stream ID, Application Protocol Error Code, Final Size. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(r) && \separated(pos, r, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *r;
    ensures \old(*pos) <= *pos <= len; */
static vq_status parse_reset_stream(const uint8_t *buf, size_t len, size_t *pos, vq_frame_reset_stream *r)
{
  vq_status st;
  if ((st = rd_varint(buf, len, pos, &r->stream_id)) != VQ_OK) return st;
  if ((st = rd_varint(buf, len, pos, &r->error_code)) != VQ_OK) return st;
  return rd_varint(buf, len, pos, &r->final_size);
}

/* spec: rfc9000#19.5 — STOP_SENDING: Stream ID, Application Protocol Error Code. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(s) && \separated(pos, s, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *s;
    ensures \old(*pos) <= *pos <= len; */
static vq_status parse_stop_sending(const uint8_t *buf, size_t len, size_t *pos, vq_frame_stop_sending *s)
{
  vq_status st;
  if ((st = rd_varint(buf, len, pos, &s->stream_id)) != VQ_OK) return st;
  return rd_varint(buf, len, pos, &s->error_code);
}

/* Reads a Length (i) field and checks that many bytes follow: the bytes start at *pos on return. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(n) && \separated(pos, n, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *n;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK || \result == VQ_ERR_FRAME_TRUNCATED;
    ensures \result == VQ_OK ==> *n <= len - *pos && *n <= 4611686018427387903; */
static vq_status rd_length(const uint8_t *buf, size_t len, size_t *pos, uint64_t *n)
{
  vq_status st = rd_varint(buf, len, pos, n);
  if (st != VQ_OK) return st;
  if (*n > len - *pos) return VQ_ERR_FRAME_TRUNCATED;
  return VQ_OK;
}

/* spec: rfc9000#19.6 — CRYPTO: Offset, Length, Crypto Data. */
/* spec: rfc9000#19.6/1 — offset + length must not exceed 2^62-1 (FRAME_ENCODING_ERROR). */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(c) && \separated(pos, c, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *c;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> vq_span_in(c->data, c->len, buf, len);
    ensures \result == VQ_OK ==> c->offset + c->len <= 4611686018427387903; */
static vq_status parse_crypto(const uint8_t *buf, size_t len, size_t *pos, vq_frame_crypto *c)
{
  vq_status st;
  uint64_t n = 0;
  if ((st = rd_varint(buf, len, pos, &c->offset)) != VQ_OK) return st;
  if ((st = rd_length(buf, len, pos, &n)) != VQ_OK) return st;
  if (n > VARINT_MAX - c->offset) return VQ_ERR_FRAME_STREAM_OFFSET;
  c->data = buf + *pos;
  c->len = (size_t)n;
  *pos += (size_t)n;
  return VQ_OK;
}

/* spec: rfc9000#19.7/2 — NEW_TOKEN: Token Length, Token; an empty token is a FRAME_ENCODING_ERROR. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(k) && \separated(pos, k, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *k;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> vq_span_in(k->token, k->len, buf, len) && k->len >= 1; */
static vq_status parse_new_token(const uint8_t *buf, size_t len, size_t *pos, vq_frame_new_token *k)
{
  vq_status st;
  uint64_t n = 0;
  if ((st = rd_length(buf, len, pos, &n)) != VQ_OK) return st;
  if (n == 0u) return VQ_ERR_FRAME_TOKEN_EMPTY;
  k->token = buf + *pos;
  k->len = (size_t)n;
  *pos += (size_t)n;
  return VQ_OK;
}

/* The n data bytes at *pos of a STREAM frame whose offset is s->offset: they must be there
 * (else VQ_ERR_FRAME_TRUNCATED) and offset + n <= 2^62-1. */
/* spec: rfc9000#19.8/2 — offset + length must not exceed 2^62-1 (FRAME_ENCODING_ERROR). */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(s) && \separated(pos, s, buf + (0 .. len - 1));
    requires *pos <= len;
    requires s->offset <= 4611686018427387903;
    assigns *pos, s->data, s->len;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK || \result == VQ_ERR_FRAME_STREAM_OFFSET || \result == VQ_ERR_FRAME_TRUNCATED;
    ensures \result == VQ_OK ==> vq_span_in(s->data, s->len, buf, len);
    ensures \result == VQ_OK ==> s->offset + s->len <= 4611686018427387903; */
static vq_status stream_data(const uint8_t *buf, size_t len, size_t *pos, uint64_t n, vq_frame_stream *s)
{
  const size_t p = *pos;
  if (n > len - p) return VQ_ERR_FRAME_TRUNCATED;
  if (n > VARINT_MAX - s->offset) return VQ_ERR_FRAME_STREAM_OFFSET;
  s->data = buf + p;
  s->len = (size_t)n;
  *pos = p + (size_t)n;
  return VQ_OK;
}

/* spec: rfc9000#19.8 — STREAM 0x08-0x0f: OFF (0x04) adds Offset, LEN (0x02) adds Length (else the
 * data extends to the end of the packet), FIN (0x01) marks the end of the stream. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(s) && \separated(pos, s, buf + (0 .. len - 1));
    requires *pos <= len;
    requires 8 <= t <= 15;
    assigns *pos, *s;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> vq_span_in(s->data, s->len, buf, len);
    ensures \result == VQ_OK ==> s->offset + s->len <= 4611686018427387903;
    ensures \result == VQ_OK ==> s->fin == t % 2; */
static vq_status parse_stream(const uint8_t *buf, size_t len, size_t *pos, uint64_t t, vq_frame_stream *s)
{
  vq_status st;
  uint64_t n = 0;
  s->fin = (uint8_t)(t % 2u);
  if ((st = rd_varint(buf, len, pos, &s->stream_id)) != VQ_OK) return st;
  s->offset = 0;
  if (t >= 12u) {
    if ((st = rd_varint(buf, len, pos, &s->offset)) != VQ_OK) return st;
  }
  if (t == 10u || t == 11u || t == 14u || t == 15u) {
    if ((st = rd_length(buf, len, pos, &n)) != VQ_OK) return st;
  } else {
    n = len - *pos;
  }
  return stream_data(buf, len, pos, n, s);
}

/* spec: rfc9000#19.9 — MAX_DATA; rfc9000#19.12 — DATA_BLOCKED; rfc9000#19.16 — RETIRE_CONNECTION_ID:
 * a single varint. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(v) && \separated(pos, v, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *v;
    ensures \old(*pos) <= *pos <= len; */
static vq_status parse_one(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
  return rd_varint(buf, len, pos, v);
}

/* spec: rfc9000#19.10 — MAX_STREAM_DATA; rfc9000#19.13 — STREAM_DATA_BLOCKED: Stream ID, limit. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(m) && \separated(pos, m, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *m;
    ensures \old(*pos) <= *pos <= len; */
static vq_status parse_stream_limit(const uint8_t *buf, size_t len, size_t *pos, vq_frame_max_stream_data *m)
{
  vq_status st;
  if ((st = rd_varint(buf, len, pos, &m->stream_id)) != VQ_OK) return st;
  return rd_varint(buf, len, pos, &m->maximum);
}

/* spec: rfc9000#19.11/1, rfc9000#19.14/2, rfc9000#4.6/1 — MAX_STREAMS and STREAMS_BLOCKED: a stream
 * count above 2^60 is a FRAME_ENCODING_ERROR. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(m) && \separated(pos, m, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *m;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> m->maximum <= 1152921504606846976; */
static vq_status parse_streams(const uint8_t *buf, size_t len, size_t *pos, vq_frame_max_streams *m)
{
  vq_status st;
  if ((st = rd_varint(buf, len, pos, &m->maximum)) != VQ_OK) return st;
  if (m->maximum > VQ_MAX_STREAMS_LIMIT) return VQ_ERR_FRAME_STREAMS_LIMIT;
  return VQ_OK;
}

/* spec: rfc9000#19.15 — NEW_CONNECTION_ID: Sequence Number, Retire Prior To, Length (8), Connection
 * ID (8..160), Stateless Reset Token (128). Length outside 1..20 and Retire Prior To greater than the
 * Sequence Number are FRAME_ENCODING_ERRORs (spec: rfc9000#19.15/1, rfc9000#19.15/7). */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(c) && \separated(pos, c, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *c;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> vq_span_in(c->cid, c->cid_len, buf, len) &&
                                 vq_span_in(c->reset_token, 16, buf, len);
    ensures \result == VQ_OK ==> 1 <= c->cid_len <= 20 && c->retire_prior_to <= c->sequence; */
static vq_status parse_new_cid(const uint8_t *buf, size_t len, size_t *pos, vq_frame_new_cid *c)
{
  vq_status st;
  if ((st = rd_varint(buf, len, pos, &c->sequence)) != VQ_OK) return st;
  if ((st = rd_varint(buf, len, pos, &c->retire_prior_to)) != VQ_OK) return st;
  const size_t p = *pos;
  if (p >= len) return VQ_ERR_FRAME_TRUNCATED;
  const size_t n = buf[p];
  if (n < 1u || n > VQ_MAX_CID_LEN) return VQ_ERR_FRAME_CID_LENGTH;
  if (len - p - 1u < n + VQ_STATELESS_RESET_TOKEN_LEN) return VQ_ERR_FRAME_TRUNCATED;
  if (c->retire_prior_to > c->sequence) return VQ_ERR_FRAME_RETIRE_PRIOR_TO;
  c->cid = buf + (p + 1u);
  c->cid_len = n;
  c->reset_token = buf + (p + 1u + n);
  *pos = p + 1u + n + VQ_STATELESS_RESET_TOKEN_LEN;
  return VQ_OK;
}

/* spec: rfc9000#19.17 — PATH_CHALLENGE; rfc9000#19.18 — PATH_RESPONSE: 8 bytes of data. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(d) && \separated(pos, d, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *d;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> vq_span_in(d->data, 8, buf, len); */
static vq_status parse_path(const uint8_t *buf, size_t len, size_t *pos, vq_frame_path *d)
{
  const size_t p = *pos;
  if (len - p < VQ_PATH_DATA_LEN) return VQ_ERR_FRAME_TRUNCATED;
  d->data = buf + p;
  *pos = p + VQ_PATH_DATA_LEN;
  return VQ_OK;
}

/* spec: rfc9000#19.19 — CONNECTION_CLOSE: Error Code, [Frame Type] (0x1c only), Reason Phrase
 * Length, Reason Phrase. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(c) && \separated(pos, c, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *c;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> vq_span_in(c->reason, c->reason_len, buf, len); */
static vq_status parse_close(const uint8_t *buf, size_t len, size_t *pos, uint64_t t, vq_frame_close *c)
{
  vq_status st;
  uint64_t n = 0;
  if ((st = rd_varint(buf, len, pos, &c->error_code)) != VQ_OK) return st;
  c->frame_type = 0;
  if (t == VQ_FRAME_CONNECTION_CLOSE) {
    if ((st = rd_varint(buf, len, pos, &c->frame_type)) != VQ_OK) return st;
  }
  if ((st = rd_length(buf, len, pos, &n)) != VQ_OK) return st;
  c->reason = buf + *pos;
  c->reason_len = (size_t)n;
  *pos += (size_t)n;
  return VQ_OK;
}

/* spec: rfc9221#4 — DATAGRAM 0x30 (data to the end of the packet) and 0x31 (Length, data). */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(d) && \separated(pos, d, buf + (0 .. len - 1));
    requires *pos <= len;
    assigns *pos, *d;
    ensures \old(*pos) <= *pos <= len;
    ensures \result == VQ_OK ==> vq_span_in(d->data, d->len, buf, len); */
static vq_status parse_datagram(const uint8_t *buf, size_t len, size_t *pos, uint64_t t, vq_frame_datagram *d)
{
  vq_status st;
  uint64_t n = 0;
  if (t == VQ_FRAME_DATAGRAM_LEN) {
    if ((st = rd_length(buf, len, pos, &n)) != VQ_OK) return st;
  } else {
    n = len - *pos;
  }
  d->data = buf + *pos;
  d->len = (size_t)n;
  *pos += (size_t)n;
  return VQ_OK;
}

/* Frame bodies are dispatched in small groups, each with one behavior per frame kind, so that no
 * proof obligation has to go through every branch at once. *pos is just past the type on entry. */
/* Types 0x02 .. 0x07. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(f) && \separated(pos, f, buf + (0 .. len - 1));
    requires 1 <= *pos <= len;
    requires 2 <= t <= 7;
    assigns *pos, *f;
    ensures \old(*pos) <= *pos <= len;
    behavior ack:
      assumes t == 2 || t == 3;
      ensures \result == VQ_OK ==> vq_span_in(f->ack.ranges, f->ack.ranges_len, buf, len);
      ensures \result == VQ_OK ==> f->ack.first_range <= f->ack.largest <= 4611686018427387903;
    behavior crypto:
      assumes t == 6;
      ensures \result == VQ_OK ==> vq_span_in(f->crypto.data, f->crypto.len, buf, len);
      ensures \result == VQ_OK ==> f->crypto.offset + f->crypto.len <= 4611686018427387903;
    behavior token:
      assumes t == 7;
      ensures \result == VQ_OK ==> vq_span_in(f->new_token.token, f->new_token.len, buf, len);
      ensures \result == VQ_OK ==> f->new_token.len >= 1; */
static vq_status body_low(const uint8_t *buf, size_t len, size_t *pos, uint64_t t, vq_frame *f)
{
  if (t == VQ_FRAME_ACK || t == VQ_FRAME_ACK_ECN) return parse_ack(buf, len, pos, t, &f->ack);
  if (t == VQ_FRAME_RESET_STREAM) return parse_reset_stream(buf, len, pos, &f->reset_stream);
  if (t == VQ_FRAME_STOP_SENDING) return parse_stop_sending(buf, len, pos, &f->stop_sending);
  if (t == VQ_FRAME_CRYPTO) return parse_crypto(buf, len, pos, &f->crypto);
  return parse_new_token(buf, len, pos, &f->new_token);
}

/* Types 0x10 .. 0x17: flow control and stream limits. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(f) && \separated(pos, f, buf + (0 .. len - 1));
    requires 1 <= *pos <= len;
    requires 0x10 <= t <= 0x17;
    assigns *pos, *f;
    ensures \old(*pos) <= *pos <= len;
    behavior max_streams:
      assumes t == 0x12 || t == 0x13;
      ensures \result == VQ_OK ==> f->max_streams.maximum <= 1152921504606846976;
    behavior streams_blocked:
      assumes t == 0x16 || t == 0x17;
      ensures \result == VQ_OK ==> f->streams_blocked.maximum <= 1152921504606846976; */
static vq_status body_limits(const uint8_t *buf, size_t len, size_t *pos, uint64_t t, vq_frame *f)
{
  if (t == VQ_FRAME_MAX_DATA) return parse_one(buf, len, pos, &f->max_data.maximum);
  if (t == VQ_FRAME_MAX_STREAM_DATA) return parse_stream_limit(buf, len, pos, &f->max_stream_data);
  if (t == VQ_FRAME_MAX_STREAMS_BIDI || t == VQ_FRAME_MAX_STREAMS_UNI)
    return parse_streams(buf, len, pos, &f->max_streams);
  if (t == VQ_FRAME_DATA_BLOCKED) return parse_one(buf, len, pos, &f->data_blocked.maximum);
  if (t == VQ_FRAME_STREAM_DATA_BLOCKED) return parse_stream_limit(buf, len, pos, &f->stream_data_blocked);
  return parse_streams(buf, len, pos, &f->streams_blocked);
}

/* Types 0x18 .. 0x1d, 0x30, 0x31. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(f) && \separated(pos, f, buf + (0 .. len - 1));
    requires 1 <= *pos <= len;
    requires 0x18 <= t <= 0x1d || t == 0x30 || t == 0x31;
    assigns *pos, *f;
    ensures \old(*pos) <= *pos <= len;
    behavior new_cid:
      assumes t == 0x18;
      ensures \result == VQ_OK ==> vq_span_in(f->new_cid.cid, f->new_cid.cid_len, buf, len);
      ensures \result == VQ_OK ==> vq_span_in(f->new_cid.reset_token, 16, buf, len);
      ensures \result == VQ_OK ==> 1 <= f->new_cid.cid_len <= 20;
      ensures \result == VQ_OK ==> f->new_cid.retire_prior_to <= f->new_cid.sequence;
    behavior path:
      assumes vq_frame_is_path(t);
      ensures \result == VQ_OK ==> vq_span_in(f->path.data, 8, buf, len);
    behavior close:
      assumes vq_frame_is_close(t);
      ensures \result == VQ_OK ==> vq_span_in(f->close.reason, f->close.reason_len, buf, len);
    behavior datagram:
      assumes vq_frame_is_datagram(t);
      ensures \result == VQ_OK ==> vq_span_in(f->datagram.data, f->datagram.len, buf, len); */
static vq_status body_high(const uint8_t *buf, size_t len, size_t *pos, uint64_t t, vq_frame *f)
{
  if (t == VQ_FRAME_NEW_CONNECTION_ID) return parse_new_cid(buf, len, pos, &f->new_cid);
  if (t == VQ_FRAME_RETIRE_CONNECTION_ID) return parse_one(buf, len, pos, &f->retire_cid.sequence);
  if (t == VQ_FRAME_PATH_CHALLENGE || t == VQ_FRAME_PATH_RESPONSE) return parse_path(buf, len, pos, &f->path);
  if (t == VQ_FRAME_CONNECTION_CLOSE || t == VQ_FRAME_CONNECTION_CLOSE_APP)
    return parse_close(buf, len, pos, t, &f->close);
  return parse_datagram(buf, len, pos, t, &f->datagram);
}

/* The body of a frame of known type t. */
/*@ requires vq_readable(buf, len);
    requires \valid(pos) && \valid(f) && \separated(pos, f, buf + (0 .. len - 1));
    requires 1 <= *pos <= len;
    requires vq_frame_known(t);
    assigns *pos, *f;
    ensures \old(*pos) <= *pos <= len;
    behavior padding:
      assumes t == 0;
      ensures \result == VQ_OK ==> f->padding.count >= 1;
    behavior ack:
      assumes vq_frame_is_ack(t);
      ensures \result == VQ_OK ==> vq_span_in(f->ack.ranges, f->ack.ranges_len, buf, len);
      ensures \result == VQ_OK ==> f->ack.first_range <= f->ack.largest <= 4611686018427387903;
    behavior crypto:
      assumes t == 6;
      ensures \result == VQ_OK ==> vq_span_in(f->crypto.data, f->crypto.len, buf, len);
      ensures \result == VQ_OK ==> f->crypto.offset + f->crypto.len <= 4611686018427387903;
    behavior token:
      assumes t == 7;
      ensures \result == VQ_OK ==> vq_span_in(f->new_token.token, f->new_token.len, buf, len);
      ensures \result == VQ_OK ==> f->new_token.len >= 1;
    behavior stream:
      assumes vq_frame_is_stream(t);
      ensures \result == VQ_OK ==> vq_span_in(f->stream.data, f->stream.len, buf, len);
      ensures \result == VQ_OK ==> f->stream.offset + f->stream.len <= 4611686018427387903;
      ensures \result == VQ_OK ==> f->stream.fin == t % 2;
    behavior max_streams:
      assumes t == 0x12 || t == 0x13;
      ensures \result == VQ_OK ==> f->max_streams.maximum <= 1152921504606846976;
    behavior streams_blocked:
      assumes t == 0x16 || t == 0x17;
      ensures \result == VQ_OK ==> f->streams_blocked.maximum <= 1152921504606846976;
    behavior new_cid:
      assumes t == 0x18;
      ensures \result == VQ_OK ==> vq_span_in(f->new_cid.cid, f->new_cid.cid_len, buf, len);
      ensures \result == VQ_OK ==> vq_span_in(f->new_cid.reset_token, 16, buf, len);
      ensures \result == VQ_OK ==> 1 <= f->new_cid.cid_len <= 20;
      ensures \result == VQ_OK ==> f->new_cid.retire_prior_to <= f->new_cid.sequence;
    behavior path:
      assumes vq_frame_is_path(t);
      ensures \result == VQ_OK ==> vq_span_in(f->path.data, 8, buf, len);
    behavior close:
      assumes vq_frame_is_close(t);
      ensures \result == VQ_OK ==> vq_span_in(f->close.reason, f->close.reason_len, buf, len);
    behavior datagram:
      assumes vq_frame_is_datagram(t);
      ensures \result == VQ_OK ==> vq_span_in(f->datagram.data, f->datagram.len, buf, len); */
static vq_status parse_body(const uint8_t *buf, size_t len, size_t *pos, uint64_t t, vq_frame *f)
{
  if (t == VQ_FRAME_PADDING) {
    parse_padding(buf, len, pos, &f->padding);
    return VQ_OK;
  }
  if (t == VQ_FRAME_PING || t == VQ_FRAME_HANDSHAKE_DONE) return VQ_OK;
  if (t <= VQ_FRAME_NEW_TOKEN) return body_low(buf, len, pos, t, f);
  if (t <= 0x0fu) return parse_stream(buf, len, pos, t, &f->stream);
  if (t <= VQ_FRAME_STREAMS_BLOCKED_UNI) return body_limits(buf, len, pos, t, f);
  return body_high(buf, len, pos, t, f);
}

/*@ requires vq_readable(buf, len);
    requires \valid(f) && \valid(used) && \separated(f, used, buf + (0 .. len - 1));
    assigns *f, *used;
    ensures \result == VQ_OK ==> 1 <= *used <= len;
    ensures \result == VQ_OK ==> vq_frame_known(f->type);
    ensures \result == VQ_OK ==> vq_frame_in(f, buf, len);
    ensures \result == VQ_OK ==> vq_frame_wf(f); */
vq_status vq_frame_parse(const uint8_t *buf, size_t len, vq_frame *f, size_t *used)
{
  size_t pos = 0;
  uint64_t t = 0;
  if (rd_varint(buf, len, &pos, &t) != VQ_OK) return VQ_ERR_FRAME_TRUNCATED;
  /* spec: rfc9000#12.4/5 — the Frame Type must use the shortest encoding (else PROTOCOL_VIOLATION). */
  if (pos != min_len(t)) return VQ_ERR_FRAME_TYPE_NOT_MINIMAL;
  /* spec: rfc9000#12.4/4 — an unknown frame type is a FRAME_ENCODING_ERROR. */
  if (vq_frame_type_known(t) == 0) return VQ_ERR_FRAME_TYPE_UNKNOWN;
  const vq_status st = parse_body(buf, len, &pos, t, f);
  if (st != VQ_OK) return st;
  f->type = t;
  *used = pos;
  return VQ_OK;
}

/* ---- ACK range iterator ------------------------------------------------------------------------ */

/*@ requires \valid(it) && \valid_read(ack) && \separated(it, ack);
    assigns *it;
    ensures it->p == ack->ranges && it->len == ack->ranges_len && it->pos == 0;
    ensures it->remaining == ack->range_count && it->largest == ack->largest;
    ensures it->first_range == ack->first_range;
    ensures it->started == 0 && it->prev_smallest == 0 && it->status == VQ_OK; */
void vq_ack_iter_init(vq_ack_iter *it, const vq_frame_ack *ack)
{
  it->p = ack->ranges;
  it->len = ack->ranges_len;
  it->pos = 0;
  it->remaining = ack->range_count;
  it->largest = ack->largest;
  it->first_range = ack->first_range;
  it->prev_smallest = 0;
  it->started = 0;
  it->status = VQ_OK;
}

/* spec: rfc9000#19.3.1 — the first range is [Largest Acknowledged - First ACK Range, Largest
 * Acknowledged]; each next range has largest = previous smallest - Gap - 2 and smallest = largest -
 * ACK Range Length. */
/*@ requires \valid(it) && \valid(r) && \separated(it, r);
    requires vq_readable(it->p, it->len) && it->pos <= it->len;
    requires it->prev_smallest <= 4611686018427387903;
    requires \separated(it, it->p + (0 .. it->len - 1)) && \separated(r, it->p + (0 .. it->len - 1));
    assigns it->pos, it->remaining, it->prev_smallest, it->started, it->status, *r;
    ensures it->pos <= it->len;
    ensures it->prev_smallest <= 4611686018427387903;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 ==> r->smallest <= r->largest;
    ensures \result == 1 && \old(it->started) != 0 ==> r->largest + 2 <= \old(it->prev_smallest);
    ensures \result == 1 ==> it->started != 0 && it->prev_smallest == r->smallest; */
int vq_ack_iter_next(vq_ack_iter *it, vq_ack_range *r)
{
  uint64_t gap = 0, rl = 0;
  if (it->status != VQ_OK) return 0;
  if (it->started == 0) {
    const uint64_t top = it->largest, first = it->first_range;
    if (top > VARINT_MAX || first > VARINT_MAX) {
      it->status = VQ_ERR_FRAME_ACK_RANGE;
      return 0;
    }
    const int64_t low = (int64_t)top - (int64_t)first;
    if (low < 0) {
      it->status = VQ_ERR_FRAME_ACK_RANGE;
      return 0;
    }
    r->largest = top;
    r->smallest = (uint64_t)low;
    it->prev_smallest = (uint64_t)low;
    it->started = 1;
    return 1;
  }
  if (it->remaining == 0u) return 0;
  if (rd_varint(it->p, it->len, &it->pos, &gap) != VQ_OK) {
    it->status = VQ_ERR_FRAME_TRUNCATED;
    return 0;
  }
  const int64_t lg = (int64_t)it->prev_smallest - 2 - (int64_t)gap;
  if (lg < 0) {
    it->status = VQ_ERR_FRAME_ACK_RANGE;
    return 0;
  }
  if (rd_varint(it->p, it->len, &it->pos, &rl) != VQ_OK) {
    it->status = VQ_ERR_FRAME_TRUNCATED;
    return 0;
  }
  const int64_t sm = lg - (int64_t)rl;
  if (sm < 0) {
    it->status = VQ_ERR_FRAME_ACK_RANGE;
    return 0;
  }
  r->largest = (uint64_t)lg;
  r->smallest = (uint64_t)sm;
  it->prev_smallest = (uint64_t)sm;
  it->remaining--;
  return 1;
}
