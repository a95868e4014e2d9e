/* Tests of src/core/frame*.c: a round trip for every frame type, boundary values at every RFC limit,
 * truncation at every byte, non-minimal and unknown types, the RFC 9001 Appendix A payloads and the
 * RFC 9000 Table 3 packet-type rules (from spec/vectors), and a seeded property test. */
#include "vqtest.h"
#include "frame_util.h"
#include "vquic/frame.h"
#include "vquic/varint.h"

#include <stdlib.h>

#define MAXV ((uint64_t)4611686018427387903u)

static const uint8_t DATA[64] = {
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
  0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
  0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};
static const vq_ack_range RANGES[] = {{90, 100}, {50, 80}, {10, 10}, {0, 7}};

/* One sample frame of kind k (0 .. NKINDS-1): every type and every flag variant. */
#define NKINDS 33
static void sample(int k, vq_frame *f)
{
  memset(f, 0, sizeof *f);
  static const uint64_t types[NKINDS] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x30, 0x31,
  };
  const uint64_t t = types[k];
  f->type = t;
  switch (t) {
  case 0x00: f->padding.count = 5; break;
  case 0x02:
  case 0x03:
    f->ack.delay = 1234;
    f->ack.ranges_in = RANGES;
    f->ack.range_count_in = 4;
    f->ack.ect0 = 7;
    f->ack.ect1 = 70000;
    f->ack.ecn_ce = 1u << 31;
    break;
  case 0x04: f->reset_stream = (vq_frame_reset_stream){4, 0x1234, 1u << 20}; break;
  case 0x05: f->stop_sending = (vq_frame_stop_sending){7, 0x101}; break;
  case 0x06: f->crypto = (vq_frame_crypto){1000, DATA, 40}; break;
  case 0x07: f->new_token = (vq_frame_new_token){DATA + 3, 17}; break;
  case 0x10: f->max_data.maximum = 1u << 30; break;
  case 0x11: f->max_stream_data = (vq_frame_max_stream_data){8, 65535}; break;
  case 0x12:
  case 0x13: f->max_streams.maximum = 100; break;
  case 0x14: f->data_blocked.maximum = 16383; break;
  case 0x15: f->stream_data_blocked = (vq_frame_max_stream_data){12, 16384}; break;
  case 0x16:
  case 0x17: f->streams_blocked.maximum = VQ_MAX_STREAMS_LIMIT; break;
  case 0x18: f->new_cid = (vq_frame_new_cid){9, 3, DATA + 1, 8, DATA + 40}; break;
  case 0x19: f->retire_cid.sequence = 2; break;
  case 0x1a:
  case 0x1b: f->path.data = DATA + 50; break;
  case 0x1c: f->close = (vq_frame_close){0x0a, 0x08, (const uint8_t *)"bad stream", 10}; break;
  case 0x1d: f->close = (vq_frame_close){0x1234, 0, (const uint8_t *)"bye", 3}; break;
  case 0x30:
  case 0x31: f->datagram = (vq_frame_datagram){DATA, 33}; break;
  default:
    if (t >= 0x08 && t <= 0x0f) {
      f->stream.stream_id = 3;
      f->stream.offset = (t & 0x04) ? 123456 : 0;
      f->stream.data = DATA + 2;
      f->stream.len = 20;
      f->stream.fin = (uint8_t)(t & 1);
    }
    break;
  }
}

/* Frames that may be cut anywhere after their type and still parse (data to the end, or padding). */
static int open_ended(uint64_t t)
{
  return t == 0x00 || (t >= 0x08 && t <= 0x0f && !(t & 0x02)) || t == 0x30;
}

/* spec: rfc9000#19, rfc9000#19.3/1 — every frame type (ACK and ACK_ECN included): encode -> parse ->
 * equal; parse -> encode -> identical bytes. */
VQ_TEST(frame_roundtrip_every_type)
{
  for (int k = 0; k < NKINDS; k++) {
    vq_frame f, g;
    sample(k, &f);
    uint8_t b[256], c[256];
    size_t used = 0, n = 0, u2 = 0, u3 = 0;
    CHECK_EQ(vq_frame_encoded_len(&f, &n), VQ_OK);
    CHECK_EQ(vq_frame_encode(b, sizeof b, &f, &used), VQ_OK);
    CHECK_EQ(used, n);
    CHECK_EQ(vq_frame_encode(NULL, used, &f, &u3), VQ_OK);
    CHECK_EQ(u3, used);
    CHECK_EQ(vq_frame_encode(NULL, used - 1, &f, &u3), VQ_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(vq_frame_parse(b, used, &g, &u2), VQ_OK);
    CHECK_EQ(u2, used);
    if (!fr_eq(&f, &g)) vq_fail(t, __FILE__, __LINE__, "kind %d (type 0x%llx) differs", k, (unsigned long long)f.type);
    vq_ack_range store[16];
    CHECK_EQ(fr_prepare_encode(&g, store, 16), 0);
    CHECK_EQ(vq_frame_encode(c, sizeof c, &g, &u3), VQ_OK);
    CHECK_MEM(c, u3, b, used);
  }
}

/* Every encoding, cut at every byte: VQ_ERR_FRAME_TRUNCATED (open-ended frames excepted: they are
 * checked to parse as the shorter frame they then are). Output space one byte short: refused, and
 * nothing written past cap. */
VQ_TEST(frame_truncated_everywhere)
{
  for (int k = 0; k < NKINDS; k++) {
    vq_frame f, g;
    sample(k, &f);
    uint8_t b[256];
    size_t used = 0, u = 0;
    CHECK_EQ(vq_frame_encode(b, sizeof b, &f, &used), VQ_OK);
    for (size_t cut = 0; cut < used; cut++) {
      vq_status st = vq_frame_parse(b, cut, &g, &u);
      if (cut == 0 || !open_ended(f.type)) {
        if (st != VQ_ERR_FRAME_TRUNCATED)
          vq_fail(t, __FILE__, __LINE__, "type 0x%llx cut at %zu: status %d", (unsigned long long)f.type, cut, st);
      } else if (st == VQ_OK) {
        CHECK_EQ(u, cut);
      } else {
        CHECK_EQ(st, VQ_ERR_FRAME_TRUNCATED);
      }
      uint8_t o[300];
      memset(o, 0xee, sizeof o);
      CHECK_EQ(vq_frame_encode(o, cut, &f, &u), VQ_ERR_BUFFER_TOO_SMALL);
      for (size_t i = cut; i < sizeof o; i++)
        if (o[i] != 0xee) {
          vq_fail(t, __FILE__, __LINE__, "type 0x%llx wrote past cap %zu", (unsigned long long)f.type, cut);
          break;
        }
    }
  }
}

/* spec: rfc9000#12.4/5, rfc9000#12.4/4 — the frame type must be in its shortest encoding (PROTOCOL_VIOLATION), an
 * unknown type is a FRAME_ENCODING_ERROR. */
VQ_TEST(frame_type_not_minimal_or_unknown)
{
  vq_frame f;
  size_t u;
  static const uint8_t ping2[] = {0x40, 0x01};
  static const uint8_t pad2[] = {0x40, 0x00, 0x00};
  static const uint8_t crypto4[] = {0x80, 0x00, 0x00, 0x06, 0x00, 0x01, 0xaa};
  static const uint8_t hd8[] = {0xc0, 0, 0, 0, 0, 0, 0, 0x1e};
  static const uint8_t dg2[] = {0x40, 0x30, 0x01};
  CHECK_EQ(vq_frame_parse(ping2, sizeof ping2, &f, &u), VQ_ERR_FRAME_TYPE_NOT_MINIMAL);
  CHECK_EQ(vq_frame_parse(pad2, sizeof pad2, &f, &u), VQ_ERR_FRAME_TYPE_NOT_MINIMAL);
  CHECK_EQ(vq_frame_parse(crypto4, sizeof crypto4, &f, &u), VQ_ERR_FRAME_TYPE_NOT_MINIMAL);
  CHECK_EQ(vq_frame_parse(hd8, sizeof hd8, &f, &u), VQ_ERR_FRAME_TYPE_NOT_MINIMAL);
  CHECK_EQ(vq_frame_parse(dg2, sizeof dg2, &f, &u), VQ_ERR_FRAME_TYPE_NOT_MINIMAL);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_FRAME_TYPE_NOT_MINIMAL), VQ_TE_PROTOCOL_VIOLATION);
  static const uint8_t unk[][2] = {{0x1f, 0}, {0x20, 0}, {0x2f, 0}, {0x32, 0}, {0x3f, 0}, {0x40, 0x40}, {0x7f, 0xff}};
  for (size_t i = 0; i < sizeof unk / sizeof unk[0]; i++) {
    size_t n = unk[i][0] < 0x40 ? 1 : 2;
    CHECK_EQ(vq_frame_parse(unk[i], n, &f, &u), VQ_ERR_FRAME_TYPE_UNKNOWN);
  }
  CHECK_EQ(vq_status_transport_error(VQ_ERR_FRAME_TYPE_UNKNOWN), VQ_TE_FRAME_ENCODING_ERROR);
  /* Unknown types are refused by the encoder too. */
  memset(&f, 0, sizeof f);
  f.type = 0x1f;
  uint8_t b[8];
  CHECK_EQ(vq_frame_encode(b, sizeof b, &f, &u), VQ_ERR_INVALID_ARGUMENT);
  f.type = MAXV + 1;
  CHECK_EQ(vq_frame_encoded_len(&f, &u), VQ_ERR_INVALID_ARGUMENT);
}

/* Non-minimal varints inside a frame are allowed (rfc9000#16); only the type must be minimal. */
VQ_TEST(frame_fields_non_minimal_ok)
{
  static const uint8_t b[] = {0x10, 0xc0, 0, 0, 0, 0, 0, 0, 0x05};
  vq_frame f;
  size_t u;
  CHECK_EQ(vq_frame_parse(b, sizeof b, &f, &u), VQ_OK);
  CHECK_EQ(u, sizeof b);
  CHECK_EQ(f.type, VQ_FRAME_MAX_DATA);
  CHECK_EQ(f.max_data.maximum, 5);
}

/* spec: rfc9000#19.1 — a run of PADDING is one frame; it stops at the first non-zero byte. */
VQ_TEST(frame_padding_run)
{
  uint8_t b[1200];
  memset(b, 0, sizeof b);
  b[1000] = 0x01;
  vq_frame f;
  size_t u;
  CHECK_EQ(vq_frame_parse(b, sizeof b, &f, &u), VQ_OK);
  CHECK_EQ(f.type, VQ_FRAME_PADDING);
  CHECK_EQ(f.padding.count, 1000);
  CHECK_EQ(u, 1000);
  CHECK_EQ(vq_frame_parse(b + 1000, 200, &f, &u), VQ_OK);
  CHECK_EQ(f.type, VQ_FRAME_PING);
  CHECK_EQ(u, 1);
  f.type = VQ_FRAME_PADDING;
  f.padding.count = 0;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &f, &u), VQ_ERR_INVALID_ARGUMENT);
}

/* Builds a frame from varints (-1 ends); returns its length. */
static size_t build(uint8_t *b, size_t cap, const int64_t *v)
{
  size_t n = 0, u = 0;
  for (; *v >= 0; v++) {
    if (vq_varint_encode(b + n, cap - n, (uint64_t)*v, &u) != VQ_OK) return 0;
    n += u;
  }
  return n;
}

/* spec: rfc9000#19.3.1/1 — ACK ranges may reach packet number 0 but not go below it. */
VQ_TEST(frame_ack_range_limits)
{
  uint8_t b[64];
  vq_frame f;
  size_t u, n;
  /* largest 5, first range 5: [0, 5]. first range 6: below 0. */
  n = build(b, sizeof b, (const int64_t[]){2, 5, 0, 0, 5, -1});
  CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_OK);
  n = build(b, sizeof b, (const int64_t[]){2, 5, 0, 0, 6, -1});
  CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_ERR_FRAME_ACK_RANGE);
  /* largest 10, first 0 -> [10, 10]; gap 8 -> largest 0; range 0 -> [0, 0]: exactly 0. */
  n = build(b, sizeof b, (const int64_t[]){2, 10, 0, 1, 0, 8, 0, -1});
  CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_OK);
  CHECK_EQ(u, n);
  vq_ack_iter it;
  vq_ack_range r;
  vq_ack_iter_init(&it, &f.ack);
  CHECK_EQ(vq_ack_iter_next(&it, &r), 1);
  CHECK_EQ(r.smallest, 10);
  CHECK_EQ(r.largest, 10);
  CHECK_EQ(vq_ack_iter_next(&it, &r), 1);
  CHECK_EQ(r.smallest, 0);
  CHECK_EQ(r.largest, 0);
  CHECK_EQ(vq_ack_iter_next(&it, &r), 0);
  CHECK_EQ(it.status, VQ_OK);
  /* One more: gap 9 (largest -1) or range 1 (smallest -1) underflow by one. */
  n = build(b, sizeof b, (const int64_t[]){2, 10, 0, 1, 0, 9, 0, -1});
  CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_ERR_FRAME_ACK_RANGE);
  n = build(b, sizeof b, (const int64_t[]){2, 10, 0, 1, 0, 8, 1, -1});
  CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_ERR_FRAME_ACK_RANGE);
  /* Smallest 1 leaves no room for a gap: 1 - 0 - 2 < 0. */
  n = build(b, sizeof b, (const int64_t[]){3, 1, 0, 1, 0, 0, 0, 1, 2, 3, -1});
  CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_ERR_FRAME_ACK_RANGE);
  /* Range count larger than the frame holds: truncated. */
  n = build(b, sizeof b, (const int64_t[]){2, 1000, 0, 1000, 0, 1, 1, -1});
  CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_ERR_FRAME_TRUNCATED);
  /* Largest 2^62-1 with the maximal first range. */
  n = build(b, sizeof b, (const int64_t[]){3, (int64_t)MAXV, (int64_t)MAXV, 0, (int64_t)MAXV, 1, 2, 3, -1});
  CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_OK);
  CHECK_EQ(f.ack.ecn_ce, 3);

  /* Encoder: ill-formed arrays refused. */
  vq_frame e;
  memset(&e, 0, sizeof e);
  e.type = VQ_FRAME_ACK;
  vq_ack_range bad1[] = {{5, 4}};
  vq_ack_range bad2[] = {{10, 20}, {9, 9}};     /* no gap: 9 + 2 > 10 */
  vq_ack_range bad3[] = {{10, 20}, {0, 8}};     /* gap 0: ok */
  vq_ack_range bad4[] = {{0, MAXV + 1}};
  e.ack.ranges_in = bad1;
  e.ack.range_count_in = 1;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_ERR_INVALID_ARGUMENT);
  e.ack.ranges_in = bad2;
  e.ack.range_count_in = 2;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_ERR_INVALID_ARGUMENT);
  e.ack.ranges_in = bad3;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_OK);
  e.ack.ranges_in = bad4;
  e.ack.range_count_in = 1;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_ERR_INVALID_ARGUMENT);
  e.ack.range_count_in = 0;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_ERR_INVALID_ARGUMENT);
}

/* An iterator over a hand-built (not parsed) ACK stops and says why. */
VQ_TEST(frame_ack_iter_ill_formed)
{
  vq_frame_ack a;
  memset(&a, 0, sizeof a);
  vq_ack_iter it;
  vq_ack_range r;
  a.largest = 3;
  a.first_range = 4;
  vq_ack_iter_init(&it, &a);
  CHECK_EQ(vq_ack_iter_next(&it, &r), 0);
  CHECK_EQ(it.status, VQ_ERR_FRAME_ACK_RANGE);
  static const uint8_t sect[] = {0x05};
  a.first_range = 0;
  a.range_count = 1;
  a.ranges = sect;
  a.ranges_len = sizeof sect;
  vq_ack_iter_init(&it, &a);
  CHECK_EQ(vq_ack_iter_next(&it, &r), 1);
  CHECK_EQ(vq_ack_iter_next(&it, &r), 0);
  CHECK_EQ(it.status, VQ_ERR_FRAME_ACK_RANGE); /* gap 5 below smallest 3 */
  a.largest = 100;
  vq_ack_iter_init(&it, &a);
  CHECK_EQ(vq_ack_iter_next(&it, &r), 1);
  CHECK_EQ(vq_ack_iter_next(&it, &r), 0);
  CHECK_EQ(it.status, VQ_ERR_FRAME_TRUNCATED);
}

/* spec: rfc9000#19.8/2 — offset + length <= 2^62-1; spec: rfc9000#19.6/1 — the same for CRYPTO. */
VQ_TEST(frame_stream_offset_limit)
{
  uint8_t b[64];
  vq_frame f;
  size_t u, n;
  /* STREAM with OFF+LEN: offset 2^62-4, 3 bytes of data: exactly 2^62-1. */
  n = build(b, sizeof b, (const int64_t[]){0x0e, 4, (int64_t)MAXV - 3, 3, -1});
  memcpy(b + n, "abc", 3);
  CHECK_EQ(vq_frame_parse(b, n + 3, &f, &u), VQ_OK);
  CHECK_EQ(f.stream.offset + f.stream.len, MAXV);
  n = build(b, sizeof b, (const int64_t[]){0x0e, 4, (int64_t)MAXV - 2, 3, -1});
  memcpy(b + n, "abc", 3);
  CHECK_EQ(vq_frame_parse(b, n + 3, &f, &u), VQ_ERR_FRAME_STREAM_OFFSET);
  /* Without LEN: the data runs to the end of the buffer. */
  n = build(b, sizeof b, (const int64_t[]){0x0d, 4, (int64_t)MAXV - 3, -1});
  memcpy(b + n, "abc", 3);
  CHECK_EQ(vq_frame_parse(b, n + 3, &f, &u), VQ_OK);
  CHECK_EQ(f.stream.len, 3);
  CHECK_EQ(f.stream.fin, 1);
  CHECK_EQ(u, n + 3);
  CHECK_EQ(vq_frame_parse(b, n + 4, &f, &u), VQ_ERR_FRAME_STREAM_OFFSET);
  /* CRYPTO. */
  n = build(b, sizeof b, (const int64_t[]){0x06, (int64_t)MAXV - 1, 1, -1});
  b[n] = 0x99;
  CHECK_EQ(vq_frame_parse(b, n + 1, &f, &u), VQ_OK);
  n = build(b, sizeof b, (const int64_t[]){0x06, (int64_t)MAXV, 1, -1});
  b[n] = 0x99;
  CHECK_EQ(vq_frame_parse(b, n + 1, &f, &u), VQ_ERR_FRAME_STREAM_OFFSET);
  /* Encoder. */
  vq_frame e;
  sample(14, &e); /* type 0x0e */
  CHECK_EQ(e.type, 0x0e);
  e.stream.offset = MAXV - e.stream.len;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_OK);
  e.stream.offset++;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_ERR_INVALID_ARGUMENT);
  sample(8, &e); /* 0x08: no OFF bit, so the offset must be 0 */
  e.stream.offset = 1;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_ERR_INVALID_ARGUMENT);
  sample(9, &e); /* 0x09: FIN bit and fin field must agree */
  e.stream.fin = 0;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_ERR_INVALID_ARGUMENT);
  sample(6, &e);
  e.crypto.offset = MAXV;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), VQ_ERR_INVALID_ARGUMENT);
}

/* spec: rfc9000#19.11/1 — MAX_STREAMS <= 2^60; spec: rfc9000#19.14/2 — STREAMS_BLOCKED <= 2^60. */
VQ_TEST(frame_streams_limit)
{
  static const uint64_t types[] = {0x12, 0x13, 0x16, 0x17};
  for (size_t i = 0; i < 4; i++) {
    uint8_t b[16];
    vq_frame f;
    size_t u, n;
    n = build(b, sizeof b, (const int64_t[]){(int64_t)types[i], (int64_t)VQ_MAX_STREAMS_LIMIT, -1});
    CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_OK);
    n = build(b, sizeof b, (const int64_t[]){(int64_t)types[i], (int64_t)VQ_MAX_STREAMS_LIMIT + 1, -1});
    CHECK_EQ(vq_frame_parse(b, n, &f, &u), VQ_ERR_FRAME_STREAMS_LIMIT);
    memset(&f, 0, sizeof f);
    f.type = types[i];
    f.max_streams.maximum = VQ_MAX_STREAMS_LIMIT + 1;
    f.streams_blocked.maximum = VQ_MAX_STREAMS_LIMIT + 1;
    CHECK_EQ(vq_frame_encode(b, sizeof b, &f, &u), VQ_ERR_INVALID_ARGUMENT);
  }
}

/* spec: rfc9000#19.15/1 — CID length 1..20; spec: rfc9000#19.15/7, rfc9000#19.15/6 — Retire Prior To
 * <= Sequence Number on receipt and when encoding. */
VQ_TEST(frame_new_cid_limits)
{
  for (size_t cl = 0; cl <= 21; cl++) {
    uint8_t b[64];
    vq_frame f;
    size_t u, n = build(b, sizeof b, (const int64_t[]){0x18, 5, 5, (int64_t)cl, -1});
    memcpy(b + n, DATA, cl + 16);
    vq_status want = (cl >= 1 && cl <= 20) ? VQ_OK : VQ_ERR_FRAME_CID_LENGTH;
    CHECK_EQ(vq_frame_parse(b, n + cl + 16, &f, &u), want);
    if (want == VQ_OK) {
      CHECK_EQ(f.new_cid.cid_len, cl);
      CHECK_MEM(f.new_cid.reset_token, 16, DATA + cl, 16);
    }
    vq_frame e;
    sample(24, &e);
    CHECK_EQ(e.type, 0x18);
    e.new_cid.cid_len = cl;
    CHECK_EQ(vq_frame_encode(b, sizeof b, &e, &u), want == VQ_OK ? VQ_OK : VQ_ERR_INVALID_ARGUMENT);
  }
  uint8_t b[64];
  vq_frame f;
  size_t u, n = build(b, sizeof b, (const int64_t[]){0x18, 5, 6, 4, -1});
  memcpy(b + n, DATA, 20);
  CHECK_EQ(vq_frame_parse(b, n + 20, &f, &u), VQ_ERR_FRAME_RETIRE_PRIOR_TO);
  sample(24, &f);
  f.new_cid.retire_prior_to = f.new_cid.sequence + 1;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &f, &u), VQ_ERR_INVALID_ARGUMENT);
}

/* spec: rfc9000#19.7/2 — an empty NEW_TOKEN is a FRAME_ENCODING_ERROR; spec: rfc9000#19.7/1 — the
 * encoder never writes one. */
VQ_TEST(frame_new_token_empty)
{
  static const uint8_t b[] = {0x07, 0x00};
  vq_frame f;
  size_t u;
  CHECK_EQ(vq_frame_parse(b, sizeof b, &f, &u), VQ_ERR_FRAME_TOKEN_EMPTY);
  sample(7, &f);
  f.new_token.len = 0;
  uint8_t o[8];
  CHECK_EQ(vq_frame_encode(o, sizeof o, &f, &u), VQ_ERR_INVALID_ARGUMENT);
}

/* Encoders refuse values the wire cannot carry (varints > 2^62-1). */
VQ_TEST(frame_encode_value_too_big)
{
  uint8_t b[64];
  size_t u;
  for (int k = 0; k < NKINDS; k++) {
    vq_frame f;
    sample(k, &f);
    int changed = 1;
    switch (f.type) {
    case 0x04: f.reset_stream.final_size = MAXV + 1; break;
    case 0x05: f.stop_sending.error_code = MAXV + 1; break;
    case 0x10: f.max_data.maximum = MAXV + 1; break;
    case 0x11: f.max_stream_data.stream_id = UINT64_MAX; break;
    case 0x14: f.data_blocked.maximum = MAXV + 1; break;
    case 0x15: f.stream_data_blocked.maximum = MAXV + 1; break;
    case 0x18: f.new_cid.sequence = MAXV + 1; f.new_cid.retire_prior_to = 0; break;
    case 0x19: f.retire_cid.sequence = MAXV + 1; break;
    case 0x1c: f.close.frame_type = MAXV + 1; break;
    case 0x1d: f.close.error_code = MAXV + 1; break;
    case 0x03: f.ack.ecn_ce = MAXV + 1; break;
    case 0x02: f.ack.delay = MAXV + 1; break;
    default: changed = 0; break;
    }
    if (changed) CHECK_EQ(vq_frame_encode(b, sizeof b, &f, &u), VQ_ERR_INVALID_ARGUMENT);
  }
  vq_frame f;
  sample(29, &f); /* 0x1d carries no frame type */
  CHECK_EQ(f.type, 0x1d);
  f.close.frame_type = 6;
  CHECK_EQ(vq_frame_encode(b, sizeof b, &f, &u), VQ_ERR_INVALID_ARGUMENT);
}

static char *vec_text(const char *path)
{
  char *t = vq_read_file(path, NULL);
  return t;
}

/* spec: rfc9001#A.2 / rfc9001#A.3 / rfc9001#A.5 — real packet payloads parse into the frames the
 * RFC describes, and re-encode to the same bytes. */
VQ_TEST(frame_rfc9001_payloads)
{
  char *text = vec_text("spec/vectors/rfc9001-frames.txt");
  CHECK(text != NULL);
  if (!text) return;
  static char hex[4096];
  static uint8_t p[2048], o[2048];
  vq_frame f;
  size_t u, uo;

  CHECK_EQ(vq_vector_get(text, "client_initial_crypto", hex, sizeof hex), 0);
  long n = vq_hex(hex, p, sizeof p);
  CHECK(n > 4);
  CHECK_EQ(vq_vector_get(text, "client_initial_payload_len", hex, sizeof hex), 0);
  long plen = strtol(hex, NULL, 10);
  CHECK(plen > n && plen <= (long)sizeof p);
  memset(p + n, 0, (size_t)(plen - n)); /* "plus enough PADDING frames" */
  CHECK_EQ(vq_frame_parse(p, (size_t)plen, &f, &u), VQ_OK);
  CHECK_EQ(f.type, VQ_FRAME_CRYPTO);
  CHECK_EQ(f.crypto.offset, 0);
  CHECK_EQ(f.crypto.len, (size_t)n - 4); /* 06 00 40 f1: type, offset 0, 2-byte length */
  CHECK(f.crypto.data == p + 4);
  CHECK_EQ(f.crypto.data[0], 0x01); /* a TLS ClientHello */
  CHECK_EQ(u, (size_t)n);
  CHECK_EQ(vq_frame_encode(o, sizeof o, &f, &uo), VQ_OK);
  CHECK_MEM(o, uo, p, u);
  CHECK_EQ(vq_frame_parse(p + u, (size_t)plen - u, &f, &u), VQ_OK);
  CHECK_EQ(f.type, VQ_FRAME_PADDING);
  CHECK_EQ(f.padding.count, (size_t)(plen - n));

  CHECK_EQ(vq_vector_get(text, "server_initial_frames", hex, sizeof hex), 0);
  n = vq_hex(hex, p, sizeof p);
  CHECK(n > 10);
  size_t pos = 0;
  CHECK_EQ(vq_frame_parse(p, (size_t)n, &f, &u), VQ_OK);
  CHECK_EQ(f.type, VQ_FRAME_ACK);
  CHECK_EQ(f.ack.largest, 0);
  CHECK_EQ(f.ack.range_count, 0);
  vq_ack_range store[4];
  CHECK_EQ(fr_prepare_encode(&f, store, 4), 0);
  CHECK_EQ(f.ack.range_count_in, 1);
  CHECK_EQ(store[0].smallest, 0);
  CHECK_EQ(store[0].largest, 0);
  CHECK_EQ(vq_frame_encode(o, sizeof o, &f, &uo), VQ_OK);
  CHECK_MEM(o, uo, p, u);
  pos = u;
  CHECK_EQ(vq_frame_parse(p + pos, (size_t)n - pos, &f, &u), VQ_OK);
  CHECK_EQ(f.type, VQ_FRAME_CRYPTO);
  CHECK_EQ(f.crypto.data[0], 0x02); /* a TLS ServerHello */
  CHECK_EQ(pos + u, (size_t)n);    /* "and no PADDING frames" */

  CHECK_EQ(vq_vector_get(text, "short_header_payload", hex, sizeof hex), 0);
  n = vq_hex(hex, p, sizeof p);
  CHECK_EQ(n, 1);
  CHECK_EQ(vq_frame_parse(p, 1, &f, &u), VQ_OK);
  CHECK_EQ(f.type, VQ_FRAME_PING);
  free(text);
}

/* spec: rfc9000#12.4 — Table 3 (Pkts, N, C), spec: rfc9000#12.5 — no 0-RTT list,
 * spec: rfc9002#2 — ack-eliciting and in-flight definitions; read from spec/vectors. */
VQ_TEST(frame_table3_rules)
{
  char *text = vec_text("spec/vectors/rfc9000-frame-types.txt");
  CHECK(text != NULL);
  if (!text) return;
  static char no0rtt[512];
  char *l0 = strstr(text, "\nno0rtt ");
  CHECK(l0 != NULL);
  if (!l0) return;
  size_t nl = strcspn(l0 + 1, "\n");
  memcpy(no0rtt, l0 + 1, nl < sizeof no0rtt - 1 ? nl : sizeof no0rtt - 1);
  int known[0x40] = {0};
  int rows = 0;
  for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    unsigned lo, hi;
    char name[64], pkts[16], spec[16];
    if (sscanf(l, "type %x %x %63s %15s %15s", &lo, &hi, name, pkts, spec) != 5) continue;
    rows++;
    char padded[80];
    snprintf(padded, sizeof padded, " %s ", name);
    char list[530];
    snprintf(list, sizeof list, "%s ", no0rtt);
    int not0 = strstr(list, padded) != NULL;
    for (unsigned ty = lo; ty <= hi; ty++) {
      known[ty] = 1;
      CHECK_EQ(vq_frame_type_known(ty), 1);
      int ih = strcmp(pkts, "ih01") == 0;
      int in_i = pkts[0] == 'I' || (ih && ty == 0x1c);
      int in_h = pkts[1] == 'H' || (ih && ty == 0x1c);
      int in_0 = pkts[2] == '0' && !not0;
      int in_1 = pkts[3] == '1';
      if (vq_frame_allowed_in(ty, VQ_FRAME_PKT_INITIAL) != in_i ||
          vq_frame_allowed_in(ty, VQ_FRAME_PKT_HANDSHAKE) != in_h ||
          vq_frame_allowed_in(ty, VQ_FRAME_PKT_0RTT) != in_0 || vq_frame_allowed_in(ty, VQ_FRAME_PKT_1RTT) != in_1)
        vq_fail(t, __FILE__, __LINE__, "Pkts of 0x%x (%s %s) wrong", ty, name, pkts);
      int n_mark = strchr(spec, 'N') != NULL, c_mark = strchr(spec, 'C') != NULL;
      CHECK_EQ(vq_frame_is_ack_eliciting(ty), !n_mark);
      if (c_mark) CHECK_EQ(vq_frame_counts_in_flight(ty), 0);
      CHECK_EQ(vq_frame_counts_in_flight(ty), vq_frame_is_ack_eliciting(ty) || ty == VQ_FRAME_PADDING);
    }
  }
  CHECK_EQ(rows, 21);
  for (unsigned ty = 0; ty < 0x40; ty++) {
    if (known[ty]) continue;
    CHECK_EQ(vq_frame_type_known(ty), 0);
    CHECK_EQ(vq_frame_allowed_in(ty, VQ_FRAME_PKT_1RTT), 0);
    CHECK_EQ(vq_frame_is_ack_eliciting(ty), 0);
    CHECK_EQ(vq_frame_counts_in_flight(ty), 0);
  }
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_PING, (vq_frame_pkt)7), 0);
  free(text);
}

/* spec: rfc9000#12.4/3, rfc9000#17.2.4/2, rfc9000#12.5/3, rfc9000#12.5/5, rfc9001#8.3/2 — named cases of
 * Table 3, beside the table-driven test above: frames not permitted in a packet type are refused. */
VQ_TEST(frame_packet_type_rules_named)
{
  /* Handshake packets: only PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE 0x1c. */
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_CRYPTO, VQ_FRAME_PKT_HANDSHAKE), 1);
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_CONNECTION_CLOSE, VQ_FRAME_PKT_HANDSHAKE), 1);
  CHECK_EQ(vq_frame_allowed_in(0x08, VQ_FRAME_PKT_HANDSHAKE), 0); /* STREAM */
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_NEW_TOKEN, VQ_FRAME_PKT_HANDSHAKE), 0);
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_HANDSHAKE_DONE, VQ_FRAME_PKT_HANDSHAKE), 0);
  /* CONNECTION_CLOSE 0x1d only in the application data space (0-RTT, 1-RTT). */
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_CONNECTION_CLOSE_APP, VQ_FRAME_PKT_INITIAL), 0);
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_CONNECTION_CLOSE_APP, VQ_FRAME_PKT_HANDSHAKE), 0);
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_CONNECTION_CLOSE_APP, VQ_FRAME_PKT_0RTT), 1);
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_CONNECTION_CLOSE_APP, VQ_FRAME_PKT_1RTT), 1);
  /* Other application frames: never in Initial. */
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_MAX_DATA, VQ_FRAME_PKT_INITIAL), 0);
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_MAX_DATA, VQ_FRAME_PKT_1RTT), 1);
  /* RFC 9001 §8.3: CRYPTO in a 0-RTT packet is refused. */
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_CRYPTO, VQ_FRAME_PKT_0RTT), 0);
  CHECK_EQ(vq_frame_allowed_in(VQ_FRAME_CRYPTO, VQ_FRAME_PKT_1RTT), 1);
}

/* spec: rfc9000#2.1 — stream ID bits: 0x01 server-initiated, 0x02 unidirectional. */
VQ_TEST(frame_stream_id_helpers)
{
  /* id: 0 client bidi, 1 server bidi, 2 client uni, 3 server uni (and +4k). */
  for (uint64_t id = 0; id < 16; id++) {
    int srv = (int)(id % 2), uni = (int)((id / 2) % 2);
    CHECK_EQ(vq_stream_is_server_initiated(id), srv);
    CHECK_EQ(vq_stream_is_unidirectional(id), uni);
    for (int local_srv = 0; local_srv <= 1; local_srv++) {
      int mine = srv == local_srv;
      CHECK_EQ(vq_stream_can_send(id, local_srv), uni ? mine : 1);
      CHECK_EQ(vq_stream_can_receive(id, local_srv), uni ? !mine : 1);
    }
  }
  CHECK_EQ(vq_stream_is_server_initiated(MAXV), 1);
  CHECK_EQ(vq_stream_is_unidirectional(MAXV), 1);
}

/* A random frame of kind k with random field values within what the wire carries. */
static void random_frame(uint64_t *s, int k, vq_frame *f, vq_ack_range *rs, size_t rcap, const uint8_t *pool)
{
  sample(k, f);
  uint64_t r = vq_rand(s);
#define RV() (vq_rand(s) % (MAXV + 1) >> (vq_rand(s) % 62))
  size_t dl = (size_t)(vq_rand(s) % 100);
  const uint8_t *dp = pool + vq_rand(s) % 100;
  switch (f->type) {
  case 0x00: f->padding.count = 1 + (size_t)(r % 300); break;
  case 0x02:
  case 0x03: {
    size_t n = 1 + (size_t)(r % rcap);
    uint64_t top = RV();
    for (size_t i = 0; i < n; i++) {
      uint64_t len = RV() % (top + 1);
      rs[i].largest = top;
      rs[i].smallest = top - len;
      if (rs[i].smallest < 2 || i + 1 == n) { n = i + 1; break; }
      uint64_t gap = RV() % (rs[i].smallest - 1);
      top = rs[i].smallest - 2 - gap;
    }
    f->ack.ranges_in = rs;
    f->ack.range_count_in = n;
    f->ack.delay = RV();
    f->ack.ect0 = RV();
    f->ack.ect1 = RV();
    f->ack.ecn_ce = RV();
    break;
  }
  case 0x04: f->reset_stream = (vq_frame_reset_stream){RV(), RV(), RV()}; break;
  case 0x05: f->stop_sending = (vq_frame_stop_sending){RV(), RV()}; break;
  case 0x06: f->crypto = (vq_frame_crypto){RV() % (MAXV - dl), dp, dl}; break;
  case 0x07: f->new_token = (vq_frame_new_token){dp, dl + 1}; break;
  case 0x10: f->max_data.maximum = RV(); break;
  case 0x11: f->max_stream_data = (vq_frame_max_stream_data){RV(), RV()}; break;
  case 0x12:
  case 0x13: f->max_streams.maximum = RV() % (VQ_MAX_STREAMS_LIMIT + 1); break;
  case 0x14: f->data_blocked.maximum = RV(); break;
  case 0x15: f->stream_data_blocked = (vq_frame_max_stream_data){RV(), RV()}; break;
  case 0x16:
  case 0x17: f->streams_blocked.maximum = RV() % (VQ_MAX_STREAMS_LIMIT + 1); break;
  case 0x18: {
    uint64_t seq = RV();
    f->new_cid = (vq_frame_new_cid){seq, RV() % (seq + 1), dp, 1 + (size_t)(r % 20), dp + 20};
    break;
  }
  case 0x19: f->retire_cid.sequence = RV(); break;
  case 0x1a:
  case 0x1b: f->path.data = dp; break;
  case 0x1c: f->close = (vq_frame_close){RV(), RV(), dp, dl}; break;
  case 0x1d: f->close = (vq_frame_close){RV(), 0, dp, dl}; break;
  case 0x30:
  case 0x31: f->datagram = (vq_frame_datagram){dp, dl}; break;
  default:
    if (f->type >= 0x08 && f->type <= 0x0f) {
      f->stream.stream_id = RV();
      f->stream.offset = (f->type & 4) ? RV() % (MAXV - dl) : 0;
      f->stream.data = dp;
      f->stream.len = dl;
    }
    break;
  }
#undef RV
}

/* Property: decode(encode(x)) = x for thousands of random frames of every type; the encoded length
 * is what encode writes; parse -> encode reproduces the bytes; the ACK iterator's ranges are
 * ordered and disjoint. */
VQ_TEST(frame_roundtrip_property)
{
  uint64_t seed = 0xf4a3e5eedull;
  static uint8_t pool[256];
  for (size_t i = 0; i < sizeof pool; i++) pool[i] = (uint8_t)vq_rand(&seed);
  int bad = 0;
  for (int i = 0; i < 60000 && bad < 5; i++) {
    int k = (int)(vq_rand(&seed) % NKINDS);
    vq_frame f, g;
    vq_ack_range rs[32], st[32];
    random_frame(&seed, k, &f, rs, 32, pool);
    uint8_t b[512], c[512];
    size_t n = 0, u = 0, u2 = 0, u3 = 0;
    if (vq_frame_encoded_len(&f, &n) != VQ_OK || vq_frame_encode(b, sizeof b, &f, &u) != VQ_OK || n != u ||
        vq_frame_parse(b, u, &g, &u2) != VQ_OK || u2 != u || !fr_eq(&f, &g) ||
        fr_prepare_encode(&g, st, 32) != 0 || vq_frame_encode(c, sizeof c, &g, &u3) != VQ_OK ||
        u3 != u || memcmp(b, c, u) != 0) {
      vq_fail(t, __FILE__, __LINE__, "random frame %d (type 0x%llx) does not round-trip", i,
              (unsigned long long)f.type);
      bad++;
      continue;
    }
    if (g.type == VQ_FRAME_ACK || g.type == VQ_FRAME_ACK_ECN) {
      for (size_t j = 0; j < g.ack.range_count_in; j++) {
        if (st[j].smallest > st[j].largest || (j > 0 && st[j].largest + 2 > st[j - 1].smallest)) {
          vq_fail(t, __FILE__, __LINE__, "iterator ranges out of order");
          bad++;
        }
      }
    }
  }
  CHECK_EQ(bad, 0);
}

/* A whole payload parsed in a loop: every frame, back to back. */
VQ_TEST(frame_payload_loop)
{
  uint8_t p[2048];
  size_t len = 0;
  int want = 1; /* the trailing padding run */
  for (int k = 1; k < NKINDS; k++) {
    vq_frame f;
    sample(k, &f);
    if (open_ended(f.type)) continue;
    size_t u;
    CHECK_EQ(vq_frame_encode(p + len, sizeof p - len, &f, &u), VQ_OK);
    len += u;
    want++;
  }
  memset(p + len, 0, 10);
  len += 10;
  size_t pos = 0;
  int frames = 0;
  while (pos < len) {
    vq_frame f;
    size_t u = 0;
    vq_status s = vq_frame_parse(p + pos, len - pos, &f, &u);
    CHECK_EQ(s, VQ_OK);
    if (s != VQ_OK) break;
    pos += u;
    frames++;
  }
  CHECK_EQ(pos, len);
  CHECK_EQ(frames, want);
}

/* spec: rfc9221#5/3, rfc9221#6/1 — DATAGRAM frames (0x30, 0x31) only in 0-RTT and 1-RTT packets: a
 * receiver refuses them in Initial and Handshake packets (PROTOCOL_VIOLATION). */
VQ_TEST(frame_datagram_packet_types)
{
  for (uint64_t ty = VQ_FRAME_DATAGRAM; ty <= VQ_FRAME_DATAGRAM_LEN; ty++) {
    CHECK_EQ(vq_frame_type_known(ty), 1);
    CHECK_EQ(vq_frame_allowed_in(ty, VQ_FRAME_PKT_INITIAL), 0);
    CHECK_EQ(vq_frame_allowed_in(ty, VQ_FRAME_PKT_HANDSHAKE), 0);
    CHECK_EQ(vq_frame_allowed_in(ty, VQ_FRAME_PKT_0RTT), 1);
    CHECK_EQ(vq_frame_allowed_in(ty, VQ_FRAME_PKT_1RTT), 1);
  }
}
