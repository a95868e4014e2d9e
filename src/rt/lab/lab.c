/* vquic — the deterministic lab runtime: virtual clock, seeded RNG, simulated links (see lab.h). */
#include "vquic/lab.h"

#include <string.h>

typedef struct lab_dgram {
  vq_time at;      /* delivery time */
  uint64_t seq;    /* tie-break: the order events were scheduled in */
  int from, to;
  uint8_t src[VQ_LAB_ADDR_MAX]; /* the sender's address when it sent */
  size_t src_len;
  size_t len;
  uint8_t ecn;     /* IP ECN codepoint */
  uint8_t data[];  /* the datagram's bytes follow */
} lab_dgram;

typedef struct lab_link {
  int set;
  vq_lab_link cfg;
  int ge_bad;             /* Gilbert-Elliott state */
  vq_time busy_until;     /* when the serialiser is free again */
  vq_time last_arrival;   /* so jitter alone never reorders */
  vq_lab_stats stats;
} lab_link;

typedef struct lab_node {
  vq_lab_node_ops ops;
  void *ud;
  uint8_t addr[VQ_LAB_ADDR_MAX];
  size_t addr_len;
  uint8_t next_addr[VQ_LAB_ADDR_MAX]; /* from next_at on */
  size_t next_len;
  vq_time next_at;
} lab_node;

struct vq_lab {
  vq_mem *mem;
  vq_time now;
  vq_rng rng;             /* the links' faults */
  vq_rng node_rng;        /* the nodes' randomness (vq_lab_cx, vq_lab_rng): a separate stream, so
                           * the faults a seed gives do not move when a node draws more or fewer
                           * random numbers (a code change in the stack) */
  uint64_t seq;
  uint64_t hash;
  int nnodes;
  lab_node nodes[VQ_LAB_MAX_NODES];
  lab_link links[VQ_LAB_MAX_NODES][VQ_LAB_MAX_NODES];
  const lab_dgram *delivering; /* the datagram on_datagram is called for */
  lab_dgram **heap;       /* min-heap on (at, seq) */
  size_t nheap, capheap;
  vq_lab_trace_fn trace;
  void *trace_ud;
  uint8_t cur_ecn;        /* the codepoint of the datagram being delivered */
};

static const char *const event_names[VQ_LAB_EVENT_COUNT] = {
  "sent", "delivered", "drop_loss", "drop_burst", "drop_queue", "drop_blackhole", "drop_no_link",
  "corrupted", "duplicated", "reordered", "drop_mtu",
};

const char *vq_lab_event_name(vq_lab_event ev)
{
  return (unsigned)ev < VQ_LAB_EVENT_COUNT ? event_names[ev] : "?";
}

/* --- trace ------------------------------------------------------------------------------------- */
static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    *h ^= b[i];
    *h *= 0x100000001b3u;
  }
}

static void record(vq_lab *lab, vq_lab_event ev, int from, int to, const uint8_t *data, size_t len)
{
  uint64_t hdr[4] = {lab->now, (uint64_t)ev, (uint64_t)from * 256u + (uint64_t)to, len};
  hash_bytes(&lab->hash, hdr, sizeof hdr);
  hash_bytes(&lab->hash, data, len);
  if (from >= 0 && to >= 0) {
    vq_lab_stats *st = &lab->links[from][to].stats;
    st->count[ev]++;
    if (ev == VQ_LAB_SENT) st->bytes_sent += len;
    if (ev == VQ_LAB_DELIVERED) st->bytes_delivered += len;
  }
  if (lab->trace) lab->trace(lab->trace_ud, lab->now, ev, from, to, data, len);
}

/* --- event heap -------------------------------------------------------------------------------- */
static int earlier(const lab_dgram *a, const lab_dgram *b)
{
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static vq_status heap_push(vq_lab *lab, lab_dgram *d)
{
  if (lab->nheap == lab->capheap) {
    size_t ncap = lab->capheap ? lab->capheap * 2 : 64;
    lab_dgram **nh = vq_mem_alloc(lab->mem, ncap * sizeof *nh);
    if (!nh) return VQ_ERR_NOMEM;
    if (lab->nheap) memcpy(nh, lab->heap, lab->nheap * sizeof *nh);
    vq_mem_free(lab->mem, lab->heap, lab->capheap * sizeof *nh);
    lab->heap = nh;
    lab->capheap = ncap;
  }
  size_t i = lab->nheap++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!earlier(d, lab->heap[p])) break;
    lab->heap[i] = lab->heap[p];
    i = p;
  }
  lab->heap[i] = d;
  return VQ_OK;
}

static lab_dgram *heap_pop(vq_lab *lab)
{
  lab_dgram *top = lab->heap[0];
  lab_dgram *last = lab->heap[--lab->nheap];
  size_t i = 0, n = lab->nheap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && earlier(lab->heap[c + 1], lab->heap[c])) c++;
    if (!earlier(lab->heap[c], last)) break;
    lab->heap[i] = lab->heap[c];
    i = c;
  }
  if (n) lab->heap[i] = last;
  return top;
}

static void dgram_free(vq_lab *lab, lab_dgram *d) { vq_mem_free(lab->mem, d, sizeof *d + d->len); }

static vq_status schedule(vq_lab *lab, int from, int to, const uint8_t *data, size_t len, vq_time at,
                          uint8_t ecn)
{
  lab_dgram *d = vq_mem_alloc(lab->mem, sizeof *d + len);
  if (!d) return VQ_ERR_NOMEM;
  d->at = at;
  d->seq = lab->seq++;
  d->from = from;
  d->to = to;
  d->len = len;
  d->ecn = ecn;
  lab_node *n = &lab->nodes[from];
  if (lab->now >= n->next_at) {
    memcpy(n->addr, n->next_addr, n->next_len);
    n->addr_len = n->next_len;
    n->next_at = VQ_TIME_NEVER;
  }
  memcpy(d->src, n->addr, n->addr_len);
  d->src_len = n->addr_len;
  memcpy(d->data, data, len);
  vq_status st = heap_push(lab, d);
  if (st != VQ_OK) dgram_free(lab, d);
  return st;
}

/* --- public API -------------------------------------------------------------------------------- */
vq_lab *vq_lab_new(vq_mem *mem, uint64_t seed)
{
  vq_lab *lab = vq_mem_calloc(mem, 1, sizeof *lab);
  if (!lab) return NULL;
  lab->mem = mem;
  lab->hash = 0xcbf29ce484222325u;
  vq_rng_seed(&lab->rng, seed);
  vq_rng_seed(&lab->node_rng, seed ^ 0x6e6f64652d726e67u);
  return lab;
}

void vq_lab_free(vq_lab *lab)
{
  if (!lab) return;
  while (lab->nheap) dgram_free(lab, heap_pop(lab));
  vq_mem_free(lab->mem, lab->heap, lab->capheap * sizeof *lab->heap);
  vq_mem_free(lab->mem, lab, sizeof *lab);
}

int vq_lab_add_node(vq_lab *lab, const vq_lab_node_ops *ops, void *ud)
{
  if (lab->nnodes >= VQ_LAB_MAX_NODES) return -1;
  lab_node *n = &lab->nodes[lab->nnodes];
  n->ops = *ops;
  n->ud = ud;
  n->addr[0] = (uint8_t)lab->nnodes;
  n->addr_len = 1;
  n->next_at = VQ_TIME_NEVER;
  return lab->nnodes++;
}

vq_status vq_lab_set_addr(vq_lab *lab, int node, vq_time at, const uint8_t *addr, size_t len)
{
  if (node < 0 || node >= lab->nnodes || !addr || len == 0 || len > VQ_LAB_ADDR_MAX)
    return VQ_ERR_INVALID_ARGUMENT;
  lab_node *n = &lab->nodes[node];
  memcpy(n->next_addr, addr, len);
  n->next_len = len;
  n->next_at = at;
  return VQ_OK;
}

size_t vq_lab_src_addr(const vq_lab *lab, const uint8_t **addr)
{
  if (!lab->delivering) return 0;
  *addr = lab->delivering->src;
  return lab->delivering->src_len;
}

vq_status vq_lab_set_link(vq_lab *lab, int from, int to, const vq_lab_link *link)
{
  if (from < 0 || to < 0 || from >= lab->nnodes || to >= lab->nnodes) return VQ_ERR_INVALID_ARGUMENT;
  lab_link *l = &lab->links[from][to];
  l->set = 1;
  l->cfg = *link;
  l->ge_bad = 0;
  return VQ_OK;
}

void vq_lab_set_trace(vq_lab *lab, vq_lab_trace_fn fn, void *ud)
{
  lab->trace = fn;
  lab->trace_ud = ud;
}

vq_time vq_lab_now(const vq_lab *lab) { return lab->now; }
vq_rng *vq_lab_rng(vq_lab *lab) { return &lab->node_rng; }
uint64_t vq_lab_trace_hash(const vq_lab *lab) { return lab->hash; }

vq_cx vq_lab_cx(vq_lab *lab)
{
  vq_cx cx = {lab->now, NULL, NULL, &lab->node_rng, NULL};
  return cx;
}

const vq_lab_stats *vq_lab_stats_of(const vq_lab *lab, int from, int to)
{
  if (from < 0 || to < 0 || from >= VQ_LAB_MAX_NODES || to >= VQ_LAB_MAX_NODES) return NULL;
  return &lab->links[from][to].stats;
}

static int chance(vq_lab *lab, uint32_t ppm)
{
  return ppm > 0 && vq_rng_below(&lab->rng, 1000000u) < ppm;
}

static vq_time rand_upto(vq_lab *lab, vq_time max) { return max ? vq_rng_below(&lab->rng, max + 1) : 0; }

vq_status vq_lab_send(vq_lab *lab, int from, int to, const uint8_t *data, size_t len)
{
  return vq_lab_send_ecn(lab, from, to, data, len, 0);
}

uint8_t vq_lab_delivered_ecn(const vq_lab *lab) { return lab->cur_ecn; }

vq_status vq_lab_send_ecn(vq_lab *lab, int from, int to, const uint8_t *data, size_t len,
                          uint8_t ecn)
{
  ecn &= 3u;
  if (from < 0 || to < 0 || from >= lab->nnodes || to >= lab->nnodes || len > VQ_LAB_MAX_DATAGRAM)
    return VQ_ERR_INVALID_ARGUMENT;
  lab_link *l = &lab->links[from][to];
  record(lab, VQ_LAB_SENT, from, to, data, len);
  if (!l->set) {
    record(lab, VQ_LAB_DROP_NO_LINK, from, to, data, len);
    return VQ_OK;
  }
  const vq_lab_link *c = &l->cfg;
  if (lab->now >= c->blackhole_from && lab->now < c->blackhole_until) {
    record(lab, VQ_LAB_DROP_BLACKHOLE, from, to, data, len);
    return VQ_OK;
  }
  /* The path MTU: larger datagrams are dropped (DF set, no fragmentation). */
  size_t mtu = c->mtu_after && lab->now >= c->mtu_change_at ? c->mtu_after : c->mtu;
  if (mtu && len > mtu) {
    record(lab, VQ_LAB_DROP_MTU, from, to, data, len);
    return VQ_OK;
  }
  /* Sender-side queue and serialisation: the datagram starts when the serialiser is free. */
  vq_time start = l->busy_until > lab->now ? l->busy_until : lab->now;
  vq_time tx = 0;
  if (c->rate_bps) {
    /* Bytes still queued ahead of this datagram (double: no overflow at any rate or backlog). */
    uint64_t backlog = (uint64_t)((double)(start - lab->now) * (double)c->rate_bps / 8e9);
    if (c->queue_bytes && backlog + len > c->queue_bytes) {
      record(lab, VQ_LAB_DROP_QUEUE, from, to, data, len);
      return VQ_OK;
    }
    tx = (vq_time)len * 8u * 1000000000u / c->rate_bps;
    l->busy_until = start + tx;
  }
  if (chance(lab, c->loss_ppm)) {
    record(lab, VQ_LAB_DROP_LOSS, from, to, data, len);
    return VQ_OK;
  }
  if (c->ge_enter_ppm || c->ge_bad_loss_ppm) {
    l->ge_bad = l->ge_bad ? !chance(lab, c->ge_leave_ppm) : chance(lab, c->ge_enter_ppm);
    if (l->ge_bad && chance(lab, c->ge_bad_loss_ppm)) {
      record(lab, VQ_LAB_DROP_BURST, from, to, data, len);
      return VQ_OK;
    }
  }
  uint8_t copy[VQ_LAB_MAX_DATAGRAM];
  const uint8_t *out = data;
  if (len > 0 && chance(lab, c->corrupt_ppm)) {
    memcpy(copy, data, len);
    uint64_t bit = vq_rng_below(&lab->rng, (uint64_t)len * 8u);
    copy[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
    out = copy;
    record(lab, VQ_LAB_CORRUPTED, from, to, out, len);
  }
  /* ECN changes on the path (no RNG draw when the link does none: other runs stay as they were) */
  if (c->ecn_bleach) ecn = 0;
  if (ecn == 2u && chance(lab, c->ect1_ppm)) ecn = 1u;
  if ((ecn == 1u || ecn == 2u) && chance(lab, c->ce_ppm)) {
    ecn = 3u;
    l->stats.ce_marked++;
  }
  vq_time at = start + tx + c->delay + rand_upto(lab, c->jitter);
  if (at < l->last_arrival) at = l->last_arrival; /* jitter alone keeps the order */
  if (chance(lab, c->reorder_ppm)) {
    record(lab, VQ_LAB_REORDERED, from, to, out, len);
    at += c->reorder_delay;  /* later datagrams overtake this one; last_arrival unchanged */
  } else {
    l->last_arrival = at;
  }
  vq_status st = schedule(lab, from, to, out, len, at, ecn);
  if (st == VQ_OK && chance(lab, c->duplicate_ppm)) {
    record(lab, VQ_LAB_DUPLICATED, from, to, out, len);
    st = schedule(lab, from, to, out, len, at + rand_upto(lab, c->delay), ecn);
  }
  return st;
}

uint64_t vq_lab_run(vq_lab *lab, vq_time until, int (*stop)(void *ud), void *stop_ud)
{
  uint64_t events = 0;
  for (;;) {
    /* The next thing to happen: the earliest delivery, or the earliest node timer (deliveries first
     * on equal times, then nodes by index — a fixed order, so runs are reproducible). */
    vq_time t = VQ_TIME_NEVER;
    int timer_node = -1;
    if (lab->nheap) t = lab->heap[0]->at;
    for (int i = 0; i < lab->nnodes; i++) {
      if (!lab->nodes[i].ops.next_timeout) continue;
      vq_time nt = lab->nodes[i].ops.next_timeout(lab->nodes[i].ud);
      if (nt < t) {
        t = nt;
        timer_node = i;
      }
    }
    if (t == VQ_TIME_NEVER || t > until) break;
    if (t > lab->now) lab->now = t;
    vq_cx cx = vq_lab_cx(lab);
    if (timer_node < 0) {
      lab_dgram *d = heap_pop(lab);
      record(lab, VQ_LAB_DELIVERED, d->from, d->to, d->data, d->len);
      if (d->ecn) {
        /* hashed only when set: runs without ECN keep their hashes */
        hash_bytes(&lab->hash, &d->ecn, 1);
      }
      lab->links[d->from][d->to].stats.ecn_delivered[d->ecn & 3u]++;
      lab->cur_ecn = d->ecn;
      lab_node *n = &lab->nodes[d->to];
      lab->delivering = d;
      if (n->ops.on_datagram) n->ops.on_datagram(n->ud, lab, &cx, d->from, d->data, d->len);
      lab->cur_ecn = 0;
      lab->delivering = NULL;
      dgram_free(lab, d);
    } else {
      lab_node *n = &lab->nodes[timer_node];
      if (n->ops.on_timeout) n->ops.on_timeout(n->ud, lab, &cx);
    }
    events++;
    if (stop && stop(stop_ud)) break;
  }
  if (lab->now < until && until != VQ_TIME_NEVER && !(stop && stop(stop_ud))) lab->now = until;
  return events;
}
