/* Writes the seeds of fuzz_hs (corpus/hs): a real client's ClientHello (for the server variant, whole
 * and in 1-byte and 7-byte pieces), a ClientHello that triggers a HelloRetryRequest, and a real
 * server's ServerHello and HelloRetryRequest (for the client variant). Not part of the build:
 *   make lib && gcc -std=c11 -Iinclude -Isrc harness/fuzz/hs_seedgen.c build/lib/libvquic.a -lcrypto \
 *     -o build/hs_seedgen && build/hs_seedgen corpus/hs */
#include <stdio.h>
#include <string.h>

#include "tls/hs_internal.h"

static const uint8_t alpn[] = {2, 'h', '3'};
static const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};

static void put(const char *dir, const char *name, uint8_t sel, const uint8_t *b, size_t n)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fputc(sel, f);
  fwrite(b, 1, n, f);
  fclose(f);
  printf("%s: %zu bytes\n", path, n + 1);
}

static vq_tls_ctx *mk(int server, const vq_tls_test_hooks *h)
{
  vq_tls_ctx_config cfg;
  vq_tls_ctx *c = NULL;
  memset(&cfg, 0, sizeof cfg);
  cfg.is_server = server;
  cfg.insecure = 1;
  cfg.alpn = alpn;
  cfg.alpn_len = sizeof alpn;
  if (vq_tls_ctx_new(&c, &cfg, NULL, 0) != VQ_OK) return NULL;
  if (h) vq_tls_ctx_set_test_hooks(c, h);
  return c;
}

int main(int argc, char **argv)
{
  const char *dir = argc > 1 ? argv[1] : "corpus/hs";
  vq_mem mem;
  vq_cx cx;
  memset(&cx, 0, sizeof cx);
  vq_mem_init(&mem, vq_allocator_system(), NULL, 1u << 22);
  vq_tls_params par = {"localhost", tp, sizeof tp};
  vq_tls_test_hooks p256 = {0};
  p256.n_groups = 1;
  p256.groups[0] = VQ_HS_GROUP_SECP256R1;
  vq_tls_ctx *cc = mk(0, NULL), *sc = mk(1, NULL), *sc256 = mk(1, &p256);
  if (!cc || !sc || !sc256) return 1;
  vq_tls *c = NULL, *s = NULL, *s2 = NULL;
  const uint8_t *d;
  size_t n;
  if (vq_tls_new(&c, &mem, cc, &par, &cx) != VQ_OK) return 1;
  vq_tls_out_peek(c, VQ_LEVEL_INITIAL, &d, &n);
  put(dir, "client-hello", 0xfe, d, n);
  put(dir, "client-hello-bytewise", 0x00, d, n);
  put(dir, "client-hello-7", 0x0c, d, n);
  /* the server's answers: ServerHello from the default server, HRR from a P-256-only one */
  if (vq_tls_new(&s, &mem, sc, &par, &cx) != VQ_OK || vq_tls_recv(s, &cx, VQ_LEVEL_INITIAL, d, n))
    return 1;
  if (vq_tls_new(&s2, &mem, sc256, &par, &cx) != VQ_OK || vq_tls_recv(s2, &cx, VQ_LEVEL_INITIAL, d, n))
    return 1;
  vq_tls_out_peek(s, VQ_LEVEL_INITIAL, &d, &n);
  put(dir, "server-hello", 0xff, d, n);
  put(dir, "server-hello-bytewise", 0x01, d, n);
  vq_tls_out_peek(s2, VQ_LEVEL_INITIAL, &d, &n);
  put(dir, "hello-retry-request", 0xff, d, n);
  vq_tls_free(c);
  vq_tls_free(s);
  vq_tls_free(s2);
  vq_tls_ctx_free(cc);
  vq_tls_ctx_free(sc);
  vq_tls_ctx_free(sc256);
  return 0;
}
