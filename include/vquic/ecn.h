/* vquic — ECN for one network path (RFC 9000 §13.4, Appendix A.4; RFC 9002 §7.1, Appendix B.7).
 *
 * Sending: the path starts TESTING: the first VQ_ECN_TESTING_PACKETS packets, or those sent within
 * three PTOs, carry ECT(0); then UNKNOWN (unmarked) until an ACK validates the counts, which makes it
 * CAPABLE (marked again); any validation failure makes it FAILED (never marked; §13.4.2.2). Every ACK
 * is validated against what was sent (§13.4.2.1): counts must be present once ECT(0) packets are
 * newly acknowledged (a peer or path that does not report, or bleaches, the field), no count may
 * decrease, the ECT(0) + CE increase must cover the newly acknowledged ECT(0) packets, ECT(1) is
 * never expected (we send ECT(0) only), and the ECT(0) count may not exceed the ECT(0) packets sent.
 * An ACK that does not raise the largest acknowledged packet number is not validated (it may be
 * reordered) and changes nothing. The validated CE increase is what the congestion controller reacts
 * to (RFC 9002 §7.1, B.7).
 *
 * Receiving: the ECN codepoint of every packet received is counted per packet number space for the
 * ACK_ECN frames we send (§13.4.1), whether or not we mark our own packets.
 * Sans-I/O, no allocation; time comes from the caller. */
#ifndef VQUIC_ECN_H
#define VQUIC_ECN_H

#include <stdint.h>

#include "vquic/rt.h"

/* IP ECN codepoints (RFC 3168), as in include/vquic/posix.h. */
#ifndef VQ_ECN_NOT_ECT
#define VQ_ECN_NOT_ECT 0u
#define VQ_ECN_ECT1 1u
#define VQ_ECN_ECT0 2u
#define VQ_ECN_CE 3u
#endif

/* spec: rfc9000#13.4.2 — ECT(0) on the first ten packets or for three PTOs. */
#define VQ_ECN_TESTING_PACKETS 10u
#define VQ_ECN_TESTING_PTOS 3u
#define VQ_ECN_SPACES 3u /* Initial, Handshake, Application Data (vq_pn_space) */

typedef enum vq_ecn_state {
  VQ_ECN_TESTING = 0,
  VQ_ECN_UNKNOWN = 1,
  VQ_ECN_CAPABLE = 2,
  VQ_ECN_FAILED = 3,
} vq_ecn_state;

/* Why validation failed (for tracing and tests). */
typedef enum vq_ecn_failure {
  VQ_ECN_FAIL_NONE = 0,
  VQ_ECN_FAIL_DISABLED,     /* ECN turned off by configuration */
  VQ_ECN_FAIL_NO_COUNTS,    /* ECT(0) packets newly acknowledged by an ACK without ECN counts */
  VQ_ECN_FAIL_DECREASED,    /* a count went down */
  VQ_ECN_FAIL_BLEACHED,     /* ECT(0) + CE grew less than the ECT(0) packets newly acknowledged */
  VQ_ECN_FAIL_ECT1,         /* ECT(1) reported, never sent */
  VQ_ECN_FAIL_TOO_MANY,     /* more ECT(0) reported than sent */
  VQ_ECN_FAIL_ALL_LOST,     /* every packet marked while testing was lost */
} vq_ecn_failure;

typedef struct vq_ecn_counts {
  uint64_t ect0, ect1, ce;
} vq_ecn_counts;

typedef struct vq_ecn {
  vq_ecn_state state;
  vq_ecn_failure failure;
  vq_time testing_start;
  uint64_t testing_marked;             /* ECT(0) packets sent while testing */
  uint64_t marked_acked;               /* ECT(0) packets acknowledged since testing began */
  uint64_t marked_lost;                /* ECT(0) packets declared lost since testing began */
  uint64_t sent_ect0[VQ_ECN_SPACES];   /* ECT(0) packets sent, per space */
  vq_ecn_counts peer[VQ_ECN_SPACES];   /* the counts of the last validated ACK_ECN, per space */
  uint64_t largest_acked[VQ_ECN_SPACES];
  uint8_t has_largest[VQ_ECN_SPACES];
  uint64_t ce_total;                   /* validated CE increases, all spaces */
  vq_ecn_counts rx[VQ_ECN_SPACES];     /* codepoints of the packets we received, per space */
  uint8_t rx_seen[VQ_ECN_SPACES];      /* any ECN codepoint received in that space */
} vq_ecn;

/* A new path: TESTING from now, or FAILED (never marked) when enabled is 0. */
void vq_ecn_init(vq_ecn *e, int enabled, vq_time now);
/* Starts validation again (RFC 9000 §13.4.2.2/2: a failed path MAY be revalidated; A.4: the current
 * counts are the baseline). */
void vq_ecn_restart(vq_ecn *e, vq_time now);
/* The codepoint for the next packet on this path: VQ_ECN_ECT0 while TESTING or CAPABLE, else
 * VQ_ECN_NOT_ECT. Ends TESTING once three PTOs (pto: the current PTO period) have passed. */
uint8_t vq_ecn_mark(vq_ecn *e, vq_time now, vq_time pto);
/* A packet was sent in space with codepoint mark (what vq_ecn_mark said). Ends TESTING after the
 * tenth marked packet. */
void vq_ecn_on_sent(vq_ecn *e, unsigned space, uint8_t mark);
/* An ACK frame arrived in space with largest acknowledged pn largest; has_counts: it was an ACK_ECN
 * frame (counts then holds its ECT(0), ECT(1), ECN-CE counts); newly_acked_ect0: how many packets it
 * newly acknowledges that were sent with ECT(0). Returns the validated increase of the CE count (0 when
 * the ACK is not validated or validation fails): the congestion controller's signal (RFC 9002 §7.1). */
uint64_t vq_ecn_on_ack(vq_ecn *e, unsigned space, uint64_t largest, int has_counts,
                       const vq_ecn_counts *counts, uint64_t newly_acked_ect0);
/* n packets sent with ECT(0) were declared lost. If TESTING has ended with none of its marked packets
 * acknowledged and all of them lost, the path is FAILED (§13.4.2, A.4). */
void vq_ecn_on_lost(vq_ecn *e, uint64_t n);
/* A packet of space arrived with IP codepoint ecn (only its two low bits are used). */
void vq_ecn_on_received(vq_ecn *e, unsigned space, uint8_t ecn);
/* The counts for the ACK_ECN frame of space; returns 1 when the frame should be ACK_ECN (any ECN
 * codepoint seen in that space), 0 for a plain ACK. */
int vq_ecn_rx_counts(const vq_ecn *e, unsigned space, vq_ecn_counts *out);

#endif
