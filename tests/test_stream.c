/* Tests of stream data buffers and stream states (src/transport/stream.c, stream_state.c;
 * RFC 9000 §2.2, §3, §4.5). */
#include <stdlib.h>

#include "vqtest.h"
#include "vquic/stream.h"

#define K VQ_STREAMBUF_CHUNK

/* ---- helpers ---------------------------------------------------------------------------------- */

static uint8_t pat(uint64_t i) { return (uint8_t)((i * 131u + 7u) ^ (i >> 9)); }

static void fill_pat(uint8_t *p, uint64_t off, size_t len)
{
  for (size_t i = 0; i < len; i++) p[i] = pat(off + i);
}

static int is_pat(const uint8_t *p, uint64_t off, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (p[i] != pat(off + i)) return 0;
  return 1;
}

/* A rangeset in a known shape: pairs lo, hi, ... */
static int rs_is(const vq_rangeset *s, const uint64_t *v, uint32_t n)
{
  if (s->n != n) return 0;
  for (uint32_t i = 0; i < n; i++)
    if (s->r[i].lo != v[2 * i] || s->r[i].hi != v[2 * i + 1]) return 0;
  return 1;
}

/* ---- range set -------------------------------------------------------------------------------- */

VQ_TEST(stream_rangeset_add_merge)
{
  vq_rangeset_item st[8];
  vq_rangeset s;
  vq_rangeset_init(&s, st, 8);
  CHECK_EQ(vq_rangeset_add(&s, 10, 20), VQ_OK);
  CHECK_EQ(vq_rangeset_add(&s, 30, 40), VQ_OK);
  CHECK_EQ(vq_rangeset_add(&s, 0, 5), VQ_OK);
  CHECK(rs_is(&s, (const uint64_t[]){0, 5, 10, 20, 30, 40}, 3));
  CHECK_EQ(vq_rangeset_add(&s, 7, 7), VQ_OK); /* empty: nothing */
  CHECK_EQ(vq_rangeset_add(&s, 9, 3), VQ_OK);
  CHECK_EQ(s.n, 3);
  CHECK_EQ(vq_rangeset_add(&s, 20, 25), VQ_OK); /* adjacent above: merges */
  CHECK_EQ(vq_rangeset_add(&s, 8, 10), VQ_OK);  /* adjacent below: merges */
  CHECK(rs_is(&s, (const uint64_t[]){0, 5, 8, 25, 30, 40}, 3));
  CHECK_EQ(vq_rangeset_add(&s, 5, 8), VQ_OK); /* fills a gap exactly: three become one */
  CHECK(rs_is(&s, (const uint64_t[]){0, 25, 30, 40}, 2));
  CHECK_EQ(vq_rangeset_add(&s, 12, 35), VQ_OK); /* overlaps both */
  CHECK(rs_is(&s, (const uint64_t[]){0, 40}, 1));
  CHECK_EQ(vq_rangeset_add(&s, 50, 60), VQ_OK);
  CHECK_EQ(vq_rangeset_add(&s, 70, 80), VQ_OK);
  CHECK_EQ(vq_rangeset_add(&s, 45, 100), VQ_OK); /* swallows two ranges */
  CHECK(rs_is(&s, (const uint64_t[]){0, 40, 45, 100}, 2));
  CHECK_EQ(vq_rangeset_add(&s, 50, 60), VQ_OK); /* inside: no change */
  CHECK(rs_is(&s, (const uint64_t[]){0, 40, 45, 100}, 2));
  CHECK(vq_rangeset_contains(&s, 0, 40));
  CHECK(vq_rangeset_contains(&s, 46, 99));
  CHECK(vq_rangeset_contains(&s, 45, 100));
  CHECK(vq_rangeset_contains(&s, 3, 3)); /* empty */
  CHECK(!vq_rangeset_contains(&s, 39, 46));
  CHECK(!vq_rangeset_contains(&s, 40, 41));
  CHECK(!vq_rangeset_contains(&s, 99, 101));
  CHECK(!vq_rangeset_contains(&s, 200, 201));
}

VQ_TEST(stream_rangeset_remove_split)
{
  vq_rangeset_item st[4];
  vq_rangeset s;
  vq_rangeset_init(&s, st, 4);
  CHECK_EQ(vq_rangeset_add(&s, 0, 100), VQ_OK);
  vq_rangeset_remove(&s, 40, 60); /* split */
  CHECK(rs_is(&s, (const uint64_t[]){0, 40, 60, 100}, 2));
  vq_rangeset_remove(&s, 0, 10); /* prefix */
  vq_rangeset_remove(&s, 90, 200); /* suffix and beyond */
  CHECK(rs_is(&s, (const uint64_t[]){10, 40, 60, 90}, 2));
  vq_rangeset_remove(&s, 40, 60); /* exactly the gap: nothing */
  vq_rangeset_remove(&s, 50, 50);  /* empty */
  CHECK(rs_is(&s, (const uint64_t[]){10, 40, 60, 90}, 2));
  vq_rangeset_remove(&s, 30, 70); /* across the gap: trims both */
  CHECK(rs_is(&s, (const uint64_t[]){10, 30, 70, 90}, 2));
  CHECK_EQ(vq_rangeset_add(&s, 100, 110), VQ_OK);
  vq_rangeset_remove(&s, 20, 105); /* trims the first, drops the second, trims the third */
  CHECK(rs_is(&s, (const uint64_t[]){10, 20, 105, 110}, 2));
  vq_rangeset_remove(&s, 0, 1000);
  CHECK_EQ(s.n, 0);
  vq_rangeset_remove(&s, 0, 1000); /* on an empty set */
  CHECK_EQ(s.n, 0);
}

/* When full: adding a new island fails and changes nothing; merging still works; a split that
 * needs a slot leaves the range whole (never removes what it should keep). */
VQ_TEST(stream_rangeset_full)
{
  vq_rangeset_item st[3];
  vq_rangeset s;
  vq_rangeset_init(&s, st, 3);
  CHECK_EQ(vq_rangeset_add(&s, 0, 10), VQ_OK);
  CHECK_EQ(vq_rangeset_add(&s, 20, 30), VQ_OK);
  CHECK_EQ(vq_rangeset_add(&s, 40, 50), VQ_OK);
  CHECK_EQ(vq_rangeset_add(&s, 60, 70), VQ_ERR_BUDGET);
  CHECK_EQ(vq_rangeset_add(&s, 12, 18), VQ_ERR_BUDGET);
  CHECK(rs_is(&s, (const uint64_t[]){0, 10, 20, 30, 40, 50}, 3));
  CHECK_EQ(vq_rangeset_add(&s, 50, 55), VQ_OK);
  CHECK_EQ(vq_rangeset_add(&s, 10, 20), VQ_OK); /* joins two: frees a slot */
  CHECK(rs_is(&s, (const uint64_t[]){0, 30, 40, 55}, 2));
  CHECK_EQ(vq_rangeset_add(&s, 60, 70), VQ_OK);
  vq_rangeset_remove(&s, 5, 10); /* split needed, no slot: unchanged (superset) */
  CHECK(rs_is(&s, (const uint64_t[]){0, 30, 40, 55, 60, 70}, 3));
  vq_rangeset_remove(&s, 0, 10); /* a prefix trim needs no slot */
  CHECK(rs_is(&s, (const uint64_t[]){10, 30, 40, 55, 60, 70}, 3));
  vq_rangeset_remove(&s, 50, 60); /* suffix trim */
  CHECK(rs_is(&s, (const uint64_t[]){10, 30, 40, 50, 60, 70}, 3));
  vq_rangeset_remove(&s, 45, 46);
  CHECK(rs_is(&s, (const uint64_t[]){10, 30, 40, 50, 60, 70}, 3));
  vq_rangeset_remove(&s, 40, 50); /* a whole range goes: now the split has room */
  vq_rangeset_remove(&s, 15, 20);
  CHECK(rs_is(&s, (const uint64_t[]){10, 15, 20, 30, 60, 70}, 3));
  /* A set with no storage refuses every new range. */
  vq_rangeset z;
  vq_rangeset_init(&z, NULL, 5);
  CHECK_EQ(vq_rangeset_add(&z, 1, 2), VQ_ERR_BUDGET);
  CHECK_EQ(z.n, 0);
}

/* Random operations against a bitmap model: the set is always sorted, disjoint and non-adjacent;
 * add is exact (or fails only when a new slot is needed, changing nothing); remove is exact or, when
 * it cannot split, a superset of the exact result that never keeps bytes outside the old set. */
VQ_TEST(stream_rangeset_random)
{
  enum { N = 256 };
  uint64_t seed = 0x5eed1234;
  for (int round = 0; round < 200; round++) {
    uint32_t cap = 1 + (uint32_t)(vq_rand(&seed) % 10);
    vq_rangeset_item st[10];
    vq_rangeset s;
    vq_rangeset_init(&s, st, cap);
    uint8_t model[N] = {0};
    for (int op = 0; op < 60; op++) {
      uint64_t lo = vq_rand(&seed) % N, hi = lo + vq_rand(&seed) % 40;
      if (hi > N) hi = N;
      uint8_t before[N], now[N] = {0};
      memcpy(before, model, N);
      int is_add = vq_rand(&seed) % 3 != 0;
      if (is_add) {
        uint32_t n0 = s.n;
        vq_status r = vq_rangeset_add(&s, lo, hi);
        if (r == VQ_OK) {
          for (uint64_t x = lo; x < hi; x++) model[x] = 1;
        } else {
          CHECK_EQ(r, VQ_ERR_BUDGET);
          CHECK_EQ(n0, cap);
        }
      } else {
        vq_rangeset_remove(&s, lo, hi);
      }
      for (uint32_t i = 0; i < s.n; i++) {
        CHECK(s.r[i].lo < s.r[i].hi);
        if (i > 0) CHECK(s.r[i - 1].hi < s.r[i].lo);
        for (uint64_t x = s.r[i].lo; x < s.r[i].hi && x < N; x++) now[x] = 1;
      }
      CHECK(s.n <= cap);
      if (is_add) {
        CHECK(memcmp(now, model, N) == 0);
      } else {
        /* never removes outside [lo, hi), never invents bytes; exact when it could */
        int exact = 1;
        for (uint64_t x = 0; x < N; x++) {
          int want = before[x] && !(x >= lo && x < hi);
          if (want) CHECK(now[x]);
          if (now[x]) CHECK(before[x]);
          if (now[x] != want) exact = 0;
        }
        if (!exact) {
          CHECK_EQ(s.n, cap); /* only for lack of a slot, and then the set did not change */
          CHECK(memcmp(now, before, N) == 0);
        }
        memcpy(model, now, N);
      }
      for (int q = 0; q < 4; q++) {
        uint64_t a = vq_rand(&seed) % N, b = a + vq_rand(&seed) % 20;
        if (b > N) b = N;
        int all = 1;
        for (uint64_t x = a; x < b; x++) all &= model[x];
        CHECK_EQ(vq_rangeset_contains(&s, a, b), all);
      }
    }
  }
}

/* ---- send buffer ------------------------------------------------------------------------------ */

typedef struct sb_env {
  vq_mem mem;
  vq_sendbuf b;
} sb_env;

static void sb_setup(sb_env *e, size_t mem_limit, uint64_t limit)
{
  vq_mem_init(&e->mem, vq_allocator_system(), NULL, mem_limit);
  vq_sendbuf_init(&e->b, &e->mem, limit);
}

static size_t sb_write_pat(vq_sendbuf *b, size_t len, int fin)
{
  uint8_t *tmp = malloc(len ? len : 1);
  fill_pat(tmp, b->end, len);
  size_t acc = 0;
  vq_status st = vq_sendbuf_write(b, tmp, len, fin, &acc);
  free(tmp);
  return st == VQ_OK ? acc : (size_t)-1;
}

/* spec: rfc9000#4.5/2 — nothing is written (so nothing sent) beyond the final size once FIN is set. */
VQ_TEST(stream_sendbuf_in_order)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(vq_sendbuf_next(b, 1000, UINT64_MAX, &off, &len, &fin), 0); /* nothing yet */
  CHECK_EQ(sb_write_pat(b, 10000, 1), 10000);
  CHECK(b->fin);
  CHECK_EQ(vq_sendbuf_obligations(b), 10001);
  uint64_t expect = 0;
  uint8_t buf[3000];
  while (vq_sendbuf_next(b, 3000, UINT64_MAX, &off, &len, &fin)) {
    CHECK_EQ(off, expect);
    CHECK_EQ(fin, off + len == 10000);
    vq_sendbuf_copy(b, off, len, buf);
    CHECK(is_pat(buf, off, len));
    vq_sendbuf_on_sent(b, off, len, fin);
    expect += len;
  }
  CHECK_EQ(expect, 10000);
  CHECK(b->fin_sent);
  CHECK_EQ(b->sent, 10000);
  CHECK_EQ(vq_sendbuf_obligations(b), 10001);
  vq_sendbuf_on_acked(b, 0, 3000, 0);
  CHECK_EQ(b->base, 3000);
  CHECK_EQ(b->nchunks, 3); /* chunk 0 freed: [3000, 10000) lies in chunks 0..2 -> 1..2 */
  CHECK_EQ(vq_sendbuf_obligations(b), 7001);
  vq_sendbuf_on_acked(b, 6000, 3000, 0); /* out of order: held in acked */
  CHECK_EQ(b->base, 3000);
  CHECK_EQ(vq_sendbuf_obligations(b), 4001);
  vq_sendbuf_on_acked(b, 9000, 1000, 1);
  CHECK(b->fin_acked);
  CHECK(!vq_sendbuf_done(b));
  CHECK_EQ(vq_sendbuf_obligations(b), 3000);
  vq_sendbuf_on_acked(b, 3000, 3000, 0); /* fills the gap: base jumps to the end */
  CHECK_EQ(b->base, 10000);
  CHECK_EQ(b->acked.n, 0);
  CHECK_EQ(vq_sendbuf_obligations(b), 0);
  CHECK(vq_sendbuf_done(b));
  CHECK_EQ(b->nchunks, 0); /* all acknowledged: the last, partly used chunk is freed too */
  CHECK(b->chunks == NULL);
  vq_sendbuf_on_acked(b, 0, 10000, 1); /* a duplicate ACK changes nothing */
  CHECK(vq_sendbuf_done(b));
  CHECK_EQ(vq_sendbuf_next(b, 3000, UINT64_MAX, &off, &len, &fin), 0);
  size_t acc = 99;
  CHECK_EQ(vq_sendbuf_write(b, (const uint8_t *)"x", 1, 0, &acc), VQ_ERR_STREAM_STATE); /* after fin */
  CHECK_EQ(acc, 0);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* An idle stream holds no storage: once every byte written is acknowledged, the partly used last
 * chunk is freed (mem.used back to 0 with the stream still open), and a later write in the middle of
 * that chunk allocates it again and reads back at the right offsets. */
VQ_TEST(stream_sendbuf_idle_frees_chunks)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  uint8_t buf[8192];
  for (int round = 0; round < 3; round++) {
    const uint64_t start = b->end;
    const size_t n = round == 1 ? 5000 : 100; /* the second round crosses a chunk boundary */
    CHECK_EQ(sb_write_pat(b, n, 0), n);
    CHECK(b->nchunks >= 1);
    CHECK(e.mem.used > 0);
    CHECK_EQ(vq_sendbuf_next(b, sizeof buf, UINT64_MAX, &off, &len, &fin), 1);
    CHECK_EQ(off, start);
    CHECK_EQ(len, n);
    vq_sendbuf_copy(b, off, len, buf);
    CHECK(is_pat(buf, off, len));
    vq_sendbuf_on_sent(b, off, len, fin);
    vq_sendbuf_on_acked(b, off, len, fin);
    CHECK_EQ(b->base, start + n);
    CHECK_EQ(b->nchunks, 0);
    CHECK_EQ(e.mem.used, 0);
    CHECK_EQ(vq_sendbuf_obligations(b), 0);
  }
  CHECK_EQ(b->end, 5200);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* spec: rfc9002#6.2.4/6 — what a PTO probe resends of a packet still in flight: the parts of its
 * range not acknowledged (with the FIN when it was on it), never more than the room; sending it again
 * takes no new offset, and the ACKs of both copies discharge each byte once. */
VQ_TEST(stream_sendbuf_resend_in_flight)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(vq_sendbuf_resend(b, 0, 100, 0, 1000, &off, &len, &fin), 0); /* nothing sent */
  CHECK_EQ(sb_write_pat(b, 3000, 1), 3000);
  vq_sendbuf_on_sent(b, 0, 1000, 0);
  vq_sendbuf_on_sent(b, 1000, 1000, 0);
  vq_sendbuf_on_sent(b, 2000, 1000, 1);
  /* the first packet's range, whole, then cut to the room */
  CHECK_EQ(vq_sendbuf_resend(b, 0, 1000, 0, 5000, &off, &len, &fin), 1);
  CHECK_EQ(off, 0);
  CHECK_EQ(len, 1000);
  CHECK(!fin);
  CHECK_EQ(vq_sendbuf_resend(b, 0, 1000, 0, 300, &off, &len, &fin), 1);
  CHECK_EQ(len, 300);
  CHECK_EQ(vq_sendbuf_resend(b, 0, 1000, 0, 0, &off, &len, &fin), 0);
  /* part of it acknowledged (another packet carried [200, 500) too): what is left, in order */
  vq_sendbuf_on_acked(b, 200, 300, 0);
  CHECK_EQ(vq_sendbuf_resend(b, 0, 1000, 0, 5000, &off, &len, &fin), 1);
  CHECK_EQ(off, 0);
  CHECK_EQ(len, 200);
  vq_sendbuf_on_acked(b, 0, 200, 0);
  CHECK_EQ(vq_sendbuf_resend(b, 0, 1000, 0, 5000, &off, &len, &fin), 1);
  CHECK_EQ(off, 500);
  CHECK_EQ(len, 500);
  /* the last packet's range goes with its FIN */
  CHECK_EQ(vq_sendbuf_resend(b, 2000, 1000, 1, 5000, &off, &len, &fin), 1);
  CHECK_EQ(off, 2000);
  CHECK_EQ(len, 1000);
  CHECK(fin);
  uint8_t buf[1000];
  vq_sendbuf_copy(b, off, len, buf);
  CHECK(is_pat(buf, off, len));
  const uint64_t sent = b->sent, owed = vq_sendbuf_obligations(b);
  vq_sendbuf_on_sent(b, off, len, fin); /* the probe carried it */
  CHECK_EQ(b->sent, sent);
  CHECK_EQ(vq_sendbuf_obligations(b), owed);
  /* the copy's ACK, then the original's: counted once */
  vq_sendbuf_on_acked(b, 2000, 1000, 1);
  CHECK(b->fin_acked);
  CHECK_EQ(vq_sendbuf_obligations(b), 1500);
  vq_sendbuf_on_acked(b, 2000, 1000, 1);
  CHECK_EQ(vq_sendbuf_obligations(b), 1500);
  /* the data acknowledged, the FIN not: the FIN alone */
  CHECK_EQ(vq_sendbuf_resend(b, 2000, 1000, 1, 5000, &off, &len, &fin), 0); /* all acknowledged */
  vq_sendbuf_on_acked(b, 0, 2000, 0);
  CHECK(vq_sendbuf_done(b));
  CHECK_EQ(vq_sendbuf_resend(b, 0, 1000, 0, 5000, &off, &len, &fin), 0);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);

  sb_setup(&e, 1u << 20, 100000);
  CHECK_EQ(sb_write_pat(b, 100, 1), 100);
  vq_sendbuf_on_sent(b, 0, 100, 1);
  vq_sendbuf_on_acked(b, 0, 100, 0); /* the bytes acknowledged by a packet without the FIN */
  CHECK_EQ(vq_sendbuf_resend(b, 0, 100, 1, 5000, &off, &len, &fin), 1);
  CHECK_EQ(off, 100);
  CHECK_EQ(len, 0);
  CHECK(fin);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* A lost middle range is sent again before any new data, and only what is not acknowledged. */
VQ_TEST(stream_sendbuf_loss_retransmit_first)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(sb_write_pat(b, 5000, 0), 5000);
  for (int i = 0; i < 3; i++) { /* send [0,1000) [1000,2000) [2000,3000) */
    CHECK_EQ(vq_sendbuf_next(b, 1000, UINT64_MAX, &off, &len, &fin), 1);
    vq_sendbuf_on_sent(b, off, len, fin);
  }
  uint8_t first[1000], again[600], pat[1000];
  vq_sendbuf_copy(b, 1000, 1000, first); /* what went out at [1000, 2000): the bytes written */
  fill_pat(pat, 1000, 1000);
  CHECK_MEM(first, 1000, pat, 1000);
  vq_sendbuf_on_acked(b, 0, 1000, 0);
  vq_sendbuf_on_acked(b, 2000, 1000, 0);
  CHECK_EQ(vq_sendbuf_on_lost(b, 1000, 1000, 0), VQ_OK);
  CHECK_EQ(vq_sendbuf_next(b, 600, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(off, 1000);
  CHECK_EQ(len, 600);
  CHECK_EQ(fin, 0);
  /* spec: rfc9000#2.2/3 — the retransmission carries the very bytes first sent at that offset */
  vq_sendbuf_copy(b, off, len, again);
  CHECK_MEM(again, 600, first, 600);
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK_EQ(vq_sendbuf_next(b, 600, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(off, 1600);
  CHECK_EQ(len, 400); /* the rest of the lost range, not into acked data */
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK_EQ(vq_sendbuf_next(b, 5000, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(off, 3000); /* then new data */
  CHECK_EQ(len, 2000);
  CHECK_EQ(b->sent, 3000); /* next() changes nothing */
  /* Loss of a range of which a part was acknowledged meanwhile: only the unacked part returns. */
  vq_sendbuf_on_sent(b, off, len, fin); /* [3000, 5000) in one packet */
  vq_sendbuf_on_acked(b, 3500, 500, 0);  /* a retransmission or reordering acked a piece */
  vq_sendbuf_on_acked(b, 4500, 200, 0);
  CHECK_EQ(vq_sendbuf_on_lost(b, 3000, 2000, 0), VQ_OK);
  static const uint64_t want[][2] = {{3000, 3500}, {4000, 4500}, {4700, 5000}};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(vq_sendbuf_next(b, 5000, UINT64_MAX, &off, &len, &fin), 1);
    CHECK_EQ(off, want[i][0]);
    CHECK_EQ(off + len, want[i][1]);
    vq_sendbuf_on_sent(b, off, len, fin);
  }
  CHECK_EQ(vq_sendbuf_next(b, 5000, UINT64_MAX, &off, &len, &fin), 0);
  /* A loss reported for bytes acked before is ignored entirely. */
  vq_sendbuf_on_acked(b, 1000, 1000, 0);
  CHECK_EQ(vq_sendbuf_on_lost(b, 1000, 1000, 0), VQ_OK);
  CHECK_EQ(vq_sendbuf_next(b, 5000, UINT64_MAX, &off, &len, &fin), 0);
  CHECK_EQ(vq_sendbuf_obligations(b), 5000 - 3000 - 500 - 200);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* Acknowledging a middle part of a lost range before it is resent: next() skips it. */
VQ_TEST(stream_sendbuf_ack_inside_lost)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(sb_write_pat(b, 3000, 1), 3000);
  CHECK_EQ(vq_sendbuf_next(b, 5000, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(len, 3000);
  CHECK_EQ(fin, 1);
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK_EQ(vq_sendbuf_on_lost(b, 0, 3000, 1), VQ_OK);
  CHECK(b->fin_lost);
  vq_sendbuf_on_acked(b, 1000, 500, 0); /* a spurious loss: part of it was received after all */
  CHECK_EQ(vq_sendbuf_next(b, 5000, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(off, 0);
  CHECK_EQ(len, 1000);
  CHECK_EQ(fin, 0);
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK_EQ(vq_sendbuf_next(b, 5000, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(off, 1500);
  CHECK_EQ(len, 1500);
  CHECK_EQ(fin, 1); /* reaches the end: the lost FIN goes with it */
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK(!b->fin_lost);
  CHECK_EQ(vq_sendbuf_next(b, 5000, UINT64_MAX, &off, &len, &fin), 0);
  vq_sendbuf_on_acked(b, 0, 1000, 0);
  vq_sendbuf_on_acked(b, 1500, 1500, 1);
  CHECK(vq_sendbuf_done(b));
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

VQ_TEST(stream_sendbuf_lone_fin_and_fin_loss)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(sb_write_pat(b, 100, 0), 100);
  CHECK_EQ(vq_sendbuf_next(b, 1000, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(fin, 0);
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK_EQ(vq_sendbuf_obligations(b), 100);
  CHECK_EQ(sb_write_pat(b, 0, 1), 0); /* the application ends the stream with no more data */
  CHECK_EQ(vq_sendbuf_obligations(b), 101);
  CHECK_EQ(vq_sendbuf_next(b, 0, 0, &off, &len, &fin), 1); /* lone FIN: fits even max_len 0 */
  CHECK_EQ(off, 100);
  CHECK_EQ(len, 0);
  CHECK_EQ(fin, 1);
  vq_sendbuf_on_sent(b, 100, 0, 1);
  CHECK_EQ(vq_sendbuf_next(b, 1000, UINT64_MAX, &off, &len, &fin), 0);
  CHECK_EQ(vq_sendbuf_on_lost(b, 100, 0, 1), VQ_OK); /* the FIN is lost */
  CHECK_EQ(vq_sendbuf_next(b, 1000, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(off, 100);
  CHECK_EQ(len, 0);
  CHECK_EQ(fin, 1);
  vq_sendbuf_on_sent(b, 100, 0, 1);
  vq_sendbuf_on_acked(b, 100, 0, 1);
  CHECK_EQ(vq_sendbuf_obligations(b), 100);
  CHECK(!vq_sendbuf_done(b));
  CHECK_EQ(vq_sendbuf_on_lost(b, 100, 0, 1), VQ_OK); /* a late loss of an acked FIN: ignored */
  CHECK(!b->fin_lost);
  CHECK_EQ(vq_sendbuf_next(b, 1000, UINT64_MAX, &off, &len, &fin), 0);
  CHECK_EQ(vq_sendbuf_on_lost(b, 0, 100, 0), VQ_OK); /* the data packet is lost, not the FIN */
  CHECK_EQ(vq_sendbuf_next(b, 1000, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(off, 0);
  CHECK_EQ(len, 100);
  CHECK_EQ(fin, 0); /* the FIN was acknowledged: not sent again */
  vq_sendbuf_on_sent(b, off, len, fin);
  vq_sendbuf_on_acked(b, 0, 100, 0);
  CHECK(vq_sendbuf_done(b));
  CHECK_EQ(vq_sendbuf_obligations(b), 0);
  vq_sendbuf_free(b);
  /* An empty stream: FIN only, at offset 0. */
  sb_setup(&e, 1u << 20, 10);
  CHECK_EQ(sb_write_pat(b, 0, 1), 0);
  CHECK_EQ(vq_sendbuf_obligations(b), 1);
  CHECK_EQ(vq_sendbuf_next(b, 1000, 0, &off, &len, &fin), 1);
  CHECK_EQ(off, 0);
  CHECK_EQ(len, 0);
  CHECK_EQ(fin, 1);
  vq_sendbuf_on_sent(b, 0, 0, 1);
  vq_sendbuf_on_acked(b, 0, 0, 1);
  CHECK(vq_sendbuf_done(b));
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* spec: rfc9000#2.2/4 — new_data_limit caps new data (the FIN waits with the last bytes), never
 * retransmissions of data already within the limit. */
VQ_TEST(stream_sendbuf_new_data_limit)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(sb_write_pat(b, 2000, 1), 2000);
  CHECK_EQ(vq_sendbuf_next(b, 5000, 0, &off, &len, &fin), 0); /* no credit */
  CHECK_EQ(vq_sendbuf_next(b, 5000, 1500, &off, &len, &fin), 1);
  CHECK_EQ(off, 0);
  CHECK_EQ(len, 1500);
  CHECK_EQ(fin, 0);
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK_EQ(vq_sendbuf_next(b, 5000, 1500, &off, &len, &fin), 0); /* blocked; no lone FIN either */
  CHECK_EQ(vq_sendbuf_on_lost(b, 0, 1500, 0), VQ_OK);
  CHECK_EQ(vq_sendbuf_next(b, 5000, 10, &off, &len, &fin), 1); /* retransmission ignores the cap */
  CHECK_EQ(off, 0);
  CHECK_EQ(len, 1500);
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK_EQ(vq_sendbuf_next(b, 5000, 1999, &off, &len, &fin), 1);
  CHECK_EQ(off, 1500);
  CHECK_EQ(len, 499);
  CHECK_EQ(fin, 0);
  CHECK_EQ(vq_sendbuf_next(b, 5000, 2000, &off, &len, &fin), 1);
  CHECK_EQ(len, 500);
  CHECK_EQ(fin, 1);
  CHECK_EQ(vq_sendbuf_next(b, 499, 2000, &off, &len, &fin), 1); /* max_len cuts before the end */
  CHECK_EQ(len, 499);
  CHECK_EQ(fin, 0);
  CHECK_EQ(vq_sendbuf_next(b, 0, 2000, &off, &len, &fin), 0); /* no room for data */
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

VQ_TEST(stream_sendbuf_obligations_until_all_acked)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(sb_write_pat(b, 9000, 1), 9000);
  uint64_t offs[10];
  size_t lens[10];
  int fins[10], n = 0;
  while (vq_sendbuf_next(b, 1000, UINT64_MAX, &off, &len, &fin)) {
    vq_sendbuf_on_sent(b, off, len, fin);
    offs[n] = off;
    lens[n] = len;
    fins[n] = fin;
    n++;
  }
  CHECK_EQ(n, 9);
  static const int order[9] = {8, 3, 5, 1, 7, 0, 2, 6, 4};
  uint64_t owed = 9001;
  for (int i = 0; i < 9; i++) {
    int k = order[i];
    CHECK_EQ(vq_sendbuf_obligations(b), owed);
    CHECK(!vq_sendbuf_done(b));
    vq_sendbuf_on_acked(b, offs[k], lens[k], fins[k]);
    owed -= lens[k] + (fins[k] ? 1u : 0u);
    CHECK_EQ(vq_sendbuf_obligations(b), owed);
  }
  CHECK_EQ(owed, 0);
  CHECK(vq_sendbuf_done(b));
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* limit bounds the unacknowledged bytes held: write accepts less, and more after ACKs. */
VQ_TEST(stream_sendbuf_limit_backpressure)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 10000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(sb_write_pat(b, 6000, 0), 6000);
  CHECK_EQ(sb_write_pat(b, 6000, 1), 4000); /* only 4000 fit; no FIN since not all accepted */
  CHECK(!b->fin);
  CHECK_EQ(sb_write_pat(b, 1, 0), 0);
  CHECK_EQ(vq_sendbuf_next(b, 20000, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(len, 10000);
  vq_sendbuf_on_sent(b, off, len, fin);
  vq_sendbuf_on_acked(b, 5000, 3000, 0); /* not at base: holds nothing less */
  CHECK_EQ(sb_write_pat(b, 100, 0), 0);
  vq_sendbuf_on_acked(b, 0, 2500, 0);
  CHECK_EQ(sb_write_pat(b, 5000, 1), 2500);
  CHECK_EQ(b->end, 12500);
  uint8_t out[12500];
  vq_sendbuf_copy(b, 2500, 10000, out);
  CHECK(is_pat(out, 2500, 10000));
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* A small memory budget: a write is accepted partly (whole chunks), never a crash or a leak. */
VQ_TEST(stream_sendbuf_memory_budget)
{
  sb_env e;
  sb_setup(&e, 3 * K + 4 * sizeof(uint8_t *), 1u << 20);
  vq_sendbuf *b = &e.b;
  size_t acc = sb_write_pat(b, 5 * K, 1);
  CHECK_EQ(acc, 3 * K);
  CHECK(!b->fin);
  CHECK(e.mem.failures > 0);
  CHECK_EQ(sb_write_pat(b, 10, 0), 0);
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(vq_sendbuf_next(b, 5 * K, UINT64_MAX, &off, &len, &fin), 1);
  CHECK_EQ(len, 3 * K);
  vq_sendbuf_on_sent(b, off, len, fin);
  vq_sendbuf_on_acked(b, 0, K + 10, 0); /* frees one chunk */
  CHECK_EQ(sb_write_pat(b, 2 * K, 1), K); /* room for one chunk again */
  uint8_t out[2 * K];
  vq_sendbuf_copy(b, 2 * K, 2 * K, out);
  CHECK(is_pat(out, 2 * K, 2 * K));
  /* No memory at all: nothing is accepted. */
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
  sb_setup(&e, 16, 1u << 20);
  CHECK_EQ(sb_write_pat(b, 100, 1), 0);
  CHECK_EQ(b->end, 0);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

VQ_TEST(stream_sendbuf_abandon)
{
  sb_env e;
  sb_setup(&e, 1u << 20, 100000);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(sb_write_pat(b, 9000, 0), 9000);
  CHECK_EQ(vq_sendbuf_next(b, 4000, UINT64_MAX, &off, &len, &fin), 1);
  vq_sendbuf_on_sent(b, off, len, fin);
  CHECK_EQ(vq_sendbuf_on_lost(b, 0, 2000, 0), VQ_OK);
  CHECK(e.mem.used > 0);
  vq_sendbuf_abandon(b);
  CHECK_EQ(vq_sendbuf_obligations(b), 0);
  CHECK(!vq_sendbuf_done(b)); /* reset, not "Data Recvd" */
  CHECK_EQ(b->sent, 4000);   /* the final size for RESET_STREAM */
  CHECK_EQ(e.mem.used, 0);
  CHECK_EQ(vq_sendbuf_next(b, 4000, UINT64_MAX, &off, &len, &fin), 0);
  size_t acc = 5;
  CHECK_EQ(vq_sendbuf_write(b, (const uint8_t *)"x", 1, 1, &acc), VQ_ERR_STREAM_STATE);
  CHECK_EQ(acc, 0);
  vq_sendbuf_on_acked(b, 0, 4000, 0); /* late events are ignored */
  CHECK_EQ(vq_sendbuf_on_lost(b, 0, 4000, 0), VQ_OK);
  vq_sendbuf_on_sent(b, 0, 10, 0);
  CHECK_EQ(vq_sendbuf_next(b, 4000, UINT64_MAX, &off, &len, &fin), 0);
  CHECK_EQ(vq_sendbuf_obligations(b), 0);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* More acknowledged islands than the acked set holds, and more lost islands than the lost set holds:
 * nothing is forgotten (acks that do not fit are resent; lost ranges that do not fit are merged with
 * a neighbour) and the stream still completes. */
VQ_TEST(stream_sendbuf_fragmented_sets)
{
  sb_env e;
  sb_setup(&e, 1u << 22, 1u << 20);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  enum { P = 200, L = 100 };
  CHECK_EQ(sb_write_pat(b, P * L, 1), P * L);
  for (int i = 0; i < P; i++) {
    CHECK_EQ(vq_sendbuf_next(b, L, UINT64_MAX, &off, &len, &fin), 1);
    CHECK_EQ(off, (uint64_t)i * L);
    vq_sendbuf_on_sent(b, off, len, fin);
  }
  for (int i = 1; i < P; i += 2) vq_sendbuf_on_acked(b, (uint64_t)i * L, L, i == P - 1);
  CHECK_EQ(b->acked.n, VQ_STREAMBUF_RANGES);
  CHECK(vq_sendbuf_obligations(b) >= (uint64_t)(P / 2) * L);
  for (int i = 0; i < P; i += 2) CHECK_EQ(vq_sendbuf_on_lost(b, (uint64_t)i * L, L, 0), VQ_OK);
  CHECK(b->lost.n <= VQ_STREAMBUF_RANGES);
  /* Every byte that is not recorded as acked is queued to be sent again. */
  for (uint64_t x = 0; x < P * L; x += 50) {
    int acked = vq_rangeset_contains(&b->acked, x, x + 1);
    int lost = vq_rangeset_contains(&b->lost, x, x + 1);
    CHECK(acked || lost);
  }
  /* Resend and acknowledge until done. */
  int rounds = 0;
  while (!vq_sendbuf_done(b) && rounds++ < 10000) {
    if (!vq_sendbuf_next(b, 3 * L, UINT64_MAX, &off, &len, &fin)) break;
    uint8_t out[3 * L];
    vq_sendbuf_copy(b, off, len, out);
    CHECK(is_pat(out, off, len));
    vq_sendbuf_on_sent(b, off, len, fin);
    vq_sendbuf_on_acked(b, off, len, fin);
  }
  CHECK(vq_sendbuf_done(b));
  CHECK_EQ(vq_sendbuf_obligations(b), 0);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* The lost set is full and an ACK lands inside a lost range (the range cannot be split, so it stays
 * whole): next() skips the acknowledged bytes, and sending pieces of what follows makes progress. */
VQ_TEST(stream_sendbuf_full_lost_progress)
{
  sb_env e;
  sb_setup(&e, 1u << 22, 1u << 20);
  vq_sendbuf *b = &e.b;
  uint64_t off;
  size_t len;
  int fin;
  CHECK_EQ(sb_write_pat(b, 6400, 0), 6400);
  for (int i = 0; i < 64; i++) {
    CHECK_EQ(vq_sendbuf_next(b, 100, UINT64_MAX, &off, &len, &fin), 1);
    vq_sendbuf_on_sent(b, off, len, fin);
  }
  for (int i = 0; i < 64; i += 2) CHECK_EQ(vq_sendbuf_on_lost(b, (uint64_t)i * 100, 100, 0), VQ_OK);
  CHECK_EQ(b->lost.n, VQ_STREAMBUF_RANGES);
  vq_sendbuf_on_acked(b, 20, 30, 0); /* inside lost [0, 100) */
  CHECK_EQ(b->lost.r[0].lo, 0);
  CHECK_EQ(b->lost.r[0].hi, 100); /* kept whole: no slot for the split */
  static const uint64_t want[][2] = {{0, 20}, {50, 70}, {70, 90}, {90, 100}, {200, 220}};
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(vq_sendbuf_next(b, 20, UINT64_MAX, &off, &len, &fin), 1);
    CHECK_EQ(off, want[i][0]);
    CHECK_EQ(off + len, want[i][1]);
    vq_sendbuf_on_sent(b, off, len, fin);
  }
  CHECK_EQ(vq_sendbuf_obligations(b), 6400 - 30);
  vq_sendbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* ---- receive buffer --------------------------------------------------------------------------- */

typedef struct rb_env {
  vq_mem mem;
  vq_recvbuf b;
} rb_env;

static void rb_setup(rb_env *e, size_t mem_limit, uint64_t window)
{
  vq_mem_init(&e->mem, vq_allocator_system(), NULL, mem_limit);
  vq_recvbuf_init(&e->b, &e->mem, window);
}

static vq_status rb_put(vq_recvbuf *b, uint64_t off, size_t len, int fin)
{
  uint8_t *tmp = malloc(len ? len : 1);
  fill_pat(tmp, off, len);
  vq_status st = vq_recvbuf_insert(b, off, tmp, len, fin);
  free(tmp);
  return st;
}

/* spec: rfc9000#2.2/1 — data is delivered as an ordered byte stream. */
VQ_TEST(stream_recvbuf_in_order)
{
  rb_env e;
  rb_setup(&e, 1u << 20, 100000);
  vq_recvbuf *b = &e.b;
  uint8_t out[20000];
  int fin = 7;
  CHECK_EQ(vq_recvbuf_read(b, out, sizeof out, &fin), 0);
  CHECK_EQ(fin, 0);
  CHECK_EQ(rb_put(b, 0, 3000, 0), VQ_OK);
  CHECK_EQ(rb_put(b, 3000, 3000, 0), VQ_OK);
  CHECK_EQ(vq_recvbuf_readable(b), 6000);
  CHECK_EQ(rb_put(b, 6000, 0, 1), VQ_OK); /* FIN alone */
  CHECK_EQ(b->final_size, 6000);
  CHECK_EQ(vq_recvbuf_read(b, out, 2500, &fin), 2500);
  CHECK(is_pat(out, 0, 2500));
  CHECK_EQ(fin, 0);
  CHECK_EQ(vq_recvbuf_read(b, out, sizeof out, &fin), 3500);
  CHECK(is_pat(out, 2500, 3500));
  CHECK_EQ(fin, 1);
  CHECK_EQ(vq_recvbuf_read(b, out, sizeof out, &fin), 0);
  CHECK_EQ(fin, 1);
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
  /* An empty finished stream. */
  rb_setup(&e, 1u << 20, 0);
  CHECK_EQ(rb_put(b, 0, 0, 1), VQ_OK);
  CHECK_EQ(vq_recvbuf_read(b, out, sizeof out, &fin), 0);
  CHECK_EQ(fin, 1);
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* spec: rfc9000#2.2/1 — out of order, overlapping and duplicate pieces, crossing chunk boundaries,
 * come out as the ordered byte stream. */
VQ_TEST(stream_recvbuf_reassembly)
{
  rb_env e;
  rb_setup(&e, 1u << 20, 5 * K);
  vq_recvbuf *b = &e.b;
  uint8_t out[5 * K];
  int fin;
  CHECK_EQ(rb_put(b, 2 * K - 100, 300, 0), VQ_OK); /* straddles chunks 1 and 2 */
  CHECK_EQ(vq_recvbuf_readable(b), 0);
  CHECK_EQ(vq_recvbuf_read(b, out, sizeof out, &fin), 0);
  CHECK_EQ(rb_put(b, 4 * K, K, 1), VQ_OK);
  CHECK_EQ(rb_put(b, 100, 50, 0), VQ_OK);
  CHECK_EQ(rb_put(b, 2 * K - 100, 300, 0), VQ_OK); /* duplicate */
  CHECK_EQ(rb_put(b, 0, 120, 0), VQ_OK);           /* overlaps the front */
  CHECK_EQ(vq_recvbuf_readable(b), 150);
  CHECK_EQ(rb_put(b, 140, 2 * K, 0), VQ_OK);       /* overlaps two held ranges */
  CHECK_EQ(vq_recvbuf_readable(b), 2 * K + 200);
  CHECK_EQ(vq_recvbuf_read(b, out, K + 1, &fin), K + 1);
  CHECK(is_pat(out, 0, K + 1));
  CHECK_EQ(rb_put(b, 0, 3 * K, 0), VQ_OK); /* partly read already, partly held, partly new */
  CHECK_EQ(vq_recvbuf_readable(b), 2 * K - 1);
  CHECK_EQ(rb_put(b, 3 * K, K, 0), VQ_OK);
  CHECK_EQ(vq_recvbuf_read(b, out, sizeof out, &fin), 4 * K - 1);
  CHECK(is_pat(out, K + 1, 4 * K - 1));
  CHECK_EQ(fin, 1);
  CHECK_EQ(b->have.n, 0);
  CHECK_EQ(rb_put(b, 0, 5 * K, 1), VQ_OK); /* all of it again: ignored */
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* Already held bytes are kept as they are (the first copy wins, RFC 9000 §2.2). */
VQ_TEST(stream_recvbuf_held_bytes_kept)
{
  rb_env e;
  rb_setup(&e, 1u << 20, 1000);
  vq_recvbuf *b = &e.b;
  const uint8_t a[4] = {1, 2, 3, 4}, z[8] = {9, 9, 9, 9, 9, 9, 9, 9};
  CHECK_EQ(vq_recvbuf_insert(b, 2, a, 4, 0), VQ_OK);
  CHECK_EQ(vq_recvbuf_insert(b, 0, z, 8, 0), VQ_OK);
  uint8_t out[8];
  int fin;
  CHECK_EQ(vq_recvbuf_read(b, out, 8, &fin), 8);
  CHECK_MEM(out, 8, ((const uint8_t[]){9, 9, 1, 2, 3, 4, 9, 9}), 8);
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* spec: rfc9000#4.5/3, rfc9000#4.5/4 — final size errors; nothing is stored on an error. */
VQ_TEST(stream_recvbuf_final_size_errors)
{
  rb_env e;
  rb_setup(&e, 1u << 20, 10000);
  vq_recvbuf *b = &e.b;
  CHECK_EQ(rb_put(b, 1000, 500, 0), VQ_OK);
  CHECK_EQ(rb_put(b, 0, 1200, 1), VQ_ERR_FINAL_SIZE); /* final size below data received */
  CHECK_EQ(b->final_size, UINT64_MAX);
  CHECK_EQ(vq_recvbuf_readable(b), 0); /* nothing stored */
  CHECK_EQ(rb_put(b, 1500, 500, 1), VQ_OK);
  CHECK_EQ(b->final_size, 2000);
  CHECK_EQ(rb_put(b, 1900, 101, 0), VQ_ERR_FINAL_SIZE); /* beyond the final size */
  CHECK_EQ(rb_put(b, 2000, 1, 0), VQ_ERR_FINAL_SIZE);
  CHECK_EQ(rb_put(b, 100, 100, 1), VQ_ERR_FINAL_SIZE);  /* a different final size */
  CHECK_EQ(rb_put(b, 2000, 1, 1), VQ_ERR_FINAL_SIZE);
  CHECK_EQ(rb_put(b, 1900, 100, 1), VQ_OK);             /* the same final size again */
  CHECK_EQ(rb_put(b, 0, 1000, 0), VQ_OK);
  CHECK_EQ(vq_recvbuf_readable(b), 2000);
  CHECK_EQ(vq_recvbuf_reset(b, 1999), VQ_ERR_FINAL_SIZE);
  CHECK_EQ(vq_recvbuf_reset(b, 2001), VQ_ERR_FINAL_SIZE);
  CHECK_EQ(vq_recvbuf_readable(b), 2000);
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* spec: rfc9000#4.1 — data beyond the window is FLOW_CONTROL_ERROR; the window grows. */
VQ_TEST(stream_recvbuf_flow_control)
{
  rb_env e;
  rb_setup(&e, 1u << 20, 1000);
  vq_recvbuf *b = &e.b;
  uint8_t out[2000];
  int fin;
  CHECK_EQ(rb_put(b, 500, 501, 0), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(rb_put(b, 1000, 0, 1), VQ_OK); /* a FIN exactly at the limit */
  vq_recvbuf_free(b);
  rb_setup(&e, 1u << 20, 1000);
  CHECK_EQ(rb_put(b, 500, 500, 0), VQ_OK);
  CHECK_EQ(rb_put(b, 0, 1001, 0), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(rb_put(b, UINT64_MAX - 5, 10, 0), VQ_ERR_FLOW_CONTROL); /* would overflow */
  CHECK_EQ(rb_put(b, 4611686018427387903ull, 1, 0), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(rb_put(b, 0, 500, 0), VQ_OK);
  CHECK_EQ(vq_recvbuf_read(b, out, 600, &fin), 600);
  CHECK_EQ(rb_put(b, 1000, 601, 0), VQ_ERR_FLOW_CONTROL); /* read + window = 1600 */
  CHECK_EQ(rb_put(b, 1000, 600, 0), VQ_OK);
  vq_recvbuf_set_window(b, 3000);
  CHECK_EQ(b->window, 3000);
  vq_recvbuf_set_window(b, 10); /* never shrinks */
  CHECK_EQ(b->window, 3000);
  CHECK_EQ(rb_put(b, 2000, 1600, 0), VQ_OK); /* up to 600 + 3000 */
  CHECK_EQ(rb_put(b, 3600, 1, 0), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(vq_recvbuf_reset(b, 3601), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(vq_recvbuf_read(b, out, sizeof out, &fin), 1000);
  CHECK(is_pat(out, 600, 1000));
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

VQ_TEST(stream_recvbuf_reset)
{
  rb_env e;
  rb_setup(&e, 1u << 20, 100000);
  vq_recvbuf *b = &e.b;
  uint8_t out[100];
  int fin;
  CHECK_EQ(rb_put(b, 0, 50, 0), VQ_OK);
  CHECK_EQ(rb_put(b, 3 * K, 50, 0), VQ_OK);
  CHECK_EQ(vq_recvbuf_reset(b, 3 * K + 49), VQ_ERR_FINAL_SIZE); /* below data received */
  CHECK_EQ(vq_recvbuf_reset(b, 3 * K + 60), VQ_OK);
  CHECK_EQ(e.mem.used, 0); /* buffered data discarded */
  CHECK_EQ(b->read, 3 * K + 60);
  CHECK_EQ(vq_recvbuf_read(b, out, sizeof out, &fin), 0);
  CHECK_EQ(fin, 1);
  CHECK_EQ(vq_recvbuf_reset(b, 3 * K + 60), VQ_OK); /* the same RESET_STREAM again */
  CHECK_EQ(vq_recvbuf_reset(b, 3 * K + 61), VQ_ERR_FINAL_SIZE); /* a changed final size */
  CHECK_EQ(rb_put(b, 10, 10, 0), VQ_OK);                         /* late data: ignored */
  CHECK_EQ(rb_put(b, 3 * K + 59, 2, 0), VQ_ERR_FINAL_SIZE);      /* beyond the final size */
  CHECK_EQ(e.mem.used, 0);
  vq_recvbuf_free(b);
  /* A reset after a FIN must carry the same final size. */
  rb_setup(&e, 1u << 20, 100000);
  CHECK_EQ(rb_put(b, 0, 10, 1), VQ_OK);
  CHECK_EQ(vq_recvbuf_reset(b, 11), VQ_ERR_FINAL_SIZE);
  CHECK_EQ(vq_recvbuf_reset(b, 10), VQ_OK);
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* Too fragmented, or out of memory: an error and nothing stored. */
VQ_TEST(stream_recvbuf_budgets)
{
  rb_env e;
  rb_setup(&e, 1u << 22, 1u << 20);
  vq_recvbuf *b = &e.b;
  /* islands above a hole at the read offset take every slot but the last */
  for (uint32_t i = 0; i + 1 < VQ_STREAMBUF_RANGES; i++)
    CHECK_EQ(rb_put(b, 10 + 20 * i, 10, 0), VQ_OK);
  CHECK_EQ(b->have.n, VQ_STREAMBUF_RANGES - 1);
  CHECK_EQ(rb_put(b, 10000, 10, 0), VQ_ERR_BUDGET); /* the last slot is not for another island */
  CHECK(!vq_recvbuf_can_hold(b, 10000, 10010));
  CHECK_EQ(b->highest, 10 + 20 * (VQ_STREAMBUF_RANGES - 2) + 10);
  CHECK_EQ(rb_put(b, 10000, 10, 1), VQ_ERR_BUDGET);
  CHECK_EQ(b->final_size, UINT64_MAX);
  CHECK_EQ(rb_put(b, 15, 20, 0), VQ_OK); /* merges two: fine */
  CHECK_EQ(b->have.n, VQ_STREAMBUF_RANGES - 2);
  CHECK_EQ(rb_put(b, 10000, 10, 0), VQ_OK); /* a slot freed: one more island */
  CHECK_EQ(b->have.n, VQ_STREAMBUF_RANGES - 1);
  /* the hole below the first island fills from the read offset, in pieces that touch nothing: the
   * kept slot takes the first, the next ones extend it (a retransmission split anywhere fits) */
  CHECK(vq_recvbuf_can_hold(b, 0, 3));
  CHECK_EQ(rb_put(b, 0, 3, 0), VQ_OK);
  CHECK_EQ(b->have.n, VQ_STREAMBUF_RANGES);
  CHECK_EQ(rb_put(b, 5, 2, 0), VQ_ERR_BUDGET); /* above the read offset: no slot */
  CHECK_EQ(rb_put(b, 3, 4, 0), VQ_OK);
  CHECK_EQ(rb_put(b, 7, 3, 0), VQ_OK); /* joins the first island */
  CHECK_EQ(b->have.n, VQ_STREAMBUF_RANGES - 1);
  CHECK_EQ(vq_recvbuf_readable(b), 40);
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
  /* Memory for one chunk and its ring only. */
  rb_setup(&e, K + 4 * sizeof(uint8_t *), 1u << 20);
  CHECK_EQ(rb_put(b, 0, 100, 0), VQ_OK);
  CHECK_EQ(rb_put(b, K, 100, 0), VQ_ERR_NOMEM);
  CHECK_EQ(b->highest, 100);
  CHECK_EQ(vq_recvbuf_readable(b), 100);
  uint8_t out[100];
  int fin;
  CHECK_EQ(vq_recvbuf_read(b, out, 100, &fin), 100);
  CHECK(is_pat(out, 0, 100));
  vq_recvbuf_free(b);
  CHECK_EQ(e.mem.used, 0);
}

/* ---- send buffer to receive buffer through a lossy, reordering path --------------------------- */

typedef struct pkt {
  uint64_t off;
  size_t len;
  int fin;
  uint8_t data[1500];
} pkt;

static void random_transfer(vq_t *t, uint64_t seed, uint64_t total, uint64_t sb_limit, uint64_t window,
                            size_t max_pkt, unsigned loss_pct, int max_inflight)
{
  enum { INFLIGHT = 256 };
  vq_mem sm, rm;
  vq_mem_init(&sm, vq_allocator_system(), NULL, 1u << 24);
  vq_mem_init(&rm, vq_allocator_system(), NULL, 1u << 24);
  vq_sendbuf sb;
  vq_recvbuf rb;
  vq_sendbuf_init(&sb, &sm, sb_limit);
  vq_recvbuf_init(&rb, &rm, window);
  pkt *fl = malloc(sizeof(pkt) * INFLIGHT);
  if (max_inflight > INFLIGHT) max_inflight = INFLIGHT;
  int nfl = 0;
  uint8_t *model_acked = calloc(total + 1, 1); /* bytes acked by the receiver, as the model saw */
  uint8_t *buf = malloc(4 * K);
  uint64_t written = 0, got = 0, nacked = 0, prev_base = 0;
  int got_fin = 0, fin_acked_model = 0;
  for (long step = 0; step < 2000000 && !(vq_sendbuf_done(&sb) && got_fin); step++) {
    uint64_t r = vq_rand(&seed) % 100;
    if (r < 15 && (written < total || !sb.fin)) { /* the application writes */
      size_t n = (size_t)(vq_rand(&seed) % (3 * K));
      if (n > total - written) n = (size_t)(total - written);
      fill_pat(buf, written, n);
      size_t acc = 0;
      CHECK_EQ(vq_sendbuf_write(&sb, buf, n, written + n == total, &acc), VQ_OK);
      CHECK(acc <= n);
      written += acc;
      CHECK_EQ(sb.end, written);
    } else if (r < 55 && nfl < max_inflight) { /* send a packet */
      uint64_t off;
      size_t len;
      int fin;
      size_t ml = 1 + (size_t)(vq_rand(&seed) % max_pkt);
      if (vq_sendbuf_next(&sb, ml, rb.read + rb.window, &off, &len, &fin)) {
        CHECK(len <= ml);
        CHECK(off >= sb.base && off + len <= sb.end);
        CHECK(len > 0 || fin);
        pkt *p = &fl[nfl++];
        p->off = off;
        p->len = len;
        p->fin = fin;
        vq_sendbuf_copy(&sb, off, len, p->data);
        CHECK(is_pat(p->data, off, len));
        vq_sendbuf_on_sent(&sb, off, len, fin);
      }
    } else if (r < 90 && nfl > 0) { /* a packet's fate */
      int k = (int)(vq_rand(&seed) % (uint64_t)nfl);
      pkt p = fl[k];
      fl[k] = fl[--nfl];
      uint64_t fate = vq_rand(&seed) % 100;
      int delivered = fate >= loss_pct;
      int acked = delivered && fate >= loss_pct + 10; /* some ACKs are lost too */
      if (delivered) {
        vq_status st = vq_recvbuf_insert(&rb, p.off, p.data, p.len, p.fin);
        CHECK(st == VQ_OK || st == VQ_ERR_BUDGET);
        if (st != VQ_OK) acked = 0; /* dropped by the receiver: never acknowledged */
      }
      if (acked) {
        vq_sendbuf_on_acked(&sb, p.off, p.len, p.fin);
        for (uint64_t x = p.off; x < p.off + p.len; x++) {
          nacked += !model_acked[x];
          model_acked[x] = 1;
        }
        if (p.fin) fin_acked_model = 1;
      } else {
        CHECK_EQ(vq_sendbuf_on_lost(&sb, p.off, p.len, p.fin), VQ_OK);
      }
    } else { /* the application reads */
      int fin = 0;
      size_t n = vq_recvbuf_read(&rb, buf, (size_t)(vq_rand(&seed) % (4 * K)), &fin);
      CHECK(is_pat(buf, got, n));
      got += n;
      if (fin) got_fin = 1;
      vq_recvbuf_set_window(&rb, window); /* MAX_STREAM_DATA: read + window */
    }
    /* Obligations never claim an unacknowledged byte: at least the bytes the model has not seen
     * acknowledged (the buffer may know fewer acks, when its acked set was full). */
    for (; prev_base < sb.base; prev_base++)
      if (!model_acked[prev_base]) {
        CHECK(model_acked[prev_base]); /* base never passes an unacknowledged byte */
        break;
      }
    CHECK(vq_sendbuf_obligations(&sb) >= written - nacked + (sb.fin && !fin_acked_model ? 1u : 0u));
    CHECK(vq_sendbuf_obligations(&sb) <= written - sb.base + 1);
    if (t->failed) break;
  }
  CHECK_EQ(written, total);
  CHECK(vq_sendbuf_done(&sb));
  CHECK_EQ(vq_sendbuf_obligations(&sb), 0);
  CHECK(got_fin);
  CHECK_EQ(got, total);
  for (uint64_t x = 0; x < total; x++)
    if (!model_acked[x]) {
      CHECK(model_acked[x]);
      break;
    }
  vq_sendbuf_free(&sb);
  vq_recvbuf_free(&rb);
  CHECK_EQ(sm.used, 0);
  CHECK_EQ(rm.used, 0);
  free(fl);
  free(model_acked);
  free(buf);
}

VQ_TEST(stream_random_transfer)
{
  uint64_t seed = 0xC0FFEE;
  for (int i = 0; i < 40; i++) {
    uint64_t total = vq_rand(&seed) % 60000;
    uint64_t limit = 2000 + vq_rand(&seed) % 40000;
    uint64_t window = 1000 + vq_rand(&seed) % 30000;
    size_t max_pkt = 1 + (size_t)(vq_rand(&seed) % 1400);
    unsigned loss = (unsigned)(vq_rand(&seed) % 40);
    int inflight = 8 + (int)(vq_rand(&seed) % 250);
    random_transfer(t, vq_rand(&seed), total, limit, window, max_pkt, loss, inflight);
    if (t->failed) {
      printf("  stream_random_transfer: case %d (total %llu, limit %llu, window %llu, pkt %zu, loss %u, "
             "in flight %d)\n", i, (unsigned long long)total, (unsigned long long)limit,
             (unsigned long long)window, max_pkt, loss, inflight);
      break;
    }
  }
  /* Small packets, many in flight and heavy loss: more ranges than every set holds. */
  random_transfer(t, 77, 40000, 40000, 40000, 40, 35, 256);
  random_transfer(t, 78, 0, 10, 10, 10, 50, 4);
}

/* ---- states ----------------------------------------------------------------------------------- */

#define X -1 /* refused */

/* spec: rfc9000#3.1, rfc9000#3.3/1, rfc9000#3.3/2 — Figure 2, every (state, event) pair; nothing is
 * sent from a terminal state and no STREAM after RESET_STREAM (the refused pairs). */
VQ_TEST(stream_send_states)
{
  /* events: SEND_STREAM, SEND_FIN, ALL_ACKED, RESET, RESET_ACKED */
  static const int want[6][5] = {
      /* READY */ {VQ_SEND_SEND, VQ_SEND_DATA_SENT, X, VQ_SEND_RESET_SENT, X},
      /* SEND */ {VQ_SEND_SEND, VQ_SEND_DATA_SENT, X, VQ_SEND_RESET_SENT, X},
      /* DATA_SENT */ {VQ_SEND_DATA_SENT, VQ_SEND_DATA_SENT, VQ_SEND_DATA_RECVD, VQ_SEND_RESET_SENT, X},
      /* DATA_RECVD */ {X, X, VQ_SEND_DATA_RECVD, X, X},
      /* RESET_SENT */ {X, X, X, VQ_SEND_RESET_SENT, VQ_SEND_RESET_RECVD},
      /* RESET_RECVD */ {X, X, X, X, VQ_SEND_RESET_RECVD},
  };
  for (int s = 0; s < 8; s++)
    for (int e = 0; e < 7; e++) {
      vq_send_state n = (vq_send_state)99;
      vq_status st = vq_send_state_next((vq_send_state)s, (vq_send_event)e, &n);
      int w = s < 6 && e < 5 ? want[s][e] : X;
      if (w == X) {
        CHECK_EQ(st, VQ_ERR_STREAM_STATE);
        CHECK_EQ(n, s); /* the state is unchanged */
      } else {
        CHECK_EQ(st, VQ_OK);
        CHECK_EQ(n, w);
      }
      if (t->failed) {
        printf("  send state %d event %d\n", s, e);
        return;
      }
    }
  /* A whole life: Ready -> Send -> Data Sent -> Data Recvd. */
  vq_send_state s = VQ_SEND_READY;
  CHECK_EQ(vq_send_state_next(s, VQ_SEV_SEND_STREAM, &s), VQ_OK);
  CHECK_EQ(vq_send_state_next(s, VQ_SEV_SEND_FIN, &s), VQ_OK);
  CHECK_EQ(vq_send_state_next(s, VQ_SEV_ALL_ACKED, &s), VQ_OK);
  CHECK_EQ(s, VQ_SEND_DATA_RECVD);
  CHECK_EQ(vq_send_state_next(s, VQ_SEV_RESET, &s), VQ_ERR_STREAM_STATE); /* rfc9000#3.3/1 */
  CHECK_EQ(s, VQ_SEND_DATA_RECVD);
}

/* spec: rfc9000#3.2 — Figure 3, every (state, event) pair. */
VQ_TEST(stream_recv_states)
{
  /* events: STREAM, FIN, ALL_RECEIVED, ALL_READ, RESET, RESET_READ */
  static const int want[6][6] = {
      /* RECV */ {VQ_RECV_RECV, VQ_RECV_SIZE_KNOWN, X, X, VQ_RECV_RESET_RECVD, X},
      /* SIZE_KNOWN */
      {VQ_RECV_SIZE_KNOWN, VQ_RECV_SIZE_KNOWN, VQ_RECV_DATA_RECVD, X, VQ_RECV_RESET_RECVD, X},
      /* DATA_RECVD */
      {VQ_RECV_DATA_RECVD, VQ_RECV_DATA_RECVD, VQ_RECV_DATA_RECVD, VQ_RECV_DATA_READ,
       VQ_RECV_RESET_RECVD, X},
      /* DATA_READ */
      {VQ_RECV_DATA_READ, VQ_RECV_DATA_READ, VQ_RECV_DATA_READ, VQ_RECV_DATA_READ, VQ_RECV_DATA_READ, X},
      /* RESET_RECVD */
      {VQ_RECV_RESET_RECVD, VQ_RECV_RESET_RECVD, VQ_RECV_DATA_RECVD, X, VQ_RECV_RESET_RECVD,
       VQ_RECV_RESET_READ},
      /* RESET_READ */
      {VQ_RECV_RESET_READ, VQ_RECV_RESET_READ, X, X, VQ_RECV_RESET_READ, VQ_RECV_RESET_READ},
  };
  for (int s = 0; s < 8; s++)
    for (int e = 0; e < 8; e++) {
      vq_recv_state n = (vq_recv_state)99;
      vq_status st = vq_recv_state_next((vq_recv_state)s, (vq_recv_event)e, &n);
      int w = s < 6 && e < 6 ? want[s][e] : X;
      if (w == X) {
        CHECK_EQ(st, VQ_ERR_STREAM_STATE);
        CHECK_EQ(n, s);
      } else {
        CHECK_EQ(st, VQ_OK);
        CHECK_EQ(n, w);
      }
      if (t->failed) {
        printf("  recv state %d event %d\n", s, e);
        return;
      }
    }
  /* Recv -> Size Known -> Data Recvd -> Data Read, and Recv -> Reset Recvd -> Reset Read. */
  vq_recv_state s = VQ_RECV_RECV;
  CHECK_EQ(vq_recv_state_next(s, VQ_REV_FIN, &s), VQ_OK);
  CHECK_EQ(vq_recv_state_next(s, VQ_REV_ALL_RECEIVED, &s), VQ_OK);
  CHECK_EQ(vq_recv_state_next(s, VQ_REV_ALL_READ, &s), VQ_OK);
  CHECK_EQ(s, VQ_RECV_DATA_READ);
  s = VQ_RECV_RECV;
  CHECK_EQ(vq_recv_state_next(s, VQ_REV_RESET, &s), VQ_OK);
  CHECK_EQ(vq_recv_state_next(s, VQ_REV_ALL_READ, &s), VQ_ERR_STREAM_STATE);
  CHECK_EQ(vq_recv_state_next(s, VQ_REV_RESET_READ, &s), VQ_OK);
  CHECK_EQ(s, VQ_RECV_RESET_READ);
}
