/* vquic — datagram packetization layer PMTU discovery (DPLPMTUD: RFC 9000 §14.3, §14.4; RFC 8899).
 *
 * The path's maximum datagram size (c->max_udp_payload) starts at BASE_PLPMTU, 1200 bytes, and stays
 * there until the handshake is confirmed. Then probes search larger sizes on the current path: a
 * probe is a datagram of one 1-RTT packet holding a PING and PADDING up to the size tried (built by
 * conn_send.c). Sizes tried, in increasing order: 1252 (a 1280-byte IPv4 MTU), 1452 (IPv6 over
 * Ethernet), 1472 (IPv4 over Ethernet) and the ceiling (cfg.max_udp_payload, capped by the peer's
 * max_udp_payload_size and the driver's buffer). An acknowledged probe raises the size (the
 * congestion controller follows); MAX_PROBES lost probes of a size end the search below it. The
 * search runs again after PMTU_RAISE_TIMER. Black hole detection (RFC 8899 §4.3): packets above
 * 1200 bytes lost repeatedly (none of them acknowledged since) while a smaller ack-eliciting one
 * was acknowledged make a black hole suspected; a probe of the current size confirms it (congestion
 * losses look alike: if it is acknowledged nothing changes). If it is lost: back to 1200 bytes and
 * a new search at once. A new path starts again at 1200 bytes. */
#include <string.h>

#include "conn_internal.h"

#define PMTU_BASE VQ_MIN_INITIAL_DATAGRAM   /* BASE_PLPMTU (RFC 8899 §5.1.2) */
#define PMTU_MAX_PROBES 3u                  /* MAX_PROBES (RFC 8899 §5.1.2) */
#define PMTU_RAISE_TIMER VQ_MS(600000)      /* PMTU_RAISE_TIMER: 600 s (RFC 8899 §5.1.1) */
#define PMTU_BH_LOSSES 3u                   /* larger packets lost in a row that suggest a black hole */

static const uint64_t pmtu_steps[] = {1252u, 1452u, 1472u};

void vq_conn_pmtu_init(vq_conn *c)
{
  /* spec: rfc9000#14.2/1 — DPLPMTUD (cfg.pmtud_off turns it off: 1200 bytes throughout); spec:
   * rfc9000#14.3/1 — BASE_PLPMTU is QUIC's smallest allowed maximum datagram size; spec:
   * rfc9000#14.2/2 — and nothing larger is sent before a probe showed the path carries it */
  c->pmtu_ceiling = c->cfg.pmtud_off ? PMTU_BASE : c->max_udp_payload;
  c->max_udp_payload = PMTU_BASE;
  c->pmtu_fail = UINT64_MAX;
  c->pmtu_probe_size = 0;
  c->pmtu_probe_losses = 0;
  c->pmtu_next = VQ_TIME_NEVER;
  c->pmtu_wake = VQ_TIME_NEVER;
  c->pmtu_bh_lost = 0;
  c->pmtu_bh_small_acked = 0;
  c->pmtu_confirm = 0;
  c->pmtu_probe_confirm = 0;
}

void vq_conn_pmtu_peer_tp(vq_conn *c, uint64_t peer_max)
{
  /* spec: rfc9000#18.2 — never above the peer's max_udp_payload_size (at least 1200: the transport
   * parameter codec refuses smaller values) */
  if (peer_max < c->pmtu_ceiling)
    c->pmtu_ceiling = peer_max < PMTU_BASE ? PMTU_BASE : peer_max;
  if (c->max_udp_payload > c->pmtu_ceiling)
    c->max_udp_payload = c->pmtu_ceiling;
}

void vq_conn_pmtu_confirmed(vq_conn *c, vq_time now)
{
  if (c->pmtu_ceiling > PMTU_BASE)
    c->pmtu_next = now;
}

/* The size to probe next, 0 when the search is over. */
static uint64_t next_size(const vq_conn *c)
{
  uint64_t lim = c->pmtu_ceiling;
  if (c->pmtu_fail <= lim)
    lim = c->pmtu_fail - 1u;
  for (size_t i = 0; i < sizeof(pmtu_steps) / sizeof(pmtu_steps[0]); i++)
    if (pmtu_steps[i] > c->max_udp_payload && pmtu_steps[i] <= lim)
      return pmtu_steps[i];
  /* the ceiling itself when it is none of the steps (a larger interface, or a peer's limit) */
  return c->pmtu_ceiling > c->max_udp_payload && c->pmtu_ceiling < c->pmtu_fail ? c->pmtu_ceiling
                                                                                 : 0;
}

static void set_size(vq_conn *c, uint64_t size)
{
  c->max_udp_payload = size;
  vq_recovery_set_max_datagram_size(&c->rec, size);
}

void vq_conn_pmtu_new_path(vq_conn *c, vq_time now)
{
  /* spec: rfc9000#14.2/6 — one maximum datagram size per path: a new one starts at 1200 bytes; the
   * probe in flight (if any) was the old path's and is forgotten */
  c->max_udp_payload = PMTU_BASE;
  c->pmtu_probe_size = 0;
  c->pmtu_probe_losses = 0;
  c->pmtu_fail = UINT64_MAX;
  c->pmtu_bh_lost = 0;
  c->pmtu_bh_small_acked = 0;
  c->pmtu_confirm = 0;
  c->pmtu_probe_confirm = 0;
  c->pmtu_next = c->hs_confirmed && c->pmtu_ceiling > PMTU_BASE ? now : VQ_TIME_NEVER;
  c->pmtu_wake = VQ_TIME_NEVER;
}

size_t vq_conn_pmtu_probe_due(vq_conn *c, const vq_cx *cx, size_t driver_cap)
{
  vq_time now = cx->now;
  if (c->pmtu_next == VQ_TIME_NEVER || now < c->pmtu_next || c->pmtu_probe_size)
    return 0;
  c->pmtu_wake = VQ_TIME_NEVER;
  /* spec: rfc9000#14.3/1 — probes only once the handshake is confirmed, on a validated path */
  if (!c->hs_confirmed || c->state != VQ_CONN_ESTABLISHED || c->path_unvalidated ||
      c->path_validating || !c->sp[VQ_SPACE_APP].tx.installed)
    return 0;
  /* spec: rfc9001#4.1.2/1 — HANDSHAKE_DONE goes in the server's first packet after completion: the
   * first probe waits for it */
  if (c->handshake_done_pending)
    return 0;
  if (driver_cap < c->pmtu_ceiling) {
    /* the driver's buffer bounds what can be sent at all */
    c->pmtu_ceiling = driver_cap < PMTU_BASE ? PMTU_BASE : driver_cap;
  }
  uint64_t size = c->pmtu_confirm ? c->max_udp_payload : next_size(c);
  if (size == 0) {
    /* the search is over: again after PMTU_RAISE_TIMER, the sizes that failed included */
    if (c->pmtu_fail != UINT64_MAX) {
      c->pmtu_fail = UINT64_MAX;
      c->pmtu_next = now + PMTU_RAISE_TIMER;
      c->pmtu_wake = c->pmtu_next;
    } else {
      c->pmtu_next = VQ_TIME_NEVER;
    }
    return 0;
  }
  /* RFC 8899 §4.4: a probe is sent under congestion control like any other packet (it counts in
   * bytes_in_flight): it waits for room in the window (an acknowledgment brings the next try) */
  if (vq_cc_available(&c->rec.cc) < size || !vq_recovery_has_room(&c->rec, VQ_SPACE_APP))
    return 0;
  return (size_t)size;
}

void vq_conn_pmtu_probe_sent(vq_conn *c, const vq_cx *cx, uint64_t pn, size_t size)
{
  c->pmtu_probe_pn = pn;
  c->pmtu_probe_size = size;
  c->pmtu_probe_confirm = c->pmtu_confirm;
  c->stats.pmtu_probes_sent++;
  vq_cx_trace(cx, "pmtu_probe", "size=%zu pn=%llu", size, (unsigned long long)pn);
}

static void black_hole(vq_conn *c)
{
  /* spec: rfc9000#14.3/1 — RFC 8899 §4.3 black hole detection: back to BASE_PLPMTU (never below:
   * rfc9000#14.2/4 — the path carried 1200 bytes, a packet of that size was acknowledged); a new
   * search starts at once from 1200 bytes (a path whose MTU shrank is searched again; one that
   * carries no more than 1200 bytes ends it after MAX_PROBES lost probes, and the next search
   * waits PMTU_RAISE_TIMER) */
  set_size(c, PMTU_BASE);
  c->pmtu_fail = UINT64_MAX;
  c->pmtu_probe_size = 0;
  c->pmtu_probe_losses = 0;
  c->pmtu_bh_lost = 0;
  c->pmtu_bh_small_acked = 0;
  c->pmtu_confirm = 0;
  c->stats.pmtu_black_holes++;
  c->pmtu_next = c->pmtu_ceiling > PMTU_BASE ? 0 : VQ_TIME_NEVER;
}

void vq_conn_pmtu_on_fate(vq_conn *c, const vq_sent_packet *p, vq_pkt_fate fate)
{
  if (p->pmtu_probe) {
    if (!c->pmtu_probe_size || p->pn != c->pmtu_probe_pn || fate == VQ_PKT_DISCARDED)
      return; /* an earlier path's, or forgotten after a black hole */
    uint64_t size = c->pmtu_probe_size;
    c->pmtu_probe_size = 0;
    if (c->pmtu_probe_confirm) {
      /* the probe of the current size that decides a suspected black hole */
      c->pmtu_probe_confirm = 0;
      c->pmtu_confirm = 0;
      if (fate == VQ_PKT_ACKED) {
        c->stats.pmtu_probes_acked++;
        c->pmtu_next = 0; /* a search left unfinished goes on */
      } else {
        c->stats.pmtu_probes_lost++;
        black_hole(c);
      }
      return;
    }
    if (fate == VQ_PKT_ACKED) {
      /* spec: rfc9000#14.3/1 — an acknowledged probe shows the path carries its size: the path's
       * maximum datagram size rises to it (RFC 8899 §4.2) and the search goes on */
      c->stats.pmtu_probes_acked++;
      c->pmtu_probe_losses = 0;
      if (size > c->max_udp_payload)
        set_size(c, size);
      c->pmtu_next = 0; /* at once */
      return;
    }
    /* spec: rfc9000#14.4/1 — a lost probe is no congestion signal (recovery.c): it only counts
     * towards MAX_PROBES for its size */
    c->stats.pmtu_probes_lost++;
    if (++c->pmtu_probe_losses >= PMTU_MAX_PROBES) {
      c->pmtu_probe_losses = 0;
      if (size < c->pmtu_fail)
        c->pmtu_fail = size;
    }
    c->pmtu_next = 0; /* at once */
    return;
  }
  /* black hole detection: packets of the current path only */
  if (fate == VQ_PKT_DISCARDED || !p->in_flight ||
      p->pn < c->rec.space[VQ_SPACE_APP].path_first_pn)
    return;
  if (p->size > PMTU_BASE) {
    if (fate == VQ_PKT_ACKED) {
      c->pmtu_bh_lost = 0;
      c->pmtu_bh_small_acked = 0;
    } else if (p->ack_eliciting) {
      c->pmtu_bh_lost++;
    }
  } else if (fate == VQ_PKT_ACKED && p->ack_eliciting) {
    c->pmtu_bh_small_acked = 1;
  }
  if (c->max_udp_payload > PMTU_BASE && c->pmtu_bh_lost >= PMTU_BH_LOSSES &&
      c->pmtu_bh_small_acked && !c->pmtu_confirm) {
    /* suspected: a probe of the current size decides (vq_conn_pmtu_probe_due sends it first) */
    c->pmtu_confirm = 1;
    c->pmtu_bh_lost = 0;
    c->pmtu_bh_small_acked = 0;
    c->pmtu_next = 0;
  }
}

vq_time vq_conn_pmtu_timeout(const vq_conn *c)
{
  return c->pmtu_wake;
}
