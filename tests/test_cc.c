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
