/* vquic — loss detection, RTT estimation, congestion control and pacing (RFC 9002).
 *
 * The reference is RFC 9002 Appendix A (loss recovery pseudocode) and Appendix B (congestion control
 * pseudocode, NewReno); CUBIC follows RFC 9438. One vq_recovery per connection, three packet number
 * spaces. Sans-I/O: time comes from the caller; what was in a packet is the connection's business —
 * each sent packet carries an opaque handle that recovery hands back when the packet is acknowledged,
 * declared lost, or discarded, so the connection can discharge or re-queue its frames (DESIGN.md
 * principle 4).
 *
 * Memory is bounded (principle 5): the sent-packet table of each space holds at most
 * max_sent_per_space records, allocated from the connection's vq_mem as needed (starting small, so an
 * idle connection holds little); a connection that would
 * exceed it must stop sending ack-eliciting packets (vq_recovery_on_packet_sent says so). */
#ifndef VQUIC_RECOVERY_H
#define VQUIC_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"
#include "vquic/frame.h"
#include "vquic/rt.h"

typedef enum vq_pn_space {
  VQ_SPACE_INITIAL = 0,
  VQ_SPACE_HANDSHAKE = 1,
  VQ_SPACE_APP = 2,
} vq_pn_space;
#define VQ_SPACE_COUNT 3

/* RFC 9002 §6.1.1, §6.1.2, §6.2, §7.2, §7.6, Appendix A.2 and B.2 constants. */
#define VQ_K_PACKET_THRESHOLD 3u
#define VQ_K_TIME_THRESHOLD_NUM 9u   /* kTimeThreshold = 9/8 */
#define VQ_K_TIME_THRESHOLD_DEN 8u
#define VQ_K_GRANULARITY VQ_MS(1)
#define VQ_K_INITIAL_RTT VQ_MS(333)
#define VQ_K_INITIAL_WINDOW_PACKETS 10u /* min(10 * max_datagram_size, max(14720, 2 * mds)) */
#define VQ_K_MINIMUM_WINDOW_PACKETS 2u
#define VQ_K_LOSS_REDUCTION_NUM 1u      /* kLossReductionFactor = 0.5 */
#define VQ_K_LOSS_REDUCTION_DEN 2u
#define VQ_K_PERSISTENT_CONGESTION_THRESHOLD 3u

/* ---- RTT (RFC 9002 §5) ---------------------------------------------------------------------- */

typedef struct vq_rtt {
  vq_time latest;
  vq_time smoothed;
  vq_time rttvar;
  vq_time min;
  vq_time first_sample_time; /* when the first sample was taken (persistent congestion, §7.6.2) */
  int has_sample;
  vq_time max_ack_delay;     /* the peer's max_ack_delay transport parameter (§5.3) */
} vq_rtt;

void vq_rtt_init(vq_rtt *r, vq_time initial_rtt, vq_time max_ack_delay);
/* One RTT sample (§5.1 - §5.3): latest = now - time the largest newly acked packet was sent;
 * ack_delay the peer's reported delay (already scaled by ack_delay_exponent). After the handshake is
 * confirmed, ack_delay is capped at max_ack_delay; it is never subtracted below min_rtt. */
void vq_rtt_sample(vq_rtt *r, vq_time now, vq_time latest, vq_time ack_delay, int handshake_confirmed);
/* PTO duration without backoff (§6.2.1): smoothed + max(4 * rttvar, kGranularity) (+ max_ack_delay
 * when include_max_ack_delay, i.e. for the Application Data space). */
vq_time vq_rtt_pto(const vq_rtt *r, int include_max_ack_delay);

/* ---- Congestion control ---------------------------------------------------------------------- */

typedef enum vq_cc_algo { VQ_CC_NEWRENO = 0, VQ_CC_CUBIC = 1 } vq_cc_algo;

typedef struct vq_cc {
  vq_cc_algo algo;
  uint64_t max_datagram_size;
  uint64_t cwnd;
  uint64_t ssthresh;              /* UINT64_MAX: infinite */
  uint64_t bytes_in_flight;
  vq_time recovery_start;         /* congestion_recovery_start_time; VQ_TIME_NEVER: none */
  int in_recovery;
  /* CUBIC state (RFC 9438 §4) */
  uint64_t w_max;                 /* bytes */
  vq_time epoch_start;            /* VQ_TIME_NEVER: not in congestion avoidance yet */
  uint64_t k_ms;                  /* K in milliseconds */
  uint64_t w_est;                 /* Reno-friendly estimate, bytes */
  uint64_t cubic_acked;           /* bytes acked since the last window increase (Reno/Est) */
  uint64_t cwnd_prior;            /* CUBIC: cwnd when ssthresh was last set (RFC 9438 §4.3 alpha) */
  /* HyStart++ (RFC 9406) in the initial slow start (while ssthresh is infinite): rounds are delimited
   * by packet numbers of the application space, each round keeps its minimum RTT */
  int hs_round_started;           /* hs_window_end is valid */
  uint64_t hs_window_end;         /* the round ends when a packet numbered >= it is acknowledged */
  vq_time hs_last_round_min_rtt;  /* VQ_TIME_NEVER: none */
  vq_time hs_current_round_min_rtt;
  uint32_t hs_rtt_sample_count;   /* samples in the current round */
  vq_time hs_css_baseline_min_rtt;/* VQ_TIME_NEVER: not in Conservative Slow Start */
  uint32_t hs_css_rounds;         /* rounds ended in CSS */
  uint64_t hs_css_acked;          /* bytes acked in CSS not yet turned into window (1/4 each) */
  uint64_t hs_css_entries;        /* statistics: times CSS was entered */
  /* counters for statistics */
  uint64_t congestion_events;
  uint64_t persistent_congestion_events;
} vq_cc;

/* HyStart++ constants (RFC 9406 §4.3). */
#define VQ_HS_MIN_RTT_THRESH VQ_MS(4)
#define VQ_HS_MAX_RTT_THRESH VQ_MS(16)
#define VQ_HS_MIN_RTT_DIVISOR 8u
#define VQ_HS_N_RTT_SAMPLE 8u
#define VQ_HS_CSS_GROWTH_DIVISOR 4u
#define VQ_HS_CSS_ROUNDS 5u

void vq_cc_init(vq_cc *cc, vq_cc_algo algo, uint64_t max_datagram_size);
/* Bytes that may be sent now without exceeding the window (0 when blocked). */
uint64_t vq_cc_available(const vq_cc *cc);
/* The steps of RFC 9002 Appendix B, called by vq_recovery (and by tests driving a vq_cc alone). */
uint64_t vq_cc_min_window(const vq_cc *cc);                      /* kMinimumWindow */
void vq_cc_on_sent(vq_cc *cc, uint64_t bytes);                   /* B.4, in-flight packets only */
/* B.5 for one acked in-flight packet: leaves bytes_in_flight; grows the window unless app_limited
 * (§7.8) or the packet was sent in the current recovery period. srtt: CUBIC's target uses t + RTT. */
void vq_cc_on_acked(vq_cc *cc, uint64_t bytes, vq_time time_sent, vq_time now, vq_time srtt,
                    int app_limited);
/* A lost (B.8) or discarded (B.9) in-flight packet leaves bytes_in_flight; no congestion signal. */
void vq_cc_on_removed(vq_cc *cc, uint64_t bytes);
/* B.6: a congestion event for a packet sent at time_sent (loss or ECN-CE), once per recovery period. */
void vq_cc_on_congestion_event(vq_cc *cc, vq_time time_sent, vq_time now);
/* §7.6.2: persistent congestion: the window collapses to kMinimumWindow, recovery ends. */
void vq_cc_on_persistent_congestion(vq_cc *cc);
/* HyStart++ (RFC 9406), for each ACK frame of the application space, before its packets reach
 * vq_cc_on_acked: largest_acked is the largest packet number it acknowledges, next_pn the number the
 * next packet sent will get (where the round that starts now ends), rtt the RTT sample it gave
 * (VQ_TIME_NEVER: none). Only the initial slow start is affected (ssthresh still infinite): an RTT
 * increase moves it to Conservative Slow Start (the window grows by a quarter of the bytes acked),
 * an RTT decrease back to slow start, and CSS ends in congestion avoidance after
 * VQ_HS_CSS_ROUNDS rounds (ssthresh = cwnd). */
void vq_cc_on_ack_round(vq_cc *cc, uint64_t largest_acked, uint64_t next_pn, vq_time rtt);
/* 1 while in Conservative Slow Start. */
int vq_cc_in_css(const vq_cc *cc);
/* CUBIC: W_cubic(t) in bytes, t the time elapsed since epoch_start (RFC 9438 §4.2, Figure 1). */
uint64_t vq_cc_cubic_window(const vq_cc *cc, vq_time t);

/* ---- Pacing (RFC 9002 §7.7) ------------------------------------------------------------------ */

typedef struct vq_pacer {
  vq_time next_send;     /* the earliest time the next packet may leave */
  uint64_t tokens;       /* bytes that may leave in the current burst */
  uint64_t burst;        /* burst size in bytes (a batch of datagrams, for GSO) */
  vq_time last;          /* when tokens was last brought up to date (VQ_TIME_NEVER: never) */
} vq_pacer;

/* ---- Sent packets and loss detection (RFC 9002 §6, Appendix A) -------------------------------- */

typedef struct vq_sent_packet {
  uint64_t pn;
  vq_time time_sent;
  uint32_t size;           /* bytes on the wire, counted in bytes_in_flight when in_flight */
  uint8_t ack_eliciting;
  uint8_t in_flight;
  uint8_t declared_lost;   /* internal: lost but kept a while to notice spurious losses */
  uint8_t reserved;        /* internal: the state of the table slot (live, acked, lost, skipped pn) */
  uint8_t pmtu_probe;      /* a DPLPMTUD probe (RFC 9000 §14.4): its loss is no congestion signal
                            * and no part of a persistent congestion period */
  uint64_t handle;         /* the connection's record of what the packet carried (opaque) */
} vq_sent_packet;

typedef struct vq_recovery_space {
  vq_sent_packet *ring;    /* max_sent records, oldest first from head */
  uint32_t head, count, cap;
  uint32_t max;            /* the bound cap may grow to (max_sent_per_space): tables start small */
  uint64_t largest_acked;  /* valid when has_largest_acked */
  int has_largest_acked;
  vq_time loss_time;                      /* VQ_TIME_NEVER: none */
  vq_time time_of_last_ack_eliciting;     /* VQ_TIME_NEVER: none in flight */
  uint64_t ack_eliciting_in_flight;
  uint64_t ecn_ce_reported;               /* the largest ECN-CE count the peer reported (§7.1) */
  uint64_t largest_sent;                  /* valid when has_sent: ACKs above it are rejected */
  int has_sent;
  uint64_t path_first_pn;                 /* packets below it went on an earlier path (§9.4) */
} vq_recovery_space;

typedef struct vq_recovery_config {
  vq_cc_algo cc;
  uint64_t max_datagram_size;   /* 1200 until PMTU is known */
  vq_time initial_rtt;          /* kInitialRtt unless remembered (§6.2.2) */
  uint32_t max_sent_per_space;  /* bound on tracked packets per space */
  int pacing;                   /* 0 disables pacing (the lab may want it off) */
} vq_recovery_config;

/* What happened to a packet, told back to the connection through vq_recovery_cb. */
typedef enum vq_pkt_fate { VQ_PKT_ACKED = 0, VQ_PKT_LOST = 1, VQ_PKT_DISCARDED = 2 } vq_pkt_fate;
typedef struct vq_recovery_cb {
  void (*on_packet)(void *ud, vq_pn_space space, const vq_sent_packet *p, vq_pkt_fate fate);
  void *ud;
} vq_recovery_cb;

typedef struct vq_recovery {
  vq_mem *mem;
  vq_rtt rtt;
  vq_cc cc;
  vq_pacer pacer;
  vq_recovery_space space[VQ_SPACE_COUNT];
  uint32_t pto_count;
  vq_time loss_detection_timer;           /* VQ_TIME_NEVER: unset */
  int pacing;
  /* statistics */
  uint64_t packets_sent, packets_lost, packets_acked, bytes_lost, spurious_losses, pto_fired;
} vq_recovery;

/* The connection's view of the handshake that loss detection needs (§6.2.2.1, A.6, A.8). */
typedef struct vq_recovery_state {
  int handshake_confirmed;              /* RFC 9001 §4.1.2 */
  int peer_completed_address_validation;/* server: always 1; client: Handshake ACKed or 1-RTT recv */
  int has_handshake_keys;
  int amplification_limited;            /* server: blocked by the 3x limit (no PTO arm, A.6) */
  int space_discarded[VQ_SPACE_COUNT];
  int app_limited;                      /* §7.8: the window is not being used: do not grow it */
} vq_recovery_state;

/* max_sent_per_space >= 2. r->rtt.max_ack_delay starts at 25 ms (RFC 9000 §18.2's default); the
 * connection sets it from the peer's transport parameters. r->pacer.burst starts at 10 datagrams. */
vq_status vq_recovery_init(vq_recovery *r, vq_mem *mem, const vq_recovery_config *cfg);
/* 1 when a packet sent now in space can be recorded (the table has room or may still grow): the
 * connection sends nothing in a space without room (every sent packet must be recorded). */
int vq_recovery_has_room(const vq_recovery *r, vq_pn_space space);
/* Frees the tables. Packets still tracked are not reported (call discard_space first if needed). */
void vq_recovery_free(vq_recovery *r);

/* Every sent packet is recorded, ACK-only ones too (an ACK of an unrecorded pn at or above the oldest
 * tracked one is an ACK of a pn never sent). The callback must not call back into vq_recovery. */
/* Records a sent packet (A.5 OnPacketSent). VQ_ERR_BUDGET when the space's table is full (the caller
 * must not send it); pn must exceed every pn already recorded in the space (VQ_ERR_INVALID_ARGUMENT). */
vq_status vq_recovery_on_packet_sent(vq_recovery *r, vq_pn_space space, const vq_sent_packet *p,
                                     const vq_recovery_state *st);

/* Processes an ACK frame received in space (A.7 OnAckReceived, §7.1 ECN). ack_delay is in time
 * units (decoded with the peer's ack_delay_exponent; 0 for Initial/Handshake, §13.2.5 of RFC 9000).
 * Newly acknowledged packets and packets then declared lost are reported through cb (acked first,
 * in increasing pn, then lost). VQ_ERR_PROTOCOL_VIOLATION (nothing changed) if the ACK covers a packet
 * number never sent in that space (RFC 9000 §13.1); packets acked twice are ignored. *rtt_updated is
 * 1 when a sample was taken. ECN (§7.1, B.7): ack->ecn_ce is the ECN-CE count of an ACK_ECN frame (0 in
 * a parsed plain ACK, which therefore never signals congestion). */
vq_status vq_recovery_on_ack(vq_recovery *r, vq_pn_space space, const vq_frame_ack *ack,
                             vq_time ack_delay, const vq_recovery_state *st, vq_time now,
                             const vq_recovery_cb *cb, int *rtt_updated);

/* The path's maximum datagram size changed (DPLPMTUD, RFC 9000 §14.3): the controller's
 * max_datagram_size follows; the window in bytes stays (RFC 9002 §7.2), raised to the new minimum
 * window if below it; the pacer's burst is ten datagrams of the new size. */
void vq_recovery_set_max_datagram_size(vq_recovery *r, uint64_t max_datagram_size);

/* Re-arms the loss detection timer (A.8 SetLossDetectionTimer) after st changed: the handshake was
 * confirmed, Handshake keys arrived, the peer completed address validation, or the server was
 * unblocked by a datagram (A.6 OnDatagramReceived: then call vq_recovery_on_timeout if the new
 * deadline is already past). */
void vq_recovery_update_timer(vq_recovery *r, const vq_recovery_state *st, vq_time now);
/* The time the loss detection timer fires (A.8 SetLossDetectionTimer), VQ_TIME_NEVER when unset. */
vq_time vq_recovery_timer(const vq_recovery *r);

/* Fires the loss detection timer if now >= its deadline (A.9 OnLossDetectionTimeout). Lost packets are
 * reported through cb. *probe_space and *probes: when a PTO fired, send that many (1 or 2) ack-eliciting
 * probe packets in that space (the connection retransmits data or sends PING); *probes = 0 otherwise.
 * Re-arms the timer. */
void vq_recovery_on_timeout(vq_recovery *r, const vq_recovery_state *st, vq_time now,
                            const vq_recovery_cb *cb, vq_pn_space *probe_space, uint32_t *probes);

/* Discards a space's keys (§6.4, A.10): its packets leave bytes_in_flight without a congestion
 * signal and are reported as VQ_PKT_DISCARDED; its timers reset; pto_count resets. */
void vq_recovery_discard_space(vq_recovery *r, vq_pn_space space, const vq_recovery_state *st,
                               vq_time now, const vq_recovery_cb *cb);

/* Congestion window room and pacing: the bytes the connection may send at now; when 0 and the cause is
 * pacing, *next is when to try again (VQ_TIME_NEVER when blocked by the window: wait for an ACK). */
uint64_t vq_recovery_can_send(const vq_recovery *r, vq_time now, vq_time *next);
/* Tells the pacer a packet of size bytes left at now (call with every sent packet, in flight or not). */
void vq_recovery_paced(vq_recovery *r, uint64_t size, vq_time now);

/* The largest packet number acked in a space (0 and *ok = 0 if none): pn encoding needs it. */
uint64_t vq_recovery_largest_acked(const vq_recovery *r, vq_pn_space space, int *ok);
/* For a PTO probe that resends what is still in flight (RFC 9002 §6.2.4): the oldest ack-eliciting
 * packet of a space that is neither acknowledged nor declared lost, with a packet number above
 * `after` (any when !has_after). Copies its record to *out and returns 1; 0 when there is none. */
int vq_recovery_oldest_in_flight(const vq_recovery *r, vq_pn_space space, uint64_t after,
                                 int has_after, vq_sent_packet *out);
/* Bytes in flight and the congestion window, for statistics and tests. */
uint64_t vq_recovery_bytes_in_flight(const vq_recovery *r);

/* Resets congestion control and RTT for a new path (RFC 9000 §9.4), keeping packets tracked. */
void vq_recovery_reset_path(vq_recovery *r, uint64_t max_datagram_size);

#endif
