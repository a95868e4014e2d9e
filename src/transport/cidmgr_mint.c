/* vquic — issuing fresh connection IDs for the CID manager: random bytes from cx->rng (or the
 * endpoint's minter, a callback) and a stateless reset token from a callback. A thin wrapper over the proved bookkeeping of cidmgr.c (it
 * draws randomness and calls through a function pointer, which the proved file does not). */
#include "vquic/cidmgr.h"
#include "vquic/token.h"

vq_status vq_cidmgr_token_from_key(void *ud, const vq_cid *cid, uint8_t token[VQ_RESET_TOKEN_LEN])
{
  if (!ud) return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#10.3.2 — the token is derived from a static key and the CID. */
  return vq_stateless_reset_token((const uint8_t *)ud, cid, token);
}

vq_status vq_cidmgr_local_replenish(vq_cidmgr *m, const vq_cx *cx, size_t cid_len,
                                    vq_cidmgr_token_fn token_fn, void *token_ud, vq_cid *added,
                                    uint32_t added_cap, uint32_t *n_added)
{
  return vq_cidmgr_local_replenish_mint(m, cx, cid_len, NULL, NULL, token_fn, token_ud, added,
                                        added_cap, n_added);
}

/* spec: rfc9000#5.1.1/3, rfc9000#5.1.1/7 — supply the peer with new CIDs up to its limit, also after
 * it retires one. spec: rfc9000#5.1/1 — the CIDs are random (or a keyed permutation of a counter,
 * indistinguishable from random without the key), so nothing correlates them. */
vq_status vq_cidmgr_local_replenish_mint(vq_cidmgr *m, const vq_cx *cx, size_t cid_len,
                                         vq_cidmgr_mint_fn mint_fn, void *mint_ud,
                                         vq_cidmgr_token_fn token_fn, void *token_ud, vq_cid *added,
                                         uint32_t added_cap, uint32_t *n_added)
{
  if (n_added) *n_added = 0;
  if (!m || !cx || !token_fn || cid_len < 1 || cid_len > VQ_CID_MAX_LEN) return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = vq_cx_checkpoint(cx);
  if (st != VQ_OK) return st;
  if (!mint_fn && !cx->rng) return VQ_ERR_INVALID_ARGUMENT;
  uint32_t want = vq_cidmgr_local_want(m);
  if (want > added_cap) want = added_cap;
  uint32_t n = 0;
  for (uint32_t k = 0; k < want; k++) {
    vq_cid c;
    uint8_t token[VQ_RESET_TOKEN_LEN];
    uint64_t seq;
    int tries = 0;
    /* spec: rfc9000#10.3.2 — a CID that collides with one of this connection's, or (token_fn
     * says VQ_ERR_CID_DUPLICATE) with one live elsewhere in the endpoint, is redrawn: the pair of
     * CID and static key serves one connection only. spec: rfc9000#10.3.2/3, rfc9000#10.3.2/4 —
     * with mint_fn (the endpoint's minter) no CID repeats one issued before, live or not; a minted
     * one that routes elsewhere (a client's chosen Initial DCID) is skipped, not reused later */
    do {
      if (mint_fn) {
        st = mint_fn(mint_ud, cid_len, &c);
        if (st != VQ_OK) goto out;
        if (c.len != cid_len) { st = VQ_ERR_INTERNAL; goto out; }
      } else {
        c.len = (uint8_t)cid_len;
        vq_rng_fill(cx->rng, c.bytes, cid_len);
      }
      st = token_fn(token_ud, &c, token);
      if (st == VQ_OK) st = vq_cidmgr_local_add(m, &c, token, &seq);
    } while (st == VQ_ERR_CID_DUPLICATE && ++tries < 8);
    if (st != VQ_OK) goto out;
    if (added) added[n] = c;
    n++;
    vq_cx_trace(cx, "cid_issued", "seq=%llu len=%u", (unsigned long long)seq, (unsigned)c.len);
  }
  st = VQ_OK;
out:
  if (n_added) *n_added = n;
  return st;
}
