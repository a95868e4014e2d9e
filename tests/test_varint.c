/* Tests of src/core/varint.c: RFC 9000 Appendix A.1 samples (from spec/vectors), every length class
 * boundary, truncation at every byte, non-minimal forms, and a seeded round-trip property. */
#include "vqtest.h"
#include "vquic/varint.h"

#include <stdlib.h>

/* spec: rfc9000#16, rfc9000#A.1 — the sample encodings of Appendix A.1, read from spec/vectors. */
VQ_TEST(varint_rfc9000_samples)
{
  char *text = vq_read_file("spec/vectors/rfc9000-varint.txt", NULL);
  CHECK(text != NULL);
  if (!text) return;
  int n = 0;
  for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    if (l[0] == '#') continue;
    char hex[64];
    unsigned long long want;
    if (sscanf(l, "%63s %llu", hex, &want) != 2) continue;
    uint8_t b[16];
    long bl = vq_hex(hex, b, sizeof b);
    CHECK(bl > 0);
    uint64_t v = 0;
    size_t used = 0;
    CHECK_EQ(vq_varint_decode(b, (size_t)bl, &v, &used), VQ_OK);
    CHECK_EQ(v, want);
    CHECK_EQ(used, (size_t)bl);
    /* The samples are minimal except 0x4025 (37 in two bytes); re-encode in the sample's length. */
    uint8_t e[8];
    CHECK_EQ(vq_varint_encode_n(e, sizeof e, v, (size_t)bl), VQ_OK);
    CHECK_MEM(e, (size_t)bl, b, (size_t)bl);
    n++;
  }
  CHECK(n >= 5);
  free(text);
}

VQ_TEST(varint_boundaries)
{
  static const struct { uint64_t v; size_t len; } cases[] = {
    {0, 1}, {63, 1}, {64, 2}, {16383, 2}, {16384, 4}, {1073741823, 4}, {1073741824, 8},
    {VQ_VARINT_MAX, 8},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t b[8];
    size_t used = 0;
    CHECK_EQ(vq_varint_len(cases[i].v), cases[i].len);
    CHECK_EQ(vq_varint_encode(b, sizeof b, cases[i].v, &used), VQ_OK);
    CHECK_EQ(used, cases[i].len);
    CHECK_EQ(vq_varint_len_of_first(b[0]), cases[i].len);
    uint64_t v = 1;
    size_t u2 = 0;
    CHECK_EQ(vq_varint_decode(b, used, &v, &u2), VQ_OK);
    CHECK_EQ(v, cases[i].v);
    /* Truncated at every byte: rejected, outputs untouched. */
    for (size_t k = 0; k < used; k++) {
      uint64_t w = 77;
      size_t u3 = 99;
      CHECK_EQ(vq_varint_decode(b, k, &w, &u3), VQ_ERR_TRUNCATED);
      CHECK_EQ(w, 77);
      CHECK_EQ(u3, 99);
    }
    /* Output space one byte short: nothing written. */
    uint8_t s[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
    CHECK_EQ(vq_varint_encode(s, used - 1, cases[i].v, &u2), VQ_ERR_BUFFER_TOO_SMALL);
    for (size_t k = 0; k < 8; k++) CHECK_EQ(s[k], 0xaa);
  }
  uint8_t b[8];
  size_t used;
  CHECK_EQ(vq_varint_len(VQ_VARINT_MAX + 1), 0);
  CHECK_EQ(vq_varint_encode(b, sizeof b, VQ_VARINT_MAX + 1, &used), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_varint_encode(b, sizeof b, UINT64_MAX, &used), VQ_ERR_INVALID_ARGUMENT);
}

VQ_TEST(varint_non_minimal)
{
  uint8_t b[8];
  /* spec: rfc9000#16 — values need not be encoded in the minimum number of bytes. */
  CHECK_EQ(vq_varint_encode_n(b, sizeof b, 5, 8), VQ_OK);
  uint64_t v;
  size_t used;
  CHECK_EQ(vq_varint_decode(b, 8, &v, &used), VQ_OK);
  CHECK_EQ(v, 5);
  CHECK_EQ(used, 8);
  CHECK_EQ(vq_varint_encode_n(b, sizeof b, 64, 1), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_varint_encode_n(b, sizeof b, 1, 3), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_varint_encode_n(b, 3, 1, 4), VQ_ERR_BUFFER_TOO_SMALL);
}

/* Property: decode(encode(v)) = v and encode(decode(b)) = b for canonical b, over seeded values of
 * every length class. */
VQ_TEST(varint_roundtrip_property)
{
  uint64_t seed = 0x5eed0001;
  for (int i = 0; i < 100000; i++) {
    uint64_t r = vq_rand(&seed);
    int cls = (int)(r % 4);
    uint64_t v = vq_rand(&seed) % (cls == 0 ? 64u : cls == 1 ? 16384u : cls == 2 ? 1073741824u
                                                                             : VQ_VARINT_MAX + 1);
    uint8_t b[8];
    size_t used = 0, u2 = 0;
    uint64_t w = 0;
    if (vq_varint_encode(b, sizeof b, v, &used) != VQ_OK || vq_varint_decode(b, used, &w, &u2) != VQ_OK ||
        w != v || u2 != used) {
      CHECK(0);
      break;
    }
    uint8_t c[8];
    size_t u3 = 0;
    if (vq_varint_len(w) == used && (vq_varint_encode(c, sizeof c, w, &u3) != VQ_OK || memcmp(b, c, used))) {
      CHECK(0);
      break;
    }
  }
  CHECK(1);
}
