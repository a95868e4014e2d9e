/* vquic — QPACK field section encoder (RFC 9204 §2.1, §4.5) with a dynamic table.
 *
 * Policy (documented in include/vquic/qpack.h):
 *  1. an exact static-table match is sent as an Indexed Field Line (static);
 *  2. an exact dynamic-table match is referenced when it may be: it was acknowledged (absolute index
 *     below the Known Received Count), or this section is allowed to block (the stream already has a
 *     blocking section, or fewer than SETTINGS_QPACK_BLOCKED_STREAMS streams are blocking, §2.1.2);
 *     a match among the oldest quarter of the entries (the draining zone, §2.1.1.1) is first
 *     duplicated when the table can take the copy, so the old entry can drain;
 *  3. otherwise, a field no entry holds yet is inserted when it is worth indexing (not marked never-indexed,
 *     not authorization / proxy-authorization (§7.1.3), not a name whose values rarely repeat:
 *     :path, content-length, date, etag, last-modified, if-modified-since, if-none-match, age,
 *     location), its entry takes at most 1/4 of the capacity (so small tables do not churn), and room can be made by evicting only
 *     entries that no unacknowledged section (and not this one) references (§2.1.1), that the
 *     decoder has acknowledged and that were never referenced (useful entries stay; the Duplicate of
 *     rule 2 refreshes them); the new entry is
 *     referenced at once only if the section may block, otherwise it serves later sections;
 *  4. anything else is a literal, with a static name reference, else a dynamic name reference under
 *     the same rule as 2, else a literal name; Huffman coding is used when shorter.
 * Base is the Insert Count when the section starts; entries inserted for the section are referenced
 * with post-base indices. Sections with a non-zero Required Insert Count are tracked until
 * acknowledged or cancelled; when the tracking array is full the encoder stops using the dynamic
 * table for new sections (and stays correct). */
#include "h3/qpack_internal.h"

#include <string.h>

#define ENTRY_OVERHEAD 32u
#define PREFIX_RESERVE 20u /* two prefixed integers of at most 10 bytes each */

size_t vq_qpack_encoder_mem(uint64_t capacity, size_t max_sections)
{
  if (capacity > (1ull << 30) || max_sections > (1u << 20)) return 0;
  return max_sections * sizeof(vq_qpack_section) + (size_t)(capacity / ENTRY_OVERHEAD) * sizeof(uint32_t) +
         vq_qpack_dtable_mem(capacity) + (size_t)capacity;
}

vq_status vq_qpack_encoder_init(vq_qpack_encoder *e, void *mem, size_t mem_len, uint64_t capacity,
                                uint64_t peer_max_capacity, uint64_t peer_max_blocked,
                                size_t max_sections)
{
  /* spec: rfc9204#3.2.3/1 — never a capacity above the decoder's SETTINGS_QPACK_MAX_TABLE_CAPACITY. */
  if (!e || capacity > (1ull << 30) || capacity > peer_max_capacity || max_sections > (1u << 20))
    return VQ_ERR_INVALID_ARGUMENT;
  size_t need = vq_qpack_encoder_mem(capacity, max_sections);
  if (need > 0 && (!mem || mem_len < need)) return VQ_ERR_BUFFER_TOO_SMALL;
  memset(e, 0, sizeof *e);
  uint8_t *p = mem;
  e->sections = (vq_qpack_section *)(void *)p;
  p += max_sections * sizeof(vq_qpack_section);
  e->uses = (uint32_t *)(void *)p;
  p += (size_t)(capacity / ENTRY_OVERHEAD) * sizeof(uint32_t);
  size_t tm = vq_qpack_dtable_mem(capacity);
  vq_status st = vq_qpack_dtable_init(&e->table, p, tm, capacity);
  if (st != VQ_OK) return st;
  p += tm;
  e->scratch = p;
  e->table.capacity = capacity;
  e->peer_max_capacity = peer_max_capacity;
  e->peer_max_blocked = peer_max_blocked;
  e->max_sections = max_sections;
  /* spec: rfc9204#3.2.3 — the decoder's table starts at 0: a non-zero capacity must be announced.
   * spec: rfc9204#3.2.3/4 — with a capacity of 0 nothing is announced and nothing inserted (max_entries
   * is 0, so vq_qpack_encode_section never uses the dynamic table): no encoder instruction at all. */
  e->capacity_sent = capacity == 0;
  return VQ_OK;
}

/* ---- table helpers ------------------------------------------------------------------------------ */

static const vq_qpack_dentry *ent(const vq_qpack_encoder *e, uint64_t abs)
{
  return &e->table.ring[abs % e->table.max_entries];
}

static int ent_is(const vq_qpack_encoder *e, uint64_t abs, const vq_qpack_field *f, int with_value)
{
  const vq_qpack_dentry *d = ent(e, abs);
  const uint8_t *b = e->table.bytes + d->off;
  if (d->name_len != f->name_len || (f->name_len && memcmp(b, f->name, f->name_len) != 0)) return 0;
  if (!with_value) return 1;
  return d->value_len == f->value_len &&
         (f->value_len == 0 || memcmp(b + d->name_len, f->value, f->value_len) == 0);
}

/* Newest entry matching the field (with or without its value), or -1. */
static int64_t find_dyn(const vq_qpack_encoder *e, const vq_qpack_field *f, int with_value)
{
  for (uint64_t a = e->table.inserts; a > e->table.dropped; a--)
    if (ent_is(e, a - 1, f, with_value)) return (int64_t)(a - 1);
  return -1;
}

/* Smallest absolute index referenced by an unacknowledged section (or this one, cur_min). */
static uint64_t min_referenced(const vq_qpack_encoder *e, uint64_t cur_min)
{
  uint64_t m = cur_min;
  for (size_t i = 0; i < e->nsections; i++)
    if (e->sections[i].min_ref < m) m = e->sections[i].min_ref;
  return m;
}

/* Can an entry of size s be inserted by evicting only entries below `floor` (that no unacknowledged
 * section references, §2.1.1)? For a new field (not a Duplicate), the evicted entries must also have
 * been acknowledged by the decoder and never referenced: entries that proved useful are kept, and
 * entries are not churned out before they had a chance to be used. */
static int can_insert(const vq_qpack_encoder *e, uint64_t s, uint64_t floor, int keep_useful)
{
  const vq_qpack_dtable *t = &e->table;
  if (s > t->capacity) return 0;
  uint64_t size = t->size, a = t->dropped;
  while (size + s > t->capacity) {
    /* spec: rfc9204#2.1.1/1, rfc9204#3.2.2/1 — only evictable entries may be evicted: their insertion
     * acknowledged (below the Known Received Count) and no unacknowledged section referencing them */
    if (a >= t->inserts || a >= floor || a >= e->known_received) return 0;
    if (keep_useful && e->uses[a % t->max_entries] > 0) return 0;
    const vq_qpack_dentry *d = ent(e, a);
    size -= (uint64_t)d->name_len + d->value_len + ENTRY_OVERHEAD;
    a++;
  }
  return 1;
}

/* Mirrors an insert in our table (evicting as the decoder will). name/value may point into the table:
 * they are copied to scratch first. */
static void mirror_insert(vq_qpack_encoder *e, const uint8_t *n, size_t nlen, const uint8_t *v, size_t vlen)
{
  vq_qpack_dtable *t = &e->table;
  uint64_t s = (uint64_t)nlen + vlen + ENTRY_OVERHEAD;
  if (nlen) memmove(e->scratch, n, nlen);
  if (vlen) memmove(e->scratch + nlen, v, vlen);
  while (t->size + s > t->capacity) {
    const vq_qpack_dentry *d = ent(e, t->dropped);
    t->size -= (uint64_t)d->name_len + d->value_len + ENTRY_OVERHEAD;
    t->dropped++;
    if (t->dropped == t->inserts) t->tail = 0;
  }
  if ((uint64_t)t->tail + nlen + vlen > t->max_capacity) {
    uint32_t start = t->dropped < t->inserts ? ent(e, t->dropped)->off : t->tail;
    memmove(t->bytes, t->bytes + start, t->tail - start);
    for (uint64_t a = t->dropped; a < t->inserts; a++) t->ring[a % t->max_entries].off -= start;
    t->tail -= start;
  }
  vq_qpack_dentry *d = &t->ring[t->inserts % t->max_entries];
  e->uses[t->inserts % t->max_entries] = 0;
  d->off = t->tail;
  d->name_len = (uint32_t)nlen;
  d->value_len = (uint32_t)vlen;
  memcpy(t->bytes + t->tail, e->scratch, nlen + vlen);
  t->tail += (uint32_t)(nlen + vlen);
  t->size += s;
  t->inserts++;
}

/* ---- blocking ----------------------------------------------------------------------------------- */

static int stream_blocking(const vq_qpack_encoder *e, uint64_t sid)
{
  for (size_t i = 0; i < e->nsections; i++)
    if (e->sections[i].stream_id == sid && e->sections[i].ric > e->known_received) return 1;
  return 0;
}

static uint64_t blocking_streams(const vq_qpack_encoder *e)
{
  uint64_t n = 0;
  for (size_t i = 0; i < e->nsections; i++) {
    if (e->sections[i].ric <= e->known_received) continue;
    int seen = 0;
    for (size_t j = 0; j < i; j++)
      if (e->sections[j].stream_id == e->sections[i].stream_id && e->sections[j].ric > e->known_received)
        seen = 1;
    if (!seen) n++;
  }
  return n;
}

static int worth_indexing(const vq_qpack_field *f)
{
  static const char *const skip[] = {
    "authorization", "proxy-authorization", ":path", "content-length", "date", "etag",
    "last-modified", "if-modified-since", "if-none-match", "age", "location",
  };
  if (f->never_indexed) return 0;
  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
    if (strlen(skip[i]) == f->name_len && memcmp(skip[i], f->name, f->name_len) == 0) return 0;
  return 1;
}

/* ---- field line writers (RFC 9204 §4.5.2 - §4.5.6) ---------------------------------------------- */

static int huff_better(const uint8_t *s, size_t len)
{
  return len > 0 && len < (1ull << 40) && vq_qpack_huff_len(s, len) < len;
}

static vq_status put_ref(uint8_t *buf, size_t cap, size_t *off, uint64_t abs, uint64_t base)
{
  size_t u;
  vq_status st = abs < base ? vq_qpack_int_encode(buf + *off, cap - *off, 6, 0x80u, base - 1 - abs, &u)
                            : vq_qpack_int_encode(buf + *off, cap - *off, 4, 0x10u, abs - base, &u);
  if (st == VQ_OK) *off += u;
  return st;
}

static vq_status put_value(uint8_t *buf, size_t cap, size_t *off, const vq_qpack_field *f)
{
  size_t u;
  vq_status st = vq_qpack_str_encode(buf + *off, cap - *off, 7, 0, f->value, f->value_len,
                                     huff_better(f->value, f->value_len), &u);
  if (st == VQ_OK) *off += u;
  return st;
}

/* ---- the encoder -------------------------------------------------------------------------------- */

vq_status vq_qpack_encode_section(vq_qpack_encoder *e, uint64_t stream_id, const vq_qpack_field *fields,
                                  size_t nfields, uint8_t *enc, size_t enc_cap, size_t *enc_len,
                                  uint8_t *sec, size_t sec_cap, size_t *sec_len)
{
  vq_qpack_dtable *t = &e->table;
  size_t eoff = 0, soff = PREFIX_RESERVE, u;
  vq_status st;
  if (sec_cap < PREFIX_RESERVE) return VQ_ERR_BUFFER_TOO_SMALL;
  /* spec: rfc9204#4.3.1/1, rfc9204#4.3.1/3 — Set Dynamic Table Capacity is sent once, before the first
   * insert (so it evicts nothing), with the capacity vq_qpack_encoder_init checked against the limit. */
  if (!e->capacity_sent) {
    if ((st = vq_qpack_build_set_capacity(enc, enc_cap, t->capacity, &u)) != VQ_OK) return st;
    eoff += u;
    e->capacity_sent = 1;
  }
  const uint64_t base = t->inserts;
  const int use_dyn = t->max_entries > 0 && e->nsections < e->max_sections;
  /* spec: rfc9204#2.1.2/1 — a section may reference unacknowledged entries (and so block) only on a
   * stream that is blocking already or while fewer than SETTINGS_QPACK_BLOCKED_STREAMS streams are. */
  const int may_block = use_dyn && (stream_blocking(e, stream_id) || blocking_streams(e) < e->peer_max_blocked);
  uint64_t ric = 0, min_ref = UINT64_MAX;

  /* spec: rfc9204#2.1/2 — one representation per input field, in input order. */
  for (size_t i = 0; i < nfields; i++) {
    const vq_qpack_field *f = &fields[i];
    int sname = -1;
    int sidx = vq_qpack_static_find(f->name, f->name_len, f->value, f->value_len, &sname);
    /* spec: rfc9204#4.5.4/1 — a field marked never-indexed is never an indexed field line (static or
     * dynamic) nor inserted: always a literal, with the N bit set (below). */
    if (sidx >= 0 && !f->never_indexed) {
      if ((st = vq_qpack_int_encode(sec + soff, sec_cap - soff, 6, 0xc0u, (uint64_t)sidx, &u)) != VQ_OK)
        return st;
      soff += u;
      continue;
    }
    const uint64_t entry_size = (uint64_t)f->name_len + f->value_len + ENTRY_OVERHEAD;
    int64_t dyn = -1;
    if (use_dyn && !f->never_indexed) {
      const int64_t match = find_dyn(e, f, 1);
      dyn = match;
      if (dyn >= 0 && (uint64_t)dyn >= e->known_received && !may_block) dyn = -1;
      /* Draining zone: duplicate an old entry so that it can be evicted (rfc9204#2.1.1.1, #4.3.4). */
      if (dyn >= 0 && may_block && (uint64_t)dyn - t->dropped < (t->inserts - t->dropped) / 4 &&
          can_insert(e, entry_size, min_referenced(e, min_ref < (uint64_t)dyn ? min_ref : (uint64_t)dyn), 0)) {
        if ((st = vq_qpack_build_duplicate(enc + eoff, enc_cap - eoff, t->inserts - 1 - (uint64_t)dyn, &u)) != VQ_OK)
          return st;
        eoff += u;
        const vq_qpack_dentry *d = ent(e, (uint64_t)dyn);
        mirror_insert(e, t->bytes + d->off, d->name_len, t->bytes + d->off + d->name_len, d->value_len);
        dyn = (int64_t)(t->inserts - 1);
      }
      /* Insert when no entry holds the field yet; when this section may not block, the new entry is
       * not referenced now (a literal is sent) but serves later sections once acknowledged. */
      if (match < 0 && worth_indexing(f) && entry_size * 4 <= t->capacity &&
          can_insert(e, entry_size, min_referenced(e, min_ref), 1)) {
        /* Insert: with a static name reference, a dynamic name reference, or a literal name. */
        int64_t dname = sname >= 0 ? -1 : find_dyn(e, f, 0);
        if (sname >= 0)
          st = vq_qpack_build_insert_name_ref(enc + eoff, enc_cap - eoff, 1, (uint64_t)sname, f->value,
                                              f->value_len, VQ_QPACK_HUFF_AUTO, &u);
        else if (dname >= 0)
          st = vq_qpack_build_insert_name_ref(enc + eoff, enc_cap - eoff, 0, t->inserts - 1 - (uint64_t)dname,
                                              f->value, f->value_len, VQ_QPACK_HUFF_AUTO, &u);
        else
          st = vq_qpack_build_insert_literal(enc + eoff, enc_cap - eoff, f->name, f->name_len, f->value,
                                             f->value_len, VQ_QPACK_HUFF_AUTO, &u);
        if (st != VQ_OK) return st;
        eoff += u;
        mirror_insert(e, f->name, f->name_len, f->value, f->value_len);
        if (may_block) dyn = (int64_t)(t->inserts - 1);
      }
    }
    if (dyn >= 0) {
      if ((st = put_ref(sec, sec_cap, &soff, (uint64_t)dyn, base)) != VQ_OK) return st;
      e->uses[(uint64_t)dyn % t->max_entries]++;
      if ((uint64_t)dyn + 1 > ric) ric = (uint64_t)dyn + 1;
      if ((uint64_t)dyn < min_ref) min_ref = (uint64_t)dyn;
      continue;
    }
    /* Literal. N bit (never indexed, §4.5.4) for fields marked so. */
    const uint8_t n_bit = f->never_indexed ? 1u : 0u;
    if (sname >= 0) {
      if ((st = vq_qpack_int_encode(sec + soff, sec_cap - soff, 4, (uint8_t)(0x50u + n_bit * 0x20u),
                                    (uint64_t)sname, &u)) != VQ_OK)
        return st;
      soff += u;
    } else {
      int64_t dname = use_dyn ? find_dyn(e, f, 0) : -1;
      if (dname >= 0 && (uint64_t)dname >= e->known_received && !may_block) dname = -1;
      if (dname >= 0 && (uint64_t)dname < base) {
        if ((st = vq_qpack_int_encode(sec + soff, sec_cap - soff, 4, (uint8_t)(0x40u + n_bit * 0x20u),
                                      base - 1 - (uint64_t)dname, &u)) != VQ_OK)
          return st;
      } else if (dname >= 0) {
        if ((st = vq_qpack_int_encode(sec + soff, sec_cap - soff, 3, (uint8_t)(n_bit * 0x08u),
                                      (uint64_t)dname - base, &u)) != VQ_OK)
          return st;
      } else {
        if ((st = vq_qpack_str_encode(sec + soff, sec_cap - soff, 3, (uint8_t)(0x20u + n_bit * 0x10u), f->name,
                                      f->name_len, huff_better(f->name, f->name_len), &u)) != VQ_OK)
          return st;
      }
      soff += u;
      if (dname >= 0) {
        if ((uint64_t)dname + 1 > ric) ric = (uint64_t)dname + 1;
        if ((uint64_t)dname < min_ref) min_ref = (uint64_t)dname;
      }
    }
    if ((st = put_value(sec, sec_cap, &soff, f)) != VQ_OK) return st;
  }

  /* spec: rfc9204#4.5.1 — prefix: Required Insert Count (encoded, §4.5.1.1), then Base as a signed
   * delta from it (§4.5.1.2). Base >= RIC unless only post-base entries are referenced. */
  uint8_t pre[PREFIX_RESERVE];
  size_t plen = 0;
  uint64_t enc_ric;
  if ((st = vq_qpack_ric_encode(ric, e->peer_max_capacity / ENTRY_OVERHEAD, &enc_ric)) != VQ_OK) return st;
  if ((st = vq_qpack_int_encode(pre, sizeof pre, 8, 0, enc_ric, &u)) != VQ_OK) return st;
  plen += u;
  if (ric == 0 || base >= ric)
    st = vq_qpack_int_encode(pre + plen, sizeof pre - plen, 7, 0, ric ? base - ric : 0, &u);
  else
    st = vq_qpack_int_encode(pre + plen, sizeof pre - plen, 7, 0x80u, ric - base - 1, &u);
  if (st != VQ_OK) return st;
  plen += u;
  memmove(sec + plen, sec + PREFIX_RESERVE, soff - PREFIX_RESERVE);
  memcpy(sec, pre, plen);
  *sec_len = soff - PREFIX_RESERVE + plen;
  *enc_len = eoff;
  if (ric > 0) {
    vq_qpack_section *s = &e->sections[e->nsections++];
    s->stream_id = stream_id;
    s->ric = ric;
    s->min_ref = min_ref;
  }
  return VQ_OK;
}

/* ---- decoder stream (RFC 9204 §4.4) ------------------------------------------------------------- */

static void drop_section(vq_qpack_encoder *e, size_t i)
{
  memmove(&e->sections[i], &e->sections[i + 1], (e->nsections - i - 1) * sizeof e->sections[0]);
  e->nsections--;
}

static vq_status apply_decoder_instr(vq_qpack_encoder *e, vq_qpack_dec_op op, uint64_t v)
{
  switch (op) {
  case VQ_QPACK_SECTION_ACK:
    /* spec: rfc9204#4.4.1, rfc9204#4.4.1/1 — acknowledges the oldest unacknowledged section of the
     * stream; one with nothing left to acknowledge is a QPACK_DECODER_STREAM_ERROR. The Known Received
     * Count becomes at least its Required Insert Count (§2.1.4). */
    for (size_t i = 0; i < e->nsections; i++) {
      if (e->sections[i].stream_id != v) continue;
      if (e->sections[i].ric > e->known_received) e->known_received = e->sections[i].ric;
      drop_section(e, i);
      return VQ_OK;
    }
    return VQ_ERR_QPACK_DECODER_STREAM;
  case VQ_QPACK_STREAM_CANCEL:
    /* spec: rfc9204#4.4.2 — the stream's sections will not be acknowledged: release their references. */
    for (size_t i = e->nsections; i > 0; i--)
      if (e->sections[i - 1].stream_id == v) drop_section(e, i - 1);
    return VQ_OK;
  case VQ_QPACK_INSERT_COUNT_INC:
    /* spec: rfc9204#4.4.3, rfc9204#4.4.3/1 — an increment of 0, or beyond what was sent, is a
     * decoder stream error. */
    if (v == 0 || v > e->table.inserts - e->known_received) return VQ_ERR_QPACK_DECODER_STREAM;
    e->known_received += v;
    return VQ_OK;
  default:
    return VQ_ERR_QPACK_DECODER_STREAM;
  }
}

vq_status vq_qpack_encoder_decoder_stream(vq_qpack_encoder *e, const uint8_t *data, size_t len)
{
  /* Decoder instructions are at most 11 bytes: gather a split one byte by byte in `pending`. */
  size_t off = 0;
  while (off < len) {
    vq_qpack_dec_op op;
    uint64_t v;
    size_t u;
    vq_status st;
    if (e->pending_len > 0) {
      e->pending[e->pending_len++] = data[off++];
      st = vq_qpack_parse_decoder_instr(e->pending, e->pending_len, &op, &v, &u);
      if (st == VQ_ERR_TRUNCATED) {
        if (e->pending_len == sizeof e->pending) return VQ_ERR_QPACK_DECODER_STREAM;
        continue;
      }
      e->pending_len = 0;
    } else {
      st = vq_qpack_parse_decoder_instr(data + off, len - off, &op, &v, &u);
      if (st == VQ_ERR_TRUNCATED) {
        if (len - off >= sizeof e->pending) return VQ_ERR_QPACK_DECODER_STREAM;
        memcpy(e->pending, data + off, len - off);
        e->pending_len = len - off;
        return VQ_OK;
      }
      if (st == VQ_OK) off += u;
    }
    if (st != VQ_OK) return VQ_ERR_QPACK_DECODER_STREAM;
    if ((st = apply_decoder_instr(e, op, v)) != VQ_OK) return st;
  }
  return VQ_OK;
}
