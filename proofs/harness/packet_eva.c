/* Eva entry point for src/core/packet.c. Lengths are enumerated as concrete values (Eva is
 * non-relational: with a concrete length every cursor comparison is exact), contents are unknown:
 *  - the parser on every datagram length 0..32 with unknown bytes and every short-header DCID length
 *    0..21 (21 is rejected);
 *  - the builders with every CID length 0..21, every type, version class, packet number length 0..5,
 *    Length size 0..5, tokens 0/1/8 bytes, and output sizes from 0 to past what they need. */
#include "__fc_builtin.h"
#include "vquic/packet.h"
#include "vquic/varint.h"

#define DG 32
#define OUT 80

static void fill(uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++) p[i] = Frama_C_unsigned_char_interval(0, 255);
}

static void parse_all(void)
{
  uint8_t dg[DG];
  vq_pkt_header h;
  uint32_t ver = 0;
  fill(dg, sizeof dg);
  /*@ loop unroll DG + 1; */
  for (size_t len = 0; len <= DG; len++) {
    size_t sdl = Frama_C_size_t_interval(0, 21);
    vq_status st = vq_packet_parse(dg, len, sdl, &h);
    if (st == VQ_OK) (void)vq_packet_vn_version(dg, len, &h, Frama_C_size_t_interval(0, DG), &ver);
  }
  h.type = VQ_PKT_VERSION_NEGOTIATION;
  h.versions_off = Frama_C_size_t_interval(0, DG + 8);
  h.versions_count = Frama_C_size_t_interval(0, 20);
  (void)vq_packet_vn_version(dg, DG, &h, Frama_C_size_t_interval(0, 20), &ver);
  /* an index far past any datagram: refused before the position is computed */
  h.versions_off = 7;
  h.versions_count = SIZE_MAX;
  (void)vq_packet_vn_version(dg, DG, &h, SIZE_MAX - 1, &ver);
  h.type = VQ_PKT_1RTT;
  (void)vq_packet_vn_version(dg, DG, &h, 0, &ver);
}

static void build_all(void)
{
  uint8_t out[OUT];
  uint8_t tok[8];
  vq_cid dc, sc;
  size_t a = 0, b = 0;
  fill(tok, sizeof tok);
  for (size_t i = 0; i < VQ_CID_MAX_LEN; i++) dc.bytes[i] = sc.bytes[i] = 0;
  fill(dc.bytes, VQ_CID_MAX_LEN);
  fill(sc.bytes, VQ_CID_MAX_LEN);

  vq_long_header_spec s;
  s.dcid = &dc;
  s.scid = &sc;
  s.token = tok;
  /*@ loop unroll 22; */
  for (unsigned dl = 0; dl <= 21; dl++) {
    /*@ loop unroll 4; */
    for (unsigned k = 0; k < 4; k++) {
      dc.len = (uint8_t)dl;
      sc.len = (uint8_t)(k == 0 ? 0 : k == 1 ? 8 : k == 2 ? 20 : 21);
      s.type = VQ_PKT_INITIAL;
      s.version = k % 2 ? VQ_VERSION_2 : VQ_VERSION_1;
      s.token_len = k == 0 ? 0 : k == 1 ? 1 : 8;
      s.pn_len = 4;
      s.length_size = 2;
      /* cap unknown: the builders compare it with a size Eva knows exactly */
      size_t cap = Frama_C_size_t_interval(0, OUT);
      (void)vq_long_header_write(out, cap, &s, &a, &b);
      (void)vq_short_header_write(out, cap, &dc, k % 2, k / 2 % 2, 4, &a);
      (void)vq_retry_write(out, cap, s.version, 15, &dc, &sc, tok, s.token_len, &a);
    }
  }
  dc.len = 8;
  sc.len = 8;
  /*@ loop unroll 7; */
  for (int t = 0; t <= 6; t++) {
    /*@ loop unroll 6; */
    for (size_t n = 0; n <= 5; n++) {
      s.type = (vq_pkt_type)t;
      s.version = VQ_VERSION_1;
      s.token_len = 0;
      s.pn_len = n;
      s.length_size = 2;
      (void)vq_long_header_write(out, OUT, &s, &a, &b);
      s.pn_len = 1;
      s.length_size = n;
      (void)vq_long_header_write(out, OUT, &s, &a, &b);
      s.token_len = 1; /* a token outside an Initial is refused */
      (void)vq_long_header_write(out, OUT, &s, &a, &b);
      (void)vq_short_header_write(out, OUT, &dc, 0, 0, n, &a);
    }
  }
  s.type = VQ_PKT_INITIAL;
  s.length_size = 2;
  s.version = Frama_C_unsigned_int_interval(0, 3); /* v1, VN and unknown versions */
  (void)vq_long_header_write(out, OUT, &s, &a, &b);
  (void)vq_retry_write(out, OUT, s.version, 0, &dc, &sc, tok, 1, &a);
  s.version = VQ_VERSION_1;
  s.token = NULL;
  s.token_len = 70000; /* over the token bound: refused before any read */
  (void)vq_long_header_write(out, OUT, &s, &a, &b);
  (void)vq_retry_write(out, OUT, VQ_VERSION_1, 0, &dc, &sc, NULL, 70000, &a);
  (void)vq_retry_write(out, OUT, VQ_VERSION_1, 16, &dc, &sc, tok, 1, &a);
  (void)vq_retry_write(out, OUT, VQ_VERSION_1, 0, &dc, &sc, tok, 0, &a);
  (void)vq_short_header_write(out, OUT, &dc, 2, 0, 1, &a);
  (void)vq_short_header_write(out, OUT, &dc, 0, 2, 1, &a);

  /*@ loop unroll 6; */
  for (size_t sz = 0; sz <= 5; sz++) {
    uint64_t lv = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
    (void)vq_packet_set_length(out, OUT, 7, sz, lv);
    (void)vq_packet_set_length(out, OUT, OUT + 2, sz, lv);
    (void)vq_packet_set_length(out, OUT, OUT - 4, sz, 100);
    (void)vq_packet_set_length(out, OUT, OUT - 3, sz, 100); /* a 4-byte Length one byte short */
  }

  uint32_t vers[4];
  for (size_t i = 0; i < 4; i++) vers[i] = Frama_C_unsigned_int_interval(0, UINT32_MAX);
  uint8_t cids[40];
  fill(cids, sizeof cids);
  /*@ loop unroll 5; */
  for (size_t nv = 0; nv <= 4; nv++) {
    size_t cap = Frama_C_size_t_interval(0, OUT);
    (void)vq_vn_write(out, cap, 0x40, cids, nv * 5, cids + 20, 20 - nv * 5, vers, nv, &a);
  }
  (void)vq_vn_write(out, OUT, 0x80, cids, 0, cids, 0, vers, 1, &a);
  (void)vq_vn_write(out, OUT, 0x00, cids, 256, cids, 0, vers, 1, &a);
  (void)vq_vn_write(out, OUT, 0x00, cids, 0, cids, 256, vers, 1, &a);

  (void)vq_initial_datagram_size_ok(1199);
  (void)vq_initial_datagram_size_ok(1200);
}

/* src/core/varint.c is part of this module's sources: its paths that headers of at most 64 KiB
 * never take (8-byte varints) are reached directly, as in varint_eva.c. */
static void varint_all(void)
{
  uint8_t in[9];
  uint8_t out[9];
  uint64_t v;
  size_t used;
  fill(in, sizeof in);
  size_t len = Frama_C_size_t_interval(0, sizeof in);
  (void)vq_varint_decode(in, len, &v, &used);
  (void)vq_varint_len_of_first(in[0]);
  uint64_t x = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  (void)vq_varint_len(x);
  size_t cap = Frama_C_size_t_interval(0, sizeof out);
  (void)vq_varint_encode(out, cap, x, &used);
  (void)vq_varint_encode_n(out, cap, x, Frama_C_size_t_interval(0, 9));
}

void eva_main(void)
{
  parse_all();
  build_all();
  varint_all();
}
