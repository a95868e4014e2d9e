/* Tests of src/core/tp.c: transport parameters (RFC 9000 §18, §7.4; RFC 9368 §3-4; RFC 9221 §3).
 * Inputs are built from the §18 layout (the RFCs hold no byte-level transport parameter example);
 * the parameter ids are checked against the ones extracted from the RFC texts (spec/vectors). */
#include "vqtest.h"
#include "vquic/tp.h"
#include "vquic/varint.h"

#include <stdlib.h>

/* Appends one (id, length, value) tuple in the shortest form. */
static size_t put_param(uint8_t *b, size_t n, uint64_t id, const uint8_t *v, size_t len)
{
  size_t u = 0;
  if (vq_varint_encode(b + n, 16, id, &u) != VQ_OK) abort();
  n += u;
  if (vq_varint_encode(b + n, 16, len, &u) != VQ_OK) abort();
  n += u;
  if (len) memcpy(b + n, v, len);
  return n + len;
}

static size_t put_int(uint8_t *b, size_t n, uint64_t id, uint64_t v)
{
  uint8_t e[8];
  size_t u = 0;
  if (vq_varint_encode(e, sizeof e, v, &u) != VQ_OK) abort();
  return put_param(b, n, id, e, u);
}

static vq_status dec1(const uint8_t *b, size_t n, vq_tp_role r)
{
  vq_tp tp;
  return vq_tp_decode(b, n, r, &tp);
}

/* A full server parameter set, canonical: every known parameter in ascending id order, then two
 * unknown ones (a grease id 31*N+27 and a large private id). */
static size_t server_full(uint8_t *b)
{
  static const uint8_t cid8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint8_t tok[16], pa[41 + 20], vi[12];
  for (int i = 0; i < 16; i++) tok[i] = (uint8_t)(0xa0 + i);
  size_t n = 0;
  n = put_param(b, n, 0x00, cid8, 8);
  n = put_int(b, n, 0x01, 30000);
  n = put_param(b, n, 0x02, tok, 16);
  n = put_int(b, n, 0x03, 1472);
  n = put_int(b, n, 0x04, 1048576);
  n = put_int(b, n, 0x05, 262144);
  n = put_int(b, n, 0x06, 262144);
  n = put_int(b, n, 0x07, 262144);
  n = put_int(b, n, 0x08, 100);
  n = put_int(b, n, 0x09, 3);
  n = put_int(b, n, 0x0a, 10);
  n = put_int(b, n, 0x0b, 40);
  n = put_param(b, n, 0x0c, NULL, 0);
  /* preferred_address: 192.0.2.1:4433, [2001:db8::1]:4434, a 20-byte CID, a token */
  memset(pa, 0, sizeof pa);
  pa[0] = 192; pa[2] = 2; pa[3] = 1; pa[4] = 0x11; pa[5] = 0x51;
  pa[6] = 0x20; pa[7] = 0x01; pa[8] = 0x0d; pa[9] = 0xb8; pa[21] = 1; pa[22] = 0x11; pa[23] = 0x52;
  pa[24] = 20;
  for (int i = 0; i < 20; i++) pa[25 + i] = (uint8_t)(0x40 + i);
  for (int i = 0; i < 16; i++) pa[45 + i] = (uint8_t)(0xe0 + i);
  n = put_param(b, n, 0x0d, pa, 41 + 20);
  n = put_int(b, n, 0x0e, 8);
  n = put_param(b, n, 0x0f, cid8 + 2, 6);
  n = put_param(b, n, 0x10, cid8, 4);
  /* version_information: chosen 1, available {0x6b3343cf (v2), 1} */
  static const uint8_t viv[12] = {0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf, 0, 0, 0, 1};
  memcpy(vi, viv, sizeof vi);
  n = put_param(b, n, 0x11, vi, 12);
  n = put_int(b, n, 0x20, 65535);
  static const uint8_t g[3] = {0xde, 0xad, 0x00};
  n = put_param(b, n, 31u * 5u + 27u, g, 3);
  n = put_param(b, n, 0xff04de1bu, g, 0);
  return n;
}

static size_t client_full(uint8_t *b)
{
  static const uint8_t scid[5] = {9, 8, 7, 6, 5};
  static const uint8_t vi[12] = {0, 0, 0, 1, 0x1a, 0x2a, 0x3a, 0x4a, 0, 0, 0, 1};
  static const uint8_t g[1] = {7};
  size_t n = 0;
  n = put_int(b, n, 0x01, 0);
  n = put_int(b, n, 0x03, 1200);
  n = put_int(b, n, 0x04, 15728640);
  n = put_int(b, n, 0x05, 6291456);
  n = put_int(b, n, 0x06, 6291456);
  n = put_int(b, n, 0x07, 6291456);
  n = put_int(b, n, 0x08, 1152921504606846976ull);
  n = put_int(b, n, 0x09, 0);
  n = put_int(b, n, 0x0a, 20);
  n = put_int(b, n, 0x0b, 16383);
  n = put_param(b, n, 0x0c, NULL, 0);
  n = put_int(b, n, 0x0e, 2);
  n = put_param(b, n, 0x0f, scid, 5);
  n = put_param(b, n, 0x11, vi, 12);
  n = put_int(b, n, 0x20, 0);
  n = put_param(b, n, 27, g, 1);
  return n;
}

/* spec: rfc9000#18.2 — defaults when absent. */
VQ_TEST(tp_defaults)
{
  vq_tp tp;
  memset(&tp, 0x5a, sizeof tp);
  vq_tp_init_defaults(&tp);
  CHECK_EQ(tp.max_udp_payload_size, 65527);
  CHECK_EQ(tp.ack_delay_exponent, 3);
  CHECK_EQ(tp.max_ack_delay, 25);
  CHECK_EQ(tp.active_connection_id_limit, 2);
  CHECK_EQ(tp.max_idle_timeout, 0);
  CHECK_EQ(tp.initial_max_data, 0);
  CHECK_EQ(tp.initial_max_streams_bidi, 0);
  CHECK_EQ(tp.max_datagram_frame_size, 0);
  CHECK_EQ(tp.n_unknown, 0);
  for (uint64_t id = 0; id < 0x40; id++) CHECK_EQ(vq_tp_has(&tp, id), 0);
  /* An empty message is valid and leaves every default. */
  CHECK_EQ(vq_tp_decode((const uint8_t *)"", 0, VQ_TP_SERVER, &tp), VQ_OK);
  CHECK_EQ(tp.max_udp_payload_size, 65527);
  uint8_t out[4];
  size_t used = 99;
  CHECK_EQ(vq_tp_encode(&tp, VQ_TP_SERVER, out, 0, &used), VQ_OK);
  CHECK_EQ(used, 0);
}

VQ_TEST(tp_index_and_present)
{
  vq_tp tp;
  vq_tp_init_defaults(&tp);
  for (uint64_t id = 0; id <= 0x11; id++) CHECK_EQ(vq_tp_index(id), id);
  CHECK_EQ(vq_tp_index(0x20), 18);
  CHECK_EQ(vq_tp_index(0x12), VQ_TP_KNOWN);
  CHECK_EQ(vq_tp_index(27), VQ_TP_KNOWN);
  CHECK_EQ(vq_tp_set_present(&tp, 0x20, 1), VQ_OK);
  CHECK_EQ(vq_tp_has(&tp, 0x20), 1);
  CHECK_EQ(vq_tp_set_present(&tp, 0x20, 0), VQ_OK);
  CHECK_EQ(vq_tp_has(&tp, 0x20), 0);
  CHECK_EQ(vq_tp_set_present(&tp, 27, 1), VQ_ERR_INVALID_ARGUMENT);
}

/* The ids in include/vquic/tp.h are the ones the RFC texts define (spec/vectors/tp-ids.txt). */
VQ_TEST(tp_ids_match_rfc)
{
  char *text = vq_read_file("spec/vectors/tp-ids.txt", NULL);
  CHECK(text != NULL);
  if (!text) return;
  static const struct { const char *name; uint64_t id; } ours[] = {
    {"original_destination_connection_id", VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID},
    {"max_idle_timeout", VQ_TP_MAX_IDLE_TIMEOUT},
    {"stateless_reset_token", VQ_TP_STATELESS_RESET_TOKEN},
    {"max_udp_payload_size", VQ_TP_MAX_UDP_PAYLOAD_SIZE},
    {"initial_max_data", VQ_TP_INITIAL_MAX_DATA},
    {"initial_max_stream_data_bidi_local", VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL},
    {"initial_max_stream_data_bidi_remote", VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE},
    {"initial_max_stream_data_uni", VQ_TP_INITIAL_MAX_STREAM_DATA_UNI},
    {"initial_max_streams_bidi", VQ_TP_INITIAL_MAX_STREAMS_BIDI},
    {"initial_max_streams_uni", VQ_TP_INITIAL_MAX_STREAMS_UNI},
    {"ack_delay_exponent", VQ_TP_ACK_DELAY_EXPONENT},
    {"max_ack_delay", VQ_TP_MAX_ACK_DELAY},
    {"disable_active_migration", VQ_TP_DISABLE_ACTIVE_MIGRATION},
    {"preferred_address", VQ_TP_PREFERRED_ADDRESS},
    {"active_connection_id_limit", VQ_TP_ACTIVE_CONNECTION_ID_LIMIT},
    {"initial_source_connection_id", VQ_TP_INITIAL_SOURCE_CONNECTION_ID},
    {"retry_source_connection_id", VQ_TP_RETRY_SOURCE_CONNECTION_ID},
    {"version_information", VQ_TP_VERSION_INFORMATION},
    {"max_datagram_frame_size", VQ_TP_MAX_DATAGRAM_FRAME_SIZE},
  };
  int found = 0;
  for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    char name[64];
    char hex[32];
    if (l[0] == '#' || sscanf(l, "%63s %31s", name, hex) != 2) continue;
    uint64_t id = strtoull(hex, NULL, 0);
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
      if (!strcmp(ours[i].name, name)) {
        CHECK_EQ(ours[i].id, id);
        CHECK(vq_tp_index(id) < VQ_TP_KNOWN);
        found++;
      }
  }
  CHECK_EQ(found, 19);
  free(text);
}

static void roundtrip(vq_t *t, const uint8_t *b, size_t n, vq_tp_role r)
{
  vq_tp tp;
  CHECK_EQ(vq_tp_decode(b, n, r, &tp), VQ_OK);
  uint8_t out[1024];
  size_t used = 0;
  CHECK_EQ(vq_tp_encode(&tp, r, out, sizeof out, &used), VQ_OK);
  CHECK_MEM(out, used, b, n);
  /* Every shorter output space fails without writing past cap. */
  for (size_t cap = 0; cap < n; cap++) {
    uint8_t small[1024 + 8];
    memset(small, 0xcc, sizeof small);
    size_t u2 = 12345;
    CHECK_EQ(vq_tp_encode(&tp, r, small, cap, &u2), VQ_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(u2, 12345);
    for (size_t k = cap; k < sizeof small; k++)
      if (small[k] != 0xcc) { CHECK(0); break; }
    /* What was written is a prefix of the encoding; the rest of out[0..cap) is untouched. */
    size_t k = 0;
    while (k < cap && small[k] == b[k]) k++;
    for (; k < cap; k++)
      if (small[k] != 0xcc) { CHECK(0); break; }
  }
}

VQ_TEST(tp_roundtrip_server_full)
{
  uint8_t b[512];
  size_t n = server_full(b);
  roundtrip(t, b, n, VQ_TP_SERVER);
  vq_tp tp;
  CHECK_EQ(vq_tp_decode(b, n, VQ_TP_SERVER, &tp), VQ_OK);
  for (uint64_t id = 0; id <= 0x11; id++) CHECK_EQ(vq_tp_has(&tp, id), 1);
  CHECK_EQ(vq_tp_has(&tp, 0x20), 1);
  CHECK_EQ(tp.original_destination_connection_id.len, 8);
  CHECK_EQ(tp.original_destination_connection_id.bytes[7], 8);
  CHECK_EQ(tp.max_idle_timeout, 30000);
  CHECK_EQ(tp.stateless_reset_token[15], 0xaf);
  CHECK_EQ(tp.max_udp_payload_size, 1472);
  CHECK_EQ(tp.initial_max_data, 1048576);
  CHECK_EQ(tp.initial_max_stream_data_bidi_local, 262144);
  CHECK_EQ(tp.initial_max_streams_bidi, 100);
  CHECK_EQ(tp.initial_max_streams_uni, 3);
  CHECK_EQ(tp.ack_delay_exponent, 10);
  CHECK_EQ(tp.max_ack_delay, 40);
  CHECK_EQ(tp.preferred_address.ipv4[0], 192);
  CHECK_EQ(tp.preferred_address.ipv4_port, 4433);
  CHECK_EQ(tp.preferred_address.ipv6[0], 0x20);
  CHECK_EQ(tp.preferred_address.ipv6[15], 1);
  CHECK_EQ(tp.preferred_address.ipv6_port, 4434);
  CHECK_EQ(tp.preferred_address.cid.len, 20);
  CHECK_EQ(tp.preferred_address.cid.bytes[19], 0x53);
  CHECK_EQ(tp.preferred_address.reset_token[0], 0xe0);
  CHECK_EQ(tp.active_connection_id_limit, 8);
  CHECK_EQ(tp.initial_source_connection_id.len, 6);
  CHECK_EQ(tp.retry_source_connection_id.len, 4);
  CHECK_EQ(tp.version_information.chosen, 1);
  CHECK_EQ(tp.version_information.n_available, 2);
  CHECK_EQ(tp.version_information.available[0], 0x6b3343cf);
  CHECK_EQ(tp.max_datagram_frame_size, 65535);
  /* spec: rfc9000#18.1, rfc9000#7.4.2/1 — unknown and reserved parameters are ignored, not an error,
   * and kept (zero-copy, in input order). */
  CHECK_EQ(tp.n_unknown, 2);
  CHECK_EQ(tp.unknown[0].id, 31u * 5u + 27u);
  CHECK_EQ(tp.unknown[0].len, 3);
  CHECK(tp.unknown[0].value >= b && tp.unknown[0].value + 3 <= b + n);
  CHECK_EQ(tp.unknown[0].value[0], 0xde);
  CHECK_EQ(tp.unknown[1].id, 0xff04de1bu);
  CHECK_EQ(tp.unknown[1].len, 0);
}

VQ_TEST(tp_roundtrip_client_full)
{
  uint8_t b[512];
  size_t n = client_full(b);
  roundtrip(t, b, n, VQ_TP_CLIENT);
  vq_tp tp;
  CHECK_EQ(vq_tp_decode(b, n, VQ_TP_CLIENT, &tp), VQ_OK);
  CHECK_EQ(tp.initial_max_streams_bidi, 1152921504606846976ull);
  CHECK_EQ(tp.max_ack_delay, 16383);
  CHECK_EQ(tp.ack_delay_exponent, 20);
  CHECK_EQ(tp.max_udp_payload_size, 1200);
  CHECK_EQ(vq_tp_has(&tp, 0x20), 1);
  CHECK_EQ(tp.max_datagram_frame_size, 0);
  /* A client's encoding of server-only parameters is refused. */
  vq_tp s;
  uint8_t sb[512], out[512];
  size_t used;
  CHECK_EQ(vq_tp_decode(sb, server_full(sb), VQ_TP_SERVER, &s), VQ_OK);
  CHECK_EQ(vq_tp_encode(&s, VQ_TP_CLIENT, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
}

/* Truncation at every byte: each proper prefix either decodes (it ends on a tuple boundary) or is
 * VQ_ERR_TP_TRUNCATED — never another error, never a read past the prefix (ASan run copies it). */
VQ_TEST(tp_truncation_every_byte)
{
  uint8_t b[512];
  size_t n = server_full(b);
  size_t bounds = 0;
  for (size_t k = 0; k < n; k++) {
    uint8_t *c = malloc(k ? k : 1);
    memcpy(c, b, k);
    vq_status st = dec1(c, k, VQ_TP_SERVER);
    CHECK(st == VQ_OK || st == VQ_ERR_TP_TRUNCATED);
    if (st == VQ_OK) bounds++;
    free(c);
  }
  CHECK_EQ(bounds, 21); /* the empty prefix and the 20 tuple boundaries before the last */
}

/* spec: rfc9000#18.2 — each integer parameter's boundaries; spec: rfc9000#7.4/1 — an invalid value is
 * TRANSPORT_PARAMETER_ERROR; spec: rfc9000#18.2/8, rfc9000#18.2/9 — active_connection_id_limit below 2
 * is refused on receipt and never encoded; spec: rfc9000#4.6/1 — stream counts above 2^60. */
VQ_TEST(tp_integer_boundaries)
{
  static const struct { uint64_t id, v; vq_status want; } c[] = {
    {0x03, 1199, VQ_ERR_TP_VALUE}, {0x03, 1200, VQ_OK}, {0x03, 65527, VQ_OK},
    {0x03, VQ_VARINT_MAX, VQ_OK},
    {0x0a, 20, VQ_OK}, {0x0a, 21, VQ_ERR_TP_VALUE}, {0x0a, 0, VQ_OK},
    {0x0b, 16383, VQ_OK}, {0x0b, 16384, VQ_ERR_TP_VALUE}, {0x0b, 0, VQ_OK},
    {0x0e, 1, VQ_ERR_TP_VALUE}, {0x0e, 0, VQ_ERR_TP_VALUE}, {0x0e, 2, VQ_OK},
    {0x0e, VQ_VARINT_MAX, VQ_OK},
    {0x08, 1152921504606846976ull, VQ_OK}, {0x08, 1152921504606846977ull, VQ_ERR_TP_VALUE},
    {0x09, 1152921504606846976ull, VQ_OK}, {0x09, 1152921504606846977ull, VQ_ERR_TP_VALUE},
    {0x01, 0, VQ_OK}, {0x01, VQ_VARINT_MAX, VQ_OK}, {0x04, VQ_VARINT_MAX, VQ_OK},
    {0x05, VQ_VARINT_MAX, VQ_OK}, {0x06, 63, VQ_OK}, {0x07, 64, VQ_OK},
    {0x20, 0, VQ_OK}, {0x20, 65535, VQ_OK}, {0x20, VQ_VARINT_MAX, VQ_OK},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    uint8_t b[32];
    size_t n = put_int(b, 0, c[i].id, c[i].v);
    vq_tp tp;
    CHECK_EQ(vq_tp_decode(b, n, VQ_TP_CLIENT, &tp), c[i].want);
    if (c[i].want == VQ_OK) {
      roundtrip(t, b, n, VQ_TP_CLIENT);
    } else {
      /* The encoder refuses what the decoder rejects. */
      vq_tp e;
      uint8_t out[32];
      size_t used;
      vq_tp_init_defaults(&e);
      CHECK_EQ(vq_tp_decode(b, 0, VQ_TP_CLIENT, &e), VQ_OK);
      if (c[i].id == 0x03) e.max_udp_payload_size = c[i].v;
      if (c[i].id == 0x0a) e.ack_delay_exponent = c[i].v;
      if (c[i].id == 0x0b) e.max_ack_delay = c[i].v;
      if (c[i].id == 0x0e) e.active_connection_id_limit = c[i].v;
      if (c[i].id == 0x08) e.initial_max_streams_bidi = c[i].v;
      if (c[i].id == 0x09) e.initial_max_streams_uni = c[i].v;
      CHECK_EQ(vq_tp_set_present(&e, c[i].id, 1), VQ_OK);
      CHECK_EQ(vq_tp_encode(&e, VQ_TP_CLIENT, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
    }
  }
  /* A value beyond 2^62-1 cannot be encoded. */
  vq_tp e;
  uint8_t out[32];
  size_t used;
  vq_tp_init_defaults(&e);
  e.initial_max_data = VQ_VARINT_MAX + 1;
  CHECK_EQ(vq_tp_set_present(&e, 0x04, 1), VQ_OK);
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_CLIENT, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
}

/* spec: rfc9000#18.2 — a length that does not match the value. */
VQ_TEST(tp_length_errors)
{
  uint8_t b[64];
  size_t n;
  static const uint8_t two[2] = {0x05, 0x00};
  static const uint8_t nonmin[2] = {0x40, 0x05};
  /* An integer whose varint does not fill its length: trailing byte, short, empty. */
  n = put_param(b, 0, 0x01, two, 2);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_ERR_TP_LENGTH);
  n = put_param(b, 0, 0x04, nonmin, 1);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_ERR_TP_LENGTH);
  n = put_param(b, 0, 0x04, NULL, 0);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_ERR_TP_LENGTH);
  /* A non-minimal varint that fills its length exactly is accepted (RFC 9000 §16). */
  n = put_param(b, 0, 0x04, nonmin, 2);
  vq_tp tp;
  CHECK_EQ(vq_tp_decode(b, n, VQ_TP_CLIENT, &tp), VQ_OK);
  CHECK_EQ(tp.initial_max_data, 5);
  /* disable_active_migration with a value. */
  n = put_param(b, 0, 0x0c, two, 1);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_ERR_TP_LENGTH);
  /* stateless_reset_token not 16 bytes. */
  uint8_t tok[17] = {0};
  n = put_param(b, 0, 0x02, tok, 15);
  CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_ERR_TP_LENGTH);
  n = put_param(b, 0, 0x02, tok, 17);
  CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_ERR_TP_LENGTH);
  /* Value longer than the input. */
  n = put_param(b, 0, 0x0f, tok, 4);
  CHECK_EQ(dec1(b, n - 1, VQ_TP_CLIENT), VQ_ERR_TP_TRUNCATED);
  /* Input longer than a TLS extension can be. */
  uint8_t *big = calloc(VQ_TP_MAX_LEN + 1, 1);
  CHECK_EQ(dec1(big, VQ_TP_MAX_LEN + 1, VQ_TP_CLIENT), VQ_ERR_TP_LENGTH);
  free(big);
}

/* spec: rfc9000#18.2 — connection ID parameters at most 20 bytes; preferred_address layout;
 * spec: rfc9000#18.2/6 — no zero-length connection ID in preferred_address. */
VQ_TEST(tp_cid_and_preferred_address)
{
  uint8_t b[128], v[64];
  memset(v, 0x11, sizeof v);
  for (uint64_t id = 0; id <= 0x10; id += 0x10) {
    size_t n = put_param(b, 0, id, v, 20);
    CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_OK);
    n = put_param(b, 0, id, v, 21);
    CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_ERR_TP_VALUE);
    n = put_param(b, 0, id, v, 0);
    CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_OK);
  }
  size_t n = put_param(b, 0, 0x0f, v, 21);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_ERR_TP_VALUE);
  /* preferred_address: CID length 1 and 20 fine; 0 refused; 21 refused; size mismatch. */
  for (unsigned cl = 0; cl <= 21; cl++) {
    memset(v, 0, sizeof v);
    v[24] = (uint8_t)cl;
    n = put_param(b, 0, 0x0d, v, 41 + cl);
    vq_status want = (cl == 0 || cl > 20) ? VQ_ERR_TP_VALUE : VQ_OK;
    CHECK_EQ(dec1(b, n, VQ_TP_SERVER), want);
    if (want == VQ_OK) {
      roundtrip(t, b, n, VQ_TP_SERVER);
      n = put_param(b, 0, 0x0d, v, 41 + cl + 1);
      CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_ERR_TP_LENGTH);
      n = put_param(b, 0, 0x0d, v, 41 + cl - 1);
      CHECK_EQ(dec1(b, n, VQ_TP_SERVER), cl == 0 ? VQ_ERR_TP_VALUE : VQ_ERR_TP_LENGTH);
    }
  }
  n = put_param(b, 0, 0x0d, v, 40);
  CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_ERR_TP_LENGTH);
  /* The encoder refuses a preferred address with a zero-length or over-long CID, and CIDs > 20. */
  vq_tp e;
  uint8_t out[128];
  size_t used;
  vq_tp_init_defaults(&e);
  CHECK_EQ(vq_tp_set_present(&e, 0x0d, 1), VQ_OK);
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  e.preferred_address.cid.len = 21;
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  vq_tp_init_defaults(&e);
  CHECK_EQ(vq_tp_set_present(&e, 0x0f, 1), VQ_OK);
  e.initial_source_connection_id.len = 21;
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
}

/* spec: rfc9368#4, rfc9368#4/3, rfc9368#4/4, rfc9368#4/5, rfc9368#4/6 — version_information parsing
 * failures, each a TRANSPORT_PARAMETER_ERROR; spec: rfc9368#3/2 — a client's Chosen Version is in
 * its Available Versions (the encoder refuses otherwise). */
VQ_TEST(tp_version_information)
{
  uint8_t b[128];
  uint8_t v[4 + 4 * 17];
  size_t n;
  memset(v, 0, sizeof v);
  v[3] = 1; /* chosen = 1 */
  /* Server: empty available list is allowed; client: chosen must be listed. */
  n = put_param(b, 0, 0x11, v, 4);
  CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_OK);
  roundtrip(t, b, n, VQ_TP_SERVER);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_ERR_TP_VALUE);
  v[7] = 1;
  n = put_param(b, 0, 0x11, v, 8);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_OK);
  roundtrip(t, b, n, VQ_TP_CLIENT);
  /* Length not a multiple of 4, or shorter than the chosen version. */
  for (size_t l = 0; l < 12; l++) {
    if (l % 4 == 0 && l >= 4) continue;
    n = put_param(b, 0, 0x11, v, l);
    CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_ERR_TP_LENGTH);
  }
  /* Chosen version 0, an available version 0. */
  v[3] = 0;
  n = put_param(b, 0, 0x11, v, 8);
  CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_ERR_TP_VALUE);
  v[3] = 1;
  v[7] = 0;
  n = put_param(b, 0, 0x11, v, 8);
  CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_ERR_TP_VALUE);
  /* At most VQ_TP_MAX_VERSIONS available versions. */
  for (int i = 0; i < 17; i++) v[4 + 4 * i + 3] = (uint8_t)(i + 1);
  n = put_param(b, 0, 0x11, v, 4 + 4 * 16);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_OK);
  n = put_param(b, 0, 0x11, v, 4 + 4 * 17);
  CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_ERR_TP_TOO_MANY);
  /* The encoder refuses the same. */
  vq_tp e;
  uint8_t out[128];
  size_t used;
  vq_tp_init_defaults(&e);
  CHECK_EQ(vq_tp_set_present(&e, 0x11, 1), VQ_OK);
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  e.version_information.chosen = 1;
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_OK);
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_CLIENT, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  e.version_information.n_available = 1;
  e.version_information.available[0] = 0;
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  e.version_information.n_available = VQ_TP_MAX_VERSIONS + 1;
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  /* Every parsing failure closes the connection with TRANSPORT_PARAMETER_ERROR. */
  const vq_status fails[] = {VQ_ERR_TP_LENGTH, VQ_ERR_TP_VALUE, VQ_ERR_TP_TOO_MANY};
  for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
    CHECK_EQ(vq_status_transport_error(fails[i]), VQ_TE_TRANSPORT_PARAMETER_ERROR);
    CHECK_EQ(vq_status_disposition(fails[i]), VQ_DISP_CLOSE);
  }
}

/* spec: rfc9000#18.2/11 — a server treats server-only parameters from a client as
 * TRANSPORT_PARAMETER_ERROR; spec: rfc9000#18.2/10, rfc9000#18.2/1 — a client never encodes them. */
VQ_TEST(tp_server_only_from_client)
{
  uint8_t b[128], v[64];
  memset(v, 0, sizeof v);
  v[24] = 4;
  static const struct { uint64_t id; size_t len; } c[] = {{0x00, 8}, {0x02, 16}, {0x0d, 45}, {0x10, 4}};
  for (size_t i = 0; i < 4; i++) {
    size_t n = put_param(b, 0, c[i].id, v, c[i].len);
    CHECK_EQ(dec1(b, n, VQ_TP_CLIENT), VQ_ERR_TP_SERVER_ONLY);
    CHECK_EQ(dec1(b, n, VQ_TP_SERVER), VQ_OK);
    /* The same parameter set encodes for a server and is refused for a client. */
    vq_tp tp;
    uint8_t out[128];
    size_t used = 0;
    CHECK_EQ(vq_tp_decode(b, n, VQ_TP_SERVER, &tp), VQ_OK);
    CHECK(vq_tp_has(&tp, c[i].id));
    CHECK_EQ(vq_tp_encode(&tp, VQ_TP_SERVER, out, sizeof out, &used), VQ_OK);
    CHECK_EQ(vq_tp_encode(&tp, VQ_TP_CLIENT, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  }
}

/* spec: rfc9000#7.4/3 — duplicates of known and unknown parameters are refused; unknown bound;
 * spec: rfc9000#7.4/2 — the encoder never writes an id twice. */
VQ_TEST(tp_duplicates_and_unknown_bound)
{
  uint8_t b[1024];
  size_t n = client_full(b);
  for (uint64_t id = 0x01; id <= 0x20; id = (id == 0x11 ? 0x20 : id + 1)) {
    uint8_t c[1024];
    vq_tp tp;
    CHECK_EQ(vq_tp_decode(b, n, VQ_TP_CLIENT, &tp), VQ_OK);
    if (!vq_tp_has(&tp, id)) {
      if (id == 0x20) break;
      continue;
    }
    /* Re-append the same parameter (any value): duplicate. */
    memcpy(c, b, n);
    size_t m = put_int(c, n, id, 2);
    CHECK_EQ(dec1(c, m, VQ_TP_CLIENT), VQ_ERR_TP_DUPLICATE);
    if (id == 0x20) break;
  }
  /* Unknown duplicates (grease id twice), even with different values. */
  static const uint8_t x[2] = {1, 2};
  size_t m = put_param(b, 0, 27, x, 2);
  m = put_param(b, m, 58, x, 1);
  m = put_param(b, m, 27, x, 1);
  CHECK_EQ(dec1(b, m, VQ_TP_CLIENT), VQ_ERR_TP_DUPLICATE);
  /* A known id written in a non-minimal varint is still the same parameter. */
  static const uint8_t id2[2] = {0x40, 0x01};
  m = put_int(b, 0, 0x01, 5);
  memcpy(b + m, id2, 2);
  b[m + 2] = 1;
  b[m + 3] = 7;
  CHECK_EQ(dec1(b, m + 4, VQ_TP_CLIENT), VQ_ERR_TP_DUPLICATE);
  /* VQ_TP_MAX_UNKNOWN unknown parameters are kept; one more is VQ_ERR_TP_TOO_MANY. */
  m = 0;
  for (uint64_t i = 0; i < VQ_TP_MAX_UNKNOWN; i++) m = put_param(b, m, 31 * i + 27, x, 1);
  vq_tp tp;
  CHECK_EQ(vq_tp_decode(b, m, VQ_TP_SERVER, &tp), VQ_OK);
  CHECK_EQ(tp.n_unknown, VQ_TP_MAX_UNKNOWN);
  roundtrip(t, b, m, VQ_TP_SERVER);
  size_t m2 = put_param(b, m, 31 * 3 + 27, x, 1);
  CHECK_EQ(dec1(b, m2, VQ_TP_SERVER), VQ_ERR_TP_DUPLICATE); /* a duplicate is still reported */
  m2 = put_param(b, m, 0x4000, x, 1);
  CHECK_EQ(dec1(b, m2, VQ_TP_SERVER), VQ_ERR_TP_TOO_MANY);
  /* The encoder refuses unknown entries that repeat an id or use a known one. */
  vq_tp e = tp;
  uint8_t out[1024];
  size_t used;
  e.unknown[5].id = e.unknown[2].id;
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  e = tp;
  e.unknown[0].id = 0x20;
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
  e = tp;
  e.n_unknown = VQ_TP_MAX_UNKNOWN + 1;
  CHECK_EQ(vq_tp_encode(&e, VQ_TP_SERVER, out, sizeof out, &used), VQ_ERR_INVALID_ARGUMENT);
}

/* Truncated id and length varints. */
VQ_TEST(tp_truncated_varints)
{
  static const uint8_t a[] = {0x40};             /* 2-byte id, 1 byte present */
  static const uint8_t b[] = {0x01, 0x80, 0x00}; /* 4-byte length, 2 bytes present */
  static const uint8_t c[] = {0x01};             /* id without length */
  CHECK_EQ(dec1(a, sizeof a, VQ_TP_CLIENT), VQ_ERR_TP_TRUNCATED);
  CHECK_EQ(dec1(b, sizeof b, VQ_TP_CLIENT), VQ_ERR_TP_TRUNCATED);
  CHECK_EQ(dec1(c, sizeof c, VQ_TP_CLIENT), VQ_ERR_TP_TRUNCATED);
}

/* Property: seeded random parameter sets (random subsets, values across every varint length class,
 * random CIDs, versions and unknown parameters) encode, decode to the same fields, and re-encode to
 * the same bytes. */
VQ_TEST(tp_random_property)
{
  uint64_t seed = 0x7a9e5eed;
  uint8_t pool[256];
  for (size_t i = 0; i < sizeof pool; i++) pool[i] = (uint8_t)vq_rand(&seed);
  for (int iter = 0; iter < 20000; iter++) {
    vq_tp a;
    vq_tp_init_defaults(&a);
    vq_tp_role role = (vq_rand(&seed) & 1) ? VQ_TP_SERVER : VQ_TP_CLIENT;
    for (uint64_t id = 0; id <= 0x20; id = (id == 0x11 ? 0x20 : id + 1)) {
      if (vq_rand(&seed) % 3 == 0) {
        if (id == 0x20) break;
        continue;
      }
      if (role == VQ_TP_CLIENT && (id == 0 || id == 2 || id == 0x0d || id == 0x10)) continue;
      uint64_t r = vq_rand(&seed);
      uint64_t cls = vq_rand(&seed) % 4;
      uint64_t v = r % (cls == 0 ? 64u : cls == 1 ? 16384u : cls == 2 ? 1073741824u : VQ_VARINT_MAX + 1);
      vq_tp_cid *cid = NULL;
      switch (id) {
      case 0x00: cid = &a.original_destination_connection_id; break;
      case 0x0f: cid = &a.initial_source_connection_id; break;
      case 0x10: cid = &a.retry_source_connection_id; break;
      case 0x01: a.max_idle_timeout = v; break;
      case 0x03: a.max_udp_payload_size = v < 1200 ? 1200 + v : v; break;
      case 0x04: a.initial_max_data = v; break;
      case 0x05: a.initial_max_stream_data_bidi_local = v; break;
      case 0x06: a.initial_max_stream_data_bidi_remote = v; break;
      case 0x07: a.initial_max_stream_data_uni = v; break;
      case 0x08: a.initial_max_streams_bidi = v % (VQ_TP_MAX_STREAMS_LIMIT + 1); break;
      case 0x09: a.initial_max_streams_uni = v % (VQ_TP_MAX_STREAMS_LIMIT + 1); break;
      case 0x0a: a.ack_delay_exponent = v % 21; break;
      case 0x0b: a.max_ack_delay = v % 16384; break;
      case 0x0e: a.active_connection_id_limit = v < 2 ? 2 : v; break;
      case 0x20: a.max_datagram_frame_size = v; break;
      case 0x02: memcpy(a.stateless_reset_token, pool + r % 200, 16); break;
      case 0x0d:
        memcpy(a.preferred_address.ipv4, pool + r % 200, 4);
        memcpy(a.preferred_address.ipv6, pool + (r >> 8) % 200, 16);
        a.preferred_address.ipv4_port = (uint16_t)(r >> 16);
        a.preferred_address.ipv6_port = (uint16_t)(r >> 32);
        a.preferred_address.cid.len = (uint8_t)(1 + v % 20);
        memcpy(a.preferred_address.cid.bytes, pool + (r >> 24) % 200, 20);
        memcpy(a.preferred_address.reset_token, pool + (r >> 40) % 200, 16);
        break;
      case 0x11: {
        vq_tp_version_info *vi = &a.version_information;
        vi->n_available = (uint32_t)(v % (VQ_TP_MAX_VERSIONS + 1));
        for (uint32_t i = 0; i < vi->n_available; i++) vi->available[i] = (uint32_t)vq_rand(&seed) | 1u;
        vi->chosen = vi->n_available && role == VQ_TP_CLIENT ? vi->available[r % vi->n_available]
                                                             : ((uint32_t)r | 1u);
        if (role == VQ_TP_CLIENT && vi->n_available == 0) vi->available[vi->n_available++] = vi->chosen;
        break;
      }
      default: break;
      }
      if (cid) {
        cid->len = (uint8_t)(v % 21);
        memcpy(cid->bytes, pool + r % 200, 20);
      }
      if (vq_tp_set_present(&a, id, 1) != VQ_OK) CHECK(0);
      if (id == 0x20) break;
    }
    size_t nu = vq_rand(&seed) % (VQ_TP_MAX_UNKNOWN + 1);
    for (size_t i = 0; i < nu; i++) {
      a.unknown[i].id = (vq_rand(&seed) & 1) ? 31 * (vq_rand(&seed) % 1000000) + 27 : 0x21 + i * 977;
      if (a.unknown[i].id <= 0x20) a.unknown[i].id += 0x100;
      for (size_t j = 0; j < i; j++)
        if (a.unknown[j].id == a.unknown[i].id) a.unknown[i].id = 0x7000 + i;
      a.unknown[i].len = vq_rand(&seed) % 40;
      a.unknown[i].value = pool + vq_rand(&seed) % 200;
    }
    a.n_unknown = nu;

    uint8_t e1[2048], e2[2048];
    size_t n1 = 0, n2 = 0;
    vq_tp b;
    if (vq_tp_encode(&a, role, e1, sizeof e1, &n1) != VQ_OK ||
        vq_tp_decode(e1, n1, role, &b) != VQ_OK ||
        vq_tp_encode(&b, role, e2, sizeof e2, &n2) != VQ_OK || n1 != n2 || memcmp(e1, e2, n1)) {
      CHECK(0);
      break;
    }
    CHECK_MEM(a.present, sizeof a.present, b.present, sizeof b.present);
    if (vq_tp_has(&a, 0x04)) CHECK_EQ(a.initial_max_data, b.initial_max_data);
    if (vq_tp_has(&a, 0x0b)) CHECK_EQ(a.max_ack_delay, b.max_ack_delay);
    if (vq_tp_has(&a, 0x20)) CHECK_EQ(a.max_datagram_frame_size, b.max_datagram_frame_size);
    if (vq_tp_has(&a, 0x0d)) {
      CHECK_EQ(a.preferred_address.ipv6_port, b.preferred_address.ipv6_port);
      CHECK_MEM(a.preferred_address.cid.bytes, a.preferred_address.cid.len,
                b.preferred_address.cid.bytes, b.preferred_address.cid.len);
    }
    if (vq_tp_has(&a, 0x11)) {
      CHECK_EQ(a.version_information.chosen, b.version_information.chosen);
      CHECK_EQ(a.version_information.n_available, b.version_information.n_available);
    }
    CHECK_EQ(a.n_unknown, b.n_unknown);
    for (size_t i = 0; i < nu && i < b.n_unknown; i++) {
      CHECK_EQ(a.unknown[i].id, b.unknown[i].id);
      CHECK_MEM(a.unknown[i].value, a.unknown[i].len, b.unknown[i].value, b.unknown[i].len);
    }
    if (t->failed) break;
  }
}

/* spec: rfc9000#7.4/1 — every decode failure closes the connection with TRANSPORT_PARAMETER_ERROR. */
VQ_TEST(tp_errors_are_transport_parameter_error)
{
  static const vq_status st[] = {VQ_ERR_TP_TRUNCATED, VQ_ERR_TP_DUPLICATE, VQ_ERR_TP_VALUE,
                                 VQ_ERR_TP_LENGTH, VQ_ERR_TP_SERVER_ONLY, VQ_ERR_TP_TOO_MANY};
  for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
    CHECK_EQ(vq_status_disposition(st[i]), VQ_DISP_CLOSE);
    CHECK_EQ(vq_status_transport_error(st[i]), VQ_TE_TRANSPORT_PARAMETER_ERROR);
  }
}
