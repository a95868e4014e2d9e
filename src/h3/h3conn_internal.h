/* vquic — HTTP/3 session internals shared by src/h3/h3conn*.c (not installed). */
#ifndef VQUIC_H3CONN_INTERNAL_H
#define VQUIC_H3CONN_INTERNAL_H

#include "vquic/h3conn.h"
#include "vquic/h3frame.h"

/* A byte queue: p[head .. head + len) in a buffer of cap bytes from the session's vq_mem. */
typedef struct h3_qbuf {
  uint8_t *p;
  size_t head, len, cap;
} h3_qbuf;

typedef enum h3_kind {
  H3K_REQ = 0,        /* a request stream */
  H3K_UNI_PENDING,    /* a peer's unidirectional stream whose type has not arrived */
  H3K_CTRL,           /* the peer's control stream */
  H3K_QENC,           /* the peer's QPACK encoder stream */
  H3K_QDEC,           /* the peer's QPACK decoder stream */
  H3K_IGNORED,        /* a peer's stream of unknown or reserved type: discarded */
  H3K_LOCAL_UNI,      /* one of our control / QPACK streams (send only) */
} h3_kind;

typedef struct h3_stream {
  struct h3_stream *next;
  uint64_t id;
  void *ud;
  uint8_t kind;
  uint8_t opened;         /* local uni streams: the transport gave an ID */
  /* receive side */
  uint8_t tb[8], tlen;    /* unidirectional stream type bytes */
  uint8_t hb[16], hlen;   /* frame header bytes */
  uint8_t in_frame;
  vq_h3_frame_hdr fh;
  uint64_t left;          /* payload bytes of the current frame still to come */
  uint8_t *fbuf;          /* a buffered frame's payload (fh.length bytes) */
  size_t flen;
  vq_h3_msg msg;
  vq_h3_ctrl ctrl;
  uint8_t rx_done;        /* nothing more is read: fin handled, reset, or aborted */
  uint8_t blocked;        /* a header section waits for QPACK inserts */
  uint8_t fin_held;       /* fin arrived while blocked */
  h3_qbuf held;           /* input that arrived while blocked */
  uint8_t app_known;      /* the application has heard of the stream */
  uint8_t no_body;        /* response to HEAD, or 204 / 304: content-length is not checked */
  uint8_t connect;        /* the request is a CONNECT (or extended CONNECT, RFC 9220) */
  uint8_t tunnel;         /* a 2xx response to the CONNECT was sent (server) or received (client):
                           * only DATA (and unknown or reserved frames) from now on, both ways */
  int64_t clen;           /* content-length, -1 if absent */
  uint64_t dlen;          /* DATA payload bytes received */
  /* send side */
  h3_qbuf tx;
  uint8_t tx_fin;         /* fin queued after tx */
  uint8_t tx_done;        /* fin written, or the stream reset */
  uint8_t tx_head;        /* the (final) header section was queued */
  uint8_t tx_body;        /* body may be sent */
  uint8_t want_writable;  /* the application was refused: tell it when the queue drains */
  uint8_t dead;           /* aborted: freed at the end of the outermost call */
  /* client, RFC 8470: the request went in 0-RTT; while early_keep, a copy of what was sent (its
   * field lines, serialized, and its body) is kept to send it again after a 425 (Too Early) */
  uint8_t early_sent;
  uint8_t early_keep;
  uint8_t retry_pending;  /* a 425 came before the handshake completed: resent by on_handshake_done */
  uint8_t early_has_body; /* the request was made with has_body */
  uint8_t early_fin;      /* the whole request (body and FIN) is in the copy */
  h3_qbuf early_fields;   /* n, then per line: name_len, name, value_len, value, never_indexed */
  h3_qbuf early_body;
} h3_stream;

/* Peer-initiated stream IDs of one type: next unseen and the skipped ones not yet seen. */
typedef struct h3_idtrack {
  uint64_t next;
  uint64_t *gaps;
  size_t ngaps, cap;
} h3_idtrack;

struct vq_h3 {
  vq_mem *mem;
  vq_h3_config cfg;
  vq_h3_transport tr;
  vq_h3_callbacks cb;
  const vq_cx *cx;          /* the cx of the call in progress */
  h3_stream *streams;
  h3_stream *ctrl_tx, *qenc_tx, *qdec_tx;
  h3_stream *ctrl_rx, *qenc_rx, *qdec_rx;
  vq_h3_settings peer;
  int peer_settings;
  vq_h3_settings remembered; /* client, 0-RTT: the server's settings stored with the session */
  int remembered_used;       /* vq_h3_remember_settings: sent under them until the server's SETTINGS */
  vq_qpack_decoder dec;
  void *dec_mem;             /* NULL while dec is the empty decoder in dec_small (h3_decoder_full) */
  size_t dec_mem_len;
  uint64_t dec_small[8];     /* storage of the capacity-0 decoder used until the peer needs the table */
  vq_qpack_encoder enc;
  void *enc_mem;
  size_t enc_mem_len;
  int enc_deferred;          /* the peer's SETTINGS allow a table: sized at the first section encoded */
  uint64_t enc_cap, enc_peer_cap, enc_peer_blocked; /* ... with these (h3_encoder_full) */
  vq_qpack_field *out_fields;
  size_t max_fields;
  uint8_t *out_buf;
  size_t out_cap;
  h3_idtrack bidi, uni;
  int started, closed;
  uint64_t close_code;
  int depth;
  size_t nreq;
  int goaway_sent, goaway_rcvd, max_push_rcvd;
  uint64_t goaway_sent_id, goaway_rcvd_id, max_push_id;
  uint64_t blocked_total;
  uint64_t body_queued;     /* body bytes copied into a stream's send queue (vq_h3_send_body) */
  uint64_t body_direct;     /* body bytes handed to the transport straight from the caller */
  uint64_t early_requests, early_rejected, early_retried; /* RFC 8470 (vq_h3_stats) */
};

/* ---- shared by h3conn.c and h3conn_rx.c ---- */
vq_status h3_qbuf_reserve(vq_mem *m, h3_qbuf *q, size_t extra);
vq_status h3_qbuf_append(vq_mem *m, h3_qbuf *q, const uint8_t *d, size_t n);
void h3_qbuf_consume(h3_qbuf *q, size_t n);
void h3_qbuf_free(vq_mem *m, h3_qbuf *q);
h3_stream *h3_find(const vq_h3 *h3, uint64_t id);
h3_stream *h3_stream_new(vq_h3 *h3, uint64_t id, h3_kind kind);
/* Closes the connection (once) with the status's application error; returns st. */
/* The QPACK decoder and encoder are sized when first needed (an idle connection holds neither table):
 * h3_decoder_full before encoder-stream input or a section that refers to the dynamic table,
 * h3_encoder_full before a section is encoded or decoder-stream input is read. */
vq_status h3_decoder_full(vq_h3 *h3);
vq_status h3_encoder_full(vq_h3 *h3);
vq_status h3_conn_error(vq_h3 *h3, vq_status st);
/* A stream error: stops reading and resets sending with code; tells the application (on_reset) when
 * notify and it knows the stream. */
void h3_stream_abort(vq_h3 *h3, h3_stream *s, uint64_t code, int notify);
/* QPACK Stream Cancellation for a stream we stop reading (RFC 9204 §4.4.2); drops held input. */
void h3_qpack_cancel(vq_h3 *h3, h3_stream *s);
/* Writes what the stream has queued. */
void h3_flush(vq_h3 *h3, h3_stream *s);
/* Appends bytes to one of our unidirectional streams and flushes it. */
vq_status h3_uni_send(vq_h3 *h3, h3_stream *s, const uint8_t *d, size_t n);
/* The peer's SETTINGS arrived: configure the encoder for it. */
vq_status h3_on_peer_settings(vq_h3 *h3, const vq_h3_settings *ps);
/* RFC 8470: whether the transport says we are before the end of the handshake (0-RTT). */
int h3_early(const vq_h3 *h3);
/* RFC 9110 §9.2.1: GET, HEAD, OPTIONS, TRACE. */
int h3_method_safe(const uint8_t *p, size_t n);
/* Client: forgets the copy of a request sent in 0-RTT (no retry by the session any more). */
void h3_early_drop(vq_h3 *h3, h3_stream *s);
/* Server: answers the request on s with a 425 (Too Early) the application never hears of, and stops
 * reading the rest of it (RFC 9114 §4.1: H3_NO_ERROR, the response is complete). */
void h3_too_early(vq_h3 *h3, h3_stream *s);
/* Client: a 425 (Too Early) final response arrived on s, a request sent in 0-RTT whose copy is kept:
 * 1 when the session takes care of it (sent again now, or once the handshake completed), 0 when the
 * response is to be handed over as it is. */
int h3_early_retry(vq_h3 *h3, h3_stream *s);
/* Read side entry points (h3conn_rx.c). */
vq_status h3_rx(vq_h3 *h3, uint64_t id, const uint8_t *data, size_t len, int fin);
vq_status h3_rx_reset(vq_h3 *h3, uint64_t id, uint64_t code);

#endif
