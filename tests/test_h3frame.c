/* Tests of src/h3/h3frame*.c: HTTP/3 frames (RFC 9114 §7), SETTINGS (§7.2.4), the control and message
 * stream rules (§6.2.1, §4.1, §7.2 Table 1), unidirectional stream types (§6.2) and GOAWAY IDs (§5.2):
 * round trips, exact-payload violations, truncation at every byte, seeded properties, and a stream of
 * frames read back in random pieces. */
#include "vqtest.h"
#include "vquic/h3frame.h"
#include "vquic/varint.h"

/* ---- helpers ------------------------------------------------------------------------------------- */

/* Builds type + length + payload with the given varint lengths (non-minimal allowed). */
static size_t raw_frame(uint8_t *out, uint64_t type, size_t tn, const uint8_t *p, size_t plen,
                        size_t ln)
{
  size_t o = 0;
  if (vq_varint_encode_n(out, 16, type, tn) != VQ_OK) return 0;
  o += tn;
  if (vq_varint_encode_n(out + o, 16, plen, ln) != VQ_OK) return 0;
  o += ln;
  if (plen) memcpy(out + o, p, plen);
  return o + plen;
}

/* ---- reserved values, classification ------------------------------------------------------------- */

/* spec: rfc9114#7.2.8, rfc9114#11.2.1 — 0x21, 0x40, ..., 0x3ffffffffffffffe are reserved. */
VQ_TEST(h3frame_reserved_and_grease)
{
  CHECK_EQ(vq_h3_is_reserved(0x21), 1);
  CHECK_EQ(vq_h3_is_reserved(0x40), 1);
  CHECK_EQ(vq_h3_is_reserved(0x3ffffffffffffffeull), 1);
  CHECK_EQ(vq_h3_is_reserved(0x20), 0);
  CHECK_EQ(vq_h3_is_reserved(0x22), 0);
  CHECK_EQ(vq_h3_is_reserved(0x3f), 0);
  CHECK_EQ(vq_h3_is_reserved(0), 0);
  CHECK_EQ(vq_h3_grease(0), 0x21);
  CHECK_EQ(vq_h3_grease(1), 0x40);
  CHECK_EQ(vq_h3_grease(VQ_H3_GREASE_N_MAX), 0x3ffffffffffffffeull);
  CHECK_EQ(vq_h3_grease(VQ_H3_GREASE_N_MAX + 1), 0x21);
  uint64_t seed = 0x1234;
  for (int i = 0; i < 10000; i++) {
    const uint64_t g = vq_h3_grease(vq_rand(&seed));
    CHECK(g <= VQ_VARINT_MAX);
    CHECK_EQ(vq_h3_is_reserved(g), 1);
    CHECK_EQ(vq_h3_frame_classify(g), VQ_H3_FC_RESERVED);
    CHECK_EQ(vq_h3_uni_classify(g), VQ_H3_UNI_RESERVED);
  }
}

VQ_TEST(h3frame_classify)
{
  CHECK_EQ(vq_h3_frame_classify(0x00), VQ_H3_FC_DATA);
  CHECK_EQ(vq_h3_frame_classify(0x01), VQ_H3_FC_HEADERS);
  CHECK_EQ(vq_h3_frame_classify(0x03), VQ_H3_FC_CANCEL_PUSH);
  CHECK_EQ(vq_h3_frame_classify(0x04), VQ_H3_FC_SETTINGS);
  CHECK_EQ(vq_h3_frame_classify(0x05), VQ_H3_FC_PUSH_PROMISE);
  CHECK_EQ(vq_h3_frame_classify(0x07), VQ_H3_FC_GOAWAY);
  CHECK_EQ(vq_h3_frame_classify(0x0d), VQ_H3_FC_MAX_PUSH_ID);
  /* spec: rfc9114#7.2.8/3 — the HTTP/2 types are reserved. */
  CHECK_EQ(vq_h3_frame_classify(0x02), VQ_H3_FC_H2_RESERVED);
  CHECK_EQ(vq_h3_frame_classify(0x06), VQ_H3_FC_H2_RESERVED);
  CHECK_EQ(vq_h3_frame_classify(0x08), VQ_H3_FC_H2_RESERVED);
  CHECK_EQ(vq_h3_frame_classify(0x09), VQ_H3_FC_H2_RESERVED);
  CHECK_EQ(vq_h3_frame_classify(0x0a), VQ_H3_FC_UNKNOWN);
  CHECK_EQ(vq_h3_frame_classify(0x0e), VQ_H3_FC_UNKNOWN);
  CHECK_EQ(vq_h3_frame_classify(0x21), VQ_H3_FC_RESERVED);
  CHECK_EQ(vq_h3_frame_classify(VQ_VARINT_MAX), VQ_H3_FC_UNKNOWN);
  CHECK_EQ(vq_h3_frame_is_buffered(0x00), 0);
  CHECK_EQ(vq_h3_frame_is_buffered(0x01), 1);
  CHECK_EQ(vq_h3_frame_is_buffered(0x04), 1);
  CHECK_EQ(vq_h3_frame_is_buffered(0x21), 0);
  CHECK_EQ(vq_h3_frame_is_buffered(0x0e), 0);
}

/* ---- frame header: streaming --------------------------------------------------------------------- */

/* spec: rfc9114#7.1 — a header cut anywhere asks for more bytes; given them, it completes. */
VQ_TEST(h3frame_header_truncation_every_byte)
{
  static const uint64_t types[] = {0, 1, 4, 0x21, 0x3fff, 0x4000, 0x3fffffff, 0x40000000,
                                   VQ_VARINT_MAX};
  static const uint64_t lens[] = {0, 63, 64, 16383, 16384, 1073741823, 1073741824, VQ_VARINT_MAX};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
      uint8_t b[16];
      size_t used = 0;
      CHECK_EQ(vq_h3_frame_header_encode(b, sizeof b, types[i], lens[j], &used), VQ_OK);
      CHECK_EQ(used, vq_varint_len(types[i]) + vq_varint_len(lens[j]));
      for (size_t k = 0; k < used; k++) {
        vq_h3_frame_hdr h = {7, 7, 7};
        size_t need = 0;
        CHECK_EQ(vq_h3_frame_header_parse(b, k, &h, &need), VQ_ERR_H3_NEED_MORE);
        CHECK(need > k && need <= used);
        CHECK_EQ(h.type, 7);  /* untouched */
        /* Feeding `need` bytes never goes backwards: either complete or a larger need. */
        size_t need2 = 0;
        vq_status st = vq_h3_frame_header_parse(b, need, &h, &need2);
        CHECK(st == VQ_OK || (st == VQ_ERR_H3_NEED_MORE && need2 > need));
      }
      vq_h3_frame_hdr h;
      size_t need = 99;
      CHECK_EQ(vq_h3_frame_header_parse(b, used, &h, &need), VQ_OK);
      CHECK_EQ(h.type, types[i]);
      CHECK_EQ(h.length, lens[j]);
      CHECK_EQ(h.hdr_len, used);
      CHECK_EQ(need, 99);
      /* Too little room: nothing claimed. */
      CHECK_EQ(vq_h3_frame_header_encode(b, used - 1, types[i], lens[j], &used),
               VQ_ERR_BUFFER_TOO_SMALL);
    }
  uint8_t b[16];
  size_t used;
  CHECK_EQ(vq_h3_frame_header_encode(b, sizeof b, VQ_VARINT_MAX + 1, 0, &used),
           VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_h3_frame_header_encode(b, sizeof b, 0, VQ_VARINT_MAX + 1, &used),
           VQ_ERR_INVALID_ARGUMENT);
}

/* spec: rfc9000#16 — non-minimal varints are valid; HTTP/3 frame headers may use them. */
VQ_TEST(h3frame_header_non_minimal)
{
  uint8_t b[32];
  const uint8_t p[3] = {1, 2, 3};
  size_t n = raw_frame(b, 0x00, 8, p, 3, 4);
  vq_h3_frame_hdr h;
  size_t need;
  CHECK_EQ(vq_h3_frame_header_read(b, n, 0, &h, &need), VQ_OK);
  CHECK_EQ(h.type, 0);
  CHECK_EQ(h.length, 3);
  CHECK_EQ(h.hdr_len, 12);
}

/* spec: rfc9114#7.2.8/3, rfc9114#7.1/2, rfc9114#10.5/3 — the header check. */
VQ_TEST(h3frame_header_check)
{
  for (uint64_t ty = 0x02; ty <= 0x09; ty++)
    if (ty == 2 || ty == 6 || ty == 8 || ty == 9)
      CHECK_EQ(vq_h3_frame_header_check(ty, 1, 100), VQ_ERR_H3_FRAME_UNEXPECTED);
  static const uint64_t idf[] = {0x03, 0x07, 0x0d};
  for (size_t i = 0; i < 3; i++) {
    CHECK_EQ(vq_h3_frame_header_check(idf[i], 0, 100), VQ_ERR_H3_FRAME);
    CHECK_EQ(vq_h3_frame_header_check(idf[i], 9, 100), VQ_ERR_H3_FRAME);
    CHECK_EQ(vq_h3_frame_header_check(idf[i], 1, 100), VQ_OK);
    CHECK_EQ(vq_h3_frame_header_check(idf[i], 8, 100), VQ_OK);
    CHECK_EQ(vq_h3_frame_header_check(idf[i], 8, 7), VQ_ERR_H3_EXCESSIVE_LOAD);
  }
  /* Buffered frames over the bound; DATA and skipped frames never are. */
  CHECK_EQ(vq_h3_frame_header_check(0x01, 101, 100), VQ_ERR_H3_EXCESSIVE_LOAD);
  CHECK_EQ(vq_h3_frame_header_check(0x01, 100, 100), VQ_OK);
  CHECK_EQ(vq_h3_frame_header_check(0x04, 101, 100), VQ_ERR_H3_EXCESSIVE_LOAD);
  CHECK_EQ(vq_h3_frame_header_check(0x05, 101, 100), VQ_ERR_H3_EXCESSIVE_LOAD);
  CHECK_EQ(vq_h3_frame_header_check(0x00, VQ_VARINT_MAX, 0), VQ_OK);
  CHECK_EQ(vq_h3_frame_header_check(0x21, VQ_VARINT_MAX, 0), VQ_OK);
  CHECK_EQ(vq_h3_frame_header_check(0x0e, VQ_VARINT_MAX, 0), VQ_OK);
  /* read = parse + check; mapped to the H3 codes. */
  uint8_t b[4] = {0x02, 0x00};
  vq_h3_frame_hdr h;
  size_t need;
  CHECK_EQ(vq_h3_frame_header_read(b, 2, 100, &h, &need), VQ_ERR_H3_FRAME_UNEXPECTED);
  CHECK_EQ(vq_status_disposition(VQ_ERR_H3_FRAME_UNEXPECTED), VQ_DISP_CLOSE_APP);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_FRAME_UNEXPECTED), VQ_H3_FRAME_UNEXPECTED);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_FRAME), 0x106);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_EXCESSIVE_LOAD), 0x107);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_ID), 0x108);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_SETTINGS), 0x109);
  CHECK_EQ(vq_status_app_error(VQ_ERR_H3_MISSING_SETTINGS), 0x10a);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_H3_FRAME), VQ_TE_APPLICATION_ERROR);
  CHECK_EQ(vq_status_disposition(VQ_ERR_H3_NEED_MORE), VQ_DISP_NONE);
  CHECK_EQ(vq_status_app_error(VQ_ERR_FRAME_TRUNCATED), VQ_H3_INTERNAL_ERROR);
  CHECK(strcmp(vq_status_reason(VQ_ERR_H3_SETTINGS), "unknown status") != 0);
}

/* ---- DATA, HEADERS, reserved: opaque payloads ---------------------------------------------------- */

/* spec: rfc9114#7.2.1, rfc9114#7.2.2, rfc9114#7.2.8 */
VQ_TEST(h3frame_span_round_trip)
{
  static const uint64_t types[] = {VQ_H3_FRAME_DATA, VQ_H3_FRAME_HEADERS, 0x21, 0x1f * 7 + 0x21};
  uint8_t payload[300];
  for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7 + 1);
  static const size_t plens[] = {0, 1, 63, 64, 300};
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 5; j++) {
      uint8_t b[320];
      size_t used = 0;
      CHECK_EQ(vq_h3_frame_encode_span(b, sizeof b, types[i], payload, plens[j], &used), VQ_OK);
      vq_h3_frame_hdr h;
      size_t need;
      CHECK_EQ(vq_h3_frame_header_read(b, used, 1000, &h, &need), VQ_OK);
      CHECK_EQ(h.type, types[i]);
      CHECK_EQ(h.length, plens[j]);
      CHECK_EQ(h.hdr_len + plens[j], used);
      CHECK_MEM(b + h.hdr_len, plens[j], payload, plens[j]);
      size_t u2;
      CHECK_EQ(vq_h3_frame_encode_span(b, used - 1, types[i], payload, plens[j], &u2),
               VQ_ERR_BUFFER_TOO_SMALL);
    }
}

/* ---- CANCEL_PUSH, GOAWAY, MAX_PUSH_ID ------------------------------------------------------------ */

/* spec: rfc9114#7.2.3, rfc9114#7.2.6, rfc9114#7.2.7 */
VQ_TEST(h3frame_id_frames_round_trip)
{
  static const uint64_t types[] = {VQ_H3_FRAME_CANCEL_PUSH, VQ_H3_FRAME_GOAWAY,
                                   VQ_H3_FRAME_MAX_PUSH_ID};
  static const uint64_t ids[] = {0, 63, 64, 16383, 16384, 1073741823, 1073741824, VQ_VARINT_MAX};
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 8; j++) {
      uint8_t b[16];
      size_t used = 0;
      CHECK_EQ(vq_h3_id_frame_encode(b, sizeof b, types[i], ids[j], &used), VQ_OK);
      CHECK_EQ(used, 2 + vq_varint_len(ids[j]));
      vq_h3_frame_hdr h;
      size_t need;
      CHECK_EQ(vq_h3_frame_header_read(b, used, 8, &h, &need), VQ_OK);
      CHECK_EQ(h.type, types[i]);
      uint64_t id = 1;
      CHECK_EQ(vq_h3_id_frame_parse(b + h.hdr_len, (size_t)h.length, &id), VQ_OK);
      CHECK_EQ(id, ids[j]);
      for (size_t c = 0; c < used; c++)
        CHECK_EQ(vq_h3_id_frame_encode(b, c, types[i], ids[j], &need), VQ_ERR_BUFFER_TOO_SMALL);
    }
  uint8_t b[16];
  size_t used;
  CHECK_EQ(vq_h3_id_frame_encode(b, sizeof b, VQ_H3_FRAME_DATA, 1, &used), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_h3_id_frame_encode(b, sizeof b, 0x07, VQ_VARINT_MAX + 1, &used),
           VQ_ERR_INVALID_ARGUMENT);
}

/* spec: rfc9114#7.1/1, rfc9114#7.1/2, rfc9114#10.8/1, rfc9114#7.1/3 — extra or missing bytes are
 * H3_FRAME_ERROR. */
VQ_TEST(h3frame_id_frames_exact_payload)
{
  uint8_t p[9] = {0x05, 0x00, 0, 0, 0, 0, 0, 0, 0};
  uint64_t id = 77;
  CHECK_EQ(vq_h3_id_frame_parse(p, 1, &id), VQ_OK);
  CHECK_EQ(id, 5);
  id = 77;
  CHECK_EQ(vq_h3_id_frame_parse(p, 2, &id), VQ_ERR_H3_FRAME);  /* one extra byte */
  CHECK_EQ(vq_h3_id_frame_parse(p, 0, &id), VQ_ERR_H3_FRAME);  /* empty */
  CHECK_EQ(id, 77);
  /* A 2-, 4-, 8-byte varint cut short by the payload length, and followed by extra bytes. */
  static const uint8_t firsts[] = {0x40, 0x80, 0xc0};
  static const size_t sizes[] = {2, 4, 8};
  for (size_t i = 0; i < 3; i++) {
    p[0] = firsts[i];
    for (size_t l = 1; l < sizes[i]; l++) CHECK_EQ(vq_h3_id_frame_parse(p, l, &id), VQ_ERR_H3_FRAME);
    CHECK_EQ(vq_h3_id_frame_parse(p, sizes[i], &id), VQ_OK);
    CHECK_EQ(vq_h3_id_frame_parse(p, sizes[i] + 1, &id), VQ_ERR_H3_FRAME);
  }
}

/* ---- PUSH_PROMISE ---------------------------------------------------------------------------------- */

/* spec: rfc9114#7.2.5 */
VQ_TEST(h3frame_push_promise)
{
  uint8_t fs[40];
  for (size_t i = 0; i < sizeof fs; i++) fs[i] = (uint8_t)(0xa0 + i);
  static const uint64_t ids[] = {0, 63, 64, 16384, VQ_VARINT_MAX};
  for (size_t i = 0; i < 5; i++)
    for (size_t fl = 0; fl <= sizeof fs; fl += 13) {
      uint8_t b[64];
      size_t used = 0;
      CHECK_EQ(vq_h3_push_promise_encode(b, sizeof b, ids[i], fs, fl, &used), VQ_OK);
      vq_h3_frame_hdr h;
      size_t need;
      CHECK_EQ(vq_h3_frame_header_read(b, used, 100, &h, &need), VQ_OK);
      CHECK_EQ(h.type, VQ_H3_FRAME_PUSH_PROMISE);
      CHECK_EQ(h.hdr_len + h.length, used);
      uint64_t id = 1;
      size_t off = 0;
      CHECK_EQ(vq_h3_push_promise_parse(b + h.hdr_len, (size_t)h.length, &id, &off), VQ_OK);
      CHECK_EQ(id, ids[i]);
      CHECK_MEM(b + h.hdr_len + off, (size_t)h.length - off, fs, fl);
      /* Missing bytes: the Push ID cut short. */
      for (size_t l = 0; l < vq_varint_len(ids[i]); l++)
        CHECK_EQ(vq_h3_push_promise_parse(b + h.hdr_len, l, &id, &off), VQ_ERR_H3_FRAME);
      for (size_t c = 0; c < used; c++)
        CHECK_EQ(vq_h3_push_promise_encode(b, c, ids[i], fs, fl, &need), VQ_ERR_BUFFER_TOO_SMALL);
    }
  uint8_t b[64];
  size_t used;
  CHECK_EQ(vq_h3_push_promise_encode(b, sizeof b, VQ_VARINT_MAX + 1, fs, 1, &used),
           VQ_ERR_INVALID_ARGUMENT);
}

/* ---- SETTINGS ------------------------------------------------------------------------------------ */

static size_t settings_payload(uint8_t *out, const uint64_t *pairs, size_t npairs)
{
  size_t o = 0, u;
  for (size_t i = 0; i < 2 * npairs; i++) {
    if (vq_varint_encode(out + o, 64, pairs[i], &u) != VQ_OK) return 0;
    o += u;
  }
  return o;
}

/* spec: rfc9114#7.2.4, rfc9114#7.2.4.1, rfc9204#5
 * spec: rfc9114#7.2.4/7, rfc9114#7.2.4.1/2, rfc9114#9/1 — unknown and reserved identifiers are ignored. */
VQ_TEST(h3frame_settings_decode)
{
  uint8_t p[256] = {0};
  vq_h3_settings s;
  /* Empty: defaults. */
  CHECK_EQ(vq_h3_settings_parse(p, 0, &s), VQ_OK);
  CHECK_EQ(s.max_field_section_size, VQ_VARINT_MAX);
  CHECK_EQ(s.qpack_max_table_capacity, 0);
  CHECK_EQ(s.has_max_field_section_size, 0);
  /* Every known setting, plus reserved and unknown ones, which are ignored (rfc9114#7.2.4/7). */
  const uint64_t all[] = {0x06, 16384, 0x21, 12345, 0x01, 4096, 0x07, 100, 0x08, 1, 0x33, 1,
                          0x1f * 3 + 0x21, VQ_VARINT_MAX, 0x00, 5, 0x0a, 7, 0x4000, 1};
  size_t n = settings_payload(p, all, 10);
  CHECK_EQ(vq_h3_settings_parse(p, n, &s), VQ_OK);
  CHECK_EQ(s.max_field_section_size, 16384);
  CHECK_EQ(s.qpack_max_table_capacity, 4096);
  CHECK_EQ(s.qpack_blocked_streams, 100);
  CHECK_EQ(s.enable_connect_protocol, 1);
  CHECK_EQ(s.h3_datagram, 1);
  CHECK(s.has_max_field_section_size && s.has_qpack_max_table_capacity &&
        s.has_qpack_blocked_streams && s.has_enable_connect_protocol && s.has_h3_datagram);
}

/* spec: rfc9114#7.2.4/6, rfc9114#7.2.4.1/3 — duplicates and HTTP/2 identifiers are H3_SETTINGS_ERROR. */
VQ_TEST(h3frame_settings_errors)
{
  uint8_t p[64] = {0};
  vq_h3_settings s;
  static const uint64_t known[] = {0x01, 0x06, 0x07, 0x08, 0x33};
  for (size_t i = 0; i < 5; i++) {
    const uint64_t dup[] = {known[i], 0, 0x21, 3, known[i], 1};
    size_t n = settings_payload(p, dup, 3);
    CHECK_EQ(vq_h3_settings_parse(p, n, &s), VQ_ERR_H3_SETTINGS);
  }
  for (uint64_t id = 2; id <= 5; id++) {
    const uint64_t h2[] = {0x06, 100, id, 0};
    size_t n = settings_payload(p, h2, 2);
    CHECK_EQ(vq_h3_settings_parse(p, n, &s), VQ_ERR_H3_SETTINGS);
  }
  /* RFC 9220 §3, RFC 9297 §2.1.1: only 0 and 1. */
  const uint64_t bad1[] = {0x08, 2};
  CHECK_EQ(vq_h3_settings_parse(p, settings_payload(p, bad1, 1), &s), VQ_ERR_H3_SETTINGS);
  const uint64_t bad2[] = {0x33, 64};
  CHECK_EQ(vq_h3_settings_parse(p, settings_payload(p, bad2, 1), &s), VQ_ERR_H3_SETTINGS);
  const uint64_t ok0[] = {0x08, 0, 0x33, 0};
  CHECK_EQ(vq_h3_settings_parse(p, settings_payload(p, ok0, 2), &s), VQ_OK);
  CHECK_EQ(s.has_enable_connect_protocol, 1);
  CHECK_EQ(s.enable_connect_protocol, 0);
  /* Reserved identifiers may repeat: they have no meaning (rfc9114#7.2.4.1/2). */
  const uint64_t rr[] = {0x21, 1, 0x21, 2};
  CHECK_EQ(vq_h3_settings_parse(p, settings_payload(p, rr, 2), &s), VQ_OK);
}

/* spec: rfc9114#7.1/2 — a setting cut at any byte is H3_FRAME_ERROR. */
VQ_TEST(h3frame_settings_truncated)
{
  uint8_t p[64] = {0};
  vq_h3_settings s;
  const uint64_t pairs[] = {0x06, 1073741824, 0x4000, 16384, 0x01, 100};
  size_t n = settings_payload(p, pairs, 3);
  CHECK_EQ(vq_h3_settings_parse(p, n, &s), VQ_OK);
  /* Pair boundaries: 0..9, 9..12 (0x4000 is 4 bytes), ... */
  size_t boundaries[4] = {0, 0, 0, 0};
  size_t o = 0, u;
  uint64_t v;
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(vq_varint_decode(p + o, n - o, &v, &u), VQ_OK);
    o += u;
    CHECK_EQ(vq_varint_decode(p + o, n - o, &v, &u), VQ_OK);
    o += u;
    boundaries[i + 1] = o;
  }
  for (size_t k = 0; k <= n; k++) {
    int at_boundary = k == boundaries[0] || k == boundaries[1] || k == boundaries[2] ||
                      k == boundaries[3];
    CHECK_EQ(vq_h3_settings_parse(p, k, &s), at_boundary ? VQ_OK : VQ_ERR_H3_FRAME);
  }
}

/* spec: rfc9114#7.2.4, rfc9114#7.2.4.1/1 — encode with and without a grease setting;
 * spec: rfc9114#7.2.4/5, rfc9114#7.2.4.1/3 — never an identifier twice, never an HTTP/2 one. */
VQ_TEST(h3frame_settings_round_trip)
{
  uint64_t seed = 0xfeed;
  for (int it = 0; it < 2000; it++) {
    vq_h3_settings s, d;
    vq_h3_settings_init(&s);
    uint64_t r = vq_rand(&seed);
    const int sh[] = {1, 6, 14, 30, 62};
    s.has_max_field_section_size = (uint8_t)(r % 2);
    s.has_qpack_max_table_capacity = (uint8_t)(r / 2 % 2);
    s.has_qpack_blocked_streams = (uint8_t)(r / 4 % 2);
    s.has_enable_connect_protocol = (uint8_t)(r / 8 % 2);
    s.has_h3_datagram = (uint8_t)(r / 16 % 2);
    s.max_field_section_size = vq_rand(&seed) >> (64 - sh[r / 32 % 5]);
    s.qpack_max_table_capacity = vq_rand(&seed) >> (64 - sh[r / 160 % 5]);
    s.qpack_blocked_streams = vq_rand(&seed) >> (64 - sh[r / 800 % 5]);
    if (!s.has_max_field_section_size) s.max_field_section_size = VQ_VARINT_MAX;
    if (!s.has_qpack_max_table_capacity) s.qpack_max_table_capacity = 0;
    if (!s.has_qpack_blocked_streams) s.qpack_blocked_streams = 0;
    s.enable_connect_protocol = s.has_enable_connect_protocol ? (uint8_t)(r / 4000 % 2) : 0;
    s.h3_datagram = s.has_h3_datagram ? (uint8_t)(r / 8000 % 2) : 0;
    const int grease = (int)(r / 16000 % 2);
    uint8_t b[128];
    size_t used = 0;
    const uint64_t gn = vq_rand(&seed), gv = vq_rand(&seed) >> 2;
    CHECK_EQ(vq_h3_settings_encode(b, sizeof b, &s, grease, gn, gv, &used), VQ_OK);
    vq_h3_frame_hdr h;
    size_t need;
    CHECK_EQ(vq_h3_frame_header_read(b, used, 128, &h, &need), VQ_OK);
    CHECK_EQ(h.type, VQ_H3_FRAME_SETTINGS);
    CHECK_EQ(h.hdr_len + h.length, used);
    CHECK_EQ(vq_h3_settings_parse(b + h.hdr_len, (size_t)h.length, &d), VQ_OK);
    CHECK_EQ(d.max_field_section_size, s.max_field_section_size);
    CHECK_EQ(d.qpack_max_table_capacity, s.qpack_max_table_capacity);
    CHECK_EQ(d.qpack_blocked_streams, s.qpack_blocked_streams);
    CHECK_EQ(d.enable_connect_protocol, s.enable_connect_protocol);
    CHECK_EQ(d.h3_datagram, s.h3_datagram);
    CHECK_EQ(d.has_max_field_section_size, s.has_max_field_section_size);
    CHECK_EQ(d.has_qpack_max_table_capacity, s.has_qpack_max_table_capacity);
    CHECK_EQ(d.has_qpack_blocked_streams, s.has_qpack_blocked_streams);
    CHECK_EQ(d.has_enable_connect_protocol, s.has_enable_connect_protocol);
    CHECK_EQ(d.has_h3_datagram, s.has_h3_datagram);
    uint64_t ids[8];
    size_t nid = 0, o = h.hdr_len;
    while (o < used && nid < 8) {
      uint64_t id = 0, val = 0;
      size_t u1 = 0, u2 = 0;
      CHECK_EQ(vq_varint_decode(b + o, used - o, &id, &u1), VQ_OK);
      if (u1 == 0) break;
      CHECK_EQ(vq_varint_decode(b + o + u1, used - o - u1, &val, &u2), VQ_OK);
      if (u2 == 0) break;
      CHECK(id < 2 || id > 5);
      for (size_t j = 0; j < nid; j++) CHECK(ids[j] != id);
      ids[nid++] = id;
      o += u1 + u2;
    }
    CHECK_EQ(o, used);
    for (size_t c = 0; c < used; c += 3)
      CHECK_EQ(vq_h3_settings_encode(b, c, &s, grease, gn, gv, &need), VQ_ERR_BUFFER_TOO_SMALL);
  }
  vq_h3_settings s;
  uint8_t b[64];
  size_t used;
  vq_h3_settings_init(&s);
  s.has_enable_connect_protocol = 1;
  s.enable_connect_protocol = 2;
  CHECK_EQ(vq_h3_settings_encode(b, sizeof b, &s, 0, 0, 0, &used), VQ_ERR_INVALID_ARGUMENT);
  vq_h3_settings_init(&s);
  s.has_qpack_blocked_streams = 1;
  s.qpack_blocked_streams = VQ_VARINT_MAX + 1;
  CHECK_EQ(vq_h3_settings_encode(b, sizeof b, &s, 0, 0, 0, &used), VQ_ERR_INVALID_ARGUMENT);
  vq_h3_settings_init(&s);
  CHECK_EQ(vq_h3_settings_encode(b, sizeof b, &s, 1, 0, VQ_VARINT_MAX + 1, &used),
           VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_h3_settings_encode(b, sizeof b, &s, 0, 0, 0, &used), VQ_OK);
  CHECK_EQ(used, 2);
  CHECK_EQ(b[0], 0x04);
  CHECK_EQ(b[1], 0x00);
}

/* ---- control stream ------------------------------------------------------------------------------ */

/* spec: rfc9114#6.2.1/2 — the first frame must be SETTINGS. */
VQ_TEST(h3frame_ctrl_first_frame)
{
  static const uint64_t others[] = {0x00, 0x01, 0x02, 0x03, 0x05, 0x07, 0x0d, 0x21, 0x0e};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    vq_h3_ctrl c;
    vq_h3_ctrl_init(&c, 1);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, others[i]), VQ_ERR_H3_MISSING_SETTINGS);
    CHECK_EQ(c.state, VQ_H3_CTRL_AWAIT_SETTINGS);
  }
}

/* spec: rfc9114#7.2.4/2, rfc9114#7.2.1/2, rfc9114#7.2.2/1, rfc9114#7.2.5/9, rfc9114#7.2.7/3;
 * spec: rfc9114#7.2.8/2 — a reserved frame type changes nothing. */
VQ_TEST(h3frame_ctrl_sequence)
{
  for (int server = 0; server <= 1; server++) {
    vq_h3_ctrl c;
    vq_h3_ctrl_init(&c, server);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x04), VQ_OK);
    CHECK_EQ(c.state, VQ_H3_CTRL_OPEN);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x03), VQ_OK);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x07), VQ_OK);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x21), VQ_OK);
    CHECK_EQ(c.state, VQ_H3_CTRL_OPEN);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x0e), VQ_OK);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x0d), server ? VQ_OK : VQ_ERR_H3_FRAME_UNEXPECTED);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x04), VQ_ERR_H3_FRAME_UNEXPECTED);  /* second SETTINGS */
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x00), VQ_ERR_H3_FRAME_UNEXPECTED);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x01), VQ_ERR_H3_FRAME_UNEXPECTED);
    CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x05), VQ_ERR_H3_FRAME_UNEXPECTED);
    for (uint64_t ty = 2; ty <= 9; ty++)
      if (ty == 2 || ty == 6 || ty == 8 || ty == 9)
        CHECK_EQ(vq_h3_ctrl_on_frame(&c, ty), VQ_ERR_H3_FRAME_UNEXPECTED);
    CHECK_EQ(c.state, VQ_H3_CTRL_OPEN);
  }
  vq_h3_ctrl c;
  vq_h3_ctrl_init(&c, 0);
  c.state = (vq_h3_ctrl_state)7;  /* not a state: refused */
  CHECK_EQ(vq_h3_ctrl_on_frame(&c, 0x04), VQ_ERR_H3_FRAME_UNEXPECTED);
}

/* ---- message streams ----------------------------------------------------------------------------- */

/* spec: rfc9114#4.1/3 — HEADERS, DATA*, optional trailing HEADERS; anything else is
 * H3_FRAME_UNEXPECTED. */
VQ_TEST(h3frame_msg_sequences)
{
  vq_h3_msg m;
  vq_h3_msg_init(&m, 0);
  CHECK_EQ(vq_h3_msg_can_end(&m), 0);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x00), VQ_ERR_H3_FRAME_UNEXPECTED);  /* DATA first */
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x21), VQ_OK);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_OK);
  CHECK_EQ(m.state, VQ_H3_MSG_HEADERS);
  CHECK_EQ(vq_h3_msg_can_end(&m), 1);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x00), VQ_OK);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x0e), VQ_OK);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x00), VQ_OK);
  CHECK_EQ(m.state, VQ_H3_MSG_DATA);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x05), VQ_ERR_H3_FRAME_UNEXPECTED);  /* server reads no PUSH_PROMISE */
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_OK);  /* trailers */
  CHECK_EQ(m.state, VQ_H3_MSG_TRAILERS);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x00), VQ_ERR_H3_FRAME_UNEXPECTED);  /* DATA after trailers */
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_ERR_H3_FRAME_UNEXPECTED);  /* HEADERS after trailers */
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x21), VQ_OK);
  CHECK_EQ(m.state, VQ_H3_MSG_TRAILERS);
  CHECK_EQ(vq_h3_msg_can_end(&m), 1);
  /* HEADERS then trailers without DATA. */
  vq_h3_msg_init(&m, 0);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_OK);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_OK);
  CHECK_EQ(m.state, VQ_H3_MSG_TRAILERS);
  /* spec: rfc9114#7.2.3/7, rfc9114#7.2.4/4, rfc9114#7.2.6/2, rfc9114#7.2.7/1 — control frames. */
  static const uint64_t ctl[] = {0x03, 0x04, 0x07, 0x0d, 0x02, 0x06, 0x08, 0x09};
  for (int st = 0; st < 4; st++)
    for (size_t i = 0; i < 8; i++) {
      vq_h3_msg_init(&m, 1);
      m.state = (vq_h3_msg_state)st;
      CHECK_EQ(vq_h3_msg_on_frame(&m, ctl[i]), VQ_ERR_H3_FRAME_UNEXPECTED);
      CHECK_EQ(m.state, st);
    }
}

/* spec: rfc9114#4.1/4, rfc9114#4.1/5, rfc9114#4.1/8, rfc9114#7.2.5/11 */
VQ_TEST(h3frame_msg_response_and_push)
{
  vq_h3_msg m;
  vq_h3_msg_init(&m, 1);  /* client reading a response */
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x05), VQ_OK);  /* PUSH_PROMISE before the response */
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_OK);  /* 103 Early Hints */
  CHECK_EQ(vq_h3_msg_interim(&m), VQ_OK);
  CHECK_EQ(m.state, VQ_H3_MSG_AWAIT_HEADERS);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x00), VQ_ERR_H3_FRAME_UNEXPECTED);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_OK);  /* final response */
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x05), VQ_OK);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x00), VQ_OK);
  CHECK_EQ(vq_h3_msg_interim(&m), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x05), VQ_OK);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_OK);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x05), VQ_OK);  /* after the trailers too */
  CHECK_EQ(vq_h3_msg_interim(&m), VQ_ERR_INVALID_ARGUMENT);
  /* Push stream: no PUSH_PROMISE (rfc9114#4.1/5). */
  vq_h3_msg_init(&m, 0);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x01), VQ_OK);
  CHECK_EQ(vq_h3_msg_on_frame(&m, 0x05), VQ_ERR_H3_FRAME_UNEXPECTED);
  CHECK_EQ(m.state, VQ_H3_MSG_HEADERS);
}

/* Seeded property: the state machines agree with a reference written from RFC 9114 Table 1 / §4.1. */
VQ_TEST(h3frame_state_machines_property)
{
  static const uint64_t types[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                   0x0d, 0x21, 0x40, 0x0e, 0x1234};
  uint64_t seed = 99;
  for (int it = 0; it < 3000; it++) {
    vq_h3_ctrl c;
    vq_h3_msg m;
    const int srv = (int)(vq_rand(&seed) % 2), pp = (int)(vq_rand(&seed) % 2);
    vq_h3_ctrl_init(&c, srv);
    vq_h3_msg_init(&m, pp);
    int settings_seen = 0, msg_state = 0;
    for (int k = 0; k < 12; k++) {
      const uint64_t ty = types[vq_rand(&seed) % (sizeof types / sizeof types[0])];
      const int skip = ty == 0x21 || ty == 0x40 || ty == 0x0e || ty == 0x1234;
      /* control stream reference */
      vq_status want;
      if (!settings_seen) want = ty == 0x04 ? VQ_OK : VQ_ERR_H3_MISSING_SETTINGS;
      else if (ty == 0x03 || ty == 0x07 || skip || (ty == 0x0d && srv)) want = VQ_OK;
      else want = VQ_ERR_H3_FRAME_UNEXPECTED;
      CHECK_EQ(vq_h3_ctrl_on_frame(&c, ty), want);
      if (want == VQ_OK) settings_seen = 1;
      /* message stream reference: 0 await, 1 headers, 2 data, 3 trailers */
      int next = -1;
      if (skip || (ty == 0x05 && pp)) next = msg_state;
      else if (ty == 0x01 && msg_state != 3) next = msg_state == 0 ? 1 : 3;
      else if (ty == 0x00 && (msg_state == 1 || msg_state == 2)) next = 2;
      CHECK_EQ(vq_h3_msg_on_frame(&m, ty), next >= 0 ? VQ_OK : VQ_ERR_H3_FRAME_UNEXPECTED);
      if (next >= 0) msg_state = next;
      CHECK_EQ(m.state, msg_state);
    }
  }
}

/* ---- unidirectional stream types, GOAWAY ---------------------------------------------------------- */

/* spec: rfc9114#6.2, rfc9114#6.2/5, rfc9204#4.2; spec: rfc9114#6.2/4, rfc9114#6.2/6, rfc9114#9/2 —
 * unknown types are aborted with a stream error code, not a connection error; spec: rfc9114#6.2.3/2 —
 * reserved types are classed apart, with no meaning. */
VQ_TEST(h3frame_uni_stream_types)
{
  CHECK_EQ(vq_h3_uni_classify(0x00), VQ_H3_UNI_CONTROL);
  CHECK_EQ(vq_h3_uni_classify(0x01), VQ_H3_UNI_PUSH);
  CHECK_EQ(vq_h3_uni_classify(0x02), VQ_H3_UNI_QPACK_ENCODER);
  CHECK_EQ(vq_h3_uni_classify(0x03), VQ_H3_UNI_QPACK_DECODER);
  CHECK_EQ(vq_h3_uni_classify(0x21), VQ_H3_UNI_RESERVED);
  CHECK_EQ(vq_h3_uni_classify(0x04), VQ_H3_UNI_UNKNOWN);
  CHECK_EQ(vq_h3_uni_classify(0x54), VQ_H3_UNI_UNKNOWN);  /* WebTransport: not supported here */
  CHECK_EQ(vq_h3_uni_unknown_abort_code(), 0x103);
  static const uint64_t ts[] = {0, 3, 0x21, 0x3fff, 0x4000, VQ_VARINT_MAX};
  for (size_t i = 0; i < 6; i++) {
    uint8_t b[8];
    size_t n;
    CHECK_EQ(vq_varint_encode(b, sizeof b, ts[i], &n), VQ_OK);
    for (size_t k = 0; k < n; k++) {
      uint64_t ty = 5;
      size_t used = 9, need = 0;
      CHECK_EQ(vq_h3_uni_type_parse(b, k, &ty, &used, &need), VQ_ERR_H3_NEED_MORE);
      CHECK(need > k && need <= n);
      CHECK_EQ(ty, 5);
      CHECK_EQ(used, 9);
    }
    uint64_t ty;
    size_t used, need;
    CHECK_EQ(vq_h3_uni_type_parse(b, n, &ty, &used, &need), VQ_OK);
    CHECK_EQ(ty, ts[i]);
    CHECK_EQ(used, n);
  }
}

/* spec: rfc9114#5.2/9, rfc9114#7.2.6/1 */
VQ_TEST(h3frame_goaway_rules)
{
  /* From a server: client-initiated bidirectional stream IDs only. */
  CHECK_EQ(vq_h3_goaway_check(0, 1, 0, 0), VQ_OK);
  CHECK_EQ(vq_h3_goaway_check(8, 1, 0, 0), VQ_OK);
  CHECK_EQ(vq_h3_goaway_check(1, 1, 0, 0), VQ_ERR_H3_ID);
  CHECK_EQ(vq_h3_goaway_check(2, 1, 0, 0), VQ_ERR_H3_ID);
  CHECK_EQ(vq_h3_goaway_check(3, 1, 0, 0), VQ_ERR_H3_ID);
  CHECK_EQ(vq_h3_goaway_check(8, 1, 1, 8), VQ_OK);
  CHECK_EQ(vq_h3_goaway_check(4, 1, 1, 8), VQ_OK);
  CHECK_EQ(vq_h3_goaway_check(12, 1, 1, 8), VQ_ERR_H3_ID);
  /* From a client: push IDs, any value. */
  CHECK_EQ(vq_h3_goaway_check(3, 0, 0, 0), VQ_OK);
  CHECK_EQ(vq_h3_goaway_check(3, 0, 1, 3), VQ_OK);
  CHECK_EQ(vq_h3_goaway_check(4, 0, 1, 3), VQ_ERR_H3_ID);
  CHECK_EQ(vq_h3_goaway_check(VQ_VARINT_MAX, 0, 0, 0), VQ_OK);
  CHECK_EQ(vq_h3_goaway_check(VQ_VARINT_MAX + 1, 0, 0, 0), VQ_ERR_H3_ID);
  uint64_t seed = 5;
  for (int i = 0; i < 5000; i++) {
    const uint64_t id = vq_rand(&seed) % 64, prev = vq_rand(&seed) % 64;
    const int fs = (int)(vq_rand(&seed) % 2), hp = (int)(vq_rand(&seed) % 2);
    const int ok = (!fs || id % 4 == 0) && (!hp || id <= prev);
    CHECK_EQ(vq_h3_goaway_check(id, fs, hp, prev), ok ? VQ_OK : VQ_ERR_H3_ID);
  }
}
