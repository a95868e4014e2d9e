/* vquic — qlog records (draft-ietf-quic-qlog-main-schema, JSON-SEQ serialization), viewable in qvis.
 *
 * The connection tells what happens through its trace sink (vq_trace: an event name and a
 * "key=value ..." detail line). These functions turn such an event into one JSON-SEQ record (RS,
 * JSON text, LF), named after the qlog QUIC event schema (transport:packet_sent,
 * transport:packet_received, security:key_updated, security:key_discarded,
 * recovery:loss_timer_updated, connectivity:connection_state_updated, connectivity:connection_closed)
 * with the detail's fields as event data; events qlog does not define keep their name under "vquic:".
 * They format into caller buffers: the driver writes them where it wants (sans-I/O). */
#ifndef VQUIC_QLOG_H
#define VQUIC_QLOG_H

#include <stddef.h>

#include "vquic/rt.h"

/* The file header record. Returns its length, 0 if it does not fit in cap (out is then unspecified). */
size_t vq_qlog_header(char *out, size_t cap, int is_server, const char *title);
/* One event record; rel is the time since the trace's reference time. 0 if it does not fit. */
size_t vq_qlog_event(char *out, size_t cap, vq_time rel, const char *event, const char *detail);

#endif
