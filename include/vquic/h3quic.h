/* vquic — HTTP/3 on a vquic connection: binds a vq_h3 session (vquic/h3conn.h) to a vq_conn
 * (vquic/conn.h). The session's abstract stream transport is implemented with the connection's stream
 * API, and the connection's events are fed to the session. Sans-I/O like both. */
#ifndef VQUIC_H3QUIC_H
#define VQUIC_H3QUIC_H

#include "vquic/conn.h"
#include "vquic/h3conn.h"
#include "vquic/h3frame.h"
#include "vquic/tls.h"

typedef struct vq_h3q {
  vq_conn *conn;
  vq_h3 *h3;
  const vq_cx *cx;        /* the cx of the call in progress (the transport callbacks use it) */
  int started;
  int closed;             /* VQ_CONN_EV_CLOSED was seen */
  uint64_t close_code;
  int close_app, close_by_peer;
  struct vq_h3_settings remembered; /* client: vq_h3q_remember_settings */
  int has_remembered;
} vq_h3q;

/* Creates the session (from mem) over conn. Call vq_h3q_process after every vq_conn_recv and
 * vq_conn_handle_timeout (and after application calls), before vq_conn_send. */
vq_status vq_h3q_init(vq_h3q *q, vq_conn *conn, vq_mem *mem, const vq_h3_config *cfg,
                      const vq_h3_callbacks *cb);
void vq_h3q_free(vq_h3q *q);
/* Feeds the connection's pending events to the session: handshake done (the session starts), stream
 * data, resets, stop-sending, writability; sets q->closed when the connection closed. */
vq_status vq_h3q_process(vq_h3q *q, const vq_cx *cx);

/* Client: the server's settings remembered with the session given to the connection
 * (vq_conn_config.session). When the connection offers 0-RTT, the session starts at once under them
 * (vq_h3_remember_settings: RFC 9114 §7.2.4.2); otherwise they are not used (the session starts after
 * the handshake, with the server's SETTINGS to come). Call before the first vq_h3q_process. */
void vq_h3q_remember_settings(vq_h3q *q, const struct vq_h3_settings *s);

/* Server: what to pass as vq_conn_config.early_app (the endpoint's template) with sessions cfg: its
 * SETTINGS payload (vq_h3_local_settings, no grease). Tickets then carry it and 0-RTT is accepted
 * only from sessions issued under the same settings (RFC 9114 §7.2.4.2/8): the client remembered
 * exactly these, so the server's SETTINGS never reduce what its 0-RTT data relies on. */
vq_status vq_h3q_early_app(const vq_h3_config *cfg, uint8_t *out, size_t cap, size_t *len);

/* ---- the session file of a client (vq-client --session-file) ------------------------------------
 * What a client keeps for its next connection to a server: the QUIC session and the server's
 * SETTINGS of the connection the session came from (RFC 9114 §7.2.4.2/5), to resume with 0-RTT, and
 * an address validation token from a NEW_TOKEN frame (RFC 9000 §8.1.3) with the server it belongs to.
 * Format, big-endian:
 *   "VQH3" u8 version                 magic and version: 1, 2 or 3
 *   u16 session_len, session          the vq_conn_session_get blob (version 1: 1 .. VQ_TLS_SESSION_MAX
 *                                     bytes; version 2: 0 = none stored)
 *   u16 settings_len, settings        a SETTINGS frame payload (RFC 9114 §7.2.4.1) of the settings
 *                                     the server sent; settings_len 0: none stored (the ticket came
 *                                     before the SETTINGS or they never came: the defaults apply)
 * versions 2 and 3:
 *   u8 origin_len, origin             the server the token belongs to (vq-client: "host:port" of the
 *                                     URL), 1 .. 255 bytes with a token, 0 without
 *   u16 token_len, token              a NEW_TOKEN token, 0 .. VQ_H3Q_TOKEN_MAX bytes (0: none)
 * version 3 only:
 *   u32 token_version                 the QUIC version of the connection that got the token
 *                                     (RFC 9369 §5; 0 without a token or when unknown)
 * and nothing after. Every field is bounds-checked when read; the settings are parsed as a received
 * SETTINGS frame would be (vq_h3_settings_parse). VQ_H3Q_SESSION_MAX bounds the whole. */
#define VQ_H3Q_SETTINGS_MAX 256u
#define VQ_H3Q_TOKEN_MAX VQ_CONN_TOKEN_MAX
#define VQ_H3Q_ORIGIN_MAX 255u
#define VQ_H3Q_SESSION_MAX                                                                         \
  (5u + 2u + VQ_TLS_SESSION_MAX + 2u + VQ_H3Q_SETTINGS_MAX + 1u + VQ_H3Q_ORIGIN_MAX + 2u + VQ_H3Q_TOKEN_MAX + 4u)

typedef struct vq_h3q_session_file {
  const uint8_t *session;        /* NULL/0: none */
  size_t session_len;
  struct vq_h3_settings settings; /* when has_settings */
  int has_settings;
  const uint8_t *origin;         /* with a token: the server it came from */
  size_t origin_len;
  const uint8_t *token;          /* NULL/0: none */
  size_t token_len;
  uint32_t token_version;        /* the QUIC version of the connection the token came from (0:
                                    unknown; read from version 2 files) */
} vq_h3q_session_file;

/* Version 3 of f. VQ_ERR_INVALID_ARGUMENT for a too long session, token or origin, a token without
 * an origin or an origin without a token; VQ_ERR_BUFFER_TOO_SMALL with *len the size needed. */
vq_status vq_h3q_session_file_encode(const vq_h3q_session_file *f, uint8_t *out, size_t cap,
                                     size_t *len);
/* Reads version 1, 2 or 3; the pointers of *f point into in. VQ_ERR_TLS_SESSION_INVALID (and *f
 * empty) for anything not of this format. */
vq_status vq_h3q_session_file_decode(const uint8_t *in, size_t len, vq_h3q_session_file *f);

/* Version 1 (a session, settings NULL: none stored). VQ_ERR_BUFFER_TOO_SMALL with *len the size
 * needed; VQ_ERR_INVALID_ARGUMENT for an empty or too long session. */
vq_status vq_h3q_session_encode(const uint8_t *session, size_t session_len,
                                const struct vq_h3_settings *settings, uint8_t *out, size_t cap,
                                size_t *len);
/* Reads version 1 or 2 holding a session (a token is ignored). *session points into in;
 * *has_settings 0 when none were stored (*settings then the defaults). VQ_ERR_TLS_SESSION_INVALID
 * for anything not of this format or without a session (the session blob itself is checked when the
 * connection is created with it). */
vq_status vq_h3q_session_decode(const uint8_t *in, size_t len, const uint8_t **session,
                                size_t *session_len, struct vq_h3_settings *settings,
                                int *has_settings);

#endif
