/* Fuzz harness for src/core/tp.c: decode the input as sent by a client and by a server (the first
 * byte picks the order); whenever it decodes, re-encode it, decode the encoding again and require the
 * same parameters and, re-encoded, the same bytes (decode -> encode -> decode is stable). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/tp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, vq_tp_role role)
{
  static uint8_t e1[VQ_TP_MAX_LEN], e2[VQ_TP_MAX_LEN];
  vq_tp a, b;
  size_t n1 = 0, n2 = 0;
  if (vq_tp_decode(data, size, role, &a) != VQ_OK) return;
  if (vq_tp_encode(&a, role, e1, sizeof e1, &n1) != VQ_OK) abort();
  if (n1 > size) abort(); /* the canonical form is never longer than the input */
  if (vq_tp_decode(e1, n1, role, &b) != VQ_OK) abort();
  if (memcmp(a.present, b.present, sizeof a.present) != 0 || a.n_unknown != b.n_unknown) abort();
  for (size_t i = 0; i < a.n_unknown; i++)
    if (a.unknown[i].id != b.unknown[i].id || a.unknown[i].len != b.unknown[i].len ||
        (a.unknown[i].len && memcmp(a.unknown[i].value, b.unknown[i].value, a.unknown[i].len)))
      abort();
  if (a.initial_max_data != b.initial_max_data || a.max_ack_delay != b.max_ack_delay ||
      a.max_udp_payload_size != b.max_udp_payload_size ||
      a.version_information.n_available != b.version_information.n_available ||
      a.preferred_address.cid.len != b.preferred_address.cid.len)
    abort();
  if (vq_tp_encode(&b, role, e2, sizeof e2, &n2) != VQ_OK || n1 != n2 || memcmp(e1, e2, n1) != 0)
    abort();
  /* An output one byte short must fail. */
  if (n1 > 0 && vq_tp_encode(&b, role, e2, n1 - 1, &n2) != VQ_ERR_BUFFER_TOO_SMALL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check(data, size, VQ_TP_SERVER);
  check(data, size, VQ_TP_CLIENT);
  return 0;
}
