/* vquic — RTT estimation and loss detection (RFC 9002 §5, §6, Appendix A).
 *
 * The sent-packet table of a space is a ring of `cap` records in increasing pn order from `head`.
 * A record's `reserved` byte is its slot state. Acknowledged and lost packets leave holes (ACKED,
 * LOST) that the head passes over as soon as they reach it, so every pn sent at or above the pn at
 * the head still has a record: an ACK of a pn there without a LIVE/ACKED/LOST record acknowledges a
 * pn never sent. Packet numbers the sender skipped get a SKIPPED record (the first pn of the gap) that
 * the head passes only when the table needs the room, so a skipped pn stays detectable as long as
 * possible. Packets are told to the connection exactly once: ACKED, LOST or DISCARDED. */
#include "vquic/recovery.h"

#include <string.h>

#define INITIAL_SLOTS 32u /* sent-packet records a space starts with */

__extension__ typedef unsigned __int128 rc_u128;

enum {
  SLOT_LIVE = 0,    /* sent, neither acknowledged nor declared lost */
  SLOT_NEWLY = 1,   /* acknowledged by the ACK being processed (never outlives vq_recovery_on_ack) */
  SLOT_ACKED = 2,   /* acknowledged: a hole */
  SLOT_LOST = 3,    /* declared lost and reported: a hole, kept to notice a spurious loss */
  SLOT_SKIPPED = 4, /* a pn the sender skipped (pn = first of the gap): never sent */
};

#define PN_MAX 4611686018427387903u /* 2^62 - 1 */
#define PTO_SHIFT_MAX 30u          /* 2^30 * PTO: beyond any connection's idle timeout */
#define DEFAULT_MAX_ACK_DELAY VQ_MS(25) /* RFC 9000 §18.2: the default of max_ack_delay */

/* ---- time arithmetic ---------------------------------------------------------------------------- */

static vq_time tadd(vq_time a, vq_time b)
{
  return a > VQ_TIME_NEVER - 1u - b ? VQ_TIME_NEVER - 1u : a + b;
}

static vq_time tshift(vq_time d, uint32_t n)
{
  if (n > PTO_SHIFT_MAX) n = PTO_SHIFT_MAX;
  return d > ((VQ_TIME_NEVER - 1u) >> n) ? VQ_TIME_NEVER - 1u : d << n;
}

static vq_time tmax(vq_time a, vq_time b) { return a > b ? a : b; }

/* ---- RTT (§5) ----------------------------------------------------------------------------------- */

/* spec: rfc9002#A.4 — smoothed_rtt = kInitialRtt, rttvar = kInitialRtt / 2, min_rtt = 0. */
void vq_rtt_init(vq_rtt *r, vq_time initial_rtt, vq_time max_ack_delay)
{
  r->latest = 0;
  r->smoothed = initial_rtt;
  r->rttvar = initial_rtt / 2u;
  r->min = 0;
  r->first_sample_time = 0;
  r->has_sample = 0;
  r->max_ack_delay = max_ack_delay;
}

/* spec: rfc9002#A.7 — UpdateRtt. */
void vq_rtt_sample(vq_rtt *r, vq_time now, vq_time latest, vq_time ack_delay, int handshake_confirmed)
{
  r->latest = latest;
  if (!r->has_sample) {
    /* spec: rfc9002#5.2/1 — min_rtt MUST be set to the latest_rtt on the first RTT sample;
     * rfc9002#5.3 — smoothed_rtt = latest_rtt, rttvar = latest_rtt / 2. */
    r->min = latest;
    r->smoothed = latest;
    r->rttvar = latest / 2u;
    r->first_sample_time = now;
    r->has_sample = 1;
    return;
  }
  /* spec: rfc9002#5.2/2 — min_rtt MUST be set to the lesser of min_rtt and latest_rtt on all other
   * samples (min_rtt ignores acknowledgment delay). */
  if (latest < r->min) r->min = latest;
  /* spec: rfc9002#5.3/4, rfc9002#5.3/5 — SHOULD ignore the peer's max_ack_delay until the handshake
   * is confirmed; MUST use the lesser of the acknowledgment delay and the peer's max_ack_delay after
   * the handshake is confirmed. */
  if (handshake_confirmed && ack_delay > r->max_ack_delay) ack_delay = r->max_ack_delay;
  /* spec: rfc9002#5.3/6 — MUST NOT subtract the acknowledgment delay from the RTT sample if the
   * resulting value is smaller than the min_rtt. */
  vq_time adjusted = latest;
  if (latest >= r->min && latest - r->min >= ack_delay) adjusted = latest - ack_delay;
  const vq_time diff = r->smoothed > adjusted ? r->smoothed - adjusted : adjusted - r->smoothed;
  /* spec: rfc9002#5.3 — rttvar = 3/4 * rttvar + 1/4 * rttvar_sample;
   * smoothed_rtt = 7/8 * smoothed_rtt + 1/8 * adjusted_rtt. */
  r->rttvar = (vq_time)(((rc_u128)r->rttvar * 3u + diff) / 4u);
  r->smoothed = (vq_time)(((rc_u128)r->smoothed * 7u + adjusted) / 8u);
}

/* spec: rfc9002#6.2.1, rfc9002#6.2.1/1 — PTO = smoothed_rtt + max(4*rttvar, kGranularity) +
 * max_ack_delay: the PTO period MUST be at least kGranularity. */
vq_time vq_rtt_pto(const vq_rtt *r, int include_max_ack_delay)
{
  vq_time d = tadd(r->smoothed, tmax(tshift(r->rttvar, 2), VQ_K_GRANULARITY));
  if (include_max_ack_delay) d = tadd(d, r->max_ack_delay);
  return d;
}

/* ---- the sent-packet table ---------------------------------------------------------------------- */

static vq_sent_packet *slot(const vq_recovery_space *sp, uint32_t i)
{
  uint32_t k = sp->head + i;
  if (k >= sp->cap) k -= sp->cap;
  return &sp->ring[k];
}

/* The first index in [0, count] whose pn is >= pn (pns increase along the ring). */
static uint32_t lower_bound(const vq_recovery_space *sp, uint64_t pn)
{
  uint32_t lo = 0, hi = sp->count;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2u;
    if (slot(sp, mid)->pn < pn)
      lo = mid + 1u;
    else
      hi = mid;
  }
  return lo;
}

static int is_hole(uint8_t st) { return st == SLOT_ACKED || st == SLOT_LOST; }

/* Passes the head over holes; over SKIPPED records too when room is needed. */
static void trim(vq_recovery_space *sp, int drop_skipped)
{
  while (sp->count > 0) {
    const uint8_t st = slot(sp, 0)->reserved;
    if (!is_hole(st) && !(drop_skipped && st == SLOT_SKIPPED)) break;
    sp->head = sp->head + 1u == sp->cap ? 0 : sp->head + 1u;
    sp->count--;
  }
  if (sp->count == 0) sp->head = 0;
}

/* Doubles the table (up to its bound), keeping the records in order from index 0. 0 if it cannot. */
static int grow(vq_recovery *r, vq_recovery_space *sp)
{
  if (sp->cap >= sp->max)
    return 0;
  uint32_t ncap = sp->cap > sp->max / 2u ? sp->max : sp->cap * 2u;
  vq_sent_packet *n = vq_mem_calloc(r->mem, ncap, sizeof(vq_sent_packet));
  if (n == NULL)
    return 0;
  for (uint32_t i = 0; i < sp->count; i++)
    n[i] = *slot(sp, i);
  vq_mem_free(r->mem, sp->ring, (size_t)sp->cap * sizeof(vq_sent_packet));
  sp->ring = n;
  sp->cap = ncap;
  sp->head = 0;
  return 1;
}

int vq_recovery_has_room(const vq_recovery *r, vq_pn_space space)
{
  if (r == NULL || (unsigned)space >= VQ_SPACE_COUNT)
    return 0;
  const vq_recovery_space *sp = &r->space[space];
  /* two slots: a skipped-pn record may precede the packet */
  return sp->ring != NULL && (sp->count + 2u <= sp->cap || sp->cap < sp->max ||
                              (sp->count > 0 && is_hole(slot(sp, 0)->reserved)));
}

static void push(vq_recovery_space *sp, const vq_sent_packet *p, uint8_t state)
{
  vq_sent_packet *s = slot(sp, sp->count);
  *s = *p;
  s->declared_lost = 0;
  s->reserved = state;
  sp->count++;
}

/* ---- init --------------------------------------------------------------------------------------- */

static void space_reset(vq_recovery_space *sp)
{
  sp->head = 0;
  sp->count = 0;
  sp->largest_acked = 0;
  sp->has_largest_acked = 0;
  sp->loss_time = VQ_TIME_NEVER;
  sp->time_of_last_ack_eliciting = VQ_TIME_NEVER;
  sp->ack_eliciting_in_flight = 0;
  sp->ecn_ce_reported = 0;
  sp->largest_sent = 0;
  sp->has_sent = 0;
}

static void pacer_reset(vq_recovery *r)
{
  r->pacer.burst = VQ_K_INITIAL_WINDOW_PACKETS * r->cc.max_datagram_size;
  r->pacer.tokens = r->pacer.burst;
  r->pacer.next_send = 0;
  r->pacer.last = VQ_TIME_NEVER;
}

vq_status vq_recovery_init(vq_recovery *r, vq_mem *mem, const vq_recovery_config *cfg)
{
  if (r == NULL || mem == NULL || cfg == NULL || cfg->max_sent_per_space < 2u ||
      cfg->max_sent_per_space > UINT32_MAX / 2u)
    return VQ_ERR_INVALID_ARGUMENT;
  memset(r, 0, sizeof *r);
  r->mem = mem;
  for (int s = 0; s < VQ_SPACE_COUNT; s++) {
    vq_recovery_space *sp = &r->space[s];
    /* DESIGN.md principle 5: bounded by max_sent_per_space, but grown on demand from a small table so
     * an idle connection does not hold the bound */
    uint32_t first = cfg->max_sent_per_space < INITIAL_SLOTS ? cfg->max_sent_per_space : INITIAL_SLOTS;
    sp->ring = vq_mem_calloc(mem, first, sizeof(vq_sent_packet));
    if (sp->ring == NULL) {
      vq_recovery_free(r);
      return VQ_ERR_NOMEM;
    }
    sp->cap = first;
    sp->max = cfg->max_sent_per_space;
    space_reset(sp);
  }
  /* spec: rfc9002#6.2.2/2, rfc9002#6.2.2/1 — when no previous RTT is available, the initial RTT
   * SHOULD be set to 333 milliseconds (cfg->initial_rtt may carry a remembered one). */
  vq_rtt_init(&r->rtt, cfg->initial_rtt ? cfg->initial_rtt : VQ_K_INITIAL_RTT, DEFAULT_MAX_ACK_DELAY);
  vq_cc_init(&r->cc, cfg->cc, cfg->max_datagram_size);
  pacer_reset(r);
  r->pto_count = 0;
  r->loss_detection_timer = VQ_TIME_NEVER;
  r->pacing = cfg->pacing != 0;
  return VQ_OK;
}

void vq_recovery_free(vq_recovery *r)
{
  if (r == NULL || r->mem == NULL) return;
  for (int s = 0; s < VQ_SPACE_COUNT; s++) {
    vq_recovery_space *sp = &r->space[s];
    if (sp->ring) vq_mem_free(r->mem, sp->ring, (size_t)sp->cap * sizeof(vq_sent_packet));
    sp->ring = NULL;
    sp->cap = 0;
    sp->count = 0;
    sp->head = 0;
  }
}

/* ---- the loss detection timer (A.8) ----------------------------------------------------------- */

static uint64_t ack_eliciting_in_flight(const vq_recovery *r)
{
  return r->space[0].ack_eliciting_in_flight + r->space[1].ack_eliciting_in_flight +
         r->space[2].ack_eliciting_in_flight;
}

/* spec: rfc9002#A.8 — GetLossTimeAndSpace: the earliest loss_time (VQ_TIME_NEVER: none). */
static vq_time loss_time_and_space(const vq_recovery *r, vq_pn_space *space)
{
  vq_time t = VQ_TIME_NEVER;
  *space = VQ_SPACE_INITIAL;
  for (int s = 0; s < VQ_SPACE_COUNT; s++) {
    if (r->space[s].loss_time < t) {
      t = r->space[s].loss_time;
      *space = (vq_pn_space)s;
    }
  }
  return t;
}

/* spec: rfc9002#A.8 — GetPtoTimeAndSpace, with exponential backoff.
 * spec: rfc9002#6.2.1/2, rfc9002#6.2.1/3 — with ack-eliciting packets in flight in several spaces
 * the timer is the earliest of them; an endpoint MUST NOT set its PTO timer for the Application
 * Data packet number space until the handshake is confirmed (the loop returns before APP). */
static vq_time pto_time_and_space(const vq_recovery *r, const vq_recovery_state *st, vq_time now,
                                  vq_pn_space *space)
{
  /* spec: rfc9002#6.2.1/5 — the PTO backoff doubles the period each time the timer expires. */
  vq_time duration = tshift(vq_rtt_pto(&r->rtt, 0), r->pto_count);
  *space = VQ_SPACE_INITIAL;
  if (ack_eliciting_in_flight(r) == 0) {
    /* spec: rfc9002#6.2.2.1/2 — the client MUST set the PTO timer if it has not received an
     * acknowledgment for any of its Handshake packets and the handshake is not confirmed, even if
     * there are no packets in flight (anti-deadlock; from now). */
    *space = st->has_handshake_keys ? VQ_SPACE_HANDSHAKE : VQ_SPACE_INITIAL;
    return tadd(now, duration);
  }
  vq_time best = VQ_TIME_NEVER;
  for (int s = 0; s < VQ_SPACE_COUNT; s++) {
    const vq_recovery_space *sp = &r->space[s];
    if (sp->ack_eliciting_in_flight == 0) continue;
    if (s == VQ_SPACE_APP) {
      if (!st->handshake_confirmed) {
        /* spec: rfc9002#6.2.2.1/2 — only 0-RTT packets in flight (the Application Data space is
         * skipped until the handshake is confirmed): a client whose address the server has not
         * validated still needs the anti-deadlock timer, or a lost Finished would never be sent
         * again (A.8's pseudo-code returns no timer here) */
        if (best == VQ_TIME_NEVER && !st->peer_completed_address_validation) {
          *space = st->has_handshake_keys ? VQ_SPACE_HANDSHAKE : VQ_SPACE_INITIAL;
          return tadd(now, duration);
        }
        return best;
      }
      duration = tadd(duration, tshift(r->rtt.max_ack_delay, r->pto_count));
    }
    const vq_time t = tadd(sp->time_of_last_ack_eliciting, duration);
    if (t < best) {
      best = t;
      *space = (vq_pn_space)s;
    }
  }
  return best;
}

/* spec: rfc9002#A.8 — SetLossDetectionTimer. */
static void set_timer(vq_recovery *r, const vq_recovery_state *st, vq_time now)
{
  vq_pn_space space;
  /* spec: rfc9002#6.1.2/3, rfc9002#6.2.1/6 — if packets sent before the largest acknowledged cannot
   * yet be declared lost, a timer SHOULD be set for the remaining time; the PTO timer MUST NOT be set
   * if a timer is set for time threshold loss detection (the loss time wins even when later). */
  const vq_time lt = loss_time_and_space(r, &space);
  if (lt != VQ_TIME_NEVER) {
    r->loss_detection_timer = lt;
    return;
  }
  /* spec: rfc9002#6.2.2.1/1 — the server's PTO timer MUST NOT be armed while it can send nothing
   * more because of the anti-amplification limit. */
  if (st->amplification_limited) {
    r->loss_detection_timer = VQ_TIME_NEVER;
    return;
  }
  if (ack_eliciting_in_flight(r) == 0 && st->peer_completed_address_validation) {
    r->loss_detection_timer = VQ_TIME_NEVER;
    return;
  }
  r->loss_detection_timer = pto_time_and_space(r, st, now, &space);
}

void vq_recovery_update_timer(vq_recovery *r, const vq_recovery_state *st, vq_time now)
{
  if (r == NULL || st == NULL) return;
  set_timer(r, st, now);
}

vq_time vq_recovery_timer(const vq_recovery *r)
{
  return r == NULL ? VQ_TIME_NEVER : r->loss_detection_timer;
}

/* ---- sending (A.5) ------------------------------------------------------------------------------ */

vq_status vq_recovery_on_packet_sent(vq_recovery *r, vq_pn_space space, const vq_sent_packet *p,
                                     const vq_recovery_state *st)
{
  if (r == NULL || p == NULL || st == NULL || (unsigned)space >= VQ_SPACE_COUNT)
    return VQ_ERR_INVALID_ARGUMENT;
  vq_recovery_space *sp = &r->space[space];
  if (sp->ring == NULL || p->pn > PN_MAX) return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#12.3 — packet numbers increase in a space; a packet is recorded once. */
  if (sp->has_sent && p->pn <= sp->largest_sent) return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9002#2 — an ack-eliciting packet is always in flight. */
  if (p->ack_eliciting && !p->in_flight) return VQ_ERR_INVALID_ARGUMENT;
  const int gap = sp->has_sent ? p->pn > sp->largest_sent + 1u : p->pn > 0;
  if (sp->cap - sp->count < 2u) trim(sp, 0);
  if (sp->cap - sp->count < 2u) (void)grow(r, sp);
  if (sp->count == sp->cap) trim(sp, 1);
  if (sp->count == sp->cap) return VQ_ERR_BUDGET;
  if (gap) {
    /* The skipped pns are remembered when there is room for it (else a later ACK of them is
     * rejected only while they are above the oldest tracked pn). */
    if (sp->cap - sp->count < 2u) trim(sp, 1);
    if (sp->cap - sp->count >= 2u) {
      vq_sent_packet skip;
      memset(&skip, 0, sizeof skip);
      skip.pn = sp->has_sent ? sp->largest_sent + 1u : 0;
      skip.time_sent = p->time_sent;
      push(sp, &skip, SLOT_SKIPPED);
    }
  }
  push(sp, p, SLOT_LIVE);
  sp->largest_sent = p->pn;
  sp->has_sent = 1;
  r->packets_sent++;
  /* spec: rfc9002#A.5 — OnPacketSent: in-flight packets count in bytes_in_flight; an ack-eliciting
   * one sets time_of_last_ack_eliciting_packet; the timer is re-armed.
   * spec: rfc9002#6.2.1/4 — a sender SHOULD restart its PTO timer every time an ack-eliciting packet
   * is sent.
   * spec: rfc9002#7.5/2 — every in-flight packet, a probe sent beyond the congestion window
   * included, is counted in bytes_in_flight (vq_cc_on_sent refuses nothing). */
  if (p->in_flight) {
    if (p->ack_eliciting) {
      sp->time_of_last_ack_eliciting = p->time_sent;
      sp->ack_eliciting_in_flight++;
    }
    vq_cc_on_sent(&r->cc, p->size);
    set_timer(r, st, p->time_sent);
  }
  return VQ_OK;
}

/* ---- loss detection (A.10, B.8) ------------------------------------------------------------- */

static void report(const vq_recovery_cb *cb, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate f)
{
  if (cb && cb->on_packet) cb->on_packet(cb->ud, space, p, f);
}

static void leave_flight(vq_recovery_space *sp, const vq_sent_packet *p)
{
  if (p->in_flight && p->ack_eliciting && sp->ack_eliciting_in_flight > 0) sp->ack_eliciting_in_flight--;
}

/* spec: rfc9002#A.10 DetectAndRemoveLostPackets followed by B.8 OnPacketsLost, in one walk over the
 * table in pn order. Returns the number of packets declared lost. */
static uint32_t detect_lost(vq_recovery *r, vq_pn_space space, vq_time now, const vq_recovery_cb *cb)
{
  vq_recovery_space *sp = &r->space[space];
  sp->loss_time = VQ_TIME_NEVER;
  if (!sp->has_largest_acked) return 0;
  /* spec: rfc9002#6.1.2/4, rfc9002#6.1.2/2 — kTimeThreshold = 9/8 of max(smoothed_rtt,
   * latest_rtt); the time threshold MUST be at least kGranularity. */
  vq_time loss_delay = tmax(r->rtt.latest, r->rtt.smoothed);
  loss_delay = (vq_time)(((rc_u128)loss_delay * VQ_K_TIME_THRESHOLD_NUM) / VQ_K_TIME_THRESHOLD_DEN);
  loss_delay = tmax(loss_delay, VQ_K_GRANULARITY);
  /* spec: rfc9002#7.6.1 — persistent congestion duration =
   * (smoothed_rtt + max(4*rttvar, kGranularity) + max_ack_delay) * kPersistentCongestionThreshold. */
  const vq_time pto1 = vq_rtt_pto(&r->rtt, 1);
  const vq_time pc_duration = pto1 > (VQ_TIME_NEVER - 1u) / VQ_K_PERSISTENT_CONGESTION_THRESHOLD
                                  ? VQ_TIME_NEVER - 1u
                                  : pto1 * VQ_K_PERSISTENT_CONGESTION_THRESHOLD;
  uint32_t lost = 0;
  vq_time last_loss_sent = 0;
  int any_in_flight_lost = 0, persistent = 0, run = 0;
  vq_time run_start = 0;
  for (uint32_t i = 0; i < sp->count; i++) {
    vq_sent_packet *p = slot(sp, i);
    if (p->pn > sp->largest_acked) break;
    if (p->reserved == SLOT_NEWLY || p->reserved == SLOT_ACKED) {
      run = 0; /* an acknowledged packet between two lost ones breaks the period (§7.6.2) */
      continue;
    }
    if (p->reserved != SLOT_LIVE) continue; /* earlier losses and skipped pns leave the period be */
    /* spec: rfc9002#6.1.1/1, rfc9002#6.1.2/1 — kPacketThreshold = 3; an earlier packet SHOULD be
     * declared lost if it was sent a threshold amount of time in the past. */
    const int by_time = p->time_sent <= now && now - p->time_sent >= loss_delay;
    const int by_count = sp->largest_acked >= p->pn + VQ_K_PACKET_THRESHOLD;
    if (!by_time && !by_count) {
      const vq_time lt = tadd(p->time_sent, loss_delay);
      if (lt < sp->loss_time) sp->loss_time = lt;
      run = 0;
      continue;
    }
    p->declared_lost = 1;
    p->reserved = SLOT_LOST;
    leave_flight(sp, p);
    lost++;
    r->packets_lost++;
    const int this_path = p->pn >= sp->path_first_pn; /* rfc9000#9.4/1 */
    /* spec: rfc9000#14.4/1 — a lost PMTU probe leaves bytes_in_flight but is no congestion
     * signal, and no part of a persistent congestion period (it neither starts nor breaks one) */
    if (p->pmtu_probe) {
      if (p->in_flight) vq_cc_on_removed(&r->cc, p->size);
      report(cb, space, p, VQ_PKT_LOST);
      continue;
    }
    if (p->in_flight) {
      r->bytes_lost += p->size;
      vq_cc_on_removed(&r->cc, p->size);
      if (this_path) {
        any_in_flight_lost = 1;
        if (p->time_sent > last_loss_sent) last_loss_sent = p->time_sent;
      }
    }
    /* spec: rfc9002#7.6.2/1, rfc9002#7.6.2/2 — the two packets MUST be ack-eliciting; the period
     * SHOULD NOT start until there is at least one RTT sample (packets sent after it, B.8). */
    if (this_path && p->ack_eliciting && r->rtt.has_sample && p->time_sent > r->rtt.first_sample_time) {
      if (!run) {
        run = 1;
        run_start = p->time_sent;
      } else if (p->time_sent > run_start && p->time_sent - run_start > pc_duration) {
        persistent = 1;
      }
    }
    report(cb, space, p, VQ_PKT_LOST);
  }
  /* spec: rfc9002#7.3.1/1 — the sender MUST exit slow start and enter a recovery period when a
   * packet is lost (B.8: a congestion event if in-flight packets were lost).
   * spec: rfc9002#7.4/2 — no loss is ignored: every in-flight packet declared lost above, in any
   * space and whenever it was sent, counts (the MAY of rfc9002#7.4/1 is not used).
   * spec: rfc9000#13.3/7 — so every loss detected leads to the congestion controller's action */
  if (any_in_flight_lost) vq_cc_on_congestion_event(&r->cc, last_loss_sent, now);
  if (persistent) {
    vq_cc_on_persistent_congestion(&r->cc);
    /* spec: rfc9002#5.2/3 — endpoints SHOULD set the min_rtt to the newest RTT sample after
     * persistent congestion is established. */
    r->rtt.min = r->rtt.latest;
  }
  return lost;
}

/* ---- acknowledgments (A.7) ------------------------------------------------------------------- */

/* spec: rfc9000#13.1 — an endpoint SHOULD treat receipt of an acknowledgment for a packet it did not
 * send as a connection error of type PROTOCOL_VIOLATION. Checks one range, changes nothing. */
static vq_status check_range(const vq_recovery_space *sp, const vq_ack_range *rg)
{
  if (!sp->has_sent || rg->largest > sp->largest_sent) return VQ_ERR_PROTOCOL_VIOLATION;
  if (sp->count == 0) return VQ_OK;
  const uint64_t base = slot(sp, 0)->pn;
  if (rg->largest < base) return VQ_OK; /* below the table: acknowledged or lost before, or unknown */
  const uint64_t lo = rg->smallest > base ? rg->smallest : base;
  const uint32_t i1 = lower_bound(sp, lo), i2 = lower_bound(sp, rg->largest + 1u);
  /* Every pn in [lo, largest] was recorded (pns are distinct and increasing), none skipped. */
  if ((uint64_t)(i2 - i1) != rg->largest - lo + 1u) return VQ_ERR_PROTOCOL_VIOLATION;
  for (uint32_t i = i1; i < i2; i++)
    if (slot(sp, i)->reserved == SLOT_SKIPPED) return VQ_ERR_PROTOCOL_VIOLATION;
  return VQ_OK;
}

vq_status vq_recovery_on_ack(vq_recovery *r, vq_pn_space space, const vq_frame_ack *ack,
                             vq_time ack_delay, const vq_recovery_state *st, vq_time now,
                             const vq_recovery_cb *cb, int *rtt_updated)
{
  int dummy;
  if (rtt_updated == NULL) rtt_updated = &dummy;
  *rtt_updated = 0;
  if (r == NULL || ack == NULL || st == NULL || (unsigned)space >= VQ_SPACE_COUNT)
    return VQ_ERR_INVALID_ARGUMENT;
  vq_recovery_space *sp = &r->space[space];
  if (sp->ring == NULL) return VQ_ERR_INVALID_ARGUMENT;

  /* Pass 1: validate every range; nothing changes on failure. */
  vq_ack_iter it;
  vq_ack_range rg;
  uint64_t largest = 0;
  int first = 1;
  vq_ack_iter_init(&it, ack);
  while (vq_ack_iter_next(&it, &rg)) {
    if (first) largest = rg.largest;
    first = 0;
    vq_status s = check_range(sp, &rg);
    if (s != VQ_OK) return s;
  }
  if (it.status != VQ_OK) return it.status;
  if (first) return VQ_ERR_FRAME_ACK_RANGE;

  /* Pass 2: mark the newly acknowledged packets. */
  uint32_t lo_i = UINT32_MAX, hi_i = 0;
  vq_ack_iter_init(&it, ack);
  while (vq_ack_iter_next(&it, &rg)) {
    uint32_t i = lower_bound(sp, rg.smallest);
    for (; i < sp->count; i++) {
      vq_sent_packet *p = slot(sp, i);
      if (p->pn > rg.largest) break;
      if (p->reserved == SLOT_LOST) {
        /* Acknowledged after it was declared lost: a spurious loss (reported once, as LOST). */
        r->spurious_losses++;
        p->reserved = SLOT_ACKED;
        continue;
      }
      if (p->reserved != SLOT_LIVE) continue; /* acknowledged twice: ignored */
      p->reserved = SLOT_NEWLY;
      if (i < lo_i) lo_i = i;
      if (i > hi_i) hi_i = i;
    }
  }
  /* spec: rfc9002#A.7 — largest_acked_packet = max(largest_acked_packet, ack.largest_acked). */
  if (!sp->has_largest_acked || largest > sp->largest_acked) sp->largest_acked = largest;
  sp->has_largest_acked = 1;
  if (lo_i == UINT32_MAX) {
    trim(sp, 0);
    return VQ_OK; /* nothing newly acknowledged: nothing to do */
  }

  /* Pass 3: report the newly acknowledged packets in increasing pn order. */
  const vq_sent_packet *largest_newly = NULL;
  int includes_ack_eliciting = 0;
  for (uint32_t i = lo_i; i <= hi_i; i++) {
    vq_sent_packet *p = slot(sp, i);
    if (p->reserved != SLOT_NEWLY) continue;
    largest_newly = p;
    if (p->ack_eliciting) includes_ack_eliciting = 1;
    leave_flight(sp, p);
    r->packets_acked++;
    report(cb, space, p, VQ_PKT_ACKED);
  }

  /* spec: rfc9002#5.1/1, rfc9002#5.1/2 — an ACK frame SHOULD NOT update RTT estimates if it does not
   * newly acknowledge the largest acknowledged packet; an RTT sample MUST NOT be generated on an ACK
   * frame that does not newly acknowledge at least one ack-eliciting packet. */
  if (largest_newly->pn == largest && includes_ack_eliciting && largest >= sp->path_first_pn) {
    const vq_time latest = now > largest_newly->time_sent ? now - largest_newly->time_sent : 0;
    vq_rtt_sample(&r->rtt, now, latest, ack_delay, st->handshake_confirmed);
    *rtt_updated = 1;
  }
  /* HyStart++ (RFC 9406): rounds by packet number of the application space, and the RTT sample */
  if (space == VQ_SPACE_APP)
    vq_cc_on_ack_round(&r->cc, largest, sp->largest_sent + 1u,
                       *rtt_updated ? r->rtt.latest : VQ_TIME_NEVER);

  /* spec: rfc9002#B.7 — if the ECN-CE counter reported by the peer has increased, this could be a
   * new congestion event (for the send time of the largest acknowledged packet).
   * spec: rfc9002#7.3.1/1 — the sender MUST exit slow start and enter a recovery period when the
   * ECN-CE count reported by its peer increases. */
  if (ack->ecn_ce > sp->ecn_ce_reported) {
    sp->ecn_ce_reported = ack->ecn_ce;
    if (largest_newly->pn >= sp->path_first_pn)
      vq_cc_on_congestion_event(&r->cc, largest_newly->time_sent, now);
  }

  /* spec: rfc9002#A.7 — lost packets (B.8) before the acknowledged ones reach the controller (B.5). */
  detect_lost(r, space, now, cb);
  for (uint32_t i = lo_i; i <= hi_i; i++) {
    vq_sent_packet *p = slot(sp, i);
    if (p->reserved != SLOT_NEWLY) continue;
    p->reserved = SLOT_ACKED;
    if (p->in_flight && p->pn < sp->path_first_pn)
      vq_cc_on_removed(&r->cc, p->size); /* rfc9000#9.4/1: no window growth from the old path */
    else if (p->in_flight)
      vq_cc_on_acked(&r->cc, p->size, p->time_sent, now, r->rtt.smoothed, st->app_limited);
  }
  trim(sp, 0);
  /* spec: rfc9002#A.7, rfc9002#6.2.1/4 — reset pto_count unless the client is unsure whether the
   * server has validated its address; restart the PTO timer when an ack-eliciting packet is
   * acknowledged. */
  if (st->peer_completed_address_validation) r->pto_count = 0;
  set_timer(r, st, now);
  return VQ_OK;
}

/* ---- the timer fires (A.9) ---------------------------------------------------------------------- */

void vq_recovery_on_timeout(vq_recovery *r, const vq_recovery_state *st, vq_time now,
                            const vq_recovery_cb *cb, vq_pn_space *probe_space, uint32_t *probes)
{
  vq_pn_space ds;
  uint32_t dp;
  if (probe_space == NULL) probe_space = &ds;
  if (probes == NULL) probes = &dp;
  *probe_space = VQ_SPACE_INITIAL;
  *probes = 0;
  if (r == NULL || st == NULL) return;
  if (r->loss_detection_timer == VQ_TIME_NEVER || now < r->loss_detection_timer) return;
  vq_pn_space space;
  const vq_time lt = loss_time_and_space(r, &space);
  if (lt != VQ_TIME_NEVER) {
    /* Time threshold loss detection. */
    detect_lost(r, space, now, cb);
    trim(&r->space[space], 0);
    set_timer(r, st, now);
    return;
  }
  if (ack_eliciting_in_flight(r) == 0) {
    if (st->peer_completed_address_validation) {
      set_timer(r, st, now);
      return;
    }
    /* spec: rfc9002#6.2.2.1/3 — the client MUST send a Handshake packet if it has Handshake keys,
     * otherwise an Initial packet in a UDP datagram of at least 1200 bytes; spec: rfc9000#8.1/5,
     * rfc9000#8.1/6 — the same rule, so a server blocked by its anti-amplification limit hears
     * from the client again. */
    *probe_space = st->has_handshake_keys ? VQ_SPACE_HANDSHAKE : VQ_SPACE_INITIAL;
    *probes = 1;
  } else {
    /* spec: rfc9002#6.2.4/1, rfc9002#6.2.4/2 — a sender MUST send at least one ack-eliciting packet
     * in the packet number space as a probe; it MAY send up to two full-sized datagrams.
     * spec: rfc9002#6.2/1 — nothing is declared lost on a PTO. */
    const vq_time pt = pto_time_and_space(r, st, now, &space);
    if (pt == VQ_TIME_NEVER) {
      set_timer(r, st, now);
      return;
    }
    *probe_space = space;
    *probes = 2;
  }
  /* spec: rfc9002#6.2.1/5 — when a PTO timer expires, the PTO backoff MUST be increased. */
  r->pto_count++;
  r->pto_fired++;
  set_timer(r, st, now);
}

/* ---- discarding a space (A.11, B.9) ----------------------------------------------------------- */

/* spec: rfc9002#6.4/1 — the sender MUST discard all recovery state associated with those packets and
 * MUST remove them from the count of bytes in flight.
 * spec: rfc9002#6.2.2/4 — when Initial or Handshake keys are discarded, the PTO and loss detection
 * timers MUST be reset. */
void vq_recovery_discard_space(vq_recovery *r, vq_pn_space space, const vq_recovery_state *st,
                               vq_time now, const vq_recovery_cb *cb)
{
  if (r == NULL || st == NULL || (unsigned)space >= VQ_SPACE_COUNT) return;
  vq_recovery_space *sp = &r->space[space];
  for (uint32_t i = 0; i < sp->count; i++) {
    vq_sent_packet *p = slot(sp, i);
    if (p->reserved != SLOT_LIVE) continue;
    p->reserved = SLOT_ACKED;
    if (p->in_flight) vq_cc_on_removed(&r->cc, p->size);
    report(cb, space, p, VQ_PKT_DISCARDED);
  }
  sp->head = 0;
  sp->count = 0;
  sp->time_of_last_ack_eliciting = VQ_TIME_NEVER;
  sp->loss_time = VQ_TIME_NEVER;
  sp->ack_eliciting_in_flight = 0;
  r->pto_count = 0;
  set_timer(r, st, now);
}

/* ---- queries and path reset --------------------------------------------------------------------- */

uint64_t vq_recovery_largest_acked(const vq_recovery *r, vq_pn_space space, int *ok)
{
  int d;
  if (ok == NULL) ok = &d;
  if (r == NULL || (unsigned)space >= VQ_SPACE_COUNT || !r->space[space].has_largest_acked) {
    *ok = 0;
    return 0;
  }
  *ok = 1;
  return r->space[space].largest_acked;
}

int vq_recovery_oldest_in_flight(const vq_recovery *r, vq_pn_space space, uint64_t after,
                                 int has_after, vq_sent_packet *out)
{
  if (r == NULL || out == NULL || (unsigned)space >= VQ_SPACE_COUNT)
    return 0;
  const vq_recovery_space *sp = &r->space[space];
  if (sp->ring == NULL || sp->ack_eliciting_in_flight == 0 || (has_after && after >= PN_MAX))
    return 0;
  for (uint32_t i = has_after ? lower_bound(sp, after + 1u) : 0; i < sp->count; i++) {
    const vq_sent_packet *p = slot(sp, i);
    if (p->reserved == SLOT_LIVE && p->ack_eliciting) {
      *out = *p;
      return 1;
    }
  }
  return 0;
}

uint64_t vq_recovery_bytes_in_flight(const vq_recovery *r)
{
  return r == NULL ? 0 : r->cc.bytes_in_flight;
}

/* spec: rfc9000#9.4 — on a new path the congestion controller and RTT estimator are reset; packets
 * still tracked stay in flight. */
void vq_recovery_set_max_datagram_size(vq_recovery *r, uint64_t max_datagram_size)
{
  if (r == NULL || max_datagram_size < 1200u || max_datagram_size > 65527u) return;
  /* spec: rfc9002#7.2/2 — the window is in bytes: it stays valid when max_datagram_size changes
   * during the connection (the initial window is only recalculated before any was used: the
   * connection changes the size only after the handshake is confirmed); kMinimumWindow follows */
  r->cc.max_datagram_size = max_datagram_size;
  const uint64_t minw = vq_cc_min_window(&r->cc);
  if (r->cc.cwnd < minw) r->cc.cwnd = minw;
  r->pacer.burst = VQ_K_INITIAL_WINDOW_PACKETS * max_datagram_size;
  if (r->pacer.tokens > r->pacer.burst) r->pacer.tokens = r->pacer.burst;
}

void vq_recovery_reset_path(vq_recovery *r, uint64_t max_datagram_size)
{
  if (r == NULL) return;
  /* spec: rfc9000#9.4/1 — what was sent before is the old path's: its acknowledgments give no RTT
   * sample and grow no window, its losses are no congestion event of the new path (on_ack,
   * detect_lost); it only leaves bytes_in_flight */
  for (int s = 0; s < VQ_SPACE_COUNT; s++)
    r->space[s].path_first_pn = r->space[s].has_sent ? r->space[s].largest_sent + 1u : 0;
  const uint64_t bif = r->cc.bytes_in_flight;
  vq_cc_init(&r->cc, r->cc.algo, max_datagram_size);
  r->cc.bytes_in_flight = bif;
  vq_rtt_init(&r->rtt, VQ_K_INITIAL_RTT, r->rtt.max_ack_delay);
  pacer_reset(r);
}
