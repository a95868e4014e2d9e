/* Regressions found by fuzzing the whole connection (harness/fuzz/fuzz_conn_*.c). */
#include <string.h>

#include "vqtest.h"
#include "vquic/conn.h"
#include "vquic/packet.h"
#include "vquic/tls.h"

/* corpus/conn_findings/conn-recv-first-dcid-over-20.server: a Version Negotiation echoing a 156-byte
 * CID reached a client, whose datagram loop kept an unset CID and compared 156 bytes of it
 * (stack-buffer-overflow under ASan when the stack held a matching length — this test exercises the
 * path; the read of the unset CID itself is only visible to valgrind/MSan). The datagram is now
 * dropped before any packet of it is looked at. */
VQ_TEST(conn_fuzzfix_first_dcid_over_20)
{
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)64 << 20);
  static const uint8_t alpn[] = {2, 'h', '3'};
  vq_tls_ctx_config tc = {0};
  tc.insecure = 1;
  tc.alpn = alpn;
  tc.alpn_len = sizeof(alpn);
  char err[128];
  vq_tls_ctx *tls = NULL;
  CHECK_EQ(vq_tls_ctx_new(&tls, &tc, err, sizeof(err)), VQ_OK);
  vq_rng rng;
  vq_rng_seed(&rng, 1);
  vq_cx cx = {VQ_MS(1), NULL, NULL, &rng, NULL};
  vq_conn_config cc = {0};
  cc.tls = tls;
  cc.server_name = "localhost";
  vq_conn *c = NULL;
  CHECK_EQ(vq_conn_new_client(&c, &root, &cc, &cx), VQ_OK);
  uint8_t cid[156], scid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  memset(cid, 0xab, sizeof(cid));
  uint32_t versions[1] = {0x1a2a3a4au};
  uint8_t vn[512];
  size_t n = 0;
  CHECK_EQ(vq_vn_write(vn, sizeof(vn), 0x40, cid, sizeof(cid), scid, sizeof(scid), versions, 1, &n), VQ_OK);
  vq_conn_stats before, after;
  vq_conn_get_stats(c, &before);
  CHECK_EQ(vq_conn_recv(c, &cx, vn, n, 0), VQ_OK);
  vq_conn_get_stats(c, &after);
  CHECK_EQ(after.pkts_dropped, before.pkts_dropped + 1);
  CHECK_EQ(vq_conn_get_state(c), VQ_CONN_HANDSHAKE);
  vq_conn_free(c, NULL);
  vq_tls_ctx_free(tls);
  CHECK_EQ(root.used, 0);
}
