/* Fuzz harness for the receive buffer of src/transport/stream.c: the input is a program of inserts
 * (offset, length, FIN), reads, window changes and resets run against a vq_recvbuf with a small
 * memory budget and against a byte-map model. Stream byte x is always pat(x) (data never changes,
 * RFC 9000 §2.2), so every byte read can be checked. The harness aborts when the buffer's verdict
 * (VQ_OK, FINAL_SIZE, FLOW_CONTROL) differs from the model's, when a refused insert changed anything,
 * when readable() or read() disagree with the model, or when memory is left at the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vquic/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXOFF (1u << 17)

static uint8_t pat(uint64_t i) { return (uint8_t)((i * 131u + 7u) ^ (i >> 9)); }

typedef struct model {
  uint64_t read, window, final, highest;
  uint8_t have[MAXOFF];
} model;

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
  uint64_t v = 0;
  for (unsigned i = 0; i < bytes; i++) {
    v = v * 256u + (*n > 0 ? **p : 0u);
    if (*n > 0) {
      (*p)++;
      (*n)--;
    }
  }
  return v;
}

static uint64_t model_readable(const model *m)
{
  uint64_t x = m->read;
  while (x < MAXOFF && m->have[x]) x++;
  return x - m->read;
}

static vq_status model_insert_verdict(const model *m, uint64_t off, uint64_t len, int fin)
{
  uint64_t end = off + len;
  if (m->final != UINT64_MAX) {
    if (end > m->final || (fin && end != m->final)) return VQ_ERR_FINAL_SIZE;
  } else if (fin && end < m->highest) {
    return VQ_ERR_FINAL_SIZE;
  }
  if (end > m->read && end - m->read > m->window) return VQ_ERR_FLOW_CONTROL;
  return VQ_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static model m;
  static uint8_t buf[MAXOFF];
  vq_mem mem;
  vq_recvbuf b;
  const uint8_t *p = data;
  size_t n = size;
  size_t mem_limit = (size_t)take(&p, &n, 2) * 64u;
  uint64_t window = take(&p, &n, 2);
  vq_mem_init(&mem, vq_allocator_system(), NULL, mem_limit);
  vq_recvbuf_init(&b, &mem, window);
  memset(&m, 0, sizeof m);
  m.window = window;
  m.final = UINT64_MAX;
  while (n > 0) {
    unsigned op = (unsigned)take(&p, &n, 1);
    switch (op % 4) {
    case 0:
    case 1: { /* insert */
      uint64_t off = take(&p, &n, 2), len = take(&p, &n, 2) % 4096u;
      int fin = (op / 4) % 2;
      for (uint64_t i = 0; i < len; i++) buf[i] = pat(off + i);
      vq_status want = model_insert_verdict(&m, off, len, fin);
      uint64_t r0 = vq_recvbuf_readable(&b), h0 = b.highest, f0 = b.final_size;
      vq_status got = vq_recvbuf_insert(&b, off, buf, (size_t)len, fin);
      if (got == VQ_ERR_BUDGET || got == VQ_ERR_NOMEM) {
        if (want != VQ_OK) abort(); /* validation comes before storage */
        if (vq_recvbuf_readable(&b) != r0 || b.highest != h0 || b.final_size != f0) abort();
        break;
      }
      if (got != want) abort();
      if (got != VQ_OK) {
        if (vq_recvbuf_readable(&b) != r0 || b.highest != h0 || b.final_size != f0) abort();
        break;
      }
      for (uint64_t x = off > m.read ? off : m.read; x < off + len; x++) m.have[x] = 1;
      if (off + len > m.highest) m.highest = off + len;
      if (fin) m.final = off + len;
      break;
    }
    case 2: { /* read */
      size_t cap = (size_t)take(&p, &n, 2);
      int fin = 0;
      uint64_t want = model_readable(&m);
      if (want > cap) want = cap;
      size_t got = vq_recvbuf_read(&b, buf, cap, &fin);
      if (got != want) abort();
      for (size_t i = 0; i < got; i++)
        if (buf[i] != pat(m.read + i)) abort();
      m.read += got;
      if (fin != (m.final != UINT64_MAX && m.read == m.final)) abort();
      break;
    }
    default: { /* window growth or reset */
      uint64_t v = take(&p, &n, 2);
      if (op & 4u) {
        vq_recvbuf_set_window(&b, v);
        if (v > m.window) m.window = v;
        break;
      }
      vq_status want = VQ_OK;
      if ((m.final != UINT64_MAX && v != m.final) || v < m.highest) want = VQ_ERR_FINAL_SIZE;
      else if (v > m.read && v - m.read > m.window) want = VQ_ERR_FLOW_CONTROL;
      if (vq_recvbuf_reset(&b, v) != want) abort();
      if (want == VQ_OK) {
        memset(m.have, 0, sizeof m.have);
        m.final = m.highest = v;
        if (m.read < v) m.read = v;
        if (mem.used != 0) abort();
      }
      break;
    }
    }
    if (vq_recvbuf_readable(&b) != model_readable(&m) || b.read != m.read) abort();
  }
  vq_recvbuf_free(&b);
  if (mem.used != 0) abort();
  return 0;
}
