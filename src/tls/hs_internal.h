/* vquic — internals of the TLS 1.3 handshake (src/tls/hs.c, hs_keys.c, hs_cert.c); not public API.
 *
 *   hs_keys.c: transcript hash, key schedule (RFC 8446 §7.1), Finished MAC (§4.4.4), (EC)DHE (§4.2.8,
 *              §7.4) on EVP_PKEY.
 *   hs_cert.c: vq_tls_ctx (PEM loading, self-signed generation), certificate chain and name checks,
 *              CertificateVerify signatures (§4.4.3).
 *   hs_resume.c: session tickets (sealed with the context's key), the client's session blob, the
 *              0-RTT transport parameter check.
 *   hs.c:      the client and server state machines and the vq_tls API. */
#ifndef VQUIC_TLS_HS_INTERNAL_H
#define VQUIC_TLS_HS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "vquic/protect.h"
#include "vquic/tls.h"
#include "vquic/tlsmsg.h"

/* Code points (RFC 8446 §4.2.7, §4.2.3). */
#define VQ_HS_GROUP_SECP256R1 0x0017u
#define VQ_HS_GROUP_X25519 0x001du
#define VQ_HS_SIG_ECDSA_P256_SHA256 0x0403u
#define VQ_HS_SIG_RSA_PSS_RSAE_SHA256 0x0804u
#define VQ_HS_SIG_RSA_PSS_RSAE_SHA384 0x0805u
#define VQ_HS_SIG_RSA_PSS_RSAE_SHA512 0x0806u
#define VQ_HS_SIG_ED25519 0x0807u

#define VQ_HS_KX_MAX 65u   /* the largest key_exchange: an uncompressed P-256 point */
#define VQ_HS_SIG_MAX 1024u /* RSA up to 8192 bits */

/* Test hooks, for tests and fuzz harnesses only: they change what a context offers or accepts so
 * that the negotiation paths (suite per test, HelloRetryRequest, missing extension) can be driven. A
 * zero field keeps the default. */
typedef struct vq_tls_test_hooks {
  size_t n_suites;
  uint16_t suites[3];         /* client: offered, in order; server: accepted, in preference order */
  size_t n_groups;
  uint16_t groups[2];         /* client: supported_groups offered; server: accepted, preferred first */
  uint16_t client_share_group;/* client: the group of its first key share (default x25519) */
  int omit_transport_params;  /* do not send quic_transport_parameters */
  /* server: a whole CertificateRequest message (header included, empty certificate_request_context)
   * sent after EncryptedExtensions in a full handshake; the server then expects the client's
   * Certificate, which must be empty (vquic has no client certificates), before its Finished */
  const uint8_t *cert_request;
  size_t cert_request_len;
} vq_tls_test_hooks;
void vq_tls_ctx_set_test_hooks(vq_tls_ctx *ctx, const vq_tls_test_hooks *h);

/* The endpoint configuration. Allocated with OPENSSL_zalloc (it has no vq_mem: it is created before
 * any connection and shared by all of them); its buffers likewise. */
struct vq_tls_ctx {
  int is_server;
  /* server */
  EVP_PKEY *key;
  X509 *leaf;
  uint8_t *cert_list;          /* CertificateEntry list contents (RFC 8446 §4.4.2), leaf first */
  size_t cert_list_len;
  uint8_t *leaf_der;
  size_t leaf_der_len;
  char *leaf_pem;
  size_t leaf_pem_len;
  /* client */
  X509_STORE *store;
  int insecure;
  /* both */
  uint8_t *alpn;
  size_t alpn_len;
  void (*keylog)(void *ud, const char *line);
  void *keylog_ud;
  /* TEST ONLY (tls.h): when set, the source of every random value; NULL: OpenSSL's RAND_bytes. */
  void (*test_random)(void *ud, uint8_t *out, size_t len);
  void *test_random_ud;
  vq_tls_test_hooks hooks;
  /* resumption (tls.h) */
  uint8_t ticket_key[VQ_TLS_TICKET_KEY_LEN]; /* server */
  uint32_t ticket_lifetime_s;                /* server, 1 .. 604800 */
  int no_tickets;                            /* server */
  int enable_early_data;                     /* both */
};

/* Random bytes for the handshake: the context's test_random when set, else RAND_bytes. */
vq_status vq_hs_random(const vq_tls_ctx *ctx, uint8_t *out, size_t len);

/* ---- hs_keys.c ------------------------------------------------------------------------------- */

/* The running transcript hash (RFC 8446 §4.4.1). Until the cipher suite is known both SHA-256 and
 * SHA-384 run; vq_hs_th_select keeps the suite's. */
typedef struct vq_hs_transcript {
  EVP_MD_CTX *md[2]; /* [0] SHA-256, [1] SHA-384 */
  int sel;           /* -1 until selected, else 0 or 1 */
} vq_hs_transcript;

vq_status vq_hs_th_init(vq_hs_transcript *th);
void vq_hs_th_free(vq_hs_transcript *th);
vq_status vq_hs_th_add(vq_hs_transcript *th, const uint8_t *msg, size_t len);
vq_status vq_hs_th_select(vq_hs_transcript *th, vq_hash h);
/* Hash of the messages so far (a copy of the running context is finalised). */
vq_status vq_hs_th_hash(const vq_hs_transcript *th, uint8_t *out, size_t *out_len);
/* Hash (with h, selected or not yet) of the messages so far followed by extra[0..extra_len): the
 * transcript a PSK binder covers (RFC 8446 §4.2.11.2). */
vq_status vq_hs_th_hash_extra(const vq_hs_transcript *th, vq_hash h, const uint8_t *extra,
                              size_t extra_len, uint8_t *out);
/* Replaces ClientHello1 by message_hash (RFC 8446 §4.4.1): call after the suite is selected and
 * before the HelloRetryRequest is added. */
vq_status vq_hs_th_hrr_restart(vq_hs_transcript *th);

/* Derive-Secret(secret, label, transcript hash) (RFC 8446 §7.1); th is the hash (hl bytes). */
vq_status vq_hs_derive_secret(vq_hash h, const uint8_t *secret, const char *label, const uint8_t *th,
                              uint8_t *out);
/* Early Secret without PSK, then Handshake Secret from the (EC)DHE shared secret. */
vq_status vq_hs_handshake_secret(vq_hash h, const uint8_t *shared, size_t shared_len, uint8_t *out);
/* Early Secret = HKDF-Extract(0, psk) (psk NULL: Hash.length zeros); Handshake Secret from it. */
vq_status vq_hs_early_secret(vq_hash h, const uint8_t *psk, size_t psk_len, uint8_t *out);
vq_status vq_hs_handshake_secret_from(vq_hash h, const uint8_t *early, const uint8_t *shared,
                                      size_t shared_len, uint8_t *out);
/* The PSK binder (resumption: "res binder") over the transcript hash th. */
vq_status vq_hs_binder(vq_hash h, const uint8_t *early, const uint8_t *th, uint8_t *out);
/* Master Secret from the Handshake Secret. */
vq_status vq_hs_master_secret(vq_hash h, const uint8_t *hs_secret, uint8_t *out);
/* verify_data = HMAC(finished_key(base_key), transcript hash) (RFC 8446 §4.4.4). */
vq_status vq_hs_finished(vq_hash h, const uint8_t *base_key, const uint8_t *th, uint8_t *out);

/* (EC)DHE: a fresh key pair for group and its key_exchange encoding; the shared secret with a peer's
 * key_exchange. Peer values that are malformed or off the curve are VQ_ERR_TLS_ILLEGAL_PARAMETER. */
int vq_hs_group_supported(uint16_t group);
vq_status vq_hs_kx_keygen(uint16_t group, EVP_PKEY **key, uint8_t *pub, size_t *pub_len);
/* The same with the private key drawn from ctx's test_random when it is set (vq_hs_kx_keygen when
 * ctx is NULL or has none). */
vq_status vq_hs_kx_keygen_ctx(const vq_tls_ctx *ctx, uint16_t group, EVP_PKEY **key, uint8_t *pub,
                              size_t *pub_len);
vq_status vq_hs_kx_derive(EVP_PKEY *key, uint16_t group, const uint8_t *peer, size_t peer_len,
                          uint8_t *shared, size_t *shared_len);

/* ---- hs_resume.c ----------------------------------------------------------------------------- */

#define VQ_HS_TICKET_TP_MAX 1024u  /* server transport parameters kept in a ticket (else no 0-RTT) */
#define VQ_HS_TICKET_PLAIN_MAX \
  (1u + 2 + 8 + 12 + 1 + VQ_SECRET_MAX + 1 + 255 + 2 + VQ_HS_TICKET_TP_MAX + 2 + VQ_TLS_EARLY_APP_MAX)
#define VQ_HS_TICKET_MAX (12u + VQ_HS_TICKET_PLAIN_MAX + 16)

/* What a server's ticket holds (sealed with the context's ticket key). */
typedef struct vq_hs_ticket {
  uint32_t quic_version;      /* of the connection that issued it (RFC 9369 §5); 0: none given */
  uint16_t suite;
  uint64_t created_ms;        /* server wall clock */
  uint32_t lifetime_s, age_add, max_early_data;
  uint8_t psk[VQ_SECRET_MAX];
  size_t psk_len;
  uint8_t alpn[255];
  size_t alpn_len;
  uint8_t tp[VQ_HS_TICKET_TP_MAX]; /* the server's own transport parameters (RFC 9000 §7.4.1) */
  size_t tp_len;
  uint8_t app[VQ_TLS_EARLY_APP_MAX]; /* the application's 0-RTT state (vq_tls_resume.early_app) */
  size_t app_len;
} vq_hs_ticket;

vq_status vq_hs_ticket_seal(const vq_tls_ctx *ctx, const vq_hs_ticket *tk, uint8_t *out, size_t cap,
                            size_t *len);
/* VQ_ERR_TLS_DECODE for anything that is not a ticket sealed with this context's key. */
vq_status vq_hs_ticket_open(const vq_tls_ctx *ctx, const uint8_t *in, size_t len, vq_hs_ticket *tk);
int vq_hs_tp_keeps_limits(const uint8_t *rem, size_t rem_len, const uint8_t *cur, size_t cur_len);
/* Client: the server's transport parameters tp[0..len) as a session keeps them (RFC 9000 §7.4.1):
 * re-encoded without the ones a resumed connection must not use (ack_delay_exponent, max_ack_delay,
 * the three connection IDs, preferred_address, stateless_reset_token) nor unknown ones. *used 0
 * (nothing kept) when they do not decode or do not fit in out[0..cap). */
void vq_hs_tp_for_session(const uint8_t *tp, size_t len, uint8_t *out, size_t cap, size_t *used);

/* A client session (tls.h documents the blob); ticket and tp point into the decoded blob. */
typedef struct vq_hs_session {
  uint32_t quic_version;      /* of the connection that received it (RFC 9369 §5); 0: none given */
  uint16_t suite;
  uint64_t received_ms;
  uint32_t lifetime_s, age_add, max_early_data;
  uint8_t psk[VQ_SECRET_MAX];
  size_t psk_len;
  uint8_t alpn[255];
  size_t alpn_len;
  char sni[256];
  const uint8_t *ticket;
  size_t ticket_len;
  const uint8_t *tp;
  size_t tp_len;
} vq_hs_session;

/* VQ_ERR_BUFFER_TOO_SMALL with *len the size needed when cap is short (out may be NULL). */
vq_status vq_hs_session_encode(const vq_hs_session *s, uint8_t *out, size_t cap, size_t *len);
/* VQ_ERR_TLS_SESSION_INVALID for a truncated, corrupted or other-version blob. */
vq_status vq_hs_session_decode(const uint8_t *in, size_t len, vq_hs_session *s);

/* ---- hs_cert.c ------------------------------------------------------------------------------- */

/* 1 if key can sign with scheme (and the scheme is one we implement). */
int vq_hs_key_supports(EVP_PKEY *key, uint16_t scheme);
/* The CertificateVerify signature (RFC 8446 §4.4.3) over the transcript hash th[0..hl). */
vq_status vq_hs_sign(EVP_PKEY *key, uint16_t scheme, int server, const uint8_t *th, size_t hl,
                     uint8_t *sig, size_t sig_cap, size_t *sig_len);
vq_status vq_hs_verify(EVP_PKEY *key, uint16_t scheme, int server, const uint8_t *th, size_t hl,
                       const uint8_t *sig, size_t sig_len);
/* Chain verification against the context's trust store (purpose: TLS server) and the name check
 * (X509_check_host, or X509_check_ip_asc for an IP literal). detail receives the reason on failure. */
vq_status vq_hs_verify_chain(const vq_tls_ctx *ctx, X509 *leaf, STACK_OF(X509) *chain,
                             const char *name, char *detail, size_t detail_cap);
/* A self-signed certificate for key (subjectAltName DNS:name; plus IP:127.0.0.1 and IP:::1 for
 * "localhost"), valid from an hour ago for a year. Also used by tests for RSA and Ed25519 keys. */
vq_status vq_hs_selfsigned(EVP_PKEY *key, const char *name, X509 **out);
/* The same with a given 16-byte serial (its top bit is cleared) and, when fixed_validity is set,
 * the fixed window 2000-01-01 00:00:00Z .. 2099-12-31 23:59:59Z: no randomness, no clock. */
vq_status vq_hs_selfsigned_ex(EVP_PKEY *key, const char *name, const uint8_t serial[16],
                              int fixed_validity, X509 **out);
/* 1 if name is an IPv4 or IPv6 literal. */
int vq_hs_is_ip_literal(const char *name);

#endif
