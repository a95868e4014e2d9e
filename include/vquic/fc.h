/* vquic — flow-control accounting (RFC 9000 §4), proved with WP + Eva.
 *
 * One vq_fc_tx per limit the peer gives us (the connection's MAX_DATA, each stream's MAX_STREAM_DATA):
 * the sender never goes past it. One vq_fc_rx per limit we give the peer: data beyond it is a
 * FLOW_CONTROL_ERROR, a stream's final size is checked (FINAL_SIZE_ERROR), and the window is raised as
 * the application reads, growing with the measured rate (auto-tuning) up to a configured ceiling.
 * The invariants (vq_fc_tx_ok, vq_fc_rx_ok in src/transport/fc_acsl.h) hold after every call: every
 * function that can fail leaves the state unchanged when it does. */
#ifndef VQUIC_FC_H
#define VQUIC_FC_H

#include <stdint.h>
#include "vquic/error.h"
#include "vquic/rt.h"

/* --- sending: the peer's limit --- */
typedef struct vq_fc_tx {
  uint64_t limit;       /* the highest limit the peer has given (initial value or MAX_*DATA) */
  uint64_t sent;        /* bytes sent against it (for a stream: the highest offset sent) */
  uint64_t blocked_at;  /* the limit at which *_BLOCKED was last signalled; UINT64_MAX if never */
} vq_fc_tx;

void vq_fc_tx_init(vq_fc_tx *fc, uint64_t initial_limit);
/* Bytes that may be sent now: limit - sent. */
uint64_t vq_fc_tx_credit(const vq_fc_tx *fc);
/* Accounts n bytes as sent. VQ_ERR_FLOW_CONTROL (nothing changed) if n exceeds the credit: the caller
 * must never send past the limit (RFC 9000 §4.1). */
vq_status vq_fc_tx_consume(vq_fc_tx *fc, uint64_t n);
/* A MAX_DATA / MAX_STREAM_DATA value arrived. Returns 1 if it raised the limit; a value that does not
 * increase it is ignored (§4.1, §19.9, §19.10). Values above 2^62-1 cannot come off the wire. */
int vq_fc_tx_update(vq_fc_tx *fc, uint64_t new_limit);
/* Whether a DATA_BLOCKED / STREAM_DATA_BLOCKED frame should be sent now (§4.1, §19.12): the credit is
 * spent and it was not yet signalled for this limit. Records the signal; the frame carries fc->limit. */
int vq_fc_tx_take_blocked(vq_fc_tx *fc);

/* --- receiving: our limit --- */
typedef struct vq_fc_rx {
  uint64_t limit;       /* the limit we advertised */
  uint64_t received;    /* stream: highest offset received; connection: sum over streams */
  uint64_t consumed;    /* bytes the application has read (their buffer space is free again) */
  uint64_t window;      /* the current window: a new limit is consumed + window */
  uint64_t max_window;  /* the ceiling auto-tuning may grow the window to */
  vq_time last_raise;   /* when the limit was last raised, if raised */
  int raised;           /* whether the limit was raised since init */
  uint64_t final_size;  /* stream only: the final size, when final_known */
  int final_known;
} vq_fc_rx;

/* window <= max_window <= 2^62-1; the advertised limit starts at window. */
void vq_fc_rx_init(vq_fc_rx *fc, uint64_t window, uint64_t max_window);
/* Stream data [.., end) arrived, with FIN when fin (STREAM frame), or a RESET_STREAM with final size
 * end (fin = 1). On success *grown is how much `received` grew (to charge to the connection).
 * VQ_ERR_FINAL_SIZE when it contradicts a known final size or ends below what was received with a
 * FIN (§4.5); VQ_ERR_FLOW_CONTROL when end exceeds the limit (§4.1). Nothing changes on error. */
vq_status vq_fc_rx_on_stream_data(vq_fc_rx *fc, uint64_t end, int fin, uint64_t *grown);
/* Connection level: n more bytes arrived on some stream. VQ_ERR_FLOW_CONTROL (nothing changed) if
 * the sum would exceed the limit (§4.1). */
vq_status vq_fc_rx_on_bytes(vq_fc_rx *fc, uint64_t n);
/* The application read n bytes. VQ_ERR_INVALID_ARGUMENT (nothing changed) if more than received. */
vq_status vq_fc_rx_consume(vq_fc_rx *fc, uint64_t n);
/* Whether to send MAX_DATA / MAX_STREAM_DATA now, and its value: when less than half the window is
 * left. If the previous raise was less than two RTTs ago, the peer is limited by us: the window
 * doubles (up to max_window) before the new limit consumed + window is computed. Returns 1 and sets
 * *new_limit (> the old limit) when a frame should be sent. */
int vq_fc_rx_update(vq_fc_rx *fc, vq_time now, vq_time rtt, uint64_t *new_limit);

#endif
