/* Eva entry point for src/core/cid.c: every function on unknown contents, CID lengths 0..21 (the
 * first invalid one included), datagrams of every length 0..40, with and without a short header. */
#include "__fc_builtin.h"
#include "vquic/cid.h"

void eva_main(void)
{
  uint8_t src[21];
  uint8_t dg[40];
  uint8_t tok[16];
  vq_cid a, b;
  for (size_t i = 0; i < VQ_CID_MAX_LEN; i++) a.bytes[i] = b.bytes[i] = 0; /* callers zero-init */

  for (size_t i = 0; i < sizeof src; i++) src[i] = Frama_C_unsigned_char_interval(0, 255);
  for (size_t i = 0; i < sizeof dg; i++) dg[i] = Frama_C_unsigned_char_interval(0, 255);
  for (size_t i = 0; i < sizeof tok; i++) tok[i] = Frama_C_unsigned_char_interval(0, 255);

  size_t la = Frama_C_size_t_interval(0, 21);
  size_t lb = Frama_C_size_t_interval(0, 20);
  (void)vq_cid_set(&a, src, 0);
  (void)vq_cid_set(&b, src, 0);
  (void)vq_cid_set(&a, src, la);
  (void)vq_cid_set(&b, src + 1, lb);
  a.len = Frama_C_unsigned_char_interval(0, 255); /* a caller-built value, possibly invalid */
  (void)vq_cid_equal(&a, &b);
  (void)vq_cid_equal(&b, &b);

  (void)vq_reset_token_equal(tok, dg);
  size_t len = Frama_C_size_t_interval(0, sizeof dg);
  (void)vq_stateless_reset_candidate(dg, len);
  (void)vq_stateless_reset_match(dg, len, tok);
}
