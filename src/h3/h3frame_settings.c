/* vquic — the HTTP/3 SETTINGS frame (RFC 9114 §7.2.4, §7.2.4.1; RFC 9204 §5), written for WP and Eva. */
#include "vquic/h3frame.h"
#include "vquic/varint.h"
#include "h3/h3frame_acsl.h"

/*@ requires \valid(s);
    assigns *s;
    ensures s->max_field_section_size == 4611686018427387903;
    ensures s->qpack_max_table_capacity == 0 && s->qpack_blocked_streams == 0;
    ensures s->enable_connect_protocol == 0 && s->h3_datagram == 0;
    ensures s->has_max_field_section_size == 0 && s->has_qpack_max_table_capacity == 0 &&
            s->has_qpack_blocked_streams == 0 && s->has_enable_connect_protocol == 0 &&
            s->has_h3_datagram == 0; */
void vq_h3_settings_init(vq_h3_settings *s)
{
  /* spec: rfc9114#7.2.4.1 — MAX_FIELD_SECTION_SIZE defaults to unlimited; RFC 9204 §5: both QPACK
   * settings default to 0; RFC 9220 and RFC 9297: both extensions default to off. */
  s->max_field_section_size = VQ_VARINT_MAX;
  s->qpack_max_table_capacity = 0;
  s->qpack_blocked_streams = 0;
  s->enable_connect_protocol = 0;
  s->h3_datagram = 0;
  s->has_max_field_section_size = 0;
  s->has_qpack_max_table_capacity = 0;
  s->has_qpack_blocked_streams = 0;
  s->has_enable_connect_protocol = 0;
  s->has_h3_datagram = 0;
}

/* One received setting.
 * spec: rfc9114#7.2.4/5, rfc9114#7.2.4/6 — a known identifier twice is H3_SETTINGS_ERROR (vquic cannot
 * tell repeats of identifiers it does not keep).
 * spec: rfc9114#7.2.4.1/3 — HTTP/2 identifiers 0x02..0x05 are H3_SETTINGS_ERROR.
 * spec: rfc9114#7.2.4/7, rfc9114#7.2.4.1/2, rfc9114#9/1 — unknown and reserved identifiers are
 * ignored: they carry no meaning and change nothing. */
/*@ requires \valid(s);
    assigns *s;
    ensures \result == VQ_OK || \result == VQ_ERR_H3_SETTINGS;
    ensures \old(s->enable_connect_protocol) <= 1 ==> s->enable_connect_protocol <= 1;
    ensures \old(s->h3_datagram) <= 1 ==> s->h3_datagram <= 1;
    ensures 2 <= id <= 5 ==> \result == VQ_ERR_H3_SETTINGS;
    ensures id == 1 ==> (\result == VQ_OK <==> \old(s->has_qpack_max_table_capacity) == 0);
    ensures id == 1 && \result == VQ_OK ==> s->qpack_max_table_capacity == val;
    ensures id == 6 ==> (\result == VQ_OK <==> \old(s->has_max_field_section_size) == 0);
    ensures id == 6 && \result == VQ_OK ==> s->max_field_section_size == val;
    ensures id == 7 ==> (\result == VQ_OK <==> \old(s->has_qpack_blocked_streams) == 0);
    ensures id == 7 && \result == VQ_OK ==> s->qpack_blocked_streams == val;
    ensures id == 8 ==>
            (\result == VQ_OK <==> (\old(s->has_enable_connect_protocol) == 0 && val <= 1));
    ensures id == 8 && \result == VQ_OK ==> s->enable_connect_protocol == val;
    ensures id == 0x33 ==> (\result == VQ_OK <==> (\old(s->has_h3_datagram) == 0 && val <= 1));
    ensures id == 0x33 && \result == VQ_OK ==> s->h3_datagram == val;
    ensures (id == 0 || id > 8) && id != 0x33 ==> \result == VQ_OK; */
static vq_status settings_apply(vq_h3_settings *s, uint64_t id, uint64_t val)
{
  if (id >= 2u && id <= 5u) return VQ_ERR_H3_SETTINGS;
  if (id == VQ_H3_SETTINGS_QPACK_MAX_TABLE_CAPACITY) {
    if (s->has_qpack_max_table_capacity != 0) return VQ_ERR_H3_SETTINGS;
    s->qpack_max_table_capacity = val;
    s->has_qpack_max_table_capacity = 1;
    return VQ_OK;
  }
  if (id == VQ_H3_SETTINGS_MAX_FIELD_SECTION_SIZE) {
    if (s->has_max_field_section_size != 0) return VQ_ERR_H3_SETTINGS;
    s->max_field_section_size = val;
    s->has_max_field_section_size = 1;
    return VQ_OK;
  }
  if (id == VQ_H3_SETTINGS_QPACK_BLOCKED_STREAMS) {
    if (s->has_qpack_blocked_streams != 0) return VQ_ERR_H3_SETTINGS;
    s->qpack_blocked_streams = val;
    s->has_qpack_blocked_streams = 1;
    return VQ_OK;
  }
  if (id == VQ_H3_SETTINGS_ENABLE_CONNECT_PROTOCOL) {
    /* RFC 9220 §3: the value is 0 or 1; anything else is H3_SETTINGS_ERROR. */
    if (s->has_enable_connect_protocol != 0 || val > 1u) return VQ_ERR_H3_SETTINGS;
    s->enable_connect_protocol = (uint8_t)val;
    s->has_enable_connect_protocol = 1;
    return VQ_OK;
  }
  if (id == VQ_H3_SETTINGS_H3_DATAGRAM) {
    /* RFC 9297 §2.1.1: the value is 0 or 1; anything else is H3_SETTINGS_ERROR. */
    if (s->has_h3_datagram != 0 || val > 1u) return VQ_ERR_H3_SETTINGS;
    s->h3_datagram = (uint8_t)val;
    s->has_h3_datagram = 1;
    return VQ_OK;
  }
  return VQ_OK;
}

/* spec: rfc9114#7.2.4 — zero or more (Identifier (i), Value (i)) pairs. spec: rfc9114#7.1/2 — a pair
 * cut by the end of the payload is H3_FRAME_ERROR. */
/*@ requires vq_readable(payload, plen);
    requires \valid(s) && \separated(s, payload + (0 .. plen - 1));
    assigns *s;
    ensures \result == VQ_OK || \result == VQ_ERR_H3_FRAME || \result == VQ_ERR_H3_SETTINGS;
    ensures s->enable_connect_protocol <= 1 && s->h3_datagram <= 1;
    ensures plen == 0 ==> \result == VQ_OK; */
vq_status vq_h3_settings_parse(const uint8_t *payload, size_t plen, vq_h3_settings *s)
{
  size_t off = 0;
  vq_h3_settings_init(s);
  /*@ loop invariant 0 <= off <= plen;
      loop invariant s->enable_connect_protocol <= 1 && s->h3_datagram <= 1;
      loop assigns off, *s;
      loop variant plen - off; */
  while (off < plen) {
    uint64_t id = 0, val = 0;
    size_t u = 0;
    //@ split off;
    if (vq_varint_decode(payload + off, plen - off, &id, &u) != VQ_OK) return VQ_ERR_H3_FRAME;
    off += u;
    //@ split off;
    if (off >= plen) return VQ_ERR_H3_FRAME;
    if (vq_varint_decode(payload + off, plen - off, &val, &u) != VQ_OK) return VQ_ERR_H3_FRAME;
    off += u;
    const vq_status st = settings_apply(s, id, val);
    if (st != VQ_OK) return st;
  }
  return VQ_OK;
}

/* Appends varint v at *off (which the callers keep <= cap; checked rather than assumed). */
/*@ requires vq_writable(buf, cap);
    requires \valid(off) && \separated(off, buf + (0 .. cap - 1));
    assigns buf[*off .. cap - 1], *off;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL ||
            \result == VQ_ERR_INVALID_ARGUMENT;
    ensures \result == VQ_OK ==> \old(*off) <= *off <= cap;
    ensures \result == VQ_OK ==> *off == \old(*off) + vq_varint_size(v);
    ensures \result != VQ_OK ==> *off == \old(*off); */
static vq_status put_varint_at(uint8_t *buf, size_t cap, size_t *off, uint64_t v)
{
  size_t u = 0;
  const size_t o = *off;
  vq_status st;
  //@ split o;
  if (o > cap) return VQ_ERR_BUFFER_TOO_SMALL;
  st = vq_varint_encode(buf + o, cap - o, v, &u);
  if (st != VQ_OK) return st;
  *off = o + u;
  return VQ_OK;
}

/* Appends the setting (id, val) at *off when has is non-zero. */
/*@ requires vq_writable(buf, cap);
    requires \valid(off) && \separated(off, buf + (0 .. cap - 1));
    assigns buf[*off .. cap - 1], *off;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL ||
            \result == VQ_ERR_INVALID_ARGUMENT;
    ensures \result == VQ_OK ==> \old(*off) <= *off && (*off == \old(*off) || *off <= cap); */
static vq_status put_setting(uint8_t *buf, size_t cap, size_t *off, uint8_t has, uint64_t id,
                             uint64_t val)
{
  vq_status st;
  if (has == 0) return VQ_OK;
  st = put_varint_at(buf, cap, off, id);
  if (st != VQ_OK) return st;
  return put_varint_at(buf, cap, off, val);
}

/* Bytes of the setting (id, val) when has is non-zero; 0 when absent; 17 when the value is not a
 * varint (more than any valid setting, so the caller rejects it). Identifiers are constants or
 * vq_h3_grease() values, always varints. */
/*@ requires id <= 4611686018427387903;
    assigns \nothing;
    ensures has == 0 ==> \result == 0;
    ensures \result <= 17; */
static uint64_t setting_len(uint8_t has, uint64_t id, uint64_t val)
{
  if (has == 0) return 0;
  if (val > VQ_VARINT_MAX) return 17u;
  return (uint64_t)vq_varint_len(id) + vq_varint_len(val);
}

/* The SETTINGS payload length, or 0xff when a setting cannot be encoded. */
/*@ requires \valid_read(s);
    requires gid <= 4611686018427387903;
    assigns \nothing;
    ensures \result <= 68 || \result == 0xff;
    ensures (s->has_enable_connect_protocol != 0 && s->enable_connect_protocol > 1) ==>
            \result == 0xff;
    ensures (s->has_h3_datagram != 0 && s->h3_datagram > 1) ==> \result == 0xff; */
static uint64_t settings_payload_len(const vq_h3_settings *s, uint8_t g, uint64_t gid, uint64_t gv)
{
  if (s->has_enable_connect_protocol != 0 && s->enable_connect_protocol > 1u) return 0xffu;
  if (s->has_h3_datagram != 0 && s->h3_datagram > 1u) return 0xffu;
  const uint64_t l1 = setting_len(s->has_qpack_max_table_capacity,
                                  VQ_H3_SETTINGS_QPACK_MAX_TABLE_CAPACITY,
                                  s->qpack_max_table_capacity);
  const uint64_t l2 = setting_len(s->has_max_field_section_size,
                                  VQ_H3_SETTINGS_MAX_FIELD_SECTION_SIZE, s->max_field_section_size);
  const uint64_t l3 = setting_len(s->has_qpack_blocked_streams,
                                  VQ_H3_SETTINGS_QPACK_BLOCKED_STREAMS, s->qpack_blocked_streams);
  const uint64_t l4 = setting_len(g, gid, gv);
  if (l1 > 16u || l2 > 16u || l3 > 16u || l4 > 16u) return 0xffu;
  return l1 + l2 + l3 + l4 + (s->has_enable_connect_protocol != 0 ? 2u : 0u) +
         (s->has_h3_datagram != 0 ? 2u : 0u);
}

/* Writes the settings after the frame header. */
/*@ requires vq_writable(buf, cap);
    requires \valid_read(s);
    requires \valid(off) && \separated(off, buf + (0 .. cap - 1));
    requires \separated(s, buf + (0 .. cap - 1)) && \separated(off, s);
    assigns buf[*off .. cap - 1], *off;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL ||
            \result == VQ_ERR_INVALID_ARGUMENT;
    ensures \result == VQ_OK ==> \old(*off) <= *off && (*off == \old(*off) || *off <= cap); */
static vq_status settings_write(uint8_t *buf, size_t cap, size_t *off, const vq_h3_settings *s,
                                uint8_t g, uint64_t gid, uint64_t gv)
{
  vq_status st = put_setting(buf, cap, off, s->has_qpack_max_table_capacity,
                             VQ_H3_SETTINGS_QPACK_MAX_TABLE_CAPACITY, s->qpack_max_table_capacity);
  if (st != VQ_OK) return st;
  st = put_setting(buf, cap, off, s->has_max_field_section_size,
                   VQ_H3_SETTINGS_MAX_FIELD_SECTION_SIZE, s->max_field_section_size);
  if (st != VQ_OK) return st;
  st = put_setting(buf, cap, off, s->has_qpack_blocked_streams,
                   VQ_H3_SETTINGS_QPACK_BLOCKED_STREAMS, s->qpack_blocked_streams);
  if (st != VQ_OK) return st;
  st = put_setting(buf, cap, off, s->has_enable_connect_protocol,
                   VQ_H3_SETTINGS_ENABLE_CONNECT_PROTOCOL, s->enable_connect_protocol);
  if (st != VQ_OK) return st;
  st = put_setting(buf, cap, off, s->has_h3_datagram, VQ_H3_SETTINGS_H3_DATAGRAM, s->h3_datagram);
  if (st != VQ_OK) return st;
  return put_setting(buf, cap, off, g, gid, gv);
}

/* spec: rfc9114#7.2.4 — the SETTINGS frame; spec: rfc9114#7.2.4.1/1 — with an optional reserved
 * setting (grease).
 * spec: rfc9114#7.2.4.1/3, rfc9114#7.2.4/5 — the HTTP/2 identifiers are never written, and no identifier
 * twice: one field per known setting, and a grease identifier (0x1f * N + 0x21) is never a known one. */
/*@ requires vq_writable(buf, cap);
    requires \valid_read(s);
    requires \valid(used) && \separated(used, buf + (0 .. cap - 1));
    requires \separated(s, buf + (0 .. cap - 1)) && \separated(used, s);
    assigns buf[0 .. cap - 1], *used;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT ||
            \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> 2 <= *used <= cap;
    ensures (s->has_enable_connect_protocol != 0 && s->enable_connect_protocol > 1) ==>
            \result == VQ_ERR_INVALID_ARGUMENT;
    ensures (s->has_h3_datagram != 0 && s->h3_datagram > 1) ==> \result == VQ_ERR_INVALID_ARGUMENT; */
vq_status vq_h3_settings_encode(uint8_t *buf, size_t cap, const vq_h3_settings *s, int grease,
                                uint64_t grease_n, uint64_t grease_value, size_t *used)
{
  size_t off = 0;
  const uint8_t g = grease != 0 ? 1u : 0u;
  const uint64_t gid = vq_h3_grease(grease_n);
  const uint64_t plen = settings_payload_len(s, g, gid, grease_value);
  vq_status st;
  if (plen == 0xffu) return VQ_ERR_INVALID_ARGUMENT;
  st = vq_h3_frame_header_encode(buf, cap, VQ_H3_FRAME_SETTINGS, plen, &off);
  if (st != VQ_OK) return st;
  st = settings_write(buf, cap, &off, s, g, gid, grease_value);
  if (st != VQ_OK) return st;
  *used = off;
  return VQ_OK;
}
