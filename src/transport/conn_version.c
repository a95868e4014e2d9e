/* vquic — the connection's version negotiation (RFC 9000 §6, RFC 9368, RFC 9369 §4):
 *   - client: Version Negotiation packets (discarded, or a new attempt with another version, or the
 *     attempt abandoned), following a server that switched versions (compatible negotiation);
 *   - server: choosing a better version from the client's Available Versions and answering in it;
 *   - both: our version_information and the validation of the peer's (downgrade prevention).
 * QUIC v1 and v2 are compatible with each other in both directions (RFC 9369 §4). */
#include <string.h>

#include "conn_internal.h"

static int listed(const uint32_t *v, size_t n, uint32_t x)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] == x)
      return 1;
  return 0;
}

/* spec: rfc9368#2.2/1 — compatibility is not assumed: only between the versions RFC 9369 §4 names.
 * spec: rfc9369#3/1 — v2 is v1 but for RFC 9369 §3's differences (the long header types in
 * src/core/packet.c, the Initial salt and HKDF labels in src/tls/kdf.c, the Retry key in
 * src/tls/retry.c): every other part of the stack is the same code for both.
 * spec: rfc9368#6/1 — so an ALPN token is used over v2 only as RFC 9369 §7 allows (every v1
 * token may run over v2: it has the same transport features and ALPN, and is compatible with v1) */
static int compatible(uint32_t a, uint32_t b)
{
  return (a == VQ_QUIC_V1 || a == VQ_QUIC_V2) && (b == VQ_QUIC_V1 || b == VQ_QUIC_V2);
}

void vq_conn_version_init(vq_conn *c)
{
  c->n_avail = 0;
  c->orig_version = c->version;
  if (!c->is_server) {
    /* the first flight's version is always one of ours, first unless the list says otherwise */
    if (!listed(c->cfg.versions, VQ_CONN_MAX_VERSIONS, c->version))
      c->avail[c->n_avail++] = c->version;
  }
  for (size_t i = 0; i < VQ_CONN_MAX_VERSIONS && c->cfg.versions[i]; i++)
    if (vq_version_supported(c->cfg.versions[i]) &&
        !listed(c->avail, c->n_avail, c->cfg.versions[i]) && c->n_avail < VQ_CONN_MAX_VERSIONS)
      c->avail[c->n_avail++] = c->cfg.versions[i];
  if (c->is_server) {
    c->server_prefers = c->n_avail > 0;
    if (!c->n_avail) {
      c->avail[c->n_avail++] = VQ_QUIC_V1;
      c->avail[c->n_avail++] = VQ_QUIC_V2;
    }
  }
}

void vq_conn_version_local_tp(const vq_conn *c, vq_tp *tp)
{
  /* spec: rfc9368#8/2 — vquic negotiates v2 with this document's mechanism;
   * spec: rfc9369#4/2 — version_information is always sent; spec: rfc9368#3/2 — the Chosen
   * Version (the version in use) is among the Available Versions */
  vq_tp_version_info *vi = &tp->version_information;
  vi->chosen = c->version;
  vi->n_available = 0;
  if (!listed(c->avail, c->n_avail, c->version))
    vi->available[vi->n_available++] = c->version;
  for (size_t i = 0; i < c->n_avail && vi->n_available < VQ_TP_MAX_VERSIONS; i++)
    vi->available[vi->n_available++] = c->avail[i];
  (void)vq_tp_set_present(tp, VQ_TP_VERSION_INFORMATION, 1);
}

/* Derives both Initial keys of c->version from the DCID they were derived from, and installs them. */
static vq_status reinstall_initial(vq_conn *c)
{
  vq_cid d = c->initial_dcid;
  return vq_conn_install_initial(c, &d);
}

void vq_conn_version_tp_hook(void *ud, const uint8_t *tp, size_t len)
{
  vq_conn *c = ud;
  if (!c->is_server || !c->server_prefers || c->version != c->orig_version)
    return;
  vq_tp p;
  if (vq_tp_decode(tp, len, VQ_TP_CLIENT, &p) != VQ_OK || !vq_tp_has(&p, VQ_TP_VERSION_INFORMATION))
    return; /* a parse failure closes the connection in apply_peer_tp */
  const vq_tp_version_info *vi = &p.version_information;
  if (vi->chosen != c->orig_version)
    return; /* a VERSION_NEGOTIATION_ERROR in vq_conn_version_check_tp */
  /* spec: rfc9369#4/3 — compatible negotiation (no extra round trip); spec: rfc9368#2.3/1 — the
   * Negotiated Version is one the client lists that we support and that
   * its Chosen Version is compatible with: our most preferred such version; spec: rfc9368#3/3 — the
   * client's order is advisory, ours decides */
  uint32_t pick = 0;
  for (size_t i = 0; i < c->n_avail && !pick; i++)
    if (listed(vi->available, vi->n_available, c->avail[i]) && compatible(vi->chosen, c->avail[i]))
      pick = c->avail[i];
  if (!pick || pick == c->version)
    return;
  /* spec: rfc9368#2/1 — we select another compatible version; the client's first flight is the
   * same in v1 and v2 once unprotected (spec: rfc9368#2.3/2 — the conversion is the identity, it
   * cannot fail; spec: rfc9368#2.3/5 — the converted flight goes through the same validations as
   * any first flight of the negotiated version: the same code reads it); spec:
   * rfc9369#4.1/5 — every CRYPTO frame we send (none yet) is in the negotiated version, so the
   * Initial keys switch now, before the ServerHello is queued; spec: rfc9369#4.1/7 — the original
   * version's Initial read keys are kept until a Handshake packet is processed (discard_space) */
  vq_space *s = &c->sp[VQ_SPACE_INITIAL];
  vq_pp_key_discard(&c->initial_rx_orig);
  c->initial_rx_orig = s->rx;
  vq_pp_key_init(&s->rx);
  uint32_t old = c->version;
  c->version = pick;
  uint8_t buf[512];
  size_t used = 0;
  vq_status st = reinstall_initial(c);
  if (st == VQ_OK) {
    /* our version_information names the negotiated version (rfc9368#4/18): local_tp is rebuilt;
     * spec: rfc9369#4.1/4 — after a Retry it still carries retry_source_connection_id and
     * original_destination_connection_id (local_tp keeps them) */
    st = vq_conn_local_tp(c, buf, sizeof(buf), &used);
  }
  if (st == VQ_OK)
    st = vq_tls_set_local_tp(c->tls, buf, used);
  if (st != VQ_OK) {
    /* stay in the original version: its Initial keys come back */
    c->version = old;
    vq_pp_key_discard(&s->rx);
    s->rx = c->initial_rx_orig;
    vq_pp_key_init(&c->initial_rx_orig);
    vq_pp_key_discard(&s->tx);
    (void)reinstall_initial(c);
    return;
  }
  /* spec: rfc9369#5/2 — tickets issued on this connection belong to the negotiated version */
  vq_tls_set_quic_version(c->tls, pick);
}

vq_status vq_conn_version_check_tp(vq_conn *c, const vq_cx *cx)
{
  const vq_tp *p = &c->peer_tp;
  int has = vq_tp_has(p, VQ_TP_VERSION_INFORMATION) != 0;
  const vq_tp_version_info *vi = &p->version_information;
  const char *why = NULL;
  if (c->is_server) {
    /* spec: rfc9368#4/11 — a server may complete the handshake without it; spec: rfc9368#4/8,
     * rfc9368#4/9, rfc9368#4/10 — the client's Chosen Version is the version of the long headers
     * that carried its transport parameters (its first flight: the original version) */
    if (has && vi->chosen != c->orig_version)
      why = "version_information: the client's chosen version is not the one it used";
  } else if (!has) {
    /* spec: rfc9368#4/12, rfc9368#4/14 — missing after a Version Negotiation: a downgrade may be
     * hidden, the handshake must not complete */
    if (c->vn_reacted)
      why = "version_information missing after Version Negotiation";
  } else if (vi->chosen != c->version) {
    /* spec: rfc9368#4/18 — the server's Chosen Version is the version of its long headers */
    why = "version_information: the server's chosen version is not the one in use";
  } else if (!listed(c->avail, c->n_avail, vi->chosen)) {
    /* spec: rfc9368#4/13 — it must be one we sent in our Available Versions */
    why = "version_information: the server chose a version we did not offer";
  } else if (c->vn_reacted) {
    /* spec: rfc9368#4/15, rfc9368#4/16, rfc9368#4/17 — after a Version Negotiation, the version we
     * would have chosen from the server's Available Versions must be the one we chose: otherwise
     * the Version Negotiation packet was forged (downgrade); spec: rfc8999#7/1 — so the content
     * of the Version Negotiation that made us try another version is authenticated by the TLS
     * handshake that carries version_information */
    uint32_t would = 0;
    for (size_t i = 0; i < c->n_avail && !would; i++)
      if (listed(vi->available, vi->n_available, c->avail[i]))
        would = c->avail[i];
    if (would != c->version)
      why = "version downgrade: the server's available versions contradict its Version Negotiation";
  }
  if (!why)
    return VQ_OK;
  vq_cx_trace(cx, "version_negotiation_error", "%s", why);
  vq_conn_close_code(c, cx, VQ_TE_VERSION_NEGOTIATION_ERROR, why);
  return VQ_ERR_TP_VALUE;
}

/* Ends the attempt without sending anything: no version in common (RFC 9000 §6.2). */
static void abandon(vq_conn *c, const vq_cx *cx)
{
  for (int i = 0; i < VQ_SPACE_COUNT; i++)
    vq_conn_discard_space(c, cx, i);
  c->state = VQ_CONN_CLOSED;
  c->close_app = 0;
  c->closed_by_peer = 0;
  c->close_code = VQ_TE_VERSION_NEGOTIATION_ERROR;
  strcpy(c->close_reason, "version negotiation: no version in common with the server");
  c->close_deadline = VQ_TIME_NEVER;
  vq_conn_push_event(c, VQ_CONN_EV_CLOSED, 0, VQ_TE_VERSION_NEGOTIATION_ERROR);
  vq_cx_trace(cx, "connection_closed", "%s", c->close_reason);
}

/* A new connection attempt in `version` (RFC 9368 §2.1): new Destination CID, Initial keys and
 * ClientHello; what was sent in the first attempt is forgotten. */
static vq_status restart(vq_conn *c, const vq_cx *cx, uint32_t version)
{
  /* spec: rfc9001#4.6.2/4 — 0-RTT of the abandoned attempt is forgotten, then offered again by the
   * new one (vq_conn_early_forget) when its session is of the new version (rfc9369#5/1); spec:
   * rfc9368#6/2 — the new attempt starts a new TLS handshake: ALPN is negotiated afresh, with
   * nothing of the original version */
  const int had_early = c->early_state != VQ_EARLY_NONE;
  vq_conn_early_forget(c, cx);
  vq_recovery_state rs;
  vq_conn_recovery_state(c, &rs);
  vq_recovery_discard_space(&c->rec, VQ_SPACE_INITIAL, &rs, cx->now,
                            &(vq_recovery_cb){vq_conn_on_packet_fate, c});
  for (int i = 0; i < VQ_SPACE_COUNT; i++) {
    vq_space *x = &c->sp[i];
    vq_sendbuf_free(&x->crypto_tx);
    vq_sendbuf_init(&x->crypto_tx, &c->mem, VQ_CRYPTO_WINDOW * 2);
    x->probes = 0;
  }
  vq_tls_free(c->tls);
  c->tls = NULL;
  c->version = version;
  c->orig_version = version;
  if (c->token_len && c->token_version != version) {
    /* spec: rfc9369#5/1 — the NEW_TOKEN token belongs to the abandoned attempt's version: the new
     * attempt does not offer it */
    c->token_len = 0;
    c->stats.token_sent = 0;
  }
  c->vn_reacted = 1;
  uint8_t b[VQ_CID_MAX_LEN];
  size_t n = 8 > c->cfg.cid_len ? 8 : c->cfg.cid_len;
  if (!cx->rng)
    return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#7.2/1 — a new unpredictable first Destination CID for the new attempt */
  vq_rng_fill(cx->rng, b, n);
  vq_status st = vq_cid_set(&c->dcid, b, n);
  if (st == VQ_OK) {
    c->odcid = c->dcid;
    st = vq_conn_install_initial(c, &c->odcid);
  }
  if (st == VQ_OK)
    st = vq_conn_start_tls(c, cx);
  if (st == VQ_OK && had_early && c->early_state == VQ_EARLY_NONE) {
    /* not offered again: the streams' data waits for 1-RTT as after a rejection */
    c->early_state = VQ_EARLY_REJECTED;
    vq_conn_push_event(c, VQ_CONN_EV_EARLY_DATA, 0, 0);
  }
  if (st == VQ_OK)
    st = vq_conn_pump_tls(c, cx);
  return st;
}

void vq_conn_on_version_negotiation(vq_conn *c, const vq_cx *cx, const uint8_t *pkt, size_t len,
                                    const vq_pkt_header *h)
{
  const char *why = NULL;
  if (c->is_server)
    why = "server"; /* spec: rfc9368#2.1/6 — servers ignore Version Negotiation packets */
  else if (c->have_peer_scid || c->retry_received || c->stats.pkts_recv > 0)
    /* spec: rfc9000#6.2/2 — after any other packet was processed, it is discarded */
    why = "after another packet";
  else if (c->vn_reacted)
    /* spec: rfc9368#4/2 — an attempt made after a Version Negotiation ignores later ones */
    why = "already reacted";
  else if (h->dcid_len != c->scid.len || memcmp(pkt + h->dcid_off, c->scid.bytes, c->scid.len) != 0 ||
           h->scid_len != c->dcid.len || memcmp(pkt + h->scid_off, c->dcid.bytes, c->dcid.len) != 0)
    /* spec: rfc9000#17.2.1/4, rfc9000#17.2.1/5 — the server echoes our CIDs swapped: one that does
     * not was not sent in answer to our Initial */
    why = "connection IDs not echoed";
  uint32_t pick = 0;
  for (size_t i = 0; !why && i < h->versions_count; i++) {
    uint32_t v = 0;
    if (vq_packet_vn_version(pkt, len, h, i, &v) != VQ_OK)
      why = "malformed";
    else if (v == c->version)
      /* spec: rfc9000#6.2/3, rfc9368#4/1 — it lists the version we chose: discarded */
      why = "lists our version";
  }
  /* spec: rfc9368#2.1/3, rfc9368#2.1/5 — the first version of our list that the server lists */
  for (size_t j = 0; !why && j < c->n_avail && !pick; j++)
    for (size_t i = 0; i < h->versions_count && !pick; i++) {
      uint32_t v = 0;
      if (vq_packet_vn_version(pkt, len, h, i, &v) == VQ_OK && v == c->avail[j] &&
          vq_version_supported(v))
        pick = v;
    }
  if (why) {
    c->stats.pkts_dropped++;
    vq_cx_trace(cx, "packet_dropped", "version_negotiation reason=%s", why);
    return;
  }
  if (!pick) {
    /* spec: rfc9000#6.2/1, rfc9368#2.1/4 — no version in common: the attempt is abandoned */
    abandon(c, cx);
    return;
  }
  vq_cx_trace(cx, "version_negotiation", "restart version=0x%08x", (unsigned)pick);
  vq_status st = restart(c, cx, pick);
  if (st != VQ_OK) {
    vq_cx_trace(cx, "version_negotiation", "restart failed status=%d", (int)st);
    abandon(c, cx);
  }
}

vq_pp_key *vq_conn_version_rx_key(vq_conn *c, const vq_pkt_header *h, int space, vq_pp_key *alt,
                                  int *follow)
{
  *follow = 0;
  /* spec: rfc9369#4.1/9 — Handshake (and 0-RTT / 1-RTT) packets of another version are dropped */
  if (space != VQ_SPACE_INITIAL || h->type != VQ_PKT_INITIAL)
    return NULL;
  if (c->is_server) {
    /* the client's Initials of the original version until it follows (rfc9369#4.1/7) */
    if (h->version == c->orig_version && c->initial_rx_orig.installed)
      return &c->initial_rx_orig;
    return NULL;
  }
  /* spec: rfc9369#4.1 — the client learns the negotiated version from the first long header of
   * another version; a CRYPTO frame in the original version settled it (have_peer_scid); spec:
   * rfc9369#4.1/2 — only a server Initial switches it, so the Initial carrying a Retry token stays
   * in the original version */
  if (c->have_peer_scid || c->version != c->orig_version || !listed(c->avail, c->n_avail, h->version) ||
      !compatible(c->version, h->version))
    return NULL;
  vq_pp_key cl;
  vq_pp_key_init(&cl);
  vq_pp_key_init(alt);
  if (vq_pp_key_install_initial(&cl, alt, h->version, c->initial_dcid.bytes, c->initial_dcid.len) !=
      VQ_OK) {
    vq_pp_key_discard(alt);
    return NULL;
  }
  vq_pp_key_discard(&cl);
  *follow = 1;
  return alt;
}

vq_status vq_conn_version_follow(vq_conn *c, const vq_cx *cx, uint32_t version, vq_pp_key *alt)
{
  /* spec: rfc9369#4.1/6 — our later Initials use the negotiated version; spec: rfc9369#4.1/8 —
   * Handshake and 1-RTT too (install_secrets uses c->version) */
  vq_space *s = &c->sp[VQ_SPACE_INITIAL];
  uint32_t old = c->version;
  c->version = version;
  vq_status st = reinstall_initial(c); /* the tx keys; rx is replaced below */
  if (st != VQ_OK) {
    c->version = old;
    return st;
  }
  vq_pp_key_discard(&s->rx);
  s->rx = *alt;
  vq_pp_key_init(alt);
  /* spec: rfc9369#5/1 — a session received on this connection belongs to the negotiated version */
  vq_tls_set_quic_version(c->tls, version);
  vq_cx_trace(cx, "version_negotiation", "compatible version=0x%08x", (unsigned)version);
  return VQ_OK;
}
