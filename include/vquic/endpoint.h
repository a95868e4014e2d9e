/* vquic — the endpoint: the server's side of demultiplexing (RFC 9000 §5.2). Sans-I/O like the
 * connection: the driver hands each received datagram with its peer address to vq_endpoint_recv,
 * which routes it by Destination Connection ID to its connection, creates a connection for a
 * client's first Initial (in a datagram of at least 1200 bytes, RFC 9000 §14.1), or answers an
 * unknown version with Version Negotiation (RFC 9000 §6.1). Addresses are opaque bytes to the
 * endpoint (the driver's sockaddr); it keeps the one each connection talks to.
 *
 * Regions: connections live in the endpoint's memory budget; vq_endpoint_free finalizes them. */
#ifndef VQUIC_ENDPOINT_H
#define VQUIC_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/conn.h"

typedef struct vq_endpoint vq_endpoint;

typedef struct vq_endpoint_config {
  vq_conn_config conn;          /* for every server connection (conn.is_server must be 1) */
  size_t mem_limit;             /* the endpoint's budget: default 1 GiB */
  uint32_t max_conns;           /* refuse new connections beyond (default 10000) */
  /* Optional: the trace sink of a new connection (e.g. a qlog file per connection), asked before the
   * connection processes its first datagram; odcid is the client's first Destination CID. NULL: the
   * cx's sink. The sink must outlive the connection. */
  const vq_trace *(*conn_trace)(void *ud, const vq_cid *odcid);
  void *conn_trace_ud;
  /* Address validation (RFC 9000 §8.1): retry = 1 answers every Initial without a valid Retry token
   * with a Retry (the client comes back from the same address with the token); 0 never. token_key:
   * 32 secret bytes shared by servers that must accept each other's tokens; NULL: random at start.
   * retry_token_lifetime: 0 = 10 s.
   * retry_above = N > 0 (with retry = 0): a Retry only while the endpoint holds N or more
   * connections (a load policy, RFC 9000 §8.1.2: under load, or under attack, addresses are
   * validated before state is kept); below N a client's Initial makes a connection at once, and a
   * valid Retry token it still carries (sent while the load was high) is honoured. */
  int retry;
  uint32_t retry_above;
  const uint8_t *token_key;
  /* 32 secret bytes the stateless reset tokens derive from (RFC 9000 §10.3.2): servers that must
   * reset each other's connections share it; NULL: random at start. */
  const uint8_t *reset_key;
  /* Connection IDs (RFC 9000 §10.3.2: a CID must never serve two connections under one reset key,
   * also after the first one ended or was reset). The endpoint issues every CID of its connections
   * (the handshake CID, NEW_CONNECTION_ID, the preferred address's) as a keyed pseudorandom
   * permutation of a counter (vquic/cidperm.h: FF1 under a key HKDF-derived from reset_key), so
   * distinct counter values are distinct CIDs, unlinkable without the key. The counter runs over
   * [cid_counter_base, cid_counter_end); end 0: to the end of the domain (2^64 values for
   * conn.cid_len >= 8, 2^(8 cid_len) below); vq_endpoint_new fails (VQ_ERR_INVALID_ARGUMENT) when
   * the range is empty or outside the domain.
   * With reset_key NULL the key is random per endpoint: base 0 is safe. Endpoints that SHARE a
   * configured reset_key — several nodes, or one node across restarts — MUST be given disjoint
   * ranges, or they issue the same CIDs: e.g. node k of a cluster [k 2^48, (k + 1) 2^48) with the
   * restart count the node persists in bits 40..47 (2^40 CIDs per run). Within an endpoint a CID
   * never repeats; across endpoints sharing the key, only when their ranges are disjoint.
   * When the range is used up the endpoint issues no more CIDs rather than repeat one (the minter
   * fails with VQ_ERR_CID_EXHAUSTED): Initials that would create a connection or get a Retry are
   * dropped and connections issue no more NEW_CONNECTION_ID. Every such Initial takes one counter
   * value (the datagram of a Retry'd client's second Initial takes one it does not use), so with
   * cid_len < 8 (at most 2^56 values) a flood of Initials can use a small range up. */
  uint64_t cid_counter_base;
  uint64_t cid_counter_end;
  vq_time retry_token_lifetime;
  /* 0-RTT anti-replay (RFC 8446 §8), used when conn.early_check is NULL: the endpoint records each
   * ticket 0-RTT was accepted with until the ticket expires, and refuses 0-RTT (not the resumption)
   * for a ticket it has seen: tickets are single-use for 0-RTT within one endpoint. The record holds
   * early_replay_max tickets (0: 4096); when all are live, 0-RTT is refused until one expires.
   * Servers sharing a ticket key do not share the record: each may accept a ticket's 0-RTT once.
   * early_replay_off = 1 disables the check (tests only). */
  uint32_t early_replay_max;
  int early_replay_off;
  /* Tokens for later connections (RFC 9000 §8.1.3): once a connection's handshake is confirmed the
   * server sends one NEW_TOKEN frame with a token sealed under token_key (vquic/token.h: its kind
   * byte tells it from a Retry token), holding only its issue time, bound to the client's host
   * (addr_host) — not its port, which NAT rebinding between connections changes — unique per
   * connection (random nonce) and unlinkable to it. A client's Initial with such a token, valid for
   * its address and younger than new_token_lifetime (0: 24 h), is from a validated address: no
   * anti-amplification limit and no Retry, even under retry / retry_above. An invalid, expired,
   * used (token_replay_max below) or unknown token is treated as none (a Retry when one is due),
   * never an error.
   * The time is the wall clock (conn.wall_clock_base_ms) when set, so tokens survive a restart of a
   * server that keeps token_key; else cx->now.
   * new_token_off = 1: no NEW_TOKEN is sent (tokens issued before are still honoured).
   * addr_host: writes the part of an address (driver format) a token binds — the host, without the
   * port — to out[0..cap) and returns its length (0: use the whole address); NULL: the whole
   * address (vquic/posix.h has vq_posix_addr_host for vq_addr). */
  vq_time new_token_lifetime;
  int new_token_off;
  size_t (*addr_host)(const uint8_t *addr, size_t len, uint8_t *out, size_t cap);
  /* Tokens are single-use (RFC 9000 §8.1.4), Retry and NEW_TOKEN tokens alike: the endpoint records
   * the nonce of every token that opened a connection until the token expires, and a token already
   * recorded counts as an invalid one (no token: the 3x limit, a Retry when one is due; a Retry
   * token's Initial is dropped when a Retry is due, as for any invalid Retry token), never an error.
   * Only a token that opens a new connection is used up: the client's further Initials with it
   * (retransmissions, a ClientHello over two datagrams, coalesced 0-RTT) route to that connection by
   * their Destination CID first. The record holds token_replay_max entries (0: 65536; at most
   * 2^31 - 1, else VQ_ERR_INVALID_ARGUMENT) for each kind of token, 16 bytes each (2 MiB by default),
   * allocated by vq_endpoint_new from the endpoint's budget: the 24-hour NEW_TOKEN tokens never take
   * the room of the 10-second Retry ones. An expired entry is reused. When a token finds no room (a
   * token may take one of 32 entries from the one its nonce hashes to; with at most 32 entries, any)
   * it cannot be recorded and counts as invalid too (stats.token_record_full): for a NEW_TOKEN token
   * that costs that client a Retry or the 3x limit, for a Retry token its Initial (dropped when a
   * Retry is due). Servers sharing token_key do not share the record (each may accept a token once),
   * nor does a restarted server keep it. */
  uint32_t token_replay_max;
} vq_endpoint_config;

typedef struct vq_endpoint_conn {
  vq_conn *conn;
  uint8_t addr[VQ_ADDR_MAX];    /* the peer's address (driver's format) */
  size_t addr_len;
  void *ud;                     /* the application's per-connection data */
} vq_endpoint_conn;

vq_status vq_endpoint_new(vq_endpoint **out, vq_mem *parent, const vq_endpoint_config *cfg);
/* Finalizes every connection and frees. */
void vq_endpoint_free(vq_endpoint *ep);

/* A datagram dgram[0..len) arrived from addr. On VQ_OK exactly one of:
 *   *ec set:          it was for (or created) that connection and was processed; *created = 1
 *                     for a new one;
 *   *resp_len > 0:    send resp[0..*resp_len) back to addr (Version Negotiation, Retry, or a
 *                     Stateless Reset for a short header packet of no connection);
 *   neither:          it was dropped (unknown CID, too short, garbage). */
vq_status vq_endpoint_recv(vq_endpoint *ep, const vq_cx *cx, const uint8_t *addr, size_t addr_len,
                           uint8_t *dgram, size_t len, vq_endpoint_conn **ec, int *created,
                           uint8_t *resp, size_t resp_cap, size_t *resp_len);
/* The same with the datagram's IP ECN codepoint (VQ_ECN_*, RFC 9000 §13.4), counted by the connection
 * for its ACK_ECN frames. */
vq_status vq_endpoint_recv_ecn(vq_endpoint *ep, const vq_cx *cx, const uint8_t *addr,
                               size_t addr_len, uint8_t *dgram, size_t len, uint8_t ecn,
                               vq_endpoint_conn **ec, int *created, uint8_t *resp, size_t resp_cap,
                               size_t *resp_len);
/* The same for a datagram that arrived at the server's preferred address (at_preferred 1; see
 * vq_conn_config.preferred_local): passed to the connection (vq_conn_recv_at). */
vq_status vq_endpoint_recv_at(vq_endpoint *ep, const vq_cx *cx, int at_preferred, const uint8_t *addr,
                              size_t addr_len, uint8_t *dgram, size_t len, uint8_t ecn,
                              vq_endpoint_conn **ec, int *created, uint8_t *resp, size_t resp_cap,
                              size_t *resp_len);
/* Iterates the connections: NULL starts; returns NULL after the last. */
vq_endpoint_conn *vq_endpoint_next(vq_endpoint *ep, vq_endpoint_conn *prev);
/* Removes and finalizes a connection (after VQ_CONN_EV_CLOSED). *obligations as vq_conn_free. */
void vq_endpoint_remove(vq_endpoint *ep, vq_endpoint_conn *ec, uint64_t *obligations);
/* The earliest vq_conn_next_timeout of all connections. */
vq_time vq_endpoint_next_timeout(const vq_endpoint *ep);
size_t vq_endpoint_count(const vq_endpoint *ep);
typedef struct vq_endpoint_stats {
  uint64_t conns_created, retries_sent, tokens_refused, vn_sent, resets_sent;
  uint64_t early_replays;       /* 0-RTT refused: ticket already used, or the record full */
  uint64_t new_tokens_issued;   /* NEW_TOKEN tokens made (one per connection) */
  uint64_t new_tokens_accepted; /* Initials whose NEW_TOKEN token validated the address */
  uint64_t new_tokens_refused;  /* Initials with a token that was not a valid NEW_TOKEN or Retry
                                   token of ours for this address, or a used one (treated as no
                                   token) */
  uint64_t tokens_replayed;     /* Initials opening a connection with a token (Retry or NEW_TOKEN)
                                   already used: tokens are single-use, it counted as invalid (also
                                   in tokens_refused / new_tokens_refused) */
  uint64_t token_record_full;   /* valid tokens refused because the replay record had no room
                                   (token_replay_max live entries; also in the *_refused counts) */
} vq_endpoint_stats;
void vq_endpoint_get_stats(const vq_endpoint *ep, vq_endpoint_stats *st);

#endif
