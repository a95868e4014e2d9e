/* Tests of RTT estimation and loss detection (src/transport/recovery.c, RFC 9002 §5, §6, App. A). */
#include "vqtest.h"
#include "vquic/recovery.h"

#define MS VQ_MS(1)
#define MAX_LOG 20000

typedef struct ev {
  uint64_t pn;
  uint8_t fate;
  uint8_t space;
} ev;

typedef struct fx {
  vq_mem mem;
  vq_recovery r;
  vq_recovery_state st;
  vq_recovery_cb cb;
  ev log[MAX_LOG];
  size_t n;
} fx;

static void on_packet(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate)
{
  fx *f = ud;
  if (f->n < MAX_LOG) {
    f->log[f->n].pn = p->pn;
    f->log[f->n].fate = (uint8_t)fate;
    f->log[f->n].space = (uint8_t)space;
  }
  f->n++;
}

static fx *fx_new(vq_cc_algo algo, uint32_t cap)
{
  static fx store;
  fx *f = &store;
  memset(f, 0, sizeof *f);
  vq_mem_init(&f->mem, vq_allocator_system(), NULL, 8u << 20);
  vq_recovery_config cfg = {algo, 1200, 0, cap, 0};
  if (vq_recovery_init(&f->r, &f->mem, &cfg) != VQ_OK) return NULL;
  f->st.peer_completed_address_validation = 1; /* a server, or a validated client */
  f->cb.on_packet = on_packet;
  f->cb.ud = f;
  return f;
}

static void fx_free(fx *f)
{
  vq_recovery_free(&f->r);
}

static vq_status sendp(fx *f, vq_pn_space sp, uint64_t pn, vq_time t, uint32_t size, int ae)
{
  vq_sent_packet p;
  memset(&p, 0, sizeof p);
  p.pn = pn;
  p.time_sent = t;
  p.size = size;
  p.ack_eliciting = (uint8_t)(ae != 0);
  p.in_flight = (uint8_t)(ae != 0 || size > 0);
  p.handle = pn * 10u + 1u;
  return vq_recovery_on_packet_sent(&f->r, sp, &p, &f->st);
}

/* Builds an ACK (ACK_ECN when ce != UINT64_MAX) with ranges largest first, encodes and parses it,
 * and hands it to vq_recovery_on_ack. */
static vq_status ackr(fx *f, vq_pn_space sp, const vq_ack_range *rg, size_t n, vq_time delay,
                      vq_time now, uint64_t ce, int *rtt_updated)
{
  vq_frame e, g;
  uint8_t buf[2048];
  size_t used = 0, u2 = 0;
  memset(&e, 0, sizeof e);
  e.type = ce == UINT64_MAX ? VQ_FRAME_ACK : VQ_FRAME_ACK_ECN;
  e.ack.ranges_in = rg;
  e.ack.range_count_in = n;
  if (ce != UINT64_MAX) e.ack.ecn_ce = ce;
  if (vq_frame_encode(buf, sizeof buf, &e, &used) != VQ_OK) return VQ_ERR_INTERNAL;
  if (vq_frame_parse(buf, used, &g, &u2) != VQ_OK || u2 != used) return VQ_ERR_INTERNAL;
  int dummy;
  return vq_recovery_on_ack(&f->r, sp, &g.ack, delay, &f->st, now, &f->cb,
                            rtt_updated ? rtt_updated : &dummy);
}

static vq_status ack1(fx *f, vq_pn_space sp, uint64_t lo, uint64_t hi, vq_time now, int *rtt)
{
  vq_ack_range rg = {lo, hi};
  return ackr(f, sp, &rg, 1, 0, now, UINT64_MAX, rtt);
}

/* The fate of pn in the log (0xff: never reported); *times: how many reports. */
static int fate_of(const fx *f, uint8_t space, uint64_t pn, int *times)
{
  int fate = 0xff, k = 0;
  for (size_t i = 0; i < f->n && i < MAX_LOG; i++)
    if (f->log[i].pn == pn && f->log[i].space == space) {
      fate = f->log[i].fate;
      k++;
    }
  if (times) *times = k;
  return fate;
}

/* ---- RTT (§5) ---------------------------------------------------------------------------------- */

/* spec: rfc9002#5.2/1 — the first sample: min_rtt = smoothed_rtt = latest_rtt, rttvar = latest/2. */
VQ_TEST(recovery_rtt_first_sample)
{
  vq_rtt r;
  vq_rtt_init(&r, VQ_K_INITIAL_RTT, VQ_MS(25));
  CHECK_EQ(r.smoothed, VQ_MS(333));
  CHECK_EQ(r.rttvar, VQ_US(166500));
  CHECK_EQ(r.has_sample, 0);
  vq_rtt_sample(&r, VQ_MS(500), VQ_MS(100), VQ_MS(40), 1);
  CHECK_EQ(r.latest, VQ_MS(100));
  CHECK_EQ(r.smoothed, VQ_MS(100)); /* ack_delay plays no part in the first sample */
  CHECK_EQ(r.rttvar, VQ_MS(50));
  CHECK_EQ(r.min, VQ_MS(100));
  CHECK_EQ(r.first_sample_time, VQ_MS(500));
  CHECK_EQ(r.has_sample, 1);
  /* PTO = smoothed + max(4 * rttvar, kGranularity) (+ max_ack_delay). */
  CHECK_EQ(vq_rtt_pto(&r, 0), VQ_MS(300));
  CHECK_EQ(vq_rtt_pto(&r, 1), VQ_MS(325));
}

/* spec: rfc9002#5.3/5, rfc9002#5.3/6, rfc9002#5.2/2 — ack_delay capped at max_ack_delay once the
 * handshake is confirmed, never subtracted below min_rtt; min_rtt ignores ack_delay. */
VQ_TEST(recovery_rtt_later_samples)
{
  vq_rtt r;
  vq_rtt_init(&r, VQ_K_INITIAL_RTT, VQ_MS(25));
  vq_rtt_sample(&r, 0, VQ_MS(100), 0, 1);
  /* Confirmed: ack_delay 30 ms capped to 25; 130 >= 100 + 25 so adjusted = 105 ms. */
  vq_rtt_sample(&r, 1, VQ_MS(130), VQ_MS(30), 1);
  CHECK_EQ(r.min, VQ_MS(100));
  CHECK_EQ(r.rttvar, VQ_US(38750));    /* 3/4 * 50 + 1/4 * |100 - 105| */
  CHECK_EQ(r.smoothed, VQ_US(100625)); /* 7/8 * 100 + 1/8 * 105 */

  /* Not confirmed: max_ack_delay ignored, the whole 30 ms is subtracted: adjusted = 100 ms. */
  vq_rtt_init(&r, VQ_K_INITIAL_RTT, VQ_MS(25));
  vq_rtt_sample(&r, 0, VQ_MS(100), 0, 0);
  vq_rtt_sample(&r, 1, VQ_MS(130), VQ_MS(30), 0);
  CHECK_EQ(r.smoothed, VQ_MS(100)); /* 7/8 * 100 + 1/8 * 100 */
  CHECK_EQ(r.rttvar, VQ_US(37500)); /* 3/4 * 50 + 1/4 * 0 */

  /* latest 110 < min 100 + ack_delay 20: the delay is not subtracted. */
  vq_rtt_init(&r, VQ_K_INITIAL_RTT, VQ_MS(25));
  vq_rtt_sample(&r, 0, VQ_MS(100), 0, 1);
  vq_rtt_sample(&r, 1, VQ_MS(110), VQ_MS(20), 1);
  CHECK_EQ(r.smoothed, VQ_US(101250)); /* 7/8 * 100 + 1/8 * 110 */
  CHECK_EQ(r.rttvar, VQ_US(40000));    /* 3/4 * 50 + 1/4 * 10 */
  /* A lower sample lowers min_rtt, whatever its ack_delay. */
  vq_rtt_sample(&r, 2, VQ_MS(80), VQ_MS(20), 1);
  CHECK_EQ(r.min, VQ_MS(80));
  CHECK_EQ(r.latest, VQ_MS(80));
}

/* spec: rfc9002#5.1/1, rfc9002#5.1/2 — a sample only when the largest acknowledged is newly
 * acknowledged and at least one newly acknowledged packet is ack-eliciting. */
VQ_TEST(recovery_rtt_sample_rules)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  int upd = -1;
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 0, 0, 1200, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 1, MS, 50, 0), VQ_OK); /* ACK-only: not ack-eliciting */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 2, 2 * MS, 1200, 1), VQ_OK);
  /* Newly acks only the non-ack-eliciting largest: no sample. */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 1, 1, 50 * MS, &upd), VQ_OK);
  CHECK_EQ(upd, 0);
  CHECK_EQ(f->r.rtt.has_sample, 0);
  /* Newly acks 2 (largest, ack-eliciting): sample of 60 - 2 = 58 ms. */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 1, 2, 60 * MS, &upd), VQ_OK);
  CHECK_EQ(upd, 1);
  CHECK_EQ(f->r.rtt.latest, 58 * MS);
  /* Acks 0 (ack-eliciting, newly) but the largest (2) is not new: no sample. */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 0, 2, 70 * MS, &upd), VQ_OK);
  CHECK_EQ(upd, 0);
  CHECK_EQ(f->r.rtt.latest, 58 * MS);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 0, NULL), VQ_PKT_ACKED);
  fx_free(f);
}

/* ---- loss detection (§6.1) --------------------------------------------------------------------- */

/* spec: rfc9002#6.1.1/1 — kPacketThreshold = 3: a packet is lost once a packet 3 numbers above it
 * is acknowledged (largest_acked >= pn + 3, A.10).
 * spec: rfc9002#6.1.2/2 — with a 10 us RTT the time threshold is still kGranularity (the last
 * check). */
VQ_TEST(recovery_packet_threshold)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  /* Sent 1 us apart and acknowledged within 10 us: the time threshold (at least kGranularity =
   * 1 ms) plays no part. */
  const vq_time t0 = VQ_MS(100);
  for (uint64_t pn = 0; pn <= 4; pn++)
    CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, t0 + pn * VQ_US(1), 1000, 1), VQ_OK);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 5000);
  /* ack 3 -> 0 lost (3 >= 0 + 3), 1 and 2 not. */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 3, 3, t0 + VQ_US(10), NULL), VQ_OK);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 3, NULL), VQ_PKT_ACKED);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 0, NULL), VQ_PKT_LOST);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 1, NULL), 0xff);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 2, NULL), 0xff);
  /* Acked reported before lost. */
  CHECK_EQ(f->log[0].pn, 3);
  CHECK_EQ(f->log[1].pn, 0);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 3000);
  /* ack 4 -> 1 lost (4 >= 1 + 3), 2 not yet. */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 3, 4, t0 + VQ_US(11), NULL), VQ_OK);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 1, NULL), VQ_PKT_LOST);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 2, NULL), 0xff);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 1000);
  CHECK_EQ(f->r.packets_lost, 2);
  /* The remaining packet waits on the time threshold. */
  CHECK_EQ(f->r.space[VQ_SPACE_APP].loss_time, t0 + VQ_US(2) + VQ_K_GRANULARITY);
  fx_free(f);
}

/* spec: rfc9002#6.1.2/1, rfc9002#6.1.2/3 — time threshold: a timer for the remaining time, then the
 * packet is declared lost when it fires.
 * spec: rfc9002#7.4/2 — that loss is not ignored: it is a congestion event. */
VQ_TEST(recovery_time_threshold)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 0, 0, 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 1, 10 * MS, 1000, 1), VQ_OK);
  int upd = 0;
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 1, 1, 110 * MS, &upd), VQ_OK); /* sample: 100 ms */
  CHECK_EQ(upd, 1);
  /* loss_delay = 9/8 * 100 ms = 112.5 ms; pn 0 was sent 110 ms ago: not yet. */
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 0, NULL), 0xff);
  CHECK_EQ(f->r.space[VQ_SPACE_APP].loss_time, VQ_US(112500));
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_US(112500));
  vq_pn_space ps = VQ_SPACE_APP;
  uint32_t probes = 9;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_US(112499), &f->cb, &ps, &probes); /* early: no-op */
  CHECK_EQ(probes, 0);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 0, NULL), 0xff);
  vq_recovery_on_timeout(&f->r, &f->st, VQ_US(112500), &f->cb, &ps, &probes);
  CHECK_EQ(probes, 0);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 0, NULL), VQ_PKT_LOST);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 0);
  CHECK_EQ(f->r.space[VQ_SPACE_APP].loss_time, VQ_TIME_NEVER);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_TIME_NEVER); /* nothing in flight, peer validated */
  CHECK_EQ(f->r.cc.congestion_events, 1);
  fx_free(f);
}

/* ---- PTO (§6.2) -------------------------------------------------------------------------------- */

/* spec: rfc9002#6.2.1/5 — the PTO doubles on every expiry; an acknowledgment resets the backoff.
 * spec: rfc9002#6.2.4/1 — probes are sent in the space whose PTO fired. */
VQ_TEST(recovery_pto_backoff)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  f->st.handshake_confirmed = 1;
  f->r.rtt.max_ack_delay = VQ_MS(25);
  /* Before any sample: PTO = 333 + 4 * 166.5 = 999 ms, + 25 ms max_ack_delay in the APP space. */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 0, 0, 1000, 1), VQ_OK);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(1024));
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 1, VQ_MS(100), 1000, 1), VQ_OK);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 1, 1, VQ_MS(200), NULL), VQ_OK); /* sample 100 ms */
  /* pn 0 was sent 200 ms ago >= 9/8 * 100 ms: lost by the time threshold. */
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 0, NULL), VQ_PKT_LOST);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 2, VQ_MS(300), 1000, 1), VQ_OK);
  /* PTO = 100 + max(4 * 50, 1) + 25 = 325 ms after the last ack-eliciting packet. */
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(625));
  vq_pn_space ps = VQ_SPACE_INITIAL;
  uint32_t probes = 0;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(625), &f->cb, &ps, &probes);
  CHECK_EQ(probes, 2);
  CHECK_EQ(ps, VQ_SPACE_APP);
  CHECK_EQ(f->r.pto_count, 1);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 2, NULL), 0xff); /* spec: rfc9002#6.2/1 — not lost on PTO */
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(300) + 2 * VQ_MS(325));
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(950), &f->cb, &ps, &probes);
  CHECK_EQ(probes, 2);
  CHECK_EQ(f->r.pto_count, 2);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(300) + 4 * VQ_MS(325));
  CHECK_EQ(f->r.pto_fired, 2);
  /* The probes go out; one is acknowledged: pto_count back to 0. */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 3, VQ_MS(1000), 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 4, VQ_MS(1000), 1000, 1), VQ_OK);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(1000) + 4 * VQ_MS(325));
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 4, 4, VQ_MS(1100), NULL), VQ_OK);
  CHECK_EQ(f->r.pto_count, 0);
  CHECK(vq_recovery_timer(&f->r) < VQ_MS(1000) + 2 * VQ_MS(325));
  fx_free(f);
}

/* The Initial space's PTO has no max_ack_delay; the earliest space wins (spec: rfc9002#6.2.1/2). */
VQ_TEST(recovery_pto_spaces)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  f->st.handshake_confirmed = 1;
  CHECK_EQ(sendp(f, VQ_SPACE_HANDSHAKE, 0, VQ_MS(10), 1000, 1), VQ_OK);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(10) + VQ_MS(999));
  CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, 0, VQ_MS(20), 1000, 1), VQ_OK);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(10) + VQ_MS(999)); /* Handshake's is earlier */
  vq_pn_space ps = VQ_SPACE_APP;
  uint32_t probes = 0;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(1009), &f->cb, &ps, &probes);
  CHECK_EQ(ps, VQ_SPACE_HANDSHAKE);
  CHECK_EQ(probes, 2);
  fx_free(f);
}

/* spec: rfc9002#6.2.1/1 — the PTO period is at least kGranularity, even with a zero RTT and no
 * variation, and also with max_ack_delay 0. */
VQ_TEST(recovery_pto_at_least_granularity)
{
  vq_rtt r;
  vq_rtt_init(&r, 0, 0);
  CHECK_EQ(vq_rtt_pto(&r, 0), VQ_K_GRANULARITY);
  CHECK_EQ(vq_rtt_pto(&r, 1), VQ_K_GRANULARITY);
  vq_rtt_sample(&r, VQ_MS(1), VQ_US(100), 0, 1); /* smoothed 100 us, rttvar 50 us: 4 * 50 < 1 ms */
  CHECK_EQ(vq_rtt_pto(&r, 0), VQ_US(100) + VQ_K_GRANULARITY);
}

/* spec: rfc9002#6.2.1/6 — while a time threshold loss timer is set the PTO timer is not, even when the
 * PTO would fire first: a Handshake packet sent at 0 would have its PTO at 300 ms, the Initial packet
 * waiting on the time threshold is due at 612.5 ms. */
VQ_TEST(recovery_loss_timer_not_pto)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  CHECK_EQ(sendp(f, VQ_SPACE_HANDSHAKE, 0, 0, 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, 0, VQ_MS(500), 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, 1, VQ_MS(510), 1000, 1), VQ_OK);
  CHECK_EQ(ack1(f, VQ_SPACE_INITIAL, 1, 1, VQ_MS(610), NULL), VQ_OK); /* sample 100 ms */
  CHECK_EQ(f->r.space[VQ_SPACE_INITIAL].loss_time, VQ_US(612500));
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_US(612500));
  vq_pn_space ps = VQ_SPACE_APP;
  uint32_t probes = 9;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_US(612500), &f->cb, &ps, &probes);
  CHECK_EQ(probes, 0); /* a loss, not a probe */
  CHECK_EQ(fate_of(f, VQ_SPACE_INITIAL, 0, NULL), VQ_PKT_LOST);
  CHECK_EQ(f->r.pto_count, 0);
  /* Then the PTO of the Handshake packet (0 + 100 + 4 * 50 ms, already past) is armed. */
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(300));
  fx_free(f);
}

/* spec: rfc9002#7.5/2 — a probe sent when the congestion window is full is counted in flight. */
VQ_TEST(recovery_probe_counts_in_flight)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  for (uint64_t pn = 0; pn < 10; pn++) CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, pn, pn, 1200, 1), VQ_OK);
  CHECK_EQ(vq_cc_available(&f->r.cc), 0);
  vq_pn_space ps = VQ_SPACE_APP;
  uint32_t probes = 0;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(2000), &f->cb, &ps, &probes);
  CHECK_EQ(probes, 2);
  CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, 10, VQ_MS(2000), 1200, 1), VQ_OK);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 11u * 1200u);
  CHECK(vq_recovery_bytes_in_flight(&f->r) > f->r.cc.cwnd);
  fx_free(f);
}

/* spec: rfc9002#6.2.1/3 — no PTO for the Application Data space until the handshake is confirmed. */
VQ_TEST(recovery_no_app_pto_before_confirmed)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  f->st.handshake_confirmed = 0;
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 0, VQ_MS(5), 1000, 1), VQ_OK);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_TIME_NEVER);
  /* With a Handshake packet in flight too, its PTO is armed, never the APP one. */
  CHECK_EQ(sendp(f, VQ_SPACE_HANDSHAKE, 0, VQ_MS(6), 1000, 1), VQ_OK);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(6) + VQ_MS(999));
  vq_pn_space ps = VQ_SPACE_APP;
  uint32_t probes = 0;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(1005), &f->cb, &ps, &probes);
  CHECK_EQ(ps, VQ_SPACE_HANDSHAKE);
  CHECK_EQ(probes, 2);
  vq_recovery_discard_space(&f->r, VQ_SPACE_HANDSHAKE, &f->st, VQ_MS(1010), &f->cb);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_TIME_NEVER);
  /* The handshake is confirmed: the APP PTO is armed. */
  f->st.handshake_confirmed = 1;
  vq_recovery_update_timer(&f->r, &f->st, VQ_MS(1010));
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(5) + VQ_MS(999) + VQ_MS(25));
  fx_free(f);
}

/* spec: rfc9002#6.2.2.1/2, rfc9002#6.2.2.1/3 — the client arms the PTO with nothing in flight while
 * the server may be blocked by its anti-amplification limit, and probes with a Handshake packet if
 * it has Handshake keys, else an Initial. */
VQ_TEST(recovery_client_anti_deadlock)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  f->st.peer_completed_address_validation = 0;
  CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, 0, 0, 1200, 1), VQ_OK);
  CHECK_EQ(ack1(f, VQ_SPACE_INITIAL, 0, 0, VQ_MS(100), NULL), VQ_OK); /* sample 100 ms */
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 0);
  /* Nothing in flight, but the timer runs from now: 100 + 200 = 300 ms. */
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(100) + VQ_MS(300));
  vq_pn_space ps = VQ_SPACE_APP;
  uint32_t probes = 0;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(400), &f->cb, &ps, &probes);
  CHECK_EQ(ps, VQ_SPACE_INITIAL);
  CHECK_EQ(probes, 1);
  CHECK_EQ(f->r.pto_count, 1);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(400) + VQ_MS(600)); /* backed off, from now */
  f->st.has_handshake_keys = 1;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(1000), &f->cb, &ps, &probes);
  CHECK_EQ(ps, VQ_SPACE_HANDSHAKE);
  CHECK_EQ(probes, 1);
  /* An ACK does not reset pto_count while the peer has not validated the address (A.7). */
  CHECK_EQ(sendp(f, VQ_SPACE_HANDSHAKE, 0, VQ_MS(1000), 1200, 1), VQ_OK);
  CHECK_EQ(ack1(f, VQ_SPACE_HANDSHAKE, 0, 0, VQ_MS(1100), NULL), VQ_OK);
  CHECK_EQ(f->r.pto_count, 2);
  /* Validated: no timer with nothing in flight. */
  f->st.peer_completed_address_validation = 1;
  vq_recovery_update_timer(&f->r, &f->st, VQ_MS(1100));
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_TIME_NEVER);
  fx_free(f);
}

/* spec: rfc9002#6.2.2.1/1 — a server at its anti-amplification limit does not arm the PTO; a datagram
 * that unblocks it re-arms it (A.6). */
VQ_TEST(recovery_server_amplification_limit)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  f->st.amplification_limited = 1;
  CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, 0, 0, 1200, 1), VQ_OK);
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_TIME_NEVER);
  f->st.amplification_limited = 0;
  vq_recovery_update_timer(&f->r, &f->st, VQ_MS(2000));
  CHECK_EQ(vq_recovery_timer(&f->r), VQ_MS(999));
  vq_pn_space ps = VQ_SPACE_APP;
  uint32_t probes = 0;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(2000), &f->cb, &ps, &probes); /* already past */
  CHECK_EQ(probes, 2);
  CHECK_EQ(ps, VQ_SPACE_INITIAL);
  fx_free(f);
}

/* ---- discarding a space (§6.4) ----------------------------------------------------------------- */

/* spec: rfc9002#6.4/1 — discarded packets leave bytes in flight, without a congestion event.
 * spec: rfc9002#6.2.2/4 — the PTO backoff and the timer are reset when the Initial space goes. */
VQ_TEST(recovery_discard_space)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  for (uint64_t pn = 0; pn < 3; pn++) CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, pn, pn, 1200, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_HANDSHAKE, 0, 5, 1000, 1), VQ_OK);
  f->r.pto_count = 3;
  const uint64_t cwnd = f->r.cc.cwnd;
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 4600);
  vq_recovery_discard_space(&f->r, VQ_SPACE_INITIAL, &f->st, VQ_MS(10), &f->cb);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 1000);
  CHECK_EQ(f->r.cc.cwnd, cwnd);
  CHECK_EQ(f->r.cc.congestion_events, 0);
  CHECK_EQ(f->r.pto_count, 0);
  CHECK_EQ(f->n, 3);
  for (uint64_t pn = 0; pn < 3; pn++) {
    CHECK_EQ(f->log[pn].pn, pn);
    CHECK_EQ(f->log[pn].fate, VQ_PKT_DISCARDED);
    CHECK_EQ(f->log[pn].space, VQ_SPACE_INITIAL);
  }
  CHECK_EQ(f->r.space[VQ_SPACE_INITIAL].ack_eliciting_in_flight, 0);
  /* The timer now follows the Handshake packet only (reset from pto_count 0). */
  CHECK_EQ(vq_recovery_timer(&f->r), 5 + VQ_MS(999));
  fx_free(f);
}

/* ---- ACK validation ---------------------------------------------------------------------------- */

/* spec: rfc9000#13.1 — an ACK of a packet number never sent is a PROTOCOL_VIOLATION; nothing
 * changes. Skipped pns count as never sent. */
VQ_TEST(recovery_ack_never_sent)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 0, 0, MS, NULL), VQ_ERR_PROTOCOL_VIOLATION); /* nothing sent */
  for (uint64_t pn = 0; pn < 3; pn++) CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, pn, 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 4, 4, 1000, 1), VQ_OK); /* pn 3 skipped */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 5, 5, 1000, 1), VQ_OK);
  const vq_time timer = vq_recovery_timer(&f->r);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 6, 6, MS, NULL), VQ_ERR_PROTOCOL_VIOLATION);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 3, 3, MS, NULL), VQ_ERR_PROTOCOL_VIOLATION);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 0, 5, MS, NULL), VQ_ERR_PROTOCOL_VIOLATION);
  /* A valid range followed by an invalid one: still nothing changes. */
  vq_ack_range rg[2] = {{9, 9}, {0, 1}};
  CHECK_EQ(ackr(f, VQ_SPACE_APP, rg, 2, 0, MS, UINT64_MAX, NULL), VQ_ERR_PROTOCOL_VIOLATION);
  CHECK_EQ(f->n, 0);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 5000);
  CHECK_EQ(f->r.rtt.has_sample, 0);
  CHECK_EQ(f->r.space[VQ_SPACE_APP].has_largest_acked, 0);
  CHECK_EQ(vq_recovery_timer(&f->r), timer);
  /* ACK of 0..2 and 4..5: fine. The skipped 3 stays detectable after the rest is acknowledged. */
  vq_ack_range ok[2] = {{4, 5}, {0, 2}};
  CHECK_EQ(ackr(f, VQ_SPACE_APP, ok, 2, 0, 2 * MS, UINT64_MAX, NULL), VQ_OK);
  CHECK_EQ(f->n, 5);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 0);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 3, 3, 3 * MS, NULL), VQ_ERR_PROTOCOL_VIOLATION);
  /* Another space's packets do not make a pn valid here. */
  CHECK_EQ(ack1(f, VQ_SPACE_HANDSHAKE, 0, 0, 3 * MS, NULL), VQ_ERR_PROTOCOL_VIOLATION);
  /* A first pn above 0 makes the pns below it never sent. */
  CHECK_EQ(sendp(f, VQ_SPACE_INITIAL, 7, 10, 1000, 1), VQ_OK);
  CHECK_EQ(ack1(f, VQ_SPACE_INITIAL, 6, 7, 4 * MS, NULL), VQ_ERR_PROTOCOL_VIOLATION);
  CHECK_EQ(ack1(f, VQ_SPACE_INITIAL, 7, 7, 4 * MS, NULL), VQ_OK);
  fx_free(f);
}

/* spec: rfc9000#13.1 — packets acknowledged twice are ignored; a duplicate ACK changes nothing. */
VQ_TEST(recovery_duplicate_ack)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  for (uint64_t pn = 0; pn < 4; pn++) CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, pn * MS, 1000, 1), VQ_OK);
  int upd = 0;
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 0, 2, 50 * MS, &upd), VQ_OK);
  CHECK_EQ(upd, 1);
  CHECK_EQ(f->n, 3);
  const vq_rtt rtt = f->r.rtt;
  const uint64_t cwnd = f->r.cc.cwnd, bif = vq_recovery_bytes_in_flight(&f->r);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 0, 2, 60 * MS, &upd), VQ_OK);
  CHECK_EQ(upd, 0);
  CHECK_EQ(f->n, 3);
  CHECK_EQ(f->r.cc.cwnd, cwnd);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), bif);
  CHECK_EQ(f->r.rtt.smoothed, rtt.smoothed);
  CHECK_EQ(f->r.packets_acked, 3);
  int ok = 0;
  CHECK_EQ(vq_recovery_largest_acked(&f->r, VQ_SPACE_APP, &ok), 2);
  CHECK_EQ(ok, 1);
  vq_recovery_largest_acked(&f->r, VQ_SPACE_HANDSHAKE, &ok);
  CHECK_EQ(ok, 0);
  fx_free(f);
}

/* The table is bounded: a full space refuses the packet with VQ_ERR_BUDGET; room comes back as the
 * oldest packets are acknowledged. */
VQ_TEST(recovery_table_full)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 4);
  CHECK(f != NULL);
  for (uint64_t pn = 0; pn < 4; pn++) CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, pn, 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 4, 4, 1000, 1), VQ_ERR_BUDGET);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 4000); /* nothing recorded */
  CHECK_EQ(f->r.packets_sent, 4);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 3, 5, 1000, 1), VQ_ERR_INVALID_ARGUMENT); /* pn not increasing */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 1, 1, MS, NULL), VQ_OK); /* a hole in the middle: still full */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 4, 4, 1000, 1), VQ_ERR_BUDGET);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 0, 1, MS, NULL), VQ_OK); /* head and hole freed */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 4, 4, 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 5, 5, 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 6, 6, 1000, 1), VQ_ERR_BUDGET);
  /* Init refuses a bad config, and fails cleanly without memory. */
  vq_recovery r2;
  vq_mem small;
  vq_mem_init(&small, vq_allocator_system(), NULL, 100);
  vq_recovery_config cfg = {VQ_CC_NEWRENO, 1200, 0, 64, 1};
  CHECK_EQ(vq_recovery_init(&r2, &small, &cfg), VQ_ERR_NOMEM);
  CHECK_EQ(small.used, 0);
  cfg.max_sent_per_space = 0;
  CHECK_EQ(vq_recovery_init(&r2, &f->mem, &cfg), VQ_ERR_INVALID_ARGUMENT);
  fx_free(f);
  CHECK_EQ(f->mem.used, 0);
}

/* DESIGN.md principle 5: the table is bounded by max_sent_per_space but starts small and grows on
 * demand, so an idle connection holds little; growth keeps every record in order. */
VQ_TEST(recovery_table_grows_on_demand)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 1000);
  CHECK(f != NULL);
  size_t idle = f->mem.used;
  CHECK(f->r.space[VQ_SPACE_APP].cap < 1000);
  CHECK(vq_recovery_has_room(&f->r, VQ_SPACE_APP));
  for (uint64_t pn = 0; pn < 1000; pn++) CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, pn, 100, 1), VQ_OK);
  CHECK_EQ(f->r.space[VQ_SPACE_APP].cap, 1000);
  CHECK(f->mem.used > idle);
  CHECK(!vq_recovery_has_room(&f->r, VQ_SPACE_APP));
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 1000, 1000, 100, 1), VQ_ERR_BUDGET);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 100000);
  /* acknowledging the oldest half frees room at the head; the order survived the growth */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 0, 499, MS, NULL), VQ_OK);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 50000);
  CHECK(vq_recovery_has_room(&f->r, VQ_SPACE_APP));
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 1000, 1000, 100, 1), VQ_OK);
  fx_free(f);
  CHECK_EQ(f->mem.used, 0);
}

/* ---- congestion signals from loss detection (§7) ----------------------------------------------- */

/* spec: rfc9002#7.3.2 — one reduction per recovery period: a later loss of a packet sent before the
 * period started does not reduce the window again. spec: rfc9000#13.3/7 — a detected loss halves the
 * congestion window (the first and the last acknowledgment below). */
VQ_TEST(recovery_congestion_once_per_period)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  for (uint64_t pn = 0; pn < 10; pn++) CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, pn * MS, 1000, 1), VQ_OK);
  const uint64_t w0 = f->r.cc.cwnd; /* 12000 */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 3, 3, 20 * MS, NULL), VQ_OK); /* 0 lost */
  CHECK_EQ(f->r.cc.congestion_events, 1);
  CHECK_EQ(f->r.cc.cwnd, w0 / 2);
  CHECK_EQ(f->r.cc.ssthresh, w0 / 2);
  CHECK_EQ(f->r.cc.recovery_start, 20 * MS);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 3, 6, 21 * MS, NULL), VQ_OK); /* 1, 2 lost: sent before 20 ms */
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 2, NULL), VQ_PKT_LOST);
  CHECK_EQ(f->r.cc.congestion_events, 1);
  CHECK_EQ(f->r.cc.cwnd, w0 / 2); /* no growth either: 4..6 were sent in the period */
  /* A packet sent after the period started is lost: a new reduction. */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 10, 30 * MS, 1000, 1), VQ_OK);
  for (uint64_t pn = 11; pn < 14; pn++) CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, 31 * MS, 1000, 1), VQ_OK);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 13, 13, 40 * MS, NULL), VQ_OK); /* 7..10 lost */
  CHECK_EQ(f->r.cc.congestion_events, 2);
  CHECK_EQ(f->r.cc.cwnd, w0 / 4 > 2400 ? w0 / 4 : 2400);
  fx_free(f);
}

/* spec: rfc9002#7.1, rfc9002#B.7 — an increased ECN-CE count is a congestion event; the same count
 * again is not; a plain ACK never is. */
VQ_TEST(recovery_ecn_ce)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  for (uint64_t pn = 0; pn < 6; pn++) CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, pn * MS, 1000, 1), VQ_OK);
  vq_ack_range rg = {0, 0};
  CHECK_EQ(ackr(f, VQ_SPACE_APP, &rg, 1, 0, 10 * MS, 0, NULL), VQ_OK); /* ACK_ECN, CE 0 */
  CHECK_EQ(f->r.cc.congestion_events, 0);
  const uint64_t w = f->r.cc.cwnd; /* 12000 + 1000 slow start */
  CHECK_EQ(w, 13000);
  rg.smallest = rg.largest = 1;
  CHECK_EQ(ackr(f, VQ_SPACE_APP, &rg, 1, 0, 11 * MS, 1, NULL), VQ_OK); /* CE 0 -> 1 */
  CHECK_EQ(f->r.cc.congestion_events, 1);
  CHECK_EQ(f->r.cc.cwnd, w / 2);
  CHECK_EQ(f->r.space[VQ_SPACE_APP].ecn_ce_reported, 1);
  rg.smallest = rg.largest = 2;
  CHECK_EQ(ackr(f, VQ_SPACE_APP, &rg, 1, 0, 12 * MS, 1, NULL), VQ_OK); /* same count */
  CHECK_EQ(f->r.cc.congestion_events, 1);
  rg.smallest = rg.largest = 3;
  CHECK_EQ(ackr(f, VQ_SPACE_APP, &rg, 1, 0, 13 * MS, UINT64_MAX, NULL), VQ_OK); /* plain ACK */
  CHECK_EQ(f->r.cc.congestion_events, 1);
  /* CE 1 -> 2 for pn 4, sent before the recovery period began: no second reduction. */
  rg.smallest = rg.largest = 4;
  CHECK_EQ(ackr(f, VQ_SPACE_APP, &rg, 1, 0, 14 * MS, 2, NULL), VQ_OK);
  CHECK_EQ(f->r.cc.congestion_events, 1);
  CHECK_EQ(f->r.space[VQ_SPACE_APP].ecn_ce_reported, 2);
  /* CE 2 -> 3 for a packet sent after it: a new event. */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 6, 20 * MS, 1000, 1), VQ_OK);
  rg.smallest = rg.largest = 6;
  CHECK_EQ(ackr(f, VQ_SPACE_APP, &rg, 1, 0, 30 * MS, 3, NULL), VQ_OK);
  CHECK_EQ(f->r.cc.congestion_events, 2);
  fx_free(f);
}

/* spec: rfc9002#7.6.2 — persistent congestion: two ack-eliciting packets lost, sent more than the
 * persistent congestion duration apart, after the first RTT sample, nothing acknowledged between
 * them: the window collapses to kMinimumWindow. The scenario of §7.6.3 with a time unit of 100 ms. */
static void pc_scenario(vq_t *t, int ack_between, int ae)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  f->st.handshake_confirmed = 1;
  f->r.rtt.max_ack_delay = 0;
  /* The RTT state is set by hand so that smoothed_rtt + max(4*rttvar, kGranularity) + max_ack_delay
   * = 120 + 60 = 180 ms and the samples keep it there (every sample is 120 ms): duration 540 ms. */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 0, 0, 1000, 1), VQ_OK); /* #1 of the RFC at t=0 */
  f->r.rtt.has_sample = 1;                            /* a prior RTT sample exists */
  f->r.rtt.first_sample_time = 0;
  f->r.rtt.latest = f->r.rtt.smoothed = f->r.rtt.min = VQ_MS(120);
  f->r.rtt.rttvar = VQ_MS(15);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 1, VQ_MS(100), 1000, ae), VQ_OK); /* #2 at t=1 */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 0, 0, VQ_MS(120), NULL), VQ_OK);  /* ack of #1 at t=1.2 */
  CHECK_EQ(f->r.rtt.smoothed, VQ_MS(120));
  f->r.rtt.rttvar = VQ_MS(20); /* 3/4 * 20 = 15 after the next 120 ms sample */
  for (uint64_t pn = 2; pn <= 6; pn++) /* #3..#7 at t=2..6 */
    CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, VQ_MS(100) * pn, 1000, ae), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 7, VQ_MS(800), 1000, ae), VQ_OK); /* #8 PTO 1 at t=8 */
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 8, VQ_MS(1100), 1000, 1), VQ_OK); /* #9 PTO 2 (t=11) */
  if (ack_between) CHECK_EQ(ack1(f, VQ_SPACE_APP, 4, 4, VQ_MS(1205), NULL), VQ_OK);
  const uint64_t pc0 = f->r.cc.persistent_congestion_events;
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 8, 8, VQ_MS(1220), NULL), VQ_OK); /* ack of #9 at t=12.2 */
  if (!ack_between) CHECK_EQ(f->r.rtt.rttvar, VQ_MS(15));
  for (uint64_t pn = 1; pn <= 7; pn++)
    if (!(ack_between && pn == 4)) CHECK_EQ(fate_of(f, VQ_SPACE_APP, pn, NULL), VQ_PKT_LOST);
  if (!ae) {
    /* spec: rfc9002#7.6.2/1 — the lost packets were not ack-eliciting: a congestion event, but no
     * persistent congestion however long they span */
    CHECK_EQ(f->r.cc.persistent_congestion_events, pc0);
    CHECK(f->r.cc.congestion_events >= 1);
    CHECK(f->r.cc.cwnd > vq_cc_min_window(&f->r.cc));
  } else if (ack_between) {
    /* 1..3 span 200 ms and 5..7 span 300 ms: neither exceeds the duration. */
    CHECK_EQ(f->r.cc.persistent_congestion_events, pc0);
    CHECK(f->r.cc.cwnd > vq_cc_min_window(&f->r.cc));
  } else {
    CHECK_EQ(f->r.cc.persistent_congestion_events, pc0 + 1);
    /* B.8 collapses the window to kMinimumWindow and ends the recovery period before B.5 counts the
     * acknowledged #9 (1000 bytes, slow start). */
    CHECK_EQ(f->r.cc.cwnd, vq_cc_min_window(&f->r.cc) + 1000u);
    CHECK_EQ(f->r.cc.ssthresh, 6500u); /* (12000 + 1000 for #1) halved once, by the same ACK */
    CHECK_EQ(f->r.cc.recovery_start, VQ_TIME_NEVER);
    CHECK_EQ(f->r.rtt.min, f->r.rtt.latest); /* spec: rfc9002#5.2/3 */
  }
  fx_free(f);
}

VQ_TEST(recovery_persistent_congestion)
{
  pc_scenario(t, 0, 1);
}

VQ_TEST(recovery_persistent_congestion_needs_ack_eliciting)
{
  pc_scenario(t, 0, 0);
}

VQ_TEST(recovery_persistent_congestion_broken_by_ack)
{
  pc_scenario(t, 1, 1);
}

/* Packets sent before the first RTT sample do not establish persistent congestion (§7.6.2/2). */
VQ_TEST(recovery_persistent_congestion_needs_sample)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  f->r.rtt.max_ack_delay = 0;
  for (uint64_t pn = 0; pn < 8; pn++) CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, VQ_MS(1000) * pn, 1000, 1), VQ_OK);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 7, 7, VQ_MS(7100), NULL), VQ_OK); /* 0..6 lost, over 6 s */
  CHECK_EQ(f->r.packets_lost, 7);
  CHECK_EQ(f->r.cc.congestion_events, 1);
  CHECK_EQ(f->r.cc.persistent_congestion_events, 0);
  fx_free(f);
}

/* Callbacks: each packet exactly once; within a call acknowledged (increasing pn) before lost
 * (increasing pn). */
VQ_TEST(recovery_report_order)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  for (uint64_t pn = 0; pn < 12; pn++) CHECK_EQ(sendp(f, VQ_SPACE_HANDSHAKE, pn, pn, 1000, 1), VQ_OK);
  vq_ack_range rg[3] = {{10, 11}, {6, 7}, {3, 3}};
  CHECK_EQ(ackr(f, VQ_SPACE_HANDSHAKE, rg, 3, 0, MS, UINT64_MAX, NULL), VQ_OK);
  const uint64_t want[] = {3, 6, 7, 10, 11, 0, 1, 2, 4, 5, 8};
  const uint8_t wf[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  CHECK_EQ(f->n, 11);
  for (size_t i = 0; i < 11 && i < f->n; i++) {
    CHECK_EQ(f->log[i].pn, want[i]);
    CHECK_EQ(f->log[i].fate, wf[i]);
  }
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 1000); /* only 9 */
  fx_free(f);
}

/* A seeded run of 10000 packets over the three spaces with random ACKs, reordering, losses and
 * timeouts: bytes_in_flight is always the sum of the in-flight packets not yet reported, each packet
 * is reported exactly once, ACKED/LOST/DISCARDED, and the window never drops below the minimum. */
#define RND_N 10000u
static uint8_t rnd_fate[VQ_SPACE_COUNT][RND_N + 64];

/* The in-flight bytes of the packets still tracked (LIVE slots), and whether any of them was
 * already reported. */
static uint64_t rnd_tracked(const vq_recovery *r, int *reported)
{
  uint64_t sum = 0;
  for (int sp = 0; sp < VQ_SPACE_COUNT; sp++) {
    const vq_recovery_space *x = &r->space[sp];
    for (uint32_t i = 0; i < x->count; i++) {
      const vq_sent_packet *p = &x->ring[(x->head + i) % x->cap];
      if (p->reserved != 0) continue;
      if (p->in_flight) sum += p->size;
      if (p->pn < RND_N + 64 && rnd_fate[sp][p->pn] != 0) *reported = 1;
    }
  }
  return sum;
}
static uint32_t rnd_bad;

static void rnd_cb(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate)
{
  (void)ud;
  if (p->pn >= RND_N + 64 || rnd_fate[space][p->pn] != 0 || p->handle != p->pn * 10u + 1u) {
    rnd_bad++;
    return;
  }
  rnd_fate[space][p->pn] = (uint8_t)(fate + 1u);
}

VQ_TEST(recovery_randomized_invariants)
{
  for (uint64_t seed = 1; seed <= 3; seed++) {
    fx *f = fx_new(seed == 2 ? VQ_CC_CUBIC : VQ_CC_NEWRENO, 256);
    CHECK(f != NULL);
    memset(rnd_fate, 0, sizeof rnd_fate);
    rnd_bad = 0;
    f->cb.on_packet = rnd_cb;
    f->st.handshake_confirmed = 1;
    uint64_t s = seed * 7919u;
    uint64_t next_pn[VQ_SPACE_COUNT] = {0, 0, 0};
    vq_time now = 0;
    uint32_t sent = 0, refused = 0;
    int checked_ok = 1, cwnd_ok = 1, bif_ok = 1, tracked_reported = 0;
    while (sent < RND_N) {
      now += (vq_rand(&s) % 3000u) * 1000u; /* up to 3 ms */
      const vq_pn_space sp = sent < 200 ? (vq_pn_space)(vq_rand(&s) % 2u) : VQ_SPACE_APP;
      const unsigned op = (unsigned)(vq_rand(&s) % 10u);
      if (op < 5) {
        uint64_t pn = next_pn[sp] + (vq_rand(&s) % 50u == 0 ? 1u : 0u); /* skip a pn sometimes */
        const uint32_t size = (uint32_t)(vq_rand(&s) % 1200u) + 1u;
        const int ae = vq_rand(&s) % 8u != 0;
        vq_status st = sendp(f, sp, pn, now, ae ? size : (vq_rand(&s) % 2u ? size : 0), ae);
        if (st == VQ_OK) {
          next_pn[sp] = pn + 1u;
          sent++;
        } else {
          refused++; /* the table is full: the ACKs below make room */
          if (st != VQ_ERR_BUDGET) checked_ok = 0;
        }
      } else if (op < 9) {
        /* An ACK of up to 3 random ranges below next_pn, some of them possibly covering skipped
         * pns (then rejected, nothing changes). */
        if (next_pn[sp] == 0) continue;
        vq_ack_range rg[3];
        size_t n = 0;
        uint64_t top = next_pn[sp] - 1u - vq_rand(&s) % 4u % next_pn[sp];
        while (n < 3) {
          uint64_t len = vq_rand(&s) % 6u;
          if (len > top) len = top;
          rg[n].largest = top;
          rg[n].smallest = top - len;
          n++;
          if (rg[n - 1].smallest < 2) break;
          const uint64_t gap = 2u + vq_rand(&s) % 5u;
          if (rg[n - 1].smallest < gap) break;
          top = rg[n - 1].smallest - gap;
        }
        vq_status st = ackr(f, sp, rg, n, 0, now, UINT64_MAX, NULL);
        if (st != VQ_OK && st != VQ_ERR_PROTOCOL_VIOLATION) checked_ok = 0;
      } else {
        vq_pn_space ps;
        uint32_t probes;
        vq_recovery_on_timeout(&f->r, &f->st, now, &f->cb, &ps, &probes);
      }
      if (f->r.cc.cwnd < vq_cc_min_window(&f->r.cc)) cwnd_ok = 0;
      if (rnd_tracked(&f->r, &tracked_reported) != vq_recovery_bytes_in_flight(&f->r)) bif_ok = 0;
    }
    CHECK(bif_ok);
    CHECK_EQ(tracked_reported, 0);
    CHECK(checked_ok);
    CHECK(cwnd_ok);
    CHECK(refused < RND_N);
    CHECK_EQ(rnd_bad, 0);
    CHECK(vq_recovery_bytes_in_flight(&f->r) > 0); /* something is left for the discard below */
    /* Everything else is reported exactly once after discarding all spaces. */
    for (int sp = 0; sp < VQ_SPACE_COUNT; sp++)
      vq_recovery_discard_space(&f->r, (vq_pn_space)sp, &f->st, now, &f->cb);
    CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 0);
    CHECK_EQ(rnd_bad, 0);
    uint64_t reported = 0, acked = 0, lost = 0;
    for (int sp = 0; sp < VQ_SPACE_COUNT; sp++)
      for (uint64_t pn = 0; pn < next_pn[sp]; pn++) {
        if (rnd_fate[sp][pn] == 1) acked++;
        if (rnd_fate[sp][pn] == 2) lost++;
        if (rnd_fate[sp][pn] != 0) reported++;
      }
    CHECK_EQ(reported, sent); /* skipped pns are never reported, sent ones exactly once */
    CHECK_EQ(acked, f->r.packets_acked);
    CHECK_EQ(lost, f->r.packets_lost);
    CHECK(acked > 1000 && lost > 100);
    fx_free(f);
  }
}

/* spec: rfc9002#6.2.4/6, rfc9002#6.2/1 — what a probe may resend: the oldest ack-eliciting packets
 * still in flight, in pn order; a PTO declares nothing lost, so they stay there (acknowledged and lost
 * packets, ACK-only ones and skipped packet numbers are passed over). */
VQ_TEST(recovery_oldest_in_flight)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 64);
  CHECK(f != NULL);
  f->st.handshake_confirmed = 1;
  vq_sent_packet p;
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 0, 0, &p), 0);
  const vq_time t0 = VQ_MS(100);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 0, t0, 0, 0), VQ_OK); /* ACK-only: not in flight */
  for (uint64_t pn = 1; pn <= 5; pn++)
    CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, t0 + pn * VQ_US(1), 1000, 1), VQ_OK);
  CHECK_EQ(sendp(f, VQ_SPACE_APP, 8, t0 + VQ_US(8), 1000, 1), VQ_OK); /* 6 and 7 skipped */
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 0, 0, &p), 1);
  CHECK_EQ(p.pn, 1);
  CHECK_EQ(p.handle, 11);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 1, 1, &p), 1);
  CHECK_EQ(p.pn, 2);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 5, 1, &p), 1);
  CHECK_EQ(p.pn, 8);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 8, 1, &p), 0);
  /* a PTO: nothing declared lost, the same packets stay in flight */
  vq_pn_space ps = VQ_SPACE_INITIAL;
  uint32_t probes = 0;
  vq_recovery_on_timeout(&f->r, &f->st, VQ_MS(5000), &f->cb, &ps, &probes);
  CHECK_EQ(probes, 2);
  CHECK_EQ(ps, VQ_SPACE_APP);
  CHECK_EQ(f->n, 0);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 0, 0, &p), 1);
  CHECK_EQ(p.pn, 1);
  /* 2 acknowledged, then 5 (1 lost by the packet threshold, 3 and 4 not yet) */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 2, 2, VQ_MS(5000), NULL), VQ_OK);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 0, 0, &p), 1);
  CHECK_EQ(p.pn, 1);
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 5, 5, VQ_MS(5000), NULL), VQ_OK);
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 1, NULL), VQ_PKT_LOST);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 0, 0, &p), 1);
  CHECK_EQ(p.pn, 3);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 3, 1, &p), 1);
  CHECK_EQ(p.pn, 4);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_APP, 4, 1, &p), 1);
  CHECK_EQ(p.pn, 8);
  CHECK_EQ(vq_recovery_oldest_in_flight(&f->r, VQ_SPACE_INITIAL, 0, 0, &p), 0);
  CHECK_EQ(vq_recovery_oldest_in_flight(NULL, VQ_SPACE_APP, 0, 0, &p), 0);
  fx_free(f);
}

/* spec: rfc9000#9.4/1 — after a move to a new path (vq_recovery_reset_path), what was sent on the old
 * one contributes to neither congestion control nor RTT: its acknowledgment gives no RTT sample and
 * no window growth, its loss no congestion event; both only take it out of bytes_in_flight. The
 * new path's packets do both. */
VQ_TEST(recovery_old_path_packets_do_not_count)
{
  fx *f = fx_new(VQ_CC_NEWRENO, 256);
  CHECK(f != NULL);
  if (!f) return;
  f->st.handshake_confirmed = 1;
  vq_time t0 = 1000 * MS;
  for (uint64_t pn = 0; pn < 10; pn++)
    CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, t0, 1200, 1), VQ_OK);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 12000);
  vq_recovery_reset_path(&f->r, 1200);
  const uint64_t cwnd0 = f->r.cc.cwnd, ssthresh0 = f->r.cc.ssthresh;
  CHECK(!f->r.rtt.has_sample);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 12000); /* still in flight */
  /* new path: pn 10.. */
  for (uint64_t pn = 10; pn < 14; pn++)
    CHECK_EQ(sendp(f, VQ_SPACE_APP, pn, t0 + 5 * MS, 1200, 1), VQ_OK);
  /* pn 4..9 of the old path acknowledged: no RTT sample, no growth; 0..3 become lost (packet
   * threshold, 3 below the largest acknowledged): no congestion event */
  int rtt = 0;
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 4, 9, t0 + 10 * MS, &rtt), VQ_OK);
  CHECK(!rtt);
  CHECK(!f->r.rtt.has_sample);
  CHECK_EQ(f->r.cc.cwnd, cwnd0);
  CHECK_EQ(f->r.cc.ssthresh, ssthresh0);
  int times = 0;
  CHECK_EQ(fate_of(f, VQ_SPACE_APP, 0, &times), VQ_PKT_LOST);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 4 * 1200); /* the new path's only */
  /* the new path's packets: an RTT sample of 20 ms and window growth */
  CHECK_EQ(ack1(f, VQ_SPACE_APP, 10, 13, t0 + 25 * MS, &rtt), VQ_OK);
  CHECK(rtt);
  CHECK_EQ(f->r.rtt.latest, 20 * MS);
  CHECK(f->r.cc.cwnd > cwnd0);
  CHECK_EQ(vq_recovery_bytes_in_flight(&f->r), 0);
  fx_free(f);
}
