/* vquic — congestion control: NewReno (RFC 9002 §7, Appendix B) and CUBIC (RFC 9438).
 *
 * Integer arithmetic only: windows in bytes, CUBIC's K in milliseconds, C = 0.4 = 4/10,
 * beta_cubic = 0.7 = 7/10, alpha_cubic = 3 * (1 - beta) / (1 + beta) = 9/17. Products that could
 * exceed 64 bits are done in 128 bits and saturated. */
#include "vquic/recovery.h"

__extension__ typedef unsigned __int128 cc_u128;

#define CC_WINDOW_MAX (UINT64_MAX / 4u) /* keeps every window computation far from overflow */
#define CUBIC_BETA_NUM 7u               /* beta_cubic = 0.7 (RFC 9438 §4.6) */
#define CUBIC_BETA_DEN 10u
#define CUBIC_FC_NUM 17u                /* fast convergence: W_max = cwnd * (1 + beta) / 2 (§4.7) */
#define CUBIC_FC_DEN 20u
#define CUBIC_ALPHA_NUM 9u              /* alpha_cubic = 3 * (1 - 0.7) / (1 + 0.7) = 9/17 (§4.3) */
#define CUBIC_ALPHA_DEN 17u
/* C = 0.4 segments / s^3. With t in ms: W(t) = W_max + 4 * (t - K)^3 * mds / 10^10 bytes, and
 * K^3 = (W_max - cwnd_epoch) / mds / 0.4 s^3 = (W_max - cwnd_epoch) * 10^10 / (4 * mds) ms^3. */
#define CUBIC_C_NUM 4u
#define CUBIC_C_DEN 10000000000u
#define CUBIC_T_MAX_MS 2000000u         /* |t - K| is clamped (33 min): the cube stays in 64 bits */

static uint64_t sat_u64(cc_u128 v)
{
  return v > (cc_u128)UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static uint64_t wmin(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t wmax(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Integer cube root: the largest y with y^3 <= x (bitwise, Hacker's Delight 11-2). */
static uint64_t icbrt(uint64_t x)
{
  uint64_t y = 0;
  for (int s = 63; s >= 0; s -= 3) {
    y *= 2u;
    const uint64_t b = 3u * y * (y + 1u) + 1u;
    if ((x >> s) >= b) {
      x -= b << s;
      y++;
    }
  }
  return y;
}

/* spec: rfc9002#7.2/1 — an initial congestion window of ten times max_datagram_size, limited to the
 * larger of 14,720 bytes or twice max_datagram_size. */
static uint64_t initial_window(uint64_t mds)
{
  return wmin(VQ_K_INITIAL_WINDOW_PACKETS * mds, wmax(14720u, 2u * mds));
}

/* spec: rfc9002#7.2/4 — kMinimumWindow: the RECOMMENDED value is 2 * max_datagram_size. */
uint64_t vq_cc_min_window(const vq_cc *cc)
{
  return VQ_K_MINIMUM_WINDOW_PACKETS * cc->max_datagram_size;
}

/* spec: rfc9002#B.3 — congestion_window = kInitialWindow, bytes_in_flight = 0, no recovery period,
 * ssthresh infinite.
 * spec: rfc9002#7/1 — the one controller other than NewReno is CUBIC as specified in RFC 9438, a
 * Standards Track controller that follows the RFC 8085 §3.1 guidelines: it reduces its window
 * multiplicatively on every congestion event, falls to kMinimumWindow on persistent congestion
 * (vq_cc_on_persistent_congestion) and stays Reno-friendly (RFC 9438 §4.3). */
void vq_cc_init(vq_cc *cc, vq_cc_algo algo, uint64_t max_datagram_size)
{
  if (max_datagram_size == 0 || max_datagram_size > 65527u) max_datagram_size = 1200u;
  cc->algo = algo == VQ_CC_CUBIC ? VQ_CC_CUBIC : VQ_CC_NEWRENO;
  cc->max_datagram_size = max_datagram_size;
  cc->cwnd = initial_window(max_datagram_size);
  cc->ssthresh = UINT64_MAX;
  cc->bytes_in_flight = 0;
  cc->recovery_start = VQ_TIME_NEVER;
  cc->in_recovery = 0;
  cc->w_max = 0;
  cc->epoch_start = VQ_TIME_NEVER;
  cc->k_ms = 0;
  cc->w_est = 0;
  cc->cubic_acked = 0;
  cc->cwnd_prior = 0;
  cc->hs_round_started = 0;
  cc->hs_window_end = 0;
  cc->hs_last_round_min_rtt = VQ_TIME_NEVER;
  cc->hs_current_round_min_rtt = VQ_TIME_NEVER;
  cc->hs_rtt_sample_count = 0;
  cc->hs_css_baseline_min_rtt = VQ_TIME_NEVER;
  cc->hs_css_rounds = 0;
  cc->hs_css_acked = 0;
  cc->hs_css_entries = 0;
  cc->congestion_events = 0;
  cc->persistent_congestion_events = 0;
}

/* ---- HyStart++ (RFC 9406) ------------------------------------------------------------------------ */

/* RFC 9406 §4.2: HyStart++ applies to the initial slow start only (ssthresh still at its initial,
 * infinite value); later slow starts end at the ssthresh a congestion event set. */
static int hs_active(const vq_cc *cc) { return cc->ssthresh == UINT64_MAX; }

int vq_cc_in_css(const vq_cc *cc)
{
  return hs_active(cc) && cc->hs_css_baseline_min_rtt != VQ_TIME_NEVER;
}

void vq_cc_on_ack_round(vq_cc *cc, uint64_t largest_acked, uint64_t next_pn, vq_time rtt)
{
  if (!hs_active(cc)) return;
  /* RFC 9406 §4.2: a round ends when a packet sent at or after its start (pn >= windowEnd) is
   * acknowledged; the next one starts with windowEnd = the next packet number to be sent. */
  if (!cc->hs_round_started || largest_acked >= cc->hs_window_end) {
    if (cc->hs_round_started && vq_cc_in_css(cc)) {
      /* RFC 9406 §4.2: after CSS_ROUNDS rounds in CSS, enter congestion avoidance by setting
       * ssthresh to the current cwnd. */
      if (++cc->hs_css_rounds >= VQ_HS_CSS_ROUNDS) {
        cc->ssthresh = cc->cwnd;
        cc->hs_css_baseline_min_rtt = VQ_TIME_NEVER;
        cc->hs_css_acked = 0;
        return;
      }
    }
    cc->hs_round_started = 1;
    cc->hs_window_end = next_pn;
    cc->hs_last_round_min_rtt = cc->hs_current_round_min_rtt;
    cc->hs_current_round_min_rtt = VQ_TIME_NEVER;
    cc->hs_rtt_sample_count = 0;
  }
  if (rtt == VQ_TIME_NEVER) return;
  /* RFC 9406 §4.2: keep the minimum RTT of the round and count its samples */
  if (rtt < cc->hs_current_round_min_rtt) cc->hs_current_round_min_rtt = rtt;
  cc->hs_rtt_sample_count++;
  if (cc->hs_rtt_sample_count < VQ_HS_N_RTT_SAMPLE ||
      cc->hs_current_round_min_rtt == VQ_TIME_NEVER)
    return;
  if (!vq_cc_in_css(cc)) {
    if (cc->hs_last_round_min_rtt == VQ_TIME_NEVER) return;
    /* RFC 9406 §4.2: RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
     * MAX_RTT_THRESH)); a round whose minimum RTT grew by at least that leaves slow start for
     * Conservative Slow Start, remembering the round's minimum as the baseline. */
    vq_time thresh = cc->hs_last_round_min_rtt / VQ_HS_MIN_RTT_DIVISOR;
    if (thresh > VQ_HS_MAX_RTT_THRESH) thresh = VQ_HS_MAX_RTT_THRESH;
    if (thresh < VQ_HS_MIN_RTT_THRESH) thresh = VQ_HS_MIN_RTT_THRESH;
    if (cc->hs_current_round_min_rtt >= cc->hs_last_round_min_rtt + thresh) {
      cc->hs_css_baseline_min_rtt = cc->hs_current_round_min_rtt;
      cc->hs_css_rounds = 0;
      cc->hs_css_acked = 0;
      cc->hs_css_entries++;
    }
    return;
  }
  /* RFC 9406 §4.2: in CSS, a round whose minimum RTT fell below the baseline means the increase was
   * spurious: back to slow start. */
  if (cc->hs_current_round_min_rtt < cc->hs_css_baseline_min_rtt) {
    cc->hs_css_baseline_min_rtt = VQ_TIME_NEVER;
    cc->hs_css_acked = 0;
  }
}

/* spec: rfc9002#7/3 — an endpoint MUST NOT send a packet if it would cause bytes_in_flight to be
 * larger than the congestion window (probes and the packet on entering recovery excepted: the
 * connection sends those without asking). */
uint64_t vq_cc_available(const vq_cc *cc)
{
  return cc->cwnd > cc->bytes_in_flight ? cc->cwnd - cc->bytes_in_flight : 0;
}

/* spec: rfc9002#B.4 — bytes_in_flight += sent_bytes. */
void vq_cc_on_sent(vq_cc *cc, uint64_t bytes)
{
  cc->bytes_in_flight = cc->bytes_in_flight + bytes < cc->bytes_in_flight ? UINT64_MAX
                                                                          : cc->bytes_in_flight + bytes;
}

void vq_cc_on_removed(vq_cc *cc, uint64_t bytes)
{
  cc->bytes_in_flight = cc->bytes_in_flight > bytes ? cc->bytes_in_flight - bytes : 0;
}

/* spec: rfc9002#B.5 — InCongestionRecovery(sent_time): sent_time <= congestion_recovery_start_time. */
static int in_congestion_recovery(const vq_cc *cc, vq_time sent_time)
{
  return cc->recovery_start != VQ_TIME_NEVER && sent_time <= cc->recovery_start;
}

/* K in ms for the epoch that starts with cwnd_epoch (RFC 9438 §4.2 Figure 2, general form). */
static uint64_t cubic_k_ms(const vq_cc *cc, uint64_t cwnd_epoch)
{
  if (cc->w_max <= cwnd_epoch) return 0;
  const cc_u128 k3 = (cc_u128)(cc->w_max - cwnd_epoch) * CUBIC_C_DEN /
                     ((cc_u128)CUBIC_C_NUM * cc->max_datagram_size);
  return icbrt(sat_u64(k3));
}

/* RFC 9438 §4.2 Figure 1: W_cubic(t) = C * (t - K)^3 + W_max. */
uint64_t vq_cc_cubic_window(const vq_cc *cc, vq_time t)
{
  const uint64_t t_ms = t / VQ_MS(1);
  const int neg = t_ms < cc->k_ms;
  uint64_t d = neg ? cc->k_ms - t_ms : t_ms - cc->k_ms;
  if (d > CUBIC_T_MAX_MS) d = CUBIC_T_MAX_MS;
  const uint64_t delta = sat_u64((cc_u128)(d * d * d) * CUBIC_C_NUM * cc->max_datagram_size /
                                 CUBIC_C_DEN);
  if (neg) return cc->w_max > delta ? cc->w_max - delta : 0;
  return wmin(CC_WINDOW_MAX, cc->w_max + wmin(delta, CC_WINDOW_MAX));
}

/* RFC 9438 §4.2 - §4.5: the window in congestion avoidance, for `bytes` newly acknowledged. */
static void cubic_on_acked(vq_cc *cc, uint64_t bytes, vq_time now, vq_time srtt)
{
  const uint64_t mds = cc->max_datagram_size;
  if (cc->epoch_start == VQ_TIME_NEVER || now < cc->epoch_start) {
    /* A congestion avoidance stage starts. Without a reduction before it (slow start ended on its
     * own, or after persistent congestion, §4.8) W_max is the current window and K = 0. */
    cc->epoch_start = now;
    cc->cubic_acked = 0;
    if (cc->w_max < cc->cwnd) cc->w_max = cc->cwnd;
    cc->k_ms = cubic_k_ms(cc, cc->cwnd);
    cc->w_est = cc->cwnd;
  }
  const vq_time t = now - cc->epoch_start;
  /* §4.3 Reno-friendly region: W_est grows by alpha_cubic segments per window acknowledged, alpha 1
   * once W_est has reached cwnd_prior. Counted in whole segments with a byte accumulator. */
  cc->cubic_acked += bytes;
  for (;;) {
    const uint64_t need = cc->w_est >= cc->cwnd_prior
                              ? cc->cwnd
                              : sat_u64((cc_u128)cc->cwnd * CUBIC_ALPHA_DEN / CUBIC_ALPHA_NUM);
    if (need == 0 || cc->cubic_acked < need) break;
    cc->cubic_acked -= need;
    cc->w_est = wmin(CC_WINDOW_MAX, cc->w_est + mds);
  }
  const uint64_t w_now = vq_cc_cubic_window(cc, t);
  if (w_now < cc->w_est) {
    /* §4.3: in the Reno-friendly region cwnd is set to W_est. */
    if (cc->cwnd < cc->w_est) cc->cwnd = cc->w_est;
    return;
  }
  /* §4.4, §4.5: concave and convex regions: target = W_cubic(t + RTT), clamped to
   * [cwnd, 1.5 * cwnd]; cwnd grows by (target - cwnd) / cwnd per byte acknowledged. */
  uint64_t target = vq_cc_cubic_window(cc, t + srtt);
  target = wmax(target, cc->cwnd);
  target = wmin(target, cc->cwnd + cc->cwnd / 2u);
  const uint64_t inc = sat_u64((cc_u128)(target - cc->cwnd) * bytes / cc->cwnd);
  cc->cwnd = wmin(CC_WINDOW_MAX, cc->cwnd + inc);
}

/* spec: rfc9002#B.5 — OnPacketAcked. */
void vq_cc_on_acked(vq_cc *cc, uint64_t bytes, vq_time time_sent, vq_time now, vq_time srtt,
                    int app_limited)
{
  vq_cc_on_removed(cc, bytes);
  /* spec: rfc9002#7.8/1 — when the sender is application limited, the congestion window SHOULD
   * NOT be increased in either slow start or congestion avoidance. */
  if (app_limited) return;
  /* spec: rfc9002#7.3.2 — no increase for packets sent during the recovery period; acknowledging a
   * packet sent after it started ends it. */
  if (in_congestion_recovery(cc, time_sent)) return;
  cc->in_recovery = 0;
  if (cc->cwnd < cc->ssthresh) {
    if (vq_cc_in_css(cc)) {
      /* RFC 9406 §4.2: in Conservative Slow Start the window grows by bytes / CSS_GROWTH_DIVISOR
       * (the remainder carried to the next ACK). The limit L of §4.2 is not applied: the
       * connection paces its packets (RFC 9406 §4.2 allows L = infinity then). */
      cc->hs_css_acked += bytes;
      cc->cwnd = wmin(CC_WINDOW_MAX, cc->cwnd + cc->hs_css_acked / VQ_HS_CSS_GROWTH_DIVISOR);
      cc->hs_css_acked %= VQ_HS_CSS_GROWTH_DIVISOR;
      return;
    }
    /* spec: rfc9002#7.3.1 — in slow start the window grows by the number of bytes acknowledged. */
    cc->cwnd = wmin(CC_WINDOW_MAX, cc->cwnd + bytes);
    return;
  }
  if (cc->algo == VQ_CC_CUBIC) {
    cubic_on_acked(cc, bytes, now, srtt);
    return;
  }
  /* spec: rfc9002#7.3.3/1 — at most one max_datagram_size per congestion window acknowledged:
   * counted in bytes as RFC 3465 §2.1 suggests (B.5), so integer division loses nothing. */
  cc->cubic_acked += bytes;
  while (cc->cubic_acked >= cc->cwnd) {
    cc->cubic_acked -= cc->cwnd;
    cc->cwnd = wmin(CC_WINDOW_MAX, cc->cwnd + cc->max_datagram_size);
  }
}

/* spec: rfc9002#B.6 — OnCongestionEvent: no reaction inside a recovery period; otherwise enter one
 * and reduce ssthresh and the window at once.
 * spec: rfc9002#7.3.2/1, rfc9002#7.3.2/2, rfc9002#7.3.2/3 — ssthresh is set to half the congestion
 * window (NewReno; CUBIC uses beta_cubic = 0.7, RFC 9438 §4.6), and the window is set to it (never
 * below kMinimumWindow, B.6) immediately on entering the recovery period, so before leaving it. */
void vq_cc_on_congestion_event(vq_cc *cc, vq_time time_sent, vq_time now)
{
  if (in_congestion_recovery(cc, time_sent)) return;
  const uint64_t minw = vq_cc_min_window(cc);
  cc->recovery_start = now;
  cc->in_recovery = 1;
  cc->congestion_events++;
  cc->cubic_acked = 0;
  if (cc->algo == VQ_CC_CUBIC) {
    /* RFC 9438 §4.7 fast convergence: a window that stopped below the previous W_max releases
     * bandwidth for new flows. */
    cc->cwnd_prior = cc->cwnd;
    if (cc->cwnd < cc->w_max)
      cc->w_max = sat_u64((cc_u128)cc->cwnd * CUBIC_FC_NUM / CUBIC_FC_DEN);
    else
      cc->w_max = cc->cwnd;
    cc->ssthresh = wmax(sat_u64((cc_u128)cc->cwnd * CUBIC_BETA_NUM / CUBIC_BETA_DEN), minw);
    cc->cwnd = cc->ssthresh;
    cc->epoch_start = VQ_TIME_NEVER;
    cc->k_ms = cubic_k_ms(cc, cc->cwnd);
    cc->w_est = cc->cwnd;
    return;
  }
  cc->ssthresh = cc->cwnd * VQ_K_LOSS_REDUCTION_NUM / VQ_K_LOSS_REDUCTION_DEN;
  cc->cwnd = wmax(cc->ssthresh, minw);
}

/* spec: rfc9002#7.6.2/5 — when persistent congestion is declared, the congestion window MUST be
 * reduced to kMinimumWindow; B.8 also ends the recovery period. CUBIC (RFC 9438 §4.8) starts its next
 * congestion avoidance stage with W_max = cwnd and K = 0. */
void vq_cc_on_persistent_congestion(vq_cc *cc)
{
  cc->cwnd = vq_cc_min_window(cc);
  cc->recovery_start = VQ_TIME_NEVER;
  cc->in_recovery = 0;
  cc->persistent_congestion_events++;
  cc->cubic_acked = 0;
  cc->epoch_start = VQ_TIME_NEVER;
  cc->w_max = 0;
  cc->k_ms = 0;
  cc->w_est = cc->cwnd;
  cc->cwnd_prior = 0;
}
