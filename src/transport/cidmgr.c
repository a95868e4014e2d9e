/* vquic — connection ID management (RFC 9000 §5.1, §19.15, §19.16, §10.3), written for WP: every
 * function keeps vq_cidmgr_ok (bounded storage, bounded retirement queue) and changes nothing when
 * it fails. */
#include "vquic/cidmgr.h"
#include "cidmgr_acsl.h"
#include "vq_acsl.h"

#define VARINT_LIMIT 4611686018427387904u /* 2^62 */
#define CAP_MAX 1024u

/*@ requires \valid(dst + (0 .. 15)) && \valid_read(src + (0 .. 15));
    requires \separated(dst + (0 .. 15), src + (0 .. 15));
    assigns dst[0 .. 15];
    ensures \forall integer j; 0 <= j < 16 ==> dst[j] == src[j]; */
static void token_copy(uint8_t *dst, const uint8_t *src)
{
  /*@ loop invariant 0 <= i <= 16;
      loop invariant \forall integer j; 0 <= j < i ==> dst[j] == src[j];
      loop assigns i, dst[0 .. 15];
      loop variant 16 - i; */
  for (size_t i = 0; i < VQ_RESET_TOKEN_LEN; i++) dst[i] = src[i];
}

/*@ requires \valid(e);
    assigns e->state, e->send, e->has_token, e->seq, e->path;
    ensures e->state == VQ_CIDMGR_FREE && e->send == 0 && e->has_token == 0; */
static void entry_clear(vq_cidmgr_entry *e)
{
  e->state = VQ_CIDMGR_FREE;
  e->send = 0;
  e->has_token = 0;
  e->seq = 0;
  e->path = 0;
}

/* Fills one entry (one assigned location for the callers' proofs). */
/*@ requires \valid(e) && \valid_read(cid) && cid->len <= 20;
    requires token == \null || \valid_read(token + (0 .. 15));
    requires \separated(e, cid);
    requires token != \null ==> \separated(e, token + (0 .. 15));
    assigns *e;
    ensures e->seq == seq && e->state == state && e->send == send && e->path == 0;
    ensures e->cid.len == cid->len; */
static void entry_fill(vq_cidmgr_entry *e, uint64_t seq, const vq_cid *cid, const uint8_t *token,
                       uint8_t state, uint8_t send)
{
  e->seq = seq;
  e->cid = *cid;
  e->has_token = 0;
  if (token) {
    token_copy(e->token, token);
    e->has_token = 1;
  }
  e->state = state;
  e->send = send;
  e->path = 0;
}

/*@ requires n <= 1024 && \valid(t + (0 .. n - 1));
    assigns t[0 .. n - 1];
    ensures \forall integer j; 0 <= j < n ==> t[j].state == VQ_CIDMGR_FREE; */
static void table_clear(vq_cidmgr_entry *t, uint32_t n)
{
  /*@ loop invariant 0 <= i <= n;
      loop invariant \forall integer j; 0 <= j < i ==> t[j].state == VQ_CIDMGR_FREE;
      loop assigns i, t[0 .. n - 1];
      loop variant n - i; */
  for (uint32_t i = 0; i < n; i++) entry_clear(&t[i]);
}

/*@ requires \valid(m) && \valid(peer + (0 .. peer_cap - 1));
    requires \valid(retire + (0 .. retire_cap - 1)) && \valid(local + (0 .. local_cap - 1));
    requires \separated(m, peer + (0 .. peer_cap - 1), retire + (0 .. retire_cap - 1),
                        local + (0 .. local_cap - 1));
    assigns *m, peer[0 .. peer_cap - 1], local[0 .. local_cap - 1];
    behavior bad:
      assumes !(2 <= active_cid_limit <= peer_cap <= 1024 && 2 * active_cid_limit <= retire_cap <= 2048
                && 2 <= local_cap <= 1024);
      assigns \nothing;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
    behavior good:
      assumes 2 <= active_cid_limit <= peer_cap <= 1024 && 2 * active_cid_limit <= retire_cap <= 2048
              && 2 <= local_cap <= 1024;
      ensures \result == VQ_OK && vq_cidmgr_ok(m);
      ensures m->peer_limit == active_cid_limit && m->retire_n == 0 && m->local_limit == 2;
      ensures m->peer_rpt == 0 && vq_cidmgr_peer_above_rpt(m);
    complete behaviors; disjoint behaviors; */
vq_status vq_cidmgr_init(vq_cidmgr *m, vq_cidmgr_entry *peer, uint32_t peer_cap,
                         vq_cidmgr_retire *retire, uint32_t retire_cap, vq_cidmgr_entry *local,
                         uint32_t local_cap, uint64_t active_cid_limit)
{
  /* spec: rfc9000#5.1.2/6 — room for at least twice our active_connection_id_limit retirements. */
  if (active_cid_limit < VQ_CIDMGR_MIN_LIMIT || active_cid_limit > peer_cap || peer_cap > CAP_MAX ||
      retire_cap < 2u * active_cid_limit || retire_cap > 2u * CAP_MAX || local_cap < 2u ||
      local_cap > CAP_MAX)
    return VQ_ERR_INVALID_ARGUMENT;
  table_clear(peer, peer_cap);
  table_clear(local, local_cap);
  m->peer = peer;
  m->peer_cap = peer_cap;
  m->peer_limit = (uint32_t)active_cid_limit;
  m->peer_rpt = 0;
  m->peer_zero_len = 0;
  m->in_use_retired = 0;
  m->retire = retire;
  m->retire_n = 0;
  m->retire_cap = retire_cap;
  m->local = local;
  m->local_cap = local_cap;
  m->local_limit = VQ_CIDMGR_MIN_LIMIT;
  m->local_next_seq = 0;
  m->local_zero_len = 0;
  return VQ_OK;
}

/* ---- the retirement queue ------------------------------------------------------------------------ */

/*@ requires vq_cidmgr_ok(m);
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> (\exists integer j; 0 <= j < m->retire_n && m->retire[j].seq == seq); */
static int retire_queued(const vq_cidmgr *m, uint64_t seq)
{
  /*@ loop invariant 0 <= i <= m->retire_n;
      loop invariant \forall integer j; 0 <= j < i ==> m->retire[j].seq != seq;
      loop assigns i;
      loop variant m->retire_n - i; */
  for (uint32_t i = 0; i < m->retire_n; i++)
    if (m->retire[i].seq == seq) return 1;
  return 0;
}

/*@ requires vq_cidmgr_ok(m) && \valid(m) && m->retire_n < m->retire_cap;
    assigns m->retire_n, m->retire[m->retire_n];
    ensures vq_cidmgr_ok(m);
    ensures m->retire_n == \old(m->retire_n) + 1;
    ensures m->retire[\old(m->retire_n)].seq == seq && m->retire[\old(m->retire_n)].in_flight == 0;
    ensures m->peer_rpt == \old(m->peer_rpt);
    ensures \forall integer j; 0 <= j < m->peer_cap ==>
      m->peer[j].state == \old(m->peer[j].state) && m->peer[j].seq == \old(m->peer[j].seq); */
static void retire_push(vq_cidmgr *m, uint64_t seq)
{
  m->retire[m->retire_n].seq = seq;
  m->retire[m->retire_n].in_flight = 0;
  m->retire_n++;
}

/* spec: rfc9000#5.1.2/4 — retired connection IDs are announced with RETIRE_CONNECTION_ID frames. */
/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid(seq) && \separated(seq, m, m->retire + (0 .. m->retire_cap - 1));
    assigns *seq, m->retire[0 .. m->retire_n - 1].in_flight;
    ensures vq_cidmgr_ok(m);
    ensures \result == 0 || \result == 1; */
int vq_cidmgr_retire_next(vq_cidmgr *m, uint64_t *seq)
{
  /*@ loop invariant 0 <= i <= m->retire_n;
      loop assigns i;
      loop variant m->retire_n - i; */
  for (uint32_t i = 0; i < m->retire_n; i++) {
    if (!m->retire[i].in_flight) {
      m->retire[i].in_flight = 1;
      *seq = m->retire[i].seq;
      return 1;
    }
  }
  return 0;
}

/* spec: rfc9000#5.1.2/5 — a retirement counts against the queue until its frame is acknowledged. */
/*@ requires vq_cidmgr_ok(m) && \valid(m);
    assigns m->retire_n, m->retire[0 .. m->retire_n - 1];
    ensures vq_cidmgr_ok(m);
    ensures m->retire_n == \old(m->retire_n) || m->retire_n == \old(m->retire_n) - 1; */
void vq_cidmgr_retire_acked(vq_cidmgr *m, uint64_t seq)
{
  /*@ loop invariant 0 <= i <= m->retire_n;
      loop assigns i;
      loop variant m->retire_n - i; */
  for (uint32_t i = 0; i < m->retire_n; i++) {
    if (m->retire[i].seq == seq) {
      const uint32_t last = m->retire_n - 1u;
      m->retire[i].seq = m->retire[last].seq;
      m->retire[i].in_flight = m->retire[last].in_flight;
      m->retire_n = last;
      return;
    }
  }
}

/* spec: rfc9000#13.3 — a lost RETIRE_CONNECTION_ID frame is sent again. */
/*@ requires vq_cidmgr_ok(m) && \valid(m);
    assigns m->retire[0 .. m->retire_n - 1].in_flight;
    ensures vq_cidmgr_ok(m); */
void vq_cidmgr_retire_lost(vq_cidmgr *m, uint64_t seq)
{
  /*@ loop invariant 0 <= i <= m->retire_n;
      loop assigns i, m->retire[0 .. m->retire_n - 1].in_flight;
      loop variant m->retire_n - i; */
  for (uint32_t i = 0; i < m->retire_n; i++)
    if (m->retire[i].seq == seq) m->retire[i].in_flight = 0;
}

/* ---- peer CIDs ----------------------------------------------------------------------------------- */

/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid_read(cid);
    requires token == \null || \valid_read(token + (0 .. 15));
    requires \separated(cid, m, m->peer + (0 .. m->peer_cap - 1));
    requires token != \null ==> \separated(token + (0 .. 15), m->peer + (0 .. m->peer_cap - 1));
    assigns m->peer[0 .. m->peer_cap - 1], m->peer_rpt, m->peer_zero_len, m->in_use_retired,
            m->retire_n;
    behavior too_long:
      assumes cid->len > 20;
      assigns \nothing;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
    behavior ok:
      assumes cid->len <= 20;
      ensures \result == VQ_OK;
      ensures vq_cidmgr_ok(m);
      ensures vq_cidmgr_peer_above_rpt(m);
      ensures m->peer[0].state == VQ_CIDMGR_IN_USE && m->peer[0].seq == 0 && m->peer[0].path == 0;
      ensures m->peer[0].cid.len == cid->len && m->peer_zero_len == (cid->len == 0);
      ensures m->retire_n == 0 && m->peer_rpt == 0;
    complete behaviors; disjoint behaviors; */
vq_status vq_cidmgr_peer_set_initial(vq_cidmgr *m, const vq_cid *cid, const uint8_t *token)
{
  if (cid->len > VQ_CID_MAX_LEN) return VQ_ERR_INVALID_ARGUMENT;
  table_clear(m->peer, m->peer_cap);
  /*@ assert vq_cidmgr_peer_above(m, 0); */
  entry_fill(&m->peer[0], 0, cid, token, VQ_CIDMGR_IN_USE, 0);
  /*@ assert vq_cidmgr_peer_above(m, 0); */
  m->peer_rpt = 0;
  m->retire_n = 0;
  m->in_use_retired = 0;
  m->peer_zero_len = cid->len == 0;
  return VQ_OK;
}

/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid_read(token + (0 .. 15));
    requires \separated(token + (0 .. 15), m->peer + (0 .. m->peer_cap - 1));
    assigns m->peer[0 .. m->peer_cap - 1].token[0 .. 15], m->peer[0 .. m->peer_cap - 1].has_token;
    ensures vq_cidmgr_ok(m);
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT; */
vq_status vq_cidmgr_peer_set_initial_token(vq_cidmgr *m, const uint8_t *token)
{
  /*@ loop invariant 0 <= i <= m->peer_cap;
      loop assigns i;
      loop variant m->peer_cap - i; */
  for (uint32_t i = 0; i < m->peer_cap; i++) {
    vq_cidmgr_entry *e = &m->peer[i];
    if (e->state != VQ_CIDMGR_FREE && e->seq == 0) {
      token_copy(e->token, token);
      e->has_token = 1;
      return VQ_OK;
    }
  }
  return VQ_ERR_INVALID_ARGUMENT;
}

/* Pass 1 of NEW_CONNECTION_ID processing, nothing written: a repeated sequence number or CID
 * (PROTOCOL_VIOLATION), how many active CIDs stay (seq >= rpt) and go (seq < rpt), and a slot for a
 * new CID (a free entry or one that goes; cap when none: then every entry stays). */
/*@ requires vq_cidmgr_ok(m) && \valid_read(f) && \valid_read(c);
    requires \valid_read(f->reset_token + (0 .. 15));
    requires \valid(keep) && \valid(drop) && \valid(slot) && \valid(dup);
    requires \separated(keep, drop, slot, dup, m, m->peer + (0 .. m->peer_cap - 1));
    assigns *keep, *drop, *slot, *dup;
    ensures \result == VQ_OK || \result == VQ_ERR_PROTOCOL_VIOLATION;
    ensures \result == VQ_OK ==> *keep + *drop <= m->peer_cap && *slot <= m->peer_cap &&
      (*slot == m->peer_cap ==> *keep == m->peer_cap) && (*dup == 0 || *dup == 1); */
static vq_status peer_scan(const vq_cidmgr *m, const vq_frame_new_cid *f, const vq_cid *c,
                           uint64_t rpt, uint32_t *keep, uint32_t *drop, uint32_t *slot, int *dup)
{
  const uint32_t cap = m->peer_cap;
  uint32_t k = 0, d = 0, s = cap;
  int du = 0;
  /*@ loop invariant 0 <= i <= cap;
      loop invariant k + d <= i;
      loop invariant s == cap || s < i;
      loop invariant s == cap ==> k == i;
      loop invariant du == 0 || du == 1;
      loop assigns i, k, d, s, du;
      loop variant cap - i; */
  for (uint32_t i = 0; i < cap; i++) {
    const vq_cidmgr_entry *e = &m->peer[i];
    if (e->state == VQ_CIDMGR_FREE) {
      if (s == cap) s = i;
      continue;
    }
    const int same = vq_cid_equal(&e->cid, c);
    if (e->seq == f->sequence) {
      if (!same || !e->has_token || !vq_reset_token_equal(e->token, f->reset_token))
        return VQ_ERR_PROTOCOL_VIOLATION;
      du = 1;
    } else if (same) {
      return VQ_ERR_PROTOCOL_VIOLATION;
    }
    if (e->seq < rpt) {
      d++;
      if (s == cap) s = i;
    } else {
      k++;
    }
  }
  *keep = k;
  *drop = d;
  *slot = s;
  *dup = du;
  return VQ_OK;
}

/* Pass 2: every active peer CID below rpt is retired and queued (at most drop of them, for which
 * the queue has room); a path using one must switch. */
/*@ requires vq_cidmgr_ok(m) && \valid(m);
    requires m->retire_n + drop <= m->retire_cap;
    assigns m->retire_n, m->retire[0 .. m->retire_cap - 1], m->in_use_retired,
            m->peer[0 .. m->peer_cap - 1].state;
    ensures vq_cidmgr_ok(m);
    ensures \old(m->retire_n) <= m->retire_n <= \old(m->retire_n) + drop;
    ensures vq_cidmgr_peer_above(m, rpt);
    ensures m->peer_rpt == \old(m->peer_rpt); */
static void peer_retire_below(vq_cidmgr *m, uint64_t rpt, uint32_t drop)
{
  const uint32_t cap = m->peer_cap;
  uint32_t left = drop;
  /*@ loop invariant 0 <= i <= cap;
      loop invariant left <= drop;
      loop invariant m->retire_n + left == \at(m->retire_n, LoopEntry) + drop;
      loop invariant \forall integer j; 0 <= j < i ==> m->peer[j].state != 0 ==> m->peer[j].seq >= rpt;
      loop invariant m->peer_rpt == \at(m->peer_rpt, LoopEntry);
      loop assigns i, left, m->retire_n, m->retire[0 .. m->retire_cap - 1], m->in_use_retired,
                   m->peer[0 .. cap - 1].state;
      loop variant cap - i; */
  for (uint32_t i = 0; i < cap; i++) {
    vq_cidmgr_entry *e = &m->peer[i];
    if (e->state != VQ_CIDMGR_FREE && e->seq < rpt) {
      if (left > 0u) {
        retire_push(m, e->seq);
        left--;
      }
      if (e->state == VQ_CIDMGR_IN_USE && m->in_use_retired < UINT64_MAX) m->in_use_retired++;
      e->state = VQ_CIDMGR_FREE;
    }
  }
}

/* Stores the new CID in slot. */
/*@ requires vq_cidmgr_ok(m) && \valid(m) && slot < m->peer_cap;
    requires \valid_read(f) && \valid_read(c) && \valid_read(f->reset_token + (0 .. 15));
    requires c->len <= 20;
    requires \separated(f->reset_token + (0 .. 15), m->peer + (0 .. m->peer_cap - 1));
    requires \separated(c, m->peer + (0 .. m->peer_cap - 1));
    requires \separated(f, m->peer + (0 .. m->peer_cap - 1));
    assigns m->peer[slot];
    ensures vq_cidmgr_ok(m);
    ensures \at(vq_cidmgr_peer_above(m, rpt), Pre) && f->sequence >= rpt ==> vq_cidmgr_peer_above(m, rpt);
    ensures m->peer_rpt == \old(m->peer_rpt);
    ensures m->peer[slot].seq == f->sequence && m->peer[slot].state == VQ_CIDMGR_UNUSED; */
static void peer_insert(vq_cidmgr *m, uint32_t slot, const vq_frame_new_cid *f, const vq_cid *c,
                        uint64_t rpt)
{
  (void)rpt; /* named by the contract only */
  entry_fill(&m->peer[slot], f->sequence, c, f->reset_token, VQ_CIDMGR_UNUSED, 0);
}

/* Pass 2 as a whole, once every check passed: retire below rpt, retire a late CID (late), store a new
 * one in slot (add), record rpt. */
/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid_read(f) && \valid_read(c) && c->len <= 20;
    requires \valid_read(f->reset_token + (0 .. 15));
    requires \separated(f, c, m, m->peer + (0 .. m->peer_cap - 1), m->retire + (0 .. m->retire_cap - 1));
    requires \separated(f->reset_token + (0 .. 15), m->peer + (0 .. m->peer_cap - 1),
                        m->retire + (0 .. m->retire_cap - 1));
    requires late <= 1 && add <= 1;
    requires m->retire_n + drop + late <= m->retire_cap;
    assigns m->peer[0 .. m->peer_cap - 1], m->retire[0 .. m->retire_cap - 1], m->retire_n,
            m->in_use_retired, m->peer_rpt;
    ensures vq_cidmgr_ok(m);
    ensures m->peer_rpt == rpt;
    ensures vq_cidmgr_peer_above_rpt(m); */
static void peer_commit(vq_cidmgr *m, const vq_frame_new_cid *f, const vq_cid *c, uint64_t rpt,
                        uint32_t drop, uint32_t late, uint32_t add, uint32_t slot)
{
  peer_retire_below(m, rpt, drop);
  if (late) retire_push(m, f->sequence);
  /*@ assert vq_cidmgr_peer_above(m, rpt); */
  /* (slot < cap and sequence >= rpt always hold with add: the caller's checks; restated here.) */
  if (add && slot < m->peer_cap && f->sequence >= rpt) peer_insert(m, slot, f, c, rpt);
  m->peer_rpt = rpt;
}

/* spec: rfc9000#19.15/3 — a NEW_CONNECTION_ID while the peer sends zero-length CIDs is a
 * PROTOCOL_VIOLATION.
 * spec: rfc9000#19.15/4 — receiving the same frame again is not an error.
 * spec: rfc9000#19.15/5 — a CID repeated with another token or sequence number, or a sequence number
 * repeated with another CID, is a PROTOCOL_VIOLATION.
 * spec: rfc9000#19.15/8 — a Retire Prior To that does not increase the largest one is ignored.
 * spec: rfc9000#5.1.2/4 — an increased Retire Prior To retires the CIDs below it, with
 * RETIRE_CONNECTION_ID frames, before the new CID is added.
 * spec: rfc9000#19.15/9 — a new CID below the largest Retire Prior To is retired at once.
 * spec: rfc9000#5.1.1/6 — more active CIDs than our active_connection_id_limit after adding and
 * retiring is a CONNECTION_ID_LIMIT_ERROR.
 * spec: rfc9000#5.1.2/5, rfc9000#5.1.2/7 — the retirements outstanding are bounded; exceeding the
 * bound closes with CONNECTION_ID_LIMIT_ERROR; a CID is never forgotten without being retired. */
/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid_read(f);
    requires \separated(f, m, m->peer + (0 .. m->peer_cap - 1), m->retire + (0 .. m->retire_cap - 1));
    requires 1 <= f->cid_len <= 20 ==> \valid_read(f->cid + (0 .. f->cid_len - 1));
    requires \valid_read(f->reset_token + (0 .. 15));
    requires \separated(f->reset_token + (0 .. 15), m->peer + (0 .. m->peer_cap - 1),
                        m->retire + (0 .. m->retire_cap - 1));
    assigns m->peer[0 .. m->peer_cap - 1], m->retire[0 .. m->retire_cap - 1], m->retire_n,
            m->peer_rpt, m->in_use_retired;
    ensures vq_cidmgr_ok(m);
    ensures \result == VQ_OK || \result == VQ_ERR_PROTOCOL_VIOLATION ||
            \result == VQ_ERR_FRAME_CID_LENGTH || \result == VQ_ERR_FRAME_RETIRE_PRIOR_TO ||
            \result == VQ_ERR_CONNECTION_ID_LIMIT || \result == VQ_ERR_CID_RETIRE_LIMIT;
    ensures \result != VQ_OK ==> m->peer_rpt == \old(m->peer_rpt) && m->retire_n == \old(m->retire_n)
      && m->in_use_retired == \old(m->in_use_retired)
      && (\forall integer j; 0 <= j < m->peer_cap ==>
            m->peer[j].state == \old(m->peer[j].state) && m->peer[j].seq == \old(m->peer[j].seq));
    ensures \result == VQ_OK ==> m->peer_rpt == (\old(f->retire_prior_to) > \old(m->peer_rpt) ?
                                                 \old(f->retire_prior_to) : \old(m->peer_rpt));
    ensures \result == VQ_OK ==> vq_cidmgr_peer_above_rpt(m);
    behavior zero_len:
      assumes m->peer_zero_len != 0;
      ensures \result == VQ_ERR_PROTOCOL_VIOLATION;
    behavior bad_len:
      assumes m->peer_zero_len == 0 && !(1 <= f->cid_len <= 20);
      ensures \result == VQ_ERR_FRAME_CID_LENGTH;
    behavior bad_rpt:
      assumes m->peer_zero_len == 0 && 1 <= f->cid_len <= 20 && f->retire_prior_to > f->sequence;
      ensures \result == VQ_ERR_FRAME_RETIRE_PRIOR_TO;
    behavior frame:
      assumes m->peer_zero_len == 0 && 1 <= f->cid_len <= 20 && f->retire_prior_to <= f->sequence;
    complete behaviors; disjoint behaviors; */
vq_status vq_cidmgr_peer_on_new_cid(vq_cidmgr *m, const vq_frame_new_cid *f)
{
  if (m->peer_zero_len) return VQ_ERR_PROTOCOL_VIOLATION;
  /* spec: rfc9000#19.15/1, rfc9000#19.15/7 — checked by the parser; again for hand-built frames. */
  if (f->cid_len < 1u || f->cid_len > VQ_CID_MAX_LEN) return VQ_ERR_FRAME_CID_LENGTH;
  if (f->retire_prior_to > f->sequence) return VQ_ERR_FRAME_RETIRE_PRIOR_TO;
  vq_cid c = {0, {0}};
  (void)vq_cid_set(&c, f->cid, f->cid_len);
  const uint64_t rpt = f->retire_prior_to > m->peer_rpt ? f->retire_prior_to : m->peer_rpt;
  uint32_t keep = 0, drop = 0, slot = m->peer_cap;
  int dup = 0;
  const vq_status st = peer_scan(m, f, &c, rpt, &keep, &drop, &slot, &dup);
  if (st != VQ_OK) return st;
  uint32_t add = 0, late = 0;
  if (!dup) {
    if (f->sequence >= rpt) add = 1;
    else if (!retire_queued(m, f->sequence)) late = 1;
  }
  if (keep + add > m->peer_limit) return VQ_ERR_CONNECTION_ID_LIMIT;
  /* No free slot means every entry is kept: keep == cap >= limit, refused just above. */
  /*@ assert add == 1 ==> slot < m->peer_cap; */
  if (drop + late > m->retire_cap - m->retire_n) return VQ_ERR_CID_RETIRE_LIMIT;
  peer_commit(m, f, &c, rpt, drop, late, add, slot);
  return VQ_OK;
}

/*@ requires vq_cidmgr_ok(m) && \valid(cid) && \valid(seq);
    requires \separated(cid, seq, m, m->peer + (0 .. m->peer_cap - 1));
    assigns *cid, *seq;
    ensures \result == 0 || \result == 1; */
int vq_cidmgr_peer_current(const vq_cidmgr *m, uint32_t path, vq_cid *cid, uint64_t *seq)
{
  /*@ loop invariant 0 <= i <= m->peer_cap;
      loop assigns i;
      loop variant m->peer_cap - i; */
  for (uint32_t i = 0; i < m->peer_cap; i++) {
    const vq_cidmgr_entry *e = &m->peer[i];
    if (e->state == VQ_CIDMGR_IN_USE && e->path == path) {
      *cid = e->cid;
      *seq = e->seq;
      return 1;
    }
  }
  return 0;
}

/*@ requires vq_cidmgr_ok(m);
    assigns \nothing;
    ensures \result <= m->peer_cap; */
uint32_t vq_cidmgr_peer_unused(const vq_cidmgr *m)
{
  uint32_t n = 0;
  /*@ loop invariant 0 <= i <= m->peer_cap && n <= i;
      loop assigns i, n;
      loop variant m->peer_cap - i; */
  for (uint32_t i = 0; i < m->peer_cap; i++)
    if (m->peer[i].state == VQ_CIDMGR_UNUSED) n++;
  return n;
}

/* Index of the entry path uses, or cap. */
/*@ requires vq_cidmgr_ok(m);
    assigns \nothing;
    ensures \result <= m->peer_cap;
    ensures \result < m->peer_cap ==> m->peer[\result].state == VQ_CIDMGR_IN_USE; */
static uint32_t peer_find_path(const vq_cidmgr *m, uint32_t path)
{
  /*@ loop invariant 0 <= i <= m->peer_cap;
      loop assigns i;
      loop variant m->peer_cap - i; */
  for (uint32_t i = 0; i < m->peer_cap; i++)
    if (m->peer[i].state == VQ_CIDMGR_IN_USE && m->peer[i].path == path) return i;
  return m->peer_cap;
}

/* spec: rfc9000#5.1.2/1 — a CID no longer used is retired.
 * spec: rfc9000#9.5 — a new path uses a connection ID not used before. */
/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid(cid) && \valid(seq);
    requires \separated(cid, seq, m, m->peer + (0 .. m->peer_cap - 1), m->retire + (0 .. m->retire_cap - 1));
    assigns *cid, *seq, m->peer[0 .. m->peer_cap - 1].state, m->peer[0 .. m->peer_cap - 1].path,
            m->retire_n, m->retire[0 .. m->retire_cap - 1];
    ensures vq_cidmgr_ok(m);
    ensures \result == VQ_OK || \result == VQ_ERR_CID_UNAVAILABLE;
    ensures \result != VQ_OK ==> m->retire_n == \old(m->retire_n); */
vq_status vq_cidmgr_peer_use(vq_cidmgr *m, uint32_t path, vq_cid *cid, uint64_t *seq)
{
  const uint32_t cap = m->peer_cap;
  uint32_t best = cap;
  /*@ loop invariant 0 <= i <= cap;
      loop invariant best == cap || (best < i && m->peer[best].state == VQ_CIDMGR_UNUSED);
      loop assigns i, best;
      loop variant cap - i; */
  for (uint32_t i = 0; i < cap; i++) {
    const vq_cidmgr_entry *e = &m->peer[i];
    if (e->state == VQ_CIDMGR_UNUSED && (best == cap || e->seq < m->peer[best].seq)) best = i;
  }
  if (best == cap) return VQ_ERR_CID_UNAVAILABLE;
  const uint32_t cur = peer_find_path(m, path);
  if (cur < cap) {
    if (m->retire_n >= m->retire_cap) return VQ_ERR_CID_UNAVAILABLE;
    retire_push(m, m->peer[cur].seq);
    m->peer[cur].state = VQ_CIDMGR_FREE;
  }
  m->peer[best].state = VQ_CIDMGR_IN_USE;
  m->peer[best].path = path;
  *cid = m->peer[best].cid;
  *seq = m->peer[best].seq;
  return VQ_OK;
}

/*@ requires vq_cidmgr_ok(m) && \valid(m);
    assigns m->peer[0 .. m->peer_cap - 1].state, m->retire_n, m->retire[0 .. m->retire_cap - 1];
    ensures vq_cidmgr_ok(m);
    ensures \result == VQ_OK || \result == VQ_ERR_CID_UNAVAILABLE;
    ensures \result != VQ_OK ==> m->retire_n == \old(m->retire_n); */
vq_status vq_cidmgr_peer_retire_path(vq_cidmgr *m, uint32_t path)
{
  const uint32_t cur = peer_find_path(m, path);
  if (cur >= m->peer_cap) return VQ_OK;
  if (m->retire_n >= m->retire_cap) return VQ_ERR_CID_UNAVAILABLE;
  retire_push(m, m->peer[cur].seq);
  m->peer[cur].state = VQ_CIDMGR_FREE;
  return VQ_OK;
}

/* spec: rfc9000#10.3.1 — the last 16 bytes of the datagram are compared with the stateless reset
 * token of every active peer CID, each comparison in constant time; all of them are made. */
/*@ requires vq_cidmgr_ok(m) && vq_readable(dgram, len);
    assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures len < 21 ==> \result == 0; */
int vq_cidmgr_reset_token_match(const vq_cidmgr *m, const uint8_t *dgram, size_t len)
{
  int hit = 0;
  if (len < VQ_STATELESS_RESET_MIN_LEN) return 0;
  /*@ loop invariant 0 <= i <= m->peer_cap;
      loop invariant hit == 0 || hit == 1;
      loop assigns i, hit;
      loop variant m->peer_cap - i; */
  for (uint32_t i = 0; i < m->peer_cap; i++) {
    const vq_cidmgr_entry *e = &m->peer[i];
    if (e->state != VQ_CIDMGR_FREE && e->has_token) {
      const int r = vq_stateless_reset_match(dgram, len, e->token);
      hit = hit > r ? hit : r;
    }
  }
  return hit;
}

/* ---- local CIDs ---------------------------------------------------------------------------------- */

/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid_read(cid);
    requires token == \null || \valid_read(token + (0 .. 15));
    requires \separated(cid, m, m->local + (0 .. m->local_cap - 1));
    requires token != \null ==> \separated(token + (0 .. 15), m->local + (0 .. m->local_cap - 1));
    assigns m->local[0 .. m->local_cap - 1], m->local_next_seq, m->local_zero_len;
    behavior too_long:
      assumes cid->len > 20;
      assigns \nothing;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
    behavior ok:
      assumes cid->len <= 20;
      ensures \result == VQ_OK;
      ensures vq_cidmgr_ok(m);
      ensures m->local_next_seq == 1 && m->local_zero_len == (cid->len == 0);
    complete behaviors; disjoint behaviors; */
vq_status vq_cidmgr_local_set_initial(vq_cidmgr *m, const vq_cid *cid, const uint8_t *token)
{
  if (cid->len > VQ_CID_MAX_LEN) return VQ_ERR_INVALID_ARGUMENT;
  table_clear(m->local, m->local_cap);
  m->local_next_seq = 1;
  m->local_zero_len = cid->len == 0;
  if (cid->len == 0) return VQ_OK;
  /* sequence 0 travels in the handshake: no NEW_CONNECTION_ID for it */
  entry_fill(&m->local[0], 0, cid, token, VQ_CIDMGR_UNUSED, 0);
  return VQ_OK;
}

/*@ requires vq_cidmgr_ok(m) && \valid(m);
    assigns m->local_limit;
    ensures vq_cidmgr_ok(m);
    behavior bad:
      assumes limit < 2;
      assigns \nothing;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
    behavior ok:
      assumes limit >= 2;
      ensures \result == VQ_OK;
      ensures m->local_limit == (limit < m->local_cap ? limit : m->local_cap);
    complete behaviors; disjoint behaviors; */
vq_status vq_cidmgr_local_set_peer_limit(vq_cidmgr *m, uint64_t limit)
{
  if (limit < VQ_CIDMGR_MIN_LIMIT) return VQ_ERR_INVALID_ARGUMENT;
  m->local_limit = limit < m->local_cap ? (uint32_t)limit : m->local_cap;
  return VQ_OK;
}

/*@ requires vq_cidmgr_ok(m);
    assigns \nothing;
    ensures \result <= m->local_cap; */
uint32_t vq_cidmgr_local_count(const vq_cidmgr *m)
{
  uint32_t n = 0;
  /*@ loop invariant 0 <= i <= m->local_cap && n <= i;
      loop assigns i, n;
      loop variant m->local_cap - i; */
  for (uint32_t i = 0; i < m->local_cap; i++)
    if (m->local[i].state != VQ_CIDMGR_FREE) n++;
  return n;
}

/* spec: rfc9000#5.1.1/3 — keep the peer supplied with CIDs, up to its limit.
 * spec: rfc9000#5.1.1/4 — never more than the peer's limit. */
/*@ requires vq_cidmgr_ok(m);
    assigns \nothing;
    ensures \result <= m->local_limit;
    ensures m->local_zero_len != 0 ==> \result == 0; */
uint32_t vq_cidmgr_local_want(const vq_cidmgr *m)
{
  if (m->local_zero_len) return 0;
  const uint32_t n = vq_cidmgr_local_count(m);
  return n < m->local_limit ? m->local_limit - n : 0u;
}

/* spec: rfc9000#5.1/2 — the same CID is never issued twice (an active duplicate is refused).
 * spec: rfc9000#5.1.1/1 — each newly issued CID's sequence number increases by 1.
 * spec: rfc9000#19.15/2 — no NEW_CONNECTION_ID while we use zero-length CIDs. */
/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid_read(cid) && \valid_read(token + (0 .. 15)) && \valid(seq);
    requires \separated(seq, cid, m, m->local + (0 .. m->local_cap - 1));
    requires \separated(cid, m->local + (0 .. m->local_cap - 1));
    requires \separated(token + (0 .. 15), m->local + (0 .. m->local_cap - 1));
    assigns m->local[0 .. m->local_cap - 1], m->local_next_seq, *seq;
    ensures vq_cidmgr_ok(m);
    ensures \result == VQ_OK || \result == VQ_ERR_CID_FULL || \result == VQ_ERR_CID_DUPLICATE ||
            \result == VQ_ERR_INVALID_ARGUMENT;
    ensures \result == VQ_OK ==> *seq == \old(m->local_next_seq) &&
                                 m->local_next_seq == \old(m->local_next_seq) + 1;
    ensures \result != VQ_OK ==> m->local_next_seq == \old(m->local_next_seq); */
vq_status vq_cidmgr_local_add(vq_cidmgr *m, const vq_cid *cid, const uint8_t *token, uint64_t *seq)
{
  if (m->local_zero_len || cid->len < 1u || cid->len > VQ_CID_MAX_LEN) return VQ_ERR_INVALID_ARGUMENT;
  const uint32_t cap = m->local_cap;
  uint32_t n = 0, slot = cap;
  /*@ loop invariant 0 <= i <= cap && n <= i;
      loop invariant slot == cap || slot < i;
      loop invariant slot == cap ==> n == i;
      loop assigns i, n, slot;
      loop variant cap - i; */
  for (uint32_t i = 0; i < cap; i++) {
    const vq_cidmgr_entry *e = &m->local[i];
    if (e->state == VQ_CIDMGR_FREE) {
      if (slot == cap) slot = i;
    } else {
      if (vq_cid_equal(&e->cid, cid)) return VQ_ERR_CID_DUPLICATE;
      n++;
    }
  }
  if (n >= m->local_limit || m->local_next_seq >= VARINT_LIMIT) return VQ_ERR_CID_FULL;
  /* No free slot means every slot is active: n == cap >= local_limit, refused just above. */
  /*@ assert slot < cap; */
  entry_fill(&m->local[slot], m->local_next_seq, cid, token, VQ_CIDMGR_UNUSED, 1);
  *seq = m->local_next_seq;
  m->local_next_seq++;
  return VQ_OK;
}

/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid(f) && \separated(f, m, m->local + (0 .. m->local_cap - 1));
    assigns *f, m->local[0 .. m->local_cap - 1].send;
    ensures vq_cidmgr_ok(m);
    ensures \result == 0 || \result == 1;
    ensures \result == 1 ==> f->retire_prior_to == 0 && f->retire_prior_to <= f->sequence &&
                            \valid_read(f->reset_token + (0 .. 15)) &&
                            \valid_read(f->cid + (0 .. 19)); */
int vq_cidmgr_local_next_frame(vq_cidmgr *m, vq_frame_new_cid *f)
{
  const uint32_t cap = m->local_cap;
  uint32_t best = cap;
  /*@ loop invariant 0 <= i <= cap;
      loop invariant best == cap || best < i;
      loop assigns i, best;
      loop variant cap - i; */
  for (uint32_t i = 0; i < cap; i++) {
    const vq_cidmgr_entry *e = &m->local[i];
    if (e->state != VQ_CIDMGR_FREE && e->send && (best == cap || e->seq < m->local[best].seq))
      best = i;
  }
  if (best == cap) return 0;
  vq_cidmgr_entry *e = &m->local[best];
  e->send = 0;
  f->sequence = e->seq;
  f->retire_prior_to = 0;
  f->cid = e->cid.bytes;
  f->cid_len = e->cid.len;
  f->reset_token = e->token;
  return 1;
}

/* spec: rfc9000#13.3 — NEW_CONNECTION_ID is sent again when lost, while the CID is not retired. */
/*@ requires vq_cidmgr_ok(m) && \valid(m);
    assigns m->local[0 .. m->local_cap - 1].send;
    ensures vq_cidmgr_ok(m); */
void vq_cidmgr_local_frame_lost(vq_cidmgr *m, uint64_t seq)
{
  /*@ loop invariant 0 <= i <= m->local_cap;
      loop assigns i, m->local[0 .. m->local_cap - 1].send;
      loop variant m->local_cap - i; */
  for (uint32_t i = 0; i < m->local_cap; i++)
    if (m->local[i].state != VQ_CIDMGR_FREE && m->local[i].seq == seq) m->local[i].send = 1;
}

/* spec: rfc9000#19.16/1 — retiring a sequence number never sent is a PROTOCOL_VIOLATION.
 * spec: rfc9000#19.16/2, rfc9000#19.16/3 — retiring the CID the packet was sent to: PROTOCOL_VIOLATION.
 * spec: rfc9000#19.16/4 — with zero-length CIDs any RETIRE_CONNECTION_ID is a PROTOCOL_VIOLATION.
 * spec: rfc9000#5.1.1/2 — a CID is accepted until the peer retires it. */
/*@ requires vq_cidmgr_ok(m) && \valid(m) && \valid(removed);
    requires pkt_dcid == \null || \valid_read(pkt_dcid);
    requires \separated(removed, m, m->local + (0 .. m->local_cap - 1));
    assigns m->local[0 .. m->local_cap - 1].state, m->local[0 .. m->local_cap - 1].send, *removed;
    ensures vq_cidmgr_ok(m);
    ensures \result == 0 || \result == 1 || \result == VQ_ERR_PROTOCOL_VIOLATION;
    ensures (m->local_zero_len != 0 || seq >= m->local_next_seq) ==>
            \result == VQ_ERR_PROTOCOL_VIOLATION; */
int vq_cidmgr_local_on_retire(vq_cidmgr *m, uint64_t seq, const vq_cid *pkt_dcid, vq_cid *removed)
{
  if (m->local_zero_len || seq >= m->local_next_seq) return VQ_ERR_PROTOCOL_VIOLATION;
  /*@ loop invariant 0 <= i <= m->local_cap;
      loop assigns i;
      loop variant m->local_cap - i; */
  for (uint32_t i = 0; i < m->local_cap; i++) {
    vq_cidmgr_entry *e = &m->local[i];
    if (e->state != VQ_CIDMGR_FREE && e->seq == seq) {
      if (pkt_dcid && vq_cid_equal(&e->cid, pkt_dcid)) return VQ_ERR_PROTOCOL_VIOLATION;
      *removed = e->cid;
      e->state = VQ_CIDMGR_FREE;
      e->send = 0;
      return 1;
    }
  }
  return 0;
}

/*@ requires vq_cidmgr_ok(m) && \valid(cid) && \valid(seq);
    requires \separated(cid, seq, m, m->local + (0 .. m->local_cap - 1));
    assigns *cid, *seq;
    ensures \result == 0 || \result == 1;
    ensures i >= m->local_cap ==> \result == 0; */
int vq_cidmgr_local_get(const vq_cidmgr *m, uint32_t i, vq_cid *cid, uint64_t *seq)
{
  if (i >= m->local_cap || m->local[i].state == VQ_CIDMGR_FREE) return 0;
  *cid = m->local[i].cid;
  *seq = m->local[i].seq;
  return 1;
}
