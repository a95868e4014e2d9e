/* Connection IDs that never repeat under one stateless-reset key (RFC 9000 §10.3.2, vquic/cidperm.h):
 * the FF1 permutation (known answers, bijection, inverse, key dependence), the counter minter (its
 * range, exhaustion) and the endpoint issuing every CID of its connections from it — checked by
 * decrypting the CIDs a real endpoint issued back to their counter values. The endpoint and its
 * clients exchange datagrams directly (no lab), as in test_conn_token.c. */
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

/* ---- the endpoint ---------------------------------------------------------------------------- */

static const uint8_t alpn[] = {2, 'h', '3'};
static const uint8_t reset_key[32] = {0xc1, 0xd0, 0x10, 0x32};

#define NCLI 3

typedef struct cworld {
  vq_mem root;
  vq_rng rng;
  vq_cx cx;
  vq_tls_ctx *sctx, *cctx;
  vq_endpoint *ep;
  vq_conn *cli[NCLI];
  uint8_t addr[NCLI][2];
  vq_cid_minter check;   /* the endpoint's permutation, to decrypt its CIDs */
  uint64_t resets;       /* Stateless Resets the endpoint answered with */
} cworld;

static int cw_init(cworld *w, uint64_t base, uint64_t end)
{
  memset(w, 0, sizeof(*w));
  vq_mem_init(&w->root, vq_allocator_system(), NULL, (size_t)1 << 30);
  vq_rng_seed(&w->rng, 23);
  w->cx.rng = &w->rng;
  w->cx.now = VQ_MS(1000);
  for (int i = 0; i < NCLI; i++) {
    w->addr[i][0] = (uint8_t)(10 + i);
    w->addr[i][1] = 1;
  }
  vq_tls_ctx_config s = {0}, c = {0};
  s.alpn = c.alpn = alpn;
  s.alpn_len = c.alpn_len = sizeof(alpn);
  if (!vqt_tls_pair(&w->sctx, &s, &w->cctx, &c))
    return 0;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = w->sctx;
  ec.reset_key = reset_key;
  ec.cid_counter_base = base;
  ec.cid_counter_end = end;
  ec.new_token_off = 1;
  return vq_endpoint_new(&w->ep, &w->root, &ec) == VQ_OK &&
         vq_cid_minter_init(&w->check, reset_key, 8, 0, 0) == VQ_OK;
}

static vq_endpoint_conn *cw_server(cworld *w, int i)
{
  for (vq_endpoint_conn *ec = vq_endpoint_next(w->ep, NULL); ec; ec = vq_endpoint_next(w->ep, ec))
    if (ec->addr_len == 2 && memcmp(ec->addr, w->addr[i], 2) == 0)
      return ec;
  return NULL;
}

static void cw_round(cworld *w, int i)
{
  uint8_t buf[1500], resp[1500];
  size_t n, rl;
  for (int k = 0; k < 100 && vq_conn_send(w->cli[i], &w->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++) {
    vq_endpoint_conn *ec = NULL;
    int created = 0;
    rl = 0;
    (void)vq_endpoint_recv(w->ep, &w->cx, w->addr[i], 2, buf, n, &ec, &created, resp, sizeof(resp), &rl);
    if (rl) {
      w->resets++;
      (void)vq_conn_recv(w->cli[i], &w->cx, resp, rl, 0);
    }
  }
  w->cx.now += VQ_MS(1);
  vq_endpoint_conn *ec = cw_server(w, i);
  for (int k = 0; ec && k < 100 && vq_conn_send(ec->conn, &w->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
    (void)vq_conn_recv(w->cli[i], &w->cx, buf, n, 0);
  w->cx.now += VQ_MS(1);
}

/* Client i connects; the handshake and the NEW_CONNECTION_ID frames after it. */
static int cw_connect(cworld *w, int i)
{
  vq_conn_config cc = {0};
  cc.tls = w->cctx;
  cc.server_name = "localhost";
  if (vq_conn_new_client(&w->cli[i], &w->root, &cc, &w->cx) != VQ_OK)
    return 0;
  for (int r = 0; r < 20 && vq_conn_get_state(w->cli[i]) == VQ_CONN_HANDSHAKE; r++)
    cw_round(w, i);
  for (int r = 0; r < 3; r++)
    cw_round(w, i);
  return vq_conn_get_state(w->cli[i]) == VQ_CONN_ESTABLISHED;
}

/* The counter values of the CIDs the server connection of client i has issued, by sequence number
 * (counters[seq]); returns how many. */
static int cw_counters(cworld *w, int i, uint64_t *counters, vq_cid *cids)
{
  vq_endpoint_conn *ec = cw_server(w, i);
  int n = 0;
  for (uint32_t s = 0; ec && s < VQ_CONN_MAX_LOCAL_CIDS; s++) {
    vq_cid c;
    uint64_t seq = 0, ctr = 0;
    if (!vq_conn_local_cid(ec->conn, s, &c, &seq) || seq >= VQ_CONN_MAX_LOCAL_CIDS)
      continue;
    if (vq_cid_minter_counter(&w->check, &c, &ctr) != VQ_OK)
      return -1;
    counters[seq] = ctr;
    if (cids)
      cids[seq] = c;
    n++;
  }
  return n;
}

static void cw_free(cworld *w)
{
  vq_endpoint_free(w->ep);
  for (int i = 0; i < NCLI; i++)
    vq_conn_free(w->cli[i], NULL);
  vq_cid_minter_free(&w->check);
  vq_tls_ctx_free(w->sctx);
  vq_tls_ctx_free(w->cctx);
}

/* spec: rfc9000#10.3.2/3 — every CID the endpoint's connections issue (handshake CID and
 * NEW_CONNECTION_ID ones) is the permutation of the next counter value: two connections never share
 * one, and decrypted they are exactly the consecutive counters from the configured base */
VQ_TEST(endpoint_cids_are_consecutive_counters)
{
  cworld w;
  const uint64_t base = 5000;
  CHECK(cw_init(&w, base, 0));
  CHECK(cw_connect(&w, 0));
  CHECK(cw_connect(&w, 1));
  uint64_t c0[VQ_CONN_MAX_LOCAL_CIDS], c1[VQ_CONN_MAX_LOCAL_CIDS];
  vq_cid k0[VQ_CONN_MAX_LOCAL_CIDS], k1[VQ_CONN_MAX_LOCAL_CIDS];
  int n0 = cw_counters(&w, 0, c0, k0), n1 = cw_counters(&w, 1, c1, k1);
  /* the client's active_connection_id_limit: 4 CIDs each (sequence 0 .. 3) */
  CHECK_EQ(n0, (int)VQ_CONN_PEER_CID_LIMIT);
  CHECK_EQ(n1, (int)VQ_CONN_PEER_CID_LIMIT);
  for (int s = 0; s < n0 && s < n1; s++) {
    CHECK_EQ(c0[s], base + (uint64_t)s);
    CHECK_EQ(c1[s], base + (uint64_t)n0 + (uint64_t)s);
    for (int q = 0; q < n1; q++)
      CHECK(!vq_cid_equal(&k0[s], &k1[q]));
  }
  /* the clients talk to those CIDs: the handshake CID is the one each client saw first */
  if (n0 > 0 && w.cli[0]) {
    uint64_t ctr = 0;
    CHECK_EQ(vq_cid_minter_counter(&w.check, vq_conn_dcid(w.cli[0]), &ctr), VQ_OK);
    CHECK(ctr >= base && ctr < base + (uint64_t)n0);
  }
  cw_free(&w);
}

/* spec: rfc9000#10.3.2/4 — a connection the endpoint lost is reset by revealing the token of its
 * CID (the client then drains); a new connection of the same endpoint gets none of its CIDs: the
 * counter goes on. A second endpoint sharing the reset key with a disjoint counter range issues
 * none of them either; with the same range it would (why endpoint.h asks for disjoint ranges). */
VQ_TEST(endpoint_cids_not_reused_after_reset)
{
  cworld w;
  CHECK(cw_init(&w, 0, 0));
  CHECK(cw_connect(&w, 0));
  uint64_t c0[VQ_CONN_MAX_LOCAL_CIDS], c1[VQ_CONN_MAX_LOCAL_CIDS];
  vq_cid k0[VQ_CONN_MAX_LOCAL_CIDS], k1[VQ_CONN_MAX_LOCAL_CIDS];
  int n0 = cw_counters(&w, 0, c0, k0);
  CHECK_EQ(n0, (int)VQ_CONN_PEER_CID_LIMIT);
  /* the server loses the connection; the client's next packet gets a Stateless Reset */
  vq_endpoint_conn *ec = cw_server(&w, 0);
  if (ec)
    vq_endpoint_remove(w.ep, ec, NULL);
  uint64_t sid = 0;
  size_t acc = 0;
  if (w.cli[0]) {
    CHECK_EQ(vq_conn_stream_open(w.cli[0], &w.cx, 1, &sid), VQ_OK);
    CHECK_EQ(vq_conn_stream_write(w.cli[0], &w.cx, sid, (const uint8_t *)"hello", 5, 1, &acc), VQ_OK);
    cw_round(&w, 0);
    CHECK_EQ(w.resets, 1);
    CHECK_EQ(vq_conn_get_state(w.cli[0]), VQ_CONN_DRAINING);
  }
  /* a new connection: none of the reset connection's CIDs, counters after its */
  CHECK(cw_connect(&w, 1));
  int n1 = cw_counters(&w, 1, c1, k1);
  CHECK_EQ(n1, (int)VQ_CONN_PEER_CID_LIMIT);
  for (int s = 0; s < n1; s++) {
    CHECK_EQ(c1[s], (uint64_t)n0 + (uint64_t)s);
    for (int q = 0; q < n0; q++)
      CHECK(!vq_cid_equal(&k1[s], &k0[q]));
  }
  cw_free(&w);
  /* another endpoint (a restart, another node) with the same reset key and a disjoint range */
  CHECK(cw_init(&w, (uint64_t)1 << 40, 0));
  CHECK(cw_connect(&w, 0));
  uint64_t c2[VQ_CONN_MAX_LOCAL_CIDS];
  vq_cid k2[VQ_CONN_MAX_LOCAL_CIDS];
  int n2 = cw_counters(&w, 0, c2, k2);
  CHECK_EQ(n2, (int)VQ_CONN_PEER_CID_LIMIT);
  for (int s = 0; s < n2; s++) {
    CHECK_EQ(c2[s], ((uint64_t)1 << 40) + (uint64_t)s);
    for (int q = 0; q < n0; q++)
      CHECK(!vq_cid_equal(&k2[s], &k0[q]));
  }
  cw_free(&w);
  /* the same range again: the same CIDs (the guarantee across endpoints needs disjoint ranges) */
  CHECK(cw_init(&w, 0, 0));
  CHECK(cw_connect(&w, 0));
  int n3 = cw_counters(&w, 0, c2, k2);
  CHECK(n3 > 0 && vq_cid_equal(&k2[0], &k0[0]));
  cw_free(&w);
}

/* spec: rfc9000#10.3.2/3 — a used-up counter range: the connection holding it gets fewer CIDs, the
 * next client's Initial is dropped (no connection, no Retry) rather than given a CID again */
VQ_TEST(endpoint_cid_range_exhausted)
{
  cworld w;
  CHECK(cw_init(&w, 10, 13));
  CHECK(cw_connect(&w, 0));
  uint64_t c0[VQ_CONN_MAX_LOCAL_CIDS];
  CHECK_EQ(cw_counters(&w, 0, c0, NULL), 3);
  CHECK_EQ(vq_endpoint_count(w.ep), 1);
  vq_conn_config cc = {0};
  cc.tls = w.cctx;
  cc.server_name = "localhost";
  CHECK_EQ(vq_conn_new_client(&w.cli[1], &w.root, &cc, &w.cx), VQ_OK);
  uint8_t buf[1500], resp[1500];
  size_t n = 0, rl = 0;
  if (w.cli[1])
    CHECK_EQ(vq_conn_send(w.cli[1], &w.cx, buf, sizeof(buf), &n), VQ_OK);
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  CHECK(n >= 1200);
  CHECK_EQ(vq_endpoint_recv(w.ep, &w.cx, w.addr[1], 2, buf, n, &ec, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK(ec == NULL && !created && rl == 0);
  CHECK_EQ(vq_endpoint_count(w.ep), 1);
  /* the first connection still works */
  uint64_t sid = 0;
  size_t acc = 0;
  if (w.cli[0]) {
    CHECK_EQ(vq_conn_stream_open(w.cli[0], &w.cx, 1, &sid), VQ_OK);
    CHECK_EQ(vq_conn_stream_write(w.cli[0], &w.cx, sid, (const uint8_t *)"x", 1, 1, &acc), VQ_OK);
    cw_round(&w, 0);
    CHECK_EQ(vq_conn_get_state(w.cli[0]), VQ_CONN_ESTABLISHED);
  }
  cw_free(&w);
  /* a range the domain cannot hold is refused */
  vq_endpoint *ep = NULL;
  vq_endpoint_config ec2 = {0};
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)1 << 26);
  ec2.conn.is_server = 1;
  ec2.conn.tls = (const vq_tls_ctx *)&root; /* not used: creation fails first */
  ec2.conn.cid_len = 2;
  ec2.cid_counter_base = 70000;
  CHECK_EQ(vq_endpoint_new(&ep, &root, &ec2), VQ_ERR_INVALID_ARGUMENT);
  ec2.conn.cid_len = 8;
  ec2.cid_counter_base = 5;
  ec2.cid_counter_end = 5;
  CHECK_EQ(vq_endpoint_new(&ep, &root, &ec2), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(root.used, 0);
}
