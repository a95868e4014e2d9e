/* vquic — runtime primitives: cx checkpoints, cancellation tokens, the seeded RNG, and the budgeted
 * allocator. No global mutable state: everything lives in caller-owned structs. */
#include "vquic/rt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- RNG: xoshiro256** seeded through splitmix64. --------------------------------------------- */
static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

void vq_rng_seed(vq_rng *r, uint64_t seed)
{
  r->fill = NULL; /* set it after seeding */
  r->fill_ud = NULL;
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t vq_rng_next(vq_rng *r)
{
  uint64_t *s = r->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t vq_rng_below(vq_rng *r, uint64_t bound)
{
  if (bound == 0) return 0;
  /* Rejection sampling: draw until the value falls in the largest multiple of bound. */
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  uint64_t x;
  do {
    x = vq_rng_next(r);
  } while (x >= limit);
  return x % bound;
}

void vq_rng_fill(vq_rng *r, uint8_t *out, size_t len)
{
  /* spec: rfc9000#5.1/1 — connection IDs an observer cannot correlate (or predict): from the
   * driver's CSPRNG when it gave one */
  if (r->fill && len > 0 && r->fill(r->fill_ud, out, len) == 0)
    return;
  while (len > 0) {
    uint64_t x = vq_rng_next(r);
    size_t n = len < 8 ? len : 8;
    memcpy(out, &x, n);
    out += n;
    len -= n;
  }
}

/* --- cancellation --------------------------------------------------------------------------------- */
void vq_cancel_init(vq_cancel *c, const vq_cancel *parent)
{
  c->parent = parent;
  c->cancelled = 0;
}

void vq_cancel_set(vq_cancel *c) { c->cancelled = 1; }

int vq_cancel_is_set(const vq_cancel *c)
{
  /* Chains are shallow (endpoint > connection > stream > request); walk them all. */
  for (; c; c = c->parent)
    if (c->cancelled) return 1;
  return 0;
}

/* --- cx --------------------------------------------------------------------------------------------- */
vq_status vq_cx_checkpoint(const vq_cx *cx)
{
  if (!cx) return VQ_ERR_INVALID_ARGUMENT;
  if (cx->cancel && vq_cancel_is_set(cx->cancel)) return VQ_ECANCELED;
  if (cx->budget && *cx->budget == 0) return VQ_ERR_BUDGET;
  return VQ_OK;
}

vq_status vq_cx_charge(const vq_cx *cx, uint64_t n)
{
  if (!cx) return VQ_ERR_INVALID_ARGUMENT;
  if (!cx->budget) return VQ_OK;
  if (*cx->budget < n) return VQ_ERR_BUDGET;
  *cx->budget -= n;
  return VQ_OK;
}

void vq_cx_trace(const vq_cx *cx, const char *event, const char *fmt, ...)
{
  if (!cx || !cx->trace || !cx->trace->emit) return;
  char detail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  cx->trace->emit(cx->trace->ud, cx->now, event, detail);
}

/* --- allocator ------------------------------------------------------------------------------------ */
static void *sys_alloc(void *ud, size_t size)
{
  (void)ud;
  return malloc(size);
}

static void sys_free(void *ud, void *p, size_t size)
{
  (void)ud;
  (void)size;
  free(p);
}

const vq_allocator *vq_allocator_system(void)
{
  static const vq_allocator sys = {sys_alloc, sys_free, NULL};
  return &sys;
}

void vq_mem_init(vq_mem *m, const vq_allocator *a, vq_mem *parent, size_t limit)
{
  memset(m, 0, sizeof *m);
  m->parent = parent;
  m->a = a ? a : (parent ? parent->a : NULL);
  m->limit = limit;
}

/* Can every budget from m up take size more bytes? */
static int fits(const vq_mem *m, size_t size)
{
  for (; m; m = m->parent)
    if (m->used > m->limit || size > m->limit - m->used) return 0;
  return 1;
}

void *vq_mem_alloc(vq_mem *m, size_t size)
{
  if (!m || !m->a || size == 0) return NULL;
  if (!fits(m, size)) {
    m->failures++;
    return NULL;
  }
  void *p = m->a->alloc(m->a->ud, size);
  if (!p) {
    m->failures++;
    return NULL;
  }
  for (vq_mem *b = m; b; b = b->parent) {
    b->used += size;
    if (b->used > b->peak) b->peak = b->used;
  }
  return p;
}

void *vq_mem_calloc(vq_mem *m, size_t n, size_t size)
{
  if (size != 0 && n > SIZE_MAX / size) return NULL;
  void *p = vq_mem_alloc(m, n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void vq_mem_free(vq_mem *m, void *p, size_t size)
{
  if (!m || !p) return;
  m->a->free(m->a->ud, p, size);
  for (vq_mem *b = m; b; b = b->parent) b->used = b->used >= size ? b->used - size : 0;
}
