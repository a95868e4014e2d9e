/* Fuzz harness for src/core/packet.c: splits a datagram packet by packet as a server whose
 * short-header connection IDs are 8 bytes (the first input byte picks another length 0..20 when it
 * is below 21), rebuilds each header with the builders and compares it with the input (aborting
 * on mismatch), and checks that every field a successful parse reports lies inside the datagram. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "vquic/packet.h"
#include "vquic/varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_long(const uint8_t *p, const vq_pkt_header *h)
{
  vq_cid dc, sc;
  if (vq_cid_set(&dc, p + h->dcid_off, h->dcid_len) != VQ_OK) abort();
  if (vq_cid_set(&sc, p + h->scid_off, h->scid_len) != VQ_OK) abort();
  uint8_t out[2048];
  if (h->type == VQ_PKT_RETRY) {
    size_t tag = 0;
    if (h->token_len > 65535) return;
    if (vq_retry_write(out, sizeof out, h->version, (uint8_t)(h->first % 16u), &dc, &sc, p + h->token_off,
                       h->token_len, &tag) != VQ_OK) {
      if (7 + dc.len + sc.len + h->token_len + 16 <= sizeof out) abort();
      return;
    }
    if (tag != h->tag_off || memcmp(out, p, tag) != 0) abort();
    return;
  }
  /* Initial / 0-RTT / Handshake: the builder writes the reserved bits as 0 and the Length in 2 or 4
   * bytes; compare where the encodings can coincide. */
  const size_t pn_len = (size_t)(h->first % 4u) + 1u;
  size_t lsize = h->length_size == 4 ? 4 : 2;
  if (h->length >= (lsize == 2 ? 16384u : 1073741824u)) return;
  vq_long_header_spec s = {h->type, h->version, &dc, &sc, p + h->token_off, h->token_len, pn_len, lsize};
  size_t loff = 0, poff = 0;
  if (h->token_len > 1500) return;
  if (vq_long_header_write(out, sizeof out, &s, &loff, &poff) != VQ_OK) abort();
  if (vq_packet_set_length(out, sizeof out, loff, lsize, h->length) != VQ_OK) abort();
  /* Re-parse what we built (with the packet number and payload copied): same header. */
  if (poff + h->length > sizeof out) return;
  memcpy(out + poff, p + h->pn_off, (size_t)h->length);
  vq_pkt_header g;
  if (vq_packet_parse(out, poff + (size_t)h->length, 0, &g) != VQ_OK) abort();
  if (g.type != h->type || g.version != h->version || g.dcid_len != h->dcid_len ||
      g.scid_len != h->scid_len || g.token_len != h->token_len || g.length != h->length ||
      g.packet_len != poff + h->length)
    abort();
  if (memcmp(out + g.token_off, p + h->token_off, h->token_len) != 0) abort();
  /* Byte-exact when the input used the same (minimal token length, 2/4-byte Length) encodings and
   * zero reserved bits. */
  if (h->token_len_size == g.token_len_size && h->length_size == lsize && (h->first % 16u) / 4u == 0 &&
      (poff != h->pn_off || memcmp(out, p, poff) != 0))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t sdl = 8;
  if (size > 0 && data[0] < 21) {
    sdl = data[0];
    data++;
    size--;
  }
  size_t off = 0;
  while (off < size) {
    vq_pkt_header h;
    const uint8_t *p = data + off;
    const size_t rest = size - off;
    vq_status st = vq_packet_parse(p, rest, sdl, &h);
    if (st == VQ_ERR_PACKET_VERSION) {
      if (h.packet_len != rest || h.dcid_off + h.dcid_len > rest || h.scid_off + h.scid_len > rest) abort();
      /* Answer with Version Negotiation and read it back. */
      uint8_t vn[600];
      const uint32_t vers[2] = {VQ_VERSION_1, VQ_VERSION_2};
      size_t used = 0;
      if (vq_vn_write(vn, sizeof vn, 0x40, p + h.scid_off, h.scid_len, p + h.dcid_off, h.dcid_len, vers, 2,
                      &used) != VQ_OK)
        abort();
      vq_pkt_header g;
      uint32_t v0 = 0, v1 = 0;
      if (vq_packet_parse(vn, used, 0, &g) != VQ_OK || g.type != VQ_PKT_VERSION_NEGOTIATION ||
          g.versions_count != 2 || vq_packet_vn_version(vn, used, &g, 0, &v0) != VQ_OK ||
          vq_packet_vn_version(vn, used, &g, 1, &v1) != VQ_OK || v0 != vers[0] || v1 != vers[1] ||
          g.dcid_len != h.scid_len || memcmp(vn + g.dcid_off, p + h.scid_off, h.scid_len) != 0)
        abort();
      break;
    }
    if (st != VQ_OK) break;
    if (h.packet_len < 1 || h.packet_len > rest || h.dcid_off + h.dcid_len > h.packet_len ||
        h.scid_off + h.scid_len > h.packet_len || h.token_off + h.token_len > h.packet_len)
      abort();
    switch (h.type) {
    case VQ_PKT_INITIAL:
    case VQ_PKT_0RTT:
    case VQ_PKT_HANDSHAKE:
    case VQ_PKT_RETRY:
      check_long(p, &h);
      break;
    case VQ_PKT_VERSION_NEGOTIATION: {
      /* 1 + 4 + 1 + 255 + 1 + 255 + 4 * 400 = 2117 bytes at most (a 2048-byte buffer was too
       * small for 255-byte CIDs and 392 versions: corpus/packet/regress-vn-long-cids) */
      uint8_t vn[4096];
      uint32_t vers[400];
      if (h.versions_count > 400) break;
      for (size_t i = 0; i < h.versions_count; i++)
        if (vq_packet_vn_version(p, rest, &h, i, &vers[i]) != VQ_OK) abort();
      size_t used = 0;
      if (vq_vn_write(vn, sizeof vn, (uint8_t)(h.first % 128u), p + h.dcid_off, h.dcid_len, p + h.scid_off,
                      h.scid_len, vers, h.versions_count, &used) != VQ_OK)
        abort();
      if (used != h.packet_len || memcmp(vn, p, used) != 0) abort();
      break;
    }
    case VQ_PKT_1RTT: {
      vq_cid dc;
      uint8_t out[32];
      size_t poff = 0;
      if (vq_cid_set(&dc, p + 1, h.dcid_len) != VQ_OK) abort();
      /* Spin bit is exposed; the other low bits are protected: rebuild with them as received. */
      const unsigned kp = (h.first / 4u) % 2u;
      if (vq_short_header_write(out, sizeof out, &dc, h.spin, kp, (size_t)(h.first % 4u) + 1u, &poff) != VQ_OK)
        abort();
      if (poff != h.pn_off || memcmp(out + 1, p + 1, h.dcid_len) != 0) abort();
      if (out[0] / 32u != p[0] / 32u || out[0] % 8u / 4u != p[0] % 8u / 4u) abort();
      break;
    }
    default:
      abort();
    }
    off += h.packet_len;
  }
  return 0;
}
