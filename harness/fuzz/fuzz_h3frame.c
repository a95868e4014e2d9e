/* Fuzz harness: an HTTP/3 stream of frames (RFC 9114 §7) read the way a connection reads it — in
 * pieces of random sizes — with the streaming header parser, DATA and unknown frames consumed in
 * place, the other frames buffered up to a bound and parsed whole; frames are also run through the
 * control or message stream state machine. Checks (abort on failure):
 *   - the events seen when the stream arrives in random pieces equal those seen when it arrives whole
 *     (the streaming parser neither loses nor invents anything, and never asks for bytes it has);
 *   - every parsed frame decodes -> encodes -> decodes to the same value;
 *   - NEED_MORE always asks for more than what is there, and at most 16 bytes of header.
 * Input: [0] chunk-size seed, [1] mode (bit 0: control stream, bit 1: we are the server / push
 * promises allowed, bits 2-7: max_buffered / 4), then the stream bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/h3frame.h"
#include "vquic/varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BUF 256

typedef struct {
  /* stream reader */
  uint8_t hb[16];
  size_t hlen;
  int in_frame;
  vq_h3_frame_hdr h;
  uint64_t left;           /* payload bytes still to come */
  uint8_t fb[MAX_BUF];     /* a buffered frame's payload */
  size_t flen;
  uint64_t max_buffered;
  int ctrl_stream;
  vq_h3_ctrl ctrl;
  vq_h3_msg msg;
  int dead;                /* a connection error was found: the stream is not read further */
  /* event log: a running hash of everything observed */
  uint64_t hash;
  uint64_t events;
} reader;

static void ev(reader *r, uint64_t v)
{
  r->hash = (r->hash ^ v) * 0x100000001b3ull;
  r->events++;
}

static void check_settings(const uint8_t *p, size_t n, const vq_h3_settings *s)
{
  (void)p;
  (void)n;
  uint8_t b[128];
  size_t used = 0;
  vq_h3_settings d;
  if (vq_h3_settings_encode(b, sizeof b, s, 1, s->qpack_blocked_streams, 7, &used) != VQ_OK) abort();
  vq_h3_frame_hdr h;
  size_t need;
  if (vq_h3_frame_header_read(b, used, sizeof b, &h, &need) != VQ_OK) abort();
  if (h.type != VQ_H3_FRAME_SETTINGS || h.hdr_len + h.length != used) abort();
  if (vq_h3_settings_parse(b + h.hdr_len, (size_t)h.length, &d) != VQ_OK) abort();
  if (d.max_field_section_size != s->max_field_section_size ||
      d.qpack_max_table_capacity != s->qpack_max_table_capacity ||
      d.qpack_blocked_streams != s->qpack_blocked_streams ||
      d.enable_connect_protocol != s->enable_connect_protocol || d.h3_datagram != s->h3_datagram ||
      d.has_max_field_section_size != s->has_max_field_section_size ||
      d.has_qpack_max_table_capacity != s->has_qpack_max_table_capacity ||
      d.has_qpack_blocked_streams != s->has_qpack_blocked_streams ||
      d.has_enable_connect_protocol != s->has_enable_connect_protocol ||
      d.has_h3_datagram != s->has_h3_datagram)
    abort();
}

/* A whole buffered frame: parse, log, and check decode -> encode -> decode. */
static void whole_frame(reader *r)
{
  const uint8_t *p = r->fb;
  const size_t n = r->flen;
  uint8_t b[MAX_BUF + 32];
  size_t used = 0;
  vq_h3_frame_hdr h;
  size_t need;
  vq_status st;
  switch (vq_h3_frame_classify(r->h.type)) {
  case VQ_H3_FC_SETTINGS: {
    vq_h3_settings s;
    st = vq_h3_settings_parse(p, n, &s);
    ev(r, (uint64_t)st);
    if (st != VQ_OK) {
      if (st != VQ_ERR_H3_FRAME && st != VQ_ERR_H3_SETTINGS) abort();
      r->dead = 1;
      return;
    }
    ev(r, s.max_field_section_size);
    ev(r, s.qpack_max_table_capacity);
    ev(r, s.qpack_blocked_streams);
    ev(r, (uint64_t)s.enable_connect_protocol * 2 + s.h3_datagram);
    check_settings(p, n, &s);
    return;
  }
  case VQ_H3_FC_CANCEL_PUSH:
  case VQ_H3_FC_GOAWAY:
  case VQ_H3_FC_MAX_PUSH_ID: {
    uint64_t id = 0, id2 = 0;
    st = vq_h3_id_frame_parse(p, n, &id);
    ev(r, (uint64_t)st);
    if (st != VQ_OK) {
      if (st != VQ_ERR_H3_FRAME) abort();
      r->dead = 1;
      return;
    }
    ev(r, id);
    if (vq_h3_id_frame_encode(b, sizeof b, r->h.type, id, &used) != VQ_OK) abort();
    if (vq_h3_frame_header_read(b, used, 8, &h, &need) != VQ_OK || h.type != r->h.type) abort();
    if (vq_h3_id_frame_parse(b + h.hdr_len, (size_t)h.length, &id2) != VQ_OK || id2 != id) abort();
    if (r->h.type == VQ_H3_FRAME_GOAWAY) ev(r, (uint64_t)vq_h3_goaway_check(id, 1, 1, 1u << 20));
    return;
  }
  case VQ_H3_FC_PUSH_PROMISE: {
    uint64_t id = 0, id2 = 0;
    size_t off = 0, off2 = 0;
    st = vq_h3_push_promise_parse(p, n, &id, &off);
    ev(r, (uint64_t)st);
    if (st != VQ_OK) {
      if (st != VQ_ERR_H3_FRAME) abort();
      r->dead = 1;
      return;
    }
    if (off > n) abort();
    ev(r, id);
    ev(r, n - off);
    if (vq_h3_push_promise_encode(b, sizeof b, id, p + off, n - off, &used) != VQ_OK) abort();
    if (vq_h3_frame_header_read(b, used, sizeof b, &h, &need) != VQ_OK) abort();
    if (vq_h3_push_promise_parse(b + h.hdr_len, (size_t)h.length, &id2, &off2) != VQ_OK) abort();
    if (id2 != id || h.length - off2 != n - off ||
        memcmp(b + h.hdr_len + off2, p + off, n - off) != 0)
      abort();
    return;
  }
  case VQ_H3_FC_HEADERS: {
    if (vq_h3_frame_encode_span(b, sizeof b, r->h.type, p, n, &used) != VQ_OK) abort();
    if (vq_h3_frame_header_read(b, used, sizeof b, &h, &need) != VQ_OK) abort();
    if (h.type != r->h.type || h.length != n || memcmp(b + h.hdr_len, p, n) != 0) abort();
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x = x * 31 + p[i];
    ev(r, x);
    return;
  }
  default:
    abort();  /* only buffered frames come here */
  }
}

/* A new frame header was read. */
static void frame_start(reader *r)
{
  ev(r, r->h.type);
  ev(r, r->h.length);
  vq_status st = r->ctrl_stream ? vq_h3_ctrl_on_frame(&r->ctrl, r->h.type)
                                : vq_h3_msg_on_frame(&r->msg, r->h.type);
  ev(r, (uint64_t)st);
  if (st != VQ_OK) {
    r->dead = 1;
    return;
  }
  r->in_frame = 1;
  r->left = r->h.length;
  r->flen = 0;
  if (r->left == 0 && vq_h3_frame_is_buffered(r->h.type)) {
    whole_frame(r);
    r->in_frame = 0;
  } else if (r->left == 0) {
    r->in_frame = 0;
  }
}

/* Feeds one piece of the stream. */
static void feed(reader *r, const uint8_t *p, size_t n)
{
  while (n > 0 && !r->dead) {
    if (!r->in_frame) {
      /* Accumulate header bytes; at most 16 are ever needed. */
      size_t need = 0;
      const size_t room = sizeof r->hb - r->hlen;
      const size_t take = n < room ? n : room;
      memcpy(r->hb + r->hlen, p, take);
      vq_status st = vq_h3_frame_header_read(r->hb, r->hlen + take, r->max_buffered, &r->h, &need);
      if (st == VQ_ERR_H3_NEED_MORE) {
        if (need <= r->hlen + take || need > 16) abort();
        r->hlen += take;
        p += take;
        n -= take;
        continue;
      }
      if (st != VQ_OK && st != VQ_ERR_H3_FRAME_UNEXPECTED && st != VQ_ERR_H3_FRAME &&
          st != VQ_ERR_H3_EXCESSIVE_LOAD)
        abort();
      if (r->h.hdr_len <= r->hlen || r->h.hdr_len > r->hlen + take) abort();
      const size_t consumed = r->h.hdr_len - r->hlen;
      p += consumed;
      n -= consumed;
      r->hlen = 0;
      if (st != VQ_OK) {
        ev(r, (uint64_t)st);
        r->dead = 1;
        return;
      }
      frame_start(r);
      continue;
    }
    const size_t k = r->left < n ? (size_t)r->left : n;
    if (vq_h3_frame_is_buffered(r->h.type)) {
      if (r->flen + k > MAX_BUF || r->flen + k > r->max_buffered) abort();  /* the bound held */
      memcpy(r->fb + r->flen, p, k);
      r->flen += k;
    } else {
      /* DATA or a skipped frame: consumed in place. Only the total is logged, since the piece
       * boundaries differ between the two readings. */
      uint64_t x = 0;
      for (size_t i = 0; i < k; i++) x += p[i];
      r->flen += k;
      r->hash += x;
    }
    r->left -= k;
    p += k;
    n -= k;
    if (r->left == 0) {
      if (vq_h3_frame_is_buffered(r->h.type)) whole_frame(r);
      else ev(r, r->flen);
      r->in_frame = 0;
    }
  }
}

static void reader_init(reader *r, uint8_t mode)
{
  memset(r, 0, sizeof *r);
  r->ctrl_stream = mode % 2;
  r->max_buffered = (uint64_t)(mode / 4) * 4;
  vq_h3_ctrl_init(&r->ctrl, mode / 2 % 2);
  vq_h3_msg_init(&r->msg, mode / 2 % 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2) return 0;
  const uint8_t seed = data[0], mode = data[1];
  const uint8_t *s = data + 2;
  const size_t n = size - 2;
  static reader whole, pieces;
  reader_init(&whole, mode);
  reader_init(&pieces, mode);
  feed(&whole, s, n);
  uint64_t x = seed + 1u;
  size_t off = 0;
  while (off < n) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t k = (size_t)(x >> 60) + 1;  /* 1 .. 16 */
    if ((x >> 40) % 8 == 0) k = (size_t)(x >> 48) % 300 + 1;
    if (k > n - off) k = n - off;
    feed(&pieces, s + off, k);
    off += k;
  }
  /* Both readings saw the same frames, payload bytes and verdicts, and stopped in the same state
   * (spec: rfc9114#7.1/4 — a stream that ends inside a frame is detectable: in_frame / hlen). */
  if (whole.hash != pieces.hash || whole.events != pieces.events || whole.dead != pieces.dead ||
      whole.in_frame != pieces.in_frame || whole.hlen != pieces.hlen || whole.left != pieces.left)
    abort();
  return 0;
}
