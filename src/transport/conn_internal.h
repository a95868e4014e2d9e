/* vquic — the connection's private state (src/transport/conn*.c only). */
#ifndef VQ_CONN_INTERNAL_H
#define VQ_CONN_INTERNAL_H

#include "vquic/ackset.h"
#include "vquic/cidmgr.h"
#include "vquic/conn.h"
#include "vquic/dgram.h"
#include "vquic/ecn.h"
#include "vquic/fc.h"
#include "vquic/frame.h"
#include "vquic/packet.h"
#include "vquic/protect.h"
#include "vquic/recovery.h"
#include "vquic/stream.h"
#include "vquic/tls.h"
#include "vquic/tp.h"

#define VQ_ACK_RANGES 64u        /* received pn ranges remembered per space */
#define VQ_ACK_RANGES_SENT 32u   /* ranges put in one ACK frame */
#define VQ_CRYPTO_WINDOW 65536u  /* CRYPTO reassembly bound per level (RFC 9000 §7.5) */
#define VQ_EVENTS_FIRST 16u     /* event queue slots at first; doubles as needed */
#define VQ_EVENTS_MAX 65536u    /* the most queued events (then they are dropped and counted) */
#define VQ_STREAM_BUCKETS 256u
#define VQ_ACK_ELICITING_THRESHOLD 2u /* ack every 2nd ack-eliciting packet (RFC 9000 §13.2.2) */
#define VQ_CLOSE_REASON_MAX 128u

/* What a sent packet carried, for discharge on ACK and re-queue on loss (DESIGN.md principle 4). */
typedef enum vq_sf_kind {
  VQ_SF_NONE = 0,
  VQ_SF_STREAM,        /* id, off, len, fin */
  VQ_SF_CRYPTO,        /* level (in id), off, len */
  VQ_SF_ACK,           /* off = largest pn acknowledged by the ACK frame we sent */
  VQ_SF_MAX_DATA,
  VQ_SF_MAX_STREAM_DATA, /* id */
  VQ_SF_MAX_STREAMS_BIDI,
  VQ_SF_MAX_STREAMS_UNI,
  VQ_SF_RESET_STREAM,  /* id */
  VQ_SF_STOP_SENDING,  /* id */
  VQ_SF_HANDSHAKE_DONE,
  VQ_SF_DATA_BLOCKED,
  VQ_SF_STREAM_DATA_BLOCKED, /* id */
  VQ_SF_STREAMS_BLOCKED_BIDI,
  VQ_SF_STREAMS_BLOCKED_UNI,
  VQ_SF_PING,
  VQ_SF_DATAGRAM,      /* id = the datagram's number (never retransmitted, RFC 9221 §5.2) */
  VQ_SF_NEW_CID,       /* off = sequence number */
  VQ_SF_RETIRE_CID,    /* off = sequence number */
  VQ_SF_PATH_CHALLENGE,/* off = the challenge's data (8 bytes, big-endian) */
  VQ_SF_NEW_TOKEN,
} vq_sf_kind;

typedef struct vq_sent_frame {
  uint8_t kind;
  uint8_t fin;
  uint8_t space;
  uint8_t pad;
  uint32_t len;
  uint32_t next;       /* next record of the same packet, UINT32_MAX at the end / free list link */
  uint64_t id;
  uint64_t off;
} vq_sent_frame;
#define VQ_SF_NIL UINT32_MAX

typedef struct vq_stream {
  uint64_t id;
  struct vq_stream *hnext;        /* hash chain */
  struct vq_stream *prev, *next;  /* all streams */
  struct vq_stream *qnext;        /* send queue */
  int in_sendq;
  int local;                      /* locally initiated */
  int can_send, can_recv;
  vq_sendbuf sb;
  vq_recvbuf rb;
  vq_fc_tx fc_tx;                 /* the peer's MAX_STREAM_DATA */
  vq_fc_rx fc_rx;                 /* ours */
  vq_send_state ss;
  vq_recv_state rs;
  /* pending control frames */
  int reset_pending, reset_sent, reset_acked;
  uint64_t reset_code, reset_final;
  int stop_pending, stop_sent;
  uint64_t stop_code;
  int msd_pending;                /* MAX_STREAM_DATA to send */
  int sdb_pending;                /* STREAM_DATA_BLOCKED to send */
  int peer_reset;                 /* RESET_STREAM received */
  uint64_t peer_reset_code;
  int peer_reset_told;
  int readable_ev, writable_want;
  int recv_fin_read;
} vq_stream;

typedef struct vq_space {
  vq_ackset recv;                 /* pns received, to acknowledge */
  vq_ackset_range recv_s[VQ_ACK_RANGES];
  uint64_t floor;                 /* pns below this were forgotten: treated as duplicates */
  int64_t largest_recv;           /* -1: none */
  vq_time largest_recv_time;
  uint32_t unacked_eliciting;     /* ack-eliciting packets received since our last ACK */
  int ack_pending;                /* an ACK should be sent (anything new received) */
  vq_time ack_deadline;           /* send an ACK by then; VQ_TIME_NEVER */
  uint64_t next_pn;
  int discarded;
  uint32_t probes;                /* PTO probes still to send */
  /* PTO probes that resend data in flight (RFC 9002 §6.2.4) go through the oldest packets in flight
   * in pn order: the probes of one PTO resend different packets; each PTO starts from the oldest */
  uint64_t probe_cursor;          /* the last packet whose frames a probe resent (when _set) */
  int probe_cursor_set;
  /* CRYPTO stream of the level of this space */
  vq_sendbuf crypto_tx;
  vq_recvbuf crypto_rx;
  vq_pp_key tx, rx;
} vq_space;

struct vq_conn {
  vq_mem mem;
  vq_conn_config cfg;
  int is_server;
  uint32_t version;
  vq_conn_state state;

  vq_cid scid;                    /* ours */
  vq_cid dcid;                    /* the peer's */
  vq_cid odcid;                   /* the client's first DCID */
  vq_cid peer_initial_scid;       /* SCID of the peer's first long header packet */
  int have_peer_scid;
  uint8_t token[VQ_CONN_TOKEN_MAX]; /* client: token to put in Initials (Retry / NEW_TOKEN) */
  size_t token_len;
  uint32_t token_version;         /* client: the QUIC version token belongs to (RFC 9369 §5) */
  /* NEW_TOKEN (RFC 9000 §8.1.3, §19.7): server: the token to send; client: the newest received */
  uint8_t new_token[VQ_CONN_TOKEN_MAX];
  size_t new_token_len;
  int new_token_pending;          /* server: NEW_TOKEN to send (again) */
  int new_token_acked;            /* server: acknowledged: no repair needed */
  uint8_t reset_token[16];        /* ours (server), sent in the transport parameters */
  int has_reset_token;
  int retry_received;             /* client: a Retry was accepted (RFC 9000 §17.2.5.2); server: it
                                     sent one and the client came back with its token */
  vq_cid retry_scid;              /* the Retry's Source Connection ID */

  vq_tls *tls;
  int hs_complete, hs_confirmed, hs_event_sent;
  int peer_tp_done;
  vq_tp peer_tp;
  uint64_t peer_ack_delay_exp;
  int handshake_done_pending;     /* server: HANDSHAKE_DONE to send */
  int handshake_done_sent;        /* server: it was sent (at least once) */
  int peer_addr_validated;        /* client: the server validated our address (RFC 9002 A.6) */
  int addr_validated;             /* server: the client's address is validated (RFC 9000 §8.1) */
  uint64_t bytes_recv_unvalidated, bytes_sent_unvalidated;
  int sent_handshake;             /* client: sent a Handshake packet (Initial keys discarded) */
  /* Key update (RFC 9001 §6): the 1-RTT keys of each direction have a generation; the Key Phase bit
   * is its low bit. sp[VQ_SPACE_APP].rx holds generation rx_gen, .tx generation tx_gen; tx_gen is
   * rx_gen or rx_gen + 1 (we updated, the peer has not answered yet). */
  uint64_t rx_gen, tx_gen;
  vq_pp_key app_rx_next;          /* read keys of rx_gen + 1, made in advance (RFC 9001 §6.3) */
  vq_pp_key app_rx_prev;          /* read keys of rx_gen - 1, kept until app_rx_prev_until (§6.5) */
  vq_time app_rx_prev_until;
  int64_t rx_cur_min_pn, rx_cur_max_pn; /* pns received under rx_gen (-1: none yet) */
  int64_t rx_prev_max_pn;         /* largest pn received under rx_gen - 1 (-1: none) */
  uint64_t tx_first_pn[2];        /* [g & 1]: first pn sent under generation g (tx_gen, tx_gen - 1) */
  int tx_gen_acked;               /* a packet of tx_gen was acknowledged (§6.1/2) */
  vq_time ku_acked_at;            /* when (for the 3 PTO wait of §6.5) */
  int ku_ack_owed;                /* the peer's keys changed (rx_gen): no ACK sent under the new keys yet */
  uint64_t cur_rx_gen;            /* generation of the packet being processed */
  uint64_t tx_key_pkts;           /* packets protected with the current 1-RTT write key (§6.6) */
  uint64_t auth_failures;         /* received packets that failed authentication, all keys (§6.6) */
  int ku_ping_wanted;             /* an update is due but nothing of the current phase was
                                     acknowledged: make the next 1-RTT packet ack-eliciting */
  vq_time ku_ping_last;

  vq_space sp[VQ_SPACE_COUNT];
  vq_recovery rec;
  vq_sent_frame *sf;              /* sent-frame records */
  uint32_t sf_cap, sf_free, sf_used;
  uint32_t cur_first, cur_last;   /* records of the packet being built */

  /* flow control */
  vq_fc_tx fc_tx;                 /* the peer's MAX_DATA */
  vq_fc_rx fc_rx;                 /* ours */
  int max_data_pending, data_blocked_pending;
  uint64_t local_max_streams[2];  /* [0] bidi, [1] uni: what we advertised */
  uint64_t peer_opened[2];        /* streams the peer opened (count) */
  uint64_t peer_closed[2];        /* of those, freed */
  int max_streams_pending[2];
  uint64_t peer_max_streams[2];   /* the peer's limit for us */
  uint64_t local_opened[2];
  int streams_blocked_pending[2];
  int streams_blocked_want[2];

  /* streams */
  vq_stream *buckets[VQ_STREAM_BUCKETS];
  vq_stream *streams;             /* list of all */
  vq_stream *sendq_head, *sendq_tail;
  uint64_t nstreams;
  uint64_t writers_waiting;       /* streams with writable_want set */
  uint64_t send_buffered;         /* application bytes held by all stream send buffers */
  uint64_t send_cap;              /* the most they may hold together (a quarter of the budget) */

  /* events */
  vq_conn_event *ev;              /* ring of ev_cap */
  uint32_t ev_head, ev_count, ev_cap;
  uint64_t ev_dropped;

  /* timers */
  vq_time idle_deadline;
  vq_time idle_timeout;           /* negotiated */
  vq_time close_deadline;         /* closing / draining ends */
  vq_time pace_until;             /* data waits for the pacer until then */
  int ack_eliciting_sent_since_recv;

  /* close */
  int close_pending;              /* CONNECTION_CLOSE to (re)send */
  int close_app;
  uint64_t close_code;
  uint64_t close_frame_type;
  char close_reason[VQ_CLOSE_REASON_MAX];
  int closed_by_peer;
  uint32_t close_sends;           /* closes sent in the closing state (rate limit) */
  uint32_t close_recv_since;
  uint64_t close_bytes_recv;      /* bytes received in the closing state, and sent in answer to */
  uint64_t close_bytes_sent;      /* them (at most three times as many, RFC 9000 §10.2.1) */

  vq_conn_stats stats;
  int drop_packet;                /* a frame of the packet being processed could not be held: the
                                     packet is dropped unacknowledged (not an error) */
  uint64_t path_response_pending;
  uint8_t path_response_data[8];
  uint64_t max_udp_payload;       /* what we put in a datagram: the path's maximum datagram size */
  /* DPLPMTUD (RFC 9000 §14.3, RFC 8899; pmtu.c): probes of larger sizes on the current path */
  uint64_t pmtu_ceiling;          /* the largest size searched: config, peer's TP, driver's buffer */
  uint64_t pmtu_fail;             /* the smallest size whose probes were lost (search's bound) */
  uint64_t pmtu_probe_size;       /* size of the probe in flight, 0: none */
  uint64_t pmtu_probe_pn;         /* its packet number */
  uint32_t pmtu_probe_losses;     /* probes of the next size lost in a row */
  int pmtu_building;              /* the packet being built is a probe */
  vq_time pmtu_next;              /* the next probe may go then (VQ_TIME_NEVER: none) */
  vq_time pmtu_wake;              /* vq_conn_next_timeout wakes then for it */
  uint32_t pmtu_bh_lost;          /* packets above 1200 bytes lost since one was acknowledged */
  int pmtu_bh_small_acked;        /* an ack-eliciting packet of <= 1200 bytes was acknowledged since */
  int pmtu_confirm;               /* a black hole is suspected: a probe of the current size decides */
  int pmtu_probe_confirm;         /* the probe in flight is that one */

  /* version negotiation (RFC 9368; conn_version.c) */
  uint32_t avail[VQ_CONN_MAX_VERSIONS]; /* ours, best first (Available Versions) */
  size_t n_avail;
  int server_prefers;             /* server: cfg.versions was given (compatible negotiation) */
  uint32_t orig_version;          /* the version of the client's first flight (Original Version) */
  vq_cid initial_dcid;            /* the DCID the Initial keys derive from */
  vq_pp_key initial_rx_orig;      /* server: Initial read keys of the original version, kept until
                                     a Handshake packet arrives (RFC 9369 §4.1) */
  int vn_reacted;                 /* client: this attempt answers a Version Negotiation packet */
  /* DATAGRAM (RFC 9221): queues from the connection's budget when cfg.max_datagram_frame_size > 0 */
  int dg_on;
  vq_dgram dg;
  uint8_t *dg_mem;                /* both queues' bytes and lengths, one allocation */
  size_t dg_mem_len;
  uint64_t dg_written;            /* DATAGRAM frames written */
  int dg_ev_pending;              /* a VQ_CONN_EV_DATAGRAM is queued and not yet polled */

  /* ECN (RFC 9000 §13.4): the one path's validation and the receive counts */
  vq_ecn ecn;
  uint8_t rx_ecn;                 /* codepoint of the datagram being processed */
  uint8_t tx_ecn;                 /* codepoint of the datagram being built */
  uint64_t ack_newly_ect0;        /* while an ACK is processed: ECT(0) packets it newly acknowledged */
  int ack_newly_any;
  vq_time ack_newly_time;         /* send time of the largest of them */
  uint64_t ack_newly_pn;
  /* connection IDs (RFC 9000 §5.1; conn_path.c) */
  vq_cidmgr cids;
  vq_cidmgr_entry cid_peer[VQ_CONN_PEER_CID_LIMIT];
  vq_cidmgr_retire cid_retire[2 * VQ_CONN_PEER_CID_LIMIT];
  vq_cidmgr_entry cid_local[VQ_CONN_MAX_LOCAL_CIDS];
  uint8_t cid_key[32];            /* stateless reset tokens of the CIDs we issue */
  int have_cid_key;
  uint64_t cid_gen;               /* changes with our set of active CIDs (endpoint routing) */
  vq_cid rx_dcid;                 /* Destination CID of the packet being processed */

  /* paths (RFC 9000 §8.2, §9; conn_path.c) */
  uint8_t peer_addr[VQ_ADDR_MAX]; /* where we send (the driver's format) */
  size_t peer_addr_len;
  int have_peer_addr;
  uint8_t prev_addr[VQ_ADDR_MAX]; /* the last validated address, to fall back to (§9.3.2) */
  size_t prev_addr_len;
  int have_prev_addr;
  int path_unvalidated;           /* the current path awaits validation: 3x limit (§9.3, §8.2) */
  uint64_t path_recv, path_sent;  /* bytes on the unvalidated path */
  int path_challenge_pending;     /* a PATH_CHALLENGE to send */
  int path_validating;            /* a PATH_CHALLENGE is outstanding */
  uint8_t path_challenge_data[8];
  vq_time path_deadline;          /* the validation fails then */
  vq_time path_resend_at;         /* a PATH_CHALLENGE again then (its answer may be lost) */
  uint32_t path_resends;          /* challenges sent again by that timer (its backoff exponent) */
  vq_time path_interval;          /* the timer's last period */
  int path_pad;                   /* the packet being built carries PATH_CHALLENGE/RESPONSE */
  int path_mtu_unshown;           /* a PATH_CHALLENGE/RESPONSE went in a datagram the
                                   * anti-amplification limit kept below 1200 bytes */
  int ping_pending;               /* a PING to send (makes a migration probe non-probing) */
  uint8_t probe_addr[VQ_ADDR_MAX];/* a PATH_CHALLENGE that came from another address (a probe): */
  size_t probe_addr_len;          /* answered if the connection moves there (§8.2.2/3) */
  uint8_t probe_data[8];
  int have_probe;
  int rx_other_addr;              /* the datagram being processed came from another address */
  int rx_non_probing;             /* ... and held a non-probing frame in a new largest packet */
  int rx_pkt_non_probing;         /* the packet being processed held a non-probing frame */
  /* the server's preferred address (RFC 9000 §9.6; conn_path.c) */
  int has_pa;                     /* server: advertised; client: received and mapped */
  vq_tp_preferred_address pa;     /* server: what goes in our parameters (with the seq-1 CID) */
  int pa_state;                   /* client: VQ_PA_* */
  uint8_t pa_addr[VQ_ADDR_MAX];   /* client: the preferred address (driver format) */
  size_t pa_addr_len;
  vq_cid pa_cid;                  /* client: the CID of sequence 1, for the probes */
  uint8_t pa_data[8];             /* client: the probe's PATH_CHALLENGE data */
  int pa_probe_pending;           /* client: a probe datagram to send */
  int pa_building;                /* the packet being built is a probe: VQ_BUILD_* */
  vq_time pa_deadline;            /* client: the probe fails then */
  vq_time pa_resend_at;           /* client: a new probe then (a PATH_RESPONSE may be lost) */
  uint32_t pa_resends;            /* probes sent again by the timer (its backoff exponent) */
  vq_time pa_interval;            /* the timer's last period (each one at least twice the last) */
  uint8_t orig_addr[VQ_ADDR_MAX]; /* client: the server's address of the handshake */
  size_t orig_addr_len;
  /* probing a path without moving (RFC 9000 §9.1; conn_path.c, vq_conn_probe_path) */
  int pp_state;                   /* client: VQ_PROBE_* */
  uint8_t pp_local[VQ_ADDR_MAX];  /* client: the local address to probe from (0 bytes: the current) */
  size_t pp_local_len;
  uint8_t pp_remote[VQ_ADDR_MAX]; /* client: the peer address probed (0 bytes: the current) */
  size_t pp_remote_len;
  vq_cid pp_cid;                  /* client: the unused peer CID of the probe path (path 1, §9.5) */
  uint8_t pp_data[8];             /* client: its PATH_CHALLENGE data */
  int pp_pending;                 /* client: a probe datagram to send */
  vq_time pp_deadline, pp_resend_at;
  uint32_t pp_resends;            /* its timer's backoff exponent and last period (probe_backoff) */
  vq_time pp_interval;
  /* the answer to a probe (a PATH_CHALLENGE from another address), sent on the probe's path */
  int pr_pending;
  uint8_t pr_data[8];
  uint8_t pr_addr[VQ_ADDR_MAX];
  size_t pr_addr_len;
  vq_cid pr_cid;                  /* an unused peer CID for that address (path 1, §9.5/3) */
  int pr_cid_set;
  uint64_t pr_budget;             /* bytes it may carry: three times those received (§8/1) */
  int pr_from_pa;                 /* server: it goes from the preferred address (probe came there) */
  int pr_via_pa;                  /* server: it goes from the preferred address, the probe having
                                     come there from another address than the client's */
  /* server, preferred address (RFC 9000 §9.6.2): the driver's address of it (cfg.preferred_local),
   * the datagram being processed arrived there, a non-probing packet arrived there; pa_state,
   * pa_data, pa_cid, pa_probe_pending, pa_deadline, pa_resend_at hold its own validation of the path
   * from there (VQ_PA_MOVED: validated) */
  uint8_t spa_local[VQ_ADDR_MAX];
  size_t spa_local_len;
  int rx_at_pa;
  int rx_dgram_non_probing;       /* the datagram being processed held a non-probing packet */
  int spa_nonprobe;
  int spa_moved;                  /* server: its packets leave from the preferred address */
  /* 0-RTT (RFC 9000 §7.4.1, §17.2.3; RFC 9001 §4.6) */
  vq_early_data early_state;
  vq_pp_key early_tx;             /* client: 0-RTT write keys until the 1-RTT keys (or a rejection) */
  vq_pp_key early_rx;             /* server: 0-RTT read keys when it accepted 0-RTT */
  vq_tp early_tp;                 /* client: the server's remembered transport parameters */
  int early_tp_set;
  vq_time early_discard_at;       /* server: when the 0-RTT read keys go (VQ_TIME_NEVER: not set) */
  uint64_t sessions_seen;         /* client: sessions already announced (VQ_CONN_EV_SESSION_TICKET) */
  uint64_t early_pn_end;          /* client, 0-RTT rejected: application pns below were 0-RTT */
};

/* Bytes of a new path's anti-amplification allowance kept for PATH_CHALLENGEs sent again (two small
 * datagrams: header, CID, PATH_CHALLENGE, an ACK, the AEAD tag). */
#define VQ_PATH_CHALLENGE_ROOM 192u

/* What the probe packet being built is (pa_building): a PATH_CHALLENGE to the server's preferred
 * address, a PATH_CHALLENGE on a probed path, a PATH_RESPONSE on the path of a peer's probe. */
enum { VQ_BUILD_NORMAL = 0, VQ_BUILD_PA = 1, VQ_BUILD_PROBE = 2, VQ_BUILD_PROBE_RESPONSE = 3 };

/* The sent packet's handle: the index of its first frame record, and the ECN codepoint above it. */
#define VQ_HANDLE_ECN_SHIFT 32u

/* Whether the application may open streams and write: once established; during the handshake on a
 * client that offered 0-RTT (sent in 0-RTT packets) and on a server that accepted it (so it can
 * answer early requests at once; its data waits for the handshake to complete: no 0.5-RTT data is
 * sent). */
static inline int vq_conn_app_open(const vq_conn *c)
{
  if (c->state == VQ_CONN_ESTABLISHED)
    return 1;
  if (c->state != VQ_CONN_HANDSHAKE)
    return 0;
  return c->is_server ? c->early_state == VQ_EARLY_ACCEPTED : c->early_state != VQ_EARLY_NONE;
}

/* conn.c */
/* The cx an entry point works with: cx, with the connection's own trace sink when it has one. */
const vq_cx *vq_conn_cx(const vq_conn *c, const vq_cx *cx, vq_cx *tmp);
void vq_conn_push_event(vq_conn *c, vq_conn_event_type t, uint64_t stream_id, uint64_t code);
void vq_conn_error(vq_conn *c, const vq_cx *cx, vq_status s, uint64_t frame_type, const char *reason);
/* Closes with a transport error code that has no vq_status (VERSION_NEGOTIATION_ERROR). */
void vq_conn_close_code(vq_conn *c, const vq_cx *cx, uint64_t code, const char *reason);
vq_status vq_conn_local_tp(vq_conn *c, uint8_t *out, size_t cap, size_t *used);
vq_status vq_conn_start_tls(vq_conn *c, const vq_cx *cx);
/* Client: the 0-RTT state of an attempt abandoned by a Version Negotiation restart is forgotten. */
void vq_conn_early_forget(vq_conn *c, const vq_cx *cx);
void vq_conn_streams_early_limits(vq_conn *c);
vq_status vq_conn_pump_tls(vq_conn *c, const vq_cx *cx);
vq_status vq_conn_install_initial(vq_conn *c, const vq_cid *dcid);
void vq_conn_discard_space(vq_conn *c, const vq_cx *cx, int space);
/* conn_version.c */
/* Fills avail / orig_version from the configuration (conn_alloc). */
void vq_conn_version_init(vq_conn *c);
/* Sets version_information in our transport parameters. */
void vq_conn_version_local_tp(const vq_conn *c, vq_tp *tp);
/* Server: the TLS hook, told the client's transport parameters (compatible negotiation). */
void vq_conn_version_tp_hook(void *ud, const uint8_t *tp, size_t len);
/* Validates the peer's version_information (RFC 9368 §4): VQ_OK, or the connection is closed with
 * VERSION_NEGOTIATION_ERROR and VQ_ERR_TP_VALUE returned. */
vq_status vq_conn_version_check_tp(vq_conn *c, const vq_cx *cx);
/* A Version Negotiation packet pkt[0..len) (client: RFC 9000 §6.2). */
void vq_conn_on_version_negotiation(vq_conn *c, const vq_cx *cx, const uint8_t *pkt, size_t len,
                                    const vq_pkt_header *h);
/* The read key for a long header packet of another version than c->version in space, NULL: drop.
 * *alt receives new keys the caller must pass to vq_conn_version_follow once the packet is
 * unprotected (*follow = 1), or discard. */
vq_pp_key *vq_conn_version_rx_key(vq_conn *c, const vq_pkt_header *h, int space, vq_pp_key *alt,
                                  int *follow);
/* Client: the server's Initial of version `version` was unprotected with *alt: switch to it. */
vq_status vq_conn_version_follow(vq_conn *c, const vq_cx *cx, uint32_t version, vq_pp_key *alt);
const char *vq_conn_ecn_state_name(int state);
/* Key update (RFC 9001 §6): whether one may be initiated now; starting one (VQ_ERR_KEY_UPDATE_BLOCKED
 * when not permitted); the confidentiality limit of the current 1-RTT write key. */
int vq_conn_key_update_permitted(const vq_conn *c);
vq_status vq_conn_key_update_now(vq_conn *c, const vq_cx *cx);
uint64_t vq_conn_aead_conf_limit(const vq_conn *c);
/* Before a 1-RTT packet is built: starts the key update the configured period or the
 * confidentiality limit asks for, closes with AEAD_LIMIT_REACHED when the limit comes and no update
 * is possible; 0 when the write key may protect no more packets (RFC 9001 §6.6). */
int vq_conn_app_key_usable(vq_conn *c, const vq_cx *cx);
/* conn_stream.c */
vq_stream *vq_conn_stream_find(vq_conn *c, uint64_t id);
vq_status vq_conn_stream_get_peer(vq_conn *c, uint64_t id, vq_stream **out);
vq_stream *vq_conn_stream_create(vq_conn *c, uint64_t id, int local);
void vq_conn_stream_sendq_add(vq_conn *c, vq_stream *s);
void vq_conn_stream_maybe_free(vq_conn *c, vq_stream *s);
void vq_conn_stream_free_all(vq_conn *c);
/* Tells every stream that wanted to write and now can (VQ_CONN_EV_STREAM_WRITABLE). */
void vq_conn_wake_writers(vq_conn *c);
vq_status vq_conn_on_stream_frame(vq_conn *c, const vq_cx *cx, const vq_frame_stream *f);
vq_status vq_conn_on_reset_stream(vq_conn *c, const vq_frame_reset_stream *f);
vq_status vq_conn_on_stop_sending(vq_conn *c, const vq_frame_stop_sending *f);
vq_status vq_conn_on_max_stream_data(vq_conn *c, const vq_frame_max_stream_data *f);
vq_status vq_conn_on_stream_data_blocked(vq_conn *c, const vq_frame_max_stream_data *f);
vq_status vq_conn_new_server_ecn(vq_conn **out, vq_mem *parent, const vq_conn_config *cfg,
                                 const vq_cx *cx, const vq_cid *scid, const vq_cid *odcid,
                                 const vq_cid *retry_scid, uint8_t *dgram, size_t len, uint8_t ecn);
/* conn_path.c */
vq_status vq_conn_cids_init(vq_conn *c, const vq_cx *cx);
/* The peer's handshake CID (c->dcid) is known: sequence 0 of its table. */
void vq_conn_cids_peer_initial(vq_conn *c);
/* The peer's transport parameters arrived: its active_connection_id_limit, reset token of seq 0. */
void vq_conn_cids_peer_tp(vq_conn *c);
/* Issues CIDs up to the peer's limit once the handshake is complete (RFC 9000 §5.1.1). */
void vq_conn_cids_issue(vq_conn *c, const vq_cx *cx);
vq_status vq_conn_on_new_cid(vq_conn *c, const vq_cx *cx, const vq_frame_new_cid *f);
vq_status vq_conn_on_retire_cid(vq_conn *c, const vq_cx *cx, uint64_t seq);
/* NEW_CONNECTION_ID or RETIRE_CONNECTION_ID frames wait to be sent. */
int vq_conn_cid_frames_pending(const vq_conn *c);
/* RFC 9000 §10.3.1: the datagram ends in the token of a peer CID in use. */
int vq_conn_reset_token_match(const vq_conn *c, const uint8_t *dgram, size_t len);
void vq_conn_on_path_challenge(vq_conn *c, const uint8_t data[8]);
void vq_conn_on_path_response(vq_conn *c, const vq_cx *cx, const uint8_t data[8]);
/* Before / after the packets of a datagram from addr are processed (NAT rebinding, migration). */
int vq_conn_path_before(vq_conn *c, const uint8_t *addr, size_t addr_len, size_t len);
void vq_conn_path_after(vq_conn *c, const vq_cx *cx, const uint8_t *addr, size_t addr_len,
                        size_t len, uint64_t prev_response_pending);
/* Path validation timer (§8.2.4). */
void vq_conn_path_timeout(vq_conn *c, const vq_cx *cx);
void vq_conn_pa_server_init(vq_conn *c, const vq_cx *cx);
void vq_conn_pa_client_tp(vq_conn *c);
void vq_conn_pa_start(vq_conn *c, const vq_cx *cx);
int vq_conn_pa_on_response(vq_conn *c, const vq_cx *cx, const uint8_t data[8]);
void vq_conn_pa_timeout(vq_conn *c, const vq_cx *cx);
void vq_conn_path_resend(vq_conn *c, const vq_cx *cx);
/* Probing without moving (vq_conn_probe_path): a PATH_RESPONSE to our probe (1: it was), the
 * timers, and the probe path given up (a migration or closing). */
int vq_conn_pp_on_response(vq_conn *c, const vq_cx *cx, const uint8_t data[8]);
void vq_conn_pp_timeout(vq_conn *c, const vq_cx *cx);
void vq_conn_pp_abandon(vq_conn *c);
/* conn_send.c */
vq_status vq_conn_build_datagram(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len);
/* DPLPMTUD (pmtu.c) */
void vq_conn_pmtu_init(vq_conn *c);
void vq_conn_pmtu_peer_tp(vq_conn *c, uint64_t peer_max_udp_payload_size);
void vq_conn_pmtu_confirmed(vq_conn *c, vq_time now);
void vq_conn_pmtu_new_path(vq_conn *c, vq_time now);
/* The size of a probe to build now in a datagram of at most driver_cap bytes, 0: none. */
size_t vq_conn_pmtu_probe_due(vq_conn *c, const vq_cx *cx, size_t driver_cap);
void vq_conn_pmtu_probe_sent(vq_conn *c, const vq_cx *cx, uint64_t pn, size_t size);
void vq_conn_pmtu_on_fate(vq_conn *c, const vq_sent_packet *p, vq_pkt_fate fate);
vq_time vq_conn_pmtu_timeout(const vq_conn *c);

void vq_conn_on_packet_fate(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate);
void vq_conn_recovery_state(const vq_conn *c, vq_recovery_state *st);
/* Recovery callback for packets abandoned because 0-RTT was rejected: what they carried is queued
 * again (as for a loss, without counting one). */
void vq_conn_on_packet_requeue(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate);
int vq_conn_has_pending(vq_conn *c, int space, vq_time now);

#endif
