/* vquic — the set of received packet numbers a packet number space acknowledges (RFC 9000 §13.2),
 * as a bounded list of disjoint ranges, proved with WP + Eva.
 *
 * Ranges are kept in descending order, never touching (r[i+1].hi + 1 < r[i].lo), in caller-provided
 * storage of fixed capacity (DESIGN.md principle 5): when a new range does not fit, the lowest range is
 * forgotten (RFC 9000 §13.2.3 lets a receiver limit the ranges it reports; the oldest matter least). */
#ifndef VQUIC_ACKSET_H
#define VQUIC_ACKSET_H

#include <stdint.h>
#include "vquic/error.h"

typedef struct vq_ackset_range {
  uint64_t lo, hi; /* lo <= hi, inclusive */
} vq_ackset_range;

typedef struct vq_ackset {
  vq_ackset_range *r;  /* storage for cap ranges, r[0] the highest */
  uint32_t n;       /* ranges in use */
  uint32_t cap;     /* >= 1 */
  uint64_t dropped; /* ranges forgotten for lack of room */
} vq_ackset;

/* storage must hold cap >= 1 ranges. */
void vq_ackset_init(vq_ackset *s, vq_ackset_range *storage, uint32_t cap);
/* Adds pn (< 2^62). Returns 1 if it was new, 0 if already in the set (a duplicate, §13.2.6... dropped
 * by the caller), VQ_ERR_INVALID_ARGUMENT for pn >= 2^62. */
int vq_ackset_add(vq_ackset *s, uint64_t pn);
/* 1 if pn is in the set. */
int vq_ackset_contains(const vq_ackset *s, uint64_t pn);
/* The largest packet number in the set; 0 and *ok = 0 when empty. */
uint64_t vq_ackset_largest(const vq_ackset *s, int *ok);
/* Forgets every packet number below pn (once an ACK frame covering them has been acknowledged,
 * RFC 9000 §13.2.4). */
void vq_ackset_remove_below(vq_ackset *s, uint64_t pn);

#endif
