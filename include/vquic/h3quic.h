/* vquic — HTTP/3 on a vquic connection: binds a vq_h3 session (vquic/h3conn.h) to a vq_conn
 * (vquic/conn.h). The session's abstract stream transport is implemented with the connection's stream
 * API, and the connection's events are fed to the session. Sans-I/O like both. */
#ifndef VQUIC_H3QUIC_H
#define VQUIC_H3QUIC_H

#include "vquic/conn.h"
#include "vquic/h3conn.h"

typedef struct vq_h3q {
  vq_conn *conn;
  vq_h3 *h3;
  const vq_cx *cx;        /* the cx of the call in progress (the transport callbacks use it) */
  int started;
  int closed;             /* VQ_CONN_EV_CLOSED was seen */
  uint64_t close_code;
  int close_app, close_by_peer;
} vq_h3q;

/* Creates the session (from mem) over conn. Call vq_h3q_process after every vq_conn_recv and
 * vq_conn_handle_timeout (and after application calls), before vq_conn_send. */
vq_status vq_h3q_init(vq_h3q *q, vq_conn *conn, vq_mem *mem, const vq_h3_config *cfg,
                      const vq_h3_callbacks *cb);
void vq_h3q_free(vq_h3q *q);
/* Feeds the connection's pending events to the session: handshake done (the session starts), stream
 * data, resets, stop-sending, writability; sets q->closed when the connection closed. */
vq_status vq_h3q_process(vq_h3q *q, const vq_cx *cx);

#endif
