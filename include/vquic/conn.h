/* vquic — a QUIC connection (RFC 9000, 9001, 9002), sans-I/O.
 *
 * The driver (POSIX sockets, or the lab) owns the sockets and the clock; the connection only turns
 * received datagrams into state and state into datagrams to send:
 *
 *   vq_conn_recv(c, cx, dgram, len, ecn)        a datagram arrived for this connection
 *   vq_conn_send(c, cx, buf, cap, &len)         the next datagram to send (len 0: nothing now)
 *   vq_conn_send_ecn(..., &ecn)                 the same with the ECN codepoint to send it with
 *   vq_conn_next_timeout(c)                     when to call vq_conn_handle_timeout
 *   vq_conn_handle_timeout(c, cx)               timers: loss detection, PTO, ACK delay, idle, close
 *   vq_conn_poll_event(c, &ev)                  what the application should know
 *
 * and the application drives streams with vq_conn_stream_*. Every operation takes a vq_cx and checks
 * it first (DESIGN.md principle 2): a cancelled call returns VQ_ECANCELED and changes nothing.
 *
 * Regions (principle 3): the connection is allocated from a vq_mem budget nested in its endpoint's;
 * streams inside it. vq_conn_close is the request (CONNECTION_CLOSE, closing period of three PTOs,
 * RFC 9000 §10.2); the connection then drains and reports VQ_CONN_EV_CLOSED; vq_conn_free finalizes
 * and reports what was still owed (vq_conn_obligations). */
#ifndef VQUIC_CONN_H
#define VQUIC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/cid.h"
#include "vquic/error.h"
#include "vquic/recovery.h"
#include "vquic/rt.h"
#include "vquic/tls.h"
#include "vquic/tp.h"

typedef struct vq_conn vq_conn;

#define VQ_CONN_MAX_VERSIONS 4u
/* Addresses are opaque bytes to the transport (the driver's sockaddr, or a lab address). */
#ifndef VQ_ADDR_MAX
#define VQ_ADDR_MAX 160u
#endif
/* The most connection IDs a connection keeps issued at once (RFC 9000 §5.1.1); the endpoint routes
 * each of them (vq_conn_local_cid). */
#define VQ_CONN_MAX_LOCAL_CIDS 8u
/* The active_connection_id_limit we advertise: how many of the peer's CIDs we keep. */
#define VQ_CONN_PEER_CID_LIMIT 4u

typedef struct vq_conn_config {
  int is_server;
  uint32_t version;              /* VQ_QUIC_V1 (default when 0) or VQ_QUIC_V2 */
  const vq_tls_ctx *tls;         /* the endpoint's TLS context (must outlive the connection) */
  const char *server_name;       /* client: SNI / certificate name */
  size_t cid_len;                /* length of the CIDs this endpoint issues (default 8; 0..20) */
  size_t mem_limit;              /* bytes the connection may hold (default 16 MiB) */
  /* Our transport parameters (0 picks the default shown). */
  uint64_t max_idle_timeout_ms;  /* 30000 */
  uint64_t initial_max_data;     /* 4 MiB */
  uint64_t initial_max_stream_data; /* 1 MiB, for each kind of stream */
  uint64_t max_stream_window;    /* auto-tuning ceiling per stream: 16 MiB */
  uint64_t max_conn_window;      /* auto-tuning ceiling for the connection: 32 MiB */
  uint64_t initial_max_streams_bidi; /* 100 */
  uint64_t initial_max_streams_uni;  /* 100 */
  uint64_t max_udp_payload;      /* the largest datagram we send: 1472 (IPv4 over Ethernet). Every
                                    datagram is 1200 bytes at most until the handshake is confirmed;
                                    then DPLPMTUD probes larger sizes up to this (and the peer's
                                    max_udp_payload_size) on the current path (RFC 9000 §14.3) */
  int pmtud_off;                 /* no DPLPMTUD: every datagram stays at 1200 bytes at most */
  vq_cc_algo cc;                 /* VQ_CC_CUBIC by default? no: 0 = NewReno */
  int disable_pacing;
  uint32_t max_sent_per_space;   /* packets tracked per space: 4096 */
  uint64_t stream_send_buffer;   /* bytes the application may queue per stream: 1 MiB */
  const uint8_t *stateless_reset_token; /* server: 16 bytes to send as stateless_reset_token (the
                                    endpoint derives it from its key and the CID, RFC 9000 §10.3.2) */
  uint64_t key_update_every;     /* initiate a 1-RTT key update (RFC 9001 §6.1) once this many packets
                                    were protected with the current key and it is permitted; 0: only
                                    when the AEAD confidentiality limit requires it */
  uint64_t aead_confidentiality_limit; /* packets per 1-RTT key (0: RFC 9001 §6.6 value of the suite,
                                    2^23 for AES-GCM); lower values are for tests */
  uint64_t aead_integrity_limit; /* received packets failing authentication before the connection
                                    closes with AEAD_LIMIT_REACHED (0: 2^52 AES-GCM, 2^36 ChaCha20) */
  const vq_trace *trace;         /* this connection's trace sink (qlog per connection); NULL: the
                                    cx's. Must outlive the connection. */
  /* QUIC versions (RFC 9368), in order of preference, 0-terminated (VQ_QUIC_V1, VQ_QUIC_V2).
   * Client: the versions it may use, sent as Available Versions in version_information; a Version
   * Negotiation packet makes it start a new attempt with the first of these the server lists
   * (RFC 9000 §6.2, RFC 9368 §2.1), and a server's Initial of another version of this list is
   * followed (compatible negotiation, RFC 9368 §2.3). `version` (the first flight's) is added
   * first if missing; all zero: {version} only, i.e. QUIC v1 and no negotiation by default.
   * Server (and endpoint): the versions it accepts, best first; a client's first flight of one of
   * them that lists a better one in its Available Versions is answered in that one (compatible
   * negotiation), an Initial of a version not listed gets Version Negotiation. All zero: v1 and
   * v2 are accepted and the client's version is kept. */
  uint32_t versions[VQ_CONN_MAX_VERSIONS];
  /* DATAGRAM (RFC 9221): the max_datagram_frame_size we advertise; 0: DATAGRAM is off in both
   * directions (not advertised, vq_conn_dgram_send refuses). VQ_DGRAM_RECOMMENDED_MAX (65535) accepts
   * any DATAGRAM frame that fits a packet (RFC 9221 §3). */
  uint64_t max_datagram_frame_size;
  uint32_t dgram_queue_count;    /* datagrams each queue (send, receive) holds: 64 */
  size_t dgram_queue_bytes;      /* payload bytes each queue holds: 64 KiB */
  int dgram_fate_events;         /* 1: report VQ_CONN_EV_DATAGRAM_ACKED / _LOST for sent datagrams */
  int disable_ecn;               /* 1: never mark packets with ECT (received marks are still counted
                                    and reported, RFC 9000 §13.4.1) */
  const uint8_t *reset_key;      /* 32 bytes the stateless reset tokens of the CIDs we issue derive
                                    from (RFC 9000 §10.3.2; the endpoint passes its own, so it can
                                    reset any of them after losing the connection); NULL: drawn from
                                    cx->rng for this connection. Copied. */
  int allow_active_migration;    /* 0 (default): we send disable_active_migration (the peer must not
                                    migrate on purpose; NAT rebinding is still followed) */
  /* Optional: whether two peer addresses (driver format) differ only in their port (RFC 9000 §9.4:
   * then congestion control and RTT are kept on a NAT rebinding). NULL: every change is a new
   * host. */
  int (*addr_same_host)(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
  /* ---- Server's preferred address (RFC 9000 §9.6, §18.2) ----
   * Server: preferred_address non-NULL advertises its IPv4/IPv6 addresses and ports (the cid and
   * reset_token fields are ignored: the connection issues a CID of sequence number 1 and its token,
   * §5.1.1); the driver must receive on those addresses too (same endpoint). Copied.
   * Client: preferred_addr_map non-NULL lets it use a server's preferred address: it is asked to
   * turn the parameter into a driver address (*len <= VQ_ADDR_MAX; return 0 to refuse); after the
   * handshake is confirmed the client probes that address with PATH_CHALLENGE under the CID of
   * sequence 1 (datagrams vq_conn_send_path returns with a destination), and on a PATH_RESPONSE
   * sends everything there; if the probe fails it stays on the original address.
   * ignore_preferred_address = 1: never (the CID is still kept, as any the peer gives). */
  const struct vq_tp_preferred_address *preferred_address;
  int (*preferred_addr_map)(void *ud, const struct vq_tp_preferred_address *pa, uint8_t *addr,
                            size_t *len);
  void *preferred_addr_ud;
  int ignore_preferred_address;
  /* Server: the preferred address in the driver's format (its local address there), for the from of
   * vq_conn_send_path_from; with it, and datagrams at that address handed over with at_preferred
   * (vq_conn_recv_at / vq_endpoint_recv_at), the server keeps its non-probing packets on its
   * original address until a non-probing packet arrives at the preferred one and its own
   * validation of the path from there (a PATH_CHALLENGE it sends from there, under a CID of the
   * client's not used from the original address) succeeded (RFC 9000 §9.6.2); it answers the
   * client's probes there from there. Copied. */
  const uint8_t *preferred_local;
  size_t preferred_local_len;
  /* ---- Resumption and 0-RTT (RFC 9000 §7.4.1, RFC 9001 §4.5-4.6) ----
   * wall_clock_base_ms: the wall clock (ms since 1970-01-01T00:00:00Z) at cx->now == 0; with it the
   * connection knows the time of day (wall_clock_base_ms + cx->now / 10^6), which tickets need.
   * 0: no wall clock: the server issues no tickets, the client neither keeps nor offers any.
   * Whether 0-RTT is offered (client) or accepted (server) is the TLS context's enable_early_data. */
  uint64_t wall_clock_base_ms;
  /* Client: a session (vq_conn_session_get of an earlier connection, possibly read back from a
   * file) to resume; with 0-RTT enabled and allowed by the ticket, streams may be opened and written
   * at once and their data goes in 0-RTT packets within the server's remembered limits. A blob that
   * does not decode is VQ_ERR_TLS_SESSION_INVALID from vq_conn_new_client; one that cannot be used
   * (expired, another server name) is not offered (vq_conn_early_data says VQ_EARLY_NONE). */
  const uint8_t *session;
  size_t session_len;
  /* CIDs this connection issues (NEW_CONNECTION_ID, preferred address): when set, cid_in_use says
   * whether cid routes to a live connection of the endpoint (1: in use, another one is drawn);
   * vq_endpoint sets its own. NULL: only the connection's own CIDs are checked. */
  int (*cid_in_use)(void *ud, const vq_cid *cid);
  void *cid_in_use_ud;
  /* Server: makes the CIDs this connection issues (NEW_CONNECTION_ID, preferred address) — VQ_OK
   * with *out of len bytes, or an error (then none is issued); vq_endpoint sets its minter (a keyed
   * permutation of its counter, vquic/cidperm.h: no CID ever repeats under its reset key, RFC 9000
   * §10.3.2). NULL: random bytes from cx->rng (clients: their reset key is their own). */
  vq_status (*mint_cid)(void *ud, size_t len, vq_cid *out);
  void *mint_cid_ud;
  /* Server: the 0-RTT anti-replay check (vq_tls_resume.early_check); vq_endpoint sets its own. */
  int (*early_check)(void *ud, const uint8_t *ticket, size_t len, uint64_t expires_ms);
  void *early_check_ud;
  /* Server: the application's state that 0-RTT depends on (vq_tls_resume.early_app: HTTP/3 passes
   * its SETTINGS, vq_h3_local_settings encoded without grease); sealed into the tickets, 0-RTT is
   * accepted only for a ticket with the same bytes. Must stay valid while connections are created
   * with this config (the endpoint's template included). NULL/0: none. */
  const uint8_t *early_app;
  size_t early_app_len;
  /* ---- Address validation tokens for later connections (RFC 9000 §8.1.3, §19.7) ----
   * Client: token[0..token_len) (at most VQ_CONN_TOKEN_MAX bytes, else VQ_ERR_INVALID_ARGUMENT from
   * vq_conn_new_client) is a NEW_TOKEN token an earlier connection to the same server received
   * (VQ_CONN_EV_NEW_TOKEN): it goes in every Initial until a Retry replaces it with the Retry's
   * token. The application keys tokens by server and uses each once (RFC 9000 §8.1.3). Copied.
   * Server: new_token, when set (the endpoint sets its own), is asked once the handshake is
   * confirmed for a token for the peer's address addr (driver format): it writes at most cap bytes
   * to out, sets *len and returns 1 (0: none); the connection sends it in one NEW_TOKEN frame, sent
   * again if lost. token_validated = 1 (set by the endpoint): the client's Initial carried a valid
   * NEW_TOKEN token, its address counts as validated (no anti-amplification limit). */
  const uint8_t *token;
  size_t token_len;
  /* Client: the QUIC version of the connection that received token (vq_conn_version of it). A
   * token is specific to that version (RFC 9369 §5): when it is not the version of this connection's
   * first flight (or of an attempt after Version Negotiation), the token is not sent. 0: unknown,
   * taken to be the first flight's version. */
  uint32_t token_version;
  int (*new_token)(void *ud, const vq_cx *cx, uint32_t version, const uint8_t *addr, size_t addr_len,
                   uint8_t *out, size_t cap, size_t *len);
  void *new_token_ud;
  int token_validated;
} vq_conn_config;

/* The longest address validation token a connection keeps (Retry or NEW_TOKEN). */
#define VQ_CONN_TOKEN_MAX 256u

typedef enum vq_conn_state {
  VQ_CONN_HANDSHAKE = 0,
  VQ_CONN_ESTABLISHED,   /* handshake complete */
  VQ_CONN_CLOSING,       /* we sent CONNECTION_CLOSE (RFC 9000 §10.2.1) */
  VQ_CONN_DRAINING,      /* the peer closed (§10.2.2) */
  VQ_CONN_CLOSED,        /* terminal: free it */
} vq_conn_state;

typedef enum vq_conn_event_type {
  VQ_CONN_EV_NONE = 0,
  VQ_CONN_EV_HANDSHAKE_DONE,   /* handshake complete: streams may be used */
  VQ_CONN_EV_STREAM_OPENED,    /* the peer opened stream_id */
  VQ_CONN_EV_STREAM_READABLE,  /* stream_id has data (or its FIN) to read */
  VQ_CONN_EV_STREAM_WRITABLE,  /* stream_id accepts data again (after a partial write) */
  VQ_CONN_EV_STREAM_RESET,     /* the peer reset stream_id (error_code) */
  VQ_CONN_EV_STREAM_STOP,      /* the peer asked us to stop sending on stream_id (error_code) */
  VQ_CONN_EV_STREAM_CLOSED,    /* stream_id is finished in both directions and was freed */
  VQ_CONN_EV_CLOSED,           /* the connection closed: error_code, app, reason (a client whose
                                  Version Negotiation left no common version closes at once with
                                  error_code VQ_TE_VERSION_NEGOTIATION_ERROR, nothing sent) */
  VQ_CONN_EV_DATAGRAM,         /* received datagrams wait: take them with vq_conn_dgram_recv until it
                                  says none (one event until then) */
  VQ_CONN_EV_DATAGRAM_ACKED,   /* dgram_fate_events: the packet of datagram stream_id (its number,
                                  see vq_conn_dgram_send) was acknowledged (RFC 9221 §5.2) */
  VQ_CONN_EV_DATAGRAM_LOST,    /* dgram_fate_events: it was declared lost; it is not sent again */
  VQ_CONN_EV_EARLY_DATA,       /* 0-RTT was decided: error_code 1 accepted, 0 rejected (client:
                                  what it sent in 0-RTT is sent again in 1-RTT, from the start of
                                  each stream; server: only acceptance is reported) */
  VQ_CONN_EV_SESSION_TICKET,   /* client: a new session is available from vq_conn_session_get */
  VQ_CONN_EV_NEW_TOKEN,        /* client: the server sent a token for later connections
                                  (NEW_TOKEN, RFC 9000 §19.7): vq_conn_new_token_get */
  VQ_CONN_EV_PATH_PROBE,       /* client: the path of vq_conn_probe_path was validated (error_code
                                  1) or its validation failed (0) */
} vq_conn_event_type;

typedef struct vq_conn_event {
  vq_conn_event_type type;
  uint64_t stream_id;
  uint64_t error_code;
  int app;                     /* CLOSED: 1 for an application close (0x1d) */
  int by_peer;                 /* CLOSED: 1 when the peer closed */
} vq_conn_event;

typedef struct vq_conn_stats {
  uint64_t pkts_sent, pkts_recv, pkts_lost, pkts_dropped, bytes_sent, bytes_recv;
  uint64_t stream_bytes_sent, stream_bytes_recv;
  vq_time srtt, min_rtt, rttvar;
  uint64_t cwnd, bytes_in_flight;
  uint64_t pto_count;
  size_t mem_used, mem_peak;    /* bytes the connection holds now / at most so far */
  uint64_t events_dropped;      /* events lost to the queue bound (VQ_CONN_EV_*): should stay 0 */
  /* DATAGRAM (RFC 9221) */
  uint64_t dgram_sent, dgram_acked, dgram_lost;  /* frames sent; their packets' fates */
  uint64_t dgram_recv;          /* frames received and queued for the application */
  uint64_t dgram_recv_dropped;  /* received but dropped: the receive queue was full (§5.3) */
  uint64_t dgram_send_dropped;  /* queued but dropped unsent: no longer fit the path's packets */
  /* ECN (RFC 9000 §13.4) */
  int ecn_state;                /* vq_ecn_state of the path (include/vquic/ecn.h) */
  int ecn_failure;              /* vq_ecn_failure: why validation failed */
  uint64_t ecn_sent_ect0;       /* packets sent with ECT(0) */
  uint64_t ecn_ce_signals;      /* validated ECN-CE increases that reached the congestion controller */
  uint64_t ecn_recv[4];         /* packets received per IP codepoint (VQ_ECN_*), all spaces */
  uint64_t ecn_acked_ect0, ecn_acked_ce; /* the peer's last validated 1-RTT ACK_ECN counts */
  uint64_t congestion_events;   /* congestion window reductions (loss or ECN-CE), RFC 9002 §7.3.2 */
  uint64_t key_updates_initiated; /* 1-RTT key updates we started (RFC 9001 §6.1) */
  uint64_t key_updates_answered;  /* key updates the peer started and we followed (§6.2) */
  uint64_t auth_failures;       /* received packets that failed authentication (§6.6) */
  uint64_t old_key_pkts;        /* packets accepted under the previous read keys (§6.5) */
  uint64_t aead_opens;          /* received packets whose AEAD open was attempted (RFC 9001 §9.5) */
  uint64_t rx_key_derivations;  /* 1-RTT read keys derived (installed next keys, §6.3) */
  uint64_t cids_issued;         /* NEW_CONNECTION_ID sequence numbers we issued (RFC 9000 §5.1.1) */
  uint64_t cids_retired_by_peer;/* of ours, retired by the peer's RETIRE_CONNECTION_ID */
  uint64_t peer_cids_retired;   /* of the peer's, retired by us (RETIRE_CONNECTION_ID sent) */
  uint64_t path_challenges_sent, paths_validated, path_validation_failures;
  uint64_t peer_migrations;     /* server: the peer's address changed (NAT rebinding, migration) */
  uint64_t prev_paths_validated, prev_path_failures; /* server: its checks of the path the peer
                                   left (RFC 9000 §9.3.3), not counted in the two above */
  uint64_t migrations;          /* client: vq_conn_migrate calls that started a probe */
  uint64_t probes_answered;     /* PATH_RESPONSEs sent on the path of a probe from another address */
  uint64_t probe_resent_bytes;  /* stream bytes of packets in flight resent in PTO probes (RFC 9002 §6.2.4) */
  uint64_t probes_resent;       /* PTO probes that carried previously sent data */
  /* Address validation (RFC 9000 §8.1) */
  int retry_received;           /* client: a Retry was accepted; server: the client came back with a
                                   valid Retry token */
  int token_sent;               /* client: its first Initial carried a NEW_TOKEN token (config) */
  int token_validated;          /* server: the client's address was validated by a NEW_TOKEN token */
  uint64_t new_tokens_sent;     /* server: NEW_TOKEN frames sent (repairs of losses included) */
  uint64_t new_tokens_recv;     /* client: NEW_TOKEN frames received */
  /* DPLPMTUD (RFC 9000 §14.3) */
  uint64_t max_udp_payload;     /* the current path's maximum datagram size (1200 until raised) */
  uint64_t pmtu_probes_sent, pmtu_probes_acked, pmtu_probes_lost;
  uint64_t pmtu_black_holes;    /* fallbacks to 1200 bytes: larger packets went missing (RFC 8899 §4.3) */
  uint64_t max_datagram_recv;   /* the largest datagram received */
} vq_conn_stats;

/* Creates a client connection: picks its CIDs from cx->rng and queues the ClientHello; the first
 * vq_conn_send returns the Initial (padded to 1200 bytes). */
vq_status vq_conn_new_client(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg, const vq_cx *cx);
/* Creates a server connection for a client's first Initial packet (the whole datagram dgram[0..len)).
 * The endpoint checked that it is an Initial of a supported version in a datagram of >= 1200 bytes.
 * scid: the CID the server will use (cfg->cid_len bytes). The datagram is then processed as by
 * vq_conn_recv. */
vq_status vq_conn_new_server(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg, const vq_cx *cx,
                             const vq_cid *scid, uint8_t *dgram, size_t len);
/* The same after a Retry (RFC 9000 §8.1.2): the client's Initial carried a valid Retry token, which
 * gave the original Destination CID (odcid, for original_destination_connection_id) and the Retry's
 * Source CID (retry_scid: the client now sends to it, and it is sent back as
 * retry_source_connection_id, §7.3). The client's address counts as validated. */
vq_status vq_conn_new_server_retry(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg,
                                   const vq_cx *cx, const vq_cid *scid, const vq_cid *odcid,
                                   const vq_cid *retry_scid, uint8_t *dgram, size_t len);
/* Finalizes: frees every stream, buffer and key. *obligations (if not NULL) receives the application
 * bytes and frames still unacknowledged (0 after a clean close). NULL is ignored. */
void vq_conn_free(vq_conn *c, uint64_t *obligations);

/* Processes one received datagram (decrypted in place: dgram is modified). Packets that fail are
 * dropped (counted in stats); protocol errors close the connection (see vq_conn_state). */
vq_status vq_conn_recv(vq_conn *c, const vq_cx *cx, uint8_t *dgram, size_t len, uint8_t ecn);
/* The same, with the address the datagram came from (driver format, up to VQ_ADDR_MAX bytes). The
 * first address given is the peer's; a server whose peer sends a non-probing packet (the largest
 * packet number so far) from another address follows it (RFC 9000 §9.3: NAT rebinding, migration):
 * it sends there from then on (vq_conn_peer_addr), validates the new path with PATH_CHALLENGE,
 * sends at most three times what it received there until then, resets congestion control and RTT
 * unless only the port changed (cfg.addr_same_host), and moves to an unused CID of the peer. A
 * client drops datagrams from another address than the server's (§9/7). addr NULL: as
 * vq_conn_recv. */
vq_status vq_conn_recv_from(vq_conn *c, const vq_cx *cx, const uint8_t *addr, size_t addr_len,
                            uint8_t *dgram, size_t len, uint8_t ecn);
/* vq_conn_recv_from for a server with cfg.preferred_local: at_preferred 1 when the datagram arrived at
 * the server's preferred address (0: at its original one). */
vq_status vq_conn_recv_at(vq_conn *c, const vq_cx *cx, int at_preferred, const uint8_t *addr,
                          size_t addr_len, uint8_t *dgram, size_t len, uint8_t ecn);
/* Sets the peer's address before any datagram from it (the endpoint does for a new server
 * connection). VQ_ERR_INVALID_ARGUMENT for an empty or too long address. */
vq_status vq_conn_set_peer_addr(vq_conn *c, const uint8_t *addr, size_t len);
/* The peer address the connection sends to: 1 with *addr, *len once one is known, else 0. */
int vq_conn_peer_addr(const vq_conn *c, const uint8_t **addr, size_t *len);
/* Client: the driver moved the connection's socket to a new local address or port (RFC 9000 §9.2).
 * The connection moves to an unused connection ID of the server (§9.5), resets congestion control
 * and RTT (§9.4) and validates the new path with PATH_CHALLENGE (sent with the next packets).
 * Errors, nothing changed: VQ_ERR_INVALID_ARGUMENT for a server, before the handshake is confirmed
 * (§9/1), or when the server sent disable_active_migration (§9/2); VQ_ERR_CID_UNAVAILABLE when the
 * server gave no unused connection ID (§9.5/2: none is reused). */
vq_status vq_conn_migrate(vq_conn *c, const vq_cx *cx);
/* vq_conn_send with the datagram's destination: *to_len == 0 for the peer's address
 * (vq_conn_peer_addr, or wherever the driver sends), else to[0..*to_len) (a client's probe of the
 * server's preferred address, RFC 9000 §9.6.1, or of a path, vq_conn_probe_path; a server's answer
 * to a probe from another address of the client's). to holds VQ_ADDR_MAX bytes. */
vq_status vq_conn_send_path(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len,
                            uint8_t *to, size_t *to_len);
/* vq_conn_send_path with the ECN codepoint (*ecn, as vq_conn_send_ecn; not-ECT for probes and
 * their answers; ecn may be NULL) and the local address to send from: *from_len == 0 for the
 * connection's socket (where everything else goes), else from[0..*from_len) (the local address
 * given to vq_conn_probe_path, for its probes). from holds VQ_ADDR_MAX bytes. A driver that probes
 * from another local address uses this one. */
vq_status vq_conn_send_path_from(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len,
                                 uint8_t *ecn, uint8_t *from, size_t *from_len, uint8_t *to,
                                 size_t *to_len);
/* Client: probes a path without moving to it (RFC 9000 §9.1, §8.2): from the local address local
 * (driver format; local_len 0: the current socket) to the server's address remote (remote_len 0: the
 * current one). The probes are datagrams of PATH_CHALLENGE and PADDING (1200 bytes) under an unused
 * connection ID of the server (§9.5/2), returned by vq_conn_send_path_from with their from / to,
 * sent again after each PTO; everything else keeps going on the current path. A PATH_RESPONSE
 * validates the path: VQ_CONN_EV_PATH_PROBE with error_code 1 (vq_conn_probe_state
 * VQ_PROBE_VALIDATED); after three times the larger of the current PTO and the initial one (§8.2.4)
 * without one it failed: the event with 0, VQ_PROBE_FAILED, and the connection ID is retired. The
 * application may then move with vq_conn_migrate (after moving its socket). One probe at a time: a
 * new call replaces the previous probe. Errors, nothing changed: VQ_ERR_INVALID_ARGUMENT for a
 * server, before the handshake is confirmed (§9/1), for an address longer than VQ_ADDR_MAX, for
 * another local address towards the handshake address when the server sent disable_active_migration
 * (§18.2) or a preferred address not moved to (§18.2/3); VQ_ERR_CID_UNAVAILABLE when the server gave
 * no unused connection ID (§9.5/2). A server answers a probe it receives on the probe's path (its
 * vq_conn_send_path returns the PATH_RESPONSE with that destination, under an unused CID of the
 * client's, §9.5/3) without moving. */
vq_status vq_conn_probe_path(vq_conn *c, const vq_cx *cx, const uint8_t *local, size_t local_len,
                             const uint8_t *remote, size_t remote_len);
enum { VQ_PROBE_NONE = 0, VQ_PROBE_PROBING = 1, VQ_PROBE_VALIDATED = 2, VQ_PROBE_FAILED = 3 };
int vq_conn_probe_state(const vq_conn *c);
/* Client: the state of the server's preferred address: VQ_PA_*. Server (cfg.preferred_local): its
 * validation of the path from its preferred address: VQ_PA_PROBING while it goes on, VQ_PA_MOVED
 * once validated (the packets leave from there once a non-probing packet also arrived there:
 * vq_conn_send_path_from's from), VQ_PA_FAILED. */
enum { VQ_PA_NONE = 0, VQ_PA_PROBING = 1, VQ_PA_MOVED = 2, VQ_PA_FAILED = 3 };
int vq_conn_preferred_state(const vq_conn *c);
/* Our active connection IDs (RFC 9000 §5.1): slot i in 0 .. VQ_CONN_MAX_LOCAL_CIDS-1; 1 with *cid
 * (and *seq, its sequence number, unless seq is NULL) when the slot holds one, 0 when it is free. */
int vq_conn_local_cid(const vq_conn *c, uint32_t i, vq_cid *cid, uint64_t *seq);
/* Changes whenever that set changes (issued or retired): the endpoint re-reads it then. */
uint64_t vq_conn_cid_generation(const vq_conn *c);
/* Writes the next datagram into buf[0..cap) (cap >= 1200); *len = 0 when nothing is to be sent now. */
vq_status vq_conn_send(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len);
/* The same, and *ecn receives the IP ECN codepoint (VQ_ECN_NOT_ECT or VQ_ECN_ECT0, see ecn.h) the
 * driver puts on this datagram (RFC 9000 §13.4). A driver that uses vq_conn_send, or cannot set the
 * codepoint, sends them unmarked: the path then fails ECN validation and marking stops. */
vq_status vq_conn_send_ecn(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len,
                           uint8_t *ecn);
vq_time vq_conn_next_timeout(const vq_conn *c);
vq_status vq_conn_handle_timeout(vq_conn *c, const vq_cx *cx);
int vq_conn_poll_event(vq_conn *c, vq_conn_event *ev);

/* Request to close (RFC 9000 §10.2): app = 1 for an application error (CONNECTION_CLOSE 0x1d).
 * VQ_CONN_EV_CLOSED follows once the closing period ends. */
vq_status vq_conn_close(vq_conn *c, const vq_cx *cx, int app, uint64_t error_code, const char *reason);

vq_conn_state vq_conn_get_state(const vq_conn *c);
int vq_conn_is_server(const vq_conn *c);
/* The initial_max_streams_bidi (uni 0) or initial_max_streams_uni (uni 1) this connection announces
 * (after its defaults: 100 when the configuration said 0). */
uint64_t vq_conn_local_initial_max_streams(const vq_conn *c, int uni);
/* The error the connection closed with (by either side) and its reason ("" if none). */
uint64_t vq_conn_close_error(const vq_conn *c, int *app, int *by_peer, const char **reason);
void vq_conn_get_stats(const vq_conn *c, vq_conn_stats *st);
/* The QUIC version in use: the first flight's until a version is negotiated (RFC 9368). */
uint32_t vq_conn_version(const vq_conn *c);
/* 1 when the client started a new attempt after a Version Negotiation packet (RFC 9368 §2.1). */
int vq_conn_version_restarted(const vq_conn *c);
/* Our source CID (what the peer sends to) and the current destination CID. */
const vq_cid *vq_conn_scid(const vq_conn *c);
const vq_cid *vq_conn_dcid(const vq_conn *c);
/* The original destination CID of the client's first Initial (endpoint routing of retransmitted
 * Initials). */
const vq_cid *vq_conn_odcid(const vq_conn *c);
/* The negotiated ALPN (NULL/0 before the handshake). */
void vq_conn_alpn(const vq_conn *c, const uint8_t **name, size_t *len);
/* The handshake, for its details (alert, certificate error). */
const vq_tls *vq_conn_tls(const vq_conn *c);

/* ---- Datagrams (RFC 9221) ------------------------------------------------------------------- */

/* Queues an unreliable datagram (copied) for a DATAGRAM frame of a 1-RTT packet: sent under congestion
 * control, ack-eliciting, never retransmitted. Datagrams accepted are numbered from 0 (the stream_id
 * of VQ_CONN_EV_DATAGRAM_ACKED / _LOST). A client sending 0-RTT (vq_conn_early_data) may queue them
 * during the handshake: they go in 0-RTT packets when the session remembered the server's
 * max_datagram_frame_size (RFC 9221 §3), under that limit; if the server refuses 0-RTT, those sent
 * are lost (VQ_CONN_EV_DATAGRAM_LOST) and those still queued go in 1-RTT under the new limit.
 * VQ_ERR_STREAM_STATE before the handshake completes (but in 0-RTT as above) or once closing;
 * VQ_ERR_DGRAM_DISABLED when DATAGRAM is off here (max_datagram_frame_size 0) or the peer did
 * not advertise it (nor remembered it, in 0-RTT); VQ_ERR_DGRAM_TOO_LARGE when its frame exceeds the peer's max_datagram_frame_size
 * or one packet of our max_udp_payload (vq_conn_dgram_max_payload); VQ_ERR_DGRAM_QUEUE_FULL when the
 * send queue holds dgram_queue_count datagrams or dgram_queue_bytes (try again after sending). */
vq_status vq_conn_dgram_send(vq_conn *c, const vq_cx *cx, const uint8_t *data, size_t len);
/* The largest payload vq_conn_dgram_send accepts now (0: none). */
size_t vq_conn_dgram_max_payload(const vq_conn *c);
/* Takes the oldest received datagram: VQ_OK with *len set (0 and *got = 0 when none);
 * VQ_ERR_BUFFER_TOO_SMALL when cap is short (*len says what is needed; it stays queued). */
vq_status vq_conn_dgram_recv(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len,
                             int *got);
/* Starts a 1-RTT key update (RFC 9001 §6.1): the next packets are protected with the next
 * generation's keys and the other Key Phase. VQ_ERR_KEY_UPDATE_BLOCKED (nothing changes) before the
 * handshake is confirmed, before a packet protected with the current keys was acknowledged, or while
 * the peer has not yet answered the previous update; VQ_ERR_STREAM_STATE once closing. The 3 PTO wait
 * RFC 9001 §6.5 recommends between updates is the caller's (key_update_every observes it). */
vq_status vq_conn_initiate_key_update(vq_conn *c, const vq_cx *cx);
/* ---- Resumption and 0-RTT -------------------------------------------------------------------- */

typedef enum vq_early_data {
  VQ_EARLY_NONE = 0,    /* not offered (client) / not accepted (server) */
  VQ_EARLY_OFFERED,     /* client: 0-RTT is being sent, the server has not answered yet */
  VQ_EARLY_ACCEPTED,
  VQ_EARLY_REJECTED,    /* client: the server refused it; the data went again in 1-RTT */
} vq_early_data;
vq_early_data vq_conn_early_data(const vq_conn *c);
/* 1 when the handshake resumed a session (PSK accepted). */
int vq_conn_resumed(const vq_conn *c);
/* Client: the newest session of this connection (after VQ_CONN_EV_SESSION_TICKET), an opaque blob
 * (format: vq_tls_session_get in tls.h: the ticket, the resumption secret, ALPN, server name, the
 * server's transport parameters, the expiry) to pass as vq_conn_config.session later. *len = 0 when
 * none has arrived; VQ_ERR_BUFFER_TOO_SMALL with *len the size needed (<= VQ_TLS_SESSION_MAX). The
 * blob holds a secret: store it like a private key. */
vq_status vq_conn_session_get(const vq_conn *c, uint8_t *out, size_t cap, size_t *len);
/* Client: the newest token a NEW_TOKEN frame brought (after VQ_CONN_EV_NEW_TOKEN), to pass as
 * vq_conn_config.token in one later connection to the same server (RFC 9000 §8.1.3). *len = 0 when
 * none arrived (tokens longer than VQ_CONN_TOKEN_MAX are not kept); VQ_ERR_BUFFER_TOO_SMALL with *len
 * the size needed. A Retry's token is never returned (§8.1.3/3). */
vq_status vq_conn_new_token_get(const vq_conn *c, uint8_t *out, size_t cap, size_t *len);

/* ---- Streams (RFC 9000 §2, §3) --------------------------------------------------------------- */

/* Opens a locally initiated stream. VQ_ERR_STREAM_LIMIT when the peer's MAX_STREAMS is reached
 * (STREAMS_BLOCKED is sent; retry after VQ_CONN_EV_STREAM_WRITABLE with stream_id UINT64_MAX),
 * VQ_ERR_STREAM_STATE before the handshake completes — except on a client that offered 0-RTT
 * (vq_conn_early_data != VQ_EARLY_NONE): then streams open and take data at once (sent in 0-RTT
 * within the remembered limits, RFC 9000 §7.4.1). */
vq_status vq_conn_stream_open(vq_conn *c, const vq_cx *cx, int bidi, uint64_t *stream_id);
/* Queues data (copied) and optionally FIN. *accepted < len when the stream's send buffer is full:
 * wait for VQ_CONN_EV_STREAM_WRITABLE. */
vq_status vq_conn_stream_write(vq_conn *c, const vq_cx *cx, uint64_t stream_id, const uint8_t *data,
                               size_t len, int fin, size_t *accepted);
/* Reads in-order data; *fin = 1 once the final byte was read. *n = 0 and VQ_OK when nothing is
 * readable yet. */
vq_status vq_conn_stream_read(vq_conn *c, const vq_cx *cx, uint64_t stream_id, uint8_t *buf,
                              size_t cap, size_t *n, int *fin);
/* Abandons the sending part with RESET_STREAM (RFC 9000 §3.1, §19.4). */
vq_status vq_conn_stream_reset(vq_conn *c, const vq_cx *cx, uint64_t stream_id, uint64_t error_code);
/* Asks the peer to stop sending (STOP_SENDING, §19.5); data still arriving is discarded. */
vq_status vq_conn_stream_stop(vq_conn *c, const vq_cx *cx, uint64_t stream_id, uint64_t error_code);
/* Bytes the stream would accept now. */
uint64_t vq_conn_stream_writable(const vq_conn *c, uint64_t stream_id);
/* Bytes vq_conn_stream_write would accept now (the stream's room, within the connection's share for
 * application data). When that is less than want, the stream is reported writable
 * (VQ_CONN_EV_STREAM_WRITABLE) once room appears, as after a write that was not taken whole: a
 * writer can size what it prepares by the room and still be woken. A stream that cannot be written
 * any more (unknown, receive-only, finished, reset, connection closing) answers want: the write then
 * fails with the reason. */
uint64_t vq_conn_stream_send_room(vq_conn *c, uint64_t stream_id, uint64_t want);

#endif
