/* vquic — the HTTP/3 session (RFC 9114): the read side. Stream bytes arrive in pieces; frame headers are
 * gathered with the proved streaming parser (h3frame.c), DATA and unknown frames are consumed in place,
 * the other frames are buffered whole (up to cfg.max_frame) and then acted on. */
#include "h3/h3conn_internal.h"

#include <string.h>

#include "vquic/varint.h"

/* ---- stream IDs ---------------------------------------------------------------------------------- */

/* 1: a stream the peer opens now (possibly one skipped earlier); 0: one seen before (closed since);
 * -1: more skipped IDs than the session keeps track of (or no memory for the list of them). The list
 * (cap IDs) is allocated with the first skipped ID: streams opened in order need none. */
static int idtrack_admit(vq_mem *m, h3_idtrack *t, uint64_t id)
{
  if (id >= t->next) {
    if (id > t->next && !t->gaps && !(t->gaps = vq_mem_calloc(m, t->cap, sizeof(uint64_t)))) return -1;
    for (uint64_t g = t->next; g < id; g += 4) {
      if (t->ngaps == t->cap) return -1;
      t->gaps[t->ngaps++] = g;
    }
    t->next = id + 4;
    return 1;
  }
  for (size_t i = 0; i < t->ngaps; i++)
    if (t->gaps[i] == id) {
      t->gaps[i] = t->gaps[--t->ngaps];
      return 1;
    }
  return 0;
}

/* ---- QPACK --------------------------------------------------------------------------------------- */

/* Section Acknowledgment and Insert Count Increment owed by our decoder (RFC 9204 §4.4). */
static vq_status send_acks(vq_h3 *h3, uint64_t stream_id, uint64_t ric)
{
  uint8_t b[32];
  size_t u = 0;
  /* spec: rfc9204#4.4.1 — after decoding a section with a non-zero Required Insert Count, the decoder
   * emits a Section Acknowledgment; rfc9204#4.4.3 — and Insert Count Increment for new inserts. */
  vq_status st = vq_qpack_decoder_build_acks(&h3->dec, stream_id, ric, b, sizeof b, &u);
  if (st != VQ_OK) return st;
  if (u == 0) return VQ_OK;
  return h3_uni_send(h3, h3->qdec_tx, b, u);
}

/* ---- messages ------------------------------------------------------------------------------------ */

static vq_status read_stream_frames(vq_h3 *h3, h3_stream *s, const uint8_t *d, size_t len, size_t *consumed);
static vq_status req_fin(vq_h3 *h3, h3_stream *s);

static void free_fbuf(vq_h3 *h3, h3_stream *s)
{
  if (s->fbuf) vq_mem_free(h3->mem, s->fbuf, (size_t)s->fh.length);
  s->fbuf = NULL;
  s->flen = 0;
}

static int is_cookie(const vq_h3_field *f)
{
  return f->name_len == 6 && memcmp(f->name, "cookie", 6) == 0;
}

/* spec: rfc9114#4.2.1/2 — several cookie field lines of a decoded section are concatenated with "; "
 * before the application (a generic HTTP application, not HTTP/3) sees them: the first line takes the
 * joined value, the others are removed. The joined bytes go after the decoded ones in the session's
 * section buffer, or in *tmp (from the session's vq_mem, *tmp_len bytes; freed by the caller after
 * delivery) when they do not fit. The joined line is never-indexed if any of its parts was. */
static vq_status join_cookies(vq_h3 *h3, vq_qpack_out *out, uint8_t **tmp, size_t *tmp_len)
{
  size_t first = SIZE_MAX, k = 0, total = 0;
  for (size_t i = 0; i < out->count; i++)
    if (is_cookie(&out->fields[i])) {
      if (first == SIZE_MAX) first = i;
      k++;
      total += out->fields[i].value_len;
    }
  if (k < 2) return VQ_OK;
  total += 2u * (k - 1u);
  uint8_t *dst;
  if (out->used <= out->cap && out->cap - out->used >= total) {
    dst = out->buf + out->used;
    out->used += total;
  } else {
    dst = vq_mem_alloc(h3->mem, total);
    if (!dst) return VQ_ERR_NOMEM;
    *tmp = dst;
    *tmp_len = total;
  }
  size_t off = 0, j = first;
  int never = 0;
  for (size_t i = first; i < out->count; i++) {
    const vq_h3_field f = out->fields[i];
    if (!is_cookie(&f)) {
      out->fields[j++] = f;
      continue;
    }
    if (off > 0) {
      dst[off++] = ';';
      dst[off++] = ' ';
    }
    if (f.value_len) memcpy(dst + off, f.value, f.value_len);
    off += f.value_len;
    never |= f.never_indexed;
    if (i == first) j++;
  }
  out->fields[first].value = dst;
  out->fields[first].value_len = total;
  out->fields[first].never_indexed = (uint8_t)never;
  out->count = j;
  return VQ_OK;
}

static vq_status on_headers_decoded(vq_h3 *h3, h3_stream *s, vq_qpack_out *out);

/* A complete HEADERS frame on a request stream: decode (or block), validate, deliver. */
static vq_status on_headers(vq_h3 *h3, h3_stream *s)
{
  if (!h3->out_buf || !h3->out_fields) {
    /* the decoding buffers, bounded by the MAX_FIELD_SECTION_SIZE we advertised, come with the first
     * section; without memory for them the request cannot be read (the stream is refused) */
    if (!h3->out_buf) h3->out_buf = vq_mem_alloc(h3->mem, h3->out_cap);
    if (!h3->out_fields) h3->out_fields = vq_mem_calloc(h3->mem, h3->max_fields, sizeof(vq_qpack_field));
    if (!h3->out_buf || !h3->out_fields) {
      h3_stream_abort(h3, s, VQ_H3_EXCESSIVE_LOAD, 1);
      return VQ_OK;
    }
  }
  /* A section that may refer to the dynamic table (Required Insert Count not 0: the prefix's first
   * byte, rfc9204#4.5.1.1) needs the decoder with the advertised limits. */
  if (s->flen > 0 && s->fbuf[0] != 0 && h3_decoder_full(h3) != VQ_OK) {
    h3_stream_abort(h3, s, VQ_H3_EXCESSIVE_LOAD, 1);
    return VQ_OK;
  }
  vq_qpack_out out = {h3->out_fields, h3->max_fields, 0, h3->out_buf, h3->out_cap, 0};
  uint64_t until = 0, ric = 0;
  vq_status st = vq_qpack_decode_section(&h3->dec, s->id, s->fbuf, s->flen, &out, &until, &ric);
  if (st == VQ_ERR_QPACK_BLOCKED) {
    /* spec: rfc9204#2.1.2 — the section waits for the inserts it needs; the stream is blocked. */
    if (!s->blocked) h3->blocked_total++;
    s->blocked = 1;
    return VQ_OK;
  }
  s->blocked = 0;
  free_fbuf(h3, s);
  if (st == VQ_ERR_BUFFER_TOO_SMALL) {
    /* spec: rfc9114#4.2.2/1 — a header section over the limit we advertised is refused (its decoded
     * size exceeds MAX_FIELD_SECTION_SIZE, which bounds our buffers). */
    h3_stream_abort(h3, s, VQ_H3_EXCESSIVE_LOAD, 1);
    return VQ_OK;
  }
  if (st != VQ_OK) return st; /* QPACK_DECOMPRESSION_FAILED: a connection error (RFC 9204 §2.2) */
  if ((st = send_acks(h3, s->id, ric)) != VQ_OK) return st;
  uint64_t size = 0;
  for (size_t i = 0; i < out.count; i++) size += (uint64_t)out.fields[i].name_len + out.fields[i].value_len + 32u;
  if (size > h3->cfg.max_field_section_size) {
    h3_stream_abort(h3, s, VQ_H3_EXCESSIVE_LOAD, 1);
    return VQ_OK;
  }
  uint8_t *tmp = NULL;
  size_t tmp_len = 0;
  if ((st = join_cookies(h3, &out, &tmp, &tmp_len)) != VQ_OK) return st;
  st = on_headers_decoded(h3, s, &out);
  if (tmp) vq_mem_free(h3->mem, tmp, tmp_len);
  return st;
}

/* A decoded header or trailer section (cookies joined): validate, deliver. */
static vq_status on_headers_decoded(vq_h3 *h3, h3_stream *s, vq_qpack_out *o)
{
  const vq_qpack_out out = *o;
  vq_h3_head head;
  if (s->msg.state == VQ_H3_MSG_TRAILERS) {
    if (s->connect && h3->cfg.is_server) {
      /* spec: rfc9114#4.4 — a CONNECT request stream carries only the tunnel's DATA after the
       * request ("remains open at the end of the request to carry the data"): a trailer section on it
       * does not conform, and is malformed (rfc9114#4.1.2/2: H3_MESSAGE_ERROR). After a 2xx the
       * frame itself is refused (frame_start). */
      h3_stream_abort(h3, s, VQ_H3_MESSAGE_ERROR, 1);
      return VQ_OK;
    }
    /* spec: rfc9114#4.3/3, rfc9114#4.1.2/2 — a malformed trailer section: stream error H3_MESSAGE_ERROR.
     * spec: rfc9114#4.1/2 — a second request, or a response after the final response, arrives here as
     * a trailer section with pseudo-header fields: malformed (a further HEADERS is H3_FRAME_UNEXPECTED,
     * vq_h3_msg_on_frame). */
    if (vq_h3_validate(out.fields, out.count, VQ_H3_SECTION_TRAILERS, 0, &head) != VQ_OK) {
      h3_stream_abort(h3, s, VQ_H3_MESSAGE_ERROR, 1);
      return VQ_OK;
    }
    if (h3->cb.on_trailers) h3->cb.on_trailers(h3->cb.ud, h3, s->id, s->ud, out.fields, out.count);
    return VQ_OK;
  }
  if (h3->cfg.is_server) {
    /* spec: rfc9114#4.1.2/2 — a malformed request is a stream error of type H3_MESSAGE_ERROR. */
    if (vq_h3_validate(out.fields, out.count, VQ_H3_SECTION_REQUEST, h3->cfg.enable_connect_protocol, &head) !=
        VQ_OK) {
      h3_stream_abort(h3, s, VQ_H3_MESSAGE_ERROR, 0);
      return VQ_OK;
    }
    s->clen = head.content_length;
    s->connect = head.method.len == 7 && memcmp(head.method.p, "CONNECT", 7) == 0;
    /* spec: rfc9114#10.9/1 — the anti-replay mitigations of RFC 8470. A request counts as received
     * in early data when its header section is handled before the handshake completed (every byte
     * of it then came in 0-RTT packets: the 1-RTT keys come with the handshake's end), or when it
     * carries Early-Data (§5.1: it was early on an earlier hop; waiting for our handshake does not
     * make it safe, and any value or number of such lines counts as "1"). One handled after the
     * handshake completed is not a replay on this connection (RFC 8470 §2), whatever packets
     * carried it: that is the "delay processing" of §3, at no cost. Of the others, the policy
     * (cfg.early_policy) answers those with an unsafe method (RFC 9110 §9.2.1) 425 (Too Early):
     * §3 leaves the server the choice between waiting for the handshake and 425; 425 also covers
     * Early-Data requests, which waiting cannot, holds no request body meanwhile, and costs a round
     * trip only to clients that sent an unsafe request early, which §4 says they must not do
     * absent other information. §5.2: a 425 only for a request received in early data or carrying
     * Early-Data, which is what head.early says. */
    head.early = h3_early(h3);
    for (size_t i = 0; i < head.nfields && !head.early; i++)
      head.early = head.fields[i].name_len == 10 && memcmp(head.fields[i].name, "early-data", 10) == 0;
    if (head.early) {
      h3->early_requests++;
      if (h3->cfg.early_policy == VQ_H3_EARLY_REJECT_ALL ||
          (h3->cfg.early_policy != VQ_H3_EARLY_ACCEPT && !h3_method_safe(head.method.p, head.method.len))) {
        h3_too_early(h3, s);
        return VQ_OK;
      }
    }
    s->app_known = 1;
    if (h3->cb.on_request) h3->cb.on_request(h3->cb.ud, h3, s->id, &head);
    return VQ_OK;
  }
  /* spec: rfc9114#4.1.2/4 — a client does not accept a malformed response. */
  if (vq_h3_validate(out.fields, out.count, VQ_H3_SECTION_RESPONSE, 0, &head) != VQ_OK) {
    h3_stream_abort(h3, s, VQ_H3_MESSAGE_ERROR, 1);
    return VQ_OK;
  }
  if (head.status < 200) {
    /* spec: rfc9114#4.1/8 — an interim response; the final one follows. */
    (void)vq_h3_msg_interim(&s->msg);
  } else {
    /* spec: rfc9114#10.9/1 — RFC 8470 §5.2: a 425 (Too Early) to a request we sent in early data is
     * answered by sending it again after the handshake (h3_early_retry), not handed over */
    if (head.status == 425 && h3_early_retry(h3, s)) return VQ_OK;
    if (s->early_keep) h3_early_drop(h3, s); /* any other final response: no retry needed */
    s->clen = head.content_length;
    if (head.status == 204 || head.status == 304) s->no_body = 1;
    if (s->connect && head.status < 300) {
      /* spec: rfc9114#4.4/3 — the CONNECT completed: from now on only DATA frames (frame_start).
       * A content-length in a 2xx response to CONNECT is ignored (RFC 9110 §9.3.6): the DATA is the
       * tunnel's. */
      s->tunnel = 1;
      s->clen = -1;
    }
  }
  if (h3->cb.on_response) h3->cb.on_response(h3->cb.ud, h3, s->id, s->ud, &head);
  return VQ_OK;
}

/* DATA payload bytes: counted against content-length, then handed over. */
static void on_data(vq_h3 *h3, h3_stream *s, const uint8_t *d, size_t n)
{
  if (n == 0) return;
  s->dlen += n;
  /* spec: rfc9114#4.1.2/2 — more content than content-length says is malformed (RFC 9110 §8.6). */
  if (s->clen >= 0 && !s->no_body && s->dlen > (uint64_t)s->clen) {
    h3_stream_abort(h3, s, VQ_H3_MESSAGE_ERROR, 1);
    return;
  }
  if (h3->cb.on_data) h3->cb.on_data(h3->cb.ud, h3, s->id, s->ud, d, n);
}

/* ---- control stream ------------------------------------------------------------------------------ */

static vq_status on_ctrl_frame(vq_h3 *h3, h3_stream *s)
{
  const uint64_t type = s->fh.type;
  vq_status st;
  uint64_t id;
  if (type == VQ_H3_FRAME_SETTINGS) {
    vq_h3_settings ps;
    /* spec: rfc9114#7.2.4/7, rfc9114#7.2.4.1/2 — unknown and reserved settings are ignored (by the
     * parser); duplicates and HTTP/2 settings are H3_SETTINGS_ERROR. */
    if ((st = vq_h3_settings_parse(s->fbuf, s->flen, &ps)) != VQ_OK) return st;
    return h3_on_peer_settings(h3, &ps);
  }
  if (type == VQ_H3_FRAME_GOAWAY) {
    if ((st = vq_h3_id_frame_parse(s->fbuf, s->flen, &id)) != VQ_OK) return st;
    /* spec: rfc9114#7.2.6/1, rfc9114#5.2/9 — from a server, a client-initiated bidirectional stream
     * ID; never larger than an earlier GOAWAY's; else H3_ID_ERROR. */
    if ((st = vq_h3_goaway_check(id, !h3->cfg.is_server, h3->goaway_rcvd, h3->goaway_rcvd_id)) != VQ_OK) return st;
    h3->goaway_rcvd = 1;
    h3->goaway_rcvd_id = id;
    if (!h3->cfg.is_server) {
      /* spec: rfc9114#5.2 — requests on streams at or above the ID will not be processed by the server:
       * they are abandoned and the application may retry them elsewhere.
       * spec: rfc9114#4.1.1/9 — the client aborts them with H3_REQUEST_CANCELLED, never
       * H3_REQUEST_REJECTED (that code only goes to the application, which may retry). */
      for (h3_stream *r = h3->streams; r; r = r->next)
        if (r->kind == H3K_REQ && !r->dead && r->id >= id) {
          h3_stream_abort(h3, r, VQ_H3_REQUEST_CANCELLED, 0);
          if (r->app_known && h3->cb.on_reset) h3->cb.on_reset(h3->cb.ud, h3, r->id, r->ud, VQ_H3_REQUEST_REJECTED);
        }
    }
    if (h3->cb.on_goaway) h3->cb.on_goaway(h3->cb.ud, h3, id);
    return VQ_OK;
  }
  if (type == VQ_H3_FRAME_MAX_PUSH_ID) { /* only a server gets here (vq_h3_ctrl_on_frame) */
    if ((st = vq_h3_id_frame_parse(s->fbuf, s->flen, &id)) != VQ_OK) return st;
    /* spec: rfc9114#7.2.7/4 — MAX_PUSH_ID cannot shrink: H3_ID_ERROR. We never push. */
    if (h3->max_push_rcvd && id < h3->max_push_id) return VQ_ERR_H3_ID;
    h3->max_push_rcvd = 1;
    h3->max_push_id = id;
    return VQ_OK;
  }
  if (type == VQ_H3_FRAME_CANCEL_PUSH) {
    if ((st = vq_h3_id_frame_parse(s->fbuf, s->flen, &id)) != VQ_OK) return st;
    /* spec: rfc9114#7.2.3/8, rfc9114#7.2.3/9 — we never sent MAX_PUSH_ID (client) nor a PUSH_PROMISE
     * (server): every push ID is beyond what is allowed or was never promised: H3_ID_ERROR. */
    return VQ_ERR_H3_ID;
  }
  return VQ_ERR_H3_FRAME_UNEXPECTED;
}

/* ---- the frame reader ---------------------------------------------------------------------------- */

/* Starts a frame whose header was just read: admits it on this stream, allocates its buffer. */
static vq_status frame_start(vq_h3 *h3, h3_stream *s)
{
  const uint64_t type = s->fh.type;
  if (s->kind == H3K_REQ && s->tunnel) {
    /* spec: rfc9114#4.4/3, rfc9114#4.4/2 — once CONNECT completed only DATA frames may be sent on the
     * stream; any other known frame type (HEADERS, PUSH_PROMISE, ...) is the connection error
     * H3_FRAME_UNEXPECTED. Unknown and reserved types stay skipped (rfc9114#9/1). */
    const vq_h3_frame_class fc = vq_h3_frame_classify(type);
    if (fc != VQ_H3_FC_DATA && fc != VQ_H3_FC_RESERVED && fc != VQ_H3_FC_UNKNOWN) return VQ_ERR_H3_FRAME_UNEXPECTED;
  }
  vq_status st = s->kind == H3K_CTRL ? vq_h3_ctrl_on_frame(&s->ctrl, type) : vq_h3_msg_on_frame(&s->msg, type);
  if (st != VQ_OK) return st;
  s->in_frame = 1;
  s->left = s->fh.length;
  if (vq_h3_frame_is_buffered(type) && s->fh.length > 0) {
    s->fbuf = vq_mem_alloc(h3->mem, (size_t)s->fh.length);
    if (!s->fbuf) return VQ_ERR_NOMEM;
    s->flen = 0;
  }
  return VQ_OK;
}

/* A buffered frame is complete. */
static vq_status frame_done(vq_h3 *h3, h3_stream *s)
{
  s->in_frame = 0;
  if (!vq_h3_frame_is_buffered(s->fh.type)) return VQ_OK;
  vq_status st;
  if (s->kind == H3K_CTRL) {
    st = on_ctrl_frame(h3, s);
  } else if (s->fh.type == VQ_H3_FRAME_HEADERS) {
    st = on_headers(h3, s);
    if (s->blocked) return st; /* the payload stays for the retry */
  } else if (s->fh.type == VQ_H3_FRAME_PUSH_PROMISE) {
    uint64_t push_id;
    size_t fs_off;
    st = vq_h3_push_promise_parse(s->fbuf, s->flen, &push_id, &fs_off);
    /* spec: rfc9114#7.2.5/2 — we never sent MAX_PUSH_ID: any push ID is larger than allowed. */
    if (st == VQ_OK) st = VQ_ERR_H3_ID;
  } else {
    st = VQ_ERR_H3_FRAME_UNEXPECTED;
  }
  free_fbuf(h3, s);
  return st;
}

/* Reads frames from d[0 .. len) on a control or request stream. Stops early (with *consumed < len)
 * when the stream blocks on QPACK or stops being read. */
static vq_status read_stream_frames(vq_h3 *h3, h3_stream *s, const uint8_t *d, size_t len, size_t *consumed)
{
  size_t off = 0;
  vq_status st = VQ_OK;
  while (off < len && !s->rx_done && !s->blocked && !h3->closed) {
    if (!s->in_frame) {
      size_t take = sizeof s->hb - s->hlen;
      if (take > len - off) take = len - off;
      memcpy(s->hb + s->hlen, d + off, take);
      size_t need = 0;
      vq_h3_frame_hdr fh;
      /* spec: rfc9114#7.2.8/3, rfc9114#10.5/3 — HTTP/2 frame types are H3_FRAME_UNEXPECTED; a
       * buffered frame over our bound is H3_EXCESSIVE_LOAD (vq_h3_frame_header_check). */
      st = vq_h3_frame_header_read(s->hb, s->hlen + take, h3->cfg.max_frame, &fh, &need);
      if (st == VQ_ERR_H3_NEED_MORE) {
        s->hlen = (uint8_t)(s->hlen + take);
        off += take;
        st = VQ_OK;
        continue;
      }
      if (st != VQ_OK) break;
      off += fh.hdr_len - s->hlen;
      s->hlen = 0;
      s->fh = fh;
      if ((st = frame_start(h3, s)) != VQ_OK) break;
    }
    size_t take = len - off;
    if (take > s->left) take = (size_t)s->left;
    if (s->fbuf) {
      memcpy(s->fbuf + s->flen, d + off, take);
      s->flen += take;
    } else if (s->fh.type == VQ_H3_FRAME_DATA && s->kind == H3K_REQ) {
      on_data(h3, s, d + off, take);
    } /* spec: rfc9114#7.2.8/2, rfc9114#9/1 — reserved and unknown frames are skipped. */
    off += take;
    s->left -= take;
    if (s->left == 0 && (st = frame_done(h3, s)) != VQ_OK) break;
  }
  *consumed = off;
  return st;
}

/* The request stream ended cleanly (all its bytes read). */
static vq_status req_fin(vq_h3 *h3, h3_stream *s)
{
  if (s->rx_done) return VQ_OK;
  /* spec: rfc9114#7.1/4 — a stream ending inside a frame: H3_FRAME_ERROR. */
  if (s->in_frame || s->hlen > 0) return VQ_ERR_H3_FRAME;
  if (!vq_h3_msg_can_end(&s->msg)) {
    /* spec: rfc9114#4.1/13 — a request stream ending before a complete request: the server aborts
     * with H3_REQUEST_INCOMPLETE. A response stream without a final response is malformed. */
    h3_stream_abort(h3, s, h3->cfg.is_server ? VQ_H3_REQUEST_INCOMPLETE : VQ_H3_MESSAGE_ERROR, 1);
    return VQ_OK;
  }
  /* spec: rfc9114#4.1.2/2 — content-length not matching the DATA received is malformed. */
  if (s->clen >= 0 && !s->no_body && s->dlen != (uint64_t)s->clen) {
    h3_stream_abort(h3, s, VQ_H3_MESSAGE_ERROR, 1);
    return VQ_OK;
  }
  s->rx_done = 1;
  if (s->app_known && h3->cb.on_end) h3->cb.on_end(h3->cb.ud, h3, s->id, s->ud);
  return VQ_OK;
}

/* Feeds a request stream (or keeps the bytes while it is blocked). */
static vq_status req_input(vq_h3 *h3, h3_stream *s, const uint8_t *d, size_t len, int fin)
{
  if (s->blocked) {
    if (s->held.len + len > h3->cfg.blocked_input) return VQ_ERR_H3_EXCESSIVE_LOAD;
    vq_status st = h3_qbuf_append(h3->mem, &s->held, d, len);
    if (st != VQ_OK) return st;
    if (fin) s->fin_held = 1;
    return VQ_OK;
  }
  size_t used = 0;
  vq_status st = read_stream_frames(h3, s, d, len, &used);
  if (st != VQ_OK) return st;
  if (s->blocked && !s->rx_done) {
    if (len - used > h3->cfg.blocked_input) return VQ_ERR_H3_EXCESSIVE_LOAD;
    if ((st = h3_qbuf_append(h3->mem, &s->held, d + used, len - used)) != VQ_OK) return st;
    if (fin) s->fin_held = 1;
    return VQ_OK;
  }
  if (fin && !s->rx_done && !h3->closed) return req_fin(h3, s);
  return VQ_OK;
}

/* After inserts arrived: retries every blocked header section, then the input held behind it. */
static vq_status resume_blocked(vq_h3 *h3)
{
  int progress = 1;
  while (progress && !h3->closed) {
    progress = 0;
    for (h3_stream *s = h3->streams; s; s = s->next) {
      if (s->kind != H3K_REQ || !s->blocked || s->rx_done) continue;
      vq_status st = on_headers(h3, s);
      if (st != VQ_OK) return st;
      if (s->blocked) continue;
      progress = 1;
      /* The section was delivered; the held bytes follow it. */
      h3_qbuf held = s->held;
      const int fin = s->fin_held;
      memset(&s->held, 0, sizeof s->held);
      s->fin_held = 0;
      if (!s->rx_done) st = req_input(h3, s, held.p ? held.p + held.head : NULL, held.len, fin);
      h3_qbuf_free(h3->mem, &held);
      if (st != VQ_OK) return st;
      break; /* the list may have changed in callbacks: rescan */
    }
  }
  return VQ_OK;
}

/* ---- unidirectional streams ---------------------------------------------------------------------- */

static vq_status uni_typed(vq_h3 *h3, h3_stream *s, uint64_t type)
{
  switch (vq_h3_uni_classify(type)) {
  case VQ_H3_UNI_CONTROL:
    /* spec: rfc9114#6.2.1/3 — a second control stream: H3_STREAM_CREATION_ERROR. */
    if (h3->ctrl_rx) return VQ_ERR_H3_STREAM_CREATION;
    h3->ctrl_rx = s;
    s->kind = H3K_CTRL;
    vq_h3_ctrl_init(&s->ctrl, h3->cfg.is_server);
    return VQ_OK;
  case VQ_H3_UNI_QPACK_ENCODER:
  case VQ_H3_UNI_QPACK_DECODER: {
    /* spec: rfc9204#4.2/2 — at most one encoder and one decoder stream each way; a second one is
     * H3_STREAM_CREATION_ERROR.
     * spec: rfc9204#4.2/7 — accepted whatever our settings (a capacity of 0 included), and never asked
     * to close (rfc9204#4.2/3: no STOP_SENDING on them). */
    const int enc = vq_h3_uni_classify(type) == VQ_H3_UNI_QPACK_ENCODER;
    h3_stream **slot = enc ? &h3->qenc_rx : &h3->qdec_rx;
    if (*slot) return VQ_ERR_H3_STREAM_CREATION;
    *slot = s;
    s->kind = enc ? H3K_QENC : H3K_QDEC;
    return VQ_OK;
  }
  case VQ_H3_UNI_PUSH:
    /* spec: rfc9114#6.2.2/1 — a client-initiated push stream: H3_STREAM_CREATION_ERROR.
     * spec: rfc9114#4.6/2 — a client that never sent MAX_PUSH_ID receiving a push stream: H3_ID_ERROR.
     * spec: rfc9114#6.2.2/4 — so a push stream reusing another's push ID is H3_ID_ERROR as well (every
     * push stream is, the first one already). */
    return h3->cfg.is_server ? VQ_ERR_H3_STREAM_CREATION : VQ_ERR_H3_ID;
  default:
    /* spec: rfc9114#6.2/4, rfc9114#6.2/5, rfc9114#6.2/6, rfc9114#6.2.3/2 — unknown and reserved types:
     * abort reading with H3_STREAM_CREATION_ERROR, never a connection error. */
    s->kind = H3K_IGNORED;
    s->rx_done = 1;
    s->dead = 1;
    h3->tr.stop_sending(h3->tr.ud, s->id, vq_h3_uni_unknown_abort_code());
    return VQ_OK;
  }
}

static vq_status uni_input(vq_h3 *h3, h3_stream *s, const uint8_t *d, size_t len, int fin)
{
  vq_status st;
  if (s->kind == H3K_UNI_PENDING) {
    size_t take = sizeof s->tb - s->tlen;
    if (take > len) take = len;
    memcpy(s->tb + s->tlen, d, take);
    uint64_t type;
    size_t used = 0, need = 0;
    st = vq_h3_uni_type_parse(s->tb, s->tlen + take, &type, &used, &need);
    if (st == VQ_ERR_H3_NEED_MORE) {
      s->tlen = (uint8_t)(s->tlen + take);
      /* spec: rfc9114#6.2/10 — a stream closed before its type arrives is tolerated. */
      if (fin) s->dead = 1;
      return VQ_OK;
    }
    if (st != VQ_OK) return st;
    const size_t adv = used - s->tlen;
    s->tlen = 0;
    d += adv;
    len -= adv;
    if ((st = uni_typed(h3, s, type)) != VQ_OK) return st;
  }
  switch (s->kind) {
  case H3K_CTRL: {
    size_t used = 0;
    if ((st = read_stream_frames(h3, s, d, len, &used)) != VQ_OK) return st;
    break;
  }
  case H3K_QENC:
    /* spec: rfc9204#4.3 — encoder instructions; errors are QPACK_ENCODER_STREAM_ERROR. */
    if (len > 0 && (st = h3_decoder_full(h3)) != VQ_OK) return st;
    if ((st = vq_qpack_decoder_encoder_stream(&h3->dec, d, len)) != VQ_OK) return st;
    if ((st = resume_blocked(h3)) != VQ_OK) return st;
    /* spec: rfc9204#4.4.3 — tell the encoder the inserts arrived (lets it reference them unblocked). */
    if (!h3->closed && (st = send_acks(h3, 0, 0)) != VQ_OK) return st;
    break;
  case H3K_QDEC:
    /* spec: rfc9204#4.4 — decoder instructions; errors are QPACK_DECODER_STREAM_ERROR. */
    if (len > 0 && (st = h3_encoder_full(h3)) != VQ_OK) return st;
    if ((st = vq_qpack_encoder_decoder_stream(&h3->enc, d, len)) != VQ_OK) return st;
    break;
  default:
    break; /* ignored */
  }
  if (fin && (s->kind == H3K_CTRL || s->kind == H3K_QENC || s->kind == H3K_QDEC)) {
    /* spec: rfc9114#6.2.1/5, rfc9204#4.2/4 — a control stream closed: H3_CLOSED_CRITICAL_STREAM; the
     * same for the QPACK streams. */
    return VQ_ERR_H3_CLOSED_CRITICAL_STREAM;
  }
  if (fin) s->dead = 1;
  return VQ_OK;
}

/* ---- entry points -------------------------------------------------------------------------------- */

static int peer_initiated(const vq_h3 *h3, uint64_t id) { return (int)(id & 1u) == (h3->cfg.is_server ? 0 : 1); }

vq_status h3_rx(vq_h3 *h3, uint64_t id, const uint8_t *data, size_t len, int fin)
{
  if (id > VQ_VARINT_MAX) return VQ_ERR_STREAM_STATE;
  h3_stream *s = h3_find(h3, id);
  const int uni = (id & 2u) != 0;
  if (!s) {
    if (!peer_initiated(h3, id)) return VQ_OK; /* one of ours, closed since: late bytes are dropped */
    /* spec: rfc9114#6.1/3 — a client receiving a server-initiated bidirectional stream:
     * H3_STREAM_CREATION_ERROR. */
    if (!uni && !h3->cfg.is_server) return VQ_ERR_H3_STREAM_CREATION;
    const int a = idtrack_admit(h3->mem, uni ? &h3->uni : &h3->bidi, id);
    if (a < 0) return VQ_ERR_H3_EXCESSIVE_LOAD;
    if (a == 0) return VQ_OK; /* closed since */
    if (!uni) {
      /* spec: rfc9114#5.2/2, rfc9114#5.2/3 — after our GOAWAY, requests at or above its ID are
       * cancelled (H3_REQUEST_REJECTED: not processed); so are requests over our stream bound.
       * spec: rfc9114#4.1.1/5 — H3_REQUEST_REJECTED only here, before the first byte of the request is
       * read: a request that was (partly) processed is never rejected with it. */
      if ((h3->goaway_sent && id >= h3->goaway_sent_id) || h3->nreq >= h3->cfg.max_streams) {
        h3->tr.stop_sending(h3->tr.ud, id, VQ_H3_REQUEST_REJECTED);
        h3->tr.reset_stream(h3->tr.ud, id, VQ_H3_REQUEST_REJECTED);
        return VQ_OK;
      }
    } else {
      size_t nuni = 0;
      for (h3_stream *x = h3->streams; x; x = x->next)
        if (x->kind != H3K_REQ && x->kind != H3K_LOCAL_UNI) nuni++;
      if (nuni >= h3->cfg.max_streams) return VQ_ERR_H3_EXCESSIVE_LOAD;
    }
    s = h3_stream_new(h3, id, uni ? H3K_UNI_PENDING : H3K_REQ);
    if (!s) return VQ_ERR_NOMEM;
  }
  if (s->kind == H3K_LOCAL_UNI) return VQ_ERR_STREAM_STATE;
  if (s->rx_done) return VQ_OK;
  if (s->kind == H3K_REQ) return req_input(h3, s, data, len, fin);
  return uni_input(h3, s, data, len, fin);
}

vq_status h3_rx_reset(vq_h3 *h3, uint64_t id, uint64_t code)
{
  h3_stream *s = h3_find(h3, id);
  if (!s) {
    /* A peer stream reset before its first byte: nothing to keep, but its ID is used. */
    if (peer_initiated(h3, id) && idtrack_admit(h3->mem, (id & 2u) ? &h3->uni : &h3->bidi, id) < 0)
      return VQ_ERR_H3_EXCESSIVE_LOAD;
    return VQ_OK;
  }
  switch (s->kind) {
  case H3K_CTRL:
  case H3K_QENC:
  case H3K_QDEC:
    /* spec: rfc9114#6.2.1/5, rfc9204#4.2/4 — closing (resetting) a critical stream is
     * H3_CLOSED_CRITICAL_STREAM. */
    return VQ_ERR_H3_CLOSED_CRITICAL_STREAM;
  case H3K_UNI_PENDING:
  case H3K_IGNORED:
    /* spec: rfc9114#6.2/10 — tolerated before the stream type. */
    s->dead = 1;
    s->rx_done = 1;
    return VQ_OK;
  case H3K_REQ:
    if (s->dead || (s->rx_done && s->tx_done)) return VQ_OK;
    /* spec: rfc9114#4.1.1/3, rfc9204#4.4.2 — the peer abandoned the stream: we stop sending too;
     * Stream Cancellation for QPACK when its sections may not all have been read. */
    if (!s->rx_done) h3_qpack_cancel(h3, s);
    s->rx_done = 1;
    h3_stream_abort(h3, s, VQ_H3_REQUEST_CANCELLED, 0);
    if (s->app_known && h3->cb.on_reset) h3->cb.on_reset(h3->cb.ud, h3, s->id, s->ud, code);
    return VQ_OK;
  default:
    return VQ_OK;
  }
}
