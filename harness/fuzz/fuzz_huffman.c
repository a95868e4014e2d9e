/* Fuzz harness for the QPACK Huffman code (src/h3/qpack_prim.c): any input either fails to decode
 * with VQ_ERR_QPACK_HUFFMAN or decodes to bytes that re-encode and decode to the same bytes; any input
 * treated as plain bytes round-trips through encode/decode with the predicted encoded length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/qpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > 4096) return 0;
  static uint8_t dec[4096 * 8 / 5 + 8], enc[4096 * 4 + 8], dec2[4096 * 8 / 5 + 8];
  size_t dl, el, dl2;
  vq_status st = vq_qpack_huff_decode(data, size, dec, sizeof dec, &dl);
  if (st == VQ_OK) {
    if (vq_qpack_huff_encode(dec, dl, enc, sizeof enc, &el) != VQ_OK) abort();
    if (el != vq_qpack_huff_len(dec, dl)) abort();
    if (vq_qpack_huff_decode(enc, el, dec2, sizeof dec2, &dl2) != VQ_OK) abort();
    if (dl2 != dl || memcmp(dec, dec2, dl) != 0) abort();
  } else if (st != VQ_ERR_QPACK_HUFFMAN) {
    abort();
  }
  if (vq_qpack_huff_encode(data, size, enc, sizeof enc, &el) != VQ_OK) abort();
  if (el != vq_qpack_huff_len(data, size)) abort();
  if (vq_qpack_huff_decode(enc, el, dec2, sizeof dec2, &dl2) != VQ_OK) abort();
  if (dl2 != size || (size && memcmp(data, dec2, size) != 0)) abort();
  return 0;
}
