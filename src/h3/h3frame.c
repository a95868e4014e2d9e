/* vquic — HTTP/3 frame layout (RFC 9114 §7.1, §7.2), unidirectional stream types (§6.2) and the
 * GOAWAY ID rules (§5.2), written for WP and Eva (PROOF-STYLE.md: range tests and arithmetic, small
 * functions, exact assigns). Eva `split` hints keep a consumed-byte count exact so that the
 * (buffer + count, length - count) cursor of the next varint is seen to stay in bounds. */
#include "vquic/h3frame.h"
#include "vquic/varint.h"
#include "h3/h3frame_acsl.h"

/* spec: rfc9114#7.2.8, rfc9114#7.2.4.1, rfc9114#6.2.3 — reserved values are 0x1f * N + 0x21. */
/*@ assigns \nothing;
    ensures vq_h3_reserved(v) ==> \result == 1;
    ensures !vq_h3_reserved(v) ==> \result == 0; */
int vq_h3_is_reserved(uint64_t v)
{
  if (v < VQ_H3_GREASE_BASE) return 0;
  return (v - VQ_H3_GREASE_BASE) % VQ_H3_GREASE_STEP == 0u ? 1 : 0;
}

/* spec: rfc9114#7.2.4.1/1 — endpoints SHOULD include a reserved setting; the same values grease frame
 * types (rfc9114#7.2.8), stream types (rfc9114#6.2.3) and error codes (rfc9114#8.1). */
/*@ assigns \nothing;
    ensures \result == 0x1f * (n % 148764065110560900) + 0x21;
    ensures vq_h3_reserved(\result);
    ensures \result <= 4611686018427387903; */
uint64_t vq_h3_grease(uint64_t n)
{
  const uint64_t k = n % (VQ_H3_GREASE_N_MAX + 1u);
  return VQ_H3_GREASE_STEP * k + VQ_H3_GREASE_BASE;
}

/* spec: rfc9114#7.2, rfc9114#7.2.8, rfc9114#9 — frame types of Table 2, HTTP/2 reserved types, grease
 * and unknown types. */
/*@ assigns \nothing;
    ensures \result == vq_h3_fclass(type); */
vq_h3_frame_class vq_h3_frame_classify(uint64_t type)
{
  if (type == VQ_H3_FRAME_DATA) return VQ_H3_FC_DATA;
  if (type == VQ_H3_FRAME_HEADERS) return VQ_H3_FC_HEADERS;
  if (type == VQ_H3_FRAME_CANCEL_PUSH) return VQ_H3_FC_CANCEL_PUSH;
  if (type == VQ_H3_FRAME_SETTINGS) return VQ_H3_FC_SETTINGS;
  if (type == VQ_H3_FRAME_PUSH_PROMISE) return VQ_H3_FC_PUSH_PROMISE;
  if (type == VQ_H3_FRAME_GOAWAY) return VQ_H3_FC_GOAWAY;
  if (type == VQ_H3_FRAME_MAX_PUSH_ID) return VQ_H3_FC_MAX_PUSH_ID;
  if (type == 0x02u || type == 0x06u || type == 0x08u || type == 0x09u) return VQ_H3_FC_H2_RESERVED;
  if (vq_h3_is_reserved(type)) return VQ_H3_FC_RESERVED;
  return VQ_H3_FC_UNKNOWN;
}

/*@ assigns \nothing;
    ensures vq_h3_fc_buffered(vq_h3_fclass(type)) ==> \result == 1;
    ensures !vq_h3_fc_buffered(vq_h3_fclass(type)) ==> \result == 0; */
int vq_h3_frame_is_buffered(uint64_t type)
{
  const vq_h3_frame_class c = vq_h3_frame_classify(type);
  if (c == VQ_H3_FC_HEADERS || c == VQ_H3_FC_SETTINGS || c == VQ_H3_FC_PUSH_PROMISE ||
      c == VQ_H3_FC_CANCEL_PUSH || c == VQ_H3_FC_GOAWAY || c == VQ_H3_FC_MAX_PUSH_ID)
    return 1;
  return 0;
}

/* spec: rfc9114#7.1 — Type (i), Length (i), Frame Payload. The parser never reads past len and asks
 * for more bytes instead of failing, so a frame header split across STREAM frames is resumed. */
/*@ requires vq_readable(buf, len);
    requires \valid(hdr) && \valid(need) && \separated(hdr, need);
    requires \separated(hdr, buf + (0 .. len - 1)) && \separated(need, buf + (0 .. len - 1));
    assigns *hdr, *need;
    behavior ready:
      assumes vq_h3_hdr_ready(buf, len);
      ensures \result == VQ_OK;
      ensures hdr->type == vq_varint_value(buf, vq_varint_size_of(buf[0]));
      ensures hdr->length == vq_varint_value(buf + vq_varint_size_of(buf[0]),
                                             vq_varint_size_of(buf[vq_varint_size_of(buf[0])]));
      ensures hdr->hdr_len == vq_varint_size_of(buf[0]) +
                              vq_varint_size_of(buf[vq_varint_size_of(buf[0])]);
      ensures 2 <= hdr->hdr_len <= 16 && hdr->hdr_len <= len;
      ensures hdr->type <= 4611686018427387903 && hdr->length <= 4611686018427387903;
    behavior more:
      assumes !vq_h3_hdr_ready(buf, len);
      ensures \result == VQ_ERR_H3_NEED_MORE;
      ensures len < *need <= 16;
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_frame_header_parse(const uint8_t *buf, size_t len, vq_h3_frame_hdr *hdr,
                                   size_t *need)
{
  uint64_t t = 0, l = 0;
  size_t tu = 0, lu = 0;
  if (len == 0) {
    *need = 1;
    return VQ_ERR_H3_NEED_MORE;
  }
  if (vq_varint_decode(buf, len, &t, &tu) != VQ_OK) {
    *need = vq_varint_len_of_first(buf[0]);
    return VQ_ERR_H3_NEED_MORE;
  }
  //@ split tu;
  if (tu >= len) {
    *need = len + 1u;
    return VQ_ERR_H3_NEED_MORE;
  }
  if (vq_varint_decode(buf + tu, len - tu, &l, &lu) != VQ_OK) {
    *need = tu + vq_varint_len_of_first(buf[tu]);
    return VQ_ERR_H3_NEED_MORE;
  }
  hdr->type = t;
  hdr->length = l;
  hdr->hdr_len = tu + lu;
  return VQ_OK;
}

/* spec: rfc9114#7.2.8/3 — HTTP/2 frame types are H3_FRAME_UNEXPECTED on receipt.
 * spec: rfc9114#7.1/2 — a CANCEL_PUSH, GOAWAY or MAX_PUSH_ID payload is one varint (1..8 bytes); any
 * other length cannot hold exactly its field: H3_FRAME_ERROR without waiting for the payload.
 * spec: rfc9114#10.5/3 — a frame the caller would have to buffer beyond its bound is treated as
 * H3_EXCESSIVE_LOAD. */
/*@ assigns \nothing;
    ensures \result == vq_h3_hdr_status(type, length, max_buffered); */
vq_status vq_h3_frame_header_check(uint64_t type, uint64_t length, uint64_t max_buffered)
{
  const vq_h3_frame_class c = vq_h3_frame_classify(type);
  if (c == VQ_H3_FC_H2_RESERVED) return VQ_ERR_H3_FRAME_UNEXPECTED;
  if ((c == VQ_H3_FC_CANCEL_PUSH || c == VQ_H3_FC_GOAWAY || c == VQ_H3_FC_MAX_PUSH_ID) &&
      (length == 0u || length > 8u))
    return VQ_ERR_H3_FRAME;
  if (vq_h3_frame_is_buffered(type) && length > max_buffered) return VQ_ERR_H3_EXCESSIVE_LOAD;
  return VQ_OK;
}

/*@ requires vq_readable(buf, len);
    requires \valid(hdr) && \valid(need) && \separated(hdr, need);
    requires \separated(hdr, buf + (0 .. len - 1)) && \separated(need, buf + (0 .. len - 1));
    assigns *hdr, *need;
    behavior ready:
      assumes vq_h3_hdr_ready(buf, len);
      ensures \result == vq_h3_hdr_status(hdr->type, hdr->length, max_buffered);
      ensures hdr->type == vq_varint_value(buf, vq_varint_size_of(buf[0]));
      ensures hdr->length == vq_varint_value(buf + vq_varint_size_of(buf[0]),
                                             vq_varint_size_of(buf[vq_varint_size_of(buf[0])]));
      ensures 2 <= hdr->hdr_len <= 16 && hdr->hdr_len <= len;
    behavior more:
      assumes !vq_h3_hdr_ready(buf, len);
      ensures \result == VQ_ERR_H3_NEED_MORE;
      ensures len < *need <= 16;
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_frame_header_read(const uint8_t *buf, size_t len, uint64_t max_buffered,
                                  vq_h3_frame_hdr *hdr, size_t *need)
{
  vq_h3_frame_hdr h = {0, 0, 0};
  const vq_status st = vq_h3_frame_header_parse(buf, len, &h, need);
  if (st != VQ_OK) return st;
  *hdr = h;
  return vq_h3_frame_header_check(h.type, h.length, max_buffered);
}

/*@ requires vq_writable(buf, cap);
    requires \valid(used) && \separated(used, buf + (0 .. cap - 1));
    assigns buf[0 .. cap - 1], *used;
    behavior bad:
      assumes type > 4611686018427387903 || length > 4611686018427387903;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
    behavior no_room:
      assumes type <= 4611686018427387903 && length <= 4611686018427387903;
      assumes cap < vq_varint_size(type) + vq_varint_size(length);
      ensures \result == VQ_ERR_BUFFER_TOO_SMALL;
    behavior ok:
      assumes type <= 4611686018427387903 && length <= 4611686018427387903;
      assumes cap >= vq_varint_size(type) + vq_varint_size(length);
      ensures \result == VQ_OK;
      ensures *used == vq_varint_size(type) + vq_varint_size(length);
      ensures vq_varint_size_of(buf[0]) == vq_varint_size(type);
      ensures vq_varint_value(buf, vq_varint_size(type)) == type;
      ensures vq_varint_size_of(buf[vq_varint_size(type)]) == vq_varint_size(length);
      ensures vq_varint_value(buf + vq_varint_size(type), vq_varint_size(length)) == length;
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_frame_header_encode(uint8_t *buf, size_t cap, uint64_t type, uint64_t length,
                                    size_t *used)
{
  const size_t tn = vq_varint_len(type);
  const size_t ln = vq_varint_len(length);
  size_t u1 = 0, u2 = 0;
  //@ split tn;
  if (tn == 0u || ln == 0u) return VQ_ERR_INVALID_ARGUMENT;
  if (cap < tn || cap - tn < ln) return VQ_ERR_BUFFER_TOO_SMALL;
  (void)vq_varint_encode(buf + tn, cap - tn, length, &u2);
  (void)vq_varint_encode(buf, tn, type, &u1);
  *used = tn + ln;
  return VQ_OK;
}

/*@ requires n > 0 ==> \valid(dst + (0 .. n - 1));
    requires vq_readable(src, n);
    requires \separated(dst + (0 .. n - 1), src + (0 .. n - 1));
    assigns dst[0 .. n - 1];
    ensures \forall integer k; 0 <= k < n ==> dst[k] == src[k]; */
static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
  /*@ loop invariant 0 <= i <= n;
      loop invariant \forall integer k; 0 <= k < i ==> dst[k] == src[k];
      loop assigns i, dst[0 .. n - 1];
      loop variant n - i; */
  for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

/* spec: rfc9114#7.2.1, rfc9114#7.2.2 — DATA and HEADERS carry an opaque payload (for HEADERS the
 * QPACK-encoded field section); reserved frames (rfc9114#7.2.8) any payload. */
/*@ requires vq_writable(buf, cap);
    requires vq_readable(payload, plen);
    requires \valid(used) && \separated(used, buf + (0 .. cap - 1));
    requires \separated(buf + (0 .. cap - 1), payload + (0 .. plen - 1));
    assigns buf[0 .. cap - 1], *used;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT ||
            \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> plen < *used <= cap &&
            vq_varint_value(buf, vq_varint_size_of(buf[0])) == type; */
vq_status vq_h3_frame_encode_span(uint8_t *buf, size_t cap, uint64_t type, const uint8_t *payload,
                                  size_t plen, size_t *used)
{
  size_t h = 0;
  vq_status st = vq_h3_frame_header_encode(buf, cap, type, plen, &h);
  if (st != VQ_OK) return st;
  if (cap - h < plen) return VQ_ERR_BUFFER_TOO_SMALL;
  //@ split h;
  copy_bytes(buf + h, payload, plen);
  *used = h + plen;
  return VQ_OK;
}

/* spec: rfc9114#7.2.3, rfc9114#7.2.6, rfc9114#7.2.7 — the payload is one varint (Push ID or Stream
 * ID). spec: rfc9114#7.1/1, rfc9114#7.1/2 — missing or extra bytes are H3_FRAME_ERROR.
 * spec: rfc9114#10.8/1, rfc9114#7.1/3 — the frame's Length must match its fields exactly. */
/*@ requires vq_readable(payload, plen);
    requires \valid(id) && \separated(id, payload + (0 .. plen - 1));
    assigns *id;
    behavior exact:
      assumes plen > 0 && plen == vq_varint_size_of(payload[0]);
      ensures \result == VQ_OK;
      ensures *id == vq_varint_value(payload, plen);
    behavior inexact:
      assumes plen == 0 || plen != vq_varint_size_of(payload[0]);
      ensures \result == VQ_ERR_H3_FRAME;
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_id_frame_parse(const uint8_t *payload, size_t plen, uint64_t *id)
{
  uint64_t v = 0;
  size_t u = 0;
  if (vq_varint_decode(payload, plen, &v, &u) != VQ_OK) return VQ_ERR_H3_FRAME;
  if (u != plen) return VQ_ERR_H3_FRAME;
  *id = v;
  return VQ_OK;
}

/*@ requires vq_writable(buf, cap);
    requires \valid(used) && \separated(used, buf + (0 .. cap - 1));
    assigns buf[0 .. cap - 1], *used;
    behavior bad:
      assumes (type != 0x03 && type != 0x07 && type != 0x0d) || id > 4611686018427387903;
      ensures \result == VQ_ERR_INVALID_ARGUMENT;
    behavior good:
      assumes (type == 0x03 || type == 0x07 || type == 0x0d) && id <= 4611686018427387903;
      ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL;
      ensures \result == VQ_OK ==> *used == 2 + vq_varint_size(id) && *used <= cap;
      ensures \result == VQ_OK ==> buf[0] == type && buf[1] == vq_varint_size(id) &&
                                   vq_varint_value(buf + 2, vq_varint_size(id)) == id;
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_id_frame_encode(uint8_t *buf, size_t cap, uint64_t type, uint64_t id, size_t *used)
{
  size_t h = 0, u = 0;
  if (type != VQ_H3_FRAME_CANCEL_PUSH && type != VQ_H3_FRAME_GOAWAY &&
      type != VQ_H3_FRAME_MAX_PUSH_ID)
    return VQ_ERR_INVALID_ARGUMENT;
  const size_t n = vq_varint_len(id);
  if (n == 0u) return VQ_ERR_INVALID_ARGUMENT;
  vq_status st = vq_h3_frame_header_encode(buf, cap, type, n, &h);
  if (st != VQ_OK) return st;
  //@ assert h == 2;
  st = vq_varint_encode(buf + 2, cap - 2u, id, &u);
  if (st != VQ_OK) return st;
  *used = 2u + u;
  return VQ_OK;
}

/* spec: rfc9114#7.2.5 — Push ID (i) then the encoded field section, a span for QPACK (zero copy). */
/*@ requires vq_readable(payload, plen);
    requires \valid(push_id) && \valid(fs_off) && \separated(push_id, fs_off);
    requires \separated(push_id, payload + (0 .. plen - 1)) &&
             \separated(fs_off, payload + (0 .. plen - 1));
    assigns *push_id, *fs_off;
    behavior ok:
      assumes plen > 0 && plen >= vq_varint_size_of(payload[0]);
      ensures \result == VQ_OK;
      ensures *fs_off == vq_varint_size_of(payload[0]) && *fs_off <= plen;
      ensures *push_id == vq_varint_value(payload, *fs_off);
    behavior cut:
      assumes plen == 0 || plen < vq_varint_size_of(payload[0]);
      ensures \result == VQ_ERR_H3_FRAME;
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_push_promise_parse(const uint8_t *payload, size_t plen, uint64_t *push_id,
                                   size_t *fs_off)
{
  uint64_t v = 0;
  size_t u = 0;
  if (vq_varint_decode(payload, plen, &v, &u) != VQ_OK) return VQ_ERR_H3_FRAME;
  *push_id = v;
  *fs_off = u;
  return VQ_OK;
}

/*@ requires vq_writable(buf, cap);
    requires vq_readable(fs, fs_len);
    requires \valid(used) && \separated(used, buf + (0 .. cap - 1));
    requires \separated(buf + (0 .. cap - 1), fs + (0 .. fs_len - 1));
    assigns buf[0 .. cap - 1], *used;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT ||
            \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> fs_len < *used <= cap;
    ensures push_id > 4611686018427387903 ==> \result == VQ_ERR_INVALID_ARGUMENT; */
vq_status vq_h3_push_promise_encode(uint8_t *buf, size_t cap, uint64_t push_id, const uint8_t *fs,
                                    size_t fs_len, size_t *used)
{
  size_t h = 0, u = 0;
  const size_t n = vq_varint_len(push_id);
  vq_status st;
  if (n == 0u) return VQ_ERR_INVALID_ARGUMENT;
  //@ split n;
  if (cap < n || fs_len > cap - n) return VQ_ERR_BUFFER_TOO_SMALL;
  st = vq_h3_frame_header_encode(buf, cap, VQ_H3_FRAME_PUSH_PROMISE, n + fs_len, &h);
  if (st != VQ_OK) return st;
  //@ split h;
  if (cap - h < n || cap - h - n < fs_len) return VQ_ERR_BUFFER_TOO_SMALL;
  st = vq_varint_encode(buf + h, cap - h, push_id, &u);
  if (st != VQ_OK) return st;
  copy_bytes(buf + h + n, fs, fs_len);
  *used = h + n + fs_len;
  return VQ_OK;
}

/* spec: rfc9114#6.2 — a unidirectional stream starts with its stream type (i); like a frame header
 * it may arrive in pieces. */
/*@ requires vq_readable(buf, len);
    requires \valid(type) && \valid(used) && \valid(need);
    requires \separated(type, used, need);
    requires \separated(type, buf + (0 .. len - 1)) && \separated(used, buf + (0 .. len - 1)) &&
             \separated(need, buf + (0 .. len - 1));
    assigns *type, *used, *need;
    behavior ready:
      assumes len > 0 && len >= vq_varint_size_of(buf[0]);
      ensures \result == VQ_OK;
      ensures *used == vq_varint_size_of(buf[0]) && *used <= len;
      ensures *type == vq_varint_value(buf, *used);
    behavior more:
      assumes len == 0 || len < vq_varint_size_of(buf[0]);
      ensures \result == VQ_ERR_H3_NEED_MORE;
      ensures len < *need <= 8;
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_uni_type_parse(const uint8_t *buf, size_t len, uint64_t *type, size_t *used,
                               size_t *need)
{
  if (len == 0) {
    *need = 1;
    return VQ_ERR_H3_NEED_MORE;
  }
  if (vq_varint_decode(buf, len, type, used) != VQ_OK) {
    *need = vq_varint_len_of_first(buf[0]);
    return VQ_ERR_H3_NEED_MORE;
  }
  return VQ_OK;
}

/* spec: rfc9114#6.2, rfc9114#6.2.3, rfc9204#4.2 — control, push, QPACK encoder and decoder streams;
 * spec: rfc9114#6.2.3/2 — reserved types have no meaning; others are unknown (rfc9114#6.2/4). */
/*@ assigns \nothing;
    ensures \result == vq_h3_uclass(type); */
vq_h3_uni_class vq_h3_uni_classify(uint64_t type)
{
  if (type == VQ_H3_STREAM_CONTROL) return VQ_H3_UNI_CONTROL;
  if (type == VQ_H3_STREAM_PUSH) return VQ_H3_UNI_PUSH;
  if (type == VQ_H3_STREAM_QPACK_ENCODER) return VQ_H3_UNI_QPACK_ENCODER;
  if (type == VQ_H3_STREAM_QPACK_DECODER) return VQ_H3_UNI_QPACK_DECODER;
  if (vq_h3_is_reserved(type)) return VQ_H3_UNI_RESERVED;
  return VQ_H3_UNI_UNKNOWN;
}

/* spec: rfc9114#6.2/4, rfc9114#6.2/5, rfc9114#6.2/6, rfc9114#9/2 — abort reading an unknown stream
 * type with H3_STREAM_CREATION_ERROR; never a connection error. */
/*@ assigns \nothing;
    ensures \result == 0x0103; */
uint64_t vq_h3_uni_unknown_abort_code(void)
{
  return VQ_H3_STREAM_CREATION_ERROR;
}

/* spec: rfc9114#5.2/9 — a larger GOAWAY ID than before is H3_ID_ERROR.
 * spec: rfc9114#7.2.6/1 — from a server, the ID is a client-initiated bidirectional stream ID
 * (RFC 9000 §2.1: a multiple of 4), else H3_ID_ERROR; from a client it is a push ID (any varint). */
/*@ assigns \nothing;
    behavior bad:
      assumes id > 4611686018427387903 || (from_server != 0 && id % 4 != 0) ||
              (have_prev != 0 && id > prev);
      ensures \result == VQ_ERR_H3_ID;
    behavior good:
      assumes id <= 4611686018427387903 && (from_server == 0 || id % 4 == 0) &&
              (have_prev == 0 || id <= prev);
      ensures \result == VQ_OK;
    complete behaviors; disjoint behaviors; */
vq_status vq_h3_goaway_check(uint64_t id, int from_server, int have_prev, uint64_t prev)
{
  if (id > VQ_VARINT_MAX) return VQ_ERR_H3_ID;
  if (from_server != 0 && id % 4u != 0u) return VQ_ERR_H3_ID;
  if (have_prev != 0 && id > prev) return VQ_ERR_H3_ID;
  return VQ_OK;
}
