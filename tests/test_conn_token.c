/* Address validation tokens for later connections (RFC 9000 §8.1.3, §19.7): a client vq_conn and a
 * server vq_endpoint exchanging datagrams directly (no lab), so the server's first flight can be
 * measured and tokens altered. Addresses are two bytes {host, port}; the endpoint's addr_host keeps
 * the host byte, as vq_posix_addr_host keeps a vq_addr's IP address. The lab scenarios
 * (test_lab_scenarios.c, lab_new_token_*) run whole transfers over many seeds. */
#include <stdio.h>
#include <string.h>

#include "tls_pair.h"
#include "vqtest.h"
#include "vquic/conn.h"
#include "vquic/endpoint.h"
#include "vquic/frame.h"
#include "vquic/packet.h"
#include "vquic/tls.h"
#include "vquic/token.h"

static const uint8_t alpn[] = {2, 'h', '3'};
static const uint8_t token_key[32] = {0x42, 0x13};

typedef struct tpair {
  vq_mem root;
  vq_rng rng;
  vq_cx cx;
  vq_tls_ctx *sctx, *cctx;
  vq_endpoint *ep;
  vq_conn *cli;
  uint8_t addr[2];            /* the client's {host, port} */
  uint8_t token[VQ_CONN_TOKEN_MAX]; /* the newest NEW_TOKEN token the client got */
  size_t token_len;
  int ev_token;
  uint64_t retries;           /* Retry packets the endpoint answered with */
} tpair;

static size_t host_of(const uint8_t *addr, size_t len, uint8_t *out, size_t cap)
{
  if (len != 2 || cap < 1)
    return 0;
  out[0] = addr[0];
  return 1;
}

static int tpair_init_ex(tpair *p, int retry, vq_time lifetime, int off, uint32_t replay_max)
{
  memset(p, 0, sizeof(*p));
  vq_mem_init(&p->root, vq_allocator_system(), NULL, (size_t)1 << 30);
  vq_rng_seed(&p->rng, 11);
  p->cx.rng = &p->rng;
  p->cx.now = VQ_MS(1000);
  p->addr[0] = 7;
  p->addr[1] = 1;
  vq_tls_ctx_config s = {0}, c = {0};
  s.alpn = c.alpn = alpn;
  s.alpn_len = c.alpn_len = sizeof(alpn);
  if (!vqt_tls_pair(&p->sctx, &s, &p->cctx, &c))
    return 0;
  vq_endpoint_config ec = {0};
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.token_key = token_key;
  ec.retry = retry;
  ec.new_token_lifetime = lifetime;
  ec.new_token_off = off;
  ec.addr_host = host_of;
  ec.token_replay_max = replay_max;
  return vq_endpoint_new(&p->ep, &p->root, &ec) == VQ_OK;
}

static int tpair_init(tpair *p, int retry, vq_time lifetime, int off)
{
  return tpair_init_ex(p, retry, lifetime, off, 0);
}

/* Another endpoint with the same token key (a second server of the same deployment). */
static vq_endpoint *ep_twin(tpair *p, int retry)
{
  vq_endpoint_config ec = {0};
  vq_endpoint *ep = NULL;
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.token_key = token_key;
  ec.retry = retry;
  ec.addr_host = host_of;
  return vq_endpoint_new(&ep, &p->root, &ec) == VQ_OK ? ep : NULL;
}

/* A copy of d[0..n) to ep from the client's address (the endpoint decrypts in place); *resp_len:
 * the length of its answer (a Retry, ...). The connection it went to or made, or NULL. */
static vq_conn *ep_in(tpair *p, vq_endpoint *ep, const uint8_t *d, size_t n, int *created,
                      size_t *resp_len)
{
  uint8_t copy[1500], resp[1500];
  vq_endpoint_conn *ec = NULL;
  *created = 0;
  *resp_len = 0;
  if (n > sizeof(copy))
    return NULL;
  memcpy(copy, d, n);
  (void)vq_endpoint_recv(ep, &p->cx, p->addr, sizeof(p->addr), copy, n, &ec, created, resp,
                         sizeof(resp), resp_len);
  return ec ? ec->conn : NULL;
}

static void ep_clear(vq_endpoint *ep)
{
  vq_endpoint_conn *ec;
  while ((ec = vq_endpoint_next(ep, NULL)) != NULL)
    vq_endpoint_remove(ep, ec, NULL);
}

/* The token of the client's next Initial (its datagram in d[0..*n)); 0 if it sends none. */
static size_t next_initial(tpair *p, uint8_t *d, size_t *n, const uint8_t **tok)
{
  vq_pkt_header h;
  if (vq_conn_send(p->cli, &p->cx, d, 1500, n) != VQ_OK || *n == 0 ||
      vq_packet_parse(d, *n, 8, &h) != VQ_OK || h.type != VQ_PKT_INITIAL)
    return 0;
  *tok = d + h.token_off;
  return h.token_len;
}

static vq_status client_new(tpair *p, const uint8_t *token, size_t len)
{
  vq_conn_config cc = {0};
  cc.tls = p->cctx;
  cc.server_name = "localhost";
  cc.token = token;
  cc.token_len = len;
  p->ev_token = 0;
  return vq_conn_new_client(&p->cli, &p->root, &cc, &p->cx);
}

static vq_conn *server(tpair *p)
{
  vq_endpoint_conn *ec = vq_endpoint_next(p->ep, NULL);
  return ec ? ec->conn : NULL;
}

/* A client datagram to the endpoint; a Retry it answers with goes back to the client. */
static void to_server(tpair *p, uint8_t *d, size_t n)
{
  vq_endpoint_conn *ec = NULL;
  int created = 0;
  uint8_t resp[1500];
  size_t rl = 0;
  (void)vq_endpoint_recv(p->ep, &p->cx, p->addr, sizeof(p->addr), d, n, &ec, &created, resp,
                         sizeof(resp), &rl);
  if (rl) {
    p->retries++;
    (void)vq_conn_recv(p->cli, &p->cx, resp, rl, 0);
  }
}

static void client_events(tpair *p)
{
  vq_conn_event ev;
  while (vq_conn_poll_event(p->cli, &ev))
    if (ev.type == VQ_CONN_EV_NEW_TOKEN) {
      size_t n = 0;
      p->ev_token++;
      if (vq_conn_new_token_get(p->cli, p->token, sizeof(p->token), &n) == VQ_OK)
        p->token_len = n;
    }
}

static void round_trip(tpair *p)
{
  uint8_t buf[1500];
  size_t n;
  for (int k = 0; k < 100 && vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
    to_server(p, buf, n);
  p->cx.now += VQ_MS(1);
  vq_conn *s = server(p);
  for (int k = 0; s && k < 100 && vq_conn_send(s, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
    (void)vq_conn_recv(p->cli, &p->cx, buf, n, 0);
  p->cx.now += VQ_MS(1);
  client_events(p);
}

static void run_until_established(tpair *p)
{
  for (int i = 0; i < 20 && vq_conn_get_state(p->cli) == VQ_CONN_HANDSHAKE; i++)
    round_trip(p);
  for (int i = 0; i < 3; i++) /* HANDSHAKE_DONE and NEW_TOKEN follow the handshake */
    round_trip(p);
}

static void client_done(tpair *p)
{
  vq_endpoint_conn *ec;
  while ((ec = vq_endpoint_next(p->ep, NULL)) != NULL)
    vq_endpoint_remove(p->ep, ec, NULL);
  vq_conn_free(p->cli, NULL);
  p->cli = NULL;
}

static void tpair_free(tpair *p)
{
  if (p->cli)
    client_done(p);
  vq_endpoint_free(p->ep);
  vq_tls_ctx_free(p->sctx);
  vq_tls_ctx_free(p->cctx);
}

/* A first connection, for its NEW_TOKEN token (p->token). */
static int get_token(tpair *p)
{
  if (client_new(p, NULL, 0) != VQ_OK)
    return 0;
  run_until_established(p);
  int ok = vq_conn_get_state(p->cli) == VQ_CONN_ESTABLISHED && p->ev_token == 1 && p->token_len > 0;
  client_done(p);
  p->cx.now += VQ_MS(1000);
  return ok;
}

/* The server connection s hears nothing more from its client: the bytes it sends, its timers (PTO)
 * included, over 10 s. *validated: whether a NEW_TOKEN token validated the address. */
static uint64_t server_alone(tpair *p, vq_conn *s, int *validated)
{
  uint8_t buf[1500];
  size_t n = 0;
  uint64_t sent = 0;
  vq_time end = p->cx.now + VQ_MS(10000);
  while (p->cx.now < end) {
    for (int k = 0; k < 100 && vq_conn_send(s, &p->cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      sent += n;
    vq_time t = vq_conn_next_timeout(s);
    if (t == VQ_TIME_NEVER || t >= end)
      break;
    if (t > p->cx.now)
      p->cx.now = t;
    (void)vq_conn_handle_timeout(s, &p->cx);
  }
  vq_conn_stats st;
  vq_conn_get_stats(s, &st);
  *validated = st.token_validated;
  return sent;
}

/* The client's first Initial reaches the server, which hears nothing more: the bytes it sends,
 * its timers (PTO) included, over 10 s. *validated: whether the token validated the address. */
static uint64_t first_flight_bytes(tpair *p, const uint8_t *token, size_t len, int *validated,
                                   size_t *initial_len)
{
  uint8_t buf[1500];
  size_t n = 0;
  *validated = -1;
  if (client_new(p, token, len) != VQ_OK || vq_conn_send(p->cli, &p->cx, buf, sizeof(buf), &n) != VQ_OK ||
      n == 0)
    return 0;
  *initial_len = n;
  to_server(p, buf, n);
  vq_conn *s = server(p);
  if (!s)
    return 0;
  return server_alone(p, s, validated);
}

/* spec: rfc9000#8.1.3/1 — the server gives a token after the handshake, in one NEW_TOKEN frame;
 * spec: rfc9000#8.1.3/7 — every token is unique; spec: rfc9000#8.1.3/6 — it is the sealed issue time
 * under a random nonce: nothing of the connection (CIDs) is in it; spec: rfc9000#8.1.3/8 — its kind
 * is readable (first byte) */
VQ_TEST(conn_token_issued_after_handshake)
{
  tpair p;
  CHECK(tpair_init(&p, 0, 0, 0));
  CHECK_EQ(client_new(&p, NULL, 0), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(p.ev_token, 1);
  CHECK(p.token_len > 0);
  CHECK_EQ(p.token[0], VQ_TOKEN_KIND_NEW);
  vq_conn_stats cs, ss;
  vq_conn_get_stats(p.cli, &cs);
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(cs.new_tokens_recv, 1u);
  CHECK_EQ(ss.new_tokens_sent, 1u);
  CHECK_EQ(cs.token_sent, 0);
  /* the server's CIDs appear nowhere in the token */
  const vq_cid *sc = vq_conn_scid(server(&p)), *cc = vq_conn_scid(p.cli);
  for (size_t i = 0; i + sc->len <= p.token_len; i++)
    CHECK(memcmp(p.token + i, sc->bytes, sc->len) != 0 && memcmp(p.token + i, cc->bytes, cc->len) != 0);
  /* a server keeps none: vq_conn_new_token_get says none */
  size_t n = 99;
  CHECK_EQ(vq_conn_new_token_get(server(&p), NULL, 0, &n), VQ_OK);
  CHECK_EQ(n, 0u);
  uint8_t first[VQ_CONN_TOKEN_MAX];
  size_t first_len = p.token_len;
  memcpy(first, p.token, first_len);
  client_done(&p);
  /* a second connection gets another token */
  CHECK(get_token(&p));
  CHECK(p.token_len != first_len || memcmp(first, p.token, first_len) != 0);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.new_tokens_issued, 2u);
  tpair_free(&p);
  /* new_token_off: none sent */
  CHECK(tpair_init(&p, 0, 0, 1));
  CHECK_EQ(client_new(&p, NULL, 0), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(p.ev_token, 0);
  tpair_free(&p);
}

/* spec: rfc9000#8.1.3/2 — the client puts its token in every Initial; spec: rfc9000#8.1.3/14,
 * rfc9000#8.1.3/16 — the server checks it and, valid, treats the address as validated: its first
 * flight is not held to three times what it received (rfc9000#8.1), from another port of the same
 * host too (NAT rebinding between connections) */
VQ_TEST(conn_token_validates_address_beyond_3x)
{
  tpair p;
  CHECK(tpair_init(&p, 0, 0, 0));
  int validated = -1;
  size_t ilen = 0;
  /* without a token: at most 3x the Initial */
  uint64_t plain = first_flight_bytes(&p, NULL, 0, &validated, &ilen);
  CHECK_EQ(validated, 0);
  CHECK(plain > 0 && plain <= 3u * ilen);
  client_done(&p);
  CHECK(get_token(&p));
  p.addr[1] = 2; /* another port */
  uint8_t tok[VQ_CONN_TOKEN_MAX];
  size_t tl = p.token_len;
  memcpy(tok, p.token, tl);
  uint64_t with = first_flight_bytes(&p, tok, tl, &validated, &ilen);
  CHECK_EQ(validated, 1);
  CHECK(with > 3u * ilen);
  fprintf(stderr, "  first flight: %llu bytes without a token, %llu with (Initial %zu)\n", (unsigned long long)plain, (unsigned long long)with, ilen);
  /* every Initial the client sends carries it (its retransmissions too) */
  uint8_t buf[1500];
  size_t n = 0;
  int initials = 0;
  p.cx.now += VQ_MS(5000);
  (void)vq_conn_handle_timeout(p.cli, &p.cx);
  for (int k = 0; k < 10 && vq_conn_send(p.cli, &p.cx, buf, sizeof(buf), &n) == VQ_OK && n; k++) {
    vq_pkt_header h;
    if (vq_packet_parse(buf, n, 8, &h) == VQ_OK && h.type == VQ_PKT_INITIAL) {
      initials++;
      CHECK_MEM(buf + h.token_off, h.token_len, tok, tl);
    }
  }
  CHECK(initials > 0);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.new_tokens_accepted, 1u);
  client_done(&p);
  tpair_free(&p);
}

/* spec: rfc9000#8.1.3/15 — a token from another host, expired, altered or not ours counts as none:
 * the handshake goes on from an unvalidated address (no error, INVALID_TOKEN is for Retry tokens);
 * spec: rfc9000#8.1.3/5 — tokens expire (new_token_lifetime) */
VQ_TEST(conn_token_invalid_treated_as_none)
{
  tpair p;
  CHECK(tpair_init(&p, 0, VQ_MS(60000), 0));
  CHECK(get_token(&p));
  uint8_t tok[VQ_CONN_TOKEN_MAX];
  size_t tl = p.token_len;
  memcpy(tok, p.token, tl);
  int validated = -1;
  size_t ilen = 0;
  /* another host */
  p.addr[0] = 8;
  uint64_t b = first_flight_bytes(&p, tok, tl, &validated, &ilen);
  CHECK_EQ(validated, 0);
  CHECK(b > 0 && b <= 3u * ilen);
  client_done(&p);
  p.addr[0] = 7;
  /* altered */
  uint8_t bad[VQ_CONN_TOKEN_MAX];
  memcpy(bad, tok, tl);
  bad[tl / 2] ^= 1;
  b = first_flight_bytes(&p, bad, tl, &validated, &ilen);
  CHECK_EQ(validated, 0);
  CHECK(b > 0 && b <= 3u * ilen);
  client_done(&p);
  /* not ours at all (another server's format) */
  memset(bad, 0xab, 40);
  b = first_flight_bytes(&p, bad, 40, &validated, &ilen);
  CHECK_EQ(validated, 0);
  client_done(&p);
  /* still good from the right host */
  b = first_flight_bytes(&p, tok, tl, &validated, &ilen);
  CHECK_EQ(validated, 1);
  client_done(&p);
  /* expired */
  p.cx.now += VQ_MS(61000);
  b = first_flight_bytes(&p, tok, tl, &validated, &ilen);
  CHECK_EQ(validated, 0);
  CHECK(b > 0 && b <= 3u * ilen);
  client_done(&p);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.new_tokens_refused, 4u);
  CHECK_EQ(es.new_tokens_accepted, 1u);
  /* a connection with an invalid token completes its handshake */
  CHECK_EQ(client_new(&p, bad, 40), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  tpair_free(&p);
}

/* spec: rfc9000#8.1.3/16 — under Retry mode a valid NEW_TOKEN token needs no Retry; spec:
 * rfc9000#8.1.3/15 — an invalid one gets a Retry, whose token then replaces it in the Initials
 * (rfc9000#8.1.3/2), and is never handed out for later (rfc9000#8.1.3/3) */
VQ_TEST(conn_token_retry_mode_and_retry_replaces)
{
  tpair p;
  CHECK(tpair_init(&p, 1, 0, 0));
  CHECK(get_token(&p));
  CHECK_EQ(p.retries, 1u); /* the first connection had no token */
  uint8_t tok[VQ_CONN_TOKEN_MAX];
  size_t tl = p.token_len;
  memcpy(tok, p.token, tl);
  p.retries = 0;
  CHECK_EQ(client_new(&p, tok, tl), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(p.retries, 0u);
  vq_conn_stats cs, ss;
  vq_conn_get_stats(p.cli, &cs);
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(cs.retry_received, 0);
  CHECK_EQ(cs.token_sent, 1);
  CHECK_EQ(ss.token_validated, 1);
  client_done(&p);
  /* from another host: a Retry; the client's next Initial carries the Retry's token */
  p.addr[0] = 9;
  p.token_len = 0;
  CHECK_EQ(client_new(&p, tok, tl), VQ_OK);
  uint8_t buf[1500];
  size_t n = 0;
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, buf, sizeof(buf), &n), VQ_OK);
  to_server(&p, buf, n);
  CHECK_EQ(p.retries, 1u);
  CHECK(server(&p) == NULL);
  CHECK_EQ(vq_conn_send(p.cli, &p.cx, buf, sizeof(buf), &n), VQ_OK);
  vq_pkt_header h;
  CHECK_EQ(vq_packet_parse(buf, n, 8, &h), VQ_OK);
  CHECK_EQ(h.type, VQ_PKT_INITIAL);
  CHECK(h.token_len > 0);
  CHECK_EQ(buf[h.token_off], VQ_TOKEN_KIND_RETRY);
  to_server(&p, buf, n);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  vq_conn_get_stats(p.cli, &cs);
  CHECK_EQ(cs.retry_received, 1);
  /* the token handed out is the NEW_TOKEN one of this connection, never the Retry's */
  CHECK_EQ(p.ev_token, 1);
  CHECK_EQ(p.token[0], VQ_TOKEN_KIND_NEW);
  tpair_free(&p);
}

/* The client's token API: bounds of the configured token, the buffer of vq_conn_new_token_get; a
 * connection started with a token completes on both sides. spec: rfc9000#19.7/3 — the client sends
 * no NEW_TOKEN, also when it holds and received tokens: the server, which closes with
 * PROTOCOL_VIOLATION on one (rfc9000#19.7/4, test_conn.c conn_inject_frame_errors), stays open. */
VQ_TEST(conn_token_client_api_bounds)
{
  tpair p;
  CHECK(tpair_init(&p, 0, 0, 0));
  uint8_t big[VQ_CONN_TOKEN_MAX + 1];
  memset(big, 1, sizeof(big));
  CHECK_EQ(client_new(&p, big, sizeof(big)), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(client_new(&p, NULL, 3), VQ_ERR_INVALID_ARGUMENT);
  p.cli = NULL;
  CHECK(get_token(&p));
  CHECK_EQ(client_new(&p, p.token, p.token_len), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_get_state(server(&p)), VQ_CONN_ESTABLISHED);
  for (int i = 0; i < 20; i++) {
    p.cx.now += VQ_MS(200);
    (void)vq_conn_handle_timeout(p.cli, &p.cx);
    round_trip(&p);
  }
  CHECK_EQ(vq_conn_get_state(server(&p)), VQ_CONN_ESTABLISHED);
  CHECK_EQ(vq_conn_close_error(server(&p), NULL, NULL, NULL), 0u);
  size_t n = 0;
  uint8_t small[4];
  CHECK_EQ(vq_conn_new_token_get(p.cli, small, sizeof(small), &n), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(n, p.token_len);
  tpair_free(&p);
}

/* spec: rfc9000#13.3 — the NEW_TOKEN frame is sent again when its packet is lost (the same token: a
 * repair, rfc9000#8.1.3/7) and not again once acknowledged */
VQ_TEST(conn_token_lost_frame_repaired)
{
  tpair p;
  CHECK(tpair_init(&p, 0, 0, 0));
  CHECK_EQ(client_new(&p, NULL, 0), VQ_OK);
  uint8_t buf[1500];
  size_t n;
  int dropped = 0;
  for (int i = 0; i < 20 && !dropped; i++) {
    for (int k = 0; k < 100 && vq_conn_send(p.cli, &p.cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      to_server(&p, buf, n);
    p.cx.now += VQ_MS(1);
    vq_conn *s = server(&p);
    int drop = s && vq_conn_get_state(s) == VQ_CONN_ESTABLISHED;
    for (int k = 0; s && k < 100 && vq_conn_send(s, &p.cx, buf, sizeof(buf), &n) == VQ_OK && n; k++)
      if (!drop)
        (void)vq_conn_recv(p.cli, &p.cx, buf, n, 0);
    dropped = drop;
    p.cx.now += VQ_MS(1);
    client_events(&p);
  }
  CHECK(dropped);
  vq_conn_stats ss;
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(ss.new_tokens_sent, 1u);
  CHECK_EQ(p.ev_token, 0);
  for (int i = 0; i < 10 && p.ev_token == 0; i++) {
    p.cx.now += VQ_MS(300);
    (void)vq_conn_handle_timeout(server(&p), &p.cx);
    (void)vq_conn_handle_timeout(p.cli, &p.cx);
    round_trip(&p);
  }
  for (int i = 0; i < 5; i++)
    round_trip(&p);
  /* (a PTO probe may carry it too: the client announces a repeat only once) */
  CHECK_EQ(p.ev_token, 1);
  CHECK_EQ(p.token[0], VQ_TOKEN_KIND_NEW);
  vq_conn_get_stats(server(&p), &ss);
  CHECK(ss.new_tokens_sent >= 2u);
  uint64_t sent = ss.new_tokens_sent;
  /* acknowledged: a later loss of anything else does not bring it back */
  for (int i = 0; i < 5; i++) {
    p.cx.now += VQ_MS(300);
    (void)vq_conn_handle_timeout(server(&p), &p.cx);
    round_trip(&p);
  }
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(ss.new_tokens_sent, sent);
  tpair_free(&p);
}

/* spec: rfc9000#8.1.4/6, rfc9000#8.1.4/8 — a NEW_TOKEN token is single-use: its second use, by
 * another connection attempt (new CIDs) from the same address, counts as no token: the 3x limit
 * (rfc9000#8.1) without Retry mode, a Retry with it (rfc9000#8.1.3/15), never an error. The client's
 * retransmitted first Initial, token included, goes to the connection it opened (by its DCID)
 * without using the token up again. */
VQ_TEST(conn_token_new_token_single_use)
{
  tpair p;
  CHECK(tpair_init(&p, 0, 0, 0));
  CHECK(get_token(&p));
  uint8_t tok[VQ_CONN_TOKEN_MAX], buf[1500];
  size_t tl = p.token_len, n = 0;
  memcpy(tok, p.token, tl);
  /* first use: its first Initial, lost answer, the client's retransmission carries the token too */
  CHECK_EQ(client_new(&p, tok, tl), VQ_OK);
  const uint8_t *tk = NULL;
  CHECK_EQ(next_initial(&p, buf, &n, &tk), tl);
  to_server(&p, buf, n);
  CHECK(server(&p) != NULL);
  CHECK_EQ(vq_endpoint_count(p.ep), 1u);
  p.cx.now += VQ_MS(1500);
  (void)vq_conn_handle_timeout(p.cli, &p.cx);
  CHECK_EQ(next_initial(&p, buf, &n, &tk), tl);
  CHECK_MEM(tk, tl, tok, tl);
  to_server(&p, buf, n);
  CHECK_EQ(vq_endpoint_count(p.ep), 1u);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.tokens_replayed, 0u);
  CHECK_EQ(es.new_tokens_accepted, 1u);
  CHECK_EQ(es.new_tokens_refused, 0u);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  vq_conn_stats ss;
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(ss.token_validated, 1);
  client_done(&p);
  /* second use, a new connection attempt from the same address: no token */
  int validated = -1;
  size_t ilen = 0;
  uint64_t b = first_flight_bytes(&p, tok, tl, &validated, &ilen);
  CHECK_EQ(validated, 0);
  CHECK(b > 0 && b <= 3u * ilen);
  client_done(&p);
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.tokens_replayed, 1u);
  CHECK_EQ(es.new_tokens_refused, 1u);
  CHECK_EQ(es.new_tokens_accepted, 1u);
  CHECK_EQ(es.token_record_full, 0u);
  /* and the handshake of a third attempt with it completes (no error) */
  CHECK_EQ(client_new(&p, tok, tl), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(ss.token_validated, 0);
  tpair_free(&p);

  /* Retry mode: the first use skips the Retry, the second gets one */
  CHECK(tpair_init(&p, 1, 0, 0));
  CHECK(get_token(&p));
  tl = p.token_len;
  memcpy(tok, p.token, tl);
  p.retries = 0;
  CHECK_EQ(client_new(&p, tok, tl), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(p.retries, 0u);
  client_done(&p);
  CHECK_EQ(client_new(&p, tok, tl), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  CHECK_EQ(p.retries, 1u);
  vq_conn_stats cs;
  vq_conn_get_stats(p.cli, &cs);
  CHECK_EQ(cs.retry_received, 1);
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(ss.token_validated, 0);
  CHECK_EQ(ss.retry_received, 1);
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.tokens_replayed, 1u);
  CHECK_EQ(es.retries_sent, 2u);
  tpair_free(&p);
}

/* spec: rfc9000#8.1.4/6 — a Retry token opens one connection: the client's retransmitted Initial with
 * it goes to the connection it opened; once that connection is gone, the same Initial again (a
 * replay) is an invalid token: dropped when a Retry is due (rfc9000#8.1.2), else a connection from
 * an unvalidated address held to 3x (rfc9000#8.1). A second client with it (new DCID and SCID, same
 * address) is refused by the Retry's Source CID the token binds. */
VQ_TEST(conn_token_retry_token_single_use)
{
  tpair p;
  CHECK(tpair_init(&p, 1, 0, 0));
  CHECK_EQ(client_new(&p, NULL, 0), VQ_OK);
  uint8_t buf[1500], first[1500], rtok[VQ_TOKEN_MAX];
  size_t n = 0, fl = 0, rtl;
  const uint8_t *tk = NULL;
  CHECK_EQ(next_initial(&p, buf, &n, &tk), 0u);
  to_server(&p, buf, n);
  CHECK_EQ(p.retries, 1u);
  CHECK(server(&p) == NULL);
  rtl = next_initial(&p, first, &fl, &tk);
  CHECK(rtl > 0 && rtl <= sizeof(rtok));
  CHECK_EQ(tk[0], VQ_TOKEN_KIND_RETRY);
  memcpy(rtok, tk, rtl);
  memcpy(buf, first, fl);
  to_server(&p, buf, fl);
  CHECK(server(&p) != NULL);
  /* its answer lost: the retransmitted Initial (the same token) reaches the same connection */
  p.cx.now += VQ_MS(1500);
  (void)vq_conn_handle_timeout(p.cli, &p.cx);
  CHECK_EQ(next_initial(&p, buf, &n, &tk), rtl);
  CHECK_MEM(tk, rtl, rtok, rtl);
  to_server(&p, buf, n);
  CHECK_EQ(vq_endpoint_count(p.ep), 1u);
  CHECK_EQ(p.retries, 1u);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  vq_conn_stats ss;
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(ss.retry_received, 1);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.tokens_replayed, 0u);
  CHECK_EQ(es.tokens_refused, 0u);
  client_done(&p);
  /* the connection gone, its first Initial replayed: dropped, no Retry, no connection */
  int created = 0;
  size_t rl = 0;
  CHECK(ep_in(&p, p.ep, first, fl, &created, &rl) == NULL);
  CHECK_EQ(created, 0);
  CHECK_EQ(rl, 0u);
  CHECK_EQ(vq_endpoint_count(p.ep), 0u);
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.tokens_replayed, 1u);
  CHECK_EQ(es.tokens_refused, 1u);
  CHECK_EQ(es.retries_sent, 1u);

  /* a server of the same key without Retry mode: the token validates the first connection it
   * opens there, not a second one */
  vq_endpoint *ep2 = ep_twin(&p, 0);
  CHECK(ep2 != NULL);
  vq_conn *s = ep_in(&p, ep2, first, fl, &created, &rl);
  CHECK(s != NULL && created);
  vq_conn_get_stats(s, &ss);
  CHECK_EQ(ss.retry_received, 1);
  ep_clear(ep2);
  /* another client (its own DCID and SCID) from the same address with that token: the token binds
   * the Retry's Source CID, not this client's DCID */
  CHECK_EQ(client_new(&p, rtok, rtl), VQ_OK);
  CHECK_EQ(next_initial(&p, buf, &n, &tk), rtl);
  s = ep_in(&p, ep2, buf, n, &created, &rl);
  CHECK(s != NULL && created);
  vq_conn_get_stats(s, &ss);
  CHECK_EQ(ss.retry_received, 0);
  vq_conn_free(p.cli, NULL);
  p.cli = NULL;
  ep_clear(ep2);
  /* the first client's Initial again: a replay */
  s = ep_in(&p, ep2, first, fl, &created, &rl);
  CHECK(s != NULL && created);
  vq_conn_get_stats(s, &ss);
  CHECK_EQ(ss.retry_received, 0);
  int validated = -1;
  uint64_t b = server_alone(&p, s, &validated);
  CHECK(b > 0 && b <= 3u * fl);
  vq_endpoint_get_stats(ep2, &es);
  CHECK_EQ(es.tokens_replayed, 1u);
  CHECK_EQ(es.tokens_refused, 2u);
  ep_clear(ep2);
  vq_endpoint_free(ep2);
  tpair_free(&p);
}

/* spec: rfc9000#8.1.4/6 — the replay record is bounded (token_replay_max): when every entry is live a
 * valid token cannot be recorded and counts as none (the 3x limit), never an error; an entry is free
 * again once its token expired, and a token accepted then is single-use as any. */
VQ_TEST(conn_token_replay_record_full)
{
  tpair p;
  CHECK(tpair_init_ex(&p, 0, VQ_MS(120000), 0, 2));
  uint8_t tok[4][VQ_CONN_TOKEN_MAX];
  size_t tl[4];
  vq_time t01 = 0; /* after the first two were issued */
  for (int i = 0; i < 4; i++) {
    if (i == 2) {
      t01 = p.cx.now;
      p.cx.now += VQ_MS(60000); /* the last two are issued a minute later */
    }
    CHECK(get_token(&p));
    tl[i] = p.token_len;
    memcpy(tok[i], p.token, tl[i]);
  }
  int validated = -1;
  size_t ilen = 0;
  uint64_t b;
  /* two tokens fill the record */
  for (int i = 0; i < 2; i++) {
    b = first_flight_bytes(&p, tok[i], tl[i], &validated, &ilen);
    CHECK_EQ(validated, 1);
    CHECK(b > 3u * ilen);
    client_done(&p);
  }
  /* a third valid one cannot be recorded: no token */
  b = first_flight_bytes(&p, tok[2], tl[2], &validated, &ilen);
  CHECK_EQ(validated, 0);
  CHECK(b > 0 && b <= 3u * ilen);
  client_done(&p);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.token_record_full, 1u);
  CHECK_EQ(es.tokens_replayed, 0u);
  CHECK_EQ(es.new_tokens_refused, 1u);
  CHECK_EQ(es.new_tokens_accepted, 2u);
  /* the first two expire (120 s after their issue), the last two not yet: the first two's entries
   * take them */
  CHECK(p.cx.now < t01 + VQ_MS(120000));
  p.cx.now = t01 + VQ_MS(120000);
  for (int i = 2; i < 4; i++) {
    b = first_flight_bytes(&p, tok[i], tl[i], &validated, &ilen);
    CHECK_EQ(validated, 1);
    client_done(&p);
  }
  /* and those are used up */
  b = first_flight_bytes(&p, tok[3], tl[3], &validated, &ilen);
  CHECK_EQ(validated, 0);
  client_done(&p);
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.new_tokens_accepted, 4u);
  CHECK_EQ(es.tokens_replayed, 1u);
  CHECK_EQ(es.token_record_full, 1u);
  tpair_free(&p);
}

/* spec: rfc9000#8.1.4/4, rfc9000#8.1.4/5 — a NEW_TOKEN token is bound to the client's IP address:
 * used from another one it does not validate the address, and the server holds to the
 * anti-amplification limit (rfc9000#8.1: no more than 3x the bytes received, its PTO probes included)
 * until the handshake validates it; that use does not spend the token, which still validates its own
 * address afterwards. */
VQ_TEST(conn_token_other_ip_keeps_3x_limit)
{
  tpair p;
  CHECK(tpair_init(&p, 0, 0, 0));
  CHECK(get_token(&p));
  uint8_t tok[VQ_CONN_TOKEN_MAX];
  size_t tl = p.token_len;
  memcpy(tok, p.token, tl);
  int validated = -1;
  size_t ilen = 0;
  p.addr[0] = 99; /* another IP, the same port */
  uint64_t b = first_flight_bytes(&p, tok, tl, &validated, &ilen);
  CHECK_EQ(validated, 0);
  CHECK(b > 0 && b <= 3u * ilen);
  vq_conn_stats ss;
  vq_conn_get_stats(server(&p), &ss);
  CHECK_EQ(ss.token_validated, 0);
  CHECK_EQ(ss.retry_received, 0);
  client_done(&p);
  /* the whole handshake from there completes (the client's later datagrams validate the address) */
  CHECK_EQ(client_new(&p, tok, tl), VQ_OK);
  run_until_established(&p);
  CHECK_EQ(vq_conn_get_state(p.cli), VQ_CONN_ESTABLISHED);
  client_done(&p);
  vq_endpoint_stats es;
  vq_endpoint_get_stats(p.ep, &es);
  CHECK_EQ(es.new_tokens_refused, 2u);
  CHECK_EQ(es.tokens_replayed, 0u);
  /* from the IP it was issued to, it is still good once */
  p.addr[0] = 7;
  b = first_flight_bytes(&p, tok, tl, &validated, &ilen);
  CHECK_EQ(validated, 1);
  CHECK(b > 3u * ilen);
  client_done(&p);
  tpair_free(&p);
}

/* spec: rfc9369#5/1, rfc9369#5/2 — a NEW_TOKEN token belongs to the QUIC version of the connection
 * that got it: a client does not offer a v1 token in a v2 first flight (token_version), nor after a
 * Version Negotiation moved it to another version; a server does not accept one (it is sealed with
 * the version: a v1 token in a v2 Initial counts as none, so a Retry in Retry mode); in v1 it works. */
VQ_TEST(conn_token_bound_to_quic_version)
{
  tpair p_, *p = &p_;
  CHECK(tpair_init(p, 1, 0, 0));
  CHECK(get_token(p));
  uint8_t tok[VQ_CONN_TOKEN_MAX];
  size_t tl = p->token_len;
  memcpy(tok, p->token, tl);
  for (int c = 0; c < 3; c++) {
    vq_conn_config cc = {0};
    cc.tls = p->cctx;
    cc.server_name = "localhost";
    cc.token = tok;
    cc.token_len = tl;
    cc.versions[0] = c == 2 ? VQ_QUIC_V1 : VQ_QUIC_V2;
    cc.versions[1] = c == 2 ? VQ_QUIC_V2 : VQ_QUIC_V1;
    cc.token_version = c == 1 ? 0 : VQ_QUIC_V1; /* case 1: unknown, taken as the first flight's */
    CHECK_EQ(vq_conn_new_client(&p->cli, &p->root, &cc, &p->cx), VQ_OK);
    uint8_t d[1500];
    size_t n = 0;
    const uint8_t *itok = NULL;
    size_t sent = next_initial(p, d, &n, &itok);
    vq_endpoint_stats before, after;
    vq_endpoint_get_stats(p->ep, &before);
    uint64_t retries = p->retries;
    to_server(p, d, n);
    vq_endpoint_get_stats(p->ep, &after);
    if (c == 0) {
      /* the client keeps the v1 token out of its v2 first flight: a Retry for no token */
      CHECK_EQ(sent, 0);
      CHECK_EQ(after.new_tokens_refused, before.new_tokens_refused);
      CHECK_EQ(p->retries, retries + 1);
    } else if (c == 1) {
      /* sent in v2: the server does not accept it */
      CHECK_EQ(sent, tl);
      CHECK_EQ(after.new_tokens_refused, before.new_tokens_refused + 1);
      CHECK_EQ(after.new_tokens_accepted, before.new_tokens_accepted);
      CHECK_EQ(p->retries, retries + 1);
    } else {
      /* in v1: accepted, no Retry */
      CHECK_EQ(sent, tl);
      CHECK_EQ(after.new_tokens_accepted, before.new_tokens_accepted + 1);
      CHECK_EQ(p->retries, retries);
    }
    run_until_established(p);
    CHECK_EQ(vq_conn_get_state(p->cli), VQ_CONN_ESTABLISHED);
    client_done(p);
    p->cx.now += VQ_MS(1000);
  }
  /* a v1 first flight with the token, answered by Version Negotiation from a v2-only server: the
   * v2 attempt goes without it */
  vq_endpoint_config ec = {0};
  vq_endpoint *ep2 = NULL;
  ec.conn.is_server = 1;
  ec.conn.tls = p->sctx;
  ec.token_key = token_key;
  ec.addr_host = host_of;
  ec.conn.versions[0] = VQ_QUIC_V2;
  CHECK_EQ(vq_endpoint_new(&ep2, &p->root, &ec), VQ_OK);
  vq_conn_config cc = {0};
  cc.tls = p->cctx;
  cc.server_name = "localhost";
  cc.token = tok;
  cc.token_len = tl;
  cc.versions[0] = VQ_QUIC_V1;
  cc.versions[1] = VQ_QUIC_V2;
  cc.token_version = VQ_QUIC_V1;
  CHECK_EQ(vq_conn_new_client(&p->cli, &p->root, &cc, &p->cx), VQ_OK);
  uint8_t d[1500], resp[1500];
  size_t n = 0, rl = 0;
  const uint8_t *itok = NULL;
  CHECK_EQ(next_initial(p, d, &n, &itok), tl);
  vq_endpoint_conn *e2 = NULL;
  int created = 0;
  CHECK_EQ(vq_endpoint_recv(ep2, &p->cx, p->addr, sizeof(p->addr), d, n, &e2, &created, resp,
                            sizeof(resp), &rl), VQ_OK);
  CHECK(rl > 0 && !created);
  CHECK_EQ(vq_conn_recv(p->cli, &p->cx, resp, rl, 0), VQ_OK);
  CHECK(vq_conn_version_restarted(p->cli));
  CHECK_EQ(vq_conn_version(p->cli), VQ_QUIC_V2);
  CHECK_EQ(next_initial(p, d, &n, &itok), 0);
  vq_conn_free(p->cli, NULL);
  p->cli = NULL;
  vq_endpoint_free(ep2);
  tpair_free(p);
  CHECK_EQ(p->root.used, 0);
}
