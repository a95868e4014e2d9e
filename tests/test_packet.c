/* Tests of src/core/packet.c: the unprotected headers of RFC 9001 / RFC 9369 Appendix A (from
 * spec/vectors), round trips of every header type for v1 and v2, truncation at every byte, CID
 * lengths 0/20/21 (255 for unknown versions and Version Negotiation), Length past the datagram,
 * coalesced Initial + Handshake + 1-RTT, Version Negotiation without versions, seeded properties. */
#include "vqtest.h"
#include "vquic/packet.h"
#include "vquic/pn.h"

#include <stdlib.h>

static int get_hex(vq_t *t, const char *file, const char *key, uint8_t *out, size_t cap, size_t *n)
{
  char *text = vq_read_file(file, NULL);
  CHECK(text != NULL);
  if (!text) return 0;
  char hex[512];
  int ok = vq_vector_get(text, key, hex, sizeof hex) == 0;
  free(text);
  CHECK(ok);
  if (!ok) return 0;
  long l = vq_hex(hex, out, cap);
  CHECK(l > 0);
  if (l <= 0) return 0;
  *n = (size_t)l;
  return 1;
}

static unsigned long get_num(vq_t *t, const char *file, const char *key)
{
  char *text = vq_read_file(file, NULL);
  char v[64] = "0";
  CHECK(text != NULL && vq_vector_get(text, key, v, sizeof v) == 0);
  free(text);
  return strtoul(v, NULL, 10);
}

static const char *const VEC[2] = {"spec/vectors/rfc9001-headers.txt", "spec/vectors/rfc9369-headers.txt"};
static const uint32_t VER[2] = {VQ_VERSION_1, VQ_VERSION_2};

/* spec: rfc9001#A.2 / rfc9369#A.2 — the client Initial: parse it in a 1200-byte datagram, read its
 * packet number, and rebuild the header byte for byte. Same for the server Initial (A.3). */
VQ_TEST(packet_rfc_initial_headers)
{
  for (int v = 0; v < 2; v++) {
    static const char *const keys[2] = {"client_initial_header", "server_initial_header"};
    for (int side = 0; side < 2; side++) {
      uint8_t hdr[64];
      size_t hl = 0;
      if (!get_hex(t, VEC[v], keys[side], hdr, sizeof hdr, &hl)) return;
      uint8_t dg[1400];
      memset(dg, 0, sizeof dg);
      memcpy(dg, hdr, hl);
      vq_pkt_header h;
      /* The Length field says how much follows; give the datagram exactly that. */
      CHECK_EQ(vq_packet_parse(dg, sizeof dg, 8, &h), VQ_OK);
      CHECK_EQ(h.type, VQ_PKT_INITIAL);
      CHECK_EQ(h.version, VER[v]);
      size_t pn_len = (size_t)(h.first % 4u) + 1u; /* unprotected vectors: the bits are readable */
      CHECK_EQ(h.pn_off + pn_len, hl);
      CHECK_EQ(h.packet_len, h.pn_off + h.length);
      if (side == 0) {
        CHECK_EQ(h.length, get_num(t, VEC[v], "client_initial_length"));
        CHECK_EQ(h.packet_len, 1200); /* rfc9000#14.1: the client pads to 1200 */
        CHECK(vq_initial_datagram_size_ok(h.packet_len));
        CHECK_MEM(dg + h.dcid_off, h.dcid_len, "\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
        CHECK_EQ(h.scid_len, 0);
      } else {
        CHECK_EQ(h.dcid_len, 0);
        CHECK_MEM(dg + h.scid_off, h.scid_len, "\xf0\x67\xa5\x50\x2a\x42\x62\xb5", 8);
      }
      CHECK_EQ(h.token_len, 0);
      uint64_t tr = 0, full = 0;
      CHECK_EQ(vq_pn_read(dg + h.pn_off, h.packet_len - h.pn_off, pn_len, &tr), VQ_OK);
      CHECK_EQ(vq_pn_decode(VQ_PN_NONE, tr, pn_len, &full), VQ_OK);
      CHECK_EQ(full, get_num(t, VEC[v], side == 0 ? "client_initial_pn" : "server_initial_pn"));
      /* Rebuild. */
      vq_cid dc, sc;
      CHECK_EQ(vq_cid_set(&dc, dg + h.dcid_off, h.dcid_len), VQ_OK);
      CHECK_EQ(vq_cid_set(&sc, dg + h.scid_off, h.scid_len), VQ_OK);
      vq_long_header_spec s = {VQ_PKT_INITIAL, VER[v], &dc, &sc, NULL, 0, pn_len, h.length_size};
      uint8_t out[64];
      size_t loff = 0, poff = 0;
      CHECK_EQ(vq_long_header_write(out, sizeof out, &s, &loff, &poff), VQ_OK);
      CHECK_EQ(poff, h.pn_off);
      CHECK_EQ(vq_packet_set_length(out, sizeof out, loff, h.length_size, h.length), VQ_OK);
      CHECK_EQ(vq_pn_write(out + poff, sizeof out - poff, full, pn_len), VQ_OK);
      CHECK_MEM(out, poff + pn_len, hdr, hl);
    }
  }
}

/* spec: rfc9001#A.4 / rfc9369#A.4 — the Retry packet: token "token", 16-byte tag; rebuild it. */
VQ_TEST(packet_rfc_retry)
{
  for (int v = 0; v < 2; v++) {
    uint8_t p[128];
    size_t n = 0;
    if (!get_hex(t, VEC[v], "retry_packet", p, sizeof p, &n)) return;
    vq_pkt_header h;
    CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_OK);
    CHECK_EQ(h.type, VQ_PKT_RETRY);
    CHECK_EQ(h.version, VER[v]);
    CHECK_EQ(h.dcid_len, 0);
    CHECK_EQ(h.scid_len, 8);
    CHECK_MEM(p + h.token_off, h.token_len, "token", 5);
    CHECK_EQ(h.tag_off + VQ_RETRY_TAG_LEN, n);
    CHECK_EQ(h.packet_len, n);
    vq_cid dc, sc;
    CHECK_EQ(vq_cid_set(&dc, NULL, 0), VQ_OK);
    CHECK_EQ(vq_cid_set(&sc, p + h.scid_off, h.scid_len), VQ_OK);
    uint8_t out[128];
    size_t tag = 0;
    CHECK_EQ(vq_retry_write(out, sizeof out, VER[v], (uint8_t)(h.first % 16u), &dc, &sc, p + h.token_off,
                            h.token_len, &tag), VQ_OK);
    CHECK_EQ(tag, h.tag_off);
    CHECK_MEM(out, tag, p, h.tag_off);
    /* spec: rfc9000#17.2.5/1 — the Unused bits are ignored: any value parses the same way. */
    for (unsigned u = 0; u < 16; u++) {
      uint8_t q[128];
      memcpy(q, p, n);
      q[0] = (uint8_t)((q[0] & 0xf0u) | u);
      vq_pkt_header hu;
      CHECK_EQ(vq_packet_parse(q, n, 0, &hu), VQ_OK);
      CHECK_EQ(hu.type, VQ_PKT_RETRY);
      CHECK_EQ(hu.token_len, h.token_len);
    }
    /* Without room for the tag (or with an empty token) the Retry is dropped. */
    CHECK_EQ(vq_packet_parse(p, n - 1, 0, &h), VQ_OK); /* one byte shorter token */
    CHECK_EQ(vq_packet_parse(p, h.token_off + 16, 0, &h), VQ_ERR_PACKET_RETRY);
    CHECK_EQ(vq_packet_parse(p, h.token_off + 3, 0, &h), VQ_ERR_PACKET_RETRY);
  }
}

/* spec: rfc9001#A.5 — the short header 4200bff4: 3-byte packet number 49140 of 654360564. */
VQ_TEST(packet_rfc_short_header)
{
  uint8_t p[64];
  size_t n = 0;
  if (!get_hex(t, VEC[0], "short_header", p, sizeof p, &n)) return;
  memset(p + n, 0x01, 17); /* payload and tag stand-ins */
  vq_pkt_header h;
  CHECK_EQ(vq_packet_parse(p, n + 17, 0, &h), VQ_OK);
  CHECK_EQ(h.type, VQ_PKT_1RTT);
  CHECK_EQ(h.pn_off, 1);
  CHECK_EQ(h.spin, 0);
  CHECK_EQ(h.packet_len, n + 17);
  size_t pn_len = (size_t)(h.first % 4u) + 1u;
  CHECK_EQ(pn_len, n - 1);
  uint64_t tr = 0, full = 0;
  CHECK_EQ(vq_pn_read(p + 1, n - 1, pn_len, &tr), VQ_OK);
  uint64_t want = get_num(t, VEC[0], "short_header_pn");
  CHECK_EQ(vq_pn_decode(want - 1, tr, pn_len, &full), VQ_OK);
  CHECK_EQ(full, want);
  vq_cid dc;
  CHECK_EQ(vq_cid_set(&dc, NULL, 0), VQ_OK);
  uint8_t out[8];
  size_t poff = 0;
  CHECK_EQ(vq_short_header_write(out, sizeof out, &dc, 0, 0, pn_len, &poff), VQ_OK);
  CHECK_EQ(vq_pn_write(out + poff, sizeof out - poff, full, pn_len), VQ_OK);
  CHECK_MEM(out, poff + pn_len, p, n);
}

/* Builds a long header packet of type ty with payload_len bytes after the packet number. */
static size_t build_long(uint8_t *out, size_t cap, vq_pkt_type ty, uint32_t ver, const vq_cid *dc,
                         const vq_cid *sc, const uint8_t *tok, size_t tl, size_t pn_len, size_t lsize,
                         uint64_t pn, size_t payload_len)
{
  vq_long_header_spec s = {ty, ver, dc, sc, tok, tl, pn_len, lsize};
  size_t loff = 0, poff = 0;
  if (vq_long_header_write(out, cap, &s, &loff, &poff) != VQ_OK) return 0;
  if (poff + pn_len + payload_len > cap) return 0;
  if (vq_packet_set_length(out, cap, loff, lsize, pn_len + payload_len) != VQ_OK) return 0;
  if (vq_pn_write(out + poff, cap - poff, pn, pn_len) != VQ_OK) return 0;
  for (size_t i = 0; i < payload_len; i++) out[poff + pn_len + i] = (uint8_t)(i * 31 + 7);
  return poff + pn_len + payload_len;
}

/* Round trip of Initial, 0-RTT, Handshake for v1 and v2, and truncation at every byte. */
VQ_TEST(packet_long_roundtrip_and_truncation)
{
  static const vq_pkt_type types[3] = {VQ_PKT_INITIAL, VQ_PKT_0RTT, VQ_PKT_HANDSHAKE};
  /* spec: rfc9369#3.2 — v2 type bits: Initial 0b01, 0-RTT 0b10, Handshake 0b11 (v1: 0, 1, 2). */
  static const unsigned bits[2][3] = {{0, 1, 2}, {1, 2, 3}};
  uint8_t dcb[20], scb[20], tok[40];
  for (size_t i = 0; i < 20; i++) { dcb[i] = (uint8_t)(0x10 + i); scb[i] = (uint8_t)(0x80 + i); }
  for (size_t i = 0; i < sizeof tok; i++) tok[i] = (uint8_t)(0xc0 + i);
  for (int v = 0; v < 2; v++)
    for (int ti = 0; ti < 3; ti++)
      for (size_t dl = 0; dl <= 20; dl += 4) {
        vq_cid dc, sc;
        CHECK_EQ(vq_cid_set(&dc, dcb, dl), VQ_OK);
        CHECK_EQ(vq_cid_set(&sc, scb, 20 - dl), VQ_OK);
        size_t tl = types[ti] == VQ_PKT_INITIAL ? dl * 2 : 0;
        size_t pn_len = 1 + dl % 4;
        uint8_t p[256];
        size_t n = build_long(p, sizeof p, types[ti], VER[v], &dc, &sc, tok, tl, pn_len, dl % 8 ? 2 : 4,
                              0x1234567, 30);
        CHECK(n > 0);
        CHECK_EQ((p[0] / 16u) % 4u, bits[v][ti]);
        CHECK_EQ(p[0] % 16u, pn_len - 1); /* reserved bits 0 */
        vq_pkt_header h;
        CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_OK);
        CHECK_EQ(h.type, types[ti]);
        CHECK_EQ(h.version, VER[v]);
        CHECK_MEM(p + h.dcid_off, h.dcid_len, dcb, dl);
        CHECK_MEM(p + h.scid_off, h.scid_len, scb, 20 - dl);
        CHECK_MEM(p + h.token_off, h.token_len, tok, tl);
        CHECK_EQ(h.length, pn_len + 30);
        CHECK_EQ(h.packet_len, n);
        uint64_t tr = 0;
        CHECK_EQ(vq_pn_read(p + h.pn_off, n - h.pn_off, pn_len, &tr), VQ_OK);
        CHECK_EQ(tr, 0x1234567ull % (1ull << (8 * pn_len)));
        /* Truncated anywhere: dropped with a precise status, never OK. */
        const size_t pn_off = h.pn_off;
        for (size_t k = 0; k < n; k++) {
          vq_status st = vq_packet_parse(p, k, 0, &h);
          CHECK(st == VQ_ERR_PACKET_TRUNCATED || st == VQ_ERR_PACKET_LENGTH || st == VQ_ERR_PACKET_TOKEN);
          /* Past the Length field only the Length can be wrong. */
          if (k >= pn_off) CHECK_EQ(st, VQ_ERR_PACKET_LENGTH);
        }
      }
}

/* spec: rfc9000#17.2 — CIDs over 20 bytes are dropped in v1/v2; rfc8999#5.1 — up to 255 for other
 * versions, whose header is still read so Version Negotiation can be sent (rfc9000#6). */
/* spec: rfc9000#17.2/3 — a v1 (or v2) long header whose DCID length is over 20 is dropped (unknown
 * versions keep up to 255, rfc8999#5.1); spec: rfc9000#17.2/6 — the same for the SCID length. */
VQ_TEST(packet_cid_lengths)
{
  uint8_t p[600];
  memset(p, 0x5a, sizeof p);
  for (int v = 0; v < 3; v++) {
    uint32_t ver = v < 2 ? VER[v] : 0x1a2a3a4au;
    static const size_t lens[4] = {0, 20, 21, 255};
    for (int i = 0; i < 4; i++) {
      p[0] = 0xc0;
      p[1] = (uint8_t)(ver >> 24); p[2] = (uint8_t)(ver >> 16); p[3] = (uint8_t)(ver >> 8); p[4] = (uint8_t)ver;
      p[5] = (uint8_t)lens[i];
      p[6 + lens[i]] = 0; /* empty SCID */
      p[7 + lens[i]] = 0; /* token length 0 (Initial) */
      p[8 + lens[i]] = 20; /* Length */
      vq_pkt_header h;
      size_t n = 9 + lens[i] + 20;
      vq_status st = vq_packet_parse(p, n, 0, &h);
      if (v == 2) {
        CHECK_EQ(st, VQ_ERR_PACKET_VERSION);
        CHECK_EQ(h.type, VQ_PKT_UNKNOWN_VERSION);
        CHECK_EQ(h.version, ver);
        CHECK_EQ(h.dcid_len, lens[i]);
        CHECK_EQ(h.dcid_off, 6);
        CHECK_EQ(h.scid_len, 0);
        CHECK_EQ(h.packet_len, n);
      } else if (lens[i] <= 20) {
        CHECK_EQ(st, VQ_OK);
        CHECK_EQ(h.dcid_len, lens[i]);
        CHECK_EQ(h.packet_len, n);
      } else {
        CHECK_EQ(st, VQ_ERR_PACKET_CID_TOO_LONG);
      }
    }
  }
  /* The SCID length over 20 (DCID fine): dropped for v1 and v2 too. */
  for (int v = 0; v < 2; v++) {
    p[0] = 0xc0;
    p[1] = (uint8_t)(VER[v] >> 24); p[2] = (uint8_t)(VER[v] >> 16); p[3] = (uint8_t)(VER[v] >> 8);
    p[4] = (uint8_t)VER[v];
    p[5] = 8;
    for (size_t sl = 20; sl <= 22; sl++) {
      p[14] = (uint8_t)sl;
      p[15 + sl] = 0;  /* token length */
      p[16 + sl] = 20; /* Length */
      vq_pkt_header h;
      CHECK_EQ(vq_packet_parse(p, 17 + sl + 20, 0, &h), sl <= 20 ? VQ_OK : VQ_ERR_PACKET_CID_TOO_LONG);
    }
  }
  /* Builders refuse a 21-byte CID. */
  vq_cid big;
  memset(&big, 0, sizeof big);
  big.len = 21;
  vq_cid ok;
  CHECK_EQ(vq_cid_set(&ok, NULL, 0), VQ_OK);
  vq_long_header_spec s = {VQ_PKT_HANDSHAKE, VQ_VERSION_1, &big, &ok, NULL, 0, 1, 2};
  size_t a, b;
  CHECK_EQ(vq_long_header_write(p, sizeof p, &s, &a, &b), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_short_header_write(p, sizeof p, &big, 0, 0, 1, &a), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_retry_write(p, sizeof p, VQ_VERSION_1, 0, &ok, &big, p, 1, &a), VQ_ERR_INVALID_ARGUMENT);
  /* Short headers: the DCID length is the receiver's own, 0..20. */
  vq_pkt_header h;
  p[0] = 0x40;
  CHECK_EQ(vq_packet_parse(p, 30, 21, &h), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_packet_parse(p, 22, 20, &h), VQ_OK);
  CHECK_EQ(h.pn_off, 21);
  CHECK_EQ(vq_packet_parse(p, 21, 20, &h), VQ_ERR_PACKET_TRUNCATED);
}

/* spec: rfc9000#17.2 — a Length beyond the datagram drops the packet; rfc9000#17.2.2 — so does a
 * token length beyond it. */
VQ_TEST(packet_length_past_datagram)
{
  uint8_t p[256];
  vq_cid dc, sc;
  CHECK_EQ(vq_cid_set(&dc, (const uint8_t *)"abcdefgh", 8), VQ_OK);
  CHECK_EQ(vq_cid_set(&sc, NULL, 0), VQ_OK);
  size_t n = build_long(p, sizeof p, VQ_PKT_HANDSHAKE, VQ_VERSION_1, &dc, &sc, NULL, 0, 2, 2, 5, 40);
  CHECK(n > 0);
  vq_pkt_header h;
  CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_OK);
  size_t loff = h.pn_off - 2;
  CHECK_EQ(vq_packet_set_length(p, sizeof p, loff, 2, h.length + 1), VQ_OK);
  CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_ERR_PACKET_LENGTH);
  CHECK_EQ(vq_packet_set_length(p, sizeof p, loff, 2, 16383), VQ_OK);
  CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_ERR_PACKET_LENGTH);
  CHECK_EQ(vq_packet_set_length(p, sizeof p, loff, 2, 0), VQ_OK); /* no room for a packet number */
  CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_ERR_PACKET_TRUNCATED);
  CHECK_EQ(vq_packet_set_length(p, sizeof p, loff, 2, 16384), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_packet_set_length(p, sizeof p, loff, 3, 1), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_packet_set_length(p, 10, 9, 2, 1), VQ_ERR_BUFFER_TOO_SMALL);
  /* Initial whose token length runs past the datagram. */
  n = build_long(p, sizeof p, VQ_PKT_INITIAL, VQ_VERSION_1, &dc, &sc, (const uint8_t *)"tok", 3, 1, 2, 0, 20);
  CHECK(n > 0);
  CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_OK);
  p[h.token_off - 1] = 0x3f; /* 63 > what is left */
  CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_ERR_PACKET_TOKEN);
}

/* spec: rfc9000#12.2/1 — coalesced packets: Initial, Handshake and a 1-RTT packet in one datagram,
 * each parsed on its own (the connection's loop over them is in conn.c). */
VQ_TEST(packet_coalesced_split)
{
  for (int v = 0; v < 2; v++) {
    uint8_t dg[1500];
    uint8_t cidb[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    vq_cid dc, sc;
    CHECK_EQ(vq_cid_set(&dc, cidb, 8), VQ_OK);
    CHECK_EQ(vq_cid_set(&sc, cidb, 4), VQ_OK);
    size_t n1 = build_long(dg, sizeof dg, VQ_PKT_INITIAL, VER[v], &dc, &sc, NULL, 0, 4, 2, 0, 300);
    size_t n2 = build_long(dg + n1, sizeof dg - n1, VQ_PKT_HANDSHAKE, VER[v], &dc, &sc, NULL, 0, 2, 4, 1, 500);
    size_t poff = 0;
    CHECK_EQ(vq_short_header_write(dg + n1 + n2, sizeof dg - n1 - n2, &dc, 1, 1, 3, &poff), VQ_OK);
    size_t n3 = poff + 3 + 120;
    memset(dg + n1 + n2 + poff, 0x77, 3 + 120);
    size_t total = n1 + n2 + n3;
    static const vq_pkt_type want[3] = {VQ_PKT_INITIAL, VQ_PKT_HANDSHAKE, VQ_PKT_1RTT};
    const size_t sizes[3] = {n1, n2, n3};
    size_t off = 0;
    int k = 0;
    while (off < total && k < 4) {
      vq_pkt_header h;
      vq_status st = vq_packet_parse(dg + off, total - off, 8, &h);
      CHECK_EQ(st, VQ_OK);
      if (st != VQ_OK || k >= 3) break;
      CHECK_EQ(h.type, want[k]);
      CHECK_EQ(h.packet_len, sizes[k]);
      if (h.type == VQ_PKT_1RTT) {
        CHECK_EQ(h.spin, 1);
        CHECK_MEM(dg + off + h.dcid_off, h.dcid_len, cidb, 8);
      }
      off += h.packet_len;
      k++;
    }
    CHECK_EQ(k, 3);
    CHECK_EQ(off, total);
  }
}

/* spec: rfc9000#17.2.1 — Version Negotiation: any Unused bits (spec: rfc9000#17.2.1/1, rfc8999#6/1 —
 * ignored; spec: rfc8999#6/2 — none or a truncated Supported Version is an error),
 * echoed CIDs up to 255 bytes, at least one version, a whole number of 4-byte versions; spec:
 * rfc9000#17.2.1/3 — the builder writes Version 0. */
VQ_TEST(packet_version_negotiation)
{
  uint8_t cids[255];
  for (size_t i = 0; i < sizeof cids; i++) cids[i] = (uint8_t)i;
  const uint32_t vers[3] = {VQ_VERSION_2, VQ_VERSION_1, 0x0a0a0a0au};
  uint8_t p[700];
  size_t used = 0;
  static const size_t dls[4] = {0, 20, 21, 255};
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(vq_vn_write(p, sizeof p, 0x40, cids, dls[i], cids, 255 - dls[i], vers, 3, &used), VQ_OK);
    CHECK_EQ(used, 7 + 255 + 12);
    CHECK_EQ(p[0], 0xc0);
    CHECK(p[1] == 0 && p[2] == 0 && p[3] == 0 && p[4] == 0);
    vq_pkt_header h;
    CHECK_EQ(vq_packet_parse(p, used, 0, &h), VQ_OK);
    CHECK_EQ(h.type, VQ_PKT_VERSION_NEGOTIATION);
    CHECK_EQ(h.dcid_len, dls[i]);
    CHECK_EQ(h.scid_len, 255 - dls[i]);
    CHECK_EQ(h.versions_count, 3);
    CHECK_EQ(h.packet_len, used);
    for (size_t k = 0; k < 3; k++) {
      uint32_t x = 0;
      CHECK_EQ(vq_packet_vn_version(p, used, &h, k, &x), VQ_OK);
      CHECK_EQ(x, vers[k]);
    }
    uint32_t x = 0;
    CHECK_EQ(vq_packet_vn_version(p, used, &h, 3, &x), VQ_ERR_INVALID_ARGUMENT);
    /* Truncated inside a version, or with no version left. */
    CHECK_EQ(vq_packet_parse(p, used - 1, 0, &h), VQ_ERR_PACKET_TRUNCATED);
    CHECK_EQ(vq_packet_parse(p, used - 12, 0, &h), VQ_ERR_PACKET_VN_EMPTY);
    for (size_t k = 0; k < used - 12; k++) CHECK(vq_packet_parse(p, k, 0, &h) != VQ_OK);
  }
  /* Fixed bit 0 is fine in Version Negotiation (Unused bits), and so is every other Unused value. */
  CHECK_EQ(vq_vn_write(p, sizeof p, 0x00, cids, 8, cids, 8, vers, 1, &used), VQ_OK);
  CHECK_EQ(p[0], 0x80);
  vq_pkt_header h;
  CHECK_EQ(vq_packet_parse(p, used, 0, &h), VQ_OK);
  CHECK_EQ(h.type, VQ_PKT_VERSION_NEGOTIATION);
  for (unsigned u = 0; u < 128; u += 9) {
    p[0] = (uint8_t)(0x80u | u);
    CHECK_EQ(vq_packet_parse(p, used, 0, &h), VQ_OK);
    CHECK_EQ(h.type, VQ_PKT_VERSION_NEGOTIATION);
    CHECK_EQ(h.versions_count, 1);
  }
  /* Builder: no versions, too long a CID, no room. */
  CHECK_EQ(vq_vn_write(p, sizeof p, 0x40, cids, 8, cids, 8, vers, 0, &used), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_vn_write(p, sizeof p, 0x40, cids, 256, cids, 8, vers, 1, &used), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_vn_write(p, sizeof p, 0x80, cids, 8, cids, 8, vers, 1, &used), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_vn_write(p, 7 + 16 + 11, 0x40, cids, 8, cids, 8, vers, 3, &used), VQ_ERR_BUFFER_TOO_SMALL);
}

/* spec: rfc9000#17.2/1, rfc9000#17.3.1/1 — fixed bit 0 drops v1/v2 long headers and short headers;
 * spec: rfc9000#17.2/8, rfc9000#17.3.1/2 — the builders write the Reserved Bits as 0. */
VQ_TEST(packet_fixed_bit)
{
  uint8_t p[64];
  vq_cid dc;
  CHECK_EQ(vq_cid_set(&dc, (const uint8_t *)"12345678", 8), VQ_OK);
  for (int v = 0; v < 2; v++) {
    size_t n = build_long(p, sizeof p, VQ_PKT_HANDSHAKE, VER[v], &dc, &dc, NULL, 0, 1, 2, 0, 20);
    vq_pkt_header h;
    CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_OK);
    CHECK_EQ(p[0] & 0x0cu, 0); /* Reserved Bits */
    p[0] = (uint8_t)(p[0] - 0x40);
    CHECK_EQ(vq_packet_parse(p, n, 0, &h), VQ_ERR_PACKET_FIXED_BIT);
  }
  size_t poff = 0;
  CHECK_EQ(vq_short_header_write(p, sizeof p, &dc, 0, 1, 2, &poff), VQ_OK);
  CHECK_EQ(p[0], 0x40 + 4 + 1); /* Reserved Bits (0x18) are 0 */
  vq_pkt_header h;
  CHECK_EQ(vq_packet_parse(p, 30, 8, &h), VQ_OK);
  p[0] = 0x00;
  CHECK_EQ(vq_packet_parse(p, 30, 8, &h), VQ_ERR_PACKET_FIXED_BIT);
  CHECK_EQ(vq_packet_parse(p, 0, 8, &h), VQ_ERR_PACKET_TRUNCATED);
}

VQ_TEST(packet_builder_arguments)
{
  uint8_t p[128];
  vq_cid dc;
  CHECK_EQ(vq_cid_set(&dc, NULL, 0), VQ_OK);
  size_t a = 0, b = 0;
  vq_long_header_spec s = {VQ_PKT_RETRY, VQ_VERSION_1, &dc, &dc, NULL, 0, 1, 2};
  CHECK_EQ(vq_long_header_write(p, sizeof p, &s, &a, &b), VQ_ERR_INVALID_ARGUMENT);
  s.type = VQ_PKT_HANDSHAKE;
  s.version = 0x12345678u;
  CHECK_EQ(vq_long_header_write(p, sizeof p, &s, &a, &b), VQ_ERR_INVALID_ARGUMENT);
  s.version = VQ_VERSION_2;
  s.pn_len = 5;
  CHECK_EQ(vq_long_header_write(p, sizeof p, &s, &a, &b), VQ_ERR_INVALID_ARGUMENT);
  s.pn_len = 1;
  s.length_size = 1;
  CHECK_EQ(vq_long_header_write(p, sizeof p, &s, &a, &b), VQ_ERR_INVALID_ARGUMENT);
  s.length_size = 4;
  s.token = p;
  s.token_len = 1; /* only an Initial has a token */
  CHECK_EQ(vq_long_header_write(p + 64, 64, &s, &a, &b), VQ_ERR_INVALID_ARGUMENT);
  s.token_len = 0;
  for (size_t cap = 0; cap < 7 + 4 + 1; cap++) {
    memset(p, 0xee, sizeof p);
    CHECK_EQ(vq_long_header_write(p, cap, &s, &a, &b), VQ_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(p[0], 0xee);
  }
  CHECK_EQ(vq_long_header_write(p, 12, &s, &a, &b), VQ_OK);
  CHECK_EQ(a, 7);
  CHECK_EQ(b, 11);
  CHECK_EQ(vq_short_header_write(p, sizeof p, &dc, 2, 0, 1, &a), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_short_header_write(p, sizeof p, &dc, 0, 0, 0, &a), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_short_header_write(p, 1, &dc, 0, 0, 1, &a), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(vq_retry_write(p, sizeof p, VQ_VERSION_1, 0, &dc, &dc, p, 0, &a), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_retry_write(p, sizeof p, VQ_VERSION_1, 16, &dc, &dc, p, 1, &a), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_retry_write(p, 7 + 1 + 15, VQ_VERSION_1, 0, &dc, &dc, p + 64, 1, &a), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(vq_retry_write(p, 7 + 1 + 16, VQ_VERSION_1, 0, &dc, &dc, p + 64, 1, &a), VQ_OK);
  /* spec: rfc9000#14.1 — 1200 bytes. */
  CHECK_EQ(vq_initial_datagram_size_ok(1199), 0);
  CHECK_EQ(vq_initial_datagram_size_ok(1200), 1);
}

/* Property: random datagrams never crash the parser, and every OK parse stays inside the input;
 * random valid headers round-trip. */
VQ_TEST(packet_seeded_property)
{
  uint64_t seed = 0x5eed0020;
  uint8_t p[300];
  for (int i = 0; i < 50000; i++) {
    size_t n = (size_t)(vq_rand(&seed) % sizeof p);
    for (size_t k = 0; k < n; k++) p[k] = (uint8_t)vq_rand(&seed);
    if (n > 0 && i % 2) p[0] = (uint8_t)(0xc0 | (p[0] & 0x3f));
    if (n > 4 && i % 4 == 1) { p[1] = 0; p[2] = 0; p[3] = 0; p[4] = (uint8_t)(1 + i % 2); }
    if (n > 5 && i % 8 == 1) p[5] = (uint8_t)(p[5] % 21);
    size_t sdl = (size_t)(vq_rand(&seed) % 21);
    vq_pkt_header h;
    vq_status st = vq_packet_parse(p, n, sdl, &h);
    if (st == VQ_OK) {
      if (!(h.packet_len >= 1 && h.packet_len <= n && h.dcid_off + h.dcid_len <= h.packet_len &&
            h.scid_off + h.scid_len <= h.packet_len && h.token_off + h.token_len <= h.packet_len)) {
        CHECK(0);
        return;
      }
    }
  }
  for (int i = 0; i < 5000; i++) {
    vq_cid dc, sc;
    uint8_t b[40];
    for (size_t k = 0; k < sizeof b; k++) b[k] = (uint8_t)vq_rand(&seed);
    CHECK_EQ(vq_cid_set(&dc, b, (size_t)(vq_rand(&seed) % 21)), VQ_OK);
    CHECK_EQ(vq_cid_set(&sc, b + 20, (size_t)(vq_rand(&seed) % 21)), VQ_OK);
    vq_pkt_type ty = (vq_pkt_type)(vq_rand(&seed) % 3);
    size_t tl = ty == VQ_PKT_INITIAL ? (size_t)(vq_rand(&seed) % sizeof b) : 0;
    size_t pn_len = 1 + (size_t)(vq_rand(&seed) % 4);
    uint64_t pn = vq_rand(&seed) % VQ_PN_MAX;
    size_t pl = (size_t)(vq_rand(&seed) % 60);
    size_t n = build_long(p, sizeof p, ty, VER[i % 2], &dc, &sc, b, tl, pn_len, i % 3 ? 2 : 4, pn, pl);
    vq_pkt_header h;
    if (n == 0 || vq_packet_parse(p, n, 0, &h) != VQ_OK || h.type != ty || h.packet_len != n ||
        h.dcid_len != dc.len || h.scid_len != sc.len || h.token_len != tl || h.length != pn_len + pl) {
      CHECK(0);
      return;
    }
  }
}
