/* Eva entry point for src/h3/qpack_prim.c: every function on buffers of unknown contents and unknown
 * lengths (0 to a few bytes past the longest integer), each prefix size in turn (strings: 3 and 7), instruction bits of
 * unknown value (valid or not), small output capacities so that every "does not fit" path is reached,
 * values over the whole uint64 range; the Required Insert Count and Base arithmetic for table sizes
 * from none to the largest we support and every encoded value. */
#include "__fc_builtin.h"
#include "vquic/qpack.h"

#define IN_MAX 12
#define OUT_MAX 16

static void prim_n(const uint8_t *in, size_t len, unsigned n)
{
  uint8_t out[OUT_MAX];
  uint64_t v;
  size_t used, olen;
  size_t cap = Frama_C_size_t_interval(0, OUT_MAX);
  uint8_t first = Frama_C_unsigned_char_interval(0, 255);
  uint64_t x = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  (void)vq_qpack_int_decode(in, len, n, &v, &used);
  (void)vq_qpack_int_len(n, x);
  (void)vq_qpack_int_encode(out, cap, n, first, x, &used);
  /* The string functions differ by n only through prefix_max (reached above for every n): two
   * prefix sizes, the smallest used by QPACK strings and the largest, keep Eva's time reasonable. */
  if (n == 3 || n == 7) {
    int huff = Frama_C_int_interval(0, 1);
    (void)vq_qpack_str_decode(in, len, n, out, cap, &olen, &used);
    (void)vq_qpack_str_encode(out, cap, n, first, in, len, huff, &used);
  }
}

static void ric_ctx(uint64_t max_entries)
{
  uint64_t enc = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  uint64_t tot = Frama_C_unsigned_long_long_interval(0, 4611686018427387903ull);
  uint64_t ric;
  (void)vq_qpack_ric_decode(enc, max_entries, tot, &ric);
}

static void base_ctx(uint64_t ric)
{
  uint64_t delta = Frama_C_unsigned_long_long_interval(0, 4611686018427387903ull);
  uint64_t base;
  (void)vq_qpack_base_decode(ric, Frama_C_int_interval(0, 1), delta, &base);
}

void eva_main(void)
{
  uint8_t in[IN_MAX];
  uint8_t out[OUT_MAX];
  size_t olen;

  for (size_t i = 0; i < sizeof in; i++) in[i] = Frama_C_unsigned_char_interval(0, 255);
  size_t len = Frama_C_size_t_interval(0, sizeof in);
  size_t cap = Frama_C_size_t_interval(0, sizeof out);

  /*@ loop unroll 8; */
  for (unsigned n = 1; n <= 8; n++) prim_n(in, len, n);

  (void)vq_qpack_huff_decode(in, len, out, cap, &olen);
  (void)vq_qpack_huff_len(in, len);
  (void)vq_qpack_huff_encode(in, len, out, cap, &olen);

  ric_ctx(0);
  ric_ctx(1);
  ric_ctx(3);
  ric_ctx(128);
  ric_ctx(134217728);
  uint64_t x = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  uint64_t me = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  uint64_t enc;
  (void)vq_qpack_ric_encode(x, me, &enc);

  base_ctx(0);
  base_ctx(1);
  base_ctx(100);
  base_ctx(4611686018427387903ull);
}
