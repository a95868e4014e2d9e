/* Fuzz harness: vq_packet_unprotect (and vq_packet_protect, vq_retry_tag_verify) on arbitrary bytes,
 * with the Initial keys of RFC 9001 Appendix A (DCID 0x8394c8f03e515708). Must never crash, never read
 * outside the packet (the packet is copied into an exact-size heap block), and must keep its contract:
 *   - VQ_ERR_HP_SAMPLE / VQ_ERR_DECRYPT / VQ_ERR_PACKET_NUMBER leave the packet exactly as received;
 *   - VQ_OK describes a header, pn and payload inside the packet;
 *   - in round-trip mode, protect followed by unprotect gives back header, pn and payload.
 * Input: [0] pn_offset - 1 (mod 64), [1] mode bits (1: round trip, 2: server keys), [2..9] largest pn
 * (big-endian; top bit set = none received yet), then the packet. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/protect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keys are derived once per process (a harness may keep state; the library does not). */
static vq_pp_key *initial_key(int server)
{
  static vq_pp_key client, srv;
  static int ready;
  static const uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
  if (!ready) {
    vq_pp_key_init(&client);
    vq_pp_key_init(&srv);
    if (vq_pp_key_install_initial(&client, &srv, VQ_QUIC_V1, dcid, sizeof dcid) != VQ_OK) abort();
    ready = 1;
  }
  return server ? &srv : &client;
}

static void unprotect(vq_pp_key *k, const uint8_t *pkt, size_t len, size_t pn_offset, int64_t largest)
{
  uint8_t *b = malloc(len ? len : 1);
  if (!b) return;
  if (len) memcpy(b, pkt, len);
  vq_unprotected u;
  memset(&u, 0, sizeof u);
  vq_status st = vq_packet_unprotect(k, b, len, pn_offset, largest, &u);
  if (st == VQ_OK || st == VQ_ERR_PROTOCOL_VIOLATION) {
    if (u.pn_len < 1 || u.pn_len > 4 || u.hdr_len != pn_offset + u.pn_len ||
        u.payload_offset != u.hdr_len || u.payload_offset + u.payload_len + VQ_AEAD_TAG_LEN != len ||
        u.pn >= (UINT64_C(1) << 62))
      abort();
  } else if (st == VQ_ERR_HP_SAMPLE || st == VQ_ERR_DECRYPT || st == VQ_ERR_PACKET_NUMBER) {
    if (len && memcmp(b, pkt, len) != 0) abort(); /* left as received */
  } else if (st != VQ_ERR_INVALID_ARGUMENT) {
    abort();
  }
  free(b);
  /* The same bytes as a Retry packet, with an ODCID taken from the packet's own bytes. */
  if (len > 0) {
    size_t ol = pkt[0] % 21u;
    if (len > 1 + ol) (void)vq_retry_tag_verify(VQ_QUIC_V1, pkt + 1, ol, pkt, len);
  }
}

/* Builds a packet from the input, protects it and checks that unprotect gives it back. */
static void roundtrip(vq_pp_key *k, const uint8_t *in, size_t len, size_t pn_offset, uint64_t pn)
{
  if (len == 0) return;
  size_t pn_len = (size_t)(in[0] & 3) + 1;
  if (pn_offset + pn_len > len || len > 4096) return;
  size_t payload = len - pn_offset - pn_len;
  uint8_t *b = malloc(len + VQ_AEAD_TAG_LEN), *orig = malloc(len);
  if (!b || !orig) {
    free(b);
    free(orig);
    return;
  }
  memcpy(b, in, len);
  b[0] &= (uint8_t)((b[0] & 0x80) ? 0xf3 : 0xe7); /* reserved bits clear */
  for (size_t i = 0; i < pn_len; i++) b[pn_offset + i] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
  memcpy(orig, b, len);
  size_t out_len = 0;
  vq_status st = vq_packet_protect(k, b, len + VQ_AEAD_TAG_LEN, pn_offset, pn_len, pn, payload, &out_len);
  if (st == VQ_OK) {
    vq_unprotected u;
    int64_t largest = pn > 0 ? (int64_t)pn - 1 : -1;
    if (vq_packet_unprotect(k, b, out_len, pn_offset, largest, &u) != VQ_OK || u.pn != pn ||
        u.pn_len != pn_len || u.payload_len != payload || memcmp(b, orig, len) != 0)
      abort();
  } else if (st != VQ_ERR_HP_SAMPLE && st != VQ_ERR_INVALID_ARGUMENT) {
    abort();
  }
  free(b);
  free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 10) return 0;
  size_t pn_offset = 1 + (size_t)(data[0] % 64);
  int mode = data[1];
  uint64_t largest_raw = 0;
  for (size_t i = 0; i < 8; i++) largest_raw = (largest_raw << 8) | data[2 + i];
  int64_t largest = (largest_raw >> 63) ? -1 : (int64_t)(largest_raw & ((UINT64_C(1) << 62) - 1));
  vq_pp_key *k = initial_key(mode & 2);
  if (mode & 1)
    roundtrip(k, data + 10, size - 10, pn_offset, (uint64_t)(largest + 1));
  else
    unprotect(k, data + 10, size - 10, pn_offset, largest);
  return 0;
}
