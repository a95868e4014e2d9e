/* vquic — the HTTP/3 session (RFC 9114) over an abstract stream transport, sans-I/O.
 *
 * The session knows nothing of packets: the QUIC connection (or a test) implements vq_h3_transport and
 * feeds what it receives to vq_h3_on_*(). The session opens its control stream and the two QPACK
 * streams (vq_h3_start), reads the peer's, maps requests and responses onto bidirectional streams, and
 * applies the rules of RFC 9114 and RFC 9204: connection errors close the connection through
 * transport->close (CONNECTION_CLOSE 0x1d with the RFC's code), stream errors reset one stream.
 *
 * Streams are named by their QUIC stream ID: a request handle is the ID of its stream. An ID stays
 * valid until on_stream_close has been called for it; the application may attach a pointer to it
 * (vq_h3_set_stream_ud), handed back with every callback of that stream.
 *
 * Every function taking a vq_cx checks it first: VQ_ECANCELED / VQ_ERR_BUDGET change nothing.
 * Callbacks may call back into the session (respond from on_request, send more body from on_writable,
 * cancel from on_data ...); a stream is only freed when the outermost call returns.
 *
 * Memory: every byte the session holds comes from the vq_mem given to vq_h3_create; each buffer has a
 * bound from vq_h3_config (buffered frames, field sections, per-stream send queue, input held while a
 * stream is blocked on QPACK inserts). A peer exceeding them gets H3_EXCESSIVE_LOAD, never growth.
 *
 * Fields (names and values) handed to callbacks live only for the duration of the callback. Several
 * cookie field lines of a received section are handed over as one, joined with "; " (RFC 9114
 * §4.2.1); a cookie field sent is split into one line per cookie-pair so that QPACK can index each.
 *
 * CONNECT (RFC 9114 §4.4, extended CONNECT RFC 9220): the request stream stays open to carry the
 * tunnel (vq_h3_request refuses has_body 0); once a 2xx response is sent or received only DATA may
 * follow: no trailers can be sent, and a HEADERS or PUSH_PROMISE frame received is the connection
 * error H3_FRAME_UNEXPECTED (before the 2xx, a trailer section on a CONNECT is malformed). A 2xx
 * response to CONNECT carries no content-length (refused by vq_h3_respond, ignored when received). */
#ifndef VQUIC_H3CONN_H
#define VQUIC_H3CONN_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"
#include "vquic/h3.h"
#include "vquic/h3frame.h"
#include "vquic/qpack.h"
#include "vquic/rt.h"

/* ---- the transport (implemented by the QUIC connection) ----------------------------------------- */

typedef struct vq_h3_transport {
  void *ud;
  /* Open a local stream; VQ_ERR_STREAM_LIMIT when the peer's MAX_STREAMS does not allow one yet. */
  vq_status (*open_uni)(void *ud, uint64_t *stream_id);
  vq_status (*open_bidi)(void *ud, uint64_t *stream_id);
  /* Queue data (and FIN) on a stream. May accept less than len (flow control): *accepted says how
   * much; fin is only taken with the last byte, i.e. when *accepted == len. The session keeps the
   * rest and retries from vq_h3_on_writable. An error means the stream cannot be written any more. */
  vq_status (*write)(void *ud, uint64_t stream_id, const uint8_t *data, size_t len, int fin,
                     size_t *accepted);
  void (*reset_stream)(void *ud, uint64_t stream_id, uint64_t app_error);   /* RESET_STREAM */
  void (*stop_sending)(void *ud, uint64_t stream_id, uint64_t app_error);   /* STOP_SENDING */
  void (*close)(void *ud, uint64_t app_error, const char *reason);          /* CONNECTION_CLOSE 0x1d */
  /* Optional (NULL: not used): how many bytes write would accept on the stream now; when fewer than
   * want, the transport reports the stream writable (vq_h3_on_writable) once it has room; a stream
   * that cannot be written any more answers at least want (write then fails). With it,
   * vq_h3_send_body sizes each DATA frame by the room, so a body byte goes straight to the transport
   * instead of through the session's queue. */
  uint64_t (*send_room)(void *ud, uint64_t stream_id, uint64_t want);
  /* Optional (NULL: never): 1 while the handshake has not completed, so that request data goes
   * (client) or arrives (server) in 0-RTT packets: early data in the sense of RFC 8470. The
   * connection binding (vquic/h3quic.h) answers from the connection's state; a server without it
   * treats no request as received in early data. */
  int (*early)(void *ud);
} vq_h3_transport;

/* ---- messages ----------------------------------------------------------------------------------- */

/* A field line: name and value bytes (not NUL-terminated). never_indexed asks QPACK to send it as a
 * never-indexed literal (RFC 9204 §7.1.3), e.g. for authorization. */
typedef vq_qpack_field vq_h3_field;

typedef struct vq_h3_str {
  const uint8_t *p;   /* NULL when absent */
  size_t len;
} vq_h3_str;

/* A validated header section (RFC 9114 §4.3): the pseudo-header fields picked out, then the regular
 * fields (pseudo-header fields are not repeated there). */
typedef struct vq_h3_head {
  vq_h3_str method, scheme, authority, path, protocol;  /* requests (:protocol: RFC 9220) */
  int status;                                           /* responses: 100 .. 599 */
  const vq_h3_field *fields;                            /* regular fields */
  size_t nfields;
  int64_t content_length;                               /* -1 when absent */
  /* Server (on_request): the request counts as received in early data (RFC 8470): its header section
   * is handed over before the handshake completed (transport->early), or it carries an Early-Data
   * field (RFC 8470 §5.1: it came through an intermediary in early data; any value or number of
   * them counts as "1"). vq_h3_validate leaves it 0. */
  int early;
} vq_h3_head;

/* What vq_h3_validate checks a field section as. */
typedef enum vq_h3_section_kind {
  VQ_H3_SECTION_REQUEST = 0,
  VQ_H3_SECTION_RESPONSE = 1,
  VQ_H3_SECTION_TRAILERS = 2,
} vq_h3_section_kind;

/* RFC 9114 §4.2, §4.3, §4.4, §10.3 and RFC 9220 §3: field names (non-empty tokens, lowercase), values
 * (no NUL, CR, LF), no connection-specific fields, TE only "trailers", pseudo-header fields defined
 * for the kind, each at most once, before every regular field, the required ones present (:method a
 * token), CONNECT (:authority only) and extended CONNECT (:protocol, allowed only when
 * connect_protocol, with :scheme, :path and :authority), http/https requests with a non-empty
 * authority and a :path starting with '/' (or "*" for OPTIONS), :authority and Host (every Host line)
 * equal when both are present, content-length digits and consistent. VQ_OK fills *head (pointers
 * into f); VQ_ERR_H3_MESSAGE otherwise. */
vq_status vq_h3_validate(const vq_h3_field *f, size_t n, vq_h3_section_kind kind, int connect_protocol,
                         vq_h3_head *head);

/* ---- configuration and callbacks ---------------------------------------------------------------- */

typedef struct vq_h3_config {
  int is_server;
  /* What we advertise in SETTINGS. */
  uint64_t max_field_section_size;    /* also the bound of a decoded section we accept */
  uint64_t qpack_max_table_capacity;  /* our decoder's dynamic table (0: none) */
  uint64_t qpack_blocked_streams;
  int enable_connect_protocol;        /* server: RFC 9220 extended CONNECT */
  /* Our encoder: the dynamic table capacity it uses at most (the peer's setting bounds it too). */
  uint64_t qpack_encoder_capacity;
  size_t qpack_encoder_sections;      /* unacknowledged sections the encoder tracks */
  /* Bounds. */
  size_t max_frame;                   /* largest HEADERS/SETTINGS/... payload buffered: H3_EXCESSIVE_LOAD */
  size_t max_streams;                 /* request streams held at once; more are H3_REQUEST_REJECTED */
  size_t send_buf;                    /* bytes queued per stream before vq_h3_send_body accepts less */
  size_t blocked_input;               /* bytes held for a stream blocked on QPACK inserts */
  int grease;                         /* send a reserved setting and a reserved frame (RFC 9114 §7.2.8) */
  /* Early data (RFC 8470; rfc9114#10.9/1). Server: what happens to a request received in early data
   * (vq_h3_head.early): VQ_H3_EARLY_REJECT_UNSAFE (the default, 0) answers one whose method is not
   * safe (RFC 9110 §9.2.1: only GET, HEAD, OPTIONS and TRACE are) with 425 (Too Early) itself, never
   * handing it to the application; VQ_H3_EARLY_REJECT_ALL answers every such request so;
   * VQ_H3_EARLY_ACCEPT hands them all over (the application decides, head->early tells it). */
  int early_policy;
  /* Client: 1 lets vq_h3_request send requests with unsafe methods in 0-RTT; 0 (default): such a
   * request made before the handshake completes is refused with VQ_ERR_STREAM_STATE (make it again
   * once it completed), RFC 8470 §4. */
  int early_unsafe;
  /* Client: bytes of a request sent in 0-RTT (its field lines and body) kept so that it can be sent
   * again by itself after a 425 (Too Early), RFC 8470 §5.2 (default 16384; 0: no automatic retry,
   * the 425 goes to the application). A request that outgrows it, or sends trailers, is not retried
   * by the session. */
  size_t early_retry_max;
} vq_h3_config;

enum {
  VQ_H3_EARLY_REJECT_UNSAFE = 0,
  VQ_H3_EARLY_REJECT_ALL = 1,
  VQ_H3_EARLY_ACCEPT = 2,
};

void vq_h3_config_default(vq_h3_config *c, int is_server);

typedef struct vq_h3 vq_h3;

typedef struct vq_h3_callbacks {
  void *ud;
  /* Server: a request's header section arrived (validated). */
  void (*on_request)(void *ud, vq_h3 *h3, uint64_t stream_id, const vq_h3_head *head);
  /* Client: a response header section: interim (head->status < 200, more follow) or final. */
  void (*on_response)(void *ud, vq_h3 *h3, uint64_t stream_id, void *stream_ud, const vq_h3_head *head);
  /* Body bytes (after the header section; content-length is enforced). */
  void (*on_data)(void *ud, vq_h3 *h3, uint64_t stream_id, void *stream_ud, const uint8_t *data,
                  size_t len);
  /* A trailer section (validated). */
  void (*on_trailers)(void *ud, vq_h3 *h3, uint64_t stream_id, void *stream_ud,
                      const vq_h3_field *f, size_t n);
  /* The message was received completely. */
  void (*on_end)(void *ud, vq_h3 *h3, uint64_t stream_id, void *stream_ud);
  /* The stream was aborted: reset or stop-sending by the peer (its code), a malformed message
   * (H3_MESSAGE_ERROR), the peer's GOAWAY (H3_REQUEST_REJECTED for a request it will not process). */
  void (*on_reset)(void *ud, vq_h3 *h3, uint64_t stream_id, void *stream_ud, uint64_t app_error);
  /* The send queue of the stream drained: vq_h3_send_body may take more. */
  void (*on_writable)(void *ud, vq_h3 *h3, uint64_t stream_id, void *stream_ud);
  /* The stream is finished both ways (or aborted) and its ID is released. */
  void (*on_stream_close)(void *ud, vq_h3 *h3, uint64_t stream_id, void *stream_ud);
  /* The peer sent GOAWAY with this ID (client: first request stream it will not process). */
  void (*on_goaway)(void *ud, vq_h3 *h3, uint64_t id);
  /* The session closed the connection (error code, reason); nothing more will happen. */
  void (*on_conn_error)(void *ud, vq_h3 *h3, uint64_t app_error, const char *reason);
  /* Client: a request sent in 0-RTT was answered 425 (Too Early) and the session sent it again, once,
   * on new_id after the handshake completed (RFC 8470 §5.2; cfg.early_retry_max). The 425 is not
   * handed over; old_id is released without on_stream_close, and everything of the request (its
   * stream_ud, what remains of its body to send) goes on under new_id. */
  void (*on_retry)(void *ud, vq_h3 *h3, uint64_t old_id, uint64_t new_id, void *stream_ud);
} vq_h3_callbacks;

/* ---- life cycle --------------------------------------------------------------------------------- */

/* Allocates the session from mem; transport and callbacks are copied. */
vq_status vq_h3_create(vq_h3 **out, vq_mem *mem, const vq_h3_config *cfg, const vq_h3_transport *tr,
                       const vq_h3_callbacks *cb);
/* Frees everything (no callback is made). */
void vq_h3_destroy(vq_h3 *h3);
/* After the handshake: opens the control stream with SETTINGS and the QPACK encoder and decoder
 * streams. */
vq_status vq_h3_start(vq_h3 *h3, const vq_cx *cx);

/* The SETTINGS a session with cfg sends (vq_h3_start; without the grease setting): e.g. what a server
 * remembers with its session tickets (vq_conn_config.early_app) so that it accepts 0-RTT only from
 * clients that remembered the same. */
void vq_h3_local_settings(const vq_h3_config *cfg, struct vq_h3_settings *s);
/* Client, 0-RTT (RFC 9114 §7.2.4.2): the server's settings remembered with the session being resumed
 * (RFC 9114 §7.2.4.2/5). Call before vq_h3_start, only when 0-RTT is offered. What is sent before the
 * server's SETTINGS arrive complies with them (field section size, extended CONNECT, and the QPACK
 * encoder may use a dynamic table up to the remembered capacity and blocked streams); the server's
 * SETTINGS must then keep them (no limit reduced, a non-zero QPACK table capacity the same, no setting
 * remembered as non-default omitted), else the connection closes with H3_SETTINGS_ERROR — also after a
 * refused 0-RTT, since the transport sends the same bytes again in 1-RTT. VQ_ERR_INVALID_ARGUMENT on a
 * server, after vq_h3_start, or for values SETTINGS cannot carry. */
vq_status vq_h3_remember_settings(vq_h3 *h3, const vq_cx *cx, const struct vq_h3_settings *rem);

/* ---- input from the connection ------------------------------------------------------------------ */

/* Stream bytes in order (the connection reassembles). fin: the stream ends after data. A return below
 * zero is the connection error the session closed with (already reported through transport->close);
 * stream errors are handled inside and return VQ_OK. */
vq_status vq_h3_on_stream_data(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, const uint8_t *data,
                               size_t len, int fin);
vq_status vq_h3_on_stream_reset(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, uint64_t app_error);
vq_status vq_h3_on_stop_sending(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, uint64_t app_error);
/* The stream can take more data (flow-control credit arrived). */
vq_status vq_h3_on_writable(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id);
/* The handshake completed (transport->early now answers 0): a client sends the requests that got
 * 425 (Too Early) before it again (RFC 8470 §5.2: never in early data). */
vq_status vq_h3_on_handshake_done(vq_h3 *h3, const vq_cx *cx);

/* ---- application API ---------------------------------------------------------------------------- */

/* Client: a request. fields hold the pseudo-header fields (:method, :scheme, :authority, :path,
 * :protocol) first, then the regular fields; they are validated as a received request would be.
 * has_body 0 ends the stream after the header section. *stream_id names the request. */
vq_status vq_h3_request(vq_h3 *h3, const vq_cx *cx, const vq_h3_field *fields, size_t n, int has_body,
                        uint64_t *stream_id);
/* Client: a request built from its target URI (RFC 3986: scheme ":" ["//" authority] path ["?"
 * query] ["#" fragment]): :method = method, :scheme, :authority, :path (path and query; the
 * fragment is not sent), then the regular fields (no pseudo-header field among them), and sent as
 * vq_h3_request does. http and https need a non-empty authority without userinfo (a missing path is
 * "/"); another scheme without an authority in the URI (none, or an empty one) is sent with neither
 * :authority nor Host, and a Host field among fields is then refused (VQ_ERR_H3_MESSAGE:
 * RFC 9114 §4.3.1). VQ_ERR_INVALID_ARGUMENT for a URI that is not one of these, or CONNECT (use
 * vq_h3_request). */
vq_status vq_h3_request_to(vq_h3 *h3, const vq_cx *cx, const char *method, const uint8_t *uri,
                           size_t uri_len, const vq_h3_field *fields, size_t n, int has_body,
                           uint64_t *stream_id);
/* Server: a response header section with :status = status (100..599) and the regular fields. A 1xx
 * status is an interim response (has_body ignored; the final response follows). has_body 0 ends the
 * stream. */
vq_status vq_h3_respond(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, int status,
                        const vq_h3_field *fields, size_t n, int has_body);
/* Body (both sides): takes what fits in the stream's send queue (*accepted, possibly 0; wait for
 * on_writable), as one DATA frame. fin ends the message (only when all of data was accepted). */
vq_status vq_h3_send_body(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, const uint8_t *data,
                          size_t len, int fin, size_t *accepted);
/* A trailer section; ends the message. */
vq_status vq_h3_send_trailers(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, const vq_h3_field *f,
                              size_t n);
/* Aborts a request both ways with app_error (client: H3_REQUEST_CANCELLED; server: H3_REQUEST_REJECTED
 * when nothing was processed, H3_REQUEST_CANCELLED otherwise, RFC 9114 §4.1.1). */
vq_status vq_h3_cancel(vq_h3 *h3, const vq_cx *cx, uint64_t stream_id, uint64_t app_error);
/* Graceful shutdown (RFC 9114 §5.2): sends GOAWAY (server: the first request stream ID it has not
 * seen, client: push ID 0); later requests are refused, those below complete. Calling it again sends
 * nothing new. */
vq_status vq_h3_shutdown(vq_h3 *h3, const vq_cx *cx);
/* Closes the connection with app_error (H3_NO_ERROR after a graceful shutdown, RFC 9114 §5.2/12). */
vq_status vq_h3_close(vq_h3 *h3, const vq_cx *cx, uint64_t app_error, const char *reason);

void vq_h3_set_stream_ud(vq_h3 *h3, uint64_t stream_id, void *ud);
/* The cx of the session call in progress (NULL between calls): what a transport callback acts with. */
const vq_cx *vq_h3_cx(const vq_h3 *h3);

/* ---- inspection --------------------------------------------------------------------------------- */

typedef struct vq_h3_stats {
  size_t active_requests;     /* request streams not yet closed */
  uint64_t qpack_inserts_rx;  /* dynamic table inserts received (our decoder) */
  uint64_t qpack_inserts_tx;  /* dynamic table inserts sent (our encoder) */
  uint64_t qpack_known_received; /* our encoder's Known Received Count (acknowledged by the peer) */
  uint64_t blocked_streams;   /* streams blocked on QPACK inserts now */
  uint64_t blocked_total;     /* header sections that were blocked at least once */
  int peer_settings;          /* the peer's SETTINGS arrived */
  int remembered_settings;    /* client: sent under remembered settings (vq_h3_remember_settings) */
  int closed;                 /* the connection was closed by the session */
  uint64_t close_code;
  int goaway_received, goaway_sent;
  uint64_t goaway_id;         /* received */
  /* Body bytes of vq_h3_send_body: handed to transport->write straight from the caller's buffer
   * (no copy in the session), or copied into the stream's send queue first (the transport did not
   * take them at once, or bytes were already queued before them). */
  uint64_t body_direct, body_queued;
  /* RFC 8470: server: requests received in early data (vq_h3_head.early), and those answered 425 by
   * the session; client: requests sent in 0-RTT, and those sent again after a 425. */
  uint64_t early_requests, early_rejected, early_retried;
} vq_h3_stats;

void vq_h3_get_stats(const vq_h3 *h3, vq_h3_stats *st);
/* The peer's settings (defaults before they arrive). */
const struct vq_h3_settings *vq_h3_peer_settings(const vq_h3 *h3);

#endif
