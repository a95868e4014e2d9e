/* vquic — TLS 1.3 handshake message codecs for QUIC (RFC 8446 §4, RFC 9001 §8).
 *
 * Parsers never allocate and never copy: every variable-length field is a vq_tls_span pointing into the
 * caller's input, which must outlive the parsed structure. List-valued fields (cipher suites, groups,
 * signature schemes, versions, ALPN names, key shares, PSK identities and binders, certificate entries)
 * are kept as the validated wire-form contents of the list, without its length prefix; the iterators
 * below walk them. Parsers check the syntax of RFC 8446 (every vector against its declared bounds,
 * extensions against the messages they may appear in, duplicates); the vq_tls_quic_check_* functions add
 * the rules of RFC 9001 that depend only on one message. What depends on the handshake state (an
 * extension the client did not offer, a cipher suite not offered, ...) is the state machine's job.
 *
 * Encoders write into buf[0..cap) and never past cap; length prefixes are reserved and back-patched.
 * They return VQ_ERR_BUFFER_TOO_SMALL when the message does not fit and VQ_ERR_INVALID_ARGUMENT when a
 * field is outside its vector's bounds (nothing meaningful is left in buf then).
 *
 * Bookkeeping bound: an extension block records each known extension once (presence and position) and
 * at most VQ_TLS_UNKNOWN_EXT_MAX distinct unknown types; a duplicate check costs at most that many
 * comparisons per extension, so the work on any block is O(n * VQ_TLS_UNKNOWN_EXT_MAX). A block with
 * more distinct unknown types is rejected with VQ_ERR_TLS_EXT_LIMIT (decode_error). */
#ifndef VQUIC_TLSMSG_H
#define VQUIC_TLSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"

typedef struct vq_tls_span {
  const uint8_t *p;
  size_t len;
} vq_tls_span;

/* Handshake message types (RFC 8446 §4). */
#define VQ_TLS_CLIENT_HELLO 1u
#define VQ_TLS_SERVER_HELLO 2u
#define VQ_TLS_NEW_SESSION_TICKET 4u
#define VQ_TLS_END_OF_EARLY_DATA 5u
#define VQ_TLS_ENCRYPTED_EXTENSIONS 8u
#define VQ_TLS_CERTIFICATE 11u
#define VQ_TLS_CERTIFICATE_REQUEST 13u
#define VQ_TLS_CERTIFICATE_VERIFY 15u
#define VQ_TLS_FINISHED 20u
#define VQ_TLS_KEY_UPDATE 24u
#define VQ_TLS_MESSAGE_HASH 254u

#define VQ_TLS_HS_HEADER_LEN 4u
#define VQ_TLS_MAX_BODY 16777215u /* uint24: the largest message body */
#define VQ_TLS_RANDOM_LEN 32u
#define VQ_TLS_VERSION_13 0x0304u
#define VQ_TLS_LEGACY_VERSION 0x0303u
#define VQ_TLS_GROUP_X25519 0x001du

/* Extension code points (RFC 8446 §4.2, RFC 6066, RFC 7301, RFC 9001 §8.2). */
#define VQ_TLS_EXT_TYPE_SERVER_NAME 0u
#define VQ_TLS_EXT_TYPE_SUPPORTED_GROUPS 10u
#define VQ_TLS_EXT_TYPE_SIGNATURE_ALGORITHMS 13u
#define VQ_TLS_EXT_TYPE_ALPN 16u
#define VQ_TLS_EXT_TYPE_PRE_SHARED_KEY 41u
#define VQ_TLS_EXT_TYPE_EARLY_DATA 42u
#define VQ_TLS_EXT_TYPE_SUPPORTED_VERSIONS 43u
#define VQ_TLS_EXT_TYPE_COOKIE 44u
#define VQ_TLS_EXT_TYPE_PSK_KEY_EXCHANGE_MODES 45u
#define VQ_TLS_EXT_TYPE_SIGNATURE_ALGORITHMS_CERT 50u
#define VQ_TLS_EXT_TYPE_KEY_SHARE 51u
#define VQ_TLS_EXT_TYPE_QUIC_TRANSPORT_PARAMETERS 57u

/* Index of each known extension in vq_tls_exts (the order the encoders write them in; pre_shared_key
 * last, as RFC 8446 §4.2.11 requires in a ClientHello). */
typedef enum vq_tls_ext_id {
  VQ_TLS_EXT_SERVER_NAME = 0,
  VQ_TLS_EXT_SUPPORTED_VERSIONS,
  VQ_TLS_EXT_SUPPORTED_GROUPS,
  VQ_TLS_EXT_SIGNATURE_ALGORITHMS,
  VQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT,
  VQ_TLS_EXT_ALPN,
  VQ_TLS_EXT_KEY_SHARE,
  VQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES,
  VQ_TLS_EXT_COOKIE,
  VQ_TLS_EXT_EARLY_DATA,
  VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS,
  VQ_TLS_EXT_PRE_SHARED_KEY,
  VQ_TLS_EXT_KNOWN
} vq_tls_ext_id;

#define VQ_TLS_UNKNOWN_EXT_MAX 64u

/* The message an extension block belongs to (RFC 8446 §4.2's table). */
typedef enum vq_tls_ext_ctx {
  VQ_TLS_CTX_CH = 0,  /* ClientHello */
  VQ_TLS_CTX_SH,      /* ServerHello */
  VQ_TLS_CTX_HRR,     /* HelloRetryRequest */
  VQ_TLS_CTX_EE,      /* EncryptedExtensions */
  VQ_TLS_CTX_CT,      /* Certificate (per CertificateEntry) */
  VQ_TLS_CTX_CR,      /* CertificateRequest */
  VQ_TLS_CTX_NST      /* NewSessionTicket */
} vq_tls_ext_ctx;

/* One extension block, parsed. `has[id]` is 0 or 1 (a second one is an error); `raw[id]` is where its
 * extension_data is. Typed values are filled for the extensions present; list fields hold the list's
 * contents (without the length prefix). */
typedef struct vq_tls_exts {
  uint8_t has[VQ_TLS_EXT_KNOWN];
  vq_tls_span raw[VQ_TLS_EXT_KNOWN];
  uint16_t unknown_type[VQ_TLS_UNKNOWN_EXT_MAX]; /* the distinct unknown types, in order */
  size_t n_unknown;                              /* how many unknown extensions (all distinct) */
  size_t n_ext;                                  /* extensions in the block */

  vq_tls_span server_name;        /* CH: the host_name (empty if the list names no host_name);
                                     EE: empty (acknowledgement) */
  vq_tls_span supported_versions; /* CH: ProtocolVersion list (2 bytes each) */
  uint16_t selected_version;      /* SH/HRR */
  vq_tls_span groups;             /* NamedGroup list (2 bytes each) */
  vq_tls_span sig_algs;           /* SignatureScheme list (2 bytes each) */
  vq_tls_span sig_algs_cert;      /* SignatureScheme list (2 bytes each) */
  vq_tls_span alpn;               /* ProtocolNameList contents; SH/EE: exactly one name */
  vq_tls_span key_shares;         /* CH: KeyShareEntry list contents */
  uint16_t key_share_group;       /* SH: the server share's group; HRR: selected_group */
  vq_tls_span key_share;          /* SH: the server's key_exchange */
  vq_tls_span psk_modes;          /* PskKeyExchangeMode list (1 byte each) */
  vq_tls_span cookie;             /* CH/HRR: the cookie */
  vq_tls_span quic_tp;            /* quic_transport_parameters: opaque, for src/core's codec
                                     (the same bytes as raw[VQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS]) */
  uint32_t max_early_data;        /* NST early_data */
  vq_tls_span psk_identities;     /* CH: PskIdentity list contents */
  vq_tls_span psk_binders;        /* CH: PskBinderEntry list contents; the binders' length prefix is
                                     the 2 bytes before psk_binders.p (RFC 8446 §4.2.11.2) */
  size_t psk_count;               /* CH: number of identities (= number of binders) */
  uint16_t psk_selected;          /* SH: selected_identity */
} vq_tls_exts;

/* Handshake framing. */
typedef struct vq_tls_msg {
  uint8_t type;
  vq_tls_span body;  /* the message body (after the 4-byte header) */
  size_t size;       /* header + body */
} vq_tls_msg;

typedef struct vq_tls_client_hello {
  uint16_t legacy_version;
  const uint8_t *random; /* 32 bytes */
  vq_tls_span session_id; /* RFC 9001 §8.4: must be empty in QUIC (vq_tls_quic_check_client_hello) */
  vq_tls_span cipher_suites; /* 2 bytes each */
  int has_extensions;      /* 0 for a pre-TLS-1.3 hello without an extension block */
  vq_tls_exts ext;
} vq_tls_client_hello;

typedef struct vq_tls_server_hello {
  int is_hrr;              /* random is the HelloRetryRequest value of RFC 8446 §4.1.3 */
  uint16_t legacy_version;
  const uint8_t *random;   /* 32 bytes */
  vq_tls_span session_id_echo;
  uint16_t cipher_suite;
  vq_tls_exts ext;
} vq_tls_server_hello;

typedef struct vq_tls_encrypted_extensions {
  vq_tls_exts ext;
} vq_tls_encrypted_extensions;

typedef struct vq_tls_certificate {
  vq_tls_span context;
  vq_tls_span list;  /* CertificateEntry list contents: walk with vq_tls_cert_next */
  size_t count;
} vq_tls_certificate;

typedef struct vq_tls_cert_entry {
  vq_tls_span cert_data;  /* the DER certificate (or raw public key) */
  vq_tls_span extensions; /* the entry's extension block contents */
} vq_tls_cert_entry;

typedef struct vq_tls_certificate_request {
  vq_tls_span context;
  vq_tls_exts ext;
} vq_tls_certificate_request;

typedef struct vq_tls_certificate_verify {
  uint16_t algorithm;
  vq_tls_span signature;
} vq_tls_certificate_verify;

typedef struct vq_tls_new_session_ticket {
  uint32_t lifetime;
  uint32_t age_add;
  vq_tls_span nonce;
  vq_tls_span ticket;
  vq_tls_exts ext;
} vq_tls_new_session_ticket;

typedef struct vq_tls_key_share_entry {
  uint16_t group;
  vq_tls_span key_exchange;
} vq_tls_key_share_entry;

typedef struct vq_tls_psk_identity {
  vq_tls_span identity;
  uint32_t obfuscated_ticket_age;
} vq_tls_psk_identity;

/* ---- framing ---------------------------------------------------------------------------------- */
/* Splits one handshake message off buf[0..len). VQ_ERR_TLS_NEED_MORE when the message is not complete. */
vq_status vq_tls_msg_split(const uint8_t *buf, size_t len, vq_tls_msg *msg);

/* ---- parsers (the body of a message, as vq_tls_msg_split gives it) ------------------------------ */
vq_status vq_tls_parse_client_hello(const uint8_t *b, size_t len, vq_tls_client_hello *ch);
vq_status vq_tls_parse_server_hello(const uint8_t *b, size_t len, vq_tls_server_hello *sh);
vq_status vq_tls_parse_encrypted_extensions(const uint8_t *b, size_t len,
                                            vq_tls_encrypted_extensions *ee);
vq_status vq_tls_parse_certificate(const uint8_t *b, size_t len, vq_tls_certificate *ct);
vq_status vq_tls_parse_certificate_request(const uint8_t *b, size_t len,
                                           vq_tls_certificate_request *cr);
vq_status vq_tls_parse_certificate_verify(const uint8_t *b, size_t len,
                                          vq_tls_certificate_verify *cv);
/* verify_data must be exactly hash_len bytes (32 or 48 for the QUIC cipher suites). */
vq_status vq_tls_parse_finished(const uint8_t *b, size_t len, size_t hash_len, vq_tls_span *verify_data);
vq_status vq_tls_parse_new_session_ticket(const uint8_t *b, size_t len,
                                          vq_tls_new_session_ticket *nst);
/* Walks one extension block's contents (without its length prefix) for the given message. */
vq_status vq_tls_parse_extensions(const uint8_t *b, size_t len, vq_tls_ext_ctx ctx, vq_tls_exts *e);

/* ---- iterators over validated lists: *off starts at 0; VQ_ERR_TLS_DECODE at the end ------------- */
/* The i-th 2-byte value of a list of uint16 (cipher suites, groups, signature schemes, versions). */
uint16_t vq_tls_u16_at(vq_tls_span list, size_t i);
vq_status vq_tls_alpn_next(vq_tls_span list, size_t *off, vq_tls_span *name);
vq_status vq_tls_key_share_next(vq_tls_span list, size_t *off, vq_tls_key_share_entry *e);
vq_status vq_tls_psk_identity_next(vq_tls_span list, size_t *off, vq_tls_psk_identity *id);
vq_status vq_tls_psk_binder_next(vq_tls_span list, size_t *off, vq_tls_span *binder);
vq_status vq_tls_cert_next(vq_tls_span list, size_t *off, vq_tls_cert_entry *e);

/* ---- RFC 9001 rules on single messages ---------------------------------------------------------- */
/* ClientHello: offers TLS 1.3 (protocol_version), carries quic_transport_parameters
 * (missing_extension), empty legacy_session_id (PROTOCOL_VIOLATION, §8.4). */
vq_status vq_tls_quic_check_client_hello(const vq_tls_client_hello *ch);
/* ServerHello / HRR: selects TLS 1.3 (protocol_version). */
vq_status vq_tls_quic_check_server_hello(const vq_tls_server_hello *sh);
/* EncryptedExtensions: carries quic_transport_parameters (missing_extension). */
vq_status vq_tls_quic_check_encrypted_extensions(const vq_tls_encrypted_extensions *ee);
/* NewSessionTicket: early_data's max_early_data_size, if present, is 0xffffffff (§4.6.1). */
vq_status vq_tls_quic_check_new_session_ticket(const vq_tls_new_session_ticket *nst);
/* A handshake message type QUIC forbids: KeyUpdate (§6) and EndOfEarlyData (§8.3). */
vq_status vq_tls_quic_check_msg_type(uint8_t type);

/* ---- encoders: the whole message, header included; *used is its size --------------------------
 * The message structures are the parsers' (list fields in wire form, without their length prefix).
 * Extensions are written in vq_tls_ext_id order for those with has[id] set; unknown ones are not kept
 * by the parser and not written. The encoders of messages with nested vectors (ClientHello,
 * ServerHello, EncryptedExtensions, Certificate, NewSessionTicket) parse what they wrote before
 * returning VQ_OK, so their output always satisfies the parser (else VQ_ERR_INVALID_ARGUMENT); for
 * CertificateVerify and Finished the length checks are the whole syntax. A ClientHello's server_name
 * is written as one host_name, which must not be empty. In a ClientHello with pre_shared_key, the
 * binders are the last psk_binders.len bytes of the message (RFC 8446 §4.2.11.2): write them as
 * zeros, hash the message up to them, then fill them in place. */
vq_status vq_tls_build_client_hello(uint8_t *buf, size_t cap, const vq_tls_client_hello *ch,
                                    size_t *used);
vq_status vq_tls_build_server_hello(uint8_t *buf, size_t cap, const vq_tls_server_hello *sh,
                                    size_t *used);
vq_status vq_tls_build_encrypted_extensions(uint8_t *buf, size_t cap,
                                            const vq_tls_encrypted_extensions *ee, size_t *used);
/* ct->list is the CertificateEntry list contents; vq_tls_build_cert_entry writes one entry (a DER
 * certificate with an empty extension block) for the caller to append to such a list. */
vq_status vq_tls_build_certificate(uint8_t *buf, size_t cap, const vq_tls_certificate *ct,
                                   size_t *used);
vq_status vq_tls_build_cert_entry(uint8_t *buf, size_t cap, vq_tls_span der, size_t *used);
vq_status vq_tls_build_certificate_verify(uint8_t *buf, size_t cap,
                                          const vq_tls_certificate_verify *cv, size_t *used);
vq_status vq_tls_build_finished(uint8_t *buf, size_t cap, vq_tls_span verify_data, size_t *used);
vq_status vq_tls_build_new_session_ticket(uint8_t *buf, size_t cap,
                                          const vq_tls_new_session_ticket *nst, size_t *used);

/* The special ServerHello.random that marks a HelloRetryRequest (RFC 8446 §4.1.3). */
extern const uint8_t vq_tls_hrr_random[32];

#endif
