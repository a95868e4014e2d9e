/* Tests of the connection ID manager (src/transport/cidmgr.c, RFC 9000 §5.1, §19.15, §19.16). */
#include "vqtest.h"
#include "vquic/cidmgr.h"
#include "vquic/token.h"

typedef struct fixture {
  vq_cidmgr m;
  vq_cidmgr_entry peer[8];
  vq_cidmgr_retire ret[16];
  vq_cidmgr_entry local[8];
} fixture;

static vq_status fx_init(fixture *x, uint64_t limit)
{
  return vq_cidmgr_init(&x->m, x->peer, 8, x->ret, 16, x->local, 8, limit);
}

static void mkcid(vq_cid *c, uint8_t tag, uint8_t len)
{
  c->len = len;
  for (uint8_t i = 0; i < VQ_CID_MAX_LEN; i++) c->bytes[i] = (uint8_t)(tag + i * 7u);
}

static void mktoken(uint8_t *t, uint8_t tag)
{
  for (uint8_t i = 0; i < 16; i++) t[i] = (uint8_t)(tag * 3u + i);
}

/* A NEW_CONNECTION_ID frame whose CID and token are derived from tag. */
typedef struct ncid {
  vq_frame_new_cid f;
  vq_cid c;
  uint8_t tok[16];
} ncid;

static const vq_frame_new_cid *mkncid(ncid *n, uint64_t seq, uint64_t rpt, uint8_t tag)
{
  mkcid(&n->c, tag, 8);
  mktoken(n->tok, tag);
  n->f.sequence = seq;
  n->f.retire_prior_to = rpt;
  n->f.cid = n->c.bytes;
  n->f.cid_len = n->c.len;
  n->f.reset_token = n->tok;
  return &n->f;
}

static int queued(const vq_cidmgr *m, uint64_t seq)
{
  for (uint32_t i = 0; i < m->retire_n; i++)
    if (m->retire[i].seq == seq) return 1;
  return 0;
}

static uint32_t active_peer(const vq_cidmgr *m)
{
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->peer_cap; i++) n += m->peer[i].state != VQ_CIDMGR_FREE;
  return n;
}

VQ_TEST(cidmgr_init_args)
{
  fixture x;
  CHECK_EQ(fx_init(&x, 1), VQ_ERR_INVALID_ARGUMENT); /* spec: rfc9000#18.2 — at least 2 */
  CHECK_EQ(fx_init(&x, 9), VQ_ERR_INVALID_ARGUMENT); /* more than the table holds */
  /* spec: rfc9000#5.1.2/6 — the retirement queue holds at least twice our limit. */
  CHECK_EQ(vq_cidmgr_init(&x.m, x.peer, 8, x.ret, 9, x.local, 8, 5), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_cidmgr_init(&x.m, x.peer, 8, x.ret, 10, x.local, 8, 5), VQ_OK);
  CHECK_EQ(vq_cidmgr_init(&x.m, x.peer, 8, x.ret, 16, x.local, 1, 2), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(fx_init(&x, 4), VQ_OK);
  CHECK_EQ(x.m.peer_limit, 4);
  CHECK_EQ(x.m.local_limit, 2);
  CHECK_EQ(vq_cidmgr_peer_unused(&x.m), 0);
  CHECK_EQ(vq_cidmgr_local_count(&x.m), 0);
}

/* spec: rfc9000#19.15/4, rfc9000#19.15/5 — a repeated frame is no error; a sequence number with
 * another CID or token, or a CID under another sequence number, is a PROTOCOL_VIOLATION. */
VQ_TEST(cidmgr_peer_duplicates_and_reuse)
{
  fixture x;
  ncid n;
  vq_cid c0, out;
  uint8_t t0[16];
  uint64_t seq;
  CHECK_EQ(fx_init(&x, 4), VQ_OK);
  mkcid(&c0, 100, 8);
  mktoken(t0, 100);
  CHECK_EQ(vq_cidmgr_peer_set_initial(&x.m, &c0, t0), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_current(&x.m, 0, &out, &seq), 1);
  CHECK(vq_cid_equal(&out, &c0));
  CHECK_EQ(seq, 0);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 1)), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 1)), VQ_OK); /* exact repeat */
  CHECK_EQ(active_peer(&x.m), 2);
  CHECK_EQ(vq_cidmgr_peer_unused(&x.m), 1);
  /* same sequence, another CID */
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 2)), VQ_ERR_PROTOCOL_VIOLATION);
  /* same sequence and CID, another token */
  mkncid(&n, 1, 0, 1);
  n.tok[5] ^= 1;
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, &n.f), VQ_ERR_PROTOCOL_VIOLATION);
  /* the CID of sequence 1 again under sequence 2 */
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 2, 0, 1)), VQ_ERR_PROTOCOL_VIOLATION);
  /* the handshake CID under sequence 3 */
  mkncid(&n, 3, 0, 9);
  n.f.cid = c0.bytes;
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, &n.f), VQ_ERR_PROTOCOL_VIOLATION);
  CHECK_EQ(active_peer(&x.m), 2);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_PROTOCOL_VIOLATION), VQ_TE_PROTOCOL_VIOLATION);
  /* Hand-built frames the parser would refuse. */
  mkncid(&n, 4, 0, 4);
  n.f.cid_len = 0;
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, &n.f), VQ_ERR_FRAME_CID_LENGTH);
  n.f.cid_len = 21;
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, &n.f), VQ_ERR_FRAME_CID_LENGTH);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 4, 5, 4)), VQ_ERR_FRAME_RETIRE_PRIOR_TO);
}

/* spec: rfc9000#19.15/3 — with a zero-length peer CID, NEW_CONNECTION_ID is a PROTOCOL_VIOLATION. */
VQ_TEST(cidmgr_peer_zero_length)
{
  fixture x;
  ncid n;
  vq_cid c0;
  CHECK_EQ(fx_init(&x, 2), VQ_OK);
  c0.len = 0;
  CHECK_EQ(vq_cidmgr_peer_set_initial(&x.m, &c0, NULL), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 1)), VQ_ERR_PROTOCOL_VIOLATION);
}

/* spec: rfc9000#5.1.1/6 — more active CIDs than our limit, counted after retiring those below
 * Retire Prior To, is CONNECTION_ID_LIMIT_ERROR. spec: rfc9000#5.1.1/5 — a frame may exceed the
 * limit temporarily when its Retire Prior To retires the excess. */
VQ_TEST(cidmgr_peer_limit)
{
  fixture x;
  ncid n;
  vq_cid c0;
  CHECK_EQ(fx_init(&x, 2), VQ_OK);
  mkcid(&c0, 100, 8);
  CHECK_EQ(vq_cidmgr_peer_set_initial(&x.m, &c0, NULL), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 1)), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 2, 0, 2)), VQ_ERR_CONNECTION_ID_LIMIT);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_CONNECTION_ID_LIMIT), VQ_TE_CONNECTION_ID_LIMIT_ERROR);
  CHECK_EQ(active_peer(&x.m), 2);
  CHECK_EQ(x.m.retire_n, 0); /* nothing changed */
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 2, 1, 2)), VQ_OK); /* retires seq 0 */
  CHECK_EQ(active_peer(&x.m), 2);
  CHECK(queued(&x.m, 0));
  /* seq 3 and 4 with Retire Prior To 3: 1 and 2 go, 3 stays, 4 comes: 2 active. */
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 4, 3, 4)), VQ_OK);
  CHECK(queued(&x.m, 1) && queued(&x.m, 2));
  CHECK_EQ(active_peer(&x.m), 1);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 3, 3, 3)), VQ_OK);
  CHECK_EQ(active_peer(&x.m), 2);
}

/* spec: rfc9000#5.1.2/4 — an increased Retire Prior To retires the CIDs below it;
 * spec: rfc9000#19.15/8 — a smaller one is ignored; spec: rfc9000#19.15/9 — a new CID below it is
 * retired at once. */
VQ_TEST(cidmgr_peer_retire_prior_to)
{
  fixture x;
  ncid n;
  vq_cid c0, out;
  uint64_t seq;
  CHECK_EQ(fx_init(&x, 4), VQ_OK);
  mkcid(&c0, 100, 8);
  CHECK_EQ(vq_cidmgr_peer_set_initial(&x.m, &c0, NULL), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 1)), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 2, 0, 2)), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 3, 2, 3)), VQ_OK);
  CHECK_EQ(x.m.peer_rpt, 2);
  CHECK_EQ(x.m.retire_n, 2);
  CHECK(queued(&x.m, 0) && queued(&x.m, 1));
  /* The CID in use (seq 0) was retired: the path must switch. */
  CHECK_EQ(x.m.in_use_retired, 1);
  CHECK_EQ(vq_cidmgr_peer_current(&x.m, 0, &out, &seq), 0);
  CHECK_EQ(vq_cidmgr_peer_use(&x.m, 0, &out, &seq), VQ_OK);
  CHECK_EQ(seq, 2);
  /* A smaller Retire Prior To retires nothing. */
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 4, 1, 4)), VQ_OK);
  CHECK_EQ(x.m.peer_rpt, 2);
  CHECK_EQ(x.m.retire_n, 2);
  CHECK_EQ(active_peer(&x.m), 3);
  /* A late CID (seq 1 < 2) with a new value: not kept, retired at once, once. */
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 11)), VQ_OK);
  CHECK_EQ(x.m.retire_n, 2); /* already queued */
  CHECK_EQ(vq_cidmgr_retire_next(&x.m, &seq), 1);
  vq_cidmgr_retire_acked(&x.m, seq);
  vq_cidmgr_retire_acked(&x.m, 1);
  vq_cidmgr_retire_acked(&x.m, 0);
  CHECK_EQ(x.m.retire_n, 0);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 11)), VQ_OK);
  CHECK_EQ(x.m.retire_n, 1);
  CHECK(queued(&x.m, 1));
  CHECK_EQ(active_peer(&x.m), 3);
}

/* spec: rfc9000#5.1.2/5, rfc9000#5.1.2/7 — a peer bumping Retire Prior To without ever seeing our
 * RETIRE_CONNECTION_ID frames acknowledged cannot grow the queue: CONNECTION_ID_LIMIT_ERROR. */
VQ_TEST(cidmgr_retire_queue_bound)
{
  fixture x;
  ncid n;
  vq_cid c0;
  CHECK_EQ(fx_init(&x, 2), VQ_OK); /* queue of 16 */
  mkcid(&c0, 200, 8);
  CHECK_EQ(vq_cidmgr_peer_set_initial(&x.m, &c0, NULL), VQ_OK);
  vq_status st = VQ_OK;
  uint64_t s;
  for (s = 1; s < 100 && st == VQ_OK; s++) st = vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, s, s, (uint8_t)s));
  CHECK_EQ(st, VQ_ERR_CID_RETIRE_LIMIT);
  CHECK_EQ(vq_status_transport_error(st), VQ_TE_CONNECTION_ID_LIMIT_ERROR);
  CHECK_EQ(x.m.retire_n, 16);
  CHECK_EQ(s, 18); /* 16 retirements fit, the 17th frame is refused */
  /* In flight, lost, sent again, acknowledged: the queue drains. */
  uint64_t q, first;
  CHECK_EQ(vq_cidmgr_retire_next(&x.m, &first), 1);
  vq_cidmgr_retire_lost(&x.m, first);
  CHECK_EQ(vq_cidmgr_retire_next(&x.m, &q), 1);
  CHECK_EQ(q, first);
  int sent = 1;
  while (vq_cidmgr_retire_next(&x.m, &q)) sent++;
  CHECK_EQ(sent, 16);
  for (uint64_t k = 0; k < 20; k++) vq_cidmgr_retire_acked(&x.m, k);
  CHECK_EQ(x.m.retire_n, 0);
  /* With acknowledgements the same peer goes on forever. */
  for (uint64_t k = 17; k < 200; k++) {
    CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, k, k, (uint8_t)k)), VQ_OK);
    while (vq_cidmgr_retire_next(&x.m, &q)) vq_cidmgr_retire_acked(&x.m, q);
  }
  CHECK_EQ(active_peer(&x.m), 1);
}

/* spec: rfc9000#10.3.1 — the tail of a datagram is compared with every active peer CID's token. */
VQ_TEST(cidmgr_reset_token_match)
{
  fixture x;
  ncid n;
  vq_cid c0;
  uint8_t t0[16], dg[40];
  CHECK_EQ(fx_init(&x, 4), VQ_OK);
  mkcid(&c0, 100, 8);
  CHECK_EQ(vq_cidmgr_peer_set_initial(&x.m, &c0, NULL), VQ_OK);
  memset(dg, 0x40, sizeof dg);
  mktoken(t0, 100);
  memcpy(dg + sizeof dg - 16, t0, 16);
  CHECK_EQ(vq_cidmgr_reset_token_match(&x.m, dg, sizeof dg), 0); /* no token for seq 0 yet */
  CHECK_EQ(vq_cidmgr_peer_set_initial_token(&x.m, t0), VQ_OK);
  CHECK_EQ(vq_cidmgr_reset_token_match(&x.m, dg, sizeof dg), 1);
  CHECK_EQ(vq_cidmgr_reset_token_match(&x.m, dg + 20, 20), 0); /* shorter than 21 bytes */
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 1)), VQ_OK);
  memcpy(dg + sizeof dg - 16, n.tok, 16);
  CHECK_EQ(vq_cidmgr_reset_token_match(&x.m, dg, sizeof dg), 1);
  dg[sizeof dg - 1] ^= 0x80;
  CHECK_EQ(vq_cidmgr_reset_token_match(&x.m, dg, sizeof dg), 0);
  dg[sizeof dg - 1] ^= 0x80;
  /* Retired CIDs' tokens no longer match. */
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 2, 2, 2)), VQ_OK);
  mktoken(t0, 1);
  memcpy(dg + sizeof dg - 16, t0, 16);
  CHECK_EQ(vq_cidmgr_reset_token_match(&x.m, dg, sizeof dg), 0);
}

/* spec: rfc9000#9.5, rfc9000#5.1.2/1 — a new path (or migration) takes an unused CID; the old one
 * is retired. */
VQ_TEST(cidmgr_peer_use_and_retire_path)
{
  fixture x;
  ncid n;
  vq_cid c0, out;
  uint64_t seq, q;
  CHECK_EQ(fx_init(&x, 4), VQ_OK);
  mkcid(&c0, 100, 8);
  CHECK_EQ(vq_cidmgr_peer_set_initial(&x.m, &c0, NULL), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_use(&x.m, 1, &out, &seq), VQ_ERR_CID_UNAVAILABLE);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 2, 0, 2)), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, 1, 0, 1)), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_use(&x.m, 1, &out, &seq), VQ_OK); /* lowest first */
  CHECK_EQ(seq, 1);
  CHECK_EQ(x.m.retire_n, 0); /* path 1 had none */
  CHECK_EQ(vq_cidmgr_peer_use(&x.m, 0, &out, &seq), VQ_OK); /* migrate path 0 */
  CHECK_EQ(seq, 2);
  CHECK_EQ(vq_cidmgr_retire_next(&x.m, &q), 1);
  CHECK_EQ(q, 0);
  CHECK_EQ(vq_cidmgr_peer_current(&x.m, 1, &out, &seq), 1);
  CHECK_EQ(seq, 1);
  CHECK_EQ(vq_cidmgr_peer_retire_path(&x.m, 1), VQ_OK);
  CHECK_EQ(vq_cidmgr_peer_current(&x.m, 1, &out, &seq), 0);
  CHECK_EQ(vq_cidmgr_peer_retire_path(&x.m, 1), VQ_OK); /* none: nothing */
  CHECK_EQ(x.m.retire_n, 2);
  CHECK_EQ(vq_cidmgr_peer_unused(&x.m), 0);
}

/* spec: rfc9000#5.1.1/1, rfc9000#5.1.1/4, rfc9000#19.16/1, rfc9000#19.16/2, rfc9000#19.16/4,
 * rfc9000#5.1.1/7 — local CIDs: sequence numbers go up by one, never more than the peer's limit,
 * RETIRE_CONNECTION_ID checks, replenishing after a retirement. */
VQ_TEST(cidmgr_local_issue_and_retire)
{
  fixture x;
  vq_cid c0, c, out;
  uint8_t tk[16];
  uint64_t seq;
  vq_frame_new_cid f;
  CHECK_EQ(fx_init(&x, 2), VQ_OK);
  mkcid(&c0, 50, 8);
  mktoken(tk, 50);
  CHECK_EQ(vq_cidmgr_local_set_initial(&x.m, &c0, NULL), VQ_OK);
  CHECK_EQ(vq_cidmgr_local_want(&x.m), 1); /* the peer's default limit 2 */
  CHECK_EQ(vq_cidmgr_local_set_peer_limit(&x.m, 1), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_cidmgr_local_set_peer_limit(&x.m, 100), VQ_OK);
  CHECK_EQ(x.m.local_limit, 8); /* capped by storage */
  CHECK_EQ(vq_cidmgr_local_set_peer_limit(&x.m, 3), VQ_OK);
  CHECK_EQ(vq_cidmgr_local_want(&x.m), 2);
  /* spec: rfc9000#5.1/2 — a CID already issued (here sequence 0) is not issued again */
  CHECK_EQ(vq_cidmgr_local_add(&x.m, &c0, tk, &seq), VQ_ERR_CID_DUPLICATE);
  mkcid(&c, 51, 8);
  CHECK_EQ(vq_cidmgr_local_add(&x.m, &c, tk, &seq), VQ_OK);
  CHECK_EQ(seq, 1);
  mkcid(&c, 52, 8);
  CHECK_EQ(vq_cidmgr_local_add(&x.m, &c, tk, &seq), VQ_OK);
  CHECK_EQ(seq, 2);
  mkcid(&c, 53, 8);
  CHECK_EQ(vq_cidmgr_local_add(&x.m, &c, tk, &seq), VQ_ERR_CID_FULL);
  CHECK_EQ(vq_cidmgr_local_want(&x.m), 0);
  CHECK_EQ(vq_cidmgr_local_count(&x.m), 3);
  /* NEW_CONNECTION_ID frames: seq 1 then 2; a lost one comes back. */
  CHECK_EQ(vq_cidmgr_local_next_frame(&x.m, &f), 1);
  CHECK_EQ(f.sequence, 1);
  CHECK_EQ(f.retire_prior_to, 0);
  CHECK_EQ(f.cid_len, 8);
  CHECK_EQ(vq_cidmgr_local_next_frame(&x.m, &f), 1);
  CHECK_EQ(f.sequence, 2);
  CHECK_EQ(vq_cidmgr_local_next_frame(&x.m, &f), 0);
  vq_cidmgr_local_frame_lost(&x.m, 1);
  CHECK_EQ(vq_cidmgr_local_next_frame(&x.m, &f), 1);
  CHECK_EQ(f.sequence, 1);
  /* RETIRE_CONNECTION_ID */
  CHECK_EQ(vq_cidmgr_local_on_retire(&x.m, 3, NULL, &out), VQ_ERR_PROTOCOL_VIOLATION);
  mkcid(&c, 51, 8);
  CHECK_EQ(vq_cidmgr_local_on_retire(&x.m, 1, &c, &out), VQ_ERR_PROTOCOL_VIOLATION);
  CHECK_EQ(vq_cidmgr_local_on_retire(&x.m, 1, &c0, &out), 1);
  CHECK(vq_cid_equal(&out, &c));
  CHECK_EQ(vq_cidmgr_local_on_retire(&x.m, 1, &c0, &out), 0); /* a repeat */
  vq_cidmgr_local_frame_lost(&x.m, 1);                        /* retired: not sent again */
  CHECK_EQ(vq_cidmgr_local_next_frame(&x.m, &f), 0);
  CHECK_EQ(vq_cidmgr_local_want(&x.m), 1);
  /* Replenish from a seeded rng, tokens from the static key. */
  vq_rng rng;
  vq_rng_seed(&rng, 7);
  vq_cx cx = {0};
  cx.rng = &rng;
  uint8_t key[32];
  memset(key, 9, sizeof key);
  vq_cid added[4];
  uint32_t na = 99;
  CHECK_EQ(vq_cidmgr_local_replenish(&x.m, &cx, 12, vq_cidmgr_token_from_key, key, added, 4, &na),
           VQ_OK);
  CHECK_EQ(na, 1);
  CHECK_EQ(added[0].len, 12);
  CHECK_EQ(vq_cidmgr_local_next_frame(&x.m, &f), 1);
  CHECK_EQ(f.sequence, 3);
  uint8_t want_tok[16];
  CHECK_EQ(vq_stateless_reset_token(key, &added[0], want_tok), VQ_OK);
  CHECK_MEM(f.reset_token, 16, want_tok, 16);
  CHECK_MEM(f.cid, f.cid_len, added[0].bytes, 12);
  /* Routing table view. */
  uint32_t seen = 0;
  for (uint32_t i = 0; i < x.m.local_cap; i++) seen += (uint32_t)vq_cidmgr_local_get(&x.m, i, &out, &seq);
  CHECK_EQ(seen, 3);
  CHECK_EQ(vq_cidmgr_local_get(&x.m, 100, &out, &seq), 0);
  /* A cancelled cx issues nothing. */
  vq_cancel cancel;
  vq_cancel_init(&cancel, NULL);
  vq_cancel_set(&cancel);
  cx.cancel = &cancel;
  CHECK_EQ(vq_cidmgr_local_on_retire(&x.m, 0, NULL, &out), 1);
  CHECK_EQ(vq_cidmgr_local_replenish(&x.m, &cx, 8, vq_cidmgr_token_from_key, key, added, 4, &na),
           VQ_ECANCELED);
  CHECK_EQ(na, 0);
  CHECK_EQ(vq_cidmgr_local_count(&x.m), 2);
  /* Zero-length local CIDs: no issuing, any RETIRE_CONNECTION_ID is a violation. */
  c0.len = 0;
  CHECK_EQ(vq_cidmgr_local_set_initial(&x.m, &c0, NULL), VQ_OK);
  CHECK_EQ(vq_cidmgr_local_want(&x.m), 0);
  CHECK_EQ(vq_cidmgr_local_add(&x.m, &c, tk, &seq), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_cidmgr_local_on_retire(&x.m, 0, NULL, &out), VQ_ERR_PROTOCOL_VIOLATION);
}

/* Randomized: NEW_CONNECTION_ID frames (new, repeated, late, Retire Prior To bumps) and acks of
 * RETIRE frames against a model: a set of active sequence numbers, the largest Retire Prior To,
 * and the sequence numbers owed a RETIRE_CONNECTION_ID. */
VQ_TEST(cidmgr_peer_random_model)
{
  for (uint64_t seed = 1; seed <= 200; seed++) {
    uint64_t rs = seed * 0x9e3779b97f4a7c15ull;
    fixture x;
    ncid n;
    vq_cid c0;
    const uint64_t limit = 2 + vq_rand(&rs) % 3;
    CHECK_EQ(fx_init(&x, limit), VQ_OK);
    mkcid(&c0, 250, 8);
    CHECK_EQ(vq_cidmgr_peer_set_initial(&x.m, &c0, NULL), VQ_OK);
    uint8_t active[64] = {1}, owed[64] = {0};
    uint64_t rpt = 0, next = 1;
    for (int step = 0; step < 60; step++) {
      uint64_t r = vq_rand(&rs) % 10, seq, prior;
      if (r < 6 && next < 60) { /* a new CID, sometimes bumping Retire Prior To */
        seq = next++;
        prior = (vq_rand(&rs) % 3 == 0) ? rpt + vq_rand(&rs) % (seq - rpt + 1) : vq_rand(&rs) % (rpt + 1);
      } else if (r < 8) { /* a repeat of an issued frame (rpt not raised) */
        seq = vq_rand(&rs) % next;
        if (seq == 0) continue;
        prior = 0;
      } else { /* RETIRE frames acknowledged */
        uint64_t q;
        while (vq_cidmgr_retire_next(&x.m, &q)) {
          vq_cidmgr_retire_acked(&x.m, q);
          CHECK(owed[q]);
          owed[q] = 0;
        }
        continue;
      }
      /* model */
      const uint64_t nrpt = prior > rpt ? prior : rpt;
      uint32_t keep = 0, drop = 0, owed_n = 0;
      for (uint64_t s = 0; s < 64; s++) {
        if (active[s]) (s < nrpt ? drop++ : keep++);
        owed_n += owed[s];
      }
      const int dup = active[seq];
      const int add = !dup && seq >= nrpt;
      const int late = !dup && seq < nrpt && !owed[seq];
      vq_status want = VQ_OK;
      if (keep + (uint32_t)add > limit) want = VQ_ERR_CONNECTION_ID_LIMIT;
      else if (owed_n + drop + (uint32_t)late > 16) want = VQ_ERR_CID_RETIRE_LIMIT;
      vq_status got = vq_cidmgr_peer_on_new_cid(&x.m, mkncid(&n, seq, prior, (uint8_t)seq));
      CHECK_EQ(got, want);
      if (got != want) break;
      if (got == VQ_OK) {
        rpt = nrpt;
        for (uint64_t s = 0; s < 64; s++)
          if (active[s] && s < rpt) { active[s] = 0; owed[s] = 1; }
        if (add) active[seq] = 1;
        if (late) owed[seq] = 1;
      }
      /* compare */
      CHECK_EQ(x.m.peer_rpt, rpt);
      uint32_t na = 0, no = 0;
      for (uint64_t s = 0; s < 64; s++) { na += active[s]; no += owed[s]; }
      CHECK_EQ(active_peer(&x.m), na);
      CHECK_EQ(x.m.retire_n, no);
      CHECK(active_peer(&x.m) <= limit);
      for (uint32_t i = 0; i < x.m.peer_cap; i++)
        if (x.m.peer[i].state != VQ_CIDMGR_FREE) CHECK(active[x.m.peer[i].seq] && x.m.peer[i].seq >= rpt);
      for (uint32_t i = 0; i < x.m.retire_n; i++) CHECK(owed[x.m.retire[i].seq]);
    }
  }
}

/* spec: rfc9000#19.15/2 — while we use a zero-length CID (the peer sends us packets with an empty
 * Destination CID) no CID is issued, so no NEW_CONNECTION_ID frame can be sent. */
VQ_TEST(cidmgr_local_zero_length_issues_nothing)
{
  fixture x;
  vq_cid empty, c;
  uint8_t tk[16];
  uint64_t seq = 77;
  vq_frame_new_cid f;
  CHECK_EQ(fx_init(&x, 2), VQ_OK);
  empty.len = 0;
  mktoken(tk, 60);
  CHECK_EQ(vq_cidmgr_local_set_initial(&x.m, &empty, NULL), VQ_OK);
  CHECK_EQ(vq_cidmgr_local_set_peer_limit(&x.m, 4), VQ_OK);
  mkcid(&c, 61, 8);
  CHECK_EQ(vq_cidmgr_local_add(&x.m, &c, tk, &seq), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(seq, 77);
  CHECK_EQ(vq_cidmgr_local_next_frame(&x.m, &f), 0);
  /* the control: with an 8-byte CID the same add is issued and announced */
  mkcid(&c, 62, 8);
  CHECK_EQ(vq_cidmgr_local_set_initial(&x.m, &c, NULL), VQ_OK);
  mkcid(&c, 63, 8);
  CHECK_EQ(vq_cidmgr_local_add(&x.m, &c, tk, &seq), VQ_OK);
  CHECK_EQ(vq_cidmgr_local_next_frame(&x.m, &f), 1);
}

/* A token function that refuses (VQ_ERR_CID_DUPLICATE: "live elsewhere") the CIDs that start with
 * the byte *ud, as the endpoint's check of its routing table does. */
static vq_status refuse_first_byte(void *ud, const vq_cid *cid, uint8_t token[VQ_RESET_TOKEN_LEN])
{
  const uint8_t *b = ud;
  if (cid->len && cid->bytes[0] == *b) return VQ_ERR_CID_DUPLICATE;
  for (unsigned i = 0; i < VQ_RESET_TOKEN_LEN; i++) token[i] = (uint8_t)(cid->bytes[0] + i);
  return VQ_OK;
}

/* fill: a byte per call from the list, repeated over the CID */
typedef struct fill_seq {
  const uint8_t *v;
  size_t n, i;
} fill_seq;
static int fill_from_seq(void *ud, uint8_t *out, size_t len)
{
  fill_seq *f = ud;
  uint8_t b = f->v[f->i < f->n ? f->i : f->n - 1];
  f->i++;
  for (size_t k = 0; k < len; k++) out[k] = b;
  return 0;
}

/* spec: rfc9000#10.3.2 — a fresh CID that is live elsewhere (the token function refuses it) or
 * already one of the connection's is drawn again, so a CID and its token serve one connection. */
VQ_TEST(cidmgr_replenish_redraws_cids_in_use)
{
  fixture x;
  vq_cid c0, added[4];
  uint32_t n = 0;
  CHECK_EQ(fx_init(&x, 2), VQ_OK);
  mkcid(&c0, 0x10, 8);
  for (int i = 0; i < 8; i++) c0.bytes[i] = 0x10;
  CHECK_EQ(vq_cidmgr_local_set_initial(&x.m, &c0, NULL), VQ_OK);
  CHECK_EQ(vq_cidmgr_local_set_peer_limit(&x.m, 3), VQ_OK);
  /* draws: 0xaa (in use elsewhere), 0x10 (the connection's own), 0xbb, then 0xaa, 0xcc */
  static const uint8_t seq[5] = {0xaa, 0x10, 0xbb, 0xaa, 0xcc};
  fill_seq fs = {seq, 5, 0};
  vq_rng rng;
  vq_rng_seed(&rng, 1);
  rng.fill = fill_from_seq;
  rng.fill_ud = &fs;
  vq_cx cx = {0, NULL, NULL, &rng, NULL};
  uint8_t refused = 0xaa;
  CHECK_EQ(vq_cidmgr_local_replenish(&x.m, &cx, 8, refuse_first_byte, &refused, added, 4, &n), VQ_OK);
  CHECK_EQ(n, 2);
  CHECK_EQ(added[0].bytes[0], 0xbb);
  CHECK_EQ(added[1].bytes[0], 0xcc);
  CHECK_EQ(fs.i, 5);
  /* every draw refused: after 8 draws nothing is issued, and the refusal is reported */
  fixture y;
  CHECK_EQ(fx_init(&y, 2), VQ_OK);
  CHECK_EQ(vq_cidmgr_local_set_initial(&y.m, &c0, NULL), VQ_OK);
  static const uint8_t all_aa[1] = {0xaa};
  fill_seq fa = {all_aa, 1, 0};
  rng.fill_ud = &fa;
  CHECK_EQ(vq_cidmgr_local_replenish(&y.m, &cx, 8, refuse_first_byte, &refused, added, 4, &n),
           VQ_ERR_CID_DUPLICATE);
  CHECK_EQ(n, 0);
  CHECK_EQ(fa.i, 8);
}
