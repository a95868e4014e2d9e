/* Fuzz harness: an HTTP/3 server session (src/h3/h3conn*.c) fed what a client could send, as records
 * (stream, flags, bytes) on any stream: request streams, unidirectional streams of every type,
 * server-initiated IDs, resets, STOP_SENDING, writable events, with a transport that accepts writes
 * partially. The application answers every request (with a body, trailers or 1xx first) and sometimes
 * cancels. Checks (abort on failure):
 *   - no crash, leak or undefined behaviour (sanitizers);
 *   - once the session closed the connection, every input is refused and nothing more is written;
 *   - everything the session allocated is returned to its budget by vq_h3_destroy;
 *   - an error returned from an input call is exactly the connection error reported to the transport.
 * Input: records [sel][flags][len][len bytes]. sel: stream ID = (sel >> 2) * 4 + (sel & 3) (client
 * bidi, server bidi, client uni, server uni). flags: bit 0 FIN, bit 1 reset (code = len), bit 2
 * STOP_SENDING, bit 3 writable, bits 4-7: the transport's write budget for the next writes.
 * The first byte's bit 7 enables extended CONNECT, its bit 6 the transport's send_room hook.
 * Also checked: cookie field lines reach on_request joined into one; a CONNECT answered with 2xx
 * (every fifth request) refuses a trailer section. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/h3conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz {
  vq_h3 *h3;
  vq_cx cx;
  size_t budget;       /* bytes a write accepts (0: everything) */
  uint64_t next_uni, next_bidi;
  int closed, writes_after_close;
  uint64_t close_code;
  unsigned rq;
} fz;

/* the room the next write would take (the optional send_room hook; used when the first input byte
 * has bit 6 set, so both ways of sending a body are fuzzed) */
static uint64_t f_send_room(void *ud, uint64_t id, uint64_t want)
{
  const fz *f = ud;
  (void)id;
  return f->budget && want > f->budget ? f->budget : want;
}

/* early data (RFC 8470): with bit 5 of the first input byte the server session is before the end of
 * its handshake throughout, so requests with unsafe methods take the 425 (Too Early) path */
static int f_early(void *ud)
{
  (void)ud;
  return 1;
}

static vq_status f_open_uni(void *ud, uint64_t *id)
{
  fz *f = ud;
  *id = f->next_uni;
  f->next_uni += 4;
  return VQ_OK;
}

static vq_status f_open_bidi(void *ud, uint64_t *id)
{
  fz *f = ud;
  *id = f->next_bidi;
  f->next_bidi += 4;
  return VQ_OK;
}

static vq_status f_write(void *ud, uint64_t id, const uint8_t *d, size_t len, int fin, size_t *acc)
{
  fz *f = ud;
  (void)id;
  (void)d;
  (void)fin;
  if (f->closed) f->writes_after_close++;
  *acc = f->budget && len > f->budget ? f->budget : len;
  return VQ_OK;
}

static void f_reset(void *ud, uint64_t id, uint64_t code)
{
  (void)ud;
  (void)id;
  (void)code;
}

static void f_stop(void *ud, uint64_t id, uint64_t code)
{
  (void)ud;
  (void)id;
  (void)code;
}

static void f_close(void *ud, uint64_t code, const char *reason)
{
  fz *f = ud;
  (void)reason;
  if (f->closed) abort(); /* closed once */
  f->closed = 1;
  f->close_code = code;
}

#define FLD(n, v) {(const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0}

static void on_request(void *ud, vq_h3 *h3, uint64_t id, const vq_h3_head *head)
{
  fz *f = ud;
  static const vq_h3_field rf[] = {FLD("content-type", "text/plain"), FLD("x-fuzz", "yes")};
  static const vq_h3_field tf[] = {FLD("x-trailer", "t")};
  size_t acc;
  /* cookie lines reach the application joined into one (RFC 9114 §4.2.1) */
  size_t cookies = 0;
  for (size_t i = 0; i < head->nfields; i++)
    if (head->fields[i].name_len == 6 && memcmp(head->fields[i].name, "cookie", 6) == 0) cookies++;
  if (cookies > 1) abort();
  const int connect = head->method.len == 7 && memcmp(head->method.p, "CONNECT", 7) == 0;
  if (connect && f->rq % 5 == 4) {
    /* open the tunnel and keep it open: from now on only DATA may arrive (RFC 9114 §4.4) */
    f->rq++;
    if (vq_h3_respond(h3, &f->cx, id, 200, NULL, 0, 1) != VQ_OK) abort();
    vq_h3_send_body(h3, &f->cx, id, (const uint8_t *)"t", 1, 0, &acc);
    if (vq_h3_send_trailers(h3, &f->cx, id, tf, 1) != VQ_ERR_STREAM_STATE) abort();
    return;
  }
  switch (f->rq++ % 5) {
  case 0:
    vq_h3_respond(h3, &f->cx, id, 200, rf, 2, 1);
    vq_h3_send_body(h3, &f->cx, id, (const uint8_t *)"hello", 5, 1, &acc);
    break;
  case 1:
    vq_h3_respond(h3, &f->cx, id, 103, rf, 1, 0);
    vq_h3_respond(h3, &f->cx, id, 404, NULL, 0, 0);
    break;
  case 2:
    vq_h3_respond(h3, &f->cx, id, 200, rf, 2, 1);
    vq_h3_send_body(h3, &f->cx, id, (const uint8_t *)"abc", 3, 0, &acc);
    vq_h3_send_trailers(h3, &f->cx, id, tf, 1);
    break;
  case 3:
    vq_h3_cancel(h3, &f->cx, id, VQ_H3_REQUEST_REJECTED);
    break;
  default:
    break; /* answered later (or never) */
  }
}

static void on_data(void *ud, vq_h3 *h3, uint64_t id, void *sud, const uint8_t *d, size_t n)
{
  fz *f = ud;
  (void)sud;
  if (n > 0 && d[0] == 'C') vq_h3_cancel(h3, &f->cx, id, VQ_H3_REQUEST_CANCELLED);
}

static void on_end(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  fz *f = ud;
  (void)sud;
  vq_h3_respond(h3, &f->cx, id, 204, NULL, 0, 0); /* refused unless nothing was sent yet */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz f;
  memset(&f, 0, sizeof f);
  vq_rng rng;
  vq_rng_seed(&rng, 1);
  f.cx.rng = &rng;
  f.next_uni = 3;
  f.next_bidi = 1;
  vq_mem mem;
  vq_mem_init(&mem, vq_allocator_system(), NULL, 8u << 20);
  vq_h3_config c;
  vq_h3_config_default(&c, 1);
  c.max_frame = 4096;
  c.max_streams = 32;
  c.send_buf = 1024;
  c.blocked_input = 8192;
  c.qpack_max_table_capacity = 512;
  c.qpack_blocked_streams = 4;
  c.max_field_section_size = 4096;
  c.enable_connect_protocol = size > 0 && (data[0] & 0x80u);
  vq_h3_transport tr = {&f, f_open_uni, f_open_bidi, f_write, f_reset, f_stop, f_close,
                        size > 0 && (data[0] & 0x40u) ? f_send_room : NULL,
                        size > 0 && (data[0] & 0x20u) ? f_early : NULL};
  vq_h3_callbacks cb = {&f, on_request, NULL, on_data, NULL, on_end, NULL, NULL, NULL, NULL, NULL, NULL};
  if (vq_h3_create(&f.h3, &mem, &c, &tr, &cb) != VQ_OK) abort();
  if (vq_h3_start(f.h3, &f.cx) != VQ_OK) abort();
  size_t off = 0;
  while (off + 3 <= size) {
    const uint8_t sel = data[off], flags = data[off + 1];
    size_t len = data[off + 2];
    off += 3;
    if (len > size - off) len = size - off;
    const uint64_t id = (uint64_t)(sel >> 2) * 4u + (sel & 3u);
    f.budget = (size_t)(flags >> 4) * 16u;
    const int was_closed = f.closed;
    vq_status st;
    if (flags & 2u) st = vq_h3_on_stream_reset(f.h3, &f.cx, id, 0x100u + len);
    else if (flags & 4u) st = vq_h3_on_stop_sending(f.h3, &f.cx, id, 0x100u + len);
    else if (flags & 8u) st = vq_h3_on_writable(f.h3, &f.cx, id);
    else st = vq_h3_on_stream_data(f.h3, &f.cx, id, data + off, len, flags & 1u);
    if (!(flags & 0x0eu)) off += len;
    if (was_closed && st != VQ_ERR_H3_CLOSED) abort();
    /* an error from an input is the connection error the transport was told */
    if (!was_closed && st != VQ_OK) {
      if (!f.closed || vq_status_app_error(st) != f.close_code) abort();
    }
    if (!was_closed && st == VQ_OK && f.closed) abort();
  }
  if (f.writes_after_close) abort();
  vq_h3_stats s;
  vq_h3_get_stats(f.h3, &s);
  if (s.active_requests > c.max_streams) abort();
  vq_h3_destroy(f.h3);
  if (mem.used != 0) abort();
  return 0;
}
