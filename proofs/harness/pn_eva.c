/* Eva entry point for src/core/pn.c: every function over the whole uint64 range of packet numbers,
 * including VQ_PN_NONE, every length 0..5 and buffers of unknown contents of every size 0..4. */
#include "__fc_builtin.h"
#include "vquic/pn.h"

void eva_main(void)
{
  uint8_t in[4];
  uint8_t out[4];
  uint64_t v = 0;

  uint64_t full = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  uint64_t acked = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  (void)vq_pn_encode_len(full, acked);
  (void)vq_pn_encode_len(full, VQ_PN_NONE);

  size_t n = Frama_C_size_t_interval(0, 5);
  size_t cap = Frama_C_size_t_interval(0, sizeof out);
  (void)vq_pn_write(out, cap, full, n);

  for (size_t i = 0; i < sizeof in; i++) in[i] = Frama_C_unsigned_char_interval(0, 255);
  size_t len = Frama_C_size_t_interval(0, sizeof in);
  (void)vq_pn_read(in, len, n, &v);

  uint64_t trunc = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  (void)vq_pn_decode(acked, trunc, n, &v);
  (void)vq_pn_decode(VQ_PN_NONE, trunc, n, &v);
}
