/* Writes the seeds of fuzz_conn_server (corpus/conn_server) and fuzz_conn_client (corpus/conn_client):
 *   - mutate-*: [1][scenario] (+ a few operations): a clean run of the MUTATE mode, which the fuzzer
 *     then perturbs (an exhausted input delivers everything, so these are whole conversations);
 *   - raw-*: [0][scenario] and the records [dt][len:2][bytes] of the peer's datagrams in such a clean
 *     run (a real trace: with the deterministic TLS of conn_fuzz.h the target replays the whole
 *     handshake and transfer from it).
 * It also prints how each run ended. Not part of the build:
 *   make lib && gcc -std=c11 -Iinclude -Isrc harness/fuzz/conn_seedgen.c build/lib/libvquic.a \
 *     -lcrypto -o build/conn_seedgen && build/conn_seedgen corpus */
#include <stdio.h>

#include "conn_fuzz.h"

typedef struct rec {
  uint8_t buf[1 << 16];
  size_t n;
} rec;

/* The largest time code whose step does not exceed d. */
static uint8_t delta_code(vq_time d)
{
  uint8_t best = 0;
  for (unsigned t = 0; t < 256; t++)
    if (fz_delta((uint8_t)t) <= d)
      best = (uint8_t)t;
  return best;
}

static void record(void *ud, vq_time dt, const uint8_t *d, size_t n)
{
  rec *r = ud;
  if (r->n + 3 + n > sizeof r->buf)
    return;
  r->buf[r->n++] = delta_code(dt);
  r->buf[r->n++] = (uint8_t)(n >> 8);
  r->buf[r->n++] = (uint8_t)n;
  memcpy(r->buf + r->n, d, n);
  r->n += n;
}

static void put(const char *dir, const char *name, const uint8_t *b, size_t n)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  fwrite(b, 1, n, f);
  fclose(f);
  printf("%s: %zu bytes\n", path, n);
}

static fz_run run;
static rec rc;

static void one(const char *dir, int server, const uint8_t *in, size_t n, const char *name, int raw)
{
  memset(&run, 0, sizeof run);
  rc.n = 0;
  rc.buf[rc.n++] = 0;
  rc.buf[rc.n++] = n > 1 ? in[1] : 0;
  run.target_server = server;
  run.record = record;
  run.record_ud = &rc;
  fz_run_input(&run, in, n);
  printf("%s/%s: client hs=%d streams done=%d state=%d closed_ev=%d tampered=%d t=%llums\n", dir, name,
         run.cli_obs.hs_done, run.cli_obs.done, (int)run.cli_obs.state, run.cli_obs.closed_ev,
         run.tampered, (unsigned long long)(run.cx.now / 1000000));
  put(dir, name, in, n);
  if (raw) {
    char rn[128];
    snprintf(rn, sizeof rn, "raw-%s", name + 7);
    put(dir, rn, rc.buf, rc.n);
  }
}

int main(int argc, char **argv)
{
  const char *root = argc > 1 ? argv[1] : "corpus";
  char sdir[256], cdir[256];
  snprintf(sdir, sizeof sdir, "%s/conn_server", root);
  snprintf(cdir, sizeof cdir, "%s/conn_client", root);
  static const uint8_t scen[][2] = {{1, 0x05}, {1, 0x1a}, {1, 0x20}, {1, 0x85}};
  static const char *const names[] = {"mutate-2x100", "mutate-3x2500-uni", "mutate-reset", "mutate-v2"};
  for (int s = 0; s < 2; s++) {
    const char *dir = s ? sdir : cdir;
    for (size_t i = 0; i < sizeof scen / sizeof scen[0]; i++)
      one(dir, s, scen[i], 2, names[i], i < 2);
    /* the first datagram re-encrypted with a PING appended to its Initial, then an ACK-eliciting
     * run; and one with the first datagram dropped and the second duplicated */
    static const uint8_t reseal[] = {1, 0x05, 13, 1, 0x01};
    one(dir, s, reseal, sizeof reseal, "mutate-reseal-ping", 0);
    static const uint8_t dropdup[] = {1, 0x05, 6, 0, 7, 0, 8};
    one(dir, s, dropdup, sizeof dropdup, "mutate-drop-dup-hold", 0);
  }
  return 0;
}
