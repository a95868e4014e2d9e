/* Eva entry point for src/transport/cidmgr.c (and the src/core/cid.c functions it calls).
 *
 * The manager's state is relational (entries, limits, queue), so the harness drives it through
 * scripted sequences that reach every branch — duplicates, reuse, Retire Prior To retiring the CID
 * in use, the active-CID limit, the retirement-queue bound, late CIDs, zero-length CIDs — plus frames
 * with unknown sequence numbers, Retire Prior To and CID bytes, and datagrams of unknown contents
 * and length. Storage is small (4 peer entries, limit 2, 4 retirements, 4 local entries) so every
 * loop is analysed exactly; WP proves the functions for every capacity the contracts allow. */
#include "__fc_builtin.h"
#include "vquic/cidmgr.h"

#define PCAP 4u
#define RCAP 4u
#define LCAP 4u

static vq_cidmgr_entry peer[PCAP];
static vq_cidmgr_retire ret[RCAP];
static vq_cidmgr_entry local[LCAP];
static uint8_t cidb[20];
static uint8_t tokb[16];
static uint8_t tok2[16];
static uint8_t dg[48];

static void setup(vq_cidmgr *m)
{
  (void)vq_cidmgr_init(m, peer, PCAP, ret, RCAP, local, LCAP, 2);
}

static vq_frame_new_cid frame(uint64_t seq, uint64_t rpt, size_t len, const uint8_t *tok)
{
  vq_frame_new_cid f;
  f.sequence = seq;
  f.retire_prior_to = rpt;
  f.cid = cidb;
  f.cid_len = len;
  f.reset_token = tok;
  return f;
}

/* Storage past the capacity bounds, for the refused initialisations. */
static vq_cidmgr_entry bigp[1025];
static vq_cidmgr_retire bigr[2049];
static vq_cidmgr_entry bigl[1025];

static void init_cases(void)
{
  vq_cidmgr m;
  (void)vq_cidmgr_init(&m, peer, PCAP, ret, RCAP, local, LCAP, 1);  /* limit below 2 */
  (void)vq_cidmgr_init(&m, peer, PCAP, ret, RCAP, local, LCAP, 5);  /* limit above the table */
  (void)vq_cidmgr_init(&m, bigp, 1025, ret, RCAP, local, LCAP, 2);  /* table too large */
  (void)vq_cidmgr_init(&m, peer, PCAP, ret, 3, local, LCAP, 2);     /* queue below 2 * limit */
  (void)vq_cidmgr_init(&m, peer, PCAP, bigr, 2049, local, LCAP, 2); /* queue too large */
  (void)vq_cidmgr_init(&m, peer, PCAP, ret, RCAP, local, 1, 2);     /* local table too small */
  (void)vq_cidmgr_init(&m, peer, PCAP, ret, RCAP, bigl, 1025, 2);   /* local table too large */
  (void)vq_cidmgr_init(&m, peer, PCAP, ret, RCAP, local, LCAP, 2);
}

static void peer_cases(void)
{
  vq_cidmgr m;
  vq_cid c, out;
  uint64_t seq;
  vq_frame_new_cid f;
  setup(&m);
  for (unsigned i = 0; i < 20; i++) c.bytes[i] = out.bytes[i] = (uint8_t)i;
  c.len = 21;
  (void)vq_cidmgr_peer_set_initial(&m, &c, 0);          /* too long */
  c.len = 8;
  (void)vq_cidmgr_peer_set_initial(&m, &c, 0);
  for (unsigned i = 0; i < 8; i++) cidb[i] = (uint8_t)i;
  f = frame(0, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* seq 0 again, without a token held */
  (void)vq_cidmgr_peer_set_initial_token(&m, tokb);
  (void)vq_cidmgr_peer_current(&m, 0, &out, &seq);
  (void)vq_cidmgr_peer_current(&m, 7, &out, &seq);
  (void)vq_cidmgr_peer_use(&m, 1, &out, &seq);           /* none unused */
  (void)vq_cidmgr_peer_unused(&m);

  f = frame(1, 0, 0, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* bad length */
  f = frame(1, 2, 4, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* rpt > seq */
  cidb[0] = 1;
  f = frame(1, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* seq 1 */
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* exact repeat */
  f = frame(1, 0, 8, tok2);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* same seq, other token */
  cidb[0] = 2;
  f = frame(1, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* same seq, other CID */
  cidb[0] = 1;
  f = frame(2, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* CID reused under seq 2 */
  cidb[0] = 3;
  f = frame(2, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* over the limit of 2 */
  (void)vq_cidmgr_peer_unused(&m);
  f = frame(2, 1, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* retires seq 0 (in use) */
  (void)vq_cidmgr_peer_current(&m, 0, &out, &seq);
  (void)vq_cidmgr_peer_use(&m, 0, &out, &seq);           /* takes seq 1 */
  (void)vq_cidmgr_peer_use(&m, 0, &out, &seq);           /* switches to seq 2, retires 1 */
  (void)vq_cidmgr_peer_retire_path(&m, 0);
  (void)vq_cidmgr_peer_retire_path(&m, 5);               /* no CID on that path */
  cidb[0] = 4;
  f = frame(0, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* late: below rpt 1, retired at once */
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* late again: already queued */
  cidb[0] = 7;
  f = frame(3, 3, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* retires 2 after a free slot */
  cidb[0] = 8;
  f = frame(2, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* late, queue scanned past others */
  cidb[0] = 5;
  f = frame(5, 5, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* queue bound */
  {
    uint64_t s;
    for (int k = 0; k < 8; k++) (void)vq_cidmgr_retire_next(&m, &s);
  }
  vq_cidmgr_retire_lost(&m, 1);
  vq_cidmgr_retire_acked(&m, 1);
  vq_cidmgr_retire_acked(&m, 99);
  vq_cidmgr_retire_acked(&m, 0);
  vq_cidmgr_retire_acked(&m, 2);
  vq_cidmgr_retire_acked(&m, 3);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);
  (void)vq_cidmgr_peer_use(&m, 3, &out, &seq);
  (void)vq_cidmgr_peer_use(&m, 3, &out, &seq);

  /* A full queue blocks switching and abandoning. */
  setup(&m);
  (void)vq_cidmgr_peer_set_initial(&m, &c, tokb);
  cidb[0] = 6;
  f = frame(1, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);
  for (uint64_t q = 100; q < 104; q++) {
    cidb[0] = (uint8_t)q;
    f = frame(q, 0, 8, tokb);   /* late ones fill the queue once rpt is up */
    (void)vq_cidmgr_peer_on_new_cid(&m, &f);
  }
  m.retire_n = m.retire_cap;
  (void)vq_cidmgr_peer_use(&m, 0, &out, &seq);
  (void)vq_cidmgr_peer_retire_path(&m, 0);
  cidb[0] = 60;
  f = frame(200, 200, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);               /* no room to retire: refused */

  /* Unknown frames on a table holding seq 0 and 1. */
  setup(&m);
  (void)vq_cidmgr_peer_set_initial(&m, &c, tokb);
  cidb[0] = 9;
  f = frame(1, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);
  for (unsigned i = 0; i < 20; i++) cidb[i] = Frama_C_unsigned_char_interval(0, 255);
  for (unsigned i = 0; i < 16; i++) tok2[i] = Frama_C_unsigned_char_interval(0, 255);
  uint64_t s = Frama_C_unsigned_long_interval(0, 4611686018427387903ul);
  uint64_t r = Frama_C_unsigned_long_interval(0, 4611686018427387903ul);
  size_t l = Frama_C_size_t_interval(0, 21);
  f = frame(s, r, l, tok2);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);

  /* Stateless reset lookup. */
  for (unsigned i = 0; i < sizeof dg; i++) dg[i] = Frama_C_unsigned_char_interval(0, 255);
  size_t dl = Frama_C_size_t_interval(0, sizeof dg);
  (void)vq_cidmgr_reset_token_match(&m, dg, dl);
  (void)vq_cidmgr_reset_token_match(&m, dg, 10);
  (void)vq_stateless_reset_match(dg, 10, tokb);

  /* Zero-length peer CIDs. */
  setup(&m);
  c.len = 0;
  (void)vq_cidmgr_peer_set_initial(&m, &c, 0);
  (void)vq_cidmgr_peer_set_initial_token(&m, tokb);
  f = frame(1, 0, 8, tokb);
  (void)vq_cidmgr_peer_on_new_cid(&m, &f);
  setup(&m);
  (void)vq_cidmgr_peer_set_initial_token(&m, tokb);      /* no sequence 0 */
}

static void local_cases(void)
{
  vq_cidmgr m;
  vq_cid c, out, dcid;
  uint64_t seq;
  vq_frame_new_cid f;
  setup(&m);
  for (unsigned i = 0; i < 20; i++) c.bytes[i] = out.bytes[i] = dcid.bytes[i] = (uint8_t)i;
  c.len = 21;
  (void)vq_cidmgr_local_set_initial(&m, &c, 0);
  c.len = 8;
  (void)vq_cidmgr_local_set_initial(&m, &c, tokb);
  (void)vq_cidmgr_local_set_initial(&m, &c, 0);
  (void)vq_cidmgr_local_set_peer_limit(&m, 1);
  (void)vq_cidmgr_local_set_peer_limit(&m, 3);
  (void)vq_cidmgr_local_set_peer_limit(&m, 100);
  (void)vq_cidmgr_local_want(&m);
  (void)vq_cidmgr_local_add(&m, &c, tokb, &seq);         /* duplicate of seq 0 */
  c.len = 0;
  (void)vq_cidmgr_local_add(&m, &c, tokb, &seq);         /* empty */
  c.len = 8;
  for (uint8_t k = 1; k < 6; k++) {
    c.bytes[0] = k;
    (void)vq_cidmgr_local_add(&m, &c, tokb, &seq);       /* the last ones: full */
  }
  (void)vq_cidmgr_local_count(&m);
  (void)vq_cidmgr_local_want(&m);                        /* none: at the limit */
  c.len = 21;
  (void)vq_cidmgr_local_add(&m, &c, tokb, &seq);         /* too long */
  c.len = 8;
  while (vq_cidmgr_local_next_frame(&m, &f)) {
  }
  (void)vq_cidmgr_local_on_retire(&m, 1, 0, &out);
  c.bytes[0] = 40;
  (void)vq_cidmgr_local_add(&m, &c, tokb, &seq);         /* seq 4 in slot 1 */
  (void)vq_cidmgr_local_next_frame(&m, &f);
  vq_cidmgr_local_frame_lost(&m, 4);
  vq_cidmgr_local_frame_lost(&m, 3);
  (void)vq_cidmgr_local_next_frame(&m, &f);              /* seq 3 (slot 3) before seq 4 (slot 1) */
  vq_cidmgr_local_frame_lost(&m, 2);
  vq_cidmgr_local_frame_lost(&m, 77);
  (void)vq_cidmgr_local_next_frame(&m, &f);
  (void)vq_cidmgr_local_on_retire(&m, 100, 0, &out);     /* never issued */
  dcid = c;                                              /* seq 3 holds c (bytes[0] == 3)? no: last */
  dcid.bytes[0] = 2;
  (void)vq_cidmgr_local_on_retire(&m, 2, &dcid, &out);   /* the packet's own DCID */
  (void)vq_cidmgr_local_on_retire(&m, 2, 0, &out);
  (void)vq_cidmgr_local_on_retire(&m, 2, &dcid, &out);   /* a repeat */
  (void)vq_cidmgr_local_on_retire(&m, 0, &dcid, &out);
  uint32_t i = Frama_C_unsigned_int_interval(0, LCAP + 1);
  (void)vq_cidmgr_local_get(&m, i, &out, &seq);
  (void)vq_cidmgr_local_get(&m, 0, &out, &seq);
  m.local_next_seq = 4611686018427387904ul;
  c.bytes[0] = 50;
  (void)vq_cidmgr_local_add(&m, &c, tokb, &seq);         /* sequence numbers exhausted */

  c.len = 0;
  (void)vq_cidmgr_local_set_initial(&m, &c, 0);           /* zero-length */
  (void)vq_cidmgr_local_want(&m);
  (void)vq_cidmgr_local_on_retire(&m, 0, 0, &out);
  c.len = 8;
  (void)vq_cidmgr_local_add(&m, &c, tokb, &seq);         /* zero-length CIDs in use */
}

void eva_main(void)
{
  for (unsigned i = 0; i < 16; i++) tokb[i] = (uint8_t)(i + 1);
  for (unsigned i = 0; i < 16; i++) tok2[i] = (uint8_t)(i + 2);
  init_cases();
  peer_cases();
  local_cases();

  /* src/core/cid.c functions the manager does not call. */
  vq_cid a;
  a.len = 0;
  for (unsigned i = 0; i < 20; i++) a.bytes[i] = 0;
  size_t l = Frama_C_size_t_interval(0, 21);
  (void)vq_cid_set(&a, dg, l);
  (void)vq_stateless_reset_candidate(dg, l);
  vq_cid b = a;
  a.len = Frama_C_unsigned_char_interval(0, 255);
  (void)vq_cid_equal(&a, &b);
}
