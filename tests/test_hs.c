/* Tests of the TLS 1.3 handshake for QUIC (src/tls/hs*.c): a client and a server vq_tls in memory,
 * CRYPTO bytes pumped level by level until both complete; every suite, every server key type, the
 * HelloRetryRequest path, byte-by-byte delivery, certificate and name verification, and the failures
 * (ALPN, transport parameters, tampered Finished and signature, garbage, message order, key change). */
#include "vqtest.h"

#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "tls/hs_internal.h"
#include "vquic/tls.h"

static const uint8_t ALPN_H3[] = {2, 'h', '3'};
static const uint8_t ALPN_BOTH[] = {5, 'h', '3', '-', '2', '9', 2, 'h', '3'};
static const uint8_t ALPN_OTHER[] = {4, 'h', 'q', '-', 'i'};
static const uint8_t CLIENT_TP[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x0f, 0x02, 0xaa, 0xbb};
static const uint8_t SERVER_TP[] = {0x0f, 0x03, 0x01, 0x02, 0x03, 0x00, 0x08, 0x11, 0x22, 0x33,
                                    0x44, 0x55, 0x66, 0x77, 0x88, 0x0e, 0x01, 0x04};

typedef void (*tamper_fn)(int from_server, vq_level l, uint8_t *b, size_t n);
/* Replaces the bytes in[0..n) moving at level l by out[0..return) (at most cap); 0: unchanged. */
typedef size_t (*rewrite_fn)(int from_server, vq_level l, const uint8_t *in, size_t n, uint8_t *out,
                             size_t cap);

typedef struct opts {
  const char *cert_pem, *key_pem; /* server; NULL: generated */
  const char *name;               /* client's server_name; NULL: "localhost" */
  int insecure;                   /* client */
  int ca_is_leaf;                 /* client trusts the server's leaf */
  const char *ca_pem;             /* client trust anchors otherwise */
  const uint8_t *calpn, *salpn;
  size_t calpn_len, salpn_len;
  vq_tls_test_hooks ch, sh;
  size_t chunk;                   /* delivery piece size, 0: whole */
  const vq_allocator *alloc;      /* the vq_mem's allocator; NULL: the system's */
  tamper_fn tamper;
  rewrite_fn rewrite;
} opts;

typedef struct pair {
  vq_mem mem;
  vq_cx cx;
  vq_tls_ctx *sctx, *cctx;
  vq_tls *s, *c;
  vq_tls_secret ssec[8], csec[8];
  size_t ns, nc;
  vq_status st;     /* first failure of the pump */
} pair;

static void defaults(opts *o)
{
  memset(o, 0, sizeof *o);
  o->insecure = 1;
  o->calpn = o->salpn = ALPN_H3;
  o->calpn_len = o->salpn_len = sizeof ALPN_H3;
}

static int setup(vq_t *t, pair *p, const opts *o)
{
  char err[200];
  memset(p, 0, sizeof *p);
  vq_mem_init(&p->mem, o->alloc ? o->alloc : vq_allocator_system(), NULL, 4u << 20);
  vq_tls_ctx_config sc = {0}, cc = {0};
  sc.is_server = 1;
  if (o->cert_pem) {
    sc.cert_pem = (const uint8_t *)o->cert_pem;
    sc.cert_pem_len = strlen(o->cert_pem);
    sc.key_pem = (const uint8_t *)o->key_pem;
    sc.key_pem_len = strlen(o->key_pem);
  }
  sc.alpn = o->salpn;
  sc.alpn_len = o->salpn_len;
  vq_status st = vq_tls_ctx_new(&p->sctx, &sc, err, sizeof err);
  CHECK_EQ(st, VQ_OK);
  if (st != VQ_OK) {
    fprintf(stderr, "  server ctx: %s\n", err);
    return 0;
  }
  vq_tls_ctx_set_test_hooks(p->sctx, &o->sh);
  const char *pem = NULL;
  size_t pem_len = 0;
  cc.insecure = o->insecure;
  if (o->ca_is_leaf) {
    CHECK_EQ(vq_tls_ctx_leaf_pem(p->sctx, &pem, &pem_len), VQ_OK);
    cc.ca_pem = (const uint8_t *)pem;
    cc.ca_pem_len = pem_len;
  } else if (o->ca_pem) {
    cc.ca_pem = (const uint8_t *)o->ca_pem;
    cc.ca_pem_len = strlen(o->ca_pem);
  }
  cc.alpn = o->calpn;
  cc.alpn_len = o->calpn_len;
  st = vq_tls_ctx_new(&p->cctx, &cc, err, sizeof err);
  CHECK_EQ(st, VQ_OK);
  if (st != VQ_OK) return 0;
  vq_tls_ctx_set_test_hooks(p->cctx, &o->ch);
  vq_tls_params spar = {NULL, SERVER_TP, sizeof SERVER_TP};
  vq_tls_params cpar = {o->name ? o->name : "localhost", CLIENT_TP, sizeof CLIENT_TP};
  CHECK_EQ(vq_tls_new(&p->s, &p->mem, p->sctx, &spar, &p->cx), VQ_OK);
  CHECK_EQ(vq_tls_new(&p->c, &p->mem, p->cctx, &cpar, &p->cx), VQ_OK);
  return p->s && p->c;
}

static void teardown(vq_t *t, pair *p)
{
  vq_tls_free(p->s);
  vq_tls_free(p->c);
  vq_tls_ctx_free(p->sctx);
  vq_tls_ctx_free(p->cctx);
  CHECK_EQ(p->mem.used, 0); /* every vq_mem byte given back */
}

static void poll_all(pair *p)
{
  vq_tls_secret s;
  while (vq_tls_poll_secret(p->s, &s)) {
    if (p->ns < 8) p->ssec[p->ns++] = s;
  }
  while (vq_tls_poll_secret(p->c, &s)) {
    if (p->nc < 8) p->csec[p->nc++] = s;
  }
}

static vq_status deliver(pair *p, const opts *o, int from_server, vq_level l, int *moved)
{
  vq_tls *from = from_server ? p->s : p->c, *to = from_server ? p->c : p->s;
  const uint8_t *d = NULL;
  size_t n = 0;
  vq_tls_out_peek(from, l, &d, &n);
  if (n == 0) return VQ_OK;
  uint8_t *copy = malloc(n + 1024);
  memcpy(copy, d, n);
  vq_tls_out_consume(from, l, n);
  if (o->tamper) o->tamper(from_server, l, copy, n);
  if (o->rewrite) {
    uint8_t *re = malloc(n + 1024);
    size_t rn = o->rewrite(from_server, l, copy, n, re, n + 1024);
    if (rn) {
      memcpy(copy, re, rn);
      n = rn;
    }
    free(re);
  }
  *moved = 1;
  vq_status st = VQ_OK;
  for (size_t off = 0; off < n && st == VQ_OK;) {
    size_t c = o->chunk && o->chunk < n - off ? o->chunk : n - off;
    st = vq_tls_recv(to, &p->cx, l, copy + off, c);
    off += c;
  }
  free(copy);
  poll_all(p);
  return st;
}

/* Moves every queued byte to the other side, level by level, until nothing moves or one fails. */
static vq_status pump(pair *p, const opts *o)
{
  static const vq_level levels[3] = {VQ_LEVEL_INITIAL, VQ_LEVEL_HANDSHAKE, VQ_LEVEL_APP};
  poll_all(p);
  for (int round = 0; round < 16; round++) {
    int moved = 0;
    for (int side = 0; side < 2; side++)
      for (int i = 0; i < 3; i++) {
        vq_status st = deliver(p, o, side, levels[i], &moved);
        if (st != VQ_OK) return p->st = st;
      }
    if (!moved) break;
  }
  return VQ_OK;
}

static const vq_tls_secret *find_secret(const vq_tls_secret *a, size_t n, vq_level l, vq_tls_dir d)
{
  for (size_t i = 0; i < n; i++)
    if (a[i].level == l && a[i].dir == d) return &a[i];
  return NULL;
}

/* spec: rfc8446#E.5/4 — vq_tls_handshake_complete tells the application (checked on both sides).
 * Both complete; every secret of one side is the other's opposite direction; ALPN and transport
 * parameters as configured. */
static void check_success(vq_t *t, pair *p, vq_cipher_suite suite, const char *alpn)
{
  CHECK(vq_tls_handshake_complete(p->c));
  CHECK(vq_tls_handshake_complete(p->s));
  CHECK_EQ(vq_tls_alert(p->c), -1);
  CHECK_EQ(vq_tls_alert(p->s), -1);
  CHECK_EQ(vq_tls_suite(p->c), suite);
  CHECK_EQ(vq_tls_suite(p->s), suite);
  CHECK_EQ(p->nc, 4);
  CHECK_EQ(p->ns, 4);
  size_t hl = suite == VQ_CS_AES_256_GCM_SHA384 ? 48 : 32;
  static const vq_level lv[2] = {VQ_LEVEL_HANDSHAKE, VQ_LEVEL_APP};
  for (int i = 0; i < 2; i++)
    for (int d = 0; d < 2; d++) {
      const vq_tls_secret *a = find_secret(p->csec, p->nc, lv[i], (vq_tls_dir)d);
      const vq_tls_secret *b = find_secret(p->ssec, p->ns, lv[i], (vq_tls_dir)(1 - d));
      CHECK(a != NULL && b != NULL);
      if (!a || !b) continue;
      CHECK_EQ(a->len, hl);
      CHECK_EQ(a->suite, suite);
      CHECK_MEM(a->secret, a->len, b->secret, b->len);
    }
  const uint8_t *x = NULL;
  size_t xl = 0;
  vq_tls_alpn(p->c, &x, &xl);
  CHECK_MEM(x, xl, alpn, strlen(alpn));
  vq_tls_alpn(p->s, &x, &xl);
  CHECK_MEM(x, xl, alpn, strlen(alpn));
  vq_tls_peer_tp(p->c, &x, &xl);
  CHECK_MEM(x, xl, SERVER_TP, sizeof SERVER_TP);
  vq_tls_peer_tp(p->s, &x, &xl);
  CHECK_MEM(x, xl, CLIENT_TP, sizeof CLIENT_TP);
}

static int run_ok(vq_t *t, const opts *o, vq_cipher_suite suite)
{
  pair p;
  int ok = 0;
  if (setup(t, &p, o)) {
    vq_status st = pump(&p, o);
    CHECK_EQ(st, VQ_OK);
    if (st != VQ_OK)
      fprintf(stderr, "  client: %s / server: %s\n", vq_tls_error_detail(p.c), vq_tls_error_detail(p.s));
    check_success(t, &p, suite, "h3");
    ok = t->failed == 0;
  }
  teardown(t, &p);
  return ok;
}

/* Runs a handshake expected to fail on `who` (1 server, 0 client) with status st and alert.
 * spec: rfc8446#6.2/4 — the alert the failing side reports is the one the requirement names (each
 * caller passes the RFC's alert number). */
static void run_fail(vq_t *t, const opts *o, int who, vq_status st, int alert, const char *detail)
{
  pair p;
  if (setup(t, &p, o)) {
    CHECK_EQ(pump(&p, o), st);
    vq_tls *f = who ? p.s : p.c;
    CHECK_EQ(vq_tls_alert(f), alert);
    CHECK_EQ(vq_status_tls_alert(st) >= 0 ? vq_status_tls_alert(st) : alert, alert);
    CHECK(!vq_tls_handshake_complete(f));
    CHECK(strstr(vq_tls_error_detail(f), detail) != NULL);
    if (!strstr(vq_tls_error_detail(f), detail))
      fprintf(stderr, "  detail: '%s'\n", vq_tls_error_detail(f));
    /* sticky: the same status again, whatever comes */
    uint8_t junk[4] = {1, 0, 0, 0};
    CHECK_EQ(vq_tls_recv(f, &p.cx, VQ_LEVEL_INITIAL, junk, sizeof junk), st);
  }
  teardown(t, &p);
}

/* ---- certificates for the key types --------------------------------------------------------- */

static char *pem_of(int is_key, void *obj)
{
  BIO *b = BIO_new(BIO_s_mem());
  if (is_key) PEM_write_bio_PrivateKey(b, obj, NULL, NULL, 0, NULL, NULL);
  else PEM_write_bio_X509(b, obj);
  char *p = NULL;
  long n = BIO_get_mem_data(b, &p);
  char *s = malloc((size_t)n + 1);
  memcpy(s, p, (size_t)n);
  s[n] = 0;
  BIO_free(b);
  return s;
}

/* A self-signed certificate and key of the type ("RSA", "ED25519", "EC") as PEM strings. */
static int make_cert(vq_t *t, const char *type, const char *name, char **cert, char **key)
{
  EVP_PKEY *k = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                : strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                          : EVP_PKEY_Q_keygen(NULL, NULL, type);
  X509 *x = NULL;
  CHECK(k != NULL);
  if (!k) return 0;
  CHECK_EQ(vq_hs_selfsigned(k, name, &x), VQ_OK);
  *cert = pem_of(0, x);
  *key = pem_of(1, k);
  X509_free(x);
  EVP_PKEY_free(k);
  return 1;
}

/* ---- success paths ---------------------------------------------------------------------------- */

/* spec: rfc9001#4.1.4 — secrets are announced in the order the connection installs them: the
 * client gets Handshake read/write after ServerHello, then 1-RTT read/write after the server's
 * Finished; the server Handshake read/write, 1-RTT write after its Finished, 1-RTT read last. */
VQ_TEST(hs_basic_handshake_and_secret_order)
{
  opts o;
  defaults(&o);
  pair p;
  if (setup(t, &p, &o)) {
    CHECK_EQ(pump(&p, &o), VQ_OK);
    check_success(t, &p, VQ_CS_AES_128_GCM_SHA256, "h3");
    static const vq_level cl[4] = {VQ_LEVEL_HANDSHAKE, VQ_LEVEL_HANDSHAKE, VQ_LEVEL_APP, VQ_LEVEL_APP};
    static const vq_tls_dir cd[4] = {VQ_TLS_READ, VQ_TLS_WRITE, VQ_TLS_READ, VQ_TLS_WRITE};
    static const vq_tls_dir sd[4] = {VQ_TLS_READ, VQ_TLS_WRITE, VQ_TLS_WRITE, VQ_TLS_READ};
    for (size_t i = 0; i < 4 && i < p.nc && i < p.ns; i++) {
      CHECK_EQ(p.csec[i].level, cl[i]);
      CHECK_EQ(p.csec[i].dir, cd[i]);
      CHECK_EQ(p.ssec[i].level, cl[i]);
      CHECK_EQ(p.ssec[i].dir, sd[i]);
    }
    /* Handshake and 1-RTT secrets differ from each other. */
    CHECK(memcmp(p.csec[0].secret, p.csec[2].secret, 32) != 0);
    /* nothing left to send once complete */
    const uint8_t *d;
    size_t n;
    for (int l = 0; l < VQ_LEVEL_COUNT; l++) {
      vq_tls_out_peek(p.c, (vq_level)l, &d, &n);
      CHECK_EQ(n, 0);
    }
  }
  teardown(t, &p);
}

/* spec: rfc9001#5.3 — the three TLS 1.3 suites QUIC uses: each negotiated when the server accepts
 * only it; SHA-384 gives 48-byte secrets. */
VQ_TEST(hs_each_cipher_suite)
{
  static const uint16_t suites[3] = {VQ_CS_AES_128_GCM_SHA256, VQ_CS_AES_256_GCM_SHA384,
                                     VQ_CS_CHACHA20_POLY1305_SHA256};
  for (int i = 0; i < 3; i++) {
    opts o;
    defaults(&o);
    o.sh.n_suites = 1;
    o.sh.suites[0] = suites[i];
    CHECK(run_ok(t, &o, (vq_cipher_suite)suites[i]));
  }
  /* the client's order does not matter: the server's preference wins */
  opts o;
  defaults(&o);
  o.ch.n_suites = 2;
  o.ch.suites[0] = VQ_CS_CHACHA20_POLY1305_SHA256;
  o.ch.suites[1] = VQ_CS_AES_256_GCM_SHA384;
  CHECK(run_ok(t, &o, VQ_CS_AES_256_GCM_SHA384));
}

/* The CertificateVerify algorithm in the server's Handshake flight. */
static uint16_t g_cv_alg;
static void spy_cv(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  if (!from_server || l != VQ_LEVEL_HANDSHAKE) return;
  for (size_t off = 0; off < n && vq_tls_msg_split(b + off, n - off, &m) == VQ_OK; off += m.size)
    if (m.type == VQ_TLS_CERTIFICATE_VERIFY) g_cv_alg = (uint16_t)(m.body.p[0] << 8 | m.body.p[1]);
}

/* spec: rfc8446#4.4.3, rfc8446#4.4.3/4, rfc8446#4.4.3/6, rfc8446#4.4.3/7, rfc8446#4.4.3/8,
 * rfc8446#4.2.3/1, rfc8446#4.4.2.2/2, rfc8446#4.2.3/8 — the server signs with a
 * scheme the client offered and its key supports: ECDSA P-256, RSA-PSS (rsae, never PKCS#1 v1.5)
 * and Ed25519 keys, verified by a client that checks the chain. */
VQ_TEST(hs_server_key_types)
{
  static const char *types[3] = {"EC", "RSA", "ED25519"};
  static const uint16_t want[3] = {VQ_HS_SIG_ECDSA_P256_SHA256, VQ_HS_SIG_RSA_PSS_RSAE_SHA256,
                                   VQ_HS_SIG_ED25519};
  for (int i = 0; i < 3; i++) {
    char *cert = NULL, *key = NULL;
    if (!make_cert(t, types[i], "localhost", &cert, &key)) continue;
    opts o;
    defaults(&o);
    o.cert_pem = cert;
    o.key_pem = key;
    o.insecure = 0;
    o.ca_pem = cert;
    o.tamper = spy_cv;
    g_cv_alg = 0;
    CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
    CHECK_EQ(g_cv_alg, want[i]);
    free(cert);
    free(key);
  }
}

/* A certificate whose key is another one is refused at configuration time. */
VQ_TEST(hs_ctx_key_mismatch_rejected)
{
  char *c1 = NULL, *k1 = NULL, *c2 = NULL, *k2 = NULL, err[200] = "";
  if (!make_cert(t, "EC", "a", &c1, &k1) || !make_cert(t, "EC", "b", &c2, &k2)) return;
  vq_tls_ctx_config cfg = {0};
  vq_tls_ctx *ctx = NULL;
  cfg.is_server = 1;
  cfg.cert_pem = (const uint8_t *)c1;
  cfg.cert_pem_len = strlen(c1);
  cfg.key_pem = (const uint8_t *)k2;
  cfg.key_pem_len = strlen(k2);
  cfg.alpn = ALPN_H3;
  cfg.alpn_len = sizeof ALPN_H3;
  CHECK_EQ(vq_tls_ctx_new(&ctx, &cfg, err, sizeof err), VQ_ERR_INVALID_ARGUMENT);
  CHECK(strstr(err, "does not match") != NULL);
  CHECK(ctx == NULL);
  cfg.key_pem = (const uint8_t *)"garbage";
  cfg.key_pem_len = 7;
  CHECK_EQ(vq_tls_ctx_new(&ctx, &cfg, err, sizeof err), VQ_ERR_INVALID_ARGUMENT);
  cfg.key_pem = (const uint8_t *)k1;
  cfg.key_pem_len = strlen(k1);
  cfg.alpn_len = 0;
  CHECK_EQ(vq_tls_ctx_new(&ctx, &cfg, err, sizeof err), VQ_ERR_INVALID_ARGUMENT);
  cfg.alpn_len = sizeof ALPN_H3;
  CHECK_EQ(vq_tls_ctx_new(&ctx, &cfg, err, sizeof err), VQ_OK);
  vq_tls_ctx_free(ctx);
  free(c1);
  free(k1);
  free(c2);
  free(k2);
}

static int g_saw_hrr;
static void spy_hrr(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  if (from_server && l == VQ_LEVEL_INITIAL && vq_tls_msg_split(b, n, &m) == VQ_OK &&
      m.type == VQ_TLS_SERVER_HELLO && m.body.len >= 34 &&
      memcmp(m.body.p + 2, vq_tls_hrr_random, 32) == 0)
    g_saw_hrr++;
}

/* spec: rfc8446#4.1.1/3, rfc8446#9.1/3 — key exchange with secp256r1;
 * spec: rfc8446#4.1.4/6 — a server that accepts only secp256r1 answers the client's x25519 share with
 * a HelloRetryRequest; the second ClientHello carries a P-256 share (uncompressed point,
 * rfc8446#4.2.8.2) and the transcript restarts with message_hash (rfc8446#4.4.1).
 * spec: rfc8446#4.1.4/9 — the suite after the retry is the one of the HelloRetryRequest (SHA-384
 * case: check_success compares it on both sides). */
VQ_TEST(hs_hello_retry_request_p256)
{
  opts o;
  defaults(&o);
  o.sh.n_groups = 1;
  o.sh.groups[0] = VQ_HS_GROUP_SECP256R1;
  o.tamper = spy_hrr;
  g_saw_hrr = 0;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK_EQ(g_saw_hrr, 1);
  /* with SHA-384 (message_hash is then 48 bytes), byte by byte */
  o.sh.n_suites = 1;
  o.sh.suites[0] = VQ_CS_AES_256_GCM_SHA384;
  o.chunk = 1;
  g_saw_hrr = 0;
  CHECK(run_ok(t, &o, VQ_CS_AES_256_GCM_SHA384));
  CHECK_EQ(g_saw_hrr, 1);
  /* a client whose first share is P-256 needs no retry */
  defaults(&o);
  o.ch.client_share_group = VQ_HS_GROUP_SECP256R1;
  o.tamper = spy_hrr;
  g_saw_hrr = 0;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK_EQ(g_saw_hrr, 0);
}

/* spec: rfc8446#4.1.1, rfc8446#4.1.1/1, rfc8446#4.1.1/4, rfc8446#2.1/1 — no group in common:
 * handshake_failure. */
VQ_TEST(hs_no_common_group)
{
  opts o;
  defaults(&o);
  o.ch.n_groups = 1;
  o.ch.groups[0] = VQ_HS_GROUP_X25519;
  o.sh.n_groups = 1;
  o.sh.groups[0] = VQ_HS_GROUP_SECP256R1;
  run_fail(t, &o, 1, VQ_ERR_TLS_HANDSHAKE_FAILURE, 40, "no key exchange group");
}

/* spec: rfc9001#4.1.3 — messages split across CRYPTO deliveries in any way are reassembled. */
VQ_TEST(hs_byte_by_byte_and_odd_pieces)
{
  static const size_t chunks[3] = {1, 3, 1000};
  for (int i = 0; i < 3; i++) {
    opts o;
    defaults(&o);
    o.chunk = chunks[i];
    CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  }
}

/* spec: rfc8446#4.4.2.4 — the client verifies the chain and the name: the server's generated
 * certificate as trust anchor, for "localhost" and for the IP literals it lists. */
VQ_TEST(hs_verify_generated_cert)
{
  static const char *names[3] = {"localhost", "127.0.0.1", "::1"};
  for (int i = 0; i < 3; i++) {
    opts o;
    defaults(&o);
    o.insecure = 0;
    o.ca_is_leaf = 1;
    o.name = names[i];
    CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  }
}

static int g_sni;
static void spy_sni(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  vq_tls_client_hello ch;
  if (!from_server && l == VQ_LEVEL_INITIAL && vq_tls_msg_split(b, n, &m) == VQ_OK &&
      vq_tls_parse_client_hello(m.body.p, m.body.len, &ch) == VQ_OK)
    g_sni = ch.ext.has[VQ_TLS_EXT_SERVER_NAME] ? (int)ch.ext.server_name.len : 0;
}

static int g_ch_seen, g_ch_versions_ok, g_ch_session_id_len, g_ch_suites_ok;
static void spy_ch(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  vq_tls_client_hello ch;
  if (from_server || l != VQ_LEVEL_INITIAL || vq_tls_msg_split(b, n, &m) != VQ_OK ||
      vq_tls_parse_client_hello(m.body.p, m.body.len, &ch) != VQ_OK)
    return;
  g_ch_seen++;
  /* only TLS 1.3 (0x0304) in supported_versions */
  g_ch_versions_ok = ch.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] && ch.ext.supported_versions.len == 2 &&
                     vq_tls_u16_at(ch.ext.supported_versions, 0) == 0x0304;
  g_ch_session_id_len = (int)ch.session_id.len;
  g_ch_suites_ok = ch.cipher_suites.len >= 2;
  for (size_t i = 0; i < ch.cipher_suites.len / 2; i++) {
    uint16_t cs = vq_tls_u16_at(ch.cipher_suites, i);
    if (cs != VQ_CS_AES_128_GCM_SHA256 && cs != VQ_CS_AES_256_GCM_SHA384 &&
        cs != VQ_CS_CHACHA20_POLY1305_SHA256)
      g_ch_suites_ok = 0;
  }
}

/* spec: rfc9001#4.2/1 — the client offers TLS 1.3 only; spec: rfc9001#8.4/1 — its
 * legacy_session_id is empty (no middlebox compatibility mode); spec: rfc9001#5.3/1 — it offers only
 * the suites with a QUIC header protection scheme (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305;
 * not TLS_AES_128_CCM_8_SHA256 in particular) */
VQ_TEST(hs_client_hello_quic_rules)
{
  opts o;
  defaults(&o);
  o.tamper = spy_ch;
  g_ch_seen = g_ch_versions_ok = g_ch_suites_ok = 0;
  g_ch_session_id_len = -1;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK(g_ch_seen >= 1);
  CHECK(g_ch_versions_ok);
  CHECK_EQ(g_ch_session_id_len, 0);
  CHECK(g_ch_suites_ok);
}

/* spec: rfc9001#4.4/5 — a CertificateRequest after the handshake is a PROTOCOL_VIOLATION for the
 * client (not the unexpected_message alert of an ordinary out-of-order message); the control: a
 * post-handshake Certificate stays unexpected_message */
VQ_TEST(hs_post_handshake_certificate_request)
{
  static const uint8_t cr[] = {13, 0, 0, 3, 0, 0, 0}, cert[] = {11, 0, 0, 4, 0, 0, 0, 0};
  const uint8_t *msgs[2] = {cr, cert};
  const size_t lens[2] = {sizeof cr, sizeof cert};
  const vq_status want[2] = {VQ_ERR_PROTOCOL_VIOLATION, VQ_ERR_TLS_UNEXPECTED_MESSAGE};
  for (int i = 0; i < 2; i++) {
    opts o;
    defaults(&o);
    pair p;
    if (setup(t, &p, &o)) {
      CHECK_EQ(pump(&p, &o), VQ_OK);
      CHECK(vq_tls_handshake_complete(p.c));
      CHECK_EQ(vq_tls_recv(p.c, &p.cx, VQ_LEVEL_APP, msgs[i], lens[i]), want[i]);
    }
    teardown(t, &p);
  }
}

/* spec: rfc8446#9.2/13 — server_name is used whenever the server has a host name.
 * spec: rfc9001#8.1 — SNI carries a host name, never an IP literal (RFC 6066 §3).
 * spec: rfc9114#3.2/2, rfc9114#3.2/3 — a server named by a domain name gets SNI. */
VQ_TEST(hs_sni_only_for_names)
{
  opts o;
  defaults(&o);
  o.tamper = spy_sni;
  g_sni = -1;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK_EQ(g_sni, 9); /* "localhost" */
  o.name = "127.0.0.1";
  g_sni = -1;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK_EQ(g_sni, 0);
}

/* spec: rfc8446#4.4.2.4 — a name the certificate does not carry: bad_certificate, with a detail.
 * spec: rfc9001#4.4/1, rfc9114#3.1/1, rfc9114#3.1/2 — the client authenticates the server for the
 * name it wants (the URI's host): a certificate for another name fails the handshake.
 * spec: rfc8446#C.5/1 — with insecure at its zero default, the server is authenticated. */
VQ_TEST(hs_verify_wrong_name)
{
  opts o;
  defaults(&o);
  o.insecure = 0;
  o.ca_is_leaf = 1;
  o.name = "example.com";
  run_fail(t, &o, 0, VQ_ERR_TLS_BAD_CERTIFICATE, 42, "does not match 'example.com'");
  o.name = "10.0.0.1";
  run_fail(t, &o, 0, VQ_ERR_TLS_BAD_CERTIFICATE, 42, "does not match");
}

/* spec: rfc8446#4.4.2.4 — a chain that does not lead to a trust anchor: unknown_ca, with
 * X509_verify_cert_error_string's reason. spec: rfc9001#4.4/1 — the server is authenticated. */
VQ_TEST(hs_verify_unknown_ca)
{
  char *cert = NULL, *key = NULL;
  if (!make_cert(t, "EC", "localhost", &cert, &key)) return;
  opts o;
  defaults(&o);
  o.insecure = 0;
  o.ca_pem = cert; /* some other certificate */
  run_fail(t, &o, 0, VQ_ERR_TLS_UNKNOWN_CA, 48, "certificate verify failed: ");
  free(cert);
  free(key);
}

/* spec: rfc9000#7/1 — what the handshake provides: a server authenticated by its certificate (the
 * verify tests above: hs_verify_*, hs_bad_signature, hs_tampered_finished), transport parameters and
 * the application protocol exchanged in the authenticated handshake (check_success compares both
 * sides'), and keys distinct and unrelated per connection: two handshakes between the same two
 * configurations end with different handshake and 1-RTT secrets. */
VQ_TEST(hs_distinct_keys_per_connection)
{
  opts o;
  defaults(&o);
  o.insecure = 0;
  o.ca_is_leaf = 1;
  vq_tls_secret first[4];
  size_t nfirst = 0;
  for (int run = 0; run < 2; run++) {
    pair p;
    if (!setup(t, &p, &o)) {
      teardown(t, &p);
      return;
    }
    CHECK_EQ(pump(&p, &o), VQ_OK);
    check_success(t, &p, VQ_CS_AES_128_GCM_SHA256, "h3");
    CHECK_EQ(p.nc, 4);
    if (run == 0) {
      nfirst = p.nc < 4 ? p.nc : 4;
      memcpy(first, p.csec, nfirst * sizeof first[0]);
    } else {
      for (size_t i = 0; i < nfirst; i++) {
        const vq_tls_secret *b = find_secret(p.csec, p.nc, first[i].level, first[i].dir);
        CHECK(b != NULL);
        if (b)
          CHECK(b->len == first[i].len && memcmp(b->secret, first[i].secret, b->len) != 0);
      }
    }
    teardown(t, &p);
  }
}

/* insecure skips chain and name, nothing else. */
VQ_TEST(hs_insecure_skips_chain_and_name)
{
  opts o;
  defaults(&o);
  o.insecure = 1;
  o.name = "not-the-name.example";
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
}

/* The server's EncryptedExtensions names "h4" instead of "h3" (the client offered only "h3"). */
static void alpn_h4(int from_server, vq_level l, uint8_t *b, size_t n)
{
  if (!from_server || l != VQ_LEVEL_HANDSHAKE || n < 4 || b[0] != 8 /* EncryptedExtensions */)
    return;
  for (size_t i = 4; i + 3 <= n; i++)
    if (b[i] == 2 && b[i + 1] == 'h' && b[i + 2] == '3') {
      b[i + 2] = '4';
      return;
    }
}

/* The client's ClientHello with its ALPN extension (type 0x0010, holding "h3") renamed to the
 * unknown type 0x7a7a, which the server ignores: a ClientHello without ALPN. */
static void ch_without_alpn(int from_server, vq_level l, uint8_t *b, size_t n)
{
  if (from_server || l != VQ_LEVEL_INITIAL || n < 4 || b[0] != 1 /* ClientHello */)
    return;
  for (size_t i = 4; i + 9 <= n; i++)
    if (b[i] == 0 && b[i + 1] == 0x10 && b[i + 2] == 0 && b[i + 3] == 5 && b[i + 6] == 2 &&
        b[i + 7] == 'h' && b[i + 8] == '3') {
      b[i] = 0x7a;
      b[i + 1] = 0x7a;
      return;
    }
}

/* spec: rfc9000#7/2 — the application protocol is negotiated explicitly, or there is no connection.
 * spec: rfc9001#8.1/2, rfc9001#8.1/6 — no application protocol in common: the server fails with
 * no_application_protocol (0x178). spec: rfc9001#8.1/7, rfc9001#8.1/3 — a server selecting a
 * protocol the client did not offer: ALPN negotiation failed, the client fails with 0x178 too.
 * spec: rfc9001#8.1/1 — ALPN is required: a ClientHello without it is refused. */
VQ_TEST(hs_alpn)
{
  opts o;
  defaults(&o);
  o.calpn = ALPN_OTHER;
  o.calpn_len = sizeof ALPN_OTHER;
  run_fail(t, &o, 1, VQ_ERR_TLS_NO_APPLICATION_PROTOCOL, 120, "no application protocol");
  CHECK_EQ(vq_status_transport_error(VQ_ERR_TLS_NO_APPLICATION_PROTOCOL), 0x178);
  defaults(&o);
  o.tamper = alpn_h4;
  run_fail(t, &o, 0, VQ_ERR_TLS_NO_APPLICATION_PROTOCOL, 120, "not offered");
  defaults(&o);
  o.tamper = ch_without_alpn;
  run_fail(t, &o, 1, VQ_ERR_TLS_NO_APPLICATION_PROTOCOL, 120, "without ALPN");
  /* the server takes the first of its own list that the client offers */
  defaults(&o);
  o.calpn = ALPN_BOTH;
  o.calpn_len = sizeof ALPN_BOTH;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
}

/* spec: rfc9001#8.2/1 — quic_transport_parameters missing from either side: missing_extension. */
VQ_TEST(hs_missing_transport_parameters)
{
  opts o;
  defaults(&o);
  o.ch.omit_transport_params = 1;
  run_fail(t, &o, 1, VQ_ERR_TLS_MISSING_EXTENSION, 109, "quic_transport_parameters");
  defaults(&o);
  o.sh.omit_transport_params = 1;
  run_fail(t, &o, 0, VQ_ERR_TLS_MISSING_EXTENSION, 109, "quic_transport_parameters");
}

/* Flips the last byte of the chosen side's Handshake flight: the Finished's verify_data. */
static void flip_server_finished(int from_server, vq_level l, uint8_t *b, size_t n)
{
  if (from_server && l == VQ_LEVEL_HANDSHAKE && n) b[n - 1] ^= 1;
}
static void flip_client_finished(int from_server, vq_level l, uint8_t *b, size_t n)
{
  if (!from_server && l == VQ_LEVEL_HANDSHAKE && n) b[n - 1] ^= 0x80;
}
static void flip_signature(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  if (!from_server || l != VQ_LEVEL_HANDSHAKE) return;
  for (size_t off = 0; off < n && vq_tls_msg_split(b + off, n - off, &m) == VQ_OK; off += m.size)
    if (m.type == VQ_TLS_CERTIFICATE_VERIFY) b[off + m.size - 1] ^= 1;
}

/* spec: rfc8446#4.4.4/1 — a Finished that does not verify: decrypt_error. */
VQ_TEST(hs_tampered_finished)
{
  opts o;
  defaults(&o);
  o.tamper = flip_server_finished;
  run_fail(t, &o, 0, VQ_ERR_TLS_DECRYPT_ERROR, 51, "server Finished does not verify");
  o.tamper = flip_client_finished;
  run_fail(t, &o, 1, VQ_ERR_TLS_DECRYPT_ERROR, 51, "client Finished does not verify");
}

/* spec: rfc8446#4.4.3/9, rfc8446#4.4.3/10 — a CertificateVerify signature that does not verify:
 * decrypt_error (also
 * with insecure, which skips only chain and name). */
VQ_TEST(hs_bad_signature)
{
  char *cert = NULL, *key = NULL;
  opts o;
  defaults(&o);
  o.tamper = flip_signature;
  run_fail(t, &o, 0, VQ_ERR_TLS_DECRYPT_ERROR, 51, "signature does not verify");
  if (!make_cert(t, "ED25519", "localhost", &cert, &key)) return;
  o.cert_pem = cert;
  o.key_pem = key;
  run_fail(t, &o, 0, VQ_ERR_TLS_DECRYPT_ERROR, 51, "signature does not verify");
  free(cert);
  free(key);
}

/* ---- malformed input and order ---------------------------------------------------------------- */

typedef struct solo {
  vq_mem mem;
  vq_cx cx;
  vq_tls_ctx *ctx;
  vq_tls *t;
} solo;

static int solo_new(vq_t *t, solo *s, int server)
{
  vq_tls_ctx_config cfg = {0};
  memset(s, 0, sizeof *s);
  vq_mem_init(&s->mem, vq_allocator_system(), NULL, 1u << 20);
  cfg.is_server = server;
  cfg.insecure = 1;
  cfg.alpn = ALPN_H3;
  cfg.alpn_len = sizeof ALPN_H3;
  CHECK_EQ(vq_tls_ctx_new(&s->ctx, &cfg, NULL, 0), VQ_OK);
  vq_tls_params par = {"localhost", CLIENT_TP, sizeof CLIENT_TP};
  CHECK_EQ(vq_tls_new(&s->t, &s->mem, s->ctx, &par, &s->cx), VQ_OK);
  return s->t != NULL;
}

static void solo_free(vq_t *t, solo *s)
{
  vq_tls_free(s->t);
  vq_tls_ctx_free(s->ctx);
  CHECK_EQ(s->mem.used, 0);
}

/* spec: rfc8446#4, rfc8446#6/6 — truncated or garbage handshake messages: decode_error, never a
 * crash; the failure is sticky. */
VQ_TEST(hs_garbage_is_decode_error)
{
  solo s;
  /* a ClientHello header announcing 40 bytes of garbage */
  uint8_t bad[44] = {1, 0, 0, 40};
  for (size_t i = 4; i < sizeof bad; i++) bad[i] = (uint8_t)(i * 37);
  if (solo_new(t, &s, 1)) {
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, bad, sizeof bad), VQ_ERR_TLS_DECODE);
    CHECK_EQ(vq_tls_alert(s.t), 50);
    CHECK(strstr(vq_tls_error_detail(s.t), "ClientHello") != NULL);
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, bad, 4), VQ_ERR_TLS_DECODE);
  }
  solo_free(t, &s);
  /* a real ClientHello cut at every length, its length field patched to the cut */
  solo c;
  if (solo_new(t, &c, 0)) {
    const uint8_t *chp;
    size_t chn;
    vq_tls_out_peek(c.t, VQ_LEVEL_INITIAL, &chp, &chn);
    uint8_t *cut = malloc(chn);
    for (size_t n = 5; n < chn; n += 7) {
      memcpy(cut, chp, n);
      size_t body = n - 4;
      cut[1] = (uint8_t)(body >> 16);
      cut[2] = (uint8_t)(body >> 8);
      cut[3] = (uint8_t)body;
      if (!solo_new(t, &s, 1)) break;
      vq_status st = vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, cut, n);
      CHECK(st == VQ_ERR_TLS_DECODE || st == VQ_ERR_TLS_ILLEGAL_PARAMETER);
      CHECK(vq_tls_alert(s.t) == 50 || vq_tls_alert(s.t) == 47);
      solo_free(t, &s);
    }
    free(cut);
  }
  /* the client fed garbage as the server's Initial */
  if (c.t) {
    bad[0] = VQ_TLS_SERVER_HELLO;
    CHECK_EQ(vq_tls_recv(c.t, &c.cx, VQ_LEVEL_INITIAL, bad, sizeof bad), VQ_ERR_TLS_DECODE);
    CHECK_EQ(vq_tls_alert(c.t), 50);
  }
  solo_free(t, &c);
}

/* What build_sh puts in besides the defaults: selected_version (0: none), a cookie (HRR), a
 * pre_shared_key (ServerHello). Reset by sh_reset. */
static uint16_t g_sh_version = VQ_TLS_VERSION_13;
static const uint8_t *g_sh_cookie;
static size_t g_sh_cookie_len;
static int g_sh_psk;
static size_t g_sh_sid_len; /* legacy_session_id_echo length (its bytes: the random's) */
static void sh_reset(void)
{
  g_sh_sid_len = 0;
  g_sh_version = VQ_TLS_VERSION_13;
  g_sh_cookie = NULL;
  g_sh_cookie_len = 0;
  g_sh_psk = 0;
}

/* A ServerHello (or HelloRetryRequest) as a server would send it. */
static size_t build_sh(uint8_t *buf, size_t cap, int hrr, uint16_t suite, uint16_t group)
{
  vq_tls_server_hello sh;
  uint8_t random[32], pub[32];
  size_t used = 0;
  for (int i = 0; i < 32; i++) random[i] = (uint8_t)(i + 1), pub[i] = (uint8_t)(i * 7 + 9);
  memset(&sh, 0, sizeof sh);
  sh.is_hrr = hrr;
  sh.legacy_version = VQ_TLS_LEGACY_VERSION;
  sh.random = random;
  sh.session_id_echo.p = random;
  sh.session_id_echo.len = g_sh_sid_len;
  sh.cipher_suite = suite;
  sh.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = g_sh_version != 0;
  sh.ext.selected_version = g_sh_version;
  sh.ext.has[VQ_TLS_EXT_KEY_SHARE] = 1;
  sh.ext.key_share_group = group;
  sh.ext.key_share.p = pub;
  sh.ext.key_share.len = sizeof pub;
  if (g_sh_cookie_len) {
    sh.ext.has[VQ_TLS_EXT_COOKIE] = 1;
    sh.ext.cookie.p = g_sh_cookie;
    sh.ext.cookie.len = g_sh_cookie_len;
  }
  if (g_sh_psk) {
    sh.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY] = 1;
    sh.ext.psk_selected = 0;
  }
  return vq_tls_build_server_hello(buf, cap, &sh, &used) == VQ_OK ? used : 0;
}

static char g_detail[256]; /* client_gets: the client's error detail */

/* A client on a context with hooks, fed one crafted ServerHello / HRR: the status it returns. */
static vq_status client_gets(vq_t *t, const vq_tls_test_hooks *h, const uint8_t *m1, size_t n1,
                             const uint8_t *m2, size_t n2)
{
  solo c;
  vq_status st = VQ_ERR_INTERNAL;
  if (solo_new(t, &c, 0)) {
    vq_tls *x = NULL;
    vq_tls_ctx_set_test_hooks(c.ctx, h);
    vq_tls_params par = {"localhost", CLIENT_TP, sizeof CLIENT_TP};
    CHECK_EQ(vq_tls_new(&x, &c.mem, c.ctx, &par, &c.cx), VQ_OK);
    if (x) {
      st = vq_tls_recv(x, &c.cx, VQ_LEVEL_INITIAL, m1, n1);
      if (st == VQ_OK && m2) {
        /* the second ClientHello answers the HRR: one P-256 share (rfc8446#4.2.8/11) */
        const uint8_t *d;
        size_t n, off = 0;
        vq_tls_msg m;
        vq_tls_client_hello ch;
        vq_tls_key_share_entry e;
        vq_tls_client_hello ch1;
        vq_tls_out_peek(x, VQ_LEVEL_INITIAL, &d, &n);
        CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
        CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch1), VQ_OK);
        CHECK_EQ(vq_tls_msg_split(d + m.size, n - m.size, &m), VQ_OK);
        CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
        /* the same ClientHello but for the key share (rfc8446#4.1.2/2) */
        CHECK(memcmp(ch.random, ch1.random, 32) == 0);
        CHECK(ch.cipher_suites.len == ch1.cipher_suites.len &&
              memcmp(ch.cipher_suites.p, ch1.cipher_suites.p, ch.cipher_suites.len) == 0);
        CHECK(ch.ext.groups.len == ch1.ext.groups.len &&
              memcmp(ch.ext.groups.p, ch1.ext.groups.p, ch.ext.groups.len) == 0);
        CHECK(ch.ext.sig_algs.len == ch1.ext.sig_algs.len &&
              memcmp(ch.ext.sig_algs.p, ch1.ext.sig_algs.p, ch.ext.sig_algs.len) == 0);
        CHECK(ch.ext.quic_tp.len == ch1.ext.quic_tp.len &&
              memcmp(ch.ext.quic_tp.p, ch1.ext.quic_tp.p, ch.ext.quic_tp.len) == 0);
        CHECK_EQ(ch.ext.n_ext, ch1.ext.n_ext);
        CHECK_EQ(vq_tls_key_share_next(ch.ext.key_shares, &off, &e), VQ_OK);
        CHECK_EQ(e.group, VQ_HS_GROUP_SECP256R1);
        CHECK_EQ(e.key_exchange.len, 65);
        CHECK_EQ(off, ch.ext.key_shares.len);
        st = vq_tls_recv(x, &c.cx, VQ_LEVEL_INITIAL, m2, n2);
      }
      CHECK_EQ(vq_tls_alert(x), st == VQ_OK ? -1 : vq_status_tls_alert(st));
      snprintf(g_detail, sizeof g_detail, "%s", vq_tls_error_detail(x));
      vq_tls_free(x);
    }
  }
  solo_free(t, &c);
  return st;
}

/* spec: rfc8446#4.1.3/5, rfc8446#4.1.4/4, rfc8446#4.1.4/5, rfc8446#4.1.4/10, rfc8446#4.2.8/10,
 * rfc8446#4.2.8/15, rfc8446#4.2.8/9, rfc8446#4.2.8/11, rfc8446#4.2.8/14, rfc8446#4.1.4/8,
 * rfc8446#4.1.4/3, rfc8446#4.1.2/2 — the client's checks of ServerHello and
 * HelloRetryRequest (the selected group offered and not already shared, the suite offered), and
 * its second ClientHello with one share in the selected group and otherwise the first's fields
 * (client_gets). */
VQ_TEST(hs_client_checks_server_hello)
{
  uint8_t a[256], b[256];
  vq_tls_test_hooks none = {0}, one = {0};
  one.n_suites = 1;
  one.suites[0] = VQ_CS_AES_128_GCM_SHA256;
  size_t na = build_sh(a, sizeof a, 0, VQ_CS_AES_256_GCM_SHA384, VQ_HS_GROUP_X25519);
  CHECK_EQ(client_gets(t, &one, a, na, NULL, 0), VQ_ERR_TLS_ILLEGAL_PARAMETER); /* suite not offered */
  na = build_sh(a, sizeof a, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_SECP256R1);
  CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_ERR_TLS_ILLEGAL_PARAMETER); /* group not shared */
  na = build_sh(a, sizeof a, 1, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_X25519);
  CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_ERR_TLS_ILLEGAL_PARAMETER); /* already shared */
  na = build_sh(a, sizeof a, 1, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_SECP256R1);
  CHECK_EQ(client_gets(t, &none, a, na, a, na), VQ_ERR_TLS_UNEXPECTED_MESSAGE); /* second HRR */
  size_t nb = build_sh(b, sizeof b, 0, VQ_CS_AES_256_GCM_SHA384, VQ_HS_GROUP_SECP256R1);
  CHECK_EQ(client_gets(t, &none, a, na, b, nb), VQ_ERR_TLS_ILLEGAL_PARAMETER); /* suite changed */
  nb = build_sh(b, sizeof b, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_X25519);
  CHECK_EQ(client_gets(t, &none, a, na, b, nb), VQ_ERR_TLS_ILLEGAL_PARAMETER); /* group changed */
  na = build_sh(a, sizeof a, 1, VQ_CS_AES_256_GCM_SHA384, VQ_HS_GROUP_SECP256R1);
  CHECK_EQ(client_gets(t, &one, a, na, NULL, 0), VQ_ERR_TLS_ILLEGAL_PARAMETER); /* HRR suite not offered */
  /* a well-formed ServerHello in the offered group moves the client to the Handshake level */
  na = build_sh(a, sizeof a, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_X25519);
  CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_OK);
}

static int u16_list_has(vq_tls_span l, uint16_t v)
{
  for (size_t i = 0; i + 1 < l.len; i += 2)
    if ((uint16_t)(l.p[i] << 8 | l.p[i + 1]) == v) return 1;
  return 0;
}

/* spec: rfc8446#4.1.2/6, rfc8446#D.5/9, rfc8446#4.1.2/10, rfc8446#4.2.1/1, rfc8446#D.5/2,
 * rfc8446#D.5/3, rfc8446#9.1/1, rfc8446#4.2.3/2, rfc8446#4.2.3/20, rfc8446#4.2.3/21, rfc8446#4.2.8/3,
 * rfc8446#4.2.8/6, rfc8446#4.2.8/7, rfc8446#9.2/10, rfc8446#9.2/11 — the client's ClientHello, as
 * sent, field by field; spec: rfc8446#4.1.3/1, rfc8446#4.2.1/10, rfc8446#4.1.3/7, rfc8446#4.2.9/6,
 * rfc8446#2/1 — and the server's ServerHello in answer. */
VQ_TEST(hs_client_hello_conforms)
{
  solo c, s;
  if (solo_new(t, &c, 0) && solo_new(t, &s, 1)) {
    const uint8_t *d;
    size_t n, off = 0;
    vq_tls_msg m;
    vq_tls_client_hello ch;
    vq_tls_key_share_entry e;
    vq_tls_out_peek(c.t, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(m.type, VQ_TLS_CLIENT_HELLO);
    CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
    CHECK_EQ(ch.legacy_version, 0x0303);
    CHECK_EQ(ch.session_id.len, 0);
    CHECK_EQ(m.body.p[2 + 32], 0); /* legacy_session_id: a single zero length byte */
    /* spec: rfc8446#4.1.2/13 — legacy_compression_methods: exactly one byte, zero */
    size_t comp = 2 + 32 + 1 + 2 + ch.cipher_suites.len;
    CHECK(comp + 2 <= m.body.len && m.body.p[comp] == 1 && m.body.p[comp + 1] == 0);
    /* every suite is a TLS 1.3 AEAD suite (0x1301..0x1303), AES-128-GCM among them */
    CHECK(ch.cipher_suites.len >= 2);
    for (size_t i = 0; i + 1 < ch.cipher_suites.len; i += 2) {
      uint16_t cs = (uint16_t)(ch.cipher_suites.p[i] << 8 | ch.cipher_suites.p[i + 1]);
      CHECK(cs >= 0x1301 && cs <= 0x1303);
    }
    CHECK(u16_list_has(ch.cipher_suites, 0x1301));
    CHECK(ch.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS]);
    CHECK_EQ(ch.ext.supported_versions.len, 2);
    CHECK(u16_list_has(ch.ext.supported_versions, 0x0304));
    /* signature_algorithms: no SHA-1 (0x0201, 0x0203), SHA-224 (0x0301..0x0303), MD5, DSA */
    CHECK(ch.ext.has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS]);
    CHECK(ch.ext.sig_algs.len >= 2);
    for (size_t i = 0; i + 1 < ch.ext.sig_algs.len; i += 2) {
      uint8_t hash = ch.ext.sig_algs.p[i], sig = ch.ext.sig_algs.p[i + 1];
      CHECK(hash >= 0x04); /* none of MD5 (1), SHA-1 (2), SHA-224 (3) as the TLS 1.2 hash byte */
      CHECK(sig != 2);     /* DSA */
    }
    CHECK(ch.ext.has[VQ_TLS_EXT_SUPPORTED_GROUPS] && ch.ext.has[VQ_TLS_EXT_KEY_SHARE]);
    /* spec: rfc8446#9.2/1, rfc8446#9.2/2, rfc8446#9.1/2 — signature_algorithms_cert too, with
     * rsa_pkcs1_sha256, rsa_pss_rsae_sha256 and ecdsa_secp256r1_sha256 (and no SHA-1 / MD5
     * scheme); rsa_pss_rsae_sha256 and ecdsa_secp256r1_sha256 in signature_algorithms */
    CHECK(ch.ext.has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT]);
    CHECK(u16_list_has(ch.ext.sig_algs_cert, 0x0401) && u16_list_has(ch.ext.sig_algs_cert, 0x0804) &&
          u16_list_has(ch.ext.sig_algs_cert, 0x0403));
    CHECK(u16_list_has(ch.ext.sig_algs, 0x0804) && u16_list_has(ch.ext.sig_algs, 0x0403));
    for (size_t i = 0; i + 1 < ch.ext.sig_algs_cert.len; i += 2)
      CHECK(ch.ext.sig_algs_cert.p[i] >= 0x04);
    /* spec: rfc8446#B/1, rfc8446#B.3.1.4/1 — no _RESERVED or obsolete_RESERVED value: the groups
     * are x25519 and secp256r1 only (the suites and schemes are checked above) */
    CHECK(ch.ext.groups.len >= 2);
    for (size_t i = 0; i + 1 < ch.ext.groups.len; i += 2) {
      uint16_t gr = (uint16_t)(ch.ext.groups.p[i] << 8 | ch.ext.groups.p[i + 1]);
      CHECK(gr == VQ_HS_GROUP_X25519 || gr == VQ_HS_GROUP_SECP256R1);
    }
    /* key shares: each in supported_groups, in its order, no group twice */
    size_t last_pos = 0, shares = 0;
    uint16_t seen[8];
    while (off < ch.ext.key_shares.len && vq_tls_key_share_next(ch.ext.key_shares, &off, &e) == VQ_OK) {
      size_t pos = 0;
      while (pos + 1 < ch.ext.groups.len &&
             (uint16_t)(ch.ext.groups.p[pos] << 8 | ch.ext.groups.p[pos + 1]) != e.group)
        pos += 2;
      CHECK(pos + 1 < ch.ext.groups.len);
      CHECK(shares == 0 || pos > last_pos);
      for (size_t j = 0; j < shares; j++) CHECK(seen[j] != e.group);
      if (shares < 8) seen[shares++] = e.group;
      last_pos = pos;
    }
    CHECK_EQ(off, ch.ext.key_shares.len);
    CHECK(shares >= 1);

    /* the server's answer */
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, d, m.size), VQ_OK);
    vq_tls_server_hello sh;
    vq_tls_out_peek(s.t, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(m.type, VQ_TLS_SERVER_HELLO);
    CHECK_EQ(vq_tls_parse_server_hello(m.body.p, m.body.len, &sh), VQ_OK);
    CHECK_EQ(sh.legacy_version, 0x0303);
    CHECK(!sh.is_hrr);
    CHECK_EQ(sh.ext.n_ext, 2);
    CHECK_EQ(sh.ext.n_unknown, 0);
    CHECK(sh.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] && sh.ext.has[VQ_TLS_EXT_KEY_SHARE]);
    /* spec: rfc8446#4.1.3/8, rfc8446#4.2.1/9 — supported_versions with 0x0304;
     * spec: rfc8446#4.1.3/6 — legacy_compression_method 0 (the byte before the extensions);
     * spec: rfc8446#4.2.8/12 — the server's share in the group of the client's share */
    CHECK_EQ(sh.ext.selected_version, 0x0304);
    CHECK_EQ(m.body.p[2 + 32 + 1 + 2], 0);
    CHECK_EQ(sh.ext.key_share_group, seen[0]);
  }
  solo_free(t, &s);
  solo_free(t, &c);
}

/* spec: rfc8446#4.1.2/11, rfc8446#4.1.2/16, rfc8446#9.3/5 — a ClientHello that offers a cipher
 * suite and an extension the server does not know (first, so they cannot be skipped by accident):
 * the server ignores them and answers with a suite it knows. */
VQ_TEST(hs_server_ignores_unknown_suite_and_extension)
{
  solo c, s;
  if (solo_new(t, &c, 0) && solo_new(t, &s, 1)) {
    const uint8_t *d;
    size_t n;
    vq_tls_msg m;
    vq_tls_client_hello ch;
    vq_tls_out_peek(c.t, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
    /* rebuild it with 0x0a0a (a GREASE value) and 0x00ff first among the suites */
    uint8_t suites[16] = {0x0a, 0x0a, 0x00, 0xff};
    CHECK(ch.cipher_suites.len + 4 <= sizeof suites);
    memcpy(suites + 4, ch.cipher_suites.p, ch.cipher_suites.len);
    ch.cipher_suites.p = suites;
    ch.cipher_suites.len += 4;
    uint8_t *buf = malloc(m.size + 64);
    size_t used = 0;
    CHECK_EQ(vq_tls_build_client_hello(buf, m.size + 64, &ch, &used), VQ_OK);
    /* splice an empty extension of type 0x7a7a in front of the others */
    size_t ext_at = 4 + 2 + 32 + 1 + 2 + ch.cipher_suites.len + 2; /* the extensions' length */
    CHECK(ext_at + 2 <= used);
    memmove(buf + ext_at + 2 + 4, buf + ext_at + 2, used - ext_at - 2);
    memcpy(buf + ext_at + 2, "\x7a\x7a\x00\x00", 4);
    used += 4;
    size_t el = (size_t)(buf[ext_at] << 8 | buf[ext_at + 1]) + 4;
    buf[ext_at] = (uint8_t)(el >> 8);
    buf[ext_at + 1] = (uint8_t)el;
    size_t body = used - 4;
    buf[1] = (uint8_t)(body >> 16);
    buf[2] = (uint8_t)(body >> 8);
    buf[3] = (uint8_t)body;
    vq_tls_client_hello ch2;
    CHECK_EQ(vq_tls_parse_client_hello(buf + 4, body, &ch2), VQ_OK);
    CHECK_EQ(ch2.ext.n_unknown, 1);
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, buf, used), VQ_OK);
    vq_tls_server_hello sh;
    vq_tls_out_peek(s.t, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_server_hello(m.body.p, m.body.len, &sh), VQ_OK);
    CHECK_EQ(sh.cipher_suite, 0x1301);
    CHECK(!sh.is_hrr);
    free(buf);
  }
  solo_free(t, &s);
  solo_free(t, &c);
}

/* A fresh client's ClientHello, with legacy_version and supported_versions replaced (sv NULL: the
 * extension left out), fed to a fresh server: the status it returns. */
static vq_status server_gets_versions(vq_t *t, uint16_t legacy, const uint8_t *sv, size_t sv_len)
{
  solo c, s;
  vq_status st = VQ_ERR_INTERNAL;
  if (solo_new(t, &c, 0) && solo_new(t, &s, 1)) {
    const uint8_t *d;
    size_t n, used = 0;
    vq_tls_msg m;
    vq_tls_client_hello ch;
    uint8_t buf[2048];
    vq_tls_out_peek(c.t, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
    ch.legacy_version = legacy;
    ch.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = sv != NULL;
    ch.ext.supported_versions.p = sv;
    ch.ext.supported_versions.len = sv_len;
    CHECK_EQ(vq_tls_build_client_hello(buf, sizeof buf, &ch, &used), VQ_OK);
    st = vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, buf, used);
    CHECK_EQ(vq_tls_alert(s.t), st == VQ_OK ? -1 : vq_status_tls_alert(st));
  }
  solo_free(t, &s);
  solo_free(t, &c);
  return st;
}

/* spec: rfc8446#4.2.1/4, rfc8446#4.2.1/5, rfc8446#4.2.1/7, rfc8446#D.2/1, rfc8446#D.2/3 — the
 * server negotiates from supported_versions alone: legacy_version is not looked at, unknown
 * versions in the list are skipped, a list without 0x0304 or no list at all is protocol_version. */
VQ_TEST(hs_server_version_negotiation)
{
  static const uint8_t v13[2] = {0x03, 0x04}, unknown_first[6] = {0x7a, 0x7a, 0x03, 0x05, 0x03, 0x04},
                       v12[4] = {0x03, 0x03, 0x03, 0x02};
  CHECK_EQ(server_gets_versions(t, 0x0303, v13, sizeof v13), VQ_OK);
  CHECK_EQ(server_gets_versions(t, 0x0301, v13, sizeof v13), VQ_OK);
  CHECK_EQ(server_gets_versions(t, 0x0303, unknown_first, sizeof unknown_first), VQ_OK);
  CHECK_EQ(server_gets_versions(t, 0x0303, v12, sizeof v12), VQ_ERR_TLS_PROTOCOL_VERSION);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_PROTOCOL_VERSION), 70);
  CHECK_EQ(server_gets_versions(t, 0x0303, NULL, 0), VQ_ERR_TLS_PROTOCOL_VERSION);
  /* spec: rfc8446#D.5/10 — legacy_version 0x0300 is protocol_version even with 0x0304 listed */
  CHECK_EQ(server_gets_versions(t, 0x0300, v13, sizeof v13), VQ_ERR_TLS_PROTOCOL_VERSION);
}

/* spec: rfc8446#4.2.1/11, rfc8446#4.2.1/12, rfc8446#D.1/3 — the client takes the version from the
 * ServerHello's supported_versions only (legacy_version 0x0301 is not looked at); without the
 * extension the server chose an older version: protocol_version.
 * spec: rfc8446#4.2.1/13 — supported_versions naming a version not offered (0x0305) or older than
 * TLS 1.3 (0x0303): illegal_parameter, in a ServerHello and in a HelloRetryRequest.
 * spec: rfc8446#4.1.4/11 — a ServerHello whose selected_version differs from the
 * HelloRetryRequest's: illegal_parameter.
 * spec: rfc8446#D.5/10 — legacy_version 0x0300: protocol_version. */
VQ_TEST(hs_client_version_check)
{
  vq_tls_test_hooks none = {0};
  uint8_t a[256], b[256];
  sh_reset();
  size_t na = build_sh(a, sizeof a, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_X25519);
  CHECK(na > 8);
  a[4] = 0x03, a[5] = 0x01; /* legacy_version 0x0301: ignored */
  CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_OK);
  a[4] = 0x03, a[5] = 0x00; /* legacy_version 0x0300 (SSL 3.0) */
  CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_ERR_TLS_PROTOCOL_VERSION);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_PROTOCOL_VERSION), 70);
  static const uint16_t bad[3] = {0x0303, 0x0305, 0x7f1c};
  for (int i = 0; i < 3; i++) {
    g_sh_version = bad[i];
    na = build_sh(a, sizeof a, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_X25519);
    CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_ERR_TLS_ILLEGAL_PARAMETER);
    na = build_sh(a, sizeof a, 1, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_SECP256R1);
    CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_ERR_TLS_ILLEGAL_PARAMETER);
    /* HelloRetryRequest with 0x0304, then a ServerHello with another version */
    g_sh_version = VQ_TLS_VERSION_13;
    na = build_sh(a, sizeof a, 1, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_SECP256R1);
    g_sh_version = bad[i];
    size_t nb = build_sh(b, sizeof b, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_SECP256R1);
    CHECK_EQ(client_gets(t, &none, a, na, b, nb), VQ_ERR_TLS_ILLEGAL_PARAMETER);
    CHECK(strstr(g_detail, "ServerHello selects version") != NULL);
  }
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_ILLEGAL_PARAMETER), 47);
  /* no supported_versions at all: TLS 1.2 or older was chosen */
  g_sh_version = 0;
  na = build_sh(a, sizeof a, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_X25519);
  CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_ERR_TLS_PROTOCOL_VERSION);
  /* the control: the same HelloRetryRequest / ServerHello pair with 0x0304 in both gets through the
   * version checks (and fails only on the fake key share) */
  g_sh_version = VQ_TLS_VERSION_13;
  na = build_sh(a, sizeof a, 1, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_SECP256R1);
  size_t nb = build_sh(b, sizeof b, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_SECP256R1);
  CHECK(client_gets(t, &none, a, na, b, nb) != VQ_ERR_TLS_PROTOCOL_VERSION);
  CHECK(strstr(g_detail, "version") == NULL);
  sh_reset();
}

/* A message longer than VQ_TLS_MAX_MSG is refused from its header, before it is buffered. */
VQ_TEST(hs_message_too_large)
{
  solo s;
  uint8_t hdr[4] = {1, 0x01, 0x00, 0x00}; /* 65536-byte body */
  if (solo_new(t, &s, 1)) {
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, hdr, 4), VQ_ERR_TLS_MESSAGE_TOO_LARGE);
    CHECK_EQ(vq_tls_alert(s.t), 47);
    CHECK(s.mem.used < 4096);
  }
  solo_free(t, &s);
}

/* spec: rfc8446#4, rfc8446#4/2 — messages out of order, at the wrong level, or KeyUpdate
 * (rfc9001#6/3): unexpected_message. */
VQ_TEST(hs_unexpected_messages)
{
  solo s;
  uint8_t fin[36] = {VQ_TLS_FINISHED, 0, 0, 32};
  if (solo_new(t, &s, 1)) {
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, fin, sizeof fin), VQ_ERR_TLS_UNEXPECTED_MESSAGE);
    CHECK_EQ(vq_tls_alert(s.t), 10);
  }
  solo_free(t, &s);
  if (solo_new(t, &s, 1)) {
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_HANDSHAKE, fin, sizeof fin), VQ_ERR_TLS_UNEXPECTED_MESSAGE);
    CHECK(strstr(vq_tls_error_detail(s.t), "while expecting Initial") != NULL);
  }
  solo_free(t, &s);
  if (solo_new(t, &s, 1)) {
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_EARLY, fin, sizeof fin), VQ_ERR_TLS_UNEXPECTED_MESSAGE);
  }
  solo_free(t, &s);
  /* after a complete handshake: KeyUpdate at 1-RTT */
  opts o;
  defaults(&o);
  pair p;
  if (setup(t, &p, &o) && pump(&p, &o) == VQ_OK) {
    uint8_t ku[5] = {VQ_TLS_KEY_UPDATE, 0, 0, 1, 0};
    CHECK_EQ(vq_tls_recv(p.c, &p.cx, VQ_LEVEL_APP, ku, sizeof ku), VQ_ERR_TLS_UNEXPECTED_MESSAGE);
    CHECK_EQ(vq_tls_alert(p.c), 10);
    CHECK_EQ(vq_tls_recv(p.s, &p.cx, VQ_LEVEL_APP, ku, sizeof ku), VQ_ERR_TLS_UNEXPECTED_MESSAGE);
  }
  teardown(t, &p);
  /* spec: rfc8446#4.1.2/3 — a ClientHello after the handshake (renegotiation): unexpected_message */
  if (setup(t, &p, &o) && pump(&p, &o) == VQ_OK) {
    uint8_t ch[8] = {VQ_TLS_CLIENT_HELLO, 0, 0, 4, 3, 3, 0, 0};
    CHECK_EQ(vq_tls_recv(p.s, &p.cx, VQ_LEVEL_APP, ch, sizeof ch), VQ_ERR_TLS_UNEXPECTED_MESSAGE);
    CHECK_EQ(vq_tls_alert(p.s), 10);
  }
  teardown(t, &p);
}

/* spec: rfc9001#4.1.3/3 — bytes left at a level when the keys change: PROTOCOL_VIOLATION;
 * spec: rfc9001#4.1.3/1, rfc9001#4.1.3/2 — so are new bytes at a level already left (past the end
 * of what was received there), for the client and the server. */
VQ_TEST(hs_data_after_key_change)
{
  solo c, s;
  if (solo_new(t, &c, 0) && solo_new(t, &s, 1)) {
    const uint8_t *chp;
    size_t chn;
    vq_tls_out_peek(c.t, VQ_LEVEL_INITIAL, &chp, &chn);
    uint8_t *buf = malloc(chn + 4);
    memcpy(buf, chp, chn);
    memcpy(buf + chn, "\x01\x00\x00\x00", 4); /* more Initial bytes behind the ClientHello */
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, buf, chn + 4), VQ_ERR_TLS_KEY_CHANGE_LEFTOVER);
    CHECK_EQ(vq_status_transport_error(VQ_ERR_TLS_KEY_CHANGE_LEFTOVER), VQ_TE_PROTOCOL_VIOLATION);
    CHECK(vq_tls_alert(s.t) >= 0);
    free(buf);
  }
  solo_free(t, &s);
  solo_free(t, &c);
  opts o;
  defaults(&o);
  pair p;
  if (setup(t, &p, &o) && pump(&p, &o) == VQ_OK) {
    uint8_t x[4] = {VQ_TLS_SERVER_HELLO, 0, 0, 0};
    CHECK_EQ(vq_tls_recv(p.c, &p.cx, VQ_LEVEL_INITIAL, x, 4), VQ_ERR_TLS_KEY_CHANGE_LEFTOVER);
    CHECK_EQ(vq_tls_recv(p.s, &p.cx, VQ_LEVEL_HANDSHAKE, x, 4), VQ_ERR_TLS_KEY_CHANGE_LEFTOVER);
  }
  teardown(t, &p);
}

/* DESIGN principle 2: a cancelled cx changes nothing; the same call then succeeds. */
VQ_TEST(hs_cancelled_cx_changes_nothing)
{
  opts o;
  defaults(&o);
  pair p;
  if (setup(t, &p, &o)) {
    vq_cancel cancel;
    vq_cancel_init(&cancel, NULL);
    vq_cancel_set(&cancel);
    vq_cx dead = {0};
    dead.cancel = &cancel;
    const uint8_t *d;
    size_t n;
    vq_tls_out_peek(p.c, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_recv(p.s, &dead, VQ_LEVEL_INITIAL, d, n), VQ_ECANCELED);
    CHECK_EQ(vq_tls_alert(p.s), -1);
    vq_tls_out_peek(p.s, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(n, 0);
    vq_tls *x = NULL;
    vq_tls_params par = {"localhost", CLIENT_TP, sizeof CLIENT_TP};
    CHECK_EQ(vq_tls_new(&x, &p.mem, p.cctx, &par, &dead), VQ_ECANCELED);
    CHECK(x == NULL);
    CHECK_EQ(pump(&p, &o), VQ_OK);
    check_success(t, &p, VQ_CS_AES_128_GCM_SHA256, "h3");
  }
  teardown(t, &p);
}

/* DESIGN principle 5: the handshake lives in its vq_mem budget; a budget too small fails cleanly. */
VQ_TEST(hs_memory_budget)
{
  solo s;
  if (solo_new(t, &s, 0)) {
    vq_mem small;
    vq_mem_init(&small, vq_allocator_system(), NULL, 256);
    vq_tls *x = NULL;
    vq_tls_params par = {"localhost", CLIENT_TP, sizeof CLIENT_TP};
    CHECK_EQ(vq_tls_new(&x, &small, s.ctx, &par, &s.cx), VQ_ERR_NOMEM);
    CHECK_EQ(small.used, 0);
  }
  solo_free(t, &s);
}

/* ---- key log and key schedule ------------------------------------------------------------------ */

static char g_lines[8][240];
static int g_nlines;
static void collect(void *ud, const char *line)
{
  (void)ud;
  if (g_nlines < 8) snprintf(g_lines[g_nlines++], sizeof g_lines[0], "%s", line);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

/* NSS key log: the four secrets, with the client random, matching the secrets announced. */
VQ_TEST(hs_keylog_lines)
{
  solo s, c;
  g_nlines = 0;
  if (!solo_new(t, &s, 1) || !solo_new(t, &c, 0)) return;
  vq_tls_ctx *kctx = NULL;
  vq_tls_ctx_config cfg = {0};
  cfg.insecure = 1;
  cfg.alpn = ALPN_H3;
  cfg.alpn_len = sizeof ALPN_H3;
  cfg.keylog = collect;
  CHECK_EQ(vq_tls_ctx_new(&kctx, &cfg, NULL, 0), VQ_OK);
  vq_tls *kc = NULL;
  vq_tls_params par = {"localhost", CLIENT_TP, sizeof CLIENT_TP};
  CHECK_EQ(vq_tls_new(&kc, &c.mem, kctx, &par, &c.cx), VQ_OK);
  pair p;
  memset(&p, 0, sizeof p);
  p.s = s.t;
  p.c = kc;
  opts o;
  defaults(&o);
  CHECK_EQ(pump(&p, &o), VQ_OK);
  CHECK_EQ(g_nlines, 4);
  static const char *labels[4] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET ", "SERVER_HANDSHAKE_TRAFFIC_SECRET ",
                                  "CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 "};
  for (int i = 0; i < 4 && i < g_nlines; i++)
    CHECK(strncmp(g_lines[i], labels[i], strlen(labels[i])) == 0);
  const vq_tls_secret *w = find_secret(p.csec, p.nc, VQ_LEVEL_APP, VQ_TLS_WRITE);
  CHECK(w != NULL);
  if (w && g_nlines >= 3) {
    char h[2 * VQ_SECRET_MAX + 1];
    hex(w->secret, w->len, h);
    CHECK(strstr(g_lines[2], h) != NULL);
    CHECK_EQ(strlen(g_lines[2]), strlen(labels[2]) + 64 + 1 + 64);
  }
  vq_tls_free(kc);
  vq_tls_ctx_free(kctx);
  solo_free(t, &c);
  solo_free(t, &s);
}

/* HKDF by hand with one-shot HMAC (RFC 5869), independent of src/tls/kdf.c. */
static void hmac(const EVP_MD *md, const uint8_t *k, size_t kl, const uint8_t *d, size_t dl, uint8_t *out)
{
  unsigned int n = 0;
  HMAC(md, k, (int)kl, d, dl, out, &n);
}
static void expand_label(const EVP_MD *md, size_t hl, const uint8_t *secret, const char *label,
                         const uint8_t *ctx, size_t cl, uint8_t *out)
{
  uint8_t info[128], t1[64];
  size_t n = 0, ll = strlen(label);
  info[n++] = 0;
  info[n++] = (uint8_t)hl;
  info[n++] = (uint8_t)(6 + ll);
  memcpy(info + n, "tls13 ", 6);
  n += 6;
  memcpy(info + n, label, ll);
  n += ll;
  info[n++] = (uint8_t)cl;
  if (cl) memcpy(info + n, ctx, cl);
  n += cl;
  info[n++] = 1; /* T(1) = HMAC(PRK, info || 0x01): hl bytes are one block */
  hmac(md, secret, hl, info, n, t1);
  memcpy(out, t1, hl);
}

/* spec: rfc8446#7.1 — the schedule against an independent HMAC computation, for both hashes, and
 * the well-known SHA-256 values of RFC 8448 §3 (Early Secret without PSK, its "derived" secret,
 * and the Handshake Secret of its ECDHE shared secret). */
VQ_TEST(hs_key_schedule_known_answers)
{
  static const vq_hash hs[2] = {VQ_HASH_SHA256, VQ_HASH_SHA384};
  uint8_t shared[32];
  vq_hex("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d", shared, 32);
  for (int i = 0; i < 2; i++) {
    const EVP_MD *md = i ? EVP_sha384() : EVP_sha256();
    size_t hl = i ? 48 : 32;
    uint8_t zeros[48] = {0}, early[48], empty[48], derived[48], hsec[48], want[48], got[48];
    uint8_t th[48], fk[48], fin[48], got_fin[48];
    unsigned int en = 0;
    hmac(md, zeros, hl, zeros, hl, early);
    EVP_Digest("", 0, empty, &en, md, NULL);
    expand_label(md, hl, early, "derived", empty, hl, derived);
    hmac(md, derived, hl, shared, sizeof shared, hsec);
    CHECK_EQ(vq_hs_handshake_secret(hs[i], shared, sizeof shared, got), VQ_OK);
    CHECK_MEM(got, hl, hsec, hl);
    if (i == 0) {
      vq_hex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a", want, 32);
      CHECK_MEM(early, 32, want, 32);
      vq_hex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba", want, 32);
      CHECK_MEM(derived, 32, want, 32);
      vq_hex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac", want, 32);
      CHECK_MEM(got, 32, want, 32);
    }
    /* master secret */
    expand_label(md, hl, hsec, "derived", empty, hl, derived);
    hmac(md, derived, hl, zeros, hl, want);
    CHECK_EQ(vq_hs_master_secret(hs[i], hsec, got), VQ_OK);
    CHECK_MEM(got, hl, want, hl);
    /* Derive-Secret and Finished */
    for (size_t k = 0; k < hl; k++) th[k] = (uint8_t)(k * 3 + 1);
    expand_label(md, hl, hsec, "c hs traffic", th, hl, want);
    CHECK_EQ(vq_hs_derive_secret(hs[i], hsec, "c hs traffic", th, got), VQ_OK);
    CHECK_MEM(got, hl, want, hl);
    expand_label(md, hl, want, "finished", NULL, 0, fk);
    hmac(md, fk, hl, th, hl, fin);
    CHECK_EQ(vq_hs_finished(hs[i], want, th, got_fin), VQ_OK);
    CHECK_MEM(got_fin, hl, fin, hl);
  }
}

/* spec: rfc8446#4.2.8.2/1, rfc8446#7.4.2/3, rfc8446#6/7 — a P-256 share that is not a valid
 * uncompressed point on the curve, and an X25519 share giving the all-zero secret, are
 * illegal_parameter. */
VQ_TEST(hs_invalid_key_shares)
{
  EVP_PKEY *k = NULL;
  uint8_t pub[VQ_HS_KX_MAX], bad[65] = {4}, shared[VQ_SECRET_MAX];
  size_t pl = 0, sl = 0;
  CHECK_EQ(vq_hs_kx_keygen(VQ_HS_GROUP_SECP256R1, &k, pub, &pl), VQ_OK);
  CHECK_EQ(pl, 65);
  CHECK_EQ(pub[0], 4);
  CHECK_EQ(vq_hs_kx_derive(k, VQ_HS_GROUP_SECP256R1, bad, 65, shared, &sl), VQ_ERR_TLS_ILLEGAL_PARAMETER);
  pub[64] ^= 1; /* off the curve */
  CHECK_EQ(vq_hs_kx_derive(k, VQ_HS_GROUP_SECP256R1, pub, 65, shared, &sl), VQ_ERR_TLS_ILLEGAL_PARAMETER);
  pub[64] ^= 1;
  pub[0] = 2; /* compressed form is not allowed */
  CHECK_EQ(vq_hs_kx_derive(k, VQ_HS_GROUP_SECP256R1, pub, 33, shared, &sl), VQ_ERR_TLS_ILLEGAL_PARAMETER);
  pub[0] = 4;
  CHECK_EQ(vq_hs_kx_derive(k, VQ_HS_GROUP_SECP256R1, pub, 65, shared, &sl), VQ_OK); /* our own point */
  CHECK_EQ(sl, 32);
  EVP_PKEY_free(k);
  k = NULL;
  uint8_t zero[32] = {0};
  CHECK_EQ(vq_hs_kx_keygen(VQ_HS_GROUP_X25519, &k, pub, &pl), VQ_OK);
  CHECK_EQ(pl, 32);
  CHECK_EQ(vq_hs_kx_derive(k, VQ_HS_GROUP_X25519, zero, 32, shared, &sl), VQ_ERR_TLS_ILLEGAL_PARAMETER);
  CHECK_EQ(vq_hs_kx_derive(k, VQ_HS_GROUP_X25519, zero, 31, shared, &sl), VQ_ERR_TLS_ILLEGAL_PARAMETER);
  EVP_PKEY_free(k);
}

/* spec: rfc8446#4.4.2.4 — an expired server certificate: certificate_expired, with OpenSSL's reason. */
VQ_TEST(hs_verify_expired_cert)
{
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *x = NULL;
  CHECK(k != NULL);
  if (!k) return;
  CHECK_EQ(vq_hs_selfsigned(k, "localhost", &x), VQ_OK);
  if (!x) return;
  X509_gmtime_adj(X509_getm_notBefore(x), -7200);
  X509_gmtime_adj(X509_getm_notAfter(x), -60);
  CHECK(X509_sign(x, k, EVP_sha256()) > 0);
  char *cert = pem_of(0, x), *key = pem_of(1, k);
  opts o;
  defaults(&o);
  o.cert_pem = cert;
  o.key_pem = key;
  o.insecure = 0;
  o.ca_pem = cert;
  run_fail(t, &o, 0, VQ_ERR_TLS_CERTIFICATE_EXPIRED, 45, "certificate has expired");
  free(cert);
  free(key);
  X509_free(x);
  EVP_PKEY_free(k);
}

/* ---- RFC 8446 conformance: negotiation details ------------------------------------------------ */

static int g_hrr_n, g_hrr_exts_ok;
static uint16_t g_sh_group;
static void spy_sh(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  vq_tls_server_hello sh;
  if (!from_server || l != VQ_LEVEL_INITIAL || vq_tls_msg_split(b, n, &m) != VQ_OK ||
      m.type != VQ_TLS_SERVER_HELLO || vq_tls_parse_server_hello(m.body.p, m.body.len, &sh) != VQ_OK)
    return;
  if (sh.is_hrr) {
    g_hrr_n++;
    g_hrr_exts_ok = sh.ext.n_ext == 2 && sh.ext.n_unknown == 0 &&
                    sh.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] && sh.ext.has[VQ_TLS_EXT_KEY_SHARE] &&
                    !sh.ext.has[VQ_TLS_EXT_COOKIE];
  } else {
    g_sh_group = sh.ext.key_share_group;
  }
}

/* spec: rfc8446#4.2.8/13 — a client whose supported_groups lists only secp256r1 but whose key share
 * is x25519: the server does not answer in x25519 (a group the client did not list) but asks for a
 * secp256r1 share with a HelloRetryRequest and answers in secp256r1; a server accepting only x25519
 * has no group left: handshake_failure. spec: rfc8446#4.1.4/1, rfc8446#4.1.4/2 — that
 * HelloRetryRequest carries supported_versions and key_share, both of which the client sent, and
 * nothing else. */
VQ_TEST(hs_server_share_only_in_client_groups)
{
  opts o;
  defaults(&o);
  o.ch.n_groups = 1;
  o.ch.groups[0] = VQ_HS_GROUP_SECP256R1;
  o.ch.client_share_group = VQ_HS_GROUP_X25519;
  o.tamper = spy_sh;
  g_hrr_n = g_hrr_exts_ok = 0;
  g_sh_group = 0;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK_EQ(g_hrr_n, 1);
  CHECK(g_hrr_exts_ok);
  CHECK_EQ(g_sh_group, VQ_HS_GROUP_SECP256R1);
  o.sh.n_groups = 1;
  o.sh.groups[0] = VQ_HS_GROUP_X25519;
  run_fail(t, &o, 1, VQ_ERR_TLS_HANDSHAKE_FAILURE, 40, "no key exchange group");
  /* the control: with x25519 listed too, the x25519 share is used at once */
  defaults(&o);
  o.tamper = spy_sh;
  g_hrr_n = 0;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK_EQ(g_hrr_n, 0);
  CHECK_EQ(g_sh_group, VQ_HS_GROUP_X25519);
}

/* The ClientHellos queued at the Initial level of x: the first in *a, the second (if any) in *b;
 * returns how many. */
static int client_hellos(vq_tls *x, vq_tls_client_hello *a, vq_tls_client_hello *b)
{
  const uint8_t *d;
  size_t n;
  vq_tls_msg m;
  int k = 0;
  vq_tls_out_peek(x, VQ_LEVEL_INITIAL, &d, &n);
  while (k < 2 && n && vq_tls_msg_split(d, n, &m) == VQ_OK &&
         vq_tls_parse_client_hello(m.body.p, m.body.len, k ? b : a) == VQ_OK) {
    k++;
    d += m.size;
    n -= m.size;
  }
  return k;
}

/* spec: rfc8446#4.2.2/2 — a HelloRetryRequest with a cookie: the second ClientHello carries the
 * same bytes in its cookie extension (the first carried none); spec: rfc8446#4.2.2/3 — the cookie
 * stays with that connection: a new connection's first ClientHello on the same context has none. */
VQ_TEST(hs_hrr_cookie_echoed_once)
{
  static const uint8_t cookie[7] = {0xc0, 0x01, 0x02, 0x03, 0x04, 0x05, 0xff};
  uint8_t a[256];
  solo c;
  sh_reset();
  g_sh_cookie = cookie;
  g_sh_cookie_len = sizeof cookie;
  size_t na = build_sh(a, sizeof a, 1, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_SECP256R1);
  sh_reset();
  CHECK(na > 0);
  if (solo_new(t, &c, 0)) {
    vq_tls_client_hello ch1, ch2;
    CHECK_EQ(vq_tls_recv(c.t, &c.cx, VQ_LEVEL_INITIAL, a, na), VQ_OK);
    CHECK_EQ(client_hellos(c.t, &ch1, &ch2), 2);
    CHECK(!ch1.ext.has[VQ_TLS_EXT_COOKIE]);
    CHECK(ch2.ext.has[VQ_TLS_EXT_COOKIE]);
    CHECK_MEM(ch2.ext.cookie.p, ch2.ext.cookie.len, cookie, sizeof cookie);
    vq_tls *x = NULL;
    vq_tls_params par = {"localhost", CLIENT_TP, sizeof CLIENT_TP};
    CHECK_EQ(vq_tls_new(&x, &c.mem, c.ctx, &par, &c.cx), VQ_OK);
    if (x) {
      CHECK_EQ(client_hellos(x, &ch1, &ch2), 1);
      CHECK(!ch1.ext.has[VQ_TLS_EXT_COOKIE]);
      vq_tls_free(x);
    }
  }
  solo_free(t, &c);
}

/* EncryptedExtensions rewritten with one more extension (g_ee_add). */
static int g_ee_add;
static size_t ee_add(int from_server, vq_level l, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
  static const uint8_t groups[2] = {0x00, 0x1d};
  vq_tls_msg m;
  vq_tls_encrypted_extensions ee;
  size_t used = 0;
  if (!from_server || l != VQ_LEVEL_HANDSHAKE || vq_tls_msg_split(in, n, &m) != VQ_OK ||
      m.type != VQ_TLS_ENCRYPTED_EXTENSIONS ||
      vq_tls_parse_encrypted_extensions(m.body.p, m.body.len, &ee) != VQ_OK)
    return 0;
  ee.ext.has[g_ee_add] = 1;
  ee.ext.groups.p = groups;
  ee.ext.groups.len = sizeof groups;
  if (vq_tls_build_encrypted_extensions(out, cap, &ee, &used) != VQ_OK || used + n - m.size > cap)
    return 0;
  memcpy(out + used, in + m.size, n - m.size);
  return used + n - m.size;
}

/* spec: rfc8446#4.2/4 — an extension answering nothing the client sent: unsupported_extension, per
 * case: pre_shared_key in a ServerHello when no PSK was offered; server_name in
 * EncryptedExtensions when no SNI was sent (an IP literal); early_data when no 0-RTT was offered.
 * The controls: server_name when SNI was sent, and spec: rfc8446#4.2.7/1 — supported_groups (which
 * the client does not act upon during the handshake) are accepted in EncryptedExtensions: the
 * handshake fails only at the server's Finished, whose transcript did not have them. */
VQ_TEST(hs_unrequested_extensions)
{
  uint8_t a[256];
  vq_tls_test_hooks none = {0};
  sh_reset();
  g_sh_psk = 1;
  size_t na = build_sh(a, sizeof a, 0, VQ_CS_AES_128_GCM_SHA256, VQ_HS_GROUP_X25519);
  sh_reset();
  CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_ERR_TLS_UNSUPPORTED_EXTENSION);
  CHECK(strstr(g_detail, "pre_shared_key") != NULL);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_UNSUPPORTED_EXTENSION), 110);
  opts o;
  defaults(&o);
  o.rewrite = ee_add;
  o.name = "127.0.0.1";
  g_ee_add = VQ_TLS_EXT_SERVER_NAME;
  run_fail(t, &o, 0, VQ_ERR_TLS_UNSUPPORTED_EXTENSION, 110, "server_name acknowledged but not sent");
  g_ee_add = VQ_TLS_EXT_EARLY_DATA;
  run_fail(t, &o, 0, VQ_ERR_TLS_UNSUPPORTED_EXTENSION, 110, "early_data accepted but not offered");
  o.name = "localhost";
  g_ee_add = VQ_TLS_EXT_SERVER_NAME;
  run_fail(t, &o, 0, VQ_ERR_TLS_DECRYPT_ERROR, 51, "CertificateVerify signature does not verify");
  g_ee_add = VQ_TLS_EXT_SUPPORTED_GROUPS;
  run_fail(t, &o, 0, VQ_ERR_TLS_DECRYPT_ERROR, 51, "CertificateVerify signature does not verify");
}

/* Checks the server's Handshake-level flight d[0..n): EncryptedExtensions with ALPN and
 * quic_transport_parameters only, a Certificate with an empty context, at least one entry, no entry
 * extensions; the first entry's DER in *leaf. */
static void check_server_flight(vq_t *t, const uint8_t *d, size_t n, vq_tls_span *leaf)
{
  vq_tls_msg m;
  vq_tls_encrypted_extensions ee;
  vq_tls_certificate ct;
  vq_tls_cert_entry ce;
  size_t off = 0, k = 0;
  leaf->p = NULL;
  leaf->len = 0;
  CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
  CHECK_EQ(m.type, VQ_TLS_ENCRYPTED_EXTENSIONS);
  CHECK_EQ(vq_tls_parse_encrypted_extensions(m.body.p, m.body.len, &ee), VQ_OK);
  CHECK_EQ(ee.ext.n_ext, 2);
  CHECK_EQ(ee.ext.n_unknown, 0);
  CHECK(ee.ext.has[VQ_TLS_EXT_ALPN] && ee.ext.has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS]);
  CHECK(m.size < n);
  if (m.size >= n) return;
  CHECK_EQ(vq_tls_msg_split(d + m.size, n - m.size, &m), VQ_OK);
  CHECK_EQ(m.type, VQ_TLS_CERTIFICATE);
  CHECK_EQ(vq_tls_parse_certificate(m.body.p, m.body.len, &ct), VQ_OK);
  CHECK_EQ(ct.context.len, 0);
  CHECK(ct.count >= 1);
  while (vq_tls_cert_next(ct.list, &off, &ce) == VQ_OK) {
    if (k++ == 0) *leaf = ce.cert_data;
    CHECK_EQ(ce.extensions.len, 0);
  }
  CHECK_EQ(k, ct.count);
}

/* spec: rfc8446#4.2/3 — the server's EncryptedExtensions answers only what the ClientHello asked
 * (ALPN, quic_transport_parameters). spec: rfc8446#4.4.2/15, rfc8446#4.4.2/9, rfc8446#4.4.2/6,
 * rfc8446#4.4.2.2/1 — its Certificate is never empty, its first entry is the configured leaf
 * (DER X.509), and no entry carries extensions. spec: rfc8446#4.4.2.1/2, rfc8446#4.4.2.1/3 — a
 * ClientHello with status_request (type 5) is processed all the same, and nothing in the
 * server's messages answers it. */
VQ_TEST(hs_server_flight_answers_only_requests)
{
  solo c, s;
  if (solo_new(t, &c, 0) && solo_new(t, &s, 1)) {
    const uint8_t *d;
    size_t n;
    vq_tls_msg m;
    vq_tls_client_hello ch;
    vq_tls_out_peek(c.t, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
    /* status_request (RFC 6066 §8): status_type ocsp, empty responder_id_list and extensions,
     * spliced in front of the other extensions */
    static const uint8_t sr[9] = {0x00, 0x05, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00};
    uint8_t *buf = malloc(m.size + sizeof sr);
    memcpy(buf, d, m.size);
    size_t used = m.size;
    size_t ext_at = 4 + 2 + 32 + 1 + ch.session_id.len + 2 + ch.cipher_suites.len + 2;
    memmove(buf + ext_at + 2 + sizeof sr, buf + ext_at + 2, used - ext_at - 2);
    memcpy(buf + ext_at + 2, sr, sizeof sr);
    used += sizeof sr;
    size_t el = (size_t)(buf[ext_at] << 8 | buf[ext_at + 1]) + sizeof sr;
    buf[ext_at] = (uint8_t)(el >> 8);
    buf[ext_at + 1] = (uint8_t)el;
    size_t body = used - 4;
    buf[1] = (uint8_t)(body >> 16);
    buf[2] = (uint8_t)(body >> 8);
    buf[3] = (uint8_t)body;
    vq_tls_client_hello ch2;
    CHECK_EQ(vq_tls_parse_client_hello(buf + 4, body, &ch2), VQ_OK);
    CHECK_EQ(ch2.ext.n_unknown, 1);
    CHECK_EQ(ch2.ext.unknown_type[0], 5);
    CHECK_EQ(vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, buf, used), VQ_OK);
    free(buf);
    vq_tls_server_hello sh;
    vq_tls_out_peek(s.t, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_server_hello(m.body.p, m.body.len, &sh), VQ_OK);
    CHECK_EQ(sh.ext.n_ext, 2);
    vq_tls_span leaf;
    const uint8_t *der = NULL;
    size_t der_len = 0;
    vq_tls_out_peek(s.t, VQ_LEVEL_HANDSHAKE, &d, &n);
    check_server_flight(t, d, n, &leaf);
    CHECK_EQ(vq_tls_ctx_leaf_der(s.ctx, &der, &der_len), VQ_OK);
    CHECK_MEM(leaf.p, leaf.len, der, der_len);
  }
  solo_free(t, &s);
  solo_free(t, &c);
}

/* A fresh client's ClientHello without extension `drop`, fed to a fresh server: its status. */
static vq_status server_gets_without(vq_t *t, vq_tls_ext_id drop)
{
  solo c, s;
  vq_status st = VQ_ERR_INTERNAL;
  if (solo_new(t, &c, 0) && solo_new(t, &s, 1)) {
    const uint8_t *d;
    size_t n, used = 0;
    vq_tls_msg m;
    vq_tls_client_hello ch;
    uint8_t buf[2048];
    vq_tls_out_peek(c.t, VQ_LEVEL_INITIAL, &d, &n);
    CHECK_EQ(vq_tls_msg_split(d, n, &m), VQ_OK);
    CHECK_EQ(vq_tls_parse_client_hello(m.body.p, m.body.len, &ch), VQ_OK);
    CHECK(ch.ext.has[drop]);
    ch.ext.has[drop] = 0;
    CHECK_EQ(vq_tls_build_client_hello(buf, sizeof buf, &ch, &used), VQ_OK);
    st = vq_tls_recv(s.t, &s.cx, VQ_LEVEL_INITIAL, buf, used);
    CHECK_EQ(vq_tls_alert(s.t), st == VQ_OK ? -1 : vq_status_tls_alert(st));
  }
  solo_free(t, &s);
  solo_free(t, &c);
  return st;
}

/* spec: rfc8446#9.2/9, rfc8446#9.2/12 — a ClientHello without pre_shared_key must carry
 * signature_algorithms and supported_groups, and supported_groups goes with key_share: without
 * any of the three the server aborts with missing_extension; spec: rfc8446#4.2.3/3 — in particular
 * a server authenticating with a certificate, offered no signature_algorithms. */
VQ_TEST(hs_server_missing_extensions)
{
  static const vq_tls_ext_id drop[3] = {VQ_TLS_EXT_SIGNATURE_ALGORITHMS, VQ_TLS_EXT_SUPPORTED_GROUPS,
                                        VQ_TLS_EXT_KEY_SHARE};
  for (int i = 0; i < 3; i++) CHECK_EQ(server_gets_without(t, drop[i]), VQ_ERR_TLS_MISSING_EXTENSION);
  CHECK_EQ(vq_status_tls_alert(VQ_ERR_TLS_MISSING_EXTENSION), 109);
  /* the control: dropping server_name (optional) is fine */
  CHECK_EQ(server_gets_without(t, VQ_TLS_EXT_SERVER_NAME), VQ_OK);
}

/* A CertificateRequest: empty context, signature_algorithms (ecdsa_secp256r1_sha256) and an
 * unknown extension 0x7a7a. */
static const uint8_t CERT_REQUEST[20] = {13,   0, 0, 16, 0, 0, 13, 0x00, 0x0d, 0x00, 0x04,
                                         0x00, 2, 4, 3,  0x7a, 0x7a, 0x00, 0x01, 0x00};
static int g_cli_types[8], g_cli_ntypes, g_cli_cert_count, g_cli_cert_ctx;
static void spy_client_flight(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  vq_tls_certificate ct;
  if (from_server || l != VQ_LEVEL_HANDSHAKE) return;
  while (n && vq_tls_msg_split(b, n, &m) == VQ_OK) {
    if (g_cli_ntypes < 8) g_cli_types[g_cli_ntypes++] = m.type;
    if (m.type == VQ_TLS_CERTIFICATE && vq_tls_parse_certificate(m.body.p, m.body.len, &ct) == VQ_OK) {
      g_cli_cert_count = (int)ct.count;
      g_cli_cert_ctx = (int)ct.context.len;
    }
    b += m.size;
    n -= m.size;
  }
}

/* The client's Handshake flight without its first message (the Certificate). */
static size_t drop_client_cert(int from_server, vq_level l, const uint8_t *in, size_t n, uint8_t *out,
                               size_t cap)
{
  vq_tls_msg m;
  (void)cap;
  if (from_server || l != VQ_LEVEL_HANDSHAKE || vq_tls_msg_split(in, n, &m) != VQ_OK ||
      m.type != VQ_TLS_CERTIFICATE || m.size >= n)
    return 0;
  memcpy(out, in + m.size, n - m.size);
  return n - m.size;
}

/* spec: rfc8446#4.4.2/2, rfc8446#4.4.2/3, rfc8446#4.4.2/4 — a server (test hook) that sends a
 * CertificateRequest: the client, which has no certificate, answers with a Certificate with an
 * empty certificate_list (and the request's empty context) followed by its Finished, and both
 * sides agree on every secret (the transcripts hold both messages); without the request the client
 * sends only Finished. spec: rfc8446#4.3.2/7, rfc8446#9.3/6 — the request carries an unknown
 * extension, which the client ignores. A client Finished without the requested Certificate is
 * unexpected_message at the server. */
VQ_TEST(hs_certificate_request_empty_certificate)
{
  opts o;
  defaults(&o);
  o.sh.cert_request = CERT_REQUEST;
  o.sh.cert_request_len = sizeof CERT_REQUEST;
  o.tamper = spy_client_flight;
  g_cli_ntypes = 0;
  g_cli_cert_count = g_cli_cert_ctx = -1;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK_EQ(g_cli_ntypes, 2);
  CHECK_EQ(g_cli_types[0], VQ_TLS_CERTIFICATE);
  CHECK_EQ(g_cli_types[1], VQ_TLS_FINISHED);
  CHECK_EQ(g_cli_cert_count, 0);
  CHECK_EQ(g_cli_cert_ctx, 0);
  /* without a request: Finished alone */
  defaults(&o);
  o.tamper = spy_client_flight;
  g_cli_ntypes = 0;
  CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  CHECK_EQ(g_cli_ntypes, 1);
  CHECK_EQ(g_cli_types[0], VQ_TLS_FINISHED);
  /* the requested Certificate left out */
  defaults(&o);
  o.sh.cert_request = CERT_REQUEST;
  o.sh.cert_request_len = sizeof CERT_REQUEST;
  o.rewrite = drop_client_cert;
  run_fail(t, &o, 1, VQ_ERR_TLS_UNEXPECTED_MESSAGE, 10, "without the requested Certificate");
}

/* An allocator that reports every freed block holding the first 16 bytes of a watched secret. */
typedef struct watch_alloc {
  vq_allocator a;
  const vq_tls_secret *sec[2];
  size_t nsec[2];
  int found, freed;
} watch_alloc;
static void *wa_alloc(void *ud, size_t n)
{
  (void)ud;
  return malloc(n);
}
static void wa_free(void *ud, void *p, size_t n)
{
  watch_alloc *w = ud;
  const uint8_t *b = p;
  w->freed++;
  for (int side = 0; side < 2; side++)
    for (size_t i = 0; i < w->nsec[side]; i++)
      for (size_t off = 0; off + 16 <= n; off++)
        if (memcmp(b + off, w->sec[side][i].secret, 16) == 0) w->found++;
  free(p);
}

/* spec: rfc8446#6/3 — a failed handshake (the server's Finished tampered with: decrypt_error at the
 * client) forgets its secrets: vq_tls_free wipes the state before giving it back, so no block
 * returned to the allocator holds any traffic secret either side announced. */
VQ_TEST(hs_failed_handshake_forgets_secrets)
{
  watch_alloc w;
  memset(&w, 0, sizeof w);
  w.a.alloc = wa_alloc;
  w.a.free = wa_free;
  w.a.ud = &w;
  opts o;
  defaults(&o);
  o.alloc = &w.a;
  o.tamper = flip_server_finished;
  pair p;
  if (setup(t, &p, &o)) {
    CHECK_EQ(pump(&p, &o), VQ_ERR_TLS_DECRYPT_ERROR);
    CHECK_EQ(vq_tls_alert(p.c), 51);
    CHECK(p.nc >= 2 && p.ns >= 2); /* the Handshake secrets were announced */
    w.sec[0] = p.csec;
    w.nsec[0] = p.nc;
    w.sec[1] = p.ssec;
    w.nsec[1] = p.ns;
  }
  teardown(t, &p);
  CHECK(w.freed > 0);
  CHECK_EQ(w.found, 0);
}

/* A certificate for subject cn with key k, issued by (issuer, ikey) or self-signed when issuer is
 * NULL (then a CA: basicConstraints CA:TRUE), signed with md; leaves get SAN DNS:localhost. */
static const char *g_leaf_ku; /* mk_x509: a keyUsage value for leaves, NULL: none */
static X509 *mk_x509(const char *cn, EVP_PKEY *k, X509 *issuer, EVP_PKEY *ikey, const EVP_MD *md)
{
  X509 *x = X509_new();
  X509_NAME *nm = X509_NAME_new();
  X509V3_CTX v3;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), issuer ? 2 : 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
  X509_set_subject_name(x, nm);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
  X509_NAME_free(nm);
  X509_set_pubkey(x, k);
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
  X509_EXTENSION *e = issuer ? X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost")
                             : X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  if (issuer && g_leaf_ku) {
    e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, g_leaf_ku);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  if (X509_sign(x, issuer ? ikey : k, md) <= 0) {
    X509_free(x);
    return NULL;
  }
  return x;
}

/* spec: rfc8446#4.4.2.4/4 — a server leaf whose issuer signed it with RSA and MD5: the client,
 * which would have to validate an MD5 signature, aborts with bad_certificate; the control, the
 * same chain signed with SHA-256 (rsa_pkcs1_sha256: spec: rfc8446#9.1/2, supported for
 * certificates), is accepted. spec: rfc8446#4.4.2.2/9 — a chain the client cannot
 * accept aborts with a certificate-related alert. */
VQ_TEST(hs_verify_md5_signed_cert)
{
  EVP_PKEY *cak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  EVP_PKEY *lk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *ca = cak ? mk_x509("vquic test CA", cak, NULL, NULL, EVP_sha256()) : NULL;
  CHECK(ca != NULL && lk != NULL);
  if (!ca || !lk) {
    EVP_PKEY_free(cak);
    EVP_PKEY_free(lk);
    return;
  }
  char *ca_pem = pem_of(0, ca), *key_pem = pem_of(1, lk);
  for (int i = 0; i < 2; i++) {
    X509 *leaf = mk_x509("localhost", lk, ca, cak, i ? EVP_md5() : EVP_sha256());
    CHECK(leaf != NULL);
    if (!leaf) continue;
    CHECK_EQ(OBJ_obj2nid(X509_get0_tbs_sigalg(leaf)->algorithm),
             i ? NID_md5WithRSAEncryption : NID_sha256WithRSAEncryption);
    char *leaf_pem = pem_of(0, leaf);
    opts o;
    defaults(&o);
    o.insecure = 0;
    o.ca_pem = ca_pem;
    o.cert_pem = leaf_pem;
    o.key_pem = key_pem;
    if (i) run_fail(t, &o, 0, VQ_ERR_TLS_BAD_CERTIFICATE, 42, "MD5");
    else CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
    free(leaf_pem);
    X509_free(leaf);
  }
  free(ca_pem);
  free(key_pem);
  X509_free(ca);
  EVP_PKEY_free(cak);
  EVP_PKEY_free(lk);
}

/* spec: rfc8446#9.3/4 — the client supports every parameter its ClientHello advertises: a server
 * that accepts only one of the offered suites, or only one of the offered groups, completes the
 * handshake with it; every offered signature scheme signs and verifies a CertificateVerify
 * (vq_hs_sign / vq_hs_verify) with a key of its type. */
VQ_TEST(hs_client_supports_all_it_offers)
{
  solo c;
  vq_tls_client_hello ch, unused;
  if (!solo_new(t, &c, 0)) {
    solo_free(t, &c);
    return;
  }
  CHECK_EQ(client_hellos(c.t, &ch, &unused), 1);
  for (size_t i = 0; i + 1 < ch.cipher_suites.len; i += 2) {
    opts o;
    defaults(&o);
    o.sh.n_suites = 1;
    o.sh.suites[0] = (uint16_t)(ch.cipher_suites.p[i] << 8 | ch.cipher_suites.p[i + 1]);
    CHECK(run_ok(t, &o, (vq_cipher_suite)o.sh.suites[0]));
  }
  for (size_t i = 0; i + 1 < ch.ext.groups.len; i += 2) {
    opts o;
    defaults(&o);
    o.sh.n_groups = 1;
    o.sh.groups[0] = (uint16_t)(ch.ext.groups.p[i] << 8 | ch.ext.groups.p[i + 1]);
    CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
  }
  EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  uint8_t th[32], sig[VQ_HS_SIG_MAX];
  for (int i = 0; i < 32; i++) th[i] = (uint8_t)(i * 5);
  size_t n_schemes = 0;
  for (size_t i = 0; i + 1 < ch.ext.sig_algs.len; i += 2) {
    uint16_t sch = (uint16_t)(ch.ext.sig_algs.p[i] << 8 | ch.ext.sig_algs.p[i + 1]);
    EVP_PKEY *k = vq_hs_key_supports(ec, sch) ? ec : vq_hs_key_supports(ed, sch) ? ed
                  : vq_hs_key_supports(rsa, sch) ? rsa : NULL;
    CHECK(k != NULL);
    if (!k) continue;
    size_t sl = 0;
    CHECK_EQ(vq_hs_sign(k, sch, 1, th, sizeof th, sig, sizeof sig, &sl), VQ_OK);
    CHECK_EQ(vq_hs_verify(k, sch, 1, th, sizeof th, sig, sl), VQ_OK);
    sig[0] ^= 1;
    CHECK(vq_hs_verify(k, sch, 1, th, sizeof th, sig, sl) != VQ_OK);
    n_schemes++;
  }
  CHECK(n_schemes >= 3);
  EVP_PKEY_free(ec);
  EVP_PKEY_free(ed);
  EVP_PKEY_free(rsa);
  solo_free(t, &c);
}

static uint8_t g_ch_random[32], g_sh_random[32], g_ch_share[65], g_sh_share[65];
static size_t g_ch_share_len, g_sh_share_len;
static void spy_hellos(int from_server, vq_level l, uint8_t *b, size_t n)
{
  vq_tls_msg m;
  if (l != VQ_LEVEL_INITIAL || vq_tls_msg_split(b, n, &m) != VQ_OK) return;
  if (!from_server) {
    vq_tls_client_hello ch;
    vq_tls_key_share_entry e;
    size_t off = 0;
    if (vq_tls_parse_client_hello(m.body.p, m.body.len, &ch) != VQ_OK ||
        vq_tls_key_share_next(ch.ext.key_shares, &off, &e) != VQ_OK || e.key_exchange.len > 65)
      return;
    memcpy(g_ch_random, ch.random, 32);
    memcpy(g_ch_share, e.key_exchange.p, e.key_exchange.len);
    g_ch_share_len = e.key_exchange.len;
  } else {
    vq_tls_server_hello sh;
    if (vq_tls_parse_server_hello(m.body.p, m.body.len, &sh) != VQ_OK || sh.ext.key_share.len > 65) return;
    memcpy(g_sh_random, sh.random, 32);
    memcpy(g_sh_share, sh.ext.key_share.p, sh.ext.key_share.len);
    g_sh_share_len = sh.ext.key_share.len;
  }
}

/* spec: rfc8446#4.1.3/3 — the server's random is not the client's nor derived from it (two
 * handshakes: four distinct randoms). spec: rfc8446#4.2.8/5 — each key_exchange value is generated
 * on its own: the client's shares of two connections differ, and differ from the server's. */
VQ_TEST(hs_randoms_and_shares_independent)
{
  uint8_t rnd[2][2][32], share[2][65];
  for (int run = 0; run < 2; run++) {
    opts o;
    defaults(&o);
    o.tamper = spy_hellos;
    g_ch_share_len = g_sh_share_len = 0;
    CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
    CHECK_EQ(g_ch_share_len, 32);
    CHECK_EQ(g_sh_share_len, 32);
    memcpy(rnd[run][0], g_ch_random, 32);
    memcpy(rnd[run][1], g_sh_random, 32);
    memcpy(share[run], g_ch_share, 32);
    CHECK(memcmp(g_ch_share, g_sh_share, 32) != 0);
    CHECK(memcmp(g_ch_random, g_sh_random, 32) != 0);
  }
  CHECK(memcmp(share[0], share[1], 32) != 0);
  CHECK(memcmp(rnd[0][0], rnd[1][0], 32) != 0 && memcmp(rnd[0][1], rnd[1][1], 32) != 0);
  CHECK(memcmp(rnd[0][1], rnd[1][0], 32) != 0 && memcmp(rnd[0][0], rnd[1][1], 32) != 0);
}

/* spec: rfc8446#4.4.2/12 — a server chain with its leaf first, then an unrelated certificate, then
 * the CA (extraneous and out of order): the client takes the first entry as the end-entity
 * certificate and verifies it against the trusted CA all the same. */
VQ_TEST(hs_verify_extra_certs_any_order)
{
  EVP_PKEY *cak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *ok = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *lk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *ca = mk_x509("vquic test CA", cak, NULL, NULL, EVP_sha256());
  X509 *other = mk_x509("unrelated", ok, NULL, NULL, EVP_sha256());
  X509 *leaf = ca ? mk_x509("localhost", lk, ca, cak, EVP_sha256()) : NULL;
  CHECK(ca && other && leaf);
  if (ca && other && leaf) {
    char *ca_pem = pem_of(0, ca), *other_pem = pem_of(0, other), *leaf_pem = pem_of(0, leaf);
    char *key_pem = pem_of(1, lk);
    size_t n = strlen(leaf_pem) + strlen(other_pem) + strlen(ca_pem) + 1;
    char *chain = malloc(n);
    snprintf(chain, n, "%s%s%s", leaf_pem, other_pem, ca_pem);
    opts o;
    defaults(&o);
    o.insecure = 0;
    o.ca_pem = ca_pem;
    o.cert_pem = chain;
    o.key_pem = key_pem;
    CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
    /* the first entry is the one that counts: the unrelated certificate first does not go with
     * the server's key, and such a context is refused */
    snprintf(chain, n, "%s%s%s", other_pem, leaf_pem, ca_pem);
    char err[200];
    vq_tls_ctx *x = NULL;
    vq_tls_ctx_config sc = {0};
    sc.is_server = 1;
    sc.cert_pem = (const uint8_t *)chain;
    sc.cert_pem_len = strlen(chain);
    sc.key_pem = (const uint8_t *)key_pem;
    sc.key_pem_len = strlen(key_pem);
    sc.alpn = ALPN_H3;
    sc.alpn_len = sizeof ALPN_H3;
    CHECK(vq_tls_ctx_new(&x, &sc, err, sizeof err) != VQ_OK); /* key does not match the first */
    vq_tls_ctx_free(x);
    free(chain);
    free(ca_pem);
    free(other_pem);
    free(leaf_pem);
    free(key_pem);
  }
  X509_free(ca);
  X509_free(other);
  X509_free(leaf);
  EVP_PKEY_free(cak);
  EVP_PKEY_free(ok);
  EVP_PKEY_free(lk);
}

/* spec: rfc8446#4.4.2.2/3 — a leaf whose Key Usage extension lacks digitalSignature (only
 * keyEncipherment, or keyAgreement) cannot sign the CertificateVerify: the client refuses it with
 * unsupported_certificate; with digitalSignature (alone or with others) it is accepted. */
VQ_TEST(hs_verify_key_usage_digital_signature)
{
  static const char *ku[4] = {"critical,keyEncipherment", "critical,keyAgreement",
                              "critical,digitalSignature", "digitalSignature,keyEncipherment"};
  EVP_PKEY *cak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *lk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *ca = mk_x509("vquic test CA", cak, NULL, NULL, EVP_sha256());
  CHECK(ca != NULL);
  char *ca_pem = ca ? pem_of(0, ca) : NULL, *key_pem = pem_of(1, lk);
  for (int i = 0; i < 4 && ca; i++) {
    g_leaf_ku = ku[i];
    X509 *leaf = mk_x509("localhost", lk, ca, cak, EVP_sha256());
    g_leaf_ku = NULL;
    CHECK(leaf != NULL);
    if (!leaf) continue;
    char *leaf_pem = pem_of(0, leaf);
    opts o;
    defaults(&o);
    o.insecure = 0;
    o.ca_pem = ca_pem;
    o.cert_pem = leaf_pem;
    o.key_pem = key_pem;
    if (i < 2) run_fail(t, &o, 0, VQ_ERR_TLS_UNSUPPORTED_CERTIFICATE, 43, "digitalSignature");
    else CHECK(run_ok(t, &o, VQ_CS_AES_128_GCM_SHA256));
    free(leaf_pem);
    X509_free(leaf);
  }
  free(ca_pem);
  free(key_pem);
  X509_free(ca);
  EVP_PKEY_free(cak);
  EVP_PKEY_free(lk);
}

/* spec: rfc8446#4.1.3/4 — a legacy_session_id_echo other than the client's (empty) one, in a
 * ServerHello or a HelloRetryRequest: illegal_parameter. */
VQ_TEST(hs_client_checks_session_id_echo)
{
  vq_tls_test_hooks none = {0};
  uint8_t a[256];
  sh_reset();
  for (int hrr = 0; hrr < 2; hrr++) {
    g_sh_sid_len = 8;
    size_t na = build_sh(a, sizeof a, hrr, VQ_CS_AES_128_GCM_SHA256,
                         hrr ? VQ_HS_GROUP_SECP256R1 : VQ_HS_GROUP_X25519);
    CHECK_EQ(client_gets(t, &none, a, na, NULL, 0), VQ_ERR_TLS_ILLEGAL_PARAMETER);
    CHECK(strstr(g_detail, "legacy_session_id_echo") != NULL);
  }
  sh_reset();
}

/* The server's Handshake flight with its Certificate replaced by one with no entries. */
static size_t empty_server_cert(int from_server, vq_level l, const uint8_t *in, size_t n, uint8_t *out,
                                size_t cap)
{
  static const uint8_t empty[8] = {VQ_TLS_CERTIFICATE, 0, 0, 4, 0, 0, 0, 0};
  vq_tls_msg m;
  size_t off = 0, o = 0;
  if (!from_server || l != VQ_LEVEL_HANDSHAKE) return 0;
  while (off < n && vq_tls_msg_split(in + off, n - off, &m) == VQ_OK && o + m.size + 8 <= cap) {
    if (m.type == VQ_TLS_CERTIFICATE) {
      memcpy(out + o, empty, sizeof empty);
      o += sizeof empty;
    } else {
      memcpy(out + o, in + off, m.size);
      o += m.size;
    }
    off += m.size;
  }
  return off == n ? o : 0;
}

/* EncryptedExtensions with the raw extension g_ee_raw spliced in front of the others. */
static const uint8_t *g_ee_raw;
static size_t g_ee_raw_len;
static size_t ee_splice(int from_server, vq_level l, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
  vq_tls_msg m;
  size_t rl = g_ee_raw_len;
  if (!from_server || l != VQ_LEVEL_HANDSHAKE || vq_tls_msg_split(in, n, &m) != VQ_OK ||
      m.type != VQ_TLS_ENCRYPTED_EXTENSIONS || m.size < 6 || n + rl > cap)
    return 0;
  memcpy(out, in, 6);
  memcpy(out + 6, g_ee_raw, rl);
  memcpy(out + 6 + rl, in + 6, n - 6);
  size_t body = m.size - 4 + rl, el = (size_t)(in[4] << 8 | in[5]) + rl;
  out[1] = (uint8_t)(body >> 16);
  out[2] = (uint8_t)(body >> 8);
  out[3] = (uint8_t)body;
  out[4] = (uint8_t)(el >> 8);
  out[5] = (uint8_t)el;
  return n + rl;
}

/* spec: rfc8446#4.4.2.4/1 — a server Certificate with an empty certificate_list: decode_error.
 * spec: rfc8446#4.3.1/2 — EncryptedExtensions with an extension that does not belong there
 * (supported_versions, key_share): illegal_parameter. */
VQ_TEST(hs_client_refuses_bad_server_flight)
{
  opts o;
  defaults(&o);
  o.rewrite = empty_server_cert;
  run_fail(t, &o, 0, VQ_ERR_TLS_DECODE, 50, "server sent no certificate");
  static const uint8_t sv[6] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};
  static const uint8_t ks[8] = {0x00, 0x33, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x00};
  static const uint8_t unknown[5] = {0x7a, 0x7a, 0x00, 0x01, 0x00};
  defaults(&o);
  o.rewrite = ee_splice;
  g_ee_raw = sv;
  g_ee_raw_len = sizeof sv;
  run_fail(t, &o, 0, VQ_ERR_TLS_ILLEGAL_PARAMETER, 47, "malformed EncryptedExtensions");
  g_ee_raw = ks;
  g_ee_raw_len = sizeof ks;
  run_fail(t, &o, 0, VQ_ERR_TLS_ILLEGAL_PARAMETER, 47, "malformed EncryptedExtensions");
  /* the control: an unknown extension there passes EncryptedExtensions (the handshake then fails
   * at the CertificateVerify, over a transcript without it) */
  g_ee_raw = unknown;
  g_ee_raw_len = sizeof unknown;
  run_fail(t, &o, 0, VQ_ERR_TLS_DECRYPT_ERROR, 51, "CertificateVerify");
}

/* spec: rfc8446#4.2.3/7 — RSA-PSS signatures (rsa_pss_rsae_sha256/384/512) by vq_hs_sign carry a
 * salt as long as the digest: OpenSSL verifies them with that exact salt length (32, 48, 64) and
 * refuses them with another. */
VQ_TEST(hs_rsa_pss_salt_is_digest_length)
{
  static const uint16_t schemes[3] = {VQ_HS_SIG_RSA_PSS_RSAE_SHA256, VQ_HS_SIG_RSA_PSS_RSAE_SHA384,
                                      VQ_HS_SIG_RSA_PSS_RSAE_SHA512};
  static const char ctxs[] = "TLS 1.3, server CertificateVerify";
  EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  CHECK(rsa != NULL);
  uint8_t th[48], sig[VQ_HS_SIG_MAX], content[64 + sizeof ctxs + 48];
  for (int i = 0; i < 48; i++) th[i] = (uint8_t)(i * 11 + 1);
  for (int i = 0; i < 3 && rsa; i++) {
    const EVP_MD *md = i == 0 ? EVP_sha256() : i == 1 ? EVP_sha384() : EVP_sha512();
    int hl = EVP_MD_get_size(md);
    size_t tl = i == 0 ? 32 : 48, sl = 0;
    CHECK_EQ(vq_hs_sign(rsa, schemes[i], 1, th, tl, sig, sizeof sig, &sl), VQ_OK);
    memset(content, 0x20, 64);
    memcpy(content + 64, ctxs, sizeof ctxs); /* with its terminating 0 as the separator */
    memcpy(content + 64 + sizeof ctxs, th, tl);
    size_t cl = 64 + sizeof ctxs + tl;
    for (int salt = 0; salt < 2; salt++) {
      EVP_MD_CTX *mc = EVP_MD_CTX_new();
      EVP_PKEY_CTX *pc = NULL;
      int ok = EVP_DigestVerifyInit(mc, &pc, md, NULL, rsa) == 1 &&
               EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
               EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salt ? hl - 1 : hl) == 1 &&
               EVP_DigestVerify(mc, sig, sl, content, cl) == 1;
      CHECK_EQ(ok, salt == 0);
      EVP_MD_CTX_free(mc);
    }
  }
  ERR_clear_error();
  EVP_PKEY_free(rsa);
}

/* spec: rfc8446#7.4.2/1 — the P-256 shared secret is always 32 bytes, leading zeros kept: key
 * pairs are drawn until one pair's secret starts with a zero byte, and both sides then derive the
 * same 32 bytes (with x25519 for comparison: 32 bytes too). */
VQ_TEST(hs_ecdh_secret_keeps_leading_zeros)
{
  int zero_seen = 0;
  for (int i = 0; i < 8192 && !zero_seen; i++) {
    EVP_PKEY *a = NULL, *b = NULL;
    uint8_t pa[VQ_HS_KX_MAX], pb[VQ_HS_KX_MAX], sa[VQ_SECRET_MAX], sb[VQ_SECRET_MAX];
    size_t la = 0, lb = 0, na = 0, nb = 0;
    uint16_t g = i == 0 ? VQ_HS_GROUP_X25519 : VQ_HS_GROUP_SECP256R1;
    CHECK_EQ(vq_hs_kx_keygen(g, &a, pa, &la), VQ_OK);
    CHECK_EQ(vq_hs_kx_keygen(g, &b, pb, &lb), VQ_OK);
    CHECK_EQ(vq_hs_kx_derive(a, g, pb, lb, sa, &na), VQ_OK);
    CHECK_EQ(vq_hs_kx_derive(b, g, pa, la, sb, &nb), VQ_OK);
    CHECK_EQ(na, 32);
    CHECK_MEM(sa, na, sb, nb);
    if (g == VQ_HS_GROUP_SECP256R1 && sa[0] == 0) zero_seen = 1;
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    if (t->failed) break;
  }
  CHECK(zero_seen);
}
