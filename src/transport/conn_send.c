/* vquic — building datagrams: packets of the three packet number spaces coalesced (RFC 9000 §12.2),
 * frames chosen by priority, packets built in place in the caller's buffer and encrypted in place
 * (DESIGN.md principle 8), what each packet carried recorded for the ACK or the loss (principle 4). */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"
#include "vquic/pn.h"
#include "vquic/varint.h"

/* ---- sent-frame records ---------------------------------------------------------------------- */

static int sf_reserve(vq_conn *c, uint32_t n)
{
  if (c->sf_cap - c->sf_used >= n)
    return 1;
  uint32_t ncap = c->sf_cap * 2;
  while (ncap - c->sf_used < n)
    ncap *= 2;
  vq_sent_frame *nsf = vq_mem_alloc(&c->mem, (size_t)ncap * sizeof(vq_sent_frame));
  if (!nsf)
    return 0;
  memcpy(nsf, c->sf, (size_t)c->sf_cap * sizeof(vq_sent_frame));
  for (uint32_t i = c->sf_cap; i < ncap; i++)
    nsf[i].next = i + 1 < ncap ? i + 1 : c->sf_free;
  c->sf_free = c->sf_cap;
  vq_mem_free(&c->mem, c->sf, (size_t)c->sf_cap * sizeof(vq_sent_frame));
  c->sf = nsf;
  c->sf_cap = ncap;
  return 1;
}

static void sf_add(vq_conn *c, vq_sf_kind kind, int space, uint64_t id, uint64_t off, uint32_t len,
                   int fin)
{
  if (c->sf_free == VQ_SF_NIL)
    return; /* sf_reserve was called before building: cannot happen */
  uint32_t i = c->sf_free;
  vq_sent_frame *r = &c->sf[i];
  c->sf_free = r->next;
  c->sf_used++;
  r->kind = (uint8_t)kind;
  r->fin = (uint8_t)(fin != 0);
  r->space = (uint8_t)space;
  r->len = len;
  r->id = id;
  r->off = off;
  r->next = VQ_SF_NIL;
  if (c->cur_last == VQ_SF_NIL)
    c->cur_first = i;
  else
    c->sf[c->cur_last].next = i;
  c->cur_last = i;
}

static void sf_release_chain(vq_conn *c, uint32_t i)
{
  while (i != VQ_SF_NIL) {
    uint32_t n = c->sf[i].next;
    c->sf[i].next = c->sf_free;
    c->sf[i].kind = VQ_SF_NONE;
    c->sf_free = i;
    c->sf_used--;
    i = n;
  }
}

/* ---- what recovery tells us ------------------------------------------------------------------ */

static void frame_acked(vq_conn *c, const vq_sent_frame *r)
{
  vq_stream *s;
  switch ((vq_sf_kind)r->kind) {
  case VQ_SF_STREAM:
    s = vq_conn_stream_find(c, r->id);
    if (!s)
      return;
    {
      uint64_t held = s->sb.end - s->sb.base;
      vq_sendbuf_on_acked(&s->sb, r->off, r->len, r->fin);
      uint64_t freed = held - (s->sb.end - s->sb.base);
      c->send_buffered = c->send_buffered > freed ? c->send_buffered - freed : 0;
    }
    if (s->ss != VQ_SEND_RESET_SENT && s->ss != VQ_SEND_RESET_RECVD && vq_sendbuf_done(&s->sb))
      s->ss = VQ_SEND_DATA_RECVD;
    if (s->writable_want && vq_conn_stream_writable(c, s->id) > 0) {
      s->writable_want = 0;
      if (c->writers_waiting)
        c->writers_waiting--;
      vq_conn_push_event(c, VQ_CONN_EV_STREAM_WRITABLE, s->id, 0);
    }
    vq_conn_stream_maybe_free(c, s);
    return;
  case VQ_SF_CRYPTO:
    if (!c->sp[r->space].discarded)
      vq_sendbuf_on_acked(&c->sp[r->space].crypto_tx, r->off, r->len, 0);
    return;
  case VQ_SF_ACK:
    /* spec: rfc9000#13.2.4 — a receiver may stop reporting ranges once an ACK carrying them is
     * acknowledged. We do not: a packet processed after that ACK was sent, below its Largest
     * Acknowledged, would then never be acknowledged and its sender would keep it owed. The range
     * set is bounded instead; ACK frames report its highest ranges. */
    return;
  case VQ_SF_DATAGRAM:
    /* spec: rfc9221#5.2/3 — the application may be told that the datagram arrived */
    c->stats.dgram_acked++;
    if (c->cfg.dgram_fate_events)
      vq_conn_push_event(c, VQ_CONN_EV_DATAGRAM_ACKED, r->id, 0);
    return;
  case VQ_SF_RESET_STREAM:
    s = vq_conn_stream_find(c, r->id);
    if (s) {
      s->reset_acked = 1;
      s->ss = VQ_SEND_RESET_RECVD;
      vq_conn_stream_maybe_free(c, s);
    }
    return;
  case VQ_SF_NEW_TOKEN:
    c->new_token_acked = 1;
    c->new_token_pending = 0;
    return;
  case VQ_SF_RETIRE_CID:
    /* spec: rfc9000#5.1.2/5 — the retirement leaves the bounded queue once acknowledged */
    vq_cidmgr_retire_acked(&c->cids, r->off);
    return;
  default:
    return;
  }
}

static void frame_lost(vq_conn *c, const vq_sent_frame *r)
{
  vq_stream *s;
  switch ((vq_sf_kind)r->kind) {
  case VQ_SF_STREAM:
    s = vq_conn_stream_find(c, r->id);
    if (!s || s->reset_pending || s->reset_sent)
      return;
    if (vq_sendbuf_on_lost(&s->sb, r->off, r->len, r->fin) != VQ_OK)
      c->close_pending = c->close_pending; /* lost set full: the data stays owed; see stream.c */
    vq_conn_stream_sendq_add(c, s);
    return;
  case VQ_SF_CRYPTO:
    if (!c->sp[r->space].discarded)
      (void)vq_sendbuf_on_lost(&c->sp[r->space].crypto_tx, r->off, r->len, 0);
    return;
  case VQ_SF_MAX_DATA:
    c->max_data_pending = 1;
    return;
  case VQ_SF_MAX_STREAM_DATA:
    s = vq_conn_stream_find(c, r->id);
    if (s && s->rs == VQ_RECV_RECV)
      s->msd_pending = 1;
    return;
  case VQ_SF_MAX_STREAMS_BIDI:
    c->max_streams_pending[0] = 1;
    return;
  case VQ_SF_MAX_STREAMS_UNI:
    c->max_streams_pending[1] = 1;
    return;
  case VQ_SF_RESET_STREAM:
    /* spec: rfc9000#13.3/1 — sent again as it was: reset_code and reset_final do not change */
    s = vq_conn_stream_find(c, r->id);
    if (s && !s->reset_acked) {
      s->reset_pending = 1;
      vq_conn_stream_sendq_add(c, s);
    }
    return;
  case VQ_SF_STOP_SENDING:
    s = vq_conn_stream_find(c, r->id);
    if (s && !s->peer_reset && s->rs != VQ_RECV_DATA_READ) {
      s->stop_pending = 1;
      vq_conn_stream_sendq_add(c, s);
    }
    return;
  case VQ_SF_HANDSHAKE_DONE:
    /* spec: rfc9000#13.3/3 — HANDSHAKE_DONE is sent again until acknowledged */
    c->handshake_done_pending = 1;
    return;
  case VQ_SF_NEW_TOKEN:
    /* spec: rfc9000#13.3 — a lost NEW_TOKEN is sent again (the same token: rfc9000#8.1.3/7 allows
     * a repeat only to repair a loss) until one copy is acknowledged */
    if (!c->new_token_acked && c->new_token_len)
      c->new_token_pending = 1;
    return;
  case VQ_SF_DATAGRAM:
    /* spec: rfc9221#5.2 — a lost DATAGRAM frame is not retransmitted; spec: rfc9221#5.2/2 — the
     * application may be told it was probably lost */
    c->stats.dgram_lost++;
    if (c->cfg.dgram_fate_events)
      vq_conn_push_event(c, VQ_CONN_EV_DATAGRAM_LOST, r->id, 0);
    return;
  case VQ_SF_NEW_CID:
    /* spec: rfc9000#13.3 — NEW_CONNECTION_ID is sent again while the CID is active */
    vq_cidmgr_local_frame_lost(&c->cids, r->off);
    return;
  case VQ_SF_RETIRE_CID:
    /* spec: rfc9000#13.3 — RETIRE_CONNECTION_ID is sent again until acknowledged */
    vq_cidmgr_retire_lost(&c->cids, r->off);
    return;
  case VQ_SF_PATH_CHALLENGE: {
    /* spec: rfc9000#8.2.1/1 — a lost PATH_CHALLENGE is sent again (the same data) while the
     * validation it belongs to goes on */
    uint64_t d = 0, qd = 0;
    for (int k = 0; k < 8; k++) {
      d = (d << 8) | c->path_challenge_data[k];
      qd = (qd << 8) | c->pp_data[k];
    }
    if (c->path_validating && d == r->off)
      c->path_challenge_pending = 1;
    /* spec: rfc9000#9.4/4 — the probe of the preferred address is not: its own timer, backed off
     * (vq_conn_pa_timeout), sends it again; loss detection would resend it at every loss, more
     * aggressively than RFC 9002 §6.2.1. A probed path's is sent again there (vq_conn_send_path). */
    if (c->pp_state == VQ_PROBE_PROBING && qd == r->off)
      c->pp_pending = 1;
    return;
  }
  default:
    return; /* ACK, PING and BLOCKED frames are not retransmitted as such */
  }
}

void vq_conn_on_packet_fate(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate)
{
  vq_conn *c = ud;
  uint32_t i = (uint32_t)p->handle;
  unsigned mark = (unsigned)(p->handle >> VQ_HANDLE_ECN_SHIFT) & 3u;
  if (fate == VQ_PKT_LOST)
    c->stats.pkts_lost++;
  if (space == VQ_SPACE_APP)
    vq_conn_pmtu_on_fate(c, p, fate);
  if (fate == VQ_PKT_ACKED) {
    /* for ECN validation (rfc9000#13.4.2.1) and the CE congestion event (rfc9002#B.7) */
    if (mark == VQ_ECN_ECT0)
      c->ack_newly_ect0++;
    if (!c->ack_newly_any || p->pn > c->ack_newly_pn) {
      c->ack_newly_any = 1;
      c->ack_newly_pn = p->pn;
      c->ack_newly_time = p->time_sent;
    }
  } else if (fate == VQ_PKT_LOST && mark == VQ_ECN_ECT0) {
    /* spec: rfc9000#13.4.2 — every marked packet of the test lost: ECN is disabled (ecn.c) */
    vq_ecn_on_lost(&c->ecn, 1);
  }
  for (uint32_t j = i; j != VQ_SF_NIL && j < c->sf_cap; j = c->sf[j].next) {
    if (fate == VQ_PKT_ACKED)
      frame_acked(c, &c->sf[j]);
    else if (fate == VQ_PKT_LOST)
      frame_lost(c, &c->sf[j]);
  }
  if (i < c->sf_cap)
    sf_release_chain(c, i);
}

void vq_conn_on_packet_requeue(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate)
{
  vq_conn *c = ud;
  (void)space;
  (void)fate;
  uint32_t i = (uint32_t)p->handle;
  for (uint32_t j = i; j != VQ_SF_NIL && j < c->sf_cap; j = c->sf[j].next)
    frame_lost(c, &c->sf[j]);
  if (i < c->sf_cap)
    sf_release_chain(c, i);
}

void vq_conn_recovery_state(const vq_conn *c, vq_recovery_state *st)
{
  memset(st, 0, sizeof(*st));
  st->handshake_confirmed = c->hs_confirmed;
  st->peer_completed_address_validation = c->is_server || c->peer_addr_validated;
  st->has_handshake_keys = c->sp[VQ_SPACE_HANDSHAKE].tx.installed;
  st->amplification_limited = (c->is_server && !c->addr_validated &&
                               c->bytes_sent_unvalidated >= 3 * c->bytes_recv_unvalidated) ||
                              (c->path_unvalidated && c->path_sent >= 3 * c->path_recv);
  for (int i = 0; i < VQ_SPACE_COUNT; i++)
    st->space_discarded[i] = c->sp[i].discarded;
}

/* ---- what is there to send ------------------------------------------------------------------- */

static int stream_has_ctrl(const vq_stream *s)
{
  return s->reset_pending || s->stop_pending || s->msd_pending || s->sdb_pending;
}

static uint64_t conn_credit_end(const vq_conn *c, const vq_stream *s)
{
  /* new data may go up to the stream's limit and, connection-wide, up to the credit left */
  uint64_t credit = vq_fc_tx_credit(&c->fc_tx);
  uint64_t lim = s->fc_tx.limit;
  uint64_t cend = s->sb.sent + credit;
  return cend < lim ? cend : lim;
}

static int stream_has_data(const vq_conn *c, const vq_stream *s)
{
  uint64_t off;
  size_t len;
  int fin;
  if (s->reset_pending || s->reset_sent)
    return 0;
  return vq_sendbuf_next(&s->sb, 1200, conn_credit_end(c, s), &off, &len, &fin);
}

/* spec: rfc9000#8.2.2/2 — a pending PATH_RESPONSE makes a packet due at once (no ACK delay or
 * other timer holds it back; only congestion control can) */
static int app_ctrl_pending(vq_conn *c)
{
  if (c->handshake_done_pending || c->path_response_pending || c->path_challenge_pending ||
      c->ping_pending || vq_conn_cid_frames_pending(c) || c->max_data_pending ||
      c->data_blocked_pending || c->max_streams_pending[0] || c->max_streams_pending[1] ||
      c->streams_blocked_pending[0] || c->streams_blocked_pending[1])
    return 1;
  for (vq_stream *s = c->streams; s; s = s->next)
    if (stream_has_ctrl(s))
      return 1;
  return 0;
}

static int crypto_pending(const vq_space *s)
{
  uint64_t off;
  size_t len;
  int fin;
  return vq_sendbuf_next(&s->crypto_tx, 1200, UINT64_MAX, &off, &len, &fin);
}

/* The keys application data goes out with: 1-RTT once installed; before that, on a client that
 * offered 0-RTT and was not refused, the 0-RTT keys (*zrtt = 1); NULL: none. */
static vq_pp_key *app_tx_key(vq_conn *c, int *zrtt)
{
  *zrtt = 0;
  if (c->sp[VQ_SPACE_APP].tx.installed)
    return &c->sp[VQ_SPACE_APP].tx;
  /* spec: rfc9000#17.2.3/3, rfc9001#5.6/7 — never once 1-RTT keys exist (above); the 0-RTT keys
   * are discarded when they are installed or when the server refuses 0-RTT; spec: rfc9001#5.6/5 —
   * a server never protects with 0-RTT keys (it acknowledges 0-RTT packets in 1-RTT ones) */
  if (!c->is_server && c->early_tx.installed &&
      (c->early_state == VQ_EARLY_OFFERED || c->early_state == VQ_EARLY_ACCEPTED)) {
    *zrtt = 1;
    return &c->early_tx;
  }
  return NULL;
}

/* 0-RTT packets leave this much of the congestion window free: lost 0-RTT packets stay in flight
 * until an ACK in the application space reveals the loss, which needs the handshake to finish
 * first; the client's Handshake flight (its Finished, in a datagram padded to 1200 bytes when it
 * carries an Initial ACK) must still fit, or the connection would wait for nothing. */
#define VQ_ZRTT_CWND_RESERVE(c) (3u * (c)->max_udp_payload)

/* Whether a packet with in-flight data may go now: the congestion window and the pacer
 * (vq_recovery_can_send: > 0); for 0-RTT the window (not the pacer's tokens) must also leave the
 * reserve above free. A room the pacer limits is not the reserve's business: comparing the pacer's
 * tokens with the reserve would wait for an ACK when only the pacer said "not yet" (found by 0-RTT
 * sent again after a Retry, behind the paced first flight). *next: when the pacer allows more. */
static int send_room_ok(const vq_conn *c, int zrtt, vq_time now, vq_time *next)
{
  uint64_t room = vq_recovery_can_send(&c->rec, now, next);
  if (!zrtt)
    return room > 0;
  return room > 0 && vq_cc_available(&c->rec.cc) > VQ_ZRTT_CWND_RESERVE(c);
}

/* Whether a packet would be built in this space now (must agree with build_packet). */
int vq_conn_has_pending(vq_conn *c, int space, vq_time now)
{
  vq_space *s = &c->sp[space];
  int zrtt = 0;
  vq_pp_key *key = space == VQ_SPACE_APP ? app_tx_key(c, &zrtt) : &s->tx;
  /* spec: rfc9001#4.9.1/2 — no Initial (or Handshake) packet once its keys are discarded */
  if (s->discarded || !key || !key->installed)
    return 0;
  /* spec: rfc9000#10.2.3/1 — CONNECTION_CLOSE goes in every space whose keys are held: once the
   * handshake is confirmed only 1-RTT is left (Initial and Handshake keys are discarded) */
  if (c->state == VQ_CONN_CLOSING)
    return c->close_pending;
  if (c->state != VQ_CONN_HANDSHAKE && c->state != VQ_CONN_ESTABLISHED)
    return 0;
  if (s->ack_pending && s->ack_deadline <= now && !zrtt)
    return 1;
  if (s->probes)
    return 1;
  vq_time next = VQ_TIME_NEVER;
  int cwnd_ok = send_room_ok(c, zrtt, now, &next);
  if (!cwnd_ok) {
    /* pacing: vq_conn_next_timeout wakes the driver then (not for the window or the 0-RTT reserve:
     * an ACK will; next is VQ_TIME_NEVER or now then) */
    c->pace_until = next > now ? next : VQ_TIME_NEVER;
    return 0;
  }
  c->pace_until = VQ_TIME_NEVER;
  if (crypto_pending(s))
    return 1;
  if (space != VQ_SPACE_APP || !(c->hs_complete || zrtt))
    return 0;
  if (app_ctrl_pending(c))
    return 1;
  /* spec: rfc9221#5.4/1 — datagrams wait for the congestion controller (cwnd_ok above); spec:
   * rfc9221#5/3 — in 1-RTT, or in 0-RTT under the remembered max_datagram_frame_size */
  if (c->dg_on && (c->state == VQ_CONN_ESTABLISHED || zrtt) && vq_dgram_pending(&c->dg) > 0)
    return 1;
  for (vq_stream *st = c->sendq_head; st; st = st->qnext)
    if (stream_has_data(c, st))
      return 1;
  return 0;
}

/* ---- building one packet --------------------------------------------------------------------- */

typedef struct pkt {
  vq_conn *c;
  uint8_t *buf;   /* the packet's first byte */
  size_t pos;     /* write position (from buf) */
  size_t end;     /* payload may extend to here (before the AEAD tag) */
  int eliciting;
  int padded;
  int data;       /* stream data (new, or declared lost and sent again) or a DATAGRAM went in */
} pkt;

/* Every recorded frame needs a record: a packet stops taking frames when none is free (64 are
 * reserved per packet). */
static int sf_room(const vq_conn *c) { return c->sf_free != VQ_SF_NIL; }

static int put(pkt *p, const vq_frame *f)
{
  size_t used = 0;
  if (p->pos >= p->end || !sf_room(p->c))
    return 0;
  if (vq_frame_encode(p->buf + p->pos, p->end - p->pos, f, &used) != VQ_OK)
    return 0;
  p->pos += used;
  if (vq_frame_is_ack_eliciting(f->type))
    p->eliciting = 1;
  return 1;
}

static int put_ack(vq_conn *c, const vq_cx *cx, pkt *p, int space)
{
  vq_space *s = &c->sp[space];
  if (s->recv.n == 0)
    return 0;
  /* spec: rfc9000#13.2.6/1, rfc9000#13.2.6/2, rfc9000#17.2.3/4 — the ACK frame is built from the
   * ranges of the packet number space of the packet it goes in (1-RTT acknowledged in 1-RTT);
   * spec: rfc9000#13.2.6/3 — the client's 0-RTT packets are in the application data space too, and
   * a server builds no 0-RTT packet (rfc9001#5.6/5), so their ACKs go in 1-RTT packets */
  vq_ack_range r[VQ_ACK_RANGES_SENT];
  size_t n = s->recv.n < VQ_ACK_RANGES_SENT ? s->recv.n : VQ_ACK_RANGES_SENT;
  for (size_t i = 0; i < n; i++) {
    r[i].smallest = s->recv.r[i].lo;
    r[i].largest = s->recv.r[i].hi;
  }
  vq_frame f;
  memset(&f, 0, sizeof(f));
  f.type = VQ_FRAME_ACK;
  f.ack.ranges_in = r;
  f.ack.range_count_in = n;
  /* spec: rfc9000#13.4.1/1, rfc9000#19.3.2 — once any ECN codepoint arrived in this space, its
   * ACKs are ACK_ECN frames carrying the counts of the packets received with each (ecn.c) */
  vq_ecn_counts ec;
  if (vq_ecn_rx_counts(&c->ecn, (unsigned)space, &ec)) {
    f.type = VQ_FRAME_ACK_ECN;
    f.ack.ect0 = ec.ect0;
    f.ack.ect1 = ec.ect1;
    f.ack.ecn_ce = ec.ce;
  }
  if (space == VQ_SPACE_APP && cx->now > s->largest_recv_time) {
    /* spec: rfc9000#19.3 — ACK Delay in microseconds scaled by our ack_delay_exponent; spec:
     * rfc9000#13.2.5/1 — only the time since we received the largest packet */
    f.ack.delay = ((cx->now - s->largest_recv_time) / 1000u) >> VQ_TP_DEFAULT_ACK_DELAY_EXPONENT;
  }
  /* fewer ranges if the frame does not fit */
  while (n > 0) {
    f.ack.range_count_in = n;
    size_t need;
    if (vq_frame_encoded_len(&f, &need) == VQ_OK && need <= p->end - p->pos)
      break;
    n--;
  }
  if (n == 0 || !put(p, &f))
    return 0;
  sf_add(c, VQ_SF_ACK, space, 0, r[0].largest, 0, 0);
  /* spec: rfc9001#6.2 — this ACK, under the keys of the peer's latest update, completes it */
  if (space == VQ_SPACE_APP)
    c->ku_ack_owed = 0;
  /* spec: rfc9000#13.2.1/3 — one ACK answers what arrived: no further ACK-only packet until another
   * ack-eliciting packet arrives */
  s->ack_pending = 0;
  s->unacked_eliciting = 0;
  s->ack_deadline = VQ_TIME_NEVER;
  return 1;
}

static void put_close(vq_conn *c, pkt *p, int space)
{
  vq_frame f;
  memset(&f, 0, sizeof(f));
  int app = c->close_app;
  /* spec: rfc9000#10.2.3/6, rfc9000#10.2.3/7 — an application close in an Initial or Handshake
   * packet becomes CONNECTION_CLOSE 0x1c with APPLICATION_ERROR and no reason */
  if (app && space != VQ_SPACE_APP) {
    f.type = VQ_FRAME_CONNECTION_CLOSE;
    f.close.error_code = VQ_TE_APPLICATION_ERROR;
  } else if (app) {
    f.type = VQ_FRAME_CONNECTION_CLOSE_APP;
    f.close.error_code = c->close_code;
    f.close.reason = (const uint8_t *)c->close_reason;
    f.close.reason_len = strlen(c->close_reason);
  } else {
    f.type = VQ_FRAME_CONNECTION_CLOSE;
    f.close.error_code = c->close_code;
    f.close.frame_type = c->close_frame_type;
    f.close.reason = (const uint8_t *)c->close_reason;
    f.close.reason_len = strlen(c->close_reason);
  }
  (void)put(p, &f);
}

static void put_crypto(vq_conn *c, pkt *p, int space)
{
  /* spec: rfc9001#4.9/1, rfc9001#4/1 — each level's CRYPTO data (new or lost and sent again) comes
   * from that space's own send stream, so it always goes out at the level, and under the keys, it
   * was first sent with */
  vq_space *s = &c->sp[space];
  for (;;) {
    if (p->end - p->pos < 16 || !sf_room(c))
      return;
    uint64_t off;
    size_t len;
    int fin;
    size_t room = p->end - p->pos - 1 - 8 - 4; /* type, offset <= 8, length <= 4 */
    if (!vq_sendbuf_next(&s->crypto_tx, room, UINT64_MAX, &off, &len, &fin) || len == 0)
      return;
    size_t u1 = 0, u2 = 0;
    uint8_t *w = p->buf + p->pos;
    w[0] = VQ_FRAME_CRYPTO;
    if (vq_varint_encode(w + 1, 8, off, &u1) != VQ_OK ||
        vq_varint_encode(w + 1 + u1, 4, len, &u2) != VQ_OK)
      return;
    vq_sendbuf_copy(&s->crypto_tx, off, len, w + 1 + u1 + u2);
    p->pos += 1 + u1 + u2 + len;
    p->eliciting = 1;
    vq_sendbuf_on_sent(&s->crypto_tx, off, len, 0);
    sf_add(c, VQ_SF_CRYPTO, space, 0, off, (uint32_t)len, 0);
  }
}

static int put_simple(vq_conn *c, pkt *p, uint64_t type, uint64_t v, vq_sf_kind kind, uint64_t id)
{
  vq_frame f;
  memset(&f, 0, sizeof(f));
  f.type = type;
  switch (type) {
  case VQ_FRAME_MAX_DATA: f.max_data.maximum = v; break;
  case VQ_FRAME_DATA_BLOCKED: f.data_blocked.maximum = v; break;
  case VQ_FRAME_MAX_STREAMS_BIDI:
  case VQ_FRAME_MAX_STREAMS_UNI: f.max_streams.maximum = v; break;
  case VQ_FRAME_STREAMS_BLOCKED_BIDI:
  case VQ_FRAME_STREAMS_BLOCKED_UNI: f.streams_blocked.maximum = v; break;
  case VQ_FRAME_MAX_STREAM_DATA:
    f.max_stream_data.stream_id = id;
    f.max_stream_data.maximum = v;
    break;
  case VQ_FRAME_STREAM_DATA_BLOCKED:
    f.stream_data_blocked.stream_id = id;
    f.stream_data_blocked.maximum = v;
    break;
  default: break;
  }
  if (!put(p, &f))
    return 0;
  if (kind != VQ_SF_NONE)
    sf_add(c, kind, VQ_SPACE_APP, id, v, 0, 0);
  return 1;
}

/* NEW_CONNECTION_ID for the CIDs we issued and RETIRE_CONNECTION_ID for the peer's we retired. */
static void put_cid_frames(vq_conn *c, pkt *p)
{
  vq_frame f;
  memset(&f, 0, sizeof(f));
  f.type = VQ_FRAME_NEW_CONNECTION_ID;
  /* spec: rfc9000#19.15/2 — none while we use a zero-length CID (cidmgr.c queues none then) */
  while (p->end - p->pos >= 48 && sf_room(c) && vq_cidmgr_local_next_frame(&c->cids, &f.new_cid)) {
    if (!put(p, &f)) {
      vq_cidmgr_local_frame_lost(&c->cids, f.new_cid.sequence); /* next packet */
      break;
    }
    sf_add(c, VQ_SF_NEW_CID, VQ_SPACE_APP, 0, f.new_cid.sequence, 0, 0);
  }
  memset(&f, 0, sizeof(f));
  f.type = VQ_FRAME_RETIRE_CONNECTION_ID;
  uint64_t seq;
  /* spec: rfc9000#5.1.2/4 — retired peer CIDs are announced with RETIRE_CONNECTION_ID */
  while (p->end - p->pos >= 16 && sf_room(c) && vq_cidmgr_retire_next(&c->cids, &seq)) {
    f.retire_cid.sequence = seq;
    if (!put(p, &f)) {
      vq_cidmgr_retire_lost(&c->cids, seq);
      break;
    }
    sf_add(c, VQ_SF_RETIRE_CID, VQ_SPACE_APP, 0, seq, 0, 0);
  }
}

static void put_app_ctrl(vq_conn *c, pkt *p)
{
  vq_frame f;
  if (c->handshake_done_pending) {
    memset(&f, 0, sizeof(f));
    f.type = VQ_FRAME_HANDSHAKE_DONE;
    if (put(p, &f)) {
      c->handshake_done_pending = 0;
      c->handshake_done_sent = 1;
      sf_add(c, VQ_SF_HANDSHAKE_DONE, VQ_SPACE_APP, 0, 0, 0, 0);
    }
  }
  if (c->new_token_pending && c->is_server && sf_room(c)) {
    /* spec: rfc9000#19.7/3 — only a server sends NEW_TOKEN (new_token_pending is set on a server
     * only, at handshake confirmation); spec: rfc9000#8.1.3/7 — the token is the endpoint's, unique
     * per connection (random nonce) */
    memset(&f, 0, sizeof(f));
    f.type = VQ_FRAME_NEW_TOKEN;
    f.new_token.token = c->new_token;
    f.new_token.len = c->new_token_len;
    if (put(p, &f)) {
      c->new_token_pending = 0;
      c->stats.new_tokens_sent++;
      sf_add(c, VQ_SF_NEW_TOKEN, VQ_SPACE_APP, 0, 0, 0, 0);
    }
  }
  if (c->path_challenge_pending) {
    memset(&f, 0, sizeof(f));
    f.type = VQ_FRAME_PATH_CHALLENGE;
    f.path.data = c->path_challenge_data;
    /* spec: rfc9000#8.2.1/2 — one PATH_CHALLENGE in a packet */
    if (put(p, &f)) {
      uint64_t d = 0;
      for (int k = 0; k < 8; k++)
        d = (d << 8) | c->path_challenge_data[k];
      c->path_challenge_pending = 0;
      c->path_pad = 1;
      c->stats.path_challenges_sent++;
      sf_add(c, VQ_SF_PATH_CHALLENGE, VQ_SPACE_APP, 0, d, 0, 0);
    }
  }
  if (c->path_response_pending) {
    memset(&f, 0, sizeof(f));
    f.type = VQ_FRAME_PATH_RESPONSE;
    f.path.data = c->path_response_data;
    /* spec: rfc9000#8.2.2/7 — one PATH_RESPONSE per PATH_CHALLENGE (never retransmitted) */
    if (put(p, &f)) {
      c->path_response_pending = 0;
      c->path_pad = 1;
    }
  }
  if (c->ping_pending) {
    memset(&f, 0, sizeof(f));
    f.type = VQ_FRAME_PING;
    if (put(p, &f)) {
      c->ping_pending = 0;
      sf_add(c, VQ_SF_PING, VQ_SPACE_APP, 0, 0, 0, 0);
    }
  }
  put_cid_frames(c, p);
  if (c->max_data_pending &&
      put_simple(c, p, VQ_FRAME_MAX_DATA, c->fc_rx.limit, VQ_SF_MAX_DATA, 0))
    c->max_data_pending = 0;
  if (c->data_blocked_pending &&
      put_simple(c, p, VQ_FRAME_DATA_BLOCKED, c->fc_tx.limit, VQ_SF_DATA_BLOCKED, 0))
    c->data_blocked_pending = 0;
  for (int u = 0; u < 2; u++) {
    if (c->max_streams_pending[u] &&
        put_simple(c, p, u ? VQ_FRAME_MAX_STREAMS_UNI : VQ_FRAME_MAX_STREAMS_BIDI,
                   c->local_max_streams[u], u ? VQ_SF_MAX_STREAMS_UNI : VQ_SF_MAX_STREAMS_BIDI, 0))
      c->max_streams_pending[u] = 0;
    if (c->streams_blocked_pending[u] &&
        put_simple(c, p, u ? VQ_FRAME_STREAMS_BLOCKED_UNI : VQ_FRAME_STREAMS_BLOCKED_BIDI,
                   c->peer_max_streams[u], VQ_SF_NONE, 0))
      c->streams_blocked_pending[u] = 0;
  }
  for (vq_stream *s = c->streams; s; s = s->next) {
    if (!stream_has_ctrl(s))
      continue;
    if (s->reset_pending) {
      memset(&f, 0, sizeof(f));
      f.type = VQ_FRAME_RESET_STREAM;
      f.reset_stream.stream_id = s->id;
      f.reset_stream.error_code = s->reset_code;
      f.reset_stream.final_size = s->reset_final;
      if (put(p, &f)) {
        s->reset_pending = 0;
        s->reset_sent = 1;
        sf_add(c, VQ_SF_RESET_STREAM, VQ_SPACE_APP, s->id, 0, 0, 0);
      }
    }
    if (s->stop_pending) {
      memset(&f, 0, sizeof(f));
      f.type = VQ_FRAME_STOP_SENDING;
      f.stop_sending.stream_id = s->id;
      f.stop_sending.error_code = s->stop_code;
      if (put(p, &f)) {
        s->stop_pending = 0;
        s->stop_sent = 1;
        sf_add(c, VQ_SF_STOP_SENDING, VQ_SPACE_APP, s->id, 0, 0, 0);
      }
    }
    if (s->msd_pending && put_simple(c, p, VQ_FRAME_MAX_STREAM_DATA, s->fc_rx.limit,
                                     VQ_SF_MAX_STREAM_DATA, s->id))
      s->msd_pending = 0;
    if (s->sdb_pending && put_simple(c, p, VQ_FRAME_STREAM_DATA_BLOCKED, s->fc_tx.limit,
                                     VQ_SF_STREAM_DATA_BLOCKED, s->id))
      s->sdb_pending = 0;
    if (!stream_has_ctrl(s))
      vq_conn_stream_maybe_free(c, s);
    if (p->end - p->pos < 32)
      break;
  }
}

/* Queued datagrams, each a DATAGRAM frame, as many as fit (RFC 9221 §5: a frame never spans
 * packets; spec: rfc9221#5/1 — sent as soon as the congestion controller allows, before stream data,
 * coalesced with other frames). Each is recorded only to tell its fate: never retransmitted. */
static void put_datagrams(vq_conn *c, const vq_cx *cx, pkt *p, int zrtt)
{
  /* spec: rfc9221#5/3, rfc9221#6/1 — protected with 1-RTT keys, or (a client that remembered the
   * server's max_datagram_frame_size, rfc9221#3/1) with 0-RTT keys */
  if (!c->dg_on || (c->state != VQ_CONN_ESTABLISHED && !zrtt))
    return;
  while (vq_dgram_pending(&c->dg) > 0 && p->pos < p->end && sf_room(c)) {
    size_t used = 0;
    uint64_t dropped = c->dg.tx_too_large;
    int w = vq_dgram_write_frame(&c->dg, p->buf + p->pos, p->end - p->pos, &used);
    if (c->dg.tx_too_large != dropped)
      vq_cx_trace(cx, "datagram_dropped", "reason=too_large count=%llu",
                  (unsigned long long)(c->dg.tx_too_large - dropped));
    if (!w)
      return;
    uint64_t id = c->dg_written + c->dg.tx_too_large;
    c->dg_written++;
    p->pos += used;
    /* spec: rfc9221#5.2 — DATAGRAM frames are ack-eliciting; spec: rfc9000#19.21/3 — an extension
     * frame is congestion controlled (vq_conn_has_pending) and elicits an ACK */
    p->eliciting = 1;
    p->data = 1;
    c->stats.dgram_sent++;
    sf_add(c, VQ_SF_DATAGRAM, VQ_SPACE_APP, id, 0, (uint32_t)used, 0);
  }
}

/* The stream data a STREAM frame of s can carry in what is left of the packet (>= 24 bytes left). */
static size_t stream_room(const pkt *p, const vq_stream *s)
{
  size_t hdr_max = 1 + vq_varint_len(s->id) + 8 + 4;
  return p->end - p->pos - hdr_max;
}

static int put_stream_frame(vq_conn *c, pkt *p, vq_stream *s, uint64_t off, size_t len, int fin);

/* One STREAM frame of stream s into the packet; returns 1 if the stream has more to send. */
static int put_stream(vq_conn *c, pkt *p, vq_stream *s)
{
  if (p->end - p->pos < 24 || !sf_room(c))
    return 1;
  uint64_t off;
  size_t len;
  int fin;
  uint64_t limit = conn_credit_end(c, s);
  if (!vq_sendbuf_next(&s->sb, stream_room(p, s), limit, &off, &len, &fin)) {
    /* blocked by flow control? (spec: rfc9000#4.1/4 — signal it with *_DATA_BLOCKED) */
    if (s->sb.end > s->sb.sent && s->sb.sent >= s->fc_tx.limit && vq_fc_tx_take_blocked(&s->fc_tx))
      s->sdb_pending = 1;
    else if (s->sb.end > s->sb.sent && vq_fc_tx_credit(&c->fc_tx) == 0 &&
             vq_fc_tx_take_blocked(&c->fc_tx))
      c->data_blocked_pending = 1;
    return 0;
  }
  if (!put_stream_frame(c, p, s, off, len, fin))
    return 0;
  return stream_has_data(c, s);
}

/* The STREAM frame [off, off + len) (+ FIN) of s into the packet (it fits: stream_room). Only bytes
 * above sb.sent take flow-control credit and count as sent: a retransmission takes none. */
static int put_stream_frame(vq_conn *c, pkt *p, vq_stream *s, uint64_t off, size_t len, int fin)
{
  uint8_t *w = p->buf + p->pos;
  size_t u = 1, n = 0;
  uint8_t type = VQ_FRAME_STREAM | VQ_FRAME_STREAM_LEN;
  if (off)
    type |= VQ_FRAME_STREAM_OFF;
  if (fin)
    type |= VQ_FRAME_STREAM_FIN;
  w[0] = type;
  if (vq_varint_encode(w + u, 8, s->id, &n) != VQ_OK)
    return 0;
  u += n;
  if (off) {
    if (vq_varint_encode(w + u, 8, off, &n) != VQ_OK)
      return 0;
    u += n;
  }
  if (vq_varint_encode(w + u, 4, len, &n) != VQ_OK)
    return 0;
  u += n;
  vq_sendbuf_copy(&s->sb, off, len, w + u);
  p->pos += u + len;
  p->eliciting = 1;
  p->data = 1;
  uint64_t new_end = off + len;
  if (new_end > s->sb.sent) {
    uint64_t fresh = new_end - s->sb.sent;
    (void)vq_fc_tx_consume(&c->fc_tx, fresh);
    (void)vq_fc_tx_consume(&s->fc_tx, fresh);
    c->stats.stream_bytes_sent += fresh;
  }
  vq_sendbuf_on_sent(&s->sb, off, len, fin);
  if (fin && s->ss == VQ_SEND_SEND)
    s->ss = VQ_SEND_DATA_SENT;
  sf_add(c, VQ_SF_STREAM, VQ_SPACE_APP, s->id, off, (uint32_t)len, fin);
  return 1;
}

static void put_streams(vq_conn *c, pkt *p)
{
  /* round robin: each queued stream gets one frame per turn; a stream with more goes to the tail */
  uint64_t turns = c->nstreams + 1;
  while (c->sendq_head && p->end - p->pos >= 24 && turns-- > 0) {
    vq_stream *s = c->sendq_head;
    c->sendq_head = s->qnext;
    if (!c->sendq_head)
      c->sendq_tail = NULL;
    s->qnext = NULL;
    s->in_sendq = 0;
    if (put_stream(c, p, s))
      vq_conn_stream_sendq_add(c, s);
  }
}

/* One frame of a packet in flight, for a PTO probe that resends it (put_probe_resend). Stream data
 * goes into the packet now; control frames are queued as if lost (each is sent again with its current
 * value, and an ACK of either copy discharges it); CRYPTO data is re-queued for put_crypto. ACK, PING,
 * DATAGRAM (never retransmitted, rfc9221#5.2), PATH_CHALLENGE and the BLOCKED frames are not resent. */
static void resend_frame(vq_conn *c, pkt *p, const vq_sent_frame *r, int *crypto)
{
  switch ((vq_sf_kind)r->kind) {
  case VQ_SF_STREAM: {
    vq_stream *s = vq_conn_stream_find(c, r->id);
    uint64_t off;
    size_t len;
    int fin;
    if (!s || s->reset_pending || s->reset_sent || p->end - p->pos < 24 || !sf_room(c))
      return;
    if (!vq_sendbuf_resend(&s->sb, r->off, r->len, r->fin, stream_room(p, s), &off, &len, &fin))
      return;
    if (put_stream_frame(c, p, s, off, len, fin))
      c->stats.probe_resent_bytes += len;
    return;
  }
  case VQ_SF_CRYPTO:
    if (!c->sp[r->space].discarded && r->space == VQ_SPACE_APP) {
      /* lost is a superset by design (stream.c): this costs one extra copy at most */
      (void)vq_sendbuf_on_lost(&c->sp[VQ_SPACE_APP].crypto_tx, r->off, r->len, 0);
      *crypto = 1;
    }
    return;
  case VQ_SF_MAX_DATA:
  case VQ_SF_MAX_STREAM_DATA:
  case VQ_SF_MAX_STREAMS_BIDI:
  case VQ_SF_MAX_STREAMS_UNI:
  case VQ_SF_RESET_STREAM:
  case VQ_SF_STOP_SENDING:
  case VQ_SF_HANDSHAKE_DONE:
  case VQ_SF_NEW_TOKEN:
  case VQ_SF_NEW_CID:
  case VQ_SF_RETIRE_CID:
    frame_lost(c, r);
    return;
  default:
    return;
  }
}

/* spec: rfc9002#6.2.4/6 — a 1-RTT PTO probe with no new data to carry sends previously sent data: the
 * frames of the oldest packets in flight, in pn order, as many as fit. Those packets are not declared
 * lost (spec: rfc9002#6.2/1): they stay in flight, and the data they carry stays owed until an ACK of
 * either copy (DESIGN.md principle 4). The probes of one PTO go on from where the last stopped. */
static int put_probe_resend(vq_conn *c, pkt *p)
{
  vq_space *s = &c->sp[VQ_SPACE_APP];
  vq_sent_packet sp;
  int crypto = 0;
  size_t start = p->pos;
  if (s->probe_cursor_set &&
      !vq_recovery_oldest_in_flight(&c->rec, VQ_SPACE_APP, s->probe_cursor, 1, &sp))
    s->probe_cursor_set = 0; /* resent everything in flight: from the oldest again */
  for (uint32_t n = 0; n < 16u && p->end - p->pos >= 24 && sf_room(c); n++) {
    if (!vq_recovery_oldest_in_flight(&c->rec, VQ_SPACE_APP, s->probe_cursor, s->probe_cursor_set,
                                      &sp))
      break;
    s->probe_cursor = sp.pn;
    s->probe_cursor_set = 1;
    uint32_t i = (uint32_t)sp.handle;
    for (uint32_t j = i; j != VQ_SF_NIL && j < c->sf_cap && p->end - p->pos >= 24; j = c->sf[j].next)
      resend_frame(c, p, &c->sf[j], &crypto);
  }
  if (crypto)
    put_crypto(c, p, VQ_SPACE_APP);
  put_app_ctrl(c, p);
  if (p->pos == start)
    return 0;
  c->stats.probes_resent++;
  return 1;
}

/* For a PTO probe in Initial/Handshake: resend what is unacknowledged (RFC 9002 §6.2.4). */
static void requeue_crypto(vq_space *s)
{
  vq_sendbuf *b = &s->crypto_tx;
  if (b->sent > b->base)
    (void)vq_sendbuf_on_lost(b, b->base, (size_t)(b->sent - b->base), 0);
}

/* spec: rfc9000#12.3/3 — the packet numbers of a space are used up (the next would be 2^62-1): the
 * connection closes without sending CONNECTION_CLOSE or anything else. */
static void close_pn_exhausted(vq_conn *c, const vq_cx *cx, int space)
{
  c->state = VQ_CONN_CLOSED;
  c->close_pending = 0;
  c->close_code = VQ_TE_INTERNAL_ERROR;
  snprintf(c->close_reason, sizeof(c->close_reason), "packet numbers exhausted");
  vq_conn_push_event(c, VQ_CONN_EV_CLOSED, 0, VQ_TE_INTERNAL_ERROR);
  vq_cx_trace(cx, "connection_closed", "packet numbers exhausted in space %d", space);
}

/* Builds one packet of space into buf[0..cap) padded to at least min_len bytes when possible.
 * *len = 0 when there was nothing to send. */
static vq_status build_packet(vq_conn *c, const vq_cx *cx, int space, uint8_t *buf, size_t cap,
                              size_t min_len, int force, size_t *len, int *eliciting)
{
  vq_space *s = &c->sp[space];
  *len = 0;
  *eliciting = 0;
  int zrtt = 0;
  vq_pp_key *key = space == VQ_SPACE_APP ? app_tx_key(c, &zrtt) : &s->tx;
  if (!key)
    return VQ_OK;
  if (cap < 64 || !sf_reserve(c, 64))
    return VQ_OK;
  /* spec: rfc9001#6.6/1 — 1-RTT packets are counted per write key (tx_key_pkts) against the limit */
  if (space == VQ_SPACE_APP && !vq_conn_app_key_usable(c, cx))
    return VQ_OK;
  /* every packet is recorded by recovery (an ACK of an unrecorded pn is a PROTOCOL_VIOLATION): with
   * the space's table full, nothing is sent until ACKs free it (DESIGN.md principle 5) */
  if (!vq_recovery_has_room(&c->rec, (vq_pn_space)space))
    return VQ_OK;
  if (s->next_pn >= VQ_PN_MAX) {
    close_pn_exhausted(c, cx, space);
    return VQ_OK;
  }
  vq_time now = cx->now;
  int largest_ok = 0;
  uint64_t la = vq_recovery_largest_acked(&c->rec, (vq_pn_space)space, &largest_ok);
  /* spec: rfc9001#9.5/2 — the packet number's encoded size without a branch on the packet number
   * (vq_pn_encode_len_ct, the proved vq_pn_encode_len's result), at least 2 bytes */
  size_t pn_len = vq_pn_encode_len_ct(s->next_pn, largest_ok ? la : VQ_PN_NONE);
  if (pn_len == 0)
    return VQ_ERR_INTERNAL;
  pn_len += (size_t)(pn_len == 1u);
  size_t length_off = 0, pn_off = 0;
  vq_status st;
  /* spec: rfc9000#12.2/4 — every packet of the datagram carries the same Destination CID (c->dcid);
   * spec: rfc9000#17.2.2 — the server's Initial has no token (only on_retry, in a client, sets
   * c->token); the client's side of rfc9000#17.2.2/1 is missing (status.tsv) */
  int long_hdr = space != VQ_SPACE_APP || zrtt;
  if (!long_hdr) {
    /* spec: rfc9000#17.4/2 — vquic does not implement the latency spin bit: it is disabled, sent as
     * 0, and the peer's value is never looked at (spec: rfc9000#17.4/5); spec: rfc9001#6 — the Key
     * Phase bit is the low bit of the write keys' generation */
    const vq_cid *dcid = c->pa_building == VQ_BUILD_PA               ? &c->pa_cid
                         : c->pa_building == VQ_BUILD_PROBE          ? &c->pp_cid
                         : c->pa_building == VQ_BUILD_PROBE_RESPONSE ? &c->pr_cid
                                                                     : &c->dcid;
    st = vq_short_header_write(buf, cap, dcid, 0, (unsigned)(c->tx_gen & 1u), pn_len, &pn_off);
  } else {
    /* spec: rfc9000#17.2.3 — 0-RTT packets: long header type 0x1, numbered in the application data
     * space (rfc9000#17.2.3/2: s->next_pn, shared with 1-RTT) */
    vq_long_header_spec hs = {space == VQ_SPACE_INITIAL ? VQ_PKT_INITIAL
                              : zrtt                    ? VQ_PKT_0RTT
                                                        : VQ_PKT_HANDSHAKE,
                              /* spec: rfc9369#4.1/10 — 0-RTT in the original version, even
                               * after the negotiated version is known */
                              zrtt ? c->orig_version : c->version,
                              &c->dcid,
                              &c->scid,
                              space == VQ_SPACE_INITIAL ? c->token : NULL,
                              space == VQ_SPACE_INITIAL ? c->token_len : 0,
                              pn_len,
                              cap > 16000 ? 4 : 2};
    st = vq_long_header_write(buf, cap, &hs, &length_off, &pn_off);
  }
  if (st != VQ_OK)
    return st == VQ_ERR_BUFFER_TOO_SMALL ? VQ_OK : st;
  /* spec: rfc9001#9.5/2 — the packet number written without a branch on it or its size (all 4
   * bytes a packet number may take are visited; those beyond pn_len are payload, written later) */
  if (cap - pn_off < 4u)
    return VQ_OK;
  vq_pn_write_ct(buf + pn_off, s->next_pn, pn_len);
  pkt p = {c, buf, pn_off + pn_len, cap - VQ_AEAD_TAG_LEN, 0, 0, 0};
  c->cur_first = c->cur_last = VQ_SF_NIL;
  c->path_pad = 0;

  vq_time next_send = VQ_TIME_NEVER;
  /* spec: rfc9002#7.5/1 — a space owed PTO probes sends whatever the congestion window says */
  int cwnd_ok = send_room_ok(c, zrtt, now, &next_send) || s->probes > 0;
  if (c->pa_building) {
    /* spec: rfc9000#21.5.3/1, rfc9000#9.6.2/1 — to the preferred address before it is validated: a
     * probing packet only, PATH_CHALLENGE (and PADDING to 1200 bytes, rfc9000#8.2.1/5); spec:
     * rfc9000#9.1/1 — the same on a path probed without moving; spec: rfc9000#8.2.2/1,
     * rfc9000#8.2.2/3 — the answer to a probe, PATH_RESPONSE, on the probe's path (padded to 1200
     * bytes within its amplification limit, rfc9000#8.2.2/5, rfc9000#8.2.2/6: cap is cut to it) */
    vq_frame f;
    memset(&f, 0, sizeof(f));
    int resp = c->pa_building == VQ_BUILD_PROBE_RESPONSE;
    const uint8_t *pd = c->pa_building == VQ_BUILD_PA ? c->pa_data : resp ? c->pr_data : c->pp_data;
    f.type = resp ? VQ_FRAME_PATH_RESPONSE : VQ_FRAME_PATH_CHALLENGE;
    f.path.data = pd;
    if (put(&p, &f)) {
      c->path_pad = 1;
      if (!resp) {
        uint64_t d = 0;
        for (int k = 0; k < 8; k++)
          d = (d << 8) | pd[k];
        c->stats.path_challenges_sent++;
        sf_add(c, VQ_SF_PATH_CHALLENGE, VQ_SPACE_APP, 0, d, 0, 0);
      }
    }
  } else if (c->pmtu_building) {
    /* spec: rfc9000#14.3/1 — a PMTU probe: a PING (ack-eliciting, RFC 9000 §14.4) padded to the size
     * tried (min_len); it carries nothing that would need to be sent again if it is lost */
    vq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = VQ_FRAME_PING;
    (void)put(&p, &f);
  } else if (c->state == VQ_CONN_CLOSING) {
    /* every CONNECTION_CLOSE also acknowledges what arrived, so the peer can discharge what it
     * sent before it drains (frames are processed in order: the ACK first) */
    if (s->recv.n > 0)
      (void)put_ack(c, cx, &p, space);
    put_close(c, &p, space);
  } else {
    /* spec: rfc9000#12.4/3 — no ACK frame in a 0-RTT packet (Table 3) */
    if (s->ack_pending && (s->ack_deadline <= now || cwnd_ok) && !zrtt)
      (void)put_ack(c, cx, &p, space);
    if (cwnd_ok) {
      if (s->probes && space != VQ_SPACE_APP)
        requeue_crypto(s);
      put_crypto(c, &p, space);
      /* spec: rfc9001#4.9/2 — application data only at the highest level, 1-RTT; spec:
       * rfc9000#19.7/3 — put_app_ctrl builds NEW_TOKEN on a server only */
      /* spec: rfc9000#7.4.1/10 — in 0-RTT, within the remembered limits (the flow-control and stream
       * state was initialised from them); put_app_ctrl has no HANDSHAKE_DONE, PATH_RESPONSE or
       * NEW_TOKEN pending on a client before the handshake completes (rfc9000#12.4/3) */
      if (space == VQ_SPACE_APP && (c->hs_complete || zrtt)) {
        /* spec: rfc9002#6.2.4/5 — a probe carries new data when there is some; spec:
         * rfc9002#6.2.4/6 — else what is still in flight, oldest first. spec: rfc9002#6.2.4/7 — on
         * a consecutive PTO (the new data of the last probes drew no ACK: a peer whose receive
         * buffer cannot take it drops it unacknowledged, conn_stream.c) the second probe resends
         * the oldest data alone, which fills the hole the peer waits for */
        int probe = s->probes > 0 && !zrtt;
        if (!(probe && s->probes == 1 && c->rec.pto_count >= 2 && put_probe_resend(c, &p))) {
          put_app_ctrl(c, &p);
          put_datagrams(c, cx, &p, zrtt);
          put_streams(c, &p);
          if (probe && !p.data)
            (void)put_probe_resend(c, &p);
        }
      }
      /* spec: rfc9000#13.2.1/7 — a packet that would hold only ACK (and PADDING) gets no PING to make
       * it ack-eliciting: only the key update's one PING below, and PTO probes, are added */
      if (space == VQ_SPACE_APP && c->ku_ping_wanted && !p.eliciting) {
        /* a key update waits for an ACK of this key phase (vq_conn_app_key_usable) */
        vq_frame f;
        memset(&f, 0, sizeof(f));
        f.type = VQ_FRAME_PING;
        if (put(&p, &f)) {
          sf_add(c, VQ_SF_PING, space, 0, 0, 0, 0);
          c->ku_ping_wanted = 0;
          c->ku_ping_last = now;
        }
      }
      if (s->probes && !p.eliciting) {
        /* spec: rfc9002#6.2.4/1 — a PTO sends an ack-eliciting probe; spec: rfc9002#6.2.4/8 — a
         * PING when there is nothing new to send and nothing in flight left to resend */
        vq_frame f;
        memset(&f, 0, sizeof(f));
        f.type = VQ_FRAME_PING;
        if (put(&p, &f))
          sf_add(c, VQ_SF_PING, space, 0, 0, 0, 0);
      }
    }
  }
  size_t hdr_end = pn_off + pn_len;
  /* spec: rfc9000#12.4/1 — a packet with no frame is not sent (a forced one gets PADDING below) */
  if (p.pos == hdr_end && !force) {
    sf_release_chain(c, c->cur_first);
    return VQ_OK; /* nothing to send: the packet number is not used */
  }
  /* padding: to min_len for the 1200-byte rule, and so the header protection sample exists
   * (spec: rfc9001#5.4.2 — the packet number plus payload is at least 4 bytes) */
  size_t want = min_len > VQ_AEAD_TAG_LEN ? min_len - VQ_AEAD_TAG_LEN : 0;
  if (c->path_pad) {
    /* spec: rfc9000#8.2.1/5, rfc9000#8.2.2/5 — a datagram with PATH_CHALLENGE or PATH_RESPONSE is
     * expanded to 1200 bytes; spec: rfc9000#8.2.2/6 — unless the anti-amplification limit does not
     * allow it (cap is already cut to that limit: vq_conn_build_datagram) */
    if (want < VQ_MIN_INITIAL_DATAGRAM - VQ_AEAD_TAG_LEN)
      want = VQ_MIN_INITIAL_DATAGRAM - VQ_AEAD_TAG_LEN;
    /* spec: rfc9000#8.2.1/6, rfc9000#8.2.3/1 — cut short by that limit, the datagram does not show
     * that the path carries 1200 bytes: another path validation follows, expanded, once this one
     * succeeds (vq_conn_on_path_response) */
    if (want > p.end && c->path_unvalidated)
      c->path_mtu_unshown = 1;
    c->path_pad = 0;
  }
  if (want > p.end)
    want = p.end;
  if (p.pos < hdr_end + 4 - (pn_len < 4 ? pn_len : 4) + 0)
    want = want > hdr_end + 4 ? want : hdr_end + 4;
  if (p.pos < want) {
    memset(buf + p.pos, 0, want - p.pos);
    p.pos = want;
    p.padded = 1;
  }
  size_t payload_len = p.pos - hdr_end;
  if (long_hdr) {
    st = vq_packet_set_length(buf, cap, length_off, cap > 16000 ? 4 : 2,
                              pn_len + payload_len + VQ_AEAD_TAG_LEN);
    if (st != VQ_OK)
      return st;
  }
  size_t out = 0;
  st = vq_packet_protect(key, buf, cap, pn_off, pn_len, s->next_pn, payload_len, &out);
  if (st != VQ_OK)
    return st;
  if (space == VQ_SPACE_APP)
    c->tx_key_pkts++;
  vq_sent_packet sp = {s->next_pn, now, (uint32_t)out, (uint8_t)p.eliciting,
                       (uint8_t)(p.eliciting || p.padded), 0, 0, (uint8_t)(c->pmtu_building != 0),
                       c->cur_first};
  if (c->cur_first == VQ_SF_NIL)
    sp.handle = VQ_SF_NIL;
  sp.handle |= (uint64_t)(c->tx_ecn & 3u) << VQ_HANDLE_ECN_SHIFT;
  vq_recovery_state rs;
  vq_conn_recovery_state(c, &rs);
  st = vq_recovery_on_packet_sent(&c->rec, (vq_pn_space)space, &sp, &rs);
  if (st != VQ_OK)
    return st; /* cannot happen: room was checked above */
  vq_recovery_paced(&c->rec, out, now);
  if (s->probes && p.eliciting)
    s->probes--;
  /* spec: rfc9000#13.4.2 — the ECT(0) packets of each space are counted for validation */
  vq_ecn_on_sent(&c->ecn, (unsigned)space, c->tx_ecn);
  vq_cx_trace(cx, "packet_sent", "space=%d%s pn=%llu size=%zu eliciting=%d", space,
              zrtt ? " 0rtt" : "", (unsigned long long)s->next_pn, out, p.eliciting);
  /* spec: rfc9000#12.3/1, rfc9000#12.3/2, rfc9000#17.2.3/2 — each packet sent takes the next packet
   * number of its space; next_pn is never reset (not even after a Retry) */
  s->next_pn++;
  c->stats.pkts_sent++;
  *len = out;
  *eliciting = p.eliciting;
  return VQ_OK;
}

vq_status vq_conn_build_datagram(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len)
{
  *len = 0;
  /* spec: rfc9000#10.2.2/1 — nothing is sent in the draining state */
  if (c->state == VQ_CONN_CLOSED || c->state == VQ_CONN_DRAINING)
    return VQ_OK;
  if (c->state == VQ_CONN_ESTABLISHED) {
    /* spec: rfc9000#14.3/1, rfc9000#14.2/3 — a PMTU probe (pmtu.c) goes alone in its datagram, of
     * the size tried: the only datagram allowed above the path's maximum datagram size; not
     * ECN-marked (its loss must not disturb ECN validation) */
    size_t psize = vq_conn_pmtu_probe_due(c, cx, cap);
    if (psize) {
      size_t n = 0;
      int el = 0;
      uint64_t pn = c->sp[VQ_SPACE_APP].next_pn;
      uint8_t ecn_keep = c->tx_ecn;
      c->tx_ecn = VQ_ECN_NOT_ECT;
      c->pmtu_building = 1;
      vq_status st = build_packet(c, cx, VQ_SPACE_APP, buf, psize, psize, 1, &n, &el);
      c->pmtu_building = 0;
      if (st != VQ_OK)
        return st;
      if (n) {
        vq_conn_pmtu_probe_sent(c, cx, pn, n);
        vq_recovery_state rs;
        vq_conn_recovery_state(c, &rs);
        vq_recovery_update_timer(&c->rec, &rs, cx->now);
        *len = n;
        return VQ_OK;
      }
      c->tx_ecn = ecn_keep;
    }
  }
  if (cap > c->max_udp_payload)
    cap = (size_t)c->max_udp_payload;
  /* RFC 8899 §4.3: after two PTOs in a row without an acknowledgment, packets go at BASE_PLPMTU
   * (1200 bytes): if the larger ones fall into a black hole, these get through and their
   * acknowledgment shows it (pmtu.c) */
  if (c->rec.pto_count >= 2 && cap > VQ_MIN_INITIAL_DATAGRAM)
    cap = VQ_MIN_INITIAL_DATAGRAM;
  /* spec: rfc9000#10.2.1/5, rfc9000#10.2.1/7 — in the closing state, what goes out in answer to the
   * peer's packets (every CONNECTION_CLOSE after the one that entered the state) is at most three
   * times what was received from it since, validated address or not */
  if (c->state == VQ_CONN_CLOSING && c->close_sends > 0) {
    uint64_t allow = 3 * c->close_bytes_recv;
    uint64_t left = allow > c->close_bytes_sent ? allow - c->close_bytes_sent : 0;
    if (left < cap)
      cap = (size_t)left;
  }
  /* spec: rfc9000#8.1/2, rfc9000#8/1, rfc9000#14.1/6 — before validating the client's address, a
   * server sends at most three times the bytes it received (also in the closing state) */
  if (c->is_server && !c->addr_validated) {
    uint64_t allow = 3 * c->bytes_recv_unvalidated;
    uint64_t left = allow > c->bytes_sent_unvalidated ? allow - c->bytes_sent_unvalidated : 0;
    if (left < cap)
      cap = (size_t)left;
    if (cap < VQ_MIN_INITIAL_DATAGRAM)
      return VQ_OK;
  }
  if (c->path_unvalidated) {
    /* spec: rfc9000#9.3/2, rfc9000#8.2.2/6 — on a new peer address not yet validated, at most three
     * times the bytes received from it */
    uint64_t allow = 3 * c->path_recv;
    uint64_t left = allow > c->path_sent ? allow - c->path_sent : 0;
    /* spec: rfc9000#8.2.1/1 — room is kept for the PATH_CHALLENGE sent again (vq_conn_path_resend):
     * data spending the whole allowance would leave a validation whose answer was lost unable to
     * go on (a peer with nothing to send does not raise it), ending in a fallback (§9.3.2) and a
     * second migration when the peer speaks again */
    if (!c->path_challenge_pending)
      left = left > VQ_PATH_CHALLENGE_ROOM ? left - VQ_PATH_CHALLENGE_ROOM : 0;
    if (left < cap)
      cap = (size_t)left;
    if (cap < 64)
      return VQ_OK;
  }
  int pending[VQ_SPACE_COUNT];
  for (int i = 0; i < VQ_SPACE_COUNT; i++)
    pending[i] = vq_conn_has_pending(c, i, cx->now);
  if (!pending[0] && !pending[1] && !pending[2])
    return VQ_OK;
  size_t pos = 0;
  int need_pad = 0;
  for (int i = 0; i < VQ_SPACE_COUNT; i++) {
    if (!pending[i])
      continue;
    int more = 0;
    for (int j = i + 1; j < VQ_SPACE_COUNT; j++)
      more |= pending[j];
    if (i == VQ_SPACE_INITIAL) {
      /* spec: rfc9000#14.1/1, rfc9000#8.1/4, rfc9001#9.3/1 — a client pads every datagram carrying an Initial
       * packet (the ClientHello among them) to 1200 bytes; spec: rfc9000#14.1/2 — a server pads
       * datagrams with ack-eliciting Initials */
      if (!c->is_server || crypto_pending(&c->sp[i]) || c->sp[i].probes)
        need_pad = 1;
    }
    size_t min_len = (need_pad && !more && pos < VQ_MIN_INITIAL_DATAGRAM)
                         ? VQ_MIN_INITIAL_DATAGRAM - pos
                         : 0;
    size_t n = 0;
    int el = 0;
    vq_status st = build_packet(c, cx, i, buf + pos, cap - pos, min_len, 0, &n, &el);
    if (st != VQ_OK)
      return st;
    if (c->state == VQ_CONN_CLOSED)
      return VQ_OK; /* packet numbers exhausted: nothing more leaves, this datagram included */
    pos += n;
    if (i == VQ_SPACE_HANDSHAKE && n > 0 && !c->is_server && !c->sent_handshake) {
      /* spec: rfc9001#4.9.1/1 — a client discards Initial keys when it first sends a Handshake
       * packet */
      c->sent_handshake = 1;
      vq_recovery_state rs;
      vq_conn_recovery_state(c, &rs);
      c->sp[VQ_SPACE_INITIAL].discarded = 1;
      rs.space_discarded[0] = 1;
      vq_recovery_discard_space(&c->rec, VQ_SPACE_INITIAL, &rs, cx->now,
                                &(vq_recovery_cb){vq_conn_on_packet_fate, c});
      vq_pp_key_discard(&c->sp[0].tx);
      vq_pp_key_discard(&c->sp[0].rx);
      vq_sendbuf_abandon(&c->sp[0].crypto_tx);
    }
  }
  if (need_pad && pos > 0 && pos < VQ_MIN_INITIAL_DATAGRAM) {
    /* a later space had nothing after all: add a PADDING-only packet in the highest space with
     * keys so the datagram reaches 1200 bytes */
    for (int i = VQ_SPACE_COUNT - 1; i >= 0; i--) {
      if (c->sp[i].discarded || !c->sp[i].tx.installed)
        continue;
      if (i == VQ_SPACE_APP && !c->hs_complete && c->is_server == 0)
        continue;
      size_t n = 0;
      int el = 0;
      vq_status st = build_packet(c, cx, i, buf + pos, cap - pos, VQ_MIN_INITIAL_DATAGRAM - pos, 1,
                                  &n, &el);
      if (st != VQ_OK)
        return st;
      if (c->state == VQ_CONN_CLOSED)
        return VQ_OK;
      pos += n;
      break;
    }
  }
  if (pos > 0) {
    vq_recovery_state rs;
    vq_conn_recovery_state(c, &rs);
    vq_recovery_update_timer(&c->rec, &rs, cx->now);
  }
  if (pos > 0 && c->state == VQ_CONN_CLOSING) {
    if (c->close_sends > 0)
      c->close_bytes_sent += pos;
    c->close_pending = 0;
    c->close_sends++;
    c->close_recv_since = 0;
  }
  *len = pos;
  return VQ_OK;
}

vq_status vq_conn_send(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len)
{
  uint8_t ecn;
  return vq_conn_send_ecn(c, cx, buf, cap, len, &ecn);
}

vq_status vq_conn_send_ecn(vq_conn *c, const vq_cx *cx_in, uint8_t *buf, size_t cap, size_t *len,
                           uint8_t *ecn)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  *ecn = VQ_ECN_NOT_ECT;
  if (st != VQ_OK)
    return st;
  *len = 0;
  if (cap < VQ_MIN_INITIAL_DATAGRAM)
    return VQ_ERR_BUFFER_TOO_SMALL;
  /* spec: rfc9000#13.4.2 — ECT(0) while the path is tested (ten packets or three PTOs) and once it
   * is validated; unmarked otherwise. Every packet of the datagram carries the same codepoint. */
  int before = (int)c->ecn.state;
  c->tx_ecn = vq_ecn_mark(&c->ecn, cx->now, vq_rtt_pto(&c->rec.rtt, 1));
  st = vq_conn_build_datagram(c, cx, buf, cap, len);
  if ((int)c->ecn.state != before)
    vq_cx_trace(cx, "ecn_state_updated", "new=%s failure=%d", vq_conn_ecn_state_name(c->ecn.state),
                (int)c->ecn.failure);
  if (*len)
    *ecn = c->tx_ecn;
  if (st != VQ_OK) {
    vq_cx_trace(cx, "internal_error", "packet building failed: %s (%d)", vq_status_reason(st), (int)st);
    vq_conn_error(c, cx, VQ_ERR_INTERNAL, 0, "packet building failed");
    return st;
  }
  if (*len) {
    c->stats.bytes_sent += *len;
    if (c->is_server && !c->addr_validated)
      c->bytes_sent_unvalidated += *len;
    if (c->path_unvalidated)
      c->path_sent += *len;
    /* spec: rfc9000#10.1 — the idle timer restarts when sending the first ack-eliciting packet
     * after receiving */
    if (!c->ack_eliciting_sent_since_recv && c->state < VQ_CONN_CLOSING) {
      c->ack_eliciting_sent_since_recv = 1;
      vq_time pto3 = 3 * vq_rtt_pto(&c->rec.rtt, 1);
      c->idle_deadline = cx->now + (c->idle_timeout > pto3 ? c->idle_timeout : pto3);
    }
  }
  return VQ_OK;
}

/* One probe datagram of kind (VQ_BUILD_*) in buf[0..cap): *len 0 when none was built. */
static vq_status build_probe(vq_conn *c, const vq_cx *cx, int kind, uint8_t *buf, size_t cap,
                             size_t *len)
{
  *len = 0;
  if (cap > c->max_udp_payload)
    cap = (size_t)c->max_udp_payload;
  int el = 0;
  c->pa_building = kind;
  c->tx_ecn = VQ_ECN_NOT_ECT;
  vq_status st = build_packet(c, cx, VQ_SPACE_APP, buf, cap, 0, 0, len, &el);
  c->pa_building = VQ_BUILD_NORMAL;
  if (st != VQ_OK || !*len)
    return st;
  c->stats.bytes_sent += *len;
  vq_recovery_state rs;
  vq_conn_recovery_state(c, &rs);
  vq_recovery_update_timer(&c->rec, &rs, cx->now);
  return VQ_OK;
}

vq_status vq_conn_send_path_from(vq_conn *c, const vq_cx *cx_in, uint8_t *buf, size_t cap, size_t *len,
                                 uint8_t *ecn, uint8_t *from, size_t *from_len, uint8_t *to,
                                 size_t *to_len)
{
  uint8_t ecn_d;
  if (!ecn)
    ecn = &ecn_d;
  *ecn = VQ_ECN_NOT_ECT; /* probes and their answers are not marked */
  *to_len = 0;
  *from_len = 0;
  /* the client's probe of the server's preferred address; a server's probe from it (spec:
   * rfc9000#9.6.2/3) */
  int pa = c->pa_state == VQ_PA_PROBING && c->pa_probe_pending &&
           (!c->is_server || c->spa_local_len > 0);
  /* a client's probe of a path; a server's PATH_CHALLENGE on the previous path (spec:
   * rfc9000#9.3.3/1) */
  int pp = c->pp_state == VQ_PROBE_PROBING && c->pp_pending;
  int pr = c->pr_pending && c->pr_cid_set;
  if ((pa || pp || pr) && c->state == VQ_CONN_ESTABLISHED && cap >= VQ_MIN_INITIAL_DATAGRAM) {
    vq_cx tcx_;
    const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
    vq_status st = vq_cx_checkpoint(cx);
    if (st != VQ_OK)
      return st;
    *len = 0;
    if (pa) {
      st = build_probe(c, cx, VQ_BUILD_PA, buf, cap, len);
      if (st != VQ_OK)
        return st;
      if (*len) {
        c->pa_probe_pending = 0;
        if (c->is_server) {
          memcpy(from, c->spa_local, c->spa_local_len);
          *from_len = c->spa_local_len;
          return VQ_OK;
        }
        memcpy(to, c->pa_addr, c->pa_addr_len);
        *to_len = c->pa_addr_len;
        return VQ_OK;
      }
    }
    if (pp) {
      st = build_probe(c, cx, VQ_BUILD_PROBE, buf, cap, len);
      if (st != VQ_OK)
        return st;
      if (*len) {
        c->pp_pending = 0;
        memcpy(from, c->pp_local, c->pp_local_len);
        *from_len = c->pp_local_len;
        memcpy(to, c->pp_remote, c->pp_remote_len);
        *to_len = c->pp_remote_len;
        return VQ_OK;
      }
    }
    if (pr) {
      /* spec: rfc9000#8.2.2/2 — the answer is not delayed (it goes before the current path's
       * packets); spec: rfc9000#8.2.2/6 — within three times what came from that address */
      size_t room = c->pr_budget < cap ? (size_t)c->pr_budget : cap;
      c->pr_pending = 0;
      if (room >= 64) {
        st = build_probe(c, cx, VQ_BUILD_PROBE_RESPONSE, buf, room, len);
        if (st != VQ_OK)
          return st;
      }
      if (*len) {
        c->pr_budget -= *len;
        /* spec: rfc9000#8.2.2/7 — answered once: not again if the connection moves there */
        c->have_probe = 0;
        c->stats.probes_answered++;
        memcpy(to, c->pr_addr, c->pr_addr_len);
        *to_len = c->pr_addr_len;
        if (c->pr_from_pa || c->pr_via_pa) {
          memcpy(from, c->spa_local, c->spa_local_len);
          *from_len = c->spa_local_len;
        }
        return VQ_OK;
      }
    }
  }
  vq_status st = vq_conn_send_ecn(c, cx_in, buf, cap, len, ecn);
  /* spec: rfc9000#9.6.2/2 — a server's packets leave from its preferred address once it moved */
  if (st == VQ_OK && *len && c->spa_moved) {
    memcpy(from, c->spa_local, c->spa_local_len);
    *from_len = c->spa_local_len;
  }
  return st;
}

vq_status vq_conn_send_path(vq_conn *c, const vq_cx *cx, uint8_t *buf, size_t cap, size_t *len,
                            uint8_t *to, size_t *to_len)
{
  uint8_t from[VQ_ADDR_MAX];
  size_t from_len = 0;
  return vq_conn_send_path_from(c, cx, buf, cap, len, NULL, from, &from_len, to, to_len);
}
