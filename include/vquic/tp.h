/* vquic — QUIC transport parameters (RFC 9000 §18, §7.4), with version_information (RFC 9368 §3)
 * and max_datagram_frame_size (RFC 9221 §3).
 *
 * Wire form (RFC 9000 §18): a sequence of (id (varint), length (varint), value) tuples.
 *
 * Decoding (vq_tp_decode) fills a caller-provided vq_tp: every known parameter has a named field and
 * a present flag (vq_tp_has); absent parameters hold their §18.2 default. Unknown parameters
 * (including the reserved ids 31*N+27 of §18.1) are kept zero-copy as (id, pointer into the input,
 * length): the input buffer must outlive the vq_tp.
 *
 * Bound on unknown parameters: at most VQ_TP_MAX_UNKNOWN are kept. A message with more is rejected
 * with VQ_ERR_TP_TOO_MANY (TRANSPORT_PARAMETER_ERROR). Why reject rather than keep the first N and
 * skip the rest: an unknown parameter that is dropped can neither be re-emitted (decode -> encode
 * would silently lose bytes) nor checked for duplicates (§7.4), so skipping would make both promises
 * of this module false. Real stacks send a handful (one or two grease parameters, a few extensions);
 * 16 leaves ample room. Duplicate detection: known ids use their present flag (O(1)); an unknown id is
 * compared with the at most VQ_TP_MAX_UNKNOWN kept ones, so a message of n parameters costs at most
 * 16 * n comparisons — linear in the input, no quadratic blow-up whatever the peer sends.
 *
 * Likewise at most VQ_TP_MAX_VERSIONS available versions are kept from version_information; more is
 * VQ_ERR_TP_TOO_MANY (no version is dropped silently).
 *
 * Encoding (vq_tp_encode) writes the canonical form: the present known parameters in ascending id
 * order (0x00 .. 0x11, then 0x20), then the unknown parameters in the order they are stored, every
 * varint in its shortest form. Decoding an input in that canonical form and re-encoding it
 * reproduces the input byte for byte. The encoder refuses (VQ_ERR_INVALID_ARGUMENT) any value the
 * decoder would reject and never writes past cap.
 *
 * Decode statuses (all TRANSPORT_PARAMETER_ERROR, see include/vquic/error.h):
 *   VQ_ERR_TP_TRUNCATED    the input ends inside an id, a length or a value
 *   VQ_ERR_TP_LENGTH       a length that does not match the value: an integer whose varint does not
 *                          fill exactly its length, a non-empty disable_active_migration, a
 *                          stateless_reset_token not 16 bytes, a preferred_address whose size does not
 *                          match its CID length, a version_information not 4*k bytes (k >= 1),
 *                          an input longer than VQ_TP_MAX_LEN (65535, the TLS extension limit)
 *   VQ_ERR_TP_VALUE        a value out of range: max_udp_payload_size < 1200, ack_delay_exponent > 20,
 *                          max_ack_delay >= 2^14, active_connection_id_limit < 2,
 *                          initial_max_streams_* > 2^60, a connection ID > 20 bytes, a preferred_address
 *                          CID of length 0, a chosen or available version of 0, a client's chosen
 *                          version missing from its available versions (RFC 9368 §4)
 *   VQ_ERR_TP_DUPLICATE    a parameter (known or unknown) that appears twice (§7.4)
 *   VQ_ERR_TP_SERVER_ONLY  a client sent original_destination_connection_id, preferred_address,
 *                          retry_source_connection_id or stateless_reset_token (§18.2)
 *   VQ_ERR_TP_TOO_MANY     more than VQ_TP_MAX_UNKNOWN unknown parameters or more than
 *                          VQ_TP_MAX_VERSIONS available versions
 */
#ifndef VQUIC_TP_H
#define VQUIC_TP_H

#include <stddef.h>
#include <stdint.h>
#include "vquic/error.h"

/* spec: rfc9000#18.2 — parameter identifiers; rfc9368#3 — 0x11; rfc9221#3 — 0x20. */
#define VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID 0x00u
#define VQ_TP_MAX_IDLE_TIMEOUT 0x01u
#define VQ_TP_STATELESS_RESET_TOKEN 0x02u
#define VQ_TP_MAX_UDP_PAYLOAD_SIZE 0x03u
#define VQ_TP_INITIAL_MAX_DATA 0x04u
#define VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL 0x05u
#define VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE 0x06u
#define VQ_TP_INITIAL_MAX_STREAM_DATA_UNI 0x07u
#define VQ_TP_INITIAL_MAX_STREAMS_BIDI 0x08u
#define VQ_TP_INITIAL_MAX_STREAMS_UNI 0x09u
#define VQ_TP_ACK_DELAY_EXPONENT 0x0au
#define VQ_TP_MAX_ACK_DELAY 0x0bu
#define VQ_TP_DISABLE_ACTIVE_MIGRATION 0x0cu
#define VQ_TP_PREFERRED_ADDRESS 0x0du
#define VQ_TP_ACTIVE_CONNECTION_ID_LIMIT 0x0eu
#define VQ_TP_INITIAL_SOURCE_CONNECTION_ID 0x0fu
#define VQ_TP_RETRY_SOURCE_CONNECTION_ID 0x10u
#define VQ_TP_VERSION_INFORMATION 0x11u
#define VQ_TP_MAX_DATAGRAM_FRAME_SIZE 0x20u

/* Number of known parameters; vq_tp_index() maps their ids onto 0 .. VQ_TP_KNOWN - 1
 * (0x00..0x11 -> 0..17, 0x20 -> 18). */
#define VQ_TP_KNOWN 19u

#define VQ_TP_CID_MAX 20u            /* spec: rfc9000#17.2 — a v1 connection ID is at most 20 bytes */
#define VQ_TP_RESET_TOKEN_LEN 16u    /* spec: rfc9000#18.2 — stateless_reset_token is 16 bytes */
#define VQ_TP_MAX_UNKNOWN 16u        /* unknown parameters kept; more is VQ_ERR_TP_TOO_MANY */
#define VQ_TP_MAX_VERSIONS 16u       /* available versions kept; more is VQ_ERR_TP_TOO_MANY */
/* spec: rfc8446#4.2 — transport parameters travel in a TLS extension, whose extension_data is at most
 * 2^16-1 bytes: the decoder rejects longer input (VQ_ERR_TP_LENGTH) and the encoder never writes more
 * (a larger cap is treated as VQ_TP_MAX_LEN). */
#define VQ_TP_MAX_LEN 65535u

/* §18.2 defaults and limits. */
#define VQ_TP_DEFAULT_MAX_UDP_PAYLOAD_SIZE 65527u
#define VQ_TP_MIN_MAX_UDP_PAYLOAD_SIZE 1200u
#define VQ_TP_DEFAULT_ACK_DELAY_EXPONENT 3u
#define VQ_TP_MAX_ACK_DELAY_EXPONENT 20u
#define VQ_TP_DEFAULT_MAX_ACK_DELAY 25u
#define VQ_TP_MAX_ACK_DELAY_LIMIT 16384u /* max_ack_delay must be < 2^14 */
#define VQ_TP_DEFAULT_ACTIVE_CID_LIMIT 2u
#define VQ_TP_MAX_STREAMS_LIMIT ((uint64_t)1152921504606846976u) /* 2^60 */

/* Who sent the parameters (decode) or will send them (encode). */
typedef enum vq_tp_role { VQ_TP_CLIENT = 0, VQ_TP_SERVER = 1 } vq_tp_role;

/* A connection ID held inside vq_tp (length 0..20). */
typedef struct vq_tp_cid {
  uint8_t len;
  uint8_t bytes[VQ_TP_CID_MAX];
} vq_tp_cid;

/* spec: rfc9000#18.2 — Figure 22, Preferred Address: IPv4 4+2, IPv6 16+2, CID length (1..20), CID,
 * 16-byte stateless reset token. Ports in host order; addresses in network byte order. */
typedef struct vq_tp_preferred_address {
  uint8_t ipv4[4];
  uint16_t ipv4_port;
  uint8_t ipv6[16];
  uint16_t ipv6_port;
  vq_tp_cid cid;
  uint8_t reset_token[VQ_TP_RESET_TOKEN_LEN];
} vq_tp_preferred_address;

/* spec: rfc9368#3 — Version Information: Chosen Version (32), Available Versions (32) ... */
typedef struct vq_tp_version_info {
  uint32_t chosen;
  uint32_t n_available;
  uint32_t available[VQ_TP_MAX_VERSIONS];
} vq_tp_version_info;

/* An unknown parameter: its value points into the decoded input (zero-copy). */
typedef struct vq_tp_unknown {
  uint64_t id;
  const uint8_t *value;
  size_t len;
} vq_tp_unknown;

typedef struct vq_tp {
  uint8_t present[VQ_TP_KNOWN]; /* indexed by vq_tp_index(id); use vq_tp_has / vq_tp_set_present */
  vq_tp_cid original_destination_connection_id;
  uint64_t max_idle_timeout;
  uint8_t stateless_reset_token[VQ_TP_RESET_TOKEN_LEN];
  uint64_t max_udp_payload_size;
  uint64_t initial_max_data;
  uint64_t initial_max_stream_data_bidi_local;
  uint64_t initial_max_stream_data_bidi_remote;
  uint64_t initial_max_stream_data_uni;
  uint64_t initial_max_streams_bidi;
  uint64_t initial_max_streams_uni;
  uint64_t ack_delay_exponent;
  uint64_t max_ack_delay;
  /* disable_active_migration carries no value: its present flag is the parameter. */
  vq_tp_preferred_address preferred_address;
  uint64_t active_connection_id_limit;
  vq_tp_cid initial_source_connection_id;
  vq_tp_cid retry_source_connection_id;
  vq_tp_version_info version_information;
  uint64_t max_datagram_frame_size;
  size_t n_unknown;
  vq_tp_unknown unknown[VQ_TP_MAX_UNKNOWN];
} vq_tp;

/* Sets every field to its §18.2 default, every present flag to 0 and drops unknown parameters. */
void vq_tp_init_defaults(vq_tp *tp);

/* Index of a known parameter id in present[] (0 .. VQ_TP_KNOWN - 1), or VQ_TP_KNOWN if unknown. */
size_t vq_tp_index(uint64_t id);

/* 1 if the known parameter id is present, 0 otherwise (and for unknown ids). */
int vq_tp_has(const vq_tp *tp, uint64_t id);

/* Marks a known parameter present (on != 0) or absent. VQ_ERR_INVALID_ARGUMENT for an unknown id. */
vq_status vq_tp_set_present(vq_tp *tp, uint64_t id, int on);

/* Decodes the transport parameters buf[0..len) sent by `sender` into *tp (which is first reset to
 * the defaults). On failure *tp is in an unspecified but valid state. See the statuses above. */
vq_status vq_tp_decode(const uint8_t *buf, size_t len, vq_tp_role sender, vq_tp *tp);

/* Encodes *tp as sent by `sender` into out[0..cap) in canonical form; *used gets the size.
 * VQ_ERR_INVALID_ARGUMENT for a value the decoder would reject (including a server-only parameter
 * for a client, an unknown entry whose id is a known id or repeats another, or more than
 * VQ_TP_MAX_UNKNOWN unknown entries); VQ_ERR_BUFFER_TOO_SMALL when it does not fit (out[0..cap) may
 * then hold a partial encoding; nothing is written past cap). */
vq_status vq_tp_encode(const vq_tp *tp, vq_tp_role sender, uint8_t *out, size_t cap, size_t *used);

#endif
