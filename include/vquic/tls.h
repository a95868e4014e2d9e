/* vquic — the TLS 1.3 handshake for QUIC (RFC 8446 as used by RFC 9001), on OpenSSL libcrypto only.
 *
 * Two objects:
 *   - vq_tls_ctx: what an endpoint is configured with, shared by its connections: the server's
 *     certificate chain and private key (or a generated self-signed one), the client's trust anchors,
 *     the ALPN protocols, the key-log sink. Built from bytes in memory (PEM), never from files: the
 *     programs read files, the library does no I/O (DESIGN.md principle 1).
 *   - vq_tls: one connection's handshake. Sans-I/O and pull-based: the connection feeds the CRYPTO
 *     bytes it received at an encryption level, in order (vq_tls_recv); the handshake appends what it
 *     wants to send at each level to an output queue (vq_tls_out_peek / vq_tls_out_consume) and
 *     announces each new traffic secret in order (vq_tls_poll_secret). The connection derives packet
 *     protection keys from those secrets (vquic/protect.h) and carries the bytes in CRYPTO frames.
 *
 * Failures are vq_status values whose vq_status_tls_alert() is the TLS alert to report as
 * CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8); vq_tls_alert() repeats it after the fact. */
#ifndef VQUIC_TLS_H
#define VQUIC_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"
#include "vquic/protect.h"
#include "vquic/rt.h"

/* Encryption levels (RFC 9001 §4.1.4): the packet number spaces plus 0-RTT. */
typedef enum vq_level {
  VQ_LEVEL_INITIAL = 0,
  VQ_LEVEL_EARLY = 1,     /* 0-RTT: keys only, no CRYPTO data is ever sent at this level */
  VQ_LEVEL_HANDSHAKE = 2,
  VQ_LEVEL_APP = 3,       /* 1-RTT */
} vq_level;
#define VQ_LEVEL_COUNT 4

/* ---- Endpoint configuration ------------------------------------------------------------------ */

typedef struct vq_tls_ctx vq_tls_ctx;

typedef struct vq_tls_ctx_config {
  int is_server;
  /* Server: PEM certificate chain (leaf first) and PEM private key (ECDSA P-256, RSA or Ed25519).
   * Both NULL: a self-signed ECDSA P-256 certificate for selfsigned_name ("localhost" if NULL) is
   * generated. */
  const uint8_t *cert_pem;
  size_t cert_pem_len;
  const uint8_t *key_pem;
  size_t key_pem_len;
  const char *selfsigned_name;
  /* Client: PEM trust anchors; NULL uses OpenSSL's default verify paths. insecure = 1 skips chain
   * and name verification (tests and --insecure only); the CertificateVerify signature is still
   * checked against the leaf's key. */
  const uint8_t *ca_pem;
  size_t ca_pem_len;
  int insecure;
  /* ALPN protocol names in wire form (each prefixed by its 1-byte length, RFC 7301 §3.1), in
   * preference order. Required: RFC 9001 §8.1 makes ALPN mandatory for QUIC. */
  const uint8_t *alpn;
  size_t alpn_len;
  /* Optional NSS key-log sink ("CLIENT_HANDSHAKE_TRAFFIC_SECRET <cr> <secret>" lines, no newline),
   * for SSLKEYLOGFILE; called once per secret. */
  void (*keylog)(void *ud, const char *line);
  void *keylog_ud;
  /* TEST ONLY — never set this in production: it replaces the cryptographic randomness of the
   * handshake, so whoever knows its output knows every key. For reproducible lab runs and fuzzing.
   * When set, every random value of the handshakes made with this context is drawn from it, in the
   * order the handshake needs them (so equal outputs give equal handshakes): the client random (32
   * bytes), the (EC)DHE private keys (X25519: 32 bytes used as the raw private key; P-256: 32 bytes
   * per try, used as the scalar once one lies in [1, n-1]), the server random (32). Server: when no cert_pem/key_pem is given, the self-signed certificate's
   * key is an Ed25519 key from 32 bytes of it (Ed25519 signatures are deterministic, unlike ECDSA's
   * nonces in OpenSSL 3.0), its serial 16 bytes of it, and its validity a fixed window
   * (2000-01-01 .. 2099-12-31) instead of one around the wall clock. A given ECDSA or RSA-PSS key
   * still signs with OpenSSL's randomness. Called from vq_tls_ctx_new and from the vq_tls calls
   * (vq_tls_new, vq_tls_recv) of every connection that uses the context, on the caller's thread;
   * out[0..len) must be filled completely. */
  void (*test_random)(void *ud, uint8_t *out, size_t len);
  void *test_random_ud;
} vq_tls_ctx_config;

/* Builds a context; OpenSSL objects it holds are freed by vq_tls_ctx_free. Errors: VQ_ERR_INVALID_ARGUMENT
 * with a message in err (if err_cap > 0) for unreadable PEM, a key that does not match the
 * certificate, an unsupported key type, or an empty ALPN list. */
vq_status vq_tls_ctx_new(vq_tls_ctx **out, const vq_tls_ctx_config *cfg, char *err, size_t err_cap);
void vq_tls_ctx_free(vq_tls_ctx *ctx);
/* The DER of the server's leaf certificate (for tests and for a client that pins it). */
vq_status vq_tls_ctx_leaf_der(const vq_tls_ctx *ctx, const uint8_t **der, size_t *len);
/* The PEM of the server's leaf certificate (so a test can hand the generated certificate to a
 * client as its trust anchor); NULL/0 for a client context. Owned by ctx. */
vq_status vq_tls_ctx_leaf_pem(const vq_tls_ctx *ctx, const char **pem, size_t *len);

/* ---- One connection's handshake -------------------------------------------------------------- */

typedef struct vq_tls vq_tls;

typedef struct vq_tls_params {
  const char *server_name;        /* client: SNI and the name the certificate must match (may be an
                                     IP literal: then no SNI is sent, the IP is checked) */
  const uint8_t *local_tp;        /* our encoded quic_transport_parameters (extension 0x39) */
  size_t local_tp_len;
} vq_tls_params;

/* Allocates the handshake state from mem (its buffers are bounded: VQ_TLS_MAX_MSG per message).
 * A client queues its ClientHello at VQ_LEVEL_INITIAL at once. */
#define VQ_TLS_MAX_MSG 65536u
vq_status vq_tls_new(vq_tls **out, vq_mem *mem, const vq_tls_ctx *ctx, const vq_tls_params *p,
                     const vq_cx *cx);
/* Wipes every secret and frees. NULL is ignored. */
void vq_tls_free(vq_tls *t);

/* Feeds in-order CRYPTO stream bytes received at level. Messages may be split across calls and
 * several may arrive in one call; bytes of an incomplete message are kept (at most VQ_TLS_MAX_MSG).
 * Data at a level where none is expected is VQ_ERR_TLS_UNEXPECTED_MESSAGE; a failed handshake stays
 * failed (every later call returns the same status). */
vq_status vq_tls_recv(vq_tls *t, const vq_cx *cx, vq_level level, const uint8_t *data, size_t len);

/* Bytes waiting to be sent at level (in CRYPTO frames): *data and *len, valid until the next call on t. */
void vq_tls_out_peek(const vq_tls *t, vq_level level, const uint8_t **data, size_t *len);
/* Drops the first n of those bytes: the connection has taken them into its CRYPTO send stream. */
void vq_tls_out_consume(vq_tls *t, vq_level level, size_t n);

/* A traffic secret that became available, in the order the connection must install them. */
typedef enum vq_tls_dir { VQ_TLS_READ = 0, VQ_TLS_WRITE = 1 } vq_tls_dir;
typedef struct vq_tls_secret {
  vq_level level;                 /* VQ_LEVEL_EARLY, VQ_LEVEL_HANDSHAKE or VQ_LEVEL_APP */
  vq_tls_dir dir;
  vq_cipher_suite suite;
  size_t len;
  uint8_t secret[VQ_SECRET_MAX];
} vq_tls_secret;
/* 1 and the next new secret in *s (the caller must wipe it after use), 0 when none is pending. */
int vq_tls_poll_secret(vq_tls *t, vq_tls_secret *s);

/* 1 once the handshake is complete (RFC 9001 §4.1.1: the client has sent and the server has received
 * ... Finished; for the client: it sent its Finished, for the server: it verified the client's). */
int vq_tls_handshake_complete(const vq_tls *t);
/* The peer's quic_transport_parameters extension body, once received (NULL/0 before). */
void vq_tls_peer_tp(const vq_tls *t, const uint8_t **tp, size_t *len);
/* The negotiated ALPN protocol (without its length byte), NULL/0 before it is known. */
void vq_tls_alpn(const vq_tls *t, const uint8_t **name, size_t *len);
/* The negotiated cipher suite (0 before ServerHello). */
vq_cipher_suite vq_tls_suite(const vq_tls *t);
/* The TLS alert of the failure, -1 while the handshake has not failed. */
int vq_tls_alert(const vq_tls *t);
/* A human-readable reason for the failure ("certificate verify failed: unable to get local issuer
 * certificate"), "" when none. */
const char *vq_tls_error_detail(const vq_tls *t);

#endif
