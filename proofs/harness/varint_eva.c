/* Eva entry point for src/core/varint.c: every function on buffers of unknown contents and every
 * length from 0 to past the longest encoding, values over the whole uint64 range. */
#include "__fc_builtin.h"
#include "vquic/varint.h"

void eva_main(void)
{
  uint8_t in[9];
  uint8_t out[9];
  uint64_t v;
  size_t used;

  for (size_t i = 0; i < sizeof in; i++) in[i] = Frama_C_unsigned_char_interval(0, 255);
  size_t len = Frama_C_size_t_interval(0, sizeof in);
  (void)vq_varint_decode(in, len, &v, &used);
  (void)vq_varint_len_of_first(in[0]);

  uint64_t x = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  (void)vq_varint_len(x);
  size_t cap = Frama_C_size_t_interval(0, sizeof out);
  (void)vq_varint_encode(out, cap, x, &used);
  size_t n = Frama_C_size_t_interval(0, 9);
  (void)vq_varint_encode_n(out, cap, x, n);
}
