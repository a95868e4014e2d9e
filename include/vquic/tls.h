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
 * Resumption: a client connection hands out its session (vq_tls_session_get) once the server's
 * NewSessionTicket has arrived; a later connection offers it (vq_tls_new_ex) and, when the
 * server accepts, skips the certificate exchange and may send 0-RTT with the VQ_LEVEL_EARLY secret
 * (see "Resumption and 0-RTT" below).
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
   * (2000-01-01 .. 2099-12-31) instead of one around the wall clock. Then, when no ticket_key is
   * given, the ticket key (32). Per NewSessionTicket (only with a wall clock): ticket_age_add (4)
   * and the ticket's AES-GCM nonce (12). A given ECDSA or RSA-PSS key
   * still signs with OpenSSL's randomness. Called from vq_tls_ctx_new and from the vq_tls calls
   * (vq_tls_new, vq_tls_recv) of every connection that uses the context, on the caller's thread;
   * out[0..len) must be filled completely. */
  void (*test_random)(void *ud, uint8_t *out, size_t len);
  void *test_random_ud;
  /* ---- Session resumption and 0-RTT (RFC 8446 §4.2.9-4.2.11, §4.6.1; RFC 9001 §4.5, §4.6) ----
   * Server: once the handshake is complete it queues one NewSessionTicket at VQ_LEVEL_APP (send it
   * in a 1-RTT CRYPTO frame like any other handshake byte) on every connection made with a wall
   * clock (vq_tls_new_ex, vq_tls_resume.wall_ms != 0) unless no_tickets is set. The ticket is opaque to the client:
   * the session state sealed with AES-256-GCM under the ticket key (below). The server accepts a
   * ticket it sealed (with the same key) when it is not older than its lifetime; any ticket it
   * cannot open or that is too old is ignored and a full handshake follows (not an error).
   * ticket_key: 32 bytes shared by several servers or kept across restarts so that tickets stay
   * valid; NULL: a random key drawn at vq_tls_ctx_new (tickets die with the context).
   * ticket_lifetime_s: 0 is 604800 (7 days), the largest value allowed (RFC 8446 §4.6.1).
   * enable_early_data: server: tickets allow 0-RTT (max_early_data_size 0xffffffff, RFC 9001
   * §4.6.1) and 0-RTT is accepted when every check passes; 0: tickets without early_data, 0-RTT is
   * refused (the resumption itself still works). Client: offer 0-RTT (the early_data extension and
   * the VQ_LEVEL_EARLY write secret) when the offered session allows it; 0: resumption only. */
  const uint8_t *ticket_key;
  uint32_t ticket_lifetime_s;
  int no_tickets;
  int enable_early_data;
} vq_tls_ctx_config;

#define VQ_TLS_TICKET_KEY_LEN 32u
#define VQ_TLS_TICKET_LIFETIME_MAX 604800u

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

/* What resumption needs besides vq_tls_params, for vq_tls_new_ex. (A separate structure so that the
 * positional initializers of vq_tls_params in existing callers stay complete: the fuzz builds warn
 * about missing field initializers.) */
typedef struct vq_tls_resume {
  /* The wall clock when vq_tls_new_ex is called, in milliseconds since 1970-01-01T00:00:00Z; the
   * handshake adds the progress of cx->now of later calls to it. Tickets are dated with it (server)
   * and ticket ages computed with it (client). 0: unknown, and then this connection neither issues
   * nor stores nor offers nor accepts tickets. */
  uint64_t wall_ms;
  /* Client: a session from vq_tls_session_get of an earlier connection to offer for resumption
   * (and 0-RTT); NULL/0: none. A blob that is not a valid session is VQ_ERR_TLS_SESSION_INVALID
   * from vq_tls_new_ex. A valid one that has expired, names another server_name, or whose cipher
   * suite is not offered is silently not offered (vq_tls_session_offered says so). The bytes are
   * copied. Server: ignored. */
  const uint8_t *session;
  size_t session_len;
  /* Server, optional: the anti-replay check of 0-RTT (RFC 8446 §8). Called once the handshake
   * would accept 0-RTT with ticket[0..len) (the PSK identity, unique per ticket issued), whose
   * lifetime ends at expires_ms (wall clock); 1: accept 0-RTT (first use), anything else: the
   * resumption goes on without 0-RTT. NULL: no check (0-RTT may then be replayed within the ticket
   * lifetime). vq_endpoint installs its own single-use record (endpoint.h). */
  int (*early_check)(void *ud, const uint8_t *ticket, size_t len, uint64_t expires_ms);
  void *early_check_ud;
  /* Server, optional: the application's state that 0-RTT data depends on (HTTP/3: the SETTINGS the
   * server sends, vq_h3_local_settings; RFC 9114 §7.2.4.2, RFC 9001 §4.6.3), at most
   * VQ_TLS_EARLY_APP_MAX bytes (longer: tickets without 0-RTT). Sealed into every ticket that
   * allows 0-RTT; 0-RTT is accepted only when the ticket's bytes equal these exactly (a ticket issued
   * under other application state resumes without 0-RTT). NULL/0: none (equal only to none). Copied. */
  const uint8_t *early_app;
  size_t early_app_len;
  /* Both, optional: the QUIC version of the connection's first flight (the client's Original
   * Version, RFC 9368 §2). Tickets and sessions are specific to the QUIC version of the connection
   * that provided them (RFC 9369 §5): a client offers a session only when its version is this one
   * (otherwise it is silently not offered), and a server accepts a ticket only when it was issued
   * on a connection of this version (otherwise the handshake goes on in full, without 0-RTT). What a
   * connection issues (server) or stores (client) carries the version vq_tls_set_quic_version set
   * last (after a compatible negotiation: the negotiated one). 0: versions are not looked at
   * (sessions and tickets then carry 0 and match only 0). */
  uint32_t quic_version;
} vq_tls_resume;
#define VQ_TLS_EARLY_APP_MAX 256u

/* Allocates the handshake state from mem (its buffers are bounded: VQ_TLS_MAX_MSG per message).
 * A client queues its ClientHello at VQ_LEVEL_INITIAL at once. */
#define VQ_TLS_MAX_MSG 65536u
vq_status vq_tls_new(vq_tls **out, vq_mem *mem, const vq_tls_ctx *ctx, const vq_tls_params *p,
                     const vq_cx *cx);
/* The same with resumption: r may be NULL (= vq_tls_new: no wall clock, no session, so no tickets).
 * A server needs r->wall_ms to issue and accept tickets; a client to store and offer them. */
vq_status vq_tls_new_ex(vq_tls **out, vq_mem *mem, const vq_tls_ctx *ctx, const vq_tls_params *p,
                        const vq_tls_resume *r, const vq_cx *cx);
/* Wipes every secret and frees. NULL is ignored. */
void vq_tls_free(vq_tls *t);
/* The QUIC version that tickets issued (server) and sessions stored (client) from now on carry:
 * the connection calls it when a compatible version negotiation changes its version
 * (vq_tls_resume.quic_version). */
void vq_tls_set_quic_version(vq_tls *t, uint32_t version);
/* The QUIC version a session blob (vq_tls_session_get) was received in; 0 for a blob that is not a
 * valid session or carries none. */
uint32_t vq_tls_session_quic_version(const uint8_t *blob, size_t len);

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
/* Server: fn(ud, tp, len) is called with the client's quic_transport_parameters as soon as the
 * ClientHello is accepted, before the server's flight (ServerHello, EncryptedExtensions) is built:
 * the connection may choose its QUIC version from them (RFC 9368 §2.3) and replace its own
 * parameters with vq_tls_set_local_tp. The hook does not fail the handshake: validation comes
 * after vq_tls_recv returns. */
typedef void (*vq_tls_tp_hook)(void *ud, const uint8_t *tp, size_t len);
void vq_tls_set_tp_hook(vq_tls *t, vq_tls_tp_hook fn, void *ud);
/* Replaces our quic_transport_parameters (copied) for the messages not yet built. */
vq_status vq_tls_set_local_tp(vq_tls *t, const uint8_t *tp, size_t len);
/* The peer's quic_transport_parameters extension body, once received (NULL/0 before). */
void vq_tls_peer_tp(const vq_tls *t, const uint8_t **tp, size_t *len);
/* The negotiated ALPN protocol (without its length byte), NULL/0 before it is known. */
void vq_tls_alpn(const vq_tls *t, const uint8_t **name, size_t *len);
/* The negotiated cipher suite (0 before ServerHello). */
vq_cipher_suite vq_tls_suite(const vq_tls *t);
/* The TLS alert of the failure, -1 while the handshake has not failed. */
int vq_tls_alert(const vq_tls *t);
/* ---- Resumption and 0-RTT -------------------------------------------------------------------- */

/* Client: the latest session (from a NewSessionTicket received on this connection) as a versioned
 * blob to keep (e.g. in a --session file) and hand to a later connection in vq_tls_resume.session.
 * VQ_OK with *len = 0 when no ticket has arrived (yet); VQ_ERR_BUFFER_TOO_SMALL with *len = the size
 * needed when cap is too small (out may be NULL then). The blob holds the resumption PSK in clear:
 * store it like a private key (mode 0600). Server: always *len = 0.
 *
 * Format version 2 (every integer big-endian; a version 1 blob is VQ_ERR_TLS_SESSION_INVALID):
 *   "VQS" 0x02                       magic and format version
 *   u32 quic_version                 of the connection that got the ticket (vq_tls_resume.quic_version
 *                                    as last set, e.g. the negotiated one: RFC 9369 §5); 0: none
 *   u16 cipher_suite                 of the connection that got the ticket
 *   u64 received_ms                  client wall clock (ms since the epoch) when the ticket came
 *   u32 lifetime_s                   ticket_lifetime, capped to 604800
 *   u32 age_add                      ticket_age_add
 *   u32 max_early_data               0xffffffff: 0-RTT allowed (RFC 9001 §4.6.1); 0: not
 *   u8  psk_len,   psk               HKDF-Expand-Label(resumption_master_secret, "resumption",
 *                                    ticket_nonce, Hash.length) (RFC 8446 §4.6.1)
 *   u8  alpn_len,  alpn              the negotiated ALPN protocol
 *   u8  sni_len,   server_name       the server_name of that connection
 *   u16 ticket_len, ticket           the opaque ticket
 *   u16 tp_len,    tp                the server's quic_transport_parameters as remembered (RFC
 *                                    9000 §7.4.1): re-encoded without ack_delay_exponent,
 *                                    max_ack_delay, the three CIDs, preferred_address,
 *                                    stateless_reset_token and unknown parameters
 *   32 bytes SHA-256 of all the bytes before it (detects corruption of the stored file) */
#define VQ_TLS_SESSION_MAX 4096u
vq_status vq_tls_session_get(const vq_tls *t, uint8_t *out, size_t cap, size_t *len);
/* Client: 1 when vq_tls_resume.session was offered in the ClientHello (pre_shared_key). */
int vq_tls_session_offered(const vq_tls *t);
/* Both: 1 once the server has accepted the PSK (ServerHello with pre_shared_key): an abbreviated
 * handshake without Certificate and CertificateVerify; the peer was authenticated by the
 * connection the ticket came from. */
int vq_tls_resumed(const vq_tls *t);
/* Both: 1 when 0-RTT is accepted. Server: known after the ClientHello (its EncryptedExtensions
 * carries early_data and the VQ_LEVEL_EARLY read secret was announced). Client: 1 from the
 * EncryptedExtensions with early_data on; before that, 0 (the client may still be sending 0-RTT
 * with the VQ_LEVEL_EARLY write secret it got right after vq_tls_new, RFC 9001 §4.6.1; once the
 * handshake keys arrive and this is still 0, 0-RTT was rejected: every 0-RTT packet is lost and
 * what it carried must be sent again in 1-RTT, RFC 9001 §4.6.2). */
int vq_tls_early_data_accepted(const vq_tls *t);
/* Client: how many sessions (NewSessionTickets kept) arrived so far: a change means
 * vq_tls_session_get has a newer one. */
uint64_t vq_tls_sessions_received(const vq_tls *t);
/* Client: 1 when 0-RTT was offered (the early_data extension was sent and the VQ_LEVEL_EARLY write
 * secret announced). */
int vq_tls_early_data_offered(const vq_tls *t);
/* Client: the server's transport parameters remembered in the offered session (RFC 9000 §7.4.1),
 * to apply to what is sent in 0-RTT; NULL/0 when no 0-RTT is offered. The connection must not use
 * the remembered ack_delay_exponent, max_ack_delay, initial_source_connection_id,
 * original_destination_connection_id, preferred_address, retry_source_connection_id and
 * stateless_reset_token (RFC 9000 §7.4.1), and once the handshake gives the new values it uses
 * those for 1-RTT. Server side: it remembers its own parameters in the ticket and accepts 0-RTT
 * only if its current local_tp does not lower any limit of RFC 9000 §7.4.1 (initial_max_data,
 * initial_max_stream_data_*, initial_max_streams_*, active_connection_id_limit) nor RFC 9221's
 * max_datagram_frame_size. */
void vq_tls_early_peer_tp(const vq_tls *t, const uint8_t **tp, size_t *len);

/* A human-readable reason for the failure ("certificate verify failed: unable to get local issuer
 * certificate"), "" when none. */
const char *vq_tls_error_detail(const vq_tls *t);

#endif
