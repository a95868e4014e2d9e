/* Tests of the DATAGRAM queues and size rules (src/transport/dgram.c, RFC 9221). */
#include "vqtest.h"
#include "vquic/dgram.h"

typedef struct dfix {
  vq_dgram d;
  uint8_t txb[256], rxb[256];
  size_t txl[4], rxl[4];
} dfix;

static vq_status dfix_init(dfix *x, size_t tx_bytes, vq_dgram_policy txp, vq_dgram_policy rxp,
                           uint64_t local_max)
{
  vq_dgram_config c;
  memset(&c, 0, sizeof c);
  c.tx_buf = x->txb;
  c.tx_bytes = tx_bytes;
  c.tx_lens = x->txl;
  c.tx_count = 4;
  c.tx_policy = txp;
  c.rx_buf = x->rxb;
  c.rx_bytes = sizeof x->rxb;
  c.rx_lens = x->rxl;
  c.rx_count = 4;
  c.rx_policy = rxp;
  c.local_max = local_max;
  return vq_dgram_init(&x->d, &c);
}

static void fill(uint8_t *p, size_t n, uint8_t tag)
{
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(tag + i);
}

/* spec: rfc9221#3/1, rfc9221#3/2 — nothing before the peer's non-zero max_datagram_frame_size, and
 * no frame larger than it (type, Length and payload counted); spec: rfc9221#5 — one packet. */
VQ_TEST(dgram_send_size_rules)
{
  dfix x;
  uint8_t data[200];
  fill(data, sizeof data, 1);
  CHECK_EQ(dfix_init(&x, 256, VQ_DGRAM_DROP_OLDEST, VQ_DGRAM_DROP_OLDEST, 0), VQ_OK);
  CHECK_EQ(vq_dgram_send(&x.d, data, 10), VQ_ERR_DGRAM_DISABLED);
  CHECK_EQ(vq_dgram_max_payload(&x.d), 0);
  vq_dgram_set_peer_max(&x.d, 100);
  CHECK_EQ(vq_dgram_max_payload(&x.d), 97); /* 1 + 2 + 97 = 100 */
  CHECK_EQ(vq_dgram_frame_size(97), 100);
  CHECK_EQ(vq_dgram_send(&x.d, data, 98), VQ_ERR_DGRAM_TOO_LARGE);
  CHECK_EQ(vq_dgram_send(&x.d, data, 97), VQ_OK);
  vq_dgram_set_peer_max(&x.d, 65535);
  vq_dgram_set_packet_room(&x.d, 60);
  CHECK_EQ(vq_dgram_max_payload(&x.d), 58);
  CHECK_EQ(vq_dgram_send(&x.d, data, 59), VQ_ERR_DGRAM_TOO_LARGE);
  vq_dgram_set_packet_room(&x.d, 0);
  CHECK_EQ(vq_dgram_max_payload(&x.d), 256); /* the queue is the bound */
  CHECK_EQ(vq_dgram_send(&x.d, NULL, 0), VQ_OK); /* an empty datagram is legal */
  CHECK_EQ(vq_dgram_pending(&x.d), 2);
  CHECK_EQ(dfix_init(&x, 0, VQ_DGRAM_DROP_OLDEST, VQ_DGRAM_DROP_OLDEST, 0), VQ_ERR_INVALID_ARGUMENT);
}

/* The payload bound is exact for every limit: the largest payload's frame fits, one more does not. */
VQ_TEST(dgram_max_payload_exact)
{
  dfix x;
  CHECK_EQ(dfix_init(&x, 256, VQ_DGRAM_DROP_OLDEST, VQ_DGRAM_DROP_OLDEST, 0), VQ_OK);
  x.d.tx.cap_bytes = SIZE_MAX; /* only the limit matters here (nothing is queued) */
  uint64_t s = 42;
  for (uint64_t i = 0; i < 20000; i++) {
    uint64_t lim = i < 17000 ? i : vq_rand(&s) % 4000000000ull;
    vq_dgram_set_peer_max(&x.d, lim);
    size_t p = vq_dgram_max_payload(&x.d);
    if (lim < 2) {
      CHECK_EQ(p, 0);
      continue;
    }
    CHECK(vq_dgram_frame_size(p) <= lim);
    CHECK(vq_dgram_frame_size(p + 1) > lim);
  }
}

/* Writing frames: they parse back to the same datagrams, in order; a frame that needs more room waits;
 * one the path can no longer carry is dropped. */
VQ_TEST(dgram_write_frames)
{
  dfix x;
  uint8_t a[30], b[50], pkt[100];
  size_t used;
  fill(a, sizeof a, 10);
  fill(b, sizeof b, 90);
  CHECK_EQ(dfix_init(&x, 256, VQ_DGRAM_DROP_OLDEST, VQ_DGRAM_DROP_OLDEST, 0), VQ_OK);
  vq_dgram_set_peer_max(&x.d, 1000);
  CHECK_EQ(vq_dgram_write_frame(&x.d, pkt, sizeof pkt, &used), 0);
  CHECK_EQ(vq_dgram_send(&x.d, a, sizeof a), VQ_OK);
  CHECK_EQ(vq_dgram_send(&x.d, b, sizeof b), VQ_OK);
  CHECK_EQ(vq_dgram_write_frame(&x.d, pkt, 31, &used), 0); /* needs 32 */
  CHECK_EQ(vq_dgram_write_frame(&x.d, pkt, 32, &used), 1);
  CHECK_EQ(used, 32);
  vq_frame f;
  size_t fu;
  CHECK_EQ(vq_frame_parse(pkt, used, &f, &fu), VQ_OK);
  CHECK_EQ(fu, used);
  CHECK_EQ(f.type, VQ_FRAME_DATAGRAM_LEN);
  CHECK_MEM(f.datagram.data, f.datagram.len, a, sizeof a);
  /* The path shrinks below b's frame (52 bytes): b is dropped, not stuck. */
  vq_dgram_set_packet_room(&x.d, 40);
  CHECK_EQ(vq_dgram_write_frame(&x.d, pkt, sizeof pkt, &used), 0);
  CHECK_EQ(x.d.tx_too_large, 1);
  CHECK_EQ(vq_dgram_pending(&x.d), 0);
}

/* Bounded send queue: drop-oldest and refuse-new, by count and by bytes, with counters. */
VQ_TEST(dgram_send_queue_policies)
{
  dfix x;
  uint8_t d[100], pkt[200];
  size_t used;
  vq_frame f;
  size_t fu;
  CHECK_EQ(dfix_init(&x, 100, VQ_DGRAM_DROP_OLDEST, VQ_DGRAM_DROP_OLDEST, 0), VQ_OK);
  vq_dgram_set_peer_max(&x.d, 1000);
  for (uint8_t k = 0; k < 6; k++) {
    fill(d, 10, (uint8_t)(k * 16));
    CHECK_EQ(vq_dgram_send(&x.d, d, 10), VQ_OK);
  }
  CHECK_EQ(vq_dgram_pending(&x.d), 4); /* 4 slots */
  CHECK_EQ(x.d.tx.dropped, 2);
  fill(d, 10, 2 * 16);
  CHECK_EQ(vq_dgram_write_frame(&x.d, pkt, sizeof pkt, &used), 1);
  CHECK_EQ(vq_frame_parse(pkt, used, &f, &fu), VQ_OK);
  CHECK_MEM(f.datagram.data, f.datagram.len, d, 10); /* the oldest left is the third */
  /* Bytes: 3 x 10 queued; 80 more fit after dropping one (20 + 80 <= 100). */
  fill(d, 80, 7);
  CHECK_EQ(vq_dgram_send(&x.d, d, 80), VQ_OK);
  CHECK_EQ(x.d.tx.dropped, 3);
  CHECK_EQ(vq_dgram_pending(&x.d), 3);
  CHECK_EQ(x.d.tx.used, 100);
  CHECK_EQ(vq_dgram_send(&x.d, d, 101), VQ_ERR_DGRAM_TOO_LARGE);

  CHECK_EQ(dfix_init(&x, 100, VQ_DGRAM_REFUSE_NEW, VQ_DGRAM_DROP_OLDEST, 0), VQ_OK);
  vq_dgram_set_peer_max(&x.d, 1000);
  CHECK_EQ(vq_dgram_send(&x.d, d, 60), VQ_OK);
  CHECK_EQ(vq_dgram_send(&x.d, d, 41), VQ_ERR_DGRAM_QUEUE_FULL);
  CHECK_EQ(vq_dgram_send(&x.d, d, 40), VQ_OK);
  CHECK_EQ(x.d.tx.refused, 1);
  CHECK_EQ(x.d.tx.dropped, 0);
}

/* spec: rfc9221#3/3, rfc9221#3/4 — DATAGRAM without our parameter, or larger than it:
 * PROTOCOL_VIOLATION. spec: rfc9221#5.3/1 — a full receive queue drops. */
VQ_TEST(dgram_receive_rules)
{
  dfix x;
  uint8_t pkt[300], out[300];
  size_t used, len;
  vq_frame f;
  memset(&f, 0, sizeof f);
  f.type = VQ_FRAME_DATAGRAM_LEN;
  fill(pkt, 100, 3);
  f.datagram.data = pkt;
  f.datagram.len = 100;
  CHECK_EQ(dfix_init(&x, 100, VQ_DGRAM_DROP_OLDEST, VQ_DGRAM_REFUSE_NEW, 0), VQ_OK);
  CHECK_EQ(vq_dgram_on_frame(&x.d, &f.datagram, 103), VQ_ERR_DGRAM_PROTOCOL);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_DGRAM_PROTOCOL), VQ_TE_PROTOCOL_VIOLATION);
  CHECK_EQ(dfix_init(&x, 100, VQ_DGRAM_DROP_OLDEST, VQ_DGRAM_REFUSE_NEW, 102), VQ_OK);
  CHECK_EQ(vq_dgram_on_frame(&x.d, &f.datagram, 103), VQ_ERR_DGRAM_PROTOCOL);
  CHECK_EQ(dfix_init(&x, 100, VQ_DGRAM_DROP_OLDEST, VQ_DGRAM_REFUSE_NEW, 103), VQ_OK);
  CHECK_EQ(vq_dgram_on_frame(&x.d, &f.datagram, 103), VQ_OK);
  CHECK_EQ(vq_dgram_on_frame(&x.d, &f.datagram, 103), VQ_OK);
  f.datagram.len = 60;
  CHECK_EQ(vq_dgram_on_frame(&x.d, &f.datagram, 63), VQ_OK); /* 260 > 256 bytes: dropped */
  CHECK_EQ(x.d.rx.dropped, 1);
  CHECK_EQ(vq_dgram_recv(&x.d, out, 99, &len), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(len, 100);
  CHECK_EQ(vq_dgram_recv(&x.d, out, sizeof out, &len), 1);
  CHECK_MEM(out, len, pkt, 100);
  CHECK_EQ(vq_dgram_recv(&x.d, out, sizeof out, &len), 1);
  CHECK_EQ(vq_dgram_recv(&x.d, out, sizeof out, &len), 0);
  /* A frame from the wire, parsed, then handed over with its size. */
  vq_frame g;
  f.datagram.len = 5;
  CHECK_EQ(vq_frame_encode(pkt + 200, 50, &f, &used), VQ_OK);
  CHECK_EQ(vq_frame_parse(pkt + 200, used, &g, &len), VQ_OK);
  CHECK_EQ(vq_dgram_on_frame(&x.d, &g.datagram, len), VQ_OK);
  CHECK_EQ(vq_dgram_recv(&x.d, out, sizeof out, &len), 1);
  CHECK_MEM(out, len, pkt, 5);
}

/* Randomized: both policies against a model FIFO (order, contents, counts, byte and count bounds). */
VQ_TEST(dgram_queue_random_model)
{
  for (uint64_t seed = 1; seed <= 100; seed++) {
    uint64_t s = seed;
    dfix x;
    const vq_dgram_policy pol = seed % 2 ? VQ_DGRAM_DROP_OLDEST : VQ_DGRAM_REFUSE_NEW;
    CHECK_EQ(dfix_init(&x, 64 + vq_rand(&s) % 192, pol, VQ_DGRAM_DROP_OLDEST, 0), VQ_OK);
    vq_dgram_set_peer_max(&x.d, 65535);
    /* model: tags and lengths of queued datagrams */
    uint8_t mtag[64];
    size_t mlen[64];
    int mh = 0, mn = 0;
    size_t mbytes = 0;
    uint64_t drops = 0, refusals = 0;
    uint8_t d[300], pkt[300];
    for (int step = 0; step < 400; step++) {
      if (vq_rand(&s) % 3) {
        size_t len = vq_rand(&s) % 70;
        uint8_t tag = (uint8_t)vq_rand(&s);
        fill(d, len, tag);
        vq_status st = vq_dgram_send(&x.d, d, len);
        if (len > x.d.tx.cap_bytes) {
          CHECK_EQ(st, VQ_ERR_DGRAM_TOO_LARGE);
          continue;
        }
        int fits = mn < 4 && mbytes + len <= x.d.tx.cap_bytes;
        if (!fits && pol == VQ_DGRAM_REFUSE_NEW) {
          CHECK_EQ(st, VQ_ERR_DGRAM_QUEUE_FULL);
          refusals++;
          continue;
        }
        CHECK_EQ(st, VQ_OK);
        while (!(mn < 4 && mbytes + len <= x.d.tx.cap_bytes)) {
          mbytes -= mlen[mh % 64];
          mh++;
          mn--;
          drops++;
        }
        mtag[(mh + mn) % 64] = tag;
        mlen[(mh + mn) % 64] = len;
        mn++;
        mbytes += len;
      } else {
        size_t used, fu;
        int r = vq_dgram_write_frame(&x.d, pkt, sizeof pkt, &used);
        CHECK_EQ(r, mn > 0);
        if (r == 1) {
          vq_frame f;
          CHECK_EQ(vq_frame_parse(pkt, used, &f, &fu), VQ_OK);
          fill(d, mlen[mh % 64], mtag[mh % 64]);
          CHECK_MEM(f.datagram.data, f.datagram.len, d, mlen[mh % 64]);
          mbytes -= mlen[mh % 64];
          mh++;
          mn--;
        }
      }
      CHECK_EQ(vq_dgram_pending(&x.d), (uint32_t)mn);
      CHECK_EQ(x.d.tx.used, mbytes);
      CHECK(x.d.tx.start + x.d.tx.used <= x.d.tx.cap_bytes);
      CHECK_EQ(x.d.tx.dropped, drops);
      CHECK_EQ(x.d.tx.refused, refusals);
    }
  }
}
