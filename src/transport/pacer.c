/* vquic — pacing (RFC 9002 §7.7): a leaky bucket of `burst` bytes filled at
 * rate = N * congestion_window / smoothed_rtt with N = 5/4.
 *
 * spec: rfc9002#7.7/1, rfc9002#7.7/2, rfc9002#7.7/3 — a sender SHOULD pace sending of all in-flight
 * packets based on input from the congestion controller; senders MUST either use pacing or limit
 * such bursts; bursts SHOULD be limited to the initial congestion window. The bucket holds up to
 * vq_pacer.burst bytes (10 datagrams by default, the initial window), so a batch of datagrams can
 * leave together (GSO). Pacing is on unless the connection's configuration sets disable_pacing
 * (meant for the lab), in which case only the congestion window bounds a burst. */
#include "vquic/recovery.h"

__extension__ typedef unsigned __int128 pc_u128;

#define PACE_N_NUM 5u /* N = 1.25 */
#define PACE_N_DEN 4u

static uint64_t pc_sat(pc_u128 v)
{
  return v > (pc_u128)UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static uint64_t pacer_burst(const vq_recovery *r)
{
  const uint64_t mds = r->cc.max_datagram_size;
  return r->pacer.burst < mds ? mds : r->pacer.burst;
}

/* The tokens in the bucket at now: tokens + (now - last) * N * cwnd / smoothed_rtt, up to burst. */
static uint64_t pacer_tokens(const vq_recovery *r, vq_time now)
{
  const uint64_t burst = pacer_burst(r);
  const vq_time srtt = r->rtt.smoothed;
  if (r->pacer.last == VQ_TIME_NEVER || srtt == 0) return burst;
  if (now <= r->pacer.last) return r->pacer.tokens < burst ? r->pacer.tokens : burst;
  const uint64_t add = pc_sat((pc_u128)(now - r->pacer.last) * PACE_N_NUM * r->cc.cwnd /
                              ((pc_u128)PACE_N_DEN * srtt));
  const uint64_t t = r->pacer.tokens + add < r->pacer.tokens ? UINT64_MAX : r->pacer.tokens + add;
  return t < burst ? t : burst;
}

/* The time the bucket takes to gain `bytes`: interval = (smoothed_rtt * bytes / cwnd) / N. */
static vq_time pacer_delay(const vq_recovery *r, uint64_t bytes)
{
  if (r->cc.cwnd == 0) return 0;
  const pc_u128 num = (pc_u128)bytes * PACE_N_DEN * r->rtt.smoothed;
  const pc_u128 den = (pc_u128)PACE_N_NUM * r->cc.cwnd;
  return pc_sat((num + den - 1u) / den);
}

uint64_t vq_recovery_can_send(const vq_recovery *r, vq_time now, vq_time *next)
{
  vq_time dummy;
  if (next == NULL) next = &dummy;
  if (r == NULL) {
    *next = VQ_TIME_NEVER;
    return 0;
  }
  const uint64_t room = vq_cc_available(&r->cc);
  if (room == 0) {
    *next = VQ_TIME_NEVER; /* blocked by the window: wait for an ACK (or a loss) */
    return 0;
  }
  *next = now;
  if (!r->pacing) return room;
  const uint64_t tokens = pacer_tokens(r, now);
  /* Tokens count only once a whole datagram (or what the window still allows) fits. */
  const uint64_t need = room < r->cc.max_datagram_size ? room : r->cc.max_datagram_size;
  if (tokens >= need) return tokens < room ? tokens : room;
  const vq_time d = pacer_delay(r, need - tokens);
  *next = now + d < now ? VQ_TIME_NEVER - 1u : now + d;
  return 0;
}

void vq_recovery_paced(vq_recovery *r, uint64_t size, vq_time now)
{
  if (r == NULL) return;
  uint64_t tokens = pacer_tokens(r, now);
  tokens = tokens > size ? tokens - size : 0;
  r->pacer.tokens = tokens;
  if (r->pacer.last == VQ_TIME_NEVER || now > r->pacer.last) r->pacer.last = now;
  const uint64_t mds = r->cc.max_datagram_size;
  if (tokens >= mds) {
    r->pacer.next_send = now;
  } else {
    const vq_time d = pacer_delay(r, mds - tokens);
    r->pacer.next_send = now + d < now ? VQ_TIME_NEVER - 1u : now + d;
  }
}
