/* vq-qpack — the offline QPACK interop format (RFC 9204) on the command line.
 *
 *   vq-qpack decode FILE TABLE_SIZE MAX_BLOCKED
 *   vq-qpack encode QIF_FILE TABLE_SIZE MAX_BLOCKED IMMEDIATE_ACK
 *
 * The offline format (the public qpackers/qifs interop sets): a sequence of records, each an 8-byte
 * big-endian stream ID, a 4-byte big-endian length and that many bytes. Stream 0 carries encoder-stream
 * instructions (RFC 9204 §4.3); any other stream carries one encoded field section (§4.5). QIF: a block
 * of `name<TAB>value` lines per field section, blank lines between blocks, `#` lines are comments.
 *
 * decode prints the QIF of every field section in stream-ID order, each block after a `# stream N`
 * line; a section that needs inserts not yet received waits (at most MAX_BLOCKED of them, §2.1.2) until
 * encoder-stream data provides them. Any QPACK error ends the run with status 1 and the RFC 9204 §6 error
 * name on stderr. encode encodes block i of the QIF as stream i (1, 2, ...) and writes the records, the
 * encoder-stream data a section needs in a stream-0 record before it. With IMMEDIATE_ACK 1 the decoder's
 * acknowledgments (a Section Acknowledgment per section with dynamic references, §4.4.1, and Insert Count
 * Increments, §4.4.3) are fed back to the encoder after each section.
 *
 * The input is untrusted: every length is checked, all memory is charged to one budget (vq_mem), the
 * input files and the decoded output are bounded (limits below; exceeding one is an error, not a crash).
 * Convention of the interop files: the decoder's table starts at capacity TABLE_SIZE (the encoders insert
 * without Set Dynamic Table Capacity), so decode presets it; on a connection §3.2.3 (start at 0) holds. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vquic/error.h"
#include "vquic/qpack.h"
#include "vquic/rt.h"

#define MAX_INPUT ((size_t)64 << 20)       /* bytes of an input file */
#define MAX_TABLE ((uint64_t)1 << 24)       /* TABLE_SIZE */
#define MAX_BLOCKED_LIMIT 65535u            /* MAX_BLOCKED (vq_qpack_decoder_mem allows 2^16) */
#define MEM_BUDGET ((size_t)1 << 30)        /* everything the program holds at once */
#define SECTION_FIELDS 65536u               /* fields of one decoded section */
#define SECTION_BYTES ((size_t)16 << 20)    /* name and value bytes of one decoded section */
#define REC_HDR 12

typedef struct tool {
  vq_mem mem;
  const char *file;
} tool;

static void usage(FILE *f)
{
  fprintf(f,
          "usage: vq-qpack decode FILE TABLE_SIZE MAX_BLOCKED\n"
          "       vq-qpack encode QIF_FILE TABLE_SIZE MAX_BLOCKED IMMEDIATE_ACK\n"
          "QPACK (RFC 9204) in the offline interop format: records of an 8-byte big-endian stream ID,\n"
          "a 4-byte big-endian length and the data; stream 0 is the encoder stream, any other stream a\n"
          "field section.\n"
          "  decode   print the header lists of FILE as QIF, blocks in stream order, each after a\n"
          "           \"# stream N\" line; the decoder's maximum table capacity is TABLE_SIZE (preset,\n"
          "           as the interop files assume) and at most MAX_BLOCKED sections may wait for\n"
          "           inserts. A QPACK error exits 1 with its RFC 9204 name on stderr.\n"
          "  encode   encode each block of QIF_FILE as streams 1, 2, ... for a decoder with table\n"
          "           capacity TABLE_SIZE and MAX_BLOCKED blocked streams; write the records to\n"
          "           stdout. IMMEDIATE_ACK 1: the decoder acknowledges each section at once;\n"
          "           0: no acknowledgments.\n"
          "Limits: TABLE_SIZE <= %" PRIu64 ", MAX_BLOCKED <= %u, input files <= %zu MiB.\n"
          "  -h, --help   this text\n"
          "Exit status: 0 success, 1 invalid input or QPACK error, 2 usage.\n",
          MAX_TABLE, MAX_BLOCKED_LIMIT, MAX_INPUT >> 20);
}

static int fail(const tool *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const tool *t, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "vq-qpack: %s: ", t->file);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 1;
}

static int nomem(const tool *t, const char *what, size_t n)
{
  return fail(t, "out of memory: %s (%zu bytes) does not fit the %zu MiB budget", what, n, MEM_BUDGET >> 20);
}

/* The RFC 9204 §6 name of the error a status closes the connection with. */
static const char *qpack_error_name(vq_status s)
{
  switch (vq_status_app_error(s)) {
  case VQ_H3_QPACK_DECOMPRESSION_FAILED: return "QPACK_DECOMPRESSION_FAILED";
  case VQ_H3_QPACK_ENCODER_STREAM_ERROR: return "QPACK_ENCODER_STREAM_ERROR";
  case VQ_H3_QPACK_DECODER_STREAM_ERROR: return "QPACK_DECODER_STREAM_ERROR";
  default: return "error";
  }
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
  if (!*s || *s < '0' || *s > '9') return 0;
  errno = 0;
  char *end;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end || x > max) return 0;
  *v = x;
  return 1;
}

/* Reads a whole regular file (at most MAX_INPUT bytes) into memory charged to t->mem; *cap is what to
 * free. */
static uint8_t *read_input(tool *t, size_t *len, size_t *cap)
{
  FILE *f = fopen(t->file, "rb");
  if (!f) {
    fail(t, "cannot open: %s", strerror(errno));
    return NULL;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fail(t, "not a regular file");
    fclose(f);
    return NULL;
  }
  if ((uint64_t)sb.st_size > MAX_INPUT) {
    fail(t, "%jd bytes: larger than the limit of %zu MiB", (intmax_t)sb.st_size, MAX_INPUT >> 20);
    fclose(f);
    return NULL;
  }
  *cap = (size_t)sb.st_size + 1;
  uint8_t *b = vq_mem_alloc(&t->mem, *cap);
  if (!b) {
    nomem(t, "the input", *cap);
    fclose(f);
    return NULL;
  }
  *len = fread(b, 1, *cap, f);
  int err = ferror(f);
  fclose(f);
  if (err || *len != (size_t)sb.st_size) {
    fail(t, err ? "read error" : "the file changed while it was read");
    vq_mem_free(&t->mem, b, *cap);
    return NULL;
  }
  return b;
}

static uint64_t get_be(const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
  for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

/* ---- decode ------------------------------------------------------------------------------------- */

typedef struct rec {
  uint64_t sid;
  size_t off;      /* of the data */
  size_t len;
  uint8_t *text;   /* decoded QIF block (sections only) */
  size_t text_len;
  int done;
} rec;

static int cmp_rec_sid(const void *a, const void *b)
{
  uint64_t x = (*(rec *const *)a)->sid, y = (*(rec *const *)b)->sid;
  return x < y ? -1 : x > y;
}

/* Stores the decoded section as QIF lines (`name<TAB>value`), in memory charged to the budget. */
static int keep_section(tool *t, rec *r, const vq_qpack_out *out)
{
  size_t n = 0;
  for (size_t i = 0; i < out->count; i++) n += out->fields[i].name_len + out->fields[i].value_len + 2;
  r->done = 1;
  if (n == 0) return 0;
  uint8_t *p = vq_mem_alloc(&t->mem, n);
  if (!p) return fail(t, "decoded output exceeds the %zu MiB memory budget (at stream %" PRIu64 ")",
                      MEM_BUDGET >> 20, r->sid);
  size_t o = 0;
  for (size_t i = 0; i < out->count; i++) {
    const vq_qpack_field *f = &out->fields[i];
    memcpy(p + o, f->name, f->name_len), o += f->name_len;
    p[o++] = '\t';
    memcpy(p + o, f->value, f->value_len), o += f->value_len;
    p[o++] = '\n';
  }
  r->text = p;
  r->text_len = n;
  return 0;
}

static int section_error(const tool *t, const rec *r, vq_status st)
{
  if (st == VQ_ERR_BUFFER_TOO_SMALL)
    return fail(t, "stream %" PRIu64 " (record at offset %zu): the field section decodes to more than %u "
                "fields or %zu MiB, this tool's limit", r->sid, r->off - REC_HDR, SECTION_FIELDS,
                SECTION_BYTES >> 20);
  return fail(t, "%s: stream %" PRIu64 " (record at offset %zu): %s", qpack_error_name(st), r->sid,
              r->off - REC_HDR, vq_status_reason(st));
}

static int decode_records(tool *t, const uint8_t *data, rec *recs, size_t nrecs, vq_qpack_decoder *d,
                          vq_qpack_out *out, size_t *pend, uint64_t max_blocked)
{
  size_t npend = 0;
  uint64_t until, ric;
  for (size_t i = 0; i < nrecs; i++) {
    rec *r = &recs[i];
    if (r->sid == 0) {
      vq_status st = vq_qpack_decoder_encoder_stream(d, data + r->off, r->len);
      if (st != VQ_OK)
        return fail(t, "%s: encoder stream (record at offset %zu): %s", qpack_error_name(st), r->off - REC_HDR,
                    vq_status_reason(st));
      /* spec: rfc9204#2.1.2 — sections waiting for inserts resume once the Insert Count reaches their
       * Required Insert Count; retried in arrival order. */
      size_t keep = 0;
      for (size_t k = 0; k < npend; k++) {
        rec *p = &recs[pend[k]];
        st = vq_qpack_decode_section(d, p->sid, data + p->off, p->len, out, &until, &ric);
        if (st == VQ_ERR_QPACK_BLOCKED) {
          pend[keep++] = pend[k];
          continue;
        }
        if (st != VQ_OK) return section_error(t, p, st);
        if (keep_section(t, p, out)) return 1;
      }
      npend = keep;
      continue;
    }
    vq_status st = vq_qpack_decode_section(d, r->sid, data + r->off, r->len, out, &until, &ric);
    if (st == VQ_ERR_QPACK_BLOCKED) {
      /* spec: rfc9204#2.1.2/2 — the decoder refuses more than max_blocked blocked streams itself
       * (QPACK_DECOMPRESSION_FAILED); the bound is checked here again so that pend never overflows. */
      if (npend >= max_blocked || npend >= nrecs) return section_error(t, r, VQ_ERR_QPACK_DECOMPRESSION);
      pend[npend++] = i;
      continue;
    }
    if (st != VQ_OK) return section_error(t, r, st);
    if (keep_section(t, r, out)) return 1;
  }
  if (npend) {
    rec *p = &recs[pend[0]];
    vq_qpack_decode_section(d, p->sid, data + p->off, p->len, out, &until, &ric);
    return fail(t, "%s: stream %" PRIu64 " (record at offset %zu) still blocked at the end of the input: it "
                "needs %" PRIu64 " inserts, the encoder stream gave %" PRIu64 " (%zu section(s) blocked)",
                qpack_error_name(VQ_ERR_QPACK_DECOMPRESSION), p->sid, p->off - REC_HDR, until,
                vq_qpack_decoder_insert_count(d), npend);
  }
  return 0;
}

static int cmd_decode(tool *t, uint64_t table, uint64_t max_blocked)
{
  size_t len = 0, cap = 0;
  uint8_t *data = read_input(t, &len, &cap);
  if (!data) return 1;
  int rc = 1;
  size_t nrecs = 0, nr = 1, dm = 0;
  rec *recs = NULL, **order = NULL;
  size_t *pend = NULL;
  void *dmem = NULL;
  vq_qpack_field *fields = NULL;
  uint8_t *obuf = NULL;
  /* Framing first: every record complete, no stream twice. */
  for (size_t off = 0; off < len;) {
    if (len - off < REC_HDR) {
      fail(t, "truncated record header at offset %zu (%zu bytes left, a header is 12)", off, len - off);
      goto out;
    }
    uint64_t rl = get_be(data + off + 8, 4);
    if (rl > len - off - REC_HDR) {
      fail(t, "record at offset %zu (stream %" PRIu64 ") announces %" PRIu64 " bytes, only %zu follow", off,
           get_be(data + off, 8), rl, len - off - REC_HDR);
      goto out;
    }
    off += REC_HDR + (size_t)rl;
    nrecs++;
  }
  nr = nrecs ? nrecs : 1;
  recs = vq_mem_calloc(&t->mem, nr, sizeof *recs);
  order = vq_mem_calloc(&t->mem, nr, sizeof *order);
  pend = vq_mem_calloc(&t->mem, nr, sizeof *pend);
  dm = vq_qpack_decoder_mem(table, max_blocked);
  dmem = vq_mem_alloc(&t->mem, dm ? dm : 1);
  fields = vq_mem_calloc(&t->mem, SECTION_FIELDS, sizeof *fields);
  obuf = vq_mem_alloc(&t->mem, SECTION_BYTES);
  if (!recs || !order || !pend || !dmem || !fields || !obuf) {
    nomem(t, "the decoder's tables", nr * (sizeof *recs + sizeof *order + sizeof *pend) + dm);
    goto out;
  }
  size_t nsec = 0;
  for (size_t off = 0, i = 0; off < len; i++) {
    recs[i].sid = get_be(data + off, 8);
    recs[i].len = (size_t)get_be(data + off + 8, 4);
    recs[i].off = off + REC_HDR;
    off = recs[i].off + recs[i].len;
    if (recs[i].sid) order[nsec++] = &recs[i];
  }
  qsort(order, nsec, sizeof *order, cmp_rec_sid);
  for (size_t i = 1; i < nsec; i++)
    if (order[i]->sid == order[i - 1]->sid) {
      fail(t, "stream %" PRIu64 " carries two field sections (records at offsets %zu and %zu): the offline "
           "format has one per request stream", order[i]->sid, order[i - 1]->off - REC_HDR, order[i]->off - REC_HDR);
      goto out;
    }
  vq_qpack_decoder d;
  vq_status st = vq_qpack_decoder_init(&d, dmem, dm, table, max_blocked);
  if (st == VQ_OK && table) st = vq_qpack_decoder_preset_capacity(&d, table);
  if (st != VQ_OK) {
    fail(t, "decoder setup failed: %s", vq_status_reason(st));
    goto out;
  }
  vq_qpack_out out = {fields, SECTION_FIELDS, 0, obuf, SECTION_BYTES, 0};
  if (decode_records(t, data, recs, nrecs, &d, &out, pend, max_blocked)) goto out;
  for (size_t i = 0; i < nsec; i++) {
    printf("# stream %" PRIu64 "\n", order[i]->sid);
    if (order[i]->text_len) fwrite(order[i]->text, 1, order[i]->text_len, stdout);
    putchar('\n');
  }
  rc = 0;
out:
  for (size_t i = 0; recs && i < nrecs; i++) vq_mem_free(&t->mem, recs[i].text, recs[i].text_len);
  vq_mem_free(&t->mem, obuf, SECTION_BYTES);
  vq_mem_free(&t->mem, fields, SECTION_FIELDS * sizeof *fields);
  vq_mem_free(&t->mem, dmem, dm ? dm : 1);
  vq_mem_free(&t->mem, pend, nr * sizeof *pend);
  vq_mem_free(&t->mem, order, nr * sizeof *order);
  vq_mem_free(&t->mem, recs, nr * sizeof *recs);
  vq_mem_free(&t->mem, data, cap);
  return rc;
}

/* ---- encode ------------------------------------------------------------------------------------- */

static int write_record(uint64_t sid, const uint8_t *p, size_t n)
{
  uint8_t h[REC_HDR];
  put_be(h, sid, 8);
  put_be(h + 8, n, 4);
  return fwrite(h, 1, sizeof h, stdout) == sizeof h && (n == 0 || fwrite(p, 1, n, stdout) == n);
}

static int cmd_encode(tool *t, uint64_t table, uint64_t max_blocked, int ack)
{
  size_t len = 0, cap = 0;
  uint8_t *text = read_input(t, &len, &cap);
  if (!text) return 1;
  int rc = 1;
  /* Parse the QIF: fields point into text; block_start[b] is the first field of block b. */
  size_t lines = 1;
  for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
  vq_qpack_field *f = vq_mem_calloc(&t->mem, lines, sizeof *f);
  size_t *bstart = vq_mem_calloc(&t->mem, lines + 1, sizeof *bstart);
  size_t nf = 0, nb = 0, maxblock = 0, maxfields = 0, bytes = 0;
  vq_qpack_encoder e;
  vq_qpack_decoder d;
  void *emem = NULL, *dmem = NULL;
  uint8_t *enc = NULL, *sec = NULL, *obuf = NULL;
  vq_qpack_field *ofields = NULL;
  size_t em = 0, dm = 0, bufcap = 0, max_sections = 0;
  if (!f || !bstart) {
    nomem(t, "the QIF's field list", lines * (sizeof *f + sizeof *bstart));
    goto out;
  }
  int in_block = 0;
  for (size_t p = 0, lineno = 1; p < len; lineno++) {
    const uint8_t *nlp = memchr(text + p, '\n', len - p);
    size_t le = nlp ? (size_t)(nlp - text) : len;
    size_t next = nlp ? le + 1 : len;
    if (le > p && text[le - 1] == '\r') le--;
    if (le == p) {
      in_block = 0;
    } else if (text[p] != '#') {
      if (!in_block) bstart[nb++] = nf, in_block = 1;
      const uint8_t *tab = memchr(text + p, '\t', le - p);
      vq_qpack_field *x = &f[nf++];
      x->name = text + p;
      x->name_len = (size_t)((tab ? (size_t)(tab - text) : le) - p);
      x->value = tab ? tab + 1 : text + le;
      x->value_len = tab ? le - (size_t)(tab - text) - 1 : 0;
      if (x->name_len == 0) {
        fail(t, "line %zu: a field line with an empty name", lineno);
        goto out;
      }
    }
    p = next;
  }
  bstart[nb] = nf;
  for (size_t b = 0; b < nb; b++) {
    size_t s = 0, n = bstart[b + 1] - bstart[b];
    for (size_t i = bstart[b]; i < bstart[b + 1]; i++) s += f[i].name_len + f[i].value_len;
    if (s > maxblock) maxblock = s;
    if (n > maxfields) maxfields = n;
    bytes += s;
  }
  (void)bytes;
  /* Worst case of one section or its encoder-stream data: each field's name and value as literals with
   * their length prefixes (at most 10 bytes each), a Duplicate or name reference per field, the prefix. */
  bufcap = 2 * maxblock + 48 * maxfields + 64;
  if (bufcap > UINT32_MAX) {
    fail(t, "a block of %zu bytes is too large for the offline format's 32-bit record length", maxblock);
    goto out;
  }
  /* Without acknowledgments no section is ever acknowledged: track them all (the encoder stops using the
   * dynamic table when its section list is full). */
  max_sections = nb + 1 > (1u << 20) ? (1u << 20) : nb + 1;
  em = vq_qpack_encoder_mem(table, max_sections);
  emem = vq_mem_alloc(&t->mem, em ? em : 1);
  enc = vq_mem_alloc(&t->mem, bufcap);
  sec = vq_mem_alloc(&t->mem, bufcap);
  if (ack) {
    dm = vq_qpack_decoder_mem(table, max_blocked);
    dmem = vq_mem_alloc(&t->mem, dm ? dm : 1);
    ofields = vq_mem_calloc(&t->mem, maxfields ? maxfields : 1, sizeof *ofields);
    obuf = vq_mem_alloc(&t->mem, maxblock ? maxblock : 1);
  }
  if (!emem || !enc || !sec || (ack && (!dmem || !ofields || !obuf))) {
    nomem(t, "the encoder's tables and buffers", em + 2 * bufcap + dm);
    goto out;
  }
  vq_status st = vq_qpack_encoder_init(&e, emem, em, table, table, max_blocked, max_sections);
  if (st == VQ_OK && ack) st = vq_qpack_decoder_init(&d, dmem, dm, table, max_blocked);
  if (st != VQ_OK) {
    fail(t, "encoder setup failed: %s", vq_status_reason(st));
    goto out;
  }
  vq_qpack_out out = {ofields, maxfields, 0, obuf, maxblock ? maxblock : 1, 0};
  for (size_t b = 0; b < nb; b++) {
    uint64_t sid = b + 1;
    size_t el = 0, sl = 0;
    st = vq_qpack_encode_section(&e, sid, f + bstart[b], bstart[b + 1] - bstart[b], enc, bufcap, &el, sec,
                                 bufcap, &sl);
    if (st != VQ_OK) {
      fail(t, "block %zu (stream %" PRIu64 "): encoding failed: %s", b + 1, sid, vq_status_reason(st));
      goto out;
    }
    /* spec: rfc9204#2.1.2/1 — the encoder-stream data a section depends on goes first: the decoder of
     * this file never blocks (the encoder still keeps MAX_BLOCKED for a decoder that would). */
    if ((el && !write_record(0, enc, el)) || !write_record(sid, sec, sl)) {
      fail(t, "writing to standard output: %s", strerror(errno));
      goto out;
    }
    if (!ack) continue;
    /* The decoder's side: apply the inserts, decode the section, send what it owes (§4.4.1, §4.4.3). */
    uint64_t until = 0, ric = 0;
    uint8_t acks[32];
    size_t al = 0;
    st = vq_qpack_decoder_encoder_stream(&d, enc, el);
    if (st == VQ_OK) st = vq_qpack_decode_section(&d, sid, sec, sl, &out, &until, &ric);
    if (st == VQ_OK) st = vq_qpack_decoder_build_acks(&d, sid, ric, acks, sizeof acks, &al);
    if (st == VQ_OK && al) st = vq_qpack_encoder_decoder_stream(&e, acks, al);
    if (st != VQ_OK) {
      fail(t, "block %zu (stream %" PRIu64 "): the encoded section does not decode back: %s: %s", b + 1, sid,
           qpack_error_name(st), vq_status_reason(st));
      goto out;
    }
  }
  if (fflush(stdout) != 0) {
    fail(t, "writing to standard output: %s", strerror(errno));
    goto out;
  }
  rc = 0;
out:
  vq_mem_free(&t->mem, obuf, maxblock ? maxblock : 1);
  vq_mem_free(&t->mem, ofields, (maxfields ? maxfields : 1) * sizeof *ofields);
  vq_mem_free(&t->mem, dmem, dm ? dm : 1);
  vq_mem_free(&t->mem, sec, bufcap);
  vq_mem_free(&t->mem, enc, bufcap);
  vq_mem_free(&t->mem, emem, em ? em : 1);
  vq_mem_free(&t->mem, bstart, (lines + 1) * sizeof *bstart);
  vq_mem_free(&t->mem, f, lines * sizeof *f);
  vq_mem_free(&t->mem, text, cap);
  return rc;
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    }
  int dec = argc == 5 && strcmp(argv[1], "decode") == 0;
  int encd = argc == 6 && strcmp(argv[1], "encode") == 0;
  if (!dec && !encd) {
    usage(stderr);
    return 2;
  }
  uint64_t table, blocked, ack = 0;
  if (!parse_u64(argv[3], MAX_TABLE, &table)) {
    fprintf(stderr, "vq-qpack: TABLE_SIZE '%s': expected a number from 0 to %" PRIu64 "\n", argv[3], MAX_TABLE);
    return 2;
  }
  if (!parse_u64(argv[4], MAX_BLOCKED_LIMIT, &blocked)) {
    fprintf(stderr, "vq-qpack: MAX_BLOCKED '%s': expected a number from 0 to %u\n", argv[4], MAX_BLOCKED_LIMIT);
    return 2;
  }
  if (encd && !parse_u64(argv[5], 1, &ack)) {
    fprintf(stderr, "vq-qpack: IMMEDIATE_ACK '%s': expected 0 or 1\n", argv[5]);
    return 2;
  }
  tool t;
  vq_mem_init(&t.mem, vq_allocator_system(), NULL, MEM_BUDGET);
  t.file = argv[2];
  int rc = dec ? cmd_decode(&t, table, blocked) : cmd_encode(&t, table, blocked, (int)ack);
  if (rc == 0 && t.mem.used != 0) {
    fprintf(stderr, "vq-qpack: internal error: %zu bytes not freed\n", t.mem.used);
    rc = 1;
  }
  return rc;
}
