/* Tests of the lab runtime (src/rt/lab): each link impairment does what lab.h says, the virtual clock
 * and timers are exact, memory is returned, and the same seed reproduces the same run. */
#include "vqtest.h"
#include "vquic/lab.h"

#include <stdlib.h>

#define MAXREC 20000

/* A sink node: records the arrival time and the sequence number (first 4 bytes) of each datagram. */
typedef struct sink {
  size_t n;
  vq_time at[MAXREC];
  uint32_t seq[MAXREC];
  size_t len[MAXREC];
  uint8_t first[MAXREC][8];
} sink;

static void sink_rx(void *ud, vq_lab *lab, const vq_cx *cx, int from, const uint8_t *d, size_t len)
{
  (void)lab;
  (void)from;
  sink *s = ud;
  if (s->n >= MAXREC) return;
  s->at[s->n] = cx->now;
  s->seq[s->n] = len >= 4 ? (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3] : 0;
  s->len[s->n] = len;
  memcpy(s->first[s->n], d, len < 8 ? len : 8);
  s->n++;
}

static const vq_lab_node_ops sink_ops = {sink_rx, NULL, NULL};

typedef struct fixture {
  vq_mem mem;
  vq_lab *lab;
  sink *a, *b;
  int na, nb;
} fixture;

static void setup(fixture *f, uint64_t seed, const vq_lab_link *ab)
{
  vq_mem_init(&f->mem, vq_allocator_system(), NULL, 64u << 20);
  f->lab = vq_lab_new(&f->mem, seed);
  f->a = calloc(1, sizeof *f->a);
  f->b = calloc(1, sizeof *f->b);
  f->na = vq_lab_add_node(f->lab, &sink_ops, f->a);
  f->nb = vq_lab_add_node(f->lab, &sink_ops, f->b);
  vq_lab_set_link(f->lab, f->na, f->nb, ab);
}

static void teardown(vq_t *t, fixture *f)
{
  vq_lab_free(f->lab);
  CHECK_EQ(f->mem.used, 0); /* every datagram copy and the heap returned */
  free(f->a);
  free(f->b);
}

static void send_seq(fixture *f, uint32_t i, size_t len)
{
  uint8_t d[1500] = {0};
  d[0] = (uint8_t)(i >> 24);
  d[1] = (uint8_t)(i >> 16);
  d[2] = (uint8_t)(i >> 8);
  d[3] = (uint8_t)i;
  for (size_t k = 4; k < len && k < sizeof d; k++) d[k] = (uint8_t)(k * 7 + i);
  vq_lab_send(f->lab, f->na, f->nb, d, len);
}

VQ_TEST(lab_delay_is_exact)
{
  fixture f;
  vq_lab_link l = {0};
  l.delay = VQ_MS(10);
  setup(&f, 1, &l);
  send_seq(&f, 1, 100);
  vq_lab_run(f.lab, VQ_MS(1000), NULL, NULL);
  CHECK_EQ(f.b->n, 1);
  CHECK_EQ(f.b->at[0], VQ_MS(10));
  /* Datagrams to a node with no link are dropped and counted. */
  uint8_t x = 0;
  vq_lab_send(f.lab, f.nb, f.na, &x, 1);
  vq_lab_run(f.lab, VQ_MS(2000), NULL, NULL);
  CHECK_EQ(f.a->n, 0);
  CHECK_EQ(vq_lab_stats_of(f.lab, f.nb, f.na)->count[VQ_LAB_DROP_NO_LINK], 1);
  teardown(t, &f);
}

VQ_TEST(lab_rate_and_queue)
{
  fixture f;
  vq_lab_link l = {0};
  l.delay = VQ_MS(5);
  l.rate_bps = 1000000;     /* 1250 bytes take 10 ms */
  l.queue_bytes = 5000;     /* the queue (incl. the datagram being serialised) holds four */
  setup(&f, 1, &l);
  for (uint32_t i = 0; i < 10; i++) send_seq(&f, i, 1250);
  vq_lab_run(f.lab, VQ_MS(1000), NULL, NULL);
  /* Four fit in the queue; the rest are tail-dropped. */
  CHECK_EQ(f.b->n, 4);
  for (size_t i = 0; i < f.b->n; i++) CHECK_EQ(f.b->at[i], VQ_MS(10) * (i + 1) + VQ_MS(5));
  CHECK_EQ(vq_lab_stats_of(f.lab, f.na, f.nb)->count[VQ_LAB_DROP_QUEUE], 6);
  teardown(t, &f);
}

VQ_TEST(lab_random_loss_rate)
{
  fixture f;
  vq_lab_link l = {0};
  l.loss_ppm = 100000; /* 10 % */
  setup(&f, 7, &l);
  for (uint32_t i = 0; i < 20000; i++) send_seq(&f, i, 50);
  vq_lab_run(f.lab, VQ_MS(1), NULL, NULL);
  uint64_t lost = vq_lab_stats_of(f.lab, f.na, f.nb)->count[VQ_LAB_DROP_LOSS];
  CHECK(lost > 1800 && lost < 2200);
  CHECK_EQ(f.b->n + lost, 20000);
  teardown(t, &f);
}

VQ_TEST(lab_bursty_loss_comes_in_runs)
{
  fixture f;
  vq_lab_link l = {0};
  l.ge_enter_ppm = 20000;     /* 2 % chance to enter the bad state */
  l.ge_leave_ppm = 200000;    /* mean bad period: 5 datagrams */
  l.ge_bad_loss_ppm = 1000000;
  setup(&f, 3, &l);
  for (uint32_t i = 0; i < 20000; i++) send_seq(&f, i, 40);
  vq_lab_run(f.lab, VQ_MS(1), NULL, NULL);
  /* Count runs of consecutive missing sequence numbers. */
  uint64_t lost = 0, runs = 0;
  uint32_t expect = 0;
  for (size_t i = 0; i < f.b->n; i++) {
    if (f.b->seq[i] != expect) {
      runs++;
      lost += f.b->seq[i] - expect;
    }
    expect = f.b->seq[i] + 1;
  }
  CHECK(runs > 0);
  CHECK(lost > 0 && (double)lost / (double)runs > 3.0); /* bursts, not isolated losses */
  CHECK_EQ(vq_lab_stats_of(f.lab, f.na, f.nb)->count[VQ_LAB_DROP_BURST], lost + (20000 - expect));
  teardown(t, &f);
}

VQ_TEST(lab_reordering_and_jitter)
{
  fixture f;
  vq_lab_link l = {0};
  l.delay = VQ_MS(20);
  l.jitter = VQ_MS(5);
  setup(&f, 11, &l);
  for (uint32_t i = 0; i < 1000; i++) {
    send_seq(&f, i, 60);
    vq_lab_run(f.lab, vq_lab_now(f.lab) + VQ_US(100), NULL, NULL);
  }
  vq_lab_run(f.lab, VQ_TIME_NEVER - 1, NULL, NULL);
  /* Jitter alone never reorders. */
  int inorder = 1;
  for (size_t i = 1; i < f.b->n; i++) inorder &= f.b->seq[i] > f.b->seq[i - 1];
  CHECK(inorder);
  CHECK_EQ(f.b->n, 1000);
  teardown(t, &f);

  l.reorder_ppm = 50000;
  l.reorder_delay = VQ_MS(3);
  setup(&f, 11, &l);
  for (uint32_t i = 0; i < 1000; i++) {
    send_seq(&f, i, 60);
    vq_lab_run(f.lab, vq_lab_now(f.lab) + VQ_US(100), NULL, NULL);
  }
  vq_lab_run(f.lab, VQ_TIME_NEVER - 1, NULL, NULL);
  size_t inversions = 0;
  for (size_t i = 1; i < f.b->n; i++) inversions += f.b->seq[i] < f.b->seq[i - 1];
  CHECK(inversions > 10);
  CHECK_EQ(f.b->n, 1000);
  CHECK(vq_lab_stats_of(f.lab, f.na, f.nb)->count[VQ_LAB_REORDERED] > 20);
  teardown(t, &f);
}

VQ_TEST(lab_duplication_corruption_blackhole)
{
  fixture f;
  vq_lab_link l = {0};
  l.delay = VQ_MS(1);
  l.duplicate_ppm = 100000;
  setup(&f, 5, &l);
  for (uint32_t i = 0; i < 1000; i++) send_seq(&f, i, 30);
  vq_lab_run(f.lab, VQ_MS(100), NULL, NULL);
  uint64_t dup = vq_lab_stats_of(f.lab, f.na, f.nb)->count[VQ_LAB_DUPLICATED];
  CHECK(dup > 60 && dup < 140);
  CHECK_EQ(f.b->n, 1000 + dup);
  teardown(t, &f);

  memset(&l, 0, sizeof l);
  l.corrupt_ppm = 1000000;
  setup(&f, 5, &l);
  uint8_t d[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  vq_lab_send(f.lab, f.na, f.nb, d, sizeof d);
  vq_lab_run(f.lab, VQ_MS(1), NULL, NULL);
  CHECK_EQ(f.b->n, 1);
  int bits = 0;
  for (int i = 0; i < 8; i++)
    for (int k = 0; k < 8; k++) bits += (f.b->first[0][i] >> k) & 1;
  CHECK_EQ(bits, 1); /* exactly one bit flipped */
  teardown(t, &f);

  memset(&l, 0, sizeof l);
  l.blackhole_from = VQ_MS(10);
  l.blackhole_until = VQ_MS(20);
  setup(&f, 5, &l);
  for (uint32_t i = 0; i < 30; i++) {
    send_seq(&f, i, 20);
    vq_lab_run(f.lab, VQ_MS(i + 1), NULL, NULL);
  }
  CHECK_EQ(f.b->n, 20);
  CHECK_EQ(vq_lab_stats_of(f.lab, f.na, f.nb)->count[VQ_LAB_DROP_BLACKHOLE], 10);
  for (size_t i = 0; i < f.b->n; i++) CHECK(f.b->seq[i] < 10 || f.b->seq[i] >= 20);
  teardown(t, &f);
}

/* A ping-pong node pair with timers: the run is a function of the seed alone. */
typedef struct pinger {
  int self, peer;
  vq_time next;
  uint32_t sent, got;
} pinger;
static void ping_rx(void *ud, vq_lab *lab, const vq_cx *cx, int from, const uint8_t *d, size_t len)
{
  pinger *p = ud;
  p->got++;
  if (d[0] == 'q') {
    uint8_t r[64];
    memcpy(r, d, len < sizeof r ? len : sizeof r);
    r[0] = 'r';
    vq_lab_send(lab, p->self, from, r, len < sizeof r ? len : sizeof r);
  }
  (void)cx;
}
static vq_time ping_next(void *ud) { return ((pinger *)ud)->next; }
static void ping_timeout(void *ud, vq_lab *lab, const vq_cx *cx)
{
  pinger *p = ud;
  uint8_t q[40];
  q[0] = 'q';
  vq_rng_fill(cx->rng, q + 1, sizeof q - 1);
  vq_lab_send(lab, p->self, p->peer, q, 1 + vq_rng_below(cx->rng, sizeof q - 1));
  p->sent++;
  p->next = p->sent < 500 ? cx->now + VQ_MS(2) : VQ_TIME_NEVER;
}

static uint64_t ping_run(uint64_t seed, uint32_t *got, vq_time *end)
{
  vq_mem mem;
  vq_mem_init(&mem, vq_allocator_system(), NULL, 1u << 20);
  vq_lab *lab = vq_lab_new(&mem, seed);
  pinger a = {0, 1, 0, 0, 0}, b = {1, 0, VQ_TIME_NEVER, 0, 0};
  static const vq_lab_node_ops ops = {ping_rx, ping_next, ping_timeout};
  vq_lab_add_node(lab, &ops, &a);
  vq_lab_add_node(lab, &ops, &b);
  vq_lab_link l = {0};
  l.delay = VQ_MS(15);
  l.jitter = VQ_MS(3);
  l.loss_ppm = 30000;
  l.reorder_ppm = 20000;
  l.reorder_delay = VQ_MS(4);
  l.duplicate_ppm = 10000;
  l.corrupt_ppm = 10000;
  vq_lab_set_link(lab, 0, 1, &l);
  vq_lab_set_link(lab, 1, 0, &l);
  vq_lab_run(lab, VQ_MS(60000), NULL, NULL);
  uint64_t h = vq_lab_trace_hash(lab);
  *got = a.got;
  *end = vq_lab_now(lab);
  vq_lab_free(lab);
  return h;
}

VQ_TEST(lab_same_seed_same_run)
{
  uint32_t g1, g2, g3;
  vq_time e1, e2, e3;
  uint64_t h1 = ping_run(42, &g1, &e1), h2 = ping_run(42, &g2, &e2), h3 = ping_run(43, &g3, &e3);
  CHECK_EQ(h1, h2);
  CHECK_EQ(g1, g2);
  CHECK_EQ(e1, e2);
  CHECK(h1 != h3);
  CHECK(g1 > 400 && g1 < 500); /* ~6 % round-trip loss, some duplicates */
}

VQ_TEST(lab_memory_budget_enforced)
{
  vq_mem mem;
  vq_mem_init(&mem, vq_allocator_system(), NULL, sizeof(void *) * 64 + 16384);
  vq_lab *lab = vq_lab_new(&mem, 1);
  CHECK(lab == NULL); /* the lab itself does not fit */
  vq_mem_init(&mem, vq_allocator_system(), NULL, 200000);
  lab = vq_lab_new(&mem, 1);
  CHECK(lab != NULL);
  if (!lab) return;
  sink *s = calloc(1, sizeof *s);
  int a = vq_lab_add_node(lab, &sink_ops, s), b = vq_lab_add_node(lab, &sink_ops, s);
  vq_lab_link l = {0};
  l.delay = VQ_MS(1);
  vq_lab_set_link(lab, a, b, &l);
  uint8_t d[1200] = {0};
  vq_status st = VQ_OK;
  int sent = 0;
  while (st == VQ_OK && sent < 10000) {
    st = vq_lab_send(lab, a, b, d, sizeof d);
    sent += st == VQ_OK;
  }
  CHECK_EQ(st, VQ_ERR_NOMEM);
  CHECK(mem.used <= mem.limit);
  vq_lab_run(lab, VQ_MS(10), NULL, NULL);
  CHECK_EQ(s->n, (size_t)sent);
  vq_lab_free(lab);
  CHECK_EQ(mem.used, 0);
  free(s);
}
