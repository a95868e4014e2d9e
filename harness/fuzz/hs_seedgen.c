/* Writes the seeds of fuzz_hs (corpus/hs): a real client's ClientHello (for the server variant, whole
 * and in 1-byte and 7-byte pieces), a ClientHello that triggers a HelloRetryRequest, a resumption
 * ClientHello with pre_shared_key and early_data (its ticket sealed with fuzz_hs's fixed key), and a
 * real server's ServerHello and HelloRetryRequest (for the client variant); and the seed of
 * fuzz_session (corpus/session): a real session blob. Not part of the build:
 *   make lib && gcc -std=c11 -Iinclude -Isrc harness/fuzz/hs_seedgen.c build/lib/libvquic.a -lcrypto \
 *     -o build/hs_seedgen && build/hs_seedgen corpus/hs corpus/session */
#include <stdio.h>
#include <string.h>

#include "tls/hs_internal.h"

static const uint8_t alpn[] = {2, 'h', '3'};
static const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t FUZZ_TICKET_KEY[32] = "vquic fuzz ticket key 0123456789";
#define FUZZ_WALL_MS 1700000000000ull

static void put(const char *dir, const char *name, uint8_t sel, const uint8_t *b, size_t n);

static void put_raw(const char *dir, const char *name, const uint8_t *b, size_t n)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(b, 1, n, f);
  fclose(f);
  printf("%s: %zu bytes\n", path, n);
}

static vq_tls_ctx *mk_resume(int server)
{
  vq_tls_ctx_config cfg;
  vq_tls_ctx *c = NULL;
  memset(&cfg, 0, sizeof cfg);
  cfg.is_server = server;
  cfg.insecure = 1;
  cfg.alpn = alpn;
  cfg.alpn_len = sizeof alpn;
  cfg.ticket_key = server ? FUZZ_TICKET_KEY : NULL;
  cfg.enable_early_data = 1;
  return vq_tls_ctx_new(&c, &cfg, NULL, 0) == VQ_OK ? c : NULL;
}

/* A full handshake between the fuzz contexts, then a client offering its session: its ClientHello
 * and the session blob are seeds. */
static int resumption_seeds(const char *dir, const char *sdir, vq_mem *mem, vq_cx *cx)
{
  vq_tls_ctx *sc = mk_resume(1), *cc = mk_resume(0);
  vq_tls *s = NULL, *c = NULL, *c2 = NULL;
  vq_tls_params par = {"localhost", tp, sizeof tp};
  vq_tls_resume res = {FUZZ_WALL_MS, NULL, 0, NULL, NULL, NULL, 0, 0};
  if (!sc || !cc || vq_tls_new_ex(&s, mem, sc, &par, &res, cx) != VQ_OK ||
      vq_tls_new_ex(&c, mem, cc, &par, &res, cx) != VQ_OK)
    return 1;
  for (int round = 0; round < 8; round++)
    for (int side = 0; side < 2; side++)
      for (int l = 0; l < VQ_LEVEL_COUNT; l++) {
        vq_tls *from = side ? s : c, *to = side ? c : s;
        const uint8_t *d;
        size_t n;
        vq_tls_out_peek(from, (vq_level)l, &d, &n);
        if (n && vq_tls_recv(to, cx, (vq_level)l, d, n) != VQ_OK) return 1;
        vq_tls_out_consume(from, (vq_level)l, n);
      }
  uint8_t blob[VQ_TLS_SESSION_MAX];
  size_t bl = 0;
  if (vq_tls_session_get(c, blob, sizeof blob, &bl) != VQ_OK || bl == 0) return 1;
  put_raw(sdir, "session-valid", blob, bl);
  vq_tls_resume res2 = {FUZZ_WALL_MS + 1000, blob, bl, NULL, NULL, NULL, 0};
  if (vq_tls_new_ex(&c2, mem, cc, &par, &res2, cx) != VQ_OK || !vq_tls_early_data_offered(c2)) return 1;
  const uint8_t *d;
  size_t n;
  vq_tls_out_peek(c2, VQ_LEVEL_INITIAL, &d, &n);
  put(dir, "client-hello-psk", 0xfe, d, n);
  vq_tls_free(s);
  vq_tls_free(c);
  vq_tls_free(c2);
  vq_tls_ctx_free(sc);
  vq_tls_ctx_free(cc);
  return 0;
}

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
  const char *sdir = argc > 2 ? argv[2] : "corpus/session";
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
  return resumption_seeds(dir, sdir, &mem, &cx);
}
