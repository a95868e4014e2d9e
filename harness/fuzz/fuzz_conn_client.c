/* Fuzz harness: the client side of a whole QUIC connection — a client vq_conn (src/transport/conn*.c,
 * recovery, streams, the TLS client) — on a virtual clock. Input [0] bit 0: RAW (0) — records
 * [dt][len:2][bytes] delivered to the client as the server's datagrams — or MUTATE (1) — a real
 * vquic server endpoint whose datagrams the input drops, duplicates, reorders, truncates, bit-flips
 * or decrypts, rewrites and re-encrypts on their way. [1] the scenario. The format, the invariants
 * checked (abort on violation) and the static state are described in conn_fuzz.h.
 * Seeds: corpus/conn_client (written by harness/fuzz/conn_seedgen.c). */
#include "conn_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fz_run r;
  memset(&r, 0, sizeof r);
  r.target_server = 0;
  fz_run_input(&r, data, size);
  return 0;
}
