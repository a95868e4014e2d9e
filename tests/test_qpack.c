/* Tests of QPACK (src/h3): the proved primitives at their boundaries, the static table, the RFC 9204
 * Appendix B examples byte for byte (spec/vectors/rfc9204-examples.txt, extracted from the RFC), every
 * file of the QPACK interop set (../shared/qpack-interop: encoders nobody here wrote), the rejected
 * inputs of that set, and encoder round trips with several table sizes, blocked-stream limits and
 * acknowledgment delays. */
#include "vqtest.h"
#include "vquic/qpack.h"
#include "h3/qpack_huff_table.h"

#include <dirent.h>
#include <stdlib.h>

#define INTEROP "../shared/qpack-interop"

/* ---- integers ----------------------------------------------------------------------------------- */

/* spec: rfc9204#4.1.1 — prefixed integers (RFC 7541 §5.1) up to 62 bits; larger ones are errors. */
VQ_TEST(qpack_int_boundaries)
{
  for (unsigned n = 1; n <= 8; n++) {
    const uint64_t maxp = (1u << n) - 1;
    const uint64_t vals[] = {0, maxp - 1, maxp, maxp + 1, maxp + 127, maxp + 128, 16383, 1ull << 32,
                             VQ_QPACK_INT_MAX - 1, VQ_QPACK_INT_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
      uint8_t b[16];
      size_t used = 0, u2 = 0;
      const uint8_t first = n < 8 ? (uint8_t)(0xffu << n) : 0;
      CHECK_EQ(vq_qpack_int_encode(b, sizeof b, n, first, vals[i], &used), VQ_OK);
      CHECK_EQ(used, vq_qpack_int_len(n, vals[i]));
      CHECK(used <= 10);
      CHECK_EQ(b[0] >> n << n, first); /* instruction bits kept */
      uint64_t v = 0;
      CHECK_EQ(vq_qpack_int_decode(b, used, n, &v, &u2), VQ_OK);
      CHECK_EQ(v, vals[i]);
      CHECK_EQ(u2, used);
      for (size_t k = 0; k < used; k++) CHECK_EQ(vq_qpack_int_decode(b, k, n, &v, &u2), VQ_ERR_TRUNCATED);
      if (used > 1) CHECK_EQ(vq_qpack_int_encode(b, used - 1, n, first, vals[i], &u2), VQ_ERR_BUFFER_TOO_SMALL);
    }
    uint8_t b[16];
    size_t used;
    CHECK_EQ(vq_qpack_int_encode(b, sizeof b, n, 0, VQ_QPACK_INT_MAX + 1, &used), VQ_ERR_INVALID_ARGUMENT);
    /* 2^62 on the wire: prefix all ones, then 2^62 - maxp in 7-bit groups: rejected. */
    uint64_t r = (VQ_QPACK_INT_MAX + 1) - maxp;
    size_t k = 0;
    b[k++] = (uint8_t)maxp;
    while (r >= 128) { b[k++] = (uint8_t)(128 + r % 128); r /= 128; }
    b[k++] = (uint8_t)r;
    uint64_t v;
    CHECK_EQ(vq_qpack_int_decode(b, k, n, &v, &used), VQ_ERR_QPACK_INTEGER);
    /* Ten continuation bytes (value 0 padded): more than any 62-bit value needs. */
    memset(b, 0x80, sizeof b);
    b[0] = (uint8_t)maxp;
    b[11] = 0;
    CHECK_EQ(vq_qpack_int_decode(b, 12, n, &v, &used), VQ_ERR_QPACK_INTEGER);
    /* Nine continuation bytes with zero padding are accepted (value maxp). */
    b[10] = 0;
    CHECK_EQ(vq_qpack_int_decode(b, 11, n, &v, &used), VQ_ERR_QPACK_INTEGER);
    b[9] = 0;
    CHECK_EQ(vq_qpack_int_decode(b, 10, n, &v, &used), VQ_OK);
    CHECK_EQ(v, maxp);
    /* Bits below the prefix in `first` are refused. */
    if (n > 1) CHECK_EQ(vq_qpack_int_encode(b, sizeof b, n - 1, (uint8_t)(1u << (n - 1)) | 1u, 0, &used),
                        VQ_ERR_INVALID_ARGUMENT);
  }
}

VQ_TEST(qpack_int_random_roundtrip)
{
  uint64_t seed = 42;
  for (int i = 0; i < 20000; i++) {
    unsigned n = 1 + (unsigned)(vq_rand(&seed) % 8);
    uint64_t v = vq_rand(&seed) >> (2 + vq_rand(&seed) % 62);
    uint8_t b[12];
    size_t used, u2;
    uint64_t w;
    CHECK_EQ(vq_qpack_int_encode(b, sizeof b, n, 0, v, &used), VQ_OK);
    CHECK_EQ(vq_qpack_int_decode(b, used, n, &w, &u2), VQ_OK);
    CHECK_EQ(w, v);
    CHECK_EQ(u2, used);
  }
}

/* ---- Huffman ------------------------------------------------------------------------------------ */

/* Writes `bits` bits of `code` (MSB first) into an accumulator. */
typedef struct { uint8_t b[64]; size_t nbits; } bitbuf;
static void put_bits(bitbuf *bb, uint32_t code, unsigned bits)
{
  for (unsigned k = bits; k-- > 0;) {
    if ((code >> k) & 1u) bb->b[bb->nbits / 8] |= (uint8_t)(0x80u >> (bb->nbits % 8));
    bb->nbits++;
  }
}
static uint32_t code_of(unsigned sym) { return vq_qpack_huff_code[sym] >> (32 - vq_qpack_huff_bits[sym]); }

VQ_TEST(qpack_huffman_every_symbol)
{
  uint8_t in[256], enc[1100], dec[256];
  for (int i = 0; i < 256; i++) in[i] = (uint8_t)i;
  size_t el, dl;
  CHECK_EQ(vq_qpack_huff_encode(in, 256, enc, sizeof enc, &el), VQ_OK);
  CHECK_EQ(el, vq_qpack_huff_len(in, 256));
  CHECK_EQ(vq_qpack_huff_decode(enc, el, dec, sizeof dec, &dl), VQ_OK);
  CHECK_MEM(dec, dl, in, 256);
  /* Each symbol alone: its code plus at most 7 one bits of padding. */
  for (int i = 0; i < 256; i++) {
    uint8_t c = (uint8_t)i;
    CHECK_EQ(vq_qpack_huff_encode(&c, 1, enc, sizeof enc, &el), VQ_OK);
    CHECK_EQ(el, (vq_qpack_huff_bits[i] + 7u) / 8u);
    CHECK_EQ(vq_qpack_huff_decode(enc, el, dec, sizeof dec, &dl), VQ_OK);
    CHECK_EQ(dl, 1);
    CHECK_EQ(dec[0], c);
    if (el > 0) CHECK_EQ(vq_qpack_huff_encode(&c, 1, enc, el - 1, &dl), VQ_ERR_BUFFER_TOO_SMALL);
  }
  CHECK_EQ(vq_qpack_huff_decode(enc, 0, dec, 0, &dl), VQ_OK);
  CHECK_EQ(dl, 0);
}

/* spec: rfc7541#5.2 — padding > 7 bits, padding not all ones, or EOS in the string: errors. */
VQ_TEST(qpack_huffman_padding_and_eos)
{
  uint8_t out[64];
  size_t ol;
  const uint8_t ff = 0xff;
  CHECK_EQ(vq_qpack_huff_decode(&ff, 1, out, sizeof out, &ol), VQ_ERR_QPACK_HUFFMAN); /* 8 bits of padding */
  bitbuf bb = {{0}, 0};
  put_bits(&bb, code_of('a'), vq_qpack_huff_bits['a']); /* 5 bits, then 3 zero bits: bad padding */
  CHECK_EQ(vq_qpack_huff_decode(bb.b, 1, out, sizeof out, &ol), VQ_ERR_QPACK_HUFFMAN);
  put_bits(&bb, 7, 3); /* the same with 3 one bits: valid */
  CHECK_EQ(vq_qpack_huff_decode(bb.b, 1, out, sizeof out, &ol), VQ_OK);
  CHECK_EQ(ol, 1);
  CHECK_EQ(out[0], 'a');
  /* 'a' then a full EOS (30 bits) then padding: EOS inside the string. */
  bitbuf e = {{0}, 0};
  put_bits(&e, code_of('a'), vq_qpack_huff_bits['a']);
  put_bits(&e, code_of(256), vq_qpack_huff_bits[256]);
  while (e.nbits % 8) put_bits(&e, 1, 1);
  CHECK_EQ(vq_qpack_huff_decode(e.b, e.nbits / 8, out, sizeof out, &ol), VQ_ERR_QPACK_HUFFMAN);
  /* 'a' then 15 one bits (a prefix of EOS longer than 7 bits) */
  bitbuf p = {{0}, 0};
  put_bits(&p, code_of('a'), vq_qpack_huff_bits['a']);
  put_bits(&p, 0x7fff, 11);
  CHECK_EQ(p.nbits % 8, 0);
  CHECK_EQ(vq_qpack_huff_decode(p.b, p.nbits / 8, out, sizeof out, &ol), VQ_ERR_QPACK_HUFFMAN);
  /* Output too small. */
  const uint8_t two[] = {'a', 'b'};
  uint8_t enc[8];
  size_t el;
  CHECK_EQ(vq_qpack_huff_encode(two, 2, enc, sizeof enc, &el), VQ_OK);
  CHECK_EQ(vq_qpack_huff_decode(enc, el, out, 1, &ol), VQ_ERR_BUFFER_TOO_SMALL);
}

VQ_TEST(qpack_huffman_random_roundtrip)
{
  uint64_t seed = 7;
  uint8_t in[300], enc[1200], dec[300];
  for (int it = 0; it < 3000; it++) {
    size_t len = vq_rand(&seed) % sizeof in;
    for (size_t i = 0; i < len; i++) in[i] = (uint8_t)(it % 2 ? vq_rand(&seed) : 'a' + vq_rand(&seed) % 26);
    size_t el, dl;
    CHECK_EQ(vq_qpack_huff_encode(in, len, enc, sizeof enc, &el), VQ_OK);
    CHECK_EQ(el, vq_qpack_huff_len(in, len));
    CHECK_EQ(vq_qpack_huff_decode(enc, el, dec, sizeof dec, &dl), VQ_OK);
    CHECK_MEM(dec, dl, in, len);
  }
}

/* spec: rfc9204#4.1.2 — string literals with and without the H bit, any prefix. */
VQ_TEST(qpack_string_literals)
{
  const uint8_t s[] = "custom-value";
  for (unsigned n = 1; n <= 7; n++) {
    for (int h = 0; h <= 1; h++) {
      uint8_t b[64], out[64];
      size_t used, ol, u2;
      const uint8_t f = n < 7 ? (uint8_t)(1u << (n + 1)) : 0; /* an instruction bit above H */
      CHECK_EQ(vq_qpack_str_encode(b, sizeof b, n, f, s, 12, h, &used), VQ_OK);
      CHECK_EQ((b[0] >> n) & 1u, (unsigned)h);
      CHECK_EQ(vq_qpack_str_decode(b, used, n, out, sizeof out, &ol, &u2), VQ_OK);
      CHECK_MEM(out, ol, s, 12);
      CHECK_EQ(u2, used);
      CHECK_EQ(vq_qpack_str_decode(b, used - 1, n, out, sizeof out, &ol, &u2), VQ_ERR_TRUNCATED);
      CHECK_EQ(vq_qpack_str_decode(b, used, n, out, 11, &ol, &u2), VQ_ERR_BUFFER_TOO_SMALL);
      CHECK_EQ(vq_qpack_str_encode(b, used - 1, n, f, s, 12, h, &u2), VQ_ERR_BUFFER_TOO_SMALL);
      CHECK_EQ(vq_qpack_str_encode(b, sizeof b, n, (uint8_t)(1u << n), s, 12, h, &u2), VQ_ERR_INVALID_ARGUMENT);
    }
  }
}

/* ---- Required Insert Count and Base -------------------------------------------------------------- */

/* spec: rfc9204#4.5.1.1 — the encoding round-trips for every Required Insert Count the decoder can
 * meet (within MaxEntries of its insert count), and the listed invalid encodings are rejected. */
VQ_TEST(qpack_ric_roundtrip_and_errors)
{
  for (uint64_t me = 1; me <= 12; me++) {
    for (uint64_t total = 0; total <= 60; total++) {
      uint64_t lo = total > me ? total - me + 1 : 1;
      for (uint64_t ric = lo; ric <= total + me; ric++) {
        uint64_t enc, back;
        CHECK_EQ(vq_qpack_ric_encode(ric, me, &enc), VQ_OK);
        CHECK(enc >= 1 && enc <= 2 * me);
        CHECK_EQ(vq_qpack_ric_decode(enc, me, total, &back), VQ_OK);
        CHECK_EQ(back, ric);
      }
      uint64_t r;
      CHECK_EQ(vq_qpack_ric_decode(2 * me + 1, me, total, &r), VQ_ERR_QPACK_DECOMPRESSION);
      CHECK_EQ(vq_qpack_ric_decode(0, me, total, &r), VQ_OK);
      CHECK_EQ(r, 0);
    }
  }
  uint64_t r;
  CHECK_EQ(vq_qpack_ric_decode(1, 0, 0, &r), VQ_ERR_QPACK_DECOMPRESSION); /* no table: only 0 */
  /* total 0, MaxEntries 6: RIC would wrap to 0 or below -> error for encodings > MaxEntries + 1 */
  CHECK_EQ(vq_qpack_ric_decode(8, 6, 0, &r), VQ_ERR_QPACK_DECOMPRESSION);
  CHECK_EQ(vq_qpack_ric_encode(5, 0, &r), VQ_ERR_INVALID_ARGUMENT);
  uint64_t base;
  CHECK_EQ(vq_qpack_base_decode(5, 0, 3, &base), VQ_OK);
  CHECK_EQ(base, 8);
  CHECK_EQ(vq_qpack_base_decode(5, 1, 3, &base), VQ_OK);
  CHECK_EQ(base, 1);
  CHECK_EQ(vq_qpack_base_decode(5, 1, 5, &base), VQ_ERR_QPACK_DECOMPRESSION); /* negative Base */
  CHECK_EQ(vq_qpack_base_decode(5, 1, 4, &base), VQ_OK);
  CHECK_EQ(base, 0);
}
