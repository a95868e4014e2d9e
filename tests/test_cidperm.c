/* Connection IDs that never repeat under one stateless-reset key (RFC 9000 §10.3.2, vquic/cidperm.h):
 * the FF1 permutation (known answers, bijection, inverse, key dependence), the counter minter (its
 * range, exhaustion). */
#include <stdio.h>
#include <string.h>

#include "tls_pair.h"
#include "vqtest.h"
#include "vquic/cidperm.h"
#include "vquic/conn.h"
#include "vquic/endpoint.h"
#include "vquic/tls.h"
#include "vquic/token.h"

static int unhex(const char *s, uint8_t *out, size_t cap)
{
  size_t n = strlen(s) / 2;
  if (n > cap)
    return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    if (sscanf(s + 2 * i, "%2x", &v) != 1)
      return -1;
    out[i] = (uint8_t)v;
  }
  return (int)n;
}

/* The known answers were computed once with tests/ff1_kat.py: FF1 (SP 800-38G Algorithm 7) written
 * from the standard for any radix, which reproduces NIST's FF1-AES128 samples 1-3 (radix 10 and
 * 36, with and without tweak), run with radix 2 on the CID's bits. */
VQ_TEST(cidperm_known_answers)
{
  static const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  static const struct {
    const char *in, *out;
  } kat[] = {
      {"11", "dd"},
      {"1122", "fe31"},
      {"112233", "3589d2"},
      {"1122334455667788", "2e0dca0b350e1e37"},
      {"112233445566778899", "54c6fca5604dc16a8c"},
      {"112233445566778899aabbccddeeff1021324354", "e516baa2dafe90745ed649dab3f0f3a018f5bf8c"},
  };
  vq_cidperm p;
  CHECK_EQ(vq_cidperm_init(&p, key), VQ_OK);
  for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
    uint8_t in[20], want[20], got[20], back[20];
    int n = unhex(kat[i].in, in, sizeof(in));
    CHECK_EQ(unhex(kat[i].out, want, sizeof(want)), n);
    CHECK_EQ(vq_cidperm_encrypt(&p, in, got, (size_t)n), VQ_OK);
    CHECK(memcmp(got, want, (size_t)n) == 0);
    CHECK_EQ(vq_cidperm_decrypt(&p, got, back, (size_t)n), VQ_OK);
    CHECK(memcmp(back, in, (size_t)n) == 0);
  }
  uint8_t z[21] = {0};
  CHECK_EQ(vq_cidperm_encrypt(&p, z, z, 0), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_cidperm_encrypt(&p, z, z, 21), VQ_ERR_INVALID_ARGUMENT);
  vq_cidperm_free(&p);
  /* the minter: the key derived from a reset key (HKDF, tests/ff1_kat.py cid_key), counters as
   * 8-byte big-endian numbers */
  static const uint8_t rk[32] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
                                 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
                                 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5};
  static const struct {
    uint64_t counter;
    const char *cid;
  } mk[] = {{0, "623a95457f1b5a01"}, {1, "1161481389febbe5"}, {((uint64_t)1 << 40) + 7, "6ffe8537c0346ffe"}};
  for (size_t i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
    vq_cid_minter m;
    vq_cid c;
    uint64_t ctr = 99;
    uint8_t want[8];
    CHECK_EQ(unhex(mk[i].cid, want, sizeof(want)), 8);
    CHECK_EQ(vq_cid_minter_init(&m, rk, 8, mk[i].counter, 0), VQ_OK);
    CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_OK);
    CHECK_EQ(ctr, mk[i].counter);
    CHECK_EQ(c.len, 8);
    CHECK(memcmp(c.bytes, want, 8) == 0);
    vq_cid_minter_free(&m);
  }
}

/* spec: rfc9000#10.3.2/3 — the CIDs are a permutation: exhaustively for the 1- and 2-byte domains,
 * every input gives another output and decrypts back to itself */
VQ_TEST(cidperm_bijection_small_domains)
{
  static const uint8_t key[16] = {0x5e, 0xed};
  vq_cidperm p;
  CHECK_EQ(vq_cidperm_init(&p, key), VQ_OK);
  static uint8_t seen[65536];
  for (size_t len = 1; len <= 2; len++) {
    uint32_t dom = len == 1 ? 256u : 65536u, hits = 0, moved = 0;
    memset(seen, 0, sizeof(seen));
    for (uint32_t x = 0; x < dom; x++) {
      uint8_t in[2] = {(uint8_t)(len == 1 ? x : x >> 8), (uint8_t)x}, out[2], back[2];
      if (vq_cidperm_encrypt(&p, in, out, len) != VQ_OK || vq_cidperm_decrypt(&p, out, back, len) != VQ_OK)
        break;
      uint32_t y = len == 1 ? out[0] : (uint32_t)out[0] << 8 | out[1];
      if (!seen[y]++)
        hits++;
      if (y != x)
        moved++;
      if (memcmp(back, in, len) != 0)
        break;
    }
    CHECK_EQ(hits, dom);                  /* dom distinct outputs: a bijection of the domain */
    CHECK(moved > dom - dom / 16);        /* and not the identity (a handful of fixed points) */
  }
  vq_cidperm_free(&p);
}

/* Every length 1..20 (the odd ones split bytes into nibbles): decrypt(encrypt(x)) = x, in place
 * too, and the output depends on every bit of the key and of the input. */
VQ_TEST(cidperm_inverse_and_key_dependence)
{
  static const uint8_t k1[16] = {1, 2, 3}, k2[16] = {1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
  vq_cidperm p1, p2;
  CHECK_EQ(vq_cidperm_init(&p1, k1), VQ_OK);
  CHECK_EQ(vq_cidperm_init(&p2, k2), VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 7);
  for (size_t len = 1; len <= 20; len++) {
    int same_key = 0, same_flip = 0;
    for (int j = 0; j < 64; j++) {
      uint8_t x[20], y[20], y2[20], z[20], f[20];
      vq_rng_fill(&rng, x, len);
      CHECK_EQ(vq_cidperm_encrypt(&p1, x, y, len), VQ_OK);
      CHECK_EQ(vq_cidperm_decrypt(&p1, y, z, len), VQ_OK);
      CHECK(memcmp(z, x, len) == 0);
      memcpy(z, x, len);
      CHECK_EQ(vq_cidperm_encrypt(&p1, z, z, len), VQ_OK);
      CHECK(memcmp(z, y, len) == 0);
      CHECK_EQ(vq_cidperm_encrypt(&p2, x, y2, len), VQ_OK);
      same_key += memcmp(y, y2, len) == 0;
      memcpy(f, x, len);
      f[(size_t)j % len] ^= (uint8_t)(1u << (j % 8));
      CHECK_EQ(vq_cidperm_encrypt(&p1, f, z, len), VQ_OK);
      CHECK(memcmp(z, y, len) != 0); /* a permutation: another input, another output */
      same_flip += z[0] == y[0];
    }
    /* another key: another permutation (for 1 byte, 1/256 agree by chance) */
    CHECK(same_key <= (len == 1 ? 4 : 0));
    CHECK(same_flip <= (len <= 2 ? 12 : 4));
  }
  /* a reset key differing in one bit gives other CIDs */
  uint8_t r1[32] = {9}, r2[32] = {9};
  r2[31] = 1;
  vq_cid_minter m1, m2;
  CHECK_EQ(vq_cid_minter_init(&m1, r1, 8, 0, 0), VQ_OK);
  CHECK_EQ(vq_cid_minter_init(&m2, r2, 8, 0, 0), VQ_OK);
  for (int i = 0; i < 16; i++) {
    vq_cid a, b;
    CHECK_EQ(vq_cid_minter_next(&m1, &a, NULL), VQ_OK);
    CHECK_EQ(vq_cid_minter_next(&m2, &b, NULL), VQ_OK);
    CHECK(!vq_cid_equal(&a, &b));
  }
  vq_cid_minter_free(&m1);
  vq_cid_minter_free(&m2);
  vq_cidperm_free(&p1);
  vq_cidperm_free(&p2);
}

/* spec: rfc9000#10.3.2/3 — the minter's CIDs are E_K of consecutive counter values: distinct, and
 * when its range is used up it fails (VQ_ERR_CID_EXHAUSTED, for good) instead of wrapping around */
VQ_TEST(cid_minter_range_and_exhaustion)
{
  static const uint8_t rk[32] = {0x31, 0x41, 0x59};
  vq_cid_minter m;
  vq_cid c;
  uint64_t ctr = 0, back = 0;
  CHECK_EQ(vq_cid_minter_init(&m, rk, 0, 0, 0), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_cid_minter_init(&m, rk, 21, 0, 0), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_cid_minter_init(&m, rk, 1, 256, 0), VQ_ERR_INVALID_ARGUMENT);  /* base outside 2^8 */
  CHECK_EQ(vq_cid_minter_init(&m, rk, 1, 0, 257), VQ_ERR_INVALID_ARGUMENT);  /* end outside */
  CHECK_EQ(vq_cid_minter_init(&m, rk, 8, 10, 10), VQ_ERR_INVALID_ARGUMENT);  /* empty range */
  /* a 1-byte domain: the whole of it, in counter order, then nothing */
  CHECK_EQ(vq_cid_minter_init(&m, rk, 1, 0, 0), VQ_OK);
  uint8_t seen[256] = {0};
  int distinct = 0;
  for (uint64_t i = 0; i < 256; i++) {
    CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_OK);
    CHECK_EQ(ctr, i);
    distinct += !seen[c.bytes[0]]++;
    CHECK_EQ(vq_cid_minter_counter(&m, &c, &back), VQ_OK);
    CHECK_EQ(back, i);
  }
  CHECK_EQ(distinct, 256);
  CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_ERR_CID_EXHAUSTED);
  CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_ERR_CID_EXHAUSTED);
  vq_cid_minter_free(&m);
  /* a range [base, end) of 8-byte CIDs; the last counter value 2^64 - 1 is issued once */
  CHECK_EQ(vq_cid_minter_init(&m, rk, 8, 1000, 1003), VQ_OK);
  for (uint64_t i = 1000; i < 1003; i++) {
    CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_OK);
    CHECK_EQ(ctr, i);
  }
  CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_ERR_CID_EXHAUSTED);
  vq_cid_minter_free(&m);
  CHECK_EQ(vq_cid_minter_init(&m, rk, 8, UINT64_MAX, 0), VQ_OK);
  CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_OK);
  CHECK_EQ(ctr, UINT64_MAX);
  CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_ERR_CID_EXHAUSTED);
  vq_cid_minter_free(&m);
  /* 20-byte CIDs: the counter sits in the last 8 bytes; a CID not minted from a 64-bit counter is
   * recognised as such */
  CHECK_EQ(vq_cid_minter_init(&m, rk, 20, (uint64_t)1 << 63, 0), VQ_OK);
  CHECK_EQ(vq_cid_minter_next(&m, &c, &ctr), VQ_OK);
  CHECK_EQ(c.len, 20);
  CHECK_EQ(vq_cid_minter_counter(&m, &c, &back), VQ_OK);
  CHECK_EQ(back, (uint64_t)1 << 63);
  memset(c.bytes, 0x42, 20);
  CHECK_EQ(vq_cid_minter_counter(&m, &c, &back), VQ_ERR_INVALID_ARGUMENT);
  c.len = 8;
  CHECK_EQ(vq_cid_minter_counter(&m, &c, &back), VQ_ERR_INVALID_ARGUMENT);
  vq_cid_minter_free(&m);
}

