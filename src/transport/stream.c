/* vquic — stream data buffers (include/vquic/stream.h): the bounded range set, the send buffer that
 * holds every byte until it is acknowledged (DESIGN.md principle 4) and the receive buffer that
 * reassembles out-of-order data within the window the caller advertised (principle 5).
 *
 * Range-set bounds, and who may lose what (nothing is lost silently):
 *  - vq_rangeset_add fails with VQ_ERR_BUDGET (set unchanged) when the range needs a new slot and
 *    none is free. vq_rangeset_remove never removes anything outside [lo, hi): when removing needs to
 *    split a range and no slot is free, it leaves that range whole, so the set stays a *superset* of
 *    the exact result. Prefix trims (the only removals the `acked` and `have` sets see) never split.
 *  - sendbuf `lost` is treated as a superset: vq_sendbuf_next sends only lost bytes that are neither
 *    acknowledged nor below base, so an over-large lost set costs a spurious retransmission, never a
 *    wrong one. When `lost` is full, a new lost range is merged with its nearest neighbour (the gap is
 *    resent too): on_lost never drops a range and never fails.
 *  - sendbuf `acked` must never claim an unacknowledged byte. When it is full, a newly acknowledged
 *    island is not recorded as acked but queued as lost: it is resent (identical bytes, RFC 9000 §2.2)
 *    and acknowledged again later, so the obligation is still discharged.
 *  - recvbuf `have`: an insert that would need a slot when none is free fails with VQ_ERR_BUDGET
 *    before anything is stored (the peer retransmits, or the caller closes). The last slot is kept
 *    for data at the read offset, so the lowest hole can always be filled from its start. */
#include <string.h>

#include "vquic/stream.h"

#define VQ_STREAM_OFF_MAX 4611686018427387903ull /* 2^62 - 1 */
#define CHUNK ((uint64_t)VQ_STREAMBUF_CHUNK)

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* ---- Range set -------------------------------------------------------------------------------- */

void vq_rangeset_init(vq_rangeset *s, vq_rangeset_item *storage, uint32_t cap)
{
  s->r = storage;
  s->n = 0;
  s->cap = storage != NULL ? cap : 0;
}

/* Index of the first range that ends at or after lo (the first that [lo, ...) can touch). */
static uint32_t rs_first_touching(const vq_rangeset *s, uint64_t lo)
{
  uint32_t i = 0;
  while (i < s->n && s->r[i].hi < lo) i++;
  return i;
}

vq_status vq_rangeset_add(vq_rangeset *s, uint64_t lo, uint64_t hi)
{
  if (lo >= hi) return VQ_OK;
  uint32_t i = rs_first_touching(s, lo);
  uint32_t j = i;
  while (j < s->n && s->r[j].lo <= hi) j++; /* ranges i .. j-1 overlap or touch [lo, hi) */
  if (i == j) {
    if (s->n >= s->cap) return VQ_ERR_BUDGET;
    memmove(&s->r[i + 1], &s->r[i], (size_t)(s->n - i) * sizeof s->r[0]);
    s->r[i].lo = lo;
    s->r[i].hi = hi;
    s->n++;
    return VQ_OK;
  }
  s->r[i].lo = min_u64(s->r[i].lo, lo);
  s->r[i].hi = max_u64(s->r[j - 1].hi, hi);
  memmove(&s->r[i + 1], &s->r[j], (size_t)(s->n - j) * sizeof s->r[0]);
  s->n -= j - i - 1;
  return VQ_OK;
}

/* Removes [lo, hi). A split that needs a slot when none is free leaves the range whole (superset). */
void vq_rangeset_remove(vq_rangeset *s, uint64_t lo, uint64_t hi)
{
  if (lo >= hi) return;
  uint32_t i = 0;
  while (i < s->n && s->r[i].hi <= lo) i++; /* first range with bytes at or above lo */
  if (i < s->n && s->r[i].lo < lo && s->r[i].hi > hi) { /* strictly inside one range: split */
    if (s->n >= s->cap) return;
    memmove(&s->r[i + 2], &s->r[i + 1], (size_t)(s->n - i - 1) * sizeof s->r[0]);
    s->r[i + 1].lo = hi;
    s->r[i + 1].hi = s->r[i].hi;
    s->r[i].hi = lo;
    s->n++;
    return;
  }
  if (i < s->n && s->r[i].lo < lo) { /* keep the part below lo */
    s->r[i].hi = lo;
    i++;
  }
  uint32_t j = i;
  while (j < s->n && s->r[j].hi <= hi) j++; /* i .. j-1 lie inside [lo, hi) */
  if (j < s->n && s->r[j].lo < hi) s->r[j].lo = hi;
  memmove(&s->r[i], &s->r[j], (size_t)(s->n - j) * sizeof s->r[0]);
  s->n -= j - i;
}

int vq_rangeset_contains(const vq_rangeset *s, uint64_t lo, uint64_t hi)
{
  if (lo >= hi) return 1;
  for (uint32_t i = 0; i < s->n; i++)
    if (s->r[i].lo <= lo && hi <= s->r[i].hi) return 1;
  return 0;
}

/* Adds [lo, hi) to a set that may hold a superset of what it must: when no slot is free, the range is
 * merged with its nearest neighbour (covering the gap between them). Never fails when cap >= 1. */
static void rs_add_cover(vq_rangeset *s, uint64_t lo, uint64_t hi)
{
  if (vq_rangeset_add(s, lo, hi) == VQ_OK || s->n == 0) return;
  uint32_t i = rs_first_touching(s, lo); /* s->r[i].lo > hi: [lo, hi) lies between i-1 and i */
  int left = i > 0;
  if (left && i < s->n && s->r[i].lo - hi < lo - s->r[i - 1].hi) left = 0;
  if (left)
    s->r[i - 1].hi = hi;
  else
    s->r[i].lo = lo;
}

/* ---- Chunk rings ------------------------------------------------------------------------------ */

/* Grows a ring of chunk pointers to at least `need` slots, keeping the n used slots from head in
 * order at the start; the rest are NULL. */
static vq_status ring_grow(vq_mem *mem, uint8_t ***chunks, uint32_t *cap, uint32_t *head, uint32_t n,
                           uint64_t need)
{
  if (need <= *cap) return VQ_OK;
  uint64_t ncap = *cap ? (uint64_t)*cap * 2u : 4u;
  if (ncap < need) ncap = need;
  if (ncap > UINT32_MAX / 2u || ncap > SIZE_MAX / sizeof(uint8_t *)) return VQ_ERR_NOMEM;
  uint8_t **nr = vq_mem_alloc(mem, (size_t)ncap * sizeof(uint8_t *));
  if (nr == NULL) return VQ_ERR_NOMEM;
  for (uint64_t k = 0; k < ncap; k++) nr[k] = k < n ? (*chunks)[(*head + k) % *cap] : NULL;
  if (*chunks != NULL) vq_mem_free(mem, *chunks, (size_t)*cap * sizeof(uint8_t *));
  *chunks = nr;
  *cap = (uint32_t)ncap;
  *head = 0;
  return VQ_OK;
}

static void ring_release(vq_mem *mem, uint8_t ***chunks, uint32_t *cap, uint32_t *head)
{
  if (*chunks != NULL) {
    for (uint32_t k = 0; k < *cap; k++)
      if ((*chunks)[k] != NULL) vq_mem_free(mem, (*chunks)[k], VQ_STREAMBUF_CHUNK);
    vq_mem_free(mem, *chunks, (size_t)*cap * sizeof(uint8_t *));
  }
  *chunks = NULL;
  *cap = 0;
  *head = 0;
}

/* Copies [off, off + len) out of a ring whose slot `head` holds chunk number first_chunk. */
static void ring_copy_out(uint8_t *const *chunks, uint32_t cap, uint32_t head, uint64_t first_chunk,
                          uint64_t off, uint64_t len, uint8_t *out)
{
  while (len > 0) {
    uint64_t k = off / CHUNK - first_chunk, in = off % CHUNK;
    uint64_t n = min_u64(len, CHUNK - in);
    memcpy(out, chunks[(head + k) % cap] + in, (size_t)n);
    out += n;
    off += n;
    len -= n;
  }
}

/* ---- Send side -------------------------------------------------------------------------------- */

void vq_sendbuf_init(vq_sendbuf *b, vq_mem *mem, uint64_t limit)
{
  memset(b, 0, sizeof *b);
  b->mem = mem;
  b->limit = limit;
  vq_rangeset_init(&b->acked, b->acked_s, VQ_STREAMBUF_RANGES);
  vq_rangeset_init(&b->lost, b->lost_s, VQ_STREAMBUF_RANGES);
}

static void sendbuf_release(vq_sendbuf *b)
{
  ring_release(b->mem, &b->chunks, &b->chunk_cap, &b->chunk_head);
  b->nchunks = 0;
}

void vq_sendbuf_free(vq_sendbuf *b)
{
  sendbuf_release(b);
  b->base = b->end;
  b->acked.n = 0;
  b->lost.n = 0;
}

vq_status vq_sendbuf_write(vq_sendbuf *b, const uint8_t *data, size_t len, int fin, size_t *accepted)
{
  *accepted = 0;
  /* spec: rfc9000#4.5/2 — no data at or beyond the final size: nothing is accepted after FIN. */
  if (b->fin || b->abandoned) return VQ_ERR_STREAM_STATE;
  uint64_t held = b->end - b->base;
  uint64_t room = b->limit > held ? b->limit - held : 0;
  room = min_u64(room, VQ_STREAM_OFF_MAX - b->end); /* spec: rfc9000#4.5 — final size < 2^62 */
  uint64_t want = min_u64((uint64_t)len, room);
  uint64_t first = b->base / CHUNK;
  size_t done = 0;
  while (done < want) {
    uint64_t covered = (first + b->nchunks) * CHUNK; /* chunks cover [first * CHUNK, covered) */
    /* end > covered only with no chunk at all and end inside chunk `first` (everything was
     * acknowledged and released mid-chunk, sendbuf_advance): that chunk is allocated again */
    if (b->end >= covered) {
      if (ring_grow(b->mem, &b->chunks, &b->chunk_cap, &b->chunk_head, b->nchunks,
                    (uint64_t)b->nchunks + 1u) != VQ_OK)
        break;
      uint8_t *c = vq_mem_alloc(b->mem, VQ_STREAMBUF_CHUNK);
      if (c == NULL) break;
      b->chunks[(b->chunk_head + b->nchunks) % b->chunk_cap] = c;
      b->nchunks++;
      covered += CHUNK;
    }
    uint64_t n = min_u64(want - done, covered - b->end);
    uint64_t k = b->end / CHUNK - first;
    memcpy(b->chunks[(b->chunk_head + k) % b->chunk_cap] + b->end % CHUNK, data + done, (size_t)n);
    done += (size_t)n;
    b->end += n;
  }
  *accepted = done;
  if (fin && done == len) b->fin = 1;
  return VQ_OK;
}

/* min(off + len, cap) without overflow. */
static uint64_t clip_end(uint64_t off, size_t len, uint64_t cap)
{
  if (off >= cap) return cap;
  return off + min_u64((uint64_t)len, cap - off);
}

static int fin_pending(const vq_sendbuf *b)
{
  return b->fin && !b->fin_acked && (!b->fin_sent || b->fin_lost);
}

/* The first run of bytes that are lost, at or above base and not acknowledged: [*lo, *hi). */
static int sendbuf_first_lost(const vq_sendbuf *b, uint64_t *lo, uint64_t *hi)
{
  uint32_t j = 0;
  for (uint32_t i = 0; i < b->lost.n; i++) {
    uint64_t p = max_u64(b->lost.r[i].lo, b->base), e = b->lost.r[i].hi;
    while (p < e) {
      while (j < b->acked.n && b->acked.r[j].hi <= p) j++;
      if (j < b->acked.n && b->acked.r[j].lo <= p) { /* p is acknowledged: skip the acked range */
        p = b->acked.r[j].hi;
        continue;
      }
      if (j < b->acked.n && b->acked.r[j].lo < e) e = b->acked.r[j].lo;
      *lo = p;
      *hi = e;
      return 1;
    }
  }
  return 0;
}

/* spec: rfc9000#2.2/4 — new data only within the peer's flow-control limit (new_data_limit);
 * spec: rfc9000#3.1 — "Data Sent": only retransmissions, which need no flow-control check. */
int vq_sendbuf_next(const vq_sendbuf *b, size_t max_len, uint64_t new_data_limit, uint64_t *off,
                    size_t *len, int *fin)
{
  uint64_t lo, hi;
  if (b->abandoned) return 0;
  if (sendbuf_first_lost(b, &lo, &hi)) {
    if (max_len == 0) return 0;
  } else if (b->sent < b->end) {
    lo = b->sent;
    hi = min_u64(b->end, new_data_limit);
    if (hi <= lo || max_len == 0) return 0;
  } else if (fin_pending(b)) { /* a lone FIN */
    *off = b->end;
    *len = 0;
    *fin = 1;
    return 1;
  } else {
    return 0;
  }
  uint64_t n = min_u64(hi - lo, (uint64_t)max_len);
  *off = lo;
  *len = (size_t)n;
  *fin = lo + n == b->end && fin_pending(b);
  return 1;
}

int vq_sendbuf_resend(const vq_sendbuf *b, uint64_t off, size_t len, int fin, size_t max_len,
                      uint64_t *roff, size_t *rlen, int *rfin)
{
  if (b->abandoned) return 0;
  uint64_t p = max_u64(off, b->base);
  uint64_t hi = clip_end(off, len, b->sent);
  /* the FIN goes with the range when it was on this one, has been sent and is not acknowledged */
  int want_fin = fin && b->fin && b->fin_sent && !b->fin_acked && clip_end(off, len, UINT64_MAX) == b->end;
  uint32_t j = 0;
  while (p < hi) { /* skip the acknowledged parts */
    while (j < b->acked.n && b->acked.r[j].hi <= p) j++;
    if (j < b->acked.n && b->acked.r[j].lo <= p) {
      p = b->acked.r[j].hi;
      continue;
    }
    if (max_len == 0) return 0;
    uint64_t e = j < b->acked.n ? min_u64(hi, b->acked.r[j].lo) : hi;
    e = min_u64(e, p + (uint64_t)max_len);
    *roff = p;
    *rlen = (size_t)(e - p);
    *rfin = want_fin && e == b->end;
    return 1;
  }
  if (!want_fin) return 0;
  *roff = b->end; /* a FIN alone */
  *rlen = 0;
  *rfin = 1;
  return 1;
}

/* spec: rfc9000#2.2/3 — every (re)transmission copies the bytes held for that offset, which stay
 * unchanged until acknowledged: the data at an offset never changes when sent again */
void vq_sendbuf_copy(const vq_sendbuf *b, uint64_t off, size_t len, uint8_t *out)
{
  if (len == 0 || off < b->base || off > b->end || len > b->end - off) return; /* not held */
  ring_copy_out(b->chunks, b->chunk_cap, b->chunk_head, b->base / CHUNK, off, len, out);
}

void vq_sendbuf_on_sent(vq_sendbuf *b, uint64_t off, size_t len, int fin)
{
  if (b->abandoned) return;
  off = min_u64(off, b->end);
  uint64_t hi = off + min_u64((uint64_t)len, b->end - off);
  /* What next() skipped in front of off (acknowledged bytes) goes from lost too, so removing the
   * range it returned only trims a lost range (never a split that could fail). */
  uint64_t lo = off;
  for (uint32_t j = 0; j < b->acked.n; j++)
    if (b->acked.r[j].lo < off && off <= b->acked.r[j].hi) lo = b->acked.r[j].lo;
  vq_rangeset_remove(&b->lost, lo, hi);
  if (hi > b->sent) b->sent = hi;
  if (fin) {
    b->fin_sent = 1;
    b->fin_lost = 0;
  }
}

/* Frees the chunks wholly below base (base moved from old_base). */
static void sendbuf_advance(vq_sendbuf *b, uint64_t old_base)
{
  while (b->acked.n > 0 && b->acked.r[0].lo <= b->base) { /* absorb acked ranges now contiguous */
    b->base = max_u64(b->base, b->acked.r[0].hi);
    vq_rangeset_remove(&b->acked, b->acked.r[0].lo, b->acked.r[0].hi);
  }
  vq_rangeset_remove(&b->lost, 0, b->base); /* a prefix trim: never splits */
  uint64_t drop = b->base / CHUNK - old_base / CHUNK;
  while (drop > 0 && b->nchunks > 0) {
    vq_mem_free(b->mem, b->chunks[b->chunk_head], VQ_STREAMBUF_CHUNK);
    b->chunks[b->chunk_head] = NULL;
    b->chunk_head = (b->chunk_head + 1u) % b->chunk_cap;
    b->nchunks--;
    drop--;
  }
  /* Everything written is acknowledged: the partly used last chunk and the ring go too, so that an
   * idle stream (an HTTP/3 control or QPACK stream, the CRYPTO stream after the handshake) holds no
   * storage; the next write allocates a chunk again. */
  if (b->base == b->end && b->chunks != NULL) sendbuf_release(b);
}

void vq_sendbuf_on_acked(vq_sendbuf *b, uint64_t off, size_t len, int fin)
{
  if (b->abandoned) return;
  if (fin && b->fin_sent) {
    b->fin_acked = 1;
    b->fin_lost = 0;
  }
  uint64_t lo = max_u64(off, b->base);
  uint64_t hi = clip_end(off, len, b->sent);
  if (lo >= hi) return;
  uint64_t old_base = b->base;
  if (lo == b->base) {
    b->base = hi;
  } else if (vq_rangeset_add(&b->acked, lo, hi) == VQ_OK) {
    vq_rangeset_remove(&b->lost, lo, hi); /* may keep a superset: next() skips acked bytes */
  } else {
    rs_add_cover(&b->lost, lo, hi); /* acked is full: forget the ack, resend the bytes */
  }
  sendbuf_advance(b, old_base);
}

vq_status vq_sendbuf_on_lost(vq_sendbuf *b, uint64_t off, size_t len, int fin)
{
  if (b->abandoned) return VQ_OK;
  if (fin && b->fin_sent && !b->fin_acked) b->fin_lost = 1;
  uint64_t p = max_u64(off, b->base);
  uint64_t hi = clip_end(off, len, b->sent);
  uint32_t j = 0;
  while (p < hi) { /* queue the parts that are not acknowledged */
    while (j < b->acked.n && b->acked.r[j].hi <= p) j++;
    if (j < b->acked.n && b->acked.r[j].lo <= p) {
      p = b->acked.r[j].hi;
      continue;
    }
    uint64_t e = j < b->acked.n ? min_u64(hi, b->acked.r[j].lo) : hi;
    rs_add_cover(&b->lost, p, e);
    p = e;
  }
  return VQ_OK;
}

uint64_t vq_sendbuf_obligations(const vq_sendbuf *b)
{
  if (b->abandoned) return 0;
  uint64_t owed = b->end - b->base;
  for (uint32_t i = 0; i < b->acked.n; i++) owed -= b->acked.r[i].hi - b->acked.r[i].lo;
  return owed + (b->fin && !b->fin_acked ? 1u : 0u);
}

/* spec: rfc9000#3.1 — "Data Recvd": all stream data has been successfully acknowledged. */
int vq_sendbuf_done(const vq_sendbuf *b)
{
  return !b->abandoned && b->fin && b->fin_acked && b->base == b->end;
}

/* spec: rfc9000#3.1 — RESET_STREAM abandons transmission: nothing is retransmitted. b->sent stays the
 * highest offset sent: the final size to put in RESET_STREAM (rfc9000#4.5). */
void vq_sendbuf_abandon(vq_sendbuf *b)
{
  sendbuf_release(b);
  b->base = b->end;
  b->acked.n = 0;
  b->lost.n = 0;
  b->fin_lost = 0;
  b->abandoned = 1;
}

/* RFC 9001 §4.6.2: the packets that carried the data never reached the peer (0-RTT rejected): every
 * byte held is unsent again, and goes out as new data under the new flow-control limits. With
 * acknowledged ranges above base (not possible after a rejection) the rest is only re-queued. */
void vq_sendbuf_rewind(vq_sendbuf *b)
{
  if (b->abandoned)
    return;
  if (b->acked.n != 0) {
    if (b->sent > b->base)
      (void)vq_sendbuf_on_lost(b, b->base, (size_t)(b->sent - b->base), b->fin_sent);
    return;
  }
  b->lost.n = 0;
  b->sent = b->base;
  b->fin_sent = 0;
  b->fin_lost = 0;
}

/* ---- Receive side ----------------------------------------------------------------------------- */

void vq_recvbuf_init(vq_recvbuf *b, vq_mem *mem, uint64_t window)
{
  memset(b, 0, sizeof *b);
  b->mem = mem;
  b->window = window;
  b->final_size = UINT64_MAX;
  vq_rangeset_init(&b->have, b->have_s, VQ_STREAMBUF_RANGES);
}

void vq_recvbuf_free(vq_recvbuf *b)
{
  ring_release(b->mem, &b->chunks, &b->chunk_cap, &b->chunk_head);
  b->have.n = 0;
}

/* Makes sure the chunks holding [lo, hi) exist (lo < hi, both within the window). */
static vq_status recvbuf_reserve(vq_recvbuf *b, uint64_t lo, uint64_t hi)
{
  uint64_t first = b->read / CHUNK;
  uint64_t need = (hi - 1u) / CHUNK - first + 1u;
  if (ring_grow(b->mem, &b->chunks, &b->chunk_cap, &b->chunk_head, b->chunk_cap, need) != VQ_OK)
    return VQ_ERR_NOMEM;
  for (uint64_t c = lo / CHUNK; c <= (hi - 1u) / CHUNK; c++) {
    uint8_t **slot = &b->chunks[(b->chunk_head + (c - first)) % b->chunk_cap];
    if (*slot == NULL && (*slot = vq_mem_alloc(b->mem, VQ_STREAMBUF_CHUNK)) == NULL)
      return VQ_ERR_NOMEM;
  }
  return VQ_OK;
}

static void recvbuf_copy_in(vq_recvbuf *b, uint64_t off, const uint8_t *data, uint64_t len)
{
  uint64_t first = b->read / CHUNK;
  while (len > 0) {
    uint64_t in = off % CHUNK, n = min_u64(len, CHUNK - in);
    memcpy(b->chunks[(b->chunk_head + (off / CHUNK - first)) % b->chunk_cap] + in, data, (size_t)n);
    data += n;
    off += n;
    len -= n;
  }
}

int vq_recvbuf_can_hold(const vq_recvbuf *b, uint64_t off, uint64_t end)
{
  uint64_t lo = max_u64(off, b->read);
  if (lo >= end || vq_rangeset_contains(&b->have, lo, end)) return 1;
  uint32_t i = rs_first_touching(&b->have, lo);
  if (i < b->have.n && b->have.r[i].lo <= end) return 1; /* merges with a range held */
  if (b->have.n + 1u < b->have.cap) return 1;
  return b->have.n < b->have.cap && lo == b->read; /* the last slot: only at the read offset */
}

/* spec: rfc9000#4.5/4 — data at or beyond the final size is FINAL_SIZE_ERROR;
 * spec: rfc9000#4.5/3 — so is a change of the final size (and a final size below data received);
 * spec: rfc9000#4.1 — data beyond the advertised limit is FLOW_CONTROL_ERROR;
 * spec: rfc9000#2.2/3 — data at an offset does not change: bytes already held are kept, only the
 * gaps are copied. Nothing is stored or changed when an error is returned. */
vq_status vq_recvbuf_insert(vq_recvbuf *b, uint64_t off, const uint8_t *data, size_t len, int fin)
{
  if (off > VQ_STREAM_OFF_MAX || (uint64_t)len > VQ_STREAM_OFF_MAX - off) return VQ_ERR_FLOW_CONTROL;
  uint64_t end = off + len;
  if (b->final_size != UINT64_MAX) {
    if (end > b->final_size) return VQ_ERR_FINAL_SIZE;
    if (fin && end != b->final_size) return VQ_ERR_FINAL_SIZE;
  } else if (fin && end < b->highest) {
    return VQ_ERR_FINAL_SIZE;
  }
  if (end > b->read && end - b->read > b->window) return VQ_ERR_FLOW_CONTROL;
  uint64_t lo = max_u64(off, b->read);
  if (lo < end) {
    if (!vq_recvbuf_can_hold(b, lo, end)) return VQ_ERR_BUDGET;
    if (!vq_rangeset_contains(&b->have, lo, end)) {
      vq_status st = recvbuf_reserve(b, lo, end);
      if (st != VQ_OK) return st;
      uint64_t p = lo;
      uint32_t j = 0;
      while (p < end) { /* copy the gaps between the ranges already held */
        while (j < b->have.n && b->have.r[j].hi <= p) j++;
        if (j < b->have.n && b->have.r[j].lo <= p) {
          p = b->have.r[j].hi;
          continue;
        }
        uint64_t e = j < b->have.n ? min_u64(end, b->have.r[j].lo) : end;
        recvbuf_copy_in(b, p, data + (p - off), e - p);
        p = e;
      }
      (void)vq_rangeset_add(&b->have, lo, end); /* vq_recvbuf_can_hold said it fits */
    }
  }
  if (end > b->highest) b->highest = end;
  if (fin) b->final_size = end;
  return VQ_OK;
}

uint64_t vq_recvbuf_readable(const vq_recvbuf *b)
{
  if (b->have.n == 0 || b->have.r[0].lo != b->read) return 0;
  return b->have.r[0].hi - b->read;
}

/* Frees the chunks wholly below read (read moved from old_read). */
static void recvbuf_drop_below(vq_recvbuf *b, uint64_t old_read)
{
  uint64_t drop = min_u64(b->read / CHUNK - old_read / CHUNK, b->chunk_cap);
  while (drop > 0) {
    uint8_t **slot = &b->chunks[b->chunk_head];
    if (*slot != NULL) vq_mem_free(b->mem, *slot, VQ_STREAMBUF_CHUNK);
    *slot = NULL;
    b->chunk_head = (b->chunk_head + 1u) % b->chunk_cap;
    drop--;
  }
}

/* spec: rfc9000#2.2/1 — data is delivered to the application as an ordered byte stream. */
size_t vq_recvbuf_read(vq_recvbuf *b, uint8_t *out, size_t cap, int *fin)
{
  uint64_t n = min_u64(vq_recvbuf_readable(b), (uint64_t)cap);
  if (n > 0) {
    uint64_t old = b->read;
    ring_copy_out(b->chunks, b->chunk_cap, b->chunk_head, old / CHUNK, old, n, out);
    b->read += n;
    vq_rangeset_remove(&b->have, 0, b->read); /* a prefix trim: never splits */
    recvbuf_drop_below(b, old);
    if (b->have.n == 0) {
      /* nothing is buffered any more: the chunk holding the read position goes too, so a stream
       * that is read up to date (a control stream, an idle connection's) holds no storage; the
       * next data allocates it again (recvbuf_reserve) */
      for (uint32_t k = 0; k < b->chunk_cap; k++) {
        if (b->chunks[k] != NULL) vq_mem_free(b->mem, b->chunks[k], VQ_STREAMBUF_CHUNK);
        b->chunks[k] = NULL;
      }
    }
  }
  *fin = b->final_size != UINT64_MAX && b->read == b->final_size;
  return (size_t)n;
}

void vq_recvbuf_set_window(vq_recvbuf *b, uint64_t window)
{
  if (window > b->window) b->window = window; /* credit once given is never taken back */
}

/* spec: rfc9000#4.5/3 — a RESET_STREAM that changes the final size, or whose final size is below the
 * data received, is FINAL_SIZE_ERROR; spec: rfc9000#4.1 — one beyond the window is FLOW_CONTROL_ERROR.
 * spec: rfc9000#3.2/2 — buffered data is discarded: everything up to the final size counts as read. */
vq_status vq_recvbuf_reset(vq_recvbuf *b, uint64_t final_size)
{
  if (b->final_size != UINT64_MAX && final_size != b->final_size) return VQ_ERR_FINAL_SIZE;
  if (final_size < b->highest || final_size > VQ_STREAM_OFF_MAX) return VQ_ERR_FINAL_SIZE;
  if (final_size > b->read && final_size - b->read > b->window) return VQ_ERR_FLOW_CONTROL;
  ring_release(b->mem, &b->chunks, &b->chunk_cap, &b->chunk_head);
  b->have.n = 0;
  b->final_size = final_size;
  b->highest = final_size;
  if (b->read < final_size) b->read = final_size;
  return VQ_OK;
}
