/* Tests of src/core/cid.c: CID lengths 0/20/21, equality, constant-time token comparison, and the
 * stateless reset checks of RFC 9000 §10.3. */
#include "vqtest.h"
#include "vquic/cid.h"

/* spec: rfc9000#17.2/2, rfc9000#17.2/5 — connection IDs are 0..20 bytes in QUIC version 1. */
VQ_TEST(cid_set_lengths)
{
  uint8_t src[21];
  for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(0xa0 + i);
  vq_cid c;
  memset(&c, 0x5a, sizeof c);
  CHECK_EQ(vq_cid_set(&c, NULL, 0), VQ_OK);
  CHECK_EQ(c.len, 0);
  CHECK_EQ(vq_cid_set(&c, src, 20), VQ_OK);
  CHECK_EQ(c.len, 20);
  CHECK_MEM(c.bytes, 20, src, 20);
  vq_cid before = c;
  CHECK_EQ(vq_cid_set(&c, src, 21), VQ_ERR_INVALID_ARGUMENT);
  CHECK_MEM(&c, sizeof c, &before, sizeof before);
  CHECK_EQ(vq_cid_set(&c, src, 255), VQ_ERR_INVALID_ARGUMENT);
}

VQ_TEST(cid_equal)
{
  uint8_t s1[20], s2[20];
  for (size_t i = 0; i < 20; i++) s1[i] = s2[i] = (uint8_t)(i * 7);
  vq_cid a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0xff, sizeof b);
  CHECK_EQ(vq_cid_set(&a, NULL, 0), VQ_OK);
  CHECK_EQ(vq_cid_set(&b, NULL, 0), VQ_OK);
  CHECK_EQ(vq_cid_equal(&a, &b), 1); /* bytes past len do not matter */
  for (size_t len = 1; len <= 20; len++) {
    CHECK_EQ(vq_cid_set(&a, s1, len), VQ_OK);
    CHECK_EQ(vq_cid_set(&b, s2, len), VQ_OK);
    CHECK_EQ(vq_cid_equal(&a, &b), 1);
    CHECK_EQ(vq_cid_set(&b, s2, len - 1), VQ_OK);
    CHECK_EQ(vq_cid_equal(&a, &b), 0);
    for (size_t k = 0; k < len; k++) {
      s2[k] ^= 1;
      CHECK_EQ(vq_cid_set(&b, s2, len), VQ_OK);
      CHECK_EQ(vq_cid_equal(&a, &b), 0);
      s2[k] ^= 1;
    }
  }
  a.len = 21;
  b = a;
  CHECK_EQ(vq_cid_equal(&a, &b), 0); /* an invalid CID equals nothing */
}

/* spec: rfc9000#10.3.1 — compare tokens without leaking their value. spec: rfc9000#10.3.1/4 — the
 * comparison looks at all 16 bytes whatever they hold (a difference at any one position is found;
 * differences that would cancel in a plain sum too); that it does so without data-dependent
 * branches or memory accesses is the code's shape (a sum of squared differences, src/core/cid.c),
 * which a functional test cannot measure. */
VQ_TEST(cid_reset_token_equal)
{
  uint8_t x[16], y[16];
  uint64_t seed = 0x5eed0010;
  for (int r = 0; r < 2000; r++) {
    for (size_t i = 0; i < 16; i++) x[i] = y[i] = (uint8_t)vq_rand(&seed);
    CHECK_EQ(vq_reset_token_equal(x, y), 1);
    size_t k = (size_t)(vq_rand(&seed) % 16);
    uint8_t delta = (uint8_t)(1 + vq_rand(&seed) % 255);
    y[k] = (uint8_t)(y[k] + delta);
    CHECK_EQ(vq_reset_token_equal(x, y), 0);
  }
  /* Differences that cancel in a plain sum must not compare equal. */
  memset(x, 0, 16);
  memset(y, 0, 16);
  x[0] = 1; y[1] = 1;
  CHECK_EQ(vq_reset_token_equal(x, y), 0);
  memset(x, 0xff, 16);
  memset(y, 0x00, 16);
  CHECK_EQ(vq_reset_token_equal(x, y), 0);
}

/* spec: rfc9000#10.3 — at least 21 bytes, short header form, token in the last 16 bytes;
 * spec: rfc9000#10.3/9 — a long header ending in a valid token is a Stateless Reset too. */
VQ_TEST(cid_stateless_reset)
{
  uint8_t d[64], tok[16];
  for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)(i * 13 + 1);
  d[0] = 0x40 | 0x1f;
  for (size_t len = 0; len <= sizeof d; len++) {
    CHECK_EQ(vq_stateless_reset_candidate(d, len), len >= 21);
    if (len >= 16) memcpy(tok, d + len - 16, 16);
    CHECK_EQ(vq_stateless_reset_match(d, len, tok), len >= 21);
  }
  memcpy(tok, d + sizeof d - 16, 16);
  tok[15] ^= 0x80;
  CHECK_EQ(vq_stateless_reset_match(d, sizeof d, tok), 0);
  tok[15] ^= 0x80;
  /* A long header is no candidate as this version sends resets, but a matching token still counts
   * (rfc9000#10.3: "MUST treat any packet ending in a valid stateless reset token as a Stateless
   * Reset"). */
  d[0] = 0xc0;
  CHECK_EQ(vq_stateless_reset_candidate(d, sizeof d), 0);
  CHECK_EQ(vq_stateless_reset_match(d, sizeof d, tok), 1);
}
