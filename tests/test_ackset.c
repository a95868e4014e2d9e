/* Tests of the bounded ACK range set (src/transport/ackset.c, RFC 9000 §13.2). */
#include "vqtest.h"
#include "vquic/ackset.h"

static int well_formed(const vq_ackset *s)
{
  for (uint32_t i = 0; i < s->n; i++) {
    if (s->r[i].lo > s->r[i].hi) return 0;
    if (i + 1 < s->n && !(s->r[i + 1].hi + 1 < s->r[i].lo)) return 0;
  }
  return 1;
}

VQ_TEST(ackset_merge_and_split)
{
  vq_ackset_range st[8];
  vq_ackset s;
  int ok;
  vq_ackset_init(&s, st, 8);
  CHECK_EQ(vq_ackset_largest(&s, &ok), 0);
  CHECK_EQ(ok, 0);
  CHECK_EQ(vq_ackset_add(&s, 5), 1);
  CHECK_EQ(vq_ackset_add(&s, 5), 0); /* duplicate */
  CHECK_EQ(vq_ackset_add(&s, 6), 1);
  CHECK_EQ(vq_ackset_add(&s, 4), 1);
  CHECK_EQ(s.n, 1);
  CHECK_EQ(s.r[0].lo, 4);
  CHECK_EQ(s.r[0].hi, 6);
  CHECK_EQ(vq_ackset_add(&s, 10), 1);
  CHECK_EQ(vq_ackset_add(&s, 1), 1);
  CHECK_EQ(s.n, 3);
  CHECK_EQ(vq_ackset_add(&s, 8), 1);   /* between 4..6 and 10 */
  CHECK_EQ(s.n, 4);
  CHECK_EQ(vq_ackset_add(&s, 7), 1);   /* joins 4..6 and 8 */
  CHECK_EQ(vq_ackset_add(&s, 9), 1);   /* joins 4..8 and 10 */
  CHECK_EQ(s.n, 2);
  CHECK_EQ(s.r[0].lo, 4);
  CHECK_EQ(s.r[0].hi, 10);
  CHECK_EQ(s.r[1].lo, 1);
  CHECK(vq_ackset_contains(&s, 7));
  CHECK(!vq_ackset_contains(&s, 2));
  CHECK_EQ(vq_ackset_largest(&s, &ok), 10);
  CHECK_EQ(ok, 1);
  CHECK_EQ(vq_ackset_add(&s, UINT64_C(1) << 62), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_ackset_add(&s, (UINT64_C(1) << 62) - 1), 1);
  CHECK(well_formed(&s));
  /* spec: rfc9000#13.2.4 — forget what the peer has seen acknowledged. */
  vq_ackset_remove_below(&s, 6);
  CHECK_EQ(s.n, 2);
  CHECK_EQ(s.r[1].lo, 6);
  CHECK(!vq_ackset_contains(&s, 5));
  vq_ackset_remove_below(&s, 11);
  CHECK_EQ(s.n, 1);
  vq_ackset_remove_below(&s, UINT64_MAX);
  CHECK_EQ(s.n, 0);
}

/* spec: rfc9000#13.2.3 — bounded: the lowest ranges are forgotten first. */
VQ_TEST(ackset_bounded)
{
  vq_ackset_range st[3];
  vq_ackset s;
  vq_ackset_init(&s, st, 3);
  for (uint64_t pn = 0; pn < 20; pn += 2) CHECK_EQ(vq_ackset_add(&s, pn), 1);
  CHECK_EQ(s.n, 3);
  CHECK_EQ(s.r[0].hi, 18);
  CHECK_EQ(s.r[2].lo, 14);
  CHECK_EQ(s.dropped, 7);
  CHECK_EQ(vq_ackset_add(&s, 1), 1); /* below everything kept, set full: forgotten */
  CHECK(!vq_ackset_contains(&s, 1));
  CHECK_EQ(s.dropped, 8);
  CHECK(well_formed(&s));
}

/* Seeded property test against a bitmap model: the set holds exactly the numbers added (while
 * there is room), stays well formed, and reports duplicates. */
VQ_TEST(ackset_property_model)
{
  uint64_t seed = 0xac5e7;
  for (int run = 0; run < 300; run++) {
    vq_ackset_range st[256];
    vq_ackset s;
    uint8_t model[512] = {0};
    vq_ackset_init(&s, st, 256); /* 512 values never need more than 256 ranges */
    int ok = 1;
    for (int k = 0; k < 400 && ok; k++) {
      uint64_t pn = vq_rand(&seed) % 512;
      int r = vq_ackset_add(&s, pn);
      if (s.dropped == 0 && r != (model[pn] ? 0 : 1)) ok = 0;
      if (r != 0 && r != 1) ok = 0;
      model[pn] = 1;
      if (!well_formed(&s)) ok = 0;
    }
    if (s.dropped != 0) ok = 0;
    for (uint64_t pn = 0; pn < 512 && ok; pn++)
        if (vq_ackset_contains(&s, pn) != model[pn]) ok = 0;
    if (!ok) {
      CHECK(ok);
      return;
    }
  }
  CHECK(1);
}

/* A join in the middle of the set moves the ranges below it up one place, keeping their order. */
VQ_TEST(ackset_join_shifts_lower_ranges)
{
  vq_ackset_range st[5];
  vq_ackset s;
  vq_ackset_init(&s, st, 5);
  const uint64_t pns[] = {1, 3, 5, 7, 10};
  for (size_t k = 0; k < sizeof pns / sizeof pns[0]; k++) CHECK_EQ(vq_ackset_add(&s, pns[k]), 1);
  CHECK_EQ(s.n, 5);
  CHECK_EQ(vq_ackset_add(&s, 6), 1); /* joins {7} and {5} */
  CHECK_EQ(s.n, 4);
  CHECK_EQ(s.r[0].lo, 10);
  CHECK_EQ(s.r[1].lo, 5);
  CHECK_EQ(s.r[1].hi, 7);
  CHECK_EQ(s.r[2].lo, 3);
  CHECK_EQ(s.r[3].lo, 1);
  CHECK_EQ(vq_ackset_add(&s, 2), 1); /* joins the two lowest: {1..3} */
  CHECK_EQ(s.n, 3);
  CHECK_EQ(s.r[2].lo, 1);
  CHECK_EQ(s.r[2].hi, 3);
  CHECK_EQ(vq_ackset_add(&s, 4), 1); /* joins {5..7} and {1..3} */
  CHECK_EQ(vq_ackset_add(&s, 8), 1);
  CHECK_EQ(vq_ackset_add(&s, 9), 1); /* and {1..8} with {10} */
  CHECK_EQ(s.n, 1);
  CHECK_EQ(s.r[0].lo, 1);
  CHECK_EQ(s.r[0].hi, 10);
  CHECK_EQ(s.dropped, 0);
  CHECK(well_formed(&s));
}
