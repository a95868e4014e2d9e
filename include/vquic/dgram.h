/* vquic — unreliable datagrams (RFC 9221): bounded send and receive queues and the size rules.
 *
 * Queues live in caller storage (a byte buffer and an array of lengths) and are bounded both in bytes
 * and in datagrams. When a datagram does not fit, the queue's policy either drops the oldest queued
 * datagrams to make room or refuses the new one; both are counted. Sans-I/O, no allocation.
 *
 * Sizes: max_datagram_frame_size bounds the whole DATAGRAM frame — type, Length and payload
 * (RFC 9221 §3). We always send frames with a Length field (type 0x31), so a payload of n bytes
 * takes 1 + varint_len(n) + n bytes. A frame never spans packets (§5). */
#ifndef VQUIC_DGRAM_H
#define VQUIC_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"
#include "vquic/frame.h"

typedef enum vq_dgram_policy {
  VQ_DGRAM_DROP_OLDEST = 0, /* make room by dropping the oldest queued datagrams */
  VQ_DGRAM_REFUSE_NEW = 1,  /* keep the queue, refuse (send) or drop (receive) the new datagram */
} vq_dgram_policy;

/* A FIFO of datagrams: their bytes contiguous in buf[start .. start + used), their lengths in a ring. */
typedef struct vq_dgram_queue {
  uint8_t *buf;
  size_t cap_bytes;
  size_t start, used;
  size_t *lens;
  uint32_t cap_count;
  uint32_t head, n;
  vq_dgram_policy policy;
  uint64_t dropped;  /* datagrams dropped (oldest, or new ones under REFUSE_NEW on receive) */
  uint64_t refused;  /* send: datagrams refused under REFUSE_NEW */
} vq_dgram_queue;

typedef struct vq_dgram_config {
  uint8_t *tx_buf;       /* send queue: bytes and lengths */
  size_t tx_bytes;
  size_t *tx_lens;
  uint32_t tx_count;
  vq_dgram_policy tx_policy;
  uint8_t *rx_buf;       /* receive queue */
  size_t rx_bytes;
  size_t *rx_lens;
  uint32_t rx_count;
  vq_dgram_policy rx_policy;
  uint64_t local_max;    /* the max_datagram_frame_size we advertise; 0: we do not accept DATAGRAM */
} vq_dgram_config;

typedef struct vq_dgram {
  vq_dgram_queue tx, rx;
  uint64_t local_max;
  uint64_t peer_max;     /* the peer's max_datagram_frame_size; 0: absent (we must not send) */
  size_t packet_room;    /* the most frame bytes one packet can carry on the path; 0: unknown */
  uint64_t tx_too_large; /* queued datagrams dropped because the path shrank below them */
} vq_dgram;

/* The advertised value RFC 9221 §3 recommends: any DATAGRAM frame that fits in a packet. */
#define VQ_DGRAM_RECOMMENDED_MAX 65535u

/* VQ_ERR_INVALID_ARGUMENT when a queue has no storage (bytes or count 0, NULL buffers). */
vq_status vq_dgram_init(vq_dgram *d, const vq_dgram_config *cfg);
/* The peer's max_datagram_frame_size transport parameter (0 or absent: none). */
void vq_dgram_set_peer_max(vq_dgram *d, uint64_t peer_max);
/* The frame bytes one 1-RTT packet can hold on the current path (after header and AEAD tag). */
void vq_dgram_set_packet_room(vq_dgram *d, size_t room);
/* Bytes of a DATAGRAM frame (with Length) carrying len payload bytes. */
size_t vq_dgram_frame_size(size_t len);
/* The largest payload vq_dgram_send accepts now (peer limit, packet room, queue size); 0 when
 * datagrams cannot be sent. */
size_t vq_dgram_max_payload(const vq_dgram *d);

/* Queues a datagram. VQ_ERR_DGRAM_DISABLED when the peer did not advertise support (RFC 9221 §3:
 * MUST NOT send); VQ_ERR_DGRAM_TOO_LARGE when its frame exceeds the peer's max_datagram_frame_size
 * (§3), the packet room (§5) or the queue; VQ_ERR_DGRAM_QUEUE_FULL under REFUSE_NEW when the queue
 * is full (counted in tx.refused). Under DROP_OLDEST the oldest datagrams go (counted in
 * tx.dropped). The bytes are copied. */
vq_status vq_dgram_send(vq_dgram *d, const uint8_t *data, size_t len);
/* Writes the oldest queued datagram as a DATAGRAM frame into buf[0 .. room) when it fits: 1 with
 * *used set (the datagram leaves the queue), 0 when the queue is empty or the frame needs more room
 * than given (try a fresh packet). A datagram whose frame no longer fits any packet of the path
 * (packet_room shrank) is dropped (tx_too_large) rather than block the queue. */
int vq_dgram_write_frame(vq_dgram *d, uint8_t *buf, size_t room, size_t *used);
/* Datagrams waiting to be sent. */
uint32_t vq_dgram_pending(const vq_dgram *d);

/* A DATAGRAM frame arrived (f as parsed, frame_size the bytes the frame took, the `used` of
 * vq_frame_parse). VQ_ERR_DGRAM_PROTOCOL (close with PROTOCOL_VIOLATION) when we did not advertise
 * support or the frame exceeds our max_datagram_frame_size (§3). Otherwise it is queued for the
 * application (a full queue drops per rx policy: §5.3 lets a receiver drop datagrams) and VQ_OK. */
vq_status vq_dgram_on_frame(vq_dgram *d, const vq_frame_datagram *f, size_t frame_size);
/* Takes the oldest received datagram: 1 with out[0 .. *len) filled, 0 when none,
 * VQ_ERR_BUFFER_TOO_SMALL (it stays queued, *len says how much is needed) when cap is too small. */
int vq_dgram_recv(vq_dgram *d, uint8_t *out, size_t cap, size_t *len);

#endif
