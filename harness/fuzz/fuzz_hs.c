/* Fuzz harness: the TLS 1.3 handshake state machines (src/tls/hs.c) on arbitrary CRYPTO bytes.
 * Input: [0] selects the variant and the delivery piece size, then the bytes:
 *   - even [0]: a server vq_tls fed the bytes as Initial CRYPTO data (a ClientHello, a second one,
 *     garbage ...);
 *   - odd [0]: a client vq_tls (its ClientHello already queued) fed the bytes as the server's
 *     Initial CRYPTO data (a ServerHello or HelloRetryRequest ...).
 * The bytes are delivered in pieces of ([0] >> 1) + 1 bytes, or whole when that is 128.
 * Both contexts allow 0-RTT and a server ticket key is fixed (FUZZ_TICKET_KEY, as in hs_seedgen.c),
 * with a fixed wall clock, so a seed's resumption ClientHello (client-hello-psk) reaches the ticket,
 * binder and early-data checks (rfc8446#4.2.11).
 * Checks: a failure is sticky (the next call returns the same status) and carries an alert and a
 * detail; every vq_mem byte is returned on free. Seeds: corpus/hs (made by harness/fuzz/hs_seedgen.c).
 * spec: rfc9001#4.1.3 — messages arrive in pieces of any size; spec: rfc8446#4 — any malformed or
 * unexpected message ends in an alert, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t alpn[] = {2, 'h', '3'};
static const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t FUZZ_TICKET_KEY[32] = "vquic fuzz ticket key 0123456789";
#define FUZZ_WALL_MS 1700000000000ull

static vq_tls_ctx *ctx_of(int server)
{
  static vq_tls_ctx *ctx[2];
  if (!ctx[server]) {
    vq_tls_ctx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.is_server = server;
    cfg.insecure = 1;
    cfg.alpn = alpn;
    cfg.alpn_len = sizeof alpn;
    cfg.ticket_key = server ? FUZZ_TICKET_KEY : NULL;
    cfg.enable_early_data = 1;
    if (vq_tls_ctx_new(&ctx[server], &cfg, NULL, 0) != VQ_OK) abort();
  }
  return ctx[server];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1) return 0;
  int server = (data[0] & 1) == 0;
  size_t piece = (size_t)(data[0] >> 1) + 1;
  size_t len = size - 1;
  uint8_t *b = malloc(len ? len : 1);
  if (!b) return 0;
  if (len) memcpy(b, data + 1, len);
  if (piece == 128) piece = len ? len : 1;

  vq_mem mem;
  vq_cx cx;
  vq_tls *t = NULL;
  memset(&cx, 0, sizeof cx);
  vq_mem_init(&mem, vq_allocator_system(), NULL, 1u << 20);
  vq_tls_params par = {"localhost", tp, sizeof tp};
  vq_tls_resume res = {FUZZ_WALL_MS, NULL, 0, NULL, NULL, NULL, 0, 0};
  if (vq_tls_new_ex(&t, &mem, ctx_of(server), &par, &res, &cx) != VQ_OK) abort();
  vq_status st = VQ_OK;
  for (size_t off = 0; off < len && st == VQ_OK; off += piece) {
    size_t n = len - off < piece ? len - off : piece;
    st = vq_tls_recv(t, &cx, VQ_LEVEL_INITIAL, b + off, n);
  }
  if (st != VQ_OK) {
    if (vq_tls_alert(t) < 0 || vq_tls_error_detail(t)[0] == 0) abort();
    if (vq_tls_recv(t, &cx, VQ_LEVEL_INITIAL, b, len ? 1 : 0) != st && len) abort();
    if (vq_tls_handshake_complete(t)) abort();
  } else if (vq_tls_alert(t) != -1) {
    abort();
  }
  /* whatever was produced can be read and consumed */
  for (int l = 0; l < VQ_LEVEL_COUNT; l++) {
    const uint8_t *d;
    size_t n;
    vq_tls_out_peek(t, (vq_level)l, &d, &n);
    vq_tls_out_consume(t, (vq_level)l, n);
  }
  vq_tls_secret s;
  while (vq_tls_poll_secret(t, &s)) {
    if (s.len != 32 && s.len != 48) abort();
  }
  vq_tls_free(t);
  if (mem.used != 0) abort();
  free(b);
  return 0;
}
