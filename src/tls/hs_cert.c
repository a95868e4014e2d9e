/* vquic — certificates for the QUIC handshake: the endpoint context (PEM chain and key from memory, or
 * a generated self-signed ECDSA P-256 certificate), the client's chain and name verification, and the
 * CertificateVerify signatures (RFC 8446 §4.4.2, §4.4.2.4, §4.4.3), on OpenSSL 3.0 libcrypto.
 *
 * The context and its buffers are allocated by OpenSSL (OPENSSL_zalloc): it has no vq_mem, being
 * created before any connection and shared by all of them. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls/hs_internal.h"

/* ---- key types and signatures ------------------------------------------------------------------ */

static int is_p256(EVP_PKEY *key)
{
  char name[32];
  size_t n = 0;
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return 0;
  if (EVP_PKEY_get_utf8_string_param(key, "group", name, sizeof name, &n) != 1) return 0;
  return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
}

/* The key types a server may hold and a client accepts: ECDSA P-256, RSA, Ed25519. */
static int key_type_ok(EVP_PKEY *key)
{
  int id = EVP_PKEY_get_base_id(key);
  return is_p256(key) || (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 2048) ||
         id == EVP_PKEY_ED25519;
}

/* spec: rfc8446#4.2.3 — ecdsa_secp256r1_sha256 is ECDSA on P-256 with SHA-256; rsa_pss_rsae_* is
 * RSASSA-PSS with an rsaEncryption key, MGF1 and salt of the digest's length; ed25519 is EdDSA.
 * spec: rfc8446#4.2.3/8 — rsa_pss_rsae_* only for an rsaEncryption key (EVP_PKEY_RSA, not
 * EVP_PKEY_RSA_PSS). spec: rfc8446#4.2.3/1, rfc8446#4.4.2.2/2 — a key is used only with the schemes
 * of its type. */
int vq_hs_key_supports(EVP_PKEY *key, uint16_t scheme)
{
  switch (scheme) {
  case VQ_HS_SIG_ECDSA_P256_SHA256: return is_p256(key);
  case VQ_HS_SIG_RSA_PSS_RSAE_SHA256:
  case VQ_HS_SIG_RSA_PSS_RSAE_SHA384:
  case VQ_HS_SIG_RSA_PSS_RSAE_SHA512: return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
  case VQ_HS_SIG_ED25519: return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
  default: return 0;
  }
}

static const EVP_MD *scheme_md(uint16_t scheme)
{
  switch (scheme) {
  case VQ_HS_SIG_ECDSA_P256_SHA256:
  case VQ_HS_SIG_RSA_PSS_RSAE_SHA256: return EVP_sha256();
  case VQ_HS_SIG_RSA_PSS_RSAE_SHA384: return EVP_sha384();
  case VQ_HS_SIG_RSA_PSS_RSAE_SHA512: return EVP_sha512();
  default: return NULL; /* Ed25519: no pre-hash */
  }
}

/* spec: rfc8446#4.4.3 — the signed content: 64 octets of 0x20, the context string ("TLS 1.3, server
 * CertificateVerify" / "TLS 1.3, client CertificateVerify"), one 0 byte, then the transcript hash. */
static size_t cv_content(uint8_t *buf, int server, const uint8_t *th, size_t hl)
{
  const char *ctxs = server ? "TLS 1.3, server CertificateVerify" : "TLS 1.3, client CertificateVerify";
  size_t cl = strlen(ctxs);
  memset(buf, 0x20, 64);
  memcpy(buf + 64, ctxs, cl);
  buf[64 + cl] = 0;
  memcpy(buf + 65 + cl, th, hl);
  return 65 + cl + hl;
}

static int setup_md_ctx(EVP_MD_CTX *mc, EVP_PKEY *key, uint16_t scheme, int sign)
{
  EVP_PKEY_CTX *pc = NULL;
  const EVP_MD *md = scheme_md(scheme);
  int ok = sign ? EVP_DigestSignInit(mc, &pc, md, NULL, key) == 1
                : EVP_DigestVerifyInit(mc, &pc, md, NULL, key) == 1;
  /* spec: rfc8446#4.2.3/7 — RSASSA-PSS with the salt as long as the digest (sign and verify). */
  if (ok && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
    ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) == 1;
  return ok;
}

vq_status vq_hs_sign(EVP_PKEY *key, uint16_t scheme, int server, const uint8_t *th, size_t hl,
                     uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
  uint8_t content[64 + 34 + VQ_SECRET_MAX];
  size_t n = cv_content(content, server, th, hl), sl = 0;
  if (!vq_hs_key_supports(key, scheme)) return VQ_ERR_TLS_INTERNAL_ERROR;
  EVP_MD_CTX *mc = EVP_MD_CTX_new();
  int ok = mc && setup_md_ctx(mc, key, scheme, 1) && EVP_DigestSign(mc, NULL, &sl, content, n) == 1 &&
           sl <= sig_cap && EVP_DigestSign(mc, sig, &sl, content, n) == 1;
  EVP_MD_CTX_free(mc);
  if (!ok) return VQ_ERR_TLS_INTERNAL_ERROR;
  *sig_len = sl;
  return VQ_OK;
}

/* spec: rfc8446#4.4.3 — a signature that does not verify: decrypt_error. */
vq_status vq_hs_verify(EVP_PKEY *key, uint16_t scheme, int server, const uint8_t *th, size_t hl,
                       const uint8_t *sig, size_t sig_len)
{
  uint8_t content[64 + 34 + VQ_SECRET_MAX];
  size_t n = cv_content(content, server, th, hl);
  EVP_MD_CTX *mc = EVP_MD_CTX_new();
  if (!mc) return VQ_ERR_TLS_INTERNAL_ERROR;
  int ok = setup_md_ctx(mc, key, scheme, 0) && EVP_DigestVerify(mc, sig, sig_len, content, n) == 1;
  EVP_MD_CTX_free(mc);
  ERR_clear_error();
  return ok ? VQ_OK : VQ_ERR_TLS_DECRYPT_ERROR;
}

/* ---- chain and name ---------------------------------------------------------------------------- */

int vq_hs_is_ip_literal(const char *name)
{
  ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
  ERR_clear_error();
  if (!ip) return 0;
  ASN1_OCTET_STRING_free(ip);
  return 1;
}

/* The alert a verification error stands for (what RFC 8446 §6.2 describes for each). */
static vq_status verify_error_status(int err)
{
  switch (err) {
  case X509_V_ERR_CERT_HAS_EXPIRED: return VQ_ERR_TLS_CERTIFICATE_EXPIRED;
  case X509_V_ERR_CERT_REVOKED: return VQ_ERR_TLS_CERTIFICATE_REVOKED;
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_CERT_UNTRUSTED: return VQ_ERR_TLS_UNKNOWN_CA;
  case X509_V_ERR_INVALID_PURPOSE: return VQ_ERR_TLS_UNSUPPORTED_CERTIFICATE;
  case X509_V_ERR_CERT_NOT_YET_VALID:
  case X509_V_ERR_CERT_SIGNATURE_FAILURE:
  case X509_V_ERR_HOSTNAME_MISMATCH:
  case X509_V_ERR_IP_ADDRESS_MISMATCH: return VQ_ERR_TLS_BAD_CERTIFICATE;
  default: return VQ_ERR_TLS_CERTIFICATE_UNKNOWN;
  }
}

/* spec: rfc8446#4.4.2.4 — the client validates the server's chain; a failure aborts with the
 * alert for the reason (bad_certificate, unknown_ca, certificate_expired ...).
 * spec: rfc8446#4.4.2.2/9 — so a chain the client cannot accept ends the handshake with a
 * certificate-related alert (verify_error_status: certificate_unknown when no closer one fits).
 * (The DER encoding of certificate signature parameters and their agreement with the public key's,
 * RFC 8446 §4.2.3, are OpenSSL's: X509_verify_cert's signature verification, ASN1_item_verify.) */
vq_status vq_hs_verify_chain(const vq_tls_ctx *ctx, X509 *leaf, STACK_OF(X509) *chain,
                             const char *name, char *detail, size_t detail_cap)
{
  X509_STORE_CTX *sc = X509_STORE_CTX_new();
  if (!sc || X509_STORE_CTX_init(sc, ctx->store, leaf, chain) != 1) {
    X509_STORE_CTX_free(sc);
    snprintf(detail, detail_cap, "cannot set up certificate verification");
    return VQ_ERR_TLS_INTERNAL_ERROR;
  }
  X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_SERVER);
  int ok = X509_verify_cert(sc) == 1;
  int err = X509_STORE_CTX_get_error(sc);
  /* spec: rfc8446#4.4.2.4/4 — OpenSSL verifies MD5 signatures like any other (the security level
   * is not applied to a bare X509_STORE_CTX): every certificate of the verified chain whose
   * signature was checked (all but the trust anchor at its end) must not be signed with an MD5
   * hash, else bad_certificate. */
  int md5_at = -1;
  STACK_OF(X509) *vchain = ok ? X509_STORE_CTX_get0_chain(sc) : NULL;
  for (int i = 0; vchain && i + 1 < sk_X509_num(vchain) && md5_at < 0; i++) {
    int md = NID_undef, pk = NID_undef;
    if (OBJ_find_sigid_algs(X509_get_signature_nid(sk_X509_value(vchain, i)), &md, &pk) == 1 &&
        (md == NID_md5 || md == NID_md5_sha1 || md == NID_md4 || md == NID_md2))
      md5_at = i;
  }
  X509_STORE_CTX_free(sc);
  if (md5_at >= 0) {
    ERR_clear_error();
    snprintf(detail, detail_cap, "certificate verify failed: certificate %d is signed with MD5", md5_at);
    return VQ_ERR_TLS_BAD_CERTIFICATE;
  }
  ERR_clear_error();
  if (!ok) {
    if (err == X509_V_OK) err = X509_V_ERR_UNSPECIFIED;
    snprintf(detail, detail_cap, "certificate verify failed: %s", X509_verify_cert_error_string(err));
    return verify_error_status(err);
  }
  /* spec: rfc8446#4.4.2.2/3 — a Key Usage extension on the leaf must allow digitalSignature (the
   * key signs the CertificateVerify); X509_PURPOSE_SSL_SERVER would also let a keyEncipherment- or
   * keyAgreement-only certificate through, which TLS 1.3 cannot use: unsupported_certificate. */
  if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) == 0) {
    snprintf(detail, detail_cap, "certificate verify failed: key usage does not allow digitalSignature");
    return VQ_ERR_TLS_UNSUPPORTED_CERTIFICATE;
  }
  int match = vq_hs_is_ip_literal(name) ? X509_check_ip_asc(leaf, name, 0) == 1
                                        : X509_check_host(leaf, name, strlen(name), 0, NULL) == 1;
  ERR_clear_error();
  if (!match) {
    snprintf(detail, detail_cap, "certificate verify failed: certificate does not match '%s'", name);
    return VQ_ERR_TLS_BAD_CERTIFICATE;
  }
  return VQ_OK;
}

/* ---- self-signed certificate ------------------------------------------------------------------- */

static int add_ext(X509 *x, int nid, const char *value)
{
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
  int ok = e && X509_add_ext(x, e, -1) == 1;
  X509_EXTENSION_free(e);
  return ok;
}

vq_status vq_hs_selfsigned(EVP_PKEY *key, const char *name, X509 **out)
{
  uint8_t serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return VQ_ERR_INTERNAL;
  return vq_hs_selfsigned_ex(key, name, serial, 0, out);
}

vq_status vq_hs_selfsigned_ex(EVP_PKEY *key, const char *name, const uint8_t serial_in[16],
                              int fixed_validity, X509 **out)
{
  char san[300];
  uint8_t serial[16];
  if (strlen(name) > 253) return VQ_ERR_INVALID_ARGUMENT;
  memcpy(serial, serial_in, sizeof serial);
  if (strcmp(name, "localhost") == 0)
    snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1,IP:::1");
  else if (vq_hs_is_ip_literal(name))
    snprintf(san, sizeof san, "IP:%s", name);
  else
    snprintf(san, sizeof san, "DNS:%s", name);
  X509 *x = X509_new();
  BIGNUM *bn = NULL;
  int ok = x != NULL;
  if (ok) {
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
  }
  BN_free(bn);
  ok = ok && X509_set_version(x, X509_VERSION_3) == 1 &&
       (fixed_validity
            ? ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20000101000000Z") == 1 &&
                  ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "20991231235959Z") == 1
            : X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
                  X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) != NULL) &&
       X509_set_pubkey(x, key) == 1;
  X509_NAME *nm = ok ? X509_get_subject_name(x) : NULL;
  ok = ok && nm &&
       X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)name, -1, -1, 0) == 1 &&
       X509_set_issuer_name(x, nm) == 1 && add_ext(x, NID_subject_alt_name, san) &&
       add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
       add_ext(x, NID_ext_key_usage, "serverAuth") &&
       X509_sign(x, key, EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()) > 0;
  ERR_clear_error();
  if (!ok) {
    X509_free(x);
    return VQ_ERR_INTERNAL;
  }
  *out = x;
  return VQ_OK;
}

/* ---- the context -------------------------------------------------------------------------------- */

static vq_status ctx_err(char *err, size_t cap, const char *msg)
{
  if (err && cap) snprintf(err, cap, "%s", msg);
  ERR_clear_error();
  return VQ_ERR_INVALID_ARGUMENT;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
  uint8_t *d = OPENSSL_malloc(n ? n : 1);
  if (d && n) memcpy(d, p, n);
  return d;
}

/* Appends one CertificateEntry for x to ctx->cert_list (RFC 8446 §4.4.2). */
static vq_status add_cert_entry(vq_tls_ctx *c, X509 *x)
{
  unsigned char *der = NULL;
  int dl = i2d_X509(x, &der);
  if (dl <= 0) return VQ_ERR_INVALID_ARGUMENT;
  size_t cap = c->cert_list_len + (size_t)dl + 8;
  uint8_t *nl = OPENSSL_realloc(c->cert_list, cap);
  size_t used = 0;
  vq_status st = VQ_ERR_NOMEM;
  if (nl) {
    c->cert_list = nl;
    vq_tls_span s = {der, (size_t)dl};
    st = vq_tls_build_cert_entry(nl + c->cert_list_len, cap - c->cert_list_len, s, &used);
    if (st == VQ_OK) c->cert_list_len += used;
  }
  if (st == VQ_OK && !c->leaf_der) {
    c->leaf_der = dup_bytes(der, (size_t)dl);
    c->leaf_der_len = (size_t)dl;
    if (!c->leaf_der) st = VQ_ERR_NOMEM;
  }
  OPENSSL_free(der);
  return st;
}

static vq_status server_setup(vq_tls_ctx *c, const vq_tls_ctx_config *cfg, char *err, size_t cap)
{
  STACK_OF(X509) *certs = sk_X509_new_null();
  vq_status st = VQ_OK;
  if (!certs) return VQ_ERR_NOMEM;
  if (!cfg->cert_pem && !cfg->key_pem && cfg->test_random) {
    /* TEST ONLY (tls.h): a reproducible self-signed Ed25519 certificate from test_random. */
    uint8_t seed[32], serial[16];
    cfg->test_random(cfg->test_random_ud, seed, sizeof seed);
    cfg->test_random(cfg->test_random_ud, serial, sizeof serial);
    c->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
    OPENSSL_cleanse(seed, sizeof seed);
    X509 *x = NULL;
    st = c->key ? vq_hs_selfsigned_ex(c->key, cfg->selfsigned_name ? cfg->selfsigned_name : "localhost",
                                      serial, 1, &x)
                : VQ_ERR_INTERNAL;
    if (st != VQ_OK) st = ctx_err(err, cap, "cannot generate a self-signed certificate");
    else sk_X509_push(certs, x);
  } else if (!cfg->cert_pem && !cfg->key_pem) {
    /* No certificate given: a self-signed ECDSA P-256 one. */
    c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = NULL;
    st = c->key ? vq_hs_selfsigned(c->key, cfg->selfsigned_name ? cfg->selfsigned_name : "localhost", &x)
                : VQ_ERR_INTERNAL;
    if (st != VQ_OK) st = ctx_err(err, cap, "cannot generate a self-signed certificate");
    else sk_X509_push(certs, x);
  } else if (!cfg->cert_pem || !cfg->key_pem || cfg->cert_pem_len > INT_MAX ||
             cfg->key_pem_len > INT_MAX) {
    st = ctx_err(err, cap, "certificate and key must be given together");
  } else {
    BIO *b = BIO_new_mem_buf(cfg->cert_pem, (int)cfg->cert_pem_len);
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) sk_X509_push(certs, x);
    BIO_free(b);
    b = BIO_new_mem_buf(cfg->key_pem, (int)cfg->key_pem_len);
    c->key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (sk_X509_num(certs) == 0) st = ctx_err(err, cap, "no certificate in cert_pem");
    else if (!c->key) st = ctx_err(err, cap, "no private key in key_pem");
    else if (X509_check_private_key(sk_X509_value(certs, 0), c->key) != 1)
      st = ctx_err(err, cap, "private key does not match the certificate");
    else if (!key_type_ok(c->key))
      st = ctx_err(err, cap, "unsupported key type (ECDSA P-256, RSA >= 2048 or Ed25519)");
  }
  for (int i = 0; st == VQ_OK && i < sk_X509_num(certs); i++)
    st = add_cert_entry(c, sk_X509_value(certs, i));
  if (st == VQ_OK) {
    c->leaf = sk_X509_value(certs, 0);
    X509_up_ref(c->leaf);
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n = 0;
    if (b && PEM_write_bio_X509(b, c->leaf) == 1) n = BIO_get_mem_data(b, &p);
    if (n > 0 && (c->leaf_pem = OPENSSL_malloc((size_t)n + 1)) != NULL) {
      memcpy(c->leaf_pem, p, (size_t)n);
      c->leaf_pem[n] = 0;
      c->leaf_pem_len = (size_t)n;
    } else {
      st = VQ_ERR_NOMEM;
    }
    BIO_free(b);
  }
  sk_X509_pop_free(certs, X509_free);
  ERR_clear_error();
  return st;
}

static vq_status client_setup(vq_tls_ctx *c, const vq_tls_ctx_config *cfg, char *err, size_t cap)
{
  c->insecure = cfg->insecure != 0;
  c->store = X509_STORE_new();
  if (!c->store) return VQ_ERR_NOMEM;
  if (!cfg->ca_pem) {
    /* tls.h: no trust anchors given uses OpenSSL's default verify paths. */
    X509_STORE_set_default_paths(c->store);
    ERR_clear_error();
    return VQ_OK;
  }
  if (cfg->ca_pem_len > INT_MAX) return ctx_err(err, cap, "ca_pem too large");
  BIO *b = BIO_new_mem_buf(cfg->ca_pem, (int)cfg->ca_pem_len);
  X509 *x;
  int n = 0;
  while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
    if (X509_STORE_add_cert(c->store, x) == 1) n++;
    X509_free(x);
  }
  BIO_free(b);
  ERR_clear_error();
  return n ? VQ_OK : ctx_err(err, cap, "no certificate in ca_pem");
}

/* spec: rfc9001#8.1 — ALPN is required: the list must hold at least one well-formed name. */
static int alpn_ok(const uint8_t *a, size_t n)
{
  size_t off = 0;
  if (!a || n < 2 || n > 65535) return 0;
  while (off < n) {
    if (a[off] == 0 || off + 1 + a[off] > n) return 0;
    off += 1u + a[off];
  }
  return 1;
}

vq_status vq_tls_ctx_new(vq_tls_ctx **out, const vq_tls_ctx_config *cfg, char *err, size_t err_cap)
{
  if (err && err_cap) err[0] = 0;
  if (!out || !cfg) return ctx_err(err, err_cap, "no configuration");
  *out = NULL;
  if (!alpn_ok(cfg->alpn, cfg->alpn_len)) return ctx_err(err, err_cap, "empty or malformed ALPN list");
  vq_tls_ctx *c = OPENSSL_zalloc(sizeof *c);
  if (!c) return VQ_ERR_NOMEM;
  c->is_server = cfg->is_server != 0;
  c->keylog = cfg->keylog;
  c->keylog_ud = cfg->keylog_ud;
  c->test_random = cfg->test_random;
  c->test_random_ud = cfg->test_random_ud;
  c->alpn = dup_bytes(cfg->alpn, cfg->alpn_len);
  c->alpn_len = cfg->alpn_len;
  vq_status st = c->alpn ? VQ_OK : VQ_ERR_NOMEM;
  if (st == VQ_OK)
    st = c->is_server ? server_setup(c, cfg, err, err_cap) : client_setup(c, cfg, err, err_cap);
  c->enable_early_data = cfg->enable_early_data != 0;
  c->no_tickets = cfg->no_tickets != 0;
  /* spec: rfc8446#4.6.1/9 — a ticket_lifetime of at most 604800 seconds. */
  c->ticket_lifetime_s = cfg->ticket_lifetime_s == 0 || cfg->ticket_lifetime_s > VQ_TLS_TICKET_LIFETIME_MAX
                             ? VQ_TLS_TICKET_LIFETIME_MAX
                             : cfg->ticket_lifetime_s;
  /* The ticket key: given, or drawn after everything server_setup drew (test_random order). */
  if (st == VQ_OK && c->is_server) {
    if (cfg->ticket_key) memcpy(c->ticket_key, cfg->ticket_key, VQ_TLS_TICKET_KEY_LEN);
    else if (vq_hs_random(c, c->ticket_key, sizeof c->ticket_key) != VQ_OK)
      st = ctx_err(err, err_cap, "no randomness for the ticket key");
  }
  if (st != VQ_OK) {
    vq_tls_ctx_free(c);
    return st;
  }
  *out = c;
  return VQ_OK;
}

void vq_tls_ctx_free(vq_tls_ctx *c)
{
  if (!c) return;
  EVP_PKEY_free(c->key);
  X509_free(c->leaf);
  X509_STORE_free(c->store);
  OPENSSL_free(c->cert_list);
  OPENSSL_free(c->leaf_der);
  OPENSSL_free(c->leaf_pem);
  OPENSSL_free(c->alpn);
  OPENSSL_clear_free(c, sizeof *c);
}

vq_status vq_tls_ctx_leaf_der(const vq_tls_ctx *c, const uint8_t **der, size_t *len)
{
  if (!c || !der || !len) return VQ_ERR_INVALID_ARGUMENT;
  *der = c->leaf_der;
  *len = c->leaf_der_len;
  return c->leaf_der ? VQ_OK : VQ_ERR_INVALID_ARGUMENT;
}

vq_status vq_tls_ctx_leaf_pem(const vq_tls_ctx *c, const char **pem, size_t *len)
{
  if (!c || !pem || !len) return VQ_ERR_INVALID_ARGUMENT;
  *pem = c->leaf_pem;
  *len = c->leaf_pem_len;
  return c->leaf_pem ? VQ_OK : VQ_ERR_INVALID_ARGUMENT;
}

void vq_tls_ctx_set_test_hooks(vq_tls_ctx *c, const vq_tls_test_hooks *h)
{
  if (c && h) c->hooks = *h;
}
