/* vquic — the deterministic lab runtime (DESIGN.md: drivers; issue "Transport ... lab runtime").
 *
 * A virtual clock, a seeded RNG and simulated links between nodes. A node is anything sans-I/O that
 * takes datagrams, sends datagrams and has a next timeout (a vquic endpoint, or a test double). The lab
 * runs the event loop: it delivers each datagram when its link says, fires each node's timer when it is
 * due, and records a trace of every packet event. Everything that varies comes from the one seed, so the
 * same seed reproduces the same run byte for byte (vq_lab_trace_hash is the check).
 *
 * Links are one-way (a -> b) and model, in this order: blackhole windows, the sender-side queue with a
 * byte limit and a serialisation rate, the path MTU, random loss, bursty loss (a Gilbert-Elliott two-state chain),
 * corruption (one random bit flipped), duplication, and delay with jitter and reordering (a reordered
 * datagram gets extra delay so later ones overtake it). Memory comes from a vq_mem budget. */
#ifndef VQUIC_LAB_H
#define VQUIC_LAB_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/rt.h"

#define VQ_LAB_MAX_NODES 16
#define VQ_LAB_MAX_DATAGRAM 65527u

typedef struct vq_lab vq_lab;

typedef struct vq_lab_node_ops {
  /* A datagram arrived from node `from`. The bytes are valid during the call only. */
  void (*on_datagram)(void *ud, vq_lab *lab, const vq_cx *cx, int from, const uint8_t *data,
                      size_t len);
  /* When the node's timer next fires, VQ_TIME_NEVER for none. Asked after every event. */
  vq_time (*next_timeout)(void *ud);
  /* The timer fired (cx->now >= the time next_timeout gave). */
  void (*on_timeout)(void *ud, vq_lab *lab, const vq_cx *cx);
} vq_lab_node_ops;

typedef struct vq_lab_link {
  vq_time delay;            /* one-way propagation delay */
  vq_time jitter;           /* uniform extra delay in [0, jitter] (does not reorder by itself) */
  uint64_t rate_bps;        /* serialisation rate, 0 = unlimited */
  size_t queue_bytes;       /* bytes not yet serialised (incl. the one on the wire) before tail
                             * drop; 0 = unlimited */
  uint32_t loss_ppm;        /* random loss, parts per million */
  /* Bursty loss (Gilbert-Elliott): per datagram, good -> bad with ge_enter_ppm, bad -> good with
   * ge_leave_ppm; in the bad state datagrams are lost with ge_bad_loss_ppm. */
  uint32_t ge_enter_ppm, ge_leave_ppm, ge_bad_loss_ppm;
  uint32_t corrupt_ppm;     /* one random bit flipped */
  uint32_t duplicate_ppm;   /* delivered twice (the copy after an extra random delay up to `delay`) */
  uint32_t reorder_ppm;     /* held back by reorder_delay so later datagrams overtake it */
  vq_time reorder_delay;
  vq_time blackhole_from, blackhole_until; /* everything sent in [from, until) is dropped */
  /* Path MTU, as UDP payload bytes: a datagram above it is dropped (as a router drops an IP packet
   * with DF set; the sender hears nothing). 0 = unlimited. From mtu_change_at on (when mtu_after is
   * set) the limit is mtu_after: a path whose MTU shrinks mid-transfer (a PMTU black hole). */
  size_t mtu;
  size_t mtu_after;
  vq_time mtu_change_at;
  /* ECN (RFC 3168 codepoints, the two low bits; see vq_lab_send_ecn), applied to datagrams that are
   * delivered: bleaching clears every codepoint to not-ECT (a path that erases the field); ce_ppm
   * turns ECT(0)/ECT(1) into CE (a congested AQM router); ect1_ppm turns ECT(0) into ECT(1) (a
   * mangling middlebox). */
  int ecn_bleach;
  uint32_t ce_ppm;
  uint32_t ect1_ppm;
} vq_lab_link;

typedef enum vq_lab_event {
  VQ_LAB_SENT = 0,
  VQ_LAB_DELIVERED,
  VQ_LAB_DROP_LOSS,
  VQ_LAB_DROP_BURST,
  VQ_LAB_DROP_QUEUE,
  VQ_LAB_DROP_BLACKHOLE,
  VQ_LAB_DROP_NO_LINK,
  VQ_LAB_CORRUPTED,
  VQ_LAB_DUPLICATED,
  VQ_LAB_REORDERED,
  VQ_LAB_DROP_MTU,
  VQ_LAB_EVENT_COUNT
} vq_lab_event;

typedef struct vq_lab_stats {
  uint64_t count[VQ_LAB_EVENT_COUNT];
  uint64_t bytes_sent, bytes_delivered;
  uint64_t ecn_delivered[4];  /* datagrams delivered with each ECN codepoint (after the link) */
  uint64_t ce_marked;         /* datagrams the link marked CE */
} vq_lab_stats;

/* Called for every packet event, if set (for printing a trace). */
typedef void (*vq_lab_trace_fn)(void *ud, vq_time now, vq_lab_event ev, int from, int to,
                                const uint8_t *data, size_t len);

/* Creates a lab whose memory (event queue, datagram copies) is charged to mem. NULL on failure. */
vq_lab *vq_lab_new(vq_mem *mem, uint64_t seed);
void vq_lab_free(vq_lab *lab);

/* Adds a node; returns its index (0, 1, ...) or -1 when VQ_LAB_MAX_NODES are there. */
int vq_lab_add_node(vq_lab *lab, const vq_lab_node_ops *ops, void *ud);
/* Sets the one-way link from -> to (a zeroed link is a perfect, instant link). */
vq_status vq_lab_set_link(vq_lab *lab, int from, int to, const vq_lab_link *link);
void vq_lab_set_trace(vq_lab *lab, vq_lab_trace_fn fn, void *ud);

/* A node sends a datagram (called from its callbacks, or by the test). The bytes are copied. */
vq_status vq_lab_send(vq_lab *lab, int from, int to, const uint8_t *data, size_t len);
/* The same with the IP ECN codepoint the sender puts on the datagram (0..3; vq_lab_send: not-ECT). */
vq_status vq_lab_send_ecn(vq_lab *lab, int from, int to, const uint8_t *data, size_t len,
                          uint8_t ecn);
/* During on_datagram: the ECN codepoint the datagram arrived with (after the link's changes). */
uint8_t vq_lab_delivered_ecn(const vq_lab *lab);

/* Addresses, for NAT rebinding and migration scenarios. Every node has one (by default one byte: its
 * index). vq_lab_set_addr gives node a new address from time `at` on (a NAT rebinding, or the node
 * moving): datagrams it sends from then carry it, those already in flight keep the old one.
 * vq_lab_src_addr, inside on_datagram, gives the source address of the datagram being delivered
 * (its length; 0 outside a delivery). Neither changes the links, which stay by node. */
#define VQ_LAB_ADDR_MAX 16u
vq_status vq_lab_set_addr(vq_lab *lab, int node, vq_time at, const uint8_t *addr, size_t len);
size_t vq_lab_src_addr(const vq_lab *lab, const uint8_t **addr);

/* Runs events in time order until the clock would pass `until`, nothing is left to do, or `stop`
 * (checked after every event) returns non-zero. Returns the number of events run. */
uint64_t vq_lab_run(vq_lab *lab, vq_time until, int (*stop)(void *ud), void *stop_ud);

vq_time vq_lab_now(const vq_lab *lab);
/* The nodes' RNG (for nodes that need randomness tied to the seed): a stream of its own, apart from
 * the one the links' faults draw from, so a node drawing more numbers does not change the faults. */
vq_rng *vq_lab_rng(vq_lab *lab);
/* A cx for work done outside callbacks (now = the lab clock, the lab's RNG). */
vq_cx vq_lab_cx(vq_lab *lab);
const vq_lab_stats *vq_lab_stats_of(const vq_lab *lab, int from, int to);
/* A running FNV-1a hash over every trace event (time, kind, endpoints, bytes): equal seeds and equal
 * nodes give equal hashes. */
uint64_t vq_lab_trace_hash(const vq_lab *lab);
const char *vq_lab_event_name(vq_lab_event ev);

#endif
