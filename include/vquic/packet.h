/* vquic — QUIC packet headers (RFC 9000 §17, RFC 8999 §5, RFC 9369 §3): parse one packet of a
 * datagram up to the protected packet number, split coalesced packets (§12.2), build headers in
 * place. Header protection and packet protection are applied by the TLS layer: the parser never
 * interprets the protected bits (reserved bits, key phase, packet number length). */
#ifndef VQUIC_PACKET_H
#define VQUIC_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include "vquic/error.h"
#include "vquic/cid.h"

#define VQ_VERSION_NEGOTIATION 0x00000000u
#define VQ_VERSION_1 0x00000001u          /* RFC 9000 */
#define VQ_VERSION_2 0x6b3343cfu          /* RFC 9369 §3.1 */
/* spec: rfc8999#5.1 — a connection ID of an unknown version is up to 255 bytes. */
#define VQ_CID_MAX_LEN_ANY 255u
/* spec: rfc9000#17.2.5 — the Retry Integrity Tag is 16 bytes. */
#define VQ_RETRY_TAG_LEN 16u
/* spec: rfc9000#14.1 — a client's datagram carrying an Initial is at least 1200 bytes. */
#define VQ_MIN_INITIAL_DATAGRAM 1200u

typedef enum vq_pkt_type {
  VQ_PKT_INITIAL = 0,
  VQ_PKT_0RTT = 1,
  VQ_PKT_HANDSHAKE = 2,
  VQ_PKT_RETRY = 3,
  VQ_PKT_VERSION_NEGOTIATION = 4,
  VQ_PKT_1RTT = 5,                  /* short header */
  VQ_PKT_UNKNOWN_VERSION = 6,       /* long header of a version this stack does not speak */
} vq_pkt_type;

/* A parsed header. Offsets are from the start of the packet (the buf given to vq_packet_parse). */
typedef struct vq_pkt_header {
  vq_pkt_type type;
  uint8_t first;          /* the first byte as received (its low bits may still be protected) */
  uint32_t version;       /* long headers; 0 for short headers */
  size_t dcid_off, dcid_len;
  size_t scid_off, scid_len; /* long headers */
  size_t token_off, token_len; /* Initial token, or Retry token */
  size_t token_len_size;  /* bytes of the Initial's Token Length varint (0 otherwise) */
  uint64_t length;        /* Length field (Initial, 0-RTT, Handshake) */
  size_t length_size;     /* bytes of the Length varint (0 when there is none) */
  size_t pn_off;          /* where the protected packet number begins (Initial/0-RTT/Handshake/1-RTT) */
  size_t tag_off;         /* Retry: offset of the 16-byte Retry Integrity Tag */
  size_t versions_off, versions_count; /* Version Negotiation: the Supported Version list */
  uint8_t spin;           /* short header: the latency spin bit (not protected, §17.4) */
  size_t packet_len;      /* bytes of this packet; the next coalesced packet starts there */
} vq_pkt_header;

/* Parses the packet at buf[0..len) (the rest of the datagram) as a receiver whose short-header
 * connection IDs are short_dcid_len bytes (0..20). On VQ_OK, *h describes it and h->packet_len
 * (1..len) is where the next coalesced packet begins. Statuses (the packet is dropped):
 *   VQ_ERR_PACKET_TRUNCATED  the datagram ends inside the header (or before a packet number byte);
 *   VQ_ERR_PACKET_FIXED_BIT  fixed bit 0 in a v1/v2 or short header (RFC 9000 §17.2, §17.3.1);
 *   VQ_ERR_PACKET_CID_TOO_LONG  a v1/v2 connection ID over 20 bytes;
 *   VQ_ERR_PACKET_TOKEN      the Initial's Token Length exceeds the datagram;
 *   VQ_ERR_PACKET_LENGTH     the Length field exceeds the datagram;
 *   VQ_ERR_PACKET_VN_EMPTY   Version Negotiation without a version, VQ_ERR_PACKET_TRUNCATED when its
 *                            list is not a multiple of 4 bytes;
 *   VQ_ERR_PACKET_RETRY      Retry without room for a non-empty token and its 16-byte tag;
 *   VQ_ERR_PACKET_VERSION    a long header of an unknown version: h->type is VQ_PKT_UNKNOWN_VERSION and
 *                            h->version, dcid and scid (up to 255 bytes each, RFC 8999 §5.1) are set
 *                            so the caller can answer with Version Negotiation; h->packet_len = len.
 *   VQ_ERR_INVALID_ARGUMENT  short_dcid_len > 20. */
vq_status vq_packet_parse(const uint8_t *buf, size_t len, size_t short_dcid_len, vq_pkt_header *h);

/* The i-th version of a parsed Version Negotiation packet (VQ_ERR_INVALID_ARGUMENT if h is not one
 * or i is out of range, or the list does not lie inside buf[0..len)). */
vq_status vq_packet_vn_version(const uint8_t *buf, size_t len, const vq_pkt_header *h, size_t i,
                               uint32_t *version);

/* What a long header builder needs. */
typedef struct vq_long_header_spec {
  vq_pkt_type type;        /* VQ_PKT_INITIAL, VQ_PKT_0RTT or VQ_PKT_HANDSHAKE */
  uint32_t version;        /* VQ_VERSION_1 or VQ_VERSION_2 */
  const vq_cid *dcid;
  const vq_cid *scid;
  const uint8_t *token;    /* Initial only (may be NULL when token_len is 0) */
  size_t token_len;
  size_t pn_len;           /* 1..4: written into the Packet Number Length bits */
  size_t length_size;      /* 2 or 4: bytes reserved for the Length varint */
} vq_long_header_spec;

/* Writes a long header into buf[0..cap) with a Length placeholder of s->length_size bytes and the
 * reserved bits 0. On VQ_OK, *length_off is where the Length goes (fill it with
 * vq_packet_set_length) and *pn_off where the packet number goes (vq_pn_write, s->pn_len bytes).
 * VQ_ERR_INVALID_ARGUMENT for a bad type/version/pn_len/length_size, a CID over 20 bytes or a token
 * outside an Initial; VQ_ERR_BUFFER_TOO_SMALL when the header and pn_len bytes do not fit. */
vq_status vq_long_header_write(uint8_t *buf, size_t cap, const vq_long_header_spec *s,
                               size_t *length_off, size_t *pn_off);

/* Fills a Length placeholder of size bytes (2 or 4) at buf[length_off] with value (the bytes of
 * packet number and payload after it, AEAD tag included). VQ_ERR_INVALID_ARGUMENT when value does not
 * fit in size bytes, VQ_ERR_BUFFER_TOO_SMALL when the placeholder is outside buf[0..cap). */
vq_status vq_packet_set_length(uint8_t *buf, size_t cap, size_t length_off, size_t size, uint64_t value);

/* Writes a short header (RFC 9000 §17.3.1): fixed bit 1, the spin bit (0/1), the key phase (0/1),
 * reserved bits 0, pn_len (1..4), then dcid. *pn_off is where the packet number goes. */
vq_status vq_short_header_write(uint8_t *buf, size_t cap, const vq_cid *dcid, unsigned spin,
                                unsigned key_phase, size_t pn_len, size_t *pn_off);

/* Writes a Version Negotiation packet (RFC 9000 §17.2.1): first byte 0x80 + unused (0..127; §17.2.1
 * recommends 0x40 set), the CIDs echoed from the client (0..255 bytes each, RFC 8999 §6), then
 * n_versions (>= 1) versions. *used is its length. */
vq_status vq_vn_write(uint8_t *buf, size_t cap, uint8_t unused, const uint8_t *dcid, size_t dcid_len,
                      const uint8_t *scid, size_t scid_len, const uint32_t *versions, size_t n_versions,
                      size_t *used);

/* Writes a Retry packet's header and token (RFC 9000 §17.2.5, RFC 9369 §3.2) and reserves room for
 * the 16-byte Retry Integrity Tag at *tag_off, which the TLS layer computes; the packet is
 * *tag_off + 16 bytes. unused (0..15) fills the four unused bits. token_len >= 1. */
vq_status vq_retry_write(uint8_t *buf, size_t cap, uint32_t version, uint8_t unused, const vq_cid *dcid,
                         const vq_cid *scid, const uint8_t *token, size_t token_len, size_t *tag_off);

/* spec: rfc9000#14.1 — 1 when a datagram of len bytes is large enough to carry a client Initial. */
int vq_initial_datagram_size_ok(size_t len);

#endif
