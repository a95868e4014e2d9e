/* vquic — DATAGRAM send and receive queues and size rules (RFC 9221). */
#include "vquic/dgram.h"

#include <string.h>

static vq_status q_init(vq_dgram_queue *q, uint8_t *buf, size_t bytes, size_t *lens, uint32_t count,
                        vq_dgram_policy policy)
{
  if (!buf || !lens || bytes == 0 || count == 0) return VQ_ERR_INVALID_ARGUMENT;
  memset(q, 0, sizeof *q);
  q->buf = buf;
  q->cap_bytes = bytes;
  q->lens = lens;
  q->cap_count = count;
  q->policy = policy == VQ_DGRAM_REFUSE_NEW ? VQ_DGRAM_REFUSE_NEW : VQ_DGRAM_DROP_OLDEST;
  return VQ_OK;
}

static void q_pop(vq_dgram_queue *q)
{
  const size_t len = q->lens[q->head];
  q->start += len;
  q->used -= len;
  if (q->used == 0) q->start = 0;
  q->head = (q->head + 1u) % q->cap_count;
  q->n--;
}

static int q_fits(const vq_dgram_queue *q, size_t len)
{
  return q->n < q->cap_count && len <= q->cap_bytes - q->used;
}

/* Appends data (len <= cap_bytes); under DROP_OLDEST drops from the head until it fits.
 * Returns 1 when queued, 0 when refused (REFUSE_NEW and full). */
static int q_push(vq_dgram_queue *q, const uint8_t *data, size_t len)
{
  if (!q_fits(q, len)) {
    if (q->policy == VQ_DGRAM_REFUSE_NEW) return 0;
    while (!q_fits(q, len)) {
      q_pop(q);
      q->dropped++;
    }
  }
  if (q->start + q->used + len > q->cap_bytes) { /* compact: the bytes move to the front */
    memmove(q->buf, q->buf + q->start, q->used);
    q->start = 0;
  }
  if (len) memcpy(q->buf + q->start + q->used, data, len);
  q->used += len;
  q->lens[(q->head + q->n) % q->cap_count] = len;
  q->n++;
  return 1;
}

vq_status vq_dgram_init(vq_dgram *d, const vq_dgram_config *cfg)
{
  vq_status st;
  memset(d, 0, sizeof *d);
  st = q_init(&d->tx, cfg->tx_buf, cfg->tx_bytes, cfg->tx_lens, cfg->tx_count, cfg->tx_policy);
  if (st != VQ_OK) return st;
  st = q_init(&d->rx, cfg->rx_buf, cfg->rx_bytes, cfg->rx_lens, cfg->rx_count, cfg->rx_policy);
  if (st != VQ_OK) return st;
  d->local_max = cfg->local_max;
  return VQ_OK;
}

void vq_dgram_set_peer_max(vq_dgram *d, uint64_t peer_max)
{
  d->peer_max = peer_max;
}

void vq_dgram_set_packet_room(vq_dgram *d, size_t room)
{
  d->packet_room = room;
}

static size_t varint_len(size_t v)
{
  return v < 64u ? 1u : v < 16384u ? 2u : v < 1073741824u ? 4u : 8u;
}

size_t vq_dgram_frame_size(size_t len)
{
  return 1u + varint_len(len) + len;
}

/* The largest payload whose frame is at most limit bytes. */
static size_t payload_within(uint64_t limit)
{
  if (limit < 2u) return 0;
  uint64_t p = limit - 2u; /* 1-byte type, 1-byte Length */
  if (p >= 64u) p = limit >= 3u + 64u ? limit - 3u : 63u;
  if (p >= 16384u) p = limit >= 5u + 16384u ? limit - 5u : 16383u;
  if (p >= 1073741824u) p = limit >= 9u + 1073741824u ? limit - 9u : 1073741823u;
  return p > SIZE_MAX ? SIZE_MAX : (size_t)p;
}

size_t vq_dgram_max_payload(const vq_dgram *d)
{
  if (d->peer_max == 0) return 0;
  size_t m = payload_within(d->peer_max);
  if (d->packet_room) {
    const size_t r = payload_within(d->packet_room);
    if (r < m) m = r;
  }
  if (d->tx.cap_bytes < m) m = d->tx.cap_bytes;
  return m;
}

/* spec: rfc9221#3/1 — no DATAGRAM frame before the peer advertised a non-zero
 * max_datagram_frame_size; spec: rfc9221#3/2 — none larger than it.
 * spec: rfc9221#5 — a DATAGRAM frame is never split across packets. */
vq_status vq_dgram_send(vq_dgram *d, const uint8_t *data, size_t len)
{
  if (d->peer_max == 0) return VQ_ERR_DGRAM_DISABLED;
  if (len > d->tx.cap_bytes || len > vq_dgram_max_payload(d)) return VQ_ERR_DGRAM_TOO_LARGE;
  if (len && !data) return VQ_ERR_INVALID_ARGUMENT;
  if (!q_push(&d->tx, data, len)) {
    d->tx.refused++;
    return VQ_ERR_DGRAM_QUEUE_FULL;
  }
  return VQ_OK;
}

uint32_t vq_dgram_pending(const vq_dgram *d)
{
  return d->tx.n;
}

int vq_dgram_write_frame(vq_dgram *d, uint8_t *buf, size_t room, size_t *used)
{
  vq_dgram_queue *q = &d->tx;
  while (q->n > 0) {
    const size_t len = q->lens[q->head];
    const size_t fsz = vq_dgram_frame_size(len);
    /* The path shrank (or the peer limit was lowered by a new handshake) under this datagram. */
    if ((d->packet_room && fsz > d->packet_room) || fsz > d->peer_max) {
      q_pop(q);
      d->tx_too_large++;
      continue;
    }
    if (fsz > room) return 0;
    vq_frame f;
    memset(&f, 0, sizeof f);
    f.type = VQ_FRAME_DATAGRAM_LEN;
    f.datagram.data = q->buf + q->start;
    f.datagram.len = len;
    if (vq_frame_encode(buf, room, &f, used) != VQ_OK) return 0;
    q_pop(q);
    return 1;
  }
  return 0;
}

/* spec: rfc9221#3/3 — DATAGRAM without our transport parameter: PROTOCOL_VIOLATION.
 * spec: rfc9221#3/4 — larger than the max_datagram_frame_size we sent: PROTOCOL_VIOLATION.
 * spec: rfc9221#5/2 — delivered to the application at once (queued for it);
 * spec: rfc9221#5.3/1 — dropped when the receiver cannot keep it. */
vq_status vq_dgram_on_frame(vq_dgram *d, const vq_frame_datagram *f, size_t frame_size)
{
  if (d->local_max == 0 || frame_size > d->local_max) return VQ_ERR_DGRAM_PROTOCOL;
  vq_dgram_queue *q = &d->rx;
  if (f->len > q->cap_bytes) { /* can never be kept */
    q->dropped++;
    return VQ_OK;
  }
  if (!q_push(q, f->data, f->len)) q->dropped++;
  return VQ_OK;
}

int vq_dgram_recv(vq_dgram *d, uint8_t *out, size_t cap, size_t *len)
{
  vq_dgram_queue *q = &d->rx;
  if (q->n == 0) return 0;
  const size_t l = q->lens[q->head];
  *len = l;
  if (l > cap) return VQ_ERR_BUFFER_TOO_SMALL;
  if (l) memcpy(out, q->buf + q->start, l);
  q_pop(q);
  return 1;
}
