/* vquic — HTTP/3 frame and unidirectional stream-type codecs (RFC 9114 §7, §6.2), the frame-sequence
 * rules of the control and message streams (§6.2.1, §4.1, §7.2 Table 1) and the GOAWAY ID rules
 * (§5.2). Sans-I/O, no allocation, zero copy: parsed spans are offsets into the caller's input.
 *
 * Streaming use: a stream delivers bytes in pieces. vq_h3_frame_header_read() is given the bytes of
 * the stream not yet consumed; VQ_ERR_H3_NEED_MORE says how many bytes (counted from the same start)
 * are needed at least before calling again, VQ_OK gives the type and payload length. DATA and
 * unknown/reserved frames are then consumed in place, piece by piece (DATA handed to the application,
 * unknown frames skipped); the other frames are buffered whole by the caller, up to a bound it
 * chooses, and parsed with the functions below. */
#ifndef VQUIC_H3FRAME_H
#define VQUIC_H3FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "vquic/error.h"
#include "vquic/h3.h"

/* What a frame type is (RFC 9114 §7.2, Table 2). */
typedef enum vq_h3_frame_class {
  VQ_H3_FC_DATA = 0,
  VQ_H3_FC_HEADERS,
  VQ_H3_FC_CANCEL_PUSH,
  VQ_H3_FC_SETTINGS,
  VQ_H3_FC_PUSH_PROMISE,
  VQ_H3_FC_GOAWAY,
  VQ_H3_FC_MAX_PUSH_ID,
  VQ_H3_FC_H2_RESERVED,   /* 0x02, 0x06, 0x08, 0x09: H3_FRAME_UNEXPECTED on receipt (§7.2.8) */
  VQ_H3_FC_RESERVED,      /* 0x1f * N + 0x21: skipped (§7.2.8) */
  VQ_H3_FC_UNKNOWN,       /* any other type: skipped (§9) */
} vq_h3_frame_class;

typedef struct vq_h3_frame_hdr {
  uint64_t type;
  uint64_t length;   /* payload length */
  size_t hdr_len;    /* bytes of the Type and Length fields (2 .. 16) */
} vq_h3_frame_hdr;

/* 1 when v is a reserved (grease) value 0x1f * N + 0x21 — frame types, settings identifiers, stream
 * types and error codes share the form. */
int vq_h3_is_reserved(uint64_t v);
/* The reserved value 0x1f * N + 0x21 for N = n mod (VQ_H3_GREASE_N_MAX + 1): feed it a random n. */
uint64_t vq_h3_grease(uint64_t n);

vq_h3_frame_class vq_h3_frame_classify(uint64_t type);
/* 1 for the frames that must be buffered whole before they are parsed (HEADERS, CANCEL_PUSH,
 * SETTINGS, PUSH_PROMISE, GOAWAY, MAX_PUSH_ID); 0 for DATA and skipped frames, read in pieces. */
int vq_h3_frame_is_buffered(uint64_t type);

/* Frame header from the first len bytes of a stream's unconsumed data. VQ_OK: *hdr is set (*need is
 * not). VQ_ERR_H3_NEED_MORE: *need (> len, <= 16) bytes at least are needed; *hdr is not touched. */
vq_status vq_h3_frame_header_parse(const uint8_t *buf, size_t len, vq_h3_frame_hdr *hdr,
                                   size_t *need);
/* Checks a parsed header independently of the stream: an HTTP/2 reserved type is
 * VQ_ERR_H3_FRAME_UNEXPECTED; CANCEL_PUSH, GOAWAY and MAX_PUSH_ID whose length cannot hold exactly one
 * varint (0 or > 8) are VQ_ERR_H3_FRAME; a buffered frame longer than max_buffered is
 * VQ_ERR_H3_EXCESSIVE_LOAD. */
vq_status vq_h3_frame_header_check(uint64_t type, uint64_t length, uint64_t max_buffered);
/* vq_h3_frame_header_parse then vq_h3_frame_header_check. */
vq_status vq_h3_frame_header_read(const uint8_t *buf, size_t len, uint64_t max_buffered,
                                  vq_h3_frame_hdr *hdr, size_t *need);

/* Writes a frame header (type and payload length, shortest varints). VQ_ERR_INVALID_ARGUMENT when a
 * value exceeds 2^62-1, VQ_ERR_BUFFER_TOO_SMALL when it does not fit; *used is set on VQ_OK only. */
vq_status vq_h3_frame_header_encode(uint8_t *buf, size_t cap, uint64_t type, uint64_t length,
                                    size_t *used);
/* A whole frame whose payload is an opaque span: DATA, HEADERS (the QPACK-encoded field section),
 * reserved/unknown frames. The payload must not overlap buf. On an error buf[0..cap) may be changed. */
vq_status vq_h3_frame_encode_span(uint8_t *buf, size_t cap, uint64_t type, const uint8_t *payload,
                                  size_t plen, size_t *used);

/* CANCEL_PUSH, GOAWAY, MAX_PUSH_ID: the payload is exactly one varint, else VQ_ERR_H3_FRAME. */
vq_status vq_h3_id_frame_parse(const uint8_t *payload, size_t plen, uint64_t *id);
/* type must be CANCEL_PUSH, GOAWAY or MAX_PUSH_ID (else VQ_ERR_INVALID_ARGUMENT). */
vq_status vq_h3_id_frame_encode(uint8_t *buf, size_t cap, uint64_t type, uint64_t id, size_t *used);

/* PUSH_PROMISE payload: Push ID then the encoded field section, which is
 * payload[*fs_off .. plen) (possibly empty: QPACK judges it). A truncated Push ID is VQ_ERR_H3_FRAME. */
vq_status vq_h3_push_promise_parse(const uint8_t *payload, size_t plen, uint64_t *push_id,
                                   size_t *fs_off);
vq_status vq_h3_push_promise_encode(uint8_t *buf, size_t cap, uint64_t push_id, const uint8_t *fs,
                                    size_t fs_len, size_t *used);

/* The settings vquic understands (RFC 9114 §7.2.4.1, RFC 9204 §5, RFC 9220, RFC 9297). has_* says the
 * identifier was present; absent settings keep their defaults (vq_h3_settings_init). */
typedef struct vq_h3_settings {
  uint64_t max_field_section_size;    /* default unlimited: VQ_VARINT_MAX */
  uint64_t qpack_max_table_capacity;  /* default 0 */
  uint64_t qpack_blocked_streams;     /* default 0 */
  uint8_t enable_connect_protocol;    /* 0 or 1, default 0 */
  uint8_t h3_datagram;                /* 0 or 1, default 0 */
  uint8_t has_max_field_section_size;
  uint8_t has_qpack_max_table_capacity;
  uint8_t has_qpack_blocked_streams;
  uint8_t has_enable_connect_protocol;
  uint8_t has_h3_datagram;
} vq_h3_settings;

void vq_h3_settings_init(vq_h3_settings *s);
/* A SETTINGS payload. VQ_ERR_H3_FRAME when a setting is cut; VQ_ERR_H3_SETTINGS for a known identifier
 * given twice, an HTTP/2 identifier 0x02..0x05, or ENABLE_CONNECT_PROTOCOL / H3_DATAGRAM not 0 or 1.
 * Reserved and unknown identifiers are ignored. *s is reinitialised first (partial on error). */
vq_status vq_h3_settings_parse(const uint8_t *payload, size_t plen, vq_h3_settings *s);
/* A whole SETTINGS frame carrying the settings whose has_* flag is set, then, when grease is non-zero,
 * the reserved setting vq_h3_grease(grease_n) with value grease_value. VQ_ERR_INVALID_ARGUMENT for a
 * value over 2^62-1 or a 0/1 setting with another value. */
vq_status vq_h3_settings_encode(uint8_t *buf, size_t cap, const vq_h3_settings *s, int grease,
                                uint64_t grease_n, uint64_t grease_value, size_t *used);

/* ---- which frames are allowed where (§7.2 Table 1, §6.2.1, §4.1) --------------------------------- */

typedef enum vq_h3_ctrl_state {
  VQ_H3_CTRL_AWAIT_SETTINGS = 0,
  VQ_H3_CTRL_OPEN = 1,
} vq_h3_ctrl_state;

/* The peer's control stream as we receive it. is_server: we are the server (MAX_PUSH_ID is then
 * allowed: only clients send it). */
typedef struct vq_h3_ctrl {
  vq_h3_ctrl_state state;
  uint8_t is_server;
} vq_h3_ctrl;

void vq_h3_ctrl_init(vq_h3_ctrl *c, int is_server);
/* Admits the next frame type on the control stream: VQ_OK (and the state moves), or
 * VQ_ERR_H3_MISSING_SETTINGS / VQ_ERR_H3_FRAME_UNEXPECTED with the state unchanged. */
vq_status vq_h3_ctrl_on_frame(vq_h3_ctrl *c, uint64_t type);

typedef enum vq_h3_msg_state {
  VQ_H3_MSG_AWAIT_HEADERS = 0,   /* nothing yet (or an interim response was read) */
  VQ_H3_MSG_HEADERS = 1,         /* the header section was read */
  VQ_H3_MSG_DATA = 2,            /* content is being read */
  VQ_H3_MSG_TRAILERS = 3,        /* the trailer section was read: only skipped frames may follow */
} vq_h3_msg_state;

/* A request stream, a response on a request stream, or a push stream, as we receive it.
 * push_promise_ok: PUSH_PROMISE may appear (a client reading a response); 0 for a server reading a
 * request (§7.2.5) and for push streams (§4.1). */
typedef struct vq_h3_msg {
  vq_h3_msg_state state;
  uint8_t push_promise_ok;
} vq_h3_msg;

void vq_h3_msg_init(vq_h3_msg *m, int push_promise_ok);
/* Admits the next frame type on a message stream (HEADERS, DATA*, optional trailing HEADERS; skipped
 * frames anywhere): VQ_OK, or VQ_ERR_H3_FRAME_UNEXPECTED with the state unchanged. */
vq_status vq_h3_msg_on_frame(vq_h3_msg *m, uint64_t type);
/* The HEADERS just read was an interim (1xx) response: another header section follows (RFC 9114
 * §4.1). VQ_ERR_INVALID_ARGUMENT unless the state is VQ_H3_MSG_HEADERS. */
vq_status vq_h3_msg_interim(vq_h3_msg *m);
/* 1 when the stream may end cleanly here (a header section was read and is not followed by an
 * interim restart); 0 when it ends before the message started. */
int vq_h3_msg_can_end(const vq_h3_msg *m);

/* ---- unidirectional stream types (§6.2) ------------------------------------------------------------ */

typedef enum vq_h3_uni_class {
  VQ_H3_UNI_CONTROL = 0,
  VQ_H3_UNI_PUSH,
  VQ_H3_UNI_QPACK_ENCODER,
  VQ_H3_UNI_QPACK_DECODER,
  VQ_H3_UNI_RESERVED,   /* 0x1f * N + 0x21: no meaning; discard or abort reading (§6.2.3) */
  VQ_H3_UNI_UNKNOWN,    /* abort reading with vq_h3_uni_unknown_abort_code() (§6.2), not an error */
} vq_h3_uni_class;

/* The stream-type varint at the start of a unidirectional stream: VQ_OK with *type and *used, or
 * VQ_ERR_H3_NEED_MORE with *need (> len). */
vq_status vq_h3_uni_type_parse(const uint8_t *buf, size_t len, uint64_t *type, size_t *used,
                               size_t *need);
vq_h3_uni_class vq_h3_uni_classify(uint64_t type);
/* H3_STREAM_CREATION_ERROR: the code for STOP_SENDING on a stream of unknown type (§6.2). */
uint64_t vq_h3_uni_unknown_abort_code(void);

/* ---- GOAWAY (§5.2, §7.2.6) ------------------------------------------------------------------------- */

/* A received GOAWAY ID. from_server: the peer is the server, so the ID is a client-initiated
 * bidirectional stream ID (a multiple of 4); otherwise a push ID. have_prev/prev: the ID of the
 * previous GOAWAY received, which the new one must not exceed. VQ_ERR_H3_ID otherwise. */
vq_status vq_h3_goaway_check(uint64_t id, int from_server, int have_prev, uint64_t prev);

#endif
