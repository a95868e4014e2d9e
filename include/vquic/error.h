/* vquic — typed errors.
 *
 * Every failure of a vquic function is a vq_status below zero. Each status says which wire error it
 * stands for (RFC 9000 §20.1 transport error codes, RFC 9114 §8.1 / RFC 9204 §6 application codes) and
 * carries a fixed reason phrase, so that the connection layer can close with the RFC's code and a
 * reason without inventing either. Statuses are stable: new ones are appended. */
#ifndef VQUIC_ERROR_H
#define VQUIC_ERROR_H

#include <stdint.h>

typedef enum vq_status {
  VQ_OK = 0,

  /* Not wire errors: the caller's arguments or output space. */
  VQ_ERR_BUFFER_TOO_SMALL = -1,   /* encoder: the output does not fit (nothing is written past cap) */
  VQ_ERR_INVALID_ARGUMENT = -2,   /* a value the encoder cannot represent (varint > 2^62-1, CID > 20) */
  VQ_ERR_TRUNCATED = -3,          /* primitive decoder: input ends inside an element */

  /* Packets (RFC 9000 §17): the packet is dropped, not a connection error (§12.2, §5.2). */
  VQ_ERR_PACKET_TRUNCATED = -10,
  VQ_ERR_PACKET_FIXED_BIT = -11,        /* fixed bit is 0 (RFC 9000 §17.2) */
  VQ_ERR_PACKET_CID_TOO_LONG = -12,     /* v1 long header with a CID > 20 bytes (§17.2) */
  VQ_ERR_PACKET_LENGTH = -13,           /* Length field exceeds the datagram (§17.2) */
  VQ_ERR_PACKET_TOKEN = -14,            /* Initial token length exceeds the packet (§17.2.2) */
  VQ_ERR_PACKET_VERSION = -15,          /* unsupported version: send Version Negotiation (§6) */
  VQ_ERR_PACKET_VN_EMPTY = -16,         /* Version Negotiation without versions (§17.2.1) */
  VQ_ERR_PACKET_RETRY = -17,            /* Retry too short for its integrity tag (§17.2.5) */
  VQ_ERR_PACKET_NUMBER = -18,           /* reconstructed packet number exceeds 2^62-1 (§12.3, A.3) */

  /* Frames (RFC 9000 §19, §12.4): FRAME_ENCODING_ERROR unless said otherwise. */
  VQ_ERR_FRAME_TRUNCATED = -30,
  VQ_ERR_FRAME_TYPE_UNKNOWN = -31,      /* FRAME_ENCODING_ERROR (§12.4) */
  VQ_ERR_FRAME_TYPE_NOT_MINIMAL = -32,  /* PROTOCOL_VIOLATION (§12.4) */
  VQ_ERR_FRAME_ACK_RANGE = -33,         /* a gap or range below packet number 0 (§19.3.1) */
  VQ_ERR_FRAME_STREAM_OFFSET = -34,     /* offset + length > 2^62-1: FRAME_ENCODING_ERROR (§19.8) */
  VQ_ERR_FRAME_CID_LENGTH = -35,        /* NEW_CONNECTION_ID CID length not 1..20 (§19.15) */
  VQ_ERR_FRAME_RETIRE_PRIOR_TO = -36,   /* retire_prior_to > sequence number (§19.15) */
  VQ_ERR_FRAME_STREAMS_LIMIT = -37,     /* MAX_STREAMS / STREAMS_BLOCKED > 2^60 (§19.11, §19.14) */
  VQ_ERR_FRAME_TOKEN_EMPTY = -38,       /* NEW_TOKEN with an empty token (§19.7) */
  VQ_ERR_FRAME_ACK_RANGE_COUNT = -39,   /* more ACK ranges than the frame holds */
  VQ_ERR_FRAME_DATAGRAM_LENGTH = -40,

  /* Transport parameters (RFC 9000 §18, §7.4): TRANSPORT_PARAMETER_ERROR. */
  VQ_ERR_TP_TRUNCATED = -50,
  VQ_ERR_TP_DUPLICATE = -51,            /* §7.4 */
  VQ_ERR_TP_VALUE = -52,                /* a value out of its range (§18.2) */
  VQ_ERR_TP_LENGTH = -53,               /* a parameter whose length does not match its value */
  VQ_ERR_TP_SERVER_ONLY = -54,          /* a server-only parameter sent by a client (§18.2) */
  VQ_ERR_TP_TOO_MANY = -55,             /* more parameters than the decoder keeps */
  VQ_ERR_TP_MISSING = -56,              /* a required parameter is absent (§7.3) */

  /* Transport state (used by src/transport). */
  VQ_ERR_FLOW_CONTROL = -70,
  VQ_ERR_STREAM_LIMIT = -71,
  VQ_ERR_STREAM_STATE = -72,
  VQ_ERR_FINAL_SIZE = -73,
  VQ_ERR_CONNECTION_ID_LIMIT = -74,
  VQ_ERR_PROTOCOL_VIOLATION = -75,
  VQ_ERR_CRYPTO_BUFFER_EXCEEDED = -76,
  VQ_ERR_INTERNAL = -77,
  VQ_ERR_NOMEM = -78,
  VQ_ECANCELED = -79,
  VQ_ERR_BUDGET = -80,            /* the cx's work budget is spent: try again with more */

  /* Packet protection / TLS (RFC 9001): packet-level failures drop the packet (RFC 9001 §5.5). */
  VQ_ERR_DECRYPT = -90,                 /* AEAD authentication failed (RFC 9000 §12.2, RFC 9001 §5.5) */
  VQ_ERR_HP_SAMPLE = -91,               /* too short for the header protection sample (RFC 9001 §5.4.2) */
  VQ_ERR_RETRY_INTEGRITY = -92,         /* Retry integrity tag mismatch (RFC 9000 §17.2.5.2) */
  VQ_ERR_KEY_UPDATE = -93,              /* KEY_UPDATE_ERROR: the peer broke a key update rule
                                           (RFC 9001 §6.2, §6.4) */
  VQ_ERR_AEAD_LIMIT = -94,              /* AEAD_LIMIT_REACHED: a confidentiality or integrity limit
                                           (RFC 9001 §6.6) */
  VQ_ERR_KEY_UPDATE_BLOCKED = -95,      /* local: a key update may not be initiated now (handshake not
                                           confirmed, or no packet of the current key phase
                                           acknowledged yet, RFC 9001 §6.1): try again later */

  /* HTTP/3 and QPACK (RFC 9114 §8.1, RFC 9204 §6): application error codes, VQ_DISP_CLOSE_APP. */
  VQ_ERR_QPACK_DECOMPRESSION = -110,    /* QPACK_DECOMPRESSION_FAILED 0x200: a field section */
  VQ_ERR_QPACK_ENCODER_STREAM = -111,   /* QPACK_ENCODER_STREAM_ERROR 0x201 */
  VQ_ERR_QPACK_DECODER_STREAM = -112,   /* QPACK_DECODER_STREAM_ERROR 0x202 */
  VQ_ERR_QPACK_INTEGER = -113,          /* primitive: integer > 2^62-1; the codec maps it by stream */
  VQ_ERR_QPACK_HUFFMAN = -114,          /* primitive: EOS or bad padding; mapped by stream likewise */
  VQ_ERR_QPACK_BLOCKED = -115,          /* not an error: section waits for inserts (RFC 9204 §2.1.2) */
  /* HTTP/3 frames and streams (RFC 9114 §6.2, §7): application errors, VQ_DISP_CLOSE_APP with the
   * RFC 9114 §8.1 code, except VQ_ERR_H3_NEED_MORE (not an error: read more stream bytes). */
  VQ_ERR_H3_NEED_MORE = -150,           /* streaming parser: the element continues past the input */
  VQ_ERR_H3_FRAME = -151,               /* H3_FRAME_ERROR: payload not exactly its fields (§7.1) */
  VQ_ERR_H3_FRAME_UNEXPECTED = -152,    /* H3_FRAME_UNEXPECTED: frame not allowed here (§7.2, §4.1) */
  VQ_ERR_H3_EXCESSIVE_LOAD = -153,      /* H3_EXCESSIVE_LOAD: frame over the caller's bound (§10.5) */
  VQ_ERR_H3_SETTINGS = -154,            /* H3_SETTINGS_ERROR (§7.2.4, §7.2.4.1) */
  VQ_ERR_H3_MISSING_SETTINGS = -155,    /* H3_MISSING_SETTINGS: control stream not led by SETTINGS */
  VQ_ERR_H3_ID = -156,                  /* H3_ID_ERROR: GOAWAY / push ID rules (§5.2, §7.2.6) */
  /* The HTTP/3 session (RFC 9114 §4 - §6, include/vquic/h3conn.h). Stream errors (H3_MESSAGE_ERROR,
   * H3_REQUEST_*) reset one stream and leave the connection open; the session applies them itself
   * and returns them only from the API call that concerns that stream. */
  VQ_ERR_H3_CLOSED_CRITICAL_STREAM = -190, /* H3_CLOSED_CRITICAL_STREAM (§6.2.1, RFC 9204 §4.2) */
  VQ_ERR_H3_STREAM_CREATION = -191,     /* H3_STREAM_CREATION_ERROR (§6.1, §6.2.1, §6.2.2) */
  VQ_ERR_H3_MESSAGE = -192,             /* H3_MESSAGE_ERROR: malformed message (§4.1.2), stream error */
  VQ_ERR_H3_REQUEST_CANCELLED = -193,   /* H3_REQUEST_CANCELLED (§4.1.1), stream error */
  VQ_ERR_H3_REQUEST_REJECTED = -194,    /* H3_REQUEST_REJECTED (§4.1.1, §5.2), stream error */
  VQ_ERR_H3_REQUEST_INCOMPLETE = -195,  /* H3_REQUEST_INCOMPLETE (§4.1), stream error */
  VQ_ERR_H3_GOING_AWAY = -196,          /* local: the peer sent GOAWAY, no new request (§5.2) */
  VQ_ERR_H3_CLOSED = -197,              /* local: the session is closed (after a connection error) */
  VQ_ERR_H3_FIELD_SECTION_TOO_LARGE = -198, /* local: over the peer's MAX_FIELD_SECTION_SIZE (§4.2.2) */
  /* TLS handshake messages (RFC 8446 §4, RFC 9001 §8): CRYPTO_ERROR 0x100 + the TLS alert
   * (RFC 9001 §4.8) unless said otherwise; vq_status_tls_alert() gives the alert. */
  VQ_ERR_TLS_NEED_MORE = -130,          /* not an error: the message is not complete yet (CRYPTO stream) */
  VQ_ERR_TLS_DECODE = -131,             /* decode_error (50): malformed message or vector length */
  VQ_ERR_TLS_ILLEGAL_PARAMETER = -132,  /* illegal_parameter (47) */
  VQ_ERR_TLS_DUPLICATE_EXTENSION = -133,/* illegal_parameter (47): same type twice (RFC 8446 §4.2) */
  VQ_ERR_TLS_MISSING_EXTENSION = -134,  /* missing_extension (109) */
  VQ_ERR_TLS_UNSUPPORTED_EXTENSION = -135, /* unsupported_extension (110) */
  VQ_ERR_TLS_UNEXPECTED_MESSAGE = -136, /* unexpected_message (10): e.g. KeyUpdate in QUIC */
  VQ_ERR_TLS_PROTOCOL_VERSION = -137,   /* protocol_version (70): TLS 1.3 not offered/selected */
  VQ_ERR_TLS_EXT_LIMIT = -138,          /* decode_error (50): more distinct unknown extensions than
                                           VQ_TLS_UNKNOWN_EXT_MAX (a documented bound) */
  VQ_ERR_TLS_QUIC_SESSION_ID = -139,    /* PROTOCOL_VIOLATION: non-empty legacy_session_id (RFC 9001 §8.4) */
  VQ_ERR_TLS_QUIC_EARLY_DATA = -140,    /* PROTOCOL_VIOLATION: max_early_data_size != 0xffffffff
                                           (RFC 9001 §4.6.1) */
  /* TLS handshake state machine (src/tls/hs*.c): CRYPTO_ERROR 0x100 + the alert unless said otherwise. */
  VQ_ERR_TLS_HANDSHAKE_FAILURE = -160,  /* handshake_failure (40): no common suite, group or scheme */
  VQ_ERR_TLS_BAD_CERTIFICATE = -161,    /* bad_certificate (42): unparsable, name mismatch ... */
  VQ_ERR_TLS_UNSUPPORTED_CERTIFICATE = -162, /* unsupported_certificate (43): key type, purpose */
  VQ_ERR_TLS_CERTIFICATE_REVOKED = -163,/* certificate_revoked (44) */
  VQ_ERR_TLS_CERTIFICATE_EXPIRED = -164,/* certificate_expired (45) */
  VQ_ERR_TLS_CERTIFICATE_UNKNOWN = -165,/* certificate_unknown (46): other chain failures */
  VQ_ERR_TLS_UNKNOWN_CA = -166,         /* unknown_ca (48): no path to a trust anchor */
  VQ_ERR_TLS_DECRYPT_ERROR = -167,      /* decrypt_error (51): Finished or signature check failed */
  VQ_ERR_TLS_INTERNAL_ERROR = -168,     /* internal_error (80): a libcrypto operation failed */
  VQ_ERR_TLS_NO_APPLICATION_PROTOCOL = -169, /* no_application_protocol (120): RFC 9001 §8.1 */
  VQ_ERR_TLS_MESSAGE_TOO_LARGE = -170,  /* illegal_parameter (47): a handshake message over the
                                           receiver's bound (VQ_TLS_MAX_MSG) */
  VQ_ERR_TLS_KEY_CHANGE_LEFTOVER = -171,/* PROTOCOL_VIOLATION: handshake bytes at an encryption level
                                           the peer has moved past (RFC 9001 §4.1.3) */
  VQ_ERR_TLS_SESSION_INVALID = -172,    /* local (VQ_DISP_NONE): a vq_tls session blob (tls.h) that is
                                           truncated, of another format version, or corrupted (its
                                           checksum does not match): nothing is offered */
  /* The POSIX driver (include/vquic/posix.h): local errors, VQ_DISP_NONE. */
  /* Address validation tokens (src/transport/token.c, RFC 9000 §8.1). */
  VQ_ERR_TOKEN_INVALID = -200,          /* not ours, altered, or for another address: a Retry token
                                           closes with INVALID_TOKEN (§8.1.2); NEW_TOKEN ones are ignored */
  VQ_ERR_TOKEN_EXPIRED = -201,          /* authentic but past its lifetime (§8.1.3) */
  VQ_ERR_ADDR_SYNTAX = -220,            /* address text is not host:port, or the port is bad */
  VQ_ERR_ADDR_RESOLVE = -221,           /* the host name did not resolve */
  VQ_ERR_ADDR_UNAVAILABLE = -222,       /* address or address family not available on this host */
  VQ_ERR_ADDR_IN_USE = -223,            /* another socket holds the address and port */
  VQ_ERR_SYSCALL = -224,                /* a system call failed: errno says why */
  VQ_ERR_MSG_SIZE = -225,               /* datagram larger than the interface or path allows */
  /* Connection IDs (src/transport/cidmgr.c) and DATAGRAM (src/transport/dgram.c, RFC 9221). */
  VQ_ERR_CID_UNAVAILABLE = -230,        /* local: no unused peer connection ID to switch to */
  VQ_ERR_CID_FULL = -231,               /* local: issuing another CID would exceed the peer's
                                           active_connection_id_limit or our storage (§5.1.1) */
  VQ_ERR_CID_DUPLICATE = -232,          /* local: that CID is already issued: draw another (§5.1) */
  VQ_ERR_CID_RETIRE_LIMIT = -233,       /* CONNECTION_ID_LIMIT_ERROR: too many retirements are
                                           outstanding (RFC 9000 §5.1.2) */
  VQ_ERR_DGRAM_TOO_LARGE = -234,        /* local: over the peer's max_datagram_frame_size or the
                                           room of one packet (RFC 9221 §3, §5) */
  VQ_ERR_DGRAM_QUEUE_FULL = -235,       /* local: the send queue refuses new datagrams */
  VQ_ERR_DGRAM_DISABLED = -236,         /* local: the peer did not advertise DATAGRAM support */
  VQ_ERR_DGRAM_PROTOCOL = -237,         /* PROTOCOL_VIOLATION: a DATAGRAM frame we did not allow
                                           or larger than our max_datagram_frame_size (RFC 9221 §3) */
  VQ_ERR_CID_EXHAUSTED = -238,          /* local: the endpoint's CID counter range is used up: it
                                           issues no more CIDs rather than repeat one (§10.3.2) */
} vq_status;

/* RFC 9000 §20.1 transport error codes. */
#define VQ_TE_NO_ERROR 0x00u
#define VQ_TE_INTERNAL_ERROR 0x01u
#define VQ_TE_CONNECTION_REFUSED 0x02u
#define VQ_TE_FLOW_CONTROL_ERROR 0x03u
#define VQ_TE_STREAM_LIMIT_ERROR 0x04u
#define VQ_TE_STREAM_STATE_ERROR 0x05u
#define VQ_TE_FINAL_SIZE_ERROR 0x06u
#define VQ_TE_FRAME_ENCODING_ERROR 0x07u
#define VQ_TE_TRANSPORT_PARAMETER_ERROR 0x08u
#define VQ_TE_CONNECTION_ID_LIMIT_ERROR 0x09u
#define VQ_TE_PROTOCOL_VIOLATION 0x0au
#define VQ_TE_INVALID_TOKEN 0x0bu
#define VQ_TE_APPLICATION_ERROR 0x0cu
#define VQ_TE_CRYPTO_BUFFER_EXCEEDED 0x0du
#define VQ_TE_KEY_UPDATE_ERROR 0x0eu
#define VQ_TE_AEAD_LIMIT_REACHED 0x0fu
#define VQ_TE_NO_VIABLE_PATH 0x10u
#define VQ_TE_VERSION_NEGOTIATION_ERROR 0x11u /* RFC 9368 §4 */
#define VQ_TE_CRYPTO_ERROR(alert) (0x0100u + (alert))

/* RFC 9204 §6 QPACK error codes (HTTP/3 application errors). */
#define VQ_H3_QPACK_DECOMPRESSION_FAILED 0x200u
#define VQ_H3_QPACK_ENCODER_STREAM_ERROR 0x201u
#define VQ_H3_QPACK_DECODER_STREAM_ERROR 0x202u

/* What a status means on the wire. */
typedef enum vq_disposition {
  VQ_DISP_NONE = 0,        /* success, or a local error that never reaches the wire */
  VQ_DISP_DROP_PACKET,     /* discard the packet silently (RFC 9000 §5.2, §12.2) */
  VQ_DISP_CLOSE,           /* close the connection with vq_status_transport_error() */
  VQ_DISP_CLOSE_APP,       /* close with CONNECTION_CLOSE 0x1d and vq_status_app_error() (RFC 9000
                              §19.19); where only 0x1c may be sent, APPLICATION_ERROR (§10.2.3) */
} vq_disposition;

vq_disposition vq_status_disposition(vq_status s);
/* The RFC 9000 §20.1 code a status closes the connection with (INTERNAL_ERROR for local errors). */
uint64_t vq_status_transport_error(vq_status s);
/* The application (HTTP/3) error code of a VQ_DISP_CLOSE_APP status; H3_INTERNAL_ERROR otherwise. */
uint64_t vq_status_app_error(vq_status s);
/* The symbolic name ("FRAME_ENCODING_ERROR") of a transport error code, or NULL if unknown. */
const char *vq_transport_error_name(uint64_t code);
/* A fixed reason phrase for a status, suitable for CONNECTION_CLOSE (never NULL). */
const char *vq_status_reason(vq_status s);
/* The TLS alert (RFC 8446 §6) a TLS status stands for, or -1 when the status is not a TLS alert. */
int vq_status_tls_alert(vq_status s);

#endif
