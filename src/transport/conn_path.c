/* vquic — the connection's connection IDs and paths: issuing our CIDs and retiring the peer's
 * (RFC 9000 §5.1, §19.15, §19.16) over the proved bookkeeping of cidmgr.c, stateless reset
 * detection (§10.3.1), path validation (§8.2), the server following a NAT rebinding or a client's
 * migration (§9.3, §9.4, §9.5), and a client's migration (§9.2). */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"

/* ---- connection IDs --------------------------------------------------------------------------- */

vq_status vq_conn_cids_init(vq_conn *c, const vq_cx *cx)
{
  vq_status st = vq_cidmgr_init(&c->cids, c->cid_peer, VQ_CONN_PEER_CID_LIMIT, c->cid_retire,
                                2 * VQ_CONN_PEER_CID_LIMIT, c->cid_local, VQ_CONN_MAX_LOCAL_CIDS,
                                VQ_CONN_PEER_CID_LIMIT);
  if (st != VQ_OK)
    return st;
  if (!c->have_cid_key) {
    /* spec: rfc9000#10.3.2 — without the endpoint's static key the tokens come from a key of this
     * connection, drawn at random */
    if (!cx->rng)
      return VQ_ERR_INVALID_ARGUMENT;
    vq_rng_fill(cx->rng, c->cid_key, sizeof(c->cid_key));
    c->have_cid_key = 1;
  }
  st = vq_cidmgr_local_set_initial(&c->cids, &c->scid, c->has_reset_token ? c->reset_token : NULL);
  c->cid_gen = 1;
  if (st == VQ_OK && c->is_server)
    vq_conn_pa_server_init(c, cx);
  return st;
}

void vq_conn_cids_peer_initial(vq_conn *c)
{
  (void)vq_cidmgr_peer_set_initial(&c->cids, &c->dcid, NULL);
}

void vq_conn_cids_peer_tp(vq_conn *c)
{
  /* spec: rfc9000#5.1.1/4 — never more CIDs than the peer's active_connection_id_limit */
  (void)vq_cidmgr_local_set_peer_limit(&c->cids, c->peer_tp.active_connection_id_limit);
  /* spec: rfc9000#10.3 — the server's stateless_reset_token belongs to its handshake CID */
  if (!c->is_server && vq_tp_has(&c->peer_tp, VQ_TP_STATELESS_RESET_TOKEN))
    (void)vq_cidmgr_peer_set_initial_token(&c->cids, c->peer_tp.stateless_reset_token);
  if (!c->is_server)
    vq_conn_pa_client_tp(c);
}

/* A vq_cidmgr_token_fn for the CIDs the connection issues: the endpoint's live CIDs are refused
 * (VQ_ERR_CID_DUPLICATE: the caller draws again), the token comes from the static key. */
static vq_status conn_token_fn(void *ud, const vq_cid *cid, uint8_t token[VQ_RESET_TOKEN_LEN])
{
  vq_conn *c = ud;
  /* spec: rfc9000#10.3.2 — a CID live in another connection of the endpoint is not issued */
  if (c->cfg.cid_in_use && c->cfg.cid_in_use(c->cfg.cid_in_use_ud, cid))
    return VQ_ERR_CID_DUPLICATE;
  return vq_cidmgr_token_from_key(c->cid_key, cid, token);
}

void vq_conn_cids_issue(vq_conn *c, const vq_cx *cx)
{
  if (!c->hs_complete || c->state >= VQ_CONN_CLOSING || c->scid.len == 0)
    return;
  vq_cid added[VQ_CONN_MAX_LOCAL_CIDS];
  uint32_t n = 0;
  /* spec: rfc9000#5.1.1/3, rfc9000#5.1.1/7 — the peer is kept supplied with CIDs up to its limit
   * (also after it retires one); spec: rfc9000#10.3.2/2 — ours all have the handshake CID's
   * length and a token derived from the static key and the CID */
  (void)vq_cidmgr_local_replenish_mint(&c->cids, cx, c->scid.len, c->cfg.mint_cid,
                                       c->cfg.mint_cid_ud, conn_token_fn, c, added,
                                       VQ_CONN_MAX_LOCAL_CIDS, &n);
  if (n) {
    c->cid_gen++;
    c->stats.cids_issued += n;
  }
}

/* The peer CID path 0 uses was retired (Retire Prior To, or moving): take the next unused one. */
static vq_status use_next_peer_cid(vq_conn *c)
{
  vq_cid cur;
  uint64_t seq;
  uint32_t before = c->cids.retire_n;
  vq_status st = vq_cidmgr_peer_use(&c->cids, 0, &cur, &seq);
  if (st != VQ_OK)
    return st;
  if (c->cids.retire_n > before)
    c->stats.peer_cids_retired += c->cids.retire_n - before;
  c->dcid = cur;
  return VQ_OK;
}

vq_status vq_conn_on_new_cid(vq_conn *c, const vq_cx *cx, const vq_frame_new_cid *f)
{
  (void)cx;
  /* spec: rfc9000#19.15/3 — with a zero-length peer CID: PROTOCOL_VIOLATION; spec:
   * rfc9000#19.15/4 — an exact repeat is no error; spec: rfc9000#19.15/5 — a CID repeated under
   * another sequence number or token, or a sequence number with another CID: PROTOCOL_VIOLATION;
   * spec: rfc9000#5.1.1/6 — more active CIDs than our limit: CONNECTION_ID_LIMIT_ERROR; spec:
   * rfc9000#19.15/8 — a Retire Prior To that does not increase is ignored; spec: rfc9000#19.15/9 —
   * a CID below the largest Retire Prior To is retired at once; spec: rfc9000#5.1.2/7 — none is
   * forgotten without retiring it: more retirements than the queue holds is
   * CONNECTION_ID_LIMIT_ERROR (all in cidmgr.c) */
  uint32_t before = c->cids.retire_n;
  vq_status st = vq_cidmgr_peer_on_new_cid(&c->cids, f);
  if (st != VQ_OK)
    return st;
  if (c->cids.retire_n > before)
    c->stats.peer_cids_retired += c->cids.retire_n - before;
  vq_cid cur;
  uint64_t seq;
  /* spec: rfc9000#5.1.2/4 — an increased Retire Prior To that covers the CID in use: stop using it
   * (it is retired) and move to an active one */
  if (!vq_cidmgr_peer_current(&c->cids, 0, &cur, &seq)) {
    if (use_next_peer_cid(c) != VQ_OK)
      return VQ_ERR_PROTOCOL_VIOLATION; /* cannot happen: the frame's own CID is active */
  }
  return VQ_OK;
}

vq_status vq_conn_on_retire_cid(vq_conn *c, const vq_cx *cx, uint64_t seq)
{
  vq_cid removed;
  /* spec: rfc9000#19.16/1 — a sequence number never sent, spec: rfc9000#19.16/2, rfc9000#19.16/3 —
   * the CID the packet was sent to, spec: rfc9000#19.16/4 — any, when our CID is zero-length:
   * PROTOCOL_VIOLATION (cidmgr.c) */
  int r = vq_cidmgr_local_on_retire(&c->cids, seq, &c->rx_dcid, &removed);
  if (r < 0)
    return (vq_status)r;
  if (r == 1) {
    /* the endpoint forgets it (vq_conn_cid_generation changes); a new one replaces it */
    c->cid_gen++;
    c->stats.cids_retired_by_peer++;
    vq_cx_trace(cx, "cid_retired", "seq=%llu", (unsigned long long)seq);
    vq_conn_cids_issue(c, cx);
  }
  return VQ_OK;
}

int vq_conn_cid_frames_pending(const vq_conn *c)
{
  for (uint32_t i = 0; i < c->cids.local_cap; i++)
    if (c->cids.local[i].state != VQ_CIDMGR_FREE && c->cids.local[i].send)
      return 1;
  for (uint32_t i = 0; i < c->cids.retire_n; i++)
    if (!c->cids.retire[i].in_flight)
      return 1;
  return 0;
}

int vq_conn_reset_token_match(const vq_conn *c, const uint8_t *dgram, size_t len)
{
  /* spec: rfc9000#10.3.1/3 — only the tokens of peer CIDs in use: not those of CIDs never used
   * (UNUSED) or retired (FREE); spec: rfc9000#10.3.1/4 — each compared in constant time, all of
   * them compared */
  int hit = 0;
  for (uint32_t i = 0; i < c->cids.peer_cap; i++) {
    const vq_cidmgr_entry *e = &c->cids.peer[i];
    if (e->state == VQ_CIDMGR_IN_USE && e->has_token)
      hit |= vq_stateless_reset_match(dgram, len, e->token);
  }
  return hit;
}

int vq_conn_local_cid(const vq_conn *c, uint32_t i, vq_cid *cid, uint64_t *seq)
{
  uint64_t sq = 0;
  int r = vq_cidmgr_local_get(&c->cids, i, cid, &sq);
  if (r && seq)
    *seq = sq;
  return r;
}

uint64_t vq_conn_cid_generation(const vq_conn *c) { return c->cid_gen; }

/* ---- paths ------------------------------------------------------------------------------------ */

static void pa_arm(vq_conn *c, const vq_cx *cx);
static void pp_arm(vq_conn *c, const vq_cx *cx);

/* The peer CID path 1 (a probe's path) uses is retired (RETIRE_CONNECTION_ID queued), if any. */
static void retire_path1(vq_conn *c)
{
  uint32_t before = c->cids.retire_n;
  (void)vq_cidmgr_peer_retire_path(&c->cids, 1);
  if (c->cids.retire_n > before)
    c->stats.peer_cids_retired += c->cids.retire_n - before;
}

static int addr_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
  return alen == blen && memcmp(a, b, alen) == 0;
}

/* spec: rfc9000#9.4/4 — a probe timer expired without a PATH_RESPONSE: restarted "for a longer
 * period of time", as RFC 9002 §6.2.1 backs off the PTO: the n-th period is PTO * 2^n and never
 * shorter than twice the previous one (a PTO that shrank in between does not shorten it), so it is
 * never more aggressive than PTO * 2^count. Returns the next period. */
static vq_time probe_backoff(const vq_conn *c, uint32_t *resends, vq_time *interval)
{
  vq_time pto = vq_rtt_pto(&c->rec.rtt, 1);
  if (*resends < 30)
    (*resends)++;
  vq_time iv = pto << *resends;
  if (iv < 2 * *interval)
    iv = 2 * *interval;
  *interval = iv;
  return iv;
}

static void path_start_validation(vq_conn *c, const vq_cx *cx)
{
  /* spec: rfc9000#8.2.1/4 — unpredictable data in every PATH_CHALLENGE */
  if (cx->rng)
    vq_rng_fill(cx->rng, c->path_challenge_data, sizeof(c->path_challenge_data));
  else
    c->path_challenge_data[0] ^= 0x5a;
  c->path_challenge_pending = 1;
  c->path_validating = 1;
  /* spec: rfc9000#8.2.4 — the validation is abandoned after three times the larger of the current
   * PTO and the PTO of a new path (from kInitialRtt) */
  vq_time pto = vq_rtt_pto(&c->rec.rtt, 1);
  vq_time fresh = 2 * VQ_K_INITIAL_RTT;
  c->path_deadline = cx->now + 3 * (pto > fresh ? pto : fresh);
  /* spec: rfc9000#8.2.1/1, rfc9000#9.4/4 — besides loss detection (a PATH_CHALLENGE declared lost
   * goes again), a timer of its own: the challenge may arrive (and be acknowledged) while its
   * PATH_RESPONSE, never sent twice (§8.2.2/7), is lost; a PTO, backed off (vq_conn_path_resend) */
  c->path_resends = 0;
  c->path_interval = pto;
  c->path_resend_at = cx->now + pto;
  vq_cx_trace(cx, "path_challenge", "start");
}

vq_status vq_conn_set_peer_addr(vq_conn *c, const uint8_t *addr, size_t len)
{
  if (!c || !addr || len == 0 || len > VQ_ADDR_MAX)
    return VQ_ERR_INVALID_ARGUMENT;
  memcpy(c->peer_addr, addr, len);
  c->peer_addr_len = len;
  c->have_peer_addr = 1;
  return VQ_OK;
}

int vq_conn_peer_addr(const vq_conn *c, const uint8_t **addr, size_t *len)
{
  if (!c->have_peer_addr)
    return 0;
  *addr = c->peer_addr;
  *len = c->peer_addr_len;
  return 1;
}

int vq_conn_path_before(vq_conn *c, const uint8_t *addr, size_t addr_len, size_t len)
{
  c->rx_other_addr = 0;
  c->rx_non_probing = 0;
  if (!addr || addr_len == 0 || addr_len > VQ_ADDR_MAX)
    return 1;
  if (!c->have_peer_addr) {
    (void)vq_conn_set_peer_addr(c, addr, addr_len);
    return 1;
  }
  if (addr_eq(addr, addr_len, c->peer_addr, c->peer_addr_len)) {
    if (c->path_unvalidated)
      c->path_recv += len;
    return 1;
  }
  /* spec: rfc9000#9/7, rfc9000#9.6/1 — a client discards packets from an unknown server address:
   * the server's preferred address (once probed) and the handshake's address are known ones */
  if (!c->is_server)
    return (c->pa_state != VQ_PA_NONE && addr_eq(addr, addr_len, c->pa_addr, c->pa_addr_len)) ||
           (c->orig_addr_len && addr_eq(addr, addr_len, c->orig_addr, c->orig_addr_len)) ||
           (c->pp_state != VQ_PROBE_NONE && c->pp_remote_len &&
            addr_eq(addr, addr_len, c->pp_remote, c->pp_remote_len));
  /* spec: rfc9000#9/1, rfc9000#9/3 — before the handshake is confirmed the connection does not
   * move: the packets are processed where they came from (a NAT may rebind during the handshake:
   * dropping the client's Finished would end the connection), and the first non-probing packet
   * from the new address after confirmation moves it (with path validation) */
  if (!c->hs_confirmed || c->state != VQ_CONN_ESTABLISHED)
    return 1;
  c->rx_other_addr = 1;
  return 1;
}

/* Server: a PATH_CHALLENGE on the path the peer just left (prev_addr), in a datagram of its own
 * (vq_conn_send_path_from's to) under a CID of the peer's not used before (path 1 of the CID
 * table, spec: rfc9000#9.5/3; none left: no such validation). It reuses the probe state
 * (pp_*, vq_conn_probe_path's on a client); its end, either way, is silent. */
static void oldpath_start(vq_conn *c, const vq_cx *cx)
{
  vq_cid cid;
  uint64_t seq;
  uint32_t before = c->cids.retire_n;
  c->pp_state = VQ_PROBE_NONE;
  c->pp_pending = 0;
  c->pp_deadline = c->pp_resend_at = VQ_TIME_NEVER;
  if (!c->have_prev_addr || vq_cidmgr_peer_use(&c->cids, 1, &cid, &seq) != VQ_OK) {
    vq_cx_trace(cx, "path_challenge", "previous path not validated: no unused CID of the peer");
    return;
  }
  if (c->cids.retire_n > before)
    c->stats.peer_cids_retired += c->cids.retire_n - before;
  c->pp_cid = cid;
  c->pp_local_len = 0;
  if (c->spa_moved) {
    memcpy(c->pp_local, c->spa_local, c->spa_local_len);
    c->pp_local_len = c->spa_local_len;
  }
  memcpy(c->pp_remote, c->prev_addr, c->prev_addr_len);
  c->pp_remote_len = c->prev_addr_len;
  /* spec: rfc9000#8.2.1/4 — unpredictable data */
  if (cx->rng)
    vq_rng_fill(cx->rng, c->pp_data, sizeof(c->pp_data));
  else
    c->pp_data[0] ^= 0x6b;
  c->pp_state = VQ_PROBE_PROBING;
  c->pp_pending = 1;
  pp_arm(c, cx);
  vq_cx_trace(cx, "path_challenge", "previous path seq=%llu", (unsigned long long)seq);
}

/* Server: the validation of the previous path ended (validated or not): its CID is retired unless
 * a probe's answer took path 1 since. */
static void oldpath_end(vq_conn *c)
{
  if (!c->pr_cid_set)
    retire_path1(c);
  c->pp_state = VQ_PROBE_NONE;
  c->pp_pending = 0;
  c->pp_deadline = c->pp_resend_at = VQ_TIME_NEVER;
}

/* spec: rfc9000#9.3/1 — the server follows the peer to its new address and validates it */
static void peer_moved(vq_conn *c, const vq_cx *cx, const uint8_t *addr, size_t addr_len, size_t len)
{
  int port_only = c->cfg.addr_same_host &&
                  c->cfg.addr_same_host(c->peer_addr, c->peer_addr_len, addr, addr_len);
  int from_validated = !c->path_unvalidated;
  if (!c->path_unvalidated) {
    /* the address we fall back to if the new one does not validate (§9.3.2) */
    memcpy(c->prev_addr, c->peer_addr, c->peer_addr_len);
    c->prev_addr_len = c->peer_addr_len;
    c->have_prev_addr = 1;
  }
  memcpy(c->peer_addr, addr, addr_len);
  c->peer_addr_len = addr_len;
  /* spec: rfc9000#9.3/2, rfc9000#8/1 — until the new address is validated, at most three times the
   * bytes received on it are sent there */
  c->path_unvalidated = 1;
  c->path_recv = len;
  c->path_sent = 0;
  /* spec: rfc9000#9.4/2, rfc9000#9.4/3 — congestion control and RTT start again from their initial
   * values on a new path, unless only the port changed (a NAT rebinding) */
  /* spec: rfc9000#14.3/1, rfc9000#14.2/6 — a new peer address (a NAT rebinding too: the route may
   * differ) starts again at BASE_PLPMTU, 1200 bytes, and is searched again once validated */
  vq_conn_pmtu_new_path(c, cx->now);
  if (!port_only)
    vq_recovery_reset_path(&c->rec, c->max_udp_payload);
  /* spec: rfc9000#9.5/3, rfc9000#9.5/1 — a new peer CID for the new address, when the peer gave
   * one (else, spec: rfc9000#9.5/4, the current one goes on) */
  if (vq_cidmgr_peer_unused(&c->cids) > 0)
    (void)use_next_peer_cid(c);
  /* spec: rfc9000#8.2.2/3 — a PATH_CHALLENGE that came from this address before (the peer probed
   * it first) is answered now, on its path */
  if (c->have_probe && !c->path_response_pending &&
      addr_eq(addr, addr_len, c->probe_addr, c->probe_addr_len)) {
    memcpy(c->path_response_data, c->probe_data, sizeof(c->probe_data));
    c->path_response_pending = 1;
  }
  c->have_probe = 0;
  /* the answer to a probe is no longer owed on another path; the client's CID it went under is
   * retired (the new path has its own, above) */
  c->pr_pending = 0;
  if (c->pr_cid_set) {
    retire_path1(c);
    c->pr_cid_set = 0;
  }
  c->pr_from_pa = 0;
  c->pr_via_pa = 0;
  /* spec: rfc9000#9.3.3/1 — the previously active (validated) path is validated too (an attacker
   * may have forwarded the packet: the real peer, still there, answers with a non-probing packet
   * and the connection moves back, spec: rfc9000#9.3.3/2); a path no longer there fails silently */
  if (from_validated)
    oldpath_start(c, cx);
  /* spec: rfc9000#9/4 — path validation on any change of the peer's address */
  path_start_validation(c, cx);
  c->stats.peer_migrations++;
  vq_cx_trace(cx, "peer_migrated", "port_only=%d", port_only);
}

/* Path 1 of the peer CID table gets a CID never used (towards the address or from the local address
 * of the path it is for): 1 with c->pr_cid set, 0 when none is left. */
static int pr_take_cid(vq_conn *c, const vq_cx *cx)
{
  vq_cid cid;
  uint64_t seq;
  uint32_t before = c->cids.retire_n;
  c->pr_cid_set = 0;
  if (vq_cidmgr_peer_use(&c->cids, 1, &cid, &seq) != VQ_OK) {
    retire_path1(c);
    vq_cx_trace(cx, "path_probe", "not answered: no unused CID of the peer");
    return 0;
  }
  if (c->cids.retire_n > before)
    c->stats.peer_cids_retired += c->cids.retire_n - before;
  c->pr_cid = cid;
  c->pr_cid_set = 1;
  c->pr_budget = 0;
  return 1;
}

/* Server: a datagram of the client (from its current address) arrived at our preferred address
 * (RFC 9000 §9.6.2). */
static void pa_srv_after(vq_conn *c, const vq_cx *cx, const uint8_t *addr, size_t addr_len,
                         size_t len, uint64_t prev_response_pending)
{
  if (c->state != VQ_CONN_ESTABLISHED)
    return;
  /* spec: rfc9000#8.2.2/3 — the client's PATH_CHALLENGE there (its probe of the preferred address)
   * is answered on that path: from the preferred address (vq_conn_send_path_from's from); spec:
   * rfc9000#9.5/2 — under a CID of the client's not used from the original address (path 1) */
  if (!prev_response_pending && c->path_response_pending) {
    c->path_response_pending = 0;
    if ((c->pr_cid_set && c->pr_from_pa) || pr_take_cid(c, cx)) {
      memcpy(c->pr_addr, addr, addr_len);
      c->pr_addr_len = addr_len;
      memcpy(c->pr_data, c->path_response_data, sizeof(c->pr_data));
      c->pr_budget += 3 * (uint64_t)len;
      c->pr_pending = 1;
      c->pr_from_pa = 1;
      c->pr_via_pa = 0;
    }
  }
  /* spec: rfc9000#9.6.2/3 — the server validates the path towards the client from its preferred
   * address itself (PATH_CHALLENGE from there, under that CID) */
  if (c->pa_state == VQ_PA_NONE && c->pr_cid_set && c->pr_from_pa) {
    if (cx->rng)
      vq_rng_fill(cx->rng, c->pa_data, sizeof(c->pa_data));
    else
      c->pa_data[0] ^= 0x5c;
    c->pa_cid = c->pr_cid;
    c->pa_state = VQ_PA_PROBING;
    c->pa_probe_pending = 1;
    pa_arm(c, cx);
    vq_cx_trace(cx, "preferred_address", "server probing from it");
  }
  if (c->rx_dgram_non_probing)
    c->spa_nonprobe = 1;
}

/* Server: spec: rfc9000#9.6.2/2 — its packets leave from the original address until a non-probing
 * packet arrived at the preferred address and its own validation of the path from there succeeded;
 * then from the preferred address, under the CID used from there (the original path's CID is
 * retired: spec: rfc9000#9.5/2, one CID per local address). */
static void pa_srv_maybe_move(vq_conn *c, const vq_cx *cx)
{
  if (!c->is_server || c->spa_moved || c->pa_state != VQ_PA_MOVED || !c->spa_nonprobe ||
      !c->pr_cid_set || !c->pr_from_pa)
    return;
  uint32_t before = c->cids.retire_n;
  if (vq_cidmgr_peer_retire_path(&c->cids, 0) != VQ_OK)
    return;
  /* a validation of the previous path (its CID was replaced on path 1 by the probe's) ends */
  c->pp_state = VQ_PROBE_NONE;
  c->pp_pending = 0;
  c->pp_deadline = c->pp_resend_at = VQ_TIME_NEVER;
  if (c->cids.retire_n > before)
    c->stats.peer_cids_retired += c->cids.retire_n - before;
  for (uint32_t i = 0; i < c->cids.peer_cap; i++)
    if (c->cids.peer[i].state == VQ_CIDMGR_IN_USE && c->cids.peer[i].path == 1)
      c->cids.peer[i].path = 0;
  c->dcid = c->pr_cid;
  c->pr_cid_set = 0;
  c->pr_from_pa = 0;
  c->spa_moved = 1;
  /* spec: rfc9000#14.3/1 — sending from the preferred address is a new path: 1200 bytes again */
  vq_conn_pmtu_new_path(c, cx->now);
  vq_cx_trace(cx, "preferred_address", "server moved");
}

void vq_conn_path_after(vq_conn *c, const vq_cx *cx, const uint8_t *addr, size_t addr_len,
                        size_t len, uint64_t prev_response_pending)
{
  /* spec: rfc9000#9.6.3/4 — at the preferred address from the client's current address: the
   * preferred-address rules; from another address (rx_other_addr), the server protects itself as
   * from any new address: a non-probing packet is a migration, validated with PATH_CHALLENGE, with
   * at most three times the bytes received sent there until then (peer_moved, §9.3.1, §9.3.2); a
   * probe is answered within the same limit (below) */
  if (c->rx_at_pa && !c->rx_other_addr) {
    pa_srv_after(c, cx, addr, addr_len, len, prev_response_pending);
    pa_srv_maybe_move(c, cx);
    return;
  }
  if (!c->rx_other_addr) {
    /* spec: rfc9000#9.3.3/2 — a PATH_CHALLENGE on the active path: a non-probing packet (a PING)
     * goes with the answer, so a connection moved by a forwarded copy comes back (§9.3.3) */
    if (!prev_response_pending && c->path_response_pending && c->state == VQ_CONN_ESTABLISHED &&
        addr && c->have_peer_addr && addr_eq(addr, addr_len, c->peer_addr, c->peer_addr_len))
      c->ping_pending = 1;
    return;
  }
  c->rx_other_addr = 0;
  if (c->rx_non_probing && c->state == VQ_CONN_ESTABLISHED) {
    /* spec: rfc9000#9.3 — a non-probing packet, the largest so far, from a new address */
    peer_moved(c, cx, addr, addr_len, len);
    return;
  }
  /* only probing frames (or nothing new) from another address: the connection stays (a probe,
   * RFC 9000 §9.1). spec: rfc9000#8.2.2/3 — the PATH_RESPONSE goes back on the path of its
   * PATH_CHALLENGE: not with the packets of the current path but in a datagram of its own to that
   * address (vq_conn_send_path returns it with its destination); spec: rfc9000#9.5/3 — under a
   * CID of the peer's not used towards another address (path 1 of the CID table; none unused: no
   * answer there). A driver that does not send to other addresses never takes it: the challenge is
   * also kept and answered if the connection moves to that address (peer_moved); spec:
   * rfc9000#8.2.2/7 — only one of the two answers goes (the first sent clears the other). */
  if (!prev_response_pending && c->path_response_pending) {
    memcpy(c->probe_data, c->path_response_data, sizeof(c->probe_data));
    memcpy(c->probe_addr, addr, addr_len);
    c->probe_addr_len = addr_len;
    c->have_probe = 1;
    c->path_response_pending = 0;
    int same = c->pr_cid_set && !c->pr_from_pa && addr_eq(addr, addr_len, c->pr_addr, c->pr_addr_len);
    if (!same && !c->spa_moved && c->pa_state != VQ_PA_PROBING)
      (void)pr_take_cid(c, cx);
    if (c->pr_cid_set && !c->pr_from_pa) {
      memcpy(c->pr_addr, addr, addr_len);
      c->pr_addr_len = addr_len;
      memcpy(c->pr_data, c->probe_data, sizeof(c->pr_data));
      /* spec: rfc9000#8.2.2/6, rfc9000#8/1 — at most three times what came from that address */
      c->pr_budget += 3 * (uint64_t)len;
      c->pr_pending = 1;
      /* spec: rfc9000#8.2.2/3, rfc9000#9.6.3/4 — a probe that reached the preferred address from
       * an address other than the client's: its path is the preferred address's, the answer
       * leaves from there */
      c->pr_via_pa = c->rx_at_pa;
    }
  }
}

void vq_conn_on_path_challenge(vq_conn *c, const uint8_t data[8])
{
  /* spec: rfc9000#8.2.2/1, rfc9000#19.17/1 — answered with a PATH_RESPONSE echoing the data */
  memcpy(c->path_response_data, data, VQ_PATH_DATA_LEN);
  c->path_response_pending = 1;
}

void vq_conn_on_path_response(vq_conn *c, const vq_cx *cx, const uint8_t data[8])
{
  if (vq_conn_pa_on_response(c, cx, data) || vq_conn_pp_on_response(c, cx, data))
    return;
  /* spec: rfc9000#19.18/1 — a response that matches no challenge of ours is ignored; spec:
   * rfc9000#8.2.2/4 — the path it arrived on is not checked */
  if (!c->path_validating || memcmp(data, c->path_challenge_data, VQ_PATH_DATA_LEN) != 0)
    return;
  c->path_validating = 0;
  c->path_challenge_pending = 0;
  c->path_unvalidated = 0;
  c->have_prev_addr = 0;
  c->path_deadline = c->path_resend_at = VQ_TIME_NEVER;
  c->stats.paths_validated++;
  vq_cx_trace(cx, "path_validated", "ok");
  /* spec: rfc9000#8.2.1/6, rfc9000#8.2.3/1 — our PATH_CHALLENGE or PATH_RESPONSE on this path went
   * in a datagram below 1200 bytes (anti-amplification limit): a second validation, now that the
   * limit is gone, in a datagram expanded to 1200 bytes */
  if (c->path_mtu_unshown) {
    c->path_mtu_unshown = 0;
    path_start_validation(c, cx);
  }
}

void vq_conn_path_timeout(vq_conn *c, const vq_cx *cx)
{
  if (!c->path_validating || cx->now < c->path_deadline)
    return;
  c->path_validating = 0;
  c->path_challenge_pending = 0;
  c->path_deadline = c->path_resend_at = VQ_TIME_NEVER;
  c->path_mtu_unshown = 0;
  c->stats.path_validation_failures++;
  vq_cx_trace(cx, "path_validation_failed", "server=%d", c->is_server);
  if (!c->is_server || !c->path_unvalidated)
    return; /* a client keeps going on its new path (its driver left the old one) */
  if (c->have_prev_addr) {
    /* spec: rfc9000#9.3.2/1 — back to the last validated address */
    memcpy(c->peer_addr, c->prev_addr, c->prev_addr_len);
    c->peer_addr_len = c->prev_addr_len;
    c->have_prev_addr = 0;
    c->path_unvalidated = 0;
    return;
  }
  /* spec: rfc9000#9.3.2/2 — no validated address left: closed silently */
  c->state = VQ_CONN_CLOSED;
  c->close_code = VQ_TE_NO_ERROR;
  snprintf(c->close_reason, sizeof(c->close_reason), "path validation failed");
  vq_conn_push_event(c, VQ_CONN_EV_CLOSED, 0, VQ_TE_NO_ERROR);
}

vq_status vq_conn_migrate(vq_conn *c, const vq_cx *cx_in)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  /* spec: rfc9000#9/1 — not before the handshake is confirmed; spec: rfc9000#9/2 — not when the
   * server sent disable_active_migration */
  if (c->is_server || !c->hs_confirmed || c->state != VQ_CONN_ESTABLISHED ||
      (c->peer_tp_done && vq_tp_has(&c->peer_tp, VQ_TP_DISABLE_ACTIVE_MIGRATION)))
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#18.2/3 — a server that gave a preferred address is not sent to from a new local
   * address at its handshake address: only after moving to the preferred one */
  if (c->peer_tp_done && vq_tp_has(&c->peer_tp, VQ_TP_PREFERRED_ADDRESS) &&
      c->pa_state != VQ_PA_MOVED)
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#9.5/2 — a CID is never used from two local addresses: an unused one or none */
  if (vq_cidmgr_peer_unused(&c->cids) == 0)
    return VQ_ERR_CID_UNAVAILABLE;
  /* a probe (vq_conn_probe_path) ends here: its CID is retired, the new path gets a new one */
  vq_conn_pp_abandon(c);
  st = use_next_peer_cid(c);
  if (st != VQ_OK)
    return st;
  /* spec: rfc9000#9.4 — the new path starts with fresh congestion control and RTT; spec:
   * rfc9000#14.3/1 — and at BASE_PLPMTU (1200 bytes), searched again once validated */
  vq_conn_pmtu_new_path(c, cx->now);
  vq_recovery_reset_path(&c->rec, c->max_udp_payload);
  /* spec: rfc9000#9.2 — the new path is validated; a PING makes the probe non-probing, so the
   * server moves with it at once */
  path_start_validation(c, cx);
  c->ping_pending = 1;
  c->stats.migrations++;
  return VQ_OK;
}

/* ---- the server's preferred address (RFC 9000 §9.6) ------------------------------------------- */

void vq_conn_pa_server_init(vq_conn *c, const vq_cx *cx)
{
  /* spec: rfc9000#18.2/5 — not with a zero-length CID */
  if (!c->has_pa || c->scid.len == 0 || !cx->rng) {
    c->has_pa = 0;
    return;
  }
  /* spec: rfc9000#5.1.1 — the preferred address's CID has sequence number 1: the first one issued
   * after the handshake's (the cidmgr numbers in order); its token derives from the key like every
   * other (rfc9000#10.3.2). It travels in the transport parameter, not in a NEW_CONNECTION_ID. */
  uint8_t b[VQ_CID_MAX_LEN];
  vq_cid cid;
  uint8_t tok[VQ_RESET_TOKEN_LEN];
  uint64_t seq = 0;
  vq_status st;
  int tries = 0;
  do {
    /* spec: rfc9000#10.3.2/3 — the endpoint's minter when it installed one (never a CID issued
     * before under its key), else random */
    if (c->cfg.mint_cid) {
      st = c->cfg.mint_cid(c->cfg.mint_cid_ud, c->scid.len, &cid);
      if (st == VQ_OK && cid.len != c->scid.len)
        st = VQ_ERR_INTERNAL;
    } else {
      vq_rng_fill(cx->rng, b, c->scid.len);
      st = vq_cid_set(&cid, b, c->scid.len);
    }
    if (st == VQ_OK) st = conn_token_fn(c, &cid, tok);
  } while (st == VQ_ERR_CID_DUPLICATE && ++tries < 8);
  if (st != VQ_OK ||
      vq_cidmgr_local_add(&c->cids, &cid, tok, &seq) != VQ_OK || seq != 1) {
    c->has_pa = 0;
    return;
  }
  for (uint32_t i = 0; i < c->cids.local_cap; i++)
    if (c->cids.local[i].state != VQ_CIDMGR_FREE && c->cids.local[i].seq == 1)
      c->cids.local[i].send = 0;
  c->pa.cid.len = cid.len;
  memcpy(c->pa.cid.bytes, cid.bytes, cid.len);
  memcpy(c->pa.reset_token, tok, sizeof(c->pa.reset_token));
  c->cid_gen++;
}

void vq_conn_pa_client_tp(vq_conn *c)
{
  if (!vq_tp_has(&c->peer_tp, VQ_TP_PREFERRED_ADDRESS))
    return;
  /* spec: rfc9000#5.1.1 — the preferred address's CID is the peer's CID of sequence number 1,
   * with its stateless reset token (a zero-length one was refused by the parameter decoder,
   * rfc9000#18.2/7) */
  const vq_tp_preferred_address *pa = &c->peer_tp.preferred_address;
  vq_frame_new_cid f;
  memset(&f, 0, sizeof(f));
  f.sequence = 1;
  f.retire_prior_to = 0;
  f.cid_len = pa->cid.len;
  f.cid = pa->cid.bytes;
  f.reset_token = pa->reset_token;
  if (vq_cidmgr_peer_on_new_cid(&c->cids, &f) != VQ_OK)
    return;
  (void)vq_cid_set(&c->pa_cid, pa->cid.bytes, pa->cid.len);
  if (c->cfg.ignore_preferred_address || !c->cfg.preferred_addr_map)
    return;
  size_t n = VQ_ADDR_MAX;
  if (!c->cfg.preferred_addr_map(c->cfg.preferred_addr_ud, pa, c->pa_addr, &n) || n == 0 ||
      n > VQ_ADDR_MAX)
    return;
  c->pa_addr_len = n;
  c->has_pa = 1;
}

static void pa_arm(vq_conn *c, const vq_cx *cx)
{
  vq_time pto = vq_rtt_pto(&c->rec.rtt, 1);
  vq_time fresh = 2 * VQ_K_INITIAL_RTT;
  c->pa_deadline = cx->now + 3 * (pto > fresh ? pto : fresh);
  /* spec: rfc9000#9.4/4 — the probe's own timer is a PTO (RFC 9002 §6.2.1), backed off on each
   * expiry (pa_rearm) */
  c->pa_resends = 0;
  c->pa_interval = pto;
  c->pa_resend_at = cx->now + pto;
}

/* The preferred-address probe timer expired without a PATH_RESPONSE: backed off (probe_backoff). */
static void pa_rearm(vq_conn *c, const vq_cx *cx)
{
  c->pa_resend_at = cx->now + probe_backoff(c, &c->pa_resends, &c->pa_interval);
}

void vq_conn_path_resend(vq_conn *c, const vq_cx *cx)
{
  if (!c->path_validating || cx->now < c->path_resend_at || cx->now >= c->path_deadline)
    return;
  /* spec: rfc9000#8.2.1/1 — the same data again (a late answer to the first still validates) */
  c->path_challenge_pending = 1;
  c->path_resend_at = cx->now + probe_backoff(c, &c->path_resends, &c->path_interval);
  vq_cx_trace(cx, "path_challenge", "again");
}

void vq_conn_pa_start(vq_conn *c, const vq_cx *cx)
{
  if (!c->has_pa || c->pa_state != VQ_PA_NONE || c->state != VQ_CONN_ESTABLISHED)
    return;
  /* spec: rfc9000#9.6.1/2 — once the handshake is confirmed, the client validates the preferred
   * address with PATH_CHALLENGE under the new CID (vq_conn_send_path sends the probes there) */
  if (cx->rng)
    vq_rng_fill(cx->rng, c->pa_data, sizeof(c->pa_data));
  else
    c->pa_data[0] ^= 0xa5;
  if (c->have_peer_addr) {
    memcpy(c->orig_addr, c->peer_addr, c->peer_addr_len);
    c->orig_addr_len = c->peer_addr_len;
  }
  c->pa_state = VQ_PA_PROBING;
  c->pa_probe_pending = 1;
  /* spec: rfc9000#8.2.4 — abandoned after three times the larger PTO (current, new path's) */
  pa_arm(c, cx);
  vq_cx_trace(cx, "preferred_address", "probing");
}

int vq_conn_pa_on_response(vq_conn *c, const vq_cx *cx, const uint8_t data[8])
{
  if (c->pa_state != VQ_PA_PROBING || memcmp(data, c->pa_data, VQ_PATH_DATA_LEN) != 0)
    return 0;
  if (c->is_server) {
    /* spec: rfc9000#9.6.2/2 — the path from the preferred address is validated; the server moves
     * there once a non-probing packet also arrived there */
    c->pa_state = VQ_PA_MOVED;
    c->pa_probe_pending = 0;
    c->pa_deadline = c->pa_resend_at = VQ_TIME_NEVER;
    c->stats.paths_validated++;
    vq_cx_trace(cx, "preferred_address", "server validated it");
    pa_srv_maybe_move(c, cx);
    return 1;
  }
  /* spec: rfc9000#9.6.3/2 — the preferred address validated: any validation of a path to the
   * original address still in flight is abandoned (vq_conn_migrate, a new local address, is
   * refused until the client moved to the preferred address, spec: rfc9000#18.2/3; a probe of the
   * original address from the current local one, vq_conn_probe_path, ends as failed) */
  if (c->path_validating) {
    c->path_validating = 0;
    c->path_challenge_pending = 0;
    c->path_mtu_unshown = 0;
    c->path_deadline = c->path_resend_at = VQ_TIME_NEVER;
  }
  if (c->pp_state == VQ_PROBE_PROBING &&
      (c->pp_remote_len == 0 ||
       (c->orig_addr_len && addr_eq(c->pp_remote, c->pp_remote_len, c->orig_addr, c->orig_addr_len)))) {
    vq_conn_pp_abandon(c);
    c->pp_state = VQ_PROBE_FAILED;
    vq_conn_push_event(c, VQ_CONN_EV_PATH_PROBE, 0, 0);
    vq_cx_trace(cx, "path_probe", "abandoned: the preferred address validated");
  }
  /* spec: rfc9000#9.6.1/3 — validated: every packet from now on goes to the preferred address,
   * under a new CID (the lowest unused: the one of sequence 1 the probes used) */
  c->pa_state = VQ_PA_MOVED;
  c->pa_probe_pending = 0;
  c->pa_deadline = c->pa_resend_at = VQ_TIME_NEVER;
  if (vq_cidmgr_peer_unused(&c->cids) > 0)
    (void)use_next_peer_cid(c);
  memcpy(c->peer_addr, c->pa_addr, c->pa_addr_len);
  c->peer_addr_len = c->pa_addr_len;
  c->have_peer_addr = 1;
  /* spec: rfc9000#9.4 — a new path: congestion control and RTT start again; spec: rfc9000#14.3/1 —
   * the datagram size at BASE_PLPMTU (1200 bytes) */
  vq_conn_pmtu_new_path(c, cx->now);
  vq_recovery_reset_path(&c->rec, c->max_udp_payload);
  c->stats.paths_validated++;
  vq_cx_trace(cx, "preferred_address", "moved");
  return 1;
}

void vq_conn_pa_timeout(vq_conn *c, const vq_cx *cx)
{
  if (cx->now < c->pa_deadline) {
    /* spec: rfc9000#8.2.1/1 — another PATH_CHALLENGE (the same data) once a PTO passed without a
     * response: the probe or its PATH_RESPONSE may have been lost */
    c->pa_probe_pending = 1;
    pa_rearm(c, cx);
    return;
  }
  /* spec: rfc9000#9.6.1/4 — the preferred address did not validate: the client goes on at the
   * server's original address */
  c->pa_state = VQ_PA_FAILED;
  c->pa_probe_pending = 0;
  c->pa_deadline = c->pa_resend_at = VQ_TIME_NEVER;
  c->stats.path_validation_failures++;
  vq_cx_trace(cx, "preferred_address", "failed");
}

int vq_conn_preferred_state(const vq_conn *c) { return c->pa_state; }

/* ---- probing a path without moving (RFC 9000 §9.1) -------------------------------------------- */

static void pp_arm(vq_conn *c, const vq_cx *cx)
{
  /* spec: rfc9000#8.2.4/1, rfc9000#8.2.4/2 — abandoned after three times the larger of the current
   * PTO and the PTO of a new path (kInitialRtt); spec: rfc9000#8.2.1/1 — a PATH_CHALLENGE again
   * after each PTO without a response (the probe or its answer may be lost) */
  vq_time pto = vq_rtt_pto(&c->rec.rtt, 1);
  vq_time fresh = 2 * VQ_K_INITIAL_RTT;
  vq_time m = pto > fresh ? pto : fresh;
  c->pp_deadline = cx->now + 3 * m;
  c->pp_resend_at = cx->now + m;
  c->pp_resends = 0;
  c->pp_interval = m;
}

void vq_conn_pp_abandon(vq_conn *c)
{
  if (c->pp_state == VQ_PROBE_PROBING || c->pp_state == VQ_PROBE_VALIDATED)
    retire_path1(c);
  if (c->pp_state != VQ_PROBE_NONE)
    c->pp_state = VQ_PROBE_NONE;
  c->pp_pending = 0;
  c->pp_deadline = c->pp_resend_at = VQ_TIME_NEVER;
}

vq_status vq_conn_probe_path(vq_conn *c, const vq_cx *cx_in, const uint8_t *local, size_t local_len,
                             const uint8_t *remote, size_t remote_len)
{
  vq_cx tcx_;
  const vq_cx *cx = vq_conn_cx(c, cx_in, &tcx_);
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK)
    return st;
  if (local_len > VQ_ADDR_MAX || remote_len > VQ_ADDR_MAX || (local_len && !local) ||
      (remote_len && !remote))
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#9/1 — no migration, probing included, before the handshake is confirmed */
  if (c->is_server || !c->hs_confirmed || c->state != VQ_CONN_ESTABLISHED)
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#9/2, rfc9000#18.2/3 — with disable_active_migration, no packet (probes included)
   * from another local address to the address the server used in the handshake; likewise (as
   * vq_conn_migrate) while the server's preferred address was not moved to */
  const uint8_t *hs_addr = c->orig_addr_len ? c->orig_addr : c->peer_addr;
  size_t hs_len = c->orig_addr_len ? c->orig_addr_len : c->peer_addr_len;
  int to_hs = remote_len ? addr_eq(remote, remote_len, hs_addr, hs_len) : c->pa_state != VQ_PA_MOVED;
  int restricted = c->peer_tp_done && (vq_tp_has(&c->peer_tp, VQ_TP_DISABLE_ACTIVE_MIGRATION) ||
                                       (vq_tp_has(&c->peer_tp, VQ_TP_PREFERRED_ADDRESS) &&
                                        c->pa_state != VQ_PA_MOVED));
  if (local_len && to_hs && restricted)
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#9.5/2 — the probe goes under a CID never used before (path 1 of the table): from
   * another local address a CID of the current path would link the two */
  vq_conn_pp_abandon(c);
  vq_cid cid;
  uint64_t seq;
  st = vq_cidmgr_peer_use(&c->cids, 1, &cid, &seq);
  if (st != VQ_OK)
    return VQ_ERR_CID_UNAVAILABLE;
  c->pp_cid = cid;
  memcpy(c->pp_local, local ? local : c->pp_local, local_len);
  c->pp_local_len = local_len;
  memcpy(c->pp_remote, remote ? remote : c->pp_remote, remote_len);
  c->pp_remote_len = remote_len;
  /* spec: rfc9000#8.2.1/4 — unpredictable data */
  if (cx->rng)
    vq_rng_fill(cx->rng, c->pp_data, sizeof(c->pp_data));
  else
    c->pp_data[0] ^= 0x3c;
  c->pp_state = VQ_PROBE_PROBING;
  c->pp_pending = 1;
  pp_arm(c, cx);
  vq_cx_trace(cx, "path_probe", "start seq=%llu", (unsigned long long)seq);
  return VQ_OK;
}

int vq_conn_probe_state(const vq_conn *c) { return c->pp_state; }

int vq_conn_pp_on_response(vq_conn *c, const vq_cx *cx, const uint8_t data[8])
{
  if (c->pp_state != VQ_PROBE_PROBING || memcmp(data, c->pp_data, VQ_PATH_DATA_LEN) != 0)
    return 0;
  if (c->is_server) {
    /* spec: rfc9000#9.3.3/1 — the previous path answered: validated (the real peer's non-probing
     * packet from there, if it is still there, moves the connection back: vq_conn_path_after) */
    oldpath_end(c);
    c->stats.prev_paths_validated++;
    vq_cx_trace(cx, "path_validated", "previous path");
    return 1;
  }
  /* spec: rfc9000#8.2.3 — a PATH_RESPONSE with the data of our PATH_CHALLENGE validates the path
   * the challenge went on; spec: rfc9000#8.2.2/4 — whatever path it came on. The connection stays
   * where it is (spec: rfc9000#9.1/1: probing before migrating). */
  c->pp_state = VQ_PROBE_VALIDATED;
  c->pp_pending = 0;
  c->pp_deadline = c->pp_resend_at = VQ_TIME_NEVER;
  c->stats.paths_validated++;
  vq_conn_push_event(c, VQ_CONN_EV_PATH_PROBE, 0, 1);
  vq_cx_trace(cx, "path_probe", "validated");
  return 1;
}

void vq_conn_pp_timeout(vq_conn *c, const vq_cx *cx)
{
  if (cx->now < c->pp_deadline) {
    /* spec: rfc9000#9.4/4 — the probe timer restarts backed off */
    c->pp_pending = 1;
    c->pp_resend_at = cx->now + probe_backoff(c, &c->pp_resends, &c->pp_interval);
    return;
  }
  if (c->is_server) {
    /* spec: rfc9000#9.3.3/1 — the previous path did not answer: no more probes there, nothing else
     * (the connection stays on its new path) */
    oldpath_end(c);
    c->stats.prev_path_failures++;
    vq_cx_trace(cx, "path_validation_failed", "previous path");
    return;
  }
  /* spec: rfc9000#8.2.4/1 — the validation is abandoned; the probe path's CID is retired (spec:
   * rfc9000#5.1.2: a CID no longer used) and the connection goes on where it was */
  retire_path1(c);
  c->pp_state = VQ_PROBE_FAILED;
  c->pp_pending = 0;
  c->pp_deadline = c->pp_resend_at = VQ_TIME_NEVER;
  c->stats.path_validation_failures++;
  vq_conn_push_event(c, VQ_CONN_EV_PATH_PROBE, 0, 0);
  vq_cx_trace(cx, "path_probe", "failed");
}
