/* Tests of src/core/pn.c: RFC 9000 Appendix A.2 / A.3 examples (from spec/vectors), the length
 * boundaries, the edges of the packet number space, and seeded properties (encode with the chosen
 * length, then decode = original; every truncated value of a window decodes into that window). */
#include "vqtest.h"
#include "vquic/pn.h"

#include <stdlib.h>

/* spec: rfc9000#A.2 — packet number encoding examples, read from spec/vectors. */
VQ_TEST(pn_rfc9000_a2_encode)
{
  char *text = vq_read_file("spec/vectors/rfc9000-pn-encode.txt", NULL);
  CHECK(text != NULL);
  if (!text) return;
  int n = 0;
  for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    if (l[0] == '#') continue;
    unsigned long long acked, full, bits;
    if (sscanf(l, "%llx %llx %llu", &acked, &full, &bits) != 3) continue;
    CHECK_EQ(vq_pn_encode_len(full, acked), bits / 8);
    n++;
  }
  CHECK_EQ(n, 2);
  free(text);
}

/* spec: rfc9000#A.3 — packet number decoding example (also §17.1), read from spec/vectors. */
VQ_TEST(pn_rfc9000_a3_decode)
{
  char *text = vq_read_file("spec/vectors/rfc9000-pn-decode.txt", NULL);
  CHECK(text != NULL);
  if (!text) return;
  int n = 0;
  for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    if (l[0] == '#') continue;
    unsigned long long largest, bits, trunc, want;
    if (sscanf(l, "%llx %llu %llx %llx", &largest, &bits, &trunc, &want) != 4) continue;
    uint64_t got = 0;
    CHECK_EQ(vq_pn_decode(largest, trunc, bits / 8, &got), VQ_OK);
    CHECK_EQ(got, want);
    /* and the wire form: the truncated value is the low bytes of the full number */
    uint8_t b[4];
    CHECK_EQ(vq_pn_write(b, sizeof b, want, bits / 8), VQ_OK);
    uint64_t t2 = 0;
    CHECK_EQ(vq_pn_read(b, bits / 8, bits / 8, &t2), VQ_OK);
    CHECK_EQ(t2, trunc);
    n++;
  }
  CHECK(n >= 1);
  free(text);
}

/* spec: rfc9000#17.1/2 — the window must be at least twice the number of unacknowledged packets;
 * spec: rfc9000#17.1/1 — before any acknowledgment the encoding holds the full packet number. */
VQ_TEST(pn_encode_len_boundaries)
{
  /* No acknowledgment yet: num_unacked = full_pn + 1. */
  CHECK_EQ(vq_pn_encode_len(0, VQ_PN_NONE), 1);
  CHECK_EQ(vq_pn_encode_len(127, VQ_PN_NONE), 1);
  CHECK_EQ(vq_pn_encode_len(128, VQ_PN_NONE), 2);
  CHECK_EQ(vq_pn_encode_len(32767, VQ_PN_NONE), 2);
  CHECK_EQ(vq_pn_encode_len(32768, VQ_PN_NONE), 3);
  CHECK_EQ(vq_pn_encode_len(8388607, VQ_PN_NONE), 3);
  CHECK_EQ(vq_pn_encode_len(8388608, VQ_PN_NONE), 4);
  CHECK_EQ(vq_pn_encode_len(2147483647, VQ_PN_NONE), 4);
  CHECK_EQ(vq_pn_encode_len(2147483648u, VQ_PN_NONE), 0);
  /* Those bytes carry the full number: read back without any decoding window, it is unchanged. */
  static const uint64_t full[] = {0, 127, 128, 40000, 8388608, 2147483647};
  for (size_t i = 0; i < sizeof full / sizeof full[0]; i++) {
    uint8_t b[4];
    uint64_t tr = 0;
    size_t n = vq_pn_encode_len(full[i], VQ_PN_NONE);
    CHECK_EQ(vq_pn_write(b, sizeof b, full[i], n), VQ_OK);
    CHECK_EQ(vq_pn_read(b, n, n, &tr), VQ_OK);
    CHECK_EQ(tr, full[i]);
  }
  /* With an acknowledgment. */
  CHECK_EQ(vq_pn_encode_len(1000 + 128, 1000), 1);
  CHECK_EQ(vq_pn_encode_len(1000 + 129, 1000), 2);
  CHECK_EQ(vq_pn_encode_len(1000 + 32768, 1000), 2);
  CHECK_EQ(vq_pn_encode_len(1000 + 32769, 1000), 3);
  CHECK_EQ(vq_pn_encode_len(1000 + 8388608, 1000), 3);
  CHECK_EQ(vq_pn_encode_len(1000 + 8388609, 1000), 4);
  CHECK_EQ(vq_pn_encode_len(1000 + 2147483648u, 1000), 4);
  CHECK_EQ(vq_pn_encode_len(1000 + 2147483649u, 1000), 0);
  CHECK_EQ(vq_pn_encode_len(VQ_PN_MAX, VQ_PN_MAX - 1), 1);
  /* Invalid: already acknowledged, or beyond 2^62-1. */
  CHECK_EQ(vq_pn_encode_len(1000, 1000), 0);
  CHECK_EQ(vq_pn_encode_len(999, 1000), 0);
  CHECK_EQ(vq_pn_encode_len(VQ_PN_MAX + 1, VQ_PN_MAX), 0);
  CHECK_EQ(vq_pn_encode_len(UINT64_MAX, VQ_PN_NONE), 0);
}

VQ_TEST(pn_write_read)
{
  uint8_t b[5] = {0xee, 0xee, 0xee, 0xee, 0xee};
  CHECK_EQ(vq_pn_write(b, 4, 0x123456789aull, 4), VQ_OK);
  CHECK_MEM(b, 4, "\x34\x56\x78\x9a", 4);
  CHECK_EQ(b[4], 0xee);
  CHECK_EQ(vq_pn_write(b, 4, 0x123456789aull, 3), VQ_OK);
  CHECK_MEM(b, 3, "\x56\x78\x9a", 3);
  CHECK_EQ(vq_pn_write(b, 4, 0x1ff, 1), VQ_OK);
  CHECK_EQ(b[0], 0xff);
  memset(b, 0xee, sizeof b);
  CHECK_EQ(vq_pn_write(b, 1, 5, 2), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(vq_pn_write(b, 4, 5, 0), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pn_write(b, 5, 5, 5), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pn_write(b, 4, VQ_PN_MAX + 1, 4), VQ_ERR_INVALID_ARGUMENT);
  for (size_t i = 0; i < sizeof b; i++) CHECK_EQ(b[i], 0xee);
  uint64_t v = 77;
  const uint8_t in[4] = {0xa8, 0x2f, 0x9b, 0x32};
  for (size_t n = 1; n <= 4; n++) {
    for (size_t len = 0; len < n; len++) CHECK_EQ(vq_pn_read(in, len, n, &v), VQ_ERR_PACKET_TRUNCATED);
    CHECK_EQ(v, 77);
  }
  CHECK_EQ(vq_pn_read(in, 4, 0, &v), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pn_read(in, 4, 5, &v), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pn_read(in, 4, 4, &v), VQ_OK);
  CHECK_EQ(v, 0xa82f9b32);
  CHECK_EQ(vq_pn_read(in, 4, 2, &v), VQ_OK);
  CHECK_EQ(v, 0xa82f);
}

/* spec: rfc9000#A.3 — the guards keep the result inside 0 .. 2^62-1. */
VQ_TEST(pn_decode_edges)
{
  uint64_t v = 77;
  /* Nothing received yet: expected_pn = 0, small values decode to themselves. */
  CHECK_EQ(vq_pn_decode(VQ_PN_NONE, 0, 1, &v), VQ_OK);
  CHECK_EQ(v, 0);
  CHECK_EQ(vq_pn_decode(VQ_PN_NONE, 0xff, 1, &v), VQ_OK);
  CHECK_EQ(v, 0xff); /* would be -1 without the candidate_pn >= pn_win guard */
  CHECK_EQ(vq_pn_decode(VQ_PN_NONE, 0xffffffffu, 4, &v), VQ_OK);
  CHECK_EQ(v, 0xffffffffu);
  /* Top of the space: candidate + pn_win would pass 2^62-1. */
  CHECK_EQ(vq_pn_decode(VQ_PN_MAX - 1, 0x00, 1, &v), VQ_OK);
  CHECK_EQ(v, VQ_PN_MAX - 255); /* not VQ_PN_MAX + 1 */
  CHECK_EQ(vq_pn_decode(VQ_PN_MAX - 1, 0xff, 1, &v), VQ_OK);
  CHECK_EQ(v, VQ_PN_MAX);
  /* largest_pn = 2^62-1: expected_pn = 2^62 is not a packet number. */
  v = 77;
  CHECK_EQ(vq_pn_decode(VQ_PN_MAX, 0x00, 1, &v), VQ_ERR_PACKET_NUMBER);
  CHECK_EQ(v, 77);
  CHECK_EQ(vq_pn_decode(VQ_PN_MAX, 0xfe, 1, &v), VQ_OK);
  CHECK_EQ(v, VQ_PN_MAX - 1);
  /* Invalid arguments: *full_pn untouched. */
  v = 77;
  CHECK_EQ(vq_pn_decode(10, 256, 1, &v), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pn_decode(10, 1, 0, &v), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pn_decode(10, 1, 5, &v), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pn_decode(VQ_PN_MAX + 1, 1, 1, &v), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(v, 77);
}

/* Property: for a random largest_acked and a full_pn a random distance above it, the chosen length
 * lets a receiver whose largest received is anywhere in [largest_acked, full_pn - 1] recover full_pn. */
VQ_TEST(pn_encode_decode_property)
{
  uint64_t seed = 0x5eed0002;
  for (int i = 0; i < 200000; i++) {
    uint64_t acked = vq_rand(&seed) % (VQ_PN_MAX - 4294967296ull);
    int cls = (int)(vq_rand(&seed) % 4);
    uint64_t range = cls == 0 ? 128 : cls == 1 ? 32768 : cls == 2 ? 8388608 : 2147483648u;
    uint64_t d = 1 + vq_rand(&seed) % range;
    uint64_t full = acked + d;
    int none = (i % 16) == 0;
    if (none) full = d - 1;
    size_t n = vq_pn_encode_len(full, none ? VQ_PN_NONE : acked);
    uint64_t lo = none ? 0 : acked;
    uint64_t largest = none && (vq_rand(&seed) % 2) ? VQ_PN_NONE
                                                     : lo + (full > lo ? vq_rand(&seed) % (full - lo) : 0);
    if (none && full == 0) largest = VQ_PN_NONE;
    uint8_t b[4];
    uint64_t tr = 0, back = 0;
    int ok = n >= 1 && n <= 4 && vq_pn_write(b, sizeof b, full, n) == VQ_OK &&
             vq_pn_read(b, n, n, &tr) == VQ_OK && vq_pn_decode(largest, tr, n, &back) == VQ_OK &&
             back == full;
    if (!ok) {
      vq_fail(t, __FILE__, __LINE__, "full=%llu acked=%llu largest=%llu n=%zu back=%llu",
              (unsigned long long)full, (unsigned long long)acked, (unsigned long long)largest, n,
              (unsigned long long)back);
      break;
    }
    t->checks++;
  }
}

/* Property: for seeded largest_pn, every truncated value of every length decodes to a number
 * congruent to it, within (expected - hwin, expected + hwin] unless clipped at 0 or 2^62-1. */
VQ_TEST(pn_decode_whole_window)
{
  uint64_t seed = 0x5eed0003;
  for (int i = 0; i < 40; i++) {
    uint64_t largest;
    switch (i % 4) {
    case 0: largest = vq_rand(&seed) % VQ_PN_MAX; break;
    case 1: largest = vq_rand(&seed) % 70000; break;            /* near 0 */
    case 2: largest = VQ_PN_MAX - 1 - vq_rand(&seed) % 70000; break; /* near the top */
    default: largest = (i == 3) ? VQ_PN_NONE : vq_rand(&seed) % 5000000000ull;
    }
    uint64_t expected = largest == VQ_PN_NONE ? 0 : largest + 1;
    for (size_t n = 1; n <= 2; n++) {
      uint64_t win = n == 1 ? 256 : 65536, hwin = win / 2;
      for (uint64_t tr = 0; tr < win; tr++) {
        uint64_t v = 0;
        if (vq_pn_decode(largest, tr, n, &v) != VQ_OK || v % win != tr || v > VQ_PN_MAX) {
          CHECK(0);
          return;
        }
        int in_window = v + hwin > expected && v <= expected + hwin;
        int clipped_low = v > expected + hwin && v < win;
        int clipped_high = v + hwin <= expected && v + win > VQ_PN_MAX;
        if (!(in_window || clipped_low || clipped_high)) {
          vq_fail(t, __FILE__, __LINE__, "largest=%llu n=%zu tr=%llu -> %llu",
                  (unsigned long long)largest, n, (unsigned long long)tr, (unsigned long long)v);
          return;
        }
      }
      t->checks++;
    }
  }
}
