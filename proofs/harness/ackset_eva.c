/* Eva entry point for src/transport/ackset.c: sequences of additions (growing up and down, duplicate,
 * gap-filling join, new ranges above and below, past capacity, invalid, unknown) and removals,
 * reaching every statement.
 *
 * The set holds at most CAP = 2 ranges. Eva evaluates a quantified property by giving the quantified
 * index an interval and reading r[j] as the join of the ranges it may denote: with at most two ranges,
 * vq_ranges_ok (r[0] on its own, then each r[j], j >= 1, against every r[i], i < j) only ever names one
 * range per index, so Eva can check the contracts' ordering requirement at every call. Two ranges
 * are enough to reach every statement: the join removes the upper of the two ranges it merges, so
 * remove_at's shifting loop runs with two ranges. WP proves the functions for every capacity. */
#include "__fc_builtin.h"
#include "vquic/ackset.h"

#define CAP 2

void eva_main(void)
{
  vq_ackset_range store[CAP];
  vq_ackset s;
  int ok;
  vq_ackset_init(&s, store, CAP);
  (void)vq_ackset_largest(&s, &ok);
  (void)vq_ackset_contains(&s, 1);
  (void)vq_ackset_add(&s, 10);   /* new range in an empty set: {10} */
  (void)vq_ackset_add(&s, 11);   /* extends up: {10..11} */
  (void)vq_ackset_add(&s, 11);   /* duplicate */
  (void)vq_ackset_add(&s, 9);    /* extends down: {9..11} */
  (void)vq_ackset_add(&s, 20);   /* new range above, shifting: {20}, {9..11} */
  (void)vq_ackset_add(&s, 5);    /* full and lowest: forgotten */
  (void)vq_ackset_add(&s, 15);   /* full: the lowest goes, {15} comes in: {20}, {15} */
  (void)vq_ackset_add(&s, 16);   /* extends the lower range up: {20}, {15..16} */
  (void)vq_ackset_add(&s, 18);   /* full, between: {20}, {18} */
  (void)vq_ackset_add(&s, 19);   /* joins them: {18..20} */
  (void)vq_ackset_add(&s, 4611686018427387904ull); /* invalid */
  (void)vq_ackset_contains(&s, 19);
  (void)vq_ackset_contains(&s, 30);
  (void)vq_ackset_largest(&s, &ok);
  (void)vq_ackset_add(&s, 15);   /* new range below: {18..20}, {15} */
  (void)vq_ackset_add(&s, 14);   /* extends it down: {18..20}, {14..15} */
  vq_ackset_remove_below(&s, 15); /* trims the lower range: {18..20}, {15} */
  vq_ackset_remove_below(&s, 0);  /* nothing */
  vq_ackset_remove_below(&s, 19); /* drops the lower range, trims the upper: {19..20} */
  vq_ackset_remove_below(&s, 21); /* drops everything */

  /* One addition of an unknown packet number to {10..12}: every outcome at once. */
  vq_ackset_range store2[CAP];
  vq_ackset t;
  vq_ackset_init(&t, store2, CAP);
  (void)vq_ackset_add(&t, 10);
  (void)vq_ackset_add(&t, 11);
  (void)vq_ackset_add(&t, 12);
  (void)vq_ackset_add(&t, Frama_C_unsigned_long_long_interval(0, 30));
}
