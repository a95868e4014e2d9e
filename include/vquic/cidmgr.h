/* vquic — connection ID management (RFC 9000 §5.1, §19.15, §19.16, §10.3), sans-I/O, in
 * caller-provided bounded storage (DESIGN.md principle 5). The bookkeeping (src/transport/cidmgr.c)
 * is proved with WP + Eva (proofs/modules/cidmgr.mk); issuing fresh random CIDs
 * (src/transport/cidmgr_mint.c, vq_cidmgr_local_replenish) is a thin unproved wrapper over it.
 *
 * Two tables:
 *  - peer CIDs: the connection IDs the peer issued, which we put in the Destination Connection ID of
 *    the packets we send. Sequence 0 comes from the handshake, the others from NEW_CONNECTION_ID.
 *    Each is FREE, UNUSED (available) or IN_USE (by one path). Retirements owed to the peer wait in
 *    a bounded RETIRE_CONNECTION_ID queue until their frame is acknowledged.
 *  - local CIDs: the connection IDs we issued, which the peer sends to and the endpoint routes on.
 *
 * No function allocates, draws randomness or keeps global state. Every function that fails leaves
 * the manager unchanged (proved: vq_cidmgr_ok holds after every call, see cidmgr_acsl.h). */
#ifndef VQUIC_CIDMGR_H
#define VQUIC_CIDMGR_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/cid.h"
#include "vquic/error.h"
#include "vquic/frame.h"
#include "vquic/rt.h"

#define VQ_CIDMGR_FREE 0u
#define VQ_CIDMGR_UNUSED 1u /* peer: available, not used by any path; local: issued and active */
#define VQ_CIDMGR_IN_USE 2u /* peer only: the Destination CID of a path */

/* spec: rfc9000#18.2 — active_connection_id_limit is at least 2 (also its default). */
#define VQ_CIDMGR_MIN_LIMIT 2u

typedef struct vq_cidmgr_entry {
  uint64_t seq;
  vq_cid cid;
  uint8_t token[VQ_RESET_TOKEN_LEN]; /* stateless reset token, when has_token */
  uint8_t has_token;
  uint8_t state;                     /* VQ_CIDMGR_FREE / _UNUSED / _IN_USE */
  uint8_t send;                      /* local: a NEW_CONNECTION_ID frame for it is to be sent */
  uint32_t path;                     /* peer, IN_USE: the path (connection-chosen id) using it */
} vq_cidmgr_entry;

/* A RETIRE_CONNECTION_ID frame owed to the peer: queued, or sent and not yet acknowledged. */
typedef struct vq_cidmgr_retire {
  uint64_t seq;
  uint8_t in_flight;
} vq_cidmgr_retire;

typedef struct vq_cidmgr {
  /* peer CIDs */
  vq_cidmgr_entry *peer;
  uint32_t peer_cap;       /* entries of storage */
  uint32_t peer_limit;     /* our active_connection_id_limit: 2 <= peer_limit <= peer_cap */
  uint64_t peer_rpt;       /* the largest Retire Prior To received */
  uint8_t peer_zero_len;   /* the peer uses a zero-length CID: NEW_CONNECTION_ID is a violation */
  uint64_t in_use_retired; /* times a Retire Prior To retired a CID a path was using */
  vq_cidmgr_retire *retire;
  uint32_t retire_n;       /* retirements queued or in flight */
  uint32_t retire_cap;     /* >= 2 * peer_limit (RFC 9000 §5.1.2) */
  /* local CIDs */
  vq_cidmgr_entry *local;
  uint32_t local_cap;
  uint32_t local_limit;    /* min(the peer's active_connection_id_limit, local_cap) */
  uint64_t local_next_seq; /* the sequence number the next issued CID gets */
  uint8_t local_zero_len;  /* we use a zero-length CID: we issue none, RETIRE is a violation */
} vq_cidmgr;

/* Storage: peer[peer_cap], retire[retire_cap], local[local_cap], all distinct. active_cid_limit is
 * the active_connection_id_limit we advertise. VQ_ERR_INVALID_ARGUMENT unless
 * 2 <= active_cid_limit <= peer_cap, retire_cap >= 2 * active_cid_limit, local_cap >= 2,
 * all capacities <= 1024. The peer's limit starts at its default 2 (RFC 9000 §18.2). */
vq_status vq_cidmgr_init(vq_cidmgr *m, vq_cidmgr_entry *peer, uint32_t peer_cap,
                         vq_cidmgr_retire *retire, uint32_t retire_cap, vq_cidmgr_entry *local,
                         uint32_t local_cap, uint64_t active_cid_limit);

/* ---- peer CIDs ---------------------------------------------------------------------------------- */

/* The peer's handshake CID (sequence 0: the Source CID of its first packets), in use on path 0.
 * token: its stateless reset token (the server's stateless_reset_token transport parameter) or NULL.
 * Replaces the whole peer table (a client learns the server's CID after its first Initial). A
 * zero-length cid marks the peer as using zero-length CIDs. */
vq_status vq_cidmgr_peer_set_initial(vq_cidmgr *m, const vq_cid *cid, const uint8_t *token);
/* The stateless_reset_token transport parameter arrived for sequence 0. VQ_ERR_INVALID_ARGUMENT if
 * sequence 0 is no longer held. */
vq_status vq_cidmgr_peer_set_initial_token(vq_cidmgr *m, const uint8_t *token);

/* A NEW_CONNECTION_ID frame (parsed by vq_frame_parse). Errors, nothing changed:
 *   VQ_ERR_PROTOCOL_VIOLATION  the peer uses zero-length CIDs (§19.15/3); a sequence number we hold
 *                              with another CID or token; a CID we hold under another sequence (§19.15/5)
 *   VQ_ERR_FRAME_CID_LENGTH, VQ_ERR_FRAME_RETIRE_PRIOR_TO  (a hand-built frame; the parser checks these)
 *   VQ_ERR_CONNECTION_ID_LIMIT more active CIDs than our limit after retiring (§5.1.1/6)
 *   VQ_ERR_CID_RETIRE_LIMIT    more outstanding retirements than the queue holds (§5.1.2/7)
 * An exact repeat is ignored (§19.15/4). A Retire Prior To larger than any before retires every CID
 * below it (queued RETIRE_CONNECTION_ID; a path using one must switch: vq_cidmgr_peer_current then
 * finds none, and in_use_retired counts it); a smaller one is ignored (§19.15/8). A new CID below
 * the largest Retire Prior To is not kept and is retired at once (§19.15/9). */
vq_status vq_cidmgr_peer_on_new_cid(vq_cidmgr *m, const vq_frame_new_cid *f);

/* The peer CID path uses: 1 with *cid and *seq set, 0 when it has none. */
int vq_cidmgr_peer_current(const vq_cidmgr *m, uint32_t path, vq_cid *cid, uint64_t *seq);
/* Number of UNUSED peer CIDs (a migration or a new path needs one). */
uint32_t vq_cidmgr_peer_unused(const vq_cidmgr *m);
/* Gives path a new, never used peer CID (the lowest sequence available), retiring the one it used
 * (RFC 9000 §5.1.2/1, §9.5: a new path uses a new CID). VQ_ERR_CID_UNAVAILABLE (nothing changed)
 * when no unused CID is left or the retirement queue is full. */
vq_status vq_cidmgr_peer_use(vq_cidmgr *m, uint32_t path, vq_cid *cid, uint64_t *seq);
/* Retires the CID path uses (the path is abandoned). VQ_OK also when it uses none;
 * VQ_ERR_CID_UNAVAILABLE (nothing changed) when the retirement queue is full. */
vq_status vq_cidmgr_peer_retire_path(vq_cidmgr *m, uint32_t path);

/* RFC 9000 §10.3.1: 1 when the last 16 bytes of a datagram of at least 21 bytes equal the stateless
 * reset token of any active peer CID (each compared in constant time; all are compared). */
int vq_cidmgr_reset_token_match(const vq_cidmgr *m, const uint8_t *dgram, size_t len);

/* RETIRE_CONNECTION_ID frames to send: 1 with *seq of the next queued one (now in flight), 0 when
 * none is queued. When the packet carrying it is acknowledged: vq_cidmgr_retire_acked; lost:
 * vq_cidmgr_retire_lost (queued again). Unknown sequence numbers are ignored. */
int vq_cidmgr_retire_next(vq_cidmgr *m, uint64_t *seq);
void vq_cidmgr_retire_acked(vq_cidmgr *m, uint64_t seq);
void vq_cidmgr_retire_lost(vq_cidmgr *m, uint64_t seq);

/* ---- local CIDs --------------------------------------------------------------------------------- */

/* Our handshake CID (sequence 0, the Source CID of our first packets), token as we advertise it (a
 * server's stateless_reset_token) or NULL. Resets the local table; the next issued CID is sequence 1.
 * A zero-length cid means we issue no CIDs. */
vq_status vq_cidmgr_local_set_initial(vq_cidmgr *m, const vq_cid *cid, const uint8_t *token);
/* The peer's active_connection_id_limit (transport parameter, >= 2; smaller values are
 * VQ_ERR_INVALID_ARGUMENT: the transport parameter decoder rejects them). */
vq_status vq_cidmgr_local_set_peer_limit(vq_cidmgr *m, uint64_t limit);
/* How many more CIDs may be issued now (0 with zero-length CIDs): the peer's limit (capped by our
 * storage) minus the active ones (RFC 9000 §5.1.1/3, /4). */
uint32_t vq_cidmgr_local_want(const vq_cidmgr *m);
/* Issues cid (1..20 bytes, e.g. from cx->rng) with its 16-byte stateless reset token under the next
 * sequence number (*seq), and queues its NEW_CONNECTION_ID frame. VQ_ERR_CID_FULL when
 * vq_cidmgr_local_want is 0, VQ_ERR_CID_DUPLICATE when cid is already active (draw another: §5.1/2),
 * VQ_ERR_INVALID_ARGUMENT for a zero-length or too long cid or with zero-length CIDs in use. */
vq_status vq_cidmgr_local_add(vq_cidmgr *m, const vq_cid *cid, const uint8_t *token, uint64_t *seq);
/* The next NEW_CONNECTION_ID frame to send (lowest sequence first): 1 with *f set (f->cid and
 * f->reset_token point into the manager's storage, valid until the next call that changes it),
 * 0 when none is queued. Retire Prior To is always 0: we never ask the peer to retire. */
int vq_cidmgr_local_next_frame(vq_cidmgr *m, vq_frame_new_cid *f);
/* The packet carrying NEW_CONNECTION_ID seq was lost: queued again while the CID is active. */
void vq_cidmgr_local_frame_lost(vq_cidmgr *m, uint64_t seq);
/* A RETIRE_CONNECTION_ID frame for seq arrived in a packet sent to pkt_dcid. Returns 1 when the CID
 * was retired (copied into *removed: take it out of the routing table; then replenish), 0 when seq
 * was retired before (a repeat), or VQ_ERR_PROTOCOL_VIOLATION: seq never issued (§19.16/1), seq is
 * the packet's own Destination CID (§19.16/2, /3), we use zero-length CIDs (§19.16/4). */
int vq_cidmgr_local_on_retire(vq_cidmgr *m, uint64_t seq, const vq_cid *pkt_dcid, vq_cid *removed);
/* Active local CIDs, for the endpoint's routing table: slot i in 0 .. local_cap-1; 1 with *cid, *seq
 * when slot i holds an active CID, else 0. */
int vq_cidmgr_local_get(const vq_cidmgr *m, uint32_t i, vq_cid *cid, uint64_t *seq);
uint32_t vq_cidmgr_local_count(const vq_cidmgr *m);

/* ---- issuing fresh CIDs (src/transport/cidmgr_mint.c, not proved) ------------------------------- */

/* Computes the stateless reset token of cid. */
typedef vq_status (*vq_cidmgr_token_fn)(void *ud, const vq_cid *cid, uint8_t token[VQ_RESET_TOKEN_LEN]);
/* A vq_cidmgr_token_fn over vq_stateless_reset_token (include/vquic/token.h): ud is the 32-byte
 * static key. */
vq_status vq_cidmgr_token_from_key(void *ud, const vq_cid *cid, uint8_t token[VQ_RESET_TOKEN_LEN]);
/* Issues vq_cidmgr_local_want() new CIDs of cid_len (1..20) random bytes from cx->rng (redrawn on a
 * collision, up to 8 draws: with one of m's, or when token_fn returns VQ_ERR_CID_DUPLICATE, its way
 * to refuse a CID in use elsewhere), each with token_fn's token. The CIDs added are copied to
 * added[0 .. *n_added) (up to added_cap; the endpoint adds them to its routing table). Checks cx
 * first (VQ_ECANCELED, VQ_ERR_BUDGET: nothing issued). */
vq_status vq_cidmgr_local_replenish(vq_cidmgr *m, const vq_cx *cx, size_t cid_len,
                                    vq_cidmgr_token_fn token_fn, void *token_ud, vq_cid *added,
                                    uint32_t added_cap, uint32_t *n_added);
/* Makes a fresh CID of len bytes (e.g. the endpoint's counter-based minter, vquic/cidperm.h):
 * VQ_OK with *out, or an error (VQ_ERR_CID_EXHAUSTED: no more). */
typedef vq_status (*vq_cidmgr_mint_fn)(void *ud, size_t len, vq_cid *out);
/* vq_cidmgr_local_replenish with the CIDs from mint_fn instead of cx->rng (mint_fn NULL: random, as
 * vq_cidmgr_local_replenish). A CID refused as a duplicate is followed by the next one mint_fn
 * makes (up to 8 in all); a mint_fn error stops the issuing and is returned (*n_added say how many
 * were issued before). */
vq_status vq_cidmgr_local_replenish_mint(vq_cidmgr *m, const vq_cx *cx, size_t cid_len,
                                         vq_cidmgr_mint_fn mint_fn, void *mint_ud,
                                         vq_cidmgr_token_fn token_fn, void *token_ud, vq_cid *added,
                                         uint32_t added_cap, uint32_t *n_added);

#endif
