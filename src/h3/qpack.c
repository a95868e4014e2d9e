/* vquic — the QPACK codec (RFC 9204): static table lookups, the dynamic table, encoder- and
 * decoder-stream instructions, field section decoding and encoding. Built on the proved primitives of
 * qpack_prim.c; this file is covered by tests (RFC 9204 Appendix B, the QPACK interop files) and
 * fuzzing, not by WP.
 *
 * Memory: all storage comes from the caller (vq_qpack_*_mem()); sizes derive from the table capacity
 * we advertise, so a peer can only make us fail, never grow. */
#include "h3/qpack_internal.h"

#include <string.h>

#define ENTRY_OVERHEAD 32u /* spec: rfc9204#3.2.1 — size of an entry: name + value + 32 */
#define MAX_CAPACITY_LIMIT (1ull << 30)

/* ---- static table ------------------------------------------------------------------------------- */

const vq_qpack_static_entry *vq_qpack_static_get(uint64_t index)
{
  /* spec: rfc9204#3.1 — the static table is indexed from 0; an index past its end is an error. */
  return index < VQ_QPACK_STATIC_COUNT ? &vq_qpack_static[index] : NULL;
}

static int bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
  return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

int vq_qpack_static_find(const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
                         int *name_index)
{
  int nidx = -1;
  for (int i = 0; i < VQ_QPACK_STATIC_COUNT; i++) {
    const vq_qpack_static_entry *s = &vq_qpack_static[i];
    if (!bytes_eq(s->name, s->name_len, name, nlen)) continue;
    if (nidx < 0) nidx = i;
    if (bytes_eq(s->value, s->value_len, value, vlen)) {
      if (name_index) *name_index = i;
      return i;
    }
  }
  if (name_index) *name_index = nidx;
  return -1;
}

/* ---- dynamic table (RFC 9204 §3.2) -------------------------------------------------------------- */

size_t vq_qpack_dtable_mem(uint64_t max_capacity)
{
  if (max_capacity > MAX_CAPACITY_LIMIT) return 0;
  return (size_t)(max_capacity / ENTRY_OVERHEAD) * sizeof(vq_qpack_dentry) + (size_t)max_capacity;
}

vq_status vq_qpack_dtable_init(vq_qpack_dtable *t, void *mem, size_t mem_len, uint64_t max_capacity)
{
  if (!t || max_capacity > MAX_CAPACITY_LIMIT) return VQ_ERR_INVALID_ARGUMENT;
  size_t need = vq_qpack_dtable_mem(max_capacity);
  if (need > 0 && (!mem || mem_len < need)) return VQ_ERR_BUFFER_TOO_SMALL;
  memset(t, 0, sizeof *t);
  t->max_capacity = max_capacity;
  t->max_entries = (uint32_t)(max_capacity / ENTRY_OVERHEAD);
  t->ring = mem;
  t->bytes = (uint8_t *)mem + (size_t)t->max_entries * sizeof(vq_qpack_dentry);
  return VQ_OK;
}

static uint64_t dt_count(const vq_qpack_dtable *t) { return t->inserts - t->dropped; }

static vq_qpack_dentry *dt_slot(const vq_qpack_dtable *t, uint64_t abs)
{
  return &t->ring[abs % t->max_entries];
}

static uint64_t entry_size(const vq_qpack_dentry *e)
{
  return (uint64_t)e->name_len + e->value_len + ENTRY_OVERHEAD;
}

static int dt_has(const vq_qpack_dtable *t, uint64_t abs)
{
  return abs >= t->dropped && abs < t->inserts;
}

vq_status vq_qpack_dtable_get(const vq_qpack_dtable *t, uint64_t abs, const uint8_t **name,
                              size_t *nlen, const uint8_t **value, size_t *vlen)
{
  if (!dt_has(t, abs)) return VQ_ERR_QPACK_DECOMPRESSION;
  const vq_qpack_dentry *e = dt_slot(t, abs);
  *name = t->bytes + e->off;
  *nlen = e->name_len;
  *value = t->bytes + e->off + e->name_len;
  *vlen = e->value_len;
  return VQ_OK;
}

/* spec: rfc9204#3.2.2 — entries are evicted oldest first. */
static void dt_evict_oldest(vq_qpack_dtable *t)
{
  t->size -= entry_size(dt_slot(t, t->dropped));
  t->dropped++;
  if (dt_count(t) == 0) t->tail = 0;
}

/* spec: rfc9204#3.2.3 — reducing the capacity evicts entries until the size fits. */
static void dt_set_capacity(vq_qpack_dtable *t, uint64_t cap)
{
  t->capacity = cap;
  while (t->size > t->capacity) dt_evict_oldest(t);
}

/* Inserts (name, value), which must not point into the table's own bytes, after evicting what the
 * new entry needs (the caller checked that it may). spec: rfc9204#3.2.2 — an entry larger than the
 * capacity is an error; otherwise entries are evicted until it fits. */
static vq_status dt_insert(vq_qpack_dtable *t, const uint8_t *name, size_t nlen, const uint8_t *value,
                           size_t vlen)
{
  uint64_t s = (uint64_t)nlen + vlen + ENTRY_OVERHEAD;
  if (s > t->capacity) return VQ_ERR_QPACK_ENCODER_STREAM;
  while (t->size + s > t->capacity) dt_evict_oldest(t);
  /* Live bytes are contiguous from the oldest entry to tail; compact them to the front when the new
   * entry would run past the end. They total size - 32 * count <= capacity - s - 32 * count, so the
   * new entry fits after compaction. */
  if ((uint64_t)t->tail + nlen + vlen > t->max_capacity) {
    uint32_t start = dt_count(t) ? dt_slot(t, t->dropped)->off : t->tail;
    memmove(t->bytes, t->bytes + start, t->tail - start);
    for (uint64_t a = t->dropped; a < t->inserts; a++) dt_slot(t, a)->off -= start;
    t->tail -= start;
  }
  vq_qpack_dentry *e = dt_slot(t, t->inserts);
  e->off = t->tail;
  e->name_len = (uint32_t)nlen;
  e->value_len = (uint32_t)vlen;
  if (nlen) memcpy(t->bytes + t->tail, name, nlen);
  if (vlen) memcpy(t->bytes + t->tail + nlen, value, vlen);
  t->tail += (uint32_t)(nlen + vlen);
  t->size += s;
  t->inserts++;
  return VQ_OK;
}

/* ---- instruction parsing and building ----------------------------------------------------------- */

/* A raw string literal: H bit above an n-bit length prefix, then the bytes. */
static vq_status str_raw(const uint8_t *buf, size_t len, unsigned n, const uint8_t **s, size_t *slen,
                         int *huff, size_t *used)
{
  uint64_t l;
  size_t u;
  if (len == 0) return VQ_ERR_TRUNCATED;
  *huff = (buf[0] >> n) & 1u;
  vq_status st = vq_qpack_int_decode(buf, len, n, &l, &u);
  if (st != VQ_OK) return st;
  if (l > len - u) return VQ_ERR_TRUNCATED;
  *s = buf + u;
  *slen = (size_t)l;
  *used = u + (size_t)l;
  return VQ_OK;
}

/* spec: rfc9204#4.3 — encoder instructions: 1TNNNNNN Insert With Name Reference (6-bit index, then a
 * value with a 7-bit length), 01HNNNNN Insert With Literal Name (5-bit name length, then a value),
 * 001NNNNN Set Dynamic Table Capacity (5-bit), 000NNNNN Duplicate (5-bit relative index). */
vq_status vq_qpack_parse_encoder_instr(const uint8_t *buf, size_t len, vq_qpack_enc_instr *in,
                                       size_t *used)
{
  size_t u, u2;
  vq_status st;
  if (len == 0) return VQ_ERR_TRUNCATED;
  memset(in, 0, sizeof *in);
  const uint8_t b = buf[0];
  if (b >= 0x80u) {
    in->op = VQ_QPACK_INSERT_NAME_REF;
    in->is_static = (b & 0x40u) != 0;
    if ((st = vq_qpack_int_decode(buf, len, 6, &in->index, &u)) != VQ_OK) return st;
    /* spec: rfc9204#4.3.2, rfc9204#3.1/2 — a static index beyond the table is an encoder stream error,
     * known before the value. */
    if (in->is_static && in->index >= VQ_QPACK_STATIC_COUNT) return VQ_ERR_QPACK_ENCODER_STREAM;
    if ((st = str_raw(buf + u, len - u, 7, &in->value, &in->value_len, &in->value_huff, &u2)) != VQ_OK)
      return st;
    *used = u + u2;
  } else if (b >= 0x40u) {
    in->op = VQ_QPACK_INSERT_LITERAL;
    if ((st = str_raw(buf, len, 5, &in->name, &in->name_len, &in->name_huff, &u)) != VQ_OK) return st;
    if ((st = str_raw(buf + u, len - u, 7, &in->value, &in->value_len, &in->value_huff, &u2)) != VQ_OK)
      return st;
    *used = u + u2;
  } else if (b >= 0x20u) {
    in->op = VQ_QPACK_SET_CAPACITY;
    if ((st = vq_qpack_int_decode(buf, len, 5, &in->index, used)) != VQ_OK) return st;
  } else {
    in->op = VQ_QPACK_DUPLICATE;
    if ((st = vq_qpack_int_decode(buf, len, 5, &in->index, used)) != VQ_OK) return st;
  }
  return VQ_OK;
}

/* spec: rfc9204#4.4 — decoder instructions: 1SSSSSSS Section Acknowledgment (7-bit stream ID),
 * 01SSSSSS Stream Cancellation (6-bit), 00IIIIII Insert Count Increment (6-bit). */
vq_status vq_qpack_parse_decoder_instr(const uint8_t *buf, size_t len, vq_qpack_dec_op *op,
                                       uint64_t *value, size_t *used)
{
  if (len == 0) return VQ_ERR_TRUNCATED;
  if (buf[0] >= 0x80u) {
    *op = VQ_QPACK_SECTION_ACK;
    return vq_qpack_int_decode(buf, len, 7, value, used);
  }
  *op = buf[0] >= 0x40u ? VQ_QPACK_STREAM_CANCEL : VQ_QPACK_INSERT_COUNT_INC;
  return vq_qpack_int_decode(buf, len, 6, value, used);
}

/* Huffman-codes a string literal when that is shorter (RFC 9204 §4.1.2 leaves the choice to us). */
static vq_status put_str(uint8_t *buf, size_t cap, unsigned n, uint8_t first, const uint8_t *s,
                         size_t slen, int mode, size_t *used)
{
  if (slen > (1ull << 40)) return VQ_ERR_INVALID_ARGUMENT;
  int huff = mode == VQ_QPACK_HUFF_AUTO ? slen > 0 && vq_qpack_huff_len(s, slen) < slen : mode != 0;
  return vq_qpack_str_encode(buf, cap, n, first, s, slen, huff, used);
}

vq_status vq_qpack_build_set_capacity(uint8_t *buf, size_t cap, uint64_t capacity, size_t *used)
{
  return vq_qpack_int_encode(buf, cap, 5, 0x20u, capacity, used);
}

vq_status vq_qpack_build_insert_name_ref(uint8_t *buf, size_t cap, int is_static, uint64_t index,
                                         const uint8_t *value, size_t vlen, int huff, size_t *used)
{
  size_t u, u2;
  vq_status st = vq_qpack_int_encode(buf, cap, 6, is_static ? 0xc0u : 0x80u, index, &u);
  if (st != VQ_OK) return st;
  if ((st = put_str(buf + u, cap - u, 7, 0, value, vlen, huff, &u2)) != VQ_OK) return st;
  *used = u + u2;
  return VQ_OK;
}

vq_status vq_qpack_build_insert_literal(uint8_t *buf, size_t cap, const uint8_t *name, size_t nlen,
                                        const uint8_t *value, size_t vlen, int huff, size_t *used)
{
  size_t u, u2;
  vq_status st = put_str(buf, cap, 5, 0x40u, name, nlen, huff, &u);
  if (st != VQ_OK) return st;
  if ((st = put_str(buf + u, cap - u, 7, 0, value, vlen, huff, &u2)) != VQ_OK) return st;
  *used = u + u2;
  return VQ_OK;
}

vq_status vq_qpack_build_duplicate(uint8_t *buf, size_t cap, uint64_t rel_index, size_t *used)
{
  return vq_qpack_int_encode(buf, cap, 5, 0x00u, rel_index, used);
}

vq_status vq_qpack_build_section_ack(uint8_t *buf, size_t cap, uint64_t stream_id, size_t *used)
{
  return vq_qpack_int_encode(buf, cap, 7, 0x80u, stream_id, used);
}

vq_status vq_qpack_build_stream_cancel(uint8_t *buf, size_t cap, uint64_t stream_id, size_t *used)
{
  return vq_qpack_int_encode(buf, cap, 6, 0x40u, stream_id, used);
}

vq_status vq_qpack_build_insert_count_inc(uint8_t *buf, size_t cap, uint64_t inc, size_t *used)
{
  if (inc == 0) return VQ_ERR_INVALID_ARGUMENT; /* spec: rfc9204#4.4.3 — an increment of 0 is an error */
  return vq_qpack_int_encode(buf, cap, 6, 0x00u, inc, used);
}

/* ---- decoder ------------------------------------------------------------------------------------ */

/* The longest encoder instruction that can be valid for a table of capacity C: two prefixed integers
 * (<= 10 bytes each) and name + value of at most C - 32 bytes once decoded; the Huffman code's
 * longest symbol is 30 bits, so their encoding takes at most 30/8 of that plus padding. */
static size_t pending_cap_for(uint64_t c) { return (size_t)(c * 4u + 64u); }

size_t vq_qpack_decoder_mem(uint64_t max_capacity, uint64_t max_blocked)
{
  if (max_capacity > MAX_CAPACITY_LIMIT || max_blocked > 65536u) return 0;
  return (size_t)max_blocked * sizeof(uint64_t) + vq_qpack_dtable_mem(max_capacity) +
         pending_cap_for(max_capacity) + (size_t)max_capacity;
}

vq_status vq_qpack_decoder_init(vq_qpack_decoder *d, void *mem, size_t mem_len, uint64_t max_capacity,
                                uint64_t max_blocked)
{
  if (!d || max_capacity > MAX_CAPACITY_LIMIT || max_blocked > 65536u) return VQ_ERR_INVALID_ARGUMENT;
  size_t need = vq_qpack_decoder_mem(max_capacity, max_blocked);
  if (!mem || mem_len < need) return VQ_ERR_BUFFER_TOO_SMALL;
  memset(d, 0, sizeof *d);
  uint8_t *p = mem;
  d->blocked = (uint64_t *)(void *)p;
  p += (size_t)max_blocked * sizeof(uint64_t);
  size_t tm = vq_qpack_dtable_mem(max_capacity);
  vq_status st = vq_qpack_dtable_init(&d->table, p, tm, max_capacity);
  if (st != VQ_OK) return st;
  p += tm;
  d->pending = p;
  d->pending_cap = pending_cap_for(max_capacity);
  p += d->pending_cap;
  d->scratch = p;
  d->max_blocked = max_blocked;
  /* spec: rfc9204#3.2.3 — the dynamic table starts at capacity 0 until Set Dynamic Table Capacity. */
  return VQ_OK;
}

uint64_t vq_qpack_decoder_insert_count(const vq_qpack_decoder *d) { return d->table.inserts; }

vq_status vq_qpack_decoder_preset_capacity(vq_qpack_decoder *d, uint64_t capacity)
{
  if (capacity > d->table.max_capacity) return VQ_ERR_INVALID_ARGUMENT;
  dt_set_capacity(&d->table, capacity);
  return VQ_OK;
}

/* Decodes a (raw) string literal of an encoder instruction into dst[0 .. cap-1]. */
static vq_status enc_str(const uint8_t *s, size_t slen, int huff, uint8_t *dst, size_t cap, size_t *out)
{
  if (huff) {
    vq_status st = vq_qpack_huff_decode(s, slen, dst, cap, out);
    return st == VQ_OK ? VQ_OK : VQ_ERR_QPACK_ENCODER_STREAM;
  }
  if (slen > cap) return VQ_ERR_QPACK_ENCODER_STREAM;
  if (slen) memcpy(dst, s, slen);
  *out = slen;
  return VQ_OK;
}

/* Applies one parsed encoder instruction. Names and values are decoded into scratch first, so that a
 * name referring to an entry that the insert evicts survives (rfc9204#3.2.2). */
static vq_status apply_encoder_instr(vq_qpack_decoder *d, const vq_qpack_enc_instr *in)
{
  vq_qpack_dtable *t = &d->table;
  const size_t cap = (size_t)t->max_capacity;
  size_t nlen = 0, vlen = 0;
  switch (in->op) {
  case VQ_QPACK_SET_CAPACITY:
    /* spec: rfc9204#4.3.1/2 — a capacity above the maximum we advertised is an encoder stream error. */
    if (in->index > t->max_capacity) return VQ_ERR_QPACK_ENCODER_STREAM;
    dt_set_capacity(t, in->index);
    return VQ_OK;
  case VQ_QPACK_INSERT_NAME_REF: {
    const uint8_t *n;
    if (in->is_static) {
      /* spec: rfc9204#4.3.2, rfc9204#3.1/2 — a static index outside the table is an encoder stream error. */
      const vq_qpack_static_entry *s = vq_qpack_static_get(in->index);
      if (!s) return VQ_ERR_QPACK_ENCODER_STREAM;
      n = (const uint8_t *)s->name;
      nlen = s->name_len;
    } else {
      /* spec: rfc9204#3.2.5 — relative index 0 is the most recent insert; absolute = count - 1 - rel.
       * spec: rfc9204#2.2.3/2 — an index past the live entries names an evicted (or never inserted)
       * entry: QPACK_ENCODER_STREAM_ERROR. */
      const uint8_t *v;
      size_t vl;
      if (in->index >= dt_count(t)) return VQ_ERR_QPACK_ENCODER_STREAM;
      if (vq_qpack_dtable_get(t, t->inserts - 1 - in->index, &n, &nlen, &v, &vl) != VQ_OK)
        return VQ_ERR_QPACK_ENCODER_STREAM;
    }
    if (nlen > cap) return VQ_ERR_QPACK_ENCODER_STREAM;
    if (nlen) memcpy(d->scratch, n, nlen);
    vq_status st = enc_str(in->value, in->value_len, in->value_huff, d->scratch + nlen, cap - nlen, &vlen);
    if (st != VQ_OK) return st;
    break;
  }
  case VQ_QPACK_INSERT_LITERAL: {
    vq_status st = enc_str(in->name, in->name_len, in->name_huff, d->scratch, cap, &nlen);
    if (st != VQ_OK) return st;
    st = enc_str(in->value, in->value_len, in->value_huff, d->scratch + nlen, cap - nlen, &vlen);
    if (st != VQ_OK) return st;
    break;
  }
  case VQ_QPACK_DUPLICATE: {
    /* spec: rfc9204#4.3.4 — duplicates an existing entry by relative index (an evicted one is an
     * error, spec: rfc9204#2.2.3/2); spec: rfc9204#3.2/1 — the duplicate entry is not an error. */
    const uint8_t *n, *v;
    if (in->index >= dt_count(t)) return VQ_ERR_QPACK_ENCODER_STREAM;
    if (vq_qpack_dtable_get(t, t->inserts - 1 - in->index, &n, &nlen, &v, &vlen) != VQ_OK)
      return VQ_ERR_QPACK_ENCODER_STREAM;
    memcpy(d->scratch, n, nlen + vlen); /* name and value are contiguous */
    break;
  }
  default:
    return VQ_ERR_QPACK_ENCODER_STREAM;
  }
  /* spec: rfc9204#3.2.2/2 — an entry larger than the capacity is an encoder stream error. */
  return dt_insert(t, d->scratch, nlen, d->scratch + nlen, vlen);
}

/* Parses and applies every complete instruction of buf; *used is what it consumed.
 * spec: rfc9204#7.4/2 — a value too large to decode (an integer over 62 bits) on the encoder stream is
 * a connection error, QPACK_ENCODER_STREAM_ERROR. */
static vq_status run_encoder_instrs(vq_qpack_decoder *d, const uint8_t *buf, size_t len, size_t *used)
{
  size_t off = 0;
  while (off < len) {
    vq_qpack_enc_instr in;
    size_t u;
    vq_status st = vq_qpack_parse_encoder_instr(buf + off, len - off, &in, &u);
    if (st == VQ_ERR_TRUNCATED) break;
    if (st != VQ_OK) return VQ_ERR_QPACK_ENCODER_STREAM;
    if ((st = apply_encoder_instr(d, &in)) != VQ_OK) return VQ_ERR_QPACK_ENCODER_STREAM;
    off += u;
  }
  *used = off;
  return VQ_OK;
}

vq_status vq_qpack_decoder_encoder_stream(vq_qpack_decoder *d, const uint8_t *data, size_t len)
{
  size_t u;
  vq_status st;
  /* Finish a partial instruction from an earlier read first, a chunk at a time. */
  while (d->pending_len > 0 && len > 0) {
    size_t take = d->pending_cap - d->pending_len;
    if (take > len) take = len;
    memcpy(d->pending + d->pending_len, data, take);
    d->pending_len += take;
    data += take;
    len -= take;
    if ((st = run_encoder_instrs(d, d->pending, d->pending_len, &u)) != VQ_OK) return st;
    if (u == 0 && d->pending_len == d->pending_cap) return VQ_ERR_QPACK_ENCODER_STREAM; /* too long */
    memmove(d->pending, d->pending + u, d->pending_len - u);
    d->pending_len -= u;
    if (d->pending_len > 0 && u > 0) {
      /* More data may complete the rest; loop again only if we still have input. */
      continue;
    }
  }
  if (len == 0) return VQ_OK;
  if ((st = run_encoder_instrs(d, data, len, &u)) != VQ_OK) return st;
  if (len - u > d->pending_cap) return VQ_ERR_QPACK_ENCODER_STREAM;
  memcpy(d->pending, data + u, len - u);
  d->pending_len = len - u;
  return VQ_OK;
}

static int blocked_find(const vq_qpack_decoder *d, uint64_t sid)
{
  for (uint64_t i = 0; i < d->nblocked; i++)
    if (d->blocked[i] == sid) return (int)i;
  return -1;
}

static void blocked_remove(vq_qpack_decoder *d, uint64_t sid)
{
  int i = blocked_find(d, sid);
  if (i < 0) return;
  d->blocked[i] = d->blocked[d->nblocked - 1];
  d->nblocked--;
}

void vq_qpack_decoder_cancel_stream(vq_qpack_decoder *d, uint64_t stream_id)
{
  blocked_remove(d, stream_id);
}

/* Appends a field to out. name/value point to storage that outlives out (static table) when copy is
 * 0; dynamic-table strings are copied, since the entry can be evicted later. */
static vq_status out_field(vq_qpack_out *out, const uint8_t *n, size_t nlen, int ncopy, const uint8_t *v,
                           size_t vlen, int vcopy, int never)
{
  if (out->count >= out->max_fields) return VQ_ERR_BUFFER_TOO_SMALL;
  size_t need = (ncopy ? nlen : 0) + (vcopy ? vlen : 0);
  if (need > out->cap - out->used) return VQ_ERR_BUFFER_TOO_SMALL;
  vq_qpack_field *f = &out->fields[out->count];
  if (ncopy) {
    if (nlen) memcpy(out->buf + out->used, n, nlen);
    n = out->buf + out->used;
    out->used += nlen;
  }
  if (vcopy) {
    if (vlen) memcpy(out->buf + out->used, v, vlen);
    v = out->buf + out->used;
    out->used += vlen;
  }
  f->name = n;
  f->name_len = nlen;
  f->value = v;
  f->value_len = vlen;
  f->never_indexed = never;
  out->count++;
  return VQ_OK;
}

/* Decodes a string literal of a field line into out->buf (the bytes stay there). */
static vq_status sec_str(const uint8_t *buf, size_t len, unsigned n, vq_qpack_out *out, const uint8_t **s,
                         size_t *slen, size_t *used)
{
  size_t ol;
  vq_status st = vq_qpack_str_decode(buf, len, n, out->buf + out->used, out->cap - out->used, &ol, used);
  if (st == VQ_ERR_BUFFER_TOO_SMALL) return st;
  if (st != VQ_OK) return VQ_ERR_QPACK_DECOMPRESSION;
  *s = out->buf + out->used;
  *slen = ol;
  out->used += ol;
  return VQ_OK;
}

/* A dynamic entry referenced by a field line: it must be below the Required Insert Count and still in
 * the table. spec: rfc9204#2.2.3 / #4.5.1.1 — otherwise QPACK_DECOMPRESSION_FAILED.
 * spec: rfc9204#2.2.3/1, rfc9204#2.2.1/2 — a reference to an evicted entry, or at or above the
 * declared Required Insert Count (the count was smaller than the section needs), fails. */
static vq_status sec_dyn(const vq_qpack_decoder *d, uint64_t ric, uint64_t abs, uint64_t *max_ref,
                         const uint8_t **n, size_t *nlen, const uint8_t **v, size_t *vlen)
{
  if (abs >= ric) return VQ_ERR_QPACK_DECOMPRESSION;
  if (abs + 1 > *max_ref) *max_ref = abs + 1;
  return vq_qpack_dtable_get(&d->table, abs, n, nlen, v, vlen);
}

vq_status vq_qpack_decode_section(vq_qpack_decoder *d, uint64_t stream_id, const uint8_t *data,
                                  size_t len, vq_qpack_out *out, uint64_t *blocked_until, uint64_t *ric_out)
{
  uint64_t enc_ric, delta, ric, base;
  size_t u, off = 0;
  vq_status st;
  /* spec: rfc9204#4.5.1 — prefix: Encoded Required Insert Count (8-bit prefix), then S and Delta Base
   * (7-bit prefix). A truncated prefix is malformed.
   * spec: rfc9204#7.4/2 — in a field section, a value too large to decode (an integer over 62 bits)
   * is QPACK_DECOMPRESSION_FAILED. */
  if (vq_qpack_int_decode(data, len, 8, &enc_ric, &u) != VQ_OK) return VQ_ERR_QPACK_DECOMPRESSION;
  off += u;
  if (off >= len) return VQ_ERR_QPACK_DECOMPRESSION;
  const int sign = data[off] >= 0x80u;
  if (vq_qpack_int_decode(data + off, len - off, 7, &delta, &u) != VQ_OK) return VQ_ERR_QPACK_DECOMPRESSION;
  off += u;
  if (vq_qpack_ric_decode(enc_ric, d->table.max_entries, d->table.inserts, &ric) != VQ_OK)
    return VQ_ERR_QPACK_DECOMPRESSION;
  if (vq_qpack_base_decode(ric, sign, delta, &base) != VQ_OK) return VQ_ERR_QPACK_DECOMPRESSION;
  /* spec: rfc9204#2.1.2 — a section whose Required Insert Count exceeds the inserts received is
   * blocked; spec: rfc9204#2.1.2/2 — more blocked streams than SETTINGS_QPACK_BLOCKED_STREAMS is
   * QPACK_DECOMPRESSION_FAILED. */
  if (ric > d->table.inserts) {
    if (blocked_find(d, stream_id) < 0) {
      if (d->nblocked >= d->max_blocked) return VQ_ERR_QPACK_DECOMPRESSION;
      d->blocked[d->nblocked++] = stream_id;
    }
    if (blocked_until) *blocked_until = ric;
    return VQ_ERR_QPACK_BLOCKED;
  }
  blocked_remove(d, stream_id);
  /* spec: rfc9204#2.2/1 — field lines are emitted in the order of their representations. */
  out->count = 0;
  out->used = 0;
  uint64_t max_ref = 0; /* 1 + the largest absolute index referenced */
  while (off < len) {
    const uint8_t b = data[off];
    const uint8_t *n = NULL, *v = NULL;
    size_t nlen = 0, vlen = 0;
    uint64_t idx;
    if (b >= 0x80u) {
      /* spec: rfc9204#4.5.2 — Indexed Field Line: 1T + 6-bit index (static, or relative to Base). */
      if (vq_qpack_int_decode(data + off, len - off, 6, &idx, &u) != VQ_OK) return VQ_ERR_QPACK_DECOMPRESSION;
      off += u;
      if (b & 0x40u) {
        /* spec: rfc9204#3.1/1 — an invalid static index in a field line: QPACK_DECOMPRESSION_FAILED. */
        const vq_qpack_static_entry *s = vq_qpack_static_get(idx);
        if (!s) return VQ_ERR_QPACK_DECOMPRESSION;
        st = out_field(out, (const uint8_t *)s->name, s->name_len, 0, (const uint8_t *)s->value,
                       s->value_len, 0, 0);
      } else {
        if (idx >= base) return VQ_ERR_QPACK_DECOMPRESSION;
        if ((st = sec_dyn(d, ric, base - 1 - idx, &max_ref, &n, &nlen, &v, &vlen)) != VQ_OK) return st;
        st = out_field(out, n, nlen, 1, v, vlen, 1, 0);
      }
    } else if (b >= 0x40u) {
      /* spec: rfc9204#4.5.4 — Literal Field Line with Name Reference: 01NT + 4-bit index, value. */
      const int never = (b & 0x20u) != 0;
      if (vq_qpack_int_decode(data + off, len - off, 4, &idx, &u) != VQ_OK) return VQ_ERR_QPACK_DECOMPRESSION;
      off += u;
      int ncopy = 0;
      if (b & 0x10u) {
        const vq_qpack_static_entry *s = vq_qpack_static_get(idx);
        if (!s) return VQ_ERR_QPACK_DECOMPRESSION;
        n = (const uint8_t *)s->name;
        nlen = s->name_len;
      } else {
        const uint8_t *dv;
        size_t dvl;
        if (idx >= base) return VQ_ERR_QPACK_DECOMPRESSION;
        if ((st = sec_dyn(d, ric, base - 1 - idx, &max_ref, &n, &nlen, &dv, &dvl)) != VQ_OK) return st;
        ncopy = 1;
      }
      if (ncopy) {
        /* Copy the name before the value so both live in out->buf. */
        if (nlen > out->cap - out->used) return VQ_ERR_BUFFER_TOO_SMALL;
        if (nlen) memcpy(out->buf + out->used, n, nlen);
        n = out->buf + out->used;
        out->used += nlen;
      }
      if ((st = sec_str(data + off, len - off, 7, out, &v, &vlen, &u)) != VQ_OK) return st;
      off += u;
      st = out_field(out, n, nlen, 0, v, vlen, 0, never);
    } else if (b >= 0x20u) {
      /* spec: rfc9204#4.5.6 — Literal Field Line with Literal Name: 001NH + 3-bit name length. */
      const int never = (b & 0x10u) != 0;
      if ((st = sec_str(data + off, len - off, 3, out, &n, &nlen, &u)) != VQ_OK) return st;
      off += u;
      if ((st = sec_str(data + off, len - off, 7, out, &v, &vlen, &u)) != VQ_OK) return st;
      off += u;
      st = out_field(out, n, nlen, 0, v, vlen, 0, never);
    } else if (b >= 0x10u) {
      /* spec: rfc9204#4.5.3 — Indexed Field Line with Post-Base Index: 0001 + 4-bit index. */
      if (vq_qpack_int_decode(data + off, len - off, 4, &idx, &u) != VQ_OK) return VQ_ERR_QPACK_DECOMPRESSION;
      off += u;
      if (idx >= VQ_QPACK_INT_MAX - base) return VQ_ERR_QPACK_DECOMPRESSION;
      if ((st = sec_dyn(d, ric, base + idx, &max_ref, &n, &nlen, &v, &vlen)) != VQ_OK) return st;
      st = out_field(out, n, nlen, 1, v, vlen, 1, 0);
    } else {
      /* spec: rfc9204#4.5.5 — Literal Field Line with Post-Base Name Reference: 0000N + 3-bit index. */
      const int never = (b & 0x08u) != 0;
      const uint8_t *dv;
      size_t dvl;
      if (vq_qpack_int_decode(data + off, len - off, 3, &idx, &u) != VQ_OK) return VQ_ERR_QPACK_DECOMPRESSION;
      off += u;
      if (idx >= VQ_QPACK_INT_MAX - base) return VQ_ERR_QPACK_DECOMPRESSION;
      if ((st = sec_dyn(d, ric, base + idx, &max_ref, &n, &nlen, &dv, &dvl)) != VQ_OK) return st;
      if (nlen > out->cap - out->used) return VQ_ERR_BUFFER_TOO_SMALL;
      if (nlen) memcpy(out->buf + out->used, n, nlen);
      n = out->buf + out->used;
      out->used += nlen;
      if ((st = sec_str(data + off, len - off, 7, out, &v, &vlen, &u)) != VQ_OK) return st;
      off += u;
      st = out_field(out, n, nlen, 0, v, vlen, 0, never);
    }
    if (st != VQ_OK) return st;
  }
  /* spec: rfc9204#2.1.2 — the Required Insert Count must be the smallest that decodes the section;
   * a larger one MAY be treated as QPACK_DECOMPRESSION_FAILED (we do: a conformant encoder sends the
   * exact value, and a larger one would make us block or acknowledge inserts for nothing). */
  if (ric != max_ref) return VQ_ERR_QPACK_DECOMPRESSION;
  if (ric_out) *ric_out = ric;
  return VQ_OK;
}

/* spec: rfc9204#2.2.2.1/1 — a decoded section with dynamic references (Required Insert Count > 0) is
 * acknowledged with a Section Acknowledgment. */
vq_status vq_qpack_decoder_build_acks(vq_qpack_decoder *d, uint64_t stream_id, uint64_t section_ric,
                                      uint8_t *buf, size_t cap, size_t *used)
{
  size_t off = 0, u;
  vq_status st;
  if (section_ric > 0) {
    if ((st = vq_qpack_build_section_ack(buf, cap, stream_id, &u)) != VQ_OK) return st;
    off += u;
    if (section_ric > d->acked_inserts) d->acked_inserts = section_ric;
  }
  if (d->table.inserts > d->acked_inserts) {
    if ((st = vq_qpack_build_insert_count_inc(buf + off, cap - off, d->table.inserts - d->acked_inserts,
                                              &u)) != VQ_OK)
      return st;
    off += u;
    d->acked_inserts = d->table.inserts;
  }
  *used = off;
  return VQ_OK;
}
