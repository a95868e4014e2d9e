/* Requirement-level conformance tests of the connection (RFC 9000) with a direct client <-> server
 * driver (no endpoint, no lab): the server connection is created by the test from the client's first
 * datagram, so what it announces (original_destination_connection_id, retry_source_connection_id)
 * and the CIDs either side puts in its headers can be chosen or changed (white-box,
 * transport/conn_internal.h) to play a faulty peer. */
#include <stdio.h>
#include <string.h>

#include "tls/hs_internal.h"
#include "transport/conn_internal.h"
#include "tls_pair.h"
#include "vqtest.h"
#include "vquic/conn.h"
#include "vquic/h3quic.h"
#include "vquic/packet.h"
#include "vquic/pn.h"
#include "vquic/recovery.h"
#include "vquic/tls.h"

static const uint8_t alpn[] = {10, 'h', 'q', '-', 'i', 'n', 't', 'e', 'r', 'o', 'p'};

typedef struct duo {
  vq_mem root;
  vq_tls_ctx *sctx, *cctx;
  vq_conn *cli, *srv;
  vq_rng rng;
  vq_cx cx;
  uint8_t first[1500];   /* the client's first datagram */
  size_t first_len;
  uint64_t idle_ms;      /* max_idle_timeout of both (0: the default) */
  int hrr;               /* the server answers the first ClientHello with a HelloRetryRequest */
  uint64_t srv_max_bidi; /* the server's initial_max_streams_bidi (0: the default) */
  uint64_t max_stream_data; /* initial_max_stream_data of both (0: the default) */
} duo;

static int duo_new_seed(duo *d, uint64_t idle_ms, int hrr, uint64_t max_stream_data, uint64_t seed)
{
  memset(d, 0, sizeof(*d));
  d->max_stream_data = max_stream_data;
  d->idle_ms = idle_ms;
  d->hrr = hrr;
  vq_mem_init(&d->root, vq_allocator_system(), NULL, (size_t)256 << 20);
  vq_rng_seed(&d->rng, seed);
  d->cx = (vq_cx){VQ_MS(1000), NULL, NULL, &d->rng, NULL};
  vq_tls_ctx_config scfg = {0}, ccfg = {0};
  scfg.alpn = ccfg.alpn = alpn;
  scfg.alpn_len = ccfg.alpn_len = sizeof(alpn);
  ccfg.insecure = 1;
  if (!vqt_tls_pair(&d->sctx, &scfg, &d->cctx, &ccfg))
    return 0;
  if (hrr) {
    /* the client's first key share is P-256, the server takes X25519 only: HelloRetryRequest, and
     * the server's EncryptedExtensions (its transport parameters) wait for the second ClientHello */
    vq_tls_test_hooks hc = {0}, hs = {0};
    hc.client_share_group = VQ_HS_GROUP_SECP256R1;
    hs.n_groups = 1;
    hs.groups[0] = VQ_HS_GROUP_X25519;
    vq_tls_ctx_set_test_hooks(d->cctx, &hc);
    vq_tls_ctx_set_test_hooks(d->sctx, &hs);
  }
  vq_conn_config cc = {0};
  cc.tls = d->cctx;
  cc.server_name = "localhost";
  cc.max_idle_timeout_ms = idle_ms;
  cc.initial_max_stream_data = max_stream_data;
  return vq_conn_new_client(&d->cli, &d->root, &cc, &d->cx) == VQ_OK;
}

static int duo_new_ex(duo *d, uint64_t idle_ms, int hrr) { return duo_new_seed(d, idle_ms, hrr, 0, 11); }
static int duo_new_msd(duo *d, uint64_t idle_ms, int hrr, uint64_t max_stream_data)
{
  return duo_new_seed(d, idle_ms, hrr, max_stream_data, 11);
}

static int duo_new_idle(duo *d, uint64_t idle_ms) { return duo_new_ex(d, idle_ms, 0); }
static int duo_new(duo *d) { return duo_new_ex(d, 0, 0); }

/* The client's first datagram (kept in d->first). */
static int duo_client_first(duo *d)
{
  return vq_conn_send(d->cli, &d->cx, d->first, sizeof(d->first), &d->first_len) == VQ_OK &&
         d->first_len >= 1200;
}

/* The server connection for it; odcid/retry_scid non-NULL: as after a Retry. */
static int duo_server(duo *d, const vq_cid *odcid, const vq_cid *retry_scid)
{
  vq_conn_config sc = {0};
  sc.is_server = 1;
  sc.tls = d->sctx;
  sc.max_idle_timeout_ms = d->idle_ms;
  sc.initial_max_streams_bidi = d->srv_max_bidi;
  sc.initial_max_stream_data = d->max_stream_data;
  vq_cid scid;
  const uint8_t sb[8] = {0x5e, 0x71, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
  (void)vq_cid_set(&scid, sb, sizeof(sb));
  uint8_t copy[1500];
  memcpy(copy, d->first, d->first_len);
  if (odcid)
    return vq_conn_new_server_retry(&d->srv, &d->root, &sc, &d->cx, &scid, odcid, retry_scid, copy,
                                    d->first_len) == VQ_OK;
  return vq_conn_new_server(&d->srv, &d->root, &sc, &d->cx, &scid, copy, d->first_len) == VQ_OK;
}

/* The Destination CID of the client's first Initial. */
static vq_cid duo_first_dcid(const duo *d)
{
  vq_cid c;
  memset(&c, 0, sizeof(c));
  vq_pkt_header h;
  if (vq_packet_parse(d->first, d->first_len, 0, &h) == VQ_OK)
    (void)vq_cid_set(&c, d->first + h.dcid_off, h.dcid_len);
  return c;
}

/* Exchanges datagrams (moving time to the next timer when idle) for at most n rounds, until both
 * handshakes are complete or one side left the handshake/established states. */
static void duo_run(duo *d, int n)
{
  uint8_t b[1500];
  for (int i = 0; i < n; i++) {
    vq_conn_state cs = vq_conn_get_state(d->cli), ss = vq_conn_get_state(d->srv);
    if (cs > VQ_CONN_ESTABLISHED || ss > VQ_CONN_ESTABLISHED)
      return;
    int sent = 0;
    size_t len = 0;
    while (vq_conn_send(d->srv, &d->cx, b, sizeof(b), &len) == VQ_OK && len) {
      sent = 1;
      (void)vq_conn_recv(d->cli, &d->cx, b, len, 0);
    }
    while (vq_conn_send(d->cli, &d->cx, b, sizeof(b), &len) == VQ_OK && len) {
      sent = 1;
      (void)vq_conn_recv(d->srv, &d->cx, b, len, 0);
    }
    if (sent)
      continue;
    if (cs == VQ_CONN_ESTABLISHED && ss == VQ_CONN_ESTABLISHED)
      return; /* both complete and nothing left to send */
    vq_time t = vq_conn_next_timeout(d->cli), ts = vq_conn_next_timeout(d->srv);
    if (ts < t)
      t = ts;
    if (t == VQ_TIME_NEVER)
      return;
    if (t > d->cx.now)
      d->cx.now = t;
    (void)vq_conn_handle_timeout(d->cli, &d->cx);
    (void)vq_conn_handle_timeout(d->srv, &d->cx);
  }
}

/* Exchanges datagrams and runs the timers due within the next ms milliseconds (delayed ACKs). */
static void duo_settle(duo *d, uint64_t ms)
{
  vq_time until = d->cx.now + VQ_MS(ms);
  uint8_t b[1500];
  for (int i = 0; i < 1000; i++) {
    int sent = 0;
    size_t len = 0;
    while (vq_conn_send(d->srv, &d->cx, b, sizeof(b), &len) == VQ_OK && len) {
      sent = 1;
      (void)vq_conn_recv(d->cli, &d->cx, b, len, 0);
    }
    while (vq_conn_send(d->cli, &d->cx, b, sizeof(b), &len) == VQ_OK && len) {
      sent = 1;
      (void)vq_conn_recv(d->srv, &d->cx, b, len, 0);
    }
    if (sent)
      continue;
    vq_time t = vq_conn_next_timeout(d->cli), ts = vq_conn_next_timeout(d->srv);
    if (ts < t)
      t = ts;
    if (t > until)
      return;
    if (t > d->cx.now)
      d->cx.now = t;
    (void)vq_conn_handle_timeout(d->cli, &d->cx);
    (void)vq_conn_handle_timeout(d->srv, &d->cx);
  }
}

static void duo_free(duo *d)
{
  vq_conn_free(d->srv, NULL);
  vq_conn_free(d->cli, NULL);
  vq_tls_ctx_free(d->sctx);
  vq_tls_ctx_free(d->cctx);
}

/* The close code of a connection that closed on its own (CLOSING, our CONNECTION_CLOSE), ~0 if not. */
static uint64_t own_close(const vq_conn *c)
{
  int app = 0, by_peer = 0;
  uint64_t code = vq_conn_close_error(c, &app, &by_peer, NULL);
  if (vq_conn_get_state(c) < VQ_CONN_CLOSING || app || by_peer)
    return ~(uint64_t)0;
  return code;
}

/* ---- RFC 9000 §7.3: authenticating connection IDs ---------------------------------------------- */

VQ_TEST(conn_spec_tp_cid_control)
{
  /* the control: nothing changed, both handshakes complete */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_tp_original_dcid_mismatch)
{
  /* spec: rfc9000#7.3/1 — the server's original_destination_connection_id must be the Destination
   * CID of the client's first Initial: a client that remembers another one closes with
   * TRANSPORT_PARAMETER_ERROR */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  d.cli->odcid.bytes[0] ^= 0x80u;
  duo_run(&d, 200);
  CHECK_EQ(own_close(d.cli), VQ_TE_TRANSPORT_PARAMETER_ERROR);
  CHECK(!d.cli->hs_complete || vq_conn_get_state(d.cli) != VQ_CONN_ESTABLISHED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_tp_server_initial_scid_mismatch)
{
  /* spec: rfc9000#7.3/2 — the server's initial_source_connection_id must be the Source CID of its
   * Initial packets: a server whose packets carry another Source CID than it announced is refused
   * by the client (TRANSPORT_PARAMETER_ERROR) */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  d.srv->scid.bytes[0] ^= 0x80u; /* announced: the old value; in the headers: the new one */
  duo_run(&d, 200);
  CHECK_EQ(own_close(d.cli), VQ_TE_TRANSPORT_PARAMETER_ERROR);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_tp_client_initial_scid_mismatch)
{
  /* spec: rfc9000#7.3/1, rfc9000#7.3/2 — and the server checks the client's: the client's Initial
   * carries another Source CID than its initial_source_connection_id (TRANSPORT_PARAMETER_ERROR) */
  duo d;
  CHECK(duo_new(&d));
  d.cli->scid.bytes[0] ^= 0x80u; /* the ClientHello was built with the old one */
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  CHECK_EQ(own_close(d.srv), VQ_TE_TRANSPORT_PARAMETER_ERROR);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_tp_retry_scid_without_retry)
{
  /* spec: rfc9000#7.3/4 — retry_source_connection_id from a server when the client processed no
   * Retry: TRANSPORT_PARAMETER_ERROR (the server is made to believe the client came through a Retry;
   * its original_destination_connection_id is still right) */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  vq_cid odcid = duo_first_dcid(&d), rs;
  const uint8_t rb[8] = {0xee, 1, 2, 3, 4, 5, 6, 7};
  (void)vq_cid_set(&rs, rb, sizeof(rb));
  CHECK(odcid.len >= 8);
  CHECK(duo_server(&d, &odcid, &rs));
  duo_run(&d, 200);
  CHECK_EQ(own_close(d.cli), VQ_TE_TRANSPORT_PARAMETER_ERROR);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §2.1: stream IDs ------------------------------------------------------------------ */

/* Reads what stream id holds on c; 1 when its FIN was read. */
static int drain_stream(duo *d, vq_conn *c, uint64_t id)
{
  uint8_t b[256];
  size_t n = 0;
  int fin = 0;
  while (vq_conn_stream_read(c, &d->cx, id, b, sizeof(b), &n, &fin) == VQ_OK && n > 0 && !fin)
    ;
  return fin;
}

VQ_TEST(conn_spec_stream_ids_never_reused)
{
  /* spec: rfc9000#2.1/1 — streams are opened, completed in both directions and freed, one after
   * the other: each new stream gets an ID no earlier stream had, though the earlier ones' state is
   * gone (an allocator that reused freed IDs would hand out the first one again) */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  uint64_t ids[6];
  for (int k = 0; k < 6; k++) {
    uint64_t id = 0;
    CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, k % 2 == 0, &id), VQ_OK);
    for (int j = 0; j < k; j++)
      CHECK(ids[j] != id);
    ids[k] = id;
    size_t acc = 0;
    CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"ping", 4, 1, &acc), VQ_OK);
    duo_settle(&d, 100);
    CHECK(drain_stream(&d, d.srv, id));
    if (k % 2 == 0) /* bidirectional: the server's FIN completes it */
      CHECK_EQ(vq_conn_stream_write(d.srv, &d.cx, id, (const uint8_t *)"pong", 4, 1, &acc), VQ_OK);
    duo_settle(&d, 100);
    if (k % 2 == 0)
      CHECK(drain_stream(&d, d.cli, id));
    duo_settle(&d, 100);
    /* the client's state for the stream is gone */
    CHECK(vq_conn_stream_find(d.cli, id) == NULL);
  }
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §10.1: idle timeout ---------------------------------------------------------------- */

VQ_TEST(conn_spec_idle_timeout_at_least_three_pto)
{
  /* spec: rfc9000#10.1/1 — both sides ask for a 1 ms idle timeout: the connection still waits at
   * least three PTOs after the last packet before it closes (idle) */
  duo d;
  CHECK(duo_new_idle(&d, 1));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(d.cli->idle_timeout, VQ_MS(1));
  /* one more packet from the server, at a known time */
  uint64_t id = 0;
  size_t acc = 0, len = 0;
  uint8_t b[1500];
  CHECK_EQ(vq_conn_stream_open(d.srv, &d.cx, 0, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.srv, &d.cx, id, (const uint8_t *)"x", 1, 0, &acc), VQ_OK);
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  CHECK_EQ(vq_conn_recv(d.cli, &d.cx, b, len, 0), VQ_OK);
  vq_time last = d.cx.now, pto = vq_rtt_pto(&d.cli->rec.rtt, 1);
  CHECK(3 * pto > VQ_MS(1));
  /* the client's timers run (nothing is delivered any more) until it closes */
  vq_time closed_at = VQ_TIME_NEVER;
  for (int i = 0; i < 100 && vq_conn_get_state(d.cli) < VQ_CONN_CLOSED; i++) {
    while (vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
      ;
    vq_time nt = vq_conn_next_timeout(d.cli);
    if (nt == VQ_TIME_NEVER)
      break;
    if (nt > d.cx.now)
      d.cx.now = nt;
    (void)vq_conn_handle_timeout(d.cli, &d.cx);
    if (vq_conn_get_state(d.cli) >= VQ_CONN_CLOSED && closed_at == VQ_TIME_NEVER)
      closed_at = d.cx.now;
  }
  CHECK(closed_at != VQ_TIME_NEVER);
  CHECK(closed_at >= last + 3 * pto);
  int app = 0, by_peer = 0;
  (void)vq_conn_close_error(d.cli, &app, &by_peer, NULL);
  CHECK(!by_peer);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §8.1: anti-amplification accounting ------------------------------------------------ */

VQ_TEST(conn_spec_amplification_counts_unprocessable_bytes)
{
  /* spec: rfc9000#8.1/3 — a datagram for the connection (its CID) that cannot be processed (a
   * Handshake packet that does not decrypt) still counts, whole, towards what the server may send
   * before the client's address is validated */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  CHECK(!d.srv->addr_validated);
  uint64_t before = d.srv->bytes_recv_unvalidated;
  CHECK(before >= 1200); /* the client's Initial */
  vq_conn_stats st0, st1;
  vq_conn_get_stats(d.srv, &st0);
  uint8_t dg[1200];
  memset(dg, 0xa5, sizeof(dg));
  vq_long_header_spec hs = {VQ_PKT_HANDSHAKE, VQ_QUIC_V1, &d.srv->scid, &d.cli->scid, NULL, 0, 4, 2};
  size_t length_off = 0, pn_off = 0;
  CHECK_EQ(vq_long_header_write(dg, sizeof(dg), &hs, &length_off, &pn_off), VQ_OK);
  CHECK_EQ(vq_packet_set_length(dg, sizeof(dg), length_off, 2, sizeof(dg) - pn_off), VQ_OK);
  CHECK_EQ(vq_conn_recv(d.srv, &d.cx, dg, sizeof(dg), 0), VQ_OK);
  vq_conn_get_stats(d.srv, &st1);
  CHECK_EQ(st1.pkts_recv, st0.pkts_recv);       /* not processed */
  CHECK_EQ(d.srv->bytes_recv_unvalidated, before + sizeof(dg));
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §9: a client and its server's address ---------------------------------------------- */

VQ_TEST(conn_spec_client_discards_unknown_server_address)
{
  /* spec: rfc9000#9/7 — a client discards packets from an address other than its server's: the
   * same packet is processed when it then comes from the server's address */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  const uint8_t srv_addr[] = {192, 0, 2, 1, 0x01, 0xbb}, other[] = {192, 0, 2, 99, 0x01, 0xbb};
  uint64_t id = 0;
  size_t acc = 0, len = 0;
  uint8_t b[1500], r[64];
  CHECK_EQ(vq_conn_stream_open(d.srv, &d.cx, 0, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.srv, &d.cx, id, (const uint8_t *)"a", 1, 0, &acc), VQ_OK);
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  CHECK_EQ(vq_conn_recv_from(d.cli, &d.cx, srv_addr, sizeof(srv_addr), b, len, 0), VQ_OK);
  size_t n = 0;
  int fin = 0;
  CHECK_EQ(vq_conn_stream_read(d.cli, &d.cx, id, r, sizeof(r), &n, &fin), VQ_OK);
  CHECK_EQ(n, (size_t)1);
  /* the next one arrives from elsewhere: dropped */
  CHECK_EQ(vq_conn_stream_write(d.srv, &d.cx, id, (const uint8_t *)"b", 1, 1, &acc), VQ_OK);
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  uint8_t copy[1500];
  memcpy(copy, b, len);
  vq_conn_stats st0, st1;
  vq_conn_get_stats(d.cli, &st0);
  CHECK_EQ(vq_conn_recv_from(d.cli, &d.cx, other, sizeof(other), b, len, 0), VQ_OK);
  vq_conn_get_stats(d.cli, &st1);
  CHECK_EQ(st1.pkts_recv, st0.pkts_recv);
  n = 0;
  (void)vq_conn_stream_read(d.cli, &d.cx, id, r, sizeof(r), &n, &fin);
  CHECK_EQ(n, (size_t)0);
  const uint8_t *pa = NULL;
  size_t pal = 0;
  CHECK(vq_conn_peer_addr(d.cli, &pa, &pal) && pal == sizeof(srv_addr) && memcmp(pa, srv_addr, pal) == 0);
  /* from the server's address: processed */
  CHECK_EQ(vq_conn_recv_from(d.cli, &d.cx, srv_addr, sizeof(srv_addr), copy, len, 0), VQ_OK);
  n = 0;
  fin = 0;
  CHECK_EQ(vq_conn_stream_read(d.cli, &d.cx, id, r, sizeof(r), &n, &fin), VQ_OK);
  CHECK_EQ(n, (size_t)1);
  CHECK(fin);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- forged server transport parameters (after a HelloRetryRequest) ------------------------------ */

/* Creates the duo with a HelloRetryRequest, then replaces the server's transport parameters (before
 * they are sent, in answer to the second ClientHello) with its own ones changed by edit. */
static int duo_forged_server_tp(duo *d, void (*edit)(vq_tp *), const vq_cid *srv_scid)
{
  if (!duo_new_ex(d, 0, 1) || !duo_client_first(d))
    return 0;
  vq_conn_config sc = {0};
  sc.is_server = 1;
  sc.tls = d->sctx;
  uint8_t copy[1500];
  memcpy(copy, d->first, d->first_len);
  if (vq_conn_new_server(&d->srv, &d->root, &sc, &d->cx, srv_scid, copy, d->first_len) != VQ_OK)
    return 0;
  uint8_t buf[512];
  size_t used = 0;
  vq_tp tp;
  if (vq_conn_local_tp(d->srv, buf, sizeof(buf), &used) != VQ_OK ||
      vq_tp_decode(buf, used, VQ_TP_SERVER, &tp) != VQ_OK)
    return 0;
  edit(&tp);
  if (vq_tp_encode(&tp, VQ_TP_SERVER, buf, sizeof(buf), &used) != VQ_OK)
    return 0;
  return vq_tls_set_local_tp(d->srv->tls, buf, used) == VQ_OK;
}

static void tp_keep(vq_tp *tp) { (void)tp; }
static void tp_no_iscid(vq_tp *tp) { (void)vq_tp_set_present(tp, VQ_TP_INITIAL_SOURCE_CONNECTION_ID, 0); }
static void tp_no_odcid(vq_tp *tp)
{
  (void)vq_tp_set_present(tp, VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID, 0);
}

static vq_cid srv_cid8(void)
{
  vq_cid c;
  const uint8_t b[8] = {0x5e, 0x72, 2, 3, 4, 5, 6, 7};
  (void)vq_cid_set(&c, b, sizeof(b));
  return c;
}

VQ_TEST(conn_spec_forged_tp_control)
{
  /* the control: after the HelloRetryRequest, the server's own parameters re-encoded: it works */
  duo d;
  vq_cid sc = srv_cid8();
  CHECK(duo_forged_server_tp(&d, tp_keep, &sc));
  duo_run(&d, 200);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_tp_missing_cids)
{
  /* spec: rfc9000#7.3/3 — a server without initial_source_connection_id, or without
   * original_destination_connection_id: the client closes with TRANSPORT_PARAMETER_ERROR */
  void (*edits[2])(vq_tp *) = {tp_no_iscid, tp_no_odcid};
  for (int i = 0; i < 2; i++) {
    duo d;
    vq_cid sc = srv_cid8();
    CHECK(duo_forged_server_tp(&d, edits[i], &sc));
    duo_run(&d, 200);
    CHECK_EQ(own_close(d.cli), VQ_TE_TRANSPORT_PARAMETER_ERROR);
    duo_free(&d);
    CHECK_EQ(d.root.used, 0);
  }
}

static void tp_preferred_address(vq_tp *tp)
{
  vq_tp_preferred_address *pa = &tp->preferred_address;
  memset(pa, 0, sizeof(*pa));
  const uint8_t v4[4] = {192, 0, 2, 7};
  memcpy(pa->ipv4, v4, 4);
  pa->ipv4_port = 4433;
  pa->cid.len = 8;
  memset(pa->cid.bytes, 0x77, 8);
  memset(pa->reset_token, 0x33, sizeof(pa->reset_token));
  (void)vq_tp_set_present(tp, VQ_TP_PREFERRED_ADDRESS, 1);
}

VQ_TEST(conn_spec_tp_preferred_address_with_empty_cid)
{
  /* spec: rfc9000#18.2/7 — a server with a zero-length connection ID may not provide a preferred
   * address (rfc9000#18.2/5): the client closes with TRANSPORT_PARAMETER_ERROR. The controls: the
   * same server without preferred_address, and with it but an 8-byte CID, complete. */
  vq_cid empty, eight = srv_cid8();
  memset(&empty, 0, sizeof(empty));
  struct {
    void (*edit)(vq_tp *);
    const vq_cid *scid;
    int ok;
  } cases[3] = {{tp_keep, &empty, 1}, {tp_preferred_address, &eight, 1},
                {tp_preferred_address, &empty, 0}};
  for (int i = 0; i < 3; i++) {
    duo d;
    CHECK(duo_forged_server_tp(&d, cases[i].edit, cases[i].scid));
    duo_run(&d, 200);
    if (i == 0)
      CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
    else if (cases[i].ok)
      /* the forged preferred_address names a CID for sequence 1 that the server never issued (its
       * own NEW_CONNECTION_ID for sequence 1 then differs): whatever follows, the parameters
       * themselves were accepted */
      CHECK(own_close(d.cli) != VQ_TE_TRANSPORT_PARAMETER_ERROR);
    else
      CHECK_EQ(own_close(d.cli), VQ_TE_TRANSPORT_PARAMETER_ERROR);
    duo_free(&d);
    CHECK_EQ(d.root.used, 0);
  }
}

/* ---- RFC 9000 §4.6: stream concurrency credit ----------------------------------------------------- */

VQ_TEST(conn_spec_max_streams_without_streams_blocked)
{
  /* spec: rfc9000#4.6/6 — the server allows 2 bidirectional streams; the client uses both and never
   * tries a third (so it has no reason to send STREAMS_BLOCKED): the server still raises the limit
   * as they close */
  duo d;
  CHECK(duo_new(&d));
  d.srv_max_bidi = 2;
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(d.cli->peer_max_streams[0], 2);
  uint64_t ids[2];
  size_t acc = 0;
  for (int k = 0; k < 2; k++) {
    CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 1, &ids[k]), VQ_OK);
    CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, ids[k], (const uint8_t *)"q", 1, 1, &acc), VQ_OK);
  }
  duo_settle(&d, 100);
  for (int k = 0; k < 2; k++) {
    CHECK(drain_stream(&d, d.srv, ids[k]));
    CHECK_EQ(vq_conn_stream_write(d.srv, &d.cx, ids[k], (const uint8_t *)"r", 1, 1, &acc), VQ_OK);
  }
  duo_settle(&d, 100);
  for (int k = 0; k < 2; k++)
    CHECK(drain_stream(&d, d.cli, ids[k]));
  duo_settle(&d, 200);
  CHECK(d.cli->peer_max_streams[0] > 2);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9001 §5.7: no 1-RTT before the handshake completes -------------------------------------- */

VQ_TEST(conn_spec_server_no_1rtt_before_handshake_complete)
{
  /* spec: rfc9001#5.7/1, rfc9001#5.7/2 — the client's 1-RTT packet (stream data) reaches the server
   * before the Handshake packet with the client's Finished: the server, which has its 1-RTT secrets
   * already, does not process it; after the Finished the data arrives (retransmitted) */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  uint8_t b[1500];
  size_t len = 0;
  while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
    (void)vq_conn_recv(d.cli, &d.cx, b, len, 0);
  CHECK(d.cli->hs_complete);
  CHECK(!d.srv->hs_complete);
  uint64_t id = 0;
  size_t acc = 0;
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"hi", 2, 1, &acc), VQ_OK);
  /* the client's datagrams, split: 1-RTT packets now, long header packets kept for later */
  uint8_t held[8][1500];
  size_t held_len[8], nheld = 0, n1rtt = 0;
  vq_conn_stats st0, st1;
  vq_conn_get_stats(d.srv, &st0);
  while (vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len) == VQ_OK && len) {
    size_t off = 0;
    while (off < len) {
      vq_pkt_header h;
      if (vq_packet_parse(b + off, len - off, d.srv->scid.len, &h) != VQ_OK || h.packet_len == 0)
        break;
      if (h.type == VQ_PKT_1RTT) {
        uint8_t one[1500];
        memcpy(one, b + off, h.packet_len);
        (void)vq_conn_recv(d.srv, &d.cx, one, h.packet_len, 0);
        n1rtt++;
      } else if (nheld < 8) {
        memcpy(held[nheld], b + off, h.packet_len);
        held_len[nheld++] = h.packet_len;
      }
      off += h.packet_len;
    }
  }
  CHECK(n1rtt > 0);
  CHECK(nheld > 0);
  vq_conn_get_stats(d.srv, &st1);
  CHECK_EQ(st1.pkts_recv, st0.pkts_recv);
  CHECK_EQ(st1.pkts_dropped, st0.pkts_dropped + n1rtt);
  CHECK(vq_conn_stream_find(d.srv, id) == NULL);
  CHECK(!d.srv->hs_complete);
  /* the Handshake packets: the server completes, and the data comes again */
  for (size_t i = 0; i < nheld; i++)
    (void)vq_conn_recv(d.srv, &d.cx, held[i], held_len[i], 0);
  CHECK(d.srv->hs_complete);
  duo_settle(&d, 3000);
  uint8_t r[8];
  size_t n = 0;
  int fin = 0;
  CHECK_EQ(vq_conn_stream_read(d.srv, &d.cx, id, r, sizeof(r), &n, &fin), VQ_OK);
  CHECK_EQ(n, (size_t)2);
  CHECK(fin);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §13.2.1: acknowledgment within max_ack_delay ---------------------------------------- */

VQ_TEST(conn_spec_ack_within_max_ack_delay)
{
  /* spec: rfc9000#13.2.1/1 — one ack-eliciting 1-RTT packet alone: the server defers its ACK, but
   * not beyond the max_ack_delay it announced (the default 25 ms): the client's packet is
   * acknowledged by then */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  duo_settle(&d, 1000);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_recovery_bytes_in_flight(&d.cli->rec), 0);
  uint64_t id = 0;
  size_t acc = 0, len = 0;
  uint8_t b[1500];
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 0, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"x", 1, 0, &acc), VQ_OK);
  CHECK_EQ(vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  CHECK(vq_recovery_bytes_in_flight(&d.cli->rec) > 0);
  vq_time sent_at = d.cx.now;
  CHECK_EQ(vq_conn_recv(d.srv, &d.cx, b, len, 0), VQ_OK);
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK_EQ(len, (size_t)0); /* deferred */
  vq_time due = vq_conn_next_timeout(d.srv);
  CHECK(due > sent_at);
  CHECK(due <= sent_at + VQ_MS(25));
  d.cx.now = due;
  (void)vq_conn_handle_timeout(d.srv, &d.cx);
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  CHECK_EQ(vq_conn_recv(d.cli, &d.cx, b, len, 0), VQ_OK);
  CHECK_EQ(vq_recovery_bytes_in_flight(&d.cli->rec), 0);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- HANDSHAKE_DONE -------------------------------------------------------------------------------- */

VQ_TEST(conn_spec_handshake_done_sent_at_once_and_again)
{
  /* spec: rfc9000#19.20/1 — nothing the server sends before its handshake completes confirms the
   * client's; spec: rfc9001#4.1.2/1 — HANDSHAKE_DONE goes in the first packet the server sends
   * once complete; spec: rfc9000#13.3/3 — when that packet is lost, HANDSHAKE_DONE is sent again
   * until it arrives (the client's handshake is confirmed only by it) */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  uint8_t b[1500];
  size_t len = 0;
  while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
    (void)vq_conn_recv(d.cli, &d.cx, b, len, 0);
  CHECK(!d.srv->hs_complete);
  CHECK(!d.srv->handshake_done_pending);
  CHECK(d.cli->hs_complete);
  CHECK(!d.cli->hs_confirmed);
  while (vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
    (void)vq_conn_recv(d.srv, &d.cx, b, len, 0);
  CHECK(d.srv->hs_complete);
  CHECK(d.srv->handshake_done_pending);
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  CHECK(!d.srv->handshake_done_pending); /* it went in this packet, which is lost */
  while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
    ; /* anything else now: lost too */
  CHECK(!d.cli->hs_confirmed);
  /* spec: rfc9001#4.9.2/1 — Handshake keys are discarded at confirmation: at once by the server
   * (complete = confirmed), by the client only when HANDSHAKE_DONE arrives */
  CHECK(d.srv->sp[VQ_SPACE_HANDSHAKE].discarded);
  CHECK(!d.cli->sp[VQ_SPACE_HANDSHAKE].discarded);
  duo_settle(&d, 5000);
  CHECK(d.cli->hs_confirmed);
  CHECK(d.cli->sp[VQ_SPACE_HANDSHAKE].discarded);
  CHECK(!d.cli->sp[VQ_SPACE_HANDSHAKE].rx.installed && !d.cli->sp[VQ_SPACE_HANDSHAKE].tx.installed);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9001 §4.9: retransmitted CRYPTO data ------------------------------------------------------ */

VQ_TEST(conn_spec_crypto_resent_at_its_level)
{
  /* spec: rfc9001#4.9/1, rfc9001#4/1 — the server's whole first flight is lost: its CRYPTO data is
   * sent again in Initial and Handshake packets (the ServerHello's at the Initial level, under the
   * Initial keys: the client's TLS accepts it nowhere else) and the handshake completes */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  uint8_t b[1500];
  size_t len = 0;
  int lost = 0;
  while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
    lost++;
  CHECK(lost > 0);
  /* the server's probe timer fires: what it sends now starts with Initial packets */
  vq_time due = vq_conn_next_timeout(d.srv);
  CHECK(due != VQ_TIME_NEVER);
  d.cx.now = due;
  (void)vq_conn_handle_timeout(d.srv, &d.cx);
  int initial = 0;
  while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len) {
    size_t off = 0;
    vq_pkt_header h;
    while (off < len && vq_packet_parse(b + off, len - off, 8, &h) == VQ_OK && h.packet_len > 0 &&
           h.type != VQ_PKT_1RTT) {
      initial += h.type == VQ_PKT_INITIAL;
      off += h.packet_len;
    }
    (void)vq_conn_recv(d.cli, &d.cx, b, len, 0);
  }
  CHECK(initial > 0);
  duo_run(&d, 400);
  duo_settle(&d, 3000);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  CHECK(d.cli->hs_confirmed);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §12.2, §13.1: coalesced packets, what is acknowledged ------------------------------- */

VQ_TEST(conn_spec_coalesced_packets_acknowledged_separately)
{
  /* spec: rfc9000#12.2/6 — the server's first datagram coalesces an Initial and a Handshake packet:
   * the client processes each, and owes an acknowledgment in each packet number space */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  uint8_t b[1500];
  size_t len = 0;
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  int initial = 0, handshake = 0;
  size_t off = 0;
  vq_pkt_header h;
  while (off < len && vq_packet_parse(b + off, len - off, 8, &h) == VQ_OK && h.packet_len > 0 &&
         h.type != VQ_PKT_1RTT) {
    initial += h.type == VQ_PKT_INITIAL;
    handshake += h.type == VQ_PKT_HANDSHAKE;
    off += h.packet_len;
  }
  CHECK(initial == 1 && handshake >= 1);
  CHECK_EQ(d.cli->sp[VQ_SPACE_INITIAL].largest_recv, -1);
  CHECK_EQ(d.cli->sp[VQ_SPACE_HANDSHAKE].largest_recv, -1);
  CHECK_EQ(vq_conn_recv(d.cli, &d.cx, b, len, 0), VQ_OK);
  CHECK(d.cli->sp[VQ_SPACE_INITIAL].largest_recv >= 0);
  CHECK(d.cli->sp[VQ_SPACE_HANDSHAKE].largest_recv >= 0);
  CHECK(d.cli->sp[VQ_SPACE_INITIAL].ack_pending);
  CHECK(d.cli->sp[VQ_SPACE_HANDSHAKE].ack_pending);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_no_ack_before_unprotected)
{
  /* spec: rfc9000#13.1/1 — a client 1-RTT packet with one bit flipped in its payload fails packet
   * protection removal: nothing of it is recorded or acknowledged; the intact copy is */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  duo_settle(&d, 1000);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  vq_space *sp = &d.srv->sp[VQ_SPACE_APP];
  CHECK(!sp->ack_pending);
  int64_t largest = sp->largest_recv;
  uint64_t id = 0;
  size_t acc = 0, len = 0;
  uint8_t b[1500], bad[1500];
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 0, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"x", 1, 0, &acc), VQ_OK);
  CHECK_EQ(vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 20);
  memcpy(bad, b, len);
  bad[len - 20] ^= 0x01;
  CHECK_EQ(vq_conn_recv(d.srv, &d.cx, bad, len, 0), VQ_OK);
  CHECK(!sp->ack_pending);
  CHECK_EQ(sp->largest_recv, largest);
  CHECK(vq_conn_stream_find(d.srv, id) == NULL);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_recv(d.srv, &d.cx, b, len, 0), VQ_OK);
  CHECK(sp->ack_pending);
  CHECK(sp->largest_recv > largest);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §13.3: RESET_STREAM sent again --------------------------------------------------------- */

VQ_TEST(conn_spec_reset_stream_resent_unchanged)
{
  /* spec: rfc9000#13.3/1 — the client's RESET_STREAM (code 7, final size 3) is lost; what is sent
   * again is the same frame: the server learns code 7 and accepts the final size; spec:
   * rfc9000#11.2/1 — the reset is the application's (vq_conn_stream_reset, its code): before that
   * call nothing reset the stream */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  duo_settle(&d, 1000);
  uint64_t id = 0;
  size_t acc = 0, len = 0;
  uint8_t b[1500];
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"abc", 3, 0, &acc), VQ_OK);
  duo_settle(&d, 100);
  vq_conn_event ev;
  int early_resets = 0;
  while (vq_conn_poll_event(d.srv, &ev))
    early_resets += ev.type == VQ_CONN_EV_STREAM_RESET;
  CHECK_EQ(early_resets, 0);
  CHECK_EQ(vq_conn_stream_reset(d.cli, &d.cx, id, 7), VQ_OK);
  int dropped = 0;
  while (vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
    dropped++;
  CHECK(dropped > 0);
  duo_settle(&d, 3000);
  int resets = 0;
  uint64_t code = 0;
  while (vq_conn_poll_event(d.srv, &ev))
    if (ev.type == VQ_CONN_EV_STREAM_RESET && ev.stream_id == id) {
      resets++;
      code = ev.error_code;
    }
  CHECK_EQ(resets, 1);
  CHECK_EQ(code, 7);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §4.4: flow control until the direction ends ---------------------------------------- */

VQ_TEST(conn_spec_flow_control_after_other_direction_ends)
{
  /* spec: rfc9000#4.4/1 — 4 KiB stream windows; the client sends its request with FIN at once (its
   * sending direction then ends: all data acknowledged), and the server answers with 40 KiB, ten
   * windows: the client keeps the flow control state of the receiving direction and raises its
   * limit as it reads, until the FIN */
  duo d;
  CHECK(duo_new_msd(&d, 0, 0, 4096));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  uint64_t id = 0;
  size_t acc = 0;
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"get", 3, 1, &acc), VQ_OK);
  duo_settle(&d, 200);
  CHECK(drain_stream(&d, d.srv, id));
  static uint8_t body[40960];
  for (size_t i = 0; i < sizeof(body); i++)
    body[i] = (uint8_t)(i * 31u + 7u);
  size_t sent = 0, got = 0;
  int fin = 0;
  static uint8_t rx[40960];
  for (int round = 0; round < 400 && !fin; round++) {
    if (sent < sizeof(body)) {
      acc = 0;
      CHECK_EQ(vq_conn_stream_write(d.srv, &d.cx, id, body + sent, sizeof(body) - sent, 1, &acc), VQ_OK);
      sent += acc;
    }
    duo_settle(&d, 50);
    size_t n = 0;
    while (!fin && got < sizeof(rx) &&
           vq_conn_stream_read(d.cli, &d.cx, id, rx + got, sizeof(rx) - got, &n, &fin) == VQ_OK && n > 0)
      got += n;
  }
  CHECK(fin);
  CHECK_EQ(got, sizeof(body));
  CHECK(memcmp(rx, body, sizeof(body)) == 0);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §5.1, §10.3.2: the connection IDs a connection issues ------------------------------- */

/* A stand-in for the driver's CSPRNG (vq_rng.fill): bytes from its own counter, all recorded. */
typedef struct fill_rec {
  uint8_t bytes[4096];
  size_t n;
  uint8_t next;
} fill_rec;

static int rec_fill(void *ud, uint8_t *out, size_t len)
{
  fill_rec *f = ud;
  for (size_t i = 0; i < len; i++) {
    out[i] = (uint8_t)(0x80u ^ f->next++ ^ (uint8_t)(i * 37u));
    if (f->n < sizeof(f->bytes))
      f->bytes[f->n++] = out[i];
  }
  return 0;
}

static int rec_has(const fill_rec *f, const uint8_t *b, size_t len)
{
  for (size_t i = 0; i + len <= f->n; i++)
    if (memcmp(f->bytes + i, b, len) == 0)
      return 1;
  return 0;
}

VQ_TEST(conn_spec_cids_from_driver_csprng)
{
  /* spec: rfc9000#5.1/1 — a driver facing a real network gives the generator a CSPRNG (vq-client
   * and vq-server: RAND_bytes); the connection IDs the client uses and issues are then that
   * generator's bytes, not the (predictable) xoshiro stream */
  duo d;
  static fill_rec fr;
  memset(&fr, 0, sizeof(fr));
  memset(&d, 0, sizeof(d));
  vq_mem_init(&d.root, vq_allocator_system(), NULL, (size_t)256 << 20);
  vq_rng_seed(&d.rng, 11);
  d.rng.fill = rec_fill;
  d.rng.fill_ud = &fr;
  d.cx = (vq_cx){VQ_MS(1000), NULL, NULL, &d.rng, NULL};
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = alpn;
  ccfg.alpn_len = sizeof(alpn);
  char err[256];
  CHECK_EQ(vq_tls_ctx_new(&d.cctx, &ccfg, err, sizeof(err)), VQ_OK);
  vq_tls_ctx_config scfg = {0};
  scfg.is_server = 1;
  scfg.selfsigned_name = "localhost";
  scfg.alpn = alpn;
  scfg.alpn_len = sizeof(alpn);
  CHECK_EQ(vq_tls_ctx_new(&d.sctx, &scfg, err, sizeof(err)), VQ_OK);
  vq_conn_config cc = {0};
  cc.tls = d.cctx;
  cc.server_name = "localhost";
  CHECK_EQ(vq_conn_new_client(&d.cli, &d.root, &cc, &d.cx), VQ_OK);
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  duo_settle(&d, 500);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
  CHECK(fr.n > 0);
  CHECK(rec_has(&fr, d.cli->scid.bytes, d.cli->scid.len));
  int issued = 0;
  for (uint32_t i = 0; i < 16; i++) {
    vq_cid c;
    uint64_t seq = 0;
    if (vq_conn_local_cid(d.cli, i, &c, &seq)) {
      issued++;
      CHECK(rec_has(&fr, c.bytes, c.len));
    }
  }
  CHECK(issued >= 2);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_issued_cids_same_length_unrelated)
{
  /* spec: rfc9000#5.1/3 — the configured CID length is 0 (the default): vquic never uses a
   * zero-length CID, so no two connections on one address and port can depend on zero-length CIDs;
   * spec: rfc9000#10.3.2/2 — every CID the client issues has the same length (8 bytes);
   * spec: rfc9000#5.1/1 — they are random: no two share a 3-byte prefix or suffix or differ by a
   * counter, and another connection (another random generator state) issues other ones */
  vq_cid all[2][16];
  uint32_t n[2] = {0, 0};
  for (int run = 0; run < 2; run++) {
    duo d;
    CHECK(duo_new_seed(&d, 0, 0, 0, 11 + (uint64_t)run));
    CHECK(duo_client_first(&d));
    CHECK(duo_server(&d, NULL, NULL));
    duo_run(&d, 200);
    duo_settle(&d, 500);
    CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_ESTABLISHED);
    for (uint32_t i = 0; i < 16; i++) {
      vq_cid c;
      uint64_t seq = 0;
      if (vq_conn_local_cid(d.cli, i, &c, &seq))
        all[run][n[run]++] = c;
    }
    CHECK(n[run] >= 2);
    duo_free(&d);
    CHECK_EQ(d.root.used, 0);
  }
  for (int run = 0; run < 2; run++)
    for (uint32_t i = 0; i < n[run]; i++) {
      CHECK_EQ(all[run][i].len, (size_t)8);
      for (int r2 = 0; r2 < 2; r2++)
        for (uint32_t j = 0; j < n[r2]; j++) {
          if (r2 == run && j == i)
            continue;
          const uint8_t *a = all[run][i].bytes, *b = all[r2][j].bytes;
          CHECK(memcmp(a, b, 3) != 0);
          CHECK(memcmp(a + 5, b + 5, 3) != 0);
          uint64_t x = 0, y = 0;
          for (int k = 0; k < 8; k++) {
            x = (x << 8) | a[k];
            y = (y << 8) | b[k];
          }
          CHECK(x - y > 1000 && y - x > 1000);
        }
    }
}

/* ---- RFC 9000 §8.1: the client's probes before its address is validated -------------------------- */

/* The types of the long header packets at the start of a datagram, as a bit set (1 << type). */
static unsigned long_types(const uint8_t *b, size_t len)
{
  unsigned t = 0;
  size_t off = 0;
  vq_pkt_header h;
  while (off < len && vq_packet_parse(b + off, len - off, 8, &h) == VQ_OK && h.packet_len > 0 &&
         h.type != VQ_PKT_1RTT) {
    t |= 1u << h.type;
    off += h.packet_len;
  }
  return t;
}

VQ_TEST(conn_spec_client_pto_before_validation)
{
  /* spec: rfc9000#8.1/5, rfc9000#8.1/6 — the client's first Initial is lost: on its PTO the client
   * sends an Initial again, in a datagram of 1200 bytes or more (it has no Handshake keys) */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  uint8_t b[1500];
  size_t len = 0;
  CHECK_EQ(vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK_EQ(len, (size_t)0);
  vq_time due = vq_conn_next_timeout(d.cli);
  CHECK(due != VQ_TIME_NEVER);
  d.cx.now = due;
  (void)vq_conn_handle_timeout(d.cli, &d.cx);
  CHECK_EQ(vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len >= 1200);
  CHECK(long_types(b, len) & (1u << VQ_PKT_INITIAL));
  /* with Handshake keys: the server's Initial (ServerHello) arrives, its Handshake packets do not,
   * and the server, limited to three times what it received, waits: the client's PTO sends a
   * Handshake packet, which is what lets the server go on */
  /* the probes (a PTO may send two datagrams) reach the server: every Initial gets acknowledged */
  uint8_t probes[2][1500];
  size_t probe_len[2] = {len, 0}, nprobes = 1;
  memcpy(probes[0], b, len);
  while (vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len) == VQ_OK && len && nprobes < 2) {
    memcpy(probes[nprobes], b, len);
    probe_len[nprobes++] = len;
  }
  CHECK(duo_server(&d, NULL, NULL));
  for (size_t i = 0; i < nprobes; i++)
    CHECK_EQ(vq_conn_recv(d.srv, &d.cx, probes[i], probe_len[i], 0), VQ_OK);
  int first = 1;
  while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len) {
    if (!first)
      continue;
    first = 0;
    vq_pkt_header h;
    CHECK_EQ(vq_packet_parse(b, len, 8, &h), VQ_OK);
    CHECK_EQ(h.type, VQ_PKT_INITIAL);
    CHECK_EQ(vq_conn_recv(d.cli, &d.cx, b, h.packet_len, 0), VQ_OK);
  }
  CHECK(d.cli->sp[VQ_SPACE_HANDSHAKE].rx.installed);
  CHECK(!d.cli->hs_complete);
  while (vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
    ; /* its ACK of the Initial: lost too */
  due = vq_conn_next_timeout(d.cli);
  CHECK(due != VQ_TIME_NEVER);
  d.cx.now = due;
  (void)vq_conn_handle_timeout(d.cli, &d.cx);
  CHECK_EQ(vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  CHECK(long_types(b, len) & (1u << VQ_PKT_HANDSHAKE));
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §13.2.3, §13.2.5: ACK ranges kept, ACK Delay ----------------------------------------- */

VQ_TEST(conn_spec_forgotten_ack_ranges_not_accepted_again)
{
  /* spec: rfc9000#13.2.3/4 — the client sends 1-RTT packets with a gap after each, more than the
   * server keeps ranges for (VQ_ACK_RANGES): the server forgets its lowest ranges, and then refuses a
   * packet of a forgotten range (a copy of an early one) rather than process it a second time;
   * spec: rfc9000#13.2.3/5 — the largest packet number processed is kept throughout */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  duo_settle(&d, 1000);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  uint64_t id = 0;
  size_t acc = 0, len = 0;
  uint8_t b[1500], early[1500];
  size_t early_len = 0;
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 1, &id), VQ_OK);
  vq_space *cs = &d.cli->sp[VQ_SPACE_APP], *ss = &d.srv->sp[VQ_SPACE_APP];
  int64_t largest = -1;
  for (unsigned k = 0; k < VQ_ACK_RANGES + 8; k++) {
    CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"z", 1, 0, &acc), VQ_OK);
    uint64_t pn = cs->next_pn;
    CHECK_EQ(vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len), VQ_OK);
    CHECK(len > 0);
    if (k == 1) {
      memcpy(early, b, len);
      early_len = len;
    }
    CHECK_EQ(vq_conn_recv(d.srv, &d.cx, b, len, 0), VQ_OK);
    largest = (int64_t)pn;
    CHECK_EQ(ss->largest_recv, largest);
    while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
      ; /* the server's ACKs are lost: the client keeps its packets in flight */
    cs->next_pn++; /* a gap: every packet is a range of its own at the server */
  }
  CHECK(ss->recv.dropped > 0); /* ranges were forgotten */
  CHECK(ss->floor > 0);
  CHECK_EQ(ss->largest_recv, largest);
  vq_conn_stats a, bs;
  vq_conn_get_stats(d.srv, &a);
  CHECK_EQ(vq_conn_recv(d.srv, &d.cx, early, early_len, 0), VQ_OK);
  vq_conn_get_stats(d.srv, &bs);
  CHECK_EQ(bs.pkts_recv, a.pkts_recv);
  CHECK_EQ(ss->largest_recv, largest);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_ack_delay_is_own_delay_only)
{
  /* spec: rfc9000#13.2.5/1 — the server's ACK goes 5 ms after it processed the packet (with data it
   * sends then) and spends 10 ms on the way back: the client's RTT sample (15 ms) is reduced by the
   * server's own 5 ms only, i.e. the ACK Delay field holds the time from processing the packet to
   * sending the ACK, nothing the server did not control */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  duo_settle(&d, 1000);
  CHECK(d.cli->hs_confirmed);
  uint64_t id = 0;
  size_t acc = 0, len = 0;
  uint8_t b[1500];
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"x", 1, 0, &acc), VQ_OK);
  CHECK_EQ(vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  vq_time t0 = d.cx.now;
  CHECK_EQ(vq_conn_recv(d.srv, &d.cx, b, len, 0), VQ_OK);
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK_EQ(len, (size_t)0); /* the ACK is deferred */
  d.cx.now = t0 + VQ_MS(5);
  CHECK_EQ(vq_conn_stream_write(d.srv, &d.cx, id, (const uint8_t *)"y", 1, 0, &acc), VQ_OK);
  CHECK_EQ(vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  vq_rtt before = d.cli->rec.rtt;
  d.cx.now += VQ_MS(10);
  CHECK_EQ(vq_conn_recv(d.cli, &d.cx, b, len, 0), VQ_OK);
  CHECK_EQ(vq_recovery_bytes_in_flight(&d.cli->rec), 0); /* it was the ACK of that packet */
  const vq_time latest = VQ_MS(15), own = VQ_MS(5);
  CHECK_EQ(d.cli->rec.rtt.latest, latest);
  CHECK(latest - before.min >= own);
  CHECK_EQ(d.cli->rec.rtt.smoothed, (before.smoothed * 7u + (latest - own)) / 8u);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9114 §6.2: room for the peer's unidirectional streams ------------------------------------ */

VQ_TEST(conn_spec_h3_needs_three_uni_streams)
{
  /* spec: rfc9114#6.2/1 — an HTTP/3 session is refused over a connection that lets the peer open
   * fewer than three unidirectional streams (control, QPACK encoder and decoder); 3 and the
   * default (100) are accepted */
  vq_mem root;
  vq_mem_init(&root, vq_allocator_system(), NULL, (size_t)64 << 20);
  vq_rng rng;
  vq_rng_seed(&rng, 5);
  vq_cx cx = {VQ_MS(1000), NULL, NULL, &rng, NULL};
  vq_tls_ctx_config ccfg = {0};
  ccfg.insecure = 1;
  ccfg.alpn = (const uint8_t *)"\x02h3";
  ccfg.alpn_len = 3;
  char err[256];
  vq_tls_ctx *cctx = NULL;
  CHECK_EQ(vq_tls_ctx_new(&cctx, &ccfg, err, sizeof(err)), VQ_OK);
  const uint64_t uni[4] = {1, 2, 3, 0};
  const vq_status want[4] = {VQ_ERR_INVALID_ARGUMENT, VQ_ERR_INVALID_ARGUMENT, VQ_OK, VQ_OK};
  for (int i = 0; i < 4 && cctx; i++) {
    vq_conn_config cc = {0};
    cc.tls = cctx;
    cc.server_name = "localhost";
    cc.initial_max_streams_uni = uni[i];
    vq_conn *c = NULL;
    CHECK_EQ(vq_conn_new_client(&c, &root, &cc, &cx), VQ_OK);
    if (!c)
      continue;
    CHECK_EQ(vq_conn_local_initial_max_streams(c, 1), uni[i] ? uni[i] : 100);
    vq_h3_config hc;
    vq_h3_config_default(&hc, 0);
    vq_h3_callbacks cb = {0};
    vq_h3q q;
    CHECK_EQ(vq_h3q_init(&q, c, &root, &hc, &cb), want[i]);
    if (want[i] == VQ_OK)
      vq_h3q_free(&q);
    vq_conn_free(c, NULL);
  }
  vq_tls_ctx_free(cctx);
  CHECK_EQ(root.used, 0);
}

/* ---- RFC 9002 §7.5: probes and the congestion window ---------------------------------------------- */

VQ_TEST(conn_spec_probe_not_blocked_by_cwnd)
{
  /* spec: rfc9002#7.5/1 — the server sends until its congestion window is full (data still waits)
   * and nothing is acknowledged: when its PTO fires, it sends a probe all the same, beyond the window */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  duo_run(&d, 200);
  duo_settle(&d, 1000);
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  uint64_t id = 0;
  size_t acc = 0, len = 0;
  uint8_t b[1500];
  static uint8_t body[200000];
  memset(body, 0x42, sizeof(body));
  CHECK_EQ(vq_conn_stream_open(d.srv, &d.cx, 0, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.srv, &d.cx, id, body, sizeof(body), 0, &acc), VQ_OK);
  CHECK(acc > 100000);
  int sent = 0;
  while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len && sent < 1000)
    sent++; /* all lost */
  CHECK(sent > 0 && sent < 1000);
  uint64_t cwnd = d.srv->rec.cc.cwnd, in_flight = vq_recovery_bytes_in_flight(&d.srv->rec);
  CHECK(in_flight + 1200 > cwnd); /* no room for another full packet */
  vq_time next = VQ_TIME_NEVER;
  CHECK(vq_recovery_can_send(&d.srv->rec, d.cx.now, &next) < 1200);
  /* the PTO (possibly after pacing timers that send nothing) */
  int probes = 0;
  for (int i = 0; i < 10 && !probes; i++) {
    vq_time due = vq_conn_next_timeout(d.srv);
    CHECK(due != VQ_TIME_NEVER);
    if (due > d.cx.now)
      d.cx.now = due;
    (void)vq_conn_handle_timeout(d.srv, &d.cx);
    while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len)
      probes++;
  }
  CHECK(probes >= 1);
  CHECK(vq_recovery_bytes_in_flight(&d.srv->rec) > in_flight);
  CHECK(vq_recovery_bytes_in_flight(&d.srv->rec) > d.srv->rec.cc.cwnd);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9001 §5.7: a client processes no 1-RTT packet before its handshake completes ------------- */

VQ_TEST(conn_spec_client_no_1rtt_before_handshake_complete)
{
  /* spec: rfc9001#5.7/5 — a 1-RTT packet of the server (under its 1-RTT key, which it has once its
   * flight is built) reaches the client before the server's Handshake packets: the client does not
   * process it; the same packet after the handshake completed is processed */
  duo d;
  CHECK(duo_new(&d));
  CHECK(duo_client_first(&d));
  CHECK(duo_server(&d, NULL, NULL));
  uint8_t flight[8][1500], b[1500];
  size_t flen[8], nf = 0, len = 0;
  while (vq_conn_send(d.srv, &d.cx, b, sizeof(b), &len) == VQ_OK && len && nf < 8) {
    memcpy(flight[nf], b, len);
    flen[nf++] = len;
  }
  CHECK(nf > 0);
  CHECK(d.srv->sp[VQ_SPACE_APP].tx.installed);
  /* a 1-RTT packet from the server: PING, padded */
  uint8_t p[200], copy[200];
  size_t pn_off = 0, out = 0;
  memset(p, 0, sizeof(p));
  CHECK_EQ(vq_short_header_write(p, sizeof(p), &d.cli->scid, 0, 0, 4, &pn_off), VQ_OK);
  const uint64_t pn = 777;
  CHECK_EQ(vq_pn_write(p + pn_off, sizeof(p) - pn_off, pn, 4), VQ_OK);
  p[pn_off + 4] = 0x01; /* PING, then PADDING */
  CHECK_EQ(vq_packet_protect(&d.srv->sp[VQ_SPACE_APP].tx, p, sizeof(p), pn_off, 4, pn, 40, &out),
           VQ_OK);
  memcpy(copy, p, out);
  /* the client has nothing of the server's flight yet: its handshake is not complete */
  vq_conn_stats a, bs;
  vq_conn_get_stats(d.cli, &a);
  CHECK_EQ(vq_conn_recv(d.cli, &d.cx, p, out, 0), VQ_OK);
  vq_conn_get_stats(d.cli, &bs);
  CHECK(!d.cli->hs_complete);
  CHECK_EQ(bs.pkts_recv, a.pkts_recv);
  CHECK_EQ(bs.pkts_dropped, a.pkts_dropped + 1);
  CHECK_EQ(d.cli->sp[VQ_SPACE_APP].largest_recv, -1);
  /* now the server's flight: the handshake completes, and the same packet is processed */
  for (size_t i = 0; i < nf; i++)
    (void)vq_conn_recv(d.cli, &d.cx, flight[i], flen[i], 0);
  CHECK(d.cli->hs_complete);
  CHECK_EQ(vq_conn_recv(d.cli, &d.cx, copy, out, 0), VQ_OK);
  CHECK_EQ(d.cli->sp[VQ_SPACE_APP].largest_recv, (int64_t)pn);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- RFC 9000 §14: no QUIC over a path below 1200 bytes ------------------------------------------- */

VQ_TEST(conn_spec_no_connection_below_1200_bytes)
{
  /* spec: rfc9000#14/1 — a path that drops every datagram of 1200 bytes or more: the client's
   * datagrams before the handshake are all that large (Initials are padded, rfc9000#14.1/1), so none
   * gets through, no connection is made, and the client gives up (idle timeout) */
  duo d;
  CHECK(duo_new_idle(&d, 2000));
  CHECK(duo_client_first(&d));
  uint8_t b[1500];
  size_t len = 0;
  int sent = 0, small = 0;
  for (int i = 0; i < 100 && vq_conn_get_state(d.cli) < VQ_CONN_CLOSED; i++) {
    while (vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len) == VQ_OK && len) {
      sent++;
      small += len < 1200;
    }
    vq_time due = vq_conn_next_timeout(d.cli);
    if (due == VQ_TIME_NEVER)
      break;
    if (due > d.cx.now)
      d.cx.now = due;
    (void)vq_conn_handle_timeout(d.cli, &d.cx);
  }
  CHECK(sent >= 2);
  CHECK_EQ(small, 0);
  CHECK(!d.cli->hs_complete);
  CHECK_EQ(vq_conn_get_state(d.cli), VQ_CONN_CLOSED);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

/* ---- datagram size: DPLPMTUD (RFC 9000 §14.2-§14.4) ------------------------------------------------ */

/* What pmtu_pump saw on the wire. */
typedef struct pmtu_wire {
  size_t mtu;                  /* datagrams above it are dropped (0: none) */
  size_t max_before_confirm;   /* the largest datagram either side sent before its confirmation */
  size_t max_cli, max_srv;     /* the largest datagram each side sent */
  uint64_t dropped;            /* datagrams dropped for the MTU */
  uint64_t srv_full;           /* server datagrams above 1452 bytes filled to within 16 bytes of
                                * its max_udp_payload (stream frames leave a few bytes) */
} pmtu_wire;

static void pmtu_one(duo *d, pmtu_wire *w, vq_conn *from, vq_conn *to, const uint8_t *b, size_t len)
{
  if (!from->hs_confirmed && len > w->max_before_confirm)
    w->max_before_confirm = len;
  size_t *mx = from == d->cli ? &w->max_cli : &w->max_srv;
  if (len > *mx)
    *mx = len;
  if (from == d->srv && len > 1452 && len > from->max_udp_payload - 16u)
    w->srv_full++;
  if (w->mtu && len > w->mtu) {
    w->dropped++;
    return;
  }
  uint8_t copy[1500];
  memcpy(copy, b, len);
  (void)vq_conn_recv(to, &d->cx, copy, len, 0);
}

/* duo_settle over a path that drops datagrams above w->mtu. */
static void pmtu_pump(duo *d, pmtu_wire *w, uint64_t ms)
{
  vq_time until = d->cx.now + VQ_MS(ms);
  uint8_t b[1500];
  for (int i = 0; i < 20000; i++) {
    int sent = 0;
    size_t len = 0;
    while (vq_conn_send(d->srv, &d->cx, b, sizeof(b), &len) == VQ_OK && len) {
      sent = 1;
      pmtu_one(d, w, d->srv, d->cli, b, len);
    }
    while (vq_conn_send(d->cli, &d->cx, b, sizeof(b), &len) == VQ_OK && len) {
      sent = 1;
      pmtu_one(d, w, d->cli, d->srv, b, len);
    }
    if (sent)
      continue;
    vq_time t = vq_conn_next_timeout(d->cli), ts = vq_conn_next_timeout(d->srv);
    if (ts < t)
      t = ts;
    if (t > until) {
      d->cx.now = until;
      return;
    }
    if (t > d->cx.now)
      d->cx.now = t;
    (void)vq_conn_handle_timeout(d->cli, &d->cx);
    (void)vq_conn_handle_timeout(d->srv, &d->cx);
  }
}

/* The server sends n bytes on a new stream of its own; the client reads them. 1: all arrived. */
static int pmtu_transfer(duo *d, pmtu_wire *w, size_t n)
{
  uint64_t id = 0;
  if (vq_conn_stream_open(d->srv, &d->cx, 0, &id) != VQ_OK)
    return 0;
  static uint8_t data[4096];
  size_t off = 0, got = 0;
  int fin = 0;
  for (int round = 0; round < 4000 && !fin; round++) {
    while (off < n) {
      size_t acc = 0, chunk = n - off < sizeof(data) ? n - off : sizeof(data);
      if (vq_conn_stream_write(d->srv, &d->cx, id, data, chunk, off + chunk == n, &acc) != VQ_OK ||
          acc == 0)
        break;
      off += acc;
    }
    pmtu_pump(d, w, 5);
    uint8_t b[4096];
    size_t r = 0;
    while (!fin && vq_conn_stream_read(d->cli, &d->cx, id, b, sizeof(b), &r, &fin) == VQ_OK && (r || fin))
      got += r;
  }
  return fin && got == n;
}

static int pmtu_duo(duo *d, pmtu_wire *w)
{
  if (!duo_new(d) || !duo_client_first(d))
    return 0;
  w->max_before_confirm = d->first_len;
  return duo_server(d, NULL, NULL);
}

VQ_TEST(conn_spec_pmtu_probe_acked_raises_size)
{
  /* spec: rfc9000#14.2/1 — DPLPMTUD is used; spec: rfc9000#14.3/1 — BASE_PLPMTU is 1200 bytes:
   * nothing above it before the handshake is confirmed (spec: rfc9000#14.2/2, rfc9000#14.1/1 — the
   * Initials padded to 1200 exactly); then the probes (PING + PADDING) search 1252, 1452 and 1472
   * (the default ceiling), each acknowledged probe raises the path's size, and (spec:
   * rfc9002#7.2/2) the congestion controller's max_datagram_size follows it */
  duo d;
  pmtu_wire w;
  memset(&w, 0, sizeof(w));
  CHECK(pmtu_duo(&d, &w));
  CHECK_EQ(d.first_len, 1200);
  pmtu_pump(&d, &w, 2000);
  CHECK(d.cli->hs_confirmed && d.srv->hs_confirmed);
  CHECK(w.max_before_confirm <= 1200);
  CHECK_EQ(d.cli->max_udp_payload, 1472);
  CHECK_EQ(d.srv->max_udp_payload, 1472);
  CHECK_EQ(d.srv->rec.cc.max_datagram_size, 1472);
  CHECK_EQ(d.cli->rec.cc.max_datagram_size, 1472);
  vq_conn_stats cs, ss;
  vq_conn_get_stats(d.cli, &cs);
  vq_conn_get_stats(d.srv, &ss);
  CHECK_EQ(cs.max_udp_payload, 1472);
  CHECK_EQ(ss.pmtu_probes_sent, 3);
  CHECK_EQ(ss.pmtu_probes_acked, 3);
  CHECK_EQ(ss.pmtu_probes_lost, 0);
  CHECK_EQ(w.max_srv, 1472);
  /* spec: rfc9000#14.2/3 — then full-sized packets: a transfer goes in 1472-byte datagrams */
  CHECK(pmtu_transfer(&d, &w, 200000));
  CHECK(w.srv_full > 100);
  CHECK(w.max_srv <= 1472 && w.max_cli <= 1472);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_pmtu_new_path_restarts)
{
  /* spec: rfc9000#14.2/6 — the maximum datagram size is kept per path: the server following its
   * client to a new address (a migration or NAT rebinding, RFC 9000 §9.3) starts again at 1200
   * bytes (spec: rfc9000#14.3/1 — BASE_PLPMTU) and searches the new path once it is validated */
  duo d;
  pmtu_wire w;
  memset(&w, 0, sizeof(w));
  CHECK(pmtu_duo(&d, &w));
  const uint8_t a1[2] = {10, 1}, a2[2] = {10, 2};
  CHECK_EQ(vq_conn_set_peer_addr(d.srv, a1, sizeof(a1)), VQ_OK);
  pmtu_pump(&d, &w, 2000);
  CHECK_EQ(d.srv->max_udp_payload, 1472);
  /* a client packet from another address: the server moves and validates it */
  uint64_t id = 0;
  size_t acc = 0;
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 1, &id), VQ_OK);
  CHECK_EQ(vq_conn_stream_write(d.cli, &d.cx, id, (const uint8_t *)"x", 1, 0, &acc), VQ_OK);
  uint8_t b[1500];
  size_t len = 0;
  CHECK_EQ(vq_conn_send(d.cli, &d.cx, b, sizeof(b), &len), VQ_OK);
  CHECK(len > 0);
  CHECK_EQ(vq_conn_recv_from(d.srv, &d.cx, a2, sizeof(a2), b, len, 0), VQ_OK);
  CHECK(d.srv->path_unvalidated || d.srv->path_validating);
  CHECK_EQ(d.srv->max_udp_payload, 1200);
  vq_conn_stats ss;
  vq_conn_get_stats(d.srv, &ss);
  uint64_t probes = ss.pmtu_probes_sent;
  pmtu_pump(&d, &w, 2000);
  vq_conn_get_stats(d.srv, &ss);
  CHECK(!d.srv->path_unvalidated);
  CHECK_EQ(ss.pmtu_probes_sent, probes + 3);
  CHECK_EQ(d.srv->max_udp_payload, 1472);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_pmtu_probe_lost_no_congestion)
{
  /* A path of 1300 bytes: the 1252-byte probe is acknowledged, the 1452-byte ones are lost
   * (MAX_PROBES = 3), the size stays at 1252. spec: rfc9000#14.4/1 — the lost probes are no
   * congestion signal: no congestion event, the window is not reduced */
  duo d;
  pmtu_wire w;
  memset(&w, 0, sizeof(w));
  w.mtu = 1300;
  CHECK(pmtu_duo(&d, &w));
  pmtu_pump(&d, &w, 5000);
  CHECK(d.srv->hs_confirmed && d.cli->hs_confirmed);
  CHECK_EQ(d.srv->max_udp_payload, 1252);
  CHECK_EQ(d.cli->max_udp_payload, 1252);
  vq_conn_stats ss;
  vq_conn_get_stats(d.srv, &ss);
  CHECK_EQ(ss.pmtu_probes_acked, 1);
  CHECK_EQ(ss.pmtu_probes_lost, 3);
  CHECK(w.dropped >= 6); /* both sides' three */
  CHECK_EQ(d.srv->rec.cc.congestion_events, 0);
  CHECK_EQ(d.srv->rec.cc.persistent_congestion_events, 0);
  CHECK_EQ(d.cli->rec.cc.congestion_events, 0);
  CHECK(d.srv->rec.cc.cwnd >= 10u * 1200u);
  /* the search is over: no more probes until PMTU_RAISE_TIMER */
  uint64_t sent = ss.pmtu_probes_sent;
  pmtu_pump(&d, &w, 5000);
  vq_conn_get_stats(d.srv, &ss);
  CHECK_EQ(ss.pmtu_probes_sent, sent);
  /* a transfer: no datagram dropped for its size but probes */
  uint64_t dropped = w.dropped;
  CHECK(pmtu_transfer(&d, &w, 100000));
  CHECK_EQ(w.dropped, dropped);
  CHECK_EQ(d.srv->rec.cc.congestion_events, 0);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

static void tp_udp_1350(vq_tp *tp) { tp->max_udp_payload_size = 1350; }

VQ_TEST(conn_spec_pmtu_peer_tp_caps)
{
  /* spec: rfc9000#18.2 — the server's max_udp_payload_size (1350) bounds the client's search: it
   * probes 1252, then the ceiling 1350 itself, never more; the server's own search is not bounded
   * by it (the client advertises 65527) */
  duo d;
  vq_cid sc = srv_cid8();
  CHECK(duo_forged_server_tp(&d, tp_udp_1350, &sc));
  pmtu_wire w;
  memset(&w, 0, sizeof(w));
  pmtu_pump(&d, &w, 3000);
  CHECK(d.cli->hs_confirmed);
  CHECK_EQ(d.cli->max_udp_payload, 1350);
  CHECK_EQ(w.max_cli, 1350);
  CHECK_EQ(d.srv->max_udp_payload, 1472);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}

VQ_TEST(conn_spec_pmtu_black_hole_falls_back)
{
  /* RFC 8899 §4.3 (spec: rfc9000#14.3/1): at 1472 bytes the path's MTU drops to 1200 mid-transfer:
   * the larger packets are lost, packets of 1200 bytes sent after two PTOs get through, a probe of
   * 1472 bytes is lost too, the size falls back to 1200 and the transfer completes; the search
   * again finds nothing above 1200 */
  duo d;
  pmtu_wire w;
  memset(&w, 0, sizeof(w));
  CHECK(pmtu_duo(&d, &w));
  pmtu_pump(&d, &w, 2000);
  CHECK_EQ(d.srv->max_udp_payload, 1472);
  w.mtu = 1200;
  CHECK(pmtu_transfer(&d, &w, 300000));
  vq_conn_stats ss;
  vq_conn_get_stats(d.srv, &ss);
  CHECK(ss.pmtu_black_holes >= 1);
  CHECK_EQ(d.srv->max_udp_payload, 1200);
  CHECK_EQ(d.srv->rec.cc.max_datagram_size, 1200);
  /* a new search after PMTU_RAISE_TIMER: the path (now back to 1500) is raised again */
  pmtu_pump(&d, &w, 20000);
  CHECK_EQ(d.srv->max_udp_payload, 1200);
  vq_conn_get_stats(d.srv, &ss);
  /* the probe of 1472 bytes that confirmed the black hole lost, then the search after the
   * fallback: the 1252-byte probes lost (MAX_PROBES), the next search only after PMTU_RAISE_TIMER
   * (600 s) */
  CHECK_EQ(ss.pmtu_probes_lost, 4);
  CHECK(d.srv->pmtu_next >= d.cx.now + VQ_MS(500000) && d.srv->pmtu_next != VQ_TIME_NEVER);
  w.mtu = 1500;
  uint64_t ka = 0;
  CHECK_EQ(vq_conn_stream_open(d.cli, &d.cx, 0, &ka), VQ_OK);
  for (int k = 0; k < 62; k++) { /* traffic every 10 s keeps the connection alive (idle: 30 s) */
    size_t acc = 0;
    (void)vq_conn_stream_write(d.cli, &d.cx, ka, (const uint8_t *)"k", 1, 0, &acc);
    pmtu_pump(&d, &w, 10000);
  }
  CHECK_EQ(vq_conn_get_state(d.srv), VQ_CONN_ESTABLISHED);
  CHECK_EQ(d.srv->max_udp_payload, 1472);
  duo_free(&d);
  CHECK_EQ(d.root.used, 0);
}
