/* vquic — the server endpoint: routing datagrams to connections by Destination Connection ID,
 * creating connections from Initials, Version Negotiation (RFC 9000 §5.2, §6, §14.1). */
#include <string.h>

#include "conn_internal.h"
#include "vquic/cidperm.h"
#include "vquic/endpoint.h"
#include "vquic/packet.h"
#include "vquic/protect.h"
#include "vquic/token.h"

#include <openssl/rand.h>

#define ROUTE_BUCKETS 1024u

typedef struct route {
  vq_cid cid;
  struct ep_entry *e;
  struct route *next;
} route;

typedef struct ep_entry {
  vq_endpoint_conn pub;          /* first: vq_endpoint_conn * converts back */
  struct ep_entry *prev, *next;
  route r_odcid;
  route r_cid[VQ_CONN_MAX_LOCAL_CIDS]; /* the connection's active CIDs, slot by slot */
  uint8_t r_on[VQ_CONN_MAX_LOCAL_CIDS];
  uint64_t cid_gen;                    /* vq_conn_cid_generation when they were last read */
} ep_entry;

struct vq_endpoint {
  vq_mem mem;
  vq_endpoint_config cfg;
  vq_token_key tokens;
  uint8_t reset_key[VQ_TOKEN_KEY_LEN]; /* stateless reset tokens (RFC 9000 §10.3.2) */
  vq_cid_minter minter;          /* every CID the endpoint's connections issue (vquic/cidperm.h) */
  vq_endpoint_stats stats;
  route *buckets[ROUTE_BUCKETS];
  ep_entry *list;
  size_t count;
  /* 0-RTT anti-replay (RFC 8446 §8): the tickets 0-RTT was accepted with, until they expire */
  struct replay_entry *replay;
  uint32_t replay_cap;
  uint64_t wall_now_ms;          /* the wall clock of the datagram being processed */
  /* the tokens (Retry and NEW_TOKEN) that opened a connection, until they expire: single use;
   * 2 * tseen_cap entries (token_seen_find) */
  struct token_seen *tseen;
  uint32_t tseen_cap;
};

typedef struct token_seen {
  uint64_t digest;               /* of the token's kind and nonce */
  vq_time expires;               /* cx->now after which the token is dead anyway; 0: never used */
} token_seen;

#define TOKEN_SEEN_DEFAULT 65536u
#define TOKEN_SEEN_WINDOW 32u    /* the slots a token may take, from its digest on */

typedef struct replay_entry {
  uint8_t tag[16];               /* the ticket's last 16 bytes (its AES-GCM tag: unique per ticket) */
  uint64_t expires_ms;           /* 0: free */
} replay_entry;

/* spec: rfc9001#9.2/1, rfc8446#8/3 — single-use tickets for 0-RTT (the TLS 1.3 replay protection):
 * a ticket 0-RTT was accepted with is recorded until its lifetime ends, and a second ClientHello
 * with it gets no 0-RTT (the resumption itself goes on). The record is bounded (early_replay_max
 * entries): when every entry is still live, 0-RTT is refused (fail safe) until one expires. */
static int ep_early_check(void *ud, const uint8_t *ticket, size_t len, uint64_t expires_ms)
{
  vq_endpoint *ep = ud;
  if (len < 16)
    return 0;
  if (!ep->replay) {
    ep->replay_cap = ep->cfg.early_replay_max ? ep->cfg.early_replay_max : 4096u;
    ep->replay = vq_mem_calloc(&ep->mem, ep->replay_cap, sizeof(replay_entry));
    if (!ep->replay)
      return 0;
  }
  const uint8_t *tag = ticket + len - 16;
  replay_entry *free_e = NULL;
  for (uint32_t i = 0; i < ep->replay_cap; i++) {
    replay_entry *r = &ep->replay[i];
    int live = r->expires_ms != 0 && r->expires_ms > ep->wall_now_ms;
    if (live && memcmp(r->tag, tag, 16) == 0) {
      ep->stats.early_replays++;
      return 0;
    }
    if (!live && !free_e)
      free_e = r;
  }
  if (!free_e) {
    ep->stats.early_replays++;
    return 0;
  }
  memcpy(free_e->tag, tag, 16);
  free_e->expires_ms = expires_ms ? expires_ms : 1;
  return 1;
}

/* spec: rfc9000#8.1.4/6, rfc9000#8.1.4/8 — tokens are single-use: the nonce (random, unique per
 * token: rfc9000#8.1.3/7) of every token that opened a connection is recorded until the token expires
 * (rfc9000#8.1.3/5), so a replay within its lifetime is recognised. A bounded record, one table of
 * tseen_cap entries per kind (NEW_TOKEN tokens first, then Retry tokens: the long-lived NEW_TOKEN
 * tokens never take the room of the 10-second Retry ones); a token may take one of
 * TOKEN_SEEN_WINDOW slots from its digest on; an expired entry is free again.
 * token_seen_find: 0 not seen (*slot: where to record it), 1 seen (a replay), 2 no room among live
 * entries (it cannot be recorded, so it cannot be accepted: prevention over availability). */
static uint64_t token_digest(const vq_token_info *tok)
{
  uint64_t h = 14695981039346656037ull;
  h = (h ^ tok->kind) * 1099511628211ull;
  for (size_t i = 0; i < VQ_TOKEN_NONCE_LEN; i++)
    h = (h ^ tok->nonce[i]) * 1099511628211ull;
  return h;
}

static int token_seen_find(const vq_endpoint *ep, const vq_cx *cx, uint8_t kind, uint64_t d,
                           uint32_t *slot)
{
  uint32_t w = ep->tseen_cap < TOKEN_SEEN_WINDOW ? ep->tseen_cap : TOKEN_SEEN_WINDOW;
  uint32_t base = kind == VQ_TOKEN_KIND_RETRY ? ep->tseen_cap : 0;
  uint32_t i = (uint32_t)(d % ep->tseen_cap);
  int have_free = 0;
  for (uint32_t k = 0; k < w; k++, i = i + 1 == ep->tseen_cap ? 0 : i + 1) {
    const token_seen *t = &ep->tseen[base + i];
    int live = t->expires != 0 && t->expires > cx->now;
    if (live && t->digest == d)
      return 1;
    if (!live && !have_free) {
      have_free = 1;
      *slot = base + i;
    }
  }
  return have_free ? 0 : 2;
}

/* A valid token is fresh (1): not used before and recordable; else counted (0). */
static int token_fresh(vq_endpoint *ep, const vq_cx *cx, const vq_token_info *tok, uint32_t *slot)
{
  int r = token_seen_find(ep, cx, tok->kind, token_digest(tok), slot);
  if (r == 1)
    ep->stats.tokens_replayed++;
  else if (r == 2)
    ep->stats.token_record_full++;
  return r == 0;
}

/* Records the token that opened a connection until issued + life (issued and now_tok in the token's
 * own time base, the record's in cx->now). */
static void token_use(vq_endpoint *ep, const vq_cx *cx, const vq_token_info *tok, uint32_t slot,
                      vq_time now_tok, vq_time life)
{
  vq_time end = tok->issued + life, left = end > now_tok ? end - now_tok : 0;
  ep->tseen[slot].digest = token_digest(tok);
  ep->tseen[slot].expires = cx->now + left + 1; /* + 1: never 0, live through the last instant */
}

static uint32_t cid_hash(const uint8_t *b, size_t len)
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++)
    h = (h ^ b[i]) * 16777619u;
  return h % ROUTE_BUCKETS;
}

static void route_add(vq_endpoint *ep, route *r)
{
  uint32_t b = cid_hash(r->cid.bytes, r->cid.len);
  r->next = ep->buckets[b];
  ep->buckets[b] = r;
}

static void route_del(vq_endpoint *ep, route *r)
{
  route **pp = &ep->buckets[cid_hash(r->cid.bytes, r->cid.len)];
  while (*pp && *pp != r)
    pp = &(*pp)->next;
  if (*pp)
    *pp = r->next;
}

/* spec: rfc9000#5.1.1/2 — every CID the connection issued routes to it until the peer retires it;
 * retired ones are forgotten. Re-read when the connection's set changed. */
static void routes_sync(vq_endpoint *ep, ep_entry *e)
{
  uint64_t g = vq_conn_cid_generation(e->pub.conn);
  if (g == e->cid_gen)
    return;
  e->cid_gen = g;
  for (uint32_t i = 0; i < VQ_CONN_MAX_LOCAL_CIDS; i++) {
    vq_cid cid;
    int has = vq_conn_local_cid(e->pub.conn, i, &cid, NULL);
    if (e->r_on[i] && (!has || !vq_cid_equal(&cid, &e->r_cid[i].cid))) {
      route_del(ep, &e->r_cid[i]);
      e->r_on[i] = 0;
    }
    if (has && !e->r_on[i]) {
      e->r_cid[i].cid = cid;
      e->r_cid[i].e = e;
      route_add(ep, &e->r_cid[i]);
      e->r_on[i] = 1;
    }
  }
}

/* The driver sends to pub.addr: it follows the connection's peer address (NAT rebinding). */
static void addr_sync(ep_entry *e)
{
  const uint8_t *a;
  size_t n;
  if (vq_conn_peer_addr(e->pub.conn, &a, &n) && n <= VQ_ADDR_MAX &&
      (n != e->pub.addr_len || memcmp(a, e->pub.addr, n) != 0)) {
    memcpy(e->pub.addr, a, n);
    e->pub.addr_len = n;
  }
}

static ep_entry *route_find(const vq_endpoint *ep, const uint8_t *b, size_t len)
{
  for (route *r = ep->buckets[cid_hash(b, len)]; r; r = r->next)
    if (r->cid.len == len && memcmp(r->cid.bytes, b, len) == 0)
      return r->e;
  return NULL;
}

/* spec: rfc9000#10.3.2 — the CIDs connections issue are checked against every live one (the
 * routing table: issued CIDs and the clients' original DCIDs), so a CID (and with it its token
 * under the endpoint's static key) never serves two connections at once. */
static int ep_cid_in_use(void *ud, const vq_cid *cid)
{
  return route_find(ud, cid->bytes, cid->len) != NULL;
}

/* vq_conn_config.mint_cid of the endpoint's connections: the next CID of the endpoint's minter.
 * spec: rfc9000#10.3.2/3, rfc9000#10.3.2/4 — a keyed permutation of the endpoint's counter: no CID
 * is issued twice under the reset key, whether the connection that had it lives, closed or was reset
 * (across endpoints sharing the key: when their counter ranges are disjoint, endpoint.h) */
static vq_status ep_mint_cid(void *ud, size_t len, vq_cid *out)
{
  vq_endpoint *ep = ud;
  if (len != ep->minter.cid_len)
    return VQ_ERR_INVALID_ARGUMENT;
  return vq_cid_minter_next(&ep->minter, out, NULL);
}

/* The time NEW_TOKEN tokens carry: the wall clock in ns when the endpoint has one (tokens then
 * outlive a restart with the same token_key), else cx->now. */
static vq_time token_time(const vq_endpoint *ep, const vq_cx *cx)
{
  if (ep->cfg.conn.wall_clock_base_ms)
    return ep->cfg.conn.wall_clock_base_ms * 1000000u + cx->now;
  return cx->now;
}

/* The part of addr a NEW_TOKEN token binds: the host (cfg.addr_host), else the whole address. */
static size_t token_host(const vq_endpoint *ep, const uint8_t *addr, size_t len, uint8_t *out)
{
  size_t n = 0;
  if (ep->cfg.addr_host && len)
    n = ep->cfg.addr_host(addr, len, out, VQ_ADDR_MAX);
  if (n == 0 || n > VQ_ADDR_MAX) {
    n = len <= VQ_ADDR_MAX ? len : 0;
    if (n)
      memcpy(out, addr, n);
  }
  return n;
}

/* vq_conn_config.new_token of the endpoint's connections: a NEW_TOKEN token for addr. */
static int ep_new_token(void *ud, const vq_cx *cx, uint32_t version, const uint8_t *addr,
                        size_t addr_len, uint8_t *out, size_t cap, size_t *len)
{
  vq_endpoint *ep = ud;
  uint8_t host[VQ_ADDR_MAX];
  size_t hl = token_host(ep, addr, addr_len, host);
  vq_cx tcx = *cx;
  tcx.now = token_time(ep, cx);
  /* spec: rfc9000#8.1.3/6 — the token holds its issue time only (sealed under a fresh random nonce,
   * the client's host as authenticated data): nothing links it to this connection; spec:
   * rfc9000#8.1.3/7 — the random nonce makes every token unique across all clients; spec:
   * rfc9000#8.1.3/5 — the issue time gives its expiry (new_token_lifetime) */
  /* spec: rfc9369#5/2 — for the connection's (negotiated) version: it opens in no other */
  if (vq_token_make_new(&ep->tokens, &tcx, version, host, hl, out, cap, len) != VQ_OK)
    return 0;
  ep->stats.new_tokens_issued++;
  return 1;
}

vq_status vq_endpoint_new(vq_endpoint **out, vq_mem *parent, const vq_endpoint_config *cfg)
{
  if (!cfg || !cfg->conn.is_server || !cfg->conn.tls || cfg->token_replay_max > UINT32_MAX / 2u)
    return VQ_ERR_INVALID_ARGUMENT;
  vq_mem m;
  vq_mem_init(&m, NULL, parent, cfg->mem_limit ? cfg->mem_limit : (size_t)1 << 30);
  vq_endpoint *ep = vq_mem_calloc(&m, 1, sizeof(*ep));
  if (!ep)
    return VQ_ERR_NOMEM;
  ep->mem = m;
  ep->cfg = *cfg;
  if (!ep->cfg.max_conns)
    ep->cfg.max_conns = 10000;
  if (!ep->cfg.conn.cid_len)
    ep->cfg.conn.cid_len = 8;
  if (!ep->cfg.retry_token_lifetime)
    ep->cfg.retry_token_lifetime = VQ_MS(10000);
  if (!ep->cfg.new_token_lifetime)
    ep->cfg.new_token_lifetime = VQ_MS(24ull * 3600u * 1000u);
  uint8_t key[VQ_TOKEN_KEY_LEN];
  if (cfg->token_key)
    memcpy(key, cfg->token_key, sizeof(key));
  else if (RAND_bytes(key, sizeof(key)) != 1) {
    vq_mem_free(&m, ep, sizeof(*ep)); /* not &ep->mem: freed with ep */
    return VQ_ERR_INTERNAL;
  }
  if (cfg->reset_key)
    memcpy(ep->reset_key, cfg->reset_key, sizeof(ep->reset_key));
  else if (RAND_bytes(ep->reset_key, sizeof(ep->reset_key)) != 1) {
    vq_mem_free(&m, ep, sizeof(*ep)); /* not &ep->mem: freed with ep */
    return VQ_ERR_INTERNAL;
  }
  vq_status st = vq_token_key_init(&ep->tokens, key);
  memset(key, 0, sizeof(key));
  if (st != VQ_OK) {
    vq_mem_free(&m, ep, sizeof(*ep)); /* not &ep->mem: freed with ep */
    return st;
  }
  st = vq_cid_minter_init(&ep->minter, ep->reset_key, ep->cfg.conn.cid_len, cfg->cid_counter_base,
                          cfg->cid_counter_end);
  if (st != VQ_OK) {
    vq_token_key_free(&ep->tokens);
    memset(ep->reset_key, 0, sizeof(ep->reset_key));
    vq_mem_free(&m, ep, sizeof(*ep)); /* not &ep->mem: freed with ep */
    return st;
  }
  ep->tseen_cap = cfg->token_replay_max ? cfg->token_replay_max : TOKEN_SEEN_DEFAULT;
  ep->tseen = vq_mem_calloc(&ep->mem, 2u * (size_t)ep->tseen_cap, sizeof(token_seen));
  if (!ep->tseen) {
    vq_token_key_free(&ep->tokens);
    vq_mem_free(&ep->mem, ep, sizeof(*ep));
    return VQ_ERR_NOMEM;
  }
  ep->cfg.token_key = NULL; /* not kept: the caller's buffers need not outlive this call */
  ep->cfg.reset_key = NULL;
  *out = ep;
  return VQ_OK;
}

void vq_endpoint_remove(vq_endpoint *ep, vq_endpoint_conn *ec, uint64_t *obligations)
{
  ep_entry *e = (ep_entry *)ec;
  for (uint32_t i = 0; i < VQ_CONN_MAX_LOCAL_CIDS; i++)
    if (e->r_on[i])
      route_del(ep, &e->r_cid[i]);
  route_del(ep, &e->r_odcid);
  if (e->prev)
    e->prev->next = e->next;
  else
    ep->list = e->next;
  if (e->next)
    e->next->prev = e->prev;
  vq_conn_free(e->pub.conn, obligations);
  vq_mem_free(&ep->mem, e, sizeof(*e));
  ep->count--;
}

void vq_endpoint_free(vq_endpoint *ep)
{
  if (!ep)
    return;
  while (ep->list)
    vq_endpoint_remove(ep, &ep->list->pub, NULL);
  if (ep->replay)
    vq_mem_free(&ep->mem, ep->replay, (size_t)ep->replay_cap * sizeof(replay_entry));
  vq_mem_free(&ep->mem, ep->tseen, 2u * (size_t)ep->tseen_cap * sizeof(token_seen));
  vq_token_key_free(&ep->tokens);
  vq_cid_minter_free(&ep->minter);
  memset(ep->reset_key, 0, sizeof(ep->reset_key));
  vq_mem m = ep->mem;
  vq_mem_free(&m, ep, sizeof(*ep));
}

vq_endpoint_conn *vq_endpoint_next(vq_endpoint *ep, vq_endpoint_conn *prev)
{
  ep_entry *e = prev ? ((ep_entry *)prev)->next : ep->list;
  if (!e)
    return NULL;
  addr_sync(e);
  return &e->pub;
}

vq_time vq_endpoint_next_timeout(const vq_endpoint *ep)
{
  vq_time t = VQ_TIME_NEVER;
  for (ep_entry *e = ep->list; e; e = e->next) {
    vq_time x = vq_conn_next_timeout(e->pub.conn);
    if (x < t)
      t = x;
  }
  return t;
}

size_t vq_endpoint_count(const vq_endpoint *ep) { return ep->count; }

void vq_endpoint_get_stats(const vq_endpoint *ep, vq_endpoint_stats *st) { *st = ep->stats; }

/* 1 if the endpoint accepts connections of this version: cfg.conn.versions, or v1 and v2 */
static int version_accepted(const vq_endpoint_config *k, uint32_t v)
{
  if (!k->conn.versions[0])
    return vq_version_supported(v);
  for (size_t i = 0; i < VQ_CONN_MAX_VERSIONS && k->conn.versions[i]; i++)
    if (k->conn.versions[i] == v)
      return vq_version_supported(v);
  return 0;
}

static vq_status version_negotiation(const vq_endpoint_config *k, const vq_cx *cx,
                                     const uint8_t *dgram, const vq_pkt_header *h, uint8_t *resp,
                                     size_t cap, size_t *resp_len)
{
  /* spec: rfc9000#14.1 — Version Negotiation only in answer to a datagram of at least the
   * minimum Initial size (amplification); spec: rfc9368#2.1/1 — it lists every version we accept
   * (the same list as our version_information, conn_version.c) */
  uint32_t versions[VQ_CONN_MAX_VERSIONS + 1] = {VQ_QUIC_V1, VQ_QUIC_V2};
  size_t nv = 2;
  if (k->conn.versions[0]) {
    nv = 0;
    for (size_t i = 0; i < VQ_CONN_MAX_VERSIONS && k->conn.versions[i]; i++)
      if (vq_version_supported(k->conn.versions[i]))
        versions[nv++] = k->conn.versions[i];
  }
  if (cx->rng) {
    /* spec: rfc9000#6.3/1, rfc9368#2.1/2 — a reserved version 0x?a?a?a?a exercises version
   * negotiation */
    uint32_t g = (uint32_t)vq_rng_next(cx->rng) & 0xf0f0f0f0u;
    versions[nv++] = g | 0x0a0a0a0au;
  }
  /* spec: rfc9000#17.2.1/2 — the Unused field has 0x40 set */
  uint8_t unused = cx->rng ? (uint8_t)(vq_rng_next(cx->rng) & 0x7fu) : 0x40u;
  /* spec: rfc9000#17.2.1/4, rfc9000#17.2.1/5, rfc8999#6/3, rfc8999#6/4 — the CIDs are echoed swapped */
  return vq_vn_write(resp, cap, unused | 0x40u, dgram + h->scid_off, h->scid_len,
                     dgram + h->dcid_off, h->dcid_len, versions, nv, resp_len);
}

vq_status vq_endpoint_recv(vq_endpoint *ep, const vq_cx *cx, const uint8_t *addr, size_t addr_len,
                           uint8_t *dgram, size_t len, vq_endpoint_conn **ec, int *created,
                           uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
  return vq_endpoint_recv_ecn(ep, cx, addr, addr_len, dgram, len, 0, ec, created, resp, resp_cap,
                              resp_len);
}

vq_status vq_endpoint_recv_ecn(vq_endpoint *ep, const vq_cx *cx, const uint8_t *addr,
                               size_t addr_len, uint8_t *dgram, size_t len, uint8_t ecn,
                               vq_endpoint_conn **ec, int *created, uint8_t *resp, size_t resp_cap,
                               size_t *resp_len)
{
  return vq_endpoint_recv_at(ep, cx, 0, addr, addr_len, dgram, len, ecn, ec, created, resp,
                             resp_cap, resp_len);
}

vq_status vq_endpoint_recv_at(vq_endpoint *ep, const vq_cx *cx, int at_preferred, const uint8_t *addr,
                              size_t addr_len, uint8_t *dgram, size_t len, uint8_t ecn,
                              vq_endpoint_conn **ec, int *created, uint8_t *resp, size_t resp_cap,
                              size_t *resp_len)
{
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  *ec = NULL;
  *created = 0;
  *resp_len = 0;
  ep->wall_now_ms = ep->cfg.conn.wall_clock_base_ms + cx->now / 1000000u;
  if (addr_len > VQ_ADDR_MAX || len == 0)
    return VQ_OK;
  vq_pkt_header h;
  st = vq_packet_parse(dgram, len, ep->cfg.conn.cid_len, &h);
  /* spec: rfc9000#6.1/1 — only a packet of an unknown version gets a Version Negotiation: a
   * Version Negotiation packet parses as VQ_PKT_VERSION_NEGOTIATION and is dropped below */
  if (st == VQ_ERR_PACKET_VERSION) {
    /* spec: rfc9000#17.2.1/6 — the decision rests on the version and the datagram size only:
     * vq_packet_parse reads an unknown version's CIDs by the invariants (up to 255 bytes, RFC 8999)
     * and does not look at its Fixed Bit, so version 1's rules play no part */
    /* spec: rfc9000#5.2.2/3 — smaller datagrams of unsupported versions are dropped; spec:
     * rfc9000#17.2.1/7 — at most one Version Negotiation (resp holds one) per datagram */
    if (len >= VQ_MIN_INITIAL_DATAGRAM && resp &&
        version_negotiation(&ep->cfg, cx, dgram, &h, resp, resp_cap, resp_len) == VQ_OK && *resp_len)
      ep->stats.vn_sent++;
    return VQ_OK;
  }
  if (st != VQ_OK)
    return VQ_OK; /* spec: rfc9000#5.2/1 — datagrams that cannot be parsed are dropped */
  ep_entry *e = route_find(ep, dgram + h.dcid_off, h.dcid_len);
  if (e) {
    /* spec: rfc9000#9/3 — a packet from another address goes to the connection, which follows
     * the peer there (path validation) once the handshake is confirmed, or drops it before, without
     * a Stateless Reset (conn_path.c) */
    (void)vq_conn_recv_at(e->pub.conn, cx, at_preferred, addr, addr_len, dgram, len, ecn);
    routes_sync(ep, e);
    addr_sync(e);
    *ec = &e->pub;
    return VQ_OK;
  }
  if (h.type == VQ_PKT_1RTT && resp) {
    /* spec: rfc9000#11/4 — only for a connection of which we hold no state; spec: rfc9000#10.3/1 —
     * a short header packet for no connection we have: a Stateless Reset with
     * the token of its DCID (a peer that lost us learns at once), smaller than the trigger
     * (rfc9000#10.3.3) so that two endpoints cannot answer each other forever */
    vq_cid d;
    uint8_t tok[16];
    if (vq_cid_set(&d, dgram + h.dcid_off, h.dcid_len) == VQ_OK &&
        vq_stateless_reset_token(ep->reset_key, &d, tok) == VQ_OK &&
        vq_stateless_reset_build(cx, tok, len, resp, resp_cap, resp_len) == VQ_OK && *resp_len)
      ep->stats.resets_sent++;
    return VQ_OK;
  }
  /* spec: rfc9000#5.2.2/8 — a packet for no connection that is not an Initial is dropped */
  if (h.type != VQ_PKT_INITIAL)
    return VQ_OK;
  /* spec: rfc9000#14.1/4 — a server discards an Initial in a datagram smaller than 1200 bytes */
  if (!vq_initial_datagram_size_ok(len))
    return VQ_OK;
  /* an Initial of a version we speak but do not accept (cfg.conn.versions): Version Negotiation
   * (RFC 9368 §2.1), as for an unknown version */
  if (!version_accepted(&ep->cfg, h.version)) {
    if (resp && version_negotiation(&ep->cfg, cx, dgram, &h, resp, resp_cap, resp_len) == VQ_OK &&
        *resp_len)
      ep->stats.vn_sent++;
    return VQ_OK;
  }
  /* spec: rfc9000#7.2 — the client's first DCID is at least 8 bytes (rfc9000#7.2/1) */
  if (h.dcid_len < 8 || ep->count >= ep->cfg.max_conns)
    return VQ_OK;
  vq_cid scid;
  /* spec: rfc9000#10.3.2/2 — every connection gets a CID of the same length (cfg.conn.cid_len),
   * so the stateless reset token can be recomputed from a CID without state */
  /* spec: rfc9000#10.3.2/3, rfc9000#10.3.2/4 — the handshake CID comes from the endpoint's minter:
   * never one issued before under the reset key. One that routes to a live connection (a client's
   * chosen Initial DCID can equal it) is skipped for the next; after 8 such the Initial is dropped
   * (no state kept: the client retransmits), as when the minter is used up. spec:
   * rfc9000#17.2.5.1/1 — this CID is also the Source CID of a Retry: never the client's Destination
   * CID (skipped the same way) */
  int draws = 0, clash;
  do {
    if (vq_cid_minter_next(&ep->minter, &scid, NULL) != VQ_OK)
      return VQ_OK;
    clash = route_find(ep, scid.bytes, scid.len) != NULL ||
            (scid.len == h.dcid_len && memcmp(scid.bytes, dgram + h.dcid_off, h.dcid_len) == 0);
  } while (clash && ++draws < 8);
  if (clash)
    return VQ_OK;
  vq_token_info tok;
  int retried = 0, token_ok = 0;
  /* the token that opens this connection, recorded once it is made (tuse): tokens are single-use.
   * spec: rfc9000#8.1.4/6 — only here, for an Initial no connection took by its DCID above: the
   * client's retransmitted Initials and the rest of its first flight, token included, went to the
   * connection its first Initial opened */
  uint32_t tslot = 0;
  int tuse = 0;
  vq_time tnow = 0, tlife = 0;
  const uint8_t *tk = h.token_len ? dgram + h.token_off : NULL;
  int retry_tok = tk && tk[0] == VQ_TOKEN_KIND_RETRY;
  if (tk && !retry_tok) {
    /* spec: rfc9000#8.1.3/14 — a token in the Initial is checked: a NEW_TOKEN token of ours (the
     * kind byte, readable by anyone: rfc9000#8.1.3/8), for this client's host, unexpired. spec:
     * rfc9000#8.1.3/15 — anything else (forged, expired, another host's, another server's) counts as
     * no token: a Retry if one is due, else the address stays unvalidated; never an error (INVALID_TOKEN
     * is for Retry tokens only, rfc9000#8.1.2) */
    /* spec: rfc9000#8.1.4/5 — the token opens only with the host it was issued to (its additional
     * data): from another IP address it does not, token_ok stays 0 and the connection keeps the
     * anti-amplification limit (k.token_validated = 0) until the handshake validates the address */
    uint8_t host[VQ_ADDR_MAX];
    size_t hl = token_host(ep, addr, addr_len, host);
    vq_time tt = token_time(ep, cx);
    /* spec: rfc9369#5/2 — and issued on a connection of this Initial's version */
    st = vq_token_check(&ep->tokens, tt, h.version, host, hl, tk, h.token_len,
                        ep->cfg.retry_token_lifetime,
                        ep->cfg.new_token_lifetime, &tok);
    /* spec: rfc9000#8.1.4/8 — a NEW_TOKEN token is accepted once: used before (or no room to record
     * it), it counts as none */
    if (st == VQ_OK && tok.kind == VQ_TOKEN_KIND_NEW && token_fresh(ep, cx, &tok, &tslot)) {
      token_ok = 1;
      tuse = 1;
      tnow = tt;
      tlife = ep->cfg.new_token_lifetime;
      ep->stats.new_tokens_accepted++;
    } else {
      ep->stats.new_tokens_refused++;
    }
  }
  /* spec: rfc9000#8.1.2 — the server may validate addresses with a Retry always (cfg.retry) or only
   * under load (cfg.retry_above: as many connections held as the threshold or more); spec:
   * rfc9000#8.1.3/16 — not a client a valid NEW_TOKEN token validated: its handshake proceeds */
  int retry_now = !token_ok &&
                  (ep->cfg.retry || (ep->cfg.retry_above && ep->count >= ep->cfg.retry_above));
  if (retry_now && !retry_tok) {
    /* spec: rfc9000#8.1.2 — no (usable) token: answer with a Retry carrying one, and keep no state;
     * spec: rfc9369#4.1/1 — in the version of the client's Initial (the original version) */
    vq_cid odcid, cscid;
    uint8_t token[VQ_TOKEN_MAX];
    size_t tlen = 0, tag_off = 0;
    if (!resp || vq_cid_set(&odcid, dgram + h.dcid_off, h.dcid_len) != VQ_OK ||
        vq_cid_set(&cscid, dgram + h.scid_off, h.scid_len) != VQ_OK ||
        vq_token_make_retry(&ep->tokens, cx, h.version, addr, addr_len, &odcid, &scid, token, sizeof(token),
                            &tlen) != VQ_OK ||
        vq_retry_write(resp, resp_cap, h.version, (uint8_t)(cx->rng ? vq_rng_next(cx->rng) & 15u : 0),
                       &cscid, &scid, token, tlen, &tag_off) != VQ_OK ||
        tag_off + VQ_RETRY_TAG_LEN > resp_cap ||
        vq_retry_tag_compute(h.version, odcid.bytes, odcid.len, resp, tag_off, resp + tag_off) != VQ_OK)
      return VQ_OK;
    /* spec: rfc9000#17.2.5.1/5 — one Retry (resp holds one) for this datagram */
    *resp_len = tag_off + VQ_RETRY_TAG_LEN;
    ep->stats.retries_sent++;
    return VQ_OK;
  }
  if (retry_tok) {
    /* spec: rfc9000#8.1.3/14 — a Retry token: it must be ours, for this address (and port: the
     * client comes straight back), unexpired, and the client must now send to the Retry's Source CID
     * (checked in every mode: servers sharing token_key may be configured differently) */
    /* spec: rfc9369#4.1/3 — a Retry token opens only in the version of the Initial it answered
     * (the client did not switch, rfc9369#4.1/2) */
    st = vq_token_check(&ep->tokens, cx->now, h.version, addr, addr_len, tk, h.token_len,
                        ep->cfg.retry_token_lifetime, ep->cfg.retry_token_lifetime, &tok);
    /* spec: rfc9000#8.1.4/6 — and not used before: a Retry token opens one connection */
    if (st != VQ_OK || tok.kind != VQ_TOKEN_KIND_RETRY || tok.rscid.len != h.dcid_len ||
        memcmp(tok.rscid.bytes, dgram + h.dcid_off, h.dcid_len) != 0 ||
        !token_fresh(ep, cx, &tok, &tslot)) {
      /* spec: rfc9000#8.1.2 — an invalid token: the Initial is dropped (a server without state
       * cannot tell a forged token from an old one; the client retries or times out). spec:
       * rfc9000#8.1.3/15 — below the load threshold the Initial goes on as from an unvalidated
       * address (a connection without a Retry) */
      ep->stats.tokens_refused++;
      if (retry_now)
        return VQ_OK;
    } else {
      scid = tok.rscid;
      retried = 1;
      tuse = 1;
      tnow = cx->now;
      tlife = ep->cfg.retry_token_lifetime;
    }
  }
  e = vq_mem_calloc(&ep->mem, 1, sizeof(*e));
  if (!e)
    return VQ_OK;
  vq_conn *c = NULL;
  vq_conn_config k = ep->cfg.conn;
  /* spec: rfc9000#10.3.2 — every CID of every connection has a token from the endpoint's key, so
   * the endpoint can reset any of them after losing the connection */
  k.reset_key = ep->reset_key;
  uint8_t reset_tok[16];
  if (vq_stateless_reset_token(ep->reset_key, &scid, reset_tok) == VQ_OK)
    k.stateless_reset_token = reset_tok;
  k.token_validated = token_ok;
  if (!k.new_token && !ep->cfg.new_token_off) {
    k.new_token = ep_new_token;
    k.new_token_ud = ep;
  }
  if (!k.cid_in_use) {
    k.cid_in_use = ep_cid_in_use;
    k.cid_in_use_ud = ep;
  }
  if (!k.mint_cid) {
    k.mint_cid = ep_mint_cid;
    k.mint_cid_ud = ep;
  }
  if (!k.early_check && !ep->cfg.early_replay_off) {
    k.early_check = ep_early_check;
    k.early_check_ud = ep;
  }
  if (ep->cfg.conn_trace) {
    vq_cid odcid;
    if (vq_cid_set(&odcid, dgram + h.dcid_off, h.dcid_len) == VQ_OK)
      k.trace = ep->cfg.conn_trace(ep->cfg.conn_trace_ud, &odcid);
  }
  if (retried)
    st = vq_conn_new_server_ecn(&c, &ep->mem, &k, cx, &scid, &tok.odcid, &tok.rscid, dgram, len,
                                ecn);
  else
    st = vq_conn_new_server_ecn(&c, &ep->mem, &k, cx, &scid, NULL, NULL, dgram, len, ecn);
  if (st != VQ_OK && !c) {
    vq_mem_free(&ep->mem, e, sizeof(*e));
    return VQ_OK;
  }
  if (tuse)
    token_use(ep, cx, &tok, tslot, tnow, tlife);
  e->pub.conn = c;
  memcpy(e->pub.addr, addr, addr_len);
  e->pub.addr_len = addr_len;
  if (addr_len)
    (void)vq_conn_set_peer_addr(c, addr, addr_len);
  e->r_odcid.cid = *vq_conn_odcid(c);
  e->r_odcid.e = e;
  route_add(ep, &e->r_odcid);
  e->cid_gen = UINT64_MAX;
  routes_sync(ep, e);
  e->next = ep->list;
  if (ep->list)
    ep->list->prev = e;
  ep->list = e;
  ep->count++;
  ep->stats.conns_created++;
  *ec = &e->pub;
  *created = 1;
  return VQ_OK;
}
