/* vquic — ACSL logic for packet headers (RFC 9000 §17). Pure logic. */
#ifndef VQ_PACKET_ACSL_H
#define VQ_PACKET_ACSL_H

#include "vquic/packet.h"

/*@
  // The fields of a parsed header lie inside its packet, which lies inside the datagram.
  predicate vq_hdr_within{L}(vq_pkt_header *h, integer len) =
    1 <= h->packet_len <= len &&
    h->dcid_off + h->dcid_len <= h->packet_len &&
    h->scid_off + h->scid_len <= h->packet_len &&
    h->token_off + h->token_len <= h->packet_len;

  // What a successful parse guarantees per packet type.
  predicate vq_hdr_ok{L}(vq_pkt_header *h, integer len) =
    vq_hdr_within(h, len) &&
    ((h->type == VQ_PKT_INITIAL || h->type == VQ_PKT_0RTT || h->type == VQ_PKT_HANDSHAKE) ==>
       h->dcid_len <= 20 && h->scid_len <= 20 && h->length >= 1 &&
       h->pn_off + h->length == h->packet_len) &&
    (h->type == VQ_PKT_1RTT ==> h->dcid_len <= 20 && h->pn_off < h->packet_len &&
       h->packet_len == len) &&
    (h->type == VQ_PKT_RETRY ==> h->dcid_len <= 20 && h->scid_len <= 20 && h->token_len >= 1 &&
       h->tag_off == h->token_off + h->token_len && h->tag_off + 16 == h->packet_len &&
       h->packet_len == len) &&
    (h->type == VQ_PKT_VERSION_NEGOTIATION ==> h->versions_count >= 1 &&
       h->versions_off + 4 * h->versions_count == h->packet_len && h->packet_len == len) &&
    (h->type == VQ_PKT_INITIAL || h->type == VQ_PKT_0RTT || h->type == VQ_PKT_HANDSHAKE ||
     h->type == VQ_PKT_1RTT || h->type == VQ_PKT_RETRY || h->type == VQ_PKT_VERSION_NEGOTIATION);
*/

#endif
