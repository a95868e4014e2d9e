/* Tests of QPACK (src/h3): the proved primitives at their boundaries, the static table, the RFC 9204
 * Appendix B examples byte for byte (spec/vectors/rfc9204-examples.txt, extracted from the RFC), every
 * file of the QPACK interop set (qpack-interop of the shared material: encoders nobody here wrote), the rejected
 * inputs of that set, and encoder round trips with several table sizes, blocked-stream limits and
 * acknowledgment delays. */
#include "vqtest.h"
#include "vquic/qpack.h"
#include "h3/qpack_huff_table.h"

#include <dirent.h>
#include <stdlib.h>

/* The interop set: $VQ_SHARED_DIR/qpack-interop (the Makefile exports VQ_SHARED_DIR, found by
 * ci/find-shared.sh), else ../shared/qpack-interop relative to the repository root. */
static const char *shared_dir(void)
{
  const char *d = getenv("VQ_SHARED_DIR");
  return d && *d ? d : "../shared";
}
#define INTEROP "%s/qpack-interop"

/* ---- integers ----------------------------------------------------------------------------------- */

/* spec: rfc9204#4.1.1/1 — prefixed integers (RFC 7541 §5.1) up to 62 bits; larger ones are errors. */
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

/* spec: rfc9204#4.1.2 — (RFC 7541 §5.2) padding > 7 bits, padding not all ones, or EOS in the string: errors. */
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

/* spec: rfc9204#4.5.1.1/1 — the encoding round-trips for every Required Insert Count the decoder can
 * meet (within MaxEntries of its insert count), and the listed invalid encodings are rejected;
 * spec: rfc9204#4.5.1.2/1, rfc9204#4.5.1.2/2 — Base is never negative. */
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

/* ---- static table ------------------------------------------------------------------------------- */

VQ_TEST(qpack_static_table)
{
  const vq_qpack_static_entry *e = vq_qpack_static_get(0);
  CHECK(e && e->name_len == 10 && memcmp(e->name, ":authority", 10) == 0 && e->value_len == 0);
  e = vq_qpack_static_get(98);
  CHECK(e && memcmp(e->name, "x-frame-options", 15) == 0 && memcmp(e->value, "sameorigin", 10) == 0);
  CHECK(vq_qpack_static_get(99) == NULL);
  for (uint64_t i = 0; i < VQ_QPACK_STATIC_COUNT; i++) {
    e = vq_qpack_static_get(i);
    CHECK_EQ(strlen(e->name), e->name_len);
    CHECK_EQ(strlen(e->value), e->value_len);
    int ni = -2;
    int fi = vq_qpack_static_find((const uint8_t *)e->name, e->name_len, (const uint8_t *)e->value,
                                  e->value_len, &ni);
    CHECK_EQ(fi, (int)i); /* no exact duplicates in the table */
  }
  int ni = -2;
  CHECK_EQ(vq_qpack_static_find((const uint8_t *)":method", 7, (const uint8_t *)"PATCH", 5, &ni), -1);
  CHECK_EQ(ni, 15);
  CHECK_EQ(vq_qpack_static_find((const uint8_t *)"x-nope", 6, (const uint8_t *)"", 0, &ni), -1);
  CHECK_EQ(ni, -1);
  e = vq_qpack_static_get(52);
  CHECK(e->value_len == 24 && memcmp(e->value, "text/html; charset=utf-8", 24) == 0);
}

/* ---- helpers for decoders ----------------------------------------------------------------------- */

typedef struct {
  vq_qpack_decoder d;
  void *mem;
} tdec;

static int tdec_init(tdec *t, uint64_t cap, uint64_t blocked)
{
  size_t m = vq_qpack_decoder_mem(cap, blocked);
  t->mem = malloc(m ? m : 1);
  return vq_qpack_decoder_init(&t->d, t->mem, m, cap, blocked) == VQ_OK;
}

static int fields_eq(const vq_qpack_out *o, size_t i, const char *name, const char *value)
{
  return i < o->count && o->fields[i].name_len == strlen(name) &&
         memcmp(o->fields[i].name, name, strlen(name)) == 0 && o->fields[i].value_len == strlen(value) &&
         memcmp(o->fields[i].value, value, strlen(value)) == 0;
}

/* ---- RFC 9204 Appendix B ------------------------------------------------------------------------ */

/* spec: rfc9204#2.2/1 — field lines come out in the order of their representations.
 * spec: rfc9204#B — decode every chunk of the examples, check the decoded fields, and build
 * the decoder instructions and the encoder instructions byte for byte. */
VQ_TEST(qpack_rfc9204_appendix_b)
{
  char *text = vq_read_file("spec/vectors/rfc9204-examples.txt", NULL);
  CHECK(text != NULL);
  if (!text) return;
  tdec td;
  CHECK(tdec_init(&td, 220, 100));
  vq_qpack_field fl[16];
  uint8_t ob[1024];
  vq_qpack_out out = {fl, 16, 0, ob, sizeof ob, 0};
  int chunks = 0, fields_checked = 0;
  size_t field_i = 0;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (l[0] == '#') continue;
    char ex[8], stream[16], hex[256];
    if (sscanf(l, "%7s %15s %255s", ex, stream, hex) != 3) continue;
    if (strcmp(hex, "field") == 0) {
      char *nv = strstr(l, " field ") + 7;
      char *eq = strchr(nv, '=');
      *eq = 0;
      CHECK(fields_eq(&out, field_i, nv, eq + 1));
      field_i++;
      fields_checked++;
      continue;
    }
    uint8_t b[128];
    long bl = vq_hex(hex, b, sizeof b);
    CHECK(bl > 0);
    chunks++;
    if (strcmp(stream, "Encoder") == 0) {
      CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b, (size_t)bl), VQ_OK);
      /* Rebuild the same instruction(s) with the builders. */
      uint8_t r[128];
      size_t off = 0, u;
      while (off < (size_t)bl) {
        vq_qpack_enc_instr in;
        CHECK_EQ(vq_qpack_parse_encoder_instr(b + off, (size_t)bl - off, &in, &u), VQ_OK);
        size_t w = 0;
        switch (in.op) {
        case VQ_QPACK_SET_CAPACITY: CHECK_EQ(vq_qpack_build_set_capacity(r, sizeof r, in.index, &w), VQ_OK); break;
        case VQ_QPACK_INSERT_NAME_REF:
          CHECK_EQ(vq_qpack_build_insert_name_ref(r, sizeof r, in.is_static, in.index, in.value, in.value_len,
                                                  VQ_QPACK_HUFF_NEVER, &w), VQ_OK);
          break;
        case VQ_QPACK_INSERT_LITERAL:
          CHECK_EQ(vq_qpack_build_insert_literal(r, sizeof r, in.name, in.name_len, in.value, in.value_len,
                                                 VQ_QPACK_HUFF_NEVER, &w), VQ_OK);
          break;
        case VQ_QPACK_DUPLICATE: CHECK_EQ(vq_qpack_build_duplicate(r, sizeof r, in.index, &w), VQ_OK); break;
        }
        CHECK_MEM(r, w, b + off, u);
        off += u;
      }
    } else if (strcmp(stream, "Decoder") == 0) {
      uint8_t r[16];
      size_t w = 0;
      if (strcmp(ex, "B.2") == 0) CHECK_EQ(vq_qpack_decoder_build_acks(&td.d, 4, 2, r, sizeof r, &w), VQ_OK);
      else if (strcmp(ex, "B.3") == 0) CHECK_EQ(vq_qpack_decoder_build_acks(&td.d, 0, 0, r, sizeof r, &w), VQ_OK);
      else CHECK_EQ(vq_qpack_build_stream_cancel(r, sizeof r, 8, &w), VQ_OK);
      CHECK_MEM(r, w, b, (size_t)bl);
    } else {
      uint64_t sid = strtoull(stream, NULL, 10), until = 0, ric = 0;
      if (strcmp(ex, "B.4") == 0) {
        /* In B.4 the section may arrive before the Duplicate: try it on a decoder that lacks it. */
        tdec t2;
        CHECK(tdec_init(&t2, 220, 1));
        CHECK_EQ(vq_qpack_decode_section(&t2.d, sid, b, (size_t)bl, &out, &until, &ric), VQ_ERR_QPACK_BLOCKED);
        CHECK_EQ(until, 4);
        CHECK_EQ(vq_qpack_decode_section(&t2.d, sid + 4, b, (size_t)bl, &out, &until, &ric),
                 VQ_ERR_QPACK_DECOMPRESSION); /* a second blocked stream exceeds the limit of 1 */
        free(t2.mem);
      }
      CHECK_EQ(vq_qpack_decode_section(&td.d, sid, b, (size_t)bl, &out, &until, &ric), VQ_OK);
      field_i = 0;
    }
  }
  CHECK_EQ(chunks, 10);
  CHECK_EQ(fields_checked, 6);
  /* B.5: the insert evicted absolute index 0; the table holds 1..4, size 215. */
  CHECK_EQ(td.d.table.inserts, 5);
  CHECK_EQ(td.d.table.dropped, 1);
  CHECK_EQ(td.d.table.size, 215);
  const uint8_t *n, *v;
  size_t nl, vl;
  CHECK_EQ(vq_qpack_dtable_get(&td.d.table, 4, &n, &nl, &v, &vl), VQ_OK);
  CHECK_MEM(v, vl, "custom-value2", 13);
  CHECK_EQ(vq_qpack_dtable_get(&td.d.table, 0, &n, &nl, &v, &vl), VQ_ERR_QPACK_DECOMPRESSION);
  free(td.mem);
  free(text);
}

/* ---- interop files ------------------------------------------------------------------------------ */

typedef struct {
  char *text;            /* owned */
  vq_qpack_field *f;     /* all fields */
  size_t nf;
  size_t *block_start;   /* index of each block's first field; block_start[nblocks] = nf */
  size_t nblocks;
} qif;

static int qif_load(const char *path, qif *q)
{
  size_t len;
  memset(q, 0, sizeof *q);
  q->text = vq_read_file(path, &len);
  if (!q->text) return 0;
  size_t lines = 2;
  for (size_t i = 0; i < len; i++) lines += q->text[i] == '\n';
  q->f = calloc(lines, sizeof *q->f);
  q->block_start = calloc(lines + 1, sizeof *q->block_start);
  int in_block = 0;
  char *p = q->text, *end = q->text + len;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *le = nl ? nl : end;
    if (le > p && le[-1] == '\r') le[-1] = 0, le--;
    if (p[0] == '#') {
      /* comment */
    } else if (le == p) {
      in_block = 0;
    } else {
      if (!in_block) q->block_start[q->nblocks++] = q->nf, in_block = 1;
      char *tab = memchr(p, '\t', (size_t)(le - p));
      vq_qpack_field *f = &q->f[q->nf++];
      f->name = (const uint8_t *)p;
      f->name_len = (size_t)((tab ? tab : le) - p);
      f->value = (const uint8_t *)(tab ? tab + 1 : le);
      f->value_len = tab ? (size_t)(le - tab - 1) : 0;
    }
    p = nl ? nl + 1 : end;
  }
  q->block_start[q->nblocks] = q->nf;
  return 1;
}

static void qif_free(qif *q)
{
  free(q->text);
  free(q->f);
  free(q->block_start);
}

static int outs_match(const vq_qpack_out *o, const vq_qpack_field *f, size_t n)
{
  if (o->count != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (o->fields[i].name_len != f[i].name_len || o->fields[i].value_len != f[i].value_len ||
        memcmp(o->fields[i].name, f[i].name, f[i].name_len) != 0 ||
        memcmp(o->fields[i].value, f[i].value, f[i].value_len) != 0)
      return 0;
  return 1;
}

static uint64_t be(const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v * 256 + p[i];
  return v;
}

/* Decodes an interop file. Returns VQ_OK and the number of sections that matched q (if q != NULL),
 * or the first error. Blocked sections are kept and retried after each encoder-stream chunk. */
typedef struct { uint64_t sid; const uint8_t *p; size_t len; } pending_sec;

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The QIF block of a stream: blocks are in the order of the streams' IDs. */
static size_t rank_of(const uint64_t *sids, size_t n, uint64_t sid)
{
  const uint64_t *p = bsearch(&sid, sids, n, sizeof *sids, cmp_u64);
  return p ? (size_t)(p - sids) : (size_t)-1;
}

static int section_matches(const qif *q, const uint64_t *sids, size_t nsids, uint64_t sid, const vq_qpack_out *o)
{
  size_t b = rank_of(sids, nsids, sid);
  if (!q || b >= q->nblocks) return 0;
  return outs_match(o, q->f + q->block_start[b], q->block_start[b + 1] - q->block_start[b]);
}

static vq_status decode_file(const uint8_t *data, size_t len, uint64_t table, uint64_t blocked, const qif *q,
                             size_t *matched, size_t *sections, int byte_by_byte)
{
  tdec td;
  vq_status ret = VQ_OK;
  /* table == 0 with preset == 0: the file sets its own capacity (draft-examples.out), allow 4096. */
  if (!tdec_init(&td, table ? table : 4096, blocked)) return VQ_ERR_INTERNAL;
  if (table) vq_qpack_decoder_preset_capacity(&td.d, table);
  size_t maxf = 4096;
  vq_qpack_field *fl = malloc(maxf * sizeof *fl);
  uint8_t *ob = malloc(1 << 20);
  vq_qpack_out out = {fl, maxf, 0, ob, 1 << 20, 0};
  pending_sec *pend = malloc(sizeof *pend * 4096);
  size_t npend = 0;
  uint64_t *sids = malloc(sizeof *sids * (len / 12 + 1));
  size_t nsids = 0;
  for (size_t o2 = 0; o2 + 12 <= len;) {
    uint64_t sid = be(data + o2, 8);
    if (sid != 0) sids[nsids++] = sid;
    o2 += 12 + (size_t)be(data + o2 + 8, 4);
  }
  qsort(sids, nsids, sizeof *sids, cmp_u64);
  *matched = 0;
  *sections = 0;
  size_t off = 0;
  while (off + 12 <= len && ret == VQ_OK) {
    uint64_t sid = be(data + off, 8);
    size_t bl = (size_t)be(data + off + 8, 4);
    off += 12;
    if (bl > len - off) { ret = VQ_ERR_TRUNCATED; break; }
    const uint8_t *p = data + off;
    off += bl;
    if (sid == 0) {
      if (byte_by_byte) {
        for (size_t i = 0; i < bl && ret == VQ_OK; i++) ret = vq_qpack_decoder_encoder_stream(&td.d, p + i, 1);
      } else {
        ret = vq_qpack_decoder_encoder_stream(&td.d, p, bl);
      }
      /* Retry blocked sections in arrival order. */
      for (size_t i = 0; i < npend && ret == VQ_OK;) {
        uint64_t until, ric;
        vq_status st = vq_qpack_decode_section(&td.d, pend[i].sid, pend[i].p, pend[i].len, &out, &until, &ric);
        if (st == VQ_ERR_QPACK_BLOCKED) { i++; continue; }
        if (st != VQ_OK) { ret = st; break; }
        (*sections)++;
        *matched += section_matches(q, sids, nsids, pend[i].sid, &out);
        memmove(&pend[i], &pend[i + 1], (npend - i - 1) * sizeof *pend);
        npend--;
      }
      continue;
    }
    uint64_t until, ric;
    vq_status st = vq_qpack_decode_section(&td.d, sid, p, bl, &out, &until, &ric);
    if (st == VQ_ERR_QPACK_BLOCKED) {
      pend[npend++] = (pending_sec){sid, p, bl};
      continue;
    }
    if (st != VQ_OK) { ret = st; break; }
    (*sections)++;
    *matched += section_matches(q, sids, nsids, sid, &out);
  }
  if (ret == VQ_OK && off != len) ret = VQ_ERR_TRUNCATED;
  if (ret == VQ_OK && npend) ret = VQ_ERR_QPACK_BLOCKED;
  free(pend);
  free(sids);
  free(ob);
  free(fl);
  free(td.mem);
  return ret;
}

static int interop_present(vq_t *t)
{
  char dir[512];
  snprintf(dir, sizeof dir, INTEROP "/encoded", shared_dir());
  DIR *d = opendir(dir);
  if (!d) {
    vq_fail(t, __FILE__, __LINE__, "QPACK interop data not found at %s: the shared material "
            "(../shared beside the repository or its origin, or VQ_SHARED_DIR) is missing", dir);
    return 0;
  }
  closedir(d);
  return 1;
}

/* Every file of encoded/<encoder>/ decodes to its QIF (the 192 files of ls-qpack and nghttp3 and the
 * two examples files). */
VQ_TEST(qpack_interop_decode_all)
{
  if (!interop_present(t)) return;
  const char *encoders[] = {"ls-qpack", "nghttp3", "examples"};
  int files = 0, ok_files = 0;
  for (size_t e = 0; e < 3; e++) {
    char dir[512];
    snprintf(dir, sizeof dir, INTEROP "/encoded/%s", shared_dir(), encoders[e]);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) continue;
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      char name[128], path[1024], qpath[512];
      unsigned long long table = 0, blocked = 100, ack = 0; /* no suffix: the file sets the capacity */
      const char *dot = strstr(de->d_name, ".out");
      if (!dot) continue;
      snprintf(name, sizeof name, "%.*s", (int)(dot - de->d_name), de->d_name);
      if (dot[4] == '.') sscanf(dot + 5, "%llu.%llu.%llu", &table, &blocked, &ack);
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      size_t len;
      uint8_t *data = (uint8_t *)vq_read_file(path, &len);
      CHECK(data != NULL);
      if (!data) continue;
      files++;
      qif q;
      int is_b = strcmp(name, "examples") == 0;
      snprintf(qpath, sizeof qpath, INTEROP "/qifs/%s.qif", shared_dir(), name);
      if (!is_b) CHECK(qif_load(qpath, &q));
      size_t matched = 0, sections = 0;
      vq_status st = decode_file(data, len, table, blocked, is_b ? NULL : &q, &matched, &sections, 0);
      if (st != VQ_OK) vq_fail(t, __FILE__, __LINE__, "%s: status %d", path, (int)st);
      if (is_b) {
        if (st == VQ_OK && sections == 3) ok_files++;
        else vq_fail(t, __FILE__, __LINE__, "%s: %zu sections", path, sections);
      } else {
        if (st == VQ_OK && matched == q.nblocks && sections == q.nblocks) ok_files++;
        else vq_fail(t, __FILE__, __LINE__, "%s: %zu of %zu sections match (%zu decoded)", path, matched,
                     q.nblocks, sections);
        qif_free(&q);
      }
      free(data);
    }
    closedir(d);
  }
  CHECK_EQ(files, 194);
  CHECK_EQ(ok_files, 194);
  printf("qpack interop: %d of %d files decoded and matched their QIF\n", ok_files, files);
}

/* Encoder-stream data delivered one byte at a time gives the same result (incremental parsing). */
VQ_TEST(qpack_interop_byte_by_byte)
{
  if (!interop_present(t)) return;
  const char *files[] = {"ls-qpack/netbsd.out.4096.100.0", "nghttp3/fb-req.out.256.100.1",
                         "nghttp3/netbsd-hq.out.4096.0.1"};
  const char *qifs[] = {"netbsd", "fb-req", "netbsd-hq"};
  const uint64_t tables[] = {4096, 256, 4096}, blocked[] = {100, 100, 0};
  for (int i = 0; i < 3; i++) {
    char path[512], qp[512];
    snprintf(path, sizeof path, INTEROP "/encoded/%s", shared_dir(), files[i]);
    snprintf(qp, sizeof qp, INTEROP "/qifs/%s.qif", shared_dir(), qifs[i]);
    size_t len;
    uint8_t *data = (uint8_t *)vq_read_file(path, &len);
    CHECK(data != NULL);
    qif q;
    CHECK(qif_load(qp, &q));
    if (!data) continue;
    size_t matched, sections;
    CHECK_EQ(decode_file(data, len, tables[i], blocked[i], &q, &matched, &sections, 1), VQ_OK);
    CHECK_EQ(matched, q.nblocks);
    qif_free(&q);
    free(data);
  }
}

/* encoded/errors: err1-8 are malformed field sections, err11-12 malformed encoder streams. */
VQ_TEST(qpack_interop_errors)
{
  if (!interop_present(t)) return;
  for (int i = 1; i <= 12; i++) {
    if (i == 9 || i == 10) continue;
    char path[512];
    snprintf(path, sizeof path, INTEROP "/encoded/errors/err%d", shared_dir(), i);
    size_t len;
    uint8_t *data = (uint8_t *)vq_read_file(path, &len);
    CHECK(data != NULL);
    if (!data) continue;
    size_t matched, sections;
    vq_status st = decode_file(data, len, 4096, 100, NULL, &matched, &sections, 0);
    vq_status want = i <= 8 ? VQ_ERR_QPACK_DECOMPRESSION : VQ_ERR_QPACK_ENCODER_STREAM;
    if (st != want) vq_fail(t, __FILE__, __LINE__, "err%d: status %d, want %d", i, (int)st, (int)want);
    CHECK_EQ(vq_status_app_error(st), i <= 8 ? 0x200u : 0x201u);
    CHECK_EQ(vq_status_disposition(st), VQ_DISP_CLOSE_APP);
    free(data);
  }
}

/* ---- encoder/decoder stream error cases --------------------------------------------------------- */

/* spec: rfc9204#4.3 — encoder instruction errors on the decoder side, and incremental parsing;
 * spec: rfc9204#4.3.1/2, rfc9204#3.2.2/2, rfc9204#2.2.3/2, rfc9204#3.1/2, rfc9204#3.2/1, rfc9204#7.4/2 —
 * each case below. */
VQ_TEST(qpack_encoder_stream_errors)
{
  uint8_t b[128];
  size_t u;
  tdec td;
  CHECK(tdec_init(&td, 100, 2));
  /* spec: rfc9204#4.3.1/2 — capacity above the maximum we advertised. */
  CHECK_EQ(vq_qpack_build_set_capacity(b, sizeof b, 101, &u), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b, u), VQ_ERR_QPACK_ENCODER_STREAM);
  free(td.mem);
  CHECK(tdec_init(&td, 100, 2));
  CHECK_EQ(vq_qpack_build_set_capacity(b, sizeof b, 100, &u), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b, u), VQ_OK);
  /* spec: rfc9204#3.2.2/2 — an entry larger than the capacity: 10 + 59 + 32 > 100. */
  static const uint8_t big[59] = {0};
  CHECK_EQ(vq_qpack_build_insert_literal(b, sizeof b, (const uint8_t *)"custom-key", 10, big, sizeof big,
                                         VQ_QPACK_HUFF_NEVER, &u), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b, u), VQ_ERR_QPACK_ENCODER_STREAM);
  free(td.mem);
  CHECK(tdec_init(&td, 100, 2));
  CHECK_EQ(vq_qpack_decoder_preset_capacity(&td.d, 100), VQ_OK);
  /* Exactly the capacity fits: 10 + 58 + 32 = 100; split across three reads. */
  CHECK_EQ(vq_qpack_build_insert_literal(b, sizeof b, (const uint8_t *)"custom-key", 10, big, 58,
                                         VQ_QPACK_HUFF_NEVER, &u), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b, 1), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b + 1, 30), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_insert_count(&td.d), 0);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b + 31, u - 31), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_insert_count(&td.d), 1);
  CHECK_EQ(td.d.table.size, 100);
  /* Duplicate evicts the original (it is copied first, rfc9204#3.2.2); a duplicate entry is no error
   * (rfc9204#3.2/1). */
  CHECK_EQ(vq_qpack_build_duplicate(b, sizeof b, 0, &u), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b, u), VQ_OK);
  CHECK_EQ(td.d.table.dropped, 1);
  const uint8_t *n, *v;
  size_t nl, vl;
  CHECK_EQ(vq_qpack_dtable_get(&td.d.table, 1, &n, &nl, &v, &vl), VQ_OK);
  CHECK_MEM(n, nl, "custom-key", 10);
  CHECK_EQ(vl, 58);
  /* Relative index of an evicted entry (spec: rfc9204#4.3.4, rfc9204#2.2.3/2). */
  CHECK_EQ(vq_qpack_build_duplicate(b, sizeof b, 1, &u), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b, u), VQ_ERR_QPACK_ENCODER_STREAM);
  free(td.mem);
  /* Static index 99 (spec: rfc9204#4.3.2, rfc9204#3.1/2), with an invalid Huffman value. */
  CHECK(tdec_init(&td, 100, 2));
  CHECK_EQ(vq_qpack_build_insert_name_ref(b, sizeof b, 1, 99, (const uint8_t *)"x", 1, VQ_QPACK_HUFF_NEVER, &u),
           VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, b, u), VQ_ERR_QPACK_ENCODER_STREAM);
  free(td.mem);
  CHECK(tdec_init(&td, 100, 2));
  CHECK_EQ(vq_qpack_decoder_preset_capacity(&td.d, 100), VQ_OK);
  const uint8_t badh[] = {0xc0 | 1, 0x81, 0xff}; /* static 1, value: Huffman, 1 byte of 8 one bits */
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, badh, sizeof badh), VQ_ERR_QPACK_ENCODER_STREAM);
  free(td.mem);
  /* spec: rfc9204#7.4/2 — a name index over 62 bits on the encoder stream: a connection error. */
  CHECK(tdec_init(&td, 100, 2));
  CHECK_EQ(vq_qpack_decoder_preset_capacity(&td.d, 100), VQ_OK);
  const uint8_t bigi[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 'x'};
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, bigi, sizeof bigi), VQ_ERR_QPACK_ENCODER_STREAM);
  CHECK_EQ(vq_qpack_decoder_insert_count(&td.d), 0);
  free(td.mem);
}

/* spec: rfc9204#2.2.3/1 — a reference at or above the Required Insert Count ("0280 11");
 * spec: rfc9204#2.2.1/2 — a Required Insert Count smaller than the section needs ("0000 80");
 * spec: rfc9204#3.1/1 — an invalid static index; spec: rfc9204#4.5.1.2/2 — a negative Base;
 * spec: rfc9204#4.5.1.1/1 — an encoding no encoder produces; spec: rfc9204#7.4/2 — an integer over
 * 62 bits; spec: rfc9204#2.1.2/2 — more blocked streams than promised: all QPACK_DECOMPRESSION_FAILED. */
VQ_TEST(qpack_section_errors)
{
  tdec td;
  CHECK(tdec_init(&td, 256, 4));
  CHECK_EQ(vq_qpack_decoder_preset_capacity(&td.d, 256), VQ_OK);
  uint8_t ins[64];
  size_t u;
  for (int i = 0; i < 3; i++) { /* entries 0, 1, 2 */
    uint8_t val = (uint8_t)('a' + i);
    CHECK_EQ(vq_qpack_build_insert_name_ref(ins, sizeof ins, 1, 0, &val, 1, VQ_QPACK_HUFF_NEVER, &u), VQ_OK);
    CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, ins, u), VQ_OK);
  }
  /* MaxEntries = 8: Required Insert Count 3 is encoded 4; 2 -> 3; 1 -> 2. */
  vq_qpack_field fl[8];
  uint8_t ob[256];
  vq_qpack_out out = {fl, 8, 0, ob, sizeof ob, 0};
  uint64_t until, ric;
  static const struct { const char *hex; vq_status want; } cases[] = {
    {"0400 80", VQ_OK},                         /* RIC 3, Base 3, relative 0 -> entry 2 */
    {"0400 82", VQ_ERR_QPACK_DECOMPRESSION},    /* RIC 3 but only entry 0 referenced: larger than needed */
    {"0000 80", VQ_ERR_QPACK_DECOMPRESSION},    /* dynamic reference with RIC 0 */
    {"0200 80", VQ_OK},                         /* RIC 1, Base 1, relative 0 -> entry 0: exact */
    {"0281 10", VQ_ERR_QPACK_DECOMPRESSION},    /* negative Base: RIC 1, S=1, delta 1 */
    {"0280 11", VQ_ERR_QPACK_DECOMPRESSION},    /* RIC 1, Base 0, post-base 1 -> entry 1 >= RIC */
    {"0000 ff24", VQ_ERR_QPACK_DECOMPRESSION},  /* static index 99 */
    {"0000 5f", VQ_ERR_QPACK_DECOMPRESSION},    /* truncated index */
    {"0000 510b2f", VQ_ERR_QPACK_DECOMPRESSION},/* truncated value */
    {"00", VQ_ERR_QPACK_DECOMPRESSION},         /* truncated prefix */
    {"1100", VQ_ERR_QPACK_DECOMPRESSION},       /* encoded RIC 17 > 2 * MaxEntries */
    {"0000 5181ff", VQ_ERR_QPACK_DECOMPRESSION},/* Huffman value with 8 bits of padding */
    {"0000 ffffffffffffffffffff01", VQ_ERR_QPACK_DECOMPRESSION}, /* static index over 62 bits */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t b[16];
    long bl = vq_hex(cases[i].hex, b, sizeof b);
    vq_status want = cases[i].want;
    vq_status st = vq_qpack_decode_section(&td.d, 4, b, (size_t)bl, &out, &until, &ric);
    if (st != want) vq_fail(t, __FILE__, __LINE__, "case %zu (%s): %d, want %d", i, cases[i].hex, (int)st, (int)want);
  }
  /* Blocked: RIC 4 (encoded 5) with 3 inserts; 4 streams may block, the fifth may not. */
  const uint8_t blk[] = {0x05, 0x00, 0x80};
  for (uint64_t s = 0; s < 4; s++) {
    CHECK_EQ(vq_qpack_decode_section(&td.d, 100 + 4 * s, blk, sizeof blk, &out, &until, &ric), VQ_ERR_QPACK_BLOCKED);
    CHECK_EQ(until, 4);
  }
  CHECK_EQ(vq_qpack_decode_section(&td.d, 100, blk, sizeof blk, &out, &until, &ric), VQ_ERR_QPACK_BLOCKED);
  CHECK_EQ(vq_qpack_decode_section(&td.d, 200, blk, sizeof blk, &out, &until, &ric), VQ_ERR_QPACK_DECOMPRESSION);
  vq_qpack_decoder_cancel_stream(&td.d, 104);
  CHECK_EQ(td.d.nblocked, 3);
  uint8_t val = 'd';
  CHECK_EQ(vq_qpack_build_insert_name_ref(ins, sizeof ins, 1, 0, &val, 1, VQ_QPACK_HUFF_NEVER, &u), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, ins, u), VQ_OK);
  CHECK_EQ(vq_qpack_decode_section(&td.d, 100, blk, sizeof blk, &out, &until, &ric), VQ_OK);
  CHECK_EQ(ric, 4);
  CHECK(fields_eq(&out, 0, ":authority", "d"));
  CHECK_EQ(td.d.nblocked, 2);
  free(td.mem);
}


/* ---- encoder round trips ------------------------------------------------------------------------ */

typedef struct {
  vq_qpack_encoder e;
  void *emem;
  tdec d;
  uint8_t *encq;       /* encoder-stream bytes not yet delivered */
  size_t encq_len, encq_cap;
  uint64_t max_blocked_seen;
  uint64_t inserts_seen, refs_dyn;
} rt;

/* Encodes every block of q on streams 4, 8, 12 ... and decodes it back. Encoder-stream data is
 * delivered every `delay` sections (0: at once), so sections block; the decoder's acknowledgments go
 * back to the encoder at once. Returns the number of blocks that round-tripped. */
static size_t roundtrip(vq_t *t, const qif *q, uint64_t table, uint64_t blocked, unsigned delay,
                        rt *r)
{
  memset(r, 0, sizeof *r);
  size_t em = vq_qpack_encoder_mem(table, 64);
  r->emem = malloc(em ? em : 1);
  CHECK_EQ(vq_qpack_encoder_init(&r->e, r->emem, em, table, table, blocked, 64), VQ_OK);
  CHECK(tdec_init(&r->d, table, blocked));
  r->encq_cap = 1 << 20;
  r->encq = malloc(r->encq_cap);
  uint8_t *sec = malloc(1 << 20), *ob = malloc(1 << 20);
  vq_qpack_field *fl = malloc(4096 * sizeof *fl);
  vq_qpack_out out = {fl, 4096, 0, ob, 1 << 20, 0};
  pending_sec *pend = malloc(sizeof *pend * (q->nblocks + 1));
  uint8_t **secs = calloc(q->nblocks + 1, sizeof *secs);
  size_t npend = 0, ok = 0;
  vq_status bad = VQ_OK;

  for (size_t b = 0; b <= q->nblocks && bad == VQ_OK; b++) {
    int deliver = b == q->nblocks || delay == 0 || b % delay == 0;
    if (b < q->nblocks) {
      size_t el = 0, sl = 0;
      uint64_t sid = 4 * (b + 1);
      const vq_qpack_field *f = q->f + q->block_start[b];
      size_t nf = q->block_start[b + 1] - q->block_start[b];
      vq_status st = vq_qpack_encode_section(&r->e, sid, f, nf, r->encq + r->encq_len, r->encq_cap - r->encq_len,
                                             &el, sec, 1 << 20, &sl);
      if (st != VQ_OK) { bad = st; break; }
      r->encq_len += el;
      secs[b] = malloc(sl ? sl : 1);
      memcpy(secs[b], sec, sl);
      pend[npend++] = (pending_sec){sid, secs[b], sl};
    }
    if (deliver && r->encq_len) {
      vq_status st = vq_qpack_decoder_encoder_stream(&r->d.d, r->encq, r->encq_len);
      if (st != VQ_OK) { bad = st; break; }
      r->encq_len = 0;
      uint8_t ack[32];
      size_t al;
      CHECK_EQ(vq_qpack_decoder_build_acks(&r->d.d, 0, 0, ack, sizeof ack, &al), VQ_OK);
      if (al) CHECK_EQ(vq_qpack_encoder_decoder_stream(&r->e, ack, al), VQ_OK);
    }
    /* Decode what can be decoded, in order. */
    for (size_t i = 0; i < npend;) {
      uint64_t until, ric;
      vq_status st = vq_qpack_decode_section(&r->d.d, pend[i].sid, pend[i].p, pend[i].len, &out, &until, &ric);
      if (st == VQ_ERR_QPACK_BLOCKED) {
        i++;
        continue;
      }
      if (st != VQ_OK) { bad = st; break; }
      if (r->d.d.nblocked > r->max_blocked_seen) r->max_blocked_seen = r->d.d.nblocked;
      size_t blk = (size_t)(pend[i].sid / 4 - 1);
      if (outs_match(&out, q->f + q->block_start[blk], q->block_start[blk + 1] - q->block_start[blk])) ok++;
      if (ric) r->refs_dyn++;
      uint8_t ack[32];
      size_t al;
      CHECK_EQ(vq_qpack_decoder_build_acks(&r->d.d, pend[i].sid, ric, ack, sizeof ack, &al), VQ_OK);
      if (al) CHECK_EQ(vq_qpack_encoder_decoder_stream(&r->e, ack, al), VQ_OK);
      memmove(&pend[i], &pend[i + 1], (npend - i - 1) * sizeof *pend);
      npend--;
    }
    if (r->d.d.nblocked > r->max_blocked_seen) r->max_blocked_seen = r->d.d.nblocked;
  }
  if (bad != VQ_OK) vq_fail(t, __FILE__, __LINE__, "round trip table %llu blocked %llu delay %u: status %d",
                            (unsigned long long)table, (unsigned long long)blocked, delay, (int)bad);
  CHECK_EQ(npend, 0);
  CHECK(r->max_blocked_seen <= blocked);
  r->inserts_seen = r->d.d.table.inserts;
  for (size_t b = 0; b < q->nblocks; b++) free(secs[b]);
  free(secs);
  free(pend);
  free(fl);
  free(ob);
  free(sec);
  free(r->encq);
  free(r->emem);
  free(r->d.mem);
  return ok;
}

/* Every QIF, encoded with table sizes 0, 256, 4096 and blocked-stream limits 0, 1, 16, with encoder
 * data delivered at once or late; decoded back equal. The dynamic table must actually be used.
 * The encoder side (src/h3/qpack_enc.c): spec: rfc9204#2.1/2 — field lines come back in input order;
 * spec: rfc9204#2.1.2/1 — never more blocked streams than allowed;
 * spec: rfc9204#3.2.3/1, rfc9204#4.3.1/1 — never a capacity above the decoder's maximum (the decoder
 * would refuse it);
 * spec: rfc9204#2.1.1/1, rfc9204#3.2.2/1, rfc9204#4.3.1/3 — no eviction of an entry a pending section
 * still references (late sections would fail); spec: rfc9204#3.2.3/4 — with capacity 0, no inserts. */
VQ_TEST(qpack_encoder_roundtrip_qifs)
{
  if (!interop_present(t)) return;
  const char *names[] = {"netbsd", "netbsd-hq", "fb-req", "fb-req-hq", "fb-resp", "fb-resp-hq", "draft-examples"};
  const uint64_t tables[] = {0, 256, 4096};
  const uint64_t blocks[] = {0, 1, 16};
  const unsigned delays[] = {0, 3};
  size_t runs = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char qp[512];
    snprintf(qp, sizeof qp, INTEROP "/qifs/%s.qif", shared_dir(), names[i]);
    qif q;
    CHECK(qif_load(qp, &q));
    int heavy = q.nblocks > 100;
    for (size_t a = 0; a < 3; a++)
      for (size_t b = 0; b < 3; b++)
        for (size_t c = 0; c < 2; c++) {
          if (heavy && b == 1) continue; /* keep the test quick: the small files cover limit 1 */
          rt r;
          size_t ok = roundtrip(t, &q, tables[a], blocks[b], delays[c], &r);
          if (ok != q.nblocks)
            vq_fail(t, __FILE__, __LINE__, "%s table %llu blocked %llu delay %u: %zu of %zu blocks", names[i],
                    (unsigned long long)tables[a], (unsigned long long)blocks[b], delays[c], ok, q.nblocks);
          if (tables[a] >= 256 && q.nblocks > 3) {
            CHECK(r.inserts_seen > 0);
            if (r.refs_dyn == 0) vq_fail(t, __FILE__, __LINE__, "%s table %llu blocked %llu delay %u: no dynamic reference", names[i], (unsigned long long)tables[a], (unsigned long long)blocks[b], delays[c]);
          }
          if (tables[a] == 0) CHECK_EQ(r.inserts_seen, 0);
          runs++;
        }
    qif_free(&q);
  }
  CHECK(runs >= 80);
}

/* spec: rfc9204#2.2.2.1/1 — after a section with dynamic references the decoder emits a Section
 * Acknowledgment for its stream; a section without them is not acknowledged. */
VQ_TEST(qpack_decoder_section_ack)
{
  tdec td;
  CHECK(tdec_init(&td, 256, 4));
  CHECK_EQ(vq_qpack_decoder_preset_capacity(&td.d, 256), VQ_OK);
  uint8_t ins[64], ack[32], want[8];
  size_t u, al, wl;
  uint8_t val = 'a';
  CHECK_EQ(vq_qpack_build_insert_name_ref(ins, sizeof ins, 1, 0, &val, 1, VQ_QPACK_HUFF_NEVER, &u), VQ_OK);
  CHECK_EQ(vq_qpack_decoder_encoder_stream(&td.d, ins, u), VQ_OK);
  /* The insert alone: an Insert Count Increment of 1, no Section Acknowledgment. */
  CHECK_EQ(vq_qpack_decoder_build_acks(&td.d, 8, 0, ack, sizeof ack, &al), VQ_OK);
  CHECK_EQ(vq_qpack_build_insert_count_inc(want, sizeof want, 1, &wl), VQ_OK);
  CHECK_MEM(ack, al, want, wl);
  /* A section on stream 8 referencing entry 0 (Required Insert Count 1): acknowledged. */
  vq_qpack_field fl[4];
  uint8_t ob[64];
  vq_qpack_out out = {fl, 4, 0, ob, sizeof ob, 0};
  static const uint8_t sec[] = {0x02, 0x00, 0x80};
  uint64_t until = 0, ric = 9;
  CHECK_EQ(vq_qpack_decode_section(&td.d, 8, sec, sizeof sec, &out, &until, &ric), VQ_OK);
  CHECK_EQ(ric, 1);
  CHECK_EQ(vq_qpack_decoder_build_acks(&td.d, 8, ric, ack, sizeof ack, &al), VQ_OK);
  CHECK_EQ(vq_qpack_build_section_ack(want, sizeof want, 8, &wl), VQ_OK);
  CHECK_MEM(ack, al, want, wl);
  /* Only static references (Required Insert Count 0): nothing to send. */
  static const uint8_t st0[] = {0x00, 0x00, 0xd1};
  CHECK_EQ(vq_qpack_decode_section(&td.d, 12, st0, sizeof st0, &out, &until, &ric), VQ_OK);
  CHECK_EQ(ric, 0);
  CHECK_EQ(vq_qpack_decoder_build_acks(&td.d, 12, ric, ack, sizeof ack, &al), VQ_OK);
  CHECK_EQ(al, 0);
  free(td.mem);
}

/* spec: rfc9204#4.5.4/1 — a field marked never-indexed is a literal with the N bit even when the
 * static table holds it exactly, and it is never inserted into the dynamic table; decoded back, the
 * mark is kept. */
VQ_TEST(qpack_encoder_never_indexed_literal)
{
  vq_qpack_encoder e;
  static uint8_t emem[1u << 16];
  const size_t need = vq_qpack_encoder_mem(4096, 8);
  CHECK(need <= sizeof emem);
  CHECK_EQ(vq_qpack_encoder_init(&e, emem, sizeof emem, 4096, 4096, 16, 8), VQ_OK);
  vq_qpack_field f[2] = {{(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3, 1},
                         {(const uint8_t *)"x-secret", 8, (const uint8_t *)"hunter2", 7, 1}};
  uint8_t enc[256], sec[256];
  size_t el = 0, sl = 0;
  CHECK_EQ(vq_qpack_encode_section(&e, 0, f, 2, enc, sizeof enc, &el, sec, sizeof sec, &sl), VQ_OK);
  CHECK_EQ(e.table.inserts, 0);
  CHECK(sl > 3);
  CHECK_EQ(sec[0], 0x00); /* Required Insert Count 0 */
  CHECK_EQ(sec[1], 0x00); /* Base 0 */
  /* Literal with static name reference: 01 N=1 T=1, index 17 (:method GET) as 4-bit prefix 15 + 2 */
  CHECK_EQ(sec[2], 0x7f);
  CHECK_EQ(sec[3], 0x02);
  /* The same field unmarked is the Indexed Field Line 0xc0 | 17. */
  f[0].never_indexed = 0;
  CHECK_EQ(vq_qpack_encode_section(&e, 4, f, 1, enc, sizeof enc, &el, sec, sizeof sec, &sl), VQ_OK);
  CHECK_EQ(sl, 3);
  CHECK_EQ(sec[2], 0xd1);
  /* Decoded back: the never-indexed marks survive. */
  f[0].never_indexed = 1;
  CHECK_EQ(vq_qpack_encode_section(&e, 8, f, 2, enc, sizeof enc, &el, sec, sizeof sec, &sl), VQ_OK);
  tdec td;
  CHECK(tdec_init(&td, 0, 0));
  vq_qpack_field fl[4];
  uint8_t ob[128];
  vq_qpack_out out = {fl, 4, 0, ob, sizeof ob, 0};
  uint64_t until = 0, ric = 9;
  CHECK_EQ(vq_qpack_decode_section(&td.d, 8, sec, sl, &out, &until, &ric), VQ_OK);
  CHECK_EQ(out.count, 2);
  CHECK(fields_eq(&out, 0, ":method", "GET"));
  CHECK(fields_eq(&out, 1, "x-secret", "hunter2"));
  CHECK_EQ(fl[0].never_indexed, 1);
  CHECK_EQ(fl[1].never_indexed, 1);
  free(td.mem);
}

/* spec: rfc9204#4.4.1/1 — a Section Acknowledgment with nothing outstanding; spec: rfc9204#4.4.3/1 — an
 * Insert Count Increment of 0 or beyond what was sent: QPACK_DECODER_STREAM_ERROR (the encoder side,
 * src/h3/qpack_enc.c); spec: rfc9204#2.1.2/1 — the encoder keeps to the blocked-streams limit. */
VQ_TEST(qpack_decoder_stream_errors)
{
  size_t em = vq_qpack_encoder_mem(256, 4);
  void *mem = malloc(em);
  vq_qpack_encoder e;
  CHECK_EQ(vq_qpack_encoder_init(&e, mem, em, 256, 256, 1, 4), VQ_OK);
  uint8_t b[16];
  size_t u;
  /* Section Acknowledgment for a stream with nothing outstanding (spec: rfc9204#4.4.1). */
  CHECK_EQ(vq_qpack_build_section_ack(b, sizeof b, 4, &u), VQ_OK);
  CHECK_EQ(vq_qpack_encoder_decoder_stream(&e, b, u), VQ_ERR_QPACK_DECODER_STREAM);
  /* Insert Count Increment of 0 cannot be built; on the wire it is an error (spec: rfc9204#4.4.3). */
  CHECK_EQ(vq_qpack_build_insert_count_inc(b, sizeof b, 0, &u), VQ_ERR_INVALID_ARGUMENT);
  const uint8_t zero = 0x00;
  CHECK_EQ(vq_qpack_encoder_decoder_stream(&e, &zero, 1), VQ_ERR_QPACK_DECODER_STREAM);
  free(mem);
  CHECK_EQ(vq_qpack_encoder_init(&e, mem = malloc(em), em, 256, 256, 1, 4), VQ_OK);
  /* Beyond what was sent. */
  CHECK_EQ(vq_qpack_build_insert_count_inc(b, sizeof b, 1, &u), VQ_OK);
  CHECK_EQ(vq_qpack_encoder_decoder_stream(&e, b, u), VQ_ERR_QPACK_DECODER_STREAM);
  free(mem);
  /* A section referencing a new entry, acknowledged in two split reads; a cancellation. */
  CHECK_EQ(vq_qpack_encoder_init(&e, mem = malloc(em), em, 256, 256, 1, 4), VQ_OK);
  vq_qpack_field f = {(const uint8_t *)":authority", 10, (const uint8_t *)"example.org", 11, 0};
  uint8_t enc[128], sec[128];
  size_t el, sl;
  CHECK_EQ(vq_qpack_encode_section(&e, 200, &f, 1, enc, sizeof enc, &el, sec, sizeof sec, &sl), VQ_OK);
  CHECK_EQ(e.table.inserts, 1);
  CHECK_EQ(e.nsections, 1);
  /* A second stream may not block too (limit 1): the entry is not referenced. */
  CHECK_EQ(vq_qpack_encode_section(&e, 204, &f, 1, enc, sizeof enc, &el, sec, sizeof sec, &sl), VQ_OK);
  CHECK_EQ(e.nsections, 1);
  CHECK_EQ(sec[0], 0); /* Required Insert Count 0 */
  CHECK_EQ(vq_qpack_build_section_ack(b, sizeof b, 200, &u), VQ_OK);
  CHECK_EQ(u, 2);
  CHECK_EQ(vq_qpack_encoder_decoder_stream(&e, b, 1), VQ_OK);
  CHECK_EQ(e.nsections, 1);
  CHECK_EQ(vq_qpack_encoder_decoder_stream(&e, b + 1, 1), VQ_OK);
  CHECK_EQ(e.nsections, 0);
  CHECK_EQ(e.known_received, 1);
  CHECK_EQ(vq_qpack_encode_section(&e, 208, &f, 1, enc, sizeof enc, &el, sec, sizeof sec, &sl), VQ_OK);
  CHECK_EQ(e.nsections, 1);
  CHECK_EQ(vq_qpack_build_stream_cancel(b, sizeof b, 208, &u), VQ_OK);
  CHECK_EQ(vq_qpack_encoder_decoder_stream(&e, b, u), VQ_OK);
  CHECK_EQ(e.nsections, 0);
  free(mem);
}

/* spec: rfc9204#2.2.3, #4.5 — malformed field sections are QPACK_DECOMPRESSION_FAILED. */

/* spec: rfc9204#2.1.1/1, rfc9204#3.2.2/1 — the encoder never evicts an entry whose insertion the
 * decoder has not acknowledged, Duplicates included (found by the spec audit: a Duplicate of an old
 * entry evicted unacknowledged entries after a Stream Cancellation). */
VQ_TEST(qpack_encoder_never_evicts_unacknowledged)
{
  size_t em = vq_qpack_encoder_mem(512, 16);
  void *mem = malloc(em);
  vq_qpack_encoder e;
  CHECK_EQ(vq_qpack_encoder_init(&e, mem, em, 512, 512, 16, 16), VQ_OK);
  char names[15][32], values[15][32];
  vq_qpack_field f[15];
  for (int i = 0; i < 15; i++) {
    snprintf(names[i], sizeof names[i], "x-field-%02d", i);
    snprintf(values[i], sizeof values[i], "value-%02d", i);
    f[i] = (vq_qpack_field){(const uint8_t *)names[i], strlen(names[i]), (const uint8_t *)values[i],
                            strlen(values[i]), 0};
  }
  uint8_t enc[4096], sec[4096], b[16];
  size_t el, sl, u;
  CHECK_EQ(vq_qpack_encode_section(&e, 0, f, 15, enc, sizeof enc, &el, sec, sizeof sec, &sl), VQ_OK);
  CHECK(e.table.inserts > 2);
  CHECK_EQ(e.table.dropped, 0);
  /* the stream is cancelled: no reference left, and still nothing acknowledged */
  CHECK_EQ(vq_qpack_build_stream_cancel(b, sizeof b, 0, &u), VQ_OK);
  CHECK_EQ(vq_qpack_encoder_decoder_stream(&e, b, u), VQ_OK);
  CHECK_EQ(e.known_received, 0);
  for (uint64_t sid = 4; sid < 64; sid += 4) {
    CHECK_EQ(vq_qpack_encode_section(&e, sid, &f[sid % 8 == 0 ? 0 : 1], 1, enc, sizeof enc, &el, sec, sizeof sec, &sl), VQ_OK);
    CHECK(e.table.dropped <= e.known_received);
  }
  free(mem);
}
