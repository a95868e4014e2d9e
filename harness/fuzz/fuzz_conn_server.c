/* Fuzz harness: the server side of a whole QUIC connection — a vq_endpoint and its connections
 * (src/transport/endpoint.c, conn*.c, recovery, streams, the TLS server) — on a virtual clock.
 * Input [0] bit 0: RAW (0) — records [dt][len:2][bytes] delivered to the endpoint as the client's
 * datagrams — or MUTATE (1) — a real vquic client whose datagrams the input drops, duplicates,
 * reorders, truncates, bit-flips or decrypts, rewrites and re-encrypts on their way (reaching frame
 * handling at every encryption level, 1-RTT included). [1] the scenario. The format, the invariants
 * checked (abort on violation) and the static state are described in conn_fuzz.h.
 * Seeds: corpus/conn_server (written by harness/fuzz/conn_seedgen.c). */
#include "conn_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fz_run r;
  memset(&r, 0, sizeof r);
  r.target_server = 1;
  fz_run_input(&r, data, size);
  return 0;
}
