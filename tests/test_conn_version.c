/* Version negotiation in the connection and the endpoint (RFC 9000 §6, RFC 9368, RFC 9369 §4), with
 * a direct client <-> endpoint driver (no lab): every datagram can be looked at, dropped or forged. */
#include <stdio.h>
#include <string.h>

#include "transport/conn_internal.h"
#include "tls_pair.h"
#include "vqtest.h"
#include "vquic/conn.h"
#include "vquic/endpoint.h"
#include "vquic/packet.h"
#include "vquic/protect.h"
#include "vquic/tls.h"

static const uint8_t alpn[] = {10, 'h', 'q', '-', 'i', 'n', 't', 'e', 'r', 'o', 'p'};
static const uint8_t addr[] = {127, 0, 0, 1, 0x30, 0x39};

typedef struct pair {
  vq_mem root;
  vq_tls_ctx *sctx, *cctx;
  vq_endpoint *ep;
  vq_conn *cli;
  vq_rng rng;
  vq_cx cx;
  int cli_hs, srv_hs, cli_closed, srv_closed;
  uint64_t cli_close_code, srv_close_code;
  int drop_client_datagrams;     /* the next n client datagrams are lost */
  /* the long header versions seen: [0] client, [1] server; bit 0 Initial v1, 1 Initial v2,
   * 2 Handshake v1, 3 Handshake v2 */
  unsigned seen[2];
  uint32_t first_cli_version;
  size_t vn_seen, retry_seen;
  uint32_t retry_version;
} pair;

static void note(pair *p, int from_server, const uint8_t *d, size_t len)
{
  size_t off = 0;
  while (off < len) {
    vq_pkt_header h;
    if (vq_packet_parse(d + off, len - off, 8, &h) != VQ_OK || h.packet_len == 0)
      return;
    if (h.type == VQ_PKT_VERSION_NEGOTIATION) {
      p->vn_seen++;
      return;
    }
    if (h.type == VQ_PKT_RETRY) {
      p->retry_seen++;
      p->retry_version = h.version;
      return;
    }
    if (h.type != VQ_PKT_INITIAL && h.type != VQ_PKT_HANDSHAKE)
      return;
    if (!from_server && !p->first_cli_version)
      p->first_cli_version = h.version;
    unsigned bit = (h.type == VQ_PKT_HANDSHAKE ? 2u : 0u) + (h.version == VQ_QUIC_V2 ? 1u : 0u);
    p->seen[from_server] |= 1u << bit;
    off += h.packet_len;
  }
}

static int pair_new_ex(pair *p, const uint32_t *cli_versions, uint32_t cli_version,
                       const uint32_t *srv_versions, int retry)
{
  memset(p, 0, sizeof(*p));
  vq_mem_init(&p->root, vq_allocator_system(), NULL, (size_t)256 << 20);
  vq_rng_seed(&p->rng, 7);
  p->cx = (vq_cx){VQ_MS(1000), NULL, NULL, &p->rng, NULL};
  vq_tls_ctx_config scfg = {0}, ccfg = {0};
  scfg.alpn = ccfg.alpn = alpn;
  scfg.alpn_len = ccfg.alpn_len = sizeof(alpn);
  ccfg.insecure = 1;
  if (!vqt_tls_pair(&p->sctx, &scfg, &p->cctx, &ccfg))
    return 0;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.retry = retry;
  for (size_t i = 0; srv_versions && srv_versions[i] && i < VQ_CONN_MAX_VERSIONS; i++)
    ec.conn.versions[i] = srv_versions[i];
  if (vq_endpoint_new(&p->ep, &p->root, &ec) != VQ_OK)
    return 0;
  vq_conn_config cc = {0};
  cc.tls = p->cctx;
  cc.server_name = "localhost";
  cc.version = cli_version;
  for (size_t i = 0; cli_versions && cli_versions[i] && i < VQ_CONN_MAX_VERSIONS; i++)
    cc.versions[i] = cli_versions[i];
  return vq_conn_new_client(&p->cli, &p->root, &cc, &p->cx) == VQ_OK;
}

static int pair_new(pair *p, const uint32_t *cli_versions, uint32_t cli_version,
                    const uint32_t *srv_versions)
{
  return pair_new_ex(p, cli_versions, cli_version, srv_versions, 0);
}

static vq_conn *srv_conn(pair *p)
{
  vq_endpoint_conn *ec = vq_endpoint_next(p->ep, NULL);
  return ec ? ec->conn : NULL;
}

static void events(pair *p)
{
  vq_conn_event ev;
  while (vq_conn_poll_event(p->cli, &ev)) {
    if (ev.type == VQ_CONN_EV_HANDSHAKE_DONE)
      p->cli_hs = 1;
    if (ev.type == VQ_CONN_EV_CLOSED) {
      p->cli_closed = 1;
      p->cli_close_code = ev.error_code;
    }
  }
  vq_conn *s = srv_conn(p);
  while (s && vq_conn_poll_event(s, &ev)) {
    if (ev.type == VQ_CONN_EV_HANDSHAKE_DONE)
      p->srv_hs = 1;
    if (ev.type == VQ_CONN_EV_CLOSED) {
      p->srv_closed = 1;
      p->srv_close_code = ev.error_code;
    }
  }
}

/* One round: everything the client sends to the endpoint, everything the server sends back; time
 * moves to the next timer when nothing was sent. 0 when nothing is left to do. */
static int pair_step(pair *p)
{
  uint8_t d[1500], resp[1500];
  size_t n = 0;
  int sent = 0;
  while (vq_conn_send(p->cli, &p->cx, d, sizeof(d), &n) == VQ_OK && n) {
    sent = 1;
    note(p, 0, d, n);
    if (p->drop_client_datagrams > 0) {
      p->drop_client_datagrams--;
      continue;
    }
    vq_endpoint_conn *ec = NULL;
    int created = 0;
    size_t rl = 0;
    (void)vq_endpoint_recv(p->ep, &p->cx, addr, sizeof(addr), d, n, &ec, &created, resp, sizeof(resp), &rl);
    if (rl) {
      note(p, 1, resp, rl);
      (void)vq_conn_recv(p->cli, &p->cx, resp, rl, 0);
    }
  }
  vq_conn *s = srv_conn(p);
  while (s && vq_conn_send(s, &p->cx, d, sizeof(d), &n) == VQ_OK && n) {
    sent = 1;
    note(p, 1, d, n);
    (void)vq_conn_recv(p->cli, &p->cx, d, n, 0);
  }
  events(p);
  if (sent)
    return 1;
  vq_time t = vq_conn_next_timeout(p->cli);
  vq_time ts = vq_endpoint_next_timeout(p->ep);
  if (ts < t)
    t = ts;
  if (t == VQ_TIME_NEVER)
    return 0;
  if (t > p->cx.now)
    p->cx.now = t;
  (void)vq_conn_handle_timeout(p->cli, &p->cx);
  if (s && vq_conn_next_timeout(s) <= p->cx.now)
    (void)vq_conn_handle_timeout(s, &p->cx);
  events(p);
  return 1;
}

/* Runs until both handshakes are done or the client closed (at most n rounds). */
static void pair_run(pair *p, int n)
{
  for (int i = 0; i < n && !(p->cli_hs && p->srv_hs) && !p->cli_closed; i++)
    if (!pair_step(p))
      break;
}

static void pair_free(pair *p)
{
  vq_endpoint_free(p->ep);
  vq_conn_free(p->cli, NULL);
  vq_tls_ctx_free(p->sctx);
  vq_tls_ctx_free(p->cctx);
}

/* A Version Negotiation packet answering the client's Initial d[0..n) (CIDs swapped, or not). */
static size_t make_vn(uint8_t *out, size_t cap, const uint8_t *d, size_t n, const uint32_t *versions,
                      size_t nv, int bad_cids)
{
  vq_pkt_header h;
  if (vq_packet_parse(d, n, 0, &h) != VQ_OK)
    return 0;
  size_t used = 0;
  uint8_t wrong[8] = {9, 9, 9, 9, 9, 9, 9, 9};
  if (vq_vn_write(out, cap, 0x40, bad_cids ? wrong : d + h.scid_off, bad_cids ? 8 : h.scid_len,
                  d + h.dcid_off, h.dcid_len, versions, nv, &used) != VQ_OK)
    return 0;
  return used;
}

VQ_TEST(conn_vn_listing_our_version_is_discarded)
{
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  CHECK(pair_new(&p, cv, 0, NULL));
  uint8_t d[1500], vn[256];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  vq_conn_stats st;
  /* spec: rfc9000#6.2/3, rfc9368#4/1 — it lists the version we chose (v1): discarded */
  const uint32_t vs[] = {VQ_QUIC_V2, VQ_QUIC_V1};
  size_t vl = make_vn(vn, sizeof(vn), d, n, vs, 2, 0);
  CHECK(vl > 0);
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl, 0), VQ_OK);
  vq_conn_get_stats(p.cli, &st);
  CHECK_EQ(st.pkts_dropped, 1);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V1);
  CHECK(!vq_conn_version_restarted(p.cli));
  /* spec: rfc9000#17.2.1/4 — one that does not echo our Source CID was not sent to us: discarded */
  vl = make_vn(vn, sizeof(vn), d, n, vs + 0, 1, 1);
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl, 0), VQ_OK);
  vq_conn_get_stats(p.cli, &st);
  CHECK_EQ(st.pkts_dropped, 2);
  CHECK(!vq_conn_version_restarted(p.cli));
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_HANDSHAKE);
  /* and the attempt goes on in v1 */
  pair_run(&p, 200);
  CHECK(p.cli_hs && p.srv_hs);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V1);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

/* spec: rfc8999#6/2 — a Version Negotiation packet with no Supported Version or a truncated one is
 * ignored: no restart, no abandon, the attempt goes on */
VQ_TEST(conn_vn_empty_or_truncated_is_ignored)
{
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  CHECK(pair_new(&p, cv, 0, NULL));
  uint8_t d[1500], vn[256];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  /* a well-formed one listing only v2 would make the client restart in v2 */
  const uint32_t vs[] = {VQ_QUIC_V2};
  size_t vl = make_vn(vn, sizeof(vn), d, n, vs, 1, 0);
  CHECK(vl > 4);
  vq_conn_stats st;
  /* truncated: 2 bytes of a second version */
  vn[vl] = 0x00;
  vn[vl + 1] = 0x00;
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl + 2, 0), VQ_OK);
  /* empty: the CIDs and no version at all */
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl - 4, 0), VQ_OK);
  /* truncated inside the only version */
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl - 1, 0), VQ_OK);
  vq_conn_get_stats(p.cli, &st);
  CHECK_EQ(st.pkts_recv, 0);
  CHECK(!vq_conn_version_restarted(p.cli));
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_HANDSHAKE);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V1);
  pair_run(&p, 200);
  CHECK(p.cli_hs && p.srv_hs);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V1);
  CHECK(!vq_conn_version_restarted(p.cli));
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_vn_after_another_packet_is_discarded)
{
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  CHECK(pair_new(&p, cv, 0, NULL));
  uint8_t d[1500], vn[256];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  size_t rl = 0;
  uint8_t copy[1500];
  memcpy(copy, d, n);
  CHECK_EQ(vq_endpoint_recv(p.ep, &p.cx, addr, sizeof(addr), copy, n, &ec, &created, NULL, 0, &rl), VQ_OK);
  CHECK(created);
  /* the server's first flight reaches the client */
  uint8_t s[1500];
  size_t sn = 0;
  CHECK_EQ(vq_conn_send(ec->conn, &p.cx, s, sizeof(s), &sn), VQ_OK);
  CHECK(sn > 0);
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, s, sn, 0), VQ_OK);
  vq_conn_stats st;
  vq_conn_get_stats(p.cli, &st);
  CHECK(st.pkts_recv > 0);
  uint64_t dropped = st.pkts_dropped;
  /* spec: rfc9000#6.2/2 — a Version Negotiation after another packet was processed is discarded,
   * even one listing only a version we could use */
  const uint32_t vs[] = {VQ_QUIC_V2};
  size_t vl = make_vn(vn, sizeof(vn), d, n, vs, 1, 0);
  CHECK(vl > 0);
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl, 0), VQ_OK);
  vq_conn_get_stats(p.cli, &st);
  CHECK_EQ(st.pkts_dropped, dropped + 1);
  CHECK(!vq_conn_version_restarted(p.cli));
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V1);
  pair_run(&p, 200);
  CHECK(p.cli_hs && p.srv_hs);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_vn_without_common_version_abandons)
{
  pair p;
  CHECK(pair_new(&p, NULL, 0, NULL)); /* the default: v1 only */
  uint8_t d[1500], vn[256];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  /* spec: rfc9000#6.2/1, rfc9368#2.1/4 — nothing we support: the attempt is abandoned at once,
   * with VQ_CONN_EV_CLOSED (VERSION_NEGOTIATION_ERROR) and nothing more sent */
  const uint32_t vs[] = {VQ_QUIC_V2, 0x1a2a3a4au};
  size_t vl = make_vn(vn, sizeof(vn), d, n, vs, 2, 0);
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl, 0), VQ_OK);
  events(&p);
  CHECK(p.cli_closed);
  CHECK_EQ(p.cli_close_code, VQ_TE_VERSION_NEGOTIATION_ERROR);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_CLOSED);
  const char *reason = NULL;
  CHECK_EQ(vq_conn_close_error(p.cli, NULL, NULL, &reason), VQ_TE_VERSION_NEGOTIATION_ERROR);
  CHECK(reason && strstr(reason, "no version in common"));
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  CHECK_EQ(n, (size_t)0);
  CHECK_EQ(vq_conn_next_timeout(p.cli), VQ_TIME_NEVER);
  uint64_t owed = 1;
  vq_conn_free(p.cli, &owed);
  p.cli = NULL;
  CHECK_EQ(owed, 0);
  vq_endpoint_free(p.ep);
  vq_tls_ctx_free(p.sctx);
  vq_tls_ctx_free(p.cctx);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_vn_restart_in_v2_completes)
{
  /* the endpoint accepts only v2; the client starts in v1 and may use v2; spec: rfc9368#6/2 — the
   * new attempt negotiates its ALPN afresh (the handshake completes with it) */
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  const uint32_t sv[] = {VQ_QUIC_V2, 0};
  CHECK(pair_new(&p, cv, 0, sv));
  pair_run(&p, 400);
  /* spec: rfc9368#2.1/1 — the endpoint's Version Negotiation lists what it accepts; spec:
   * rfc9368#2.1/3, rfc9368#2.1/5 — the client starts again with the version it found there, and
   * the handshake completes in it (the server's version_information confirms it, rfc9368#4/15) */
  CHECK(p.vn_seen >= 1);
  CHECK_EQ(p.first_cli_version, VQ_QUIC_V1);
  CHECK(p.cli_hs && p.srv_hs);
  CHECK(vq_conn_version_restarted(p.cli));
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V2);
  CHECK(srv_conn(&p) && vq_conn_version(srv_conn(&p)) == VQ_QUIC_V2);
  CHECK_EQ(p.seen[1] & 0x5u, 0u); /* the server sent nothing in v1 */
  /* spec: rfc9368#4/2 — a Version Negotiation after the new attempt is ignored */
  uint8_t vn[256];
  const uint8_t dc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const vq_cid *our = vq_conn_scid(p.cli);
  const uint32_t vs[] = {VQ_QUIC_V1};
  size_t vl = 0;
  CHECK_EQ(vq_vn_write(vn, sizeof(vn), 0x40, our->bytes, our->len, dc, 8, vs, 1, &vl), VQ_OK);
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl, 0), VQ_OK);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V2);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_vn_forged_downgrade_is_detected)
{
  /* the client prefers v2 and starts with it; an attacker drops its Initial and forges a Version
   * Negotiation listing only v1; the server (v1 and v2) then shows v2 in its Available Versions */
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  CHECK(pair_new(&p, cv, 0, NULL));
  uint8_t d[1500], vn[256];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  const uint32_t vs[] = {VQ_QUIC_V1};
  size_t vl = make_vn(vn, sizeof(vn), d, n, vs, 1, 0);
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, vn, vl, 0), VQ_OK);
  CHECK(vq_conn_version_restarted(p.cli));
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V1);
  for (int i = 0; i < 400 && !p.cli_closed; i++)
    if (!pair_step(&p))
      break;
  /* spec: rfc9368#4/15, rfc9368#4/16 — the client would have chosen v2 from the server's Available
   * Versions: VERSION_NEGOTIATION_ERROR, and the handshake does not complete; spec: rfc8999#7/1 —
   * the forged Version Negotiation is caught by the authenticated handshake */
  int app = 1, by_peer = 1;
  CHECK_EQ(vq_conn_close_error(p.cli, &app, &by_peer, NULL), VQ_TE_VERSION_NEGOTIATION_ERROR);
  CHECK(!app && !by_peer);
  CHECK(!p.cli_hs);
  CHECK(p.srv_closed && p.srv_close_code == VQ_TE_VERSION_NEGOTIATION_ERROR);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_compatible_negotiation_v1_to_v2)
{
  /* spec: rfc9369#4/3 — the server prefers v2; the client starts in v1 and lists v2; spec:
   * rfc9368#2.2/1 — compatible: v1 and v2 (RFC 9369 §4); spec: rfc9368#2.3/2, rfc9368#2.3/5 — the
   * server converts the v1 first flight and validates it as v2's (the handshake completes);
   * spec: rfc9369#3/1 — and the connection works in v2 as in v1; spec: rfc9368#6/1 — with the
   * same ALPN token */
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  const uint32_t sv[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  CHECK(pair_new(&p, cv, 0, sv));
  pair_run(&p, 400);
  CHECK(p.cli_hs && p.srv_hs);
  CHECK_EQ(p.vn_seen, 0);
  CHECK(!vq_conn_version_restarted(p.cli));
  CHECK_EQ(p.first_cli_version, VQ_QUIC_V1);
  /* spec: rfc9368#2.3/1, rfc9368#2/1 — the server chose v2 from the client's list; spec:
   * rfc9369#4.1/5, rfc9369#4.1/8 — it sent everything (its Initials included) in v2, spec:
   * rfc9369#4.1/6 — and the client followed: its Handshake packets are v2 */
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V2);
  CHECK_EQ(vq_conn_version(srv_conn(&p)), VQ_QUIC_V2);
  CHECK_EQ(p.seen[1] & 0x5u, 0u);
  CHECK(p.seen[1] & 0x2u);
  CHECK(p.seen[1] & 0x8u);
  CHECK_EQ(p.seen[0] & 0x4u, 0u);
  CHECK(p.seen[0] & 0x8u);
  const uint8_t *an = NULL;
  size_t al = 0;
  vq_conn_alpn(p.cli, &an, &al);
  CHECK_MEM(an, al, alpn + 1, sizeof(alpn) - 1);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);

  /* a client that lists only v1 stays in v1 with the same server */
  CHECK(pair_new(&p, NULL, 0, sv));
  pair_run(&p, 400);
  CHECK(p.cli_hs && p.srv_hs);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V1);
  CHECK_EQ(vq_conn_version(srv_conn(&p)), VQ_QUIC_V1);
  CHECK_EQ(p.seen[1] & 0xau, 0u);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_compatible_negotiation_with_lost_first_flight)
{
  /* the client's first two datagrams are lost: the retransmitted v1 Initial still converts, and a
   * v1 Initial arriving after the switch is read with the original keys (spec: rfc9369#4.1/7 — the
   * server keeps its original Initial read keys until a Handshake packet arrives) */
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  const uint32_t sv[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  CHECK(pair_new(&p, cv, 0, sv));
  p.drop_client_datagrams = 2;
  pair_run(&p, 600);
  CHECK(p.cli_hs && p.srv_hs);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V2);
  CHECK(!vq_conn_version_restarted(p.cli));
  CHECK_EQ(p.vn_seen, 0);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_pure_v2)
{
  /* spec: rfc9369#3/1 — a client configured for v2 only, a server of the default (v1 and v2) */
  pair p;
  CHECK(pair_new(&p, NULL, VQ_QUIC_V2, NULL));
  pair_run(&p, 400);
  CHECK(p.cli_hs && p.srv_hs);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V2);
  CHECK_EQ(vq_conn_version(srv_conn(&p)), VQ_QUIC_V2);
  CHECK_EQ(p.first_cli_version, VQ_QUIC_V2);
  CHECK_EQ(p.seen[0] & 0x5u, 0u);
  CHECK_EQ(p.seen[1] & 0x5u, 0u);
  CHECK(p.seen[0] & 0x2u);
  CHECK(p.seen[1] & 0x8u);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_endpoint_vn_for_unaccepted_version)
{
  /* an endpoint that accepts only v2 answers a v1 Initial with Version Negotiation listing v2
   * (rfc9368#2.1/1) and makes no connection */
  pair p;
  const uint32_t sv[] = {VQ_QUIC_V2, 0};
  CHECK(pair_new(&p, NULL, 0, sv));
  uint8_t d[1500], resp[1500];
  size_t n = 0, rl = 0;
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  CHECK_EQ(vq_endpoint_recv(p.ep, &p.cx, addr, sizeof(addr), d, n, &ec, &created, resp, sizeof(resp), &rl),
           VQ_OK);
  CHECK(!created && !ec);
  CHECK(rl > 0);
  vq_pkt_header h, ch;
  CHECK_EQ(vq_packet_parse(resp, rl, 0, &h), VQ_OK);
  CHECK(h.type == VQ_PKT_VERSION_NEGOTIATION);
  /* spec: rfc8999#6/3, rfc8999#6/4 — the client's Source CID is the Destination CID, and its
   * (randomly chosen) Destination CID the Source CID */
  CHECK_EQ(vq_packet_parse(d, n, 0, &ch), VQ_OK);
  CHECK_EQ(h.dcid_len, ch.scid_len);
  CHECK(memcmp(resp + h.dcid_off, d + ch.scid_off, ch.scid_len) == 0);
  CHECK_EQ(h.scid_len, ch.dcid_len);
  CHECK(memcmp(resp + h.scid_off, d + ch.dcid_off, ch.dcid_len) == 0);
  int has_v2 = 0, has_v1 = 0;
  for (size_t i = 0; i < h.versions_count; i++) {
    uint32_t v = 0;
    CHECK_EQ(vq_packet_vn_version(resp, rl, &h, i, &v), VQ_OK);
    has_v2 |= v == VQ_QUIC_V2;
    has_v1 |= v == VQ_QUIC_V1;
  }
  CHECK(has_v2 && !has_v1);
  /* the v1-only client finds nothing in common (rfc9000#6.2/1) */
  CHECK_EQ(vq_conn_recv(p.cli, &p.cx, resp, rl, 0), VQ_OK);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_CLOSED);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

/* The transport parameters a connection received, decoded. */
static int peer_tp_of(vq_conn *c, int sent_by_server, vq_tp *tp)
{
  const uint8_t *b = NULL;
  size_t n = 0;
  vq_tls_peer_tp(vq_conn_tls(c), &b, &n);
  return b && vq_tp_decode(b, n, sent_by_server ? VQ_TP_SERVER : VQ_TP_CLIENT, tp) == VQ_OK;
}

static int vi_lists(const vq_tp_version_info *vi, uint32_t v)
{
  for (uint32_t i = 0; i < vi->n_available; i++)
    if (vi->available[i] == v)
      return 1;
  return 0;
}

VQ_TEST(conn_version_information_sent_by_both)
{
  /* spec: rfc9368#8/2 — the mechanism of RFC 9368 negotiates v2;
   * spec: rfc9369#4/2 — both endpoints send version_information (and validate it: the handshake
   * completes); spec: rfc9368#3/2 — each Chosen Version is among its Available Versions */
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  const uint32_t sv[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  CHECK(pair_new(&p, cv, 0, sv));
  pair_run(&p, 400);
  CHECK(p.cli_hs && p.srv_hs);
  vq_tp tp;
  /* the client's: Chosen v1 (its first flight), Available v1 and v2 */
  CHECK(peer_tp_of(srv_conn(&p), 0, &tp));
  CHECK(vq_tp_has(&tp, VQ_TP_VERSION_INFORMATION));
  CHECK_EQ(tp.version_information.chosen, VQ_QUIC_V1);
  CHECK(vi_lists(&tp.version_information, VQ_QUIC_V1) && vi_lists(&tp.version_information, VQ_QUIC_V2));
  /* the server's: Chosen v2 (the negotiated version, rfc9368#4/18), Available its list */
  CHECK(peer_tp_of(p.cli, 1, &tp));
  CHECK(vq_tp_has(&tp, VQ_TP_VERSION_INFORMATION));
  CHECK_EQ(tp.version_information.chosen, VQ_QUIC_V2);
  CHECK_EQ(tp.version_information.n_available, 2u);
  CHECK_EQ(tp.version_information.available[0], VQ_QUIC_V2);
  CHECK_EQ(tp.version_information.available[1], VQ_QUIC_V1);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_server_ignores_version_negotiation)
{
  pair p;
  CHECK(pair_new(&p, NULL, 0, NULL));
  pair_run(&p, 400);
  CHECK(p.cli_hs && p.srv_hs);
  vq_conn *s = srv_conn(&p);
  vq_conn_stats before, after;
  vq_conn_get_stats(s, &before);
  /* spec: rfc9368#2.1/6 — a Version Negotiation packet to the server (to its CID, from the
   * client's) is ignored: nothing changes but the drop count */
  uint8_t vn[256];
  const vq_cid *sc = vq_conn_scid(s), *dc = vq_conn_dcid(s);
  const uint32_t vs[] = {VQ_QUIC_V2};
  size_t vl = 0;
  CHECK_EQ(vq_vn_write(vn, sizeof(vn), 0x40, sc->bytes, sc->len, dc->bytes, dc->len, vs, 1, &vl), VQ_OK);
  CHECK_EQ(vq_conn_recv(s, &p.cx, vn, vl, 0), VQ_OK);
  vq_conn_get_stats(s, &after);
  CHECK_EQ(after.pkts_dropped, before.pkts_dropped + 1);
  CHECK_EQ(after.pkts_recv, before.pkts_recv);
  CHECK_EQ(vq_conn_get_state(s), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_version(s), VQ_QUIC_V1);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_compatible_negotiation_after_retry)
{
  /* spec: rfc9369#4.1/1 — the Retry is in the original version (v1); spec: rfc9369#4.1/2 — the
   * client's Initial with the token too; spec: rfc9369#4.1/4 — the server, having switched to v2,
   * still authenticates the Retry in its transport parameters (the client checks them, RFC 9000
   * §7.3), and the connection completes in v2 */
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  const uint32_t sv[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  CHECK(pair_new_ex(&p, cv, 0, sv, 1));
  pair_run(&p, 400);
  CHECK_EQ(p.retry_seen, 1);
  CHECK_EQ(p.retry_version, VQ_QUIC_V1);
  CHECK(p.cli_hs && p.srv_hs);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V2);
  CHECK_EQ(vq_conn_version(srv_conn(&p)), VQ_QUIC_V2);
  vq_tp tp;
  CHECK(peer_tp_of(p.cli, 1, &tp));
  CHECK(vq_tp_has(&tp, VQ_TP_RETRY_SOURCE_CONNECTION_ID));
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

VQ_TEST(conn_compatible_server_reads_original_version_after_switch)
{
  /* spec: rfc9369#4.1/7 — the server switched to v2 on the client's first v1 Initial; a later v1
   * Initial of the client (a probe sent before it heard from the server) is still read */
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V1, VQ_QUIC_V2, 0};
  const uint32_t sv[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  CHECK(pair_new(&p, cv, 0, sv));
  uint8_t d[1500], held[8][1500];
  size_t n = 0, hn[8], nh = 0;
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  size_t rl = 0;
  CHECK_EQ(vq_endpoint_recv(p.ep, &p.cx, addr, sizeof(addr), d, n, &ec, &created, NULL, 0, &rl), VQ_OK);
  CHECK(created);
  vq_conn *s = ec->conn;
  CHECK_EQ(vq_conn_version(s), VQ_QUIC_V2);
  /* the server's first flight is held back */
  while (nh < 8 && vq_conn_send(s, &p.cx, held[nh], sizeof(held[nh]), &hn[nh]) == VQ_OK && hn[nh])
    nh++;
  CHECK(nh > 0);
  vq_pkt_header h;
  CHECK_EQ(vq_packet_parse(held[0], hn[0], 8, &h), VQ_OK);
  CHECK(h.type == VQ_PKT_INITIAL && h.version == VQ_QUIC_V2);
  /* the client's probe, still v1 */
  p.cx.now = vq_conn_next_timeout(p.cli);
  CHECK_EQ(vq_conn_handle_timeout(p.cli, &p.cx), VQ_OK);
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, d, sizeof(d), &n), VQ_OK);
  CHECK(n > 0);
  CHECK_EQ(vq_packet_parse(d, n, 8, &h), VQ_OK);
  CHECK(h.type == VQ_PKT_INITIAL && h.version == VQ_QUIC_V1);
  vq_conn_stats before, after;
  vq_conn_get_stats(s, &before);
  CHECK_EQ(vq_endpoint_recv(p.ep, &p.cx, addr, sizeof(addr), d, n, &ec, &created, NULL, 0, &rl), VQ_OK);
  vq_conn_get_stats(s, &after);
  CHECK_EQ(after.pkts_recv, before.pkts_recv + 1);
  CHECK_EQ(after.pkts_dropped, before.pkts_dropped);
  /* the held flight reaches the client, which follows, and the handshake completes */
  for (size_t i = 0; i < nh; i++)
    CHECK_EQ(vq_conn_recv(p.cli, &p.cx, held[i], hn[i], 0), VQ_OK);
  CHECK_EQ(vq_conn_version(p.cli), VQ_QUIC_V2);
  pair_run(&p, 400);
  CHECK(p.cli_hs && p.srv_hs);
  /* spec: rfc9369#4.1/9 — once settled, a v1 Handshake-level packet is dropped: after the handshake
   * the client's v1 Initial above is dropped too (Initial keys gone) */
  vq_conn_get_stats(s, &before);
  CHECK_EQ(vq_endpoint_recv(p.ep, &p.cx, addr, sizeof(addr), d, n, &ec, &created, NULL, 0, &rl), VQ_OK);
  vq_conn_get_stats(s, &after);
  CHECK_EQ(after.pkts_recv, before.pkts_recv);
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}

/* The validation of the peer's version_information (conn_version.c), rule by rule, on a client
 * whose received parameters are set by hand (conn_internal.h): a fresh connection for each (the first
 * failure closes it). */

static int vi_check(vq_conn *c, int is_server, int has, uint32_t chosen, const uint32_t *avail,
                    uint32_t n, int reacted, uint64_t *code)
{
  vq_rng rng;
  vq_rng_seed(&rng, 3);
  vq_cx cx = {VQ_MS(5), NULL, NULL, &rng, NULL};
  c->is_server = is_server;
  c->vn_reacted = reacted;
  vq_tp_init_defaults(&c->peer_tp);
  if (has) {
    c->peer_tp.version_information.chosen = chosen;
    c->peer_tp.version_information.n_available = n;
    for (uint32_t i = 0; i < n; i++)
      c->peer_tp.version_information.available[i] = avail[i];
    (void)vq_tp_set_present(&c->peer_tp, VQ_TP_VERSION_INFORMATION, 1);
  }
  vq_status st = vq_conn_version_check_tp(c, &cx);
  *code = vq_conn_close_error(c, NULL, NULL, NULL);
  c->is_server = 0;
  return st == VQ_OK;
}

VQ_TEST(conn_version_information_validation_rules)
{
  pair p;
  const uint32_t cv[] = {VQ_QUIC_V2, VQ_QUIC_V1, 0};
  const uint32_t v1[] = {VQ_QUIC_V1}, v2[] = {VQ_QUIC_V2}, v21[] = {VQ_QUIC_V2, VQ_QUIC_V1};
  uint64_t code = 0;
#define FRESH()                                                                                     \
  do {                                                                                             \
    vq_conn_free(p.cli, NULL);                                                                     \
    p.cli = NULL;                                                                                  \
    vq_conn_config cc = {0};                                                                       \
    cc.tls = p.cctx;                                                                               \
    cc.server_name = "localhost";                                                                  \
    memcpy(cc.versions, cv, sizeof(cv));                                                           \
    CHECK_EQ(vq_conn_new_client(&p.cli, &p.root, &cc, &p.cx), VQ_OK);                             \
  } while (0)
  CHECK(pair_new(&p, cv, 0, NULL)); /* a v2 client, v2 then v1 */
  /* the server's: chosen v2 = ours, listed by us: fine; spec: rfc9368#4/12 — missing without a
   * Version Negotiation: the client may complete */
  CHECK(vi_check(p.cli, 0, 1, VQ_QUIC_V2, v21, 2, 0, &code));
  CHECK(vi_check(p.cli, 0, 0, 0, NULL, 0, 0, &code));
  /* spec: rfc9368#4/14 — missing after a Version Negotiation: VERSION_NEGOTIATION_ERROR */
  CHECK(!vi_check(p.cli, 0, 0, 0, NULL, 0, 1, &code));
  CHECK_EQ(code, VQ_TE_VERSION_NEGOTIATION_ERROR);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_CLOSING);
  /* spec: rfc9368#4/18 — the server's Chosen Version is not the version in use */
  FRESH();
  CHECK(!vi_check(p.cli, 0, 1, VQ_QUIC_V1, v21, 2, 0, &code));
  CHECK_EQ(code, VQ_TE_VERSION_NEGOTIATION_ERROR);
  /* spec: rfc9368#4/13 — a Chosen Version we did not offer (the client offers only v2 and v1:
   * the connection is made to believe it runs a reserved version) */
  FRESH();
  p.cli->version = 0x1a2a3a4au;
  CHECK(!vi_check(p.cli, 0, 1, 0x1a2a3a4au, v2, 1, 0, &code));
  CHECK_EQ(code, VQ_TE_VERSION_NEGOTIATION_ERROR);
  /* spec: rfc9368#4/17 — after a Version Negotiation, empty Available Versions */
  FRESH();
  CHECK(!vi_check(p.cli, 0, 1, VQ_QUIC_V2, NULL, 0, 1, &code));
  CHECK_EQ(code, VQ_TE_VERSION_NEGOTIATION_ERROR);
  /* after a Version Negotiation that led us to v2, a server offering v2 and v1 confirms it */
  FRESH();
  CHECK(vi_check(p.cli, 0, 1, VQ_QUIC_V2, v21, 2, 1, &code));
  /* spec: rfc9368#4/11 — a server completes without it; spec: rfc9368#4/8, rfc9368#4/9,
   * rfc9368#4/10 — the client's Chosen Version must be the version of its first flight (v2 here) */
  FRESH();
  CHECK(vi_check(p.cli, 1, 0, 0, NULL, 0, 0, &code));
  CHECK(vi_check(p.cli, 1, 1, VQ_QUIC_V2, v21, 2, 0, &code));
  CHECK(!vi_check(p.cli, 1, 1, VQ_QUIC_V1, v1, 1, 0, &code));
  CHECK_EQ(code, VQ_TE_VERSION_NEGOTIATION_ERROR);
#undef FRESH
  pair_free(&p);
  CHECK_EQ(p.root.used, 0);
}
