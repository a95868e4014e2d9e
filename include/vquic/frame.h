/* vquic — QUIC frames: every frame of RFC 9000 §19 and DATAGRAM (RFC 9221 §4).
 *
 * vq_frame_parse() reads exactly one frame from a packet payload; call it in a loop over the payload.
 * vq_frame_encode() writes one frame; vq_frame_encoded_len() says how many bytes it will write.
 * Parsing is zero copy: byte fields (STREAM/CRYPTO data, NEW_TOKEN token, NEW_CONNECTION_ID connection
 * ID and reset token, PATH_CHALLENGE/RESPONSE data, CONNECTION_CLOSE reason phrase, DATAGRAM data and
 * the ACK range section) point into the caller's input buffer, which must outlive the frame.
 * Everything here is proved free of run-time errors with Frama-C WP + Eva (proofs/modules/frame.mk). */
#ifndef VQUIC_FRAME_H
#define VQUIC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "vquic/error.h"

/* Frame type values (RFC 9000 §12.4 Table 3, RFC 9221 §4). vq_frame.type holds the wire type, so
 * the flag bits of STREAM (0x08-0x0f), ACK (0x02/0x03), MAX_STREAMS, STREAMS_BLOCKED,
 * CONNECTION_CLOSE and DATAGRAM are kept. */
#define VQ_FRAME_PADDING 0x00u
#define VQ_FRAME_PING 0x01u
#define VQ_FRAME_ACK 0x02u
#define VQ_FRAME_ACK_ECN 0x03u
#define VQ_FRAME_RESET_STREAM 0x04u
#define VQ_FRAME_STOP_SENDING 0x05u
#define VQ_FRAME_CRYPTO 0x06u
#define VQ_FRAME_NEW_TOKEN 0x07u
#define VQ_FRAME_STREAM 0x08u /* 0x08-0x0f: + OFF 0x04, LEN 0x02, FIN 0x01 */
#define VQ_FRAME_STREAM_OFF 0x04u
#define VQ_FRAME_STREAM_LEN 0x02u
#define VQ_FRAME_STREAM_FIN 0x01u
#define VQ_FRAME_MAX_DATA 0x10u
#define VQ_FRAME_MAX_STREAM_DATA 0x11u
#define VQ_FRAME_MAX_STREAMS_BIDI 0x12u
#define VQ_FRAME_MAX_STREAMS_UNI 0x13u
#define VQ_FRAME_DATA_BLOCKED 0x14u
#define VQ_FRAME_STREAM_DATA_BLOCKED 0x15u
#define VQ_FRAME_STREAMS_BLOCKED_BIDI 0x16u
#define VQ_FRAME_STREAMS_BLOCKED_UNI 0x17u
#define VQ_FRAME_NEW_CONNECTION_ID 0x18u
#define VQ_FRAME_RETIRE_CONNECTION_ID 0x19u
#define VQ_FRAME_PATH_CHALLENGE 0x1au
#define VQ_FRAME_PATH_RESPONSE 0x1bu
#define VQ_FRAME_CONNECTION_CLOSE 0x1cu     /* transport error, carries the offending frame type */
#define VQ_FRAME_CONNECTION_CLOSE_APP 0x1du /* application error */
#define VQ_FRAME_HANDSHAKE_DONE 0x1eu
#define VQ_FRAME_DATAGRAM 0x30u     /* RFC 9221 §4: data extends to the end of the packet */
#define VQ_FRAME_DATAGRAM_LEN 0x31u /* RFC 9221 §4: with a Length field */

#define VQ_MAX_CID_LEN 20u
#define VQ_STATELESS_RESET_TOKEN_LEN 16u
#define VQ_PATH_DATA_LEN 8u
/* RFC 9000 §19.11, §19.14: a stream count cannot exceed 2^60. */
#define VQ_MAX_STREAMS_LIMIT ((uint64_t)1152921504606846976u)

/* One acknowledged range, both ends included: smallest <= largest. */
typedef struct vq_ack_range {
  uint64_t smallest;
  uint64_t largest;
} vq_ack_range;

/* PADDING (§19.1): one vq_frame stands for a whole run of consecutive padding bytes. */
typedef struct vq_frame_padding {
  size_t count; /* bytes in the run, >= 1 */
} vq_frame_padding;

/* ACK / ACK_ECN (§19.3). After parsing, `ranges` points at the range_count (Gap, ACK Range Length)
 * pairs that follow the first range (ranges_len bytes), already validated; walk them with
 * vq_ack_iter. For encoding, set `ranges_in` to range_count_in ranges ordered largest first (the
 * first one is the First ACK Range); largest, first_range, range_count and ranges are then ignored
 * and derived from that array. */
typedef struct vq_frame_ack {
  uint64_t largest;
  uint64_t delay;
  uint64_t range_count; /* ACK Range Count: pairs after the first range */
  uint64_t first_range;
  const uint8_t *ranges;
  size_t ranges_len;
  uint64_t ect0, ect1, ecn_ce; /* ACK_ECN (0x03) only */
  const vq_ack_range *ranges_in;
  size_t range_count_in;
} vq_frame_ack;

typedef struct vq_frame_reset_stream { /* §19.4 */
  uint64_t stream_id;
  uint64_t error_code;
  uint64_t final_size;
} vq_frame_reset_stream;

typedef struct vq_frame_stop_sending { /* §19.5 */
  uint64_t stream_id;
  uint64_t error_code;
} vq_frame_stop_sending;

typedef struct vq_frame_crypto { /* §19.6 */
  uint64_t offset;
  const uint8_t *data;
  size_t len;
} vq_frame_crypto;

typedef struct vq_frame_new_token { /* §19.7: never empty */
  const uint8_t *token;
  size_t len;
} vq_frame_new_token;

/* STREAM (§19.8). The OFF, LEN and FIN bits are those of vq_frame.type; `fin` mirrors the FIN bit
 * (parse sets it; encode requires it to agree). Without OFF the offset is 0; without LEN the data
 * extends to the end of the packet, so such a frame must be the last one. */
typedef struct vq_frame_stream {
  uint64_t stream_id;
  uint64_t offset;
  const uint8_t *data;
  size_t len;
  uint8_t fin;
} vq_frame_stream;

typedef struct vq_frame_max_data { /* §19.9 MAX_DATA, §19.12 DATA_BLOCKED */
  uint64_t maximum;
} vq_frame_max_data;

typedef struct vq_frame_max_stream_data { /* §19.10 MAX_STREAM_DATA, §19.13 STREAM_DATA_BLOCKED */
  uint64_t stream_id;
  uint64_t maximum;
} vq_frame_max_stream_data;

typedef struct vq_frame_max_streams { /* §19.11 MAX_STREAMS, §19.14 STREAMS_BLOCKED: <= 2^60 */
  uint64_t maximum;
} vq_frame_max_streams;

typedef struct vq_frame_new_cid { /* §19.15 */
  uint64_t sequence;
  uint64_t retire_prior_to; /* <= sequence */
  const uint8_t *cid;
  size_t cid_len; /* 1..20 */
  const uint8_t *reset_token; /* 16 bytes */
} vq_frame_new_cid;

typedef struct vq_frame_retire_cid { /* §19.16 */
  uint64_t sequence;
} vq_frame_retire_cid;

typedef struct vq_frame_path { /* §19.17 PATH_CHALLENGE, §19.18 PATH_RESPONSE */
  const uint8_t *data; /* 8 bytes */
} vq_frame_path;

typedef struct vq_frame_close { /* §19.19 */
  uint64_t error_code;
  uint64_t frame_type; /* 0x1c only; 0 for 0x1d */
  const uint8_t *reason;
  size_t reason_len;
} vq_frame_close;

typedef struct vq_frame_datagram { /* RFC 9221 §4 */
  const uint8_t *data;
  size_t len;
} vq_frame_datagram;

/* One frame: `type` is the wire frame type and selects the member that holds its fields (no union,
 * so that the provers see each member as a separate object). */
typedef struct vq_frame {
  uint64_t type;
  vq_frame_padding padding;
  vq_frame_ack ack;
  vq_frame_reset_stream reset_stream;
  vq_frame_stop_sending stop_sending;
  vq_frame_crypto crypto;
  vq_frame_new_token new_token;
  vq_frame_stream stream;
  vq_frame_max_data max_data;                 /* MAX_DATA */
  vq_frame_max_stream_data max_stream_data;   /* MAX_STREAM_DATA */
  vq_frame_max_streams max_streams;           /* MAX_STREAMS (0x12, 0x13) */
  vq_frame_max_data data_blocked;             /* DATA_BLOCKED: maximum = the limit */
  vq_frame_max_stream_data stream_data_blocked; /* STREAM_DATA_BLOCKED */
  vq_frame_max_streams streams_blocked;       /* STREAMS_BLOCKED (0x16, 0x17) */
  vq_frame_new_cid new_cid;
  vq_frame_retire_cid retire_cid;
  vq_frame_path path;                         /* PATH_CHALLENGE, PATH_RESPONSE */
  vq_frame_close close;                       /* CONNECTION_CLOSE 0x1c, 0x1d */
  vq_frame_datagram datagram;
} vq_frame;

/* Parses one frame from buf[0..len) (len >= 1). On VQ_OK, *used (1..len) is the frame's size and f
 * holds it; a run of PADDING bytes is returned as one frame. Errors (f is then unspecified):
 * VQ_ERR_FRAME_TRUNCATED, VQ_ERR_FRAME_TYPE_UNKNOWN, VQ_ERR_FRAME_TYPE_NOT_MINIMAL (§12.4:
 * PROTOCOL_VIOLATION), VQ_ERR_FRAME_ACK_RANGE, VQ_ERR_FRAME_ACK_RANGE_COUNT,
 * VQ_ERR_FRAME_STREAM_OFFSET, VQ_ERR_FRAME_CID_LENGTH, VQ_ERR_FRAME_RETIRE_PRIOR_TO,
 * VQ_ERR_FRAME_STREAMS_LIMIT, VQ_ERR_FRAME_TOKEN_EMPTY. */
vq_status vq_frame_parse(const uint8_t *buf, size_t len, vq_frame *f, size_t *used);

/* Bytes vq_frame_encode() writes for f, or VQ_ERR_INVALID_ARGUMENT if f cannot be encoded. */
vq_status vq_frame_encoded_len(const vq_frame *f, size_t *len);

/* Writes f into buf[0..cap) in the shortest encoding of every field; *used = bytes written.
 * With buf == NULL nothing is written: the call only checks that f is encodable within cap.
 * VQ_ERR_INVALID_ARGUMENT for a frame the wire cannot carry (value > 2^62-1, CID length not 1..20,
 * empty token, ill-formed ACK ranges, unknown type, ...), VQ_ERR_BUFFER_TOO_SMALL when it does not
 * fit. Nothing is ever written past cap; on error buf[0..cap) may have been partly written. */
vq_status vq_frame_encode(uint8_t *buf, size_t cap, const vq_frame *f, size_t *used);

/* Walks the ACK ranges of a parsed ACK frame, largest first: the First ACK Range, then one range per
 * (Gap, ACK Range Length) pair. Each range yielded has smallest <= largest and lies strictly below
 * the previous one (largest + 2 <= previous smallest). */
typedef struct vq_ack_iter {
  const uint8_t *p; /* the range section */
  size_t len;
  size_t pos;
  uint64_t remaining; /* pairs not read yet */
  uint64_t largest;
  uint64_t first_range;
  uint64_t prev_smallest;
  int started;
  vq_status status; /* VQ_OK, or why the walk stopped early (hand-built, ill-formed frame) */
} vq_ack_iter;

void vq_ack_iter_init(vq_ack_iter *it, const vq_frame_ack *ack);
/* 1 with *r set to the next range; 0 at the end, or when the ranges are ill-formed (it->status
 * then says why: VQ_ERR_FRAME_ACK_RANGE or VQ_ERR_FRAME_TRUNCATED). */
int vq_ack_iter_next(vq_ack_iter *it, vq_ack_range *r);

/* Packet types, for the Table 3 "Pkts" rules (RFC 9000 §12.4, §12.5). */
typedef enum vq_frame_pkt {
  VQ_FRAME_PKT_INITIAL = 0,
  VQ_FRAME_PKT_0RTT = 1,
  VQ_FRAME_PKT_HANDSHAKE = 2,
  VQ_FRAME_PKT_1RTT = 3,
} vq_frame_pkt;

/* 1 if a frame of this (known) type may appear in that packet type, else 0 (receipt elsewhere is a
 * PROTOCOL_VIOLATION). Unknown types: 0. */
int vq_frame_allowed_in(uint64_t type, vq_frame_pkt pkt);
/* 1 if the frame makes its packet ack-eliciting: all but PADDING, ACK and CONNECTION_CLOSE
 * (RFC 9000 §13.2, RFC 9002 §2). */
int vq_frame_is_ack_eliciting(uint64_t type);
/* 1 if the frame makes its packet count toward bytes in flight: ack-eliciting frames and PADDING
 * (RFC 9002 §2), i.e. all but ACK and CONNECTION_CLOSE (Table 3 "C"). */
int vq_frame_counts_in_flight(uint64_t type);
/* 1 for the types vq_frame_parse knows (RFC 9000 §19, RFC 9221 §4). */
int vq_frame_type_known(uint64_t type);

/* Stream IDs (RFC 9000 §2.1): bit 0x01 = server-initiated, bit 0x02 = unidirectional. */
int vq_stream_is_server_initiated(uint64_t stream_id);
int vq_stream_is_unidirectional(uint64_t stream_id);
/* Whether a frame on this stream may be sent by (local_is_server) in direction terms is left to
 * the caller; this says if the endpoint with that role may send data on the stream: bidirectional
 * streams both ways, unidirectional ones only by their initiator. */
int vq_stream_can_send(uint64_t stream_id, int local_is_server);
int vq_stream_can_receive(uint64_t stream_id, int local_is_server);

#endif
