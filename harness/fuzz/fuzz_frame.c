/* Fuzz harness for src/core/frame*.c (libFuzzer and AFL++ via the Makefile).
 * The input is a packet payload: frames are parsed in a loop until the end or the first error.
 * Each parsed frame must
 *   - lie inside the input and consume at least one byte;
 *   - re-encode (a parsed ACK through its iterator, whose ranges must be ordered and disjoint),
 *     with vq_frame_encoded_len equal to the bytes written;
 *   - parse back from that encoding to an equal frame, and re-encode to the same bytes.
 * Any violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/frame.h"
#include "../../tests/frame_util.h"

#define MAX_RANGES 4096

static void check_ack_order(const vq_frame *f)
{
  vq_ack_iter it;
  vq_ack_range r;
  uint64_t prev_smallest = 0;
  int first = 1;
  vq_ack_iter_init(&it, &f->ack);
  while (vq_ack_iter_next(&it, &r)) {
    if (r.smallest > r.largest) abort();
    if (!first && r.largest + 2 > prev_smallest) abort();
    prev_smallest = r.smallest;
    first = 0;
  }
  if (it.status != VQ_OK || first) abort(); /* parse validated the section: the walk cannot fail */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static vq_ack_range store[MAX_RANGES], store2[MAX_RANGES];
  static uint8_t enc[1 << 16], enc2[1 << 16];
  size_t pos = 0;
  while (pos < size) {
    vq_frame f, g;
    size_t used = 0;
    if (vq_frame_parse(data + pos, size - pos, &f, &used) != VQ_OK) break;
    if (used == 0 || used > size - pos) abort();
    if (f.type == VQ_FRAME_ACK || f.type == VQ_FRAME_ACK_ECN) {
      check_ack_order(&f);
      if (f.ack.range_count >= MAX_RANGES) { pos += used; continue; }
    }
    if (fr_prepare_encode(&f, store, MAX_RANGES) != 0) abort();
    size_t n = 0, e = 0, u2 = 0, e2 = 0;
    if (vq_frame_encoded_len(&f, &n) != VQ_OK) abort();
    if (n > sizeof enc) { pos += used; continue; }
    if (vq_frame_encode(enc, sizeof enc, &f, &e) != VQ_OK || e != n) abort();
    /* Field varints may have been non-minimal on input, so the new encoding is never longer. */
    if (e > used) abort();
    if (vq_frame_parse(enc, e, &g, &u2) != VQ_OK || u2 != e) abort();
    if (!fr_eq(&f, &g)) abort();
    if (fr_prepare_encode(&g, store2, MAX_RANGES) != 0) abort();
    if (vq_frame_encode(enc2, sizeof enc2, &g, &e2) != VQ_OK || e2 != e || memcmp(enc, enc2, e) != 0) abort();
    pos += used;
  }
  return 0;
}
