/* vquic — the connection's private state (src/transport/conn*.c only). */
#ifndef VQ_CONN_INTERNAL_H
#define VQ_CONN_INTERNAL_H

#include "vquic/ackset.h"
#include "vquic/conn.h"
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
  uint8_t token[256];             /* client: token to put in Initials (Retry / NEW_TOKEN) */
  size_t token_len;
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
  int peer_addr_validated;        /* client: the server validated our address (RFC 9002 A.6) */
  int addr_validated;             /* server: the client's address is validated (RFC 9000 §8.1) */
  uint64_t bytes_recv_unvalidated, bytes_sent_unvalidated;
  int sent_handshake;             /* client: sent a Handshake packet (Initial keys discarded) */
  uint64_t app_rx_key_phase;      /* key phase of the current 1-RTT read keys */
  uint64_t tx_key_phase;
  vq_pp_key app_rx_next;          /* the next generation's read keys, ready for a peer key update */
  vq_pp_key app_rx_prev;
  vq_time app_rx_prev_until;
  int key_update_allowed;         /* we may update once a packet of the current phase was acked */

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

  vq_conn_stats stats;
  int drop_packet;                /* a frame of the packet being processed could not be held: the
                                     packet is dropped unacknowledged (not an error) */
  uint64_t path_response_pending;
  uint8_t path_response_data[8];
  uint64_t max_udp_payload;       /* what we put in a datagram */

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
/* conn_send.c */
vq_status vq_conn_build_datagram(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len);
void vq_conn_on_packet_fate(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate);
void vq_conn_recovery_state(const vq_conn *c, vq_recovery_state *st);
/* Recovery callback for packets abandoned because 0-RTT was rejected: what they carried is queued
 * again (as for a loss, without counting one). */
void vq_conn_on_packet_requeue(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate);
int vq_conn_has_pending(vq_conn *c, int space, vq_time now);

#endif
