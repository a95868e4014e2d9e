/* vquic — QUIC packet headers (RFC 9000 §17, RFC 8999 §5, RFC 9369 §3), written for WP: a size_t
 * cursor checked against the datagram before every read, bits taken with / and % (PROOF-STYLE.md),
 * small functions each with exact assigns. */
#include "vquic/packet.h"
#include "vquic/varint.h"
#include "vq_acsl.h"
#include "packet_acsl.h"

/*@ requires \valid_read(p + (0 .. 3));
    assigns \nothing;
    ensures \result == vq_be_value(p, 4); */
static uint32_t rd_u32(const uint8_t *p)
{
  return (uint32_t)((((uint32_t)p[0] * 256u + p[1]) * 256u + p[2]) * 256u + p[3]);
}

/*@ requires \valid(p + (0 .. 3));
    assigns p[0 .. 3];
    ensures vq_be_value(p, 4) == v; */
static void wr_u32(uint8_t *p, uint32_t v)
{
  const uint32_t q1 = v / 256u, q2 = q1 / 256u, q3 = q2 / 256u;
  p[3] = (uint8_t)(v % 256u);
  p[2] = (uint8_t)(q1 % 256u);
  p[1] = (uint8_t)(q2 % 256u);
  p[0] = (uint8_t)q3;
}

/*@ requires n <= 65535;
    requires n > 0 ==> \valid(dst + (0 .. n - 1)) && \valid_read(src + (0 .. n - 1));
    requires n > 0 ==> \separated(dst + (0 .. n - 1), src + (0 .. n - 1));
    assigns dst[0 .. n - 1];
    ensures \forall integer j; 0 <= j < n ==> dst[j] == src[j]; */
static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
  /*@ loop invariant 0 <= i <= n;
      loop invariant \forall integer j; 0 <= j < i ==> dst[j] == src[j];
      loop assigns i, dst[0 .. n - 1];
      loop variant n - i; */
  for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

/* spec: rfc9000#17.2 — the Long Packet Type of version 1: Initial 0, 0-RTT 1, Handshake 2, Retry 3.
 * spec: rfc9369#3.2 — version 2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00. */
/*@ requires bits <= 3;
    assigns \nothing;
    ensures \result == VQ_PKT_INITIAL || \result == VQ_PKT_0RTT || \result == VQ_PKT_HANDSHAKE ||
            \result == VQ_PKT_RETRY; */
static vq_pkt_type long_type(uint32_t version, unsigned bits)
{
  if (version == VQ_VERSION_2) {
    if (bits == 1u) return VQ_PKT_INITIAL;
    if (bits == 2u) return VQ_PKT_0RTT;
    if (bits == 3u) return VQ_PKT_HANDSHAKE;
    return VQ_PKT_RETRY;
  }
  if (bits == 0u) return VQ_PKT_INITIAL;
  if (bits == 1u) return VQ_PKT_0RTT;
  if (bits == 2u) return VQ_PKT_HANDSHAKE;
  return VQ_PKT_RETRY;
}

/* The inverse of long_type, for the builders. */
/*@ requires t == VQ_PKT_INITIAL || t == VQ_PKT_0RTT || t == VQ_PKT_HANDSHAKE || t == VQ_PKT_RETRY;
    assigns \nothing;
    ensures \result <= 3; */
static unsigned long_bits(uint32_t version, vq_pkt_type t)
{
  unsigned b;
  if (t == VQ_PKT_INITIAL) b = 0u;
  else if (t == VQ_PKT_0RTT) b = 1u;
  else if (t == VQ_PKT_HANDSHAKE) b = 2u;
  else b = 3u;
  if (version == VQ_VERSION_2) b = (b + 1u) % 4u;
  return b;
}

/* A connection ID: its length byte at buf[off], then the bytes (RFC 9000 §17.2, RFC 8999 §5.1). */
/*@ requires vq_readable(buf, len);
    requires off <= len;
    requires \valid(cid_off) && \valid(cid_len) && \valid(next);
    requires \separated(cid_off, cid_len, next);
    assigns *cid_off, *cid_len, *next;
    ensures \result == VQ_OK || \result == VQ_ERR_PACKET_TRUNCATED || \result == VQ_ERR_PACKET_CID_TOO_LONG;
    ensures \result == VQ_OK ==> *cid_off == off + 1 && *cid_len <= max &&
                                 *cid_off + *cid_len == *next && *next <= len; */
static vq_status parse_cid(const uint8_t *buf, size_t len, size_t off, size_t max, size_t *cid_off,
                           size_t *cid_len, size_t *next)
{
  if (off >= len) return VQ_ERR_PACKET_TRUNCATED;
  const size_t n = buf[off];
  if (n > max) return VQ_ERR_PACKET_CID_TOO_LONG;
  if (len - off - 1u < n) return VQ_ERR_PACKET_TRUNCATED;
  *cid_off = off + 1u;
  *cid_len = n;
  *next = off + 1u + n;
  return VQ_OK;
}

/*@ requires \valid(h);
    assigns *h;
    ensures h->dcid_off == 0 && h->dcid_len == 0 && h->scid_off == 0 && h->scid_len == 0 &&
            h->token_off == 0 && h->token_len == 0; */
static void hdr_clear(vq_pkt_header *h)
{
  h->type = VQ_PKT_1RTT;
  h->first = 0;
  h->version = 0;
  h->dcid_off = 0;
  h->dcid_len = 0;
  h->scid_off = 0;
  h->scid_len = 0;
  h->token_off = 0;
  h->token_len = 0;
  h->token_len_size = 0;
  h->length = 0;
  h->length_size = 0;
  h->pn_off = 0;
  h->tag_off = 0;
  h->versions_off = 0;
  h->versions_count = 0;
  h->spin = 0;
  h->packet_len = 0;
}

/* spec: rfc9000#17.3.1 — 1-RTT: Header Form 0, Fixed Bit 1, Spin Bit, then the protected Reserved,
 * Key Phase and Packet Number Length bits, the DCID (its length known locally), the packet number.
 * A short-header packet extends to the end of the datagram (rfc9000#12.2). */
/*@ requires len >= 1 && \valid_read(buf + (0 .. len - 1));
    requires dcid_len <= 20;
    requires \valid(h) && \separated(h, buf + (0 .. len - 1));
    assigns *h;
    ensures \result == VQ_OK || \result == VQ_ERR_PACKET_FIXED_BIT || \result == VQ_ERR_PACKET_TRUNCATED;
    ensures \result == VQ_OK ==> vq_hdr_ok(h, len) && h->type == VQ_PKT_1RTT && h->dcid_len == dcid_len; */
static vq_status parse_short(const uint8_t *buf, size_t len, size_t dcid_len, vq_pkt_header *h)
{
  const uint8_t b0 = buf[0];
  hdr_clear(h);
  /* spec: rfc9000#17.3.1/1 — "Packets containing a zero value for this bit are not valid packets
   * in this version and MUST be discarded." (the caller drops on VQ_ERR_PACKET_FIXED_BIT) */
  if (b0 % 128u < 64u) return VQ_ERR_PACKET_FIXED_BIT;
  /* The packet number is at least one byte (rfc9000#17.1). */
  if (len - 1u <= dcid_len) return VQ_ERR_PACKET_TRUNCATED;
  h->type = VQ_PKT_1RTT;
  h->first = b0;
  /* spec: rfc9000#17.4/5 — the spin bit is reported, never interpreted (vquic keeps it disabled) */
  h->spin = (uint8_t)(b0 / 32u % 2u);
  h->dcid_off = 1;
  h->dcid_len = dcid_len;
  h->pn_off = 1u + dcid_len;
  h->packet_len = len;
  return VQ_OK;
}

/* spec: rfc9000#17.2.1 — after the CIDs, a list of 32-bit versions filling the datagram. */
/*@ requires off <= len;
    requires \valid(h);
    assigns h->versions_off, h->versions_count, h->packet_len;
    ensures \result == VQ_OK || \result == VQ_ERR_PACKET_VN_EMPTY || \result == VQ_ERR_PACKET_TRUNCATED;
    ensures \result == VQ_OK ==> h->versions_count >= 1 && h->versions_off == off &&
              h->versions_off + 4 * h->versions_count == len && h->packet_len == len; */
static vq_status parse_vn_tail(size_t len, size_t off, vq_pkt_header *h)
{
  const size_t rest = len - off;
  /* spec: rfc9000#17.2.1 — a Version Negotiation packet lists at least one version; spec:
   * rfc8999#6/2 — one with none or a truncated one is an error, and the connection ignores it. */
  if (rest == 0) return VQ_ERR_PACKET_VN_EMPTY;
  if (rest % 4u != 0) return VQ_ERR_PACKET_TRUNCATED;
  h->versions_off = off;
  h->versions_count = rest / 4u;
  h->packet_len = len;
  return VQ_OK;
}

/* spec: rfc9000#17.2.2 — Initial: Token Length (i), Token, Length (i), then the packet number.
 * spec: rfc9000#17.2.3, rfc9000#17.2.4 — 0-RTT and Handshake: Length (i), then the packet number.
 * spec: rfc9000#17.2 — "Length: ... the length of the remainder of the packet (that is, the Packet
 * Number and Payload fields) in bytes"; it must fit in the datagram. */
/*@ requires vq_readable(buf, len);
    requires off <= len;
    requires \valid(h) && \separated(h, buf + (0 .. len - 1));
    assigns h->token_off, h->token_len, h->token_len_size, h->length, h->length_size, h->pn_off,
            h->packet_len;
    ensures \result == VQ_OK || \result == VQ_ERR_PACKET_TRUNCATED || \result == VQ_ERR_PACKET_TOKEN ||
            \result == VQ_ERR_PACKET_LENGTH;
    ensures \result == VQ_OK ==> off <= h->token_off && h->token_off + h->token_len <= h->pn_off &&
              h->length >= 1 && h->pn_off + h->length == h->packet_len && h->packet_len <= len;
    ensures \result == VQ_OK && !initial ==> h->token_off == off && h->token_len == 0; */
static vq_status parse_length_tail(const uint8_t *buf, size_t len, size_t off, int initial,
                                   vq_pkt_header *h)
{
  uint64_t v = 0;
  size_t used = 0;
  size_t cur = off;
  size_t tok_len = 0;
  size_t tok_size = 0;
  if (initial) {
    if (vq_varint_decode(buf + cur, len - cur, &v, &used) != VQ_OK)
      return VQ_ERR_PACKET_TRUNCATED;
    cur += used;
    /*@ split cur; */
    /* spec: rfc9000#17.2.2 — the token must lie inside the packet. */
    if (v > len - cur) return VQ_ERR_PACKET_TOKEN;
    tok_len = (size_t)v;
    tok_size = used;
  }
  const size_t tok_off = cur;
  cur += tok_len;
  /*@ split cur; */
  /* used > len - cur cannot hold (the decoder ensures used <= its len); spelled out so that Eva's
   * intervals, which lose the token length's relation to cur, see cur <= len. (After the Token
   * Length above, cur is exact and Eva needs no such test.) */
  if (vq_varint_decode(buf + cur, len - cur, &v, &used) != VQ_OK || used > len - cur)
    return VQ_ERR_PACKET_TRUNCATED;
  const size_t length_size = used;
  cur += used;
  if (v > len - cur) return VQ_ERR_PACKET_LENGTH;
  /* The Packet Number field is 1 to 4 bytes (rfc9000#17.1): a Length of 0 cannot hold it. */
  if (v == 0) return VQ_ERR_PACKET_TRUNCATED;
  h->token_off = tok_off;
  h->token_len = tok_len;
  h->token_len_size = tok_size;
  h->length = v;
  h->length_size = length_size;
  h->pn_off = cur;
  h->packet_len = cur + (size_t)v;
  return VQ_OK;
}

/* spec: rfc9000#17.2.5 — Retry: Retry Token (the rest), Retry Integrity Tag (128 bits); it uses the
 * whole datagram. spec: rfc9000#17.2.5/1 — the four Unused bits of the first byte are not looked at. spec: rfc9000#17.2.5.2 — "A client MUST discard a Retry packet with a zero-length
 * Retry Token field." */
/*@ requires off <= len;
    requires \valid(h);
    assigns h->token_off, h->token_len, h->tag_off, h->packet_len;
    ensures \result == VQ_OK || \result == VQ_ERR_PACKET_RETRY;
    ensures \result == VQ_OK ==> h->token_off == off && h->token_len >= 1 &&
              h->tag_off == h->token_off + h->token_len && h->tag_off + 16 == len &&
              h->packet_len == len; */
static vq_status parse_retry_tail(size_t len, size_t off, vq_pkt_header *h)
{
  if (len - off <= VQ_RETRY_TAG_LEN) return VQ_ERR_PACKET_RETRY;
  h->token_off = off;
  h->token_len = len - off - VQ_RETRY_TAG_LEN;
  h->tag_off = len - VQ_RETRY_TAG_LEN;
  h->packet_len = len;
  return VQ_OK;
}

/* spec: rfc9000#17.2 — Header Form 1, Fixed Bit, Long Packet Type, Type-Specific Bits, Version (32),
 * DCID Length (8), DCID, SCID Length (8), SCID, then the type-specific payload.
 * spec: rfc8999#5.1 — for any version: the version and two CIDs of up to 255 bytes.
 * spec: rfc9000#17.2/3, rfc9000#17.2/6 — "Endpoints that receive a version 1 long header with a
 * value larger than 20 MUST drop the packet." (VQ_ERR_PACKET_CID_TOO_LONG, for either CID)
 * spec: rfc9000#17.2.1/1, rfc8999#6/1 — a Version Negotiation packet's Unused bits are not looked at. */
/*@ requires len >= 1 && \valid_read(buf + (0 .. len - 1));
    requires \valid(h) && \separated(h, buf + (0 .. len - 1));
    assigns *h;
    ensures \result == VQ_OK ==> vq_hdr_ok(h, len) && h->type != VQ_PKT_1RTT;
    ensures \result == VQ_ERR_PACKET_VERSION ==> vq_hdr_within(h, len) && h->packet_len == len &&
              h->type == VQ_PKT_UNKNOWN_VERSION; */
static vq_status parse_long(const uint8_t *buf, size_t len, vq_pkt_header *h)
{
  const uint8_t b0 = buf[0];
  size_t off, next;
  vq_status st;
  hdr_clear(h);
  if (len < 5u) return VQ_ERR_PACKET_TRUNCATED;
  const uint32_t version = rd_u32(buf + 1);
  const int known = version == VQ_VERSION_1 || version == VQ_VERSION_2;
  const size_t max = known ? VQ_CID_MAX_LEN : VQ_CID_MAX_LEN_ANY;
  h->first = b0;
  h->version = version;
  st = parse_cid(buf, len, 5, max, &h->dcid_off, &h->dcid_len, &next);
  if (st != VQ_OK) return st;
  off = next;
  /*@ split off; */
  st = parse_cid(buf, len, off, max, &h->scid_off, &h->scid_len, &next);
  if (st != VQ_OK) return st;
  off = next;
  /*@ split off; */
  h->token_off = off;
  if (version == VQ_VERSION_NEGOTIATION) {
    h->type = VQ_PKT_VERSION_NEGOTIATION;
    return parse_vn_tail(len, off, h);
  }
  if (!known) {
    /* spec: rfc9000#6 — the caller may answer with Version Negotiation; the rest is opaque. */
    h->type = VQ_PKT_UNKNOWN_VERSION;
    h->packet_len = len;
    return VQ_ERR_PACKET_VERSION;
  }
  /* spec: rfc9000#17.2/1 — Fixed Bit: "Packets containing a zero value for this bit are not valid
   * packets in this version and MUST be discarded." */
  if (b0 % 128u < 64u) return VQ_ERR_PACKET_FIXED_BIT;
  const vq_pkt_type t = long_type(version, (unsigned)(b0 / 16u % 4u));
  h->type = t;
  if (t == VQ_PKT_RETRY) return parse_retry_tail(len, off, h);
  return parse_length_tail(buf, len, off, t == VQ_PKT_INITIAL, h);
}

/*@ requires vq_readable(buf, len);
    requires \valid(h) && \separated(h, buf + (0 .. len - 1));
    assigns *h;
    ensures \result == VQ_OK ==> vq_hdr_ok(h, len);
    ensures \result == VQ_OK && h->type == VQ_PKT_1RTT ==> h->dcid_len == short_dcid_len;
    ensures \result == VQ_ERR_PACKET_VERSION ==> vq_hdr_within(h, len) && h->packet_len == len &&
              h->type == VQ_PKT_UNKNOWN_VERSION; */
vq_status vq_packet_parse(const uint8_t *buf, size_t len, size_t short_dcid_len, vq_pkt_header *h)
{
  if (short_dcid_len > VQ_CID_MAX_LEN) {
    hdr_clear(h);
    return VQ_ERR_INVALID_ARGUMENT;
  }
  if (len == 0) {
    hdr_clear(h);
    return VQ_ERR_PACKET_TRUNCATED;
  }
  /* spec: rfc9000#17.2 — Header Form: 1 for a long header, 0 for a short header (rfc9000#17.3). */
  if (buf[0] >= 128u) return parse_long(buf, len, h);
  return parse_short(buf, len, short_dcid_len, h);
}

/*@ requires vq_readable(buf, len);
    requires \valid_read(h) && \valid(version);
    requires \separated(version, buf + (0 .. len - 1)) && \separated(version, h);
    assigns *version;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT;
    ensures \result == VQ_OK ==> i < h->versions_count && h->versions_off + 4 * i + 4 <= len &&
              *version == vq_be_value(buf + h->versions_off + 4 * i, 4); */
vq_status vq_packet_vn_version(const uint8_t *buf, size_t len, const vq_pkt_header *h, size_t i,
                               uint32_t *version)
{
  if (h->type != VQ_PKT_VERSION_NEGOTIATION || i >= h->versions_count) return VQ_ERR_INVALID_ARGUMENT;
  if (h->versions_off > len || (len - h->versions_off) / 4u <= i) return VQ_ERR_INVALID_ARGUMENT;
  /* Now i < (len - versions_off) / 4: the i-th version lies in buf[0..len) and 4 * i cannot wrap. */
  /*@ assert 4 * i + 4 <= len - h->versions_off; */
  const size_t pos = h->versions_off + 4u * i;
  /* Implied by the test above; spelled out so that Eva's intervals (which do not relate pos to i)
   * see the read inside buf. */
  if (pos > len || len - pos < 4u) return VQ_ERR_INVALID_ARGUMENT;
  *version = rd_u32(buf + pos);
  return VQ_OK;
}

/*@ requires \valid_read(c);
    assigns \nothing;
    ensures \result == (c->len <= 20); */
static int cid_ok(const vq_cid *c)
{
  return c->len <= VQ_CID_MAX_LEN;
}

/* The long header prefix shared by every builder: first byte, Version, DCID Length, DCID, SCID
 * Length, SCID (rfc9000#17.2). Returns the offset after it. */
/*@ requires \valid_read(dcid) && \valid_read(scid);
    requires dcid->len <= 20 && scid->len <= 20;
    requires 7 + dcid->len + scid->len <= cap;
    requires \valid(buf + (0 .. cap - 1));
    requires \separated(buf + (0 .. cap - 1), dcid, scid);
    assigns buf[0 .. 6 + dcid->len + scid->len];
    ensures \result == 7 + dcid->len + scid->len;
    ensures buf[0] == first; */
static size_t put_long_prefix(uint8_t *buf, size_t cap, uint8_t first, uint32_t version,
                              const vq_cid *dcid, const vq_cid *scid)
{
  (void)cap;
  buf[0] = first;
  wr_u32(buf + 1, version);
  const size_t dl = dcid->len, sl = scid->len;
  buf[5] = (uint8_t)dl;
  copy_bytes(buf + 6, dcid->bytes, dl);
  buf[6 + dl] = (uint8_t)sl;
  copy_bytes(buf + 7 + dl, scid->bytes, sl);
  return 7u + dl + sl;
}

/* Token Length and Token of an Initial at buf[off]; returns the offset after them. */
/*@ requires token_len <= 65535;
    requires token_len > 0 ==> \valid_read(token + (0 .. token_len - 1));
    requires off + vq_varint_size(token_len) + token_len <= cap;
    requires \valid(buf + (0 .. cap - 1));
    requires token_len > 0 ==> \separated(buf + (0 .. cap - 1), token + (0 .. token_len - 1));
    assigns buf[off .. cap - 1];
    ensures \result == off + vq_varint_size(token_len) + token_len; */
static size_t put_token(uint8_t *buf, size_t cap, size_t off, const uint8_t *token, size_t token_len)
{
  size_t used = 0;
  (void)vq_varint_encode(buf + off, cap - off, token_len, &used);
  if (token_len > 0) copy_bytes(buf + off + used, token, token_len);
  return off + used + token_len;
}

/* spec: rfc9000#17.2 — first byte: Header Form 1, Fixed Bit 1, Long Packet Type, Reserved Bits
 * (spec: rfc9000#17.2/8 — "The value included prior to protection MUST be set to 0"), Packet Number
 * Length (pn_len - 1). */
/*@ requires \valid(buf + (0 .. cap - 1));
    requires \valid_read(s) && \valid(length_off) && \valid(pn_off);
    requires \valid_read(s->dcid) && \valid_read(s->scid);
    requires s->token_len > 0 && s->token_len <= 65535 ==> \valid_read(s->token + (0 .. s->token_len - 1));
    requires \separated(buf + (0 .. cap - 1), s, s->dcid, s->scid, length_off, pn_off);
    requires s->token_len > 0 && s->token_len <= 65535 ==>
               \separated(buf + (0 .. cap - 1), s->token + (0 .. s->token_len - 1));
    requires \separated(length_off, pn_off, s);
    assigns buf[0 .. cap - 1], *length_off, *pn_off;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> *length_off + s->length_size == *pn_off &&
                                 *pn_off + s->pn_len <= cap; */
vq_status vq_long_header_write(uint8_t *buf, size_t cap, const vq_long_header_spec *s,
                               size_t *length_off, size_t *pn_off)
{
  const vq_pkt_type t = s->type;
  const size_t pn_len = s->pn_len, lsize = s->length_size, tlen = s->token_len;
  if (t != VQ_PKT_INITIAL && t != VQ_PKT_0RTT && t != VQ_PKT_HANDSHAKE) return VQ_ERR_INVALID_ARGUMENT;
  if (s->version != VQ_VERSION_1 && s->version != VQ_VERSION_2) return VQ_ERR_INVALID_ARGUMENT;
  if (pn_len < 1u || pn_len > 4u) return VQ_ERR_INVALID_ARGUMENT;
  if (lsize != 2u && lsize != 4u) return VQ_ERR_INVALID_ARGUMENT;
  if (!cid_ok(s->dcid) || !cid_ok(s->scid)) return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#17.2.3, rfc9000#17.2.4 — only the Initial carries a token. A token is bounded by
   * the datagram: anything over 2^16 is refused before sizes are added. */
  if ((t != VQ_PKT_INITIAL && tlen != 0) || tlen > 65535u) return VQ_ERR_INVALID_ARGUMENT;
  const size_t tl_size = t == VQ_PKT_INITIAL ? vq_varint_len(tlen) : 0u;
  const size_t prefix = 7u + (size_t)s->dcid->len + s->scid->len;
  if (cap < prefix + tl_size + tlen + lsize + pn_len) return VQ_ERR_BUFFER_TOO_SMALL;
  size_t off = put_long_prefix(buf, cap, (uint8_t)(192u + long_bits(s->version, t) * 16u + (pn_len - 1u)),
                               s->version, s->dcid, s->scid);
  if (t == VQ_PKT_INITIAL) off = put_token(buf, cap, off, s->token, tlen);
  /* The Length placeholder: 0 in lsize bytes, filled by vq_packet_set_length. */
  (void)vq_varint_encode_n(buf + off, cap - off, 0, lsize);
  *length_off = off;
  *pn_off = off + lsize;
  return VQ_OK;
}

/* spec: rfc9000#16 — a varint may use more bytes than needed: the Length is written in the size
 * reserved for it. */
/*@ requires \valid(buf + (0 .. cap - 1));
    assigns buf[0 .. cap - 1];
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> length_off + size <= cap &&
              vq_varint_value(buf + length_off, size) == value; */
vq_status vq_packet_set_length(uint8_t *buf, size_t cap, size_t length_off, size_t size, uint64_t value)
{
  if (size != 2u && size != 4u) return VQ_ERR_INVALID_ARGUMENT;
  if (value >= (size == 2u ? 16384u : 1073741824u)) return VQ_ERR_INVALID_ARGUMENT;
  if (length_off > cap || cap - length_off < size) return VQ_ERR_BUFFER_TOO_SMALL;
  return vq_varint_encode_n(buf + length_off, cap - length_off, value, size);
}

/* spec: rfc9000#17.3.1 — first byte: Header Form 0, Fixed Bit 1, Spin Bit, Reserved Bits 0
 * (spec: rfc9000#17.3.1/2), Key Phase, Packet Number Length (pn_len - 1); then the DCID. */
/*@ requires \valid(buf + (0 .. cap - 1));
    requires \valid_read(dcid) && \valid(pn_off);
    requires \separated(buf + (0 .. cap - 1), dcid, pn_off) && \separated(pn_off, dcid);
    assigns buf[0 .. cap - 1], *pn_off;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> *pn_off == 1 + dcid->len && *pn_off + pn_len <= cap; */
vq_status vq_short_header_write(uint8_t *buf, size_t cap, const vq_cid *dcid, unsigned spin,
                                unsigned key_phase, size_t pn_len, size_t *pn_off)
{
  if (spin > 1u || key_phase > 1u || pn_len < 1u || pn_len > 4u || !cid_ok(dcid))
    return VQ_ERR_INVALID_ARGUMENT;
  if (cap < 1u + dcid->len + pn_len) return VQ_ERR_BUFFER_TOO_SMALL;
  buf[0] = (uint8_t)(64u + spin * 32u + key_phase * 4u + (pn_len - 1u));
  copy_bytes(buf + 1, dcid->bytes, dcid->len);
  *pn_off = 1u + dcid->len;
  return VQ_OK;
}

/* spec: rfc9000#17.2.1 — Version Negotiation: Header Form 1, Unused (7), Version 0 (spec:
 * rfc9000#17.2.1/3), the echoed CIDs (rfc8999#6: up to 255 bytes), Supported Versions. */
/*@ requires \valid(buf + (0 .. cap - 1));
    requires dcid_len > 0 && dcid_len <= 255 ==> \valid_read(dcid + (0 .. dcid_len - 1));
    requires scid_len > 0 && scid_len <= 255 ==> \valid_read(scid + (0 .. scid_len - 1));
    requires n_versions > 0 ==> \valid_read(versions + (0 .. n_versions - 1));
    requires \valid(used);
    requires dcid_len > 0 && dcid_len <= 255 ==> \separated(buf + (0 .. cap - 1), dcid + (0 .. dcid_len - 1));
    requires scid_len > 0 && scid_len <= 255 ==> \separated(buf + (0 .. cap - 1), scid + (0 .. scid_len - 1));
    requires n_versions > 0 ==> \separated(buf + (0 .. cap - 1), versions + (0 .. n_versions - 1));
    requires \separated(used, buf + (0 .. cap - 1));
    assigns buf[0 .. cap - 1], *used;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> *used == 7 + dcid_len + scid_len + 4 * n_versions && *used <= cap; */
vq_status vq_vn_write(uint8_t *buf, size_t cap, uint8_t unused, const uint8_t *dcid, size_t dcid_len,
                      const uint8_t *scid, size_t scid_len, const uint32_t *versions, size_t n_versions,
                      size_t *used)
{
  if (unused > 127u || dcid_len > VQ_CID_MAX_LEN_ANY || scid_len > VQ_CID_MAX_LEN_ANY) return VQ_ERR_INVALID_ARGUMENT;
  if (n_versions == 0) return VQ_ERR_INVALID_ARGUMENT;
  if (cap < 7u + dcid_len + scid_len || (cap - 7u - dcid_len - scid_len) / 4u < n_versions)
    return VQ_ERR_BUFFER_TOO_SMALL;
  buf[0] = (uint8_t)(128u + unused);
  wr_u32(buf + 1, VQ_VERSION_NEGOTIATION);
  buf[5] = (uint8_t)dcid_len;
  copy_bytes(buf + 6, dcid, dcid_len);
  size_t off = 6u + dcid_len;
  buf[off] = (uint8_t)scid_len;
  copy_bytes(buf + off + 1, scid, scid_len);
  off += 1u + scid_len;
  /*@ loop invariant 0 <= i <= n_versions;
      loop invariant off == 7 + dcid_len + scid_len + 4 * i;
      loop assigns i, off, buf[0 .. cap - 1];
      loop variant n_versions - i; */
  for (size_t i = 0; i < n_versions; i++) {
    wr_u32(buf + off, versions[i]);
    off += 4u;
  }
  *used = off;
  return VQ_OK;
}

/* spec: rfc9000#17.2.5 — Retry: first byte 0b11TT + Unused (4), Version, CIDs, Retry Token, and
 * the 16-byte Retry Integrity Tag computed by the TLS layer (rfc9001#5.8). */
/*@ requires \valid(buf + (0 .. cap - 1));
    requires \valid_read(dcid) && \valid_read(scid) && \valid(tag_off);
    requires token_len > 0 && token_len <= 65535 ==> \valid_read(token + (0 .. token_len - 1));
    requires \separated(buf + (0 .. cap - 1), dcid, scid, tag_off);
    requires token_len > 0 && token_len <= 65535 ==>
               \separated(buf + (0 .. cap - 1), token + (0 .. token_len - 1));
    requires \separated(tag_off, dcid, scid);
    assigns buf[0 .. cap - 1], *tag_off;
    ensures \result == VQ_OK || \result == VQ_ERR_INVALID_ARGUMENT || \result == VQ_ERR_BUFFER_TOO_SMALL;
    ensures \result == VQ_OK ==> *tag_off == 7 + dcid->len + scid->len + token_len &&
                                 *tag_off + 16 <= cap; */
vq_status vq_retry_write(uint8_t *buf, size_t cap, uint32_t version, uint8_t unused, const vq_cid *dcid,
                         const vq_cid *scid, const uint8_t *token, size_t token_len, size_t *tag_off)
{
  if (version != VQ_VERSION_1 && version != VQ_VERSION_2) return VQ_ERR_INVALID_ARGUMENT;
  if (unused > 15u || !cid_ok(dcid) || !cid_ok(scid)) return VQ_ERR_INVALID_ARGUMENT;
  /* spec: rfc9000#17.2.5.2 — a Retry with an empty token is discarded, so never send one. */
  if (token_len == 0 || token_len > 65535u) return VQ_ERR_INVALID_ARGUMENT;
  const size_t need = 7u + (size_t)dcid->len + scid->len + token_len + VQ_RETRY_TAG_LEN;
  if (cap < need) return VQ_ERR_BUFFER_TOO_SMALL;
  const size_t off = put_long_prefix(buf, cap, (uint8_t)(192u + long_bits(version, VQ_PKT_RETRY) * 16u + unused),
                                    version, dcid, scid);
  copy_bytes(buf + off, token, token_len);
  *tag_off = off + token_len;
  return VQ_OK;
}

/* spec: rfc9000#14.1 — "A client MUST expand the payload of all UDP datagrams carrying Initial
 * packets to at least the smallest allowed maximum datagram size of 1200 bytes"; "a server MUST
 * discard an Initial packet that is carried in a UDP datagram with a payload that is smaller than"
 * that. */
/*@ assigns \nothing;
    ensures \result == (len >= 1200); */
int vq_initial_datagram_size_ok(size_t len)
{
  return len >= VQ_MIN_INITIAL_DATAGRAM;
}
