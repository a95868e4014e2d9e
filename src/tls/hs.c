/* vquic — the TLS 1.3 handshake for QUIC: client and server state machines (RFC 8446 §2, §4 as used
 * by RFC 9001 §4, §8). Full (EC)DHE handshakes with certificate authentication of the server, and
 * resumption with a ticket PSK in psk_dhe_ke mode (RFC 8446 §2.2: no Certificate/CertificateVerify)
 * with optional 0-RTT keys (RFC 8446 §2.3, RFC 9001 §4.6; no EndOfEarlyData in QUIC); tickets and
 * session blobs are src/tls/hs_resume.c's. No client certificates (a CertificateRequest is answered
 * with an empty Certificate, RFC 8446 §4.4.2).
 *
 * Sans-I/O: CRYPTO bytes come in per encryption level (vq_tls_recv), messages go out into a queue
 * per level, and traffic secrets are announced in the order the connection installs them.
 *
 *   client  C_WAIT_SH --SH--> C_WAIT_EE --EE--> C_WAIT_CERT_CR --(CR)--> C_WAIT_CERT --Cert--> C_WAIT_CV
 *           --CV--> C_WAIT_FIN --Finished--> C_DONE (NewSessionTicket accepted at 1-RTT)
 *           (resumed: C_WAIT_EE --EE--> C_WAIT_FIN)
 *           (C_WAIT_SH --HRR--> C_WAIT_SH with a second ClientHello)
 *   server  S_WAIT_CH --CH--> [HRR: S_WAIT_CH again] SH EE Cert CV Finished --> S_WAIT_FIN
 *           (resumed: SH EE Finished) --Finished--> S_DONE, then NewSessionTicket at 1-RTT
 *
 * Every failure is sticky: the status, the alert and a detail string stay, and every later call
 * returns the same status.
 *
 * spec: rfc9000#7/1 — TLS 1.3 gives QUIC what it needs: an authenticated (EC)DHE key exchange with
 * fresh key shares from OpenSSL's RAND per connection (distinct, unrelated keys), the server always
 * authenticated (chain, name and CertificateVerify: below), keys for 0-RTT and 1-RTT, the
 * transport parameters in an authenticated extension (encrypted from the server), ALPN
 * (rfc9001#8.1). */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "tls/hs_internal.h"

enum hs_state {
  C_WAIT_SH = 1,
  C_WAIT_EE,
  C_WAIT_CERT_CR,
  C_WAIT_CERT,
  C_WAIT_CV,
  C_WAIT_FIN,
  C_DONE,
  S_WAIT_CH,
  S_WAIT_FIN,
  S_DONE,
};

typedef struct out_buf {
  uint8_t *p;
  size_t off, len, cap; /* p[off .. len) waits to be sent */
} out_buf;

#define SECRET_QUEUE 8u
/* spec: rfc8446#4.2.10/3 — the window within which the client's view of the ticket age must match
 * the server's for 0-RTT to be accepted (the RTT, clock drift over the ticket's life, jitter). */
#define AGE_TOLERANCE_MS 10000u

struct vq_tls {
  vq_mem *mem;
  const vq_tls_ctx *ctx;
  int server;
  int state;
  int hrr;                 /* a HelloRetryRequest was sent (server) / received (client) */
  vq_status err;           /* sticky */
  int alert;
  char detail[256];

  uint8_t *in;             /* the incomplete message at the current receive level */
  size_t in_len, in_cap;
  out_buf out[VQ_LEVEL_COUNT];
  vq_tls_secret q[SECRET_QUEUE];
  size_t q_head, q_len;

  vq_hs_transcript th;
  vq_cipher_suite suite;
  vq_hash hash;
  size_t hl;

  uint16_t group;          /* the group of our key share */
  EVP_PKEY *kx;
  uint16_t sig_scheme;

  uint8_t client_random[VQ_TLS_RANDOM_LEN];
  uint8_t hs_secret[VQ_SECRET_MAX];
  uint8_t master[VQ_SECRET_MAX];
  uint8_t c_hs[VQ_SECRET_MAX], s_hs[VQ_SECRET_MAX];
  uint8_t c_ap[VQ_SECRET_MAX], s_ap[VQ_SECRET_MAX];
  uint8_t res_master[VQ_SECRET_MAX];

  uint8_t *local_tp;
  size_t local_tp_len;
  uint8_t *peer_tp;
  size_t peer_tp_len;
  uint8_t *cookie;         /* client: the HelloRetryRequest's cookie, echoed */
  size_t cookie_len;
  uint8_t alpn[256];
  size_t alpn_len;
  char server_name[256];
  int send_sni;

  /* client */
  STACK_OF(X509) *peer_chain; /* leaf first */
  int cert_requested;
  uint8_t cr_ctx[255];
  size_t cr_ctx_len;

  /* resumption and 0-RTT */
  uint64_t wall0;          /* vq_tls_params.wall_ms (0: no resumption on this connection) */
  vq_time mono0;           /* cx->now at vq_tls_new */
  vq_time mono_now;        /* cx->now of the call being processed */
  int resumed;             /* the server accepted the PSK */
  int early_offered;       /* client: early_data sent in ClientHello1 */
  int early_accepted;
  int psk_sent;            /* client: the last ClientHello carried pre_shared_key */
  uint8_t early[VQ_SECRET_MAX];   /* Early Secret of the PSK */
  uint8_t c_early[VQ_SECRET_MAX]; /* client_early_traffic_secret */
  uint8_t *offer;          /* client: the offered session blob (sess points into it) */
  size_t offer_len;
  vq_hs_session sess;
  int sess_ok;             /* client: sess is offered */
  vq_hash sess_hash;
  uint8_t *session;        /* client: the latest session blob from a NewSessionTicket */
  size_t session_len;
  uint64_t tickets_sent;   /* server: the ticket_nonce of the next */
  /* server: told the client's transport parameters before the server's flight is built */
  vq_tls_tp_hook tp_hook;
  void *tp_hook_ud;
  uint64_t sessions_received; /* client: sessions kept from NewSessionTickets */
  int (*early_check)(void *ud, const uint8_t *ticket, size_t len, uint64_t expires_ms);
  void *early_check_ud;    /* server: the anti-replay check (vq_tls_resume) */
  uint8_t early_app[VQ_TLS_EARLY_APP_MAX]; /* server: vq_tls_resume.early_app */
  size_t early_app_len;
  int early_app_long;      /* server: early_app was longer than VQ_TLS_EARLY_APP_MAX: no 0-RTT */
  uint32_t quic_version0;  /* vq_tls_resume.quic_version: the first flight's (RFC 9369 §5) */
  uint32_t quic_version;   /* what issued tickets / stored sessions carry (vq_tls_set_quic_version) */
};

static const uint16_t default_suites[3] = {VQ_CS_AES_128_GCM_SHA256, VQ_CS_AES_256_GCM_SHA384,
                                           VQ_CS_CHACHA20_POLY1305_SHA256};
static const uint16_t default_groups[2] = {VQ_HS_GROUP_X25519, VQ_HS_GROUP_SECP256R1};
/* What the client offers in signature_algorithms. */
static const uint16_t offered_sigs[5] = {VQ_HS_SIG_ECDSA_P256_SHA256, VQ_HS_SIG_ED25519,
                                         VQ_HS_SIG_RSA_PSS_RSAE_SHA256, VQ_HS_SIG_RSA_PSS_RSAE_SHA384,
                                         VQ_HS_SIG_RSA_PSS_RSAE_SHA512};
/* What the client offers in signature_algorithms_cert: besides offered_sigs, the schemes that only
 * certificate signatures use, which X509_verify_cert (vq_hs_verify_chain) verifies: ECDSA with
 * P-384/P-521 and RSASSA-PKCS1-v1_5 with SHA-2 (never SHA-1 or MD5, rfc8446#4.2.3). */
#define N_CERT_SIGS 10
static const uint16_t offered_cert_sigs[N_CERT_SIGS] = {
    VQ_HS_SIG_ECDSA_P256_SHA256,   VQ_HS_SIG_ED25519, VQ_HS_SIG_RSA_PSS_RSAE_SHA256,
    VQ_HS_SIG_RSA_PSS_RSAE_SHA384, VQ_HS_SIG_RSA_PSS_RSAE_SHA512,
    0x0503u /* ecdsa_secp384r1_sha384 */, 0x0603u /* ecdsa_secp521r1_sha512 */,
    0x0401u /* rsa_pkcs1_sha256 */,       0x0501u /* rsa_pkcs1_sha384 */,
    0x0601u /* rsa_pkcs1_sha512 */};

/* ---- errors ------------------------------------------------------------------------------------ */

/* The alert of a failure: the status's own (vq_status_tls_alert); for the RFC 9001 rules that close
 * with PROTOCOL_VIOLATION instead of an alert, unexpected_message (10); for local failures
 * (memory budget) internal_error (80). The connection closes with vq_status_transport_error(). */
static vq_status fail(vq_tls *t, vq_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* spec: rfc8446#6.2/4 — the alert reported is the one each check names (the status carries it). */
static vq_status fail(vq_tls *t, vq_status st, const char *fmt, ...)
{
  if (t->err != VQ_OK) return t->err;
  t->err = st;
  int a = vq_status_tls_alert(st);
  if (a < 0) a = vq_status_transport_error(st) == VQ_TE_PROTOCOL_VIOLATION ? 10 : 80;
  t->alert = a;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->detail, sizeof t->detail, fmt, ap);
  va_end(ap);
  ERR_clear_error();
  return st;
}

/* Keeps a detail already written (certificate verification writes its own). */
static vq_status fail_detail(vq_tls *t, vq_status st, const char *detail)
{
  return fail(t, st, "%s", detail);
}

/* ---- buffers ----------------------------------------------------------------------------------- */

static vq_status grow(vq_tls *t, uint8_t **p, size_t *cap, size_t keep_off, size_t keep_len,
                      size_t need)
{
  size_t nc = *cap * 2 > need ? *cap * 2 : need;
  if (nc < 256) nc = 256;
  uint8_t *np = vq_mem_alloc(t->mem, nc);
  if (!np) return VQ_ERR_NOMEM;
  if (keep_len) memcpy(np, *p + keep_off, keep_len);
  vq_mem_free(t->mem, *p, *cap);
  *p = np;
  *cap = nc;
  return VQ_OK;
}

/* Room for n more bytes at the end of level's output queue: *p, *cap. */
static vq_status out_reserve(vq_tls *t, vq_level l, size_t n, uint8_t **p, size_t *cap)
{
  out_buf *o = &t->out[l];
  if (o->cap - o->len < n) {
    size_t pending = o->len - o->off;
    vq_status st = grow(t, &o->p, &o->cap, o->off, pending, pending + n);
    if (st != VQ_OK) return fail(t, st, "out of memory budget for the output at level %d", (int)l);
    o->off = 0;
    o->len = pending;
  }
  *p = o->p + o->len;
  *cap = o->cap - o->len;
  return VQ_OK;
}

/* The message of used bytes built at the reserved place is queued and added to the transcript. */
static vq_status out_commit(vq_tls *t, vq_level l, size_t used)
{
  out_buf *o = &t->out[l];
  vq_status st = vq_hs_th_add(&t->th, o->p + o->len, used);
  if (st != VQ_OK) return fail(t, st, "transcript hash failed");
  o->len += used;
  return VQ_OK;
}

static vq_status copy_out(vq_tls *t, uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t n)
{
  if (*dst) vq_mem_free(t->mem, *dst, *dst_len);
  *dst = NULL;
  *dst_len = 0;
  if (n == 0) return VQ_OK;
  *dst = vq_mem_alloc(t->mem, n);
  if (!*dst) return VQ_ERR_NOMEM;
  memcpy(*dst, src, n);
  *dst_len = n;
  return VQ_OK;
}

/* ---- secrets ----------------------------------------------------------------------------------- */

static void keylog_n(vq_tls *t, const char *label, const uint8_t *secret, size_t hl)
{
  static const char hex[] = "0123456789abcdef";
  char line[40 + 1 + 2 * VQ_TLS_RANDOM_LEN + 1 + 2 * VQ_SECRET_MAX + 1];
  if (!t->ctx->keylog) return;
  size_t n = strlen(label), o = 0;
  memcpy(line, label, n);
  o = n;
  line[o++] = ' ';
  for (size_t i = 0; i < VQ_TLS_RANDOM_LEN; i++) {
    line[o++] = hex[t->client_random[i] >> 4];
    line[o++] = hex[t->client_random[i] & 15];
  }
  line[o++] = ' ';
  for (size_t i = 0; i < hl; i++) {
    line[o++] = hex[secret[i] >> 4];
    line[o++] = hex[secret[i] & 15];
  }
  line[o] = 0;
  t->ctx->keylog(t->ctx->keylog_ud, line);
  OPENSSL_cleanse(line, sizeof line);
}

static void keylog(vq_tls *t, const char *label, const uint8_t *secret)
{
  keylog_n(t, label, secret, t->hl);
}

static void push_secret_ex(vq_tls *t, vq_level l, vq_tls_dir d, const uint8_t *secret,
                           vq_cipher_suite suite, size_t hl)
{
  vq_tls_secret *e = &t->q[(t->q_head + t->q_len) % SECRET_QUEUE];
  t->q_len++;
  e->level = l;
  e->dir = d;
  e->suite = suite;
  e->len = hl;
  memcpy(e->secret, secret, hl);
}

static void push_secret(vq_tls *t, vq_level l, vq_tls_dir d, const uint8_t *secret)
{
  push_secret_ex(t, l, d, secret, t->suite, t->hl);
}

/* The wall clock now (ms since the epoch): vq_tls_params.wall_ms plus the progress of cx->now. */
static uint64_t wall_now(const vq_tls *t)
{
  if (!t->wall0) return 0;
  return t->wall0 + (t->mono_now > t->mono0 ? (t->mono_now - t->mono0) / 1000000u : 0);
}

/* spec: rfc8446#7.1 — client_early_traffic_secret = Derive-Secret(Early Secret, "c e traffic",
 * ClientHello); rfc9001#4.1.4 — the 0-RTT keys: the client's write, the server's read. */
static vq_status derive_early(vq_tls *t, vq_hash h, vq_cipher_suite suite)
{
  uint8_t th[VQ_SECRET_MAX];
  size_t hl = vq_hash_len(h);
  vq_status st = vq_hs_th_hash_extra(&t->th, h, NULL, 0, th);
  if (st == VQ_OK) st = vq_hs_derive_secret(h, t->early, "c e traffic", th, t->c_early);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "early key derivation failed");
  keylog_n(t, "CLIENT_EARLY_TRAFFIC_SECRET", t->c_early, hl);
  push_secret_ex(t, VQ_LEVEL_EARLY, t->server ? VQ_TLS_READ : VQ_TLS_WRITE, t->c_early, suite, hl);
  return VQ_OK;
}

static vq_status set_suite(vq_tls *t, uint16_t cs)
{
  t->suite = (vq_cipher_suite)cs;
  if (vq_suite_hash(t->suite, &t->hash) != VQ_OK) return VQ_ERR_TLS_ILLEGAL_PARAMETER;
  t->hl = vq_hash_len(t->hash);
  return vq_hs_th_select(&t->th, t->hash);
}

/* spec: rfc8446#7.1 — client/server_handshake_traffic_secret = Derive-Secret(Handshake Secret,
 * "c hs traffic" / "s hs traffic", ClientHello...ServerHello). */
static vq_status derive_handshake(vq_tls *t, const uint8_t *shared, size_t shared_len)
{
  uint8_t th[VQ_SECRET_MAX];
  size_t hl = 0;
  /* spec: rfc8446#7.1 — with a resumption PSK the Early Secret is HKDF-Extract(0, PSK). */
  vq_status st = t->resumed
                     ? vq_hs_handshake_secret_from(t->hash, t->early, shared, shared_len, t->hs_secret)
                     : vq_hs_handshake_secret(t->hash, shared, shared_len, t->hs_secret);
  if (st == VQ_OK) st = vq_hs_th_hash(&t->th, th, &hl);
  if (st == VQ_OK) st = vq_hs_derive_secret(t->hash, t->hs_secret, "c hs traffic", th, t->c_hs);
  if (st == VQ_OK) st = vq_hs_derive_secret(t->hash, t->hs_secret, "s hs traffic", th, t->s_hs);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "handshake key derivation failed");
  keylog(t, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", t->c_hs);
  keylog(t, "SERVER_HANDSHAKE_TRAFFIC_SECRET", t->s_hs);
  /* spec: rfc9001#4.1.4 — both sides install Handshake keys once ServerHello is processed. */
  push_secret(t, VQ_LEVEL_HANDSHAKE, VQ_TLS_READ, t->server ? t->c_hs : t->s_hs);
  push_secret(t, VQ_LEVEL_HANDSHAKE, VQ_TLS_WRITE, t->server ? t->s_hs : t->c_hs);
  return VQ_OK;
}

/* spec: rfc8446#7.1 — client/server_application_traffic_secret_0 = Derive-Secret(Master Secret,
 * "c ap traffic" / "s ap traffic", ClientHello...server Finished). */
static vq_status derive_application(vq_tls *t)
{
  uint8_t th[VQ_SECRET_MAX];
  size_t hl = 0;
  vq_status st = vq_hs_master_secret(t->hash, t->hs_secret, t->master);
  if (st == VQ_OK) st = vq_hs_th_hash(&t->th, th, &hl);
  if (st == VQ_OK) st = vq_hs_derive_secret(t->hash, t->master, "c ap traffic", th, t->c_ap);
  if (st == VQ_OK) st = vq_hs_derive_secret(t->hash, t->master, "s ap traffic", th, t->s_ap);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "application key derivation failed");
  keylog(t, "CLIENT_TRAFFIC_SECRET_0", t->c_ap);
  keylog(t, "SERVER_TRAFFIC_SECRET_0", t->s_ap);
  return VQ_OK;
}

/* spec: rfc8446#7.1 — resumption_master_secret = Derive-Secret(Master Secret, "res master",
 * ClientHello...client Finished). */
static vq_status derive_resumption(vq_tls *t)
{
  uint8_t th[VQ_SECRET_MAX];
  size_t hl = 0;
  vq_status st = vq_hs_th_hash(&t->th, th, &hl);
  if (st == VQ_OK) st = vq_hs_derive_secret(t->hash, t->master, "res master", th, t->res_master);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "resumption secret derivation failed");
  return VQ_OK;
}

/* Finished with base_key over the transcript so far, queued at the Handshake level. */
static vq_status send_finished(vq_tls *t, const uint8_t *base_key)
{
  uint8_t th[VQ_SECRET_MAX], vd[VQ_SECRET_MAX], *p = NULL;
  size_t hl = 0, cap = 0, used = 0;
  vq_status st = vq_hs_th_hash(&t->th, th, &hl);
  if (st == VQ_OK) st = vq_hs_finished(t->hash, base_key, th, vd);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "Finished computation failed");
  st = out_reserve(t, VQ_LEVEL_HANDSHAKE, 4 + t->hl, &p, &cap);
  if (st != VQ_OK) return st;
  vq_tls_span s = {vd, t->hl};
  st = vq_tls_build_finished(p, cap, s, &used);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build Finished");
  return out_commit(t, VQ_LEVEL_HANDSHAKE, used);
}

/* spec: rfc8446#4.4.4/1 — the recipient of Finished checks verify_data; a mismatch is decrypt_error. */
static vq_status check_finished(vq_tls *t, const uint8_t *body, size_t len, const uint8_t *base_key,
                                const char *who)
{
  uint8_t th[VQ_SECRET_MAX], vd[VQ_SECRET_MAX];
  size_t hl = 0;
  vq_tls_span got;
  vq_status st = vq_tls_parse_finished(body, len, t->hl, &got);
  if (st != VQ_OK) return fail(t, st, "malformed %s Finished", who);
  st = vq_hs_th_hash(&t->th, th, &hl);
  if (st == VQ_OK) st = vq_hs_finished(t->hash, base_key, th, vd);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "Finished computation failed");
  if (CRYPTO_memcmp(vd, got.p, t->hl) != 0)
    return fail(t, VQ_ERR_TLS_DECRYPT_ERROR, "%s Finished does not verify", who);
  return VQ_OK;
}

/* ---- list helpers ------------------------------------------------------------------------------ */

static int u16_in(vq_tls_span list, uint16_t v)
{
  for (size_t i = 0; i < list.len / 2; i++)
    if (vq_tls_u16_at(list, i) == v) return 1;
  return 0;
}

static int u16_in_arr(const uint16_t *a, size_t n, uint16_t v)
{
  for (size_t i = 0; i < n; i++)
    if (a[i] == v) return 1;
  return 0;
}

/* spec: rfc9001#5.3/1 — both sides offer and accept only the suites whose header protection QUIC
 * defines (default_suites: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305; never CCM_8) */
static const uint16_t *suites_of(const vq_tls *t, size_t *n)
{
  if (t->ctx->hooks.n_suites) {
    *n = t->ctx->hooks.n_suites > 3 ? 3 : t->ctx->hooks.n_suites;
    return t->ctx->hooks.suites;
  }
  *n = 3;
  return default_suites;
}

static const uint16_t *groups_of(const vq_tls *t, size_t *n)
{
  if (t->ctx->hooks.n_groups) {
    *n = t->ctx->hooks.n_groups > 2 ? 2 : t->ctx->hooks.n_groups;
    return t->ctx->hooks.groups;
  }
  *n = 2;
  return default_groups;
}

/* 1 if name (without its length byte) is in the wire-form ALPN list a[0..n). */
static int alpn_has(const uint8_t *a, size_t n, const uint8_t *name, size_t name_len)
{
  size_t off = 0;
  while (off < n) {
    size_t l = a[off];
    if (off + 1 + l > n) return 0;
    if (l == name_len && memcmp(a + off + 1, name, l) == 0) return 1;
    off += 1 + l;
  }
  return 0;
}

/* ---- client ------------------------------------------------------------------------------------ */

/* spec: rfc8446#4.1.2/2 — the second ClientHello (after a HelloRetryRequest) comes from this same
 * code and state: only the key share (the requested group), the cookie, early_data (dropped) and
 * the PSK's age and binder differ.
 * spec: rfc8446#4.1.2 — ClientHello: legacy_version 0x0303, random, legacy_session_id empty
 * (rfc9001#8.4/1: no middlebox compatibility mode), the suites, null compression, then
 * supported_versions, supported_groups, signature_algorithms, ALPN (rfc9001#8.1), key_share,
 * psk_key_exchange_modes, the HelloRetryRequest's cookie, quic_transport_parameters (rfc9001#8.2). */
static vq_status client_send_hello(vq_tls *t)
{
  uint8_t suites[6], groups[4], sigs[10], cert_sigs[2 * N_CERT_SIGS], versions[2] = {0x03, 0x04},
          modes[1] = {1};
  uint8_t shares[4 + VQ_HS_KX_MAX], pub[VQ_HS_KX_MAX], *p = NULL;
  size_t pl = 0, ns = 0, ng = 0, cap = 0, used = 0;
  const uint16_t *s = suites_of(t, &ns), *g = groups_of(t, &ng);
  EVP_PKEY_free(t->kx);
  t->kx = NULL;
  /* spec: rfc8446#4.2.8/5 — one KeyShareEntry, from a key pair generated for this ClientHello
   * alone (a new one for the second ClientHello after a HelloRetryRequest). */
  vq_status st = vq_hs_kx_keygen_ctx(t->ctx, t->group, &t->kx, pub, &pl);
  if (st != VQ_OK) return fail(t, st, "key share generation failed");
  for (size_t i = 0; i < ns; i++) {
    suites[2 * i] = (uint8_t)(s[i] >> 8);
    suites[2 * i + 1] = (uint8_t)s[i];
  }
  for (size_t i = 0; i < ng; i++) {
    groups[2 * i] = (uint8_t)(g[i] >> 8);
    groups[2 * i + 1] = (uint8_t)g[i];
  }
  for (size_t i = 0; i < 5; i++) {
    sigs[2 * i] = (uint8_t)(offered_sigs[i] >> 8);
    sigs[2 * i + 1] = (uint8_t)offered_sigs[i];
  }
  for (size_t i = 0; i < N_CERT_SIGS; i++) {
    cert_sigs[2 * i] = (uint8_t)(offered_cert_sigs[i] >> 8);
    cert_sigs[2 * i + 1] = (uint8_t)offered_cert_sigs[i];
  }
  shares[0] = (uint8_t)(t->group >> 8);
  shares[1] = (uint8_t)t->group;
  shares[2] = (uint8_t)(pl >> 8);
  shares[3] = (uint8_t)pl;
  memcpy(shares + 4, pub, pl);

  /* spec: rfc8446#4.1.2/6, rfc8446#D.5/9 — legacy_version 0x0303 (never 0x0300 or less).
   * spec: rfc8446#4.1.2/10 — legacy_session_id a zero-length vector (no older session to resume).
   * spec: rfc8446#D.5/2, rfc8446#D.5/3, rfc8446#9.1/1 — only the TLS 1.3 AEAD suites
   * (default_suites: no RC4, none below 128 bits), TLS_AES_128_GCM_SHA256 among them.
   * spec: rfc8446#4.2.3/2, rfc8446#4.2.3/20, rfc8446#4.2.3/21 — signature_algorithms is sent
   * (offered_sigs: ECDSA P-256, Ed25519, RSA-PSS; no SHA-1, SHA-224, MD5 or DSA scheme).
   * spec: rfc8446#4.2.8/3, rfc8446#4.2.8/6, rfc8446#4.2.8/7 — one KeyShareEntry, in a group of
   * supported_groups. spec: rfc8446#9.2/10, rfc8446#9.2/11 — signature_algorithms,
   * supported_groups and key_share are always present.
   * spec: rfc8446#B/1, rfc8446#B.3.1.4/1 — every code point offered is a TLS 1.3 one (no
   * _RESERVED or obsolete_RESERVED value).
   * spec: rfc8446#9.3/4 — and every one is implemented: the suites (protect.c, kdf.c), the groups
   * (vq_hs_kx_*) and the signature schemes (vq_hs_verify). */
  vq_tls_client_hello ch;
  memset(&ch, 0, sizeof ch);
  ch.legacy_version = VQ_TLS_LEGACY_VERSION;
  ch.random = t->client_random;
  /* spec: rfc9001#8.4/1 — an empty legacy_session_id: no TLS 1.3 compatibility mode */
  ch.session_id.p = t->client_random;
  ch.session_id.len = 0;
  ch.cipher_suites.p = suites;
  ch.cipher_suites.len = 2 * ns;
  ch.has_extensions = 1;
  vq_tls_exts *e = &ch.ext;
  /* spec: rfc8446#9.2/13 — server_name is supported: sent whenever the application names the
   * server by a host name.
   * spec: rfc9001#8.1 — SNI names the server unless it is an IP literal (RFC 6066 §3).
   * spec: rfc9114#3.2/2, rfc9114#3.2/3 — the target host is indicated this way: SNI whenever the
   * server is named by a domain name */
  if (t->send_sni) {
    e->has[VQ_TLS_EXT_SERVER_NAME] = 1;
    e->server_name.p = (const uint8_t *)t->server_name;
    e->server_name.len = strlen(t->server_name);
  }
  /* spec: rfc9001#4.2/1 — TLS 1.3 (0x0304) alone in supported_versions: nothing older offered;
   * spec: rfc8446#4.2.1/1 — every version the client is prepared to negotiate */
  e->has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = 1;
  e->supported_versions.p = versions;
  e->supported_versions.len = 2;
  e->has[VQ_TLS_EXT_SUPPORTED_GROUPS] = 1;
  e->groups.p = groups;
  e->groups.len = 2 * ng;
  e->has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS] = 1;
  e->sig_algs.p = sigs;
  e->sig_algs.len = sizeof sigs;
  /* spec: rfc8446#9.1/2 — rsa_pkcs1_sha256 is supported for certificates (and rsa_pss_rsae_sha256
   * and ecdsa_secp256r1_sha256 for both): signature_algorithms_cert says so to the server.
   * spec: rfc8446#9.2/1, rfc8446#9.2/2 — with it every extension of §9.2 is implemented, and
   * each ClientHello sends supported_versions, signature_algorithms, supported_groups and key_share
   * (and, resuming, pre_shared_key with psk_key_exchange_modes). */
  e->has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT] = 1;
  e->sig_algs_cert.p = cert_sigs;
  e->sig_algs_cert.len = sizeof cert_sigs;
  e->has[VQ_TLS_EXT_ALPN] = 1;
  e->alpn.p = t->ctx->alpn;
  e->alpn.len = t->ctx->alpn_len;
  e->has[VQ_TLS_EXT_KEY_SHARE] = 1;
  e->key_shares.p = shares;
  e->key_shares.len = 4 + pl;
  e->has[VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES] = 1;
  e->psk_modes.p = modes;
  e->psk_modes.len = 1;
  if (t->cookie_len) {
    /* spec: rfc8446#4.2.2, rfc8446#4.2.2/2 — the cookie of a HelloRetryRequest is echoed in the new
     * ClientHello. */
    e->has[VQ_TLS_EXT_COOKIE] = 1;
    e->cookie.p = t->cookie;
    e->cookie.len = t->cookie_len;
  }
  if (!t->ctx->hooks.omit_transport_params) {
    e->has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS] = 1;
    e->quic_tp.p = t->local_tp ? t->local_tp : versions;
    e->quic_tp.len = t->local_tp_len;
  }
  /* spec: rfc8446#4.2.11/15 — vq_tls_build_client_hello writes extensions in vq_tls_ext_id order,
   * in which pre_shared_key is the last.
   * spec: rfc8446#4.2.11, rfc8446#4.2.9/1, rfc8446#4.2.9/2 — the session's ticket as the one PskIdentity (with
   * psk_key_exchange_modes psk_dhe_ke above, and a key_share); after a HelloRetryRequest only if
   * its suite has the PSK's hash (rfc8446#4.6.1/4). */
  uint8_t ids[VQ_TLS_SESSION_MAX + 6], binders[1 + VQ_SECRET_MAX];
  size_t bl = vq_hash_len(t->sess_hash);
  t->psk_sent = t->sess_ok && (!t->hrr || t->hash == t->sess_hash);
  if (t->psk_sent) {
    /* spec: rfc8446#4.2.11.1 — obfuscated_ticket_age = the age in ms + ticket_age_add mod 2^32. */
    uint64_t now = wall_now(t);
    uint32_t age = (uint32_t)(now > t->sess.received_ms ? now - t->sess.received_ms : 0);
    uint32_t obf = age + t->sess.age_add;
    size_t tl = t->sess.ticket_len;
    ids[0] = (uint8_t)(tl >> 8);
    ids[1] = (uint8_t)tl;
    memcpy(ids + 2, t->sess.ticket, tl);
    for (size_t i = 0; i < 4; i++) ids[2 + tl + i] = (uint8_t)(obf >> (24 - 8 * i));
    binders[0] = (uint8_t)bl;
    memset(binders + 1, 0, bl);
    e->has[VQ_TLS_EXT_PRE_SHARED_KEY] = 1;
    e->psk_identities.p = ids;
    e->psk_identities.len = 6 + tl;
    e->psk_binders.p = binders;
    e->psk_binders.len = 1 + bl;
    e->psk_count = 1;
    /* spec: rfc8446#4.2.10/1, rfc8446#4.2.10/6 — early_data with pre_shared_key, and only in the
     * first ClientHello. */
    if (t->early_offered && !t->hrr) e->has[VQ_TLS_EXT_EARLY_DATA] = 1;
  }
  size_t need = 512 + t->ctx->alpn_len + t->local_tp_len + t->cookie_len + strlen(t->server_name) +
                (t->psk_sent ? t->sess.ticket_len + 64 : 0);
  st = out_reserve(t, VQ_LEVEL_INITIAL, need, &p, &cap);
  if (st != VQ_OK) return st;
  st = vq_tls_build_client_hello(p, cap, &ch, &used);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build ClientHello");
  if (t->psk_sent) {
    /* spec: rfc8446#4.2.11.2 — the binder is computed over the transcript up to and including the
     * ClientHello truncated before the binders list (its 2-byte length included); after a
     * HelloRetryRequest the transcript holds message_hash and the HelloRetryRequest too. */
    uint8_t th[VQ_SECRET_MAX];
    size_t trunc = used - 2 - 1 - bl;
    st = vq_hs_th_hash_extra(&t->th, t->sess_hash, p, trunc, th);
    if (st == VQ_OK) st = vq_hs_binder(t->sess_hash, t->early, th, p + used - bl);
    if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "PSK binder computation failed");
  }
  st = out_commit(t, VQ_LEVEL_INITIAL, used);
  if (st != VQ_OK) return st;
  /* spec: rfc9001#4.6.1 — the client may send 0-RTT once it has sent its ClientHello. */
  /* spec: rfc8446#4.2.10/2 — the 0-RTT keys come from the one PSK offered, which is thus the
   * first of pre_shared_key. */
  if (t->early_offered && !t->hrr) return derive_early(t, t->sess_hash, (vq_cipher_suite)t->sess.suite);
  return VQ_OK;
}

/* spec: rfc8446#4.1.3, rfc8446#4.1.4 — ServerHello or HelloRetryRequest. */
static vq_status client_server_hello(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_tls_server_hello sh;
  size_t ns = 0, ng = 0;
  const uint16_t *s = suites_of(t, &ns), *g = groups_of(t, &ng);
  vq_status st = vq_tls_parse_server_hello(m + 4, n - 4, &sh);
  if (st != VQ_OK) return fail(t, st, "malformed ServerHello");
  /* spec: rfc8446#D.5/10 — a legacy_version of 0x0300 (SSL 3.0) or below is protocol_version,
   * whatever supported_versions says. */
  if (sh.legacy_version <= 0x0300u)
    return fail(t, VQ_ERR_TLS_PROTOCOL_VERSION, "ServerHello legacy_version 0x%04x", sh.legacy_version);
  /* spec: rfc8446#4.2.1/11, rfc8446#4.2.1/12 — supported_versions first, and only it (never
   * legacy_version). spec: rfc8446#4.2.1/13 — when present it must name 0x0304, the one version
   * offered: another value (older, or one not offered) is illegal_parameter. spec:
   * rfc8446#4.1.4/11 — a HelloRetryRequest passed this check with 0x0304, so a ServerHello whose
   * selected_version differs from the HelloRetryRequest's fails here with illegal_parameter too.
   * spec: rfc8446#D.1/3 — without the extension the server chose TLS 1.2 or older, a version the
   * client does not support: protocol_version (vq_tls_quic_check_server_hello). */
  if (sh.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] && sh.ext.selected_version != VQ_TLS_VERSION_13)
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "%s selects version 0x%04x, not TLS 1.3",
                sh.is_hrr ? "HelloRetryRequest" : "ServerHello", sh.ext.selected_version);
  st = vq_tls_quic_check_server_hello(&sh);
  if (st != VQ_OK) return fail(t, st, "ServerHello does not select TLS 1.3");
  /* spec: rfc8446#4.1.4/3, rfc8446#4.1.4/8 — a HelloRetryRequest goes through the same checks
   * (legacy_session_id_echo, the suite offered) before its extensions.
   * spec: rfc8446#4.1.3/4 — legacy_session_id_echo must be the client's (empty, rfc9001#8.4/1). */
  if (sh.session_id_echo.len != 0)
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "legacy_session_id_echo does not match");
  /* spec: rfc8446#4.1.3/5 — a cipher suite the client did not offer is illegal_parameter. */
  if (!u16_in_arr(s, ns, sh.cipher_suite))
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "cipher suite 0x%04x was not offered",
                sh.cipher_suite);
  /* spec: rfc8446#4.1.4/10 — the ServerHello after a HelloRetryRequest keeps its cipher suite. */
  if (t->hrr && sh.cipher_suite != t->suite)
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "cipher suite differs from the HelloRetryRequest's");
  if (!t->hrr && set_suite(t, sh.cipher_suite) != VQ_OK)
    return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");

  if (sh.is_hrr) {
    /* spec: rfc8446#4.1.4/5 — a second HelloRetryRequest is unexpected_message.
     * spec: rfc8446#4.1.4/4 — one that would not change the ClientHello is illegal_parameter.
     * spec: rfc8446#4.2.8/9, rfc8446#4.2.8/10 — so is a selected_group not offered or already
     * shared. spec: rfc8446#4.1.4/6, rfc8446#4.2.8/11 — then a second ClientHello with one share
     * in that group. */
    if (t->hrr) return fail(t, VQ_ERR_TLS_UNEXPECTED_MESSAGE, "second HelloRetryRequest");
    if (!sh.ext.has[VQ_TLS_EXT_KEY_SHARE] && !sh.ext.has[VQ_TLS_EXT_COOKIE])
      return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "HelloRetryRequest would not change the ClientHello");
    if (sh.ext.has[VQ_TLS_EXT_KEY_SHARE]) {
      uint16_t sel = sh.ext.key_share_group;
      if (!u16_in_arr(g, ng, sel) || !vq_hs_group_supported(sel) || sel == t->group)
        return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "HelloRetryRequest selects group 0x%04x", sel);
      t->group = sel;
    }
    /* spec: rfc8446#4.2.2/3 — the cookie is kept in this connection's state only (never in the
     * session blob), so no later connection's first ClientHello carries it. */
    if (sh.ext.has[VQ_TLS_EXT_COOKIE] &&
        copy_out(t, &t->cookie, &t->cookie_len, sh.ext.cookie.p, sh.ext.cookie.len) != VQ_OK)
      return fail(t, VQ_ERR_NOMEM, "out of memory budget for the cookie");
    t->hrr = 1;
    st = vq_hs_th_hrr_restart(&t->th);
    if (st == VQ_OK) st = vq_hs_th_add(&t->th, m, n);
    if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
    return client_send_hello(t);
  }

  /* spec: rfc8446#4.2.9/8 — psk_dhe_ke (the only mode offered): a key_share, resumed or not. */
  if (!sh.ext.has[VQ_TLS_EXT_KEY_SHARE])
    return fail(t, VQ_ERR_TLS_MISSING_EXTENSION, "ServerHello without key_share");
  /* spec: rfc8446#4.2, rfc8446#4.2/4 — an extension the client did not offer: unsupported_extension. */
  if (sh.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY] && !t->psk_sent)
    return fail(t, VQ_ERR_TLS_UNSUPPORTED_EXTENSION, "pre_shared_key was not offered");
  if (sh.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY]) {
    /* spec: rfc8446#4.2.11/11, rfc8446#4.2.11/12 — selected_identity within the one offered, a
     * suite with the PSK's hash, and (psk_dhe_ke) a key_share: otherwise illegal_parameter. */
    if (sh.ext.psk_selected != 0)
      return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "selected_identity %u was not offered",
                  sh.ext.psk_selected);
    if (t->hash != t->sess_hash)
      return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "cipher suite 0x%04x does not fit the PSK's hash",
                  sh.cipher_suite);
    t->resumed = 1;
  }
  /* spec: rfc8446#4.2.8/12, rfc8446#4.2.8/15, rfc8446#2/1 — the server's share is in the group of
   * the client's. spec: rfc8446#4.2.8/14 — after a HelloRetryRequest, t->group is its group. */
  if (sh.ext.key_share_group != t->group)
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "key share in group 0x%04x, offered 0x%04x",
                sh.ext.key_share_group, t->group);
  st = vq_hs_th_add(&t->th, m, n);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  uint8_t shared[VQ_SECRET_MAX];
  size_t sl = 0;
  st = vq_hs_kx_derive(t->kx, t->group, sh.ext.key_share.p, sh.ext.key_share.len, shared, &sl);
  if (st != VQ_OK) return fail(t, st, "invalid server key share");
  st = derive_handshake(t, shared, sl);
  OPENSSL_cleanse(shared, sizeof shared);
  if (st != VQ_OK) return st;
  EVP_PKEY_free(t->kx);
  t->kx = NULL;
  t->state = C_WAIT_EE;
  return VQ_OK;
}

/* spec: rfc8446#4.3.1 — EncryptedExtensions. */
static vq_status client_ee(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_tls_encrypted_extensions ee;
  vq_status st = vq_tls_parse_encrypted_extensions(m + 4, n - 4, &ee);
  if (st != VQ_OK) return fail(t, st, "malformed EncryptedExtensions");
  st = vq_tls_quic_check_encrypted_extensions(&ee);
  if (st != VQ_OK) return fail(t, st, "EncryptedExtensions without quic_transport_parameters");
  /* spec: rfc9001#8.1/3 — no application protocol negotiated: the client closes with 0x0178. */
  if (!ee.ext.has[VQ_TLS_EXT_ALPN])
    return fail(t, VQ_ERR_TLS_NO_APPLICATION_PROTOCOL, "server selected no application protocol");
  size_t off = 0;
  vq_tls_span name;
  if (vq_tls_alpn_next(ee.ext.alpn, &off, &name) != VQ_OK || off != ee.ext.alpn.len)
    return fail(t, VQ_ERR_TLS_DECODE, "ALPN in EncryptedExtensions is not one name");
  /* spec: rfc9001#8.1/7 — a protocol we did not offer is incompatible: 0x0178 (no_application_protocol),
   * as QUIC asks, rather than illegal_parameter */
  if (!alpn_has(t->ctx->alpn, t->ctx->alpn_len, name.p, name.len))
    return fail(t, VQ_ERR_TLS_NO_APPLICATION_PROTOCOL, "server selected an application protocol not offered");
  /* spec: rfc8446#4.2/4 — server_name or early_data answering nothing we sent: unsupported_extension.
   * spec: rfc8446#4.2.7/1 — supported_groups here is not looked at (nor remembered). */
  if (ee.ext.has[VQ_TLS_EXT_SERVER_NAME] && !t->send_sni)
    return fail(t, VQ_ERR_TLS_UNSUPPORTED_EXTENSION, "server_name acknowledged but not sent");
  if (ee.ext.has[VQ_TLS_EXT_EARLY_DATA] && (!t->early_offered || t->hrr))
    return fail(t, VQ_ERR_TLS_UNSUPPORTED_EXTENSION, "early_data accepted but not offered");
  /* spec: rfc8446#4.2.11/13, rfc8446#4.2.11/14 — early_data accepted: the server selected
   * identity 0 (the PSK the early data used), else illegal_parameter. */
  if (ee.ext.has[VQ_TLS_EXT_EARLY_DATA] && !t->resumed)
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "early_data accepted without the PSK");
  t->early_accepted = ee.ext.has[VQ_TLS_EXT_EARLY_DATA] != 0;
  memcpy(t->alpn, name.p, name.len);
  t->alpn_len = name.len;
  if (copy_out(t, &t->peer_tp, &t->peer_tp_len, ee.ext.quic_tp.p, ee.ext.quic_tp.len) != VQ_OK)
    return fail(t, VQ_ERR_NOMEM, "out of memory budget for transport parameters");
  st = vq_hs_th_add(&t->th, m, n);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  /* spec: rfc8446#2.2 — with a resumption PSK the server is authenticated by the PSK: no
   * Certificate, no CertificateVerify; its Finished follows. */
  t->state = t->resumed ? C_WAIT_FIN : C_WAIT_CERT_CR;
  return VQ_OK;
}

/* spec: rfc8446#4.3.2 — CertificateRequest: remembered; answered with an empty Certificate.
 * spec: rfc8446#4.3.2/7, rfc8446#9.3/6 — its extensions are not looked at, so unrecognized ones
 * are ignored (the parser only checks their framing). */
static vq_status client_cr(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_tls_certificate_request cr;
  vq_status st = vq_tls_parse_certificate_request(m + 4, n - 4, &cr);
  if (st != VQ_OK) return fail(t, st, "malformed CertificateRequest");
  if (cr.context.len > sizeof t->cr_ctx)
    return fail(t, VQ_ERR_TLS_DECODE, "certificate_request_context too long");
  if (cr.context.len) memcpy(t->cr_ctx, cr.context.p, cr.context.len);
  t->cr_ctx_len = cr.context.len;
  t->cert_requested = 1;
  st = vq_hs_th_add(&t->th, m, n);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  t->state = C_WAIT_CERT;
  return VQ_OK;
}

/* spec: rfc8446#4.4.2 — the server's Certificate; rfc8446#4.4.2.4 — the client validates it. */
static vq_status client_certificate(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_tls_certificate ct;
  vq_status st = vq_tls_parse_certificate(m + 4, n - 4, &ct);
  if (st != VQ_OK) return fail(t, st, "malformed Certificate");
  if (ct.context.len != 0)
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "server certificate_request_context not empty");
  /* spec: rfc8446#4.4.2.4/1 — an empty server Certificate is decode_error. */
  if (ct.count == 0) return fail(t, VQ_ERR_TLS_DECODE, "server sent no certificate");
  t->peer_chain = sk_X509_new_null();
  if (!t->peer_chain) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "out of memory");
  size_t off = 0;
  vq_tls_cert_entry ce;
  while (vq_tls_cert_next(ct.list, &off, &ce) == VQ_OK) {
    const unsigned char *p = ce.cert_data.p;
    X509 *x = ce.cert_data.len <= LONG_MAX ? d2i_X509(NULL, &p, (long)ce.cert_data.len) : NULL;
    if (!x || p != ce.cert_data.p + ce.cert_data.len) {
      X509_free(x);
      return fail(t, VQ_ERR_TLS_BAD_CERTIFICATE, "certificate %d cannot be parsed",
                  sk_X509_num(t->peer_chain));
    }
    if (!sk_X509_push(t->peer_chain, x)) {
      X509_free(x);
      return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "out of memory");
    }
  }
  /* spec: rfc8446#4.4.2/12 — the end-entity certificate is the first entry; the others go to the
   * verification as untrusted intermediates, in whatever order and number (extra ones unused). */
  X509 *leaf = sk_X509_value(t->peer_chain, 0);
  EVP_PKEY *key = leaf ? X509_get0_pubkey(leaf) : NULL;
  int usable = 0;
  for (size_t i = 0; key && i < 5; i++) usable |= vq_hs_key_supports(key, offered_sigs[i]);
  if (!usable)
    return fail(t, VQ_ERR_TLS_UNSUPPORTED_CERTIFICATE, "server key type is not supported");
  /* spec: rfc9001#4.4/1 — the client authenticates the server: its chain to a trust anchor and the
   * server name (unless the application asked for insecure mode); spec: rfc9114#3.1/1,
   * rfc9114#3.1/2 — the name is the URI's host (vq-client passes it as server_name): a certificate
   * that does not match it fails the handshake, so the server is never authoritative for it.
   * spec: rfc8446#C.5/1 — unauthenticated only when the application explicitly configured it
   * (vq_tls_ctx_config.insecure, off by default). */
  if (!t->ctx->insecure) {
    char detail[sizeof t->detail];
    st = vq_hs_verify_chain(t->ctx, leaf, t->peer_chain, t->server_name, detail, sizeof detail);
    if (st != VQ_OK) return fail_detail(t, st, detail);
  }
  st = vq_hs_th_add(&t->th, m, n);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  t->state = C_WAIT_CV;
  return VQ_OK;
}

/* spec: rfc8446#4.4.3 — the server's CertificateVerify. */
static vq_status client_cv(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_tls_certificate_verify cv;
  uint8_t th[VQ_SECRET_MAX];
  size_t hl = 0;
  vq_status st = vq_tls_parse_certificate_verify(m + 4, n - 4, &cv);
  if (st != VQ_OK) return fail(t, st, "malformed CertificateVerify");
  EVP_PKEY *key = X509_get0_pubkey(sk_X509_value(t->peer_chain, 0));
  /* spec: rfc8446#4.4.3/4, rfc8446#4.4.3/6 — one the client offered, compatible with the key.
   * spec: rfc8446#4.4.3/9, rfc8446#4.4.3/10 — the signature is verified, decrypt_error if not. */
  if (!u16_in_arr(offered_sigs, 5, cv.algorithm) || !key || !vq_hs_key_supports(key, cv.algorithm))
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "signature scheme 0x%04x not offered or not the key's",
                cv.algorithm);
  st = vq_hs_th_hash(&t->th, th, &hl);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  st = vq_hs_verify(key, cv.algorithm, 1, th, hl, cv.signature.p, cv.signature.len);
  if (st != VQ_OK) return fail(t, st, "CertificateVerify signature does not verify");
  st = vq_hs_th_add(&t->th, m, n);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  t->state = C_WAIT_FIN;
  return VQ_OK;
}

/* spec: rfc8446#4.4.4 — the server's Finished; then the client's (empty Certificate if asked) and
 * Finished. */
static vq_status client_finished(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_status st = check_finished(t, m + 4, n - 4, t->s_hs, "server");
  if (st != VQ_OK) return st;
  st = vq_hs_th_add(&t->th, m, n);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  st = derive_application(t);
  if (st != VQ_OK) return st;
  push_secret(t, VQ_LEVEL_APP, VQ_TLS_READ, t->s_ap);
  push_secret(t, VQ_LEVEL_APP, VQ_TLS_WRITE, t->c_ap);
  /* spec: rfc9001#8.3/1 — after accepted 0-RTT the client's flight is still only (Certificate and)
   * Finished: no EndOfEarlyData (QUIC ends 0-RTT by switching keys) */
  if (t->cert_requested) {
    /* spec: rfc8446#4.4.2/2 — a Certificate exactly when a CertificateRequest came; spec:
     * rfc8446#4.4.2/3 — vquic's client has no certificate: an empty certificate_list, with the
     * request's certificate_request_context; spec: rfc8446#4.4.2/4 — the Finished below follows
     * all the same. */
    uint8_t *p = NULL;
    size_t cap = 0, used = 0;
    vq_tls_certificate ct;
    memset(&ct, 0, sizeof ct);
    ct.context.p = t->cr_ctx;
    ct.context.len = t->cr_ctx_len;
    ct.list.p = t->cr_ctx;
    st = out_reserve(t, VQ_LEVEL_HANDSHAKE, 16 + t->cr_ctx_len, &p, &cap);
    if (st != VQ_OK) return st;
    if (vq_tls_build_certificate(p, cap, &ct, &used) != VQ_OK)
      return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build Certificate");
    st = out_commit(t, VQ_LEVEL_HANDSHAKE, used);
    if (st != VQ_OK) return st;
  }
  st = send_finished(t, t->c_hs);
  if (st == VQ_OK) st = derive_resumption(t);
  if (st != VQ_OK) return st;
  t->state = C_DONE;
  return VQ_OK;
}

/* spec: rfc8446#4.6.1 — NewSessionTicket after the handshake: checked (rfc9001#4.6.1) and kept as
 * the session vq_tls_session_get hands out (the latest replaces an earlier one).
 * spec: rfc8446#4.6.1/14, rfc8446#9.3/6 — of its extensions only early_data is looked at:
 * unrecognized ones are ignored (the parser skips them). */
static vq_status client_nst(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_tls_new_session_ticket nst;
  vq_status st = vq_tls_parse_new_session_ticket(m + 4, n - 4, &nst);
  if (st != VQ_OK) return fail(t, st, "malformed NewSessionTicket");
  st = vq_tls_quic_check_new_session_ticket(&nst);
  if (st != VQ_OK) return fail(t, st, "NewSessionTicket max_early_data_size is not 0xffffffff");
  /* A lifetime of 0: discard at once (rfc8446#4.6.1); no wall clock: cannot date it. */
  if (nst.lifetime == 0 || t->wall0 == 0 || nst.ticket.len == 0) return VQ_OK;
  vq_hs_session s;
  memset(&s, 0, sizeof s);
  /* spec: rfc9369#5/1 — the session is specific to the QUIC version of this connection (after a
   * compatible negotiation, the negotiated one) */
  s.quic_version = t->quic_version;
  s.suite = (uint16_t)t->suite;
  s.received_ms = wall_now(t);
  /* spec: rfc8446#4.6.1/10 — never kept longer than 7 days. */
  s.lifetime_s = nst.lifetime > VQ_TLS_TICKET_LIFETIME_MAX ? VQ_TLS_TICKET_LIFETIME_MAX : nst.lifetime;
  s.age_add = nst.age_add;
  s.max_early_data = nst.ext.has[VQ_TLS_EXT_EARLY_DATA] ? nst.ext.max_early_data : 0;
  /* spec: rfc8446#4.6.1 — PSK = HKDF-Expand-Label(resumption_master_secret, "resumption",
   * ticket_nonce, Hash.length). */
  st = vq_hkdf_expand_label(t->hash, t->res_master, t->hl, "resumption", nst.nonce.p, nst.nonce.len,
                            s.psk, t->hl);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "resumption PSK derivation failed");
  s.psk_len = t->hl;
  memcpy(s.alpn, t->alpn, t->alpn_len);
  s.alpn_len = t->alpn_len;
  /* spec: rfc8446#4.2.11/4 — the SNI is stored with the PSK. */
  memcpy(s.sni, t->server_name, strlen(t->server_name) + 1);
  /* spec: rfc9001#9.2/2 — the ticket is kept as opaque bytes, never looked into */
  s.ticket = nst.ticket.p;
  s.ticket_len = nst.ticket.len;
  /* spec: rfc9000#7.4.1/2, rfc9000#9.6.2/6 — the server's parameters without those a resumed
   * connection must not use (the preferred address among them) */
  uint8_t stp[1024];
  vq_hs_tp_for_session(t->peer_tp, t->peer_tp_len, stp, sizeof stp, &s.tp_len);
  s.tp = stp;
  size_t need = 0;
  st = vq_hs_session_encode(&s, NULL, 0, &need);
  /* a session over VQ_TLS_SESSION_MAX (a huge ticket or transport parameters) is not kept */
  if (st == VQ_ERR_BUFFER_TOO_SMALL && need <= VQ_TLS_SESSION_MAX) {
    uint8_t *blob = vq_mem_alloc(t->mem, need);
    if (!blob) {
      OPENSSL_cleanse(&s, sizeof s);
      return fail(t, VQ_ERR_NOMEM, "out of memory budget for the session");
    }
    st = vq_hs_session_encode(&s, blob, need, &need);
    if (st == VQ_OK) {
      if (t->session) {
        OPENSSL_cleanse(t->session, t->session_len);
        vq_mem_free(t->mem, t->session, t->session_len);
      }
      t->session = blob;
      t->session_len = need;
      t->sessions_received++;
    } else {
      vq_mem_free(t->mem, blob, need);
    }
  }
  OPENSSL_cleanse(&s, sizeof s);
  return VQ_OK;
}

/* ---- server ------------------------------------------------------------------------------------ */

/* The schemes a server key signs with, in the server's preference order.
 * spec: rfc8446#4.4.3/8 — none uses SHA-1 (and the client accepts only offered_sigs, no SHA-1). */
static size_t server_schemes(EVP_PKEY *key, uint16_t out[3])
{
  static const uint16_t all[5] = {VQ_HS_SIG_ECDSA_P256_SHA256, VQ_HS_SIG_ED25519,
                                  VQ_HS_SIG_RSA_PSS_RSAE_SHA256, VQ_HS_SIG_RSA_PSS_RSAE_SHA384,
                                  VQ_HS_SIG_RSA_PSS_RSAE_SHA512};
  size_t n = 0;
  for (size_t i = 0; i < 5 && n < 3; i++)
    if (vq_hs_key_supports(key, all[i])) out[n++] = all[i];
  return n;
}

/* spec: rfc8446#4.1.4 — HelloRetryRequest: the selected suite, supported_versions, and key_share
 * naming the group the client must send a share for.
 * spec: rfc8446#4.1.4/1 — supported_versions is always there, and besides it only what the client
 * needs for its new ClientHello (the key_share group). spec: rfc8446#4.1.4/2 — both answer
 * extensions every ClientHello that gets this far carries (server_client_hello requires
 * supported_versions and key_share); no cookie is sent. */
static vq_status server_send_hrr(vq_tls *t, uint16_t group)
{
  vq_tls_server_hello hrr;
  uint8_t *p = NULL;
  size_t cap = 0, used = 0;
  memset(&hrr, 0, sizeof hrr);
  hrr.is_hrr = 1;
  hrr.legacy_version = VQ_TLS_LEGACY_VERSION;
  hrr.session_id_echo.p = vq_tls_hrr_random;
  hrr.cipher_suite = (uint16_t)t->suite;
  hrr.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = 1;
  hrr.ext.selected_version = VQ_TLS_VERSION_13;
  hrr.ext.has[VQ_TLS_EXT_KEY_SHARE] = 1;
  hrr.ext.key_share_group = group;
  vq_status st = vq_hs_th_hrr_restart(&t->th);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  st = out_reserve(t, VQ_LEVEL_INITIAL, 128, &p, &cap);
  if (st != VQ_OK) return st;
  if (vq_tls_build_server_hello(p, cap, &hrr, &used) != VQ_OK)
    return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build HelloRetryRequest");
  t->hrr = 1;
  t->group = group;
  return out_commit(t, VQ_LEVEL_INITIAL, used);
}

/* The server's Finished and its application write secret. */
static vq_status server_send_finished_flight(vq_tls *t)
{
  vq_status st = send_finished(t, t->s_hs);
  if (st == VQ_OK) st = derive_application(t);
  if (st != VQ_OK) return st;
  /* spec: rfc9001#4.1.4 — the server may send 1-RTT data after its Finished: write key now; the
   * read key once the client's Finished is verified. */
  push_secret(t, VQ_LEVEL_APP, VQ_TLS_WRITE, t->s_ap);
  return VQ_OK;
}

/* spec: rfc8446#4.6.1/1 — after the client's Finished, one NewSessionTicket at 1-RTT
 * (rfc9001#4.1.4) carrying the session sealed under the context's ticket key. */
static vq_status server_send_ticket(vq_tls *t)
{
  if (t->ctx->no_tickets || t->wall0 == 0) return VQ_OK;
  vq_hs_ticket tk;
  uint8_t nonce[8], ticket[VQ_HS_TICKET_MAX], age_add[4], *p = NULL;
  size_t tl = 0, cap = 0, used = 0;
  memset(&tk, 0, sizeof tk);
  /* a fresh ticket_nonce per ticket of the connection (a counter, rfc8446#4.6.1) */
  for (size_t i = 0; i < 8; i++) nonce[i] = (uint8_t)(t->tickets_sent >> (56 - 8 * i));
  /* spec: rfc8446#4.6.1/12 — a fresh random ticket_age_add for every ticket. */
  if (vq_hs_random(t->ctx, age_add, sizeof age_add) != VQ_OK)
    return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "no randomness");
  /* spec: rfc9369#5/2 — the ticket names the QUIC version of this connection (the negotiated one) */
  tk.quic_version = t->quic_version;
  tk.suite = (uint16_t)t->suite;
  tk.created_ms = wall_now(t);
  tk.lifetime_s = t->ctx->ticket_lifetime_s;
  tk.age_add = (uint32_t)age_add[0] << 24 | (uint32_t)age_add[1] << 16 | (uint32_t)age_add[2] << 8 |
               age_add[3];
  vq_status st = vq_hkdf_expand_label(t->hash, t->res_master, t->hl, "resumption", nonce,
                                      sizeof nonce, tk.psk, t->hl);
  tk.psk_len = t->hl;
  memcpy(tk.alpn, t->alpn, t->alpn_len);
  tk.alpn_len = t->alpn_len;
  /* 0-RTT needs the parameters to compare with (rfc9000#7.4.1/6): without room, no early data. */
  int early = t->ctx->enable_early_data && t->local_tp_len <= VQ_HS_TICKET_TP_MAX && !t->early_app_long;
  if (early) {
    if (t->local_tp_len) memcpy(tk.tp, t->local_tp, t->local_tp_len);
    tk.tp_len = t->local_tp_len;
    /* spec: rfc9114#7.2.4.2/8 — the application's 0-RTT state (HTTP/3: the server's SETTINGS) goes
     * with the ticket, so that a later connection can tell whether the settings the client
     * remembered from this one are still its own */
    if (t->early_app_len) memcpy(tk.app, t->early_app, t->early_app_len);
    tk.app_len = t->early_app_len;
  }
  /* spec: rfc9001#4.6.1/1 — max_early_data_size is 0xffffffff when 0-RTT is allowed. */
  tk.max_early_data = early ? 0xffffffffu : 0;
  if (st == VQ_OK) st = vq_hs_ticket_seal(t->ctx, &tk, ticket, sizeof ticket, &tl);
  OPENSSL_cleanse(&tk, sizeof tk);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot seal the session ticket");
  vq_tls_new_session_ticket nst;
  memset(&nst, 0, sizeof nst);
  nst.lifetime = t->ctx->ticket_lifetime_s;
  nst.age_add = (uint32_t)age_add[0] << 24 | (uint32_t)age_add[1] << 16 | (uint32_t)age_add[2] << 8 |
                age_add[3];
  nst.nonce.p = nonce;
  nst.nonce.len = sizeof nonce;
  nst.ticket.p = ticket;
  nst.ticket.len = tl;
  if (early) {
    nst.ext.has[VQ_TLS_EXT_EARLY_DATA] = 1;
    nst.ext.max_early_data = 0xffffffffu;
  }
  st = out_reserve(t, VQ_LEVEL_APP, 64 + tl, &p, &cap);
  if (st != VQ_OK) return st;
  if (vq_tls_build_new_session_ticket(p, cap, &nst, &used) != VQ_OK)
    return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build NewSessionTicket");
  t->tickets_sent++;
  /* After the handshake the transcript no longer matters: queued without it. */
  t->out[VQ_LEVEL_APP].len += used;
  return VQ_OK;
}

/* The server's flight after ServerHello: EncryptedExtensions, Certificate, CertificateVerify,
 * Finished (rfc8446#2), at the Handshake level (rfc9001#4.1.4).
 * spec: rfc8446#4/1, rfc8446#4.3.1/1 — in the order of §4.4.1, EncryptedExtensions first (called
 * right after the ServerHello is written). spec: rfc8446#4.4.2/1, rfc8446#4.4.3/1, rfc8446#4.4.3/3
 * — a Certificate unless resumed, always followed by CertificateVerify, then Finished. */
static vq_status server_send_flight(vq_tls *t)
{
  uint8_t *p = NULL, alpn[256], th[VQ_SECRET_MAX], sig[VQ_HS_SIG_MAX];
  size_t cap = 0, used = 0, hl = 0, sl = 0;
  vq_tls_encrypted_extensions ee;
  memset(&ee, 0, sizeof ee);
  alpn[0] = (uint8_t)t->alpn_len;
  memcpy(alpn + 1, t->alpn, t->alpn_len);
  ee.ext.has[VQ_TLS_EXT_ALPN] = 1;
  ee.ext.alpn.p = alpn;
  ee.ext.alpn.len = 1 + t->alpn_len;
  if (!t->ctx->hooks.omit_transport_params) {
    ee.ext.has[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS] = 1;
    ee.ext.quic_tp.p = t->local_tp ? t->local_tp : alpn;
    ee.ext.quic_tp.len = t->local_tp_len;
  }
  /* spec: rfc8446#4.2.10/5 — early data accepted: early_data in EncryptedExtensions.
   * spec: rfc8446#4.2/3 — every extension here answers one of the ClientHello: ALPN and
   * quic_transport_parameters (server_client_hello requires both), early_data only when the client
   * offered it (server_take_psk); never server_name, supported_groups or anything unrequested. */
  if (t->early_accepted) ee.ext.has[VQ_TLS_EXT_EARLY_DATA] = 1;
  vq_status st = out_reserve(t, VQ_LEVEL_HANDSHAKE, 64 + t->alpn_len + t->local_tp_len, &p, &cap);
  if (st != VQ_OK) return st;
  if (vq_tls_build_encrypted_extensions(p, cap, &ee, &used) != VQ_OK)
    return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build EncryptedExtensions");
  st = out_commit(t, VQ_LEVEL_HANDSHAKE, used);
  if (st != VQ_OK) return st;
  /* spec: rfc8446#2.2 — resumed with a PSK: no Certificate, no CertificateVerify. */
  if (t->resumed) return server_send_finished_flight(t);
  /* (tests only: a CertificateRequest, vq_tls_test_hooks.cert_request) */
  if (t->ctx->hooks.cert_request_len) {
    st = out_reserve(t, VQ_LEVEL_HANDSHAKE, t->ctx->hooks.cert_request_len, &p, &cap);
    if (st != VQ_OK) return st;
    memcpy(p, t->ctx->hooks.cert_request, t->ctx->hooks.cert_request_len);
    st = out_commit(t, VQ_LEVEL_HANDSHAKE, t->ctx->hooks.cert_request_len);
    if (st != VQ_OK) return st;
    t->cert_requested = 1;
  }

  /* spec: rfc8446#4.4.2/15 — never empty: a server context always holds a certificate (the
   * configured chain or a generated one, vq_tls_ctx_new). spec: rfc8446#4.4.2/9 — cert_list holds
   * the leaf first, then the rest of the configured chain. spec: rfc8446#4.4.2/6 — every
   * CertificateEntry's extensions are empty (the client sent nothing they could answer: no
   * status_request or signed_certificate_timestamp is acted upon). spec: rfc8446#4.4.2.2/1 — X.509
   * certificates in DER only (no other certificate type is negotiated). */
  vq_tls_certificate ct;
  memset(&ct, 0, sizeof ct);
  ct.context.p = alpn;
  ct.list.p = t->ctx->cert_list;
  ct.list.len = t->ctx->cert_list_len;
  st = out_reserve(t, VQ_LEVEL_HANDSHAKE, 16 + t->ctx->cert_list_len, &p, &cap);
  if (st != VQ_OK) return st;
  if (vq_tls_build_certificate(p, cap, &ct, &used) != VQ_OK)
    return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build Certificate");
  st = out_commit(t, VQ_LEVEL_HANDSHAKE, used);
  if (st != VQ_OK) return st;

  st = vq_hs_th_hash(&t->th, th, &hl);
  if (st == VQ_OK) st = vq_hs_sign(t->ctx->key, t->sig_scheme, 1, th, hl, sig, sizeof sig, &sl);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "CertificateVerify signing failed");
  vq_tls_certificate_verify cv;
  cv.algorithm = t->sig_scheme;
  cv.signature.p = sig;
  cv.signature.len = sl;
  st = out_reserve(t, VQ_LEVEL_HANDSHAKE, 16 + sl, &p, &cap);
  if (st != VQ_OK) return st;
  if (vq_tls_build_certificate_verify(p, cap, &cv, &used) != VQ_OK)
    return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build CertificateVerify");
  st = out_commit(t, VQ_LEVEL_HANDSHAKE, used);
  if (st != VQ_OK) return st;
  return server_send_finished_flight(t);
}

/* spec: rfc8446#4.2.9/4 — a ticket is used only when the client listed psk_dhe_ke, the one mode
 * this server selects.
 * A ticket offered in ch that this server can use: psk_dhe_ke offered (rfc8446#4.2.9/4: the only
 * mode we select), the first identity is a ticket we sealed, not older than its lifetime. Anything
 * else is ignored: spec: rfc8446#4.2.11/5, rfc8446#4.2.11/6 — unknown PSKs are ignored and a full
 * handshake follows. *age_ok: the client's view of the ticket age fits ours (rfc8446#4.2.10/3). */
static int server_open_ticket(vq_tls *t, const vq_tls_client_hello *ch, vq_hs_ticket *tk, int *age_ok)
{
  memset(tk, 0, sizeof *tk);
  *age_ok = 0;
  if (!ch->ext.has[VQ_TLS_EXT_PRE_SHARED_KEY] || !ch->ext.has[VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES] ||
      t->wall0 == 0 || t->ctx->no_tickets)
    return 0;
  /* spec: rfc8446#4.1.1/2 — the key establishment mode comes from the client's list: psk_dhe_ke,
   * the one this server selects, must be in it (psk_ke alone: no PSK, a full handshake). */
  if (!memchr(ch->ext.psk_modes.p, 1, ch->ext.psk_modes.len)) return 0; /* psk_dhe_ke */
  size_t off = 0;
  vq_tls_psk_identity id;
  if (vq_tls_psk_identity_next(ch->ext.psk_identities, &off, &id) != VQ_OK) return 0;
  if (vq_hs_ticket_open(t->ctx, id.identity.p, id.identity.len, tk) != VQ_OK) return 0;
  uint64_t now = wall_now(t);
  /* a ticket dated in the future (another server's clock) by more than the tolerance: not used */
  if (tk->created_ms > now + AGE_TOLERANCE_MS) return 0;
  uint64_t age = now > tk->created_ms ? now - tk->created_ms : 0;
  /* spec: rfc8446#4.6.1/11 — the ticket's lifetime (at most 7 days) bounds its use. */
  if (tk->lifetime_s > VQ_TLS_TICKET_LIFETIME_MAX || age > (uint64_t)tk->lifetime_s * 1000u) return 0;
  /* spec: rfc8446#4.2.10/3 — the client's ticket age: obfuscated_ticket_age - ticket_age_add mod
   * 2^32, within a small tolerance of ours. */
  uint32_t client_age = id.obfuscated_ticket_age - tk->age_add;
  uint64_t d = client_age > age ? client_age - age : age - client_age;
  *age_ok = d <= AGE_TOLERANCE_MS;
  return 1;
}

/* Verifies the binder of the first PSK of ClientHello m (rfc8446#4.2.11.2) against the ticket tk;
 * then the PSK is accepted and, when every condition holds, 0-RTT too. */
static vq_status server_take_psk(vq_tls *t, const vq_hs_ticket *tk, const vq_tls_client_hello *ch,
                                 const uint8_t *m, uint16_t suite, vq_hash h, int age_ok)
{
  uint8_t th[VQ_SECRET_MAX], want[VQ_SECRET_MAX];
  size_t hl = vq_hash_len(h), off = 0;
  vq_tls_span binder;
  /* the binders list (with its 2-byte length) ends the message: the truncated ClientHello is all
   * that precedes it */
  size_t trunc = (size_t)(ch->ext.psk_binders.p - m) - 2;
  vq_status st = vq_hs_early_secret(h, tk->psk, tk->psk_len, t->early);
  if (st == VQ_OK) st = vq_hs_th_hash_extra(&t->th, h, m, trunc, th);
  if (st == VQ_OK) st = vq_hs_binder(h, t->early, th, want);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "PSK binder computation failed");
  /* spec: rfc8446#4.2.11/8, rfc8446#4.2.11/9, rfc8446#4.2.11/10 — the binder of the one PSK we
   * selected is validated before the PSK is accepted; one that does not validate aborts the
   * handshake (decrypt_error, rfc8446#6.2). */
  if (vq_tls_psk_binder_next(ch->ext.psk_binders, &off, &binder) != VQ_OK || binder.len != hl ||
      CRYPTO_memcmp(binder.p, want, hl) != 0)
    return fail(t, VQ_ERR_TLS_DECRYPT_ERROR, "PSK binder does not verify");
  t->resumed = 1;
  /* spec: rfc8446#4.2.10/7, rfc8446#4.2.10/8, rfc8446#4.2.10/10 — 0-RTT only with the first PSK, in
   * the first ClientHello, for the ticket's suite and ALPN protocol, a fresh enough ticket age, and
   * (rfc9000#7.4.1/9) transport parameters that keep the remembered limits; otherwise the handshake
   * goes on without early_data in EncryptedExtensions (rfc8446#4.2.10/4). */
  t->early_accepted = ch->ext.has[VQ_TLS_EXT_EARLY_DATA] && !t->hrr && t->ctx->enable_early_data &&
                      tk->max_early_data == 0xffffffffu && age_ok && tk->suite == suite &&
                      tk->alpn_len == t->alpn_len && memcmp(tk->alpn, t->alpn, t->alpn_len) == 0 &&
                      vq_hs_tp_keeps_limits(tk->tp, tk->tp_len,
                                            t->local_tp ? t->local_tp : tk->tp, t->local_tp_len) &&
                      /* spec: rfc9114#7.2.4.2/8, rfc9114#7.2.4.2/10 — and the application's 0-RTT
                       * state of the ticket (HTTP/3: the SETTINGS sent on the connection that issued
                       * it, which the client remembers) equal to the current one byte for byte: a
                       * server that cannot tell that they are compatible does not accept 0-RTT, and
                       * one that accepts then sends the same settings, reducing nothing */
                      !t->early_app_long && tk->app_len == t->early_app_len &&
                      CRYPTO_memcmp(tk->app, t->early_app, t->early_app_len) == 0;
  /* spec: rfc8446#8.2/1 — an apparent replay only refuses 0-RTT: the resumption goes on.
   * spec: rfc8446#8.2/2 — the check is keyed by the PSK identity of a ClientHello whose binder
   * has just been validated above (a ClientHello that does not validate never gets here).
   * spec: rfc8446#8/1, rfc8446#8/3 — anti-replay: the endpoint's check (a single-use record of the ticket for
   * its lifetime) decides last; a ticket seen before gets the resumption without 0-RTT. */
  if (t->early_accepted && t->early_check) {
    size_t ioff = 0;
    vq_tls_psk_identity id;
    t->early_accepted =
        vq_tls_psk_identity_next(ch->ext.psk_identities, &ioff, &id) == VQ_OK &&
        t->early_check(t->early_check_ud, id.identity.p, id.identity.len,
                       tk->created_ms + (uint64_t)tk->lifetime_s * 1000u) == 1;
  }
  return VQ_OK;
}

/* spec: rfc8446#4.1.2 — ClientHello (the first, or the second after a HelloRetryRequest). */
static vq_status server_client_hello(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_tls_client_hello ch;
  size_t ns = 0, ng = 0;
  const uint16_t *s = suites_of(t, &ns), *g = groups_of(t, &ng);
  vq_status st = vq_tls_parse_client_hello(m + 4, n - 4, &ch);
  /* spec: rfc8446#6/6 — a message that does not parse is decode_error: the codecs' status, which
   * every handler passes on as here. */
  if (st != VQ_OK) return fail(t, st, "malformed ClientHello");
  /* spec: rfc8446#4.2.1/4, rfc8446#4.2.1/5, rfc8446#4.2.1/7, rfc8446#D.2/1, rfc8446#D.2/3 — the
   * version comes from supported_versions alone (legacy_version is never looked at, unknown
   * versions are skipped); no 0x0304 there, or no such extension, is protocol_version. */
  st = vq_tls_quic_check_client_hello(&ch);
  if (st == VQ_ERR_TLS_MISSING_EXTENSION)
    return fail(t, st, "ClientHello without quic_transport_parameters");
  if (st == VQ_ERR_TLS_QUIC_SESSION_ID) return fail(t, st, "ClientHello legacy_session_id not empty");
  if (st != VQ_OK) return fail(t, st, "ClientHello does not offer TLS 1.3");
  /* spec: rfc8446#D.5/10 — legacy_version 0x0300 (SSL 3.0) or below: protocol_version (the only
   * use of legacy_version; the version itself comes from supported_versions, rfc8446#4.2.1/4). */
  if (ch.legacy_version <= 0x0300u)
    return fail(t, VQ_ERR_TLS_PROTOCOL_VERSION, "ClientHello legacy_version 0x%04x", ch.legacy_version);
  /* spec: rfc8446#9.2, rfc8446#9.2/9, rfc8446#9.2/12 — without a PSK, signature_algorithms,
   * supported_groups and key_share are required: missing_extension (we accept a PSK only with
   * (EC)DHE: supported_groups and key_share are always needed). spec: rfc8446#4.2.3/3 — so a
   * server that would authenticate with its certificate, offered no signature_algorithms, aborts
   * with missing_extension.
   * spec: rfc8446#4.4.2.1/2, rfc8446#4.4.2.1/3 — status_request is not a known extension: the
   * parser skips it like any unknown one and nothing the server sends answers it. */
  if ((!ch.ext.has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS] && !ch.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY]) ||
      !ch.ext.has[VQ_TLS_EXT_SUPPORTED_GROUPS] || !ch.ext.has[VQ_TLS_EXT_KEY_SHARE])
    return fail(t, VQ_ERR_TLS_MISSING_EXTENSION,
                "ClientHello without signature_algorithms, supported_groups or key_share");
  /* spec: rfc8446#4.2.9/3 — pre_shared_key without psk_key_exchange_modes: abort. */
  if (ch.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY] && !ch.ext.has[VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES])
    return fail(t, VQ_ERR_TLS_MISSING_EXTENSION, "pre_shared_key without psk_key_exchange_modes");
  /* spec: rfc8446#4.2.10/6 — no early_data in the ClientHello that follows a HelloRetryRequest. */
  if (t->hrr && ch.ext.has[VQ_TLS_EXT_EARLY_DATA])
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "early_data in the second ClientHello");
  vq_hs_ticket tk;
  int age_ok = 0, have_tk = server_open_ticket(t, &ch, &tk, &age_ok);

  /* spec: rfc8446#4.1.1 — the server selects a cipher suite (its preference among the client's);
   * spec: rfc8446#4.2.11/3 — with a usable ticket, the ticket's suite when both still allow it (a
   * ticket whose hash differs from the chosen suite's is dropped below, rfc8446#4.6.1/4). */
  uint16_t suite = 0;
  if (have_tk && u16_in(ch.cipher_suites, tk.suite) && u16_in_arr(s, ns, tk.suite) &&
      (!t->hrr || tk.suite == t->suite))
    suite = tk.suite;
  /* spec: rfc8446#4.1.2/11, rfc8446#9.3/5 — only the server's own suites are looked for in the
   * client's list: suites it does not know or use are ignored. */
  for (size_t i = 0; i < ns && !suite; i++)
    if (u16_in(ch.cipher_suites, s[i])) suite = s[i];
  /* spec: rfc8446#4.1.1/4, rfc8446#2.1/1 — no suite in common: handshake_failure. */
  if (!suite) {
    OPENSSL_cleanse(&tk, sizeof tk);
    return fail(t, VQ_ERR_TLS_HANDSHAKE_FAILURE, "no cipher suite in common");
  }
  vq_hash suite_hash = VQ_HASH_SHA256, tk_hash = VQ_HASH_SHA256;
  (void)vq_suite_hash((vq_cipher_suite)suite, &suite_hash);
  /* spec: rfc8446#4.6.1/4 — a ticket resumes only with a suite of the same hash. */
  if (have_tk && (vq_suite_hash((vq_cipher_suite)tk.suite, &tk_hash) != VQ_OK || tk_hash != suite_hash))
    have_tk = 0;
  /* spec: rfc9369#5/2 — a ticket issued on a connection of another QUIC version than the one this
   * ClientHello came in is not accepted: a full handshake, without 0-RTT */
  if (have_tk && tk.quic_version != t->quic_version0) have_tk = 0;

  /* spec: rfc8446#4.1.4/9 — the same suite after a HelloRetryRequest. */
  if (t->hrr && suite != t->suite)
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "second ClientHello changes the cipher suite");

  /* spec: rfc8446#4.2.8, rfc8446#2/1 — a share in an accepted group, the server's preference
   * first, taken from the client's key_share: the server's share will be in that group.
   * spec: rfc8446#4.1.1/3 — none, but an accepted group in supported_groups: HelloRetryRequest.
   * spec: rfc8446#4.1.1/1, rfc8446#4.1.1/4, rfc8446#2.1/1 — no group in common: handshake_failure.
   * spec: rfc8446#9.1/3 — secp256r1 is among the groups (default_groups), and X25519. */
  /* spec: rfc8446#4.2.8/13 — only a share whose group the client also lists in supported_groups
   * is taken (a share in a group it does not list is skipped: then a HelloRetryRequest or
   * handshake_failure), so the server's KeyShareEntry is always in one of the client's
   * supported_groups; and with psk_dhe_ke the only mode selected (server_open_ticket) there is no
   * psk_ke handshake without a share. */
  uint16_t group = 0;
  vq_tls_span share = {NULL, 0};
  for (size_t i = 0; i < ng && !group; i++) {
    size_t off = 0;
    vq_tls_key_share_entry e;
    while (!group && vq_tls_key_share_next(ch.ext.key_shares, &off, &e) == VQ_OK)
      if (e.group == g[i] && vq_hs_group_supported(e.group) && u16_in(ch.ext.groups, e.group)) {
        group = e.group;
        share = e.key_exchange;
      }
  }
  uint16_t retry_group = 0;
  if (!group) {
    if (t->hrr)
      return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "second ClientHello lacks the requested key share");
    for (size_t i = 0; i < ng && !retry_group; i++)
      if (u16_in(ch.ext.groups, g[i]) && vq_hs_group_supported(g[i])) retry_group = g[i];
    if (!retry_group) return fail(t, VQ_ERR_TLS_HANDSHAKE_FAILURE, "no key exchange group in common");
  } else if (t->hrr && group != t->group) {
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "second ClientHello shares another group");
  }

  /* spec: rfc8446#4.4.3/4, rfc8446#4.4.3/6, rfc8446#4.4.3/7 — a scheme the client offered in
   * signature_algorithms and the key supports (RSA: PSS only). */
  uint16_t schemes[3], scheme = 0;
  size_t nsch = server_schemes(t->ctx->key, schemes);
  for (size_t i = 0; i < nsch && !scheme; i++)
    if (u16_in(ch.ext.sig_algs, schemes[i])) scheme = schemes[i];
  if (!scheme && !have_tk)
    return fail(t, ch.ext.has[VQ_TLS_EXT_SIGNATURE_ALGORITHMS] ? VQ_ERR_TLS_HANDSHAKE_FAILURE
                                                              : VQ_ERR_TLS_MISSING_EXTENSION,
                "no signature scheme in common");

  /* spec: rfc9001#8.1/1, rfc9001#8.1/2 — no ALPN, or no protocol in common: no_application_protocol.
   * spec: rfc9000#7/2 — so every connection negotiates its application protocol explicitly. */
  if (!ch.ext.has[VQ_TLS_EXT_ALPN])
    return fail(t, VQ_ERR_TLS_NO_APPLICATION_PROTOCOL, "ClientHello without ALPN");
  const uint8_t *a = t->ctx->alpn;
  size_t al = 0;
  for (size_t off = 0; off < t->ctx->alpn_len && !al; off += 1u + a[off]) {
    size_t coff = 0;
    vq_tls_span name;
    while (!al && vq_tls_alpn_next(ch.ext.alpn, &coff, &name) == VQ_OK)
      if (name.len == a[off] && memcmp(name.p, a + off + 1, name.len) == 0) {
        memcpy(t->alpn, name.p, name.len);
        al = name.len;
      }
  }
  /* spec: rfc9001#8.1/6 — no compatible protocol: the server fails with 0x0178 */
  if (!al) return fail(t, VQ_ERR_TLS_NO_APPLICATION_PROTOCOL, "no application protocol in common");
  t->alpn_len = al;
  t->sig_scheme = scheme;

  /* The PSK is decided on the ClientHello that gets a ServerHello (after a HelloRetryRequest, on
   * the second one). */
  if (have_tk && !retry_group) st = server_take_psk(t, &tk, &ch, m, suite, suite_hash, age_ok);
  OPENSSL_cleanse(&tk, sizeof tk);
  if (st != VQ_OK) return st;
  st = vq_hs_th_add(&t->th, m, n);
  if (st == VQ_OK && !t->hrr) st = set_suite(t, suite);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  if (retry_group) return server_send_hrr(t, retry_group);
  /* (before derive_early: its key log line names the connection by this client random) */
  memcpy(t->client_random, ch.random, VQ_TLS_RANDOM_LEN);
  /* spec: rfc8446#4.2.10/5 — 0-RTT accepted: the early secret from the ClientHello. */
  if (t->early_accepted) {
    st = derive_early(t, t->hash, t->suite);
    if (st != VQ_OK) return st;
  }

  if (copy_out(t, &t->peer_tp, &t->peer_tp_len, ch.ext.quic_tp.p, ch.ext.quic_tp.len) != VQ_OK)
    return fail(t, VQ_ERR_NOMEM, "out of memory budget for transport parameters");
  /* the connection may choose its QUIC version from them (RFC 9368 §2.3) and replace local_tp */
  if (t->tp_hook) t->tp_hook(t->tp_hook_ud, t->peer_tp, t->peer_tp_len);

  /* spec: rfc8446#4.1.3 — ServerHello: random, the client's legacy_session_id echoed (empty),
   * the suite, supported_versions = TLS 1.3, key_share in the client's share's group. */
  uint8_t pub[VQ_HS_KX_MAX], random[VQ_TLS_RANDOM_LEN], shared[VQ_SECRET_MAX], *p = NULL;
  size_t pl = 0, sl = 0, cap = 0, used = 0;
  t->group = group;
  st = vq_hs_kx_keygen_ctx(t->ctx, group, &t->kx, pub, &pl);
  if (st != VQ_OK) return fail(t, st, "key share generation failed");
  st = vq_hs_kx_derive(t->kx, group, share.p, share.len, shared, &sl);
  if (st != VQ_OK) return fail(t, st, "invalid client key share");
  /* spec: rfc8446#4.1.3/3 — the server random is drawn on its own (RAND_bytes or the test
   * source), never derived from the ClientHello's. */
  if (vq_hs_random(t->ctx, random, sizeof random) != VQ_OK) {
    OPENSSL_cleanse(shared, sizeof shared);
    return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "no randomness");
  }
  /* spec: rfc8446#4.1.3/1, rfc8446#4.2.1/10, rfc8446#D.5/9 — legacy_version 0x0303.
   * spec: rfc8446#4.1.3/7, rfc8446#4.2.9/6 — only supported_versions, key_share and (resumed)
   * pre_shared_key: never psk_key_exchange_modes. spec: rfc8446#4.2.9/8 — resumed too, psk_dhe_ke:
   * a key_share. */
  vq_tls_server_hello sh;
  memset(&sh, 0, sizeof sh);
  sh.legacy_version = VQ_TLS_LEGACY_VERSION;
  sh.random = random;
  sh.session_id_echo = ch.session_id;
  sh.cipher_suite = suite;
  sh.ext.has[VQ_TLS_EXT_SUPPORTED_VERSIONS] = 1;
  sh.ext.selected_version = VQ_TLS_VERSION_13;
  sh.ext.has[VQ_TLS_EXT_KEY_SHARE] = 1;
  sh.ext.key_share_group = group;
  sh.ext.key_share.p = pub;
  sh.ext.key_share.len = pl;
  /* spec: rfc8446#4.2.11 — the accepted PSK: selected_identity 0 (the only one we look at). */
  if (t->resumed) {
    sh.ext.has[VQ_TLS_EXT_PRE_SHARED_KEY] = 1;
    sh.ext.psk_selected = 0;
  }
  st = out_reserve(t, VQ_LEVEL_INITIAL, 256, &p, &cap);
  if (st == VQ_OK && vq_tls_build_server_hello(p, cap, &sh, &used) != VQ_OK)
    st = fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "cannot build ServerHello");
  if (st == VQ_OK) st = out_commit(t, VQ_LEVEL_INITIAL, used);
  if (st == VQ_OK) st = derive_handshake(t, shared, sl);
  OPENSSL_cleanse(shared, sizeof shared);
  EVP_PKEY_free(t->kx);
  t->kx = NULL;
  if (st != VQ_OK) return st;
  st = server_send_flight(t);
  if (st != VQ_OK) return st;
  t->state = S_WAIT_FIN;
  return VQ_OK;
}

/* The client's Certificate, after the CertificateRequest of vq_tls_test_hooks.cert_request.
 * spec: rfc8446#4.4.2/2 — it comes exactly when one was requested (server_finished refuses a
 * Finished without it, process() a Certificate without a request); spec: rfc8446#4.4.2/3 — vquic
 * has no client certificates, so only an empty certificate_list is accepted. */
static vq_status server_client_cert(vq_tls *t, const uint8_t *m, size_t n)
{
  vq_tls_certificate ct;
  vq_status st = vq_tls_parse_certificate(m + 4, n - 4, &ct);
  if (st != VQ_OK) return fail(t, st, "malformed client Certificate");
  if (ct.context.len != 0)
    return fail(t, VQ_ERR_TLS_ILLEGAL_PARAMETER, "client certificate_request_context does not match");
  if (ct.count != 0)
    return fail(t, VQ_ERR_TLS_UNSUPPORTED_CERTIFICATE, "client certificates are not supported");
  st = vq_hs_th_add(&t->th, m, n);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  t->cert_requested = 2; /* answered */
  return VQ_OK;
}

/* spec: rfc8446#4.4.4 — the client's Finished completes the handshake (rfc9001#4.1.1). */
static vq_status server_finished(vq_tls *t, const uint8_t *m, size_t n)
{
  if (t->cert_requested == 1)
    return fail(t, VQ_ERR_TLS_UNEXPECTED_MESSAGE, "client Finished without the requested Certificate");
  vq_status st = check_finished(t, m + 4, n - 4, t->c_hs, "client");
  if (st != VQ_OK) return st;
  st = vq_hs_th_add(&t->th, m, n);
  if (st != VQ_OK) return fail(t, VQ_ERR_TLS_INTERNAL_ERROR, "transcript hash failed");
  st = derive_resumption(t);
  if (st != VQ_OK) return st;
  push_secret(t, VQ_LEVEL_APP, VQ_TLS_READ, t->c_ap);
  t->state = S_DONE;
  return server_send_ticket(t);
}

/* ---- dispatch ----------------------------------------------------------------------------------- */

/* The level the handshake reads CRYPTO data at in its state (rfc9001#4.1.4). */
static vq_level recv_level(const vq_tls *t)
{
  switch (t->state) {
  case C_WAIT_SH:
  case S_WAIT_CH: return VQ_LEVEL_INITIAL;
  case C_DONE:
  case S_DONE: return VQ_LEVEL_APP;
  default: return VQ_LEVEL_HANDSHAKE;
  }
}

static const char *level_name(vq_level l)
{
  switch (l) {
  case VQ_LEVEL_INITIAL: return "Initial";
  case VQ_LEVEL_EARLY: return "0-RTT";
  case VQ_LEVEL_HANDSHAKE: return "Handshake";
  default: return "1-RTT";
  }
}

/* One whole handshake message m[0..n) (header included). */
static vq_status process(vq_tls *t, const uint8_t *m, size_t n)
{
  uint8_t type = m[0];
  /* spec: rfc9001#6/3, rfc9001#8.3/1 — KeyUpdate and EndOfEarlyData are unexpected_message. */
  vq_status st = vq_tls_quic_check_msg_type(type);
  if (st != VQ_OK) return fail(t, st, "handshake message type %u is not used with QUIC", type);
  switch (t->state) {
  case C_WAIT_SH:
    if (type == VQ_TLS_SERVER_HELLO) return client_server_hello(t, m, n);
    break;
  case C_WAIT_EE:
    if (type == VQ_TLS_ENCRYPTED_EXTENSIONS) return client_ee(t, m, n);
    break;
  case C_WAIT_CERT_CR:
    if (type == VQ_TLS_CERTIFICATE_REQUEST) return client_cr(t, m, n);
    if (type == VQ_TLS_CERTIFICATE) return client_certificate(t, m, n);
    break;
  case C_WAIT_CERT:
    if (type == VQ_TLS_CERTIFICATE) return client_certificate(t, m, n);
    break;
  case C_WAIT_CV:
    if (type == VQ_TLS_CERTIFICATE_VERIFY) return client_cv(t, m, n);
    break;
  case C_WAIT_FIN:
    if (type == VQ_TLS_FINISHED) return client_finished(t, m, n);
    break;
  case C_DONE:
    if (type == VQ_TLS_NEW_SESSION_TICKET) return client_nst(t, m, n);
    /* spec: rfc9001#4.4/5 — a post-handshake CertificateRequest is a PROTOCOL_VIOLATION */
    if (type == VQ_TLS_CERTIFICATE_REQUEST)
      return fail(t, VQ_ERR_PROTOCOL_VIOLATION, "post-handshake CertificateRequest");
    break;
  case S_WAIT_CH:
    if (type == VQ_TLS_CLIENT_HELLO) return server_client_hello(t, m, n);
    break;
  case S_WAIT_FIN:
    if (type == VQ_TLS_CERTIFICATE && t->cert_requested == 1) return server_client_cert(t, m, n);
    if (type == VQ_TLS_FINISHED) return server_finished(t, m, n);
    break;
  default: break;
  }
  /* spec: rfc8446#4/2 — a message out of the expected order is unexpected_message.
   * spec: rfc8446#4.1.2/3 — so is a ClientHello once TLS 1.3 is negotiated (no renegotiation). */
  return fail(t, VQ_ERR_TLS_UNEXPECTED_MESSAGE, "unexpected handshake message type %u at %s", type,
              level_name(recv_level(t)));
}

vq_status vq_tls_recv(vq_tls *t, const vq_cx *cx, vq_level level, const uint8_t *data, size_t len)
{
  if (!t) return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK) return st;
  if (t->err != VQ_OK) return t->err;
  if ((unsigned)level >= VQ_LEVEL_COUNT || (len && !data)) return VQ_ERR_INVALID_ARGUMENT;
  if (len == 0) return VQ_OK;
  if (cx) t->mono_now = cx->now;
  vq_level exp = recv_level(t);
  /* spec: rfc9001#4.1.3 — CRYPTO frames are never carried at 0-RTT. */
  if (level == VQ_LEVEL_EARLY)
    return fail(t, VQ_ERR_TLS_UNEXPECTED_MESSAGE, "CRYPTO data at the 0-RTT level");
  /* spec: rfc9001#4.1.3/1, rfc9001#4.1.3/2 — data from a previous encryption level past what was
   * received: a PROTOCOL_VIOLATION. */
  if (level < exp)
    return fail(t, VQ_ERR_TLS_KEY_CHANGE_LEFTOVER, "%zu bytes at %s after moving to %s", len,
                level_name(level), level_name(exp));
  if (level > exp)
    return fail(t, VQ_ERR_TLS_UNEXPECTED_MESSAGE, "handshake data at %s while expecting %s",
                level_name(level), level_name(exp));
  while (len > 0) {
    /* spec: rfc9001#4.1.3/3 — unconsumed data at a level when keys for a higher one are provided
     * is a PROTOCOL_VIOLATION. */
    if (recv_level(t) != level)
      return fail(t, VQ_ERR_TLS_KEY_CHANGE_LEFTOVER, "%zu bytes left at %s after the key change",
                  len, level_name(level));
    size_t need = t->in_len < VQ_TLS_HS_HEADER_LEN
                      ? VQ_TLS_HS_HEADER_LEN
                      : VQ_TLS_HS_HEADER_LEN + ((size_t)t->in[1] << 16 | (size_t)t->in[2] << 8 | t->in[3]);
    size_t take = need - t->in_len < len ? need - t->in_len : len;
    if (t->in_cap < need && grow(t, &t->in, &t->in_cap, 0, t->in_len, need) != VQ_OK)
      return fail(t, VQ_ERR_NOMEM, "out of memory budget for a handshake message");
    memcpy(t->in + t->in_len, data, take);
    t->in_len += take;
    data += take;
    len -= take;
    if (t->in_len < VQ_TLS_HS_HEADER_LEN) continue;
    size_t total = VQ_TLS_HS_HEADER_LEN + ((size_t)t->in[1] << 16 | (size_t)t->in[2] << 8 | t->in[3]);
    if (total > VQ_TLS_MAX_MSG)
      return fail(t, VQ_ERR_TLS_MESSAGE_TOO_LARGE, "handshake message of %zu bytes (type %u) over %u",
                  total, t->in[0], VQ_TLS_MAX_MSG);
    if (t->in_len < total) continue;
    t->in_len = 0;
    st = process(t, t->in, total);
    if (st != VQ_OK) return st;
  }
  return VQ_OK;
}

/* ---- the rest of the API ----------------------------------------------------------------------- */

/* Client: decodes the session to offer and decides whether it is offered (and 0-RTT with it). */
static vq_status client_take_session(vq_tls *t, const uint8_t *blob, size_t len)
{
  if (!blob) return VQ_ERR_INVALID_ARGUMENT;
  if (len > VQ_TLS_SESSION_MAX) return VQ_ERR_TLS_SESSION_INVALID;
  vq_status st = copy_out(t, &t->offer, &t->offer_len, blob, len);
  if (st != VQ_OK) return st;
  st = vq_hs_session_decode(t->offer, t->offer_len, &t->sess);
  if (st != VQ_OK) return st;
  size_t ns = 0;
  const uint16_t *s = suites_of(t, &ns);
  uint64_t now = wall_now(t);
  uint64_t life = (uint64_t)(t->sess.lifetime_s > VQ_TLS_TICKET_LIFETIME_MAX ? VQ_TLS_TICKET_LIFETIME_MAX
                                                                           : t->sess.lifetime_s);
  (void)vq_suite_hash((vq_cipher_suite)t->sess.suite, &t->sess_hash);
  /* spec: rfc8446#4.2.11.1/1 — not older than ticket_lifetime (nor 7 days, rfc8446#4.6.1/10).
   * spec: rfc8446#4.6.1/5 — only for the same server name; and for a suite we offer. */
  /* spec: rfc9369#5/1 — and only in the QUIC version of the connection that got it */
  t->sess_ok = now != 0 && now >= t->sess.received_ms && now - t->sess.received_ms < life * 1000u &&
               strcmp(t->sess.sni, t->server_name) == 0 && u16_in_arr(s, ns, t->sess.suite) &&
               t->sess.quic_version == t->quic_version0;
  /* spec: rfc9001#4.6.1 — 0-RTT when the ticket allows it (max_early_data_size 0xffffffff) and the
   * session's ALPN protocol is one we offer (the server accepts only the same, rfc8446#4.2.10/8). */
  t->early_offered = t->sess_ok && t->ctx->enable_early_data && t->sess.max_early_data == 0xffffffffu &&
                     alpn_has(t->ctx->alpn, t->ctx->alpn_len, t->sess.alpn, t->sess.alpn_len);
  if (t->sess_ok) st = vq_hs_early_secret(t->sess_hash, t->sess.psk, t->sess.psk_len, t->early);
  return st == VQ_OK ? VQ_OK : VQ_ERR_TLS_INTERNAL_ERROR;
}

vq_status vq_tls_new(vq_tls **out, vq_mem *mem, const vq_tls_ctx *ctx, const vq_tls_params *p,
                     const vq_cx *cx)
{
  return vq_tls_new_ex(out, mem, ctx, p, NULL, cx);
}

vq_status vq_tls_new_ex(vq_tls **out, vq_mem *mem, const vq_tls_ctx *ctx, const vq_tls_params *p,
                        const vq_tls_resume *r, const vq_cx *cx)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK) return st;
  if (!out || !mem || !ctx || !p || (p->local_tp_len && !p->local_tp) || p->local_tp_len > 65535 ||
      (r && r->session_len && !r->session))
    return VQ_ERR_INVALID_ARGUMENT;
  const char *name = p->server_name ? p->server_name : "";
  if (strlen(name) > 255) return VQ_ERR_INVALID_ARGUMENT;
  /* A client checks the certificate against a name: without one only insecure mode can work. */
  if (!ctx->is_server && !ctx->insecure && name[0] == 0) return VQ_ERR_INVALID_ARGUMENT;
  *out = NULL;
  vq_tls *t = vq_mem_calloc(mem, 1, sizeof *t);
  if (!t) return VQ_ERR_NOMEM;
  t->mem = mem;
  t->ctx = ctx;
  t->server = ctx->is_server;
  t->alert = -1;
  t->wall0 = r ? r->wall_ms : 0;
  t->quic_version0 = t->quic_version = r ? r->quic_version : 0;
  if (r && t->server) {
    t->early_check = r->early_check;
    t->early_check_ud = r->early_check_ud;
    if (r->early_app_len > VQ_TLS_EARLY_APP_MAX) {
      t->early_app_long = 1;
    } else if (r->early_app_len && r->early_app) {
      memcpy(t->early_app, r->early_app, r->early_app_len);
      t->early_app_len = r->early_app_len;
    }
  }
  t->mono0 = t->mono_now = cx ? cx->now : 0;
  if (!t->server) {
    memcpy(t->server_name, name, strlen(name) + 1);
    t->send_sni = name[0] != 0 && !vq_hs_is_ip_literal(name);
  }
  st = copy_out(t, &t->local_tp, &t->local_tp_len, p->local_tp, p->local_tp_len);
  if (st == VQ_OK && !t->server && r && r->session_len)
    st = client_take_session(t, r->session, r->session_len);
  if (st == VQ_OK) st = vq_hs_th_init(&t->th);
  if (st == VQ_OK) {
    if (t->server) {
      t->state = S_WAIT_CH;
    } else {
      t->state = C_WAIT_SH;
      t->group = ctx->hooks.client_share_group ? ctx->hooks.client_share_group : VQ_HS_GROUP_X25519;
      if (!vq_hs_group_supported(t->group)) st = VQ_ERR_INVALID_ARGUMENT;
      else if (vq_hs_random(t->ctx, t->client_random, sizeof t->client_random) != VQ_OK)
        st = VQ_ERR_INTERNAL;
      else if (client_send_hello(t) != VQ_OK) st = t->err;
    }
  }
  if (st != VQ_OK) {
    vq_tls_free(t);
    return st;
  }
  *out = t;
  return VQ_OK;
}

void vq_tls_free(vq_tls *t)
{
  if (!t) return;
  vq_mem *mem = t->mem;
  vq_mem_free(mem, t->in, t->in_cap);
  for (size_t i = 0; i < VQ_LEVEL_COUNT; i++) vq_mem_free(mem, t->out[i].p, t->out[i].cap);
  vq_mem_free(mem, t->local_tp, t->local_tp_len);
  vq_mem_free(mem, t->peer_tp, t->peer_tp_len);
  vq_mem_free(mem, t->cookie, t->cookie_len);
  if (t->offer) OPENSSL_cleanse(t->offer, t->offer_len);
  vq_mem_free(mem, t->offer, t->offer_len);
  if (t->session) OPENSSL_cleanse(t->session, t->session_len);
  vq_mem_free(mem, t->session, t->session_len);
  vq_hs_th_free(&t->th);
  EVP_PKEY_free(t->kx);
  sk_X509_pop_free(t->peer_chain, X509_free);
  /* spec: rfc8446#6/3 — every secret and queued secret (failed connection or not) is wiped before
   * the memory goes back. */
  OPENSSL_cleanse(t, sizeof *t);
  vq_mem_free(mem, t, sizeof *t);
}

void vq_tls_out_peek(const vq_tls *t, vq_level level, const uint8_t **data, size_t *len)
{
  *data = NULL;
  *len = 0;
  if (!t || (unsigned)level >= VQ_LEVEL_COUNT) return;
  const out_buf *o = &t->out[level];
  if (o->len > o->off) {
    *data = o->p + o->off;
    *len = o->len - o->off;
  }
}

void vq_tls_out_consume(vq_tls *t, vq_level level, size_t n)
{
  if (!t || (unsigned)level >= VQ_LEVEL_COUNT) return;
  out_buf *o = &t->out[level];
  o->off += n < o->len - o->off ? n : o->len - o->off;
  if (o->off == o->len) {
    /* drained (the caller has copied it into its CRYPTO stream): the buffer goes, so a connection
     * holds no handshake output after its handshake; the next message allocates again */
    vq_mem_free(t->mem, o->p, o->cap);
    o->p = NULL;
    o->cap = 0;
    o->off = o->len = 0;
  }
}

int vq_tls_poll_secret(vq_tls *t, vq_tls_secret *s)
{
  if (!t || !s || t->q_len == 0) return 0;
  vq_tls_secret *e = &t->q[t->q_head];
  *s = *e;
  OPENSSL_cleanse(e, sizeof *e);
  t->q_head = (t->q_head + 1) % SECRET_QUEUE;
  t->q_len--;
  return 1;
}

/* spec: rfc8446#E.5/4 — how the application tells that the handshake has completed. */
int vq_tls_handshake_complete(const vq_tls *t)
{
  return t && t->err == VQ_OK && (t->state == C_DONE || t->state == S_DONE);
}

void vq_tls_set_quic_version(vq_tls *t, uint32_t version)
{
  if (t) t->quic_version = version;
}

uint32_t vq_tls_session_quic_version(const uint8_t *blob, size_t len)
{
  vq_hs_session s;
  uint32_t v = vq_hs_session_decode(blob, len, &s) == VQ_OK ? s.quic_version : 0;
  OPENSSL_cleanse(&s, sizeof s);
  return v;
}

void vq_tls_set_tp_hook(vq_tls *t, vq_tls_tp_hook fn, void *ud)
{
  if (!t) return;
  t->tp_hook = fn;
  t->tp_hook_ud = ud;
}

vq_status vq_tls_set_local_tp(vq_tls *t, const uint8_t *tp, size_t len)
{
  if (!t || (len && !tp) || len > 65535) return VQ_ERR_INVALID_ARGUMENT;
  return copy_out(t, &t->local_tp, &t->local_tp_len, tp, len);
}

void vq_tls_peer_tp(const vq_tls *t, const uint8_t **tp, size_t *len)
{
  *tp = t ? t->peer_tp : NULL;
  *len = t && t->peer_tp ? t->peer_tp_len : 0;
}

void vq_tls_alpn(const vq_tls *t, const uint8_t **name, size_t *len)
{
  *name = t && t->alpn_len ? t->alpn : NULL;
  *len = t ? t->alpn_len : 0;
}

vq_cipher_suite vq_tls_suite(const vq_tls *t)
{
  return t ? t->suite : (vq_cipher_suite)0;
}

int vq_tls_alert(const vq_tls *t)
{
  return t && t->err != VQ_OK ? t->alert : -1;
}

const char *vq_tls_error_detail(const vq_tls *t)
{
  return t ? t->detail : "";
}

vq_status vq_tls_session_get(const vq_tls *t, uint8_t *out, size_t cap, size_t *len)
{
  if (!t || !len) return VQ_ERR_INVALID_ARGUMENT;
  *len = t->session ? t->session_len : 0;
  if (!t->session) return VQ_OK;
  if (!out || cap < t->session_len) return VQ_ERR_BUFFER_TOO_SMALL;
  memcpy(out, t->session, t->session_len);
  return VQ_OK;
}

int vq_tls_session_offered(const vq_tls *t)
{
  return t && !t->server && t->sess_ok;
}

int vq_tls_resumed(const vq_tls *t)
{
  return t && t->resumed;
}

int vq_tls_early_data_accepted(const vq_tls *t)
{
  return t && t->early_accepted;
}

uint64_t vq_tls_sessions_received(const vq_tls *t)
{
  return t ? t->sessions_received : 0;
}

int vq_tls_early_data_offered(const vq_tls *t)
{
  return t && !t->server && t->early_offered;
}

void vq_tls_early_peer_tp(const vq_tls *t, const uint8_t **tp, size_t *len)
{
  int ok = t && !t->server && t->early_offered;
  *tp = ok ? t->sess.tp : NULL;
  *len = ok ? t->sess.tp_len : 0;
}
