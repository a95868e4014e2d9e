/* vquic — stream data: the send side's obligations, the receive side's reassembly, and the stream state
 * machines of RFC 9000 §3. Used for STREAM frames and, without flow control, for CRYPTO frames.
 *
 * vq_sendbuf holds every byte the application handed over until the peer acknowledges it (DESIGN.md
 * principle 4): bytes are sent once, re-queued when the packet carrying them is lost, and freed when
 * acknowledged; vq_sendbuf_obligations() says what is still owed. vq_recvbuf reassembles out-of-order
 * data within a window the caller bounds (the flow-control limit it advertised, principle 5).
 * Storage comes from the connection's vq_mem in fixed-size chunks; nothing grows without a bound.
 *
 * Offsets are stream offsets (< 2^62). Ranges are [off, off + len). */
#ifndef VQUIC_STREAM_H
#define VQUIC_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"
#include "vquic/rt.h"

/* A bounded set of disjoint byte ranges [lo, hi), kept sorted ascending, with merging. When full, an
 * insert that would need a new range fails with VQ_ERR_BUDGET (the caller decides: close, or drop). */
typedef struct vq_rangeset_item {
  uint64_t lo, hi; /* lo < hi */
} vq_rangeset_item;
typedef struct vq_rangeset {
  vq_rangeset_item *r;
  uint32_t n, cap;
} vq_rangeset;
void vq_rangeset_init(vq_rangeset *s, vq_rangeset_item *storage, uint32_t cap);
vq_status vq_rangeset_add(vq_rangeset *s, uint64_t lo, uint64_t hi);
/* Removes [lo, hi); never removes anything else. A split needs a free slot: when there is none the
 * range is left whole (the set stays a superset of the exact result). */
void vq_rangeset_remove(vq_rangeset *s, uint64_t lo, uint64_t hi);
int vq_rangeset_contains(const vq_rangeset *s, uint64_t lo, uint64_t hi); /* all of [lo,hi) */

#define VQ_STREAMBUF_CHUNK 4096u /* bytes per storage chunk */
#define VQ_STREAMBUF_RANGES 32u  /* ranges tracked per buffer (lost, acked, received) */

/* ---- Send side ------------------------------------------------------------------------------ */

typedef struct vq_sendbuf {
  vq_mem *mem;
  uint64_t limit;          /* max bytes held at once (unacked): the application is told to wait */
  uint64_t base;           /* offset of the first byte still held (all below are acknowledged) */
  uint64_t end;            /* offset after the last byte written by the application */
  uint64_t sent;           /* offset after the highest byte ever sent (new data starts here) */
  int fin;                 /* the application finished the stream: final size = end */
  int fin_sent, fin_acked;
  int fin_lost;            /* a FIN must be sent again */
  vq_rangeset acked;       /* acknowledged ranges above base */
  vq_rangeset lost;        /* ranges to send again, in order */
  vq_rangeset_item acked_s[VQ_STREAMBUF_RANGES];
  vq_rangeset_item lost_s[VQ_STREAMBUF_RANGES];
  uint8_t **chunks;        /* ring of chunk pointers covering [base rounded down, end) */
  uint32_t nchunks, chunk_cap, chunk_head;
  int abandoned;           /* vq_sendbuf_abandon was called: nothing more is sent or owed */
} vq_sendbuf;

void vq_sendbuf_init(vq_sendbuf *b, vq_mem *mem, uint64_t limit);
void vq_sendbuf_free(vq_sendbuf *b);
/* Appends up to len bytes (fewer when limit or memory is reached; *accepted says how many) and, when
 * fin and all were accepted, ends the stream. VQ_ERR_STREAM_STATE after fin. */
vq_status vq_sendbuf_write(vq_sendbuf *b, const uint8_t *data, size_t len, int fin, size_t *accepted);
/* The next range to send, lost data first, then new data: at most max_len bytes starting at *off,
 * *len bytes (possibly 0 with *fin = 1 for a lone FIN). new_data_limit caps new data (flow control:
 * the highest offset the peer allows); retransmissions are not capped. Returns 1 when there is
 * something to send, 0 otherwise. Does not change b. */
int vq_sendbuf_next(const vq_sendbuf *b, size_t max_len, uint64_t new_data_limit, uint64_t *off,
                    size_t *len, int *fin);
/* For a PTO probe (RFC 9002 §6.2.4): the first part of [off, off + len) (plus its FIN when fin) sent
 * before and still unacknowledged, at most max_len bytes: *roff, *rlen (possibly 0 with *rfin = 1 for
 * a FIN alone). Returns 0 when nothing of it is owed any more. Sending it again takes no flow-control
 * credit (it is below sent) and is told with vq_sendbuf_on_sent like any retransmission; the packet
 * that first carried it stays in flight, and whichever ACK comes first discharges the bytes (a late
 * one finds them below base or in acked: counted once). Does not change b. */
int vq_sendbuf_resend(const vq_sendbuf *b, uint64_t off, size_t len, int fin, size_t max_len,
                      uint64_t *roff, size_t *rlen, int *rfin);
/* Copies [off, off + len) into out (the range must be held: off >= base, off + len <= end). */
void vq_sendbuf_copy(const vq_sendbuf *b, uint64_t off, size_t len, uint8_t *out);
/* The range was put in a packet: removes it from lost, advances sent, notes the FIN. */
void vq_sendbuf_on_sent(vq_sendbuf *b, uint64_t off, size_t len, int fin);
/* The packet carrying the range was acknowledged: frees what became contiguous from base. */
void vq_sendbuf_on_acked(vq_sendbuf *b, uint64_t off, size_t len, int fin);
/* The packet carrying the range was lost: what of it is not acknowledged is queued again.
 * Returns VQ_OK: when the lost set is full the range is merged with its nearest lost neighbour (the
 * gap is resent too), so nothing is dropped; callers may still treat VQ_ERR_BUDGET as INTERNAL_ERROR. */
vq_status vq_sendbuf_on_lost(vq_sendbuf *b, uint64_t off, size_t len, int fin);
/* Bytes written by the application and not yet acknowledged (+1 for an unacked FIN). 0 = all done. */
uint64_t vq_sendbuf_obligations(const vq_sendbuf *b);
/* 1 when every byte and the FIN are acknowledged (the "Data Recvd" state, RFC 9000 §3.1). */
int vq_sendbuf_done(const vq_sendbuf *b);
/* Abandons everything (RESET_STREAM sent): frees the data; obligations become 0, done() stays 0, write
 * is refused and later on_* calls are ignored. b->sent (highest offset sent) is the RESET_STREAM final size. */
void vq_sendbuf_abandon(vq_sendbuf *b);
/* Everything held becomes unsent again (sent = base; lost and FIN state cleared) when nothing above
 * base was acknowledged: the packets that carried it are known never to have been processed (0-RTT
 * rejected, RFC 9001 §4.6.2). Otherwise the unacknowledged part is re-queued as lost. */
void vq_sendbuf_rewind(vq_sendbuf *b);

/* ---- Receive side --------------------------------------------------------------------------- */

typedef struct vq_recvbuf {
  vq_mem *mem;
  uint64_t read;           /* offset of the next byte the application reads */
  uint64_t window;         /* bytes beyond `read` that may be buffered (caller's bound) */
  uint64_t final_size;     /* UINT64_MAX until known */
  uint64_t highest;        /* the highest offset received (+1) */
  vq_rangeset have;        /* received ranges at or above `read` */
  vq_rangeset_item have_s[VQ_STREAMBUF_RANGES];
  uint8_t **chunks;        /* ring of chunk pointers covering [read rounded down, read + window) */
  uint32_t chunk_cap, chunk_head;
} vq_recvbuf;

void vq_recvbuf_init(vq_recvbuf *b, vq_mem *mem, uint64_t window);
void vq_recvbuf_free(vq_recvbuf *b);
/* Stores [off, off + len) (parts already read or held are ignored, RFC 9000 §2.2). fin: off + len is
 * the final size. Errors, nothing stored: VQ_ERR_FINAL_SIZE (RFC 9000 §4.5: data beyond a known final
 * size, a different final size, or a final size below data received), VQ_ERR_FLOW_CONTROL (beyond
 * read + window), VQ_ERR_BUDGET/VQ_ERR_NOMEM (too fragmented or memory budget). */
vq_status vq_recvbuf_insert(vq_recvbuf *b, uint64_t off, const uint8_t *data, size_t len, int fin);
/* 1 when vq_recvbuf_insert would find a range slot for [off, end): nothing new in it, it touches a
 * range held, or a slot is free. The last free slot is kept for data at the read offset: with every
 * other slot taken by islands above a hole, the hole still fills from its start (deliverable at once,
 * so the application frees the slot by reading), however the peer splits its retransmissions. */
int vq_recvbuf_can_hold(const vq_recvbuf *b, uint64_t off, uint64_t end);
/* Reads contiguous bytes at `read` into out (up to cap). *fin = 1 when the final byte was read
 * (or the stream is empty and finished). */
size_t vq_recvbuf_read(vq_recvbuf *b, uint8_t *out, size_t cap, int *fin);
/* Contiguous bytes readable now. */
uint64_t vq_recvbuf_readable(const vq_recvbuf *b);
/* Grows the window (after the application consumed data and MAX_STREAM_DATA went out). */
void vq_recvbuf_set_window(vq_recvbuf *b, uint64_t window);
/* RESET_STREAM with final_size: checks it (VQ_ERR_FINAL_SIZE; VQ_ERR_FLOW_CONTROL beyond read + window)
 * and frees buffered data; everything up to the final size then counts as read (read == final_size,
 * vq_recvbuf_read returns 0 bytes with *fin = 1; the receive state machine says it was a reset). */
vq_status vq_recvbuf_reset(vq_recvbuf *b, uint64_t final_size);

/* ---- Stream states (RFC 9000 §3.1, §3.2) ---------------------------------------------------- */

typedef enum vq_send_state {
  VQ_SEND_READY = 0, VQ_SEND_SEND, VQ_SEND_DATA_SENT, VQ_SEND_DATA_RECVD, VQ_SEND_RESET_SENT,
  VQ_SEND_RESET_RECVD
} vq_send_state;
typedef enum vq_send_event {
  VQ_SEV_SEND_STREAM = 0,   /* a STREAM or STREAM_DATA_BLOCKED frame was sent */
  VQ_SEV_SEND_FIN,          /* a STREAM frame with FIN was sent */
  VQ_SEV_ALL_ACKED,         /* every byte and the FIN acknowledged */
  VQ_SEV_RESET,             /* the application resets, or STOP_SENDING was received: RESET_STREAM */
  VQ_SEV_RESET_ACKED,       /* the RESET_STREAM was acknowledged */
} vq_send_event;
typedef enum vq_recv_state {
  VQ_RECV_RECV = 0, VQ_RECV_SIZE_KNOWN, VQ_RECV_DATA_RECVD, VQ_RECV_DATA_READ, VQ_RECV_RESET_RECVD,
  VQ_RECV_RESET_READ
} vq_recv_state;
typedef enum vq_recv_event {
  VQ_REV_STREAM = 0,        /* STREAM / STREAM_DATA_BLOCKED received */
  VQ_REV_FIN,               /* STREAM with FIN received (final size known) */
  VQ_REV_ALL_RECEIVED,      /* every byte up to the final size received */
  VQ_REV_ALL_READ,          /* the application read everything */
  VQ_REV_RESET,             /* RESET_STREAM received */
  VQ_REV_RESET_READ,        /* the application was told of the reset */
} vq_recv_event;
/* Transitions per the diagrams of §3.1 and §3.2: *next is the new state. An event that the diagram
 * does not allow in a state is VQ_ERR_STREAM_STATE (state unchanged); events that do not change the
 * state (data in Recv, an ACK after Data Recvd, ...) return VQ_OK with *next == s. */
vq_status vq_send_state_next(vq_send_state s, vq_send_event e, vq_send_state *next);
vq_status vq_recv_state_next(vq_recv_state s, vq_recv_event e, vq_recv_state *next);

#endif
