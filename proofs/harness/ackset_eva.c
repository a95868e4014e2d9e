/* Eva entry point for src/transport/ackset.c: sequences of additions (growing, duplicate, gap-filling,
 * out of order, past capacity, invalid) and removals on a small set, reaching every statement. */
#include "__fc_builtin.h"
#include "vquic/ackset.h"

#define CAP 3

void eva_main(void)
{
  vq_ackset_range store[CAP];
  vq_ackset s;
  int ok;
  vq_ackset_init(&s, store, CAP);
  (void)vq_ackset_largest(&s, &ok);
  (void)vq_ackset_add(&s, 10);   /* new range */
  (void)vq_ackset_add(&s, 11);   /* extends up */
  (void)vq_ackset_add(&s, 11);   /* duplicate */
  (void)vq_ackset_add(&s, 9);    /* extends down */
  (void)vq_ackset_add(&s, 20);   /* new range above */
  (void)vq_ackset_add(&s, 5);    /* new range below */
  (void)vq_ackset_add(&s, 7);    /* full: drop the lowest, insert */
  (void)vq_ackset_add(&s, 1);    /* full and lowest: forgotten */
  (void)vq_ackset_add(&s, 8);    /* joins 7 and 9..11 */
  (void)vq_ackset_add(&s, 4611686018427387904ull); /* invalid */
  (void)vq_ackset_add(&s, Frama_C_unsigned_long_long_interval(0, 30));
  (void)vq_ackset_contains(&s, 9);
  (void)vq_ackset_contains(&s, 15);
  (void)vq_ackset_largest(&s, &ok);
  vq_ackset_remove_below(&s, 10);
  vq_ackset_remove_below(&s, 21);
  vq_ackset_remove_below(&s, 0);
}
