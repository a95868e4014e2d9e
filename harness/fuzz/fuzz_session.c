/* Fuzz harness: the client's session blob (include/vquic/tls.h, "Resumption and 0-RTT";
 * src/tls/hs_resume.c) as vq_tls_resume.session. Input: the blob bytes.
 * Checks: vq_tls_new_ex returns VQ_OK (the blob is a session; it is offered or not) or
 * VQ_ERR_TLS_SESSION_INVALID and nothing else; on success a ClientHello is queued, and if the session
 * is offered its ticket is in it; every vq_mem byte is returned on free. A blob whose checksum does
 * not match is always refused, so past the seed the fuzzer mostly exercises that check: the harness
 * also re-seals the checksum of the input (when it is long enough) to reach the field parser.
 * Seeds: corpus/session (made by harness/fuzz/hs_seedgen.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vquic/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t alpn[] = {2, 'h', '3'};
static const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
#define FUZZ_WALL_MS 1700000001000ull

static vq_tls_ctx *client_ctx(void)
{
  static vq_tls_ctx *ctx;
  if (!ctx) {
    vq_tls_ctx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.insecure = 1;
    cfg.alpn = alpn;
    cfg.alpn_len = sizeof alpn;
    cfg.enable_early_data = 1;
    if (vq_tls_ctx_new(&ctx, &cfg, NULL, 0) != VQ_OK) abort();
  }
  return ctx;
}

static void one(const uint8_t *b, size_t n)
{
  vq_mem mem;
  vq_cx cx;
  vq_tls *t = NULL;
  memset(&cx, 0, sizeof cx);
  vq_mem_init(&mem, vq_allocator_system(), NULL, 1u << 20);
  vq_tls_params par = {"localhost", tp, sizeof tp};
  vq_tls_resume res = {FUZZ_WALL_MS, b, n, NULL, NULL, NULL, 0, 0};
  vq_status st = vq_tls_new_ex(&t, &mem, client_ctx(), &par, &res, &cx);
  if (st == VQ_OK) {
    const uint8_t *d;
    size_t len;
    vq_tls_out_peek(t, VQ_LEVEL_INITIAL, &d, &len);
    if (len == 0) abort();
    if (vq_tls_early_data_offered(t) && !vq_tls_session_offered(t)) abort();
    const uint8_t *ptp;
    size_t ptl;
    vq_tls_early_peer_tp(t, &ptp, &ptl);
    if (!vq_tls_early_data_offered(t) && (ptp || ptl)) abort();
    vq_tls_secret s;
    while (vq_tls_poll_secret(t, &s))
      if (s.level != VQ_LEVEL_EARLY || (s.len != 32 && s.len != 48)) abort();
    vq_tls_free(t);
  } else if (st != VQ_ERR_TLS_SESSION_INVALID || t != NULL) {
    abort();
  }
  if (mem.used != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  one(data, size);
  if (size > 36 && size <= VQ_TLS_SESSION_MAX) {
    uint8_t *b = malloc(size);
    unsigned int dl = 0;
    if (!b) return 0;
    memcpy(b, data, size);
    if (EVP_Digest(b, size - 32, b + size - 32, &dl, EVP_sha256(), NULL) == 1) one(b, size);
    free(b);
  }
  return 0;
}
