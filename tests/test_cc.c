/* Tests of congestion control (src/transport/cc.c: NewReno per RFC 9002 §7 / Appendix B, CUBIC per
 * RFC 9438) and pacing (src/transport/pacer.c, RFC 9002 §7.7). */
#include <stdlib.h>

#include "vqtest.h"
#include "vquic/recovery.h"

#define MS VQ_MS(1)
#define MDS 1200u

/* The constants of recovery.h are those of RFC 9002 Appendices A.2 / B.1 as extracted from the RFC
 * text into spec/vectors/rfc9002-constants.txt. */
VQ_TEST(cc_constants_match_rfc)
{
  size_t len = 0;
  char *text = vq_read_file("spec/vectors/rfc9002-constants.txt", &len);
  CHECK(text != NULL);
  if (text == NULL) return;
  struct {
    const char *name;
    const char *value;
  } want[] = {{"kPacketThreshold", "3"},          {"kTimeThreshold", "9/8"},
              {"kGranularity", "1"},              {"kInitialRtt", "333"},
              {"kLossReductionFactor", "0.5"},    {"kPersistentCongestionThreshold", "3"},
              {"kMinimumWindow", "2*max_datagram_size"}};
  char buf[64];
  snprintf(buf, sizeof buf, "%u", VQ_K_PACKET_THRESHOLD);
  CHECK(strcmp(buf, want[0].value) == 0);
  snprintf(buf, sizeof buf, "%u/%u", VQ_K_TIME_THRESHOLD_NUM, VQ_K_TIME_THRESHOLD_DEN);
  CHECK(strcmp(buf, want[1].value) == 0);
  CHECK_EQ(VQ_K_GRANULARITY, VQ_MS(1));
  CHECK_EQ(VQ_K_INITIAL_RTT, VQ_MS(333));
  CHECK_EQ(VQ_K_LOSS_REDUCTION_NUM * 10u / VQ_K_LOSS_REDUCTION_DEN, 5u);
  CHECK_EQ(VQ_K_PERSISTENT_CONGESTION_THRESHOLD, 3u);
  CHECK_EQ(VQ_K_MINIMUM_WINDOW_PACKETS, 2u);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char line[128];
    snprintf(line, sizeof line, "\n%s %s ", want[i].name, want[i].value);
    CHECK(strstr(text, line) != NULL);
  }
  CHECK(strstr(text, "\nkInitialWindow min(10*max_datagram_size,max(14720,2*max_datagram_size)) ") !=
        NULL);
  free(text);
}

/* spec: rfc9002#7.2/1 — initial window min(10 * mds, max(14720, 2 * mds)); minimum 2 * mds.
 * spec: rfc9002#7/3 — no room once bytes_in_flight reaches the window. */
VQ_TEST(cc_initial_window)
{
  vq_cc cc;
  vq_cc_init(&cc, VQ_CC_NEWRENO, 1200);
  CHECK_EQ(cc.cwnd, 12000);
  CHECK_EQ(vq_cc_min_window(&cc), 2400);
  CHECK_EQ(cc.ssthresh, UINT64_MAX);
  vq_cc_init(&cc, VQ_CC_NEWRENO, 1500);
  CHECK_EQ(cc.cwnd, 14720);
  vq_cc_init(&cc, VQ_CC_CUBIC, 9000);
  CHECK_EQ(cc.cwnd, 18000);
  CHECK_EQ(cc.algo, VQ_CC_CUBIC);
  CHECK_EQ(vq_cc_available(&cc), 18000);
  vq_cc_on_sent(&cc, 17000);
  CHECK_EQ(vq_cc_available(&cc), 1000);
  vq_cc_on_sent(&cc, 2000);
  CHECK_EQ(vq_cc_available(&cc), 0);
}

/* spec: rfc9002#7.3.1 — slow start: the window grows by the bytes acknowledged. */
VQ_TEST(cc_slow_start)
{
  vq_cc cc;
  vq_cc_init(&cc, VQ_CC_NEWRENO, MDS);
  for (int i = 0; i < 10; i++) vq_cc_on_sent(&cc, MDS);
  for (int i = 0; i < 10; i++) vq_cc_on_acked(&cc, MDS, (vq_time)i, 100 * MS, 50 * MS, 0);
  CHECK_EQ(cc.cwnd, 24000);
  CHECK_EQ(cc.bytes_in_flight, 0);
  /* spec: rfc9002#7.8/1 — no growth while application limited. */
  vq_cc_on_sent(&cc, MDS);
  vq_cc_on_acked(&cc, MDS, 1, 100 * MS, 50 * MS, 1);
  CHECK_EQ(cc.cwnd, 24000);
  CHECK_EQ(cc.bytes_in_flight, 0);
}

/* spec: rfc9002#7.3.2/1, rfc9002#7.3.2/2, rfc9002#B.6 — halve once per recovery period, the window
 * at ssthresh while still in the period; a loss of a packet sent before the period started does not
 * reduce again, one sent after it does. */
VQ_TEST(cc_congestion_event_once)
{
  vq_cc cc;
  vq_cc_init(&cc, VQ_CC_NEWRENO, MDS);
  vq_cc_on_congestion_event(&cc, 5 * MS, 10 * MS);
  CHECK_EQ(cc.cwnd, 6000);
  CHECK_EQ(cc.ssthresh, 6000);
  CHECK_EQ(cc.in_recovery, 1);
  vq_cc_on_congestion_event(&cc, 8 * MS, 12 * MS); /* sent before 10 ms */
  vq_cc_on_congestion_event(&cc, 10 * MS, 12 * MS);
  CHECK_EQ(cc.cwnd, 6000);
  CHECK_EQ(cc.congestion_events, 1);
  /* Packets sent in the period do not grow the window; one sent after it ends the period. */
  vq_cc_on_sent(&cc, 3 * MDS);
  vq_cc_on_acked(&cc, MDS, 9 * MS, 20 * MS, 10 * MS, 0);
  CHECK_EQ(cc.cwnd, 6000);
  CHECK_EQ(cc.in_recovery, 1);
  vq_cc_on_acked(&cc, MDS, 11 * MS, 20 * MS, 10 * MS, 0);
  CHECK_EQ(cc.in_recovery, 0);
  vq_cc_on_congestion_event(&cc, 9 * MS, 30 * MS); /* still before the period's start */
  CHECK_EQ(cc.congestion_events, 1);
  vq_cc_on_congestion_event(&cc, 11 * MS, 30 * MS);
  CHECK_EQ(cc.congestion_events, 2);
  CHECK_EQ(cc.cwnd, 3000);
  /* Never below the minimum window. */
  vq_cc_on_congestion_event(&cc, 31 * MS, 40 * MS);
  CHECK_EQ(cc.cwnd, 2400);
  CHECK_EQ(cc.ssthresh, 1500);
}

/* spec: rfc9002#7.3.3/1 — congestion avoidance: one max_datagram_size per window acknowledged. */
VQ_TEST(cc_congestion_avoidance)
{
  vq_cc cc;
  vq_cc_init(&cc, VQ_CC_NEWRENO, MDS);
  vq_cc_on_congestion_event(&cc, 0, 1); /* cwnd = ssthresh = 6000 */
  vq_time ts = 2;
  for (int i = 0; i < 4; i++) {
    vq_cc_on_sent(&cc, MDS);
    vq_cc_on_acked(&cc, MDS, ts, ts + 1u, 10 * MS, 0);
    ts++;
  }
  CHECK_EQ(cc.cwnd, 6000); /* 4800 bytes acknowledged < one window */
  vq_cc_on_sent(&cc, MDS);
  vq_cc_on_acked(&cc, MDS, ts, ts + 1u, 10 * MS, 0);
    ts++;
  CHECK_EQ(cc.cwnd, 7200); /* 6000 acknowledged: + 1200 */
  for (int i = 0; i < 6; i++) {
    vq_cc_on_sent(&cc, MDS);
    vq_cc_on_acked(&cc, MDS, ts, ts + 1u, 10 * MS, 0);
    ts++;
  }
  CHECK_EQ(cc.cwnd, 8400);
  CHECK_EQ(cc.bytes_in_flight, 0);
}

/* spec: rfc9002#7.6.2/5 — persistent congestion: kMinimumWindow, the recovery period ends.
 * spec: rfc9002#7/1 — CUBIC, the other controller, too. */
VQ_TEST(cc_persistent_congestion)
{
  for (int a = 0; a < 2; a++) {
    vq_cc cc;
    vq_cc_init(&cc, a ? VQ_CC_CUBIC : VQ_CC_NEWRENO, MDS);
    vq_cc_on_acked(&cc, 50000, 0, 1, MS, 0);
    vq_cc_on_congestion_event(&cc, 1, 2);
    vq_cc_on_persistent_congestion(&cc);
    CHECK_EQ(cc.cwnd, 2400);
    CHECK_EQ(cc.recovery_start, VQ_TIME_NEVER);
    CHECK_EQ(cc.persistent_congestion_events, 1);
    /* Slow start again up to ssthresh. */
    vq_cc_on_acked(&cc, MDS, 3, 4, MS, 0);
    CHECK_EQ(cc.cwnd, 3600);
  }
}

/* RFC 9438 §4.2, §4.6: after a loss at W_max = 100 segments, cwnd = 0.7 * W_max and
 * K = cbrt(W_max * (1 - 0.7) / 0.4) = cbrt(75) s = 4.217 s; W_cubic(K) = W_max; the curve is concave
 * before K and convex after it. */
VQ_TEST(cc_cubic_curve)
{
  vq_cc cc;
  vq_cc_init(&cc, VQ_CC_CUBIC, MDS);
  cc.cwnd = 100u * MDS;
  cc.ssthresh = cc.cwnd; /* in congestion avoidance */
  vq_cc_on_congestion_event(&cc, 0, 1);
  CHECK_EQ(cc.w_max, 120000);
  CHECK_EQ(cc.cwnd, 84000);
  CHECK_EQ(cc.ssthresh, 84000);
  CHECK(cc.k_ms >= 4216 && cc.k_ms <= 4218);
  const vq_time K = cc.k_ms * MS;
  CHECK_EQ(vq_cc_cubic_window(&cc, K), cc.w_max);
  /* W(0) = W_max - C K^3 = 0.7 W_max (within a segment for the integer K). */
  const uint64_t w0 = vq_cc_cubic_window(&cc, 0);
  CHECK(w0 >= 84000 - MDS && w0 <= 84000 + MDS);
  /* Concave: equal steps before K gain less and less; convex after: more and more. */
  uint64_t prev = vq_cc_cubic_window(&cc, 0), prev_gain = UINT64_MAX;
  int concave = 1, convex = 1;
  for (vq_time s = 1; s <= 8; s++) {
    const uint64_t w = vq_cc_cubic_window(&cc, s * K / 8u);
    if (w < prev || w - prev >= prev_gain) concave = 0;
    prev_gain = w - prev;
    prev = w;
  }
  prev_gain = 0;
  for (vq_time s = 1; s <= 8; s++) {
    const uint64_t w = vq_cc_cubic_window(&cc, K + s * K / 8u);
    if (w < prev || w - prev <= prev_gain) convex = 0;
    prev_gain = w - prev;
    prev = w;
  }
  CHECK(concave);
  CHECK(convex);
  CHECK(vq_cc_cubic_window(&cc, 2 * K) > cc.w_max + 20u * MDS);

  /* Driven by ACKs with a 100 ms RTT, a window's worth per RTT: the window climbs towards W_max,
   * flattens around K, then probes above it; it is never below W_est. */
  const vq_time rtt = 100 * MS;
  vq_time now = 100 * MS;
  uint64_t at_k = 0, at_half = 0;
  int never_below_est = 1, monotone = 1;
  uint64_t last = cc.cwnd;
  while (now < 2 * K) {
    const uint64_t n = cc.cwnd / MDS;
    vq_cc_on_sent(&cc, n * MDS);
    for (uint64_t i = 0; i < n; i++) vq_cc_on_acked(&cc, MDS, now - rtt / 2u, now, rtt, 0);
    if (cc.cwnd < cc.w_est) never_below_est = 0;
    if (cc.cwnd < last) monotone = 0;
    last = cc.cwnd;
    now += rtt;
    if (!at_half && now - cc.epoch_start >= K / 2u) at_half = cc.cwnd;
    if (!at_k && now - cc.epoch_start >= K) at_k = cc.cwnd;
  }
  CHECK(never_below_est);
  CHECK(monotone);
  CHECK(at_half > 84000 && at_half < cc.w_max);
  /* At K the window is W_max within 2 segments (it targets W(t + RTT)). */
  CHECK(at_k + 2u * MDS >= cc.w_max && at_k <= cc.w_max + 3u * MDS);
  CHECK(cc.cwnd > cc.w_max + 20u * MDS);
  CHECK_EQ(cc.bytes_in_flight, 0);
}

/* RFC 9438 §4.7 fast convergence: a loss below the previous W_max sets W_max = cwnd * (1 + 0.7) / 2. */
VQ_TEST(cc_cubic_fast_convergence)
{
  vq_cc cc;
  vq_cc_init(&cc, VQ_CC_CUBIC, MDS);
  cc.cwnd = 100u * MDS;
  cc.ssthresh = cc.cwnd;
  vq_cc_on_congestion_event(&cc, 0, 1);
  CHECK_EQ(cc.w_max, 120000);
  vq_cc_on_congestion_event(&cc, 2, 3); /* cwnd 84000 < W_max */
  CHECK_EQ(cc.w_max, 84000u * 17u / 20u);
  CHECK_EQ(cc.cwnd, 58800);
  CHECK_EQ(cc.cwnd_prior, 84000);
}

/* RFC 9438 §4.3: with a short RTT the Reno-friendly estimate overtakes the cubic curve and cwnd
 * follows W_est; W_est grows by alpha_cubic = 9/17 segment per window acknowledged. */
VQ_TEST(cc_cubic_reno_friendly)
{
  vq_cc cc;
  vq_cc_init(&cc, VQ_CC_CUBIC, MDS);
  cc.cwnd = 20u * MDS;
  cc.ssthresh = cc.cwnd;
  vq_cc_on_congestion_event(&cc, 0, 1); /* W_max 24000, cwnd 16800, K = cbrt(15) = 2.466 s */
  const vq_time rtt = 1 * MS;
  vq_time now = 10 * MS;
  const uint64_t start = cc.cwnd;
  int follows_est = 1;
  for (int r = 0; r < 200; r++) { /* 200 ms: W_cubic barely moves, W_est grows ~ 9/17 per RTT */
    const uint64_t n = cc.cwnd / MDS;
    vq_cc_on_sent(&cc, n * MDS);
    for (uint64_t i = 0; i < n; i++) vq_cc_on_acked(&cc, MDS, now - 1, now, rtt, 0);
    if (cc.cwnd < cc.w_est) follows_est = 0;
    now += rtt;
  }
  CHECK(follows_est);
  const uint64_t wc = vq_cc_cubic_window(&cc, now - cc.epoch_start);
  CHECK(cc.w_est > wc);
  CHECK_EQ(cc.cwnd, cc.w_est);
  /* W_est: 9/17 segment per RTT up to cwnd_prior (6 segments), then 1 per RTT: ~190 segments. */
  CHECK(cc.cwnd > start + 150u * MDS);
  CHECK(cc.cwnd < start + 200u * MDS);
}

/* ---- pacing (§7.7) ---------------------------------------------------------------------------- */

static vq_status pacer_fx(vq_mem *mem, vq_recovery *r)
{
  vq_mem_init(mem, vq_allocator_system(), NULL, 1u << 20);
  vq_recovery_config cfg = {VQ_CC_NEWRENO, MDS, 0, 16, 1};
  return vq_recovery_init(r, mem, &cfg);
}

/* spec: rfc9002#7.7/1, rfc9002#7.7/2, rfc9002#7.7/3 — a burst of 10 datagrams (the initial window)
 * leaves at once; then each datagram waits interval = smoothed_rtt * size / (1.25 * cwnd). */
VQ_TEST(cc_pacing_burst_and_interval)
{
  vq_mem mem;
  vq_recovery r;
  CHECK_EQ(pacer_fx(&mem, &r), VQ_OK);
  vq_rtt_sample(&r.rtt, 0, 100 * MS, 0, 1); /* smoothed 100 ms */
  r.cc.cwnd = 120000;                       /* 100 datagrams */
  CHECK_EQ(r.pacer.burst, 12000);
  vq_time next = 0;
  const vq_time t0 = VQ_MS(1000);
  CHECK_EQ(vq_recovery_can_send(&r, t0, &next), 12000); /* the whole burst */
  CHECK_EQ(next, t0);
  for (int i = 0; i < 10; i++) {
    CHECK(vq_recovery_can_send(&r, t0, &next) >= MDS);
    vq_recovery_paced(&r, MDS, t0);
  }
  CHECK_EQ(vq_recovery_can_send(&r, t0, &next), 0);
  /* 1200 * 100 ms / (1.25 * 120000) = 0.8 ms. */
  CHECK_EQ(next, t0 + VQ_US(800));
  CHECK_EQ(r.pacer.next_send, t0 + VQ_US(800));
  CHECK_EQ(vq_recovery_can_send(&r, t0 + VQ_US(799), &next), 0);
  CHECK(next >= t0 + VQ_US(800) && next <= t0 + VQ_US(801)); /* tokens are whole bytes */
  CHECK_EQ(vq_recovery_can_send(&r, t0 + VQ_US(800), &next), MDS);
  /* Proportional to size and smoothed_rtt, inversely to cwnd. */
  vq_recovery_paced(&r, MDS, t0 + VQ_US(800));
  r.cc.cwnd = 60000;
  CHECK_EQ(vq_recovery_can_send(&r, t0 + VQ_US(800), &next), 0);
  CHECK_EQ(next, t0 + VQ_US(800) + VQ_US(1600));
  r.rtt.smoothed = 200 * MS;
  CHECK_EQ(vq_recovery_can_send(&r, t0 + VQ_US(800), &next), 0);
  CHECK_EQ(next, t0 + VQ_US(800) + VQ_US(3200));
  /* After a long idle the bucket holds one burst, no more. */
  CHECK_EQ(vq_recovery_can_send(&r, t0 + VQ_MS(10000), &next), 12000);
  /* A larger burst (a bigger GSO batch) is the caller's choice. */
  r.pacer.burst = 24000;
  CHECK_EQ(vq_recovery_can_send(&r, t0 + VQ_MS(10000), &next), 24000);
  vq_recovery_free(&r);
  CHECK_EQ(mem.used, 0);
}

/* can_send is min(window room, tokens); blocked by the window, next is VQ_TIME_NEVER; pacing off
 * gives the window room. */
VQ_TEST(cc_pacing_window_limit)
{
  vq_mem mem;
  vq_recovery r;
  CHECK_EQ(pacer_fx(&mem, &r), VQ_OK);
  vq_time next = 0;
  r.cc.bytes_in_flight = r.cc.cwnd - 3000; /* 3000 bytes of room, 12000 tokens */
  CHECK_EQ(vq_recovery_can_send(&r, 5, &next), 3000);
  r.cc.bytes_in_flight = r.cc.cwnd;
  CHECK_EQ(vq_recovery_can_send(&r, 5, &next), 0);
  CHECK_EQ(next, VQ_TIME_NEVER);
  r.cc.bytes_in_flight = 0;
  for (int i = 0; i < 10; i++) vq_recovery_paced(&r, MDS, 5);
  CHECK_EQ(vq_recovery_can_send(&r, 5, &next), 0);
  CHECK(next > 5 && next != VQ_TIME_NEVER); /* the initial RTT paces: 1200 * 333 / 15000 ms */
  CHECK_EQ(next, 5 + VQ_US(26640));
  r.pacing = 0;
  CHECK_EQ(vq_recovery_can_send(&r, 5, &next), 12000);
  CHECK_EQ(next, 5);
  vq_recovery_free(&r);
}

/* ---- HyStart++ (RFC 9406) ------------------------------------------------------------------------ */

/* A sender in slow start: each round sends `pkts` packets, then every one is acknowledged by its own
 * ACK carrying an RTT sample of `rtt`, as vq_recovery_on_ack does (the round hook, then the packet). */
typedef struct hs_sim {
  vq_cc cc;
  uint64_t next_pn;
  vq_time now;
  int hook;                     /* 0: plain slow start (no HyStart++ calls) */
} hs_sim;

static void hs_init(hs_sim *s, vq_cc_algo algo, int hook)
{
  memset(s, 0, sizeof(*s));
  vq_cc_init(&s->cc, algo, MDS);
  s->now = VQ_MS(1000);
  s->hook = hook;
}

static void hs_round(hs_sim *s, vq_time rtt, uint32_t pkts)
{
  uint64_t first = s->next_pn;
  for (uint32_t i = 0; i < pkts; i++) {
    vq_cc_on_sent(&s->cc, MDS);
    s->next_pn++;
  }
  vq_time sent = s->now;
  s->now += rtt;
  for (uint64_t pn = first; pn < s->next_pn; pn++) {
    if (s->hook)
      vq_cc_on_ack_round(&s->cc, pn, s->next_pn, rtt);
    vq_cc_on_acked(&s->cc, MDS, sent, s->now, rtt, 0);
  }
}

VQ_TEST(cc_hystart_flat_rtt_is_plain_slow_start)
{
  /* a flat RTT: HyStart++ changes nothing, the window doubles every round as without it */
  for (int a = 0; a < 2; a++) {
    hs_sim h, p;
    hs_init(&h, a ? VQ_CC_CUBIC : VQ_CC_NEWRENO, 1);
    hs_init(&p, a ? VQ_CC_CUBIC : VQ_CC_NEWRENO, 0);
    for (int r = 0; r < 8; r++) {
      uint32_t n = (uint32_t)(h.cc.cwnd / MDS);
      hs_round(&h, VQ_MS(50), n);
      hs_round(&p, VQ_MS(50), n);
      CHECK(!vq_cc_in_css(&h.cc));
      CHECK_EQ(h.cc.cwnd, p.cc.cwnd);
    }
    CHECK_EQ(h.cc.ssthresh, UINT64_MAX);
    CHECK_EQ(h.cc.hs_css_entries, 0);
    CHECK_EQ(h.cc.cwnd, 12000u << 8);
  }
}

/* Slow start at 50 ms for three rounds, then the RTT grows to 60 ms (>= 50 + max(4, min(50/8, 16))
 * = 56.25 ms): CSS once the round has N_RTT_SAMPLE samples. Returns the window at CSS entry. */
static uint64_t hs_enter_css(vq_t *t, hs_sim *h, vq_cc_algo algo)
{
  hs_init(h, algo, 1);
  for (int r = 0; r < 3; r++)
    hs_round(h, VQ_MS(50), (uint32_t)(h->cc.cwnd / MDS));
  CHECK(!vq_cc_in_css(&h->cc));
  /* the first 7 samples of the slower round: still slow start */
  uint64_t first = h->next_pn, n = h->cc.cwnd / MDS;
  for (uint64_t i = 0; i < n; i++) {
    vq_cc_on_sent(&h->cc, MDS);
    h->next_pn++;
  }
  h->now += VQ_MS(60);
  uint64_t at_entry = 0;
  for (uint64_t pn = first; pn < h->next_pn; pn++) {
    vq_cc_on_ack_round(&h->cc, pn, h->next_pn, VQ_MS(60));
    if (pn - first + 1 < VQ_HS_N_RTT_SAMPLE) {
      CHECK(!vq_cc_in_css(&h->cc));
    } else if (pn - first + 1 == VQ_HS_N_RTT_SAMPLE) {
      CHECK(vq_cc_in_css(&h->cc));
      at_entry = h->cc.cwnd;
    }
    vq_cc_on_acked(&h->cc, MDS, h->now - VQ_MS(60), h->now, VQ_MS(60), 0);
  }
  CHECK(vq_cc_in_css(&h->cc));
  CHECK_EQ(h->cc.hs_css_baseline_min_rtt, VQ_MS(60));
  return at_entry;
}

VQ_TEST(cc_hystart_css_on_rtt_increase)
{
  for (int a = 0; a < 2; a++) {
    hs_sim h;
    vq_cc_algo algo = a ? VQ_CC_CUBIC : VQ_CC_NEWRENO;
    uint64_t at_entry = hs_enter_css(t, &h, algo);
    CHECK(at_entry > 0);
    CHECK_EQ(h.cc.ssthresh, UINT64_MAX);
    CHECK_EQ(h.cc.hs_css_entries, 1);
    /* in CSS the window grows by a quarter of the bytes acknowledged (CSS_GROWTH_DIVISOR = 4) */
    uint64_t w = h.cc.cwnd, n = w / MDS;
    hs_round(&h, VQ_MS(60), (uint32_t)n);
    CHECK(vq_cc_in_css(&h.cc));
    CHECK_EQ(h.cc.cwnd, w + n * MDS / VQ_HS_CSS_GROWTH_DIVISOR);
  }
}

VQ_TEST(cc_hystart_css_exits_to_congestion_avoidance)
{
  for (int a = 0; a < 2; a++) {
    hs_sim h;
    vq_cc_algo algo = a ? VQ_CC_CUBIC : VQ_CC_NEWRENO;
    (void)hs_enter_css(t, &h, algo);
    /* the round CSS was entered in ends at the first ACK of the next one: CSS_ROUNDS round ends */
    uint32_t rounds = 0;
    while (vq_cc_in_css(&h.cc) && rounds < 20) {
      hs_round(&h, VQ_MS(60), (uint32_t)(h.cc.cwnd / MDS));
      rounds++;
    }
    CHECK_EQ(rounds, VQ_HS_CSS_ROUNDS);
    CHECK(!vq_cc_in_css(&h.cc));
    CHECK(h.cc.ssthresh != UINT64_MAX);
    CHECK(h.cc.cwnd >= h.cc.ssthresh);
    CHECK_EQ(h.cc.congestion_events, 0);
    /* congestion avoidance: about one datagram per window per round, not a doubling */
    uint64_t w = h.cc.cwnd;
    hs_round(&h, VQ_MS(60), (uint32_t)(w / MDS));
    CHECK(h.cc.cwnd > w);
    CHECK(h.cc.cwnd < w + w / 4);
    /* HyStart++ is over for this connection: an RTT change no longer matters */
    hs_round(&h, VQ_MS(200), (uint32_t)(h.cc.cwnd / MDS));
    CHECK(!vq_cc_in_css(&h.cc));
  }
}

VQ_TEST(cc_hystart_back_to_slow_start_on_rtt_decrease)
{
  for (int a = 0; a < 2; a++) {
    hs_sim h;
    vq_cc_algo algo = a ? VQ_CC_CUBIC : VQ_CC_NEWRENO;
    (void)hs_enter_css(t, &h, algo);
    /* the next round's minimum RTT falls below the CSS baseline (60 ms): back to slow start once it
     * has N_RTT_SAMPLE samples, and the window doubles again */
    uint64_t w = h.cc.cwnd, n = w / MDS;
    hs_round(&h, VQ_MS(45), (uint32_t)n);
    CHECK(!vq_cc_in_css(&h.cc));
    CHECK_EQ(h.cc.ssthresh, UINT64_MAX);
    /* the first 7 ACKs of the round were still in CSS (a quarter), the rest full slow start */
    uint64_t css = VQ_HS_N_RTT_SAMPLE - 1u;
    CHECK_EQ(h.cc.cwnd, w + css * MDS / VQ_HS_CSS_GROWTH_DIVISOR + (n - css) * MDS);
    w = h.cc.cwnd;
    hs_round(&h, VQ_MS(45), (uint32_t)(w / MDS));
    CHECK_EQ(h.cc.cwnd, w + (w / MDS) * MDS);
  }
}

VQ_TEST(cc_hystart_loss_ends_it)
{
  /* a congestion event in slow start or CSS sets ssthresh: HyStart++ no longer applies */
  hs_sim h;
  (void)hs_enter_css(t, &h, VQ_CC_NEWRENO);
  vq_cc_on_congestion_event(&h.cc, h.now, h.now + 1);
  CHECK(!vq_cc_in_css(&h.cc));
  CHECK(h.cc.ssthresh != UINT64_MAX);
  uint64_t w = h.cc.cwnd;
  hs_round(&h, VQ_MS(30), (uint32_t)(w / MDS));
  CHECK(h.cc.cwnd < w + w / 4);
}
