/* Fuzz harness for the QPACK decoder (src/h3/qpack.c): the input drives a decoder with encoder-stream
 * chunks and field sections in any order. Byte 0 picks the table capacity and blocked-stream limit;
 * then records of [kind][len][len bytes]: kind % 4 == 0 is encoder-stream data, otherwise a field
 * section on stream (kind / 4). Every status must be OK, BLOCKED, or one of the QPACK errors (or
 * BUFFER_TOO_SMALL for our bounded output); decoded fields must lie inside the output buffer or be
 * static-table strings. After an encoder-stream error the decoder is abandoned, as a connection would
 * be. A second part encodes the decoded fields with an encoder and decodes them back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/qpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ok_status(vq_status st)
{
  return st == VQ_OK || st == VQ_ERR_QPACK_BLOCKED || st == VQ_ERR_QPACK_DECOMPRESSION ||
         st == VQ_ERR_BUFFER_TOO_SMALL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1) return 0;
  static const uint64_t caps[] = {0, 64, 220, 256, 1024, 4096, 100, 33};
  const uint64_t cap = caps[data[0] % 8];
  const uint64_t blocked = (data[0] / 8) % 4;
  size_t m = vq_qpack_decoder_mem(cap, blocked);
  uint8_t *mem = malloc(m);
  vq_qpack_decoder d;
  if (vq_qpack_decoder_init(&d, mem, m, cap, blocked) != VQ_OK) abort();
  if (data[0] >= 128) vq_qpack_decoder_preset_capacity(&d, cap);
  vq_qpack_field fl[64];
  uint8_t ob[2048];
  vq_qpack_out out = {fl, 64, 0, ob, sizeof ob, 0};

  size_t off = 1;
  int dead = 0;
  while (off + 2 <= size && !dead) {
    const uint8_t kind = data[off];
    size_t len = data[off + 1];
    off += 2;
    if (len > size - off) len = size - off;
    const uint8_t *p = data + off;
    off += len;
    if (kind % 4 == 0) {
      vq_status st = vq_qpack_decoder_encoder_stream(&d, p, len);
      if (st == VQ_ERR_QPACK_ENCODER_STREAM) dead = 1;
      else if (st != VQ_OK) abort();
      continue;
    }
    uint64_t until = 0, ric = 0;
    vq_status st = vq_qpack_decode_section(&d, kind / 4, p, len, &out, &until, &ric);
    if (!ok_status(st)) abort();
    if (st == VQ_ERR_QPACK_BLOCKED && until <= vq_qpack_decoder_insert_count(&d)) abort();
    if (st != VQ_OK) continue;
    if (out.count > out.max_fields || out.used > out.cap) abort();
    for (size_t i = 0; i < out.count; i++) {
      /* touch every byte so ASan checks the pointers */
      volatile uint8_t s = 0;
      for (size_t k = 0; k < fl[i].name_len; k++) s ^= fl[i].name[k];
      for (size_t k = 0; k < fl[i].value_len; k++) s ^= fl[i].value[k];
      (void)s;
    }
    uint8_t ack[32];
    size_t al;
    if (vq_qpack_decoder_build_acks(&d, kind / 4, ric, ack, sizeof ack, &al) != VQ_OK) abort();

    /* Round trip of the decoded fields through a fresh encoder and decoder pair. */
    static uint8_t enc[1 << 16], sec[1 << 16], ob2[1 << 16];
    size_t el, sl;
    size_t em = vq_qpack_encoder_mem(cap, 8), m2 = vq_qpack_decoder_mem(cap, 1);
    uint8_t *emem = malloc(em ? em : 1), *mem2 = malloc(m2);
    vq_qpack_encoder e;
    vq_qpack_decoder d2;
    if (vq_qpack_encoder_init(&e, emem, em, cap, cap, 1, 8) != VQ_OK) abort();
    if (vq_qpack_decoder_init(&d2, mem2, m2, cap, 1) != VQ_OK) abort();
    if (vq_qpack_encode_section(&e, 4, fl, out.count, enc, sizeof enc, &el, sec, sizeof sec, &sl) != VQ_OK)
      abort();
    if (vq_qpack_decoder_encoder_stream(&d2, enc, el) != VQ_OK) abort();
    vq_qpack_field fl2[64];
    vq_qpack_out out2 = {fl2, 64, 0, ob2, sizeof ob2, 0};
    if (vq_qpack_decode_section(&d2, 4, sec, sl, &out2, &until, &ric) != VQ_OK) abort();
    if (out2.count != out.count) abort();
    for (size_t i = 0; i < out.count; i++)
      if (fl2[i].name_len != fl[i].name_len || fl2[i].value_len != fl[i].value_len ||
          memcmp(fl2[i].name, fl[i].name, fl[i].name_len) != 0 ||
          memcmp(fl2[i].value, fl[i].value, fl[i].value_len) != 0)
        abort();
    free(emem);
    free(mem2);
  }
  free(mem);
  return 0;
}
