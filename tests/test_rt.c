/* Tests of src/rt: cx checkpoints, cancellation chains, the seeded RNG and nested memory budgets. */
#include "vqtest.h"
#include "vquic/rt.h"

#include <stdlib.h>

VQ_TEST(rt_cx_checkpoint)
{
  vq_cancel ep, conn;
  vq_cancel_init(&ep, NULL);
  vq_cancel_init(&conn, &ep);
  uint64_t budget = 2;
  vq_cx cx = {VQ_MS(5), &conn, &budget, NULL, NULL};
  CHECK_EQ(vq_cx_checkpoint(&cx), VQ_OK);
  CHECK_EQ(vq_cx_charge(&cx, 2), VQ_OK);
  CHECK_EQ(budget, 0);
  CHECK_EQ(vq_cx_checkpoint(&cx), VQ_ERR_BUDGET);
  CHECK_EQ(vq_cx_charge(&cx, 1), VQ_ERR_BUDGET);
  CHECK_EQ(budget, 0);
  budget = 10;
  /* Cancelling the parent (endpoint) cancels the child (connection). */
  vq_cancel_set(&ep);
  CHECK(vq_cancel_is_set(&conn));
  CHECK_EQ(vq_cx_checkpoint(&cx), VQ_ECANCELED);
  CHECK_EQ(vq_cx_checkpoint(NULL), VQ_ERR_INVALID_ARGUMENT);
  vq_cx plain = {0, NULL, NULL, NULL, NULL};
  CHECK_EQ(vq_cx_checkpoint(&plain), VQ_OK);
  CHECK_EQ(vq_cx_charge(&plain, 1000), VQ_OK);
}

static int traced;
static void trace_fn(void *ud, vq_time now, const char *event, const char *detail)
{
  (void)ud;
  traced += (now == VQ_MS(1) && strcmp(event, "ev") == 0 && strcmp(detail, "x=3") == 0);
}

VQ_TEST(rt_cx_trace)
{
  vq_trace tr = {trace_fn, NULL};
  vq_cx cx = {VQ_MS(1), NULL, NULL, NULL, &tr};
  traced = 0;
  vq_cx_trace(&cx, "ev", "x=%d", 3);
  CHECK_EQ(traced, 1);
  cx.trace = NULL;
  vq_cx_trace(&cx, "ev", "x=%d", 3);
  CHECK_EQ(traced, 1);
}

VQ_TEST(rt_rng_reproducible)
{
  vq_rng a, b, c;
  vq_rng_seed(&a, 42);
  vq_rng_seed(&b, 42);
  vq_rng_seed(&c, 43);
  int differs = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = vq_rng_next(&a);
    CHECK_EQ(x, vq_rng_next(&b));
    differs += x != vq_rng_next(&c);
  }
  CHECK(differs > 990);
  /* vq_rng_below stays below its bound and covers it. */
  unsigned hist[7] = {0};
  for (int i = 0; i < 7000; i++) {
    uint64_t v = vq_rng_below(&a, 7);
    CHECK(v < 7);
    if (v < 7) hist[v]++;
  }
  for (int i = 0; i < 7; i++) CHECK(hist[i] > 800 && hist[i] < 1200);
  CHECK_EQ(vq_rng_below(&a, 0), 0);
  uint8_t buf[13] = {0};
  vq_rng_fill(&a, buf, sizeof buf);
  int nz = 0;
  for (size_t i = 0; i < sizeof buf; i++) nz += buf[i] != 0;
  CHECK(nz > 8);
}

/* A counting allocator that can be told to fail. */
typedef struct {
  size_t live;
  int fail;
} counting;
static void *c_alloc(void *ud, size_t n)
{
  counting *c = ud;
  if (c->fail) return NULL;
  c->live += n;
  return malloc(n);
}
static void c_free(void *ud, void *p, size_t n)
{
  counting *c = ud;
  c->live -= n;
  free(p);
}

VQ_TEST(rt_mem_nested_budgets)
{
  counting cnt = {0, 0};
  vq_allocator a = {c_alloc, c_free, &cnt};
  vq_mem ep, c1, c2;
  vq_mem_init(&ep, &a, NULL, 1000);
  vq_mem_init(&c1, NULL, &ep, 600);
  vq_mem_init(&c2, NULL, &ep, 600);
  void *p1 = vq_mem_alloc(&c1, 500);
  CHECK(p1 != NULL);
  CHECK(vq_mem_alloc(&c1, 101) == NULL); /* over the connection's budget */
  CHECK_EQ(c1.failures, 1);
  void *p2 = vq_mem_alloc(&c2, 501);
  CHECK(p2 == NULL); /* within c2's budget, but the endpoint has only 500 left */
  CHECK_EQ(c2.failures, 1);
  p2 = vq_mem_alloc(&c2, 499);
  CHECK(p2 != NULL);
  CHECK_EQ(ep.used, 999);
  CHECK_EQ(cnt.live, 999);
  vq_mem_free(&c1, p1, 500);
  CHECK_EQ(c1.used, 0);
  CHECK_EQ(ep.used, 499);
  CHECK_EQ(ep.peak, 999);
  /* An allocator failure charges nothing. */
  cnt.fail = 1;
  CHECK(vq_mem_alloc(&c1, 10) == NULL);
  CHECK_EQ(ep.used, 499);
  cnt.fail = 0;
  uint8_t *z = vq_mem_calloc(&c1, 10, 10);
  CHECK(z != NULL);
  int zero = 1;
  for (int i = 0; z && i < 100; i++) zero &= z[i] == 0;
  CHECK(zero);
  vq_mem_free(&c1, z, 100);
  CHECK(vq_mem_calloc(&c1, SIZE_MAX / 2, 4) == NULL); /* overflow refused */
  CHECK(vq_mem_alloc(&c1, 0) == NULL);
  vq_mem_free(&c2, p2, 499);
  vq_mem_free(&c2, NULL, 3);
  CHECK_EQ(ep.used, 0);
  CHECK_EQ(cnt.live, 0);
}
