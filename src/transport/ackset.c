/* vquic — the bounded ACK range set (RFC 9000 §13.2), written for WP: the well-formedness of the
 * ranges (descending, disjoint, non-adjacent) is proved to hold after every operation. */
#include "vquic/ackset.h"
#include "ackset_acsl.h"

#define VMAX 4611686018427387903u

/*@ requires \valid(s) && cap >= 1 && \valid(storage + (0 .. cap - 1));
    requires \separated(s, storage + (0 .. cap - 1));
    assigns *s;
    ensures vq_ackset_ok(s) && s->n == 0 && s->r == storage && s->cap == cap; */
void vq_ackset_init(vq_ackset *s, vq_ackset_range *storage, uint32_t cap)
{
  s->r = storage;
  s->n = 0;
  s->cap = cap;
  s->dropped = 0;
}

/* Removes r[i], moving r[i+1 .. n) down one place. The ordering requirement names the larger index
 * first (as vq_ranges_ok does) so that Eva can evaluate it at the call. */
/*@ requires \valid(s) && vq_ackset_mem(s) && 0 <= i < s->n;
    requires \forall integer k; 0 <= k < s->n && k != i ==> s->r[k].lo <= s->r[k].hi <= 4611686018427387903;
    requires \forall integer b; 0 <= b < s->n && b != i ==>
               (\forall integer a; 0 <= a < b && a != i ==> s->r[b].hi + 1 < s->r[a].lo);
    assigns s->n, s->r[i .. s->n - 2];
    ensures s->n == \old(s->n) - 1;
    ensures vq_ackset_mem(s);
    ensures vq_ranges_ok(s->r, s->n); */
static void remove_at(vq_ackset *s, uint32_t i)
{
  uint32_t k = i;
  /*@ loop invariant i <= k <= s->n - 1;
      loop invariant \forall integer j; i <= j < k ==>
        s->r[j].lo == \at(s->r[j + 1].lo, Pre) && s->r[j].hi == \at(s->r[j + 1].hi, Pre);
      loop invariant \forall integer j; k <= j < s->n ==>
        s->r[j].lo == \at(s->r[j].lo, Pre) && s->r[j].hi == \at(s->r[j].hi, Pre);
      loop invariant \forall integer j; 0 <= j < i ==>
        s->r[j].lo == \at(s->r[j].lo, Pre) && s->r[j].hi == \at(s->r[j].hi, Pre);
      loop assigns k, s->r[i .. s->n - 2];
      loop variant s->n - k; */
  while (k + 1 < s->n) {
    s->r[k].lo = s->r[k + 1].lo;
    s->r[k].hi = s->r[k + 1].hi;
    k++;
  }
  /* The ranges before i are unchanged and those from i moved down one: every pair of ranges now
   * is a pair that was ordered before (split by where each index lies relative to i). */
  /*@ assert \forall integer a, b; 0 <= a < b < i ==> s->r[b].hi + 1 < s->r[a].lo; */
  /* The moved ranges were ordered before, one place higher (the precondition at a + 1, b + 1, neither
   * of which is i): stated on the old values first, so the next step is a plain substitution. */
  /*@ assert \forall integer a, b; i <= a < b < s->n - 1 ==>
               \at(s->r[b + 1].hi, Pre) + 1 < \at(s->r[a + 1].lo, Pre); */
  /*@ assert \forall integer a, b; i <= a < b < s->n - 1 ==> s->r[b].hi + 1 < s->r[a].lo; */
  /*@ assert \forall integer a, b; 0 <= a < i <= b < s->n - 1 ==> s->r[b].hi + 1 < s->r[a].lo; */
  /* So the n - 1 ranges left are each well-formed and pairwise ordered: vq_ranges_ok. */
  /*@ assert \forall integer a, b; 0 <= a < b < s->n - 1 ==> s->r[b].hi + 1 < s->r[a].lo; */
  /*@ assert \forall integer k; 0 <= k < s->n - 1 ==> s->r[k].lo <= s->r[k].hi <= 4611686018427387903; */
  /* The same facts in the shape of vq_ranges_ok(s->r, s->n - 1). */
  /*@ assert s->n - 1 > 0 ==> s->r[0].lo <= s->r[0].hi <= 4611686018427387903; */
  /*@ assert \forall integer j; 0 < j < s->n - 1 ==> s->r[j].lo <= s->r[j].hi <= 4611686018427387903; */
  /*@ assert \forall integer j; 0 < j < s->n - 1 ==>
               (\forall integer a; 0 <= a < j ==> s->r[j].hi + 1 < s->r[a].lo); */
  s->n--;
}

/* Sets *r to the single packet number pn. */
/*@ requires \valid(r);
    assigns r->lo, r->hi;
    ensures r->lo == pn && r->hi == pn; */
static void put_single(vq_ackset_range *r, uint64_t pn)
{
  r->lo = pn;
  r->hi = pn;
}

/* Inserts {pn, pn} at index i, moving r[i .. n) up one place (n < cap). */
/*@ requires \valid(s) && vq_ackset_ok(s) && s->n < s->cap && 0 <= i <= s->n;
    requires pn <= 4611686018427387903;
    requires \forall integer k; i <= k < s->n ==> s->r[k].hi + 1 < pn;
    requires \forall integer k; 0 <= k < i ==> pn + 1 < s->r[k].lo;
    assigns s->n, s->r[i .. s->n];
    ensures s->n == \old(s->n) + 1;
    ensures vq_ackset_mem(s);
    ensures vq_ranges_ok(s->r, \old(s->n) + 1);
    ensures s->r[i].lo == pn && s->r[i].hi == pn; */
static void insert_at(vq_ackset *s, uint32_t i, uint64_t pn)
{
  uint32_t k = s->n;
  /*@ loop invariant i <= k <= s->n;
      loop invariant \forall integer j; k < j <= s->n ==>
        s->r[j].lo == \at(s->r[j - 1].lo, Pre) && s->r[j].hi == \at(s->r[j - 1].hi, Pre);
      loop invariant \forall integer j; 0 <= j < k ==>
        s->r[j].lo == \at(s->r[j].lo, Pre) && s->r[j].hi == \at(s->r[j].hi, Pre);
      loop assigns k, s->r[i + 1 .. s->n];
      loop variant k; */
  while (k > i) {
    s->r[k].lo = s->r[k - 1].lo;
    s->r[k].hi = s->r[k - 1].hi;
    k--;
  }
  put_single(s->r + i, pn);
  /*@ assert \forall integer k; 0 <= k <= s->n ==> s->r[k].lo <= s->r[k].hi <= 4611686018427387903; */
  /* Every pair of the n + 1 ranges, split by where each index lies relative to i, is ordered: the
   * ranges before i and those moved up were ordered before, pn lies between r[i - 1] and r[i + 1]. */
  /*@ assert \forall integer a, b; 0 <= a < b < i ==> s->r[b].hi + 1 < s->r[a].lo; */
  /* The moved ranges, on their old values (vq_ranges_ok at Pre, at a - 1 and b - 1). */
  /*@ assert \forall integer a, b; i < a < b <= s->n ==>
               \at(s->r[b - 1].hi, Pre) + 1 < \at(s->r[a - 1].lo, Pre); */
  /*@ assert \forall integer a, b; i < a < b <= s->n ==> s->r[b].hi + 1 < s->r[a].lo; */
  /*@ assert \forall integer a, b; 0 <= a < i < b <= s->n ==> s->r[b].hi + 1 < s->r[a].lo; */
  /*@ assert \forall integer b; i < b <= s->n ==> s->r[b].hi + 1 < s->r[i].lo; */
  /*@ assert \forall integer a; 0 <= a < i ==> s->r[i].hi + 1 < s->r[a].lo; */
  /*@ assert \forall integer a, b; 0 <= a < b <= s->n ==> s->r[b].hi + 1 < s->r[a].lo; */
  /* The same facts in the shape of vq_ranges_ok(s->r, s->n + 1), so that the postcondition is
   * read off them. */
  /*@ assert s->r[0].lo <= s->r[0].hi <= 4611686018427387903; */
  /*@ assert \forall integer j; 0 < j <= s->n ==> s->r[j].lo <= s->r[j].hi <= 4611686018427387903; */
  /*@ assert \forall integer j; 0 < j <= s->n ==>
               (\forall integer a; 0 <= a < j ==> s->r[j].hi + 1 < s->r[a].lo); */
  /*@ assert vq_ranges_ok(s->r, s->n + 1); */
  s->n++;
}

/* Lowers r[a].lo to pn, which lies just below it and above every later range. */
/*@ requires \valid(s) && vq_ackset_ok(s) && 0 <= a < s->n;
    requires pn + 1 == s->r[a].lo;
    requires \forall integer b; a < b < s->n ==> s->r[b].hi + 1 < pn;
    assigns s->r[a].lo;
    ensures vq_ackset_ok(s) && s->r[a].lo == pn; */
static void extend_down(vq_ackset *s, uint32_t a, uint64_t pn)
{
  s->r[a].lo = pn;
}

/* Raises r[b].hi to pn, which lies just above it and below every earlier range. */
/*@ requires \valid(s) && vq_ackset_ok(s) && 0 <= b < s->n;
    requires s->r[b].hi + 1 == pn && pn <= 4611686018427387903;
    requires \forall integer a; 0 <= a < b ==> pn + 1 < s->r[a].lo;
    assigns s->r[b].hi;
    ensures vq_ackset_ok(s) && s->r[b].hi == pn; */
static void extend_up(vq_ackset *s, uint32_t b, uint64_t pn)
{
  s->r[b].hi = pn;
}

/* Counts a range forgotten for lack of room (saturating). The ranges are untouched. */
/*@ requires \valid(s) && vq_ackset_ok(s);
    assigns s->dropped;
    ensures vq_ackset_ok(s); */
static void count_dropped(vq_ackset *s)
{
  if (s->dropped < UINT64_MAX) s->dropped++;
}

/* spec: rfc9000#13.2.3 — a receiver may limit the ACK ranges it keeps; the lowest go first. */
/*@ requires \valid(s) && vq_ackset_ok(s);
    assigns s->n, s->dropped, s->r[0 .. s->cap - 1];
    ensures vq_ackset_ok(s);
    ensures \result == VQ_ERR_INVALID_ARGUMENT || \result == 0 || \result == 1;
    ensures pn > 4611686018427387903 ==> \result == VQ_ERR_INVALID_ARGUMENT;
    ensures s->r == \old(s->r) && s->cap == \old(s->cap); */
int vq_ackset_add(vq_ackset *s, uint64_t pn)
{
  if (pn > VMAX) return VQ_ERR_INVALID_ARGUMENT;
  uint32_t i = 0;
  /* The first range whose lo <= pn (usually the first: packet numbers grow). */
  /*@ loop invariant 0 <= i <= s->n;
      loop invariant \forall integer k; 0 <= k < i ==> s->r[k].lo > pn;
      loop assigns i;
      loop variant s->n - i; */
  while (i < s->n && s->r[i].lo > pn) i++;
  if (i < s->n && pn <= s->r[i].hi) return 0;
  const int below = i < s->n && s->r[i].hi + 1u == pn;
  const int above = i > 0 && pn + 1u == s->r[i - 1].lo;
  if (below && above) {
    /* pn closes the gap between r[i] and r[i-1]: r[i] grows up to r[i-1]'s top, r[i-1] goes. */
    s->r[i].hi = s->r[i - 1].hi;
    remove_at(s, i - 1);
    return 1;
  }
  if (above) {
    /*@ assert \forall integer b; i <= b < s->n ==> s->r[b].hi + 1 < pn; */
    extend_down(s, i - 1, pn);
    return 1;
  }
  if (below) {
    /*@ assert \forall integer a; 0 <= a < i ==> pn + 1 < s->r[a].lo; */
    extend_up(s, i, pn);
    return 1;
  }
  /* pn lies strictly between r[i - 1] and r[i], touching neither: what insert_at requires (first
   * for r[i], then for the ranges below it). */
  /*@ assert i < s->n ==> s->r[i].hi + 1 < pn; */
  /*@ assert \forall integer k; i <= k < s->n ==> s->r[k].hi + 1 < pn; */
  if (s->n == s->cap) {
    count_dropped(s);
    if (i == s->n) return 1; /* it would be the lowest range: forgotten at once */
    s->n--;                  /* forget the lowest range to make room */
  }
  insert_at(s, i, pn);
  return 1;
}

/*@ requires \valid_read(s) && vq_ackset_ok(s);
    assigns \nothing;
    ensures \result == 1 <==> vq_ackset_has(s, pn);
    ensures \result == 0 || \result == 1; */
int vq_ackset_contains(const vq_ackset *s, uint64_t pn)
{
  /*@ loop invariant 0 <= i <= s->n;
      loop invariant \forall integer k; 0 <= k < i ==> !(s->r[k].lo <= pn <= s->r[k].hi);
      loop assigns i;
      loop variant s->n - i; */
  for (uint32_t i = 0; i < s->n; i++)
    if (s->r[i].lo <= pn && pn <= s->r[i].hi) return 1;
  return 0;
}

/*@ requires \valid_read(s) && vq_ackset_ok(s) && \valid(ok) && \separated(ok, s);
    assigns *ok;
    ensures s->n > 0 ==> *ok == 1 && \result == s->r[0].hi;
    ensures s->n == 0 ==> *ok == 0 && \result == 0; */
uint64_t vq_ackset_largest(const vq_ackset *s, int *ok)
{
  if (s->n == 0) {
    *ok = 0;
    return 0;
  }
  *ok = 1;
  return s->r[0].hi;
}

/* spec: rfc9000#13.2.4 — ranges acknowledged in an ACK the peer has acknowledged may be dropped. */
/*@ requires \valid(s) && vq_ackset_ok(s);
    assigns s->n, s->r[0 .. s->cap - 1];
    ensures vq_ackset_ok(s);
    ensures s->n <= \old(s->n);
    ensures \forall integer k; 0 <= k < s->n ==> s->r[k].lo >= pn; */
void vq_ackset_remove_below(vq_ackset *s, uint64_t pn)
{
  /* Ranges are descending: drop whole ranges from the end, then trim the last one kept. */
  /*@ loop invariant 0 <= s->n <= \at(s->n, Pre);
      loop invariant vq_ackset_ok(s);
      loop assigns s->n;
      loop variant s->n; */
  while (s->n > 0 && s->r[s->n - 1].hi < pn) s->n--;
  if (s->n > 0 && s->r[s->n - 1].lo < pn) s->r[s->n - 1].lo = pn;
}
