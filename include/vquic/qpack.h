/* vquic — QPACK (RFC 9204): field compression for HTTP/3.
 *
 * Two layers:
 *  - primitives (src/h3/qpack_prim.c, proved with WP + Eva): prefixed integers (RFC 7541 §5.1 as used
 *    by RFC 9204 §4.1.1), string literals with the Huffman code (RFC 9204 §4.1.2, RFC 7541 App. B),
 *    Required Insert Count and Base arithmetic (RFC 9204 §4.5.1);
 *  - the codec (src/h3/qpack.c, tested and fuzzed): static table (App. A), dynamic table (§3.2),
 *    encoder and decoder stream instructions (§4.3, §4.4), field section decoding and encoding (§4.5).
 *
 * Memory: every table and buffer lives in storage the caller hands over (vq_qpack_*_mem() says how
 * much); nothing is allocated and nothing grows. */
#ifndef VQUIC_QPACK_H
#define VQUIC_QPACK_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/error.h"

#define VQ_QPACK_INT_MAX 4611686018427387903ull /* 2^62 - 1 */

/* ---- primitives --------------------------------------------------------------------------------- */

/* Decodes an integer with an n-bit prefix (1 <= n <= 8) from buf[0 .. len-1]; the bits of buf[0]
 * above the prefix are ignored. VQ_ERR_TRUNCATED if the input ends inside it, VQ_ERR_QPACK_INTEGER if
 * it exceeds 2^62-1 or has more than 9 continuation bytes (no value <= 2^62-1 needs more). */
vq_status vq_qpack_int_decode(const uint8_t *buf, size_t len, unsigned n, uint64_t *v, size_t *used);
/* Encodes v (<= 2^62-1) with an n-bit prefix; `first` holds the instruction bits above the prefix
 * (first % 2^n == 0). */
vq_status vq_qpack_int_encode(uint8_t *buf, size_t cap, unsigned n, uint8_t first, uint64_t v,
                              size_t *used);
/* Bytes vq_qpack_int_encode writes for v with an n-bit prefix (v <= 2^62-1). */
size_t vq_qpack_int_len(unsigned n, uint64_t v);

/* Huffman (RFC 7541 Appendix B). decode: VQ_ERR_QPACK_HUFFMAN for an EOS symbol, padding longer than
 * 7 bits or padding not all ones; VQ_ERR_BUFFER_TOO_SMALL if the output does not fit. */
vq_status vq_qpack_huff_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);
vq_status vq_qpack_huff_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* Length of the Huffman encoding of in[0 .. len-1] (len < 2^48). */
size_t vq_qpack_huff_len(const uint8_t *in, size_t len);

/* String literal (RFC 9204 §4.1.2): the H bit just above an n-bit length prefix (1 <= n <= 7), the
 * length, then the bytes (Huffman-coded if H). Decodes into out; *used is the literal's wire size. */
vq_status vq_qpack_str_decode(const uint8_t *buf, size_t len, unsigned n, uint8_t *out, size_t cap,
                              size_t *out_len, size_t *used);
/* Encodes s with an n-bit length prefix below the H bit; `first` holds the bits above the H bit
 * (first % 2^(n+1) == 0). Huffman-codes s iff huffman != 0. */
vq_status vq_qpack_str_encode(uint8_t *buf, size_t cap, unsigned n, uint8_t first, const uint8_t *s,
                              size_t slen, int huffman, size_t *used);

/* Required Insert Count (RFC 9204 §4.5.1.1). max_entries = floor(MaxTableCapacity / 32). decode:
 * VQ_ERR_QPACK_DECOMPRESSION for the invalid encodings the section lists. */
vq_status vq_qpack_ric_decode(uint64_t encoded, uint64_t max_entries, uint64_t total_inserts,
                              uint64_t *ric);
vq_status vq_qpack_ric_encode(uint64_t ric, uint64_t max_entries, uint64_t *encoded);
/* Base (RFC 9204 §4.5.1.2) from the sign bit and Delta Base; VQ_ERR_QPACK_DECOMPRESSION if negative
 * or out of range. */
vq_status vq_qpack_base_decode(uint64_t ric, int sign, uint64_t delta, uint64_t *base);

/* ---- static table ------------------------------------------------------------------------------- */

#define VQ_QPACK_STATIC_COUNT 99
typedef struct vq_qpack_static_entry {
  const char *name;
  uint32_t name_len;
  const char *value;
  uint32_t value_len;
} vq_qpack_static_entry;
/* Entry `index` (0..98) or NULL. */
const vq_qpack_static_entry *vq_qpack_static_get(uint64_t index);
/* Encoder lookups: index of an entry with this name and value (-1 if none); with this name only. */
int vq_qpack_static_find(const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
                         int *name_index);

/* ---- dynamic table (RFC 9204 §3.2) -------------------------------------------------------------- */

typedef struct vq_qpack_dentry {
  uint32_t off;       /* name then value, contiguous in `bytes` */
  uint32_t name_len;
  uint32_t value_len;
} vq_qpack_dentry;

typedef struct vq_qpack_dtable {
  uint64_t max_capacity;   /* what we advertise (SETTINGS_QPACK_MAX_TABLE_CAPACITY) or were given */
  uint64_t capacity;       /* current capacity, <= max_capacity */
  uint64_t size;           /* sum of entry sizes (§3.2.1: name + value + 32) */
  uint64_t inserts;        /* Insert Count: absolute index of the next entry */
  uint64_t dropped;        /* absolute index of the oldest live entry */
  vq_qpack_dentry *ring;   /* max_entries slots, entry `abs` at ring[abs % max_entries] */
  uint32_t max_entries;    /* floor(max_capacity / 32) */
  uint8_t *bytes;          /* max_capacity bytes; live entries contiguous from ring[dropped].off */
  uint32_t tail;           /* end of the live bytes */
} vq_qpack_dtable;

/* Storage a table of max_capacity needs (max_capacity <= 2^30). */
size_t vq_qpack_dtable_mem(uint64_t max_capacity);
vq_status vq_qpack_dtable_init(vq_qpack_dtable *t, void *mem, size_t mem_len, uint64_t max_capacity);
/* Entry by absolute index; VQ_ERR_QPACK_DECOMPRESSION if not in the table. */
vq_status vq_qpack_dtable_get(const vq_qpack_dtable *t, uint64_t abs, const uint8_t **name,
                              size_t *nlen, const uint8_t **value, size_t *vlen);

/* ---- decoder ------------------------------------------------------------------------------------ */

typedef struct vq_qpack_field {
  const uint8_t *name;
  size_t name_len;
  const uint8_t *value;
  size_t value_len;
  int never_indexed;   /* the N bit of a literal (§4.5.4 - §4.5.6) */
} vq_qpack_field;

/* Where a decoded field section goes: field descriptors and the bytes they point to. */
typedef struct vq_qpack_out {
  vq_qpack_field *fields;
  size_t max_fields;
  size_t count;
  uint8_t *buf;
  size_t cap;
  size_t used;
} vq_qpack_out;

typedef struct vq_qpack_decoder {
  vq_qpack_dtable table;
  uint64_t max_blocked;       /* SETTINGS_QPACK_BLOCKED_STREAMS we advertised */
  uint64_t *blocked;          /* stream IDs currently blocked (max_blocked slots) */
  uint64_t nblocked;
  uint64_t acked_inserts;     /* inserts already reported by Section Ack / Insert Count Increment */
  uint8_t *pending;           /* a partial encoder-stream instruction */
  size_t pending_len, pending_cap;
  uint8_t *scratch;           /* max_capacity bytes: name + value of an insert being applied */
} vq_qpack_decoder;

/* Storage a decoder with these limits needs (max_capacity <= 2^30, max_blocked <= 2^16). */
size_t vq_qpack_decoder_mem(uint64_t max_capacity, uint64_t max_blocked);
vq_status vq_qpack_decoder_init(vq_qpack_decoder *d, void *mem, size_t mem_len, uint64_t max_capacity,
                                uint64_t max_blocked);
/* Sets the table capacity as if Set Dynamic Table Capacity had been received. Only for the offline
 * QPACK interop files' convention (their encoders assume it); on a connection the table starts at 0
 * (§3.2.3) and only the encoder stream changes it. */
vq_status vq_qpack_decoder_preset_capacity(vq_qpack_decoder *d, uint64_t capacity);
/* Encoder stream bytes (§4.3), in any split. Errors: VQ_ERR_QPACK_ENCODER_STREAM. */
vq_status vq_qpack_decoder_encoder_stream(vq_qpack_decoder *d, const uint8_t *data, size_t len);
/* Decodes one encoded field section of stream_id into out. VQ_ERR_QPACK_BLOCKED with
 * *blocked_until = the Required Insert Count if it needs inserts not yet received: keep the bytes and
 * call again once vq_qpack_decoder_insert_count() reaches it. VQ_ERR_QPACK_DECOMPRESSION on any
 * malformed section (including more blocked streams than max_blocked). On success *ric is the
 * section's Required Insert Count: if > 0 a Section Acknowledgment is owed (§4.4.1). */
vq_status vq_qpack_decode_section(vq_qpack_decoder *d, uint64_t stream_id, const uint8_t *data,
                                  size_t len, vq_qpack_out *out, uint64_t *blocked_until,
                                  uint64_t *ric);
uint64_t vq_qpack_decoder_insert_count(const vq_qpack_decoder *d);
/* The stream was reset or abandoned: forget it if blocked. Caller sends Stream Cancellation. */
void vq_qpack_decoder_cancel_stream(vq_qpack_decoder *d, uint64_t stream_id);
/* Builds the decoder-stream instructions owed: a Section Acknowledgment for stream_id if
 * section_ric > 0 (it acknowledges inserts up to section_ric, §4.4.1), then an Insert Count Increment
 * for the inserts received and not yet acknowledged (§4.4.3). */
vq_status vq_qpack_decoder_build_acks(vq_qpack_decoder *d, uint64_t stream_id, uint64_t section_ric,
                                      uint8_t *buf, size_t cap, size_t *used);

/* ---- instructions ------------------------------------------------------------------------------- */

typedef enum vq_qpack_enc_op {
  VQ_QPACK_SET_CAPACITY = 1,   /* §4.3.1 */
  VQ_QPACK_INSERT_NAME_REF,    /* §4.3.2 */
  VQ_QPACK_INSERT_LITERAL,     /* §4.3.3 */
  VQ_QPACK_DUPLICATE,          /* §4.3.4 */
} vq_qpack_enc_op;

typedef struct vq_qpack_enc_instr {
  vq_qpack_enc_op op;
  uint64_t index;        /* capacity, name index (static or relative) or duplicate's relative index */
  int is_static;         /* INSERT_NAME_REF: T bit */
  const uint8_t *name;   /* INSERT_LITERAL: the raw name literal (see name_huff) */
  size_t name_len;
  int name_huff;
  const uint8_t *value;  /* INSERT_*: the raw value literal */
  size_t value_len;
  int value_huff;
} vq_qpack_enc_instr;

/* Parses one encoder-stream instruction at buf; VQ_ERR_TRUNCATED if incomplete, VQ_ERR_QPACK_INTEGER
 * for an integer over 2^62-1. Strings are left encoded (pointers into buf). */
vq_status vq_qpack_parse_encoder_instr(const uint8_t *buf, size_t len, vq_qpack_enc_instr *in,
                                       size_t *used);

typedef enum vq_qpack_dec_op {
  VQ_QPACK_SECTION_ACK = 1,    /* §4.4.1 */
  VQ_QPACK_STREAM_CANCEL,      /* §4.4.2 */
  VQ_QPACK_INSERT_COUNT_INC,   /* §4.4.3 */
} vq_qpack_dec_op;

vq_status vq_qpack_parse_decoder_instr(const uint8_t *buf, size_t len, vq_qpack_dec_op *op,
                                       uint64_t *value, size_t *used);

/* Builders: write one instruction, *used bytes. String literals: huff = VQ_QPACK_HUFF_AUTO
 * (Huffman-code when shorter), VQ_QPACK_HUFF_NEVER or VQ_QPACK_HUFF_ALWAYS. */
#define VQ_QPACK_HUFF_AUTO (-1)
#define VQ_QPACK_HUFF_NEVER 0
#define VQ_QPACK_HUFF_ALWAYS 1
vq_status vq_qpack_build_set_capacity(uint8_t *buf, size_t cap, uint64_t capacity, size_t *used);
vq_status vq_qpack_build_insert_name_ref(uint8_t *buf, size_t cap, int is_static, uint64_t index,
                                         const uint8_t *value, size_t vlen, int huff, size_t *used);
vq_status vq_qpack_build_insert_literal(uint8_t *buf, size_t cap, const uint8_t *name, size_t nlen,
                                        const uint8_t *value, size_t vlen, int huff, size_t *used);
vq_status vq_qpack_build_duplicate(uint8_t *buf, size_t cap, uint64_t rel_index, size_t *used);
vq_status vq_qpack_build_section_ack(uint8_t *buf, size_t cap, uint64_t stream_id, size_t *used);
vq_status vq_qpack_build_stream_cancel(uint8_t *buf, size_t cap, uint64_t stream_id, size_t *used);
vq_status vq_qpack_build_insert_count_inc(uint8_t *buf, size_t cap, uint64_t inc, size_t *used);

/* ---- encoder ------------------------------------------------------------------------------------ */

/* A field section not yet acknowledged: the entries it references must not be evicted (§2.1.1) and,
 * while its Required Insert Count exceeds the Known Received Count, its stream is blocking (§2.1.2). */
typedef struct vq_qpack_section {
  uint64_t stream_id;
  uint64_t ric;        /* 0: references no dynamic entry */
  uint64_t min_ref;    /* smallest absolute index referenced (valid if ric > 0) */
} vq_qpack_section;

typedef struct vq_qpack_encoder {
  vq_qpack_dtable table;      /* mirror of the decoder's table */
  uint64_t peer_max_capacity; /* the decoder's SETTINGS_QPACK_MAX_TABLE_CAPACITY */
  uint64_t peer_max_blocked;  /* the decoder's SETTINGS_QPACK_BLOCKED_STREAMS */
  uint64_t known_received;    /* Known Received Count (§2.1.4) */
  vq_qpack_section *sections; /* unacknowledged sections, oldest first */
  size_t nsections, max_sections;
  int capacity_sent;
  uint8_t *scratch;           /* capacity bytes: an entry being duplicated or re-inserted */
  uint32_t *uses;             /* per ring slot: sections that referenced the entry (eviction policy) */
  uint8_t pending[16];        /* partial decoder-stream instruction (at most 11 bytes) */
  size_t pending_len;
} vq_qpack_encoder;

/* Storage for an encoder using a table of `capacity` (<= peer_max_capacity, <= 2^30) and tracking up
 * to max_sections unacknowledged sections. */
size_t vq_qpack_encoder_mem(uint64_t capacity, size_t max_sections);
vq_status vq_qpack_encoder_init(vq_qpack_encoder *e, void *mem, size_t mem_len, uint64_t capacity,
                                uint64_t peer_max_capacity, uint64_t peer_max_blocked,
                                size_t max_sections);
/* Encodes a field section for stream_id: the section into sec (*sec_len), the encoder-stream
 * instructions it needs into enc (*enc_len, to be sent before or with the section). Policy in
 * src/h3/qpack.c (vq_qpack_encode_section). */
vq_status vq_qpack_encode_section(vq_qpack_encoder *e, uint64_t stream_id, const vq_qpack_field *fields,
                                  size_t nfields, uint8_t *enc, size_t enc_cap, size_t *enc_len,
                                  uint8_t *sec, size_t sec_cap, size_t *sec_len);
/* Decoder stream bytes (§4.4), in any split. Errors: VQ_ERR_QPACK_DECODER_STREAM. */
vq_status vq_qpack_encoder_decoder_stream(vq_qpack_encoder *e, const uint8_t *data, size_t len);

#endif
