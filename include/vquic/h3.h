/* vquic — HTTP/3 constants (RFC 9114): application error codes, frame types, settings identifiers
 * and unidirectional stream types. HTTP/3 errors are *application* errors: they close the connection
 * with a CONNECTION_CLOSE of type 0x1d (RFC 9000 §19.19) or reset/abort a stream, never with a
 * transport error code. */
#ifndef VQUIC_H3_H
#define VQUIC_H3_H

/* spec: rfc9114#8.1 — HTTP/3 error codes. */
#define VQ_H3_NO_ERROR 0x0100u
#define VQ_H3_GENERAL_PROTOCOL_ERROR 0x0101u
#define VQ_H3_INTERNAL_ERROR 0x0102u
#define VQ_H3_STREAM_CREATION_ERROR 0x0103u
#define VQ_H3_CLOSED_CRITICAL_STREAM 0x0104u
#define VQ_H3_FRAME_UNEXPECTED 0x0105u
#define VQ_H3_FRAME_ERROR 0x0106u
#define VQ_H3_EXCESSIVE_LOAD 0x0107u
#define VQ_H3_ID_ERROR 0x0108u
#define VQ_H3_SETTINGS_ERROR 0x0109u
#define VQ_H3_MISSING_SETTINGS 0x010au
#define VQ_H3_REQUEST_REJECTED 0x010bu
#define VQ_H3_REQUEST_CANCELLED 0x010cu
#define VQ_H3_REQUEST_INCOMPLETE 0x010du
#define VQ_H3_MESSAGE_ERROR 0x010eu
#define VQ_H3_CONNECT_ERROR 0x010fu
#define VQ_H3_VERSION_FALLBACK 0x0110u

/* spec: rfc9114#7.2, rfc9114#11.2.1 — frame types (Table 2). 0x02, 0x06, 0x08 and 0x09 were HTTP/2
 * frame types and are reserved: receiving one is H3_FRAME_UNEXPECTED (rfc9114#7.2.8). */
#define VQ_H3_FRAME_DATA 0x00u
#define VQ_H3_FRAME_HEADERS 0x01u
#define VQ_H3_FRAME_CANCEL_PUSH 0x03u
#define VQ_H3_FRAME_SETTINGS 0x04u
#define VQ_H3_FRAME_PUSH_PROMISE 0x05u
#define VQ_H3_FRAME_GOAWAY 0x07u
#define VQ_H3_FRAME_MAX_PUSH_ID 0x0du

/* spec: rfc9114#7.2.4.1, rfc9204#5 — settings identifiers; RFC 9220 §3 and RFC 9297 §2.1.1 define
 * ENABLE_CONNECT_PROTOCOL and H3_DATAGRAM (values 0 or 1). */
#define VQ_H3_SETTINGS_QPACK_MAX_TABLE_CAPACITY 0x01u
#define VQ_H3_SETTINGS_MAX_FIELD_SECTION_SIZE 0x06u
#define VQ_H3_SETTINGS_QPACK_BLOCKED_STREAMS 0x07u
#define VQ_H3_SETTINGS_ENABLE_CONNECT_PROTOCOL 0x08u
#define VQ_H3_SETTINGS_H3_DATAGRAM 0x33u

/* spec: rfc9114#6.2, rfc9204#4.2 — unidirectional stream types. */
#define VQ_H3_STREAM_CONTROL 0x00u
#define VQ_H3_STREAM_PUSH 0x01u
#define VQ_H3_STREAM_QPACK_ENCODER 0x02u
#define VQ_H3_STREAM_QPACK_DECODER 0x03u

/* spec: rfc9114#7.2.8, rfc9114#6.2.3, rfc9114#7.2.4.1, rfc9114#8.1 — reserved (grease) values are
 * 0x1f * N + 0x21; the largest N that keeps the value a varint (<= 2^62-1) is VQ_H3_GREASE_N_MAX. */
#define VQ_H3_GREASE_BASE 0x21u
#define VQ_H3_GREASE_STEP 0x1fu
#define VQ_H3_GREASE_N_MAX 148764065110560899u

#endif
