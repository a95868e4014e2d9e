/* vquic — QUIC transport parameters (RFC 9000 §18, §7.4; RFC 9368 §3; RFC 9221 §3), written for WP
 * and Eva (PROOF-STYLE.md): range tests and arithmetic, small functions, exact assigns, every value
 * checked where it is used. The bounds and choices are documented in include/vquic/tp.h. */
#include "vquic/tp.h"
#include "vquic/varint.h"
#include "vq_acsl.h"
#include "tp_acsl.h"

/* ---- small helpers ------------------------------------------------------------------------------ */

/* The byte loops carry no quantified postcondition on purpose: a \forall per call accumulates in
 * the callers' contexts and makes z3/cvc4 slow (PROOF-STYLE.md); what they write is checked by the
 * tests and their safety (bounds, assigns) is what WP proves here. */
/*@ requires \valid(p + (0 .. n - 1));
    assigns p[0 .. n - 1]; */
static void tp_zero(uint8_t *p, size_t n)
{
  size_t i;
  /*@ loop invariant 0 <= i <= n;
      loop assigns i, p[0 .. n - 1];
      loop variant n - i; */
  for (i = 0; i < n; i++) p[i] = 0;
}

/*@ requires \valid(dst + (0 .. n - 1));
    requires \valid_read(src + (0 .. n - 1));
    requires \separated(dst + (0 .. n - 1), src + (0 .. n - 1));
    assigns dst[0 .. n - 1]; */
static void tp_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
  size_t i;
  /*@ loop invariant 0 <= i <= n;
      loop assigns i, dst[0 .. n - 1];
      loop variant n - i; */
  for (i = 0; i < n; i++) dst[i] = src[i];
}

/*@ requires \valid_read(p + (0 .. 3));
    assigns \nothing;
    ensures \result == vq_be_value(p, 4); */
static uint32_t tp_be32(const uint8_t *p)
{
  return (((uint32_t)p[0] * 256u + p[1]) * 256u + p[2]) * 256u + p[3];
}

/*@ requires \valid_read(p + (0 .. 1));
    assigns \nothing;
    ensures \result == vq_be_value(p, 2); */
static uint16_t tp_be16(const uint8_t *p)
{
  return (uint16_t)((uint32_t)p[0] * 256u + p[1]);
}

/* ---- identifiers -------------------------------------------------------------------------------- */

/*@ assigns \nothing;
    ensures \result == vq_tp_ix(id);
    ensures \result <= VQ_TP_KNOWN; */
size_t vq_tp_index(uint64_t id)
{
  if (id <= 0x11u) return (size_t)id;
  if (id == 0x20u) return 18u;
  return VQ_TP_KNOWN;
}

/*@ requires \valid_read(tp);
    assigns \nothing;
    ensures \result == 0 || \result == 1; */
int vq_tp_has(const vq_tp *tp, uint64_t id)
{
  size_t ix = vq_tp_index(id);
  if (ix >= VQ_TP_KNOWN) return 0;
  return tp->present[ix] != 0;
}

/*@ requires \valid(tp);
    assigns tp->present[0 .. VQ_TP_KNOWN - 1];
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT; */
vq_status vq_tp_set_present(vq_tp *tp, uint64_t id, int on)
{
  size_t ix = vq_tp_index(id);
  if (ix >= VQ_TP_KNOWN) return VQ_ERR_INVALID_ARGUMENT;
  tp->present[ix] = on ? 1u : 0u;
  return VQ_OK;
}

/* ---- defaults ----------------------------------------------------------------------------------- */

/*@ requires \valid(c);
    assigns *c;
    ensures c->len == 0; */
static void tp_init_cid(vq_tp_cid *c)
{
  tp_zero(c->bytes, VQ_TP_CID_MAX);
  c->len = 0;
}

/*@ requires \valid(pa);
    assigns *pa;
    ensures pa->cid.len == 0; */
static void tp_init_preferred(vq_tp_preferred_address *pa)
{
  tp_zero(pa->ipv4, 4);
  tp_zero(pa->ipv6, 16);
  tp_zero(pa->reset_token, VQ_TP_RESET_TOKEN_LEN);
  tp_init_cid(&pa->cid);
  pa->ipv4_port = 0;
  pa->ipv6_port = 0;
}

/*@ requires \valid(u + (0 .. VQ_TP_MAX_UNKNOWN - 1));
    assigns u[0 .. VQ_TP_MAX_UNKNOWN - 1]; */
static void tp_init_unknown(vq_tp_unknown *u)
{
  size_t i;
  /*@ loop invariant 0 <= i <= VQ_TP_MAX_UNKNOWN;
      loop assigns i, u[0 .. VQ_TP_MAX_UNKNOWN - 1];
      loop variant VQ_TP_MAX_UNKNOWN - i; */
  for (i = 0; i < VQ_TP_MAX_UNKNOWN; i++) {
    u[i].id = 0;
    u[i].value = NULL;
    u[i].len = 0;
  }
}

/* spec: rfc9000#18.2 — absent parameters default to 0, except max_udp_payload_size (65527),
 * ack_delay_exponent (3), max_ack_delay (25 ms) and active_connection_id_limit (2).
 * spec: rfc9221#3 — max_datagram_frame_size defaults to 0 (no DATAGRAM support). */
/*@ requires \valid(tp);
    assigns *tp;
    ensures \forall integer i; 0 <= i < VQ_TP_KNOWN ==> tp->present[i] == 0;
    ensures tp->n_unknown == 0;
    ensures tp->max_udp_payload_size == 65527 && tp->ack_delay_exponent == 3;
    ensures tp->max_ack_delay == 25 && tp->active_connection_id_limit == 2;
    ensures tp->max_idle_timeout == 0 && tp->initial_max_data == 0;
    ensures tp->initial_max_streams_bidi == 0 && tp->initial_max_streams_uni == 0;
    ensures tp->max_datagram_frame_size == 0;
    ensures tp->version_information.n_available == 0 && tp->version_information.chosen == 0; */
void vq_tp_init_defaults(vq_tp *tp)
{
  /* The calls that clear arrays first, the scalars last: each ensures is then about the last write. */
  tp_init_cid(&tp->original_destination_connection_id);
  tp_init_cid(&tp->initial_source_connection_id);
  tp_init_cid(&tp->retry_source_connection_id);
  tp_init_preferred(&tp->preferred_address);
  tp_zero(tp->stateless_reset_token, VQ_TP_RESET_TOKEN_LEN);
  tp_init_unknown(tp->unknown);
  size_t i;
  /*@ loop invariant 0 <= i <= VQ_TP_KNOWN;
      loop invariant \forall integer j; 0 <= j < i ==> tp->present[j] == 0;
      loop assigns i, tp->present[0 .. VQ_TP_KNOWN - 1];
      loop variant VQ_TP_KNOWN - i; */
  for (i = 0; i < VQ_TP_KNOWN; i++) tp->present[i] = 0;
  tp->max_idle_timeout = 0;
  tp->max_udp_payload_size = VQ_TP_DEFAULT_MAX_UDP_PAYLOAD_SIZE;
  tp->initial_max_data = 0;
  tp->initial_max_stream_data_bidi_local = 0;
  tp->initial_max_stream_data_bidi_remote = 0;
  tp->initial_max_stream_data_uni = 0;
  tp->initial_max_streams_bidi = 0;
  tp->initial_max_streams_uni = 0;
  tp->ack_delay_exponent = VQ_TP_DEFAULT_ACK_DELAY_EXPONENT;
  tp->max_ack_delay = VQ_TP_DEFAULT_MAX_ACK_DELAY;
  tp->active_connection_id_limit = VQ_TP_DEFAULT_ACTIVE_CID_LIMIT;
  tp->version_information.chosen = 0;
  tp->version_information.n_available = 0;
  tp->max_datagram_frame_size = 0;
  tp->n_unknown = 0;
}

/* ---- value checks shared by decode and encode ---------------------------------------------------- */

/* spec: rfc9000#18.2 — max_udp_payload_size: values below 1200 are invalid; ack_delay_exponent:
 * values above 20 are invalid; max_ack_delay: values of 2^14 or greater are invalid;
 * active_connection_id_limit: MUST be at least 2.
 * spec: rfc9000#4.6/1 — initial_max_streams_*: a count greater than 2^60 is TRANSPORT_PARAMETER_ERROR.
 * spec: rfc9000#7.4/1, rfc9000#18.2/9 — on receipt an invalid value (an active_connection_id_limit
 * below 2 included) is TRANSPORT_PARAMETER_ERROR; spec: rfc9000#18.2/8 — the encoder refuses to send
 * one. */
/*@ assigns \nothing;
    ensures \result == VQ_OK || \result == VQ_ERR_TP_VALUE;
    ensures \result == VQ_OK <==> vq_tp_int_ok(id, v); */
static vq_status tp_check_int(uint64_t id, uint64_t v)
{
  if (v > VQ_VARINT_MAX) return VQ_ERR_TP_VALUE;
  if (id == VQ_TP_MAX_UDP_PAYLOAD_SIZE && v < VQ_TP_MIN_MAX_UDP_PAYLOAD_SIZE) return VQ_ERR_TP_VALUE;
  if (id == VQ_TP_ACK_DELAY_EXPONENT && v > VQ_TP_MAX_ACK_DELAY_EXPONENT) return VQ_ERR_TP_VALUE;
  if (id == VQ_TP_MAX_ACK_DELAY && v >= VQ_TP_MAX_ACK_DELAY_LIMIT) return VQ_ERR_TP_VALUE;
  if (id == VQ_TP_ACTIVE_CONNECTION_ID_LIMIT && v < 2u) return VQ_ERR_TP_VALUE;
  if ((id == VQ_TP_INITIAL_MAX_STREAMS_BIDI || id == VQ_TP_INITIAL_MAX_STREAMS_UNI) &&
      v > VQ_TP_MAX_STREAMS_LIMIT)
    return VQ_ERR_TP_VALUE;
  return VQ_OK;
}

/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> vq_tp_int_id(id); */
static int tp_is_int(uint64_t id)
{
  if (id == 0x01u || id == 0x03u || id == 0x04u || id == 0x05u || id == 0x06u || id == 0x07u ||
      id == 0x08u || id == 0x09u || id == 0x0au || id == 0x0bu || id == 0x0eu || id == 0x20u)
    return 1;
  return 0;
}

/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> vq_tp_server_only(id); */
static int tp_is_server_only(uint64_t id)
{
  if (id == VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID || id == VQ_TP_STATELESS_RESET_TOKEN ||
      id == VQ_TP_PREFERRED_ADDRESS || id == VQ_TP_RETRY_SOURCE_CONNECTION_ID)
    return 1;
  return 0;
}

/*@ requires \valid(tp);
    requires vq_tp_int_id(id);
    assigns tp->max_idle_timeout, tp->max_udp_payload_size, tp->initial_max_data,
            tp->initial_max_stream_data_bidi_local, tp->initial_max_stream_data_bidi_remote,
            tp->initial_max_stream_data_uni, tp->initial_max_streams_bidi,
            tp->initial_max_streams_uni, tp->ack_delay_exponent, tp->max_ack_delay,
            tp->active_connection_id_limit, tp->max_datagram_frame_size; */
static void tp_store_int(vq_tp *tp, uint64_t id, uint64_t v)
{
  if (id == VQ_TP_MAX_IDLE_TIMEOUT) tp->max_idle_timeout = v;
  else if (id == VQ_TP_MAX_UDP_PAYLOAD_SIZE) tp->max_udp_payload_size = v;
  else if (id == VQ_TP_INITIAL_MAX_DATA) tp->initial_max_data = v;
  else if (id == VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL) tp->initial_max_stream_data_bidi_local = v;
  else if (id == VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE) tp->initial_max_stream_data_bidi_remote = v;
  else if (id == VQ_TP_INITIAL_MAX_STREAM_DATA_UNI) tp->initial_max_stream_data_uni = v;
  else if (id == VQ_TP_INITIAL_MAX_STREAMS_BIDI) tp->initial_max_streams_bidi = v;
  else if (id == VQ_TP_INITIAL_MAX_STREAMS_UNI) tp->initial_max_streams_uni = v;
  else if (id == VQ_TP_ACK_DELAY_EXPONENT) tp->ack_delay_exponent = v;
  else if (id == VQ_TP_MAX_ACK_DELAY) tp->max_ack_delay = v;
  else if (id == VQ_TP_ACTIVE_CONNECTION_ID_LIMIT) tp->active_connection_id_limit = v;
  else tp->max_datagram_frame_size = v;
}

/*@ requires \valid_read(tp);
    requires vq_tp_int_id(id);
    assigns \nothing; */
static uint64_t tp_load_int(const vq_tp *tp, uint64_t id)
{
  if (id == VQ_TP_MAX_IDLE_TIMEOUT) return tp->max_idle_timeout;
  if (id == VQ_TP_MAX_UDP_PAYLOAD_SIZE) return tp->max_udp_payload_size;
  if (id == VQ_TP_INITIAL_MAX_DATA) return tp->initial_max_data;
  if (id == VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL) return tp->initial_max_stream_data_bidi_local;
  if (id == VQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE) return tp->initial_max_stream_data_bidi_remote;
  if (id == VQ_TP_INITIAL_MAX_STREAM_DATA_UNI) return tp->initial_max_stream_data_uni;
  if (id == VQ_TP_INITIAL_MAX_STREAMS_BIDI) return tp->initial_max_streams_bidi;
  if (id == VQ_TP_INITIAL_MAX_STREAMS_UNI) return tp->initial_max_streams_uni;
  if (id == VQ_TP_ACK_DELAY_EXPONENT) return tp->ack_delay_exponent;
  if (id == VQ_TP_MAX_ACK_DELAY) return tp->max_ack_delay;
  if (id == VQ_TP_ACTIVE_CONNECTION_ID_LIMIT) return tp->active_connection_id_limit;
  return tp->max_datagram_frame_size;
}

/* ---- decoding one value ------------------------------------------------------------------------- */

/* spec: rfc9000#18.2 — an integer parameter is one varint that fills exactly its length. */
/*@ requires vq_readable(v, len);
    requires \valid(out) && \separated(out, v + (0 .. len - 1));
    assigns *out;
    ensures \result == VQ_OK || \result == VQ_ERR_TP_LENGTH;
    ensures \result == VQ_OK ==> *out <= 4611686018427387903;
    ensures \result == VQ_OK ==> len == vq_varint_size_of(v[0]) && *out == vq_varint_value(v, len); */
static vq_status tp_get_int(const uint8_t *v, size_t len, uint64_t *out)
{
  uint64_t x = 0;
  size_t used = 0;
  if (vq_varint_decode(v, len, &x, &used) != VQ_OK) return VQ_ERR_TP_LENGTH;
  if (used != len) return VQ_ERR_TP_LENGTH;
  *out = x;
  return VQ_OK;
}

/* spec: rfc9000#17.2 — a version 1 connection ID is at most 20 bytes. */
/*@ requires vq_readable(v, len);
    requires \valid(cid) && \separated(cid, v + (0 .. len - 1));
    assigns cid->len, cid->bytes[0 .. VQ_TP_CID_MAX - 1];
    ensures \result == VQ_OK || \result == VQ_ERR_TP_VALUE;
    ensures \result == VQ_OK <==> len <= VQ_TP_CID_MAX;
    ensures \result == VQ_OK ==> cid->len == len; */
static vq_status tp_get_cid(const uint8_t *v, size_t len, vq_tp_cid *cid)
{
  if (len > VQ_TP_CID_MAX) return VQ_ERR_TP_VALUE;
  cid->len = (uint8_t)len;
  tp_copy(cid->bytes, v, len);
  return VQ_OK;
}

/* spec: rfc9000#18.2 — Figure 22: IPv4 (4) + port (2) + IPv6 (16) + port (2) + CID length (1) + CID
 * + stateless reset token (16); "a server MUST NOT include a zero-length connection ID in this
 * transport parameter". */
/*@ requires vq_readable(v, len);
    requires \valid(pa) && \separated(pa, v + (0 .. len - 1));
    assigns *pa;
    ensures \result == VQ_OK || \result == VQ_ERR_TP_LENGTH || \result == VQ_ERR_TP_VALUE;
    ensures \result == VQ_OK ==> 1 <= pa->cid.len <= VQ_TP_CID_MAX && len == 41 + pa->cid.len; */
static vq_status tp_get_preferred(const uint8_t *v, size_t len, vq_tp_preferred_address *pa)
{
  if (len < 41u) return VQ_ERR_TP_LENGTH;
  const uint8_t cl = v[24];
  if (cl == 0u || cl > VQ_TP_CID_MAX) return VQ_ERR_TP_VALUE;
  if (len != 41u + cl) return VQ_ERR_TP_LENGTH;
  tp_copy(pa->ipv4, v, 4);
  pa->ipv4_port = tp_be16(v + 4);
  tp_copy(pa->ipv6, v + 6, 16);
  pa->ipv6_port = tp_be16(v + 22);
  pa->cid.len = cl;
  tp_copy(pa->cid.bytes, v + 25, cl);
  tp_copy(pa->reset_token, v + 25 + cl, VQ_TP_RESET_TOKEN_LEN);
  return VQ_OK;
}

/* spec: rfc9368#3 — Version Information { Chosen Version (32), Available Versions (32) ... }.
 * spec: rfc9368#4/3, rfc9368#4/4, rfc9368#4/5, rfc9368#4/6 — the peer's Version Information is parsed
 * with the rest of its transport parameters (vq_tp_decode, called by the connection on the peer's
 * parameters); a length not divisible by four, a Chosen Version or any Available Version equal to
 * zero, or (received by a server) a Chosen Version not among the Available Versions is a parsing
 * failure: a VQ_ERR_TP_* status, which closes the connection with TRANSPORT_PARAMETER_ERROR (QUIC
 * version 1, the only version a connection uses today; error.c). */
/*@ requires vq_readable(v, len);
    requires \valid(vi) && \separated(vi, v + (0 .. len - 1));
    assigns *vi;
    ensures \result == VQ_OK || \result == VQ_ERR_TP_LENGTH || \result == VQ_ERR_TP_VALUE ||
            \result == VQ_ERR_TP_TOO_MANY;
    ensures \result == VQ_OK ==> vi->n_available <= VQ_TP_MAX_VERSIONS && vi->chosen != 0 &&
                                 len == 4 + 4 * vi->n_available; */
static vq_status tp_get_version_info(const uint8_t *v, size_t len, int from_client,
                                     vq_tp_version_info *vi)
{
  if (len < 4u || len % 4u != 0u) return VQ_ERR_TP_LENGTH;
  const size_t n = len / 4u - 1u;
  if (n > VQ_TP_MAX_VERSIONS) return VQ_ERR_TP_TOO_MANY;
  const uint32_t chosen = tp_be32(v);
  if (chosen == 0u) return VQ_ERR_TP_VALUE;
  int found = 0;
  size_t i;
  /*@ loop invariant 0 <= i <= n;
      loop invariant found == 0 || found == 1;
      loop assigns i, found, vi->available[0 .. VQ_TP_MAX_VERSIONS - 1];
      loop variant n - i; */
  for (i = 0; i < n; i++) {
    const uint32_t a = tp_be32(v + 4u + 4u * i);
    if (a == 0u) return VQ_ERR_TP_VALUE;
    if (a == chosen) found = 1;
    vi->available[i] = a;
  }
  if (from_client && !found) return VQ_ERR_TP_VALUE;
  vi->chosen = chosen;
  vi->n_available = (uint32_t)n;
  return VQ_OK;
}

/* One known parameter (id has an index below VQ_TP_KNOWN). */
/*@ requires \valid(tp);
    requires vq_tp_ix(id) < VQ_TP_KNOWN;
    requires id <= 0x11 || id == 0x20;
    requires vq_readable(v, len);
    requires \separated(tp, v + (0 .. len - 1));
    assigns *tp;
    ensures tp->n_unknown == \old(tp->n_unknown);
    ensures \result == VQ_OK || \result == VQ_ERR_TP_LENGTH || \result == VQ_ERR_TP_VALUE ||
            \result == VQ_ERR_TP_TOO_MANY || \result == VQ_ERR_TP_DUPLICATE ||
            \result == VQ_ERR_TP_SERVER_ONLY;
    ensures \old(tp->present[vq_tp_ix(id)]) != 0 ==> \result == VQ_ERR_TP_DUPLICATE;
    ensures from_client && vq_tp_server_only(id) && \old(tp->present[vq_tp_ix(id)]) == 0 ==>
              \result == VQ_ERR_TP_SERVER_ONLY; */
static vq_status tp_decode_known(vq_tp *tp, uint64_t id, const uint8_t *v, size_t len, int from_client)
{
  const size_t ix = vq_tp_index(id);
  vq_status st = VQ_OK;
  /* spec: rfc9000#7.4/3 — an endpoint MUST NOT send a parameter more than once; a receiver SHOULD
   * treat duplicates as TRANSPORT_PARAMETER_ERROR (we do). */
  if (tp->present[ix] != 0u) return VQ_ERR_TP_DUPLICATE;
  /* spec: rfc9000#18.2/11 — a server MUST treat receipt of a server-only parameter from a client as
   * TRANSPORT_PARAMETER_ERROR. */
  if (from_client && tp_is_server_only(id)) return VQ_ERR_TP_SERVER_ONLY;
  if (tp_is_int(id)) {
    uint64_t x = 0;
    st = tp_get_int(v, len, &x);
    if (st != VQ_OK) return st;
    st = tp_check_int(id, x);
    if (st != VQ_OK) return st;
    tp_store_int(tp, id, x);
  } else if (id == VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID) {
    st = tp_get_cid(v, len, &tp->original_destination_connection_id);
  } else if (id == VQ_TP_INITIAL_SOURCE_CONNECTION_ID) {
    st = tp_get_cid(v, len, &tp->initial_source_connection_id);
  } else if (id == VQ_TP_RETRY_SOURCE_CONNECTION_ID) {
    st = tp_get_cid(v, len, &tp->retry_source_connection_id);
  } else if (id == VQ_TP_STATELESS_RESET_TOKEN) {
    /* spec: rfc9000#18.2 — stateless_reset_token is a sequence of 16 bytes. */
    if (len != VQ_TP_RESET_TOKEN_LEN) return VQ_ERR_TP_LENGTH;
    tp_copy(tp->stateless_reset_token, v, VQ_TP_RESET_TOKEN_LEN);
  } else if (id == VQ_TP_DISABLE_ACTIVE_MIGRATION) {
    /* spec: rfc9000#18.2 — disable_active_migration is a zero-length value. */
    if (len != 0u) return VQ_ERR_TP_LENGTH;
  } else if (id == VQ_TP_PREFERRED_ADDRESS) {
    st = tp_get_preferred(v, len, &tp->preferred_address);
  } else {
    st = tp_get_version_info(v, len, from_client, &tp->version_information);
  }
  if (st != VQ_OK) return st;
  tp->present[ix] = 1u;
  return VQ_OK;
}

/* spec: rfc9000#7.4.2/1 — a parameter we do not support is ignored (never an error), kept for the
 * caller. An unknown parameter: kept zero-copy, duplicates refused. At most VQ_TP_MAX_UNKNOWN comparisons. */
/*@ requires \valid(tp);
    requires tp->n_unknown <= VQ_TP_MAX_UNKNOWN;
    assigns tp->n_unknown, tp->unknown[0 .. VQ_TP_MAX_UNKNOWN - 1];
    ensures tp->n_unknown <= VQ_TP_MAX_UNKNOWN;
    ensures \result == VQ_OK || \result == VQ_ERR_TP_DUPLICATE || \result == VQ_ERR_TP_TOO_MANY;
    ensures \result == VQ_OK ==> tp->n_unknown == \old(tp->n_unknown) + 1 &&
              tp->unknown[\old(tp->n_unknown)].id == id &&
              tp->unknown[\old(tp->n_unknown)].value == v &&
              tp->unknown[\old(tp->n_unknown)].len == len; */
static vq_status tp_add_unknown(vq_tp *tp, uint64_t id, const uint8_t *v, size_t len)
{
  const size_t n = tp->n_unknown;
  size_t i;
  /*@ loop invariant 0 <= i <= n;
      loop assigns i;
      loop variant n - i; */
  for (i = 0; i < n; i++)
    if (tp->unknown[i].id == id) return VQ_ERR_TP_DUPLICATE; /* spec: rfc9000#7.4 */
  if (n >= VQ_TP_MAX_UNKNOWN) return VQ_ERR_TP_TOO_MANY;
  tp->unknown[n].id = id;
  tp->unknown[n].value = v;
  tp->unknown[n].len = len;
  tp->n_unknown = n + 1u;
  return VQ_OK;
}

/* Reads the varint at buf[off ..) within buf[0 .. len) into *v and advances *off past it.
 * Only additions of small bounded terms (off <= len <= VQ_TP_MAX_LEN, n <= 8), no subtraction: the
 * bounds stay visible to Eva, which is not relational across calls. */
/*@ requires len <= VQ_TP_MAX_LEN;
    requires vq_readable(buf, len);
    requires \valid(v) && \valid(off) && \separated(v, off);
    requires \separated(v, buf + (0 .. len - 1)) && \separated(off, buf + (0 .. len - 1));
    assigns *v, *off;
    ensures \result == VQ_OK || \result == VQ_ERR_TP_TRUNCATED;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= len ==> *off <= len;
    ensures \result == VQ_OK ==> *off > \old(*off) && *v <= 4611686018427387903; */
static vq_status tp_read_varint(const uint8_t *buf, size_t len, size_t *off, uint64_t *v)
{
  size_t u = 0;
  const size_t o = *off;
  if (o >= len) return VQ_ERR_TP_TRUNCATED;
  const size_t n = vq_varint_len_of_first(buf[o]);
  if (o + n > len) return VQ_ERR_TP_TRUNCATED;
  (void)vq_varint_decode(buf + o, n, v, &u); /* cannot fail: the n bytes its first byte announces */
  *off = o + n;
  return VQ_OK;
}

/* spec: rfc9000#18 — Transport Parameter { ID (i), Length (i), Value (..) } ...
 * spec: rfc8446#4.2 — extension_data is at most 2^16-1 bytes, hence VQ_TP_MAX_LEN. */
/*@ requires vq_readable(buf, len);
    requires \valid(tp);
    requires \separated(tp, buf + (0 .. len - 1));
    assigns *tp;
    ensures tp->n_unknown <= VQ_TP_MAX_UNKNOWN;
    ensures \result == VQ_OK || \result == VQ_ERR_TP_TRUNCATED || \result == VQ_ERR_TP_LENGTH ||
            \result == VQ_ERR_TP_VALUE || \result == VQ_ERR_TP_TOO_MANY ||
            \result == VQ_ERR_TP_DUPLICATE || \result == VQ_ERR_TP_SERVER_ONLY;
    ensures len == 0 ==> \result == VQ_OK;
    ensures len > VQ_TP_MAX_LEN ==> \result == VQ_ERR_TP_LENGTH; */
vq_status vq_tp_decode(const uint8_t *buf, size_t len, vq_tp_role sender, vq_tp *tp)
{
  const int from_client = sender == VQ_TP_CLIENT;
  size_t off = 0;
  vq_tp_init_defaults(tp);
  if (len > VQ_TP_MAX_LEN) return VQ_ERR_TP_LENGTH;
  /*@ loop invariant 0 <= off <= len;
      loop invariant tp->n_unknown <= VQ_TP_MAX_UNKNOWN;
      loop assigns off, *tp;
      loop variant len - off; */
  while (off < len) {
    uint64_t id = 0, plen = 0;
    vq_status st;
    if (tp_read_varint(buf, len, &off, &id) != VQ_OK) return VQ_ERR_TP_TRUNCATED;
    if (tp_read_varint(buf, len, &off, &plen) != VQ_OK) return VQ_ERR_TP_TRUNCATED;
    const size_t o = off;
    if (plen > len || o + plen > len) return VQ_ERR_TP_TRUNCATED;
    const size_t vlen = (size_t)plen;
    if (id <= 0x11u || id == VQ_TP_MAX_DATAGRAM_FRAME_SIZE)
      st = tp_decode_known(tp, id, buf + o, vlen, from_client);
    else
      st = tp_add_unknown(tp, id, buf + o, vlen);
    if (st != VQ_OK) return st;
    off = o + vlen;
  }
  return VQ_OK;
}

/* ---- encoding ----------------------------------------------------------------------------------- */

/*@ requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT; */
static vq_status tp_put_varint(uint8_t *out, size_t cap, size_t *off, uint64_t v)
{
  size_t u = 0;
  const size_t o = *off;
  const size_t n = vq_varint_len(v);
  if (n == 0u) return VQ_ERR_INVALID_ARGUMENT;
  /* Additions of bounded terms only (o <= cap <= VQ_TP_MAX_LEN, n <= 8): Eva sees the bounds. */
  if (o > cap || o + n > cap) return VQ_ERR_BUFFER_TOO_SMALL;
  (void)vq_varint_encode(out + o, n, v, &u); /* cannot fail: n is v's size and n bytes are free */
  *off = o + n;
  return VQ_OK;
}

/*@ requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires cap <= VQ_TP_MAX_LEN;
    requires vq_readable(src, n);
    requires \separated(out + (0 .. cap - 1), src + (0 .. n - 1));
    requires \separated(off, src + (0 .. n - 1));
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL; */
static vq_status tp_put_bytes(uint8_t *out, size_t cap, size_t *off, const uint8_t *src, size_t n)
{
  const size_t o = *off;
  if (o > cap || n > cap || o + n > cap) return VQ_ERR_BUFFER_TOO_SMALL;
  tp_copy(out + o, src, n);
  *off = o + n;
  return VQ_OK;
}

/*@ requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT; */
static vq_status tp_put_header(uint8_t *out, size_t cap, size_t *off, uint64_t id, uint64_t len)
{
  const vq_status st = tp_put_varint(out, cap, off, id);
  if (st != VQ_OK) return st;
  return tp_put_varint(out, cap, off, len);
}

/*@ requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL; */
static vq_status tp_put_be32(uint8_t *out, size_t cap, size_t *off, uint32_t x)
{
  uint8_t b[4];
  b[0] = (uint8_t)(x / 16777216u);
  b[1] = (uint8_t)(x / 65536u % 256u);
  b[2] = (uint8_t)(x / 256u % 256u);
  b[3] = (uint8_t)(x % 256u);
  return tp_put_bytes(out, cap, off, b, 4);
}

/*@ requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL; */
static vq_status tp_put_be16(uint8_t *out, size_t cap, size_t *off, uint16_t x)
{
  uint8_t b[2];
  b[0] = (uint8_t)(x / 256u);
  b[1] = (uint8_t)(x % 256u);
  return tp_put_bytes(out, cap, off, b, 2);
}

/*@ requires \valid_read(cid);
    requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires \separated(out + (0 .. cap - 1), cid) && \separated(off, cid);
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT; */
static vq_status tp_put_cid_param(uint8_t *out, size_t cap, size_t *off, uint64_t id, const vq_tp_cid *cid)
{
  if (cid->len > VQ_TP_CID_MAX) return VQ_ERR_INVALID_ARGUMENT;
  const vq_status st = tp_put_header(out, cap, off, id, cid->len);
  if (st != VQ_OK) return st;
  return tp_put_bytes(out, cap, off, cid->bytes, cid->len);
}

/*@ requires \valid_read(pa);
    requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires \separated(out + (0 .. cap - 1), pa) && \separated(off, pa);
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT; */
static vq_status tp_put_preferred(uint8_t *out, size_t cap, size_t *off, const vq_tp_preferred_address *pa)
{
  const uint8_t cl = pa->cid.len;
  uint8_t clb[1];
  vq_status st;
  /* spec: rfc9000#18.2/6 — a server MUST NOT include a zero-length connection ID here. */
  if (cl == 0u || cl > VQ_TP_CID_MAX) return VQ_ERR_INVALID_ARGUMENT;
  clb[0] = cl;
  st = tp_put_header(out, cap, off, VQ_TP_PREFERRED_ADDRESS, 41u + (uint64_t)cl);
  if (st == VQ_OK) st = tp_put_bytes(out, cap, off, pa->ipv4, 4);
  if (st == VQ_OK) st = tp_put_be16(out, cap, off, pa->ipv4_port);
  if (st == VQ_OK) st = tp_put_bytes(out, cap, off, pa->ipv6, 16);
  if (st == VQ_OK) st = tp_put_be16(out, cap, off, pa->ipv6_port);
  if (st == VQ_OK) st = tp_put_bytes(out, cap, off, clb, 1);
  if (st == VQ_OK) st = tp_put_bytes(out, cap, off, pa->cid.bytes, cl);
  if (st == VQ_OK) st = tp_put_bytes(out, cap, off, pa->reset_token, VQ_TP_RESET_TOKEN_LEN);
  return st;
}

/*@ requires \valid_read(vi);
    requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires \separated(out + (0 .. cap - 1), vi) && \separated(off, vi);
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT; */
static vq_status tp_put_version_info(uint8_t *out, size_t cap, size_t *off, int from_client,
                                     const vq_tp_version_info *vi)
{
  const uint32_t n = vi->n_available;
  int found = 0;
  uint32_t i;
  vq_status st;
  /* spec: rfc9368#4, rfc9368#3/2 — what the receiver treats as a parsing failure is refused here: in
   * particular a client's Chosen Version must be among its Available Versions. */
  if (n > VQ_TP_MAX_VERSIONS || vi->chosen == 0u) return VQ_ERR_INVALID_ARGUMENT;
  /*@ loop invariant 0 <= i <= n;
      loop invariant found == 0 || found == 1;
      loop assigns i, found;
      loop variant n - i; */
  for (i = 0; i < n; i++) {
    if (vi->available[i] == 0u) return VQ_ERR_INVALID_ARGUMENT;
    if (vi->available[i] == vi->chosen) found = 1;
  }
  if (from_client && !found) return VQ_ERR_INVALID_ARGUMENT;
  st = tp_put_header(out, cap, off, VQ_TP_VERSION_INFORMATION, 4u + 4u * (uint64_t)n);
  if (st == VQ_OK) st = tp_put_be32(out, cap, off, vi->chosen);
  /*@ loop invariant 0 <= i <= n;
      loop invariant \at(*off, Pre) <= *off;
      loop invariant \at(*off, Pre) <= cap ==> *off <= cap;
      loop invariant st == VQ_OK || st == VQ_ERR_BUFFER_TOO_SMALL || st == VQ_ERR_INVALID_ARGUMENT;
      loop assigns i, st, *off, out[0 .. cap - 1];
      loop variant n - i; */
  for (i = 0; i < n && st == VQ_OK; i++) st = tp_put_be32(out, cap, off, vi->available[i]);
  return st;
}

/* One present known parameter, as a parameter of index ix (id = ix, or 0x20 for ix 18). */
/*@ requires \valid_read(tp);
    requires id <= 0x11 || id == 0x20;
    requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires \separated(out + (0 .. cap - 1), tp) && \separated(off, tp);
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT; */
static vq_status tp_put_known(const vq_tp *tp, uint64_t id, int from_client, uint8_t *out, size_t cap,
                              size_t *off)
{
  /* spec: rfc9000#18.2/10, rfc9000#18.2/1 — a client never sends a server-only parameter. */
  if (from_client && tp_is_server_only(id)) return VQ_ERR_INVALID_ARGUMENT;
  if (tp_is_int(id)) {
    const uint64_t x = tp_load_int(tp, id);
    if (tp_check_int(id, x) != VQ_OK) return VQ_ERR_INVALID_ARGUMENT;
    const vq_status st = tp_put_header(out, cap, off, id, vq_varint_len(x));
    if (st != VQ_OK) return st;
    return tp_put_varint(out, cap, off, x);
  }
  if (id == VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID)
    return tp_put_cid_param(out, cap, off, id, &tp->original_destination_connection_id);
  if (id == VQ_TP_INITIAL_SOURCE_CONNECTION_ID)
    return tp_put_cid_param(out, cap, off, id, &tp->initial_source_connection_id);
  if (id == VQ_TP_RETRY_SOURCE_CONNECTION_ID)
    return tp_put_cid_param(out, cap, off, id, &tp->retry_source_connection_id);
  if (id == VQ_TP_STATELESS_RESET_TOKEN) {
    const vq_status st = tp_put_header(out, cap, off, id, VQ_TP_RESET_TOKEN_LEN);
    if (st != VQ_OK) return st;
    return tp_put_bytes(out, cap, off, tp->stateless_reset_token, VQ_TP_RESET_TOKEN_LEN);
  }
  if (id == VQ_TP_DISABLE_ACTIVE_MIGRATION) return tp_put_header(out, cap, off, id, 0);
  if (id == VQ_TP_PREFERRED_ADDRESS) return tp_put_preferred(out, cap, off, &tp->preferred_address);
  return tp_put_version_info(out, cap, off, from_client, &tp->version_information);
}

/* spec: rfc9000#7.4/2 — no parameter is sent twice: the known ones are written once each from their
 * present flags (vq_tp_encode), and an unknown entry i must be neither a known id nor the id of an
 * earlier entry (bounded: i < VQ_TP_MAX_UNKNOWN comparisons). */
/*@ requires \valid_read(tp);
    requires i < tp->n_unknown <= VQ_TP_MAX_UNKNOWN;
    requires vq_tp_unknown_readable(tp);
    requires vq_writable(out, cap);
    requires \valid(off) && \separated(off, out + (0 .. cap - 1));
    requires \separated(out + (0 .. cap - 1), tp) && \separated(off, tp);
    requires \separated(out + (0 .. cap - 1), tp->unknown[i].value + (0 .. tp->unknown[i].len - 1));
    requires \separated(off, tp->unknown[i].value + (0 .. tp->unknown[i].len - 1));
    requires cap <= VQ_TP_MAX_LEN;
    assigns out[0 .. cap - 1], *off;
    ensures \old(*off) <= *off;
    ensures \old(*off) <= cap ==> *off <= cap;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT; */
static vq_status tp_put_unknown(const vq_tp *tp, size_t i, uint8_t *out, size_t cap, size_t *off)
{
  const uint64_t id = tp->unknown[i].id;
  size_t j;
  if (vq_tp_index(id) < VQ_TP_KNOWN) return VQ_ERR_INVALID_ARGUMENT;
  /*@ loop invariant 0 <= j <= i;
      loop assigns j;
      loop variant i - j; */
  for (j = 0; j < i; j++)
    if (tp->unknown[j].id == id) return VQ_ERR_INVALID_ARGUMENT;
  const vq_status st = tp_put_header(out, cap, off, id, tp->unknown[i].len);
  if (st != VQ_OK) return st;
  return tp_put_bytes(out, cap, off, tp->unknown[i].value, tp->unknown[i].len);
}

/*@ requires \valid_read(tp);
    requires vq_writable(out, cap);
    requires \valid(used);
    requires \separated(out + (0 .. cap - 1), tp) && \separated(used, tp);
    requires \separated(used, out + (0 .. cap - 1));
    requires vq_tp_unknown_readable(tp);
    requires vq_tp_unknown_separated(tp, out, cap);
    assigns out[0 .. cap - 1], *used;
    ensures \result == VQ_OK || \result == VQ_ERR_BUFFER_TOO_SMALL || \result == VQ_ERR_INVALID_ARGUMENT;
    ensures \result == VQ_OK ==> *used <= cap; */
vq_status vq_tp_encode(const vq_tp *tp, vq_tp_role sender, uint8_t *out, size_t cap, size_t *used)
{
  const int from_client = sender == VQ_TP_CLIENT;
  size_t off = 0;
  size_t k;
  vq_status st = VQ_OK;
  /* spec: rfc8446#4.2 — the encoding goes into extension_data, at most 2^16-1 bytes. */
  const size_t lim = cap > VQ_TP_MAX_LEN ? VQ_TP_MAX_LEN : cap;
  /* Canonical order: known parameters by ascending id (index 0..17 is id 0x00..0x11, 18 is 0x20). */
  /*@ loop invariant 0 <= k <= VQ_TP_KNOWN;
      loop invariant off <= lim;
      loop assigns k, st, off, out[0 .. cap - 1];
      loop variant VQ_TP_KNOWN - k; */
  for (k = 0; k < VQ_TP_KNOWN; k++) {
    if (tp->present[k] == 0u) continue;
    st = tp_put_known(tp, k <= 0x11u ? (uint64_t)k : VQ_TP_MAX_DATAGRAM_FRAME_SIZE, from_client, out,
                      lim, &off);
    if (st != VQ_OK) return st;
  }
  if (tp->n_unknown > VQ_TP_MAX_UNKNOWN) return VQ_ERR_INVALID_ARGUMENT;
  /*@ loop invariant 0 <= k <= tp->n_unknown;
      loop invariant off <= lim;
      loop assigns k, st, off, out[0 .. cap - 1];
      loop variant tp->n_unknown - k; */
  for (k = 0; k < tp->n_unknown; k++) {
    st = tp_put_unknown(tp, k, out, lim, &off);
    if (st != VQ_OK) return st;
  }
  *used = off;
  return VQ_OK;
}
