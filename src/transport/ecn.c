/* vquic — ECN marking, validation and receive counts (RFC 9000 §13.4, A.4; RFC 9002 §7.1, B.7). */
#include "vquic/ecn.h"

#include <string.h>

static void fail(vq_ecn *e, vq_ecn_failure why)
{
  /* spec: rfc9000#13.4.2.2/1, rfc9000#13.4.2.2/4 — when validation fails (also later), ECN is
   * disabled: no further packet is marked. */
  e->state = VQ_ECN_FAILED;
  e->failure = why;
}

void vq_ecn_init(vq_ecn *e, int enabled, vq_time now)
{
  memset(e, 0, sizeof *e);
  e->state = VQ_ECN_TESTING;
  e->testing_start = now;
  if (!enabled) fail(e, VQ_ECN_FAIL_DISABLED);
}

/* spec: rfc9000#13.4.2.2/2 — validation may be tried again later; spec: rfc9000#A.4 — the existing
 * counts are the baseline. */
void vq_ecn_restart(vq_ecn *e, vq_time now)
{
  e->state = VQ_ECN_TESTING;
  e->failure = VQ_ECN_FAIL_NONE;
  e->testing_start = now;
  e->testing_marked = 0;
  e->marked_acked = 0;
  e->marked_lost = 0;
}

/* spec: rfc9000#13.4.2 — ECT(0) on early packets of a path, for ten packets or three PTOs.
 * spec: rfc9000#13.4.2.2/3 — marking continues once the path is validated. */
uint8_t vq_ecn_mark(vq_ecn *e, vq_time now, vq_time pto)
{
  if (e->state == VQ_ECN_TESTING && now > e->testing_start &&
      (now - e->testing_start) / VQ_ECN_TESTING_PTOS >= pto)
    e->state = VQ_ECN_UNKNOWN;
  return (e->state == VQ_ECN_TESTING || e->state == VQ_ECN_CAPABLE) ? VQ_ECN_ECT0 : VQ_ECN_NOT_ECT;
}

void vq_ecn_on_sent(vq_ecn *e, unsigned space, uint8_t mark)
{
  if (space >= VQ_ECN_SPACES || mark != VQ_ECN_ECT0) return;
  e->sent_ect0[space]++;
  if (e->state == VQ_ECN_TESTING && ++e->testing_marked >= VQ_ECN_TESTING_PACKETS)
    e->state = VQ_ECN_UNKNOWN;
}

/* spec: rfc9000#13.4.2.1 — validation of the ECN counts of an ACK frame against the packets it newly
 * acknowledges; spec: rfc9000#13.4.2.1/1 — never fail on an ACK that does not increase the largest
 * acknowledged packet number. spec: rfc9002#7.1 — an increased ECN-CE count is a congestion signal. */
uint64_t vq_ecn_on_ack(vq_ecn *e, unsigned space, uint64_t largest, int has_counts,
                       const vq_ecn_counts *counts, uint64_t newly_acked_ect0)
{
  if (space >= VQ_ECN_SPACES) return 0;
  if (e->has_largest[space] && largest <= e->largest_acked[space]) return 0;
  e->has_largest[space] = 1;
  e->largest_acked[space] = largest;
  if (e->state == VQ_ECN_FAILED) return 0;
  if (!has_counts || !counts) {
    /* ECT(0) packets acknowledged without counts: the peer or the path drops the marks. */
    if (newly_acked_ect0 > 0) {
      fail(e, VQ_ECN_FAIL_NO_COUNTS);
      return 0;
    }
    /* Nothing marked in this ACK, so nothing to contradict: marked packets already acknowledged with
     * valid counts (marked_acked, perhaps in another space whose keys are gone now) complete the
     * validation (A.4). Without this a path whose testing packets all went in Initial and Handshake
     * packets would stay "unknown" — unmarked — for good. */
    if (e->state == VQ_ECN_UNKNOWN && e->marked_acked > 0) e->state = VQ_ECN_CAPABLE;
    return 0;
  }
  vq_ecn_counts *p = &e->peer[space];
  if (counts->ect0 < p->ect0 || counts->ect1 < p->ect1 || counts->ce < p->ce) {
    fail(e, VQ_ECN_FAIL_DECREASED);
    return 0;
  }
  const uint64_t d0 = counts->ect0 - p->ect0, dce = counts->ce - p->ce;
  /* The sum cannot overflow in a way that hides a shortfall: both terms are checked separately. */
  if (d0 < newly_acked_ect0 && dce < newly_acked_ect0 - d0) {
    fail(e, VQ_ECN_FAIL_BLEACHED);
    return 0;
  }
  /* We only ever send ECT(0): any ECT(1) count means remarking in the network. */
  if (counts->ect1 != 0) {
    fail(e, VQ_ECN_FAIL_ECT1);
    return 0;
  }
  if (counts->ect0 > e->sent_ect0[space]) {
    fail(e, VQ_ECN_FAIL_TOO_MANY);
    return 0;
  }
  *p = *counts;
  e->marked_acked += newly_acked_ect0;
  /* spec: rfc9000#A.4 — from "unknown", a successful validation makes the path "capable", unless no
   * marked packet has been acknowledged. */
  if (e->state == VQ_ECN_UNKNOWN && e->marked_acked > 0) e->state = VQ_ECN_CAPABLE;
  e->ce_total += dce;
  return dce;
}

/* spec: rfc9000#13.4.2 — if all packets marked with ECT are lost, marking is disabled. */
void vq_ecn_on_lost(vq_ecn *e, uint64_t n)
{
  e->marked_lost = n > UINT64_MAX - e->marked_lost ? UINT64_MAX : e->marked_lost + n;
  if (e->state == VQ_ECN_UNKNOWN && e->marked_acked == 0 && e->testing_marked > 0 &&
      e->marked_lost >= e->testing_marked)
    fail(e, VQ_ECN_FAIL_ALL_LOST);
}

/* spec: rfc9000#13.4.1/1 — ECN feedback is given even when we do not mark our packets. */
void vq_ecn_on_received(vq_ecn *e, unsigned space, uint8_t ecn)
{
  if (space >= VQ_ECN_SPACES) return;
  switch (ecn & 3u) {
  case VQ_ECN_ECT0: e->rx[space].ect0++; break;
  case VQ_ECN_ECT1: e->rx[space].ect1++; break;
  case VQ_ECN_CE: e->rx[space].ce++; break;
  default: return;
  }
  e->rx_seen[space] = 1;
}

int vq_ecn_rx_counts(const vq_ecn *e, unsigned space, vq_ecn_counts *out)
{
  if (space >= VQ_ECN_SPACES) {
    out->ect0 = out->ect1 = out->ce = 0;
    return 0;
  }
  *out = e->rx[space];
  return e->rx_seen[space];
}
