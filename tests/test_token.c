/* Address validation tokens and stateless reset (RFC 9000 §8.1, §10.3). */
#include <string.h>

#include "vqtest.h"
#include "vquic/cid.h"
#include "vquic/protect.h"
#include "vquic/token.h"

static vq_status setup(vq_token_key *k, vq_rng *rng, vq_cx *cx, vq_time now)
{
  uint8_t key[VQ_TOKEN_KEY_LEN];
  for (unsigned i = 0; i < sizeof(key); i++)
    key[i] = (uint8_t)(i * 7 + 1);
  vq_rng_seed(rng, 42);
  memset(cx, 0, sizeof(*cx));
  cx->rng = rng;
  cx->now = now;
  return vq_token_key_init(k, key);
}

VQ_TEST(token_retry_round_trip)
{
  /* spec: rfc9000#8.1.4 — a Retry token carries what the server needs to validate the address and
   * later fill original/retry_source_connection_id */
  vq_token_key k;
  vq_rng rng;
  vq_cx cx;
  CHECK_EQ(setup(&k, &rng, &cx, VQ_MS(5000)), VQ_OK);
  const uint8_t addr[] = {127, 0, 0, 1, 0x11, 0x5c};
  vq_cid odcid, rscid;
  CHECK_EQ(vq_cid_set(&odcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8), VQ_OK);
  CHECK_EQ(vq_cid_set(&rscid, (const uint8_t *)"\xf0\x67\xa5\x50\x2a\x42\x62\xb5", 8), VQ_OK);
  uint8_t tok[VQ_TOKEN_MAX];
  size_t len = 0;
  CHECK_EQ(vq_token_make_retry(&k, &cx, VQ_QUIC_V1, addr, sizeof(addr), &odcid, &rscid, tok, sizeof(tok), &len), VQ_OK);
  CHECK(len <= VQ_TOKEN_MAX);
  /* spec: rfc9000#8.1.4/1 — two tokens for the same address, CIDs and time differ (random nonce);
   * spec: rfc9000#8.1.1/1 — the server tells how each was provided (Retry or NEW_TOKEN) */
  uint8_t tok2[VQ_TOKEN_MAX], tok3[VQ_TOKEN_MAX];
  size_t len2 = 0, len3 = 0;
  CHECK_EQ(vq_token_make_retry(&k, &cx, VQ_QUIC_V1, addr, sizeof(addr), &odcid, &rscid, tok2, sizeof(tok2), &len2), VQ_OK);
  CHECK_EQ(len2, len);
  CHECK(memcmp(tok, tok2, len) != 0);
  CHECK_EQ(vq_token_make_new(&k, &cx, VQ_QUIC_V1, addr, sizeof(addr), tok3, sizeof(tok3), &len3), VQ_OK);
  vq_token_info info;
  CHECK_EQ(vq_token_check(&k, VQ_MS(6000), VQ_QUIC_V1, addr, sizeof(addr), tok3, len3, VQ_MS(10000), VQ_MS(86400000),
                          &info), VQ_OK);
  CHECK_EQ(info.kind, VQ_TOKEN_KIND_NEW);
  CHECK_EQ(vq_token_check(&k, VQ_MS(6000), VQ_QUIC_V1, addr, sizeof(addr), tok, len, VQ_MS(10000), VQ_MS(86400000),
                          &info), VQ_OK);
  CHECK_EQ(info.kind, VQ_TOKEN_KIND_RETRY);
  CHECK_EQ(info.issued, VQ_MS(5000));
  CHECK(vq_cid_equal(&info.odcid, &odcid));
  CHECK(vq_cid_equal(&info.rscid, &rscid));
  vq_token_key_free(&k);
}

VQ_TEST(token_bound_to_address_and_key)
{
  /* spec: rfc9000#8.1.3 — a token is only good from the address it was issued to; spec:
   * rfc9000#8.1.4/4 — a NEW_TOKEN token from another address is refused; spec: rfc9000#8.1.4/2 —
   * every single-bit modification is refused (integrity protection) */
  vq_token_key k, other;
  vq_rng rng;
  vq_cx cx;
  CHECK_EQ(setup(&k, &rng, &cx, VQ_MS(1)), VQ_OK);
  uint8_t key2[VQ_TOKEN_KEY_LEN] = {9};
  CHECK_EQ(vq_token_key_init(&other, key2), VQ_OK);
  const uint8_t a1[] = {10, 0, 0, 1, 0, 80}, a2[] = {10, 0, 0, 2, 0, 80};
  uint8_t tok[VQ_TOKEN_MAX];
  size_t len = 0;
  CHECK_EQ(vq_token_make_new(&k, &cx, VQ_QUIC_V1, a1, sizeof(a1), tok, sizeof(tok), &len), VQ_OK);
  vq_token_info info;
  CHECK_EQ(vq_token_check(&k, VQ_MS(2), VQ_QUIC_V1, a1, sizeof(a1), tok, len, VQ_MS(10), VQ_MS(1000), &info), VQ_OK);
  CHECK_EQ(info.kind, VQ_TOKEN_KIND_NEW);
  CHECK_EQ(vq_token_check(&k, VQ_MS(2), VQ_QUIC_V1, a2, sizeof(a2), tok, len, VQ_MS(10), VQ_MS(1000), &info),
           VQ_ERR_TOKEN_INVALID);
  CHECK_EQ(vq_token_check(&other, VQ_MS(2), VQ_QUIC_V1, a1, sizeof(a1), tok, len, VQ_MS(10), VQ_MS(1000), &info),
           VQ_ERR_TOKEN_INVALID);
  /* spec: rfc9369#5/2 — a token issued on a v1 connection does not open in a v2 Initial */
  CHECK_EQ(vq_token_check(&k, VQ_MS(2), VQ_QUIC_V2, a1, sizeof(a1), tok, len, VQ_MS(10), VQ_MS(1000), &info),
           VQ_ERR_TOKEN_INVALID);
  /* every single-bit change is refused */
  int refused = 0;
  for (size_t i = 0; i < len * 8; i++) {
    tok[i / 8] ^= (uint8_t)(1u << (i % 8));
    refused += vq_token_check(&k, VQ_MS(2), VQ_QUIC_V1, a1, sizeof(a1), tok, len, VQ_MS(10), VQ_MS(1000), &info) != VQ_OK;
    tok[i / 8] ^= (uint8_t)(1u << (i % 8));
  }
  CHECK_EQ(refused, (int)(len * 8));
  /* truncated, empty and oversized tokens */
  CHECK_EQ(vq_token_check(&k, VQ_MS(2), VQ_QUIC_V1, a1, sizeof(a1), tok, len - 1, VQ_MS(10), VQ_MS(1000), &info),
           VQ_ERR_TOKEN_INVALID);
  CHECK_EQ(vq_token_check(&k, VQ_MS(2), VQ_QUIC_V1, a1, sizeof(a1), tok, 0, VQ_MS(10), VQ_MS(1000), &info),
           VQ_ERR_TOKEN_INVALID);
  vq_token_key_free(&k);
  vq_token_key_free(&other);
}

VQ_TEST(token_expiry)
{
  vq_token_key k;
  vq_rng rng;
  vq_cx cx;
  CHECK_EQ(setup(&k, &rng, &cx, VQ_MS(100000)), VQ_OK);
  const uint8_t a[] = {1, 2, 3, 4};
  uint8_t tok[VQ_TOKEN_MAX];
  size_t len = 0;
  vq_cid c;
  CHECK_EQ(vq_cid_set(&c, (const uint8_t *)"abcdefgh", 8), VQ_OK);
  CHECK_EQ(vq_token_make_retry(&k, &cx, VQ_QUIC_V1, a, sizeof(a), &c, &c, tok, sizeof(tok), &len), VQ_OK);
  vq_token_info info;
  CHECK_EQ(vq_token_check(&k, VQ_MS(109000), VQ_QUIC_V1, a, sizeof(a), tok, len, VQ_MS(10000), VQ_MS(1), &info), VQ_OK);
  CHECK_EQ(vq_token_check(&k, VQ_MS(111000), VQ_QUIC_V1, a, sizeof(a), tok, len, VQ_MS(10000), VQ_MS(1), &info),
           VQ_ERR_TOKEN_EXPIRED);
  CHECK_EQ(vq_token_check(&k, VQ_MS(90000), VQ_QUIC_V1, a, sizeof(a), tok, len, VQ_MS(10000), VQ_MS(1), &info),
           VQ_ERR_TOKEN_EXPIRED); /* issued in the future */
  /* an expired Retry token is still an INVALID_TOKEN for the wire only if it was forged; an expired
   * one is a local decision (the server answers with a new Retry or closes) */
  CHECK_EQ(vq_status_transport_error(VQ_ERR_TOKEN_INVALID), VQ_TE_INVALID_TOKEN);
  vq_token_key_free(&k);
}

VQ_TEST(stateless_reset_token_and_packet)
{
  /* spec: rfc9000#10.3.2 — derived from a static key: the same CID gives the same token; spec:
   * rfc9000#10.3.2/5 — another CID gives another token */
  uint8_t key[VQ_TOKEN_KEY_LEN] = {1, 2, 3};
  vq_cid a, b;
  CHECK_EQ(vq_cid_set(&a, (const uint8_t *)"12345678", 8), VQ_OK);
  CHECK_EQ(vq_cid_set(&b, (const uint8_t *)"12345679", 8), VQ_OK);
  uint8_t t1[16], t2[16], t3[16];
  CHECK_EQ(vq_stateless_reset_token(key, &a, t1), VQ_OK);
  CHECK_EQ(vq_stateless_reset_token(key, &a, t2), VQ_OK);
  CHECK_EQ(vq_stateless_reset_token(key, &b, t3), VQ_OK);
  CHECK(memcmp(t1, t2, 16) == 0);
  CHECK(memcmp(t1, t3, 16) != 0);
  /* spec: rfc9000#10.3.2/1 — hard to guess: it depends on the secret key (the same CID under a key
   * differing in one bit gives another token) and is not the CID or the key itself */
  uint8_t key2[VQ_TOKEN_KEY_LEN] = {1, 2, 3};
  key2[VQ_TOKEN_KEY_LEN - 1] ^= 1;
  uint8_t t4[16];
  CHECK_EQ(vq_stateless_reset_token(key2, &a, t4), VQ_OK);
  CHECK(memcmp(t1, t4, 16) != 0);
  CHECK(memcmp(t1, a.bytes, 8) != 0);
  CHECK(memcmp(t1, key, 16) != 0);
  vq_rng rng;
  vq_rng_seed(&rng, 7);
  vq_cx cx;
  memset(&cx, 0, sizeof(cx));
  cx.rng = &rng;
  uint8_t out[1500];
  size_t len = 0;
  /* spec: rfc9000#10.3.3/1, rfc9000#10.3/6 — always smaller than the trigger; none for a trigger
   * too small; spec: rfc9000#10.3/8 — with a short header's first bits (0b01) */
  for (size_t trig = 1; trig < 1400; trig += 7) {
    CHECK_EQ(vq_stateless_reset_build(&cx, t1, trig, out, sizeof(out), &len), VQ_OK);
    if (trig <= VQ_STATELESS_RESET_MIN) {
      CHECK_EQ(len, (size_t)0);
      continue;
    }
    CHECK(len < trig);
    CHECK(len >= VQ_STATELESS_RESET_MIN);
    CHECK_EQ(out[0] & 0xc0u, 0x40u);
    CHECK(memcmp(out + len - 16, t1, 16) == 0);
    /* and the receiving side recognises it (vquic/cid.h) */
    CHECK(vq_stateless_reset_match(out, len, t1));
  }
}
